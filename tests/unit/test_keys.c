/*
 * test_keys.c - the master key kept off the disk (#19): a wrapped key opens
 * with its passphrase only; the SMTP server's spool (the public key alone)
 * writes files it cannot open, which the queue manager's keys open; a file
 * sealed to another instance does not open; a clear key beside the data is
 * reported as insecure.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "testutil.h"

/* spool_one - write one message through sp; its id */
static void
spool_one(struct spool *sp, const char *body, char id[QID_LEN + 1])
{
	struct envelope e = { 0 };
	struct spool_writer w;

	e.sender = strdup("secret-sender@example.org");
	e.note = strdup("list=demo");
	ck_assert_int_eq(envelope_add_rcpt(&e, "demo@lists.example"), 0);
	ck_assert_int_eq(spool_begin(sp, SPOOL_INCOMING, &e, &w), OK);
	ck_assert_int_eq(spool_write(&w, body, strlen(body)), OK);
	ck_assert_int_eq(spool_commit(&w), OK);
	snprintf(id, QID_LEN + 1, "%s", w.id);
	envelope_free(&e);
}

/* the SMTP side holds the public key only: it writes, it cannot read back; the qmgr can */
START_TEST(smtp_side_cannot_open_the_spool)
{
	char *dir = tu_tmpdir(), id[QID_LEN + 1], err[600];
	struct keys *k = tu_keys();
	unsigned char pk[KEYS_LEN], *master = keys_master_new();
	struct spool smtp, qmgr;
	struct envelope e;
	struct buf msg, why, b;

	buf_init(&b, 0);
	buf_init(&msg, 0);
	buf_init(&why, 0);
	/* the public key the daemon's SMTP process reads from STATE/spool.pub */
	memset(master, 7, KEYS_LEN);	/* tu_keys' master key */
	ck_assert_int_eq(keys_write_public(dir, master, err, sizeof(err)), 0);
	ck_assert_int_eq(keys_public_read(dir, pk, err, sizeof(err)), 0);
	ck_assert_int_eq(memcmp(pk, k->spool_pk, KEYS_LEN), 0);
	ck_assert_int_eq(spool_open_sealer(&smtp, dir, pk, &b), 0);
	ck_assert_ptr_null(smtp.keys);		/* structurally: nothing secret in its spool */
	spool_one(&smtp, "the body of a post\r\n", id);
	ck_assert_int_ne(spool_read(&smtp, SPOOL_INCOMING, id, &e, &msg, &why), 0);
	ck_assert(strstr(buf_cstr(&why), "no secret key") != NULL);
	ck_assert_int_eq(spool_open(&qmgr, dir, k, &b), 0);
	buf_reset(&why);
	ck_assert_int_eq(spool_read(&qmgr, SPOOL_INCOMING, id, &e, &msg, &why), 0);
	ck_assert_str_eq(buf_cstr(&msg), "the body of a post\r\n");
	ck_assert_str_eq(e.sender, "secret-sender@example.org");
	envelope_free(&e);
	keys_master_free(master);
	keys_free(k);
	buf_free(&b);
	buf_free(&msg);
	buf_free(&why);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

/* a file sealed to one instance's public key does not open with another's keys */
START_TEST(another_instance_cannot_open)
{
	char *dir = tu_tmpdir(), id[QID_LEN + 1];
	unsigned char other[KEYS_LEN];
	struct keys *k = tu_keys(), *k2;
	struct spool sp, sp2;
	struct envelope e;
	struct buf msg, why, b;

	buf_init(&b, 0);
	buf_init(&msg, 0);
	buf_init(&why, 0);
	memset(other, 9, sizeof(other));
	k2 = keys_from_master(other);
	ck_assert_int_eq(spool_open(&sp, dir, k, &b), 0);
	ck_assert_int_eq(spool_open(&sp2, dir, k2, &b), 0);
	spool_one(&sp, "x\r\n", id);
	ck_assert_int_ne(spool_read(&sp2, SPOOL_INCOMING, id, &e, &msg, &why), 0);
	ck_assert(strstr(buf_cstr(&why), "file key does not open") != NULL);
	keys_free(k);
	keys_free(k2);
	buf_free(&b);
	buf_free(&msg);
	buf_free(&why);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

/* the wrapped key: its passphrase opens it, another does not, the file holds no clear key */
START_TEST(wrapped_key_round_trip)
{
	char *dir = tu_tmpdir(), path[4200], err[600], file[200];
	unsigned char *master = keys_master_new(), *got = keys_master_new();
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, KEYS_WRAPPED);
	ck_assert_int_eq(keys_write_wrapped(path, master, "", err, sizeof(err)), -1);	/* empty: refused */
	/* short or repetitive: refused, a stolen backup would be guessed */
	ck_assert_int_eq(keys_write_wrapped(path, master, "a", err,
	    sizeof(err)), -1);
	ck_assert(strstr(err, "too weak") != NULL);
	ck_assert_int_eq(keys_write_wrapped(path, master, "elevenchars",
	    err, sizeof(err)), -1);
	ck_assert_int_eq(keys_write_wrapped(path, master, "abababababababab",
	    err, sizeof(err)), -1);
	ck_assert(access(path, F_OK) != 0);
	ck_assert_int_eq(keys_write_wrapped(path, master, "pass one of the tests", err, sizeof(err)), 0);
	ck_assert_int_eq(keys_master_load(dir, "passphrase", NULL, got, err, sizeof(err)), KEYS_NEED_PASS);
	ck_assert_int_eq(keys_master_load(dir, "passphrase", "pass two of the tests", got, err, sizeof(err)), KEYS_BAD_PASS);
	ck_assert(strstr(err, "does not open") != NULL);
	ck_assert_int_eq(keys_master_load(dir, "passphrase", "pass one of the tests", got, err, sizeof(err)), KEYS_OK);
	ck_assert_int_eq(memcmp(master, got, KEYS_LEN), 0);
	ck_assert((fd = open(path, O_RDONLY)) >= 0);
	n = read(fd, file, sizeof(file));
	close(fd);
	ck_assert_int_gt(n, KEYS_LEN);
	for (ssize_t i = 0; i + KEYS_LEN <= n; i++)
		ck_assert(memcmp(file + i, master, KEYS_LEN) != 0);
	/* a flipped bit in the parameters (the associated data): it does not open */
	file[8] ^= 1;
	ck_assert((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	ck_assert_int_eq(write(fd, file, (size_t)n), n);
	close(fd);
	ck_assert_int_ne(keys_master_load(dir, "passphrase", "pass one of the tests", got, err, sizeof(err)), KEYS_OK);
	keys_master_free(master);
	keys_master_free(got);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

/* a clear key: insecure-file and an old instance open, with the warning; a loose mode is refused */
START_TEST(clear_key_is_reported)
{
	char *dir = tu_tmpdir(), path[4200], err[600];
	unsigned char *master = keys_master_new(), *got = keys_master_new();

	snprintf(path, sizeof(path), "%s/%s", dir, KEYS_CLEAR);
	ck_assert_int_eq(keys_write_clear(path, master, err, sizeof(err)), 0);
	ck_assert_int_eq(keys_write_clear(path, master, err, sizeof(err)), -1);	/* never overwritten */
	ck_assert_int_eq(keys_master_load(dir, "insecure-file", NULL, got, err, sizeof(err)), KEYS_OK_INSECURE);
	ck_assert_int_eq(keys_master_load(dir, "passphrase", NULL, got, err, sizeof(err)), KEYS_OK_INSECURE);
	ck_assert(strstr(err, "mlistctl rekey") != NULL);
	ck_assert_int_eq(memcmp(master, got, KEYS_LEN), 0);
	chmod(path, 0644);
	ck_assert_int_eq(keys_master_load(dir, "insecure-file", NULL, got, err, sizeof(err)), KEYS_ERROR);
	ck_assert_int_eq(keys_master_load(dir, "/nonexistent/key", NULL, got, err, sizeof(err)), KEYS_ERROR);
	keys_master_free(master);
	keys_master_free(got);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("keys");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, smtp_side_cannot_open_the_spool);
	tcase_add_test(tc, another_instance_cannot_open);
	tcase_add_test(tc, wrapped_key_round_trip);
	tcase_add_test(tc, clear_key_is_reported);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
