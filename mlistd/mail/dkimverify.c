/*
 * dkimverify.c - check the DKIM-Signature fields of a received message.
 *
 * Algorithms: rsa-sha256 (GnuTLS; keys under 1024 bits fail, RFC 8301) and
 * ed25519-sha256 (libsodium, RFC 8463); rsa-sha1 fails (RFC 8301 3.1).
 * Canonicalisation simple or relaxed for header and body; the relaxed body
 * and header value come from dkim.c, the list's own signer, so the two agree.
 * Each signature is judged alone: h= must name From, x= must be in the
 * future, i= must sit under d=, and a body longer than l= is reported as
 * partial so the caller can treat what follows as unsigned. The key is
 * SELECTOR._domainkey.DOMAIN, fetched through the caller's look-up.
 * Malformed input of any kind is PERMERROR, never a crash.
 */
#include <ctype.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"
#include "dkimverify.h"

#define TAGS_MAX	32
#define RSA_MIN_BITS	1024
#define SIG_MAX		1024	/* bytes: RSA-8192 */

struct tag {
	const char	*name;
	size_t		 nl;
	const char	*val;		/* trimmed of FWS */
	size_t		 vl;
	const char	*raw;		/* from after '=' up to ';' or the end */
	size_t		 rl;
};

struct taglist {
	int		 n;
	struct tag	 t[TAGS_MAX];
};

/* what one signature claims, parsed */
struct dsig {
	struct taglist	 tl;
	int		 rsa;		/* else ed25519 */
	int		 hrelaxed, brelaxed;
	long long	 l;		/* -1 : whole body */
	char		 h[1024];
	unsigned char	 bh[32];
	unsigned char	 b[SIG_MAX];
	size_t		 blen;
};

/* dkimv_status_name - for the log */
const char *
dkimv_status_name(enum dkimv_status s)
{
	switch (s) {
	case DKIMV_PASS:
		return "pass";
	case DKIMV_FAIL:
		return "fail";
	case DKIMV_PERMERROR:
		return "permerror";
	case DKIMV_TEMPERROR:
		return "temperror";
	}
	return "?";
}

/* fws - RFC 6376 white space, folding included */
static int
fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* tag_one - parse one "name = value" between s and e into t; -1 if malformed */
static int
tag_one(const char *s, const char *e, struct tag *t)
{
	const char *eq, *p;

	while (s < e && fws(*s))
		s++;
	if ((eq = memchr(s, '=', (size_t)(e - s))) == NULL)
		return -1;
	t->name = s;
	for (p = s; p < eq && !fws(*p); p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return -1;
	t->nl = (size_t)(p - s);
	while (p < eq && fws(*p))
		p++;
	if (p != eq || t->nl == 0 || !isalpha((unsigned char)*s))
		return -1;
	t->raw = eq + 1;
	t->rl = (size_t)(e - t->raw);
	t->val = t->raw;
	t->vl = t->rl;
	while (t->vl && fws(*t->val))
		t->val++, t->vl--;
	while (t->vl && fws(t->val[t->vl - 1]))
		t->vl--;
	return 0;
}

/* taglist_parse - RFC 6376 3.2 tag-list; -1 on bad syntax or a repeated tag */
static int
taglist_parse(const char *v, size_t n, struct taglist *tl)
{
	const char *p = v, *end = v + n;

	tl->n = 0;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p)), *e = semi ? semi : end, *q = p;

		while (q < e && fws(*q))
			q++;
		if (q == e && !semi)
			break;		/* white space after the last ';' */
		if (tl->n == TAGS_MAX || tag_one(p, e, &tl->t[tl->n]) < 0)
			return -1;
		for (int i = 0; i < tl->n; i++)
			if (tl->t[i].nl == tl->t[tl->n].nl &&
			    memcmp(tl->t[i].name, tl->t[tl->n].name, tl->t[i].nl) == 0)
				return -1;
		tl->n++;
		p = semi ? semi + 1 : end;
	}
	return 0;
}

/* tl_get - the tag called name, or NULL */
static const struct tag *
tl_get(const struct taglist *tl, const char *name)
{
	size_t nl = strlen(name);

	for (int i = 0; i < tl->n; i++)
		if (tl->t[i].nl == nl && memcmp(tl->t[i].name, name, nl) == 0)
			return &tl->t[i];
	return NULL;
}

/* tl_str - a tag's value without white space into out; -1 if absent or too long */
static int
tl_str(const struct taglist *tl, const char *name, char *out, size_t ol)
{
	const struct tag *t = tl_get(tl, name);
	size_t o = 0;

	if (!t || ol == 0)
		return -1;
	for (size_t i = 0; i < t->vl; i++) {
		if (fws(t->val[i]))
			continue;
		if (o + 1 >= ol)
			return -1;
		out[o++] = t->val[i];
	}
	out[o] = 0;
	return 0;
}

/* tl_b64 - a base64 tag decoded; -1 if absent, malformed or too long */
static int
tl_b64(const struct taglist *tl, const char *name, unsigned char *out, size_t ol, size_t *got)
{
	char s[2048];

	if (tl_str(tl, name, s, sizeof(s)) < 0)
		return -1;
	return sodium_base642bin(out, ol, s, strlen(s), NULL, got, NULL,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* dns_name_ok - letters, digits, '-', '_' and dots, no empty label */
static int
dns_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DKIMV_DOMAIN || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

/* lower - lower-case in place */
static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* list_has - does a colon-separated list (no white space) name item? */
static int
list_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; *p; ) {
		size_t l = strcspn(p, ":");

		if (l == n && strncasecmp(p, item, n) == 0)
			return 1;
		p += l;
		if (*p)
			p++;
	}
	return 0;
}

/* fail - set a verdict and its reason */
static enum dkimv_status
fail(struct dkimv_sig *s, enum dkimv_status st, const char *why)
{
	s->status = st;
	snprintf(s->why, sizeof(s->why), "%s", why);
	return st;
}

/* parse_canon - c= ("simple" when absent; "relaxed" alone means relaxed/simple) */
static int
parse_canon(const struct taglist *tl, struct dsig *d)
{
	char c[40], *slash;

	d->hrelaxed = d->brelaxed = 0;
	if (tl_str(tl, "c", c, sizeof(c)) < 0)
		return tl_get(tl, "c") ? -1 : 0;
	lower(c);
	if ((slash = strchr(c, '/')) != NULL)
		*slash++ = 0;
	if (strcmp(c, "relaxed") == 0)
		d->hrelaxed = 1;
	else if (strcmp(c, "simple") != 0)
		return -1;
	if (slash && strcmp(slash, "relaxed") == 0)
		d->brelaxed = 1;
	else if (slash && strcmp(slash, "simple") != 0)
		return -1;
	return 0;
}

/* parse_alg - a=: rsa-sha256 or ed25519-sha256; rsa-sha1 is refused (RFC 8301) */
static enum dkimv_status
parse_alg(struct dsig *d, struct dkimv_sig *s)
{
	if (tl_str(&d->tl, "a", s->alg, sizeof(s->alg)) < 0)
		return fail(s, DKIMV_PERMERROR, "no a= tag");
	lower(s->alg);
	if (strcmp(s->alg, "rsa-sha256") == 0)
		d->rsa = 1;
	else if (strcmp(s->alg, "ed25519-sha256") == 0)
		d->rsa = 0;
	else if (strcmp(s->alg, "rsa-sha1") == 0)
		return fail(s, DKIMV_FAIL, "rsa-sha1 is not accepted (RFC 8301)");
	else
		return fail(s, DKIMV_PERMERROR, "unknown a= algorithm");
	return DKIMV_PASS;
}

/* parse_ident - d=, s=, i= under d=, q= */
static enum dkimv_status
parse_ident(struct dsig *d, struct dkimv_sig *s)
{
	char i[300], q[64];

	if (tl_str(&d->tl, "d", s->domain, sizeof(s->domain)) < 0 || !dns_name_ok(s->domain))
		return fail(s, DKIMV_PERMERROR, "missing or malformed d= tag");
	lower(s->domain);
	if (tl_str(&d->tl, "s", s->selector, sizeof(s->selector)) < 0 || !dns_name_ok(s->selector))
		return fail(s, DKIMV_PERMERROR, "missing or malformed s= tag");
	if (tl_str(&d->tl, "i", i, sizeof(i)) == 0) {
		const char *at = strrchr(i, '@');
		size_t il, dl = strlen(s->domain);

		if (!at)
			return fail(s, DKIMV_PERMERROR, "i= has no domain");
		at++;
		il = strlen(at);
		if (il < dl || strcasecmp(at + il - dl, s->domain) != 0 ||
		    (il > dl && at[il - dl - 1] != '.'))
			return fail(s, DKIMV_PERMERROR, "i= is not within d=");
	}
	if (tl_str(&d->tl, "q", q, sizeof(q)) == 0 && !list_has(q, "dns/txt"))
		return fail(s, DKIMV_PERMERROR, "q= offers no dns/txt");
	return DKIMV_PASS;
}

/* parse_num - a decimal tag; -1 if malformed (absent: *v untouched, 0) */
static int
parse_num(const struct taglist *tl, const char *name, long long *v)
{
	char s[32], *e;

	if (!tl_get(tl, name))
		return 0;
	if (tl_str(tl, name, s, sizeof(s)) < 0 || !isdigit((unsigned char)s[0]) || strlen(s) > 18)
		return -1;
	*v = strtoll(s, &e, 10);
	return *e ? -1 : 0;
}

/* parse_sig - everything the signature claims; PASS means "well formed so far" */
static enum dkimv_status
parse_sig(const struct hdr_field *f, long long now, struct dsig *d, struct dkimv_sig *s)
{
	enum dkimv_status st;
	char v[8];
	long long t = -1, x = -1;
	size_t got = 0;

	if (taglist_parse(f->value, f->vlen, &d->tl) < 0)
		return fail(s, DKIMV_PERMERROR, "malformed tag list");
	if (tl_str(&d->tl, "v", v, sizeof(v)) < 0 || strcmp(v, "1") != 0)
		return fail(s, DKIMV_PERMERROR, "v= is not 1");
	if ((st = parse_ident(d, s)) != DKIMV_PASS || (st = parse_alg(d, s)) != DKIMV_PASS)
		return st;
	if (parse_canon(&d->tl, d) < 0)
		return fail(s, DKIMV_PERMERROR, "unknown c= canonicalisation");
	if (tl_str(&d->tl, "h", d->h, sizeof(d->h)) < 0)
		return fail(s, DKIMV_PERMERROR, "missing or oversized h= tag");
	if (!list_has(d->h, "from"))
		return fail(s, DKIMV_PERMERROR, "h= does not sign From");
	if (tl_b64(&d->tl, "bh", d->bh, sizeof(d->bh), &got) != 0 || got != sizeof(d->bh))
		return fail(s, DKIMV_PERMERROR, "malformed bh= tag");
	if (tl_b64(&d->tl, "b", d->b, sizeof(d->b), &d->blen) != 0 || d->blen == 0)
		return fail(s, DKIMV_PERMERROR, "malformed b= tag");
	d->l = -1;
	if (parse_num(&d->tl, "l", &d->l) < 0 || parse_num(&d->tl, "t", &t) < 0 ||
	    parse_num(&d->tl, "x", &x) < 0)
		return fail(s, DKIMV_PERMERROR, "malformed l=, t= or x= tag");
	if (x >= 0 && t >= 0 && x < t)
		return fail(s, DKIMV_PERMERROR, "x= is before t=");
	if (x >= 0 && x < now)
		return fail(s, DKIMV_FAIL, "signature expired (x=)");
	return DKIMV_PASS;
}

/* canon_hdr - one field as signed; value/vlen may be the b=-less copy */
static void
canon_hdr(const struct hdr_field *f, const char *value, size_t vlen, int relaxed, int crlf,
    struct buf *out)
{
	size_t nl = f->nlen;

	if (!relaxed) {
		buf_put_crlf(out, f->start, (size_t)(f->value - f->start));
		buf_put_crlf(out, value, vlen);
		if (crlf)
			buf_puts(out, "\r\n");
		return;
	}
	while (nl && (f->start[nl - 1] == ' ' || f->start[nl - 1] == '\t'))
		nl--;
	for (size_t i = 0; i < nl; i++)
		buf_putc(out, tolower((unsigned char)f->start[i]));
	buf_putc(out, ':');
	dkim_canon_value(value, vlen, out);
	if (crlf)
		buf_puts(out, "\r\n");
}

/* headers_signed - the fields named in h=, each name taken bottom-up (RFC 6376 5.4.2) */
static void
headers_signed(const struct hdr *h, const struct dsig *d, struct buf *out)
{
	unsigned char used[HDR_MAX_FIELDS] = { 0 };
	char name[128];

	for (const char *p = d->h; *p; ) {
		size_t l = strcspn(p, ":");

		if (l > 0 && l < sizeof(name)) {
			memcpy(name, p, l);
			name[l] = 0;
			for (int i = h->n - 1; i >= 0; i--)
				if (!used[i] && hdr_is(&h->f[i], name)) {
					used[i] = 1;
					canon_hdr(&h->f[i], h->f[i].value, h->f[i].vlen, d->hrelaxed, 1, out);
					break;
				}
			/* a name with no field left is over-signing: it adds nothing */
		}
		p += l;
		if (*p)
			p++;
	}
}

/* signature_input - the signed fields, then this DKIM-Signature with b= emptied */
static void
signature_input(const struct hdr *h, const struct hdr_field *f, const struct dsig *d,
    struct buf *out)
{
	const struct tag *b = tl_get(&d->tl, "b");
	struct buf v;

	headers_signed(h, d, out);
	buf_init(&v, 0);
	buf_append(&v, f->value, (size_t)(b->raw - f->value));
	buf_append(&v, b->raw + b->rl, f->vlen - (size_t)(b->raw + b->rl - f->value));
	canon_hdr(f, (const char *)v.data, v.len, d->hrelaxed, 0, out);
	buf_free(&v);
}

/* simple_body - RFC 6376 3.4.3: CRLF lines, empty lines at the end dropped */
static void
simple_body(const char *b, size_t len, struct buf *out)
{
	buf_put_crlf(out, b, len);
	if (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0)
		buf_puts(out, "\r\n");
	while (out->len >= 4 && memcmp(out->data + out->len - 4, "\r\n\r\n", 4) == 0)
		out->len -= 2;
	out->data[out->len] = 0;
}

/* body_check - bh= against the canonical body, l= honoured and reported */
static enum dkimv_status
body_check(const char *body, size_t len, const struct dsig *d, struct dkimv_sig *s)
{
	unsigned char bh[32];
	struct buf c;
	size_t n;

	buf_init(&c, 0);
	if (d->brelaxed)
		dkim_canon_body(body, len, &c);
	else
		simple_body(body, len, &c);
	n = c.len;
	if (d->l >= 0) {
		if ((unsigned long long)d->l > c.len) {
			buf_free(&c);
			return fail(s, DKIMV_PERMERROR, "l= is longer than the body");
		}
		n = (size_t)d->l;
		s->partial = n < c.len;
	}
	crypto_hash_sha256(bh, c.data ? c.data : (const unsigned char *)"", n);
	buf_free(&c);
	if (sodium_memcmp(bh, d->bh, sizeof(bh)) != 0)
		return fail(s, DKIMV_FAIL, "body hash does not match (body changed)");
	return DKIMV_PASS;
}

/* key_parse - one key record (RFC 6376 3.6.1) for this signature; its p= decoded */
static enum dkimv_status
key_parse(const char *rec, const struct dsig *d, unsigned char *key, size_t kl, size_t *got,
    struct dkimv_sig *s)
{
	struct taglist tl;
	char v[16], k[16], hs[64], sv[64], t[32];

	if (taglist_parse(rec, strlen(rec), &tl) < 0)
		return fail(s, DKIMV_PERMERROR, "malformed key record");
	if (tl_str(&tl, "v", v, sizeof(v)) == 0 && strcmp(v, "DKIM1") != 0)
		return fail(s, DKIMV_PERMERROR, "key record v= is not DKIM1");
	if (tl_str(&tl, "k", k, sizeof(k)) < 0)
		snprintf(k, sizeof(k), "rsa");
	lower(k);
	if (strcmp(k, d->rsa ? "rsa" : "ed25519") != 0)
		return fail(s, DKIMV_PERMERROR, "key type does not match a=");
	if (tl_str(&tl, "h", hs, sizeof(hs)) == 0 && !list_has(hs, "sha256"))
		return fail(s, DKIMV_PERMERROR, "key refuses sha256 (h=)");
	if (tl_str(&tl, "s", sv, sizeof(sv)) == 0 && !list_has(sv, "*") && !list_has(sv, "email"))
		return fail(s, DKIMV_PERMERROR, "key is not for email (s=)");
	if (tl_str(&tl, "t", t, sizeof(t)) == 0 && list_has(t, "s") && tl_get(&d->tl, "i")) {
		char i[300], *at;

		if (tl_str(&d->tl, "i", i, sizeof(i)) < 0 || !(at = strrchr(i, '@')) ||
		    strcasecmp(at + 1, s->domain) != 0)
			return fail(s, DKIMV_PERMERROR, "key t=s forbids a subdomain in i=");
	}
	if (!tl_get(&tl, "p"))
		return fail(s, DKIMV_PERMERROR, "key record has no p=");
	if (tl_get(&tl, "p")->vl == 0)
		return fail(s, DKIMV_FAIL, "key revoked (empty p=)");
	if (tl_b64(&tl, "p", key, kl, got) != 0)
		return fail(s, DKIMV_PERMERROR, "malformed p= in key record");
	return DKIMV_PASS;
}

/* key_fetch - SELECTOR._domainkey.DOMAIN, the first record that parses */
static enum dkimv_status
key_fetch(const struct dkimv_keys *ks, const struct dsig *d, unsigned char *key, size_t kl,
    size_t *got, struct dkimv_sig *s)
{
	static __thread struct dns_txt txt;
	enum dkimv_status st = DKIMV_PERMERROR;
	char name[400], why[120];

	if (snprintf(name, sizeof(name), "%s._domainkey.%s", s->selector, s->domain) >=
	    (int)sizeof(name))
		return fail(s, DKIMV_PERMERROR, "key name too long");
	switch (ks->txt(ks->arg, name, &txt, why, sizeof(why))) {
	case DNS_FOUND:
		break;
	case DNS_NONE:
		return fail(s, DKIMV_PERMERROR, "no key in DNS");
	case DNS_BOGUS:
		return fail(s, DKIMV_FAIL, "key record is DNSSEC bogus");
	case DNS_TEMP:
	default:
		snprintf(s->why, sizeof(s->why), "key look-up: %s", why);
		s->status = DKIMV_TEMPERROR;
		return DKIMV_TEMPERROR;
	}
	for (int i = 0; i < txt.n; i++)
		if ((st = key_parse(txt.rec[i], d, key, kl, got, s)) == DKIMV_PASS)
			break;
	return st;
}

/* rsa_check - RSASSA-PKCS1-v1_5 SHA-256 over data, key as SubjectPublicKeyInfo */
static enum dkimv_status
rsa_check(const unsigned char *key, size_t kl, const struct dsig *d, const struct buf *data,
    struct dkimv_sig *s)
{
	gnutls_pubkey_t pk;
	gnutls_datum_t der = { (unsigned char *)key, (unsigned int)kl };
	gnutls_datum_t msg = { data->data, (unsigned int)data->len };
	gnutls_datum_t sig = { (unsigned char *)d->b, (unsigned int)d->blen };
	unsigned int bits = 0;
	enum dkimv_status st = DKIMV_PASS;

	if (gnutls_pubkey_init(&pk) < 0)
		return fail(s, DKIMV_TEMPERROR, "out of memory");
	if (gnutls_pubkey_import(pk, &der, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_pubkey_get_pk_algorithm(pk, &bits) != GNUTLS_PK_RSA)
		st = fail(s, DKIMV_PERMERROR, "RSA key does not parse");
	else if (bits < RSA_MIN_BITS)
		st = fail(s, DKIMV_FAIL, "RSA key shorter than 1024 bits (RFC 8301)");
	else if (gnutls_pubkey_verify_data2(pk, GNUTLS_SIGN_RSA_SHA256, 0, &msg, &sig) < 0)
		st = fail(s, DKIMV_FAIL, "signature does not verify (a signed header changed)");
	gnutls_pubkey_deinit(pk);
	return st;
}

/* ed_check - Ed25519 over SHA-256 of data (RFC 8463 3), key raw 32 bytes */
static enum dkimv_status
ed_check(const unsigned char *key, size_t kl, const struct dsig *d, const struct buf *data,
    struct dkimv_sig *s)
{
	unsigned char hash[32];

	if (kl != crypto_sign_PUBLICKEYBYTES)
		return fail(s, DKIMV_PERMERROR, "Ed25519 key is not 32 bytes");
	if (d->blen != crypto_sign_BYTES)
		return fail(s, DKIMV_FAIL, "Ed25519 signature is not 64 bytes");
	crypto_hash_sha256(hash, data->data ? data->data : (const unsigned char *)"", data->len);
	if (crypto_sign_verify_detached(d->b, hash, sizeof(hash), key) != 0)
		return fail(s, DKIMV_FAIL, "signature does not verify (a signed header changed)");
	return DKIMV_PASS;
}

/* verify_one - one DKIM-Signature field from parse to cryptography */
static void
verify_one(const char *msg, size_t len, const struct hdr *h, const struct hdr_field *f,
    const struct dkimv_keys *ks, long long now, struct dkimv_sig *s)
{
	static __thread struct dsig d;
	unsigned char key[2048];
	size_t kl = 0;
	struct buf data;

	memset(s, 0, sizeof(*s));
	memset(&d, 0, sizeof(d));
	if (parse_sig(f, now, &d, s) != DKIMV_PASS)
		return;
	if (body_check(msg + h->body_off, len - h->body_off, &d, s) != DKIMV_PASS)
		return;
	if (key_fetch(ks, &d, key, sizeof(key), &kl, s) != DKIMV_PASS)
		return;
	buf_init(&data, 0);
	signature_input(h, f, &d, &data);
	if ((d.rsa ? rsa_check : ed_check)(key, kl, &d, &data, s) == DKIMV_PASS) {
		s->status = DKIMV_PASS;
		snprintf(s->why, sizeof(s->why), "%s", s->partial ? "verified, l= leaves body unsigned"
		    : "verified");
	}
	buf_free(&data);
}

/* dkimv_verify - judge up to max DKIM-Signature fields, top first; how many */
int
dkimv_verify(const char *msg, size_t len, const struct hdr *h, const struct dkimv_keys *ks,
    long long now, struct dkimv_sig *out, int max)
{
	int n = 0;

	if (max > DKIMV_MAX)
		max = DKIMV_MAX;
	for (int i = 0; i < h->n && n < max; i++)
		if (hdr_is(&h->f[i], "DKIM-Signature"))
			verify_one(msg, len, h, &h->f[i], ks, now, &out[n++]);
	return n;
}
