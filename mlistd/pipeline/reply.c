/*
 * reply.c - what a reply to a token says. The one place that decides
 * whether an answer confirms, approves, votes or vouches: every token
 * handler asks reply_says with the words it understands.
 *
 * The answer is the first line of the reply's own text: the text/plain
 * part (or, for an HTML-only reply, the text of its HTML outside any
 * blockquote), skipping blank lines, quoted lines (">"), attribution
 * lines ("On ... wrote:", a line ending in ":" before a quote) and stopping
 * at a signature ("-- ") or a quoted original (Outlook's "-----Original
 * Message-----" or a line of underscores). That line must be one of the
 * words, whole, case-insensitive, with at most "." or "!" after it (and,
 * for some words, an argument): "Approve? No", "yes please" or "I did not
 * send this" say nothing clear, and a reply that says nothing clear is
 * never a yes. When the text holds no line at all, the Subject of a new
 * mail (not a "Re:") stands in; a "WORD TOKEN" Subject, as sent to
 * -request, counts whatever the body says.
 *
 * reply_from is the one From mailbox of the reply, for comparing with the
 * person a token was sent to. Hostile input: everything is bounded, the
 * MIME walk included (depth, parts, text kept).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>
#include <sodium.h>

#include "mail/header.h"
#include "pipeline/reply.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/mem.h"

#define REPLY_TEXT_MAX	65536	/* of a reply's text, only its start matters */
#define REPLY_DEPTH	4	/* multipart nesting followed */
#define REPLY_PARTS	32	/* parts looked at per multipart */

const struct reply_word reply_confirm_words[] = {
	{ "confirm", REPLY_TOKEN }, { "yes", REPLY_BARE },
};
const struct reply_word reply_vote_words[] = {
	{ "approve", REPLY_BARE },
};
const struct reply_word reply_vouch_words[] = {
	{ "vouch", REPLY_TOKEN },
};

enum want { WANT_PLAIN, WANT_HTML };

/* qp_decode - quoted-printable text into out (soft breaks joined) */
static void
qp_decode(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] != '=') {
			(void)buf_putc(out, s[i]);
			continue;
		}
		if (i + 1 < n && s[i + 1] == '\n') {
			i++;
			continue;
		}
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (i + 2 < n && (hi = hex_digit(s[i + 1])) >= 0 &&
		    (lo = hex_digit(s[i + 2])) >= 0) {
			(void)buf_putc(out, hi * 16 + lo);
			i += 2;
		} else
			(void)buf_putc(out, '=');
	}
}

/* b64_decode - base64 text into out; a broken one gives nothing */
static void
b64_decode(const char *s, size_t n, struct buf *out)
{
	size_t got = 0;

	if (buf_reserve(out, out->len + n) < 0)
		return;
	if (sodium_base642bin(out->data + out->len, n, s, n, " \t\r\n", &got,
	    NULL, sodium_base64_VARIANT_ORIGINAL) == 0)
		out->len += got;
}

/* decode - the part's body by its Content-Transfer-Encoding */
static void
decode(const char *cte, const char *s, size_t n, struct buf *out)
{
	if (n > REPLY_TEXT_MAX)
		n = REPLY_TEXT_MAX;
	if (cte && strcasecmp(cte, "quoted-printable") == 0)
		qp_decode(s, n, out);
	else if (cte && strcasecmp(cte, "base64") == 0)
		b64_decode(s, n, out);
	else
		(void)buf_append(out, s, n);
}

/* tag_is - is the tag at t (after '<' and any '/') named name? */
static int
tag_is(const char *t, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n >= k && strncasecmp(t, name, k) == 0 &&
	    (n == k || !isalnum((unsigned char)t[k]));
}

/* html_tag - what one tag does to the text: a line break, a quote level */
static void
html_tag(const char *t, size_t n, int *quote, int *skip, struct buf *out)
{
	static const char *const breaks[] = { "br", "p", "div", "tr", "li",
	    "h1", "h2", "h3", "table" };
	int closing = n && *t == '/';

	if (closing) {
		t++;
		n--;
	}
	if (tag_is(t, n, "blockquote"))
		*quote += closing ? (*quote > 0 ? -1 : 0) : 1;
	else if (tag_is(t, n, "style") || tag_is(t, n, "script") ||
	    tag_is(t, n, "head") || tag_is(t, n, "title"))
		*skip = !closing;
	else if (tag_is(t, n, "hr"))
		(void)buf_puts(out, "\n__________\n");	/* Outlook's quote */
	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++)
		if (tag_is(t, n, breaks[i]))
			(void)buf_putc(out, '\n');
}

/*
 * html_text - the text of an HTML reply, as lines; what is inside a
 * blockquote (the quoted original) and in style/script is left out
 */
static void
html_text(const char *s, size_t n, struct buf *out)
{
	int quote = 0, skip = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '<') {
			const char *end = memchr(s + i, '>', n - i);
			size_t tl;

			if (!end)
				break;
			tl = (size_t)(end - (s + i)) - 1;
			html_tag(s + i + 1, tl, &quote, &skip, out);
			i = (size_t)(end - s);
		} else if (quote || skip) {
			continue;
		} else if (s[i] == '&' && n - i >= 6 &&
		    strncasecmp(s + i, "&nbsp;", 6) == 0) {
			(void)buf_putc(out, ' ');
			i += 5;
		} else if (s[i] == '\r' || s[i] == '\n') {
			/* HTML's lines are its tags */
			(void)buf_putc(out, ' ');
		} else
			(void)buf_putc(out, s[i]);
	}
}

static int part_text(const char *, size_t, enum want, int, struct buf *);

/* boundary - the boundary parameter of a Content-Type value, or 0 */
static int
boundary(const char *ct, char *b, size_t n)
{
	const char *p = strcasestr(ct, "boundary=");
	size_t k;

	if (!p)
		return 0;
	p += 9;
	if (*p == '"')
		k = strcspn(++p, "\"");
	else
		k = strcspn(p, " \t;");
	if (k == 0 || k >= n || k > 70)
		return 0;
	memcpy(b, p, k);
	b[k] = 0;
	return 1;
}

/* multipart_text - the first part of the kind wanted, in order */
static int
multipart_text(const char *m, size_t len, const char *b, enum want w,
    int depth, struct buf *out)
{
	size_t bl = strlen(b), off = 0, start = 0;
	int parts = 0, in = 0;

	while (off < len && parts < REPLY_PARTS) {
		const char *nl = memchr(m + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - m) + 1 : len;

		if (end - off >= bl + 2 && m[off] == '-' && m[off + 1] == '-' &&
		    memcmp(m + off + 2, b, bl) == 0) {
			/* the part before this line ends at its line break */
			if (in && off > start && part_text(m + start,
			    off - start, w, depth + 1, out))
				return 1;
			parts++;
			in = !(end - off >= bl + 4 && m[off + bl + 2] == '-' &&
			    m[off + bl + 3] == '-');
			start = end;
			if (!in)
				break;
		}
		off = end;
	}
	return 0;
}

/*
 * part_text - the text of a part (headers, then body) of the kind wanted
 * into out: 1 found, 0 none
 */
static int
part_text(const char *m, size_t len, enum want w, int depth, struct buf *out)
{
	struct hdr h;
	char *ct, *cte, *cd, b[80];
	int rc = 0, plain, html;

	if (depth > REPLY_DEPTH || hdr_parse(m, len, &h) < 0)
		return 0;
	ct = hdr_get_value(&h, "Content-Type");
	cte = hdr_get_value(&h, "Content-Transfer-Encoding");
	cd = hdr_get_value(&h, "Content-Disposition");
	plain = !ct || strncasecmp(ct, "text/plain", 10) == 0;
	html = ct && strncasecmp(ct, "text/html", 9) == 0;
	if (cd && strncasecmp(cd, "attachment", 10) == 0)
		rc = 0;
	else if (ct && strncasecmp(ct, "multipart/", 10) == 0)
		rc = boundary(ct, b, sizeof(b)) &&
		    multipart_text(m + h.body_off, len - h.body_off, b, w,
		    depth, out);
	else if ((w == WANT_PLAIN && plain) || (w == WANT_HTML && html)) {
		struct buf raw;

		buf_init(&raw, 0);
		decode(cte, m + h.body_off, len - h.body_off, &raw);
		if (html)
			html_text((const char *)raw.data, raw.len, out);
		else
			(void)buf_append(out, raw.data, raw.len);
		buf_free(&raw);
		rc = 1;
	}
	free(ct);
	free(cte);
	free(cd);
	hdr_free(&h);
	return rc;
}

/* trimmed - the line [*s, *s + *n) without the white space around it */
static void
trimmed(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* ends_with - does the line end in w (case-insensitive)? */
static int
ends_with(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);

	return n >= k && strncasecmp(s + n - k, w, k) == 0;
}

/* stops - a signature or a quoted original starts here: no answer below */
static int
stops(const char *s, size_t n)
{
	size_t u = 0;

	if ((n == 2 && memcmp(s, "--", 2) == 0) || (n >= 5 &&
	    memcmp(s, "-----", 5) == 0 && mem_has_ci(s, n, "original message")))
		return 1;
	while (u < n && s[u] == '_')
		u++;
	return u >= 8 && u == n;
}

struct line {
	const char	*s;
	size_t		 n;
};

/* next_line - the line after off in text (trimmed), its end in *off */
static int
next_line(const char *t, size_t len, size_t *off, struct line *l)
{
	const char *nl;
	size_t end;

	if (*off >= len)
		return 0;
	nl = memchr(t + *off, '\n', len - *off);
	end = nl ? (size_t)(nl - t) + 1 : len;
	l->s = t + *off;
	l->n = (nl ? (size_t)(nl - t) : len) - *off;
	*off = end;
	/* "-- " keeps its space before trimming: it is the delimiter */
	if (l->n >= 3 && memcmp(l->s, "-- ", 3) == 0 &&
	    (l->n == 3 || (l->n == 4 && l->s[3] == '\r')))
		l->n = 2;
	else
		trimmed(&l->s, &l->n);
	return 1;
}

/* next_is_quote - is the next non-blank line after off a quoted one? */
static int
next_is_quote(const char *t, size_t len, size_t off)
{
	struct line l;

	while (next_line(t, len, &off, &l))
		if (l.n)
			return *l.s == '>';
	return 0;
}

/*
 * attribution - "On ... wrote:" (also folded over two lines), or any line
 * ending in ":" before a quote; 1 skip this line, 2 this and the next
 */
static int
attribution(const char *t, size_t len, size_t off, const struct line *l)
{
	struct line nx;
	size_t o = off;

	if (l->n && l->s[l->n - 1] == ':' && (ends_with(l->s, l->n, "wrote:") ||
	    next_is_quote(t, len, off)))
		return 1;
	if (l->n > 3 && strncasecmp(l->s, "On ", 3) == 0 &&
	    next_line(t, len, &o, &nx) && ends_with(nx.s, nx.n, "wrote:"))
		return 2;
	return 0;
}

/* answer_line - the reply's answer line in text; 0 there is none */
static int
answer_line(const char *t, size_t len, struct line *out)
{
	struct line l, skip;
	size_t off = 0;
	int a;

	while (next_line(t, len, &off, &l)) {
		if (l.n == 0 || *l.s == '>')
			continue;
		if (stops(l.s, l.n))
			return 0;
		if ((a = attribution(t, len, off, &l)) != 0) {
			if (a == 2)
				(void)next_line(t, len, &off, &skip);
			continue;
		}
		*out = l;
		return 1;
	}
	return 0;
}

/* is_token - 40 hex digits, the form of every token the list sends */
static int
is_token(const char *s, size_t n)
{
	if (n != 40)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (hex_digit(s[i]) < 0)
			return 0;
	return 1;
}

/* only_marks - is the rest of the line nothing but "." and "!"? */
static int
only_marks(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '.' && s[i] != '!')
			return 0;
	return 1;
}

/*
 * match - is the line one of the words (index), whole? An argument the
 * word allows goes into arg. -1 no.
 */
static int
match(const struct line *l, const struct reply_word *w, size_t nw,
    int tokens_only, char *arg, size_t argn)
{
	const char *s = l->s;
	size_t n = l->n;

	/* "*confirm*": a plain-text alternative of a bold word */
	if (n > 2 && s[0] == '*' && s[n - 1] == '*') {
		s++;
		n -= 2;
	}
	for (size_t i = 0; i < nw; i++) {
		size_t k = strlen(w[i].word), r;
		const char *rest = s + k;

		if (n < k || strncasecmp(s, w[i].word, k) != 0)
			continue;
		r = n - k;
		if (!tokens_only && only_marks(rest, r)) {
			if (argn)
				arg[0] = 0;
			return (int)i;
		}
		if (w[i].arg == REPLY_BARE || r < 2 ||
		    !isspace((unsigned char)*rest))
			continue;
		while (r && isspace((unsigned char)*rest)) {
			rest++;
			r--;
		}
		if (w[i].arg == REPLY_TOKEN ? !is_token(rest, r) : tokens_only)
			continue;
		if (argn)
			snprintf(arg, argn, "%.*s", (int)(r < argn ? r :
			    argn - 1), rest);
		return (int)i;
	}
	return -1;
}

/*
 * subject_line - the Subject without its "Re:"s, as a line; 2 it had one
 * (a reply's Subject is the notice's, never the answer), 1 not, 0 none
 */
static int
subject_line(const struct hdr *h, char **subj, struct line *l)
{
	const char *s;
	int re = 0;

	if ((*subj = hdr_get_value(h, "Subject")) == NULL)
		return 0;
	s = *subj;
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (strncasecmp(s, "re:", 3) != 0 &&
		    strncasecmp(s, "aw:", 3) != 0)
			break;
		s += 3;
		re = 1;
	}
	l->s = s;
	l->n = strlen(s);
	trimmed(&l->s, &l->n);
	return re ? 2 : 1;
}

/*
 * reply_says - which of the words (index into w) the reply says, -1 none
 * or nothing clear; the word's argument (a token, a reason) into arg
 */
int
reply_says(const char *msg, size_t len, const struct reply_word *w,
    size_t nw, char *arg, size_t argn)
{
	struct buf text;
	struct line l = { "", 0 }, sl;
	struct hdr h;
	char *subj = NULL;
	int rc = -1, body, has_subj;

	if (argn)
		arg[0] = 0;
	if (hdr_parse(msg, len, &h) < 0)
		return -1;
	buf_init(&text, REPLY_TEXT_MAX * 2);
	if (!part_text(msg, len, WANT_PLAIN, 0, &text))
		(void)part_text(msg, len, WANT_HTML, 0, &text);
	body = answer_line(buf_cstr(&text), text.len, &l);
	has_subj = subject_line(&h, &subj, &sl);
	if (body)
		rc = match(&l, w, nw, 0, arg, argn);
	/*
	 * "confirm TOKEN" as the Subject of a mail to -request; a bare word
	 * only as the Subject of a new mail without a text
	 */
	if (rc < 0 && has_subj)
		rc = match(&sl, w, nw, body || has_subj == 2, arg, argn);
	free(subj);
	buf_free(&text);
	hdr_free(&h);
	return rc;
}

/* reply_from_hdr - the one mailbox of h's one From field; 0, -1 none */
int
reply_from_hdr(const struct hdr *h, char *out, size_t n)
{
	struct mailimf_mailbox_list *ml = NULL;
	struct mailimf_mailbox *mb;
	const struct hdr_field *f;
	size_t idx = 0;
	int rc = -1;

	if (hdr_count(h, "From") != 1 || (f = hdr_get(h, "From")) == NULL ||
	    mailimf_mailbox_list_parse(f->value, f->vlen, &idx, &ml) !=
	    MAILIMF_NO_ERROR)
		return -1;
	if (clist_count(ml->mb_list) == 1 &&
	    (mb = clist_content(clist_begin(ml->mb_list))) != NULL &&
	    mb->mb_addr_spec && snprintf(out, n, "%s", mb->mb_addr_spec) <
	    (int)n)
		rc = 0;
	mailimf_mailbox_list_free(ml);
	return rc;
}

/* reply_from - the one mailbox of the one From field; 0, -1 none */
int
reply_from(const char *msg, size_t len, char *out, size_t n)
{
	struct hdr h;
	int rc;

	if (hdr_parse(msg, len, &h) < 0)
		return -1;
	rc = reply_from_hdr(&h, out, n);
	hdr_free(&h);
	return rc;
}
