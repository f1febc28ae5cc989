/*
 * sign.c - the sign stage: a DKIM-Signature by the list's key (d= the
 * instance's hostname, s= the list's active selector) on the finished
 * copy, after every other rewrite. Runs in the queue manager, which holds
 * the keys; the parsing worker never sees them. A member's post first gets
 * the author signature (mail/author.c) by the member's own key on this
 * list (under her pseudonym: a key derived from it and the pseudonym's
 * handle, pseudonym_seed),
 * which the DKIM signature then covers. Both carry the copy's
 * release time (the pipeline's, on a list with jitter or batching).
 * Before both, a pseudonymous copy is made multipart/signed by the
 * pseudonym's own OpenPGP key (pgpsign.c), made here on first use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/author.h"
#include "mail/header.h"
#include "mail/listkey.h"
#include "mail/listpgp.h"
#include "mail/openpgp_pseud.h"
#include "mail/openpgp_sq.h"
#include "mail/pseudonym.h"
#include "pipeline/fromname.h"
#include "pipeline/identity.h"
#include "pipeline/passrand.h"
#include "pipeline/pgpsign.h"
#include "pipeline/sign.h"
#include "util/log.h"

/*
 * sign_time - the signatures' time: the release time of the copy being
 * built (jitter, batching), so t= tells no more than Date: does
 */
static long long
sign_time(const struct pipeline *p)
{
	/* a message's passes sign at its first's time: the same bytes */
	return p->release ? p->release : passrand_time(p->now);
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
 * prepend_signed - prepend head where signing went well (signed_rc, the
 * signer's result, is 0), else drop it; that result, or prepend's
 */
static int
prepend_signed(struct buf *msg, struct buf *head, int signed_rc)
{
	if (signed_rc == 0)
		return prepend(msg, head);
	buf_free(head);
	return signed_rc;
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

/*
 * claimed - what the list states the author is (author.c's w=), from
 * who signs and as whom (id, NULL not known); NULL: a member as herself
 */
static const char *
claimed(const char *author, const struct ident *id)
{
	if (author == NULL)
		return AUTHOR_KIND_ANONYMOUS;
	if (strcmp(author, SIGN_ROLE) == 0)
		return AUTHOR_KIND_ROLE;
	if (id != NULL && id->mode == ID_PSEUDONYM)
		return AUTHOR_KIND_PSEUDONYM;
	return NULL;
}

/*
 * pseudonym_seed - the key a member's pseudonymous copies are signed by:
 * derived from her author key on the list and the pseudonym's handle,
 * never that key itself, which signs her copies as herself. A member who
 * posts both ways (a list's identity.choices) was signed by one key, k=
 * in both: every reader of the two copies tied the pseudonym to her
 * address (attack11 F1). The handle: a member holding her own key is
 * signed for by a key derived from her address alone, the same after
 * she left and came back under a new pseudonym, tying the two (attack11b
 * F1). Stable as the handle is: a renamed pseudonym keeps it.
 */
static void
pseudonym_seed(unsigned char *seed, size_t n, const char *handle)
{
	static const char ctx[] = "mlistd author key of a pseudonym";
	unsigned char out[DKIM_SEED_LEN];
	crypto_generichash_state st;

	if (n != sizeof(out) || crypto_generichash_init(&st, seed, n,
	    sizeof(out)) != 0 || crypto_generichash_update(&st,
	    (const unsigned char *)ctx, sizeof(ctx)) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)handle,
	    strlen(handle)) != 0 || crypto_generichash_final(&st, out,
	    sizeof(out)) != 0)
		abort();
	memcpy(seed, out, n);
	sodium_memzero(out, sizeof(out));
	sodium_memzero(&st, sizeof(st));
}

/*
 * author_head - the author's signature field for msg into head, with the
 * body's hash known (bh, NULL: to be computed); id, if known, the name the
 * copy shows, stated with its kind so that no reader parses the words
 */
static int
author_head(struct pipeline *p, const struct list_cfg *l, const char *author,
    const struct ident *id, const char *msg, size_t len,
    const unsigned char *bh, struct buf *head)
{
	const char *kind = claimed(author, id);
	unsigned char seed[DKIM_SEED_LEN];
	int rc;

	if (author == NULL)
		/* an anonymous post: a key used once (each pass the same) */
		passrand_buf("one-time-key", seed, sizeof(seed));
	else if (strcmp(author, SIGN_ROLE) == 0)
		sign_role_seed(p, l, seed);		/* the moderators, as a role */
	else if (store_member_author_seed(p->st, l->name, author, seed, sizeof(seed)) != STORE_OK) {
		log_err("%s sign: list=%s no author key: %s", p->qid, l->name, store_errmsg(p->st));
		return -1;
	} else if (kind && strcmp(kind, AUTHOR_KIND_PSEUDONYM) == 0)
		pseudonym_seed(seed, sizeof(seed), id->handle);
	/* the role's name is the list's own ([from-moderators]): none */
	rc = author_sign_as(seed, NULL, sign_time(p), msg, len, bh, kind,
	    kind && id && id->mode != ID_ROLE ? id->display : NULL, head);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* sign_author - prepend the author's signature (their key on this list, held here; NULL: a one-time key) */
int
sign_author(struct pipeline *p, const struct list_cfg *l, const char *author, struct buf *msg)
{
	return sign_author_as(p, l, author, NULL, msg);
}

/* sign_author_as - sign_author, the copy showing id (NULL: not known) */
int
sign_author_as(struct pipeline *p, const struct list_cfg *l,
    const char *author, const struct ident *id, struct buf *msg)
{
	struct buf head;

	buf_init(&head, 0);
	return prepend_signed(msg, &head, author_head(p, l, author, id,
	    (const char *)msg->data, msg->len, NULL, &head));
}

/* copy_head - the list's DKIM field for msg into head (bh as author_head's) */
static int
copy_head(struct pipeline *p, const struct list_cfg *l, const char *msg,
    size_t len, const unsigned char *bh, struct buf *head)
{
	unsigned char seed[DKIM_SEED_LEN];
	char selector[SELECTOR_MAX];
	int rc;

	if (listkey_get(p->st, l->name, selector, sizeof(selector), seed) < 0) {
		log_err("%s sign: list=%s no signing key: %s", p->qid, l->name, store_errmsg(p->st));
		return -1;
	}
	rc = dkim_sign_bh(seed, p->cfg->hostname, selector, sign_time(p), msg,
	    len, bh, head);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* copy_bh - sign_copy, with the body's hash known (bh, NULL: computed) */
static int
copy_bh(struct pipeline *p, const struct list_cfg *l, struct buf *msg,
    const unsigned char *bh)
{
	struct buf head;

	buf_init(&head, 0);
	return prepend_signed(msg, &head, copy_head(p, l,
	    (const char *)msg->data, msg->len, bh, &head));
}

/* sign_copy - prepend the list's DKIM signature to msg */
int
sign_copy(struct pipeline *p, const struct list_cfg *l, struct buf *msg)
{
	return copy_bh(p, l, msg, NULL);
}

/*
 * sign_both - the author's signature (author, id as sign_author_as's),
 * then the list's DKIM signature, over one hash of the body: a field
 * prepended leaves the body as it was, and hashing a big post's body twice was a
 * third of its signing in the queue manager's loop (#15). The DKIM field
 * is made over the header alone (the author's field, then the copy's),
 * and the copy is copied once, behind both: O(size).
 */
int
sign_both(struct pipeline *p, const struct list_cfg *l, const char *author,
    const struct ident *id, struct buf *msg)
{
	unsigned char bh[crypto_hash_sha256_BYTES];
	struct buf ah, view, dh;
	struct hdr h;
	size_t hlen;
	int rc = -1;

	if (hdr_parse((const char *)msg->data, msg->len, &h) < 0)
		return -1;
	hlen = h.body_off;
	dkim_body_hash((const char *)msg->data + hlen, msg->len - hlen, bh);
	hdr_free(&h);
	buf_init(&ah, 0);
	buf_init(&view, 0);
	buf_init(&dh, 0);
	if (author_head(p, l, author, id, (const char *)msg->data, msg->len,
	    bh, &ah) == 0 && buf_append(&view, ah.data, ah.len) == 0 &&
	    buf_append(&view, msg->data, hlen) == 0 &&
	    copy_head(p, l, (const char *)view.data, view.len, bh, &dh) == 0 &&
	    buf_reserve(&dh, ah.len + msg->len) == 0 &&
	    buf_append(&dh, ah.data, ah.len) == 0 &&
	    buf_append(&dh, msg->data, msg->len) == 0) {
		buf_free(msg);
		*msg = dh;
		buf_init(&dh, 0);
		rc = 0;
	}
	buf_free(&ah);
	buf_free(&view);
	buf_free(&dh);
	return rc;
}

/*
 * sign_pseudonym_uid - "NAME via LIST <LIST+p-HANDLE@host>", the From of
 * the pseudonym's posts: the words [from-author]'s, in UTF-8; no angle
 * bracket in them, as the address is the UID's <...>. Nothing reads the
 * words back: a key is found by its handle.
 */
int
sign_pseudonym_uid(const struct config *cfg, const struct list_cfg *l,
    const char *name, const char *handle, char *uid, size_t n)
{
	char via[400];
	int k;

	fromname_author(cfg, l, name, via, sizeof(via));
	for (char *c = via; *c; c++)
		if (*c == '<' || *c == '>')
			*c = ' ';
	k = snprintf(uid, n, "%s <%s+p-%s@%s>", via, l->name, handle,
	    cfg->hostname);
	return k < 0 || (size_t)k >= n ? -1 : 0;
}

/* pseud_uid - the UID of the pseudonym of id */
static int
pseud_uid(const struct pipeline *p, const struct list_cfg *l,
    const struct ident *id, char *uid, size_t n)
{
	return sign_pseudonym_uid(p->cfg, l, id->display, id->handle, uid, n);
}

/*
 * key_time - when a new key or UID is dated: now, or the signature it
 * makes now if that is earlier (a copy's Date may be a second, or a
 * hold, before now), since a signature older than its key is invalid
 */
static long long
key_time(const struct pipeline *p, const struct ident *id)
{
	long long signs = id->date ? id->date : sign_time(p);

	return signs < p->now ? signs : p->now;
}

/*
 * pseud_make - a new key for the pseudonym, sealed into the store; -1 a
 * store error, SIGN_KEY_BROKEN librnp could not make it
 */
static int
pseud_make(struct pipeline *p, const struct list_cfg *l,
    const struct ident *id, struct openpgp_secret **key)
{
	char uid[600], fpr[OPENPGP_FPR_SIZE], why[OPENPGP_WHY_SIZE];
	int rc;

	if (pseud_uid(p, l, id, uid, sizeof(uid)) < 0)
		return -1;
	if (openpgp_pseud_generate(uid, (uint32_t)key_time(p, id), key, why,
	    sizeof(why)) != OK) {
		log_err("%s sign: list=%s pseudonym key: %s", p->qid, l->name,
		    why);
		return SIGN_KEY_BROKEN;
	}
	if (openpgp_list_fingerprint(*key, fpr) != OK)
		rc = STORE_ERR;
	else
		rc = store_pseudonym_key_put(p->st, l->name, id->handle, fpr,
		    (*key)->data, (*key)->len, p->now);
	if (rc == STORE_OK) {
		/* no fpr=: it is public (Autocrypt), so on this queue id
		 * it would tie the pseudonym to its first post's client */
		log_info("%s sign: list=%s pseudonym key made", p->qid,
		    l->name);
		return 0;
	}
	openpgp_secret_free(*key);
	*key = NULL;
	return -1;
}

/*
 * pseud_renamed - a renamed pseudonym keeps its key under its new name:
 * the UID follows the pseudonym (its email, the handle's address, stays);
 * -1 a store error, SIGN_KEY_BROKEN librnp could not rename it (a retry
 * would fail the same way)
 */
static int
pseud_renamed(struct pipeline *p, const struct list_cfg *l,
    const struct ident *id, struct openpgp_secret **key)
{
	struct openpgp_secret *nk;
	char uid[600], why[OPENPGP_WHY_SIZE];

	if (pseud_uid(p, l, id, uid, sizeof(uid)) < 0)
		return -1;
	if (openpgp_pseud_rename(*key, uid, (uint32_t)key_time(p, id), &nk,
	    why, sizeof(why)) != OK) {
		log_err("%s sign: list=%s pseudonym key: %s", p->qid, l->name,
		    why);
		return SIGN_KEY_BROKEN;
	}
	if (nk == NULL)
		return 0;
	if (store_pseudonym_key_update(p->st, l->name, id->handle, nk->data,
	    nk->len) != STORE_OK) {
		openpgp_secret_free(nk);
		return -1;
	}
	log_info("%s sign: list=%s pseudonym key renamed", p->qid, l->name);
	openpgp_secret_free(*key);
	*key = nk;
	return 0;
}

/*
 * pseud_certify - the list key certifies the pseudonym key's UID when it
 * does not yet (a new key, a renamed one, one made before this version),
 * so a member who trusts the list key can tell the key is the list's;
 * without sq (openpgp_sq.c) the key goes on uncertified, as before
 */
static void
pseud_certify(struct pipeline *p, const struct list_cfg *l,
    const struct ident *id, struct openpgp_secret **key)
{
	struct openpgp_secret *list, *nk;
	char why[OPENPGP_WHY_SIZE];
	enum result r;

	if (!openpgp_sq_available() || openpgp_pseud_certified(*key) != 0)
		return;
	if (listpgp_get(p->st, l->name, p->cfg->hostname, &list) < 0) {
		log_warn("%s sign: list=%s pseudonym key not certified: %s",
		    p->qid, l->name, store_errmsg(p->st));
		return;
	}
	r = openpgp_pseud_certify(list, *key, (uint32_t)p->now, &nk, why,
	    sizeof(why));
	openpgp_secret_free(list);
	if (r != OK) {
		log_warn("%s sign: list=%s pseudonym key not certified: %s",
		    p->qid, l->name, why);
		return;
	}
	if (store_pseudonym_key_update(p->st, l->name, id->handle, nk->data,
	    nk->len) != STORE_OK) {
		log_warn("%s sign: list=%s pseudonym key not certified: %s",
		    p->qid, l->name, store_errmsg(p->st));
		openpgp_secret_free(nk);
		return;
	}
	log_info("%s sign: list=%s pseudonym key certified by the list key",
	    p->qid, l->name);
	openpgp_secret_free(*key);
	*key = nk;
}

/*
 * sign_pseudonym_key - the OpenPGP key of the pseudonym a copy goes out
 * under (made the first time), for the caller to free with
 * openpgp_secret_free; -1 on errors (the store's cause), SIGN_KEY_BROKEN
 * when librnp cannot make or rename it. The encrypted copies' inner
 * signature is made with the same key.
 */
int
sign_pseudonym_key(struct pipeline *p, const struct list_cfg *l,
    const struct ident *id, struct openpgp_secret **key)
{
	struct buf b;
	int rc, k = 0;

	*key = NULL;
	if (id->mode != ID_PSEUDONYM || !*id->handle)
		return -1;
	buf_init(&b, 0);
	rc = store_pseudonym_key_get(p->st, l->name, id->handle, &b);
	if (rc == STORE_OK && openpgp_secret_load(b.data, b.len, key) != OK)
		rc = STORE_ERR;
	if (b.data)
		sodium_memzero(b.data, b.cap);
	buf_free(&b);
	if (rc == STORE_NOTFOUND)
		k = pseud_make(p, l, id, key);
	else if (rc == STORE_OK)
		k = pseud_renamed(p, l, id, key);
	if (rc != STORE_ERR && k == 0) {
		pseud_certify(p, l, id, key);
		return 0;
	}
	openpgp_secret_free(*key);
	*key = NULL;
	return k == SIGN_KEY_BROKEN ? SIGN_KEY_BROKEN : -1;
}

/*
 * sign_pseudonym - a pseudonymous copy becomes multipart/signed by the
 * pseudonym's key (other copies are left as they are), dated as its Date:
 * -1 a store error, SIGN_KEY_BROKEN the key cannot be made or used
 */
int
sign_pseudonym(struct pipeline *p, const struct list_cfg *l,
    const struct ident *id, struct buf *msg)
{
	struct openpgp_secret *key;
	char addr[400], why[OPENPGP_WHY_SIZE];
	enum result r;
	int k;

	if (id->mode != ID_PSEUDONYM || !*id->handle)
		return 0;
	if (snprintf(addr, sizeof(addr), "%s+p-%s@%s", l->name, id->handle,
	    p->cfg->hostname) >= (int)sizeof(addr))
		return -1;
	if ((k = sign_pseudonym_key(p, l, id, &key)) < 0)
		return k;
	r = pgpsign_wrap(key, addr, id->date ? id->date : sign_time(p), msg,
	    why, sizeof(why));
	openpgp_secret_free(key);
	if (r != OK)
		log_err("%s sign: list=%s OpenPGP signature: %s", p->qid,
		    l->name, why);
	return r == OK ? 0 : r == PERMFAIL ? SIGN_KEY_BROKEN : -1;
}

/*
 * sign_pseudonym_public - the public key of the pseudonym called name on
 * l, armoured (the minimal key of its Autocrypt header), and its
 * fingerprint: 1 found, 0 no pseudonym of that name has posted (a key is
 * made at the first post, never on request), -1 store or key errors
 */
int
sign_pseudonym_public(struct store *st, const struct list_cfg *l,
    const char *name, struct buf *armored, char fpr[OPENPGP_FPR_SIZE])
{
	char why[OPENPGP_WHY_SIZE];
	struct openpgp_secret *key;
	int rc;

	if ((rc = sign_pseudonym_key_by_name(st, l, name, &key)) <= 0)
		return rc;
	if (openpgp_list_fingerprint(key, fpr) != OK ||
	    openpgp_pseud_minimal(key, 1, armored, why, sizeof(why)) != OK)
		rc = -1;
	openpgp_secret_free(key);
	return rc;
}

/* copy_handle - HANDLE of a copy from LIST+p-HANDLE@host (a pseudonym's) */
static int
copy_handle(const struct list_cfg *l, const char *host, const void *copy,
    size_t len, char *handle, size_t n)
{
	char want[300], *from, *at, *end;
	struct hdr h;
	int rc = 0;

	if (hdr_parse(copy, len, &h) < 0)
		return -1;
	from = hdr_get_value(&h, "From");
	hdr_free(&h);
	if (from == NULL)
		return 0;
	(void)snprintf(want, sizeof(want), "<%s+p-", l->name);
	if ((at = strcasestr(from, want)) != NULL) {
		at += strlen(want);
		end = strchr(at, '@');
		if (end && (size_t)(end - at) < n && strncasecmp(end + 1, host,
		    strlen(host)) == 0 && end[1 + strlen(host)] == '>') {
			(void)snprintf(handle, n, "%.*s", (int)(end - at), at);
			rc = 1;
		}
	}
	free(from);
	return rc;
}

/*
 * sign_pseudonym_key_of - the key of the pseudonym a finished copy (as in
 * the spool: its From is LIST+p-HANDLE@host) went out under, for the inner
 * signature of its encrypted copies: 1 *key (openpgp_secret_free it) and
 * the pseudonym's address in addr (if not NULL), 0 not a pseudonym's copy
 * or no key, -1 store or key errors
 */
int
sign_pseudonym_key_of(struct store *st, const struct list_cfg *l,
    const char *host, const void *copy, size_t len,
    struct openpgp_secret **key, char *addr, size_t n)
{
	char handle[64];
	int rc;

	*key = NULL;
	if ((rc = copy_handle(l, host, copy, len, handle, sizeof(handle))) <= 0)
		return rc;
	if (addr != NULL)
		(void)snprintf(addr, n, "%s+p-%s@%s", l->name, handle, host);
	return sign_pseudonym_key_by_handle(st, l, handle, key);
}

/*
 * key_loaded - a pseudonym key as the store answered it (rc, the opened
 * bytes in b) made a secret: 1 *key, 0 none, -1 error; b wiped and freed
 */
static int
key_loaded(int rc, struct buf *b, struct openpgp_secret **key)
{
	if (rc == STORE_OK && openpgp_secret_load(b->data, b->len, key) != OK)
		rc = STORE_ERR;
	if (b->data)
		sodium_memzero(b->data, b->cap);
	buf_free(b);
	return rc == STORE_OK ? 1 : rc == STORE_NOTFOUND ? 0 : -1;
}

/*
 * sign_pseudonym_key_by_handle - the key of the pseudonym LIST+p-HANDLE@
 * reaches: 1 *key (openpgp_secret_free it), 0 none (an anonymous post's
 * handle, or no post yet), -1 store or key errors
 */
int
sign_pseudonym_key_by_handle(struct store *st, const struct list_cfg *l,
    const char *handle, struct openpgp_secret **key)
{
	struct buf b;

	*key = NULL;
	buf_init(&b, 0);
	return key_loaded(store_pseudonym_key_get(st, l->name, handle, &b), &b,
	    key);
}

/*
 * sign_pseudonym_key_by_name - the key of the pseudonym called name on l:
 * 1 *key (openpgp_secret_free it), 0 none (no such pseudonym, or it has
 * not posted: a key is made at the first post), -1 store or key errors
 */
int
sign_pseudonym_key_by_name(struct store *st, const struct list_cfg *l,
    const char *name, struct openpgp_secret **key)
{
	char sk[SKELETON_MAX];
	struct buf b;

	*key = NULL;
	/* a name that cannot be a pseudonym is nobody's */
	if (pseudonym_key(name, sk, sizeof(sk)) < 0)
		return 0;
	buf_init(&b, 0);
	return key_loaded(store_pseudonym_key_by_name(st, l->name, sk, &b), &b,
	    key);
}
