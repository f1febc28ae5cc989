/*
 * store.c - the SQLite database: the only file that speaks SQL.
 *
 * WAL mode, foreign keys on, synchronous=FULL (a commit that the daemon
 * relies on must survive power loss). The schema is versioned: each entry
 * of `migrations` moves the database one version forward inside a
 * transaction, so an old state directory is upgraded in place.
 *
 * Addresses and names are never stored in clear: each is sealed with the
 * field key (keys_seal), and found again through a keyed hash of
 * (list, lower-cased address). Every statement is prepared.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

struct store {
	sqlite3		*db;
	const struct keys *keys;
};

static const char *const migrations[] = {
	/* 1: members */
	"CREATE TABLE members ("
	"  id INTEGER PRIMARY KEY,"
	"  list TEXT NOT NULL,"
	"  addr_hash BLOB NOT NULL,"
	"  addr BLOB NOT NULL,"
	"  name BLOB,"
	"  role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member','moderator','owner')),"
	"  nomail INTEGER NOT NULL DEFAULT 0,"
	"  digest INTEGER NOT NULL DEFAULT 0,"
	"  bounce_score INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (list, addr_hash));"
	"CREATE INDEX members_list ON members(list);",
	NULL
};

/* exec - run SQL without results */
static int
exec(struct store *st, const char *sql)
{
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* store_schema_version - current schema version */
int
store_schema_version(struct store *st)
{
	sqlite3_stmt *s;
	int v = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT version FROM schema_version", -1, &s, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* migrate - apply every migration newer than the database */
static int
migrate(struct store *st, struct buf *err)
{
	int v, i, n;
	char sql[128];

	if (exec(st, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)") < 0)
		goto fail;
	for (n = 0; migrations[n]; n++)
		;
	v = store_schema_version(st);
	if (v > n) {
		buf_printf(err, "database schema version %d is newer than this mlistd (%d): upgrade mlistd", v, n);
		return -1;
	}
	for (i = v; i < n; i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d)", i + 1);
		if (exec(st, "BEGIN IMMEDIATE") < 0)
			goto fail;
		if (exec(st, migrations[i]) < 0 || exec(st, sql) < 0) {
			buf_printf(err, "migration to schema %d failed: %s", i + 1, sqlite3_errmsg(st->db));
			exec(st, "ROLLBACK");
			return -1;
		}
		if (exec(st, "COMMIT") < 0)
			goto fail;
	}
	return 0;
fail:
	buf_printf(err, "database: %s", sqlite3_errmsg(st->db));
	return -1;
}

/* store_open - open (creating) the database and bring the schema up to date */
struct store *
store_open(const char *path, const struct keys *k, struct buf *err)
{
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->keys = k;
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		buf_printf(err, "cannot open database %s: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		store_close(st);
		return NULL;
	}
	sqlite3_busy_timeout(st->db, 10000);
	if (exec(st, "PRAGMA journal_mode=WAL") < 0 || exec(st, "PRAGMA foreign_keys=ON") < 0 ||
	    exec(st, "PRAGMA synchronous=FULL") < 0 || exec(st, "PRAGMA secure_delete=ON") < 0) {
		buf_printf(err, "database %s: %s", path, sqlite3_errmsg(st->db));
		store_close(st);
		return NULL;
	}
	if (migrate(st, err) < 0) {
		store_close(st);
		return NULL;
	}
	return st;
}

/* store_close - finish */
void
store_close(struct store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
}

/* store_errmsg - last SQLite error text */
const char *
store_errmsg(struct store *st)
{
	return sqlite3_errmsg(st->db);
}

/* prep - prepare a statement */
static sqlite3_stmt *
prep(struct store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return NULL;
	return s;
}

/* bind_hash - bind the look-up hash of (list, addr) */
static void
bind_hash(struct store *st, sqlite3_stmt *s, int col, const char *list, const char *addr)
{
	unsigned char h[KEYS_HASH_LEN];

	keys_addr_hash(st->keys, list, addr, h);
	sqlite3_bind_blob(s, col, h, sizeof(h), SQLITE_TRANSIENT);
}

/* bind_sealed - bind an encrypted text field */
static int
bind_sealed(struct store *st, sqlite3_stmt *s, int col, const char *text)
{
	struct buf b;
	int rc;

	if (text == NULL)
		return sqlite3_bind_null(s, col) == SQLITE_OK ? 0 : -1;
	buf_init(&b, 0);
	if (keys_seal(st->keys, text, strlen(text), &b) < 0)
		return buf_free(&b), -1;
	rc = sqlite3_bind_blob(s, col, b.data, (int)b.len, SQLITE_TRANSIENT);
	buf_free(&b);
	return rc == SQLITE_OK ? 0 : -1;
}

/* column_opened - decrypt a sealed column into a new string (NULL if null) */
static char *
column_opened(struct store *st, sqlite3_stmt *s, int col)
{
	struct buf b;
	char *r;

	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return NULL;
	buf_init(&b, 0);
	if (keys_open(st->keys, sqlite3_column_blob(s, col), (size_t)sqlite3_column_bytes(s, col), &b) < 0)
		r = strdup("(undecryptable)");
	else
		r = strdup(buf_cstr(&b));
	buf_free(&b);
	return r;
}

/* store_member_add - a new member; STORE_EXISTS if already there */
int
store_member_add(struct store *st, const char *list, const char *addr, const char *name)
{
	sqlite3_stmt *s = prep(st, "INSERT INTO members (list, addr_hash, addr, name, created) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	if (bind_sealed(st, s, 3, addr) < 0 || bind_sealed(st, s, 4, name) < 0) {
		sqlite3_finalize(s);
		return STORE_ERR;
	}
	sqlite3_bind_int64(s, 5, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_CONSTRAINT)
		return STORE_EXISTS;
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERR;
}

/* store_member_rm - remove; STORE_NOTFOUND if not a member */
int
store_member_rm(struct store *st, const char *list, const char *addr)
{
	sqlite3_stmt *s = prep(st, "DELETE FROM members WHERE list = ?1 AND addr_hash = ?2");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return STORE_ERR;
	return sqlite3_changes(st->db) ? STORE_OK : STORE_NOTFOUND;
}

/* onoff - parse on/off/true/false/yes/no/1/0 */
static int
onoff(const char *v)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
		return 1;
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
		return 0;
	return -1;
}

/* store_member_set - change one member setting (name, role, nomail, digest) */
int
store_member_set(struct store *st, const char *list, const char *addr, const char *key,
    const char *value)
{
	static const struct { const char *key, *sql; } cols[] = {
		{ "name", "UPDATE members SET name = ?3 WHERE list = ?1 AND addr_hash = ?2" },
		{ "role", "UPDATE members SET role = ?3 WHERE list = ?1 AND addr_hash = ?2" },
		{ "nomail", "UPDATE members SET nomail = ?3 WHERE list = ?1 AND addr_hash = ?2" },
		{ "digest", "UPDATE members SET digest = ?3 WHERE list = ?1 AND addr_hash = ?2" },
	};
	sqlite3_stmt *s = NULL;
	int i, rc, flag = 0;

	for (i = 0; i < 4 && strcmp(cols[i].key, key); i++)
		;
	if (i == 4)
		return STORE_BADVALUE;
	if (i == 1 && strcmp(value, "member") && strcmp(value, "moderator") && strcmp(value, "owner"))
		return STORE_BADVALUE;
	if (i >= 2 && (flag = onoff(value)) < 0)
		return STORE_BADVALUE;
	if ((s = prep(st, cols[i].sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	if (i == 0)
		rc = bind_sealed(st, s, 3, value);
	else if (i == 1)
		rc = sqlite3_bind_text(s, 3, value, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
	else
		rc = sqlite3_bind_int(s, 3, flag) == SQLITE_OK ? 0 : -1;
	if (rc < 0 || sqlite3_step(s) != SQLITE_DONE) {
		sqlite3_finalize(s);
		return STORE_ERR;
	}
	sqlite3_finalize(s);
	return sqlite3_changes(st->db) ? STORE_OK : STORE_NOTFOUND;
}

/* member_row - fill a member from a SELECT of MEMBER_COLS */
#define MEMBER_COLS "id, addr, name, role, nomail, digest, bounce_score, created"
static void
member_row(struct store *st, sqlite3_stmt *s, struct member *m)
{
	m->id = sqlite3_column_int64(s, 0);
	m->addr = column_opened(st, s, 1);
	m->name = column_opened(st, s, 2);
	snprintf(m->role, sizeof(m->role), "%s", (const char *)sqlite3_column_text(s, 3));
	m->nomail = sqlite3_column_int(s, 4);
	m->digest = sqlite3_column_int(s, 5);
	m->bounce_score = sqlite3_column_int(s, 6);
	m->created = sqlite3_column_int64(s, 7);
}

/* member_free - release the strings of a member */
void
member_free(struct member *m)
{
	free(m->addr);
	free(m->name);
	m->addr = m->name = NULL;
}

/* store_member_find - look a member up by address */
int
store_member_find(struct store *st, const char *list, const char *addr, struct member *m)
{
	sqlite3_stmt *s = prep(st, "SELECT " MEMBER_COLS " FROM members WHERE list = ?1 AND addr_hash = ?2");
	int rc;

	memset(m, 0, sizeof(*m));
	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		member_row(st, s, m);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
}

/* store_member_each - call fn for every member of a list, in joining order */
int
store_member_each(struct store *st, const char *list, store_member_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT " MEMBER_COLS " FROM members WHERE list = ?1 ORDER BY id");
	struct member m;
	int rc, n = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int stop;

		member_row(st, s, &m);
		stop = fn(&m, arg);
		member_free(&m);
		n++;
		if (stop) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? n : STORE_ERR;
}

/* store_member_count - how many members a list has */
int
store_member_count(struct store *st, const char *list)
{
	sqlite3_stmt *s = prep(st, "SELECT count(*) FROM members WHERE list = ?1");
	int n = STORE_ERR;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* store_list_purge - forget everything about a deleted list */
int
store_list_purge(struct store *st, const char *list)
{
	sqlite3_stmt *s = prep(st, "DELETE FROM members WHERE list = ?1");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERR;
}
