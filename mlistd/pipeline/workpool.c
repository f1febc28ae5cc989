/*
 * workpool.c - several parses in flight, so that the queue manager never
 * waits for one message.
 *
 * The queue manager handles a message in one transaction. When a handler
 * needs the parse of a message (workpool_transform) and none is ready, the
 * parse is started in a sandboxed child (worker.c) and the handler answers
 * TEMPFAIL with workpool_waiting() set: the queue manager rolls the
 * transaction back, goes on with other messages, and handles this one
 * again once the pool's sockets say the answer is in (workpool_service).
 * The second pass finds the answer kept under the message's queue id and
 * the number of the call (the handlers of one message parse in the same
 * order every time), and commits. Nothing of a parse is written anywhere
 * but in the queue manager's transaction, so a parse costs nothing when
 * the daemon dies, and a post is distributed at most once.
 *
 * A small message (WORKPOOL_INLINE_MAX) is waited for in place, up to
 * WORKPOOL_INLINE_MS, and WORKPOOL_TURN_MS in all per turn of the queue
 * manager: most posts are parsed in a few milliseconds, and are committed
 * in their first pass instead of waiting a whole turn (a delivery run
 * included) for the second. What takes longer waits as above.
 *
 * At most "size" children run at once (limits.workers); a message that
 * finds them all busy waits its turn like one whose parse is running. With
 * two or more, the last child is kept for small messages: big ones sent to
 * many lists at once cannot take every child from the ordinary posts. A
 * child that crashed (not one that ran out of time: its budget would run
 * out again) is tried WORKPOOL_RETRIES more times before its answer, "the
 * message could not be parsed", is taken and the message quarantined.
 * Answers are kept until the queue manager forgets the message (it was
 * committed, or is gone), at most WORKPOOL_KEEP times the pool's size: past
 * that the oldest is dropped (parsed again when its message comes back), so
 * that a database refusing every commit cannot fill the memory with them.
 * An answer is taken only by the same call of a pass over the same list
 * with the same settings; anything else parses again.
 *
 * What the first pass learnt before it stopped for a parse is kept with
 * the message too (workpool_keep: who sent it, as authn.c found), so the
 * second pass does not verify the sender's DKIM again; it is dropped with
 * the parses, or when a pass ends without waiting (workpool_unkeep).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/workpool.h"
#include "util/log.h"
#include "util/mono.h"

#define WORKPOOL_RETRIES	2
#define WORKPOOL_KEEP		4
/* a message of at most so many bytes is waited for in place ... */
#define WORKPOOL_INLINE_MAX	(256 * 1024)
#define WORKPOOL_INLINE_MS	100		/* ... for at most this long */
#define WORKPOOL_TURN_MS	300		/* ... and this long a turn */

/* one parse of one message: running, or its answer kept */
struct slot {
	struct slot		*next;
	char			 qid[QID_LEN + 1];
	int			 call;		/* the n-th parse of its pass */
	char			*list;		/* the list it was made for */
	int			 how;		/* ... and settings (in_how) */
	int			 running;
	struct worker_job	 job;
	enum result		 r;
	struct transform_out	 out;
	long long		 received;	/* the copy's date */
	int			 crashes;
};

/* something a pass learnt, kept for the next pass over the same message */
struct kept {
	struct kept		*next;
	char			 qid[QID_LEN + 1];
	char			 what[16];
	size_t			 len;
	unsigned char		 data[];
};

static struct slot *slots;
static struct kept *kept;
static void slot_unlink(struct slot *);
static void slot_free(struct slot *);
static int pool_size, nrunning, waiting, call, turn_left;
static char current[QID_LEN + 1];

/* workpool_init - up to size parses in flight from now on */
void
workpool_init(int size)
{
	pool_size = size < 1 ? 1 : size;
}

/* workpool_turn - a turn of the queue manager: its budget for waiting */
void
workpool_turn(void)
{
	turn_left = WORKPOOL_TURN_MS;
}

/* workpool_message - a pass over this message: its parses counted from 0 */
void
workpool_message(const char *qid)
{
	snprintf(current, sizeof(current), "%s", qid);
	call = 0;
	waiting = 0;
}

/* workpool_waiting - did the last pass stop for a parse that is not ready? */
int
workpool_waiting(void)
{
	return waiting;
}

/* slot_free - a slot and whatever it holds */
static void
slot_free(struct slot *s)
{
	if (s->running) {
		worker_job_abandon(&s->job);
		nrunning--;
	} else
		transform_out_free(&s->out);
	free(s->list);
	free(s);
}

/* in_how - the settings of a parse that differ between its callers */
static int
in_how(const struct transform_in *in, const struct worker_pgp *pg)
{
	return (in->intact ? 1 : 0) | (in->want_real ? 2 : 0) |
	    (in->want_anon ? 4 : 0) | (pg && pg->key_of ? 8 : 0) |
	    (pg && pg->token_hash ? 16 : 0) | (in->authored ? 32 : 0) |
	    (pg && pg->private_open ? 64 : 0);
}

/* evict - past the cap of kept answers, the oldest not of this message */
static void
evict(void)
{
	struct slot *s, *old = NULL;
	int kept = 0;

	for (s = slots; s; s = s->next)
		if (!s->running) {
			kept++;
			if (strcmp(s->qid, current) != 0)
				old = s;	/* new go first: the oldest */
		}
	if (kept < WORKPOOL_KEEP * pool_size || old == NULL)
		return;
	slot_unlink(old);
	slot_free(old);
}

/* slot_find - this message's n-th parse, if any */
static struct slot *
slot_find(const char *qid, int n)
{
	for (struct slot *s = slots; s; s = s->next)
		if (s->call == n && strcmp(s->qid, qid) == 0)
			return s;
	return NULL;
}

/* slot_unlink - out of the list (not freed) */
static void
slot_unlink(struct slot *s)
{
	for (struct slot **pp = &slots; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			return;
		}
}

/* slot_start - the child for this slot; 0, or -1 with why in reason */
static int
slot_start(struct slot *s, const struct transform_in *in,
    const struct worker_pgp *pg, const struct keys *k, char *reason,
    size_t len)
{
	if (worker_job_start(&s->job, in, pg, k, reason, len) < 0)
		return -1;
	s->running = 1;
	s->received = in->received;
	nrunning++;
	return 0;
}

/*
 * copy_out - the kept answer, copied (a rolled-back pass may need it
 * again); -1 out of memory
 */
static int
copy_out(const struct transform_out *from, struct transform_out *to)
{
	*to = *from;
	buf_init(&to->rendered, 0);
	for (int i = 0; i < TP_N; i++)
		buf_init(&to->part[i], 0);
	if (buf_append(&to->rendered, from->rendered.data,
	    from->rendered.len) < 0)
		return -1;
	for (int i = 0; i < TP_N; i++)
		if (buf_append(&to->part[i], from->part[i].data,
		    from->part[i].len) < 0)
			return -1;
	return 0;
}

/* wait_for - the pass stops here: the parse is not ready */
static enum result
wait_for(struct transform_out *out, const char *what)
{
	memset(out, 0, sizeof(*out));
	buf_init(&out->rendered, 0);
	for (int i = 0; i < TP_N; i++)
		buf_init(&out->part[i], 0);
	snprintf(out->reason, sizeof(out->reason), "%s", what);
	waiting = 1;
	return TEMPFAIL;
}

/* room - may a parse of this size start now? */
static int
room(const struct transform_in *in)
{
	int reserved = pool_size >= 2 && in->len > WORKPOOL_INLINE_MAX;

	return nrunning < pool_size - reserved;
}

/* start_new - a new slot, started if a child is free (OK, *sp); else why */
static enum result
start_new(const struct transform_in *in, const struct worker_pgp *pg,
    const struct keys *k,
    struct transform_out *out, int n, struct slot **sp)
{
	struct slot *s;
	char reason[sizeof(out->reason)];

	if (!room(in))
		return wait_for(out, "waiting for a free parser");
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->list = strdup(in->list ? in->list->name : "")) == NULL) {
		free(s);
		return wait_for(out, "out of memory");
	}
	snprintf(s->qid, sizeof(s->qid), "%s", current);
	s->call = n;
	s->how = in_how(in, pg);
	evict();
	if (slot_start(s, in, pg, k, reason, sizeof(reason)) < 0) {
		slot_free(s);
		(void)wait_for(out, reason);
		waiting = 0;	/* no wait: a broken sandbox (logged) */
		log_err("%s worker: %s", current, reason);
		return TEMPFAIL;
	}
	s->next = slots;
	slots = s;
	*sp = s;
	return OK;
}

/* slot_finish - the child's answer into the slot */
static void
slot_finish(struct slot *s)
{
	s->r = worker_job_finish(&s->job, &s->out);
	s->running = 0;
	nrunning--;
}

/* inline_wait - a small message's parse, waited for within the turn's budget */
static void
inline_wait(struct slot *s, const struct transform_in *in)
{
	struct pollfd pfd[2];
	struct timespec t0;
	long limit = turn_left, spent = 0;

	if (limit > WORKPOOL_INLINE_MS)
		limit = WORKPOOL_INLINE_MS;

	if (in->len > WORKPOOL_INLINE_MAX || limit <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		worker_zygote_events();
		worker_job_read(&s->job);
		if (worker_job_done(&s->job)) {
			slot_finish(s);
			break;
		}
		if ((spent = mono_ms_since(&t0)) >= limit)
			break;
		pfd[0] = (struct pollfd){ .fd = s->job.fd, .events = POLLIN |
		    (worker_job_sending(&s->job) ? POLLOUT : 0) };
		pfd[1] = (struct pollfd){ .fd = worker_zygote_fd(),
		    .events = POLLIN };
		if (poll(pfd, 2, (int)(limit - spent)) < 0 && errno != EINTR)
			break;
	}
	turn_left -= (int)mono_ms_since(&t0);
}

/*
 * workpool_transform - the parse of this message (opened first with the
 * list's OpenPGP key in pg, NULL none), if it is ready (in->
 * received becomes the date the copy was made with); else TEMPFAIL with
 * workpool_waiting() set, and the parse started. Outside a pool (tests,
 * tools): the parse, waited for.
 */
enum result
workpool_transform(struct transform_in *in, const struct worker_pgp *pg,
    const struct keys *k, struct transform_out *out)
{
	const char *list = in->list ? in->list->name : "";
	struct slot *s;
	int n = call++;

	if (pool_size == 0)
		return worker_transform_pgp(in, pg, k, out);
	if ((s = slot_find(current, n)) != NULL &&
	    (strcmp(s->list, list) != 0 || s->how != in_how(in, pg))) {
		/* the pass changed (DNS, a list, a key): parse again */
		slot_unlink(s);
		slot_free(s);
		s = NULL;
	}
	if (s == NULL) {
		enum result r = start_new(in, pg, k, out, n, &s);

		if (r != OK)
			return r;
		inline_wait(s, in);
	}
	if (s->running)
		return wait_for(out, "waiting for the parser");
	if (s->r == PERMFAIL && s->job.crashed &&
	    s->crashes < WORKPOOL_RETRIES && room(in)) {
		log_warn("%s worker: parser crashed; trying again (%d of %d)",
		    current, s->crashes + 1, WORKPOOL_RETRIES);
		s->crashes++;
		transform_out_free(&s->out);
		memset(&s->out, 0, sizeof(s->out));
		s->r = TEMPFAIL;
		if (slot_start(s, in, pg, k, out->reason,
		    sizeof(out->reason)) < 0) {
			slot_unlink(s);
			slot_free(s);
			(void)wait_for(out,
			    "the parser's sandbox cannot start");
			waiting = 0;	/* not a wait: TEMPFAIL, logged */
			log_err("%s worker: the parser's sandbox cannot start",
			    current);
			return TEMPFAIL;
		}
		return wait_for(out, "waiting for the parser");
	}
	if (s->r == PERMFAIL && s->job.crashed && s->crashes < WORKPOOL_RETRIES)
		return wait_for(out, "waiting for a free parser");
	if (copy_out(&s->out, out) < 0) {
		transform_out_free(out);
		return wait_for(out, "out of memory");
	}
	in->received = s->received;
	return s->r;
}

/* workpool_busy - is a parse of this message running? */
int
workpool_busy(const char *qid)
{
	for (struct slot *s = slots; s; s = s->next)
		if (s->running && strcmp(s->qid, qid) == 0)
			return 1;
	return 0;
}

/* workpool_forget - the message is finished (or gone): its parses too */
void
workpool_forget(const char *qid)
{
	struct slot **pp = &slots, *s;

	while ((s = *pp) != NULL) {
		if (strcmp(s->qid, qid) == 0) {
			*pp = s->next;
			slot_free(s);
		} else
			pp = &s->next;
	}
	workpool_unkeep(qid);
}

/* kept_find - the record of what for qid, or NULL */
static struct kept **
kept_find(const char *qid, const char *what)
{
	struct kept **pp;

	for (pp = &kept; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->qid, qid) == 0 &&
		    (!what || strcmp((*pp)->what, what) == 0))
			return pp;
	return NULL;
}

/*
 * workpool_keep - keep len bytes of what (say "authn") for the next pass
 * over message qid; -1 (nothing kept: the next pass finds it again) when
 * out of memory
 */
int
workpool_keep(const char *qid, const char *what, const void *data,
    size_t len)
{
	struct kept **pp = kept_find(qid, what), *k;

	if (pp) {
		k = *pp;
		*pp = k->next;
		free(k);
	}
	if ((k = malloc(sizeof(*k) + len)) == NULL)
		return -1;
	snprintf(k->qid, sizeof(k->qid), "%s", qid);
	snprintf(k->what, sizeof(k->what), "%s", what);
	k->len = len;
	memcpy(k->data, data, len);
	k->next = kept;
	kept = k;
	return 0;
}

/* workpool_kept - what an earlier pass kept, into out; 0, or -1 none */
int
workpool_kept(const char *qid, const char *what, void *out, size_t len)
{
	struct kept **pp = kept_find(qid, what);

	if (pp == NULL || (*pp)->len != len)
		return -1;
	memcpy(out, (*pp)->data, len);
	return 0;
}

/*
 * workpool_unkeep - a pass ended without waiting for a parse (a retry for
 * DNS or the database, say): what it kept is not kept, and is found again
 */
void
workpool_unkeep(const char *qid)
{
	struct kept **pp, *k;

	while ((pp = kept_find(qid, NULL)) != NULL) {
		k = *pp;
		*pp = k->next;
		sodium_memzero(k->data, k->len);
		free(k);
	}
}

/*
 * workpool_pollfds - what to poll for the pool (at most max): how many,
 * and in *ms the next deadline
 */
int
workpool_pollfds(struct pollfd *pfd, int max, int *ms)
{
	int n = 0, left;

	if (nrunning == 0 || max < 1)
		return 0;
	pfd[n++] =
	    (struct pollfd){ .fd = worker_zygote_fd(), .events = POLLIN };
	for (struct slot *s = slots; s && n < max; s = s->next) {
		if (!s->running)
			continue;
		left = worker_job_ms(&s->job);
		*ms = *ms < 0 || left < *ms ? left : *ms;
		/* the rest of its job to write, or its answer to read */
		if (s->job.fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = s->job.fd,
			    .events = POLLIN | (worker_job_sending(&s->job) ?
			    POLLOUT : 0) };
	}
	return n;
}

/* workpool_service - read what the children wrote; 1 if a parse finished */
int
workpool_service(void)
{
	int done = 0;

	if (nrunning == 0)
		return 0;
	worker_zygote_events();
	for (struct slot *s = slots; s; s = s->next) {
		if (!s->running)
			continue;
		worker_job_read(&s->job);
		if (!worker_job_done(&s->job))
			continue;
		slot_finish(s);
		done = 1;
	}
	return done;
}

/* workpool_running - parses in flight */
int
workpool_running(void)
{
	return nrunning;
}
