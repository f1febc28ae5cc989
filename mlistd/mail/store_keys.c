/*
 * store_keys.c - the list's DKIM signing keys (secret half sealed) and the
 * signed posts already seen (replays); the OpenPGP keys of the list (secret,
 * sealed) and of members (public, minimal, sealed, found by a keyed hash of
 * the fingerprint), with the one key that may wait to replace a member's.
 */
#include <ctype.h>

#include "store_int.h"

/* store_key_add - a new active key for a list; the previous ones stay, inactive */
int
store_key_add(struct store *st, const char *list, const char *selector, const unsigned char *seed,
    size_t seedlen, const unsigned char *pk, size_t pklen)
{
	sqlite3_stmt *s;
	int rc;

	/* a savepoint, not BEGIN: the queue manager may call this inside its transaction */
	if (st_exec(st, "SAVEPOINT key_add") < 0)
		return STORE_ERR;
	if ((s = st_prep(st, "UPDATE list_keys SET active = 0 WHERE list = ?1")) == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if (st_step_done(st, s) != STORE_OK)
		goto fail;
	if ((s = st_prep(st, "INSERT INTO list_keys (list, selector, seed, pk, created) VALUES (?1, ?2, ?3, ?4, ?5)")) == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, selector, -1, SQLITE_TRANSIENT);
	{
		struct st_place pl;

		st_place(&pl, "list_keys.seed");
		st_place_text(&pl, selector);
		if (st_bind_sealed_bytes(st, s, 3, seed, seedlen, &pl) < 0) {
			st_done(st, s);
			goto fail;
		}
	}
	sqlite3_bind_blob(s, 4, pk, (int)pklen, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)time(NULL));
	if ((rc = st_step_done(st, s)) != STORE_OK)
		goto fail;
	if (st_exec(st, "RELEASE key_add") < 0)
		goto fail;
	return STORE_OK;
fail:
	(void)st_exec(st, "ROLLBACK TO key_add");
	(void)st_exec(st, "RELEASE key_add");
	return STORE_ERR;
}

/* store_key_count - how many keys a list has had */
int
store_key_count(struct store *st, const char *list)
{
	return (int)st_scalar(st, "SELECT count(*) FROM list_keys WHERE list = ?1", list, NULL, 0);
}

/* store_key_active - the list's signing key; seed decrypted into seed[seedlen] */
int
store_key_active(struct store *st, const char *list, char *selector, size_t sellen, unsigned char *seed,
    size_t seedlen)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT selector, seed FROM "
	    "list_keys WHERE list = ?1 AND active = 1 "
	    "ORDER BY id DESC LIMIT 1", "t", list);
	struct st_place pl;
	struct buf b;
	int rc;

	if ((rc = st_step_row(st, s)) != STORE_OK)
		return rc;
	snprintf(selector, sellen, "%s", (const char *)sqlite3_column_text(s, 0));
	buf_init(&b, 0);
	st_place_cols(&pl, s, "list_keys.seed", 0, 1);
	rc = st_opened_bytes(st, s, 1, &b, &pl);
	if (rc == 0 && b.len == seedlen)
		memcpy(seed, b.data, seedlen);
	else {
		st_fail(st, "the list's signing key does not open");
		rc = -1;
	}
	sodium_memzero(b.data, b.cap);
	buf_free(&b);
	st_done(st, s);
	return rc == 0 ? STORE_OK : STORE_ERR;
}

/* store_keys_each - every key of a list, newest first: (selector, pk, active, created) */
int
store_keys_each(struct store *st, const char *list, store_key_fn fn, void *arg)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT selector, pk, active, "
	    "created FROM list_keys WHERE list = ?1 "
	    "ORDER BY id DESC", "t", list);
	int n = 0, rc;

	if (!s)
		return STORE_ERR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 1) == 32)
			fn((const char *)sqlite3_column_text(s, 0), sqlite3_column_blob(s, 1),
			    sqlite3_column_int(s, 2), sqlite3_column_int64(s, 3), arg);
		n++;
	}
	st_done(st, s);
	/* a failed step is not "no more keys" */
	return rc == SQLITE_DONE ? n : st_db_fail(st);
}

/* store_signature_seen - record a signed post; 1 if it was seen before (a replay) */
int
store_signature_seen(struct store *st, const char *list, const char *sig)
{
	sqlite3_stmt *s = st_prep_bind(st, "INSERT INTO seen_signatures (list, "
	    "sig, at) VALUES (?1, ?2, ?3)",
	    "ttl", list, sig, (long long)time(NULL));
	int rc;

	if (!s)
		return STORE_ERR;
	rc = st_step_done(st, s);
	return rc == STORE_EXISTS ? 1 : rc == STORE_OK ? 0 : STORE_ERR;
}

/* store_list_pgp_put - the list's OpenPGP secret key, sealed; replaces any */
int
store_list_pgp_put(struct store *st, const char *list, const void *secret,
    size_t len, const char *fpr)
{
	sqlite3_stmt *s = st_prep(st, "INSERT OR REPLACE INTO list_pgp (list, "
	    "secret, fpr, created) VALUES (?1, ?2, ?3, ?4)");
	struct st_place pl;

	if (!s)
		return STORE_ERR;
	st_place(&pl, "list_pgp.secret");
	st_place_text(&pl, list);
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if (st_bind_sealed_blob(st, s, 2, secret, len, &pl) < 0) {
		st_done(st, s);
		st_fail(st, "the list's OpenPGP key could not be sealed");
		return STORE_ERR;
	}
	sqlite3_bind_text(s, 3, fpr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
	return st_step_done(st, s) == STORE_OK ? 0 : STORE_ERR;
}

/* store_list_pgp_get - the list's OpenPGP secret key, opened into secret */
int
store_list_pgp_get(struct store *st, const char *list, struct buf *secret,
    char fpr[OPENPGP_FPR_SIZE])
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT secret, fpr FROM list_pgp "
	    "WHERE list = ?1", "t", list);
	struct st_place pl;
	int rc;

	if ((rc = st_step_row(st, s)) != STORE_OK)
		return rc == STORE_NOTFOUND ? 0 : STORE_ERR;
	st_place(&pl, "list_pgp.secret");
	st_place_text(&pl, list);
	if (st_opened_blob(st, s, 0, secret, &pl) != 1) {
		st_done(st, s);
		return STORE_ERR;
	}
	snprintf(fpr, OPENPGP_FPR_SIZE, "%s",
	    (const char *)sqlite3_column_text(s, 1));
	st_done(st, s);
	return 1;
}

/*
 * fpr_norm - a fingerprint as 40 upper-case hex digits (spaces dropped), so
 * that one key has one look-up hash however it was written; -1 not one
 */
static int
fpr_norm(const char *in, char out[OPENPGP_FPR_SIZE])
{
	size_t n = 0;

	for (; *in; in++) {
		if (*in == ' ')
			continue;
		if (!isxdigit((unsigned char)*in) || n == OPENPGP_FPR_SIZE - 1)
			return -1;
		out[n++] = (char)toupper((unsigned char)*in);
	}
	out[n] = 0;
	return n == OPENPGP_FPR_SIZE - 1 ? 0 : -1;
}

/*
 * bind_fpr - the keyed hash of a fingerprint, in its own domain ("pgp-fpr:"),
 * so it can never equal an address's look-up hash; 0, STORE_BADVALUE (not
 * a fingerprint) or STORE_ERR (it could not be bound)
 */
static int
bind_fpr(struct store *st, sqlite3_stmt *s, int col, const char *list,
    const char *fpr)
{
	char f[OPENPGP_FPR_SIZE];

	if (fpr_norm(fpr, f) < 0) {
		st_fail(st, "not an OpenPGP v4 fingerprint");
		return STORE_BADVALUE;
	}
	return st_bind_tagged(st, s, col, list, "pgp-fpr", f);
}

/*
 * store_member_pgp_put - a member's minimal public key, sealed, with the hash
 * of its fingerprint and its expiry (the expiry reminders run on it)
 */
int
store_member_pgp_put(struct store *st, const char *list, const char *addr,
    const void *key, size_t len, const char *fpr, long long expires)
{
	sqlite3_stmt *s = st_prep_member(st, "UPDATE members SET pgp_key = ?3, "
	    "pgp_fpr = ?4, enc_expires = ?5, enc_warned = 0, enc_pk = NULL "
	    "WHERE list = ?1 AND addr_hash = ?2", list, addr);
	struct st_place pl;
	int rc;

	if (!s)
		return STORE_ERR;
	st_place(&pl, "members.pgp_key");
	st_place_hash(st, &pl, list, addr);
	if (st_bind_sealed_blob(st, s, 3, key, len, &pl) < 0 ||
	    bind_fpr(st, s, 4, list, fpr) < 0) {
		st_done(st, s);
		if (!st->failed)
			st_fail(st, "a member's OpenPGP key could not be "
			    "sealed");
		return STORE_ERR;
	}
	if (expires > 0)
		sqlite3_bind_int64(s, 5, (sqlite3_int64)expires);
	if ((rc = st_step_done(st, s)) != STORE_OK)
		return rc == STORE_EXISTS ? STORE_EXISTS : STORE_ERR;
	return sqlite3_changes(st->db) ? 0 : STORE_NOTFOUND;
}

/*
 * pgp_row - the one row s selects: a sealed key at column 0 (its place
 * `where`), a time at column 1 (NULL: 0); 1, 0 no row, or STORE_ERR
 */
static int
pgp_row(struct store *st, sqlite3_stmt *s, const char *where,
    const char *list, const char *addr, struct buf *key, long long *when)
{
	struct st_place pl;
	int rc;

	if ((rc = st_step_row(st, s)) != STORE_OK)
		return rc == STORE_NOTFOUND ? 0 : STORE_ERR;
	st_place(&pl, where);
	st_place_hash(st, &pl, list, addr);
	if (st_opened_blob(st, s, 0, key, &pl) != 1) {
		st_done(st, s);
		return STORE_ERR;
	}
	if (when)
		*when = sqlite3_column_int64(s, 1);
	st_done(st, s);
	return 1;
}

/* store_member_pgp_get - a member's key, opened into key; 0: they have none */
int
store_member_pgp_get(struct store *st, const char *list, const char *addr,
    struct buf *key, long long *expires)
{
	sqlite3_stmt *s = st_prep_member(st, "SELECT pgp_key, enc_expires FROM "
	    "members WHERE list = ?1 AND addr_hash = ?2 AND pgp_key IS NOT NULL",
	    list, addr);

	return pgp_row(st, s, "members.pgp_key", list, addr, key, expires);
}

/* store_member_pgp_clear - the member has no OpenPGP key any more */
int
store_member_pgp_clear(struct store *st, const char *list, const char *addr)
{
	sqlite3_stmt *s = st_prep_member(st, "UPDATE members SET pgp_key = NULL, "
	    "pgp_fpr = NULL, enc_expires = NULL, enc_warned = 0, enc_pk = NULL "
	    "WHERE list = ?1 AND addr_hash = ?2", list, addr);

	if (!s)
		return STORE_ERR;
	return st_step_done(st, s) == STORE_OK ? 0 : STORE_ERR;
}

/*
 * store_member_pgp_next_put - a key waiting to replace the member's own
 * until due (sealed like pgp_key, to its own column); one a member: it
 * replaces a waiting one
 */
int
store_member_pgp_next_put(struct store *st, const char *list,
    const char *addr, const void *key, size_t len, long long due)
{
	sqlite3_stmt *s = st_prep_member(st, "UPDATE members SET "
	    "pgp_next = ?3, pgp_next_due = ?4 WHERE list = ?1 AND "
	    "addr_hash = ?2", list, addr);
	struct st_place pl;

	if (!s)
		return STORE_ERR;
	st_place(&pl, "members.pgp_next");
	st_place_hash(st, &pl, list, addr);
	if (st_bind_sealed_blob(st, s, 3, key, len, &pl) < 0) {
		st_done(st, s);
		if (!st->failed)
			st_fail(st, "a waiting OpenPGP key could not be "
			    "sealed");
		return STORE_ERR;
	}
	sqlite3_bind_int64(s, 4, (sqlite3_int64)due);
	if (st_step_done(st, s) != STORE_OK)
		return STORE_ERR;
	return sqlite3_changes(st->db) ? 0 : STORE_NOTFOUND;
}

/* store_member_pgp_next_get - the waiting key, opened; 1, 0 none, STORE_ERR */
int
store_member_pgp_next_get(struct store *st, const char *list,
    const char *addr, struct buf *key, long long *due)
{
	sqlite3_stmt *s = st_prep_member(st, "SELECT pgp_next, pgp_next_due "
	    "FROM members WHERE list = ?1 AND addr_hash = ?2 AND "
	    "pgp_next IS NOT NULL", list, addr);

	return pgp_row(st, s, "members.pgp_next", list, addr, key, due);
}

/* store_member_pgp_next_clear - no key waits now: 1 one did, 0, STORE_ERR */
int
store_member_pgp_next_clear(struct store *st, const char *list,
    const char *addr)
{
	sqlite3_stmt *s = st_prep_member(st, "UPDATE members SET "
	    "pgp_next = NULL, pgp_next_due = NULL WHERE list = ?1 AND "
	    "addr_hash = ?2 AND pgp_next IS NOT NULL", list, addr);

	if (!s)
		return STORE_ERR;
	if (st_step_done(st, s) != STORE_OK)
		return STORE_ERR;
	return sqlite3_changes(st->db) ? 1 : 0;
}

/*
 * store_member_pgp_next_due - the members of list whose waiting key is due
 * by now, at most max: their addresses (new strings) into addrs. The count
 * or STORE_ERR.
 */
int
store_member_pgp_next_due(struct store *st, const char *list, long long now,
    char **addrs, int max)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT addr, list, addr_hash FROM "
	    "members WHERE list = ?1 AND pgp_next IS NOT NULL"
	    " AND pgp_next_due <= ?2 ORDER BY pgp_next_due LIMIT ?3",
	    "tli", list, now, max);
	struct st_place pl;
	int rc = SQLITE_DONE, n = 0;

	if (!s)
		return STORE_ERR;
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		st_place_cols(&pl, s, "members.addr", 1, 2);
		if ((addrs[n] = st_column_opened(st, s, 0, &pl)) == NULL) {
			rc = SQLITE_ERROR;
			break;
		}
		n++;
	}
	st_done(st, s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		while (n > 0)
			free(addrs[--n]);
		return STORE_ERR;
	}
	return n;
}

/* store_member_pgp_next_any - does any member of list have a key due by now? */
int
store_member_pgp_next_any(struct store *st, const char *list, long long now)
{
	char t[24];

	snprintf(t, sizeof(t), "%lld", now);
	return st_scalar(st, "SELECT EXISTS (SELECT 1 FROM members WHERE "
	    "list = ?1 AND pgp_next IS NOT NULL AND pgp_next_due <= CAST(?2 AS "
	    "INTEGER))", list, t, 0) > 0;
}

/* store_pgp_fpr_member - the member whose key has this fingerprint */
int
store_pgp_fpr_member(struct store *st, const char *list, const char *fpr,
    char **addr)
{
	sqlite3_stmt *s = st_prep(st, "SELECT addr, list, addr_hash FROM "
	    "members WHERE list = ?1 AND pgp_fpr = ?2");
	int rc;

	*addr = NULL;
	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if ((rc = bind_fpr(st, s, 2, list, fpr)) < 0) {
		st_done(st, s);
		/* not a fingerprint: nobody's; not bound: an error */
		return rc == STORE_BADVALUE ? 0 : STORE_ERR;
	}
	*addr = st_one_opened(st, s, "members.addr", 1, 2);
	if (*addr == NULL)
		return store_failed(st) ? STORE_ERR : 0;
	return 1;
}

/*
 * store_fail_cause - a caller of the store (listpgp.c) records why a step
 * built on the store failed, for store_errmsg like the store's own causes
 */
void
store_fail_cause(struct store *st, const char *cause)
{
	st_fail(st, cause);
}
