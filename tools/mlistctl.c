/*
 * mlistctl.c - the list administrator's command line.
 *
 * Each verb is a row in a table - its words, its argument grammar, its
 * handler and its help - as in OpenSMTPD's smtpctl. Usage errors exit 2,
 * failures exit 1; every error is one line on stderr that says what to do.
 * With --json, output is one JSON document on stdout (documented in the
 * README and stable: fields are only ever added).
 */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../mlistd/mail/addr.h"
#include "../mlistd/mail/archive.h"
#include "../mlistd/mail/audit.h"
#include "../mlistd/mail/config.h"
#include "../mlistd/mail/keys.h"
#include "../mlistd/mail/listkey.h"
#include "../mlistd/mail/pseudonym.h"
#include "../mlistd/mail/sealed.h"
#include "../mlistd/mail/spool.h"
#include "../mlistd/mail/store.h"
#include "../mlistd/util/fsutil.h"
#include "../mlistd/util/privdrop.h"
#include "delivery/distribute.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2 };
enum { NEED_NONE, NEED_CONFIG, NEED_STORE };

struct ctx {
	const char	*config_path;
	int		 json;
	int		 emergency;	/* --emergency: a grave action without the quorum (recorded, announced) */
	struct config	*cfg;
	struct keys	*keys;
	struct store	*store;
	struct spool	 spool;
};

struct verb {
	const char	*words;
	const char	*args;
	int		 minargs, maxargs;
	int		 need;
	int		(*fn)(struct ctx *, int, char **);
	const char	*help;
};

static int v_init(struct ctx *, int, char **);
static int v_check(struct ctx *, int, char **);
static int v_status(struct ctx *, int, char **);
static int v_list_create(struct ctx *, int, char **);
static int v_list_ls(struct ctx *, int, char **);
static int v_list_show(struct ctx *, int, char **);
static int v_list_set(struct ctx *, int, char **);
static int v_list_delete(struct ctx *, int, char **);
static int v_member_add(struct ctx *, int, char **);
static int v_member_rm(struct ctx *, int, char **);
static int v_member_ls(struct ctx *, int, char **);
static int v_member_set(struct ctx *, int, char **);
static int v_member_export(struct ctx *, int, char **);
static int v_member_ban(struct ctx *, int, char **);
static int v_member_import(struct ctx *, int, char **);
static int v_keys(struct ctx *, int, char **);
static int v_mod_ls(struct ctx *, int, char **);
static int v_mod_show(struct ctx *, int, char **);
static int v_mod_act(struct ctx *, int, char **);
static int v_mod_reject(struct ctx *, int, char **);
static int v_archive_ls(struct ctx *, int, char **);
static int v_digest_send(struct ctx *, int, char **);
static int v_audit(struct ctx *, int, char **);
static int audit(struct ctx *, const struct list_cfg *, const char *action, const char *detail);
static int grave(struct ctx *, const struct list_cfg *, int g, const char *action, const char *arg,
    const char *detail);
static int v_unmask(struct ctx *, int, char **);
static int v_archive_export(struct ctx *, int, char **);

static const struct verb verbs[] = {
	{ "init", "", 0, 0, NEED_NONE, v_init,
	  "Create the state directory, the master key (mode 0600), the database and the\n"
	  "spool of a new instance. Refuses to run twice." },
	{ "check", "", 0, 0, NEED_STORE, v_check,
	  "Check the configuration, every list file, the master key and the database.\n"
	  "Prints \"configuration OK\" or each error as file:line: setting: problem." },
	{ "status", "", 0, 0, NEED_STORE, v_status,
	  "Show whether the daemon runs, queue sizes, pending deliveries and lists." },
	{ "list create", "NAME [--template T]", 1, 3, NEED_STORE, v_list_create,
	  "Create list NAME from templates_dir/T.conf (default T: default). The list\n"
	  "address is NAME@hostname. The daemon is told to reload." },
	{ "list ls", "", 0, 0, NEED_STORE, v_list_ls, "List the lists and their member counts." },
	{ "list show", "NAME", 1, 1, NEED_STORE, v_list_show,
	  "Show every setting of a list (defaults included) and its member count." },
	{ "list set", "NAME KEY VALUE", 3, 3, NEED_STORE, v_list_set,
	  "Change one setting of a list. The value is checked, the list file rewritten\n"
	  "atomically (libconfig drops comments when it writes) and the daemon reloaded." },
	{ "list delete", "NAME", 1, 1, NEED_STORE, v_list_delete,
	  "Delete a list: its file and its members. Mail already queued is still delivered." },
	{ "member add", "LIST ADDRESS [--name NAME] [--pseudonym NAME]", 2, 6, NEED_STORE, v_member_add,
	  "Add a member. The address (and the name) are stored encrypted. On a pseudonymous\n"
	  "list --pseudonym sets the name they post under (checked: printable, not like an\n"
	  "address, not a role, unique on the list ignoring case and look-alike letters);\n"
	  "without it one is made up at their first post." },
	{ "member import", "LIST FILE", 2, 2, NEED_STORE, v_member_import,
	  "Add many members at once: FILE (or - for standard input) holds one address per\n"
	  "line, optionally followed by a space and a name. Blank lines and lines starting\n"
	  "with # are skipped; addresses already subscribed are left as they are. All or\n"
	  "nothing: one bad address and nobody is added." },
	{ "member rm", "LIST ADDRESS", 2, 2, NEED_STORE, v_member_rm, "Remove a member." },
	{ "member ls", "LIST", 1, 1, NEED_STORE, v_member_ls,
	  "List the members of a list, as the list's rules let them be seen: on a real-\n"
	  "identity list addresses and names; on a pseudonymous or anonymous list only\n"
	  "member numbers, pseudonyms (unless disclosure.roster is \"none\") and roles -\n"
	  "never addresses." },
	{ "member export", "LIST", 1, 1, NEED_STORE, v_member_export,
	  "The whole roster with addresses (tab-separated: address, role, pseudonym, name,\n"
	  "joined), e.g. to move a list. Once the list has enough moderators this needs\n"
	  "their quorum (leadership.quorum_roster_export): the first run opens a request\n"
	  "and prints nothing; when the moderators have approved it by mail, the next run\n"
	  "prints the roster, once. Every export is in the audit log." },
	{ "member set", "LIST ADDRESS KEY VALUE [expires YYYY-MM-DD]", 4, 6, NEED_STORE, v_member_set,
	  "Change a member: KEY is name (text), role (member|moderator|owner),\n"
	  "nomail (on|off), digest (on|off), pseudonym (a name, checked as for 'member\n"
	  "add'), identity (real|pseudonym|anonymous as identity.choices allows, or\n"
	  "\"list\" for the list's mode), or key: the member's own public key (from\n"
	  "'mlist keygen'; 'none' to go back to a key the server holds). With their own key\n"
	  "registered, posts in the member's name must be signed with it ('mlist sign').\n"
	  "enckey x25519:KEY|none: the member's encryption key; every copy to them is sealed.\n"
	  "With \"expires YYYY-MM-DD\" (enckey only) the member is reminded\n"
	  "key_expiry_warning_days before that day, and from that day the key is not used." },
	{ "member ban", "LIST ADDRESS", 2, 2, NEED_STORE, v_member_ban,
	  "Ban an address: its posts are dropped without a notice. The address need not\n"
	  "be a member; a member stays subscribed until removed. Once the list has enough\n"
	  "moderators this opens a request for their quorum (leadership.quorum_ban); so do\n"
	  "member rm, member set ... role, and list set of disclosure., identity.,\n"
	  "leadership. and archive. settings." },
	{ "member unban", "LIST ADDRESS", 2, 2, NEED_STORE, v_member_ban, "Lift a ban." },
	{ "mod ls", "LIST", 1, 1, NEED_STORE, v_mod_ls,
	  "Posts held on the list: moderated lists, posts to -owner with no owner, posts\n"
	  "waiting for their author's confirmation. One line each: ID, reason, since." },
	{ "mod show", "LIST ID", 2, 2, NEED_STORE, v_mod_show,
	  "Print a held post as it would go out. On a non-real list the author's address\n"
	  "is shown only when disclosure.moderators_see is \"address\"." },
	{ "mod approve", "LIST ID", 2, 2, NEED_STORE, v_mod_act,
	  "Distribute a held post to the members (within a second, by the running daemon).\n"
	  "A post waiting for its author's confirmation cannot be approved for them." },
	{ "mod queue", "LIST", 1, 1, NEED_STORE, v_mod_ls, "The same as mod ls." },
	{ "mod discard", "LIST ID", 2, 2, NEED_STORE, v_mod_act, "Drop a held post for good." },
	{ "mod reject", "LIST ID [REASON...]", 2, 40, NEED_STORE, v_mod_reject,
	  "Refuse a held post: its author is told, with REASON (and, with\n"
	  "leadership.publish_rejections, the members see its subject and the reason).\n"
	  "The running daemon does it within a second, as if a moderator had answered\n"
	  "the post's notice; the audit log names the operator." },
	{ "archive ls", "LIST", 1, 1, NEED_STORE, v_archive_ls,
	  "The list's archive: number, date, From and Subject of every post kept\n"
	  "(as distributed: pseudonyms, not addresses, on non-real lists). Refused when\n"
	  "disclosure.archive is \"none\"." },
	{ "archive export", "LIST", 1, 1, NEED_STORE, v_archive_export,
	  "Write the list's archive to standard output as an mbox (mboxrd quoting), the\n"
	  "posts exactly as members received them. Refused when disclosure.archive is \"none\"." },
	{ "unmask", "LIST PSEUDONYM", 2, 2, NEED_STORE, v_unmask,
	  "Ask the moderators to learn which address is behind a pseudonym. This reveals\n"
	  "nothing by itself: it opens a request that leadership.quorum_unmask distinct\n"
	  "moderators (or all of them, if fewer) must approve by mail; then only they are told\n"
	  "(and the member, if leadership.notify_unmasked). With the global --emergency flag the\n"
	  "operator is told at once; that is recorded in the audit log and announced to every\n"
	  "moderator." },
	{ "audit", "LIST [--verify]", 1, 2, NEED_STORE, v_audit,
	  "The list's audit log: every leadership action (admit, expel, ban, unban, roles,\n"
	  "policy, approve, discard) with its time and the role that did it - never a\n"
	  "person's address. Each entry is chained to the one before and signed by the\n"
	  "list's key; --verify checks the whole chain and exits 1 at the first entry that\n"
	  "was changed, removed or reordered." },
	{ "digest send", "LIST", 1, 1, NEED_STORE, v_digest_send,
	  "Send the list's digest now (within a second, by the running daemon) instead of\n"
	  "at the end of its digest.period, if any post is waiting for it." },
	{ "keys rotate", "LIST", 1, 1, NEED_STORE, v_keys,
	  "Make a new DKIM key with a new selector for the list; it signs from now on. The\n"
	  "old key stays listed: keep its record published for the posts it signed." },
	{ "keys", "LIST", 1, 1, NEED_STORE, v_keys,
	  "Show the list's DKIM keys and the DNS TXT records to publish under the instance's\n"
	  "hostname (every key, old ones too: they verify the posts they signed)." },
	{ NULL, NULL, 0, 0, 0, NULL, NULL }
};

/* die - one-line error, exit status */
static int
fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int
fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("mlistctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* json_str - print a JSON string literal */
static void
json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
usage(FILE *fp)
{
	const struct verb *v;

	fprintf(fp, "usage: mlistctl [-c CONFIG] [--json] [--emergency] VERB [ARGS...]\n\n"
	    "Administer an mlistd instance: its lists and their members.\n\n"
	    "options:\n"
	    "  -c CONFIG    configuration file (default: $MLISTD_CONF, else /etc/mlistd/mlistd.conf)\n"
	    "  --json       machine-readable output (one JSON document on stdout)\n"
	    "  --emergency  do a grave action (ban, member rm, role, policy, unmask) without the\n"
	    "               moderators' quorum; it is recorded in the audit log and announced to\n"
	    "               every moderator\n"
	    "  -h, --help this help; 'mlistctl VERB --help' explains one verb\n\nverbs:\n");
	for (v = verbs; v->words; v++)
		fprintf(fp, "  %s %s\n", v->words, v->args);
	fprintf(fp, "\nexit status: 0 success, 1 failure, 2 usage error.\n");
}

/* verb_help - the help of one verb */
static void
verb_help(const struct verb *v)
{
	printf("usage: mlistctl [-c CONFIG] [--json] [--emergency] %s %s\n\n%s\n", v->words, v->args, v->help);
	if (strcmp(v->words, "list set") == 0)
		printf("\nKEY is one of: %s\n", config_list_keys());
}

/* signal_daemon - ask a running daemon to reload; quiet if none runs */
static void
signal_daemon(struct ctx *c)
{
	FILE *fp = fopen(c->cfg->pid_file, "r");
	long pid;

	if (!fp)
		return;
	if (fscanf(fp, "%ld", &pid) == 1 && pid > 1 && kill((pid_t)pid, SIGHUP) == 0 && !c->json)
		fprintf(stderr, "mlistctl: daemon (pid %ld) told to reload\n", pid);
	fclose(fp);
}

/* open_state - keys, store and spool of the instance */
static int
open_state(struct ctx *c)
{
	char path[4096];
	struct buf err;

	snprintf(path, sizeof(path), "%s/master.key", c->cfg->state_dir);
	if ((c->keys = keys_load(path, path, sizeof(path))) == NULL)
		return fail(EX_FAIL, "%s", path);
	buf_init(&err, 0);
	snprintf(path, sizeof(path), "%s/mlistd.db", c->cfg->state_dir);
	if ((c->store = store_open(path, c->keys, &err)) == NULL ||
	    spool_open(&c->spool, c->cfg->state_dir, c->keys, &err) < 0) {
		fail(EX_FAIL, "%s", buf_cstr(&err));
		buf_free(&err);
		return EX_FAIL;
	}
	buf_free(&err);
	return EX_OK;
}

static int
v_init(struct ctx *c, int argc, char **argv)
{
	char path[4096], errtext[512];
	struct buf err;
	struct config *cfg;

	(void)argc;
	(void)argv;
	buf_init(&err, 0);
	if ((cfg = config_load_flags(c->config_path, CONFIG_SKIP_LISTS, &err)) == NULL) {
		fputs(buf_cstr(&err), stderr);
		return EX_FAIL;
	}
	c->cfg = cfg;
	if (fs_mkdir_p(cfg->state_dir, 0700) < 0 || chmod(cfg->state_dir, 0700) < 0)
		return fail(EX_FAIL, "cannot create %s: %s", cfg->state_dir, strerror(errno));
	if (fs_mkdir_p(cfg->lists_dir, 0755) < 0)
		return fail(EX_FAIL, "cannot create %s: %s", cfg->lists_dir, strerror(errno));
	/* as root: the two directories go to the daemon's user, and the rest is made as that user */
	if (priv_chown(cfg->state_dir, cfg->user, &err) < 0 || priv_chown(cfg->lists_dir, cfg->user, &err) < 0 ||
	    priv_drop(cfg->user, &err) < 0)
		return fail(EX_FAIL, "%s", buf_cstr(&err));
	snprintf(path, sizeof(path), "%s/master.key", cfg->state_dir);
	if (keys_create(path, errtext, sizeof(errtext)) < 0)
		return fail(EX_FAIL, "%s", errtext);
	if (open_state(c) != EX_OK)
		return EX_FAIL;
	/* lists that already exist (hand-written files) get their signing keys now */
	buf_reset(&err);
	{
		struct config *full = config_load(c->config_path, &err);
		char sel[SELECTOR_MAX];

		for (int i = 0; full && i < full->nlists; i++)
			if (listkey_create(c->store, full->lists[i].name, sel, sizeof(sel)) < 0)
				return fail(EX_FAIL, "cannot make the signing key of %s: %s", full->lists[i].name,
				    store_errmsg(c->store));
		config_free(full);
	}
	if (c->json)
		printf("{\"state_dir\":"), json_str(cfg->state_dir), printf(",\"schema\":%d}\n",
		    store_schema_version(c->store));
	else
		printf("initialised %s (master key, database, spool)\n", cfg->state_dir);
	buf_free(&err);
	return EX_OK;
}

static int
v_check(struct ctx *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	if (c->json)
		printf("{\"ok\":true,\"lists\":%d,\"schema\":%d}\n", c->cfg->nlists,
		    store_schema_version(c->store));
	else
		printf("configuration OK\n");
	return EX_OK;
}

/* daemon_pid - pid of the running daemon, or 0 */
static long
daemon_pid(struct ctx *c)
{
	FILE *fp = fopen(c->cfg->pid_file, "r");
	long pid = 0;

	if (!fp)
		return 0;
	if (fscanf(fp, "%ld", &pid) != 1 || pid <= 1 || kill((pid_t)pid, 0) < 0)
		pid = 0;
	fclose(fp);
	return pid;
}

static int
v_status(struct ctx *c, int argc, char **argv)
{
	int in = spool_count(&c->spool, SPOOL_INCOMING), out = spool_count(&c->spool, SPOOL_OUT);
	int bad = spool_count(&c->spool, SPOOL_CORRUPT), i, first = 1;
	int pending = store_pending_count(c->store), failed = store_failed_count(c->store);
	int held = store_held_count(c->store, NULL);
	long pid = daemon_pid(c);
	struct buf errs;
	char *line, *save = NULL;

	(void)argc;
	(void)argv;
	buf_init(&errs, 0);
	store_last_errors(c->store, 5, &errs);
	if (c->json) {
		printf("{\"running\":%s,\"pid\":%ld,\"queue\":{\"incoming\":%d,\"out\":%d,\"corrupt\":%d},"
		    "\"deliveries\":{\"pending\":%d,\"failed\":%d},\"held\":%d,\"last_errors\":[",
		    pid ? "true" : "false", pid, in, out, bad, pending, failed, held);
		for (line = strtok_r((char *)buf_cstr(&errs), "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			printf("%s", first ? "" : ",");
			json_str(line);
			first = 0;
		}
		printf("],\"lists\":[");
		for (i = 0; i < c->cfg->nlists; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(c->cfg->lists[i].name);
			printf(",\"members\":%d}", store_member_count(c->store, c->cfg->lists[i].name));
		}
		printf("]}\n");
		buf_free(&errs);
		return EX_OK;
	}
	printf("daemon:      %s", pid ? "running" : "not running");
	if (pid)
		printf(" (pid %ld)", pid);
	printf("\nqueue:       %d incoming, %d rendered, %d quarantined (queue/corrupt)\n", in, out, bad);
	printf("deliveries:  %d pending, %d failed\nheld:        %d waiting for a moderator\n",
	    pending, failed, held);
	if (errs.len)
		printf("last errors:\n%s", buf_cstr(&errs));
	printf("lists:       %d\n", c->cfg->nlists);
	for (i = 0; i < c->cfg->nlists; i++)
		printf("  %-20s %d members\n", c->cfg->lists[i].name,
		    store_member_count(c->store, c->cfg->lists[i].name));
	buf_free(&errs);
	return EX_OK;
}

/* find_list - a list by name, or an error */
static const struct list_cfg *
find_list(struct ctx *c, const char *name)
{
	const struct list_cfg *l = config_list_find(c->cfg, name);

	if (!l)
		fail(EX_FAIL, "no list named \"%s\" (see 'mlistctl list ls')", name);
	return l;
}

static int
v_list_create(struct ctx *c, int argc, char **argv)
{
	const char *tmpl = "default";
	struct buf err;

	if (argc == 3 && strcmp(argv[1], "--template") == 0)
		tmpl = argv[2];
	else if (argc != 1)
		return fail(EX_USAGE, "usage: list create NAME [--template T]");
	buf_init(&err, 0);
	if (config_list_create(c->cfg, argv[0], tmpl, &err) < 0) {
		fail(EX_FAIL, "%s", buf_cstr(&err));
		buf_free(&err);
		return EX_FAIL;
	}
	buf_free(&err);
	{
		char sel[SELECTOR_MAX];

		if (listkey_create(c->store, argv[0], sel, sizeof(sel)) < 0)
			return fail(EX_FAIL, "list created, but its signing key could not be: %s "
			    "(the daemon makes one when the list first posts)", store_errmsg(c->store));
	}
	if (c->json)
		printf("{\"created\":"), json_str(argv[0]), printf("}\n");
	else
		printf("created list %s@%s\n", argv[0], c->cfg->hostname);
	signal_daemon(c);
	return EX_OK;
}

static int
v_list_ls(struct ctx *c, int argc, char **argv)
{
	int i;

	(void)argc;
	(void)argv;
	if (c->json)
		printf("[");
	for (i = 0; i < c->cfg->nlists; i++) {
		const struct list_cfg *l = &c->cfg->lists[i];
		int n = store_member_count(c->store, l->name);

		if (c->json) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(l->name);
			printf(",\"address\":\"%s@%s\",\"members\":%d,\"posting\":\"%s\"}", l->name,
			    c->cfg->hostname, n, config_posting_name(l->posting));
		} else
			printf("%-20s %s@%s  %d members  posting=%s\n", l->name, l->name, c->cfg->hostname,
			    n, config_posting_name(l->posting));
	}
	if (c->json)
		printf("]\n");
	return EX_OK;
}

static int
v_list_show(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	char keys[1024], *k, *save = NULL;
	struct buf val, err;
	int first = 1;

	(void)argc;
	if (!l)
		return EX_FAIL;
	snprintf(keys, sizeof(keys), "%s", config_list_keys());
	buf_init(&val, 0);
	buf_init(&err, 0);
	if (c->json)
		printf("{\"address\":\"%s@%s\",\"members\":%d,\"settings\":{", l->name, c->cfg->hostname,
		    store_member_count(c->store, l->name));
	else
		printf("address              %s@%s\nmembers              %d\n", l->name, c->cfg->hostname,
		    store_member_count(c->store, l->name));
	for (k = strtok_r(keys, ", ", &save); k; k = strtok_r(NULL, ", ", &save)) {
		buf_reset(&val);
		if (config_list_get(l->file, k, &val, &err) < 0)
			continue;
		if (c->json) {
			printf("%s", first ? "" : ",");
			json_str(k);
			putchar(':');
			json_str(buf_cstr(&val));
		} else
			printf("%-20s %s\n", k, buf_cstr(&val));
		first = 0;
	}
	if (c->json)
		printf("}}\n");
	buf_free(&val);
	buf_free(&err);
	return EX_OK;
}

static int
v_list_set(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	struct buf err;

	(void)argc;
	if (!l)
		return EX_FAIL;
	if (!strncmp(argv[1], "disclosure.", 11) || !strncmp(argv[1], "identity.", 9) ||
	    !strncmp(argv[1], "leadership.", 11) || !strncmp(argv[1], "archive.", 8)) {
		char arg[1200], d[600];
		int rc;

		/* checked now, applied at the quorum */
		buf_init(&err, 0);
		if (config_list_get(l->file, argv[1], &err, &err) < 0 && strstr(buf_cstr(&err), "unknown")) {
			fail(EX_FAIL, "%s", buf_cstr(&err));
			buf_free(&err);
			return EX_FAIL;
		}
		buf_free(&err);
		snprintf(arg, sizeof(arg), "%s\n%s", argv[1], argv[2]);
		snprintf(d, sizeof(d), "%s = %s", argv[1], argv[2]);
		if ((rc = grave(c, l, Q_POLICY, "policy", arg, d)) != EX_OK)
			return rc == 1 ? EX_OK : rc;
	}
	buf_init(&err, 0);
	if (config_list_set(l->file, argv[1], argv[2], &err) < 0) {
		/* errors from the validator name the temp copy; the user edits the real file */
		fail(EX_FAIL, "%s", buf_cstr(&err));
		buf_free(&err);
		return EX_FAIL;
	}
	buf_free(&err);
	{
		char d[600];

		snprintf(d, sizeof(d), "%s = %s", argv[1], argv[2]);
		if (audit(c, l, "policy", d) != EX_OK)
			return EX_FAIL;
	}
	if (c->json)
		printf("{\"list\":"), json_str(l->name), printf(",\"key\":"), json_str(argv[1]),
		    printf(",\"value\":"), json_str(argv[2]), printf("}\n");
	else
		printf("%s: %s = %s\n", l->name, argv[1], argv[2]);
	signal_daemon(c);
	return EX_OK;
}

static int
v_list_delete(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);

	(void)argc;
	if (!l)
		return EX_FAIL;
	if (unlink(l->file) < 0 || fs_fsync_dir(l->file) < 0)
		return fail(EX_FAIL, "cannot remove %s: %s", l->file, strerror(errno));
	if (store_list_purge(c->store, l->name) != STORE_OK)
		return fail(EX_FAIL, "list file removed, but its members could not be: %s",
		    store_errmsg(c->store));
	if (c->json)
		printf("{\"deleted\":"), json_str(l->name), printf("}\n");
	else
		printf("deleted list %s\n", l->name);
	signal_daemon(c);
	return EX_OK;
}

/* member_ref - how the audit log names a member: by number, never by address or name */
static void
member_ref(struct ctx *c, const struct list_cfg *l, const char *addr, char *out, size_t n)
{
	struct member m;

	if (store_member_find(c->store, l->name, addr, &m) == STORE_OK) {
		snprintf(out, n, "member #%lld", m.id);
		member_free(&m);
	} else
		snprintf(out, n, "an address that is not a member");
}

/* audit - record a leadership action done from the command line; EX_OK, or EX_FAIL (told) */
static int
audit(struct ctx *c, const struct list_cfg *l, const char *action, const char *detail)
{
	char why[300];

	if (audit_append(c->store, l->name, (long long)time(NULL), "operator", action, detail) == 0) {
		if (audit_head_sync(c->store, c->cfg->state_dir, l->name, why, sizeof(why)) < 0)
			fprintf(stderr, "mlistctl: warning: %s's audit log: %s\n", l->name, why);
		return EX_OK;
	}
	return fail(EX_FAIL, "done, but it could not be recorded in %s's audit log: %s", l->name,
	    store_errmsg(c->store));
}

/* set_pseudonym - check and set a member's pseudonym; EX_OK or EX_FAIL (told) */
static int
set_pseudonym(struct ctx *c, const struct list_cfg *l, const char *addr, const char *name)
{
	char sk[SKELETON_MAX], why[160], h[24];
	int rc;

	if (pseudonym_check(name, sk, sizeof(sk), why, sizeof(why)) < 0)
		return fail(EX_FAIL, "\"%s\" cannot be a pseudonym: %s", name, why);
	handle_generate(h, sizeof(h));
	rc = store_member_set_pseudonym(c->store, l->name, addr, name, sk, h);
	if (rc == STORE_EXISTS)
		return fail(EX_FAIL, "\"%s\" is taken on %s (another member's pseudonym is the same or looks the "
		    "same); choose another", name, l->name);
	if (rc == STORE_NOTFOUND)
		return fail(EX_FAIL, "%s is not a member of %s", addr, l->name);
	if (rc != STORE_OK)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	return EX_OK;
}

static int
v_member_add(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	const char *name = NULL, *pseudonym = NULL;
	int rc;

	if (!l)
		return EX_FAIL;
	for (int i = 2; i < argc; i += 2) {
		if (i + 1 < argc && strcmp(argv[i], "--name") == 0)
			name = argv[i + 1];
		else if (i + 1 < argc && strcmp(argv[i], "--pseudonym") == 0)
			pseudonym = argv[i + 1];
		else
			return fail(EX_USAGE, "usage: member add LIST ADDRESS [--name NAME] [--pseudonym NAME]");
	}
	if (!addr_valid(argv[1]))
		return fail(EX_FAIL, "\"%s\" is not a valid address (expected local@domain)", argv[1]);
	if (name && (strpbrk(name, "\r\n") || strlen(name) > 200))
		return fail(EX_FAIL, "a name must be one line of at most 200 characters");
	if (store_begin(c->store) < 0)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	rc = store_member_add(c->store, l->name, argv[1], name);
	if (rc == STORE_EXISTS) {
		store_rollback(c->store);
		return fail(EX_FAIL, "%s is already a member of %s", argv[1], l->name);
	}
	if (rc != STORE_OK || (pseudonym && (rc = set_pseudonym(c, l, argv[1], pseudonym)) != EX_OK) ||
	    store_commit(c->store) < 0) {
		store_rollback(c->store);
		return rc == EX_FAIL ? EX_FAIL : fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	}
	{
		char ref[64];

		member_ref(c, l, argv[1], ref, sizeof(ref));
		if (audit(c, l, "admit", ref) != EX_OK)
			return EX_FAIL;
	}
	if (c->json)
		printf("{\"added\":"), json_str(argv[1]), printf(",\"list\":"), json_str(l->name), printf("}\n");
	else
		printf("added %s to %s\n", argv[1], l->name);
	return EX_OK;
}

static int
v_member_import(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	FILE *fp;
	char line[1024], *name, *nl;
	int lineno = 0, added = 0, existing = 0, rc = EX_OK, r;

	(void)argc;
	if (!l)
		return EX_FAIL;
	if ((fp = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "r")) == NULL)
		return fail(EX_FAIL, "cannot open %s: %s", argv[1], strerror(errno));
	if (store_begin(c->store) < 0) {
		rc = fail(EX_FAIL, "database: %s", store_errmsg(c->store));
		goto out;
	}
	while (fgets(line, sizeof(line), fp)) {
		lineno++;
		if ((nl = strpbrk(line, "\r\n")) != NULL)
			*nl = 0;
		if (line[0] == 0 || line[0] == '#')
			continue;
		if ((name = strchr(line, ' ')) != NULL)
			*name++ = 0;
		if (!addr_valid(line)) {
			rc = fail(EX_FAIL, "%s:%d: \"%s\" is not a valid address; nothing was imported",
			    argv[1], lineno, line);
			store_rollback(c->store);
			goto out;
		}
		if ((r = store_member_add(c->store, l->name, line, name && *name ? name : NULL)) == STORE_EXISTS)
			existing++;
		else if (r != STORE_OK) {
			rc = fail(EX_FAIL, "database: %s; nothing was imported", store_errmsg(c->store));
			store_rollback(c->store);
			goto out;
		} else
			added++;
	}
	if (store_commit(c->store) < 0) {
		rc = fail(EX_FAIL, "database: %s; nothing was imported", store_errmsg(c->store));
		store_rollback(c->store);
		goto out;
	}
	if (c->json)
		printf("{\"list\":"), json_str(l->name), printf(",\"added\":%d,\"existing\":%d}\n", added, existing);
	else
		printf("%s: %d added, %d already members\n", l->name, added, existing);
out:
	if (fp != stdin)
		fclose(fp);
	return rc;
}

static int
v_member_rm(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	int rc;

	char ref[64];

	(void)argc;
	if (!l)
		return EX_FAIL;
	member_ref(c, l, argv[1], ref, sizeof(ref));
	if (strncmp(ref, "member #", 8) == 0 && (rc = grave(c, l, Q_EXPEL, "expel", argv[1], ref)) != EX_OK)
		return rc == 1 ? EX_OK : rc;
	rc = store_member_rm(c->store, l->name, argv[1]);
	if (rc == STORE_NOTFOUND)
		return fail(EX_FAIL, "%s is not a member of %s", argv[1], l->name);
	if (rc == STORE_OK && audit(c, l, "expel", ref) != EX_OK)
		return EX_FAIL;
	if (rc != STORE_OK)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	if (c->json)
		printf("{\"removed\":"), json_str(argv[1]), printf(",\"list\":"), json_str(l->name), printf("}\n");
	else
		printf("removed %s from %s\n", argv[1], l->name);
	return EX_OK;
}

struct ls_arg {
	struct ctx	*c;
	int		 n;
	const struct list_cfg *l;
};

static int
print_member(const struct member *m, void *arg)
{
	struct ls_arg *a = arg;

	if (a->l->identity != ID_REAL) {
		/* the roster of a non-real list: numbers and pseudonyms, never addresses */
		const char *ps = a->l->roster != WHO_NONE && a->l->identity == ID_PSEUDONYM && m->pseudonym ?
		    m->pseudonym : "";

		if (a->c->json) {
			printf("%s{\"member\":%lld,\"pseudonym\":", a->n++ ? "," : "", m->id);
			json_str(ps);
			printf(",\"role\":\"%s\",\"nomail\":%s,\"digest\":%s,\"bounce_score\":%d,\"joined\":%lld}",
			    m->role, m->nomail ? "true" : "false", m->digest ? "true" : "false",
			    m->bounce_score, m->created);
		} else {
			printf("#%-6lld %-30s %-10s%s%s\n", m->id, *ps ? ps : "-", m->role, m->nomail ? " nomail" : "",
			    m->digest ? " digest" : "");
			a->n++;
		}
		return 0;
	}
	if (a->c->json) {
		printf("%s{\"address\":", a->n++ ? "," : "");
		json_str(m->addr);
		printf(",\"name\":");
		json_str(m->name ? m->name : "");
		printf(",\"role\":\"%s\",\"nomail\":%s,\"digest\":%s,\"bounce_score\":%d,\"joined\":%lld}",
		    m->role, m->nomail ? "true" : "false", m->digest ? "true" : "false",
		    m->bounce_score, m->created);
	} else {
		printf("%-40s %-10s%s%s %s\n", m->addr, m->role, m->nomail ? " nomail" : "",
		    m->digest ? " digest" : "", m->name ? m->name : "");
		a->n++;
	}
	return 0;
}

static int
v_member_ls(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	struct ls_arg a = { c, 0, l };

	(void)argc;
	if (!l)
		return EX_FAIL;
	if (c->json)
		printf("[");
	if (store_member_each(c->store, l->name, print_member, &a) < 0)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	if (c->json)
		printf("]\n");
	return EX_OK;
}

static int
export_member(const struct member *m, void *arg)
{
	(void)arg;
	printf("%s\t%s\t%s\t%s\t%lld\n", m->addr, m->role, m->pseudonym ? m->pseudonym : "", m->name ? m->name : "",
	    m->created);
	return 0;
}

/* approved_export - an export the moderators approved and nobody used yet: its id, 0 none, -1 error */
static long long
approved_export(struct ctx *c, const struct list_cfg *l)
{
	long long ids[64];
	int n = store_pending_in_state(c->store, "done", ids, 64);
	struct pending pa;

	for (int i = 0; i < n; i++)
		if (store_pending_get(c->store, ids[i], &pa) == STORE_OK) {
			int match = !strcmp(pa.list, l->name) && !strcmp(pa.action, "roster_export");

			free(pa.arg);
			if (match)
				return ids[i];
		}
	return n < 0 ? -1 : 0;
}

static int
v_member_export(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	char d[120];
	long long id;
	int rc;

	(void)argc;
	if (!l)
		return EX_FAIL;
	if ((id = approved_export(c, l)) < 0)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	if (id > 0) {
		snprintf(d, sizeof(d), "the roster with addresses, as request %lld approved", id);
		if (store_pending_state(c->store, id, "used") != STORE_OK || audit(c, l, "roster_export", d) != EX_OK)
			return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	} else if ((rc = grave(c, l, Q_ROSTER, "roster_export", "-", "the roster with addresses")) != EX_OK)
		return rc == 1 ? EX_OK : rc;	/* a request is open: nothing to print yet */
	else if (!c->emergency && audit(c, l, "roster_export", "the roster with addresses (set-up: fewer moderators "
	    "than the quorum)") != EX_OK)
		return EX_FAIL;
	if (store_member_each(c->store, l->name, export_member, NULL) < 0)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	return EX_OK;
}

static int
v_member_set(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	int rc;

	if (!l)
		return EX_FAIL;
	if (argc != 4 && (argc != 6 || strcmp(argv[2], "enckey") != 0 || strcmp(argv[4], "expires") != 0))
		return fail(EX_USAGE, "only enckey takes more than a value: enckey x25519:KEY expires YYYY-MM-DD");
	if (strcmp(argv[2], "name") == 0 && (strpbrk(argv[3], "\r\n") || strlen(argv[3]) > 200))
		return fail(EX_FAIL, "a name must be one line of at most 200 characters");
	if (strcmp(argv[2], "role") == 0 && (!strcmp(argv[3], "member") || !strcmp(argv[3], "moderator") ||
	    !strcmp(argv[3], "owner"))) {
		char ref[64], d[120], arg[400];

		member_ref(c, l, argv[1], ref, sizeof(ref));
		snprintf(d, sizeof(d), "%s to become %s", ref, argv[3]);
		snprintf(arg, sizeof(arg), "%s\n%s", argv[1], argv[3]);
		if (strncmp(ref, "member #", 8) == 0 && (rc = grave(c, l, Q_ROLES, "roles", arg, d)) != EX_OK)
			return rc == 1 ? EX_OK : rc;
	}
	if (strcmp(argv[2], "key") == 0 || strcmp(argv[2], "enckey") == 0) {
		int enc = strcmp(argv[2], "enckey") == 0, k;
		unsigned char pk[32];

		if ((k = keys_public_from_text(argv[3], enc ? "x25519" : "ed25519", pk)) < 0)
			return fail(EX_FAIL, "\"%s\" is not %s public key (base64, as 'mlist keygen' prints it%s), "
			    "nor \"none\"", argv[3], enc ? "an X25519" : "an Ed25519", enc ? ": its second line" : "");
		if (!enc)
			rc = store_member_set_key(c->store, l->name, argv[1], k ? pk : NULL, sizeof(pk));
		else {
			long long expires = argc == 6 ? keys_expiry_parse(argv[5]) : 0;

			if (expires < 0 || (argc == 6 && !k))
				return fail(EX_FAIL, "\"%s\" is not a date (YYYY-MM-DD) or there is no key to expire", argv[5]);
			if (argc == 6 && expires <= (long long)time(NULL))
				return fail(EX_FAIL, "%s is not in the future: a key that has expired is not registered", argv[5]);
			rc = store_member_set_enc_key(c->store, l->name, argv[1], k ? pk : NULL, sizeof(pk), expires);
		}
	} else if (strcmp(argv[2], "pseudonym") == 0) {
		if ((rc = set_pseudonym(c, l, argv[1], argv[3])) != EX_OK)
			return rc;
	} else if (strcmp(argv[2], "identity") == 0) {
		int mode = config_identity_parse(argv[3]);

		if (strcmp(argv[3], "list") != 0 && (mode < 0 || !config_identity_allowed(l, mode)))
			return fail(EX_FAIL, "\"%s\" is not a mode %s offers: it offers %s%s%s (set identity.choices to "
			    "offer more), or \"list\"", argv[3], l->name, config_identity_name(l->identity),
			    *l->identity_choices ? ", " : "", l->identity_choices);
		rc = store_member_set_identity(c->store, l->name, argv[1], mode < 0 || mode == l->identity ? NULL :
		    argv[3]);
	} else
		rc = store_member_set(c->store, l->name, argv[1], argv[2], argv[3]);
	if (rc == STORE_NOTFOUND)
		return fail(EX_FAIL, "%s is not a member of %s", argv[1], l->name);
	if (rc == STORE_BADVALUE)
		return fail(EX_FAIL, "bad setting: KEY must be name, role (member|moderator|owner), "
		    "nomail (on|off), digest (on|off), pseudonym NAME, identity MODE, key (PUBLICKEY|none) or enckey "
		    "(x25519:KEY|none)");
	if (rc != STORE_OK)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	if (strcmp(argv[2], "role") == 0) {
		char ref[64], d[100];

		member_ref(c, l, argv[1], ref, sizeof(ref));
		snprintf(d, sizeof(d), "%s is now %s", ref, argv[3]);
		if (audit(c, l, "roles", d) != EX_OK)
			return EX_FAIL;
	}
	if (c->json)
		printf("{\"address\":"), json_str(argv[1]), printf(",\"key\":"), json_str(argv[2]),
		    printf(",\"value\":"), json_str(argv[3]), printf("}\n");
	else
		printf("%s on %s: %s = %s\n", argv[1], l->name, argv[2], argv[3]);
	return EX_OK;
}

static int
v_member_ban(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	int unban = strcmp(argv[-1], "unban") == 0, rc;

	(void)argc;
	if (!l)
		return EX_FAIL;
	if (!addr_valid(argv[1]))
		return fail(EX_FAIL, "\"%s\" is not a valid address (expected local@domain)", argv[1]);
	if (!unban) {
		char ref[64];

		member_ref(c, l, argv[1], ref, sizeof(ref));
		if ((rc = grave(c, l, Q_BAN, "ban", argv[1], ref)) != EX_OK)
			return rc == 1 ? EX_OK : rc;
	}
	rc = unban ? store_unban(c->store, l->name, argv[1]) : store_ban(c->store, l->name, argv[1]);
	if (rc == STORE_NOTFOUND)
		return fail(EX_FAIL, "%s is not banned from %s", argv[1], l->name);
	if (rc != STORE_OK)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	{
		char ref[64];

		member_ref(c, l, argv[1], ref, sizeof(ref));
		if (audit(c, l, unban ? "unban" : "ban", ref) != EX_OK)
			return EX_FAIL;
	}
	if (c->json)
		printf("{\"%s\":", unban ? "unbanned" : "banned"), json_str(argv[1]), printf("}\n");
	else
		printf("%s %s %s %s\n", unban ? "unbanned" : "banned", argv[1], unban ? "on" : "from", l->name);
	return EX_OK;
}

struct key_arg {
	struct ctx	*c;
	int		 n;
};

static void
print_key(const char *selector, const unsigned char *pk, int active, long long created, void *arg)
{
	struct key_arg *a = arg;
	struct buf txt;

	buf_init(&txt, 0);
	dkim_dns_record(pk, &txt);
	if (a->c->json) {
		printf("%s{\"selector\":", a->n ? "," : "");
		json_str(selector);
		printf(",\"active\":%s,\"created\":%lld,\"dns_name\":\"%s._domainkey.%s\",\"txt\":",
		    active ? "true" : "false", created, selector, a->c->cfg->hostname);
		json_str(buf_cstr(&txt));
		printf("}");
	} else
		printf("%s._domainkey.%s. IN TXT \"%s\"%s\n", selector, a->c->cfg->hostname, buf_cstr(&txt),
		    active ? "   ; signs new posts" : "   ; retired: keep it published for older posts");
	a->n++;
	buf_free(&txt);
}

static int
v_keys(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	struct key_arg a = { c, 0 };
	char sel[SELECTOR_MAX];
	int rotate = strcmp(argv[-1], "rotate") == 0;

	(void)argc;
	if (!l)
		return EX_FAIL;
	if (rotate || store_key_count(c->store, l->name) == 0) {
		if (listkey_create(c->store, l->name, sel, sizeof(sel)) < 0)
			return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
		if (!c->json && rotate)
			printf("; new key %s signs %s's posts from now on; publish it before the next post\n", sel,
			    l->name);
	}
	if (c->json)
		printf("[");
	store_keys_each(c->store, l->name, print_key, &a);
	if (c->json)
		printf("]\n");
	else {
		/* the active key's X25519 twin: posts sealed to the list (mlist seal) */
		unsigned char seed[DKIM_SEED_LEN], pk[32], sk[32];
		char b64[64];

		if (listkey_get(c->store, l->name, sel, sizeof(sel), seed) == 0 &&
		    sealed_keys_from_seed(seed, pk, sk) == 0) {
			sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
			printf("; encryption key for posts sealed to %s (mlist seal --list-key): x25519:%s\n", l->name,
			    b64);
		}
		sodium_memzero(seed, sizeof(seed));
		sodium_memzero(sk, sizeof(sk));
	}
	return EX_OK;
}

struct held_arg {
	struct ctx	*c;
	int		 n;
};

static void
print_held(const char *id, const char *reason, long long at, void *arg)
{
	struct held_arg *a = arg;

	if (a->c->json) {
		printf("%s{\"id\":\"%s\",\"reason\":", a->n ? "," : "", id);
		json_str(reason);
		printf(",\"since\":%lld}", at);
	} else
		printf("%s  %-22s %lld\n", id, reason, at);
	a->n++;
}

static int
v_mod_ls(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	struct held_arg a = { c, 0 };

	(void)argc;
	if (!l)
		return EX_FAIL;
	if (c->json)
		printf("[");
	if (store_held_each(c->store, l->name, print_held, &a) < 0)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	if (c->json)
		printf("]\n");
	return EX_OK;
}

static int
v_mod_show(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	struct envelope e;
	struct buf msg, why;

	(void)argc;
	if (!l)
		return EX_FAIL;
	if (strlen(argv[1]) != QID_LEN || !store_is_held(c->store, argv[1]))
		return fail(EX_FAIL, "no held post %s on %s (see 'mlistctl mod ls %s')", argv[1], l->name, l->name);
	buf_init(&msg, 0);
	buf_init(&why, 0);
	if (spool_read(&c->spool, SPOOL_OUT, argv[1], &e, &msg, &why) != 0)
		return fail(EX_FAIL, "cannot read held post %s: %s", argv[1], buf_cstr(&why));
	envelope_free(&e);
	{
		char *author = store_held_author(c->store, l->name, argv[1]);

		/* kept with every hold (to hear a rejection); shown only where the list lets moderators see it */
		if (author && (l->identity == ID_REAL || l->moderators_see))
			printf("Mlist-Held-Author: <%s>\n", author);
		free(author);
	}
	fwrite(msg.data, 1, msg.len, stdout);
	buf_free(&msg);
	buf_free(&why);
	return EX_OK;
}

/*
 * grave - the quorum gate for ban, expel, roles, policy and unmask. EX_OK:
 * do it now (the list has fewer moderators than the quorum - the operator
 * sets a list up - or --emergency, recorded and announced); 1: a request
 * was opened for the moderators (said on stdout); EX_FAIL: told.
 */
static int
grave(struct ctx *c, const struct list_cfg *l, int g, const char *action, const char *arg, const char *detail)
{
	static const char *const qkey[] = { "quorum_unmask", "quorum_ban", "quorum_expel", "quorum_policy",
	    "quorum_roles", "quorum_admit", "quorum_roster_export" };
	long long now = (long long)time(NULL), id;
	int mods = store_moderator_count(c->store, l->name), need = l->quorum[g];
	char d[400];

	if (mods < 0)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	if (c->emergency) {
		snprintf(d, sizeof(d), "emergency, without the quorum: %s", detail);
		if (store_pending_add(c->store, l->name, action, arg, detail, 0, "announce", now, now) < 0 ||
		    audit(c, l, action, d) != EX_OK)
			return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
		fprintf(stderr, "mlistctl: emergency: done without the moderators' quorum; recorded in the audit log "
		    "and announced to every moderator\n");
		return EX_OK;
	}
	if (g == Q_UNMASK) {
		if (mods == 0)
			return fail(EX_FAIL, "%s has no moderators to approve an unmasking (member set ... role moderator)",
			    l->name);
		need = need < mods ? need : mods;
	} else if (mods < need)
		return EX_OK;	/* setting the list up: not yet enough moderators for a quorum */
	if ((id = store_pending_add(c->store, l->name, action, arg, detail, need, "new", now, now + 7 * 86400LL)) < 0)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	snprintf(d, sizeof(d), "request %lld opened: %s", id, detail);
	if (audit(c, l, "request", d) != EX_OK)
		return EX_FAIL;
	if (c->json)
		printf("{\"request\":%lld,\"action\":\"%s\",\"needs\":%d}\n", id, action, need);
	else
		printf("%s: request %lld opened (%s: %s). It takes effect when %d distinct moderators approve it;\n"
		    "they have been asked by mail (leadership.%s = %d; it expires in 7 days).\n", l->name, id, action,
		    detail, need, qkey[g], l->quorum[g]);
	return 1;
}

static int
v_unmask(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	char sk[SKELETON_MAX], why[160], d[300], *addr;
	int rc;

	(void)argc;
	if (!l)
		return EX_FAIL;
	if (l->identity == ID_REAL)
		return fail(EX_FAIL, "%s is a real-identity list: there is nothing to unmask", l->name);
	if (pseudonym_check(argv[1], sk, sizeof(sk), why, sizeof(why)) < 0 ||
	    (addr = store_member_by_pseudonym(c->store, l->name, sk)) == NULL)
		return fail(EX_FAIL, "nobody on %s posts as \"%s\"", l->name, argv[1]);
	snprintf(d, sizeof(d), "the pseudonym \"%s\"", argv[1]);
	if ((rc = grave(c, l, Q_UNMASK, "unmask", argv[1], d)) == EX_OK)
		printf("%s\n", addr);	/* only with --emergency */
	free(addr);
	return rc == 1 ? EX_OK : rc;
}

static void
print_audit(const struct audit_entry *e, void *arg)
{
	struct ls_arg *a = arg;
	time_t t = (time_t)e->at;
	struct tm tm;
	char date[32];

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	if (a->c->json) {
		printf("%s{\"seq\":%lld,\"at\":%lld,\"actor\":", a->n++ ? "," : "", e->seq, e->at);
		json_str(e->actor);
		printf(",\"action\":");
		json_str(e->action);
		printf(",\"detail\":");
		json_str(e->detail);
		printf("}");
	} else {
		printf("%5lld  %s  %-9s %-8s %s\n", e->seq, date, e->actor, e->action, e->detail);
		a->n++;
	}
}

static int
v_audit(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	struct ls_arg a = { c, 0, l };
	struct audit_check chk;

	if (!l)
		return EX_FAIL;
	if (argc == 2 && strcmp(argv[1], "--verify") != 0)
		return fail(EX_USAGE, "usage: mlistctl audit LIST [--verify]");
	if (argc == 2) {
		if (audit_verify(c->store, c->cfg->state_dir, l->name, &chk) < 0)
			return fail(EX_FAIL, "%s: the audit log does not verify: %s", l->name, chk.why);
		if (c->json)
			printf("{\"list\":"), json_str(l->name), printf(",\"entries\":%lld,\"verified\":true}\n",
			    chk.entries);
		else
			printf("%s: %lld entries, chain and signatures verified\n", l->name, chk.entries);
		return EX_OK;
	}
	if (c->json)
		printf("[");
	if (store_audit_each(c->store, l->name, print_audit, &a) < 0)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	if (c->json)
		printf("]\n");
	return EX_OK;
}

static int
v_digest_send(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);

	(void)argc;
	if (!l)
		return EX_FAIL;
	if (store_digest_due_now(c->store, l->name) != STORE_OK)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	if (c->json)
		printf("{\"digest\":"), json_str(l->name), printf(",\"due\":true}\n");
	else
		printf("%s: the digest goes out at once if posts are waiting for it\n", l->name);
	return EX_OK;
}

static void
print_archived(int n, long long at, const char *summary, void *arg)
{
	struct ls_arg *a = arg;
	const char *tab = strchr(summary, '\t');
	time_t t = (time_t)at;
	struct tm tm;
	char date[32];

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &tm);
	if (a->c->json) {
		char from[300];

		snprintf(from, sizeof(from), "%.*s", tab ? (int)(tab - summary) : (int)strlen(summary), summary);
		printf("%s{\"n\":%d,\"date\":%lld,\"from\":", a->n++ ? "," : "", n, at);
		json_str(from);
		printf(",\"subject\":");
		json_str(tab ? tab + 1 : "");
		printf("}");
	} else {
		printf("%6d  %s  %.*s  %s\n", n, date, tab ? (int)(tab - summary) : (int)strlen(summary), summary,
		    tab ? tab + 1 : "");
		a->n++;
	}
}

static int
v_archive_ls(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	struct ls_arg a = { c, 0, l };
	long long since;

	(void)argc;
	if (!l)
		return EX_FAIL;
	if (!archive_allowed(l, READER_MODERATOR, 0, &since))
		return fail(EX_FAIL, "%s: %s (disclosure.archive = \"none\")", l->name, archive_refusal(l));
	if (c->json)
		printf("[");
	if (store_archive_each(c->store, l->name, since, print_archived, &a) < 0)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	if (c->json)
		printf("]\n");
	return EX_OK;
}

struct export_arg {
	struct ctx	*c;
	const struct list_cfg *l;
	int		 failed;
};

/* export_one - one post in mboxrd form: "From " line, LF line ends, ">From " quoted */
static void
export_one(int n, long long at, const char *summary, void *arg)
{
	struct export_arg *x = arg;
	struct buf msg;
	time_t t = (time_t)at;
	struct tm tm;
	char date[64];
	long long when;

	(void)summary;
	buf_init(&msg, 0);
	if (store_archive_get(x->c->store, x->l->name, n, &when, &msg) != STORE_OK) {
		x->failed = 1;
		buf_free(&msg);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	printf("From %s@%s %s\n", x->l->name, x->c->cfg->hostname, date);
	for (size_t i = 0; i < msg.len; ) {
		const unsigned char *nl = memchr(msg.data + i, '\n', msg.len - i);
		size_t end = nl ? (size_t)(nl - msg.data) + 1 : msg.len, k = i, len;

		while (k < end && msg.data[k] == '>')
			k++;
		if (end - k >= 5 && memcmp(msg.data + k, "From ", 5) == 0)
			putchar('>');
		len = end - i;
		if (len >= 2 && msg.data[end - 2] == '\r' && msg.data[end - 1] == '\n')
			len -= 2;
		else if (len >= 1 && msg.data[end - 1] == '\n')
			len -= 1;
		fwrite(msg.data + i, 1, len, stdout);
		putchar('\n');
		i = end;
	}
	putchar('\n');
	buf_free(&msg);
}

static int
v_archive_export(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	struct export_arg x = { c, l, 0 };
	long long since;

	(void)argc;
	if (!l)
		return EX_FAIL;
	if (!archive_allowed(l, READER_MODERATOR, 0, &since))
		return fail(EX_FAIL, "%s: %s (disclosure.archive = \"none\")", l->name, archive_refusal(l));
	if (store_archive_each(c->store, l->name, since, export_one, &x) < 0 || x.failed)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	return EX_OK;
}

struct held_find {
	const char	*id;
	int		 found;
};

static void
held_match(const char *id, const char *reason, long long at, void *arg)
{
	struct held_find *h = arg;

	(void)reason;
	(void)at;
	h->found |= strcmp(id, h->id) == 0;
}

/*
 * v_mod_reject - the author must be told and the rejection perhaps
 * published: that is the daemon's work (it signs and sends). So the
 * operator's rejection goes to it as a moderator's answer would: a fresh
 * moderation token for the post, and a spooled "reject REASON" to
 * LIST-confirm+TOKEN@, durable like any mail it accepts.
 */
static int
v_mod_reject(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	struct held_find h = { argv[1], 0 };
	unsigned char r[20];
	char token[41], rcpt[400];
	struct envelope e;
	struct spool_writer w;
	struct buf msg;
	int rc = EX_FAIL;

	if (!l)
		return EX_FAIL;
	if (store_held_each(c->store, l->name, held_match, &h) < 0)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	if (!h.found)
		return fail(EX_FAIL, "no held post %s on %s (see 'mlistctl mod ls %s')", argv[1], l->name, l->name);
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(token, sizeof(token), r, sizeof(r));
	if (store_confirm_add(c->store, "moderate", token, l->name, argv[1], (const unsigned char *)"", 0, "operator",
	    (long long)time(NULL) + 7 * 86400LL) != STORE_OK)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	snprintf(rcpt, sizeof(rcpt), "%s-confirm+%s@%s", l->name, token, c->cfg->hostname);
	buf_init(&msg, 0);
	buf_printf(&msg, "From: <%s-owner@%s>\r\nSubject: reject\r\nAuto-Submitted: auto-generated\r\n\r\nreject",
	    l->name, c->cfg->hostname);
	for (int i = 2; i < argc; i++)
		buf_printf(&msg, " %s", argv[i]);
	buf_puts(&msg, "\r\n");
	memset(&e, 0, sizeof(e));
	if ((e.sender = strdup("")) != NULL && (e.client = strdup("mlistctl")) != NULL &&
	    (e.note = strdup("mod reject")) != NULL && envelope_add_rcpt(&e, rcpt) == 0 &&
	    spool_begin(&c->spool, SPOOL_INCOMING, &e, &w) == OK) {
		if (spool_write(&w, msg.data, msg.len) == OK && spool_commit(&w) == OK) {
			printf("%s: post %s will be rejected by the running daemon (the author is told)\n", l->name,
			    argv[1]);
			rc = EX_OK;
		} else
			spool_abort(&w);
	}
	if (rc != EX_OK)
		fail(EX_FAIL, "cannot queue the rejection in %s: %s", c->cfg->state_dir, strerror(errno));
	envelope_free(&e);
	buf_free(&msg);
	return rc;
}

static int
v_mod_act(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	int approve = strcmp(argv[-1], "approve") == 0, n = 0, rc;
	char reason[64];
	long long now = (long long)time(NULL);

	(void)argc;
	if (!l)
		return EX_FAIL;
	if (strlen(argv[1]) != QID_LEN || store_begin(c->store) < 0)
		return fail(EX_FAIL, "no held post %s on %s (see 'mlistctl mod ls %s')", argv[1], l->name, l->name);
	if ((rc = store_held_take(c->store, l->name, argv[1], reason, sizeof(reason))) != STORE_OK) {
		store_rollback(c->store);
		return rc == STORE_NOTFOUND ? fail(EX_FAIL, "no held post %s on %s (see 'mlistctl mod ls %s')",
		    argv[1], l->name, l->name) : fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	}
	if (approve && strcmp(reason, "confirm") == 0) {
		store_rollback(c->store);
		return fail(EX_FAIL, "post %s waits for its author's own confirmation; only they can release it "
		    "(you may discard it)", argv[1]);
	}
	if (approve) {
		/* distribute decides who gets which copy (a notice instead where the list requires a key) */
		struct pipeline p = { .cfg = c->cfg, .keys = c->keys, .st = c->store, .sp = &c->spool,
		    .now = now, .qid = argv[1] };

		if ((strcmp(reason, "no owner or moderator") == 0 ? distribute_roles(&p, l, argv[1], &n) :
		    distribute_members(&p, l, argv[1], &n)) < 0)
			n = -1;
		for (int i = 0; n <= 0 && i < p.nout; i++)
			spool_remove(&c->spool, SPOOL_OUT, p.out[i]);	/* rolled back below */
		pipeline_free(&p);
	}
	if (approve && n == 0) {
		store_rollback(c->store);
		return fail(EX_FAIL, "post %s would reach nobody: %s has no %s; it stays held", argv[1], l->name,
		    strcmp(reason, "no owner or moderator") == 0 ? "owner or moderator (member set ... role owner)" :
		    "members who receive mail");
	}
	if (approve && n > 0 && strcmp(reason, "no owner or moderator") != 0) {
		struct envelope e;
		struct buf msg, why;

		buf_init(&msg, 0);
		buf_init(&why, 0);
		if (spool_read(&c->spool, SPOOL_OUT, argv[1], &e, &msg, &why) == 0) {
			envelope_free(&e);
			if (archive_distributed(c->store, l, now, msg.data, msg.len) < 0)
				n = -1;
		}
		buf_free(&msg);
		buf_free(&why);
	}
	if (n >= 0) {
		char d[120];

		snprintf(d, sizeof(d), "held post %s (%s)", argv[1], reason);
		if (audit_append(c->store, l->name, now, "operator", approve ? "approve" : "discard", d) < 0)
			n = -1;
	}
	if (n < 0 || store_commit(c->store) < 0) {
		store_rollback(c->store);
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	} else {
		char why[300];

		if (audit_head_sync(c->store, c->cfg->state_dir, l->name, why, sizeof(why)) < 0)
			fprintf(stderr, "mlistctl: warning: %s's audit log: %s\n", l->name, why);
	}
	if (!approve)
		spool_remove(&c->spool, SPOOL_OUT, argv[1]);
	if (c->json)
		printf("{\"%s\":\"%s\",\"recipients\":%d}\n", approve ? "approved" : "discarded", argv[1], n);
	else if (approve)
		printf("approved %s: %d deliveries queued\n", argv[1], n);
	else
		printf("discarded %s\n", argv[1]);
	return EX_OK;
}

/* match_verb - the longest verb whose words start argv */
static const struct verb *
match_verb(int argc, char **argv, int *used)
{
	const struct verb *v;
	char words[64];

	for (v = verbs; v->words; v++) {
		if (strchr(v->words, ' ')) {
			if (argc < 2)
				continue;
			snprintf(words, sizeof(words), "%s %s", argv[0], argv[1]);
			if (strcmp(words, v->words) == 0)
				return *used = 2, v;
		} else if (strcmp(argv[0], v->words) == 0)
			return *used = 1, v;
	}
	return NULL;
}

/* setup - load what a verb needs */
static int
setup(struct ctx *c, int need)
{
	struct buf err;

	if (need == NEED_NONE)
		return EX_OK;
	buf_init(&err, 0);
	if ((c->cfg = config_load(c->config_path, &err)) == NULL) {
		fputs(buf_cstr(&err), stderr);
		buf_free(&err);
		return EX_FAIL;
	}
	/* as root: become the daemon's user first, so that whatever is made here is theirs */
	if (priv_drop(c->cfg->user, &err) < 0) {
		fprintf(stderr, "mlistctl: %s\n", buf_cstr(&err));
		buf_free(&err);
		return EX_FAIL;
	}
	buf_free(&err);
	return need == NEED_STORE ? open_state(c) : EX_OK;
}

int
main(int argc, char **argv)
{
	struct ctx c = { .config_path = config_default_path() };
	const struct verb *v;
	int i, used, rc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			c.config_path = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			c.json = 1;
		else if (strcmp(argv[i], "--emergency") == 0)
			c.emergency = 1;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return usage(stdout), EX_OK;
		else {
			fprintf(stderr, "mlistctl: unknown option %s\n", argv[i]);
			return usage(stderr), EX_USAGE;
		}
	}
	if (i == argc)
		return usage(stderr), EX_USAGE;
	if ((v = match_verb(argc - i, argv + i, &used)) == NULL) {
		fprintf(stderr, "mlistctl: unknown verb '%s'%s\n", argv[i],
		    argc - i <= 2 && (!strcmp(argv[i], "list") || !strcmp(argv[i], "member") ||
		    !strcmp(argv[i], "mod")) ? " (it needs a second word, e.g. 'list ls' or 'mod ls LIST')" : "");
		return usage(stderr), EX_USAGE;
	}
	i += used;
	for (int j = i; j < argc; j++)
		if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0)
			return verb_help(v), EX_OK;
	if (argc - i < v->minargs || argc - i > v->maxargs)
		return fail(EX_USAGE, "usage: mlistctl %s %s (see 'mlistctl %s --help')", v->words,
		    v->args, v->words);
	if ((rc = setup(&c, v->need)) != EX_OK)
		return rc;
	rc = v->fn(&c, argc - i, argv + i);
	store_close(c.store);
	keys_free(c.keys);
	config_free(c.cfg);
	return rc;
}
