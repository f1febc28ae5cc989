/*
 * tokens.c - the token table. Every confirmation token the list sends (a
 * post to confirm, a member's own key, sealed -request commands, a
 * moderator's decision, a quorum vote, a vouch, an OpenPGP key and the
 * cancelling of one that waits) comes back to
 * LIST-confirm+TOKEN@ or as "confirm TOKEN" to -request. It is taken with
 * one store look-up that says its kind, and the kind picks the handler;
 * what the answer says is reply.c's to decide, in each handler. A vote or
 * a moderator's decision is first looked at without being spent: only the
 * moderator's own authenticated mail may spend it.
 *
 * This file is the only one that knows every handler: confirm.c,
 * moderate.c, quorum.c, discipline.c and command.c include none of this,
 * so the leadership modules do not call each other in a circle.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "leadership/command.h"
#include "leadership/confirm.h"
#include "leadership/moderate.h"
#include "leadership/quorum.h"
#include "pipeline/authn.h"
#include "pipeline/pgpin.h"
#include "pipeline/pgpin_key.h"
#include "pipeline/pgpin_open.h"
#include "pipeline/pgpreplace.h"
#include "pipeline/reply.h"
#include "pipeline/tokens.h"
#include "util/log.h"

typedef int (*token_fn)(struct pipeline *, const struct list_cfg *, const struct store_token *,
    const struct buf *);
/* a handler that judges who answered (pgpin.c: a first OpenPGP key) */
typedef int (*token_env_fn)(struct pipeline *, const struct list_cfg *,
    const struct store_token *, const struct envelope *, const struct buf *);

static int token_key(struct pipeline *, const struct list_cfg *, const struct store_token *,
    const struct buf *);
static int take(struct pipeline *, const struct listaddr *,
    const struct envelope *, const struct buf *, struct why *);

/* kind -> handler: each returns 1 handled (or ignored, and said so), -1 store error */
static const struct token_kind {
	const char	*kind;
	token_fn	 fn;
	token_env_fn	 efn;
} token_kinds[] = {
	{ "post",	confirm_post,	NULL },
	{ "post-own",	confirm_post,	NULL },	/* held: it names its author */
	{ "key",	token_key,	NULL },
	{ "command",	command_confirmed,	NULL },
	{ "moderate",	moderate_answer,	NULL },
	{ "quorum",	quorum_answer,	NULL },
	{ "vouch",	quorum_answer,	NULL },
	{ "pgpkey",	NULL,	pgpin_key_confirmed },
	{ "pgpcancel",	pgpreplace_cancelled,	NULL },
};

/* token_key - a "key" token: the member's own signing key is registered */
static int
token_key(struct pipeline *p, const struct list_cfg *l, const struct store_token *tok,
    const struct buf *msg)
{
	int rc = STORE_NOTFOUND;

	if (reply_says((const char *)msg->data, msg->len, reply_confirm_words,
	    REPLY_CONFIRM_N, NULL, 0) < 0) {
		log_info("%s confirm: list=%s key token answered without "
		    "\"confirm\"; withdrawn result=permfail", p->qid, l->name);
		return 1;
	}
	if (tok->addr)
		rc = store_member_set_key(p->st, l->name, tok->addr, tok->bound.data, tok->bound.len);
	if (rc == STORE_NOTFOUND) {
		log_info("%s confirm: list=%s key token of an address that is no longer a member; "
		    "ignored result=permfail", p->qid, l->name);
		return 1;
	}
	if (rc != STORE_OK)
		return -1;
	log_info("%s confirm: list=%s a member's own key registered result=ok", p->qid, l->name);
	return 1;
}

/*
 * holder - is this mail authenticated as the person the token went to
 * (DKIM-aligned for their domain, or signed by the OpenPGP key registered
 * for them with the token inside what was signed - in clear or inside
 * the encryption to the list, checked in the worker - and From: their own
 * address)? A vote, a vouch or a moderator's decision is theirs only
 * then: whoever else reads their notice (a provider, a forwarder) must not
 * act in their name. An answer encrypted to the list comes back opened
 * (its words are read there). 1 yes, 0 no, -1 DNS or the worker cannot
 * answer now.
 */
static int
holder(struct pipeline *p, const struct listaddr *la,
    const struct envelope *e, const struct buf *msg,
    const struct store_token *tok, struct buf *opened, struct why *why)
{
	struct authn au;
	char from[320];
	int sure, signed_ = 0;

	if (!tok->addr)
		return 0;
	if (authn_check(p, e, msg, &au, why) != OK)
		return -1;
	if (au.automatic)
		return 0;
	sure = authn_vouches(&au, tok->addr);
	if ((!sure || pgpin_looks_encrypted(msg->data, msg->len)) &&
	    (signed_ = pgpin_answer_signed(p, la->list, tok->addr, la->token,
	    msg, opened)) < 0) {
		why_cause(why, "the answer's OpenPGP signature",
		    store_errmsg(p->st));
		return -1;
	}
	if ((!sure && !signed_) || reply_from((const char *)msg->data,
	    msg->len, from, sizeof(from)) < 0 ||
	    strcasecmp(from, tok->addr) != 0)
		return 0;
	if (!sure)
		log_info("%s confirm: list=%s a %s answer signed by the "
		    "moderator's registered OpenPGP key", p->qid,
		    la->list->name, tok->kind);
	return 1;
}

/* needs_holder - kinds whose answer counts only from their holder */
static int
needs_holder(const struct store_token *tok)
{
	/*
	 * mlistctl's own tokens (operator), and those of someone no longer a
	 * member, are refused by their handler as tokens that no longer count
	 */
	return !tok->operator && tok->addr &&
	    (strcmp(tok->kind, "moderate") == 0 ||
	    strcmp(tok->kind, "quorum") == 0 ||
	    strcmp(tok->kind, "vouch") == 0);
}

/*
 * judged - may this mail spend the token? Looked at before it is taken: a
 * stranger holding a moderator's token neither acts with it nor uses it
 * up. 1 yes, 0 no (logged, nothing counted, nobody answered: the same as
 * for a token that does not exist), -1 error (cause in why).
 */
static int
judged(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, struct buf *opened, struct why *why)
{
	const struct list_cfg *l = la->list;
	struct store_token tok;
	int rc;

	if ((rc = store_confirm_peek(p->st, la->token, l->name, p->now,
	    &tok)) == STORE_NOTFOUND)
		return 1;	/* tokens_handle says so */
	if (rc != STORE_OK) {
		why_cause(why, "confirm", store_errmsg(p->st));
		return -1;
	}
	rc = needs_holder(&tok) ? holder(p, la, e, msg, &tok, opened, why) : 1;
	if (rc == 0)
		log_info("%s confirm: list=%s a %s answer not authenticated as "
		    "the %s it was sent to; nothing counted, not spent "
		    "result=permfail", p->qid, l->name, tok.kind,
		    strcmp(tok.kind, "vouch") == 0 ? "member" : "moderator");
	buf_free(&tok.bound);
	free(tok.addr);
	return rc;
}

/*
 * tokens_handle - take the token and hand it to its kind's handler. An
 * unknown, used or expired token changes nothing and answers nobody;
 * automatic mail (authn_automatic) never spends one, nor a vote or a
 * moderator's decision from anyone but that moderator (judged).
 * 1 handled, 0 ignored, -1 error (cause in why; the transaction is
 * retried).
 */
int
tokens_handle(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, struct why *why)
{
	const struct list_cfg *l = la->list;
	struct buf opened;
	int rc = 0;

	/* a vacation reply to a token must not release a post forged in its owner's name */
	if (authn_automatic(e, msg)) {
		log_info("%s confirm: list=%s automatic mail to a token; not spent result=permfail",
		    p->qid, l->name);
		return 0;
	}
	buf_init(&opened, 0);
	if ((rc = judged(p, la, e, msg, &opened, why)) > 0)
		rc = take(p, la, e, opened.len ? &opened : msg, why);
	sodium_memzero(opened.data, opened.cap);
	buf_free(&opened);
	return rc;
}

/* take - the token spent, its kind's handler run over what the mail says */
static int
take(struct pipeline *p, const struct listaddr *la, const struct envelope *e,
    const struct buf *msg, struct why *why)
{
	const struct list_cfg *l = la->list;
	struct store_token tok;
	int rc;
	size_t i;

	if ((rc = store_confirm_take(p->st, la->token, l->name, p->now, &tok)) == STORE_NOTFOUND) {
		log_info("%s confirm: list=%s token unknown, used or expired; ignored result=permfail",
		    p->qid, l->name);
		return 0;
	}
	if (rc != STORE_OK) {
		why_cause(why, "confirm", store_errmsg(p->st));
		return -1;
	}
	for (i = 0; i < sizeof(token_kinds) / sizeof(token_kinds[0]); i++)
		if (strcmp(token_kinds[i].kind, tok.kind) == 0)
			break;
	if (i < sizeof(token_kinds) / sizeof(token_kinds[0]))
		rc = token_kinds[i].efn ?
		    token_kinds[i].efn(p, l, &tok, e, msg) :
		    token_kinds[i].fn(p, l, &tok, msg);
	else {
		log_warn("%s confirm: list=%s token of an unknown kind \"%s\"; spent, ignored "
		    "result=permfail", p->qid, l->name, tok.kind);
		rc = 0;
	}
	if (rc < 0)
		why_cause(why, "confirm", store_errmsg(p->st));
	buf_free(&tok.bound);
	free(tok.addr);
	return rc;
}
