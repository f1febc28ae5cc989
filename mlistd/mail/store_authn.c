/*
 * store_authn.c - the sender authentication's own state: the instance-wide
 * budget of answers to senders the list could not verify. It is kept in
 * the database, not in the queue manager's memory, so that a restart (or a
 * crash an attacker provokes) does not hand out a fresh hour's budget.
 */
#include "store_int.h"

/*
 * store_answer_budget - take one answer from the budget of `hour` (hours
 * since the epoch), at most `limit` an hour: 1 taken, 0 spent, STORE_ERR.
 * A new hour starts the count again; the row is the only one.
 */
int
store_answer_budget(struct store *st, long long hour, int limit)
{
	sqlite3_stmt *s;
	long long used;

	/* a row from an earlier hour counts for nothing: start this one at 0 */
	if ((s = st_prep(st, "INSERT INTO answer_budget (id, hour, answers) "
	    "VALUES (1, ?1, 0) ON CONFLICT (id) DO UPDATE SET hour = ?1, "
	    "answers = 0 WHERE hour <> ?1")) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, hour);
	if (st_step_done(st, s) != STORE_OK)
		return STORE_ERR;
	used = st_scalar(st, "SELECT answers FROM answer_budget WHERE id = 1",
	    NULL, NULL, 0);
	if (used < 0)
		return STORE_ERR;
	if (used >= limit)
		return 0;
	if (st_exec(st, "UPDATE answer_budget SET answers = answers + 1 "
	    "WHERE id = 1") != STORE_OK)
		return STORE_ERR;
	return 1;
}
