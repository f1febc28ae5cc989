/* config.h - the instance configuration and the per-list files (libconfig). */
#ifndef MLIST_CONFIG_H
#define MLIST_CONFIG_H

#include <stddef.h>

#include "../util/buf.h"

struct notices;

#define LIST_NAME_MAX	64

enum posting { POSTING_MEMBERS, POSTING_MODERATED, POSTING_OPEN, POSTING_ANNOUNCE };
enum verp { VERP_NEVER, VERP_ALWAYS };
enum post_auth { AUTH_SENDER, AUTH_CONFIRM, AUTH_SIGNATURE, AUTH_AUTO };
enum identity { ID_REAL, ID_PSEUDONYM, ID_ANONYMOUS };
enum private_replies { PRIV_MEMBERS, PRIV_ANYONE, PRIV_OFF };
enum html_policy { HTML_KEEP, HTML_STRIP_REMOTE, HTML_TEXT };
enum document_policy { DOC_REFUSE, DOC_HOLD, DOC_CONFIRM };
enum who { WHO_NONE, WHO_MODERATORS, WHO_MEMBERS, WHO_PUBLIC };
enum subscription { SUB_CONFIRM, SUB_APPROVE, SUB_CLOSED, SUB_VOUCH };
enum encryption { ENC_OFF, ENC_OPTIONAL, ENC_REQUIRED };
/* the grave actions that need a quorum of moderators */
enum grave { Q_UNMASK, Q_BAN, Q_EXPEL, Q_POLICY, Q_ROLES, Q_ADMIT, Q_ROSTER, Q_N };

enum { PROTO_SMTP, PROTO_LMTP, PROTO_HTTP };
enum { DISC_WARN, DISC_PUBLIC, DISC_SUSPEND };
enum { VIS_HIDDEN, VIS_ROLES, VIS_NAMED };
enum { RELAY_TLS_NONE, RELAY_TLS_MAY, RELAY_TLS_VERIFY };

struct listen_cfg {
	char		*address;
	int		 port;
	int		 lmtp;		/* protocol: PROTO_SMTP, PROTO_LMTP or PROTO_HTTP (one-click) */
	char		*tls_cert;	/* STARTTLS: PEM certificate chain and key ("" : no TLS) */
	char		*tls_key;
	int		 require_tls;	/* no MAIL before STARTTLS */
	int		 behind_mta;	/* only the MTA of auth.authserv_id connects here */
	char		*mta_user;	/* behind_mta: the MTA's user; "" any */
};

struct list_cfg {
	char		*file;
	char		*name;
	char		*description;
	int		 posting;	/* enum posting */
	int		 post_auth;	/* enum post_auth */
	int		 subscription;	/* enum subscription */
	int		 encryption;	/* enum encryption */
	int		 key_warn_days;	/* a member hears this long before their key's stated expiry */
	/* seconds before an unsigned new key replaces the old */
	int		 pgp_replace_delay;
	int		 quorum[Q_N];	/* distinct moderators who must agree, per enum grave */
	int		 notify_unmasked;
	int		 vouches_required;	/* subscription = "vouch": members who must vouch */
	int		 publish_rejections;	/* the list is told what the moderators rejected, and why */
	int		 audit_who;		/* enum who: the audit command at -request */
	int		 probation_posts;	/* a new member's first posts are held for moderation */
	char		*discipline;		/* the ladder: "warn, warn, public, suspend:30" */
	int		 discipline_days;	/* days apart, per member */
	int		 visibility;		/* VIS_HIDDEN, VIS_ROLES, VIS_NAMED */
	int		 probation_days;	/* ... and archive and roster stay closed to them this long */
	int		 digest_period;	/* 0 daily, 1 weekly */
	int		 digest_max;	/* bytes: a digest goes out when this much waits */
	char		*subject_prefix;
	char		*footer;
	long long	 max_message_size;	/* 0: instance limit */
	int		 max_posts_per_day;	/* 0: no limit */
	char		*archive_url;		/* "" : no archive */
	char		*one_click_url;		/* RFC 8058 base ("https://.../"), "" : none */
	int		 verp;			/* enum verp */
	int		 retry_max;		/* seconds before a delivery fails */
	int		 bounce_limit;		/* score that disables delivery */
	int		 bounce_decay_days;
	int		 jitter_min, jitter_max;	/* seconds of random delay before fan-out */
	int		 batch;			/* release posts at multiples of this many seconds */
	int		 identity;		/* enum identity: the list's mode */
	char		*identity_choices;	/* other modes a member may choose: "anonymous,..." */
	int		 munge_from;		/* real lists: From "Name via LIST" <LIST@host> */
	int		 name_reserve_days;	/* a pseudonym given up */
	int		 authorship_days;	/* anonymous posts: keep the author link this long */
	int		 private_replies;	/* enum private_replies */
	int		 leak_guard;
	int		 strip_signature;
	int		 html;			/* enum html_policy */
	int		 documents;		/* enum document_policy */
	int		 roster, member_count, archive_who;	/* enum who */
	int		 moderators_see;	/* 0 pseudonym, 1 address */
	int		 since_join;		/* archive: only what was posted after joining */
	int		 archive_days;		/* archive retention, 0 = keep */
	struct notices	*notices;		/* the list's own notice texts (NULL: the instance's) */
};

struct config {
	int		 holds;		/* config_hold: a delivery run's */
	int		 retired;	/* freed while held: at the release */
	char		*file;
	char		*dir;		/* directory of file: base of relative paths */
	char		*hostname;
	struct listen_cfg *listen;
	int		 nlisten;
	char		*state_dir;
	char		*lists_dir;
	char		*templates_dir;
	char		*pid_file;
	char		*user;		/* started as root: run as this user ("" : stay root, with a warning) */
	char		*worker_user;	/* ... and parse mail as this one ("" : user; never root) */
	char		*smtp_user;	/* ... smtpd as this one ("": user) */
	char		*master_key;	/* passphrase, systemd-creds, insecure-file or /path (keys.c) */
	char		*master_key_credential;	/* systemd-creds: its file */
	/* relay: either host/port or maildir */
	char		*relay_host;
	int		 relay_port;
	int		 relay_connections;
	int		 relay_batch;
	int		 relay_timeout;
	char		*relay_maildir;
	int		 relay_tls;	/* RELAY_TLS_NONE, _MAY (if offered, unverified), _VERIFY (required, checked) */
	char		*relay_tls_ca;	/* CA file for verify ("" : the system's store) */
	char		*relay_tls_name;	/* name the certificate must carry ("" : relay.host) */
	int		 retry_base;	/* first retry after this many seconds, doubling */
	int		 retry_cap;	/* ... up to this interval */
	/* limits */
	long long	 max_message_size;
	int		 max_recipients;
	int		 max_connections;
	int		 command_timeout;
	int		 data_timeout;
	int		 max_client_connections;	/* sessions from one address at once */
	int		 max_idle_commands;	/* NOOP, RSET, VRFY, HELP in one session */
	int		 session_timeout;	/* a session's whole life, seconds */
	int		 data_deadline;		/* the whole DATA must arrive within this */
	long long	 worker_memory;		/* the parser's address space per message, bytes */
	int		 worker_seconds;	/* ... and its CPU and wall-clock seconds */
	int		 workers;	/* parses at once; 0: from the CPUs */
	/* who sent this (pipeline/authn.c, mail/auth.h, mail/dns.h) */
	char		*authserv_id;	/* trust A-R with this id on behind_mta listeners */
	int		 trusted_received;
	char		*dns_resolver;	/* "" resolv.conf, or "ADDR[@PORT]" */
	int		 dns_timeout;	/* seconds */
	char		*dns_trust_anchor;	/* "" : no DNSSEC validation */
	int		 answers_per_address;	/* per hour, to senders not authenticated */
	int		 answers_per_instance;	/* per hour, all of them together */
	int		 answer_delay;	/* s after arrival, at least */
	int		 answer_jitter;	/* ... plus 0..this, per message */
	int		 confirms_per_member;	/* an hour, to one member */
	int		 confirms_per_instance;	/* ... to all of them */
	/* lists */
	struct list_cfg	*lists;
	int		 nlists;
	struct notices	*notices;	/* templates_dir/notices: every text a member or moderator gets */
};

#define CONFIG_SKIP_LISTS	1

struct config *config_load(const char *path, struct buf *errors);
struct config *config_load_flags(const char *path, int flags, struct buf *errors);
void	config_free(struct config *);
void	config_hold(const struct config *);
void	config_release(const struct config *);
const char *config_default_path(void);
const struct list_cfg *config_list_find(const struct config *, const char *name);
int	config_list_name_ok(const char *name);
int	config_list_load(const char *file, struct list_cfg *, struct buf *errors);
void	config_list_free(struct list_cfg *);
int	config_list_set(const char *file, const char *key, const char *value, struct buf *err);
int	config_list_check(const char *file, const char *key,
	    const char *value, struct buf *err);
int	config_list_get(const char *file, const char *key, struct buf *out, struct buf *err);
int	config_list_create(const struct config *, const char *name, const char *tmpl,
	    struct buf *err);
const char *config_posting_name(int);
const char *config_identity_name(int);
const char *config_who_name(int);
int	config_identity_parse(const char *);
int	config_identity_allowed(const struct list_cfg *, int mode);
int	config_discipline_step(const struct list_cfg *, int k, int *days);
const char *config_list_keys(void);

#endif
