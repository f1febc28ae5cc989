/*
 * envid.c - the envelope id (RFC 3461 ENVID) of a relay transaction.
 *
 * A DSN may count against a member only if it carries something that a
 * member cannot read in her own copy: without VERP every copy of a post
 * is the same, Message-ID included. The envelope id is in no copy; the
 * relay (and a next hop that speaks DSN) has it, and a DSN returns it as
 * Original-Envelope-Id. It names the transaction - the post's queue id
 * and the lowest and highest delivery row id among its recipients (a
 * batch is a run of rows in id order, deliver.c's cut) - sealed with
 * ChaCha20-Poly1305 under a key derived from the master key, a random
 * nonce each time: a DSN is tied to the members of that one transaction,
 * nothing is stored, and whoever sees the id (the relay, a member's own
 * mail server) learns neither how many recipients the transaction had nor
 * how much the instance sends (row ids count every delivery). Form "M2."
 * and the URL-safe base64 of nonce || sealed(lo, hi, queue id in binary):
 * 78 characters, xtext as it is (RFC 3461 allows 100).
 *
 * The envelope id goes to every mail system of the transaction: a member
 * who runs her own has it, and could name any other member of her
 * transaction in a DSN. So each recipient also gets her own original
 * recipient (RCPT ... ORCPT=rfc822;M3.<74 chars>), which a relay forwards
 * with that recipient only and a DSN returns as Original-Recipient: the
 * queue id and that one recipient's delivery row, sealed the same way
 * under another associated datum. A member's mail system sees only the
 * ones of its own recipients; every one has the same length (the queue id
 * padded), whatever the list's size or the row's number.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/envid.h"

#define PREFIX		"M2."
#define QID_BIN_MAX	16	/* a queue id of up to 32 hex digits */
#define NONCE_LEN	crypto_aead_chacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN		crypto_aead_chacha20poly1305_ietf_ABYTES
#define PLAIN_MAX	(16 + QID_BIN_MAX)
#define SEALED_MAX	(NONCE_LEN + PLAIN_MAX + TAG_LEN)
#define B64		sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define OR_PREFIX	"M3."
/* the row, the queue id's length, the queue id padded to QID_BIN_MAX */
#define OR_PLAIN	(8 + 1 + QID_BIN_MAX)
/* nonces drawn at once for a transaction's original recipients */
#define ORCPT_DRAW	64

/* seal_key - the envelope ids' own key, derived from the master key */
static void
seal_key(const struct keys *k, unsigned char key[KEYS_HASH_LEN])
{
	/* the look-up hash under its own name space: never a list's */
	keys_addr_hash(k, "~envid", "seal", key);
}

/* put64 - v big-endian */
static void
put64(unsigned char *p, long long v)
{
	unsigned long long u = (unsigned long long)v;

	for (int i = 7; i >= 0; i--, u >>= 8)
		p[i] = (unsigned char)(u & 0xff);
}

/* get64 - a big-endian 64-bit value */
static long long
get64(const unsigned char *p)
{
	unsigned long long u = 0;

	for (int i = 0; i < 8; i++)
		u = u << 8 | p[i];
	return (long long)u;
}

/* qid_text - a queue id from its binary form: upper-case hex */
static int
qid_text(const unsigned char *b, size_t bl, char *qid, size_t qn)
{
	if (bl == 0 || qn < 2 * bl + 1)
		return -1;
	sodium_bin2hex(qid, qn, b, bl);
	for (char *c = qid; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	return 0;
}

/*
 * seal_with - pt sealed under key with the nonce ct starts with, as
 * prefix and base64 into out (size n): 0, or -1 (no room)
 */
static int
seal_with(const unsigned char key[KEYS_HASH_LEN], const char *prefix,
    const unsigned char *pt, size_t pl, unsigned char ct[SEALED_MAX],
    char *out, size_t n)
{
	const size_t xl = strlen(prefix);
	unsigned long long cl;

	if (pl > PLAIN_MAX || crypto_aead_chacha20poly1305_ietf_encrypt(
	    ct + NONCE_LEN, &cl, pt, pl, (const unsigned char *)prefix, xl,
	    NULL, ct, key) != 0 ||
	    n < xl + sodium_base64_ENCODED_LEN(NONCE_LEN + cl, B64))
		return -1;
	memcpy(out, prefix, xl);
	sodium_bin2base64(out + xl, n - xl, ct, NONCE_LEN + cl, B64);
	return 0;
}

/*
 * seal_text - prefix, then the base64 of nonce || pt sealed under the
 * prefix as associated datum: 0, or -1 (it needs more than n bytes)
 */
static int
seal_text(const struct keys *k, const char *prefix, const unsigned char *pt,
    size_t pl, char *out, size_t n)
{
	unsigned char key[KEYS_HASH_LEN], ct[SEALED_MAX];
	int rc;

	randombytes_buf(ct, NONCE_LEN);
	seal_key(k, key);
	rc = seal_with(key, prefix, pt, pl, ct, out, n);
	sodium_memzero(key, sizeof(key));
	return rc;
}

/*
 * seal_open - what a text of seal_text under prefix holds, its length in
 * *ml: 0, or -1 (not ours: another prefix, not base64, does not open)
 */
static int
seal_open(const struct keys *k, const char *prefix, const char *text,
    unsigned char pt[PLAIN_MAX], unsigned long long *ml)
{
	unsigned char key[KEYS_HASH_LEN], ct[SEALED_MAX];
	const size_t xl = strlen(prefix);
	const char *end;
	size_t len = strlen(text), bl;
	int rc;

	if (len >= ENVID_MAX || len <= xl || memcmp(text, prefix, xl) != 0 ||
	    sodium_base642bin(ct, sizeof(ct), text + xl, len - xl, NULL, &bl,
	    &end, B64) != 0 || *end != 0 || bl <= NONCE_LEN + TAG_LEN)
		return -1;
	seal_key(k, key);
	rc = crypto_aead_chacha20poly1305_ietf_decrypt(pt, ml, NULL,
	    ct + NONCE_LEN, bl - NONCE_LEN, (const unsigned char *)prefix, xl,
	    ct, key);
	sodium_memzero(key, sizeof(key));
	return rc == 0 ? 0 : -1;
}

/* qid_bin - a queue id in binary, its length in *bl: 0, -1 not one */
static int
qid_bin(const char *qid, unsigned char b[QID_BIN_MAX], size_t *bl)
{
	size_t ql = strlen(qid);

	if (ql == 0 || ql % 2 || ql > 2 * QID_BIN_MAX ||
	    sodium_hex2bin(b, QID_BIN_MAX, qid, ql, NULL, bl, NULL) != 0 ||
	    *bl != ql / 2)
		return -1;
	return 0;
}

/* envid_make - the envelope id of qid's transaction to rows [lo, hi] */
int
envid_make(const struct keys *k, const char *qid, long long lo, long long hi,
    char *out, size_t n)
{
	unsigned char pt[PLAIN_MAX];
	size_t bl;

	if (qid_bin(qid, pt + 16, &bl) < 0)
		return -1;
	put64(pt, lo);
	put64(pt + 8, hi);
	return seal_text(k, PREFIX, pt, 16 + bl, out,
	    n < ENVID_MAX ? n : ENVID_MAX);
}

/*
 * envid_check - the transaction an envelope id names, if it is one of
 * ours (it opens under our key): 0, or -1 for anything else
 */
int
envid_check(const struct keys *k, const char *envid, char *qid, size_t qn,
    long long *lo, long long *hi)
{
	unsigned char pt[PLAIN_MAX];
	unsigned long long ml;

	if (seal_open(k, PREFIX, envid, pt, &ml) < 0 || ml <= 16 ||
	    qid_text(pt + 16, ml - 16, qid, qn) < 0)
		return -1;
	*lo = get64(pt);
	*hi = get64(pt + 8);
	return *lo <= *hi ? 0 : -1;
}

/*
 * envid_orcpt_make - the original recipient (RFC 3461 ORCPT, the part
 * after "rfc822;") of delivery row `row` of qid: ENVID_ORCPT_LEN
 * characters, xtext as it is
 */
int
envid_orcpt_make(const struct keys *k, const char *qid, long long row,
    char *out, size_t n)
{
	unsigned char pt[OR_PLAIN];
	size_t bl;

	memset(pt, 0, sizeof(pt));
	if (n < ENVID_ORCPT_LEN + 1 || qid_bin(qid, pt + 9, &bl) < 0)
		return -1;
	put64(pt, row);
	pt[8] = (unsigned char)bl;
	return seal_text(k, OR_PREFIX, pt, sizeof(pt), out, n);
}

/*
 * envid_orcpts_make - envid_orcpt_make for rows[0..n) of qid (one
 * transaction's recipients) into out: the key derived once, the nonces
 * drawn ORCPT_DRAW at a time; each still its own random nonce. Done per
 * recipient, the derivation and a getrandom call were most of what the
 * threads of a grouped 10,000-member run spent (bench/RESULTS.md, #13).
 */
int
envid_orcpts_make(const struct keys *k, const char *qid,
    const long long *rows, int n, char (*out)[ENVID_ORCPT_MAX])
{
	unsigned char pt[OR_PLAIN], key[KEYS_HASH_LEN], ct[SEALED_MAX];
	unsigned char nonces[ORCPT_DRAW][NONCE_LEN];
	size_t bl;
	int rc = 0;

	memset(pt, 0, sizeof(pt));
	if (qid_bin(qid, pt + 9, &bl) < 0)
		return -1;
	pt[8] = (unsigned char)bl;
	seal_key(k, key);
	for (int i = 0; i < n && rc == 0; i++) {
		if (i % ORCPT_DRAW == 0)
			randombytes_buf(nonces, sizeof(nonces));
		memcpy(ct, nonces[i % ORCPT_DRAW], NONCE_LEN);
		put64(pt, rows[i]);
		rc = seal_with(key, OR_PREFIX, pt, sizeof(pt), ct, out[i],
		    ENVID_ORCPT_MAX);
	}
	sodium_memzero(key, sizeof(key));
	return rc;
}

/*
 * envid_orcpt_check - the queue id and delivery row an original recipient
 * names (the part after "rfc822;"), if it is one of ours: 0, or -1
 */
int
envid_orcpt_check(const struct keys *k, const char *orcpt, char *qid,
    size_t qn, long long *row)
{
	unsigned char pt[PLAIN_MAX];
	unsigned long long ml;

	if (strlen(orcpt) != ENVID_ORCPT_LEN ||
	    seal_open(k, OR_PREFIX, orcpt, pt, &ml) < 0 || ml != OR_PLAIN ||
	    pt[8] == 0 || pt[8] > QID_BIN_MAX ||
	    qid_text(pt + 9, pt[8], qid, qn) < 0)
		return -1;
	*row = get64(pt);
	return 0;
}
