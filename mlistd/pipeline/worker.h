/* worker.h - run the transform of untrusted mail in a throw-away, keyless, confined child process. */
#ifndef MLIST_WORKER_H
#define MLIST_WORKER_H

#include "mail/keys.h"
#include "pipeline/transform.h"

int	worker_start(const struct config *, const struct keys *, struct buf *err);
void	worker_stop(void);
int	worker_confine(void);
enum result worker_transform(const struct transform_in *, const struct keys *, struct transform_out *);

#endif
