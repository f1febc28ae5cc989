/*
 * pgpin.c - a member's OpenPGP key registered from their own client's mail.
 *
 * "key" at LIST-request (or a key riding on "subscribe"): the key is found
 * in the mail (mail/pgpkeyin.c), judged by the engine (refused kinds say
 * why), and a token goes back to the mailbox ENCRYPTED TO THAT KEY: only
 * who holds both the mailbox and the secret key can answer it, and only
 * then is the key stored (replacing an older one). The token is inside the
 * encryption only: a plain Reply-To would let the owner of a forged From
 * confirm a stranger's key by replying to mail they cannot read.
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
#include "pipeline/pgpin.h"
#include "pipeline/sign.h"
#include "util/log.h"

#define TOKEN_KIND	"pgpkey"

/* stamp - an RFC 5322 date in UTC */
static void
stamp(long long t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	if (strftime(out, len, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		snprintf(out, len, "Thu, 01 Jan 1970 00:00:00 +0000");
}

/*
 * inner - the notice as the key's holder reads it once decrypted: a text
 * entity with protected headers (RFC draft-autocrypt-lamps-protected-
 * headers), the token in its text and its Reply-To
 */
static int
inner(struct pipeline *p, const struct list_cfg *l, const char *to,
    const char *token, struct buf *ent)
{
	char addr[300], days[16], date[64];
	const char *vars[] = { "confirm_addr", addr, "days", days, NULL };
	struct buf subject, body, subj;
	int rc;

	snprintf(addr, sizeof(addr), "%s-confirm+%s@%s", l->name, token,
	    p->cfg->hostname);
	snprintf(days, sizeof(days), "%d", CONFIRM_DAYS);
	buf_init(&subject, 0);
	buf_init(&body, 0);
	buf_init(&subj, 0);
	if ((rc = distribute_render(p, l, NOTICE_PGP_KEY_CONFIRM, vars,
	    &subject, &body)) < 0)
		goto out;
	notice_subject(buf_cstr(&subject), &subj);
	stamp(p->now, date, sizeof(date));
	rc = buf_printf(ent, "Content-Type: text/plain; charset=utf-8; "
	    "protected-headers=\"v1\"\r\nContent-Transfer-Encoding: 8bit\r\n"
	    "From: \"%s list\" <%s-request@%s>\r\nTo: <%s>\r\n"
	    "Subject: %s\r\nDate: %s\r\nReply-To: <%s>\r\n\r\n", l->name,
	    l->name, p->cfg->hostname, to, buf_cstr(&subj), date, addr);
	for (const char *c = buf_cstr(&body); rc >= 0 && *c; c++)
		rc = *c == '\n' ? buf_puts(ent, "\r\n") : buf_putc(ent, *c);
	if (rc >= 0)
		rc = buf_puts(ent, "\r\n");
out:
	buf_free(&subject);
	buf_free(&body);
	buf_free(&subj);
	return rc < 0 ? -1 : 0;
}

/* encrypt_to - ent signed by the list and encrypted to key: ctype and body */
static int
encrypt_to(struct pipeline *p, const struct list_cfg *l, const struct buf *ent,
    const struct openpgp_key *key, struct buf *ctype, struct buf *body)
{
	struct openpgp_secret *sec = NULL;
	struct openpgp_post post;
	struct openpgp_enc *enc = NULL;
	struct buf arm;
	char why[OPENPGP_WHY_SIZE] = "";
	int rc = -1;

	memset(&post, 0, sizeof(post));
	buf_init(&arm, 0);
	if (listpgp_get(p->st, l->name, p->cfg->hostname, &sec) < 0)
		return -1;
	if (openpgp_post_sign(sec, ent->data, ent->len, (uint32_t)p->now,
	    OPENPGP_BUCKET_MIN, &post, why, sizeof(why)) != OK ||
	    openpgp_enc_new(&enc) != OK ||
	    openpgp_copy_encrypt(enc, &post, key, &arm, why, sizeof(why)) != OK ||
	    openpgp_mime_wrap(&arm, ctype, body) != OK)
		store_fail_cause(p->st, *why ? why : "OpenPGP encryption failed");
	else
		rc = 0;
	openpgp_enc_free(enc);
	openpgp_post_free(&post);
	openpgp_secret_free(sec);
	buf_free(&arm);
	return rc;
}

/*
 * send_token - the token notice, encrypted to key, queued for `to`. The
 * outer header says nothing of the key and carries no token.
 */
static int
send_token(struct pipeline *p, const struct list_cfg *l, const char *to,
    const char *token, const struct openpgp_key *key)
{
	const char *host = p->cfg->hostname;
	struct buf ent, ctype, body, m;
	unsigned char r[8];
	char rnd[17], date[64], id[QID_LEN + 1];
	int rc = -1;

	buf_init(&ent, 0);
	buf_init(&ctype, 0);
	buf_init(&body, 0);
	buf_init(&m, 0);
	if (inner(p, l, to, token, &ent) < 0 ||
	    encrypt_to(p, l, &ent, key, &ctype, &body) < 0)
		goto out;
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(rnd, sizeof(rnd), r, sizeof(r));
	stamp(p->now, date, sizeof(date));
	if (buf_printf(&m, "From: \"%s list\" <%s-request@%s>\r\nTo: <%s>\r\n"
	    "Subject: ...\r\nDate: %s\r\nMessage-ID: <notice.%s@%s>\r\n"
	    "Auto-Submitted: auto-replied\r\nPrecedence: list\r\n"
	    "X-Loop: %s@%s\r\nList-Id: <%s.%s>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: %s\r\n\r\n", l->name, l->name, host, to, date, rnd,
	    host, l->name, host, l->name, host, buf_cstr(&ctype)) < 0 ||
	    buf_append(&m, body.data, body.len) < 0)
		goto out;
	if (sign_copy(p, l, &m) == 0 &&
	    distribute_write(p, m.data, m.len, l->name, id) == 0 &&
	    distribute_to(p, l, id, to, ENV_NULL) == 0)
		rc = 0;
out:
	buf_free(&ent);
	buf_free(&ctype);
	buf_free(&body);
	buf_free(&m);
	return rc;
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

/* pending - the token kept for a member or a subscriber: address and key */
static int
pending(struct pipeline *p, const struct list_cfg *l, const char *to,
    const struct openpgp_key *key, const char *token)
{
	struct buf plain;
	int rc = -1;

	buf_init(&plain, 0);
	/* the key names its owner: the store seals this kind's bound bytes */
	if (buf_printf(&plain, "%s\n", to) >= 0 &&
	    buf_append(&plain, key->bin.data, key->bin.len) == 0 &&
	    store_confirm_add(p->st, TOKEN_KIND, token, l->name, "",
	    plain.data, plain.len, to, p->now + CONFIRM_DAYS * 86400LL) ==
	    STORE_OK)
		rc = 0;
	sodium_memzero(plain.data, plain.cap);
	buf_free(&plain);
	return rc;
}

/* no_key - the words when the mail carries no key */
static void
no_key(struct buf *b)
{
	buf_puts(b, "The list found no OpenPGP public key in your message. "
	    "Send \"key\" again with\nyour public key: attached (Thunderbird "
	    "does this when you attach your public\nkey), in an Autocrypt "
	    "header (K-9 Mail, FairEmail, Delta Chat send one), or\npasted "
	    "into the text as an armoured block (gpg --armor --export).\n\n");
}

/* pgpin_key_request - the key in a -request mail: a token encrypted to it */
int
pgpin_key_request(struct pipeline *p, const struct list_cfg *l,
    const char *to, const void *msg, size_t len, unsigned how,
    struct buf *b)
{
	struct pgpkeyin in;
	struct openpgp_key key;
	struct member m;
	char why[OPENPGP_WHY_SIZE] = "", token[41];
	unsigned char r[20];
	enum result ir;
	int rc, member;

	if ((rc = pgpkeyin_find(msg, len, to, &in)) <= 0) {
		pgpkeyin_free(&in);
		if (rc == 0 && (how & PGPIN_ASKED))
			no_key(b);
		return rc < 0 ? -1 : (how & PGPIN_ASKED) != 0;
	}
	ir = openpgp_key_import(in.key.data, in.key.len, in.fmt, &key, why,
	    sizeof(why));
	pgpkeyin_free(&in);
	if (ir == TEMPFAIL)
		return -1;
	if (ir != OK) {
		/* the key's own fault, the same for anyone who sends it */
		buf_printf(b, "The OpenPGP key you sent cannot be used: %s.\n\n",
		    why);
		log_info("%s request: list=%s an OpenPGP key refused result=permfail",
		    p->qid, l->name);
		return 1;
	}
	member = store_member_find(p->st, l->name, to, &m) == STORE_OK;
	if (member)
		member_free(&m);
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(token, sizeof(token), r, sizeof(r));
	rc = 0;
	if (member)
		rc = merge_expiry(p, l, to, &key);
	/* a stranger's token is never stored: it opens nothing */
	if (rc == 0 && (member || (how & PGPIN_SUBSCRIBING)))
		rc = pending(p, l, to, &key, token);
	if (rc == 0)
		rc = send_token(p, l, to, token, &key);
	openpgp_key_free(&key);
	if (rc < 0)
		return -1;
	buf_printf(b, "A message encrypted to the OpenPGP key you sent is on "
	    "its way to you. Open it\nin your mail program and answer it as it "
	    "says, within %d days: only then is\nthe key used. If you did not "
	    "ask for this, do nothing.\n\n", CONFIRM_DAYS);
	log_info("%s request: list=%s an OpenPGP key offered, token sent "
	    "encrypted to it result=ok", p->qid, l->name);
	return 1;
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

/* confirmed - store the key of a confirmed token; the answer's line */
static int
confirmed(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const void *bin, size_t len, const char **text)
{
	struct openpgp_key key;
	char why[OPENPGP_WHY_SIZE];
	enum result ir;
	int rc;

	/* judged again: it may have expired since the token went out */
	ir = openpgp_key_import(bin, len, OPENPGP_BINARY, &key, why, sizeof(why));
	if (ir == TEMPFAIL)
		return -1;
	if (ir != OK) {
		*text = "- the key can no longer be used (expired or revoked "
		    "since): send \"key\" again\n  with a key that is valid";
		return 0;
	}
	rc = store_member_pgp_put(p->st, l->name, addr, key.bin.data,
	    key.bin.len, key.fpr, (long long)key.expires);
	openpgp_key_free(&key);
	if (rc == STORE_OK)
		*text = "- your OpenPGP key is registered: the list's mail to you "
		    "will be encrypted to it";
	else if (rc == STORE_EXISTS)
		*text = "- that key is another member's key on this list already: "
		    "it was not registered";
	else if (rc == STORE_NOTFOUND)
		*text = "- the address is not a member (yet): when you have "
		    "joined, send \"key\" again";
	else
		return -1;
	log_info("%s confirm: list=%s a member's OpenPGP key %s", p->qid,
	    l->name, rc == STORE_OK ? "registered result=ok" :
	    "not registered result=permfail");
	return 0;
}

/*
 * pgpin_key_confirmed - the holder of the key and of the mailbox answered:
 * the key replaces any older one. 1 handled, -1 error (retried).
 */
int
pgpin_key_confirmed(struct pipeline *p, const struct list_cfg *l,
    const struct store_token *tok, const struct buf *msg)
{
	struct buf plain;
	const char *text = NULL;
	char *addr, *nl;
	int rc;

	(void)msg;
	buf_init(&plain, 0);
	/* opened by the store (a sealed kind) */
	if (buf_append(&plain, tok->bound.data, tok->bound.len) < 0) {
		buf_free(&plain);
		return -1;
	}
	addr = (char *)plain.data;
	nl = memchr(plain.data, '\n', plain.len);
	if (nl == NULL) {
		log_warn("%s confirm: list=%s OpenPGP key token without an "
		    "address; ignored result=permfail", p->qid, l->name);
		buf_free(&plain);
		return 1;
	}
	*nl = 0;
	rc = confirmed(p, l, addr, nl + 1,
	    plain.len - (size_t)(nl + 1 - (char *)plain.data), &text);
	if (rc == 0)
		rc = done(p, l, addr, text);
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
	struct pgpkeyin in;
	struct openpgp_key key;
	char why[OPENPGP_WHY_SIZE];
	int rc;

	if (!autocrypt_header(msg))
		return 0;
	if ((rc = pgpkeyin_find(msg->data, msg->len, addr, &in)) <= 0 ||
	    in.shape != PGPKEYIN_AUTOCRYPT) {
		pgpkeyin_free(&in);
		return rc < 0 ? -1 : 0;
	}
	rc = openpgp_key_import(in.key.data, in.key.len, in.fmt, &key, why,
	    sizeof(why));
	pgpkeyin_free(&in);
	if (rc == TEMPFAIL)
		return -1;
	if (rc != OK)
		return 0;	/* not a key the list takes: the old one stays */
	rc = merge_expiry(p, l, addr, &key);
	openpgp_key_free(&key);
	return rc;
}
