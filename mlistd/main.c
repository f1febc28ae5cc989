/*
 * main.c - mlistd: the daemon. Loads and checks the configuration, binds
 * the listeners, opens the spool for writing with the instance's public key
 * only, starts the queue manager process and runs the SMTP/LMTP server
 * until told to stop. The master key and everything derived from it exist
 * only in the queue manager (actions/unlock.c gets it there): this process,
 * the one the internet talks to, never holds a secret key, and so it takes
 * mail while the instance is still locked.
 *
 * Signals: SIGHUP reloads the configuration and the list files (a bad new
 * configuration is logged and the old one kept); SIGTERM/SIGINT stop
 * accepting, let messages in DATA finish, then exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail/config.h"
#include "mail/keys.h"
#include "mail/spool.h"
#include "actions/unlock.h"
#include "qmgr/qmgr.h"
#include "ingest/smtp_server.h"
#include "util/fdpass.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/privdrop.h"
#include "util/rand.h"
#include "pipeline/worker.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: mlistd [-c CONFIG] [-f] [-p] [-t]\n"
	    "\n"
	    "mlistd is an encrypted mailing-list server. It accepts mail by SMTP or LMTP\n"
	    "for the lists configured in CONFIG, keeps it encrypted in its spool, and\n"
	    "distributes it to the members of each list through the configured relay.\n"
	    "\n"
	    "options:\n"
	    "  -c CONFIG  configuration file (default: $MLISTD_CONF, else /etc/mlistd/mlistd.conf)\n"
	    "  -f         stay in the foreground and log to stderr (default: daemon, syslog);\n"
	    "             on a terminal, the master key's passphrase is asked there\n"
	    "  -p         read the passphrase from standard input (one line), even if it is\n"
	    "             not a terminal; a wrong one stops mlistd\n"
	    "  -t         check the configuration and the list files, print\n"
	    "             \"configuration OK\" or every error as file:line, and exit (0 or 1)\n"
	    "  -h         this help\n"
	    "\n"
	    "signals: HUP reloads the configuration and the lists; TERM or INT stop after\n"
	    "the messages being received are complete.\n"
	    "\n"
	    "Without -f or -p a passphrase-kept instance starts locked: it takes mail and\n"
	    "waits for 'mlistctl unlock' (or systemd-ask-password, under systemd).\n"
	    "Create an instance with 'mlistctl -c CONFIG init' first. See README.md.\n");
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		smtp_server_reload_flag = 1;
	else if (sig == SIGCHLD)
		smtp_server_child_flag = 1;
	else
		smtp_server_stop_flag = 1;
}

/* signals - install handlers without SA_RESTART so poll() wakes up */
static void
signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* no_core_dumps - a core file would hold keys and messages */
static void
no_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("cannot disable core dumps: %s", strerror(errno));
}

/* write_pid - refuse to start twice on one state directory */
static void
write_pid(const char *path)
{
	char text[32];
	FILE *fp;
	long pid;
	int fd, n;

	if ((fp = fopen(path, "r")) != NULL) {
		if (fscanf(fp, "%ld", &pid) == 1 && pid > 1 && kill((pid_t)pid, 0) == 0 &&
		    pid != (long)getpid())
			fatal("mlistd is already running (pid %ld, %s)", pid, path);
		fclose(fp);
	}
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
	    fs_write_all(fd, text, (size_t)n) < 0 || close(fd) < 0)
		fatal("cannot write pid file %s: %s", path, strerror(errno));
}

/* daemonize - detach from the terminal */
static void
daemonize(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	setsid();
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/*
 * ensure_public - STATE/spool.pub, the only key this process reads. An
 * instance made before the key pair has none: a short-lived child reads the
 * (clear) master key, writes the public half and exits, so that even then
 * no secret enters this process. A locked instance always has one (init).
 */
static void
ensure_public(const struct config *cfg, unsigned char pk[KEYS_LEN])
{
	unsigned char *master;
	char err[600], why[600];
	enum keys_status s;
	int status;
	pid_t pid;

	if (keys_public_read(cfg->state_dir, pk, err, sizeof(err)) == 0)
		return;
	if ((pid = fork()) < 0)
		fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		if ((master = keys_master_new()) == NULL)
			_exit(1);
		s = keys_master_load(cfg->state_dir, cfg->master_key, NULL, master, why, sizeof(why));
		_exit((s == KEYS_OK || s == KEYS_OK_INSECURE) &&
		    keys_write_public(cfg->state_dir, master, why, sizeof(why)) == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    keys_public_read(cfg->state_dir, pk, why, sizeof(why)) < 0)
		fatal("%s (run 'mlistctl init', or 'mlistctl rekey' for an instance made before it)", err);
	log_info("NOQUEUE mlistd: wrote %s/%s, the spool's public key", cfg->state_dir, KEYS_PUBLIC);
}

/*
 * start_qmgr - fork the queue manager; it keeps the read end of the wake
 * pipe, gets the keys (waiting, locked, for a passphrase if need be) and
 * only then opens the spool for reading
 */
static pid_t
start_qmgr(struct smtp_server *srv, const char *path, struct spool *sealer, int wake[2], int ask_fd)
{
	struct config *cfg;
	struct keys *k;
	struct spool sp;
	struct buf err;
	pid_t pid, parent = getpid();

	if ((pid = fork()) < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		return pid;
	/* an orphaned queue manager must not outlive the daemon (a new one will take over) */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 || getppid() != parent)
		_exit(1);
	smtp_server_close_listeners(srv);
	close(wake[1]);
	signal(SIGCHLD, SIG_DFL);
	buf_init(&err, 0);
	if ((cfg = config_load(path, &err)) == NULL)
		fatal("queue manager: %s", buf_cstr(&err));
	if ((k = unlock_wait(cfg, sealer, wake[0], ask_fd)) == NULL)
		_exit(0);	/* told to stop while locked */
	if (ask_fd >= 0)
		close(ask_fd);
	if (spool_open(&sp, cfg->state_dir, k, &err) < 0)
		fatal("queue manager: %s", buf_cstr(&err));
	_exit(qmgr_run(path, cfg, k, &sp, wake[0]));
}

/*
 * smtp_ids - started as root with smtp_user set, the SMTP server gets a
 * uid of its own (smtp_user's) in the daemon user's group (it reads the
 * lists, and the queue manager the files it spools, by that group): 1
 * with the ids, 0 when it shares the daemon's user, -1 with why in err
 */
static int
smtp_ids(const struct config *cfg, uid_t *uid, gid_t *gid, struct buf *err)
{
	uid_t du;
	gid_t dg;

	if (geteuid() != 0 || *cfg->smtp_user == 0)
		return 0;
	if (*cfg->user == 0)
		return buf_printf(err, "smtp_user needs user (the daemon's "
		    "own unprivileged user) too"), -1;
	if (priv_user(cfg->user, &du, &dg, err) < 0 ||
	    priv_user(cfg->smtp_user, uid, gid, err) < 0)
		return -1;
	if (*uid == du)
		return buf_printf(err, "smtp_user \"%s\" is user: name a user "
		    "of its own (adduser --system --no-create-home "
		    "mlistd-smtp)", cfg->smtp_user), -1;
	*gid = dg;
	return 1;
}

/* hand_send - the spool's public key and its two directories, to smtpd */
static int
hand_send(int sock, const unsigned char pk[KEYS_LEN], const int fds[2])
{
	return fd_send(sock, pk, KEYS_LEN, fds, 2);
}

/* hand_recv - what hand_send sent; -1 when the daemon did not start */
static int
hand_recv(int sock, unsigned char pk[KEYS_LEN], int fds[2])
{
	return fd_recv(sock, pk, KEYS_LEN, fds, 2, 0) == 2 ? 0 : -1;
}

/*
 * relay_thread - the daemon's user may not signal smtp_user's process:
 * it asks by the hand socket instead, 'H' to reload, 'T' (or closing it)
 * to stop, and this thread raises the signal in its own process
 */
static void *
relay_thread(void *arg)
{
	int sock = *(int *)arg;
	char c;
	ssize_t n;

	for (;;) {
		if ((n = read(sock, &c, 1)) < 0 && errno == EINTR)
			continue;
		kill(getpid(), n == 1 && c == 'H' ? SIGHUP : SIGTERM);
		if (n != 1)
			return NULL;
	}
}

/* relay_start - the thread above, with every signal left to the main thread */
static void
relay_start(int *sock)
{
	sigset_t all, old;
	pthread_t t;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&t, NULL, relay_thread, sock) != 0)
		fatal("SMTP server: cannot start a thread: %s",
		    strerror(errno));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_detach(t);
}

/*
 * smtp_child - the SMTP/LMTP/http server under smtp_user: it never enters
 * state_dir by its path (0700, the daemon's), only queue/tmp and
 * queue/incoming through the descriptors the daemon hands it, and cannot
 * reach the control socket, the store or the keys. It dies with the
 * daemon, which stops when it exits (no one can give it its user again).
 */
static void
smtp_child(const char *path, struct smtp_server *srv, struct spool *sp,
    int sock, uid_t uid, gid_t gid, const char *name, pid_t parent)
{
	static int relay_sock;
	unsigned char pk[KEYS_LEN];
	struct config *cfg;
	struct buf err;
	char user[256];
	int fds[2], rc;

	snprintf(user, sizeof(user), "%s", name);	/* reloads free name */
	name = user;
	buf_init(&err, 0);
	/* the master key's credential, the parser's zygote: not its own */
	keys_credential_close();
	worker_stop();
	if (priv_become(uid, gid, name, &err) < 0)
		fatal("SMTP server: %s", buf_cstr(&err));
	/* after the change of user, which clears it: it dies with the daemon */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 ||
	    getppid() != parent)
		_exit(1);
	if (hand_recv(sock, pk, fds) < 0)
		_exit(1);	/* the daemon did not start (it said why) */
	relay_sock = sock;
	relay_start(&relay_sock);
	spool_open_fds(sp, fds[0], fds[1], pk);
	if ((cfg = config_load(path, &err)) == NULL)
		fatal("SMTP server: %s", buf_cstr(&err));
	smtp_server_reload(srv, cfg);
	log_info("NOQUEUE mlistd: listening; the SMTP server runs as %s "
	    "(uid %ld)", name, (long)uid);
	while ((rc = smtp_server_run(srv)) != SERVER_STOPPED) {
		smtp_server_child_flag = 0;
		if (rc == SERVER_CHILD || !smtp_server_reload_flag)
			continue;
		smtp_server_reload_flag = 0;
		buf_reset(&err);
		if ((cfg = config_load(path, &err)) == NULL) {
			log_err("NOQUEUE mlistd: SMTP server: reload failed, "
			    "keeping the old configuration: %s",
			    buf_cstr(&err));
			continue;
		}
		log_info("NOQUEUE mlistd: SMTP server reloaded; %d list(s)",
		    cfg->nlists);
		smtp_server_reload(srv, cfg);
	}
	smtp_server_free(srv);
	_exit(0);
}

/* start_smtp - fork the SMTP server as root; the daemon stops listening */
static pid_t
start_smtp(const char *path, struct smtp_server *srv, struct spool *sp,
    int hand[2], uid_t uid, gid_t gid, const char *name)
{
	pid_t pid, parent = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, hand) < 0)
		fatal("socketpair: %s", strerror(errno));
	if ((pid = fork()) < 0)
		fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		close(hand[0]);
		smtp_child(path, srv, sp, hand[1], uid, gid, name, parent);
	}
	close(hand[1]);
	smtp_server_close_listeners(srv);
	return pid;
}

/*
 * hand_over - as the daemon's user: state_dir and queue/ closed to all but
 * it, queue/tmp and queue/incoming open to its group (sticky: the SMTP
 * server removes only its own files), then those two, by descriptor, and
 * the public key to the SMTP server; sock stays its way to be told to
 * reload or stop (relay_thread). 0, or -1 with why in err.
 */
static int
hand_over(int sock, const struct config *cfg, const struct spool *sp,
    const unsigned char pk[KEYS_LEN], struct buf *err)
{
	static const enum spool_dir open_to[2] = { SPOOL_TMP, SPOOL_INCOMING };
	char queue[PATH_MAX];
	int fds[2] = { -1, -1 }, rc = 0;

	snprintf(queue, sizeof(queue), "%s/queue", cfg->state_dir);
	if (chmod(cfg->state_dir, 0700) < 0 || chmod(queue, 0700) < 0)
		return buf_printf(err, "cannot close %s to others: %s",
		    cfg->state_dir, strerror(errno)), -1;
	for (int i = 0; i < 2 && rc == 0; i++) {
		fds[i] = open(sp->dir[open_to[i]], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (fds[i] < 0 || fchown(fds[i], (uid_t)-1, getegid()) < 0 ||
		    fchmod(fds[i], 01770) < 0)
			rc = (buf_printf(err, "cannot open %s to smtp_user: "
			    "%s", sp->dir[open_to[i]], strerror(errno)), -1);
	}
	if (rc == 0 && hand_send(sock, pk, fds) < 0)
		rc = (buf_printf(err, "cannot reach the SMTP server: %s",
		    strerror(errno)), -1);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

/* block - block (how SIG_BLOCK) or restore the signals the daemon waits for */
static void
block(int how, sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (how == SIG_BLOCK)
		sigprocmask(SIG_BLOCK, &set, old);
	else
		sigprocmask(SIG_SETMASK, old, NULL);
}

/* qmgr_gone - the queue manager exited: 1 restart it, 0 let it be, -1 stop */
static int
qmgr_gone(int status)
{
	if (smtp_server_stop_flag)
		return 0;	/* stopping: a SIGTERM to all reached it first */
	if (WIFEXITED(status) && WEXITSTATUS(status) == UNLOCK_EXIT_NOKEY)
		return -1;	/* no master key to be had (it said why) */
	log_err("NOQUEUE mlistd: queue manager exited (%s %d); restarting it "
	    "in 1 s",
	    WIFSIGNALED(status) ? "signal" : "status",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	return 1;
}

/*
 * supervise - the daemon when the SMTP server is a child of its own user:
 * it passes SIGHUP on to both children, restarts the queue manager, and
 * stops everything when the SMTP server exits. Its exit code.
 */
static int
supervise(const char *path, struct smtp_server *srv, struct spool *sp,
    int wake[2], int sock, pid_t spid, pid_t *qpid)
{
	sigset_t old;
	int status, code = 0, r;

	block(SIG_BLOCK, &old);
	while (!smtp_server_stop_flag) {
		if (!smtp_server_reload_flag && !smtp_server_child_flag)
			sigsuspend(&old);
		if (smtp_server_reload_flag) {
			smtp_server_reload_flag = 0;
			if (write(sock, "H", 1) != 1)
				log_warn("NOQUEUE mlistd: the SMTP server was "
				    "not told to reload: %s", strerror(errno));
			if (*qpid > 0)
				kill(*qpid, SIGHUP);
		}
		if (!smtp_server_child_flag)
			continue;
		smtp_server_child_flag = 0;
		if (waitpid(spid, &status, WNOHANG) == spid) {
			spid = -1;
			if (!smtp_server_stop_flag)
				log_err("NOQUEUE mlistd: the SMTP server "
				    "exited; stopping");
			code = smtp_server_stop_flag ? 0 : 1;
			smtp_server_stop_flag = 1;
		}
		if (*qpid <= 0 || waitpid(*qpid, &status, WNOHANG) != *qpid)
			continue;
		*qpid = -1;
		if ((r = qmgr_gone(status)) < 0) {
			smtp_server_stop_flag = 1;
			code = 1;
		} else if (r > 0) {
			sleep(1);
			block(SIG_SETMASK, &old);
			*qpid = start_qmgr(srv, path, sp, wake, -1);
			block(SIG_BLOCK, &old);
		}
	}
	block(SIG_SETMASK, &old);
	/* SMTP server: stop, let the messages in DATA finish */
	if (write(sock, "T", 1) != 1 && spid > 0)
		log_warn("NOQUEUE mlistd: the SMTP server was not told to "
		    "stop: %s", strerror(errno));
	close(sock);
	if (spid > 0) {
		while (waitpid(spid, &status, 0) < 0 && errno == EINTR)
			;
	}
	return code;
}

int
main(int argc, char **argv)
{
	const char *path = config_default_path();
	int ch, foreground = 0, test = 0, ask = 0, ask_fd = -1, wake[2], status, rc, exit_code = 0;
	int split, hand[2] = { -1, -1 }, was_root = geteuid() == 0;
	uid_t suid;
	gid_t sgid;
	pid_t spid = -1;
	struct smtp_server *srv;
	struct config *cfg, *ncfg, *icfg;
	unsigned char pk[KEYS_LEN];
	struct spool sp;
	struct buf err;
	char *pidfile, why[200];
	pid_t qpid;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	while ((ch = getopt_long(argc, argv, "c:fpth", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'f': foreground = 1; break;
		case 'p': ask = 1; break;
		case 't': test = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mlistd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	buf_init(&err, 0);
	/*
	 * As root only the instance file (root's) is read and the ports bound.
	 * The list files and everything under state_dir belong to the daemon's
	 * user: they are read, created and cleaned only after root is given up,
	 * so that user cannot make root parse or delete anything (a symlinked
	 * queue/tmp once made root unlink files elsewhere).
	 */
	if ((icfg = config_load_flags(path, CONFIG_SKIP_LISTS, &err)) == NULL) {
		fputs(buf_cstr(&err), stderr);
		if (!test)
			fprintf(stderr, "mlistd: configuration errors; not starting\n");
		buf_free(&err);
		return 1;
	}
	if (test) {
		if (smtp_ids(icfg, &suid, &sgid, &err) < 0 ||
		    priv_drop(icfg->user, &err) < 0)
			fatal("%s", buf_cstr(&err));
		config_free(icfg);
		if ((cfg = config_load(path, &err)) == NULL) {
			fputs(buf_cstr(&err), stderr);
			buf_free(&err);
			return 1;
		}
		printf("configuration OK\n");
		config_free(cfg);
		buf_free(&err);
		return 0;
	}
	log_init("mlistd", foreground);
	/* before anything under state_dir: no randomness, no start (#15) */
	if (rand_init("mlistd", why, sizeof(why)) < 0)
		fatal("%s", why);
	no_core_dumps();
	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) < 0)
		fatal("pipe: %s", strerror(errno));
	/* the state must belong to the user the daemon becomes (checked while a terminal can still hear) */
	if (priv_owner_ok(icfg->state_dir, icfg->user, &err) < 0)
		fatal("%s", buf_cstr(&err));
	/* bind before detaching, so a busy port is reported on the terminal; then root is given up */
	if ((srv = smtp_server_new(icfg, &sp, wake[1], &err)) == NULL)
		fatal("%s", buf_cstr(&err));
	/* the parser's zygote: before any key or mail is read, while root can give it its own user */
	if (worker_start(icfg, NULL, &err) < 0)
		fatal("%s", buf_cstr(&err));
	/* a systemd credential is root's (0400): opened now, read later */
	keys_credential_open(icfg->state_dir, icfg->master_key);
	/* smtp_user: smtpd is forked now, while root can give it its user */
	if ((split = smtp_ids(icfg, &suid, &sgid, &err)) < 0)
		fatal("%s", buf_cstr(&err));
	if (split) {
		if (!foreground)
			daemonize();
		signals();
		spid = start_smtp(path, srv, &sp, hand, suid, sgid,
		    icfg->smtp_user);
	}
	if (priv_drop(icfg->user, &err) < 0)
		fatal("%s", buf_cstr(&err));
	if ((cfg = config_load(path, &err)) == NULL) {
		fputs(buf_cstr(&err), stderr);
		fatal("configuration errors; not starting");
	}
	/* the SMTP server seals to the public key: it never has, nor needs, a secret one */
	ensure_public(cfg, pk);
	if (spool_open_sealer(&sp, cfg->state_dir, pk, &err) < 0)
		fatal("%s", buf_cstr(&err));
	/* the queue manager asks for the passphrase here (daemonizing closes the terminal) */
	if ((ask || (foreground && isatty(0))) && (ask_fd = fcntl(0, F_DUPFD_CLOEXEC, 3)) < 0)
		fatal("cannot keep standard input for the passphrase: %s", strerror(errno));
	(void)spool_clean_tmp(&sp);
	if ((pidfile = strdup(cfg->pid_file)) == NULL)
		fatal("out of memory");
	if (split) {
		if (hand_over(hand[0], cfg, &sp, pk, &err) < 0)
			fatal("%s", buf_cstr(&err));
		log_info("NOQUEUE mlistd: the queue manager runs as %s "
		    "(uid %ld)", cfg->user, (long)geteuid());
		config_free(cfg);
	} else	/* the sessions see the lists from now on */
		smtp_server_reload(srv, cfg);
	if (!split && geteuid() == 0)
		log_warn("NOQUEUE mlistd: running as root; set user = \"mlistd\" (an unprivileged user that owns %s)",
		    cfg->state_dir);
	else if (!split && *cfg->user) {
		log_info("NOQUEUE mlistd: listening; running as %s (uid %ld)", cfg->user, (long)geteuid());
		if (was_root && *cfg->smtp_user == 0)
			log_warn("NOQUEUE mlistd: the SMTP server runs as %s, "
			    "whom the control socket obeys: set smtp_user "
			    "(README, privilege separation)", cfg->user);
	}
	if (!foreground && !split)
		daemonize();
	write_pid(pidfile);
	if (!split)
		signals();
	qpid = start_qmgr(srv, path, &sp, wake, ask_fd);
	/*
	 * The credential's descriptor went with it. A restarted one cannot open
	 * it, says so and stops the daemon, which the unit's Restart=on-failure
	 * starts again with the credential.
	 */
	keys_credential_close();
	if (ask_fd >= 0)
		close(ask_fd);	/* asked once: a restarted queue manager waits for 'mlistctl unlock' */
	log_info("NOQUEUE mlistd: started; queue manager pid %ld", (long)qpid);
	if (split)
		exit_code = supervise(path, srv, &sp, wake, hand[0], spid,
		    &qpid);
	while (!split && (rc = smtp_server_run(srv)) != SERVER_STOPPED) {
		if (rc == SERVER_CHILD) {
			smtp_server_child_flag = 0;
			if (waitpid(qpid, &status, WNOHANG) != qpid)
				continue;	/* some other child */
			qpid = -1;
			if ((rc = qmgr_gone(status)) < 0) {
				smtp_server_stop_flag = 1;
				exit_code = 1;
			}
			if (rc <= 0)
				continue;
			sleep(1);
			qpid = start_qmgr(srv, path, &sp, wake, -1);
			continue;
		}
		smtp_server_reload_flag = 0;
		buf_reset(&err);
		if ((ncfg = config_load(path, &err)) == NULL) {
			log_err("NOQUEUE mlistd: reload failed, keeping the old configuration: %s",
			    buf_cstr(&err));
			continue;
		}
		log_info("NOQUEUE mlistd: reloaded; %d list(s)", ncfg->nlists);
		smtp_server_reload(srv, ncfg);
		kill(qpid, SIGHUP);
	}
	smtp_server_free(srv);
	signal(SIGCHLD, SIG_DFL);
	/*
	 * The queue manager stops on SIGTERM, and in any case when the wake pipe
	 * has no writer left: a SIGTERM that reached it before it installed its
	 * own handler (just after a restart) cannot leave the daemon waiting.
	 */
	close(wake[1]);
	if (qpid > 0) {
		kill(qpid, SIGTERM);
		while (waitpid(qpid, &status, 0) < 0 && errno == EINTR)
			;
	}
	worker_stop();
	unlink(pidfile);
	free(pidfile);
	log_info("NOQUEUE mlistd: stopped");
	buf_free(&err);
	return exit_code;
}
