/* command.h - -request commands confirmed from the member's own mailbox, done. */
#ifndef MLIST_COMMAND_H
#define MLIST_COMMAND_H

#include "pipeline/pipeline.h"

int	command_confirmed(struct pipeline *, const struct list_cfg *, const struct store_token *,
	    const struct buf *msg);

#endif
