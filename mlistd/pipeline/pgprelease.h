/* pgprelease.h - a held pseudonymous copy signed again at its release. */
#ifndef MLIST_PGPRELEASE_H
#define MLIST_PGPRELEASE_H

#include "pipeline/pipeline.h"

int	pgprelease_held(struct pipeline *, const struct list_cfg *,
	    const char *held_id, struct buf *copy, char out[QID_LEN + 1]);

#endif
