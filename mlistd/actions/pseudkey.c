/*
 * pseudkey.c - a pseudonym's OpenPGP key replaced by the operator (keys
 * rotate-pseudonym LIST NAME; mlistctl keys LIST --pseudonym NAME
 * --rotate): pipeline/pgprotate.c makes the new key, revokes the old one
 * (superseded), keeps its public key and tells the members in a post
 * signed by the old key and the list's. The answer and the audit entry
 * give the two fingerprints (public, like the keys); the log does not name
 * the pseudonym.
 */
#include <stdio.h>

#include "actions/actions.h"
#include "pipeline/pgprotate.h"

/* act_keys_rotate_pseudonym - a new key for the pseudonym called name */
int
act_keys_rotate_pseudonym(struct act_ctx *c, const struct list_cfg *l,
    const char *name)
{
	char old[OPENPGP_FPR_SIZE], fpr[OPENPGP_FPR_SIZE];
	int rc;

	if ((rc = pgprotate_pseudonym(c->p, l, name, old, fpr)) < 0)
		return act_dberr(c);
	if (rc == 0)
		return act_fail(c, ACT_FAILED, "%s: no pseudonym called \"%s\" "
		    "has a key (its key is made at its first post)", l->name,
		    name);
	if ((c->json ? buf_printf(c->out, "{\"list\":\"%s\",\"old\":\"%s\","
	    "\"new\":\"%s\",\"rotated\":true}\n", l->name, old, fpr) :
	    buf_printf(c->out, "%s: new OpenPGP key %s for the pseudonym, "
	    "certified by the old key %s and the list's; the members were "
	    "told in a post signed by both; the old key is revoked as "
	    "superseded and kept to verify old posts\n", l->name, fpr,
	    old)) < 0)
		return act_dberr(c);
	return act_audit_code(c, l, "keys rotate-pseudonym",
	    "pseudonym-key-rotated", (const char *[]){ "old", old, "new", fpr,
	    NULL });
}
