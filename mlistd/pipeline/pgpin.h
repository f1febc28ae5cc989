/* pgpin.h - OpenPGP from members: keys by mail, posts encrypted to the list. */
#ifndef MLIST_PGPIN_H
#define MLIST_PGPIN_H

#include "mail/openpgp.h"
#include "pipeline/pipeline.h"
#include "pipeline/policy.h"
#include "pipeline/worker.h"

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
/* pgpin_key_refresh - a later expiry of a member's key, from their mail */
int	pgpin_key_refresh(struct pipeline *, const struct list_cfg *,
	    const char *addr, const struct buf *msg);
/* pgpin_key_confirmed - a "pgpkey" token answered: the key registered */
int	pgpin_key_confirmed(struct pipeline *, const struct list_cfg *,
	    const struct store_token *, const struct buf *msg);

/* a post encrypted to the list, on the queue manager's side (pgpin_post.c) */
struct pgpin_post {
	struct openpgp_secret	*secret;	/* the list's key, for the worker */
	struct buf		 key;		/* the key registered for from */
	char			 from[ADDR_MAX + 1];	/* the outer From */
};

int	pgpin_post_prepare(struct pipeline *, const struct list_cfg *,
	    const struct buf *, struct pgpin_post *, struct worker_pgp *);
int	pgpin_post_signed(struct pipeline *, const struct list_cfg *,
	    const struct pgpin_post *, const struct transform_out *,
	    struct authorship *);
void	pgpin_post_free(struct pgpin_post *);

#endif
