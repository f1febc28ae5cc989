/*
 * test_store_queue.c - delivery rows (mail/store_queue.c): a VERP sender
 * names its own row's token, due rows come grouped as deliver batches
 * them, and the deliveries indexes after the migration that narrowed them;
 * a due row skipped is not opened; the write-ahead log checkpointed when
 * the store's user says it is idle; the key-expiry look (every second)
 * does not read every member of a big list.
 */
#include <sys/stat.h>
#include "testutil.h"
#include <sqlite3.h>

#include "../../mlistd/delivery/distribute.h"
#include "../../mlistd/mail/store.h"
#include "../../mlistd/mail/store_int.h"

static char *dir;
static struct keys *keys;
static struct store *st;
static char dbpath[4200];

static const char *const members[] = {
	"alice@example.org", "bob@example.org", "carol@example.org"
};

static void
setup(void)
{
	dir = tu_tmpdir();
	keys = tu_keys();
	snprintf(dbpath, sizeof(dbpath), "%s/mlistd.db", dir);
	st = tu_store(dbpath, keys);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(store_member_add(st, "demo", members[i], NULL),
		    STORE_OK);
}

static void
teardown(void)
{
	store_close(st);
	keys_free(keys);
	tu_rmrf(dir);
	free(dir);
}

/* fanout - one copy qid to every member, plain; VERP when prefix is set */
static int
fanout(const char *qid, const char *prefix)
{
	char plain[DFACT_COMBOS + 1];
	struct fanout_spec f = { .qid = qid, .list = "demo",
	    .classes = plain, .env_from = "demo-bounces@example.org",
	    .verp_prefix = prefix, .verp_suffix = "@example.org",
	    .now = 100, .expires = 1000 };

	memset(plain, '1', DFACT_COMBOS);
	plain[DFACT_COMBOS] = 0;
	return store_fanout(st, &f);
}

struct seen {
	int		 n;
	struct delivery	 d[16];
};

/* keep - store_deliveries_due callback: the rows in the order they came */
static void
keep(struct delivery *d, void *arg)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, 16);
	s->d[s->n++] = *d;
}

/* forget - free what keep kept */
static void
forget(struct seen *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->d[i].rcpt);
		buf_free(&s->d[i].pgp);
	}
	s->n = 0;
}

/* raw_exec - SQL straight on the database file, behind the store's back */
static void
raw_exec(const char *sql)
{
	tu_sql(dbpath, sql);
}

/*
 * raw_text - each row of sql appended to out: EXPLAIN QUERY PLAN's detail
 * (its fourth column), else the first column
 */
static void
raw_text(const char *sql, struct buf *out)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		buf_printf(out, "%s;", (const char *)sqlite3_column_text(s, 3) ?
		    (const char *)sqlite3_column_text(s, 3) :
		    (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/*
 * Each VERP sender carries the token of its own row: a bounce to it
 * finds the member the copy went to (a token drawn twice, once for the
 * row and once for the sender, would find nobody)
 */
START_TEST(verp_sender_names_its_own_row)
{
	struct seen s = { 0 };
	char list[72], token[33], *rcpt;
	const char *plus, *at;
	int probe;

	ck_assert_int_eq(fanout("Q1", "demo-bounces+"), 3);
	ck_assert_int_eq(store_deliveries_due(st, 100, 100, keep, &s), 3);
	for (int i = 0; i < 3; i++) {
		plus = strchr(s.d[i].env_from, '+');
		at = strchr(s.d[i].env_from, '@');
		ck_assert_ptr_nonnull(plus);
		ck_assert_ptr_nonnull(at);
		ck_assert_int_eq(at - plus - 1, 32);
		ck_assert_str_eq(at, "@example.org");
		memcpy(token, plus + 1, 32);
		token[32] = 0;
		ck_assert_int_eq(store_bounce_token(st, token, list, sizeof(list),
		    &rcpt, &probe), STORE_OK);
		ck_assert_str_eq(list, "demo");
		ck_assert_str_eq(rcpt, s.d[i].rcpt);
		free(rcpt);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(s.d[j].env_from, s.d[i].env_from);
	}
	forget(&s);
}
END_TEST

/* before - does a come before b: message, envelope sender, class, row */
static int
before(const struct delivery *a, const struct delivery *b)
{
	int c = strcmp(a->qid, b->qid);

	if (c == 0)
		c = strcmp(a->env_from, b->env_from);
	if (c == 0)
		c = a->dclass - b->dclass;
	return c < 0 || (c == 0 && a->id < b->id);
}

/*
 * Due rows come in deliver's batching order whatever order they were
 * written in, at most `limit` of them and the first ones in that order
 */
START_TEST(due_rows_come_grouped_and_limited)
{
	struct seen s = { 0 };

	ck_assert_int_eq(fanout("Q2", NULL), 3);
	ck_assert_int_eq(store_delivery_add(st, "Q1", "demo", "x@example.net",
	    "", NULL, DCLASS_PLAIN, 100, 1000), STORE_OK);
	ck_assert_int_eq(fanout("Q1", NULL), 3);
	ck_assert_int_eq(fanout("Q3", "demo-bounces+"), 3);
	/* not due yet: never handed on */
	ck_assert_int_eq(store_delivery_add(st, "Q0", "demo", "y@example.net",
	    "", NULL, DCLASS_PLAIN, 200, 1000), STORE_OK);
	ck_assert_int_eq(store_deliveries_due(st, 150, 100, keep, &s), 10);
	for (int i = 1; i < s.n; i++)
		ck_assert_msg(before(&s.d[i - 1], &s.d[i]), "row %d: %s %s "
		    "after %s %s", i, s.d[i].qid, s.d[i].env_from,
		    s.d[i - 1].qid, s.d[i - 1].env_from);
	ck_assert_str_eq(s.d[0].qid, "Q1");
	ck_assert_str_eq(s.d[0].env_from, "");
	ck_assert_str_eq(s.d[0].rcpt, "x@example.net");
	ck_assert_str_eq(s.d[9].qid, "Q3");
	forget(&s);
	ck_assert_int_eq(store_deliveries_due(st, 150, 2, keep, &s), 2);
	ck_assert_str_eq(s.d[0].rcpt, "x@example.net");
	ck_assert_str_eq(s.d[1].qid, "Q1");
	ck_assert_str_eq(s.d[1].env_from, "demo-bounces@example.org");
	forget(&s);
}
END_TEST

/*
 * A database from before the migration (deliveries_qid, every row in
 * deliveries_token, state in deliveries_rcpt) is migrated in place: two
 * indexes fewer per row, its pending rows still due, still recorded by
 * (qid, hash) through deliveries_rcpt, a token found through its index
 */
START_TEST(migration_narrows_the_delivery_indexes)
{
	struct seen s = { 0 };
	struct buf b;
	int cur = store_schema_version(st);
	char back[400];

	ck_assert_int_eq(fanout("Q1", "demo-bounces+"), 3);
	store_close(st);
	st = NULL;
	snprintf(back, sizeof(back), "DROP INDEX deliveries_token; "
	    "CREATE INDEX deliveries_token ON deliveries(token); "
	    "DROP INDEX deliveries_rcpt; CREATE INDEX deliveries_rcpt ON "
	    "deliveries(qid, rcpt_hash, state); "
	    "CREATE INDEX deliveries_qid ON deliveries(qid, state); "
	    "UPDATE schema_version SET version = %d;",
	    st_migration_with("DROP INDEX IF EXISTS deliveries_rcpt;"));
	raw_exec(back);
	st = tu_store(dbpath, keys);
	ck_assert_int_eq(store_schema_version(st), cur);
	buf_init(&b, 0);
	raw_text("SELECT name FROM sqlite_master WHERE type = 'index' AND "
	    "tbl_name = 'deliveries' ORDER BY name", &b);
	ck_assert_str_eq(buf_cstr(&b),
	    "deliveries_due;deliveries_rcpt;deliveries_token;");
	buf_free(&b);
	buf_init(&b, 0);
	raw_text("SELECT sql FROM sqlite_master WHERE name = "
	    "'deliveries_token'", &b);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "WHERE token IS NOT NULL"));
	buf_free(&b);
	buf_init(&b, 0);
	raw_text("EXPLAIN QUERY PLAN SELECT list FROM deliveries WHERE "
	    "token = 'x'", &b);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "deliveries_token"));
	buf_free(&b);
	/* store_pending_for's and store_delivery_record's statements */
	buf_init(&b, 0);
	raw_text("EXPLAIN QUERY PLAN SELECT count(*) FROM deliveries "
	    "WHERE qid = ?1 AND +state = 0", &b);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "deliveries_rcpt (qid=?)"));
	buf_free(&b);
	buf_init(&b, 0);
	raw_text("EXPLAIN QUERY PLAN UPDATE deliveries SET state = 1 "
	    "WHERE qid = ?1 AND rcpt_hash = ?2 AND state = 0", &b);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b),
	    "deliveries_rcpt (qid=? AND rcpt_hash=?)"));
	buf_free(&b);
	buf_init(&b, 0);
	raw_text("SELECT sql FROM sqlite_master WHERE name = "
	    "'deliveries_rcpt'", &b);
	ck_assert_ptr_null(strstr(buf_cstr(&b), "state"));
	buf_free(&b);
	ck_assert_int_eq(store_deliveries_due(st, 100, 100, keep, &s), 3);
	ck_assert_int_eq(store_delivery_record(st, "Q1", s.d[0].rcpt_hash,
	    DELIVERY_DONE, 1, 100, NULL), 1);
	ck_assert_int_eq(store_pending_for(st, "Q1"), 2);
	forget(&s);
}
END_TEST

/* the hash skip_marked skips */
static unsigned char marked[KEYS_HASH_LEN];

/* skip_marked - store_deliveries_due_unless skip: the marked row */
static int
skip_marked(const char *qid, const unsigned char *hash, void *arg)
{
	(void)arg;
	return strcmp(qid, "Q1") == 0 && memcmp(hash, marked, KEYS_HASH_LEN) == 0;
}

/*
 * A row skipped by its message and hash is counted but neither opened nor
 * handed on: its sealed address spoilt, the look still succeeds (a look
 * while a 10,000-member run is out skips all its rows). Not skipped, the
 * spoilt row is an error.
 */
START_TEST(skipped_due_rows_are_not_opened)
{
	struct seen s = { 0 };
	char sql[200];

	ck_assert_int_eq(fanout("Q1", NULL), 3);
	ck_assert_int_eq(store_deliveries_due(st, 100, 100, keep, &s), 3);
	memcpy(marked, s.d[1].rcpt_hash, KEYS_HASH_LEN);
	snprintf(sql, sizeof(sql), "UPDATE deliveries SET rcpt = "
	    "x'00112233445566778899' WHERE id = %lld", s.d[1].id);
	forget(&s);
	raw_exec(sql);
	ck_assert_int_eq(store_deliveries_due_unless(st, 100, 100, skip_marked,
	    keep, &s), 3);
	ck_assert_int_eq(s.n, 2);
	for (int i = 0; i < s.n; i++)
		ck_assert(memcmp(s.d[i].rcpt_hash, marked, KEYS_HASH_LEN) != 0);
	forget(&s);
	ck_assert_int_eq(store_deliveries_due(st, 100, 100, keep, &s),
	    STORE_ERR);
	ck_assert_int_eq(s.n, 2);
	forget(&s);
}
END_TEST

/* A pending row's time in (after, upto] is found; a row done is not */
START_TEST(due_between_finds_a_new_time)
{
	struct seen s = { 0 };

	ck_assert_int_eq(store_due_between(st, 0, 1000), 0);
	ck_assert_int_eq(fanout("Q1", NULL), 3);	/* due at 100 */
	ck_assert_int_eq(store_delivery_add(st, "Q0", "demo", "y@example.net",
	    "", NULL, DCLASS_PLAIN, 200, 1000), STORE_OK);
	ck_assert_int_eq(store_due_between(st, 99, 100), 1);
	ck_assert_int_eq(store_due_between(st, 100, 199), 0);
	ck_assert_int_eq(store_due_between(st, 150, 200), 1);
	ck_assert_int_eq(store_deliveries_due(st, 200, 100, keep, &s), 4);
	for (int i = 0; i < s.n; i++)
		ck_assert_int_eq(store_delivery_record(st, s.d[i].qid,
		    s.d[i].rcpt_hash, DELIVERY_DONE, 1, 0, NULL), 1);
	forget(&s);
	ck_assert_int_eq(store_due_between(st, 0, 1000), 0);
}
END_TEST

/* wal_bytes - the size of the database's write-ahead log */
static long long
wal_bytes(void)
{
	char wal[4300];
	struct stat sb;

	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	ck_assert_int_eq(stat(wal, &sb), 0);
	return (long long)sb.st_size;
}

/* commits - n transactions of a few rows each (no fsync: a loaded disk) */
static void
commits(int n)
{
	char qid[32];

	ck_assert_int_eq(store_durable(st, 0), 0);
	for (int i = 0; i < n; i++) {
		snprintf(qid, sizeof(qid), "C%d", i);
		ck_assert_int_eq(store_begin(st), 0);
		ck_assert_int_eq(fanout(qid, NULL), 3);
		ck_assert_int_eq(store_commit(st), 0);
	}
}

/*
 * With store_checkpoint_later no commit checkpoints below the limit
 * (SQLite's own would at 1,000 frames: the log grows past that), the
 * idle call copies it all and the log is written from its start again;
 * beyond the limit a commit checkpoints (the log stays near it)
 */
START_TEST(log_checkpointed_when_idle)
{
	struct buf b;
	long long page, big;

	buf_init(&b, 0);
	raw_text("PRAGMA page_size", &b);
	page = atoll(buf_cstr(&b)) + 24;	/* a frame: its header too */
	buf_free(&b);
	ck_assert_int_eq(store_checkpoint_later(st, 100000), 0);
	commits(600);
	big = wal_bytes();
	ck_assert_msg(big > 1200 * page, "log of %lld frames", big / page);
	ck_assert_int_eq(store_checkpoint_idle(st, 100000), 0);	/* fewer */
	ck_assert_int_gt(store_checkpoint_idle(st, 1), 1200);
	ck_assert_int_eq(store_checkpoint_idle(st, 1), 0);	/* none left */
	commits(600);
	ck_assert_int_eq(wal_bytes(), big);	/* reused, not grown */
	ck_assert_int_gt(store_checkpoint_idle(st, 1), 1200);
	store_close(st);
	tu_rmrf(dir);
	free(dir);
	dir = tu_tmpdir();
	snprintf(dbpath, sizeof(dbpath), "%s/mlistd.db", dir);
	st = tu_store(dbpath, keys);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(store_member_add(st, "demo", members[i], NULL),
		    STORE_OK);
	ck_assert_int_eq(store_checkpoint_later(st, 300), 0);
	commits(600);
	ck_assert_msg(wal_bytes() < 400 * page, "log of %lld frames",
	    wal_bytes() / page);
}
END_TEST

static void
no_key(long long id, const char *addr, long long exp, int expired, void *arg)
{
	(void)id, (void)addr, (void)exp, (void)expired;
	(*(int *)arg)++;
}

/*
 * The periodic key-expiry look, on a list of 2,000 members without keys:
 * by the list's index SQLite stepped through every member (some 20,000
 * steps) each second; by the expiry index there is nothing to read
 */
START_TEST(key_expiry_look_reads_no_keyless_member)
{
	char addr[64];
	sqlite3_stmt *s = NULL;
	int found = 0, steps = -1;

	ck_assert_int_eq(store_begin(st), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(addr, sizeof(addr), "m%04d@example.net", i);
		ck_assert_int_eq(store_member_add(st, "demo", addr, NULL),
		    STORE_OK);
	}
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_eq(store_enc_keys_due(st, "demo", 1000, 2000, no_key,
	    &found), 0);
	ck_assert_int_eq(found, 0);
	/* the cached statement keeps its counters across its resets */
	while ((s = sqlite3_next_stmt(st->db, s)) != NULL)
		if (strstr(sqlite3_sql(s), "addr_hash FROM members WHERE "
		    "enc_expires IS NOT NULL") != NULL)
			steps = sqlite3_stmt_status(s, SQLITE_STMTSTATUS_VM_STEP,
			    0);
	ck_assert_int_ge(steps, 0);
	ck_assert_msg(steps < 500, "%d steps for no member", steps);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_queue");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, verp_sender_names_its_own_row);
	tcase_add_test(tc, due_rows_come_grouped_and_limited);
	tcase_add_test(tc, migration_narrows_the_delivery_indexes);
	tcase_add_test(tc, skipped_due_rows_are_not_opened);
	tcase_add_test(tc, due_between_finds_a_new_time);
	tcase_add_test(tc, log_checkpointed_when_idle);
	tcase_add_test(tc, key_expiry_look_reads_no_keyless_member);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
