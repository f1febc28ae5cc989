/*
 * store_identity.c - identity: pseudonyms (sealed, unique by skeleton),
 * private-reply handles, anonymous handles while the authorship link is
 * kept, the list's Message-IDs by the ids they replaced, retention, and
 * each pseudonym's OpenPGP key (sealed).
 */
#include "store_int.h"

/*
 * st_pseudonym_give_up - the member's pseudonym (if any) is given up now,
 * before it is renamed or the member goes: its key is kept, nothing else
 */
int
st_pseudonym_give_up(struct store *st, const char *list, const char *addr)
{
	sqlite3_stmt *s = st_prep_member(st, "INSERT OR REPLACE INTO "
	    "pseudonym_given_up (list, pseudo_key, at) SELECT list, "
	    "pseudo_key, ?3 FROM members WHERE list = ?1 AND addr_hash = ?2 "
	    "AND pseudo_key IS NOT NULL", list, addr);
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 3, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(s);
	st_done(st, s);
	/* a step that fails is a failed call: store_failed must say so */
	if (rc != SQLITE_DONE)
		return st_db_fail(st);
	/* its handle: `keys NAME` still finds its key (attack11 F3) */
	s = st_prep_member(st, "INSERT OR REPLACE INTO "
	    "pseudonym_given_up_handle (list, pseudo_key, handle) SELECT list, "
	    "pseudo_key, handle FROM members WHERE list = ?1 AND "
	    "addr_hash = ?2 AND pseudo_key IS NOT NULL AND handle IS NOT NULL",
	    list, addr);
	return s ? st_step_done(st, s) : STORE_ERR;
}

/*
 * store_pseudonym_given_up - was a pseudonym with this skeleton given up
 * on list since `since` (and nobody holds it now)? STORE_EXISTS yes,
 * STORE_NOTFOUND no
 */
int
store_pseudonym_given_up(struct store *st, const char *list,
    const char *skeleton, long long since)
{
	sqlite3_stmt *s = st_prep_tagged(st, "SELECT 1 FROM pseudonym_given_up g "
	    "WHERE g.list = ?1 AND g.pseudo_key = ?2 AND g.at >= ?3 AND NOT "
	    "EXISTS (SELECT 1 FROM members m WHERE m.list = ?1 AND "
	    "m.pseudo_key = ?2)", list, "pseudonym", skeleton);
	int rc;

	if (!s)
		return STORE_ERR;
	sqlite3_bind_int64(s, 3, (sqlite3_int64)since);
	rc = sqlite3_step(s);
	st_done(st, s);
	if (rc == SQLITE_ROW)
		return STORE_EXISTS;
	return rc == SQLITE_DONE ? STORE_NOTFOUND : st_db_fail(st);
}

/*
 * store_member_set_pseudonym - name (sealed) and its skeleton; a handle if
 * the member has none. The handle is public (LIST+p-HANDLE@ in every
 * copy): stored as a keyed hash to find it, sealed to read it, never in
 * clear beside the row's role.
 */
int
store_member_set_pseudonym(struct store *st, const char *list, const char *addr, const char *name,
    const char *skeleton, const char *handle)
{
	sqlite3_stmt *s = st_prep_member(st, "UPDATE members SET pseudonym = ?3, pseudo_key = ?4, "
	    "handle_seal = CASE WHEN handle IS NULL THEN ?6 ELSE "
	    "handle_seal END, handle = coalesce(handle, ?5) "
	    "WHERE list = ?1 AND addr_hash = ?2",
	    list, addr);
	struct st_place pl, ph;
	int rc;

	if (!s)
		return STORE_ERR;
	/* the old name is given up (kept if the UPDATE fails: still held) */
	if (st_pseudonym_give_up(st, list, addr) != STORE_OK) {
		st_done(st, s);
		return STORE_ERR;
	}
	st_place(&pl, "members.pseudonym");
	st_place_hash(st, &pl, list, addr);
	if (st_bind_sealed(st, s, 3, name, &pl) < 0) {
		st_done(st, s);
		return STORE_ERR;
	}
	st_place(&ph, "members.handle_seal");
	st_place_hash(st, &ph, list, addr);
	if (st_bind_tagged(st, s, 4, list, "pseudonym", skeleton) < 0 ||
	    st_bind_tagged(st, s, 5, list, "handle", handle) < 0 ||
	    st_bind_sealed(st, s, 6, handle, &ph) < 0) {
		st_done(st, s);
		return STORE_ERR;
	}
	rc = sqlite3_step(s);
	st_done(st, s);
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
	sqlite3_stmt *s = st_prep_member(st, "UPDATE members SET identity = ?3 WHERE list = ?1 AND addr_hash = ?2",
	    list, addr);
	int rc;

	if (!s)
		return STORE_ERR;
	if (mode)
		sqlite3_bind_text(s, 3, mode, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	st_done(st, s);
	if (rc != SQLITE_DONE)
		return STORE_ERR;
	return sqlite3_changes(st->db) ? STORE_OK : STORE_NOTFOUND;
}

/*
 * store_member_by_handle - the address behind a member's or an anonymous
 * post's handle (caller frees); a member's first, as each is sealed to its
 * own place (members: keyed by the address hash; anon_handles: by handle)
 */
char *
store_member_by_handle(struct store *st, const char *list, const char *handle, long long now)
{
	sqlite3_stmt *s = st_prep_tagged(st, "SELECT addr, list, addr_hash FROM "
	    "members WHERE list = ?1 AND "
	    "handle = ?2", list, "handle", handle);
	char *r;

	if (!s)
		return NULL;
	if ((r = st_one_opened(st, s, "members.addr", 1, 2)) != NULL || store_failed(st))
		return r;
	if ((s = st_prep_bind(st, "SELECT addr, list, handle FROM anon_handles "
	    "WHERE list = ?1 AND "
	    "handle = ?2 AND expires > ?3", "ttl", list, handle, now)) == NULL)
		return NULL;
	return st_one_opened(st, s, "anon_handles.addr", 1, 2);
}

/* store_anon_add - keep the link from an anonymous handle to its author until expires */
int
store_anon_add(struct store *st, const char *list, const char *handle, const char *addr, long long expires)
{
	struct st_place pl;

	st_place(&pl, "anon_handles.addr");
	st_place_text(&pl, list);
	st_place_text(&pl, handle);
	return st_step_sealed(st, st_prep_bind(st, "INSERT INTO anon_handles "
	    "(list, handle, expires, addr) VALUES (?1, ?2, ?3, ?4)", "ttl",
	    list, handle, expires), 4, addr, &pl);
}

/* store_msgid_put - ref (an id as the author's client knows it) stands for list_id on this list */
int
store_msgid_put(struct store *st, const char *list, const char *ref, const char *list_id, long long now)
{
	sqlite3_stmt *s = st_prep_tagged(st, "INSERT OR IGNORE INTO msgids "
	    "(list, ref_hash, list_id, at) VALUES (?1, ?2, ?3, ?4)", list,
	    "msgid", ref);

	if (!s)
		return STORE_ERR;
	sqlite3_bind_text(s, 3, list_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	return st_step_done(st, s);
}

/* store_msgid_map - the list's id for ref, or STORE_NOTFOUND */
int
store_msgid_map(struct store *st, const char *list, const char *ref, char *out, size_t n)
{
	sqlite3_stmt *s = st_prep_tagged(st, "SELECT list_id FROM msgids WHERE "
	    "list = ?1 AND ref_hash = ?2", list, "msgid", ref);
	int rc;

	if (!s)
		return STORE_ERR;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(s, 0));
	st_done(st, s);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NOTFOUND : st_db_fail(st);
}

/* store_identity_expire - erase what retention rules say is over: anonymous links, old archive posts */
int
store_identity_expire(struct store *st, const char *list, long long now, long long archive_before)
{
	sqlite3_stmt *s = st_prep_bind(st, "DELETE FROM anon_handles WHERE "
	    "list = ?1 AND expires <= ?2", "tl", list, now);

	if (!s)
		return STORE_ERR;
	if (st_step_done(st, s) != STORE_OK)
		return STORE_ERR;
	if (archive_before <= 0)
		return STORE_OK;
	/* a post the next digest still takes is kept until it is taken */
	if ((s = st_prep_bind(st, "DELETE FROM archive WHERE list = ?1 AND at "
	    "< ?2 AND n NOT IN (SELECT r.n FROM digest_archived r JOIN "
	    "digest_posts d ON d.id = r.id WHERE d.list = ?1)", "tl", list,
	    archive_before)) == NULL)
		return STORE_ERR;
	return st_step_done(st, s);
}

/* store_member_by_pseudonym - the address behind a pseudonym (by its skeleton), caller frees */
char *
store_member_by_pseudonym(struct store *st, const char *list, const char *skeleton)
{
	sqlite3_stmt *s = st_prep_tagged(st, "SELECT addr, list, addr_hash FROM "
	    "members WHERE list = ?1 AND pseudo_key = ?2", list, "pseudonym",
	    skeleton);

	if (!s)
		return NULL;
	return st_one_opened(st, s, "members.addr", 1, 2);
}

/*
 * key_row - the sealed key of the one row sql finds for list (?1) and
 * value tagged tag (?2), opened into out; a seal that does not open is
 * an error, never a missing key
 */
static int
key_row(struct store *st, const char *sql, const char *list,
    const char *tag, const char *value, struct buf *out)
{
	sqlite3_stmt *s = st_prep_tagged(st, sql, list, tag, value);
	struct st_place pl;
	int rc;

	if (!s)
		return STORE_ERR;
	if ((rc = st_step_row(st, s)) != STORE_OK)
		return rc;
	/* sealed to its place: the table, the column, list and handle */
	st_place_cols(&pl, s, "pseudonym_keys.secret", 1, 2);
	rc = st_opened_bytes(st, s, 0, out, &pl) == 0 ? STORE_OK : STORE_ERR;
	st_done(st, s);
	return rc;
}

/* store_pseudonym_key_get - the pseudonym's secret key, opened into out */
int
store_pseudonym_key_get(struct store *st, const char *list,
    const char *handle, struct buf *out)
{
	return key_row(st, "SELECT secret, list, handle FROM pseudonym_keys "
	    "WHERE list = ?1 AND handle = ?2", list, "handle", handle, out);
}

/*
 * bind_handle_sealed - ?1 the list, ?2 the handle's keyed hash and col the
 * data sealed at pl; on failure s is done and the call failed (`what`
 * where SQLite gives no cause): 0 or STORE_ERR
 */
static int
bind_handle_sealed(struct store *st, sqlite3_stmt *s, const char *list,
    const char *handle, int col, const void *data, size_t len,
    const struct st_place *pl, const char *what)
{
	sqlite3_bind_text(s, 1, list, -1, SQLITE_TRANSIENT);
	if (st_bind_tagged(st, s, 2, list, "handle", handle) < 0 ||
	    st_bind_sealed_bytes(st, s, col, data, len, pl) < 0) {
		st_done(st, s);
		if (!st->failed)
			st_fail(st, what);
		return STORE_ERR;
	}
	return 0;
}

/*
 * key_write - a pseudonym key, sealed, by the statement sql (?1 list, ?2
 * handle, ?3 sealed key; with fpr ?4 fingerprint, ?5 time); STORE_EXISTS
 * on a constraint (the handle has one), STORE_NOTFOUND if no row changed
 */
static int
key_write(struct store *st, const char *sql, const char *list,
    const char *handle, const char *fpr, const void *secret, size_t len,
    long long created)
{
	sqlite3_stmt *s;
	struct st_place pl;
	int rc;

	if ((s = st_prep(st, sql)) == NULL)
		return STORE_ERR;
	/* the handle as members.handle keeps it: a keyed hash, not in clear */
	st_place(&pl, "pseudonym_keys.secret");
	st_place_text(&pl, list);
	st_place_tagged(st, &pl, list, "handle", handle);
	if (bind_handle_sealed(st, s, list, handle, 3, secret, len, &pl,
	    "sealing a pseudonym key failed") < 0)
		return STORE_ERR;
	if (fpr) {	/* a new key: its fingerprint and time (an update has none) */
		sqlite3_bind_text(s, 4, fpr, -1, SQLITE_TRANSIENT);
		/* the day only: the public fingerprint must not date a join */
		sqlite3_bind_int64(s, 5, (sqlite3_int64)(created -
		    created % 86400));
	}
	rc = sqlite3_step(s);
	st_done(st, s);
	if (rc == SQLITE_CONSTRAINT)
		return STORE_EXISTS;
	if (rc != SQLITE_DONE)
		return st_db_fail(st);
	return sqlite3_changes(st->db) ? STORE_OK : STORE_NOTFOUND;
}

/* store_pseudonym_key_put - a new pseudonym key, sealed; never replaces one */
int
store_pseudonym_key_put(struct store *st, const char *list,
    const char *handle, const char *fpr, const void *secret, size_t len,
    long long created)
{
	return key_write(st, "INSERT INTO pseudonym_keys (list, handle, "
	    "secret, fpr, created) VALUES (?1, ?2, ?3, ?4, ?5)", list, handle,
	    fpr, secret, len, created);
}

/*
 * store_pseudonym_key_by_name - the secret key of the pseudonym whose
 * skeleton this is, opened into out, without the member's address ever
 * being read; STORE_NOTFOUND: no such pseudonym, or it has no key yet
 */
int
store_pseudonym_key_by_name(struct store *st, const char *list,
    const char *skeleton, struct buf *out)
{
	int rc = key_row(st, "SELECT k.secret, k.list, k.handle FROM "
	    "members m JOIN pseudonym_keys k ON k.list = m.list AND "
	    "k.handle = m.handle "
	    "WHERE m.list = ?1 AND m.pseudo_key = ?2", list, "pseudonym",
	    skeleton, out);

	if (rc != STORE_NOTFOUND)
		return rc;
	/*
	 * given up and held by nobody: its key all the same, so that the
	 * answer does not tell a member that its member left (attack11 F3)
	 */
	return key_row(st, "SELECT k.secret, k.list, k.handle FROM "
	    "pseudonym_given_up_handle g JOIN pseudonym_keys k ON k.list = "
	    "g.list AND k.handle = g.handle WHERE g.list = ?1 AND "
	    "g.pseudo_key = ?2 AND NOT EXISTS (SELECT 1 FROM members m WHERE "
	    "m.list = ?1 AND m.pseudo_key = ?2)", list, "pseudonym", skeleton,
	    out);
}

/*
 * pseudonym_cols - the name and the handle of s's row ("pseudonym,
 * handle_seal, list, addr_hash"), opened: STORE_NOTFOUND if it has no
 * handle (it never posted under one). Finishes s.
 */
static int
pseudonym_cols(struct store *st, sqlite3_stmt *s, char *name, size_t n,
    char *handle, size_t hn)
{
	struct st_place pp, ph;
	char *pn = NULL, *h = NULL;
	int rc = STORE_ERR;

	st_place_cols(&pp, s, "members.pseudonym", 2, 2);
	st_place_cols(&ph, s, "members.handle_seal", 2, 2);
	if (st_opened(st, s, 0, &pn, &pp) == 0 &&
	    st_opened(st, s, 1, &h, &ph) == 0)
		rc = pn && h && *h ? STORE_OK : STORE_NOTFOUND;
	st_done(st, s);
	if (rc == STORE_OK && (snprintf(name, n, "%s", pn) >= (int)n ||
	    snprintf(handle, hn, "%s", h) >= (int)hn)) {
		st_fail(st, "a pseudonym or its handle is too long");
		rc = STORE_ERR;
	}
	free(pn);
	free(h);
	return rc;
}

/*
 * store_pseudonym_by_name - the name (as its member set it) and the
 * handle of the pseudonym whose skeleton this is, without the member's
 * address ever being read: what a pseudonym key's UID is made of, so that
 * nothing reads them back from a UID's words; STORE_NOTFOUND: no such
 * pseudonym, or no handle yet
 */
int
store_pseudonym_by_name(struct store *st, const char *list,
    const char *skeleton, char *name, size_t n, char *handle, size_t hn)
{
	sqlite3_stmt *s = st_prep_tagged(st, "SELECT pseudonym, handle_seal, "
	    "list, addr_hash FROM members WHERE list = ?1 AND pseudo_key = ?2",
	    list, "pseudonym", skeleton);
	int rc;

	if (!s)
		return STORE_ERR;
	if ((rc = st_step_row(st, s)) != STORE_OK)
		return rc;
	return pseudonym_cols(st, s, name, n, handle, hn);
}

/* store_pseudonym_key_update - the same key, re-sealed (a new UID) */
int
store_pseudonym_key_update(struct store *st, const char *list,
    const char *handle, const void *secret, size_t len)
{
	return key_write(st, "UPDATE pseudonym_keys SET secret = ?3 "
	    "WHERE list = ?1 AND handle = ?2", list, handle, NULL, secret, len,
	    0);
}

/* retire - the old public key of a rotated pseudonym key, sealed */
static int
retire(struct store *st, const char *list, const char *handle,
    const char *fpr, const void *pub, size_t len, long long now)
{
	sqlite3_stmt *s;
	struct st_place pl;
	int rc;

	s = st_prep(st, "INSERT INTO pseudonym_retired_keys (list, handle, "
	    "fpr, public, retired) VALUES (?1, ?2, ?3, ?4, ?5)");
	if (s == NULL)
		return STORE_ERR;
	st_place(&pl, "pseudonym_retired_keys.public");
	st_place_text(&pl, list);
	st_place_text(&pl, fpr);
	sqlite3_bind_text(s, 3, fpr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)now);
	if (bind_handle_sealed(st, s, list, handle, 4, pub, len, &pl,
	    "sealing a retired pseudonym key failed") < 0)
		return STORE_ERR;
	rc = sqlite3_step(s);
	st_done(st, s);
	return rc == SQLITE_DONE ? STORE_OK : st_db_fail(st);
}

/*
 * store_pseudonym_key_rotate - the pseudonym's new key (fpr, secret) in
 * place of its old one, whose public key (oldfpr, oldpub) is kept to
 * verify old posts; in the caller's transaction
 */
int
store_pseudonym_key_rotate(struct store *st, const char *list,
    const char *handle, const char *fpr, const void *secret, size_t len,
    const char *oldfpr, const void *oldpub, size_t oldlen, long long now)
{
	int rc;

	if ((rc = retire(st, list, handle, oldfpr, oldpub, oldlen, now))
	    != STORE_OK)
		return rc;
	return key_write(st, "UPDATE pseudonym_keys SET secret = ?3, "
	    "fpr = ?4, created = ?5 WHERE list = ?1 AND handle = ?2", list,
	    handle, fpr, secret, len, now);
}

/*
 * retired_rows - fn for each row of sql (public, list, fpr, retired), ?1
 * the list and ?2 `value` tagged as `tag`; the number visited or STORE_ERR
 */
static int
retired_rows(struct store *st, const char *sql, const char *list,
    const char *tag, const char *value, store_retired_fn *fn, void *arg)
{
	sqlite3_stmt *s = st_prep_tagged(st, sql, list, tag, value);
	struct st_place pl;
	struct buf pub;
	int n = 0, rc;

	if (!s)
		return STORE_ERR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		buf_init(&pub, 0);
		st_place_cols(&pl, s, "pseudonym_retired_keys.public", 1, 2);
		if (st_opened_bytes(st, s, 0, &pub, &pl) != 0) {
			buf_free(&pub);
			st_done(st, s);
			return STORE_ERR;
		}
		fn((const char *)sqlite3_column_text(s, 2),
		    sqlite3_column_int64(s, 3), &pub, arg);
		buf_free(&pub);
		n++;
	}
	st_done(st, s);
	return rc == SQLITE_DONE ? n : st_db_fail(st);
}

/*
 * store_pseudonym_retired_each - fn for each retired key of the pseudonym
 * (newest first): its fingerprint, when it was retired, its public key
 * (opened); the number visited or STORE_ERR
 */
int
store_pseudonym_retired_each(struct store *st, const char *list,
    const char *handle, store_retired_fn *fn, void *arg)
{
	return retired_rows(st, "SELECT public, list, fpr, retired "
	    "FROM pseudonym_retired_keys WHERE list = ?1 AND handle = ?2 "
	    "ORDER BY retired DESC, fpr", list, "handle", handle, fn, arg);
}

/*
 * store_pseudonym_retired_given_up - store_pseudonym_retired_each for the
 * pseudonym with this skeleton given up and held by nobody: `keys NAME`
 * answers the same after its member left (attack11 F3)
 */
int
store_pseudonym_retired_given_up(struct store *st, const char *list,
    const char *skeleton, store_retired_fn *fn, void *arg)
{
	return retired_rows(st, "SELECT r.public, r.list, r.fpr, "
	    "r.retired FROM pseudonym_given_up_handle g JOIN "
	    "pseudonym_retired_keys r ON r.list = g.list AND r.handle = "
	    "g.handle WHERE g.list = ?1 AND g.pseudo_key = ?2 AND NOT EXISTS "
	    "(SELECT 1 FROM members m WHERE m.list = ?1 AND m.pseudo_key = ?2) "
	    "ORDER BY r.retired DESC, r.fpr", list, "pseudonym", skeleton, fn,
	    arg);
}
