/* qmgr.h - the queue manager process: takes spooled mail through the pipeline. */
#ifndef MLIST_QMGR_H
#define MLIST_QMGR_H

#include "mail/config.h"
#include "mail/keys.h"
#include "mail/spool.h"
#include "pipeline/pipeline.h"

int	qmgr_run(const char *config_path, struct config *, const struct keys *, struct spool *,
	    int wake_fd);
void	qmgr_recover(struct pipeline *);

#endif
