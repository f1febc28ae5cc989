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

#include "config.h"
#include "store.h"

struct store {
	sqlite3		*db;
	const struct keys *keys;
	sqlite3_stmt	*result;	/* cached: store_delivery_result runs once per recipient */
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
	/* 2: distribution - processed mail, per-recipient deliveries, policy counters */
	"CREATE TABLE processed ("
	"  qid TEXT PRIMARY KEY,"
	"  list TEXT NOT NULL,"
	"  disposition TEXT NOT NULL,"
	"  at INTEGER NOT NULL);"
	"CREATE TABLE deliveries ("
	"  id INTEGER PRIMARY KEY,"
	"  qid TEXT NOT NULL,"
	"  list TEXT NOT NULL,"
	"  rcpt BLOB,"				/* sealed; NULL: the member's address */
	"  member_id INTEGER REFERENCES members(id) ON DELETE CASCADE,"
	"  rcpt_hash BLOB NOT NULL,"
	"  env_from TEXT NOT NULL,"
	"  token TEXT,"
	"  state INTEGER NOT NULL DEFAULT 0,"		/* 0 pending, 1 delivered, 2 failed */
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  done_at INTEGER);"
	"CREATE INDEX deliveries_due ON deliveries(state, next_try);"
	"CREATE INDEX deliveries_qid ON deliveries(qid, state);"
	"CREATE INDEX deliveries_token ON deliveries(token);"
	"CREATE TABLE bans (list TEXT NOT NULL, addr_hash BLOB NOT NULL, at INTEGER NOT NULL,"
	"  PRIMARY KEY (list, addr_hash));"
	"CREATE TABLE notices (addr_hash BLOB PRIMARY KEY, last INTEGER NOT NULL);"
	"CREATE TABLE post_counts (list TEXT NOT NULL, addr_hash BLOB NOT NULL, day INTEGER NOT NULL,"
	"  n INTEGER NOT NULL, PRIMARY KEY (list, addr_hash, day));"
	"CREATE TABLE held (qid TEXT PRIMARY KEY, list TEXT NOT NULL, reason TEXT NOT NULL,"
	"  at INTEGER NOT NULL);"
	"ALTER TABLE members ADD COLUMN last_bounce INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE members ADD COLUMN probe_sent INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE members ADD COLUMN bounce_disabled INTEGER NOT NULL DEFAULT 0;",
	/* 3: list signing keys (DKIM); the secret half sealed */
	"CREATE TABLE list_keys ("
	"  id INTEGER PRIMARY KEY,"
	"  list TEXT NOT NULL,"
	"  selector TEXT NOT NULL UNIQUE,"
	"  seed BLOB NOT NULL,"
	"  pk BLOB NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  active INTEGER NOT NULL DEFAULT 1);"
	"CREATE INDEX list_keys_list ON list_keys(list, active);",
	/* 4: each member's author key on this list (held by the server), the secret half sealed */
	"ALTER TABLE members ADD COLUMN author_seed BLOB;"
	"ALTER TABLE members ADD COLUMN author_pk BLOB;",
	/* 5: members who hold their own key; signed posts already seen (replay) */
	"ALTER TABLE members ADD COLUMN own_key INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX members_author_pk ON members(list, author_pk);"
	"CREATE TABLE seen_signatures (list TEXT NOT NULL, sig TEXT NOT NULL, at INTEGER NOT NULL,"
	"  PRIMARY KEY (list, sig));",
	/* 6: post confirmations: single-use tokens (stored hashed) bound to a held copy and its hash */
	"CREATE TABLE confirmations (token_hash BLOB PRIMARY KEY, list TEXT NOT NULL, out_id TEXT NOT NULL,"
	"  post_hash BLOB NOT NULL, poster_hash BLOB NOT NULL, expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);",
	/* 7: a token can also confirm a member's own key (kind 'key': post_hash holds the key) */
	"ALTER TABLE confirmations ADD COLUMN kind TEXT NOT NULL DEFAULT 'post';",
	/*
	 * 8: identity - a member's pseudonym (sealed), its look-alike skeleton
	 * (keyed hash: unique per list), the handle of private replies, the mode
	 * the member chose; the list's own Message-IDs by the (hashed) ids they
	 * replaced; anonymous handles while the authorship link is kept; the archive
	 */
	"ALTER TABLE members ADD COLUMN pseudonym BLOB;"
	"ALTER TABLE members ADD COLUMN pseudo_key BLOB;"
	"ALTER TABLE members ADD COLUMN handle TEXT;"
	"ALTER TABLE members ADD COLUMN identity TEXT;"
	"CREATE UNIQUE INDEX members_pseudo ON members(list, pseudo_key) WHERE pseudo_key IS NOT NULL;"
	"CREATE UNIQUE INDEX members_handle ON members(list, handle) WHERE handle IS NOT NULL;"
	"CREATE TABLE msgids (list TEXT NOT NULL, ref_hash BLOB NOT NULL, list_id TEXT NOT NULL,"
	"  at INTEGER NOT NULL, PRIMARY KEY (list, ref_hash));"
	"CREATE TABLE anon_handles (list TEXT NOT NULL, handle TEXT NOT NULL, addr BLOB NOT NULL,"
	"  expires INTEGER NOT NULL, PRIMARY KEY (list, handle));"
	"ALTER TABLE held ADD COLUMN author BLOB;"
	"CREATE TABLE archive (list TEXT NOT NULL, n INTEGER NOT NULL, at INTEGER NOT NULL,"
	"  summary BLOB NOT NULL, msg BLOB NOT NULL, PRIMARY KEY (list, n));",
	/* 9: a member's X25519 key: their copies are sealed to it; the digest's waiting posts */
	"ALTER TABLE members ADD COLUMN enc_pk BLOB;"
	"CREATE TABLE digest_posts (id INTEGER PRIMARY KEY, list TEXT NOT NULL, at INTEGER NOT NULL,"
	"  msg BLOB NOT NULL);"
	"CREATE TABLE digest_state (list TEXT PRIMARY KEY, last INTEGER NOT NULL, issue INTEGER NOT NULL);",
	/* 10: the leadership's audit log: hash-chained, each entry signed by the list's key */
	"CREATE TABLE audit (list TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, actor TEXT NOT NULL,"
	"  action TEXT NOT NULL, detail TEXT NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL,"
	"  selector TEXT NOT NULL, sig BLOB NOT NULL, PRIMARY KEY (list, seq));",
	/* 11: grave actions waiting for a quorum of moderators, and who approved them */
	"CREATE TABLE pending (id INTEGER PRIMARY KEY, list TEXT NOT NULL, action TEXT NOT NULL, arg BLOB NOT NULL,"
	"  detail TEXT NOT NULL, needed INTEGER NOT NULL, state TEXT NOT NULL, created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL);"
	"CREATE TABLE pending_votes (pending_id INTEGER NOT NULL REFERENCES pending(id) ON DELETE CASCADE,"
	"  member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE, PRIMARY KEY (pending_id, member_id));",
	/* 12: an encryption key's stated expiry, and whether the member was told it is near */
	"ALTER TABLE members ADD COLUMN enc_expires INTEGER;"
	"ALTER TABLE members ADD COLUMN enc_warned INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX members_enc_expires ON members(enc_expires) WHERE enc_expires IS NOT NULL;",
	/* 13: the discipline ladder: steps taken per address (kept when a suspension ends the membership) */
	"CREATE TABLE discipline (list TEXT NOT NULL, addr_hash BLOB NOT NULL, steps INTEGER NOT NULL,"
	"  until INTEGER NOT NULL, PRIMARY KEY (list, addr_hash));",
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
	sqlite3_finalize(st->result);
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
#define MEMBER_COLS "id, addr, name, role, nomail, digest, bounce_score, created, pseudonym, handle, identity"
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
	m->pseudonym = column_opened(st, s, 8);
	snprintf(m->handle, sizeof(m->handle), "%s", sqlite3_column_type(s, 9) == SQLITE_NULL ? "" :
	    (const char *)sqlite3_column_text(s, 9));
	m->identity = sqlite3_column_type(s, 10) == SQLITE_NULL ? -1 :
	    config_identity_parse((const char *)sqlite3_column_text(s, 10));
}

/* member_free - release the strings of a member */
void
member_free(struct member *m)
{
	free(m->addr);
	free(m->name);
	free(m->pseudonym);
	m->addr = m->name = m->pseudonym = NULL;
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

/* store_list_purge - forget a deleted list: members (their pending deliveries go with them), bans, counters */
int
store_list_purge(struct store *st, const char *list)
{
	static const char *const sql[] = {
		"DELETE FROM members WHERE list = ?1", "DELETE FROM bans WHERE list = ?1",
		"DELETE FROM post_counts WHERE list = ?1", "DELETE FROM msgids WHERE list = ?1",
		"DELETE FROM archive WHERE list = ?1",
	};
	sqlite3_stmt *s;
	int rc = STORE_OK;

	if (store_begin(st) < 0)
		return STORE_ERR;
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]) && rc == STORE_OK; i++) {
		if ((s = prep(st, sql[i])) == NULL)
			rc = STORE_ERR;
		else {
			sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
			rc = sqlite3_step(s) == SQLITE_DONE ? STORE_OK : STORE_ERR;
			sqlite3_finalize(s);
		}
	}
	if (rc != STORE_OK || store_commit(st) < 0) {
		store_rollback(st);
		return STORE_ERR;
	}
	return STORE_OK;
}

/*
 * Distribution: processed mail, deliveries, counters.
 */

/*
 * store_durable - synchronous=FULL (a commit survives power loss) or NORMAL
 * (in WAL mode: survives a crash of the process, not of the machine). The
 * queue manager uses NORMAL only to record delivery results: losing one to
 * a power cut means a duplicate copy, never a lost one.
 */
int
store_durable(struct store *st, int full)
{
	return exec(st, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

static long long scalar(struct store *, const char *, const char *, const char *, long long);

/* store_begin - start a write transaction */
int
store_begin(struct store *st)
{
	return exec(st, "BEGIN IMMEDIATE");
}

/* store_commit - make it durable */
int
store_commit(struct store *st)
{
	return exec(st, "COMMIT");
}

/* store_rollback - forget it */
void
store_rollback(struct store *st)
{
	(void)exec(st, "ROLLBACK");
}

/* step_done - run a statement that returns no rows; finalize it */
static int
step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : rc == SQLITE_CONSTRAINT ? STORE_EXISTS : STORE_ERR;
}

/* store_processed - has this incoming queue id been handled already? */
int
store_processed(struct store *st, const char *qid)
{
	long long n = scalar(st, "SELECT count(*) FROM processed WHERE qid = ?1", qid, NULL, 0);

	return n < 0 ? STORE_ERR : n > 0;
}

/* store_mark_processed - record what happened to an incoming message */
int
store_mark_processed(struct store *st, const char *qid, const char *list, const char *disposition)
{
	sqlite3_stmt *s = prep(st, "INSERT OR REPLACE INTO processed (qid, list, disposition, at) "
	    "VALUES (?1, ?2, ?3, ?4)");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, disposition, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
	return step_done(s);
}

/* store_delivery_add - one recipient of one rendered message */
int
store_delivery_add(struct store *st, const char *qid, const char *list, const char *rcpt,
    const char *env_from, const char *token, long long now, long long expires)
{
	sqlite3_stmt *s = prep(st, "INSERT INTO deliveries (qid, list, rcpt, rcpt_hash, env_from, token, "
	    "next_try, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	if (bind_sealed(st, s, 3, rcpt) < 0) {
		sqlite3_finalize(s);
		return STORE_ERR;
	}
	bind_hash(st, s, 4, list, rcpt);
	sqlite3_bind_text(s, 5, env_from, -1, SQLITE_TRANSIENT);
	if (token)
		sqlite3_bind_text(s, 6, token, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)expires);
	return step_done(s);
}

/*
 * store_fanout - one delivery per member of a list (every member who gets
 * mail, or only owners and moderators), in one statement: rows point at the
 * member, so no address is decrypted or sealed again. With VERP each row
 * gets a random token and the envelope sender prefix TOKEN suffix.
 */
int
store_fanout(struct store *st, const char *qid, const char *list, int who, const char *env_from,
    const char *verp_prefix, const char *verp_suffix, long long now, long long expires)
{
	sqlite3_stmt *s = prep(st, "INSERT INTO deliveries (qid, list, member_id, rcpt_hash, env_from, token, "
	    "next_try, expires) SELECT ?1, list, id, addr_hash, ?3, CASE WHEN ?4 IS NULL THEN NULL ELSE "
	    "lower(hex(randomblob(16))) END, ?5, ?6 FROM members WHERE list = ?2 AND (CASE ?7 "
	    "WHEN 1 THEN role <> 'member' "
	    "WHEN 2 THEN nomail = 0 AND digest = 0 AND enc_pk IS NOT NULL "
	    "WHEN 3 THEN nomail = 0 AND digest = 0 AND enc_pk IS NULL "
	    "WHEN 4 THEN nomail = 0 AND digest = 1 "
	    "ELSE nomail = 0 AND digest = 0 END) ORDER BY id");
	int roles_only = who;
	int n;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, verp_prefix ? "" : env_from, -1, SQLITE_TRANSIENT);
	if (verp_prefix)
		sqlite3_bind_text(s, 4, verp_prefix, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)expires);
	sqlite3_bind_int(s, 7, roles_only);
	if (step_done(s) != STORE_OK)
		return STORE_ERR;
	n = sqlite3_changes(st->db);
	if (verp_prefix) {
		if ((s = prep(st, "UPDATE deliveries SET env_from = ?2 || token || ?3 WHERE qid = ?1 AND "
		    "env_from = ''")) == NULL)
			return STORE_ERR;
		sqlite3_bind_text(s, 1, qid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, verp_prefix, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 3, verp_suffix, -1, SQLITE_TRANSIENT);
		if (step_done(s) != STORE_OK)
			return STORE_ERR;
	}
	return n;
}

/* store_deliveries_due - pending deliveries whose time has come, grouped by message */
int
store_deliveries_due(struct store *st, long long now, int limit, store_delivery_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT d.id, d.qid, d.list, coalesce(d.rcpt, m.addr), d.env_from, d.attempts, "
	    "d.expires, m.enc_pk, d.member_id FROM deliveries d LEFT JOIN members m ON m.id = d.member_id "
	    "WHERE d.state = 0 AND d.next_try <= ?1 ORDER BY d.qid, d.env_from, m.enc_pk IS NOT NULL, d.id LIMIT ?2");
	struct delivery d;
	int rc, n = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	sqlite3_bind_int(s, 2, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&d, 0, sizeof(d));
		d.id = sqlite3_column_int64(s, 0);
		snprintf(d.qid, sizeof(d.qid), "%s", (const char *)sqlite3_column_text(s, 1));
		snprintf(d.list, sizeof(d.list), "%s", (const char *)sqlite3_column_text(s, 2));
		d.rcpt = column_opened(st, s, 3);
		snprintf(d.env_from, sizeof(d.env_from), "%s", (const char *)sqlite3_column_text(s, 4));
		d.attempts = sqlite3_column_int(s, 5);
		d.expires = sqlite3_column_int64(s, 6);
		d.member_id = sqlite3_column_int64(s, 8);	/* NULL reads as 0 */
		if (sqlite3_column_bytes(s, 7) == (int)sizeof(d.seal_pk)) {
			memcpy(d.seal_pk, sqlite3_column_blob(s, 7), sizeof(d.seal_pk));
			d.sealed = 1;
		}
		fn(&d, arg);
		n++;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? n : STORE_ERR;
}

/* store_delivery_result - record the outcome of one attempt */
int
store_delivery_result(struct store *st, long long id, int state, long long next_try, const char *err)
{
	sqlite3_stmt *s = st->result;
	int rc;

	if (!s && (s = st->result = prep(st, "UPDATE deliveries SET state = ?2, attempts = attempts + 1, "
	    "next_try = ?3, last_error = ?4, done_at = CASE WHEN ?2 = 0 THEN NULL ELSE ?5 END WHERE id = ?1")) == NULL)
		return STORE_ERR;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, state);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)next_try);
	if (err)
		sqlite3_bind_text(s, 4, err, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERR;
}

/* scalar - one integer from a query with up to two text parameters */
static long long
scalar(struct store *st, const char *sql, const char *a, const char *b, long long dflt)
{
	sqlite3_stmt *s = prep(st, sql);
	long long v = dflt;

	if (!s)
		return STORE_ERR;
	if (a)
		sqlite3_bind_text(s, 1, a, -1, SQLITE_TRANSIENT);
	if (b)
		sqlite3_bind_text(s, 2, b, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* store_pending_for - deliveries of a message still to be made */
int
store_pending_for(struct store *st, const char *qid)
{
	return (int)scalar(st, "SELECT count(*) FROM deliveries WHERE qid = ?1 AND state = 0", qid, NULL, 0);
}

/* store_pending_count - all deliveries still to be made */
int
store_pending_count(struct store *st)
{
	return (int)scalar(st, "SELECT count(*) FROM deliveries WHERE state = 0", NULL, NULL, 0);
}

/* store_failed_count - deliveries that failed for good */
int
store_failed_count(struct store *st)
{
	return (int)scalar(st, "SELECT count(*) FROM deliveries WHERE state = 2", NULL, NULL, 0);
}

/* store_next_due - when the next pending delivery is due (-1: none) */
long long
store_next_due(struct store *st)
{
	return scalar(st, "SELECT min(next_try) FROM deliveries WHERE state = 0", NULL, NULL, -1);
}

/* store_last_errors - the most recent delivery errors, for status */
int
store_last_errors(struct store *st, int n, struct buf *out)
{
	sqlite3_stmt *s = prep(st, "SELECT qid, list, last_error, state FROM deliveries "
	    "WHERE last_error IS NOT NULL ORDER BY coalesce(done_at, next_try) DESC LIMIT ?1");
	int k = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int(s, 1, n);
	while (sqlite3_step(s) == SQLITE_ROW) {
		buf_printf(out, "%s %s %s: %s\n", (const char *)sqlite3_column_text(s, 0),
		    (const char *)sqlite3_column_text(s, 1), sqlite3_column_int(s, 3) == 2 ? "failed" : "deferred",
		    (const char *)sqlite3_column_text(s, 2));
		k++;
	}
	sqlite3_finalize(s);
	return k;
}

/* store_purge_done - forget finished deliveries older than `before` */
int
store_purge_done(struct store *st, long long before)
{
	sqlite3_stmt *s = prep(st, "DELETE FROM deliveries WHERE state <> 0 AND done_at < ?1");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)before);
	return step_done(s);
}

/* store_delivery_by_token - the list and recipient a VERP token was sent to */
int
store_delivery_by_token(struct store *st, const char *token, char *list, size_t listlen, char **rcpt)
{
	sqlite3_stmt *s = prep(st, "SELECT d.list, coalesce(d.rcpt, m.addr) FROM deliveries d "
	    "LEFT JOIN members m ON m.id = d.member_id WHERE d.token = ?1 LIMIT 1");
	int rc;

	*rcpt = NULL;
	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, token, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(list, listlen, "%s", (const char *)sqlite3_column_text(s, 0));
		*rcpt = column_opened(st, s, 1);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
}

/*
 * hashed - run "sql" with ?1 = list, ?2 = hash(list, addr), ?3 = n.
 * A statement may leave out any of them: binding an absent index is a no-op.
 */
static int
hashed(struct store *st, const char *sql, const char *list, const char *addr, long long n)
{
	sqlite3_stmt *s = prep(st, sql);

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)n);
	return step_done(s);
}

/* hashed_scalar - one integer from "sql" with ?1 = list, ?2 = hash (+ ?3 = n) */
static long long
hashed_scalar(struct store *st, const char *sql, const char *list, const char *addr, long long n)
{
	sqlite3_stmt *s = prep(st, sql);
	long long v = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)n);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* store_ban - ban an address from a list */
int
store_ban(struct store *st, const char *list, const char *addr)
{
	return hashed(st, "INSERT OR REPLACE INTO bans (list, addr_hash, at) VALUES (?1, ?2, ?3)",
	    list, addr, (long long)time(NULL));
}

/* store_unban - lift a ban */
int
store_unban(struct store *st, const char *list, const char *addr)
{
	int rc = hashed(st, "DELETE FROM bans WHERE list = ?1 AND addr_hash = ?2", list, addr, 0);

	return rc == STORE_OK && sqlite3_changes(st->db) == 0 ? STORE_NOTFOUND : rc;
}

/* store_banned - is the address banned from the list? */
int
store_banned(struct store *st, const char *list, const char *addr)
{
	return (int)hashed_scalar(st, "SELECT count(*) FROM bans WHERE list = ?1 AND addr_hash = ?2",
	    list, addr, 0) > 0;
}

/* store_notice_allowed - at most one notice per address per interval; records this one */
int
store_notice_allowed(struct store *st, const char *addr, long long now, int interval)
{
	long long last = hashed_scalar(st, "SELECT last FROM notices WHERE addr_hash = ?2",
	    "", addr, 0);

	if (last > 0 && now - last < interval)
		return 0;
	return hashed(st, "INSERT OR REPLACE INTO notices (addr_hash, last) VALUES (?2, ?3)",
	    "", addr, now) == STORE_OK;
}

/* store_post_total - every post counted for addr on list, any day */
int
store_post_total(struct store *st, const char *list, const char *addr)
{
	return (int)hashed_scalar(st, "SELECT coalesce(sum(n), 0) FROM post_counts WHERE list = ?1 "
	    "AND addr_hash = ?2 AND day >= ?3", list, addr, 0);
}

/* store_post_count - posts by addr to list on day (days since the epoch), after adding `add` */
int
store_post_count(struct store *st, const char *list, const char *addr, long long day, int add)
{
	if (add && hashed(st, "INSERT INTO post_counts (list, addr_hash, day, n) VALUES (?1, ?2, ?3, 1) "
	    "ON CONFLICT (list, addr_hash, day) DO UPDATE SET n = n + 1", list, addr, day) != STORE_OK)
		return STORE_ERR;
	return (int)hashed_scalar(st, "SELECT coalesce(sum(n), 0) FROM post_counts WHERE list = ?1 "
	    "AND addr_hash = ?2 AND day = ?3", list, addr, day);
}

/* store_hold - keep a post for the moderators */
int
store_hold(struct store *st, const char *qid, const char *list, const char *reason, const char *author)
{
	sqlite3_stmt *s = prep(st, "INSERT OR REPLACE INTO held (qid, list, reason, at, author) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
	if (bind_sealed(st, s, 5, author) < 0) {
		sqlite3_finalize(s);
		return STORE_ERR;
	}
	return step_done(s);
}

/* store_held_author - the address behind a held post, kept only where moderators_see = "address" */
char *
store_held_author(struct store *st, const char *list, const char *id)
{
	sqlite3_stmt *s = prep(st, "SELECT author FROM held WHERE list = ?1 AND qid = ?2");
	char *a = NULL;

	if (!s)
		return NULL;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW)
		a = column_opened(st, s, 0);
	sqlite3_finalize(s);
	return a;
}

/* store_is_held - is this rendered copy waiting for moderation? */
int
store_is_held(struct store *st, const char *qid)
{
	return scalar(st, "SELECT count(*) FROM held WHERE qid = ?1", qid, NULL, 0) > 0;
}

/* store_held_count - posts waiting for moderation */
int
store_held_count(struct store *st, const char *list)
{
	return (int)scalar(st, list ? "SELECT count(*) FROM held WHERE list = ?1" : "SELECT count(*) FROM held",
	    list, NULL, 0);
}

/*
 * store_member_bounce - a bounce for a member: the score decays to 0 after
 * decay_days without bounces, counts at most once a day, and the caller
 * learns the new score and whether a probe was already sent.
 */
int
store_member_bounce(struct store *st, const char *list, const char *addr, long long now,
    int decay_days, int *probe_sent)
{
	long long last = hashed_scalar(st, "SELECT last_bounce FROM members WHERE list = ?1 AND addr_hash = ?2", list, addr, 0);

	if (now - last > (long long)decay_days * 86400)
		hashed(st, "UPDATE members SET bounce_score = 0, probe_sent = 0 WHERE list = ?1 AND addr_hash = ?2", list, addr, 0);
	if (now - last >= 86400 || last == 0)
		hashed(st, "UPDATE members SET bounce_score = bounce_score + 1, last_bounce = ?3 "
		    "WHERE list = ?1 AND addr_hash = ?2", list, addr, now);
	*probe_sent = (int)hashed_scalar(st, "SELECT probe_sent FROM members WHERE list = ?1 AND addr_hash = ?2", list, addr, 0);
	return (int)hashed_scalar(st, "SELECT bounce_score FROM members WHERE list = ?1 AND addr_hash = ?2", list, addr, 0);
}

/* store_member_probe - note that a probe went out */
int
store_member_probe(struct store *st, const char *list, const char *addr)
{
	return hashed(st, "UPDATE members SET probe_sent = ?3 WHERE list = ?1 AND addr_hash = ?2",
	    list, addr, (long long)time(NULL));
}

/* store_member_disable - stop delivery to a bouncing member */
int
store_member_disable(struct store *st, const char *list, const char *addr)
{
	return hashed(st, "UPDATE members SET nomail = 1, bounce_disabled = 1 WHERE list = ?1 AND addr_hash = ?2", list, addr, 0);
}

/*
 * List signing keys.
 */

/* store_key_add - a new active key for a list; the previous ones stay, inactive */
int
store_key_add(struct store *st, const char *list, const char *selector, const unsigned char *seed,
    size_t seedlen, const unsigned char *pk, size_t pklen)
{
	sqlite3_stmt *s;
	int rc;

	/* a savepoint, not BEGIN: the queue manager may call this inside its transaction */
	if (exec(st, "SAVEPOINT key_add") < 0)
		return STORE_ERR;
	if ((s = prep(st, "UPDATE list_keys SET active = 0 WHERE list = ?1")) == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if (step_done(s) != STORE_OK)
		goto fail;
	if ((s = prep(st, "INSERT INTO list_keys (list, selector, seed, pk, created) VALUES (?1, ?2, ?3, ?4, ?5)")) == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, selector, -1, SQLITE_TRANSIENT);
	{
		struct buf b;

		buf_init(&b, 0);
		rc = keys_seal(st->keys, seed, seedlen, &b);
		if (rc == 0)
			sqlite3_bind_blob(s, 3, b.data, (int)b.len, SQLITE_TRANSIENT);
		buf_free(&b);
		if (rc < 0) {
			sqlite3_finalize(s);
			goto fail;
		}
	}
	sqlite3_bind_blob(s, 4, pk, (int)pklen, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)time(NULL));
	if ((rc = step_done(s)) != STORE_OK)
		goto fail;
	if (exec(st, "RELEASE key_add") < 0)
		goto fail;
	return STORE_OK;
fail:
	(void)exec(st, "ROLLBACK TO key_add");
	(void)exec(st, "RELEASE key_add");
	return STORE_ERR;
}

/* store_key_count - how many keys a list has had */
int
store_key_count(struct store *st, const char *list)
{
	return (int)scalar(st, "SELECT count(*) FROM list_keys WHERE list = ?1", list, NULL, 0);
}

/* store_key_active - the list's signing key; seed decrypted into seed[seedlen] */
int
store_key_active(struct store *st, const char *list, char *selector, size_t sellen, unsigned char *seed,
    size_t seedlen)
{
	sqlite3_stmt *s = prep(st, "SELECT selector, seed FROM list_keys WHERE list = ?1 AND active = 1 "
	    "ORDER BY id DESC LIMIT 1");
	struct buf b;
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	}
	snprintf(selector, sellen, "%s", (const char *)sqlite3_column_text(s, 0));
	buf_init(&b, 0);
	rc = keys_open(st->keys, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1), &b);
	if (rc == 0 && b.len == seedlen)
		memcpy(seed, b.data, seedlen);
	else
		rc = -1;
	sodium_memzero(b.data, b.cap);
	buf_free(&b);
	sqlite3_finalize(s);
	return rc == 0 ? STORE_OK : STORE_ERR;
}

/* store_keys_each - every key of a list, newest first: (selector, pk, active, created) */
int
store_keys_each(struct store *st, const char *list, store_key_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT selector, pk, active, created FROM list_keys WHERE list = ?1 "
	    "ORDER BY id DESC");
	int n = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 1) == 32)
			fn((const char *)sqlite3_column_text(s, 0), sqlite3_column_blob(s, 1),
			    sqlite3_column_int(s, 2), sqlite3_column_int64(s, 3), arg);
		n++;
	}
	sqlite3_finalize(s);
	return n;
}

/* store_member_author_seed - the member's author key on this list, made on first use */
int
store_member_author_seed(struct store *st, const char *list, const char *addr, unsigned char *seed, size_t n)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	sqlite3_stmt *s = prep(st, "SELECT author_seed, own_key FROM members WHERE list = ?1 AND addr_hash = ?2");
	struct buf b;
	int rc;

	if (!s || n != crypto_sign_SEEDBYTES)
		return sqlite3_finalize(s), STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	}
	buf_init(&b, 0);
	if (sqlite3_column_int(s, 1)) {
		/*
		 * The member holds their own key (author_pk is theirs). Where the list must
		 * sign for them anyway (a pseudonymous copy, rewritten), it uses a key derived
		 * from the master key, the list and the member: stable, never stored, and
		 * their registered key is left alone.
		 */
		char *t = NULL;

		sqlite3_finalize(s);
		if (asprintf(&t, "author-seed:%s", addr) < 0)
			return STORE_ERR;
		keys_addr_hash(st->keys, list, t, seed);
		free(t);
		return STORE_OK;
	}
	if (sqlite3_column_type(s, 0) != SQLITE_NULL) {
		rc = keys_open(st->keys, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), &b) == 0 &&
		    b.len == n ? STORE_OK : STORE_ERR;
		if (rc == STORE_OK)
			memcpy(seed, b.data, n);
		sodium_memzero(b.data, b.cap);
		buf_free(&b);
		sqlite3_finalize(s);
		return rc;
	}
	sqlite3_finalize(s);
	randombytes_buf(seed, n);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
	if (keys_seal(st->keys, seed, n, &b) < 0 ||
	    (s = prep(st, "UPDATE members SET author_seed = ?3, author_pk = ?4 WHERE list = ?1 AND addr_hash = ?2")) == NULL) {
		buf_free(&b);
		return STORE_ERR;
	}
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	sqlite3_bind_blob(s, 3, b.data, (int)b.len, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 4, pk, sizeof(pk), SQLITE_TRANSIENT);
	buf_free(&b);
	return step_done(s);
}

/* store_member_set_key - a member's own public key (they sign; the server holds no secret), or none */
int
store_member_set_key(struct store *st, const char *list, const char *addr, const unsigned char *pk, size_t n)
{
	sqlite3_stmt *s = prep(st, pk ? "UPDATE members SET author_pk = ?3, author_seed = NULL, own_key = 1 "
	    "WHERE list = ?1 AND addr_hash = ?2" :
	    "UPDATE members SET author_pk = NULL, author_seed = NULL, own_key = 0 WHERE list = ?1 AND addr_hash = ?2");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	if (pk)
		sqlite3_bind_blob(s, 3, pk, (int)n, SQLITE_TRANSIENT);
	if (step_done(s) != STORE_OK)
		return STORE_ERR;
	return sqlite3_changes(st->db) ? STORE_OK : STORE_NOTFOUND;
}

/* store_member_own_key - 1 if the member holds their own key (pk filled), 0 if not */
int
store_member_own_key(struct store *st, const char *list, const char *addr, unsigned char *pk, size_t n)
{
	sqlite3_stmt *s = prep(st, "SELECT author_pk FROM members WHERE list = ?1 AND addr_hash = ?2 AND own_key = 1");
	int rc = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == (int)n) {
		memcpy(pk, sqlite3_column_blob(s, 0), n);
		rc = 1;
	}
	sqlite3_finalize(s);
	return rc;
}

/* store_member_by_key - the member of list who registered this key, or NULL */
char *
store_member_by_key(struct store *st, const char *list, const unsigned char *pk, size_t n)
{
	sqlite3_stmt *s = prep(st, "SELECT addr FROM members WHERE list = ?1 AND author_pk = ?2 AND own_key = 1");
	char *addr = NULL;

	if (!s)
		return NULL;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 2, pk, (int)n, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW)
		addr = column_opened(st, s, 0);
	sqlite3_finalize(s);
	return addr;
}

/* store_signature_seen - record a signed post; 1 if it was seen before (a replay) */
int
store_signature_seen(struct store *st, const char *list, const char *sig)
{
	sqlite3_stmt *s = prep(st, "INSERT INTO seen_signatures (list, sig, at) VALUES (?1, ?2, ?3)");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, sig, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)time(NULL));
	rc = step_done(s);
	return rc == STORE_EXISTS ? 1 : rc == STORE_OK ? 0 : STORE_ERR;
}

/* token_hash - tokens are stored hashed: a copy of the database confirms nothing */
static void
bind_token(struct store *st, sqlite3_stmt *s, int col, const char *token)
{
	unsigned char h[KEYS_HASH_LEN];

	keys_addr_hash(st->keys, "confirm", token, h);
	sqlite3_bind_blob(s, col, h, sizeof(h), SQLITE_TRANSIENT);
}

/*
 * store_confirm_add - a single-use token of a kind: "post" (out_id is a held
 * copy, bound is its hash) or "key" (bound is the public key to register for addr)
 */
int
store_confirm_add(struct store *st, const char *kind, const char *token, const char *list,
    const char *out_id, const unsigned char *bound, size_t blen, const char *addr, long long expires)
{
	sqlite3_stmt *s = prep(st, "INSERT INTO confirmations (token_hash, list, out_id, post_hash, poster_hash, "
	    "expires, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");

	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, out_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 4, bound, (int)blen, SQLITE_TRANSIENT);
	bind_hash(st, s, 5, list, addr);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)expires);
	sqlite3_bind_text(s, 7, kind, -1, SQLITE_TRANSIENT);
	return step_done(s);
}

/*
 * store_confirm_use - spend a token: its held copy's id and hash come back.
 * STORE_NOTFOUND for an unknown, used or expired token (or another list's).
 */
int
store_confirm_use(struct store *st, const char *token, const char *list, long long now, char *out_id,
    size_t idlen, unsigned char *post_hash, size_t hlen)
{
	sqlite3_stmt *s = prep(st, "SELECT out_id, post_hash FROM confirmations WHERE token_hash = ?1 AND "
	    "list = ?2 AND used = 0 AND expires > ?3 AND kind = 'post'");
	int rc;

	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW || sqlite3_column_bytes(s, 1) != (int)hlen) {
		sqlite3_finalize(s);
		return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	}
	snprintf(out_id, idlen, "%s", (const char *)sqlite3_column_text(s, 0));
	memcpy(post_hash, sqlite3_column_blob(s, 1), hlen);
	sqlite3_finalize(s);
	if ((s = prep(st, "UPDATE confirmations SET used = 1, poster_hash = x'', post_hash = x'' WHERE token_hash = ?1")) == NULL)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	if (step_done(s) != STORE_OK)
		return STORE_ERR;
	if ((s = prep(st, "DELETE FROM held WHERE qid = ?1")) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, out_id, -1, SQLITE_TRANSIENT);
	return step_done(s);
}

/* store_confirm_use_key - spend a key token: the member's own key is set. STORE_NOTFOUND if none */
int
store_confirm_use_key(struct store *st, const char *token, const char *list, long long now)
{
	sqlite3_stmt *s = prep(st, "UPDATE members SET author_pk = (SELECT post_hash FROM confirmations c "
	    "WHERE c.token_hash = ?1), author_seed = NULL, own_key = 1 WHERE list = ?2 AND addr_hash = "
	    "(SELECT poster_hash FROM confirmations c WHERE c.token_hash = ?1 AND c.list = ?2 AND c.used = 0 "
	    "AND c.expires > ?3 AND c.kind = 'key')");
	int n;

	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if (step_done(s) != STORE_OK)
		return STORE_ERR;
	if ((n = sqlite3_changes(st->db)) == 0)
		return STORE_NOTFOUND;
	if ((s = prep(st, "UPDATE confirmations SET used = 1, poster_hash = x'', post_hash = x'' WHERE token_hash = ?1")) == NULL)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	return step_done(s);
}

/* store_held_each - posts held on a list, oldest first: (id, reason, at) */
int
store_held_each(struct store *st, const char *list, store_held_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT qid, reason, at FROM held WHERE list = ?1 ORDER BY at, qid");
	int n = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(s) == SQLITE_ROW) {
		fn((const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
		    sqlite3_column_int64(s, 2), arg);
		n++;
	}
	sqlite3_finalize(s);
	return n;
}

/* store_held_take - release a held post from the queue; its reason comes back */
int
store_held_take(struct store *st, const char *list, const char *id, char *reason, size_t n)
{
	sqlite3_stmt *s = prep(st, "SELECT reason FROM held WHERE list = ?1 AND qid = ?2");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		snprintf(reason, n, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	if ((s = prep(st, "DELETE FROM held WHERE list = ?1 AND qid = ?2")) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
	return step_done(s);
}

/*
 * Identity: pseudonyms, handles, Message-ID mapping, anonymous handles, archive.
 */

/* bind_tagged - keyed hash of "tag:text" for list (a different domain from addresses) */
static void
bind_tagged(struct store *st, sqlite3_stmt *s, int col, const char *list, const char *tag, const char *text)
{
	char *t = NULL;

	if (asprintf(&t, "%s:%s", tag, text) < 0) {
		sqlite3_bind_null(s, col);
		return;
	}
	bind_hash(st, s, col, list, t);
	free(t);
}

/* store_member_set_pseudonym - name (sealed) and its skeleton; a handle if the member has none */
int
store_member_set_pseudonym(struct store *st, const char *list, const char *addr, const char *name,
    const char *skeleton, const char *handle)
{
	sqlite3_stmt *s = prep(st, "UPDATE members SET pseudonym = ?3, pseudo_key = ?4, "
	    "handle = coalesce(handle, ?5) WHERE list = ?1 AND addr_hash = ?2");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	if (bind_sealed(st, s, 3, name) < 0) {
		sqlite3_finalize(s);
		return STORE_ERR;
	}
	bind_tagged(st, s, 4, list, "pseudonym", skeleton);
	sqlite3_bind_text(s, 5, handle, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_CONSTRAINT)
		return STORE_EXISTS;
	if (rc != SQLITE_DONE)
		return STORE_ERR;
	return sqlite3_changes(st->db) ? STORE_OK : STORE_NOTFOUND;
}

/* store_member_set_identity - the mode a member chose (NULL: the list's) */
int
store_member_set_identity(struct store *st, const char *list, const char *addr, const char *mode)
{
	sqlite3_stmt *s = prep(st, "UPDATE members SET identity = ?3 WHERE list = ?1 AND addr_hash = ?2");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	if (mode)
		sqlite3_bind_text(s, 3, mode, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return STORE_ERR;
	return sqlite3_changes(st->db) ? STORE_OK : STORE_NOTFOUND;
}

/* store_member_by_handle - the address behind a member's or an anonymous post's handle (caller frees) */
char *
store_member_by_handle(struct store *st, const char *list, const char *handle, long long now)
{
	sqlite3_stmt *s = prep(st, "SELECT addr FROM members WHERE list = ?1 AND handle = ?2 UNION ALL "
	    "SELECT addr FROM anon_handles WHERE list = ?1 AND handle = ?2 AND expires > ?3");
	char *addr = NULL;

	if (!s)
		return NULL;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, handle, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if (sqlite3_step(s) == SQLITE_ROW)
		addr = column_opened(st, s, 0);
	sqlite3_finalize(s);
	return addr;
}

/* store_anon_add - keep the link from an anonymous handle to its author until expires */
int
store_anon_add(struct store *st, const char *list, const char *handle, const char *addr, long long expires)
{
	sqlite3_stmt *s = prep(st, "INSERT INTO anon_handles (list, handle, addr, expires) VALUES (?1, ?3, ?2, ?4)");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if (bind_sealed(st, s, 2, addr) < 0) {
		sqlite3_finalize(s);
		return STORE_ERR;
	}
	sqlite3_bind_text(s, 3, handle, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)expires);
	return step_done(s);
}

/* store_msgid_put - ref (an id as the author's client knows it) stands for list_id on this list */
int
store_msgid_put(struct store *st, const char *list, const char *ref, const char *list_id, long long now)
{
	sqlite3_stmt *s = prep(st, "INSERT OR IGNORE INTO msgids (list, ref_hash, list_id, at) VALUES (?1, ?2, ?3, ?4)");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_tagged(st, s, 2, list, "msgid", ref);
	sqlite3_bind_text(s, 3, list_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	return step_done(s);
}

/* store_msgid_map - the list's id for ref, or STORE_NOTFOUND */
int
store_msgid_map(struct store *st, const char *list, const char *ref, char *out, size_t n)
{
	sqlite3_stmt *s = prep(st, "SELECT list_id FROM msgids WHERE list = ?1 AND ref_hash = ?2");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_tagged(st, s, 2, list, "msgid", ref);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
}

/* store_archive_add - a distributed post, sealed, with its sealed one-line summary; returns its number */
int
store_archive_add(struct store *st, const char *list, long long at, const char *summary, const void *msg,
    size_t len)
{
	sqlite3_stmt *s = prep(st, "INSERT INTO archive (list, n, at, summary, msg) SELECT ?1, "
	    "coalesce(max(n), 0) + 1, ?2, ?3, ?4 FROM archive WHERE list = ?1");
	struct buf b;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)at);
	buf_init(&b, 0);
	if (bind_sealed(st, s, 3, summary) < 0 || keys_seal(st->keys, msg, len, &b) < 0) {
		buf_free(&b);
		sqlite3_finalize(s);
		return STORE_ERR;
	}
	sqlite3_bind_blob(s, 4, b.data, (int)b.len, SQLITE_TRANSIENT);
	buf_free(&b);
	if (step_done(s) != STORE_OK)
		return STORE_ERR;
	return (int)sqlite3_last_insert_rowid(st->db) > 0 ? STORE_OK : STORE_ERR;
}

/* store_archive_each - posts since `since` (0: all), oldest first: number, time, summary */
int
store_archive_each(struct store *st, const char *list, long long since, store_archive_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT n, at, summary FROM archive WHERE list = ?1 AND at >= ?2 ORDER BY n");
	int rc, n = 0;
	char *sum;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)since);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		sum = column_opened(st, s, 2);
		fn(sqlite3_column_int(s, 0), sqlite3_column_int64(s, 1), sum ? sum : "", arg);
		free(sum);
		n++;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? n : STORE_ERR;
}

/* store_archive_get - post number n (decrypted into out) with its time */
int
store_archive_get(struct store *st, const char *list, int n, long long *at, struct buf *out)
{
	sqlite3_stmt *s = prep(st, "SELECT at, msg FROM archive WHERE list = ?1 AND n = ?2");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 2, n);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*at = sqlite3_column_int64(s, 0);
		if (keys_open(st->keys, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1), out) < 0)
			rc = SQLITE_ERROR;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
}

/* store_identity_expire - erase what retention rules say is over: anonymous links, old archive posts */
int
store_identity_expire(struct store *st, const char *list, long long now, long long archive_before)
{
	sqlite3_stmt *s = prep(st, "DELETE FROM anon_handles WHERE list = ?1 AND expires <= ?2");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	if (step_done(s) != STORE_OK)
		return STORE_ERR;
	if (archive_before <= 0)
		return STORE_OK;
	if ((s = prep(st, "DELETE FROM archive WHERE list = ?1 AND at < ?2")) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)archive_before);
	return step_done(s);
}

/* store_confirm_bound - what an unused, unexpired token of this kind is bound to (into out) */
int
store_confirm_bound(struct store *st, const char *token, const char *list, const char *kind, long long now,
    struct buf *out)
{
	sqlite3_stmt *s = prep(st, "SELECT post_hash FROM confirmations WHERE token_hash = ?1 AND list = ?2 "
	    "AND kind = ?3 AND used = 0 AND expires > ?4");
	int rc;

	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && buf_append(out, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0)) < 0)
		rc = SQLITE_ERROR;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
}

/* store_confirm_spend - a token is used up: only its hash stays, so it cannot be used again */
int
store_confirm_spend(struct store *st, const char *token)
{
	sqlite3_stmt *s = prep(st, "UPDATE confirmations SET used = 1, poster_hash = x'', post_hash = x'' "
	    "WHERE token_hash = ?1");

	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	return step_done(s);
}

/*
 * store_member_set_enc_key - the member's X25519 key (NULL: none; copies go
 * in clear) and its stated expiry (0: none). A new key is a new reminder.
 */
int
store_member_set_enc_key(struct store *st, const char *list, const char *addr, const unsigned char *pk, size_t n,
    long long expires)
{
	sqlite3_stmt *s = prep(st, "UPDATE members SET enc_pk = ?3, enc_expires = ?4, enc_warned = 0 "
	    "WHERE list = ?1 AND addr_hash = ?2");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 2, list, addr);
	if (pk)
		sqlite3_bind_blob(s, 3, pk, (int)n, SQLITE_TRANSIENT);
	if (pk && expires > 0)
		sqlite3_bind_int64(s, 4, (sqlite3_int64)expires);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return STORE_ERR;
	return sqlite3_changes(st->db) ? STORE_OK : STORE_NOTFOUND;
}

/* store_digest_add - a distributed copy waits for the next digest (sealed) */
int
store_digest_add(struct store *st, const char *list, long long at, const void *msg, size_t len)
{
	sqlite3_stmt *s = prep(st, "INSERT INTO digest_posts (list, at, msg) VALUES (?1, ?2, ?3)");
	struct buf b;

	if (!s)
		return STORE_ERR;
	buf_init(&b, 0);
	if (keys_seal(st->keys, msg, len, &b) < 0) {
		buf_free(&b);
		sqlite3_finalize(s);
		return STORE_ERR;
	}
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)at);
	sqlite3_bind_blob(s, 3, b.data, (int)b.len, SQLITE_TRANSIENT);
	buf_free(&b);
	return step_done(s);
}

/* store_digest_pending - how many posts and bytes wait; when the last digest went (0: never) */
int
store_digest_pending(struct store *st, const char *list, int *n, long long *bytes, long long *last, int *issue)
{
	sqlite3_stmt *s = prep(st, "SELECT count(*), coalesce(sum(length(msg)), 0), "
	    "coalesce((SELECT last FROM digest_state WHERE list = ?1), min(at)), "
	    "coalesce((SELECT issue FROM digest_state WHERE list = ?1), 0) FROM digest_posts WHERE list = ?1");
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*n = sqlite3_column_int(s, 0);
		*bytes = sqlite3_column_int64(s, 1);
		*last = sqlite3_column_int64(s, 2);
		*issue = sqlite3_column_int(s, 3);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? STORE_OK : STORE_ERR;
}

/* store_digest_take - every waiting post, oldest first (fn gets each, decrypted); then they are gone */
int
store_digest_take(struct store *st, const char *list, long long now, store_digest_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT at, msg FROM digest_posts WHERE list = ?1 ORDER BY id");
	struct buf b;
	int rc, n = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		buf_init(&b, 0);
		if (keys_open(st->keys, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1), &b) == 0) {
			fn(sqlite3_column_int64(s, 0), &b, arg);
			n++;
		}
		buf_free(&b);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE || (s = prep(st, "DELETE FROM digest_posts WHERE list = ?1")) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if (step_done(s) != STORE_OK ||
	    (s = prep(st, "INSERT INTO digest_state (list, last, issue) VALUES (?1, ?2, 1) "
	    "ON CONFLICT (list) DO UPDATE SET last = ?2, issue = issue + 1")) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	return step_done(s) == STORE_OK ? n : STORE_ERR;
}

/* store_digest_due_now - the next digest of the list goes out at once (mlistctl digest send) */
int
store_digest_due_now(struct store *st, const char *list)
{
	sqlite3_stmt *s = prep(st, "INSERT INTO digest_state (list, last, issue) VALUES (?1, 1, 0) "
	    "ON CONFLICT (list) DO UPDATE SET last = 1");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	return step_done(s);
}

/* store_audit_last - the newest entry's sequence number and hash (0 and zeros for none) */
int
store_audit_last(struct store *st, const char *list, long long *seq, unsigned char hash[32])
{
	sqlite3_stmt *s = prep(st, "SELECT seq, hash FROM audit WHERE list = ?1 ORDER BY seq DESC LIMIT 1");
	int rc;

	*seq = 0;
	memset(hash, 0, 32);
	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW && sqlite3_column_bytes(s, 1) == 32) {
		*seq = sqlite3_column_int64(s, 0);
		memcpy(hash, sqlite3_column_blob(s, 1), 32);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : STORE_ERR;
}

/* store_audit_add - append one entry (the caller computed its chain hash and signature) */
int
store_audit_add(struct store *st, const char *list, const struct audit_entry *e)
{
	sqlite3_stmt *s = prep(st, "INSERT INTO audit (list, seq, at, actor, action, detail, prev, hash, selector, sig) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)e->seq);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)e->at);
	sqlite3_bind_text(s, 4, e->actor, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, e->action, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 6, e->detail, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 7, e->prev, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 8, e->hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 9, e->selector, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 10, e->sig, 64, SQLITE_TRANSIENT);
	return step_done(s);
}

/* store_audit_each - every entry of a list in order */
int
store_audit_each(struct store *st, const char *list, store_audit_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT seq, at, actor, action, detail, prev, hash, selector, sig FROM audit "
	    "WHERE list = ?1 ORDER BY seq");
	struct audit_entry e;
	int rc, n = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.seq = sqlite3_column_int64(s, 0);
		e.at = sqlite3_column_int64(s, 1);
		snprintf(e.actor, sizeof(e.actor), "%s", (const char *)sqlite3_column_text(s, 2));
		snprintf(e.action, sizeof(e.action), "%s", (const char *)sqlite3_column_text(s, 3));
		snprintf(e.detail, sizeof(e.detail), "%s", (const char *)sqlite3_column_text(s, 4));
		if (sqlite3_column_bytes(s, 5) == 32)
			memcpy(e.prev, sqlite3_column_blob(s, 5), 32);
		if (sqlite3_column_bytes(s, 6) == 32)
			memcpy(e.hash, sqlite3_column_blob(s, 6), 32);
		snprintf(e.selector, sizeof(e.selector), "%s", (const char *)sqlite3_column_text(s, 7));
		if (sqlite3_column_bytes(s, 8) == 64)
			memcpy(e.sig, sqlite3_column_blob(s, 8), 64);
		fn(&e, arg);
		n++;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? n : STORE_ERR;
}

/* store_confirm_moderation - spend a moderator's token: the held post it was for */
int
store_confirm_moderation(struct store *st, const char *token, const char *list, long long now, char *out_id,
    size_t idlen, char **moderator)
{
	sqlite3_stmt *s = prep(st, "SELECT c.out_id, m.addr FROM confirmations c LEFT JOIN members m ON m.list = c.list "
	    "AND m.addr_hash = c.poster_hash WHERE c.token_hash = ?1 AND c.list = ?2 AND c.used = 0 "
	    "AND c.expires > ?3 AND c.kind = 'moderate'");
	int rc;

	*moderator = NULL;
	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(out_id, idlen, "%s", (const char *)sqlite3_column_text(s, 0));
		*moderator = column_opened(st, s, 1);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	return store_confirm_spend(st, token);
}

/* store_moderator_count - owners and moderators of a list */
int
store_moderator_count(struct store *st, const char *list)
{
	return scalar(st, "SELECT count(*) FROM members WHERE list = ?1 AND role <> 'member'", list, NULL, 0);
}

/* store_pending_add - a grave action waiting for `needed` approvals (state "new": the daemon asks) */
long long
store_pending_add(struct store *st, const char *list, const char *action, const char *arg, const char *detail,
    int needed, const char *state, long long now, long long expires)
{
	sqlite3_stmt *s = prep(st, "INSERT INTO pending (list, action, arg, detail, needed, state, created, expires) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, action, -1, SQLITE_TRANSIENT);
	if (bind_sealed(st, s, 3, arg) < 0) {
		sqlite3_finalize(s);
		return STORE_ERR;
	}
	sqlite3_bind_text(s, 4, detail, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 5, needed);
	sqlite3_bind_text(s, 6, state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)expires);
	if (step_done(s) != STORE_OK)
		return STORE_ERR;
	return (long long)sqlite3_last_insert_rowid(st->db);
}

/* store_pending_get - one pending action (arg decrypted, caller frees) */
int
store_pending_get(struct store *st, long long id, struct pending *pa)
{
	sqlite3_stmt *s = prep(st, "SELECT list, action, arg, detail, needed, state, expires FROM pending WHERE id = ?1");
	int rc;

	memset(pa, 0, sizeof(*pa));
	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		pa->id = id;
		snprintf(pa->list, sizeof(pa->list), "%s", (const char *)sqlite3_column_text(s, 0));
		snprintf(pa->action, sizeof(pa->action), "%s", (const char *)sqlite3_column_text(s, 1));
		pa->arg = column_opened(st, s, 2);
		snprintf(pa->detail, sizeof(pa->detail), "%s", (const char *)sqlite3_column_text(s, 3));
		pa->needed = sqlite3_column_int(s, 4);
		snprintf(pa->state, sizeof(pa->state), "%s", (const char *)sqlite3_column_text(s, 5));
		pa->expires = sqlite3_column_int64(s, 6);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
}

/* store_pending_state - move a pending action on ("asked", "done", "expired", ...) */
int
store_pending_state(struct store *st, long long id, const char *state)
{
	sqlite3_stmt *s = prep(st, "UPDATE pending SET state = ?2 WHERE id = ?1");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
	sqlite3_bind_text(s, 2, state, -1, SQLITE_TRANSIENT);
	return step_done(s);
}

/* store_pending_in_state - ids of pending actions in a state (at most n) */
int
store_pending_in_state(struct store *st, const char *state, long long *ids, int n)
{
	sqlite3_stmt *s = prep(st, "SELECT id FROM pending WHERE state = ?1 ORDER BY id LIMIT ?2");
	int k = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 2, n);
	while (sqlite3_step(s) == SQLITE_ROW && k < n)
		ids[k++] = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return k;
}

/* store_pending_vote - the moderator (by address) approves; returns the number of distinct approvals */
int
store_pending_vote(struct store *st, long long id, const char *list, const char *addr)
{
	sqlite3_stmt *s = prep(st, "INSERT OR IGNORE INTO pending_votes (pending_id, member_id) SELECT ?1, id "
	    "FROM members WHERE list = ?2 AND addr_hash = ?3 AND (role <> 'member' OR "
	    "(SELECT action FROM pending WHERE id = ?1) = 'vouch')");
	char num[32];

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	bind_hash(st, s, 3, list, addr);
	if (step_done(s) != STORE_OK)
		return STORE_ERR;
	snprintf(num, sizeof(num), "%lld", id);
	return scalar(st, "SELECT count(*) FROM pending_votes WHERE pending_id = ?1", num, NULL, 0);
}

/* store_pending_voters - the addresses of those who approved (fn each) */
int
store_pending_voters(struct store *st, long long id, store_member_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT " MEMBER_COLS " FROM members WHERE id IN "
	    "(SELECT member_id FROM pending_votes WHERE pending_id = ?1) ORDER BY id");
	struct member m;
	int n = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
	while (sqlite3_step(s) == SQLITE_ROW) {
		member_row(st, s, &m);
		fn(&m, arg);
		member_free(&m);
		n++;
	}
	sqlite3_finalize(s);
	return n;
}

/* store_member_by_pseudonym - the address behind a pseudonym (by its skeleton), caller frees */
char *
store_member_by_pseudonym(struct store *st, const char *list, const char *skeleton)
{
	sqlite3_stmt *s = prep(st, "SELECT addr FROM members WHERE list = ?1 AND pseudo_key = ?2");
	char *a = NULL;

	if (!s)
		return NULL;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	bind_tagged(st, s, 2, list, "pseudonym", skeleton);
	if (sqlite3_step(s) == SQLITE_ROW)
		a = column_opened(st, s, 0);
	sqlite3_finalize(s);
	return a;
}

/* store_confirm_quorum - spend a moderator's quorum token: the request id and who the moderator is */
int
store_confirm_quorum(struct store *st, const char *token, const char *list, long long now, char *out_id,
    size_t idlen, char **voter)
{
	sqlite3_stmt *s = prep(st, "SELECT c.out_id, m.addr FROM confirmations c JOIN members m ON m.list = c.list "
	    "AND m.addr_hash = c.poster_hash WHERE c.token_hash = ?1 AND c.list = ?2 AND c.used = 0 AND c.expires > ?3 "
	    "AND c.kind IN ('quorum', 'vouch')");
	int rc;

	*voter = NULL;
	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(out_id, idlen, "%s", (const char *)sqlite3_column_text(s, 0));
		*voter = column_opened(st, s, 1);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	return store_confirm_spend(st, token);
}

/*
 * store_enc_keys_due - members of list whose key expires before warn_until
 * and who were not told yet, or whose key has expired (now): fn gets the
 * address, the expiry, and whether it has passed. At most 100 a call.
 */
int
store_enc_keys_due(struct store *st, const char *list, long long now, long long warn_until, store_enc_key_fn fn,
    void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT id, addr, enc_expires FROM members WHERE enc_expires IS NOT NULL AND "
	    "list = ?1 AND (enc_expires <= ?2 OR (enc_expires <= ?3 AND enc_warned = 0)) ORDER BY enc_expires LIMIT 100");
	int rc, n = 0;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)warn_until);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char *addr = column_opened(st, s, 1);
		long long exp = sqlite3_column_int64(s, 2);

		if (addr)
			fn(sqlite3_column_int64(s, 0), addr, exp, exp <= now, arg);
		free(addr);
		n++;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? n : STORE_ERR;
}

/* store_enc_key_done - the member was warned (expired 0), or their expired key is gone (expired 1) */
int
store_enc_key_done(struct store *st, long long member_id, int expired)
{
	sqlite3_stmt *s = prep(st, expired ? "UPDATE members SET enc_pk = NULL, enc_expires = NULL, enc_warned = 0 "
	    "WHERE id = ?1" : "UPDATE members SET enc_warned = 1 WHERE id = ?1");

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)member_id);
	return step_done(s);
}

/* store_member_addr_by_id - the address of member id on list (a new string), or NULL */
char *
store_member_addr_by_id(struct store *st, const char *list, long long id)
{
	sqlite3_stmt *s = prep(st, "SELECT addr FROM members WHERE list = ?1 AND id = ?2");
	char *addr = NULL;

	if (!s)
		return NULL;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)id);
	if (sqlite3_step(s) == SQLITE_ROW)
		addr = column_opened(st, s, 0);
	sqlite3_finalize(s);
	return addr;
}

/* store_discipline_steps - how many steps of the ladder the address has taken on list (0 none) */
int
store_discipline_steps(struct store *st, const char *list, const char *addr)
{
	return (int)hashed_scalar(st, "SELECT coalesce(max(steps), 0) FROM discipline WHERE list = ?1 AND addr_hash = ?2",
	    list, addr, 0);
}

/* store_discipline_until - the end of the address's suspension from list (0 none) */
long long
store_discipline_until(struct store *st, const char *list, const char *addr)
{
	return hashed_scalar(st, "SELECT coalesce(max(until), 0) FROM discipline WHERE list = ?1 AND addr_hash = ?2",
	    list, addr, 0);
}

/* store_discipline_step - one more step for the address; suspended until `until` (0: not suspended) */
int
store_discipline_step(struct store *st, const char *list, const char *addr, long long until)
{
	return hashed(st, "INSERT INTO discipline (list, addr_hash, steps, until) VALUES (?1, ?2, 1, ?3) "
	    "ON CONFLICT (list, addr_hash) DO UPDATE SET steps = steps + 1, until = max(until, ?3)", list, addr, until);
}

/*
 * store_confirm_take - spend an unused, unexpired token of any kind in ONE
 * look-up: its kind, what it is bound to (out_id, bound) and the member it
 * was sent to (addr and role; NULL and "" if no member has that address
 * now). The caller dispatches on the kind and frees bound and addr.
 * STORE_NOTFOUND for an unknown, used or expired token (or another list's).
 */
int
store_confirm_take(struct store *st, const char *token, const char *list, long long now,
    struct store_token *t)
{
	sqlite3_stmt *s = prep(st, "SELECT c.kind, c.out_id, c.post_hash, m.addr, m.role "
	    "FROM confirmations c LEFT JOIN members m ON m.list = c.list AND m.addr_hash = c.poster_hash "
	    "WHERE c.token_hash = ?1 AND c.list = ?2 AND c.used = 0 AND c.expires > ?3");
	const void *b;
	int rc;

	memset(t, 0, sizeof(*t));
	buf_init(&t->bound, 0);
	if (!s)
		return STORE_ERR;
	bind_token(st, s, 1, token);
	sqlite3_bind_text(s, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(t->kind, sizeof(t->kind), "%s", (const char *)sqlite3_column_text(s, 0));
		snprintf(t->out_id, sizeof(t->out_id), "%s", (const char *)sqlite3_column_text(s, 1));
		if ((b = sqlite3_column_blob(s, 2)) != NULL &&
		    buf_append(&t->bound, b, (size_t)sqlite3_column_bytes(s, 2)) < 0)
			rc = SQLITE_ERROR;
		t->addr = column_opened(st, s, 3);
		if (sqlite3_column_text(s, 4))
			snprintf(t->role, sizeof(t->role), "%s", (const char *)sqlite3_column_text(s, 4));
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW) {
		buf_free(&t->bound);
		free(t->addr);
		t->addr = NULL;
		return rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
	}
	return store_confirm_spend(st, token);
}
