/*
 * norandom.c - an LD_PRELOAD shim for the e2e tests: a system with no
 * source of randomness. getrandom(2) (the libc call, the raw syscall(2)
 * that libsodium makes, getentropy) fails with ENOSYS as on an old
 * kernel, and opening /dev/urandom or /dev/random fails with ENOENT as in
 * a chroot without them: what libsodium falls back on is gone too.
 * Built by the Makefile as build/tests/norandom.so (test_norandom.py).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

/* is_random_dev - one of the two devices that give randomness? */
static int
is_random_dev(const char *path)
{
	return path && (strcmp(path, "/dev/urandom") == 0 ||
	    strcmp(path, "/dev/random") == 0);
}

/*
 * denied - is this caller's getrandom to fail? Every one; with
 * NORANDOM_LATE set, only libsodium's (a program's own first look finds
 * randomness, then libsodium cannot get it: randomness lost later)
 */
static int
denied(void *caller)
{
	Dl_info info;

	if (getenv("NORANDOM_LATE") == NULL)
		return 1;
	return dladdr(caller, &info) != 0 && info.dli_fname != NULL &&
	    strstr(info.dli_fname, "libsodium") != NULL;
}

/* getrandom - as on a kernel before 3.17 */
ssize_t
getrandom(void *buf, size_t len, unsigned int flags)
{
	static ssize_t (*real)(void *, size_t, unsigned int);

	if (denied(__builtin_return_address(0))) {
		errno = ENOSYS;
		return -1;
	}
	if (real == NULL)
		real = (ssize_t (*)(void *, size_t, unsigned int))dlsym(
		    RTLD_NEXT, "getrandom");
	return real(buf, len, flags);
}

/* getentropy - the same through glibc's other name */
int
getentropy(void *buf, size_t len)
{
	static int (*real)(void *, size_t);

	if (denied(__builtin_return_address(0))) {
		errno = ENOSYS;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(void *, size_t))dlsym(RTLD_NEXT,
		    "getentropy");
	return real(buf, len);
}

/* syscall - SYS_getrandom fails; every other call goes through */
long
syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;

	if (nr == SYS_getrandom) {
		errno = ENOSYS;
		return -1;
	}
	if (real == NULL)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* MODE_OF - the mode argument, if flags say there is one */
#define MODE_OF(flags, mode) do {					\
	if ((flags) & (O_CREAT | O_TMPFILE)) {				\
		va_list ap;						\
		va_start(ap, flags);					\
		mode = (mode_t)va_arg(ap, int);				\
		va_end(ap);						\
	}								\
} while (0)

/* OPEN_AS - call the real function of that name (open, open64, ...) */
#define OPEN_AS(name, ...) do {						\
	static int (*real)();						\
	if (real == NULL)						\
		real = (int (*)())dlsym(RTLD_NEXT, name);		\
	return real(__VA_ARGS__);					\
} while (0)

/* open - no random devices */
int
open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_OF(flags, mode);
	if (is_random_dev(path))
		return errno = ENOENT, -1;
	OPEN_AS("open", path, flags, mode);
}

/* open64 - as open */
int
open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_OF(flags, mode);
	if (is_random_dev(path))
		return errno = ENOENT, -1;
	OPEN_AS("open64", path, flags, mode);
}

/* openat - as open */
int
openat(int dfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_OF(flags, mode);
	if (is_random_dev(path))
		return errno = ENOENT, -1;
	OPEN_AS("openat", dfd, path, flags, mode);
}

/* openat64 - as open */
int
openat64(int dfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_OF(flags, mode);
	if (is_random_dev(path))
		return errno = ENOENT, -1;
	OPEN_AS("openat64", dfd, path, flags, mode);
}

/* fopen - no random devices */
FILE *
fopen(const char *path, const char *how)
{
	static FILE *(*real)(const char *, const char *);

	if (is_random_dev(path))
		return errno = ENOENT, NULL;
	if (real == NULL)
		real = (FILE *(*)(const char *, const char *))dlsym(RTLD_NEXT,
		    "fopen");
	return real(path, how);
}
