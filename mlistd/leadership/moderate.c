/*
 * moderate.c - moderation by mail.
 *
 * When a post is held, every moderator and owner gets a notice of their
 * own (none sees the others' addresses, nor how many they are) with the
 * held copy attached - the copy as it would go out, so on a pseudonymous
 * list the moderator sees the pseudonym, and the author's address only
 * where disclosure.moderators_see = "address". Each notice carries a token
 * bound to that moderator and that post: replying "approve", "reject
 * REASON" or "discard" to LIST-confirm+TOKEN (a reply does that) acts once.
 * A forged reply has no token and does nothing; the first decision wins
 * and the other moderators' tokens then find nothing to act on; a token
 * decides only while its moderator still moderates the list. Every
 * decision goes to the audit log under the moderator's role (never
 * "operator", which only mlistctl's own decisions carry), and with
 * leadership.publish_rejections the members hear of every reject and
 * discard (moderate_decide, the one place a held post is decided by mail).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "leadership/confirm.h"
#include "delivery/fanout.h"
#include "mail/archive.h"
#include "mail/audit.h"
#include "mail/header.h"
#include "pipeline/identity.h"
#include "leadership/moderate.h"
#include "util/log.h"

struct ask {
	struct pipeline	*p;
	const struct list_cfg *l;
	const char	*id, *reason;
	const struct buf *copy;
	int		 n, failed;
};

/* ask_one - the notice to one moderator, with their own token */
static int
ask_one(const struct member *m, void *arg)
{
	struct ask *a = arg;
	char token[41], extra[300], text[1200];

	if (strcmp(m->role, "member") == 0)
		return 0;
	if (confirm_token(a->p, a->l, "moderate", a->id, "", 0, m->addr, a->p->now + 30 * 86400LL, token, extra,
	    sizeof(extra)) < 0) {
		a->failed = 1;
		return 1;
	}
	snprintf(text, sizeof(text), "A post to %s@%s is held for the moderators (%s). It is attached as it\n"
	    "would go out.\n\nReply to this message with one word on the first line:\n"
	    "  approve          it goes to the members\n"
	    "  reject REASON    it does not, and its author is told REASON\n"
	    "  discard          it does not, and its author is not told\n\n"
	    "The first moderator to answer decides; the decision is recorded in the list's audit log\n"
	    "under the role \"moderator\".%s", a->l->name, a->p->cfg->hostname, a->reason,
	    a->l->publish_rejections ? "\nThis list tells its members of every post rejected or discarded, "
	    "and why." : "");
	if (fanout_notice_attach(a->p, a->l, m->addr, "A post waits for moderation", text, extra, a->copy) < 0) {
		a->failed = 1;
		return 1;
	}
	a->n++;
	return 0;
}

/* moderate_ask - tell every moderator and owner of l about held post id */
int
moderate_ask(struct pipeline *p, const struct list_cfg *l, const char *held_id, const char *reason,
    const struct buf *copy, int real_author_shown)
{
	struct ask a = { p, l, held_id, reason, copy, 0, 0 };

	(void)real_author_shown;
	if (store_member_each(p->st, l->name, ask_one, &a) < 0 || a.failed)
		return -1;
	return a.n;
}

/* moderate_release - a held post goes to the members (and the archive) */
int
moderate_release(struct pipeline *p, const struct list_cfg *l, const char *held_id, int *rcpts)
{
	struct envelope e;
	struct buf copy, why;
	int rc;

	buf_init(&copy, 0);
	buf_init(&why, 0);
	if (spool_read(p->sp, SPOOL_OUT, held_id, &e, &copy, &why) != 0) {
		log_err("%s moderate: list=%s held copy %s unreadable: %s", p->qid, l->name, held_id, buf_cstr(&why));
		buf_free(&copy);
		buf_free(&why);
		return 0;
	}
	envelope_free(&e);
	rc = fanout_members(p, l, held_id, rcpts) < 0 || archive_distributed(p->st, l, p->now, copy.data, copy.len) < 0 ?
	    -1 : 1;
	buf_free(&copy);
	buf_free(&why);
	return rc;
}

/* decision - the first non-empty, unquoted line of the answer: approve | reject REASON | discard */
static int
decision(const struct buf *msg, char *reason, size_t n)
{
	const char *m = (const char *)msg->data, *nl, *p;
	struct hdr h;
	size_t off, len;
	int d = -1;

	reason[0] = 0;
	if (hdr_parse(m, msg->len, &h) < 0)
		return -1;
	for (off = h.body_off; off < msg->len; off = (size_t)(nl - m) + 1) {
		if ((nl = memchr(m + off, '\n', msg->len - off)) == NULL)
			nl = m + msg->len;
		for (p = m + off; p < nl && (*p == ' ' || *p == '\t'); p++)
			;
		len = (size_t)(nl - p);
		while (len && (p[len - 1] == '\r' || p[len - 1] == ' '))
			len--;
		if (len == 0 || *p == '>')
			continue;
		if (len >= 7 && strncasecmp(p, "approve", 7) == 0)
			d = MOD_APPROVE;
		else if (len >= 7 && strncasecmp(p, "discard", 7) == 0)
			d = MOD_DISCARD;
		else if (len >= 6 && strncasecmp(p, "reject", 6) == 0) {
			d = MOD_REJECT;
			for (p += 6, len -= 6; len && isspace((unsigned char)*p); p++, len--)
				;
			snprintf(reason, n, "%.*s", (int)(len < n ? len : n - 1), p);
			for (char *c = reason; *c; c++)
				if ((unsigned char)*c < 32)
					*c = ' ';
		}
		break;
	}
	hdr_free(&h);
	return d;
}

/* held_subject - the Subject of held post id, for a publication (a new string, or NULL) */
static char *
held_subject(struct pipeline *p, const char *id)
{
	struct envelope e;
	struct buf copy, err;
	struct hdr h;
	char *subj = NULL;

	buf_init(&copy, 0);
	buf_init(&err, 0);
	if (spool_read(p->sp, SPOOL_OUT, id, &e, &copy, &err) == 0) {
		envelope_free(&e);
		if (hdr_parse((const char *)copy.data, copy.len, &h) == 0) {
			subj = hdr_get_value(&h, "Subject");
			hdr_free(&h);
		}
	}
	buf_free(&copy);
	buf_free(&err);
	return subj;
}

/*
 * publish - leadership.publish_rejections: the members learn of every post
 * the moderators refused or dropped, and why. Dissent is never buried in
 * silence, and a discard is no quieter way round the rule than a reject.
 */
static int
publish(struct pipeline *p, const struct list_cfg *l, const char *id, int d, const char *reason, int *n)
{
	char text[800], *subj;
	int rc;

	if (!l->publish_rejections)
		return 0;
	subj = held_subject(p, id);
	if (d == MOD_REJECT)
		snprintf(text, sizeof(text), "The moderators rejected a post to the list.\n\n  Subject: %.200s\n"
		    "  Reason:  %s\n\nThis list publishes its rejections (leadership.publish_rejections).",
		    subj ? subj : "(none)", *reason ? reason : "(no reason given)");
	else
		snprintf(text, sizeof(text), "The moderators discarded a post to the list: it was not distributed "
		    "and\nits author was not told.\n\n  Subject: %.200s\n\nThis list publishes its rejections "
		    "and discards (leadership.publish_rejections).", subj ? subj : "(none)");
	free(subj);
	rc = fanout_announce(p, l, d == MOD_REJECT ? "A post was rejected" : "A post was discarded", text, n);
	return rc < 0 ? -1 : 0;
}

/* tell_author - a rejected post's author hears the moderators' reason */
static int
tell_author(struct pipeline *p, const struct list_cfg *l, const char *author, const char *reason)
{
	char text[800];

	snprintf(text, sizeof(text), "Your post to %s@%s was not distributed. The moderators said:\n\n  %s",
	    l->name, p->cfg->hostname, *reason ? reason : "(no reason given)");
	return fanout_notice(p, l, author, "Your post was rejected", text, ENV_NULL) < 0 ? -1 : 0;
}

/*
 * moderate_decide - held post id approved, rejected (the author is told
 * reason) or discarded, recorded in the audit log under actor; the members
 * hear of a reject or a discard where the list publishes them. 1 done, 0
 * already decided (or gone), -1 store error. *rcpts: copies queued.
 */
int
moderate_decide(struct pipeline *p, const struct list_cfg *l, const char *id, int d, const char *reason,
    const char *actor, int *rcpts)
{
	static const char *const names[] = { "approve", "reject", "discard" };
	char why[64], detail[420], *author;
	int n = 0, rc = 0;

	*rcpts = 0;
	if (d < MOD_APPROVE || d > MOD_DISCARD)
		abort();
	author = store_held_author(p->st, l->name, id);
	if (store_held_take(p->st, l->name, id, why, sizeof(why)) != STORE_OK) {
		free(author);
		return 0;
	}
	if (d == MOD_APPROVE)
		rc = moderate_release(p, l, id, &n) < 0 ? -1 : 0;
	else
		rc = publish(p, l, id, d, reason, &n);
	if (rc == 0 && d == MOD_REJECT && author)
		rc = tell_author(p, l, author, reason);
	free(author);
	if (rc < 0)
		return -1;
	if (d != MOD_APPROVE)
		spool_remove(p->sp, SPOOL_OUT, id);
	snprintf(detail, sizeof(detail), "held post %s (%s)%s%s", id, why, d == MOD_REJECT ? ": " : "",
	    d == MOD_REJECT ? reason : "");
	if (audit_append(p->st, l->name, p->now, actor, names[d], detail) < 0)
		return -1;
	*rcpts = n;
	return 1;
}

/* leads - may the holder of a moderation token (its role now, from the take) still decide? */
static int
leads(const char *role)
{
	return !strcmp(role, "moderator") || !strcmp(role, "owner") || !strcmp(role, "operator");
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
	int d, n = 0, rc;

	if (!leads(tok->role)) {
		log_info("%s moderate: list=%s token of someone who no longer moderates the list; ignored "
		    "result=permfail", p->qid, l->name);
		return 1;
	}
	/* by mail the actor is the moderator's role, as leadership.visibility shows it; only mlistctl's is "operator" */
	if (tok->addr && strcmp(tok->role, "operator") != 0)
		identity_leader_actor(p, l, tok->addr, actor, sizeof(actor));
	else
		snprintf(actor, sizeof(actor), "operator");	/* mlistctl mod reject */
	if ((d = decision(msg, reason, sizeof(reason))) < 0) {
		log_info("%s moderate: list=%s answer without approve, reject or discard; ignored result=permfail",
		    p->qid, l->name);
		return 1;	/* the token is spent: another notice is not sent; mlistctl mod still works */
	}
	if ((rc = moderate_decide(p, l, id, d, reason, actor, &n)) < 0)
		return -1;
	if (rc == 0) {
		log_info("%s moderate: list=%s post %s already decided result=permfail", p->qid, l->name, id);
		return 1;
	}
	log_info("%s moderate: list=%s post %s %s by a moderator rcpts=%d result=ok", p->qid, l->name, id,
	    d == MOD_APPROVE ? "approved" : d == MOD_REJECT ? "rejected" : "discarded", n);
	return 1;
}
