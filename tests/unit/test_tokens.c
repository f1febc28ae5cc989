/*
 * test_tokens.c - one take for every kind of confirmation token
 * (store_confirm_take): it says the kind, what the token is bound to and
 * to which member it went; it works once; expired tokens and another
 * list's do nothing. And a failure's cause (util/why.c) is never SQLite's
 * "not an error".
 */
#include "testutil.h"
#include "../../mlistd/mail/store.h"
#include "../../mlistd/util/why.h"

static char *dir;
static struct keys *keys;
static struct store *st;

static void
setup(void)
{
	char dbpath[4200];

	dir = tu_tmpdir();
	keys = tu_keys();
	snprintf(dbpath, sizeof(dbpath), "%s/mlistd.db", dir);
	st = tu_store(dbpath, keys);
	ck_assert_int_eq(store_member_add(st, "demo", "alice@example.org", NULL), STORE_OK);
}

static void
teardown(void)
{
	store_close(st);
	keys_free(keys);
	tu_rmrf(dir);
	free(dir);
}

/* every kind the list issues: added, then taken once with its kind and binding */
static const struct {
	const char	*kind;
	const char	*out_id;
	const char	*bound;
	const char	*addr;
	int		 member;	/* addr is a member: the take names it */
	int		 op;		/* mlistctl issued it (addr "operator") */
} kinds[] = {
	{ "post",	"AAAAAAAAAAAA",	"hash-of-the-copy",	"alice@example.org",	1, 0 },
	{ "key",	"",		"public-key-bytes",	"alice@example.org",	1, 0 },
	{ "command",	"",		"sealed-commands",	"nobody@example.net",	0, 0 },
	{ "moderate",	"BBBBBBBBBBBB",	"",			"alice@example.org",	1, 0 },
	{ "moderate",	"CCCCCCCCCCCC",	"",			"operator",		0, 1 },
	{ "quorum",	"17",		"",			"alice@example.org",	1, 0 },
	{ "vouch",	"18",		"",			"nobody@example.net",	0, 0 },
};

START_TEST(take_returns_kind_once)
{
	struct store_token t;
	char token[41];

	snprintf(token, sizeof(token), "%040d", _i);
	ck_assert_int_eq(store_confirm_add(st, kinds[_i].kind, token, "demo", kinds[_i].out_id,
	    (const unsigned char *)kinds[_i].bound, strlen(kinds[_i].bound), kinds[_i].addr, 2000), STORE_OK);
	ck_assert_int_eq(store_confirm_take(st, token, "other", 1000, &t), STORE_NOTFOUND);
	ck_assert_ptr_null(t.addr);
	ck_assert_int_eq(store_confirm_take(st, token, "demo", 1000, &t), STORE_OK);
	ck_assert_str_eq(t.kind, kinds[_i].kind);
	ck_assert_str_eq(t.out_id, kinds[_i].out_id);
	ck_assert_uint_eq(t.bound.len, strlen(kinds[_i].bound));
	ck_assert(memcmp(t.bound.data ? (const char *)t.bound.data : "", kinds[_i].bound, t.bound.len) == 0);
	if (kinds[_i].member) {
		ck_assert_ptr_nonnull(t.addr);
		ck_assert_str_eq(t.addr, kinds[_i].addr);
		ck_assert_int_eq(t.role, ROLE_MEMBER);
	} else {
		ck_assert_ptr_null(t.addr);
	}
	ck_assert_int_eq(t.operator, kinds[_i].op);
	buf_free(&t.bound);
	free(t.addr);
	/* spent: a second answer with the same token does nothing */
	ck_assert_int_eq(store_confirm_take(st, token, "demo", 1000, &t), STORE_NOTFOUND);
}
END_TEST

START_TEST(expired_token_is_not_taken)
{
	struct store_token t;
	const char *token = "00000000000000000000000000000000000000ff";

	ck_assert_int_eq(store_confirm_add(st, "post", token, "demo", "CCCCCCCCCCCC",
	    (const unsigned char *)"h", 1, "alice@example.org", 2000), STORE_OK);
	ck_assert_int_eq(store_confirm_take(st, token, "demo", 2000, &t), STORE_NOTFOUND);
	ck_assert_int_eq(store_confirm_take(st, "unknown", "demo", 1000, &t), STORE_NOTFOUND);
	ck_assert_int_eq(store_confirm_take(st, token, "demo", 1999, &t), STORE_OK);
	buf_free(&t.bound);
	free(t.addr);
}
END_TEST

START_TEST(why_keeps_the_first_cause_and_never_says_not_an_error)
{
	struct why w = { "" };

	ck_assert_str_eq(why_text(&w), "cause not recorded");
	why_cause(&w, "distribute: queueing the deliveries", "not an error");
	ck_assert_str_eq(why_text(&w), "distribute: queueing the deliveries failed");
	why_cause(&w, "commit", "database is locked");	/* a consequence: the first cause stays */
	ck_assert_str_eq(why_text(&w), "distribute: queueing the deliveries failed");
	memset(&w, 0, sizeof(w));
	why_cause(&w, "commit", "database is locked");
	ck_assert_str_eq(why_text(&w), "commit: database is locked");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tokens");
	TCase *tc = tcase_create("take");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, take_returns_kind_once, 0, (int)(sizeof(kinds) / sizeof(kinds[0])));
	tcase_add_test(tc, expired_token_is_not_taken);
	tcase_add_test(tc, why_keeps_the_first_cause_and_never_says_not_an_error);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
