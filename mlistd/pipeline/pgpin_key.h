/* pgpin_key.h - a key sent by mail, found and reduced in the worker. */
#ifndef MLIST_PGPIN_KEY_H
#define MLIST_PGPIN_KEY_H

#include "mail/openpgp.h"
#include "pipeline/pipeline.h"
#include "pipeline/worker.h"

/* what the worker found (struct pgpin_found's status) */
#define PGPIN_KEY_NONE		0	/* no key in the mail */
#define PGPIN_KEY_FOUND		1	/* one, usable: key holds it */
#define PGPIN_KEY_REFUSED	(-1)	/* one that cannot be used: why */

struct pgpin_found {
	int			 status;
	int			 shape;		/* enum pgpkeyin_shape */
	char			 why[160];	/* REFUSED: the reason */
	struct openpgp_key	 key;		/* FOUND: the minimal key */
	struct buf		 in;		/* what the old key signed */
};

/*
 * in the queue manager: the key addr sent in msg (old: the registered key,
 * binary, or NULL), by the worker; open: a mail encrypted to the list is
 * opened first. 0 (f filled), -1 not yet or error (the pass is tried
 * again: workpool_waiting says which).
 */
int	pgpin_key_find(struct pipeline *, const struct list_cfg *,
	    const char *addr, const void *msg, size_t len,
	    const struct buf *old, int open, struct pgpin_found *f);
void	pgpin_found_free(struct pgpin_found *);
int	pgpin_request_open(struct pipeline *, const struct list_cfg *,
	    const struct buf *msg, struct buf *opened);
int	pgpin_answer_signed_by(struct pipeline *, const struct list_cfg *,
	    const struct buf *key, const char *token_hash,
	    const struct buf *msg, struct buf *opened);
int	pgpin_answer_signed(struct pipeline *, const struct list_cfg *,
	    const char *addr, const char *token, const struct buf *msg,
	    struct buf *opened);

#endif
