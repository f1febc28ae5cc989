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
 * The list key certifies the pseudonym's UID (openpgp_pseud_certify), so a
 * member who trusts the list key can tell the pseudonym key is the list's.
 * librnp 0.16 (Debian 12) cannot make a certification of another key's
 * UID (rnp_key_certification_create came with librnp 0.18.0), so sq makes
 * it (openpgp_sq.c, through pipes) and librnp merges it and checks it.
 * The minimal key (Autocrypt's keydata, `keys NAME`) carries it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "mail/openpgp_int.h"
#include "mail/openpgp_pseud.h"
#include "mail/openpgp_sq.h"

/*
 * openpgp_pseud_generate - a new pseudonym key with UID uid, dated created
 * (0: now). The UID is the caller's: one line, no CR or LF.
 */
enum result
openpgp_pseud_generate(const char *uid, uint32_t created,
    struct openpgp_secret **sp, char *why, size_t whylen)
{
	static const char *const hashes[] = { "SHA256", NULL };

	if (!*uid || strlen(uid) > 400 || strpbrk(uid, "\r\n") != NULL) {
		WHY(why, whylen, "the pseudonym's UID is unusable");
		return PERMFAIL;
	}
	return openpgp_generate(uid, hashes, created, sp,
	    "pseudonym key generation failed", why, whylen);
}

/* pseud_open - a context holding the pseudonym's secret key and its primary */
static enum result
pseud_open(const struct openpgp_secret *s, rnp_ffi_t *ffi,
    rnp_key_handle_t *key, char *why, size_t whylen)
{
	return openpgp_open(s, ffi, key,
	    "pseudonym key blob holds no single key", why, whylen);
}

static enum result add_signer(rnp_ffi_t, rnp_op_sign_t,
    const struct openpgp_secret *, uint32_t);

/*
 * pseud_detached - an armoured SHA256 detached signature over in, by key
 * and (if not NULL) also by the key also: two signatures in one block
 */
static enum result
pseud_detached(rnp_ffi_t ffi, rnp_key_handle_t key,
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
	rnp_input_t	 in;
	enum result	 r;

	if ((r = pseud_open(s, &ffi, &key, why, whylen)) != OK)
		return r;
	if (rnp_input_from_memory(&in, data, len, false) != RNP_SUCCESS)
		r = TEMPFAIL;
	else {
		r = pseud_detached(ffi, key, also, in, created, sig);
		(void)rnp_input_destroy(in);
	}
	if (r != OK)
		WHY(why, whylen, "signing with the pseudonym's key failed");
	(void)rnp_key_handle_destroy(key);
	(void)rnp_ffi_destroy(ffi);
	return r;
}

/* openpgp_pseud_sign - the same, by the pseudonym alone */
enum result
openpgp_pseud_sign(const struct openpgp_secret *s, const void *data,
    size_t len, uint32_t created, struct buf *sig, char *why, size_t whylen)
{
	return openpgp_pseud_sign_also(s, NULL, data, len, created, sig, why,
	    whylen);
}

/* pseud_armor - binary key packets as an armoured public key block */
static enum result
pseud_armor(rnp_key_handle_t key, rnp_output_t out)
{
	rnp_output_t	 arm;
	rnp_result_t	 rc;

	if (rnp_output_to_armor(out, &arm, "public key") != RNP_SUCCESS)
		return TEMPFAIL;
	rc = rnp_key_export_autocrypt(key, NULL, NULL, arm, 0);
	if (rnp_output_finish(arm) != RNP_SUCCESS)
		rc = RNP_ERROR_WRITE;
	(void)rnp_output_destroy(arm);
	return rc == RNP_SUCCESS ? OK : TEMPFAIL;
}

static int uid_certified_by(rnp_key_handle_t, const char *, int);

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
	    subs == 1 && uid_certified_by(key, NULL, 0) > 0;
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
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key;
	rnp_output_t	 out;
	enum result	 r;

	if ((r = pseud_open(s, &ffi, &key, why, whylen)) != OK)
		return r;
	if (is_certified(key))
		r = whole_key(key, armored, b);
	else if (rnp_output_to_memory(&out, 0) != RNP_SUCCESS)
		r = TEMPFAIL;
	else {
		if (armored)
			r = pseud_armor(key, out);
		else if (rnp_key_export_autocrypt(key, NULL, NULL, out,
		    RNP_KEY_EXPORT_BASE64) != RNP_SUCCESS)
			r = TEMPFAIL;
		if (r == OK && openpgp_out_take(out, b) != 0)
			r = TEMPFAIL;
		(void)rnp_output_destroy(out);
	}
	if (r != OK)
		WHY(why, whylen, "exporting the pseudonym's key failed");
	(void)rnp_key_handle_destroy(key);
	(void)rnp_ffi_destroy(ffi);
	return r;
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
	if (!*uid || strlen(uid) > 400 || strpbrk(uid, "\r\n") != NULL) {
		WHY(why, whylen, "the pseudonym's UID is unusable");
		return PERMFAIL;
	}
	if ((r = pseud_open(s, &ffi, &key, why, whylen)) != OK)
		return r;
	if ((same = pseud_uid_is(key, uid)) < 0)
		r = TEMPFAIL;
	else if (!same) {
		if (now != 0 && rnp_set_timestamp(ffi, now) != RNP_SUCCESS)
			r = TEMPFAIL;
		/* flags: certify (0x01) and sign (0x02), as the first UID's */
		if (r == OK && rnp_key_add_uid(key, uid, "SHA256", 0, 0x03,
		    true) != RNP_SUCCESS)
			r = TEMPFAIL;
		if (r == OK)
			r = drop_other_uids(key, uid);
		if (r == OK)
			r = openpgp_secret_export(key, out);
	}
	if (r != OK)
		WHY(why, whylen, "renaming the pseudonym's key failed");
	(void)rnp_key_handle_destroy(key);
	(void)rnp_ffi_destroy(ffi);
	return r;
}

/* uid_at0 - the key's one UID handle (a pseudonym key has exactly one) */
static enum result
uid_at0(rnp_key_handle_t key, rnp_uid_handle_t *uid)
{
	size_t n;

	if (rnp_key_get_uid_count(key, &n) != RNP_SUCCESS || n != 1)
		return PERMFAIL;
	return rnp_key_get_uid_handle_at(key, 0, uid) == RNP_SUCCESS ?
	    OK : TEMPFAIL;
}

/* sig_by - is sig made by keyid (and, if check, valid)? 1 yes, 0 no */
static int
sig_by(rnp_signature_handle_t sig, const char *keyid, int check)
{
	char *id = NULL;
	int by;

	if (rnp_signature_get_keyid(sig, &id) != RNP_SUCCESS || id == NULL)
		return 0;
	by = keyid == NULL ? 1 : strcasecmp(id, keyid) == 0;
	rnp_buffer_destroy(id);
	if (by && check && rnp_signature_is_valid(sig, 0) != RNP_SUCCESS)
		by = 0;
	return by;
}

/*
 * uid_certified_by - how many signatures on the key's UID were made by
 * keyid (NULL: by any key but the pseudonym's own), valid ones only if
 * check (the signer must be in the context): -1 unreadable
 */
static int
uid_certified_by(rnp_key_handle_t key, const char *keyid, int check)
{
	rnp_uid_handle_t uid;
	rnp_signature_handle_t sig;
	char *own = NULL;
	size_t n, i;
	int found = 0;

	if (uid_at0(key, &uid) != OK)
		return -1;
	if (rnp_key_get_keyid(key, &own) != RNP_SUCCESS ||
	    rnp_uid_get_signature_count(uid, &n) != RNP_SUCCESS) {
		rnp_buffer_destroy(own);
		(void)rnp_uid_handle_destroy(uid);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (rnp_uid_get_signature_at(uid, i, &sig) != RNP_SUCCESS)
			continue;
		if (keyid != NULL ? sig_by(sig, keyid, check) :
		    !sig_by(sig, own, 0))
			found++;
		(void)rnp_signature_handle_destroy(sig);
	}
	rnp_buffer_destroy(own);
	(void)rnp_uid_handle_destroy(uid);
	return found;
}

/*
 * openpgp_pseud_certified - does the pseudonym key's UID carry a
 * certification by another key (the list's)? 1 yes, 0 no, -1 unreadable.
 * A key made before certifications, or renamed, has none.
 */
int
openpgp_pseud_certified(const struct openpgp_secret *s)
{
	char why[OPENPGP_WHY_SIZE];
	rnp_ffi_t ffi;
	rnp_key_handle_t key;
	int n;

	if (pseud_open(s, &ffi, &key, why, sizeof(why)) != OK)
		return -1;
	n = uid_certified_by(key, NULL, 0);
	(void)rnp_key_handle_destroy(key);
	(void)rnp_ffi_destroy(ffi);
	return n < 0 ? -1 : n > 0;
}

/* signer_keyid - load the certifier's public key into ffi; its key id */
static enum result
signer_keyid(rnp_ffi_t ffi, const struct openpgp_secret *list, char **keyid,
    char *why, size_t whylen)
{
	struct buf pub;
	rnp_key_handle_t lk;
	char fpr[OPENPGP_FPR_SIZE];
	enum result r;

	buf_init(&pub, 0);
	if ((r = openpgp_list_public(list, 0, &pub, why, whylen)) == OK)
		r = openpgp_load(ffi, pub.data, pub.len,
		    RNP_LOAD_SAVE_PUBLIC_KEYS, why, whylen);
	buf_free(&pub);
	if (r == OK && openpgp_list_fingerprint(list, fpr) != OK)
		r = TEMPFAIL;
	if (r == OK && (rnp_locate_key(ffi, "fingerprint", fpr, &lk)
	    != RNP_SUCCESS || lk == NULL))
		r = TEMPFAIL;
	if (r != OK)
		return r;
	if (rnp_key_get_keyid(lk, keyid) != RNP_SUCCESS)
		r = TEMPFAIL;
	(void)rnp_key_handle_destroy(lk);
	return r;
}

/* merge - sq's certified certificate into ffi (the pseudonym's key) */
static enum result
merge(rnp_ffi_t ffi, const struct buf *cert)
{
	rnp_input_t in;
	rnp_result_t rc;

	if (rnp_input_from_memory(&in, cert->data, cert->len, false)
	    != RNP_SUCCESS)
		return TEMPFAIL;
	rc = rnp_import_keys(ffi, in, RNP_LOAD_SAVE_PUBLIC_KEYS |
	    RNP_LOAD_SAVE_SINGLE, NULL);
	(void)rnp_input_destroy(in);
	return rc == RNP_SUCCESS ? OK : PERMFAIL;
}

/*
 * sq_certify - sq's certification by certifier, given as one transferable
 * secret key (a certified pseudonym key's blob has its public key after
 * it, which sq would take for a keyring)
 */
static enum result
sq_certify(const struct openpgp_secret *certifier, const struct buf *pub,
    const char *uid, uint32_t now, struct buf *cert, char *why,
    size_t whylen)
{
	struct openpgp_secret *one;
	rnp_ffi_t ffi;
	rnp_key_handle_t key;
	enum result r;

	if ((r = openpgp_open(certifier, &ffi, &key,
	    "the certifier's blob holds no single key", why, whylen)) != OK)
		return r;
	r = openpgp_secret_export(key, &one);
	(void)rnp_key_handle_destroy(key);
	(void)rnp_ffi_destroy(ffi);
	if (r != OK) {
		WHY(why, whylen, "exporting the certifier's key failed");
		return r;
	}
	r = openpgp_sq_certify(one->data, one->len, pub->data, pub->len, uid,
	    now, cert, why, whylen);
	openpgp_secret_free(one);
	return r;
}

/* certify_in - have sq certify key's UID by list (or another certifier),
 * merge the certification into key, check it */
static enum result
certify_in(rnp_ffi_t ffi, rnp_key_handle_t key,
    const struct openpgp_secret *list, uint32_t now, char *why,
    size_t whylen)
{
	struct buf pub, cert;
	char *uid = NULL, *keyid = NULL;
	enum result r;

	buf_init(&pub, 0);
	buf_init(&cert, 0);
	if ((r = signer_keyid(ffi, list, &keyid, why, whylen)) != OK)
		return r;
	if (rnp_key_get_primary_uid(key, &uid) != RNP_SUCCESS)
		r = TEMPFAIL;
	if (r == OK) {
		rnp_output_t out;

		if (rnp_output_to_memory(&out, 0) != RNP_SUCCESS)
			r = TEMPFAIL;
		else {
			if (rnp_key_export_autocrypt(key, NULL, NULL, out, 0)
			    != RNP_SUCCESS || openpgp_out_take(out, &pub) != 0)
				r = TEMPFAIL;
			(void)rnp_output_destroy(out);
		}
	}
	if (r == OK)
		r = sq_certify(list, &pub, uid, now, &cert, why, whylen);
	if (r == OK && (r = merge(ffi, &cert)) != OK)
		WHY(why, whylen, "librnp refused sq's certificate");
	/* the tool's word is not taken: librnp must find it valid */
	if (r == OK && uid_certified_by(key, keyid, 1) < 1) {
		WHY(why, whylen, "no valid certification by the list key");
		r = PERMFAIL;
	}
	rnp_buffer_destroy(uid);
	rnp_buffer_destroy(keyid);
	buf_free(&pub);
	buf_free(&cert);
	return r;
}

/*
 * with_public - the secret key followed by its public key: librnp merges
 * a certification into the public key only, and exports the secret key
 * without it; loaded together (openpgp_open) the two are one key again
 */
static enum result
with_public(rnp_key_handle_t key, struct openpgp_secret **out)
{
	struct openpgp_secret *sec, *both;
	struct buf pub;
	enum result r;

	if ((r = openpgp_secret_export(key, &sec)) != OK)
		return r;
	buf_init(&pub, 0);
	if ((r = openpgp_export_public(key, 0, &pub)) == OK) {
		unsigned char *d = sodium_malloc(sec->len + pub.len);

		if (d == NULL)
			r = TEMPFAIL;
		else {
			memcpy(d, sec->data, sec->len);
			memcpy(d + sec->len, pub.data, pub.len);
			r = openpgp_secret_load(d, sec->len + pub.len, &both);
			sodium_free(d);
		}
	}
	buf_free(&pub);
	openpgp_secret_free(sec);
	if (r == OK)
		*out = both;
	return r;
}

/*
 * openpgp_pseud_certify - the pseudonym key s with its UID certified by
 * the list's key list at now: *out, to seal in s's place.  Not OK: no
 * certification (why); s is unchanged and stays usable without it.
 */
enum result
openpgp_pseud_certify(const struct openpgp_secret *list,
    const struct openpgp_secret *s, uint32_t now,
    struct openpgp_secret **out, char *why, size_t whylen)
{
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key;
	enum result	 r;

	*out = NULL;
	if ((r = pseud_open(s, &ffi, &key, why, whylen)) != OK)
		return r;
	if ((r = certify_in(ffi, key, list, now, why, whylen)) == OK &&
	    (r = with_public(key, out)) != OK)
		WHY(why, whylen, "exporting the certified key failed");
	(void)rnp_key_handle_destroy(key);
	(void)rnp_ffi_destroy(ffi);
	return r;
}

/* pseud_uid_of - the key's one UID, for the caller to rnp_buffer_destroy */
static enum result
pseud_uid_of(const struct openpgp_secret *s, char **uid, char *why,
    size_t whylen)
{
	rnp_ffi_t ffi;
	rnp_key_handle_t key;
	enum result r;

	if ((r = pseud_open(s, &ffi, &key, why, whylen)) != OK)
		return r;
	if (rnp_key_get_primary_uid(key, uid) != RNP_SUCCESS)
		r = TEMPFAIL;
	(void)rnp_key_handle_destroy(key);
	(void)rnp_ffi_destroy(ffi);
	return r;
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

/* rotate_in - key's UID certified by the old key, then by the list's */
static enum result
rotate_in(rnp_ffi_t ffi, rnp_key_handle_t key, const struct openpgp_secret *old,
    const struct openpgp_secret *list, uint32_t now, char *why, size_t whylen)
{
	enum result r;

	/* the old key vouches for the new: what "rotated" means (#18) */
	if ((r = certify_in(ffi, key, old, now, why, whylen)) != OK)
		return r;
	return certify_in(ffi, key, list, now, why, whylen);
}

/*
 * openpgp_pseud_rotate - a new key for the pseudonym of old, made at now
 * with old's UID (its address stays), its UID certified by old and by the
 * list's key list: *out, to seal in old's place.  Not OK (why): none made.
 */
enum result
openpgp_pseud_rotate(const struct openpgp_secret *old,
    const struct openpgp_secret *list, uint32_t now,
    struct openpgp_secret **out, char *why, size_t whylen)
{
	struct openpgp_secret *fresh;
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key;
	char		*uid;
	enum result	 r;

	*out = NULL;
	if ((r = pseud_uid_of(old, &uid, why, whylen)) != OK)
		return r;
	r = openpgp_pseud_generate(uid, now, &fresh, why, whylen);
	rnp_buffer_destroy(uid);
	if (r != OK)
		return r;
	if ((r = pseud_open(fresh, &ffi, &key, why, whylen)) == OK) {
		if ((r = rotate_in(ffi, key, old, list, now, why, whylen))
		    == OK && (r = with_public(key, out)) != OK)
			WHY(why, whylen, "exporting the new key failed");
		(void)rnp_key_handle_destroy(key);
		(void)rnp_ffi_destroy(ffi);
	}
	openpgp_secret_free(fresh);
	return r;
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
