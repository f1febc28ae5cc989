/*
 * benchkeys - give the members of a bench list an OpenPGP key each, fast:
 * bench/fanout -m openpgp needs 10,000 members with keys of their own, and
 * registering them one mlistctl call at a time (key judged, row sealed,
 * audit line, commit) takes ten minutes. This makes each key in process
 * (Ed25519 + cv25519, as openpgp_tool genkey), judges it as the daemon does
 * (openpgp_key_import) and seals it into the stopped instance's store, all
 * in one transaction; no audit line (a bench, not an admin's act).
 *
 *   benchkeys STATE_DIR LIST N [RSA_PERCENT [RSA_DIR]]
 *
 * Members are bench/fanout's u%06d@rcpt%d.example.net (i, i % 50) for i in
 * 0..N-1; those with i % 100 < RSA_PERCENT get an RSA-3072 key (primary and
 * subkey) instead: read from RSA_DIR/r%06d.pgp (bench/rsakeys.py makes
 * them in seconds) when given, else made by librnp, two at a time (about
 * a second of CPU each: 1,000 did not finish in 38 minutes at load). Either
 * way the key is judged here as the daemon judges one. The master key must
 * be an insecure-file (the benches' and tests' own).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <rnp/rnp.h>
#include <rnp/rnp_err.h>
#include <sodium.h>

#include "mail/keys.h"
#include "mail/openpgp.h"
#include "mail/store.h"

/* the RSA keys, made before the transaction */
struct rsa_job {
	long		 n, rsa;
	const char	*dir;		/* made in advance, or NULL */
	struct buf	*pub;		/* by member index; len 0: not RSA */
	atomic_long	 next;
	atomic_int	 failed;
};

/* rsa_one - an RSA-3072 public key (primary and subkey) into pub */
static int
rsa_one(long i, struct buf *pub)
{
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key = NULL;
	rnp_output_t	 o = NULL;
	uint8_t		*b;
	size_t		 len;
	char		 uid[64];
	int		 rc = -1;

	snprintf(uid, sizeof(uid), "r%ld <r%ld@example.net>", i, i);
	if (rnp_ffi_create(&ffi, "GPG", "GPG") != RNP_SUCCESS)
		return -1;
	if (rnp_generate_key_rsa(ffi, 3072, 3072, uid, NULL, &key) ==
	    RNP_SUCCESS && rnp_output_to_memory(&o, 0) == RNP_SUCCESS &&
	    rnp_key_export(key, o, RNP_KEY_EXPORT_PUBLIC |
	    RNP_KEY_EXPORT_SUBKEYS) == RNP_SUCCESS &&
	    rnp_output_memory_get_buf(o, &b, &len, false) == RNP_SUCCESS)
		rc = buf_append(pub, b, len);
	(void)rnp_output_destroy(o);
	(void)rnp_key_handle_destroy(key);
	(void)rnp_ffi_destroy(ffi);
	return rc;
}

/* rsa_read - member i's RSA key made in advance (dir/r%06ld.pgp) */
static int
rsa_read(const char *dir, long i, struct buf *pub)
{
	char	 path[4096], b[8192];
	size_t	 n;
	FILE	*f;
	int	 rc;

	if (snprintf(path, sizeof(path), "%s/r%06ld.pgp", dir, i) >=
	    (int)sizeof(path) || (f = fopen(path, "rb")) == NULL)
		return -1;
	n = fread(b, 1, sizeof(b), f);
	rc = ferror(f) || n == 0 || n == sizeof(b) ? -1 :
	    buf_append(pub, b, n);
	(void)fclose(f);
	return rc;
}

/* rsa_worker - thread: RSA keys until none is left */
static void *
rsa_worker(void *v)
{
	struct rsa_job *j = v;
	long i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->n)
		if (i % 100 < j->rsa && (j->dir != NULL ?
		    rsa_read(j->dir, i, &j->pub[i]) :
		    rsa_one(i, &j->pub[i])) < 0) {
			fprintf(stderr, "benchkeys: RSA key %ld not made\n", i);
			atomic_store(&j->failed, 1);
		}
	return NULL;
}

/* one - make (or take pub), judge and store member i's key; 0 or -1 */
static int
one(struct store *st, const char *list, long i, const struct buf *rsa)
{
	struct openpgp_secret *s = NULL;
	struct openpgp_key k;
	struct buf pub;
	char why[OPENPGP_WHY_SIZE], uid[32], addr[64];
	int rc = -1;

	snprintf(uid, sizeof(uid), "m%ld", i);
	snprintf(addr, sizeof(addr), "u%06ld@rcpt%ld.example.net", i, i % 50);
	buf_init(&pub, 0);
	if (rsa->len > 0)
		(void)buf_append(&pub, rsa->data, rsa->len);
	if ((rsa->len == 0 && (openpgp_list_generate(uid, "example.net",
	    1700000000, &s, why, sizeof(why)) != OK ||
	    openpgp_list_public(s, 0, &pub, why, sizeof(why)) != OK)) ||
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

/* rsa_keys - the RSA members' keys, made two at a time */
static int
rsa_keys(long n, long rsa, const char *dir, struct rsa_job *j)
{
	pthread_t t;
	int started;

	j->dir = dir;
	j->n = n;
	j->rsa = rsa;
	atomic_init(&j->next, 0);
	atomic_init(&j->failed, 0);
	if ((j->pub = calloc((size_t)n + 1, sizeof(*j->pub))) == NULL)
		return -1;
	for (long i = 0; i < n; i++)
		buf_init(&j->pub[i], 0);
	started = pthread_create(&t, NULL, rsa_worker, j) == 0;
	(void)rsa_worker(j);	/* this thread is the second */
	if (started)
		(void)pthread_join(t, NULL);
	return atomic_load(&j->failed) ? -1 : 0;
}

int
main(int argc, char **argv)
{
	enum keys_status ks;
	struct keys *k;
	struct store *st;
	struct buf err;
	char path[4096], why[256];
	struct rsa_job job;
	long n, rsa, i;
	int rc = 0;

	if (argc < 4 || argc > 6 || sodium_init() < 0) {
		fprintf(stderr, "usage: benchkeys STATE_DIR LIST N "
		    "[RSA_PERCENT [RSA_DIR]]\n");
		return 2;
	}
	n = strtol(argv[3], NULL, 10);
	rsa = argc >= 5 ? strtol(argv[4], NULL, 10) : 0;
	if (n < 0 || rsa_keys(n, rsa, argc == 6 ? argv[5] : NULL, &job) < 0) {
		fprintf(stderr, "benchkeys: the RSA keys were not made\n");
		return 1;
	}
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
		rc = one(st, argv[2], i, &job.pub[i]);
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
