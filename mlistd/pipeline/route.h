/* route.h - which handler takes mail to each of a list's addresses. */
#ifndef MLIST_ROUTE_H
#define MLIST_ROUTE_H

#include "mail/addr.h"
#include "pipeline/pipeline.h"
#include "util/why.h"

enum result route_message(struct pipeline *, const struct listaddr *, const struct envelope *,
	    const struct buf *msg, int *quarantine, struct why *);

#endif
