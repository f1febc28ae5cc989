/*
 * store_outerid.c - the thread ids encrypted copies show outside, mapped
 * back to the real ones (outer_ids). A reply written to an encrypted copy
 * names its parent by that keyed hash; the list finds the real id here, so
 * that members reading in clear get the reply with its parent link. Both
 * columns are closed to a disk image: the outer id by a keyed hash, the
 * real id (on a real-name list the author's client chose it) sealed to
 * its row. Rows go with the list's archive retention.
 *
 * The sealed value is the real id, then (after a line end) the post's own
 * References chain as its clear copy carried it, ids apart by spaces: a
 * reply's client names only what the encrypted copy showed outside (the
 * parent), and the chain before it is restored from here. Rows written
 * before the chain was kept hold the id alone: read as an empty chain.
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
 * store_outer_put - on list, the outer id `outer` stands for `real`, whose
 * References chain is `chain` (NULL or "": none), written at now; rows
 * older than `before` go, 0 keeps them. The first mapping of an outer id
 * stays: a later post cannot take it over by choosing a Message-ID.
 * STORE_OK or STORE_ERR.
 */
int
store_outer_put(struct store *st, const char *list, const char *outer,
    const char *real, const char *chain, long long now, long long before)
{
	sqlite3_stmt *s;
	struct st_place pl;
	struct buf v;
	int rc;

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
	buf_init(&v, 0);
	if (buf_puts(&v, real) < 0 || (chain && *chain &&
	    buf_printf(&v, "\n%s", chain) < 0)) {
		st_done(st, s);
		buf_free(&v);
		return STORE_ERR;
	}
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	place(st, &pl, list, outer);
	rc = st_bind_tagged(st, s, 2, list, OUTER_TAG, outer);
	if (rc == 0)
		rc = st_bind_sealed(st, s, 3, buf_cstr(&v), &pl);
	buf_free(&v);
	if (rc < 0) {
		st_done(st, s);
		return STORE_ERR;
	}
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	return st_step_done(st, s);
}

/*
 * split - the sealed value: the real id into out (0 if it does not fit),
 * its chain appended to chain (NULL: not wanted); -1 out of memory
 */
static int
split(const char *v, char *out, size_t n, struct buf *chain)
{
	const char *nl = strchr(v, '\n');
	size_t idlen = nl ? (size_t)(nl - v) : strlen(v);

	if (idlen >= n)
		return 0;
	memcpy(out, v, idlen);
	out[idlen] = 0;
	if (chain && nl && buf_puts(chain, nl + 1) < 0)
		return -1;
	return 1;
}

/*
 * store_outer_map - the real id behind the outer id on list into out, and
 * its References chain appended to chain (NULL: not wanted): STORE_OK,
 * STORE_NOTFOUND (or it does not fit), STORE_ERR
 */
int
store_outer_map(struct store *st, const char *list, const char *outer,
    char *out, size_t n, struct buf *chain)
{
	sqlite3_stmt *s = st_prep_tagged(st, "SELECT real FROM outer_ids WHERE "
	    "list = ?1 AND id_hash = ?2", list, OUTER_TAG, outer);
	struct st_place pl;
	char *real = NULL;
	int rc;

	if (!s)
		return STORE_ERR;
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
	rc = split(real, out, n, chain);
	free(real);
	return rc < 0 ? STORE_ERR : rc ? STORE_OK : STORE_NOTFOUND;
}
