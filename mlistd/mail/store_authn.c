/*
 * store_authn.c - the sender authentication's own state: the instance-wide
 * budget of answers to senders the list could not verify. It is kept in
 * the database, not in the queue manager's memory, so that a restart (or a
 * crash an attacker provokes) does not hand out a fresh hour's budget.
 * Confirmations to a member's own registered address have a budget of
 * their own (confirm_budget), so that strangers cannot spend it.
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

/* the instance's row of a kind: "*" is no member's address */
#define ALL	"*"

/* confirm_count - this hour's count of kind for addr (ALL: everyone's) */
static long long
confirm_count(struct store *st, const char *kind, const char *addr)
{
	return st_hashed_scalar(st, "SELECT coalesce(max(n), 0) FROM "
	    "confirm_budget WHERE who = ?2", kind, addr, 0);
}

/* confirm_take - count one of kind for addr (ALL: everyone's) in hour */
static int
confirm_take(struct store *st, const char *kind, const char *addr,
    long long hour)
{
	return st_hashed(st, "INSERT INTO confirm_budget (who, hour, n) "
	    "VALUES (?2, ?3, 1) ON CONFLICT (who) DO UPDATE SET n = n + 1",
	    kind, addr, hour);
}

/*
 * store_confirm_budget - take one of kind ("" confirmations to member
 * addr, STORE_BUDGET_HELD the holds of their posts when none could be
 * asked) from the budget of `hour`: at most per_member for that address
 * and per_instance for everyone. 1 taken, 0 the member's spent, 2 the
 * instance's spent, STORE_ERR. Rows are keyed hashes of (kind, addr).
 */
int
store_confirm_budget(struct store *st, const char *kind, const char *addr,
    long long hour, int per_member, int per_instance)
{
	long long mine, all;

	/* an earlier hour's rows count for nothing, and are not kept */
	if (st_hashed(st, "DELETE FROM confirm_budget WHERE hour <> ?3", "",
	    "", hour) != STORE_OK)
		return STORE_ERR;
	if ((mine = confirm_count(st, kind, addr)) < 0 ||
	    (all = confirm_count(st, kind, ALL)) < 0)
		return STORE_ERR;
	/* a member over their limit spends nothing of the instance's */
	if (mine >= per_member)
		return 0;
	if (all >= per_instance)
		return 2;
	if (confirm_take(st, kind, addr, hour) != STORE_OK ||
	    confirm_take(st, kind, ALL, hour) != STORE_OK)
		return STORE_ERR;
	return 1;
}
