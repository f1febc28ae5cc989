/*
 * worker.c - parse hostile mail where a crash costs nothing and sees nothing.
 *
 * libetpan's MIME parser is known to corrupt memory on some inputs, so the
 * transform runs in a child made for each message. That child must not
 * hold another message's plaintext, the keys or a descriptor worth having,
 * so it is not forked from the queue manager (whose heap has held every
 * message it ever read) but from a zygote: a small process the daemon
 * forks at start, as root and before it has accepted any mail
 * (worker_start). The zygote wipes its copy of the key block, closes every
 * descriptor but its socket, becomes worker_user (or the daemon's user;
 * never root: then "nobody"), and from then on only forks: for each
 * request on its socket it makes a socket pair, forks a child, and hands
 * one end back to the queue manager with SCM_RIGHTS. The queue manager
 * writes the job (the message, and the few settings the transform reads)
 * into it and reads the answer back; the zygote reaps the child and says
 * how it ended. The zygote parses nothing, so every child starts from the
 * same clean image.
 *
 * A parse is a struct worker_job: started (the child made, the job
 * written as far as its socket takes it, the rest when poll says so),
 * then read as its answer comes, without blocking, while the
 * queue manager does other work (workpool.c keeps several in flight and
 * polls their sockets), then finished into a transform_out. The zygote's
 * messages for every job in flight arrive on one socket and are handed to
 * their job by sequence number (zygote_dispatch). worker_transform is the
 * same, waited for at once.
 *
 * Before it reads the job the child closes every descriptor but its
 * socket, takes its budgets (RLIMIT_AS limits.worker_memory, RLIMIT_CPU
 * limits.worker_seconds; no process, no file growth, no core), dies with
 * the zygote (PDEATHSIG), gives up the file system, TCP and signals
 * (Landlock, as far as the kernel's ABI goes) and every system call but a
 * short list (seccomp: anything else kills it). The zygote kills a child
 * still running past limits.worker_seconds of wall-clock time. However
 * the child dies, the queue manager learns only that the message could
 * not be parsed, and why in plain words; the caller quarantines it.
 *
 * A job may also be a key sent by mail (worker_pgp's key_of): the child
 * then finds, judges and reduces that key with librnp (pgpin_key.c) and
 * answers the minimal key, or why it cannot be used; nothing else. Or an
 * answer to a token (token_hash): was it signed by the key sent with it,
 * the token inside what was signed. Or private mail to a pseudonym
 * (private_open): opened with the pseudonym's key sent with it
 * (pgpopen.c), the opened mail or why not the answer.
 *
 * Only the settings in struct job (hostname; the list's name, description,
 * archive_url, subject_prefix, footer, one_click_url, munge_from, html,
 * strip_signature) reach the child: a transform that reads another field must add it there.
 *
 * Tests: in a build with -DMLISTD_TEST_HOOKS (bin/mlistd-test-hooks, made
 * beside bin/mlistd and used only by the end-to-end tests), an environment
 * variable names a word that makes the child spin, confined, on a message
 * containing it (the CPU budget's test), another one that makes it abort
 * (the pool's retries). bin/mlistd is built without them: a production
 * daemon has no switch that makes its parser misbehave.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "util/fdpass.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/mono.h"
#include "util/sandbox.h"
#include "mail/notices.h"
#include "pipeline/pgpin_open.h"
#include "pipeline/pgpwhy.h"
#include "pipeline/worker.h"

#define WORKER_MAXKIDS	64
#define WORKER_SLACK_MS	5000	/* the queue manager's own deadline, past the zygote's */
#define DEF_MEMORY	(512LL << 20)
#define DEF_SECONDS	30

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN	1	/* its shadow memory needs terabytes of address space */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN	1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN	0
#endif

enum { Z_STARTED = 1, Z_DONE, Z_FAILED };

/* queue manager -> zygote: make a child with these budgets */
struct zreq {
	pid_t		 owner;
	unsigned	 seq;
	long long	 memory;
	int		 seconds;
	int		 pgp;		/* opens OpenPGP: librnp made ready */
};

/* zygote -> queue manager: a child started (its socket attached) or ended */
struct zmsg {
	int		 kind;
	pid_t		 owner;
	unsigned	 seq;
	pid_t		 pid;
	int		 status;	/* waitpid's */
	int		 timed_out;	/* killed by the zygote at the deadline */
	int		 err;
};

enum { JS_QID, JS_HOST, JS_NAME, JS_DESC, JS_ARCHIVE, JS_PREFIX, JS_FOOTER,
    JS_NOSUBJ, JS_KEYOF, JS_TOKEN, JS_UNNAMED, JS_PREAMBLE, JS_FOOTDESC,
    JS_EMPTIED, JS_ONECLICK, JS_MEMBER, JS_N };

/* the child's templates: the one piece a transform uses, as the job sent it */
static struct notices job_pieces;

/* queue manager -> child: the job; then JS_N strings, then the message */
struct job_head {
	size_t		 len;
	long long	 received;
	int		 intact, want_real, want_anon, authored;
	int		 has_cfg, has_list;	/* NULL stays NULL (a test's stand-in for a crash) */
	int		 munge_from, html, strip_signature, jitter_max, batch;
	size_t		 slen[JS_N];
	/* then the list's OpenPGP secret key and the member's key */
	size_t		 seclen, keylen;
	int		 key_job;	/* JS_KEYOF's key, not a parse */
	int		 answer_job;	/* JS_TOKEN's answer, not a parse */
	int		 open_job;	/* private mail opened, not a parse */
};

struct reply_head {
	int		 result;
	int		 automatic, bounce, loop, footer;
	char		 from[ADDR_MAX + 1];
	char		 reason[160];
	int		 remote;
	int		 pgp, pgp_verified;
	unsigned char	 pgp_replay[32], pgp_sealed[32];
	size_t		 len;
	size_t		 plen[TP_N];
};

struct kid {
	pid_t		 pid;
	pid_t		 owner;
	unsigned	 seq;
	struct timespec	 deadline;
	int		 timed_out;
};

static int zygote_fd = -1;	/* the daemon's end of the zygote's socket */
static struct worker_job *live[WORKER_MAXKIDS];	/* started, not yet finished */
static int nlive;
static pid_t zygote_pid = -1, zygote_parent = -1;
static unsigned zygote_seq;
#ifdef MLISTD_TEST_HOOKS
static const char *spin_word;	/* MLISTD_TEST_WORKER_SPIN */
static const char *crash_word;	/* MLISTD_TEST_WORKER_CRASH */

/* test_hooks_read - the test build's triggers, from the environment */
static void
test_hooks_read(void)
{
	spin_word = getenv("MLISTD_TEST_WORKER_SPIN");
	crash_word = getenv("MLISTD_TEST_WORKER_CRASH");
}

/* test_hooks_run - spin or abort on a message holding the trigger word */
static void
test_hooks_run(const struct transform_in *in)
{
	if (spin_word && *spin_word &&
	    memmem(in->msg, in->len, spin_word, strlen(spin_word)))
		for (volatile unsigned long n = 0;; n++)
			;	/* a stand-in for a parse that never ends */
	if (crash_word && *crash_word &&
	    memmem(in->msg, in->len, crash_word, strlen(crash_word)))
		abort();	/* a stand-in for libetpan's crashes */
}
#else
#define test_hooks_read()	do { } while (0)
#define test_hooks_run(in)	do { (void)(in); } while (0)
#endif

/*
 * worker_confine - no file may be made, written, removed or renamed, and
 * only what lies under /usr may be read (iconv's modules, ICU's data);
 * no TCP and no signal out, where the kernel's Landlock ABI has them.
 * 1 confined, 0 the kernel has no Landlock (the rest of the sandbox stays).
 */
int
worker_confine(void)
{
	return sandbox_landlock("/usr") > 0 ? 1 : 0;
}

/* worker_ids - who the parser runs as: worker_user, else user, never root ("nobody") */
static int
worker_ids(const struct config *cfg, uid_t *uid, gid_t *gid, const char **name)
{
	struct passwd *pw;

	*name = cfg && *cfg->worker_user ? cfg->worker_user : cfg && *cfg->user ? cfg->user : "";
	if (geteuid() != 0) {
		*uid = geteuid();
		*gid = getegid();
		return 0;
	}
	if (**name == 0)
		*name = "nobody";	/* never parse hostile mail as root */
	if ((pw = getpwnam(*name)) == NULL || pw->pw_uid == 0)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* become - the zygote takes the parser's user for good */
static int
become(uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -1;
	return setuid(0) == 0 ? -1 : 0;
}

/* send_msg - a zmsg, with a descriptor attached when fd >= 0 */
static int
send_msg(int sock, const struct zmsg *m, int fd)
{
	return fd_send(sock, m, sizeof(*m), &fd, fd >= 0);
}

/* recv_msg - a zmsg and its descriptor (-1 none); -1 on EOF, error, nothing */
static int
recv_msg(int sock, struct zmsg *m, int *fd, int flags)
{
	return fd_recv(sock, m, sizeof(*m), fd, 1, flags) < 0 ? -1 : 0;
}

/* read_full - exactly n bytes, or -1 */
static int
read_full(int fd, void *p, size_t n)
{
	ssize_t r;

	for (size_t got = 0; got < n; got += (size_t)r)
		if ((r = read(fd, (char *)p + got, n - got)) <= 0) {
			if (r < 0 && errno == EINTR) {
				r = 0;
				continue;
			}
			return -1;
		}
	return 0;
}

/* child_confine - everything the child gives up before it reads a byte of mail; exits on failure */
static void
child_confine(int fd, const struct zreq *rq, pid_t zygote)
{
	struct sandbox_limits lim = { UNDER_ASAN ? 0 : rq->memory, rq->seconds };

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != zygote)
		_exit(4);
	if (sandbox_close_fds(fd, UNDER_ASAN) < 0 || sandbox_rlimits(&lim) < 0)
		_exit(4);
	/*
	 * librnp opens /dev/null (its log) and /dev/urandom (Botan's RNG) on
	 * first use, which the sandbox forbids: done now for a job that
	 * carries a post encrypted to the list (pgpin_open.c); only such a
	 * child holds those two descriptors
	 */
	if (rq->pgp && pgpin_warm() < 0)
		_exit(4);
	signal(SIGPIPE, SIG_DFL);
	if (sandbox_landlock("/usr") < 0 || sandbox_seccomp(fd) < 0)
		_exit(4);	/* a half-built sandbox parses nothing */
}

/* job_read - the job into in (pointing into *mem, which the caller frees); -1 if short */
static int
job_read(int fd, struct transform_in *in, struct worker_pgp *pg,
    struct config *c, struct list_cfg *l, char **mem)
{
	struct job_head h;
	char *s[JS_N], *p;
	size_t total;

	if (read_full(fd, &h, sizeof(h)) < 0)
		return -1;
	total = h.len + 1 + h.seclen + h.keylen;
	for (int i = 0; i < JS_N; i++)
		total += h.slen[i] + 1;
	if ((p = *mem = malloc(total)) == NULL)
		return -1;
	for (int i = 0; i < JS_N; i++) {
		if (read_full(fd, p, h.slen[i]) < 0)
			return -1;
		p[h.slen[i]] = 0;
		s[i] = p;
		p += h.slen[i] + 1;
	}
	if (read_full(fd, p, h.len) < 0)
		return -1;
	p[h.len] = 0;
	if (read_full(fd, p + h.len + 1, h.seclen) < 0 ||
	    read_full(fd, p + h.len + 1 + h.seclen, h.keylen) < 0)
		return -1;
	memset(c, 0, sizeof(*c));
	memset(l, 0, sizeof(*l));
	c->hostname = s[JS_HOST];
	l->name = s[JS_NAME];
	l->description = s[JS_DESC];
	l->archive_url = s[JS_ARCHIVE];
	l->subject_prefix = s[JS_PREFIX];
	l->footer = s[JS_FOOTER];
	l->one_click_url = s[JS_ONECLICK];
	job_pieces.piece[PIECE_NO_SUBJECT] = s[JS_NOSUBJ];	/* checked at load */
	job_pieces.piece[PIECE_UNNAMED_SENDER] = s[JS_UNNAMED];
	job_pieces.piece[PIECE_MIME_PREAMBLE] = s[JS_PREAMBLE];
	job_pieces.piece[PIECE_FOOTER_DESCRIPTION] = s[JS_FOOTDESC];
	job_pieces.piece[PIECE_FORWARD_EMPTIED] = s[JS_EMPTIED];
	job_pieces.piece[PIECE_MEMBER_NAME] = s[JS_MEMBER];
	c->notices = &job_pieces;
	l->munge_from = h.munge_from;
	l->html = h.html;
	l->strip_signature = h.strip_signature;
	l->jitter_max = h.jitter_max;
	l->batch = h.batch;
	*in = (struct transform_in){ h.has_cfg ? c : NULL, h.has_list ? l : NULL, s[JS_QID], p, h.len,
	    h.received, h.intact, h.want_real, h.want_anon, h.authored };
	*pg = (struct worker_pgp){ h.seclen ? p + h.len + 1 : NULL, h.seclen,
	    h.keylen ? p + h.len + 1 + h.seclen : NULL, h.keylen,
	    h.key_job ? s[JS_KEYOF] : NULL,
	    h.answer_job ? s[JS_TOKEN] : NULL, h.open_job };
	return 0;
}

/* reply - the answer, header then rendered copy then parts */
static int
reply(int fd, enum result r, struct transform_out *out)
{
	struct reply_head h;

	memset(&h, 0, sizeof(h));
	h.result = r;
	h.automatic = out->automatic;
	h.bounce = out->bounce;
	h.loop = out->loop;
	h.footer = out->footer;
	memcpy(h.from, out->from, sizeof(h.from));
	memcpy(h.reason, out->reason, sizeof(h.reason));
	h.remote = out->remote;
	h.pgp = out->pgp;
	h.pgp_verified = out->pgp_verified;
	memcpy(h.pgp_replay, out->pgp_replay, sizeof(h.pgp_replay));
	memcpy(h.pgp_sealed, out->pgp_sealed, sizeof(h.pgp_sealed));
	h.len = r == OK ? out->rendered.len : 0;
	for (int i = 0; i < TP_N; i++)
		h.plen[i] = r == OK ? out->part[i].len : 0;
	if (fs_write_all(fd, &h, sizeof(h)) < 0 || (h.len && fs_write_all(fd, out->rendered.data, h.len) < 0))
		return -1;
	for (int i = 0; i < TP_N; i++)
		if (h.plen[i] && fs_write_all(fd, out->part[i].data, h.plen[i]) < 0)
			return -1;
	return 0;
}

/*
 * child_open - a post encrypted to the list opened with the key sent with
 * the job (the key is wiped as soon as it has been used): in then points to
 * the opened post. PERMFAIL when it cannot be opened (out says why).
 */
static enum result
child_open(struct transform_in *in, struct worker_pgp *pg,
    struct transform_out *out, struct buf *opened)
{
	struct pgpin_opened r;
	char la[600] = "";
	int rc;

	memset(out, 0, sizeof(*out));
	buf_init(opened, 0);
	if (pg->secret == NULL && pg->key == NULL)
		return OK;
	if (in->list && in->cfg)
		snprintf(la, sizeof(la), "%s@%s", in->list->name,
		    in->cfg->hostname);
	rc = pgpin_open(in->msg, in->len, *la ? la : NULL, pg->secret,
	    pg->secret_len, pg->key, pg->key_len, opened, &r);
	if (pg->secret != NULL)
		sodium_memzero((void *)pg->secret, pg->secret_len);
	pg->secret = NULL;
	if (rc == 0 && r.verified) {
		/* signed in clear by the From's registered key */
		out->pgp = 2;
		out->pgp_verified = 1;
		memcpy(out->pgp_replay, r.replay, sizeof(out->pgp_replay));
	}
	if (rc == 0)
		return OK;
	if (rc < 0) {
		out->pgp = -1;
		/* a code the queue manager words (pgpwhy.c) */
		pgpwhy_code(r.why, REASON_PGP_UNOPENED, out->reason,
		    sizeof(out->reason));
		return PERMFAIL;
	}
	out->pgp = 1;
	out->pgp_verified = r.verified;
	memcpy(out->pgp_replay, r.replay, sizeof(out->pgp_replay));
	memcpy(out->pgp_sealed, r.sealed_id, sizeof(out->pgp_sealed));
	in->msg = (const char *)opened->data;
	in->len = opened->len;
	return OK;
}

/* child - confine, read the job, transform, answer; never returns */
static void
child(int fd, const struct zreq *rq, pid_t zygote)
{
	struct transform_in in;
	struct transform_out out;
	struct config c;
	struct list_cfg l;
	struct worker_pgp pg;
	struct buf opened;
	char *mem = NULL;
	enum result r;

	child_confine(fd, rq, zygote);
	if (job_read(fd, &in, &pg, &c, &l, &mem) < 0)
		_exit(3);
	test_hooks_run(&in);
	/* a key sent by mail, a signed answer: librnp only here */
	if (pg.key_of != NULL || pg.token_hash != NULL)
		_exit(reply(fd, pgpin_key_child(&in, &pg, &out), &out) < 0 ?
		    3 : 0);
	if (pg.private_open)
		_exit(reply(fd, pgpopen_child(&in, &pg, &out), &out) < 0 ?
		    3 : 0);
	r = child_open(&in, &pg, &out, &opened);
	if (r == OK) {
		/* transform_post starts afresh */
		struct transform_out pgp = out;

		r = transform_post(&in, &out);
		out.pgp = pgp.pgp;
		out.pgp_verified = pgp.pgp_verified;
		memcpy(out.pgp_replay, pgp.pgp_replay, sizeof(out.pgp_replay));
		memcpy(out.pgp_sealed, pgp.pgp_sealed, sizeof(out.pgp_sealed));
	}
	_exit(reply(fd, r, &out) < 0 ? 3 : 0);
}

/* deadline_in - now + seconds on the monotonic clock */
static struct timespec
deadline_in(int seconds)
{
	return mono_in_ms(seconds * 1000LL);
}

/* ms_until - milliseconds from now to t, 0 if past */
static long
ms_until(struct timespec t)
{
	long long ms = mono_ms_until(t);

	return ms < 0 ? 0 : ms > 3600000 ? 3600000 : (long)ms;
}

/* zygote_spawn - one child for one request; its socket goes back to the asker */
static void
zygote_spawn(int sock, const struct zreq *rq, struct kid *kids, int *nkids)
{
	struct zmsg m = { Z_FAILED, rq->owner, rq->seq, 0, 0, 0, 0 };
	int sv[2];
	pid_t pid;

	if (*nkids >= WORKER_MAXKIDS || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		m.err = *nkids >= WORKER_MAXKIDS ? EAGAIN : errno;
		(void)send_msg(sock, &m, -1);
		return;
	}
	if ((pid = fork()) == 0) {
		(void)close(sv[0]);
		child(sv[1], rq, getppid());
	}
	(void)close(sv[1]);
	if (pid < 0) {
		m.err = errno;
		(void)close(sv[0]);
		(void)send_msg(sock, &m, -1);
		return;
	}
	kids[*nkids] = (struct kid){ pid, rq->owner, rq->seq, deadline_in(rq->seconds), 0 };
	(*nkids)++;
	m.kind = Z_STARTED;
	m.pid = pid;
	(void)send_msg(sock, &m, sv[0]);
	(void)close(sv[0]);
}

/* zygote_reap - kill the overdue, report the ended; the next poll timeout */
static int
zygote_reap(int sock, struct kid *kids, int *nkids)
{
	struct zmsg m;
	int status, wait = -1;
	long left;

	for (int i = 0; i < *nkids; i++) {
		if (!kids[i].timed_out && ms_until(kids[i].deadline) == 0) {
			(void)kill(kids[i].pid, SIGKILL);
			kids[i].timed_out = 1;
		}
		if (waitpid(kids[i].pid, &status, WNOHANG) != kids[i].pid) {
			left = kids[i].timed_out ? 50 : ms_until(kids[i].deadline);
			wait = wait < 0 || left < wait ? (int)left : wait;
			/* a child's end is seen within 20 ms even without a signal to wake the poll */
			wait = wait > 20 ? 20 : wait;
			continue;
		}
		m = (struct zmsg){ Z_DONE, kids[i].owner, kids[i].seq, kids[i].pid, status, kids[i].timed_out, 0 };
		(void)send_msg(sock, &m, -1);
		kids[i--] = kids[--(*nkids)];
	}
	return wait;
}

/* zygote_main - fork on request until the daemon's end of the socket closes; never returns */
static void
zygote_main(int sock)
{
	struct kid kids[WORKER_MAXKIDS];
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct zreq rq;
	ssize_t n;
	int nkids = 0, wait;

	for (;;) {
		wait = zygote_reap(sock, kids, &nkids);
		if (poll(&p, 1, wait) <= 0)
			continue;
		if ((n = recv(sock, &rq, sizeof(rq), 0)) < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno != EAGAIN))
			break;
		if (n == (ssize_t)sizeof(rq))
			zygote_spawn(sock, &rq, kids, &nkids);
	}
	for (int i = 0; i < nkids; i++)
		(void)kill(kids[i].pid, SIGKILL);
	_exit(0);
}

/* zygote_setup - in the new zygote: no keys, no descriptors, no root; exits on failure */
static void
zygote_setup(int sock, const struct keys *k, uid_t uid, gid_t gid)
{
	struct sigaction sa;

	if (k) {
		/* this copy of the key block is wiped (the daemon's stays), then made unreadable */
		sodium_mprotect_readwrite((void *)k);
		sodium_memzero((void *)k, sizeof(*k));
		sodium_mprotect_noaccess((void *)k);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	/* stderr stays: the log, in the foreground */
	if (close_range(3, (unsigned)sock - 1, 0) < 0 || close_range((unsigned)sock + 1, ~0U, 0) < 0 ||
	    become(uid, gid) < 0)
		_exit(4);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* describe - the start-up line: who the parser runs as, and what confines it */
static void
describe(const struct config *cfg, const char *name, uid_t uid, pid_t pid)
{
	char what[160];
	int ll = sandbox_landlock_abi();
	const char *sep;

	if (sandbox_describe(ll < 1 ? 0 : SANDBOX_LL_FS | (ll >= 4 ? SANDBOX_LL_NET : 0) |
	    (ll >= 6 ? SANDBOX_LL_SCOPE : 0), sandbox_seccomp_available(), what, sizeof(what)) < 0)
		snprintf(what, sizeof(what), "?");
	if (geteuid() != 0)
		sep = "the daemon's own (it is not root; seccomp forbids kill)";
	else if (uid == geteuid())
		sep = "the daemon's own";
	else
		sep = cfg && *cfg->worker_user ? "separate" : "separate (worker_user unset)";
	log_info("NOQUEUE worker: zygote pid %ld; parser user %s uid %ld (%s); %s memory=%lldMiB%s cpu=%ds "
	    "nproc=0 fsize=0 fds=closed", (long)pid, *name ? name : "-", (long)uid, sep, what,
	    (cfg ? cfg->worker_memory : DEF_MEMORY) >> 20, UNDER_ASAN ? " (off: ASan)" : "",
	    cfg ? cfg->worker_seconds : DEF_SECONDS);
}

/*
 * worker_start - fork the zygote now, before any mail is read (as root, to
 * give the parser a user of its own); 0, or -1 with why in err. Called
 * by the daemon at start; worker_transform calls it itself if nobody did.
 */
int
worker_start(const struct config *cfg, const struct keys *k, struct buf *err)
{
	const char *name;
	uid_t uid;
	gid_t gid;
	int sv[2];
	pid_t pid;

	if (worker_ids(cfg, &uid, &gid, &name) < 0) {
		buf_printf(err, "worker_user \"%s\" does not exist or is root: name an unprivileged user "
		    "(adduser --system --no-create-home mlistd-worker)", name);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		buf_printf(err, "socketpair: %s", strerror(errno));
		return -1;
	}
	test_hooks_read();
	if ((pid = fork()) < 0) {
		buf_printf(err, "fork: %s", strerror(errno));
		return close(sv[0]), close(sv[1]), -1;
	}
	if (pid == 0) {
		zygote_setup(sv[1], k, uid, gid);
		zygote_main(sv[1]);
	}
	(void)close(sv[1]);
	if (zygote_fd >= 0)
		(void)close(zygote_fd);
	zygote_fd = sv[0];
	zygote_pid = pid;
	zygote_parent = getpid();
	describe(cfg, name, uid, pid);
	return 0;
}

/*
 * worker_stop - at the daemon's end: the zygote sees its socket close
 * once the queue manager is gone too, and is reaped here (it may run as
 * a user the daemon cannot signal). Waits at most 2 s.
 */
void
worker_stop(void)
{
	if (zygote_fd >= 0)
		(void)close(zygote_fd);
	zygote_fd = -1;
	if (zygote_pid <= 0 || getpid() != zygote_parent)
		return;
	for (int i = 0; i < 200; i++) {
		if (waitpid(zygote_pid, NULL, WNOHANG) != 0)
			break;
		usleep(10000);
	}
	zygote_pid = -1;
}

/* JOB_PIECE - a piece's template for the child (the list's, else ours) */
#define JOB_PIECE(in, id) notice_piece_text((in)->list ? (in)->list->notices : \
	NULL, (in)->cfg ? (in)->cfg->notices : NULL, (id))

/*
 * job_pack - the job as the child reads it, into out (one allocation:
 * the list's secret key is in it, and out is zeroed when sent, job_sent)
 */
static int
job_pack(struct buf *out, const struct transform_in *in,
    const struct worker_pgp *pg)
{
	size_t total;
	const char *s[JS_N] = { in->qid ? in->qid : "", in->cfg ? in->cfg->hostname : "",
	    in->list ? in->list->name : "", in->list ? in->list->description : "",
	    in->list ? in->list->archive_url : "", in->list ? in->list->subject_prefix : "",
	    in->list ? in->list->footer : "",
	    notice_piece_text(in->list ? in->list->notices : NULL,
	    in->cfg ? in->cfg->notices : NULL, PIECE_NO_SUBJECT),
	    pg && pg->key_of ? pg->key_of : "",
	    pg && pg->token_hash ? pg->token_hash : "",
	    notice_piece_text(in->list ? in->list->notices : NULL,
	    in->cfg ? in->cfg->notices : NULL, PIECE_UNNAMED_SENDER),
	    notice_piece_text(in->list ? in->list->notices : NULL,
	    in->cfg ? in->cfg->notices : NULL, PIECE_MIME_PREAMBLE),
	    JOB_PIECE(in, PIECE_FOOTER_DESCRIPTION),
	    JOB_PIECE(in, PIECE_FORWARD_EMPTIED),
	    in->list ? in->list->one_click_url : "",
	    JOB_PIECE(in, PIECE_MEMBER_NAME) };
	struct job_head h;

	memset(&h, 0, sizeof(h));
	h.len = in->len;
	h.received = in->received;
	h.intact = in->intact;
	h.want_real = in->want_real;
	h.want_anon = in->want_anon;
	h.authored = in->authored;
	h.has_cfg = in->cfg != NULL;
	h.has_list = in->list != NULL;
	if (in->list) {
		h.munge_from = in->list->munge_from;
		h.html = in->list->html;
		h.strip_signature = in->list->strip_signature;
		h.jitter_max = in->list->jitter_max;	/* a delayed list's copy is dated at release */
		h.batch = in->list->batch;
	}
	for (int i = 0; i < JS_N; i++)
		h.slen[i] = s[i] ? strlen(s[i]) : 0;
	h.seclen = pg && pg->secret ? pg->secret_len : 0;
	h.keylen = pg && pg->key ? pg->key_len : 0;
	h.key_job = pg && pg->key_of;
	h.answer_job = pg && pg->token_hash;
	h.open_job = pg && pg->private_open;
	total = sizeof(h) + in->len + h.seclen + h.keylen;
	for (int i = 0; i < JS_N; i++)
		total += h.slen[i];
	if (buf_reserve(out, total) < 0 || buf_append(out, &h, sizeof(h)) < 0)
		return -1;
	for (int i = 0; i < JS_N; i++)
		if (h.slen[i] && buf_append(out, s[i], h.slen[i]) < 0)
			return -1;
	if (buf_append(out, in->msg, in->len) < 0)
		return -1;
	if (h.seclen && buf_append(out, pg->secret, h.seclen) < 0)
		return -1;
	return h.keylen ? buf_append(out, pg->key, h.keylen) : 0;
}

/* job_sent - nothing more to send: the job's bytes zeroed and freed */
static void
job_sent(struct worker_job *j)
{
	if (j->out.data)
		sodium_memzero(j->out.data, j->out.cap);
	buf_free(&j->out);
	j->sending = 0;
}

/*
 * job_push - as much of the job as the child's socket takes now, never
 * waiting (a 2 MB post written whole held the queue manager's loop until
 * a busy machine scheduled the child to read it: 0.1-0.25 s at load 7,
 * #15); the rest when poll says the socket takes more. Sent whole: the
 * write side is shut, so the child sees the end.
 */
static void
job_push(struct worker_job *j)
{
	ssize_t w;

	while (j->sending && j->fd >= 0 && j->out_off < j->out.len) {
		w = send(j->fd, j->out.data + j->out_off,
		    j->out.len - j->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w <= 0) {
			/* the child died early: its end shows later */
			job_sent(j);
			(void)close(j->fd);
			j->fd = -1;
			j->rd = -1;
			return;
		}
		j->out_off += (size_t)w;
	}
	if (j->sending && j->fd >= 0)
		(void)shutdown(j->fd, SHUT_WR);
	job_sent(j);
}

/* worker_job_sending - is part of the job still to be written? */
int
worker_job_sending(const struct worker_job *j)
{
	return j->sending && j->fd >= 0;
}

/* zygote_dispatch - how another job's child ended, to that job */
static void
zygote_dispatch(const struct zmsg *m, int fd)
{
	if (fd >= 0)
		(void)close(fd);	/* for an asker that gave up or died */
	if (m->owner != getpid() || m->kind != Z_DONE)
		return;
	for (int i = 0; i < nlive; i++)
		if (live[i]->seq == m->seq) {
			live[i]->ended = 1;
			live[i]->status = m->status;
			live[i]->timed_out = m->timed_out;
			return;
		}
}

/* zygote_wait - the zygote's next message for this request; -1 if it is gone or late */
static int
zygote_wait(unsigned seq, int kind, struct zmsg *m, int *fd, struct timespec deadline)
{
	struct pollfd p = { .fd = zygote_fd, .events = POLLIN };
	int r;

	for (;;) {
		if ((r = poll(&p, 1, (int)ms_until(deadline))) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (recv_msg(zygote_fd, m, fd, 0) < 0)
			return -1;
		if (m->owner == getpid() && m->seq == seq && (m->kind == kind || m->kind == Z_FAILED))
			return m->kind == kind ? 0 : -1;
		zygote_dispatch(m, *fd);
	}
}

/* worker_zygote_events - the zygote's messages, each to its job; no waiting */
void
worker_zygote_events(void)
{
	struct zmsg m;
	int fd;

	while (zygote_fd >= 0 &&
	    recv_msg(zygote_fd, &m, &fd, MSG_DONTWAIT) == 0)
		zygote_dispatch(&m, fd);
}

/* worker_zygote_fd - the zygote's socket to poll beside the jobs' (-1 none) */
int
worker_zygote_fd(void)
{
	return zygote_fd;
}

/* spawn - a fresh confined child from the zygote; its socket, or -1 with why in reason */
static int
spawn(const struct transform_in *in, const struct keys *k, int pgp,
    unsigned *seq, char *reason, size_t len)
{
	struct zreq rq = { getpid(), ++zygote_seq, in->cfg ? in->cfg->worker_memory : DEF_MEMORY,
	    in->cfg ? in->cfg->worker_seconds : DEF_SECONDS, pgp };
	struct zmsg m;
	struct buf err;
	int fd;

	buf_init(&err, 0);
	if (zygote_fd < 0 && worker_start(in->cfg, k, &err) < 0) {
		snprintf(reason, len, "the parser's sandbox cannot start: %s", buf_cstr(&err));
		return buf_free(&err), -1;
	}
	buf_free(&err);
	*seq = rq.seq;
	if (send(zygote_fd, &rq, sizeof(rq), MSG_NOSIGNAL) != (ssize_t)sizeof(rq) ||
	    zygote_wait(rq.seq, Z_STARTED, &m, &fd, deadline_in(10)) < 0 || fd < 0) {
		snprintf(reason, len, "the parser's sandbox is not answering");
		return -1;
	}
	return fd;
}

/*
 * ending - how the child ended, in words for its sender; j->crashed
 * unless it ran out of time
 */
static void
ending(struct worker_job *j, char *reason, size_t len)
{
	int secs = j->seconds, sig = 0, rd = j->rd;
	const char *how;

	if (j->ended && WIFSIGNALED(j->status))
		sig = WTERMSIG(j->status);
	j->crashed = 0;
	if (rd == -2 || (j->ended && (j->timed_out || sig == SIGXCPU)))
		how = "timed out";
	else if (sig == SIGSYS)
		how = "crashed: it tried something the sandbox forbids";
	else if (sig)
		how = "crashed";
	else
		how = "failed";
	j->crashed = strcmp(how, "timed out") != 0;
	/* a code the queue manager words ([why-parser-*]) */
	if (!j->crashed)
		snprintf(reason, len, "@parser-timeout\tseconds=%d", secs);
	else
		snprintf(reason, len, "@parser-%s", sig == SIGSYS ?
		    "forbidden" : sig ? "crashed" : "failed");
	if (sig || rd == -2)
		log_warn("%s worker: parser %s (signal %d)",
		    *j->qid ? j->qid : "NOQUEUE", how, sig);
}

/* unpack - the reply into out; the result, PERMFAIL on a malformed reply */
static enum result
unpack(const struct buf *raw, struct transform_out *out)
{
	struct reply_head h;
	size_t total, off;

	memcpy(&h, raw->data, sizeof(h));
	total = h.len < raw->len ? h.len : raw->len;
	for (int i = 0; i < TP_N; i++)
		total += h.plen[i] < raw->len ? h.plen[i] : raw->len;
	if (total != raw->len - sizeof(h) || (h.result != OK && h.result != PERMFAIL && h.result != TEMPFAIL))
		return snprintf(out->reason, sizeof(out->reason),
		    "@parser-bad-reply"), PERMFAIL;
	out->automatic = h.automatic;
	out->bounce = h.bounce;
	out->loop = h.loop;
	out->footer = h.footer;
	out->remote = h.remote;
	out->pgp = h.pgp;
	out->pgp_verified = h.pgp_verified;
	memcpy(out->pgp_replay, h.pgp_replay, sizeof(out->pgp_replay));
	memcpy(out->pgp_sealed, h.pgp_sealed, sizeof(out->pgp_sealed));
	h.from[sizeof(h.from) - 1] = 0;
	h.reason[sizeof(h.reason) - 1] = 0;
	memcpy(out->from, h.from, sizeof(out->from));
	memcpy(out->reason, h.reason, sizeof(out->reason));
	off = sizeof(h);
	if (h.result == OK && buf_append(&out->rendered, raw->data + off, h.len) < 0)
		return snprintf(out->reason, sizeof(out->reason), "out of memory"), TEMPFAIL;
	off += h.len;
	for (int i = 0; i < TP_N && h.result == OK; i++) {
		if (buf_append(&out->part[i], raw->data + off, h.plen[i]) < 0)
			return snprintf(out->reason, sizeof(out->reason), "out of memory"), TEMPFAIL;
		off += h.plen[i];
	}
	return (enum result)h.result;
}

/* live_add - the job hears of its child's end from now on */
static void
live_add(struct worker_job *j)
{
	if (nlive >= WORKER_MAXKIDS)
		abort();	/* the zygote refuses more children than this */
	live[nlive++] = j;
}

/* live_rm - the job is finished or given up */
static void
live_rm(struct worker_job *j)
{
	for (int i = 0; i < nlive; i++)
		if (live[i] == j) {
			live[i] = live[--nlive];
			return;
		}
}

/*
 * worker_job_start - a child of the zygote, given the job; its answer is
 * read by worker_job_read. 0, or -1 with why in reason (nothing to finish).
 * The job is written as far as the socket takes it now, the rest by
 * worker_job_read: the child reads it before anything else.
 */
int
worker_job_start(struct worker_job *j, const struct transform_in *in,
    const struct worker_pgp *pg, const struct keys *k, char *reason,
    size_t len)
{
	int flags;

	memset(j, 0, sizeof(*j));
	snprintf(j->qid, sizeof(j->qid), "%s", in->qid ? in->qid : "");
	j->seconds = in->cfg ? in->cfg->worker_seconds : DEF_SECONDS;
	if ((j->fd = spawn(in, k, pg != NULL, &j->seq, reason, len)) < 0)
		return -1;
	j->deadline = deadline_in(j->seconds);
	j->deadline.tv_nsec += WORKER_SLACK_MS % 1000 * 1000000L;
	j->deadline.tv_sec +=
	    WORKER_SLACK_MS / 1000 + j->deadline.tv_nsec / 1000000000L;
	j->deadline.tv_nsec %= 1000000000L;
	buf_init(&j->raw,
	    sizeof(struct reply_head) + in->len * 10 + 10 * 65536 + 4096);
	live_add(j);
	buf_init(&j->out, 0);
	j->rd = 1;
	if (job_pack(&j->out, in, pg) < 0 ||
	    (flags = fcntl(j->fd, F_GETFL)) < 0 ||
	    fcntl(j->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		/* its end shows later, the child unfed */
		job_sent(j);
		(void)close(j->fd);
		j->fd = -1;
		j->rd = -1;
		return 0;
	}
	j->sending = 1;
	job_push(j);
	return 0;
}

/* worker_job_read - what the child has written so far; never blocks */
void
worker_job_read(struct worker_job *j)
{
	char chunk[65536];
	ssize_t n;

	job_push(j);	/* the rest of the job, if the socket takes it */
	while (j->fd >= 0) {
		if ((n = read(j->fd, chunk, sizeof(chunk))) < 0 &&
		    errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n > 0 && buf_append(&j->raw, chunk, (size_t)n) == 0)
			continue;
		/* the end, an error, or an answer past its cap */
		j->rd = n == 0 ? 0 : -1;
		(void)close(j->fd);
		j->fd = -1;
	}
	if (ms_until(j->deadline) == 0 && j->fd >= 0) {
		j->rd = -2;
		(void)close(j->fd);
		j->fd = -1;
	}
}

/* worker_job_done - answer read and the child's end known, or it is late */
int
worker_job_done(const struct worker_job *j)
{
	return (j->fd < 0 && j->ended) || ms_until(j->deadline) == 0;
}

/* worker_job_ms - milliseconds until the job is late (a poll timeout) */
int
worker_job_ms(const struct worker_job *j)
{
	return (int)ms_until(j->deadline);
}

/* worker_job_abandon - no answer wanted (the child dies at its deadline) */
void
worker_job_abandon(struct worker_job *j)
{
	live_rm(j);
	job_sent(j);
	if (j->fd >= 0)
		(void)close(j->fd);
	j->fd = -1;
	buf_free(&j->raw);
}

/* worker_job_finish - the answer into out, and the job released; its result */
enum result
worker_job_finish(struct worker_job *j, struct transform_out *out)
{
	enum result r;

	memset(out, 0, sizeof(*out));
	buf_init(&out->rendered, 0);
	for (int i = 0; i < TP_N; i++)
		buf_init(&out->part[i], 0);
	live_rm(j);
	job_sent(j);
	if (j->fd >= 0) {
		(void)close(j->fd);
		j->fd = -1;
		j->rd = -2;
	}
	if (j->rd < 0 || !j->ended || !WIFEXITED(j->status) ||
	    WEXITSTATUS(j->status) != 0 ||
	    j->raw.len < sizeof(struct reply_head)) {
		ending(j, out->reason, sizeof(out->reason));
		buf_free(&j->raw);
		return PERMFAIL;
	}
	j->crashed = 0;
	r = unpack(&j->raw, out);
	buf_free(&j->raw);
	return r;
}

/* job_wait - until the job's or the zygote's socket has something, or late */
static void
job_wait(struct worker_job *j)
{
	struct pollfd p[2] = { { .fd = j->fd, .events = POLLIN |
		    (worker_job_sending(j) ? POLLOUT : 0) },
		{ .fd = zygote_fd, .events = POLLIN } };

	if (poll(p, 2, worker_job_ms(j)) < 0 && errno != EINTR)
		usleep(10000);	/* not with valid descriptors; never spin */
	worker_zygote_events();
	worker_job_read(j);
}

/* worker_transform - transform_post in a sandboxed child, waited for */
enum result
worker_transform(const struct transform_in *in, const struct keys *k,
    struct transform_out *out)
{
	return worker_transform_pgp(in, NULL, k, out);
}

/*
 * worker_transform_pgp - the same, the post first opened with the list's
 * OpenPGP key in pg (NULL: none), which only the child sees, and only for
 * this job
 */
enum result
worker_transform_pgp(const struct transform_in *in,
    const struct worker_pgp *pg, const struct keys *k,
    struct transform_out *out)
{
	struct worker_job j;

	memset(out, 0, sizeof(*out));
	buf_init(&out->rendered, 0);
	for (int i = 0; i < TP_N; i++)
		buf_init(&out->part[i], 0);
	if (worker_job_start(&j, in, pg, k, out->reason,
	    sizeof(out->reason)) < 0) {
		log_err("%s worker: %s", in->qid ? in->qid : "NOQUEUE",
		    out->reason);
		return TEMPFAIL;
	}
	while (!worker_job_done(&j))
		job_wait(&j);
	return worker_job_finish(&j, out);
}
