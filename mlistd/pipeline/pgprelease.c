/*
 * pgprelease.c - a pseudonymous copy held (for moderation, or for its
 * author's confirmation) while its pseudonym's key was rotated, signed
 * again by the new key when it is released (#18).
 *
 * A held copy is finished when it is held: multipart/signed by the key
 * the pseudonym had then, dated when it arrived. Released after a
 * rotation, it would go out signed by a key the members were told is
 * superseded (and revoked), and its encrypted copies, which delivery signs
 * with the pseudonym's current key as of the copy's Date:, would carry a
 * signature older than the key that made it: invalid in every client. So
 * such a copy is composed back (pgpsign_unwrap), dated now and signed by
 * the current key, the author's key and DKIM, as a new copy in the spool;
 * its Date: and its signatures' time are the release time. A copy still
 * signed by the current key goes out as it was held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "delivery/distribute.h"
#include "mail/author.h"
#include "mail/openpgp_pseud.h"
#include "mail/pgpsigned.h"
#include "pipeline/identity.h"
#include "pipeline/pgprelease.h"
#include "pipeline/pgpsign.h"
#include "pipeline/sign.h"
#include "util/log.h"

/*
 * signed_by - does the copy's OpenPGP signature verify with key? 1 yes
 * (or it has none to check: a copy from before #18), 0 no, -1 the key
 * does not export
 */
static int
signed_by(const struct openpgp_secret *key, const struct buf *copy)
{
	char why[OPENPGP_WHY_SIZE];
	struct pgpsigned ps;
	struct buf pub;
	int rc;

	buf_init(&pub, 0);
	if (openpgp_pseud_minimal(key, 1, &pub, why, sizeof(why)) != OK) {
		buf_free(&pub);
		return -1;
	}
	rc = pgpsigned_check(copy->data, copy->len, pub.data, pub.len, &ps,
	    why, sizeof(why));
	buf_free(&pub);
	return rc >= 0;
}

/* author_of - the member behind the pseudonym address addr, or NULL */
static char *
author_of(struct pipeline *p, const struct list_cfg *l, const char *addr)
{
	char pre[200], handle[64];
	const char *h = addr, *at;
	size_t k;

	k = (size_t)snprintf(pre, sizeof(pre), "%s+p-", l->name);
	if (strncmp(h, pre, k) != 0 || (at = strchr(h + k, '@')) == NULL ||
	    (size_t)(at - h - k) >= sizeof(handle))
		return NULL;
	(void)snprintf(handle, sizeof(handle), "%.*s", (int)(at - h - k),
	    h + k);
	return store_member_by_handle(p->st, l->name, handle, p->now);
}

/*
 * resign - the composed copy in plain signed by key at date, then by the
 * author's key and DKIM, as the sign stage does (post.c post_sign)
 */
static int
resign(struct pipeline *p, const struct list_cfg *l,
    const struct openpgp_secret *key, const char *addr, const char *author,
    const struct ident *id, long long date, struct buf *plain)
{
	char why[OPENPGP_WHY_SIZE];

	if (pgpsign_wrap(key, addr, date, plain, why, sizeof(why)) != OK) {
		store_fail_cause(p->st, why);
		return -1;
	}
	return sign_author_as(p, l, author, id, plain) < 0 ||
	    sign_copy(p, l, plain) < 0 ? -1 : 0;
}

/*
 * as_held - whom the held copy's author signature states (author.c's w=
 * and n=) into id, so that the copy signed again states the same: its
 * From, which stays, shows that name
 */
static void
as_held(const struct buf *copy, struct ident *id)
{
	char kind[32];

	memset(id, 0, sizeof(*id));
	/* a name too long for display was no pseudonym the store gave */
	if (author_claim((const char *)copy->data, copy->len, kind,
	    sizeof(kind), id->display, sizeof(id->display)) == 0 &&
	    strcmp(kind, AUTHOR_KIND_PSEUDONYM) == 0 && *id->display)
		id->mode = ID_PSEUDONYM;
}

/*
 * again - copy signed anew at date, written as out: 0 done, 1 it cannot
 * be (its member gone, or not as the list wrote it: it goes out as it
 * was, signed by the old key, logged), -1 store or key errors
 */
static int
again(struct pipeline *p, const struct list_cfg *l,
    const struct openpgp_secret *key, const char *addr, struct buf *copy,
    char out[QID_LEN + 1])
{
	long long date = p->release ? p->release : p->now;
	const char *cannot = NULL;
	struct ident id;
	struct buf plain;
	char *author;
	int rc = -1;

	buf_init(&plain, 0);
	as_held(copy, &id);
	if ((author = author_of(p, l, addr)) == NULL)
		cannot = "the member behind the pseudonym is gone";
	else if (pgpsign_unwrap(copy->data, copy->len, date, &plain) < 0)
		cannot = "the held copy is not as the list signed it";
	else if (resign(p, l, key, addr, author, &id, date, &plain) == 0 &&
	    distribute_write(p, plain.data, plain.len, l->name, out) == 0) {
		buf_free(copy);
		*copy = plain;
		buf_init(&plain, 0);
		rc = 0;
	}
	if (cannot != NULL) {
		log_warn("%s pgprelease: list=%s held copy not signed again: "
		    "%s; it goes out signed by the pseudonym's old key",
		    p->qid ? p->qid : "NOQUEUE", l->name, cannot);
		rc = 1;
	}
	if (author != NULL) {
		sodium_memzero(author, strlen(author));
		free(author);
	}
	buf_free(&plain);
	return rc;
}

/*
 * pgprelease_held - held copy id (its bytes in copy) as it is to go to
 * the members: 1 signed again, out a new copy (copy its bytes, the held
 * one dropped when the transaction commits); 0 as it was (out is id);
 * -1 store or key errors (the store's cause)
 */
int
pgprelease_held(struct pipeline *p, const struct list_cfg *l,
    const char *id, struct buf *copy, char out[QID_LEN + 1])
{
	struct openpgp_secret *key = NULL;
	char addr[400];
	int rc;

	(void)snprintf(out, QID_LEN + 1, "%s", id);
	rc = sign_pseudonym_key_of(p->st, l, p->cfg->hostname, copy->data,
	    copy->len, &key, addr, sizeof(addr));
	if (rc <= 0)
		return rc;
	if ((rc = signed_by(key, copy)) == 1)
		rc = 0;		/* signed by the key it has now: as it was */
	else if (rc < 0)
		store_fail_cause(p->st, "the pseudonym's key does not export");
	else if ((rc = again(p, l, key, addr, copy, out)) == 0) {
		/* a rotation while it waited */
		rc = pipeline_drop_later(p, id) < 0 ? -1 : 1;
		log_info("%s pgprelease: list=%s held copy %s signed again by "
		    "the pseudonym's current key out=%s", p->qid ? p->qid :
		    "NOQUEUE", l->name, id, out);
	} else if (rc == 1)
		rc = 0;
	openpgp_secret_free(key);
	return rc;
}
