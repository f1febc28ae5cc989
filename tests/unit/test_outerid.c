/*
 * test_outerid.c - the outer thread ids of encrypted copies mapped back
 * (mail/store_outerid.c, delivery/pgpcopy.c's pgpcopy_outer_id): the id a
 * copy shows outside is found again, the first mapping of an id stays,
 * ids are per list, nothing is in clear, old rows go.
 */
#include "testutil.h"
#include <sqlite3.h>

#include "../../mlistd/delivery/pgpcopy.h"

/* dir, keys, st (its database at dbpath); setup and teardown */
TU_STORE_FIXTURE

/* outer - the outer id a copy on list shows for id */
static void
outer(const char *list, const char *id, char *out, size_t n)
{
	ck_assert_int_eq(pgpcopy_outer_id(keys->lookup, list, "lists.example",
	    id, out, n), 0);
}

START_TEST(outer_id_has_the_fixed_form_and_is_stable)
{
	char a[100], b[100], c[100];

	outer("demo", "<root@example.org>", a, sizeof(a));
	outer("demo", "<root@example.org>", b, sizeof(b));
	outer("other", "<root@example.org>", c, sizeof(c));
	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);		/* keyed per list */
	ck_assert_int_eq(strlen(a), 32 + 2 + strlen("@lists.example"));
	ck_assert(pgpcopy_is_outer_id(a, "lists.example"));
	ck_assert(!pgpcopy_is_outer_id("<root@example.org>", "lists.example"));
	ck_assert(!pgpcopy_is_outer_id(a, "other.example"));
	/* an id already of that form stands for itself */
	outer("demo", a, b, sizeof(b));
	ck_assert_str_eq(a, b);
	/* without the instance's seed there is no stable id to map */
	ck_assert_int_eq(pgpcopy_outer_id(NULL, "demo", "lists.example",
	    "<x@y>", b, sizeof(b)), -1);
	ck_assert_int_eq(pgpcopy_outer_id(keys->lookup, "demo",
	    "lists.example", "<x@y>", b, 10), -1);
}
END_TEST

START_TEST(mapped_back_first_mapping_stays_per_list)
{
	char o[100], got[300];

	outer("demo", "<root@example.org>", o, sizeof(o));
	ck_assert_int_eq(store_outer_map(st, "demo", o, got, sizeof(got), NULL),
	    STORE_NOTFOUND);
	ck_assert_int_eq(store_outer_put(st, "demo", o, "<root@example.org>",
	    NULL, 1000, 0), STORE_OK);
	ck_assert_int_eq(store_outer_map(st, "demo", o, got, sizeof(got), NULL),
	    STORE_OK);
	ck_assert_str_eq(got, "<root@example.org>");
	/* a later post choosing an id cannot take the mapping over */
	ck_assert_int_eq(store_outer_put(st, "demo", o, "<evil@example.org>",
	    NULL, 1001, 0), STORE_OK);
	ck_assert_int_eq(store_outer_map(st, "demo", o, got, sizeof(got), NULL),
	    STORE_OK);
	ck_assert_str_eq(got, "<root@example.org>");
	/* another list knows nothing of it */
	ck_assert_int_eq(store_outer_map(st, "other", o, got, sizeof(got), NULL),
	    STORE_NOTFOUND);
	/* too small a buffer: not found, never cut */
	ck_assert_int_eq(store_outer_map(st, "demo", o, got, 5, NULL),
	    STORE_NOTFOUND);
}
END_TEST

START_TEST(chain_kept_beside_the_id)
{
	char o[100], got[300];
	struct buf chain;

	buf_init(&chain, 0);
	outer("demo", "<r2@example.org>", o, sizeof(o));
	ck_assert_int_eq(store_outer_put(st, "demo", o, "<r2@example.org>",
	    "<root@example.org> <r1@example.org>", 1000, 0), STORE_OK);
	ck_assert_int_eq(store_outer_map(st, "demo", o, got, sizeof(got),
	    &chain), STORE_OK);
	ck_assert_str_eq(got, "<r2@example.org>");
	ck_assert_str_eq(buf_cstr(&chain),
	    "<root@example.org> <r1@example.org>");
	/* the id alone fits a buffer too small for the chain */
	ck_assert_int_eq(store_outer_map(st, "demo", o, got, 17, NULL),
	    STORE_OK);
	buf_free(&chain);
}
END_TEST

/* raw_count - a count straight from the database file */
static long long
raw_count(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	long long n = -1;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

START_TEST(nothing_in_clear_and_old_rows_go)
{
	char o1[100], o2[100], got[300];

	outer("demo", "<secret.id@author.example>", o1, sizeof(o1));
	outer("demo", "<newer@author.example>", o2, sizeof(o2));
	ck_assert_int_eq(store_outer_put(st, "demo", o1,
	    "<secret.id@author.example>", "<up.chain@author.example>", 1000,
	    0), STORE_OK);
	ck_assert_int_eq(raw_count("SELECT count(*) FROM outer_ids WHERE "
	    "instr(CAST(real AS TEXT), 'author.example') > 0 OR "
	    "instr(CAST(id_hash AS TEXT), 'lists.example') > 0"), 0);
	ck_assert_int_eq(raw_count("SELECT count(*) FROM outer_ids"), 1);
	/* the archive keeps 1000 s here: the row of time 1000 goes at 3000 */
	ck_assert_int_eq(store_outer_put(st, "demo", o2,
	    "<newer@author.example>", NULL, 3000, 2000), STORE_OK);
	ck_assert_int_eq(store_outer_map(st, "demo", o1, got, sizeof(got), NULL),
	    STORE_NOTFOUND);
	ck_assert_int_eq(store_outer_map(st, "demo", o2, got, sizeof(got), NULL),
	    STORE_OK);
	/* a deleted list leaves none */
	ck_assert_int_eq(store_list_purge(st, "demo"), STORE_OK);
	ck_assert_int_eq(raw_count("SELECT count(*) FROM outer_ids"), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("outerid");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, outer_id_has_the_fixed_form_and_is_stable);
	tcase_add_test(tc, mapped_back_first_mapping_stays_per_list);
	tcase_add_test(tc, nothing_in_clear_and_old_rows_go);
	tcase_add_test(tc, chain_kept_beside_the_id);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
