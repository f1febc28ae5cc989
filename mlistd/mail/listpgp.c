/*
 * listpgp.c - each list has one OpenPGP key: an Ed25519 primary that signs
 * every copy and a cv25519 subkey that members encrypt to. It is made the
 * first time the list needs it and sealed in the store; a rotation adds a
 * subkey and keeps the old ones (revoked, so clients stop using them, but
 * still there to open mail encrypted to them before the rotation).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "listpgp.h"

/* put - seal s as the list's key */
static int
put(struct store *st, const char *list, const struct openpgp_secret *s,
    char fpr[OPENPGP_FPR_SIZE])
{
	if (openpgp_list_fingerprint(s, fpr) != OK) {
		store_fail_cause(st, "the list's OpenPGP key has no "
		    "fingerprint");
		return -1;
	}
	return store_list_pgp_put(st, list, s->data, s->len, fpr) == 0 ? 0 : -1;
}

/* create - a new key for the list, stored */
static int
create(struct store *st, const char *list, const char *host,
    struct openpgp_secret **out)
{
	char why[OPENPGP_WHY_SIZE], fpr[OPENPGP_FPR_SIZE];

	if (openpgp_list_generate(list, host, (uint32_t)time(NULL), out, why,
	    sizeof(why)) != OK) {
		store_fail_cause(st, why);
		return -1;
	}
	if (put(st, list, *out, fpr) < 0) {
		openpgp_secret_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* listpgp_find - the list's key if it has one: 1, 0 none yet, -1 */
int
listpgp_find(struct store *st, const char *list, struct openpgp_secret **out)
{
	struct buf b;
	char fpr[OPENPGP_FPR_SIZE];
	int rc;

	*out = NULL;
	buf_init(&b, 0);
	rc = store_list_pgp_get(st, list, &b, fpr);
	if (rc == 1 && openpgp_secret_load(b.data, b.len, out) != OK) {
		store_fail_cause(st, "the list's OpenPGP key does not load");
		rc = -1;
	}
	if (b.data)
		sodium_memzero(b.data, b.cap);
	buf_free(&b);
	return rc < 0 ? -1 : rc;
}

/* listpgp_get - the list's key, made now if it has none */
int
listpgp_get(struct store *st, const char *list, const char *hostname,
    struct openpgp_secret **out)
{
	int rc = listpgp_find(st, list, out);

	if (rc == 0)
		return create(st, list, hostname, out);
	return rc == 1 ? 0 : -1;
}

/* listpgp_rotate - a new encryption subkey; fpr: the primary's (unchanged) */
int
listpgp_rotate(struct store *st, const char *list, const char *hostname,
    char fpr[OPENPGP_FPR_SIZE])
{
	struct openpgp_secret *old, *neu = NULL;
	char why[OPENPGP_WHY_SIZE];
	int rc;

	if (listpgp_get(st, list, hostname, &old) < 0)
		return -1;
	if (openpgp_list_rotate(old, (uint32_t)time(NULL), &neu, why,
	    sizeof(why)) != OK) {
		store_fail_cause(st, why);
		openpgp_secret_free(old);
		return -1;
	}
	rc = put(st, list, neu, fpr);
	openpgp_secret_free(neu);
	openpgp_secret_free(old);
	return rc;
}

/* listpgp_autocrypt - the Autocrypt header that hands out the list's key */
int
listpgp_autocrypt(const struct openpgp_secret *k, const char *addr,
    struct buf *out)
{
	char why[OPENPGP_WHY_SIZE], *b64 = NULL;
	struct buf bin;
	size_t n = 0;
	int rc = -1;

	buf_init(&bin, 0);
	if (openpgp_list_public(k, 0, &bin, why, sizeof(why)) == OK) {
		n = sodium_base64_encoded_len(bin.len,
		    sodium_base64_VARIANT_ORIGINAL);
		b64 = malloc(n);
	}
	if (b64 != NULL) {
		sodium_bin2base64(b64, n, bin.data, bin.len,
		    sodium_base64_VARIANT_ORIGINAL);
		n = strlen(b64);
		rc = buf_printf(out, "Autocrypt: addr=%s; "
		    "prefer-encrypt=mutual; keydata=", addr) < 0 ? -1 : 0;
		/* folded: a header line stays far under 998 octets */
		for (size_t i = 0; i < n && rc == 0; i += 72)
			rc = buf_printf(out, "\r\n %.*s",
			    (int)(n - i < 72 ? n - i : 72), b64 + i) < 0 ?
			    -1 : 0;
		if (rc == 0 && buf_puts(out, "\r\n") < 0)
			rc = -1;
	}
	free(b64);
	buf_free(&bin);
	return rc;
}

/* listpgp_answer - the list's OpenPGP key as `keys` at LIST-request gives it */
int
listpgp_answer(struct store *st, const char *list, const char *hostname,
    char fpr[OPENPGP_FPR_SIZE], struct buf *armored, char *name,
    size_t namelen, struct buf *autocrypt)
{
	struct openpgp_secret *k;
	char why[OPENPGP_WHY_SIZE], addr[320];
	int rc = -1;

	if (listpgp_get(st, list, hostname, &k) < 0)
		return -1;
	snprintf(addr, sizeof(addr), "%s@%s", list, hostname);
	if (openpgp_list_fingerprint(k, fpr) == OK &&
	    openpgp_list_public(k, 1, armored, why, sizeof(why)) == OK &&
	    listpgp_autocrypt(k, addr, autocrypt) == 0) {
		snprintf(name, namelen, "OpenPGP_0x%s.asc", fpr + 24);
		rc = 0;
	} else
		store_fail_cause(st, "the list's OpenPGP key cannot be "
		    "exported");
	openpgp_secret_free(k);
	return rc;
}
