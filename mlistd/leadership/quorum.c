/*
 * quorum.c - grave actions (unmask, ban, expel, policy, roles) opened by
 * 'mlistctl' wait in the store until enough distinct moderators approve.
 *
 * The queue manager finds each new request and mails every moderator and
 * owner a token of their own, bound to them and to the request. Replying
 * "approve" (the whole first line: pipeline/reply.c), from the moderator's
 * own authenticated address (pipeline/tokens.c), counts one vote per
 * moderator (a second reply from the same
 * moderator counts nothing; a forged one has no token; the token of a
 * moderator demoted or expelled since does nothing). At the quorum the
 * action is done here, in the daemon, and recorded in the audit log; an
 * unmasking is told to the approving moderators only (and, if the list
 * says so, to the member unmasked). Requests expire after QUORUM_DAYS.
 * An emergency action taken alone by the operator is announced to every
 * moderator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <unistd.h>

#include "actions/actions.h"
#include "pipeline/disclosure.h"
#include "pipeline/reply.h"
#include "pipeline/request.h"
#include "leadership/confirm.h"
#include "delivery/distribute.h"
#include "mail/audit.h"
#include "mail/header.h"
#include "mail/pseudonym.h"
#include "leadership/quorum.h"
#include "util/log.h"


struct ask {
	struct pipeline	*p;
	const struct list_cfg *l;
	const struct pending *pa;
	int		 n, failed, announce;
};

/* ask_one - one moderator's token and request (or the announcement of an emergency) */
static int
ask_one(const struct member *m, void *arg)
{
	struct ask *a = arg;
	char token[41], id[32], extra[300], needed[16], days[16], address[256] = "", intro[2501] = "";
	char named[600];
	struct notice_ctx ctx = { a->l->name, a->p->cfg->hostname };
	const char *vars[] = { "action", a->pa->action, "detail", named, "needed", needed, "days", days,
	    "address", address, "introduction", intro, NULL };
	enum notice_id what = NOTICE_GRAVE_ACTION;

	if (!role_leads(m->role))
		return 0;
	/*
	 * an unmasking's stored detail names its pseudonym by reference: they
	 * read the name; a coded detail in the list's words (audit.h)
	 */
	if (!strcmp(a->pa->action, "unmask") && a->pa->arg)
		(void)audit_code(extra, sizeof(extra), "unmask-named",
		    (const char *[]){ "pseudonym", a->pa->arg, NULL });
	else
		snprintf(extra, sizeof(extra), "%s", a->pa->detail);
	audit_render(a->l->notices, a->p->cfg->notices, &ctx, extra, named,
	    sizeof(named));
	if (a->announce) {
		if (distribute_notice_tmpl(a->p, a->l, m->addr, NOTICE_EMERGENCY, vars, ENV_NULL, "", NULL) < 0)
			a->failed = 1;
		return a->failed;
	}
	snprintf(id, sizeof(id), "%lld", a->pa->id);
	if (confirm_token(a->p, a->l, "quorum", id, "", 0, m->addr, a->pa->expires, token, extra, sizeof(extra)) < 0) {
		a->failed = 1;
		return 1;
	}
	snprintf(needed, sizeof(needed), "%d", a->pa->needed);
	snprintf(days, sizeof(days), "%d", QUORUM_DAYS);
	if (!strcmp(a->pa->action, "admit") && a->pa->arg && strchr(a->pa->arg, '\n') &&
	    strchr(strchr(a->pa->arg, '\n') + 1, '\n')) {
		/* an application: the introduction, and the address only where the list shows it to moderators */
		int show = disclosure_author_address(a->l, a->l->identity);

		snprintf(intro, sizeof(intro), "%s", strchr(strchr(a->pa->arg, '\n') + 1, '\n') + 1);
		snprintf(address, sizeof(address), "%.*s", (int)strcspn(a->pa->arg, "\n"), a->pa->arg);
		what = show ? NOTICE_APPLICATION : NOTICE_APPLICATION_HIDDEN;
	}
	if (distribute_notice_tmpl(a->p, a->l, m->addr, what, vars, ENV_NULL, extra, NULL) < 0) {
		a->failed = 1;
		return 1;
	}
	a->n++;
	return 0;
}

/* quorum_ask_new - mail the moderators about every new request (and every emergency), in transactions */
void
quorum_ask_new(struct pipeline *p)
{
	static const char *const states[] = { "new", "announce" };
	long long ids[16];
	struct pending pa;

	for (int k = 0; k < 2; k++) {
		int n = store_pending_in_state(p->st, states[k], ids, 16);

		for (int i = 0; i < n; i++) {
			const struct list_cfg *l;
			struct ask a;

			if (store_pending_get(p->st, ids[i], &pa) != STORE_OK)
				continue;
			p->qid = "NOQUEUE";
			pipeline_begin(p);
			memset(&a, 0, sizeof(a));
			a.p = p;
			a.pa = &pa;
			a.announce = k;
			if ((l = config_list_find(p->cfg, pa.list)) == NULL) {
				/* its list is gone: it must not hold up the requests behind it */
				(void)store_pending_state(p->st, pa.id, "gone");
				free(pa.arg);
				continue;
			}
			if (store_begin(p->st) < 0) {
				free(pa.arg);
				continue;
			}
			a.l = l;
			if (store_member_each(p->st, l->name, ask_one, &a) < 0 || a.failed ||
			    store_pending_state(p->st, pa.id, k ? "done" : "asked") != STORE_OK ||
			    store_commit(p->st) < 0) {
				store_rollback(p->st);
				pipeline_rolled_back(p);
				log_err("NOQUEUE quorum: list=%s request %lld: cannot ask the moderators: %s", l->name,
				    pa.id, store_errmsg(p->st));
			} else {
				pipeline_committed(p);
				log_info("NOQUEUE quorum: list=%s request %lld (%s) %s moderators=%d result=ok", l->name,
				    pa.id, pa.action, k ? "announced to" : "asked", a.n);
			}
			free(pa.arg);
		}
	}
}

struct tell {
	struct pipeline	*p;
	const struct list_cfg *l;
	const char *const *vars;	/* of NOTICE_UNMASKED_VOTERS */
	int		 failed;
};

static int
tell_one(const struct member *m, void *arg)
{
	struct tell *t = arg;

	if (distribute_notice_tmpl(t->p, t->l, m->addr, NOTICE_UNMASKED_VOTERS, t->vars, ENV_NULL, "", NULL) < 0)
		t->failed = 1;
	return 0;
}

/* apply_role - the role the request names (as text in its arg), given to addr */
static int
apply_role(struct act_ctx *c, const struct list_cfg *l, const char *addr, const char *name)
{
	enum role r;

	if (role_parse(name, &r) < 0)
		return act_fail(c, ACT_FAILED, "bad setting: a role (" ROLE_CHOICES ")");
	return act_apply_role(c, l, addr, r);
}

/*
 * admit - an application reached its quorum: "ADDRESS\nPSEUDONYM[\nINTRO]"
 * (the pseudonym asked for, "" none) admitted by act_member_add, audited
 * there once, under "moderators" (or "members" who vouched) with how many
 * agreed; the welcome. 1 admitted (audited), 0 not (said in done), -1.
 */
static int
admit(struct pipeline *p, const struct list_cfg *l, const struct pending *pa,
    int votes, char *nl, char *done, size_t n)
{
	int vouched = !strcmp(pa->action, "vouch");
	struct buf out, err;
	char asked[256] = "";
	/* the actor says who agreed: [audit-agreed-moderators] or -members */
	struct act_ctx c = { .p = p, .out = &out, .err = &err, .votes = votes,
	    .actor = vouched ? "members" : "moderators" };
	int rc;

	if (nl) {
		*nl = 0;
		snprintf(asked, sizeof(asked), "%.*s",
		    (int)strcspn(nl + 1, "\n"), nl + 1);
	}
	buf_init(&out, 0);
	buf_init(&err, 0);
	rc = act_member_add(&c, l, pa->arg, NULL, NULL);
	/* a pseudonym taken meanwhile refuses nothing: they choose another */
	if (rc == ACT_DONE && *asked && l->identity == ID_PSEUDONYM &&
	    act_set_pseudonym(&c, l, pa->arg, asked) == ACT_ERROR)
		rc = ACT_ERROR;
	buf_free(&out);
	buf_free(&err);
	if (rc == ACT_FAILED) {
		/* a member already, or a bad address: the audit log says so */
		snprintf(done, n, "not-applied");
		return 0;
	}
	if (rc != ACT_DONE || distribute_notice_tmpl(p, l, pa->arg, vouched ?
	    NOTICE_WELCOME_VOUCHED : NOTICE_WELCOME_ADMITTED, NULL, ENV_NULL,
	    "", NULL) < 0)
		return -1;
	return 1;
}

/*
 * execute - the action itself, once votes reached the quorum; what was done
 * into done, as a code ([audit-result-CODE] words it). 0 done (the caller audits), 1 done and audited by the action,
 * -1 a store error.
 */
static int
execute(struct pipeline *p, const struct list_cfg *l, const struct pending *pa,
    int votes, char *done, size_t n)
{
	char *nl = pa->arg ? strchr(pa->arg, '\n') : NULL, sk[SKELETON_MAX];
	struct buf out, err;
	int rc = 0;

	if (!pa->arg)
		return -1;
	/* the same changes as the operator's, in actions/leadership.c */
	buf_init(&out, 0);
	buf_init(&err, 0);
	if (!strcmp(pa->action, "ban") || !strcmp(pa->action, "expel") ||
	    (!strcmp(pa->action, "roles") && nl) || (!strcmp(pa->action, "policy") && nl)) {
		struct act_ctx c = { .p = p, .actor = "moderators", .out = &out, .err = &err };

		if (nl)
			*nl = 0;
		rc = !strcmp(pa->action, "ban") ? act_apply_ban(&c, l, pa->arg) :
		    !strcmp(pa->action, "expel") ? act_apply_expel(&c, l, pa->arg) :
		    !strcmp(pa->action, "roles") ? apply_role(&c, l, pa->arg, nl + 1) :
		    act_apply_policy(&c, l, pa->arg, nl + 1);
		/*
		 * gone since (said in the audit entry, not retried). The action's error
		 * text is for an operator and may name the address (a member facing
		 * expulsion who left first): the audit log, which members read, and the
		 * log line say only that it was not applied.
		 */
		if (rc == ACT_FAILED)
			snprintf(done, n, "not-applied");
		rc = rc == ACT_ERROR ? -1 : 0;
	} else if (!strcmp(pa->action, "admit") || !strcmp(pa->action, "vouch")) {
		rc = admit(p, l, pa, votes, nl, done, n);
	} else if (!strcmp(pa->action, "roster_export")) {
		/* approved: the operator's next 'mlistctl member export' prints it, once */
		snprintf(done, n, "export-approved");
	} else if (!strcmp(pa->action, "unmask")) {
		char *addr = pseudonym_key(pa->arg, sk, sizeof(sk)) == 0 ?
		    store_member_by_pseudonym(p->st, l->name, sk) : NULL;
		char needed[16];
		const char *vars[] = { "needed", needed, "pseudonym", pa->arg, "address", addr, NULL };
		struct tell t = { p, l, vars, 0 };

		if (!addr) {
			/* the audit log keeps it: never the name */
			snprintf(done, n, "unmask-gone");
			return 0;
		}
		snprintf(needed, sizeof(needed), "%d", pa->needed);
		rc = store_pending_voters(p->st, pa->id, tell_one, &t) < 0 || t.failed ? -1 : 0;
		if (rc == 0 && l->notify_unmasked)
			rc = distribute_notice_tmpl(p, l, addr, NOTICE_UNMASKED_MEMBER, vars, ENV_NULL, "", NULL);
		free(addr);
	} else
		rc = -1;
	buf_free(&out);
	buf_free(&err);
	if (rc >= 0 && !*done)
		snprintf(done, n, "done");
	return rc;
}

/*
 * audit_outcome - the audit entry of a request decided: what it was about
 * (its coded detail), who agreed and how many, and the result's code;
 * worded when read. A request opened before the codes keeps its words.
 */
static int
audit_outcome(struct pipeline *p, const struct list_cfg *l,
    const struct pending *pa, int votes, const char *done)
{
	int vouch = strcmp(pa->action, "vouch") == 0;
	const char *by = vouch ? "members" : "moderators";
	char detail[700], num[16];
	const char *vars[] = { "agreed", by, "votes", num, "result", done,
	    NULL };

	snprintf(num, sizeof(num), "%d", votes);
	if (audit_wrap(detail, sizeof(detail), "quorum", vars, pa->detail) < 0)
		snprintf(detail, sizeof(detail), "%s (%d %s): %s", pa->detail,
		    votes, vouch ? "members vouched" : "moderators agreed",
		    done);
	return audit_append(p->st, l->name, p->now, by,
	    vouch ? "admit" : pa->action, detail);
}

/*
 * quorum_answer - a moderator's approval (LIST-confirm+TOKEN), the token
 * already taken (tokens.c). 1 handled, -1 store error.
 */
int
quorum_answer(struct pipeline *p, const struct list_cfg *l, const struct store_token *tok,
    const struct buf *msg)
{
	const char *id = tok->out_id;
	char *voter, done[300] = "";
	int vouch = strcmp(tok->kind, "vouch") == 0;
	struct pending pa;
	int votes, yes;

	/*
	 * A moderator's vote counts only while they still moderate; a vouch is a
	 * member's own and counts while they are a member. Either way the sender
	 * learns nothing from a token that no longer counts.
	 */
	if (!tok->addr || (strcmp(tok->kind, "quorum") == 0 && (tok->operator || !role_leads(tok->role)))) {
		log_info("%s quorum: list=%s token of someone who no longer %s; ignored result=permfail", p->qid,
		    l->name, strcmp(tok->kind, "quorum") == 0 ? "moderates the list" : "is a member");
		return 1;
	}
	if ((voter = strdup(tok->addr)) == NULL)
		return -1;
	/*
	 * the whole word on the answer's first line (pipeline/reply.c):
	 * "approve" for a vote, "vouch" (or "vouch TOKEN" to -request) for a
	 * vouch; "Approve? No" is neither
	 */
	yes = reply_says((const char *)msg->data, msg->len,
	    vouch ? reply_vouch_words : reply_vote_words,
	    vouch ? REPLY_VOUCH_N : REPLY_VOTE_N, NULL, 0) >= 0;
	if (!yes || store_pending_get(p->st, atoll(id), &pa) != STORE_OK) {
		free(voter);
		log_info("%s quorum: list=%s answer without \"%s\" or request "
		    "gone; ignored result=permfail", p->qid, l->name,
		    vouch ? "vouch" : "approve");
		return 1;
	}
	if (strcmp(pa.state, "asked") || pa.expires <= p->now) {
		log_info("%s quorum: list=%s request %s already %s result=permfail", p->qid, l->name, id,
		    pa.expires <= p->now ? "expired" : pa.state);
		free(voter);
		free(pa.arg);
		return 1;
	}
	votes = store_pending_vote(p->st, pa.id, l->name, voter);
	free(voter);
	if (votes < 0) {
		free(pa.arg);
		return -1;
	}
	log_info("%s quorum: list=%s request %s approvals=%d of %d result=ok", p->qid, l->name, id, votes, pa.needed);
	if (votes >= pa.needed) {
		int ex = execute(p, l, &pa, votes, done, sizeof(done));

		if (ex < 0 ||
		    store_pending_state(p->st, pa.id, "done") != STORE_OK) {
			free(pa.arg);
			return -1;
		}
		/* an admission is audited by act_member_add, as every one */
		if (ex == 0 && audit_outcome(p, l, &pa, votes, done) < 0) {
			free(pa.arg);
			return -1;
		}
		log_info("%s quorum: list=%s request %s (%s) reached its quorum: %s result=ok", p->qid, l->name, id,
		    pa.action, done);
	}
	free(pa.arg);
	return 1;
}

/*
 * quorum_vouch - subscription = "vouch": the applicant (confirmed) named
 * members in a "vouch: NAME, NAME" line of their introduction (pseudonyms;
 * addresses on a real-identity list). Each named member is asked privately
 * with a token of their own; at leadership.vouches_required vouches the
 * applicant is admitted. Returns how many were asked, -1 on store errors.
 */
int
quorum_vouch(struct pipeline *p, const struct list_cfg *l, const char *addr, const char *ps, const char *intro,
    struct buf *res)
{
	const char *line = intro ? strcasestr(intro, "vouch:") : NULL;
	char names[600], sk[SKELETON_MAX], *name, *save = NULL, *who, token[41], idtxt[32];
	char extra[300], arg[600], shown[1001];
	const char *vars[] = { "introduction", shown, NULL };
	char needed[16], days[16];
	const char *done[] = { "needed", needed, "days", days, NULL };
	long long id;
	int asked = 0;

	if (line) {
		size_t n = strcspn(line + 6, "\r\n");

		snprintf(names, sizeof(names), "%.*s", (int)(n < sizeof(names) ? n : sizeof(names) - 1), line + 6);
	} else
		names[0] = 0;
	snprintf(arg, sizeof(arg), "%s\n%s", addr, ps);	/* the pseudonym asked for goes with it */
	if ((id = store_pending_add(p->st, l->name, "vouch", arg, "@applicant", l->vouches_required, "asked",
	    p->now, p->now + QUORUM_DAYS * 86400LL)) < 0)
		return -1;
	snprintf(idtxt, sizeof(idtxt), "%lld", id);
	snprintf(shown, sizeof(shown), "%s", intro ? intro : "");
	for (name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		while (*name == ' ')
			name++;
		for (char *e = name + strlen(name); e > name && e[-1] == ' '; )
			*--e = 0;
		who = NULL;
		if (l->identity == ID_REAL && strchr(name, '@')) {
			struct member m;

			if (store_member_find(p->st, l->name, name, &m) == STORE_OK) {
				who = strdup(m.addr);
				member_free(&m);
			}
		} else if (pseudonym_key(name, sk, sizeof(sk)) == 0)
			who = store_member_by_pseudonym(p->st, l->name, sk);
		if (!who)
			continue;
		if (confirm_token(p, l, "vouch", idtxt, "", 0, who, p->now + QUORUM_DAYS * 86400LL, token, extra,
		    sizeof(extra)) < 0) {
			free(who);
			return -1;
		}
		if (distribute_notice_tmpl(p, l, who, NOTICE_VOUCH_REQUEST, vars, ENV_NULL, extra, NULL) < 0) {
			free(who);
			return -1;
		}
		free(who);
		asked++;
	}
	/*
	 * the same words whoever was named: how many were asked would tell the
	 * applicant which of the names are members
	 */
	snprintf(needed, sizeof(needed), "%d", l->vouches_required);
	snprintf(days, sizeof(days), "%d", QUORUM_DAYS);
	if (request_piece(p, l, PIECE_DONE_VOUCH, done, res) < 0)
		return -1;
	log_info("%s quorum: list=%s an applicant named members to vouch asked=%d result=ok", p->qid, l->name, asked);
	return asked;
}
