/*
 * store_rolekey.c - the fingerprint of the moderators' role key last
 * announced to a list's members (leadership/rolekey.c decides when).
 */
#include "store_int.h"

/*
 * store_role_announced - list's announced fingerprint into fpr; STORE_OK,
 * STORE_NOTFOUND (never recorded), or STORE_ERR
 */
int
store_role_announced(struct store *st, const char *list, char *fpr, size_t n)
{
	sqlite3_stmt *s = st_prep(st, "SELECT fingerprint FROM role_announced "
	    "WHERE list = ?1");
	int rc;

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(fpr, n, "%s", (const char *)sqlite3_column_text(s, 0));
		rc = STORE_OK;
	} else
		rc = rc == SQLITE_DONE ? STORE_NOTFOUND : st_db_fail(st);
	st_done(st, s);
	return rc;
}

/* store_role_announced_set - fpr is what list's members know from now on */
int
store_role_announced_set(struct store *st, const char *list, const char *fpr,
    long long at)
{
	sqlite3_stmt *s = st_prep(st, "INSERT INTO role_announced (list, "
	    "fingerprint, at) VALUES (?1, ?2, ?3) ON CONFLICT (list) DO UPDATE "
	    "SET fingerprint = ?2, at = ?3");

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, fpr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)at);
	return st_step_done(st, s);
}
