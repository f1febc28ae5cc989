/*
 * store_archive.c - the list archive and the digest's waiting posts, both
 * sealed with the field key.
 */
#include "store_int.h"

/*
 * store_archive_add - a distributed post, sealed, with its sealed one-line
 * summary; its number in *num (NULL: not wanted)
 */
int
store_archive_add(struct store *st, const char *list, long long at,
    const char *summary, const void *msg, size_t len, long long *num)
{
	long long n = st_scalar(st, "SELECT coalesce(max(n), 0) + 1 FROM archive WHERE list = ?1", list, NULL, 1);
	sqlite3_stmt *s;
	struct st_place ps, pm;

	/* the number is the row's key, in both seals: known before the row is in */
	if (n < 1 || (s = st_prep(st, "INSERT INTO archive (list, n, at, summary, msg) "
	    "VALUES (?1, ?5, ?2, ?3, ?4)")) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)at);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)n);
	st_place(&ps, "archive.summary");
	st_place_text(&ps, list);
	st_place_int(&ps, n);
	st_place(&pm, "archive.msg");
	st_place_text(&pm, list);
	st_place_int(&pm, n);
	if (st_bind_sealed(st, s, 3, summary, &ps) < 0 ||
	    st_bind_sealed_bytes(st, s, 4, msg, len, &pm) < 0) {
		st_done(st, s);
		return STORE_ERR;
	}
	if (num)
		*num = n;
	return st_step_done(st, s);
}

/* store_archive_each - posts since `since` (0: all), oldest first: number, time, summary */
int
store_archive_each(struct store *st, const char *list, long long since, store_archive_fn fn, void *arg)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT n, at, summary, list FROM "
	    "archive WHERE list = ?1 AND at >= ?2 "
	    "ORDER BY n", "tl", list, since);
	struct st_place pl;
	int rc, n = 0;
	char *sum;

	if (!s)
		return STORE_ERR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		st_place_cols(&pl, s, "archive.summary", 3, 1);
		st_place_int(&pl, sqlite3_column_int64(s, 0));
		if ((sum = st_column_opened(st, s, 2, &pl)) == NULL) {
			rc = SQLITE_ERROR;
			break;
		}
		fn(sqlite3_column_int(s, 0), sqlite3_column_int64(s, 1), sum, arg);
		free(sum);
		n++;
	}
	st_done(st, s);
	return rc == SQLITE_DONE ? n : STORE_ERR;
}

/* store_archive_get - post number n (decrypted into out) with its time */
int
store_archive_get(struct store *st, const char *list, int n, long long *at, struct buf *out)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT at, msg FROM archive WHERE "
	    "list = ?1 AND n = ?2", "ti", list, n);
	struct st_place pl;
	int rc;

	if (!s)
		return STORE_ERR;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*at = sqlite3_column_int64(s, 0);
		st_place(&pl, "archive.msg");
		st_place_text(&pl, list);
		st_place_int(&pl, n);
		if (st_opened_bytes(st, s, 1, out, &pl) != 0) {
			st_fail(st, "an archived post does not open");
			rc = SQLITE_ERROR;
		}
	}
	st_done(st, s);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
}

/*
 * store_digest_add - a distributed copy waits for the next digest (sealed
 * to its row: the list and the id, known once the row is in)
 */
int
store_digest_add(struct store *st, const char *list, long long at, const void *msg, size_t len)
{
	sqlite3_stmt *s = st_prep_bind(st, "INSERT INTO digest_posts (list, "
	    "at, msg) VALUES (?1, ?2, x'')", "tl", list, at);
	long long id = st_step_id(st, s);
	struct st_place pl;

	if (id < 0 || (s = st_prep_bind(st, "UPDATE digest_posts SET msg = ?2 "
	    "WHERE id = ?1", "l", id)) == NULL)
		return STORE_ERR;
	st_place(&pl, "digest_posts.msg");
	st_place_text(&pl, list);
	st_place_int(&pl, id);
	return st_step_if(st, s,
	    st_bind_sealed_bytes(st, s, 2, msg, len, &pl));
}

/*
 * store_digest_add_archived - a distributed copy waits for the next digest
 * as a reference to its archive row (list, n), which the caller has just
 * written: the same bytes are not sealed and committed a second time (a
 * 2-6 MB post's pass held the queue manager's loop for both, #15). The
 * archive's expiry keeps a row a waiting post names (store_identity.c).
 */
int
store_digest_add_archived(struct store *st, const char *list, long long at,
    long long n)
{
	sqlite3_stmt *s = st_prep_bind(st, "INSERT INTO digest_posts (list, "
	    "at, msg) VALUES (?1, ?2, x'')", "tl", list, at);
	long long id = st_step_id(st, s);

	if (id < 0 || (s = st_prep_bind(st, "INSERT INTO digest_archived "
	    "(id, n) VALUES (?1, ?2)", "ll", id, n)) == NULL)
		return STORE_ERR;
	return st_step_done(st, s);
}

/* the archive row a waiting post names (NULL: it holds its own copy) */
#define DIGEST_REF "(SELECT r.n FROM digest_archived r WHERE r.id = d.id)"
/* the bytes of a waiting post: its own sealed copy or its archive row's */
#define DIGEST_MSG "coalesce((SELECT a.msg FROM archive a WHERE " \
	"a.list = d.list AND a.n = " DIGEST_REF "), d.msg)"

/* store_digest_pending - how many posts and bytes wait; when the last digest went (0: never) */
int
store_digest_pending(struct store *st, const char *list, int *n, long long *bytes, long long *last, int *issue)
{
	/*
	 * length() of a blob column reads no overflow page, so no post is
	 * read here (the periodic jobs ask after every message); through
	 * DIGEST_MSG's subquery each archived post was read whole
	 */
	sqlite3_stmt *s = st_prep_bind(st, "SELECT count(*), "
	    "coalesce(sum(length(msg)), 0) + coalesce((SELECT "
	    "sum(length(a.msg)) FROM digest_posts d2 JOIN digest_archived r "
	    "ON r.id = d2.id JOIN archive a ON a.list = d2.list AND "
	    "a.n = r.n WHERE d2.list = ?1), 0), "
	    "coalesce((SELECT last FROM digest_state WHERE list = ?1), min(at)), "
	    "coalesce((SELECT issue FROM digest_state WHERE list = ?1), 0) "
	    "FROM digest_posts d WHERE list = ?1", "t", list);
	int rc;

	if (!s)
		return STORE_ERR;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*n = sqlite3_column_int(s, 0);
		*bytes = sqlite3_column_int64(s, 1);
		*last = sqlite3_column_int64(s, 2);
		*issue = sqlite3_column_int(s, 3);
	}
	st_done(st, s);
	return rc == SQLITE_ROW ? STORE_OK : STORE_ERR;
}

/* digest_taken - the list's waiting posts gone, its next issue counted */
static int
digest_taken(struct store *st, const char *list, long long now)
{
	sqlite3_stmt *s = st_prep(st,
	    "DELETE FROM digest_posts WHERE list = ?1");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if (st_step_done(st, s) != STORE_OK ||
	    (s = st_prep(st, "INSERT INTO digest_state (list, last, issue) "
	    "VALUES (?1, ?2, 1) ON CONFLICT (list) DO UPDATE SET last = ?2, "
	    "issue = issue + 1")) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	return st_step_done(st, s);
}

/*
 * digest_place - where the bytes of store_digest_take's row were sealed:
 * its archive row (list, its n) or its own (list, id)
 */
static void
digest_place(struct st_place *pl, sqlite3_stmt *s)
{
	if (sqlite3_column_type(s, 4) == SQLITE_NULL) {
		st_place_cols(pl, s, "digest_posts.msg", 2, 2);
		return;
	}
	st_place(pl, "archive.msg");
	st_place_text(pl, (const char *)sqlite3_column_text(s, 2));
	st_place_int(pl, sqlite3_column_int64(s, 4));
}

/* store_digest_take - every waiting post, oldest first (fn gets each, decrypted); then they are gone */
int
store_digest_take(struct store *st, const char *list, long long now, store_digest_fn fn, void *arg)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT d.at, " DIGEST_MSG ", "
	    "d.list, d.id, " DIGEST_REF " FROM digest_posts d WHERE d.list = ?1 "
	    "ORDER BY d.id", "t", list);
	struct st_place pl;
	struct buf b;
	int rc, n = 0;

	if (!s)
		return STORE_ERR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		buf_init(&b, 0);
		digest_place(&pl, s);
		if (st_opened_bytes(st, s, 1, &b, &pl) != 0) {
			/* nothing is deleted: the waiting posts stay for a retry */
			buf_free(&b);
			st_fail(st, "a post waiting for the digest does not open");
			rc = SQLITE_ERROR;
			break;
		}
		fn(sqlite3_column_int64(s, 0), &b, arg);
		n++;
		buf_free(&b);
	}
	st_done(st, s);
	if (rc != SQLITE_DONE)
		return STORE_ERR;
	return digest_taken(st, list, now) == STORE_OK ? n : STORE_ERR;
}

/*
 * store_digest_skip - store_digest_take for a digest nobody takes: the
 * waiting posts go unopened (a flood of big posts had each decrypted,
 * rendered and signed again in the queue manager's loop for nobody,
 * #15); how many, or STORE_ERR
 */
int
store_digest_skip(struct store *st, const char *list, long long now)
{
	int n = (int)st_scalar(st,
	    "SELECT count(*) FROM digest_posts WHERE list = ?1", list, NULL,
	    STORE_ERR);

	if (n <= 0)
		return n;
	return digest_taken(st, list, now) == STORE_OK ? n : STORE_ERR;
}

/* store_digest_due_now - the next digest of the list goes out at once (mlistctl digest send) */
int
store_digest_due_now(struct store *st, const char *list)
{
	sqlite3_stmt *s = st_prep_bind(st, "INSERT INTO digest_state (list, "
	    "last, issue) VALUES (?1, 1, 0) "
	    "ON CONFLICT (list) DO UPDATE SET last = 1", "t", list);

	if (!s)
		return STORE_ERR;
	return st_step_done(st, s);
}
