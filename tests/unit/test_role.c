/* test_role.c - a member's role: its names, its parse, who leads (a table). */
#include "testutil.h"
#include "../../mlistd/mail/role.h"

/* every text mlistctl or a stored row may carry, and what it means */
static const struct {
	const char	*text;
	int		 ok;		/* role_parse accepts it */
	enum role	 role;		/* ... as this */
	int		 leads;		/* ... which moderates and votes */
} roles[] = {
	{ "member", 1, ROLE_MEMBER, 0 },
	{ "moderator", 1, ROLE_MODERATOR, 1 },
	{ "owner", 1, ROLE_OWNER, 1 },
	{ "operator", 0, 0, 0 },	/* mlistctl's token, never a member's role */
	{ "Owner", 0, 0, 0 },		/* exactly: the column's CHECK is case-sensitive */
	{ "owner ", 0, 0, 0 },
	{ "moderators", 0, 0, 0 },
	{ "", 0, 0, 0 },
	{ "king", 0, 0, 0 },
};

START_TEST(parse_name_leads)
{
	enum role r = (enum role)99;

	if (!roles[_i].ok) {
		ck_assert_int_eq(role_parse(roles[_i].text, &r), -1);
		ck_assert_int_eq(r, 99);	/* untouched */
		return;
	}
	ck_assert_int_eq(role_parse(roles[_i].text, &r), 0);
	ck_assert_int_eq(r, roles[_i].role);
	ck_assert_str_eq(role_name(r), roles[_i].text);
	ck_assert_int_eq(role_leads(r), roles[_i].leads);
}
END_TEST

START_TEST(edges)
{
	enum role r = ROLE_OWNER;

	ck_assert_int_eq(role_parse(NULL, &r), -1);
	ck_assert_int_eq(r, ROLE_OWNER);
	/* a value that is no role names the least of them, and does not lead */
	ck_assert_str_eq(role_name((enum role)7), "member");
	ck_assert_int_eq(role_leads((enum role)7), 0);
	ck_assert_str_eq(ROLE_CHOICES, "member|moderator|owner");
}
END_TEST

#define N(a)	((int)(sizeof(a) / sizeof((a)[0])))

int
main(void)
{
	Suite *s = suite_create("role");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, parse_name_leads, 0, N(roles));
	tcase_add_test(tc, edges);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
