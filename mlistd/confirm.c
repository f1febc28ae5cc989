/*
 * confirm.c - confirmation of posts by the author's own mailbox.
 *
 * The finished, signed copy is held and a one-time token goes to the
 * member's address (never to the envelope sender, which anyone can forge).
 * Replying to the notice, or mailing LIST-confirm+TOKEN@, releases it. A
 * token is random, stored only hashed, single use, expires after
 * CONFIRM_DAYS, belongs to one list, and is bound to the SHA-256 of the
 * held copy: what goes out is exactly what was confirmed, once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "confirm.h"
#include "mail/archive.h"
#include "mail/header.h"
#include "mail/pseudonym.h"
#include "fanout.h"
#include "policy.h"
#include "util/log.h"

/* confirm_request - hold the copy, send the token to the member */
int
confirm_request(struct pipeline *p, const struct list_cfg *l, const char *poster, const struct buf *copy,
    const char *why, char id[QID_LEN + 1])
{
	unsigned char r[20], hash[crypto_hash_sha256_BYTES];
	char token[41], addr[200], extra[300], text[2000];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(token, sizeof(token), r, sizeof(r));
	crypto_hash_sha256(hash, copy->data, copy->len);
	if (fanout_write(p, copy->data, copy->len, l->name, id) < 0 ||
	    store_hold(p->st, id, l->name, "confirm", NULL) != STORE_OK ||
	    store_confirm_add(p->st, "post", token, l->name, id, hash, sizeof(hash), poster,
	    p->now + CONFIRM_DAYS * 86400LL) != STORE_OK)
		return -1;
	snprintf(addr, sizeof(addr), "%s-confirm+%s@%s", l->name, token, p->cfg->hostname);
	snprintf(extra, sizeof(extra), "Reply-To: <%s>\r\n", addr);
	if (why && *why)
		snprintf(text, sizeof(text), "%s\n"
		    "If you want it to go out as it is, reply to this message (the reply goes to\n%s),\n"
		    "or send any message to that address, within %d days.\n\n"
		    "To withdraw it, reply with the word \"withdraw\" (or do nothing: after %d days it\n"
		    "is gone). Then send a corrected post.", why, addr, CONFIRM_DAYS, CONFIRM_DAYS);
	else
		snprintf(text, sizeof(text),
		    "The list %s@%s received a post in your name. It goes out only when you confirm\n"
		    "that you sent it: reply to this message (the reply goes to %s),\n"
		    "or send any message to that address, within %d days.\n\n"
		    "If you did not send it, do nothing (or answer \"withdraw\"): it will not be distributed.",
		    l->name,
		    p->cfg->hostname, addr, CONFIRM_DAYS);
	return fanout_notice_ex(p, l, poster, "Confirm your post to the list", text, ENV_NULL, extra);
}

/* confirm_pseudonym - a "set pseudonym" token: 1 taken, 0 not a pseudonym token, -1 store error */
static int
confirm_pseudonym(struct pipeline *p, const struct listaddr *la)
{
	char sk[SKELETON_MAX], why[160], h[24], name[260];
	struct buf sealed, plain;
	int rc;

	buf_init(&sealed, 0);
	buf_init(&plain, 0);
	if ((rc = store_confirm_bound(p->st, la->token, la->list->name, "pseudonym", p->now, &sealed)) != STORE_OK) {
		buf_free(&sealed);
		return rc == STORE_NOTFOUND ? 0 : -1;
	}
	rc = keys_open(p->keys, sealed.data, sealed.len, &plain);
	buf_free(&sealed);
	if (rc < 0 || plain.len >= sizeof(name)) {
		buf_free(&plain);
		return 0;
	}
	memcpy(name, plain.data, plain.len);
	name[plain.len] = 0;
	buf_free(&plain);
	handle_generate(h, sizeof(h));
	if (pseudonym_check(name, sk, sizeof(sk), why, sizeof(why)) < 0)
		return 0;
	rc = store_confirm_pseudonym(p->st, la->token, la->list->name, name, sk, h);
	if (rc == STORE_EXISTS) {
		log_info("%s confirm: list=%s pseudonym taken by another member meanwhile result=permfail", p->qid,
		    la->list->name);
		return 1;
	}
	if (rc != STORE_OK)
		return -1;
	log_info("%s confirm: list=%s a member's pseudonym set result=ok", p->qid, la->list->name);
	return 1;
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

/* confirm_handle - mail to LIST-confirm+TOKEN@: release the held copy once (or withdraw it) */
int
confirm_handle(struct pipeline *p, const struct listaddr *la, const struct buf *msg)
{
	unsigned char want[crypto_hash_sha256_BYTES], got[crypto_hash_sha256_BYTES];
	char id[QID_LEN + 8];
	struct envelope e;
	struct buf copy, why;
	int n = 0, rc;

	if ((rc = store_confirm_use_key(p->st, la->token, la->list->name, p->now)) == STORE_OK) {
		log_info("%s confirm: list=%s a member's own key registered result=ok", p->qid, la->list->name);
		return 1;
	}
	if (rc != STORE_NOTFOUND)
		return -1;
	if ((rc = confirm_pseudonym(p, la)) != 0)
		return rc;
	if ((rc = store_confirm_use(p->st, la->token, la->list->name, p->now, id, sizeof(id), want,
	    sizeof(want))) == STORE_NOTFOUND) {
		log_info("%s confirm: list=%s token unknown, used or expired; ignored result=permfail", p->qid,
		    la->list->name);
		return 0;
	}
	if (rc != STORE_OK)
		return -1;
	if (says_withdraw(msg)) {
		spool_remove(p->sp, SPOOL_OUT, id);
		log_info("%s confirm: list=%s withdrawn by its author out=%s result=ok", p->qid, la->list->name, id);
		return 1;
	}
	buf_init(&copy, 0);
	buf_init(&why, 0);
	if (spool_read(p->sp, SPOOL_OUT, id, &e, &copy, &why) != 0) {
		log_err("%s confirm: list=%s held copy %s unreadable: %s", p->qid, la->list->name, id, buf_cstr(&why));
		buf_free(&copy);
		buf_free(&why);
		return 0;
	}
	envelope_free(&e);
	crypto_hash_sha256(got, copy.data, copy.len);
	buf_free(&why);
	if (memcmp(got, want, sizeof(got)) != 0) {
		buf_free(&copy);
		log_err("%s confirm: list=%s held copy %s changed since the token was sent; not distributed",
		    p->qid, la->list->name, id);
		return 0;
	}
	if (fanout_members(p, la->list, id, &n) < 0 ||
	    archive_add(p->st, la->list, p->now, copy.data, copy.len) < 0) {
		buf_free(&copy);
		return -1;
	}
	buf_free(&copy);
	log_info("%s confirm: list=%s confirmed out=%s rcpts=%d result=ok", p->qid, la->list->name, id, n);
	return 1;
}
