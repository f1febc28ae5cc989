/*
 * unlock.c - the queue manager's first job: the master key. A key file, a
 * systemd credential or an insecure-file is simply read. A passphrase is
 * asked on the terminal (mlistd -f), from systemd-ask-password (under
 * systemd), or - until then the instance is locked - by `mlistctl unlock`
 * over the control socket. While locked the SMTP server goes on taking mail
 * into the sealed spool; this process answers only "status" and "unlock".
 * It runs in the queue manager's process, never in the SMTP server's: the
 * passphrase and the keys it opens are never in the internet-facing one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "actions/unlock.h"
#include "control/server.h"
#include "ingest/smtp_server.h"
#include "util/log.h"

#define ASK_PASSWORD	"/usr/bin/systemd-ask-password"

struct locked {
	const struct config *cfg;
	struct spool	*sp;
	long long	 since;
	struct keys	*keys;
};

/* try - one passphrase; the keys, or NULL with the status in *s and why in err */
static struct keys *
try(const struct config *cfg, const char *pass, enum keys_status *s, char *err, size_t errlen)
{
	return keys_unlock(cfg->state_dir, cfg->master_key, pass, s, err, errlen);
}

/* locked_status - what `mlistctl status` says while locked */
static void
locked_status(struct locked *l, struct buf *out)
{
	char when[32];
	time_t t = (time_t)l->since;
	struct tm tm;
	int n = spool_count(l->sp, SPOOL_INCOMING);

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	buf_printf(out, "locked since %s, %d message%s waiting (unlock with 'mlistctl unlock')\n",
	    when, n < 0 ? 0 : n, n == 1 ? "" : "s");
}

/* locked_req - a control request while locked: status and unlock only */
static int
locked_req(struct control_req *r, struct buf *out, struct buf *err, void *arg)
{
	struct locked *l = arg;
	enum keys_status s;
	char why[512];

	if (strcmp(r->argv[0], "status") == 0) {
		locked_status(l, out);
		return CONTROL_DONE;
	}
	if (strcmp(r->argv[0], "unlock") != 0) {
		buf_printf(err, "the daemon is locked: unlock it first with 'mlistctl unlock'\n");
		return CONTROL_FAILED;
	}
	if (r->argc != 2)
		return buf_puts(err, "unlock: no passphrase\n"), CONTROL_USAGE;
	l->keys = try(l->cfg, r->argv[1], &s, why, sizeof(why));
	sodium_memzero(r->argv[1], strlen(r->argv[1]));
	if (l->keys == NULL) {
		/* never the passphrase itself: only that it failed */
		log_warn("NOQUEUE mlistd: unlock refused: %s result=permfail", why);
		buf_printf(err, "%s: the daemon stays locked\n", s == KEYS_BAD_PASS ?
		    "wrong passphrase" : why);
		return CONTROL_FAILED;
	}
	log_info("NOQUEUE mlistd: unlocked by mlistctl unlock");
	buf_puts(out, "unlocked\n");
	return CONTROL_DONE;
}

/* ask_start - systemd-ask-password in a child; its stdout, or -1 (not under systemd) */
static int
ask_start(pid_t *pid)
{
	int p[2];

	*pid = -1;
	if (getenv("INVOCATION_ID") == NULL || access(ASK_PASSWORD, X_OK) < 0 || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if ((*pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (*pid == 0) {
		dup2(p[1], 1);
		execl(ASK_PASSWORD, ASK_PASSWORD, "--timeout=0", "--id=mlistd", "mlistd master key passphrase:",
		    (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	return p[0];
}

/* ask_done - the answer of systemd-ask-password; keys or NULL */
static struct keys *
ask_done(struct locked *l, int fd, pid_t pid)
{
	char *pass = sodium_malloc(KEYS_PASS_MAX), why[512];
	struct keys *k = NULL;
	enum keys_status s;

	if (pass && keys_read_passphrase(fd, "", pass, KEYS_PASS_MAX) == 0 &&
	    (k = try(l->cfg, pass, &s, why, sizeof(why))) == NULL)
		log_warn("NOQUEUE mlistd: systemd-ask-password: %s; still locked "
		    "('mlistctl unlock' can unlock it)", why);
	if (pass)
		sodium_free(pass);
	close(fd);
	(void)waitpid(pid, NULL, 0);
	return k;
}

/* wait_socket - locked: serve status and unlock until a key, or a stop */
static struct keys *
wait_socket(struct locked *l, int wake_fd)
{
	struct control ctl;
	struct pollfd pfd[3];
	struct buf err;
	char sink[256];
	pid_t ask_pid;
	int ask_fd = ask_start(&ask_pid), n;

	buf_init(&err, 0);
	if (control_listen(&ctl, l->cfg->state_dir, &err) < 0)
		fatal("NOQUEUE mlistd: locked, and the control socket cannot be made: %s", buf_cstr(&err));
	buf_free(&err);
	n = spool_count(l->sp, SPOOL_INCOMING);
	log_warn("NOQUEUE mlistd: locked: taking mail, %d message%s waiting; unlock with "
	    "'mlistctl unlock'", n < 0 ? 0 : n, n == 1 ? "" : "s");
	while (l->keys == NULL && !smtp_server_stop_flag) {
		pfd[0] = (struct pollfd){ .fd = ctl.fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = wake_fd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = ask_fd, .events = POLLIN };
		if (poll(pfd, ask_fd >= 0 ? 3 : 2, 1000) < 0)
			continue;	/* EINTR: the flag is looked at */
		if (pfd[1].revents & (POLLHUP | POLLERR))
			break;	/* the daemon is gone */
		if (pfd[1].revents & POLLIN)
			while (read(wake_fd, sink, sizeof(sink)) > 0)
				;	/* new mail: it waits, counted by status */
		if (pfd[0].revents & POLLIN)
			control_serve_fn(&ctl, locked_req, l);
		if (ask_fd >= 0 && (pfd[2].revents & (POLLIN | POLLHUP)) && l->keys == NULL) {
			l->keys = ask_done(l, ask_fd, ask_pid);
			ask_fd = -1;
		}
	}
	if (ask_fd >= 0) {
		kill(ask_pid, SIGTERM);
		close(ask_fd);
		(void)waitpid(ask_pid, NULL, 0);
	}
	control_close(&ctl);
	return l->keys;
}

/*
 * unlock_wait - the keys, however they are kept. ask_fd >= 0: the passphrase
 * is read from it once (mlistd -f on a terminal, or -p), and a wrong one
 * stops the daemon with one line. NULL: told to stop while locked.
 */
struct keys *
unlock_wait(const struct config *cfg, struct spool *sealer, int wake_fd, int ask_fd)
{
	struct locked l = { cfg, sealer, (long long)time(NULL), NULL };
	enum keys_status s;
	char why[512], *pass;

	l.keys = try(cfg, NULL, &s, why, sizeof(why));
	if (s == KEYS_OK_INSECURE)
		log_warn("NOQUEUE mlistd: %s", why);
	if (s == KEYS_ERROR) {
		log_err("NOQUEUE mlistd: %s; not starting", why);
		_exit(UNLOCK_EXIT_NOKEY);
	}
	if (l.keys || s != KEYS_NEED_PASS)
		return l.keys;
	if (ask_fd >= 0) {
		if ((pass = sodium_malloc(KEYS_PASS_MAX)) == NULL)
			fatal("out of memory");
		if (keys_read_passphrase(ask_fd, "mlistd master key passphrase: ", pass, KEYS_PASS_MAX) < 0)
			snprintf(why, sizeof(why), "no passphrase was given");
		else
			l.keys = try(cfg, pass, &s, why, sizeof(why));
		sodium_free(pass);
		if (l.keys == NULL) {
			log_err("NOQUEUE mlistd: %s; not starting", why);
			_exit(UNLOCK_EXIT_NOKEY);
		}
		return l.keys;
	}
	return wait_socket(&l, wake_fd);
}
