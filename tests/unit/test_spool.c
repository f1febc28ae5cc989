/* test_spool.c - encrypted spool files: round trip, tamper detection, no plaintext on disk. */
#include <fcntl.h>
#include <sys/stat.h>

#include <errno.h>
#include "testutil.h"

static char *dir;
static struct keys *keys;
static struct spool sp;

static void
setup(void)
{
	struct buf err;

	dir = tu_tmpdir();
	keys = tu_keys();
	buf_init(&err, 0);
	ck_assert_int_eq(spool_open(&sp, dir, keys, &err), 0);
	buf_free(&err);
}

static void
teardown(void)
{
	keys_free(keys);
	tu_rmrf(dir);
	free(dir);
}

/* put - spool a message of n bytes of pattern; returns the id */
static void
put(size_t n, char id[QID_LEN + 1])
{
	struct envelope e = { 0 };
	struct spool_writer w;
	char chunk[1000];

	e.sender = strdup("secret-sender@example.org");
	e.client = strdup("192.0.2.7");
	e.note = strdup("");
	envelope_add_rcpt(&e, "demo@lists.example");
	ck_assert_int_eq(spool_begin(&sp, SPOOL_INCOMING, &e, &w), OK);
	for (size_t off = 0; off < n; off += sizeof(chunk)) {
		size_t k = n - off < sizeof(chunk) ? n - off : sizeof(chunk);

		for (size_t i = 0; i < k; i++)
			chunk[i] = "PLAINTEXTBODY"[(off + i) % 13];
		ck_assert_int_eq(spool_write(&w, chunk, k), OK);
	}
	ck_assert_int_eq(spool_commit(&w), OK);
	memcpy(id, w.id, QID_LEN + 1);
	envelope_free(&e);
}

/*
 * listed in the order written, not by id: a queue id orders only by its
 * second, then random bits, so 20 messages spooled in one second came in
 * any order; each one's file is dated a second apart here (set, so a
 * coarse clock cannot tie them)
 */
START_TEST(listed_in_the_order_written)
{
	char id[20][QID_LEN + 1], path[2 * PATH_MAX], **ids;
	struct timespec ts[2] = { { 0, 0 }, { 0, 0 } };
	int n, rev = 0;

	for (int i = 0; i < 20; i++) {
		put(10, id[i]);
		snprintf(path, sizeof(path), "%s/%s", sp.dir[SPOOL_INCOMING], id[i]);
		ts[0].tv_sec = ts[1].tv_sec = 1700000000 + i;
		ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
		if (i > 0 && strcmp(id[i], id[i - 1]) < 0)
			rev++;
	}
	ck_assert_int_gt(rev, 0);	/* the ids alone would reorder them */
	n = spool_list(&sp, SPOOL_INCOMING, &ids);
	ck_assert_int_eq(n, 20);
	for (int i = 0; i < 20; i++)
		ck_assert_str_eq(ids[i], id[i]);
	spool_list_free(ids, n);
}
END_TEST

START_TEST(round_trip_sizes)
{
	size_t sizes[] = { 0, 1, SPOOL_CHUNK - 1, SPOOL_CHUNK, SPOOL_CHUNK + 1, 3 * SPOOL_CHUNK + 17 };
	char id[QID_LEN + 1];
	struct envelope e;
	struct buf msg, why;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		put(sizes[i], id);
		buf_init(&msg, 0);
		buf_init(&why, 0);
		ck_assert_msg(spool_read(&sp, SPOOL_INCOMING, id, &e, &msg, &why) == 0, "%s", buf_cstr(&why));
		ck_assert_uint_eq(msg.len, sizes[i]);
		for (size_t k = 0; k < msg.len; k++)
			ck_assert_int_eq(msg.data[k], "PLAINTEXTBODY"[k % 13]);
		ck_assert_str_eq(e.sender, "secret-sender@example.org");
		envelope_free(&e);
		buf_free(&msg);
		buf_free(&why);
	}
}
END_TEST

START_TEST(no_plaintext_on_disk)
{
	char id[QID_LEN + 1], path[4200];
	struct buf file;

	put(5000, id);
	snprintf(path, sizeof(path), "%s/%s", sp.dir[SPOOL_INCOMING], id);
	buf_init(&file, 0);
	ck_assert_int_eq(fs_read_file(path, &file, NULL), 0);
	ck_assert_ptr_null(memmem(file.data, file.len, "PLAINTEXT", 9));
	ck_assert_ptr_null(memmem(file.data, file.len, "secret-sender", 13));
	ck_assert_ptr_null(memmem(file.data, file.len, "demo@lists", 10));
	buf_free(&file);
}
END_TEST

/* corrupt - flip a byte at offset (from the end if negative), or truncate */
static void
corrupt(const char *id, long off, int truncate_to)
{
	char path[4200];
	struct stat st;
	unsigned char c;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", sp.dir[SPOOL_INCOMING], id);
	ck_assert_int_ge(fd = open(path, O_RDWR), 0);
	fstat(fd, &st);
	if (truncate_to >= 0) {
		ck_assert_int_eq(ftruncate(fd, st.st_size - truncate_to), 0);
	} else {
		off = off < 0 ? st.st_size + off : off;
		ck_assert_int_eq(pread(fd, &c, 1, off), 1);
		c ^= 0x40;
		ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
	}
	close(fd);
}

START_TEST(tamper_detected_and_quarantined)
{
	static const struct { long off; int trunc; } how[] = {
		{ 2, -1 }, { 40, -1 }, { 100, -1 }, { -1, -1 }, { 0, 1 }, { 0, 30 },
	};
	char id[QID_LEN + 1];
	struct envelope e;
	struct buf msg, why;

	put(SPOOL_CHUNK + 100, id);
	corrupt(id, how[_i].off, how[_i].trunc);
	buf_init(&msg, 0);
	buf_init(&why, 0);
	ck_assert_int_ne(spool_read(&sp, SPOOL_INCOMING, id, &e, &msg, &why), 0);
	ck_assert_uint_gt(why.len, 0);
	ck_assert_int_eq(spool_quarantine(&sp, SPOOL_INCOMING, id), 0);
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_INCOMING]), 0);
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_CORRUPT]), 1);
	buf_free(&msg);
	buf_free(&why);
}
END_TEST

/* copy_to - a copy of spool file id of where into where2 (same name) */
static void
copy_to(enum spool_dir where, const char *id, enum spool_dir where2)
{
	char src[PATH_MAX + 32], dst[PATH_MAX + 32];
	struct buf b, err;

	snprintf(src, sizeof(src), "%s/%s", sp.dir[where], id);
	snprintf(dst, sizeof(dst), "%s/%s", sp.dir[where2], id);
	buf_init(&b, 0);
	buf_init(&err, 0);
	ck_assert_int_eq(fs_read_file(src, &b, &err), 0);
	ck_assert_int_eq(fs_write_atomic(dst, b.data, b.len, 1, &err), 0);
	buf_free(&b);
	buf_free(&err);
}

/*
 * a second file quarantined under an id already in corrupt/ (the same
 * post from out/, an id met twice) gets a name of its own: the first one
 * stays as it was, and both are counted
 */
START_TEST(quarantine_never_replaces)
{
	char id[QID_LEN + 1], path[PATH_MAX + 48];
	struct buf first, now, err;
	int fd;

	put(3000, id);
	copy_to(SPOOL_INCOMING, id, SPOOL_OUT);
	buf_init(&first, 0);
	buf_init(&now, 0);
	buf_init(&err, 0);
	snprintf(path, sizeof(path), "%s/%s", sp.dir[SPOOL_INCOMING], id);
	ck_assert_int_eq(fs_read_file(path, &first, &err), 0);
	ck_assert_int_eq(spool_quarantine(&sp, SPOOL_INCOMING, id), 0);
	/* the out/ copy differs from the first: a replace would show */
	snprintf(path, sizeof(path), "%s/%s", sp.dir[SPOOL_OUT], id);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_APPEND), 0);
	ck_assert_int_eq(write(fd, "X", 1), 1);
	close(fd);
	ck_assert_int_eq(spool_quarantine(&sp, SPOOL_OUT, id), 0);
	copy_to(SPOOL_CORRUPT, id, SPOOL_OUT);
	ck_assert_int_eq(spool_quarantine(&sp, SPOOL_OUT, id), 0);
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_CORRUPT]), 3);
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_OUT]), 0);
	ck_assert_int_eq(spool_count(&sp, SPOOL_CORRUPT), 3);
	snprintf(path, sizeof(path), "%s/%s", sp.dir[SPOOL_CORRUPT], id);
	ck_assert_int_eq(fs_read_file(path, &now, &err), 0);
	ck_assert_uint_eq(now.len, first.len);
	ck_assert_int_eq(memcmp(now.data, first.data, first.len), 0);
	snprintf(path, sizeof(path), "%s/%s.1", sp.dir[SPOOL_CORRUPT], id);
	buf_reset(&now);
	ck_assert_int_eq(fs_read_file(path, &now, &err), 0);
	ck_assert_uint_eq(now.len, first.len + 1);
	snprintf(path, sizeof(path), "%s/%s.2", sp.dir[SPOOL_CORRUPT], id);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_INCOMING]), 0);
	buf_free(&first);
	buf_free(&now);
	buf_free(&err);
}
END_TEST

START_TEST(wrong_key_fails)
{
	char id[QID_LEN + 1];
	unsigned char other[KEYS_LEN];
	struct spool sp2 = sp;
	struct envelope e;
	struct buf msg, why;

	put(10, id);
	memset(other, 8, sizeof(other));
	sp2.keys = keys_from_master(other);
	buf_init(&msg, 0);
	buf_init(&why, 0);
	ck_assert_int_ne(spool_read(&sp2, SPOOL_INCOMING, id, &e, &msg, &why), 0);
	keys_free((struct keys *)sp2.keys);
	buf_free(&msg);
	buf_free(&why);
}
END_TEST

/* queue ids: 64 random bits after the time; the old 16-digit form still read; no rename over a file */
START_TEST(ids_and_no_replace)
{
	char a[QID_LEN + 1], b[QID_LEN + 1], *d = tu_tmpdir(), p[4200], q[4200];

	spool_new_id(a);
	spool_new_id(b);
	ck_assert_int_eq(strlen(a), QID_LEN);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(strncmp(a, b, 6), 0);		/* the same time prefix: they sort by age */
	ck_assert(spool_id_valid(a));
	ck_assert(spool_id_valid("0123456789ABCDEF"));
	ck_assert(!spool_id_valid("0123456789abcdef"));
	ck_assert(!spool_id_valid("0123456789ABCDEF0"));
	ck_assert(!spool_id_valid("../../etc/passwd"));
	tu_write(d, "new", "new");
	tu_write(d, "old", "old");
	snprintf(p, sizeof(p), "%s/new", d);
	snprintf(q, sizeof(q), "%s/old", d);
	ck_assert_int_eq(fs_rename_new(p, q), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(tu_count(d), 2);
	snprintf(q, sizeof(q), "%s/third", d);
	ck_assert_int_eq(fs_rename_new(p, q), 0);
	ck_assert_int_eq(access(p, F_OK), -1);
	tu_rmrf(d);
	free(d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip_sizes);
	tcase_add_test(tc, no_plaintext_on_disk);
	tcase_add_loop_test(tc, tamper_detected_and_quarantined, 0, 6);
	tcase_add_test(tc, quarantine_never_replaces);
	tcase_add_test(tc, wrong_key_fails);
	tcase_add_test(tc, ids_and_no_replace);
	tcase_add_test(tc, listed_in_the_order_written);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
