/*
 * store_bounce.c - what binds a bounce to a copy the list sent: the
 * Message-ID of each copy written (sent_msgids, kept a week, by keyed
 * hash), joined with the deliveries really made to a member; or the
 * transaction (rows of one post) that a DSN's envelope id names.
 */
#include "store_int.h"

/* the hashes' own name space: never a list's, nor the notices' "" */
#define MSGID_NS	"~msgid"

/*
 * store_copy_msgid - copy qid carries msgid (written at now); rows older
 * than `before` go at the same time. STORE_OK or STORE_ERR.
 */
int
store_copy_msgid(struct store *st, const char *qid, const char *msgid,
    long long now, long long before)
{
	sqlite3_stmt *s;

	if (st_hashed(st, "DELETE FROM sent_msgids WHERE at < ?3", "", "",
	    before) != STORE_OK)
		return STORE_ERR;
	if ((s = st_prep_member(st, "INSERT OR IGNORE INTO sent_msgids "
	    "(id_hash, qid, at) VALUES (?2, ?3, ?4)", MSGID_NS, msgid)) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 3, qid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, now);
	return st_step_done(st, s);
}

/*
 * store_delivered_msgid - did the list send addr on list a copy carrying
 * msgid (an attempt made) at or after `since`? 1 yes, 0 no, STORE_ERR.
 */
int
store_delivered_msgid(struct store *st, const char *list, const char *addr,
    const char *msgid, long long since)
{
	sqlite3_stmt *s;
	long long n;

	if ((s = st_prep_member(st, "SELECT count(*) FROM deliveries d "
	    "JOIN sent_msgids m ON m.qid = d.qid WHERE d.list = ?1 AND "
	    "d.rcpt_hash = ?2 AND m.id_hash = ?3 AND d.attempts > 0 AND "
	    "coalesce(d.done_at, d.next_try) >= ?4", list, addr)) == NULL)
		return STORE_ERR;
	st_bind_hash(st, s, 3, MSGID_NS, msgid);
	sqlite3_bind_int64(s, 4, since);
	n = st_step_scalar(st, s, 0);
	return n < 0 ? STORE_ERR : n > 0;
}

/*
 * store_delivered_in - was addr on list a recipient of qid's transaction
 * whose rows had ids in [lo, hi] (an attempt made at or after since)? The
 * envelope id a DSN returns names that range (delivery/envid.c). 1 yes,
 * 0 no, STORE_ERR.
 */
int
store_delivered_in(struct store *st, const char *list, const char *addr,
    const char *qid, long long lo, long long hi, long long since)
{
	sqlite3_stmt *s;
	long long n;

	if ((s = st_prep_member(st, "SELECT count(*) FROM deliveries WHERE "
	    "list = ?1 AND rcpt_hash = ?2 AND qid = ?3 AND id BETWEEN ?4 AND "
	    "?5 AND attempts > 0 AND coalesce(done_at, next_try) >= ?6", list,
	    addr)) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 3, qid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, lo);
	sqlite3_bind_int64(s, 5, hi);
	sqlite3_bind_int64(s, 6, since);
	n = st_step_scalar(st, s, 0);
	return n < 0 ? STORE_ERR : n > 0;
}
