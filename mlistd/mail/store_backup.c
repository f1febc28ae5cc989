/*
 * store_backup.c - what a backup asks of the database: one consistent
 * image of it, taken quickly in the queue manager's loop (the slow part,
 * encrypting and writing it, runs in a child: actions/backup.c), and the
 * delivery results recorded since that image, so that a restore does not
 * send again a copy the old instance delivered while its backup was being
 * written.
 */
#include <string.h>

#include "store_int.h"

/*
 * store_backup_image - the whole database as one image (SQLite's serialize
 * under one read transaction of this connection: nothing another writer
 * does half-way is in it), in memory that store_backup_image_free gives
 * back; its time in *at. Not copied again: the image of a large instance
 * is held once. STORE_OK or STORE_ERR.
 */
int
store_backup_image(struct store *st, unsigned char **img, size_t *len,
    long long *at)
{
	sqlite3_int64 n = 0;

	st->failed = 0;
	st->cause[0] = '\0';
	*at = (long long)time(NULL);
	if ((*img = sqlite3_serialize(st->db, "main", &n, 0)) == NULL)
		return st_db_fail(st);
	*len = (size_t)n;
	return STORE_OK;
}

/* store_backup_image_free - an image from store_backup_image */
void
store_backup_image_free(unsigned char *img)
{
	sqlite3_free(img);
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
	    "attempts, next_try, coalesce(last_error, '-') FROM deliveries WHERE state <> 0 AND "
	    "done_at >= ?1");
	const void *h;
	int rc;

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		h = sqlite3_column_blob(s, 1);
		if (h == NULL || sqlite3_column_bytes(s, 1) != KEYS_HASH_LEN)
			continue;	/* not a delivery the journal can name */
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
