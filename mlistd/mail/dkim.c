/*
 * dkim.c - sign and check DKIM-Signature fields, Ed25519-SHA256 only.
 *
 * Relaxed canonicalisation both ways (RFC 6376 3.4.2 and 3.4.4): header
 * names lower-cased, values unfolded with runs of white space made one
 * space and trimmed; body lines stripped of trailing white space, inner
 * runs made one space, empty lines at the end dropped. Per RFC 8463 the
 * SHA-256 hash of the canonical headers is what Ed25519 signs. All
 * cryptography is libsodium's, but for the body hash: GnuTLS's SHA-256
 * (nettle, with the CPU's SHA instructions where it has them) is about 4x
 * libsodium's over an encrypted copy's 12 KiB, and every OpenPGP copy is
 * signed on its own (libsodium's if GnuTLS refuses).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>

#include "dkim.h"
#include "header.h"

/* the fields a list's signature covers, in this order; oversigned[] again */
static const char *const signed_fields[] = {
	"from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references",
	"list-id", "list-post", "list-help", "list-unsubscribe", "list-unsubscribe-post", "list-owner", "list-archive",
	"mime-version", "content-type", "content-transfer-encoding", "mlist-author-signature", NULL
};
/* mlist-author-signature: readers take the first, DKIM the last one */
static const char *const oversigned[] = { "from", "subject", "list-id",
	"mlist-author-signature", NULL };

/* dkim_canon_value - relaxed header value: unfold, squeeze white space, trim */
void
dkim_canon_value(const char *v, size_t n, struct buf *out)
{
	int space = 0, started = 0;

	for (size_t i = 0; i < n; i++) {
		char c = v[i];

		if (c == '\r' || c == '\n')
			continue;
		if (c == ' ' || c == '\t') {
			space = 1;
			continue;
		}
		if (space && started)
			buf_putc(out, ' ');
		space = 0;
		started = 1;
		buf_putc(out, c);
	}
}

/* canon_field - "name:value" relaxed, with CRLF */
static void
canon_field(const char *name, size_t nlen, const char *v, size_t vlen, struct buf *out, int crlf)
{
	for (size_t i = 0; i < nlen; i++)
		buf_putc(out, tolower((unsigned char)name[i]));
	buf_putc(out, ':');
	dkim_canon_value(v, vlen, out);
	if (crlf)
		buf_puts(out, "\r\n");
}

/*
 * canon_line - one body line relaxed (WSP runs to one space, none at the
 * end) into out, in runs rather than byte by byte: O(line)
 */
static void
canon_line(const char *b, size_t start, size_t end, struct buf *out)
{
	size_t k = start, run;

	buf_reset(out);
	while (k < end) {
		for (run = k; run < end && b[run] != ' ' &&
		    b[run] != '\t'; run++)
			;
		buf_append(out, b + k, run - k);
		for (k = run; k < end && (b[k] == ' ' || b[k] == '\t'); k++)
			;
		if (k > run && k < end)
			buf_putc(out, ' ');
	}
}

/*
 * canon_walk - the relaxed body (RFC 6376 3.4.4) line by line to emit,
 * each line with its CRLF, empty lines at the end left out: O(len). A
 * line without white space is its own canonical form and goes out from
 * where it is, uncopied: an encrypted copy is ~160 lines of base64, and
 * the copy was a third of its body hash's cost.
 */
static void
canon_walk(const char *b, size_t len,
    void (*emit)(void *, const void *, size_t), void *arg)
{
	struct buf line;
	size_t i = 0, start, end, blank = 0, ln;
	const char *nl, *lp;

	buf_init(&line, 0);
	while (i < len) {
		start = i;
		nl = memchr(b + i, '\n', len - i);
		end = nl ? (size_t)(nl - b) : len;
		i = nl ? end + 1 : len;
		if (end > start && b[end - 1] == '\r')
			end--;
		lp = b + start;
		ln = end - start;
		if (memchr(lp, ' ', ln) != NULL ||
		    memchr(lp, '\t', ln) != NULL) {
			canon_line(b, start, end, &line);
			lp = (const char *)line.data;
			ln = line.len;
		}
		if (ln == 0) {
			blank++;	/* held back: empty lines at the end */
			continue;
		}
		for (; blank > 0; blank--)
			emit(arg, "\r\n", 2);
		emit(arg, lp, ln);
		emit(arg, "\r\n", 2);
	}
	buf_free(&line);
}

/* to_buf - canon_walk's bytes appended to a buf */
static void
to_buf(void *arg, const void *p, size_t n)
{
	buf_append(arg, p, n);
}

/*
 * dkim_canon_body - the relaxed body as bytes: the verifier needs them,
 * not only their hash, to honour a signature's l= count
 */
void
dkim_canon_body(const char *b, size_t len, struct buf *out)
{
	canon_walk(b, len, to_buf, out);
}

/* the body hash as it goes: GnuTLS's SHA-256, libsodium's if it refuses */
struct body_hash {
	gnutls_hash_hd_t		 g;
	int				 have_g;
	crypto_hash_sha256_state	 st;
};

/* to_hash - canon_walk's bytes into the hash */
static void
to_hash(void *arg, const void *p, size_t n)
{
	struct body_hash *h = arg;

	if (h->have_g)
		(void)gnutls_hash(h->g, p, n);
	else
		crypto_hash_sha256_update(&h->st, p, n);
}

/*
 * dkim_body_hash - SHA-256 of the relaxed body, hashed line by line
 * without a copy of the whole body (a list copy of several MB is hashed in
 * the queue manager's loop, #15); GnuTLS's SHA-256 (SHA-NI through
 * nettle: 10.7 us against libsodium's 40.2 us for 12 KiB here), as every
 * encrypted copy is signed on its own (#17)
 */
void
dkim_body_hash(const char *b, size_t len, unsigned char out[crypto_hash_sha256_BYTES])
{
	struct body_hash h;

	h.have_g = gnutls_hash_init(&h.g, GNUTLS_DIG_SHA256) == 0;
	if (!h.have_g)
		crypto_hash_sha256_init(&h.st);
	canon_walk(b, len, to_hash, &h);
	if (h.have_g)
		gnutls_hash_deinit(h.g, out);
	else
		crypto_hash_sha256_final(&h.st, out);
}

/* b64 - base64 of bytes */
static void
b64(const unsigned char *p, size_t n, struct buf *out)
{
	char tmp[256];

	sodium_bin2base64(tmp, sizeof(tmp), p, n, sodium_base64_VARIANT_ORIGINAL);
	buf_puts(out, tmp);
}

/* headers_input - canonical form of the fields named in h=, bottom-up per name */
static int
headers_input(const struct hdr *h, const char *hlist, struct buf *out)
{
	char name[64];
	const char *p = hlist;
	int used[HDR_MAX_FIELDS] = { 0 }, i;
	size_t n;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ':' || *p == '\r' || *p == '\n')
			p++;
		n = strcspn(p, ": \t\r\n");
		if (n == 0)
			break;
		if (n >= sizeof(name))
			return -1;
		memcpy(name, p, n);
		name[n] = 0;
		p += n;
		for (i = h->n - 1; i >= 0; i--)
			if (!used[i] && hdr_is(&h->f[i], name)) {
				used[i] = 1;
				canon_field(h->f[i].start, h->f[i].nlen, h->f[i].value, h->f[i].vlen, out, 1);
				break;
			}
	}
	return 0;
}

/* dkim_sign - the DKIM-Signature field (with CRLF) for msg, signed with seed */
int
dkim_sign(const unsigned char seed[DKIM_SEED_LEN], const char *domain, const char *selector,
    long long t, const char *msg, size_t len, struct buf *header)
{
	return dkim_sign_bh(seed, domain, selector, t, msg, len, NULL, header);
}

/*
 * dkim_sign_bh - dkim_sign with the body's hash known (body_hash, NULL: to
 * be computed): the author signature and the list's hash the same body
 */
int
dkim_sign_bh(const unsigned char seed[DKIM_SEED_LEN], const char *domain,
    const char *selector, long long t, const char *msg, size_t len,
    const unsigned char *body_hash, struct buf *header)
{
	unsigned char pk[DKIM_PK_LEN], sk[DKIM_SK_LEN];
	int rc;

	crypto_sign_seed_keypair(pk, sk, seed);
	rc = dkim_sign_sk(sk, domain, selector, t, msg, len, body_hash,
	    header);
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

/*
 * dkim_expand - the signing key of a seed, in place: key holds the seed
 * in its first DKIM_SEED_LEN bytes and gets libsodium's whole secret key
 * (seed and public key). Working out the public key is a scalar
 * multiplication as costly as the signature itself: a fan-out that signs
 * every copy of a post on its own (OpenPGP, one-click) does it once.
 */
void
dkim_expand(unsigned char key[DKIM_SK_LEN])
{
	unsigned char pk[DKIM_PK_LEN], sk[DKIM_SK_LEN];

	crypto_sign_seed_keypair(pk, sk, key);
	memcpy(key, sk, sizeof(sk));
	sodium_memzero(sk, sizeof(sk));
}

/* dkim_sign_sk - dkim_sign_bh with the key dkim_expand made */
int
dkim_sign_sk(const unsigned char sk[DKIM_SK_LEN], const char *domain,
    const char *selector, long long t, const char *msg, size_t len,
    const unsigned char *body_hash, struct buf *header)
{
	unsigned char bh[32], hash[32], sig[64];
	struct buf hl, input, value;
	struct hdr h;
	int rc = -1;

	if (hdr_parse(msg, len, &h) < 0)
		return -1;
	buf_init(&hl, 0);
	buf_init(&input, 0);
	buf_init(&value, 0);
	for (int i = 0; signed_fields[i]; i++)
		for (int k = h.n - 1; k >= 0; k--)
			if (hdr_is(&h.f[k], signed_fields[i]))
				buf_printf(&hl, "%s%s", hl.len ? ":" : "",
				    signed_fields[i]);
	for (int i = 0; oversigned[i]; i++)
		buf_printf(&hl, "%s%s", hl.len ? ":" : "", oversigned[i]);
	if (body_hash)
		memcpy(bh, body_hash, sizeof(bh));
	else
		dkim_body_hash(msg + h.body_off, len - h.body_off, bh);
	buf_printf(&value, " v=1; a=ed25519-sha256; c=relaxed/relaxed; "
	    "d=%s; s=%s;\r\n\tt=%lld; h=%s;\r\n\tbh=",
	    domain, selector, t, buf_cstr(&hl));
	b64(bh, sizeof(bh), &value);
	buf_puts(&value, ";\r\n\tb=");
	if (headers_input(&h, buf_cstr(&hl), &input) < 0)
		goto out;
	canon_field("DKIM-Signature", 14, (const char *)value.data, value.len,
	    &input, 0);
	crypto_hash_sha256(hash, input.data, input.len);
	crypto_sign_detached(sig, NULL, hash, sizeof(hash), sk);
	buf_puts(header, "DKIM-Signature:");
	buf_append(header, value.data, value.len);
	b64(sig, sizeof(sig), header);
	buf_puts(header, "\r\n");
	rc = 0;
out:
	hdr_free(&h);
	buf_free(&hl);
	buf_free(&input);
	buf_free(&value);
	return rc;
}

/* tag - the value of tag `name` in a DKIM-Signature value (copied, white space kept) */
static int
tag(const char *v, size_t n, const char *name, struct buf *out)
{
	size_t i = 0, nl = strlen(name), ns, ne, vs;

	while (i < n) {
		while (i < n && isspace((unsigned char)v[i]))
			i++;
		if (i >= n)
			break;
		ns = i;
		while (i < n && v[i] != '=' && v[i] != ';')
			i++;
		ne = i;
		while (ne > ns && isspace((unsigned char)v[ne - 1]))
			ne--;
		if (i >= n || v[i] != '=')
			return -1;
		vs = ++i;
		while (i < n && v[i] != ';')
			i++;
		if (ne - ns == nl && strncmp(v + ns, name, nl) == 0) {
			buf_reset(out);
			buf_append(out, v + vs, i - vs);
			return 0;
		}
		if (i < n)
			i++;
	}
	return -1;
}

/* squeeze - remove all white space (b=, bh=, h= are compared without it) */
static void
squeeze(struct buf *b)
{
	size_t o = 0;

	for (size_t i = 0; i < b->len; i++)
		if (!isspace(b->data[i]))
			b->data[o++] = b->data[i];
	b->len = o;
	if (b->data)
		b->data[o] = 0;
}

/* dkim_verify - check the first DKIM-Signature of msg against pk; 0 if it holds */
int
dkim_verify(const char *msg, size_t len, const unsigned char pk[DKIM_PK_LEN], char *why, size_t wl)
{
	unsigned char bh[32], want_bh[64], hash[32], sig[128];
	size_t bhlen = 0, siglen = 0;
	const struct hdr_field *f;
	struct buf a, v, input, stripped;
	struct hdr h;
	int rc = -1;

	if (hdr_parse(msg, len, &h) < 0)
		return snprintf(why, wl, "out of memory"), -1;
	buf_init(&a, 0);
	buf_init(&v, 0);
	buf_init(&input, 0);
	buf_init(&stripped, 0);
	if ((f = hdr_get(&h, "DKIM-Signature")) == NULL) {
		snprintf(why, wl, "no DKIM-Signature");
		goto out;
	}
	if (tag(f->value, f->vlen, "a", &a) < 0 || (squeeze(&a), strcmp(buf_cstr(&a), "ed25519-sha256"))) {
		snprintf(why, wl, "not an ed25519-sha256 signature");
		goto out;
	}
	if (tag(f->value, f->vlen, "c", &a) < 0 || (squeeze(&a), strcmp(buf_cstr(&a), "relaxed/relaxed"))) {
		snprintf(why, wl, "canonicalisation is not relaxed/relaxed");
		goto out;
	}
	if (tag(f->value, f->vlen, "bh", &a) < 0 || (squeeze(&a), sodium_base642bin(want_bh,
	    sizeof(want_bh), buf_cstr(&a), a.len, NULL, &bhlen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) ||
	    bhlen != 32) {
		snprintf(why, wl, "bad bh= tag");
		goto out;
	}
	dkim_body_hash(msg + h.body_off, len - h.body_off, bh);
	if (memcmp(bh, want_bh, 32) != 0) {
		snprintf(why, wl, "body changed (body hash does not match)");
		goto out;
	}
	if (tag(f->value, f->vlen, "b", &a) < 0 || (squeeze(&a), sodium_base642bin(sig, sizeof(sig),
	    buf_cstr(&a), a.len, NULL, &siglen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) || siglen != 64) {
		snprintf(why, wl, "bad b= tag");
		goto out;
	}
	if (tag(f->value, f->vlen, "h", &v) < 0) {
		snprintf(why, wl, "no h= tag");
		goto out;
	}
	if (headers_input(&h, buf_cstr(&v), &input) < 0) {
		snprintf(why, wl, "bad h= tag");
		goto out;
	}
	/* the signature field itself, with the value of b= removed */
	{
		const char *b = NULL;

		for (size_t i = 0; i + 1 < f->vlen; i++)
			if ((i == 0 || f->value[i - 1] == ';' || isspace((unsigned char)f->value[i - 1])) &&
			    f->value[i] == 'b' && f->value[i + 1] == '=') {
				b = f->value + i + 2;
				break;
			}
		if (!b) {
			snprintf(why, wl, "no b= tag");
			goto out;
		}
		buf_append(&stripped, f->value, (size_t)(b - f->value));
		while ((size_t)(b - f->value) < f->vlen && *b != ';')
			b++;
		buf_append(&stripped, b, f->vlen - (size_t)(b - f->value));
	}
	canon_field(f->start, f->nlen, (const char *)stripped.data, stripped.len, &input, 0);
	crypto_hash_sha256(hash, input.data, input.len);
	if (crypto_sign_verify_detached(sig, hash, sizeof(hash), pk) != 0) {
		snprintf(why, wl, "signature does not verify (a signed header changed, or another key)");
		goto out;
	}
	rc = 0;
out:
	hdr_free(&h);
	buf_free(&a);
	buf_free(&v);
	buf_free(&input);
	buf_free(&stripped);
	return rc;
}

/* dkim_dns_record - the TXT record to publish for a public key */
void
dkim_dns_record(const unsigned char pk[DKIM_PK_LEN], struct buf *out)
{
	buf_puts(out, "v=DKIM1; k=ed25519; p=");
	b64(pk, DKIM_PK_LEN, out);
}

/* dkim_info - d= and s= of the first DKIM-Signature (white space removed) */
int
dkim_info(const char *msg, size_t len, char *domain, size_t dl, char *selector, size_t sl)
{
	const struct hdr_field *f;
	struct buf v;
	struct hdr h;
	int rc = -1;

	if (hdr_parse(msg, len, &h) < 0)
		return -1;
	buf_init(&v, 0);
	if ((f = hdr_get(&h, "DKIM-Signature")) != NULL && tag(f->value, f->vlen, "d", &v) == 0) {
		squeeze(&v);
		snprintf(domain, dl, "%s", buf_cstr(&v));
		if (tag(f->value, f->vlen, "s", &v) == 0) {
			squeeze(&v);
			snprintf(selector, sl, "%s", buf_cstr(&v));
			rc = 0;
		}
	}
	buf_free(&v);
	hdr_free(&h);
	return rc;
}
