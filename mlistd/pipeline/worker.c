/*
 * worker.c - parse hostile mail where a crash costs nothing.
 *
 * libetpan's MIME parser is known to corrupt memory on some inputs, so it
 * runs in a child forked for each message. Before touching the message the
 * child wipes its copy of the key block and makes it unreadable
 * (sodium_mprotect_noaccess: any read faults), becomes `nobody` if it was root,
 * gives up the file system (Landlock: it can make, change or remove no file), caps its CPU time and file
 * writes (it writes only to the pipe), then sends a fixed
 * header and the rendered copy back through a pipe and _exits. If it dies,
 * overruns or times out, the parent learns only that the message could not
 * be parsed - the daemon, the keys and the spooled original are untouched,
 * and the caller quarantines the message.
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
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "pipeline/worker.h"

#define WORKER_TIMEOUT_MS	60000

struct reply_head {
	int		 result;
	int		 automatic, bounce, loop, footer;
	char		 from[ADDR_MAX + 1];
	char		 reason[160];
	int		 remote;
	size_t		 len;
	size_t		 plen[TP_N];
};

/* drop_root - started as root: parse as nobody, with no supplementary groups */
static void
drop_root(void)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	if ((pw = getpwnam("nobody")) == NULL || setgroups(0, NULL) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		_exit(4);	/* refuse to parse hostile mail as root */
}

/*
 * worker_confine - no file may be made, written, removed or renamed, and
 * only what lies under /usr may be read (iconv's modules, ICU's data):
 * Landlock, which an unprivileged process can use on itself. It matters
 * once the daemon runs as its own user: the parser is then that user too,
 * and without it could unlink the spool. 1 confined, 0 the kernel has no
 * Landlock (the uid change, when started as root, and the rlimits remain).
 */
int
worker_confine(void)
{
	struct landlock_ruleset_attr attr;
	struct landlock_path_beneath_attr usr;
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	int rs, ok;

	if (abi < 1)
		return 0;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* every right of ABI 1 */
	if (abi >= 2)
		attr.handled_access_fs |= 1ULL << 13;		/* REFER */
	if (abi >= 3)
		attr.handled_access_fs |= 1ULL << 14;		/* TRUNCATE */
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0)) < 0)
		return 0;
	memset(&usr, 0, sizeof(usr));
	usr.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	if ((usr.parent_fd = open("/usr", O_PATH | O_CLOEXEC)) >= 0) {
		(void)syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &usr, 0);
		close(usr.parent_fd);
	}
	ok = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && syscall(SYS_landlock_restrict_self, rs, 0) == 0;
	close(rs);
	return ok ? 1 : 0;
}

/* child - never returns */
static void
child(int fd, const struct transform_in *in, const struct keys *k)
{
	struct rlimit cpu = { 30, 30 }, fsz = { 0, 0 };
	struct transform_out out;
	struct reply_head h;

	if (k) {
		/* this copy of the key block is wiped (the parent's stays), then made unreadable */
		sodium_mprotect_readwrite((void *)k);
		sodium_memzero((void *)k, sizeof(*k));
		sodium_mprotect_noaccess((void *)k);
	}
	drop_root();
	(void)worker_confine();
	setrlimit(RLIMIT_CPU, &cpu);
	setrlimit(RLIMIT_FSIZE, &fsz);
	signal(SIGPIPE, SIG_DFL);
	memset(&h, 0, sizeof(h));
	h.result = transform_post(in, &out);
	h.automatic = out.automatic;
	h.bounce = out.bounce;
	h.loop = out.loop;
	h.footer = out.footer;
	memcpy(h.from, out.from, sizeof(h.from));
	memcpy(h.reason, out.reason, sizeof(h.reason));
	h.remote = out.remote;
	h.len = h.result == OK ? out.rendered.len : 0;
	for (int i = 0; i < TP_N; i++)
		h.plen[i] = h.result == OK ? out.part[i].len : 0;
	if (fs_write_all(fd, &h, sizeof(h)) < 0 || (h.len && fs_write_all(fd, out.rendered.data, h.len) < 0))
		_exit(3);
	for (int i = 0; i < TP_N; i++)
		if (h.plen[i] && fs_write_all(fd, out.part[i].data, h.plen[i]) < 0)
			_exit(3);
	_exit(0);
}

/* read_all - read the child's answer with a deadline */
static int
read_all(int fd, struct buf *b, pid_t pid)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char chunk[65536];
	ssize_t n;
	int left = WORKER_TIMEOUT_MS, r;

	for (;;) {
		if ((r = poll(&p, 1, left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			return -1;
		if (r <= 0) {
			if ((left -= 1000) <= 0) {
				kill(pid, SIGKILL);
				return -2;
			}
			continue;
		}
		if ((n = read(fd, chunk, sizeof(chunk))) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		if (buf_append(b, chunk, (size_t)n) < 0) {
			kill(pid, SIGKILL);
			return -1;
		}
	}
}

/* worker_transform - transform_post in a sandboxed child */
enum result
worker_transform(const struct transform_in *in, const struct keys *k, struct transform_out *out)
{
	struct reply_head h;
	struct buf raw;
	int fds[2], status = 0, rd;
	pid_t pid;

	size_t total, off;

	memset(out, 0, sizeof(*out));
	buf_init(&out->rendered, 0);
	for (int i = 0; i < TP_N; i++)
		buf_init(&out->part[i], 0);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return snprintf(out->reason, sizeof(out->reason), "pipe: %s", strerror(errno)), TEMPFAIL;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return snprintf(out->reason, sizeof(out->reason), "fork: %s", strerror(errno)), TEMPFAIL;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], in, k);
	}
	close(fds[1]);
	buf_init(&raw, sizeof(h) + in->len * 10 + 10 * 65536 + 4096);
	rd = read_all(fds[0], &raw, pid);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rd == -2 || WIFSIGNALED(status) || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    raw.len < sizeof(h)) {
		snprintf(out->reason, sizeof(out->reason), "the message could not be parsed (parser %s)",
		    rd == -2 ? "timed out" : WIFSIGNALED(status) ? "crashed" : "failed");
		if (WIFSIGNALED(status))
			log_warn("%s worker: parser killed by signal %d; message will be quarantined",
			    in->qid, WTERMSIG(status));
		buf_free(&raw);
		return PERMFAIL;
	}
	memcpy(&h, raw.data, sizeof(h));
	total = h.len;
	for (int i = 0; i < TP_N; i++)
		total += h.plen[i] < raw.len ? h.plen[i] : raw.len;
	if (total != raw.len - sizeof(h) || (h.result != OK && h.result != PERMFAIL && h.result != TEMPFAIL)) {
		snprintf(out->reason, sizeof(out->reason), "the message could not be parsed (bad worker reply)");
		buf_free(&raw);
		return PERMFAIL;
	}
	out->automatic = h.automatic;
	out->bounce = h.bounce;
	out->loop = h.loop;
	out->footer = h.footer;
	out->remote = h.remote;
	h.from[sizeof(h.from) - 1] = 0;
	h.reason[sizeof(h.reason) - 1] = 0;
	memcpy(out->from, h.from, sizeof(out->from));
	memcpy(out->reason, h.reason, sizeof(out->reason));
	off = sizeof(h) + h.len;
	if (h.result == OK && buf_append(&out->rendered, raw.data + sizeof(h), h.len) < 0) {
		buf_free(&raw);
		return snprintf(out->reason, sizeof(out->reason), "out of memory"), TEMPFAIL;
	}
	for (int i = 0; i < TP_N && h.result == OK; i++) {
		if (buf_append(&out->part[i], raw.data + off, h.plen[i]) < 0) {
			buf_free(&raw);
			return snprintf(out->reason, sizeof(out->reason), "out of memory"), TEMPFAIL;
		}
		off += h.plen[i];
	}
	buf_free(&raw);
	return (enum result)h.result;
}
