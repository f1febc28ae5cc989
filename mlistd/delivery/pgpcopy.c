/*
 * pgpcopy.c - the copy a member with an OpenPGP key receives (RFC 3156).
 *
 * Inside: the copy exactly as a plain member gets it (its headers are the
 * protected headers, protected-headers="v1"), padded in its MIME preamble
 * to a size bucket, signed once per post and encrypted per member with one
 * PKESK (mail/openpgp_out.c does the OpenPGP). Outside: only what a relay
 * needs and what lets a client thread and unsubscribe - Date, Message-ID,
 * To, In-Reply-To, References, the List-* headers, Precedence,
 * Auto-Submitted - with From the signer key's UID (the list's, or a
 * pseudonym's for its posts), Subject "..." and an Autocrypt header with
 * that key. The signature is dated by the
 * copy's own Date: (a post released late is dated when it was released),
 * so a client never sees the two disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "delivery/pgpcopy.h"
#include "mail/header.h"
#include "mail/listpgp.h"

/* outer - the plain copy's fields that stay visible outside the encryption */
static const char *const outer[] = {
	"Date", "Message-ID", "To", "In-Reply-To", "References",
	"Precedence", "Auto-Submitted", "List-Id", "List-Unsubscribe",
	"List-Unsubscribe-Post", "List-Post", "List-Help", "List-Subscribe",
	"List-Archive", "List-Owner", NULL
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
		/* as distribute writes it: "Tue, 14 Nov 2023 22:15:00 +0000" */
		end = strptime(v + strspn(v, " \t"), "%a, %d %b %Y %H:%M:%S",
		    &tm);
		if (end != NULL && strncmp(end, " +0000", 6) == 0)
			t = (long long)timegm(&tm);
		free(v);
	}
	hdr_free(&h);
	return t > 0 ? t : 0;
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

/* head - the outer header every copy shares (all but its Content-Type) */
static int
head(struct pgpcopy_post *p, const void *raw, size_t len)
{
	struct hdr h;
	int rc = 0;

	if (hdr_parse(raw, len, &h) < 0)
		return -1;
	rc |= buf_printf(&p->head, "From: <%s>\r\nSubject: ...\r\n", p->from);
	for (int i = 0; i < h.n; i++)
		if (kept(&h.f[i]))
			rc |= buf_append(&p->head, h.f[i].start, h.f[i].len);
	hdr_free(&h);
	rc |= buf_append(&p->head, p->autocrypt.data, p->autocrypt.len);
	rc |= buf_puts(&p->head, "MIME-Version: 1.0\r\n");
	return rc ? -1 : 0;
}

/*
 * pgpcopy_prepare - what every encrypted copy of the plain copy raw shares:
 * signed once by sign_key, dated by the copy's Date: (now if none), From
 * and Autocrypt naming the signer (a client shows a signature as good only
 * when its key's UID address is the From)
 */
enum result
pgpcopy_prepare(const struct openpgp_secret *sign_key, const char *from,
    const char *list, const char *host,
    const void *raw, size_t len, size_t bucket_min, long long now,
    struct pgpcopy_post *p, char *why, size_t whylen)
{
	long long created = pgpcopy_date(raw, len);
	enum result r;

	memset(p, 0, sizeof(*p));
	buf_init(&p->autocrypt, 0);
	buf_init(&p->head, 0);
	if (from != NULL)
		snprintf(p->from, sizeof(p->from), "%s", from);
	else
		snprintf(p->from, sizeof(p->from), "%s@%s", list, host);
	if (created == 0)
		created = now;
	if (listpgp_autocrypt(sign_key, p->from, &p->autocrypt) < 0 ||
	    head(p, raw, len) < 0) {
		snprintf(why, whylen, "the list's key does not export, or no "
		    "memory");
		buf_free(&p->autocrypt);
		buf_free(&p->head);
		return TEMPFAIL;
	}
	r = openpgp_post_sign(sign_key, raw, len, (uint32_t)created,
	    bucket_min, &p->signed_, why, whylen);
	if (r != OK) {
		buf_free(&p->autocrypt);
		buf_free(&p->head);
	}
	return r;
}

/* pgpcopy_post_free - release what pgpcopy_prepare made */
void
pgpcopy_post_free(struct pgpcopy_post *p)
{
	openpgp_post_free(&p->signed_);
	buf_free(&p->autocrypt);
	buf_free(&p->head);
}

/*
 * pgpcopy_make - the encrypted copy of raw for the holder of key (kept
 * loaded in the key cache for the next post)
 */
enum result
pgpcopy_make(const struct pgpcopy_post *p,
    const struct buf *key, struct buf *out, char *why, size_t whylen)
{
	struct openpgp_key k;
	struct buf arm, ctype, body;
	enum result r;

	memset(&k, 0, sizeof(k));
	k.bin = *key;	/* read only; the fingerprint is not kept */
	buf_init(&arm, 0);
	buf_init(&ctype, 0);
	buf_init(&body, 0);
	r = openpgp_cached_encrypt(&p->signed_, &k, &arm, why, whylen);
	if (r == OK && (openpgp_mime_wrap(&arm, &ctype, &body) != OK ||
	    buf_append(out, p->head.data, p->head.len) < 0 ||
	    buf_printf(out, "Content-Type: %s\r\n\r\n", buf_cstr(&ctype)) < 0 ||
	    buf_append(out, body.data, body.len) < 0)) {
		snprintf(why, whylen, "out of memory wrapping the copy");
		r = TEMPFAIL;
	}
	buf_free(&arm);
	buf_free(&ctype);
	buf_free(&body);
	return r;
}
