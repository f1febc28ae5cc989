/* quorum.h - grave actions that take effect only when enough distinct moderators approve. */
#ifndef MLIST_QUORUM_H
#define MLIST_QUORUM_H

#include "mail/addr.h"
#include "pipeline/pipeline.h"

#define QUORUM_DAYS	7	/* a request waits this long for its quorum */

void	quorum_ask_new(struct pipeline *);
int	quorum_vouch(struct pipeline *, const struct list_cfg *, const char *addr, const char *ps, const char *intro,
	    struct buf *res);
int	quorum_answer(struct pipeline *, const struct list_cfg *, const struct store_token *,
	    const struct buf *msg);

#endif
