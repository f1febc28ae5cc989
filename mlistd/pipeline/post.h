/* post.h - LIST@: the post pipeline, one visible sequence of stages. */
#ifndef MLIST_POST_H
#define MLIST_POST_H

#include "mail/addr.h"
#include "pipeline/pipeline.h"
#include "util/why.h"

enum result post_handle(struct pipeline *, const struct listaddr *, const struct envelope *,
	    const struct buf *msg, int *quarantine, struct why *);

#endif
