/*
 * members.c - the actions on a list's members that need no quorum:
 * admit (member add, member import) and a member's own settings (name,
 * delivery, pseudonym, identity mode, signing and encryption keys), and a
 * member's own leaving. The operator's verbs and a member's confirmed
 * -request commands (leadership/command.c, actor "member") both come here,
 * so the checks and the audit entries are the same whoever asked.
 * Their roles, their removal and bans are grave: see leadership.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions/actions.h"
#include "mail/addr.h"
#include "mail/keys.h"
#include "mail/pseudonym.h"

/* act_set_pseudonym - check and set a member's pseudonym */
int
act_set_pseudonym(struct act_ctx *c, const struct list_cfg *l, const char *addr,
    const char *name)
{
	char sk[SKELETON_MAX], why[160], h[24];
	int rc;

	if (pseudonym_check_on(name, c->p->cfg, l, sk, sizeof(sk), why,
	    sizeof(why)) < 0)
		return act_fail(c, ACT_FAILED, "\"%s\" cannot be a pseudonym: %s", name, why);
	/* a name given up stays the list's a while: no reputation takeover */
	rc = store_pseudonym_given_up(c->p->st, l->name, sk,
	    (long long)time(NULL) - (long long)l->name_reserve_days * 86400);
	if (rc == STORE_ERR)
		return act_dberr(c);
	/* the same answer as for a name held: which it is, is nobody's */
	if (rc != STORE_EXISTS || l->name_reserve_days <= 0) {
		handle_generate(h, sizeof(h));
		rc = store_member_set_pseudonym(c->p->st, l->name, addr, name,
		    sk, h);
	}
	if (rc == STORE_EXISTS)
		return act_fail(c, ACT_FAILED, "\"%s\" is taken on %s (another member's pseudonym "
		    "is the same or looks the same); choose another", name, l->name);
	if (rc == STORE_NOTFOUND)
		return act_fail(c, ACT_FAILED, "%s is not a member of %s", addr, l->name);
	return rc == STORE_OK ? ACT_DONE : act_dberr(c);
}

/* act_member_add - admit one address (the operator's admission: no quorum) */
int
act_member_add(struct act_ctx *c, const struct list_cfg *l, const char *addr,
    const char *name, const char *pseudonym)
{
	char ref[64];
	int rc;

	if ((rc = act_bad_address(c, addr)) != ACT_DONE)
		return rc;
	if (name && (strpbrk(name, "\r\n") || strlen(name) > 200))
		return act_fail(c, ACT_FAILED, "a name must be one line of at most 200 characters");
	rc = store_member_add(c->p->st, l->name, addr, name);
	if (rc == STORE_EXISTS)
		return act_fail(c, ACT_FAILED, "%s is already a member of %s", addr, l->name);
	if (rc != STORE_OK)
		return act_dberr(c);
	if (pseudonym && (rc = act_set_pseudonym(c, l, addr, pseudonym)) != ACT_DONE)
		return rc;
	act_member_ref(c, l, addr, ref, sizeof(ref));
	if ((rc = act_audit_code(c, l, "admit", "admit",
	    (const char *[]){ "member", ref, NULL })) != ACT_DONE)
		return rc;
	if (c->json) {
		buf_puts(c->out, "{\"added\":");
		act_json_str(c->out, addr);
		buf_puts(c->out, ",\"list\":");
		act_json_str(c->out, l->name);
		buf_puts(c->out, "}\n");
	} else
		buf_printf(c->out, "added %s to %s\n", addr, l->name);
	return ACT_DONE;
}

/*
 * act_member_leave - a member leaves of their own accord (a confirmed
 * "unsubscribe"): not grave, nobody else decides; audited by number. An
 * address that is not a member is no error: there is nothing to undo.
 */
int
act_member_leave(struct act_ctx *c, const struct list_cfg *l, const char *addr)
{
	char ref[64];
	int rc;

	act_member_ref(c, l, addr, ref, sizeof(ref));
	rc = store_member_rm(c->p->st, l->name, addr);
	if (rc == STORE_NOTFOUND)
		return ACT_DONE;
	if (rc != STORE_OK)
		return act_dberr(c);
	return act_audit_code(c, l, "leave", "leave",
	    (const char *[]){ "member", ref, NULL });
}

/* import_line - one line: 1 added, 0 skipped or existing, -2 refused (told), -1 */
static int
import_line(struct act_ctx *c, const struct list_cfg *l, char *line, const char *origin,
    int lineno, int *existing)
{
	char *name;
	int r;

	if (line[0] == 0 || line[0] == '#')
		return 0;
	if ((name = strchr(line, ' ')) != NULL)
		*name++ = 0;
	if (!addr_valid(line))
		return -1 - act_fail(c, ACT_FAILED, "%s:%d: \"%s\" is not a valid address; "
		    "nothing was imported", origin, lineno, line);
	if (name && (strlen(name) > 200))
		return -1 - act_fail(c, ACT_FAILED, "%s:%d: a name must be at most 200 "
		    "characters; nothing was imported", origin, lineno);
	r = store_member_add(c->p->st, l->name, line, name && *name ? name : NULL);
	if (r == STORE_EXISTS) {
		(*existing)++;
		return 0;
	}
	return r == STORE_OK ? 1 : act_dberr(c);
}

/*
 * act_member_import - one address (and optionally a name) a line; all or
 * nothing: the caller's transaction is rolled back at the first bad line,
 * which is named as origin:LINE.
 */
int
act_member_import(struct act_ctx *c, const struct list_cfg *l, const char *text,
    const char *origin)
{
	char *copy = strdup(text), *line, *save, d[120];
	int lineno = 0, added = 0, existing = 0, r, rc = ACT_DONE;

	if (!copy)
		return act_fail(c, ACT_ERROR, "out of memory");
	/* strtok_r would skip empty lines and so miscount: split by hand */
	for (line = copy; line && rc == ACT_DONE; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = 0;
		if (*line && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = 0;
		if (!save && *line == 0)
			break;
		if ((r = import_line(c, l, line, origin, ++lineno, &existing)) < 0)
			rc = r == -2 ? ACT_FAILED : ACT_ERROR;
		else
			added += r;
	}
	free(copy);
	if (rc != ACT_DONE)
		return rc;
	snprintf(d, sizeof(d), "%d", added);
	if (added && (rc = act_audit_code(c, l, "admit", "import",
	    (const char *[]){ "count", d, NULL })) != ACT_DONE)
		return rc;
	if (c->json) {
		buf_puts(c->out, "{\"list\":");
		act_json_str(c->out, l->name);
		buf_printf(c->out, ",\"added\":%d,\"existing\":%d}\n", added, existing);
	} else
		buf_printf(c->out, "%s: %d added, %d already members\n", l->name, added, existing);
	return ACT_DONE;
}

/* set_key - key PUBLICKEY|none: the member's Ed25519 author key */
static int
set_key(struct act_ctx *c, const struct list_cfg *l, const char *addr,
    const char *value)
{
	unsigned char pk[32];
	int k;

	if ((k = keys_public_from_text(value, "ed25519", pk)) < 0)
		return act_fail(c, ACT_FAILED, "\"%s\" is not an Ed25519 public "
		    "key (base64, as 'mlist keygen' prints it), nor \"none\"",
		    value);
	return store_member_set_key(c->p->st, l->name, addr, k ? pk : NULL,
	    sizeof(pk));
}

/* set_identity - identity MODE|list */
static int
set_identity(struct act_ctx *c, const struct list_cfg *l, const char *addr, const char *v)
{
	int mode = config_identity_parse(v);

	if (strcmp(v, "list") != 0 && (mode < 0 || !config_identity_allowed(l, mode)))
		return act_fail(c, ACT_FAILED, "\"%s\" is not a mode %s offers: it offers %s%s%s "
		    "(set identity.choices to offer more), or \"list\"", v, l->name,
		    config_identity_name(l->identity), *l->identity_choices ? ", " : "",
		    l->identity_choices);
	return store_member_set_identity(c->p->st, l->name, addr,
	    mode < 0 || mode == l->identity ? NULL : v);
}

/*
 * act_said_set - what the operator reads after a setting changed: a
 * member's (addr), or the list's own when addr is NULL
 */
void
act_said_set(struct act_ctx *c, const struct list_cfg *l, const char *addr, const char *key,
    const char *value)
{
	if (c->json) {
		buf_puts(c->out, addr ? "{\"address\":" : "{\"list\":");
		act_json_str(c->out, addr ? addr : l->name);
		buf_puts(c->out, ",\"key\":");
		act_json_str(c->out, key);
		buf_puts(c->out, ",\"value\":");
		act_json_str(c->out, value);
		buf_puts(c->out, "}\n");
	} else if (addr)
		buf_printf(c->out, "%s on %s: %s = %s\n", addr, l->name, key, value);
	else
		buf_printf(c->out, "%s: %s = %s\n", l->name, key, value);
}

/* is_switch - a setting whose value is on or off (nothing in it can name anyone) */
static int
is_switch(const char *key)
{
	return strcmp(key, "digest") == 0 || strcmp(key, "nomail") == 0;
}

/* act_member_set - one of a member's own settings (role: act_set_role) */
int
act_member_set(struct act_ctx *c, const struct list_cfg *l, const char *addr,
    const char *key, const char *value, const char *expires)
{
	char ref[64];
	int rc;

	(void)expires;	/* only the retired enckey took one: refused below */
	if (strcmp(key, "name") == 0 && (strpbrk(value, "\r\n") || strlen(value) > 200))
		return act_fail(c, ACT_FAILED, "a name must be one line of at most 200 characters");
	if (strcmp(key, "openpgp") == 0)
		return act_member_openpgp(c, l, addr, value);
	if (strcmp(key, "enckey") == 0)
		return act_fail(c, ACT_FAILED, "enckey (X25519, the retired sealed format) "
		    "is gone: register an OpenPGP key with openpgp FILE");
	if (strcmp(key, "key") == 0)
		rc = set_key(c, l, addr, value);
	else if (strcmp(key, "pseudonym") == 0) {
		if ((rc = act_set_pseudonym(c, l, addr, value)) != ACT_DONE)
			return rc;	/* told; a store failure stays one */
		rc = STORE_OK;
	}
	else if (strcmp(key, "identity") == 0)
		rc = set_identity(c, l, addr, value);
	else
		rc = store_member_set(c->p->st, l->name, addr, key, value);
	if (rc == ACT_FAILED)
		return rc;	/* told */
	if (rc == STORE_NOTFOUND)
		return act_fail(c, ACT_FAILED, "%s is not a member of %s", addr, l->name);
	if (rc == STORE_BADVALUE)
		return act_fail(c, ACT_FAILED, "bad setting: KEY must be name, role ("
		    ROLE_CHOICES "), nomail (on|off), digest (on|off), pseudonym NAME, identity "
		    "MODE, key (PUBLICKEY|none) or openpgp (FILE|none)");
	if (rc != STORE_OK)
		return act_dberr(c);
	/*
	 * the operator changed a member: audited by number and setting; the value
	 * only where it is a switch (a name, a pseudonym or a key could name them)
	 */
	act_member_ref(c, l, addr, ref, sizeof(ref));
	if ((rc = act_audit_code(c, l, "member set", is_switch(key) ?
	    "member-set" : "member-changed", (const char *[]){ "member", ref,
	    "setting", key, "value", is_switch(key) ? value : NULL, NULL })) !=
	    ACT_DONE)
		return rc;
	act_said_set(c, l, addr, key, value);
	return ACT_DONE;
}
