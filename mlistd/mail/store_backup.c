/*
 * store_backup.c - what a backup asks of the database: one consistent
 * moment of it, pinned quickly in the queue manager's loop by a read
 * transaction on a connection of its own (its image made, encrypted and
 * written by another thread: actions/backup.c), and the
 * delivery results recorded since that image, so that a restore does not
 * send again a copy the old instance delivered while its backup was being
 * written.
 */
#include <string.h>

#include "store_int.h"

/* a second, read-only connection holding one read transaction */
struct store_reader {
	sqlite3		*db;
};

/*
 * store_backup_reader - a read transaction on a connection of its own,
 * begun now: the database as it is at this moment (its time in *at),
 * whatever this store writes afterwards, until store_backup_reader_close.
 * Taking it costs a read of the schema, not a copy: the image is made
 * from it later, by whoever holds it (another thread: the connection is
 * opened FULLMUTEX and used by that thread alone). NULL with the cause in
 * st's error.
 */
struct store_reader *
store_backup_reader(struct store *st, long long *at)
{
	const char *path = sqlite3_db_filename(st->db, "main");
	struct store_reader *r;

	st->failed = 0;
	st->cause[0] = '\0';
	*at = (long long)time(NULL);
	if (path == NULL || *path == '\0') {
		st_fail(st, "the database has no file");
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		st_fail(st, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(r->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(r->db, "BEGIN; SELECT count(*) FROM sqlite_schema;",
	    NULL, NULL, NULL) != SQLITE_OK) {
		st_fail(st, r->db ? sqlite3_errmsg(r->db) : "out of memory");
		store_backup_reader_close(r);
		return NULL;
	}
	return r;
}

/*
 * store_backup_image - the reader's database as one image (SQLite's
 * serialize), in memory that store_backup_image_free gives back. 0, or
 * -1 with why.
 */
int
store_backup_image(struct store_reader *r, unsigned char **img, size_t *len,
    char *why, size_t n)
{
	sqlite3_int64 sz = 0;

	if ((*img = sqlite3_serialize(r->db, "main", &sz, 0)) == NULL) {
		snprintf(why, n, "the database's image: %s",
		    sqlite3_errmsg(r->db));
		return -1;
	}
	*len = (size_t)sz;
	return 0;
}

/* store_backup_image_free - an image from store_backup_image */
void
store_backup_image_free(unsigned char *img)
{
	sqlite3_free(img);
}

/* store_backup_reader_close - its transaction ended, its connection closed */
void
store_backup_reader_close(struct store_reader *r)
{
	if (r == NULL)
		return;
	if (r->db) {
		(void)sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
		(void)sqlite3_close(r->db);
	}
	free(r);
}

/*
 * store_backup_late - each delivery that ended (made, or failed for good)
 * at or after `since`, as the delivery journal names it: its message, its
 * recipient's keyed hash, state, attempts, next try, error. A result from the
 * second of the image that the image holds already changes nothing when
 * replayed (only a pending row takes a result). STORE_OK or STORE_ERR.
 */
int
store_backup_late(struct store *st, long long since, store_late_fn fn,
    void *arg)
{
	sqlite3_stmt *s = st_prep(st, "SELECT qid, rcpt_hash, state, "
	    "attempts, next_try, coalesce(last_error, '-') FROM deliveries "
	    "WHERE state <> 0 AND done_at >= ?1");
	const void *h;
	int rc;

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		h = sqlite3_column_blob(s, 1);
		if (h == NULL || sqlite3_column_bytes(s, 1) != KEYS_HASH_LEN)
			continue;	/* the journal cannot name it */
		fn(arg, (const char *)sqlite3_column_text(s, 0), h,
		    sqlite3_column_int(s, 2), sqlite3_column_int(s, 3),
		    (long long)sqlite3_column_int64(s, 4),
		    (const char *)sqlite3_column_text(s, 5));
	}
	if (rc != SQLITE_DONE) {
		rc = st_db_fail(st);
		st_done(st, s);
		return rc;
	}
	st_done(st, s);
	return STORE_OK;
}
