/* lookshare.h - fair shares of the DNS look-up slots (lookshare.c). */
#ifndef MLIST_LOOKSHARE_H
#define MLIST_LOOKSHARE_H

#include "mail/dns.h"

/* names asked at once, all lists and senders together */
#define LOOKSHARE_MAX	DNS_QUERIES_MAX

/* the look-ups out now, as seen by one that would start */
struct lookshare_use {
	int		 used;		/* all of them */
	int		 list;		/* for its list */
	int		 domain;	/* for its domain, on every list */
	int		 both;		/* for its domain on its list */
};

int	lookshare_room(const struct lookshare_use *, int max);
int	lookshare_list_cap(const struct lookshare_use *, int max);

#endif
