/*
 * filename.c - an attachment's name as its sender's client meant it, and
 * written back so that every client reads it again.
 *
 * Read from Content-Disposition filename, else Content-Type name, in any
 * of the forms clients write: RFC 2231 (filename*=UTF-8''%E7%AE%A1.doc,
 * with continuations filename*0*=, filename*1*=), RFC 2047 inside the
 * quotes (=?UTF-8?B?...?=, Gmail and Outlook), raw UTF-8 or Latin-1.
 * Kept as UTF-8 with every letter and the extension; removed: control
 * characters, the invisible direction and width marks (U+202E makes
 * "evil\u202Efdp.exe" show as "evilexe.pdf"), any path before the last
 * separator, leading dots. Written back in RFC 2231 form (filename*=)
 * and, in Content-Type's name=, in the RFC 2047 form that older clients
 * read.
 */
#include <libetpan/libetpan.h>
#include <libetpan/charconv.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pipeline/filename.h"
#include "util/hex.h"

#define SECTIONS	32		/* RFC 2231 continuations read */

/* one parameter, from either field */
struct param {
	const char	*name;
	const char	*value;
};

/* pct_decode - append %XX-decoded s (RFC 2231 extended value) */
static void
pct_decode(const char *s, struct buf *out)
{
	int hi, lo;

	for (; *s; s++) {
		if (*s == '%' && (hi = hex_digit((unsigned char)s[1])) >= 0 &&
		    (lo = hex_digit((unsigned char)s[2])) >= 0) {
			buf_putc(out, hi * 16 + lo);
			s += 2;
		} else
			buf_putc(out, *s);
	}
}

/* utf8_len - length of the UTF-8 sequence at s (n bytes left), 0 if invalid */
static size_t
utf8_len(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len, k;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, *cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, *cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, *cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[k] & 0x3f);
	}
	if ((len == 3 && *cp < 0x800) ||
	    (len == 4 && (*cp < 0x10000 || *cp > 0x10ffff)) ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;		/* overlong or a surrogate */
	return len;
}

/* valid_utf8 - is the whole of s UTF-8? */
static int
valid_utf8(const char *s)
{
	size_t n = strlen(s), i = 0, l;
	unsigned cp;

	while (i < n) {
		l = utf8_len((const unsigned char *)s + i, n - i, &cp);
		if (l == 0)
			return 0;
		i += l;
	}
	return 1;
}

/*
 * invisible - a character that changes how a name shows without showing
 * itself: C0/C1 controls, direction marks, embeddings, overrides and
 * isolates (U+200E/F, U+202A-E, U+2066-9, U+061C), zero-width characters
 * and line separators
 */
static int
invisible(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
	    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff || cp == 0x180e;
}

/*
 * clean - the name as it may go out: the last part of a path only (a
 * client that writes C:\Users\LOGIN\cv.pdf names its user), invisible
 * characters and path separators (/ \ :) out, invalid bytes as '_', no
 * leading dots or spaces, at most n - 1 bytes with the extension kept
 * when it must be shortened
 */
static void
clean(const char *in, char *out, size_t n)
{
	const unsigned char *s;
	size_t len, i = 0, o = 0, l, ext = 0, extlen;
	unsigned cp;
	char tmp[1024];
	const char *base = in;

	for (const char *c = in; *c; c++)
		if (strchr("/\\:", *c) && c[1])
			base = c + 1;
	in = base;
	s = (const unsigned char *)in;
	len = strlen(in);

	while (i < len && o + 5 < sizeof(tmp)) {
		if ((l = utf8_len(s + i, len - i, &cp)) == 0) {
			tmp[o++] = '_';
			i++;
			continue;
		}
		if (!invisible(cp) && !strchr("/\\:\"", (int)cp) &&
		    !(o == 0 && (cp == '.' || cp == ' '))) {
			memcpy(tmp + o, s + i, l);
			o += l;
		}
		i += l;
	}
	while (o > 0 && tmp[o - 1] == ' ')
		o--;
	tmp[o] = 0;
	if (o < n) {
		memcpy(out, tmp, o + 1);
		return;
	}
	/* too long: the start and the extension (up to 16 bytes), cut
	 * between characters */
	for (i = o; i > 0 && o - i < 16; i--)
		if (tmp[i - 1] == '.') {
			ext = i - 1;
			break;
		}
	extlen = ext ? o - ext : 0;
	l = n - 1 - extlen;
	while (l > 0 && ((unsigned char)tmp[l] & 0xc0) == 0x80)
		l--;
	memcpy(out, tmp, l);
	memcpy(out + l, tmp + o - extlen, extlen);
	out[l + extlen] = 0;
}

/* to_utf8 - s in charset cs as a malloc'ed UTF-8 string (Latin-1 if unknown) */
static char *
to_utf8(const char *cs, const char *s, size_t n)
{
	char *u = NULL;

	if (cs && *cs && strcasecmp(cs, "utf-8") &&
	    strcasecmp(cs, "us-ascii") &&
	    charconv("utf-8", cs, s, n, &u) == MAIL_CHARCONV_NO_ERROR && u)
		return u;
	free(u);
	u = NULL;
	if (memchr(s, 0, n) == NULL && (u = strndup(s, n)) != NULL &&
	    valid_utf8(u))
		return u;
	free(u);
	u = NULL;
	if (charconv("utf-8", "iso-8859-1", s, n, &u) ==
	    MAIL_CHARCONV_NO_ERROR && u)
		return u;
	free(u);
	return strndup(s, n);
}

/*
 * extended - the RFC 2231 value of base ("filename*" or "filename*0*",
 * "filename*1" ...), joined and decoded; NULL if there is none
 */
static char *
extended(const struct param *p, int np, const char *base)
{
	const char *sec[SECTIONS] = { NULL };
	int enc[SECTIONS] = { 0 }, last = -1;
	size_t bl = strlen(base);
	struct buf raw;
	char cs[64] = "", *q, *u, *end;
	long k;

	for (int i = 0; i < np; i++) {
		const char *nm = p[i].name;

		if (strncasecmp(nm, base, bl) != 0 || nm[bl] != '*')
			continue;
		if (nm[bl + 1] == 0) {	/* filename*=charset'lang'value */
			k = 0;
			enc[0] = 1;
		} else {
			k = strtol(nm + bl + 1, &end, 10);
			if (end == nm + bl + 1 || k < 0 || k >= SECTIONS ||
			    (*end && strcmp(end, "*")))
				continue;
			enc[k] = *end == '*';
		}
		sec[k] = p[i].value;
		last = k > last ? (int)k : last;
	}
	if (last < 0 || sec[0] == NULL)
		return NULL;
	buf_init(&raw, 0);
	for (int i = 0; i <= last && sec[i]; i++) {
		const char *v = sec[i];

		if (i == 0 && enc[0] && (q = strchr(v, '\'')) &&
		    strchr(q + 1, '\'')) {
			snprintf(cs, sizeof(cs), "%.*s", (int)(q - v), v);
			/* past charset'language' */
			v = strchr(q + 1, '\'') + 1;
		}
		if (enc[i])
			pct_decode(v, &raw);
		else
			buf_puts(&raw, v);
	}
	u = to_utf8(cs, raw.len ? (const char *)raw.data : "", raw.len);
	buf_free(&raw);
	return u;
}

/* plain - RFC 2047 words decoded, raw bytes read as UTF-8 or Latin-1 */
static char *
plain(const char *v)
{
	char *dec = NULL;
	size_t idx = 0;

	if (strstr(v, "=?") && mailmime_encoded_phrase_parse("utf-8", v,
	    strlen(v), &idx, "utf-8", &dec) == MAILIMF_NO_ERROR && dec)
		return dec;
	free(dec);
	return to_utf8(NULL, v, strlen(v));
}

/* disposition - the part's Content-Disposition, or NULL */
static const struct mailmime_disposition *
disposition(const struct mailmime *m)
{
	const struct mailmime_field *f;
	clistiter *it;

	if (!m->mm_mime_fields)
		return NULL;
	for (it = clist_begin(m->mm_mime_fields->fld_list); it;
	    it = clist_next(it)) {
		f = clist_content(it);
		if (f->fld_type == MAILMIME_FIELD_DISPOSITION)
			return f->fld_data.fld_disposition;
	}
	return NULL;
}

/* disp_params - the disposition's parameters as name/value pairs */
static int
disp_params(const struct mailmime_disposition *disp, struct param *p, int max)
{
	const struct mailmime_disposition_parm *dp;
	const struct mailmime_parameter *pp;
	clistiter *it;
	int n = 0;

	for (it = clist_begin(disp->dsp_parms); it && n < max;
	    it = clist_next(it)) {
		dp = clist_content(it);
		pp = dp->pa_type == MAILMIME_DISPOSITION_PARM_PARAMETER ?
		    dp->pa_data.pa_parameter : NULL;
		if (dp->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME &&
		    dp->pa_data.pa_filename)
			p[n++] = (struct param){ "filename",
			    dp->pa_data.pa_filename };
		else if (pp && pp->pa_name && pp->pa_value)
			p[n++] = (struct param){ pp->pa_name, pp->pa_value };
	}
	return n;
}

/* type_params - the Content-Type's parameters as name/value pairs */
static int
type_params(const struct mailmime_content *ct, struct param *p, int max)
{
	const struct mailmime_parameter *cp;
	clistiter *it;
	int n = 0;

	if (!ct || !ct->ct_parameters)
		return 0;
	for (it = clist_begin(ct->ct_parameters); it && n < max;
	    it = clist_next(it)) {
		cp = clist_content(it);
		if (cp->pa_name && cp->pa_value)
			p[n++] = (struct param){ cp->pa_name, cp->pa_value };
	}
	return n;
}

/* lookup - the decoded value of base among p (extended form first), or NULL */
static char *
lookup(const struct param *p, int np, const char *base)
{
	char *v = extended(p, np, base);

	if (v)
		return v;
	for (int i = 0; i < np; i++)
		if (strcasecmp(p[i].name, base) == 0)
			return plain(p[i].value);
	return NULL;
}

/* filename_of - the part's file name as clean UTF-8 ("" if it has none) */
void
filename_of(const struct mailmime *m, char *out, size_t n)
{
	struct param p[64] = { { NULL, NULL } };
	int np;
	char *v;

	out[0] = 0;
	np = disposition(m) ? disp_params(disposition(m), p, 64) : 0;
	if ((v = lookup(p, np, "filename")) == NULL || !*v) {
		free(v);
		np = type_params(m->mm_content_type, p, 64);
		v = lookup(p, np, "name");
	}
	if (v)
		clean(v, out, n);
	free(v);
}

/* ascii_token - can name go out as name="..." as it is? */
static int
ascii_token(const char *name)
{
	for (; *name; name++)
		if ((unsigned char)*name < 32 || (unsigned char)*name >= 127 ||
		    strchr("\"\\%'", *name))
			return 0;
	return 1;
}

/* attr_char - may c stand for itself in an RFC 2231 value? */
static int
attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c && strchr("!#$&+-.^_`|~", c));
}

/*
 * filename_param - ";\r\n param*=UTF-8''..." (RFC 2231, in sections of 60
 * octets, filename*0*=, filename*1*=...), or param="name" for plain ASCII
 */
void
filename_param(struct buf *out, const char *param, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0, enc = 0;
	int sec = 0, many;

	for (const unsigned char *s = (const unsigned char *)name; *s; s++)
		enc += attr_char(*s) ? 1 : 3;
	many = enc > 60;

	if (ascii_token(name) && strlen(name) < 70) {
		buf_printf(out, ";\r\n %s=\"%s\"", param, name);
		return;
	}
	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		if (col == 0) {
			if (many)
				buf_printf(out, ";\r\n %s*%d*=%s", param, sec,
				    sec ? "" : "UTF-8''");
			else
				buf_printf(out, ";\r\n %s*=UTF-8''", param);
			sec++;
		}
		if (attr_char(*s)) {
			buf_putc(out, *s);
			col++;
		} else {
			buf_putc(out, '%');
			buf_putc(out, hex[*s >> 4]);
			buf_putc(out, hex[*s & 15]);
			col += 3;
		}
		/* a section ends only between characters, never inside one */
		if (col >= 60 && (s[1] & 0xc0) != 0x80)
			col = 0;
	}
}

/*
 * filename_2047 - ";\r\n param=\"=?UTF-8?B?...?=\"" for a name that is not
 * plain ASCII (what Outlook and older clients read in Content-Type name=),
 * in words of at most 45 octets, each cut between characters
 */
void
filename_2047(struct buf *out, const char *param, const char *name)
{
	char enc[64];
	size_t n = strlen(name), i = 0, l;

	if (ascii_token(name) && n < 70) {
		buf_printf(out, ";\r\n %s=\"%s\"", param, name);
		return;
	}
	buf_printf(out, ";\r\n %s=\"", param);
	while (i < n) {
		l = n - i < 45 ? n - i : 45;
		while (l > 1 && i + l < n &&
		    ((unsigned char)name[i + l] & 0xc0) == 0x80)
			l--;
		sodium_bin2base64(enc, sizeof(enc),
		    (const unsigned char *)name + i, l,
		    sodium_base64_VARIANT_ORIGINAL);
		buf_printf(out, "%s=?UTF-8?B?%s?=", i ? "\r\n " : "", enc);
		i += l;
	}
	buf_putc(out, '"');
}
