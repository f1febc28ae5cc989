/*
 * openpgp_pcert.c - a pseudonym's key certified by the list key, and a
 * pseudonym's key rotated under the old key's certification, the old key
 * then revoked as superseded (#18).
 *
 * The list key certifies the pseudonym key's one UID, so that a member who
 * trusts the list key can tell the pseudonym key is the list's; a rotated
 * key is certified by the old key too. librnp 0.16 (Debian 12) cannot make
 * a certification of another key's UID (rnp_key_certification_create came
 * with librnp 0.18.0), and we write no OpenPGP of our own: sq makes it
 * (openpgp_sq.c, through pipes, nothing on disk), librnp merges it into
 * the key and checks that it is valid before the key is kept.
 *
 * librnp merges a certification into the public key only and exports the
 * secret key without it, so a certified key's blob is its secret key
 * followed by its public key; loaded together they are one key again.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "mail/openpgp_int.h"
#include "mail/openpgp_pseud.h"
#include "mail/openpgp_sq.h"

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
 * openpgp_uid_certified - how many signatures on the key's UID were made by
 * keyid (NULL: by any key but the pseudonym's own), valid ones only if
 * check (the signer must be in the context): -1 unreadable
 */
int
openpgp_uid_certified(rnp_key_handle_t key, const char *keyid, int check)
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

	if (openpgp_pseud_open(s, &ffi, &key, why, sizeof(why)) != OK)
		return -1;
	n = openpgp_uid_certified(key, NULL, 0);
	(void)openpgp_close(ffi, key, OK, NULL, NULL, 0);
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
	rnp_result_t rc;

	buf_init(&pub, 0);
	if ((r = openpgp_list_public(list, 0, &pub, why, whylen)) == OK)
		r = openpgp_load(ffi, pub.data, pub.len,
		    RNP_LOAD_SAVE_PUBLIC_KEYS, why, whylen);
	buf_free(&pub);
	if (r != OK)
		return r;
	/* the key was just loaded: not finding it is librnp's failure */
	if (openpgp_list_fingerprint(list, fpr) != OK ||
	    openpgp_locate(ffi, fpr, &lk) != OK)
		return TEMPFAIL;
	rc = rnp_key_get_keyid(lk, keyid);
	(void)rnp_key_handle_destroy(lk);
	return rc == RNP_SUCCESS ? OK : TEMPFAIL;
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
	if (openpgp_close(ffi, key, r, "exporting the certifier's key failed",
	    why, whylen) != OK)
		return r;
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
	if (r == OK && openpgp_uid_certified(key, keyid, 1) < 1) {
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
	if ((r = openpgp_pseud_open(s, &ffi, &key, why, whylen)) != OK)
		return r;
	if ((r = certify_in(ffi, key, list, now, why, whylen)) == OK &&
	    (r = with_public(key, out)) != OK)
		WHY(why, whylen, "exporting the certified key failed");
	return openpgp_close(ffi, key, r, NULL, NULL, 0);
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
 * with the UID uid (the caller builds it from the pseudonym's data and
 * the list's words, which may have changed since old was made; NULL:
 * old's), its UID certified by old and by the list's key list: *out, to
 * seal in old's place.  Not OK (why): none made.
 */
enum result
openpgp_pseud_rotate(const struct openpgp_secret *old,
    const struct openpgp_secret *list, const char *uid, uint32_t now,
    struct openpgp_secret **out, char *why, size_t whylen)
{
	struct openpgp_secret *fresh;
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key;
	char		 olduid[600];
	enum result	 r;

	*out = NULL;
	if (uid == NULL && openpgp_pseud_uid(old, olduid, sizeof(olduid)) < 0) {
		WHY(why, whylen, "the pseudonym's key has no usable UID");
		return TEMPFAIL;
	}
	if (uid == NULL)
		uid = olduid;
	if ((r = openpgp_pseud_generate(uid, now, &fresh, why, whylen)) != OK)
		return r;
	if ((r = openpgp_pseud_open(fresh, &ffi, &key, why, whylen)) == OK) {
		if ((r = rotate_in(ffi, key, old, list, now, why, whylen))
		    == OK && (r = with_public(key, out)) != OK)
			WHY(why, whylen, "exporting the new key failed");
		r = openpgp_close(ffi, key, r, NULL, NULL, 0);
	}
	openpgp_secret_free(fresh);
	return r;
}


/* revoke_in - key revoked by itself at now, "superseded" by the key fpr */
static enum result
revoke_in(rnp_ffi_t ffi, rnp_key_handle_t key, const char *fpr,
    uint32_t now)
{
	char reason[80];

	(void)snprintf(reason, sizeof(reason), "superseded by %s", fpr);
	if (now != 0 && rnp_set_timestamp(ffi, now) != RNP_SUCCESS)
		return TEMPFAIL;
	/* a soft reason: what the key signed before now stays valid */
	return rnp_key_revoke(key, 0, "SHA256", "superseded", reason) ==
	    RNP_SUCCESS ? OK : TEMPFAIL;
}

/*
 * openpgp_pseud_revoked - the public key of old, revoked by itself at now
 * as superseded by the key fpr (a rotation), armoured (armored 1) or
 * binary, appended to pub. "Superseded" is a soft revocation (RFC 4880
 * 5.2.3.23): the signatures old made before now stay valid.
 */
enum result
openpgp_pseud_revoked(const struct openpgp_secret *old, const char *fpr,
    uint32_t now, int armored, struct buf *pub, char *why, size_t whylen)
{
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key;
	enum result	 r;

	if ((r = openpgp_pseud_open(old, &ffi, &key, why, whylen)) != OK)
		return r;
	if ((r = revoke_in(ffi, key, fpr, now)) != OK)
		WHY(why, whylen, "librnp could not revoke the old key");
	else if ((r = openpgp_export_public(key, armored, pub)) != OK)
		WHY(why, whylen, "exporting the revoked key failed");
	return openpgp_close(ffi, key, r, NULL, NULL, 0);
}
