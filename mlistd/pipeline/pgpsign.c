/*
 * pgpsign.c - a pseudonymous copy made RFC 3156 multipart/signed by the
 * pseudonym's own key (#18), so that ordinary mail clients can tell that
 * two posts came from the same pseudonym and nobody else posted under it.
 *
 * The composed copy (identity.c: the list's header fields, then the body
 * entity with its MIME-Version and Content-* fields) becomes
 *
 *   header fields, Autocrypt: addr=FROM; keydata=MINIMAL KEY
 *   Content-Type: multipart/signed; micalg=pgp-sha256; protocol=...
 *     part 1 (signed): multipart/mixed; protected-headers="v1", carrying
 *       a copy of the header fields (Subject, From, Date, List-* ...) as
 *       Thunderbird writes them, then the body entity as one part, footer
 *       and prefix included (they are in the entity and the Subject)
 *     part 2: application/pgp-signature, detached, SHA256
 *
 * List-Unsubscribe and List-Unsubscribe-Post are left out of the signed
 * headers: a one-click copy replaces them per member (deliver.c) after
 * signing, and only the outer header fields change, never the signed
 * bytes. The signature's time is the copy's Date:.
 *
 * A rotated pseudonym key is announced the same way (pgprotate.c), signed
 * by the old key and the list's in one signature block, its Autocrypt
 * header carrying the new key.
 *
 * A notice that hands out keys (the answer to "keys" and "keys NAME" at
 * LIST-request) is made multipart/signed by the list's own key in the same
 * way (pgpsign_list), so that a reader can tell the keys in it come from
 * the list; it keeps its own Autocrypt header, and comes From the list
 * key's address (Reply-To LIST-request), as the encrypted copies do.
 *
 * pgpsign_unwrap is the inverse, for a copy held while its pseudonym's
 * key was rotated: the composed copy back, re-dated, to be signed again
 * by the new key at its release (pgprelease.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "mail/header.h"
#include "mail/listpgp.h"
#include "mail/notices.h"
#include "mail/openpgp_pseud.h"
#include "pipeline/pgpsign.h"
#include "pipeline/passrand.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/utc.h"

#define PGPSIGN_BOUNDARY	24	/* hex digits of a random boundary */

/* content_field - a field of the body entity, not of the message */
static int
content_field(const struct hdr_field *f)
{
	return hdr_is(f, "MIME-Version") ||
	    (f->nlen > 8 && strncasecmp(f->start, "Content-", 8) == 0);
}

/* per_member - a field deliver.c may rewrite for each member */
static int
per_member(const struct hdr_field *f)
{
	return hdr_is(f, "List-Unsubscribe") ||
	    hdr_is(f, "List-Unsubscribe-Post");
}

/* new_boundary - a random boundary no body can contain by chance */
static void
new_boundary(char *out, size_t n, const char *tag)
{
	unsigned char r[PGPSIGN_BOUNDARY / 2];
	char hex[PGPSIGN_BOUNDARY + 1];

	passrand_buf("pgpsign-boundary", r, sizeof(r));	/* each pass's */
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	(void)snprintf(out, n, "=_%s_%s", tag, hex);
}

/*
 * signed_part - the entity the signature covers, without the CRLF that
 * belongs to the boundary after it (RFC 3156 section 5)
 */
static void
signed_part(const char *msg, size_t len, const struct hdr *h, struct buf *b)
{
	char bnd[64];
	int i;

	new_boundary(bnd, sizeof(bnd), "mix");
	buf_printf(b, "Content-Type: multipart/mixed; boundary=\"%s\";\r\n"
	    " protected-headers=\"v1\"\r\n", bnd);
	for (i = 0; i < h->n; i++)
		if (!content_field(&h->f[i]) && !per_member(&h->f[i]) &&
		    !hdr_is(&h->f[i], "Autocrypt"))
			hdr_put(b, &h->f[i]);
	buf_printf(b, "\r\n--%s\r\n", bnd);
	for (i = 0; i < h->n; i++)
		if (content_field(&h->f[i]) &&
		    !hdr_is(&h->f[i], "MIME-Version"))
			hdr_put(b, &h->f[i]);
	buf_puts(b, "\r\n");
	buf_append(b, msg + h->body_off, len - h->body_off);
	if (len > h->body_off && msg[len - 1] != '\n')
		buf_puts(b, "\r\n");
	buf_printf(b, "--%s--", bnd);
}

/* autocrypt - the Autocrypt header (Autocrypt 1.1), keydata folded */
static void
autocrypt(struct buf *b, const char *addr, const struct buf *keydata)
{
	buf_printf(b, "Autocrypt: addr=%s; keydata=", addr);
	for (size_t i = 0; i < keydata->len; i += 72) {
		buf_puts(b, "\r\n ");
		buf_append(b, keydata->data + i,
		    keydata->len - i < 72 ? keydata->len - i : 72);
	}
	buf_puts(b, "\r\n");
}

/* assemble - outer header, the signed part, the signature */
static void
assemble(struct buf *out, const struct hdr *h, const char *addr,
    const struct buf *keydata, const struct buf *part, const struct buf *sig)
{
	char bnd[64];

	new_boundary(bnd, sizeof(bnd), "sig");
	for (int i = 0; i < h->n; i++)
		if (!content_field(&h->f[i]))
			hdr_put(out, &h->f[i]);
	if (addr != NULL)
		autocrypt(out, addr, keydata);
	buf_printf(out, "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/signed; micalg=pgp-sha256;\r\n"
	    " protocol=\"application/pgp-signature\";\r\n"
	    " boundary=\"%s\"\r\n\r\n"
	    "This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n"
	    "--%s\r\n", bnd, bnd);
	buf_append(out, part->data, part->len);
	buf_printf(out, "\r\n--%s\r\n"
	    "Content-Type: application/pgp-signature;"
	    " name=\"signature.asc\"\r\n"
	    "Content-Description: OpenPGP digital signature\r\n"
	    "Content-Disposition: attachment; filename=\"signature.asc\"\r\n"
	    "\r\n", bnd);
	buf_put_crlf(out, sig->data, sig->len);
	if (sig->len && sig->data[sig->len - 1] != '\n')
		buf_puts(out, "\r\n");
	buf_printf(out, "--%s--\r\n", bnd);
}

/*
 * pgpsign_wrap_keys - msg becomes multipart/signed by k->signer (and by
 * k->also if not NULL), dated date, with an Autocrypt header for addr
 * carrying k->autocrypt's minimal key (NULL: the signer's; addr NULL: no
 * Autocrypt header, msg has its own). msg is left as it was unless OK.
 */
enum result
pgpsign_wrap_keys(const struct pgpsign_keys *k, const char *addr,
    long long date, struct buf *msg, char *why, size_t whylen)
{
	struct buf part, sig, keydata, out;
	struct hdr h;
	enum result r;

	if (hdr_parse((const char *)msg->data, msg->len, &h) < 0) {
		(void)snprintf(why, whylen, "the copy's header does not parse");
		return TEMPFAIL;
	}
	buf_init(&part, 0);
	buf_init(&sig, 0);
	buf_init(&keydata, 0);
	buf_init(&out, 0);
	signed_part((const char *)msg->data, msg->len, &h, &part);
	r = openpgp_pseud_sign_also(k->signer, k->also, part.data, part.len,
	    (uint32_t)date, &sig, why, whylen);
	if (r == OK && addr != NULL)
		r = openpgp_pseud_minimal(k->autocrypt ? k->autocrypt :
		    k->signer, 0, &keydata, why, whylen);
	if (r == OK) {
		assemble(&out, &h, addr, &keydata, &part, &sig);
		buf_free(msg);
		*msg = out;
		buf_init(&out, 0);
	}
	hdr_free(&h);
	buf_free(&part);
	buf_free(&sig);
	buf_free(&keydata);
	buf_free(&out);
	return r;
}

/*
 * pgpsign_wrap - msg (a composed pseudonymous copy) becomes multipart/signed
 * by key, dated date, with an Autocrypt header for addr (the From address).
 * msg is left as it was unless OK.
 */
enum result
pgpsign_wrap(const struct openpgp_secret *key, const char *addr,
    long long date, struct buf *msg, char *why, size_t whylen)
{
	struct pgpsign_keys k = { key, NULL, NULL };

	return pgpsign_wrap_keys(&k, addr, date, msg, why, whylen);
}

/* boundary_of - the quoted boundary="..." of a Content-Type we wrote */
static int
boundary_of(const struct hdr *h, char *out, size_t n)
{
	char *v = hdr_get_value(h, "Content-Type"), *b, *e;
	int rc = -1;

	if (v != NULL && (b = strstr(v, "boundary=\"")) != NULL &&
	    (e = strchr(b + 10, '"')) != NULL && e > b + 10 &&
	    (size_t)(e - b - 10) < n) {
		(void)snprintf(out, n, "%.*s", (int)(e - b - 10), b + 10);
		rc = 0;
	}
	free(v);
	return rc;
}

/*
 * entity_of - the body entity inside the signed part (from its
 * multipart/mixed's one part to the closing delimiter): offset and length
 * in msg, -1 if it is not as signed_part wrote it
 */
static int
entity_of(const char *msg, size_t len, const struct hdr *h, size_t *off,
    size_t *n)
{
	char bnd[64], mix[64], delim[80], close[80];
	struct hdr in;
	long a, b;
	int rc = -1;

	if (boundary_of(h, bnd, sizeof(bnd)) < 0)
		return -1;
	(void)snprintf(delim, sizeof(delim), "\r\n--%s\r\n", bnd);
	(void)snprintf(close, sizeof(close), "\r\n--%s\r\n", bnd);
	if ((a = mem_find(msg, len, h->body_off, delim)) < 0)
		return -1;
	a += (long)strlen(delim);
	if ((b = mem_find(msg, len, (size_t)a, close)) < 0 ||
	    hdr_parse(msg + a, (size_t)(b - a), &in) < 0)
		return -1;
	if (boundary_of(&in, mix, sizeof(mix)) == 0) {
		(void)snprintf(delim, sizeof(delim), "--%s\r\n", mix);
		(void)snprintf(close, sizeof(close), "--%s--", mix);
		*off = (size_t)a + in.body_off + strlen(delim);
		if ((size_t)(b - a) >= in.body_off + strlen(delim) +
		    strlen(close) && memcmp(msg + a + in.body_off, delim,
		    strlen(delim)) == 0 && memcmp(msg + b - strlen(close),
		    close, strlen(close)) == 0) {
			*n = (size_t)b - strlen(close) - *off;
			rc = 0;
		}
	}
	hdr_free(&in);
	return rc;
}

/* wrapped_field - a field pgpsign_wrap or the signatures after it added */
static int
wrapped_field(const struct hdr_field *f)
{
	return content_field(f) || hdr_is(f, "Autocrypt") ||
	    hdr_is(f, "DKIM-Signature") || hdr_is(f, "Mlist-Author-Signature");
}

/*
 * pgpsign_unwrap - the composed copy inside msg (made by pgpsign_wrap,
 * then signed by the author's key and DKIM) into out, without those
 * signatures and its Date: made date: 0, -1 msg is not such a copy
 */
int
pgpsign_unwrap(const void *msg, size_t len, long long date, struct buf *out)
{
	const char *m = msg;
	char when[UTC_DATE_MAX];
	struct hdr h;
	size_t off, n;
	int rc = -1;

	if (utc_date(date, when, sizeof(when)) < 0 ||
	    hdr_parse(m, len, &h) < 0)
		return -1;
	if (entity_of(m, len, &h, &off, &n) == 0) {
		for (int i = 0; i < h.n; i++)
			if (hdr_is(&h.f[i], "Date"))
				buf_printf(out, "Date: %s\r\n", when);
			else if (!wrapped_field(&h.f[i]))
				hdr_put(out, &h.f[i]);
		buf_puts(out, "MIME-Version: 1.0\r\n");
		buf_append(out, m + off, n);
		rc = 0;
	}
	hdr_free(&h);
	return rc;
}

/*
 * key_from - the notice From the list key's own address (its UID: a
 * client shows a signature as good only when the From is the signer's),
 * answers going to LIST-request unless it names a Reply-To already
 */
static int
key_from(struct pipeline *p, const struct list_cfg *l, struct buf *msg)
{
	const char *host = p->cfg->hostname;
	struct buf out;
	struct hdr h;
	int reply;

	if (hdr_parse((const char *)msg->data, msg->len, &h) < 0)
		return -1;
	reply = hdr_get(&h, "Reply-To") != NULL;
	buf_init(&out, 0);
	for (int i = 0; i < h.n; i++) {
		if (!hdr_is(&h.f[i], "From")) {
			hdr_put(&out, &h.f[i]);
			continue;
		}
		notice_from(l->notices, p->cfg->notices, PIECE_FROM_LIST,
		    &(struct notice_ctx){ l->name, host }, NULL, "", &out);
		if (!reply)
			buf_printf(&out, "Reply-To: <%s-request@%s>\r\n",
			    l->name, host);
	}
	buf_puts(&out, "\r\n");
	buf_append(&out, msg->data + h.body_off, msg->len - h.body_off);
	hdr_free(&h);
	buf_free(msg);
	*msg = out;
	return 0;
}

/*
 * pgpsign_list - a notice from the list becomes multipart/signed by the
 * list's OpenPGP key, dated as the notice is (its release time, or now),
 * From the key's address: 0, -1 errors (the store's cause)
 */
int
pgpsign_list(struct pipeline *p, const struct list_cfg *l, struct buf *msg)
{
	struct openpgp_secret *key;
	char why[OPENPGP_WHY_SIZE];
	struct pgpsign_keys k = { NULL, NULL, NULL };
	enum result r;

	if (key_from(p, l, msg) < 0) {
		store_fail_cause(p->st, "the answer's header does not parse");
		return -1;
	}
	if (listpgp_get(p->st, l->name, p->cfg->hostname, &key) < 0)
		return -1;
	k.signer = key;
	r = pgpsign_wrap_keys(&k, NULL, p->release ? p->release : p->now, msg,
	    why, sizeof(why));
	openpgp_secret_free(key);
	if (r != OK) {
		log_err("%s sign: list=%s the answer's OpenPGP signature: %s",
		    p->qid ? p->qid : "NOQUEUE", l->name, why);
		store_fail_cause(p->st, why);
		return -1;
	}
	return 0;
}
