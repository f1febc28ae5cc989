/*
 * test_keys_ref.c - the names the audit log gives members and pseudonyms:
 * known answers, since a log written by an older build must still name the
 * same person with the same reference.
 */
#include "testutil.h"

START_TEST(known_answers)
{
	struct keys *k = tu_keys();
	char a[64], b[64];

	keys_member_ref(k, "demo", 5, a, sizeof(a));
	ck_assert_str_eq(a, "member bcf1d83722");
	keys_member_ref(k, "demo", 6, b, sizeof(b));
	ck_assert_str_ne(a, b);
	keys_pseudonym_ref(k, "demo", "redfly", a, sizeof(a));
	ck_assert_str_eq(a, "pseudonym b5893627cd");
	/* the list is in the hash: another list, another name */
	keys_pseudonym_ref(k, "other", "redfly", b, sizeof(b));
	ck_assert_str_ne(a, b);
	/* a short buffer gets a cut, terminated name */
	keys_member_ref(k, "demo", 5, a, 8);
	ck_assert_str_eq(a, "member ");
	keys_free(k);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("keys_ref");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, known_answers);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
