/*
 * confirm.c - confirmation of posts by the author's own mailbox.
 *
 * The finished, signed copy is held and a one-time token goes to the
 * member's address (never to the envelope sender, which anyone can forge).
 * Replying to the notice, or mailing LIST-confirm+TOKEN@, releases it. A
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
#include "pipeline/policy.h"
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
	    store_confirm_add(p->st, "post", token, l->name, id, hash, sizeof(hash), poster,
	    p->now + CONFIRM_DAYS * 86400LL) != STORE_OK)
		return -1;
	snprintf(addr, sizeof(addr), "%s-confirm+%s@%s", l->name, token, p->cfg->hostname);
	snprintf(extra, sizeof(extra), "Reply-To: <%s>\r\n", addr);
	snprintf(days, sizeof(days), "%d", CONFIRM_DAYS);
	/* a post that would identify them has its own wording */
	return distribute_notice_tmpl(p, l, poster, why && *why ? NOTICE_CONFIRM_POST_LEAK :
	    NOTICE_CONFIRM_POST, vars, ENV_NULL, extra, NULL);
}

/* says_withdraw - does the answer's Subject or first body line say "withdraw"? (our own header parser) */
static int
says_withdraw(const struct buf *msg)
{
	const char *m = (const char *)msg->data, *nl;
	struct hdr h;
	char *subj;
	size_t off;
	int yes = 0;

	if (hdr_parse(m, msg->len, &h) < 0)
		return 0;
	if ((subj = hdr_get_value(&h, "Subject")) != NULL)
		yes = strcasestr(subj, "withdraw") != NULL;
	free(subj);
	for (off = h.body_off; !yes && off < msg->len; off = (size_t)(nl - m) + 1) {
		while (off < msg->len && (m[off] == ' ' || m[off] == '\t'))
			off++;
		if ((nl = memchr(m + off, '\n', msg->len - off)) == NULL)
			nl = m + msg->len;
		if (nl - (m + off) <= 1)
			continue;	/* blank line */
		yes = (size_t)(nl - (m + off)) >= 8 && strncasecmp(m + off, "withdraw", 8) == 0;
		break;
	}
	hdr_free(&h);
	return yes;
}

/*
 * confirm_post - a "post" token (taken by tokens.c): release the held copy
 * once, exactly as it was confirmed, or withdraw it. 1 handled, 0 ignored,
 * -1 store error.
 */
int
confirm_post(struct pipeline *p, const struct list_cfg *l, const struct store_token *tok,
    const struct buf *msg)
{
	unsigned char got[crypto_hash_sha256_BYTES];
	const char *id = tok->out_id;
	char reason[64];
	struct envelope e;
	struct buf copy, why;
	int n = 0, rc;

	if (tok->bound.len != sizeof(got))
		return 0;
	if ((rc = store_held_take(p->st, l->name, id, reason, sizeof(reason))) != STORE_OK &&
	    rc != STORE_NOTFOUND)
		return -1;
	if (says_withdraw(msg)) {
		if (pipeline_drop_later(p, id) < 0)
			return -1;
		log_info("%s confirm: list=%s withdrawn by its author out=%s result=ok", p->qid, l->name, id);
		return 1;
	}
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
	if (distribute_members(p, l, id, &n) < 0 ||
	    archive_distributed(p->st, l, p->now, copy.data, copy.len) < 0) {
		buf_free(&copy);
		return -1;
	}
	buf_free(&copy);
	log_info("%s confirm: list=%s confirmed out=%s rcpts=%d result=ok", p->qid, l->name, id, n);
	return 1;
}
