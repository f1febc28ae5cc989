/*
 * store.h - SQLite state: members, deliveries, tokens, leadership, identity,
 * archive. All SQL lives in mail/store*.c, one file per section below.
 *
 * Return contract, unless a section says otherwise:
 *   STORE_OK (0)     done; for a look-up, found (the out-arguments filled)
 *   > 0              a count or an id, as the function's comment says
 *   STORE_NOTFOUND   no such row: a normal answer, not a failure
 *   STORE_EXISTS     the row is already there (a unique key)
 *   STORE_BADVALUE   the caller's value is not acceptable
 *   STORE_ERR        the database failed; store_errmsg says why. The caller
 *                    must not act as if the answer were "none".
 * A function returning a new string returns NULL for none and for an error;
 * store_failed() tells them apart. A sealed field that does not open is an
 * error (STORE_ERR, or NULL with store_failed), never returned as text.
 */
#ifndef MLIST_STORE_H
#define MLIST_STORE_H

#include "../util/buf.h"
#include "keys.h"
#include "openpgp.h"
#include "role.h"

struct store;

enum { STORE_OK = 0, STORE_ERR = -1, STORE_EXISTS = -2, STORE_NOTFOUND = -3, STORE_BADVALUE = -4 };

/*
 * The database (store.c): open, close, transactions, the error text.
 * store_open: NULL with the cause in err. store_begin, store_commit,
 * store_durable, store_cache: 0 or -1.
 */
struct store *store_open(const char *path, const struct keys *, struct buf *err);
void	store_close(struct store *);
int	store_schema_version(struct store *);
const struct keys *store_keys(struct store *);
int	store_integrity(struct store *);
const char *store_errmsg(struct store *);
int	store_failed(struct store *);
int	store_durable(struct store *, int full);
/*
 * store_checkpoint_later: the write-ahead log is checkpointed by
 * store_checkpoint_idle, or by the commit that takes it beyond max
 * frames; 0 or -1. store_checkpoint_idle: the frames checkpointed if the
 * log holds least or more (0: none, or fewer waited), -1 on failure.
 * store_checkpoint_beside: store_checkpoint_idle then only asks a thread
 * of its own (store_ckpt.c), which copies beside the caller; 0 or -1.
 */
int	store_cache(struct store *, int kib);
int	store_checkpoint_later(struct store *, int max);
int	store_checkpoint_idle(struct store *, int least);
int	store_checkpoint_beside(struct store *);
/*
 * store_busy_wait: 0 or -1. store_locked: 1 if the last call failed on
 * another connection's lock (it may work next time), else 0.
 */
#define STORE_BUSY_MS	10000
int	store_busy_wait(struct store *, int ms);
int	store_locked(struct store *);
int	store_begin(struct store *);
int	store_commit(struct store *);
void	store_rollback(struct store *);
/* one step inside a transaction that can be undone alone (a refused action leaves nothing) */
int	store_savepoint(struct store *);
int	store_savepoint_end(struct store *, int back);

/*
 * Members (store_members.c). store_member_each: the number of members
 * visited or STORE_ERR. store_member_count: the count or STORE_ERR.
 */
struct member {
	long long	 id;
	char		*addr;
	char		*name;
	enum role	 role;
	int		 nomail;
	int		 digest;
	int		 bounce_score;
	long long	 created;
	char		*pseudonym;	/* NULL: none yet */
	char		 handle[24];	/* private replies: LIST+p-HANDLE; "" none yet */
	int		 identity;	/* mode the member chose, -1: the list's */
};

typedef int (*store_member_fn)(const struct member *, void *);

int	store_member_add(struct store *, const char *list, const char *addr, const char *name);
int	store_member_rm(struct store *, const char *list, const char *addr);
unsigned store_removals(const struct store *);
int	store_member_id_exists(struct store *, long long id);
int	store_member_set(struct store *, const char *list, const char *addr,
	    const char *key, const char *value);
int	store_member_find(struct store *, const char *list, const char *addr, struct member *);
int	store_member_each(struct store *, const char *list, store_member_fn, void *);
int	store_member_count(struct store *, const char *list);
int	store_member_digests(struct store *, const char *list);
int	store_list_purge(struct store *, const char *list);
void	member_free(struct member *);
/* store_member_bounce: the new bounce score */
int	store_member_bounce(struct store *, const char *list, const char *addr, long long now,
	    int decay_days, int *probe_sent);
int	store_member_probe(struct store *, const char *list, const char *addr);
int	store_member_disable(struct store *, const char *list, const char *addr);
int	store_member_author_seed(struct store *, const char *list, const char *addr, unsigned char *seed,
	    size_t n);
int	store_member_set_key(struct store *, const char *list, const char *addr, const unsigned char *pk,
	    size_t n);
/* store_member_own_key: 1 the member holds their own key (pk filled), 0 not,
   STORE_ERR */
int	store_member_own_key(struct store *, const char *list, const char *addr, unsigned char *pk, size_t n);
char	*store_member_by_key(struct store *, const char *list, const unsigned char *pk, size_t n);
typedef void (*store_enc_key_fn)(long long member_id, const char *addr, long long expires, int expired, void *);
/* store_enc_keys_due: the number of members visited or STORE_ERR */
int	store_enc_keys_due(struct store *, const char *list, long long now, long long warn_until, store_enc_key_fn,
	    void *);
int	store_enc_key_done(struct store *, long long member_id, int expired);
char	*store_member_addr_by_id(struct store *, const char *list, long long id);

/*
 * The distribution queue (store_queue.c). Every answer below is STORE_ERR
 * when the database fails, never the "none" value. store_processed: 1
 * handled, 0 not. store_fanout: the number of rows made.
 * store_deliveries_due: the number visited (STORE_ERR also when a row did
 * not open: the others were still handed on). store_pending_for, _count,
 * store_failed_count, store_post_total, store_post_count: counts.
 * store_next_due: the time, STORE_NOTFOUND none. store_notice_allowed: 1
 * send it (recorded), 0 not yet.
 */
struct delivery {
	long long	 id;
	char		 qid[32];
	char		 list[72];
	char		*rcpt;		/* decrypted; freed by the caller of the callback's owner */
	char		 env_from[320];
	int		 attempts;
	long long	 expires;
	long long	 member_id;	/* 0: not a member's copy (a notice to an address) */
	int		 dclass;	/* the class distribute recorded (enum dclass) */
	struct buf	 pgp;		/* the member's OpenPGP key now (len 0: none) */
	unsigned char	 rcpt_hash[KEYS_HASH_LEN];	/* with qid: names the delivery */
};

/*
 * One store_fanout call: a row for every member of `list` whose facts
 * (DFACT_* bits: key, nomail, digest, disabled, leader) map to a class
 * other than '0' in `classes` (one digit per combination of facts, made
 * by distribute_table), limited to members who joined in (joined_after,
 * joined_upto] when joined_upto > 0, and to the member with address addr
 * when addr is not NULL. With verp_prefix each row gets a random token
 * and the envelope sender prefix TOKEN suffix.
 */
enum {
	DFACT_KEYED = 1, DFACT_NOMAIL = 2, DFACT_DIGEST = 4, DFACT_DISABLED = 8,
	DFACT_LEADER = 16, DFACT_COMBOS = 32
};
struct fanout_spec {
	const char	*qid, *list;
	const char	*classes;	/* DFACT_COMBOS digits */
	const char	*env_from, *verp_prefix, *verp_suffix;
	long long	 now, expires;
	long long	 joined_after, joined_upto;
	const char	*addr;		/* NULL: every member */
};

typedef void (*store_delivery_fn)(struct delivery *, void *);
/* a due row not wanted (1): counted, not opened nor handed on */
typedef int (*store_due_skip_fn)(const char *qid, const unsigned char *hash,
    void *);

enum { DELIVERY_PENDING = 0, DELIVERY_DONE = 1, DELIVERY_FAILED = 2 };

int	store_processed(struct store *, const char *qid);
int	store_mark_processed(struct store *, const char *qid, const char *list, const char *disposition);
int	store_delivery_add(struct store *, const char *qid, const char *list, const char *rcpt,
	    const char *env_from, const char *token, int dclass, long long now, long long expires);
int	store_fanout(struct store *, const struct fanout_spec *);
int	store_deliveries_due(struct store *, long long now, int limit, store_delivery_fn, void *);
int	store_deliveries_due_unless(struct store *, long long now, int limit,
	    store_due_skip_fn, store_delivery_fn, void *);
/* store_delivery_record: rows changed, 0 (no such pending delivery) or 1 */
int	store_delivery_record(struct store *, const char *qid, const unsigned char *hash, int state,
	    int attempts, long long next_try, const char *err);
int	store_pending_for(struct store *, const char *qid);
int	store_pending_count(struct store *);
int	store_failed_count(struct store *);
int	store_due_between(struct store *, long long after, long long upto);
long long store_next_due(struct store *);
unsigned long long store_queue_version(struct store *);
/* store_last_errors: the number of lines appended */
int	store_last_errors(struct store *, int n, struct buf *);
int	store_purge_done(struct store *, long long before);
int	store_bounce_token(struct store *, const char *token, char *list, size_t, char **rcpt,
	    int *probe);
int	store_delivered_since(struct store *, const char *list, const char *addr, long long since);
/* store_bounce.c: STORE_OK/ERR; 1 such a copy was sent, 0 not, ERR */
int	store_copy_msgid(struct store *, const char *qid, const char *msgid,
	    long long now, long long before);
int	store_delivered_msgid(struct store *, const char *list,
	    const char *addr, const char *msgid, long long since);
int	store_delivered_in(struct store *, const char *list,
	    const char *addr, const char *qid, long long lo, long long hi,
	    long long since);
int	store_notice_allowed(struct store *, const char *addr, long long now, int interval);
/* store_authn.c: 1 an answer taken from the hour's budget, 0 none, STORE_ERR */
int	store_answer_budget(struct store *, long long hour, int limit);
/* 1 a member's confirmation taken, 0 theirs spent, 2 the instance's, ERR */
#define STORE_BUDGET_HELD	"~held"
int	store_confirm_budget(struct store *, const char *kind, const char *addr,
	    long long hour, int per_member, int per_instance);
int	store_post_total(struct store *, const char *list, const char *addr);
int	store_post_count(struct store *, const char *list, const char *addr, long long day, int add);

/*
 * List signing keys (store_keys.c). store_key_count: a count.
 * store_keys_each: the number visited. store_signature_seen: 1 a replay,
 * 0 new, STORE_ERR.
 */
typedef void (*store_key_fn)(const char *selector, const unsigned char *pk, int active, long long created,
    void *);
int	store_key_add(struct store *, const char *list, const char *selector, const unsigned char *seed,
	    size_t seedlen, const unsigned char *pk, size_t pklen);
int	store_key_count(struct store *, const char *list);
int	store_key_active(struct store *, const char *list, char *selector, size_t, unsigned char *seed,
	    size_t seedlen);
int	store_keys_each(struct store *, const char *list, store_key_fn, void *);
int	store_signature_seen(struct store *, const char *list, const char *sig);

/*
 * Confirmation tokens (store_tokens.c). A token that is unknown, used,
 * expired, of another kind or another list's is STORE_NOTFOUND.
 */
int	store_confirm_add(struct store *, const char *kind, const char *token, const char *list,
	    const char *out_id, const unsigned char *bound, size_t blen, const char *addr, long long expires);
int	store_confirm_spend(struct store *, const char *token);
/* a confirmation token taken by store_confirm_take (bound and addr are the caller's to free) */
struct store_token {
	char		 kind[16];	/* post, key, command, moderate, quorum, vouch */
	char		 out_id[32];	/* the held copy (a queue id), or the request id */
	struct buf	 bound;		/* the copy's hash, a key, sealed commands */
	char		*addr;		/* the member it was sent to; NULL: no such member now */
	enum role	 role;		/* that member's role; ROLE_MEMBER if none */
	int		 operator;	/* mlistctl issued it: it acts as the operator, whatever role */
};
int	store_confirm_take(struct store *, const char *token, const char *list, long long now,
	    struct store_token *);
int	store_confirm_peek(struct store *, const char *token, const char *list,
	    long long now, struct store_token *);


/*
 * Leadership (store_leadership.c): bans, held posts, the audit log's rows,
 * quorum requests, discipline. Every answer is STORE_ERR when the database
 * fails, never "none". store_banned, store_is_held: 1 yes, 0 no.
 * store_held_count, store_moderator_count, store_discipline_steps: counts.
 * store_held_each, store_audit_each, store_pending_voters: the number
 * visited. store_pending_add: the new id or STORE_ERR. store_pending_vote:
 * the number of distinct approvals. store_pending_in_state: ids filled.
 * store_discipline_until: the end of a suspension, 0 none.
 */
int	store_ban(struct store *, const char *list, const char *addr);
int	store_unban(struct store *, const char *list, const char *addr);
int	store_banned(struct store *, const char *list, const char *addr);
int	store_hold(struct store *, const char *qid, const char *list, const char *reason, const char *author);
char	*store_held_author(struct store *, const char *list, const char *id);
int	store_held_count(struct store *, const char *list);
int	store_is_held(struct store *, const char *qid);
typedef void (*store_held_fn)(const char *id, const char *reason, long long at, void *);
int	store_held_each(struct store *, const char *list, store_held_fn, void *);
int	store_held_take(struct store *, const char *list, const char *id, char *reason, size_t n);

struct audit_entry {
	long long	 seq, at;
	char		 actor[64], action[64], detail[512], selector[96];
	unsigned char	 prev[32], hash[32], sig[64];
};
typedef void (*store_audit_fn)(const struct audit_entry *, void *);
int	store_audit_last(struct store *, const char *list, long long *seq, unsigned char hash[32]);
int	store_audit_add(struct store *, const char *list, const struct audit_entry *);
int	store_audit_each(struct store *, const char *list, store_audit_fn, void *);

/* grave actions waiting for a quorum */
struct pending {
	long long	 id, expires;
	char		 list[72], action[32], detail[300], state[16];
	char		*arg;		/* decrypted; freed by the caller */
	int		 needed;
};
int	store_moderator_count(struct store *, const char *list);
long long store_pending_add(struct store *, const char *list, const char *action, const char *arg,
	    const char *detail, int needed, const char *state, long long now, long long expires);
typedef int (*store_arg_fn)(const char *arg, void *);
int	store_pending_args(struct store *, const char *list, const char *action,
	    store_arg_fn, void *);
int	store_pending_get(struct store *, long long id, struct pending *);
int	store_pending_state(struct store *, long long id, const char *state);
int	store_pending_in_state(struct store *, const char *state, long long *ids, int n);
long long store_pending_find(struct store *, const char *list, const char *action, const char *state);
int	store_pending_vote(struct store *, long long id, const char *list, const char *addr);
int	store_pending_voters(struct store *, long long id, store_member_fn, void *);
int	store_discipline_steps(struct store *, const char *list, const char *addr);
long long store_discipline_until(struct store *, const char *list, const char *addr);
int	store_discipline_step(struct store *, const char *list, const char *addr, long long until);
long long store_discipline_last(struct store *, const char *list,
	    const char *addr);
int	store_discipline_taken(struct store *, const char *list,
	    const char *addr, long long at);

/*
 * Identity (store_identity.c): pseudonyms, handles, anonymous handles,
 * the Message-ID map, retention.
 */
int	store_pseudonym_given_up(struct store *, const char *list,
	    const char *skeleton, long long since);
int	store_member_set_pseudonym(struct store *, const char *list, const char *addr, const char *name,
	    const char *skeleton, const char *handle);
int	store_member_set_identity(struct store *, const char *list, const char *addr, const char *mode);
char	*store_member_by_handle(struct store *, const char *list, const char *handle, long long now);
char	*store_member_by_pseudonym(struct store *, const char *list, const char *skeleton);
int	store_anon_add(struct store *, const char *list, const char *handle, const char *addr, long long expires);
int	store_msgid_put(struct store *, const char *list, const char *ref, const char *list_id, long long now);
int	store_msgid_map(struct store *, const char *list, const char *ref, char *out, size_t n);
int	store_outer_put(struct store *, const char *list, const char *outer,
	    const char *real, const char *chain, long long now,
	    long long before);
int	store_outer_map(struct store *, const char *list, const char *outer,
	    char *out, size_t n, struct buf *chain);
int	store_identity_expire(struct store *, const char *list, long long now, long long archive_before);
/*
 * A pseudonym's OpenPGP key (store_identity.c), by its handle: get opens the
 * sealed secret into out (the caller wipes it), STORE_NOTFOUND if none;
 * put STORE_EXISTS if the handle has one already (kept: keys are for life).
 */
int	store_pseudonym_key_get(struct store *, const char *list,
	    const char *handle, struct buf *out);
int	store_pseudonym_key_put(struct store *, const char *list,
	    const char *handle, const char *fpr, const void *secret, size_t len,
	    long long created);
int	store_pseudonym_key_update(struct store *, const char *list,
	    const char *handle, const void *secret, size_t len);
int	store_pseudonym_key_by_name(struct store *, const char *list,
	    const char *skeleton, struct buf *out);
int	store_pseudonym_by_name(struct store *, const char *list,
	    const char *skeleton, char *name, size_t, char *handle, size_t);
int	store_pseudonym_key_rotate(struct store *, const char *list,
	    const char *handle, const char *fpr, const void *secret, size_t len,
	    const char *oldfpr, const void *oldpub, size_t oldlen,
	    long long now);
/* one retired key of a pseudonym: its fingerprint, when, its public key */
typedef void store_retired_fn(const char *fpr, long long retired,
	    const struct buf *pub, void *);
int	store_pseudonym_retired_each(struct store *, const char *list,
	    const char *handle, store_retired_fn *, void *);
int	store_pseudonym_retired_given_up(struct store *, const char *list,
	    const char *skeleton, store_retired_fn *, void *);

/*
 * The archive and the digest queue (store_archive.c). store_archive_each,
 * store_digest_take: the number visited or STORE_ERR.
 */
typedef void (*store_archive_fn)(int n, long long at, const char *summary, void *);
int	store_archive_add(struct store *, const char *list, long long at,
	    const char *summary, const void *msg, size_t len, long long *num);
int	store_archive_each(struct store *, const char *list, long long since, store_archive_fn, void *);
int	store_archive_get(struct store *, const char *list, int n, long long *at, struct buf *out);
int	store_digest_add(struct store *, const char *list, long long at, const void *msg, size_t len);
int	store_digest_add_archived(struct store *, const char *list,
	    long long at, long long n);
int	store_digest_pending(struct store *, const char *list, int *n, long long *bytes, long long *since,
	    int *issue);
typedef void (*store_digest_fn)(long long at, const struct buf *msg, void *);
int	store_digest_take(struct store *, const char *list, long long now, store_digest_fn, void *);
int	store_digest_due_now(struct store *, const char *list);
int	store_digest_skip(struct store *, const char *list, long long now);

/*
 * OpenPGP keys (store_keys.c), sealed under the master key. The list's
 * transferable secret key (one row a list, replaced by a rotation):
 * store_list_pgp_put 0 or STORE_ERR; store_list_pgp_get 1 found (secret
 * and fpr filled), 0 none, STORE_ERR. A member's minimal public key
 * (binary), its fingerprint kept only as a keyed hash:
 * store_member_pgp_put 0, STORE_NOTFOUND (no such member), STORE_EXISTS
 * (another member of the list has that key), STORE_ERR;
 * store_member_pgp_get 1 found, 0 none, STORE_ERR; store_member_pgp_clear
 * 0 or STORE_ERR; store_pgp_fpr_member 1 found (*addr a new string), 0 none,
 * STORE_ERR. expires: 0 never. A fingerprint is 40 hex digits, any case,
 * spaces ignored.
 */
int	store_list_pgp_put(struct store *, const char *list, const void *secret,
	    size_t len, const char *fpr);
int	store_list_pgp_get(struct store *, const char *list, struct buf *secret,
	    char fpr[OPENPGP_FPR_SIZE]);
int	store_member_pgp_put(struct store *, const char *list, const char *addr,
	    const void *key, size_t len, const char *fpr, long long expires);
int	store_member_pgp_get(struct store *, const char *list, const char *addr,
	    struct buf *key, long long *expires);
int	store_member_pgp_clear(struct store *, const char *list,
	    const char *addr);
int	store_pgp_fpr_member(struct store *, const char *list, const char *fpr,
	    char **addr);
/*
 * A key waiting to replace a member's registered one (#17): one a member.
 * _put 0, STORE_NOTFOUND, STORE_ERR; _get 1 (key opened, *due), 0 none,
 * STORE_ERR; _clear 1 one waited, 0 none, STORE_ERR; _due the count of
 * addresses (new strings) whose key is due, STORE_ERR; _any 1 or 0.
 */
int	store_member_pgp_next_put(struct store *, const char *list,
	    const char *addr, const void *key, size_t len, long long due);
int	store_member_pgp_next_get(struct store *, const char *list,
	    const char *addr, struct buf *key, long long *due);
int	store_member_pgp_next_clear(struct store *, const char *list,
	    const char *addr);
int	store_member_pgp_next_due(struct store *, const char *list,
	    long long now, char **addrs, int max);
int	store_member_pgp_next_any(struct store *, const char *list,
	    long long now);
/* the cause of a failure built on the store, for store_errmsg */
void	store_fail_cause(struct store *, const char *cause);

/*
 * A backup (store_backup.c): a reader pinned to this moment (*at), its
 * image made later by the thread that holds it, and the delivery results
 * recorded since then (the journal's words for each).
 */
struct store_reader;
typedef void (*store_late_fn)(void *arg, const char *qid,
    const unsigned char *hash, int state, int attempts, long long next_try,
    const char *err);
struct store_reader *store_backup_reader(struct store *, long long *at);
int	store_backup_image(struct store_reader *, unsigned char **img,
	    size_t *len, char *why, size_t n);
void	store_backup_image_free(unsigned char *img);
void	store_backup_reader_close(struct store_reader *);
int	store_backup_late(struct store *, long long since, store_late_fn,
	    void *arg);

/* The moderators' role key last announced to a list (store_rolekey.c) */
int	store_role_announced(struct store *, const char *list, char *fpr,
	    size_t n);
int	store_role_announced_set(struct store *, const char *list,
	    const char *fpr, long long at);

#endif
