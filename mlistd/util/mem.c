/*
 * mem.c - searches in bytes that are not strings: a message or a line
 * held with its length, which may hold NULs. One place for what the MIME
 * and OpenPGP scanners each wrote for themselves.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "util/mem.h"

/* mem_find - the offset of s in [m + from, m + n), or -1: O(n) */
long
mem_find(const char *m, size_t n, size_t from, const char *s)
{
	const char *p;

	if (from > n)
		return -1;
	p = memmem(m + from, n - from, s, strlen(s));
	return p ? (long)(p - m) : -1;
}

/* caseless - the place of the first byte of s[0..k) without case, or -1 */
static long
caseless(const char *s, size_t k)
{
	for (size_t j = 0; j < k; j++)
		if (!isalpha((unsigned char)s[j]))
			return (long)j;
	return -1;
}

/* letters_ci - mem_has_ci for a needle of letters: a first-byte filter */
static int
letters_ci(const char *m, size_t n, const char *s, size_t k)
{
	const unsigned char *u = (const unsigned char *)m;
	unsigned char lo = (unsigned char)tolower((unsigned char)s[0]);
	unsigned char up = (unsigned char)toupper((unsigned char)s[0]);

	for (size_t i = 0; i + k <= n; i++)
		if ((u[i] == lo || u[i] == up) &&
		    strncasecmp(m + i, s, k) == 0)
			return 1;
	return 0;
}

/*
 * mem_has_ci - does m[0..n) hold s, ASCII letters in any case? O(n |s|)
 * at worst. A needle's byte without case (the '/' of a MIME type, a
 * space) is looked for with memchr and the rest compared only there: the
 * open stage scans every post so in the queue manager's loop, and a
 * strncasecmp at every byte was a fifth of the loop's time under a flood
 * of big posts (#15).
 */
int
mem_has_ci(const char *m, size_t n, const char *s)
{
	size_t k = strlen(s), last;
	const char *p;
	long j;

	if (k == 0)
		return 1;
	if (k > n)
		return 0;
	if ((j = caseless(s, k)) < 0)
		return letters_ci(m, n, s, k);
	/* the anchor's places: j .. n - k + j */
	last = n - k + (size_t)j;
	for (p = m + j; p <= m + last; p++) {
		if ((p = memchr(p, s[j], (size_t)(m + last - p) + 1)) == NULL)
			return 0;
		if (strncasecmp(p - j, s, k) == 0)
			return 1;
	}
	return 0;
}
