/*
 * leadership.c - the grave actions: ban, expel, roles, policy, unmask and
 * the roster export. Once a list has enough moderators each waits for
 * their quorum: act_grave opens the request (quorum.c asks them by mail
 * and, at the quorum, calls the act_apply_ functions here). Below the
 * quorum - a list being set up - or with --emergency (recorded in the
 * audit log and announced to every moderator) the action is done at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/actions.h"
#include "leadership/quorum.h"
#include "mail/addr.h"
#include "mail/audit.h"
#include "mail/pseudonym.h"

static const char *const qkey[] = { "quorum_unmask", "quorum_ban", "quorum_expel",
    "quorum_policy", "quorum_roles", "quorum_admit", "quorum_roster_export" };

/* opened - tell the operator a request waits for the moderators */
static int
opened(struct act_ctx *c, const struct list_cfg *l, enum grave g, long long id,
    const char *action, const char *coded, int need)
{
	struct notice_ctx ctx = { l->name, c->p->cfg->hostname };
	char detail[600];

	/* the coded detail in the list's words (audit.h) */
	audit_render(l->notices, c->p->cfg->notices, &ctx, coded, detail,
	    sizeof(detail));
	if (c->json)
		buf_printf(c->out, "{\"request\":%lld,\"action\":\"%s\",\"needs\":%d}\n", id,
		    action, need);
	else
		buf_printf(c->out, "%s: request %lld opened (%s: %s). It takes effect when %d "
		    "distinct moderators approve it;\nthey have been asked by mail (leadership.%s "
		    "= %d; it expires in %d days).\n", l->name, id, action, detail, need, qkey[g],
		    l->quorum[g], QUORUM_DAYS);
	return ACT_REQUESTED;
}

/*
 * act_grave - the quorum gate. ACT_DONE: do it now (fewer moderators than
 * the quorum, or an emergency, recorded); ACT_REQUESTED: a request was
 * opened and said; ACT_FAILED / ACT_ERROR: told. detail is coded
 * (audit.h): the request keeps it, and the audit entries wrap it.
 */
int
act_grave(struct act_ctx *c, const struct list_cfg *l, enum grave g, const char *action,
    const char *arg, const char *detail)
{
	struct pipeline *p = c->p;
	int mods = store_moderator_count(p->st, l->name), need = l->quorum[g], rc;
	char d[600], num[24];
	long long id;

	if (mods < 0)
		return act_dberr(c);
	if (c->emergency) {
		if (audit_wrap(d, sizeof(d), "emergency", NULL, detail) < 0)
			return act_fail(c, ACT_ERROR, "no room for the audit "
			    "detail");
		if (store_pending_add(p->st, l->name, action, arg, detail, 0, "announce", p->now,
		    p->now) < 0)
			return act_dberr(c);
		if ((rc = act_audit(c, l, action, d)) != ACT_DONE)
			return rc;
		buf_puts(c->err, "emergency: done without the moderators' quorum; recorded in the "
		    "audit log and announced to every moderator\n");
		return ACT_DONE;
	}
	if (g == Q_UNMASK) {
		if (mods == 0)
			return act_fail(c, ACT_FAILED, "%s has no moderators to approve an unmasking "
			    "(member set ... role moderator)", l->name);
		need = need < mods ? need : mods;
	} else if (mods < need)
		return ACT_DONE;	/* setting the list up: not yet enough moderators */
	if ((id = store_pending_add(p->st, l->name, action, arg, detail, need, "new", p->now,
	    p->now + QUORUM_DAYS * 86400LL)) < 0)
		return act_dberr(c);
	snprintf(num, sizeof(num), "%lld", id);
	if (audit_wrap(d, sizeof(d), "request", (const char *[]){ "id", num,
	    NULL }, detail) < 0)
		return act_fail(c, ACT_ERROR, "no room for the audit detail");
	if ((rc = act_audit(c, l, "request", d)) != ACT_DONE)
		return rc;
	return opened(c, l, g, id, action, detail, need);
}

/* act_apply_ban - ban addr (no gate, no audit) */
int
act_apply_ban(struct act_ctx *c, const struct list_cfg *l, const char *addr)
{
	return store_ban(c->p->st, l->name, addr) == STORE_OK ? ACT_DONE : act_dberr(c);
}

/* act_apply_expel - remove addr; ACT_FAILED if not a member */
int
act_apply_expel(struct act_ctx *c, const struct list_cfg *l, const char *addr)
{
	int rc = store_member_rm(c->p->st, l->name, addr);

	if (rc == STORE_NOTFOUND)
		return act_fail(c, ACT_FAILED, "%s is not a member of %s", addr, l->name);
	return rc == STORE_OK ? ACT_DONE : act_dberr(c);
}

/* act_apply_role - member, moderator or owner */
int
act_apply_role(struct act_ctx *c, const struct list_cfg *l, const char *addr,
    enum role role)
{
	int rc = store_member_set(c->p->st, l->name, addr, "role", role_name(role));

	if (rc == STORE_NOTFOUND)
		return act_fail(c, ACT_FAILED, "%s is not a member of %s", addr, l->name);
	if (rc == STORE_BADVALUE)
		return act_fail(c, ACT_FAILED, "bad setting: a role (" ROLE_CHOICES ")");
	return rc == STORE_OK ? ACT_DONE : act_dberr(c);
}

/* act_apply_policy - rewrite the list file; the daemon reloads it */
int
act_apply_policy(struct act_ctx *c, const struct list_cfg *l, const char *key,
    const char *value)
{
	struct buf err;
	int rc = ACT_DONE;

	buf_init(&err, 0);
	if (config_list_set(l->file, key, value, &err) < 0)
		rc = act_fail(c, ACT_FAILED, "%s", buf_cstr(&err));
	buf_free(&err);
	if (rc == ACT_DONE)
		act_reload(c);
	return rc;
}

/* done_line - what the operator reads after a ban, unban or expel */
static void
done_line(struct act_ctx *c, const char *what, const char *addr, const char *prep,
    const struct list_cfg *l)
{
	if (c->json) {
		buf_printf(c->out, "{\"%s\":", what);
		act_json_str(c->out, addr);
		buf_puts(c->out, ",\"list\":");
		act_json_str(c->out, l->name);
		buf_puts(c->out, "}\n");
	} else
		buf_printf(c->out, "%s %s %s %s\n", what, addr, prep, l->name);
}

/*
 * grave_member - a grave step on one member (ban, expel): the quorum's
 * gate, then the change, audited unless an emergency already recorded it,
 * then said; `done` is the word the operator reads
 */
static int
grave_member(struct act_ctx *c, const struct list_cfg *l, enum grave g,
    const char *action, const char *addr, const char *ref,
    int (*apply)(struct act_ctx *, const struct list_cfg *, const char *),
    const char *done)
{
	const char *vars[] = { "member", ref, NULL };
	char d[300];
	int rc;

	if (audit_code(d, sizeof(d), action, vars) < 0)
		return act_fail(c, ACT_ERROR, "no room for the audit detail");
	if ((rc = act_grave(c, l, g, action, addr, d)) != ACT_DONE)
		return rc;
	if ((rc = apply(c, l, addr)) != ACT_DONE ||
	    (!c->emergency && (rc = act_audit(c, l, action, d)) != ACT_DONE))
		return rc;
	done_line(c, done, addr, "from", l);
	return ACT_DONE;
}

/* a ban's change once its address is checked and named (ref) */
typedef int ban_step(struct act_ctx *, const struct list_cfg *,
    const char *addr, const char *ref);

/*
 * by_ref - addr checked as an address, then how the audit log names it
 * (member or not) given to step: a ban and its lifting name it alike
 */
static int
by_ref(struct act_ctx *c, const struct list_cfg *l, const char *addr,
    ban_step *step)
{
	char ref[64];
	int rc;

	if ((rc = act_bad_address(c, addr)) != ACT_DONE)
		return rc;
	act_member_ref(c, l, addr, ref, sizeof(ref));
	return step(c, l, addr, ref);
}

/* ban_ask - a ban is grave: the quorum's */
static int
ban_ask(struct act_ctx *c, const struct list_cfg *l, const char *addr,
    const char *ref)
{
	return grave_member(c, l, Q_BAN, "ban", addr, ref, act_apply_ban,
	    "banned");
}

/* unban_now - lifting a ban needs no quorum */
static int
unban_now(struct act_ctx *c, const struct list_cfg *l, const char *addr,
    const char *ref)
{
	int rc = store_unban(c->p->st, l->name, addr);

	if (rc == STORE_NOTFOUND)
		return act_fail(c, ACT_FAILED, "%s is not banned from %s",
		    addr, l->name);
	if (rc != STORE_OK)
		return act_dberr(c);
	if ((rc = act_audit_code(c, l, "unban", "unban",
	    (const char *[]){ "member", ref, NULL })) != ACT_DONE)
		return rc;
	done_line(c, "unbanned", addr, "on", l);
	return ACT_DONE;
}

/* act_ban - member ban: the address need not be a member */
int
act_ban(struct act_ctx *c, const struct list_cfg *l, const char *addr)
{
	return by_ref(c, l, addr, ban_ask);
}

/* act_unban - member unban */
int
act_unban(struct act_ctx *c, const struct list_cfg *l, const char *addr)
{
	return by_ref(c, l, addr, unban_now);
}

/* act_expel - member rm */
int
act_expel(struct act_ctx *c, const struct list_cfg *l, const char *addr)
{
	char ref[64];

	act_member_ref(c, l, addr, ref, sizeof(ref));
	if (strncmp(ref, "member ", 7) != 0)	/* not a member */
		return act_fail(c, ACT_FAILED, "%s is not a member of %s", addr, l->name);
	return grave_member(c, l, Q_EXPEL, "expel", addr, ref, act_apply_expel, "removed");
}

/* act_set_role - member set ADDRESS role ROLE */
int
act_set_role(struct act_ctx *c, const struct list_cfg *l, const char *addr,
    const char *role)
{
	char ref[64], d[300], arg[400];
	const char *vars[] = { "member", ref, "role", role, NULL };
	enum role r;
	int rc;

	if (role_parse(role, &r) < 0)
		return act_fail(c, ACT_FAILED, "bad setting: a role (" ROLE_CHOICES ")");
	act_member_ref(c, l, addr, ref, sizeof(ref));
	if (strncmp(ref, "member ", 7) != 0)	/* not a member */
		return act_fail(c, ACT_FAILED, "%s is not a member of %s", addr, l->name);
	if (audit_code(d, sizeof(d), "roles-asked", vars) < 0)
		return act_fail(c, ACT_ERROR, "no room for the audit detail");
	snprintf(arg, sizeof(arg), "%s\n%s", addr, role);
	if ((rc = act_grave(c, l, Q_ROLES, "roles", arg, d)) != ACT_DONE)
		return rc;
	if ((rc = act_apply_role(c, l, addr, r)) != ACT_DONE)
		return rc;
	if (audit_code(d, sizeof(d), "roles", vars) < 0)
		return act_fail(c, ACT_ERROR, "no room for the audit detail");
	if (!c->emergency && (rc = act_audit(c, l, "roles", d)) != ACT_DONE)
		return rc;
	act_said_set(c, l, addr, "role", role);
	return ACT_DONE;
}

/*
 * guarded - settings that change who learns what, who may post or join, and
 * what the mail reveals (encryption, sender authentication, the delays that
 * keep a post's timing from its author): behind the quorum
 */
static int
guarded(const char *key)
{
	static const char *const whole[] = { "encryption", "posting", "subscription", "post_auth",
	    "private_replies", NULL };

	for (int i = 0; whole[i]; i++)
		if (!strcmp(key, whole[i]))
			return 1;
	return !strncmp(key, "disclosure.", 11) || !strncmp(key, "identity.", 9) ||
	    !strncmp(key, "leadership.", 11) || !strncmp(key, "archive.", 8) ||
	    !strncmp(key, "delivery.", 9);
}

/* act_set_policy - list set LIST KEY VALUE */
int
act_set_policy(struct act_ctx *c, const struct list_cfg *l, const char *key,
    const char *value)
{
	char arg[1200], d[300];
	const char *vars[] = { "setting", key, "value", value, NULL };
	struct buf err;
	int rc = ACT_DONE;

	buf_init(&err, 0);
	/* checked now, so that a request is not opened for a setting that does not exist */
	if (config_list_get(l->file, key, &err, &err) < 0 && strstr(buf_cstr(&err), "unknown"))
		rc = act_fail(c, ACT_FAILED, "%s", buf_cstr(&err));
	/* ... nor for a value the list file would refuse once approved */
	buf_reset(&err);
	if (rc == ACT_DONE && guarded(key) &&
	    config_list_check(l->file, key, value, &err) < 0)
		rc = act_fail(c, ACT_FAILED, "%s", buf_cstr(&err));
	buf_free(&err);
	if (rc != ACT_DONE)
		return rc;
	snprintf(arg, sizeof(arg), "%s\n%s", key, value);
	/* the pending row's detail holds 300 bytes: a long value is cut */
	if (audit_code(d, sizeof(d), "policy", vars) < 0)
		return act_fail(c, ACT_ERROR, "no room for the audit detail");
	if (guarded(key) && (rc = act_grave(c, l, Q_POLICY, "policy", arg, d)) != ACT_DONE)
		return rc;
	/* audited before the file changes: a failed audit leaves the old policy in force */
	if ((!(guarded(key) && c->emergency) && (rc = act_audit(c, l, "policy", d)) != ACT_DONE) ||
	    (rc = act_apply_policy(c, l, key, value)) != ACT_DONE)
		return rc;
	act_said_set(c, l, NULL, key, value);
	return ACT_DONE;
}

/* act_unmask - ask the moderators who is behind a pseudonym */
int
act_unmask(struct act_ctx *c, const struct list_cfg *l, const char *pseudonym)
{
	char sk[SKELETON_MAX], ref[64], d[300], *addr;
	int rc;

	if (l->identity == ID_REAL)
		return act_fail(c, ACT_FAILED, "%s is a real-identity list: there is nothing to "
		    "unmask", l->name);
	if (pseudonym_key(pseudonym, sk, sizeof(sk)) < 0 ||
	    (addr = store_member_by_pseudonym(c->p->st, l->name, sk)) == NULL)
		return act_fail(c, ACT_FAILED, "nobody on %s posts as \"%s\"", l->name, pseudonym);
	/* the name stays sealed (the argument); stored text names a reference */
	keys_pseudonym_ref(c->p->keys, l->name, sk, ref, sizeof(ref));
	if (audit_code(d, sizeof(d), "unmask",
	    (const char *[]){ "ref", ref, NULL }) < 0) {
		free(addr);
		return act_fail(c, ACT_ERROR, "no room for the audit detail");
	}
	if ((rc = act_grave(c, l, Q_UNMASK, "unmask", pseudonym, d)) == ACT_DONE)
		buf_printf(c->out, "%s\n", addr);	/* only with --emergency */
	free(addr);
	return rc;
}

struct roster {
	struct buf	*out;
};

/* roster_line - one member, tab-separated */
static int
roster_line(const struct member *m, void *arg)
{
	struct roster *r = arg;

	buf_printf(r->out, "%s\t%s\t%s\t%s\t%lld\n", m->addr, role_name(m->role),
	    m->pseudonym ? m->pseudonym : "", m->name ? m->name : "", m->created);
	return 0;
}

/* approved_export - an export approved and not yet used: its id, 0 none, -1 error */
static long long
approved_export(struct act_ctx *c, const struct list_cfg *l)
{
	long long id = store_pending_find(c->p->st, l->name, "roster_export", "done");

	return id < 0 ? -1 : id;
}

/* act_roster_export - the roster with addresses, once the quorum allows */
int
act_roster_export(struct act_ctx *c, const struct list_cfg *l)
{
	struct roster r = { c->out };
	char num[24];
	long long id;
	int rc;

	if ((id = approved_export(c, l)) < 0)
		return act_dberr(c);
	if (id > 0) {
		snprintf(num, sizeof(num), "%lld", id);
		if (store_pending_state(c->p->st, id, "used") != STORE_OK)
			return act_dberr(c);
		if ((rc = act_audit_code(c, l, "roster_export",
		    "roster-export-approved", (const char *[]){ "id", num,
		    NULL })) != ACT_DONE)
			return rc;
	} else if ((rc = act_grave(c, l, Q_ROSTER, "roster_export", "-",
	    "@roster-export")) != ACT_DONE)
		return rc;	/* a request is open: nothing to print yet */
	else if (!c->emergency && (rc = act_audit_code(c, l, "roster_export",
	    "roster-export-setup", NULL)) != ACT_DONE)
		return rc;
	return store_member_each(c->p->st, l->name, roster_line, &r) < 0 ? act_dberr(c) :
	    ACT_DONE;
}
