/*
 * pgpin_post.c - a post encrypted to the list, on the queue manager's side:
 * the keys the worker needs to open it (the list's secret key, the key
 * registered for the outer From), and afterwards what its signature is
 * worth. The opening itself is pgpin_open.c's, in the sandboxed worker;
 * the queue manager never parses the OpenPGP message.
 *
 * A post signed in clear (multipart/signed, or a cleartext-signed text)
 * goes to the worker too, with the From's registered key alone, when the
 * From has one: the worker checks the signature there as well.
 *
 * A valid signature by the From's registered key counts once: its replay
 * id goes into the list's seen signatures, so the same signed post sent
 * again (or the member's post replayed by someone else) does not. So does
 * the ciphertext of every post opened: the same one sent again is not
 * opened twice on one list (someone else's captured inline-PGP post, which
 * has no protected From to tell it by, would go out as the sender's).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mail/header.h"
#include "mail/listpgp.h"
#include "pipeline/pgpin.h"
#include "pipeline/pgpin_open.h"
#include "util/mem.h"

/* from_addr - the address of the first From: mailbox, "" if none */
static void
from_addr(const struct buf *msg, char *out, size_t len)
{
	struct hdr h;
	char *v, *a, *z;

	*out = 0;
	if (hdr_parse((const char *)msg->data, msg->len, &h) < 0)
		return;
	if ((v = hdr_get_value(&h, "From")) != NULL) {
		a = strrchr(v, '<');
		z = a ? strchr(a, '>') : NULL;
		if (a && z)
			snprintf(out, len, "%.*s", (int)(z - a - 1), a + 1);
		else
			snprintf(out, len, "%s", v);
		if (!addr_valid(out))
			*out = 0;
	}
	free(v);
	hdr_free(&h);
}

/*
 * ci_has - does msg hold s anywhere (ASCII case-insensitive)? util/mem's
 * search: memchr on the needle's '/', the rest compared only there (#15)
 */
static int
ci_has(const struct buf *msg, const char *s)
{
	return mem_has_ci((const char *)msg->data, msg->len, s);
}

/* looks_encrypted - an OpenPGP message, armoured or as a PGP/MIME part */
static int
looks_encrypted(const struct buf *msg)
{
	return pgpin_looks_encrypted(msg->data, msg->len);
}

/* looks_signed - a signature in clear: PGP/MIME or cleartext */
static int
looks_signed(const struct buf *msg)
{
	static const char begin[] = "-----BEGIN PGP SIGNED MESSAGE-----";

	return memmem(msg->data, msg->len, begin, sizeof(begin) - 1) != NULL
	    || ci_has(msg, "application/pgp-signature");
}

/* pgpin_post_free - what pgpin_post_prepare took */
void
pgpin_post_free(struct pgpin_post *pp)
{
	openpgp_secret_free(pp->secret);
	pp->secret = NULL;
	buf_free(&pp->key);
}

/*
 * pgpin_post_prepare - a post that looks encrypted to the list: the list's
 * secret key and the key registered for its outer From, for the worker
 * (pg); one that looks signed in clear: that key alone. 1 prepared
 * (encrypted), 2 prepared (signed in clear), 0 neither (or signed but the
 * From has no key), -1 store error.
 */
int
pgpin_post_prepare(struct pipeline *p, const struct list_cfg *l,
    const struct buf *msg, struct pgpin_post *pp, struct worker_pgp *pg)
{
	long long exp;
	int rc, enc;

	memset(pp, 0, sizeof(*pp));
	buf_init(&pp->key, 0);
	memset(pg, 0, sizeof(*pg));
	if (!(enc = looks_encrypted(msg)) && !looks_signed(msg))
		return 0;
	if (enc && listpgp_get(p->st, l->name, p->cfg->hostname,
	    &pp->secret) < 0)
		return -1;
	from_addr(msg, pp->from, sizeof(pp->from));
	if (*pp->from && (rc = store_member_pgp_get(p->st, l->name, pp->from,
	    &pp->key, &exp)) < 0) {
		pgpin_post_free(pp);
		return -1;
	}
	if (!enc && pp->key.len == 0) {
		pgpin_post_free(pp);
		return 0;	/* nobody's key to check it against */
	}
	pg->secret = pp->secret ? pp->secret->data : NULL;
	pg->secret_len = pp->secret ? pp->secret->len : 0;
	pg->key = pp->key.len ? pp->key.data : NULL;
	pg->key_len = pp->key.len;
	return enc ? 1 : 2;
}

/*
 * pgpin_post_signed - after the worker opened it: a valid signature by the
 * key registered for the From counts once (its replay id recorded on this
 * list), as the member's own key. 0, -1 store error.
 */
int
pgpin_post_signed(struct pipeline *p, const struct list_cfg *l,
    const struct pgpin_post *pp, const struct transform_out *t,
    struct authorship *a)
{
	char id[8 + 2 * OPENPGP_REPLAY_SIZE + 1] = "openpgp:";
	int rc;

	if (t->pgp < 1 || !t->pgp_verified || !*pp->from || a->signed_by)
		return 0;
	sodium_bin2hex(id + 8, sizeof(id) - 8, t->pgp_replay,
	    OPENPGP_REPLAY_SIZE);
	a->present = 1;
	if ((rc = store_signature_seen(p->st, l->name, id)) < 0)
		return -1;
	if (rc) {
		a->replay = 1;
		snprintf(a->why, sizeof(a->why), "this signed post was "
		    "distributed before");
		return 0;
	}
	if ((a->signed_by = strdup(pp->from)) == NULL)
		return -1;
	return 0;
}

/*
 * pgpin_post_sealed_seen - after the worker opened it: record the
 * ciphertext's replay id on this list. 1 it was opened here before (a
 * replay), 0 new, -1 store error.
 */
int
pgpin_post_sealed_seen(struct pipeline *p, const struct list_cfg *l,
    const struct transform_out *t)
{
	char id[7 + 2 * OPENPGP_REPLAY_SIZE + 1] = "sealed:";

	if (t->pgp != 1)
		return 0;
	sodium_bin2hex(id + 7, sizeof(id) - 7, t->pgp_sealed,
	    OPENPGP_REPLAY_SIZE);
	return store_signature_seen(p->st, l->name, id);
}
