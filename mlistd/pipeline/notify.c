/*
 * notify.c - the notice a sender gets about their own message (refused,
 * held, not delivered). One per address an hour at most, never to <>: a
 * forged sender must not turn the list into a mail cannon at a victim.
 */
#include "delivery/distribute.h"
#include "pipeline/notify.h"
#include "util/log.h"

/* notify_allowed - may `to` be told now? (counts the notice when it may) */
static int
notify_allowed(struct pipeline *p, const struct list_cfg *l, const char *to)
{
	if (!to || !*to)
		return 0;
	/* an error suppresses it too: a notice is never worth a loop */
	if (store_notice_allowed(p->st, to, p->now, 3600) != 1) {
		log_info("%s qmgr: list=%s notice suppressed (one per sender per hour)", p->qid, l->name);
		return 0;
	}
	return 1;
}

/* notify_sender - queue the notice unless rate-limited; -1 if it could not be queued */
int
notify_sender(struct pipeline *p, const struct list_cfg *l, const char *to, const char *subject,
    const char *text)
{
	if (!*text || !notify_allowed(p, l, to))
		return 0;
	return distribute_notice(p, l, to, subject, text, ENV_NULL, "", NULL);
}

/* notify_sender_tmpl - the same, the text being notice `id` filled with vars */
int
notify_sender_tmpl(struct pipeline *p, const struct list_cfg *l, const char *to,
    enum notice_id id, const char *const *vars)
{
	if (!notify_allowed(p, l, to))
		return 0;
	return distribute_notice_tmpl(p, l, to, id, vars, ENV_NULL, "", NULL);
}
