/* mono.h - the monotonic clock in milliseconds, for deadlines and timeouts. */
#ifndef MLIST_MONO_H
#define MLIST_MONO_H

#include <time.h>

long long mono_ms(void);
struct timespec mono_in_ms(long long);
long long mono_ms_until(struct timespec);
long long mono_ms_since(const struct timespec *);

#endif
