/* pgpopen.h - private mail encrypted to a pseudonym's key, opened. */
#ifndef MLIST_PGPOPEN_H
#define MLIST_PGPOPEN_H

#include "mail/openpgp.h"
#include "util/buf.h"

int	pgpopen_private(const char *qid, const struct openpgp_secret *,
	    const struct buf *msg, struct buf *out);

#endif
