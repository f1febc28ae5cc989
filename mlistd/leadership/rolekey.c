/*
 * rolekey.c - the members of a list are told, once, when the key that
 * signs what the moderators send as a role is not the one last announced
 * to them. The role key is derived, never stored (keys.c), so a change in
 * how it is derived - as with mlistd's fifth version - changes it with
 * nothing else to show for it; a member who compared its fingerprint
 * would see a forgery. The fingerprint last announced is recorded
 * (store_rolekey.c); a list that existed before the record starts with
 * none, so its members hear of the current key once; a list made later
 * is recorded silently, its members having only ever seen that key.
 *
 * The notice (role-key-changed) goes to every member through distribute,
 * signed by the new role key and DKIM by the list, and the new
 * fingerprint is recorded in the same transaction: after a crash it is
 * either both or neither, never twice.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "delivery/distribute.h"
#include "leadership/rolekey.h"
#include "mail/author.h"
#include "pipeline/sign.h"
#include "util/log.h"

#define FPR_MAX	64

/* fingerprint - the role key's fingerprint on l, as "keys" shows it */
static void
fingerprint(struct pipeline *p, const struct list_cfg *l, char fp[FPR_MAX])
{
	unsigned char seed[32], pk[32], sk[64];

	sign_role_seed(p, l, seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	author_fingerprint(pk, fp, FPR_MAX);
}

/*
 * rolekey_due - is there anything to do for l (read outside a
 * transaction, so that an unchanged key costs no write lock)? A failed
 * read says yes: the job then reports it.
 */
int
rolekey_due(struct pipeline *p, const struct list_cfg *l)
{
	char fp[FPR_MAX], had[FPR_MAX];

	fingerprint(p, l, fp);
	return store_role_announced(p->st, l->name, had, sizeof(had)) !=
	    STORE_OK || strcmp(had, fp) != 0;
}

/*
 * rolekey_announce - the notice to l's members if the key differs from
 * the one recorded (none recorded: just record it); then record it
 */
int
rolekey_announce(struct pipeline *p, const struct list_cfg *l,
    struct why *why)
{
	char fp[FPR_MAX], had[FPR_MAX];
	const char *vars[] = { "fingerprint", fp, NULL };
	int rc, n = 0;

	fingerprint(p, l, fp);
	rc = store_role_announced(p->st, l->name, had, sizeof(had));
	if (rc == STORE_ERR) {
		why_cause(why, "the announced role key", store_errmsg(p->st));
		return -1;
	}
	if (rc == STORE_OK && strcmp(had, fp) == 0)
		return 0;
	if (rc == STORE_OK && distribute_announce_role_tmpl(p, l,
	    NOTICE_ROLE_KEY_CHANGED, vars, &n) < 0) {
		why_cause(why, "the role key notice", store_errmsg(p->st));
		return -1;
	}
	if (store_role_announced_set(p->st, l->name, fp, p->now) != STORE_OK) {
		why_cause(why, "recording the role key", store_errmsg(p->st));
		return -1;
	}
	log_info("NOQUEUE qmgr: list=%s role key %s: %s rcpts=%d result=ok",
	    l->name, rc == STORE_OK ? "changed, members told" :
	    "recorded (a new list)", fp, n);
	return 0;
}
