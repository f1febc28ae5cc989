/*
 * store_keys.c - the list's DKIM signing keys (secret half sealed) and the
 * signed posts already seen (replays).
 */
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
	sqlite3_stmt *s = st_prep(st, "SELECT selector, seed FROM list_keys WHERE list = ?1 AND active = 1 "
	    "ORDER BY id DESC LIMIT 1");
	struct st_place pl;
	struct buf b;
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		st_done(st, s);
		return rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	}
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
	sqlite3_stmt *s = st_prep(st, "SELECT selector, pk, active, created FROM list_keys WHERE list = ?1 "
	    "ORDER BY id DESC");
	int n = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 1) == 32)
			fn((const char *)sqlite3_column_text(s, 0), sqlite3_column_blob(s, 1),
			    sqlite3_column_int(s, 2), sqlite3_column_int64(s, 3), arg);
		n++;
	}
	st_done(st, s);
	return n;
}

/* store_signature_seen - record a signed post; 1 if it was seen before (a replay) */
int
store_signature_seen(struct store *st, const char *list, const char *sig)
{
	sqlite3_stmt *s = st_prep(st, "INSERT INTO seen_signatures (list, sig, at) VALUES (?1, ?2, ?3)");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, sig, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)time(NULL));
	rc = st_step_done(st, s);
	return rc == STORE_EXISTS ? 1 : rc == STORE_OK ? 0 : STORE_ERR;
}
