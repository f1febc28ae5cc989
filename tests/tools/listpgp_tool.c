/*
 * listpgp_tool - a list's OpenPGP public key, armoured, from a stopped or
 * running instance whose master key is an insecure-file (the tests' own):
 * what a member's client would take from the "keys" answer.
 *
 *   listpgp_tool STATE_DIR LIST HOSTNAME
 *   listpgp_tool STATE_DIR LIST HOSTNAME ADDR	the key stored for member ADDR
 *						(binary), to check it is minimal
 */
#include <stdio.h>

#include <sodium.h>

#include "mail/keys.h"
#include "mail/listpgp.h"
#include "mail/store.h"

int
main(int argc, char **argv)
{
	struct openpgp_secret *sec = NULL;
	enum keys_status ks;
	struct keys *k;
	struct store *st;
	struct buf err, pub;
	char path[4096], why[OPENPGP_WHY_SIZE];

	if ((argc != 4 && argc != 5) || sodium_init() < 0) {
		fprintf(stderr, "usage: listpgp_tool STATE_DIR LIST HOSTNAME [ADDR]\n");
		return 2;
	}
	if ((k = keys_unlock(argv[1], "insecure-file", NULL, &ks, why, sizeof(why))) == NULL) {
		fprintf(stderr, "listpgp_tool: %s\n", why);
		return 1;
	}
	buf_init(&err, 0);
	buf_init(&pub, 0);
	snprintf(path, sizeof(path), "%s/mlistd.db", argv[1]);
	if ((st = store_open(path, k, &err)) == NULL) {
		fprintf(stderr, "listpgp_tool: %s\n", buf_cstr(&err));
		return 1;
	}
	if (argc == 5) {
		long long exp;

		if (store_member_pgp_get(st, argv[2], argv[4], &pub, &exp) != 1) {
			fprintf(stderr, "listpgp_tool: no key stored for that member\n");
			return 1;
		}
		fwrite(pub.data, 1, pub.len, stdout);
		buf_free(&pub);
		buf_free(&err);
		store_close(st);
		keys_free(k);
		return 0;
	}
	if (listpgp_get(st, argv[2], argv[3], &sec) < 0 ||
	    openpgp_list_public(sec, 1, &pub, why, sizeof(why)) != OK) {
		fprintf(stderr, "listpgp_tool: %s\n", store_errmsg(st));
		return 1;
	}
	fwrite(pub.data, 1, pub.len, stdout);
	buf_free(&pub);
	buf_free(&err);
	openpgp_secret_free(sec);
	store_close(st);
	keys_free(k);
	return 0;
}
