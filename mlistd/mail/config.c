/*
 * config.c - load and validate the instance file and the list files.
 *
 * libconfig parses; one validation pass then walks a table of
 * {path, type, default, min, max} per file and reports every problem as
 * "file:line: setting: what is wrong", including settings nobody knows
 * (a typo must not silently fall back to a default). Values are copied
 * into plain structs so the rest of the program never touches libconfig.
 *
 * Two libconfig 1.5 traps are handled here: plain integers above INT_MAX
 * wrap silently (we re-read the number from the source line and refuse),
 * and writing a file drops its comments (list templates are copied as
 * text, so only `list set` rewrites a file, and says so in the README).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <libconfig.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "notices.h"
#include "../util/fsutil.h"

enum cfg_type { T_STR, T_INT, T_INT64, T_BOOL, T_ENUM, T_GROUP, T_LIST };

struct cfg_rule {
	const char	*path;
	enum cfg_type	 type;
	size_t		 off;		/* where the value goes; ignored for groups */
	const char	*sdef;		/* default for strings; NULL = required */
	long long	 idef, min, max;
	const char *const *choices;	/* T_ENUM */
};

static const char *const posting_choices[] = { "members", "moderated", "open", "announce", NULL };
static const char *const verp_choices[] = { "never", "always", NULL };
static const char *const auth_choices[] = { "sender", "confirm", "signature", "auto", NULL };
static const char *const proto_choices[] = { "smtp", "lmtp", "http", NULL };
static const char *const relay_tls_choices[] = { "none", "may", "verify", NULL };
static const char *const identity_choices[] = { "real", "pseudonym", "anonymous", NULL };
static const char *const private_choices[] = { "members", "anyone", "off", NULL };
static const char *const html_choices[] = { "keep", "strip-remote", "text", NULL };
static const char *const document_choices[] = { "refuse", "hold", "confirm", NULL };
static const char *const who_choices[] = { "none", "moderators", "members", "public", NULL };
static const char *const see_choices[] = { "pseudonym", "address", NULL };
static const char *const vis_choices[] = { "hidden", "roles", "named", NULL };
static const char *const sub_choices[] = { "confirm", "approve", "closed", "vouch", NULL };
static const char *const enc_choices[] = { "off", "optional", "required", NULL };
static const char *const period_choices[] = { "daily", "weekly", NULL };

/*
 * One row per setting, by type: F(field) is where the value goes in the
 * struct the table fills (defined per table), a NULL string default makes
 * the setting required, a boolean is an integer from 0 to 1.
 */
#define R_STR(p, f, d)		{ p, T_STR, F(f), d, 0, 0, 0, NULL }
#define R_INT(p, f, d, lo, hi)	{ p, T_INT, F(f), "", d, lo, hi, NULL }
#define R_INT64(p, f, d, lo, hi) { p, T_INT64, F(f), "", d, lo, hi, NULL }
#define R_BOOL(p, f, d)		{ p, T_BOOL, F(f), "", d, 0, 1, NULL }
#define R_ENUM(p, f, d, c)	{ p, T_ENUM, F(f), d, 0, 0, 0, c }
#define R_GROUP(p)		{ p, T_GROUP, 0, "", 0, 0, 0, NULL }
#define R_LIST(p)		{ p, T_LIST, 0, "", 0, 0, 0, NULL }
#define R_END			{ NULL, 0, 0, NULL, 0, 0, 0, NULL }

#define F(f)	offsetof(struct config, f)
static const struct cfg_rule instance_rules[] = {
	R_STR("hostname", hostname, NULL),
	R_LIST("listen"),
	R_STR("state_dir", state_dir, NULL),
	R_STR("lists_dir", lists_dir, "lists"),
	R_STR("templates_dir", templates_dir, "templates"),
	R_STR("pid_file", pid_file, ""),
	R_STR("user", user, ""),
	R_STR("worker_user", worker_user, ""),
	R_STR("smtp_user", smtp_user, ""),
	R_STR("master_key", master_key, "passphrase"),	/* keys.c: how it is kept */
	R_STR("master_key_credential", master_key_credential, "/etc/credstore.encrypted/mlistd-master"),
	R_GROUP("relay"),
	R_STR("relay.host", relay_host, ""),
	R_INT("relay.port", relay_port, 25, 1, 65535),
	R_INT("relay.connections", relay_connections, 4, 1, 64),
	R_INT("relay.max_recipients", relay_batch, 100, 1, 1000),
	R_INT("relay.timeout", relay_timeout, 60, 1, 3600),
	R_STR("relay.maildir", relay_maildir, ""),
	R_INT("relay.retry_base", retry_base, 60, 1, 86400),
	R_INT("relay.retry_cap", retry_cap, 3600, 1, 7 * 86400),
	R_ENUM("relay.tls", relay_tls, "may", relay_tls_choices),
	R_STR("relay.tls_ca_file", relay_tls_ca, ""),
	R_STR("relay.tls_name", relay_tls_name, ""),
	R_GROUP("limits"),
	R_INT64("limits.max_message_size", max_message_size, 10485760, 1024, 1LL << 30),
	/* at most what one spool envelope holds (ENV_MAX, 1 MiB, at ADDR_MAX octets each) */
	R_INT("limits.max_recipients", max_recipients, 100, 1, 3000),
	R_INT("limits.max_connections_per_client", max_client_connections, 50, 1, 100000),
	R_INT("limits.max_idle_commands", max_idle_commands, 100, 1, 100000),
	R_INT("limits.session_timeout", session_timeout, 3600, 2, 86400),
	R_INT("limits.data_deadline", data_deadline, 1800, 2, 86400),
	R_INT("limits.max_connections", max_connections, 1000, 1, 100000),
	R_INT("limits.command_timeout", command_timeout, 300, 1, 3600),
	R_INT("limits.data_timeout", data_timeout, 600, 1, 7200),
	/* one parse of one message: past either budget it is quarantined */
	R_INT64("limits.worker_memory", worker_memory, 536870912, 67108864, 1LL << 40),
	R_INT("limits.worker_seconds", worker_seconds, 30, 1, 3600),
	/* parses at once (pipeline/workpool.c); 0: 2 per CPU, at least 4 */
	R_INT("limits.workers", workers, 0, 0, 64),
	/* who sent this: see README "Who the list believes" */
	R_GROUP("auth"),
	R_STR("auth.authserv_id", authserv_id, ""),
	R_INT("auth.trusted_received", trusted_received, 0, 0, 16),
	R_INT("auth.answers_per_address", answers_per_address, 3, 0, 1000),
	R_INT("auth.answers_per_instance", answers_per_instance, 200, 0, 100000),
	/* answers to the unauthenticated: arrival + delay + 0..jitter s */
	R_INT("auth.answer_delay", answer_delay, 10, 0, 3600),
	R_INT("auth.answer_jitter", answer_jitter, 5, 0, 3600),
	/* confirmations to members' own addresses: a budget apart, per hour */
	R_INT("auth.confirms_per_member", confirms_per_member, 6, 0, 1000),
	R_INT("auth.confirms_per_instance", confirms_per_instance, 2000, 0, 1000000),
	R_GROUP("dns"),
	R_STR("dns.resolver", dns_resolver, ""),
	R_INT("dns.timeout", dns_timeout, 5, 1, 60),
	R_STR("dns.trust_anchor", dns_trust_anchor, "/usr/share/dns/root.key"),
	R_END
};
#undef F

#define F(f)	offsetof(struct listen_cfg, f)
static const struct cfg_rule listen_rules[] = {
	R_STR("address", address, "127.0.0.1"),
	{ "port",		T_INT,	F(port), NULL, 0, 1, 65535, NULL },
	R_ENUM("protocol", lmtp, "smtp", proto_choices),
	R_GROUP("tls"),
	R_STR("tls.certificate", tls_cert, ""),
	R_STR("tls.key", tls_key, ""),
	R_BOOL("require_tls", require_tls, 0),
	/* Authentication-Results of auth.authserv_id are believed only here */
	R_BOOL("behind_mta", behind_mta, 0),
	/* ... and on loopback, only from this user's connections */
	R_STR("mta_user", mta_user, ""),
	R_END
};
#undef F

#define F(f)	offsetof(struct list_cfg, f)
static const struct cfg_rule list_rules[] = {
	R_STR("name", name, ""),
	R_STR("description", description, ""),
	R_ENUM("posting", posting, "members", posting_choices),
	R_ENUM("post_auth", post_auth, "auto", auth_choices),
	R_ENUM("subscription", subscription, "confirm", sub_choices),
	R_ENUM("encryption", encryption, "optional", enc_choices),
	R_INT("key_expiry_warning_days", key_warn_days, 14, 1, 365),
	/* seconds a new OpenPGP key the old one did not sign waits (#17) */
	R_GROUP("openpgp"),
	R_INT("openpgp.replace_delay", pgp_replace_delay, 604800, 1, 90 * 86400),
	R_GROUP("digest"),
	R_ENUM("digest.period", digest_period, "daily", period_choices),
	R_INT("digest.max_size", digest_max, 1048576, 1024, 1 << 30),
	R_STR("subject_prefix", subject_prefix, "[%s]"),
	R_STR("footer", footer, ""),
	R_INT64("max_message_size", max_message_size, 0, 0, 1LL << 30),
	R_INT("max_posts_per_day", max_posts_per_day, 0, 0, 10000),
	R_STR("archive_url", archive_url, ""),
	R_STR("one_click_url", one_click_url, ""),
	R_GROUP("delivery"),
	R_ENUM("delivery.verp", verp, "never", verp_choices),
	R_INT("delivery.max_retry_time", retry_max, 432000, 60, 30 * 86400),
	R_INT("delivery.jitter_min", jitter_min, 0, 0, 86400),
	R_INT("delivery.jitter_max", jitter_max, 0, 0, 86400),
	R_INT("delivery.batch", batch, 0, 0, 86400),
	R_GROUP("identity"),
	R_ENUM("identity.mode", identity, "real", identity_choices),
	R_STR("identity.choices", identity_choices, ""),
	R_BOOL("identity.munge_from", munge_from, 0),
	R_INT("identity.authorship_retention_days", authorship_days, 0, 0, 3650),
	/* a pseudonym given up stays the list's for this long (0: free) */
	R_INT("identity.name_reserve_days", name_reserve_days, 90, 0, 3650),
	R_ENUM("identity.private_replies", private_replies, "members", private_choices),
	R_BOOL("identity.leak_guard", leak_guard, 1),
	R_BOOL("identity.strip_signature", strip_signature, 0),
	R_ENUM("html", html, "strip-remote", html_choices),
	R_ENUM("documents_with_author", documents, "confirm", document_choices),
	R_GROUP("disclosure"),
	R_ENUM("disclosure.roster", roster, "moderators", who_choices),
	R_ENUM("disclosure.member_count", member_count, "members", who_choices),
	R_ENUM("disclosure.archive", archive_who, "members", who_choices),
	R_ENUM("disclosure.moderators_see", moderators_see, "pseudonym", see_choices),
	R_GROUP("leadership"),
	R_INT("leadership.quorum_unmask", quorum[Q_UNMASK], 3, 1, 100),
	R_INT("leadership.quorum_ban", quorum[Q_BAN], 2, 1, 100),
	R_INT("leadership.quorum_expel", quorum[Q_EXPEL], 2, 1, 100),
	R_INT("leadership.quorum_policy", quorum[Q_POLICY], 2, 1, 100),
	R_INT("leadership.quorum_roles", quorum[Q_ROLES], 2, 1, 100),
	R_INT("leadership.quorum_admit", quorum[Q_ADMIT], 2, 1, 100),
	R_INT("leadership.quorum_roster_export", quorum[Q_ROSTER], 2, 1, 100),
	R_BOOL("leadership.notify_unmasked", notify_unmasked, 1),
	R_INT("leadership.vouches_required", vouches_required, 2, 1, 100),
	R_BOOL("leadership.publish_rejections", publish_rejections, 0),
	R_ENUM("leadership.audit_visibility", audit_who, "members", who_choices),
	R_INT("leadership.probation_posts", probation_posts, 0, 0, 1000),
	R_INT("leadership.probation_days", probation_days, 0, 0, 3650),
	R_ENUM("leadership.visibility", visibility, "hidden", vis_choices),
	R_STR("leadership.discipline", discipline, "warn, warn, public, suspend:30"),
	/* days between two steps on one member: no quick ladder */
	R_INT("leadership.discipline_days", discipline_days, 7, 0, 365),
	R_GROUP("archive"),
	R_BOOL("archive.since_join", since_join, 1),
	R_INT("archive.retention_days", archive_days, 0, 0, 36500),
	R_GROUP("bounce"),
	R_INT("bounce.score_limit", bounce_limit, 5, 1, 1000),
	R_INT("bounce.decay_days", bounce_decay_days, 7, 1, 365),
	R_END
};
#undef F

/* cfg_error - record one "file:line: setting: problem" */
static void
cfg_error(struct buf *errs, const char *file, int line, const char *path,
    const char *fmt, const char *arg)
{
	if (line > 0)
		buf_printf(errs, "%s:%d: ", file, line);
	else
		buf_printf(errs, "%s: ", file);
	if (path && *path)
		buf_printf(errs, "%s: ", path);
	buf_printf(errs, fmt, arg);
	buf_putc(errs, '\n');
}

/* rule_find - the rule for a dotted path, or NULL */
static const struct cfg_rule *
rule_find(const struct cfg_rule *rules, const char *path)
{
	for (; rules->path; rules++)
		if (strcmp(rules->path, path) == 0)
			return rules;
	return NULL;
}

/* raw_int_wrapped - did libconfig wrap a plain integer above INT_MAX? */
static int
raw_int_wrapped(const config_setting_t *s)
{
	const char *file = config_setting_source_file(s);
	unsigned line = config_setting_source_line(s), n = 0;
	char text[4096], *p, *end;
	long long v;
	FILE *fp;
	int found = 0;

	if (!file || !line || (fp = fopen(file, "r")) == NULL)
		return 0;
	while (fgets(text, sizeof(text), fp))
		if (++n == line) {
			found = 1;
			break;
		}
	fclose(fp);
	/*
	 * The number follows the setting's own name (a line may hold several
	 * settings, even several of the same name, as in listen = ( ... )).
	 * Wrapped means: some occurrence is a plain number outside int range.
	 */
	if (!found || !config_setting_name(s))
		return 0;
	for (p = text; (p = strstr(p, config_setting_name(s))) != NULL; p++) {
		char *q = p + strlen(config_setting_name(s));

		while (isspace((unsigned char)*q))
			q++;
		if (*q != '=' && *q != ':')
			continue;
		q++;
		while (isspace((unsigned char)*q))
			q++;
		errno = 0;
		v = strtoll(q, &end, 0);
		if (end == q || *end == 'L' || *end == 'l')
			continue;
		if (errno == ERANGE || v > INT_MAX || v < INT_MIN)
			return 1;
	}
	return 0;
}

/* store_default - put a rule's default into the struct */
static int
store_default(const struct cfg_rule *r, void *obj)
{
	char *base = obj;

	switch (r->type) {
	case T_STR:
		return (*(char **)(base + r->off) = strdup(r->sdef ? r->sdef : "")) ? 0 : -1;
	case T_INT:
	case T_BOOL:
		*(int *)(base + r->off) = (int)r->idef;
		return 0;
	case T_INT64:
		*(long long *)(base + r->off) = r->idef;
		return 0;
	case T_ENUM:
		for (int i = 0; r->choices[i]; i++)
			if (strcmp(r->choices[i], r->sdef) == 0)
				*(int *)(base + r->off) = i;
		return 0;
	default:
		return 0;
	}
}

/*
 * rules_free - free every string a rule table filled in obj: the table
 * already lists the strings the struct owns, so a new string setting is
 * released without a second list to keep in step with it
 */
static void
rules_free(const struct cfg_rule *rules, void *obj)
{
	char *base = obj;

	for (const struct cfg_rule *r = rules; r->path; r++)
		if (r->type == T_STR)
			free(*(char **)(base + r->off));
}

/*
 * cfg_kinds - what libconfig type each rule type takes, and the words for a
 * setting of another type: one row per type, one check in check_value
 */
static const struct cfg_kind {
	int		 ctype, ctype2;	/* the libconfig types accepted */
	const char	*what;
} cfg_kinds[] = {
	[T_STR] = { CONFIG_TYPE_STRING, CONFIG_TYPE_STRING,
	    "must be a string (in double quotes)" },
	[T_INT] = { CONFIG_TYPE_INT, CONFIG_TYPE_INT64, "must be an integer" },
	[T_INT64] = { CONFIG_TYPE_INT, CONFIG_TYPE_INT64, "must be an integer" },
	[T_BOOL] = { CONFIG_TYPE_BOOL, CONFIG_TYPE_BOOL, "must be true or false" },
	[T_ENUM] = { CONFIG_TYPE_STRING, CONFIG_TYPE_STRING,
	    "must be a string (in double quotes)" },
	[T_GROUP] = { CONFIG_TYPE_GROUP, CONFIG_TYPE_GROUP,
	    "must be a group { ... }" },
	[T_LIST] = { CONFIG_TYPE_LIST, CONFIG_TYPE_LIST,
	    "must be a list ( { ... }, ... )" },
};

/* enum_error - say which choices an enumerated setting has */
static void
enum_error(const struct cfg_rule *r, const char *str, const char *file,
    int line, const char *path, struct buf *errs)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "\"%s\" is not one of", str);
	for (int i = 0; r->choices[i]; i++)
		buf_printf(&b, "%s \"%s\"", i ? "," : "", r->choices[i]);
	cfg_error(errs, file, line, path, "%s", buf_cstr(&b));
	buf_free(&b);
}

/* check_value - type- and range-check one setting and store it */
static int
check_value(const struct cfg_rule *r, const config_setting_t *s, void *obj,
    const char *file, const char *path, struct buf *errs)
{
	int line = (int)config_setting_source_line(s);
	int type = config_setting_type(s);
	const struct cfg_kind *k = &cfg_kinds[r->type];
	char *base = obj, num[64];
	long long v;
	const char *str;

	if (type != k->ctype && type != k->ctype2) {
		cfg_error(errs, file, line, path, "%s", k->what);
		return -1;
	}
	switch (r->type) {
	case T_STR:
		free(*(char **)(base + r->off));
		*(char **)(base + r->off) = strdup(config_setting_get_string(s));
		return 0;
	case T_INT:
	case T_INT64:
		if (type == CONFIG_TYPE_INT && raw_int_wrapped(s)) {
			cfg_error(errs, file, line, path, "%s",
			    "number too large for a plain integer; write it "
			    "with an L suffix (e.g. 4294967296L)");
			return -1;
		}
		v = config_setting_get_int64(s);
		if (v < r->min || v > r->max) {
			snprintf(num, sizeof(num), "%lld and %lld", r->min,
			    r->max);
			cfg_error(errs, file, line, path,
			    "out of range: must be between %s", num);
			return -1;
		}
		if (r->type == T_INT)
			*(int *)(base + r->off) = (int)v;
		else
			*(long long *)(base + r->off) = v;
		return 0;
	case T_BOOL:
		*(int *)(base + r->off) = config_setting_get_bool(s);
		return 0;
	case T_ENUM:
		str = config_setting_get_string(s);
		for (int i = 0; r->choices[i]; i++)
			if (strcmp(r->choices[i], str) == 0) {
				*(int *)(base + r->off) = i;
				return 0;
			}
		enum_error(r, str, file, line, path, errs);
		return -1;
	default:
		return 0;
	}
}

/* validate - apply a rule table to a group; count the errors */
static int
validate(const config_setting_t *root, const struct cfg_rule *rules, void *obj,
    const char *file, const char *prefix, struct buf *errs)
{
	const struct cfg_rule *r;
	config_setting_t *s;
	char path[256];
	int nerr = 0;

	for (r = rules; r->path; r++) {
		if (store_default(r, obj) < 0)
			return cfg_error(errs, file, 0, r->path, "out of memory%s", ""), nerr + 1;
		s = config_setting_lookup((config_setting_t *)root, r->path);
		snprintf(path, sizeof(path), "%s%s", prefix, r->path);
		if (s == NULL) {
			if (r->sdef == NULL) {
				cfg_error(errs, file, 0, path, "required setting is missing%s", "");
				nerr++;
			}
			continue;
		}
		if (check_value(r, s, obj, file, path, errs) < 0)
			nerr++;
	}
	return nerr;
}

/* unknown_keys - report settings that no rule names */
static int
unknown_keys(const config_setting_t *group, const struct cfg_rule *rules,
    const char *file, const char *prefix, const char *rel, struct buf *errs)
{
	char rpath[256], full[256];
	config_setting_t *s;
	const struct cfg_rule *r;
	int i, nerr = 0;

	for (i = 0; (s = config_setting_get_elem(group, (unsigned)i)) != NULL; i++) {
		const char *name = config_setting_name(s);

		if (!name)
			continue;
		snprintf(rpath, sizeof(rpath), "%s%s%s", rel, *rel ? "." : "", name);
		snprintf(full, sizeof(full), "%s%s", prefix, rpath);
		if ((r = rule_find(rules, rpath)) == NULL) {
			cfg_error(errs, file, (int)config_setting_source_line(s), full,
			    "unknown setting (check the spelling; see mlistd.conf(5) in the README)%s", "");
			nerr++;
		} else if (r->type == T_GROUP && config_setting_type(s) == CONFIG_TYPE_GROUP)
			nerr += unknown_keys(s, rules, file, prefix, rpath, errs);
	}
	return nerr;
}

/* parse_file - run libconfig; report a syntax error as file:line */
static int
parse_file(config_t *cf, const char *path, struct buf *errs)
{
	config_init(cf);
	if (config_read_file(cf, path) == CONFIG_TRUE)
		return 0;
	if (config_error_type(cf) == CONFIG_ERR_FILE_IO)
		buf_printf(errs, "%s: cannot read: %s\n", path, strerror(errno));
	else if (strcmp(config_error_text(cf), "syntax error") == 0)
		buf_printf(errs, "%s:%d: syntax error (look for a missing ';', quote or bracket "
		    "on this line or the one before)\n",
		    config_error_file(cf) ? config_error_file(cf) : path, config_error_line(cf));
	else
		buf_printf(errs, "%s:%d: %s\n", config_error_file(cf) ? config_error_file(cf) : path,
		    config_error_line(cf), config_error_text(cf));
	config_destroy(cf);
	return -1;
}

/* resolve - make a relative path absolute against base */
static int
resolve(char **p, const char *base)
{
	char *n;

	if (**p == '/' || **p == 0)
		return 0;
	if (asprintf(&n, "%s/%s", base, *p) < 0)
		return -1;
	free(*p);
	*p = n;
	return 0;
}

/* config_list_name_ok - list names are lower-case DNS-ish words */
int
config_list_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > LIST_NAME_MAX || !isalnum((unsigned char)name[0]))
		return 0;
	for (; *name; name++)
		if (!(islower((unsigned char)*name) || isdigit((unsigned char)*name) ||
		    *name == '-' || *name == '_' || *name == '.'))
			return 0;
	return 1;
}

static int list_load(const char *, const char *, struct list_cfg *, struct buf *);

/* config_list_load - load and validate one list file */
int
config_list_load(const char *file, struct list_cfg *l, struct buf *errs)
{
	return list_load(file, file, l, errs);
}

/*
 * footer_line_ok - no line of the footer over 998 octets: RFC 5322 2.1.1
 * caps a line there, and a relay refuses every copy that carries a longer
 * one (each refusal then counted as the member's bounce)
 */
static int
footer_line_ok(const char *f)
{
	size_t n;

	for (; f && *f; f += n + (f[n] != 0)) {
		n = strcspn(f, "\n");
		if (n - (n && f[n - 1] == '\r') > 998)
			return 0;
	}
	return 1;
}

/* cross_checks - settings that depend on each other */
static int
cross_checks(config_t *cf, const struct list_cfg *l, const char *as, struct buf *errs)
{
	const config_setting_t *s;
	const char *p = l->identity_choices;
	char word[32];
	size_t n;
	int nerr = 0;

	if (*l->one_click_url && (strncmp(l->one_click_url, "https://", 8) != 0 || strlen(l->one_click_url) > 200 ||
	    strpbrk(l->one_click_url, " \t\r\n<>\"'\\,") || l->one_click_url[strlen(l->one_click_url) - 1] != '/')) {
		s = config_lookup(cf, "one_click_url");
		cfg_error(errs, as, s ? (int)config_setting_source_line(s) : 0, "one_click_url",
		    "must be an https:// URL ending in '/' (RFC 8058 asks for HTTPS; LIST/TOKEN is added)%s", "");
		nerr++;
	}
	if (!footer_line_ok(l->footer)) {
		s = config_lookup(cf, "footer");
		cfg_error(errs, as, s ? (int)config_setting_source_line(s) : 0,
		    "footer", "has a line over 998 octets (RFC 5322 2.1.1: "
		    "relays refuse such mail)%s", "");
		nerr++;
	}
	if (config_discipline_step(l, -1, NULL) < 0) {
		s = config_lookup(cf, "leadership.discipline");
		cfg_error(errs, as, s ? (int)config_setting_source_line(s) : 0, "leadership.discipline",
		    "must be steps separated by commas, each warn, public or suspend:DAYS (1-3650), e.g. "
		    "\"warn, warn, public, suspend:30\"%s", "");
		nerr++;
	}
	/* on such a list a From: claim would post under the member's pseudonym */
	if (l->post_auth == AUTH_SENDER && (l->identity != ID_REAL ||
	    config_identity_allowed(l, ID_PSEUDONYM) || config_identity_allowed(l, ID_ANONYMOUS))) {
		s = config_lookup(cf, "post_auth");
		cfg_error(errs, as, s ? (int)config_setting_source_line(s) : 0, "post_auth",
		    "\"sender\" believes any From: header; a list with pseudonymous or anonymous "
		    "posters needs \"auto\", \"confirm\" or \"signature\"%s", "");
		nerr++;
	}
	if (l->jitter_min > l->jitter_max) {
		s = config_lookup(cf, "delivery.jitter_min");
		cfg_error(errs, as, s ? (int)config_setting_source_line(s) : 0, "delivery.jitter_min",
		    "must not be larger than delivery.jitter_max%s", "");
		nerr++;
	}
	while (p && *p) {
		while (*p == ',' || *p == ' ')
			p++;
		for (n = 0; p[n] && p[n] != ',' && p[n] != ' '; n++)
			;
		if (n == 0)
			break;
		snprintf(word, sizeof(word), "%.*s", (int)(n < 31 ? n : 31), p);
		if (config_identity_parse(word) < 0) {
			s = config_lookup(cf, "identity.choices");
			cfg_error(errs, as, s ? (int)config_setting_source_line(s) : 0, "identity.choices",
			    "\"%s\" is not an identity mode (real, pseudonym, anonymous; comma-separated)", word);
			nerr++;
		}
		p += n;
	}
	return nerr;
}

/* list_load - load file, naming it `as` in errors (a temp copy is checked as the real file) */
static int
list_load(const char *file, const char *as, struct list_cfg *l, struct buf *errs)
{
	config_t cf;
	const char *base;
	char *pfx;
	size_t n;
	int nerr;

	memset(l, 0, sizeof(*l));
	if ((l->file = strdup(as)) == NULL)
		return 1;
	if (parse_file(&cf, file, errs) < 0)
		return 1;
	nerr = validate(config_root_setting(&cf), list_rules, l, as, "", errs);
	nerr += unknown_keys(config_root_setting(&cf), list_rules, as, "", "", errs);
	base = strrchr(as, '/') ? strrchr(as, '/') + 1 : as;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".conf") == 0) {
		if (*l->name == 0) {
			free(l->name);
			l->name = strndup(base, n - 5);
		} else if (strncmp(l->name, base, n - 5) != 0 || l->name[n - 5] != 0) {
			cfg_error(errs, as, (int)config_setting_source_line(
			    config_lookup(&cf, "name")), "name",
			    "must match the file name (NAME.conf)%s", "");
			nerr++;
		}
	}
	if (l->name && !config_list_name_ok(l->name)) {
		cfg_error(errs, as, 0, "name", "\"%s\" is not a valid list name "
		    "(lower-case letters, digits, '-', '_', '.'; at most 64)", l->name);
		nerr++;
	}
	nerr += cross_checks(&cf, l, as, errs);
	if (l->subject_prefix && strcmp(l->subject_prefix, "[%s]") == 0 && l->name &&
	    asprintf(&pfx, "[%s]", l->name) >= 0) {
		free(l->subject_prefix);
		l->subject_prefix = pfx;
	}
	config_destroy(&cf);
	return nerr;
}

/* config_list_free - release one list */
void
config_list_free(struct list_cfg *l)
{
	free(l->file);
	rules_free(list_rules, l);
	notices_free(l->notices);
	l->notices = NULL;
}

/* name_cmp - qsort order for file names */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* reserved_clash - does list a's name equal one of list b's role addresses? */
static int
reserved_clash(const char *a, const char *b)
{
	/* every suffix listaddr_parse serves (mail/addr.c) */
	static const char *const sfx[] = { "-request", "-owner", "-bounces", "-confirm", "-unsubscribe",
	    NULL };
	size_t n = strlen(b);

	for (int i = 0; sfx[i]; i++)
		if (strncasecmp(a, b, n) == 0 && strcasecmp(a + n, sfx[i]) == 0)
			return 1;
	return 0;
}

/* load_lists - every NAME.conf in lists_dir */
static int
load_lists(struct config *c, struct buf *errs)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, *path;
	size_t n = 0, i, len;
	int nerr = 0, j;

	if ((d = opendir(c->lists_dir)) == NULL) {
		buf_printf(errs, "%s: lists_dir: cannot open %s: %s\n", c->file,
		    c->lists_dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".conf"))
			continue;
		if ((names = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (names[n++] = strdup(de->d_name)) == NULL)
			abort();	/* out of memory at start-up */
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	if ((c->lists = calloc(n ? n : 1, sizeof(*c->lists))) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (asprintf(&path, "%s/%s", c->lists_dir, names[i]) < 0)
			return nerr + 1;
		nerr += config_list_load(path, &c->lists[c->nlists], errs);
		free(path);
		for (j = 0; j < c->nlists && c->lists[c->nlists].name; j++) {
			const char *a = c->lists[c->nlists].name, *b = c->lists[j].name;

			if (b == NULL)		/* that file failed to load: reported */
				continue;
			if (strcasecmp(a, b) == 0 || reserved_clash(a, b) || reserved_clash(b, a)) {
				cfg_error(errs, c->lists[c->nlists].file, 0, "name",
				    "list address clashes with list in %s", c->lists[j].file);
				nerr++;
			}
		}
		c->nlists++;
		free(names[i]);
	}
	free(names);
	return nerr;
}

/*
 * load_notices - templates_dir/notices (every text required) and, where a
 * list has one, templates_dir/notices/LIST (overrides, each optional)
 */
static int
load_notices(struct config *c, struct buf *errs)
{
	char dir[4200];
	struct stat st;
	int nerr;

	snprintf(dir, sizeof(dir), "%s/notices", c->templates_dir);
	if ((nerr = notices_load(dir, 1, &c->notices, errs)) > 0)
		return nerr;
	for (int i = 0; i < c->nlists; i++) {
		snprintf(dir, sizeof(dir), "%s/notices/%s", c->templates_dir, c->lists[i].name);
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			nerr += notices_load(dir, 0, &c->lists[i].notices, errs);
	}
	return nerr;
}

/*
 * front_address - may an MTA in front be the only one to reach address?
 * Loopback and private addresses only: a wildcard or a public address is
 * reached by the world, whose Authentication-Results would be believed.
 */
static int
front_address(const char *a)
{
	unsigned char b[16];

	if (strcasecmp(a, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, a, b) == 1)
		return b[0] == 127 || b[0] == 10 ||
		    (b[0] == 172 && (b[1] & 0xf0) == 16) ||
		    (b[0] == 192 && b[1] == 168) ||
		    (b[0] == 169 && b[1] == 254) ||
		    (b[0] == 100 && (b[1] & 0xc0) == 64);
	if (inet_pton(AF_INET6, a, b) != 1)
		return 0;
	return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe &&
	    (b[1] & 0xc0) == 0x80) || memcmp(b, in6addr_loopback.s6_addr,
	    16) == 0;
}

/* front_check - a behind_mta listener on an address the world reaches */
static int
front_check(const struct listen_cfg *l, const char *file, int line,
    const char *prefix, struct buf *errs)
{
	char path[64];

	if (!l->behind_mta || !l->address || front_address(l->address))
		return 0;
	snprintf(path, sizeof(path), "%sbehind_mta", prefix);
	cfg_error(errs, file, line, path, "behind_mta on %s: the "
	    "Authentication-Results of whoever connects would be believed; "
	    "set it only on a loopback or private address that the MTA in "
	    "front alone reaches", l->address);
	return 1;
}

/*
 * mta_user_check - mta_user only where it can be checked: a behind_mta
 * listener on loopback (another host's users are not in /proc/net/tcp),
 * naming a user of this host
 */
static int
mta_user_check(const struct listen_cfg *l, const char *file, int line,
    const char *prefix, struct buf *errs)
{
	unsigned char b[16];
	char path[64];
	const char *a = l->address ? l->address : "";
	int loop = inet_pton(AF_INET, a, b) == 1 ? b[0] == 127 :
	    inet_pton(AF_INET6, a, b) == 1 &&
	    memcmp(b, in6addr_loopback.s6_addr, 16) == 0;

	if (l->mta_user == NULL || *l->mta_user == 0)
		return 0;
	snprintf(path, sizeof(path), "%smta_user", prefix);
	if (l->behind_mta && loop && getpwnam(l->mta_user) != NULL)
		return 0;
	cfg_error(errs, file, line, path, !l->behind_mta ? "%s: only on a "
	    "behind_mta listener" : !loop ? "%s: only on a loopback address "
	    "(the users of another host are not known here)" : "%s: no such "
	    "user on this host", l->mta_user);
	return 1;
}

/* load_listen - the listen = ( {...}, ... ) list */
static int
load_listen(struct config *c, config_t *cf, struct buf *errs)
{
	config_setting_t *ls = config_lookup(cf, "listen"), *e;
	char prefix[32];
	int i, n, nerr = 0;

	if (ls == NULL || config_setting_type(ls) != CONFIG_TYPE_LIST ||
	    (n = config_setting_length(ls)) == 0) {
		if (ls == NULL || config_setting_type(ls) == CONFIG_TYPE_LIST)
			cfg_error(errs, c->file, ls ? (int)config_setting_source_line(ls) : 0, "listen",
			    "at least one listener is needed, e.g. listen = ( { address = \"127.0.0.1\"; port = 2525; } );%s", "");
		return 1;
	}
	c->listen = calloc((size_t)n, sizeof(*c->listen));
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(ls, (unsigned)i);
		snprintf(prefix, sizeof(prefix), "listen.[%d].", i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			cfg_error(errs, c->file, (int)config_setting_source_line(e), prefix,
			    "each listener must be a group { address = ...; port = ...; }%s", "");
			nerr++;
			continue;
		}
		nerr += validate(e, listen_rules, &c->listen[c->nlisten], c->file, prefix, errs);
		nerr += unknown_keys(e, listen_rules, c->file, prefix, "", errs);
		nerr += front_check(&c->listen[c->nlisten], c->file,
		    (int)config_setting_source_line(e), prefix, errs);
		nerr += mta_user_check(&c->listen[c->nlisten], c->file,
		    (int)config_setting_source_line(e), prefix, errs);
		if (c->listen[c->nlisten].tls_cert && c->listen[c->nlisten].tls_key &&
		    (!*c->listen[c->nlisten].tls_cert != !*c->listen[c->nlisten].tls_key ||
		    (c->listen[c->nlisten].require_tls && !*c->listen[c->nlisten].tls_cert) ||
		    (c->listen[c->nlisten].lmtp == PROTO_HTTP && *c->listen[c->nlisten].tls_cert))) {
			cfg_error(errs, c->file, (int)config_setting_source_line(e), prefix,
			    "tls needs both certificate and key (PEM files), require_tls needs tls, and an http "
			    "listener has none (put it behind the web server that holds the certificate)%s", "");
			nerr++;
		}
		c->nlisten++;
	}
	return nerr;
}

/* setting_line - source line of a setting, 0 if absent */
static int
setting_line(const config_t *cf, const char *path)
{
	const config_setting_t *s = config_lookup(cf, path);

	return s ? (int)config_setting_source_line(s) : 0;
}

/* config_default_path - $MLISTD_CONF, else /etc/mlistd/mlistd.conf */
const char *
config_default_path(void)
{
	const char *p = getenv("MLISTD_CONF");

	return p && *p ? p : "/etc/mlistd/mlistd.conf";
}

/* config_load - parse and validate everything; NULL with errors listed */
struct config *
config_load(const char *path, struct buf *errs)
{
	return config_load_flags(path, 0, errs);
}

/* config_load_flags - config_load, optionally without the list files (for init) */
struct config *
config_load_flags(const char *path, int flags, struct buf *errs)
{
	struct config *c;
	config_t cf;
	char *slash, rp[PATH_MAX];
	int nerr = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->file = strdup(path);
	c->dir = strdup(realpath(path, rp) ? rp : path);
	if ((slash = strrchr(c->dir, '/')) == c->dir)
		slash[1] = 0;		/* file in / */
	else if (slash)
		*slash = 0;
	else {
		free(c->dir);
		c->dir = strdup(".");
	}
	if (parse_file(&cf, path, errs) < 0) {
		config_free(c);
		return NULL;
	}
	nerr += validate(config_root_setting(&cf), instance_rules, c, path, "", errs);
	nerr += unknown_keys(config_root_setting(&cf), instance_rules, path, "", "", errs);
	nerr += load_listen(c, &cf, errs);
	if (config_lookup(&cf, "relay") == NULL) {
		cfg_error(errs, path, 0, "relay", "required: relay = { host = \"127.0.0.1\"; port = 25; }; "
		    "or relay = { maildir = \"DIR\"; };%s", "");
		nerr++;
	} else if (!*c->relay_host == !*c->relay_maildir) {
		cfg_error(errs, path, setting_line(&cf, "relay"),
		    "relay", "set exactly one of host (deliver by SMTP) and maildir (deliver locally)%s", "");
		nerr++;
	}
	if (config_lookup(&cf, "hostname") && (!*c->hostname || strpbrk(c->hostname, " @<>\"\t"))) {
		cfg_error(errs, path, setting_line(&cf, "hostname"),
		    "hostname", "\"%s\" is not a domain name", c->hostname);
		nerr++;
	}
	if (c->master_key_credential[0] != '/')
		cfg_error(errs, path,
		    setting_line(&cf, "master_key_credential"),
		    "master_key_credential", "\"%s\" is not an absolute path",
		    c->master_key_credential);
	/* master_key: a way keys.c knows, or an absolute path to a key file kept elsewhere */
	if (strcmp(c->master_key, "passphrase") && strcmp(c->master_key, "systemd-creds") &&
	    strcmp(c->master_key, "insecure-file") && c->master_key[0] != '/') {
		cfg_error(errs, path, setting_line(&cf, "master_key"), "master_key", "\"%s\" is not "
		    "\"passphrase\", \"systemd-creds\", \"insecure-file\" or an absolute path", c->master_key);
		nerr++;
	}
	config_destroy(&cf);
	if (nerr == 0 && (resolve(&c->state_dir, c->dir) < 0 || resolve(&c->lists_dir, c->dir) < 0 ||
	    resolve(&c->templates_dir, c->dir) < 0 || resolve(&c->relay_maildir, c->dir) < 0 ||
	    resolve(&c->pid_file, c->dir) < 0))
		nerr++;
	for (int i = 0; nerr == 0 && i < c->nlisten; i++)
		if (resolve(&c->listen[i].tls_cert, c->dir) < 0 || resolve(&c->listen[i].tls_key, c->dir) < 0)
			nerr++;
	if (nerr == 0 && resolve(&c->relay_tls_ca, c->dir) < 0)
		nerr++;
	if (nerr == 0 && *c->pid_file == 0) {
		free(c->pid_file);
		if (asprintf(&c->pid_file, "%s/mlistd.pid", c->state_dir) < 0)
			c->pid_file = NULL, nerr++;
	}
	if (nerr == 0 && !(flags & CONFIG_SKIP_LISTS))
		nerr += load_lists(c, errs);
	if (nerr == 0 && !(flags & CONFIG_SKIP_LISTS))
		nerr += load_notices(c, errs);
	if (nerr) {
		config_free(c);
		return NULL;
	}
	return c;
}

/*
 * config_hold - keep c for a delivery run in flight: a reload (SIGHUP, a
 * control verb) that frees it meanwhile only marks it, and the run's
 * config_release frees it. One thread (the queue manager's) holds and
 * releases. The count is bookkeeping, not configuration: a const
 * configuration may be held.
 */
void
config_hold(const struct config *c)
{
	((struct config *)c)->holds++;
}

/* config_release - the run is done with c; freed if it was retired meanwhile */
void
config_release(const struct config *c)
{
	struct config *w = (struct config *)c;

	if (--w->holds == 0 && w->retired)
		config_free(w);
}

/* config_free - release everything (once nothing holds it) */
void
config_free(struct config *c)
{
	int i;

	if (!c)
		return;
	if (c->holds > 0) {
		c->retired = 1;
		return;
	}
	for (i = 0; i < c->nlisten; i++)
		rules_free(listen_rules, &c->listen[i]);
	free(c->listen);
	for (i = 0; i < c->nlists; i++)
		config_list_free(&c->lists[i]);
	free(c->lists);
	notices_free(c->notices);
	free(c->file);
	free(c->dir);
	rules_free(instance_rules, c);
	free(c);
}

/* config_list_find - list by name (case-insensitive), or NULL */
const struct list_cfg *
config_list_find(const struct config *c, const char *name)
{
	for (int i = 0; i < c->nlists; i++)
		if (strcasecmp(c->lists[i].name, name) == 0)
			return &c->lists[i];
	return NULL;
}

/* config_identity_name - text for an enum identity */
const char *
config_identity_name(int i)
{
	return i >= 0 && i < 3 ? identity_choices[i] : "?";
}

/* config_who_name - text for an enum who */
const char *
config_who_name(int i)
{
	return i >= 0 && i < 4 ? who_choices[i] : "?";
}

/* config_identity_parse - "real" | "pseudonym" | "anonymous", or -1 */
int
config_identity_parse(const char *s)
{
	for (int i = 0; identity_choices[i]; i++)
		if (strcmp(s, identity_choices[i]) == 0)
			return i;
	return -1;
}

/* config_identity_allowed - may a member of l choose mode? (the list's own mode always) */
int
config_identity_allowed(const struct list_cfg *l, int mode)
{
	const char *name = config_identity_name(mode), *p = l->identity_choices;
	size_t n = strlen(name);

	if (mode == l->identity)
		return 1;
	while (p && *p) {
		while (*p == ',' || *p == ' ')
			p++;
		if (strncmp(p, name, n) == 0 && (p[n] == 0 || p[n] == ',' || p[n] == ' '))
			return 1;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}

/* config_posting_name - text for an enum posting */
const char *
config_posting_name(int p)
{
	return p >= 0 && p < 4 ? posting_choices[p] : "?";
}

/* config_list_keys - the settable keys, for --help */
const char *
config_list_keys(void)
{
	static char text[2048];
	size_t off = 0;

	if (text[0])
		return text;
	for (const struct cfg_rule *r = list_rules; r->path; r++)
		if (r->type != T_GROUP && off < sizeof(text))
			off += (size_t)snprintf(text + off, sizeof(text) - off, "%s%s",
			    off ? ", " : "", r->path);
	return text;
}

/* set_value - put VALUE (text) into a libconfig setting per the rule */
static int
set_value(config_t *cf, const struct cfg_rule *r, const char *key, const char *value,
    struct buf *err)
{
	config_setting_t *parent = config_root_setting(cf), *s;
	char part[128], *end;
	const char *p = key, *dot;
	long long v;
	int ctype;

	while ((dot = strchr(p, '.')) != NULL) {
		snprintf(part, sizeof(part), "%.*s", (int)(dot - p), p);
		if ((s = config_setting_get_member(parent, part)) == NULL)
			s = config_setting_add(parent, part, CONFIG_TYPE_GROUP);
		if (s == NULL || config_setting_type(s) != CONFIG_TYPE_GROUP)
			return buf_printf(err, "%s: %s is not a group", key, part), -1;
		parent = s;
		p = dot + 1;
	}
	ctype = r->type == T_INT ? CONFIG_TYPE_INT : r->type == T_INT64 ? CONFIG_TYPE_INT64 :
	    r->type == T_BOOL ? CONFIG_TYPE_BOOL : CONFIG_TYPE_STRING;
	if ((s = config_setting_get_member(parent, p)) != NULL && config_setting_type(s) != ctype) {
		config_setting_remove(parent, p);
		s = NULL;
	}
	if (s == NULL && (s = config_setting_add(parent, p, ctype)) == NULL)
		return buf_printf(err, "%s: cannot set", key), -1;
	switch (r->type) {
	case T_INT:
	case T_INT64:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (*value == 0 || *end || errno)
			return buf_printf(err, "%s: \"%s\" is not an integer", key, value), -1;
		return r->type == T_INT ? (v < INT_MIN || v > INT_MAX ?
		    (buf_printf(err, "%s: out of range: must be between %lld and %lld", key, r->min, r->max), -1) :
		    (config_setting_set_int(s, (int)v), 0)) : (config_setting_set_int64(s, v), 0);
	case T_BOOL:
		if (strcmp(value, "true") && strcmp(value, "false") && strcmp(value, "on") && strcmp(value, "off"))
			return buf_printf(err, "%s: \"%s\" must be true or false", key, value), -1;
		config_setting_set_bool(s, !strcmp(value, "true") || !strcmp(value, "on"));
		return 0;
	default:
		config_setting_set_string(s, value);
		return 0;
	}
}

/*
 * list_change - a change to one list file validated as the file it makes;
 * written atomically only if write
 */
static int
list_change(const char *file, const char *key, const char *value, int write,
    struct buf *err)
{
	const struct cfg_rule *r = rule_find(list_rules, key);
	struct list_cfg l;
	config_t cf;
	char *tmp;
	int nerr;

	if (r == NULL || r->type == T_GROUP)
		return buf_printf(err, "unknown list setting \"%s\"; settable keys: %s", key,
		    config_list_keys()), -1;
	if (strcmp(key, "name") == 0)
		return buf_printf(err, "a list cannot be renamed; create a new list instead"), -1;
	if (parse_file(&cf, file, err) < 0)
		return -1;
	if (set_value(&cf, r, key, value, err) < 0) {
		config_destroy(&cf);
		return -1;
	}
	if (asprintf(&tmp, "%s.tmp.%ld", file, (long)getpid()) < 0) {
		config_destroy(&cf);
		return -1;
	}
	if (config_write_file(&cf, tmp) != CONFIG_TRUE) {
		buf_printf(err, "cannot write %s: %s", tmp, strerror(errno));
		config_destroy(&cf);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	config_destroy(&cf);
	nerr = list_load(tmp, file, &l, err);
	config_list_free(&l);
	if (nerr == 0 && write && fs_sync_rename(tmp, file, err) < 0)
		nerr = 1;
	if (nerr || !write) {
		while (err->len && err->data[err->len - 1] == '\n')
			err->data[--err->len] = 0;
		unlink(tmp);
		free(tmp);
		return nerr ? -1 : 0;
	}
	free(tmp);
	return 0;
}

/* config_list_set - validate a change to one list file and write it atomically */
int
config_list_set(const char *file, const char *key, const char *value, struct buf *err)
{
	return list_change(file, key, value, 1, err);
}

/*
 * config_list_check - would config_list_set take this change? Nothing
 * written: a change that waits for a quorum is checked before it is asked
 */
int
config_list_check(const char *file, const char *key, const char *value,
    struct buf *err)
{
	return list_change(file, key, value, 0, err);
}

/* config_list_get - current value of a key (after defaults) as text */
int
config_list_get(const char *file, const char *key, struct buf *out, struct buf *err)
{
	const struct cfg_rule *r = rule_find(list_rules, key);
	struct list_cfg l;
	char *base = (char *)&l;

	if (r == NULL || r->type == T_GROUP)
		return buf_printf(err, "unknown list setting \"%s\"", key), -1;
	if (config_list_load(file, &l, err)) {
		config_list_free(&l);
		return -1;
	}
	switch (r->type) {
	case T_STR:
		buf_puts(out, *(char **)(base + r->off));
		break;
	case T_INT:
		buf_printf(out, "%d", *(int *)(base + r->off));
		break;
	case T_INT64:
		buf_printf(out, "%lld", *(long long *)(base + r->off));
		break;
	case T_BOOL:
		buf_puts(out, *(int *)(base + r->off) ? "true" : "false");
		break;
	case T_ENUM:
		buf_puts(out, r->choices[*(int *)(base + r->off)]);
		break;
	default:
		break;
	}
	config_list_free(&l);
	return 0;
}

/* config_list_create - new NAME.conf from a template (copied as text: comments stay) */
int
config_list_create(const struct config *c, const char *name, const char *tmpl, struct buf *err)
{
	struct buf text, out;
	char *src = NULL, *dst = NULL, *p;
	struct list_cfg l;
	int rc = -1, nerr;

	buf_init(&text, 1 << 20);
	buf_init(&out, 1 << 20);
	if (!config_list_name_ok(name)) {
		buf_printf(err, "\"%s\" is not a valid list name (lower-case letters, digits, '-', '_', '.'; "
		    "at most 64, starting with a letter or digit)", name);
		goto out;
	}
	if (config_list_find(c, name)) {
		buf_printf(err, "list %s already exists", name);
		goto out;
	}
	for (int i = 0; i < c->nlists; i++)
		if (reserved_clash(name, c->lists[i].name) || reserved_clash(c->lists[i].name, name)) {
			buf_printf(err, "list name %s clashes with an address of list %s", name, c->lists[i].name);
			goto out;
		}
	if (asprintf(&src, "%s/%s.conf", c->templates_dir, tmpl) < 0 ||
	    asprintf(&dst, "%s/%s.conf", c->lists_dir, name) < 0)
		goto out;
	if (fs_read_file(src, &text, err) < 0)
		goto out;
	/* substitute @LIST@ with the name */
	for (p = (char *)buf_cstr(&text); *p; ) {
		char *at = strstr(p, "@LIST@");

		if (at == NULL) {
			buf_puts(&out, p);
			break;
		}
		buf_append(&out, p, (size_t)(at - p));
		buf_puts(&out, name);
		p = at + 6;
	}
	if (fs_write_atomic(dst, out.data, out.len, 1, err) < 0)
		goto out;
	nerr = config_list_load(dst, &l, err);
	config_list_free(&l);
	if (nerr) {
		unlink(dst);
		goto out;
	}
	rc = 0;
out:
	buf_free(&text);
	buf_free(&out);
	free(src);
	free(dst);
	return rc;
}

/*
 * config_discipline_step - step k (0 first) of the list's discipline ladder:
 * DISC_WARN, DISC_PUBLIC or DISC_SUSPEND (with its days); past the last
 * step, the last again. k = -1 only checks the ladder: 0 good, -1 bad.
 */
int
config_discipline_step(const struct list_cfg *l, int k, int *days)
{
	const char *p = l->discipline;
	int i = 0, kind = -1, d = 0;

	while (p && *p) {
		size_t n;
		char *end;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		n = strcspn(p, ", ");
		if (n == 4 && !strncmp(p, "warn", 4))
			kind = DISC_WARN;
		else if (n == 6 && !strncmp(p, "public", 6))
			kind = DISC_PUBLIC;
		else if (n > 8 && !strncmp(p, "suspend:", 8) && (d = (int)strtol(p + 8, &end, 10)) >= 1 && d <= 3650 &&
		    end == p + n)
			kind = DISC_SUSPEND;
		else
			return -1;
		if (i++ == k)
			break;
		p += n;
	}
	if (kind < 0)
		return -1;	/* an empty ladder */
	if (days)
		*days = d;
	return k < 0 ? 0 : kind;
}
