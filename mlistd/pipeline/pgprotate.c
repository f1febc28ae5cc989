/*
 * pgprotate.c - a pseudonym's OpenPGP key replaced (#18; mlistctl keys
 * LIST --pseudonym NAME --rotate, through the daemon).
 *
 * The new key has the pseudonym's address and a UID in the list's words of
 * the moment ([from-author], as its posts' From), and is certified by the
 * old key and by the list's (openpgp_pseud_rotate), so a reader who trusts
 * either can accept it. The pseudonym is found by the name and handle the
 * store keeps, never by the old UID's words. The old key is revoked by
 * itself as "superseded" (a soft revocation: what it signed before stays
 * valid), and its revoked
 * public key stays in the store to verify the posts it signed; it is
 * published wherever the old key was (the announcement, keys NAME,
 * mlistctl keys --pseudonym). The members are told in a post from the
 * pseudonym's address: the notice pseudonym-key-rotated with the new key
 * and the revoked old key attached, multipart/signed by the old key and
 * the list's key in one signature block (a client that accepted the old
 * key shows it as good), its Autocrypt header carrying the new key, so
 * that K-9, FairEmail and Delta Chat switch to it. From then on every
 * post is signed by the new key.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "delivery/distribute.h"
#include "mail/listpgp.h"
#include "mail/notices.h"
#include "mail/openpgp_pseud.h"
#include "mail/pseudonym.h"
#include "pipeline/fromname.h"
#include "pipeline/pgprotate.h"
#include "pipeline/pgpsign.h"
#include "pipeline/render.h"
#include "pipeline/transform.h"
#include "pipeline/sign.h"
#include "util/log.h"

/* the keys of one rotation, freed together */
struct rotation {
	struct openpgp_secret	*old, *list, *fresh;
	char			 uid[600], name[400], handle[64], addr[400];
	char			 oldfpr[OPENPGP_FPR_SIZE];
	char			 fpr[OPENPGP_FPR_SIZE];
	struct buf		 revoked;	/* old public key, revoked */
};

/* rotation_free - wipe every key of it */
static void
rotation_free(struct rotation *r)
{
	openpgp_secret_free(r->old);
	openpgp_secret_free(r->list);
	openpgp_secret_free(r->fresh);
	buf_free(&r->revoked);
}

/*
 * find_named - the name and handle of the pseudonym called name, as the
 * store keeps them: 1, 0 none, -1 error. Never the words of its key's
 * UID: a key made before the list reworded [from-author] has the old
 * words, and the words are the admin's, not a format to parse.
 */
static int
find_named(struct store *st, const struct list_cfg *l, const char *name,
    struct rotation *r)
{
	char sk[SKELETON_MAX];

	/* a name that cannot be a pseudonym is nobody's */
	if (pseudonym_key(name, sk, sizeof(sk)) < 0)
		return 0;
	switch (store_pseudonym_by_name(st, l->name, sk, r->name,
	    sizeof(r->name), r->handle, sizeof(r->handle))) {
	case STORE_OK:
		return 1;
	case STORE_NOTFOUND:
		return 0;
	default:
		return -1;
	}
}

/*
 * find_old - the pseudonym called name, its key (found by its handle)
 * and the UID it gets now: 1, 0 none (or no key yet), -1 error
 */
static int
find_old(struct pipeline *p, const struct list_cfg *l, const char *name,
    struct rotation *r)
{
	int rc;

	if ((rc = find_named(p->st, l, name, r)) <= 0)
		return rc;
	if ((rc = sign_pseudonym_key_by_handle(p->st, l, r->handle, &r->old))
	    <= 0)
		return rc;
	if (snprintf(r->addr, sizeof(r->addr), "%s+p-%s@%s", l->name,
	    r->handle, p->cfg->hostname) >= (int)sizeof(r->addr) ||
	    sign_pseudonym_uid(p->cfg, l, r->name, r->handle, r->uid,
	    sizeof(r->uid)) < 0 ||
	    openpgp_list_fingerprint(r->old, r->oldfpr) != OK) {
		store_fail_cause(p->st, "the pseudonym's UID cannot be made");
		return -1;
	}
	return 1;
}

/*
 * store_new - the new key in place of the old, the old public key kept,
 * revoked as superseded by the new one
 */
static int
store_new(struct pipeline *p, const struct list_cfg *l, struct rotation *r)
{
	char why[OPENPGP_WHY_SIZE];

	if (openpgp_list_fingerprint(r->fresh, r->fpr) != OK)
		return -1;
	if (openpgp_pseud_revoked(r->old, r->fpr, (uint32_t)p->now, 1,
	    &r->revoked, why, sizeof(why)) != OK) {
		store_fail_cause(p->st, why);
		return -1;
	}
	return store_pseudonym_key_rotate(p->st, l->name, r->handle, r->fpr,
	    r->fresh->data, r->fresh->len, r->oldfpr, r->revoked.data,
	    r->revoked.len, p->now) == STORE_OK ? 0 : -1;
}

/* ascii_clean - 7bit, no white space before a line end: signs as it is */
static int
ascii_clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s > 126 || ((*s == ' ' || *s == '\t') &&
		    (s[1] == '\n' || s[1] == 0)))
			return 0;
	return 1;
}

/* text_part - the notice's words, 7bit when they allow, else base64 */
static void
text_part(const char *body, struct buf *m)
{
	struct buf crlf;

	buf_init(&crlf, 0);
	(void)render_text(&crlf, body);
	buf_puts(m, "Content-Type: text/plain; charset=utf-8\r\n");
	if (ascii_clean(body)) {
		buf_puts(m, "Content-Transfer-Encoding: 7bit\r\n\r\n");
		buf_append(m, crlf.data, crlf.len);
	} else {
		buf_puts(m, "Content-Transfer-Encoding: base64\r\n\r\n");
		buf_base64(m, crlf.data, crlf.len);
	}
	buf_free(&crlf);
}

/* from_field - From: the pseudonym's own address, as its posts are */
static void
from_field(const struct pipeline *p, const struct list_cfg *l,
    const struct rotation *r, struct buf *m)
{
	char phrase[500];
	struct buf enc;

	fromname_author(p->cfg, l, r->name, phrase, sizeof(phrase));
	buf_init(&enc, 0);
	(void)notice_subject(phrase, &enc);
	if (strcmp(buf_cstr(&enc), phrase) == 0 && !strpbrk(phrase, "\"\\"))
		buf_printf(m, "From: \"%s\" <%s>\r\n", phrase, r->addr);
	else
		buf_printf(m, "From: %s <%s>\r\n", buf_cstr(&enc), r->addr);
	buf_free(&enc);
}

/* key_part - an armoured key as an attachment, named by its fingerprint */
static void
key_part(struct buf *m, const char *bnd, const char *fpr, const char *tag,
    const struct buf *key)
{
	buf_printf(m, "--%s\r\nContent-Type: application/pgp-keys; "
	    "name=\"OpenPGP_0x%s%s.asc\"\r\nContent-Disposition: attachment; "
	    "filename=\"OpenPGP_0x%s%s.asc\"\r\n\r\n", bnd, fpr + 24, tag,
	    fpr + 24, tag);
	buf_put_crlf(m, key->data, key->len);
}

/*
 * announcement - the members' notice with the new key and the revoked old
 * key attached, unsigned
 */
static int
announcement(struct pipeline *p, const struct list_cfg *l,
    const struct rotation *r, struct buf *m)
{
	const char *vars[] = { "pseudonym", r->name, "old_fpr", r->oldfpr,
	    "new_fpr", r->fpr, NULL };
	const char *host = p->cfg->hostname;
	char why[OPENPGP_WHY_SIZE], rnd[33], addr[400], msgid[100];
	char bnd[RENDER_BOUNDARY];
	unsigned char rb[16];
	struct buf subject, body, subj, key;
	/* a post's List-* set: it goes to the members as a post does */
	struct render_head h = { .to = addr, .reply_to = addr,
	    .date = p->now, .msgid = msgid, .cfg = p->cfg, .list = l };
	int rc = -1;

	buf_init(&subject, 0);
	buf_init(&body, 0);
	buf_init(&subj, 0);
	buf_init(&key, 0);
	randombytes_buf(rb, sizeof(rb));
	sodium_bin2hex(rnd, sizeof(rnd), rb, sizeof(rb));
	snprintf(addr, sizeof(addr), "%s@%s", l->name, host);
	snprintf(msgid, sizeof(msgid), "<key.%s@%s>", rnd, host);
	render_boundary("key", bnd, sizeof(bnd));
	if (distribute_render(p, l, NOTICE_PSEUDONYM_KEY_ROTATED, vars,
	    &subject, &body) < 0 ||
	    openpgp_pseud_minimal(r->fresh, 1, &key, why, sizeof(why)) != OK ||
	    notice_subject(buf_cstr(&subject), &subj) < 0)
		goto out;
	h.subject = buf_cstr(&subj);
	from_field(p, l, r, m);
	if (render_head(m, &h) < 0 || render_mixed(m, bnd) < 0 ||
	    buf_printf(m, "--%s\r\n", bnd) < 0)
		goto out;
	text_part(buf_cstr(&body), m);
	key_part(m, bnd, r->fpr, "", &key);
	key_part(m, bnd, r->oldfpr, "-revoked", &r->revoked);
	buf_printf(m, "--%s--\r\n", bnd);
	rc = 0;
out:
	buf_free(&subject);
	buf_free(&body);
	buf_free(&subj);
	buf_free(&key);
	return rc;
}

/* announce - signed by the old key and the list's, DKIM, to every member */
static int
announce(struct pipeline *p, const struct list_cfg *l,
    const struct rotation *r, int *count)
{
	struct pgpsign_keys k = { r->old, r->list, r->fresh };
	char why[OPENPGP_WHY_SIZE], id[QID_LEN + 1];
	struct buf m;
	int rc = -1;

	buf_init(&m, 0);
	if (announcement(p, l, r, &m) < 0)
		store_fail_cause(p->st, "the announcement was not written");
	else if (pgpsign_wrap_keys(&k, r->addr, p->now, &m, why, sizeof(why))
	    != OK)
		store_fail_cause(p->st, why);
	else if (sign_copy(p, l, &m) == 0 &&
	    distribute_write(p, m.data, m.len, l->name, id) == 0)
		rc = distribute_members(p, l, id, count);
	buf_free(&m);
	return rc;
}

/*
 * pgprotate_pseudonym - the pseudonym called name gets a new key, and the
 * members are told: 1 done (the fingerprints in oldfpr and fpr), 0 no
 * pseudonym of that name has a key, -1 failed (store_errmsg says why)
 */
int
pgprotate_pseudonym(struct pipeline *p, const struct list_cfg *l,
    const char *name, char oldfpr[OPENPGP_FPR_SIZE],
    char fpr[OPENPGP_FPR_SIZE])
{
	struct rotation r;
	char why[OPENPGP_WHY_SIZE];
	int rc, count = 0;

	memset(&r, 0, sizeof(r));
	buf_init(&r.revoked, 0);
	if ((rc = find_old(p, l, name, &r)) <= 0) {
		rotation_free(&r);
		return rc;
	}
	rc = -1;
	if (listpgp_get(p->st, l->name, p->cfg->hostname, &r.list) < 0)
		goto out;
	/* the UID in the list's words now: a rewording since the old key */
	if (openpgp_pseud_rotate(r.old, r.list, r.uid, (uint32_t)p->now,
	    &r.fresh, why, sizeof(why)) != OK) {
		store_fail_cause(p->st, why);
		goto out;
	}
	if (store_new(p, l, &r) < 0 || announce(p, l, &r, &count) < 0)
		goto out;
	/* no fingerprint: it would tie this line to one pseudonym */
	log_info("NOQUEUE pgprotate: list=%s pseudonym key rotated "
	    "announced=%d", l->name, count);
	(void)snprintf(oldfpr, OPENPGP_FPR_SIZE, "%s", r.oldfpr);
	(void)snprintf(fpr, OPENPGP_FPR_SIZE, "%s", r.fpr);
	rc = 1;
out:
	rotation_free(&r);
	return rc;
}

/*
 * pgprotate_retired_each - fn for each retired key of the pseudonym called
 * name (armoured, newest first): the number, 0 also for no such
 * pseudonym, -1 store errors
 */
int
pgprotate_retired_each(struct store *st, const struct list_cfg *l,
    const char *name, void (*fn)(const char *, long long,
    const struct buf *, void *), void *arg)
{
	struct rotation r;
	char sk[SKELETON_MAX];
	int rc;

	memset(&r, 0, sizeof(r));
	buf_init(&r.revoked, 0);
	if ((rc = find_named(st, l, name, &r)) > 0)
		rc = store_pseudonym_retired_each(st, l->name, r.handle, fn,
		    arg);
	else if (rc == 0 && pseudonym_key(name, sk, sizeof(sk)) == 0)
		/* its member left: answered as before (attack11 F3) */
		rc = store_pseudonym_retired_given_up(st, l->name, sk, fn,
		    arg);
	rotation_free(&r);
	return rc < 0 ? -1 : rc;
}
