/*
 * deliver.c - take the deliveries that are due and make them.
 *
 * Each row carries the class of copy distribute decided (plain, OpenPGP
 * to the member's key, one-click copy, notice): deliver executes that class
 * and decides nothing about who gets which bytes. An OpenPGP copy is
 * signed once per post (when the run loads the post) and encrypted per
 * member by the delivery threads through the key cache
 * (mail/openpgp_cache.c), which keeps members' keys loaded across posts.
 * Due deliveries are read from the store in (message, envelope sender)
 * order and cut into batches of up to relay.max_recipients: one SMTP
 * transaction per batch, since every recipient of a batch gets the same
 * bytes; each carries its own envelope id (envid.c), by which a DSN is
 * bound to the members of that one transaction. relay.connections
 * threads each keep one relay connection open and take batches from a
 * shared cursor, each the next one ahead, so that its envelope can go
 * with this one's body (struct ready). After every batch its outcome is
 * committed (2xx delivered, 5xx failed, 4xx or a lost connection retried
 * with exponential backoff until the list's max_retry_time), so a restart
 * resends only what the relay had not yet accepted - see record() for how
 * that is made cheap. A rendered copy is removed once none of its
 * deliveries is pending.
 *
 * Beside the runs, the delivery journal: each batch's outcome is one
 * append (record), replayed into the store at start-up
 * (deliver_journal_replay) and settled before the queue manager exits
 * (deliver_settle), so that a 250 from the relay is never forgotten; and
 * relay.maildir, which delivers into maildirs instead of to a relay
 * (deliver_maildir, maildir_worker).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "delivery/deliver.h"
#include "delivery/deliver_smtp.h"
#include "delivery/distribute.h"
#include "delivery/envid.h"
#include "mail/dkim.h"
#include "mail/header.h"
#include "delivery/pgpcopy.h"
#include "mail/listkey.h"
#include "mail/listpgp.h"
#include "pipeline/sign.h"
#include "util/fsutil.h"
#include "util/log.h"

#define DUE_LIMIT	20000	/* per run; the queue manager runs again at once while more is due */

struct job {
	struct delivery	 d;
	int		 code;
	char		 text[SMTP_TEXT_MAX];	/* the relay's reply, addresses redacted */
	int		 cancelled;	/* its row went (deliver_prune; lock) */
	int		 skipped;	/* so not sent, nor recorded (thread) */
	int		 ahead;		/* a thread holds it ready, not yet
					 * sent: still cancellable (lock) */
};

struct message {
	char		 qid[32];
	int		 ok;
	int		 busy;		/* not readable now (not corrupt): retried */
	struct buf	 bytes;		/* dot-stuffed for SMTP, raw for maildir */
	struct buf	 raw;		/* as rendered: what an encrypted copy holds */
	int		 pgp;		/* post signed: OpenPGP copies can be made */
	struct pgpcopy_post post;	/* what every OpenPGP copy of it shares */
	int		 signing;		/* seed and selector loaded: per-member copies can be signed */
	unsigned char	*seed;	/* the DKIM key, expanded (sodium_malloc) */
	char		 selector[SELECTOR_MAX];
};

struct batch {
	int		 first, n;	/* jobs[first .. first+n) */
	struct message	*msg;
};

struct run {
	const struct config *cfg;	/* held (config_hold) while out */
	struct store	*st;		/* the queue manager's thread's */
	const struct keys *keys;
	long long	 now;
	struct job	*jobs;
	int		 njobs, cap;
	int		*byid;		/* jobs by (qid, hash): in flight */
	struct batch	*batches;
	int		 nbatches;
	int		 next;		/* next batch to take */
	int		 jfd;		/* the delivery journal (append) */
	int		 jwarned;	/* its failure logged once per run */
	struct message	*msgs;
	int		 nmsg;
	pthread_t	*th;
	int		 nthreads;
	int		 left;		/* threads still sending */
	pthread_mutex_t	 lock;		/* next, left, jwarned, cancelled */
};

static int in_flight(const char *qid, const unsigned char *hash);

/*
 * not_due - store callback, before a due row is opened: a kept result
 * settles it or a run out has it
 */
static int
not_due(const char *qid, const unsigned char *hash, void *arg)
{
	const struct run *r = arg;

	return deliver_result_blocks(qid, hash, r->now) ||
	    in_flight(qid, hash);
}

/* collect - store callback: keep one due delivery (not_due let it by) */
static void
collect(struct delivery *d, void *arg)
{
	struct run *r = arg;

	if (r->njobs == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		if ((r->jobs = realloc(r->jobs, sizeof(*r->jobs) * (size_t)r->cap)) == NULL)
			abort();
	}
	memset(&r->jobs[r->njobs], 0, sizeof(r->jobs[r->njobs]));
	r->jobs[r->njobs].d = *d;
	r->njobs++;
}

/* pgp_for - the class distribute recorded: OpenPGP to the member's key */
static int
pgp_for(const struct delivery *d)
{
	return d->dclass == DCLASS_OPENPGP;
}

/* oneclick_for - the class distribute recorded: the copy carries the member's own one-click link */
static int
oneclick_for(const struct delivery *d)
{
	return d->dclass == DCLASS_ONECLICK;
}

/*
 * oneclick_copy - the member's copy with List-Unsubscribe naming them
 * (https and mailto, each with their token) and List-Unsubscribe-Post; the
 * list's DKIM signature is made again over it, since RFC 8058 wants both
 * headers signed (dot-stuffed for SMTP if smtp).
 */
static int
oneclick_copy(const struct run *r, const struct job *j, const struct message *m, int smtp, struct buf *out)
{
	const struct list_cfg *l = config_list_find(r->cfg, j->d.list);
	char token[KEYS_ONECLICK_LEN + 1];
	struct buf w, sig;
	struct hdr h;
	int ours = 0, rc = -1;

	if (!l || !m->signing || hdr_parse((const char *)m->raw.data, m->raw.len, &h) < 0)
		return -1;
	keys_oneclick_token(r->keys, l->name, j->d.member_id, token);
	buf_init(&w, 0);
	buf_init(&sig, 0);
	for (int i = 0; i < h.n; i++) {
		if (hdr_is(&h.f[i], "List-Unsubscribe") || hdr_is(&h.f[i], "List-Unsubscribe-Post"))
			continue;
		if (!ours && hdr_is(&h.f[i], "DKIM-Signature")) {
			ours = 1;	/* the list's own, on top: made again below */
			continue;
		}
		buf_append(&w, h.f[i].start, h.f[i].len);
	}
	buf_printf(&w, "List-Unsubscribe: <%s%s/%s>", l->one_click_url, l->name, token);
	if (strlen(l->name) + 13 + KEYS_ONECLICK_LEN <= 64)	/* the mailto form, where its local part fits */
		buf_printf(&w, ",\r\n <mailto:%s-unsubscribe+%s@%s>", l->name, token, r->cfg->hostname);
	buf_puts(&w, "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n");
	buf_append(&w, m->raw.data + h.body_off, m->raw.len - h.body_off);
	if (dkim_sign_sk(m->seed, r->cfg->hostname, m->selector, r->now,
	    (const char *)w.data, w.len, NULL, &sig) == 0 &&
	    buf_append(&sig, w.data, w.len) == 0) {
		if (smtp)
			smtp_dot_stuff(sig.data, sig.len, out);
		else
			buf_append(out, sig.data, sig.len);
		rc = 0;
	}
	hdr_free(&h);
	buf_free(&w);
	buf_free(&sig);
	return rc;
}

/* out_copy - a copy for one member, DKIM-signed first when sign (dot-stuffed for SMTP if smtp) */
static int
out_copy(const struct run *r, const struct message *m, const struct buf *w, int sign, int smtp,
    struct buf *out)
{
	struct buf sig;
	int rc = 0;

	buf_init(&sig, 0);
	if (sign && (dkim_sign_sk(m->seed, r->cfg->hostname, m->selector,
	    r->now, (const char *)w->data, w->len, NULL, &sig) < 0))
		rc = -1;
	if (rc == 0 && buf_append(&sig, w->data, w->len) < 0)
		rc = -1;
	if (rc == 0 && smtp)
		smtp_dot_stuff(sig.data, sig.len, out);
	else if (rc == 0)
		rc = buf_append(out, sig.data, sig.len);
	buf_free(&sig);
	return rc;
}

/*
 * pgp_copy - the member's own copy, encrypted to their key as it is now
 * (withdrawn since distribute: the copy waits, never falls back to clear),
 * through the key cache (the member's key stays loaded for the next post)
 */
static int
pgp_copy(const struct run *r, const struct job *j, const struct message *m,
    int smtp, struct buf *out)
{
	char why[OPENPGP_WHY_SIZE] = "";
	struct buf w;
	int rc;

	if (j->d.pgp.len == 0 || !m->pgp || !m->signing)
		return -1;
	buf_init(&w, 0);
	rc = pgpcopy_make(&m->post, &j->d.pgp, &w, why, sizeof(why)) == OK ?
	    out_copy(r, m, &w, 1, smtp, out) : -1;
	if (rc < 0 && *why)
		log_warn("%s deliver: an OpenPGP copy not made: %s; will retry", m->qid, why);
	buf_free(&w);
	return rc;
}

/* backoff - when to try again after `attempts` failures */
static long long
backoff(const struct config *cfg, int attempts, long long now)
{
	long long wait = cfg->retry_base;

	for (int i = 0; i < attempts && wait < cfg->retry_cap; i++)
		wait *= 2;
	return now + (wait < cfg->retry_cap ? wait : cfg->retry_cap);
}

/* outcome - the state a reply leads to; fills next_try and the error text */
static int
outcome(struct run *r, const struct job *j, long long now, const char *relay_err, long long *next,
    char *err, size_t errlen)
{
	char *c;

	snprintf(err, errlen, "%s", *j->text ? j->text : relay_err);
	for (c = err; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	*next = 0;
	if (j->code / 100 == 2)
		return DELIVERY_DONE;
	if (j->code / 100 == 5)
		return DELIVERY_FAILED;
	if (now >= j->d.expires) {
		snprintf(err, errlen, "expired: retried until delivery.max_retry_time (last: %.150s)",
		    *j->text ? j->text : relay_err);
		return DELIVERY_FAILED;
	}
	*next = backoff(r->cfg, j->d.attempts, now);
	return DELIVERY_PENDING;
}

/*
 * The results of this process that the database does not hold yet. A
 * result goes here first, then into the journal (one write per batch),
 * and leaves only when a commit has put it in the database; until then
 * the delivery it names is not due (see collect), so a result that cannot
 * be recorded - a full disk, a locked database - delays the bookkeeping,
 * never resends the copy. One queue manager per state directory
 * (qmgr.c's lock_queue), so one such set per process.
 */
struct dresult {
	char		 qid[32];
	unsigned char	 hash[KEYS_HASH_LEN];	/* with qid: the delivery */
	int		 state, attempts;
	long long	 next;
	long		 seq;			/* later wins */
	char		 err[300];
};

static struct {
	struct dresult	*r;
	int		 n, cap;
	long		 seq;
	int		 fails;			/* recording attempts failed in a row */
	long long	 retry_at;		/* not before: backing off */
	off_t		 joff;			/* the journal read or written */
} unrec;

/*
 * unrec is shared by the runs' sending threads (record) and the queue
 * manager's thread (collect, replay); the database is the queue manager's
 * thread's alone.
 */
static pthread_mutex_t unrec_lock = PTHREAD_MUTEX_INITIALIZER;

#define JOURNAL_LINE_ROOM	256	/* reserved per result: a delivered line is ~110 bytes */

/*
 * The deliveries of the runs out, whose lines the journal keeps room for
 * (queue manager's thread), and whether a run was held back for want of
 * that room (the queue manager then backs off: deliver_backlog).
 */
static long jobs_out;
static int noroom;

/* result_add - keep one result until the database has it */
static void
result_add(const struct dresult *res)
{
	if (unrec.n == unrec.cap) {
		unrec.cap = unrec.cap ? unrec.cap * 2 : 256;
		unrec.r = realloc(unrec.r, sizeof(*unrec.r) * (size_t)unrec.cap);
		if (unrec.r == NULL)
			abort();
	}
	unrec.r[unrec.n] = *res;
	unrec.r[unrec.n].seq = ++unrec.seq;
	unrec.n++;
}

/*
 * results_reserve - room for `more` results kept than there are, made by
 * the queue manager's thread when a run starts: grown by doubling as the
 * results came, the copying was done by a sending thread holding the lock
 * the others wait for
 */
static void
results_reserve(long more)
{
	struct dresult *p;
	long n;

	pthread_mutex_lock(&unrec_lock);
	n = unrec.n + more;
	if (n > unrec.cap && n < INT_MAX &&
	    (p = realloc(unrec.r, sizeof(*p) * (size_t)n)) != NULL) {
		unrec.r = p;	/* else result_add grows it, as it did */
		unrec.cap = (int)n;
	}
	pthread_mutex_unlock(&unrec_lock);
}

/* result_cmp - by delivery, then oldest first */
static int
result_cmp(const void *a, const void *b)
{
	const struct dresult *x = a, *y = b;
	int c;

	if ((c = strcmp(x->qid, y->qid)) != 0)
		return c;
	if ((c = memcmp(x->hash, y->hash, sizeof(x->hash))) != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* results_sort - sorted by delivery, the latest result of each kept */
static void
results_sort(void)
{
	int i, k = 0;

	if (unrec.n < 2)
		return;		/* nothing to order (and qsort wants an array) */
	qsort(unrec.r, (size_t)unrec.n, sizeof(*unrec.r), result_cmp);
	for (i = 0; i < unrec.n; i++) {
		if (i + 1 < unrec.n && strcmp(unrec.r[i].qid, unrec.r[i + 1].qid) == 0 &&
		    memcmp(unrec.r[i].hash, unrec.r[i + 1].hash, sizeof(unrec.r[i].hash)) == 0)
			continue;
		unrec.r[k++] = unrec.r[i];
	}
	unrec.n = k;
}

/* result_find - the result kept for a delivery among the first n (sorted), or NULL */
static const struct dresult *
result_find(const char *qid, const unsigned char *hash, int n)
{
	int lo = 0, hi = n - 1, mid, c;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(qid, unrec.r[mid].qid)) == 0)
			c = memcmp(hash, unrec.r[mid].hash, KEYS_HASH_LEN);
		if (c == 0)
			return &unrec.r[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * deliver_result_blocks - is this delivery settled by a result the
 * database does not hold yet (made, failed, or deferred to later)?
 */
int
deliver_result_blocks(const char *qid, const unsigned char *hash, long long now)
{
	const struct dresult *res;
	int blocks;

	pthread_mutex_lock(&unrec_lock);
	res = result_find(qid, hash, unrec.n);
	blocks = res && (res->state != DELIVERY_PENDING || res->next > now);
	pthread_mutex_unlock(&unrec_lock);
	return blocks;
}

/*
 * deliver_backlog - results wait for a database that refused them (the
 * queue manager backs off); results of runs still out are not a backlog
 */
int
deliver_backlog(void)
{
	int n;

	pthread_mutex_lock(&unrec_lock);
	n = unrec.fails > 0 && unrec.n > 0;
	pthread_mutex_unlock(&unrec_lock);
	return n || noroom;
}

/* qid_held - does a result of message qid wait for the database? */
static int
qid_held(const char *qid)
{
	int held = 0;

	pthread_mutex_lock(&unrec_lock);
	for (int i = 0; i < unrec.n && !held; i++)
		held = strcmp(unrec.r[i].qid, qid) == 0;
	pthread_mutex_unlock(&unrec_lock);
	return held;
}

/* hex_put - a hash as lower-case hex */
static void
hex_put(const unsigned char *h, char *out)
{
	static const char x[] = "0123456789abcdef";

	for (int i = 0; i < KEYS_HASH_LEN; i++) {
		out[2 * i] = x[h[i] >> 4];
		out[2 * i + 1] = x[h[i] & 15];
	}
	out[2 * KEYS_HASH_LEN] = 0;
}

/* hex_get - a hash from hex; -1 if it is not one */
static int
hex_get(const char *s, unsigned char *h)
{
	static const char x[] = "0123456789abcdef";
	const char *a, *b;

	for (int i = 0; i < KEYS_HASH_LEN; i++) {
		if (!s[2 * i] || !s[2 * i + 1] || (a = strchr(x, s[2 * i])) == NULL ||
		    (b = strchr(x, s[2 * i + 1])) == NULL)
			return -1;
		h[i] = (unsigned char)((a - x) << 4 | (b - x));
	}
	return s[2 * KEYS_HASH_LEN] == ' ' ? 0 : -1;
}

/*
 * journal_line - "QID HASH STATE ATTEMPTS NEXT TEXT\n": the delivery is
 * named by its message and its recipient's keyed hash (never an address,
 * never a row id that a later delivery could reuse)
 */
static void
journal_line(const struct dresult *res, struct buf *out)
{
	char hex[2 * KEYS_HASH_LEN + 1];

	hex_put(res->hash, hex);
	buf_printf(out, "%s %s %d %d %lld %s\n", res->qid, hex, res->state, res->attempts, res->next,
	    res->state == DELIVERY_DONE ? "-" : res->err);
}

/* journal_parse - one journal line; -1 if torn or not ours */
static int
journal_parse(char *line, struct dresult *res)
{
	char *sp = strchr(line, ' '), *end;

	memset(res, 0, sizeof(*res));
	if (!sp || sp == line || (size_t)(sp - line) >= sizeof(res->qid))
		return -1;
	memcpy(res->qid, line, (size_t)(sp - line));
	if (hex_get(sp + 1, res->hash) < 0)
		return -1;
	end = sp + 1 + 2 * KEYS_HASH_LEN;
	res->state = (int)strtol(end, &end, 10);
	res->attempts = (int)strtol(end, &end, 10);
	res->next = strtoll(end, &end, 10);
	if (*end != ' ' || res->state < 0 || res->state > 2 || res->attempts < 0)
		return -1;
	snprintf(res->err, sizeof(res->err), "%s", end + 1);
	return 0;
}

/*
 * journal_tail - what the journal holds past unrec.joff (from the start if
 * it is shorter: emptied and written again by someone else)
 */
static int
journal_tail(const char *path, struct buf *out)
{
	struct stat sb;
	ssize_t got;
	size_t want;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &sb) < 0)
		goto fail;
	if (sb.st_size < unrec.joff)
		unrec.joff = 0;
	want = (size_t)(sb.st_size - unrec.joff);
	if (want && buf_reserve(out, want + 1) < 0)
		goto fail;
	while (out->len < want) {
		got = pread(fd, out->data + out->len, want - out->len,
		    unrec.joff + (off_t)out->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;	/* shorter than it was: what was read */
		out->len += (size_t)got;
	}
	if (out->data)
		out->data[out->len] = 0;	/* read as a string */
	return close(fd);
fail:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return -1;
}

/*
 * journal_load - the journal's results that this process does not hold
 * already (a previous process's, left by a crash or a failed commit). What
 * this process holds is at least as new as any line about the same delivery.
 * Only what lies past unrec.joff is read: the lines before it were read
 * already or written by this process, and a line whose result was recorded
 * since must not be applied again (a later result may have been recorded
 * from memory alone, its journal line lost to a full disk). unrec_lock held.
 */
static int
journal_load(const char *path)
{
	struct buf j;
	struct dresult res;
	char *line, *save = NULL, *text;
	int had, n = 0;

	buf_init(&j, 0);
	if (journal_tail(path, &j) < 0) {
		buf_free(&j);
		return errno == ENOENT ? 0 : -1;
	}
	/* a torn last line (crash in mid-write) is ignored: that batch is simply retried */
	while (j.len && j.data[j.len - 1] != '\n')
		j.data[--j.len] = 0;
	if (j.len == 0) {
		buf_free(&j);
		return 0;
	}
	text = (char *)j.data;
	unrec.joff += (off_t)j.len;
	had = unrec.n;		/* sorted by the caller */
	for (line = strtok_r(text, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		if (journal_parse(line, &res) < 0 || result_find(res.qid, res.hash, had))
			continue;
		result_add(&res);	/* a later line about the same delivery wins (seq) */
		n++;
	}
	buf_free(&j);
	results_sort();
	return n;
}

/* results_commit - these results into the database, in one transaction */
static int
results_commit(struct store *st, const struct dresult *rs, int nr, char *why,
    size_t n)
{
	const struct dresult *res;

	if (store_begin(st) < 0) {
		snprintf(why, n, "begin: %s", store_errmsg(st));
		return -1;
	}
	for (int i = 0; i < nr; i++) {
		res = &rs[i];
		if (store_delivery_record(st, res->qid, res->hash, res->state, res->attempts, res->next,
		    res->state == DELIVERY_DONE ? NULL : res->err) < 0) {
			snprintf(why, n, "update: %s", store_errmsg(st));
			store_rollback(st);
			return -1;
		}
	}
	if (store_commit(st) < 0) {
		/* the cause first: a rollback after a failed commit has an error of its own */
		snprintf(why, n, "commit: %s", store_errmsg(st));
		store_rollback(st);
		return -1;
	}
	return 0;
}

/*
 * journal_reserve - room for n more lines past the journal's end, so that
 * a disk that fills up cannot refuse them; 0 (also where the file system
 * cannot reserve: memory is the fallback there) or -1
 */
static int
journal_reserve(int fd, long n)
{
	struct stat sb;

	if (n <= 0)
		return 0;
	if (fstat(fd, &sb) < 0)
		return -1;
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, sb.st_size,
	    (off_t)n * JOURNAL_LINE_ROOM) < 0 && errno != EOPNOTSUPP)
		return -1;
	return 0;
}

/*
 * journal_truncate - empty the journal once the database holds all of it.
 * Emptying frees the room the runs out reserved: it is taken again at once
 * (a run that lost it would keep the relay's answers in memory only).
 */
static int
journal_truncate(const char *path)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (journal_reserve(fd, jobs_out) < 0)
		log_warn("NOQUEUE deliver: cannot reserve room in %s again: "
		    "%s", path, strerror(errno));
	return close(fd);
}

/*
 * deliver_journal_replay - bring the database up to date: the journal's
 * results and this process's kept ones, in one commit; then the journal is
 * emptied. If the commit fails the results stay kept (their deliveries not
 * due) and the next try waits, doubling up to a minute, so a database that
 * cannot be written is not hammered. Returns the results applied, 0 while
 * backing off, -1 on failure.
 */
int
deliver_journal_replay(const struct config *cfg, struct store *st)
{
	char path[4200], why[300];
	long long now = (long long)time(NULL);
	struct dresult *snap = NULL;
	long upto;
	int n, k;

	snprintf(path, sizeof(path), "%s/queue/deliver.journal", cfg->state_dir);
	pthread_mutex_lock(&unrec_lock);
	results_sort();		/* record() appends: sorted again for result_find */
	if (journal_load(path) < 0)
		log_warn("NOQUEUE deliver: cannot read %s: %s (kept)", path, strerror(errno));
	if ((n = unrec.n) > 0 && now >= unrec.retry_at &&
	    (snap = malloc(sizeof(*snap) * (size_t)n)) != NULL)
		memcpy(snap, unrec.r, sizeof(*snap) * (size_t)n);
	upto = unrec.seq;
	pthread_mutex_unlock(&unrec_lock);
	if (snap == NULL)
		return 0;	/* nothing, backing off, no memory: later */
	/* the sending threads go on adding results meanwhile */
	if (results_commit(st, snap, n, why, sizeof(why)) < 0) {
		free(snap);
		pthread_mutex_lock(&unrec_lock);
		unrec.fails++;
		unrec.retry_at = now + (unrec.fails < 6 ? 1LL << unrec.fails : 60);
		log_err("NOQUEUE deliver: cannot record %d delivery results: %s; kept, their deliveries "
		    "wait; next try in %lld s", unrec.n, why, unrec.retry_at - now);
		pthread_mutex_unlock(&unrec_lock);
		return -1;
	}
	free(snap);
	pthread_mutex_lock(&unrec_lock);
	if (unrec.fails)
		log_info("NOQUEUE deliver: %d delivery results recorded after %d failed tries",
		    n, unrec.fails);
	for (int i = k = 0; i < unrec.n; i++)
		if (unrec.r[i].seq > upto)	/* in during the commit */
			unrec.r[k++] = unrec.r[i];
	unrec.n = k;
	unrec.fails = 0;
	unrec.retry_at = 0;
	/*
	 * emptied only when the database holds every line: each line is added
	 * to unrec (under this lock) before it is written
	 */
	if (unrec.n == 0) {
		/* harmless: no line names a pending delivery */
		if (journal_truncate(path) < 0)
			log_warn("NOQUEUE deliver: cannot empty %s: %s", path,
			    strerror(errno));
		else
			unrec.joff = 0;
	}
	pthread_mutex_unlock(&unrec_lock);
	return n;
}

/* journal_append - whole lines or nothing (a short write is cut off again) */
static int
journal_append(int fd, const struct buf *lines)
{
	off_t end;
	int saved;

	if (fd < 0)
		return errno = EBADF, -1;
	if ((end = lseek(fd, 0, SEEK_END)) < 0)
		return -1;
	if (fs_write_all(fd, lines->data, lines->len) == 0) {
		if (unrec.joff == end)	/* ours: not to be read back */
			unrec.joff = end + (off_t)lines->len;
		return 0;
	}
	saved = errno;
	if (ftruncate(fd, end) < 0)	/* then the torn line is skipped on reading */
		log_warn("NOQUEUE deliver: cannot cut a torn journal line: %s", strerror(errno));
	errno = saved;
	return -1;
}

/* journal_keep - every kept result appended to the journal; 0 or -1 */
static int
journal_keep(const char *path)
{
	struct buf lines;
	int fd, i, rc;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	buf_init(&lines, 0);
	for (i = 0; i < unrec.n; i++)	/* twice is harmless: later wins */
		journal_line(&unrec.r[i], &lines);
	rc = journal_append(fd, &lines) < 0 || fdatasync(fd) < 0 ? -1 : 0;
	buf_free(&lines);
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

/*
 * deliver_settle - before the queue manager exits. Results kept only in
 * memory (the journal could not be written, nor the database) would be
 * lost with it, and the next queue manager would send those copies again:
 * a full disk, a locked database and the daemon's death at once once sent
 * a post twice to all its members. So the database and the journal are
 * tried every second, for up to max_wait seconds (the next queue manager
 * waits for qmgr.lock meanwhile). Returns the results left unrecorded.
 */
int
deliver_settle(const struct config *cfg, struct store *st, int max_wait)
{
	char path[4200];
	int t;

	snprintf(path, sizeof(path), "%s/queue/deliver.journal",
	    cfg->state_dir);
	for (t = 0; unrec.n > 0; t++) {
		unrec.retry_at = 0;	/* no back-off: the last chance */
		if (deliver_journal_replay(cfg, st) >= 0 && unrec.n == 0)
			break;
		if (journal_keep(path) == 0) {
			log_info("NOQUEUE deliver: %d delivery results kept in "
			    "%s for the next queue manager", unrec.n, path);
			return 0;
		}
		if (t >= max_wait)
			break;
		if (t % 10 == 0)
			log_warn("NOQUEUE deliver: %d delivery results not "
			    "recorded yet (full disk? locked database?); "
			    "trying until they are", unrec.n);
		sleep(1);
	}
	if (unrec.n > 0)
		log_err("NOQUEUE deliver: %d delivery results could not be "
		    "recorded in %d s; those copies will be sent again",
		    unrec.n, max_wait);
	return unrec.n;
}

/*
 * record - note the outcome of one batch: kept in memory first, then one
 * append to the delivery journal (a single write, so a crash leaves whole
 * lines). The store is brought up to date when the run ends, or at the
 * next start. This keeps "the relay said 250" -> "recorded" to one write
 * per transaction instead of one database commit; if the journal cannot be
 * written (a full disk) the results wait in memory for the database.
 */
static void
record(struct run *r, struct batch *b, const char *relay_err, int *counts)
{
	long long now = (long long)time(NULL);
	struct dresult *res;
	struct buf lines;
	int i, n = 0;

	/*
	 * The results and their lines are made before the lock is taken:
	 * made under it, the four sending threads of a grouped run took
	 * turns at formatting each other's lines
	 */
	if ((res = calloc((size_t)b->n, sizeof(*res))) == NULL)
		abort();
	buf_init(&lines, 0);
	for (i = b->first; i < b->first + b->n; i++) {
		if (r->jobs[i].skipped)
			continue;	/* its row went: nothing to record */
		res[n].state = outcome(r, &r->jobs[i], now, relay_err,
		    &res[n].next, res[n].err, sizeof(res[n].err));
		counts[res[n].state == DELIVERY_DONE ? 0 :
		    res[n].state == DELIVERY_PENDING ? 1 : 2]++;
		snprintf(res[n].qid, sizeof(res[n].qid), "%s",
		    r->jobs[i].d.qid);
		memcpy(res[n].hash, r->jobs[i].d.rcpt_hash,
		    sizeof(res[n].hash));
		res[n].attempts = r->jobs[i].d.attempts + 1;
		journal_line(&res[n++], &lines);
	}
	pthread_mutex_lock(&unrec_lock);
	for (i = 0; i < n; i++)
		result_add(&res[i]);
	if (journal_append(r->jfd, &lines) < 0) {
		if (!r->jwarned)
			log_warn("%s deliver: journal not writable: %s; results kept until the "
			    "database takes them", b->msg->qid, r->jfd < 0 ? "not open" : strerror(errno));
		r->jwarned = 1;
	}
	pthread_mutex_unlock(&unrec_lock);
	buf_free(&lines);
	free(res);
}

/* take - the next batch, or NULL */
static struct batch *
take(struct run *r)
{
	struct batch *b = NULL;

	pthread_mutex_lock(&r->lock);
	if (r->next < r->nbatches)
		b = &r->batches[r->next++];
	pthread_mutex_unlock(&r->lock);
	return b;
}

/*
 * batch_live - the batch's recipients whose rows are still there, into
 * rcpts (idx: their jobs); the others are skipped. Their number.
 */
static int
batch_live(struct run *r, struct batch *b, char **rcpts, int *idx)
{
	int n = 0;

	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < b->n; i++) {
		struct job *j = &r->jobs[b->first + i];

		j->skipped = j->cancelled;
		if (j->skipped)
			continue;
		rcpts[n] = j->d.rcpt;
		idx[n++] = b->first + i;
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

/*
 * batch_envid - the envelope id of the transaction to the jobs idx[0..n):
 * its rows' lowest and highest id; "" if there is no key to make it with
 */
static void
batch_envid(const struct run *r, const int *idx, int n, char *out, size_t len)
{
	long long lo = r->jobs[idx[0]].d.id, hi = lo, id;

	for (int i = 1; i < n; i++) {
		id = r->jobs[idx[i]].d.id;
		lo = id < lo ? id : lo;
		hi = id > hi ? id : hi;
	}
	if (r->keys == NULL || envid_make(r->keys, r->jobs[idx[0]].d.qid, lo,
	    hi, out, len) < 0)
		out[0] = 0;
}

/*
 * batch_orcpts - each recipient's original recipient, her own row
 * (or[i]), where the relay offers DSN (dsn); "" where nothing would carry
 * it or there is no key to make it with. Sealed ORCPT_CHUNK at a time:
 * one at a time (a key derived and a getrandom call each), 10,000 cost
 * 28-30 ms of the sending threads' CPU, batched 7-12 (bench/RESULTS.md)
 */
#define ORCPT_CHUNK	128
static void
batch_orcpts(const struct run *r, const int *idx, int n, int dsn,
    char (*or)[ENVID_ORCPT_MAX], char **orcpts)
{
	long long rows[ORCPT_CHUNK];
	int i, j, m, ok;

	/* a run of one message's rows at a time: one key, few draws */
	for (i = 0; i < n; i += m) {
		const char *qid = r->jobs[idx[i]].d.qid;

		for (m = 0; m < ORCPT_CHUNK && i + m < n &&
		    strcmp(r->jobs[idx[i + m]].d.qid, qid) == 0; m++)
			rows[m] = r->jobs[idx[i + m]].d.id;
		ok = dsn && r->keys != NULL &&
		    envid_orcpts_make(r->keys, qid, rows, m, or + i) == 0;
		for (j = i; j < i + m; j++) {
			orcpts[j] = or[j];
			if (!ok)
				or[j][0] = 0;
		}
	}
}

/* log_batch - one line per transaction; counts, never addresses */
static void
log_batch(struct batch *b, int n, const int *counts, const char *err,
    const char *via)
{
	log_info("%s deliver: via=%s rcpts=%d delivered=%d deferred=%d "
	    "failed=%d%s%s result=%s", b->msg->qid, via, n, counts[0],
	    counts[1], counts[2], counts[0] == n ? "" : " reply=",
	    counts[0] == n ? "" : err, counts[2] ? "permfail" :
	    counts[1] ? "tempfail" : "ok");
}

/*
 * The runs out now: each started by the queue manager's thread, sent by
 * its own threads while the queue manager goes on, and finished (its
 * results committed, its copies removed) by the queue manager's thread
 * once its last thread has written a byte to the pipe that thread polls.
 */
#define DELIVER_RUNS	8
static struct run *runs[DELIVER_RUNS];
static int nruns, threads_out;
static unsigned runs_epoch;	/* a run started or finished */
static int done_pipe[2] = { -1, -1 };

/* thread_done - a sending thread ends; a run's last wakes the queue manager */
static void
thread_done(struct run *r)
{
	int last;

	pthread_mutex_lock(&r->lock);
	last = --r->left == 0;
	pthread_mutex_unlock(&r->lock);
	/* a full pipe has its byte already; the loop also looks each turn */
	if (last && done_pipe[1] >= 0 && write(done_pipe[1], "", 1) < 0 &&
	    errno != EAGAIN)
		log_warn("NOQUEUE deliver: cannot wake the queue manager: %s",
		    strerror(errno));
}

/*
 * A batch made ready to send: its live recipients, the bytes they get
 * (the message's, or a copy of their own), its envelope id. A sending
 * thread readies the next batch before it sends the body of this one, so
 * that the next envelope can go with it (deliver_smtp.c).
 */
struct ready {
	struct batch	*b;
	int		 n;		/* live recipients */
	int		 cap;
	char		**rcpts;	/* starts ready_grow's one block */
	int		*idx;		/* their jobs */
	int		*codes;
	char		(*texts)[SMTP_TEXT_MAX];
	char		**orcpts;	/* into orbuf, made when sent */
	char		(*orbuf)[ENVID_ORCPT_MAX];
	int		 or_n, or_dsn;	/* orbuf made for n (-1: not made) */
	struct buf	 sealed;	/* a copy of their own, if any */
	const struct buf *bytes;
	char		 envid[ENVID_MAX];
	char		 err[256];	/* "": can be sent */
};

/*
 * ready_grow - room for a batch of n. Its six per-recipient arrays are one
 * block (the pointers first, then the ints, then the texts, so each array
 * is aligned): allocated, and freed by ready_free, once, not six times.
 * Nothing in them is kept: the caller fills them for its new batch.
 */
static void
ready_grow(struct ready *p, int n)
{
	size_t k = (size_t)n;
	char *m;

	if (n <= p->cap)
		return;
	free(p->rcpts);
	m = malloc(k * (2 * sizeof(char *) + 2 * sizeof(int) + SMTP_TEXT_MAX +
	    ENVID_ORCPT_MAX));
	if (m == NULL)
		abort();
	p->rcpts = (char **)(void *)m;
	p->orcpts = p->rcpts + k;
	p->idx = (int *)(void *)(p->orcpts + k);
	p->codes = p->idx + k;
	p->texts = (char (*)[SMTP_TEXT_MAX])(void *)(p->codes + k);
	p->orbuf = (char (*)[ENVID_ORCPT_MAX])(void *)(p->texts + k);
	p->cap = n;
}

/* ready_bytes - what p's recipients get, or p->err says why not */
static void
ready_bytes(struct run *r, struct ready *p)
{
	struct job *j0 = &r->jobs[p->idx[0]];
	const struct message *m = p->b->msg;

	p->bytes = &m->bytes;
	if (!m->ok) {
		snprintf(p->err, sizeof(p->err), m->busy ?
		    "rendered copy not readable now" :
		    "rendered copy unreadable");
		for (int i = 0; i < p->n; i++)
			p->codes[i] = m->busy ? 451 : 554;
		return;
	}
	if (pgp_for(&j0->d)) {
		/* a batch of one: this member's copy is encrypted to their key */
		if (pgp_copy(r, j0, m, 1, &p->sealed) < 0)
			snprintf(p->err, sizeof(p->err),
			    "cannot encrypt the copy");
		p->bytes = &p->sealed;
	} else if (oneclick_for(&j0->d)) {
		/* a batch of one: the copy carries this member's own link */
		if (oneclick_copy(r, j0, m, 1, &p->sealed) < 0)
			snprintf(p->err, sizeof(p->err),
			    "cannot sign the one-click copy");
		p->bytes = &p->sealed;
	}
	batch_envid(r, p->idx, p->n, p->envid, sizeof(p->envid));
}

/* ready_reset - no verdict yet for p's recipients */
static void
ready_reset(struct ready *p)
{
	for (int i = 0; i < p->n; i++) {
		p->codes[i] = 451;
		p->texts[i][0] = 0;
	}
}

/* ready_take - the next batch with live recipients, readied; 0 if none */
static int
ready_take(struct run *r, struct ready *p)
{
	buf_free(&p->sealed);
	buf_init(&p->sealed, 0);
	while ((p->b = take(r)) != NULL) {
		ready_grow(p, p->b->n);
		if ((p->n = batch_live(r, p->b, p->rcpts, p->idx)) > 0)
			break;	/* else their list or membership went */
	}
	if (p->b == NULL)
		return 0;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < p->n; i++)
		r->jobs[p->idx[i]].ahead = 1;
	pthread_mutex_unlock(&r->lock);
	ready_reset(p);
	p->err[0] = 0;
	p->envid[0] = 0;
	p->or_n = -1;
	ready_bytes(r, p);
	return 1;
}

/*
 * ready_commit - p is sent now: its jobs are no longer cancellable, and
 * those cancelled since it was readied are dropped from it. 1 if some
 * were (p then holds the rest, maybe none), else 0.
 */
static int
ready_commit(struct run *r, struct ready *p)
{
	int was = p->n;

	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < p->b->n; i++)
		r->jobs[p->b->first + i].ahead = 0;
	pthread_mutex_unlock(&r->lock);
	if ((p->n = batch_live(r, p->b, p->rcpts, p->idx)) == was)
		return 0;
	ready_reset(p);
	p->or_n = -1;	/* orbuf is by position: made again */
	if (p->n > 0 && !*p->err)
		batch_envid(r, p->idx, p->n, p->envid, sizeof(p->envid));
	return 1;
}

/*
 * ready_txn - p as the SMTP client's transaction, its recipients'
 * original recipients made now (dsn: the relay offers DSN), once: a batch
 * is asked for as the next one (its envelope sent ahead) and again when
 * its body goes; sealing them twice was a third of the sending threads'
 * CPU in a grouped run (bench/RESULTS.md, grouped13b)
 */
static struct smtp_txn
ready_txn(const struct run *r, struct ready *p, int dsn)
{
	struct smtp_txn t = { r->jobs[p->idx[0]].d.env_from, p->envid,
	    p->rcpts, p->orcpts, p->n, p->bytes->data, p->bytes->len,
	    p->codes, p->texts };

	if (p->or_n != p->n || p->or_dsn != dsn) {
		batch_orcpts(r, p->idx, p->n, dsn, p->orbuf, p->orcpts);
		p->or_n = p->n;
		p->or_dsn = dsn;
	}
	return t;
}

/* ready_free - what a readied batch holds */
static void
ready_free(struct ready *p)
{
	free(p->rcpts);		/* the block of all six arrays */
	buf_free(&p->sealed);
}

/* ready_done - p's verdicts on its jobs, recorded and logged */
static void
ready_done(struct run *r, struct ready *p, const char *via)
{
	int counts[3] = { 0, 0, 0 };

	for (int i = 0; i < p->n; i++) {
		r->jobs[p->idx[i]].code = p->codes[i];
		memcpy(r->jobs[p->idx[i]].text, p->texts[i], SMTP_TEXT_MAX);
	}
	record(r, p->b, p->err, counts);
	log_batch(p->b, p->n, counts, p->err, via);
}

/*
 * smtp_worker - thread: one relay connection, many batches. Each batch's
 * body goes with the next batch's envelope (when that one can be sent):
 * the client then expects that batch next on the connection, which the
 * loop keeps (a broken connection is closed, which forgets it).
 */
static void *
smtp_worker(void *arg)
{
	struct run *r = arg;
	struct smtp_client c;
	struct ready slot[2], *cur = &slot[0], *nx = &slot[1], *sw;
	struct smtp_txn t, tn;
	char via[300];
	int open = 0, more;

	struct smtp_tls tls = { r->cfg->relay_tls, r->cfg->relay_tls_ca,
	    r->cfg->relay_tls_name };

	memset(slot, 0, sizeof(slot));
	snprintf(via, sizeof(via), "%s:%d", r->cfg->relay_host,
	    r->cfg->relay_port);
	more = ready_take(r, cur);
	while (more) {
		more = ready_take(r, nx);
		if (ready_commit(r, cur) && open && c.ahead) {
			/* its envelope is at the relay with a recipient
			 * whose row went: dropped there, unsent */
			smtp_client_abort(&c);
			open = 0;
		}
		if (cur->n == 0) {	/* their list or membership went */
			sw = cur, cur = nx, nx = sw;
			continue;
		}
		if (!*cur->err && !open && smtp_client_open(&c,
		    r->cfg->relay_host, r->cfg->relay_port,
		    r->cfg->relay_timeout, r->cfg->hostname, &tls, cur->err,
		    sizeof(cur->err)) == 0)
			open = 1;
		t = ready_txn(r, cur, open && c.dsn);
		if (more)
			tn = ready_txn(r, nx, open && c.dsn);
		if (open && !*cur->err && smtp_client_send(&c, &t,
		    more && !*nx->err ? &tn : NULL, cur->err,
		    sizeof(cur->err)) < 0) {
			smtp_client_close(&c);
			open = 0;
		}
		ready_done(r, cur, via);
		sw = cur, cur = nx, nx = sw;
	}
	if (open)
		smtp_client_close(&c);
	ready_free(&slot[0]);
	ready_free(&slot[1]);
	thread_done(r);
	return NULL;
}

/* maildir_name - a directory name for an address (no '/', no leading '.') */
static void
maildir_name(const char *rcpt, char *out, size_t n)
{
	size_t i;

	snprintf(out, n, "%s", rcpt);
	for (i = 0; out[i]; i++)
		if (out[i] == '/' || (i == 0 && out[i] == '.'))
			out[i] = '_';
}

/* deliver_maildir - one copy into DIR/ADDRESS/new, durably (tmp, fsync, rename) */
int
deliver_maildir(const char *dir, const char *rcpt, const unsigned char *msg, size_t len,
    char *err, size_t errlen)
{
	static unsigned long seq;
	char name[300], base[4096], fname[128], tmp[4600], dst[4600];
	struct buf e;
	struct timespec ts;
	const char *sub[] = { "tmp", "new", "cur" };
	int rc;

	maildir_name(rcpt, name, sizeof(name));
	for (int i = 0; i < 3; i++) {
		snprintf(base, sizeof(base), "%s/%s/%s", dir, name, sub[i]);
		if (fs_mkdir_p(base, 0700) < 0)
			return snprintf(err, errlen, "cannot create %s: %s", base, strerror(errno)), -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(fname, sizeof(fname), "%lld.M%ldP%ldQ%lu.mlistd", (long long)ts.tv_sec, ts.tv_nsec / 1000,
	    (long)getpid(), __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	if (snprintf(tmp, sizeof(tmp), "%s/%s/tmp/%s", dir, name, fname) >= (int)sizeof(tmp) ||
	    snprintf(dst, sizeof(dst), "%s/%s/new/%s", dir, name, fname) >= (int)sizeof(dst))
		return snprintf(err, errlen, "maildir path too long"), -1;
	buf_init(&e, 512);
	if (fs_write_new(tmp, msg, len, 0600, &e) < 0)
		rc = -1;
	else if ((rc = fs_sync_rename_new(tmp, dst, &e)) < 0)
		(void)unlink(tmp);
	if (rc < 0)
		snprintf(err, errlen, "%s", buf_cstr(&e));
	buf_free(&e);
	return rc;
}

/* maildir_worker - thread: local delivery of batches */
static void *
maildir_worker(void *arg)
{
	struct run *r = arg;
	struct batch *b;
	char err[256];

	while ((b = take(r)) != NULL) {
		int counts[3] = { 0, 0, 0 }, live = 0;

		err[0] = 0;
		for (int i = 0; i < b->n; i++) {
			struct job *j = &r->jobs[b->first + i];

			struct buf sealed;

			pthread_mutex_lock(&r->lock);
			j->skipped = j->cancelled;
			pthread_mutex_unlock(&r->lock);
			if (j->skipped)
				continue;	/* its list or member went */
			live++;
			buf_init(&sealed, 0);
			if (!b->msg->ok)
				j->code = b->msg->busy ? 451 : 554;
			else if (pgp_for(&j->d) || oneclick_for(&j->d))
				j->code = (pgp_for(&j->d) ? pgp_copy(r, j, b->msg, 0, &sealed) :
				    oneclick_copy(r, j, b->msg, 0, &sealed)) < 0 ? 451 :
				    deliver_maildir(r->cfg->relay_maildir, j->d.rcpt, sealed.data, sealed.len, err,
				    sizeof(err)) == 0 ? 250 : 451;
			else
				j->code = deliver_maildir(r->cfg->relay_maildir, j->d.rcpt, b->msg->bytes.data,
				    b->msg->bytes.len, err, sizeof(err)) == 0 ? 250 : 451;
			buf_free(&sealed);
		}
		record(r, b, err, counts);
		if (live)
			log_batch(b, live, counts, err, "maildir");
	}
	thread_done(r);
	return NULL;
}

/* wants - does any batch of message qid, from batch i on, carry copies of class c? */
static int
wants(const struct run *r, int i, const char *qid, int (*c)(const struct delivery *))
{
	for (; i < r->nbatches; i++) {
		const struct delivery *d = &r->jobs[r->batches[i].first].d;

		if (strcmp(d->qid, qid) != 0)
			return 0;
		if (c(d))
			return 1;
	}
	return 0;
}

/*
 * pgp_load - sign the post once for all its OpenPGP copies: a pseudonym's
 * post with the pseudonym's own key (its copies come From its address, as
 * its clear copies do), any other with the list's key
 */
static void
pgp_load(struct run *r, struct message *m, const char *list)
{
	const struct list_cfg *l = config_list_find(r->cfg, list);
	struct openpgp_secret *k = NULL, *ps = NULL;
	char why[OPENPGP_WHY_SIZE] = "", from[320] = "";

	if (l != NULL && sign_pseudonym_key_of(r->st, l, r->cfg->hostname,
	    m->raw.data, m->raw.len, &ps, from, sizeof(from)) < 0) {
		log_err("%s deliver: list=%s the pseudonym's OpenPGP key: %s; "
		    "will retry", m->qid, list, store_errmsg(r->st));
		return;
	}
	if (ps == NULL && listpgp_get(r->st, list, r->cfg->hostname, &k) < 0) {
		log_err("%s deliver: list=%s the list's OpenPGP key: %s; will retry", m->qid, list,
		    store_errmsg(r->st));
		return;
	}
	if (pgpcopy_prepare(ps ? ps : k, ps ? from : NULL, list,
	    r->cfg->hostname, r->keys ? r->keys->lookup : NULL,
	    m->raw.data, m->raw.len, OPENPGP_BUCKET_MIN,
	    r->now, &m->post, why, sizeof(why)) == OK)
		m->pgp = 1;
	else
		log_err("%s deliver: list=%s cannot sign the post: %s; will retry", m->qid, list, why);
	openpgp_secret_free(ps);
	openpgp_secret_free(k);
}

/* load - the rendered copy of each message in the run */
static struct message *
load(struct run *r, struct spool *sp, int *nmsg)
{
	struct message *m = calloc((size_t)r->nbatches + 1, sizeof(*m));
	struct envelope e;
	struct buf raw, why;
	int n = 0, i;

	if (!m)
		abort();
	for (i = 0; i < r->nbatches; i++) {
		const char *qid = r->jobs[r->batches[i].first].d.qid;

		if (n == 0 || strcmp(m[n - 1].qid, qid) != 0) {
			snprintf(m[n].qid, sizeof(m[n].qid), "%s", qid);
			buf_init(&m[n].bytes, 0);
			buf_init(&raw, 0);
			buf_init(&why, 0);
			if (spool_read(sp, SPOOL_OUT, qid, &e, &raw, &why) == 0) {
				m[n].ok = 1;
				if (*r->cfg->relay_host)
					smtp_dot_stuff(raw.data, raw.len, &m[n].bytes);
				else
					buf_append(&m[n].bytes, raw.data, raw.len);
				envelope_free(&e);
				m[n].raw = raw;		/* kept for the per-member copies */
				buf_init(&raw, 0);
				/* the list's key, if copies of it must be signed per member (one-click, OpenPGP) */
				if ((wants(r, i, qid, oneclick_for) || wants(r, i, qid, pgp_for)) &&
				    (m[n].seed = sodium_malloc(DKIM_SK_LEN)) &&
				    listkey_get(r->st, r->jobs[r->batches[i].first].d.list, m[n].selector,
				    sizeof(m[n].selector), m[n].seed) == 0) {
					/* once, not per copy */
					dkim_expand(m[n].seed);
					m[n].signing = 1;
				}
				if (wants(r, i, qid, pgp_for))
					pgp_load(r, &m[n], r->jobs[r->batches[i].first].d.list);
			} else if (spool_exists(sp, SPOOL_OUT, qid) && (!*buf_cstr(&why) ||
			    strncmp(buf_cstr(&why), "cannot open", 11) == 0)) {
				/* out of memory or descriptors: not the copy's fault, try later */
				m[n].busy = 1;
				log_warn("%s deliver: rendered copy not readable now; will retry", qid);
			} else {
				log_err("%s deliver: rendered copy unreadable: %s; quarantined", qid, buf_cstr(&why));
				spool_quarantine(sp, SPOOL_OUT, qid);
			}
			buf_free(&raw);
			buf_free(&why);
			n++;
		}
		r->batches[i].msg = &m[n - 1];
	}
	*nmsg = n;
	return m;
}

/* cut - batches of up to `size` with the same message and envelope sender */
static void
cut(struct run *r, int size)
{
	int i;

	if ((r->batches = calloc((size_t)r->njobs + 1, sizeof(*r->batches))) == NULL)
		abort();
	for (i = 0; i < r->njobs; i++) {
		struct batch *last = r->nbatches ? &r->batches[r->nbatches - 1] : NULL;
		struct delivery *p = i ? &r->jobs[i - 1].d : NULL, *d = &r->jobs[i].d;

		if (last && last->n < size && strcmp(p->qid, d->qid) == 0 && strcmp(p->env_from, d->env_from) == 0 &&
		    !pgp_for(p) && !pgp_for(d) && !oneclick_for(p) && !oneclick_for(d)) {
			last->n++;
			continue;
		}
		r->batches[r->nbatches].first = i;
		r->batches[r->nbatches].n = 1;
		r->nbatches++;
	}
}

/* byid_cmp - jobs by (qid, recipient hash) */
static int
byid_cmp(const void *a, const void *b, void *arg)
{
	const struct job *jobs = arg;
	const struct delivery *x = &jobs[*(const int *)a].d;
	const struct delivery *y = &jobs[*(const int *)b].d;
	int c = strcmp(x->qid, y->qid);

	return c ? c : memcmp(x->rcpt_hash, y->rcpt_hash, KEYS_HASH_LEN);
}

/*
 * run_byid - the run's jobs sorted by (qid, hash), made at the first
 * look-up rather than at the start: sorting 10,000 jobs would hold back
 * the run's first transaction, and a later look is often skipped (see
 * looked). The queue manager's thread only; qid and hash never change.
 */
static const struct run *
run_byid(struct run *r)
{
	if (r->byid)
		return r;
	if ((r->byid = malloc(sizeof(*r->byid) * (size_t)r->njobs)) == NULL)
		abort();
	for (int i = 0; i < r->njobs; i++)
		r->byid[i] = i;
	qsort_r(r->byid, (size_t)r->njobs, sizeof(*r->byid), byid_cmp,
	    r->jobs);
	return r;
}

/*
 * in_flight - is this delivery in a run that is out? Until its result is
 * kept (then deliver_result_blocks answers) it is still due in the
 * database, and a second run must not send it again. O(log n) per run.
 */
static int
in_flight(const char *qid, const unsigned char *hash)
{
	for (int k = 0; k < nruns; k++) {
		const struct run *r = run_byid(runs[k]);
		int lo = 0, hi = r->njobs - 1, mid, c;

		while (lo <= hi) {
			const struct delivery *d;

			mid = lo + (hi - lo) / 2;
			d = &r->jobs[r->byid[mid]].d;
			if ((c = strcmp(qid, d->qid)) == 0)
				c = memcmp(hash, d->rcpt_hash, KEYS_HASH_LEN);
			if (c == 0)
				return 1;
			if (c < 0)
				hi = mid - 1;
			else
				lo = mid + 1;
		}
	}
	return 0;
}

/* deliver_pollfd - readable when a run has finished sending (-1: none yet) */
int
deliver_pollfd(void)
{
	if (done_pipe[0] < 0 &&
	    pipe2(done_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_warn("NOQUEUE deliver: pipe: %s; runs are looked at "
		    "each turn", strerror(errno));
		done_pipe[0] = done_pipe[1] = -1;
	}
	return done_pipe[0];
}

/* deliver_out - how many runs are out now */
int
deliver_out(void)
{
	return nruns;
}

/*
 * gone - is this job's row gone with its list or its member? 1 gone, 0
 * there, or the store cannot say (it goes out as before: a copy too many
 * is better than one lost)
 */
static int
gone(const struct config *cfg, struct store *st, const struct job *j,
    int *list_gone)
{
	*list_gone = config_list_find(cfg, j->d.list) == NULL;
	if (*list_gone)
		return 1;
	if (j->d.member_id == 0)
		return 0;	/* a notice to an address: no member to lose */
	return store_member_id_exists(st, j->d.member_id) == 0;
}

/* prune_log - one line per message of a run: how many of its copies stay */
static void
prune_log(const struct job *j, int list_gone, int n)
{
	if (n)
		log_info("%s deliver: run out: list=%s %s: %d of its copies "
		    "not sent", j->d.qid, j->d.list, list_gone ? "deleted" :
		    "members removed", n);
}

/*
 * prune_run - one run's jobs whose rows went are cancelled; how many.
 * The batches no thread has taken yet, and those a thread holds ready but
 * has not sent (ahead): a look-up each; the jobs sent before are only
 * looked at.
 */
static int
prune_run(const struct config *cfg, struct store *st, struct run *r)
{
	int n = 0, k = 0, lg, any_lg = 0, was, from;

	pthread_mutex_lock(&r->lock);
	from = r->next < r->nbatches ? r->batches[r->next].first : r->njobs;
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];

		if (i > 0 && strcmp(j->d.qid, r->jobs[i - 1].d.qid) != 0) {
			prune_log(&r->jobs[i - 1], any_lg, k);
			k = any_lg = 0;
		}
		pthread_mutex_lock(&r->lock);
		was = j->cancelled || (i < from && !j->ahead);
		pthread_mutex_unlock(&r->lock);
		if (was || !gone(cfg, st, j, &lg))
			continue;
		any_lg |= lg;
		pthread_mutex_lock(&r->lock);
		j->cancelled = 1;
		pthread_mutex_unlock(&r->lock);
		k++;
		n++;
	}
	if (r->njobs > 0)
		prune_log(&r->jobs[r->njobs - 1], any_lg, k);
	return n;
}

/*
 * deliver_prune - a list deleted or a member removed while a run is out:
 * what the run has not sent them is not sent (their rows went with them),
 * what it sent is recorded as ever. In the queue manager's thread, when
 * the store says members went (store_removals) or the list set changed.
 * A batch already at the relay cannot be called back. Returns the jobs
 * cancelled.
 */
int
deliver_prune(const struct config *cfg, struct store *st)
{
	static unsigned seen;
	static const struct config *seen_cfg;
	int n = 0;

	if (nruns == 0 || (store_removals(st) == seen && cfg == seen_cfg)) {
		seen = store_removals(st);
		seen_cfg = cfg;
		return 0;
	}
	seen = store_removals(st);
	seen_cfg = cfg;
	for (int i = 0; i < nruns; i++)
		n += prune_run(cfg, st, runs[i]);
	return n;
}

/* run_free - what a finished run holds */
static void
run_free(struct run *r)
{
	for (int i = 0; i < r->njobs; i++) {
		free(r->jobs[i].d.rcpt);
		buf_free(&r->jobs[i].d.pgp);
	}
	for (int i = 0; i < r->nmsg; i++) {
		buf_free(&r->msgs[i].bytes);
		buf_free(&r->msgs[i].raw);
		if (r->msgs[i].pgp)
			pgpcopy_post_free(&r->msgs[i].post);
		sodium_free(r->msgs[i].seed);	/* zeroes it; NULL is fine */
	}
	free(r->msgs);
	free(r->th);
	free(r->batches);
	free(r->byid);
	free(r->jobs);
	pthread_mutex_destroy(&r->lock);
	if (r->cfg)
		config_release(r->cfg);
	free(r);
}

/*
 * pgp_stats - after a run with OpenPGP copies: the key cache's counts so
 * far (how many copies found their key loaded, loaded it whole, or from
 * its slim form), which say what a copy cost
 */
static void
pgp_stats(const struct run *r)
{
	struct openpgp_cache_stats c;
	int i;

	for (i = 0; i < r->nmsg && !r->msgs[i].pgp; i++)
		;
	if (i == r->nmsg)
		return;
	openpgp_cache_stats(&c);
	log_info("NOQUEUE deliver: key cache hits=%llu misses=%llu "
	    "not_kept=%llu slim=%llu", c.hits, c.misses, c.passed, c.slim);
}

/*
 * run_finish - in the queue manager's thread, after the run's threads: its
 * results into the database, 5xx to the bounce score, copies no delivery
 * waits for removed
 */
static void
run_finish(struct run *r, struct spool *sp, deliver_failed_fn failed, void *arg)
{
	for (int i = 0; i < r->nthreads; i++)
		pthread_join(r->th[i], NULL);
	threads_out -= r->nthreads;
	jobs_out -= r->njobs;	/* its lines are written: no room kept */
	pgp_stats(r);
	if (r->jfd >= 0 && close(r->jfd) < 0)
		log_warn("NOQUEUE deliver: closing the journal: %s",
		    strerror(errno));
	r->jfd = -1;
	/* logs its failure; the results stay kept */
	(void)deliver_journal_replay(r->cfg, r->st);
	for (int i = 0; i < r->njobs; i++)
		if (r->jobs[i].code / 100 == 5 && failed)
			failed(r->jobs[i].d.list, r->jobs[i].d.rcpt, arg);
	for (int i = 0; i < r->nmsg; i++)
		/* only a known "none pending": an error or a kept result keeps it */
		if (!qid_held(r->msgs[i].qid) &&
		    store_pending_for(r->st, r->msgs[i].qid) == 0 &&
		    spool_exists(sp, SPOOL_OUT, r->msgs[i].qid))
			spool_remove(sp, SPOOL_OUT, r->msgs[i].qid);
}

/*
 * deliver_reap - finish every run whose threads are done (all of them,
 * waiting, if wait); returns how many deliveries they had
 */
int
deliver_reap(struct spool *sp, int wait, deliver_failed_fn failed, void *arg)
{
	char drain[64];
	int n = 0, k = 0, done;

	if (done_pipe[0] >= 0)
		while (read(done_pipe[0], drain, sizeof(drain)) > 0)
			;
	for (int i = 0; i < nruns; i++) {
		pthread_mutex_lock(&runs[i]->lock);
		done = runs[i]->left == 0;
		pthread_mutex_unlock(&runs[i]->lock);
		if (!done && !wait) {
			runs[k++] = runs[i];
			continue;
		}
		n += runs[i]->njobs;
		run_finish(runs[i], sp, failed, arg);
		run_free(runs[i]);
	}
	if (nruns != k)
		runs_epoch++;	/* what they had is due again, if not done */
	nruns = k;
	return n;
}

/*
 * The last look for due deliveries: what the database, the second and the
 * runs out were then. Nothing can have become due while all three stay the
 * same, so the next start does not read and open every pending row again
 * (10,000 of them for a big post whose run has just gone out). Skipping
 * starts nothing, so it cannot send twice; at worst a delivery waits for
 * the next second.
 */
static struct {
	unsigned long long	 version;	/* store_queue_version after it */
	long long		 now;
	unsigned		 epoch;		/* runs_epoch */
	int			 valid;
} looked;

/*
 * look_skip - may the look for due deliveries be skipped? Only if nothing
 * changed since the last one (v the version before this replay): at the
 * same second, or a later one that the due index says made nothing due
 * (a 10,000-member run out at a second's turn read, sorted and dropped
 * all its rows again, on a core its threads were sending on). Not while
 * results wait for a database that refused them: one may let a row be
 * due without a change in it. (The others kept are of runs still out,
 * whose rows in_flight names; the end of a run changes runs_epoch.)
 */
static int
look_skip(struct run *r, unsigned long long v)
{
	int kept;

	if (!looked.valid || v == 0 || v != looked.version ||
	    runs_epoch != looked.epoch || r->now < looked.now)
		return 0;
	if (r->now == looked.now)
		return 1;
	pthread_mutex_lock(&unrec_lock);
	kept = unrec.fails;
	pthread_mutex_unlock(&unrec_lock);
	if (kept || store_due_between(r->st, looked.now, r->now) != 0)
		return 0;
	looked.now = r->now;	/* all that is due now was seen */
	return 1;
}

/* run_collect - the due deliveries no run has; 0 if none */
static int
run_collect(struct run *r)
{
	unsigned long long v = store_queue_version(r->st);
	int n;

	/* the journal first: what it says was made is not made again */
	(void)deliver_journal_replay(r->cfg, r->st);
	/* the replay's own rows were in runs: they make nothing due */
	if (look_skip(r, v)) {
		if ((looked.version = store_queue_version(r->st)) == 0)
			looked.valid = 0;
		return 0;
	}
	looked.valid = 0;
	if ((n = store_deliveries_due_unless(r->st, r->now, DUE_LIMIT,
	    not_due, collect, r)) < 0)
		log_err("NOQUEUE deliver: database: %s", store_errmsg(r->st));
	else if (n < DUE_LIMIT && (v = store_queue_version(r->st)) != 0) {
		looked.version = v;
		looked.now = r->now;
		looked.valid = 1;	/* its epoch: when the run is out */
	}
	if (r->njobs == 0)
		return 0;
	return r->njobs;
}

/*
 * run_journal - the journal opened for appending, with room reserved past
 * its end for the lines of this run and of the runs out, before any copy
 * goes out. Without that room nothing is sent: a copy the relay took
 * whose answer is held only in memory (a full disk: no journal, no
 * commit) is sent again after a kill -9, to every member of its batch
 * (the fault campaign: 420 such answers in memory at once). 0 or -1.
 */
static int
run_journal(struct run *r)
{
	char jpath[4200];

	snprintf(jpath, sizeof(jpath), "%s/queue/deliver.journal",
	    r->cfg->state_dir);
	if ((r->jfd = open(jpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) >= 0 && journal_reserve(r->jfd, jobs_out + r->njobs) == 0) {
		if (noroom)
			log_info("NOQUEUE deliver: room in %s again; deliveries "
			    "go on", jpath);
		noroom = 0;
		return 0;
	}
	if (!noroom)
		log_warn("NOQUEUE deliver: no room to journal %d deliveries in "
		    "%s: %s; they wait", r->njobs, jpath, strerror(errno));
	noroom = 1;
	if (r->jfd >= 0)
		(void)close(r->jfd);
	r->jfd = -1;
	return -1;
}

/*
 * run_fit - the run, halved until the journal has room for it (the rest
 * stays due: the next run takes it). A run of every due delivery that
 * did not fit held back every list's mail on a nearly full disk, a big
 * list's post a small list's copy (round 8b). 0, or -1: not even one.
 */
static int
run_fit(struct run *r)
{
	int all = r->njobs;

	while (run_journal(r) < 0) {
		if (r->njobs == 1)
			return -1;
		for (int i = r->njobs / 2; i < r->njobs; i++) {
			free(r->jobs[i].d.rcpt);
			buf_free(&r->jobs[i].d.pgp);
		}
		r->njobs /= 2;
	}
	if (r->njobs < all) {
		looked.valid = 0;	/* the rest is due: collected again */
		log_warn("NOQUEUE deliver: room to journal %d of %d due "
		    "deliveries; the rest waits", r->njobs, all);
	}
	return 0;
}

/*
 * run_threads - how many connections a new run gets: what is left of
 * relay.connections by the runs out, at least one (so a run of big copies
 * cannot keep a new post's from starting), at most one per batch
 */
static int
run_threads(const struct run *r)
{
	int n = r->cfg->relay_connections - threads_out;

	n = n < 1 ? 1 : n;
	return n < r->nbatches ? n : r->nbatches;
}

/*
 * deliver_start - a run of every delivery that is due and in no run out
 * yet, sent by threads of its own while the queue manager goes on (at most
 * DELIVER_RUNS out at once). The results are kept and journaled by the
 * threads and recorded in the database only by the queue manager's thread
 * (deliver_reap, or the next start). Returns how many deliveries it took.
 */
int
deliver_start(const struct config *cfg, struct store *st, struct spool *sp,
    long long now)
{
	struct run *r;
	int n;

	if (nruns == DELIVER_RUNS)
		return 0;
	(void)deliver_pollfd();
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return 0;	/* next turn */
	r->jfd = -1;
	r->cfg = cfg;
	r->st = st;
	r->keys = sp->keys;
	r->now = now;
	pthread_mutex_init(&r->lock, NULL);
	if ((n = run_collect(r)) == 0) {
		r->cfg = NULL;
		run_free(r);
		looked.epoch = runs_epoch;
		return 0;
	}
	config_hold(cfg);	/* a reload meanwhile frees it after the run */
	if (run_fit(r) < 0) {
		looked.valid = 0;	/* due still: tried again after a wait */
		run_free(r);
		return 0;
	}
	n = r->njobs;
	cut(r, *cfg->relay_host ? cfg->relay_batch : 100);
	jobs_out += r->njobs;
	results_reserve(jobs_out);
	r->msgs = load(r, sp, &r->nmsg);
	r->nthreads = r->left = run_threads(r);
	if ((r->th = calloc((size_t)r->nthreads, sizeof(*r->th))) == NULL)
		abort();
	for (int i = 0; i < r->nthreads; i++)
		if (pthread_create(&r->th[i], NULL, *cfg->relay_host ?
		    smtp_worker : maildir_worker, r) != 0)
			abort();
	threads_out += r->nthreads;
	runs[nruns++] = r;
	looked.epoch = ++runs_epoch;
	return n;
}
