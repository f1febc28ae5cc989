/* keys.h - the instance master key and the keys derived from it. */
#ifndef MLIST_KEYS_H
#define MLIST_KEYS_H

#include <stddef.h>
#include <sodium.h>

#include "../util/buf.h"

#define KEYS_LEN	32
#define KEYS_HASH_LEN	32

/* All key bytes live in one sodium_malloc'ed, read-only block. */
struct keys {
	unsigned char	spool[KEYS_LEN];	/* secretstream key for spool files */
	unsigned char	field[KEYS_LEN];	/* secretbox key for stored addresses */
	unsigned char	lookup[KEYS_LEN];	/* generichash key for address look-up */
};

int	keys_create(const char *path, char *err, size_t errlen);
struct keys *keys_load(const char *path, char *err, size_t errlen);
struct keys *keys_from_master(const unsigned char master[KEYS_LEN]);
void	keys_free(struct keys *);
void	keys_addr_hash(const struct keys *, const char *list, const char *addr,
	    unsigned char out[KEYS_HASH_LEN]);
int	keys_seal(const struct keys *, const void *, size_t, struct buf *);
int	keys_public_from_text(const char *text, const char *prefix, unsigned char pk[32]);
int	keys_open(const struct keys *, const void *, size_t, struct buf *);
long long keys_expiry_parse(const char *text);
void	keys_expiry_format(long long, char out[11]);
#define KEYS_ONECLICK_LEN	32
void	keys_oneclick_token(const struct keys *, const char *list, long long member_id,
	    char out[KEYS_ONECLICK_LEN + 1]);
long long keys_oneclick_member(const struct keys *, const char *list, const char *token);

#endif
