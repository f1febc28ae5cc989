/*
 * openpgp.c - the OpenPGP actions: an operator registers or removes a
 * member's key (member set LIST ADDR openpgp ...), makes the list's key
 * when a list from before OpenPGP has none (keys openpgp LIST: mlistctl
 * never makes it itself), and rotates the list's encryption subkey (keys
 * rotate-subkey LIST).
 *
 * A member's key is judged by openpgp_key_import (refused kinds come back
 * with the reason) and kept minimal: one UID, no third-party
 * certifications. Neither its fingerprint nor its UID is written to the
 * answer, the audit log or the log: they name the member.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "actions/actions.h"
#include "mail/listpgp.h"
#include "util/log.h"

/* decode - the key the client sent ("base64:" and the file's bytes) */
static int
decode(const char *value, struct buf *out)
{
	size_t n, len;

	if (strncmp(value, "base64:", 7) != 0)
		return -1;
	value += 7;
	n = strlen(value);
	if (buf_reserve(out, n) < 0 || sodium_base642bin(out->data, n, value,
	    n, " \r\n", &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	out->len = len;
	return 0;
}

/* said - what was done, for the operator */
static void
said(struct act_ctx *c, const struct list_cfg *l, const char *addr,
    const struct openpgp_key *k)
{
	char day[11] = "never";

	if (k && k->expires)
		keys_expiry_format((long long)k->expires, day);
	if (c->json) {
		buf_puts(c->out, "{\"list\":");
		act_json_str(c->out, l->name);
		buf_puts(c->out, ",\"member\":");
		act_json_str(c->out, addr);
		buf_printf(c->out, ",\"openpgp\":%s", k ? "true" : "false");
		if (k)
			buf_printf(c->out, ",\"expires\":\"%s\"", day);
		buf_puts(c->out, "}\n");
	} else if (k)
		buf_printf(c->out, "%s on %s: OpenPGP key registered (%s %u, "
		    "expires: %s); every copy to them is encrypted to it\n",
		    addr, l->name, k->alg, k->bits, day);
	else
		buf_printf(c->out, "%s on %s: OpenPGP key removed\n", addr,
		    l->name);
}

/* put - judge the key and keep it */
static int
put(struct act_ctx *c, const struct list_cfg *l, const char *addr,
    const char *value, struct openpgp_key *k)
{
	char why[OPENPGP_WHY_SIZE] = "";
	struct buf raw;
	enum result r;
	int rc;

	buf_init(&raw, 0);
	if (decode(value, &raw) < 0) {
		buf_free(&raw);
		return act_fail(c, ACT_FAILED, "the key did not arrive (send "
		    "a file: member set LIST ADDRESS openpgp FILE|-)");
	}
	r = openpgp_key_import(raw.data, raw.len, OPENPGP_ANY, k, why,
	    sizeof(why));
	buf_free(&raw);
	if (r != OK)
		return act_fail(c, r == PERMFAIL ? ACT_FAILED : ACT_ERROR,
		    "the key is refused: %s", *why ? why :
		    "not an OpenPGP key");
	rc = store_member_pgp_put(c->p->st, l->name, addr, k->bin.data,
	    k->bin.len, k->fpr, (long long)k->expires);
	sodium_memzero(k->fpr, sizeof(k->fpr));
	if (rc == STORE_NOTFOUND)
		return act_fail(c, ACT_FAILED, "%s is not a member of %s", addr,
		    l->name);
	if (rc == STORE_EXISTS)
		return act_fail(c, ACT_FAILED, "another member of %s has "
		    "registered that key", l->name);
	return rc == 0 ? ACT_DONE : act_dberr(c);
}

/* act_member_openpgp - openpgp BASE64-OF-FILE|none */
int
act_member_openpgp(struct act_ctx *c, const struct list_cfg *l,
    const char *addr, const char *value)
{
	struct openpgp_key k;
	char ref[64];
	int none = strcmp(value, "none") == 0, rc;
	struct member m;

	memset(&k, 0, sizeof(k));
	if (none) {
		if ((rc = store_member_find(c->p->st, l->name, addr, &m)) ==
		    STORE_NOTFOUND)
			return act_fail(c, ACT_FAILED,
			    "%s is not a member of %s", addr, l->name);
		if (rc != STORE_OK)
			return act_dberr(c);
		member_free(&m);
		if (store_member_pgp_clear(c->p->st, l->name, addr) != 0)
			return act_dberr(c);
	} else if ((rc = put(c, l, addr, value, &k)) != ACT_DONE) {
		openpgp_key_free(&k);
		return rc;
	}
	act_member_ref(c, l, addr, ref, sizeof(ref));
	if ((rc = act_audit_code(c, l, "member set", none ? "member-removed" :
	    "member-changed", (const char *[]){ "member", ref, "setting",
	    "openpgp", NULL })) == ACT_DONE)
		said(c, l, addr, none ? NULL : &k);
	openpgp_key_free(&k);
	return rc;
}

/*
 * act_keys_openpgp - the list's OpenPGP key, made now if it has none (a
 * list made before OpenPGP): its fingerprint and UID; a new key audited
 */
int
act_keys_openpgp(struct act_ctx *c, const struct list_cfg *l)
{
	struct openpgp_secret *k;
	char fpr[OPENPGP_FPR_SIZE];
	int had, rc;

	if ((had = listpgp_find(c->p->st, l->name, &k)) < 0 || (had == 0 &&
	    listpgp_get(c->p->st, l->name, c->p->cfg->hostname, &k) < 0))
		return act_dberr(c);
	rc = openpgp_list_fingerprint(k, fpr);
	openpgp_secret_free(k);
	if (rc != OK)
		return act_fail(c, ACT_FAILED, "%s: the list's OpenPGP key has "
		    "no fingerprint", l->name);
	if ((c->json ? buf_printf(c->out, "{\"list\":\"%s\",\"openpgp\":\"%s\","
	    "\"made\":%s}\n", l->name, fpr, had ? "false" : "true") :
	    buf_printf(c->out, "openpgp: %s %s <%s@%s>\n", fpr, l->name,
	    l->name, c->p->cfg->hostname)) < 0)
		return act_dberr(c);
	return had ? ACT_DONE : act_audit_code(c, l, "keys openpgp",
	    "openpgp-key-made", NULL);
}

/* act_keys_rotate_subkey - a new encryption subkey for the list's key */
int
act_keys_rotate_subkey(struct act_ctx *c, const struct list_cfg *l)
{
	char fpr[OPENPGP_FPR_SIZE];

	if (listpgp_rotate(c->p->st, l->name, c->p->cfg->hostname, fpr) < 0)
		return act_dberr(c);
	if ((c->json ? buf_printf(c->out, "{\"list\":\"%s\",\"openpgp\":\"%s\","
	    "\"rotated\":true}\n", l->name, fpr) : buf_printf(c->out, "%s: new "
	    "encryption subkey under %s; the old one is revoked (kept to open "
	    "mail encrypted to it)\n", l->name, fpr)) < 0)
		return act_dberr(c);
	return act_audit_code(c, l, "keys rotate-subkey",
	    "openpgp-subkey-rotated", NULL);
}
