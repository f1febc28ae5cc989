/*
 * benchkeys - give the members of a bench list an OpenPGP key each, fast:
 * bench/fanout -m openpgp needs 10,000 members with keys of their own, and
 * registering them one mlistctl call at a time (key judged, row sealed,
 * audit line, commit) takes ten minutes. This makes each key in process
 * (Ed25519 + cv25519, as openpgp_tool genkey), judges it as the daemon does
 * (openpgp_key_import) and seals it into the stopped instance's store, all
 * in one transaction; no audit line (a bench, not an admin's act).
 *
 *   benchkeys STATE_DIR LIST N [RSA_PERCENT]
 *
 * Members are bench/fanout's u%06d@rcpt%d.example.net (i, i % 50) for i in
 * 0..N-1; those with i % 100 < RSA_PERCENT are skipped (the bench gives
 * them gpg's RSA-3072 keys through mlistctl). The master key must be an
 * insecure-file (the benches' and tests' own).
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "mail/keys.h"
#include "mail/openpgp.h"
#include "mail/store.h"

/* one - make, judge and store member i's key; 0 or -1 */
static int
one(struct store *st, const char *list, long i)
{
	struct openpgp_secret *s = NULL;
	struct openpgp_key k;
	struct buf pub;
	char why[OPENPGP_WHY_SIZE], uid[32], addr[64];
	int rc = -1;

	snprintf(uid, sizeof(uid), "m%ld", i);
	snprintf(addr, sizeof(addr), "u%06ld@rcpt%ld.example.net", i, i % 50);
	buf_init(&pub, 0);
	if (openpgp_list_generate(uid, "example.net", 1700000000, &s, why,
	    sizeof(why)) != OK ||
	    openpgp_list_public(s, 0, &pub, why, sizeof(why)) != OK ||
	    openpgp_key_import(pub.data, pub.len, OPENPGP_BINARY, &k, why,
	    sizeof(why)) != OK)
		fprintf(stderr, "benchkeys: %s: %s\n", addr, why);
	else {
		rc = store_member_pgp_put(st, list, addr, k.bin.data,
		    k.bin.len, k.fpr, (long long)k.expires) == 0 ? 0 : -1;
		if (rc < 0)
			fprintf(stderr, "benchkeys: %s: %s\n", addr,
			    store_errmsg(st));
		openpgp_key_free(&k);
	}
	openpgp_secret_free(s);
	buf_free(&pub);
	return rc;
}

int
main(int argc, char **argv)
{
	enum keys_status ks;
	struct keys *k;
	struct store *st;
	struct buf err;
	char path[4096], why[256];
	long n, rsa, i;
	int rc = 0;

	if ((argc != 4 && argc != 5) || sodium_init() < 0) {
		fprintf(stderr, "usage: benchkeys STATE_DIR LIST N "
		    "[RSA_PERCENT]\n");
		return 2;
	}
	n = strtol(argv[3], NULL, 10);
	rsa = argc == 5 ? strtol(argv[4], NULL, 10) : 0;
	if ((k = keys_unlock(argv[1], "insecure-file", NULL, &ks, why,
	    sizeof(why))) == NULL) {
		fprintf(stderr, "benchkeys: %s\n", why);
		return 1;
	}
	buf_init(&err, 0);
	snprintf(path, sizeof(path), "%s/mlistd.db", argv[1]);
	if ((st = store_open(path, k, &err)) == NULL) {
		fprintf(stderr, "benchkeys: %s\n", buf_cstr(&err));
		return 1;
	}
	if (store_begin(st) != 0) {
		fprintf(stderr, "benchkeys: %s\n", store_errmsg(st));
		return 1;
	}
	for (i = 0; i < n && rc == 0; i++)
		if (i % 100 >= rsa)
			rc = one(st, argv[2], i);
	if (rc == 0 && store_commit(st) != 0) {
		fprintf(stderr, "benchkeys: %s\n", store_errmsg(st));
		rc = -1;
	}
	if (rc != 0)
		store_rollback(st);
	buf_free(&err);
	store_close(st);
	keys_free(k);
	return rc ? 1 : 0;
}
