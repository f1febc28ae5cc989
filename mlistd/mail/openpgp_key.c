/*
 * openpgp_key.c - a member's OpenPGP public key: accept or refuse it, and
 * reduce it to the minimal key the list keeps.
 *
 * Input is an armoured block, a binary key, or an Autocrypt keydata=
 * (base64 of the binary key).  Refused, with a reason a member can act on:
 * secret keys, v3 keys, more than one key, revoked or expired keys, RSA/DSA/
 * ElGamal under 2048 bits, no valid encryption (sub)key.  What is kept is
 * the primary key with ONE user ID (the primary one) and only
 * self-signatures: a member's key names them in its UIDs and in who
 * certified it, and the list has no use for either.
 *
 * The one thing parsed here rather than by librnp is the first packet's
 * header and version byte: librnp reads v3 keys without saying so, and the
 * list refuses them.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "mail/openpgp_int.h"

#define MIN_BITS	2048
#define ARMOR_KEY	"-----BEGIN PGP PUBLIC KEY BLOCK-----"
#define ARMOR_ANY	"-----BEGIN PGP "
#define ARMOR_SECRET	"-----BEGIN PGP PRIVATE KEY BLOCK-----"

/* find - memmem over a buffer */
static const void *
find(const void *h, size_t hl, const char *n)
{
	return memmem(h, hl, n, strlen(n));
}

/* dearmor - an armoured block to its binary packets */
static enum result
dearmor(const void *data, size_t len, struct buf *bin)
{
	rnp_input_t	 in;
	rnp_output_t	 out;
	enum result	 r = OK;

	if (rnp_input_from_memory(&in, data, len, false) != RNP_SUCCESS)
		return TEMPFAIL;
	if (rnp_output_to_memory(&out, 0) != RNP_SUCCESS) {
		(void)rnp_input_destroy(in);
		return TEMPFAIL;
	}
	if (rnp_dearmor(in, out) != RNP_SUCCESS)
		r = PERMFAIL;
	else if (openpgp_out_take(out, bin) != 0)
		r = TEMPFAIL;
	(void)rnp_output_destroy(out);
	(void)rnp_input_destroy(in);
	return r;
}

/* to_binary - whatever form the key came in, its binary packets */
static enum result
to_binary(const void *data, size_t len, enum openpgp_format fmt,
    struct buf *bin, char *why, size_t whylen)
{
	const char	*a;
	size_t		 n;

	if (fmt == OPENPGP_AUTOCRYPT) {
		if (buf_reserve(bin, len) != 0)
			return TEMPFAIL;
		if (sodium_base642bin(bin->data, bin->cap, data, len,
		    " \t\r\n", &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0
		    || n == 0) {
			WHY(why, whylen, "keydata is not base64");
			return PERMFAIL;
		}
		bin->len = n;
		return OK;
	}
	a = find(data, len, ARMOR_ANY);
	if (fmt == OPENPGP_BINARY || (fmt == OPENPGP_ANY && a == NULL))
		return buf_append(bin, data, len) == 0 ? OK : TEMPFAIL;
	if ((a = find(data, len, ARMOR_KEY)) == NULL &&
	    find(data, len, ARMOR_SECRET) != NULL) {
		/* mutt's user pasted --export-secret-keys: say so */
		WHY(why, whylen, "this is a SECRET key: send the public key");
		return PERMFAIL;
	}
	if (a == NULL) {
		WHY(why, whylen, "no \"%s\" block (a secret key?)", ARMOR_KEY);
		return PERMFAIL;
	}
	/* text around the block (a mail's quoting, a signature) is dropped */
	if (dearmor(a, len - (size_t)(a - (const char *)data), bin) != OK) {
		WHY(why, whylen, "the armoured key block does not decode");
		return PERMFAIL;
	}
	return OK;
}

/* first_packet - tag and version of the first packet, -1 if unreadable */
static int
first_packet(const unsigned char *p, size_t n, int *version)
{
	size_t	 hl;
	int	 tag;

	if (n < 2 || !(p[0] & 0x80))
		return -1;
	if (p[0] & 0x40) {		/* new format */
		tag = p[0] & 0x3f;
		hl = p[1] < 192 ? 2 : p[1] < 224 ? 3 : p[1] == 255 ? 6 : 0;
	} else {			/* old format: length type in 2 bits */
		tag = (p[0] >> 2) & 0x0f;
		hl = (p[0] & 3) == 0 ? 2 : (p[0] & 3) == 1 ? 3 :
		    (p[0] & 3) == 2 ? 5 : 0;
	}
	if (hl == 0 || n <= hl)
		return -1;
	*version = p[hl];
	return tag;
}

/*
 * openpgp_key_alg - the public-key algorithm of a v4 key's first packet
 * (its primary key: 1 RSA, 22 EdDSA...), -1 if that cannot be read
 */
int
openpgp_key_alg(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t	 hl;
	int	 v = 0;

	if (first_packet(p, len, &v) != 6 || v != 4)
		return -1;
	/* the header's length again; then version, four bytes of time */
	if (p[0] & 0x40)
		hl = p[1] < 192 ? 2 : p[1] < 224 ? 3 : 6;
	else
		hl = (p[0] & 3) == 0 ? 2 : (p[0] & 3) == 1 ? 3 : 5;
	return len > hl + 5 ? p[hl + 5] : -1;
}

/* check_packets - refuse what is not a v4 public key before librnp sees it */
static enum result
check_packets(const struct buf *bin, char *why, size_t whylen)
{
	int	 tag, v = 0;

	tag = first_packet(bin->data, bin->len, &v);
	if (tag == 5) {
		WHY(why, whylen, "this is a SECRET key: send the public key");
		return PERMFAIL;
	}
	if (tag != 6) {
		WHY(why, whylen, "not an OpenPGP public key");
		return PERMFAIL;
	}
	if (v == 2 || v == 3) {
		WHY(why, whylen, "v3 keys are not accepted: make a new key");
		return PERMFAIL;
	}
	if (v != 4) {
		WHY(why, whylen, "key version %d is not supported", v);
		return PERMFAIL;
	}
	return OK;
}

/* alg_weak - 1 if key is a finite-field key under MIN_BITS */
static int
alg_weak(rnp_key_handle_t key, char alg[16], uint32_t *bits)
{
	char	*a;

	*bits = 0;
	if (rnp_key_get_alg(key, &a) != RNP_SUCCESS)
		return 1;
	(void)snprintf(alg, 16, "%s", a);
	rnp_buffer_destroy(a);
	if (rnp_key_get_bits(key, bits) != RNP_SUCCESS)
		return 1;
	if (strncmp(alg, "RSA", 3) == 0 || strcmp(alg, "DSA") == 0
	    || strcmp(alg, "ELGAMAL") == 0)
		return *bits < MIN_BITS;
	return 0;
}

/* usable - 1 if k encrypts now: valid, not revoked, not expired */
static int
usable(rnp_key_handle_t k)
{
	bool	 enc, valid, revoked, expired;

	return rnp_key_allows_usage(k, "encrypt", &enc) == RNP_SUCCESS && enc
	    && rnp_key_is_valid(k, &valid) == RNP_SUCCESS && valid
	    && rnp_key_is_revoked(k, &revoked) == RNP_SUCCESS && !revoked
	    && rnp_key_is_expired(k, &expired) == RNP_SUCCESS && !expired;
}

/* key_until - when k stops being valid (0: never) */
static time_t
key_until(rnp_key_handle_t k)
{
	uint32_t	 created, exp;

	if (rnp_key_get_creation(k, &created) != RNP_SUCCESS
	    || rnp_key_get_expiration(k, &exp) != RNP_SUCCESS || exp == 0)
		return 0;
	return (time_t)created + (time_t)exp;
}

/* pick_enc - the newest usable encryption key among primary and subkeys */
static enum result
pick_enc(rnp_key_handle_t key, struct openpgp_key *out, char *why,
    size_t whylen)
{
	rnp_key_handle_t sub;
	uint32_t	 created, best = 0, bits;
	char		 alg[16];
	size_t		 i, n;
	int		 found = 0, weak = 0;
	time_t		 until;

	if (rnp_key_get_subkey_count(key, &n) != RNP_SUCCESS)
		return TEMPFAIL;
	for (i = 0; i <= n; i++) {
		if (i == n)
			sub = key;	/* an RSA primary may encrypt itself */
		else if (rnp_key_get_subkey_at(key, i, &sub) != RNP_SUCCESS)
			return TEMPFAIL;
		if (usable(sub) && alg_weak(sub, alg, &bits))
			weak = 1;
		else if (usable(sub)
		    && rnp_key_get_creation(sub, &created) == RNP_SUCCESS
		    && (!found || created > best)) {
			found = 1;
			best = created;
			memcpy(out->alg, alg, sizeof(out->alg));
			out->bits = bits;
			until = key_until(sub);
			if (until != 0 && (out->expires == 0
			    || until < out->expires))
				out->expires = until;
		}
		if (sub != key)
			(void)rnp_key_handle_destroy(sub);
	}
	if (found)
		return OK;
	WHY(why, whylen, weak ? "the encryption key is under %d bits" :
	    "no valid encryption subkey (expired, revoked or missing)",
	    MIN_BITS);
	return PERMFAIL;
}

/* check_primary - refuse a revoked, expired, invalid or weak primary */
static enum result
check_primary(rnp_key_handle_t key, struct openpgp_key *out, char *why,
    size_t whylen)
{
	bool		 revoked, expired, valid;
	char		 alg[16];
	uint32_t	 bits;

	if (rnp_key_is_revoked(key, &revoked) != RNP_SUCCESS
	    || rnp_key_is_expired(key, &expired) != RNP_SUCCESS
	    || rnp_key_is_valid(key, &valid) != RNP_SUCCESS)
		return TEMPFAIL;
	if (revoked) {
		WHY(why, whylen, "the key is revoked");
		return PERMFAIL;
	}
	if (expired) {
		WHY(why, whylen, "the key has expired: extend it, send again");
		return PERMFAIL;
	}
	if (alg_weak(key, alg, &bits)) {
		WHY(why, whylen, "%s key of %u bits: at least %d needed",
		    alg, bits, MIN_BITS);
		return PERMFAIL;
	}
	if (!valid) {
		WHY(why, whylen, "the key has no valid self-signature");
		return PERMFAIL;
	}
	out->expires = key_until(key);
	return OK;
}

/* uid_keep - the index of the UID to keep: primary and valid, else valid */
static int
uid_keep(rnp_key_handle_t key, size_t n)
{
	rnp_uid_handle_t u;
	bool		 primary, valid;
	uint32_t	 type;
	size_t		 i;
	int		 first = -1, best = -1;

	for (i = 0; i < n && best < 0; i++) {
		if (rnp_key_get_uid_handle_at(key, i, &u) != RNP_SUCCESS)
			return -1;
		if (rnp_uid_get_type(u, &type) == RNP_SUCCESS
		    && type == RNP_USER_ID
		    && rnp_uid_is_valid(u, &valid) == RNP_SUCCESS && valid) {
			if (first < 0)
				first = (int)i;
			if (rnp_uid_is_primary(u, &primary) == RNP_SUCCESS
			    && primary)
				best = (int)i;
		}
		(void)rnp_uid_handle_destroy(u);
	}
	return best >= 0 ? best : first;
}

/* minimise - one UID, self-signatures only, on the key and its subkeys */
static enum result
minimise(rnp_key_handle_t key, char *why, size_t whylen)
{
	rnp_key_handle_t sub;
	size_t		 n, i;
	int		 keep;
	uint32_t	 fl = RNP_KEY_SIGNATURE_NON_SELF_SIG |
			    RNP_KEY_SIGNATURE_INVALID |
			    RNP_KEY_SIGNATURE_UNKNOWN_KEY;

	if (rnp_key_get_uid_count(key, &n) != RNP_SUCCESS)
		return TEMPFAIL;
	if ((keep = uid_keep(key, n)) < 0) {
		WHY(why, whylen, "the key has no valid user ID");
		return PERMFAIL;
	}
	for (i = n; i-- > 0;) {		/* backwards: indexes stay put */
		if ((int)i == keep)
			continue;
		if (openpgp_uid_remove(key, i) != OK)
			return TEMPFAIL;
	}
	if (rnp_key_remove_signatures(key, fl, NULL, NULL) != RNP_SUCCESS
	    || rnp_key_get_subkey_count(key, &n) != RNP_SUCCESS)
		return TEMPFAIL;
	for (i = 0; i < n; i++) {
		if (rnp_key_get_subkey_at(key, i, &sub) != RNP_SUCCESS)
			return TEMPFAIL;
		if (rnp_key_remove_signatures(sub, fl, NULL, NULL)
		    != RNP_SUCCESS) {
			(void)rnp_key_handle_destroy(sub);
			return TEMPFAIL;
		}
		(void)rnp_key_handle_destroy(sub);
	}
	return OK;
}

/* judge - every check on the imported primary, then the reduction */
static enum result
judge(rnp_ffi_t ffi, struct openpgp_key *out, char *why, size_t whylen)
{
	rnp_key_handle_t key;
	enum result	 r;

	if ((r = openpgp_locate(ffi, NULL, &key)) != OK) {
		WHY(why, whylen, "send exactly one public key");
		return r;
	}
	if ((r = check_primary(key, out, why, whylen)) == OK
	    && (r = pick_enc(key, out, why, whylen)) == OK
	    && (r = minimise(key, why, whylen)) == OK
	    && (r = openpgp_export_public(key, 0, &out->bin)) == OK && openpgp_fpr(key, out->fpr))
		r = TEMPFAIL;
	if (r == TEMPFAIL && !*why)
		WHY(why, whylen, "librnp failed on the key");
	(void)rnp_key_handle_destroy(key);
	return r;
}

/* openpgp_key_import - accept a member's key, or say why not */
enum result
openpgp_key_import(const void *data, size_t len, enum openpgp_format fmt,
    struct openpgp_key *out, char *why, size_t whylen)
{
	struct buf	 bin;
	rnp_ffi_t	 ffi;
	enum result	 r;

	memset(out, 0, sizeof(*out));
	buf_init(&out->bin, 0);
	buf_init(&bin, 1 << 20);
	if (whylen)
		*why = '\0';
	r = to_binary(data, len, fmt, &bin, why, whylen);
	if (r == OK)
		r = check_packets(&bin, why, whylen);
	if (r == OK && (r = openpgp_ffi(&ffi)) == OK) {
		r = openpgp_load(ffi, bin.data, bin.len,
		    RNP_LOAD_SAVE_PUBLIC_KEYS, why, whylen);
		if (r == OK)
			r = judge(ffi, out, why, whylen);
		(void)rnp_ffi_destroy(ffi);
	}
	if (r == TEMPFAIL && whylen && !*why)
		WHY(why, whylen, "out of memory reading the key");
	buf_free(&bin);
	if (r != OK)
		openpgp_key_free(out);
	return r;
}

/* openpgp_key_export - the kept key, armoured or binary */
enum result
openpgp_key_export(const struct openpgp_key *k, int armored, struct buf *b)
{
	rnp_input_t	 in;
	rnp_output_t	 out;
	enum result	 r = OK;

	if (!armored)
		return buf_append(b, k->bin.data, k->bin.len) == 0 ? OK :
		    TEMPFAIL;
	if (rnp_input_from_memory(&in, k->bin.data, k->bin.len, false)
	    != RNP_SUCCESS)
		return TEMPFAIL;
	if (rnp_output_to_memory(&out, 0) != RNP_SUCCESS) {
		(void)rnp_input_destroy(in);
		return TEMPFAIL;
	}
	if (rnp_enarmor(in, out, "public key") != RNP_SUCCESS
	    || openpgp_out_take(out, b) != 0)
		r = TEMPFAIL;
	(void)rnp_output_destroy(out);
	(void)rnp_input_destroy(in);
	return r;
}

/* openpgp_key_free - release a kept key */
void
openpgp_key_free(struct openpgp_key *k)
{
	buf_free(&k->bin);
	memset(k, 0, sizeof(*k));
	buf_init(&k->bin, 0);
}
