/*
 * main.c - mlistd: the daemon. Loads and checks the configuration, opens
 * the keys and the spool, binds the listeners, starts the queue manager
 * process and runs the SMTP/LMTP server until told to stop.
 *
 * Signals: SIGHUP reloads the configuration and the list files (a bad new
 * configuration is logged and the old one kept); SIGTERM/SIGINT stop
 * accepting, let messages in DATA finish, then exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail/config.h"
#include "mail/keys.h"
#include "mail/spool.h"
#include "qmgr/qmgr.h"
#include "ingest/smtp_server.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/privdrop.h"
#include "pipeline/worker.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: mlistd [-c CONFIG] [-f] [-t]\n"
	    "\n"
	    "mlistd is an encrypted mailing-list server. It accepts mail by SMTP or LMTP\n"
	    "for the lists configured in CONFIG, keeps it encrypted in its spool, and\n"
	    "distributes it to the members of each list through the configured relay.\n"
	    "\n"
	    "options:\n"
	    "  -c CONFIG  configuration file (default: $MLISTD_CONF, else /etc/mlistd/mlistd.conf)\n"
	    "  -f         stay in the foreground and log to stderr (default: daemon, syslog)\n"
	    "  -t         check the configuration and the list files, print\n"
	    "             \"configuration OK\" or every error as file:line, and exit (0 or 1)\n"
	    "  -h         this help\n"
	    "\n"
	    "signals: HUP reloads the configuration and the lists; TERM or INT stop after\n"
	    "the messages being received are complete.\n"
	    "\n"
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

/* start_qmgr - fork the queue manager; it keeps the read end of the wake pipe */
static pid_t
start_qmgr(struct smtp_server *srv, const char *path, const struct keys *k, struct spool *sp, int wake[2])
{
	struct config *cfg;
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
	_exit(qmgr_run(path, cfg, k, sp, wake[0]));
}

int
main(int argc, char **argv)
{
	const char *path = config_default_path();
	int ch, foreground = 0, test = 0, wake[2], status, rc;
	struct smtp_server *srv;
	struct config *cfg, *ncfg, *icfg;
	struct keys *k;
	struct spool sp;
	struct buf err;
	char keypath[4096], *pidfile;
	pid_t qpid;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	while ((ch = getopt_long(argc, argv, "c:fth", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'f': foreground = 1; break;
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
		if (priv_drop(icfg->user, &err) < 0)
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
	if (priv_drop(icfg->user, &err) < 0)
		fatal("%s", buf_cstr(&err));
	if ((cfg = config_load(path, &err)) == NULL) {
		fputs(buf_cstr(&err), stderr);
		fatal("configuration errors; not starting");
	}
	snprintf(keypath, sizeof(keypath), "%s/master.key", cfg->state_dir);
	if ((k = keys_load(keypath, keypath, sizeof(keypath))) == NULL)
		fatal("%s", keypath);
	if (spool_open(&sp, cfg->state_dir, k, &err) < 0)
		fatal("%s", buf_cstr(&err));
	(void)spool_clean_tmp(&sp);
	if ((pidfile = strdup(cfg->pid_file)) == NULL)
		fatal("out of memory");
	smtp_server_reload(srv, cfg);	/* the sessions see the lists from now on */
	if (geteuid() == 0)
		log_warn("NOQUEUE mlistd: running as root; set user = \"mlistd\" (an unprivileged user that owns %s)",
		    cfg->state_dir);
	else if (*cfg->user)
		log_info("NOQUEUE mlistd: listening; running as %s (uid %ld)", cfg->user, (long)geteuid());
	if (!foreground)
		daemonize();
	write_pid(pidfile);
	signals();
	qpid = start_qmgr(srv, path, k, &sp, wake);
	log_info("NOQUEUE mlistd: started; queue manager pid %ld", (long)qpid);
	while ((rc = smtp_server_run(srv)) != SERVER_STOPPED) {
		if (rc == SERVER_CHILD) {
			smtp_server_child_flag = 0;
			if (waitpid(qpid, &status, WNOHANG) != qpid)
				continue;	/* some other child */
			if (smtp_server_stop_flag) {
				qpid = -1;	/* stopping: a SIGTERM to the whole group reached it first */
				continue;
			}
			log_err("NOQUEUE mlistd: queue manager exited (%s %d); restarting it in 1 s",
			    WIFSIGNALED(status) ? "signal" : "status",
			    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			sleep(1);
			qpid = start_qmgr(srv, path, k, &sp, wake);
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
	keys_free(k);
	buf_free(&err);
	return 0;
}
