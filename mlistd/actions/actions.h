/*
 * actions.h - every action that changes a list, owned by the daemon.
 *
 * Each action is one function that runs inside the caller's transaction:
 * the control socket opens one per request (actions_run), a by-mail
 * handler runs it inside the transaction of the message that asked. An
 * action writes what its user should read into ctx->out (JSON with
 * ctx->json) and why it failed into ctx->err, and returns an enum act.
 */
#ifndef MLIST_ACTIONS_H
#define MLIST_ACTIONS_H

#include "pipeline/pipeline.h"
#include "util/why.h"

/* results; the first four are mlistctl's exit codes */
enum act {
	ACT_DONE = 0,
	ACT_FAILED = 1,		/* refused or not found: said in err */
	ACT_USAGE = 2,
	ACT_REQUESTED = 3,	/* a request waits for the moderators' quorum */
	ACT_ERROR = -1		/* the store failed: roll back (a message is retried) */
};

struct act_ctx {
	struct pipeline	*p;
	const char	*actor;		/* how the audit log names who acted */
	int		 json, emergency;
	int		 reload;	/* a list file changed: reload it */
	const char	*audited;	/* a list whose audit head to sync */
	int		 votes;		/* audited: how many agreed */
	struct buf	*out, *err;
	/* an action answered later (backup): see act_wait_fn */
	int		 wait_fd;
	int		(*wait_fn)(void *, struct buf *out, struct buf *err);
	void		*wait_arg;
};

/*
 * An action whose work goes on after it returns (a backup written by a
 * child) sets wait_fn: the control socket then waits for wait_fd to be
 * readable and calls wait_fn(wait_arg, out, err) each time, until it
 * returns an enum act other than ACT_LATER; that is the answer.
 */
#define ACT_LATER	100

enum act_decision { ACT_APPROVE, ACT_REJECT, ACT_DISCARD };

/* the table behind the control socket: argv[0] the verb, then its arguments */
int	actions_run(struct act_ctx *, int argc, char **argv);
const char *actions_list_arg(int argc, char **argv);

/* helpers for the action files */
int	act_bad_address(struct act_ctx *, const char *addr);
int	act_fail(struct act_ctx *, int rc, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	act_dberr(struct act_ctx *);
void	act_reload(struct act_ctx *);
void	act_json_str(struct buf *, const char *);
int	act_audit_code(struct act_ctx *, const struct list_cfg *,
	    const char *action, const char *code, const char *const *vars);
int	act_audit(struct act_ctx *, const struct list_cfg *, const char *action,
	    const char *detail);
void	act_member_ref(struct act_ctx *, const struct list_cfg *, const char *addr,
	    char *out, size_t);
const struct list_cfg *act_list(struct act_ctx *, const char *name);

/* backup.c: the instance into one encrypted file (mlistctl backup) */
int	act_backup(struct act_ctx *, const char *path);

/* moderation.c */
int	act_moderate(struct act_ctx *, const struct list_cfg *, const char *id,
	    enum act_decision, const char *reason);

/* members.c */
int	act_member_add(struct act_ctx *, const struct list_cfg *, const char *addr,
	    const char *name, const char *pseudonym);
int	act_member_import(struct act_ctx *, const struct list_cfg *, const char *text,
	    const char *origin);
int	act_member_set(struct act_ctx *, const struct list_cfg *, const char *addr,
	    const char *key, const char *value, const char *expires);
void	act_said_set(struct act_ctx *, const struct list_cfg *, const char *addr,
	    const char *key, const char *value);
int	act_set_pseudonym(struct act_ctx *, const struct list_cfg *, const char *addr,
	    const char *name);
int	act_member_leave(struct act_ctx *, const struct list_cfg *,
	    const char *addr);

/* leadership.c: the grave actions, each gated by the quorum */
int	act_grave(struct act_ctx *, const struct list_cfg *, enum grave,
	    const char *action, const char *arg, const char *detail);
int	act_ban(struct act_ctx *, const struct list_cfg *, const char *addr);
int	act_unban(struct act_ctx *, const struct list_cfg *, const char *addr);
int	act_expel(struct act_ctx *, const struct list_cfg *, const char *addr);
int	act_set_role(struct act_ctx *, const struct list_cfg *, const char *addr,
	    const char *role);
int	act_set_policy(struct act_ctx *, const struct list_cfg *, const char *key,
	    const char *value);
int	act_unmask(struct act_ctx *, const struct list_cfg *, const char *pseudonym);
int	act_roster_export(struct act_ctx *, const struct list_cfg *);
/* the same changes once the quorum agreed (or no quorum is needed): no gate, no audit */
int	act_apply_ban(struct act_ctx *, const struct list_cfg *, const char *addr);
int	act_apply_expel(struct act_ctx *, const struct list_cfg *, const char *addr);
int	act_apply_role(struct act_ctx *, const struct list_cfg *, const char *addr,
	    enum role);
int	act_apply_policy(struct act_ctx *, const struct list_cfg *, const char *key,
	    const char *value);

/* openpgp.c */
int	act_member_openpgp(struct act_ctx *, const struct list_cfg *,
	    const char *addr, const char *value);
int	act_keys_rotate_subkey(struct act_ctx *, const struct list_cfg *);
int	act_keys_rotate_pseudonym(struct act_ctx *, const struct list_cfg *,
	    const char *name);
int	act_keys_openpgp(struct act_ctx *, const struct list_cfg *);

/* list.c */
int	act_list_create(struct act_ctx *, const char *name, const char *tmpl);
int	act_list_keys_due(struct pipeline *, const struct list_cfg *);
int	act_list_keys_job(struct pipeline *, const struct list_cfg *,
	    struct why *);
int	act_digest_now(struct act_ctx *, const struct list_cfg *);
int	act_keys_rotate(struct act_ctx *, const struct list_cfg *);
int	act_list_delete(struct act_ctx *, const struct list_cfg *);

#endif
