/* test_envid.c - envid.c: an envelope id names its transaction only. */
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

/* made, then read back: the same transaction; short, xtext as it is */
START_TEST(round_trip)
{
	struct keys *k = keys_of(1);
	char e[ENVID_MAX], e2[ENVID_MAX], qid[32];
	long long lo, hi;

	ck_assert_int_eq(envid_make(k, QID, 9223372036854775000LL,
	    9223372036854775807LL, e, sizeof(e)), 0);
	ck_assert_int_le(strlen(e), 100);
	for (const char *c = e; *c; c++)
		ck_assert(*c > 32 && *c < 127 && *c != '+' && *c != '=');
	ck_assert_int_eq(envid_check(k, e, qid, sizeof(qid), &lo, &hi), 0);
	ck_assert_str_eq(qid, QID);
	ck_assert(lo == 9223372036854775000LL && hi == 9223372036854775807LL);
	ck_assert_int_eq(envid_make(k, "0123456789ABCDEF", 17, 19, e,
	    sizeof(e)), 0);		/* a queue id of the first form */
	ck_assert_int_eq(envid_check(k, e, qid, sizeof(qid), &lo, &hi), 0);
	ck_assert(lo == 17 && hi == 19);
	ck_assert_str_eq(qid, "0123456789ABCDEF");
	/* too small a buffer: refused, not cut; not a queue id: refused */
	ck_assert_int_eq(envid_make(k, QID, 17, 19, e, 20), -1);
	ck_assert_int_eq(envid_make(k, "6B1", 17, 19, e, sizeof(e)), -1);
	ck_assert_int_eq(envid_make(k, "", 17, 19, e, sizeof(e)), -1);
	/* it shows neither the post nor whether two name one transaction */
	ck_assert_int_eq(envid_make(k, QID, 17, 19, e, sizeof(e)), 0);
	ck_assert_int_eq(envid_make(k, QID, 17, 19, e2, sizeof(e2)), 0);
	ck_assert_str_ne(e, e2);
	ck_assert_ptr_null(strstr(e, QID));
	keys_free(k);
}
END_TEST

/* another key's, one changed character, cut short, the first form: not ours */
START_TEST(forgeries)
{
	struct keys *k = keys_of(1), *other = keys_of(2);
	char e[ENVID_MAX], f[ENVID_MAX], qid[32];
	long long lo, hi;
	size_t n;

	ck_assert_int_eq(envid_make(other, QID, 17, 19, e, sizeof(e)), 0);
	ck_assert_int_eq(envid_check(k, e, qid, sizeof(qid), &lo, &hi), -1);
	ck_assert_int_eq(envid_make(k, QID, 17, 19, e, sizeof(e)), 0);
	n = strlen(e);
	for (size_t i = 0; i < n; i++) {
		memcpy(f, e, n + 1);
		f[i] = f[i] == 'A' ? 'B' : 'A';
		ck_assert_int_eq(envid_check(k, f, qid, sizeof(qid), &lo,
		    &hi), -1);
		f[i] = 0;
		ck_assert_int_eq(envid_check(k, f, qid, sizeof(qid), &lo,
		    &hi), -1);
	}
	ck_assert_int_eq(envid_check(k, "", qid, sizeof(qid), &lo, &hi), -1);
	ck_assert_int_eq(envid_check(k, "M1." QID ".17.19."
	    "0123456789abcdef01234567", qid, sizeof(qid), &lo, &hi), -1);
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
