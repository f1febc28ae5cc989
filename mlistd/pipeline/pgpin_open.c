/*
 * pgpin_open.c - a post encrypted to the list's OpenPGP key, opened in the
 * sandboxed worker (pipeline/worker.c runs it before the transform).
 *
 * Shapes: PGP/MIME with the signature inside the encryption (RFC 3156
 * §6.2), signed then encrypted (§6.1: a multipart/signed inside, unwrapped
 * to its signed part), the Exchange-mangled shape (multipart/mixed with
 * the application/pgp-encrypted and encrypted.asc parts) and inline PGP.
 * The opened post is put together as if it had come in clear: the outer
 * header, less what the inner entity says again (protected headers, RFC
 * draft-autocrypt-lamps-protected-headers: Subject, From, To, ...), then
 * the inner entity's own header lines and body, so that the transform's
 * allow-list and the leak guard see the inner headers as the post's. An
 * outer Subject of "..." (the hidden one) never reaches the copy. From and
 * Sender are the outer ones, which were authenticated: never the inner.
 *
 * Signatures: one by the member key the queue manager sent with the job
 * (the key registered for the outer From) marks the post as theirs, with
 * its replay id. Nothing else of the signature or of the sender's PKESK
 * survives: the copies are made from the plaintext alone. A post signed
 * but not encrypted (multipart/signed, or a cleartext-signed text) is
 * checked the same way and left as it is.
 *
 * Not ours to open: an inline block whose PKESKs name none of the list's
 * keys, or one quoted ("> "), is the plain text of the post.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>
#include <sodium.h>

#include "mail/header.h"
#include "mail/openpgp.h"
#include "pipeline/pgpin_open.h"
#include "pipeline/reply.h"
#include "util/mem.h"

#define ADDR_LEN	320	/* an addr-spec, with room */

/* the outer fields an opened post does not keep: they describe the wrapper */
static const char *const wrapper[] = {
	"Content-Type", "Content-Transfer-Encoding", "Content-Disposition",
	"Content-Description", "MIME-Version", "Content-ID",
};

/*
 * never kept from either header: the sender's key, and the keys of the
 * other recipients Thunderbird gossips inside (each names its owner)
 */
static const char *const keys[] = { "Autocrypt", "Autocrypt-Gossip" };

/*
 * who sent it stays what the outer header says: that is what was
 * authenticated (the front MTA's DKIM/DMARC, the key registered for that
 * From). An inner From or Sender is a claim nobody checked - a member could
 * name another member there - so it is dropped, never taken.
 */
static const char *const senders[] = { "From", "Sender" };

/* a list of names, as hdr_is_any takes it */
#define NAMES(a)	(a), sizeof(a) / sizeof((a)[0])

/* wrapper_field - a field of the encrypted wrapper, or said again inside */
static int
wrapper_field(const struct hdr_field *f, const struct hdr *in)
{
	if (hdr_is_any(f, NAMES(wrapper)) || hdr_is_any(f, NAMES(keys)))
		return 1;
	return hdr_said_in(in, f, NAMES(senders));
}

/* outer_head - the outer header without the wrapper's and inner's fields */
static int
outer_head(const struct hdr *h, const struct hdr *in, struct buf *out)
{
	for (int i = 0; i < h->n; i++)
		if (!wrapper_field(&h->f[i], in) &&
		    !hdr_hidden_subject(&h->f[i]) &&
		    buf_append(out, h->f[i].start, h->f[i].len) < 0)
			return -1;
	return 0;
}

/* boundary - the boundary parameter of the entity's Content-Type */
static int
boundary(const char *e, size_t len, char *bd, size_t bl, size_t *body)
{
	struct hdr h;
	char *ct, *b;
	int ok;

	if (hdr_parse(e, len, &h) < 0)
		return -1;
	*body = h.body_off;
	ct = hdr_get_value(&h, "Content-Type");
	hdr_free(&h);
	if (ct == NULL || (b = strcasestr(ct, "boundary=")) == NULL) {
		free(ct);
		return -1;
	}
	b += 9;
	if (*b == '"')
		b++;
	ok = snprintf(bd, bl, "%.*s", (int)strcspn(b, "\";\t "), b) > 0;
	free(ct);
	return ok ? 0 : -1;
}

/* part_at - part number n (0 first) of a multipart entity; 0, -1 if none */
static int
part_at(const char *e, size_t len, int n, const char **ps, size_t *pl)
{
	char bd[200], delim[210];
	const char *s, *end = e + len, *pos, *z;
	size_t dl, off;

	if (boundary(e, len, bd, sizeof(bd), &off) < 0 || off > len)
		return -1;
	s = e + off;
	dl = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", bd);
	/* a delimiter line: at the body's start, or after a line end */
	if ((size_t)(end - s) >= dl - 2 && memcmp(s, delim + 2, dl - 2) == 0)
		pos = s;
	else if ((pos = memmem(s, (size_t)(end - s), delim, dl)) != NULL)
		pos += 2;
	else
		return -1;
	for (int i = 0;; i++) {
		/* pos: a delimiter "--bd"; the closing one ends the parts */
		if ((size_t)(end - pos) >= dl && !memcmp(pos + dl - 2, "--", 2))
			return -1;
		if ((s = memchr(pos, '\n', (size_t)(end - pos))) == NULL)
			return -1;
		s++;
		if ((z = memmem(s, (size_t)(end - s), delim, dl)) == NULL)
			return -1;
		if (i == n) {
			*ps = s;
			*pl = (size_t)(z - s);
			return 0;
		}
		pos = z + 2;
	}
}

/* is_type - the entity's Content-Type is t */
static int
is_type(const char *e, size_t len, const char *t)
{
	struct hdr h;
	char *ct;
	int is;

	if (hdr_parse(e, len, &h) < 0)
		return 0;
	ct = hdr_get_value(&h, "Content-Type");
	is = ct && !strncasecmp(ct, t, strlen(t));
	free(ct);
	hdr_free(&h);
	return is;
}

/*
 * unsign - §6.1: the signed part of a multipart/signed entity, its
 * signature checked against the member's key
 */
static void
unsign(const struct openpgp_key *mk, const char **e, size_t *len,
    struct pgpin_opened *r)
{
	const char *sp, *sigp;
	size_t sl, sigl;
	struct openpgp_plain v;
	struct hdr h;
	char why[OPENPGP_WHY_SIZE];

	if (!is_type(*e, *len, "multipart/signed") ||
	    part_at(*e, *len, 0, &sp, &sl) < 0)
		return;
	if (mk != NULL && part_at(*e, *len, 1, &sigp, &sigl) == 0 &&
	    hdr_parse(sigp, sigl, &h) == 0) {
		if (openpgp_verify_detached(mk, sp, sl, sigp + h.body_off,
		    sigl - h.body_off, &v, why, sizeof(why)) == OK &&
		    v.verified) {
			r->verified = 1;
			memcpy(r->replay, v.replay, sizeof(r->replay));
		}
		openpgp_plain_free(&v);
		hdr_free(&h);
	}
	*e = sp;
	*len = sl;
}

/* assemble - the post as if it had come in clear */
static int
assemble(const struct hdr *outer, const char *e, size_t len, int inl,
    struct buf *out)
{
	struct hdr in;
	size_t bo;
	int rc;

	if (inl) {
		/* inline PGP: the text is the body; the outer says what it is */
		for (int i = 0; i < outer->n; i++)
			if (!hdr_is(&outer->f[i], "Content-Transfer-Encoding") &&
			    !hdr_is_any(&outer->f[i], NAMES(keys)) &&
			    buf_append(out, outer->f[i].start, outer->f[i].len) < 0)
				return -1;
		if (buf_puts(out, "Content-Transfer-Encoding: 8bit\r\n\r\n") < 0)
			return -1;
		return buf_append(out, e, len);
	}
	if (hdr_parse(e, len, &in) < 0)
		return -1;
	rc = outer_head(outer, &in, out);
	if (rc == 0 && !hdr_get(&in, "MIME-Version"))
		rc = buf_puts(out, "MIME-Version: 1.0\r\n");
	/* the inner entity's header lines (protected ones among them), body */
	for (int i = 0; rc == 0 && i < in.n; i++)
		if (!hdr_is_any(&in.f[i], NAMES(keys)) &&
		    !hdr_is_any(&in.f[i], NAMES(senders)))
			rc = buf_append(out, in.f[i].start, in.f[i].len);
	if (rc == 0)
		rc = buf_puts(out, "\r\n");
	/* no blank line after the header: no body */
	bo = in.body_off == 0 && in.n > 0 ? len : in.body_off;
	if (rc == 0 && bo <= len)
		rc = buf_append(out, e + bo, len - bo);
	hdr_free(&in);
	return rc;
}

/* mailbox_is - is this parsed mailbox exactly addr (case-insensitive)? */
static int
mailbox_is(const struct mailimf_mailbox *mb, const char *addr)
{
	return mb != NULL && mb->mb_addr_spec != NULL &&
	    strcasecmp(mb->mb_addr_spec, addr) == 0;
}

/*
 * names - does an address-list value name addr, as a mailbox of its own or
 * in a group? Parsed (RFC 5322 address-list), so that a display name, a
 * comment or a longer address that merely contains addr does not count.
 */
static int
names(const char *v, size_t vl, const char *addr)
{
	struct mailimf_address_list *al = NULL;
	struct mailimf_address *a;
	clistiter *i, *j;
	size_t idx = 0;
	int hit = 0;

	if (mailimf_address_list_parse(v, vl, &idx, &al) != MAILIMF_NO_ERROR)
		return 0;
	for (i = clist_begin(al->ad_list); i && !hit; i = clist_next(i)) {
		a = clist_content(i);
		if (a->ad_type == MAILIMF_ADDRESS_MAILBOX)
			hit = mailbox_is(a->ad_data.ad_mailbox, addr);
		else if (a->ad_type == MAILIMF_ADDRESS_GROUP &&
		    a->ad_data.ad_group->grp_mb_list != NULL)
			for (j = clist_begin(a->ad_data.ad_group->grp_mb_list->
			    mb_list); j && !hit; j = clist_next(j))
				hit = mailbox_is(clist_content(j), addr);
	}
	mailimf_address_list_free(al);
	return hit;
}

/*
 * for_list - may a signature over entity e count on this list? Not when its
 * protected To and Cc (every such field) name other addresses only: a
 * member's signed post to another list, encrypted again to this one, is
 * not a post to this list. The list's address must be one of the parsed
 * addresses exactly (domain and list name case-insensitive, as routing
 * compares them), not a substring of the field.
 */
static int
for_list(const char *e, size_t len, const char *listaddr)
{
	struct hdr h;
	int named = 0, ours = 0;

	if (listaddr == NULL || hdr_parse(e, len, &h) < 0)
		return listaddr == NULL;
	for (int i = 0; i < h.n && !ours; i++)
		if (hdr_is(&h.f[i], "To") || hdr_is(&h.f[i], "Cc")) {
			named = 1;
			ours = names(h.f[i].value, h.f[i].vlen, listaddr);
		}
	hdr_free(&h);
	return !named || ours;
}

/* member_key - the key the queue manager sent, if it still imports */
static int
member_key(const void *k, size_t kl, struct openpgp_key *mk)
{
	char why[OPENPGP_WHY_SIZE];

	return kl > 0 && openpgp_key_import(k, kl, OPENPGP_BINARY, mk, why,
	    sizeof(why)) == OK;
}

/* pgpin_warm - libsodium and librnp made ready before the sandbox closes */
int
pgpin_warm(void)
{
	struct openpgp_enc *e;

	/*
	 * librnp writes its errors to stderr whatever the context's log says;
	 * a sanitizer build keeps stderr (the log file), where RLIMIT_FSIZE 0
	 * would make that write kill the child: it fails quietly instead
	 */
	if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR)
		return -1;
	/* the zygote is forked before the daemon initialises libsodium */
	if (sodium_init() < 0 || openpgp_enc_new(&e) != OK)
		return -1;
	openpgp_enc_free(e);
	return 0;
}

/*
 * clear_signed - a post signed but not encrypted, by mk: multipart/signed
 * (RFC 3156 §5; the signed part's protected To/Cc must not name only
 * another list) or a cleartext-signed text in its body. Only r is set.
 */
static void
clear_signed(const char *msg, size_t len, const char *listaddr,
    const struct openpgp_key *mk, struct pgpin_opened *r)
{
	static const char begin[] = "-----BEGIN PGP SIGNED MESSAGE-----";
	const char *e = msg, *a;
	size_t el = len;
	struct openpgp_plain v;
	char why[OPENPGP_WHY_SIZE];

	if (is_type(msg, len, "multipart/signed")) {
		unsign(mk, &e, &el, r);
		if (r->verified && !for_list(e, el, listaddr))
			r->verified = 0;
		snprintf(r->shape, sizeof(r->shape), "signed");
		return;
	}
	if ((a = memmem(msg, len, begin, sizeof(begin) - 1)) == NULL)
		return;
	snprintf(r->shape, sizeof(r->shape), "cleartext");
	memset(&v, 0, sizeof(v));
	if (openpgp_verify_cleartext(mk, a, len - (size_t)(a - msg), &v, why,
	    sizeof(why)) == OK && v.verified) {
		r->verified = 1;
		memcpy(r->replay, v.replay, sizeof(r->replay));
	}
	openpgp_plain_free(&v);
}

/*
 * foreign - does the entity's protected From name another sender than
 * the outer From? Then it is someone else's encrypted post sent again (a
 * captured one: opened, it would go out as the sender's, to everyone,
 * him included). No protected From: nothing to compare.
 */
static int
foreign(const struct hdr *outer, const char *e, size_t len)
{
	char a[ADDR_LEN], b[ADDR_LEN];
	struct hdr in;
	int rc;

	if (hdr_parse(e, len, &in) < 0)
		return 0;
	rc = hdr_get(&in, "From") != NULL &&
	    (reply_from_hdr(&in, a, sizeof(a)) < 0 ||
	    reply_from_hdr(outer, b, sizeof(b)) < 0 || strcasecmp(a, b) != 0);
	hdr_free(&in);
	return rc;
}

/*
 * dearmoured - the packets of an armoured block into out (its armour
 * headers, line breaks and checksum are not the ciphertext: a replayer may
 * change them freely): 0, -1 not armour as read here
 */
static int
dearmoured(const struct buf *payload, struct buf *out)
{
	const char *a = (const char *)payload->data, *end = a + payload->len;
	const char *b, *z;
	size_t got = 0;

	if (payload->len < 5 || strncmp(a, "-----", 5) != 0)
		return -1;
	/* past the first line and the armour headers, to the blank line */
	for (b = a; (b = memchr(b, '\n', (size_t)(end - b))) != NULL; ) {
		b++;
		while (b < end && (*b == ' ' || *b == '\t' || *b == '\r'))
			b++;
		if (b < end && *b == '\n')
			break;
	}
	if (b == NULL || b >= end)
		return -1;
	/* to the checksum line ("=XXXX") or the END line */
	for (z = b; z < end; z++)
		if ((*z == '=' || *z == '-') && z[-1] == '\n')
			break;
	if (buf_reserve(out, (size_t)(z - b)) < 0 ||
	    sodium_base642bin(out->data, out->cap, b, (size_t)(z - b),
	    " \t\r\n", &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got == 0)
		return -1;
	out->len = got;
	return 0;
}

/*
 * sealed_id - what stays the same when one ciphertext is sent again (its
 * PKESK and SEIPD packets): an inline block has no protected From to tell
 * a captured post from its author's, so the list opens each one once
 */
static void
sealed_id(const struct buf *payload, unsigned char out[OPENPGP_REPLAY_SIZE])
{
	static const char ctx[] = "mlistd-openpgp-sealed";
	crypto_generichash_state st;
	struct buf bin;
	int ok;

	buf_init(&bin, 0);
	ok = dearmoured(payload, &bin) == 0;
	(void)crypto_generichash_init(&st, NULL, 0, OPENPGP_REPLAY_SIZE);
	(void)crypto_generichash_update(&st, (const unsigned char *)ctx,
	    sizeof(ctx));
	(void)crypto_generichash_update(&st, ok ? bin.data : payload->data,
	    ok ? bin.len : payload->len);
	(void)crypto_generichash_final(&st, out, OPENPGP_REPLAY_SIZE);
	buf_free(&bin);
}

/*
 * opened - decrypt payload with sec: 1 into out, 0 an inline block not
 * encrypted to the list's key (someone else's, quoted: plain text), -1
 */
static int
opened(const char *msg, size_t len, const char *listaddr,
    const struct openpgp_secret *s, const struct openpgp_key *mk,
    const struct buf *payload, struct buf *out, struct pgpin_opened *r)
{
	struct openpgp_plain pl;
	struct hdr outer;
	const char *e;
	size_t el;
	int rc = -1, inl = !strcmp(r->shape, "inline");

	memset(&pl, 0, sizeof(pl));
	if (openpgp_decrypt(s, mk, payload->data, payload->len, &pl, r->why,
	    sizeof(r->why)) != OK) {
		openpgp_plain_free(&pl);
		if (inl && pl.not_ours) {
			*r->why = 0;
			return 0;
		}
		return -1;
	}
	r->verified = pl.verified;
	memcpy(r->replay, pl.replay, sizeof(r->replay));
	sealed_id(payload, r->sealed_id);
	e = (const char *)pl.data.data;
	el = pl.data.len;
	if (!inl)
		unsign(mk, &e, &el, r);
	if (r->verified && !for_list(e, el, listaddr))
		r->verified = 0;
	if (hdr_parse(msg, len, &outer) == 0) {
		if (!inl && foreign(&outer, e, el))
			snprintf(r->why, sizeof(r->why), "the From: inside the "
			    "encryption is not the sender's");
		else
			rc = assemble(&outer, e, el, inl, out) < 0 ? -1 : 1;
		hdr_free(&outer);
	}
	if (rc < 0 && !*r->why)
		snprintf(r->why, sizeof(r->why), "out of memory");
	openpgp_plain_free(&pl);
	return rc;
}

/*
 * pgpin_open - open msg to listaddr with the list's secret key sec (NULL:
 * the post only looked signed); mkey (may be empty) the member key whose
 * signature makes the post theirs. 1 opened into out; 0 not encrypted to
 * the list (r->verified if signed in clear by mkey); -1 cannot be opened
 * (r->why says why).
 */
int
pgpin_open(const char *msg, size_t len, const char *listaddr, const void *sec,
    size_t seclen, const void *mkey, size_t mkeylen, struct buf *out,
    struct pgpin_opened *r)
{
	struct openpgp_secret *s = NULL;
	struct openpgp_key mk;
	struct buf payload;
	const char *shape;
	int have_mk, rc = 0;

	memset(r, 0, sizeof(*r));
	buf_init(&payload, 0);
	have_mk = member_key(mkey, mkeylen, &mk);
	if (openpgp_payload_find(msg, len, &payload, &shape) == OK) {
		snprintf(r->shape, sizeof(r->shape), "%s", shape);
		if (sec == NULL || openpgp_secret_load(sec, seclen, &s) != OK) {
			snprintf(r->why, sizeof(r->why),
			    "the list's key did not load");
			rc = -1;
		} else
			rc = opened(msg, len, listaddr, s, have_mk ? &mk : NULL,
			    &payload, out, r);
		if (rc < 0 && !*r->why)
			snprintf(r->why, sizeof(r->why),
			    "it could not be decrypted");
	} else if (is_type(msg, len, "multipart/encrypted")) {
		/* says it is encrypted, holds nothing we can find: not clear */
		snprintf(r->why, sizeof(r->why), "it holds no OpenPGP message");
		rc = -1;
	}
	if (rc == 0 && have_mk)
		clear_signed(msg, len, listaddr, &mk, r);
	if (have_mk)
		openpgp_key_free(&mk);
	openpgp_secret_free(s);
	buf_free(&payload);
	return rc;
}

/* pgpin_looks_encrypted - an OpenPGP message, armoured or PGP/MIME */
int
pgpin_looks_encrypted(const void *msg, size_t len)
{
	static const char begin[] = "-----BEGIN PGP MESSAGE-----";

	return memmem(msg, len, begin, sizeof(begin) - 1) != NULL ||
	    mem_has_ci(msg, len, "multipart/encrypted") ||
	    mem_has_ci(msg, len, "application/pgp-encrypted");
}
