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
 * A key mail encrypted to the list's key (PGP/MIME, RFC 3156) is opened
 * there first, with the list's secret key sent for that job alone
 * (pgpin_open.c, as a post): the key is looked for in what it opened, and
 * a signature by the registered key inside the encryption - the OpenPGP
 * message signed and encrypted in one (§6.2), or a multipart/signed inside
 * (§6.1), its protected To naming LIST-request - counts as the old key's
 * signature for the key found, exactly as a multipart/signed in clear
 * does. The opened mail goes back too: -request reads its commands there
 * (pgpin_request_open), since the Subject is then a protected header.
 *
 * The answer travels in a transform_out: pgp the status (PGPIN_KEY_*),
 * pgp_verified the shape the key came in, reason the refusal, rendered
 * the minimal key, part[TP_BODY] the key the old one signed for, remote 1
 * and part[TP_SCAN] the opened mail when it was encrypted to the list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mail/header.h"
#include "mail/listpgp.h"
#include "mail/pgpkeyin.h"
#include "pipeline/pgpin_key.h"
#include "pipeline/pgpin_open.h"
#include "pipeline/pgpreplace.h"
#include "pipeline/pgpwhy.h"
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
 * open_first - a key mail encrypted to the list's key, opened with the
 * key sent with the job (wiped once used): in then points to the opened
 * mail (kept in out's TP_SCAN). 1 opened (*signed: by the registered key
 * inside the encryption), 0 not encrypted, -1 cannot be opened (why)
 */
static int
open_first(struct transform_in *in, struct worker_pgp *pg,
    struct transform_out *out, const char *la, int *signed_)
{
	struct pgpin_opened r;
	struct buf *o = &out->part[TP_SCAN];
	int rc;

	*signed_ = 0;
	if (pg->secret == NULL)
		return 0;
	rc = pgpin_open(in->msg, in->len, la, pg->secret,
	    pg->secret_len, pg->key, pg->key_len, o, &r);
	sodium_memzero((void *)pg->secret, pg->secret_len);
	pg->secret = NULL;
	if (rc < 0)
		pgpwhy_code(r.why, REASON_PGP_UNOPENED, out->reason,
		    sizeof(out->reason));
	if (rc != 1)
		return rc < 0 ? -1 : 0;
	*signed_ = r.verified;
	out->remote = 1;
	in->msg = (const char *)o->data;
	in->len = o->len;
	return 1;
}

/*
 * body_has_token - the token in the opened mail's body: what was
 * encrypted and signed (the outer header, which anyone can write, is
 * not)
 */
static int
body_has_token(const struct transform_in *in, const char *token_hash)
{
	struct hdr h;
	size_t bo;

	if (hdr_parse(in->msg, in->len, &h) < 0)
		return 0;
	bo = h.body_off;
	hdr_free(&h);
	return bo > 0 && bo <= in->len &&
	    pgpreplace_token_in(in->msg + bo, in->len - bo, token_hash);
}

/*
 * answer_child - in the worker's child: was the job's mail, an answer to
 * a token, signed by pg->key with the token inside what was signed? In
 * clear (multipart/signed) or inside the encryption to the list (then
 * opened: its words are read there). out: pgp_verified 1 yes; remote 1
 * and part[TP_SCAN] the opened mail.
 */
static enum result
answer_child(struct transform_in *in, struct worker_pgp *pg,
    struct transform_out *out)
{
	struct openpgp_key k;
	char why[OPENPGP_WHY_SIZE];
	int rc, signed_;

	if ((rc = open_first(in, pg, out, NULL, &signed_)) < 0)
		return OK;	/* nothing it says can be read: not signed */
	if (rc == 1) {
		out->pgp_verified = signed_ && body_has_token(in,
		    pg->token_hash);
		return OK;
	}
	if (pg->key != NULL && openpgp_key_import(pg->key, pg->key_len,
	    OPENPGP_BINARY, &k, why, sizeof(why)) == OK) {
		out->pgp_verified = pgpreplace_signed_answer(in->msg, in->len,
		    "", &k, pg->token_hash);
		openpgp_key_free(&k);
	}
	return OK;
}

/*
 * pgpin_key_child - in the worker's child: the key pg->key_of sent in the
 * job's mail, as out says (see the header), or an answer's signature
 * (answer_child); OK, PERMFAIL out of memory
 */
enum result
pgpin_key_child(struct transform_in *in, struct worker_pgp *pg,
    struct transform_out *out)
{
	struct pgpkeyin kin;
	struct openpgp_key key;
	struct transform_in outer = *in;
	char why[OPENPGP_WHY_SIZE], la[600] = "";
	enum result ir;
	int rc, signed_;

	memset(out, 0, sizeof(*out));
	buf_init(&out->rendered, 0);
	for (int i = 0; i < TP_N; i++)
		buf_init(&out->part[i], 0);
	if (pg->token_hash != NULL)
		return answer_child(in, pg, out);
	if (in->list && in->cfg)
		snprintf(la, sizeof(la), "%s-request@%s", in->list->name,
		    in->cfg->hostname);
	if (open_first(in, pg, out, *la ? la : NULL, &signed_) < 0) {
		out->pgp = PGPIN_KEY_REFUSED;
		return OK;
	}
	rc = pgpkeyin_find(in->msg, in->len, pg->key_of, &kin);
	if (rc == 0 && out->remote) {
		/* none inside: the outer Autocrypt header (K-9), unsigned */
		pgpkeyin_free(&kin);
		*in = outer;
		signed_ = 0;
		rc = pgpkeyin_find(in->msg, in->len, pg->key_of, &kin);
	}
	if (rc == 0 && kin.toobig) {
		/* gpg --export's whole key (photos, others' signatures) */
		pgpkeyin_free(&kin);
		out->pgp = PGPIN_KEY_REFUSED;
		snprintf(out->reason, sizeof(out->reason), "the key is larger "
		    "than %d KiB", PGPKEYIN_KEY_MAX / 1024);
		return OK;
	}
	if (rc <= 0) {
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
	if (signed_) {
		/* signed inside the encryption, over all of it: the key too */
		if (buf_append(&out->part[TP_BODY], out->rendered.data,
		    out->rendered.len) < 0)
			out->part[TP_BODY].len = 0;
	} else
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

/*
 * job - the worker's key job over msg, the list's secret key sent along
 * when the mail looks encrypted; out filled; the pool's result
 */
static enum result
job(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const char *token_hash, const void *msg, size_t len,
    const struct buf *old, int open, struct transform_out *out)
{
	struct transform_in in = { p->cfg, l, p->qid, (const char *)msg, len,
	    p->now, 0, 0, 0, 0 };
	struct openpgp_secret *sec = NULL;
	struct worker_pgp pg;
	enum result r;

	memset(&pg, 0, sizeof(pg));
	memset(out, 0, sizeof(*out));
	if (open && pgpin_looks_encrypted(msg, len) &&
	    listpgp_get(p->st, l->name, p->cfg->hostname, &sec) < 0)
		return TEMPFAIL;
	pg.secret = sec ? sec->data : NULL;
	pg.secret_len = sec ? sec->len : 0;
	pg.key = old && old->len ? old->data : NULL;
	pg.key_len = old && old->len ? old->len : 0;
	pg.key_of = addr;
	pg.token_hash = token_hash;
	r = workpool_transform(&in, &pg, p->keys, out);
	openpgp_secret_free(sec);
	return r;
}

/* pgpin_key_find - the key addr sent in msg, by the worker (see .h) */
int
pgpin_key_find(struct pipeline *p, const struct list_cfg *l,
    const char *addr, const void *msg, size_t len, const struct buf *old,
    int open, struct pgpin_found *f)
{
	struct transform_out out;
	enum result r;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	buf_init(&f->in, 0);
	r = job(p, l, addr, NULL, msg, len, old, open, &out);
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

/*
 * pgpin_request_open - a mail to LIST-request encrypted to the list's key,
 * opened by the worker into opened (its commands are read there; the key
 * and its signatures are judged again on the mail as it came). 1 opened,
 * 0 not encrypted to the list (or it could not be opened), -1 not yet or
 * error.
 */
int
pgpin_request_open(struct pipeline *p, const struct list_cfg *l,
    const struct buf *msg, struct buf *opened)
{
	struct transform_out out;
	enum result r;
	int rc = 0;

	if (!pgpin_looks_encrypted(msg->data, msg->len))
		return 0;
	r = job(p, l, "", NULL, msg->data, msg->len, NULL, 1, &out);
	if (r == TEMPFAIL)
		rc = -1;
	else if (r == OK && out.remote == 1)
		rc = buf_append(opened, out.part[TP_SCAN].data,
		    out.part[TP_SCAN].len) < 0 ? -1 : 1;
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

/*
 * pgpin_answer_signed_by - did key (binary, may be empty) sign this answer
 * to the token of hash th, the token inside what it signed (checked in
 * the worker)? 1 yes, 0 no; opened gets the mail as the worker opened it
 * when it was encrypted to the list. -1 not yet or error.
 */
int
pgpin_answer_signed_by(struct pipeline *p, const struct list_cfg *l,
    const struct buf *key, const char *th, const struct buf *msg,
    struct buf *opened)
{
	struct transform_out out;
	enum result r;
	int rc, enc = pgpin_looks_encrypted(msg->data, msg->len);

	if (key->len == 0 && !enc)
		return 0;
	r = job(p, l, NULL, th, msg->data, msg->len, key, enc, &out);
	rc = r == TEMPFAIL ? -1 : 0;
	if (r == OK) {
		rc = out.pgp_verified ? 1 : 0;
		if (out.remote == 1 && buf_append(opened,
		    out.part[TP_SCAN].data, out.part[TP_SCAN].len) < 0)
			rc = -1;
	}
	transform_out_free(&out);
	return rc;
}

/*
 * pgpin_answer_signed - the same for addr's registered key and the token
 * itself: a vote or a moderator's decision signed by its holder
 */
int
pgpin_answer_signed(struct pipeline *p, const struct list_cfg *l,
    const char *addr, const char *token, const struct buf *msg,
    struct buf *opened)
{
	char th[PGPREPLACE_TOKEN_HASH_HEX];
	struct buf key;
	int rc;

	buf_init(&key, 0);
	if ((rc = store_member_pgp_get(p->st, l->name, addr, &key,
	    NULL)) >= 0) {
		pgpreplace_token_hash(token, th);
		rc = pgpin_answer_signed_by(p, l, &key, th, msg, opened);
	}
	buf_free(&key);
	return rc;
}
