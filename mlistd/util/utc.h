/* utc.h - a time (seconds since the epoch) written out in UTC. */
#ifndef MLIST_UTC_H
#define MLIST_UTC_H

#include <stddef.h>

#define UTC_RFC5322	"%a, %d %b %Y %H:%M:%S +0000"	/* a Date: header */
#define UTC_DATE_MAX	32	/* utc_date's out: 31 characters and the NUL */

int	utc_format(long long t, const char *fmt, const char *dflt, char *out,
	    size_t n);
int	utc_date(long long t, char *out, size_t n);

#endif
