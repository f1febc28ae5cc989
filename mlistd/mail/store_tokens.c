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
 * A "command" token's bound bytes are the command itself (who asked, and
 * what), a "pgpkey" token's the address and the OpenPGP key offered (a key
 * names its owner): both sealed, to the token's row (its hash). Other kinds
 * bind a hash or a public key, which are not secret.
 */
static int
sealed_kind(const char *kind)
{
	return strcmp(kind, "command") == 0 || strcmp(kind, "pgpkey") == 0;
}

/* bound_place - where a command token's bound bytes are sealed */
static void
bound_place(struct store *st, struct st_place *pl, const char *token)
{
	unsigned char h[KEYS_HASH_LEN];

	keys_addr_hash(st->keys, "confirm", token, h);
	st_place(pl, "confirmations.post_hash");
	st_place_add(pl, h, sizeof(h));
}

/* bound_take - a taken token's bound bytes into t->bound (a command's opened); 0 or -1 */
static int
bound_take(struct store *st, sqlite3_stmt *s, struct store_token *t)
{
	struct st_place pl;
	const void *b;

	if (sealed_kind(t->kind)) {
		st_place_cols(&pl, s, "confirmations.post_hash", 8, 1);
		return st_opened_bytes(st, s, 2, &t->bound, &pl) < 0 ? -1 : 0;
	}
	if ((b = sqlite3_column_blob(s, 2)) != NULL &&
	    buf_append(&t->bound, b, (size_t)sqlite3_column_bytes(s, 2)) < 0)
		return -1;
	return 0;
}

/*
 * store_confirm_add - a single-use token of a kind: "post" (out_id is a held
 * copy, bound is its hash), "key" (bound is the public key to register for addr) or
 * "command" (bound is the command, sealed here to the token's row)
 */
int
store_confirm_add(struct store *st, const char *kind, const char *token, const char *list,
    const char *out_id, const unsigned char *bound, size_t blen, const char *addr, long long expires)
{
	sqlite3_stmt *s = st_prep(st, "INSERT INTO confirmations (token_hash, list, out_id, post_hash, poster_hash, "
	    "expires, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	struct st_place pl;

	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, out_id, -1, SQLITE_TRANSIENT);
	if (sealed_kind(kind)) {
		bound_place(st, &pl, token);
		if (st_bind_sealed_bytes(st, s, 4, bound, blen, &pl) < 0) {
			st_done(st, s);
			return STORE_ERR;
		}
	} else
		sqlite3_bind_blob(s, 4, bound, (int)blen, SQLITE_TRANSIENT);
	st_bind_hash(st, s, 5, list, addr);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)expires);
	sqlite3_bind_text(s, 7, kind, -1, SQLITE_TRANSIENT);
	return st_step_done(st, s);
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
	return st_step_done(st, s);
}

/*
 * confirm_look - an unused, unexpired token of any kind in ONE
 * look-up: its kind, what it is bound to (out_id, bound) and the member it
 * was sent to (addr and role; addr NULL if no member has that address
 * now; operator set for a token mlistctl issued). The caller dispatches
 * on the kind and frees bound and addr.
 * STORE_NOTFOUND for an unknown, used or expired token (or another list's).
 */
static int
confirm_look(struct store *st, const char *token, const char *list,
    long long now, struct store_token *t)
{
	sqlite3_stmt *s = st_prep(st, "SELECT c.kind, c.out_id, c.post_hash, m.addr, m.role, c.poster_hash = ?4, "
	    "m.list, m.addr_hash, c.token_hash "
	    "FROM confirmations c LEFT JOIN members m ON m.list = c.list AND m.addr_hash = c.poster_hash "
	    "WHERE c.token_hash = ?1 AND c.list = ?2 AND c.used = 0 AND c.expires > ?3");
	struct st_place pl;
	int rc;

	memset(t, 0, sizeof(*t));
	buf_init(&t->bound, 0);
	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	st_bind_hash(st, s, 4, list, "operator");
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(t->kind, sizeof(t->kind), "%s", (const char *)sqlite3_column_text(s, 0));
		snprintf(t->out_id, sizeof(t->out_id), "%s", (const char *)sqlite3_column_text(s, 1));
		if (bound_take(st, s, t) < 0)
			rc = SQLITE_ERROR;
		st_place_cols(&pl, s, "members.addr", 6, 2);
		t->addr = st_column_opened(st, s, 3, &pl);
		t->operator = sqlite3_column_int(s, 5);
		/* no member now: no role (addr is NULL); a member's is one the CHECK allows */
		if (sqlite3_column_type(s, 4) != SQLITE_NULL &&
		    role_parse((const char *)sqlite3_column_text(s, 4), &t->role) < 0) {
			st_fail(st, "a member's role is none the store knows");
			rc = SQLITE_ERROR;
		}
	}
	st_done(st, s);
	if (rc != SQLITE_ROW) {
		buf_free(&t->bound);
		free(t->addr);
		t->addr = NULL;
		return rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	}
	return STORE_OK;
}

/* store_confirm_take - confirm_look, and the token is spent */
int
store_confirm_take(struct store *st, const char *token, const char *list,
    long long now, struct store_token *t)
{
	int rc = confirm_look(st, token, list, now, t);

	if (rc != STORE_OK)
		return rc;
	if ((rc = store_confirm_spend(st, token)) != STORE_OK) {
		buf_free(&t->bound);
		free(t->addr);
		t->addr = NULL;
	}
	return rc;
}

/*
 * store_confirm_peek - the same look-up without spending it: whether an
 * answer may spend it depends on its kind (pipeline/tokens.c)
 */
int
store_confirm_peek(struct store *st, const char *token, const char *list,
    long long now, struct store_token *t)
{
	return confirm_look(st, token, list, now, t);
}
