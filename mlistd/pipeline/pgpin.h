/* pgpin.h - OpenPGP from members: their keys registered by mail. */
#ifndef MLIST_PGPIN_H
#define MLIST_PGPIN_H

#include "pipeline/pipeline.h"

#define PGPIN_ASKED		1	/* "key": say so when there is none */
#define PGPIN_SUBSCRIBING	2	/* "subscribe": a token for a non-member */

/*
 * pgpin_key_request - "key" (or "subscribe") at LIST-request: the key in
 * the mail, judged; the answer's words go in answer. 1 answered, 0 no key
 * and quiet (not asked), -1 error.
 */
int	pgpin_key_request(struct pipeline *, const struct list_cfg *,
	    const char *to, const void *msg, size_t len, unsigned how,
	    struct buf *answer);
/* pgpin_key_confirmed - a "pgpkey" token answered: the key registered */
int	pgpin_key_confirmed(struct pipeline *, const struct list_cfg *,
	    const struct store_token *, const struct buf *msg);

#endif
