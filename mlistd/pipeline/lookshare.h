/* lookshare.h - fair shares of the DNS look-up slots (lookshare.c). */
#ifndef MLIST_LOOKSHARE_H
#define MLIST_LOOKSHARE_H

#include "mail/dns.h"

/* names asked at once, all lists and senders together */
#define LOOKSHARE_MAX	DNS_QUERIES_MAX
/* names asked at once in the members' part for one claimed member */
#define LOOKSHARE_PER_MEMBER	8

/* the look-ups out now, as seen by one that would start */
struct lookshare_use {
	int		 used;		/* all of them */
	int		 list;		/* for its list */
	int		 domain;	/* for its domain, on every list */
	int		 both;		/* for its domain in its list's part */
	int		 member;	/* 1: it draws from the members' part */
	int		 strangers;	/* its list's, in the strangers' part */
	int		 claim;		/* its list's, for its claimed member */
};

int	lookshare_room(const struct lookshare_use *, int max);
int	lookshare_list_cap(const struct lookshare_use *, int max);

#endif
