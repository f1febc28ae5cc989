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
 * or encrypted to the member's own key). Opened here, in the queue
 * manager, which holds the keys; the plain text lives only in memory and
 * in the encrypted spool. The sender's authentication is judged on the
 * mail as it came, never on what is opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "mail/header.h"
#include "mail/openpgp.h"
#include "pipeline/pgpopen.h"
#include "util/log.h"

/* put_crlf - text with every bare LF made CRLF */
static void
put_crlf(struct buf *b, const unsigned char *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '\n' && (i == 0 || t[i - 1] != '\r'))
			buf_putc(b, '\r');
		buf_putc(b, t[i]);
	}
}

/* never taken from inside: who sent it (judged on the outer), their keys */
static const char *const never_inner[] = {
	"From", "Sender", "Autocrypt", "Autocrypt-Gossip",
};

/* is_one_of - f is one of the n names */
static int
is_one_of(const struct hdr_field *f, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hdr_is(f, names[i]))
			return 1;
	return 0;
}

/* content_field - a field of the (encrypted) body, not of the mail */
static int
content_field(const struct hdr_field *f)
{
	return hdr_is(f, "MIME-Version") ||
	    (f->nlen > 8 && strncasecmp(f->start, "Content-", 8) == 0);
}

/* said_inside - the protected headers name this field again */
static int
said_inside(const struct hdr_field *f, const struct hdr *in)
{
	char name[80];

	if (in == NULL || f->nlen >= sizeof(name) ||
	    is_one_of(f, never_inner, 2))
		return 0;
	memcpy(name, f->start, f->nlen);
	name[f->nlen] = 0;
	return hdr_get(in, name) != NULL;
}

/* put_field - a field as it was, ending in CRLF */
static void
put_field(struct buf *b, const struct hdr_field *f)
{
	buf_append(b, f->start, f->len);
	if (f->start[f->len - 1] != '\n')
		buf_puts(b, "\r\n");
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
		    !is_one_of(&h->f[i], never_inner + 2, 2) &&
		    !said_inside(&h->f[i], in))
			put_field(out, &h->f[i]);
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
		if (!is_one_of(&in->f[i], never_inner, 4) &&
		    !hdr_is(&in->f[i], "MIME-Version"))
			put_field(out, &in->f[i]);
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
	put_crlf(&e, inner->data, inner->len);
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

/*
 * pgpopen_private - msg, encrypted to key, opened into out: 1 opened, 0 not
 * an OpenPGP message or not for this key (it goes on as it came), -1 error
 */
int
pgpopen_private(const char *qid, const struct openpgp_secret *key,
    const struct buf *msg, struct buf *out)
{
	struct openpgp_plain pl;
	struct buf payload;
	const char *shape;
	char why[OPENPGP_WHY_SIZE];
	enum result r;
	int rc = 0;

	buf_init(&payload, 0);
	if ((r = openpgp_payload_find(msg->data, msg->len, &payload, &shape))
	    != OK) {
		buf_free(&payload);
		return r == TEMPFAIL ? -1 : 0;
	}
	r = openpgp_decrypt(key, NULL, payload.data, payload.len, &pl, why,
	    sizeof(why));
	buf_free(&payload);
	if (r == TEMPFAIL)
		return -1;
	if (r != OK) {
		log_info("%s qmgr: kind=private encrypted, not opened: %s", qid,
		    why);
		return 0;
	}
	rc = rebuild(msg, shape, &pl.data, out) == 0 ? 1 : 0;
	sodium_memzero(pl.data.data, pl.data.cap);
	openpgp_plain_free(&pl);
	return rc;
}
