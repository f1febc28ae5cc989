/*
 * relay.c - mail the list passes on between people without showing either
 * address: a private reply to a pseudonym (LIST+p-HANDLE@), a moderator's
 * answer to someone who wrote to the moderators (LIST-owner+HANDLE@), an
 * announcement from the moderators as a role (LIST-owner+announce@), and
 * mail to the moderators themselves (LIST-owner@, and -request mail that
 * holds no command). Each is composed like a post, so the leak guard and
 * the signatures apply as they do to posts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery/distribute.h"
#include "mail/archive.h"
#include "mail/audit.h"
#include "mail/header.h"
#include "mail/pseudonym.h"
#include "pipeline/identity.h"
#include "leadership/confirm.h"
#include "pipeline/authn.h"
#include "pipeline/disclosure.h"
#include "pipeline/notify.h"
#include "pipeline/pgpin_key.h"
#include "pipeline/pgpin_thread.h"
#include "pipeline/pgpopen.h"
#include "pipeline/pgpwhy.h"
#include "pipeline/policy.h"
#include "pipeline/relay.h"
#include "pipeline/reply.h"
#include "pipeline/request.h"
#include "pipeline/sign.h"
#include "pipeline/tokens.h"
#include "pipeline/workpool.h"
#include "util/log.h"

#define REQUEST_ANSWERS_PER_HOUR	10
#define OWNER_MAILS_PER_HOUR		10	/* to LIST-owner@, per envelope */
#define PRIVATE_MAILS_PER_HOUR		20	/* to LIST+p-HANDLE@, per envelope */

/*
 * fields of a mail relayed to the moderators as it came that would make a
 * moderator's client write to the writer directly - a read receipt, a
 * reply - from the moderator's own address (a hidden leadership unmasked
 * by one mail); Reply-To is replaced by the list's handle
 */
static const char *const answer_fields[] = {
	"Reply-To", "Mail-Reply-To", "Mail-Followup-To",
	"Disposition-Notification-To", "Return-Receipt-To",
	"X-Confirm-Reading-To", "Read-Receipt-To", "Generate-Delivery-Report",
	NULL
};

/*
 * whom the writer copied in secret, where a client wrote it into the
 * mail: never shown to the moderators (round 9, finding 2)
 */
static const char *const secret_fields[] = { "Bcc", "Resent-Bcc" };

/* a relayed message on its way */
struct relay {
	const struct list_cfg	*l;
	const struct listaddr	*la;
	const struct envelope	*e;
	struct transform_out	 t;
	const char		*sender;	/* the From: claim (else the envelope sender) */
	int			 member;	/* an authenticated member (roles: moderator) */
	struct authn		 au;		/* who sent it, how sure */
	char			*target;	/* the address behind the handle */
	int			 gone;		/* no member behind it now */
	struct ident		 id;
	struct buf		 copy;
	char			 out_id[QID_LEN + 1];
	struct why		*why;
};

/* relay_free - what a relay holds */
static void
relay_free(struct relay *r)
{
	free(r->target);
	transform_out_free(&r->t);
	buf_free(&r->copy);
}

/* is_leader - a moderator or an owner */
static int
is_leader(const struct member *m)
{
	return role_leads(m->role);
}

/*
 * cheap_stranger - before any parse: no sender is authenticated, so nobody
 * here is a member (for roles: a moderator), and whatever the answer is,
 * nobody is told (a refusal goes only to an authenticated sender). Only a
 * private reply on a list where anyone may send them needs the parse.
 */
static int
cheap_stranger(const struct relay *r, int roles)
{
	return r->au.level < AUTHN_DKIM &&
	    (roles || r->l->private_replies != PRIV_ANYONE);
}

/*
 * relay_begin - find who sends it, then parse in the worker: the From: is
 * a member (for roles: a moderator) only when authn.c vouches for it;
 * anyone else is a stranger, whoever they name, and a stranger whose mail
 * can only be refused in silence is not parsed at all. OK go on, PERMFAIL
 * finished (unparseable: quarantined), TEMPFAIL retry (DNS included).
 */
static enum result
relay_begin(struct pipeline *p, struct relay *r, const struct buf *msg, const struct buf *parse,
    int *quarantine, int roles)
{
	const struct list_cfg *l = r->l;
	/* what is parsed may be the mail opened (pgpopen.c); its sender is judged on msg */
	struct transform_in tin = { p->cfg, l, p->qid, (const char *)parse->data, parse->len,
	    r->e->received, 0, 0, 1, 0 };
	struct member m;
	enum result rc;

	buf_init(&r->copy, 0);
	memset(&r->t, 0, sizeof(r->t));
	if ((rc = authn_check(p, r->e, msg, &r->au, r->why)) != OK)
		return rc;
	if (cheap_stranger(r, roles)) {
		r->sender = r->e->sender;	/* for the ban check */
		return OK;
	}
	if ((rc = workpool_transform(&tin, NULL, p->keys, &r->t)) != OK) {
		if (workpool_waiting())
			return rc;	/* parsed meanwhile; handled again */
		*quarantine = rc == PERMFAIL;
		log_info("%s qmgr: list=%s kind=private reason=unparseable result=%s", p->qid, l->name,
		    rc == PERMFAIL ? "permfail quarantined" : "tempfail");
		if (rc == TEMPFAIL)
			why_set(r->why, "transform: %s", r->t.reason);
		return rc;
	}
	r->sender = *r->t.from ? r->t.from : r->e->sender;
	if (authn_vouches(&r->au, r->sender) &&
	    store_member_find(p->st, l->name, r->sender, &m) == STORE_OK) {
		r->member = roles ? is_leader(&m) : 1;
		member_free(&m);
	}
	return OK;
}

/*
 * relay_dropped - loops, bounces, automatic mail and banned senders are
 * dropped unanswered: 1 dropped, 0 not, -1 the ban could not be checked
 */
static int
relay_dropped(struct pipeline *p, const struct relay *r)
{
	if (r->t.loop || r->t.bounce || r->t.automatic || r->au.automatic || *r->e->sender == 0)
		return 1;
	return store_banned(p->st, r->l->name, r->sender);
}

/* relay_unchecked - the ban could not be checked: the message waits (retried), nobody is told */
static enum result
relay_unchecked(struct pipeline *p, const struct relay *r)
{
	why_cause(r->why, "the ban check", store_errmsg(p->st));
	return TEMPFAIL;
}

/*
 * relay_refuse - an authenticated sender is told why (the piece `why`;
 * PIECE_N: dropped, nobody told); anyone else is told nothing, so that
 * nothing depends on whom they named. Always finished.
 */
static enum result
relay_refuse(struct pipeline *p, const struct relay *r, enum piece_id why)
{
	char to[400], reason[400];
	const char *vars[] = { "to", to, "reason", reason, NULL };

	if (why != PIECE_N &&
	    request_piece_line(p, r->l, why, reason, sizeof(reason)) == 0) {
		snprintf(to, sizeof(to), "%s+p-%s@%s", r->l->name, r->la->token,
		    p->cfg->hostname);
		(void)notify_sender_tmpl(p, r->l, authn_notice_to(&r->au, r->sender),
		    NOTICE_PRIVATE_REFUSED, vars);
	}
	log_info("%s qmgr: list=%s kind=private reason=%s auth=%s "
	    "result=permfail", p->qid, r->l->name,
	    why != PIECE_N ? "refused" : "dropped",
	    authn_level_name(r->au.level));
	return PERMFAIL;
}

/*
 * relay_remember - the copy's id and References chain recorded, so that
 * an answer to its encrypted copy gets them back (pgpin_thread.c)
 */
static enum result
relay_remember(struct pipeline *p, struct relay *r)
{
	if (pgpin_thread_remember(p, r->l, &r->copy) == 0)
		return OK;
	why_cause(r->why, "recording the copy's outer id",
	    store_errmsg(p->st));
	return TEMPFAIL;
}

/*
 * relay_compose - composed as the list composes posts (a private message
 * never shows an address, even on a real-name list), then the leak guard.
 * OK go on, PERMFAIL refused (told), TEMPFAIL retry.
 */
static enum result
relay_compose(struct pipeline *p, struct relay *r, int mode, const char *private_to)
{
	const struct list_cfg *l = r->l;
	char found[1000];
	const char *vars[] = { "found", found, NULL };

	memset(&r->id, 0, sizeof(r->id));
	r->id.mode = mode == ID_REAL ? ID_PSEUDONYM : mode;
	/* a reply to an encrypted copy: its parents' real ids (threads) */
	if (pgpin_thread_parents(p, l, &r->t) < 0) {
		why_cause(r->why, "the parents' outer ids",
		    store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (identity_compose(p, l, r->sender, r->id.mode, r->member, r->e->received, private_to,
	    &r->t, &r->copy, &r->id) < 0) {
		why_cause(r->why, "identity: composing the copy", store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (!l->leak_guard || identity_leaks(p, l, r->sender, r->e->sender, &r->t, &r->copy, &r->id,
	    found, sizeof(found)) <= 0)
		return r->gone ? OK : relay_remember(p, r);	/* gone: nothing kept */
	(void)notify_sender_tmpl(p, l, authn_notice_to(&r->au, r->sender),
	    NOTICE_PRIVATE_LEAK, vars);
	log_info("%s qmgr: list=%s kind=private reason=leak result=permfail", p->qid, l->name);
	return PERMFAIL;
}

/* relay_send - signed (author: sign_as, NULL none) and queued for the one address behind the handle */
static enum result
relay_send(struct pipeline *p, struct relay *r, int sign, const char *sign_as, const char *kind)
{
	const struct list_cfg *l = r->l;
	char why[300];
	const char *vars[] = { "reason", why, NULL };
	int k;

	if (sign && (k = sign_pseudonym(p, l, &r->id, &r->copy)) < 0) {
		/* a key librnp cannot make or rename: told once, no retry */
		if (k == SIGN_KEY_BROKEN) {
			notice_reason(l->notices, p->cfg->notices,
			    &(struct notice_ctx){ l->name, p->cfg->hostname },
			    REASON_PSEUDONYM_KEY, NULL, why, sizeof(why));
			(void)notify_sender_tmpl(p, l, authn_notice_to(&r->au,
			    r->sender), NOTICE_NOT_DISTRIBUTED, vars);
			log_info("%s qmgr: list=%s kind=%s "
			    "reason=pseudonym-key result=permfail", p->qid,
			    l->name, kind);
			return PERMFAIL;
		}
		why_cause(r->why, "sign: the pseudonym's OpenPGP signature",
		    store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (sign && sign_author_as(p, l, sign_as, &r->id, &r->copy) < 0) {
		why_cause(r->why, "sign: the author's signature", store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (sign_copy(p, l, &r->copy) < 0) {
		why_cause(r->why, "sign: the list's DKIM signature", store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (distribute_write(p, r->copy.data, r->copy.len, l->name, r->out_id) < 0) {
		why_set(r->why, "cannot write the copy to the spool");
		return TEMPFAIL;
	}
	if (distribute_private(p, l, r->out_id, r->target, ENV_GROUPED) < 0) {
		why_cause(r->why, "queueing the delivery", store_errmsg(p->st));
		return TEMPFAIL;
	}
	log_info("%s qmgr: list=%s kind=%s out=%s result=ok", p->qid, l->name, kind, r->out_id);
	return OK;
}

/* relay_finish - the handler's answer: a refusal or a leak is a finished message */
static enum result
relay_finish(struct relay *r, enum result rc)
{
	relay_free(r);
	return rc == TEMPFAIL ? TEMPFAIL : OK;
}

/* relay_why - the caller's why, prefixed with the address kind, from the relay's own */
static void
relay_why(struct why *out, const struct relay *r, const char *kind, const struct why *in, enum result rc)
{
	if (rc == TEMPFAIL)
		why_set(out, "list=%s %s: %s", r->l->name, kind, why_text(in));
}

/*
 * relay_open - how every relay handler opens: the relay set up, parsed and
 * its sender found (relay_begin); loops, bounces, automatic mail and
 * banned senders dropped unanswered. OK go on; anything else is the
 * handler's answer (the relay is safe to finish either way).
 */
static enum result
relay_open(struct pipeline *p, struct relay *r, const struct listaddr *la,
    const struct envelope *e, const struct buf *msg, const struct buf *parse,
    int *quarantine, int roles, struct why *cause)
{
	enum result rc;
	int dropped;

	memset(r, 0, sizeof(*r));
	r->l = la->list;
	r->la = la;
	r->e = e;
	r->why = cause;
	if ((rc = relay_begin(p, r, msg, parse ? parse : msg, quarantine,
	    roles)) != OK)
		return rc;
	if ((dropped = relay_dropped(p, r)) == 0)
		return OK;
	return dropped < 0 ? relay_unchecked(p, r) :
	    relay_refuse(p, r, PIECE_N);
}

/*
 * private_opened - mail encrypted to the pseudonym's own key (its Autocrypt
 * key), opened by the sandboxed worker into out (pgpopen.c): *got 1
 * opened, 0 not (it goes on as it came). TEMPFAIL: the worker is not done,
 * or the store failed (why set); PERMFAIL: the child crashed or ran out
 * of time opening it - quarantined, as a post its parser cannot read.
 */
static enum result
private_opened(struct pipeline *p, const struct listaddr *la,
    const struct buf *msg, struct buf *out, int *got, int *quarantine,
    struct why *why)
{
	struct openpgp_secret *key;
	char reason[200];
	enum result r;
	int rc;

	*got = 0;
	rc = sign_pseudonym_key_by_handle(p->st, la->list, la->token, &key);
	if (rc < 0) {
		why_set(why, "list=%s private reply: its key: %s",
		    la->list->name, store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (rc == 0)
		return OK;
	r = pgpopen_private(p, la->list, key, msg, out, got, reason,
	    sizeof(reason));
	openpgp_secret_free(key);
	if (r == TEMPFAIL && !workpool_waiting())
		why_set(why, "list=%s private reply: opening it: %s",
		    la->list->name, reason);
	if (r == PERMFAIL) {
		*quarantine = 1;
		log_info("%s qmgr: list=%s kind=private reason=unopenable "
		    "(%s) result=permfail quarantined", p->qid,
		    la->list->name, reason);
	}
	return r;
}

/*
 * relay_gone - a private reply to a handle no member answers to (any more):
 * dropped, for the admin's log only, and nothing said to the sender - a
 * refusal would tell members who left a list whose roster is hidden, so
 * to the sender it looks like a reply passed on
 */
static enum result
relay_gone(struct pipeline *p, const struct relay *r)
{
	log_info("%s qmgr: list=%s kind=private reason=gone auth=%s "
	    "result=permfail", p->qid, r->l->name,
	    authn_level_name(r->au.level));
	return PERMFAIL;
}

/*
 * private_flood - one envelope address sends private mail on a list at
 * most PRIVATE_MAILS_PER_HOUR times an hour (its authenticated mail
 * counts apart, as owner_flood's): the member behind a pseudonym cannot
 * block a sender whose address she never learns, and each mail costs a
 * parse, a signature and a delivery. 1 over it (dropped, logged), 0 not,
 * -1 the count cannot be read (cause in why).
 */
static int
private_flood(struct pipeline *p, const struct relay *r, struct why *why)
{
	char key[400];
	int n;

	snprintf(key, sizeof(key), "~private%s:%s",
	    authn_vouches(&r->au, r->e->sender) ? "-sure" : "", r->l->name);
	n = store_post_count(p->st, key, r->e->sender, p->now / 3600, 0);
	if (n < 0) {
		why_cause(why, "the private rate check", store_errmsg(p->st));
		return -1;
	}
	if (n >= PRIVATE_MAILS_PER_HOUR) {
		log_info("%s qmgr: list=%s kind=private dropped (%d an hour "
		    "from one address) result=permfail", p->qid, r->l->name,
		    PRIVATE_MAILS_PER_HOUR);
		return 1;
	}
	(void)store_post_count(p->st, key, r->e->sender, p->now / 3600, 1);
	return 0;
}

/*
 * relay_private - LIST+p-HANDLE@: to the member behind a pseudonym or an
 * anonymous post, from the sender's own pseudonym (or anonymously), so that
 * neither side learns the other's address.
 */
enum result
relay_private(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, int *quarantine, struct why *why)
{
	struct relay r;
	struct why cause = { "" };
	enum piece_id no = PIECE_N;
	struct buf opened;
	enum result rc;
	int k;

	buf_init(&opened, 0);
	if ((rc = private_opened(p, la, msg, &opened, &k, quarantine,
	    why)) != OK) {
		buf_free(&opened);
		return rc == TEMPFAIL ? TEMPFAIL : OK;	/* refused: finished */
	}
	rc = relay_open(p, &r, la, e, msg, k ? &opened : NULL, quarantine, 0, &cause);
	if (opened.data)
		sodium_memzero(opened.data, opened.cap);
	buf_free(&opened);
	if (rc != OK)
		goto done;
	if ((k = private_flood(p, &r, &cause)) != 0) {
		rc = k < 0 ? TEMPFAIL : PERMFAIL;
		goto done;
	}
	if (r.l->private_replies == PRIV_OFF)
		no = PIECE_PRIVATE_OFF;
	else if (r.l->private_replies == PRIV_MEMBERS && !r.member)
		no = PIECE_PRIVATE_MEMBERS;
	else if ((r.target = store_member_by_handle(p->st, r.l->name,
	    la->token, p->now)) == NULL)
		r.gone = 1;
	/*
	 * gone: composed and leak-guarded all the same, then dropped; a sender
	 * told of a leak only while someone is behind the handle learnt who
	 * left a hidden roster (attack11 F2)
	 */
	if (no != PIECE_N)
		rc = relay_refuse(p, &r, no);
	else if ((rc = relay_compose(p, &r, r.member ? identity_mode(p, r.l, r.sender, 1) :
	    ID_ANONYMOUS, la->token)) == OK)
		rc = r.gone ? relay_gone(p, &r) : relay_send(p, &r, r.member,
		    r.id.mode == ID_ANONYMOUS ? NULL : r.sender, "private");
done:
	relay_why(why, &r, "private reply", &cause, rc);
	return relay_finish(&r, rc);
}

/*
 * role_compose - a mail to a role address of the moderators, opened and
 * composed as "LIST moderators" (an answer names its member by token;
 * an announcement has none); one not from a moderator, or naming no
 * member, is refused with the piece no. OK: r is ready to go out.
 */
static enum result
role_compose(struct pipeline *p, struct relay *r, const struct listaddr *la,
    const struct envelope *e, const struct buf *msg, int *quarantine,
    struct why *cause, const char *token, enum piece_id no)
{
	enum result rc;

	rc = relay_open(p, r, la, e, msg, NULL, quarantine, 1, cause);
	if (rc != OK)
		return rc;
	if (!r->member || (token && (r->target = store_member_by_handle(p->st,
	    r->l->name, token, p->now)) == NULL))
		/* one text: whether the writer is a moderator is not theirs */
		return relay_refuse(p, r, no);
	return relay_compose(p, r, ID_ROLE, token);
}

/* answer_send - the moderators' answer, to its one member */
static enum result
answer_send(struct pipeline *p, struct relay *r, const struct buf *msg)
{
	(void)msg;
	return relay_send(p, r, 0, NULL, "owner-answer");
}

/* announce_send - signed with the role's key, to every member, archived and audited */
static enum result
announce_send(struct pipeline *p, struct relay *r)
{
	const struct list_cfg *l = r->l;
	char actor[200];
	int n = 0;

	if (sign_author(p, l, SIGN_ROLE, &r->copy) < 0 || sign_copy(p, l, &r->copy) < 0) {
		why_cause(r->why, "sign: the role's signature", store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (distribute_write(p, r->copy.data, r->copy.len, l->name, r->out_id) < 0) {
		why_set(r->why, "cannot write the copy to the spool");
		return TEMPFAIL;
	}
	if (distribute_members(p, l, r->out_id, &n) < 0 ||
	    archive_distributed(p->st, l, p->now, r->copy.data, r->copy.len) < 0) {
		why_cause(r->why, "queueing the deliveries", store_errmsg(p->st));
		return TEMPFAIL;
	}
	identity_leader_actor(p, l, r->sender, actor, sizeof(actor));
	if (audit_append_code(p->st, l->name, p->now, actor, "announce",
	    "announce", NULL) < 0) {
		why_cause(r->why, "the audit log", store_errmsg(p->st));
		return TEMPFAIL;
	}
	log_info("%s qmgr: list=%s kind=role-post rcpts=%d out=%s result=ok", p->qid, l->name, n,
	    r->out_id);
	return OK;
}

/*
 * announce_own_key - the moderator's own key signed it (not a replay): 1,
 * 0, or -1 when the store failed (the cause in r->why)
 */
static int
announce_own_key(struct pipeline *p, const struct relay *r,
    const struct buf *msg)
{
	struct authorship a;
	int own;

	if (policy_author(p, r->l, msg, &a) < 0) {
		why_cause(r->why, "the moderator's own key",
		    store_errmsg(p->st));
		return -1;
	}
	own = a.signed_by && !a.replay &&
	    strcasecmp(a.signed_by, r->sender) == 0;
	free(a.signed_by);
	return own;
}

/*
 * announce_confirm - a DKIM-aligned moderator: the moderators' voice goes
 * out only when that moderator's own mailbox confirms it (a domain's
 * signature says the domain sent it, not which of its users)
 */
static enum result
announce_confirm(struct pipeline *p, struct relay *r)
{
	const struct list_cfg *l = r->l;
	char held[400];

	if (sign_author(p, l, SIGN_ROLE, &r->copy) < 0 || sign_copy(p, l, &r->copy) < 0) {
		why_cause(r->why, "sign: the role's signature", store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (request_piece_line(p, l, PIECE_ANNOUNCE_HELD, held,
	    sizeof(held)) < 0 ||
	    confirm_request(p, l, r->sender, &r->copy, held, r->out_id) < 0) {
		why_cause(r->why, "the confirmation request", store_errmsg(p->st));
		return TEMPFAIL;
	}
	log_info("%s qmgr: list=%s kind=role-post held=confirm out=%s result=ok", p->qid, l->name,
	    r->out_id);
	return OK;
}

/* announce_go - sent at once if their own key signed it, else confirmed */
static enum result
announce_go(struct pipeline *p, struct relay *r, const struct buf *msg)
{
	int own = announce_own_key(p, r, msg);

	return own < 0 ? TEMPFAIL : own ? announce_send(p, r) :
	    announce_confirm(p, r);
}

/* a role address's mail: how it is refused, and sent once composed */
struct role_mail {
	const char	*kind;		/* its name in the log's why */
	int		 by_token;	/* names its member by the token */
	enum piece_id	 refused;	/* told one not a moderator */
	enum result	(*send)(struct pipeline *, struct relay *,
			    const struct buf *);
};

/* the role addresses' rows: the moderators' answer, their announcement */
enum { ROLE_ANSWER, ROLE_ANNOUNCE };
static const struct role_mail role_mails[] = {
	[ROLE_ANSWER] = { "moderators' answer", 1, PIECE_UNANSWERABLE,
	    answer_send },
	[ROLE_ANNOUNCE] = { "announcement", 0, PIECE_ANNOUNCE_MODERATORS,
	    announce_go },
};

/*
 * role_relay - the one path of the moderators' role addresses: composed
 * as "LIST moderators" (role_compose), then sent as m says
 */
static enum result
role_relay(struct pipeline *p, const struct listaddr *la,
    const struct envelope *e, const struct buf *msg, int *quarantine,
    struct why *why, const struct role_mail *m)
{
	struct relay r;
	struct why cause = { "" };
	enum result rc;

	if ((rc = role_compose(p, &r, la, e, msg, quarantine, &cause,
	    m->by_token ? la->token : NULL, m->refused)) == OK)
		rc = m->send(p, &r, msg);
	relay_why(why, &r, m->kind, &cause, rc);
	return relay_finish(&r, rc);
}

/*
 * relay_owner_answer - LIST-owner+HANDLE@: a moderator answering someone who
 * wrote to LIST-owner@; the answer goes out from "LIST moderators" and
 * names no moderator.
 */
enum result
relay_owner_answer(struct pipeline *p, const struct listaddr *la,
    const struct envelope *e, const struct buf *msg, int *quarantine,
    struct why *why)
{
	return role_relay(p, la, e, msg, quarantine, why,
	    &role_mails[ROLE_ANSWER]);
}

/*
 * relay_announce - LIST-owner+announce@: a post from the moderators as a
 * role, from an authenticated moderator; unless their own key signed it,
 * their mailbox confirms it first
 */
enum result
relay_announce(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, int *quarantine, struct why *why)
{
	return role_relay(p, la, e, msg, quarantine, why,
	    &role_mails[ROLE_ANNOUNCE]);
}

/*
 * ours - an address at the list's own host: a list copy's From (a
 * pseudonym, the moderators), nobody's mailbox to answer
 */
static int
ours(const struct pipeline *p, const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at && strcasecmp(at + 1, p->cfg->hostname) == 0;
}

/*
 * neutral_writer - whom the moderators' answer to an unverified writer
 * reaches: the From mailbox they would have seen (never an envelope that
 * differs from it: the forger's), unless that From is the list's own (a
 * list copy redirected to them): then whoever sent it, the envelope -
 * and nobody ("") if that is the list's own too: an answer to LIST-owner@
 * went to every moderator, one to the list was lost (round 10, F5)
 */
static void
neutral_writer(const struct pipeline *p, const struct envelope *e,
    const struct transform_out *t, char *out, size_t n)
{
	const char *w = *t->from && !ours(p, t->from) ? t->from : e->sender;

	snprintf(out, n, "%s", ours(p, w) ? "" : w);
}

/*
 * roles_mark - X-Mlist-Sender: not verified, the mark as_it_came puts on
 * mail whose From the list could not verify
 */
static int
roles_mark(struct pipeline *p, const struct list_cfg *l, struct buf *m)
{
	if (buf_puts(m, "X-Mlist-Sender: ") < 0 ||
	    notice_display(l->notices, p->cfg->notices,
	    PIECE_SENDER_UNVERIFIED, &(struct notice_ctx){ l->name,
	    p->cfg->hostname }, NULL, "not verified", 0, m) < 0 ||
	    buf_puts(m, "\r\n") < 0)
		return -1;
	return 0;
}

/*
 * roles_mode - how the moderators see the writer of t: ID_REAL as it came
 * (a real-name list's stranger, an authenticated stranger, a member who
 * writes under her address), the member's own mode when authn.c vouches
 * for her, and ROLES_NEUTRAL for anyone else on a list that is not
 * real-name: whatever the From claims (a member, a moderator, nobody),
 * the copy shows the same anonymous writer, so that a moderator who
 * forges a member's address learns nothing from it (round 9, finding 5)
 */
#define ROLES_NEUTRAL	(-2)
static int
roles_mode(struct pipeline *p, const struct list_cfg *l,
    const struct envelope *e, const struct authn *au,
    const struct transform_out *t)
{
	const char *sender = *t->from ? t->from : e->sender;
	struct member mb;
	int mode;

	if (*e->sender && authn_vouches(au, sender) &&
	    store_member_find(p->st, l->name, sender, &mb) == STORE_OK) {
		member_free(&mb);
		mode = identity_mode(p, l, sender, 1);
		if (mode == ID_REAL || (!t->loop && !t->automatic))
			return mode;
	} else if (*e->sender && authn_vouches(au, sender) &&
	    !ours(p, sender))
		return ID_REAL;	/* a stranger as herself */
	/*
	 * ours: a list copy redirected as it came, the list's own signature
	 * still good - its From speaks for the list, not for whoever sent
	 * it (round 9c, finding 2: as it came, with the redirector's
	 * Resent-From and Received lines)
	 */
	return l->identity == ID_REAL ? ID_REAL : ROLES_NEUTRAL;
}

/*
 * roles_compose - the copy for the moderators, from LIST-owner+HANDLE@ so
 * that their answers go back as "LIST moderators": under the member's
 * pseudonym or anonymous handle, or (ROLES_NEUTRAL) as an anonymous
 * writer marked not verified, the handle leading to neutral_writer.
 * Either way only what identity_compose writes goes: no trace fields.
 */
static enum result
roles_compose(struct pipeline *p, const struct list_cfg *l,
    const struct envelope *e, const struct authn *au,
    const struct transform_out *t, int mode, struct buf *out)
{
	char handle[24], to[26], who[ADDR_MAX + 1];
	const char *sender = *t->from ? t->from : e->sender;
	struct ident id;
	int member = mode != ROLES_NEUTRAL;

	if (!member)
		neutral_writer(p, e, t, who, sizeof(who));
	else
		snprintf(who, sizeof(who), "%s", e->sender);
	handle_generate(handle, sizeof(handle));
	snprintf(to, sizeof(to), "%c%s", IDENTITY_TO_ROLES, handle);
	memset(&id, 0, sizeof(id));
	if (*who && store_anon_add(p->st, l->name, handle, who,
	    p->now + 30 * 86400LL) != STORE_OK)
		return TEMPFAIL;
	if (!member && (!*who || !authn_vouches(au, who)) &&
	    roles_mark(p, l, out) < 0)
		return TEMPFAIL;
	if (identity_compose(p, l, member ? sender : who,
	    member ? mode : ID_ANONYMOUS, member, e->received, to, t, out,
	    &id) < 0 || sign_copy(p, l, out) < 0)
		return TEMPFAIL;
	return OK;
}

/*
 * roles_unread_note - a member whose From the list verified is told that
 * the moderators did not get her mail, and why, so that she does not
 * believe they have it (round 9c, F1); nobody else is told (no
 * backscatter, and nothing depends on whom an unverified From names)
 */
static enum result
roles_unread_note(struct pipeline *p, const struct list_cfg *l,
    const struct authn *au, const char *reason)
{
	const char *vars[] = { "reason", NULL, NULL };
	char words[300];
	const char *to;

	if (au->level < AUTHN_DKIM ||
	    !(to = authn_notice_to(au, au->from)))
		return OK;
	pgpwhy_words(l->notices, p->cfg->notices,
	    &(struct notice_ctx){ l->name, p->cfg->hostname }, reason,
	    REASON_UNREADABLE, words, sizeof(words));
	vars[1] = words;
	return notify_post_tmpl(p, l, to, NOTICE_ROLES_UNREADABLE, vars) < 0 ?
	    TEMPFAIL : OK;
}

/*
 * roles_unparsed - mail to the moderators the transform refused, on a list
 * that is not real-name: a stranger the list authenticated goes as it came
 * (as she would parsed: herself, never a list copy's From); anyone else's
 * is dropped and logged, never passed on with an address that may be a
 * member's; a verified member is told (roles_unread_note). *as "" or NULL.
 */
static enum result
roles_unparsed(struct pipeline *p, const struct list_cfg *l,
    const struct authn *au, const char **as, const char *reason)
{
	int herself = au->level == AUTHN_DKIM && *au->from &&
	    !ours(p, au->from);
	int rc = STORE_NOTFOUND;
	struct member mb;

	if (herself && (rc = store_member_find(p->st, l->name, au->from,
	    &mb)) == STORE_OK)
		member_free(&mb);
	if (rc == STORE_ERR)
		return TEMPFAIL;
	if (herself && rc == STORE_NOTFOUND)
		return OK;	/* *as "": as it came */
	*as = NULL;
	if (herself && roles_unread_note(p, l, au, reason) != OK)
		return TEMPFAIL;
	log_info("%s qmgr: list=%s to the moderators: reason=unparseable "
	    "(%s) result=permfail%s", p->qid, l->name, reason,
	    herself ? " noted" : "");
	return OK;
}

/*
 * roles_copy - mail to the moderators composed as the list composes posts
 * (roles_mode says as whom) into out; out stays empty when it goes as it
 * came (a real-name list's writers, moderators_see = address). *as says
 * which: "" as it came, " as=pseudonym", " as=neutral", or NULL dropped:
 * mail that cannot be parsed on a list that is not real-name is never
 * passed on as it came (logged).
 */
static enum result
roles_copy(struct pipeline *p, const struct list_cfg *l,
    const struct envelope *e, const struct buf *msg,
    const struct authn *au, struct buf *out, const char **as)
{
	struct transform_in tin = { p->cfg, l, p->qid,
	    (const char *)msg->data, msg->len, e->received, 0, 0, 1, 0 };
	struct transform_out t;
	enum result r;
	int mode;

	*as = "";
	if (!disclosure_owner_masked(l, DISCLOSURE_ANY_MODE))
		return OK;	/* moderators_see = address */
	/* a real-name list: only an authenticated member may be composed */
	if (l->identity == ID_REAL && (au->level < AUTHN_DKIM || !*e->sender))
		return OK;	/* a stranger's: as it came, unparsed */
	if ((r = workpool_transform(&tin, NULL, p->keys, &t)) != OK) {
		/* unparseable on a real-name list: it goes as it came */
		if (r == PERMFAIL)
			r = l->identity == ID_REAL ? OK :
			    roles_unparsed(p, l, au, as, t.reason);
		transform_out_free(&t);
		return r;
	}
	mode = roles_mode(p, l, e, au, &t);
	if (disclosure_owner_masked(l, mode)) {
		*as = mode == ROLES_NEUTRAL ? " as=neutral" : " as=pseudonym";
		r = roles_compose(p, l, e, au, &t, mode, out);
	}
	transform_out_free(&t);
	return r;
}

/* answer_field - a field that sends a reply or a receipt past the list */
static int
answer_field(const struct hdr_field *f)
{
	for (const char *const *n = answer_fields; *n; n++)
		if (hdr_is(f, *n))
			return 1;
	return hdr_is(f, "X-Mlist-Sender");	/* the list's own mark */
}

/*
 * who sent it, claimed: a client shows "SENDER on behalf of FROM", and
 * nobody verified it - a stranger's mail said the moderators sent it
 * (round 9b, finding 3; posts drop them, transform.c)
 */
static const char *const claim_fields[] = {
	"Sender", "Resent-From", "Resent-Sender"
};

/*
 * put_field - a field of the writer's mail for the moderators: To and Cc
 * renamed (X-Mlist-Original-To/-Cc), so that a moderator's Reply All
 * writes to none of them from her own address, and the claims of who
 * sent it, so that no client shows them; the rest as it came
 */
static void
put_field(struct buf *m, const struct hdr_field *f)
{
	if (hdr_is(f, "To") || hdr_is(f, "Cc") ||
	    hdr_is_any(f, claim_fields, 3))
		buf_puts(m, "X-Mlist-Original-");
	buf_append(m, f->start, f->len);
	if (f->start[f->len - 1] != '\n')
		buf_puts(m, "\r\n");
}

/*
 * writer - where the moderators' answer goes: the one From mailbox they
 * see (mail clients answer it too), else the envelope sender; never an
 * envelope that differs from a From nobody verified (the forger's), and
 * never the list's own address (neutral_writer's reason)
 */
static void
writer(const struct pipeline *p, const struct envelope *e,
    const struct buf *msg, char *out, size_t n)
{
	if (reply_from((const char *)msg->data, msg->len, out, n) < 0 ||
	    !*out || ours(p, out))
		snprintf(out, n, "%s", e->sender);
	if (ours(p, out))
		*out = 0;
}

/*
 * as_it_came - the writer's mail for the moderators: a handle of the
 * list's in Reply-To, nothing that answers past it (To: the moderators,
 * the writer's To and Cc renamed), and a mark when the list could not
 * verify the From (a header is a claim, #14)
 */
static enum result
as_it_came(struct pipeline *p, const struct list_cfg *l,
    const struct envelope *e, const struct buf *msg, const struct authn *au,
    struct buf *m)
{
	char handle[24], who[ADDR_MAX + 1];
	struct hdr h;

	buf_printf(m, "X-Loop: %s-owner@%s\r\n", l->name, p->cfg->hostname);
	if (hdr_parse((const char *)msg->data, msg->len, &h) < 0) {
		buf_append(m, msg->data, msg->len);
		return OK;
	}
	/* from <> too: anyone can write MAIL FROM:<> (round 8, finding 1) */
	writer(p, e, msg, who, sizeof(who));
	handle_generate(handle, sizeof(handle));
	if (*who && store_anon_add(p->st, l->name, handle, who,
	    p->now + 30 * 86400LL) != STORE_OK) {
		hdr_free(&h);
		return TEMPFAIL;
	}
	if ((!*who || !authn_vouches(au, who)) &&
	    (buf_puts(m, "X-Mlist-Sender: ") < 0 ||
	    notice_display(l->notices, p->cfg->notices,
	    PIECE_SENDER_UNVERIFIED, &(struct notice_ctx){ l->name,
	    p->cfg->hostname }, NULL, "not verified", 0, m) < 0 ||
	    buf_puts(m, "\r\n") < 0)) {
		hdr_free(&h);
		return TEMPFAIL;
	}
	if (*who)
		buf_printf(m, "Reply-To: <%s-owner+%s@%s>\r\n", l->name,
		    handle, p->cfg->hostname);
	for (int i = 0; i < h.n; i++)
		if (!answer_field(&h.f[i]) &&
		    !hdr_is_any(&h.f[i], secret_fields, 2))
			put_field(m, &h.f[i]);
	/* the moderators' Reply All goes to the handle and the list alone */
	buf_printf(m, "To: <%s-owner@%s>\r\n", l->name, p->cfg->hostname);
	buf_puts(m, "\r\n");
	buf_append(m, msg->data + h.body_off, msg->len - h.body_off);
	hdr_free(&h);
	return OK;
}

/* roles_sent - the copies went (n of them), or the mail is held for none */
static enum result
roles_sent(struct pipeline *p, const struct list_cfg *l, const char *kind,
    int n, const char *as)
{
	if (n == 0 && store_hold(p->st, p->out[p->nout - 1], l->name,
	    "no owner or moderator", NULL) != STORE_OK)
		return TEMPFAIL;
	log_info("%s qmgr: list=%s kind=%s relayed-to-roles=%d%s%s result=ok",
	    p->qid, l->name, kind, n, as, n ? "" : " held=no-owner");
	return OK;
}

/*
 * relay_to_roles - forward to owners and moderators (each gets their own
 * copy: none sees the others); held if there are none. The moderators'
 * answers go back through the list: Reply-To is replaced by
 * LIST-owner+HANDLE@, a handle for the writer kept 30 days, so a moderator
 * who answers is never seen by the writer.
 */
static enum result
relay_to_roles(struct pipeline *p, const struct list_cfg *l, const struct envelope *e, const struct buf *msg,
    const char *kind)
{
	struct why why = { "" };
	struct authn au;
	struct buf m;
	const char *as;
	int n = 0;
	enum result r;

	memset(&au, 0, sizeof(au));
	if (*e->sender && authn_check(p, e, msg, &au, &why) != OK) {
		/* a wait for DNS answers is no event: authn.c logs it */
		if (!authn_busy(p, p->qid))
			log_info("%s qmgr: list=%s to the moderators: %s "
			    "result=tempfail", p->qid, l->name, why_text(&why));
		return TEMPFAIL;
	}
	buf_init(&m, 0);
	if ((r = roles_copy(p, l, e, msg, &au, &m, &as)) != OK || !as ||
	    *as) {
		/* composed: the moderators see the writer as the list does */
		if (r == OK && as && distribute_roles_copy(p, l, m.data,
		    m.len, &n) < 0)
			r = TEMPFAIL;
		buf_free(&m);
		return r == OK && as ? roles_sent(p, l, kind, n, as) : r;
	}
	if ((r = as_it_came(p, l, e, msg, &au, &m)) == OK &&
	    distribute_roles_copy(p, l, m.data, m.len, &n) < 0)
		r = TEMPFAIL;
	buf_free(&m);
	return r == OK ? roles_sent(p, l, kind, n, "") : r;
}

/* looped - mail that already went through LIST-owner@ (X-Loop), or automatic; -1 unparseable */
static int
looped(struct pipeline *p, const struct list_cfg *l, const struct envelope *e, const struct buf *msg,
    int *automatic)
{
	struct hdr h;
	char loop[320], *v = NULL;
	int looped = 0;

	if (hdr_parse((const char *)msg->data, msg->len, &h) < 0)
		return -1;
	*automatic = hdr_automatic(&h) || *e->sender == 0;
	snprintf(loop, sizeof(loop), "%s-owner@%s", l->name, p->cfg->hostname);
	for (int i = 0; i < h.n; i++)
		if (hdr_is(&h.f[i], "X-Loop") && (v = hdr_value(&h.f[i])) != NULL) {
			looped |= strcasecmp(v, loop) == 0;
			free(v);
		}
	hdr_free(&h);
	return looped;
}

/* loop_check - OK go on, PERMFAIL a loop (logged), TEMPFAIL the headers could not be read */
static enum result
loop_check(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, int *automatic, struct why *why)
{
	int rc = looped(p, la->list, e, msg, automatic);

	if (rc < 0) {
		why_set(why, "list=%s %s: the headers cannot be parsed", la->list->name,
		    addr_kind_name(la->kind));
		return TEMPFAIL;
	}
	if (rc == 0)
		return OK;
	log_info("%s qmgr: list=%s kind=%s reason=loop result=permfail", p->qid, la->list->name,
	    addr_kind_name(la->kind));
	return PERMFAIL;
}

/* roles_result - relay_to_roles' answer, with a cause if it failed */
static enum result
roles_result(const struct listaddr *la, enum result r, struct why *why)
{
	if (r == TEMPFAIL)
		why_set(why, "list=%s %s: relaying to the moderators failed", la->list->name,
		    addr_kind_name(la->kind));
	return r;
}

/*
 * owner_flood - one envelope address writes to the moderators at most
 * OWNER_MAILS_PER_HOUR times an hour: past it the mail is dropped and
 * logged, so that nobody floods the leadership (each moderator gets a copy
 * of each) or the store (a handle each). Mail authenticated as that
 * address counts apart: a stranger who forges a member's address spends
 * only the claims' allowance, never the member's own. OK go on, PERMFAIL
 * dropped, TEMPFAIL not now.
 */
static enum result
owner_flood(struct pipeline *p, const struct list_cfg *l,
    const struct envelope *e, const struct buf *msg, struct why *why)
{
	struct authn au;
	char key[400];
	int n;

	memset(&au, 0, sizeof(au));
	if (*e->sender && authn_check(p, e, msg, &au, why) != OK)
		return TEMPFAIL;
	snprintf(key, sizeof(key), "~owner%s:%s",
	    authn_vouches(&au, e->sender) ? "-sure" : "", l->name);
	if ((n = store_post_count(p->st, key, e->sender, p->now / 3600, 0)) < 0) {
		why_cause(why, "the -owner rate check", store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (n >= OWNER_MAILS_PER_HOUR) {
		log_info("%s qmgr: list=%s kind=owner dropped (%d an hour from "
		    "one address) result=permfail", p->qid, l->name,
		    OWNER_MAILS_PER_HOUR);
		return PERMFAIL;
	}
	(void)store_post_count(p->st, key, e->sender, p->now / 3600, 1);
	return OK;
}

/* relay_owner - LIST-owner@: to the owners and moderators, each their own copy */
enum result
relay_owner(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, int *quarantine, struct why *why)
{
	enum result r;
	int automatic;

	(void)quarantine;
	if ((r = loop_check(p, la, e, msg, &automatic, why)) != OK)
		return r == PERMFAIL ? OK : r;
	if ((r = owner_flood(p, la->list, e, msg, why)) != OK)
		return r == PERMFAIL ? OK : r;
	r = relay_to_roles(p, la->list, e, msg, addr_kind_name(la->kind));
	return roles_result(la, r, why);
}

/* request_log - the commands answered, by name, for the log */
static void
request_log(struct pipeline *p, const struct list_cfg *l, unsigned cmds)
{
	static const char *const names[] = { "help", "keys", "key", "who", "archive-index",
	    "archive-get", "set-pseudonym", "set-identity", "subscribe", "unsubscribe",
	    "set-digest", "set-nomail", "confirm", "key-x25519", "audit",
	    "key-openpgp" };
	char list[200] = "";

	for (size_t b = 0; b < sizeof(names) / sizeof(names[0]); b++)
		if (cmds & (1u << b))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			    *list ? "," : "", names[b]);
	log_info("%s qmgr: list=%s kind=request commands=%s result=ok", p->qid, l->name, list);
}

/*
 * commands_in - the commands in a -request mail (said: the mail, or what
 * the worker opened of one encrypted to the list), answered (ten answers
 * an hour per address). 1 answered (or suppressed), 0 no command, -1 error.
 */
static int
commands_in(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, const struct buf *said, struct why *why)
{
	const struct list_cfg *l = la->list;
	struct request req;
	struct authn au;
	char key[400];
	int answered;
	unsigned cmds = request_parse((const char *)said->data, said->len,
	    &req);

	/* a key and its signatures are judged on the mail as it came */
	req.msg = (const char *)msg->data;
	req.msglen = msg->len;

	/* mail authenticated as its sender counts apart: a forger who
	 * spends a member's address's answers never silences her own */
	memset(&au, 0, sizeof(au));
	if (*e->sender && authn_check(p, e, msg, &au, why) != OK)
		return -1;
	snprintf(key, sizeof(key), "~request%s:%s",
	    authn_vouches(&au, e->sender) ? "-sure" : "", l->name);
	if ((answered = store_post_count(p->st, key, e->sender, p->now / 3600, 0)) < 0) {
		why_cause(why, "the -request rate check", store_errmsg(p->st));
		return -1;
	}
	if (answered >= REQUEST_ANSWERS_PER_HOUR) {
		log_info("%s qmgr: list=%s kind=request answer suppressed (%d an hour)", p->qid,
		    l->name, REQUEST_ANSWERS_PER_HOUR);
		return 1;
	}
	(void)store_post_count(p->st, key, e->sender, p->now / 3600, 1);
	if (cmds & CMD_CONFIRM) {
		/* "confirm TOKEN" in a mail to -request: as if mailed to LIST-confirm+TOKEN@ */
		struct listaddr ca = *la;

		ca.kind = ADDR_CONFIRM;
		snprintf(ca.token, sizeof(ca.token), "%s", req.token);
		if (tokens_handle(p, &ca, e, msg, why) < 0)
			return -1;
		req.cmds = cmds &= ~CMD_CONFIRM;
	}
	if (cmds != CMD_NONE) {
		if (request_answer(p, l, e, msg, &req, why) < 0)
			return -1;
		request_log(p, l, req.cmds);
		return 1;
	}
	if (req.token[0]) {
		log_info("%s qmgr: list=%s kind=request commands=confirm result=ok", p->qid, l->name);
		return 1;
	}
	return 0;
}

/*
 * request_commands - commands_in over the mail, or over what the worker
 * opened of it when it is encrypted to the list (its Subject is then a
 * protected header: pipeline/pgpin_key.c)
 */
static int
request_commands(struct pipeline *p, const struct listaddr *la,
    const struct envelope *e, const struct buf *msg, struct why *why)
{
	struct buf opened;
	int rc;

	buf_init(&opened, 0);
	if ((rc = pgpin_request_open(p, la->list, msg, &opened)) < 0)
		why_cause(why, "opening the encrypted mail",
		    store_errmsg(p->st));
	else
		rc = commands_in(p, la, e, msg, rc ? &opened : msg, why);
	sodium_memzero(opened.data, opened.cap);
	buf_free(&opened);
	return rc;
}

/*
 * relay_request - LIST-request@: commands are answered; a mail without any
 * goes to the owners (nothing is lost) and its sender gets the help
 */
enum result
relay_request(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, int *quarantine, struct why *why)
{
	const struct list_cfg *l = la->list;
	struct why cause = { "" };
	enum result r;
	int automatic, rc;

	(void)quarantine;
	if ((r = loop_check(p, la, e, msg, &automatic, why)) != OK)
		return r == PERMFAIL ? OK : r;
	if (!automatic) {
		if ((rc = request_commands(p, la, e, msg, &cause)) < 0) {
			why_set(why, "list=%s request: %s", l->name, why_text(&cause));
			return TEMPFAIL;
		}
		if (rc > 0)
			return OK;
		if (request_help(p, l, e, msg, PIECE_HELP_NO_COMMAND, why) < 0)
			return TEMPFAIL;
	}
	r = relay_to_roles(p, l, e, msg, addr_kind_name(la->kind));
	return roles_result(la, r, why);
}
