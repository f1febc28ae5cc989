/*
 * test_digest_rows.c - the digest's waiting posts: their ids are never
 * reused, so a sealed copy taken from an earlier row does not open in a
 * later one (#19), and a database from before keeps its waiting posts.
 * An archived post waits as its archive row, sealed once (#15).
 */
#include "testutil.h"
#include <sqlite3.h>

#include "../../mlistd/mail/store.h"

static char *dir;
static struct keys *keys;
static struct store *st;
static char dbpath[4200];

/* reopen - the store on the same file, after a close */
static void
reopen(void)
{
	st = tu_store(dbpath, keys);
}

static void
setup(void)
{
	dir = tu_tmpdir();
	keys = tu_keys();
	snprintf(dbpath, sizeof(dbpath), "%s/mlistd.db", dir);
	reopen();
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

/* raw_exec - SQL straight on the database file, behind the store's back */
static void
raw_exec(const char *sql)
{
	tu_sql(dbpath, sql);
}

/* raw_int - the one integer a query answers */
static long long
raw_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	long long v;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* collect - each post the digest takes, as "at:text;" */
static void
collect(long long at, const struct buf *msg, void *arg)
{
	buf_printf(arg, "%lld:%.*s;", at, (int)msg->len, (const char *)msg->data);
}

/* take - the list's waiting posts, taken; how many (or STORE_ERR) and what */
static int
take(const char *list, struct buf *got)
{
	buf_reset(got);
	return store_digest_take(st, list, 1000, collect, got);
}

START_TEST(taken_ids_not_given_again)
{
	struct buf got;
	long long first;

	buf_init(&got, 0);
	ck_assert_int_eq(store_digest_add(st, "demo", 10, "one", 3), STORE_OK);
	ck_assert_int_eq(store_digest_add(st, "demo", 11, "two", 3), STORE_OK);
	first = raw_int("SELECT min(id) FROM digest_posts");
	/* someone keeps the sealed copy of the first post (a backup, a copy of the file) */
	raw_exec("CREATE TABLE kept AS SELECT msg FROM digest_posts WHERE id = "
	    "(SELECT min(id) FROM digest_posts)");
	ck_assert_int_eq(take("demo", &got), 2);
	ck_assert_str_eq(buf_cstr(&got), "10:one;11:two;");
	ck_assert_int_eq(store_digest_add(st, "demo", 12, "three", 5), STORE_OK);
	ck_assert_int_gt(raw_int("SELECT min(id) FROM digest_posts"), first + 1);
	/* put into the new row, the kept copy is bound to another id: it does not open */
	raw_exec("UPDATE digest_posts SET msg = (SELECT msg FROM kept)");
	ck_assert_int_eq(take("demo", &got), STORE_ERR);
	ck_assert_ptr_null(strstr(buf_cstr(&got), "one"));
	buf_free(&got);
}
END_TEST

/*
 * A database from before (digest_posts on plain rowids) is migrated in
 * place: the waiting post still opens, and later ids are far above every
 * id a digest has already taken.
 */
START_TEST(migration_keeps_waiting_posts)
{
	struct buf got;

	buf_init(&got, 0);
	ck_assert_int_eq(store_digest_add(st, "demo", 10, "one", 3), STORE_OK);
	ck_assert_int_eq(take("demo", &got), 1);
	ck_assert_int_eq(store_digest_add(st, "demo", 11, "two", 3), STORE_OK);
	store_close(st);
	st = NULL;
	/* what the schema before 14 wrote: no AUTOINCREMENT, no counter */
	raw_exec("PRAGMA writable_schema=ON; UPDATE sqlite_master SET sql = "
	    "replace(sql, ' AUTOINCREMENT', '') WHERE type = 'table'; "
	    "DELETE FROM sqlite_sequence; UPDATE schema_version SET version = 13;");
	reopen();
	ck_assert_int_eq(store_digest_add(st, "demo", 12, "three", 5), STORE_OK);
	ck_assert_int_gt(raw_int("SELECT max(id) FROM digest_posts"), 1000000);
	ck_assert_int_eq(take("demo", &got), 2);
	ck_assert_str_eq(buf_cstr(&got), "11:two;12:three;");
	buf_free(&got);
}
END_TEST

/*
 * An archived post waits for the digest as its archive row: no second
 * sealed copy, counted at its size, kept from the archive's expiry until
 * the digest takes it, gone with its list (#15)
 */
START_TEST(archived_post_waits_as_its_row)
{
	struct buf got;
	long long n = 0, bytes = 0, since = 0;
	int count = 0, issue = 0;

	buf_init(&got, 0);
	ck_assert_int_eq(store_archive_add(st, "demo", 10, "s\tx", "ARCHIVED",
	    8, &n), STORE_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_digest_add_archived(st, "demo", 10, n),
	    STORE_OK);
	ck_assert_int_eq(store_digest_add(st, "demo", 11, "own", 3), STORE_OK);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM digest_posts WHERE "
	    "length(msg) = 0"), 1);
	ck_assert_int_eq(store_digest_pending(st, "demo", &count, &bytes,
	    &since, &issue), STORE_OK);
	ck_assert_int_eq(count, 2);
	ck_assert_int_gt(bytes, 8 + 3);
	/* past its retention, but the digest still takes it */
	ck_assert_int_eq(store_identity_expire(st, "demo", 500, 100), STORE_OK);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM archive"), 1);
	ck_assert_int_eq(take("demo", &got), 2);
	ck_assert_str_eq(buf_cstr(&got), "10:ARCHIVED;11:own;");
	ck_assert_int_eq(raw_int("SELECT count(*) FROM digest_archived"), 0);
	ck_assert_int_eq(store_identity_expire(st, "demo", 500, 100), STORE_OK);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM archive"), 0);
	/* a list made again numbers its archive from 1: nothing waits on */
	ck_assert_int_eq(store_archive_add(st, "demo", 20, "s\tx", "OLD", 3,
	    &n), STORE_OK);
	ck_assert_int_eq(store_digest_add_archived(st, "demo", 20, n),
	    STORE_OK);
	ck_assert_int_eq(store_list_purge(st, "demo"), STORE_OK);
	ck_assert_int_eq(take("demo", &got), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM digest_archived"), 0);
	buf_free(&got);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("digest_rows");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, taken_ids_not_given_again);
	tcase_add_test(tc, migration_keeps_waiting_posts);
	tcase_add_test(tc, archived_post_waits_as_its_row);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
