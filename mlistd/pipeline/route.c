/*
 * route.c - the routing table: the kind of a list address (and, for
 * LIST-owner+SUB@, the sub-address) names the handler of the mail. Every
 * handler answers OK when the mail is finished, whatever became of it, or
 * TEMPFAIL with its cause in why (the queue manager retries the whole
 * transaction). The small handlers that only adapt a module live here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/actions.h"
#include "delivery/bounce.h"
#include "delivery/distribute.h"
#include "leadership/discipline.h"
#include "pipeline/post.h"
#include "pipeline/relay.h"
#include "pipeline/route.h"
#include "pipeline/tokens.h"
#include "util/log.h"

typedef enum result (*route_fn)(struct pipeline *, const struct listaddr *, const struct envelope *,
    const struct buf *, int *, struct why *);

static enum result route_discipline(struct pipeline *, const struct listaddr *,
    const struct envelope *, const struct buf *, int *, struct why *);
static enum result route_bounce(struct pipeline *, const struct listaddr *, const struct envelope *,
    const struct buf *, int *, struct why *);
static enum result route_confirm(struct pipeline *, const struct listaddr *, const struct envelope *,
    const struct buf *, int *, struct why *);
static enum result route_one_click(struct pipeline *, const struct listaddr *,
    const struct envelope *, const struct buf *, int *, struct why *);

/* address kind (and sub-address: NULL any, "" none) -> handler; the first row that fits */
static const struct route {
	enum addr_kind	 kind;
	const char	*sub;
	route_fn	 fn;
} routes[] = {
	{ ADDR_POST,		NULL,		post_handle },		/* LIST@ */
	{ ADDR_REQUEST,		NULL,		relay_request },	/* LIST-request@ */
	{ ADDR_OWNER,		"discipline",	route_discipline },	/* LIST-owner+discipline@ */
	{ ADDR_OWNER,		"announce",	relay_announce },	/* LIST-owner+announce@ */
	{ ADDR_OWNER,		"",		relay_owner },		/* LIST-owner@ */
	{ ADDR_OWNER,		NULL,		relay_owner_answer },	/* LIST-owner+HANDLE@ */
	{ ADDR_BOUNCES,		NULL,		route_bounce },		/* LIST-bounces+TOKEN@ */
	{ ADDR_CONFIRM,		NULL,		route_confirm },	/* LIST-confirm+TOKEN@ */
	{ ADDR_PRIVATE,		NULL,		relay_private },	/* LIST+p-HANDLE@ */
	{ ADDR_UNSUBSCRIBE,	NULL,		route_one_click },	/* LIST-unsubscribe+TOKEN@ */
};

/* route_discipline - a moderator asks for a discipline step (confirmed from their mailbox) */
static enum result
route_discipline(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, int *quarantine, struct why *why)
{
	(void)quarantine;
	if (discipline_request(p, la->list, e, msg) < 0) {
		why_cause(why, "discipline request", store_errmsg(p->st));
		return TEMPFAIL;
	}
	return OK;
}

/* route_bounce - a DSN to a VERP address raises the member's bounce score */
static enum result
route_bounce(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, int *quarantine, struct why *why)
{
	(void)quarantine;
	(void)why;
	(void)bounce_handle(p, la, e->sender, msg);	/* a bounce that cannot be read is only logged */
	return OK;
}

/* route_confirm - a token comes back: the token table decides */
static enum result
route_confirm(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, int *quarantine, struct why *why)
{
	(void)quarantine;
	if (tokens_handle(p, la, e, msg, why) < 0)
		return TEMPFAIL;
	return OK;
}

/*
 * leave - the member leaves as a confirmed "unsubscribe" does (actions/,
 * actor "member": the same audit entry); -1 with the cause in why
 */
static int
leave(struct pipeline *p, const struct list_cfg *l, const char *addr,
    struct why *why)
{
	struct buf out, err;
	struct act_ctx c = { .p = p, .actor = "member", .out = &out,
	    .err = &err };
	int rc;

	buf_init(&out, 0);
	buf_init(&err, 0);
	rc = act_member_leave(&c, l, addr);
	if (rc != ACT_DONE)
		why_cause(why, "one-click unsubscription", buf_cstr(&err));
	buf_free(&out);
	buf_free(&err);
	return rc == ACT_DONE ? 0 : -1;
}

/*
 * route_one_click - an RFC 8058 one-click unsubscription (the HTTP endpoint
 * spools it to LIST-unsubscribe+TOKEN@; mail to that address does the same):
 * the token alone is the authority, no confirmation. An unknown token, or a
 * list without one_click_url, changes nothing and answers nobody.
 */
static enum result
route_one_click(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, int *quarantine, struct why *why)
{
	const struct list_cfg *l = la->list;
	long long id = *l->one_click_url ? keys_oneclick_member(p->keys, l->name, la->token) : -1;
	char *addr = id > 0 ? store_member_addr_by_id(p->st, l->name, id) : NULL;
	enum result r = OK;

	(void)e;
	(void)msg;
	(void)quarantine;
	if (!addr) {
		log_info("%s qmgr: list=%s one-click unsubscription with %s result=ignored", p->qid,
		    l->name, *l->one_click_url ? "a token that names no member" : "one_click_url unset");
		return OK;
	}
	if (leave(p, l, addr, why) < 0)
		r = TEMPFAIL;
	else if (distribute_notice_tmpl(p, l, addr, NOTICE_LEFT_ONE_CLICK, NULL,
	    ENV_NULL, "", NULL) < 0) {
		why_cause(why, "one-click unsubscription: the notice", store_errmsg(p->st));
		r = TEMPFAIL;
	} else
		log_info("%s qmgr: list=%s a member left by one-click result=ok", p->qid, l->name);
	free(addr);
	return r;
}

/* route_message - the handler for the address; OK finished, TEMPFAIL retry (cause in why) */
enum result
route_message(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, int *quarantine, struct why *why)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];

		if (r->kind != la->kind || (r->sub && strcmp(r->sub, la->token) != 0))
			continue;
		return r->fn(p, la, e, msg, quarantine, why);
	}
	return OK;	/* ADDR_NONE: nothing of ours */
}
