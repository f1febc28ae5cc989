/*
 * pgpin.c - a member's OpenPGP key registered from their own client's mail.
 *
 * "key" at LIST-request (or a key riding on "subscribe"): the key is found
 * in the mail and judged by the engine (refused kinds say why) in the
 * sandboxed worker (pgpin_key.c: the queue manager imports only the
 * minimal key it re-exported), and a token goes back to the mailbox
 * ENCRYPTED TO THAT KEY: only
 * who holds both the mailbox and the secret key can answer it. The token
 * is inside the encryption only: a plain Reply-To would let the owner of a
 * forged From confirm a stranger's key by replying to mail they cannot read.
 *
 * The mailbox is not enough, though: whoever reads the member's incoming
 * mail can answer a token encrypted to a key of their own. So a first key
 * is stored only when the request or the answer came from an authenticated
 * sender (pipeline/authn.c), and a key replacing a registered one only
 * when the old key signed for it; otherwise it waits (pipeline/
 * pgpreplace.c). The token's bound bytes remember how the request came
 * (pgpin_bound_parse), pgpin_decide says what an answer does. The token
 * mail to an unauthenticated sender is a second answer: it counts against
 * the instance's answer budget.
 *
 * No oracle: a stranger, a member and a forged sender get the same words
 * and the same encrypted mail; for a stranger the token is never stored.
 * Nothing here names the key: no fingerprint, key ID or UID goes into a
 * log line, an answer or a header (the key's UID carries its owner's name).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "delivery/distribute.h"
#include "leadership/confirm.h"
#include "mail/header.h"
#include "mail/listpgp.h"
#include "mail/pgpkeyin.h"
#include "pipeline/authn.h"
#include "pipeline/pgpin.h"
#include "pipeline/pgpin_key.h"
#include "pipeline/pgpnotice.h"
#include "pipeline/pgpreplace.h"
#include "pipeline/pgpwhy.h"
#include "pipeline/sign.h"
#include "util/log.h"

#define TOKEN_KIND	"pgpkey"

/* send_token - the token notice, encrypted to the key it registers */
static int
send_token(struct pipeline *p, const struct list_cfg *l, const char *to,
    const char *token, const struct openpgp_key *key)
{
	char addr[300], days[16];
	const char *vars[] = { "confirm_addr", addr, "days", days, NULL };

	snprintf(addr, sizeof(addr), "%s-confirm+%s@%s", l->name, token,
	    p->cfg->hostname);
	snprintf(days, sizeof(days), "%d", CONFIRM_DAYS);
	return pgpnotice_send(p, l, to, NOTICE_PGP_KEY_CONFIRM, vars, addr,
	    key);
}

/* same_key - 1 if bin (a stored minimal key) has fingerprint fpr */
static int
same_key(const struct buf *bin, const char *fpr)
{
	struct openpgp_key k;
	char why[OPENPGP_WHY_SIZE];
	int same;

	/* a stored key that no longer imports (expired) still names its key */
	if (openpgp_key_import(bin->data, bin->len, OPENPGP_BINARY, &k, why,
	    sizeof(why)) != OK)
		return 0;
	same = strcmp(k.fpr, fpr) == 0;
	openpgp_key_free(&k);
	return same;
}

/*
 * merge_expiry - the member's registered key sent again with a later
 * expiry (a new self-signature: only the key's holder can make one) is
 * taken at once, without a token. An earlier expiry is not: an old copy
 * of the key is public and anyone could send it.
 */
static int
merge_expiry(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const struct openpgp_key *key)
{
	struct buf old;
	long long exp = 0;
	int rc;

	buf_init(&old, 0);
	rc = store_member_pgp_get(p->st, l->name, addr, &old, &exp);
	if (rc == 1 && exp != 0 && (key->expires == 0 || key->expires > exp) &&
	    same_key(&old, key->fpr)) {
		rc = store_member_pgp_put(p->st, l->name, addr, key->bin.data,
		    key->bin.len, key->fpr, (long long)key->expires);
		if (rc == STORE_OK)
			log_info("%s request: list=%s a member's OpenPGP key's expiry "
			    "extended result=ok", p->qid, l->name);
		rc = rc == STORE_OK ? 0 : -1;
	} else if (rc >= 0)
		rc = 0;
	buf_free(&old);
	return rc;
}

/*
 * pending - the token kept for a member or a subscriber: the address, a
 * line of flags and the token's hash (pgpin_bound_parse), then the key
 */
static int
pending(struct pipeline *p, const struct list_cfg *l, const char *to,
    const struct openpgp_key *key, const char *token, unsigned flags)
{
	struct buf plain;
	char th[PGPREPLACE_TOKEN_HASH_HEX];
	int rc = -1;

	buf_init(&plain, 0);
	pgpreplace_token_hash(token, th);
	/* the key names its owner: the store seals this kind's bound bytes */
	if (buf_printf(&plain, "%s\n%u%s\n", to, flags & 7, th) >= 0 &&
	    buf_append(&plain, key->bin.data, key->bin.len) == 0 &&
	    store_confirm_add(p->st, TOKEN_KIND, token, l->name, "",
	    plain.data, plain.len, to, p->now + CONFIRM_DAYS * 86400LL) ==
	    STORE_OK)
		rc = 0;
	sodium_memzero(plain.data, plain.cap);
	buf_free(&plain);
	return rc;
}

/*
 * pgpin_bound_parse - a "pgpkey" token's bound bytes (NUL-terminated
 * address line written in place): 0 and the parts, -1 malformed
 */
int
pgpin_bound_parse(char *b, size_t len, struct pgpin_bound *out)
{
	char *nl, *nl2;

	memset(out, 0, sizeof(*out));
	if ((nl = memchr(b, '\n', len)) == NULL)
		return -1;
	*nl = 0;
	out->addr = b;
	nl++;
	len -= (size_t)(nl - b);
	nl2 = memchr(nl, '\n', len);
	if (nl2 == NULL || nl2 - nl != PGPREPLACE_TOKEN_HASH_HEX ||
	    *nl < '0' || *nl > '7')
		return -1;
	out->flags = (unsigned)(*nl - '0');
	memcpy(out->token_hash, nl + 1, PGPREPLACE_TOKEN_HASH_HEX - 1);
	out->token_hash[PGPREPLACE_TOKEN_HASH_HEX - 1] = 0;
	out->key = nl2 + 1;
	out->keylen = len - (size_t)(nl2 + 1 - nl);
	return out->keylen ? 0 : -1;
}

/*
 * pgpin_decide - what an answered token does (pure): a first key needs
 * an authenticated request or answer (the mailbox alone is what a reader
 * of it has); a key replacing another takes effect at once only when the
 * old key signed for it, and otherwise waits (the old key's holder hears)
 */
enum pgpin_action
pgpin_decide(int has_old, int same, unsigned flags, int answer_sure,
    int answer_oldsig)
{
	if (has_old && !same)
		return (flags & PGPKEY_OLDSIG) || answer_oldsig ?
		    PGPIN_REPLACE_NOW : PGPIN_REPLACE_LATER;
	if (has_old)
		return PGPIN_REGISTER;	/* the same key: nothing to protect */
	return (flags & PGPKEY_SURE) || answer_sure ? PGPIN_REGISTER :
	    PGPIN_UNVERIFIED;
}

/*
 * budget - may the encrypted token go to an unauthenticated sender? It
 * counts against the instance's hourly answers (store_authn.c), like the
 * plain answer before it: a flood of forged "key" mails costs mlistd two
 * mails each otherwise. 1 yes, 0 no (logged by authn.c).
 */
static int
budget(struct pipeline *p, const char *to, unsigned how)
{
	struct authn claim;

	if (how & PGPIN_SURE)
		return 1;
	memset(&claim, 0, sizeof(claim));
	claim.level = AUTHN_CLAIM;
	return authn_may_reply(p, &claim, to);
}

/* old_key - the member's registered key, imported; 1, 0 none, -1 error */
static int
old_key(struct pipeline *p, const struct list_cfg *l, const char *addr,
    struct buf *bin, struct openpgp_key *k)
{
	char why[OPENPGP_WHY_SIZE];
	int rc;

	memset(k, 0, sizeof(*k));
	if ((rc = store_member_pgp_get(p->st, l->name, addr, bin, NULL)) <= 0)
		return rc < 0 ? -1 : 0;
	/*
	 * a key that no longer imports (expired, revoked) can neither sign
	 * for its successor nor be told of it: it protects nothing, and the
	 * new key is judged as a first one
	 */
	rc = openpgp_key_import(bin->data, bin->len, OPENPGP_BINARY, k, why,
	    sizeof(why));
	if (rc == TEMPFAIL)
		return -1;
	return rc == OK;
}

/* key_words - a piece of the key answers appended to b (pieces); -1 none */
static int
key_words(struct pipeline *p, const struct list_cfg *l, enum piece_id id,
    const char *const *vars, struct buf *b)
{
	struct notice_ctx ctx = { l->name, p->cfg->hostname };

	return notice_piece(l->notices, p->cfg->notices, id, &ctx, vars, b);
}

/*
 * old_signed - did the registered key sign for the key offered (flags get
 * PGPKEY_OLDSIG)? A mail signed by the registered key may carry the new
 * key inside while its Autocrypt header still names the old one
 * (Thunderbird): then the key inside is the one offered, in place of *key.
 * The worker checked the signature; inbin is the key it found inside.
 */
static int
old_signed(struct pipeline *p, const struct list_cfg *l, const char *to,
    const struct buf *inbin, struct openpgp_key *key, unsigned *flags)
{
	struct openpgp_key old, in;
	struct buf bin;
	char why[OPENPGP_WHY_SIZE];
	int rc;

	if (inbin->len == 0)
		return 0;
	buf_init(&bin, 0);
	if ((rc = old_key(p, l, to, &bin, &old)) == 1 &&
	    openpgp_key_import(inbin->data, inbin->len, OPENPGP_BINARY, &in,
	    why, sizeof(why)) == OK) {
		if (strcmp(in.fpr, old.fpr) != 0 &&
		    (strcmp(key->fpr, old.fpr) == 0 ||
		    strcmp(key->fpr, in.fpr) == 0)) {
			*flags |= PGPKEY_OLDSIG;
			openpgp_key_free(key);
			*key = in;
		} else
			openpgp_key_free(&in);
	}
	if (rc == 1)
		openpgp_key_free(&old);
	buf_free(&bin);
	return rc < 0 ? -1 : 0;
}

/*
 * offered - the key in the mail, by the worker (pgpin_key.c), with the
 * registered key of a member sent along to see whether it signed for it;
 * 0 (f filled), -1 not yet or error
 */
static int
offered(struct pipeline *p, const struct list_cfg *l, const char *to,
    const void *msg, size_t len, int *member, struct pgpin_found *f)
{
	struct member m;
	struct buf old;
	int rc = 0;

	buf_init(&old, 0);
	*member = store_member_find(p->st, l->name, to, &m) == STORE_OK;
	if (*member) {
		member_free(&m);
		rc = store_member_pgp_get(p->st, l->name, to, &old, NULL);
	}
	if (rc >= 0)
		rc = pgpin_key_find(p, l, to, msg, len, &old, 1, f);
	buf_free(&old);
	return rc < 0 ? -1 : 0;
}

/* pgpin_key_request - the key in a -request mail: a token encrypted to it */
int
pgpin_key_request(struct pipeline *p, const struct list_cfg *l,
    const char *to, const void *msg, size_t len, unsigned how,
    struct buf *b)
{
	struct pgpin_found f;
	struct openpgp_key key;
	char token[41], days[16];
	unsigned char r[20];
	unsigned flags = (how & PGPIN_SURE) ? PGPKEY_SURE : 0;
	int rc, member, sent = 0;

	if (offered(p, l, to, msg, len, &member, &f) < 0) {
		pgpin_found_free(&f);
		return -1;
	}
	if (f.status == PGPIN_KEY_NONE) {
		pgpin_found_free(&f);
		if ((how & PGPIN_ASKED) &&
		    key_words(p, l, PIECE_PGP_NO_KEY, NULL, b) < 0)
			return -1;
		return (how & PGPIN_ASKED) != 0;
	}
	if (f.status != PGPIN_KEY_FOUND) {
		/*
		 * the key's own fault, the same for anyone who sends it: the
		 * engine's words to the log, the member reads our code's piece
		 */
		struct notice_ctx ctx = { l->name, p->cfg->hostname };
		char words[300];

		pgpwhy_words(l->notices, p->cfg->notices, &ctx, f.why,
		    REASON_PGP_ERROR, words, sizeof(words));
		if (key_words(p, l, PIECE_PGP_KEY_UNUSABLE,
		    (const char *[]){ "why", words, NULL }, b) < 0) {
			pgpin_found_free(&f);
			return -1;
		}
		log_info("%s request: list=%s reason=%s (%s) an OpenPGP key "
		    "refused result=permfail", p->qid, l->name,
		    reason_code(pgpwhy_reason(f.why)), f.why);
		pgpin_found_free(&f);
		return 1;
	}
	key = f.key;	/* ours now */
	f.status = PGPIN_KEY_NONE;
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(token, sizeof(token), r, sizeof(r));
	rc = 0;
	if (member && (rc = merge_expiry(p, l, to, &key)) == 0)
		rc = old_signed(p, l, to, &f.in, &key, &flags);
	pgpin_found_free(&f);
	/* the words stay the same when the budget withholds the token */
	if (rc == 0 && (sent = budget(p, to, how))) {
		/* a stranger's token is never stored: it opens nothing */
		if (member || (how & PGPIN_SUBSCRIBING))
			rc = pending(p, l, to, &key, token, flags);
		if (rc == 0)
			rc = send_token(p, l, to, token, &key);
	}
	openpgp_key_free(&key);
	if (rc < 0)
		return -1;
	snprintf(days, sizeof(days), "%d", CONFIRM_DAYS);
	if (key_words(p, l, PIECE_PGP_KEY_SENT,
	    (const char *[]){ "days", days, NULL }, b) < 0)
		return -1;
	log_info("%s request: list=%s an OpenPGP key offered, token %s "
	    "result=ok", p->qid, l->name, sent ? "sent encrypted to it" :
	    "withheld (answer budget)");
	return 1;
}

/* pgpin_key_cancel - "key cancel": a waiting key dropped, for a sure sender */
int
pgpin_key_cancel(struct pipeline *p, const struct list_cfg *l,
    const char *to, unsigned how, struct buf *b)
{
	int rc = 0;

	/* a claim cancels nothing: anyone could make it, to stop a real change */
	if ((how & PGPIN_SURE) &&
	    (rc = pgpreplace_cancel(p, l, to, "key cancel")) < 0)
		return -1;
	return key_words(p, l, (how & PGPIN_SURE) ? PIECE_PGP_CANCELLED :
	    PIECE_PGP_CANCEL_UNVERIFIED, NULL, b) < 0 ? -1 : 1;
}

/* done - the answer to a confirmed key */
static int
done(struct pipeline *p, const struct list_cfg *l, const char *to,
    const char *text)
{
	const char *vars[] = { "done", text, NULL };

	return distribute_notice_tmpl(p, l, to, NOTICE_REQUEST_DONE, vars,
	    ENV_NULL, "", NULL);
}

struct line {
	const char	*text;
	char		 buf[400];
};

/* line_piece - the answer's line: a piece, into out->buf; 0, -1 none */
static int
line_piece(struct pipeline *p, const struct list_cfg *l, enum piece_id id,
    struct line *out)
{
	struct notice_ctx ctx = { l->name, p->cfg->hostname };

	out->text = out->buf;
	return notice_piece_line(l->notices, p->cfg->notices, id, &ctx, NULL,
	    out->buf, sizeof(out->buf));
}

/* store_key - the key registered now; the answer's line (out->buf) */
static int
store_key(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const struct openpgp_key *key, struct line *out)
{
	int rc;

	rc = store_member_pgp_put(p->st, l->name, addr, key->bin.data,
	    key->bin.len, key->fpr, (long long)key->expires);
	/* a key signed for by the old one ends any key that waited */
	if (rc == STORE_OK &&
	    store_member_pgp_next_clear(p->st, l->name, addr) < 0)
		return -1;
	if (rc != STORE_OK && rc != STORE_EXISTS && rc != STORE_NOTFOUND)
		return -1;
	if (line_piece(p, l, rc == STORE_OK ? PIECE_PGP_DONE_REGISTERED :
	    rc == STORE_EXISTS ? PIECE_PGP_DONE_TAKEN :
	    PIECE_PGP_DONE_NOT_MEMBER, out) < 0)
		return -1;
	log_info("%s confirm: list=%s a member's OpenPGP key %s", p->qid,
	    l->name, rc == STORE_OK ? "registered result=ok" :
	    "not registered result=permfail");
	return 0;
}

/* answer_sure - was the token's answer sent by addr (authn.c decides)? */
static int
answer_sure(struct pipeline *p, const struct envelope *e,
    const struct buf *msg, const char *addr)
{
	struct authn au;
	struct why why = { "" };

	if (e == NULL || authn_check(p, e, msg, &au, &why) != OK)
		return -1;
	return authn_vouches(&au, addr) && !au.automatic;
}

/*
 * answer_oldsig - is the token's answer signed by the old key (bin), the
 * token inside what it signed? Checked in the worker, in clear or inside
 * the encryption to the list. 1, 0, -1 not yet or error.
 */
static int
answer_oldsig(struct pipeline *p, const struct list_cfg *l,
    const struct buf *bin, const char *token_hash, const struct buf *msg)
{
	struct buf opened;
	int rc;

	buf_init(&opened, 0);
	rc = pgpin_answer_signed_by(p, l, bin, token_hash, msg, &opened);
	sodium_memzero(opened.data, opened.cap);
	buf_free(&opened);
	return rc;
}

/* act - what the answered token does, by pgpin_decide; the answer's line */
static int
act(struct pipeline *p, const struct list_cfg *l, const struct pgpin_bound *t,
    const struct openpgp_key *key, const struct envelope *e,
    const struct buf *msg, struct line *out)
{
	struct openpgp_key old;
	struct buf bin;
	enum pgpin_action a;
	int has, same, sure = 0, oldsig = 0, rc = 0;

	buf_init(&bin, 0);
	if ((has = old_key(p, l, t->addr, &bin, &old)) < 0) {
		buf_free(&bin);
		return -1;
	}
	same = has && strcmp(old.fpr, key->fpr) == 0;
	if (has && !same && !(t->flags & PGPKEY_OLDSIG) &&
	    (oldsig = answer_oldsig(p, l, &bin, t->token_hash, msg)) < 0) {
		openpgp_key_free(&old);
		buf_free(&bin);
		return -1;
	}
	/* who answered: for a first key, and for a waiting key's notice */
	if ((!has && !(t->flags & PGPKEY_SURE)) || (has && !same && !oldsig &&
	    !(t->flags & PGPKEY_OLDSIG)))
		sure = answer_sure(p, e, msg, t->addr);
	a = pgpin_decide(has, same, t->flags, sure > 0, oldsig);
	if (sure < 0)
		rc = -1;
	else if (a == PGPIN_REGISTER || a == PGPIN_REPLACE_NOW)
		rc = store_key(p, l, t->addr, key, out);
	else if (a == PGPIN_REPLACE_LATER) {
		rc = pgpreplace_schedule(p, l, t->addr, key, &old,
		    (t->flags & PGPKEY_SURE) || sure > 0, out->buf,
		    sizeof(out->buf));
		out->text = out->buf;
	} else {
		rc = line_piece(p, l, PIECE_PGP_DONE_UNVERIFIED, out);
		log_info("%s confirm: list=%s a member's OpenPGP key not "
		    "registered (unverified) result=permfail", p->qid, l->name);
	}
	if (has)
		openpgp_key_free(&old);
	buf_free(&bin);
	return rc;
}

/* confirmed - the key of a confirmed token, judged again, acted on */
static int
confirmed(struct pipeline *p, const struct list_cfg *l,
    const struct pgpin_bound *t, const struct envelope *e,
    const struct buf *msg, struct line *out)
{
	struct openpgp_key key;
	char why[OPENPGP_WHY_SIZE];
	enum result ir;
	int rc;

	/* judged again: it may have expired since the token went out */
	ir = openpgp_key_import(t->key, t->keylen, OPENPGP_BINARY, &key, why,
	    sizeof(why));
	if (ir == TEMPFAIL)
		return -1;
	if (ir != OK) {
		return line_piece(p, l, PIECE_PGP_DONE_UNUSABLE, out);
	}
	rc = act(p, l, t, &key, e, msg, out);
	openpgp_key_free(&key);
	return rc;
}

/*
 * pgpin_key_confirmed - the holder of the key and of the mailbox answered:
 * the key is registered, replaces the old one, or waits to (pgpin_decide).
 * 1 handled, -1 error (retried).
 */
int
pgpin_key_confirmed(struct pipeline *p, const struct list_cfg *l,
    const struct store_token *tok, const struct envelope *e,
    const struct buf *msg)
{
	struct pgpin_bound t;
	struct line out = { NULL, "" };
	struct buf plain;
	int rc;

	buf_init(&plain, 0);
	/* opened by the store (a sealed kind) */
	if (buf_append(&plain, tok->bound.data, tok->bound.len) < 0) {
		buf_free(&plain);
		return -1;
	}
	if (pgpin_bound_parse((char *)plain.data, plain.len, &t) < 0) {
		log_warn("%s confirm: list=%s OpenPGP key token unreadable; "
		    "ignored result=permfail", p->qid, l->name);
		sodium_memzero(plain.data, plain.cap);
		buf_free(&plain);
		return 1;
	}
	rc = confirmed(p, l, &t, e, msg, &out);
	if (rc == 0 && out.text != NULL)
		rc = done(p, l, t.addr, out.text);
	sodium_memzero(plain.data, plain.cap);
	buf_free(&plain);
	return rc < 0 ? -1 : 1;
}

/* autocrypt_header - the mail's header has an Autocrypt field */
static int
autocrypt_header(const struct buf *msg)
{
	struct hdr h;
	int has;

	if (hdr_parse((const char *)msg->data, msg->len, &h) < 0)
		return 0;
	has = hdr_get(&h, "Autocrypt") != NULL;
	hdr_free(&h);
	return has;
}

/*
 * pgpin_key_refresh - later mail from a member with a registered key: an
 * Autocrypt header about them carrying that key with a later expiry is
 * merged (merge_expiry). Nothing is said; 0, -1 store error.
 */
int
pgpin_key_refresh(struct pipeline *p, const struct list_cfg *l,
    const char *addr, const struct buf *msg)
{
	struct pgpin_found f;
	struct buf old;
	long long exp = 0;
	int rc;

	if (!autocrypt_header(msg))
		return 0;
	/* no registered key, or one that never expires: nothing to extend */
	buf_init(&old, 0);
	rc = store_member_pgp_get(p->st, l->name, addr, &old, &exp);
	buf_free(&old);
	if (rc != 1 || exp == 0)
		return rc < 0 ? -1 : 0;
	/* parsed by the worker, as every key sent by mail */
	if (pgpin_key_find(p, l, addr, msg->data, msg->len, NULL, 0,
	    &f) < 0) {
		pgpin_found_free(&f);
		return -1;
	}
	rc = 0;
	/* not a key the list takes: the old one stays */
	if (f.status == PGPIN_KEY_FOUND && f.shape == PGPKEYIN_AUTOCRYPT)
		rc = merge_expiry(p, l, addr, &f.key);
	pgpin_found_free(&f);
	return rc;
}
