/*
 * qmgr.c - the queue manager: the loop, the queue lock and recovery.
 *
 * For each file in queue/incoming, oldest first, one database transaction
 * records everything that message causes - rendered copies (written to
 * queue/out before the commit), deliveries, notices, counters - together
 * with "this queue id is processed". Only after that commit is the
 * incoming file removed. A crash before the commit leaves the file to be
 * processed again (orphaned copies are swept at start-up); a crash after
 * it finds the id processed and just removes the file. So a message
 * answered 250 is handled exactly once.
 *
 * One message's pass is incoming.c's; what a message to each address does
 * is pipeline/route.c's table; what runs on a clock is jobs.c's. After
 * each message committed, and after the jobs, the deliveries that are due
 * start as a run of their own (deliver.c):
 * its threads talk to the relay while the loop goes on, and the loop
 * records their results when the run is done. The process sleeps until
 * the SMTP server nudges it, a parse or a run finishes, the next retry is
 * due, or a second passes.
 *
 * No message is waited for: a message whose parse is not ready is rolled
 * back and left while its parse runs in the pool (pipeline/workpool.c),
 * and handled again, from the start, when the answer is in. Mail to its
 * lists waits behind it; other lists' mail goes on (order.c). The same for
 * the DNS look-ups of its sender's authentication (pipeline/authn.c): the
 * loop polls the resolver, never waits on it.
 *
 * A turn's work is bounded: small messages first (a big one, and later
 * mail to its lists, is left for the second sweep), then at most one big
 * message, and the next turn starts at once. The passes over a big post
 * (the leak guard's scan, the signatures, the encrypted copy) take a
 * fraction of a second each under load; an ordinary post to another list
 * waits for at most one of them, not for every big one ahead of it. A pass
 * of QMGR_SLOW_MS or more logs its steps' times.
 *
 * A message that waits is read once: its plaintext is kept for its next
 * pass (plain.c), and what its passes draw at random (Message-ID,
 * boundaries, a one-time key) and its signatures' time are the same in
 * each (pipeline/passrand.c): a pass made again makes the same copy. A
 * list deleted or a member removed while a delivery run is out: the run
 * sends them nothing more (deliver_prune, after control actions and
 * committed messages).
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "control/server.h"
#include "delivery/bounce.h"
#include "delivery/deliver.h"
#include "pipeline/authn.h"
#include "pipeline/passrand.h"
#include "pipeline/workpool.h"
#include "mail/openpgp.h"
#include "qmgr/incoming.h"
#include "qmgr/jobs.h"
#include "qmgr/order.h"
#include "qmgr/plain.h"
#include "qmgr/qmgr.h"
#include "util/log.h"
#include "util/mono.h"

/*
 * The write-ahead log: checkpointed (by a thread of its own: the loop only
 * asks) when the loop is idle and it holds
 * QMGR_WAL_IDLE frames (4 KiB each; fewer would cost two fsyncs after
 * every small post), QMGR_WAL_BUSY while runs are out (SQLite's own
 * point), and in a commit only beyond QMGR_WAL_MAX
 */
#define QMGR_WAL_IDLE	256
#define QMGR_WAL_BUSY	1000
#define QMGR_WAL_MAX	10000

/*
 * The page cache, KiB: a 10,000-member post's rows (3-7 MB with VERP)
 * and its members' read from memory, not through the kernel, when the
 * run starts (SQLite's default is 2 MB)
 */
#define QMGR_CACHE_KIB	16384

/*
 * Blocks of QMGR_MMAP_KIB or more are mapped on their own, and unmapped
 * when freed. glibc raises that threshold by itself to the largest mapped
 * block freed (up to 32 MiB): once a 10,000-member run had freed its
 * 12 MB of jobs, the next post's jobs, and every copy realloc made of
 * them, came from the heap and stayed resident after it (#17: 7 MiB of
 * a 65 MiB peak). Set, the threshold stays where it was.
 */
#define QMGR_MMAP_KIB	128

/*
 * Free memory above this at a heap's top is given back to the kernel.
 * Setting the mapping threshold also stops glibc raising this one with it
 * (to 24 MB, after a 10,000-member run); left at its 128 KiB, the
 * OpenPGP copies gave back and faulted in again the top of their threads'
 * heaps: three 1,000-member posts, 7,400 page faults, became 21,000.
 */
#define QMGR_TRIM_KIB	1024

/* how long an exiting queue manager tries to record kept delivery results */
#define QMGR_SETTLE_MAX	300

static volatile sig_atomic_t qmgr_stop, qmgr_reload;
static int turn_more;	/* the turn left work: the next one at once */

/* qmgr_signal - SIGHUP reloads, SIGTERM stops after the current message */
static void
qmgr_signal(int sig)
{
	if (sig == SIGHUP)
		qmgr_reload = 1;
	else
		qmgr_stop = 1;
}

/* sweep_orphans - rendered copies that nothing refers to (a crash before commit) */
static void
sweep_orphans(struct pipeline *p)
{
	char **ids;
	int n = spool_list(p->sp, SPOOL_OUT, &ids);

	for (int i = 0; i < n; i++)
		/* an error (-1) from either keeps the copy: it may be referred to */
		if (store_pending_for(p->st, ids[i]) == 0 && store_is_held(p->st, ids[i]) == 0) {
			log_info("%s qmgr: rendered copy without deliveries (crash before commit); removed", ids[i]);
			spool_remove(p->sp, SPOOL_OUT, ids[i]);
		}
	spool_list_free(ids, n > 0 ? n : 0);
}

/* on_failed - a 5xx from the relay counts as a bounce */
static void
on_failed(const char *list, const char *rcpt, void *arg)
{
	struct pipeline *p = arg;
	const struct list_cfg *l = config_list_find(p->cfg, list);

	if (!l || store_begin(p->st) < 0)
		return;
	pipeline_begin(p);
	bounce_member(p, l, rcpt);
	if (store_commit(p->st) < 0) {
		store_rollback(p->st);
		pipeline_rolled_back(p);
	} else
		pipeline_committed(p);
}

/*
 * run_deliveries - the runs that are done recorded (waiting for all if
 * wait), then a run of what is due; failures feed the bounce score.
 * Returns the deliveries started.
 */
static int
run_deliveries(struct pipeline *p, int wait)
{
	struct timespec t0, t1;
	int done, n = 0;

	p->qid = "NOQUEUE";
	p->nout = 0;
	/* results only: a power cut costs a duplicate at most */
	store_durable(p->st, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	(void)deliver_prune(p->cfg, p->st);	/* a member gone meanwhile */
	done = deliver_reap(p->sp, wait, on_failed, p);
	if (!wait)
		n = deliver_start(p->cfg, p->st, p->sp, (long long)time(NULL));
	store_durable(p->st, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (done || n)
		log_info("NOQUEUE qmgr: delivery run: %d recorded, %d started, "
		    "%d runs out (%ld ms in the loop)", done, n, deliver_out(),
		    (long)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000));
	return n;
}

/*
 * lock_queue - one queue manager per state directory, ever. Two would
 * deliver the same posts twice (say, an orphan of a daemon killed with
 * SIGKILL and the new daemon's). The lock dies with its holder.
 */
static int
lock_queue(const struct config *cfg)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/queue/qmgr.lock", cfg->state_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		log_err("NOQUEUE qmgr: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		log_warn("NOQUEUE qmgr: another queue manager holds %s; waiting for it to exit", path);
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR || qmgr_stop) {
				(void)close(fd);
				return -1;
			}
	}
	return 0;	/* fd stays open: the lock is held until the process exits */
}

/* qmgr_open - the database, the queue lock, then recovery: the journal and orphaned copies */
static int
qmgr_open(struct pipeline *p, struct config *cfg, const struct keys *k, struct spool *sp)
{
	struct buf err;
	char dbpath[4200];

	memset(p, 0, sizeof(*p));
	buf_init(&err, 0);
	snprintf(dbpath, sizeof(dbpath), "%s/mlistd.db", cfg->state_dir);
	if ((p->st = store_open(dbpath, k, &err)) == NULL) {
		log_err("NOQUEUE qmgr: %s", buf_cstr(&err));
		buf_free(&err);
		return -1;
	}
	buf_free(&err);
	p->cfg = cfg;
	p->keys = k;
	p->sp = sp;
	if (lock_queue(cfg) < 0) {
		store_close(p->st);
		return -1;
	}
	if (store_cache(p->st, QMGR_CACHE_KIB) < 0)
		log_warn("NOQUEUE qmgr: page cache: %s", store_errmsg(p->st));
	/*
	 * a sanitizer's malloc ignores them: only memory, so not a warning.
	 * Each tried: the mapping one set alone fixes the trim one at its
	 * 128 KiB, the page faults QMGR_TRIM_KIB is there to spare
	 */
	if (mallopt(M_MMAP_THRESHOLD, QMGR_MMAP_KIB * 1024) != 1)
		log_info("NOQUEUE qmgr: malloc keeps its own mapping "
		    "threshold");
	if (mallopt(M_TRIM_THRESHOLD, QMGR_TRIM_KIB * 1024) != 1)
		log_info("NOQUEUE qmgr: malloc keeps its own trim threshold");
	(void)store_checkpoint_later(p->st, QMGR_WAL_MAX);
	/* a big post's frames copied beside the loop, not in it (#15) */
	if (store_checkpoint_beside(p->st) < 0)
		log_warn("NOQUEUE qmgr: checkpoint thread: %s; checkpoints "
		    "stay in the loop", store_errmsg(p->st));
	p->now = (long long)time(NULL);
	qmgr_recover(p);
	return 0;
}

/*
 * qmgr_recover - what the daemon before left: its journal's results first
 * (kept in memory if the database cannot take them), so that no delivery
 * they settled is chosen as due again; then orphaned copies
 */
void
qmgr_recover(struct pipeline *p)
{
	int n;

	if ((n = deliver_journal_replay(p->cfg, p->st)) > 0)
		log_info("NOQUEUE qmgr: %d delivery results recovered from "
		    "the journal", n);
	sweep_orphans(p);
}

/*
 * sweep - one pass over the listing: the first (held set) takes the small
 * messages and marks the rest in later; the second takes those marked, up
 * to one big one. Each message's copies start out at once, not after the
 * rest of the turn.
 */
static void
sweep(struct pipeline *p, struct order *o, char **ids, int n, char *later,
    struct buf *held)
{
	enum pass r;
	size_t len;

	for (int i = 0; i < n && !qmgr_stop; i++) {
		if (!held && !later[i])
			continue;
		r = incoming_process(p, o, ids[i], held, &len);
		if (held)
			later[i] = r == PASS_LATER;
		if (r == PASS_DONE)
			(void)run_deliveries(p, 0);
		if (!held && len > QMGR_BIG && i + 1 < n) {
			turn_more = 1;	/* the rest in the next turn */
			return;
		}
	}
}

/* qmgr_turn - the incoming messages, the jobs that are due, the deliveries; deliveries tried */
static int
qmgr_turn(struct pipeline *p, struct jobs_state *js, struct order *o)
{
	struct buf held;
	char **ids, *later;
	int n;

	p->now = (long long)time(NULL);
	(void)workpool_service();
	(void)authn_service(p);
	workpool_turn();
	order_turn_begin(o);
	plain_turn_begin();
	turn_more = 0;
	if ((n = spool_list(p->sp, SPOOL_INCOMING, &ids)) >= 0) {
		for (int i = 0; i < n; i++)
			plain_seen(ids[i]);	/* still there: kept */
		if ((later = calloc((size_t)n + 1, 1)) == NULL) {
			log_warn("NOQUEUE qmgr: out of memory for a turn");
			turn_more = 1;
		} else {
			buf_init(&held, 0);
			(void)buf_append(&held, "\n", 1);
			sweep(p, o, ids, n, later, &held);
			sweep(p, o, ids, n, later, NULL);
			buf_free(&held);
			free(later);
			if (!qmgr_stop) {	/* not after a failed listing */
				order_turn_end(o);
				plain_turn_end();
			}
		}
	}
	spool_list_free(ids, n > 0 ? n : 0);
	p->now = (long long)time(NULL);
	jobs_run(p, js, &qmgr_stop);
	return run_deliveries(p, 0);
}

/* qmgr_wait_ms - until the next retry is due, at most a second; none if more is due now */
static int
qmgr_wait_ms(struct pipeline *p, int tried)
{
	long long next = store_next_due(p->st);
	int wait = 1000;

	if (deliver_backlog())	/* results wait for the database: back off, never spin */
		return wait;
	if (turn_more)
		return 0;	/* big messages left for the next turn */
	if (next >= 0 && next <= p->now && !tried && deliver_out())
		return wait;	/* due, in the runs out: their end wakes us */
	if (next >= 0 && next <= p->now && tried)
		wait = 0;
	else if (next >= 0 && (next - p->now) * 1000 < wait)
		wait = (int)((next - p->now) * 1000);
	return wait < 0 ? 0 : wait;
}

/*
 * qmgr_idle - nothing to do before the next wake: the log checkpointed
 * (qmgr_open made the store wait for this). A 10,000-member post's
 * commit copied the last post's thousand frames into the database
 * between its 250 and its first copy sent.
 */
static void
qmgr_idle(struct pipeline *p)
{
	struct timespec t0;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = store_checkpoint_idle(p->st, deliver_out() ? QMGR_WAL_BUSY :
	    QMGR_WAL_IDLE);
	if (n < 0)
		log_warn("NOQUEUE qmgr: checkpoint: %s", store_errmsg(p->st));
	else if (n > 0 && mono_ms_since(&t0) >= QMGR_SLOW_MS)
		log_info("NOQUEUE qmgr: checkpoint of %d frames: %lld ms", n,
		    mono_ms_since(&t0));
}

/*
 * qmgr_sleep - poll the wake pipe (the SMTP server writes a byte per new
 * message), the control socket and its connections (mlistctl's changing
 * verbs; each connection non-blocking, control/server.c) and the parses in
 * flight (a finished one ends the sleep). -1 when the pipe's write end is
 * gone: the daemon died, and spinning on a dead pipe would help nobody.
 */
static int
qmgr_sleep(int wake_fd, struct control *ctl, struct pipeline *p, struct config **cfg, const char *path,
    int wait)
{
	struct pollfd pfd[2 + CONTROL_MAX_CONNS + 1 + WORKPOOL_MAX + 1 + 1];
	char drain[256];
	ssize_t got;
	int n = 2, ms = -1, r, ended;

	pfd[0] = (struct pollfd){ .fd = wake_fd, .events = POLLIN };
	/* a run's last thread writes here: recorded in the next turn */
	pfd[1] = (struct pollfd){ .fd = deliver_pollfd(), .events = POLLIN };
	n += control_pollfds(ctl, pfd + n, CONTROL_MAX_CONNS + 1, &ms);
	n += workpool_pollfds(pfd + n, WORKPOOL_MAX + 1, &ms);
	/* the resolver, while a sender's look-ups are out: answers, deadlines */
	n += authn_pollfds(p, pfd + n, 1, &ms);
	if (ms >= 0 && ms < wait)
		wait = ms;	/* a parse's or a connection's deadline */
	r = poll(pfd, (nfds_t)n, wait);
	/* deadlines too, so also on a timeout */
	control_work_actions(ctl, p, cfg, path);
	/* a list deleted, a member removed: the runs out send them no more */
	(void)deliver_prune(p->cfg, p->st);
	/* both read, whichever ended: a parse, a look-up, a run */
	ended = workpool_service();
	ended |= authn_service(p);
	if (ended || r <= 0 || pfd[1].revents)
		return 0;	/* the next turn now */
	if (!(pfd[0].revents & (POLLIN | POLLHUP)))
		return 0;
	while ((got = read(wake_fd, drain, sizeof(drain))) > 0)
		;
	if (got == 0) {
		log_warn("NOQUEUE qmgr: the daemon is gone; exiting");
		return -1;
	}
	return 0;
}

/*
 * pool_size - limits.workers, or twice the CPUs (at least 4: a slow parse
 * never takes them all)
 */
static int
pool_size(const struct config *cfg)
{
	int n = cfg->workers > 0 ? cfg->workers : 2 * get_nprocs();

	n = n < 4 && cfg->workers <= 0 ? 4 : n;
	n = n > WORKPOOL_MAX ? WORKPOOL_MAX : n;
	log_info("NOQUEUE qmgr: up to %d parses at once%s", n,
	    cfg->workers > 0 ? "" : " (limits.workers unset: from the CPUs)");
	return n;
}

/* qmgr_run - the loop; returns the exit status */
int
qmgr_run(const char *path, struct config *cfg, const struct keys *k, struct spool *sp, int wake_fd)
{
	struct pipeline p;
	struct sigaction sa;
	struct jobs_state *js;
	struct control ctl;
	struct order *o;
	struct buf err;
	int tried, wait;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = qmgr_signal;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_IGN);
	if ((js = jobs_new()) == NULL || (o = order_new()) == NULL) {
		log_err("NOQUEUE qmgr: out of memory");
		jobs_free(js);
		return 1;
	}
	if (qmgr_open(&p, cfg, k, sp) < 0) {
		jobs_free(js);
		order_free(o);
		return 1;
	}
	workpool_init(pool_size(cfg));
	/* without the control socket mlistctl cannot change anything; the mail goes on */
	buf_init(&err, 0);
	if (control_listen(&ctl, cfg->state_dir, &err) < 0)
		log_err("NOQUEUE qmgr: control socket: %s", buf_cstr(&err));
	buf_free(&err);
	while (!qmgr_stop) {
		if (qmgr_reload) {
			qmgr_reload = 0;
			/* the key cache is flushed below: no run may use it */
			(void)run_deliveries(&p, 1);
			pipeline_reload(&p, &cfg, path, "qmgr");
			openpgp_cache_flush();	/* keys are read again */
		}
		tried = qmgr_turn(&p, js, o);
		if ((wait = qmgr_wait_ms(&p, tried)) > 0)
			qmgr_idle(&p);
		if (qmgr_sleep(wake_fd, &ctl, &p, &cfg, path, wait) < 0)
			break;
	}
	(void)run_deliveries(&p, 1);	/* the runs out end, recorded */
	/* nothing the relay took may be forgotten: it would be sent again */
	(void)deliver_settle(cfg, p.st, QMGR_SETTLE_MAX);
	control_close(&ctl);
	plain_free_all();
	passrand_free_all();
	openpgp_cache_flush();
	jobs_free(js);
	order_free(o);
	store_close(p.st);
	pipeline_free(&p);
	config_free(cfg);
	return 0;
}
