/*
 * pgpcopy.c - the copy a member with an OpenPGP key receives (RFC 3156).
 *
 * Inside: the copy exactly as a plain member gets it (its headers are the
 * protected headers, protected-headers="v1"), padded in its MIME preamble
 * to a size bucket, signed once per post and encrypted per member with one
 * PKESK (mail/openpgp_out.c does the OpenPGP). Outside: only what a relay
 * needs and what lets a client thread and unsubscribe - Date, Message-ID,
 * To, In-Reply-To, References, the List-* headers, Precedence,
 * Auto-Submitted - with From the list's key UID, Subject "..." and an
 * Autocrypt header with the list's key. The signature is dated by the
 * copy's own Date: (a post released late is dated when it was released),
 * so a client never sees the two disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "delivery/pgpcopy.h"
#include "mail/header.h"

/* outer - the plain copy's fields that stay visible outside the encryption */
static const char *const outer[] = {
	"Date", "Message-ID", "To", "In-Reply-To", "References", "Precedence",
	"Auto-Submitted", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
	"List-Post", "List-Help", "List-Subscribe", "List-Archive", "List-Owner",
	NULL
};

/* pgpcopy_date - the copy's Date: as a time, 0 if it has none that parses */
long long
pgpcopy_date(const void *raw, size_t len)
{
	struct hdr h;
	struct tm tm;
	char *v, *end;
	long long t = 0;

	if (hdr_parse(raw, len, &h) < 0)
		return 0;
	if ((v = hdr_get_value(&h, "Date")) != NULL) {
		memset(&tm, 0, sizeof(tm));
		/* distribute writes it: "Tue, 14 Nov 2023 22:15:00 +0000" (UTC) */
		end = strptime(v + strspn(v, " \t"), "%a, %d %b %Y %H:%M:%S", &tm);
		if (end != NULL && strncmp(end, " +0000", 6) == 0)
			t = (long long)timegm(&tm);
		free(v);
	}
	hdr_free(&h);
	return t > 0 ? t : 0;
}

/* autocrypt - the Autocrypt header for the list's key, folded */
static enum result
autocrypt(const struct openpgp_secret *k, const char *from, struct buf *out,
    char *why, size_t whylen)
{
	struct buf bin;
	char *b64 = NULL;
	size_t n = 0;
	enum result r;

	buf_init(&bin, 0);
	if ((r = openpgp_list_public(k, 0, &bin, why, whylen)) == OK) {
		n = sodium_base64_encoded_len(bin.len,
		    sodium_base64_VARIANT_ORIGINAL);
		if ((b64 = malloc(n)) == NULL)
			r = TEMPFAIL;
	}
	if (r == OK) {
		sodium_bin2base64(b64, n, bin.data, bin.len,
		    sodium_base64_VARIANT_ORIGINAL);
		n = strlen(b64);
		buf_printf(out, "Autocrypt: addr=%s; prefer-encrypt=mutual; "
		    "keydata=", from);
		for (size_t i = 0; i < n; i += 72)
			buf_printf(out, "\r\n %.*s", (int)(n - i < 72 ? n - i : 72),
			    b64 + i);
		if (buf_puts(out, "\r\n") < 0)
			r = TEMPFAIL;
	}
	free(b64);
	buf_free(&bin);
	return r;
}

/*
 * pgpcopy_prepare - what every encrypted copy of the plain copy raw shares:
 * signed once by sign_key, dated by the copy's Date: (now if none)
 */
enum result
pgpcopy_prepare(const struct openpgp_secret *sign_key,
    const struct openpgp_secret *list_key, const char *list, const char *host,
    const void *raw, size_t len, size_t bucket_min, long long now,
    struct pgpcopy_post *p, char *why, size_t whylen)
{
	long long created = pgpcopy_date(raw, len);
	enum result r;

	memset(p, 0, sizeof(*p));
	buf_init(&p->autocrypt, 0);
	snprintf(p->from, sizeof(p->from), "%s@%s", list, host);
	if (created == 0)
		created = now;
	if ((r = autocrypt(list_key, p->from, &p->autocrypt, why, whylen))
	    != OK) {
		buf_free(&p->autocrypt);
		return r;
	}
	r = openpgp_post_sign(sign_key, raw, len, (uint32_t)created,
	    bucket_min, &p->signed_, why, whylen);
	if (r != OK)
		buf_free(&p->autocrypt);
	return r;
}

/* pgpcopy_post_free - release what pgpcopy_prepare made */
void
pgpcopy_post_free(struct pgpcopy_post *p)
{
	openpgp_post_free(&p->signed_);
	buf_free(&p->autocrypt);
}

/* kept - is this field one of the outer ones? */
static int
kept(const struct hdr_field *f)
{
	for (int i = 0; outer[i]; i++)
		if (hdr_is(f, outer[i]))
			return 1;
	return 0;
}

/* head - the outer header of one copy */
static int
head(const struct pgpcopy_post *p, const void *raw, size_t len,
    const struct buf *ctype, struct buf *out)
{
	struct hdr h;
	int rc = 0;

	if (hdr_parse(raw, len, &h) < 0)
		return -1;
	rc |= buf_printf(out, "From: <%s>\r\nSubject: ...\r\n", p->from);
	for (int i = 0; i < h.n; i++)
		if (kept(&h.f[i]))
			rc |= buf_append(out, h.f[i].start, h.f[i].len);
	hdr_free(&h);
	rc |= buf_append(out, p->autocrypt.data, p->autocrypt.len);
	rc |= buf_printf(out, "MIME-Version: 1.0\r\nContent-Type: %s\r\n\r\n",
	    buf_cstr((struct buf *)ctype));
	return rc ? -1 : 0;
}

/* pgpcopy_make - the encrypted copy of raw for the holder of key */
enum result
pgpcopy_make(struct openpgp_enc *e, const struct pgpcopy_post *p,
    const void *raw, size_t len, const struct buf *key, struct buf *out,
    char *why, size_t whylen)
{
	struct openpgp_key k;
	struct buf arm, ctype, body;
	enum result r;

	memset(&k, 0, sizeof(k));
	k.bin = *key;		/* read only: the fingerprint is not kept */
	buf_init(&arm, 0);
	buf_init(&ctype, 0);
	buf_init(&body, 0);
	r = openpgp_copy_encrypt(e, &p->signed_, &k, &arm, why, whylen);
	if (r == OK && (openpgp_mime_wrap(&arm, &ctype, &body) != OK ||
	    head(p, raw, len, &ctype, out) < 0 ||
	    buf_append(out, body.data, body.len) < 0)) {
		snprintf(why, whylen, "out of memory wrapping the copy");
		r = TEMPFAIL;
	}
	buf_free(&arm);
	buf_free(&ctype);
	buf_free(&body);
	return r;
}
