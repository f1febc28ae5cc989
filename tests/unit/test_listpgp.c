/*
 * test_listpgp.c - the OpenPGP keys in the store: the list's secret key and
 * members' public keys sealed, fingerprints only as keyed hashes, the list
 * key made once on demand and rotated.
 */
#include "testutil.h"

#include "../../mlistd/mail/listpgp.h"
#include "../../mlistd/mail/store.h"

static char *dir;
static struct keys *keys;
static struct store *st;
static char dbpath[4200];

static void
setup(void)
{
	dir = tu_tmpdir();
	keys = tu_keys();
	snprintf(dbpath, sizeof(dbpath), "%s/mlistd.db", dir);
	st = tu_store(dbpath, keys);
}

static void
teardown(void)
{
	if (st)
		store_close(st);
	keys_free(keys);
	tu_rmrf(dir);
	free(dir);
}

/* db_holds - does the database (or its WAL) contain needle? */
static int
db_holds(const void *needle, size_t n)
{
	struct buf file;
	char path[4300];
	int found = 0;

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s%s", dbpath, i ? "-wal" : "");
		buf_init(&file, 0);
		if (fs_read_file(path, &file, NULL) == 0 &&
		    memmem(file.data, file.len, needle, n) != NULL)
			found = 1;
		buf_free(&file);
	}
	return found;
}

static const char FPR[] = "0123456789ABCDEF0123456789ABCDEF01234567";

START_TEST(member_key_sealed_and_found_by_fingerprint)
{
	struct buf k;
	long long exp = -1;
	char *addr = NULL;
	const char key[] = "MEMBERKEYBYTES-not-a-real-key";

	ck_assert_int_eq(store_member_add(st, "demo", "ann@example.org", NULL),
	    STORE_OK);
	ck_assert_int_eq(store_member_add(st, "demo", "bob@example.org", NULL),
	    STORE_OK);
	ck_assert_int_eq(store_member_pgp_put(st, "demo", "nobody@example.org",
	    key, sizeof(key), FPR, 0), STORE_NOTFOUND);
	ck_assert_int_eq(store_member_pgp_put(st, "demo", "ann@example.org",
	    key, sizeof(key), FPR, 1900000000LL), 0);
	/* one key, one member: a second member cannot take it */
	ck_assert_int_eq(store_member_pgp_put(st, "demo", "bob@example.org",
	    key, sizeof(key), FPR, 0), STORE_EXISTS);
	buf_init(&k, 0);
	ck_assert_int_eq(store_member_pgp_get(st, "demo", "ANN@example.org", &k,
	    &exp), 1);
	ck_assert_uint_eq(k.len, sizeof(key));
	ck_assert_mem_eq(k.data, key, sizeof(key));
	ck_assert_int_eq(exp, 1900000000LL);
	ck_assert_int_eq(store_member_pgp_get(st, "demo", "bob@example.org", &k,
	    &exp), 0);
	/* lower case, spaced: the same key */
	ck_assert_int_eq(store_pgp_fpr_member(st, "demo",
	    "0123 4567 89ab cdef 0123  4567 89ab cdef 0123 4567", &addr), 1);
	ck_assert_str_eq(addr, "ann@example.org");
	free(addr);
	ck_assert_int_eq(store_pgp_fpr_member(st, "other", FPR, &addr), 0);
	ck_assert_ptr_null(addr);
	ck_assert_int_eq(store_pgp_fpr_member(st, "demo", "12", &addr), 0);
	store_close(st);
	st = NULL;
	ck_assert_msg(!db_holds(key, sizeof(key) - 1), "key in clear");
	ck_assert_msg(!db_holds(FPR, 40), "fingerprint in clear");
	ck_assert_msg(!db_holds("0123456789abcdef", 16), "fingerprint in clear");
	buf_free(&k);
	buf_init(&k, 0);
	st = store_open(dbpath, keys, &k);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(store_member_pgp_clear(st, "demo", "ann@example.org"), 0);
	ck_assert_int_eq(store_member_pgp_get(st, "demo", "ann@example.org", &k,
	    NULL), 0);
	ck_assert_int_eq(store_pgp_fpr_member(st, "demo", FPR, &addr), 0);
	/* now free for another member */
	ck_assert_int_eq(store_member_pgp_put(st, "demo", "bob@example.org",
	    key, sizeof(key), FPR, 0), 0);
	buf_free(&k);
}
END_TEST

START_TEST(list_key_made_once_sealed_rotated)
{
	struct openpgp_secret *a = NULL, *b = NULL;
	char fa[OPENPGP_FPR_SIZE], fb[OPENPGP_FPR_SIZE], fr[OPENPGP_FPR_SIZE];
	struct buf sec;

	buf_init(&sec, 0);
	ck_assert_int_eq(store_list_pgp_get(st, "demo", &sec, fa), 0);
	ck_assert_int_eq(listpgp_get(st, "demo", "lists.example.org", &a), 0);
	ck_assert_int_eq(listpgp_get(st, "demo", "lists.example.org", &b), 0);
	ck_assert_int_eq(openpgp_list_fingerprint(a, fa), OK);
	ck_assert_int_eq(openpgp_list_fingerprint(b, fb), OK);
	ck_assert_str_eq(fa, fb);
	ck_assert_int_eq(store_list_pgp_get(st, "demo", &sec, fr), 1);
	ck_assert_str_eq(fr, fa);
	ck_assert_uint_eq(sec.len, a->len);
	ck_assert_mem_eq(sec.data, a->data, a->len);
	ck_assert_int_eq(listpgp_rotate(st, "demo", "lists.example.org", fr), 0);
	ck_assert_str_eq(fr, fa);
	ck_assert_int_eq(store_list_pgp_get(st, "demo", &sec, fr), 1);
	ck_assert_msg(sec.len != a->len || memcmp(sec.data, a->data, a->len),
	    "rotation kept the old key");
	openpgp_secret_free(b);
	store_close(st);
	st = NULL;
	/* the secret key material is nowhere in clear: look for 32 bytes of it */
	ck_assert(!db_holds(a->data + a->len / 2, 32));
	openpgp_secret_free(a);
	buf_free(&sec);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("listpgp");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, member_key_sealed_and_found_by_fingerprint);
	tcase_add_test(tc, list_key_made_once_sealed_rotated);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
