/* unconfirmed.h - posts nobody could be asked to confirm, held unannounced. */
#ifndef MLIST_UNCONFIRMED_H
#define MLIST_UNCONFIRMED_H

#include "pipeline/pipeline.h"

#define UNCONFIRMED_REASON	"unconfirmed-quiet"	/* its held row's reason */

int	unconfirmed_hold(struct pipeline *, const struct list_cfg *,
	    const char *id, const char *poster, const char *name,
	    const struct buf *copy, const char *sender);

#endif
