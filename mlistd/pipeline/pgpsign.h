/* pgpsign.h - a pseudonymous copy as RFC 3156 multipart/signed. */
#ifndef MLIST_PGPSIGN_H
#define MLIST_PGPSIGN_H

#include "mail/openpgp.h"
#include "util/buf.h"

enum result pgpsign_wrap(const struct openpgp_secret *, const char *addr,
	    long long date, struct buf *msg, char *why, size_t whylen);

#endif
