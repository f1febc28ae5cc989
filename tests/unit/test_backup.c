/*
 * test_backup.c - mail/backup: a backup reads back file by file with the
 * instance's keys; another instance's keys, a flipped byte, a cut-off end
 * or a dropped file do not read; names that would leave the restore's
 * directory are refused.
 */
#include "testutil.h"
#include "mail/backup.h"

/* make - a backup of two files in a memory stream; its bytes in *p, *n */
static void
make(const struct keys *k, char **p, size_t *n)
{
	FILE *fp = open_memstream(p, n);
	struct backup_w w;
	char err[200], big[200000];

	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(backup_begin(&w, fp, k, KEYS_PASSPHRASE, "WRAPPED", 7, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(backup_file(&w, "mlistd.db", "database", 8), 0);
	ck_assert_int_eq(backup_file(&w, "queue/out/ABC", big, sizeof(big)), 0);
	ck_assert_int_eq(backup_finish(&w, err, sizeof(err)), 0);
	fclose(fp);
}

/* reads - how many files a backup's bytes give with k; -1 if it does not read */
static int
reads(const struct keys *k, const char *p, size_t n)
{
	FILE *fp = fmemopen((void *)p, n, "r");
	char err[200], name[BACKUP_NAME_MAX];
	struct backup_r r;
	enum backup_item it;
	struct buf b;
	int files = 0;

	buf_init(&b, 0);
	if (backup_open(&r, fp, err, sizeof(err)) < 0 || backup_keys(&r, k, err,
	    sizeof(err)) < 0) {
		fclose(fp);
		return -1;
	}
	ck_assert_int_eq((int)r.wrappedlen, 7);
	while ((it = backup_next(&r, name, &b, err, sizeof(err))) == BACKUP_FILE) {
		if (files == 1)
			ck_assert_int_eq((int)b.len, 200000);
		files++;
	}
	buf_free(&b);
	fclose(fp);
	return it == BACKUP_END ? files : -1;
}

START_TEST(round_trip_and_tampering)
{
	struct keys *k = tu_keys(), *other;
	unsigned char *m = keys_master_new();
	char *p;
	size_t n;

	other = keys_from_master(m);
	make(k, &p, &n);
	ck_assert_int_eq(reads(k, p, n), 2);
	ck_assert_int_eq(reads(other, p, n), -1);	/* another instance's keys */
	for (size_t at = 9; at < n; at += n / 37) {	/* the header is bound too */
		p[at] ^= 1;
		ck_assert_int_eq(reads(k, p, n), -1);
		p[at] ^= 1;
	}
	ck_assert_int_eq(reads(k, p, n - 1), -1);	/* the end cut off */
	ck_assert_int_eq(reads(k, p, n - 40), -1);
	free(p);
	{
		/* a name that would leave the directory spoils the whole backup */
		FILE *fp = open_memstream(&p, &n);
		struct backup_w w;
		char err[200];

		ck_assert_int_eq(backup_begin(&w, fp, k, KEYS_KEYFILE, NULL, 0, err, sizeof(err)), 0);
		ck_assert_int_eq(backup_file(&w, "../escape", "x", 1), -1);
		ck_assert_int_eq(backup_finish(&w, err, sizeof(err)), -1);
		fclose(fp);
		free(p);
	}
	keys_free(other);
	keys_master_free(m);
}
END_TEST

START_TEST(names)
{
	static const char *const bad[] = { "", "/etc/passwd", "..", "../x", "a/../b",
	    "a//b", "a/", "./a", "a b", "a\\b", "lists/x\n" };
	static const char *const good[] = { "mlistd.db", "queue/out/0A1B", "lists/demo.conf",
	    "audit-heads/my-list", "a+b_c" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!backup_name_ok(bad[i]), "%s", bad[i]);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(backup_name_ok(good[i]), "%s", good[i]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("backup");
	TCase *tc = tcase_create("backup");

	tcase_add_test(tc, round_trip_and_tampering);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
