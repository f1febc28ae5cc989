/* sandbox.h - confine a process that runs hostile input: descriptors, rlimits, Landlock, seccomp. */
#ifndef MLIST_SANDBOX_H
#define MLIST_SANDBOX_H

#include <stddef.h>

/* what sandbox_landlock managed to turn on */
#define SANDBOX_LL_FS		0x01	/* no file made, written, renamed or removed */
#define SANDBOX_LL_NET		0x02	/* no TCP bind or connect (Landlock ABI 4) */
#define SANDBOX_LL_SCOPE	0x04	/* no signal or abstract socket outside (ABI 6) */

struct sandbox_limits {
	long long	 memory;	/* RLIMIT_AS, bytes; 0: none */
	int		 seconds;	/* RLIMIT_CPU; 0: none */
};

int	sandbox_close_fds(int keep, int keep_stderr);
int	sandbox_rlimits(const struct sandbox_limits *);
int	sandbox_landlock_abi(void);
int	sandbox_landlock(const char *readable);
int	sandbox_seccomp(int out_fd);
int	sandbox_seccomp_available(void);
int	sandbox_describe(int landlock, int seccomp, char *out, size_t len);

#endif
