/*
 * sealed.c - posts sealed to a list's key (mlist seal), the interim inbound
 * format of encryption = "required" lists.
 *
 * RETIRED for copies to members: those are OpenPGP (delivery/pgpcopy.c).
 * What is left goes with the post pipeline's OpenPGP open stage (#17, posts
 * encrypted to the list): a post sealed with libsodium's crypto_box_seal to
 * the X25519 twin of the list's DKIM key, as the one attachment of a short
 * MIME message. X25519 keys come from Ed25519 seeds
 * (crypto_sign_ed25519_sk_to_curve25519).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sealed.h"

/* sealed_keys_from_seed - the X25519 pair that belongs to an Ed25519 seed */
int
sealed_keys_from_seed(const unsigned char seed[32], unsigned char pk[32], unsigned char sk[32])
{
	unsigned char epk[crypto_sign_PUBLICKEYBYTES], esk[crypto_sign_SECRETKEYBYTES];
	int rc;

	crypto_sign_seed_keypair(epk, esk, seed);
	rc = crypto_sign_ed25519_pk_to_curve25519(pk, epk) == 0 && crypto_sign_ed25519_sk_to_curve25519(sk, esk) == 0 ?
	    0 : -1;
	sodium_memzero(esk, sizeof(esk));
	return rc;
}

/* sealed_wrap - msg sealed to pk, as a message from `from` to `to` */
int
sealed_wrap(const char *from, const char *to, const char *subject, const char *hostname, const char *explanation,
    const unsigned char pk[32], const void *msg, size_t len, struct buf *out)
{
	unsigned char r[12];
	char bnd[32], date[64], id[40];
	struct buf ct;
	time_t now = time(NULL);
	struct tm tm;

	buf_init(&ct, 0);
	if (buf_reserve(&ct, len + crypto_box_SEALBYTES) < 0)
		return -1;
	if (crypto_box_seal(ct.data, msg, len, pk) != 0) {
		buf_free(&ct);
		return -1;
	}
	ct.len = len + crypto_box_SEALBYTES;
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(bnd, sizeof(bnd), r, sizeof(r));
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(id, sizeof(id), r, sizeof(r));
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_printf(out, "From: %s\r\n%s%s%sSubject: %s\r\nDate: %s\r\nMessage-ID: <sealed.%s@%s>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"=_sealed_%s\"\r\n\r\n"
	    "--=_sealed_%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
	    from, *to ? "To: " : "", to, *to ? "\r\n" : "", subject, date, id, hostname, bnd, bnd);
	for (const char *c = explanation; *c; c++)
		*c == '\n' ? buf_puts(out, "\r\n") : buf_putc(out, *c);
	buf_printf(out, "\r\n--=_sealed_%s\r\nContent-Type: " SEALED_TYPE "; name=\"post.sealed\"\r\n"
	    "Content-Disposition: attachment; filename=\"post.sealed\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
	    bnd);
	if (buf_base64(out, ct.data, ct.len) < 0) {
		buf_free(&ct);
		return -1;
	}
	buf_printf(out, "--=_sealed_%s--\r\n", bnd);
	buf_free(&ct);
	return 0;
}

/*
 * sealed_find - the sealed bytes of a wrapped message: the body of the part
 * whose Content-Type is SEALED_TYPE, base64-decoded. Our own small scan
 * (the input may be hostile): 0 found, -1 not a sealed message.
 */
int
sealed_find(const void *msg, size_t len, struct buf *blob)
{
	const char *m = msg, *p, *end = m + len, *body, *stop;
	size_t tl = strlen(SEALED_TYPE), got = 0;

	for (p = m; p + 14 + tl <= end; p++)
		if ((p == m || p[-1] == '\n') && strncasecmp(p, "Content-Type:", 13) == 0) {
			const char *v = p + 13;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			if ((size_t)(end - v) >= tl && strncasecmp(v, SEALED_TYPE, tl) == 0)
				break;
		}
	if (p + 14 + tl > end)
		return -1;
	/* the part's body starts after its blank line and ends at the next boundary line */
	for (body = p; body + 1 < end; body++)
		if (body[0] == '\n' && (body[1] == '\n' || (body[1] == '\r' && body + 2 < end && body[2] == '\n')))
			break;
	if (body + 1 >= end)
		return -1;
	body += body[1] == '\n' ? 2 : 3;
	for (stop = body; stop < end; stop++)
		if ((stop == body || stop[-1] == '\n') && stop + 1 < end && stop[0] == '-' && stop[1] == '-')
			break;
	if (blob->len != 0 || buf_reserve(blob, (size_t)(stop - body)) < 0)
		return -1;
	if (sodium_base642bin(blob->data, blob->cap, body, (size_t)(stop - body), " \t\r\n", &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || got <= crypto_box_SEALBYTES)
		return -1;
	blob->len = got;
	return 0;
}

/* sealed_open - the message inside; -1 if it was not sealed to this key or was altered */
int
sealed_open(const unsigned char pk[32], const unsigned char sk[32], const struct buf *blob, struct buf *out)
{
	size_t n;

	if (blob->len <= crypto_box_SEALBYTES || out->len != 0)
		return -1;
	n = blob->len - crypto_box_SEALBYTES;
	if (buf_reserve(out, n + 1) < 0 || crypto_box_seal_open(out->data, blob->data, blob->len, pk, sk) != 0)
		return -1;
	out->len = n;
	return 0;
}
