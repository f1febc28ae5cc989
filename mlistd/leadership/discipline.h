/* discipline.h - warnings, public warnings and suspensions, step by step, confirmed by the moderator. */
#ifndef MLIST_DISCIPLINE_H
#define MLIST_DISCIPLINE_H

#include "pipeline/pipeline.h"

int	discipline_request(struct pipeline *, const struct list_cfg *, const struct envelope *, const struct buf *msg);
int	discipline_confirmed(struct pipeline *, const struct list_cfg *,
	    const char *sender, const char *text);
int	discipline_apply(struct pipeline *, const struct list_cfg *, const char *moderator, long long member_id,
	    const char *reason, struct buf *res);
int	discipline_suspended(struct pipeline *, const struct list_cfg *, const char *addr, char *day, size_t n);

#endif
