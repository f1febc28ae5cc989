/*
 * pgpin_post.c - a post encrypted to the list, on the queue manager's side:
 * the keys the worker needs to open it (the list's secret key, the key
 * registered for the outer From), and afterwards what its signature is
 * worth. The opening itself is pgpin_open.c's, in the sandboxed worker;
 * the queue manager never parses the OpenPGP message.
 *
 * A valid signature by the From's registered key counts once: its replay
 * id goes into the list's seen signatures, so the same signed post sent
 * again (or the member's post replayed by someone else) does not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mail/header.h"
#include "mail/listpgp.h"
#include "pipeline/pgpin.h"

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
 * (pg). 1 prepared, 0 not encrypted, -1 store error.
 */
int
pgpin_post_prepare(struct pipeline *p, const struct list_cfg *l,
    const struct buf *msg, struct pgpin_post *pp, struct worker_pgp *pg)
{
	static const char begin[] = "-----BEGIN PGP MESSAGE-----";
	long long exp;
	int rc;

	memset(pp, 0, sizeof(*pp));
	buf_init(&pp->key, 0);
	memset(pg, 0, sizeof(*pg));
	if (memmem(msg->data, msg->len, begin, sizeof(begin) - 1) == NULL)
		return 0;
	if (listpgp_get(p->st, l->name, p->cfg->hostname, &pp->secret) < 0)
		return -1;
	from_addr(msg, pp->from, sizeof(pp->from));
	if (*pp->from && (rc = store_member_pgp_get(p->st, l->name, pp->from,
	    &pp->key, &exp)) < 0) {
		pgpin_post_free(pp);
		return -1;
	}
	pg->secret = pp->secret->data;
	pg->secret_len = pp->secret->len;
	pg->key = pp->key.len ? pp->key.data : NULL;
	pg->key_len = pp->key.len;
	return 1;
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

	if (t->pgp != 1 || !t->pgp_verified || !*pp->from || a->signed_by)
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
