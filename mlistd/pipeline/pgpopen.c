/*
 * pgpopen.c - private mail encrypted to a pseudonym's own key (the key of
 * its Autocrypt header), opened so that the member behind it can read it.
 *
 * The protected headers inside (Subject, To, ...) are the mail's: the
 * outer Subject "..." is dropped; an inner From or Sender is a claim nobody
 * checked and never taken.
 *
 * The relay (relay.c) passes it on like any private reply: composed anew,
 * leak-guarded, signed, and delivered as the member's copies are (clear,
 * or encrypted to the member's own key). The sender's authentication is
 * judged on the mail as it came, never on what is opened.
 *
 * Opened in the sandboxed worker (worker.c), never in the queue manager:
 * the OpenPGP packets are anyone's (the pseudonym's address and key are in
 * every post it made), and a crash or a slow packet in the queue manager
 * would stall every list. The queue manager looks for nothing but the
 * marks of an encrypted mail, then sends the mail and the pseudonym's
 * secret key to a child for that one job (pgpopen_child); the child
 * answers the opened mail or why not. librnp 0.16 cannot hand out a
 * session key (rnp.h has no call for it), so the queue manager cannot
 * decrypt the PKESK alone and leave the SEIPD to the child: the child
 * gets the key. What a child taken over learns is the secret key of the
 * one pseudonym the mail was sent to, which opens only mail to that
 * pseudonym - mail the hostile sender wrote or could have captured - and
 * signs as it; the child has no network, no file and one answer, read by
 * the queue manager as a mail to that pseudonym's member only. A child
 * that crashes is tried again by the pool, then the mail is refused and
 * quarantined; one that runs out of time is refused at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "mail/header.h"
#include "mail/openpgp.h"
#include "pipeline/pgpin_open.h"
#include "pipeline/pgpopen.h"
#include "pipeline/workpool.h"
#include "util/log.h"

/* never taken from inside: who sent it (judged on the outer), their keys */
static const char *const never_inner[] = {
	"From", "Sender", "Autocrypt", "Autocrypt-Gossip",
};

/* content_field - a field of the (encrypted) body, not of the mail */
static int
content_field(const struct hdr_field *f)
{
	return hdr_is(f, "MIME-Version") ||
	    (f->nlen > 8 && strncasecmp(f->start, "Content-", 8) == 0);
}

/*
 * outer_fields - the mail's own header fields, less its body's, a hidden
 * Subject and those the protected headers say again (in: NULL, none)
 */
static void
outer_fields(const struct hdr *h, const struct hdr *in, struct buf *out)
{
	for (int i = 0; i < h->n; i++)
		if (!content_field(&h->f[i]) &&
		    !hdr_hidden_subject(&h->f[i]) &&
		    !hdr_is_any(&h->f[i], never_inner + 2, 2) &&
		    /* the protected headers name this field again */
		    !hdr_said_in(in, &h->f[i], never_inner, 2))
			hdr_put(out, &h->f[i]);
}

/*
 * entity - the opened MIME entity: its header fields (the protected ones,
 * RFC draft-autocrypt-lamps-protected-headers, among them: Subject, To,
 * ...; never From or Sender), then its body
 */
static void
entity(const struct hdr *in, const struct buf *e, struct buf *out)
{
	size_t bo;

	for (int i = 0; i < in->n; i++)
		if (!hdr_is_any(&in->f[i], never_inner, 4) &&
		    !hdr_is(&in->f[i], "MIME-Version"))
			hdr_put(out, &in->f[i]);
	buf_puts(out, "\r\n");
	bo = in->body_off == 0 && in->n > 0 ? e->len : in->body_off;
	if (bo < e->len)
		buf_append(out, e->data + bo, e->len - bo);
}

/*
 * rebuild - the mail's own header fields, then what was encrypted: a MIME
 * entity (PGP/MIME), whose protected Subject replaces the outer "...", or,
 * for inline PGP, plain text
 */
static int
rebuild(const struct buf *msg, const char *shape, const struct buf *inner,
    struct buf *out)
{
	struct hdr h, in;
	struct buf e;
	int inl = strcmp(shape, "inline") == 0;

	if (hdr_parse((const char *)msg->data, msg->len, &h) < 0)
		return -1;
	buf_init(&e, 0);
	buf_put_crlf(&e, inner->data, inner->len);
	if (!inl && hdr_parse((const char *)e.data, e.len, &in) < 0) {
		hdr_free(&h);
		sodium_memzero(e.data, e.cap);
		buf_free(&e);
		return -1;
	}
	outer_fields(&h, inl ? NULL : &in, out);
	hdr_free(&h);
	buf_puts(out, "MIME-Version: 1.0\r\n");
	if (inl) {
		buf_puts(out, "Content-Type: text/plain; charset=\"utf-8\"\r\n"
		    "\r\n");
		buf_append(out, e.data, e.len);
	} else {
		entity(&in, &e, out);
		hdr_free(&in);
	}
	sodium_memzero(e.data, e.cap);
	buf_free(&e);
	return 0;
}

/* out_init - an empty answer */
static void
out_init(struct transform_out *out)
{
	memset(out, 0, sizeof(*out));
	buf_init(&out->rendered, 0);
	for (int i = 0; i < TP_N; i++)
		buf_init(&out->part[i], 0);
}

/*
 * opened - the decrypted pl rebuilt around the job's own header into
 * out->rendered (pgp PGPOPEN_OPENED; left PGPOPEN_NOT if it cannot be)
 */
static enum result
opened(const struct transform_in *in, const char *shape,
    struct openpgp_plain *pl, struct transform_out *out)
{
	struct buf msg = { (unsigned char *)in->msg, in->len, in->len, 0 };

	if (rebuild(&msg, shape, &pl->data, &out->rendered) == 0)
		out->pgp = PGPOPEN_OPENED;
	else
		snprintf(out->reason, sizeof(out->reason), "its header "
		    "cannot be read");
	sodium_memzero(pl->data.data, pl->data.cap);
	openpgp_plain_free(pl);
	return OK;
}

/*
 * pgpopen_child - in the worker's child: the job's mail opened with the
 * secret key sent with it (wiped once used). out: pgp PGPOPEN_OPENED and
 * rendered the opened mail, or PGPOPEN_NOT and reason why not. OK;
 * PERMFAIL out of memory.
 */
enum result
pgpopen_child(struct transform_in *in, struct worker_pgp *pg,
    struct transform_out *out)
{
	struct openpgp_secret key = { (unsigned char *)pg->secret,
	    pg->secret_len };
	struct openpgp_plain pl;
	struct buf payload;
	const char *shape;
	enum result r;

	out_init(out);
	out->pgp = PGPOPEN_NOT;
	buf_init(&payload, 0);
	r = openpgp_payload_find(in->msg, in->len, &payload, &shape);
	if (r == OK && key.data != NULL)
		r = openpgp_decrypt(&key, NULL, payload.data, payload.len, &pl,
		    out->reason, sizeof(out->reason));
	else if (r == OK || r == PERMFAIL)
		snprintf(out->reason, sizeof(out->reason), "not an OpenPGP "
		    "message");
	buf_free(&payload);
	if (key.data != NULL)
		sodium_memzero(key.data, key.len);
	pg->secret = NULL;
	if (r == OK)
		return opened(in, shape, &pl, out);
	if (r == TEMPFAIL && *out->reason == 0)
		snprintf(out->reason, sizeof(out->reason), "out of memory");
	return r == TEMPFAIL ? PERMFAIL : OK;
}

/*
 * pgpopen_private - msg, perhaps encrypted to the pseudonym's key, sent to
 * the worker with the key to be opened. OK: *got 1 and out the opened
 * mail, or 0 (not an OpenPGP message or not for this key: it goes on as
 * it came); TEMPFAIL: the worker is not done (workpool_waiting()) or
 * failed, why in reason; PERMFAIL: the child crashed (tried again) or ran
 * out of time, why in reason - the mail cannot be opened safely.
 */
enum result
pgpopen_private(struct pipeline *p, const struct list_cfg *l,
    const struct openpgp_secret *key, const struct buf *msg,
    struct buf *out, int *got, char *reason, size_t rlen)
{
	struct transform_in in = { p->cfg, l, p->qid, (const char *)msg->data,
	    msg->len, p->now, 0, 0, 0, 0 };
	struct worker_pgp pg;
	struct transform_out t;
	enum result r;

	*got = 0;
	if (!pgpin_looks_encrypted(msg->data, msg->len))
		return OK;	/* nothing to open: no child for it */
	memset(&pg, 0, sizeof(pg));
	pg.secret = key->data;
	pg.secret_len = key->len;
	pg.private_open = 1;
	r = workpool_transform(&in, &pg, p->keys, &t);
	snprintf(reason, rlen, "%s", t.reason);
	if (r == OK && t.pgp == PGPOPEN_OPENED) {
		if (buf_append(out, t.rendered.data, t.rendered.len) < 0) {
			snprintf(reason, rlen, "out of memory");
			r = TEMPFAIL;
		} else
			*got = 1;
	} else if (r == OK)
		log_info("%s qmgr: kind=private encrypted, not opened: %s",
		    p->qid, t.reason);
	if (t.rendered.data)
		sodium_memzero(t.rendered.data, t.rendered.cap);
	transform_out_free(&t);
	return r;
}
