/*
 * test_passrand.c - a message's passes draw the same bytes and time; other
 * messages, other labels and draws outside a pass differ; a forgotten
 * message starts afresh.
 */
#include <string.h>

#include <sodium.h>

#include "testutil.h"

#include "../../mlistd/pipeline/passrand.h"

/* pass - one pass over qid: two draws of "a", one of "b", the time */
static void
pass(const char *qid, unsigned char a1[16], unsigned char a2[16],
    unsigned char b1[16], long long now, long long *t)
{
	passrand_begin(qid);
	passrand_buf("a", a1, 16);
	passrand_buf("b", b1, 16);	/* between: "a" counts on its own */
	passrand_buf("a", a2, 16);
	*t = passrand_time(now);
	passrand_end();
}

START_TEST(same_in_every_pass)
{
	unsigned char a1[16], a2[16], b1[16], x1[16], x2[16], y1[16];
	long long t, u;

	ck_assert_int_ge(sodium_init(), 0);
	pass("QID1", a1, a2, b1, 1000, &t);
	pass("QID1", x1, x2, y1, 1005, &u);
	ck_assert(memcmp(a1, x1, 16) == 0 && memcmp(a2, x2, 16) == 0);
	ck_assert(memcmp(b1, y1, 16) == 0);
	ck_assert_int_eq(t, 1000);
	ck_assert_int_eq(u, 1000);	/* the first pass's time */
	/* draws of one label differ from each other and from another's */
	ck_assert(memcmp(a1, a2, 16) != 0 && memcmp(a1, b1, 16) != 0);
	/* another message: other bytes */
	pass("QID2", x1, x2, y1, 1010, &u);
	ck_assert(memcmp(a1, x1, 16) != 0);
	ck_assert_int_eq(u, 1010);
	/* a pass much later (a retry after a failure) signs at its own time */
	pass("QID1", x1, x2, y1, 1000 + 301, &u);
	ck_assert(memcmp(a1, x1, 16) == 0);
	ck_assert_int_eq(u, 1301);
	/* forgotten (committed): a new seed */
	passrand_forget("QID1");
	pass("QID1", x1, x2, y1, 1020, &u);
	ck_assert(memcmp(a1, x1, 16) != 0);
	ck_assert_int_eq(u, 1020);
	passrand_free_all();
}
END_TEST

START_TEST(fresh_outside_a_pass)
{
	unsigned char a[16], b[16];

	ck_assert_int_ge(sodium_init(), 0);
	passrand_buf("a", a, sizeof(a));
	passrand_buf("a", b, sizeof(b));
	ck_assert(memcmp(a, b, 16) != 0);
	ck_assert_int_eq(passrand_time(77), 77);
	ck_assert_int_eq(passrand_same("l", "x", 1), -1);
}
END_TEST

START_TEST(long_draws_and_copies)
{
	static unsigned char big1[200], big2[200];
	char copy[40000];

	ck_assert_int_ge(sodium_init(), 0);
	memset(copy, 'c', sizeof(copy));
	passrand_begin("QID3");
	passrand_buf("k", big1, sizeof(big1));
	ck_assert_int_eq(passrand_same("demo", copy, sizeof(copy)), -1);
	passrand_end();
	passrand_begin("QID3");
	passrand_buf("k", big2, sizeof(big2));
	ck_assert(memcmp(big1, big2, sizeof(big1)) == 0);
	/* 64-byte blocks are not repeated */
	ck_assert(memcmp(big1, big1 + 64, 64) != 0);
	ck_assert_int_eq(passrand_same("demo", copy, sizeof(copy)), 1);
	copy[sizeof(copy) - 1] = 'd';	/* the end is compared */
	ck_assert_int_eq(passrand_same("demo", copy, sizeof(copy)), 0);
	ck_assert_int_eq(passrand_same("other", copy, sizeof(copy)), -1);
	passrand_end();
	passrand_free_all();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("passrand");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, same_in_every_pass);
	tcase_add_test(tc, fresh_outside_a_pass);
	tcase_add_test(tc, long_draws_and_copies);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
