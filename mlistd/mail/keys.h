/* keys.h - the instance master key and the keys derived from it. */
#ifndef MLIST_KEYS_H
#define MLIST_KEYS_H

#include <stddef.h>
#include <sodium.h>

#include "../util/buf.h"

#define KEYS_LEN	32
#define KEYS_HASH_LEN	32

/*
 * One key per purpose, each derived from the master key under its own
 * crypto_kdf context, so rotating or losing one breaks no other's job. A
 * list's DKIM keys are not here: each is random, made by listkey.c and
 * kept sealed in the store, so `keys rotate` touches nothing else.
 * All key bytes live in one sodium_malloc'ed, read-only block. Only the
 * queue manager (and mlistctl) ever holds one: the SMTP server is given the
 * spool's public key alone (keys_public_read), never this struct.
 */
struct keys {
	unsigned char	spool[KEYS_LEN];	/* legacy: secretstream key of MLSPOOL1 files */
	unsigned char	field[KEYS_LEN];	/* AEAD key of sealed fields (bound to their place) */
	unsigned char	lookup[KEYS_LEN];	/* generichash key for address look-up */
	unsigned char	spool_pk[KEYS_LEN];	/* X25519: spool files are sealed to it */
	unsigned char	spool_sk[KEYS_LEN];	/* ... and opened with this */
	unsigned char	backup[KEYS_LEN];	/* secretstream key of backups */
	unsigned char	role[KEYS_LEN];		/* the moderators' role keys, per list */
	unsigned char	audit[KEYS_LEN];	/* the audit log's signing keys, per list */
};

/* how the master key is kept (the instance setting master_key) */
enum keys_way { KEYS_PASSPHRASE, KEYS_SYSTEMD_CREDS, KEYS_KEYFILE, KEYS_INSECURE_FILE };

/* what keys_unlock did */
enum keys_status {
	KEYS_OK,		/* unlocked */
	KEYS_OK_INSECURE,	/* unlocked from a clear file: err holds the warning */
	KEYS_NEED_PASS,		/* a passphrase is needed */
	KEYS_BAD_PASS,		/* the passphrase does not open the wrapped key */
	KEYS_ERROR		/* err says why */
};

#define KEYS_WRAPPED	"master.wrapped"	/* in state_dir: the key under a passphrase */
#define KEYS_CLEAR	"master.key"		/* in state_dir: insecure-file, and old instances */
#define KEYS_PUBLIC	"spool.pub"		/* in state_dir: the spool's public key */
#define KEYS_CRED_NAME	"mlistd-master"		/* the systemd credential's name */
#define KEYS_PASS_MAX	1024
/* Argon2id parameters of new wrappings (stored in the file: rekey may raise them) */
#define KEYS_PWHASH_OPS	4
#define KEYS_PWHASH_MEM	(256ULL * 1024 * 1024)
/* a new passphrase: this many characters, this many different ones */
#define KEYS_PASS_MIN	12
#define KEYS_PASS_DISTINCT 6

enum keys_way keys_way(const char *setting);
const char *keys_way_name(enum keys_way);
unsigned char *keys_master_new(void);
void	keys_master_free(unsigned char *);
int	keys_write_clear(const char *path, const unsigned char *master, char *err, size_t errlen);
int	keys_passphrase_ok(const char *pass, char *err, size_t errlen);
int	keys_write_wrapped(const char *path, const unsigned char *master, const char *pass,
	    char *err, size_t errlen);
int	keys_write_public(const char *state_dir, const unsigned char *master, char *err, size_t errlen);
int	keys_public_read(const char *state_dir, unsigned char pk[KEYS_LEN], char *err, size_t errlen);
int	keys_master_path(const char *state_dir, const char *setting, char *out, size_t outlen);
void	keys_credential_open(const char *state_dir, const char *setting);
void	keys_credential_close(void);
int	keys_credential_decrypt(const char *file);
enum keys_status keys_master_load(const char *state_dir, const char *setting, const char *pass,
	    unsigned char *master, char *err, size_t errlen);
enum keys_status keys_master_unwrap(const void *file, size_t len, const char *pass,
	    unsigned char *master, char *err, size_t errlen);
int	keys_read_passphrase(int fd, const char *prompt, char *out, size_t outlen);
struct keys *keys_unlock(const char *state_dir, const char *setting, const char *pass,
	    enum keys_status *, char *err, size_t errlen);

int	keys_create(const char *path, char *err, size_t errlen);
struct keys *keys_load(const char *path, char *err, size_t errlen);
struct keys *keys_from_master(const unsigned char master[KEYS_LEN]);
void	keys_free(struct keys *);
void	keys_addr_hash(const struct keys *, const char *list, const char *addr,
	    unsigned char out[KEYS_HASH_LEN]);
int	keys_seal(const struct keys *, const void *, size_t, const void *ad, size_t adlen,
	    struct buf *);
int	keys_open(const struct keys *, const void *, size_t, const void *ad, size_t adlen,
	    struct buf *);
int	keys_open_legacy(const struct keys *, const void *, size_t, struct buf *);
int	keys_public_from_text(const char *text, const char *prefix, unsigned char pk[32]);
void	keys_role_seed(const struct keys *, const char *list, unsigned char seed[32]);
void	keys_audit_seed(const struct keys *, const char *list, unsigned char seed[32]);
void	keys_member_ref(const struct keys *, const char *list, long long id,
	    char *out, size_t n);
void	keys_pseudonym_ref(const struct keys *, const char *list,
	    const char *skeleton, char *out, size_t n);
long long keys_expiry_parse(const char *text);
void	keys_expiry_format(long long, char out[11]);
#define KEYS_ONECLICK_LEN	32
void	keys_oneclick_token(const struct keys *, const char *list, long long member_id,
	    char out[KEYS_ONECLICK_LEN + 1]);
long long keys_oneclick_member(const struct keys *, const char *list, const char *token);

#endif
