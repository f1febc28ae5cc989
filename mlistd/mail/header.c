/*
 * header.c - split a message's header section into fields.
 *
 * Only framing: a field is a line "name:" plus its folded continuation
 * lines. Values are not decoded here. The section ends at the first empty
 * line; a line that is neither a field nor a continuation also ends it
 * (the rest is treated as body, as most MTAs do). A first line that
 * starts with white space continues no field: it is skipped, never taken
 * for the start of the body (that put the whole header, the author's
 * address with it, into the body of a copy without a From). Bounded: at
 * most HDR_MAX_FIELDS fields are kept. Input need not be NUL-terminated.
 * Cost: hdr_parse is one pass, O(header); hdr_value unfolds in O(value);
 * hdr_get and hdr_count are O(fields).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "header.h"

/* line_end - offset just past the next LF (or len) */
static size_t
line_end(const char *m, size_t len, size_t off)
{
	const char *nl = memchr(m + off, '\n', len - off);

	return nl ? (size_t)(nl - m) + 1 : len;
}

/* field_name_len - length of "name" if the line starts "name:", else 0 */
static size_t
field_name_len(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == ':')
			return i;
		if (c <= 32 || c >= 127)
			return 0;
	}
	return 0;
}

/* hdr_parse - fill h with the fields of msg; 0 on success, -1 on out of memory. O(header) */
int
hdr_parse(const char *m, size_t len, struct hdr *h)
{
	size_t off = 0, end, nlen;
	struct hdr_field *f;

	memset(h, 0, sizeof(*h));
	while (off < len) {
		end = line_end(m, len, off);
		if (m[off] == '\r' || m[off] == '\n') {	/* the empty line */
			h->body_off = end;
			return 0;
		}
		if ((m[off] == ' ' || m[off] == '\t') && h->n > 0) {	/* continuation */
			f = &h->f[h->n - 1];
			f->len = end - (size_t)(f->start - m);
			f->vlen = f->len - f->nlen - 1;
			goto trim;
		}
		if (m[off] == ' ' || m[off] == '\t') {	/* folding before any field */
			off = end;
			continue;
		}
		if ((nlen = field_name_len(m + off, end - off)) == 0) {
			h->body_off = off;	/* not a header: the body starts here */
			return 0;
		}
		if (h->n >= HDR_MAX_FIELDS) {
			h->truncated = 1;
			off = end;
			continue;
		}
		if (h->n % 32 == 0) {
			f = realloc(h->f, sizeof(*f) * (size_t)(h->n + 32));
			if (f == NULL)
				return hdr_free(h), -1;
			h->f = f;
		}
		f = &h->f[h->n++];
		f->start = m + off;
		f->nlen = nlen;
		f->value = m + off + nlen + 1;
		f->len = end - off;
		f->vlen = f->len - nlen - 1;
trim:
		f = &h->f[h->n - 1];
		while (f->vlen > 0 && (f->value[f->vlen - 1] == '\n' || f->value[f->vlen - 1] == '\r'))
			f->vlen--;
		off = end;
	}
	h->body_off = len;
	return 0;
}

/* hdr_free - release */
void
hdr_free(struct hdr *h)
{
	free(h->f);
	h->f = NULL;
	h->n = 0;
}

/* hdr_is - does the field have this name (case-insensitive)? */
int
hdr_is(const struct hdr_field *f, const char *name)
{
	return strlen(name) == f->nlen && strncasecmp(f->start, name, f->nlen) == 0;
}

/* hdr_put - append a field as it was, ending in CRLF */
void
hdr_put(struct buf *b, const struct hdr_field *f)
{
	buf_append(b, f->start, f->len);
	if (f->start[f->len - 1] != '\n')
		buf_puts(b, "\r\n");
}

/* hdr_is_any - does the field have one of the n names? */
int
hdr_is_any(const struct hdr_field *f, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hdr_is(f, names[i]))
			return 1;
	return 0;
}

/*
 * hdr_said_in - does h (NULL: none) have a field of f's name, f being none
 * of the n names in except? (A name of 80 octets or more: never.)
 */
int
hdr_said_in(const struct hdr *h, const struct hdr_field *f,
    const char *const *except, size_t n)
{
	char name[80];

	if (h == NULL || f->nlen >= sizeof(name) || hdr_is_any(f, except, n))
		return 0;
	memcpy(name, f->start, f->nlen);
	name[f->nlen] = 0;
	return hdr_get(h, name) != NULL;
}

/* hdr_get - first field of that name, or NULL */
const struct hdr_field *
hdr_get(const struct hdr *h, const char *name)
{
	for (int i = 0; i < h->n; i++)
		if (hdr_is(&h->f[i], name))
			return &h->f[i];
	return NULL;
}

/* hdr_count - how many fields have that name */
int
hdr_count(const struct hdr *h, const char *name)
{
	int n = 0;

	for (int i = 0; i < h->n; i++)
		n += hdr_is(&h->f[i], name);
	return n;
}

/* hdr_value - unfolded, trimmed value as a new string; O(value) */
char *
hdr_value(const struct hdr_field *f)
{
	char *v = malloc(f->vlen + 1), *o = v;
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < f->vlen; i++) {
		char c = f->value[i];

		if (c == '\r' || c == '\n')
			continue;
		*o++ = c == '\t' ? ' ' : c;
	}
	*o = 0;
	while (o > v && isspace((unsigned char)o[-1]))
		*--o = 0;
	for (o = v; *o == ' '; o++)
		;
	memmove(v, o, strlen(o) + 1);
	return v;
}

/* hdr_get_value - value of the first field of that name, or NULL */
char *
hdr_get_value(const struct hdr *h, const char *name)
{
	const struct hdr_field *f = hdr_get(h, name);

	return f ? hdr_value(f) : NULL;
}

/*
 * hdr_automatic - mail sent by a program: never distribute it or answer it
 * (RFC 3834). "Precedence: list" is not such a mark: every post that came
 * through another list carries it, and dropping those lost posts silently.
 */
int
hdr_automatic(const struct hdr *h)
{
	char *v;
	int a = 0;

	if ((v = hdr_get_value(h, "Auto-Submitted")) && strncasecmp(v, "no", 2) != 0)
		a = 1;
	free(v);
	if ((v = hdr_get_value(h, "Precedence")) && (!strcasecmp(v, "bulk") || !strcasecmp(v, "junk")))
		a = 1;
	free(v);
	if (hdr_get(h, "X-Autoreply") || hdr_get(h, "X-Autorespond"))
		a = 1;
	return a;
}

/*
 * hdr_hidden_subject - an outer Subject that hides the real one ("...",
 * "[...]", "Encrypted Message" or empty), as OpenPGP clients write it
 */
int
hdr_hidden_subject(const struct hdr_field *f)
{
	char *v;
	int h;

	if (!hdr_is(f, "Subject") || (v = hdr_value(f)) == NULL)
		return 0;
	h = *v == 0 || strcmp(v, "...") == 0 || !strcasecmp(v, "[...]") ||
	    !strcasecmp(v, "Encrypted Message");
	free(v);
	return h;
}
