/*
 * utc.c - a time written out in UTC with a strftime format, for headers
 * and for what a notice says: one place for the gmtime_r/strftime pair and
 * for what stands when it fails. utc_date is the one RFC 5322 Date every
 * copy carries (posts, notices, digests, relays, OpenPGP copies).
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

/* what a Date: says where the time cannot be written */
#define EPOCH_DATE	"Thu, 01 Jan 1970 00:00:00 +0000"

/*
 * utc_date - t as an RFC 5322 date-time in UTC, always the same length
 * (two-digit day, "+0000": pgpcopy.c parses it back, and a zone would
 * tell where the list runs); the epoch, and -1, where t cannot be written
 */
int
utc_date(long long t, char *out, size_t n)
{
	return utc_format(t, UTC_RFC5322, EPOCH_DATE, out, n);
}
