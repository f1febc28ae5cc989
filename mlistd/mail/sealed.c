/*
 * sealed.c - posts in the retired sealed format, recognised.
 *
 * Until OpenPGP (#17), "mlist seal" wrapped a post in libsodium's
 * crypto_box_seal to an X25519 twin of the list's DKIM key, as the one
 * SEALED_TYPE attachment of a short MIME message. No release shipped it;
 * the list no longer opens it (a key derived from the DKIM key must not
 * decrypt anything, and members' clients speak OpenPGP). A post still in
 * that shape is refused with a note saying what to do instead: never
 * distributed, since every copy would carry an attachment no member can
 * open, and its explanation part says it is encrypted when it is not.
 */
#include <string.h>
#include <strings.h>

#include "sealed.h"

/*
 * sealed_is - 1 if a Content-Type line anywhere in msg names SEALED_TYPE
 * (the sealed part was one part of a multipart/mixed); our own small scan,
 * bounded by len, since the input may be hostile
 */
int
sealed_is(const void *msg, size_t len)
{
	const char *m = msg, *end = m + len, *p, *v;
	size_t tl = strlen(SEALED_TYPE);

	for (p = m; p + 13 <= end; p++) {
		if ((p != m && p[-1] != '\n') ||
		    strncasecmp(p, "Content-Type:", 13) != 0)
			continue;
		for (v = p + 13; v < end && (*v == ' ' || *v == '\t'); v++)
			;
		if ((size_t)(end - v) >= tl && !strncasecmp(v, SEALED_TYPE, tl))
			return 1;
	}
	return 0;
}
