/*
 * store_tokens.c - single-use confirmation tokens (posts, keys, moderation,
 * quorum votes). Tokens are stored hashed: a copy of the database confirms
 * nothing, and a spent token keeps only its hash.
 */
#include "store_int.h"

/* token_hash - tokens are stored hashed: a copy of the database confirms nothing */
static void
bind_token(struct store *st, sqlite3_stmt *s, int col, const char *token)
{
	unsigned char h[KEYS_HASH_LEN];

	keys_addr_hash(st->keys, "confirm", token, h);
	sqlite3_bind_blob(s, col, h, sizeof(h), SQLITE_TRANSIENT);
}

/*
 * store_confirm_add - a single-use token of a kind: "post" (out_id is a held
 * copy, bound is its hash) or "key" (bound is the public key to register for addr)
 */
int
store_confirm_add(struct store *st, const char *kind, const char *token, const char *list,
    const char *out_id, const unsigned char *bound, size_t blen, const char *addr, long long expires)
{
	sqlite3_stmt *s = st_prep(st, "INSERT INTO confirmations (token_hash, list, out_id, post_hash, poster_hash, "
	    "expires, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");

	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, out_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 4, bound, (int)blen, SQLITE_TRANSIENT);
	st_bind_hash(st, s, 5, list, addr);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)expires);
	sqlite3_bind_text(s, 7, kind, -1, SQLITE_TRANSIENT);
	return st_step_done(s);
}

/*
 * store_confirm_use - spend a token: its held copy's id and hash come back.
 * STORE_NOTFOUND for an unknown, used or expired token (or another list's).
 */
int
store_confirm_use(struct store *st, const char *token, const char *list, long long now, char *out_id,
    size_t idlen, unsigned char *post_hash, size_t hlen)
{
	sqlite3_stmt *s = st_prep(st, "SELECT out_id, post_hash FROM confirmations WHERE token_hash = ?1 AND "
	    "list = ?2 AND used = 0 AND expires > ?3 AND kind = 'post'");
	int rc;

	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW || sqlite3_column_bytes(s, 1) != (int)hlen) {
		sqlite3_finalize(s);
		return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	}
	snprintf(out_id, idlen, "%s", (const char *)sqlite3_column_text(s, 0));
	memcpy(post_hash, sqlite3_column_blob(s, 1), hlen);
	sqlite3_finalize(s);
	if ((s = st_prep(st, "UPDATE confirmations SET used = 1, poster_hash = x'', post_hash = x'' WHERE token_hash = ?1")) == NULL)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	if (st_step_done(s) != STORE_OK)
		return STORE_ERR;
	if ((s = st_prep(st, "DELETE FROM held WHERE qid = ?1")) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, out_id, -1, SQLITE_TRANSIENT);
	return st_step_done(s);
}

/* store_confirm_use_key - spend a key token: the member's own key is set. STORE_NOTFOUND if none */
int
store_confirm_use_key(struct store *st, const char *token, const char *list, long long now)
{
	sqlite3_stmt *s = st_prep(st, "UPDATE members SET author_pk = (SELECT post_hash FROM confirmations c "
	    "WHERE c.token_hash = ?1), author_seed = NULL, own_key = 1 WHERE list = ?2 AND addr_hash = "
	    "(SELECT poster_hash FROM confirmations c WHERE c.token_hash = ?1 AND c.list = ?2 AND c.used = 0 "
	    "AND c.expires > ?3 AND c.kind = 'key')");
	int n;

	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if (st_step_done(s) != STORE_OK)
		return STORE_ERR;
	if ((n = sqlite3_changes(st->db)) == 0)
		return STORE_NOTFOUND;
	if ((s = st_prep(st, "UPDATE confirmations SET used = 1, poster_hash = x'', post_hash = x'' WHERE token_hash = ?1")) == NULL)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	return st_step_done(s);
}

/* store_confirm_bound - what an unused, unexpired token of this kind is bound to (into out) */
int
store_confirm_bound(struct store *st, const char *token, const char *list, const char *kind, long long now,
    struct buf *out)
{
	sqlite3_stmt *s = st_prep(st, "SELECT post_hash FROM confirmations WHERE token_hash = ?1 AND list = ?2 "
	    "AND kind = ?3 AND used = 0 AND expires > ?4");
	int rc;

	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && buf_append(out, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0)) < 0)
		rc = SQLITE_ERROR;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
}

/* store_confirm_spend - a token is used up: only its hash stays, so it cannot be used again */
int
store_confirm_spend(struct store *st, const char *token)
{
	sqlite3_stmt *s = st_prep(st, "UPDATE confirmations SET used = 1, poster_hash = x'', post_hash = x'' "
	    "WHERE token_hash = ?1");

	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	return st_step_done(s);
}

/* store_confirm_moderation - spend a moderator's token: the held post it was for */
int
store_confirm_moderation(struct store *st, const char *token, const char *list, long long now, char *out_id,
    size_t idlen, char **moderator)
{
	sqlite3_stmt *s = st_prep(st, "SELECT c.out_id, m.addr FROM confirmations c LEFT JOIN members m ON m.list = c.list "
	    "AND m.addr_hash = c.poster_hash WHERE c.token_hash = ?1 AND c.list = ?2 AND c.used = 0 "
	    "AND c.expires > ?3 AND c.kind = 'moderate'");
	int rc;

	*moderator = NULL;
	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(out_id, idlen, "%s", (const char *)sqlite3_column_text(s, 0));
		if (st_opened(st, s, 1, moderator) < 0)
			rc = SQLITE_ERROR;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	return store_confirm_spend(st, token);
}

/* store_confirm_quorum - spend a moderator's quorum token: the request id and who the moderator is */
int
store_confirm_quorum(struct store *st, const char *token, const char *list, long long now, char *out_id,
    size_t idlen, char **voter)
{
	sqlite3_stmt *s = st_prep(st, "SELECT c.out_id, m.addr FROM confirmations c JOIN members m ON m.list = c.list "
	    "AND m.addr_hash = c.poster_hash WHERE c.token_hash = ?1 AND c.list = ?2 AND c.used = 0 AND c.expires > ?3 "
	    "AND c.kind IN ('quorum', 'vouch')");
	int rc;

	*voter = NULL;
	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(out_id, idlen, "%s", (const char *)sqlite3_column_text(s, 0));
		if ((*voter = st_column_opened(st, s, 1)) == NULL)
			rc = SQLITE_ERROR;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	return store_confirm_spend(st, token);
}

/*
 * store_confirm_holder - whom an unused token of `kind` was issued to, as
 * things stand now: "operator" (mlistctl issued it), the holder's role on
 * the list ("member", "moderator", "owner"), or "" (no longer a member).
 * STORE_NOTFOUND: no such token (unknown, used, expired, another list's).
 */
int
store_confirm_holder(struct store *st, const char *token, const char *list, const char *kind, long long now,
    char *role, size_t n)
{
	sqlite3_stmt *s = st_prep(st, "SELECT c.poster_hash = ?5, m.role FROM confirmations c LEFT JOIN members m "
	    "ON m.list = c.list AND m.addr_hash = c.poster_hash WHERE c.token_hash = ?1 AND c.list = ?2 "
	    "AND c.used = 0 AND c.expires > ?3 AND c.kind = ?4");
	int rc;

	*role = 0;
	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	sqlite3_bind_text(s, 4, kind, -1, SQLITE_TRANSIENT);
	st_bind_hash(st, s, 5, list, "operator");
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(s, 1);

		snprintf(role, n, "%s", sqlite3_column_int(s, 0) ? "operator" : r ? r : "");
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	return STORE_OK;
}
