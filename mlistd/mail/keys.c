/*
 * keys.c - the instance master key and what is derived from it.
 *
 * The master key is 32 random bytes made once by `mlistctl init`, and kept
 * in one of four ways (the instance setting master_key): under a passphrase
 * (the default: STATE/master.wrapped, the key sealed with a key stretched by
 * Argon2id), as a systemd credential ($CREDENTIALS_DIRECTORY/mlistd-master),
 * in a key file elsewhere (a tmpfs, removable media), or - only when said
 * so, "insecure-file" - in clear in STATE/master.key. Every other key is
 * derived from it with crypto_kdf, one context per purpose, so a key never
 * serves two jobs. The spool's X25519 pair is derived too; its public half
 * is written to STATE/spool.pub, which is all the SMTP server ever reads.
 * Key bytes are held only in sodium_malloc'ed memory that is read-only
 * after derivation and wiped on free. Nothing here logs.
 *
 * Also made here, each keyed by a key derived from the master key: the
 * member and pseudonym references the audit log and mlistctl show, and
 * the one-click tokens; and the "YYYY-MM-DD" form of a key's expiry date
 * (keys_expiry_parse and _format), which mlistctl and the jobs share.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "keys.h"
#include "util/fsutil.h"

#define KEYS_CTX	"mlistd__"	/* crypto_kdf context, 8 bytes */
#define KEYS_CTX_SPOOL	"mlspool_"	/* the spool's X25519 pair: its own context */
#define WRAP_MAGIC	"MLKEYW1\n"
#define WRAP_HDR	(8 + 8 + 8 + crypto_pwhash_SALTBYTES + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
#define WRAP_LEN	(WRAP_HDR + KEYS_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES)

enum { KDF_SPOOL = 1, KDF_FIELD, KDF_LOOKUP, KDF_BACKUP, KDF_ROLE, KDF_AUDIT };

/* keys_create - write a new master key to path; refuse to overwrite */
int
keys_create(const char *path, char *err, size_t errlen)
{
	unsigned char master[KEYS_LEN];
	struct buf e;
	int rc, there;

	if (sodium_init() < 0)
		return snprintf(err, errlen, "libsodium failed to initialise"), -1;
	buf_init(&e, 256);
	crypto_kdf_keygen(master);
	rc = fs_write_new(path, master, sizeof(master), 0600, &e);
	there = rc < 0 && errno == EEXIST;
	sodium_memzero(master, sizeof(master));
	if (rc < 0)
		snprintf(err, errlen, "master key: %s%s", buf_cstr(&e), there ?
		    " (the instance is already initialised; remove the state"
		    " directory to start over)" : "");
	buf_free(&e);
	return rc;
}

/* spool_pair - the spool's X25519 key pair, from the master key */
static void
spool_pair(const unsigned char master[KEYS_LEN], unsigned char pk[KEYS_LEN], unsigned char sk[KEYS_LEN])
{
	unsigned char seed[crypto_box_SEEDBYTES];

	crypto_kdf_derive_from_key(seed, sizeof(seed), 1, KEYS_CTX_SPOOL, master);
	crypto_box_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
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
	crypto_kdf_derive_from_key(k->backup, KEYS_LEN, KDF_BACKUP, KEYS_CTX, master);
	crypto_kdf_derive_from_key(k->role, KEYS_LEN, KDF_ROLE, KEYS_CTX, master);
	crypto_kdf_derive_from_key(k->audit, KEYS_LEN, KDF_AUDIT, KEYS_CTX, master);
	spool_pair(master, k->spool_pk, k->spool_sk);
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

/*
 * keys_seal - encrypt a stored field: nonce || XChaCha20-Poly1305, with ad
 * (where the field lives: store.c's st_place) as associated data, so that
 * the blob opens only in its own column of its own row
 */
int
keys_seal(const struct keys *k, const void *pt, size_t len, const void *ad,
    size_t adlen, struct buf *out)
{
	unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	unsigned long long clen;
	size_t off;

	randombytes_buf(nonce, sizeof(nonce));
	buf_reset(out);
	if (buf_append(out, nonce, sizeof(nonce)) < 0)
		return -1;
	off = out->len;
	if (buf_reserve(out, len + crypto_aead_xchacha20poly1305_ietf_ABYTES) < 0)
		return -1;
	crypto_aead_xchacha20poly1305_ietf_encrypt(out->data + off, &clen, pt, len,
	    ad, adlen, NULL, nonce, k->field);
	out->len = off + (size_t)clen;
	out->data[out->len] = 0;
	return 0;
}

/*
 * keys_open - decrypt a stored field sealed with the same ad; -1 if it was
 * tampered with or belongs elsewhere (another column or row)
 */
int
keys_open(const struct keys *k, const void *ct, size_t len, const void *ad,
    size_t adlen, struct buf *out)
{
	const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	const unsigned char *c = ct;
	unsigned long long plen;

	buf_reset(out);
	if (len < nb + crypto_aead_xchacha20poly1305_ietf_ABYTES)
		return -1;
	if (buf_reserve(out, len) < 0)
		return -1;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out->data, &plen, NULL,
	    c + nb, len - nb, ad, adlen, c, k->field) != 0) {
		buf_reset(out);
		return -1;
	}
	out->len = (size_t)plen;
	out->data[plen] = 0;
	return 0;
}

/*
 * keys_open_legacy - a field sealed before fields were bound to their
 * place (nonce || secretbox): read only by the migration that re-seals them
 */
int
keys_open_legacy(const struct keys *k, const void *ct, size_t len, struct buf *out)
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
	    len - crypto_secretbox_NONCEBYTES, c, k->field) != 0) {
		buf_reset(out);
		return -1;
	}
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

/* list_seed - a per-list Ed25519 seed under key, in its own domain */
static void
list_seed(const unsigned char key[KEYS_LEN], const char *domain, const char *list,
    unsigned char seed[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, KEYS_LEN, 32);
	crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
	crypto_generichash_update(&st, (const unsigned char *)list, strlen(list) + 1);
	crypto_generichash_final(&st, seed, 32);
}

/* keys_role_seed - the seed of the moderators' role key on list (never stored) */
void
keys_role_seed(const struct keys *k, const char *list, unsigned char seed[32])
{
	list_seed(k->role, "mlistd moderators role key", list, seed);
}

/* keys_audit_seed - the seed of list's audit-log signing key (never stored) */
void
keys_audit_seed(const struct keys *k, const char *list, unsigned char seed[32])
{
	list_seed(k->audit, "mlistd audit signing key", list, seed);
}

/* ref_update - a string into a reference's hash, with its NUL if nul */
static void
ref_update(crypto_generichash_state *st, const char *s, int nul)
{
	crypto_generichash_update(st, (const unsigned char *)s, strlen(s) + (nul ? 1 : 0));
}

/*
 * ref_make - "LABEL" and 10 hex digits of the audit key's hash of domain,
 * list and item: how stored text names a thing without naming it
 */
static void
ref_make(const struct keys *k, const char *domain, const char *list,
    const char *item, const char *label, char *out, size_t n)
{
	unsigned char h[5];
	char hex[11];
	crypto_generichash_state st;

	crypto_generichash_init(&st, k->audit, KEYS_LEN, sizeof(h));
	ref_update(&st, domain, 1);
	ref_update(&st, list, 1);
	ref_update(&st, item, 0);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out, n, "%s %s", label, hex);
}

/*
 * keys_member_ref - how the audit log names member id of list: "member "
 * and 10 hex digits of a keyed hash, stable per member and per list, that
 * tells a reader nothing of how many joined before or since
 */
void
keys_member_ref(const struct keys *k, const char *list, long long id, char *out,
    size_t n)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", id);
	ref_make(k, "mlistd member ref", list, num, "member", out, n);
}

/*
 * keys_pseudonym_ref - how stored text (the audit log, a request's detail)
 * names a pseudonym: "pseudonym " and 10 hex digits of a keyed hash of its
 * skeleton, the same for every request about it, never the name
 */
void
keys_pseudonym_ref(const struct keys *k, const char *list, const char *skeleton,
    char *out, size_t n)
{
	ref_make(k, "mlistd pseudonym ref", list, skeleton, "pseudonym", out, n);
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

/*
 * How the master key is kept. A clear file is read only if it is private
 * and exactly 32 bytes; a wrapped file is MAGIC | opslimit | memlimit |
 * salt | nonce | XChaCha20-Poly1305(master), the header its associated data,
 * so parameters cannot be lowered without the passphrase noticing.
 */

/* keys_way - the way a master_key setting names ("" is the default, a passphrase) */
enum keys_way
keys_way(const char *setting)
{
	if (setting == NULL || *setting == 0 || strcmp(setting, "passphrase") == 0)
		return KEYS_PASSPHRASE;
	if (strcmp(setting, "systemd-creds") == 0)
		return KEYS_SYSTEMD_CREDS;
	if (strcmp(setting, "insecure-file") == 0)
		return KEYS_INSECURE_FILE;
	return KEYS_KEYFILE;	/* config.c accepts only an absolute path besides the words */
}

/* keys_way_name - for messages */
const char *
keys_way_name(enum keys_way w)
{
	static const char *const names[] = { "passphrase", "systemd-creds", "key file", "insecure-file" };

	return names[w];
}

/* keys_master_new - 32 random bytes in guarded memory (NULL: out of memory) */
unsigned char *
keys_master_new(void)
{
	unsigned char *m;

	if (sodium_init() < 0 || (m = sodium_malloc(KEYS_LEN)) == NULL)
		return NULL;
	crypto_kdf_keygen(m);
	return m;
}

/* keys_master_free - wipe and release */
void
keys_master_free(unsigned char *m)
{
	if (m)
		sodium_free(m);
}

/* write_new - write bytes to path via a temporary file, fsync, rename; 0 or -1 */
static int
write_new(const char *path, const void *p, size_t n, int excl, char *err, size_t errlen)
{
	char tmp[4200];
	int fd;

	if (excl && access(path, F_OK) == 0)
		return snprintf(err, errlen, "%s exists (the instance is already initialised; "
		    "'mlistctl rekey' changes how its key is kept)", path), -1;
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno)), -1;
	if (write(fd, p, n) != (ssize_t)n || fsync(fd) < 0 || close(fd) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		(void)close(fd);
		(void)unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

/* keys_write_clear - the master key in clear to path (insecure-file, a key file elsewhere) */
int
keys_write_clear(const char *path, const unsigned char *master, char *err, size_t errlen)
{
	return write_new(path, master, KEYS_LEN, 1, err, errlen);
}

/* put64 / get64 - little-endian numbers of the wrapped file */
static void
put64(unsigned char *p, unsigned long long v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static unsigned long long
get64(const unsigned char *p)
{
	unsigned long long v = 0;

	for (int i = 0; i < 8; i++)
		v |= (unsigned long long)p[i] << (8 * i);
	return v;
}

/* stretch - the wrapping key of a passphrase; 0 or -1 (out of memory) */
static int
stretch(unsigned char key[KEYS_LEN], const char *pass, const unsigned char *salt,
    unsigned long long ops, unsigned long long mem)
{
	return crypto_pwhash(key, KEYS_LEN, pass, strlen(pass), salt, ops, (size_t)mem,
	    crypto_pwhash_ALG_ARGON2ID13);
}

/*
 * keys_passphrase_ok - is pass strong enough to wrap the master key? A
 * stolen backup carries the wrapped key, open to offline guessing with no
 * rate limit: Argon2id slows each guess, only length makes them many. At
 * least KEYS_PASS_MIN characters (UTF-8 code points), KEYS_PASS_DISTINCT
 * of them different; 1, or 0 with why in err
 */
int
keys_passphrase_ok(const char *pass, char *err, size_t errlen)
{
	unsigned char seen[256] = { 0 };
	size_t chars = 0, distinct = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)pass; *p; p++) {
		if ((*p & 0xc0) != 0x80)
			chars++;
		if (!seen[*p]++)
			distinct++;
	}
	if (chars < KEYS_PASS_MIN || distinct < KEYS_PASS_DISTINCT) {
		snprintf(err, errlen, "the passphrase is too weak: a stolen "
		    "backup can be guessed offline; use at least %d "
		    "characters, %d of them different (a few random words)",
		    KEYS_PASS_MIN, KEYS_PASS_DISTINCT);
		return 0;
	}
	return 1;
}

/* keys_write_wrapped - the master key under a passphrase, to path (replacing it) */
int
keys_write_wrapped(const char *path, const unsigned char *master, const char *pass,
    char *err, size_t errlen)
{
	unsigned char file[WRAP_LEN], *salt = file + 24, *nonce = salt + crypto_pwhash_SALTBYTES;
	unsigned char *wk;
	int rc;

	if (*pass == 0)
		return snprintf(err, errlen, "an empty passphrase protects nothing"), -1;
	if (!keys_passphrase_ok(pass, err, errlen))
		return -1;
	if ((wk = sodium_malloc(KEYS_LEN)) == NULL)
		return snprintf(err, errlen, "out of memory"), -1;
	memcpy(file, WRAP_MAGIC, 8);
	put64(file + 8, KEYS_PWHASH_OPS);
	put64(file + 16, KEYS_PWHASH_MEM);
	randombytes_buf(salt, crypto_pwhash_SALTBYTES);
	randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	if (stretch(wk, pass, salt, KEYS_PWHASH_OPS, KEYS_PWHASH_MEM) < 0) {
		sodium_free(wk);
		return snprintf(err, errlen, "Argon2id: out of memory"), -1;
	}
	crypto_aead_xchacha20poly1305_ietf_encrypt(file + WRAP_HDR, NULL, master, KEYS_LEN,
	    file, WRAP_HDR, NULL, nonce, wk);
	sodium_free(wk);
	rc = write_new(path, file, sizeof(file), 0, err, errlen);
	sodium_memzero(file, sizeof(file));
	return rc;
}

/* unwrap - open a wrapped file's bytes with a passphrase */
static enum keys_status
unwrap(const unsigned char *file, const char *pass, unsigned char *master, char *err, size_t errlen)
{
	const unsigned char *salt = file + 24, *nonce = salt + crypto_pwhash_SALTBYTES;
	unsigned long long ops = get64(file + 8), mem = get64(file + 16), got;
	unsigned char *wk;
	int rc;

	if (memcmp(file, WRAP_MAGIC, 8) != 0 || ops < crypto_pwhash_OPSLIMIT_MIN ||
	    ops > 64 || mem < 8192 || mem > (4ULL << 30))
		return snprintf(err, errlen, "not a wrapped master key"), KEYS_ERROR;
	if ((wk = sodium_malloc(KEYS_LEN)) == NULL)
		return snprintf(err, errlen, "out of memory"), KEYS_ERROR;
	if (stretch(wk, pass, salt, ops, mem) < 0) {
		sodium_free(wk);
		return snprintf(err, errlen, "Argon2id: out of memory (%llu MiB)", mem >> 20), KEYS_ERROR;
	}
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(master, &got, NULL, file + WRAP_HDR,
	    KEYS_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES, file, WRAP_HDR, nonce, wk);
	sodium_free(wk);
	return rc == 0 && got == KEYS_LEN ? KEYS_OK : KEYS_BAD_PASS;
}

/*
 * keys_master_unwrap - open the bytes of a wrapped key (a backup carries
 * them) with a passphrase
 */
enum keys_status
keys_master_unwrap(const void *file, size_t len, const char *pass,
    unsigned char *master, char *err, size_t errlen)
{
	if (len != WRAP_LEN)
		return snprintf(err, errlen, "not a wrapped master key"), KEYS_ERROR;
	return unwrap(file, pass, master, err, errlen);
}

/*
 * The systemd credential, opened by root before privileges are given up.
 * systemd writes $CREDENTIALS_DIRECTORY/NAME as root, mode 0400 (it grants
 * the unit's User= an ACL, but mlistd's unit has none: it starts as root to
 * bind its ports and becomes "user" itself), so the queue manager, which
 * runs as that user, could not open it. The descriptor is all the SMTP
 * process ever has of it (never the bytes), and only until the first queue
 * manager is forked, before any mail is read.
 */
static int cred_fd = -1;

/* keys_credential_open - open the credential now, if that is the way; quiet */
void
keys_credential_open(const char *state_dir, const char *setting)
{
	char path[4200];

	if (cred_fd >= 0 || keys_way(setting) != KEYS_SYSTEMD_CREDS ||
	    keys_master_path(state_dir, setting, path, sizeof(path)) < 0)
		return;
	/* failing here is said later, by the queue manager, with the cause */
	cred_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

/*
 * Outside the unit (mlistctl from an operator's shell) there is no
 * $CREDENTIALS_DIRECTORY: root decrypts the credential itself, as systemd
 * would, with `systemd-creds decrypt`, into guarded memory through a pipe.
 */
static unsigned char *cred_bytes;
static char cred_why[600];

/* cred_fail - why the credential could not be decrypted; -1 */
static int
cred_fail(const char *file, const char *what)
{
	snprintf(cred_why, sizeof(cred_why), "'systemd-creds decrypt "
	    "--name=%s %s' failed (%s); run mlistctl as root, or set "
	    "master_key_credential", KEYS_CRED_NAME, file, what);
	return -1;
}

/* keys_credential_decrypt - the credential in FILE, by systemd-creds */
int
keys_credential_decrypt(const char *file)
{
	unsigned char *b;
	int p[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (cred_bytes != NULL)
		return 0;
	if (sodium_init() < 0 || (b = sodium_malloc(KEYS_LEN + 1)) == NULL)
		return cred_fail(file, "out of memory");
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		sodium_free(b);
		return cred_fail(file, strerror(errno));
	}
	if (pid == 0) {
		if (dup2(p[1], 1) < 0)
			_exit(127);
		execlp("systemd-creds", "systemd-creds", "decrypt",
		    "--name=" KEYS_CRED_NAME, file, "-", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* one byte more than a key: a longer file is not one */
	while (got <= KEYS_LEN) {
		n = read(p[0], b + got, KEYS_LEN + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != KEYS_LEN) {
		sodium_free(b);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return cred_fail(file, WIFEXITED(status) &&
			    WEXITSTATUS(status) == 127 ? "no systemd-creds" :
			    "see its message above");
		return cred_fail(file, "not a 32-byte key");
	}
	cred_bytes = b;
	return 0;
}

/* keys_credential_close - forget the descriptor (the SMTP process, forked) */
void
keys_credential_close(void)
{
	if (cred_fd >= 0)
		close(cred_fd);
	cred_fd = -1;
}

/* read_fd - exactly n bytes of an open file only its owner can read */
static int
read_fd(int fd, const char *path, unsigned char *p, size_t n, char *err,
    size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || (st.st_mode & 077) != 0 ||
	    st.st_size != (off_t)n)
		return snprintf(err, errlen, "%s must be %zu bytes and mode "
		    "0600 or 0400 (chmod 600 %s)", path, n, path), -1;
	/* pread: a descriptor shared with another process has one offset */
	if (pread(fd, p, n, 0) != (ssize_t)n)
		return snprintf(err, errlen, "cannot read %s", path), -1;
	return 0;
}

/* read_private - exactly n bytes of a file only its owner can read; 0 or -1 */
static int
read_private(const char *path, unsigned char *p, size_t n, char *err, size_t errlen)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)), -1;
	rc = read_fd(fd, path, p, n, err, errlen);
	close(fd);
	return rc;
}

/* keys_master_path - where the master key of a way is read from; 0 or -1 */
int
keys_master_path(const char *state_dir, const char *setting, char *out, size_t outlen)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	int n;

	switch (keys_way(setting)) {
	case KEYS_PASSPHRASE:
		n = snprintf(out, outlen, "%s/%s", state_dir, KEYS_WRAPPED);
		break;
	case KEYS_SYSTEMD_CREDS:
		if (creds == NULL || *creds == 0)
			return snprintf(out, outlen, "$CREDENTIALS_DIRECTORY"), -1;
		n = snprintf(out, outlen, "%s/%s", creds, KEYS_CRED_NAME);
		break;
	case KEYS_INSECURE_FILE:
		n = snprintf(out, outlen, "%s/%s", state_dir, KEYS_CLEAR);
		break;
	default:
		n = snprintf(out, outlen, "%s", setting);
		break;
	}
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/*
 * keys_master_load - the master key (into guarded memory of KEYS_LEN) by
 * the configured way. A passphrase instance that has no wrapped key but an
 * old clear master.key still starts, with a warning saying how to migrate.
 */
enum keys_status
keys_master_load(const char *state_dir, const char *setting, const char *pass,
    unsigned char *master, char *err, size_t errlen)
{
	unsigned char file[WRAP_LEN];
	char path[4200];
	enum keys_way w = keys_way(setting);
	enum keys_status s;

	if (sodium_init() < 0)
		return snprintf(err, errlen, "libsodium failed to initialise"), KEYS_ERROR;
	if (w == KEYS_SYSTEMD_CREDS && cred_bytes != NULL) {
		/* decrypted by root (mlistctl) */
		memcpy(master, cred_bytes, KEYS_LEN);
		return KEYS_OK;
	}
	if (keys_master_path(state_dir, setting, path, sizeof(path)) < 0)
		return snprintf(err, errlen, "master_key = \"systemd-creds\" but %s is not set "
		    "(start mlistd from its unit, which has "
		    "LoadCredentialEncrypted=%s:...)%s%s", path, KEYS_CRED_NAME,
		    *cred_why ? "; " : "", cred_why), KEYS_ERROR;
	if (w == KEYS_PASSPHRASE && access(path, F_OK) < 0 && errno == ENOENT) {
		snprintf(path, sizeof(path), "%s/%s", state_dir, KEYS_CLEAR);
		if (access(path, F_OK) < 0)
			return snprintf(err, errlen, "no master key in %s (run 'mlistctl init' first)",
			    state_dir), KEYS_ERROR;
		if (read_private(path, master, KEYS_LEN, err, errlen) < 0)
			return KEYS_ERROR;
		snprintf(err, errlen, "the master key is in clear in %s, beside the data it protects; "
		    "run 'mlistctl rekey' to keep it under a passphrase", path);
		return KEYS_OK_INSECURE;
	}
	if (w == KEYS_SYSTEMD_CREDS && cred_fd >= 0) {
		/* opened by root at start (see cred_fd); read once */
		s = read_fd(cred_fd, path, master, KEYS_LEN, err, errlen) < 0 ?
		    KEYS_ERROR : KEYS_OK;
		keys_credential_close();
		return s;
	}
	if (w != KEYS_PASSPHRASE) {
		if (read_private(path, master, KEYS_LEN, err, errlen) < 0)
			return KEYS_ERROR;
		if (w != KEYS_INSECURE_FILE)
			return KEYS_OK;
		snprintf(err, errlen, "master_key = \"insecure-file\": the master key is in clear in %s, "
		    "beside the data it protects; 'mlistctl rekey' keeps it under a passphrase", path);
		return KEYS_OK_INSECURE;
	}
	if (read_private(path, file, sizeof(file), err, errlen) < 0)
		return KEYS_ERROR;
	if (pass == NULL)
		return snprintf(err, errlen, "the master key is under a passphrase"), KEYS_NEED_PASS;
	if ((s = unwrap(file, pass, master, err, errlen)) == KEYS_BAD_PASS)
		snprintf(err, errlen, "the passphrase does not open %s", path);
	return s;
}

/* keys_unlock - the working keys by the configured way; *status says how it went */
struct keys *
keys_unlock(const char *state_dir, const char *setting, const char *pass,
    enum keys_status *status, char *err, size_t errlen)
{
	unsigned char *master;
	struct keys *k;

	if (sodium_init() < 0 || (master = sodium_malloc(KEYS_LEN)) == NULL) {
		*status = KEYS_ERROR;
		return snprintf(err, errlen, "out of memory"), NULL;
	}
	*status = keys_master_load(state_dir, setting, pass, master, err, errlen);
	k = *status == KEYS_OK || *status == KEYS_OK_INSECURE ? keys_from_master(master) : NULL;
	sodium_free(master);
	if (k == NULL && (*status == KEYS_OK || *status == KEYS_OK_INSECURE)) {
		*status = KEYS_ERROR;
		snprintf(err, errlen, "out of memory");
	}
	return k;
}

/* keys_write_public - STATE/spool.pub, the spool's public key, from the master key */
int
keys_write_public(const char *state_dir, const unsigned char *master, char *err, size_t errlen)
{
	unsigned char pk[KEYS_LEN], sk[KEYS_LEN];
	char text[80], b64[64], path[4200];

	spool_pair(master, pk, sk);
	sodium_memzero(sk, sizeof(sk));
	sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof(text), "x25519:%s\n", b64);
	snprintf(path, sizeof(path), "%s/%s", state_dir, KEYS_PUBLIC);
	return write_new(path, text, strlen(text), 0, err, errlen);
}

/* keys_public_read - the spool's public key, all the SMTP server needs; 0 or -1 */
int
keys_public_read(const char *state_dir, unsigned char pk[KEYS_LEN], char *err, size_t errlen)
{
	char path[4200], text[128];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", state_dir, KEYS_PUBLIC);
	if ((fp = fopen(path, "re")) == NULL)
		return snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)), -1;
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = 0;
	text[strcspn(text, "\n")] = 0;
	if (strncmp(text, "x25519:", 7) != 0 || keys_public_from_text(text, "x25519", pk) != 1)
		return snprintf(err, errlen, "%s: not an x25519 public key", path), -1;
	return 0;
}

/*
 * keys_read_passphrase - one line from fd into out (sodium-guarded by the
 * caller if it wants): from a terminal after a prompt on stderr, without
 * echo; from a pipe or file as it comes (scripts, tests). 0, or -1 (no line).
 */
int
keys_read_passphrase(int fd, const char *prompt, char *out, size_t outlen)
{
	struct termios old, quiet;
	int tty = isatty(fd), echo_off = 0;
	size_t n = 0;
	ssize_t r;
	char c;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		fflush(stderr);
		if (tcgetattr(fd, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			echo_off = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
		}
	}
	while (n + 1 < outlen && (r = read(fd, &c, 1)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || c == '\n')
			break;
		out[n++] = c;
	}
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = 0;
	if (echo_off) {
		(void)tcsetattr(fd, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return n > 0 ? 0 : -1;
}
