/* authres.h - Authentication-Results fields (RFC 8601) from the MTA in front. */
#ifndef MLIST_AUTHRES_H
#define MLIST_AUTHRES_H

#include <stddef.h>

#include "header.h"

#define AUTHRES_MAX	16	/* results kept per field */

struct authres_item {
	char		 method[16];	/* "dkim", "dmarc", ... lower case */
	char		 result[16];	/* "pass", "fail", ... lower case */
	char		 header_d[256];	/* header.d= (dkim) */
	char		 header_from[256];	/* header.from= (dmarc) */
};

struct authres {
	char		 authserv_id[256];
	int		 n;
	struct authres_item r[AUTHRES_MAX];
};

int	authres_parse(const char *v, size_t n, struct authres *);
int	authres_trusted(const struct hdr *, const char *authserv_id, int hops,
	    struct authres *out, int max, int *ignored);

#endif
