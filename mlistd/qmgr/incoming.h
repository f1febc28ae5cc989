/* incoming.h - one accepted message's pass, in one transaction. */
#ifndef MLIST_INCOMING_H
#define MLIST_INCOMING_H

#include <stddef.h>

#include "pipeline/pipeline.h"
#include "qmgr/order.h"
#include "util/buf.h"

/* a message above this is "big": left for the turn's second sweep */
#define QMGR_BIG	(256 * 1024)

/* a pass (or a checkpoint) longer than this is logged with its times */
#define QMGR_SLOW_MS	100

/* what incoming_process did with a message */
enum pass { PASS_NONE, PASS_DONE, PASS_LATER };

enum pass incoming_process(struct pipeline *, struct order *, const char *id,
	    struct buf *held, size_t *len);

#endif
