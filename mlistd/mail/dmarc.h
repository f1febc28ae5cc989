/* dmarc.h - DMARC policy records and identifier alignment (RFC 7489). */
#ifndef MLIST_DMARC_H
#define MLIST_DMARC_H

#include <stddef.h>

#include "dns.h"

enum dmarc_policy { DMARC_NONE_PUBLISHED, DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT,
	DMARC_UNKNOWN };

struct dmarc_rec {
	enum dmarc_policy p;		/* p= of the domain, or sp= when inherited */
	int		 adkim_strict;
	char		 where[256];	/* the domain whose record applied */
};

int	dmarc_org_domain(const char *domain, char *out, size_t ol);
int	dmarc_aligned(const char *d, const char *from, int strict);
int	dmarc_parse(const char *txt, struct dmarc_rec *);
enum dns_status dmarc_fetch(dns_txt_fn, void *arg, const char *from_domain, struct dmarc_rec *,
	    char *why, size_t wl);
const char *dmarc_policy_name(enum dmarc_policy);

#endif
