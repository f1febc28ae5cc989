/*
 * openpgp.c - the list's OpenPGP key over librnp, and what the openpgp_*.c
 * files share.
 *
 * The list key is an Ed25519 primary (certify, sign) with a cv25519
 * encryption subkey and one UID "LIST <LIST@host>".  Callers never see a
 * librnp object: they hold the key as a transferable secret key (binary,
 * unprotected, in sodium_malloc'ed memory) that they seal under the master
 * key, and every operation loads it into a fresh librnp context of its own
 * (librnp contexts are not shared between threads).  librnp keeps its copy
 * in Botan's secure (wiped) memory; the export buffers librnp hands back
 * are wiped here before they are freed.
 *
 * librnp writes diagnostics, which can name key IDs, to stderr; every
 * context gets /dev/null instead, and reasons come back through why.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "mail/openpgp_int.h"

static int	null_fd = -1;
static pthread_once_t null_once = PTHREAD_ONCE_INIT;

/* null_open - the descriptor librnp's diagnostics go to */
static void
null_open(void)
{
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
}

/* openpgp_ffi - a fresh librnp context with in-memory keyrings */
enum result
openpgp_ffi(rnp_ffi_t *ffi)
{
	int	 fd;

	(void)pthread_once(&null_once, null_open);
	/* librnp fdopen()s the log fd and fcloses it with the context */
	if (null_fd < 0 || (fd = fcntl(null_fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return TEMPFAIL;
	if (rnp_ffi_create(ffi, "GPG", "GPG") != RNP_SUCCESS) {
		(void)close(fd);
		return TEMPFAIL;
	}
	if (rnp_ffi_set_log_fd(*ffi, fd) != RNP_SUCCESS) {
		(void)close(fd);
		(void)rnp_ffi_destroy(*ffi);
		return TEMPFAIL;
	}
	return OK;
}

/*
 * import_all - every key of in: binary data one transferable key at a
 * time, so that a certified pseudonym key (its secret key, then its
 * public key with the list's certification, openpgp_pseud.c) loads
 * without librnp's "public keys are mixed together with secret ones"
 * on stderr at every use; armoured data at once, as it may hold several
 * armoured blocks
 */
static rnp_result_t
import_all(rnp_ffi_t ffi, rnp_input_t in, const void *data, uint32_t flags,
    char **res)
{
	rnp_result_t rc;
	int n = 0;

	if (!(*(const unsigned char *)data & 0x80))
		return rnp_import_keys(ffi, in, flags, res);
	while ((rc = rnp_import_keys(ffi, in, flags | RNP_LOAD_SAVE_SINGLE,
	    res)) == RNP_SUCCESS) {
		rnp_buffer_destroy(*res);
		*res = NULL;
		n++;
	}
	return rc == RNP_ERROR_EOF && n > 0 ? RNP_SUCCESS : rc;
}

/* keys_result - librnp's answer to reading keys: OK, or PERMFAIL with why */
static enum result
keys_result(rnp_result_t rc, const char *failed, char *why, size_t whylen)
{
	if (rc == RNP_SUCCESS)
		return OK;
	WHY(why, whylen, "%s (%s)", failed, rnp_result_to_string(rc));
	return PERMFAIL;
}

/* openpgp_load - import keys (armoured or binary) into ffi */
enum result
openpgp_load(rnp_ffi_t ffi, const void *data, size_t len, uint32_t flags,
    char *why, size_t whylen)
{
	rnp_input_t	 in;
	rnp_result_t	 rc;
	char		*res = NULL;

	if (len == 0) {
		WHY(why, whylen, "no key data");
		return PERMFAIL;
	}
	if (rnp_input_from_memory(&in, data, len, false) != RNP_SUCCESS) {
		WHY(why, whylen, "cannot read key data");
		return TEMPFAIL;
	}
	rc = import_all(ffi, in, data, flags, &res);
	rnp_buffer_destroy(res);
	(void)rnp_input_destroy(in);
	return keys_result(rc, "not an OpenPGP key", why, whylen);
}

/*
 * openpgp_member_key - a member's key k into ffi.  With res: imported,
 * its self-signatures checked, its JSON in *res (openpgp_cache.c, once per
 * key).  Without: loaded as it was kept (openpgp_out.c, every copy):
 * rnp_load_keys, not rnp_import_keys, as the key was judged when it was
 * registered and import would check it again for every copy, which is
 * most of a copy's cost; rnp_op_encrypt still picks only a subkey it finds
 * usable.
 */
enum result
openpgp_member_key(rnp_ffi_t ffi, const struct openpgp_key *k, char **res,
    char *why, size_t whylen)
{
	rnp_input_t	 in;
	rnp_result_t	 rc;

	if (res != NULL)
		*res = NULL;
	if (rnp_input_from_memory(&in, k->bin.data, k->bin.len, false)
	    != RNP_SUCCESS) {
		WHY(why, whylen, "no memory for the member key");
		return TEMPFAIL;
	}
	if (res != NULL)
		rc = rnp_import_keys(ffi, in, RNP_LOAD_SAVE_PUBLIC_KEYS |
		    RNP_LOAD_SAVE_SINGLE, res);
	else
		rc = rnp_load_keys(ffi, "GPG", in, RNP_LOAD_SAVE_PUBLIC_KEYS);
	(void)rnp_input_destroy(in);
	return keys_result(rc, "member key did not load", why, whylen);
}

/* openpgp_out_take - append a memory output's bytes to b */
int
openpgp_out_take(rnp_output_t out, struct buf *b)
{
	uint8_t	*p;
	size_t	 n;

	if (rnp_output_memory_get_buf(out, &p, &n, false) != RNP_SUCCESS)
		return -1;
	return buf_append(b, p, n);
}

/* openpgp_out_secret - move a memory output into sodium memory, wipe it */
int
openpgp_out_secret(rnp_output_t out, struct openpgp_secret **sp)
{
	struct openpgp_secret *s;
	uint8_t		*p;
	size_t		 n;

	if (rnp_output_memory_get_buf(out, &p, &n, false) != RNP_SUCCESS)
		return -1;
	if ((s = sodium_malloc(sizeof(*s))) == NULL)
		return -1;
	if ((s->data = sodium_malloc(n ? n : 1)) == NULL) {
		sodium_free(s);
		return -1;
	}
	memcpy(s->data, p, n);
	s->len = n;
	sodium_memzero(p, n);
	*sp = s;
	return 0;
}

/* openpgp_fpr - a key's fingerprint as 40 hex digits */
int
openpgp_fpr(rnp_key_handle_t key, char fpr[OPENPGP_FPR_SIZE])
{
	char	*s;
	int	 n;

	if (rnp_key_get_fprint(key, &s) != RNP_SUCCESS)
		return -1;
	n = snprintf(fpr, OPENPGP_FPR_SIZE, "%s", s);
	rnp_buffer_destroy(s);
	return n == OPENPGP_FPR_SIZE - 1 ? 0 : -1;
}

/* openpgp_locate - the one primary key in ffi (PERMFAIL: none or several) */
enum result
openpgp_locate(rnp_ffi_t ffi, const char *fpr, rnp_key_handle_t *key)
{
	rnp_identifier_iterator_t it;
	rnp_key_handle_t k;
	const char	*id;
	bool		 primary;
	int		 found = 0;

	if (fpr != NULL) {
		if (rnp_locate_key(ffi, "fingerprint", fpr, key) != RNP_SUCCESS
		    || *key == NULL)
			return PERMFAIL;
		return OK;
	}
	if (rnp_identifier_iterator_create(ffi, &it, "fingerprint")
	    != RNP_SUCCESS)
		return TEMPFAIL;
	*key = NULL;
	while (rnp_identifier_iterator_next(it, &id) == RNP_SUCCESS && id) {
		if (rnp_locate_key(ffi, "fingerprint", id, &k) != RNP_SUCCESS
		    || k == NULL)
			continue;
		if (rnp_key_is_primary(k, &primary) == RNP_SUCCESS && primary
		    && found++ == 0) {
			*key = k;
			continue;
		}
		(void)rnp_key_handle_destroy(k);
	}
	(void)rnp_identifier_iterator_destroy(it);
	if (found != 1 && *key != NULL) {
		(void)rnp_key_handle_destroy(*key);
		*key = NULL;
	}
	return found == 1 ? OK : PERMFAIL;
}

/* openpgp_secret_export - the primary and its subkeys as a secret blob */
enum result
openpgp_secret_export(rnp_key_handle_t key, struct openpgp_secret **sp)
{
	rnp_output_t	 out;
	enum result	 r = OK;

	if (rnp_output_to_memory(&out, 0) != RNP_SUCCESS)
		return TEMPFAIL;
	if (rnp_key_export(key, out, RNP_KEY_EXPORT_SECRET |
	    RNP_KEY_EXPORT_SUBKEYS) != RNP_SUCCESS
	    || openpgp_out_secret(out, sp) != 0)
		r = TEMPFAIL;
	(void)rnp_output_destroy(out);
	return r;
}

/* gen_run - the usage flags of a key being made, then make it */
static enum result
gen_run(rnp_op_generate_t op, const char *usage1, const char *usage2,
    rnp_key_handle_t *key)
{
	rnp_result_t	 rc;

	rc = rnp_op_generate_add_usage(op, usage1);
	if (rc == RNP_SUCCESS && usage2 != NULL)
		rc = rnp_op_generate_add_usage(op, usage2);
	if (rc == RNP_SUCCESS)
		rc = rnp_op_generate_set_expiration(op, 0);
	if (rc == RNP_SUCCESS)
		rc = rnp_op_generate_execute(op);
	if (rc == RNP_SUCCESS)
		rc = rnp_op_generate_get_key(op, key);
	(void)rnp_op_generate_destroy(op);
	return rc == RNP_SUCCESS ? OK : TEMPFAIL;
}

/* openpgp_subkey_add - a fresh cv25519 encryption subkey under primary */
enum result
openpgp_subkey_add(rnp_ffi_t ffi, rnp_key_handle_t primary,
    rnp_key_handle_t *sub)
{
	rnp_op_generate_t op;

	if (rnp_op_generate_subkey_create(&op, ffi, primary, "ECDH")
	    != RNP_SUCCESS)
		return TEMPFAIL;
	if (rnp_op_generate_set_curve(op, "Curve25519") != RNP_SUCCESS) {
		(void)rnp_op_generate_destroy(op);
		return TEMPFAIL;
	}
	return gen_run(op, "encrypt", NULL, sub);
}

/*
 * primary_add - the Ed25519 primary with its UID and preferences; hashes
 * (NULL-ended) in order of preference, as each key's owner has chosen
 */
static enum result
primary_add(rnp_ffi_t ffi, const char *uid, const char *const *hashes,
    rnp_key_handle_t *key)
{
	rnp_op_generate_t op;
	rnp_result_t	 rc;

	if (rnp_op_generate_create(&op, ffi, "EDDSA") != RNP_SUCCESS)
		return TEMPFAIL;
	rc = rnp_op_generate_set_userid(op, uid);
	if (rc == RNP_SUCCESS)
		rc = rnp_op_generate_add_pref_cipher(op, "AES256");
	for (; rc == RNP_SUCCESS && *hashes != NULL; hashes++)
		rc = rnp_op_generate_add_pref_hash(op, *hashes);
	if (rc == RNP_SUCCESS)
		rc = rnp_op_generate_add_pref_compression(op, "Uncompressed");
	if (rc != RNP_SUCCESS) {
		(void)rnp_op_generate_destroy(op);
		return TEMPFAIL;
	}
	return gen_run(op, "sign", "certify", key);
}

/*
 * openpgp_generate - a new key (Ed25519 primary with uid, cv25519 subkey)
 * dated created (0: now) as a secret blob; fail is the reason on failure.
 * The list key and every pseudonym's key are made alike.
 */
enum result
openpgp_generate(const char *uid, const char *const *hashes,
    uint32_t created, struct openpgp_secret **sp, const char *fail,
    char *why, size_t whylen)
{
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key = NULL, sub = NULL;
	enum result	 r;

	if ((r = openpgp_ffi(&ffi)) != OK) {
		WHY(why, whylen, "librnp context failed");
		return r;
	}
	/* the keys and their self-signatures carry the caller's time */
	if (created != 0 && rnp_set_timestamp(ffi, created) != RNP_SUCCESS)
		r = TEMPFAIL;
	if (r == OK)
		r = primary_add(ffi, uid, hashes, &key);
	if (r == OK)
		r = openpgp_subkey_add(ffi, key, &sub);
	if (r == OK)
		r = openpgp_secret_export(key, sp);
	if (r != OK)
		WHY(why, whylen, "%s", fail);
	(void)rnp_key_handle_destroy(sub);
	return openpgp_close(ffi, key, r, NULL, NULL, 0);
}

/* openpgp_list_generate - a new list key dated created */
enum result
openpgp_list_generate(const char *list, const char *host, uint32_t created,
    struct openpgp_secret **sp, char *why, size_t whylen)
{
	static const char *const hashes[] = { "SHA512", "SHA256", NULL };
	char		 uid[512];
	int		 n;

	n = snprintf(uid, sizeof(uid), "%s <%s@%s>", list, list, host);
	if (n < 0 || (size_t)n >= sizeof(uid) || !*list || !*host
	    || strpbrk(uid, "\r\n") != NULL) {
		WHY(why, whylen, "list name or host name unusable in a UID");
		return PERMFAIL;
	}
	return openpgp_generate(uid, hashes, created, sp,
	    "key generation failed", why, whylen);
}

/*
 * openpgp_open - a context holding the secret key s, and its one primary;
 * bad is the reason when s holds no single primary
 */
enum result
openpgp_open(const struct openpgp_secret *s, rnp_ffi_t *ffi,
    rnp_key_handle_t *key, const char *bad, char *why, size_t whylen)
{
	enum result	 r;

	if ((r = openpgp_ffi(ffi)) != OK) {
		WHY(why, whylen, "librnp context failed");
		return r;
	}
	r = openpgp_load(*ffi, s->data, s->len, RNP_LOAD_SAVE_PUBLIC_KEYS |
	    RNP_LOAD_SAVE_SECRET_KEYS, why, whylen);
	if (r == OK && (r = openpgp_locate(*ffi, NULL, key)) != OK)
		WHY(why, whylen, "%s", bad);
	if (r != OK)
		(void)rnp_ffi_destroy(*ffi);
	return r;
}

/*
 * openpgp_close - the end of what openpgp_open began: key and context
 * destroyed; when r is not OK, failed (if set) is the cause in why; r
 */
enum result
openpgp_close(rnp_ffi_t ffi, rnp_key_handle_t key, enum result r,
    const char *failed, char *why, size_t whylen)
{
	if (r != OK && failed != NULL)
		WHY(why, whylen, "%s", failed);
	(void)rnp_key_handle_destroy(key);
	(void)rnp_ffi_destroy(ffi);
	return r;
}

/* list_open - a context holding the list's secret key, and its primary */
static enum result
list_open(const struct openpgp_secret *s, rnp_ffi_t *ffi,
    rnp_key_handle_t *key, char *why, size_t whylen)
{
	return openpgp_open(s, ffi, key,
	    "list key blob holds no single primary key", why, whylen);
}

/* openpgp_uid_remove - drop the UID at index i of key */
enum result
openpgp_uid_remove(rnp_key_handle_t key, size_t i)
{
	rnp_uid_handle_t u;
	enum result	 r = OK;

	if (rnp_key_get_uid_handle_at(key, i, &u) != RNP_SUCCESS)
		return TEMPFAIL;
	if (rnp_uid_remove(key, u) != RNP_SUCCESS)
		r = TEMPFAIL;
	(void)rnp_uid_handle_destroy(u);
	return r;
}

/* revoke_old - retire every encryption subkey but keep */
static enum result
revoke_old(rnp_key_handle_t key, rnp_key_handle_t keep)
{
	rnp_key_handle_t sub;
	char		 a[OPENPGP_FPR_SIZE], b[OPENPGP_FPR_SIZE];
	bool		 enc, revoked;
	size_t		 i, n;
	enum result	 r = OK;

	if (rnp_key_get_subkey_count(key, &n) != RNP_SUCCESS
	    || openpgp_fpr(keep, b) != 0)
		return TEMPFAIL;
	for (i = 0; i < n && r == OK; i++) {
		if (rnp_key_get_subkey_at(key, i, &sub) != RNP_SUCCESS)
			return TEMPFAIL;
		if (openpgp_fpr(sub, a) != 0
		    || rnp_key_allows_usage(sub, "encrypt", &enc)
		    != RNP_SUCCESS
		    || rnp_key_is_revoked(sub, &revoked) != RNP_SUCCESS)
			r = TEMPFAIL;
		else if (enc && !revoked && strcmp(a, b) != 0
		    && rnp_key_revoke(sub, 0, NULL, "superseded",
		    "rotated") != RNP_SUCCESS)
			r = TEMPFAIL;
		(void)rnp_key_handle_destroy(sub);
	}
	return r;
}

/*
 * openpgp_list_rotate - a new encryption subkey dated now; the old ones are
 * revoked as superseded (clients stop encrypting to them) but kept, so that
 * posts already encrypted to them still open.
 */
enum result
openpgp_list_rotate(const struct openpgp_secret *s, uint32_t now,
    struct openpgp_secret **sp, char *why, size_t whylen)
{
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key, sub = NULL;
	enum result	 r;

	if ((r = list_open(s, &ffi, &key, why, whylen)) != OK)
		return r;
	if (now != 0 && rnp_set_timestamp(ffi, now) != RNP_SUCCESS)
		r = TEMPFAIL;
	if (r == OK)
		r = openpgp_subkey_add(ffi, key, &sub);
	if (r == OK)
		r = revoke_old(key, sub);
	if (r == OK)
		r = openpgp_secret_export(key, sp);
	(void)rnp_key_handle_destroy(sub);
	return openpgp_close(ffi, key, r, "subkey rotation failed", why,
	    whylen);
}

/*
 * openpgp_export_with - what write(key, out, flags) exports into a memory
 * output, appended to b: every export of a key to bytes goes through here
 */
enum result
openpgp_export_with(rnp_key_handle_t key, openpgp_writer write,
    uint32_t flags, struct buf *b)
{
	rnp_output_t	 out;
	enum result	 r = OK;

	if (rnp_output_to_memory(&out, 0) != RNP_SUCCESS)
		return TEMPFAIL;
	if (write(key, out, flags) != RNP_SUCCESS
	    || openpgp_out_take(out, b) != 0)
		r = TEMPFAIL;
	(void)rnp_output_destroy(out);
	return r;
}

/* openpgp_export_public - key and its subkeys, public, appended to b */
enum result
openpgp_export_public(rnp_key_handle_t key, int armored, struct buf *b)
{
	uint32_t fl = RNP_KEY_EXPORT_PUBLIC | RNP_KEY_EXPORT_SUBKEYS;

	if (armored)
		fl |= RNP_KEY_EXPORT_ARMORED;
	return openpgp_export_with(key, rnp_key_export, fl, b);
}

/*
 * openpgp_opened_export - the key `open` makes of s, written into b by
 * `export` (armoured or not), its context closed; what failed, in why
 */
enum result
openpgp_opened_export(const struct openpgp_secret *s, openpgp_opener open,
    openpgp_exporter export, int armored, struct buf *b, const char *what,
    char *why, size_t whylen)
{
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key;
	enum result	 r;

	if ((r = open(s, &ffi, &key, why, whylen)) != OK)
		return r;
	r = export(key, armored, b);
	return openpgp_close(ffi, key, r, what, why, whylen);
}

/* openpgp_list_public - the list's public key, armoured or binary */
enum result
openpgp_list_public(const struct openpgp_secret *s, int armored,
    struct buf *b, char *why, size_t whylen)
{
	return openpgp_opened_export(s, list_open, openpgp_export_public,
	    armored, b, "public key export failed", why, whylen);
}

/* openpgp_list_fingerprint - the list key's primary fingerprint */
enum result
openpgp_list_fingerprint(const struct openpgp_secret *s,
    char fpr[OPENPGP_FPR_SIZE])
{
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key;
	char		 why[OPENPGP_WHY_SIZE];
	enum result	 r;

	if ((r = list_open(s, &ffi, &key, why, sizeof(why))) != OK)
		return r;
	if (openpgp_fpr(key, fpr) != 0)
		r = TEMPFAIL;
	return openpgp_close(ffi, key, r, NULL, NULL, 0);
}

/* openpgp_secret_load - a secret blob (as unsealed) into sodium memory */
enum result
openpgp_secret_load(const void *data, size_t len, struct openpgp_secret **sp)
{
	struct openpgp_secret *s;

	if (len == 0)
		return PERMFAIL;
	if ((s = sodium_malloc(sizeof(*s))) == NULL)
		return TEMPFAIL;
	if ((s->data = sodium_malloc(len)) == NULL) {
		sodium_free(s);
		return TEMPFAIL;
	}
	memcpy(s->data, data, len);
	s->len = len;
	*sp = s;
	return OK;
}

/* openpgp_secret_free - wipe and free a secret blob */
void
openpgp_secret_free(struct openpgp_secret *s)
{
	if (s == NULL)
		return;
	sodium_free(s->data);	/* sodium_free wipes before it frees */
	sodium_free(s);
}
