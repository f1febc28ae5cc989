/*
 * store.c - the SQLite database: opening it, the schema and its migrations,
 * transactions and how long they wait for a lock (store_busy_wait,
 * store_locked), the write-ahead log's checkpoints (wal_hook,
 * store_checkpoint_later/_idle; the idle one's thread is store_ckpt.c),
 * the page cache (store_cache), SQLite's integrity check, and the
 * statement and sealing helpers that the other store_*.c files (one per
 * concept) share through store_int.h. Only the store files speak SQL.
 *
 * WAL mode, foreign keys on, synchronous=FULL (a commit that the daemon
 * relies on must survive power loss). The schema is versioned: each entry
 * of `migrations` moves the database one version forward inside a
 * transaction, so an old state directory is upgraded in place.
 *
 * Addresses and names are never stored in clear: each is sealed with the
 * field key (keys_seal), bound to its table, column and row (st_place),
 * and found again through a keyed hash of (list, lower-cased address).
 * Every statement is prepared.
 */
#include <stdarg.h>
#include "store_int.h"

/* a migration that is C, not SQL: st_reseal (a comment to SQLite) */
#define RESEAL_MARK	"-- st_reseal"

static int st_reseal(struct store *, struct buf *);

/* a migration that is C: st_hide_rows (store_members.c) */
#define HIDE_MARK	"-- st_hide_rows"

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
	/*
	 * 14: ids that a token, a link, a journal line or an audit entry names
	 * are never reused (AUTOINCREMENT): a departed member's one-click link
	 * must not reach the next member given the same rowid. SQLite cannot
	 * alter a key, so each table is copied into a new one; migrate() runs
	 * this with foreign keys off and checks them before it commits.
	 */
	"CREATE TABLE members_new (id INTEGER PRIMARY KEY AUTOINCREMENT, list TEXT NOT NULL,"
	"  addr_hash BLOB NOT NULL, addr BLOB NOT NULL, name BLOB,"
	"  role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member','moderator','owner')),"
	"  nomail INTEGER NOT NULL DEFAULT 0, digest INTEGER NOT NULL DEFAULT 0,"
	"  bounce_score INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
	"  last_bounce INTEGER NOT NULL DEFAULT 0, probe_sent INTEGER NOT NULL DEFAULT 0,"
	"  bounce_disabled INTEGER NOT NULL DEFAULT 0, author_seed BLOB, author_pk BLOB,"
	"  own_key INTEGER NOT NULL DEFAULT 0, pseudonym BLOB, pseudo_key BLOB, handle TEXT,"
	"  identity TEXT, enc_pk BLOB, enc_expires INTEGER, enc_warned INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (list, addr_hash));"
	"INSERT INTO members_new SELECT id, list, addr_hash, addr, name, role, nomail, digest,"
	"  bounce_score, created, last_bounce, probe_sent, bounce_disabled, author_seed, author_pk,"
	"  own_key, pseudonym, pseudo_key, handle, identity, enc_pk, enc_expires, enc_warned"
	"  FROM members;"
	"DROP TABLE members;"
	"ALTER TABLE members_new RENAME TO members;"
	"CREATE INDEX members_list ON members(list);"
	"CREATE INDEX members_author_pk ON members(list, author_pk);"
	"CREATE UNIQUE INDEX members_pseudo ON members(list, pseudo_key) WHERE pseudo_key IS NOT NULL;"
	"CREATE UNIQUE INDEX members_handle ON members(list, handle) WHERE handle IS NOT NULL;"
	"CREATE INDEX members_enc_expires ON members(enc_expires) WHERE enc_expires IS NOT NULL;"
	"CREATE TABLE deliveries_new (id INTEGER PRIMARY KEY AUTOINCREMENT, qid TEXT NOT NULL,"
	"  list TEXT NOT NULL, rcpt BLOB,"
	"  member_id INTEGER REFERENCES members(id) ON DELETE CASCADE,"
	"  rcpt_hash BLOB NOT NULL, env_from TEXT NOT NULL, token TEXT,"
	"  state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL, expires INTEGER NOT NULL, last_error TEXT, done_at INTEGER);"
	"INSERT INTO deliveries_new SELECT id, qid, list, rcpt, member_id, rcpt_hash, env_from,"
	"  token, state, attempts, next_try, expires, last_error, done_at FROM deliveries;"
	"DROP TABLE deliveries;"
	"ALTER TABLE deliveries_new RENAME TO deliveries;"
	"CREATE INDEX deliveries_due ON deliveries(state, next_try);"
	"CREATE INDEX deliveries_qid ON deliveries(qid, state);"
	"CREATE INDEX deliveries_token ON deliveries(token);"
	"CREATE TABLE pending_new (id INTEGER PRIMARY KEY AUTOINCREMENT, list TEXT NOT NULL,"
	"  action TEXT NOT NULL, arg BLOB NOT NULL, detail TEXT NOT NULL, needed INTEGER NOT NULL,"
	"  state TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL);"
	"INSERT INTO pending_new SELECT id, list, action, arg, detail, needed, state, created,"
	"  expires FROM pending;"
	"DROP TABLE pending;"
	"ALTER TABLE pending_new RENAME TO pending;"
	/*
	 * the copy starts each counter at the highest SURVIVING id; a member (or a
	 * delivery, a request) above it who left before the upgrade would have
	 * their number given again. On a database that has been used (anything
	 * processed or audited), start a million above: no list has lost more
	 * members from the top of its numbers than that. A new one starts at 1.
	 */
	"CREATE TEMP TABLE used AS SELECT (EXISTS (SELECT 1 FROM processed) OR EXISTS"
	"  (SELECT 1 FROM audit) OR EXISTS (SELECT 1 FROM members)) * 1000000 AS jump;"
	"DELETE FROM sqlite_sequence WHERE name IN ('members', 'members_new', 'deliveries',"
	"  'deliveries_new', 'pending', 'pending_new');"
	"INSERT INTO sqlite_sequence (name, seq) VALUES"
	"  ('members', (SELECT coalesce(max(id), 0) FROM members) + (SELECT jump FROM used)),"
	"  ('deliveries', (SELECT coalesce(max(id), 0) FROM deliveries) + (SELECT jump FROM used)),"
	"  ('pending', (SELECT coalesce(max(id), 0) FROM pending) + (SELECT jump FROM used));"
	"DROP TABLE temp.used;",
	/* 15: the class of copy distribute decided for each delivery (enum dclass; 1 plain) */
	"ALTER TABLE deliveries ADD COLUMN class INTEGER NOT NULL DEFAULT 1;",
	/*
	 * sealed fields bound to their place (AEAD associated data): every
	 * sealed field is opened with the old format and sealed again, in C
	 * (st_reseal), inside this migration's transaction
	 */
	RESEAL_MARK,
	/*
	 * OpenPGP (#17): the list's secret key sealed; a member's minimal public
	 * key sealed and its fingerprint only as a keyed hash. The libsodium
	 * X25519 keys of the retired sealed format are dropped (enc_expires and
	 * enc_warned now track the OpenPGP key's expiry; enc_pk stays unused).
	 */
	"CREATE TABLE IF NOT EXISTS list_pgp (list TEXT PRIMARY KEY, secret BLOB NOT NULL,"
	"  fpr TEXT NOT NULL, created INTEGER NOT NULL);"
	"ALTER TABLE members ADD COLUMN pgp_key BLOB;"
	"ALTER TABLE members ADD COLUMN pgp_fpr BLOB;"
	"CREATE UNIQUE INDEX IF NOT EXISTS members_pgp_fpr ON members(list, pgp_fpr)"
	"  WHERE pgp_fpr IS NOT NULL;"
	"UPDATE members SET enc_pk = NULL, enc_expires = NULL, enc_warned = 0;",
	/*
	 * a pseudonym's OpenPGP key (#18), by list and handle (the handle
	 * stays when the pseudonym is renamed): the transferable secret key
	 * sealed under the master key, its fingerprint
	 */
	"CREATE TABLE IF NOT EXISTS pseudonym_keys ("
	"  list TEXT NOT NULL,"
	"  handle TEXT NOT NULL,"
	"  fpr TEXT NOT NULL,"
	"  secret BLOB NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  PRIMARY KEY (list, handle));",
	/* answers to unverified senders, across restarts (store_authn.c) */
	"CREATE TABLE IF NOT EXISTS answer_budget (id INTEGER PRIMARY KEY"
	"  CHECK (id = 1), hour INTEGER NOT NULL, answers INTEGER NOT NULL);",
	/*
	 * the digest's waiting posts are sealed to (list, id): ids never
	 * reused (AUTOINCREMENT, #19), or an old sealed copy put into a new
	 * row of the same id would open there. Copied as in 14; the counter
	 * starts a million above on a database that has sent a digest or
	 * processed mail (every row taken by a digest is gone, its id not).
	 */
	"CREATE TABLE digest_posts_new (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  list TEXT NOT NULL, at INTEGER NOT NULL, msg BLOB NOT NULL);"
	"INSERT INTO digest_posts_new SELECT id, list, at, msg FROM digest_posts;"
	"DROP TABLE digest_posts;"
	"ALTER TABLE digest_posts_new RENAME TO digest_posts;"
	"DELETE FROM sqlite_sequence WHERE name IN ('digest_posts',"
	"  'digest_posts_new');"
	"INSERT INTO sqlite_sequence (name, seq) VALUES ('digest_posts',"
	"  (SELECT coalesce(max(id), 0) FROM digest_posts) +"
	"  (EXISTS (SELECT 1 FROM digest_state) OR"
	"  EXISTS (SELECT 1 FROM processed)) * 1000000);",
	/*
	 * the moderators' role key last announced to each list's members
	 * (leadership/rolekey.c). A list that has members already had a key
	 * before this record: '' (not known), so they are told the current
	 * one once; a list made later is recorded without a notice.
	 */
	"CREATE TABLE IF NOT EXISTS role_announced (list TEXT PRIMARY KEY,"
	"  fingerprint TEXT NOT NULL, at INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO role_announced SELECT DISTINCT list, '', 0"
	"  FROM members;",
	/*
	 * a member's OpenPGP key waiting to replace their registered one
	 * (#17: asked for without the old key's signature): the new minimal
	 * key sealed like pgp_key, and when it takes effect
	 */
	"ALTER TABLE members ADD COLUMN pgp_next BLOB;"
	"ALTER TABLE members ADD COLUMN pgp_next_due INTEGER;"
	/* the job asks every second: only the few waiting rows are indexed */
	"CREATE INDEX IF NOT EXISTS members_pgp_next ON members(list,"
	"  pgp_next_due) WHERE pgp_next IS NOT NULL;",
	/*
	 * a rotated pseudonym key's old public key (#18), kept to verify the
	 * posts it signed; sealed to (list, fpr): its UID names the pseudonym
	 */
	"CREATE TABLE IF NOT EXISTS pseudonym_retired_keys ("
	"  list TEXT NOT NULL,"
	"  handle TEXT NOT NULL,"
	"  fpr TEXT NOT NULL,"
	"  public BLOB NOT NULL,"
	"  retired INTEGER NOT NULL,"
	"  PRIMARY KEY (list, fpr));",
	/*
	 * pseudonyms given up (renamed, their member gone): the keyed hash
	 * of the name's skeleton, as members.pseudo_key, and when, so that
	 * nobody takes over a name the list knows from someone else's posts
	 * (identity.name_reserve_days). No link to the member or new name
	 * here; its handle, public in its copies, is kept apart since
	 * (pseudonym_given_up_handle, below: `keys NAME`).
	 */
	"CREATE TABLE IF NOT EXISTS pseudonym_given_up ("
	"  list TEXT NOT NULL,"
	"  pseudo_key BLOB NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (list, pseudo_key));",
	/*
	 * confirmations to members' own addresses this hour (store_authn.c):
	 * a budget of their own, apart from the answers to strangers, and
	 * the holds when none could be asked; who is a keyed hash of (kind,
	 * address or "*" for the whole instance)
	 */
	"CREATE TABLE IF NOT EXISTS confirm_budget (who BLOB PRIMARY KEY,"
	"  hour INTEGER NOT NULL, n INTEGER NOT NULL);"
	/*
	 * the Message-ID of each copy written for a week (store_bounce.c): a
	 * DSN without a VERP token counts only when the headers it returns
	 * name a copy the list delivered to that member. Keyed hash: a
	 * Message-ID the author chose is not kept in clear.
	 */
	"CREATE TABLE IF NOT EXISTS sent_msgids (id_hash BLOB NOT NULL,"
	"  qid TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (id_hash, qid));"
	"CREATE INDEX IF NOT EXISTS sent_msgids_at ON sent_msgids(at);"
	/* when a member's last discipline step was taken: steps are spaced */
	"CREATE TABLE IF NOT EXISTS discipline_last (list TEXT NOT NULL,"
	"  addr_hash BLOB NOT NULL, at INTEGER NOT NULL,"
	"  PRIMARY KEY (list, addr_hash));",
	/*
	 * what a disk image without the key read beside a public handle:
	 * members.handle and the pseudonym keys' handles become keyed
	 * hashes (the handle itself sealed in members.handle_seal), a
	 * member's join time is sealed, post_counts are keyed by a hash of
	 * (day, address) no other table holds (st_hide_rows)
	 */
	HIDE_MARK,
	/*
	 * the outer thread ids of encrypted copies (store_outerid.c): a
	 * reply to one names its parent by that hash; the real id, sealed,
	 * is what members reading in clear get as the parent
	 */
	"CREATE TABLE IF NOT EXISTS outer_ids (list TEXT NOT NULL,"
	"  id_hash BLOB NOT NULL, real BLOB NOT NULL, at INTEGER NOT NULL,"
	"  PRIMARY KEY (list, id_hash));"
	"CREATE INDEX IF NOT EXISTS outer_ids_at ON outer_ids(list, at);",
	/*
	 * a delivery's result is recorded by (qid, rcpt_hash, state = 0)
	 * (the journal's key, deliver.c): without this index each of a
	 * post's 10,000 results scanned its 10,000 rows in deliveries_qid,
	 * 11-16 s of the loop (bench/RESULTS.md); all three columns, so that
	 * the planner takes it over deliveries_qid
	 */
	"CREATE INDEX IF NOT EXISTS deliveries_rcpt"
	"  ON deliveries(qid, rcpt_hash, state);",
	/*
	 * fewer index entries written per delivery: a post to 10,000 members
	 * wrote 40,000 (bench/RESULTS.md). deliveries_rcpt's (qid) prefix
	 * serves every look-up by message deliveries_qid served (EXPLAIN
	 * QUERY PLAN); only VERP rows carry a token, so only they are in
	 * deliveries_token (a look-up by token = ? still uses it). Without
	 * state in deliveries_rcpt, recording a result moves no entry in it
	 * (its state was there only to win the planner over deliveries_qid).
	 */
	"DROP INDEX IF EXISTS deliveries_qid;"
	"DROP INDEX IF EXISTS deliveries_token;"
	"CREATE INDEX deliveries_token ON deliveries(token)"
	"  WHERE token IS NOT NULL;"
	"DROP INDEX IF EXISTS deliveries_rcpt;"
	"CREATE INDEX deliveries_rcpt ON deliveries(qid, rcpt_hash);",
	/*
	 * a post waiting for the digest may name its archive row instead of
	 * holding a second sealed copy (#15); a table of its own, not a
	 * column: a migration run again (test_store) adds nothing twice
	 */
	"CREATE TABLE IF NOT EXISTS digest_archived (id INTEGER PRIMARY KEY,"
	"  n INTEGER NOT NULL);"
	"CREATE TRIGGER IF NOT EXISTS digest_archived_gone AFTER DELETE ON"
	"  digest_posts BEGIN DELETE FROM digest_archived WHERE id = old.id;"
	"  END;",
	/*
	 * the handle of a pseudonym given up (keyed hash, as members.handle):
	 * `keys NAME` answers its key after its member left as before, which
	 * a hidden roster needs (attack11 F3); the handle is in every copy
	 * the name signed, so this links nothing a reader did not see. A
	 * table of its own: a migration run again adds nothing twice.
	 */
	"CREATE TABLE IF NOT EXISTS pseudonym_given_up_handle ("
	"  list TEXT NOT NULL, pseudo_key BLOB NOT NULL, handle BLOB NOT NULL,"
	"  PRIMARY KEY (list, pseudo_key));",
	/*
	 * a pseudonym's retired keys by its handle, newest first (`keys
	 * NAME`): by the primary key (list, fpr), each answer read every
	 * retired key of the list, one a rotation of each of its pseudonyms
	 */
	"CREATE INDEX IF NOT EXISTS pseudonym_retired_handle ON"
	"  pseudonym_retired_keys(list, handle, retired);",
	NULL
};

/*
 * Every sealed field, by table: the columns of its rows' key (in the order
 * st_place parts are added where it is written), which rows hold one, and
 * its sealed columns, the key said once for all of them. A new sealed
 * column is a new name in its table's row.
 */
static const struct sealed_table {
	const char	*table, *key, *where;
	const char	*columns[5];	/* NULL-ended */
} sealed_tables[] = {
	{ "members", "list, addr_hash", NULL,
	    { "addr", "name", "pseudonym", "author_seed", NULL } },
	{ "deliveries", "list, rcpt_hash", NULL, { "rcpt", NULL } },
	{ "held", "qid", NULL, { "author", NULL } },
	{ "pending", "id", NULL, { "arg", NULL } },
	{ "archive", "list, n", NULL, { "summary", "msg", NULL } },
	{ "digest_posts", "list, id", NULL, { "msg", NULL } },
	{ "anon_handles", "list, handle", NULL, { "addr", NULL } },
	{ "list_keys", "selector", NULL, { "seed", NULL } },
	{ "confirmations", "token_hash", "kind = 'command' AND used = 0",
	    { "post_hash", NULL } },
};

/* reseal_row - one field from the unbound format to its place; 0 or -1 */
static int
reseal_row(struct store *st, const char *field, sqlite3_stmt *sel,
    sqlite3_stmt *upd, int nkeys)
{
	struct st_place pl;
	struct buf b;
	int rc;

	st_place_cols(&pl, sel, field, 2, nkeys);
	buf_init(&b, 0);
	if (keys_open_legacy(st->keys, sqlite3_column_blob(sel, 1),
	    (size_t)sqlite3_column_bytes(sel, 1), &b) < 0) {
		/* already bound to this very place (a database made since): as it is */
		rc = st_opened_bytes(st, sel, 1, &b, &pl) == 0 ? 0 : -1;
		buf_free(&b);
		return rc;
	}
	rc = st_bind_sealed_bytes(st, upd, 1, b.data, b.len, &pl);
	sodium_memzero(b.data, b.cap);
	buf_free(&b);
	sqlite3_bind_int64(upd, 2, sqlite3_column_int64(sel, 0));
	if (rc < 0 || sqlite3_step(upd) != SQLITE_DONE)
		rc = -1;
	sqlite3_reset(upd);
	return rc;
}

/* reseal_field - every row of one sealed column; 0 or -1 with why in err */
static int
reseal_field(struct store *st, const struct sealed_table *f,
    const char *column, struct buf *err)
{
	char sql[400], upsql[200], field[80];
	sqlite3_stmt *sel = NULL, *upd = NULL;
	int nkeys = 1, rc = 0;

	for (const char *c = f->key; *c; c++)
		nkeys += *c == ',';
	snprintf(field, sizeof(field), "%s.%s", f->table, column);
	snprintf(sql, sizeof(sql), "SELECT rowid, %s, %s FROM %s WHERE %s IS NOT NULL AND "
	    "length(%s) > 0 AND %s", column, f->key, f->table, column, column,
	    f->where ? f->where : "1");
	snprintf(upsql, sizeof(upsql), "UPDATE %s SET %s = ?1 WHERE rowid = ?2", f->table,
	    column);
	if (sqlite3_prepare_v2(st->db, sql, -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, upsql, -1, &upd, NULL) != SQLITE_OK)
		rc = -1;
	while (rc == 0 && (rc = sqlite3_step(sel)) == SQLITE_ROW)
		rc = reseal_row(st, field, sel, upd, nkeys);
	if (rc != SQLITE_DONE && rc != 0)
		buf_printf(err, "%s: a sealed field does not open with this "
		    "instance's key (or %s)", field, sqlite3_errmsg(st->db));
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return rc == SQLITE_DONE || rc == 0 ? 0 : -1;
}

/* st_reseal - the migration that binds every sealed field to its place */
static int
st_reseal(struct store *st, struct buf *err)
{
	const size_t n = sizeof(sealed_tables) / sizeof(sealed_tables[0]);

	if (st->keys == NULL) {
		buf_printf(err, "the database must be migrated with the instance's keys");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		for (const char *const *c = sealed_tables[i].columns; *c; c++)
			if (reseal_field(st, &sealed_tables[i], *c, err) < 0)
				return -1;
	return 0;
}

/* st_exec - run SQL without results */
int
st_exec(struct store *st, const char *sql)
{
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/*
 * st_hide_version - the schema version just before st_hide_rows runs: a
 * test sets it back to that to run the migration on an old-form database
 * (the migrations after it are appended later and run again harmlessly)
 */
int
st_hide_version(void)
{
	for (int i = 0; migrations[i]; i++)
		if (strcmp(migrations[i], HIDE_MARK) == 0)
			return i;
	abort();	/* the mark is in the table */
}

/*
 * store_schema_version - current schema version, 0 none yet, -1 it could
 * not be read (not 0: the migrations would run again over a database)
 */
int
store_schema_version(struct store *st)
{
	sqlite3_stmt *s;
	int v = 0, rc;

	if (sqlite3_prepare_v2(st->db, "SELECT version FROM schema_version",
	    -1, &s, NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	else if (rc != SQLITE_DONE)
		v = -1;
	sqlite3_finalize(s);
	return v;
}

/* fk_clean - does every foreign key still point at a row? */
static int
fk_clean(struct store *st)
{
	sqlite3_stmt *s = st_prep(st, "PRAGMA foreign_key_check");
	int rc;

	if (s == NULL)
		return 0;
	rc = sqlite3_step(s);
	st_done(st, s);
	return rc == SQLITE_DONE;
}

/*
 * st_migration_index - the place of the marked migration (HIDE_MARK,
 * RESEAL_MARK) in the list, -1 none: a test winds the schema back to
 * just before it, wherever later migrations were appended
 */
int
st_migration_index(const char *mark)
{
	for (int i = 0; migrations[i]; i++)
		if (strcmp(migrations[i], mark) == 0)
			return i;
	return -1;
}

/*
 * st_migration_with - the place of the first migration whose SQL holds
 * part, -1 none: a test winds the schema back to just before it,
 * whatever migrations other branches append after it
 */
int
st_migration_with(const char *part)
{
	for (int i = 0; migrations[i]; i++)
		if (strstr(migrations[i], part) != NULL)
			return i;
	return -1;
}

/* migrate_one - move the database to version i + 1 in one transaction */
static int
migrate_one(struct store *st, int i, struct buf *err)
{
	char sql[128];

	if (snprintf(sql, sizeof(sql), "DELETE FROM schema_version; "
	    "INSERT INTO schema_version VALUES (%d)", i + 1) >= (int)sizeof(sql))
		return -1;
	if (st_exec(st, "BEGIN IMMEDIATE") < 0) {
		buf_printf(err, "database: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	if (strcmp(migrations[i], HIDE_MARK) == 0) {
		if (st_hide_rows(st, err) < 0) {
			buf_printf(err, " (migration to schema %d)", i + 1);
			st_exec(st, "ROLLBACK");
			return -1;
		}
	} else if (strcmp(migrations[i], RESEAL_MARK) == 0) {
		if (st_reseal(st, err) < 0) {
			buf_printf(err, " (migration to schema %d)", i + 1);
			st_exec(st, "ROLLBACK");
			return -1;
		}
	} else if (st_exec(st, migrations[i]) < 0) {
		buf_printf(err, "migration to schema %d failed: %s", i + 1,
		    sqlite3_errmsg(st->db));
		st_exec(st, "ROLLBACK");
		return -1;
	}
	if (st_exec(st, sql) < 0) {
		buf_printf(err, "migration to schema %d failed: %s", i + 1,
		    sqlite3_errmsg(st->db));
		st_exec(st, "ROLLBACK");
		return -1;
	}
	if (!fk_clean(st)) {
		buf_printf(err, "migration to schema %d failed: a foreign key "
		    "points at nothing", i + 1);
		st_exec(st, "ROLLBACK");
		return -1;
	}
	if (st_exec(st, "COMMIT") < 0) {
		buf_printf(err, "database: %s", sqlite3_errmsg(st->db));
		st_exec(st, "ROLLBACK");
		return -1;
	}
	return 0;
}

/*
 * migrate - apply every migration newer than the database. Foreign keys
 * are off meanwhile (the pragma is ignored inside a transaction): a table
 * copied and dropped must not cascade its deletion into the rows that
 * point at it. migrate_one checks them before each commit.
 */
static int
migrate(struct store *st, struct buf *err)
{
	int v, i, n, rc = 0;

	if (st_exec(st, "CREATE TABLE IF NOT EXISTS schema_version "
	    "(version INTEGER NOT NULL)") < 0) {
		buf_printf(err, "database: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	for (n = 0; migrations[n]; n++)
		;
	if ((v = store_schema_version(st)) < 0) {
		buf_printf(err, "database: cannot read the schema version: %s",
		    sqlite3_errmsg(st->db));
		return -1;
	}
	if (v > n) {
		buf_printf(err, "database schema version %d is newer than this "
		    "mlistd (%d): upgrade mlistd", v, n);
		return -1;
	}
	if (v == n)
		return 0;
	if (st_exec(st, "PRAGMA foreign_keys=OFF") < 0) {
		buf_printf(err, "database: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	for (i = v; i < n && rc == 0; i++)
		rc = migrate_one(st, i, err);
	if (st_exec(st, "PRAGMA foreign_keys=ON") < 0 && rc == 0) {
		buf_printf(err, "database: %s", sqlite3_errmsg(st->db));
		rc = -1;
	}
	return rc;
}

/*
 * st_config - SQLite's process-wide settings, before its first use: no
 * count of the memory it holds (the count is kept under a global mutex
 * taken for every allocation, a cost on every row of a 10,000-member
 * post; nothing here reads it). Called again after SQLite is running
 * (SQLITE_MISUSE) it changes nothing, which is as good.
 */
static void
st_config(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/*
 * store_open - open (creating) the database and bring the schema up to
 * date. The connection is used by one thread at a time only (the queue
 * manager's loop, or a tool's main): it is opened NOMUTEX, without the
 * lock SQLite would otherwise take for every call, each column of each
 * row read included (a store given to another thread must not be used
 * by two at once; store_backup.c's reader has a connection of its own).
 */
struct store *
store_open(const char *path, const struct keys *k, struct buf *err)
{
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->keys = k;
	st_config();
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		buf_printf(err, "cannot open database %s: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	if (st_exec(st, "PRAGMA journal_mode=WAL") < 0 || st_exec(st, "PRAGMA foreign_keys=ON") < 0 ||
	    st_exec(st, "PRAGMA synchronous=FULL") < 0 || st_exec(st, "PRAGMA secure_delete=ON") < 0) {
		buf_printf(err, "database %s: %s", path, sqlite3_errmsg(st->db));
		goto fail;
	}
	if (migrate(st, err) == 0)
		return st;
fail:
	store_close(st);
	return NULL;
}

/* store_close - finish */
void
store_close(struct store *st)
{
	if (!st)
		return;
	for (int i = 0; i < STORE_CACHE; i++) {
		sqlite3_finalize(st->cache[i].s);
		free(st->cache[i].sql);
	}
	/* its connection first: the last one to close checkpoints */
	st_ckpt_free(st->ckpt, 1);
	sqlite3_close(st->db);
	free(st);
}

/* store_keys - the keys the store seals with (NULL: opened without) */
const struct keys *
store_keys(struct store *st)
{
	return st->keys;
}

/* store_errmsg - why the last call failed: the store's own cause, or SQLite's */
const char *
store_errmsg(struct store *st)
{
	return st->cause[0] ? st->cause : sqlite3_errmsg(st->db);
}

/* store_failed - did the last call fail (rather than find nothing)? */
int
store_failed(struct store *st)
{
	return st->failed;
}

/* st_fail - the call fails for a reason SQLite does not know */
void
st_fail(struct store *st, const char *cause)
{
	st->failed = 1;
	snprintf(st->cause, sizeof(st->cause), "%s", cause);
}

/* st_db_fail - the call fails for SQLite's reason; returns STORE_ERR */
int
st_db_fail(struct store *st)
{
	st->failed = 1;
	st->cause[0] = '\0';
	return STORE_ERR;
}

/* st_prep - prepare a statement */
sqlite3_stmt *
st_prep(struct store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	struct st_cached *e = NULL;
	size_t h = 5381;

	/* every call starts here: a new call, no failure yet */
	st->failed = 0;
	st->cause[0] = '\0';
	for (const char *c = sql; *c; c++)
		h = h * 33 + (unsigned char)*c;
	/* linear probing from the text's hash: the same text finds its statement */
	for (int i = 0; i < STORE_CACHE; i++) {
		struct st_cached *t = &st->cache[(h + (size_t)i) % STORE_CACHE];

		if (t->sql == NULL) {
			e = t;
			break;
		}
		if (strcmp(t->sql, sql) == 0) {
			if (!t->busy) {
				t->busy = 1;
				return t->s;
			}
			break;	/* in use further up the stack (a callback): a statement of its own */
		}
	}
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		st->failed = 1;
		return NULL;
	}
	if (e && (e->sql = strdup(sql)) != NULL) {
		e->s = s;
		e->busy = 1;
	}
	return s;
}

/*
 * st_done - the caller is finished with s: a cached statement is reset for
 * the next call (its locks released, its bindings cleared), another one
 * finalized
 */
void
st_done(struct store *st, sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < STORE_CACHE; i++)
		if (st->cache[i].s == s) {
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			st->cache[i].busy = 0;
			return;
		}
	sqlite3_finalize(s);
}

/*
 * st_prep_bind - st_prep, then bind ?1, ?2, ... in order as fmt says, a
 * letter each: 't' a string (NULL binds NULL), 'l' a long long, 'i' an
 * int, '-' leaves that one unbound (set by the caller); NULL as st_prep.
 * As with sqlite3_bind_*, a parameter the statement lacks is a no-op.
 */
sqlite3_stmt *
st_prep_bind(struct store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s = st_prep(st, sql);
	va_list ap;

	if (s == NULL)
		return NULL;
	va_start(ap, fmt);
	for (int i = 1; fmt[i - 1]; i++)
		switch (fmt[i - 1]) {
		case 't':
			sqlite3_bind_text(s, i, va_arg(ap, const char *), -1,
			    SQLITE_TRANSIENT);
			break;
		case 'l':
			sqlite3_bind_int64(s, i,
			    (sqlite3_int64)va_arg(ap, long long));
			break;
		case 'i':
			sqlite3_bind_int(s, i, va_arg(ap, int));
			break;
		case '-':
			break;
		default:
			abort();	/* a caller's format is wrong */
		}
	va_end(ap);
	return s;
}

/*
 * st_prep_member - prepare sql and bind a members row's key: ?1 the list,
 * ?2 the look-up hash of addr on it; NULL as st_prep
 */
sqlite3_stmt *
st_prep_member(struct store *st, const char *sql, const char *list,
    const char *addr)
{
	sqlite3_stmt *s = st_prep(st, sql);

	if (s != NULL) {
		sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
		if (st_bind_hash(st, s, 2, list, addr) < 0) {
			st_done(st, s);
			return NULL;
		}
	}
	return s;
}

/*
 * st_bind_hash - bind the look-up hash of (list, addr); 0, or STORE_ERR
 * and the call failed: a key left unbound is NULL, which finds nothing,
 * and "nothing" must never stand for an error (#15)
 */
int
st_bind_hash(struct store *st, sqlite3_stmt *s, int col, const char *list,
    const char *addr)
{
	unsigned char h[KEYS_HASH_LEN];

	keys_addr_hash(st->keys, list, addr, h);
	if (sqlite3_bind_blob(s, col, h, sizeof(h), SQLITE_TRANSIENT) !=
	    SQLITE_OK)
		return st_db_fail(st);
	return 0;
}

/*
 * Where a sealed field lives, bound into its seal as associated data: a
 * domain string, "table.column", then the parts of the row's stable key
 * (never a rowid SQLite may give again), each with its length. A blob moved
 * to another column or row does not open there: an error, never data.
 */
#define PLACE_DOMAIN	"mlistd sealed field"

/* st_place - begin the place of a field, "table.column" */
void
st_place(struct st_place *pl, const char *field)
{
	size_t d = sizeof(PLACE_DOMAIN), f = strlen(field) + 1;

	pl->len = 0;
	pl->bad = d + f > sizeof(pl->ad);
	if (pl->bad)
		return;
	memcpy(pl->ad, PLACE_DOMAIN, d);
	memcpy(pl->ad + d, field, f);
	pl->len = d + f;
}

/* st_place_add - one part of the row's key, as bytes */
void
st_place_add(struct st_place *pl, const void *p, size_t n)
{
	if (pl->bad || n > 0xffff || pl->len + 2 + n > sizeof(pl->ad)) {
		pl->bad = 1;
		return;
	}
	pl->ad[pl->len++] = (unsigned char)(n >> 8);
	pl->ad[pl->len++] = (unsigned char)n;
	if (n)
		memcpy(pl->ad + pl->len, p, n);
	pl->len += n;
}

/* st_place_text - a text part (a list, a qid, a selector, a handle) */
void
st_place_text(struct st_place *pl, const char *t)
{
	st_place_add(pl, t, strlen(t));
}

/* st_place_int - a number part, in decimal (as SQLite gives an integer column's text) */
void
st_place_int(struct st_place *pl, long long v)
{
	char t[24];

	snprintf(t, sizeof(t), "%lld", v);
	st_place_text(pl, t);
}

/* st_place_hash - the parts list and the look-up hash of (list, addr) */
void
st_place_hash(struct store *st, struct st_place *pl, const char *list, const char *addr)
{
	unsigned char h[KEYS_HASH_LEN];

	keys_addr_hash(st->keys, list, addr, h);
	st_place_text(pl, list);
	st_place_add(pl, h, sizeof(h));
}

/* st_place_cols - field and n parts from the result columns first... */
void
st_place_cols(struct st_place *pl, sqlite3_stmt *s, const char *field, int first, int n)
{
	st_place(pl, field);
	for (int c = first; c < first + n; c++)
		if (sqlite3_column_type(s, c) == SQLITE_INTEGER)
			st_place_int(pl, sqlite3_column_int64(s, c));
		else
			st_place_add(pl, sqlite3_column_blob(s, c),
			    (size_t)sqlite3_column_bytes(s, c));
}

/* st_bind_sealed_bytes - bind bytes sealed to their place */
int
st_bind_sealed_bytes(struct store *st, sqlite3_stmt *s, int col, const void *p,
    size_t n, const struct st_place *pl)
{
	struct buf b;
	int rc;

	if (pl->bad) {
		st_fail(st, "a sealed field's place is too long");
		return -1;
	}
	buf_init(&b, 0);
	if (keys_seal(st->keys, p, n, pl->ad, pl->len, &b) < 0) {
		buf_free(&b);
		return -1;
	}
	rc = sqlite3_bind_blob(s, col, b.data, (int)b.len, SQLITE_TRANSIENT);
	sodium_memzero(b.data, b.cap);
	buf_free(&b);
	return rc == SQLITE_OK ? 0 : -1;
}

/* st_bind_sealed - bind an encrypted text field (NULL: NULL) */
int
st_bind_sealed(struct store *st, sqlite3_stmt *s, int col, const char *text,
    const struct st_place *pl)
{
	if (text == NULL)
		return sqlite3_bind_null(s, col) == SQLITE_OK ? 0 : -1;
	return st_bind_sealed_bytes(st, s, col, text, strlen(text), pl);
}

/* st_bind_sealed_blob - bind an encrypted binary field (NULL: SQL NULL) */
int
st_bind_sealed_blob(struct store *st, sqlite3_stmt *s, int col,
    const void *data, size_t len, const struct st_place *pl)
{
	if (data == NULL)
		return sqlite3_bind_null(s, col) == SQLITE_OK ? 0 : -1;
	return st_bind_sealed_bytes(st, s, col, data, len, pl);
}

/*
 * st_opened_blob - decrypt a sealed binary column into out (replacing it;
 * 0 with out untouched if the column is NULL, 1 opened, -1 does not open)
 */
int
st_opened_blob(struct store *st, sqlite3_stmt *s, int col, struct buf *out,
    const struct st_place *pl)
{
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return 0;
	return st_opened_bytes(st, s, col, out, pl) < 0 ? -1 : 1;
}

/*
 * st_opened_bytes - decrypt a sealed column into out (0 bytes and 1 if the
 * column is NULL). A field that does not open (another key, another
 * place, or corrupted) is an error, never data: -1 with the cause in
 * store_errmsg.
 */
int
st_opened_bytes(struct store *st, sqlite3_stmt *s, int col, struct buf *out,
    const struct st_place *pl)
{
	buf_reset(out);
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return 1;
	if (pl->bad || keys_open(st->keys, sqlite3_column_blob(s, col),
	    (size_t)sqlite3_column_bytes(s, col), pl->ad, pl->len, out) < 0) {
		st_fail(st, "a sealed field does not open: wrong key, moved "
		    "from another column or row, or corrupted database");
		return -1;
	}
	return 0;
}

/* st_opened - st_opened_bytes into a new string (*out NULL if the column is NULL) */
int
st_opened(struct store *st, sqlite3_stmt *s, int col, char **out,
    const struct st_place *pl)
{
	struct buf b;
	int rc;

	*out = NULL;
	buf_init(&b, 0);
	if ((rc = st_opened_bytes(st, s, col, &b, pl)) != 0) {
		buf_free(&b);
		return rc < 0 ? -1 : 0;
	}
	*out = strdup(buf_cstr(&b));
	buf_free(&b);
	if (*out == NULL) {
		st_fail(st, "out of memory");
		return -1;
	}
	return 0;
}

/* st_column_opened - st_opened for a result alone (NULL: none or error) */
char *
st_column_opened(struct store *st, sqlite3_stmt *s, int col, const struct st_place *pl)
{
	char *r;

	return st_opened(st, s, col, &r, pl) < 0 ? NULL : r;
}

/*
 * store_durable - synchronous=FULL (a commit survives power loss) or NORMAL
 * (in WAL mode: survives a crash of the process, not of the machine). The
 * queue manager uses NORMAL only to record delivery results: losing one to
 * a power cut means a duplicate copy, never a lost one.
 */
int
store_durable(struct store *st, int full)
{
	return st_exec(st, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

/*
 * wal_hook - after each commit: the frames the log holds. Beyond wal_max
 * the commit checkpoints, as SQLite's own automatic checkpoint would (a
 * loop that is never idle still bounds its log).
 */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *st = arg;

	st->wal_frames = frames;
	if (frames < st->wal_max)
		return SQLITE_OK;
	if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL) == SQLITE_OK)
		st->wal_frames = 0;
	return SQLITE_OK;	/* the commit is made: a checkpoint is not it */
}

/*
 * store_checkpoint_later - the log is copied into the database when the
 * caller says it is idle, not by whichever commit crosses SQLite's 1,000
 * frames: that commit was a post's, and copying a 10,000-member import or
 * the last post's rows inside it put tens of milliseconds between the
 * post's 250 and its first copy sent (bench/RESULTS.md). The hook
 * replaces SQLite's automatic checkpoint.
 */
int
store_checkpoint_later(struct store *st, int max)
{
	st->wal_max = max > 0 ? max : 1000;
	st->wal_frames = 0;
	(void)sqlite3_wal_hook(st->db, wal_hook, st);
	return 0;
}

/*
 * checkpoint_beside - store_checkpoint_idle by the checkpoint thread: asked,
 * not waited for; the frames it copied since it was asked last (its
 * failures since then: -1)
 */
static int
checkpoint_beside(struct store *st)
{
	int copied, failed;

	st_ckpt_ask(st->ckpt, &copied, &failed);
	/* the next commit tells what the log holds */
	st->wal_frames = 0;
	if (failed > 0) {
		st_fail(st, "a checkpoint beside the loop failed");
		return -1;
	}
	return copied;
}

/*
 * store_checkpoint_idle - what the log holds, if least frames or more,
 * copied into the database now (PASSIVE: a reader's snapshot, a backup's, is left what it needs;
 * the rest is copied at the next idle moment)
 */
int
store_checkpoint_idle(struct store *st, int least)
{
	int logged = 0, copied = 0;

	if (st->wal_frames == 0 || st->wal_frames < least)
		return 0;
	if (st->ckpt)
		return checkpoint_beside(st);
	if (sqlite3_wal_checkpoint_v2(st->db, "main",
	    SQLITE_CHECKPOINT_PASSIVE, &logged, &copied) != SQLITE_OK)
		return st_db_fail(st);
	/* all copied: the next commit writes the log from its start */
	st->wal_frames = copied < logged ? logged - copied : 0;
	return copied > 0 ? copied : 0;
}

/*
 * store_cache - SQLite's page cache for this connection, in KiB (its
 * default is 2,000). A 10,000-member post's rows and the members they
 * join are more than that: the run's start read each page again through
 * the kernel, two thirds of a VERP run's start in SQLite.
 */
int
store_cache(struct store *st, int kib)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", kib);
	return st_exec(st, sql);
}

/*
 * store_busy_wait - how long a statement waits for another connection's
 * write lock before it fails as locked: the queue manager's periodic
 * jobs wait less than the default STORE_BUSY_MS, and come back next turn
 */
int
store_busy_wait(struct store *st, int ms)
{
	return sqlite3_busy_timeout(st->db, ms) == SQLITE_OK ? 0 : -1;
}

/* store_locked - did the last call fail on another writer's lock? */
int
store_locked(struct store *st)
{
	int rc = sqlite3_errcode(st->db) & 0xff;

	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/* store_begin - start a write transaction */
int
store_begin(struct store *st)
{
	return st_exec(st, "BEGIN IMMEDIATE");
}

/* store_commit - make it durable */
int
store_commit(struct store *st)
{
	return st_exec(st, "COMMIT");
}

/* store_rollback - forget it */
void
store_rollback(struct store *st)
{
	(void)st_exec(st, "ROLLBACK");
}

/* store_savepoint - a point inside the transaction one step can go back to */
int
store_savepoint(struct store *st)
{
	return st_exec(st, "SAVEPOINT step");
}

/* store_savepoint_end - keep the step's work (back: undo it first); the transaction goes on */
int
store_savepoint_end(struct store *st, int back)
{
	if (back && st_exec(st, "ROLLBACK TO step") < 0)
		return -1;
	return st_exec(st, "RELEASE step");
}

/* st_step_done - run a statement that returns no rows; finalize it */
int
st_step_done(struct store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	st_done(st, s);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	if (rc == SQLITE_CONSTRAINT)
		return STORE_EXISTS;
	/* a step that fails is a failed call: store_failed must say so */
	return st_db_fail(st);
}

/*
 * st_step_if - st_step_done where bound, the result of the bind before
 * (st_bind_sealed*), is 0 or more; else s is done and the call failed
 */
int
st_step_if(struct store *st, sqlite3_stmt *s, int bound)
{
	if (bound < 0) {
		st_done(st, s);
		return STORE_ERR;
	}
	return st_step_done(st, s);
}

/*
 * st_step_sealed - s (NULL: st_prep failed) stepped once text (NULL: SQL
 * NULL) is bound at col sealed to pl: a row's one sealed field written
 */
int
st_step_sealed(struct store *st, sqlite3_stmt *s, int col, const char *text,
    const struct st_place *pl)
{
	if (!s)
		return STORE_ERR;
	return st_step_if(st, s, st_bind_sealed(st, s, col, text, pl));
}

/*
 * st_step_row - step s to its one row, telling none from a failure:
 * STORE_OK, s on the row (the caller reads it, then st_done); else s is
 * done: STORE_NOTFOUND, or STORE_ERR (also for a NULL s: st_prep failed)
 */
int
st_step_row(struct store *st, sqlite3_stmt *s)
{
	int rc;

	if (s == NULL)
		return STORE_ERR;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		return STORE_OK;
	st_done(st, s);
	return rc == SQLITE_DONE ? STORE_NOTFOUND : st_db_fail(st);
}

/* st_step_id - run an INSERT: its row id; STORE_ERR (a NULL s too) */
long long
st_step_id(struct store *st, sqlite3_stmt *s)
{
	if (s == NULL || st_step_done(st, s) != STORE_OK)
		return STORE_ERR;
	return (long long)sqlite3_last_insert_rowid(st->db);
}

/*
 * st_step_scalar - run a statement that returns one integer (dflt if no
 * row, or a NULL); finalize it; STORE_ERR if it failed
 */
long long
st_step_scalar(struct store *st, sqlite3_stmt *s, long long dflt)
{
	long long v = dflt;
	int rc;

	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_type(s, 0) != SQLITE_NULL)
			v = sqlite3_column_int64(s, 0);
	} else if (rc != SQLITE_DONE)
		v = st_db_fail(st);
	st_done(st, s);
	return v;
}

/* st_scalar - one integer from a query with up to two text parameters */
long long
st_scalar(struct store *st, const char *sql, const char *a, const char *b, long long dflt)
{
	sqlite3_stmt *s = st_prep(st, sql);

	if (!s)
		return STORE_ERR;
	if (a)
		sqlite3_bind_text(s, 1, a, -1, SQLITE_TRANSIENT);
	if (b)
		sqlite3_bind_text(s, 2, b, -1, SQLITE_TRANSIENT);
	return st_step_scalar(st, s, dflt);
}

/*
 * st_hashed - run "sql" with ?1 = list, ?2 = hash(list, addr), ?3 = n.
 * A statement may leave out any of them: binding an absent index is a no-op.
 */
int
st_hashed(struct store *st, const char *sql, const char *list, const char *addr, long long n)
{
	sqlite3_stmt *s = st_prep_member(st, sql, list, addr);

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 3, (sqlite3_int64)n);
	return st_step_done(st, s);
}

/* st_hashed_scalar - one integer from "sql" with ?1 = list, ?2 = hash (+ ?3 = n) */
long long
st_hashed_scalar(struct store *st, const char *sql, const char *list, const char *addr, long long n)
{
	sqlite3_stmt *s = st_prep_member(st, sql, list, addr);

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 3, (sqlite3_int64)n);
	return st_step_scalar(st, s, 0);
}

/*
 * st_bind_tagged - keyed hash of "tag:text" for list (a different domain
 * from addresses); 0, or STORE_ERR and the call failed (review11: a NULL
 * bound in its place read as "not found")
 */
int
st_bind_tagged(struct store *st, sqlite3_stmt *s, int col, const char *list,
    const char *tag, const char *text)
{
	char *t = NULL;
	int rc;

	if (asprintf(&t, "%s:%s", tag, text) < 0) {
		st_fail(st, "out of memory for a look-up key");
		return STORE_ERR;
	}
	rc = st_bind_hash(st, s, col, list, t);
	free(t);
	return rc;
}

/*
 * st_prep_tagged - st_prep, ?1 = list, ?2 = the keyed hash of "tag:text";
 * NULL (s done, the call failed) if either fails
 */
sqlite3_stmt *
st_prep_tagged(struct store *st, const char *sql, const char *list,
    const char *tag, const char *text)
{
	sqlite3_stmt *s = st_prep_bind(st, sql, "t", list);

	if (s != NULL && st_bind_tagged(st, s, 2, list, tag, text) < 0) {
		st_done(st, s);
		return NULL;
	}
	return s;
}

/*
 * st_place_tagged - the keyed hash of "tag:text" for list as a part of a
 * place: the bytes st_bind_tagged binds, so st_place_cols of that column
 * gives the same place
 */
void
st_place_tagged(struct store *st, struct st_place *pl, const char *list,
    const char *tag, const char *text)
{
	unsigned char h[KEYS_HASH_LEN];
	char *t = NULL;

	if (asprintf(&t, "%s:%s", tag, text) < 0) {
		pl->bad = 1;
		return;
	}
	keys_addr_hash(st->keys, list, t, h);
	free(t);
	st_place_add(pl, h, sizeof(h));
}

/* st_bind_sealed_int - a number sealed to its place (as decimal text) */
int
st_bind_sealed_int(struct store *st, sqlite3_stmt *s, int col, long long v,
    const struct st_place *pl)
{
	char t[24];

	snprintf(t, sizeof(t), "%lld", v);
	return st_bind_sealed(st, s, col, t, pl);
}

/*
 * st_one_opened - step s for one sealed column 0 of field, its row's key in
 * the n columns from first; finalize it: the opened text, or NULL for no
 * row and for an error (store_failed tells which)
 */
char *
st_one_opened(struct store *st, sqlite3_stmt *s, const char *field, int first, int n)
{
	struct st_place pl;
	char *r = NULL;
	int rc;

	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		st_place_cols(&pl, s, field, first, n);
		r = st_column_opened(st, s, 0, &pl);
	} else if (rc != SQLITE_DONE)
		st_db_fail(st);
	st_done(st, s);
	return r;
}

/* store_integrity - SQLite's own check of every page and index, and the foreign keys */
int
store_integrity(struct store *st)
{
	sqlite3_stmt *s = st_prep(st, "PRAGMA integrity_check");
	const unsigned char *t;
	int ok;

	if (s == NULL)
		return st_db_fail(st);
	ok = sqlite3_step(s) == SQLITE_ROW && (t = sqlite3_column_text(s, 0)) &&
	    strcmp((const char *)t, "ok") == 0;
	st_done(st, s);
	if (!ok || !fk_clean(st)) {
		st_fail(st, "the database fails SQLite's integrity check");
		return STORE_ERR;
	}
	return STORE_OK;
}
