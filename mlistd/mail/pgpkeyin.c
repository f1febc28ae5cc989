/*
 * pgpkeyin.c - find a member's OpenPGP public key in the mail their own
 * client sent: parsing only, no OpenPGP (openpgp_key_import judges what is
 * found).
 *
 * Three shapes, taken in this order: an Autocrypt header whose addr is the
 * sender (K-9, FairEmail, Delta Chat, Thunderbird); an application/pgp-keys
 * part (Thunderbird's OpenPGP_0x....asc, often quoted-printable, inside
 * multipart/mixed or multipart/signed); an armoured public key block in a
 * text/plain part (mutt). The input is hostile: nesting, part count and
 * key size are bounded, nothing is trusted to be well formed, and a part
 * that does not parse is skipped, never fatal.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "mail/header.h"
#include "mail/pgpkeyin.h"
#include "util/hex.h"

#define ARMOR_KEY	"-----BEGIN PGP PUBLIC KEY BLOCK-----"
#define ARMOR_END	"-----END PGP PUBLIC KEY BLOCK-----"
#define ARMOR_SECRET	"-----BEGIN PGP PRIVATE KEY BLOCK-----"
#define SECRET_END	"-----END PGP PRIVATE KEY BLOCK-----"
#define PARAM_MAX	200

struct walk {
	struct pgpkeyin	*out;
	int		 parts;
	int		 err;
};

/* pgpkeyin_shape_name - for the log and the answer */
const char *
pgpkeyin_shape_name(enum pgpkeyin_shape s)
{
	switch (s) {
	case PGPKEYIN_AUTOCRYPT:
		return "autocrypt";
	case PGPKEYIN_ATTACHED:
		return "attachment";
	case PGPKEYIN_INLINE:
		return "inline";
	default:
		return "none";
	}
}

/* pgpkeyin_free - the key found */
void
pgpkeyin_free(struct pgpkeyin *k)
{
	buf_free(&k->key);
}

/* take - a candidate: kept if it is better than what was found before */
static void
take(struct walk *w, enum pgpkeyin_shape shape, enum openpgp_format fmt,
    const void *d, size_t n)
{
	struct pgpkeyin *o = w->out;

	if (n > PGPKEYIN_KEY_MAX)
		o->toobig = 1;	/* said, so the member is not told "no key" */
	if (n == 0 || n > PGPKEYIN_KEY_MAX)
		return;
	o->seen++;
	if (o->shape != PGPKEYIN_NONE && o->shape <= shape)
		return;		/* the first of the best shape stays */
	buf_reset(&o->key);
	if (buf_append(&o->key, d, n) != 0) {
		w->err = 1;
		return;
	}
	o->shape = shape;
	o->fmt = fmt;
}

/* param - a Content-Type parameter's value (quotes removed); 0 if none */
static int
param(const char *v, const char *name, char *out, size_t ol)
{
	size_t nl = strlen(name), i = 0;
	const char *p;

	for (p = strchr(v, ';'); p; p = strchr(p + 1, ';')) {
		const char *s = p + 1;

		while (*s == ' ' || *s == '\t')
			s++;
		if (strncasecmp(s, name, nl) != 0 || s[nl] != '=')
			continue;
		s += nl + 1;
		if (*s == '"')
			for (s++; *s && *s != '"' && i + 1 < ol; s++)
				out[i++] = *s == '\\' && s[1] ? *++s : *s;
		else
			for (; *s && *s != ';' && !isspace((unsigned char)*s) &&
			    i + 1 < ol; s++)
				out[i++] = *s;
		out[i] = 0;
		return i > 0;
	}
	return 0;
}

/* qp_decode - quoted-printable, leniently (a stray '=' stays as it is) */
static int
qp_decode(const char *s, size_t n, struct buf *o)
{
	size_t i;

	if (buf_reserve(o, n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] != '=') {
			o->data[o->len++] = (unsigned char)s[i];
			continue;
		}
		if (i + 1 < n && s[i + 1] == '\n') {
			i += 1;		/* soft line break */
			continue;
		}
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (i + 2 < n && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
			o->data[o->len++] = (unsigned char)(hex_digit(s[i + 1]) * 16 +
			    hex_digit(s[i + 2]));
			i += 2;
			continue;
		}
		o->data[o->len++] = '=';
	}
	return 0;
}

/* b64_decode - base64 with line breaks; -1 when it is not base64 */
static int
b64_decode(const char *s, size_t n, struct buf *o)
{
	size_t got;

	if (buf_reserve(o, n / 4 * 3 + 3) != 0)
		return -1;
	if (sodium_base642bin(o->data, o->cap, s, n, " \t\r\n", &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	o->len = got;
	return 0;
}

/* body_decode - a part's body as its Content-Transfer-Encoding says */
static int
body_decode(const struct hdr *h, const char *b, size_t n, struct buf *o)
{
	char *cte = hdr_get_value(h, "Content-Transfer-Encoding");
	int rc;

	if (cte && !strcasecmp(cte, "quoted-printable"))
		rc = qp_decode(b, n, o);
	else if (cte && !strcasecmp(cte, "base64"))
		rc = b64_decode(b, n, o);
	else
		rc = buf_append(o, b, n);
	free(cte);
	return rc;
}

/* block - take the armoured block begin..end of text t; 0 if none */
static int
block(struct walk *w, const struct buf *t, const char *begin,
    const char *end)
{
	const char *a, *z;
	size_t al = strlen(begin), zl = strlen(end);

	a = memmem(t->data, t->len, begin, al);
	if (a == NULL)
		return 0;
	z = memmem(a, t->len - (size_t)(a - (const char *)t->data), end, zl);
	if (z == NULL)
		return 0;
	take(w, PGPKEYIN_INLINE, OPENPGP_ARMOR, a, (size_t)(z + zl - a));
	return 1;
}

/*
 * inline_block - an armoured public key in a text part (mutt); else a
 * secret key pasted by mistake, taken so that the engine refuses it as
 * one and the member is told so, not "no key found"
 */
static void
inline_block(struct walk *w, const struct buf *t)
{
	if (!block(w, t, ARMOR_KEY, ARMOR_END))
		(void)block(w, t, ARMOR_SECRET, SECRET_END);
}

/* leaf - a part that is not multipart: a key attached, or text */
static void
leaf(struct walk *w, const struct hdr *h, const char *ct, const char *b,
    size_t n)
{
	struct buf d;
	int keys = !strncasecmp(ct, "application/pgp-keys", 20);

	if (!keys && strncasecmp(ct, "text/plain", 10) != 0)
		return;
	if (n > 4 * PGPKEYIN_KEY_MAX)
		return;		/* too big to hold a key the list takes */
	buf_init(&d, 0);
	if (body_decode(h, b, n, &d) != 0)
		;		/* not decodable: not a key */
	else if (keys)
		take(w, PGPKEYIN_ATTACHED, OPENPGP_ANY, d.data, d.len);
	else
		inline_block(w, &d);
	buf_free(&d);
}

/* delim - at off, is there a line "--B" or "--B--"? 1, 2 (closing), 0 */
static int
delim(const char *m, size_t len, size_t off, const char *bd, size_t bl)
{
	size_t e;

	if (len - off < bl + 2 || m[off] != '-' || m[off + 1] != '-' ||
	    memcmp(m + off + 2, bd, bl) != 0)
		return 0;
	e = off + 2 + bl;
	if (len - e >= 2 && m[e] == '-' && m[e + 1] == '-')
		return 2;
	while (e < len && (m[e] == ' ' || m[e] == '\t'))
		e++;
	return e == len || m[e] == '\r' || m[e] == '\n' ? 1 : 0;
}

static void entity(struct walk *, const char *, size_t, int);

/* next_line - the offset after the line at off */
static size_t
next_line(const char *m, size_t len, size_t off)
{
	const char *nl = memchr(m + off, '\n', len - off);

	return nl ? (size_t)(nl - m) + 1 : len;
}

/* part_end - a part's end: before the CRLF that precedes its delimiter */
static size_t
part_end(const char *m, size_t start, size_t off)
{
	if (off > start && m[off - 1] == '\n')
		off--;
	if (off > start && m[off - 1] == '\r')
		off--;
	return off;
}

/* multipart - each part between the delimiters of boundary bd */
static void
multipart(struct walk *w, const char *m, size_t len, const char *bd,
    int depth)
{
	size_t bl = strlen(bd), off = 0, start = 0;
	int d, open = 0;

	for (; off < len && !w->err; off = next_line(m, len, off)) {
		if ((d = delim(m, len, off, bd, bl)) == 0)
			continue;
		if (open)
			entity(w, m + start, part_end(m, start, off) - start,
			    depth + 1);
		if (d == 2 || ++w->parts > PGPKEYIN_PARTS_MAX)
			return;
		open = 1;
		start = next_line(m, len, off);
	}
	/* an unterminated last part is still read */
	if (open && start < len && !w->err)
		entity(w, m + start, len - start, depth + 1);
}

/* entity - headers and body: walk into a multipart, look into a leaf */
static void
entity(struct walk *w, const char *m, size_t len, int depth)
{
	struct hdr h;
	char *ct, bd[PARAM_MAX];

	if (depth > PGPKEYIN_DEPTH_MAX || hdr_parse(m, len, &h) < 0)
		return;
	if (h.body_off > len || (h.body_off == 0 && h.n > 0)) {
		hdr_free(&h);
		return;		/* no body */
	}
	ct = hdr_get_value(&h, "Content-Type");
	if (ct && !strncasecmp(ct, "multipart/", 10)) {
		if (param(ct, "boundary", bd, sizeof(bd)))
			multipart(w, m + h.body_off, len - h.body_off, bd,
			    depth);
	} else
		leaf(w, &h, ct ? ct : "text/plain", m + h.body_off,
		    len - h.body_off);
	free(ct);
	hdr_free(&h);
}

/* attr - one "name=value" of an Autocrypt header; 0 at the end */
static int
attr(const char **s, const char **name, size_t *nl, const char **val,
    size_t *vl)
{
	const char *p = *s, *e;

	while (*p == ' ' || *p == ';')
		p++;
	if (*p == 0)
		return 0;
	*name = p;
	if ((e = strchr(p, '=')) == NULL)
		return -1;
	*nl = (size_t)(e - p);
	while (*nl && p[*nl - 1] == ' ')
		(*nl)--;
	for (e++; *e == ' '; e++)
		;
	*val = e;
	p = strchr(e, ';');
	*vl = p ? (size_t)(p - e) : strlen(e);
	*s = p ? p : e + *vl;
	return 1;
}

/* autocrypt_one - the keydata of one Autocrypt header if addr is sender */
static int
autocrypt_one(const char *v, const char *sender, const char **kd,
    size_t *kl)
{
	const char *name, *val;
	size_t nl, vl;
	int addr = 0, r;

	*kd = NULL;
	while ((r = attr(&v, &name, &nl, &val, &vl)) > 0) {
		if (nl == 4 && !strncasecmp(name, "addr", 4))
			addr = vl == strlen(sender) &&
			    !strncasecmp(val, sender, vl);
		else if (nl == 7 && !strncasecmp(name, "keydata", 7)) {
			*kd = val;
			*kl = vl;
		} else if (!(nl == 14 && !strncasecmp(name, "prefer-encrypt",
		    14)) && name[0] != '_')
			return 0;	/* a critical attribute not known */
	}
	return r == 0 && addr && *kd != NULL;
}

/*
 * autocrypt - the Autocrypt header about the sender. As the Autocrypt spec
 * says, more than one valid header about the address counts as none.
 */
static void
autocrypt(struct walk *w, const struct hdr *h, const char *sender)
{
	const char *kd = NULL;
	size_t kl = 0;
	char *v;
	int n = 0;

	for (int i = 0; i < h->n && !w->err; i++) {
		if (!hdr_is(&h->f[i], "Autocrypt") ||
		    (v = hdr_value(&h->f[i])) == NULL)
			continue;
		if (autocrypt_one(v, sender, &kd, &kl) && n++ == 0)
			take(w, PGPKEYIN_AUTOCRYPT, OPENPGP_AUTOCRYPT, kd, kl);
		free(v);
	}
	if (n > 1) {
		buf_reset(&w->out->key);
		w->out->shape = PGPKEYIN_NONE;
	}
}

/*
 * pgpkeyin_find - the key the sender's client put in this mail. 1 found
 * (out->key, out->fmt, out->shape; free with pgpkeyin_free), 0 none, -1
 * out of memory. sender is the address the mail is taken to be from: an
 * Autocrypt header about anyone else is ignored.
 */
int
pgpkeyin_find(const void *msg, size_t len, const char *sender,
    struct pgpkeyin *out)
{
	struct walk w = { out, 0, 0 };
	struct hdr h;

	memset(out, 0, sizeof(*out));
	buf_init(&out->key, PGPKEYIN_KEY_MAX + 1);
	if (hdr_parse(msg, len, &h) < 0)
		return -1;
	if (sender && *sender)
		autocrypt(&w, &h, sender);
	hdr_free(&h);
	if (!w.err)
		entity(&w, msg, len, 0);
	if (w.err)
		return -1;
	return out->shape != PGPKEYIN_NONE;
}
