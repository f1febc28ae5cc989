/*
 * qmgr.c - the queue manager: route, policy, transform, fan-out, deliver.
 *
 * For each file in queue/incoming, oldest first, one database transaction
 * records everything that message causes - rendered copies (written to
 * queue/out before the commit), deliveries, notices, counters - together
 * with "this queue id is processed". Only after that commit is the
 * incoming file removed. A crash before the commit leaves the file to be
 * processed again (orphaned copies are swept at start-up); a crash after
 * it finds the id processed and just removes the file. So a message
 * answered 250 is handled exactly once.
 *
 * Then every delivery that is due is made (deliver.c), and the process
 * sleeps until the SMTP server nudges it, the next retry is due, or a
 * second passes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "delivery/bounce.h"
#include "leadership/confirm.h"
#include "delivery/deliver.h"
#include "leadership/moderate.h"
#include "leadership/quorum.h"
#include "delivery/digest.h"
#include "leadership/discipline.h"
#include "delivery/fanout.h"
#include "pipeline/identity.h"
#include "mail/archive.h"
#include "mail/audit.h"
#include "mail/addr.h"
#include "mail/header.h"
#include "mail/pseudonym.h"
#include "mail/listkey.h"
#include "mail/sealed.h"
#include "pipeline/policy.h"
#include "qmgr.h"
#include "pipeline/request.h"
#include "pipeline/sign.h"
#include "util/log.h"
#include "pipeline/worker.h"

#define REQUEST_ANSWERS_PER_HOUR	10

static volatile sig_atomic_t qmgr_stop, qmgr_reload;

static void
qmgr_signal(int sig)
{
	if (sig == SIGHUP)
		qmgr_reload = 1;
	else
		qmgr_stop = 1;
}

/* notify - a rate-limited notice to an address (never to <>) */
static void
notify(struct pipeline *p, const struct list_cfg *l, const char *to, const char *subject, const char *text)
{
	if (!to || !*to || !*text)
		return;
	if (!store_notice_allowed(p->st, to, p->now, 3600)) {
		log_info("%s qmgr: list=%s notice suppressed (one per sender per hour)", p->qid, l->name);
		return;
	}
	fanout_notice(p, l, to, subject, text, ENV_NULL);
}

/* removed_notice - tell the author which parts the list took out, and why */
static void
removed_notice(struct pipeline *p, const struct list_cfg *l, const char *to, const struct transform_out *t)
{
	char text[1200];

	if (t->part[TP_REMOVED].len == 0)
		return;
	snprintf(text, sizeof(text), "Your post to %s@%s went out without these parts, because on this\n"
	    "list they would identify you:\n\n%.*s\n"
	    "Nothing else was changed. To avoid this note, send posts to the list without them.", l->name,
	    p->cfg->hostname, (int)t->part[TP_REMOVED].len, (const char *)t->part[TP_REMOVED].data);
	notify(p, l, to, "Parts of your post were removed", text);
}

/*
 * identity_copy - on a pseudonymous or anonymous list (or for a member who
 * chose such a mode) the copy is composed from the worker's parts and then
 * checked for what names the author. May turn the verdict into a
 * confirmation (leak found) or a refusal (leak in a moderated post).
 */
static int
identity_copy(struct pipeline *p, const struct list_cfg *l, const struct envelope *e, struct transform_out *t,
    struct decision *d, struct ident *id)
{
	struct buf copy;
	char found[1000];

	buf_init(&copy, 0);
	if (identity_compose(p, l, d->poster, id->mode, d->member, p->release ? p->release : e->received, NULL,
	    t, &copy, id) < 0) {
		buf_free(&copy);
		return -1;
	}
	buf_free(&t->rendered);
	t->rendered = copy;
	if (l->leak_guard && identity_leaks(p, l, d->poster, e->sender, t, &t->rendered, id, found,
	    sizeof(found)) > 0) {
		if (d->verdict == V_HOLD) {
			d->verdict = V_REFUSE;
			d->reason = "leak";
			snprintf(d->notice, sizeof(d->notice), "Your post to %s@%s was not passed to the moderators: "
			    "it would tell the list who you are. It contains:\n%s\nSend it again without these.",
			    l->name, p->cfg->hostname, found);
		} else {
			d->verdict = V_CONFIRM;
			d->reason = "leak";
			snprintf(d->notice, sizeof(d->notice), "The list %s@%s is holding your post, because it "
			    "would tell the other members who you are. It contains:\n%s\n", l->name,
			    p->cfg->hostname, found);
		}
	}
	return 0;
}

/*
 * open_sealed - a post sealed to the list's key (mlist seal) is opened here,
 * in memory, and handled like any other; its plain text is never stored
 * except in the encrypted spool. 1 opened into plain, 0 not sealed, -1 refused
 * (told), -2 store error.
 */
static int
open_sealed(struct pipeline *p, const struct list_cfg *l, const struct envelope *e, const struct buf *msg,
    struct buf *plain)
{
	unsigned char seed[DKIM_SEED_LEN], pk[32], sk[32];
	char sel[SELECTOR_MAX], text[400];
	struct buf blob;
	int rc;

	buf_init(&blob, 0);
	if (sealed_find(msg->data, msg->len, &blob) < 0) {
		buf_free(&blob);
		return 0;
	}
	if (listkey_get(p->st, l->name, sel, sizeof(sel), seed) < 0) {
		buf_free(&blob);
		return -2;
	}
	rc = sealed_keys_from_seed(seed, pk, sk) == 0 && sealed_open(pk, sk, &blob, plain) == 0 ? 1 : -1;
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	buf_free(&blob);
	if (rc < 0) {
		snprintf(text, sizeof(text), "Your encrypted post to %s@%s could not be opened with the list's "
		    "current key. Get the key with \"keys\" from %s-request@%s and seal it again.", l->name,
		    p->cfg->hostname, l->name, p->cfg->hostname);
		notify(p, l, e->sender, "Your message was not distributed", text);
		log_info("%s qmgr: list=%s kind=post reason=sealed-unopenable result=permfail", p->qid, l->name);
	}
	return rc;
}

/* handle_post - LIST@: open if sealed, then handle_plain_post */
static enum result handle_plain_post(struct pipeline *, const struct list_cfg *, const struct envelope *,
    const struct buf *, int *);

static enum result
handle_post(struct pipeline *p, const struct list_cfg *l, const struct envelope *e, const struct buf *msg,
    int *quarantine)
{
	struct buf plain;
	char text[400];
	enum result r;
	int rc;

	buf_init(&plain, 0);
	if ((rc = open_sealed(p, l, e, msg, &plain)) == -2)
		return buf_free(&plain), TEMPFAIL;
	if (rc == -1)
		return buf_free(&plain), OK;
	if (rc == 0 && l->encryption == ENC_REQUIRED) {
		snprintf(text, sizeof(text), "Your post to %s@%s was not distributed: this list takes only posts "
		    "encrypted to its key, so that no mail server on the way reads them. Seal it with\n"
		    "  mlist seal --list-key KEY --list %s@%s < post.eml\n"
		    "(the key is in the answer to \"keys\" from %s-request@%s).", l->name, p->cfg->hostname,
		    l->name, p->cfg->hostname, l->name, p->cfg->hostname);
		notify(p, l, e->sender, "Your message was not distributed", text);
		log_info("%s qmgr: list=%s kind=post reason=not-sealed result=permfail", p->qid, l->name);
		return buf_free(&plain), OK;
	}
	r = handle_plain_post(p, l, e, rc == 1 ? &plain : msg, quarantine);
	sodium_memzero(plain.data, plain.cap);
	buf_free(&plain);
	return r;
}

/* handle_plain_post - transform in the worker, judge, distribute */
static enum result
handle_plain_post(struct pipeline *p, const struct list_cfg *l, const struct envelope *e, const struct buf *msg,
    int *quarantine)
{
	struct transform_in tin = { p->cfg, l, p->qid, (const char *)msg->data, msg->len, e->received, 0, 0, 0 };
	struct transform_out t;
	struct authorship a;
	struct decision d;
	struct ident id;
	char out_id[QID_LEN + 1] = "", text[400];
	enum result r;
	int n = 0, judged;

	/* on a delayed list the copy is dated, signed and archived at its release time */
	if (l->jitter_max > 0 || l->batch > 0)
		tin.received = p->release = distribute_release(l, p->now);

	policy_author(p, l, msg, &a);
	tin.intact = a.signed_by && !a.replay;
	tin.want_real = config_identity_allowed(l, ID_REAL);
	tin.want_anon = config_identity_allowed(l, ID_PSEUDONYM) || config_identity_allowed(l, ID_ANONYMOUS);
	if ((r = worker_transform(&tin, p->keys, &t)) == TEMPFAIL) {
		log_warn("%s qmgr: list=%s transform: %s result=tempfail", p->qid, l->name, t.reason);
		transform_out_free(&t);
		free(a.signed_by);
		return TEMPFAIL;
	}
	if (r == PERMFAIL) {
		log_info("%s qmgr: list=%s kind=post reason=unparseable (%s) result=permfail quarantined",
		    p->qid, l->name, t.reason);
		snprintf(text, sizeof(text), "Your message to %s@%s could not be processed: %s.\n"
		    "It has been kept for the list administrators. If it was an ordinary message,\n"
		    "please send it again as plain text.", l->name, p->cfg->hostname, t.reason);
		notify(p, l, e->sender, "Your message could not be processed", text);
		*quarantine = 1;
		transform_out_free(&t);
		free(a.signed_by);
		return OK;
	}
	policy_check_post(p, l, e, &t, &a, msg->len, &d);
	judged = d.verdict == V_HOLD || d.verdict == V_DISTRIBUTE || d.verdict == V_CONFIRM;
	memset(&id, 0, sizeof(id));
	id.mode = judged ? identity_mode(p, l, d.poster, d.member) : ID_REAL;
	if (id.mode != ID_REAL && (!tin.want_anon || identity_copy(p, l, e, &t, &d, &id) < 0))
		goto tempfail;
	judged = d.verdict == V_HOLD || d.verdict == V_DISTRIBUTE || d.verdict == V_CONFIRM;
	/*
	 * A member's own signature stays as it is on a real-identity copy. Elsewhere the
	 * list signs: the member's key on this list (pseudonyms), or a key used once (anonymous).
	 */
	if (judged && ((d.member && (id.mode != ID_REAL || !d.own_signed) &&
	    sign_author(p, l, id.mode == ID_ANONYMOUS ? NULL : d.poster, &t.rendered) < 0) ||
	    sign_copy(p, l, &t.rendered) < 0))
		goto tempfail;
	switch (d.verdict) {
	case V_DROP:
		break;
	case V_REFUSE:
		notify(p, l, e->sender, "Your message was not distributed", d.notice);
		break;
	case V_HOLD:
		/* the author is kept with the hold (sealed) to hear a rejection; shown only as moderators_see says */
		if (fanout_write(p, t.rendered.data, t.rendered.len, l->name, out_id) < 0 ||
		    store_hold(p->st, out_id, l->name, d.reason, d.poster) != STORE_OK ||
		    moderate_ask(p, l, out_id, d.reason, &t.rendered, id.mode == ID_REAL || l->moderators_see) < 0)
			goto tempfail;
		if (d.member)
			policy_count_post(p, l, d.poster);
		notify(p, l, e->sender, "Your message is waiting for a moderator", d.notice);
		break;
	case V_CONFIRM:
		if (confirm_request(p, l, d.poster, &t.rendered, d.notice, out_id) < 0)
			goto tempfail;
		policy_count_post(p, l, d.poster);
		break;
	case V_DISTRIBUTE:
		if (fanout_write(p, t.rendered.data, t.rendered.len, l->name, out_id) < 0 ||
		    fanout_members(p, l, out_id, &n) < 0 ||
		    archive_distributed(p->st, l, p->release ? p->release : p->now, t.rendered.data, t.rendered.len) < 0)
			goto tempfail;
		policy_count_post(p, l, d.poster);
		break;
	}
	if (judged && id.mode != ID_REAL)
		removed_notice(p, l, d.poster, &t);
	log_info("%s qmgr: list=%s kind=post reason=%s%s identity=%s rcpts=%d%s%s result=%s", p->qid, l->name,
	    d.reason, d.own_signed ? " author=own-key" : "", config_identity_name(id.mode), n,
	    *out_id ? " out=" : "", out_id, judged ? "ok" : "permfail");
	transform_out_free(&t);
	free(a.signed_by);
	return OK;
tempfail:
	log_err("%s qmgr: list=%s cannot queue deliveries: %s result=tempfail", p->qid, l->name,
	    store_errmsg(p->st));
	transform_out_free(&t);
	free(a.signed_by);
	return TEMPFAIL;
}

static enum result relay_private(struct pipeline *, const struct listaddr *, const struct envelope *,
    const struct buf *, int *, int);

/*
 * handle_private - LIST+p-HANDLE@: a message to the member behind a
 * pseudonym or an anonymous post, rewritten like a post (neither side
 * learns the other's address), from the sender's own private address.
 */
static enum result
handle_private(struct pipeline *p, const struct listaddr *la, const struct envelope *e, const struct buf *msg,
    int *quarantine)
{
	return relay_private(p, la, e, msg, quarantine, 0);
}

/*
 * relay_private - LIST+p-HANDLE@ (role 0), or LIST-owner+HANDLE@ (role 1:
 * a moderator answering someone who wrote to LIST-owner@; the answer goes
 * out from "LIST moderators" and names no moderator).
 */
static enum result
relay_private(struct pipeline *p, const struct listaddr *la, const struct envelope *e, const struct buf *msg,
    int *quarantine, int role)
{
	const struct list_cfg *l = la->list;
	struct transform_in tin = { p->cfg, l, p->qid, (const char *)msg->data, msg->len, e->received, 0, 0, 1 };
	struct transform_out t;
	struct ident id;
	struct member m;
	char *target = NULL, found[1000], text[1400], out_id[QID_LEN + 1] = "", actor[200];
	const char *sender, *why = NULL;
	enum result r;
	int member = 0;
	struct buf copy;

	if ((r = worker_transform(&tin, p->keys, &t)) != OK) {
		*quarantine = r == PERMFAIL;
		log_info("%s qmgr: list=%s kind=private reason=unparseable result=%s", p->qid, l->name,
		    r == PERMFAIL ? "permfail quarantined" : "tempfail");
		transform_out_free(&t);
		return r == PERMFAIL ? OK : TEMPFAIL;
	}
	sender = *t.from ? t.from : e->sender;
	if (store_member_find(p->st, l->name, sender, &m) == STORE_OK) {
		member = role ? strcmp(m.role, "member") != 0 : 1;
		member_free(&m);
	}
	if (!member && store_member_find(p->st, l->name, e->sender, &m) == STORE_OK) {
		member = role ? strcmp(m.role, "member") != 0 : 1;
		sender = e->sender;
		member_free(&m);
	}
	if (t.loop || t.bounce || t.automatic || *e->sender == 0 || store_banned(p->st, l->name, sender))
		why = "dropped";
	else if (role && !member)
		why = "only the list's moderators may use that address";
	else if (role == 2)
		;	/* an announcement: to every member */
	else if (role == 1) {
		if ((target = store_member_by_handle(p->st, l->name, la->token, p->now)) == NULL)
			why = "the person who wrote to the moderators can no longer be answered (30 days have passed)";
	} else if (l->private_replies == PRIV_OFF)
		why = "private replies are switched off on this list";
	else if (l->private_replies == PRIV_MEMBERS && !member)
		why = "only members of the list may send private replies";
	else if ((target = store_member_by_handle(p->st, l->name, la->token, p->now)) == NULL)
		why = "nobody answers to that address (an anonymous post's address expires)";
	if (why && strcmp(why, "dropped")) {
		snprintf(text, sizeof(text), "Your message to %s+p-%s@%s was not delivered: %s.", l->name, la->token,
		    p->cfg->hostname, why);
		notify(p, l, e->sender, "Your message was not delivered", text);
	}
	if (why) {
		log_info("%s qmgr: list=%s kind=private reason=%s result=permfail", p->qid, l->name,
		    strcmp(why, "dropped") ? "refused" : "dropped");
		goto done;
	}
	memset(&id, 0, sizeof(id));
	id.mode = role ? ID_ROLE : member ? identity_mode(p, l, sender, 1) : ID_ANONYMOUS;
	if (id.mode == ID_REAL)
		id.mode = ID_PSEUDONYM;	/* a private reply never shows an address, even on a real list */
	buf_init(&copy, 0);
	if (identity_compose(p, l, sender, id.mode, member, e->received, role == 2 ? NULL : la->token, &t, &copy,
	    &id) < 0)
		goto tempfail;
	buf_free(&t.rendered);
	t.rendered = copy;
	if (l->leak_guard && identity_leaks(p, l, sender, e->sender, &t, &t.rendered, &id, found, sizeof(found)) > 0) {
		snprintf(text, sizeof(text), "Your private message through %s@%s was not delivered, because it "
		    "would tell its reader who you are. It contains:\n%s\nSend it again without these.",
		    l->name, p->cfg->hostname, found);
		notify(p, l, e->sender, "Your message was not delivered", text);
		log_info("%s qmgr: list=%s kind=private reason=leak result=permfail", p->qid, l->name);
		goto done;
	}
	if (role == 2) {
		/* an announcement from the moderators as a role, signed with the role's key, to every member */
		int n = 0;

		if (sign_author(p, l, SIGN_ROLE, &t.rendered) < 0 || sign_copy(p, l, &t.rendered) < 0 ||
		    fanout_write(p, t.rendered.data, t.rendered.len, l->name, out_id) < 0 ||
		    fanout_members(p, l, out_id, &n) < 0 ||
		    archive_distributed(p->st, l, p->now, t.rendered.data, t.rendered.len) < 0 ||
		    (identity_leader_actor(p, l, sender, actor, sizeof(actor)),
		    audit_append(p->st, l->name, p->now, actor, "announce", "a post from the moderators")) < 0)
			goto tempfail;
		log_info("%s qmgr: list=%s kind=role-post rcpts=%d out=%s result=ok", p->qid, l->name, n, out_id);
		goto done;
	}
	if ((member && !role && sign_author(p, l, id.mode == ID_ANONYMOUS ? NULL : sender, &t.rendered) < 0) ||
	    sign_copy(p, l, &t.rendered) < 0 || fanout_write(p, t.rendered.data, t.rendered.len, l->name, out_id) < 0 ||
	    fanout_to(p, l, out_id, target, ENV_GROUPED) < 0)
		goto tempfail;
	log_info("%s qmgr: list=%s kind=%s out=%s result=ok", p->qid, l->name, role ? "owner-answer" : "private",
	    out_id);
done:
	free(target);
	transform_out_free(&t);
	return OK;
tempfail:
	log_err("%s qmgr: list=%s cannot queue a private message: %s result=tempfail", p->qid, l->name,
	    store_errmsg(p->st));
	free(target);
	transform_out_free(&t);
	return TEMPFAIL;
}

/*
 * roles_copy - a member on a non-real list (or who chose a non-real mode)
 * writing to LIST-owner@: unless disclosure.moderators_see = "address", the
 * moderators get the mail composed as the list composes posts ("PSEUDONYM
 * via LIST", or an anonymous handle), from LIST-owner+HANDLE@ so that their
 * answers go back as "LIST moderators". out stays empty when the mail goes
 * as it came (outsiders, real-name members, moderators_see = address).
 */
static enum result
roles_copy(struct pipeline *p, const struct list_cfg *l, const struct envelope *e, const struct buf *msg,
    struct buf *out)
{
	struct transform_in tin = { p->cfg, l, p->qid, (const char *)msg->data, msg->len, e->received, 0, 0, 1 };
	struct transform_out t;
	struct member mb;
	struct ident id;
	char handle[24], to[26];
	const char *sender;
	enum result r;
	int mode;

	if (l->moderators_see || !*e->sender)
		return OK;
	if ((r = worker_transform(&tin, p->keys, &t)) != OK) {
		transform_out_free(&t);
		return r == PERMFAIL ? OK : TEMPFAIL;	/* unparseable: it goes as it came */
	}
	sender = *t.from ? t.from : e->sender;
	if (store_member_find(p->st, l->name, sender, &mb) != STORE_OK) {
		sender = e->sender;
		if (store_member_find(p->st, l->name, sender, &mb) != STORE_OK) {
			transform_out_free(&t);
			return OK;
		}
	}
	member_free(&mb);
	if ((mode = identity_mode(p, l, sender, 1)) == ID_REAL || t.loop || t.automatic) {
		transform_out_free(&t);
		return OK;
	}
	handle_generate(handle, sizeof(handle));
	snprintf(to, sizeof(to), "%c%s", IDENTITY_TO_ROLES, handle);
	memset(&id, 0, sizeof(id));
	if (store_anon_add(p->st, l->name, handle, e->sender, p->now + 30 * 86400LL) != STORE_OK ||
	    identity_compose(p, l, sender, mode, 1, e->received, to, &t, out, &id) < 0 || sign_copy(p, l, out) < 0)
		r = TEMPFAIL;
	transform_out_free(&t);
	return r;
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
	struct buf m;
	struct hdr h;
	char handle[24];
	int n = 0;
	enum result r;

	buf_init(&m, 0);
	if ((r = roles_copy(p, l, e, msg, &m)) != OK || m.len) {
		/* a member who does not post under their address: the moderators see them as the list does */
		if (r == OK && fanout_roles(p, l, m.data, m.len, &n) < 0)
			r = TEMPFAIL;
		buf_free(&m);
		if (r == OK && n == 0 && store_hold(p->st, p->out[p->nout - 1], l->name, "no owner or moderator", NULL) !=
		    STORE_OK)
			r = TEMPFAIL;
		if (r == OK)
			log_info("%s qmgr: list=%s kind=%s relayed-to-roles=%d as=pseudonym result=ok", p->qid, l->name,
			    kind, n);
		return r;
	}
	buf_printf(&m, "X-Loop: %s-owner@%s\r\n", l->name, p->cfg->hostname);
	if (*e->sender && hdr_parse((const char *)msg->data, msg->len, &h) == 0) {
		handle_generate(handle, sizeof(handle));
		if (store_anon_add(p->st, l->name, handle, e->sender, p->now + 30 * 86400LL) != STORE_OK) {
			hdr_free(&h);
			buf_free(&m);
			return TEMPFAIL;
		}
		buf_printf(&m, "Reply-To: <%s-owner+%s@%s>\r\n", l->name, handle, p->cfg->hostname);
		for (int i = 0; i < h.n; i++)
			if (!hdr_is(&h.f[i], "Reply-To")) {
				buf_append(&m, h.f[i].start, h.f[i].len);
				if (h.f[i].start[h.f[i].len - 1] != '\n')
					buf_puts(&m, "\r\n");
			}
		buf_puts(&m, "\r\n");
		buf_append(&m, msg->data + h.body_off, msg->len - h.body_off);
		hdr_free(&h);
	} else
		buf_append(&m, msg->data, msg->len);
	if (fanout_roles(p, l, m.data, m.len, &n) < 0) {
		buf_free(&m);
		return TEMPFAIL;
	}
	buf_free(&m);
	if (n == 0 && store_hold(p->st, p->out[p->nout - 1], l->name, "no owner or moderator", NULL) != STORE_OK)
		return TEMPFAIL;
	log_info("%s qmgr: list=%s kind=%s relayed-to-roles=%d%s result=ok", p->qid, l->name, kind, n,
	    n ? "" : " held=no-owner");
	return OK;
}

/* handle_roles - LIST-owner@ and (until mail commands exist) LIST-request@ */
static enum result
handle_roles(struct pipeline *p, const struct listaddr *la, const struct envelope *e, const struct buf *msg)
{
	const struct list_cfg *l = la->list;
	struct hdr h;
	char loop[320], *v = NULL;
	int automatic, looped = 0;
	struct request req;

	if (hdr_parse((const char *)msg->data, msg->len, &h) < 0)
		return TEMPFAIL;
	automatic = hdr_automatic(&h) || *e->sender == 0;
	snprintf(loop, sizeof(loop), "%s-owner@%s", l->name, p->cfg->hostname);
	for (int i = 0; i < h.n; i++)
		if (hdr_is(&h.f[i], "X-Loop") && (v = hdr_value(&h.f[i])) != NULL) {
			looped |= strcasecmp(v, loop) == 0;
			free(v);
		}
	hdr_free(&h);
	if (looped) {
		log_info("%s qmgr: list=%s kind=%s reason=loop result=permfail", p->qid, l->name,
		    addr_kind_name(la->kind));
		return OK;
	}
	if (la->kind == ADDR_REQUEST && !automatic) {
		char key[400];
		unsigned cmds = request_parse((const char *)msg->data, msg->len, &req);

		/* answers are rate-limited per address: ten an hour */
		snprintf(key, sizeof(key), "~request:%s", l->name);
		if (store_post_count(p->st, key, e->sender, p->now / 3600, 0) >= REQUEST_ANSWERS_PER_HOUR) {
			log_info("%s qmgr: list=%s kind=request answer suppressed (%d an hour)", p->qid, l->name,
			    REQUEST_ANSWERS_PER_HOUR);
			return OK;
		}
		(void)store_post_count(p->st, key, e->sender, p->now / 3600, 1);
		if (cmds & CMD_CONFIRM) {
			/* "confirm TOKEN" in a mail to -request: as if mailed to LIST-confirm+TOKEN@ */
			struct listaddr ca = *la;

			ca.kind = ADDR_CONFIRM;
			snprintf(ca.token, sizeof(ca.token), "%s", req.token);
			if (confirm_handle(p, &ca, msg) < 0)
				return TEMPFAIL;
			req.cmds = cmds &= ~CMD_CONFIRM;
		}
		if (cmds != CMD_NONE) {
			if (request_answer(p, l, e->sender, &req) < 0)
				return TEMPFAIL;
			{
				static const char *const names[] = { "help", "keys", "key", "who", "archive-index",
				    "archive-get", "set-pseudonym", "set-identity", "subscribe", "unsubscribe",
				    "set-digest", "set-nomail", "confirm", "key-x25519", "audit" };
				char list[200] = "";

				for (size_t b = 0; b < sizeof(names) / sizeof(names[0]); b++)
					if (req.cmds & (1u << b))
						snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
						    *list ? "," : "", names[b]);
				log_info("%s qmgr: list=%s kind=request commands=%s result=ok", p->qid, l->name, list);
			}
			return OK;
		}
		if (req.token[0]) {
			log_info("%s qmgr: list=%s kind=request commands=confirm result=ok", p->qid, l->name);
			return OK;
		}
		/* no command: the sender gets the help, the owners get the mail (nothing is lost) */
		if (request_help(p, l, e->sender, "The list's server found no command in your message, so it has "
		    "gone to the list's administrators, who will answer it.") < 0)
			return TEMPFAIL;
	}
	return relay_to_roles(p, l, e, msg, addr_kind_name(la->kind));
}

static void discard_outputs(struct pipeline *);

/* send_digests - every list whose digest is due: taken, built and queued in one transaction */
static void
send_digests(struct pipeline *p)
{
	for (int i = 0; i < p->cfg->nlists && !qmgr_stop; i++) {
		const struct list_cfg *l = &p->cfg->lists[i];
		int n, rcpts = 0;

		if (!digest_due(p, l))
			continue;
		p->qid = "NOQUEUE";
		p->nout = 0;
		if (store_begin(p->st) < 0)
			return;
		if ((n = digest_send(p, l, &rcpts)) < 0 || store_commit(p->st) < 0) {
			store_rollback(p->st);
			discard_outputs(p);
			log_err("NOQUEUE qmgr: list=%s digest: %s; will retry result=tempfail", l->name,
			    store_errmsg(p->st));
			continue;
		}
		log_info("NOQUEUE qmgr: list=%s digest posts=%d rcpts=%d%s%s result=ok", l->name, n, rcpts,
		    p->nout ? " out=" : "", p->nout ? p->out[0] : "");
	}
}

struct stale {
	long long	 before;
	char		 ids[64][QID_LEN + 1];
	int		 n;
};

static void
stale_one(const char *id, const char *reason, long long at, void *arg)
{
	struct stale *s = arg;

	if (strcmp(reason, "confirm") == 0 && at < s->before && s->n < 64 && strlen(id) == QID_LEN)
		memcpy(s->ids[s->n++], id, QID_LEN + 1);
}

/* expire_unconfirmed - posts nobody confirmed in time are gone: the row and the held copy */
static void
expire_unconfirmed(struct pipeline *p)
{
	char reason[64];

	for (int i = 0; i < p->cfg->nlists; i++) {
		const struct list_cfg *l = &p->cfg->lists[i];
		struct stale s = { p->now - CONFIRM_DAYS * 86400LL - 3600, { "" }, 0 };

		if (store_held_each(p->st, l->name, stale_one, &s) < 0)
			continue;
		for (int k = 0; k < s.n; k++)
			if (store_held_take(p->st, l->name, s.ids[k], reason, sizeof(reason)) == STORE_OK) {
				spool_remove(p->sp, SPOOL_OUT, s.ids[k]);
				log_info("%s qmgr: list=%s held post never confirmed; expired result=ok", s.ids[k], l->name);
			}
	}
}

struct key_due {
	struct pipeline		*p;
	const struct list_cfg	*l;
	int			 failed;
};

/* key_due_one - remind a member that their key expires soon, or tell them it has and stop using it */
static void
key_due_one(long long member_id, const char *addr, long long expires, int expired, void *arg)
{
	struct key_due *k = arg;
	const struct list_cfg *l = k->l;
	const char *host = k->p->cfg->hostname;
	char day[11], text[1200];

	if (k->failed)
		return;
	keys_expiry_format(expires, day);
	if (expired)
		snprintf(text, sizeof(text), "The encryption key you registered with %s@%s expired on %s, as you said\n"
		    "it would. The list no longer uses it: %s\n\n"
		    "To go on receiving sealed posts, make a new key (mlist keygen --out NEWFILE --expires DAYS)\n"
		    "and send its x25519 line to %s-request@%s as:  key x25519:... expires YYYY-MM-DD\n",
		    l->name, host, day, l->encryption == ENC_REQUIRED ? "until you register a new one, you will get "
		    "a short notice in place of each post, because this list sends posts only sealed." : "from now on "
		    "posts reach you unencrypted.", l->name, host);
	else
		snprintf(text, sizeof(text), "The encryption key you registered with %s@%s expires on %s.\n"
		    "From that day on the list will not use it%s.\n\n"
		    "To replace it, make a new key (mlist keygen --out NEWFILE --expires DAYS) and send its x25519\n"
		    "line to %s-request@%s as:  key x25519:... expires YYYY-MM-DD\n"
		    "(keep the old key file until the posts sealed to it are read).\n",
		    l->name, host, day, l->encryption == ENC_REQUIRED ? " and you will get notices instead of posts" :
		    " and posts will reach you unencrypted", l->name, host);
	if (fanout_notice(k->p, l, addr, expired ? "Your encryption key has expired" :
	    "Your encryption key expires soon", text, ENV_NULL) < 0 ||
	    store_enc_key_done(k->p->st, member_id, expired) != STORE_OK)
		k->failed = 1;
	else
		log_info("NOQUEUE qmgr: list=%s a member's encryption key %s result=ok", l->name,
		    expired ? "expired and was dropped" : "expires soon; member reminded");
}

/* key_expiry - stated key expiries: a reminder key_warn_days ahead, then the key is dropped (one transaction a list) */
static void
key_expiry(struct pipeline *p)
{
	for (int i = 0; i < p->cfg->nlists && !qmgr_stop; i++) {
		const struct list_cfg *l = &p->cfg->lists[i];
		struct key_due k = { p, l, 0 };

		p->qid = "NOQUEUE";
		p->nout = 0;
		if (store_begin(p->st) < 0)
			return;
		if (store_enc_keys_due(p->st, l->name, p->now, p->now + l->key_warn_days * 86400LL, key_due_one, &k) < 0 ||
		    k.failed || store_commit(p->st) < 0) {
			store_rollback(p->st);
			discard_outputs(p);
			log_err("NOQUEUE qmgr: list=%s key expiry: %s; will retry result=tempfail", l->name,
			    store_errmsg(p->st));
		}
	}
}

/* audit_heads - move each list's audit anchor up to its last entry; a cut log is reported (hourly) */
static void
audit_heads(struct pipeline *p)
{
	static long long warned;
	char why[300];

	for (int i = 0; i < p->cfg->nlists; i++)
		if (audit_head_sync(p->st, p->cfg->state_dir, p->cfg->lists[i].name, why, sizeof(why)) < 0 &&
		    p->now - warned > 3600) {
			log_err("NOQUEUE qmgr: list=%s audit log: %s", p->cfg->lists[i].name, why);
			warned = p->now;
		}
}

/* discard_outputs - a rolled-back transaction leaves no rendered copies */
static void
discard_outputs(struct pipeline *p)
{
	for (int i = 0; i < p->nout; i++)
		spool_remove(p->sp, SPOOL_OUT, p->out[i]);
	p->nout = 0;
}

/*
 * one_click - an RFC 8058 one-click unsubscription (the HTTP endpoint spools
 * it to LIST-unsubscribe+TOKEN@; mail to that address does the same): the
 * token alone is the authority, no confirmation. An unknown token, or a list
 * without one_click_url, changes nothing and answers nobody.
 */
static int
one_click(struct pipeline *p, const struct listaddr *la)
{
	const struct list_cfg *l = la->list;
	long long id = *l->one_click_url ? keys_oneclick_member(p->keys, l->name, la->token) : -1;
	char *addr = id > 0 ? store_member_addr_by_id(p->st, l->name, id) : NULL;
	char text[600];

	if (!addr) {
		log_info("%s qmgr: list=%s one-click unsubscription with %s result=ignored", p->qid, l->name,
		    *l->one_click_url ? "a token that names no member" : "one_click_url unset");
		return 0;
	}
	snprintf(text, sizeof(text), "You have left %s@%s: your mail program asked for it with the\n"
	    "one-click unsubscribe link of a post. If that was not you, write \"subscribe\" to\n"
	    "%s-request@%s to come back.\n", l->name, p->cfg->hostname, l->name, p->cfg->hostname);
	if (store_member_rm(p->st, l->name, addr) != STORE_OK ||
	    fanout_notice(p, l, addr, "You have left the list", text, ENV_NULL) < 0) {
		free(addr);
		return -1;	/* the whole transaction is retried */
	}
	log_info("%s qmgr: list=%s a member left by one-click result=ok", p->qid, l->name);
	free(addr);
	return 0;
}

/* process_incoming - everything one accepted message causes, in one transaction */
static void
process_incoming(struct pipeline *p, const char *id)
{
	struct envelope e;
	struct buf msg, why;
	struct listaddr la;
	enum result r = OK;
	const char *first = "";
	int quarantine = 0, done, i;

	p->qid = id;
	p->nout = 0;
	p->release = 0;
	if ((done = store_processed(p->st, id)) == 1) {
		log_info("%s qmgr: already processed before a restart; removing", id);
		spool_remove(p->sp, SPOOL_INCOMING, id);
		return;
	}
	buf_init(&msg, 0);
	buf_init(&why, 0);
	if (done < 0 || spool_read(p->sp, SPOOL_INCOMING, id, &e, &msg, &why) != 0) {
		if (done == 0) {
			log_err("%s qmgr: cannot read spool file: %s; moved to corrupt/ result=permfail", id,
			    buf_cstr(&why));
			spool_quarantine(p->sp, SPOOL_INCOMING, id);
		}
		buf_free(&msg);
		buf_free(&why);
		return;
	}
	if (store_begin(p->st) < 0)
		r = TEMPFAIL;
	for (i = 0; r == OK && i < e.nrcpts; i++) {
		p->release = 0;		/* each recipient list decides its own */
		if (listaddr_parse(p->cfg, e.rcpts[i], &la) < 0) {
			log_warn("%s qmgr: a recipient list no longer exists; message kept in corrupt/", id);
			quarantine = 1;
			continue;
		}
		if (!*first)
			first = la.list->name;
		switch (la.kind) {
		case ADDR_POST:
			r = handle_post(p, la.list, &e, &msg, &quarantine);
			break;
		case ADDR_REQUEST:
		case ADDR_OWNER:
			if (la.kind == ADDR_OWNER && !strcmp(la.token, "discipline"))
				r = discipline_request(p, la.list, &e, &msg) < 0 ? TEMPFAIL : OK;
			else if (la.kind == ADDR_OWNER && !strcmp(la.token, "announce"))
				r = relay_private(p, &la, &e, &msg, &quarantine, 2);
			else if (la.kind == ADDR_OWNER && la.token[0])
				r = relay_private(p, &la, &e, &msg, &quarantine, 1);
			else
				r = handle_roles(p, &la, &e, &msg);
			break;
		case ADDR_BOUNCES:
			bounce_handle(p, &la, &msg);
			break;
		case ADDR_CONFIRM:
			if (confirm_handle(p, &la, &msg) < 0)
				r = TEMPFAIL;
			break;
		case ADDR_PRIVATE:
			r = handle_private(p, &la, &e, &msg, &quarantine);
			break;
		case ADDR_UNSUBSCRIBE:
			if (one_click(p, &la) < 0)
				r = TEMPFAIL;
			break;
		case ADDR_NONE:
			break;
		}
	}
	if (r == OK && store_mark_processed(p->st, id, first, quarantine ? "quarantined" : "done") != STORE_OK)
		r = TEMPFAIL;
	if (r == OK && store_commit(p->st) < 0)
		r = TEMPFAIL;
	if (r != OK) {
		log_warn("%s qmgr: will retry: %s result=tempfail", id, store_errmsg(p->st));
		store_rollback(p->st);
		discard_outputs(p);
	} else if (quarantine)
		spool_quarantine(p->sp, SPOOL_INCOMING, id);
	else
		spool_remove(p->sp, SPOOL_INCOMING, id);
	p->release = 0;
	envelope_free(&e);
	buf_free(&msg);
	buf_free(&why);
}

/* sweep_orphans - rendered copies that nothing refers to (a crash before commit) */
static void
sweep_orphans(struct pipeline *p)
{
	char **ids;
	int n = spool_list(p->sp, SPOOL_OUT, &ids);

	for (int i = 0; i < n; i++)
		if (store_pending_for(p->st, ids[i]) == 0 && !store_is_held(p->st, ids[i])) {
			log_info("%s qmgr: rendered copy without deliveries (crash before commit); removed", ids[i]);
			spool_remove(p->sp, SPOOL_OUT, ids[i]);
		}
	spool_list_free(ids, n > 0 ? n : 0);
}

/* on_failed - a 5xx from the relay counts as a bounce */
static void
on_failed(const char *list, const char *rcpt, void *arg)
{
	struct pipeline *p = arg;
	const struct list_cfg *l = config_list_find(p->cfg, list);

	if (!l || store_begin(p->st) < 0)
		return;
	p->nout = 0;
	bounce_member(p, l, rcpt);
	if (store_commit(p->st) < 0) {
		store_rollback(p->st);
		discard_outputs(p);
	}
}

/* run_deliveries - everything due; failures feed the bounce score */
static int
run_deliveries(struct pipeline *p)
{
	struct timespec t0, t1;
	int n;

	p->qid = "NOQUEUE";
	p->nout = 0;
	store_durable(p->st, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = deliver_run(p->cfg, p->st, p->sp, p->now, on_failed, p);
	store_durable(p->st, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (n)
		log_info("NOQUEUE qmgr: delivery run: %d deliveries in %ld ms", n,
		    (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	return n;
}

/*
 * lock_queue - one queue manager per state directory, ever. Two would
 * deliver the same posts twice (say, an orphan of a daemon killed with
 * SIGKILL and the new daemon's). The lock dies with its holder.
 */
static int
lock_queue(const struct config *cfg)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/queue/qmgr.lock", cfg->state_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		log_err("NOQUEUE qmgr: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		log_warn("NOQUEUE qmgr: another queue manager holds %s; waiting for it to exit", path);
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR || qmgr_stop)
				return close(fd), -1;
	}
	return 0;	/* fd stays open: the lock is held until the process exits */
}

/* qmgr_run - the loop; returns the exit status */
int
qmgr_run(const char *path, struct config *cfg, const struct keys *k, struct spool *sp, int wake_fd)
{
	struct pollfd pfd = { .fd = wake_fd, .events = POLLIN };
	struct pipeline p;
	struct sigaction sa;
	struct config *ncfg;
	struct buf err;
	char dbpath[4200], drain[256], **ids;
	long long next, last_purge = 0, last_expire = 0, last_keys = 0;
	int n, i, tried, wait;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = qmgr_signal;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_IGN);
	memset(&p, 0, sizeof(p));
	buf_init(&err, 0);
	snprintf(dbpath, sizeof(dbpath), "%s/mlistd.db", cfg->state_dir);
	if ((p.st = store_open(dbpath, k, &err)) == NULL) {
		log_err("NOQUEUE qmgr: %s", buf_cstr(&err));
		return 1;
	}
	p.cfg = cfg;
	p.keys = k;
	p.sp = sp;
	if (lock_queue(cfg) < 0) {
		store_close(p.st);
		return 1;
	}
	p.now = (long long)time(NULL);
	if ((n = deliver_journal_replay(cfg, p.st)) > 0)
		log_info("NOQUEUE qmgr: %d delivery results recovered from the journal", n);
	sweep_orphans(&p);
	while (!qmgr_stop) {
		if (qmgr_reload) {
			qmgr_reload = 0;
			buf_reset(&err);
			if ((ncfg = config_load(path, &err)) != NULL) {
				config_free(cfg);
				p.cfg = cfg = ncfg;
			}
		}
		p.now = (long long)time(NULL);
		n = spool_list(sp, SPOOL_INCOMING, &ids);
		for (i = 0; i < n && !qmgr_stop; i++)
			process_incoming(&p, ids[i]);
		spool_list_free(ids, n > 0 ? n : 0);
		p.now = (long long)time(NULL);
		send_digests(&p);
		if (p.now != last_keys) {
			key_expiry(&p);		/* an indexed look, at most once a second */
			audit_heads(&p);
			last_keys = p.now;
		}
		quorum_ask_new(&p);
		tried = run_deliveries(&p);
		if (p.now - last_purge > 3600) {
			store_purge_done(p.st, p.now - 7 * 86400);
			last_purge = p.now;
		}
		if (p.now - last_expire > 60) {
			expire_unconfirmed(&p);
			/* retention: anonymous authorship links and old archive posts are erased */
			for (i = 0; i < cfg->nlists; i++)
				store_identity_expire(p.st, cfg->lists[i].name, p.now, cfg->lists[i].archive_days ?
				    p.now - cfg->lists[i].archive_days * 86400LL : 0);
			last_expire = p.now;
		}
		next = store_next_due(p.st);
		wait = 1000;
		if (next >= 0 && next <= p.now && tried)
			wait = 0;
		else if (next >= 0 && (next - p.now) * 1000 < wait)
			wait = (int)((next - p.now) * 1000);
		if (wait < 0)
			wait = 0;
		if (poll(&pfd, 1, wait) > 0) {
			ssize_t got;

			while ((got = read(wake_fd, drain, sizeof(drain))) > 0)
				;
			if (got == 0) {
				/* the write end is gone: the daemon died. Stop, do not spin on the dead pipe */
				log_warn("NOQUEUE qmgr: the daemon is gone; exiting");
				break;
			}
		}
	}
	store_close(p.st);
	pipeline_free(&p);
	config_free(cfg);
	buf_free(&err);
	return 0;
}
