/*
 * audit.c - every leadership action is appended to a per-list log. Each
 * entry's hash covers the list, its number, time, actor (a role, never a
 * person), action, detail and the previous entry's hash; the hash is
 * signed with the list's active Ed25519 key (the selector is kept, so
 * rotated keys still verify old entries). Editing, removing or reordering
 * an entry breaks the chain or a signature, and 'mlistctl audit LIST
 * --verify' says where. The log lives in the same database as the state
 * it describes; its value is that nobody without the master key can alter
 * it unseen, and that members can be shown it.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "listkey.h"

/* audit_entry_hash - SHA-256 over the entry's fields, each length-prefixed */
int
audit_entry_hash(const char *list, const struct audit_entry *e, unsigned char out[32])
{
	crypto_hash_sha256_state st;
	char num[64];
	const char *f[5];
	int n;

	n = snprintf(num, sizeof(num), "%lld %lld", e->seq, e->at);
	f[0] = list;
	f[1] = num;
	f[2] = e->actor;
	f[3] = e->action;
	f[4] = e->detail;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)"mlistd-audit-v1", 15);
	for (int i = 0; i < 5; i++) {
		unsigned char len[4];
		size_t l = strlen(f[i]);

		len[0] = (unsigned char)(l >> 24);
		len[1] = (unsigned char)(l >> 16);
		len[2] = (unsigned char)(l >> 8);
		len[3] = (unsigned char)l;
		crypto_hash_sha256_update(&st, len, 4);
		crypto_hash_sha256_update(&st, (const unsigned char *)f[i], l);
	}
	crypto_hash_sha256_update(&st, e->prev, 32);
	(void)n;
	return crypto_hash_sha256_final(&st, out);
}

/* audit_append - one entry at the end of the list's log (inside the caller's transaction, if any) */
int
audit_append(struct store *st, const char *list, long long now, const char *actor, const char *action,
    const char *detail)
{
	unsigned char seed[DKIM_SEED_LEN], pk[32], sk[64];
	struct audit_entry e;

	memset(&e, 0, sizeof(e));
	if (store_audit_last(st, list, &e.seq, e.prev) != STORE_OK)
		return -1;
	e.seq++;
	e.at = now;
	snprintf(e.actor, sizeof(e.actor), "%s", actor);
	snprintf(e.action, sizeof(e.action), "%s", action);
	snprintf(e.detail, sizeof(e.detail), "%s", detail);
	if (listkey_get(st, list, e.selector, sizeof(e.selector), seed) < 0)
		return -1;
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	audit_entry_hash(list, &e, e.hash);
	crypto_sign_detached(e.sig, NULL, e.hash, 32, sk);
	sodium_memzero(sk, sizeof(sk));
	return store_audit_add(st, list, &e) == STORE_OK ? 0 : -1;
}

struct keyset {
	char		 sel[16][96];
	unsigned char	 pk[16][32];
	int		 n;
};

static void
collect_key(const char *selector, const unsigned char *pk, int active, long long created, void *arg)
{
	struct keyset *k = arg;

	(void)active;
	(void)created;
	if (k->n < 16) {
		snprintf(k->sel[k->n], sizeof(k->sel[0]), "%s", selector);
		memcpy(k->pk[k->n++], pk, 32);
	}
}

struct walk {
	const char	*list;
	struct keyset	*keys;
	struct audit_check *c;
	unsigned char	 prev[32];
	long long	 expect;
};

/* check_one - the chain, the numbering, the hash and the signature of one entry */
static void
check_one(const struct audit_entry *e, void *arg)
{
	struct walk *w = arg;
	unsigned char h[32];
	int k;

	w->c->entries++;
	if (w->c->bad_seq)
		return;
	if (e->seq != w->expect)
		snprintf(w->c->why, sizeof(w->c->why), "entry %lld is missing (the log jumps to %lld)", w->expect, e->seq);
	else if (memcmp(e->prev, w->prev, 32) != 0)
		snprintf(w->c->why, sizeof(w->c->why), "entry %lld does not follow the one before it", e->seq);
	else if (audit_entry_hash(w->list, e, h), memcmp(h, e->hash, 32) != 0)
		snprintf(w->c->why, sizeof(w->c->why), "entry %lld was changed after it was written", e->seq);
	else {
		for (k = 0; k < w->keys->n && strcmp(w->keys->sel[k], e->selector); k++)
			;
		if (k == w->keys->n)
			snprintf(w->c->why, sizeof(w->c->why), "entry %lld is signed by an unknown key", e->seq);
		else if (crypto_sign_verify_detached(e->sig, e->hash, 32, w->keys->pk[k]) != 0)
			snprintf(w->c->why, sizeof(w->c->why), "entry %lld has a bad signature", e->seq);
	}
	if (w->c->why[0]) {
		w->c->bad_seq = e->seq;
		return;
	}
	memcpy(w->prev, e->hash, 32);
	w->expect++;
}

/* audit_verify - 0 if the whole log holds together; else -1 with the first broken entry in c */
int
audit_verify(struct store *st, const char *list, struct audit_check *c)
{
	struct keyset keys;
	struct walk w;

	memset(c, 0, sizeof(*c));
	memset(&keys, 0, sizeof(keys));
	memset(&w, 0, sizeof(w));
	store_keys_each(st, list, collect_key, &keys);
	w.list = list;
	w.keys = &keys;
	w.c = c;
	w.expect = 1;
	if (store_audit_each(st, list, check_one, &w) < 0) {
		snprintf(c->why, sizeof(c->why), "the log cannot be read");
		return -1;
	}
	return c->bad_seq ? -1 : 0;
}
