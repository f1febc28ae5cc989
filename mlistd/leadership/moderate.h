/* moderate.h - the moderation queue by mail: each moderator's own token approves, rejects or discards. */
#ifndef MLIST_MODERATE_H
#define MLIST_MODERATE_H

#include "mail/addr.h"
#include "pipeline/pipeline.h"

/* what a moderator decides about a held post */
enum { MOD_APPROVE = 0, MOD_REJECT = 1, MOD_DISCARD = 2 };

int	moderate_ask(struct pipeline *, const struct list_cfg *, const char *held_id, const char *reason,
	    const struct buf *copy, int real_author_shown);
int	moderate_answer(struct pipeline *, const struct list_cfg *, const struct store_token *,
	    const struct buf *msg);
int	moderate_decide(struct pipeline *, const struct list_cfg *, const char *held_id, int decision,
	    const char *reason, const char *actor, int *rcpts);
int	moderate_release(struct pipeline *, const struct list_cfg *, const char *held_id, int *rcpts);

#endif
