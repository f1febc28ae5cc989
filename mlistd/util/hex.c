/*
 * hex.c - the value of one hexadecimal digit.  The RFC 2231 filename, the
 * lenient quoted-printable of rewrite and the key-in-body parser all
 * decode escapes; one definition keeps them reading the same digits.
 */
#include "util/hex.h"

/* hex_digit - the value of hex digit c (either case), or -1 */
int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}
