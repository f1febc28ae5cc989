/*
 * jobs.c - what the queue manager does on a clock rather than for a
 * message: digests, key expiry, audit anchors, the moderators' quorum
 * requests, purging old state, expiring unconfirmed posts and authorship
 * links, telling members of a changed role key, putting waiting OpenPGP
 * keys in place, making the keys of a list created while the daemon was
 * stopped. One table {name, interval, function}; each run of a job
 * (for each list, where it is per list) is one transaction: begin, run,
 * commit - or roll back, discard the copies it rendered, and log the cause.
 * A job never waits long for another writer's lock (a long mlistctl import
 * holding the database): it and the jobs after it come back next turn,
 * and the loop goes on to the deliveries.
 */
#include <stdlib.h>
#include <string.h>

#include "actions/actions.h"
#include "delivery/digest.h"
#include "delivery/distribute.h"
#include "leadership/confirm.h"
#include "leadership/quorum.h"
#include "leadership/rolekey.h"
#include "mail/audit.h"
#include "pipeline/pgpreplace.h"
#include "qmgr/jobs.h"
#include "util/log.h"

typedef int (*job_fn)(struct pipeline *, const struct list_cfg *, struct why *);
typedef int (*job_due_fn)(struct pipeline *, const struct list_cfg *);

static int job_digest(struct pipeline *, const struct list_cfg *, struct why *);
static int job_key_expiry(struct pipeline *, const struct list_cfg *, struct why *);
static int job_audit_head(struct pipeline *, const struct list_cfg *, struct why *);
static int job_quorum_ask(struct pipeline *, const struct list_cfg *, struct why *);
static int job_purge(struct pipeline *, const struct list_cfg *, struct why *);
static int job_expire_unconfirmed(struct pipeline *, const struct list_cfg *, struct why *);
static int job_identity_expire(struct pipeline *, const struct list_cfg *, struct why *);

enum { JOB_GLOBAL = 0, JOB_PER_LIST = 1, JOB_OWN_TXN = 2 };

/*
 * name, seconds between runs (0: every turn of the loop), how it runs,
 * whether a list has anything to do (NULL: always; asked before the
 * transaction, so an idle job costs no write lock), what it does
 */
static const struct job {
	const char	*name;
	long long	 interval;
	int		 how;
	job_due_fn	 due;
	job_fn		 fn;
} jobs[] = {
	/* first: a list made while the daemon was stopped gets its keys */
	{ "list-keys",		60,	JOB_PER_LIST,	act_list_keys_due,
	  act_list_keys_job },
	{ "digest",		0,	JOB_PER_LIST,	digest_due,	job_digest },
	{ "key-expiry",		1,	JOB_PER_LIST,	NULL,		job_key_expiry },
	{ "audit-head",		1,	JOB_PER_LIST,	NULL,		job_audit_head },
	/* quorum.c opens one transaction per request itself */
	{ "quorum-ask",		0,	JOB_OWN_TXN,	NULL,		job_quorum_ask },
	{ "purge",		3600,	JOB_GLOBAL,	NULL,		job_purge },
	{ "expire-unconfirmed",	60,	JOB_PER_LIST,	NULL,		job_expire_unconfirmed },
	/* retention: anonymous authorship links and old archive posts are erased */
	{ "identity-expire",	60,	JOB_PER_LIST,	NULL,		job_identity_expire },
	/* members told once when the moderators' role key has changed */
	{ "role-key",		60,	JOB_PER_LIST,	rolekey_due,
	  rolekey_announce },
	/* a member's new OpenPGP key that waited openpgp.replace_delay (#17) */
	{ "pgp-replace",	1,	JOB_PER_LIST,	pgpreplace_due,
	  pgpreplace_job },
};

#define NJOBS	(sizeof(jobs) / sizeof(jobs[0]))

/*
 * JOBS_BUSY_MS - how long a job's transaction waits for another writer.
 * With the store's 10 s, a locked database held the loop 10 s per job per
 * list each turn (key-expiry and audit-head: 21 s before any delivery was
 * tried again, #15); a job skipped this turn is simply due next turn.
 */
#define JOBS_BUSY_MS	50

/* the value of jobs_txn when another writer held the lock */
#define JOBS_LOCKED	(-2)

struct jobs_state {
	long long	 last[NJOBS];
	int		 locked;	/* the last turn met a locked database */
};

/* jobs_new - nothing has run yet: every job runs on the first turn */
struct jobs_state *
jobs_new(void)
{
	return calloc(1, sizeof(struct jobs_state));
}

/* jobs_free - the state of the clock */
void
jobs_free(struct jobs_state *js)
{
	free(js);
}

/*
 * jobs_txn - one run of fn in one transaction; -1 (rolled back, logged
 * with the cause) if it failed, JOBS_LOCKED (not logged) if another
 * connection held the write lock at its begin
 */
int
jobs_txn(struct pipeline *p, const char *name, const struct list_cfg *l,
    int (*fn)(struct pipeline *, const struct list_cfg *, struct why *))
{
	struct why why = { "" };

	p->qid = "NOQUEUE";
	pipeline_begin(p);
	if (store_begin(p->st) < 0) {
		if (store_locked(p->st)) {
			pipeline_rolled_back(p);
			return JOBS_LOCKED;
		}
		why_cause(&why, "begin", store_errmsg(p->st));
	}
	else if (fn(p, l, &why) < 0)
		why_set(&why, "failed");
	else if (store_commit(p->st) < 0)
		why_cause(&why, "commit", store_errmsg(p->st));
	else {
		pipeline_committed(p);
		return 0;
	}
	store_rollback(p->st);
	pipeline_rolled_back(p);
	log_err("NOQUEUE qmgr: list=%s %s: %s; will retry result=tempfail", l ? l->name : "-", name,
	    why_text(&why));
	return -1;
}

/* jobs_one - one job, on every list it concerns; JOBS_LOCKED: stopped there */
static int
jobs_one(struct pipeline *p, const struct job *job, volatile sig_atomic_t *stop)
{
	int r = 0;

	if (job->how == JOB_OWN_TXN)
		(void)job->fn(p, NULL, NULL);
	else if (job->how == JOB_GLOBAL)
		r = jobs_txn(p, job->name, NULL, job->fn);
	else
		for (int i = 0; i < p->cfg->nlists && !*stop; i++) {
			const struct list_cfg *l = &p->cfg->lists[i];

			if ((!job->due || job->due(p, l)) &&
			    (r = jobs_txn(p, job->name, l, job->fn)) ==
			    JOBS_LOCKED)
				break;
		}
	return r == JOBS_LOCKED ? r : 0;
}

/*
 * jobs_locked - the jobs stop for this turn at a locked database; said
 * once a lock, not once a second
 */
static void
jobs_locked(struct jobs_state *js, const char *name, int locked)
{
	if (locked && !js->locked)
		log_warn("NOQUEUE qmgr: %s: database is locked by another "
		    "writer; the jobs wait, deliveries go on", name);
	else if (!locked && js->locked)
		log_info("NOQUEUE qmgr: database unlocked; the jobs go on");
	js->locked = locked;
}

/* jobs_run - every job that is due, each list in its own transaction */
void
jobs_run(struct pipeline *p, struct jobs_state *js, volatile sig_atomic_t *stop)
{
	int locked = 0;

	if (store_busy_wait(p->st, JOBS_BUSY_MS) < 0)
		log_warn("NOQUEUE qmgr: cannot shorten the jobs' lock wait");
	for (size_t j = 0; j < NJOBS && !*stop && !locked; j++) {
		const struct job *job = &jobs[j];
		long long last = js->last[j];

		if (job->interval && last && p->now - last < job->interval)
			continue;
		js->last[j] = p->now;
		if (jobs_one(p, job, stop) == JOBS_LOCKED) {
			js->last[j] = last;	/* due again next turn */
			locked = 1;
			jobs_locked(js, job->name, 1);
		}
	}
	if (!locked && !*stop)
		jobs_locked(js, "", 0);
	/* the messages and deliveries wait as long as they always did */
	(void)store_busy_wait(p->st, STORE_BUSY_MS);
}

/* job_digest - a list whose digest is due: taken, built and queued */
static int
job_digest(struct pipeline *p, const struct list_cfg *l, struct why *why)
{
	int n, rcpts = 0;

	if ((n = digest_send(p, l, &rcpts)) < 0) {
		why_cause(why, "building the digest", store_errmsg(p->st));
		return -1;
	}
	log_info("NOQUEUE qmgr: list=%s digest posts=%d rcpts=%d%s%s result=ok", l->name, n, rcpts,
	    p->nout ? " out=" : "", p->nout ? p->out[0] : "");
	return 0;
}

struct key_due {
	struct pipeline		*p;
	const struct list_cfg	*l;
	int			 failed;
};

/* key_due_one - remind a member that their key expires soon, or tell them it has and stop using it */
static void
key_due_one(long long member_id, const char *addr, long long expires, int expired, void *arg)
{
	struct key_due *k = arg;
	const struct list_cfg *l = k->l;
	int required = l->encryption == ENC_REQUIRED;
	char day[11];
	const char *vars[] = { "day", day, NULL };

	if (k->failed)
		return;
	keys_expiry_format(expires, day);
	/*
	 * an expired key is dropped before the notice is made: a notice to a
	 * member with a key is encrypted to it, and this one must reach them
	 */
	if ((expired && store_enc_key_done(k->p->st, member_id, 1) != STORE_OK) ||
	    distribute_notice_tmpl(k->p, l, addr, expired ?
	    (required ? NOTICE_KEY_EXPIRED_REQUIRED : NOTICE_KEY_EXPIRED) :
	    (required ? NOTICE_KEY_EXPIRING_REQUIRED : NOTICE_KEY_EXPIRING), vars, ENV_NULL, "", NULL) < 0 ||
	    (!expired && store_enc_key_done(k->p->st, member_id, 0) != STORE_OK))
		k->failed = 1;
	else
		log_info("NOQUEUE qmgr: list=%s a member's encryption key %s result=ok", l->name,
		    expired ? "expired and was dropped" : "expires soon; member reminded");
}

/* job_key_expiry - stated key expiries: a reminder key_warn_days ahead, then the key is dropped */
static int
job_key_expiry(struct pipeline *p, const struct list_cfg *l, struct why *why)
{
	struct key_due k = { p, l, 0 };

	if (store_enc_keys_due(p->st, l->name, p->now, p->now + l->key_warn_days * 86400LL,
	    key_due_one, &k) < 0 || k.failed) {
		why_cause(why, "key expiry", store_errmsg(p->st));
		return -1;
	}
	return 0;
}

/* job_audit_head - move the list's audit anchor up to its last entry; a cut log is reported hourly */
static int
job_audit_head(struct pipeline *p, const struct list_cfg *l, struct why *why)
{
	static long long warned;
	char text[300];

	(void)why;
	if (audit_head_sync(p->st, p->cfg->state_dir, l->name, text, sizeof(text)) < 0 &&
	    p->now - warned > 3600) {
		log_err("NOQUEUE qmgr: list=%s audit log: %s", l->name, text);
		warned = p->now;
	}
	return 0;	/* a cut log is for the operator: nothing to retry */
}

/* job_quorum_ask - mail the moderators about new quorum requests (its own transactions) */
static int
job_quorum_ask(struct pipeline *p, const struct list_cfg *l, struct why *why)
{
	(void)l;
	(void)why;
	quorum_ask_new(p);
	return 0;
}

/* job_purge - finished deliveries older than a week */
static int
job_purge(struct pipeline *p, const struct list_cfg *l, struct why *why)
{
	(void)l;
	if (store_purge_done(p->st, p->now - 7 * 86400) < 0) {
		why_cause(why, "purge", store_errmsg(p->st));
		return -1;
	}
	return 0;
}

struct stale {
	long long	 before;
	char		 ids[64][QID_LEN + 1];
	int		 n;
};

static void
stale_one(const char *id, const char *reason, long long at, void *arg)
{
	struct stale *s = arg;

	if (strcmp(reason, "confirm") == 0 && at < s->before && s->n < 64 && strlen(id) == QID_LEN)
		memcpy(s->ids[s->n++], id, QID_LEN + 1);
}

/* job_expire_unconfirmed - posts nobody confirmed in time are gone: the row and the held copy */
static int
job_expire_unconfirmed(struct pipeline *p, const struct list_cfg *l, struct why *why)
{
	struct stale s = { p->now - CONFIRM_DAYS * 86400LL - 3600, { "" }, 0 };
	char reason[64];

	if (store_held_each(p->st, l->name, stale_one, &s) < 0) {
		why_cause(why, "held posts", store_errmsg(p->st));
		return -1;
	}
	for (int k = 0; k < s.n; k++)
		if (store_held_take(p->st, l->name, s.ids[k], reason, sizeof(reason)) == STORE_OK) {
			(void)pipeline_drop_later(p, s.ids[k]);
			log_info("%s qmgr: list=%s held post never confirmed; expired result=ok", s.ids[k],
			    l->name);
		}
	return 0;
}

/* job_identity_expire - anonymous authorship links and archive posts past their time */
static int
job_identity_expire(struct pipeline *p, const struct list_cfg *l, struct why *why)
{
	long long before = l->archive_days ? p->now - l->archive_days * 86400LL : 0;

	if (store_identity_expire(p->st, l->name, p->now, before) < 0) {
		why_cause(why, "identity expiry", store_errmsg(p->st));
		return -1;
	}
	return 0;
}
