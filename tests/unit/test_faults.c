/*
 * test_faults.c - a failed commit answers 451, never 250, and leaves nothing;
 * a delivery journal line reaches only the delivery it was written for.
 * Linked with -Wl,--wrap=write,fsync,rename,close: each wrapper fails on
 * demand, so every step of the durable write is shown to be checked.
 */
#include <errno.h>

#include "testutil.h"
#include "../../mlistd/delivery/deliver.h"
#include "../../mlistd/ingest/smtp_session.h"
#include "../../mlistd/util/fsutil.h"

enum fault { F_NONE, F_WRITE, F_FSYNC, F_RENAME, F_CLOSE, F_DIRFSYNC, F_SYNCFS };
static enum fault fault;
static int armed;	/* only fail inside the DATA commit */

ssize_t __real_write(int, const void *, size_t);
int __real_fsync(int);
int __real_rename(const char *, const char *);
int __real_renameat2(int, const char *, int, const char *, unsigned);
int __real_close(int);
int __real_syncfs(int);

int
__wrap_syncfs(int fd)
{
	if (armed && fault == F_SYNCFS)
		return errno = EIO, -1;
	return __real_syncfs(fd);
}

ssize_t
__wrap_write(int fd, const void *p, size_t n)
{
	if (armed && fault == F_WRITE && fd > 2)
		return errno = ENOSPC, -1;
	return __real_write(fd, p, n);
}

int
__wrap_fsync(int fd)
{
	static int count;

	if (armed && fault == F_FSYNC)
		return errno = EIO, -1;
	/* the second fsync of a commit is the directory's */
	if (armed && fault == F_DIRFSYNC && ++count % 2 == 0)
		return errno = EIO, -1;
	return __real_fsync(fd);
}

int
__wrap_rename(const char *a, const char *b)
{
	if (armed && fault == F_RENAME)
		return errno = EXDEV, -1;
	return __real_rename(a, b);
}

int
__wrap_renameat2(int a, const char *p, int b, const char *q, unsigned flags)
{
	if (armed && fault == F_RENAME)
		return errno = EXDEV, -1;
	return __real_renameat2(a, p, b, q, flags);
}

int
__wrap_close(int fd)
{
	int rc = __real_close(fd);

	if (armed && fault == F_CLOSE && rc == 0)
		return errno = EIO, -1;	/* NFS-style deferred write error */
	return rc;
}

static char *dir;
static struct config *cfg;
static struct keys *keys;
static struct spool sp;

static void
setup(void)
{
	struct buf err;

	dir = tu_tmpdir();
	cfg = tu_instance(dir, NULL);
	keys = tu_keys();
	buf_init(&err, 0);
	ck_assert_int_eq(spool_open(&sp, cfg->state_dir, keys, &err), 0);
	buf_free(&err);
}

static void
teardown(void)
{
	armed = 0;
	config_free(cfg);
	keys_free(keys);
	tu_rmrf(dir);
	free(dir);
}

static const enum fault faults[] = { F_WRITE, F_FSYNC, F_RENAME, F_CLOSE, F_DIRFSYNC };

START_TEST(failed_commit_answers_451)
{
	static const char *const head = "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo@lists.example>\r\nDATA\r\n";
	static const char *const body = "Subject: x\r\n\r\nhello\r\n.\r\n";
	struct smtp_session s;

	fault = faults[_i];
	smtp_session_init(&s, cfg, &sp, 0, "192.0.2.1");
	smtp_session_input(&s, (const unsigned char *)head, strlen(head));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&s.out), "354 "));
	armed = 1;
	smtp_session_input(&s, (const unsigned char *)body, strlen(body));
	armed = 0;
	ck_assert_msg(strstr(buf_cstr(&s.out), "451 4.3.0") != NULL, "fault %d: %s", fault, buf_cstr(&s.out));
	ck_assert_ptr_null(strstr(buf_cstr(&s.out), "queued as"));
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_INCOMING]), 0);
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_TMP]), 0);
	/* the session goes on: the next attempt succeeds */
	buf_reset(&s.out);
	smtp_session_input(&s, (const unsigned char *)head + 8, strlen(head) - 8);
	smtp_session_input(&s, (const unsigned char *)body, strlen(body));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&s.out), "250 2.0.0 Ok: queued as"));
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_INCOMING]), 1);
	smtp_session_free(&s);
}
END_TEST

/* the group commit: several sessions' files flushed together; any failed step answers 451 to each */
static const enum fault group_faults[] = { F_WRITE, F_SYNCFS, F_RENAME, F_CLOSE, F_FSYNC };

START_TEST(failed_group_commit_answers_451_to_each)
{
	static const char *const head = "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo@lists.example>\r\nDATA\r\n";
	static const char *const body = "Subject: x\r\n\r\nhello\r\n.\r\nNOOP\r\n";
	struct smtp_session s[3], *group[3];
	int i;

	fault = group_faults[_i];
	for (i = 0; i < 3; i++) {
		smtp_session_init(&s[i], cfg, &sp, 0, "192.0.2.1");
		s[i].group_commit = 1;
		group[i] = &s[i];
		smtp_session_input(&s[i], (const unsigned char *)head, strlen(head));
		buf_reset(&s[i].out);
		smtp_session_input(&s[i], (const unsigned char *)body, strlen(body));
		/* no reply yet, and the pipelined NOOP waits behind the commit */
		ck_assert_int_eq(s[i].state, SS_COMMIT);
		ck_assert_uint_eq(s[i].out.len, 0);
	}
	armed = 1;
	smtp_session_commit_group(group, 3);
	armed = 0;
	for (i = 0; i < 3; i++) {
		ck_assert_msg(strstr(buf_cstr(&s[i].out), "451 4.3.0") != NULL, "fault %d: %s", fault,
		    buf_cstr(&s[i].out));
		ck_assert_ptr_nonnull(strstr(buf_cstr(&s[i].out), "250 2.0.0 Ok\r\n"));	/* the NOOP, after */
	}
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_INCOMING]), 0);
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_TMP]), 0);
	/* and without a fault the same group goes through, three files, three 250s */
	for (i = 0; i < 3; i++) {
		buf_reset(&s[i].out);
		smtp_session_input(&s[i], (const unsigned char *)head + 8, strlen(head) - 8);
		smtp_session_input(&s[i], (const unsigned char *)body, strlen(body));
	}
	smtp_session_commit_group(group, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_ptr_nonnull(strstr(buf_cstr(&s[i].out), "250 2.0.0 Ok: queued as"));
		smtp_session_free(&s[i]);
	}
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_INCOMING]), 3);
}
END_TEST

/* journal_fixture - a store at the instance's state dir, alice a member with one pending delivery of Q1 */
static struct store *
journal_fixture(char *jpath, size_t n)
{
	char dbpath[4200], plain[DFACT_COMBOS + 1];
	struct fanout_spec f = { .qid = "Q1", .list = "demo", .classes = plain,
	    .env_from = "demo-bounces@lists.example", .now = 100, .expires = 1LL << 40 };
	struct store *st;

	snprintf(dbpath, sizeof(dbpath), "%s/mlistd.db", cfg->state_dir);
	snprintf(jpath, n, "%s/queue/deliver.journal", cfg->state_dir);
	st = tu_store(dbpath, keys);
	ck_assert_int_eq(store_member_add(st, "demo", "alice@example.org", NULL), STORE_OK);
	memset(plain, '1', DFACT_COMBOS);
	plain[DFACT_COMBOS] = 0;
	ck_assert_int_eq(store_fanout(st, &f), 1);
	ck_assert_int_eq(store_pending_for(st, "Q1"), 1);
	return st;
}

/* hash_hex - the keyed hash of (list, addr) as the journal writes it */
static void
hash_hex(const char *addr, char *out)
{
	unsigned char h[KEYS_HASH_LEN];

	keys_addr_hash(keys, "demo", addr, h);
	for (int i = 0; i < KEYS_HASH_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* write_journal - replace the journal with text */
static void
write_journal(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * A stale "delivered" line - a row id from an older journal, another
 * message to the same member, the same message to someone else - cannot
 * mark the pending delivery done unsent; the line naming it does.
 */
START_TEST(stale_journal_line_marks_nothing)
{
	char jpath[4200], alice[2 * KEYS_HASH_LEN + 1], bob[2 * KEYS_HASH_LEN + 1], text[1024];
	struct store *st = journal_fixture(jpath, sizeof(jpath));

	hash_hex("alice@example.org", alice);
	hash_hex("bob@example.org", bob);
	/* row 1 is Q1's delivery to alice: the old format named it by that id alone */
	snprintf(text, sizeof(text), "1 1 0 -\nQ0 %s 1 1 0 -\nQ1 %s 1 1 0 -\nQ1 %s 1 1 0", alice, bob,
	    alice);	/* the last line torn: no newline */
	write_journal(jpath, text);
	ck_assert_int_ge(deliver_journal_replay(cfg, st), 0);
	ck_assert_int_eq(store_pending_for(st, "Q1"), 1);
	ck_assert_int_eq(deliver_backlog(), 0);
	/* a later result wins over an earlier one for the same delivery */
	snprintf(text, sizeof(text), "Q1 %s 0 1 999 451 try later\nQ1 %s 1 2 0 -\n", alice, alice);
	write_journal(jpath, text);
	ck_assert_int_eq(deliver_journal_replay(cfg, st), 1);
	ck_assert_int_eq(store_pending_for(st, "Q1"), 0);
	/* and replaying the same line again changes nothing (the row is no longer pending) */
	write_journal(jpath, text);
	ck_assert_int_ge(deliver_journal_replay(cfg, st), 0);
	ck_assert_int_eq(store_pending_for(st, "Q1"), 0);
	store_close(st);
}
END_TEST

static const enum fault new_faults[] = { F_WRITE, F_FSYNC, F_CLOSE };

/*
 * fs_write_new (a maildir copy, a master key, every fs_write_atomic):
 * a failed write, fsync or close leaves no file behind, and an old file
 * is never written over
 */
START_TEST(failed_new_file_leaves_none)
{
	char path[4200], key[4200], err[512];
	struct buf e;
	struct stat sb;

	snprintf(path, sizeof(path), "%s/new-file", dir);
	snprintf(key, sizeof(key), "%s/master.key", dir);
	buf_init(&e, 0);
	fault = new_faults[_i];
	armed = 1;
	ck_assert_int_eq(fs_write_new(path, "mail", 4, 0600, &e), -1);
	ck_assert_int_eq(keys_create(key, err, sizeof(err)), -1);
	armed = 0;
	ck_assert_ptr_nonnull(strstr(buf_cstr(&e), "cannot write"));
	ck_assert_ptr_nonnull(strstr(err, "master key: cannot write"));
	ck_assert_int_eq(stat(path, &sb), -1);
	ck_assert_int_eq(stat(key, &sb), -1);
	/* the same path once written stays as it was */
	ck_assert_int_eq(fs_write_new(path, "mail", 4, 0600, &e), 0);
	ck_assert_int_eq(fs_write_new(path, "other", 5, 0600, &e), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq((int)sb.st_size, 4);
	ck_assert_int_eq(keys_create(key, err, sizeof(err)), 0);
	ck_assert_int_eq(keys_create(key, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "already initialised"));
	buf_free(&e);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("commit");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, failed_commit_answers_451, 0, sizeof(faults) / sizeof(faults[0]));
	tcase_add_loop_test(tc, failed_group_commit_answers_451_to_each, 0, sizeof(group_faults) / sizeof(group_faults[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("journal");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, stale_journal_line_marks_nothing);
	suite_add_tcase(s, tc);
	tc = tcase_create("new file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, failed_new_file_leaves_none, 0,
	    sizeof(new_faults) / sizeof(new_faults[0]));
	suite_add_tcase(s, tc);
	return tu_run(s);
}
