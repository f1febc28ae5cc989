/*
 * mimefix.c - broken MIME structure read the way mail clients read it,
 * before libetpan parses it (libetpan loses parts that clients show).
 *
 * One pass over the body's lines with a stack of the open multiparts'
 * boundaries (at most MIMEFIX_DEPTH):
 *  - a multipart whose closing delimiter never comes ends where an outer
 *    delimiter comes, or at the end of the message: the closing lines are
 *    written in (a last part left empty, "--b" at the very end, is
 *    closed instead);
 *  - a delimiter line repeated with nothing between is one delimiter
 *    (clients show no empty part, libetpan showed the second as text);
 *  - a multipart with no delimiter line at all in its body is text, as
 *    clients show it: one text/plain part is put around it;
 *  - an inner multipart that reuses an outer one's boundary (Outlook
 *    Express did) gets a boundary of its own: its delimiter lines are
 *    the ones up to its closing line, as clients read them;
 *  - message/rfc822 parts (and a digest's entries, message/rfc822 by
 *    default: said so when the part header is empty) are followed into
 *    their own header.
 * Only the body is changed, never the top header; the copy that a
 * real-identity list sends is still the original. O(len * depth).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pipeline/mimefix.h"

#define MIMEFIX_DEPTH	20
#define BMAX		70
#define CTMAX		1024
/* text-as-multipart bodies wrapped (each wrap moves the rest of the copy) */
#define WRAPS_MAX	4

struct open_mp {
	char	 b[BMAX + 1];	/* as the message has it */
	size_t	 blen;
	char	 w[BMAX + 1];	/* as written (renamed if an outer one's) */
	size_t	 wlen;
	int	 digest;	/* its parts are message/rfc822 by default */
	int	 seen;		/* a delimiter line of it came */
	size_t	 body_out;	/* where its body starts in the output */
};

struct fix {
	struct open_mp	 st[MIMEFIX_DEPTH];
	int		 n;
	struct buf	*out;
	int		 changed;
	int		 wraps;
	/* output length just after the last opening delimiter, of delim_of */
	size_t		 after_delim;
	int		 delim_of;	/* -1: none */
	/* the part header being read */
	int		 in_header;
	int		 parent_digest;
	char		 ct[CTMAX];
	size_t		 ctlen;
	char		 cte[64];
	int		 field;		/* 1 Content-Type, 0 another */
};

/* what may stand around a parameter (a top header's value may be folded) */
#define BLANK	" \t\r\n"

/*
 * param_boundary - the boundary parameter of a Content-Type value; 0 if
 * none. Read as clients read parameters: after a ';' outside any quoted
 * string, a name (blanks allowed around '='), a token or a quoted string
 * with its backslash escapes; so "x_boundary=" or a "boundary=" inside
 * another parameter's quoted value is not the boundary (a decoy there
 * made this stage read a structure the clients do not see). O(len).
 */
static int
param_boundary(const char *v, char *b, size_t n)
{
	const char *p = v, *name;
	size_t k;
	int q = 0;

	for (;; p++) {
		if (*p == 0)
			return 0;
		if (*p == '"')
			q = !q;
		else if (*p == '\\' && q && p[1])
			p++;
		else if (*p == ';' && !q) {
			for (p++; *p && strchr(BLANK, *p); p++)
				;
			name = p;
			while (*p && !strchr(BLANK "=;\"", *p))
				p++;
			k = (size_t)(p - name);
			while (*p && strchr(BLANK, *p))
				p++;
			if (k == 8 && strncasecmp(name, "boundary", 8) == 0 &&
			    *p == '=')
				break;
			p--;	/* the loop reads what stopped the name */
		}
	}
	for (p++; *p && strchr(BLANK, *p); p++)
		;
	k = 0;
	if (*p == '"')
		for (p++; *p && *p != '"' && k + 1 < n; p++) {
			if (*p == '\\' && p[1])
				p++;
			b[k++] = *p;
		}
	else
		for (; *p && !strchr(BLANK ";", *p) && k + 1 < n; p++)
			b[k++] = *p;
	b[k] = 0;
	return k > 0;
}

/* type_is - does the Content-Type value start with type (case-insensitive)? */
static int
type_is(const char *v, const char *type)
{
	while (*v == ' ' || *v == '\t')
		v++;
	return strncasecmp(v, type, strlen(type)) == 0;
}

/* put - copy a line to the output */
static void
put(struct fix *f, const char *s, size_t n)
{
	buf_append(f->out, s, n);
}

/* put_delim - a delimiter line, with the boundary as it is written */
static void
put_delim(struct fix *f, const struct open_mp *o, const char *s, size_t n)
{
	if (o->wlen == o->blen && memcmp(o->w, o->b, o->blen) == 0) {
		put(f, s, n);
		return;
	}
	buf_puts(f->out, "--");
	buf_append(f->out, o->w, o->wlen);
	put(f, s + 2 + o->blen, n - 2 - o->blen);
}

/* reused - is the innermost boundary also an outer one's? */
static int
reused(const struct fix *f)
{
	const struct open_mp *top = &f->st[f->n - 1];

	for (int k = 0; k < f->n - 1; k++)
		if (f->st[k].blen == top->blen &&
		    memcmp(f->st[k].b, top->b, top->blen) == 0)
			return 1;
	return 0;
}

/*
 * rename_top - the innermost multipart gets a boundary of its own, in the
 * header just written (its last boundary= value, in the part's header:
 * from the last delimiter on) and in every delimiter line from now on
 */
static void
rename_top(struct fix *f)
{
	struct open_mp *o = &f->st[f->n - 1];
	struct buf *b = f->out;
	size_t from = f->after_delim, i, v = 0, k, keep;
	char nw[BMAX + 1];
	int found = 0;

	keep = o->blen < BMAX - 10 ? o->blen : BMAX - 10;
	snprintf(nw, sizeof(nw), "%.*s=_mlistd%d", (int)keep, o->b, f->n);
	if (b->data == NULL || from > b->len)
		return;
	for (i = from; i + 8 < b->len; i++)
		if (strncasecmp((const char *)b->data + i, "boundary", 8) ==
		    0) {
			for (k = i + 8; k < b->len && b->data[k] &&
			    strchr(" \t=\"", b->data[k]); k++)
				;
			if (k + o->blen <= b->len &&
			    memcmp(b->data + k, o->b, o->blen) == 0) {
				v = k;
				found = 1;
			}
		}
	if (!found || buf_reserve(b, b->len + strlen(nw)) < 0)
		return;
	/* the value is in the header just written: what follows is short */
	memmove(b->data + v + strlen(nw), b->data + v + o->blen,
	    b->len - v - o->blen);
	memcpy(b->data + v, nw, strlen(nw));
	b->len = b->len + strlen(nw) - o->blen;
	memcpy(o->w, nw, strlen(nw) + 1);
	o->wlen = strlen(nw);
	f->changed = 1;
}

/*
 * header_end - the part header is over: what its body is. A multipart
 * opens a level; a message (or a digest's entry with no type) has a
 * header of its own next; anything else is content.
 */
static void
header_end(struct fix *f)
{
	char b[BMAX + 2];
	int encoded = *f->cte && strncasecmp(f->cte, "7bit", 4) &&
	    strncasecmp(f->cte, "8bit", 4) && strncasecmp(f->cte, "binary", 6);

	f->ct[f->ctlen] = 0;
	f->in_header = 0;
	if (type_is(f->ct, "multipart/") &&
	    param_boundary(f->ct, b, sizeof(b)) && strlen(b) <= BMAX &&
	    f->n < MIMEFIX_DEPTH) {
		struct open_mp *o = &f->st[f->n++];

		memset(o, 0, sizeof(*o));
		o->blen = strlen(b);		/* <= BMAX: checked above */
		memcpy(o->b, b, o->blen + 1);
		memcpy(o->w, b, o->blen + 1);
		o->wlen = o->blen;
		if (reused(f))
			rename_top(f);
		o->digest = type_is(f->ct, "multipart/digest");
		o->body_out = f->out->len;
	} else if (!encoded && (type_is(f->ct, "message/rfc822") ||
	    type_is(f->ct, "message/global") ||
	    (f->ctlen == 0 && f->parent_digest))) {
		/* the forwarded message's own header */
		f->in_header = 1;
		f->parent_digest = 0;
	}
	f->ctlen = 0;
	f->cte[0] = 0;
	f->field = 0;
}

/* header_line - one line of a part header (CRLF stripped: s, n) */
static void
header_line(struct fix *f, const char *s, size_t n)
{
	size_t k;

	if (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
		if (f->field == 1)
			for (k = 0; k < n && f->ctlen + 1 < CTMAX; k++)
				f->ct[f->ctlen++] = s[k];
		return;
	}
	f->field = 0;
	if (n >= 13 && strncasecmp(s, "Content-Type:", 13) == 0) {
		f->field = 1;
		f->ctlen = 0;
		for (k = 13; k < n && f->ctlen + 1 < CTMAX; k++)
			f->ct[f->ctlen++] = s[k];
	} else if (n >= 26 &&
	    strncasecmp(s, "Content-Transfer-Encoding:", 26) == 0) {
		for (k = 26; k < n && (s[k] == ' ' || s[k] == '\t'); k++)
			;
		snprintf(f->cte, sizeof(f->cte), "%.*s", (int)(n - k), s + k);
	}
}

/* wrap_text - a multipart with no delimiter: its body becomes one text part */
static void
wrap_text(struct fix *f, struct open_mp *o)
{
	char pre[BMAX + 64];
	int pl;
	struct buf *b = f->out;

	if (f->wraps >= WRAPS_MAX || o->body_out > b->len)
		return;
	pl = snprintf(pre, sizeof(pre),
	    "--%s\r\nContent-Type: text/plain\r\n\r\n", o->w);
	if (pl < 0 || (size_t)pl >= sizeof(pre) ||
	    buf_reserve(b, b->len + (size_t)pl) < 0)
		return;
	memmove(b->data + o->body_out + pl, b->data + o->body_out,
	    b->len - o->body_out);
	memcpy(b->data + o->body_out, pre, (size_t)pl);
	b->len += (size_t)pl;
	o->seen = 1;
	f->wraps++;
	f->changed = 1;
}

/* close_top - write the innermost open multipart's missing closing line */
static void
close_top(struct fix *f)
{
	struct open_mp *o = &f->st[f->n - 1];
	struct buf *b = f->out;

	if (!o->seen)
		wrap_text(f, o);
	/* "--b\r\n" with nothing after it: that part was empty */
	if (f->delim_of == f->n - 1 && f->after_delim == b->len &&
	    b->len >= o->blen + 4)
		b->len -= o->blen + 4;
	else if (b->len && b->data[b->len - 1] != '\n')
		buf_puts(b, "\r\n");
	buf_printf(b, "--%s--\r\n", o->w);
	f->n--;
	f->delim_of = -1;
	f->changed = 1;
}

/*
 * delim - is the line a delimiter of an open multipart? Its stack index,
 * *closing set for "--b--"; -1 if not. Innermost first.
 */
static int
delim(const struct fix *f, const char *s, size_t n, int *closing)
{
	for (int k = f->n - 1; k >= 0; k--) {
		const struct open_mp *o = &f->st[k];
		size_t i = o->blen + 2;

		if (n < i || s[0] != '-' || s[1] != '-' ||
		    memcmp(s + 2, o->b, o->blen) != 0)
			continue;
		*closing = n >= i + 2 && s[i] == '-' && s[i + 1] == '-';
		if (*closing)
			return k;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n)
			return k;
	}
	return -1;
}

/* delim_line - a delimiter of level k: close what is open inside it, then it */
static void
delim_line(struct fix *f, int k, int closing, const char *line, size_t len)
{
	while (f->n - 1 > k)
		close_top(f);
	if (closing) {
		if (!f->st[k].seen)
			wrap_text(f, &f->st[k]);
		put_delim(f, &f->st[k], line, len);
		f->n--;
		f->delim_of = -1;
		f->in_header = 0;
		return;
	}
	if (f->delim_of == k && f->after_delim == f->out->len) {
		f->changed = 1;	/* the same delimiter again, nothing between */
		return;
	}
	f->st[k].seen = 1;
	put_delim(f, &f->st[k], line, len);
	f->delim_of = k;
	f->after_delim = f->out->len;
	f->in_header = 1;
	f->parent_digest = f->st[k].digest;
	f->ctlen = 0;
	f->cte[0] = 0;
	f->field = 0;
}

/*
 * digest_entry - a digest's entry whose part header is empty (the entry's
 * own header follows the delimiter's blank line) says message/rfc822 in
 * so many words: libetpan otherwise read the entry's header as the part's
 * and lost its Subject and Date
 */
static void
digest_entry(struct fix *f)
{
	if (!f->parent_digest || f->delim_of < 0 ||
	    f->after_delim != f->out->len)
		return;
	buf_puts(f->out, "Content-Type: message/rfc822\r\n");
	f->changed = 1;
}

/*
 * mimefix - the message with its body's structure repaired into out;
 * 1 if anything changed (out then holds the whole message), 0 if not.
 * top_ct is the top header's Content-Type value (NULL: none).
 */
int
mimefix(const char *m, size_t len, size_t body_off, const char *top_ct,
    struct buf *out)
{
	struct fix f;
	size_t off = body_off, end, n;
	const char *nl;
	int k, closing;

	memset(&f, 0, sizeof(f));
	f.out = out;
	f.delim_of = -1;
	if (body_off > len)
		return 0;
	put(&f, m, body_off);
	if (top_ct) {
		snprintf(f.ct, sizeof(f.ct), "%s", top_ct);
		f.ctlen = strlen(f.ct);
	}
	header_end(&f);
	if (f.n == 0 && !f.in_header)
		return 0;	/* neither multipart nor a message: nothing */
	while (off < len) {
		nl = memchr(m + off, '\n', len - off);
		end = nl ? (size_t)(nl - m) + 1 : len;
		n = end - off;
		while (n > 0 &&
		    (m[off + n - 1] == '\n' || m[off + n - 1] == '\r'))
			n--;
		if (f.n > 0 && (k = delim(&f, m + off, n, &closing)) >= 0)
			delim_line(&f, k, closing, m + off, end - off);
		else {
			if (f.in_header && n == 0)
				digest_entry(&f);
			put(&f, m + off, end - off);
			/* once the blank line is out: a body starts after it */
			if (f.in_header && n == 0)
				header_end(&f);
			else if (f.in_header)
				header_line(&f, m + off, n);
		}
		off = end;
	}
	while (f.n > 0)
		close_top(&f);
	return f.changed;
}
