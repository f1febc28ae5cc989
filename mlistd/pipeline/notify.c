/*
 * notify.c - the notice a sender gets about their own message (refused,
 * held, not delivered). One per address an hour at most, never to <>: a
 * forged sender must not turn the list into a mail cannon at a victim.
 * A note about one post to its authenticated author (notify_post_tmpl)
 * is not held back by an earlier, unrelated notice: the post pipeline
 * sends at most one per post, and at most NOTES_PER_DAY a day reach one
 * address.
 */
#include <stdio.h>

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

#define NOTES_PER_DAY	50

/*
 * notify_post_tmpl - a note about one post to the author the pipeline
 * authenticated (to: authn_notice_to's answer, NULL for anyone else).
 * Counted per address and day in the post counter under a name no list
 * can have ("#notes/LIST"), so a day's cap needs no table of its own.
 */
int
notify_post_tmpl(struct pipeline *p, const struct list_cfg *l, const char *to,
    enum notice_id id, const char *const *vars)
{
	char key[128];
	int n;

	if (!to || !*to)
		return 0;
	snprintf(key, sizeof(key), "#notes/%s", l->name);
	n = store_post_count(p->st, key, to, p->now / 86400, 1);
	if (n < 0 || n > NOTES_PER_DAY) {
		log_info("%s qmgr: list=%s note suppressed (%s)", p->qid,
		    l->name, n < 0 ? "store error" : "a day's notes to them");
		return 0;
	}
	return distribute_notice_tmpl(p, l, to, id, vars, ENV_NULL, "", NULL);
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

/*
 * notify_sender_tmpl - the same, the text being notice `id` filled with
 * vars: 1 queued, 0 rate-limited (not sent), -1 it could not be queued
 */
int
notify_sender_tmpl(struct pipeline *p, const struct list_cfg *l, const char *to,
    enum notice_id id, const char *const *vars)
{
	if (!notify_allowed(p, l, to))
		return 0;
	if (distribute_notice_tmpl(p, l, to, id, vars, ENV_NULL, "", NULL) < 0)
		return -1;
	return 1;
}
