/*
 * openpgp_in.c - posts encrypted to the list: find the OpenPGP message in
 * a mail, decrypt it with the list's key, and check a signature against
 * the one member key that would make it theirs.
 *
 * A valid signature yields a replay id: BLAKE2b-256 over the signer's
 * fingerprint, the signature's creation time and the signed data.  It is
 * the same for every copy of one signed text, whatever the wrapping (librnp
 * does not hand out the digest it checked, and a signature packet's
 * unhashed part can be changed without breaking it, so neither of those
 * would do), and the caller records it so that a replay does not count.
 *
 * Shapes found: PGP/MIME (multipart/encrypted, RFC 3156 §4, with §6.1 or
 * §6.2 inside), the Exchange-mangled shape (multipart/mixed carrying the
 * application/pgp-encrypted and encrypted.asc parts), and inline PGP (an
 * armoured message in a text body).  Each is located by its armour lines,
 * or, in the first two shapes, as the base64-encoded application/
 * octet-stream part some clients send (armoured or binary inside).
 *
 * A message that does not decrypt is told apart from one that is not ours
 * to decrypt (not_ours: no PKESK names a key we hold, nor hides its
 * recipient), so that a post quoting someone else's inline block can be
 * taken as the plain text it is.  Posts signed but not encrypted are
 * checked here too: a cleartext-signed text (BEGIN PGP SIGNED MESSAGE).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "mail/openpgp_int.h"

#define BEGIN_MSG	"-----BEGIN PGP MESSAGE-----"
#define WILDCARD_ID	"0000000000000000"	/* a hidden recipient */
#define END_MSG		"-----END PGP MESSAGE-----"
#define REPLAY_CTX	"mlistd-openpgp-replay"

/* ci_find - case-insensitive search of n in h */
static const char *
ci_find(const char *h, size_t hl, const char *n)
{
	size_t	 l = strlen(n), i;

	for (i = 0; i + l <= hl; i++)
		if (strncasecmp(h + i, n, l) == 0)
			return h + i;
	return NULL;
}

/* line_find - the field name n at a line's start in h (case-insensitive) */
static const char *
line_find(const char *h, const char *end, const char *n)
{
	size_t	 l = strlen(n);
	const char *p;

	for (p = h; p + l <= end; p++)
		if ((p == h || p[-1] == '\n') && strncasecmp(p, n, l) == 0)
			return p;
	return NULL;
}

/*
 * b64_part - the body of the base64 application/octet-stream part (the
 * encrypted.asc of PGP/MIME or of Exchange), decoded: 0, -1 if none
 */
static int
b64_part(const char *m, size_t len, struct buf *out)
{
	const char *end = m + len, *ct, *hend, *te, *z;
	size_t	 got = 0;

	for (ct = m; (ct = line_find(ct, end, "Content-Type:")) != NULL;
	    ct += 13) {
		if ((hend = memmem(ct, (size_t)(end - ct), "\r\n\r\n", 4))
		    == NULL)
			return -1;
		if (ci_find(ct, (size_t)(hend - ct), "application/octet-stream")
		    == NULL || (te = line_find(ct, hend,
		    "Content-Transfer-Encoding:")) == NULL ||
		    ci_find(te, (size_t)(hend - te), "base64") == NULL)
			continue;
		hend += 4;
		z = memmem(hend, (size_t)(end - hend), "\r\n--", 4);
		if (z == NULL)
			z = end;
		if (buf_reserve(out, (size_t)(z - hend)) < 0 ||
		    sodium_base642bin(out->data, out->cap, hend,
		    (size_t)(z - hend), " \t\r\n", &got, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0 || got == 0)
			return -1;
		out->len = got;
		return 0;
	}
	return -1;
}

/*
 * b64_payload - the OpenPGP message of a base64 part: its armoured block,
 * or binary packets (a packet tag has its top bit set)
 */
static enum result
b64_payload(const char *m, size_t len, struct buf *payload)
{
	struct buf	 d;
	const char	*a, *z;
	enum result	 r = PERMFAIL;

	buf_init(&d, 0);
	if (b64_part(m, len, &d) < 0)
		goto out;
	a = memmem(d.data, d.len, BEGIN_MSG, strlen(BEGIN_MSG));
	z = a ? memmem(a, d.len - (size_t)(a - (char *)d.data), END_MSG,
	    strlen(END_MSG)) : NULL;
	if (a && z)
		r = buf_append(payload, a, (size_t)(z + strlen(END_MSG) - a))
		    == 0 ? OK : TEMPFAIL;
	else if (a == NULL && (d.data[0] & 0x80))
		r = buf_append(payload, d.data, d.len) == 0 ? OK : TEMPFAIL;
out:
	buf_free(&d);
	return r;
}

/* openpgp_payload_find - the OpenPGP message in a mail, and its shape */
enum result
openpgp_payload_find(const void *msg, size_t len, struct buf *payload,
    const char **shape)
{
	const char	*m = msg, *hend, *a, *z;
	size_t		 hl;

	hend = memmem(m, len, "\r\n\r\n", 4);
	hl = hend ? (size_t)(hend - m) : len;
	if (ci_find(m, hl, "multipart/encrypted") != NULL)
		*shape = "pgpmime";
	else if (ci_find(m, len, "application/pgp-encrypted") != NULL)
		*shape = "exchange";
	else
		*shape = "inline";
	/* at a line's start: a block quoted with "> " is text, not a message */
	if ((a = line_find(m, m + len, BEGIN_MSG)) == NULL)
		return strcmp(*shape, "inline") != 0 ?
		    b64_payload(m, len, payload) : PERMFAIL;
	z = memmem(a, len - (size_t)(a - m), END_MSG, strlen(END_MSG));
	if (z == NULL)
		return PERMFAIL;
	z += strlen(END_MSG);
	return buf_append(payload, a, (size_t)(z - a)) == 0 ? OK : TEMPFAIL;
}

/* replay_id - what stays the same when one signed text is sent again */
static void
replay_id(const char *fpr, uint32_t created, const void *d, size_t n,
    unsigned char out[OPENPGP_REPLAY_SIZE])
{
	crypto_generichash_state st;
	unsigned char	 t[4];

	t[0] = created >> 24;
	t[1] = created >> 16;
	t[2] = created >> 8;
	t[3] = created;
	(void)crypto_generichash_init(&st, NULL, 0, OPENPGP_REPLAY_SIZE);
	(void)crypto_generichash_update(&st, (const unsigned char *)REPLAY_CTX,
	    sizeof(REPLAY_CTX));
	(void)crypto_generichash_update(&st, (const unsigned char *)fpr,
	    strlen(fpr));
	(void)crypto_generichash_update(&st, t, sizeof(t));
	(void)crypto_generichash_update(&st, d, n);
	(void)crypto_generichash_final(&st, out, OPENPGP_REPLAY_SIZE);
}

/* signer_is - 1 if the signature is valid and made by member's key */
static int
signer_is(rnp_op_verify_signature_t s, const struct openpgp_key *member)
{
	rnp_key_handle_t k;
	char		*fpr = NULL;
	bool		 primary = false;
	int		 same;

	if (member == NULL || rnp_op_verify_signature_get_status(s)
	    != RNP_SUCCESS || rnp_op_verify_signature_get_key(s, &k)
	    != RNP_SUCCESS || k == NULL)
		return 0;
	if (rnp_key_is_primary(k, &primary) != RNP_SUCCESS
	    || (primary ? rnp_key_get_fprint(k, &fpr) :
	    rnp_key_get_primary_fprint(k, &fpr)) != RNP_SUCCESS)
		fpr = NULL;
	same = fpr != NULL && strcasecmp(fpr, member->fpr) == 0;
	rnp_buffer_destroy(fpr);
	(void)rnp_key_handle_destroy(k);
	return same;
}

/* sigs_judge - count signatures, note a valid one by member */
static void
sigs_judge(rnp_op_verify_t op, const struct openpgp_key *member,
    const void *d, size_t n, struct openpgp_plain *p)
{
	rnp_op_verify_signature_t s;
	size_t		 i, cnt;
	uint32_t	 created;

	if (rnp_op_verify_get_signature_count(op, &cnt) != RNP_SUCCESS)
		return;
	p->sigs = (int)cnt;
	for (i = 0; i < cnt && !p->verified; i++) {
		if (rnp_op_verify_get_signature_at(op, i, &s) != RNP_SUCCESS
		    || !signer_is(s, member)
		    || rnp_op_verify_signature_get_times(s, &created, NULL)
		    != RNP_SUCCESS)
			continue;
		p->verified = 1;
		p->sig_created = created;
		replay_id(member->fpr, created, d, n, p->replay);
	}
}

/* protection_ok - refuse data that was not encrypted with integrity */
static enum result
protection_ok(rnp_op_verify_t op, struct openpgp_plain *p, char *why,
    size_t whylen)
{
	char		*mode = NULL;
	bool		 valid = false;
	enum result	 r = OK;

	if (rnp_op_verify_get_protection_info(op, &mode, NULL, &valid)
	    != RNP_SUCCESS)
		return TEMPFAIL;
	p->encrypted = strcmp(mode, "none") != 0;
	if (!p->encrypted) {
		WHY(why, whylen, "the message is not encrypted");
		r = PERMFAIL;
	} else if (!valid) {
		WHY(why, whylen, "encrypted without integrity protection (%s)",
		    mode);
		r = PERMFAIL;
	}
	rnp_buffer_destroy(mode);
	return r;
}

/*
 * not_ours - after a failed decryption: 1 if no PKESK names a key in ffi
 * (nor hides its recipient behind the wildcard id), so the message was
 * never meant for us; 0 if it was, or cannot be told
 */
static int
not_ours(rnp_ffi_t ffi, rnp_op_verify_t op)
{
	rnp_recipient_handle_t rcp;
	rnp_key_handle_t k;
	size_t	 i, n, sym;
	char	*id;
	int	 ours = 0;

	/* no recipient at all read: garbage, not someone else's message */
	if (rnp_op_verify_get_recipient_count(op, &n) != RNP_SUCCESS ||
	    rnp_op_verify_get_symenc_count(op, &sym) != RNP_SUCCESS ||
	    n + sym == 0)
		return 0;
	for (i = 0; i < n && !ours; i++) {
		if (rnp_op_verify_get_recipient_at(op, i, &rcp) != RNP_SUCCESS
		    || rnp_recipient_get_keyid(rcp, &id) != RNP_SUCCESS)
			return 0;
		k = NULL;
		ours = strcmp(id, WILDCARD_ID) == 0 || (rnp_locate_key(ffi,
		    "keyid", id, &k) == RNP_SUCCESS && k != NULL);
		(void)rnp_key_handle_destroy(k);
		rnp_buffer_destroy(id);
	}
	return !ours;
}

/*
 * verify_open - a verify operation in ffi over librnp's input from msg and
 * a memory output for what it yields, bounded: a compressed packet may
 * inflate to anything (a bomb); 0 or -1
 */
static int
verify_open(rnp_ffi_t ffi, const void *msg, size_t len, rnp_input_t *in,
    rnp_output_t *o, rnp_op_verify_t *op)
{
	if (rnp_input_from_memory(in, msg, len, false) != RNP_SUCCESS)
		return -1;
	if (rnp_output_to_memory(o, OPENPGP_PLAIN_MAX) != RNP_SUCCESS) {
		(void)rnp_input_destroy(*in);
		return -1;
	}
	if (rnp_op_verify_create(op, ffi, *in, *o) != RNP_SUCCESS) {
		(void)rnp_output_destroy(*o);
		(void)rnp_input_destroy(*in);
		return -1;
	}
	return 0;
}

/* verify_close - free what verify_open made */
static void
verify_close(rnp_op_verify_t op, rnp_input_t in, rnp_output_t o)
{
	(void)rnp_op_verify_destroy(op);
	(void)rnp_output_destroy(o);
	(void)rnp_input_destroy(in);
}

/*
 * decrypt_op - run op as a decryption: it must decrypt, with integrity
 * protection (protection_ok)
 */
static enum result
decrypt_op(rnp_ffi_t ffi, rnp_op_verify_t op, struct openpgp_plain *p,
    char *why, size_t whylen)
{
	rnp_result_t rc;

	/* a bad or unknown signature is judged later, not fatal */
	rc = rnp_op_verify_set_flags(op, RNP_VERIFY_IGNORE_SIGS_ON_DECRYPT);
	if (rc == RNP_SUCCESS)
		rc = rnp_op_verify_execute(op);
	if (rc != RNP_SUCCESS) {
		WHY(why, whylen, "cannot decrypt (%s)",
		    rnp_result_to_string(rc));
		p->not_ours = not_ours(ffi, op);
		return PERMFAIL;
	}
	return protection_ok(op, p, why, whylen);
}

/*
 * verify_run - msg through a verify operation in an ffi holding the keys,
 * what it yields into p and its signatures judged: decrypt, an encrypted
 * message (decrypt_op); else a cleartext-signed text, which must carry a
 * valid signature by member
 */
static enum result
verify_run(rnp_ffi_t ffi, const struct openpgp_key *member,
    const void *msg, size_t len, int decrypt, struct openpgp_plain *p,
    char *why, size_t whylen)
{
	rnp_input_t	 in;
	rnp_output_t	 o;
	rnp_op_verify_t	 op;
	enum result	 r = OK;

	if (verify_open(ffi, msg, len, &in, &o, &op) < 0)
		return TEMPFAIL;
	if (decrypt)
		r = decrypt_op(ffi, op, p, why, whylen);
	else	/* an invalid signature still leaves its status to read */
		(void)rnp_op_verify_execute(op);
	if (r == OK && openpgp_out_take(o, &p->data) != 0)
		r = TEMPFAIL;
	if (r == OK)
		sigs_judge(op, member, p->data.data, p->data.len, p);
	verify_close(op, in, o);
	if (r == OK && !decrypt && !p->verified) {
		WHY(why, whylen, "no valid signature by the member's key");
		r = PERMFAIL;
	}
	return r;
}

/* plain_begin - an empty result and a fresh librnp context to fill it */
static enum result
plain_begin(struct openpgp_plain *p, rnp_ffi_t *ffi, char *why, size_t whylen)
{
	enum result r;

	memset(p, 0, sizeof(*p));
	buf_init(&p->data, 0);
	if ((r = openpgp_ffi(ffi)) != OK)
		WHY(why, whylen, "librnp context failed");
	return r;
}

/*
 * member_begin - plain_begin, and member's key in the context; on failure
 * no context is left
 */
static enum result
member_begin(const struct openpgp_key *member, struct openpgp_plain *p,
    rnp_ffi_t *ffi, char *why, size_t whylen)
{
	enum result r;

	if ((r = plain_begin(p, ffi, why, whylen)) != OK)
		return r;
	r = openpgp_load(*ffi, member->bin.data, member->bin.len,
	    RNP_LOAD_SAVE_PUBLIC_KEYS, why, whylen);
	if (r != OK)
		(void)rnp_ffi_destroy(*ffi);
	return r;
}

/*
 * openpgp_decrypt - decrypt msg (armoured or binary) with the list's key;
 * member, if given, is the key whose valid signature marks the post theirs.
 */
enum result
openpgp_decrypt(const struct openpgp_secret *s, const struct openpgp_key *member,
    const void *msg, size_t len, struct openpgp_plain *p, char *why,
    size_t whylen)
{
	rnp_ffi_t	 ffi;
	enum result	 r;

	if ((r = plain_begin(p, &ffi, why, whylen)) != OK)
		return r;
	r = openpgp_load(ffi, s->data, s->len, RNP_LOAD_SAVE_PUBLIC_KEYS |
	    RNP_LOAD_SAVE_SECRET_KEYS, why, whylen);
	if (r == OK && member != NULL)
		r = openpgp_load(ffi, member->bin.data, member->bin.len,
		    RNP_LOAD_SAVE_PUBLIC_KEYS, why, whylen);
	if (r == OK)
		r = verify_run(ffi, member, msg, len, 1, p, why, whylen);
	(void)rnp_ffi_destroy(ffi);
	if (r != OK)
		openpgp_plain_free(p);
	return r;
}

/* detached_run - check sig over data in an ffi holding member's key */
static enum result
detached_run(rnp_ffi_t ffi, const struct openpgp_key *member,
    const void *data, size_t dlen, const void *sig, size_t slen,
    struct openpgp_plain *p, char *why, size_t whylen)
{
	rnp_input_t	 din, sin;
	rnp_op_verify_t	 op;
	rnp_result_t	 rc;

	if (rnp_input_from_memory(&din, data, dlen, false) != RNP_SUCCESS)
		return TEMPFAIL;
	if (rnp_input_from_memory(&sin, sig, slen, false) != RNP_SUCCESS) {
		(void)rnp_input_destroy(din);
		return TEMPFAIL;
	}
	rc = rnp_op_verify_detached_create(&op, ffi, din, sin);
	if (rc == RNP_SUCCESS) {
		/* an invalid signature still leaves its status to read */
		(void)rnp_op_verify_execute(op);
		sigs_judge(op, member, data, dlen, p);
		(void)rnp_op_verify_destroy(op);
	}
	(void)rnp_input_destroy(sin);
	(void)rnp_input_destroy(din);
	if (rc != RNP_SUCCESS) {
		WHY(why, whylen, "not a signature (%s)",
		    rnp_result_to_string(rc));
		return PERMFAIL;
	}
	if (!p->verified) {
		WHY(why, whylen, "no valid signature by the member's key");
		return PERMFAIL;
	}
	return OK;
}

/* openpgp_verify_detached - a detached signature (RFC 3156 §5) by member */
enum result
openpgp_verify_detached(const struct openpgp_key *member, const void *data,
    size_t dlen, const void *sig, size_t slen, struct openpgp_plain *p,
    char *why, size_t whylen)
{
	rnp_ffi_t	 ffi;
	enum result	 r;

	if ((r = member_begin(member, p, &ffi, why, whylen)) != OK)
		return r;
	r = detached_run(ffi, member, data, dlen, sig, slen, p, why, whylen);
	(void)rnp_ffi_destroy(ffi);
	return r;
}

/*
 * openpgp_verify_cleartext - a cleartext-signed text (RFC 4880 §7, "BEGIN
 * PGP SIGNED MESSAGE") signed by member; p->data gets the signed text
 */
enum result
openpgp_verify_cleartext(const struct openpgp_key *member, const void *text,
    size_t len, struct openpgp_plain *p, char *why, size_t whylen)
{
	rnp_ffi_t	 ffi;
	enum result	 r;

	if ((r = member_begin(member, p, &ffi, why, whylen)) != OK)
		return r;
	r = verify_run(ffi, member, text, len, 0, p, why, whylen);
	(void)rnp_ffi_destroy(ffi);
	return r;
}

/* openpgp_plain_free - release a decryption's result */
void
openpgp_plain_free(struct openpgp_plain *p)
{
	if (p->data.data != NULL)
		sodium_memzero(p->data.data, p->data.cap);
	buf_free(&p->data);
}
