/*
 * openpgp_pseud.c - a pseudonym's own OpenPGP key over librnp (#18).
 *
 * Each pseudonym on a list gets a key of its own: an Ed25519 primary (sign,
 * certify) with a cv25519 encryption subkey and one UID, "NAME via LIST
 * <LIST+p-HANDLE@host>", so that a mail client that checks the signer's UID
 * against From (Thunderbird) or takes the key from the Autocrypt header of
 * the same address (Delta Chat, K-9) sees one key per pseudonym.  Nothing
 * of the member goes into it: fresh randomness, the pseudonym's address.
 *
 * Like the list key (openpgp.c), the key travels as a transferable secret
 * key in sodium_malloc'ed memory that the caller seals under the master key;
 * every operation loads it into a context of its own.
 *
 * The list key certifies the pseudonym's UID (openpgp_pcert.c); the
 * minimal key (Autocrypt's keydata, `keys NAME`) carries that certification.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "mail/openpgp_int.h"
#include "mail/openpgp_pseud.h"

/*
 * pseud_uid_usable - may uid be a pseudonym key's UID (one line, not empty,
 * short)? The key is made and renamed with the same test; 0 says why
 */
static int
pseud_uid_usable(const char *uid, char *why, size_t whylen)
{
	if (*uid && strlen(uid) <= 400 && strpbrk(uid, "\r\n") == NULL)
		return 1;
	WHY(why, whylen, "the pseudonym's UID is unusable");
	return 0;
}

/*
 * openpgp_pseud_generate - a new pseudonym key with UID uid, dated created
 * (0: now). The UID is the caller's: one line, no CR or LF.
 */
enum result
openpgp_pseud_generate(const char *uid, uint32_t created,
    struct openpgp_secret **sp, char *why, size_t whylen)
{
	static const char *const hashes[] = { "SHA256", NULL };

	if (!pseud_uid_usable(uid, why, whylen))
		return PERMFAIL;
	return openpgp_generate(uid, hashes, created, sp,
	    "pseudonym key generation failed", why, whylen);
}

/*
 * openpgp_pseud_open - a context holding the pseudonym's secret key and its
 * primary (openpgp_pcert.c opens it too)
 */
enum result
openpgp_pseud_open(const struct openpgp_secret *s, rnp_ffi_t *ffi,
    rnp_key_handle_t *key, char *why, size_t whylen)
{
	return openpgp_open(s, ffi, key,
	    "pseudonym key blob holds no single key", why, whylen);
}

/* add_signer - also's secret key loaded into ffi, signing in op too */
static enum result
add_signer(rnp_ffi_t ffi, rnp_op_sign_t op, const struct openpgp_secret *also,
    uint32_t created)
{
	char why[OPENPGP_WHY_SIZE], fpr[OPENPGP_FPR_SIZE];
	rnp_op_sign_signature_t one;
	rnp_key_handle_t k;
	rnp_result_t rc;

	if (openpgp_list_fingerprint(also, fpr) != OK ||
	    openpgp_load(ffi, also->data, also->len, RNP_LOAD_SAVE_PUBLIC_KEYS |
	    RNP_LOAD_SAVE_SECRET_KEYS, why, sizeof(why)) != OK ||
	    openpgp_locate(ffi, fpr, &k) != OK)
		return TEMPFAIL;
	rc = rnp_op_sign_add_signature(op, k, &one);
	if (rc == RNP_SUCCESS)
		rc = rnp_op_sign_signature_set_hash(one, "SHA256");
	if (rc == RNP_SUCCESS)
		rc = rnp_op_sign_signature_set_creation_time(one, created);
	(void)rnp_key_handle_destroy(k);
	return rc == RNP_SUCCESS ? OK : TEMPFAIL;
}

/*
 * detached_in - an armoured SHA256 detached signature over in, by key
 * and (if not NULL) also by the key also: two signatures in one block
 */
static enum result
detached_in(rnp_ffi_t ffi, rnp_key_handle_t key,
    const struct openpgp_secret *also, rnp_input_t in, uint32_t created,
    struct buf *sig)
{
	rnp_op_sign_t	 op;
	rnp_op_sign_signature_t one;
	rnp_output_t	 out;
	rnp_result_t	 rc;

	if (rnp_output_to_memory(&out, 0) != RNP_SUCCESS)
		return TEMPFAIL;
	rc = rnp_op_sign_detached_create(&op, ffi, in, out);
	if (rc == RNP_SUCCESS) {
		rc = rnp_op_sign_add_signature(op, key, &one);
		if (rc == RNP_SUCCESS)
			rc = rnp_op_sign_signature_set_hash(one, "SHA256");
		/* the copy's Date: Thunderbird flags a sign time far from it */
		if (rc == RNP_SUCCESS)
			rc = rnp_op_sign_signature_set_creation_time(one,
			    created);
		if (rc == RNP_SUCCESS && also != NULL &&
		    add_signer(ffi, op, also, created) != OK)
			rc = RNP_ERROR_GENERIC;
		if (rc == RNP_SUCCESS)
			rc = rnp_op_sign_set_armor(op, true);
		if (rc == RNP_SUCCESS)
			rc = rnp_op_sign_execute(op);
		(void)rnp_op_sign_destroy(op);
	}
	if (rc == RNP_SUCCESS && openpgp_out_take(out, sig) != 0)
		rc = RNP_ERROR_OUT_OF_MEMORY;
	(void)rnp_output_destroy(out);
	return rc == RNP_SUCCESS ? OK : TEMPFAIL;
}

/* pseud_detached - the same over len bytes at data */
static enum result
pseud_detached(rnp_ffi_t ffi, rnp_key_handle_t key,
    const struct openpgp_secret *also, const void *data, size_t len,
    uint32_t created, struct buf *sig)
{
	rnp_input_t	 in;
	enum result	 r;

	if (rnp_input_from_memory(&in, data, len, false) != RNP_SUCCESS)
		return TEMPFAIL;
	r = detached_in(ffi, key, also, in, created, sig);
	(void)rnp_input_destroy(in);
	return r;
}

/*
 * openpgp_pseud_sign_also - an armoured detached signature (RFC 3156
 * section 5) by the pseudonym over data (the signed MIME entity, CRLF),
 * and by also too if not NULL (a rotation's announcement: the old key and
 * the list's), made at created; appended to sig
 */
enum result
openpgp_pseud_sign_also(const struct openpgp_secret *s,
    const struct openpgp_secret *also, const void *data, size_t len,
    uint32_t created, struct buf *sig, char *why, size_t whylen)
{
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key;
	enum result	 r;

	if ((r = openpgp_pseud_open(s, &ffi, &key, why, whylen)) != OK)
		return r;
	r = pseud_detached(ffi, key, also, data, len, created, sig);
	return openpgp_close(ffi, key, r,
	    "signing with the pseudonym's key failed", why, whylen);
}

/* openpgp_pseud_sign - the same, by the pseudonym alone */
enum result
openpgp_pseud_sign(const struct openpgp_secret *s, const void *data,
    size_t len, uint32_t created, struct buf *sig, char *why, size_t whylen)
{
	return openpgp_pseud_sign_also(s, NULL, data, len, created, sig, why,
	    whylen);
}

/*
 * autocrypt_write - librnp's minimal (Autocrypt) export of key into out:
 * base64 without line breaks, or (armored) an armoured public key block
 */
static rnp_result_t
autocrypt_write(rnp_key_handle_t key, rnp_output_t out, uint32_t armored)
{
	rnp_output_t	 arm;
	rnp_result_t	 rc;

	if (!armored)
		return rnp_key_export_autocrypt(key, NULL, NULL, out,
		    RNP_KEY_EXPORT_BASE64);
	if ((rc = rnp_output_to_armor(out, &arm, "public key")) !=
	    RNP_SUCCESS)
		return rc;
	rc = rnp_key_export_autocrypt(key, NULL, NULL, arm, 0);
	if (rnp_output_finish(arm) != RNP_SUCCESS)
		rc = RNP_ERROR_WRITE;
	(void)rnp_output_destroy(arm);
	return rc;
}

/* base64_of - b64 of bin without line breaks (Autocrypt's keydata) */
static enum result
base64_of(const struct buf *bin, struct buf *b)
{
	size_t n = sodium_base64_encoded_len(bin->len,
	    sodium_base64_VARIANT_ORIGINAL);

	if (buf_reserve(b, n) < 0)
		return TEMPFAIL;
	(void)sodium_bin2base64((char *)b->data + b->len, n, bin->data,
	    bin->len, sodium_base64_VARIANT_ORIGINAL);
	b->len += n - 1;	/* not the NUL */
	return OK;
}

/*
 * whole_key - a certified pseudonym key goes out whole: librnp's minimal
 * (Autocrypt) export keeps self-signatures only and would drop the list's
 * certification; a pseudonym key has one UID and one subkey anyway
 */
static enum result
whole_key(rnp_key_handle_t key, int armored, struct buf *b)
{
	struct buf bin;
	enum result r;

	if (armored)
		return openpgp_export_public(key, 1, b);
	buf_init(&bin, 0);
	if ((r = openpgp_export_public(key, 0, &bin)) == OK)
		r = base64_of(&bin, b);
	buf_free(&bin);
	return r;
}

/* is_certified - one UID certified by another key, one subkey */
static int
is_certified(rnp_key_handle_t key)
{
	size_t subs;

	return rnp_key_get_subkey_count(key, &subs) == RNP_SUCCESS &&
	    subs == 1 && openpgp_uid_certified(key, NULL, 0) > 0;
}

/* minimal_export - the pseudonym key as openpgp_pseud_minimal gives it */
static enum result
minimal_export(rnp_key_handle_t key, int armored, struct buf *b)
{
	return is_certified(key) ? whole_key(key, armored, b) :
	    openpgp_export_with(key, autocrypt_write, armored, b);
}

/*
 * openpgp_pseud_minimal - the pseudonym's minimal public key (primary, UID,
 * encryption subkey, their self-signatures and the list's certification:
 * Autocrypt's "keydata"), base64 without line breaks (armored 0) or as an
 * armoured block (armored 1)
 */
enum result
openpgp_pseud_minimal(const struct openpgp_secret *s, int armored,
    struct buf *b, char *why, size_t whylen)
{
	return openpgp_opened_export(s, openpgp_pseud_open, minimal_export,
	    armored, b, "exporting the pseudonym's key failed", why, whylen);
}

/* pseud_signer - the key of a valid signature: its fingerprint and UID */
static enum result
pseud_signer(rnp_op_verify_t op, struct openpgp_signer *who)
{
	rnp_op_verify_signature_t s;
	rnp_key_handle_t key;
	uint32_t	 created, expires;
	char		*uid = NULL, *hash = NULL;
	size_t		 n;

	if (rnp_op_verify_get_signature_count(op, &n) != RNP_SUCCESS || n != 1
	    || rnp_op_verify_get_signature_at(op, 0, &s) != RNP_SUCCESS)
		return PERMFAIL;
	if (rnp_op_verify_signature_get_status(s) != RNP_SUCCESS)
		return PERMFAIL;
	if (rnp_op_verify_signature_get_times(s, &created, &expires)
	    == RNP_SUCCESS)
		who->created = created;
	if (rnp_op_verify_signature_get_hash(s, &hash) == RNP_SUCCESS) {
		(void)snprintf(who->hash, sizeof(who->hash), "%s", hash);
		rnp_buffer_destroy(hash);
	}
	if (rnp_op_verify_signature_get_key(s, &key) != RNP_SUCCESS
	    || key == NULL)
		return PERMFAIL;
	if (openpgp_fpr(key, who->fpr) != 0
	    || rnp_key_get_primary_uid(key, &uid) != RNP_SUCCESS) {
		(void)rnp_key_handle_destroy(key);
		return PERMFAIL;
	}
	(void)snprintf(who->uid, sizeof(who->uid), "%s", uid);
	rnp_buffer_destroy(uid);
	(void)rnp_key_handle_destroy(key);
	return OK;
}

/*
 * openpgp_pseud_verify - does sig (detached, armoured or binary) over data
 * verify with the one primary key in key (a transferable public key,
 * binary or armoured)? OK: who names the key; PERMFAIL: it does not (why).
 * The key is the caller's choice: one from a message's own Autocrypt
 * header proves only that the message is consistent, not who sent it.
 */
enum result
openpgp_pseud_verify(const void *key, size_t klen, const void *data,
    size_t dlen, const void *sig, size_t slen, struct openpgp_signer *who,
    char *why, size_t whylen)
{
	rnp_ffi_t	 ffi;
	rnp_input_t	 din, sin;
	rnp_op_verify_t	 op;
	enum result	 r;

	memset(who, 0, sizeof(*who));
	if ((r = openpgp_ffi(&ffi)) != OK) {
		WHY(why, whylen, "librnp context failed");
		return r;
	}
	if ((r = openpgp_load(ffi, key, klen, RNP_LOAD_SAVE_PUBLIC_KEYS, why,
	    whylen)) != OK) {
		(void)rnp_ffi_destroy(ffi);
		return r;
	}
	if (rnp_input_from_memory(&din, data, dlen, false) != RNP_SUCCESS)
		r = TEMPFAIL;
	else if (rnp_input_from_memory(&sin, sig, slen, false) != RNP_SUCCESS) {
		(void)rnp_input_destroy(din);
		r = TEMPFAIL;
	} else {
		r = PERMFAIL;
		if (rnp_op_verify_detached_create(&op, ffi, din, sin)
		    == RNP_SUCCESS) {
			/* an invalid signature leaves its status to read */
			(void)rnp_op_verify_execute(op);
			r = pseud_signer(op, who);
			(void)rnp_op_verify_destroy(op);
		}
		(void)rnp_input_destroy(sin);
		(void)rnp_input_destroy(din);
	}
	if (r != OK)
		WHY(why, whylen, "%s", r == PERMFAIL ?
		    "no valid signature by that key" :
		    "cannot read the signature");
	(void)rnp_ffi_destroy(ffi);
	return r;
}

/* drop_other_uids - every UID of key but keep (a renamed pseudonym's) */
static enum result
drop_other_uids(rnp_key_handle_t key, const char *keep)
{
	size_t		 n, i;
	char		*s;
	int		 other;

	if (rnp_key_get_uid_count(key, &n) != RNP_SUCCESS)
		return TEMPFAIL;
	for (i = n; i-- > 0;) {
		if (rnp_key_get_uid_at(key, i, &s) != RNP_SUCCESS)
			return TEMPFAIL;
		other = strcmp(s, keep) != 0;
		rnp_buffer_destroy(s);
		if (!other)
			continue;
		if (openpgp_uid_remove(key, i) != OK)
			return TEMPFAIL;
	}
	return OK;
}

/* pseud_uid_is - is uid the key's primary UID? 1 yes, 0 no, -1 unreadable */
static int
pseud_uid_is(rnp_key_handle_t key, const char *uid)
{
	char	*s;
	int	 same;

	if (rnp_key_get_primary_uid(key, &s) != RNP_SUCCESS)
		return -1;
	same = strcmp(s, uid) == 0;
	rnp_buffer_destroy(s);
	return same;
}

/*
 * openpgp_pseud_rename - a renamed pseudonym keeps its key and gets a new
 * UID (its address, and so the UID's email, stays): *out is the key with
 * uid as its only UID, self-signed at now, or NULL if uid is the one it has
 */
enum result
openpgp_pseud_rename(const struct openpgp_secret *s, const char *uid,
    uint32_t now, struct openpgp_secret **out, char *why, size_t whylen)
{
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key;
	enum result	 r;
	int		 same;

	*out = NULL;
	if (!pseud_uid_usable(uid, why, whylen))
		return PERMFAIL;
	if ((r = openpgp_pseud_open(s, &ffi, &key, why, whylen)) != OK)
		return r;
	if ((same = pseud_uid_is(key, uid)) < 0)
		r = TEMPFAIL;
	else if (!same) {
		if (now != 0 && rnp_set_timestamp(ffi, now) != RNP_SUCCESS)
			r = TEMPFAIL;
		/*
		 * flags: certify (0x01) and sign (0x02), as the first UID's;
		 * not marked primary: librnp refuses a second explicitly
		 * primary UID ("changing the primary userid is not
		 * supported"), and once the old UIDs are dropped it is the
		 * only one, so primary all the same
		 */
		if (r == OK && rnp_key_add_uid(key, uid, "SHA256", 0, 0x03,
		    false) != RNP_SUCCESS)
			r = TEMPFAIL;
		if (r == OK)
			r = drop_other_uids(key, uid);
		if (r == OK)
			r = openpgp_secret_export(key, out);
	}
	return openpgp_close(ffi, key, r,
	    "renaming the pseudonym's key failed", why, whylen);
}

/* pseud_uid_of - the key's one UID, for the caller to rnp_buffer_destroy */
static enum result
pseud_uid_of(const struct openpgp_secret *s, char **uid, char *why,
    size_t whylen)
{
	rnp_ffi_t ffi;
	rnp_key_handle_t key;
	enum result r;

	if ((r = openpgp_pseud_open(s, &ffi, &key, why, whylen)) != OK)
		return r;
	if (rnp_key_get_primary_uid(key, uid) != RNP_SUCCESS)
		r = TEMPFAIL;
	return openpgp_close(ffi, key, r, NULL, NULL, 0);
}

/*
 * openpgp_pseud_uid - the pseudonym key's UID ("NAME via LIST <ADDR>")
 * into uid; -1 unreadable or too long
 */
int
openpgp_pseud_uid(const struct openpgp_secret *s, char *uid, size_t n)
{
	char why[OPENPGP_WHY_SIZE], *u;
	int k;

	if (pseud_uid_of(s, &u, why, sizeof(why)) != OK)
		return -1;
	k = snprintf(uid, n, "%s", u);
	rnp_buffer_destroy(u);
	return k < 0 || (size_t)k >= n ? -1 : 0;
}

