/* sealed.h - a post sealed to a list's X25519 key (mlist seal): the interim inbound format, retired with #17 in. */
#ifndef MLIST_SEALED_H
#define MLIST_SEALED_H

#include <stddef.h>

#include "../util/buf.h"

#define SEALED_TYPE	"application/x-mlist-sealed"

int	sealed_wrap(const char *from, const char *to, const char *subject, const char *hostname,
	    const char *explanation, const unsigned char pk[32], const void *msg, size_t len, struct buf *out);
int	sealed_find(const void *msg, size_t len, struct buf *blob);
int	sealed_open(const unsigned char pk[32], const unsigned char sk[32], const struct buf *blob,
	    struct buf *out);
int	sealed_keys_from_seed(const unsigned char seed[32], unsigned char pk[32], unsigned char sk[32]);

#endif
