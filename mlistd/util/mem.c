/*
 * mem.c - searches in bytes that are not strings: a message or a line
 * held with its length, which may hold NULs. One place for what the MIME
 * and OpenPGP scanners each wrote for themselves.
 */
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

/* mem_has_ci - does m[0..n) hold s, ASCII letters in any case? O(n |s|) */
int
mem_has_ci(const char *m, size_t n, const char *s)
{
	size_t k = strlen(s);

	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp(m + i, s, k) == 0)
			return 1;
	return 0;
}
