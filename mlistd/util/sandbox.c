/*
 * sandbox.c - confine a process that runs hostile input.
 *
 * Four layers, each useful alone, none aware of what the process parses:
 * every inherited descriptor closed (a read-write database descriptor
 * would let the process write through mmap whatever RLIMIT_FSIZE says);
 * resource limits (address space, CPU seconds, no new process, no file
 * growth, no core); Landlock (no file made, written, renamed or removed,
 * reads only below one directory, and on kernels that have them no TCP
 * and no signal leaving the domain); and a seccomp allow-list that kills
 * the process on any other system call (socket, connect, kill, ptrace,
 * execve, fork, ...). Landlock and seccomp need PR_SET_NO_NEW_PRIVS,
 * which also means no set-uid program could ever raise the process again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox.h"

/* the ruleset attribute as of Landlock ABI 6 (Debian 12's headers stop at ABI 2) */
struct ll_ruleset {
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;
	uint64_t	 scoped;
};

#define LL_FS_REFER		(1ULL << 13)	/* ABI 2 */
#define LL_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
#define LL_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#define LL_NET_CONNECT_TCP	(1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL		(1ULL << 1)

/* close_walk - close every descriptor from 3 up but keep, by /proc/self/fd (no close_range) */
static int
close_walk(int keep)
{
	DIR *d;
	struct dirent *e;
	int fd, dfd, n = 0, fds[1024];

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	dfd = dirfd(d);
	while ((e = readdir(d)) != NULL && n < (int)(sizeof(fds) / sizeof(fds[0])))
		if ((fd = atoi(e->d_name)) > 2 && fd != keep && fd != dfd)
			fds[n++] = fd;
	closedir(d);
	while (n > 0)
		(void)close(fds[--n]);	/* EBADF on a descriptor the walk itself used is fine */
	return 0;
}

/*
 * sandbox_close_fds - every descriptor but keep closed; 0, 1 and 2 point
 * at /dev/null (stderr stays when keep_stderr: a sanitizer's reports go
 * there), so that nothing opened later lands on them by accident
 */
int
sandbox_close_fds(int keep, int keep_stderr)
{
	int null, rc = 0;

	if (keep > 3 && close_range(3, (unsigned)keep - 1, 0) < 0)
		rc = -1;
	if (rc == 0 && close_range(keep < 3 ? 3 : (unsigned)keep + 1, ~0U, 0) < 0)
		rc = -1;
	if (rc < 0 && close_walk(keep) < 0)
		return -1;
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	for (int fd = 0; fd <= (keep_stderr ? 1 : 2); fd++)
		if (fd != keep && dup2(null, fd) < 0)
			return close(null), -1;
	return null > 2 && null != keep ? close(null) : 0;
}

/* sandbox_rlimits - the budgets, no new process, no file growth, no core; -1 if one failed */
int
sandbox_rlimits(const struct sandbox_limits *lim)
{
	struct rlimit zero = { 0, 0 }, r;
	int rc = 0;

	if (lim->memory > 0) {
		r.rlim_cur = r.rlim_max = (rlim_t)lim->memory;
		rc |= setrlimit(RLIMIT_AS, &r);
	}
	if (lim->seconds > 0) {
		/* SIGXCPU at the budget, SIGKILL a second later if it is caught */
		r.rlim_cur = (rlim_t)lim->seconds;
		r.rlim_max = (rlim_t)lim->seconds + 1;
		rc |= setrlimit(RLIMIT_CPU, &r);
	}
	rc |= setrlimit(RLIMIT_NPROC, &zero);
	rc |= setrlimit(RLIMIT_FSIZE, &zero);
	rc |= setrlimit(RLIMIT_CORE, &zero);
	return rc ? -1 : 0;
}

/* sandbox_landlock_abi - the kernel's Landlock ABI version, 0 if it has none */
int
sandbox_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 1 ? 0 : (int)abi;
}

/* ruleset_for - what the kernel's ABI lets us forbid */
static size_t
ruleset_for(int abi, struct ll_ruleset *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* every right of ABI 1 */
	if (abi >= 2)
		attr->handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		attr->handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		attr->handled_access_fs |= LL_FS_IOCTL_DEV;
	if (abi >= 4)
		attr->handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;	/* no rule: none allowed */
	if (abi >= 6)
		attr->scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	/* an older kernel refuses a larger struct: give it the size it knows */
	return abi >= 6 ? sizeof(*attr) : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
}

/*
 * sandbox_landlock - no file may be made, written, removed or renamed and
 * only what lies below readable may be read; no TCP and no signal out of
 * the domain where the ABI has them. Returns the SANDBOX_LL_* now in
 * force, 0 if the kernel has no Landlock, -1 if it has and it failed.
 */
int
sandbox_landlock(const char *readable)
{
	struct ll_ruleset attr;
	struct landlock_path_beneath_attr rule;
	int abi = sandbox_landlock_abi(), rs, ok;
	size_t size;

	if (abi < 1)
		return 0;
	size = ruleset_for(abi, &attr);
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0)) < 0)
		return -1;
	memset(&rule, 0, sizeof(rule));
	rule.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	if ((rule.parent_fd = open(readable, O_PATH | O_CLOEXEC)) >= 0) {
		(void)syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
		(void)close(rule.parent_fd);
	}
	ok = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && syscall(SYS_landlock_restrict_self, rs, 0) == 0;
	(void)close(rs);
	if (!ok)
		return -1;
	return SANDBOX_LL_FS | (abi >= 4 ? SANDBOX_LL_NET : 0) | (abi >= 6 ? SANDBOX_LL_SCOPE : 0);
}

/*
 * The allow-list: what malloc, stdio, libetpan, ICU's and iconv's data
 * loading (open read-only, mmap, close), libsodium's getrandom, librnp's
 * locked memory (mlock), and a
 * sanitizer's report need; found by running the unit and end-to-end tests
 * under strace -f. Nothing here makes a socket, a process or a signal.
 */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(readv), SCMP_SYS(lseek),
	SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(stat),
	SCMP_SYS(lstat), SCMP_SYS(getdents64), SCMP_SYS(readlink), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect), SCMP_SYS(brk),
	SCMP_SYS(madvise), SCMP_SYS(futex), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getrandom),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(uname), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(restart_syscall), SCMP_SYS(getrlimit), SCMP_SYS(prlimit64),
	/* sodium_malloc, librnp's allocator: the list's key locked in memory */
	SCMP_SYS(mlock), SCMP_SYS(munlock),
};

/* seccomp_build - allow-list in ctx; writes go only to out_fd and stderr, files open read-only */
static int
seccomp_build(scmp_filter_ctx ctx, int out_fd)
{
	int rc = 0;

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i] >= 0)	/* a name this architecture lacks is negative */
			rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)out_fd));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_EQ, 2));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(writev), 1, SCMP_A0(SCMP_CMP_EQ, 2));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_GETFD));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_GETFL));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_SETFD));
	/* librnp's log: a copy of the /dev/null opened before, fdopen()ed */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
	    SCMP_A1(SCMP_CMP_EQ, F_DUPFD_CLOEXEC));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
	    SCMP_A1(SCMP_CMP_EQ, F_SETFL));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, TCGETS));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, PR_GET_DUMPABLE));
	/* abort() signals itself: a parser's own assertion is a crash, not a forbidden call */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getppid), 0);
	return rc ? -1 : 0;
}

/*
 * sandbox_seccomp - from now on any system call off the list kills the
 * whole process (SIGSYS); 0 in force, -1 it could not be installed
 */
int
sandbox_seccomp(int out_fd)
{
	scmp_filter_ctx ctx;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return -1;
	rc = seccomp_build(ctx, out_fd) == 0 && seccomp_load(ctx) == 0 ? 0 : -1;
	seccomp_release(ctx);
	return rc;
}

/* sandbox_seccomp_available - 1 if this kernel filters system calls */
int
sandbox_seccomp_available(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
}

/* sandbox_describe - "landlock=fs+net+signal (ABI 6) seccomp=on" for the start-up line */
int
sandbox_describe(int landlock, int seccomp, char *out, size_t len)
{
	int n;

	if (landlock <= 0)
		n = snprintf(out, len, "landlock=%s seccomp=%s", landlock < 0 ? "failed" : "none (kernel)",
		    seccomp ? "on" : "OFF");
	else
		n = snprintf(out, len, "landlock=fs%s%s (ABI %d) seccomp=%s",
		    landlock & SANDBOX_LL_NET ? "+net" : " (no net: ABI < 4)",
		    landlock & SANDBOX_LL_SCOPE ? "+signal" : "", sandbox_landlock_abi(), seccomp ? "on" : "OFF");
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
