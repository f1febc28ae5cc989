/*
 * store_members.c - list members: joining, leaving, settings, look-ups, the
 * bounce score, each member's author key and encryption key.
 *
 * A member is found by the keyed hash of (list, lower-cased address); the
 * address and the name themselves are sealed (see store.c).
 *
 * Also the C migration of these rows, st_hide_rows (hide_*): handles and
 * join times hashed or sealed, post counts re-keyed, for what a disk image
 * without the key read beside a member's public handle.
 */
#include <sodium.h>

#include "config.h"
#include "store_int.h"

/* store_member_add - a new member; STORE_EXISTS if already there */
int
store_member_add(struct store *st, const char *list, const char *addr, const char *name)
{
	sqlite3_stmt *s = st_prep_member(st, "INSERT INTO members (list, addr_hash, addr, name, created) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)", list, addr);
	struct st_place pa, pn, pc;

	if (!s)
		return STORE_ERR;
	st_place(&pa, "members.addr");
	st_place_hash(st, &pa, list, addr);
	st_place(&pn, "members.name");
	st_place_hash(st, &pn, list, addr);
	/* sealed: beside the role, a join time names a person to an informer */
	st_place(&pc, "members.created");
	st_place_hash(st, &pc, list, addr);
	if (st_bind_sealed(st, s, 3, addr, &pa) < 0 ||
	    st_bind_sealed(st, s, 4, name, &pn) < 0 ||
	    st_bind_sealed_int(st, s, 5, (long long)time(NULL), &pc) < 0) {
		st_done(st, s);
		return STORE_ERR;
	}
	return st_step_done(st, s);
}

/* store_member_rm - remove; STORE_NOTFOUND if not a member */
int
store_member_rm(struct store *st, const char *list, const char *addr)
{
	sqlite3_stmt *s;
	int rc;

	/* their pseudonym stays the list's a while (store_identity.c) */
	if (st_pseudonym_give_up(st, list, addr) != STORE_OK)
		return STORE_ERR;
	s = st_prep_member(st, "DELETE FROM members WHERE list = ?1 AND addr_hash = ?2",
	    list, addr);
	if (!s)
		return STORE_ERR;
	rc = sqlite3_step(s);
	st_done(st, s);
	if (rc != SQLITE_DONE)
		return STORE_ERR;
	if (sqlite3_changes(st->db) == 0)
		return STORE_NOTFOUND;
	st->removals++;
	return STORE_OK;
}

/*
 * store_member_id_exists - is member row id still there? 1 yes, 0 no,
 * STORE_ERR (a delivery run out asks, deliver_prune: no address opened)
 */
int
store_member_id_exists(struct store *st, long long id)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT 1 FROM members WHERE id = ?1",
	    "l", id);
	int rc;

	if (!s)
		return STORE_ERR;
	rc = sqlite3_step(s);
	st_done(st, s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : STORE_ERR;
}

/*
 * store_removals - how many times members were removed (or a list
 * purged) through this connection: a delivery run out drops what it has
 * not sent to them (deliver_prune) when this changes
 */
unsigned
store_removals(const struct store *st)
{
	return st->removals;
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
		/* delivery turned back on: the bounce score starts again from nothing */
		{ "nomail", "UPDATE members SET nomail = ?3, bounce_disabled = bounce_disabled * ?3, "
		    "bounce_score = bounce_score * ?3, probe_sent = probe_sent * ?3, "
		    "last_bounce = last_bounce * ?3 WHERE list = ?1 AND addr_hash = ?2" },
		{ "digest", "UPDATE members SET digest = ?3 WHERE list = ?1 AND addr_hash = ?2" },
	};
	sqlite3_stmt *s = NULL;
	struct st_place pn;
	enum role role;
	int i, rc, flag = 0;

	for (i = 0; i < 4 && strcmp(cols[i].key, key); i++)
		;
	if (i == 4)
		return STORE_BADVALUE;
	/* the role's one parser (mail/role.c), not a list of its own here */
	if (i == 1 && role_parse(value, &role) < 0)
		return STORE_BADVALUE;
	if (i >= 2 && (flag = onoff(value)) < 0)
		return STORE_BADVALUE;
	if ((s = st_prep_member(st, cols[i].sql, list, addr)) == NULL)
		return STORE_ERR;
	st_place(&pn, "members.name");
	st_place_hash(st, &pn, list, addr);
	if (i == 0)
		rc = st_bind_sealed(st, s, 3, value, &pn);
	else if (i == 1)
		rc = sqlite3_bind_text(s, 3, role_name(role), -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
	else
		rc = sqlite3_bind_int(s, 3, flag) == SQLITE_OK ? 0 : -1;
	if (rc < 0 || sqlite3_step(s) != SQLITE_DONE) {
		st_done(st, s);
		return STORE_ERR;
	}
	st_done(st, s);
	return sqlite3_changes(st->db) ? STORE_OK : STORE_NOTFOUND;
}

/*
 * member_created - column 7 of a MEMBER_COLS row, the join time: sealed,
 * or a number in a row the migration has not reached; 0 or -1
 */
static int
member_created(struct store *st, sqlite3_stmt *s, long long *out)
{
	struct st_place pl;
	char *t = NULL, *end;

	if (sqlite3_column_type(s, 7) == SQLITE_INTEGER) {
		*out = sqlite3_column_int64(s, 7);
		return 0;
	}
	st_place_cols(&pl, s, "members.created", 11, 2);
	if (st_opened(st, s, 7, &t, &pl) < 0 || t == NULL) {
		free(t);
		st_fail(st, "a member's sealed join time does not open");
		return -1;
	}
	*out = strtoll(t, &end, 10);
	if (*end != 0 || end == t) {
		free(t);
		st_fail(st, "a member's join time is not a number");
		return -1;
	}
	free(t);
	return 0;
}

/* st_member_row - fill a member from a SELECT of MEMBER_COLS; -1: a field does not open */
int
st_member_row(struct store *st, sqlite3_stmt *s, struct member *m)
{
	struct st_place pa, pn, pp;
	char *handle = NULL;

	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(s, 0);
	/* the row's key: list and addr_hash, the last two of MEMBER_COLS */
	st_place_cols(&pa, s, "members.addr", 11, 2);
	st_place_cols(&pn, s, "members.name", 11, 2);
	st_place_cols(&pp, s, "members.pseudonym", 11, 2);
	if (st_opened(st, s, 1, &m->addr, &pa) < 0 || m->addr == NULL ||
	    st_opened(st, s, 2, &m->name, &pn) < 0 ||
	    st_opened(st, s, 8, &m->pseudonym, &pp) < 0) {
		if (m->addr == NULL)
			st_fail(st, "a member's sealed address does not open");
		member_free(m);
		return -1;
	}
	/* the CHECK constraint allows only these: another is a broken database */
	if (role_parse((const char *)sqlite3_column_text(s, 3), &m->role) < 0) {
		st_fail(st, "a member's role is none the store knows");
		member_free(m);
		return -1;
	}
	m->nomail = sqlite3_column_int(s, 4);
	m->digest = sqlite3_column_int(s, 5);
	m->bounce_score = sqlite3_column_int(s, 6);
	if (member_created(st, s, &m->created) < 0) {
		member_free(m);
		return -1;
	}
	st_place_cols(&pp, s, "members.handle_seal", 11, 2);
	if (st_opened(st, s, 9, &handle, &pp) < 0) {
		member_free(m);
		return -1;
	}
	snprintf(m->handle, sizeof(m->handle), "%s", handle ? handle : "");
	free(handle);
	m->identity = sqlite3_column_type(s, 10) == SQLITE_NULL ? -1 :
	    config_identity_parse((const char *)sqlite3_column_text(s, 10));
	return 0;
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
	sqlite3_stmt *s = st_prep_member(st, "SELECT " MEMBER_COLS " FROM members WHERE list = ?1 AND addr_hash = ?2",
	    list, addr);
	int rc;

	memset(m, 0, sizeof(*m));
	if (!s)
		return STORE_ERR;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && st_member_row(st, s, m) < 0)
		rc = SQLITE_ERROR;
	st_done(st, s);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERR;
}

/*
 * st_member_rows - fn for each member row s yields (NULL s: st_prep failed)
 * until fn returns non-zero: how many rows it was called for, or STORE_ERR
 */
int
st_member_rows(struct store *st, sqlite3_stmt *s, store_member_fn fn,
    void *arg)
{
	struct member m;
	int rc, n = 0, stop = 0;

	if (!s)
		return STORE_ERR;
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (st_member_row(st, s, &m) < 0)
			break;
		stop = fn(&m, arg);
		member_free(&m);
		n++;
	}
	st_done(st, s);
	return stop || rc == SQLITE_DONE ? n : STORE_ERR;
}

/* store_member_each - call fn for every member of a list, in joining order */
int
store_member_each(struct store *st, const char *list, store_member_fn fn, void *arg)
{
	return st_member_rows(st, st_prep_bind(st, "SELECT " MEMBER_COLS
	    " FROM members WHERE list = ?1 ORDER BY id", "t", list), fn, arg);
}

/* store_member_count - how many members a list has */
int
store_member_count(struct store *st, const char *list)
{
	return (int)st_scalar(st, "SELECT count(*) FROM members WHERE "
	    "list = ?1", list, NULL, STORE_ERR);
}

/*
 * store_member_digests - does a member of the list take the digest
 * (whatever else they have set: the digest decides per member)? 1 or 0,
 * or STORE_ERR
 */
int
store_member_digests(struct store *st, const char *list)
{
	return (int)st_scalar(st, "SELECT count(*) FROM (SELECT 1 FROM "
	    "members WHERE list = ?1 AND digest != 0 LIMIT 1)", list, NULL,
	    STORE_ERR);
}

/* store_list_purge - forget a deleted list: members (their pending deliveries go with them), bans, counters */
int
store_list_purge(struct store *st, const char *list)
{
	static const char *const sql[] = {
		"DELETE FROM members WHERE list = ?1", "DELETE FROM bans WHERE list = ?1",
		"DELETE FROM post_counts WHERE list = ?1", "DELETE FROM msgids WHERE list = ?1",
		"DELETE FROM archive WHERE list = ?1",
		/* they name archive rows: a list made again renumbers them */
		"DELETE FROM digest_posts WHERE list = ?1",
		"DELETE FROM pseudonym_keys WHERE list = ?1",
		/* a list made again must not find the old one's names */
		"DELETE FROM pseudonym_given_up WHERE list = ?1",
		"DELETE FROM pseudonym_given_up_handle WHERE list = ?1",
		"DELETE FROM pseudonym_retired_keys WHERE list = ?1",
		"DELETE FROM outer_ids WHERE list = ?1",
	};
	sqlite3_stmt *s;
	int rc = STORE_OK;

	if (store_begin(st) < 0)
		return STORE_ERR;
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]) && rc == STORE_OK; i++) {
		if ((s = st_prep(st, sql[i])) == NULL)
			rc = STORE_ERR;
		else {
			sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
			rc = sqlite3_step(s) == SQLITE_DONE ? STORE_OK : STORE_ERR;
			st_done(st, s);
		}
	}
	if (rc != STORE_OK || store_commit(st) < 0) {
		store_rollback(st);
		return STORE_ERR;
	}
	st->removals++;
	return STORE_OK;
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
	long long last = st_hashed_scalar(st, "SELECT last_bounce FROM members WHERE list = ?1 AND "
	    "addr_hash = ?2", list, addr, 0);
	long long probe;

	if (last < 0)
		return STORE_ERR;	/* a score read as 0 would be reset, not counted */
	if (now - last > (long long)decay_days * 86400 && st_hashed(st, "UPDATE members SET "
	    "bounce_score = 0, probe_sent = 0 WHERE list = ?1 AND addr_hash = ?2", list, addr, 0) != STORE_OK)
		return STORE_ERR;
	if ((now - last >= 86400 || last == 0) && st_hashed(st, "UPDATE members SET "
	    "bounce_score = bounce_score + 1, last_bounce = ?3 WHERE list = ?1 AND addr_hash = ?2",
	    list, addr, now) != STORE_OK)
		return STORE_ERR;
	probe = st_hashed_scalar(st, "SELECT probe_sent FROM members WHERE list = ?1 AND addr_hash = ?2",
	    list, addr, 0);
	if (probe < 0 && store_failed(st))
		return STORE_ERR;
	*probe_sent = probe != 0;
	return (int)st_hashed_scalar(st, "SELECT bounce_score FROM members WHERE list = ?1 AND "
	    "addr_hash = ?2", list, addr, 0);
}

/*
 * store_member_probe - note that a probe went out: probe_sent holds the
 * row id of its delivery (the newest with a VERP token to the member), so
 * that only a bounce to the probe's own token can disable delivery.
 */
int
store_member_probe(struct store *st, const char *list, const char *addr)
{
	return st_hashed(st, "UPDATE members SET probe_sent = coalesce((SELECT max(id) FROM "
	    "deliveries WHERE list = ?1 AND rcpt_hash = ?2 AND token IS NOT NULL), -1) "
	    "WHERE list = ?1 AND addr_hash = ?2", list, addr, 0);
}

/* store_member_disable - stop delivery to a bouncing member */
int
store_member_disable(struct store *st, const char *list, const char *addr)
{
	return st_hashed(st, "UPDATE members SET nomail = 1, bounce_disabled = 1 WHERE list = ?1 AND addr_hash = ?2", list, addr, 0);
}

/* store_member_author_seed - the member's author key on this list, made on first use */
int
store_member_author_seed(struct store *st, const char *list, const char *addr, unsigned char *seed, size_t n)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	sqlite3_stmt *s = st_prep_member(st, "SELECT author_seed, own_key FROM members WHERE list = ?1 AND addr_hash = ?2",
	    list, addr);
	struct st_place pl;
	struct buf b;
	int rc;

	if (!s || n != crypto_sign_SEEDBYTES)
		return st_done(st, s), STORE_ERR;
	if ((rc = st_step_row(st, s)) != STORE_OK)
		return rc;
	buf_init(&b, 0);
	if (sqlite3_column_int(s, 1)) {
		/*
		 * The member holds their own key (author_pk is theirs). Where the list must
		 * sign for them anyway (a pseudonymous copy, rewritten), it uses a key derived
		 * from the master key, the list and the member: stable, never stored, and
		 * their registered key is left alone.
		 */
		char *t = NULL;

		st_done(st, s);
		if (asprintf(&t, "author-seed:%s", addr) < 0)
			return STORE_ERR;
		keys_addr_hash(st->keys, list, t, seed);
		free(t);
		return STORE_OK;
	}
	st_place(&pl, "members.author_seed");
	st_place_hash(st, &pl, list, addr);
	if (sqlite3_column_type(s, 0) != SQLITE_NULL) {
		rc = st_opened_bytes(st, s, 0, &b, &pl) == 0 && b.len == n ? STORE_OK : STORE_ERR;
		if (rc == STORE_OK)
			memcpy(seed, b.data, n);
		sodium_memzero(b.data, b.cap);
		buf_free(&b);
		st_done(st, s);
		return rc;
	}
	st_done(st, s);
	randombytes_buf(seed, n);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
	buf_free(&b);
	if ((s = st_prep_member(st, "UPDATE members SET author_seed = ?3, author_pk = ?4 WHERE list = ?1 AND addr_hash = ?2",
	    list, addr)) == NULL)
		return STORE_ERR;
	if (st_bind_sealed_bytes(st, s, 3, seed, n, &pl) < 0) {
		st_done(st, s);
		return STORE_ERR;
	}
	sqlite3_bind_blob(s, 4, pk, sizeof(pk), SQLITE_TRANSIENT);
	return st_step_done(st, s);
}

/* store_member_set_key - a member's own public key (they sign; the server holds no secret), or none */
int
store_member_set_key(struct store *st, const char *list, const char *addr, const unsigned char *pk, size_t n)
{
	sqlite3_stmt *s = st_prep_member(st, pk ? "UPDATE members SET author_pk = ?3, author_seed = NULL, own_key = 1 "
	    "WHERE list = ?1 AND addr_hash = ?2" :
	    "UPDATE members SET author_pk = NULL, author_seed = NULL, own_key = 0 WHERE list = ?1 AND addr_hash = ?2",
	    list, addr);

	if (!s)
		return STORE_ERR;
	if (pk)
		sqlite3_bind_blob(s, 3, pk, (int)n, SQLITE_TRANSIENT);
	if (st_step_done(st, s) != STORE_OK)
		return STORE_ERR;
	return sqlite3_changes(st->db) ? STORE_OK : STORE_NOTFOUND;
}

/*
 * store_member_own_key - 1 if the member holds their own key (pk filled),
 * 0 if not, STORE_ERR: a failed step is not "no key" (an unsigned post in
 * her name would pass the check that she signs her posts)
 */
int
store_member_own_key(struct store *st, const char *list, const char *addr, unsigned char *pk, size_t n)
{
	sqlite3_stmt *s = st_prep_member(st, "SELECT author_pk FROM members WHERE list = ?1 AND addr_hash = ?2 AND own_key = 1",
	    list, addr);
	int rc = 0, step;

	if (!s)
		return STORE_ERR;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW && sqlite3_column_bytes(s, 0) == (int)n) {
		memcpy(pk, sqlite3_column_blob(s, 0), n);
		rc = 1;
	} else if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = st_db_fail(st);
	st_done(st, s);
	return rc;
}

/* store_member_by_key - the member of list who registered this key, or NULL */
char *
store_member_by_key(struct store *st, const char *list, const unsigned char *pk, size_t n)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT addr, list, addr_hash FROM "
	    "members WHERE list = ?1 AND "
	    "author_pk = ?2 AND own_key = 1", "t", list);

	if (!s)
		return NULL;
	sqlite3_bind_blob(s, 2, pk, (int)n, SQLITE_TRANSIENT);
	return st_one_opened(st, s, "members.addr", 1, 2);
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
	/*
	 * By the expiry index, up to the later of the two times: by the
	 * list's (SQLite's choice, "+list" stops it) every member of the
	 * list was read every second, 3-12 ms of the queue manager's
	 * thread for 10,000 members (bench/RESULTS.md, grouped13b)
	 */
	sqlite3_stmt *s = st_prep_bind(st, "SELECT id, addr, enc_expires, "
	    "list, addr_hash FROM members WHERE enc_expires IS NOT NULL "
	    "AND enc_expires <= max(?2, ?3) AND pgp_key IS NOT NULL AND "
	    "+list = ?1 AND (enc_expires <= ?2 OR (enc_expires <= ?3 AND "
	    "enc_warned = 0)) ORDER BY enc_expires LIMIT 100",
	    "tll", list, now, warn_until);
	int rc, n = 0;

	if (!s)
		return STORE_ERR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct st_place pl;
		char *addr;
		long long exp = sqlite3_column_int64(s, 2);

		st_place_cols(&pl, s, "members.addr", 3, 2);
		addr = st_column_opened(st, s, 1, &pl);
		if (addr == NULL) {
			rc = SQLITE_ERROR;
			break;
		}
		fn(sqlite3_column_int64(s, 0), addr, exp, exp <= now, arg);
		free(addr);
		n++;
	}
	st_done(st, s);
	return rc == SQLITE_DONE ? n : STORE_ERR;
}

/* store_enc_key_done - the member was warned (expired 0), or their expired key is gone (expired 1) */
int
store_enc_key_done(struct store *st, long long member_id, int expired)
{
	sqlite3_stmt *s = st_prep_bind(st, expired ? "UPDATE members SET "
	    "enc_expires = NULL, enc_warned = 0, "
	    "pgp_key = NULL, pgp_fpr = NULL WHERE id = ?1" :
	    "UPDATE members SET enc_warned = 1 WHERE id = ?1", "l", member_id);

	if (!s)
		return STORE_ERR;
	return st_step_done(st, s);
}

/* store_member_addr_by_id - the address of member id on list (a new string), or NULL */
char *
store_member_addr_by_id(struct store *st, const char *list, long long id)
{
	sqlite3_stmt *s = st_prep_bind(st, "SELECT addr, list, addr_hash FROM "
	    "members WHERE list = ?1 AND id = ?2", "tl", list, id);

	if (!s)
		return NULL;
	return st_one_opened(st, s, "members.addr", 1, 2);
}

/*
 * hide_counts - one member's old post counts (temp.old_counts, keyed by
 * members.addr_hash) into rows keyed by hashes of (day, address)
 */
static int
hide_counts(struct store *st, const char *list, const void *hash, int hlen,
    const char *addr)
{
	sqlite3_stmt *s = st_prep(st, "SELECT day, n FROM temp.old_counts "
	    "WHERE list = ?1 AND addr_hash = ?2");
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 2, hash, hlen, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (st_count_add(st, list, addr, sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1)) != STORE_OK) {
			st_done(st, s);
			return -1;
		}
	st_done(st, s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * hide_member - one row of "SELECT id, list, addr_hash, addr, handle,
 * created": its handle hashed and sealed, its join time sealed, its post
 * counts re-keyed
 */
static int
hide_member(struct store *st, sqlite3_stmt *sel)
{
	const char *list = (const char *)sqlite3_column_text(sel, 1);
	const char *handle = (const char *)sqlite3_column_text(sel, 4);
	struct st_place pa, ph, pc;
	sqlite3_stmt *s;
	char *addr = NULL;
	int rc = -1;

	st_place_cols(&pa, sel, "members.addr", 1, 2);
	if (st_opened(st, sel, 3, &addr, &pa) < 0 || addr == NULL)
		return -1;
	s = st_prep(st, "UPDATE members SET handle = ?2, handle_seal = ?3, "
	    "created = ?4 WHERE id = ?1");
	if (s == NULL)
		goto out;
	st_place_cols(&ph, sel, "members.handle_seal", 1, 2);
	st_place_cols(&pc, sel, "members.created", 1, 2);
	sqlite3_bind_int64(s, 1, sqlite3_column_int64(sel, 0));
	if ((handle && st_bind_tagged(st, s, 2, list, "handle", handle) < 0) ||
	    st_bind_sealed(st, s, 3, handle, &ph) < 0 ||
	    st_bind_sealed_int(st, s, 4, sqlite3_column_int64(sel, 5),
	    &pc) < 0) {
		st_done(st, s);
		goto out;
	}
	if (st_step_done(st, s) != STORE_OK)
		goto out;
	rc = hide_counts(st, list, sqlite3_column_blob(sel, 2),
	    sqlite3_column_bytes(sel, 2), addr);
out:
	free(addr);
	return rc;
}

/*
 * hide_key - one row of "SELECT list, handle, secret FROM pseudonym_keys":
 * the handle hashed as in members, the key resealed to that place
 */
static int
hide_key(struct store *st, sqlite3_stmt *sel)
{
	const char *list = (const char *)sqlite3_column_text(sel, 0);
	const char *handle = (const char *)sqlite3_column_text(sel, 1);
	struct st_place old, pl;
	struct buf key;
	sqlite3_stmt *s;
	int rc = -1;

	buf_init(&key, 0);
	st_place(&old, "pseudonym_keys.secret");
	st_place_text(&old, list);
	st_place_text(&old, handle);
	if (st_opened_bytes(st, sel, 2, &key, &old) != 0)
		goto out;
	s = st_prep(st, "UPDATE pseudonym_keys SET handle = ?3, secret = ?4, "
	    "created = created - created % 86400 "
	    "WHERE list = ?1 AND handle = ?2");
	if (s == NULL)
		goto out;
	st_place(&pl, "pseudonym_keys.secret");
	st_place_text(&pl, list);
	st_place_tagged(st, &pl, list, "handle", handle);
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, handle, -1, SQLITE_TRANSIENT);
	if (st_bind_tagged(st, s, 3, list, "handle", handle) < 0 ||
	    st_bind_sealed_bytes(st, s, 4, key.data, key.len, &pl) < 0) {
		st_done(st, s);
		goto out;
	}
	rc = st_step_done(st, s) == STORE_OK ? 0 : -1;
out:
	sodium_memzero(key.data, key.cap);
	buf_free(&key);
	return rc;
}

/* hide_each - fn for every row of sql (its statement); 0 or -1 */
static int
hide_each(struct store *st, const char *sql,
    int (*fn)(struct store *, sqlite3_stmt *))
{
	sqlite3_stmt *sel;
	int rc;

	/* its own statement: fn's updates must not reset this one */
	if (sqlite3_prepare_v2(st->db, sql, -1, &sel, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW)
		if (fn(st, sel) < 0) {
			sqlite3_finalize(sel);
			return -1;
		}
	sqlite3_finalize(sel);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* hide_retired - a retired key's handle as a keyed hash */
static int
hide_retired(struct store *st, sqlite3_stmt *sel)
{
	sqlite3_stmt *s = st_prep(st, "UPDATE pseudonym_retired_keys SET "
	    "handle = ?3 WHERE list = ?1 AND fpr = ?2");
	const char *list = (const char *)sqlite3_column_text(sel, 0);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, (const char *)sqlite3_column_text(sel, 2), -1,
	    SQLITE_TRANSIENT);
	if (st_bind_tagged(st, s, 3, list, "handle",
	    (const char *)sqlite3_column_text(sel, 1)) < 0) {
		st_done(st, s);
		return -1;
	}
	return st_step_done(st, s) == STORE_OK ? 0 : -1;
}

/*
 * st_hide_rows - the migration for what a disk image without the key read
 * beside a member's public handle: the handle (members, pseudonym keys)
 * becomes a keyed hash, sealed where it must be read; the join time is
 * sealed; post counts are re-keyed away from members.addr_hash. Counts of
 * other keys (notes, relays: by hour or day) start again.
 */
int
st_hide_rows(struct store *st, struct buf *err)
{
	if (st_exec(st, "ALTER TABLE members ADD COLUMN handle_seal BLOB;"
	    "CREATE TEMP TABLE old_counts AS SELECT * FROM post_counts;"
	    "DELETE FROM post_counts;") < 0) {
		buf_printf(err, "database: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	if (st->keys == NULL && st_scalar(st, "SELECT (SELECT count(*) FROM "
	    "members) + (SELECT count(*) FROM pseudonym_keys)", NULL, NULL,
	    0) != 0) {
		buf_printf(err, "the database must be migrated with the "
		    "instance's keys");
		return -1;
	}
	if (hide_each(st, "SELECT id, list, addr_hash, addr, handle, created "
	    "FROM members", hide_member) < 0 ||
	    hide_each(st, "SELECT list, handle, secret FROM pseudonym_keys",
	    hide_key) < 0 ||
	    hide_each(st, "SELECT list, handle, fpr FROM "
	    "pseudonym_retired_keys", hide_retired) < 0 ||
	    st_exec(st, "DROP TABLE temp.old_counts") < 0) {
		buf_printf(err, "hiding handles and counts: %s",
		    st->cause[0] ? st->cause : sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}
