/* unconfirmed.h - posts nobody could be asked to confirm, held unannounced. */
#ifndef MLIST_UNCONFIRMED_H
#define MLIST_UNCONFIRMED_H

#include "pipeline/pipeline.h"

/* its held row's reason */
#define UNCONFIRMED_REASON	"unconfirmed-quiet"

int	unconfirmed_hold(struct pipeline *, const struct list_cfg *,
	    const char *id, const char *poster, const char *name,
	    const struct buf *copy, const char *sender);

#endif
