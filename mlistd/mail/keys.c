/*
 * keys.c - the instance master key and what is derived from it.
 *
 * The master key is 32 random bytes in a file of mode 0600, made once by
 * `mlistctl init`. Every other key is derived from it with crypto_kdf, one
 * context per purpose, so a key never serves two jobs. Key bytes are held
 * only in sodium_malloc'ed memory that is read-only after derivation and
 * wiped on free. Nothing here logs.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keys.h"

#define KEYS_CTX	"mlistd__"	/* crypto_kdf context, 8 bytes */

enum { KDF_SPOOL = 1, KDF_FIELD, KDF_LOOKUP };

/* keys_create - write a new master key to path; refuse to overwrite */
int
keys_create(const char *path, char *err, size_t errlen)
{
	unsigned char master[KEYS_LEN];
	int fd;
	ssize_t n;

	if (sodium_init() < 0)
		return snprintf(err, errlen, "libsodium failed to initialise"), -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "cannot create master key %s: %s%s", path,
		    strerror(errno), errno == EEXIST ?
		    " (the instance is already initialised; remove the state directory to start over)" : "");
		return -1;
	}
	crypto_kdf_keygen(master);
	n = write(fd, master, sizeof(master));
	sodium_memzero(master, sizeof(master));
	if (n != (ssize_t)sizeof(master) || fsync(fd) < 0) {
		snprintf(err, errlen, "cannot write master key %s: %s", path,
		    n < 0 ? strerror(errno) : "short write");
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) < 0) {
		snprintf(err, errlen, "cannot write master key %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/* keys_from_master - derive the working keys from a master key */
struct keys *
keys_from_master(const unsigned char master[KEYS_LEN])
{
	struct keys *k;

	if (sodium_init() < 0 || (k = sodium_malloc(sizeof(*k))) == NULL)
		return NULL;
	crypto_kdf_derive_from_key(k->spool, KEYS_LEN, KDF_SPOOL, KEYS_CTX, master);
	crypto_kdf_derive_from_key(k->field, KEYS_LEN, KDF_FIELD, KEYS_CTX, master);
	crypto_kdf_derive_from_key(k->lookup, KEYS_LEN, KDF_LOOKUP, KEYS_CTX, master);
	sodium_mprotect_readonly(k);
	return k;
}

/* keys_load - read the master key file; it must be private and exact */
struct keys *
keys_load(const char *path, char *err, size_t errlen)
{
	unsigned char *master;
	struct keys *k = NULL;
	struct stat st;
	ssize_t n;
	int fd;

	if (sodium_init() < 0)
		return snprintf(err, errlen, "libsodium failed to initialise"), NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open master key %s: %s%s", path, strerror(errno),
		    errno == ENOENT ? " (run 'mlistctl init' first)" : "");
		return NULL;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 077) != 0 || st.st_size != KEYS_LEN) {
		snprintf(err, errlen, "master key %s must be %d bytes and mode 0600 (chmod 600 %s)",
		    path, KEYS_LEN, path);
		close(fd);
		return NULL;
	}
	if ((master = sodium_malloc(KEYS_LEN)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	n = read(fd, master, KEYS_LEN);
	close(fd);
	if (n != KEYS_LEN)
		snprintf(err, errlen, "cannot read master key %s", path);
	else if ((k = keys_from_master(master)) == NULL)
		snprintf(err, errlen, "out of memory");
	sodium_free(master);
	return k;
}

/* keys_free - wipe and release */
void
keys_free(struct keys *k)
{
	if (k)
		sodium_free(k);	/* sodium_free wipes */
}

/* keys_addr_hash - keyed look-up hash of a (list, address); case-insensitive */
void
keys_addr_hash(const struct keys *k, const char *list, const char *addr,
    unsigned char out[KEYS_HASH_LEN])
{
	crypto_generichash_state st;
	unsigned char c;

	crypto_generichash_init(&st, k->lookup, KEYS_LEN, KEYS_HASH_LEN);
	crypto_generichash_update(&st, (const unsigned char *)list, strlen(list) + 1);
	for (; *addr; addr++) {
		c = (unsigned char)tolower((unsigned char)*addr);
		crypto_generichash_update(&st, &c, 1);
	}
	crypto_generichash_final(&st, out, KEYS_HASH_LEN);
}

/* keys_seal - encrypt a stored field: nonce || secretbox */
int
keys_seal(const struct keys *k, const void *pt, size_t len, struct buf *out)
{
	unsigned char nonce[crypto_secretbox_NONCEBYTES];
	size_t off;

	randombytes_buf(nonce, sizeof(nonce));
	buf_reset(out);
	if (buf_append(out, nonce, sizeof(nonce)) < 0)
		return -1;
	off = out->len;
	if (buf_reserve(out, len + crypto_secretbox_MACBYTES) < 0)
		return -1;
	crypto_secretbox_easy(out->data + off, pt, len, nonce, k->field);
	out->len = off + len + crypto_secretbox_MACBYTES;
	out->data[out->len] = 0;
	return 0;
}

/* keys_open - decrypt a stored field; -1 if it was tampered with */
int
keys_open(const struct keys *k, const void *ct, size_t len, struct buf *out)
{
	const unsigned char *c = ct;
	size_t plen;

	buf_reset(out);
	if (len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return -1;
	plen = len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if (buf_reserve(out, plen) < 0)
		return -1;
	if (crypto_secretbox_open_easy(out->data, c + crypto_secretbox_NONCEBYTES,
	    len - crypto_secretbox_NONCEBYTES, c, k->field) != 0)
		return buf_reset(out), -1;
	out->len = plen;
	out->data[plen] = 0;
	return 0;
}

/*
 * keys_public_from_text - a 32-byte public key given as base64, with or
 * without its "prefix:" (ed25519:, x25519:). 1 a key, 0 "none", -1 not a key.
 */
int
keys_public_from_text(const char *text, const char *prefix, unsigned char pk[32])
{
	size_t got = 0, pl = strlen(prefix);

	if (strncmp(text, prefix, pl) == 0 && text[pl] == ':')
		text += pl + 1;
	if (strcmp(text, "none") == 0)
		return 0;
	return sodium_base642bin(pk, 32, text, strlen(text), NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    got == 32 ? 1 : -1;
}

/*
 * keys_expiry_parse - a key's stated expiry, "YYYY-MM-DD" (the key is good
 * until that day begins, UTC): the time, or -1 if it is not such a date.
 */
long long
keys_expiry_parse(const char *text)
{
	struct tm tm;
	int y, m, d, n = 0;
	time_t t;

	if (strlen(text) != 10 || sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || text[4] != '-' ||
	    text[7] != '-' || y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	if ((t = timegm(&tm)) == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != m - 1)
		return -1;	/* 2027-02-30 and the like */
	return (long long)t;
}

/* keys_expiry_format - the day a key expires, as keys_expiry_parse reads it */
void
keys_expiry_format(long long t, char out[11])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/*
 * One-click unsubscription tokens (RFC 8058). A token names one membership
 * and nothing else a reader could use: SIV-style, tag = keyed BLAKE2b of
 * (list, member id) and the id encrypted with XChaCha20 under that tag as
 * nonce. Deterministic (the same member always has the same token, so
 * nothing is stored), 32 hex digits (LIST-unsubscribe+TOKEN@ must fit a
 * 64-octet local part), and it does not show the member id (which would
 * hint at how many memberships the instance holds). A 64-bit tag: a forger
 * has to guess online, through the endpoint, which is hopeless.
 */
static void
oneclick_keys(const struct keys *k, unsigned char mac[32], unsigned char enc[32])
{
	static const char ctx_mac[] = "mlistd one-click token mac", ctx_enc[] = "mlistd one-click token enc";

	crypto_generichash(mac, 32, (const unsigned char *)ctx_mac, sizeof(ctx_mac) - 1, k->lookup, KEYS_LEN);
	crypto_generichash(enc, 32, (const unsigned char *)ctx_enc, sizeof(ctx_enc) - 1, k->lookup, KEYS_LEN);
}

static void
oneclick_tag(const unsigned char mac[32], const char *list, const unsigned char id[8], unsigned char tag[24])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, mac, 32, 24);
	crypto_generichash_update(&st, (const unsigned char *)list, strlen(list) + 1);
	crypto_generichash_update(&st, id, 8);
	crypto_generichash_final(&st, tag, 24);
}

/* keys_oneclick_token - the token of member_id on list: 32 lowercase hex digits */
void
keys_oneclick_token(const struct keys *k, const char *list, long long member_id, char out[KEYS_ONECLICK_LEN + 1])
{
	unsigned char mac[32], enc[32], id[8], tag[24], nonce[24] = { 0 }, raw[16];

	oneclick_keys(k, mac, enc);
	for (int i = 0; i < 8; i++)
		id[i] = (unsigned char)((unsigned long long)member_id >> (8 * i));
	oneclick_tag(mac, list, id, tag);
	memcpy(raw, tag, 8);			/* the tag travels (8 bytes) and is the nonce, zero-padded */
	memcpy(nonce, tag, 8);
	crypto_stream_xchacha20_xor(raw + 8, id, 8, nonce, enc);
	sodium_bin2hex(out, KEYS_ONECLICK_LEN + 1, raw, sizeof(raw));
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(enc, sizeof(enc));
}

/* keys_oneclick_member - the member id a token names on list, or -1 if it is not a token of ours */
long long
keys_oneclick_member(const struct keys *k, const char *list, const char *token)
{
	unsigned char mac[32], enc[32], id[8], tag[24], nonce[24] = { 0 }, raw[16];
	size_t got = 0;
	unsigned long long v = 0;
	long long member;
	int ok;

	if (strlen(token) != KEYS_ONECLICK_LEN || sodium_hex2bin(raw, sizeof(raw), token, KEYS_ONECLICK_LEN, NULL,
	    &got, NULL) != 0 || got != sizeof(raw))
		return -1;
	oneclick_keys(k, mac, enc);
	memcpy(nonce, raw, 8);
	crypto_stream_xchacha20_xor(id, raw + 8, 8, nonce, enc);
	oneclick_tag(mac, list, id, tag);
	ok = sodium_memcmp(tag, raw, 8) == 0;
	for (int i = 0; i < 8; i++)
		v |= (unsigned long long)id[i] << (8 * i);
	member = v > (unsigned long long)LLONG_MAX ? -1 : (long long)v;
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(enc, sizeof(enc));
	return ok && member > 0 ? member : -1;
}
