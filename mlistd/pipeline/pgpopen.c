/*
 * pgpopen.c - private mail encrypted to a pseudonym's own key (the key of
 * its Autocrypt header), opened so that the member behind it can read it.
 *
 * The relay (relay.c) passes it on like any private reply: composed anew,
 * leak-guarded, signed, and delivered as the member's copies are (clear,
 * or encrypted to the member's own key). Opened here, in the queue
 * manager, which holds the keys; the plain text lives only in memory and
 * in the encrypted spool. The sender's authentication is judged on the
 * mail as it came, never on what is opened.
 */
#include <stdio.h>
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

/* outer_field - a field of the mail itself, not of its (encrypted) body */
static int
outer_field(const struct hdr_field *f)
{
	return !hdr_is(f, "MIME-Version") &&
	    !(f->nlen > 8 && strncasecmp(f->start, "Content-", 8) == 0);
}

/*
 * rebuild - the mail's own header fields, then what was encrypted: a MIME
 * entity (PGP/MIME) or, for inline PGP, plain text
 */
static int
rebuild(const struct buf *msg, const char *shape, const struct buf *inner,
    struct buf *out)
{
	struct hdr h;

	if (hdr_parse((const char *)msg->data, msg->len, &h) < 0)
		return -1;
	for (int i = 0; i < h.n; i++)
		if (outer_field(&h.f[i])) {
			buf_append(out, h.f[i].start, h.f[i].len);
			if (h.f[i].start[h.f[i].len - 1] != '\n')
				buf_puts(out, "\r\n");
		}
	hdr_free(&h);
	buf_puts(out, "MIME-Version: 1.0\r\n");
	if (strcmp(shape, "inline") == 0)
		buf_puts(out, "Content-Type: text/plain; charset=\"utf-8\"\r\n"
		    "\r\n");
	put_crlf(out, inner->data, inner->len);
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
