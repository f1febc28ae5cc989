/*
 * store_outerid.c - the thread ids encrypted copies show outside, mapped
 * back to the real ones (outer_ids). A reply written to an encrypted copy
 * names its parent by that keyed hash; the list finds the real id here, so
 * that members reading in clear get the reply with its parent link. Both
 * columns are closed to a disk image: the outer id by a keyed hash, the
 * real id (on a real-name list the author's client chose it) sealed to
 * its row. Rows go with the list's archive retention.
 */
#include "store_int.h"

#define OUTER_TAG	"outer"

/* place - where a row's real id is sealed: list and the outer id's hash */
static void
place(struct store *st, struct st_place *pl, const char *list,
    const char *outer)
{
	st_place(pl, "outer_ids.real");
	st_place_text(pl, list);
	st_place_tagged(st, pl, list, OUTER_TAG, outer);
}

/*
 * store_outer_put - on list, the outer id `outer` stands for `real`
 * (written at now; rows older than `before` go, 0 keeps them). The first
 * mapping of an outer id stays: a later post cannot take it over by
 * choosing a Message-ID. STORE_OK or STORE_ERR.
 */
int
store_outer_put(struct store *st, const char *list, const char *outer,
    const char *real, long long now, long long before)
{
	sqlite3_stmt *s;
	struct st_place pl;

	if (before > 0 && (s = st_prep(st, "DELETE FROM outer_ids WHERE "
	    "list = ?1 AND at < ?2")) != NULL) {
		sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)before);
		if (st_step_done(st, s) != STORE_OK)
			return STORE_ERR;
	}
	if ((s = st_prep(st, "INSERT OR IGNORE INTO outer_ids (list, id_hash, "
	    "real, at) VALUES (?1, ?2, ?3, ?4)")) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	st_bind_tagged(st, s, 2, list, OUTER_TAG, outer);
	place(st, &pl, list, outer);
	if (st_bind_sealed(st, s, 3, real, &pl) < 0) {
		st_done(st, s);
		return STORE_ERR;
	}
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	return st_step_done(st, s);
}

/*
 * store_outer_map - the real id behind the outer id on list into out:
 * STORE_OK, STORE_NOTFOUND (or it does not fit), STORE_ERR
 */
int
store_outer_map(struct store *st, const char *list, const char *outer,
    char *out, size_t n)
{
	sqlite3_stmt *s = st_prep(st, "SELECT real FROM outer_ids WHERE "
	    "list = ?1 AND id_hash = ?2");
	struct st_place pl;
	char *real = NULL;
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	st_bind_tagged(st, s, 2, list, OUTER_TAG, outer);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		place(st, &pl, list, outer);
		real = st_column_opened(st, s, 0, &pl);
	}
	st_done(st, s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_NOTFOUND : st_db_fail(st);
	if (real == NULL)
		return STORE_ERR;
	rc = strlen(real) < n ? STORE_OK : STORE_NOTFOUND;
	if (rc == STORE_OK)
		memcpy(out, real, strlen(real) + 1);
	free(real);
	return rc;
}
