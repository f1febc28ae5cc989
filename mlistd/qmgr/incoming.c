/*
 * incoming.c - one accepted message's pass: read from the spool (or from
 * what its pass before kept), every recipient through the routing table,
 * and everything it causes committed in one transaction together with
 * "this queue id is processed"; only then is the spool file removed.
 *
 * A pass stops, undone, when the message's parse or its sender's DNS
 * answers are not in yet (its lists held back: order.c), and a big message
 * is left for the turn's second sweep. qmgr.c runs the loop that calls
 * incoming_process for each file; what each address does is
 * pipeline/route.c's.
 */
#include <stdio.h>
#include <time.h>

#include "pipeline/authn.h"
#include "pipeline/passrand.h"
#include "pipeline/route.h"
#include "pipeline/workpool.h"
#include "qmgr/incoming.h"
#include "qmgr/plain.h"
#include "util/log.h"
#include "util/mono.h"
#include "util/why.h"

/*
 * incoming_read - the spool file (or what its pass before kept of it:
 * plain.c), or quarantined if it does not parse; 0 read, -1 not to
 * process
 */
static int
incoming_read(struct pipeline *p, const char *id, struct envelope *e,
    struct buf *msg)
{
	struct buf why;
	int done, rc = 0;

	if ((done = store_processed(p->st, id)) == 1) {
		log_info("%s qmgr: already processed before a restart; "
		    "removing", id);
		spool_remove(p->sp, SPOOL_INCOMING, id);
		return -1;
	}
	if (done < 0)
		return -1;	/* the database cannot say: the next turn */
	if (plain_take(id, e, msg))
		return 0;	/* decrypted once, by the pass before */
	buf_init(&why, 0);
	if (spool_read(p->sp, SPOOL_INCOMING, id, e, msg, &why) != 0) {
		log_err("%s qmgr: cannot read spool file: %s; moved to "
		    "corrupt/ result=permfail", id, buf_cstr(&why));
		spool_quarantine(p->sp, SPOOL_INCOMING, id);
		rc = -1;
	}
	buf_free(&why);
	return rc;
}

/*
 * incoming_route - every recipient through the routing table; the first
 * list names the message
 */
static enum result
incoming_route(struct pipeline *p, const struct envelope *e,
    const struct buf *msg, int *quarantine, const char **first, struct why *why)
{
	struct listaddr la;
	enum result r = OK;

	for (int i = 0; r == OK && i < e->nrcpts; i++) {
		if (listaddr_parse(p->cfg, e->rcpts[i], &la) < 0) {
			log_warn("%s qmgr: a recipient list no longer exists; "
			    "message kept in corrupt/", p->qid);
			*quarantine = 1;
			continue;
		}
		if (!**first)
			*first = la.list->name;
		p->release = 0;	/* each recipient list decides its own */
		r = route_message(p, &la, e, msg, quarantine, why);
	}
	return r;
}

/* dns_hold_ms - how long a message waiting for DNS holds its lists back */
static long long
dns_hold_ms(const struct pipeline *p)
{
	/* dns.c's default when unset */
	return p->cfg->dns_timeout > 0 ? p->cfg->dns_timeout * 1000LL : 5000;
}

/* incoming_held - is it held back unread (it waited before)? */
static int
incoming_held(struct pipeline *p, struct order *o, const char *id)
{
	const struct buf *known = order_known(o, id);

	/* its parse, or its sender's DNS look-ups, still out: not yet */
	if (!known || (!workpool_busy(id) && !authn_busy(p, id) &&
	    !order_blocked(o, known)))
		return 0;
	if (workpool_busy(id) || order_blocked(o, known))
		(void)order_wait(o, id, known);
	else	/* its DNS alone: its lists held no longer than dns.timeout */
		(void)order_wait_dns(o, id, known, dns_hold_ms(p));
	return 1;
}

/* incoming_wait - stopped for a parse or DNS: undone, its lists held back */
static void
incoming_wait(struct pipeline *p, struct order *o, const char *id,
    const struct buf *lists)
{
	int rc;

	store_rollback(p->st);
	pipeline_rolled_back(p);
	if (workpool_waiting())
		rc = order_wait(o, id, lists);
	else	/* its DNS: see order_wait_dns */
		rc = order_wait_dns(o, id, lists, dns_hold_ms(p));
	if (rc < 0)
		log_warn("%s qmgr: out of memory keeping the order of its "
		    "lists", id);
}

/* process_finish - after the commit: the spool file goes, and what was kept */
static void
process_finish(struct pipeline *p, struct order *o, const char *id,
    int quarantine)
{
	pipeline_committed(p);
	passrand_forget(id);	/* done: its randomness is not needed again */
	if (quarantine)
		spool_quarantine(p->sp, SPOOL_INCOMING, id);
	else
		spool_remove(p->sp, SPOOL_INCOMING, id);
	order_done(o, id);
	p->release = 0;
}

/* pass_slow - a pass that held the loop long says so, with its steps */
static void
pass_slow(const char *id, long read, long route, long all)
{
	if (all >= QMGR_SLOW_MS)
		log_info("%s qmgr: pass of %ld ms (read %ld, handlers %ld, "
		    "commit %ld)", id, all, read, route - read, all - route);
}

/*
 * incoming_process - everything one accepted message causes, in one
 * transaction: PASS_DONE committed. With held (the first sweep), a big
 * message, or one to a list held already, is not handled (PASS_LATER) and
 * its lists are held; *len is the message's size.
 */
enum pass
incoming_process(struct pipeline *p, struct order *o, const char *id,
    struct buf *held, size_t *len)
{
	struct envelope e;
	struct buf msg, lists;
	struct why why = { "" };
	enum result r = OK;
	const char *first = "";
	int quarantine = 0, keep = 0;
	enum pass done = PASS_NONE;
	struct timespec t0;
	long t_read, t_route;

	*len = 0;
	plain_seen(id);
	if (incoming_held(p, o, id))
		return PASS_NONE;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p->qid = id;
	pipeline_begin(p);
	passrand_begin(id);	/* what its passes draw: the same each time */
	p->release = 0;
	buf_init(&msg, 0);
	if (incoming_read(p, id, &e, &msg) < 0) {
		order_done(o, id);
		plain_drop(id);
		passrand_forget(id);
		passrand_end();
		buf_free(&msg);
		return PASS_NONE;
	}
	*len = msg.len;
	t_read = mono_ms_since(&t0);
	buf_init(&lists, 0);
	if (held && order_lists(p->cfg, &e, &lists) == 0 &&
	    (msg.len > QMGR_BIG || order_meet(held, &lists))) {
		/* the second sweep's: its lists' later mail waits for it */
		if (lists.len > 1 &&
		    buf_append(held, lists.data + 1, lists.len - 1) < 0)
			log_warn("%s qmgr: out of memory holding its lists",
			    id);
		done = PASS_LATER;
		keep = 1;
		goto out;
	}
	if (order_lists(p->cfg, &e, &lists) < 0 || order_blocked(o, &lists)) {
		/* behind an earlier message of its lists */
		(void)order_wait(o, id, &lists);
		keep = 1;
		goto out;
	}
	workpool_message(id);
	if (store_begin(p->st) < 0) {
		why_cause(&why, "begin", store_errmsg(p->st));
		r = TEMPFAIL;
	}
	if (r == OK)
		r = incoming_route(p, &e, &msg, &quarantine, &first, &why);
	/* stopped for a parse or a DNS answer: undone, tried when it is in */
	if (r != OK && (workpool_waiting() || authn_busy(p, id))) {
		incoming_wait(p, o, id, &lists);
		pass_slow(id, t_read, mono_ms_since(&t0), mono_ms_since(&t0));
		keep = 1;
		goto out;
	}
	if (r == OK && store_mark_processed(p->st, id, first,
	    quarantine ? "quarantined" : "done") != STORE_OK) {
		why_cause(&why, "marking it processed", store_errmsg(p->st));
		r = TEMPFAIL;
	}
	t_route = mono_ms_since(&t0);
	if (r == OK && store_commit(p->st) < 0) {
		why_cause(&why, "commit", store_errmsg(p->st));
		r = TEMPFAIL;
	}
	if (r != OK) {
		log_warn("%s qmgr: will retry: %s result=tempfail", id,
		    why_text(&why));
		store_rollback(p->st);
		pipeline_rolled_back(p);
		workpool_unkeep(id);	/* a retry finds the sender again */
	} else {
		process_finish(p, o, id, quarantine);
		done = PASS_DONE;
	}
	pass_slow(id, t_read, t_route, mono_ms_since(&t0));
out:
	passrand_end();		/* jobs and actions draw fresh randomness */
	/* the plaintext kept while it waits, else zeroed now */
	if (!keep || !plain_keep(id, &e, &msg))
		plain_wipe(&e, &msg);
	buf_free(&lists);
	return done;
}
