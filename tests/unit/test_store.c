/* test_store.c - members in SQLite: sealed addresses, keyed look-up, migrations. */
#include "testutil.h"
#include <sqlite3.h>

#include "../../mlistd/mail/store.h"
/* the old-form pseudonym key of the migration test is sealed as it was */
#include "../../mlistd/mail/store_int.h"
#include "../../mlistd/mail/author.h"
#include "../../mlistd/mail/config.h"
#include "../../mlistd/pipeline/pipeline.h"
#include "../../mlistd/pipeline/policy.h"

/* dir, keys, st (its database at dbpath); setup and teardown */
TU_STORE_FIXTURE

static int
collect(const struct member *m, void *arg)
{
	buf_printf(arg, "%s/%s/%s;", m->addr, m->name ? m->name : "-", role_name(m->role));
	return 0;
}

static int
collect_none(const struct member *m, void *arg)
{
	(void)m;
	(void)arg;
	ck_abort_msg("a member that does not open was handed on");
	return 0;
}

START_TEST(member_lifecycle)
{
	struct member m;
	struct buf b;

	ck_assert_int_eq(store_member_add(st, "demo", "Alice@Example.org", "Alice A"), STORE_OK);
	ck_assert_int_eq(store_member_add(st, "demo", "alice@example.ORG", NULL), STORE_EXISTS);
	ck_assert_int_eq(store_member_add(st, "other", "alice@example.org", NULL), STORE_OK);
	ck_assert_int_eq(store_member_add(st, "demo", "bob@example.org", NULL), STORE_OK);
	ck_assert_int_eq(store_member_count(st, "demo"), 2);
	ck_assert_int_eq(store_member_find(st, "demo", "ALICE@example.org", &m), STORE_OK);
	ck_assert_str_eq(m.addr, "Alice@Example.org");
	ck_assert_str_eq(m.name, "Alice A");
	member_free(&m);
	ck_assert_int_eq(store_member_set(st, "demo", "bob@example.org", "role", "moderator"), STORE_OK);
	ck_assert_int_eq(store_member_set(st, "demo", "bob@example.org", "role", "king"), STORE_BADVALUE);
	ck_assert_int_eq(store_member_set(st, "demo", "bob@example.org", "nomail", "on"), STORE_OK);
	ck_assert_int_eq(store_member_set(st, "demo", "bob@example.org", "nomail", "maybe"), STORE_BADVALUE);
	ck_assert_int_eq(store_member_set(st, "demo", "carol@example.org", "nomail", "on"), STORE_NOTFOUND);
	ck_assert_int_eq(store_member_find(st, "demo", "bob@example.org", &m), STORE_OK);
	ck_assert_int_eq(m.nomail, 1);
	member_free(&m);
	buf_init(&b, 0);
	ck_assert_int_eq(store_member_each(st, "demo", collect, &b), 2);
	ck_assert_str_eq(buf_cstr(&b), "Alice@Example.org/Alice A/member;bob@example.org/-/moderator;");
	ck_assert_int_eq(store_member_rm(st, "demo", "bob@example.org"), STORE_OK);
	ck_assert_int_eq(store_member_rm(st, "demo", "bob@example.org"), STORE_NOTFOUND);
	ck_assert_int_eq(store_list_purge(st, "demo"), STORE_OK);
	ck_assert_int_eq(store_member_count(st, "demo"), 0);
	ck_assert_int_eq(store_member_count(st, "other"), 1);
	buf_free(&b);
}
END_TEST

START_TEST(no_plaintext_in_database)
{
	struct buf file;
	char path[4300];

	ck_assert_int_eq(store_member_add(st, "demo", "findme-address@example.org", "Findme Name"), STORE_OK);
	store_close(st);
	st = NULL;
	/* the database, its WAL and shm: none holds the address or the name */
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", dbpath, (const char *[]){ "", "-wal", "-shm" }[i]);
		buf_init(&file, 0);
		if (fs_read_file(path, &file, NULL) == 0) {
			ck_assert_ptr_null(memmem(file.data, file.len, "findme", 6));
			ck_assert_ptr_null(memmem(file.data, file.len, "Findme", 6));
		}
		buf_free(&file);
	}
	buf_init(&file, 0);
	st = store_open(dbpath, keys, &file);	/* for teardown */
	buf_free(&file);
}
END_TEST

START_TEST(schema_is_current_and_reopen_keeps_data)
{
	struct buf err;
	int v = store_schema_version(st);

	ck_assert_int_ge(v, 1);
	ck_assert_int_eq(store_member_add(st, "demo", "a@b.example", NULL), STORE_OK);
	store_close(st);
	buf_init(&err, 0);
	st = store_open(dbpath, keys, &err);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(store_schema_version(st), v);
	ck_assert_int_eq(store_member_count(st, "demo"), 1);
	buf_free(&err);
}
END_TEST

static void
count_archive(int n, long long at, const char *summary, void *arg)
{
	(void)n;
	(void)at;
	(void)summary;
	(*(int *)arg)++;
}

START_TEST(retention_erases_links_and_old_posts)
{
	char *a;
	int n = 0;

	ck_assert_int_eq(store_member_add(st, "demo", "rosa@example.org", "Rosa"), STORE_OK);
	ck_assert_int_eq(store_anon_add(st, "demo", "h1", "rosa@example.org", 2000), STORE_OK);
	ck_assert_int_eq(store_anon_add(st, "demo", "h2", "rosa@example.org", 5000), STORE_OK);
	ck_assert_int_eq(store_archive_add(st, "demo", 1000, "old\tpost", "A", 1,
	    NULL), STORE_OK);
	ck_assert_int_eq(store_archive_add(st, "demo", 3000, "new\tpost", "B", 1,
	    NULL), STORE_OK);
	a = store_member_by_handle(st, "demo", "h1", 1500);
	ck_assert_str_eq(a, "rosa@example.org");
	free(a);
	ck_assert_ptr_null(store_member_by_handle(st, "demo", "h1", 2500));	/* expired, even before the purge */
	ck_assert_int_eq(store_identity_expire(st, "demo", 2500, 2000), STORE_OK);
	ck_assert_ptr_null(store_member_by_handle(st, "demo", "h1", 0));	/* erased */
	a = store_member_by_handle(st, "demo", "h2", 2500);
	ck_assert_str_eq(a, "rosa@example.org");
	free(a);
	ck_assert_int_eq(store_archive_each(st, "demo", 0, count_archive, &n), 1);
	ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(pseudonyms_unique_by_skeleton)
{
	ck_assert_int_eq(store_member_add(st, "demo", "a@example.org", NULL), STORE_OK);
	ck_assert_int_eq(store_member_add(st, "demo", "b@example.org", NULL), STORE_OK);
	ck_assert_int_eq(store_member_add(st, "other", "b@example.org", NULL), STORE_OK);
	ck_assert_int_eq(store_member_set_pseudonym(st, "demo", "a@example.org", "Rosa", "rosa", "ha"), STORE_OK);
	ck_assert_int_eq(store_member_set_pseudonym(st, "demo", "b@example.org", "ROSA", "rosa", "hb"), STORE_EXISTS);
	ck_assert_int_eq(store_member_set_pseudonym(st, "other", "b@example.org", "ROSA", "rosa", "hc"), STORE_OK);
	ck_assert_int_eq(store_member_set_pseudonym(st, "demo", "nobody@example.org", "X", "x", "hd"), STORE_NOTFOUND);
}
END_TEST

/* member_id - the id of a member, which must exist */
static long long
member_id(const char *list, const char *addr)
{
	struct member m;
	long long id;

	ck_assert_int_eq(store_member_find(st, list, addr, &m), STORE_OK);
	id = m.id;
	member_free(&m);
	return id;
}

/* raw_exec - SQL straight on the database file, behind the store's back */
static void
raw_exec(const char *sql)
{
	tu_sql(dbpath, sql);
}

START_TEST(ids_not_reused_after_delete)
{
	long long bob, carol;

	ck_assert_int_eq(store_member_add(st, "demo", "alice@example.org", NULL), STORE_OK);
	ck_assert_int_eq(store_member_add(st, "demo", "bob@example.org", NULL), STORE_OK);
	bob = member_id("demo", "bob@example.org");
	ck_assert_int_eq(store_member_rm(st, "demo", "bob@example.org"), STORE_OK);
	ck_assert_int_eq(store_member_add(st, "demo", "carol@example.org", NULL), STORE_OK);
	carol = member_id("demo", "carol@example.org");
	ck_assert_int_gt(carol, bob);
	/* a departed member's id names nobody */
	ck_assert_ptr_null(store_member_addr_by_id(st, "demo", bob));
}
END_TEST

/*
 * An old database (schema 13: plain rowids) is brought to the current
 * schema in place: rows and the links between them survive, and from then
 * on ids are not reused.
 */
START_TEST(migration_from_rowid_schema)
{
	long long bob, dave, pid;
	int cur = store_schema_version(st);
	char plain[DFACT_COMBOS + 1];
	struct fanout_spec f = { .qid = "Q1", .list = "demo", .classes = plain,
	    .env_from = "demo-bounces@example.org", .now = 100, .expires = 1000 };

	ck_assert_int_eq(store_member_add(st, "demo", "alice@example.org", NULL), STORE_OK);
	ck_assert_int_eq(store_member_add(st, "demo", "bob@example.org", NULL), STORE_OK);
	ck_assert_int_eq(store_member_set(st, "demo", "bob@example.org", "role", "moderator"), STORE_OK);
	memset(plain, '1', DFACT_COMBOS);	/* every member a plain copy */
	plain[DFACT_COMBOS] = 0;
	ck_assert_int_eq(store_fanout(st, &f), 2);
	pid = store_pending_add(st, "demo", "remove", "x@example.org", "d", 2, "new", 100, 1000);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(store_pending_vote(st, pid, "demo", "bob@example.org"), 1);
	bob = member_id("demo", "bob@example.org");
	store_close(st);
	st = NULL;
	/* make it what schema 13 wrote: the same tables without AUTOINCREMENT */
	raw_exec("PRAGMA writable_schema=ON; UPDATE sqlite_master SET sql = "
	    "replace(sql, ' AUTOINCREMENT', '') WHERE type = 'table'; "
	    "DELETE FROM sqlite_sequence; UPDATE schema_version SET version = 13;");
	st = tu_store(dbpath, keys);
	ck_assert_int_eq(store_schema_version(st), cur);
	ck_assert_int_eq(store_member_count(st, "demo"), 2);
	ck_assert_int_eq(member_id("demo", "bob@example.org"), bob);
	ck_assert_int_eq(store_pending_count(st), 2);
	ck_assert_int_eq(store_moderator_count(st, "demo"), 1);
	ck_assert_int_eq(store_pending_vote(st, pid, "demo", "bob@example.org"), 1);
	/* bob leaves (his delivery goes with him), dave joins: a new id */
	ck_assert_int_eq(store_member_rm(st, "demo", "bob@example.org"), STORE_OK);
	ck_assert_int_eq(store_pending_count(st), 1);
	ck_assert_int_eq(store_member_add(st, "demo", "dave@example.org", NULL), STORE_OK);
	dave = member_id("demo", "dave@example.org");
	ck_assert_int_gt(dave, bob);
}
END_TEST

/* reopen - close the store and open it again (after raw_exec) */
static void
reopen(void)
{
	st = tu_store(dbpath, keys);
}

/* A sealed field that does not open is an error, never text handed on. */
START_TEST(corrupted_sealed_field_is_an_error)
{
	struct member m;
	long long id;

	ck_assert_int_eq(store_member_add(st, "demo", "rosa@example.org", "Rosa"), STORE_OK);
	id = member_id("demo", "rosa@example.org");
	store_close(st);
	st = NULL;
	raw_exec("UPDATE members SET addr = zeroblob(60)");
	reopen();
	ck_assert_int_eq(store_member_find(st, "demo", "rosa@example.org", &m), STORE_ERR);
	ck_assert_ptr_null(m.addr);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "sealed"));
	ck_assert_int_eq(store_member_each(st, "demo", collect_none, NULL), STORE_ERR);
	ck_assert_ptr_null(store_member_addr_by_id(st, "demo", id));
	ck_assert_int_eq(store_failed(st), 1);
	/* none is not an error */
	ck_assert_ptr_null(store_member_addr_by_id(st, "demo", id + 1));
	ck_assert_int_eq(store_failed(st), 0);
}
END_TEST

/*
 * A sealed blob is bound to its table, column and row: copied into another
 * column of its row (the address shown as the pseudonym) or into another
 * member's row, it does not open - an error, never data.
 */
/* raw_int - one integer a raw query of the file gives (what a thief reads) */
static long long
raw_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	long long v = -1;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* old_form_key - the key of handle h1 as the old store kept it */
static void
old_form_key(void)
{
	sqlite3_stmt *s = st_prep(st, "UPDATE pseudonym_keys SET handle = "
	    "'h1', secret = ?1, created = 1700000123 WHERE list = 'demo'");
	struct st_place pl;

	ck_assert_ptr_nonnull(s);
	st_place(&pl, "pseudonym_keys.secret");
	st_place_text(&pl, "demo");
	st_place_text(&pl, "h1");
	ck_assert_int_eq(st_bind_sealed_bytes(st, s, 1, "secret bytes", 12,
	    &pl), 0);
	ck_assert_int_eq(st_step_done(st, s), STORE_OK);
}

/*
 * A disk image without the key: the public handle is found nowhere in
 * clear, the join time is sealed, post counts join no member row and no
 * other day. The migration turns an old database (clear handle, clear
 * time, counts by members.addr_hash) into that, keeping what they mean.
 * Every migration from st_hide_rows on runs again: they must be idempotent.
 */
START_TEST(handles_times_and_counts_hidden_on_disk)
{
	struct member m;
	struct buf key;
	char *a, back[96];
	int hide = st_migration_index("-- st_hide_rows");

	ck_assert_int_ge(hide, 0);
	/* the migrations from st_hide_rows on run again (the later ones may) */
	snprintf(back, sizeof(back), "UPDATE schema_version SET version = %d;",
	    hide);
	ck_assert_int_eq(store_member_add(st, "demo", "rosa@example.org",
	    NULL), STORE_OK);
	ck_assert_int_eq(store_member_set_pseudonym(st, "demo",
	    "rosa@example.org", "Night Owl", "night owl", "h1"), STORE_OK);
	ck_assert_int_eq(store_post_count(st, "demo", "rosa@example.org", 5,
	    1), 1);
	ck_assert_int_eq(store_post_count(st, "demo", "rosa@example.org", 6,
	    1), 1);
	ck_assert_int_eq(store_post_total(st, "demo", "rosa@example.org"), 2);
	ck_assert_int_eq(store_pseudonym_key_put(st, "demo", "h1", "FPR",
	    "secret bytes", 12, 1700000123), STORE_OK);
	old_form_key();
	store_close(st);
	st = NULL;
	ck_assert_int_eq(raw_int("SELECT count(*) FROM members WHERE "
	    "CAST(handle AS TEXT) = 'h1' OR CAST(handle_seal AS TEXT) = 'h1'"),
	    0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM members WHERE "
	    "typeof(created) <> 'blob'"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM post_counts p JOIN "
	    "members m ON m.addr_hash = p.addr_hash"), 0);
	ck_assert_int_eq(raw_int("SELECT count(DISTINCT addr_hash) FROM "
	    "post_counts"), 3);		/* two days and the total: unlinked */
	/* the old form: clear handle and time, counts by the member's hash */
	raw_exec("ALTER TABLE members DROP COLUMN handle_seal;"
	    "UPDATE members SET handle = 'h1', created = 1700000000;"
	    "DELETE FROM post_counts;"
	    "INSERT INTO post_counts SELECT list, addr_hash, 5, 3 FROM members;");
	raw_exec(back);
	reopen();
	ck_assert_int_eq(store_member_find(st, "demo", "rosa@example.org", &m),
	    STORE_OK);
	ck_assert_str_eq(m.handle, "h1");
	ck_assert_int_eq(m.created, 1700000000);
	member_free(&m);
	a = store_member_by_handle(st, "demo", "h1", 0);
	ck_assert_str_eq(a, "rosa@example.org");
	free(a);
	ck_assert_int_eq(store_post_count(st, "demo", "rosa@example.org", 5,
	    0), 3);
	ck_assert_int_eq(store_post_total(st, "demo", "rosa@example.org"), 3);
	buf_init(&key, 0);
	ck_assert_int_eq(store_pseudonym_key_get(st, "demo", "h1", &key),
	    STORE_OK);
	ck_assert_int_eq((int)key.len, 12);
	ck_assert_int_eq(memcmp(key.data, "secret bytes", 12), 0);
	buf_free(&key);
	store_close(st);
	st = NULL;
	ck_assert_int_eq(raw_int("SELECT count(*) FROM pseudonym_keys WHERE "
	    "CAST(handle AS TEXT) = 'h1' OR created % 86400 <> 0"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM members WHERE "
	    "CAST(handle AS TEXT) = 'h1' OR typeof(created) <> 'blob'"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM post_counts p JOIN "
	    "members m ON m.addr_hash = p.addr_hash"), 0);
	reopen();
}
END_TEST

START_TEST(moved_sealed_field_does_not_open)
{
	struct member m;
	char *a;

	ck_assert_int_eq(store_member_add(st, "demo", "rosa@example.org", "Rosa"), STORE_OK);
	ck_assert_int_eq(store_member_add(st, "demo", "bob@example.org", NULL), STORE_OK);
	ck_assert_int_eq(store_member_set_pseudonym(st, "demo", "rosa@example.org", "Night Owl",
	    "night owl", "h1"), STORE_OK);
	ck_assert_int_eq(store_member_find(st, "demo", "rosa@example.org", &m), STORE_OK);
	ck_assert_str_eq(m.pseudonym, "Night Owl");
	member_free(&m);
	store_close(st);
	st = NULL;
	/* the address into the pseudonym column */
	raw_exec("UPDATE members SET pseudonym = addr "
	    "WHERE pseudo_key IS NOT NULL");
	reopen();
	ck_assert_int_eq(store_member_find(st, "demo", "rosa@example.org", &m), STORE_ERR);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "moved"));
	store_close(st);
	st = NULL;
	/* rosa's name into bob's row; rosa's address into bob's */
	raw_exec("UPDATE members SET name = (SELECT name FROM members WHERE pseudo_key IS NOT NULL), "
	    "addr = (SELECT addr FROM members WHERE pseudo_key IS NOT NULL) WHERE handle IS NULL");
	reopen();
	ck_assert_int_eq(store_member_find(st, "demo", "bob@example.org", &m), STORE_ERR);
	ck_assert_int_eq(store_member_each(st, "demo", collect_none, NULL), STORE_ERR);
	a = store_member_by_handle(st, "demo", "h1", 0);
	ck_assert_str_eq(a, "rosa@example.org");	/* rosa's own address still opens in her row */
	free(a);
}
END_TEST

/* legacy_seal - a field as the code before st_place sealed it: nonce || secretbox */
static void
legacy_hex(const char *text, char *hex, size_t n)
{
	unsigned char blob[256], *nonce = blob;
	size_t len = strlen(text);

	randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(blob + crypto_secretbox_NONCEBYTES, (const unsigned char *)text, len, nonce,
	    keys->field);
	sodium_bin2hex(hex, n, blob, crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len);
}

/*
 * A database whose fields were sealed by the old code (no associated data)
 * is migrated: every field is sealed again to its place and still reads;
 * afterwards a moved one no longer opens.
 */
START_TEST(unbound_fields_are_resealed_by_the_migration)
{
	char addr[200], name[200], ps[200], arg[200], sql[2000];
	struct member m;
	struct pending pa;
	long long pid;

	ck_assert_int_eq(store_member_add(st, "demo", "rosa@example.org", NULL), STORE_OK);
	ck_assert_int_eq(store_member_set_pseudonym(st, "demo", "rosa@example.org", "x", "x", "h1"),
	    STORE_OK);
	pid = store_pending_add(st, "demo", "unmask", "placeholder", "d", 2, "new", 100, 1000);
	ck_assert_int_gt(pid, 0);
	store_close(st);
	st = NULL;
	legacy_hex("rosa@example.org", addr, sizeof(addr));
	legacy_hex("Rosa Luxemburg", name, sizeof(name));
	legacy_hex("Night Owl", ps, sizeof(ps));
	legacy_hex("Night Owl", arg, sizeof(arg));
	snprintf(sql, sizeof(sql), "UPDATE members SET addr = x'%s', name = x'%s', pseudonym = x'%s'; "
	    "UPDATE pending SET arg = x'%s'; UPDATE schema_version SET version = 13;", addr, name, ps, arg);
	raw_exec(sql);
	reopen();
	ck_assert_int_eq(store_member_find(st, "demo", "rosa@example.org", &m), STORE_OK);
	ck_assert_str_eq(m.addr, "rosa@example.org");
	ck_assert_str_eq(m.name, "Rosa Luxemburg");
	ck_assert_str_eq(m.pseudonym, "Night Owl");
	member_free(&m);
	ck_assert_int_eq(store_pending_get(st, pid, &pa), STORE_OK);
	ck_assert_str_eq(pa.arg, "Night Owl");
	free(pa.arg);
	store_close(st);
	st = NULL;
	raw_exec("UPDATE members SET pseudonym = name");
	reopen();
	ck_assert_int_eq(store_member_find(st, "demo", "rosa@example.org", &m), STORE_ERR);
}
END_TEST

/* the answers that must tell "none" from "the database failed" */
static long long q_processed(void) { return store_processed(st, "Q1"); }
static long long q_pending_for(void) { return store_pending_for(st, "Q1"); }
static long long q_is_held(void) { return store_is_held(st, "Q1"); }
static long long q_banned(void) { return store_banned(st, "demo", "x@example.org"); }
static long long q_post_count(void) { return store_post_count(st, "demo", "x@example.org", 1, 0); }
static long long q_post_total(void) { return store_post_total(st, "demo", "x@example.org"); }
static long long q_notice(void) { return store_notice_allowed(st, "x@example.org", 10000, 3600); }
static long long q_count(void) { return store_member_count(st, "demo"); }
static long long q_next_due(void) { return store_next_due(st); }
static long long q_until(void) { return store_discipline_until(st, "demo", "x@example.org"); }
static long long q_steps(void) { return store_discipline_steps(st, "demo", "x@example.org"); }
static long long q_mods(void) { return store_moderator_count(st, "demo"); }
/* held_none - a row callback that keeps nothing */
static void
held_none(const char *id, const char *reason, long long at, void *arg)
{
	(void)id; (void)reason; (void)at; (void)arg;
}

/* key_none - a row callback that keeps nothing */
static void
key_none(const char *sel, const unsigned char *pk, int active, long long at,
    void *arg)
{
	(void)sel; (void)pk; (void)active; (void)at; (void)arg;
}

static long long q_held_each(void) { return store_held_each(st, "demo", held_none, NULL); }
static long long q_sig_seen(void) { return store_signature_seen(st, "demo", "sig1"); }
static long long q_keys_each(void) { return store_keys_each(st, "demo", key_none, NULL); }
static long long q_own_key(void)
{
	unsigned char pk[32];

	return store_member_own_key(st, "demo", "x@example.org", pk, sizeof(pk));
}

static const struct {
	const char	*name;
	long long	 (*call)(void);
	long long	 none;		/* the answer with nothing there */
} answers[] = {
	{ "processed", q_processed, 0 },
	{ "pending_for", q_pending_for, 0 },
	{ "is_held", q_is_held, 0 },
	{ "banned", q_banned, 0 },
	{ "post_count", q_post_count, 0 },
	{ "post_total", q_post_total, 0 },
	{ "notice_allowed", q_notice, 1 },
	{ "member_count", q_count, 0 },
	{ "next_due", q_next_due, STORE_NOTFOUND },
	{ "discipline_until", q_until, 0 },
	{ "discipline_steps", q_steps, 0 },
	{ "moderator_count", q_mods, 0 },
	{ "member_own_key", q_own_key, 0 },	/* an error once let an unsigned post pass */
	{ "held_each", q_held_each, 0 },
	{ "keys_each", q_keys_each, 0 },
	/* an error once read as a replay: a signed post dropped unseen */
	{ "signature_seen", q_sig_seen, 0 },
};

/* Each answer is its "none" on an empty database, and STORE_ERR once the tables are unreadable. */
START_TEST(error_is_not_none)
{
	size_t i;

	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
		ck_assert_msg(answers[i].call() == answers[i].none, "%s: none", answers[i].name);
	raw_exec("PRAGMA foreign_keys=OFF; DROP TABLE processed; DROP TABLE deliveries; "
	    "DROP TABLE held; DROP TABLE bans; DROP TABLE post_counts; DROP TABLE notices; "
	    "DROP TABLE pending_votes; DROP TABLE members; DROP TABLE discipline; "
	    "DROP TABLE list_keys; DROP TABLE schema_version; "
	    "DROP TABLE seen_signatures;");
	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
		ck_assert_msg(answers[i].call() == STORE_ERR, "%s: error read as %lld", answers[i].name,
		    answers[i].call());
	/* read as 0, the migrations would run again over the database */
	ck_assert_int_lt(store_schema_version(st), 0);
}
END_TEST

/*
 * a statement that prepares but fails when run (here a trigger's integer
 * overflow): the call is STORE_ERR and store_failed says so; before,
 * store_failed still read 0 after such a step, so "none" and "error"
 * looked alike to callers that ask it
 */
START_TEST(failed_step_is_a_failure)
{
	raw_exec("CREATE TRIGGER boom BEFORE INSERT ON sent_msgids BEGIN "
	    "SELECT abs(-9223372036854775807 - 1); END;");
	ck_assert_int_eq(store_copy_msgid(st, "0123456789ABCDEF", "<m@x>",
	    1000, 0), STORE_ERR);
	ck_assert_int_eq(store_failed(st), 1);
	raw_exec("DROP TRIGGER boom;");
	ck_assert_int_eq(store_copy_msgid(st, "0123456789ABCDEF", "<m@x>",
	    1000, 0), STORE_OK);
	ck_assert_int_eq(store_failed(st), 0);
}
END_TEST

/*
 * a pseudonym given up (its member gone) is the list's for a while; a
 * list deleted forgets it with the rest: before, the names of a deleted
 * list stayed reserved in a new list of the same name, and stayed on disk
 */
START_TEST(list_purge_forgets_given_up_names)
{
	ck_assert_int_eq(store_member_add(st, "demo", "a@example.org", NULL),
	    STORE_OK);
	ck_assert_int_eq(store_member_set_pseudonym(st, "demo",
	    "a@example.org", "Rosa", "rosa", "ha"), STORE_OK);
	ck_assert_int_eq(store_member_rm(st, "demo", "a@example.org"),
	    STORE_OK);
	ck_assert_int_eq(store_pseudonym_given_up(st, "demo", "rosa", 0),
	    STORE_EXISTS);
	ck_assert_int_eq(store_list_purge(st, "demo"), STORE_OK);
	ck_assert_int_eq(store_pseudonym_given_up(st, "demo", "rosa", 0),
	    STORE_NOTFOUND);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM pseudonym_given_up"),
	    0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM "
	    "pseudonym_given_up_handle"), 0);
}
END_TEST

/*
 * a member's pseudonym given up as she leaves, when the step that keeps
 * its handle fails: an error, and store_failed says so (it read 0, the
 * failure of a step after a fresh prepare)
 */
START_TEST(give_up_failure_is_a_failure)
{
	ck_assert_int_eq(store_member_add(st, "demo", "a@example.org", NULL),
	    STORE_OK);
	ck_assert_int_eq(store_member_set_pseudonym(st, "demo",
	    "a@example.org", "Rosa", "rosa", "ha"), STORE_OK);
	raw_exec("CREATE TRIGGER boom BEFORE INSERT ON "
	    "pseudonym_given_up_handle BEGIN "
	    "SELECT abs(-9223372036854775807 - 1); END;");
	ck_assert_int_eq(store_member_rm(st, "demo", "a@example.org"),
	    STORE_ERR);
	ck_assert_int_eq(store_failed(st), 1);
	raw_exec("DROP TRIGGER boom;");
	ck_assert_int_eq(store_member_rm(st, "demo", "a@example.org"),
	    STORE_OK);
}
END_TEST

/* raw_plan - EXPLAIN QUERY PLAN's details for sql, each ended by ';' */
static void
raw_plan(const char *sql, struct buf *out)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	char *q = NULL;

	ck_assert_int_ge(asprintf(&q, "EXPLAIN QUERY PLAN %s", sql), 0);
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		buf_printf(out, "%s;", (const char *)sqlite3_column_text(s, 3));
	sqlite3_finalize(s);
	sqlite3_close(db);
	free(q);
}

/*
 * a pseudonym's retired keys (`keys NAME`) are found by its handle's
 * index: by the primary key (list, fpr), every retired key of the list
 * was read for one name (store_pseudonym_retired_each, and attack11's
 * store_pseudonym_retired_given_up join)
 */
START_TEST(retired_keys_found_by_handle)
{
	struct buf b;

	buf_init(&b, 0);
	raw_plan("SELECT public, list, fpr, retired FROM "
	    "pseudonym_retired_keys WHERE list = ?1 AND handle = ?2 "
	    "ORDER BY retired DESC, fpr", &b);
	ck_assert_msg(strstr(buf_cstr(&b), "pseudonym_retired_handle (list=? "
	    "AND handle=?)") != NULL, "%s", buf_cstr(&b));
	buf_free(&b);
	buf_init(&b, 0);
	raw_plan("SELECT r.public, r.list, r.fpr, r.retired FROM "
	    "pseudonym_given_up_handle g JOIN pseudonym_retired_keys r ON "
	    "r.list = g.list AND r.handle = g.handle WHERE g.list = ?1 AND "
	    "g.pseudo_key = ?2 AND NOT EXISTS (SELECT 1 FROM members m WHERE "
	    "m.list = ?1 AND m.pseudo_key = ?2) ORDER BY r.retired DESC, "
	    "r.fpr", &b);
	ck_assert_msg(strstr(buf_cstr(&b), "pseudonym_retired_handle (list=? "
	    "AND handle=?)") != NULL, "%s", buf_cstr(&b));
	ck_assert_msg(strstr(buf_cstr(&b), "members_pseudo") != NULL, "%s",
	    buf_cstr(&b));
	buf_free(&b);
}
END_TEST

/*
 * policy_author on a database that fails: an error, never "a key no
 * member registered" (a signature-only list refused her post for good)
 * nor a replay (her signed post dropped unseen)
 */
START_TEST(author_check_error_is_not_unknown_key)
{
	static const char msg[] =
	    "From: <x@example.org>\r\nSubject: thesis\r\n"
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "Message-ID: <m1@example.org>\r\n"
	    "List-Id: <demo.lists.example>\r\n\r\nOn organisation.\r\n";
	unsigned char seed[32], pk[32], sk[64];
	struct config cfg;
	struct list_cfg l;
	struct pipeline p;
	struct authorship a;
	struct buf h, m;

	memset(&cfg, 0, sizeof(cfg));
	memset(&l, 0, sizeof(l));
	memset(&p, 0, sizeof(p));
	cfg.hostname = "lists.example";
	l.name = "demo";
	p.cfg = &cfg;
	p.st = st;
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	buf_init(&h, 0);
	ck_assert_int_eq(author_sign(seed, NULL, 1700000000, msg,
	    sizeof(msg) - 1, &h), 0);
	buf_init(&m, 0);
	buf_append(&m, h.data, h.len);
	buf_puts(&m, msg);
	/* a working store: signed, by nobody's key */
	ck_assert_int_eq(policy_author(&p, &l, &m, &a), 0);
	ck_assert(a.present && a.signed_by == NULL);
	ck_assert_int_eq(a.reason, REASON_SIG_UNKNOWN_KEY);
	raw_exec("PRAGMA foreign_keys=OFF; DROP TABLE members;");
	ck_assert_int_lt(policy_author(&p, &l, &m, &a), 0);
	ck_assert(a.signed_by == NULL);
	buf_free(&h);
	buf_free(&m);
}
END_TEST

/*
 * policy_screen_post on a database that fails: the post waits
 * (V_TEMPFAIL), never passes as "not banned" nor is refused as a
 * stranger's (#15: a failed step read as 0 let a banned sender through)
 */
START_TEST(screen_error_is_not_a_pass)
{
	static const char msg[] = "From: <alice@example.org>\r\n"
	    "Subject: hi\r\n\r\nhi\r\n";
	struct config cfg;
	struct list_cfg l;
	struct pipeline p;
	struct envelope e;
	struct authorship a;
	struct authn au;
	struct decision d;
	struct buf m;
	char from[320];

	memset(&cfg, 0, sizeof(cfg));
	memset(&l, 0, sizeof(l));
	memset(&p, 0, sizeof(p));
	memset(&e, 0, sizeof(e));
	memset(&a, 0, sizeof(a));
	memset(&au, 0, sizeof(au));
	cfg.hostname = "lists.example";
	l.name = "demo";
	l.posting = POSTING_MEMBERS;
	p.cfg = &cfg;
	p.st = st;
	buf_init(&m, 0);
	buf_puts(&m, msg);
	e.sender = "alice@example.org";
	/* a working store: a stranger is refused, the member goes on */
	ck_assert_int_eq(policy_screen_post(&p, &l, &e, &m, &a, &au, from,
	    sizeof(from), &d), 1);
	ck_assert_int_eq(d.verdict, V_REFUSE);
	ck_assert_int_eq(store_member_add(st, "demo", "alice@example.org",
	    NULL), STORE_OK);
	ck_assert_int_eq(policy_screen_post(&p, &l, &e, &m, &a, &au, from,
	    sizeof(from), &d), 0);
	/* the member look-up fails: she waits, she is no stranger */
	raw_exec("PRAGMA foreign_keys=OFF; DROP TABLE members;");
	ck_assert_int_lt(policy_screen_post(&p, &l, &e, &m, &a, &au, from,
	    sizeof(from), &d), 0);
	ck_assert_int_eq(d.verdict, V_TEMPFAIL);
	/* the ban look-up fails: nobody passes as "not banned" */
	raw_exec("PRAGMA foreign_keys=OFF; DROP TABLE bans;");
	ck_assert_int_lt(policy_screen_post(&p, &l, &e, &m, &a, &au, from,
	    sizeof(from), &d), 0);
	ck_assert_int_eq(d.verdict, V_TEMPFAIL);
	ck_assert_str_eq(d.reason, "ban check failed");
	buf_free(&m);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, member_lifecycle);
	tcase_add_test(tc, no_plaintext_in_database);
	tcase_add_test(tc, schema_is_current_and_reopen_keeps_data);
	tcase_add_test(tc, retention_erases_links_and_old_posts);
	tcase_add_test(tc, pseudonyms_unique_by_skeleton);
	tcase_add_test(tc, ids_not_reused_after_delete);
	tcase_add_test(tc, migration_from_rowid_schema);
	tcase_add_test(tc, corrupted_sealed_field_is_an_error);
	tcase_add_test(tc, moved_sealed_field_does_not_open);
	tcase_add_test(tc, handles_times_and_counts_hidden_on_disk);
	tcase_add_test(tc, unbound_fields_are_resealed_by_the_migration);
	tcase_add_test(tc, error_is_not_none);
	tcase_add_test(tc, failed_step_is_a_failure);
	tcase_add_test(tc, list_purge_forgets_given_up_names);
	tcase_add_test(tc, give_up_failure_is_a_failure);
	tcase_add_test(tc, retired_keys_found_by_handle);
	tcase_add_test(tc, author_check_error_is_not_unknown_key);
	tcase_add_test(tc, screen_error_is_not_a_pass);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
