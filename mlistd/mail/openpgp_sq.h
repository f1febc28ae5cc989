/* openpgp_sq.h - a third-party certification made by Sequoia's sq. */
#ifndef MLIST_OPENPGP_SQ_H
#define MLIST_OPENPGP_SQ_H

#include <stddef.h>
#include <stdint.h>

#include "mail/result.h"
#include "util/buf.h"

#ifndef OPENPGP_SQ_PATH
#define OPENPGP_SQ_PATH	"/usr/bin/sq"	/* Debian 12: package sq 0.27 */
#endif

int	openpgp_sq_available(void);
enum result openpgp_sq_certify(const void *certifier, size_t clen,
	    const void *cert, size_t len, const char *uid, uint32_t t,
	    struct buf *out, char *why, size_t whylen);

#endif
