/*
 * pgpsigned.c - check a delivered RFC 3156 multipart/signed post, as a
 * reader's mail client would: the signed entity's exact bytes, the
 * detached signature, and a key whose UID email is the From address.
 *
 * The key is the reader's (a file they trust) or, failing that, the one in
 * the post's own Autocrypt header for the From address. The second proves
 * only that the post is consistent: whoever wrote it may have put their
 * own key there. The caller says which it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "mail/header.h"
#include "mail/openpgp_pseud.h"
#include "mail/pgpsigned.h"
#include "util/mem.h"

/* param - the value of parameter name in a header value, into out */
static int
param(const char *v, const char *name, char *out, size_t n)
{
	const char *p = v;
	size_t k = strlen(name), i = 0;

	while ((p = strcasestr(p, name)) != NULL) {
		if ((p == v || strchr("; \t\r\n", p[-1])) && p[k] == '=')
			break;
		p += k;
	}
	if (p == NULL)
		return -1;
	p += k + 1;
	if (*p == '"')
		for (p++; *p && *p != '"' && i + 1 < n; p++)
			out[i++] = *p;
	else
		for (; *p && !strchr("; \t\r\n", *p) && i + 1 < n; p++)
			out[i++] = *p;
	out[i] = 0;
	return i ? 0 : -1;
}

/*
 * split - the signed entity (the CRLF before the next delimiter is the
 * delimiter's) and the signature part's content; -1 if malformed
 */
static int
split(const char *m, size_t n, size_t body, const char *bnd,
    struct pgpsigned *ps)
{
	char open[200], mid[200];
	long a, b, c, e;

	(void)snprintf(open, sizeof(open), "--%s\r\n", bnd);
	(void)snprintf(mid, sizeof(mid), "\r\n--%s", bnd);
	if ((a = mem_find(m, n, body, open)) < 0 ||
	    (a != (long)body && m[a - 1] != '\n'))
		return -1;
	a += (long)strlen(open);
	if ((b = mem_find(m, n, (size_t)a, mid)) < 0)
		return -1;
	ps->signed_off = (size_t)a;
	ps->signed_len = (size_t)(b - a);
	c = b + (long)strlen(mid) + 2;	/* the signature part's headers */
	if ((e = mem_find(m, n, (size_t)c, "\r\n\r\n")) < 0)
		return -1;
	e += 4;
	if ((b = mem_find(m, n, (size_t)e, mid)) < 0)
		return -1;
	ps->sig_off = (size_t)e;
	ps->sig_len = (size_t)(b - e);
	return 0;
}

/* angle_addr - the address in "Name <addr>" (or a bare addr), into out */
static void
angle_addr(const char *v, char *out, size_t n)
{
	const char *lt = strrchr(v, '<'), *gt;
	size_t i = 0;

	if (lt && (gt = strchr(lt, '>')) != NULL)
		(void)snprintf(out, n, "%.*s", (int)(gt - lt - 1), lt + 1);
	else {
		while (*v == ' ' || *v == '\t')
			v++;
		for (; v[i] && !strchr(" \t\r\n", v[i]) && i + 1 < n; i++)
			out[i] = v[i];
		out[i] = 0;
	}
}

/* autocrypt_key - the Autocrypt header's key for addr, decoded into key */
static int
autocrypt_key(const struct hdr *h, const char *addr, struct buf *key)
{
	char a[320];
	const char *kd;
	unsigned char *bin;
	size_t len;
	char *v;
	int rc = -1;

	for (int i = 0; i < h->n; i++) {
		if (!hdr_is(&h->f[i], "Autocrypt") ||
		    (v = hdr_value(&h->f[i])) == NULL)
			continue;
		if (param(v, "addr", a, sizeof(a)) == 0 &&
		    strcasecmp(a, addr) == 0 &&
		    (kd = strstr(v, "keydata=")) != NULL) {
			kd += 8;
			len = strlen(kd);
			if ((bin = malloc(len + 1)) != NULL &&
			    sodium_base642bin(bin, len + 1, kd, len, " \t\r\n",
			    &len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0) {
				buf_append(key, bin, len);
				rc = 0;
			}
			free(bin);
		}
		free(v);
		if (rc == 0)
			break;
	}
	return rc;
}

/* micalg_is - does micalg ("pgp-sha256") name the signature's hash? */
static int
micalg_is(const char *micalg, const char *hash)
{
	return strncasecmp(micalg, "pgp-", 4) == 0 &&
	    strcasecmp(micalg + 4, hash) == 0;
}

/* check_parts - the signature over the signed bytes, by key; From = UID */
static int
check_parts(const struct buf *m, const struct hdr *h, struct pgpsigned *ps,
    const void *key, size_t klen, char *why, size_t whylen)
{
	char from[320] = "", email[320];
	char *fv = hdr_get_value(h, "From");
	struct buf ac;
	int rc = -1;

	if (fv)
		angle_addr(fv, from, sizeof(from));
	free(fv);
	(void)snprintf(ps->from, sizeof(ps->from), "%s", from);
	buf_init(&ac, 0);
	if (klen == 0) {
		if (autocrypt_key(h, from, &ac) < 0) {
			(void)snprintf(why, whylen, "no key given and no "
			    "Autocrypt header for the From address %s", from);
			buf_free(&ac);
			return -1;
		}
		key = ac.data;
		klen = ac.len;
		ps->from_autocrypt = 1;
	}
	if (openpgp_pseud_verify(key, klen, m->data + ps->signed_off,
	    ps->signed_len, m->data + ps->sig_off, ps->sig_len, &ps->who, why,
	    whylen) == OK) {
		angle_addr(ps->who.uid, email, sizeof(email));
		if (strcasecmp(email, from) != 0)
			(void)snprintf(why, whylen, "the key's UID <%s> is "
			    "not the From address <%s>", email, from);
		else if (!micalg_is(ps->micalg, ps->who.hash))
			(void)snprintf(why, whylen, "micalg=%s does not name "
			    "the signature's hash %s", ps->micalg,
			    ps->who.hash);
		else
			rc = 1;
	}
	buf_free(&ac);
	return rc;
}

/*
 * pgpsigned_check - 1 the post is multipart/signed and verifies with key
 * (klen 0: its own Autocrypt key for From) by a key whose UID email is
 * From; 0 it is not multipart/signed; -1 it does not verify (why)
 */
int
pgpsigned_check(const void *msg, size_t len, const void *key, size_t klen,
    struct pgpsigned *ps, char *why, size_t whylen)
{
	char bnd[160], micalg[40];
	struct buf m;
	struct hdr h;
	char *ct = NULL;
	int rc = 0;

	memset(ps, 0, sizeof(*ps));
	buf_init(&m, 0);
	buf_put_crlf(&m, msg, len);
	if (hdr_parse((const char *)m.data, m.len, &h) < 0) {
		buf_free(&m);
		(void)snprintf(why, whylen, "the header does not parse");
		return -1;
	}
	if ((ct = hdr_get_value(&h, "Content-Type")) == NULL ||
	    strncasecmp(ct, "multipart/signed", 16) != 0)
		rc = 0;
	else if (param(ct, "boundary", bnd, sizeof(bnd)) < 0 ||
	    split((const char *)m.data, m.len, h.body_off, bnd, ps) < 0) {
		(void)snprintf(why, whylen, "malformed multipart/signed");
		rc = -1;
	} else {
		if (param(ct, "micalg", micalg, sizeof(micalg)) == 0)
			(void)snprintf(ps->micalg, sizeof(ps->micalg), "%s",
			    micalg);
		rc = check_parts(&m, &h, ps, key, klen, why, whylen);
	}
	free(ct);
	hdr_free(&h);
	buf_free(&m);
	return rc;
}
