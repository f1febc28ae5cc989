/*
 * mono.c - the monotonic clock in milliseconds.  Deadlines of the control
 * socket, the parser's zygote, the control protocol and DNS look-ups are
 * all taken here: a wall clock stepped back or forward moves none of them.
 */
#include "util/mono.h"

/* mono_ms - monotonic milliseconds */
long long
mono_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC exists on every Linux: no failure to report */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* mono_in_ms - the monotonic time ms from now */
struct timespec
mono_in_ms(long long ms)
{
	struct timespec t;

	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += (time_t)(ms / 1000);
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* mono_ms_until - milliseconds from now to t; negative once t is past */
long long
mono_ms_until(struct timespec t)
{
	struct timespec now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(t.tv_sec - now.tv_sec) * 1000 +
	    (t.tv_nsec - now.tv_nsec) / 1000000;
}

/* mono_ms_since - milliseconds from t0 (CLOCK_MONOTONIC) to now */
long long
mono_ms_since(const struct timespec *t0)
{
	struct timespec now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000;
}
