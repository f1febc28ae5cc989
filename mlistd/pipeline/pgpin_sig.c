/*
 * pgpin_sig.c - did a member's registered key sign for a change: the
 * new key inside what it signed (a "key" mail), or the token inside a
 * signed answer; both run in the sandboxed worker's child (pgpin_key.c).
 * Only against the registered key, never a key the mail brings; a
 * signature over anything else counts for nothing. Kept apart from
 * pgpreplace.c so that the worker's child links no store, notice or
 * delivery code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mail/pgpkeyin.h"
#include "mail/pgpsigned.h"
#include "pipeline/pgpreplace.h"

#define HEX40		40

/* pgpreplace_token_hash - a token's hash, to find it in a signed answer */
void
pgpreplace_token_hash(const char *token,
    char hex[PGPREPLACE_TOKEN_HASH_HEX])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)token,
	    strlen(token), NULL, 0);
	sodium_bin2hex(hex, PGPREPLACE_TOKEN_HASH_HEX, h, sizeof(h));
}

/* signed_part - the entity old signed (into part), if msg is signed by it */
static int
signed_part(const void *msg, size_t len, const struct openpgp_key *old,
    struct buf *part)
{
	struct pgpsigned ps;
	char why[OPENPGP_WHY_SIZE];
	struct buf m;
	int rc = 0;

	if (old->bin.len == 0 || pgpsigned_check(msg, len, old->bin.data,
	    old->bin.len, &ps, why, sizeof(why)) != 1)
		return 0;
	buf_init(&m, 0);
	/* pgpsigned.c's offsets are into msg with every bare LF made CRLF */
	if (buf_put_crlf(&m, msg, len) == 0 &&
	    ps.signed_off + ps.signed_len <= m.len &&
	    buf_append(part, m.data + ps.signed_off, ps.signed_len) == 0)
		rc = 1;
	buf_free(&m);
	return rc;
}

/*
 * pgpreplace_signed_key - the key inside what the old key signed, imported
 * into key: 1, 0 not signed by old or no usable key inside
 */
int
pgpreplace_signed_key(const void *msg, size_t len, const char *addr,
    const struct openpgp_key *old, struct openpgp_key *key)
{
	struct pgpkeyin in;
	char why[OPENPGP_WHY_SIZE];
	struct buf part;
	int rc = 0;

	buf_init(&part, 0);
	if (!signed_part(msg, len, old, &part)) {
		buf_free(&part);
		return 0;
	}
	if (pgpkeyin_find(part.data, part.len, addr, &in) > 0 &&
	    openpgp_key_import(in.key.data, in.key.len, in.fmt, key, why,
	    sizeof(why)) == OK)
		rc = 1;
	pgpkeyin_free(&in);
	buf_free(&part);
	return rc;
}

/* lowhex - a lower-case hex digit, as tokens are written */
static int
lowhex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* hexrun - 40 hex digits at b[i], a whole run (a token, not part of one) */
static int
hexrun(const char *b, size_t n, size_t i)
{
	if (i + HEX40 > n || (i > 0 && lowhex(b[i - 1])))
		return 0;
	for (size_t k = 0; k < HEX40; k++)
		if (!lowhex(b[i + k]))
			return 0;
	return i + HEX40 == n || !lowhex(b[i + HEX40]);
}

/* pgpreplace_token_in - does text hold the token whose hash is given? */
int
pgpreplace_token_in(const void *text, size_t len, const char *token_hash)
{
	char tok[HEX40 + 1], th[PGPREPLACE_TOKEN_HASH_HEX];
	const char *t = text;
	int rc = 0;

	for (size_t i = 0; !rc && i + HEX40 <= len; i++) {
		if (!hexrun(t, len, i))
			continue;
		memcpy(tok, t + i, HEX40);
		tok[HEX40] = 0;
		pgpreplace_token_hash(tok, th);
		rc = sodium_memcmp(th, token_hash, sizeof(th) - 1) == 0;
	}
	return rc;
}

/* pgpreplace_signed_answer - the token inside what the old key signed */
int
pgpreplace_signed_answer(const void *msg, size_t len, const char *addr,
    const struct openpgp_key *old, const char *token_hash)
{
	struct buf part;
	int rc = 0;

	(void)addr;
	buf_init(&part, 0);
	if (signed_part(msg, len, old, &part))
		rc = pgpreplace_token_in(part.data, part.len, token_hash);
	buf_free(&part);
	return rc;
}
