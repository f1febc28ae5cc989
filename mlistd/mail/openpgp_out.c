/*
 * openpgp_out.c - the copies a member with a key receives: one post signed
 * once by the list, padded to a size bucket, encrypted per member, wrapped
 * as RFC 3156 PGP/MIME; and the threads that do it for a whole fan-out.
 *
 * Signing once: librnp's rnp_op_sign (compression "Uncompressed", literal
 * name "" and date 0) makes the packet sequence one-pass signature, literal
 * data, signature once per post.  Each copy is then rnp_op_encrypt over
 * those packets with RNP_ENCRYPT_NOWRAP, which puts the input inside the
 * SEIPD as it is instead of in a second literal packet: a standard OpenPGP
 * signed-and-encrypted message, whose signature packet is byte-identical in
 * every copy.  So nothing of OpenPGP is built here; librnp does it all.
 * Each copy: one recipient (one PKESK), AES-256, SEIPD v1 with MDC, no AEAD,
 * no compression.
 *
 * Padding: the signed packets are made exactly bucket bytes long (a power of
 * two, at least OPENPGP_BUCKET_MIN), so a copy's length says only its
 * bucket (and the member's key type).  The filler is white space in the
 * MIME preamble of the signed entity, which clients never display; an
 * entity that is not multipart is first wrapped in a multipart/mixed with
 * protected-headers="v1" that carries its headers, a multipart one gets
 * protected-headers="v1" on its own Content-Type.  Because a signature's
 * length varies by a byte or two (its MPIs lose leading zeros), signing is
 * repeated with the filler adjusted until the length is exact (its layout
 * random, so each try signs other bytes: see filler).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "mail/openpgp_int.h"

#define LINE		76	/* filler spaces per line */
#define SIGN_TRIES	16
#define BOUNDARY_LEN	24	/* random boundary characters */
#define MAX_POST	(64u << 20)

struct openpgp_enc {
	rnp_ffi_t	 ffi;
};

/*
 * filler - n bytes of white-space lines ending in CRLF (n >= 2). The first
 * line's length is random: the same n gives other signed bytes on each try,
 * so a signature whose MPI lost a leading zero at the one filler length
 * that fits the bucket is not met again on every retry (a multipart entity
 * has nothing else that changes between tries)
 */
static int
filler(struct buf *b, size_t n)
{
	static const char sp[LINE + 2] =
	    "                                      "
	    "                                      \r\n";
	size_t	 first = randombytes_uniform(LINE);

	if (n >= first + 2 + 2) {
		if (buf_append(b, sp, first) != 0 ||
		    buf_append(b, "\r\n", 2) != 0)
			return -1;
		n -= first + 2;
	}
	while (n >= LINE + 2 + 2) {
		if (buf_append(b, sp, LINE + 2) != 0)
			return -1;
		n -= LINE + 2;
	}
	if (buf_append(b, sp, n - 2) != 0 || buf_append(b, "\r\n", 2) != 0)
		return -1;
	return 0;
}

/*
 * boundary - a fresh random MIME boundary of fixed length, from one
 * randombytes_buf (a getrandom call: one a character was 24 system calls
 * for every encrypted copy); bytes past the last whole multiple of the
 * alphabet are skipped, so every character is equally likely
 */
static void
boundary(char out[BOUNDARY_LEN + 1])
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	const unsigned lim = 256 - 256 % (sizeof(al) - 1);
	unsigned char	 r[2 * BOUNDARY_LEN];
	size_t		 i = 0, k = sizeof(r);

	while (i < BOUNDARY_LEN) {
		if (k == sizeof(r)) {
			randombytes_buf(r, sizeof(r));
			k = 0;
		}
		if (r[k] < lim)
			out[i++] = al[r[k] % (sizeof(al) - 1)];
		k++;
	}
	out[BOUNDARY_LEN] = '\0';
}

/* hdr_is - 1 if the header line at p has name (case-insensitive) */
static int
hdr_is(const char *p, size_t n, const char *name)
{
	size_t	 l = strlen(name);

	return n > l && p[l] == ':' && strncasecmp(p, name, l) == 0;
}

/* hdr_next - length of the header field at p, folded lines included */
static size_t
hdr_next(const char *p, const char *end)
{
	const char *q = p;

	for (;;) {
		const char *e = memmem(q, (size_t)(end - q), "\r\n", 2);

		if (e == NULL)
			return (size_t)(end - p);
		q = e + 2;
		if (q >= end || (*q != ' ' && *q != '\t'))
			return (size_t)(q - p);
	}
}

/* is_multipart - 1 if the header block's Content-Type is multipart/ */
static int
is_multipart(const char *h, const char *end)
{
	size_t	 n;

	for (; h < end; h += n) {
		n = hdr_next(h, end);
		if (hdr_is(h, n, "Content-Type")) {
			const char *v = h + 13;

			while (v < h + n && (*v == ' ' || *v == '\t'))
				v++;
			return (size_t)(h + n - v) > 10
			    && strncasecmp(v, "multipart/", 10) == 0;
		}
	}
	return 0;
}

/* wrap - entity as the one part of a multipart/mixed holding its headers */
static int
wrap(const char *e, const char *hend, const char *end, size_t pad,
    struct buf *out)
{
	char	 b[BOUNDARY_LEN + 1];
	size_t	 n;
	const char *h;
	int	 rc = 0;

	boundary(b);
	for (h = e; h < hend && rc == 0; h += n) {	/* the message's own */
		n = hdr_next(h, hend);
		if (strncasecmp(h, "Content-", 8) != 0
		    && strncasecmp(h, "MIME-Version:", 13) != 0)
			rc = buf_append(out, h, n);
	}
	rc |= buf_printf(out, "MIME-Version: 1.0\r\nContent-Type: "
	    "multipart/mixed; boundary=\"%s\";\r\n protected-headers=\"v1\"\r\n"
	    "\r\n", b);
	rc |= filler(out, pad);
	rc |= buf_printf(out, "--%s\r\n", b);
	for (h = e; h < hend && rc == 0; h += n) {	/* the part's */
		n = hdr_next(h, hend);
		if (strncasecmp(h, "Content-", 8) == 0)
			rc = buf_append(out, h, n);
	}
	rc |= buf_append(out, "\r\n", 2);
	rc |= buf_append(out, hend + 2, (size_t)(end - hend - 2));
	rc |= buf_printf(out, "\r\n--%s--\r\n", b);
	return rc ? -1 : 0;
}

/*
 * protect - a multipart entity's header block (e .. hend, then the blank
 * line) with protected-headers="v1" on its Content-Type: the headers above
 * it are the ones a client shows instead of the outer "..." ones
 */
static int
protect(const char *e, const char *hend, struct buf *out)
{
	const char *h, *v;
	size_t	 n;
	int	 rc = 0;

	for (h = e; h < hend && rc == 0; h += n) {
		n = hdr_next(h, hend);
		v = memmem(h, n, "protected-headers", 17);
		if (!hdr_is(h, n, "Content-Type") || v != NULL || n < 2) {
			rc = buf_append(out, h, n);
			continue;
		}
		rc = buf_append(out, h, n - 2);
		rc |= buf_puts(out, ";\r\n protected-headers=\"v1\"\r\n");
	}
	rc |= buf_append(out, "\r\n", 2);
	return rc ? -1 : 0;
}

/*
 * openpgp_pad_entity - the MIME entity with pad bytes (>= 2) of white space
 * as its preamble; out's length is a function of the entity plus pad.
 */
enum result
openpgp_pad_entity(const void *entity, size_t len, size_t pad,
    struct buf *out, char *why, size_t whylen)
{
	const char	*e = entity, *end = e + len, *hend;
	int		 rc;

	if (pad < 2)
		return PERMFAIL;
	if ((hend = memmem(e, len, "\r\n\r\n", 4)) == NULL) {
		WHY(why, whylen, "entity has no CRLF header end");
		return PERMFAIL;
	}
	hend += 2;	/* the header block ends with its last CRLF */
	if (!is_multipart(e, hend))
		rc = wrap(e, hend, end, pad, out);
	else {
		rc = protect(e, hend, out);
		rc |= filler(out, pad);
		rc |= buf_append(out, hend + 2, (size_t)(end - hend - 2));
	}
	if (rc != 0) {
		WHY(why, whylen, "out of memory padding the entity");
		return TEMPFAIL;
	}
	return OK;
}

/* sign_once - the signed packets of data into out */
static enum result
sign_once(rnp_ffi_t ffi, rnp_key_handle_t key, const struct buf *data,
    uint32_t created, struct buf *out)
{
	rnp_input_t	 in;
	rnp_output_t	 o;
	rnp_op_sign_t	 op;
	rnp_result_t	 rc;
	enum result	 r = OK;

	if (rnp_input_from_memory(&in, data->data, data->len, false)
	    != RNP_SUCCESS)
		return TEMPFAIL;
	if (rnp_output_to_memory(&o, 0) != RNP_SUCCESS) {
		(void)rnp_input_destroy(in);
		return TEMPFAIL;
	}
	rc = rnp_op_sign_create(&op, ffi, in, o);
	if (rc == RNP_SUCCESS) {
		rc = rnp_op_sign_add_signature(op, key, NULL);
		if (rc == RNP_SUCCESS)
			rc = rnp_op_sign_set_hash(op, "SHA512");
		if (rc == RNP_SUCCESS)
			rc = rnp_op_sign_set_creation_time(op, created);
		if (rc == RNP_SUCCESS)
			rc = rnp_op_sign_set_compression(op, "Uncompressed", 0);
		if (rc == RNP_SUCCESS)
			rc = rnp_op_sign_set_file_name(op, "");
		if (rc == RNP_SUCCESS)
			rc = rnp_op_sign_set_file_mtime(op, 0);
		if (rc == RNP_SUCCESS)
			rc = rnp_op_sign_execute(op);
		(void)rnp_op_sign_destroy(op);
	}
	buf_reset(out);
	if (rc != RNP_SUCCESS || openpgp_out_take(o, out) != 0)
		r = TEMPFAIL;
	(void)rnp_output_destroy(o);
	(void)rnp_input_destroy(in);
	return r;
}

/* bucket_for - the smallest power of two >= n and >= min */
static size_t
bucket_for(size_t n, size_t min)
{
	size_t	 b = min < OPENPGP_BUCKET_MIN ? OPENPGP_BUCKET_MIN : min;

	while (b < n)
		b *= 2;
	return b;
}

/* sign_padded - sign entity padded so that the packets are bucket long */
static enum result
sign_padded(rnp_ffi_t ffi, rnp_key_handle_t key, const void *entity,
    size_t len, uint32_t created, size_t min, struct openpgp_post *p,
    char *why, size_t whylen)
{
	struct buf	 pad;
	size_t		 fixed, want, got = 0, padn = 2;
	enum result	 r;
	int		 i;

	buf_init(&pad, MAX_POST + (MAX_POST >> 2));
	/* one trial at the minimum filler says what the rest costs */
	if ((r = openpgp_pad_entity(entity, len, padn, &pad, why, whylen))
	    != OK || (r = sign_once(ffi, key, &pad, created, &p->packets))
	    != OK)
		goto out;
	fixed = p->packets.len - padn;
	/* room for the signature to grow by a few bytes on a retry */
	want = bucket_for(p->packets.len + 16, min);
	for (i = 0; i < SIGN_TRIES; i++) {
		padn = want - fixed;
		buf_reset(&pad);
		if ((r = openpgp_pad_entity(entity, len, padn, &pad, why,
		    whylen)) != OK
		    || (r = sign_once(ffi, key, &pad, created, &p->packets))
		    != OK)
			goto out;
		if ((got = p->packets.len) == want)
			break;
		fixed = got - padn;	/* headers or MPIs moved: re-aim */
	}
	if (got != want) {
		WHY(why, whylen, "padding did not converge");
		r = TEMPFAIL;
	}
	p->bucket = want;
out:
	buf_free(&pad);
	return r;
}

/* list_key - the list's primary key, loaded with its secret, in ffi */
static enum result
list_key(rnp_ffi_t ffi, const struct openpgp_secret *s, rnp_key_handle_t *k,
    char *why, size_t whylen)
{
	enum result	 r;

	r = openpgp_load(ffi, s->data, s->len, RNP_LOAD_SAVE_PUBLIC_KEYS |
	    RNP_LOAD_SAVE_SECRET_KEYS, why, whylen);
	if (r == OK && (r = openpgp_locate(ffi, NULL, k)) != OK)
		WHY(why, whylen, "list key blob holds no single primary key");
	return r;
}

/*
 * openpgp_post_sign - sign one post (a CRLF MIME entity) once, dated
 * created (the copy's Date:), padded to its bucket (at least min bytes).
 */
enum result
openpgp_post_sign(const struct openpgp_secret *s, const void *entity,
    size_t len, uint32_t created, size_t min, struct openpgp_post *p,
    char *why, size_t whylen)
{
	rnp_ffi_t	 ffi;
	rnp_key_handle_t key;
	enum result	 r;

	memset(p, 0, sizeof(*p));
	buf_init(&p->packets, 2 * MAX_POST);
	p->created = created;
	if (len > MAX_POST) {
		WHY(why, whylen, "post larger than %u bytes", MAX_POST);
		return PERMFAIL;
	}
	if ((r = openpgp_ffi(&ffi)) != OK) {
		WHY(why, whylen, "librnp context failed");
		return r;
	}
	if ((r = list_key(ffi, s, &key, why, whylen)) == OK) {
		r = sign_padded(ffi, key, entity, len, created, min, p, why,
		    whylen);
		(void)rnp_key_handle_destroy(key);
	}
	(void)rnp_ffi_destroy(ffi);
	if (r != OK)
		openpgp_post_free(p);
	return r;
}

/* openpgp_post_free - release a signed post */
void
openpgp_post_free(struct openpgp_post *p)
{
	buf_free(&p->packets);
}

/* openpgp_enc_new - a per-thread encryption context */
enum result
openpgp_enc_new(struct openpgp_enc **ep)
{
	struct openpgp_enc *e;
	enum result	 r;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return TEMPFAIL;
	if ((r = openpgp_ffi(&e->ffi)) != OK) {
		free(e);
		return r;
	}
	*ep = e;
	return OK;
}

/* openpgp_enc_free - release an encryption context */
void
openpgp_enc_free(struct openpgp_enc *e)
{
	if (e == NULL)
		return;
	(void)rnp_ffi_destroy(e->ffi);
	free(e);
}

/* encrypt_run - the settings every copy gets, then encrypt */
static rnp_result_t
encrypt_run(rnp_ffi_t ffi, rnp_input_t in, rnp_output_t o,
    rnp_key_handle_t k)
{
	rnp_op_encrypt_t op;
	rnp_result_t	 rc;

	if ((rc = rnp_op_encrypt_create(&op, ffi, in, o)) != RNP_SUCCESS)
		return rc;
	rc = rnp_op_encrypt_add_recipient(op, k);
	if (rc == RNP_SUCCESS)	/* the input is signed packets, not data */
		rc = rnp_op_encrypt_set_flags(op, RNP_ENCRYPT_NOWRAP);
	if (rc == RNP_SUCCESS)
		rc = rnp_op_encrypt_set_cipher(op, "AES256");
	if (rc == RNP_SUCCESS)
		rc = rnp_op_encrypt_set_aead(op, "None");
	if (rc == RNP_SUCCESS)
		rc = rnp_op_encrypt_set_compression(op, "Uncompressed", 0);
	if (rc == RNP_SUCCESS)
		rc = rnp_op_encrypt_set_armor(op, true);
	if (rc == RNP_SUCCESS)
		rc = rnp_op_encrypt_execute(op);
	(void)rnp_op_encrypt_destroy(op);
	return rc;
}

/* openpgp_encrypt_to - one armoured copy of p to key, loaded in ffi */
enum result
openpgp_encrypt_to(rnp_ffi_t ffi, const struct openpgp_post *p,
    rnp_key_handle_t key, struct buf *out, char *why, size_t whylen)
{
	rnp_input_t	 in;
	rnp_output_t	 o;
	rnp_result_t	 rc;
	enum result	 r = OK;

	if (rnp_input_from_memory(&in, p->packets.data, p->packets.len,
	    false) != RNP_SUCCESS) {
		WHY(why, whylen, "no memory for the copy's input");
		return TEMPFAIL;
	}
	if (rnp_output_to_memory(&o, 0) != RNP_SUCCESS) {
		WHY(why, whylen, "no memory for the copy's output");
		r = TEMPFAIL;
	} else {
		rc = encrypt_run(ffi, in, o, key);
		if (rc != RNP_SUCCESS) {
			WHY(why, whylen, "encryption failed (%s)",
			    rnp_result_to_string(rc));
			r = PERMFAIL;
		} else if (openpgp_out_take(o, out) != 0) {
			WHY(why, whylen, "no memory for the copy");
			r = TEMPFAIL;
		}
		(void)rnp_output_destroy(o);
	}
	(void)rnp_input_destroy(in);
	return r;
}

/* openpgp_copy_encrypt - one armoured copy of p for the holder of k */
enum result
openpgp_copy_encrypt(struct openpgp_enc *e, const struct openpgp_post *p,
    const struct openpgp_key *k, struct buf *out, char *why, size_t whylen)
{
	rnp_key_handle_t key = NULL;
	enum result	 r;

	r = openpgp_member_key(e->ffi, k, NULL, why, whylen);
	/* without its fingerprint (the store has only its hash): the one key */
	if (r == OK && openpgp_locate(e->ffi, *k->fpr ? k->fpr : NULL, &key)
	    != OK) {
		WHY(why, whylen, "member key did not load");
		r = PERMFAIL;
	}
	if (r == OK)
		r = openpgp_encrypt_to(e->ffi, p, key, out, why, whylen);
	(void)rnp_key_handle_destroy(key);
	/* one member's key in the context at a time: memory stays flat */
	(void)rnp_unload_keys(e->ffi, RNP_KEY_UNLOAD_PUBLIC);
	return r;
}

/*
 * openpgp_mime_wrap - RFC 3156 multipart/encrypted around an armoured copy:
 * ctype gets the Content-Type value, body the MIME body.  The boundary has
 * a fixed length, so the copy's length still says only its bucket.
 */
enum result
openpgp_mime_wrap(const struct buf *armored, struct buf *ctype,
    struct buf *body)
{
	char	 b[BOUNDARY_LEN + 1];
	int	 rc;

	boundary(b);
	rc = buf_printf(ctype, "multipart/encrypted;\r\n"
	    " protocol=\"application/pgp-encrypted\";\r\n boundary=\"%s\"", b);
	rc |= buf_printf(body, "This is an OpenPGP/MIME encrypted message "
	    "(RFC 4880 and 3156)\r\n--%s\r\n"
	    "Content-Type: application/pgp-encrypted\r\n"
	    "Content-Description: PGP/MIME version identification\r\n\r\n"
	    "Version: 1\r\n\r\n--%s\r\n"
	    "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
	    "Content-Description: OpenPGP encrypted message\r\n"
	    "Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n",
	    b, b);
	rc |= buf_append(body, armored->data, armored->len);
	rc |= buf_printf(body, "\r\n--%s--\r\n", b);
	return rc ? TEMPFAIL : OK;
}
