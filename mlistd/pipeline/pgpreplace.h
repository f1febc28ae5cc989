/* pgpreplace.h - a new OpenPGP key replacing a member's registered one. */
#ifndef MLIST_PGPREPLACE_H
#define MLIST_PGPREPLACE_H

#include "mail/openpgp.h"
#include "pipeline/pipeline.h"
#include "util/why.h"

#define PGPREPLACE_TOKEN_HASH_HEX 65	/* a token's BLAKE2b-256, hex, NUL */

void	pgpreplace_token_hash(const char *token,
	    char hex[PGPREPLACE_TOKEN_HASH_HEX]);

/*
 * pgpreplace_signed_key - 1 if msg is multipart/signed by old (its UID the
 * From) with a usable key inside the signed part (imported into key)
 */
int	pgpreplace_signed_key(const void *msg, size_t len, const char *addr,
	    const struct openpgp_key *old, struct openpgp_key *key);
/*
 * pgpreplace_signed_answer - 1 if msg is multipart/signed by old and its
 * signed part carries the token whose hash is token_hash
 */
int	pgpreplace_signed_answer(const void *msg, size_t len,
	    const char *addr, const struct openpgp_key *old,
	    const char *token_hash);
/*
 * pgpreplace_schedule - key waits openpgp.replace_delay to replace old;
 * a notice encrypted to old says so, with a token that cancels. sure: the
 * answer was authenticated (otherwise the notice is within the answer
 * budget, and nothing waits without it). The answer's line into line.
 * 0 (scheduled or withheld), -1 error.
 */
int	pgpreplace_schedule(struct pipeline *, const struct list_cfg *,
	    const char *addr, const struct openpgp_key *key,
	    const struct openpgp_key *old, int sure, char *line, size_t n);
/* pgpreplace_token_in - 1 if text holds the token of that hash */
int	pgpreplace_token_in(const void *text, size_t len,
	    const char *token_hash);
/* pgpreplace_cancel - the waiting key dropped: 1 one waited, 0, -1 */
int	pgpreplace_cancel(struct pipeline *, const struct list_cfg *,
	    const char *addr, const char *how);
/* pgpreplace_cancelled - a "pgpcancel" token answered: 1 handled, -1 */
int	pgpreplace_cancelled(struct pipeline *, const struct list_cfg *,
	    const struct store_token *, const struct buf *msg);
/* the periodic job (qmgr/jobs.c): due keys take effect, audited */
int	pgpreplace_due(struct pipeline *, const struct list_cfg *);
int	pgpreplace_job(struct pipeline *, const struct list_cfg *,
	    struct why *);

#endif
