/* pgpin.h - OpenPGP from members: keys by mail, posts encrypted to the list. */
#ifndef MLIST_PGPIN_H
#define MLIST_PGPIN_H

#include "mail/openpgp.h"
#include "pipeline/pgpreplace.h"
#include "pipeline/pipeline.h"
#include "pipeline/policy.h"
#include "pipeline/worker.h"

#define PGPIN_ASKED		1	/* "key": say so when there is none */
#define PGPIN_SUBSCRIBING	2	/* "subscribe": a token for a non-member */
#define PGPIN_SURE		4	/* the request's sender authenticated */

/* what a "pgpkey" token remembers of its request (its bound bytes) */
#define PGPKEY_SURE		1	/* the request was authenticated */
#define PGPKEY_OLDSIG		2	/* signed by the key it replaces */

struct pgpin_bound {
	const char	*addr;
	unsigned	 flags;
	char		 token_hash[PGPREPLACE_TOKEN_HASH_HEX];
	const void	*key;		/* the minimal key, binary */
	size_t		 keylen;
};

/* what an answered token does (pgpin_decide) */
enum pgpin_action {
	PGPIN_REGISTER,		/* a first key (or the same key) stored */
	PGPIN_REPLACE_NOW,	/* the old key signed for the new one */
	PGPIN_REPLACE_LATER,	/* it did not: the new one waits */
	PGPIN_UNVERIFIED	/* a first key, nobody authenticated */
};

int	pgpin_bound_parse(char *, size_t, struct pgpin_bound *);
enum pgpin_action pgpin_decide(int has_old, int same, unsigned flags,
	    int answer_sure, int answer_oldsig);

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
/* pgpin_key_cancel - "key cancel": the waiting key dropped (sure only) */
int	pgpin_key_cancel(struct pipeline *, const struct list_cfg *,
	    const char *to, unsigned how, struct buf *answer);
/* pgpin_key_confirmed - a "pgpkey" token answered: the key registered */
int	pgpin_key_confirmed(struct pipeline *, const struct list_cfg *,
	    const struct store_token *, const struct envelope *,
	    const struct buf *msg);

/* a post encrypted to the list, on the queue manager's side (pgpin_post.c) */
struct pgpin_post {
	struct openpgp_secret	*secret;	/* the list's key, for the worker */
	struct buf		 key;		/* the key registered for from */
	char			 from[ADDR_MAX + 1];	/* the outer From */
};

int	pgpin_post_prepare(struct pipeline *, const struct list_cfg *,
	    const struct buf *, struct pgpin_post *, struct worker_pgp *);
int	pgpin_post_sealed_seen(struct pipeline *, const struct list_cfg *,
	    const struct transform_out *);
int	pgpin_post_signed(struct pipeline *, const struct list_cfg *,
	    const struct pgpin_post *, const struct transform_out *,
	    struct authorship *);
void	pgpin_post_free(struct pgpin_post *);

#endif
