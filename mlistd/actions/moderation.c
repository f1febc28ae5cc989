/*
 * moderation.c - the decision on a held post: approve, reject, discard.
 *
 * One function for a moderator's answer by mail and for 'mlistctl mod':
 * the post is taken from the hold once (a second decision finds nothing),
 * an approved post goes through the same fan-out as every post (so on an
 * encryption = "required" list a member without a key gets a notice,
 * never the post), a rejection tells its author and, with
 * leadership.publish_rejections, the members learn of every reject and
 * discard. Each decision is audited under the actor the caller names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/actions.h"
#include "delivery/distribute.h"
#include "mail/archive.h"
#include "mail/header.h"
#include "pipeline/disclosure.h"
#include "pipeline/pgprelease.h"
#include "util/log.h"

#define NO_OWNER	"no owner or moderator"

/* a held copy as read: its bytes, or why they could not be read */
struct held {
	struct buf	 copy;
	struct buf	 why;
};

/*
 * held_read - the bytes of held copy id into h->copy, its envelope let
 * go; -1: unreadable, and h->why says so. The caller calls held_free.
 */
static int
held_read(struct pipeline *p, const char *id, struct held *h)
{
	struct envelope e;

	buf_init(&h->copy, 0);
	buf_init(&h->why, 0);
	if (spool_read(p->sp, SPOOL_OUT, id, &e, &h->copy, &h->why) != 0)
		return -1;
	envelope_free(&e);
	return 0;
}

/* held_free - what held_read filled, read or not */
static void
held_free(struct held *h)
{
	buf_free(&h->copy);
	buf_free(&h->why);
}

/* held_subject - the Subject of a held copy, or NULL */
static char *
held_subject(struct pipeline *p, const char *id)
{
	struct held h;
	struct hdr hd;
	char *subj = NULL;

	if (held_read(p, id, &h) == 0 &&
	    hdr_parse((const char *)h.copy.data, h.copy.len, &hd) == 0) {
		subj = hdr_get_value(&hd, "Subject");
		hdr_free(&hd);
	}
	held_free(&h);
	return subj;
}

/* to_roles - a post held for want of an owner goes to the owners now named */
static int
to_roles(struct act_ctx *c, const struct list_cfg *l, const char *id, int *n)
{
	struct held h;
	int rc;

	if (held_read(c->p, id, &h) != 0)
		rc = act_fail(c, ACT_ERROR, "held copy %s unreadable: %s", id,
		    buf_cstr(&h.why));
	else
		rc = distribute_roles_copy(c->p, l, h.copy.data, h.copy.len,
		    n) < 0 ? act_dberr(c) : ACT_DONE;
	held_free(&h);
	return rc;
}

/*
 * release - a held post goes to the members (and the archive); 1 done,
 * 0 unreadable, -1 error
 */
static int
release(struct pipeline *p, const struct list_cfg *l, const char *held_id,
    int *rcpts)
{
	struct held h;
	char out[QID_LEN + 1];
	int rc;

	if (held_read(p, held_id, &h) != 0) {
		log_err("%s moderate: list=%s held copy %s unreadable: %s",
		    p->qid, l->name, held_id, buf_cstr(&h.why));
		rc = 0;
	} else if ((rc = pgprelease_held(p, l, held_id, &h.copy, out)) >= 0)
		/* signed again if its pseudonym's key changed meanwhile */
		rc = distribute_members(p, l, out, rcpts) < 0 ||
		    archive_distributed(p->st, l, p->now, h.copy.data,
		    h.copy.len) < 0 ? -1 : 1;
	held_free(&h);
	return rc;
}

/* approve - the post goes to its audience; ACT_DONE with *n copies */
static int
approve(struct act_ctx *c, const struct list_cfg *l, const char *id, const char *why,
    int *n)
{
	int rc;

	if (strcmp(why, "confirm") == 0)
		return act_fail(c, ACT_FAILED, "post %s waits for its author's own confirmation; "
		    "only they can release it (you may discard it)", id);
	if (strcmp(why, NO_OWNER) == 0) {
		if ((rc = to_roles(c, l, id, n)) != ACT_DONE)
			return rc;
		if (*n == 0)
			return act_fail(c, ACT_FAILED, "post %s would reach nobody: %s has no owner "
			    "or moderator (member set ... role owner); it stays held", id, l->name);
		if (pipeline_drop_later(c->p, id) < 0)
			return act_dberr(c);
		return ACT_DONE;
	}
	if ((rc = release(c->p, l, id, n)) < 0)
		return act_dberr(c);
	if (rc == 0)
		return act_fail(c, ACT_ERROR, "held copy %s is unreadable", id);
	if (*n == 0 && l->encryption != ENC_REQUIRED)
		return act_fail(c, ACT_FAILED, "post %s would reach nobody: %s has no members who "
		    "receive mail; it stays held", id, l->name);
	return ACT_DONE;
}

/*
 * refuse - a reject or a discard. Who learns of it (the author, the
 * members under leadership.publish_rejections) disclosure decides: dissent
 * is never buried in silence, a discard no quieter way round the rule.
 */
static int
refuse(struct act_ctx *c, const struct list_cfg *l, const char *id, const char *author,
    enum act_decision d, const char *reason, int *n)
{
	struct notice_ctx ctx = { l->name, c->p->cfg->hostname };
	char none[2][200];
	const char *r = reason;
	int refusal = d == ACT_REJECT ? REFUSAL_REJECT : REFUSAL_DISCARD;
	char *subj;
	int rc;

	/* a fill-in is words too: the list's pieces give them */
	if (notice_piece_line(l->notices, c->p->cfg->notices, PIECE_NO_REASON,
	    &ctx, NULL, none[0], sizeof(none[0])) < 0 ||
	    notice_piece_line(l->notices, c->p->cfg->notices,
	    PIECE_NO_SUBJECT_PUBLISHED, &ctx, NULL, none[1],
	    sizeof(none[1])) < 0)
		return act_dberr(c);
	if (!*r)
		r = none[0];
	if (disclosure_refusal_published(l, refusal)) {
		const char *vars[] = { "subject", NULL, "reason", r, NULL };

		if ((subj = held_subject(c->p, id)) != NULL && strlen(subj) > 200)
			subj[200] = 0;	/* a line in the notice, not the whole header */
		vars[1] = subj ? subj : none[1];
		rc = distribute_announce_tmpl(c->p, l, d == ACT_REJECT ? NOTICE_REJECTION_PUBLISHED :
		    NOTICE_DISCARD_PUBLISHED, vars, n);
		free(subj);
		if (rc < 0)
			return act_dberr(c);
	}
	if (author && disclosure_refusal_author(l, refusal)) {
		const char *vars[] = { "reason", r, NULL };

		if (distribute_notice_tmpl(c->p, l, author, NOTICE_REJECTED, vars, ENV_NULL, "", NULL) < 0)
			return act_dberr(c);
	}
	return ACT_DONE;
}

/* say - what the operator reads */
static void
say(struct act_ctx *c, const char *id, enum act_decision d, int n)
{
	static const char *const done[] = { "approved", "rejected", "discarded" };

	if (c->json)
		buf_printf(c->out, "{\"%s\":\"%s\",\"recipients\":%d}\n", done[d], id, n);
	else if (d == ACT_APPROVE)
		buf_printf(c->out, "approved %s: %d deliveries queued\n", id, n);
	else if (d == ACT_REJECT)
		buf_printf(c->out, "rejected %s (the author is told)\n", id);
	else
		buf_printf(c->out, "discarded %s\n", id);
}

/* decide - take the post from the hold and act on the decision; ACT_DONE with *n copies */
static int
decide(struct act_ctx *c, const struct list_cfg *l, const char *id, enum act_decision d,
    const char *reason, int *n)
{
	static const char *const names[] = { "approve", "reject", "discard" };
	char why[64], *author;
	const char *vars[] = { "id", NULL, "why", NULL, NULL, reason, NULL };
	int rc;

	author = store_held_author(c->p->st, l->name, id);
	rc = store_held_take(c->p->st, l->name, id, why, sizeof(why));
	if (rc != STORE_OK) {
		free(author);
		return rc == STORE_NOTFOUND ? act_fail(c, ACT_FAILED, "no held post %s on %s (already "
		    "decided? see 'mlistctl mod ls %s')", id, l->name, l->name) : act_dberr(c);
	}
	if (d == ACT_APPROVE)
		rc = approve(c, l, id, why, n);
	else
		rc = refuse(c, l, id, author, d, reason, n);
	free(author);
	if (rc != ACT_DONE)
		return rc;
	if (d != ACT_APPROVE && pipeline_drop_later(c->p, id) < 0)
		return act_dberr(c);
	vars[1] = id;
	vars[3] = why;
	vars[4] = d == ACT_REJECT ? "reason" : NULL;
	return act_audit_code(c, l, names[d], names[d], vars);
}

/*
 * act_moderate - decide held post id of l. ACT_DONE; ACT_FAILED when it
 * is not held (already decided) or cannot be approved; ACT_ERROR. A
 * decision that fails leaves nothing behind, whatever the caller then does
 * with its own transaction: the post stays held (a moderator's answer by
 * mail commits the rest of that mail's work, and must not take the post
 * from the hold while saying it stays there).
 */
int
act_moderate(struct act_ctx *c, const struct list_cfg *l, const char *id,
    enum act_decision d, const char *reason)
{
	int n = 0, rc, nout = c->p->nout, ndrop = c->p->ndrop;

	if (!spool_id_valid(id))
		return act_fail(c, ACT_FAILED, "no held post %s on %s (see 'mlistctl mod ls %s')",
		    id, l->name, l->name);
	if (store_savepoint(c->p->st) < 0)
		return act_dberr(c);
	if ((rc = decide(c, l, id, d, reason, &n)) != ACT_DONE) {
		if (store_savepoint_end(c->p->st, 1) < 0)
			rc = act_dberr(c);
		pipeline_undo_since(c->p, nout, ndrop);
		return rc;
	}
	if (store_savepoint_end(c->p->st, 0) < 0)
		return act_dberr(c);
	log_info("%s moderate: list=%s post %s %s by the %s rcpts=%d result=ok", c->p->qid,
	    l->name, id, d == ACT_APPROVE ? "approved" : d == ACT_REJECT ? "rejected" : "discarded",
	    c->actor, n);
	say(c, id, d, n);
	return ACT_DONE;
}
