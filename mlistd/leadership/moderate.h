/* moderate.h - the moderation queue by mail: each moderator's own token approves, rejects or discards. */
#ifndef MLIST_MODERATE_H
#define MLIST_MODERATE_H

#include "mail/addr.h"
#include "pipeline/pipeline.h"
#include "util/why.h"

int	moderate_ask(struct pipeline *, const struct list_cfg *,
	    const char *held_id, const char *reason, const struct buf *copy,
	    const char *sender, struct why *);
int	moderate_answer(struct pipeline *, const struct list_cfg *, const struct store_token *,
	    const struct buf *msg);

#endif
