/*
 * mlistctl.c - the list administrator's command line.
 *
 * Each verb is a row in a table - its words, its argument grammar, its
 * handler and its help - as in OpenSMTPD's smtpctl. A verb that changes
 * something is a thin client of the daemon: it sends the request to the
 * control socket (STATE/control), prints the answer and exits with its
 * code, so that every action has one implementation, the daemon's
 * (mlistd/actions/). Verbs that only read may read the database here;
 * init, check and list create are what must work before the first start
 * (list create then writes the list file alone: the daemon makes the
 * list's keys when it starts; with the daemon running, it does it all).
 * Exit codes: 0 done, 1 failed, 2 usage, 3 a request opened that waits for
 * the moderators' quorum. Every error is one line on stderr that says what
 * to do. With --json, output is one JSON document on stdout (documented in
 * the README and stable: fields are only ever added).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../mlistd/control/client.h"
#include "../mlistd/mail/addr.h"
#include "../mlistd/mail/archive.h"
#include "../mlistd/mail/audit.h"
#include "../mlistd/mail/backup.h"
#include "../mlistd/mail/config.h"
#include "../mlistd/mail/keys.h"
#include "../mlistd/mail/listkey.h"
#include "../mlistd/mail/listpgp.h"
#include "../mlistd/mail/pseudonym.h"
#include "../mlistd/mail/restore.h"
#include "../mlistd/mail/spool.h"
#include "../mlistd/mail/store.h"
#include "../mlistd/pipeline/disclosure.h"
#include "../mlistd/pipeline/pgprotate.h"
#include "../mlistd/pipeline/sign.h"
#include "../mlistd/util/fsutil.h"
#include "../mlistd/util/privdrop.h"
#include "../mlistd/util/rand.h"

/* exit codes: the daemon's answers carry the same numbers (control/proto.h) */
enum { EX_OK = CONTROL_DONE, EX_FAIL = CONTROL_FAILED, EX_USAGE = CONTROL_USAGE,
    EX_REQUESTED = CONTROL_REQUESTED };
/* what a verb needs: NEED_DAEMON verbs change something, and only the daemon does that */
enum { NEED_NONE, NEED_CONFIG, NEED_STORE, NEED_DAEMON };

struct ctx {
	const char	*config_path;
	int		 json;
	int		 emergency;	/* --emergency: a grave action without the quorum (recorded, announced) */
	struct config	*cfg;
	struct keys	*keys;
	struct store	*store;
	struct spool	 spool;
	const struct verb *verb;
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
static int v_unlock(struct ctx *, int, char **);
static int v_rekey(struct ctx *, int, char **);
static int v_check(struct ctx *, int, char **);
static int v_status(struct ctx *, int, char **);
static int v_list_create(struct ctx *, int, char **);
static int v_list_ls(struct ctx *, int, char **);
static int v_list_show(struct ctx *, int, char **);
static int v_member_ls(struct ctx *, int, char **);
static int v_keys(struct ctx *, int, char **);
static int v_mod_ls(struct ctx *, int, char **);
static int v_mod_show(struct ctx *, int, char **);
static int v_archive_ls(struct ctx *, int, char **);
static int v_audit(struct ctx *, int, char **);
static int v_archive_export(struct ctx *, int, char **);
static int v_daemon(struct ctx *, int, char **);
static int v_member_set(struct ctx *, int, char **);
static int call(struct ctx *, int, char **);
static int call_to(struct ctx *, int, char **, int);
static int exchange(struct ctx *, int, char **, int);
/* exchange's "no daemon runs" (not an exit code) */
#define CALL_NODAEMON	(-1)
static int v_import(struct ctx *, int, char **);
static int v_backup(struct ctx *, int, char **);
static int v_restore(struct ctx *, int, char **);

static const struct verb verbs[] = {
	{ "init", "[--passphrase | --systemd-creds]", 0, 1, NEED_NONE, v_init,
	  "Create the state directory, the master key, the database and the spool of a\n"
	  "new instance. Refuses to run twice. The master key is kept as the setting\n"
	  "master_key says: \"passphrase\" (the default: asked twice on a terminal, else\n"
	  "one line of standard input; it wraps the key with Argon2id into\n"
	  "STATE/master.wrapped), \"systemd-creds\" (--systemd-creds: prints the\n"
	  "'systemd-creds encrypt' line to run), an absolute path (a key file kept\n"
	  "elsewhere, written there) or \"insecure-file\" (STATE/master.key in clear)." },
	{ "unlock", "", 0, 0, NEED_CONFIG, v_unlock,
	  "Give the running, locked daemon its passphrase (asked on a terminal, else one\n"
	  "line of standard input). It then processes what it queued while locked." },
	{ "rekey", "[--to passphrase|insecure-file|systemd-creds|/PATH]", 0, 2, NEED_CONFIG, v_rekey,
	  "Change the passphrase, or how the master key is kept, without touching the\n"
	  "data: reads the key as master_key says (the current passphrase first, when\n"
	  "there is one), then keeps it the new way (default: a new passphrase) and\n"
	  "removes the old clear file. Set master_key in the configuration to match." },
	{ "check", "", 0, 0, NEED_STORE, v_check,
	  "Check the configuration, every list file, the master key and the database.\n"
	  "Prints \"configuration OK\" or each error as file:line: setting: problem." },
	{ "status", "", 0, 0, NEED_CONFIG, v_status,
	  "Show whether the daemon runs, queue sizes, pending deliveries and lists." },
	{ "list create", "NAME [--template T]", 1, 3, NEED_DAEMON, v_list_create,
	  "Create list NAME from templates_dir/T.conf (default T: default). The list\n"
	  "address is NAME@hostname. The running daemon writes the list file, makes\n"
	  "the list's DKIM and OpenPGP keys and takes the list at once. Before the\n"
	  "first start (no daemon running) only the list file is written here; the\n"
	  "daemon makes the keys when it starts. mlistctl never makes a key." },
	{ "list ls", "", 0, 0, NEED_STORE, v_list_ls, "List the lists and their member counts." },
	{ "list show", "NAME", 1, 1, NEED_STORE, v_list_show,
	  "Show every setting of a list (defaults included) and its member count." },
	{ "list set", "NAME KEY VALUE", 3, 3, NEED_DAEMON, v_daemon,
	  "Change one setting of a list. The value is checked, the list file rewritten\n"
	  "atomically (libconfig drops comments when it writes) and the daemon reloaded." },
	{ "list delete", "NAME", 1, 1, NEED_DAEMON, v_daemon,
	  "Delete a list: its file and its members. Mail already queued is still delivered." },
	{ "member add", "LIST ADDRESS [--name NAME] [--pseudonym NAME]", 2, 6, NEED_DAEMON, v_daemon,
	  "Add a member. The address (and the name) are stored encrypted. On a pseudonymous\n"
	  "list --pseudonym sets the name they post under (checked: printable, not like an\n"
	  "address, not a role, unique on the list ignoring case and look-alike letters);\n"
	  "without it one is made up at their first post." },
	{ "member import", "LIST FILE", 2, 2, NEED_DAEMON, v_import,
	  "Add many members at once: FILE (or - for standard input) holds one address per\n"
	  "line, optionally followed by a space and a name. Blank lines and lines starting\n"
	  "with # are skipped; addresses already subscribed are left as they are. All or\n"
	  "nothing: one bad address and nobody is added." },
	{ "member rm", "LIST ADDRESS", 2, 2, NEED_DAEMON, v_daemon, "Remove a member." },
	{ "member ls", "LIST", 1, 1, NEED_STORE, v_member_ls,
	  "List the members of a list, as the list's rules let them be seen: on a real-\n"
	  "identity list addresses and names; on a pseudonymous or anonymous list only\n"
	  "member numbers, pseudonyms (unless disclosure.roster is \"none\") and roles -\n"
	  "never addresses." },
	{ "member export", "LIST", 1, 1, NEED_DAEMON, v_daemon,
	  "The whole roster with addresses (tab-separated: address, role, pseudonym, name,\n"
	  "joined), e.g. to move a list. Once the list has enough moderators this needs\n"
	  "their quorum (leadership.quorum_roster_export): the first run opens a request\n"
	  "and prints nothing; when the moderators have approved it by mail, the next run\n"
	  "prints the roster, once. Every export is in the audit log." },
	{ "member set", "LIST ADDRESS KEY VALUE [expires YYYY-MM-DD]", 4, 6, NEED_DAEMON, v_member_set,
	  "Change a member: KEY is name (text), role (member|moderator|owner),\n"
	  "nomail (on|off), digest (on|off), pseudonym (a name, checked as for 'member\n"
	  "add'), identity (real|pseudonym|anonymous as identity.choices allows, or\n"
	  "\"list\" for the list's mode), or key: the member's own public key (from\n"
	  "'mlist keygen'; 'none' to go back to a key the server holds). With their own key\n"
	  "registered, posts in the member's name must be signed with it ('mlist sign').\n"
	  "openpgp FILE|-|none: the member's OpenPGP public key (armoured or binary, from\n"
	  "a file or standard input); every copy to them is then PGP/MIME encrypted to it.\n"
	  "Refused with the reason: no valid encryption subkey, expired, revoked, RSA under\n"
	  "2048 bits, v3. Kept minimal (one UID, no certifications by others); the member is\n"
	  "reminded key_expiry_warning_days before the key's own expiry, and from that day\n"
	  "the key is not used." },
	{ "member ban", "LIST ADDRESS", 2, 2, NEED_DAEMON, v_daemon,
	  "Ban an address: its posts are dropped without a notice. The address need not\n"
	  "be a member; a member stays subscribed until removed. Once the list has enough\n"
	  "moderators this opens a request for their quorum (leadership.quorum_ban); so do\n"
	  "member rm, member set ... role, and list set of disclosure., identity.,\n"
	  "leadership. and archive. settings." },
	{ "member unban", "LIST ADDRESS", 2, 2, NEED_DAEMON, v_daemon, "Lift a ban." },
	{ "mod ls", "LIST", 1, 1, NEED_STORE, v_mod_ls,
	  "Posts held on the list: moderated lists, posts to -owner with no owner, posts\n"
	  "waiting for their author's confirmation. One line each: ID, reason, since." },
	{ "mod show", "LIST ID [--raw]", 2, 3, NEED_STORE, v_mod_show,
	  "Print a held post as it would go out. On a non-real list the author's address\n"
	  "is shown only when disclosure.moderators_see is \"address\".\n"
	  "Control characters are shown as cat -v does (ESC as ^[);\n"
	  "--raw writes the bytes as they are (for a pipe, not a terminal)." },
	{ "mod approve", "LIST ID", 2, 2, NEED_DAEMON, v_daemon,
	  "Distribute a held post to the members, by the daemon and exactly as a\n"
	  "moderator's approval by mail does (on an encryption = \"required\" list a member\n"
	  "without a key gets a notice, never the post). A post waiting for its author's\n"
	  "confirmation cannot be approved for them." },
	{ "mod queue", "LIST", 1, 1, NEED_STORE, v_mod_ls, "The same as mod ls." },
	{ "mod discard", "LIST ID", 2, 2, NEED_DAEMON, v_daemon, "Drop a held post for good." },
	{ "mod reject", "LIST ID [REASON...]", 2, 40, NEED_DAEMON, v_daemon,
	  "Refuse a held post: its author is told, with REASON (and, with\n"
	  "leadership.publish_rejections, the members see its subject and the reason).\n"
	  "The daemon does it as it does a moderator's answer by mail; the audit log\n"
	  "names the operator." },
	{ "archive ls", "LIST", 1, 1, NEED_STORE, v_archive_ls,
	  "The list's archive: number, date, From and Subject of every post kept\n"
	  "(as distributed: pseudonyms, not addresses, on non-real lists). Refused when\n"
	  "disclosure.archive is \"none\"." },
	{ "archive export", "LIST", 1, 1, NEED_STORE, v_archive_export,
	  "Write the list's archive to standard output as an mbox (mboxrd quoting), the\n"
	  "posts exactly as members received them. Refused when disclosure.archive is \"none\"." },
	{ "unmask", "LIST PSEUDONYM", 2, 2, NEED_DAEMON, v_daemon,
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
	{ "digest send", "LIST", 1, 1, NEED_DAEMON, v_daemon,
	  "Send the list's digest now (within a second, by the running daemon) instead of\n"
	  "at the end of its digest.period, if any post is waiting for it." },
	{ "keys rotate", "LIST", 1, 1, NEED_DAEMON, v_daemon,
	  "Make a new DKIM key with a new selector for the list; it signs from now on. The\n"
	  "old key stays listed: keep its record published for the posts it signed." },
	{ "keys rotate-subkey", "LIST", 1, 1, NEED_DAEMON, v_daemon,
	  "The same as 'keys LIST --rotate-subkey'." },
	{ "keys openpgp", "LIST", 1, 1, NEED_DAEMON, v_daemon,
	  "Print the list's OpenPGP fingerprint; the daemon makes the key first if\n"
	  "the list has none (a list from before OpenPGP). 'keys LIST' does this too." },
	{ "keys rotate-pseudonym", "LIST NAME", 2, 2, NEED_DAEMON, v_daemon,
	  "The same as 'keys LIST --pseudonym NAME --rotate'." },
	{ "keys", "LIST [--export | --rotate-subkey | --pseudonym NAME [--rotate]]",
	  1, 4, NEED_STORE, v_keys,
	  "Show the list's DKIM keys and the DNS TXT records to publish under the instance's\n"
	  "hostname (every key, old ones too: they verify the posts they signed), and the\n"
	  "fingerprint of the list's OpenPGP key (made now if the list has none).\n"
	  "--export prints the OpenPGP public key, armoured (what members import).\n"
	  "--rotate-subkey makes a new encryption subkey (by the daemon); the old one is\n"
	  "revoked but kept, so mail already encrypted to it still opens.\n"
	  "--pseudonym NAME prints that pseudonym's OpenPGP key (armoured) and fingerprint,\n"
	  "made at its first post, and its retired keys (they verify older posts);\n"
	  "exit 1 if no pseudonym of that name has posted. With --rotate (by the daemon)\n"
	  "the pseudonym gets a new key, certified by the old one and the list's key; the\n"
	  "members are told in a post from the pseudonym signed by both." },
	{ "backup", "FILE", 1, 1, NEED_DAEMON, v_backup,
	  "Write the whole instance (database, queue, held posts, audit heads, list files,\n"
	  "the instance file) into FILE, consistently, while the daemon runs. FILE is\n"
	  "encrypted under the instance's backup key, derived from the master key; a\n"
	  "passphrase instance's FILE carries the wrapped key, which opens only with the\n"
	  "passphrase. FILE must not exist; it is written by the daemon." },
	{ "restore", "FILE", 1, 1, NEED_CONFIG, v_restore,
	  "Bring a backup back into the configured state_dir, which must be empty or\n"
	  "absent (never over an instance). Asks for the passphrase (standard input when\n"
	  "it is not a terminal) of a passphrase instance; other ways need their key file\n"
	  "or credential in place. Checks the whole file and the database first; the\n"
	  "backup's instance file is left as STATE/mlistd.conf.backup." },
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

/* json_open - an answer that is a list starts ("[" in JSON) */
static void
json_open(struct ctx *c)
{
	if (c->json)
		printf("[");
}

/*
 * listed - a listing by a store_*_each ends (visited: its result): "]" in
 * JSON; a database failure is said instead
 */
static int
listed(struct ctx *c, int visited)
{
	if (visited < 0)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	if (c->json)
		printf("]\n");
	return EX_OK;
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
	fprintf(fp, "\nVerbs that change something are done by the running daemon (through\n"
	    "STATE/control; root or the daemon's user only): start mlistd first. These\n"
	    "work without it: init, check, list create (the list file only: the\n"
	    "daemon makes the list's keys when it starts), rekey (the master key only),\n"
	    "restore (the daemon stopped), and the verbs that only read (status, list\n"
	    "ls/show, member ls, mod ls/show/queue, archive ls/export, audit, keys).\n"
	    "None of them writes the database but init and restore.\n"
	    "\nexit status: 0 done, 1 failed, 2 usage error, 3 a request was opened and waits\n"
	    "for the moderators' quorum (unmask, member ban, member rm, member set ... role,\n"
	    "list set of guarded settings, member export's first run).\n");
}

/* verb_help - the help of one verb */
static void
verb_help(const struct verb *v)
{
	printf("usage: mlistctl [-c CONFIG] [--json] [--emergency] %s %s\n\n%s\n", v->words, v->args, v->help);
	if (strcmp(v->words, "list set") == 0)
		printf("\nKEY is one of: %s\n", config_list_keys());
}

/* read_pass - a passphrase (terminal: asked; else a line of stdin) into guarded memory */
static char *
read_pass(const char *prompt, int twice)
{
	char *p, *q;
	int same;

	if (sodium_init() < 0 || (p = sodium_malloc(KEYS_PASS_MAX)) == NULL)
		return fail(EX_FAIL, "out of memory"), NULL;
	if (keys_read_passphrase(0, prompt, p, KEYS_PASS_MAX) < 0) {
		sodium_free(p);
		return fail(EX_FAIL, "no passphrase was given"), NULL;
	}
	if (!twice || !isatty(0))
		return p;
	if ((q = sodium_malloc(KEYS_PASS_MAX)) == NULL)
		return sodium_free(p), NULL;
	same = keys_read_passphrase(0, "again: ", q, KEYS_PASS_MAX) == 0 && strcmp(p, q) == 0;
	sodium_free(q);
	if (!same) {
		sodium_free(p);
		return fail(EX_FAIL, "the two passphrases differ"), NULL;
	}
	return p;
}

/* load_keys - the instance's keys, as master_key says (a passphrase is asked) */
static int
load_keys(struct ctx *c)
{
	enum keys_status s;
	char why[600], *pass;

	c->keys = keys_unlock(c->cfg->state_dir, c->cfg->master_key, NULL, &s, why, sizeof(why));
	if (s == KEYS_NEED_PASS) {
		if ((pass = read_pass("master key passphrase: ", 0)) == NULL)
			return EX_FAIL;
		c->keys = keys_unlock(c->cfg->state_dir, c->cfg->master_key, pass, &s, why, sizeof(why));
		sodium_free(pass);
	}
	return c->keys ? EX_OK : fail(EX_FAIL, "%s", why);
}

/* open_state - keys, store and spool of the instance */
static int
open_state(struct ctx *c)
{
	char path[4096];
	struct buf err;

	if (c->keys == NULL && load_keys(c) != EX_OK)
		return EX_FAIL;
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

/* keep_master - write the master key the way w says; 0, or -1 said */
static int
keep_master(struct ctx *c, const struct config *cfg, enum keys_way w, const char *file,
    const unsigned char *master, const char *prompt)
{
	char path[4200], err[600], *pass;
	int rc;

	(void)c;
	switch (w) {
	case KEYS_PASSPHRASE:
		if ((pass = read_pass(prompt, 1)) == NULL)
			return -1;
		snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, KEYS_WRAPPED);
		rc = keys_write_wrapped(path, master, pass, err, sizeof(err));
		sodium_free(pass);
		break;
	case KEYS_SYSTEMD_CREDS:
		/* on a tmpfs only (memory), for the moment systemd-creds takes to read it */
		snprintf(path, sizeof(path), "/dev/shm/%s.%ld", KEYS_CRED_NAME, (long)getpid());
		if ((rc = keys_write_clear(path, master, err, sizeof(err))) == 0)
			printf("run, as root:\n  systemd-creds encrypt "
			    "--name=%s %s %s && shred -u %s\nand in the unit: "
			    "LoadCredentialEncrypted=%s:%s\n", KEYS_CRED_NAME,
			    path, cfg->master_key_credential, path, KEYS_CRED_NAME,
			    cfg->master_key_credential);
		break;
	case KEYS_KEYFILE:
		rc = keys_write_clear(file, master, err, sizeof(err));
		break;
	default:
		snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, KEYS_CLEAR);
		rc = keys_write_clear(path, master, err, sizeof(err));
		break;
	}
	if (rc < 0)
		fail(EX_FAIL, "%s", err);
	if (rc == 0 && (rc = keys_write_public(cfg->state_dir, master, err, sizeof(err))) < 0)
		fail(EX_FAIL, "%s", err);
	return rc;
}

static int
v_init(struct ctx *c, int argc, char **argv)
{
	char path[4200], path2[4200];
	struct buf err;
	struct config *cfg;
	unsigned char *master;
	enum keys_way w;

	buf_init(&err, 0);
	if ((cfg = config_load_flags(c->config_path, CONFIG_SKIP_LISTS, &err)) == NULL) {
		fputs(buf_cstr(&err), stderr);
		return EX_FAIL;
	}
	c->cfg = cfg;
	w = keys_way(cfg->master_key);
	if (argc == 1 && strcmp(argv[0], "--passphrase") && strcmp(argv[0], "--systemd-creds"))
		return fail(EX_USAGE, "usage: mlistctl init [--passphrase | --systemd-creds]");
	if (argc == 1 && (strcmp(argv[0], "--passphrase") == 0) != (w == KEYS_PASSPHRASE))
		return fail(EX_USAGE, "%s: the configuration says master_key = \"%s\" (set it to \"%s\")",
		    argv[0], cfg->master_key, argv[0] + 2);
	if (fs_mkdir_p(cfg->state_dir, 0700) < 0 || chmod(cfg->state_dir, 0700) < 0)
		return fail(EX_FAIL, "cannot create %s: %s", cfg->state_dir, strerror(errno));
	if (fs_mkdir_p(cfg->lists_dir, 0755) < 0)
		return fail(EX_FAIL, "cannot create %s: %s", cfg->lists_dir, strerror(errno));
	/* as root: the two directories go to the daemon's user, and the rest is made as that user */
	if (priv_chown(cfg->state_dir, cfg->user, &err) < 0 || priv_chown(cfg->lists_dir, cfg->user, &err) < 0 ||
	    priv_drop(cfg->user, &err) < 0)
		return fail(EX_FAIL, "%s", buf_cstr(&err));
	snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, KEYS_WRAPPED);
	snprintf(path2, sizeof(path2), "%s/%s", cfg->state_dir, KEYS_CLEAR);
	if (access(path, F_OK) == 0 || access(path2, F_OK) == 0)
		return fail(EX_FAIL, "%s is already initialised (remove the state directory to start over)",
		    cfg->state_dir);
	if ((master = keys_master_new()) == NULL)
		return fail(EX_FAIL, "out of memory");
	if (keep_master(c, cfg, w, cfg->master_key, master, "new master key passphrase: ") < 0 ||
	    (c->keys = keys_from_master(master)) == NULL) {
		keys_master_free(master);
		return EX_FAIL;
	}
	keys_master_free(master);
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
		printf("initialised %s (master key kept by %s, database, spool)\n", cfg->state_dir,
		    keys_way_name(w));
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

/* locked_status - a locked daemon says so itself ("locked since ..."); 1 said, 0 not locked */
static int
locked_status(struct ctx *c)
{
	char *req[1] = { (char *)"status" }, why[300];
	struct control_ans a;
	struct buf frame;
	int said = 0;

	buf_init(&frame, 0);
	if (control_call(c->cfg->state_dir, 0, 1, req, &frame, &a, why, sizeof(why)) == CONTROL_CALL_OK &&
	    a.status == 0 && strncmp(a.out, "locked", 6) == 0) {
		if (c->json)
			printf("{\"running\":true,\"locked\":true,\"text\":"), json_str(a.out), printf("}\n");
		else
			fputs(a.out, stdout);
		said = 1;
	}
	buf_free(&frame);
	return said;
}

static int v_status_store(struct ctx *, int, char **);

/* v_status - a locked daemon's own word, else what the store and the spool say */
static int
v_status(struct ctx *c, int argc, char **argv)
{
	if (locked_status(c))
		return EX_OK;
	if (open_state(c) != EX_OK)
		return EX_FAIL;
	return v_status_store(c, argc, argv);
}

static int
v_status_store(struct ctx *c, int argc, char **argv)
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

/* print_retired - one retired key of a pseudonym, after its current one */
static void
print_retired(const char *fpr, long long when, const struct buf *key,
    void *arg)
{
	char date[32];
	time_t t = (time_t)when;
	struct tm tm;

	(void)arg;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	printf("; retired key %s (replaced %s): it verifies older posts\n%.*s",
	    fpr, date, (int)key->len, (const char *)key->data);
}

/* v_keys_pseudonym - keys LIST --pseudonym NAME: the pseudonym's OpenPGP key */
static int
v_keys_pseudonym(struct ctx *c, const struct list_cfg *l, int argc, char **argv)
{
	char fpr[41];
	struct buf key;
	int rc;

	if (argc != 2 || strcmp(argv[0], "--pseudonym") != 0)
		return fail(EX_USAGE, "usage: mlistctl keys LIST [--pseudonym NAME]");
	buf_init(&key, 0);
	rc = sign_pseudonym_public(c->store, l, argv[1], &key, fpr);
	if (rc < 0)
		rc = fail(EX_FAIL, "%s: %s", l->name, store_errmsg(c->store));
	else if (rc == 0)
		rc = fail(EX_FAIL, "%s: no pseudonym called \"%s\" has posted (its key "
		    "is made at its first post)", l->name, argv[1]);
	else if (c->json) {
		printf("{\"pseudonym\":"), json_str(argv[1]);
		printf(",\"fingerprint\":\"%s\",\"key\":", fpr), json_str(buf_cstr(&key));
		printf("}\n");
		rc = EX_OK;
	} else {
		printf("; OpenPGP key of the pseudonym \"%s\" on %s, fingerprint %s\n%s",
		    argv[1], l->name, fpr, buf_cstr(&key));
		rc = pgprotate_retired_each(c->store, l, argv[1], print_retired,
		    NULL) < 0 ? fail(EX_FAIL, "%s: %s", l->name,
		    store_errmsg(c->store)) : EX_OK;
	}
	buf_free(&key);
	return rc;
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

/* archived - does the list keep an archive the operator may read (since)? */
static int
archived(const struct list_cfg *l, long long *since)
{
	if (disclosure_archive(l, READER_OPERATOR, 0, since))
		return 1;
	fail(EX_FAIL, "%s: the list keeps no archive "
	    "(disclosure.archive = \"none\")", l->name);
	return 0;
}

/*
 * v_list_create - the running daemon creates the list (its file and its
 * keys: mlistctl makes no key); before the first start, or with the
 * daemon stopped, the list file alone is written here, and the daemon
 * makes the keys at its first turn (actions/list.c)
 */
static int
v_list_create(struct ctx *c, int argc, char **argv)
{
	char *req[2] = { argv[0], (char *)"default" };
	struct buf err;
	int rc;

	if (argc == 3 && strcmp(argv[1], "--template") == 0)
		req[1] = argv[2];
	else if (argc != 1)
		return fail(EX_USAGE, "usage: list create NAME [--template T]");
	if ((rc = exchange(c, 2, req, 1)) != CALL_NODAEMON)
		return rc;
	buf_init(&err, 0);
	if (config_list_create(c->cfg, argv[0], req[1], &err) < 0) {
		fail(EX_FAIL, "%s", buf_cstr(&err));
		buf_free(&err);
		return EX_FAIL;
	}
	buf_free(&err);
	if (c->json)
		printf("{\"created\":"), json_str(argv[0]), printf("}\n");
	else
		printf("created list %s@%s\n; the daemon makes its DKIM and "
		    "OpenPGP keys when it starts\n", argv[0], c->cfg->hostname);
	return EX_OK;
}

static int
v_list_ls(struct ctx *c, int argc, char **argv)
{
	int i;

	(void)argc;
	(void)argv;
	json_open(c);
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

		char ref[32];

		/* the short id the audit log names the member by */
		keys_member_ref(a->c->keys, a->l->name, m->id, ref, sizeof(ref));
		if (a->c->json) {
			printf("%s{\"member\":%lld,\"ref\":\"%s\",\"pseudonym\":", a->n++ ? "," : "", m->id,
			    ref);
			json_str(ps);
			printf(",\"role\":\"%s\",\"nomail\":%s,\"digest\":%s,\"bounce_score\":%d,\"joined\":%lld}",
			    role_name(m->role), m->nomail ? "true" : "false", m->digest ? "true" : "false",
			    m->bounce_score, m->created);
		} else {
			printf("%-17s %-30s %-10s%s%s\n", ref, *ps ? ps : "-", role_name(m->role), m->nomail ? " nomail" : "",
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
		    role_name(m->role), m->nomail ? "true" : "false", m->digest ? "true" : "false",
		    m->bounce_score, m->created);
	} else {
		printf("%-40s %-10s%s%s %s\n", m->addr, role_name(m->role), m->nomail ? " nomail" : "",
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
	json_open(c);
	return listed(c, store_member_each(c->store, l->name, print_member, &a));
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

/* use_verb - c now speaks for the verb words (a daemon verb of its own) */
static void
use_verb(struct ctx *c, const char *words)
{
	for (const struct verb *v = verbs; v->words; v++)
		if (strcmp(v->words, words) == 0)
			c->verb = v;
}

/*
 * pgp_key - the list's OpenPGP key; a list that has none gets it from the
 * daemon ("keys openpgp": mlistctl changes nothing itself), whose answer
 * (the fingerprint line) is printed only if show
 */
static int
pgp_key(struct ctx *c, const struct list_cfg *l, int show,
    struct openpgp_secret **k)
{
	char *argv[] = { (char *)l->name, NULL };
	int rc;

	if ((rc = listpgp_find(c->store, l->name, k)) == 0) {
		use_verb(c, "keys openpgp");
		if ((rc = call_to(c, 1, argv, show)) != EX_OK)
			return rc;
		rc = listpgp_find(c->store, l->name, k);
	}
	if (rc < 0)
		return fail(EX_FAIL, "%s: the list's OpenPGP key: %s", l->name,
		    store_errmsg(c->store));
	if (rc == 0)
		return fail(EX_FAIL, "%s: the daemon made no OpenPGP key",
		    l->name);
	return EX_OK;
}

/* pgp_fingerprint - "openpgp: FPR" for the list's key */
static int
pgp_fingerprint(struct ctx *c, const struct list_cfg *l)
{
	struct openpgp_secret *k;
	char fpr[OPENPGP_FPR_SIZE];
	int rc;

	if ((rc = pgp_key(c, l, 0, &k)) != EX_OK)
		return rc;
	rc = openpgp_list_fingerprint(k, fpr) == OK ? EX_OK : EX_FAIL;
	openpgp_secret_free(k);
	if (rc != EX_OK)
		return fail(EX_FAIL, "%s: the list's OpenPGP key has no fingerprint", l->name);
	printf("openpgp: %s %s <%s@%s>\n", fpr, l->name, l->name, c->cfg->hostname);
	return EX_OK;
}

/* pgp_export - the list's OpenPGP public key, armoured, on standard output */
static int
pgp_export(struct ctx *c, const struct list_cfg *l)
{
	struct openpgp_secret *k;
	char why[OPENPGP_WHY_SIZE] = "";
	struct buf pub;
	int rc;

	if ((rc = pgp_key(c, l, 0, &k)) != EX_OK)
		return rc;
	buf_init(&pub, 0);
	rc = openpgp_list_public(k, 1, &pub, why, sizeof(why)) == OK &&
	    fwrite(pub.data, 1, pub.len, stdout) == pub.len ? EX_OK : EX_FAIL;
	openpgp_secret_free(k);
	buf_free(&pub);
	return rc == EX_OK ? EX_OK : fail(EX_FAIL, "%s: cannot export the OpenPGP key: %s", l->name, why);
}

/* rotate_subkey - keys LIST --rotate-subkey: the daemon's "keys rotate-subkey" */
static int
rotate_subkey(struct ctx *c, char **argv)
{
	use_verb(c, "keys rotate-subkey");
	return call(c, 1, argv);
}

/* rotate_pseudonym - keys LIST --pseudonym NAME --rotate: the daemon's */
static int
rotate_pseudonym(struct ctx *c, char **argv)
{
	char *req[2] = { argv[0], argv[2] };

	for (const struct verb *v = verbs; v->words; v++)
		if (strcmp(v->words, "keys rotate-pseudonym") == 0)
			c->verb = v;
	return call(c, 2, req);
}

static int
v_keys(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	struct key_arg a = { c, 0 };

	if (!l)
		return EX_FAIL;
	if (argc == 4 && strcmp(argv[1], "--pseudonym") == 0 &&
	    strcmp(argv[3], "--rotate") == 0)
		return rotate_pseudonym(c, argv);
	if (argc > 1 && strcmp(argv[1], "--pseudonym") == 0)
		return v_keys_pseudonym(c, l, argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[1], "--rotate-subkey") == 0)
		return rotate_subkey(c, argv);
	if (argc == 2 && strcmp(argv[1], "--export") == 0)
		return pgp_export(c, l);
	if (argc > 1)
		return fail(EX_USAGE, "usage: mlistctl keys LIST [--export | "
		    "--rotate-subkey | --pseudonym NAME [--rotate]]");
	if (store_key_count(c->store, l->name) == 0 && !c->json)
		printf("; %s has no signing key yet: the daemon makes one at its first post, or run\n"
		    "; 'mlistctl keys rotate %s' now\n", l->name, l->name);
	json_open(c);
	store_keys_each(c->store, l->name, print_key, &a);
	if (c->json)
		printf("]\n");
	else if (pgp_fingerprint(c, l) != EX_OK)
		return EX_FAIL;
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
	json_open(c);
	return listed(c, store_held_each(c->store, l->name, print_held, &a));
}

/*
 * utf8_len - length of the well-formed UTF-8 sequence at p (at most n
 * bytes), 0 if none; C1 controls (U+0080..U+009F) count as none
 */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* a C1 control: an 8-bit CSI or OSC to many terminals */
	if (len == 2 && p[0] == 0xc2 && p[1] < 0xa0)
		return 0;
	return len;
}

/*
 * unseen - the code point of a well-formed UTF-8 sequence of u bytes if
 * it is one a terminal shows as nothing or lets reorder the line (bidi
 * embeddings, overrides and isolates, zero-width and line separators):
 * a member's U+202E would make the operator read an introduction, or
 * the line after it, other than it is. 0 for any other character.
 */
static unsigned
unseen(const unsigned char *p, size_t u)
{
	unsigned c;

	if (u == 2 && p[0] == 0xd8 && p[1] == 0x9c)
		return 0x61c;	/* ARABIC LETTER MARK */
	if (u != 3)
		return 0;
	c = (unsigned)(p[0] & 0x0f) << 12 | (unsigned)(p[1] & 0x3f) << 6 |
	    (unsigned)(p[2] & 0x3f);
	if ((c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2060 && c <= 0x206f) || c == 0xfeff)
		return c;
	return 0;
}

/*
 * put_visible - write a held post so that no byte of it is a terminal
 * command: a member wrote it, and ESC/BEL sequences would retitle,
 * hide, clear or (OSC 52) reach the clipboard. As cat -v: ^[ for ESC,
 * M-x for a byte that is not part of well-formed UTF-8; <U+202E> for a
 * character that is invisible or reorders the line (unseen).
 */
static void
put_visible(const unsigned char *p, size_t n)
{
	size_t i, u;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' || p[i] == '\t' ||
		    (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
			putchar(p[i]);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			printf("^%c", p[i] ^ 0x40);
		else if (p[i] < 0x80)
			putchar(p[i]);
		else if ((u = utf8_len(p + i, n - i)) > 0) {
			if (unseen(p + i, u))
				printf("<U+%04X>", unseen(p + i, u));
			else
				fwrite(p + i, 1, u, stdout);
			i += u - 1;
		} else if ((p[i] & 0x7f) < 0x20 || p[i] == 0xff)
			printf("M-^%c", (p[i] & 0x7f) ^ 0x40);
		else
			printf("M-%c", p[i] & 0x7f);
	}
}

static int
v_mod_show(struct ctx *c, int argc, char **argv)
{
	const struct list_cfg *l = find_list(c, argv[0]);
	struct envelope e;
	struct buf msg, why;

	if (argc == 3 && strcmp(argv[2], "--raw") != 0)
		return fail(EX_USAGE, "usage: mod show LIST ID [--raw]");
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
		if (author && disclosure_author_address(l, l->identity))
			printf("Mlist-Held-Author: <%s>\n", author);
		free(author);
	}
	if (argc == 3)
		fwrite(msg.data, 1, msg.len, stdout);
	else
		put_visible(msg.data, msg.len);
	buf_free(&msg);
	buf_free(&why);
	return EX_OK;
}

static void
print_audit(const struct audit_entry *e, void *arg)
{
	struct ls_arg *a = arg;
	time_t t = (time_t)e->at;
	struct audit_entry named = *e;
	struct audit_view v;
	struct tm tm;
	char date[32], words[sizeof(v.detail)];
	struct notice_ctx ctx = { a->l->name, a->c->cfg->hostname };

	/* the operator reads the log as written (an unmasking's pseudonym by name); disclosure says so */
	audit_resolve(a->c->store, a->l->name, e->detail, named.detail, sizeof(named.detail));
	disclosure_audit_entry(a->l, READER_OPERATOR, &named, NULL, &v);
	/* a coded detail in the list's words (audit.h) */
	audit_render(a->l->notices, a->c->cfg->notices, &ctx, v.detail, words,
	    sizeof(words));
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	if (a->c->json) {
		printf("%s{\"seq\":%lld,\"at\":%lld,\"actor\":", a->n++ ? "," : "", e->seq, e->at);
		json_str(v.actor);
		printf(",\"action\":");
		json_str(v.action);
		printf(",\"detail\":");
		json_str(words);
		if (v.detail[0] == '@') {
			/* the code the entry holds, for scripts */
			printf(",\"code\":");
			json_str(strtok(v.detail + 1, "\t"));
		}
		printf("}");
	} else {
		printf("%5lld  %s  %-9s %-8s %s\n", e->seq, date, v.actor,
		    v.action, words);
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
	json_open(c);
	return listed(c, store_audit_each(c->store, l->name, print_audit, &a));
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
	if (!archived(l, &since))
		return EX_FAIL;
	json_open(c);
	return listed(c, store_archive_each(c->store, l->name, since,
	    print_archived, &a));
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
	if (!archived(l, &since))
		return EX_FAIL;
	if (store_archive_each(c->store, l->name, since, export_one, &x) < 0 || x.failed)
		return fail(EX_FAIL, "database: %s", store_errmsg(c->store));
	return EX_OK;
}


/* shred - overwrite a small key file, then remove it */
static int
shred(const char *path)
{
	unsigned char zero[KEYS_LEN] = { 0 };
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = write(fd, zero, sizeof(zero)) == (ssize_t)sizeof(zero) && fsync(fd) == 0 ? 0 : -1;
	if (close(fd) < 0)
		rc = -1;
	return rc == 0 ? unlink(path) : -1;
}

/* v_unlock - the passphrase to the locked daemon */
static int
v_unlock(struct ctx *c, int argc, char **argv)
{
	char *pass;
	int rc;

	(void)argc;
	(void)argv;
	if ((pass = read_pass("master key passphrase: ", 0)) == NULL)
		return EX_FAIL;
	rc = call(c, 1, &pass);
	sodium_free(pass);
	return rc;
}

/* v_rekey - keep the same master key another way (or under another passphrase) */
static int
v_rekey(struct ctx *c, int argc, char **argv)
{
	const char *to = "passphrase";
	char why[600], path[4200];
	unsigned char *master;
	enum keys_status s;
	enum keys_way w;
	char *pass = NULL;

	if (argc == 2 && strcmp(argv[0], "--to") == 0)
		to = argv[1];
	else if (argc != 0)
		return fail(EX_USAGE, "usage: mlistctl rekey [--to passphrase|insecure-file|systemd-creds|/PATH]");
	if (strcmp(to, "passphrase") && strcmp(to, "insecure-file") && strcmp(to, "systemd-creds") && *to != '/')
		return fail(EX_USAGE, "rekey --to: \"%s\" is not a way to keep the key", to);
	if ((master = keys_master_new()) == NULL)
		return fail(EX_FAIL, "out of memory");
	s = keys_master_load(c->cfg->state_dir, c->cfg->master_key, NULL, master, why, sizeof(why));
	if (s == KEYS_NEED_PASS && (pass = read_pass("current passphrase: ", 0)) != NULL) {
		s = keys_master_load(c->cfg->state_dir, c->cfg->master_key, pass, master, why, sizeof(why));
		sodium_free(pass);
	}
	if (s != KEYS_OK && s != KEYS_OK_INSECURE) {
		keys_master_free(master);
		return s == KEYS_NEED_PASS ? EX_FAIL : fail(EX_FAIL, "%s", why);
	}
	w = keys_way(to);
	if (w == KEYS_KEYFILE)
		(void)unlink(to);	/* the same key again: keys_write_clear refuses to overwrite */
	if (keep_master(c, c->cfg, w, to, master, "new passphrase: ") < 0) {
		keys_master_free(master);
		return EX_FAIL;
	}
	keys_master_free(master);
	/* the clear file must not outlive its replacement (a copy on the medium may: see README) */
	snprintf(path, sizeof(path), "%s/%s", c->cfg->state_dir, KEYS_CLEAR);
	if (w != KEYS_INSECURE_FILE && access(path, F_OK) == 0 && shred(path) < 0)
		return fail(EX_FAIL, "cannot remove %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", c->cfg->state_dir, KEYS_WRAPPED);
	if (w != KEYS_PASSPHRASE && access(path, F_OK) == 0)
		(void)unlink(path);
	printf("the master key is now kept by %s%s%s\n", keys_way_name(w), strcmp(c->cfg->master_key, to) ?
	    "; set in the configuration: master_key = " : "", strcmp(c->cfg->master_key, to) ? to : "");
	return EX_OK;
}

/* not_running - the one line for a changing verb while the daemon is stopped */
static int
not_running(struct ctx *c)
{
	return fail(EX_FAIL, "the daemon is not running (no %s/control): start mlistd first",
	    c->cfg->state_dir);
}

/* call - argv to the daemon, its answer printed; its code */
static int
call(struct ctx *c, int argc, char **argv)
{
	return call_to(c, argc, argv, 1);
}

/* call_to - as call; the answer's text printed only if show (errors are) */
static int
call_to(struct ctx *c, int argc, char **argv, int show)
{
	int rc = exchange(c, argc, argv, show);

	return rc == CALL_NODAEMON ? not_running(c) : rc;
}

/*
 * exchange - argv to the daemon under the verb's words, its answer
 * printed (the text only if show); its code, or CALL_NODAEMON unsaid
 */
static int
exchange(struct ctx *c, int argc, char **argv, int show)
{
	char *req[CONTROL_MAX_ARGS + 1], why[300];
	struct control_ans a;
	struct buf frame;
	unsigned flags = (c->json ? CONTROL_F_JSON : 0) |
	    (c->emergency ? CONTROL_F_EMERGENCY : 0);
	int rc;

	if (argc + 1 > CONTROL_MAX_ARGS)
		return fail(EX_USAGE, "too many arguments");
	req[0] = (char *)c->verb->words;
	for (int i = 0; i < argc; i++)
		req[i + 1] = argv[i];
	buf_init(&frame, 0);
	rc = control_call(c->cfg->state_dir, flags, argc + 1, req, &frame, &a,
	    why, sizeof(why));
	if (rc == CONTROL_CALL_NODAEMON) {
		buf_free(&frame);
		return CALL_NODAEMON;
	}
	if (rc != CONTROL_CALL_OK) {
		buf_free(&frame);
		return fail(EX_FAIL, "%s/control: %s", c->cfg->state_dir, why);
	}
	if (show)
		fputs(a.out, stdout);
	for (const char *l = a.err, *nl; *l; l = nl ? nl + 1 : l + strlen(l)) {
		nl = strchr(l, '\n');
		fprintf(stderr, "mlistctl: %.*s\n", nl ? (int)(nl - l) :
		    (int)strlen(l), l);
	}
	rc = a.status;
	buf_free(&frame);
	return rc;
}

/* v_daemon - every changing verb: the daemon does it */
static int
v_daemon(struct ctx *c, int argc, char **argv)
{
	return call(c, argc, argv);
}

/*
 * v_member_set - as the daemon does it; for openpgp FILE|- the file's bytes
 * go (as base64: a key may be binary) instead of its name
 */
static int
v_member_set(struct ctx *c, int argc, char **argv)
{
	FILE *fp;
	char chunk[8192], *args[6];
	struct buf raw, b64;
	size_t n;
	int rc;

	if (strcmp(argv[2], "openpgp") != 0 || strcmp(argv[3], "none") == 0)
		return call(c, argc, argv);
	if (argc != 4)
		return fail(EX_USAGE, "usage: mlistctl member set LIST ADDRESS openpgp FILE|-|none");
	if ((fp = strcmp(argv[3], "-") == 0 ? stdin : fopen(argv[3], "rb")) == NULL)
		return fail(EX_FAIL, "cannot open %s: %s", argv[3], strerror(errno));
	buf_init(&raw, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && buf_append(&raw, chunk, n) == 0)
		;
	rc = ferror(fp) || !feof(fp);
	if (fp != stdin)
		fclose(fp);
	if (rc) {
		buf_free(&raw);
		return fail(EX_FAIL, "cannot read %s (a key of at most 1 MiB)", argv[3]);
	}
	buf_init(&b64, 0);
	buf_puts(&b64, "base64:");
	if (buf_reserve(&b64, sodium_base64_encoded_len(raw.len, sodium_base64_VARIANT_ORIGINAL)) < 0)
		abort();
	sodium_bin2base64((char *)b64.data + b64.len, b64.cap - b64.len, raw.data, raw.len,
	    sodium_base64_VARIANT_ORIGINAL);
	for (int i = 0; i < 3; i++)
		args[i] = argv[i];
	args[3] = (char *)b64.data;
	rc = call(c, 4, args);
	buf_free(&raw);
	buf_free(&b64);
	return rc;
}

/* v_import - member import: the file's lines go to the daemon, one request, one transaction */
static int
v_import(struct ctx *c, int argc, char **argv)
{
	FILE *fp = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "r");
	char chunk[8192], *args[3];
	struct buf text;
	size_t n;
	int rc;

	(void)argc;
	if (!fp)
		return fail(EX_FAIL, "cannot open %s: %s", argv[1], strerror(errno));
	buf_init(&text, CONTROL_MAX_FRAME - 4096);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (memchr(chunk, 0, n) || buf_append(&text, chunk, n) < 0) {
			if (fp != stdin)
				fclose(fp);
			buf_free(&text);
			return fail(EX_FAIL, "%s: not a text file of at most %u bytes; nothing was "
			    "imported", argv[1], CONTROL_MAX_FRAME - 4096);
		}
	rc = ferror(fp);
	if (fp != stdin)
		fclose(fp);
	if (rc) {
		buf_free(&text);
		return fail(EX_FAIL, "cannot read %s; nothing was imported", argv[1]);
	}
	args[0] = argv[0];
	args[1] = (char *)buf_cstr(&text);
	args[2] = argv[1];
	rc = call(c, 3, args);
	buf_free(&text);
	return rc;
}

/* v_backup - backup FILE: the daemon writes it (the path made absolute here) */
static int
v_backup(struct ctx *c, int argc, char **argv)
{
	char cwd[PATH_MAX], abs[PATH_MAX + 512], *args[1];

	(void)argc;
	if (argv[0][0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL ||
		    snprintf(abs, sizeof(abs), "%s/%s", cwd, argv[0]) >= (int)sizeof(abs))
			return fail(EX_FAIL, "cannot make %s an absolute path", argv[0]);
	} else
		snprintf(abs, sizeof(abs), "%s", argv[0]);
	args[0] = abs;
	return call(c, 1, args);
}

/* restore_master - the master key a backup needs: its wrapped key and a passphrase, or the way's */
static int
restore_master(struct ctx *c, struct backup_r *r, unsigned char *master, char *why, size_t n)
{
	enum keys_status s;
	char *pass;

	if (r->way != KEYS_PASSPHRASE) {
		s = keys_master_load(c->cfg->state_dir, c->cfg->master_key, NULL, master, why, n);
		return s == KEYS_OK || s == KEYS_OK_INSECURE ? 0 : -1;
	}
	if (keys_way(c->cfg->master_key) != KEYS_PASSPHRASE)
		return snprintf(why, n, "the backup's key is under a passphrase but the configuration "
		    "says master_key = \"%s\"", c->cfg->master_key), -1;
	if ((pass = read_pass("the backup's passphrase: ", 0)) == NULL)
		return snprintf(why, n, "no passphrase"), -1;
	s = keys_master_unwrap(r->wrapped, r->wrappedlen, pass, master, why, n);
	sodium_free(pass);
	if (s == KEYS_BAD_PASS)
		snprintf(why, n, "the passphrase does not open the backup's key");
	return s == KEYS_OK ? 0 : -1;
}

/* v_restore - restore FILE into a fresh state_dir */
static int
v_restore(struct ctx *c, int argc, char **argv)
{
	char why[600];
	struct backup_r r;
	struct restore_counts n = { 0, 0 };
	unsigned char *master;
	struct keys *k = NULL;
	FILE *fp;
	int rc = -1;

	(void)argc;
	if (sodium_init() < 0)
		return fail(EX_FAIL, "libsodium failed to initialise");
	if (restore_fresh(c->cfg, why, sizeof(why)) < 0)
		return fail(EX_FAIL, "%s", why);
	if ((fp = fopen(argv[0], "re")) == NULL)
		return fail(EX_FAIL, "cannot open %s: %s", argv[0], strerror(errno));
	if ((master = sodium_malloc(KEYS_LEN)) == NULL) {
		fclose(fp);
		return fail(EX_FAIL, "out of memory");
	}
	if (backup_open(&r, fp, why, sizeof(why)) == 0 &&
	    restore_master(c, &r, master, why, sizeof(why)) == 0) {
		if ((k = keys_from_master(master)) == NULL)
			snprintf(why, sizeof(why), "out of memory");
		else
			rc = restore_run(c->cfg, &r, k, &n, why, sizeof(why));
	}
	sodium_free(master);
	keys_free(k);
	fclose(fp);
	if (rc < 0)
		return fail(EX_FAIL, "%s: %s; nothing was restored", argv[0], why);
	printf("restored %lld files into %s; start mlistd\n", r.files, c->cfg->state_dir);
	printf("deliveries: %lld copies wait; %lld results in the journal are "
	    "recorded first (what the old instance delivered up to the end of "
	    "the backup); a copy it delivered after that is sent again\n",
	    n.pending, n.results);
	if (rc == RESTORE_TEMPLATES_BESIDE)
		printf("templates: %s differs from the backup's, which are in "
		    "%s/templates.backup (nothing there was overwritten)\n",
		    c->cfg->templates_dir, c->cfg->state_dir);
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
	/*
	 * A systemd credential is root's: opened (inside a unit) or decrypted
	 * with systemd-creds (from a shell) while still root; a failure is said
	 * when the key is needed.
	 */
	if (need != NEED_DAEMON && geteuid() == 0 &&
	    keys_way(c->cfg->master_key) == KEYS_SYSTEMD_CREDS) {
		const char *cred = c->cfg->master_key_credential;

		if (getenv("CREDENTIALS_DIRECTORY"))
			keys_credential_open(c->cfg->state_dir,
			    c->cfg->master_key);
		else if (access(cred, F_OK) == 0)
			(void)keys_credential_decrypt(cred);
	}
	/* as root: become the daemon's user first, so that whatever is made here is theirs */
	if (priv_drop(c->cfg->user, &err) < 0) {
		fprintf(stderr, "mlistctl: %s\n", buf_cstr(&err));
		buf_free(&err);
		return EX_FAIL;
	}
	buf_free(&err);
	return need == NEED_STORE ? open_state(c) : EX_OK;	/* NEED_DAEMON: no store here */
}

int
main(int argc, char **argv)
{
	struct ctx c = { .config_path = config_default_path() };
	const struct verb *v;
	char why[200];
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
	signal(SIGPIPE, SIG_IGN);	/* a daemon that hangs up is an error to report */
	/* keys, nonces, tokens: no randomness, nothing done (#15) */
	if (rand_init("mlistctl", why, sizeof(why)) < 0)
		return fail(EX_FAIL, "%s", why);
	c.verb = v;
	if ((rc = setup(&c, v->need)) != EX_OK)
		return rc;
	rc = v->fn(&c, argc - i, argv + i);
	store_close(c.store);
	keys_free(c.keys);
	config_free(c.cfg);
	return rc;
}
