/* workpool.h - sandboxed parses in flight while the queue manager goes on. */
#ifndef MLIST_WORKPOOL_H
#define MLIST_WORKPOOL_H

#include <poll.h>

#include "pipeline/worker.h"

#define WORKPOOL_MAX	64	/* the zygote's limit on children at once */

void	workpool_init(int size);
void	workpool_turn(void);
void	workpool_message(const char *qid);
enum result workpool_transform(struct transform_in *,
    const struct worker_pgp *, const struct keys *, struct transform_out *);
int	workpool_waiting(void);
int	workpool_busy(const char *qid);
void	workpool_forget(const char *qid);
int	workpool_keep(const char *qid, const char *what, const void *, size_t);
int	workpool_kept(const char *qid, const char *what, void *, size_t);
void	workpool_unkeep(const char *qid);
int	workpool_pollfds(struct pollfd *, int max, int *ms);
int	workpool_service(void);
int	workpool_running(void);

#endif
