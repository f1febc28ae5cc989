/*
 * notify.c - the notice a sender gets about their own message (refused,
 * held, not delivered). One per address an hour at most, never to <>: a
 * forged sender must not turn the list into a mail cannon at a victim.
 */
#include "delivery/distribute.h"
#include "pipeline/notify.h"
#include "util/log.h"

/* notify_sender - queue the notice unless rate-limited; -1 if it could not be queued */
int
notify_sender(struct pipeline *p, const struct list_cfg *l, const char *to, const char *subject,
    const char *text)
{
	if (!to || !*to || !*text)
		return 0;
	/* an error suppresses it too: a notice is never worth a loop */
	if (store_notice_allowed(p->st, to, p->now, 3600) != 1) {
		log_info("%s qmgr: list=%s notice suppressed (one per sender per hour)", p->qid, l->name);
		return 0;
	}
	return distribute_notice(p, l, to, subject, text, ENV_NULL, "", NULL);
}
