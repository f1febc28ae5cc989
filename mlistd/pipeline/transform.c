/*
 * transform.c - what the list does to a post before it goes out (plain
 * identity lists; pseudonymous rewriting is the identity stage's).
 *
 * Runs only inside the sandboxed worker (worker.c): the message is hostile
 * input and libetpan 1.9.4's MIME parser has known memory bugs. So:
 *  1. screen: refuse boundary parameters that trip libetpan (quotes or
 *     backslashes inside, empty, over 70 octets, characters outside RFC
 *     2046 bchars) before the parser sees them;
 *  2. parse with mailmime_parse, then check that every pointer and length
 *     it returned lies inside the message and that every multipart body
 *     really contains its boundary line (the wrapped-preamble bug);
 *  3. never serialise libetpan's tree: the copy is built from the original
 *     bytes - rebuilt header section, body verbatim, footer spliced in -
 *     so the serialiser's out-of-bounds read is never reached.
 */
#include <ctype.h>
#include <libetpan/libetpan.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mail/header.h"
#include "mail/keys.h"
#include "mail/msgid.h"
#include "mail/notices.h"
#include "pipeline/fromname.h"
#include "pipeline/mimefix.h"
#include "pipeline/render.h"
#include "pipeline/rewrite.h"
#include "pipeline/transform.h"

#define MAX_DEPTH	20
#define MAX_PARTS	1000
#define BOUNDARY_MAX	70
/*
 * why a message cannot be read safely, as reason codes ("@CODE" and
 * "\tNAME=VALUE", as audit details are): the queue manager words them
 * with the pieces [why-CODE] (pipeline/pgpwhy.c), so the sandbox holds
 * no member's language
 */
#define BROKEN	"@mime-broken"

/*
 * headers the list replaces or removes on every copy; Autocrypt and
 * Autocrypt-Gossip carry a member's key (its UID names them, #17)
 */
static const char *const drop_fields[] = {
	"List-Id", "List-Post", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post",
	"List-Subscribe", "List-Owner", "List-Archive", "Precedence", "X-Loop", "Return-Path",
	"DKIM-Signature", "Delivered-To", "Subject", "Autocrypt",
	"Autocrypt-Gossip",
	/*
	 * read receipts, on every list: each member's MDN would tell the
	 * poster that member's address, whatever disclosure.roster says
	 */
	"Disposition-Notification-To", "Return-Receipt-To",
	"X-Confirm-Reading-To", "Read-Receipt-To", "Generate-Delivery-Report",
	/*
	 * whom the author copied in secret: a client that writes its Bcc
	 * line into the message would show it to every member
	 */
	"Bcc", "Resent-Bcc",
	/*
	 * who sent it, claimed: only the From is authenticated, and a client
	 * shows "SENDER on behalf of FROM" (the moderators, another member)
	 */
	"Sender", "Resent-From", "Resent-Sender",
	NULL
};
/*
 * where a reply to the list should go instead (mutt's list-reply obeys
 * them): kept only when the author is authenticated - a claim must not
 * steer members' replies off the list, from their own addresses
 */
static const char *const followup_fields[] = {
	"Mail-Followup-To", "Mail-Reply-To", NULL
};
static const char *const content_fields[] = {
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition",
	"Content-ID", "Content-Description", "Content-Language", NULL
};

/*
 * fields RFC 5322 (3.6) and RFC 2045 allow once: a copy carries the first
 * of each (To and Cc merged into one field, OpenDKIM refuses a message with
 * two), so that what a signature covers is what a reader's client shows
 */
static const char *const single_fields[] = {
	"From", "Sender", "Reply-To", "Date", "Message-ID", "In-Reply-To", "References",
	"Subject", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"Content-Disposition", "Content-ID", "Content-Description", NULL
};
static const char *const merged_fields[] = { "To", "Cc", NULL };

/* in_list - is the field one of names? */
static int
in_list(const struct hdr_field *f, const char *const *names)
{
	for (; *names; names++)
		if (hdr_is(f, *names))
			return 1;
	return 0;
}

/* bchar_ok - RFC 2046 boundary character */
static int
bchar_ok(int c)
{
	return isalnum(c) || strchr("'()+_,-./:=? ", c) != NULL;
}

/* screen_params - check the boundary= parameters in one Content-Type value; O(n) */
static int
screen_params(const char *v, size_t n, char *why, size_t whylen)
{
	size_t i = 0, start, len;

	while (i + 8 < n) {
		if (strncasecmp(v + i, "boundary", 8) != 0 || (i > 0 && (isalnum((unsigned char)v[i - 1]) ||
		    v[i - 1] == '-'))) {
			i++;
			continue;
		}
		i += 8;
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n'))
			i++;
		if (i >= n || v[i] != '=')
			continue;	/* "boundary" in some other text */
		i++;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i < n && v[i] == '"') {
			start = ++i;
			while (i < n && v[i] != '"' && v[i] != '\\' && v[i] != '\r' && v[i] != '\n')
				i++;
			if (i >= n || v[i] != '"')
				return snprintf(why, whylen,
				    "@boundary-quote"), -1;
			len = i - start;
		} else {
			start = i;
			while (i < n && !strchr(" \t\r\n;", v[i]))
				i++;
			len = i - start;
		}
		if (len == 0 || len > BOUNDARY_MAX)
			return snprintf(why, whylen,
			    "@boundary-length\tmax=%d", BOUNDARY_MAX), -1;
		for (size_t k = start; k < start + len; k++)
			if (!bchar_ok((unsigned char)v[k]))
				return snprintf(why, whylen,
				    "@boundary-char"), -1;
		if (v[start + len - 1] == ' ')
			return snprintf(why, whylen,
			    "@boundary-space"), -1;
	}
	return 0;
}

/*
 * transform_screen - refuse what is known to trip libetpan, before parsing.
 * Looks at every Content-Type field, at the top and in nested parts (any line
 * that starts one, with its continuation lines). One pass: O(len).
 */
int
transform_screen(const char *m, size_t len, char *why, size_t whylen)
{
	size_t off = 0, end, fend;
	const char *nl;

	while (off < len) {
		nl = memchr(m + off, '\n', len - off);
		end = nl ? (size_t)(nl - m) + 1 : len;
		if (end - off >= 13 && strncasecmp(m + off, "Content-Type:", 13) == 0) {
			fend = end;
			while (fend < len && (m[fend] == ' ' || m[fend] == '\t')) {
				nl = memchr(m + fend, '\n', len - fend);
				fend = nl ? (size_t)(nl - m) + 1 : len;
			}
			if (screen_params(m + off + 13, fend - off - 13, why, whylen) < 0)
				return -1;
			end = fend;
		}
		off = end;
	}
	return 0;
}

/* in_range - does [p, p+n) lie inside the message? */
static int
in_range(const struct transform_in *in, const char *p, size_t n)
{
	return p >= in->msg && p <= in->msg + in->len && n <= (size_t)(in->msg + in->len - p);
}

/* data_ok - a mailmime_data's text must point into the message */
static int
data_ok(const struct transform_in *in, const struct mailmime_data *d)
{
	return d == NULL || d->dt_type != MAILMIME_DATA_TEXT ||
	    in_range(in, d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length);
}

/* boundary_present - does "--boundary" occur at a line start inside the part? O(n) */
static int
boundary_present(const char *p, size_t n, const char *b)
{
	size_t bl = strlen(b), i;

	for (i = 0; i + 2 + bl <= n; i++)
		if ((i == 0 || p[i - 1] == '\n') && p[i] == '-' && p[i + 1] == '-' &&
		    memcmp(p + i + 2, b, bl) == 0)
			return 1;
	return 0;
}

/*
 * check_tree - range-check what libetpan returned; count parts. Each level
 * scans its body for its boundary once: O(len * depth), depth <= MAX_DEPTH.
 */
static int
check_tree(const struct transform_in *in, const struct mailmime *m, int depth, int *parts,
    char *why, size_t whylen)
{
	clistiter *it;
	char *b;

	if (depth > MAX_DEPTH || ++*parts > MAX_PARTS)
		return snprintf(why, whylen, "@too-many-parts\tparts=%d"
		    "\tdepth=%d", MAX_PARTS, MAX_DEPTH), -1;
	if (m->mm_mime_start && !in_range(in, m->mm_mime_start, m->mm_length))
		return snprintf(why, whylen, "%s", BROKEN), -1;
	if (!data_ok(in, m->mm_body))
		return snprintf(why, whylen, "%s", BROKEN), -1;
	switch (m->mm_type) {
	case MAILMIME_SINGLE:
		if (!data_ok(in, m->mm_data.mm_single))
			return snprintf(why, whylen, "%s", BROKEN), -1;
		return 0;
	case MAILMIME_MULTIPLE:
		if (!data_ok(in, m->mm_data.mm_multipart.mm_preamble) ||
		    !data_ok(in, m->mm_data.mm_multipart.mm_epilogue))
			return snprintf(why, whylen, "%s", BROKEN), -1;
		b = mailmime_content_param_get(m->mm_content_type, "boundary");
		if (b == NULL || m->mm_body == NULL || m->mm_body->dt_type != MAILMIME_DATA_TEXT ||
		    !boundary_present(m->mm_body->dt_data.dt_text.dt_data,
		    m->mm_body->dt_data.dt_text.dt_length, b))
			return snprintf(why, whylen, "@mime-separators"), -1;
		if (m->mm_data.mm_multipart.mm_mp_list)
			for (it = clist_begin(m->mm_data.mm_multipart.mm_mp_list); it; it = clist_next(it))
				if (check_tree(in, clist_content(it), depth + 1, parts, why, whylen) < 0)
					return -1;
		return 0;
	case MAILMIME_MESSAGE:
		if (m->mm_data.mm_message.mm_msg_mime)
			return check_tree(in, m->mm_data.mm_message.mm_msg_mime, depth + 1, parts, why, whylen);
		return 0;
	}
	return 0;
}

/* encoding - Content-Transfer-Encoding of a part (MAILMIME_MECHANISM_*) */
static int
encoding(const struct mailmime *m)
{
	clistiter *it;

	if (!m->mm_mime_fields)
		return MAILMIME_MECHANISM_7BIT;
	for (it = clist_begin(m->mm_mime_fields->fld_list); it; it = clist_next(it)) {
		const struct mailmime_field *f = clist_content(it);

		if (f->fld_type == MAILMIME_FIELD_TRANSFER_ENCODING && f->fld_data.fld_encoding)
			return f->fld_data.fld_encoding->enc_type;
	}
	return MAILMIME_MECHANISM_7BIT;
}

/* first_mailbox - the address of the first mailbox in a From value */
static void
first_mailbox(const char *value, char *out, size_t n)
{
	struct mailimf_mailbox_list *mb = NULL;
	struct mailimf_mailbox *box;
	size_t idx = 0;

	out[0] = 0;
	if (!value || mailimf_mailbox_list_parse(value, strlen(value), &idx, &mb) != MAILIMF_NO_ERROR)
		return;
	if (clist_begin(mb->mb_list)) {
		box = clist_content(clist_begin(mb->mb_list));
		if (box->mb_addr_spec && strlen(box->mb_addr_spec) < n && addr_valid(box->mb_addr_spec))
			snprintf(out, n, "%s", box->mb_addr_spec);
	}
	mailimf_mailbox_list_free(mb);
}

/*
 * sole_mailbox - is the From value one mailbox and nothing else? A second
 * one ("bob@..., demo moderators <demo-owner@...>") or bytes after what
 * parses ("<bob@...> <demo-owner@...>", which a client may read as the
 * author) would show readers an author the list never judged (round 10,
 * finding 3)
 */
static int
sole_mailbox(const char *value)
{
	struct mailimf_mailbox_list *mb = NULL;
	size_t idx = 0, n = value ? strlen(value) : 0;
	int one;

	if (!value || mailimf_mailbox_list_parse(value, n, &idx, &mb) !=
	    MAILIMF_NO_ERROR)
		return 0;
	one = clist_count(mb->mb_list) == 1;
	mailimf_mailbox_list_free(mb);
	/* a comment after it ("bob@... (Bob)") is the old form of a name */
	(void)mailimf_cfws_parse(value, n, &idx);
	return one && idx == n;
}

/*
 * put_from - the first From as it came if it is a sole mailbox, else
 * only the mailbox the list judged (out->from)
 */
static void
put_from(struct buf *b, const struct hdr_field *f,
    const struct transform_out *out)
{
	char *v = hdr_value(f);

	if (sole_mailbox(v))
		hdr_put(b, f);
	else
		buf_printf(b, "From: <%s>\r\n", out->from);
	free(v);
}

/* flags - automatic, bounce and loop markers */
static void
flags(const struct transform_in *in, const struct hdr *h, const char *ct, struct transform_out *out)
{
	char *v, want[256];

	out->automatic = hdr_automatic(h);
	if (strcmp(ct, "multipart/report") == 0)
		out->bounce = out->automatic = 1;
	/* this list's List-Id, or any X-Loop of this instance: it has been through here */
	snprintf(want, sizeof(want), "<%s.%s>", in->list->name, in->cfg->hostname);
	if ((v = hdr_get_value(h, "List-Id")) && strcasestr(v, want))
		out->loop = 1;
	free(v);
	snprintf(want, sizeof(want), "@%s", in->cfg->hostname);
	for (int i = 0; i < h->n; i++)
		if (hdr_is(&h->f[i], "X-Loop") && (v = hdr_value(&h->f[i]))) {
			size_t vl = strlen(v), wl = strlen(want);

			if (vl > wl && strcasecmp(v + vl - wl, want) == 0)
				out->loop = 1;
			free(v);
		}
}

/*
 * unnamed_from - the From of a post that had none: the list's address, its
 * display name [unnamed-sender] (the job brings the piece to the worker),
 * quoted when ASCII, else RFC 2047 encoded-words
 */
static void
unnamed_from(const struct transform_in *in, struct buf *b)
{
	struct notice_ctx ctx = { in->list->name, in->cfg->hostname };

	notice_from(in->list->notices, in->cfg->notices, PIECE_UNNAMED_SENDER,
	    &ctx, NULL, "", b);
}

/*
 * preamble - [mime-preamble], the text before the first part of a post
 * the list wraps (only a client without MIME shows it), CRLF line ends;
 * nothing when the piece is empty
 */
static void
preamble(const struct transform_in *in, struct buf *b)
{
	struct buf t;

	buf_init(&t, 0);
	if (notice_piece(in->list->notices, in->cfg->notices,
	    PIECE_MIME_PREAMBLE, &(struct notice_ctx){ in->list->name,
	    in->cfg->hostname }, NULL, &t) == 0) {
		for (size_t i = 0; i < t.len; i++) {
			if (t.data[i] == '\n')
				buf_puts(b, "\r\n");
			else if (t.data[i] != '\r')
				buf_putc(b, (char)t.data[i]);
		}
	}
	buf_free(&t);
}

/*
 * no_subject - [no-subject]'s words after the prefix, as a header's text:
 * one line, RFC 2047 encoded-words when a translation is not ASCII (in the
 * sandboxed worker the job brought the piece: worker.c)
 */
static void
no_subject(const struct transform_in *in, struct buf *b)
{
	struct notice_ctx ctx = { in->list->name,
	    in->cfg ? in->cfg->hostname : "" };
	char w[200];

	if (!in->cfg || notice_piece_line(in->list->notices, in->cfg->notices,
	    PIECE_NO_SUBJECT, &ctx, NULL, w, sizeof(w)) < 0 || !*w)
		snprintf(w, sizeof(w), "-");	/* checked at load: never */
	for (char *c = w; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	notice_subject(w, b);
	buf_puts(b, "\r\n");
}

/* subject - prefix once: never "Re: [demo] Re: [demo]" */
static void
subject(const struct transform_in *in, const struct hdr *h, struct buf *b)
{
	const struct hdr_field *f = hdr_get(h, "Subject");
	const char *pfx = in->list->subject_prefix;
	char *v = f ? hdr_value(f) : NULL;

	if (*pfx == 0) {
		if (f)
			buf_append(b, f->start, f->len);
	} else if (v && strcasestr(v, pfx)) {
		buf_append(b, f->start, f->len);	/* already carries the prefix: keep it */
	} else {
		buf_puts(b, "Subject: ");
		render_clean(b, pfx);
		buf_putc(b, ' ');
		if (f && v && *v) {
			size_t skip = 0;	/* the value need not be NUL-terminated: count within vlen */

			while (skip < f->vlen && (f->value[skip] == ' ' || f->value[skip] == '\t'))
				skip++;
			buf_append(b, f->value + skip, f->len - f->nlen - 1 - skip);
		} else
			no_subject(in, b);
	}
	if (f && b->len >= 2 && b->data[b->len - 1] != '\n')
		buf_puts(b, "\r\n");
	free(v);
}

/*
 * list_subject - the copy's Subject: folded (render.c's limit) where the
 * list wrote it, with its prefix or its [no-subject] words; the author's
 * own field, kept as it came, is passed on byte for byte
 */
static void
list_subject(const struct transform_in *in, const struct hdr *h,
    struct buf *b)
{
	const struct hdr_field *f = hdr_get(h, "Subject");
	struct buf s;

	buf_init(&s, 0);
	subject(in, h, &s);
	if (f && s.len == f->len && memcmp(s.data, f->start, f->len) == 0)
		buf_append(b, s.data, s.len);
	else
		(void)render_fold(b, s.data, s.len);
	buf_free(&s);
}

static void display_name(const char *value, struct buf *out);

/*
 * munged_from - the DMARC-safe From of a real-identity list: the member's
 * name "via LIST" at the list's address (the list's DKIM signature then
 * aligns), the member's own address in Reply-To unless the post has one.
 */
static void
munged_from(const struct transform_in *in, const struct hdr *h, struct buf *b)
{
	const struct hdr_field *f = hdr_get(h, "From");
	char *v = f ? hdr_value(f) : NULL, enc[600], addr[ADDR_MAX + 1];
	char via[400];
	struct buf name;
	size_t len;
	int ascii = 1;

	buf_init(&name, 0);
	display_name(v, &name);
	first_mailbox(v, addr, sizeof(addr));
	if (name.len == 0 && *addr)
		buf_puts(&name, addr);
	else if (name.len == 0) {
		/* nobody named: the list's words for a member ([member-name]) */
		(void)notice_piece_line(in->list->notices, in->cfg->notices,
		    PIECE_MEMBER_NAME, &(struct notice_ctx){ in->list->name,
		    in->cfg->hostname }, NULL, via, sizeof(via));
		buf_puts(&name, via);
	}
	/* the words are the list's ([from-author]) */
	fromname_author(in->cfg, in->list, buf_cstr(&name), via,
	    sizeof(via));
	len = strlen(via);
	for (size_t i = 0; i < len; i++)
		ascii &= via[i] >= 32 && via[i] < 127 && via[i] != '"' &&
		    via[i] != '\\';
	if (ascii)
		buf_printf(b, "From: \"%s\" <%s@%s>\r\n", via, in->list->name,
		    in->cfg->hostname);
	else {
		sodium_bin2base64(enc, sizeof(enc), (const unsigned char *)via,
		    len < 400 ? len : 400, sodium_base64_VARIANT_ORIGINAL);
		buf_printf(b, "From: =?utf-8?B?%s?= <%s@%s>\r\n", enc, in->list->name, in->cfg->hostname);
	}
	if (*addr && !hdr_get(h, "Reply-To"))
		buf_printf(b, "Reply-To: <%s>\r\n", addr);
	buf_free(&name);
	free(v);
}

/* has_8bit - any byte >= 0x80? */
static int
has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

enum footer_how { FOOT_NONE, FOOT_APPEND, FOOT_MIXED_PART, FOOT_WRAP };

/* footer_plan - how to add the footer without breaking the structure */
static enum footer_how
footer_plan(const struct transform_in *in, const struct mailmime *body, const char *ct)
{
	int enc;
	char *cs;

	if (*in->list->footer == 0)
		return FOOT_NONE;
	if (!strcmp(ct, "multipart/signed") || !strcmp(ct, "multipart/encrypted") ||
	    !strcmp(ct, "application/pkcs7-mime") || !strcmp(ct, "application/x-pkcs7-mime") ||
	    !strcmp(ct, "application/pgp-encrypted"))
		return FOOT_NONE;	/* never break a signature or an encrypted body */
	if (!strcmp(ct, "multipart/mixed"))
		return FOOT_MIXED_PART;
	if (!strcmp(ct, "text/plain") || !*ct) {
		enc = body ? encoding(body) : MAILMIME_MECHANISM_7BIT;
		cs = body ? mailmime_content_charset_get(body->mm_content_type) : NULL;
		if ((enc == MAILMIME_MECHANISM_7BIT || enc == MAILMIME_MECHANISM_8BIT) &&
		    (!has_8bit(in->list->footer) || (cs && !strcasecmp(cs, "utf-8"))))
			return FOOT_APPEND;
	}
	return FOOT_WRAP;
}

/* footer_part - a MIME part holding the footer */
static void
footer_part(const struct transform_in *in, struct buf *b, const char *boundary)
{
	buf_printf(b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\nContent-Disposition: inline\r\n"
	    "Content-Description: ", boundary);
	/* [footer-description]: a client shows it, in the list's words */
	notice_display(in->list->notices, in->cfg->notices,
	    PIECE_FOOTER_DESCRIPTION, &(struct notice_ctx){ in->list->name,
	    in->cfg->hostname }, NULL, "list footer", 0, b);
	buf_puts(b, "\r\n\r\n");
	(void)render_text(b, in->list->footer);
}

/* first_of_name - is field i the first of its name? O(i): O(fields^2) in all, fields <= 1000 */
static int
first_of_name(const struct hdr *h, int i)
{
	for (int k = 0; k < i; k++)
		if (h->f[k].nlen == h->f[i].nlen &&
		    strncasecmp(h->f[k].start, h->f[i].start, h->f[i].nlen) == 0)
			return 0;
	return 1;
}

/* put_merged - field i and every later field of its name as one field; O(header) */
static void
put_merged(struct buf *b, const struct hdr *h, int i)
{
	int n = 0;

	buf_append(b, h->f[i].start, h->f[i].nlen);
	buf_putc(b, ':');
	for (int k = i; k < h->n; k++) {
		size_t s = 0, e = h->f[k].vlen;

		if (h->f[k].nlen != h->f[i].nlen ||
		    strncasecmp(h->f[k].start, h->f[i].start, h->f[i].nlen) != 0)
			continue;
		while (s < e && (h->f[k].value[s] == ' ' || h->f[k].value[s] == '\t'))
			s++;
		if (s == e)
			continue;
		buf_puts(b, n++ ? ",\r\n " : " ");
		buf_append(b, h->f[k].value + s, e - s);
	}
	buf_puts(b, "\r\n");
}

/*
 * build - the distributed copy: header section rebuilt, body verbatim plus
 * footer. O(len), plus first_of_name's bounded O(fields^2) name checks.
 */
static void
build(const struct transform_in *in, const struct hdr *h, const struct mailmime *body,
    enum footer_how how, struct transform_out *out)
{
	struct buf *b = &out->rendered;
	const char *bodyp = in->msg + h->body_off;
	size_t blen = in->len - h->body_off;
	char bnd[RENDER_BOUNDARY], *mb;

	int munge = in->list->munge_from && !in->intact;
	/* a delayed list's copy is dated when it goes out (in->received is then the release time) */
	int restamp = (in->list->jitter_max > 0 || in->list->batch > 0) && !in->intact;

	for (int i = 0; i < h->n; i++) {
		if (in_list(&h->f[i], drop_fields) && !(in->intact && hdr_is(&h->f[i], "Subject")))
			continue;
		if (!first_of_name(h, i) && (in_list(&h->f[i], single_fields) ||
		    in_list(&h->f[i], merged_fields)))
			continue;
		if (in_list(&h->f[i], merged_fields)) {
			put_merged(b, h, i);
			continue;
		}
		if (munge && hdr_is(&h->f[i], "From"))
			continue;
		if (hdr_is(&h->f[i], "From")) {
			put_from(b, &h->f[i], out);
			continue;
		}
		if (!in->authored && in_list(&h->f[i], followup_fields))
			continue;
		if (restamp && hdr_is(&h->f[i], "Date"))
			continue;
		/* an author signature stays only where the member's own key made it (checked before) */
		if (hdr_is(&h->f[i], "Mlist-Author-Signature") && !in->intact)
			continue;
		if (how == FOOT_WRAP && in_list(&h->f[i], content_fields))
			continue;
		hdr_put(b, &h->f[i]);
	}
	if (munge)
		munged_from(in, h, b);
	else if (!hdr_get(h, "From"))
		/* RFC 5322 wants one, and a signature should cover one: the list, not a guess */
		unnamed_from(in, b);
	if (!in->intact)
		list_subject(in, h, b);
	if (restamp || !hdr_get(h, "Date"))
		(void)render_date(b, in->received);
	if (!hdr_get(h, "Message-ID"))
		buf_printf(b, "Message-ID: <%s.%s@%s>\r\n", in->qid, in->list->name, in->cfg->hostname);
	render_list_headers(in->cfg, in->list, b);
	if (how == FOOT_WRAP) {
		render_boundary("mlistd", bnd, sizeof(bnd));
		(void)render_mixed(b, bnd);
		preamble(in, b);
		buf_printf(b, "--%s\r\n", bnd);
		for (int i = 0; i < h->n; i++)
			if (in_list(&h->f[i], content_fields) && !hdr_is(&h->f[i], "MIME-Version")) {
				buf_append(b, h->f[i].start, h->f[i].len);
				if (h->f[i].start[h->f[i].len - 1] != '\n')
					buf_puts(b, "\r\n");
			}
		buf_puts(b, "\r\n");
		buf_append(b, bodyp, blen);
		if (blen && bodyp[blen - 1] != '\n')
			buf_puts(b, "\r\n");
		footer_part(in, b, bnd);
		buf_printf(b, "--%s--\r\n", bnd);
		out->footer = 1;
		return;
	}
	buf_puts(b, "\r\n");
	if (how == FOOT_MIXED_PART && body &&
	    (mb = mailmime_content_param_get(body->mm_content_type, "boundary")) != NULL) {
		/* splice a part in before the closing delimiter "--boundary--" */
		size_t ml = strlen(mb), i, close = (size_t)-1;

		for (i = 0; i + ml + 4 <= blen; i++)
			if ((i == 0 || bodyp[i - 1] == '\n') && bodyp[i] == '-' && bodyp[i + 1] == '-' &&
			    memcmp(bodyp + i + 2, mb, ml) == 0 && bodyp[i + 2 + ml] == '-' &&
			    bodyp[i + 3 + ml] == '-')
				close = i;
		if (close != (size_t)-1) {
			buf_append(b, bodyp, close);
			footer_part(in, b, mb);
			buf_append(b, bodyp + close, blen - close);
			out->footer = 1;
			return;
		}
	}
	buf_append(b, bodyp, blen);
	if (how == FOOT_APPEND) {
		if (blen && bodyp[blen - 1] != '\n')
			buf_puts(b, "\r\n");
		buf_puts(b, "-- \r\n");
		(void)render_text(b, in->list->footer);
		out->footer = 1;
	}
}

/*
 * soft_break - the length of a quoted-printable soft line break at s
 * ("=" CRLF, or "=" LF), 0 if there is none there
 */
static size_t
soft_break(const char *s, const char *end)
{
	if (s >= end || *s != '=')
		return 0;
	if (end - s >= 3 && s[1] == '\r' && s[2] == '\n')
		return 3;
	return end - s >= 2 && s[1] == '\n' ? 2 : 0;
}

/*
 * qp_match - does pre stand at s, with soft line breaks anywhere in it
 * (a quoted-printable part wraps a long link at 76 columns: round 9b,
 * finding 1)? Where it ends into *after
 */
static int
qp_match(const char *s, const char *end, const char *pre, char **after)
{
	size_t k;

	while (*pre) {
		if ((k = soft_break(s, end)) > 0) {
			s += k;
			continue;
		}
		if (s >= end || *s != *pre)
			return 0;
		s++;
		pre++;
	}
	*after = (char *)s;
	return 1;
}

/*
 * hide_token - the KEYS_ONECLICK_LEN hex digits at s (if they are, soft
 * line breaks between them) made "x": a link the endpoint knows as no
 * member's (same length, so that no line or structure of the copy
 * changes)
 */
static void
hide_token(char *s, const char *end)
{
	char *at[KEYS_ONECLICK_LEN];
	size_t i, k;

	for (i = 0; i < KEYS_ONECLICK_LEN; i++) {
		while ((k = soft_break(s, end)) > 0)
			s += k;
		if (s >= end || !isxdigit((unsigned char)*s))
			return;
		at[i] = s++;
	}
	for (i = 0; i < KEYS_ONECLICK_LEN; i++)
		*at[i] = 'x';
}

/*
 * hide_after - hide_token after every occurrence of pre in b from off,
 * as it stands or wrapped by quoted-printable; O(len |pre|) at worst
 */
static void
hide_after(struct buf *b, size_t off, const char *pre)
{
	char *s = (char *)b->data + off, *end = (char *)b->data + b->len;
	char *after;

	while (*pre && s < end &&
	    (s = memchr(s, *pre, (size_t)(end - s))) != NULL) {
		if (qp_match(s, end, pre, &after))
			hide_token(after, end);
		s++;
	}
}

/*
 * hide_links - hide_after for both forms of the one-click link (the
 * https form and the mailto form, as delivery/deliver.c writes them;
 * hide_token takes its hex digits in either case, as the endpoint does)
 */
static void
hide_links(const struct transform_in *in, struct buf *b, size_t off)
{
	char pre[600];

	if (snprintf(pre, sizeof(pre), "%s%s/", in->list->one_click_url,
	    in->list->name) < (int)sizeof(pre))
		hide_after(b, off, pre);
	if (snprintf(pre, sizeof(pre), "%s-unsubscribe+",
	    in->list->name) < (int)sizeof(pre))
		hide_after(b, off, pre);
}

/* links_on - does the list give members one-click links at all? */
static int
links_on(const struct transform_in *in)
{
	return in->list->one_click_url && *in->list->one_click_url;
}

/*
 * own_links - a member's own one-click link inside the body (a copy
 * forwarded as an attachment keeps its List-Unsubscribe; a link pasted)
 * would let every member, and every reader of the archive, remove that
 * member with one POST (round 9, finding 3): hidden in the copy, both
 * the https form and the mailto form, as they stand or wrapped by
 * quoted-printable (inside base64 parts: b64_links, before the copy is
 * built). The copy's own header gets its link per member at delivery.
 */
static void
own_links(const struct transform_in *in, struct buf *b)
{
	const char *head;

	if (!links_on(in) || b->len == 0 ||
	    (head = memmem(b->data, b->len, "\r\n\r\n", 4)) == NULL)
		return;
	hide_links(in, b, (size_t)(head - (const char *)b->data));
}

static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * b64_val - the 6 bits of a base64 character, -1 for any other byte: its
 * place in the alphabet the encoder writes with, so both read one table
 */
static int
b64_val(unsigned char c)
{
	const char *at = c ? memchr(b64_alpha, c, 64) : NULL;

	return at ? (int)(at - b64_alpha) : -1;
}

/*
 * b64_decode - the alphabet characters of t, decoded into out (line
 * breaks, blanks and padding skipped, as clients do); -1 if they do not
 * make whole bytes. O(n). Not sodium_base642bin: it refuses what clients
 * read (a stray byte, non-zero bits after the last byte), and a part a
 * client opens must be the part searched; b64_write counts the same
 * characters as this.
 */
static int
b64_decode(const char *t, size_t n, struct buf *out)
{
	unsigned int acc = 0;
	size_t k = 0;
	int v;

	buf_reset(out);
	if (buf_reserve(out, n / 4 * 3 + 3) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if ((v = b64_val((unsigned char)t[i])) < 0)
			continue;
		acc = acc << 6 | (unsigned int)v;
		if (++k % 4 == 0)
			for (int s = 16; s >= 0; s -= 8)
				out->data[out->len++] = (acc >> s) & 0xff;
	}
	if (k % 4 == 1)
		return -1;
	if (k % 4 == 2)		/* 12 bits left: one byte */
		out->data[out->len++] = (acc >> 4) & 0xff;
	if (k % 4 == 3) {	/* 18 bits left: two bytes */
		out->data[out->len++] = (acc >> 10) & 0xff;
		out->data[out->len++] = (acc >> 2) & 0xff;
	}
	return 0;
}

/* b64_char - base64 character c (0-3) of the group at byte g of d */
static char
b64_char(const unsigned char *d, size_t len, size_t g, int c)
{
	unsigned int v = 0;

	for (size_t i = 0; i < 3; i++)
		v = v << 8 | (g + i < len ? d[g + i] : 0);
	return b64_alpha[(v >> (18 - 6 * c)) & 63];
}

/*
 * b64_write - the characters of t whose group of three bytes changed
 * (was, now: the decoded bytes before and after) written again in
 * place: every other byte of the part, its line breaks and padding,
 * stays as it was. O(n)
 */
static void
b64_write(char *t, size_t n, const struct buf *was, const struct buf *now)
{
	size_t k = 0, g;

	for (size_t i = 0; i < n; i++) {
		if (b64_val((unsigned char)t[i]) < 0)
			continue;
		g = k / 4 * 3;
		if (g < now->len && memcmp(was->data + g, now->data + g,
		    now->len - g < 3 ? now->len - g : 3) != 0)
			t[i] = b64_char(now->data, now->len, g, (int)(k % 4));
		k++;
	}
}

/* b64_ctx - one walk of b64_links */
struct b64_ctx {
	const struct transform_in	*in;
	const char			*tree;	/* what the tree points into */
	struct buf			*copy;	/* in->msg, edited; empty: none */
	size_t				 from;	/* where the next part is sought */
	struct buf			 was, now;
};

/*
 * b64_at - where the part's text t (in the tree's bytes) stands in the
 * post: the same offset, or (the tree read a body mimefix changed, which
 * copies a part's lines as they are, in order) the next place it occurs
 */
static char *
b64_at(struct b64_ctx *c, const char *t, size_t n)
{
	const char *m = (const char *)c->copy->data, *p;

	if (c->tree == c->in->msg)
		return (char *)m + (t - c->tree);
	if (c->from > c->in->len ||
	    (p = memmem(m + c->from, c->in->len - c->from, t, n)) == NULL)
		return NULL;
	c->from = (size_t)(p - m) + n;
	return (char *)p;
}

/*
 * b64_part - a base64 part's text decoded, the links hidden in it, and
 * written again only if one was: a part without one stays byte for byte
 */
static void
b64_part(struct b64_ctx *c, const struct mailmime_data *d)
{
	char *t;

	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT ||
	    b64_decode(d->dt_data.dt_text.dt_data,
	    d->dt_data.dt_text.dt_length, &c->was) < 0)
		return;
	buf_reset(&c->now);
	if (buf_append(&c->now, c->was.data, c->was.len) < 0)
		return;
	hide_links(c->in, &c->now, 0);
	if (c->now.len == 0 || memcmp(c->was.data, c->now.data,
	    c->now.len) == 0)
		return;
	if (c->copy->len == 0 &&
	    buf_append(c->copy, c->in->msg, c->in->len) < 0)
		return;
	if ((t = b64_at(c, d->dt_data.dt_text.dt_data,
	    d->dt_data.dt_text.dt_length)) != NULL)
		b64_write(t, d->dt_data.dt_text.dt_length, &c->was, &c->now);
}

/*
 * b64_walk - every base64 leaf of the (checked) tree: a part's text is
 * decoded once, and the parts do not overlap (a message/rfc822 part in
 * base64 is one leaf, not followed into what libetpan made of it)
 */
static void
b64_walk(struct b64_ctx *c, const struct mailmime *m)
{
	clistiter *it;

	if (m->mm_type != MAILMIME_MULTIPLE &&
	    encoding(m) == MAILMIME_MECHANISM_BASE64) {
		b64_part(c, m->mm_body);
		return;
	}
	if (m->mm_type == MAILMIME_MULTIPLE &&
	    m->mm_data.mm_multipart.mm_mp_list)
		for (it = clist_begin(m->mm_data.mm_multipart.mm_mp_list); it;
		    it = clist_next(it))
			b64_walk(c, clist_content(it));
	if (m->mm_type == MAILMIME_MESSAGE && m->mm_data.mm_message.mm_msg_mime)
		b64_walk(c, m->mm_data.mm_message.mm_msg_mime);
}

/*
 * b64_links - own_links inside base64 parts (a saved copy attached as a
 * file: round 9b, finding 1): the post with the links of those parts
 * hidden into copy (left empty if there was none). Linear in the size
 * of the message: each part decoded once, searched as own_links does,
 * written again in place (same length) only where a link was hidden.
 */
static void
b64_links(const struct transform_in *in, const char *tree,
    const struct mailmime *mime, struct buf *copy)
{
	struct b64_ctx c = { in, tree, copy, 0, { 0 }, { 0 } };

	if (!links_on(in))
		return;
	buf_init(&c.was, 0);
	buf_init(&c.now, 0);
	b64_walk(&c, mime);
	buf_free(&c.was);
	buf_free(&c.now);
}

/*
 * next_msgid - the next well-formed <id> of a header value from *p: 1 (at
 * *id, *len bytes long), 0 none left
 */
static int
next_msgid(const char **p, const char **id, int *len)
{
	const char *a, *q;

	while ((a = strchr(*p, '<')) != NULL && (q = strchr(a, '>')) != NULL) {
		int ok = q - a > 2 && q - a < 250;

		for (const char *c = a + 1; ok && c < q; c++)
			ok = *c > 32 && *c < 127 && *c != '<';
		*p = q + 1;
		if (ok) {
			*id = a;
			*len = (int)(q - a + 1);
			return 1;
		}
	}
	return 0;
}

/*
 * msgids - the <id> tokens of a Message-ID, In-Reply-To or References
 * value: the first max, or with max MSGID_CHAIN those a long chain keeps
 * (its root and its most recent, msgid_chain_kept); O(value)
 */
static void
msgids(const char *v, struct buf *out, int max)
{
	const char *p = v, *id;
	int len, n = 0, k = 0;

	if (v == NULL)
		return;
	while (max == MSGID_CHAIN && next_msgid(&p, &id, &len))
		n++;
	p = v;
	for (int i = 0; k < max && next_msgid(&p, &id, &len); i++)
		if (max != MSGID_CHAIN || msgid_chain_kept(i, n))
			buf_printf(out, "%s%.*s", k++ ? " " : "", len, id);
}

/*
 * comment_name - the old form "addr (Full Name)": libetpan drops comments,
 * so the name in the first parenthesised comment, RFC 2047-decoded
 */
static void
comment_name(const char *value, struct buf *out)
{
	const char *o = value ? strchr(value, '(') : NULL, *c;
	char *raw, *dec = NULL;
	size_t j = 0;

	if (!o || !(c = strchr(o, ')')) || c - o < 2 || (raw = strndup(o + 1, (size_t)(c - o - 1))) == NULL)
		return;
	if (mailmime_encoded_phrase_parse("iso-8859-1", raw, strlen(raw), &j, "utf-8", &dec) ==
	    MAILIMF_NO_ERROR && dec)
		buf_puts(out, dec);
	else
		buf_puts(out, raw);
	free(dec);
	free(raw);
}

/* display_name - the From display name as UTF-8 ("" if none), either form */
static void
display_name(const char *value, struct buf *out)
{
	struct mailimf_mailbox_list *mb = NULL;
	struct mailimf_mailbox *box;
	size_t idx = 0, j = 0;
	char *dec = NULL;

	if (!value || mailimf_mailbox_list_parse(value, strlen(value), &idx, &mb) != MAILIMF_NO_ERROR) {
		comment_name(value, out);
		return;
	}
	if (clist_begin(mb->mb_list) && (box = clist_content(clist_begin(mb->mb_list)))->mb_display_name) {
		if (mailmime_encoded_phrase_parse("iso-8859-1", box->mb_display_name,
		    strlen(box->mb_display_name), &j, "utf-8", &dec) == MAILIMF_NO_ERROR && dec)
			buf_puts(out, dec);
		else
			buf_puts(out, box->mb_display_name);
		free(dec);
	}
	mailimf_mailbox_list_free(mb);
	if (out->len == 0)
		comment_name(value, out);
}

/*
 * parse_checked - a message found inside a part (an encoded forwarded
 * one, decoded): screened, parsed and range-checked like the post itself
 */
static int
parse_checked(const char *m, size_t n, struct mailmime **tree)
{
	struct transform_in pin;
	char why[160];
	size_t idx = 0;
	int parts = 0;

	*tree = NULL;
	memset(&pin, 0, sizeof(pin));
	pin.msg = m;
	pin.len = n;
	if (transform_screen(m, n, why, sizeof(why)) < 0 ||
	    mailmime_parse(m, n, &idx, tree) != MAILIMF_NO_ERROR || !*tree)
		return -1;
	if (check_tree(&pin, *tree, 0, &parts, why, sizeof(why)) < 0) {
		mailmime_free(*tree);
		*tree = NULL;
		return -1;
	}
	return 0;
}

/* anon_parts - what the identity stage needs to build a pseudonymous copy */
static void
anon_parts(const struct transform_in *in, const struct hdr *h, const struct mailmime *body,
    struct transform_out *out)
{
	struct rewrite_opts o = { in->cfg->hostname, in->list->html, in->list->strip_signature,
	    in->list->footer, parse_checked, NULL };
	struct rewrite_result r;
	struct buf emptied;
	char *v, *dec = NULL;
	size_t j = 0;

	buf_init(&emptied, 0);
	if (notice_piece(in->list->notices, in->cfg->notices,
	    PIECE_FORWARD_EMPTIED, &(struct notice_ctx){ in->list->name,
	    in->cfg->hostname }, NULL, &emptied) == 0)
		o.emptied = buf_cstr(&emptied);

	subject(in, h, &out->part[TP_SUBJECT]);
	if ((v = hdr_get_value(h, "In-Reply-To")) != NULL)
		msgids(v, &out->part[TP_REFS], 5);
	free(v);
	buf_putc(&out->part[TP_REFS], '\n');
	if ((v = hdr_get_value(h, "References")) != NULL)
		msgids(v, &out->part[TP_REFS], MSGID_CHAIN);
	free(v);
	if ((v = hdr_get_value(h, "Message-ID")) != NULL)
		msgids(v, &out->part[TP_MSGID], 1);
	free(v);
	v = hdr_get_value(h, "From");
	display_name(v, &out->part[TP_FROMNAME]);
	free(v);
	memset(&r, 0, sizeof(r));
	r.entity = out->part[TP_BODY];
	r.scan = out->part[TP_SCAN];
	r.removed = out->part[TP_REMOVED];
	if ((v = hdr_get_value(h, "Subject")) != NULL) {
		if (mailmime_encoded_phrase_parse("iso-8859-1", v, strlen(v), &j, "utf-8", &dec) == MAILIMF_NO_ERROR &&
		    dec)
			buf_puts(&r.scan, dec);
		free(dec);
		buf_putc(&r.scan, '\n');
		free(v);
	}
	if (rewrite_body(body, &o, &r) == 1)
		buf_puts(&out->part[TP_EMPTY], "1");
	buf_puts(&out->part[TP_DOCUMENT], r.document);
	out->part[TP_BODY] = r.entity;
	out->part[TP_SCAN] = r.scan;
	out->part[TP_REMOVED] = r.removed;
	out->remote = r.remote;
	buf_free(&emptied);
}

/*
 * parse_as_read - the post (pin) parsed as clients read it, mimefix's
 * repairs first (into fixed), and checked: 0, or -1 with the reason
 */
static int
parse_as_read(const struct hdr *h, struct transform_in *pin,
    struct buf *fixed, struct mailmime **mime, struct transform_out *out)
{
	size_t idx = 0;
	int parts = 0;
	char *ctv;

	buf_reset(fixed);
	ctv = hdr_get_value(h, "Content-Type");
	if (mimefix(pin->msg, pin->len, h->body_off, ctv, fixed) == 1 &&
	    fixed->data) {
		pin->msg = (const char *)fixed->data;
		pin->len = fixed->len;
	}
	free(ctv);
	if (mailmime_parse(pin->msg, pin->len, &idx, mime) !=
	    MAILIMF_NO_ERROR || *mime == NULL) {
		snprintf(out->reason, sizeof(out->reason), "%s", BROKEN);
		return -1;
	}
	return check_tree(pin, *mime, 0, &parts, out->reason,
	    sizeof(out->reason));
}

/*
 * blank_post - the post with its members' one-click links hidden
 * (own_links' forms, b64_links) into blanked, and parsed again from it
 * when one was: a pseudonymous copy is written anew from the tree
 * (anon_parts), so hiding them in the rendered copy alone handed a
 * forwarder's link to every member (round 10, finding 1). blanked stays
 * empty when there was none. 0, or -1 with the reason.
 */
static int
blank_post(const struct transform_in *in, const struct hdr *h,
    struct transform_in *pin, struct buf *fixed, struct buf *blanked,
    struct mailmime **mime, struct transform_out *out)
{
	if (!links_on(in))
		return 0;
	b64_links(in, pin->msg, *mime, blanked);
	if (blanked->len == 0 && buf_append(blanked, in->msg, in->len) < 0)
		return -1;
	hide_links(in, blanked, h->body_off);
	if (memcmp(blanked->data, in->msg, in->len) == 0) {
		buf_reset(blanked);
		return 0;
	}
	mailmime_free(*mime);
	*mime = NULL;
	*pin = *in;
	pin->msg = (const char *)blanked->data;
	pin->len = blanked->len;
	return parse_as_read(h, pin, fixed, mime, out);
}

/*
 * transform_post - check, parse and render one post. Every pass is O(len)
 * (see each function; bench/hostile measures them at 1, 2, 4, 8x size).
 */
enum result
transform_post(const struct transform_in *in, struct transform_out *out)
{
	struct mailmime *mime = NULL, *body = NULL;
	struct transform_in pin, bin;
	struct buf fixed, blanked;
	struct hdr h;
	char ct[128] = "", *from;
	enum result r = PERMFAIL;

	memset(out, 0, sizeof(*out));
	buf_init(&fixed, 0);
	buf_init(&blanked, 0);
	buf_init(&out->rendered, (size_t)in->len * 2 + 65536);
	for (int i = 0; i < TP_N; i++)
		buf_init(&out->part[i], (size_t)in->len * 4 + 65536);
	if (hdr_parse(in->msg, in->len, &h) < 0)
		return snprintf(out->reason, sizeof(out->reason), "out of memory"), TEMPFAIL;
	if (h.truncated) {
		/* never a copy of part of a header: what is past the limit would go out unfiltered */
		snprintf(out->reason, sizeof(out->reason),
		    "@too-many-fields\tmax=%d", HDR_MAX_FIELDS);
		goto done;
	}
	if (transform_screen(in->msg, in->len, out->reason, sizeof(out->reason)) < 0)
		goto done;
	/* parsed as clients read it; a real copy is still the original bytes */
	pin = *in;
	if (parse_as_read(&h, &pin, &fixed, &mime, out) < 0)
		goto done;
	/* an intact post's body is the author's signed one: as it is */
	if (!in->intact &&
	    blank_post(in, &h, &pin, &fixed, &blanked, &mime, out) < 0) {
		if (!*out->reason)
			snprintf(out->reason, sizeof(out->reason),
			    "out of memory");
		r = *out->reason == '@' ? PERMFAIL : TEMPFAIL;
		goto done;
	}
	if (mime->mm_type == MAILMIME_MESSAGE)
		body = mime->mm_data.mm_message.mm_msg_mime;
	if (body)
		rewrite_type_name(body->mm_content_type, ct, sizeof(ct));
	from = hdr_get_value(&h, "From");
	first_mailbox(from, out->from, sizeof(out->from));
	free(from);
	if (*out->from == 0 && (h.n == 0 || hdr_get(&h, "From"))) {
		/* RFC 5322 requires one; a copy without it would be signed with no author to show */
		snprintf(out->reason, sizeof(out->reason), "@no-from");
		goto done;
	}
	flags(in, &h, ct, out);
	if (in->want_real || !in->want_anon) {
		bin = *in;
		if (blanked.len == in->len)
			bin.msg = (const char *)blanked.data;
		build(&bin, &h, body, in->intact ? FOOT_NONE :
		    footer_plan(in, body, ct), out);
	}
	/* an intact post's body is the author's signed one: as it is */
	if ((in->want_real || !in->want_anon) && !in->intact)
		own_links(in, &out->rendered);
	if (in->want_anon)
		anon_parts(in, &h, body, out);
	r = OK;
done:
	if (mime)
		mailmime_free(mime);
	buf_free(&fixed);
	buf_free(&blanked);
	hdr_free(&h);
	return r;
}

/* transform_out_free - release */
void
transform_out_free(struct transform_out *out)
{
	buf_free(&out->rendered);
	for (int i = 0; i < TP_N; i++)
		buf_free(&out->part[i]);
}
