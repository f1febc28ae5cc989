/*
 * unconfirmed.c - a member's posts that could not be confirmed once both
 * hourly budgets were spent (a stranger forging her posts spends them):
 * never lost without a word. Each is held for the moderators unannounced,
 * in a queue bounded per member (UNCONFIRMED_MAX; past it the oldest of
 * hers goes, not the newest, which is likelier her own). The moderators
 * are told at most once a day per member, in plain words, with the name
 * the list's disclosure rules let them see: the day's first comes to them
 * as any held post (its token decides it), saying how many wait; the
 * others are in "mlistctl mod ls" (reason "unconfirmed-quiet").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "leadership/moderate.h"
#include "leadership/unconfirmed.h"
#include "mail/notices.h"
#include "mail/store.h"
#include "mail/spool.h"
#include "util/log.h"

#define UNCONFIRMED_MAX		10	/* a member's posts held unannounced */
#define UNCONFIRMED_SCAN	256	/* quiet holds looked at, per list */

/* the quiet holds of one list, oldest first */
struct quiet {
	char		 ids[UNCONFIRMED_SCAN][QID_LEN + 1];
	long long	 at[UNCONFIRMED_SCAN];
	int		 n;
};

/* quiet_one - collect a quiet hold (store_held_each: oldest first) */
static void
quiet_one(const char *id, const char *reason, long long at, void *arg)
{
	struct quiet *q = arg;

	if (strcmp(reason, UNCONFIRMED_REASON) != 0 ||
	    q->n >= UNCONFIRMED_SCAN || strlen(id) != QID_LEN)
		return;
	memcpy(q->ids[q->n], id, QID_LEN + 1);
	q->at[q->n++] = at;
}

/*
 * hers - of q, the ones held in poster's name: how many, the oldest
 * (*oldest, -1 none) and whether one was held since day (*today)
 */
static int
hers(struct pipeline *p, const struct list_cfg *l, const struct quiet *q,
    const char *poster, long long day, int *oldest, int *today)
{
	char *a;
	int n = 0;

	*oldest = -1;
	*today = 0;
	for (int k = 0; k < q->n; k++) {
		if ((a = store_held_author(p->st, l->name, q->ids[k])) == NULL)
			continue;
		if (strcasecmp(a, poster) == 0) {
			if (*oldest < 0)
				*oldest = k;
			if (q->at[k] >= day)
				*today = 1;
			n++;
		}
		sodium_memzero(a, strlen(a));
		free(a);
	}
	return n;
}

/*
 * tell - the day's first in her name goes to the moderators as a held
 * post does (its own token), saying how many wait in her name
 */
static int
tell(struct pipeline *p, const struct list_cfg *l, const char *id, int n,
    const char *name, const struct buf *copy, const char *sender)
{
	struct notice_ctx ctx = { l->name, p->cfg->hostname };
	char count[16];
	const char *vars[] = { "count", count, "name", name, NULL };
	struct buf words;
	int rc;

	snprintf(count, sizeof(count), "%d", n);
	buf_init(&words, 0);
	if (buf_puts(&words, sender) < 0 || buf_puts(&words, "\n\n") < 0 ||
	    notice_piece(l->notices, p->cfg->notices, PIECE_UNCONFIRMED_COUNT,
	    &ctx, vars, &words) < 0) {
		buf_free(&words);
		return -1;
	}
	rc = moderate_ask(p, l, id, UNCONFIRMED_REASON, copy, buf_cstr(&words),
	    NULL);
	buf_free(&words);
	return rc < 0 ? -1 : 0;
}

/*
 * unconfirmed_hold - hold copy (id, in the spool) of poster's post that
 * nobody could be asked to confirm; name is how the moderators may see
 * her, sender how sure the list is of it (authn_held_note). 0, -1 store
 * error.
 */
int
unconfirmed_hold(struct pipeline *p, const struct list_cfg *l, const char *id,
    const char *poster, const char *name, const struct buf *copy,
    const char *sender)
{
	struct quiet *q;
	char reason[64];
	int n, oldest, today, rc = -1;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	if (store_held_each(p->st, l->name, quiet_one, q) < 0)
		goto out;
	n = hers(p, l, q, poster, p->now - p->now % 86400, &oldest, &today);
	if (n < UNCONFIRMED_MAX && q->n >= UNCONFIRMED_SCAN)
		oldest = 0;	/* the list's are many: its oldest goes */
	else if (n < UNCONFIRMED_MAX)
		oldest = -1;
	if (oldest >= 0) {
		if (store_held_take(p->st, l->name, q->ids[oldest], reason,
		    sizeof(reason)) != STORE_OK)
			goto out;
		(void)pipeline_drop_later(p, q->ids[oldest]);
		log_info("%s qmgr: list=%s unconfirmed post dropped for a "
		    "newer one", q->ids[oldest], l->name);
		if (n >= UNCONFIRMED_MAX)
			n--;
	}
	if (store_hold(p->st, id, l->name, UNCONFIRMED_REASON, poster) !=
	    STORE_OK)
		goto out;
	if (!today && tell(p, l, id, n + 1, name, copy, sender) < 0)
		goto out;
	log_info("%s qmgr: list=%s confirmation withheld: held unannounced "
	    "(%d in that name%s)", p->qid, l->name, n + 1,
	    today ? "; the moderators were told today" : "");
	rc = 0;
out:
	free(q);
	return rc;
}
