/*
 * pgpnotice.c - a notice that must reach one OpenPGP key and nobody else:
 * the token for a key offered with "key" (encrypted to that key) and the
 * warning that a new key waits (encrypted to the old one). Unlike the
 * notices distribute.c encrypts to a member's registered key, the key is
 * the caller's, and the notice's Reply-To - which carries a token - is
 * only inside the encryption (protected headers).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "delivery/distribute.h"
#include "mail/listpgp.h"
#include "pipeline/pgpnotice.h"
#include "pipeline/render.h"
#include "pipeline/sign.h"

/*
 * inner - the notice as the key's holder reads it once decrypted: a text
 * entity with protected headers (RFC draft-autocrypt-lamps-protected-
 * headers), the token in its text and its Reply-To; its fields after the
 * From in the renderer's order, as every other copy has them
 */
static int
inner(struct pipeline *p, const struct list_cfg *l, const char *to,
    enum notice_id id, const char *const *vars, const char *reply,
    struct buf *ent)
{
	struct notice_ctx ctx = { l->name, p->cfg->hostname };
	struct buf subject, body, subj;
	struct render_head h = { .to = to, .reply_to = reply,
	    .date = p->now };
	int rc;

	buf_init(&subject, 0);
	buf_init(&body, 0);
	buf_init(&subj, 0);
	if ((rc = distribute_render(p, l, id, vars, &subject, &body)) < 0 ||
	    (rc = notice_subject(buf_cstr(&subject), &subj)) < 0)
		goto out;
	h.subject = buf_cstr(&subj);
	rc = buf_printf(ent, "Content-Type: text/plain; charset=utf-8; "
	    "protected-headers=\"v1\"\r\nContent-Transfer-Encoding: 8bit\r\n");
	if (rc >= 0)
		rc = notice_from(l->notices, p->cfg->notices, PIECE_FROM_LIST,
		    &ctx, NULL, "-request", ent);
	if (rc >= 0)
		rc = render_head(ent, &h);
	if (rc >= 0)
		rc = buf_puts(ent, "\r\n");
	if (rc >= 0)
		rc = render_text(ent, buf_cstr(&body));
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
	    openpgp_copy_encrypt(enc, &post, key, &arm, why,
	    sizeof(why)) != OK || openpgp_mime_wrap(&arm, ctype, body) != OK)
		store_fail_cause(p->st, *why ? why :
		    "OpenPGP encryption failed");
	else
		rc = 0;
	openpgp_enc_free(enc);
	openpgp_post_free(&post);
	openpgp_secret_free(sec);
	buf_free(&arm);
	return rc;
}

/*
 * pgpnotice_send - notice id, signed by the list and encrypted to key,
 * queued for `to`; its Reply-To (reply) only inside the encryption. The
 * outer header says nothing of the key and carries no token.
 */
int
pgpnotice_send(struct pipeline *p, const struct list_cfg *l,
    const char *to, enum notice_id nid, const char *const *vars,
    const char *reply, const struct openpgp_key *key)
{
	struct buf ent, ctype, body, m;
	unsigned char r[8];
	char rnd[17], id[QID_LEN + 1];
	int rc = -1;

	buf_init(&ent, 0);
	buf_init(&ctype, 0);
	buf_init(&body, 0);
	buf_init(&m, 0);
	if (inner(p, l, to, nid, vars, reply, &ent) < 0 ||
	    encrypt_to(p, l, &ent, key, &ctype, &body) < 0)
		goto out;
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(rnd, sizeof(rnd), r, sizeof(r));
	/* the head every notice has: outside, the real subject is "..." */
	if (distribute_notice_head(p, l, "-request", to, "...", "", rnd,
	    &m) < 0 ||
	    buf_printf(&m, "Content-Type: %s\r\n\r\n", buf_cstr(&ctype)) < 0 ||
	    buf_append(&m, body.data, body.len) < 0)
		goto out;
	if (sign_copy(p, l, &m) == 0 &&
	    distribute_write(p, m.data, m.len, l->name, id) == 0 &&
	    distribute_to(p, l, id, to, ENV_NULL) == 0)
		rc = 0;
out:
	sodium_memzero(ent.data, ent.cap);
	buf_free(&ent);
	buf_free(&ctype);
	buf_free(&body);
	buf_free(&m);
	return rc;
}
