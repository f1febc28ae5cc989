/*
 * utc.c - a time written out in UTC with a strftime format, for headers
 * and for what a notice says: one place for the gmtime_r/strftime pair and
 * for what stands when it fails.
 */
#include <stdio.h>
#include <time.h>

#include "util/utc.h"

/*
 * utc_format - t in UTC as fmt says, into out (n bytes); where it cannot
 * be written (out of range, too long) dflt stands instead: 0, or -1 then
 */
int
utc_format(long long t, const char *fmt, const char *dflt, char *out,
    size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (n == 0)
		return -1;
	if (gmtime_r(&tt, &tm) != NULL && strftime(out, n, fmt, &tm) != 0)
		return 0;
	snprintf(out, n, "%s", dflt);
	return -1;
}
