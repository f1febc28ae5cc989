/*
 * command.c - the -request commands a member confirmed from their own
 * mailbox (its answer says "confirm": pipeline/reply.c), done: subscribe
 * (admitted, or passed to the moderators or to a vouching quorum),
 * unsubscribe, settings, keys, a moderator's confirmed discipline step.
 * The commands travel sealed in the token (request.c, discipline.c); this
 * file opens them and answers once with what was done. Every change is
 * made by the same action as mlistctl's (actions/, actor "member"), so the
 * checks and the audit entries do not depend on the path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/actions.h"
#include "delivery/distribute.h"
#include "leadership/command.h"
#include "leadership/confirm.h"
#include "leadership/discipline.h"
#include "leadership/quorum.h"
#include "pipeline/disclosure.h"
#include "pipeline/render.h"
#include "pipeline/reply.h"
#include "pipeline/request.h"
#include "util/log.h"

/* the audit log's name for a member acting on their own confirmed request */
#define SELF_ACTOR	"member"

struct self {
	struct act_ctx	 c;
	struct buf	 out, err;
};

/* self_open - the action context of a member's own confirmed command */
static void
self_open(struct self *s, struct pipeline *p)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->out, 0);
	buf_init(&s->err, 0);
	s->c.p = p;
	s->c.actor = SELF_ACTOR;
	s->c.out = &s->out;
	s->c.err = &s->err;
}

/*
 * self_close - the action's result: the piece saying what it did (id, vars)
 * or why not into res, 0; -1 the store failed (the transaction is retried)
 */
static int
self_close(struct self *s, struct pipeline *p, const struct list_cfg *l,
    int rc, const char *what, enum piece_id id, const char *const *vars,
    struct buf *res)
{
	char why[1200];
	const char *refused[] = { "why", why, NULL };
	int r = 0;

	snprintf(why, sizeof(why), "%.*s",
	    (int)strcspn(buf_cstr(&s->err), "\n"), buf_cstr(&s->err));
	/* the action's words may quote a pseudonym: the log keeps a kind */
	if (rc == ACT_DONE)
		log_info("%s confirm: list=%s a member's %s set result=ok",
		    p->qid, l->name, what);
	else
		log_info("%s confirm: list=%s a member's %s not set%s "
		    "result=%s", p->qid, l->name, what,
		    strstr(why, " is taken ") ?
		    ": pseudonym taken by another member meanwhile" : "",
		    rc == ACT_FAILED ? "permfail" : "tempfail");
	if (rc == ACT_DONE)
		r = request_piece(p, l, id, vars, res);
	else if (rc == ACT_FAILED)
		r = request_piece(p, l, PIECE_DONE_REFUSED, refused, res);
	buf_free(&s->out);
	buf_free(&s->err);
	return rc == ACT_ERROR || r < 0 ? -1 : 0;
}

/* set_one - one confirmed setting, as 'mlistctl member set' makes it */
static int
set_one(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const char *key, const char *value, const char *expires, enum piece_id id,
    const char *const *vars, struct buf *res)
{
	struct self s;

	self_open(&s, p);
	return self_close(&s, p, l, act_member_set(&s.c, l, addr, key, value,
	    expires), key, id, vars, res);
}

/* apply_line - one confirmed command for addr, through actions/ */
static int
apply_line(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const char *line, int member, struct buf *res)
{
	const char *vars[] = { "pseudonym", line + 10, "mode", line + 9,
	    "setting", NULL, "value", line + 7, NULL };
	char key[8];
	struct self s;

	if (!strcmp(line, "unsubscribe")) {
		self_open(&s, p);
		return self_close(&s, p, l, act_member_leave(&s.c, l, addr),
		    "membership (leaving)", PIECE_DONE_LEFT, NULL, res);
	}
	if (!member)
		return 0;	/* settings of a non-member: nothing to change, nothing to say */
	if (!strncmp(line, "pseudonym ", 10))
		return set_one(p, l, addr, "pseudonym", line + 10, NULL,
		    PIECE_DONE_PSEUDONYM, vars, res);
	if (!strncmp(line, "identity ", 9))
		return set_one(p, l, addr, "identity", line + 9, NULL,
		    PIECE_DONE_IDENTITY, vars, res);
	if (!strncmp(line, "digest ", 7) || !strncmp(line, "nomail ", 7)) {
		snprintf(key, sizeof(key), "%.6s", line);
		vars[5] = key;
		return set_one(p, l, addr, key, line + 7, NULL,
		    PIECE_DONE_SETTING, vars, res);
	}
	return 0;
}

/*
 * introduction - the applicant's introduction, or (blank lines only) the
 * piece saying they gave none, its line end kept, in out
 */
static const char *
introduction(struct pipeline *p, const struct list_cfg *l, const char *intro,
    char *out, size_t n)
{
	size_t k;

	if (intro && intro[strspn(intro, " \t\r\n")])
		return intro;
	if (request_piece_line(p, l, PIECE_NO_INTRODUCTION, out, n - 1) < 0)
		snprintf(out, n - 1, "-");
	k = strlen(out);
	out[k] = '\n';
	out[k + 1] = 0;
	return out;
}

/*
 * application_bytes - the owners' copy of an application, written by the
 * one renderer as every copy is (From, then its fields in render.c's
 * order, the text as CRLF lines): an introduction sent with CRLF lines
 * must not come out as CR CR LF
 */
static int
application_bytes(struct pipeline *p, const struct list_cfg *l,
    const char *subject, const char *body, struct buf *app)
{
	struct render_head h = { .date = p->release ? p->release : p->now,
	    .cfg = p->cfg };
	struct buf subj;
	int rc;

	buf_init(&subj, 0);
	/* a translation need not be ASCII */
	rc = notice_subject(subject, &subj);
	h.subject = buf_cstr(&subj);
	if (rc == 0 && (buf_printf(app, "From: <%s-request@%s>\r\n", l->name,
	    p->cfg->hostname) < 0 || render_head(app, &h) < 0 ||
	    buf_puts(app, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n") < 0 ||
	    render_text(app, body) < 0))
		rc = -1;
	buf_free(&subj);
	return rc;
}

/*
 * owners_application - subscription = "approve" and nobody to decide yet:
 * the owners' mailbox gets the application (templates application-owners*),
 * the operator admits
 */
static int
owners_application(struct pipeline *p, const struct list_cfg *l,
    const char *addr, const char *intro, struct buf *res)
{
	char none[200];
	const char *vars[] = { "address", addr, "introduction",
	    introduction(p, l, intro, none, sizeof(none)), NULL };
	struct buf subject, body, app;
	int n = 0, rc;

	buf_init(&subject, 0);
	buf_init(&body, 0);
	buf_init(&app, 0);
	rc = distribute_render(p, l, disclosure_author_address(l, l->identity) ?
	    NOTICE_APPLICATION_OWNERS : NOTICE_APPLICATION_OWNERS_HIDDEN, vars,
	    &subject, &body);
	if (rc == 0)
		rc = application_bytes(p, l, buf_cstr(&subject),
		    buf_cstr(&body), &app);
	if (rc == 0)
		rc = distribute_roles_copy(p, l, app.data, app.len, &n);
	if (rc == 0 && n == 0)
		rc = store_hold(p->st, p->out[p->nout - 1], l->name,
		    "application", NULL) == STORE_OK ? 0 : -1;
	buf_free(&subject);
	buf_free(&body);
	buf_free(&app);
	if (rc < 0)
		return -1;
	log_info("%s confirm: list=%s application passed to the moderators "
	    "result=ok", p->qid, l->name);
	return request_piece(p, l, PIECE_DONE_APPLIED, NULL, res) < 0 ? -1 : 0;
}

/* subscribe - a confirmed subscription: admitted, or passed to the owners (subscription = "approve") */
static int
subscribe(struct pipeline *p, const struct list_cfg *l, const char *addr, const char *intro, const char *ps,
    struct buf *res)
{
	struct buf app;
	char text[300];
	int n = 0, rc;

	if ((rc = discipline_suspended(p, l, addr, text, sizeof(text))) < 0)
		return -1;
	if (rc) {
		const char *vars[] = { "day", text, NULL };

		log_info("%s confirm: list=%s a suspended address applied; refused result=permfail", p->qid, l->name);
		return request_piece(p, l, PIECE_DONE_SUSPENDED, vars,
		    res) < 0 ? -1 : 0;
	}
	if ((rc = store_banned(p->st, l->name, addr)) < 0)
		return -1;
	if (rc) {
		log_info("%s confirm: list=%s a banned address applied; refused result=permfail", p->qid, l->name);
		return request_piece(p, l, PIECE_DONE_BANNED, NULL, res) < 0 ?
		    -1 : 0;
	}
	if (l->subscription == SUB_VOUCH)
		return quorum_vouch(p, l, addr, ps, intro ? intro : "", res) < 0 ? -1 : 0;
	if (l->subscription == SUB_APPROVE && (n = store_moderator_count(p->st, l->name)) < 0)
		return -1;
	if (l->subscription == SUB_APPROVE && n > 0) {
		/*
		 * the moderators admit, by a quorum (leadership.quorum_admit, or all of them if fewer): each
		 * gets the introduction and a token of their own (quorum.c); the application is sealed
		 */
		int need = l->quorum[Q_ADMIT] < n ? l->quorum[Q_ADMIT] : n;
		char none[200];

		buf_init(&app, 0);
		/* sealed with the request: the address, the pseudonym asked for ("" none), the introduction */
		buf_printf(&app, "%s\n%s\n%.4000s", addr, ps,
		    introduction(p, l, intro, none, sizeof(none)));
		rc = store_pending_add(p->st, l->name, "admit", buf_cstr(&app), "@applicant", need, "new", p->now,
		    p->now + QUORUM_DAYS * 86400LL) < 0 ? -1 : 0;
		buf_free(&app);
		if (rc < 0)
			return -1;
		log_info("%s confirm: list=%s application passed to the moderators' quorum (%d) result=ok", p->qid,
		    l->name, need);
		return request_piece(p, l, PIECE_DONE_APPLIED, NULL, res) < 0 ?
		    -1 : 0;
	}
	if (l->subscription == SUB_APPROVE)
		return owners_application(p, l, addr, intro, res);
	/* an open list: admitted as 'mlistctl member add' admits (actions/) */
	{
		struct self s;

		self_open(&s, p);
		rc = act_member_add(&s.c, l, addr, NULL, NULL);
		if (self_close(&s, p, l, rc, "membership (joining)",
		    PIECE_DONE_WELCOME, NULL, res) < 0)
			return -1;
	}
	return rc == ACT_DONE ? 1 : 0;
}

/*
 * command_confirmed - a "command" token (taken by pipeline/tokens.c): the
 * commands sealed with it are done now, for the address that asked, and
 * the address is told what was done; an answer that does not say
 * "confirm" withdraws them. 1 done (or withdrawn), -1 error.
 */
int
command_confirmed(struct pipeline *p, const struct list_cfg *l, const struct store_token *tok,
    const struct buf *msg)
{
	struct buf plain, res;
	struct member m;
	char *addr, *line, *next, *intro = NULL, *ps, asked[256] = "";
	int rc, member, quiet = 0, answered = 0;

	/* only "confirm" (or "yes") does it: "I never asked" withdraws */
	if (reply_says((const char *)msg->data, msg->len, reply_confirm_words,
	    REPLY_CONFIRM_N, NULL, 0) < 0) {
		log_info("%s confirm: list=%s request not confirmed by its "
		    "address; withdrawn result=permfail", p->qid, l->name);
		return 1;
	}
	buf_init(&plain, 0);
	/* opened by the store, which sealed it to the token's row */
	if ((rc = buf_append(&plain, tok->bound.data, tok->bound.len)) < 0) {
		buf_free(&plain);
		return -1;
	}
	rc = 0;
	buf_init(&res, 0);
	addr = (char *)buf_cstr(&plain);
	if ((line = strchr(addr, '\n')) != NULL)
		*line++ = 0;
	member = store_member_find(p->st, l->name, addr, &m) == STORE_OK;
	if (member)
		member_free(&m);
	/* the introduction, if any, is last: "intro" on a line of its own, then the text */
	if (line && (intro = strncmp(line, "intro\n", 6) == 0 ? line : strstr(line, "\nintro\n")) != NULL) {
		if (intro == line)
			line = NULL;
		else
			*intro++ = 0;
		intro += 6;
	}
	/* the pseudonym a subscriber asked for goes with an application (approve, vouch) */
	if (line && ((ps = strncmp(line, "pseudonym ", 10) == 0 ? line : strstr(line, "\npseudonym ")) != NULL))
		snprintf(asked, sizeof(asked), "%.*s", (int)strcspn(ps + (*ps == '\n' ? 11 : 10), "\n"),
		    ps + (*ps == '\n' ? 11 : 10));
	for (; line && *line && rc >= 0; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = 0;
		if (!strncmp(line, "answer ", 7)) {
			/* an unverified reader's who/audit/archive */
			rc = request_answer_confirmed(p, l, addr, line + 7);
			answered = 1;
			continue;
		}
		if (!strcmp(line, "discipline-asked")) {
			/* an unverified request, now from the mailbox */
			rc = discipline_confirmed(p, l, addr,
			    intro ? intro : "");
			quiet = 1;	/* decide() has answered */
			break;
		}
		if (!strncmp(line, "discipline ", 11)) {
			/* a moderator's confirmed discipline step; the reason is the "intro" */
			if ((rc = discipline_apply(p, l, addr, atoll(line + 11), intro, &res)) == 1) {
				quiet = 1;	/* no longer a moderator: no answer at all */
				rc = 0;
				break;
			}
			continue;
		}
		if (!strcmp(line, "subscribe")) {
			if (!member && (rc = subscribe(p, l, addr, intro, asked, &res)) > 0)
				member = 1;
			else if (member)
				rc = request_piece(p, l, PIECE_DONE_MEMBER,
				    NULL, &res);
			continue;
		}
		rc = apply_line(p, l, addr, line, member, &res);
	}
	if (answered && res.len == 0)
		quiet = 1;	/* the answer went; nothing else was asked */
	if (rc >= 0 && res.len == 0 && !member && !quiet)
		rc = request_piece(p, l, PIECE_DONE_NOT_MEMBER, NULL, &res);
	if (rc >= 0 && !quiet) {
		const char *vars[] = { "done", buf_cstr(&res), NULL };

		rc = distribute_notice_tmpl(p, l, addr, NOTICE_REQUEST_DONE, vars, ENV_NULL, "", NULL);
	}
	buf_free(&res);
	buf_free(&plain);
	return rc < 0 ? -1 : 1;
}

