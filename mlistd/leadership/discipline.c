/*
 * discipline.c - the discipline ladder of long-running political lists.
 *
 * A moderator writes to LIST-owner+discipline@ with "discipline NAME" (a
 * pseudonym, an address on a real-identity list, or "#N" as the audit log
 * numbers members) first in the Subject or the body, and the reason after
 * it. The list does nothing yet: it answers the moderator's own address
 * with what the member's next step would be and a token; only the reply
 * applies it, so a forged request changes nothing. A moderator is a
 * moderator only when authenticated (pipeline/authn.c): a sender the list
 * cannot verify first gets one answer, the same whether the address it
 * claims moderates, is a member or is nobody's, asking that mailbox to
 * confirm; only then is the request decided. Steps follow
 * leadership.discipline (default: two private warnings, a public warning
 * that names only the pseudonym, then suspension for 30 days, after which
 * the member may apply again). Warnings come from "the moderators", never
 * from one of them; every step is an audit entry. Naming a moderator is
 * refused at once where the leadership is known; on a hidden one the
 * answer is anyone's (it must not tell a moderator who else moderates),
 * a warning reaches her as anyone, and her suspension (her role with it,
 * without the quorum) is refused when confirmed - as it is for whoever
 * moderates by then.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "leadership/confirm.h"
#include "leadership/discipline.h"
#include "delivery/distribute.h"
#include "pipeline/identity.h"
#include "pipeline/request.h"
#include "mail/audit.h"
#include "mail/header.h"
#include "mail/pseudonym.h"
#include "pipeline/authn.h"
#include "pipeline/disclosure.h"
#include "util/log.h"

/* step_name - what step k of the ladder is, for people: [step-*] */
static void
step_name(struct pipeline *p, const struct list_cfg *l, int k, char *out,
    size_t n)
{
	int days = 0, kind = config_discipline_step(l, k, &days);
	struct notice_ctx ctx = { l->name, p->cfg->hostname };
	char d[16];

	snprintf(d, sizeof(d), "%d", days);
	if (notice_piece_line(l->notices, p->cfg->notices, kind == DISC_WARN ?
	    PIECE_STEP_WARNING : kind == DISC_PUBLIC ? PIECE_STEP_PUBLIC :
	    PIECE_STEP_SUSPEND, &ctx, (const char *[]){ "days", d, NULL }, out,
	    n) < 0)
		snprintf(out, n, "%d", k + 1);	/* a loaded set has them */
}

/* who - the member a moderator names: pseudonym, address (real lists) or #N; the address, or NULL */
static char *
who(struct pipeline *p, const struct list_cfg *l, const char *name)
{
	char sk[SKELETON_MAX];
	struct member m;
	char *addr = NULL;

	if (name[0] == '#' && isdigit((unsigned char)name[1]))
		return store_member_addr_by_id(p->st, l->name, atoll(name + 1));
	if (strchr(name, '@')) {
		if (l->identity == ID_REAL && store_member_find(p->st, l->name, name, &m) == STORE_OK) {
			addr = strdup(m.addr);
			member_free(&m);
		}
		return addr;
	}
	return pseudonym_key(name, sk, sizeof(sk)) == 0 ?
	    store_member_by_pseudonym(p->st, l->name, sk) : NULL;
}

/* is_moderator - is addr an owner or moderator of l? its member number into id */
static int
is_moderator(struct pipeline *p, const struct list_cfg *l, const char *addr, long long *id)
{
	struct member m;
	int yes = 0;

	if (store_member_find(p->st, l->name, addr, &m) == STORE_OK) {
		yes = role_leads(m.role);
		if (id)
			*id = m.id;
		member_free(&m);
	}
	return yes;
}

/* trimmed - [s, s+n) without leading and trailing white space, into out */
static void
trimmed(const char *s, size_t n, struct buf *out)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	buf_append(out, s, n);
}

/*
 * verified - is the envelope sender (where the answer goes) authenticated?
 * 1 yes; 0 no, *answer whether it may be answered (automatic mail and the
 * backscatter budget say no); -1 DNS cannot answer now (retried).
 */
static int
verified(struct pipeline *p, const struct list_cfg *l,
    const struct envelope *e, const struct buf *msg, int *answer)
{
	struct why why = { "" };
	struct authn au;

	*answer = 0;
	if (authn_check(p, e, msg, &au, &why) != OK) {
		/* a wait for DNS answers is no event: authn.c logs it */
		if (!authn_busy(p, p->qid))
			log_info("%s discipline: list=%s %s result=tempfail",
			    p->qid, l->name, why_text(&why));
		return -1;
	}
	if (authn_vouches(&au, e->sender) && !au.automatic)
		return 1;
	log_info("%s discipline: list=%s sender not authenticated; asked to "
	    "confirm from the mailbox result=ok", p->qid, l->name);
	*answer = authn_may_answer(p, &au, e->sender);
	return 0;
}

/*
 * parse - "discipline NAME" in the Subject (the body is the reason) or on
 * the body's first line (the rest is the reason); -1 unreadable headers
 */
static int
parse(const struct buf *msg, char *name, size_t nlen, struct buf *reason)
{
	const char *m = (const char *)msg->data, *body, *nl;
	struct hdr h;
	char *subj;
	size_t blen;

	name[0] = 0;
	if (hdr_parse(m, msg->len, &h) < 0)
		return -1;
	subj = hdr_get_value(&h, "Subject");
	body = m + h.body_off;
	blen = msg->len - h.body_off;
	hdr_free(&h);
	if (subj && strncasecmp(subj, "discipline ", 11) == 0) {
		snprintf(name, nlen, "%s", subj + 11);
		trimmed(body, blen, reason);
	} else {
		while (blen && isspace((unsigned char)*body))
			body++, blen--;
		nl = memchr(body, '\n', blen);
		if (blen > 11 && strncasecmp(body, "discipline ", 11) == 0) {
			size_t ln = (nl ? (size_t)(nl - body) : blen) - 11;

			snprintf(name, nlen, "%.*s", (int)(ln < nlen ? ln :
			    nlen - 1), body + 11);
			if (nl)
				trimmed(nl + 1, blen - (size_t)(nl + 1 - body),
				    reason);
		}
	}
	free(subj);
	for (char *t = name + strlen(name); t > name &&
	    isspace((unsigned char)t[-1]); )
		*--t = 0;
	return 0;
}

/*
 * decide - the request of `sender`, whom the list believes: a moderator is
 * asked to confirm the member's next step (only the reply applies it);
 * anyone else is told that only moderators may. 0 answered, -1 error.
 */
static int
decide(struct pipeline *p, const struct list_cfg *l, const char *sender,
    char *name, const char *reason)
{
	char *addr = NULL, token[41], extra[300], step[200], text[2001];
	char number[24], nsteps[16], days[16];
	const char *vars[] = { "name", name, "number", number, "steps", nsteps,
	    "step", step, "reason", text, "days", days, NULL };
	struct buf payload, sealed;
	long long target = 0;
	struct member mb;
	int rc = 0, steps;

	if (!is_moderator(p, l, sender, NULL)) {
		log_info("%s discipline: list=%s request not from a moderator; "
		    "ignored result=permfail", p->qid, l->name);
		return distribute_notice_tmpl(p, l, sender,
		    NOTICE_DISCIPLINE_NOT_MODERATOR, NULL, ENV_NULL, "",
		    NULL) < 0 ? -1 : 0;
	}
	buf_init(&payload, 0);
	buf_init(&sealed, 0);
	if (!*name || (addr = who(p, l, name)) == NULL ||
	    store_member_find(p->st, l->name, addr, &mb) != STORE_OK) {
		rc = distribute_notice_tmpl(p, l, sender, *name ?
		    NOTICE_DISCIPLINE_NOBODY : NOTICE_DISCIPLINE_USAGE, vars,
		    ENV_NULL, "", NULL);
		goto out;
	}
	target = mb.id;
	member_free(&mb);
	/* hidden: asked to confirm as for anyone (discipline_apply decides) */
	if (is_moderator(p, l, addr, NULL) &&
	    disclosure_leaders(l, READER_MODERATOR)) {
		rc = distribute_notice_tmpl(p, l, sender,
		    NOTICE_DISCIPLINE_MODERATOR, vars, ENV_NULL, "", NULL);
		goto out;
	}
	if ((steps = store_discipline_steps(p->st, l->name, addr)) < 0) {
		rc = -1;
		goto out;
	}
	step_name(p, l, steps, step, sizeof(step));
	buf_printf(&payload, "%s\ndiscipline %lld\nintro\n%.2000s", sender,
	    target, reason);
	/* the store seals it, bound to the token's row (store_confirm_add) */
	if (buf_append(&sealed, payload.data, payload.len) < 0 ||
	    confirm_token(p, l, "command", "", sealed.data, sealed.len, sender,
	    p->now + CONFIRM_DAYS * 86400LL, token, extra, sizeof(extra)) < 0) {
		rc = -1;
		goto out;
	}
	snprintf(number, sizeof(number), "%lld", target);
	snprintf(nsteps, sizeof(nsteps), "%d", steps);
	snprintf(days, sizeof(days), "%d", CONFIRM_DAYS);
	if (*reason)
		snprintf(text, sizeof(text), "%.2000s", reason);
	else if (notice_piece_line(l->notices, p->cfg->notices,
	    PIECE_NO_REASON_DISCIPLINE, &(struct notice_ctx){ l->name,
	    p->cfg->hostname }, NULL, text, sizeof(text)) < 0) {
		rc = -1;
		goto out;
	}
	/* a keyed short id, as the audit log names them: never the number */
	keys_member_ref(p->keys, l->name, target, number, sizeof(number));
	rc = distribute_notice_tmpl(p, l, sender, NOTICE_DISCIPLINE_CONFIRM,
	    vars, ENV_NULL, extra, NULL);
	log_info("%s discipline: list=%s request for %s awaits the "
	    "moderator's confirmation result=ok", p->qid, l->name, number);
out:
	free(addr);
	buf_free(&payload);
	buf_free(&sealed);
	return rc < 0 ? -1 : 0;
}

/*
 * ask_mailbox - a sender the list cannot verify: one text, whoever they
 * claim to be, with a token; the request (name and reason, sealed with
 * it) is decided only when that mailbox confirms (discipline_confirmed).
 */
static int
ask_mailbox(struct pipeline *p, const struct list_cfg *l, const char *sender,
    const char *name, const char *reason)
{
	char token[41], extra[300], addr[400], days[16];
	const char *vars[] = { "confirm_addr", addr, "days", days, NULL };
	struct buf payload, sealed;
	int rc = 0;

	buf_init(&payload, 0);
	buf_init(&sealed, 0);
	buf_printf(&payload, "%s\ndiscipline-asked\nintro\n%.200s\n%.2000s",
	    sender, name, reason);
	/* the store seals it, bound to the token's row (store_confirm_add) */
	if (buf_append(&sealed, payload.data, payload.len) < 0 ||
	    confirm_token(p, l, "command", "", sealed.data, sealed.len, sender,
	    p->now + CONFIRM_DAYS * 86400LL, token, extra, sizeof(extra)) < 0)
		rc = -1;
	if (rc == 0) {
		snprintf(addr, sizeof(addr), "%s-confirm+%s@%s", l->name, token,
		    p->cfg->hostname);
		snprintf(days, sizeof(days), "%d", CONFIRM_DAYS);
		rc = distribute_notice_tmpl(p, l, sender,
		    NOTICE_DISCIPLINE_UNVERIFIED, vars, ENV_NULL, extra, NULL);
	}
	buf_free(&payload);
	buf_free(&sealed);
	return rc < 0 ? -1 : 0;
}

/*
 * discipline_request - mail to LIST-owner+discipline@: from a verified
 * sender, decided now; from anyone else, first confirmed from the mailbox.
 * 0 done (whatever the answer), -1 error (retried).
 */
int
discipline_request(struct pipeline *p, const struct list_cfg *l,
    const struct envelope *e, const struct buf *msg)
{
	char name[200];
	struct buf reason;
	int rc, answer;

	if ((rc = verified(p, l, e, msg, &answer)) < 0)
		return -1;
	if (rc == 0 && !answer)
		return 0;
	buf_init(&reason, 0);
	if (parse(msg, name, sizeof(name), &reason) < 0)
		rc = 0;		/* unreadable: nothing to decide, nobody told */
	else if (rc == 1)
		rc = decide(p, l, e->sender, name, buf_cstr(&reason));
	else
		rc = ask_mailbox(p, l, e->sender, name, buf_cstr(&reason));
	buf_free(&reason);
	return rc;
}

/*
 * discipline_confirmed - the mailbox of sender confirmed the request it
 * made unverified (text: the name, a line end, the reason): decided as a
 * verified sender's. 0 answered, -1 error.
 */
int
discipline_confirmed(struct pipeline *p, const struct list_cfg *l,
    const char *sender, const char *text)
{
	char name[200];
	size_t n = strcspn(text, "\n");

	snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n :
	    sizeof(name) - 1), text);
	return decide(p, l, sender, name, text[n] ? text + n + 1 : "");
}

/*
 * too_soon - the member's last step was taken less than
 * leadership.discipline_days ago: nothing is done, the moderator is told
 * from when the next one can be. 1 too soon (res filled), 0 not, -1 error.
 * Spaced steps mean no moderator alone runs a member through the whole
 * ladder at once: each step is an audit entry the others see first.
 */
static int
too_soon(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const char *ps, const char *ref, struct buf *res)
{
	long long last = store_discipline_last(p->st, l->name, addr), next;
	char day[32], days[16];
	const char *vars[] = { "member", ps, "days", days, "day", day, NULL };
	time_t t;
	struct tm tm;

	if (last < 0)
		return -1;
	next = last + l->discipline_days * 86400LL;
	if (l->discipline_days == 0 || last == 0 || p->now >= next)
		return 0;
	t = (time_t)next;
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	snprintf(days, sizeof(days), "%d", l->discipline_days);
	log_info("%s discipline: list=%s %s step not taken: the last one is "
	    "less than leadership.discipline_days old result=permfail",
	    p->qid, l->name, ref);
	return request_piece(p, l, PIECE_DONE_DISCIPLINE_WAIT, vars, res) < 0 ?
	    -1 : 1;
}

/*
 * spares_leader - the step is not for addr, who moderates now (promoted
 * since the step was asked for, or on a hidden leadership, where the
 * request was answered as for anyone so that the answer tells no
 * moderator who else moderates): a suspension would remove her and her
 * role without the quorum, and where the leadership is known no step is
 * taken. A warning to a hidden moderator is given, words not power: only
 * after the steps before it, each confirmed, spaced and audited, does the
 * refused suspension tell. 1 spared (res says so), 0 not, -1 error.
 */
static int
spares_leader(struct pipeline *p, const struct list_cfg *l, const char *addr,
    int kind, const char *ps, const char *ref, struct buf *res)
{
	const char *vars[] = { "member", ps, NULL };

	if (!is_moderator(p, l, addr, NULL) || (kind != DISC_SUSPEND &&
	    !disclosure_leaders(l, READER_MODERATOR)))
		return 0;
	log_info("%s discipline: list=%s %s step not taken: a moderator "
	    "result=permfail", p->qid, l->name, ref);
	return request_piece(p, l, PIECE_DONE_DISCIPLINE_MODERATOR, vars,
	    res) < 0 ? -1 : 1;
}

/*
 * discipline_apply - the confirmed step for member_id, asked by moderator;
 * what happened into res. 0 done (or nothing to do), 1 refused without an
 * answer (the moderator no longer moderates the list), -1 store error.
 */
int
discipline_apply(struct pipeline *p, const struct list_cfg *l, const char *moderator, long long member_id,
    const char *reason, struct buf *res)
{
	char *addr, step[200], detail[300], text[2001], ps[200] = "", day[32], actor[200], nstep[16], ndays[16];
	char ref[32], none[200];
	const char *vars[] = { "reason", text, "step", nstep, "member", ps, "days", ndays, "day", day, NULL };
	int steps, kind, days = 0, n = 0, rc = 0;
	struct member m;
	time_t until;
	struct tm tm;

	if (!is_moderator(p, l, moderator, NULL)) {
		/* demoted or expelled since the token was sent: no answer, as for a token that never was */
		log_info("%s discipline: list=%s token of someone who no longer moderates the list; ignored "
		    "result=permfail", p->qid, l->name);
		return 1;
	}
	/* a keyed short id, never the number: numbers tell how many joined */
	keys_member_ref(p->keys, l->name, member_id, ref, sizeof(ref));
	if ((addr = store_member_addr_by_id(p->st, l->name, member_id)) == NULL) {
		const char *gone[] = { "number", ref, NULL };

		return request_piece(p, l, PIECE_DONE_DISCIPLINE_GONE, gone,
		    res) < 0 ? -1 : 0;
	}
	if (store_member_find(p->st, l->name, addr, &m) == STORE_OK) {
		if (m.pseudonym)
			snprintf(ps, sizeof(ps), "%s", m.pseudonym);
		else if (l->identity == ID_REAL && m.name && *m.name)
			snprintf(ps, sizeof(ps), "%s", m.name);
		member_free(&m);
	}
	if (!*ps)
		snprintf(ps, sizeof(ps), "%s", ref);
	if ((steps = store_discipline_steps(p->st, l->name, addr)) < 0 ||
	    (rc = too_soon(p, l, addr, ps, ref, res)) != 0) {
		free(addr);
		return rc < 0 || steps < 0 ? -1 : 0;
	}
	kind = config_discipline_step(l, steps, &days);
	if ((rc = spares_leader(p, l, addr, kind, ps, ref, res)) != 0) {
		free(addr);
		return rc < 0 ? -1 : 0;
	}
	step_name(p, l, steps, step, sizeof(step));
	if (!reason || !*reason) {
		struct notice_ctx ctx = { l->name, p->cfg->hostname };

		(void)notice_piece_line(l->notices, p->cfg->notices,
		    PIECE_NO_REASON_STEP, &ctx, NULL, none, sizeof(none));
		reason = none;
	}
	until = (time_t)(p->now + (kind == DISC_SUSPEND ? days * 86400LL : 0));
	gmtime_r(&until, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	snprintf(text, sizeof(text), "%.2000s", reason);
	snprintf(nstep, sizeof(nstep), "%d", steps + 1);
	snprintf(ndays, sizeof(ndays), "%d", days);
	if (kind == DISC_WARN)
		rc = distribute_notice_tmpl(p, l, addr, NOTICE_WARNING_PRIVATE, vars, ENV_NULL, "", NULL);
	else if (kind == DISC_PUBLIC)
		rc = distribute_announce_tmpl(p, l, NOTICE_WARNING_PUBLIC, vars, &n);
	else {
		rc = distribute_notice_tmpl(p, l, addr, NOTICE_SUSPENDED, vars, ENV_NULL, "", NULL) < 0 ||
		    store_member_rm(p->st, l->name, addr) == STORE_ERR ? -1 : 0;
	}
	if (rc == 0 && (store_discipline_step(p->st, l->name, addr,
	    kind == DISC_SUSPEND ? (long long)until : 0) != STORE_OK ||
	    store_discipline_taken(p->st, l->name, addr, p->now) != STORE_OK))
		rc = -1;
	snprintf(detail, sizeof(detail), "%d", steps + 1);
	identity_leader_actor(p, l, moderator, actor, sizeof(actor));
	/* the step's kind is the code: its words are the list's ([audit-*]) */
	if (rc == 0 && audit_append_code(p->st, l->name, p->now, actor,
	    "discipline", kind == DISC_WARN ? "warning-private" :
	    kind == DISC_PUBLIC ? "warning-public" : "suspended",
	    (const char *[]){ "member", ref, "step", detail, NULL }) < 0)
		rc = -1;
	free(addr);
	if (rc < 0)
		return -1;
	{
		const char *done[] = { "member", ps, "step", step, NULL };

		if (request_piece(p, l, PIECE_DONE_DISCIPLINE, done, res) < 0)
			return -1;
	}
	log_info("%s discipline: list=%s %s step %d applied result=ok", p->qid,
	    l->name, ref, steps + 1);
	return 0;
}

/* discipline_suspended - is addr suspended from l (1, the day it may apply again into day)? -1: error */
int
discipline_suspended(struct pipeline *p, const struct list_cfg *l, const char *addr, char *day, size_t n)
{
	long long until = store_discipline_until(p->st, l->name, addr);
	time_t t = (time_t)until;
	struct tm tm;

	if (until < 0)
		return -1;
	if (until <= p->now)
		return 0;
	gmtime_r(&t, &tm);
	strftime(day, n, "%Y-%m-%d", &tm);
	return 1;
}
