/*
 * sealed.h - recognising a post in the retired libsodium sealed format
 * (the old "mlist seal"), so that one still in flight is refused with a
 * note instead of distributed as an attachment nobody can open.
 */
#ifndef MLIST_SEALED_H
#define MLIST_SEALED_H

#include <stddef.h>

#define SEALED_TYPE	"application/x-mlist-sealed"

int	sealed_is(const void *msg, size_t len);

#endif
