/* relay.h - private replies, moderators' answers, announcements, mail to the moderators. */
#ifndef MLIST_RELAY_H
#define MLIST_RELAY_H

#include "mail/addr.h"
#include "pipeline/pipeline.h"
#include "util/why.h"

/* every handler: OK finished (whatever became of it), TEMPFAIL retry, the cause in why */
enum result relay_private(struct pipeline *, const struct listaddr *, const struct envelope *,
	    const struct buf *msg, int *quarantine, struct why *);
enum result relay_owner_answer(struct pipeline *, const struct listaddr *, const struct envelope *,
	    const struct buf *msg, int *quarantine, struct why *);
enum result relay_announce(struct pipeline *, const struct listaddr *, const struct envelope *,
	    const struct buf *msg, int *quarantine, struct why *);
enum result relay_owner(struct pipeline *, const struct listaddr *, const struct envelope *,
	    const struct buf *msg, int *quarantine, struct why *);
enum result relay_request(struct pipeline *, const struct listaddr *, const struct envelope *,
	    const struct buf *msg, int *quarantine, struct why *);

#endif
