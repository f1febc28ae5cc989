/*
 * actions.c - the table of the daemon's actions as the control socket
 * names them: {verb, argument grammar, handler}, as in OpenSMTPD's
 * smtpctl. actions_run checks the grammar, runs the handler in one
 * transaction and commits only what succeeded (or opened a request).
 * The handlers only turn strings into the typed calls of members.c,
 * moderation.c, leadership.c and list.c, which the by-mail paths call too;
 * an action of the list alone, or of the list and one argument, is named
 * in its row itself.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions/actions.h"
#include "mail/addr.h"
#include "mail/audit.h"
#include "util/log.h"

struct action {
	const char	*verb;
	const char	*args;
	int		 minargs, maxargs;
	int		 own_txn;	/* the store function makes its own transaction */
	/* own_txn INSTANCE: about the instance, not a list (argv[1] is no list) */
	/*
	 * one of: the handler of the whole argv; an action of the list
	 * alone; an action of the list and argv[2]
	 */
	int		(*fn)(struct act_ctx *, const struct list_cfg *, int, char **);
	int		(*lfn)(struct act_ctx *, const struct list_cfg *);
	int		(*afn)(struct act_ctx *, const struct list_cfg *,
			    const char *);
};

/* h_mod - mod approve|discard LIST ID, mod reject LIST ID [REASON...] */
static int
h_mod(struct act_ctx *c, const struct list_cfg *l, int argc, char **argv)
{
	char reason[400] = "";
	size_t off = 0;
	enum act_decision d = !strcmp(argv[0], "mod approve") ? ACT_APPROVE :
	    !strcmp(argv[0], "mod reject") ? ACT_REJECT : ACT_DISCARD;

	for (int i = 3; i < argc; i++) {
		int n = snprintf(reason + off, sizeof(reason) - off, "%s%s",
		    i > 3 ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(reason) - off)
			break;	/* a reason is cut, not refused */
		off += (size_t)n;
	}
	return act_moderate(c, l, argv[2], d, reason);
}

/* h_member_add - member add LIST ADDRESS [--name NAME] [--pseudonym NAME] */
static int
h_member_add(struct act_ctx *c, const struct list_cfg *l, int argc, char **argv)
{
	const char *name = NULL, *pseudonym = NULL;

	for (int i = 3; i < argc; i += 2) {
		if (i + 1 < argc && strcmp(argv[i], "--name") == 0)
			name = argv[i + 1];
		else if (i + 1 < argc && strcmp(argv[i], "--pseudonym") == 0)
			pseudonym = argv[i + 1];
		else
			return act_fail(c, ACT_USAGE, "usage: member add LIST ADDRESS "
			    "[--name NAME] [--pseudonym NAME]");
	}
	return act_member_add(c, l, argv[2], name, pseudonym);
}

/* h_member_import - member import LIST TEXT [FILENAME] (the file's bytes, its name) */
static int
h_member_import(struct act_ctx *c, const struct list_cfg *l, int argc, char **argv)
{
	return act_member_import(c, l, argv[2], argc == 4 ? argv[3] : "line");
}

/* h_member_set - member set LIST ADDRESS KEY VALUE [expires DATE] */
static int
h_member_set(struct act_ctx *c, const struct list_cfg *l, int argc, char **argv)
{
	if (argc != 5 && (argc != 7 || strcmp(argv[3], "enckey") != 0 ||
	    strcmp(argv[5], "expires") != 0))
		return act_fail(c, ACT_USAGE, "only enckey takes more than a value: "
		    "enckey x25519:KEY expires YYYY-MM-DD");
	if (strcmp(argv[3], "role") == 0)
		return act_set_role(c, l, argv[2], argv[4]);
	return act_member_set(c, l, argv[2], argv[3], argv[4], argc == 7 ? argv[6] : NULL);
}

/* h_list_set - list set LIST KEY VALUE */
static int
h_list_set(struct act_ctx *c, const struct list_cfg *l, int argc, char **argv)
{
	(void)argc;
	return act_set_policy(c, l, argv[2], argv[3]);
}

/* h_list_create - list create NAME [TEMPLATE]: a list that is not yet */
static int
h_list_create(struct act_ctx *c, const struct list_cfg *l, int argc,
    char **argv)
{
	(void)l;
	return act_list_create(c, argv[1], argc == 3 ? argv[2] : "default");
}

/* h_backup - backup FILE: the instance into one encrypted file */
static int
h_backup(struct act_ctx *c, const struct list_cfg *l, int argc, char **argv)
{
	(void)l;
	(void)argc;
	return act_backup(c, argv[1]);
}

#define INSTANCE	2
/* own_txn NEWLIST: argv[1] names a list that does not exist yet */
#define NEWLIST		3

/* counts include the verb and the list */
static const struct action actions[] = {
	{ "mod approve", "LIST ID", 3, 3, 0, .fn = h_mod },
	{ "mod discard", "LIST ID", 3, 3, 0, .fn = h_mod },
	{ "mod reject", "LIST ID [REASON...]", 3, 40, 0, .fn = h_mod },
	{ "member add", "LIST ADDRESS [--name NAME] [--pseudonym NAME]", 3, 7, 0,
	  .fn = h_member_add },
	{ "member import", "LIST TEXT [FILENAME]", 3, 4, 0,
	  .fn = h_member_import },
	{ "member rm", "LIST ADDRESS", 3, 3, 0, .afn = act_expel },
	{ "member set", "LIST ADDRESS KEY VALUE [expires YYYY-MM-DD]", 5, 7, 0,
	  .fn = h_member_set },
	{ "member ban", "LIST ADDRESS", 3, 3, 0, .afn = act_ban },
	{ "member unban", "LIST ADDRESS", 3, 3, 0, .afn = act_unban },
	{ "member export", "LIST", 2, 2, 0, .lfn = act_roster_export },
	{ "list set", "LIST KEY VALUE", 4, 4, 0, .fn = h_list_set },
	{ "list delete", "LIST", 2, 2, 1, .lfn = act_list_delete },
	{ "list create", "NAME [TEMPLATE]", 2, 3, NEWLIST,
	  .fn = h_list_create },
	{ "unmask", "LIST PSEUDONYM", 3, 3, 0, .afn = act_unmask },
	{ "digest send", "LIST", 2, 2, 0, .lfn = act_digest_now },
	{ "keys rotate", "LIST", 2, 2, 0, .lfn = act_keys_rotate },
	{ "backup", "FILE", 2, 2, INSTANCE, .fn = h_backup },
	{ "keys rotate-subkey", "LIST", 2, 2, 0,
	  .lfn = act_keys_rotate_subkey },
	{ "keys rotate-pseudonym", "LIST NAME", 3, 3, 0,
	  .afn = act_keys_rotate_pseudonym },
	{ "keys openpgp", "LIST", 2, 2, 0, .lfn = act_keys_openpgp },
	{ .verb = NULL }
};

static const struct action *find(const char *);

/* actions_list_arg - the list a request names (NULL: an instance's action) */
const char *
actions_list_arg(int argc, char **argv)
{
	const struct action *a = argc >= 1 ? find(argv[0]) : NULL;

	if (a && a->own_txn == INSTANCE)
		return NULL;
	return argc >= 2 ? argv[1] : NULL;
}

/* find - the row of a verb, or NULL */
static const struct action *
find(const char *verb)
{
	const struct action *a;

	for (a = actions; a->verb; a++)
		if (strcmp(a->verb, verb) == 0)
			return a;
	return NULL;
}

/* dispatch - check the grammar, run the handler */
static int
dispatch(struct act_ctx *c, const struct action *a, int argc, char **argv)
{
	const struct list_cfg *l;

	if (argc < a->minargs || argc > a->maxargs)
		return act_fail(c, ACT_USAGE, "usage: mlistctl %s %s", a->verb, a->args);
	if (a->own_txn == INSTANCE || a->own_txn == NEWLIST)
		return a->fn(c, NULL, argc, argv);
	if ((l = act_list(c, argv[1])) == NULL)
		return ACT_FAILED;
	if (a->lfn)
		return a->lfn(c, l);
	if (a->afn)
		return a->afn(c, l, argv[2]);
	return a->fn(c, l, argc, argv);
}

/*
 * actions_run - one request from the control socket, in one transaction:
 * committed when it was done or a request opened, rolled back otherwise.
 */
int
actions_run(struct act_ctx *c, int argc, char **argv)
{
	const struct action *a = find(argv[0]);
	struct pipeline *p = c->p;
	char why[300];
	int rc;

	p->qid = "NOQUEUE";
	pipeline_begin(p);
	if (!a)
		return act_fail(c, ACT_USAGE, "the daemon knows no action \"%s\"", argv[0]);
	if (a->own_txn) {
		rc = dispatch(c, a, argc, argv);
		return rc == ACT_ERROR ? ACT_FAILED : rc;
	}
	if (store_begin(p->st) < 0)
		return act_dberr(c);
	rc = dispatch(c, a, argc, argv);
	if (rc != ACT_DONE && rc != ACT_REQUESTED) {
		store_rollback(p->st);
		pipeline_rolled_back(p);
		return rc == ACT_ERROR ? ACT_FAILED : rc;
	}
	if (store_commit(p->st) < 0) {
		rc = act_dberr(c);
		store_rollback(p->st);
		pipeline_rolled_back(p);
		c->reload = 0;
		return ACT_FAILED;
	}
	pipeline_committed(p);
	if (c->audited && audit_head_sync(p->st, p->cfg->state_dir, c->audited, why,
	    sizeof(why)) < 0)
		log_warn("NOQUEUE control: list=%s audit head: %s", c->audited, why);
	return rc;
}

/* act_bad_address - ACT_FAILED, said, unless addr is local@domain (then ACT_DONE) */
int
act_bad_address(struct act_ctx *c, const char *addr)
{
	if (addr_valid(addr))
		return ACT_DONE;
	return act_fail(c, ACT_FAILED, "\"%s\" is not a valid address (expected "
	    "local@domain)", addr);
}

/* act_reload - a list file changed: this process and the SMTP side take it */
void
act_reload(struct act_ctx *c)
{
	c->reload = 1;
	kill(getppid(), SIGHUP);
}

/* act_fail - say why into err; returns rc */
int
act_fail(struct act_ctx *c, int rc, const char *fmt, ...)
{
	va_list ap;
	char line[1200];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_printf(c->err, "%s\n", line);
	return rc;
}

/* act_dberr - the store failed: say so, ACT_ERROR */
int
act_dberr(struct act_ctx *c)
{
	return act_fail(c, ACT_ERROR, "database: %s", store_errmsg(c->p->st));
}

/* act_json_str - a JSON string literal */
void
act_json_str(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			buf_printf(b, "\\%c", ch);
		else if (ch < 0x20)
			buf_printf(b, "\\u%04x", ch);
		else
			buf_putc(b, ch);
	}
	buf_putc(b, '"');
}

/* act_list - a list by name, or a failure said */
const struct list_cfg *
act_list(struct act_ctx *c, const char *name)
{
	const struct list_cfg *l = config_list_find(c->p->cfg, name);

	if (!l)
		act_fail(c, ACT_FAILED, "no list named \"%s\" (see 'mlistctl list ls')", name);
	return l;
}

/*
 * act_audit - record an action in the list's audit log, under c->actor: a
 * coded detail (audit.h), after it who agreed and how many where a quorum
 * decided (c->votes: quorum.c); worded when read
 */
int
act_audit(struct act_ctx *c, const struct list_cfg *l, const char *action,
    const char *detail)
{
	struct audit_detail d;
	char votes[16], out[sizeof(((struct audit_entry *)0)->detail)];

	snprintf(out, sizeof(out), "%s", detail);
	if (c->votes > 0 && audit_parse(detail, &d) == 0) {
		snprintf(votes, sizeof(votes), "%d", c->votes);
		audit_set(&d, "agreed", c->actor);
		audit_set(&d, "votes", votes);
		(void)audit_format(&d, out, sizeof(out));
	}
	if (audit_append(c->p->st, l->name, c->p->now, c->actor, action,
	    out) < 0)
		return act_fail(c, ACT_ERROR, "it could not be recorded in "
		    "%s's audit log: %s", l->name, store_errmsg(c->p->st));
	c->audited = l->name;
	return ACT_DONE;
}

/* act_audit_code - act_audit of a code and vars' pairs (audit_code) */
int
act_audit_code(struct act_ctx *c, const struct list_cfg *l,
    const char *action, const char *code, const char *const *vars)
{
	char d[sizeof(((struct audit_entry *)0)->detail)];

	if (audit_code(d, sizeof(d), code, vars) < 0)
		return act_fail(c, ACT_ERROR, "no room for the audit detail");
	return act_audit(c, l, action, d);
}

/*
 * act_member_ref - how the audit log names a member: by a keyed short id
 * (keys_member_ref), never by address, nor by a number that counts them
 */
void
act_member_ref(struct act_ctx *c, const struct list_cfg *l, const char *addr, char *out,
    size_t n)
{
	struct member m;

	if (store_member_find(c->p->st, l->name, addr, &m) == STORE_OK) {
		keys_member_ref(c->p->keys, l->name, m.id, out, n);
		member_free(&m);
	} else
		snprintf(out, n, "an address that is not a member");
}
