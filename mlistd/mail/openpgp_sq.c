/*
 * openpgp_sq.c - a third-party certification made by Sequoia's sq (#18).
 *
 * librnp 0.16 (Debian 12) can only self-sign: its call to certify another
 * key's UID (rnp_key_certification_create) came with librnp 0.18.0.  We
 * write no OpenPGP of our own, so the list key's certification of a
 * pseudonym key is made by Debian's sq 0.27 ("sq certify"), run as a child
 * with nothing on disk: the certifier's secret key goes down one pipe (its
 * stdin), the certificate down another (fd 3), the certified certificate
 * comes back on stdout.  No file, no home directory, no keyring: sq reads
 * only the two descriptors it is named (checked with strace).  The child
 * gets an empty environment and a deadline; its output is the caller's to
 * check (openpgp_pseud.c reads the certification back with librnp).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "mail/openpgp_sq.h"
#include "util/mono.h"

#define SQ_DEADLINE_MS	10000		/* sq certifies in ~20 ms */
#define SQ_OUT_MAX	(256 * 1024)	/* a certificate, not a keyring */
#define SQ_ERR_MAX	4096

/* openpgp_sq_available - can the certifying tool be run here? */
int
openpgp_sq_available(void)
{
	return access(OPENPGP_SQ_PATH, X_OK) == 0;
}

/* high_fd - fd moved to 20 or above, so that dup2 to 0..3 cannot clobber */
static int
high_fd(int fd)
{
	return fcntl(fd, F_DUPFD, 20);
}

/* child - wire the descriptors and become sq; never returns */
static void
child(int key, int cert, int out, int err, char *const argv[])
{
	static char *const envp[] = { "LC_ALL=C", NULL };
	int k = high_fd(key), c = high_fd(cert), o = high_fd(out);
	int e = high_fd(err);

	if (k < 0 || c < 0 || o < 0 || e < 0 || dup2(k, 0) < 0 ||
	    dup2(o, 1) < 0 || dup2(e, 2) < 0 || dup2(c, 3) < 0)
		_exit(127);
	closefrom(4);
	(void)signal(SIGPIPE, SIG_DFL);
	execve(OPENPGP_SQ_PATH, argv, envp);
	_exit(127);
}

/* feed - all of data into fd (a pipe sq has not read yet), then close it */
static int
feed(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	ssize_t n;
	int rc = 0;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;	/* sq died: its status says why */
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

/* drain - read stdout and stderr of the child to EOF or the deadline */
static int
drain(int out, int err, struct buf *ob, struct buf *eb)
{
	struct pollfd pf[2] = { { out, POLLIN, 0 }, { err, POLLIN, 0 } };
	struct buf *to[2] = { ob, eb };
	long long end = mono_ms() + SQ_DEADLINE_MS;
	unsigned char chunk[4096];
	int open = 2, i;
	ssize_t n;

	while (open > 0) {
		long long left = end - mono_ms();

		if (left <= 0)
			return -1;
		if (poll(pf, 2, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || pf[i].revents == 0)
				continue;
			n = read(pf[i].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0 && buf_append(to[i], chunk, (size_t)n) < 0)
				return -1;
			if (n <= 0) {
				pf[i].fd = -1;
				open--;
			}
		}
	}
	return 0;
}

/* reap - the child's exit status; killed first if it overran */
static int
reap(pid_t pid, int overran)
{
	int status;

	if (overran)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* first_line - sq's error message, one line, for the log */
static void
first_line(struct buf *eb, char *why, size_t whylen)
{
	const char *s = buf_cstr(eb);
	size_t n = strcspn(s, "\r\n");

	(void)snprintf(why, whylen, "sq certify failed: %.*s", (int)n, s);
}

/* iso_time - t as sq's --time wants it (ISO 8601, UTC) */
static int
iso_time(uint32_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return -1;
	return strftime(out, n, "%Y%m%dT%H%M%SZ", &tm) == 0 ? -1 : 0;
}

/* spawn - start sq with its three pipes; the parent's ends in fds */
static pid_t
spawn(char *const argv[], int fds[4])
{
	int kp[2], cp[2], op[2], ep[2];
	pid_t pid;

	if (pipe2(kp, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(cp, O_CLOEXEC) < 0)
		goto k;
	if (pipe2(op, O_CLOEXEC) < 0)
		goto c;
	if (pipe2(ep, O_CLOEXEC) < 0)
		goto o;
	if ((pid = fork()) == 0)
		child(kp[0], cp[0], op[1], ep[1], argv);
	(void)close(kp[0]);
	(void)close(cp[0]);
	(void)close(op[1]);
	(void)close(ep[1]);
	fds[0] = kp[1];
	fds[1] = cp[1];
	fds[2] = op[0];
	fds[3] = ep[0];
	if (pid < 0) {
		for (int i = 0; i < 4; i++)
			(void)close(fds[i]);
	}
	return pid;
o:	(void)close(op[0]);
	(void)close(op[1]);
c:	(void)close(cp[0]);
	(void)close(cp[1]);
k:	(void)close(kp[0]);
	(void)close(kp[1]);
	return -1;
}

/*
 * openpgp_sq_certify - a certification of uid on cert (a transferable
 * public key, binary) by the secret key certifier, made at t and never
 * expiring: cert with it, binary, appended to out.  TEMPFAIL: sq missing,
 * failed or too slow (why).
 */
enum result
openpgp_sq_certify(const void *certifier, size_t clen, const void *cert,
    size_t len, const char *uid, uint32_t t, struct buf *out, char *why,
    size_t whylen)
{
	char when[32];
	char *argv[] = { "sq", "certify", "--expires", "never", "--time",
	    when, "-B", "/dev/stdin", "/dev/fd/3", (char *)uid, NULL };
	struct buf ob, eb;
	int fds[4], fed, got, st;
	pid_t pid;

	if (iso_time(t, when, sizeof(when)) < 0) {
		(void)snprintf(why, whylen, "certification time unusable");
		return TEMPFAIL;
	}
	if (!openpgp_sq_available()) {
		(void)snprintf(why, whylen, "%s is not installed",
		    OPENPGP_SQ_PATH);
		return TEMPFAIL;
	}
	if ((pid = spawn(argv, fds)) < 0) {
		(void)snprintf(why, whylen, "cannot start sq: %s",
		    strerror(errno));
		return TEMPFAIL;
	}
	/* both inputs are far below a pipe's capacity: no deadlock */
	fed = feed(fds[0], certifier, clen);
	fed |= feed(fds[1], cert, len);
	buf_init(&ob, SQ_OUT_MAX);
	buf_init(&eb, SQ_ERR_MAX);
	got = drain(fds[2], fds[3], &ob, &eb);
	(void)close(fds[2]);
	(void)close(fds[3]);
	st = reap(pid, got < 0);
	if (st == 0 && fed == 0 && got == 0 && ob.len > 0 &&
	    buf_append(out, ob.data, ob.len) == 0) {
		buf_free(&ob);
		buf_free(&eb);
		return OK;
	}
	if (got < 0)
		(void)snprintf(why, whylen, "sq certify overran or overflowed");
	else
		first_line(&eb, why, whylen);
	buf_free(&ob);
	buf_free(&eb);
	return TEMPFAIL;
}
