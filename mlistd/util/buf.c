/*
 * buf.c - the one buffer type for network and mail data.
 *
 * A buffer has a hard cap: growth beyond it fails instead of eating memory,
 * so a hostile peer cannot make us allocate without bound. The data is
 * always followed by a NUL (not counted in len) so text can be read as a
 * C string without copying.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* buf_init - empty buffer that may grow to max bytes (0: unbounded) */
void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

/* buf_reserve - make room for n more bytes plus the NUL */
int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, ncap;
	unsigned char *p;

	if (n > (size_t)-1 / 2 - b->len)
		return errno = EOVERFLOW, -1;
	need = b->len + n + 1;
	if (b->max && need > b->max + 1)
		return errno = EMSGSIZE, -1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (b->max && ncap > b->max + 1)
		ncap = b->max + 1;
	if ((p = realloc(b->data, ncap)) == NULL)
		return -1;
	b->data = p;
	b->cap = ncap;
	return 0;
}

/* buf_append - add bytes at the end */
int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

/* buf_puts - add a C string */
int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/*
 * buf_put_crlf - add n bytes with every bare LF made CRLF (a maildir, or
 * librnp's armour, has LF lines; mail on the wire and DKIM's simple
 * canonicalisation have CRLF); a CR stays as it is. 0, or -1 at the first
 * byte the buffer could not take
 */
int
buf_put_crlf(struct buf *b, const void *p, size_t n)
{
	const unsigned char *t = p;

	for (size_t i = 0; i < n; i++) {
		if (t[i] == '\n' && (i == 0 || t[i - 1] != '\r') &&
		    buf_putc(b, '\r') < 0)
			return -1;
		if (buf_putc(b, t[i]) < 0)
			return -1;
	}
	return 0;
}

/* buf_putc - add one byte */
int
buf_putc(struct buf *b, int c)
{
	unsigned char ch = (unsigned char)c;

	return buf_append(b, &ch, 1);
}

/* buf_printf - add formatted text */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* buf_consume - drop n bytes from the front */
void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data)
		b->data[b->len] = 0;
}

/* buf_reset - empty, keep the memory */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

/* buf_free - release the memory */
void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* buf_cstr - contents as a C string ("" when empty) */
const char *
buf_cstr(struct buf *b)
{
	return b->data ? (const char *)b->data : "";
}

/*
 * buf_base64 - p in base64 (RFC 2045), 76-column lines each ending CRLF.
 * Table-driven: what it encodes is mail text or ciphertext that goes on the
 * wire anyway, so it needs no constant-time encoder (libsodium's costs ten
 * times as much, and a sealed fan-out encodes every copy).
 */
int
buf_base64(struct buf *b, const void *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = p;
	size_t groups = (n + 2) / 3, need = groups * 4 + (groups + 18) / 19 * 2;
	unsigned char *o;
	int col = 0;

	if (buf_reserve(b, need) < 0)
		return -1;
	o = b->data + b->len;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
		    (i + 2 < n ? s[i + 2] : 0);

		*o++ = tab[v >> 18];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
		if (++col == 19 || i + 3 >= n) {
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
		}
	}
	b->len = (size_t)(o - b->data);
	b->data[b->len] = 0;
	return 0;
}
