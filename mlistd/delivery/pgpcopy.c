/*
 * pgpcopy.c - the copy a member with an OpenPGP key receives (RFC 3156).
 *
 * Inside: the copy exactly as a plain member gets it (its headers are the
 * protected headers, protected-headers="v1"), padded in its MIME preamble
 * to a size bucket, signed once per post and encrypted per member with one
 * PKESK (mail/openpgp_out.c does the OpenPGP). Outside: only what a relay
 * needs and what lets a client thread and unsubscribe, each of a length
 * that says nothing of the post: From the signer key's UID (the list's, or
 * a pseudonym's for its posts), To the list, Subject "...", Date in the one
 * fixed format, the List-* headers, Precedence, an
 * Autocrypt header with the signer's key, and the thread as fixed-length
 * ids: Message-ID, and In-Reply-To and References naming the parent only,
 * each a keyed hash of the real id (which stays inside, with the whole
 * References chain). Hashed, not random per copy: Thunderbird (up to 153
 * at least) and mutt thread by the outer header alone - Thunderbird takes
 * only the Subject from protected headers into its message database - so
 * a random id would break every thread; the same hash of the parent's id
 * in every copy keeps them. An id that already is such a hash (a reply
 * written to an encrypted copy) is kept as it is. The signature is dated
 * by the copy's own Date: (a post released late is dated when it was
 * released), so a client never sees the two disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "delivery/pgpcopy.h"
#include "mail/header.h"
#include "mail/listpgp.h"
#include "util/utc.h"

#define ID_HEX		32	/* hex digits of an outer id's local part */

/*
 * outer - the plain copy's fields that stay visible outside the encryption
 * as they are: none depends on the post (From, To, Date and the thread ids
 * are written afresh). Auto-Submitted stays inside: outside, a notice
 * to one member would stand out from the posts.
 */
static const char *const outer[] = {
	"Precedence", "List-Id", "List-Unsubscribe",
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

/*
 * msgid - the first (last if !first) <id> of a Message-ID, In-Reply-To or
 * References value into out; 0 if it holds none
 */
static int
msgid(const char *v, int first, char *out, size_t outlen)
{
	const char *a, *b, *s = NULL, *e = NULL;

	for (a = v; (a = strchr(a, '<')) != NULL; a = b + 1) {
		if ((b = strchr(a, '>')) == NULL)
			break;
		s = a;
		e = b + 1;
		if (first)
			break;
	}
	if (s == NULL || (size_t)(e - s) >= outlen)
		return 0;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = 0;
	return 1;
}

/* hashed - is id already an outer id of this host (ID_HEX hex digits)? */
static int
hashed(const char *id, const char *host)
{
	size_t hl = strlen(host);

	if (strlen(id) != ID_HEX + hl + 3 || id[0] != '<' ||
	    id[ID_HEX + 1] != '@' || id[ID_HEX + hl + 2] != '>' ||
	    strncasecmp(id + ID_HEX + 2, host, hl) != 0)
		return 0;
	return strspn(id + 1, "0123456789abcdef") == ID_HEX;
}

/* outer_id - the fixed-length id that stands outside for the real id */
static int
outer_id(const struct pgpcopy_post *p, const char *id, struct buf *out)
{
	unsigned char h[ID_HEX / 2];
	char hex[ID_HEX + 1];

	if (hashed(id, p->host))
		return buf_puts(out, id);
	crypto_generichash(h, sizeof(h), (const unsigned char *)id,
	    strlen(id), p->idkey, sizeof(p->idkey));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return buf_printf(out, "<%s@%s>", hex, p->host);
}

/*
 * thread - Message-ID, and the parent (In-Reply-To, else the last of
 * References) as both In-Reply-To and References, each as an outer id
 */
static int
thread(struct pgpcopy_post *p, const struct hdr *h)
{
	char id[1000], *v;
	int rc = 0, have = 0;

	if ((v = hdr_get_value(h, "Message-ID")) != NULL) {
		if (msgid(v, 1, id, sizeof(id))) {
			rc |= buf_puts(&p->head, "Message-ID: ");
			rc |= outer_id(p, id, &p->head);
			rc |= buf_puts(&p->head, "\r\n");
		}
		free(v);
	}
	if ((v = hdr_get_value(h, "In-Reply-To")) != NULL) {
		have = msgid(v, 1, id, sizeof(id));
		free(v);
	}
	if (!have && (v = hdr_get_value(h, "References")) != NULL) {
		have = msgid(v, 0, id, sizeof(id));
		free(v);
	}
	if (have) {
		rc |= buf_puts(&p->head, "In-Reply-To: ");
		rc |= outer_id(p, id, &p->head);
		rc |= buf_puts(&p->head, "\r\nReferences: ");
		rc |= outer_id(p, id, &p->head);
		rc |= buf_puts(&p->head, "\r\n");
	}
	return rc ? -1 : 0;
}

/* date - the copy's time in the one fixed-length form distribute writes */
static int
date(struct buf *b, long long t)
{
	char d[UTC_DATE_MAX];

	/* utc_date's form: the one fixed length pgpcopy_date parses back */
	if (utc_date(t, d, sizeof(d)) < 0)
		return -1;
	return buf_printf(b, "Date: %s\r\n", d);
}

/* head - the outer header every copy shares (all but its Content-Type) */
static int
head(struct pgpcopy_post *p, const char *list, long long created,
    const void *raw, size_t len)
{
	struct hdr h;
	int rc = 0;

	if (hdr_parse(raw, len, &h) < 0)
		return -1;
	rc |= buf_printf(&p->head, "From: <%s>\r\nTo: <%s@%s>\r\n"
	    "Subject: ...\r\n", p->from, list, p->host);
	rc |= date(&p->head, created);
	rc |= thread(p, &h);
	for (int i = 0; i < h.n; i++)
		if (kept(&h.f[i]))
			rc |= buf_append(&p->head, h.f[i].start, h.f[i].len);
	hdr_free(&h);
	rc |= buf_append(&p->head, p->autocrypt.data, p->autocrypt.len);
	rc |= buf_puts(&p->head, "MIME-Version: 1.0\r\n");
	return rc ? -1 : 0;
}

/*
 * id_key - the key of the outer ids: from the instance's idseed (the same
 * hash for a post's every copy and for its replies' references), or
 * random for this post alone when there is none
 */
static void
id_key(struct pgpcopy_post *p, const char *list, const unsigned char *idseed)
{
	static const char ctx[] = "mlist outer thread ids v1";
	crypto_generichash_state st;

	if (idseed == NULL) {
		randombytes_buf(p->idkey, sizeof(p->idkey));
		return;
	}
	crypto_generichash_init(&st, idseed, PGPCOPY_SEED_LEN,
	    sizeof(p->idkey));
	crypto_generichash_update(&st, (const unsigned char *)ctx,
	    sizeof(ctx));
	crypto_generichash_update(&st, (const unsigned char *)list,
	    strlen(list) + 1);
	crypto_generichash_final(&st, p->idkey, sizeof(p->idkey));
}

/*
 * pgpcopy_prepare - what every encrypted copy of the plain copy raw shares:
 * signed once by sign_key, dated by the copy's Date: (now if none), From
 * and Autocrypt naming the signer (a client shows a signature as good only
 * when its key's UID address is the From)
 */
enum result
pgpcopy_prepare(const struct openpgp_secret *sign_key, const char *from,
    const char *list, const char *host, const unsigned char *idseed,
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
	snprintf(p->host, sizeof(p->host), "%s", host);
	id_key(p, list, idseed);
	if (created == 0)
		created = now;
	if (listpgp_autocrypt(sign_key, p->from, &p->autocrypt) < 0 ||
	    head(p, list, created, raw, len) < 0) {
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
	sodium_memzero(p->idkey, sizeof(p->idkey));
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

/*
 * pgpcopy_outer_id - the outer id every encrypted copy of list shows for
 * the real id (as thread() writes it), into out: a reply's parent is
 * mapped back by it (pipeline/pgpin_thread.c), a DSN's returned copy
 * recognised (distribute.c). -1 without a seed (the ids
 * are then random) or if it does not fit.
 */
int
pgpcopy_outer_id(const unsigned char *idseed, const char *list,
    const char *host, const char *id, char *out, size_t n)
{
	struct pgpcopy_post p;
	struct buf b;
	int rc;

	if (idseed == NULL)
		return -1;
	memset(&p, 0, sizeof(p));
	snprintf(p.host, sizeof(p.host), "%s", host);
	id_key(&p, list, idseed);
	buf_init(&b, 0);
	rc = outer_id(&p, id, &b) < 0 || b.len >= n ? -1 : 0;
	if (rc == 0)
		snprintf(out, n, "%s", buf_cstr(&b));
	sodium_memzero(p.idkey, sizeof(p.idkey));
	buf_free(&b);
	return rc;
}

/* pgpcopy_is_outer_id - is id of the outer ids' form for host? */
int
pgpcopy_is_outer_id(const char *id, const char *host)
{
	return hashed(id, host);
}
