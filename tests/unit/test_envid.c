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

/*
 * an original recipient: names the queue id and the one row, whatever
 * the row's number or the queue id's form it has one length
 */
START_TEST(orcpt_round_trip)
{
	static const long long rows[] = { 1, 255, 1LL << 40,
	    9223372036854775807LL };
	struct keys *k = keys_of(1);
	char o[ENVID_ORCPT_MAX], o2[ENVID_ORCPT_MAX], qid[32];
	long long row;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ck_assert_int_eq(envid_orcpt_make(k, QID, rows[i], o,
		    sizeof(o)), 0);
		ck_assert_uint_eq(strlen(o), ENVID_ORCPT_LEN);
		for (const char *c = o; *c; c++)
			ck_assert(*c > 32 && *c < 127 && *c != '+' &&
			    *c != '=' && *c != ';');
		ck_assert_int_eq(envid_orcpt_check(k, o, qid, sizeof(qid),
		    &row), 0);
		ck_assert_str_eq(qid, QID);
		ck_assert(row == rows[i]);
		ck_assert_int_eq(envid_orcpt_make(k, "0123456789ABCDEF",
		    rows[i], o2, sizeof(o2)), 0);
		ck_assert_uint_eq(strlen(o2), ENVID_ORCPT_LEN);
		ck_assert_int_eq(envid_orcpt_check(k, o2, qid, sizeof(qid),
		    &row), 0);
		ck_assert_str_eq(qid, "0123456789ABCDEF");
	}
	/* the same row twice: two values, neither showing the queue id */
	ck_assert_int_eq(envid_orcpt_make(k, QID, 17, o, sizeof(o)), 0);
	ck_assert_int_eq(envid_orcpt_make(k, QID, 17, o2, sizeof(o2)), 0);
	ck_assert_str_ne(o, o2);
	ck_assert_ptr_null(strstr(o, QID));
	ck_assert_int_eq(envid_orcpt_make(k, QID, 17, o, ENVID_ORCPT_LEN),
	    -1);
	ck_assert_int_eq(envid_orcpt_make(k, "6B1", 17, o, sizeof(o)), -1);
	keys_free(k);
}
END_TEST

/* another key's, one character changed, cut, an envelope id: not ours */
START_TEST(orcpt_forgeries)
{
	struct keys *k = keys_of(1), *other = keys_of(2);
	char o[ENVID_ORCPT_MAX], f[ENVID_ORCPT_MAX], e[ENVID_MAX], qid[32];
	long long row;

	ck_assert_int_eq(envid_orcpt_make(other, QID, 17, o, sizeof(o)), 0);
	ck_assert_int_eq(envid_orcpt_check(k, o, qid, sizeof(qid), &row), -1);
	ck_assert_int_eq(envid_orcpt_make(k, QID, 17, o, sizeof(o)), 0);
	for (size_t i = 0; i < ENVID_ORCPT_LEN; i++) {
		memcpy(f, o, sizeof(o));
		f[i] = f[i] == 'A' ? 'B' : 'A';
		ck_assert_int_eq(envid_orcpt_check(k, f, qid, sizeof(qid),
		    &row), -1);
		f[i] = 0;
		ck_assert_int_eq(envid_orcpt_check(k, f, qid, sizeof(qid),
		    &row), -1);
	}
	/* an envelope id is sealed under another associated datum */
	ck_assert_int_eq(envid_make(k, QID, 17, 17, e, sizeof(e)), 0);
	ck_assert_int_eq(envid_orcpt_check(k, e, qid, sizeof(qid), &row), -1);
	ck_assert_int_eq(envid_orcpt_check(k, "", qid, sizeof(qid), &row),
	    -1);
	ck_assert_int_eq(envid_orcpt_check(k, o, qid, 8, &row), -1);
	keys_free(k);
	keys_free(other);
}
END_TEST

/*
 * a transaction's original recipients made at once (past one draw of
 * nonces): each opens to its own row, under its own nonce; another key's
 * do not open; not a queue id: refused
 */
START_TEST(orcpts_at_once)
{
	struct keys *k = keys_of(1), *other = keys_of(2);
	static long long rows[150];
	static char o[150][ENVID_ORCPT_MAX], o2[150][ENVID_ORCPT_MAX];
	char qid[32];
	long long row;

	for (int i = 0; i < 150; i++)
		rows[i] = i == 149 ? rows[0] : 1000 + 7LL * i;
	ck_assert_int_eq(envid_orcpts_make(k, QID, rows, 150, o), 0);
	ck_assert_int_eq(envid_orcpts_make(other, QID, rows, 150, o2), 0);
	for (int i = 0; i < 150; i++) {
		ck_assert_uint_eq(strlen(o[i]), ENVID_ORCPT_LEN);
		ck_assert_int_eq(envid_orcpt_check(k, o[i], qid, sizeof(qid),
		    &row), 0);
		ck_assert_str_eq(qid, QID);
		ck_assert(row == rows[i]);
		ck_assert_int_eq(envid_orcpt_check(k, o2[i], qid,
		    sizeof(qid), &row), -1);
		/* a nonce each: no two alike, even for the same row */
		for (int j = 0; j < i; j++)
			ck_assert(memcmp(o[i] + 3, o[j] + 3, 16) != 0);
	}
	ck_assert_str_ne(o[0], o[149]);
	ck_assert_int_eq(envid_orcpts_make(k, "6B1", rows, 2, o), -1);
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
	tcase_add_test(tc, orcpt_round_trip);
	tcase_add_test(tc, orcpt_forgeries);
	tcase_add_test(tc, orcpts_at_once);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
