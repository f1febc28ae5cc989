/*
 * store_leadership.c - what the leadership acts on: bans, held posts,
 * moderators, quorum requests and their votes, the discipline ladder and
 * the audit log's rows.
 */
#include "store_int.h"

/* store_ban - ban an address from a list */
int
store_ban(struct store *st, const char *list, const char *addr)
{
	return st_hashed(st, "INSERT OR REPLACE INTO bans (list, addr_hash, at) VALUES (?1, ?2, ?3)",
	    list, addr, (long long)time(NULL));
}

/* store_unban - lift a ban */
int
store_unban(struct store *st, const char *list, const char *addr)
{
	int rc = st_hashed(st, "DELETE FROM bans WHERE list = ?1 AND addr_hash = ?2", list, addr, 0);

	return rc == STORE_OK && sqlite3_changes(st->db) == 0 ? STORE_NOTFOUND : rc;
}

/* store_banned - is the address banned from the list? */
int
store_banned(struct store *st, const char *list, const char *addr)
{
	long long n = st_hashed_scalar(st, "SELECT count(*) FROM bans WHERE list = ?1 AND "
	    "addr_hash = ?2", list, addr, 0);

	return n < 0 ? STORE_ERR : n > 0;
}

/* store_hold - keep a post for the moderators */
int
store_hold(struct store *st, const char *qid, const char *list, const char *reason, const char *author)
{
	struct st_place pl;

	st_place(&pl, "held.author");
	st_place_text(&pl, qid);
	return st_step_sealed(st, st_prep_bind(st, "INSERT OR REPLACE INTO "
	    "held (qid, list, reason, at, author) VALUES (?1, ?2, ?3, ?4, ?5)",
	    "tttl", qid, list, reason, (long long)time(NULL)), 5, author, &pl);
}

/* store_held_author - the address behind a held post, kept only where moderators_see = "address" */
char *
store_held_author(struct store *st, const char *list, const char *id)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT author, qid FROM held WHERE "
	    "list = ?1 AND qid = ?2", "tt", list, id);

	if (!s)
		return NULL;
	return st_one_opened(st, s, "held.author", 1, 1);
}

/* store_is_held - is this rendered copy waiting for moderation? */
int
store_is_held(struct store *st, const char *qid)
{
	long long n = st_scalar(st, "SELECT count(*) FROM held WHERE qid = ?1", qid, NULL, 0);

	return n < 0 ? STORE_ERR : n > 0;
}

/* store_held_count - posts waiting for moderation */
int
store_held_count(struct store *st, const char *list)
{
	return (int)st_scalar(st, list ? "SELECT count(*) FROM held WHERE list = ?1" : "SELECT count(*) FROM held",
	    list, NULL, 0);
}

/* store_held_each - posts held on a list, oldest first: (id, reason, at) */
int
store_held_each(struct store *st, const char *list, store_held_fn fn, void *arg)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT qid, reason, at FROM held "
	    "WHERE list = ?1 ORDER BY at, qid", "t", list);
	int n = 0, rc;

	if (!s)
		return STORE_ERR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		fn((const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
		    sqlite3_column_int64(s, 2), arg);
		n++;
	}
	st_done(st, s);
	/* a failed step is not "no more held posts" */
	return rc == SQLITE_DONE ? n : st_db_fail(st);
}

/* store_held_take - release a held post from the queue; its reason comes back */
int
store_held_take(struct store *st, const char *list, const char *id, char *reason, size_t n)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT reason FROM held WHERE list "
	    "= ?1 AND qid = ?2", "tt", list, id);
	int rc;

	if ((rc = st_step_row(st, s)) != STORE_OK)
		return rc;
	snprintf(reason, n, "%s", (const char *)sqlite3_column_text(s, 0));
	st_done(st, s);
	if ((s = st_prep_bind(st, "DELETE FROM held WHERE list = ?1 AND "
	    "qid = ?2", "tt", list, id)) == NULL)
		return STORE_ERR;
	return st_step_done(st, s);
}

/* store_audit_last - the newest entry's sequence number and hash (0 and zeros for none) */
int
store_audit_last(struct store *st, const char *list, long long *seq, unsigned char hash[32])
{
	sqlite3_stmt *s = st_prep(st, "SELECT seq, hash FROM audit WHERE list = ?1 ORDER BY seq DESC LIMIT 1");
	int rc;

	*seq = 0;
	memset(hash, 0, 32);
	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW && sqlite3_column_bytes(s, 1) == 32) {
		*seq = sqlite3_column_int64(s, 0);
		memcpy(hash, sqlite3_column_blob(s, 1), 32);
	}
	st_done(st, s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : STORE_ERR;
}

/* store_audit_add - append one entry (the caller computed its chain hash and signature) */
int
store_audit_add(struct store *st, const char *list, const struct audit_entry *e)
{
	sqlite3_stmt *s = st_prep_bind(st, "INSERT INTO audit (list, seq, at, "
	    "actor, action, detail, prev, hash, selector, sig) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", "t", list);

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 2, (sqlite3_int64)e->seq);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)e->at);
	sqlite3_bind_text(s, 4, e->actor, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, e->action, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 6, e->detail, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 7, e->prev, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 8, e->hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 9, e->selector, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 10, e->sig, 64, SQLITE_TRANSIENT);
	return st_step_done(st, s);
}

/* store_audit_each - every entry of a list in order */
int
store_audit_each(struct store *st, const char *list, store_audit_fn fn, void *arg)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT seq, at, actor, action, "
	    "detail, prev, hash, selector, sig FROM audit "
	    "WHERE list = ?1 ORDER BY seq", "t", list);
	struct audit_entry e;
	int rc, n = 0;

	if (!s)
		return STORE_ERR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.seq = sqlite3_column_int64(s, 0);
		e.at = sqlite3_column_int64(s, 1);
		snprintf(e.actor, sizeof(e.actor), "%s", (const char *)sqlite3_column_text(s, 2));
		snprintf(e.action, sizeof(e.action), "%s", (const char *)sqlite3_column_text(s, 3));
		snprintf(e.detail, sizeof(e.detail), "%s", (const char *)sqlite3_column_text(s, 4));
		if (sqlite3_column_bytes(s, 5) == 32)
			memcpy(e.prev, sqlite3_column_blob(s, 5), 32);
		if (sqlite3_column_bytes(s, 6) == 32)
			memcpy(e.hash, sqlite3_column_blob(s, 6), 32);
		snprintf(e.selector, sizeof(e.selector), "%s", (const char *)sqlite3_column_text(s, 7));
		if (sqlite3_column_bytes(s, 8) == 64)
			memcpy(e.sig, sqlite3_column_blob(s, 8), 64);
		fn(&e, arg);
		n++;
	}
	st_done(st, s);
	return rc == SQLITE_DONE ? n : STORE_ERR;
}

/* store_moderator_count - owners and moderators of a list */
int
store_moderator_count(struct store *st, const char *list)
{
	return st_scalar(st, "SELECT count(*) FROM members WHERE list = ?1 AND " SQL_LEADS("role"), list, NULL, 0);
}

/*
 * pending_seal_arg - the argument of request id, sealed to its row: the id
 * is known only once the row is in (AUTOINCREMENT: never given again)
 */
static int
pending_seal_arg(struct store *st, long long id, const char *arg)
{
	struct st_place pl;

	st_place(&pl, "pending.arg");
	st_place_int(&pl, id);
	return st_step_sealed(st, st_prep_bind(st, "UPDATE pending SET "
	    "arg = ?2 WHERE id = ?1", "l", id), 2, arg, &pl);
}

/* store_pending_add - a grave action waiting for `needed` approvals (state "new": the daemon asks) */
long long
store_pending_add(struct store *st, const char *list, const char *action, const char *arg, const char *detail,
    int needed, const char *state, long long now, long long expires)
{
	sqlite3_stmt *s = st_prep_bind(st, "INSERT INTO pending (list, action, "
	    "arg, detail, needed, state, created, expires) "
	    "VALUES (?1, ?2, x'', ?4, ?5, ?6, ?7, ?8)",
	    "tt-titll", list, action, detail, needed, state, now, expires);
	long long id = st_step_id(st, s);

	if (id < 0)
		return STORE_ERR;
	return pending_seal_arg(st, id, arg) == STORE_OK ? id : STORE_ERR;
}

/* store_pending_get - one pending action (arg decrypted, caller frees) */
int
store_pending_get(struct store *st, long long id, struct pending *pa)
{
	sqlite3_stmt *s = st_prep(st, "SELECT list, action, arg, detail, needed, state, expires, id FROM pending "
	    "WHERE id = ?1");
	struct st_place pl;
	int rc;

	memset(pa, 0, sizeof(*pa));
	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		pa->id = id;
		snprintf(pa->list, sizeof(pa->list), "%s", (const char *)sqlite3_column_text(s, 0));
		snprintf(pa->action, sizeof(pa->action), "%s", (const char *)sqlite3_column_text(s, 1));
		st_place_cols(&pl, s, "pending.arg", 7, 1);
		if ((pa->arg = st_column_opened(st, s, 2, &pl)) == NULL)
			rc = SQLITE_ERROR;
		snprintf(pa->detail, sizeof(pa->detail), "%s", (const char *)sqlite3_column_text(s, 3));
		pa->needed = sqlite3_column_int(s, 4);
		snprintf(pa->state, sizeof(pa->state), "%s", (const char *)sqlite3_column_text(s, 5));
		pa->expires = sqlite3_column_int64(s, 6);
	}
	st_done(st, s);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
}

/* store_pending_state - move a pending action on ("asked", "done", "expired", ...) */
int
store_pending_state(struct store *st, long long id, const char *state)
{
	sqlite3_stmt *s = st_prep_bind(st, "UPDATE pending SET state = ?2 "
	    "WHERE id = ?1", "lt", id, state);

	if (!s)
		return STORE_ERR;
	return st_step_done(st, s);
}

/*
 * store_pending_args - the opened argument of every request of list for
 * action, newest first (fn gets each; it returns nonzero to stop)
 */
int
store_pending_args(struct store *st, const char *list, const char *action,
    store_arg_fn fn, void *arg)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT arg, id FROM pending WHERE "
	    "list = ?1 AND action = ?2 ORDER BY id DESC", "tt", list, action);
	struct st_place pl;
	char *a;
	int rc, stop = 0;

	if (!s)
		return STORE_ERR;
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		st_place_cols(&pl, s, "pending.arg", 1, 1);
		if ((a = st_column_opened(st, s, 0, &pl)) == NULL) {
			rc = SQLITE_ERROR;
			break;
		}
		stop = fn(a, arg);
		free(a);
	}
	st_done(st, s);
	return stop || rc == SQLITE_DONE ? STORE_OK : STORE_ERR;
}

/* store_pending_in_state - ids of pending actions in a state (at most n) */
int
store_pending_in_state(struct store *st, const char *state, long long *ids, int n)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT id FROM pending WHERE state "
	    "= ?1 ORDER BY id LIMIT ?2", "ti", state, n);
	int k = 0, rc;

	if (!s)
		return STORE_ERR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < n)
		ids[k++] = sqlite3_column_int64(s, 0);
	st_done(st, s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? k : st_db_fail(st);
}

/*
 * store_pending_find - the newest request of list for action in state: its
 * id, 0 none, STORE_ERR
 */
long long
store_pending_find(struct store *st, const char *list, const char *action, const char *state)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT id FROM pending WHERE list "
	    "= ?1 AND action = ?2 AND "
	    "state = ?3 ORDER BY id DESC LIMIT 1", "ttt", list, action, state);
	long long id = 0;
	int rc;

	if (!s)
		return STORE_ERR;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	st_done(st, s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? id : st_db_fail(st);
}

/* store_pending_vote - the moderator (by address) approves; returns the number of distinct approvals */
int
store_pending_vote(struct store *st, long long id, const char *list, const char *addr)
{
	sqlite3_stmt *s = st_prep_bind(st, "INSERT OR IGNORE INTO "
	    "pending_votes (pending_id, member_id) SELECT ?1, id "
	    "FROM members WHERE list = ?2 AND addr_hash = ?3 AND (" SQL_LEADS("role") " OR "
	    "(SELECT action FROM pending WHERE id = ?1) = 'vouch')",
	    "lt", id, list);
	char num[32];

	if (!s)
		return STORE_ERR;
	st_bind_hash(st, s, 3, list, addr);
	if (st_step_done(st, s) != STORE_OK)
		return STORE_ERR;
	snprintf(num, sizeof(num), "%lld", id);
	/* a vote counts while its voter still leads (a vouch: while a member) */
	return st_scalar(st, "SELECT count(*) FROM pending_votes v JOIN members m ON m.id = v.member_id "
	    "WHERE v.pending_id = ?1 AND (" SQL_LEADS("m.role") " OR (SELECT action FROM pending WHERE id = ?1) "
	    "= 'vouch')", num, NULL, 0);
}

/*
 * store_pending_voters - those who approved and still lead (a vouch: are
 * still members), fn each (until it returns non-zero, as for
 * store_member_each): a moderator demoted since their vote is not told
 * what the quorum decided (an unmasked address, say)
 */
int
store_pending_voters(struct store *st, long long id, store_member_fn fn, void *arg)
{
	return st_member_rows(st, st_prep_bind(st, "SELECT " MEMBER_COLS
	    " FROM members WHERE id IN "
	    "(SELECT member_id FROM pending_votes WHERE pending_id = ?1) AND (" SQL_LEADS("role") " OR "
	    "(SELECT action FROM pending WHERE id = ?1) = 'vouch') ORDER BY id",
	    "l", id), fn, arg);
}

/* store_discipline_steps - how many steps of the ladder the address has taken on list (0 none) */
int
store_discipline_steps(struct store *st, const char *list, const char *addr)
{
	return (int)st_hashed_scalar(st, "SELECT coalesce(max(steps), 0) FROM discipline WHERE list = ?1 AND addr_hash = ?2",
	    list, addr, 0);
}

/* store_discipline_until - the end of the address's suspension from list (0 none) */
long long
store_discipline_until(struct store *st, const char *list, const char *addr)
{
	return st_hashed_scalar(st, "SELECT coalesce(max(until), 0) FROM discipline WHERE list = ?1 AND addr_hash = ?2",
	    list, addr, 0);
}

/*
 * store_discipline_last - when the address's last step on list was taken
 * (0 none, or taken before this was recorded), STORE_ERR
 */
long long
store_discipline_last(struct store *st, const char *list, const char *addr)
{
	return st_hashed_scalar(st, "SELECT coalesce(max(at), 0) FROM "
	    "discipline_last WHERE list = ?1 AND addr_hash = ?2", list, addr,
	    0);
}

/* store_discipline_taken - the address's last step was taken at `at` */
int
store_discipline_taken(struct store *st, const char *list, const char *addr,
    long long at)
{
	return st_hashed(st, "INSERT INTO discipline_last (list, addr_hash, "
	    "at) VALUES (?1, ?2, ?3) ON CONFLICT (list, addr_hash) "
	    "DO UPDATE SET at = ?3", list, addr, at);
}

/* store_discipline_step - one more step for the address; suspended until `until` (0: not suspended) */
int
store_discipline_step(struct store *st, const char *list, const char *addr, long long until)
{
	return st_hashed(st, "INSERT INTO discipline (list, addr_hash, steps, until) VALUES (?1, ?2, 1, ?3) "
	    "ON CONFLICT (list, addr_hash) DO UPDATE SET steps = steps + 1, until = max(until, ?3)", list, addr, until);
}
