/*
 * confirm.c - confirmation of posts by the author's own mailbox.
 *
 * The finished, signed copy is held and a one-time token goes to the
 * member's address (never to the envelope sender, which anyone can forge).
 * A reply (or a mail to LIST-confirm+TOKEN@) that says "confirm" or "yes"
 * (pipeline/reply.c) releases it; any other answer - a protest above all -
 * drops it, and the moderators are told that a post in that member's name
 * was not confirmed (the author's own post held because it names them
 * ("post-own") is only dropped). A
 * token is random, stored only hashed, single use, expires after
 * CONFIRM_DAYS, belongs to one list, and is bound to the SHA-256 of the
 * held copy: what goes out is exactly what was confirmed, once.
 *
 * Also the issuing of tokens of every kind (confirm_token), which the
 * leadership modules use: so this file includes none of them. Which
 * handler a token reaches is decided in pipeline/tokens.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "leadership/confirm.h"
#include "mail/archive.h"
#include "mail/header.h"
#include "delivery/distribute.h"
#include "pipeline/disclosure.h"
#include "pipeline/identity.h"
#include "pipeline/pgprelease.h"
#include "pipeline/policy.h"
#include "pipeline/reply.h"
#include "util/log.h"

/*
 * confirm_token - a fresh single-use token of `kind` for addr, bound to out_id
 * and `bound`, stored hashed; its reply address goes into replyto as a
 * Reply-To header line. The token text comes back in token.
 */
int
confirm_token(struct pipeline *p, const struct list_cfg *l, const char *kind, const char *out_id,
    const void *bound, size_t blen, const char *addr, long long expires, char token[41], char *replyto, size_t rlen)
{
	unsigned char r[20];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(token, 41, r, sizeof(r));
	if (store_confirm_add(p->st, kind, token, l->name, out_id, bound, blen, addr, expires) != STORE_OK)
		return -1;
	snprintf(replyto, rlen, "Reply-To: <%s-confirm+%s@%s>\r\n", l->name, token, p->cfg->hostname);
	return 0;
}

/* confirm_request - hold the copy, send the token to the member */
int
confirm_request(struct pipeline *p, const struct list_cfg *l, const char *poster, const struct buf *copy,
    const char *why, char id[QID_LEN + 1])
{
	unsigned char r[20], hash[crypto_hash_sha256_BYTES];
	char token[41], addr[200], extra[300], days[16];
	const char *vars[] = { "found", why, "confirm_addr", addr, "days", days, NULL };

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(token, sizeof(token), r, sizeof(r));
	crypto_hash_sha256(hash, copy->data, copy->len);
	if (distribute_write(p, copy->data, copy->len, l->name, id) < 0 ||
	    store_hold(p->st, id, l->name, "confirm", NULL) != STORE_OK ||
	    store_confirm_add(p->st, why && *why ? "post-own" : "post", token,
	    l->name, id, hash, sizeof(hash), poster,
	    p->now + CONFIRM_DAYS * 86400LL) != STORE_OK)
		return -1;
	snprintf(addr, sizeof(addr), "%s-confirm+%s@%s", l->name, token, p->cfg->hostname);
	snprintf(extra, sizeof(extra), "Reply-To: <%s>\r\n", addr);
	snprintf(days, sizeof(days), "%d", CONFIRM_DAYS);
	/* a post that would identify them has its own wording */
	return distribute_notice_tmpl(p, l, poster, why && *why ? NOTICE_CONFIRM_POST_LEAK :
	    NOTICE_CONFIRM_POST, vars, ENV_NULL, extra, NULL);
}

struct forged {
	struct pipeline	*p;
	const struct list_cfg *l;
	const char *const *vars;
	enum notice_id	 what;
	int		 failed;
};

/* forged_one - a moderator or owner told of a post not confirmed */
static int
forged_one(const struct member *m, void *arg)
{
	struct forged *f = arg;

	if (!role_leads(m->role))
		return 0;
	if (distribute_notice_tmpl(f->p, f->l, m->addr, f->what, f->vars,
	    ENV_NULL, "", NULL) < 0) {
		f->failed = 1;
		return 1;
	}
	return 0;
}

/*
 * not_confirmed - a post in poster's name that they did not confirm
 * (they protested, or said nothing clear) is dropped, and the moderators
 * learn that someone posts in that name: by address only where the list
 * shows moderators the author's address. 0, -1 store error.
 */
static int
not_confirmed(struct pipeline *p, const struct list_cfg *l,
    const struct store_token *tok, const char *id)
{
	const char *vars[] = { "poster", tok->addr ? tok->addr : "", NULL };
	struct forged f = { p, l, vars, NOTICE_POST_NOT_CONFIRMED, 0 };

	if (pipeline_drop_later(p, id) < 0)
		return -1;
	/* the author's own post held because it names them: theirs to drop */
	if (strcmp(tok->kind, "post-own") == 0) {
		log_info("%s confirm: list=%s withdrawn by its author out=%s "
		    "result=ok", p->qid, l->name, id);
		return 0;
	}
	/* the mode the member posts in: a pseudonym on a real list hides too */
	if (!tok->addr || !disclosure_author_address(l,
	    identity_mode(p, l, tok->addr, 1)))
		f.what = NOTICE_POST_NOT_CONFIRMED_HIDDEN;
	if (store_member_each(p->st, l->name, forged_one, &f) < 0 || f.failed)
		return -1;
	log_info("%s confirm: list=%s not confirmed by the member it names; "
	    "dropped, moderators told out=%s result=permfail", p->qid, l->name,
	    id);
	return 0;
}

/*
 * confirm_post - a "post" or "post-own" token (taken by tokens.c): release
 * the held copy once, exactly as it was confirmed, or drop it when the
 * answer does not confirm it. 1 handled, 0 ignored,
 * -1 store error.
 */
int
confirm_post(struct pipeline *p, const struct list_cfg *l, const struct store_token *tok,
    const struct buf *msg)
{
	unsigned char got[crypto_hash_sha256_BYTES];
	const char *id = tok->out_id;
	char reason[64], out[QID_LEN + 1];
	struct envelope e;
	struct buf copy, why;
	int n = 0, rc;

	if (tok->bound.len != sizeof(got))
		return 0;
	if ((rc = store_held_take(p->st, l->name, id, reason, sizeof(reason))) != STORE_OK &&
	    rc != STORE_NOTFOUND)
		return -1;
	/* only "confirm" or "yes" releases it: a protest must not */
	if (reply_says((const char *)msg->data, msg->len, reply_confirm_words,
	    REPLY_CONFIRM_N, NULL, 0) < 0)
		return not_confirmed(p, l, tok, id) < 0 ? -1 : 1;
	buf_init(&copy, 0);
	buf_init(&why, 0);
	if (spool_read(p->sp, SPOOL_OUT, id, &e, &copy, &why) != 0) {
		log_err("%s confirm: list=%s held copy %s unreadable: %s", p->qid, l->name, id, buf_cstr(&why));
		buf_free(&copy);
		buf_free(&why);
		return 0;
	}
	envelope_free(&e);
	crypto_hash_sha256(got, copy.data, copy.len);
	buf_free(&why);
	if (memcmp(got, tok->bound.data, sizeof(got)) != 0) {
		buf_free(&copy);
		log_err("%s confirm: list=%s held copy %s changed since the token was sent; not distributed",
		    p->qid, l->name, id);
		return 0;
	}
	/* signed again if its pseudonym's key changed while it waited */
	if (pgprelease_held(p, l, id, &copy, out) < 0 ||
	    distribute_members(p, l, out, &n) < 0 ||
	    archive_distributed(p->st, l, p->now, copy.data, copy.len) < 0) {
		buf_free(&copy);
		return -1;
	}
	buf_free(&copy);
	log_info("%s confirm: list=%s confirmed out=%s rcpts=%d result=ok", p->qid, l->name, id, n);
	return 1;
}
