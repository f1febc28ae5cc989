/*
 * post.c - the post pipeline: what mail to LIST@ goes through, in order.
 *
 *   authenticate -> open -> authorship -> screen -> transform -> parents
 *        -> judge -> identity -> leak guard -> documents -> sign
 *        -> remember -> distribute
 *
 * Each stage is a function of struct post, listed in post_stages[] and run
 * in that order by post_handle; a new stage is one more row. A stage answers OK (go on), PERMFAIL (the post
 * is finished: refused, told, quarantined; the transaction commits) or
 * TEMPFAIL (the whole transaction is retried; the cause is in why). The
 * leak guard follows identity because it reads the composed copy.
 * Notices about a post go only to the mailbox of an authenticated sender
 * (authn.c): anyone else is told nothing, whoever they claim to be. One
 * note per post at most (post_note), however many of its parts failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery/distribute.h"
#include "leadership/confirm.h"
#include "leadership/moderate.h"
#include "leadership/unconfirmed.h"
#include "mail/archive.h"
#include "mail/audit.h"
#include "mail/sealed.h"
#include "pipeline/authn.h"
#include "pipeline/disclosure.h"
#include "pipeline/identity.h"
#include "pipeline/notify.h"
#include "pipeline/passrand.h"
#include "pipeline/pgpin.h"
#include "pipeline/pgpin_thread.h"
#include "pipeline/pgpwhy.h"
#include "pipeline/policy.h"
#include "pipeline/post.h"
#include "pipeline/sign.h"
#include "pipeline/workpool.h"
#include "util/log.h"
#include "util/mono.h"

/* one post on its way through the stages */
struct post {
	const struct list_cfg	*l;
	const struct envelope	*e;
	const struct buf	*msg;		/* as it came */
	int			 pgp;		/* to the list's OpenPGP key */
	struct pgpin_post	 pp;		/* its keys, for the worker */
	struct worker_pgp	 pg;
	struct authn		 au;		/* who sent it, how sure */
	struct authorship	 a;
	struct transform_in	 tin;
	struct transform_out	 t;
	int			 have_t;	/* t holds the worker's output */
	struct decision		 d;
	struct ident		 id;
	int			 judged;	/* hold, distribute or confirm: a copy is made */
	char			 out_id[QID_LEN + 1];
	int			 n;		/* recipients */
	int			 noted;		/* its one note is out */
	int			 judged_once;	/* the policy has spoken (d is set) */
	char			 from[ADDR_MAX + 1];	/* screen's */
	int			*quarantine;
	struct why		*why;
};

typedef enum result (*post_stage_fn)(struct pipeline *, struct post *);

/* the sequence: each stage's name in the log, and its function */
#define POST_STAGES \
	X("authenticate", post_authenticate) /* DKIM-aligned with From? */ \
	X("open", post_open)		/* encrypted to the list? */ \
	X("authorship", post_authorship) /* the member's own signature? */ \
	X("screen", post_screen)	/* silent verdicts, no parse */ \
	X("transform", post_transform)	/* parse, rewrite, in the worker */ \
	X("parents", post_parents)	/* replies to encrypted ones */ \
	X("judge", post_judge)		/* the policy: what becomes of it */ \
	X("identity", post_identity)	/* a pseudonymous or anonymous copy */ \
	X("leak-guard", post_leak_guard) /* does the copy name its author? */ \
	X("documents", post_documents)	/* ... or an attachment? */ \
	X("sign", post_sign)		/* author signature, list DKIM */ \
	X("remember", post_remember)	/* its outer id, for replies */ \
	X("distribute", post_distribute) /* hold, confirm, or queue copies */

#define X(name, fn)	static enum result fn(struct pipeline *, struct post *);
POST_STAGES
#undef X

static const struct post_stage {
	const char	*name;
	post_stage_fn	 fn;
} post_stages[] = {
#define X(name, fn)	{ name, fn },
	POST_STAGES
#undef X
};

#define POST_NSTAGES	(sizeof(post_stages) / sizeof(post_stages[0]))
/* a pass over a post longer than this is logged with its stages' times */
#define POST_SLOW_MS	100

/*
 * post_note - this post's one note to its author (to: NULL, nobody). A
 * member (or a sender not yet judged: the parser's and the opener's
 * notes) hears of every post, within a day's cap; someone found not to
 * be a member keeps the hourly limit of every other notice.
 */
static void
post_note(struct pipeline *p, struct post *o, const char *to, enum notice_id id,
    const char *const *vars)
{
	if (o->noted || !to)
		return;
	o->noted = 1;
	if (o->judged_once && !o->d.member)
		(void)notify_sender_tmpl(p, o->l, to, id, vars);
	else
		(void)notify_post_tmpl(p, o->l, to, id, vars);
}

/* verdict_judged - a copy of the post is made (held, confirmed or distributed) */
static int
verdict_judged(const struct decision *d)
{
	return d->verdict == V_HOLD || d->verdict == V_DISTRIBUTE || d->verdict == V_CONFIRM;
}

/*
 * post_authenticate - how sure we are of the From domain, on the message
 * as it arrived (a sealed post's outer header is what its domain signed).
 * DNS that cannot answer now: the post waits (TEMPFAIL), it never passes.
 */
static enum result
post_authenticate(struct pipeline *p, struct post *o)
{
	return authn_check(p, o->e, o->msg, &o->au, o->why);
}

/* early_to - before the From is parsed: the envelope sender, if its domain signed */
static const char *
early_to(const struct post *o)
{
	return authn_notice_to(&o->au, o->e->sender);
}

/*
 * post_open - a post encrypted to the list's OpenPGP key is marked to be
 * opened in the worker; one in the retired sealed format (mail/sealed.c)
 * is refused with a note. A list with encryption = "required" takes
 * nothing but OpenPGP.
 */
static enum result
post_open(struct pipeline *p, struct post *o)
{
	const struct list_cfg *l = o->l;
	int rc;

	/* OpenPGP: opened in the worker, with the key sent for this job only */
	if ((rc = pgpin_post_prepare(p, l, o->msg, &o->pp, &o->pg)) < 0) {
		why_cause(o->why, "the list's OpenPGP key",
		    store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (rc == 1) {
		o->pgp = 1;
		return OK;
	}
	o->pgp = rc == 2;	/* signed in clear: the worker checks it */
	if (sealed_is(o->msg->data, o->msg->len)) {
		post_note(p, o, early_to(o), NOTICE_SEALED_UNOPENABLE, NULL);
		log_info("%s qmgr: list=%s kind=post reason=sealed-retired "
		    "result=permfail", p->qid, l->name);
		return PERMFAIL;
	}
	if (l->encryption != ENC_REQUIRED)
		return OK;
	post_note(p, o, early_to(o), NOTICE_NOT_SEALED, NULL);
	log_info("%s qmgr: list=%s kind=post reason=not-sealed result=permfail", p->qid, l->name);
	return PERMFAIL;
}

/* post_authorship - whose own key signed it; what the worker may then change */
static enum result
post_authorship(struct pipeline *p, struct post *o)
{
	const struct list_cfg *l = o->l;
	struct transform_in tin = { p->cfg, l, p->qid, (const char *)o->msg->data, o->msg->len,
	    o->e->received, 0, 0, 0, 0 };

	/* on a delayed list the copy is dated, signed and archived at its release time */
	if (l->jitter_max > 0 || l->batch > 0)
		/*
		 * from now (the clock read here: the receipt's second is that of MAIL FROM,
		 * the turn's may be older): never released before the message arrived
		 */
		tin.received = p->release = distribute_release(l, (long long)time(NULL));
	if (policy_author(p, l, o->msg, &o->a) < 0) {
		why_cause(o->why, "the member's own key", store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (o->a.signed_by && !o->a.replay)
		authn_own_key(&o->au, o->a.signed_by);
	tin.intact = o->a.signed_by && !o->a.replay;
	/* DKIM-aligned or the member's own key (an opened post's is known later) */
	tin.authored = o->au.level >= AUTHN_DKIM;
	tin.want_real = config_identity_allowed(l, ID_REAL);
	tin.want_anon = config_identity_allowed(l, ID_PSEUDONYM) ||
	    config_identity_allowed(l, ID_ANONYMOUS);
	o->tin = tin;
	return OK;
}

/*
 * post_screen - the cheap checks before the parse (policy_screen_post): a
 * post the policy can only drop, or refuse without telling anyone (a
 * banned address; a stranger nobody vouches for, on a list for members),
 * is finished here and costs no parse. A post encrypted to the list goes
 * on: its signer, who may be a member, is known once it is opened.
 */
static enum result
post_screen(struct pipeline *p, struct post *o)
{
	int rc;

	if (o->pgp)
		return OK;
	rc = policy_screen_post(p, o->l, o->e, o->msg, &o->a, &o->au,
	    o->from, sizeof(o->from), &o->d);
	if (rc == 0)
		return OK;
	if (rc < 0) {
		why_cause(o->why, o->d.reason, store_errmsg(p->st));
		return TEMPFAIL;
	}
	o->judged_once = 1;
	log_info("%s qmgr: list=%s kind=post reason=%s auth=%s identity=real "
	    "rcpts=0 parse=skipped result=permfail", p->qid, o->l->name,
	    o->d.reason, authn_level_name(o->au.level));
	return PERMFAIL;
}

/* post_signed - an opened OpenPGP post signed by its member's registered key */
static enum result
post_signed(struct pipeline *p, struct post *o)
{
	if (pgpin_post_signed(p, o->l, &o->pp, &o->t, &o->a) < 0) {
		why_cause(o->why, "the OpenPGP signature's replay record",
		    store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (o->a.signed_by && !o->a.replay)
		authn_own_key(&o->au, o->a.signed_by);
	return OK;
}

/*
 * post_why - the worker's reason (or the engine's) in the list's words,
 * for a notice's {reason}; fallback words any other text (pgpwhy.c)
 */
static const char *
post_why(struct pipeline *p, const struct post *o, const char *reason,
    enum reason_id fallback, char *out, size_t n)
{
	struct notice_ctx ctx = { o->l->name, p->cfg->hostname };

	pgpwhy_words(o->l->notices, p->cfg->notices, &ctx, reason, fallback,
	    out, n);
	return out;
}

/*
 * post_sealed - a ciphertext opened on this list before is not opened
 * again: refused with the opener's note, as one that cannot be opened.
 * One signed by the From's own key is the signature's replay to judge
 * (post_signed): it counts for nothing there.
 */
static enum result
post_sealed(struct pipeline *p, struct post *o)
{
	const char *vars[] = { "reason", NULL, NULL };
	char words[300];
	int rc;

	if ((rc = pgpin_post_sealed_seen(p, o->l, &o->t)) < 0) {
		why_cause(o->why, "the OpenPGP message's replay record",
		    store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (rc == 0 || o->t.pgp_verified)
		return OK;
	log_info("%s qmgr: list=%s kind=post reason=openpgp-replayed "
	    "result=permfail", p->qid, o->l->name);
	vars[1] = post_why(p, o, "@pgp-replayed", REASON_PGP_REPLAYED, words,
	    sizeof(words));
	post_note(p, o, early_to(o), NOTICE_PGP_UNOPENABLE, vars);
	return PERMFAIL;
}

/* post_transform - parse and rewrite in the sandboxed worker; unparseable mail is kept aside */
static enum result
post_transform(struct pipeline *p, struct post *o)
{
	const struct list_cfg *l = o->l;
	const char *vars[] = { "reason", NULL, NULL };
	char words[300];
	enum result r;

	r = workpool_transform(&o->tin, o->pgp ? &o->pg : NULL, p->keys,
	    &o->t);
	o->have_t = 1;
	pgpin_post_free(&o->pp);	/* the worker's keys no longer */
	if (p->release)
		/* the date the kept parse was made with */
		p->release = o->tin.received;
	if (r == TEMPFAIL) {
		why_set(o->why, "%s", o->t.reason);
		return TEMPFAIL;
	}
	if (r == OK && o->t.pgp != 1 && l->encryption == ENC_REQUIRED) {
		/* it looked encrypted, but only quoted someone else's block */
		post_note(p, o, early_to(o), NOTICE_NOT_SEALED, NULL);
		log_info("%s qmgr: list=%s kind=post reason=not-sealed "
		    "result=permfail", p->qid, l->name);
		return PERMFAIL;
	}
	if (r == OK && (r = post_sealed(p, o)) != OK)
		return r;
	if (r == OK)
		return post_signed(p, o);
	if (o->t.pgp < 0) {
		/* refused with a note, never distributed, not quarantined */
		log_info("%s qmgr: list=%s kind=post "
		    "reason=openpgp-undecryptable result=permfail", p->qid,
		    l->name);
		vars[1] = post_why(p, o, o->t.reason, REASON_PGP_UNOPENED,
		    words, sizeof(words));
		/* the opener's note: every post, within the day's cap */
		post_note(p, o, early_to(o), NOTICE_PGP_UNOPENABLE, vars);
		return PERMFAIL;
	}
	log_info("%s qmgr: list=%s kind=post reason=unparseable (%s) result=permfail quarantined",
	    p->qid, l->name, o->t.reason);
	vars[1] = post_why(p, o, o->t.reason, REASON_UNREADABLE, words,
	    sizeof(words));
	post_note(p, o, early_to(o), NOTICE_UNPROCESSABLE, vars);
	*o->quarantine = 1;
	return PERMFAIL;
}

/*
 * post_parents - a reply names its parent by the outer id of an encrypted
 * copy: members reading in clear get the real id (pgpin_thread.c)
 */
static enum result
post_parents(struct pipeline *p, struct post *o)
{
	if (pgpin_thread_parents(p, o->l, &o->t) < 0) {
		why_cause(o->why, "the parents' outer ids",
		    store_errmsg(p->st));
		return TEMPFAIL;
	}
	return OK;
}

/* post_judge - the policy's verdict, and the identity the copy will carry */
static enum result
post_judge(struct pipeline *p, struct post *o)
{
	policy_check_post(p, o->l, o->e, &o->t, &o->a, &o->au, o->msg->len, &o->d);
	o->judged_once = 1;
	if (o->d.verdict == V_TEMPFAIL) {
		why_cause(o->why, "the policy's checks", store_errmsg(p->st));
		return TEMPFAIL;
	}
	o->judged = verdict_judged(&o->d);
	/* the member's client may send their key again, its expiry extended */
	if (o->d.member && authn_vouches(&o->au, o->d.poster) &&
	    pgpin_key_refresh(p, o->l, o->d.poster, o->msg) < 0) {
		why_cause(o->why, "the member's OpenPGP key",
		    store_errmsg(p->st));
		return TEMPFAIL;
	}
	memset(&o->id, 0, sizeof(o->id));
	o->id.mode = o->judged ? identity_mode(p, o->l, o->d.poster, o->d.member) : ID_REAL;
	return OK;
}

/*
 * removed_words - the worker's lines of what it took out ("@CODE" each:
 * rewrite.c) in the list's words, "- " and a piece [part-CODE] a line,
 * into out for a notice's {parts}; a line without a piece is left out
 */
static void
removed_words(struct pipeline *p, const struct post *o, const char *lines,
    char *out, size_t n)
{
	struct notice_ctx ctx = { o->l->name, p->cfg->hostname };
	char line[600], words[600];
	size_t len, k;

	*out = 0;
	for (; *lines; lines += k + (lines[k] == '\n')) {
		k = strcspn(lines, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)k, lines);
		if (audit_words(o->l->notices, p->cfg->notices, &ctx, "part-",
		    line, words, sizeof(words)) < 0)
			continue;
		len = strlen(out);
		snprintf(out + len, n - len, "- %s\n", words);
	}
}

/*
 * nothing_left - a post of which nothing could be passed on is never sent
 * as an empty shell: it is kept aside, and its author told what went
 */
static enum result
nothing_left(struct pipeline *p, struct post *o)
{
	char parts[1000];
	const char *vars[] = { "parts", parts, NULL };
	const struct buf *r = &o->t.part[TP_REMOVED];

	char lines[1000];

	snprintf(lines, sizeof(lines), "%.*s", (int)r->len,
	    r->len ? (const char *)r->data : "@every-part\n");
	removed_words(p, o, lines, parts, sizeof(parts));
	log_info("%s qmgr: list=%s kind=post reason=nothing-left "
	    "result=permfail quarantined", p->qid, o->l->name);
	post_note(p, o, authn_notice_to(&o->au, o->d.poster),
	    NOTICE_NOTHING_LEFT, vars);
	*o->quarantine = 1;
	return PERMFAIL;
}

/* post_identity - on a pseudonymous or anonymous copy, compose it from the worker's parts */
static enum result
post_identity(struct pipeline *p, struct post *o)
{
	struct buf copy;

	/* a munged From shows who the list knows, not what the post claims */
	if (o->id.mode == ID_REAL && o->judged && o->l->munge_from &&
	    !o->tin.intact && identity_munged_from(p, o->l, o->d.poster,
	    o->d.member, &o->t.rendered) < 0) {
		why_cause(o->why, "the munged From", store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (o->id.mode == ID_REAL)
		return OK;
	if (o->judged && o->t.part[TP_EMPTY].len)
		return nothing_left(p, o);
	if (!o->tin.want_anon) {
		why_set(o->why, "no parts for a %s copy (the list allows no such mode)",
		    config_identity_name(o->id.mode));
		return TEMPFAIL;
	}
	buf_init(&copy, 0);
	if (identity_compose(p, o->l, o->d.poster, o->id.mode, o->d.member,
	    p->release ? p->release : o->e->received, NULL,
	    &o->t, &copy, &o->id) < 0) {
		buf_free(&copy);
		why_cause(o->why, "composing the copy", store_errmsg(p->st));
		return TEMPFAIL;
	}
	buf_free(&o->t.rendered);
	o->t.rendered = copy;
	return OK;
}

/*
 * post_leak_guard - a composed copy that names its author is not sent: the
 * author is asked to confirm (or, for a post that would go to the
 * moderators, told to send it again without it)
 */
static enum result
post_leak_guard(struct pipeline *p, struct post *o)
{
	const struct list_cfg *l = o->l;
	struct decision *d = &o->d;
	char found[sizeof(d->arg)];

	if (o->id.mode == ID_REAL || !l->leak_guard || identity_leaks(p, l, d->poster, o->e->sender,
	    &o->t, &o->t.rendered, &o->id, found, sizeof(found)) <= 0)
		return OK;
	d->reason = "leak";
	if (d->verdict == V_HOLD) {
		d->verdict = V_REFUSE;
		d->notice = NOTICE_REFUSED_LEAK;
	} else {
		d->verdict = V_CONFIRM;
		d->notice = NOTICE_CONFIRM_POST_LEAK;	/* the confirmation request says it */
	}
	d->var = "found";
	snprintf(d->arg, sizeof(d->arg), "%s", found);
	o->judged = verdict_judged(d);
	return OK;
}

/*
 * post_documents - a document whose properties name its author (PDF
 * Author, ODF meta.xml, OOXML core.xml) would name them to every member of
 * a pseudonymous or anonymous list: refused by default (a hold would show
 * that name to the moderators, who may not see who posts), or held when
 * the list says documents_with_author = "hold".
 */
static enum result
post_documents(struct pipeline *p, struct post *o)
{
	struct decision *d = &o->d;
	const struct buf *doc = &o->t.part[TP_DOCUMENT];
	int policy = o->l->documents;
	size_t n;

	(void)p;
	if (o->id.mode == ID_REAL || !o->judged || doc->len == 0)
		return OK;
	if (policy == DOC_CONFIRM && d->verdict == V_CONFIRM &&
	    d->notice == NOTICE_CONFIRM_POST_LEAK) {
		/* the leak guard asks already: the same request names both */
		d->reason = "leak,document";
		n = strlen(d->arg);
		snprintf(d->arg + n, sizeof(d->arg) - n, "\n%.*s",
		    (int)doc->len, (const char *)doc->data);
		return OK;
	}
	/*
	 * confirm (the default) is the leak guard's way: the author is told
	 * which field names them and decides; on a moderated list that would
	 * show the moderators the name first, so it is refused there
	 */
	if (policy == DOC_CONFIRM)
		policy = d->verdict == V_HOLD ? DOC_REFUSE : DOC_CONFIRM;
	d->reason = "document";
	d->verdict = policy == DOC_HOLD ? V_HOLD : policy == DOC_CONFIRM ?
	    V_CONFIRM : V_REFUSE;
	d->notice = policy == DOC_HOLD ? NOTICE_HELD_DOCUMENT :
	    policy == DOC_CONFIRM ? NOTICE_CONFIRM_POST_LEAK :
	    NOTICE_REFUSED_DOCUMENT;
	d->var = "found";
	snprintf(d->arg, sizeof(d->arg), "%.*s", (int)doc->len,
	    (const char *)doc->data);
	o->judged = verdict_judged(d);
	return OK;
}

/*
 * key_broken - the pseudonym's key cannot be made or renamed (librnp, in
 * the log): a retry would fail alike for ever, so the post is refused and
 * its author told once, not retried unseen
 */
static enum result
key_broken(struct pipeline *p, struct post *o)
{
	o->d.verdict = V_REFUSE;
	o->d.reason = reason_code(REASON_PSEUDONYM_KEY);
	o->d.notice = NOTICE_NOT_DISTRIBUTED;
	o->d.var = "reason";
	notice_reason(o->l->notices, p->cfg->notices, &(struct notice_ctx){
	    o->l->name, p->cfg->hostname }, REASON_PSEUDONYM_KEY, NULL,
	    o->d.arg, sizeof(o->d.arg));
	o->judged = 0;
	return OK;
}

/*
 * sign_copy_of - a member's own signature stays as it is on a
 * real-identity copy. Elsewhere the list signs for the author: the
 * member's key on this list (pseudonyms), or a key used once (anonymous).
 * Then the list's DKIM.
 */
static enum result
sign_copy_of(struct pipeline *p, struct post *o)
{
	const struct decision *d = &o->d;
	int k;

	if (!o->judged)
		return OK;
	/* a pseudonym's own OpenPGP signature, inside the list's (#18) */
	if (d->member && (k = sign_pseudonym(p, o->l, &o->id,
	    &o->t.rendered)) < 0) {
		if (k == SIGN_KEY_BROKEN)
			return key_broken(p, o);
		why_cause(o->why, "the pseudonym's OpenPGP signature",
		    store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (d->member && (o->id.mode != ID_REAL || !d->own_signed)) {
		/* the author's, then the list's, over one hash of the body */
		if (sign_both(p, o->l, o->id.mode == ID_ANONYMOUS ? NULL :
		    d->poster, &o->id, &o->t.rendered) < 0) {
			why_cause(o->why, "the author's or the list's signature",
			    store_errmsg(p->st));
			return TEMPFAIL;
		}
		return OK;
	}
	if (sign_copy(p, o->l, &o->t.rendered) < 0) {
		why_cause(o->why, "the list's DKIM signature", store_errmsg(p->st));
		return TEMPFAIL;
	}
	return OK;
}

/*
 * post_sign - the copy signed (sign_copy_of). A pass made again (rolled
 * back after this stage: another list's parse, a failure) says whether
 * it made the very bytes of its pass before: what its passes draw and
 * their signatures' time are the message's (passrand.c, #15).
 */
static enum result
post_sign(struct pipeline *p, struct post *o)
{
	const struct buf *c = &o->t.rendered;
	enum result r = sign_copy_of(p, o);
	int same;

	if (r != OK || !o->judged)
		return r;
	if ((same = passrand_same(o->l->name, c->data, c->len)) >= 0)
		log_info("%s qmgr: list=%s pass made again: %s copy", p->qid,
		    o->l->name, same ? "the same" : "a different");
	return OK;
}

/*
 * post_remember - a copy that will go out (now, or when released): the
 * outer id its encrypted copies show, kept to map replies back
 */
static enum result
post_remember(struct pipeline *p, struct post *o)
{
	if (o->judged && pgpin_thread_remember(p, o->l, &o->t.rendered) < 0) {
		why_cause(o->why, "the copy's outer id", store_errmsg(p->st));
		return TEMPFAIL;
	}
	return OK;
}

/* tell_author - the verdict's notice (if any) to whoever may be told */
static void
tell_author(struct pipeline *p, struct post *o)
{
	const char *vars[] = { o->d.var, o->d.arg, NULL };

	if (o->d.notice == NOTICE_N)
		return;
	post_note(p, o, authn_notice_to(&o->au, o->d.poster), o->d.notice,
	    o->d.var ? vars : NULL);
}

/* post_hold - to the moderators; the author (sealed) waits with it to hear a rejection */
static enum result
post_hold(struct pipeline *p, struct post *o)
{
	const struct list_cfg *l = o->l;
	const struct buf *c = &o->t.rendered;
	struct why asked = { "" };
	struct buf sure;

	if (distribute_write(p, c->data, c->len, l->name, o->out_id) < 0) {
		why_set(o->why, "cannot write the held copy to the spool");
		return TEMPFAIL;
	}
	if (store_hold(p->st, o->out_id, l->name, o->d.reason, o->d.poster) != STORE_OK) {
		why_cause(o->why, "holding the post", store_errmsg(p->st));
		return TEMPFAIL;
	}
	/*
	 * the author is shown to the moderators only as
	 * disclosure.moderators_see says, and with how sure the list is that
	 * they sent it (authn)
	 */
	buf_init(&sure, 0);
	if (authn_held_note(p, l, &o->au, o->d.poster, &sure) < 0) {
		buf_free(&sure);
		why_cause(o->why, "how sure the list is of the sender",
		    store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (moderate_ask(p, l, o->out_id, o->d.reason, c, buf_cstr(&sure),
	    &asked) < 0) {
		buf_free(&sure);
		why_cause(o->why, "asking the moderators", why_text(&asked));
		return TEMPFAIL;
	}
	buf_free(&sure);
	if (o->d.member)
		policy_count_post(p, l, o->d.poster);
	tell_author(p, o);
	return OK;
}

/* post_to_members - the copy, queued for every member */
static enum result
post_to_members(struct pipeline *p, struct post *o)
{
	const struct list_cfg *l = o->l;
	const struct buf *c = &o->t.rendered;

	if (distribute_write(p, c->data, c->len, l->name, o->out_id) < 0) {
		why_set(o->why, "cannot write the copy to the spool");
		return TEMPFAIL;
	}
	if (distribute_members(p, l, o->out_id, &o->n) < 0) {
		why_cause(o->why, "queueing the deliveries", store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (archive_distributed(p->st, l, p->release ? p->release : p->now, c->data, c->len) < 0) {
		why_cause(o->why, "the archive", store_errmsg(p->st));
		return TEMPFAIL;
	}
	policy_count_post(p, l, o->d.poster);
	return OK;
}

/* rewrite.c's lines (codes) for the author's own signature */
static const char *const own_signature[] = {
	"@own-signature\n",
	"@pgp-signature\n",
	NULL
};

/* cut_own_signature - rewrite.c's lines for it out of parts; 1 if any */
static int
cut_own_signature(char *parts)
{
	char *line;
	int cut = 0;

	for (int i = 0; own_signature[i]; i++)
		while ((line = strstr(parts, own_signature[i])) != NULL) {
			size_t k = strlen(own_signature[i]);

			memmove(line, line + k, strlen(line + k) + 1);
			cut = 1;
		}
	return cut;
}

/*
 * signature_replaced - the author's own OpenPGP signature was replaced by
 * the pseudonym's (#18): they are told once per list, never again; the
 * line goes from parts, which the parts-removed notice still lists
 */
static void
signature_replaced(struct pipeline *p, struct post *o, const char *to,
    char *parts)
{
	const char *vars[] = { "pseudonym", o->id.display, NULL };
	char key[200];

	if (o->id.mode != ID_PSEUDONYM || !*o->id.handle ||
	    !cut_own_signature(parts))
		return;
	if (to == NULL)
		return;	/* nobody we may tell: not "told" either */
	snprintf(key, sizeof(key), "~pgp-signature:%s", o->l->name);
	if (store_post_count(p->st, key, o->d.poster, 0, 0) != 0)
		return;	/* told before (or the count is unreadable) */
	/* "told" only once it is on its way: the hourly limit may drop it */
	if (notify_sender_tmpl(p, o->l, to, NOTICE_SIGNATURE_REPLACED,
	    vars) == 1)
		(void)store_post_count(p->st, key, o->d.poster, 0, 1);
}

/* removed_notice - tell the author which parts the list took out, and why */
static void
removed_notice(struct pipeline *p, struct post *o, const char *to,
    const struct transform_out *t)
{
	char parts[1000], lines[1000];
	const char *vars[] = { "parts", parts, NULL };

	if (t->part[TP_REMOVED].len == 0)
		return;
	/* as much of the list as the old fixed-size notice held */
	snprintf(lines, sizeof(lines), "%.*s", (int)t->part[TP_REMOVED].len,
	    (const char *)t->part[TP_REMOVED].data);
	signature_replaced(p, o, to, lines);
	removed_words(p, o, lines, parts, sizeof(parts));
	if (*parts)
		post_note(p, o, to, NOTICE_PARTS_REMOVED, vars);
}

/*
 * may_confirm - may this post's confirmation request go out? To a
 * member's own address from the members' budget (authn_may_confirm),
 * anyone else's from the answers to strangers
 */
static int
may_confirm(struct pipeline *p, struct post *o)
{
	if (authn_vouches(&o->au, o->d.poster))
		return 1;
	if (o->d.member)
		return authn_may_confirm(p, &o->au, o->d.poster);
	return authn_may_answer(p, &o->au, o->d.poster);
}

/*
 * confirm_quiet - the hour's holds are spent too: held unannounced, in a
 * queue bounded per member, the moderators told once a day
 * (unconfirmed.c), under the name disclosure lets them see
 */
static enum result
confirm_quiet(struct pipeline *p, struct post *o)
{
	const struct list_cfg *l = o->l;
	const struct buf *c = &o->t.rendered;
	const char *name = disclosure_author_address(l, o->id.mode) ?
	    o->d.poster : o->id.display;
	struct buf sure;
	int rc;

	if (distribute_write(p, c->data, c->len, l->name, o->out_id) < 0) {
		why_set(o->why, "cannot write the held copy to the spool");
		return TEMPFAIL;
	}
	buf_init(&sure, 0);
	rc = authn_held_note(p, l, &o->au, o->d.poster, &sure) < 0 ? -1 :
	    unconfirmed_hold(p, l, o->out_id, o->d.poster, name, c,
	    buf_cstr(&sure));
	buf_free(&sure);
	if (rc < 0) {
		why_cause(o->why, "holding the unconfirmed post",
		    store_errmsg(p->st));
		return TEMPFAIL;
	}
	o->d.verdict = V_HOLD;
	o->d.reason = UNCONFIRMED_REASON;
	o->d.notice = NOTICE_N;
	return OK;
}

/*
 * confirm_withheld - nobody is asked. A member's post is not lost
 * without a word: it waits for the moderators, who see how sure the list
 * is of its sender. Not one the leak guard asks about (the author alone
 * may see what names them), nor automatic mail or a p=reject failure:
 * those are dropped, as they were, and logged. The holds have the same
 * hourly limits as the confirmations: a stranger forging one member's
 * posts cannot flood the moderators either; past them a post is held
 * unannounced (confirm_quiet), never dropped.
 */
static enum result
confirm_withheld(struct pipeline *p, struct post *o)
{
	const struct config *c = p->cfg;
	int rc;

	if (!o->d.member || o->d.notice == NOTICE_CONFIRM_POST_LEAK ||
	    o->au.automatic || o->au.reject_failed) {
		o->judged = 0;		/* nothing is kept */
		return OK;
	}
	rc = store_confirm_budget(p->st, STORE_BUDGET_HELD, o->d.poster,
	    p->now / 3600, c->confirms_per_member, c->confirms_per_instance);
	if (rc < 0) {
		why_cause(o->why, "the hold budget", store_errmsg(p->st));
		return TEMPFAIL;
	}
	if (rc != 1)
		return confirm_quiet(p, o);
	log_info("%s qmgr: list=%s confirmation withheld: held for the "
	    "moderators", p->qid, o->l->name);
	o->d.verdict = V_HOLD;
	o->d.reason = "unconfirmed";
	o->d.notice = NOTICE_N;
	return post_hold(p, o);
}

/* post_distribute - what the verdict says: nothing, a refusal, a hold, a confirmation, or out */
static enum result
post_distribute(struct pipeline *p, struct post *o)
{
	const struct list_cfg *l = o->l;
	enum result r = OK;

	switch (o->d.verdict) {
	case V_TEMPFAIL:	/* post_judge stopped the pipeline */
	case V_DROP:
		break;
	case V_REFUSE:
		tell_author(p, o);
		break;
	case V_HOLD:
		r = post_hold(p, o);
		break;
	case V_CONFIRM:
		if (!may_confirm(p, o)) {
			r = confirm_withheld(p, o);
			break;
		}
		if (confirm_request(p, l, o->d.poster, &o->t.rendered, o->d.notice ==
		    NOTICE_CONFIRM_POST_LEAK ? o->d.arg : NULL, o->out_id) < 0) {
			why_cause(o->why, "the confirmation request", store_errmsg(p->st));
			return TEMPFAIL;
		}
		o->noted = 1;		/* the request is this post's note */
		policy_count_post(p, l, o->d.poster);
		break;
	case V_DISTRIBUTE:
		r = post_to_members(p, o);
		break;
	}
	if (r != OK)
		return r;
	if (o->judged && o->id.mode != ID_REAL)
		removed_notice(p, o, authn_notice_to(&o->au, o->d.poster),
		    &o->t);
	log_info("%s qmgr: list=%s kind=post reason=%s%s auth=%s identity=%s rcpts=%d%s%s "
	    "result=%s", p->qid, l->name, o->d.reason, o->d.own_signed ? " author=own-key" : "",
	    authn_level_name(o->au.level),
	    config_identity_name(o->id.mode), o->n, *o->out_id ? " out=" : "", o->out_id,
	    o->judged ? "ok" : "permfail");
	return OK;
}

/*
 * slow_pass - a pass that held the queue manager's loop for long says
 * where: every other list's mail waited for it (#15)
 */
static void
slow_pass(const struct pipeline *p, const struct list_cfg *l,
    const long *ms, size_t n)
{
	char line[400];
	long all = 0;
	size_t off = 0;
	int k;

	for (size_t i = 0; i < n; i++)
		all += ms[i];
	if (all < POST_SLOW_MS)
		return;
	line[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (ms[i] == 0)
			continue;
		k = snprintf(line + off, sizeof(line) - off, " %s=%ld",
		    post_stages[i].name, ms[i]);
		if (k < 0 || (size_t)k >= sizeof(line) - off)
			break;
		off += (size_t)k;
	}
	log_info("%s qmgr: list=%s slow pass: %ld ms in the loop (ms:%s)",
	    p->qid, l->name, all, line);
}

/*
 * post_handle - LIST@: the stages in order. OK when the post is finished
 * (whatever became of it), TEMPFAIL with the failing stage and its cause.
 */
enum result
post_handle(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, int *quarantine, struct why *why)
{
	struct post o;
	struct why cause;
	struct timespec t0;
	long ms[POST_NSTAGES];
	enum result r = OK;
	size_t i;

	memset(&o, 0, sizeof(o));
	memset(&cause, 0, sizeof(cause));
	o.l = la->list;
	o.e = e;
	o.msg = msg;
	o.quarantine = quarantine;
	o.why = &cause;
	for (i = 0; r == OK && i < POST_NSTAGES; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = post_stages[i].fn(p, &o);
		ms[i] = mono_ms_since(&t0);
	}
	slow_pass(p, o.l, ms, i);
	if (r == TEMPFAIL)
		why_set(why, "list=%s post %s: %s", o.l->name, post_stages[i - 1].name,
		    why_text(&cause));
	if (o.have_t)
		transform_out_free(&o.t);
	free(o.a.signed_by);
	pgpin_post_free(&o.pp);
	return r == TEMPFAIL ? TEMPFAIL : OK;
}
