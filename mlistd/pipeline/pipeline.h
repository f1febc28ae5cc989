/* pipeline.h - what every stage after the spool works with, handed on explicitly. */
#ifndef MLIST_PIPELINE_H
#define MLIST_PIPELINE_H

#include "mail/config.h"
#include "mail/keys.h"
#include "mail/spool.h"
#include "mail/store.h"

#define PIPELINE_MAX_OUT	64

struct pipeline {
	const struct config *cfg;
	const struct keys *keys;
	struct store	*st;
	struct spool	*sp;
	long long	 now;
	const char	*qid;		/* the incoming message being handled */
	/* rendered copies written during the current transaction (removed on rollback) */
	char		 out[PIPELINE_MAX_OUT][QID_LEN + 1];
	int		 nout;
};

#endif
