/*
 * test_backup.c - mail/backup: a backup reads back file by file with the
 * instance's keys; another instance's keys, a flipped byte, a cut-off end
 * or a dropped file do not read; names that would leave the restore's
 * directory are refused. mail/store_backup: a reader keeps the moment it
 * was taken while the store goes on writing, and the results recorded
 * since then are given in the journal's terms.
 */
#include "testutil.h"
#include "mail/backup.h"
#include "mail/store.h"

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

#define SS_HDR_T	crypto_secretstream_xchacha20poly1305_HEADERBYTES

/* old_msg - one message of a backup, as backup.c frames it */
static void
old_msg(FILE *fp, crypto_secretstream_xchacha20poly1305_state *ss,
    const unsigned char *m, size_t len, const void *ad, size_t adlen,
    unsigned char tag)
{
	unsigned char c[256], lenb[4];
	size_t cl = len + crypto_secretstream_xchacha20poly1305_ABYTES;

	ck_assert(cl <= sizeof(c));
	crypto_secretstream_xchacha20poly1305_push(ss, c, NULL, m, len, ad,
	    adlen, tag);
	for (int j = 0; j < 4; j++)
		lenb[j] = (unsigned char)(cl >> (8 * j));
	ck_assert_int_eq(fwrite(lenb, 1, 4, fp), 4);
	ck_assert_int_eq(fwrite(c, 1, cl, fp), cl);
}

/* reads_one - how many files a backup gives with k; -1 if it does not read */
static int
reads_one(const struct keys *k, const char *p, size_t n)
{
	FILE *fp = fmemopen((void *)p, n, "r");
	char err[200], name[BACKUP_NAME_MAX];
	struct backup_r r;
	enum backup_item it;
	struct buf b;
	int files = 0;

	buf_init(&b, 0);
	if (backup_open(&r, fp, err, sizeof(err)) < 0 ||
	    backup_keys(&r, k, err, sizeof(err)) < 0) {
		fclose(fp);
		return -1;
	}
	while ((it = backup_next(&r, name, &b, err, sizeof(err))) ==
	    BACKUP_FILE)
		files++;
	buf_free(&b);
	fclose(fp);
	return it == BACKUP_END ? files : -1;
}

/* sized - the length of a backup of one file of n bytes */
static size_t
sized(const struct keys *k, size_t len, char **p)
{
	static char big[300000];
	struct backup_w w;
	char err[200];
	size_t n;
	FILE *fp = open_memstream(p, &n);

	ck_assert_int_eq(backup_begin(&w, fp, k, KEYS_PASSPHRASE, "WRAPPED", 7,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(backup_file(&w, "mlistd.db", big, len), 0);
	ck_assert_int_eq(backup_finish(&w, err, sizeof(err)), 0);
	fclose(fp);
	return n;
}

/*
 * Whoever holds the backup store learns nothing from the length (padded
 * to a bucket) nor a clear time; the padding reads back, altered it does
 * not; an MLBACK1 backup (time in clear, no padding) still restores.
 */
START_TEST(padded_without_clear_time_and_old_format_reads)
{
	struct keys *k = tu_keys();
	unsigned long long now = (unsigned long long)time(NULL);
	char *a, *b, *old, err[200], name[BACKUP_NAME_MAX];
	size_t na, nb, n = 0;
	unsigned char h[128], c[64], *q;
	crypto_secretstream_xchacha20poly1305_state ss;
	struct backup_r r;
	struct buf data;
	FILE *fp;

	na = sized(k, 1000, &a);
	nb = sized(k, 40000, &b);
	ck_assert_int_eq((long long)na, BACKUP_PAD_MIN);
	ck_assert_int_eq((long long)nb, BACKUP_PAD_MIN);
	ck_assert_int_eq(backup_padded_size(BACKUP_PAD_MIN + 1),
	    2 * BACKUP_PAD_MIN);
	ck_assert_int_eq(backup_padded_size(BACKUP_PAD_STEP + 1),
	    2 * BACKUP_PAD_STEP);
	ck_assert_int_eq(memcmp(a, BACKUP_MAGIC, 8), 0);
	/* no clear time: not the 8 bytes after the wrapped key, nor anywhere */
	for (size_t i = 0; i + 8 < 64; i++) {
		unsigned long long v = 0;

		for (int j = 0; j < 8; j++)
			v |= (unsigned long long)(unsigned char)a[i + j] <<
			    (8 * j);
		ck_assert(v < now - 600 || v > now + 600);
	}
	ck_assert_int_eq(reads_one(k, a, na), 1);
	a[na - 200] ^= 1;			/* in the padding */
	ck_assert_int_eq(reads_one(k, a, na), -1);
	free(a);
	free(b);
	/* an MLBACK1 backup, as the old writer made it */
	memcpy(h, BACKUP_MAGIC1, 8);
	h[8] = KEYS_KEYFILE;
	h[9] = h[10] = 0;
	for (int j = 0; j < 8; j++)
		h[11 + j] = (unsigned char)(now >> (8 * j));
	crypto_secretstream_xchacha20poly1305_init_push(&ss, h + 19,
	    k->backup);
	fp = open_memstream(&old, &n);
	ck_assert_int_eq(fwrite(h, 1, 19 + SS_HDR_T, fp), 19 + SS_HDR_T);
	old_msg(fp, &ss, (const unsigned char *)"H", 1, h, 19 + SS_HDR_T, 0);
	q = c;
	*q++ = 'F';
	memcpy(q, "mlistd.db", 10);
	q += 10;
	memset(q, 0, 8);
	q[0] = 2;
	old_msg(fp, &ss, c, 19, NULL, 0, 0);
	old_msg(fp, &ss, (const unsigned char *)"Dok", 3, NULL, 0, 0);
	memset(c, 0, 17);
	c[0] = 'E';
	c[1] = 1;
	c[9] = 2;
	old_msg(fp, &ss, c, 17, NULL, 0,
	    crypto_secretstream_xchacha20poly1305_TAG_FINAL);
	fclose(fp);
	fp = fmemopen(old, n, "r");
	buf_init(&data, 0);
	ck_assert_int_eq(backup_open(&r, fp, err, sizeof(err)), 0);
	ck_assert_int_eq(backup_keys(&r, k, err, sizeof(err)), 0);
	ck_assert_int_eq(r.at, (long long)now);
	ck_assert_int_eq(backup_next(&r, name, &data, err, sizeof(err)),
	    BACKUP_FILE);
	ck_assert_int_eq((int)data.len, 2);
	ck_assert_int_eq(backup_next(&r, name, &data, err, sizeof(err)),
	    BACKUP_END);
	buf_free(&data);
	fclose(fp);
	free(old);
	keys_free(k);
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

/* hash_of - the keyed hash of the delivery the due callback saw */
static void
hash_of(struct delivery *d, void *arg)
{
	memcpy(arg, d->rcpt_hash, KEYS_HASH_LEN);
	free(d->rcpt);
	buf_free(&d->pgp);
}

struct late {
	int	 n, state;
	char	 qid[32];
};

/* late_one - a result since the moment */
static void
late_one(void *arg, const char *qid, const unsigned char *hash, int state,
    int attempts, long long next_try, const char *err)
{
	struct late *l = arg;

	(void)hash;
	(void)attempts;
	(void)next_try;
	(void)err;
	l->n++;
	l->state = state;
	snprintf(l->qid, sizeof(l->qid), "%s", qid);
}

START_TEST(reader_keeps_its_moment)
{
	struct keys *k = tu_keys();
	char *dir = tu_tmpdir(), path[300], img_path[300], why[200];
	unsigned char hash[KEYS_HASH_LEN], *img;
	struct store_reader *r;
	struct store *st, *copy;
	struct late l = { 0, 0, "" };
	long long now = (long long)time(NULL), at;
	size_t len;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/mlistd.db", dir);
	st = tu_store(path, k);
	ck_assert_int_ge(store_delivery_add(st, "QONE", "demo", "a@example.org",
	    "demo-bounces@lists.example", NULL, 1, now, now + 86400), 0);
	ck_assert_int_eq(store_deliveries_due(st, now + 1, 10, hash_of, hash), 1);
	ck_assert_ptr_nonnull(r = store_backup_reader(st, &at));
	/* after the moment: one delivered, one new */
	ck_assert_int_eq(store_delivery_record(st, "QONE", hash, DELIVERY_DONE,
	    1, 0, NULL), 1);
	ck_assert_int_ge(store_delivery_add(st, "QTWO", "demo", "b@example.org",
	    "demo-bounces@lists.example", NULL, 1, now, now + 86400), 0);
	ck_assert_int_eq(store_backup_image(r, &img, &len, why, sizeof(why)), 0);
	store_backup_reader_close(r);
	snprintf(img_path, sizeof(img_path), "%s/image.db", dir);
	ck_assert_ptr_nonnull(fp = fopen(img_path, "w"));
	ck_assert_uint_eq(fwrite(img, 1, len, fp), len);
	fclose(fp);
	store_backup_image_free(img);
	copy = tu_store(img_path, k);
	ck_assert_int_eq(store_pending_count(copy), 1);		/* QONE, still */
	ck_assert_int_eq(store_pending_for(copy, "QTWO"), 0);
	store_close(copy);
	ck_assert_int_eq(store_pending_for(st, "QONE"), 0);
	ck_assert_int_eq(store_backup_late(st, at, late_one, &l), STORE_OK);
	ck_assert_int_eq(l.n, 1);
	ck_assert_str_eq(l.qid, "QONE");
	ck_assert_int_eq(l.state, DELIVERY_DONE);
	store_close(st);
	keys_free(k);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("backup");
	TCase *tc = tcase_create("backup");

	tcase_add_test(tc, round_trip_and_tampering);
	tcase_add_test(tc, names);
	tcase_add_test(tc, padded_without_clear_time_and_old_format_reads);
	tcase_add_test(tc, reader_keeps_its_moment);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
