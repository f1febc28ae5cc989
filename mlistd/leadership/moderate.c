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
 * and the other moderators' tokens then find nothing to act on. Every
 * decision goes to the audit log under the role name "moderator".
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
	    "  discard          it does not, and nobody is told\n\n"
	    "The first moderator to answer decides; the decision is recorded in the list's audit log\n"
	    "under the role \"moderator\".", a->l->name, a->p->cfg->hostname, a->reason);
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
			d = 0;
		else if (len >= 7 && strncasecmp(p, "discard", 7) == 0)
			d = 2;
		else if (len >= 6 && strncasecmp(p, "reject", 6) == 0) {
			d = 1;
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

/*
 * moderate_answer - a moderator's answer to LIST-confirm+TOKEN, the token
 * already taken (tokens.c). 1 handled, -1 store error.
 */
int
moderate_answer(struct pipeline *p, const struct list_cfg *l, const struct store_token *tok,
    const struct buf *msg)
{
	static const char *const names[] = { "approve", "reject", "discard" };
	const char *id = tok->out_id;
	char why[64], reason[300], text[800], detail[420], *author, actor[200];
	int d, n = 0, rc;

	if (tok->addr)
		identity_leader_actor(p, l, tok->addr, actor, sizeof(actor));
	else
		snprintf(actor, sizeof(actor), "operator");	/* mlistctl mod reject */
	if ((d = decision(msg, reason, sizeof(reason))) < 0) {
		log_info("%s moderate: list=%s answer without approve, reject or discard; ignored result=permfail",
		    p->qid, l->name);
		return 1;	/* the token is spent: another notice is not sent; mlistctl mod still works */
	}
	author = store_held_author(p->st, l->name, id);
	if (store_held_take(p->st, l->name, id, why, sizeof(why)) != STORE_OK) {
		free(author);
		log_info("%s moderate: list=%s post %s already decided result=permfail", p->qid, l->name, id);
		return 1;
	}
	if (d == 0 && (rc = moderate_release(p, l, id, &n)) < 0) {
		free(author);
		return -1;
	}
	if (d == 1 && l->publish_rejections) {
		/* dissent is never buried in silence: the members learn what was rejected, and why */
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
		snprintf(text, sizeof(text), "The moderators rejected a post to the list.\n\n  Subject: %.200s\n"
		    "  Reason:  %s\n\nThis list publishes its rejections (leadership.publish_rejections).",
		    subj ? subj : "(none)", *reason ? reason : "(no reason given)");
		free(subj);
		buf_free(&copy);
		buf_free(&err);
		if (fanout_announce(p, l, "A post was rejected", text, &n) < 0) {
			free(author);
			return -1;
		}
	}
	if (d != 0)
		spool_remove(p->sp, SPOOL_OUT, id);
	if (d == 1 && author) {
		snprintf(text, sizeof(text), "Your post to %s@%s was not distributed. The moderators said:\n\n  %s",
		    l->name, p->cfg->hostname, *reason ? reason : "(no reason given)");
		if (fanout_notice(p, l, author, "Your post was rejected", text, ENV_NULL) < 0) {
			free(author);
			return -1;
		}
	}
	free(author);
	snprintf(detail, sizeof(detail), "held post %s (%s)%s%s", id, why, d == 1 ? ": " : "", d == 1 ? reason : "");
	if (audit_append(p->st, l->name, p->now, actor, names[d], detail) < 0)
		return -1;
	log_info("%s moderate: list=%s post %s %sd by a moderator rcpts=%d result=ok", p->qid, l->name, id,
	    d == 0 ? "approve" : d == 1 ? "reject" : "discard", n);
	return 1;
}
