/* dkimverify.h - verify every DKIM-Signature of a message (RFC 6376, 8301, 8463). */
#ifndef MLIST_DKIMVERIFY_H
#define MLIST_DKIMVERIFY_H

#include <stddef.h>

#include "dns.h"
#include "header.h"

#define DKIMV_MAX	8	/* signatures looked at per message; more is an abuse */
#define DKIMV_DOMAIN	254

enum dkimv_status {
	DKIMV_PASS,		/* verified */
	DKIMV_FAIL,		/* does not verify, expired, weak, forged DNS */
	DKIMV_PERMERROR,	/* malformed signature or key record, no key */
	DKIMV_TEMPERROR		/* the key could not be fetched now: retry */
};

struct dkimv_sig {
	enum dkimv_status status;
	char		 domain[DKIMV_DOMAIN + 1];	/* d=, lower case ("" if unreadable) */
	char		 selector[64];
	char		 alg[24];
	int		 partial;	/* l= covers less than the body: the rest is unsigned */
	char		 why[160];	/* for the log: no address, no body */
};

struct dkimv_keys {
	dns_txt_fn	 txt;		/* dns_txt, or a fake in the tests */
	void		*arg;
};

int	dkimv_verify(const char *msg, size_t len, const struct hdr *, const struct dkimv_keys *,
	    long long now, struct dkimv_sig *out, int max);
const char *dkimv_status_name(enum dkimv_status);

#endif
