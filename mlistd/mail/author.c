/*
 * author.c - Mlist-Author-Signature.
 *
 *   Mlist-Author-Signature: v=1; a=ed25519; l=LIST-ID; k=PUBKEY; t=TIME; bh=BODYHASH; b=SIG
 *
 * Ed25519 over "mlist-author-v1" and, each after a NUL: l, k, t, the
 * Message-ID, Date and Subject of the copy (unfolded, runs of white space
 * made one space, trimmed) and bh, the SHA-256 of the body as distributed
 * (DKIM's relaxed body canonicalisation). k is the author's key for this
 * list only, so two posts with the same k came from the same author, and
 * nothing links k to an address or to the same person's key on another
 * list. The list's DKIM signature covers this field too.
 *
 * On a copy it signs for the author, the list states what the author is
 * in two more tags, outside the author's signed input (a verifier made
 * before them still checks the rest) and covered by the list's DKIM:
 * w=pseudonym|anonymous|role, and n= the name shown (base64 of its UTF-8,
 * folded). A reader tells the kinds apart by them, never by the words of
 * the From, which a list may reword. A member's own signature may not
 * carry them: they are the list's statement, not hers.
 *
 * Cost: one header split (O(header)), the body hash (O(body)) and a few
 * values canonicalised (O(value)): linear in the message.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "author.h"
#include "header.h"

/* value_of - canonical (DKIM relaxed) value of the first field called name ("" if absent) */
static void
value_of(const struct hdr *h, const char *name, struct buf *out)
{
	const struct hdr_field *f = hdr_get(h, name);

	if (f)
		dkim_canon_value(f->value, f->vlen, out);
}

/* signed_input - what the signature covers */
static void
signed_input(const struct hdr *h, const char *l, const char *k, const char *t, const char *bh, struct buf *in)
{
	buf_append(in, "mlist-author-v1", 16);
	buf_append(in, l, strlen(l) + 1);
	buf_append(in, k, strlen(k) + 1);
	buf_append(in, t, strlen(t) + 1);
	value_of(h, "Message-ID", in);
	buf_putc(in, 0);
	value_of(h, "Date", in);
	buf_putc(in, 0);
	value_of(h, "Subject", in);
	buf_putc(in, 0);
	buf_append(in, bh, strlen(bh));
}

/* list_id - the <...> part of List-Id */
static int
list_id(const struct hdr *h, char *out, size_t n)
{
	struct buf v;
	const char *lt, *gt;

	buf_init(&v, 0);
	value_of(h, "List-Id", &v);
	lt = strrchr(buf_cstr(&v), '<');
	gt = lt ? strchr(lt, '>') : NULL;
	if (!lt || !gt || (size_t)(gt - lt) >= n || gt - lt < 2) {
		buf_free(&v);
		return -1;
	}
	snprintf(out, n, "%.*s", (int)(gt - lt - 1), lt + 1);
	buf_free(&v);
	return 0;
}

/* b64 - base64 into a fixed buffer */
static void
b64(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	sodium_bin2base64(out, outlen, p, n, sodium_base64_VARIANT_ORIGINAL);
}

/*
 * author_sign - the Mlist-Author-Signature field for msg, for the list whose
 * List-Id is lid (NULL: the List-Id the message carries, as on a copy the
 * list distributes; a member signing an outgoing post names the list)
 */
int
author_sign(const unsigned char seed[DKIM_SEED_LEN], const char *lid, long long t, const char *msg,
    size_t len, struct buf *header)
{
	return author_sign_bh(seed, lid, t, msg, len, NULL, header);
}

/* author_sign_bh - author_sign with the body's hash known (NULL: computed) */
int
author_sign_bh(const unsigned char seed[DKIM_SEED_LEN], const char *lid,
    long long t, const char *msg, size_t len, const unsigned char *body_hash,
    struct buf *header)
{
	return author_sign_as(seed, lid, t, msg, len, body_hash, NULL, NULL,
	    header);
}

/* claim - the list's w= and n= tags (kind NULL: none), n= folded */
static void
claim(const char *kind, const char *name, struct buf *header)
{
	char enc[sodium_base64_ENCODED_LEN(AUTHOR_NAME_MAX,
	    sodium_base64_VARIANT_ORIGINAL)];
	size_t n, len;

	if (kind == NULL)
		return;
	buf_printf(header, "\tw=%s;\r\n", kind);
	if (name == NULL || *name == 0)
		return;
	len = strlen(name) < AUTHOR_NAME_MAX ? strlen(name) : AUTHOR_NAME_MAX;
	b64((const unsigned char *)name, len, enc, sizeof(enc));
	buf_puts(header, "\tn=");
	for (n = strlen(enc); n > 64; n -= 64)
		buf_printf(header, "%.64s\r\n\t  ", enc + strlen(enc) - n);
	buf_printf(header, "%s;\r\n", enc + strlen(enc) - n);
}

/*
 * author_sign_as - author_sign_bh, and the list's statement of what the
 * author is (kind: AUTHOR_KIND_*, NULL none; name: the name shown)
 */
int
author_sign_as(const unsigned char seed[DKIM_SEED_LEN], const char *lid,
    long long t, const char *msg, size_t len, const unsigned char *body_hash,
    const char *kind, const char *name, struct buf *header)
{
	unsigned char pk[DKIM_PK_LEN], sk[crypto_sign_SECRETKEYBYTES], bh[32], sig[64];
	char l[256], k[64], ts[32], bhs[64], sigs[128];
	struct buf in;
	struct hdr h;

	if (hdr_parse(msg, len, &h) < 0)
		return -1;
	if (lid)
		snprintf(l, sizeof(l), "%s", lid);
	else if (list_id(&h, l, sizeof(l)) < 0) {
		hdr_free(&h);
		return -1;
	}
	crypto_sign_seed_keypair(pk, sk, seed);
	b64(pk, sizeof(pk), k, sizeof(k));
	snprintf(ts, sizeof(ts), "%lld", t);
	if (body_hash)
		memcpy(bh, body_hash, sizeof(bh));
	else
		dkim_body_hash(msg + h.body_off, len - h.body_off, bh);
	b64(bh, sizeof(bh), bhs, sizeof(bhs));
	buf_init(&in, 0);
	signed_input(&h, l, k, ts, bhs, &in);
	crypto_sign_detached(sig, NULL, in.data, in.len, sk);
	sodium_memzero(sk, sizeof(sk));
	b64(sig, sizeof(sig), sigs, sizeof(sigs));
	buf_printf(header, AUTHOR_FIELD ": v=1; a=ed25519; l=%s;\r\n", l);
	claim(kind, name, header);
	buf_printf(header, "\tk=%s; t=%s;\r\n\tbh=%s;\r\n\tb=%s\r\n",
	    k, ts, bhs, sigs);
	buf_free(&in);
	hdr_free(&h);
	return 0;
}

/* tagval - a tag of the field, white space removed (out NULL: is it there) */
static int
tagval(const char *v, size_t n, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name), i = 0, o;

	while (i < n) {
		while (i < n && isspace((unsigned char)v[i]))
			i++;
		if (n - i > nl && strncmp(v + i, name, nl) == 0 && v[i + nl] == '=') {
			i += nl + 1;
			if (out == NULL)
				return 0;
			for (o = 0; i < n && v[i] != ';'; i++)
				if (!isspace((unsigned char)v[i])) {
					if (o + 1 >= outlen)
						return -1;
					out[o++] = v[i];
				}
			out[o] = 0;
			return 0;
		}
		while (i < n && v[i] != ';')
			i++;
		i++;
	}
	return -1;
}

/* has_tag - whether the field has tag name, whatever its value */
static int
has_tag(const struct hdr_field *f, const char *name)
{
	return tagval(f->value, f->vlen, name, NULL, 0) == 0;
}

/*
 * author_verify - check the author signature; its key and list id come back.
 * expect: the list id it must be for, as the list checks a member's own
 * signature, which may not carry w= or n= (NULL: the List-Id the message
 * carries, as on a copy the list distributed).
 * 0, or -AUTHOR_* saying why it does not count (why: the same in English,
 * for the log and mlist verify; a member is told through the code's piece).
 */
int
author_verify(const char *msg, size_t len, const char *expect, unsigned char pk[DKIM_PK_LEN], char *lid,
    size_t lidlen, char *why, size_t wl)
{
	char l[256], k[64], t[32], bhs[64], b[128], want[256];
	unsigned char bh[32], sig[64];
	size_t got;
	const struct hdr_field *f;
	struct buf in;
	struct hdr h;
	int rc = -1;

	if (hdr_parse(msg, len, &h) < 0) {
		snprintf(why, wl, "out of memory");
		return -AUTHOR_ERROR;
	}
	buf_init(&in, 0);
	if ((f = hdr_get(&h, AUTHOR_FIELD)) == NULL) {
		snprintf(why, wl, "no author signature");
		rc = -AUTHOR_NONE;
		goto out;
	}
	if (hdr_count(&h, AUTHOR_FIELD) > 1) {
		/*
		 * DKIM covers one of them, bottom-up; we read the first: an
		 * added one would speak for the list (attack10c F1)
		 */
		snprintf(why, wl, "more than one author signature");
		rc = -AUTHOR_MALFORMED;
		goto out;
	}
	if (tagval(f->value, f->vlen, "l", l, sizeof(l)) < 0 || tagval(f->value, f->vlen, "k", k, sizeof(k)) < 0 ||
	    tagval(f->value, f->vlen, "t", t, sizeof(t)) < 0 || tagval(f->value, f->vlen, "bh", bhs, sizeof(bhs)) < 0 ||
	    tagval(f->value, f->vlen, "b", b, sizeof(b)) < 0) {
		snprintf(why, wl, "author signature is malformed");
		rc = -AUTHOR_MALFORMED;
		goto out;
	}
	snprintf(lid, lidlen, "%s", l);
	if (expect && (has_tag(f, "w") || has_tag(f, "n"))) {
		/* w= and n= are the list's to state, not a member's */
		snprintf(why, wl, "author signature is malformed (w= or n=)");
		rc = -AUTHOR_MALFORMED;
		goto out;
	}
	if (sodium_base642bin(pk, DKIM_PK_LEN, k, strlen(k), NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) ||
	    got != DKIM_PK_LEN || sodium_base642bin(sig, sizeof(sig), b, strlen(b), NULL, &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) || got != sizeof(sig)) {
		snprintf(why, wl, "author signature has a bad key or signature encoding");
		rc = -AUTHOR_ENCODING;
		goto out;
	}
	if (expect)
		snprintf(want, sizeof(want), "%s", expect);
	if ((!expect && list_id(&h, want, sizeof(want)) < 0) || strcasecmp(want, l) != 0) {
		snprintf(why, wl, "signed for another list (%s)", l);
		rc = -AUTHOR_OTHER_LIST;
		goto out;
	}
	dkim_body_hash(msg + h.body_off, len - h.body_off, bh);
	{
		char mine[64];

		b64(bh, sizeof(bh), mine, sizeof(mine));
		if (strcmp(mine, bhs) != 0) {
			snprintf(why, wl, "body changed since the author signed it");
			rc = -AUTHOR_BODY_CHANGED;
			goto out;
		}
	}
	signed_input(&h, l, k, t, bhs, &in);
	if (crypto_sign_verify_detached(sig, in.data, in.len, pk) != 0) {
		snprintf(why, wl, "author signature does not verify (Subject, Date or Message-ID changed)");
		rc = -AUTHOR_HEADERS_CHANGED;
		goto out;
	}
	rc = 0;
out:
	buf_free(&in);
	hdr_free(&h);
	return rc;
}

/* author_fingerprint - short, readable name of a key: 8 groups of 4 hex digits */
void
author_fingerprint(const unsigned char pk[DKIM_PK_LEN], char *out, size_t n)
{
	unsigned char h[16];
	size_t o = 0;

	crypto_generichash(h, sizeof(h), pk, DKIM_PK_LEN, NULL, 0);
	for (int i = 0; i < 16 && o + 6 < n; i += 2)
		o += (size_t)snprintf(out + o, n - o, "%s%02X%02X", i ? "-" : "", h[i], h[i + 1]);
}

/* author_signature_id - the b= value (white space removed): names one signed post, for replay checks */
int
author_signature_id(const char *msg, size_t len, char *out, size_t n)
{
	const struct hdr_field *f;
	struct hdr h;
	int rc = -1;

	if (hdr_parse(msg, len, &h) < 0)
		return -1;
	if ((f = hdr_get(&h, AUTHOR_FIELD)) != NULL)
		rc = tagval(f->value, f->vlen, "b", out, n);
	hdr_free(&h);
	return rc;
}

/*
 * author_claim - what the list states the author is (w=, into kind) and
 * the name shown (n=, decoded, "" if none): 0, or -1 none stated. Only
 * worth reading once the list's DKIM signature holds, which covers it.
 */
int
author_claim(const char *msg, size_t len, char *kind, size_t kl, char *name,
    size_t nl)
{
	char enc[sodium_base64_ENCODED_LEN(AUTHOR_NAME_MAX,
	    sodium_base64_VARIANT_ORIGINAL) + 64];
	const struct hdr_field *f;
	struct hdr h;
	size_t got = 0;
	int rc = -1;

	if (nl == 0 || hdr_parse(msg, len, &h) < 0)
		return -1;
	*name = 0;
	/* two fields state nothing: author_verify refuses them */
	if (hdr_count(&h, AUTHOR_FIELD) == 1 &&
	    (f = hdr_get(&h, AUTHOR_FIELD)) != NULL &&
	    tagval(f->value, f->vlen, "w", kind, kl) == 0) {
		rc = 0;
		if (tagval(f->value, f->vlen, "n", enc, sizeof(enc)) == 0 &&
		    sodium_base642bin((unsigned char *)name, nl - 1, enc,
		    strlen(enc), NULL, &got, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0)
			got = 0;	/* a name that does not decode: none */
		name[got] = 0;
	}
	hdr_free(&h);
	return rc;
}
