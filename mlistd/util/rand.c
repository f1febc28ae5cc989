/*
 * rand.c - every program's randomness comes from libsodium, and a failure
 * to get it is fatal, never zeros (#15). rand_init runs first in main():
 * it asks the kernel itself (getrandom(2), else /dev/urandom, libsodium's
 * own order), so a system with neither gets a sentence and exit 1 before
 * any state is touched, not libsodium's bare abort(). Later failures
 * (libsodium aborts through sodium_misuse rather than return unrandom
 * bytes) go to rand_misuse: the same sentence, then _exit(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>
#include <unistd.h>

#include "util/rand.h"

static const char *rand_prog = "mlistd";

/*
 * rand_misuse - libsodium could not go on (no randomness left, or a
 * misuse): say so where an operator looks, and stop at once; exit(3)'s
 * handlers could write state from a process that cannot draw a nonce
 */
static void
rand_misuse(void)
{
	char m[160];
	int n;

	n = snprintf(m, sizeof(m), "%s: libsodium cannot go on (no "
	    "randomness, or a misuse): stopping", rand_prog);
	if (n > 0 && (size_t)n < sizeof(m) - 1) {
		m[n] = '\n';
		/* no check: a closed stderr leaves syslog to say it */
		(void)!write(STDERR_FILENO, m, (size_t)n + 1);
		m[n] = '\0';
	}
	syslog(LOG_CRIT, "%s", m);
	_exit(1);
}

/* urandom_ok - can /dev/urandom give 16 bytes? 0, or -1 with errno */
static int
urandom_ok(void)
{
	unsigned char b[16];
	ssize_t r;
	int fd, e;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	r = read(fd, b, sizeof(b));
	e = errno;
	(void)close(fd);
	sodium_memzero(b, sizeof(b));
	if (r != (ssize_t)sizeof(b))
		return errno = r < 0 ? e : EIO, -1;
	return 0;
}

/*
 * rand_init - randomness for prog, or why not into err: getrandom or
 * /dev/urandom must give bytes (what libsodium uses), libsodium must
 * start; a later failure stops the process with a sentence
 */
int
rand_init(const char *prog, char *err, size_t errlen)
{
	unsigned char b[16];
	int ge, ue;

	rand_prog = prog;
	(void)sodium_set_misuse_handler(rand_misuse);
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		ge = errno;
		if (urandom_ok() < 0) {
			ue = errno;
			snprintf(err, errlen, "no source of randomness "
			    "(getrandom: %s; /dev/urandom: %s): not starting",
			    strerror(ge), strerror(ue));
			return -1;
		}
	}
	sodium_memzero(b, sizeof(b));
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise: "
		    "not starting");
		return -1;
	}
	return 0;
}
