/*
 * order.c - a list's mail is handled in the order it arrived, while
 * other lists' mail passes a message that waits for its parse.
 *
 * The queue manager takes the incoming messages in the order their files
 * were written (spool_list: to the nanosecond, the queue id breaking
 * ties). A message whose parse is running waits
 * (workpool.c); every later message to one of its lists waits behind it
 * in the same turn, and so does every later message to one of *their*
 * lists. So posts to one list are distributed, and its -request and
 * -owner mail handled, in arrival order, and a hostile post delays only
 * its own lists, by at most limits.worker_seconds. So does one waiting
 * for its sender's DNS answers (authn.c), by at most dns.timeout. A message
 * that failed for something else (a DNS timeout, a locked database:
 * TEMPFAIL) is retried on the next turn and holds nothing back, as before.
 *
 * And dns.timeout counts from the first time a message waited, for
 * anything (order_wait_dns): its retry asks its names again, and a second
 * stranger's post behind it would ask its own when the first's timed out;
 * each holding the list in turn, two posts whose DNS never answers held it
 * for ever (round 8b). Past that, a message waits for its DNS alone, and
 * later mail to its lists may pass it.
 *
 * A waiting message's lists are remembered, so it is not read again only
 * to learn that it still waits. Lists are kept as "\nNAME\nNAME\n".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/addr.h"
#include "pipeline/workpool.h"
#include "qmgr/order.h"
#include "util/mono.h"

/* a message that waits, and the lists it holds back */
struct waiter {
	char		 qid[QID_LEN + 1];
	struct buf	 lists;
	int		 seen;		/* listed in this turn */
	long long	 since;		/* mono_ms() when it first waited */
};

struct order {
	struct waiter	*w;
	int		 n, cap;
	struct buf	 blocked;	/* lists held back in this turn */
};

/* order_new - an empty order; NULL out of memory */
struct order *
order_new(void)
{
	struct order *o = calloc(1, sizeof(*o));

	if (o)
		buf_init(&o->blocked, 0);
	return o;
}

/* order_free - everything an order holds */
void
order_free(struct order *o)
{
	if (!o)
		return;
	for (int i = 0; i < o->n; i++)
		buf_free(&o->w[i].lists);
	free(o->w);
	buf_free(&o->blocked);
	free(o);
}

/* order_turn_begin - a new pass over incoming/: nothing held back yet */
void
order_turn_begin(struct order *o)
{
	o->blocked.len = 0;
	(void)buf_append(&o->blocked, "\n", 1);
	for (int i = 0; i < o->n; i++)
		o->w[i].seen = 0;
}

/* find - the waiter for qid, or -1 */
static int
find(const struct order *o, const char *qid)
{
	for (int i = 0; i < o->n; i++)
		if (strcmp(o->w[i].qid, qid) == 0)
			return i;
	return -1;
}

/* remove_at - the i-th waiter is gone, and so are its parses */
static void
remove_at(struct order *o, int i)
{
	workpool_forget(o->w[i].qid);
	buf_free(&o->w[i].lists);
	o->w[i] = o->w[--o->n];
}

/* order_turn_end - messages no longer in the directory are forgotten */
void
order_turn_end(struct order *o)
{
	for (int i = 0; i < o->n; i++)
		if (!o->w[i].seen)
			remove_at(o, i--);
}

/* order_lists - an envelope's lists, "\nA\nB\n"; -1 out of memory */
int
order_lists(const struct config *cfg, const struct envelope *e, struct buf *out)
{
	struct listaddr la;

	out->len = 0;
	if (buf_append(out, "\n", 1) < 0)
		return -1;
	for (int i = 0; i < e->nrcpts; i++)
		if (listaddr_parse(cfg, e->rcpts[i], &la) == 0 &&
		    !order_has(out, la.list->name) &&
		    (buf_append(out, la.list->name,
		    strlen(la.list->name)) < 0 || buf_append(out, "\n", 1) < 0))
			return -1;
	return 0;
}

/* order_has - is the list in the set? */
int
order_has(const struct buf *set, const char *list)
{
	size_t n = strlen(list);

	for (size_t i = 0; i + n + 2 <= set->len; i++)
		if (set->data[i] == '\n' &&
		    memcmp(set->data + i + 1, list, n) == 0 &&
		    set->data[i + 1 + n] == '\n')
			return 1;
	return 0;
}

/* order_blocked - does a message to these lists wait behind an earlier one? */
int
order_blocked(const struct order *o, const struct buf *lists)
{
	return order_meet(&o->blocked, lists);
}

/* order_meet - is one of these lists in the set? */
int
order_meet(const struct buf *set, const struct buf *lists)
{
	const char *s = (const char *)lists->data, *end = s + lists->len, *nl;
	char name[LIST_NAME_MAX + 1];

	for (s = s + 1; s < end &&
	    (nl = memchr(s, '\n', (size_t)(end - s))) != NULL; s = nl + 1) {
		if ((size_t)(nl - s) >= sizeof(name))
			continue;
		memcpy(name, s, (size_t)(nl - s));
		name[nl - s] = 0;
		if (order_has(set, name))
			return 1;
	}
	return 0;
}

/* order_known - the lists of one that waited before (seen now), or NULL */
const struct buf *
order_known(struct order *o, const char *qid)
{
	int i = find(o, qid);

	if (i < 0)
		return NULL;
	o->w[i].seen = 1;
	return &o->w[i].lists;
}

/* order_wait - it waits, and later mail to its lists behind it; -1 no memory */
int
order_wait(struct order *o, const char *qid, const struct buf *lists)
{
	struct waiter *w;
	int i = find(o, qid);

	/* held back in this turn (copied first: they may be the waiter's) */
	if (lists->len > 1 &&
	    buf_append(&o->blocked, lists->data + 1, lists->len - 1) < 0)
		return -1;
	if (i >= 0)
		return 0;
	if (o->n == o->cap) {
		int cap = o->cap ? o->cap * 2 : 16;

		if ((w = realloc(o->w, sizeof(*w) * (size_t)cap)) == NULL)
			return -1;
		o->w = w;
		o->cap = cap;
	}
	w = &o->w[o->n];
	memset(w, 0, sizeof(*w));
	snprintf(w->qid, sizeof(w->qid), "%s", qid);
	buf_init(&w->lists, 0);
	if (buf_append(&w->lists, lists->data, lists->len) < 0) {
		buf_free(&w->lists);
		return -1;
	}
	w->seen = 1;
	w->since = mono_ms();
	o->n++;
	return 0;
}

/*
 * order_wait_dns - it waits for its DNS answers: as order_wait, but once
 * it has waited max_ms in all its later mail is no longer held behind it
 */
int
order_wait_dns(struct order *o, const char *qid, const struct buf *lists,
    long long max_ms)
{
	int i = find(o, qid);

	if (i >= 0 && mono_ms() - o->w[i].since >= max_ms) {
		o->w[i].seen = 1;
		return 0;
	}
	return order_wait(o, qid, lists);
}

/* order_done - the message is finished (or gone): nothing of it is kept */
void
order_done(struct order *o, const char *qid)
{
	int i = find(o, qid);

	if (i >= 0)
		remove_at(o, i);
	else
		workpool_forget(qid);
}
