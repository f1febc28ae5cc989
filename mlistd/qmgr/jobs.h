/* jobs.h - the queue manager's periodic jobs, each in its own transaction. */
#ifndef MLIST_JOBS_H
#define MLIST_JOBS_H

#include <signal.h>

#include "pipeline/pipeline.h"
#include "util/why.h"

struct jobs_state;

struct jobs_state *jobs_new(void);
void	jobs_free(struct jobs_state *);
void	jobs_run(struct pipeline *, struct jobs_state *, volatile sig_atomic_t *stop);
int	jobs_txn(struct pipeline *, const char *name, const struct list_cfg *,
	    int (*fn)(struct pipeline *, const struct list_cfg *, struct why *));

#endif
