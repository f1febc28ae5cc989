/* pgpsigned.h - check a delivered RFC 3156 multipart/signed post. */
#ifndef MLIST_PGPSIGNED_H
#define MLIST_PGPSIGNED_H

#include <stddef.h>

#include "mail/openpgp_pseud.h"

/* offsets are into the message with its line ends made CRLF */
struct pgpsigned {
	size_t		 signed_off, signed_len;
	size_t		 sig_off, sig_len;
	char		 micalg[40];
	char		 from[320];	/* the From address */
	int		 from_autocrypt;	/* the post's own key */
	struct openpgp_signer who;
};

int	pgpsigned_check(const void *msg, size_t len, const void *key,
	    size_t klen, struct pgpsigned *, char *why, size_t whylen);

#endif
