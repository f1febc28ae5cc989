/* pgpin_thread.h - replies to encrypted copies keep their parent in clear. */
#ifndef MLIST_PGPIN_THREAD_H
#define MLIST_PGPIN_THREAD_H

#include "pipeline/pipeline.h"
#include "pipeline/transform.h"

int	pgpin_thread_parents(struct pipeline *, const struct list_cfg *,
	    struct transform_out *);
int	pgpin_thread_remember(struct pipeline *, const struct list_cfg *,
	    struct buf *copy);

#endif
