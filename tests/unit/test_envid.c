/* test_envid.c - envid.c: the envelope id names its transaction, and only ours. */
#include "testutil.h"
#include "../../mlistd/delivery/envid.h"

#define QID	"6B101E12AEC9E86C4411CECC"

/* keys_of - keys from a master key of bytes b */
static struct keys *
keys_of(int b)
{
	unsigned char master[KEYS_LEN];
	struct keys *k;

	memset(master, b, sizeof(master));
	ck_assert_ptr_nonnull(k = keys_from_master(master));
	return k;
}

/* made, then read back: the same transaction; short, and xtext as it is */
START_TEST(round_trip)
{
	struct keys *k = keys_of(1);
	char e[ENVID_MAX], qid[32];
	long long lo, hi;

	ck_assert_int_eq(envid_make(k, QID, 9223372036854775000LL,
	    9223372036854775807LL, e, sizeof(e)), 0);
	ck_assert_int_le(strlen(e), 100);
	for (const char *c = e; *c; c++)
		ck_assert(*c > 32 && *c < 127 && *c != '+' && *c != '=');
	ck_assert_int_eq(envid_check(k, e, qid, sizeof(qid), &lo, &hi), 0);
	ck_assert_str_eq(qid, QID);
	ck_assert(lo == 9223372036854775000LL && hi == 9223372036854775807LL);
	ck_assert_int_eq(envid_make(k, QID, 17, 19, e, sizeof(e)), 0);
	ck_assert_int_eq(envid_check(k, e, qid, sizeof(qid), &lo, &hi), 0);
	ck_assert(lo == 17 && hi == 19);
	/* too small a buffer: refused, not cut */
	ck_assert_int_eq(envid_make(k, QID, 17, 19, e, 20), -1);
	keys_free(k);
}
END_TEST

/* another key's, one changed character, a widened range: not ours */
START_TEST(forgeries)
{
	struct keys *k = keys_of(1), *other = keys_of(2);
	char e[ENVID_MAX], f[ENVID_MAX], qid[32], *dot;
	long long lo, hi;
	size_t n;

	ck_assert_int_eq(envid_make(other, QID, 17, 19, e, sizeof(e)), 0);
	ck_assert_int_eq(envid_check(k, e, qid, sizeof(qid), &lo, &hi), -1);
	ck_assert_int_eq(envid_make(k, QID, 17, 19, e, sizeof(e)), 0);
	n = strlen(e);
	for (size_t i = 0; i < n; i++) {
		memcpy(f, e, n + 1);
		f[i] = f[i] == '1' ? '2' : '1';
		ck_assert_int_eq(envid_check(k, f, qid, sizeof(qid), &lo,
		    &hi), -1);
	}
	/* the range is under the MAC: 17..19 cannot become 1..99 */
	dot = strrchr(e, '.');
	snprintf(f, sizeof(f), "M1." QID ".1.99%s", dot);
	ck_assert_int_eq(envid_check(k, f, qid, sizeof(qid), &lo, &hi), -1);
	ck_assert_int_eq(envid_check(k, "", qid, sizeof(qid), &lo, &hi), -1);
	ck_assert_int_eq(envid_check(k, "M1.", qid, sizeof(qid), &lo, &hi),
	    -1);
	/* a qid buffer too small for it: refused */
	ck_assert_int_eq(envid_check(k, e, qid, 8, &lo, &hi), -1);
	keys_free(k);
	keys_free(other);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("envid");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, forgeries);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
