/*
 * test_store_bind.c - a look-up key that cannot be made is an error, not
 * "not found" (#15, review11). The keyed hash of "tag:text" is built with
 * asprintf; this test's link wraps it (WRAP_test_store_bind in the
 * Makefile) so that, once fail_tagged is set, every "%s:%s" fails as it
 * would out of memory. Each look-up must then give STORE_ERR (or NULL)
 * with store_failed set, and each write must write nothing.
 */
#include "testutil.h"
#include <stdarg.h>

#include "../../mlistd/mail/store.h"

/* dir, keys, st (its database at dbpath); setup and teardown */
TU_STORE_FIXTURE

static int fail_tagged;
static int failed_calls;

int __wrap___asprintf_chk(char **, int, const char *, ...);
int __wrap_asprintf(char **, const char *, ...);

/* tagged_vasprintf - vasprintf, failing "%s:%s" while fail_tagged is set */
static int
tagged_vasprintf(char **out, const char *fmt, va_list ap)
{
	if (fail_tagged && strcmp(fmt, "%s:%s") == 0) {
		failed_calls++;
		*out = NULL;
		return -1;
	}
	return vasprintf(out, fmt, ap);
}

/* __wrap___asprintf_chk - asprintf as _FORTIFY_SOURCE calls it */
int
__wrap___asprintf_chk(char **out, int flag, const char *fmt, ...)
{
	va_list ap;
	int rc;

	(void)flag;
	va_start(ap, fmt);
	rc = tagged_vasprintf(out, fmt, ap);
	va_end(ap);
	return rc;
}

/* __wrap_asprintf - asprintf in a build without _FORTIFY_SOURCE */
int
__wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = tagged_vasprintf(out, fmt, ap);
	va_end(ap);
	return rc;
}

static const char FPR[] = "0123456789ABCDEF0123456789ABCDEF01234567";

/* populate - a member with a pseudonym, a handle, a key, a message id */
static void
populate(void)
{
	char out[64];

	ck_assert_int_eq(store_member_add(st, "demo", "rosa@example.org",
	    NULL), STORE_OK);
	ck_assert_int_eq(store_member_set_pseudonym(st, "demo",
	    "rosa@example.org", "Rosa", "rosa", "h1"), STORE_OK);
	ck_assert_int_eq(store_pseudonym_key_put(st, "demo", "h1", FPR,
	    "secret", 6, 1000), STORE_OK);
	ck_assert_int_eq(store_msgid_put(st, "demo", "<a@x>", "<l@x>", 1),
	    STORE_OK);
	ck_assert_int_eq(store_outer_put(st, "demo", "<o@x>", "<r@x>", NULL,
	    1, 0), STORE_OK);
	ck_assert_int_eq(store_member_pgp_put(st, "demo", "rosa@example.org",
	    "k", 1, FPR, 0), 0);
	/* the look-ups find what is there while the keys can be made */
	ck_assert_int_eq(store_msgid_map(st, "demo", "<a@x>", out,
	    sizeof(out)), STORE_OK);
	ck_assert_int_eq(store_outer_map(st, "demo", "<o@x>", out,
	    sizeof(out), NULL), STORE_OK);
	fail_tagged = 1;
}

/* is_err - rc is STORE_ERR and the store says the call failed */
#define is_err(rc) do {							\
	ck_assert_int_eq((rc), STORE_ERR);				\
	ck_assert_int_eq(store_failed(st), 1);				\
} while (0)

/* is_null_err - a look-up returning a string: NULL, and a failure */
#define is_null_err(p) do {						\
	char *p_ = (p);							\
	ck_assert_ptr_null(p_);						\
	ck_assert_int_eq(store_failed(st), 1);				\
} while (0)

START_TEST(lookups_fail_not_miss)
{
	struct buf key;
	char out[64], *addr = NULL;

	populate();
	buf_init(&key, 0);
	is_null_err(store_member_by_handle(st, "demo", "h1", 0));
	is_null_err(store_member_by_pseudonym(st, "demo", "rosa"));
	is_err(store_pseudonym_given_up(st, "demo", "rosa", 0));
	is_err(store_msgid_map(st, "demo", "<a@x>", out, sizeof(out)));
	is_err(store_outer_map(st, "demo", "<o@x>", out, sizeof(out), NULL));
	is_err(store_pseudonym_key_get(st, "demo", "h1", &key));
	is_err(store_pgp_fpr_member(st, "demo", FPR, &addr));
	ck_assert_ptr_null(addr);
	is_err(store_post_count(st, "demo", "rosa@example.org", 1, 0));
	is_err(store_post_total(st, "demo", "rosa@example.org"));
	ck_assert_int_gt(failed_calls, 0);
	buf_free(&key);
}
END_TEST

START_TEST(writes_fail_and_write_nothing)
{
	char out[64];

	populate();
	is_err(store_msgid_put(st, "demo", "<b@x>", "<m@x>", 2));
	is_err(store_outer_put(st, "demo", "<p@x>", "<q@x>", NULL, 2, 0));
	is_err(store_member_set_pseudonym(st, "demo", "rosa@example.org",
	    "Rose", "rose", "h2"));
	is_err(store_pseudonym_key_put(st, "demo", "h3", FPR, "s", 1, 2));
	is_err(store_post_count(st, "demo", "rosa@example.org", 1, 1));
	fail_tagged = 0;
	/* nothing half-written: the old rows stand, the new ones are not there */
	ck_assert_int_eq(store_msgid_map(st, "demo", "<b@x>", out,
	    sizeof(out)), STORE_NOTFOUND);
	ck_assert_int_eq(store_outer_map(st, "demo", "<p@x>", out,
	    sizeof(out), NULL), STORE_NOTFOUND);
	ck_assert_int_eq(store_post_total(st, "demo", "rosa@example.org"), 0);
	{
		char *a = store_member_by_pseudonym(st, "demo", "rosa");

		ck_assert_str_eq(a, "rosa@example.org");
		free(a);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_bind");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lookups_fail_not_miss);
	tcase_add_test(tc, writes_fail_and_write_nothing);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
