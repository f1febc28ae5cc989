/*
 * sign.c - the sign stage: a DKIM-Signature by the list's key (d= the
 * instance's hostname, s= the list's active selector) on the finished
 * copy, after every other rewrite. Runs in the queue manager, which holds
 * the keys; the parsing worker never sees them. A member's post first gets
 * the author signature (mail/author.c) by the member's own key on this
 * list, which the DKIM signature then covers. Both carry the copy's
 * release time (the pipeline's, on a list with jitter or batching).
 */
#include <string.h>

#include "mail/author.h"
#include "mail/listkey.h"
#include "pipeline/sign.h"
#include "util/log.h"

/*
 * sign_time - the signatures' time: the release time of the copy being
 * built (jitter, batching), so t= tells no more than Date: does
 */
static long long
sign_time(const struct pipeline *p)
{
	return p->release ? p->release : p->now;
}

/* prepend - msg becomes head followed by msg; head is consumed either way */
static int
prepend(struct buf *msg, struct buf *head)
{
	if (buf_append(head, msg->data, msg->len) < 0) {
		buf_free(head);
		return -1;
	}
	buf_free(msg);
	*msg = *head;
	return 0;
}

/*
 * sign_role_seed - the moderators' role key on a list: derived from the
 * master key (its own context, keys.c) and the list, never stored, the same for every moderator, so
 * members can tell a real notice from the moderators from a forgery
 * without learning which moderator sent it.
 */
void
sign_role_seed(struct pipeline *p, const struct list_cfg *l, unsigned char seed[DKIM_SEED_LEN])
{
	keys_role_seed(p->keys, l->name, seed);	/* its own key: not the look-up hashes' */
}

/* sign_author - prepend the author's signature (their key on this list, held here; NULL: a one-time key) */
int
sign_author(struct pipeline *p, const struct list_cfg *l, const char *author, struct buf *msg)
{
	unsigned char seed[DKIM_SEED_LEN];
	struct buf head;
	int rc;

	if (author == NULL)
		randombytes_buf(seed, sizeof(seed));	/* an anonymous post: a key used once, then forgotten */
	else if (strcmp(author, SIGN_ROLE) == 0)
		sign_role_seed(p, l, seed);		/* the moderators, as a role */
	else if (store_member_author_seed(p->st, l->name, author, seed, sizeof(seed)) != STORE_OK) {
		log_err("%s sign: list=%s no author key: %s", p->qid, l->name, store_errmsg(p->st));
		return -1;
	}
	buf_init(&head, 0);
	if ((rc = author_sign(seed, NULL, sign_time(p), (const char *)msg->data, msg->len, &head)) == 0)
		rc = prepend(msg, &head);
	else
		buf_free(&head);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* sign_copy - prepend the list's DKIM signature to msg */
int
sign_copy(struct pipeline *p, const struct list_cfg *l, struct buf *msg)
{
	unsigned char seed[DKIM_SEED_LEN];
	char selector[SELECTOR_MAX];
	struct buf head;
	int rc;

	if (listkey_get(p->st, l->name, selector, sizeof(selector), seed) < 0) {
		log_err("%s sign: list=%s no signing key: %s", p->qid, l->name, store_errmsg(p->st));
		return -1;
	}
	buf_init(&head, 0);
	if ((rc = dkim_sign(seed, p->cfg->hostname, selector, sign_time(p), (const char *)msg->data, msg->len, &head)) == 0)
		rc = prepend(msg, &head);
	else
		buf_free(&head);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}
