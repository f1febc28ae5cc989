/*
 * rewrite.c - the body of a post on a pseudonymous or anonymous list,
 * written anew from libetpan's parse tree (never from libetpan's own
 * serialiser, and never copied through):
 *  - fresh random boundaries; no preamble or epilogue (clients put their
 *    name and version there);
 *  - every part decoded, then encoded again by us (7bit, quoted-printable
 *    or base64), with only the MIME headers that describe content:
 *    Content-Type (type, charset, format, delsp, a cleaned file name),
 *    Content-Transfer-Encoding, Content-Disposition, and a fresh
 *    Content-ID where the post had one (the old ones often end in the
 *    sender's domain; cid: references in HTML follow the rename);
 *  - parts that identify the author are removed and listed, so that the
 *    author is told: attached OpenPGP keys, PGP/MIME and S/MIME signatures
 *    (made with the member's real key), inline PGP signatures, vCards,
 *    TNEF (winmail.dat), and encrypted parts (nobody here can check them);
 *  - HTML per the list's policy (html.c);
 *  - the decoded text of every part is collected for the leak guard.
 * It runs inside the parsing worker, like everything that reads the tree.
 * Every pass is O(part) and each level copies its children once, so a post
 * costs O(len * depth), depth <= 20 (see each function).
 */
#include <ctype.h>
#include <libetpan/libetpan.h>
#include <libetpan/charconv.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mail/audit.h"
#include "pipeline/filename.h"
#include "pipeline/html.h"
#include "pipeline/meta.h"
#include "pipeline/rewrite.h"
#include "util/hex.h"
#include "util/utc.h"

#define MAX_CIDS	64
#define FNAME_MAX	256

struct rw {
	const struct rewrite_opts *o;
	struct rewrite_result *r;
	struct html_cid	 cids[MAX_CIDS];
	int		 ncids;
	int		 footer_done;
};

/*
 * types removed from every post on a non-real list, and why: as codes
 * (one "@CODE" line each in what the author is told; the queue manager
 * words them with the pieces [part-CODE], so the sandbox holds no words)
 */
static const struct { const char *type, *what; } removed_types[] = {
	{ "application/pgp-keys", "@pgp-key" },
	{ "application/pgp-signature", "@pgp-signature" },
	{ "application/pkcs7-signature", "@smime-signature" },
	{ "application/x-pkcs7-signature", "@smime-signature" },
	{ "application/pkcs7-mime", "@smime" },
	{ "application/x-pkcs7-mime", "@smime" },
	{ "application/pgp-encrypted", "@pgp-encrypted" },
	{ "text/vcard", "@vcard" },
	{ "text/x-vcard", "@vcard" },
	{ "text/directory", "@vcard" },
	{ "application/ms-tnef", "@tnef" },
	{ "application/vnd.ms-tnef", "@tnef" },
	{ NULL, NULL }
};
static const struct { const char *suffix, *what; } removed_names[] = {
	{ ".vcf", "@vcard" }, { ".vcard", "@vcard" },
	{ "winmail.dat", "@tnef" },
	{ ".asc", "@pgp-file-asc" }, { ".gpg", "@pgp-file" },
	{ ".pgp", "@pgp-file" }, { ".sig", "@signature-file" },
	{ ".p7s", "@smime-signature" }, { ".p7m", "@smime-part" },
	{ ".p7c", "@smime-certificate" }, { ".key", "@key-file" },
	{ NULL, NULL }
};

/* rewrite_type_name - "type/subtype" in lower case, "" if libetpan gave none */
void
rewrite_type_name(const struct mailmime_content *ct, char *out, size_t n)
{
	static const char *const disc[] = { "", "text", "image", "audio", "video", "application", "" };
	static const char *const comp[] = { "", "message", "multipart", "" };
	const char *type = "";

	out[0] = 0;
	if (!ct || !ct->ct_type || !ct->ct_subtype)
		return;
	if (ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE) {
		const struct mailmime_discrete_type *d = ct->ct_type->tp_data.tp_discrete_type;

		type = d->dt_type == MAILMIME_DISCRETE_TYPE_EXTENSION ? d->dt_extension :
		    d->dt_type >= 0 && d->dt_type <= 6 ? disc[d->dt_type] : "";
	} else if (ct->ct_type->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE) {
		const struct mailmime_composite_type *c = ct->ct_type->tp_data.tp_composite_type;

		type = c->ct_type == MAILMIME_COMPOSITE_TYPE_EXTENSION ? c->ct_token :
		    c->ct_type >= 0 && c->ct_type <= 3 ? comp[c->ct_type] : "";
	}
	snprintf(out, n, "%s/%s", type ? type : "", ct->ct_subtype);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* ct_of - the type of a part, text/plain when it says none (RFC 2045's default) */
static void
ct_of(const struct mailmime_content *ct, char *out, size_t n)
{
	rewrite_type_name(ct, out, n);
	if (!*out)
		snprintf(out, n, "text/plain");
}

/* field - the first MIME field of a kind, or NULL */
static const struct mailmime_field *
field(const struct mailmime *m, int type)
{
	clistiter *it;

	if (!m->mm_mime_fields)
		return NULL;
	for (it = clist_begin(m->mm_mime_fields->fld_list); it; it = clist_next(it)) {
		const struct mailmime_field *f = clist_content(it);

		if (f->fld_type == type)
			return f;
	}
	return NULL;
}

/* clean_token - a parameter value safe to write back: printable ASCII, no quotes or specials */
static void
clean_token(const char *in, char *out, size_t n)
{
	size_t o = 0;

	for (; in && *in && o + 1 < n; in++) {
		unsigned char c = (unsigned char)*in;

		if (c > 32 && c < 127 && !strchr("\"\\;<>@,[]:=()/?", c))
			out[o++] = (char)c;
	}
	out[o] = 0;
}

/*
 * note - one line for the author: what was removed, a code ("@CODE" and
 * its "\tNAME=VALUE" pairs) that the queue manager words; each once
 */
static void
note(struct rw *w, const char *what)
{
	const char *s = buf_cstr(&w->r->removed), *at;
	size_t n = strlen(what);

	for (at = s; (at = strstr(at, what)) != NULL; at += n)
		if ((at == s || at[-1] == '\n') && at[n] == '\n')
			return;
	buf_printf(&w->r->removed, "%s\n", what);
}

/* removed_what - why this part must go, or NULL */
static const char *
removed_what(const char *ct, const char *fname)
{
	size_t fl = strlen(fname);

	for (int i = 0; removed_types[i].type; i++)
		if (strcmp(ct, removed_types[i].type) == 0)
			return removed_types[i].what;
	for (int i = 0; removed_names[i].suffix; i++) {
		size_t sl = strlen(removed_names[i].suffix);

		if (fl >= sl && strcasecmp(fname + fl - sl, removed_names[i].suffix) == 0)
			return removed_names[i].what;
	}
	return NULL;
}

/*
 * qp_lenient - quoted-printable decoded in place, as mail clients read it
 * (RFC 2045 6.7 note 1): "=XX" is a byte, "=" before the line end (white
 * space allowed) a soft break, and any other "=" stays as it is. libetpan
 * read "=\r\n" inside a URL's "?a=b" as hex and wrote CR, NUL and DLE into
 * text. One pass, O(n); returns the new length (never longer).
 */
static size_t
qp_lenient(char *d, size_t n)
{
	size_t i = 0, o = 0, k;
	int hi, lo;

	while (i < n) {
		if (d[i] != '=') {
			d[o++] = d[i++];
			continue;
		}
		if (i + 2 < n && (hi = hex_digit((unsigned char)d[i + 1])) >= 0 &&
		    (lo = hex_digit((unsigned char)d[i + 2])) >= 0) {
			d[o++] = (char)(hi * 16 + lo);
			i += 3;
			continue;
		}
		for (k = i + 1; k < n && (d[k] == ' ' || d[k] == '\t'); k++)
			;
		if (k == n || d[k] == '\n' || d[k] == '\r') {	/* soft line break */
			i = k == n ? n : k + 1;
			if (i < n && d[i - 1] == '\r' && d[i] == '\n')
				i++;
			continue;
		}
		d[o++] = d[i++];			/* a lone "=": kept */
	}
	return o;
}

/* drop_nul - a NUL is never text (RFC 5322 2.3): clients cut the part there; O(n) */
static void
drop_nul(struct buf *t)
{
	size_t o = 0;

	for (size_t i = 0; i < t->len; i++)
		if (t->data[i] != 0)
			t->data[o++] = t->data[i];
	t->len = o;
}

/* decode - the content, transfer encoding undone; O(n) (caller frees: mailmime_decoded_part_free) */
static int
decode(const struct mailmime *m, char **data, size_t *len)
{
	const struct mailmime_data *d = m->mm_type == MAILMIME_SINGLE ? m->mm_data.mm_single : m->mm_body;
	const struct mailmime_field *f = field(m, MAILMIME_FIELD_TRANSFER_ENCODING);
	int enc = f && f->fld_data.fld_encoding ? f->fld_data.fld_encoding->enc_type : MAILMIME_MECHANISM_7BIT;
	size_t idx = 0;
	int qp = 0;

	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT) {
		*data = NULL;
		*len = 0;
		return 0;
	}
	if (m->mm_type != MAILMIME_SINGLE || !d->dt_encoded)
		enc = MAILMIME_MECHANISM_8BIT;
	if (enc == MAILMIME_MECHANISM_QUOTED_PRINTABLE) {
		/* our own decoder, run on libetpan's copy of the raw bytes (so its free still applies) */
		enc = MAILMIME_MECHANISM_8BIT;
		qp = 1;
	}
	/*
	 * libetpan's decoders read up to two bytes past the part's end (the
	 * fuzzer found it: a part ending in "=" or "=X" under quoted-printable,
	 * where the part is the tail of the message). They get a copy with NUL
	 * padding, so the stray read is of our zeros, never of other memory.
	 */
	{
		size_t n = d->dt_data.dt_text.dt_length;
		char *copy = malloc(n + 16);
		int rc;

		if (!copy)
			return -1;
		memcpy(copy, d->dt_data.dt_text.dt_data, n);
		memset(copy + n, 0, 16);
		rc = mailmime_part_parse(copy, n, &idx, enc, data, len) == MAILIMF_NO_ERROR ? 0 : -1;
		free(copy);
		if (rc == 0 && qp && *data)
			*len = qp_lenient(*data, *len);
		return rc;
	}
}

/*
 * line_ends - append s with every line end (CRLF, a lone CR or LF) as eol;
 * O(n). As LF for the cleaning, which works on LF lines.
 */
static void
line_ends(const char *s, size_t n, const char *eol, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			buf_puts(out, eol);
			if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
				i++;
		} else
			buf_putc(out, s[i]);
	}
}

/* to_utf8 - text in charset cs as UTF-8 with LF lines (unknown charsets pass as they are) */
static void
to_utf8(const char *cs, const char *s, size_t n, struct buf *out)
{
	char *u = NULL;
	int rc;

	/* charconv() mallocs its result (charconv_buffer_free is for charconv_buffer's, and leaks it) */
	if (cs && *cs && strcasecmp(cs, "utf-8") && strcasecmp(cs, "us-ascii")) {
		rc = charconv("utf-8", cs, s, n, &u);
		if (rc == MAIL_CHARCONV_NO_ERROR && u) {
			line_ends(u, strlen(u), "\n", out);
			free(u);
			return;
		}
		free(u);
	}
	line_ends(s, n, "\n", out);
}

/* crlf - normalise line ends to CRLF, the last line ended too; O(n) */
static void
crlf(const char *s, size_t n, struct buf *out)
{
	line_ends(s, n, "\r\n", out);
	if (n && out->len && out->data[out->len - 1] != '\n')
		buf_puts(out, "\r\n");
}

/* plain_7bit - can text (CRLF lines) go as 7bit? O(n) */
static int
plain_7bit(const struct buf *t)
{
	size_t line = 0;

	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = t->data[i];

		if (c == 0 || c >= 128)
			return 0;
		line = c == '\n' ? 0 : line + 1;
		if (line > 900)
			return 0;
	}
	return 1;
}

/* trailing_ws - a line ends in white space (RFC 3156: encoded in signed parts); O(n) */
static int
trailing_ws(const struct buf *t)
{
	for (size_t i = 1; i < t->len; i++)
		if (t->data[i] == '\r' &&
		    (t->data[i - 1] == ' ' || t->data[i - 1] == '\t'))
			return 1;
	return 0;
}

/* qp - quoted-printable (RFC 2045 6.7) of CRLF text; O(n) */
static void
qp(const struct buf *t, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = t->data[i];
		int eol = i + 1 < t->len && c == '\r' && t->data[i + 1] == '\n';
		int lit = (c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !(i + 1 < t->len && t->data[i + 1] == '\r') && i + 1 < t->len);

		if (eol) {
			buf_puts(out, "\r\n");
			i++;
			col = 0;
			continue;
		}
		if (col + (lit ? 1 : 3) > 75) {
			buf_puts(out, "=\r\n");
			col = 0;
		}
		if (lit) {
			buf_putc(out, c);
			col++;
		} else {
			buf_putc(out, '=');
			buf_putc(out, hex[c >> 4]);
			buf_putc(out, hex[c & 15]);
			col += 3;
		}
	}
	if (col)
		buf_puts(out, "=\r\n");
}

/* new_cid - the renamed Content-ID for old, or NULL */
static const char *
new_cid(const struct rw *w, const char *old)
{
	for (int i = 0; i < w->ncids; i++)
		if (strcmp(w->cids[i].old, old) == 0)
			return w->cids[i].new;
	return NULL;
}

/* collect_cids - give every Content-ID in the tree a fresh name (before any HTML is rewritten) */
static void
collect_cids(struct rw *w, const struct mailmime *m, int depth)
{
	const struct mailmime_field *f = field(m, MAILMIME_FIELD_ID);
	unsigned char r[12];
	char hex[25];
	clistiter *it;

	if (depth > 20)
		return;
	if (f && f->fld_data.fld_id && strlen(f->fld_data.fld_id) < sizeof(w->cids[0].old) &&
	    w->ncids < MAX_CIDS && !new_cid(w, f->fld_data.fld_id)) {
		randombytes_buf(r, sizeof(r));
		sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
		snprintf(w->cids[w->ncids].old, sizeof(w->cids[0].old), "%s", f->fld_data.fld_id);
		snprintf(w->cids[w->ncids].new, sizeof(w->cids[0].new), "%s@%s", hex, w->o->hostname);
		w->ncids++;
	}
	if (m->mm_type == MAILMIME_MULTIPLE && m->mm_data.mm_multipart.mm_mp_list)
		for (it = clist_begin(m->mm_data.mm_multipart.mm_mp_list); it; it = clist_next(it))
			collect_cids(w, clist_content(it), depth + 1);
	if (m->mm_type == MAILMIME_MESSAGE && m->mm_data.mm_message.mm_msg_mime)
		collect_cids(w, m->mm_data.mm_message.mm_msg_mime, depth + 1);
}

/* headers_out - the MIME headers of a leaf we write */
static void
headers_out(struct rw *w, const struct mailmime *m, const char *ct, const char *charset, const char *cte,
    const char *fname, struct buf *out)
{
	const struct mailmime_field *f = m ? field(m, MAILMIME_FIELD_DISPOSITION) : NULL;
	const struct mailmime_field *id = m ? field(m, MAILMIME_FIELD_ID) : NULL;
	const char *cid = id && id->fld_data.fld_id ? new_cid(w, id->fld_data.fld_id) : NULL;
	char *fmt = m && m->mm_content_type ? mailmime_content_param_get(m->mm_content_type, "format") : NULL;
	char *delsp = m && m->mm_content_type ? mailmime_content_param_get(m->mm_content_type, "delsp") : NULL;
	char tok[64];
	int attach = f && f->fld_data.fld_disposition && f->fld_data.fld_disposition->dsp_type &&
	    f->fld_data.fld_disposition->dsp_type->dsp_type == MAILMIME_DISPOSITION_TYPE_ATTACHMENT;

	buf_printf(out, "Content-Type: %s", ct);
	if (charset && *charset)
		buf_printf(out, "; charset=\"%s\"", charset);
	clean_token(fmt, tok, sizeof(tok));
	if (!strcasecmp(tok, "flowed"))
		buf_puts(out, "; format=flowed");
	clean_token(delsp, tok, sizeof(tok));
	if (fmt && !strcasecmp(tok, "yes"))
		buf_puts(out, "; delsp=yes");
	if (*fname)
		filename_2047(out, "name", fname);
	buf_printf(out, "\r\nContent-Transfer-Encoding: %s\r\n", cte);
	if (attach || *fname) {
		buf_printf(out, "Content-Disposition: %s",
		    attach ? "attachment" : "inline");
		if (*fname)
			filename_param(out, "filename", fname);
		buf_puts(out, "\r\n");
	}
	if (cid)
		buf_printf(out, "Content-ID: <%s>\r\n", cid);
	buf_puts(out, "\r\n");
}

/* text_out - a text part: CRLF lines, 7bit if it can, quoted-printable if not */
static void
text_out(struct rw *w, const struct mailmime *m, const char *ct, const char *charset, const char *fname,
    const struct buf *text, struct buf *out)
{
	struct buf t;

	buf_init(&t, 0);
	crlf((const char *)text->data, text->len, &t);
	buf_append(&w->r->scan, t.data, t.len);
	if (plain_7bit(&t) && !trailing_ws(&t)) {
		headers_out(w, m, ct, charset, "7bit", fname, out);
		buf_append(out, t.data, t.len);
	} else {
		headers_out(w, m, ct, charset, "quoted-printable", fname, out);
		qp(&t, out);
	}
	buf_free(&t);
}

/* find - offset of s in b from off, or -1; O(len) (memmem is two-way) */
static long
find(const struct buf *b, size_t off, const char *s)
{
	const unsigned char *p;

	if (b->data == NULL || off > b->len)
		return -1;	/* (an empty buffer may have no memory: no pointer arithmetic on NULL) */
	p = memmem(b->data + off, b->len - off, s, strlen(s));
	return p ? (long)(p - b->data) : -1;
}

/* cid_end - is c where a "cid:" reference ends (a quote, white space, a tag end)? */
static int
cid_end(int c)
{
	return c == '"' || c == '\'' || c == '>' || c == '<' || c == ')' || isspace(c);
}

/*
 * rename_cids - "cid:OLD" becomes "cid:NEW" throughout b (HTML kept as it
 * is). One pass, O(len + refs * ncids): each reference is the token after
 * "cid:" up to a quote, white space or ">", looked up whole, and the scan
 * goes on after it. (Replacing substrings from the start again looped for
 * ever when a new id began with the old one, and was O(len^2).)
 */
static void
rename_cids(const struct rw *w, struct buf *b)
{
	struct buf nb;
	size_t i = 0, done = 0, e, olen[MAX_CIDS];
	const unsigned char *p;
	const char *nw;

	if (w->ncids == 0 || b->data == NULL)
		return;
	for (int k = 0; k < w->ncids; k++)
		olen[k] = strlen(w->cids[k].old);
	buf_init(&nb, 0);
	while ((p = memmem(b->data + i, b->len - i, "cid:", 4)) != NULL) {
		i = (size_t)(p - b->data) + 4;
		for (e = i; e < b->len && !cid_end(b->data[e]); e++)
			;
		nw = NULL;
		for (int k = 0; k < w->ncids && !nw; k++)
			if (olen[k] == e - i && memcmp(w->cids[k].old, b->data + i, e - i) == 0)
				nw = w->cids[k].new;
		if (nw) {
			buf_append(&nb, b->data + done, i - done);
			buf_puts(&nb, nw);
			done = e;
		}
		i = e;
	}
	if (done == 0) {
		buf_free(&nb);
		return;
	}
	buf_append(&nb, b->data + done, b->len - done);
	buf_free(b);
	*b = nb;
}

/* dash_unescape - append the text of a clear-signed message, "- " taken off each line; O(n) */
static void
dash_unescape(const unsigned char *s, size_t n, struct buf *out)
{
	size_t i = 0, e;
	const unsigned char *nl;

	while (i < n) {
		nl = memchr(s + i, '\n', n - i);
		e = nl ? (size_t)(nl - s) + 1 : n;
		if (e - i >= 2 && s[i] == '-' && s[i + 1] == ' ')
			i += 2;
		buf_append(out, s + i, e - i);
		i = e;
	}
}

#define SIGNED_BEGIN	"-----BEGIN PGP SIGNED MESSAGE-----"
#define SIG_BEGIN	"-----BEGIN PGP SIGNATURE-----"
#define SIG_END		"-----END PGP SIGNATURE-----"
#define KEY_BEGIN	"-----BEGIN PGP PUBLIC KEY BLOCK-----"
#define KEY_END		"-----END PGP PUBLIC KEY BLOCK-----"

/*
 * unsign - a clear-signed text becomes the signed text (dash-unescaped),
 * armour and signature gone; 1 if there was one. O(n): three searches,
 * each from where the last ended, and one copy.
 */
static int
unsign(struct buf *t)
{
	long a, body, b, e;
	size_t end;
	struct buf nb;

	if ((a = find(t, 0, SIGNED_BEGIN)) < 0 || (body = find(t, (size_t)a, "\n\n")) < 0 ||
	    (b = find(t, (size_t)body, SIG_BEGIN)) < 0)
		return 0;
	e = find(t, (size_t)b, SIG_END);
	end = e >= 0 ? (size_t)e + strlen(SIG_END) : t->len;
	buf_init(&nb, 0);
	buf_append(&nb, t->data, (size_t)a);
	dash_unescape(t->data + body + 2, (size_t)(b - body - 2), &nb);
	buf_append(&nb, t->data + end, t->len - end);
	buf_free(t);
	*t = nb;
	return 1;
}

/* drop_keys - remove every pasted key block; 1 if there was one. O(n): one scan, one copy */
static int
drop_keys(struct buf *t)
{
	struct buf nb;
	size_t done = 0;
	long a, b;

	if (find(t, 0, KEY_BEGIN) < 0)
		return 0;
	buf_init(&nb, 0);
	while ((a = find(t, done, KEY_BEGIN)) >= 0) {
		buf_append(&nb, t->data + done, (size_t)a - done);
		b = find(t, (size_t)a, KEY_END);
		done = b >= 0 ? (size_t)b + strlen(KEY_END) : t->len;
	}
	buf_append(&nb, t->data + done, t->len - done);
	buf_free(t);
	*t = nb;
	return 1;
}

/*
 * plain_clean - strip inline PGP signatures and key blocks, and (if asked)
 * the signature block. Each step O(n) (a removal used to move the rest of
 * the text once per line: a 3 MB clear-signed text took 35 s).
 */
static void
plain_clean(struct rw *w, struct buf *t, int top)
{
	long a;

	if (unsign(t))
		note(w, "@inline-signature");
	if (drop_keys(t))
		note(w, "@pasted-key");
	if (w->o->strip_signature) {
		long last = -1;

		/* each search starts past the last hit: O(n) in all */
		for (a = 0; (a = find(t, (size_t)a, "-- \n")) >= 0; a++)
			if (a == 0 || t->data[a - 1] == '\n')
				last = a;
		if (last >= 0) {
			t->len = (size_t)last;
			t->data[t->len] = 0;
		}
	}
	if (top && *w->o->footer) {
		if (t->len && t->data[t->len - 1] != '\n')
			buf_putc(t, '\n');
		buf_printf(t, "-- \n%s\n", w->o->footer);
		w->footer_done = 1;
	}
}

static int part_out(struct rw *, const struct mailmime *, int depth, int plain_sibling, int top,
    struct buf *out);
static void emptied_out(struct rw *, struct buf *);
static int message_out(struct rw *, const struct mailmime *, const char *ct,
    const char *fname, int depth, struct buf *out);
static int message_as(struct rw *, const struct mailmime *part,
    const struct mailmime *msg, const char *ct, const char *fname, int depth,
    struct buf *out);

/* multipart_out - children with a fresh boundary; 0 if none of them is left */
static int
multipart_out(struct rw *w, const struct mailmime *m, const char *ct, int depth, int top, struct buf *out)
{
	clist *kids = m->mm_data.mm_multipart.mm_mp_list;
	unsigned char r[12];
	char bnd[48], hex[25];
	clistiter *it;
	struct buf part;
	int plain = 0, n = 0;

	if (!kids || !clist_begin(kids))
		return 0;
	if (!strcmp(ct, "multipart/signed")) {
		/* the signature is by the member's real key: pass the signed content alone */
		note(w, "@own-signature");
		return part_out(w, clist_content(clist_begin(kids)), depth + 1, 0, top, out);
	}
	if (!strcmp(ct, "multipart/encrypted")) {
		note(w, "@encrypted");
		return 0;
	}
	for (it = clist_begin(kids); it; it = clist_next(it)) {
		char kct[128];

		ct_of(((struct mailmime *)clist_content(it))->mm_content_type, kct, sizeof(kct));
		plain |= !strcmp(kct, "text/plain");
	}
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(bnd, sizeof(bnd), "=_%s", hex);
	buf_printf(out, "Content-Type: %s;\r\n boundary=\"%s\"\r\n\r\n", ct, bnd);
	buf_init(&part, 0);
	for (it = clist_begin(kids); it; it = clist_next(it)) {
		buf_reset(&part);
		if (part_out(w, clist_content(it), depth + 1, plain && !strcmp(ct, "multipart/alternative"), 0,
		    &part) > 0) {
			buf_printf(out, "--%s\r\n", bnd);
			buf_append(out, part.data, part.len);
			n++;
		}
	}
	buf_free(&part);
	if (n == 0)
		return 0;
	if (top && *w->o->footer && !strcmp(ct, "multipart/mixed")) {
		struct buf f;

		buf_init(&f, 0);
		buf_puts(&f, w->o->footer);
		buf_printf(out, "--%s\r\n", bnd);
		text_out(w, NULL, "text/plain", "utf-8", "", &f, out);
		buf_free(&f);
		w->footer_done = 1;
	}
	buf_printf(out, "--%s--\r\n", bnd);
	return 1;
}

/*
 * forwarded_subject - the Subject of a forwarded message, unfolded, as it
 * was written (encoded words stay encoded); decoded into the scan
 */
static void
forwarded_subject(struct rw *w, const struct mailimf_subject *sj,
    struct buf *out)
{
	const char *v = sj ? sj->sbj_value : NULL;
	char *dec = NULL;
	size_t idx = 0, o = out->len;

	if (!v)
		return;
	buf_puts(out, "Subject: ");
	for (const char *c = v; *c && out->len - o < 990; c++)
		if (*c != '\r' && *c != '\n')
			buf_putc(out, *c == '\t' ? ' ' : *c);
	buf_puts(out, "\r\n");
	if (mailmime_encoded_phrase_parse("iso-8859-1", v, strlen(v), &idx,
	    "utf-8", &dec) == MAILIMF_NO_ERROR && dec)
		buf_puts(&w->r->scan, dec);
	else
		buf_puts(&w->r->scan, v);
	buf_putc(&w->r->scan, '\n');
	free(dec);
}

/*
 * forwarded_date - the Date of a forwarded message in UTC (its zone is
 * where its author lives, who may be the member forwarding it)
 */
static void
forwarded_date(const struct mailimf_date_time *d, struct buf *out)
{
	struct tm tm;
	time_t t;
	char date[UTC_DATE_MAX];

	if (!d || d->dt_year < 1900 || d->dt_year > 9999)
		return;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = d->dt_year - 1900;
	tm.tm_mon = d->dt_month - 1;
	tm.tm_mday = d->dt_day;
	tm.tm_hour = d->dt_hour;
	tm.tm_min = d->dt_min;
	tm.tm_sec = d->dt_sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return;
	t -= (time_t)((d->dt_zone / 100) * 3600 + (d->dt_zone % 100) * 60);
	if (utc_date(t, date, sizeof(date)) < 0)
		return;
	buf_printf(out, "Date: %s\r\n", date);
}

/*
 * forwarded_fields - the fields of a forwarded message. A digest's entry
 * with an empty part header: libetpan starts the part at the entry's own
 * header and gives it no fields, so they are read here (*own to free).
 */
static const struct mailimf_fields *
forwarded_fields(const struct mailmime *m, struct mailimf_fields **own)
{
	const struct mailimf_fields *f = m->mm_data.mm_message.mm_fields;
	size_t idx = 0;

	*own = NULL;
	if ((!f || clist_isempty(f->fld_list)) && m->mm_mime_start &&
	    mailimf_fields_parse(m->mm_mime_start, m->mm_length, &idx, own) ==
	    MAILIMF_NO_ERROR)
		return *own;
	return f;
}

/* forwarded_header - of a forwarded message's header only Subject and Date */
static void
forwarded_header(struct rw *w, const struct mailmime *m, struct buf *out)
{
	const struct mailimf_fields *f;
	const struct mailimf_field *h;
	struct mailimf_fields *own;
	clistiter *it;

	if ((f = forwarded_fields(m, &own)) != NULL)
		for (it = clist_begin(f->fld_list); it; it = clist_next(it)) {
			h = clist_content(it);
			if (h->fld_type == MAILIMF_FIELD_SUBJECT)
				forwarded_subject(w, h->fld_data.fld_subject,
				    out);
			else if (h->fld_type == MAILIMF_FIELD_ORIG_DATE &&
			    h->fld_data.fld_orig_date)
				forwarded_date(h->fld_data.fld_orig_date->
				    dt_date_time, out);
		}
	if (own)
		mailimf_fields_free(own);
}

/*
 * message_out - a forwarded message (message/rfc822, message/global, a
 * digest's entry) rebuilt like a post: of its header only Subject and Date
 * (no From, To, Cc, Received, Message-ID, X-*: who wrote, forwarded and
 * carried it), its body written anew part by part (HTML sanitised, text
 * decoded for the leak guard). Always 1: an emptied one says so.
 */
static int
message_out(struct rw *w, const struct mailmime *m, const char *ct,
    const char *fname, int depth, struct buf *out)
{
	return message_as(w, m, m, ct, fname, depth, out);
}

/* message_as - message_out of msg, under the part headers of part */
static int
message_as(struct rw *w, const struct mailmime *part,
    const struct mailmime *msg, const char *ct, const char *fname, int depth,
    struct buf *out)
{
	const struct mailmime *body = msg->mm_data.mm_message.mm_msg_mime;
	struct buf inner;

	buf_init(&inner, 0);
	forwarded_header(w, msg, &inner);
	buf_puts(&inner, "MIME-Version: 1.0\r\n");
	if (!body || part_out(w, body, depth + 1, 0, 0, &inner) == 0)
		emptied_out(w, &inner);
	headers_out(w, part, !strcmp(ct, "message/global") ? ct :
	    "message/rfc822", NULL, plain_7bit(&inner) ? "7bit" : "8bit",
	    fname, out);
	buf_append(out, inner.data, inner.len);
	buf_free(&inner);
	return 1;
}

/* line_ok - fit for 7bit/8bit: no NUL, no line over 998 octets? O(n) */
static int
line_ok(const struct buf *t)
{
	size_t line = 0;

	for (size_t i = 0; i < t->len; i++) {
		if (t->data[i] == 0)
			return 0;
		line = t->data[i] == '\n' ? 0 : line + 1;
		if (line > 998)
			return 0;
	}
	return 1;
}

/* external_params - message/external-body's parameters: where it is */
static void
external_params(const struct mailmime *m, struct buf *out)
{
	const struct mailmime_parameter *p;
	char tok[256];
	clistiter *it;

	for (it = clist_begin(m->mm_content_type->ct_parameters); it;
	    it = clist_next(it)) {
		p = clist_content(it);
		clean_token(p->pa_name, tok, sizeof(tok));
		if (!*tok)
			continue;
		buf_printf(out, ";\r\n %s=\"", tok);
		for (const char *c = p->pa_value; c && *c; c++)
			if ((unsigned char)*c >= 32 && *c != 127 &&
			    *c != '"' && *c != '\\')
				buf_putc(out, *c);
		buf_putc(out, '"');
	}
}

/*
 * encoded_message - a forwarded message sent base64 or quoted-printable
 * (RFC 2046 forbids it; clients read it): decoded, parsed like the post
 * (transform's parse_checked) and rebuilt by message_out; the part goes,
 * and the author is told, if it cannot be read safely
 */
static int
encoded_message(struct rw *w, const struct mailmime *m, const char *ct,
    const char *fname, const char *data, size_t len, int depth,
    struct buf *out)
{
	struct mailmime *tree = NULL;
	struct buf part;

	if (!w->o->parse || !data ||
	    w->o->parse(data, len, &tree) < 0 || tree == NULL ||
	    tree->mm_type != MAILMIME_MESSAGE) {
		if (tree)
			mailmime_free(tree);
		note(w, "@forwarded-unreadable");
		return 0;
	}
	/* the part's own headers (name, disposition), the message rebuilt */
	buf_init(&part, 0);
	message_as(w, m, tree, ct, fname, depth, &part);
	mailmime_free(tree);
	buf_append(out, part.data, part.len);
	buf_free(&part);
	return 1;
}

/*
 * message_single - a message part libetpan did not parse as a message:
 * delivery and disposition reports, external-body and the like go as they
 * are in 7bit or 8bit (RFC 2046 5.2 and RFC 3464 forbid anything else);
 * an encoded forwarded message or a fragment (message/partial) cannot be
 * rebuilt here, so it is removed and the author told
 */
static int
message_single(struct rw *w, const struct mailmime *m, const char *ct,
    const char *fname, const char *data, size_t len, int depth,
    struct buf *out)
{
	const char *cte;
	struct buf t;

	if (!strcmp(ct, "message/partial")) {
		note(w, "@fragment");
		return 0;
	}
	if (!strcmp(ct, "message/rfc822") || !strcmp(ct, "message/global"))
		return encoded_message(w, m, ct, fname, data, len, depth, out);
	buf_append(&w->r->scan, data, len);
	buf_putc(&w->r->scan, '\n');
	buf_init(&t, 0);
	crlf(data ? data : "", len, &t);
	if (!line_ok(&t)) {
		buf_free(&t);
		headers_out(w, m, "application/octet-stream", NULL, "base64",
		    fname, out);
		buf_base64(out, data ? data : "", len);
		return 1;
	}
	cte = plain_7bit(&t) ? "7bit" : "8bit";
	if (!strcmp(ct, "message/external-body") && m->mm_content_type) {
		/* its parameters say where the content is */
		buf_printf(out, "Content-Type: %s", ct);
		external_params(m, out);
		buf_printf(out, "\r\nContent-Transfer-Encoding: %s\r\n\r\n",
		    cte);
	} else
		headers_out(w, m, ct, NULL, cte, fname, out);
	buf_append(out, t.data, t.len);
	buf_free(&t);
	return 1;
}

/* image_clean - the image without its hidden data; 0 if it cannot be walked */
static int
image_clean(struct rw *w, const char *fname, const char *data, size_t len,
    struct buf *clean)
{
	char what[FNAME_MAX + 120];
	int removed = 0;

	if (meta_image_strip((const unsigned char *)data, len, clean,
	    &removed) < 0) {
		note(w, "@image-unchecked");
		return 0;
	}
	if (removed) {
		if (*fname)
			(void)audit_code(what, sizeof(what), "image-details",
			    (const char *[]){ "name", fname, NULL });
		else
			snprintf(what, sizeof(what), "@image-details-unnamed");
		note(w, what);
	}
	return 1;
}

/*
 * emptied_out - the one text part left of a forwarded message the list
 * took every part out of: [forward-emptied] (the English if the job
 * brought none), CRLF lines, 8bit when a translation is not ASCII
 */
static void
emptied_out(struct rw *w, struct buf *b)
{
	const char *t = w->o->emptied && *w->o->emptied ? w->o->emptied :
	    "(The list took everything out of this forwarded message.)\n";
	int ascii = 1;

	for (const char *c = t; *c; c++)
		ascii &= (unsigned char)*c < 0x80;
	buf_printf(b, "Content-Type: text/plain; charset=\"utf-8\"\r\n"
	    "Content-Transfer-Encoding: %s\r\n\r\n", ascii ? "7bit" : "8bit");
	for (const char *c = t; *c; c++) {
		if (*c == '\n')
			buf_puts(b, "\r\n");
		else if (*c != '\r')
			buf_putc(b, *c);
	}
	if (b->len && b->data[b->len - 1] != '\n')
		buf_puts(b, "\r\n");
}

/*
 * binary_out - any other part, base64; images lose their hidden data, and
 * a document whose properties name its author is reported (the post is
 * then held or refused: documents_with_author)
 */
static int
binary_out(struct rw *w, const struct mailmime *m, const char *ct,
    const char *fname, const char *data, size_t len, struct buf *out)
{
	const unsigned char *d = (const unsigned char *)(data ? data : "");
	struct buf clean;
	char what[160];

	if (meta_kind(d, len) != META_OTHER) {
		buf_init(&clean, 0);
		if (!image_clean(w, fname, data, len, &clean)) {
			buf_free(&clean);
			return 0;
		}
		/* the leak guard reads what goes out: the image, cleaned */
		buf_append(&w->r->scan, clean.data, clean.len);
		buf_putc(&w->r->scan, '\n');
		headers_out(w, m, ct, NULL, "base64", fname, out);
		buf_base64(out, clean.data ? clean.data : d, clean.len);
		buf_free(&clean);
		return 1;
	}
	buf_append(&w->r->scan, data, len);
	buf_putc(&w->r->scan, '\n');
	if (!*w->r->document && meta_document(d, len, what, sizeof(what)))
		snprintf(w->r->document, sizeof(w->r->document),
		    "the attachment %s%s%s: %s", *fname ? "\"" : "",
		    *fname ? fname : "without a name", *fname ? "\"" : "",
		    what);
	headers_out(w, m, ct, NULL, "base64", fname, out);
	buf_base64(out, d, len);
	return 1;
}

/*
 * part_out - one part, written anew; returns 1 written, 0 removed.
 * plain_sibling: an HTML part has a text/plain alternative (html = "text" drops it).
 */
static int
part_out(struct rw *w, const struct mailmime *m, int depth, int plain_sibling, int top, struct buf *out)
{
	char ct[128], fname[FNAME_MAX], *cs, *data = NULL;
	const char *what;
	struct buf t, html;
	size_t len = 0;
	int n;

	if (depth > 20)
		return 0;
	ct_of(m->mm_content_type, ct, sizeof(ct));
	if (m->mm_type == MAILMIME_MULTIPLE)
		return multipart_out(w, m, ct, depth, top, out);
	filename_of(m, fname, sizeof(fname));
	if (m->mm_type == MAILMIME_MESSAGE)
		return message_out(w, m, ct, fname, depth, out);
	if (*fname) {
		buf_puts(&w->r->scan, fname);
		buf_putc(&w->r->scan, '\n');
	}
	if ((what = removed_what(ct, fname)) != NULL) {
		note(w, what);
		return 0;
	}
	if (decode(m, &data, &len) < 0)
		return 0;
	cs = m->mm_content_type ? mailmime_content_charset_get(m->mm_content_type) : NULL;
	buf_init(&t, 0);
	if (m->mm_type == MAILMIME_SINGLE && !strncmp(ct, "text/", 5)) {
		/* the leak guard reads what goes out, decoded: text_out adds it to the scan */
		to_utf8(cs, data ? data : "", len, &t);
		drop_nul(&t);
		if (find(&t, 0, KEY_BEGIN) >= 0 && *fname) {
			note(w, "@pgp-key");
			n = 0;
		} else if (!strcmp(ct, "text/html") && w->o->html == HTML_TEXT && plain_sibling) {
			n = 0;	/* the text alternative says the same */
		} else if (!strcmp(ct, "text/html") && w->o->html != HTML_KEEP) {
			struct buf text;

			buf_init(&html, 0);
			buf_init(&text, 0);
			if ((n = html_sanitize((const char *)t.data, t.len, w->cids, w->ncids, &html, &text)) > 0)
				w->r->remote += n;
			if (w->o->html == HTML_TEXT) {
				plain_clean(w, &text, top);
				text_out(w, m, "text/plain", "utf-8", fname, &text, out);
			} else
				text_out(w, m, "text/html", "utf-8", fname, &html, out);
			buf_free(&html);
			buf_free(&text);
			n = 1;
		} else {
			if (!strcmp(ct, "text/plain"))
				plain_clean(w, &t, top);
			if (!strcmp(ct, "text/html"))
				rename_cids(w, &t);	/* html = "keep": the parts it shows were renamed */
			text_out(w, m, ct, "utf-8", fname, &t, out);
			n = 1;
		}
	} else if (!strncmp(ct, "message/", 8)) {
		n = message_single(w, m, ct, fname, data, len, depth, out);
	} else
		n = binary_out(w, m, ct, fname, data, len, out);
	buf_free(&t);
	if (data)
		mailmime_decoded_part_free(data);
	return n;
}

/*
 * rewrite_body - the body entity (MIME headers, blank line, content) of a
 * post, written anew; 1 if nothing in it could be passed on (the entity
 * then says so, and the post must not go out as that), else 0
 */
int
rewrite_body(const struct mailmime *body, const struct rewrite_opts *o, struct rewrite_result *r)
{
	struct rw w;
	struct buf part, f;
	unsigned char rnd[12];
	char hex[25];

	memset(&w, 0, sizeof(w));
	w.o = o;
	w.r = r;
	buf_puts(&r->entity, "MIME-Version: 1.0\r\n");
	if (body)
		collect_cids(&w, body, 0);
	buf_init(&part, 0);
	if (body && part_out(&w, body, 0, 0, 1, &part) > 0) {
		if (!*o->footer || w.footer_done) {
			buf_append(&r->entity, part.data, part.len);
			buf_free(&part);
			return 0;
		}
		/* the footer as a part of its own, beside whatever the post was */
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
		buf_printf(&r->entity, "Content-Type: multipart/mixed;\r\n boundary=\"=_%s\"\r\n\r\n--=_%s\r\n",
		    hex, hex);
		buf_append(&r->entity, part.data, part.len);
		buf_init(&f, 0);
		buf_puts(&f, o->footer);
		buf_printf(&r->entity, "--=_%s\r\n", hex);
		text_out(&w, NULL, "text/plain", "utf-8", "", &f, &r->entity);
		buf_printf(&r->entity, "--=_%s--\r\n", hex);
		buf_free(&f);
		buf_free(&part);
		return 0;
	}
	buf_free(&part);
	buf_puts(&r->entity, "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
	    "(Nothing in this post could be passed on: see the note the author received.)\r\n");
	if (*o->footer) {
		buf_puts(&r->entity, "-- \r\n");
		crlf(o->footer, strlen(o->footer), &r->entity);
	}
	return 1;
}
