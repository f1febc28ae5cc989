/*
 * pgpin_key.c - a key sent by mail (a "key" mail, an Autocrypt header, an
 * attachment, an armoured block: from anyone, strangers included) is
 * parsed where a crash or a loop costs nothing: in the sandboxed worker
 * (worker.c), like a post. The worker's child finds the key (mail/
 * pgpkeyin.c), judges it with librnp, and answers only the minimal key
 * librnp re-exported (one UID, self-signatures only), or the reason it
 * cannot be used. With the member's registered key sent along, it also
 * checks whether that key signed for a new one (pgpreplace_signed_key) and
 * answers the new key, minimal too. The queue manager imports nothing but
 * those re-exported bytes. A child that crashes or runs out of time is
 * tried again by the pool, then its "could not be parsed" is the refusal.
 *
 * The answer travels in a transform_out: pgp the status (PGPIN_KEY_*),
 * pgp_verified the shape the key came in, reason the refusal, rendered
 * the minimal key, part[TP_BODY] the key the old one signed for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/pgpkeyin.h"
#include "pipeline/pgpin_key.h"
#include "pipeline/pgpreplace.h"
#include "pipeline/workpool.h"

/* signed_for - the key the registered key old (binary) signed for, minimal */
static void
signed_for(const struct transform_in *in, const struct worker_pgp *pg,
    struct buf *out)
{
	struct openpgp_key old, key;
	char why[OPENPGP_WHY_SIZE];

	if (pg->key == NULL || openpgp_key_import(pg->key, pg->key_len,
	    OPENPGP_BINARY, &old, why, sizeof(why)) != OK)
		return;
	if (pgpreplace_signed_key(in->msg, in->len, pg->key_of, &old, &key)) {
		if (buf_append(out, key.bin.data, key.bin.len) < 0)
			out->len = 0;
		openpgp_key_free(&key);
	}
	openpgp_key_free(&old);
}

/*
 * pgpin_key_child - in the worker's child: the key pg->key_of sent in the
 * job's mail, as out says (see the header); OK, PERMFAIL out of memory
 */
enum result
pgpin_key_child(struct transform_in *in, struct worker_pgp *pg,
    struct transform_out *out)
{
	struct pgpkeyin kin;
	struct openpgp_key key;
	char why[OPENPGP_WHY_SIZE];
	enum result ir;
	int rc;

	memset(out, 0, sizeof(*out));
	buf_init(&out->rendered, 0);
	for (int i = 0; i < TP_N; i++)
		buf_init(&out->part[i], 0);
	if ((rc = pgpkeyin_find(in->msg, in->len, pg->key_of, &kin)) <= 0) {
		pgpkeyin_free(&kin);
		out->pgp = PGPIN_KEY_NONE;
		if (rc == 0)
			return OK;
		snprintf(out->reason, sizeof(out->reason), "out of memory");
		return PERMFAIL;
	}
	out->pgp_verified = (int)kin.shape;
	ir = openpgp_key_import(kin.key.data, kin.key.len, kin.fmt, &key, why,
	    sizeof(why));
	pgpkeyin_free(&kin);
	if (ir != OK) {
		/* the key's own fault, the same for anyone who sends it */
		out->pgp = PGPIN_KEY_REFUSED;
		snprintf(out->reason, sizeof(out->reason), "%s", why);
		return OK;
	}
	out->pgp = PGPIN_KEY_FOUND;
	rc = buf_append(&out->rendered, key.bin.data, key.bin.len);
	openpgp_key_free(&key);
	if (rc < 0) {
		snprintf(out->reason, sizeof(out->reason), "out of memory");
		return PERMFAIL;
	}
	signed_for(in, pg, &out->part[TP_BODY]);
	return OK;
}

/* refused - f says the key cannot be used, and why */
static int
refused(struct pgpin_found *f, const char *why)
{
	f->status = PGPIN_KEY_REFUSED;
	snprintf(f->why, sizeof(f->why), "%s", why);
	return 0;
}

/* taken - the worker's answer into f; 0, -1 librnp failed here */
static int
taken(const struct transform_out *out, struct pgpin_found *f)
{
	char why[OPENPGP_WHY_SIZE];
	enum result ir;

	f->shape = out->pgp_verified;
	if (out->pgp == PGPIN_KEY_REFUSED)
		return refused(f, out->reason);
	if (out->pgp != PGPIN_KEY_FOUND)
		return 0;
	/* the worker's re-export: the one key material imported here */
	ir = openpgp_key_import(out->rendered.data, out->rendered.len,
	    OPENPGP_BINARY, &f->key, why, sizeof(why));
	if (ir == TEMPFAIL)
		return -1;
	if (ir != OK)
		return refused(f, why);
	f->status = PGPIN_KEY_FOUND;
	if (buf_append(&f->in, out->part[TP_BODY].data,
	    out->part[TP_BODY].len) < 0)
		f->in.len = 0;
	return 0;
}

/* pgpin_key_find - the key addr sent in msg, by the worker (see .h) */
int
pgpin_key_find(struct pipeline *p, const struct list_cfg *l,
    const char *addr, const void *msg, size_t len, const struct buf *old,
    struct pgpin_found *f)
{
	struct transform_in in = { p->cfg, l, p->qid, (const char *)msg, len,
	    p->now, 0, 0, 0 };
	struct worker_pgp pg;
	struct transform_out out;
	enum result r;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	buf_init(&f->in, 0);
	memset(&pg, 0, sizeof(pg));
	pg.key = old && old->len ? old->data : NULL;
	pg.key_len = old && old->len ? old->len : 0;
	pg.key_of = addr;
	r = workpool_transform(&in, &pg, p->keys, &out);
	if (r == TEMPFAIL)
		rc = -1;
	else if (r != OK)
		/* it crashed or ran out of time, even tried again */
		rc = refused(f, out.reason);
	else
		rc = taken(&out, f);
	transform_out_free(&out);
	return rc;
}

/* pgpin_found_free - what pgpin_key_find filled */
void
pgpin_found_free(struct pgpin_found *f)
{
	if (f->status == PGPIN_KEY_FOUND)
		openpgp_key_free(&f->key);
	buf_free(&f->in);
	memset(f, 0, sizeof(*f));
}
