/*
 * listkey.c - each list signs with its own Ed25519 key under its own
 * selector, NAME-kN (characters DNS labels cannot hold become '-'). A new
 * key becomes the active one; older keys stay in the store so that their
 * public halves can stay published for the posts they signed.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "listkey.h"

/* listkey_create - make and store a new active key; its selector */
int
listkey_create(struct store *st, const char *list, char *selector, size_t n)
{
	unsigned char seed[DKIM_SEED_LEN], pk[DKIM_PK_LEN], sk[crypto_sign_SECRETKEYBYTES];
	int k = store_key_count(st, list), rc;

	if (k < 0)
		return -1;
	snprintf(selector, n, "%s-k%d", list, k + 1);
	for (char *p = selector; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			*p = '-';
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	rc = store_key_add(st, list, selector, seed, sizeof(seed), pk, sizeof(pk));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	return rc == STORE_OK ? 0 : -1;
}

/* listkey_get - the active key, made now if the list has none */
int
listkey_get(struct store *st, const char *list, char *selector, size_t n, unsigned char seed[DKIM_SEED_LEN])
{
	int rc = store_key_active(st, list, selector, n, seed, DKIM_SEED_LEN);

	if (rc == STORE_NOTFOUND) {
		if (listkey_create(st, list, selector, n) < 0)
			return -1;
		rc = store_key_active(st, list, selector, n, seed, DKIM_SEED_LEN);
	}
	return rc == STORE_OK ? 0 : -1;
}
