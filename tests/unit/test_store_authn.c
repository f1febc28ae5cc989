/* test_store_authn.c - the instance's answer budget: per hour, kept across a reopen. */
#include "testutil.h"

#include "../../mlistd/mail/store.h"

/* one step of the table: take an answer in hour, expect rc; reopen the store first? */
static const struct {
	long long	 hour;
	int		 reopen;
	int		 want;
} steps[] = {
	{ 100, 0, 1 }, { 100, 0, 1 }, { 100, 0, 1 },
	{ 100, 1, 0 },		/* spent: a restart does not renew it */
	{ 100, 0, 0 },
	{ 101, 0, 1 },		/* a new hour counts from 0 */
	{ 101, 1, 1 }, { 101, 0, 1 }, { 101, 0, 0 },
	{ 99, 0, 1 },		/* a clock stepped back is another hour too */
};

START_TEST(budget_per_hour_across_reopen)
{
	char *dir = tu_tmpdir(), path[4200];
	struct keys *keys = tu_keys();
	struct store *st;
	struct buf err;

	snprintf(path, sizeof(path), "%s/mlistd.db", dir);
	buf_init(&err, 0);
	st = store_open(path, keys, &err);
	ck_assert_msg(st != NULL, "%s", buf_cstr(&err));
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].reopen) {
			store_close(st);
			st = store_open(path, keys, &err);
			ck_assert_msg(st != NULL, "%s", buf_cstr(&err));
		}
		ck_assert_msg(store_answer_budget(st, steps[i].hour, 3) == steps[i].want,
		    "step %zu: hour %lld", i, steps[i].hour);
	}
	ck_assert_int_eq(store_answer_budget(st, 7, 0), 0);	/* a budget of 0 answers none */
	store_close(st);
	buf_free(&err);
	keys_free(keys);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_authn");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, budget_per_hour_across_reopen);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
