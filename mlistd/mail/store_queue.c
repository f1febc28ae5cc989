/*
 * store_queue.c - the distribution queue: processed incoming ids, one row
 * per delivery with the class distribute decided for it (fan-out to members
 * in one statement, applying distribute's class table), their results, the
 * notice limit and the per-day post counters.
 */
#include "store_int.h"

/*
 * coalesce(d.rcpt, m.addr) is sealed in one of two places: the field's
 * name, then its row's key (list, address hash), as three columns
 */
#define RCPT_PLACE "CASE WHEN d.rcpt IS NULL THEN 'members.addr' ELSE " \
	"'deliveries.rcpt' END, CASE WHEN d.rcpt IS NULL THEN m.list ELSE " \
	"d.list END, CASE WHEN d.rcpt IS NULL THEN " \
	"m.addr_hash ELSE d.rcpt_hash END"

/* store_processed - has this incoming queue id been handled already? */
int
store_processed(struct store *st, const char *qid)
{
	long long n = st_scalar(st, "SELECT count(*) FROM processed WHERE qid = ?1", qid, NULL, 0);

	return n < 0 ? STORE_ERR : n > 0;
}

/* store_mark_processed - record what happened to an incoming message */
int
store_mark_processed(struct store *st, const char *qid, const char *list, const char *disposition)
{
	sqlite3_stmt *s = st_prep(st, "INSERT OR REPLACE INTO processed (qid, list, disposition, at) "
	    "VALUES (?1, ?2, ?3, ?4)");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, disposition, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
	return st_step_done(st, s);
}

/* store_delivery_add - one recipient of one rendered message, of class dclass */
int
store_delivery_add(struct store *st, const char *qid, const char *list, const char *rcpt,
    const char *env_from, const char *token, int dclass, long long now, long long expires)
{
	sqlite3_stmt *s = st_prep(st, "INSERT INTO deliveries (qid, list, rcpt, rcpt_hash, env_from, token, "
	    "next_try, expires, class) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
	struct st_place pl;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	st_place(&pl, "deliveries.rcpt");
	st_place_hash(st, &pl, list, rcpt);
	if (st_bind_sealed(st, s, 3, rcpt, &pl) < 0) {
		st_done(st, s);
		return STORE_ERR;
	}
	st_bind_hash(st, s, 4, list, rcpt);
	sqlite3_bind_text(s, 5, env_from, -1, SQLITE_TRANSIENT);
	if (token)
		sqlite3_bind_text(s, 6, token, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)expires);
	sqlite3_bind_int(s, 9, dclass);
	return st_step_done(st, s);
}

/*
 * FACTS - a member's DFACT_* bits, as SQL: the index into the class table
 * that distribute made (the decision is distribute's; this only applies it)
 */
#define FACTS	"((pgp_key IS NOT NULL) + 2 * (nomail <> 0) + 4 * (digest <> 0) + " \
		"8 * (bounce_disabled <> 0) + 16 * " SQL_LEADS("role") ")"
/* the digit itself: the column's INTEGER affinity stores it as a number (no CAST per row) */
#define CLASS	"substr(?7, " FACTS " + 1, 1)"

/*
 * FANOUT_SQL - the fan-out statement, with or without a join window.
 * The rows come from r: with VERP (?4 the prefix) r is materialized, so
 * that each row's random token is drawn once and the envelope sender made
 * from that same token in the INSERT (an UPDATE of every row after it
 * rewrote the post's 10,000 rows a second time); grouped, r is folded
 * into the INSERT. No ORDER BY: a member has one row per copy, and deliver
 * orders rows itself (DUE_SQL); sorting r cost VERP 4 ms of 40.
 */
#define FANOUT_ROWS(window) "SELECT list, id, addr_hash, CASE WHEN ?4 " \
	"IS NULL THEN NULL ELSE lower(hex(randomblob(16))) END AS token, " \
	CLASS " AS class FROM members WHERE list = ?2 AND " CLASS " <> '0' " \
	window " AND (?10 IS NULL OR addr_hash = ?10)"
#define FANOUT_SQL(how, window) "WITH r AS " how " (" FANOUT_ROWS(window) \
	") INSERT INTO deliveries (qid, list, member_id, rcpt_hash, " \
	"env_from, token, next_try, expires, class) SELECT ?1, list, id, " \
	"addr_hash, CASE WHEN token IS NULL THEN ?3 ELSE ?4 || token || ?11 " \
	"END, token, ?5, ?6, class FROM r"
/* ?8 and ?9 stay bound (and unused) in the forms without a window */
#define WINDOW	"AND ?8 < ?9 AND id IN (SELECT id FROM temp.fanout_ids)"
#define NO_WINDOW "AND ?9 = 0 AND ?8 = ?8"

/* fanout_sql - the form of FANOUT_SQL that f needs */
static const char *
fanout_sql(const struct fanout_spec *f)
{
	if (f->verp_prefix)
		return f->joined_upto > 0 ? FANOUT_SQL("MATERIALIZED", WINDOW) :
		    FANOUT_SQL("MATERIALIZED", NO_WINDOW);
	return f->joined_upto > 0 ? FANOUT_SQL("NOT MATERIALIZED", WINDOW) :
	    FANOUT_SQL("NOT MATERIALIZED", NO_WINDOW);
}

/*
 * joined_in - the ids of list's members who joined in (after, upto] into
 * temp.fanout_ids: the join time is sealed (a disk image must not date a
 * row), so SQL cannot compare it; a digest's variants ask, rarely
 */
static int
joined_in(struct store *st, const char *list, long long after, long long upto)
{
	sqlite3_stmt *s, *ins;
	struct member m;
	int rc;

	if (st_exec(st, "CREATE TEMP TABLE IF NOT EXISTS fanout_ids "
	    "(id INTEGER PRIMARY KEY); DELETE FROM temp.fanout_ids") < 0)
		return st_db_fail(st);
	if ((s = st_prep(st, "SELECT " MEMBER_COLS " FROM members "
	    "WHERE list = ?1")) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (st_member_row(st, s, &m) < 0) {
			st_done(st, s);
			return STORE_ERR;
		}
		member_free(&m);	/* its strings; the numbers stay */
		if (m.created <= after || m.created > upto)
			continue;
		if ((ins = st_prep(st, "INSERT INTO temp.fanout_ids (id) "
		    "VALUES (?1)")) == NULL) {
			st_done(st, s);
			return STORE_ERR;
		}
		sqlite3_bind_int64(ins, 1, (sqlite3_int64)m.id);
		if (st_step_done(st, ins) != STORE_OK) {
			st_done(st, s);
			return STORE_ERR;
		}
	}
	st_done(st, s);
	return rc == SQLITE_DONE ? STORE_OK : st_db_fail(st);
}

/*
 * store_fanout - one delivery per member whose class is not "none", in one
 * statement: rows point at the member, so no address is decrypted or
 * sealed again (see struct fanout_spec); a window of join times is the
 * members joined_in found
 */
int
store_fanout(struct store *st, const struct fanout_spec *f)
{
	sqlite3_stmt *s;

	if (f->joined_upto > 0 && joined_in(st, f->list, f->joined_after,
	    f->joined_upto) != STORE_OK)
		return STORE_ERR;
	if ((s = st_prep(st, fanout_sql(f))) == NULL)
		return STORE_ERR;
	if (strlen(f->classes) != DFACT_COMBOS) {
		st_done(st, s);
		return STORE_ERR;
	}
	sqlite3_bind_text(s, 1, f->qid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, f->list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, f->env_from, -1, SQLITE_TRANSIENT);
	if (f->verp_prefix) {
		sqlite3_bind_text(s, 4, f->verp_prefix, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 11, f->verp_suffix, -1,
		    SQLITE_TRANSIENT);
	}
	sqlite3_bind_int64(s, 5, (sqlite3_int64)f->now);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)f->expires);
	sqlite3_bind_text(s, 7, f->classes, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)f->joined_after);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)f->joined_upto);
	if (f->addr)
		st_bind_hash(st, s, 10, f->list, f->addr);
	if (st_step_done(st, s) != STORE_OK)
		return STORE_ERR;
	return sqlite3_changes(st->db);
}

/*
 * store_queue_version - a number that changes with every change to the
 * database, by this connection (rows changed) or by another (SQLite's data
 * version): while it stays the same, so do the deliveries due at a given
 * second. 0 if SQLite cannot tell, which the caller takes as "changed".
 */
unsigned long long
store_queue_version(struct store *st)
{
	int dv = 0;

	if (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_DATA_VERSION,
	    &dv) != SQLITE_OK)
		return 0;
	/* below 2^40 rows changed, the sum is never 0 nor ambiguous */
	return ((unsigned long long)(unsigned)dv << 40) +
	    (unsigned long long)sqlite3_total_changes64(st->db) + 1;
}

/*
 * DUE_SQL - the pending deliveries due at ?1, at most ?2, in the order
 * deliver batches them (message, envelope sender, class). Only the keys
 * are sorted, in k, and the rows read after: sorting whole rows (sealed
 * addresses, keys, hashes) into SQLite's temporary B-tree was a third of
 * a 10,000-member run's start (bench/RESULTS.md). The rows come in k's
 * order (k is the outer loop, CROSS JOIN, read as the co-routine sorted
 * it); should SQLite ever yield them otherwise, deliver's batches would
 * only be smaller, never wrong.
 */
#define DUE_SQL "SELECT d.id, d.qid, d.list, coalesce(d.rcpt, m.addr), " \
	"d.env_from, d.attempts, d.expires, m.pgp_key, d.member_id, " \
	"d.class, d.rcpt_hash, " RCPT_PLACE ", m.list, m.addr_hash FROM " \
	"(SELECT id FROM deliveries WHERE state = 0 AND next_try <= ?1 " \
	"ORDER BY qid, env_from, class, id LIMIT ?2) k CROSS JOIN " \
	"deliveries d ON d.id = k.id LEFT JOIN members m ON m.id = d.member_id"

/* col_copy - text column col into dst (size n), cut to fit */
static void
col_copy(sqlite3_stmt *s, int col, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t len = (size_t)sqlite3_column_bytes(s, col);

	if (t == NULL || n == 0)
		len = 0;
	else if (len >= n)
		len = n - 1;
	if (len)
		memcpy(dst, t, len);
	if (n)
		dst[len] = 0;
}

/* due_hash - the row's recipient hash into d; 0, or -1 if it has none */
static int
due_hash(sqlite3_stmt *s, struct delivery *d)
{
	if (sqlite3_column_bytes(s, 10) != (int)sizeof(d->rcpt_hash))
		return -1;
	memcpy(d->rcpt_hash, sqlite3_column_blob(s, 10), sizeof(d->rcpt_hash));
	return 0;
}

/* due_row - the rest of a due row into d, its sealed columns opened; 0 or -1 */
static int
due_row(struct store *st, sqlite3_stmt *s, struct delivery *d)
{
	struct st_place pl;

	d->id = sqlite3_column_int64(s, 0);
	col_copy(s, 2, d->list, sizeof(d->list));
	st_place_cols(&pl, s, (const char *)sqlite3_column_text(s, 11), 12, 2);
	if (st_opened(st, s, 3, &d->rcpt, &pl) < 0 || d->rcpt == NULL) {
		/* the others still go; the caller logs why this one waits */
		if (d->rcpt == NULL && !st->failed)
			st_fail(st, "a delivery has no recipient");
		return -1;
	}
	col_copy(s, 4, d->env_from, sizeof(d->env_from));
	d->attempts = sqlite3_column_int(s, 5);
	d->expires = sqlite3_column_int64(s, 6);
	d->member_id = sqlite3_column_int64(s, 8);	/* NULL reads as 0 */
	d->dclass = sqlite3_column_int(s, 9);
	/* the key as it is now: withdrawn since distribute, the copy waits */
	buf_init(&d->pgp, 0);
	st_place_cols(&pl, s, "members.pgp_key", 14, 2);
	if (st_opened_blob(st, s, 7, &d->pgp, &pl) < 0) {
		free(d->rcpt);
		buf_free(&d->pgp);
		return -1;
	}
	return 0;
}

/* store_deliveries_due - pending deliveries whose time has come, grouped by message */
int
store_deliveries_due(struct store *st, long long now, int limit, store_delivery_fn fn, void *arg)
{
	return store_deliveries_due_unless(st, now, limit, NULL, fn, arg);
}

/*
 * store_deliveries_due_unless - the same, but a row that skip (if not
 * NULL) names by its message and hash is counted and not opened: a run
 * out already sends it, or a result kept in memory settles it. Opening
 * the address and the key of each of a 10,000-member post's rows only to
 * drop it was the cost of every look while its run was out.
 */
int
store_deliveries_due_unless(struct store *st, long long now, int limit,
    store_due_skip_fn skip, store_delivery_fn fn, void *arg)
{
	sqlite3_stmt *s = st_prep(st, DUE_SQL);
	struct delivery d;
	int rc, n = 0, bad = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	sqlite3_bind_int(s, 2, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&d, 0, sizeof(d));
		col_copy(s, 1, d.qid, sizeof(d.qid));
		if (due_hash(s, &d) < 0) {
			if (!st->failed)
				st_fail(st, "a delivery has no recipient hash");
			bad = 1;
			continue;
		}
		n++;
		if (skip && skip(d.qid, d.rcpt_hash, arg))
			continue;
		if (due_row(st, s, &d) < 0) {
			bad = 1;
			continue;
		}
		fn(&d, arg);
	}
	st_done(st, s);
	return rc == SQLITE_DONE && !bad ? n : STORE_ERR;
}

/*
 * store_delivery_record - the outcome of one attempt, for the row of
 * message qid to the recipient whose keyed hash is `hash`, if that row is
 * still pending. The row is named by what the delivery was (a queue id is
 * never reused, nor is a member's hash within one message), not by its row
 * id: a stale or replayed result can only reach the delivery it was made
 * for, and never undoes a later one. Returns the rows changed (0 or 1).
 */
int
store_delivery_record(struct store *st, const char *qid, const unsigned char *hash, int state,
    int attempts, long long next_try, const char *err)
{
	sqlite3_stmt *s = st_prep(st, "UPDATE deliveries SET state = ?3, "
	    "attempts = max(attempts, ?4), next_try = ?5, last_error = ?6, "
	    "done_at = CASE WHEN ?3 = 0 THEN NULL ELSE ?7 END "
	    "WHERE qid = ?1 AND rcpt_hash = ?2 AND state = 0");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 2, hash, KEYS_HASH_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 3, state);
	sqlite3_bind_int(s, 4, attempts);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)next_try);
	if (err)
		sqlite3_bind_text(s, 6, err, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)time(NULL));
	if ((rc = sqlite3_step(s)) != SQLITE_DONE) {
		rc = st_db_fail(st);
		st_done(st, s);
		return rc;
	}
	rc = sqlite3_changes(st->db);
	st_done(st, s);
	return rc;
}

/*
 * store_pending_for - deliveries of a message still to be made. "+state":
 * by the message's rows in deliveries_rcpt, never by every pending row in
 * deliveries_due, which the planner would take for "state = 0"
 */
int
store_pending_for(struct store *st, const char *qid)
{
	return (int)st_scalar(st, "SELECT count(*) FROM deliveries "
	    "WHERE qid = ?1 AND +state = 0", qid, NULL, 0);
}

/* store_pending_count - all deliveries still to be made */
int
store_pending_count(struct store *st)
{
	return (int)st_scalar(st, "SELECT count(*) FROM deliveries WHERE state = 0", NULL, NULL, 0);
}

/* store_failed_count - deliveries that failed for good */
int
store_failed_count(struct store *st)
{
	return (int)st_scalar(st, "SELECT count(*) FROM deliveries WHERE state = 2", NULL, NULL, 0);
}

/*
 * store_due_between - is any pending delivery's time in (after, upto]?
 * 1 or 0. One step down the due index: how a look for due deliveries
 * that found them all at `after` knows, nothing else having changed,
 * that none is new at `upto`.
 */
int
store_due_between(struct store *st, long long after, long long upto)
{
	sqlite3_stmt *s = st_prep(st, "SELECT EXISTS (SELECT 1 FROM "
	    "deliveries WHERE state = 0 AND next_try > ?1 AND next_try <= ?2)");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)after);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)upto);
	return (int)st_step_scalar(st, s, 0);
}

/* store_next_due - when the next pending delivery is due (STORE_NOTFOUND: none) */
long long
store_next_due(struct store *st)
{
	return st_scalar(st, "SELECT min(next_try) FROM deliveries WHERE state = 0", NULL, NULL,
	    STORE_NOTFOUND);
}

/* store_last_errors - the most recent delivery errors, for status */
int
store_last_errors(struct store *st, int n, struct buf *out)
{
	sqlite3_stmt *s = st_prep(st, "SELECT qid, list, last_error, state FROM deliveries "
	    "WHERE last_error IS NOT NULL ORDER BY coalesce(done_at, next_try) DESC LIMIT ?1");
	int k = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int(s, 1, n);
	while (sqlite3_step(s) == SQLITE_ROW) {
		buf_printf(out, "%s %s %s: %s\n", (const char *)sqlite3_column_text(s, 0),
		    (const char *)sqlite3_column_text(s, 1), sqlite3_column_int(s, 3) == 2 ? "failed" : "deferred",
		    (const char *)sqlite3_column_text(s, 2));
		k++;
	}
	st_done(st, s);
	return k;
}

/* store_purge_done - forget finished deliveries older than `before` */
int
store_purge_done(struct store *st, long long before)
{
	sqlite3_stmt *s = st_prep(st, "DELETE FROM deliveries WHERE state <> 0 AND done_at < ?1");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)before);
	return st_step_done(st, s);
}

/*
 * store_bounce_token - the list and recipient a VERP token was sent to, and
 * whether that delivery was the member's bounce probe (the row id that
 * store_member_probe noted).
 */
int
store_bounce_token(struct store *st, const char *token, char *list, size_t listlen, char **rcpt,
    int *probe)
{
	sqlite3_stmt *s = st_prep(st, "SELECT d.list, coalesce(d.rcpt, m.addr), "
	    "EXISTS (SELECT 1 FROM members p WHERE p.list = d.list AND p.addr_hash = d.rcpt_hash "
	    "AND p.probe_sent = d.id), " RCPT_PLACE " FROM deliveries d "
	    "LEFT JOIN members m ON m.id = d.member_id WHERE d.token = ?1 LIMIT 1");
	struct st_place pl;
	int rc;

	*rcpt = NULL;
	*probe = 0;
	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, token, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(list, listlen, "%s", (const char *)sqlite3_column_text(s, 0));
		*probe = sqlite3_column_int(s, 2);
		st_place_cols(&pl, s, (const char *)sqlite3_column_text(s, 3), 4, 2);
		if ((*rcpt = st_column_opened(st, s, 1, &pl)) == NULL)
			rc = SQLITE_ERROR;
	}
	st_done(st, s);
	if (rc == SQLITE_ERROR && !st->failed)
		st_db_fail(st);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
}

/*
 * store_delivered_since - was a copy really sent to addr on list (an
 * attempt made, the relay's answer in) at or after `since`? A DSN for
 * mail the list never sent is a forgery. 1 yes, 0 no.
 */
int
store_delivered_since(struct store *st, const char *list, const char *addr, long long since)
{
	long long n = st_hashed_scalar(st, "SELECT count(*) FROM deliveries WHERE list = ?1 "
	    "AND rcpt_hash = ?2 AND attempts > 0 AND coalesce(done_at, next_try) >= ?3", list, addr,
	    since);

	return n < 0 ? STORE_ERR : n > 0;
}

/* store_notice_allowed - at most one notice per address per interval; records this one */
int
store_notice_allowed(struct store *st, const char *addr, long long now, int interval)
{
	long long last = st_hashed_scalar(st, "SELECT last FROM notices WHERE addr_hash = ?2",
	    "", addr, 0);

	if (last < 0)
		return STORE_ERR;
	if (last > 0 && now - last < interval)
		return 0;
	if (st_hashed(st, "INSERT OR REPLACE INTO notices (addr_hash, last) VALUES (?2, ?3)",
	    "", addr, now) != STORE_OK)
		return STORE_ERR;
	return 1;
}

/*
 * Post counts are keyed by a hash of (list, day, address) under the tag
 * "count" - no other table holds it and no other day shares it - and one
 * total a member under "count-total" (day -1): a disk image without the
 * key joins them neither to members.addr_hash nor across days.
 */
#define COUNT_TOTAL_DAY	(-1)

/* count_prep - sql with ?1 list, ?2 the count key of (day, addr), ?3 day */
static sqlite3_stmt *
count_prep(struct store *st, const char *sql, const char *list,
    const char *addr, long long day)
{
	sqlite3_stmt *s = st_prep(st, sql);
	char *t = NULL;
	int rc;

	if (s == NULL)
		return NULL;
	if (day == COUNT_TOTAL_DAY)
		rc = asprintf(&t, "%s", addr);
	else
		rc = asprintf(&t, "%lld:%s", day, addr);
	if (rc < 0) {
		st_done(st, s);
		st_fail(st, "out of memory");
		return NULL;
	}
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	rc = st_bind_tagged(st, s, 2, list, day == COUNT_TOTAL_DAY ?
	    "count-total" : "count", t);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)day);
	free(t);
	if (rc < 0) {
		st_done(st, s);
		return NULL;
	}
	return s;
}

/* count_get - the count of (list, addr, day); STORE_ERR on error */
static long long
count_get(struct store *st, const char *list, const char *addr, long long day)
{
	sqlite3_stmt *s = count_prep(st, "SELECT coalesce(sum(n), 0) FROM "
	    "post_counts WHERE list = ?1 AND addr_hash = ?2 AND day = ?3",
	    list, addr, day);

	if (s == NULL)
		return STORE_ERR;
	return st_step_scalar(st, s, 0);
}

/* count_bump - add n to one count row */
static int
count_bump(struct store *st, const char *list, const char *addr, long long day,
    long long n)
{
	sqlite3_stmt *s = count_prep(st, "INSERT INTO post_counts (list, "
	    "addr_hash, day, n) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (list, "
	    "addr_hash, day) DO UPDATE SET n = n + ?4", list, addr, day);

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 4, (sqlite3_int64)n);
	return st_step_done(st, s);
}

/* st_count_add - n more posts by addr on list on day, and in its total */
int
st_count_add(struct store *st, const char *list, const char *addr,
    long long day, long long n)
{
	if (count_bump(st, list, addr, day, n) != STORE_OK)
		return STORE_ERR;
	return count_bump(st, list, addr, COUNT_TOTAL_DAY, n);
}

/* store_post_total - every post counted for addr on list, any day */
int
store_post_total(struct store *st, const char *list, const char *addr)
{
	return (int)count_get(st, list, addr, COUNT_TOTAL_DAY);
}

/* store_post_count - posts by addr to list on day (days since the epoch), after adding `add` */
int
store_post_count(struct store *st, const char *list, const char *addr, long long day, int add)
{
	if (add && st_count_add(st, list, addr, day, 1) != STORE_OK)
		return STORE_ERR;
	return (int)count_get(st, list, addr, day);
}
