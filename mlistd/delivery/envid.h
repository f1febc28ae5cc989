/* envid.h - the envelope id (RFC 3461) naming one relay transaction. */
#ifndef MLIST_ENVID_H
#define MLIST_ENVID_H

#include <stddef.h>

#include "mail/keys.h"

/* "M2." and base64: RFC 3461 allows 100 characters */
#define ENVID_MAX	101

int	envid_make(const struct keys *, const char *qid, long long lo,
	    long long hi, char *out, size_t n);
int	envid_check(const struct keys *, const char *envid, char *qid,
	    size_t qn, long long *lo, long long *hi);
/* an original recipient: "M3." and base64 of 53 bytes, always */
#define ENVID_ORCPT_LEN	74
#define ENVID_ORCPT_MAX	(ENVID_ORCPT_LEN + 1)

int	envid_orcpt_make(const struct keys *, const char *qid, long long row,
	    char *out, size_t n);
/* n at once, of one transaction: 0, or -1 (none to be used) */
int	envid_orcpts_make(const struct keys *, const char *qid,
	    const long long *rows, int n, char (*out)[ENVID_ORCPT_MAX]);
int	envid_orcpt_check(const struct keys *, const char *orcpt, char *qid,
	    size_t qn, long long *row);

#endif
