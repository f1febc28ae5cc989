/*
 * moderate.c - moderation by mail.
 *
 * When a post is held, every moderator and owner gets a notice of their
 * own (none sees the others' addresses, nor how many they are) with the
 * held copy attached - the copy as it would go out, so on a pseudonymous
 * list the moderator sees the pseudonym, and the author's address only
 * where disclosure.moderators_see = "address". Each notice carries a token
 * bound to that moderator and that post: replying "approve", "reject
 * REASON" or "discard" (the whole first line: pipeline/reply.c) to
 * LIST-confirm+TOKEN (a reply does that), from the moderator's own
 * authenticated address (pipeline/tokens.c), acts once.
 * A forged reply has no token and does nothing; the first decision wins
 * and the other moderators' tokens then find nothing to act on; a token
 * decides only while its moderator still moderates the list. Every
 * decision goes to the audit log under the moderator's role (never
 * "operator", which only mlistctl's own decisions carry). The decision
 * itself is act_moderate (actions/moderation.c), the same function that
 * 'mlistctl mod' reaches through the control socket.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actions/actions.h"
#include "leadership/confirm.h"
#include "delivery/distribute.h"
#include "mail/archive.h"
#include "mail/audit.h"
#include "mail/header.h"
#include "pipeline/disclosure.h"
#include "pipeline/identity.h"
#include "pipeline/reply.h"
#include "leadership/moderate.h"
#include "util/log.h"

struct ask {
	struct pipeline	*p;
	const struct list_cfg *l;
	const char	*id, *reason, *sender;
	const struct buf *copy;
	struct why	*why;		/* the failure's cause; NULL: none */
	int		 n, failed;
};

/*
 * ask_failed - the cause of a failed step for a->why, read at once: the
 * member loop's end would leave SQLite's "not an error" in its place
 * (a fault outside the store keeps only the step: why_cause)
 */
static int
ask_failed(struct ask *a, const char *step)
{
	why_cause(a->why, step, store_errmsg(a->p->st));
	a->failed = 1;
	return 1;
}

/* ask_one - the notice to one moderator, with their own token */
static int
ask_one(const struct member *m, void *arg)
{
	struct ask *a = arg;
	char token[41], extra[300];
	const char *vars[] = { "reason", a->reason, "sender", a->sender, NULL };

	if (!role_leads(m->role))
		return 0;
	if (confirm_token(a->p, a->l, "moderate", a->id, "", 0, m->addr, a->p->now + 30 * 86400LL, token, extra,
	    sizeof(extra)) < 0)
		return ask_failed(a, "a moderator's reply token");
	if (distribute_notice_tmpl(a->p, a->l, m->addr,
	    disclosure_hold_warns(a->l) ? NOTICE_HELD_PUBLISHED : NOTICE_HELD,
	    vars, ENV_NULL, extra, a->copy) < 0)
		return ask_failed(a, "a moderator's notice of the held post");
	a->n++;
	return 0;
}

/*
 * moderate_ask - tell every moderator and owner of l about held post id;
 * sender says how sure the list is of who sent it (authn_held_note).
 * How many were asked, or -1 with the cause in why (NULL: not wanted).
 */
int
moderate_ask(struct pipeline *p, const struct list_cfg *l,
    const char *held_id, const char *reason, const struct buf *copy,
    const char *sender, struct why *why)
{
	struct notice_ctx ctx = { l->name, p->cfg->hostname };
	char words[600];
	struct ask a = { p, l, held_id, words, sender, copy, why, 0, 0 };

	/* the hold's codes in the list's words ([held-CODE]) */
	audit_held_words(l->notices, p->cfg->notices, &ctx, reason, words,
	    sizeof(words));
	if (store_member_each(p->st, l->name, ask_one, &a) < 0) {
		why_cause(why, "the list's moderators", store_errmsg(p->st));
		return -1;
	}
	if (a.failed)
		return -1;
	return a.n;
}

/* the words of a decision, in the order of enum act_decision's use below */
static const struct reply_word decisions[] = {
	{ "approve", REPLY_BARE }, { "reject", REPLY_TEXT },
	{ "discard", REPLY_BARE },
};

/*
 * decision - the answer's first line, whole (pipeline/reply.c): approve |
 * reject REASON | discard; "Approve? No - discard it" is none of them
 */
static int
decision(const struct buf *msg, char *reason, size_t n)
{
	int w = reply_says((const char *)msg->data, msg->len, decisions,
	    sizeof(decisions) / sizeof(decisions[0]), reason, n);

	for (char *c = reason; *c; c++)
		if ((unsigned char)*c < 32)
			*c = ' ';
	return w == 0 ? ACT_APPROVE : w == 1 ? ACT_REJECT :
	    w == 2 ? ACT_DISCARD : -1;
}

/* leads - may the holder of a moderation token (its role now, from the take) still decide? */
static int
leads(const struct store_token *tok)
{
	/* no member now: the take leaves role at ROLE_MEMBER, which does not lead */
	return tok->operator || role_leads(tok->role);
}

/*
 * moderate_answer - a moderator's answer to LIST-confirm+TOKEN, the token
 * already taken (tokens.c). 1 handled, -1 store error. The token decides
 * only while the person it was issued to still moderates the list: a
 * demoted or expelled moderator's token does nothing, and the sender learns
 * no more than from a token that never existed.
 */
int
moderate_answer(struct pipeline *p, const struct list_cfg *l, const struct store_token *tok,
    const struct buf *msg)
{
	const char *id = tok->out_id;
	char reason[300], actor[200];
	struct act_ctx c = { 0 };
	struct buf out, err;
	int d, rc;

	if (!leads(tok)) {
		log_info("%s moderate: list=%s token of someone who no longer moderates the list; ignored "
		    "result=permfail", p->qid, l->name);
		return 1;
	}
	/* by mail the actor is the moderator's role, as leadership.visibility shows it; only mlistctl's is "operator" */
	if (tok->addr && !tok->operator)
		identity_leader_actor(p, l, tok->addr, actor, sizeof(actor));
	else
		snprintf(actor, sizeof(actor), "operator");	/* a token of the old mlistctl mod reject */
	if ((d = decision(msg, reason, sizeof(reason))) < 0) {
		log_info("%s moderate: list=%s answer without approve, reject or discard; ignored result=permfail",
		    p->qid, l->name);
		return 1;	/* the token is spent: another notice is not sent; mlistctl mod still works */
	}
	/* the decision itself is the same action as 'mlistctl mod' (actions/moderation.c) */
	buf_init(&out, 0);
	buf_init(&err, 0);
	c.p = p;
	c.actor = actor;
	c.out = &out;
	c.err = &err;
	rc = act_moderate(&c, l, id, (enum act_decision)d, reason);
	if (rc == ACT_FAILED)
		log_info("%s moderate: list=%s post %s: %.*s result=permfail", p->qid, l->name, id,
		    (int)strcspn(buf_cstr(&err), "\n"), buf_cstr(&err));
	buf_free(&out);
	buf_free(&err);
	return rc == ACT_ERROR ? -1 : 1;
}
