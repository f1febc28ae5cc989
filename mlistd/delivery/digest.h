/* digest.h - one message a day (or week) for members with digest on. */
#ifndef MLIST_DIGEST_H
#define MLIST_DIGEST_H

#include "pipeline/pipeline.h"

int	digest_due(struct pipeline *, const struct list_cfg *);
int	digest_send(struct pipeline *, const struct list_cfg *, int *recipients);

#endif
