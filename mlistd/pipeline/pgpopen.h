/* pgpopen.h - private mail encrypted to a pseudonym's key, opened. */
#ifndef MLIST_PGPOPEN_H
#define MLIST_PGPOPEN_H

#include "mail/openpgp.h"
#include "pipeline/pipeline.h"
#include "util/buf.h"

/* the child's answer (transform_out's pgp) */
#define PGPOPEN_NOT	0	/* not opened: reason says why */
#define PGPOPEN_OPENED	1	/* rendered is the opened mail */

enum result pgpopen_private(struct pipeline *, const struct list_cfg *,
	    const struct openpgp_secret *, const struct buf *msg,
	    struct buf *out, int *got, char *reason, size_t rlen);

#endif
