/* rolekey.h - members told once when the moderators' role key changes. */
#ifndef MLIST_ROLEKEY_H
#define MLIST_ROLEKEY_H

#include "pipeline/pipeline.h"
#include "util/why.h"

int	rolekey_due(struct pipeline *, const struct list_cfg *);
int	rolekey_announce(struct pipeline *, const struct list_cfg *,
	    struct why *);

#endif
