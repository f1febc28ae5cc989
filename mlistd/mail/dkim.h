/* dkim.h - DKIM signatures (RFC 6376) with Ed25519-SHA256 (RFC 8463), relaxed/relaxed. */
#ifndef MLIST_DKIM_H
#define MLIST_DKIM_H

#include <stddef.h>
#include <sodium.h>

#include "../util/buf.h"

#define DKIM_SEED_LEN	crypto_sign_SEEDBYTES
#define DKIM_PK_LEN	crypto_sign_PUBLICKEYBYTES
#define DKIM_SK_LEN	crypto_sign_SECRETKEYBYTES	/* seed, public key */

int	dkim_sign(const unsigned char seed[DKIM_SEED_LEN], const char *domain, const char *selector,
	    long long t, const char *msg, size_t len, struct buf *header);
int	dkim_sign_bh(const unsigned char seed[DKIM_SEED_LEN],
	    const char *domain, const char *selector, long long t,
	    const char *msg, size_t len,
	    const unsigned char *body_hash, struct buf *header);
void	dkim_expand(unsigned char key[DKIM_SK_LEN]);
int	dkim_sign_sk(const unsigned char sk[DKIM_SK_LEN],
	    const char *domain, const char *selector, long long t,
	    const char *msg, size_t len,
	    const unsigned char *body_hash, struct buf *header);
int	dkim_verify(const char *msg, size_t len, const unsigned char pk[DKIM_PK_LEN], char *why, size_t);
void	dkim_canon_value(const char *v, size_t n, struct buf *out);
void	dkim_canon_body(const char *body, size_t len, struct buf *out);
void	dkim_body_hash(const char *body, size_t len, unsigned char out[crypto_hash_sha256_BYTES]);
int	dkim_info(const char *msg, size_t len, char *domain, size_t, char *selector, size_t);
void	dkim_dns_record(const unsigned char pk[DKIM_PK_LEN], struct buf *out);

#endif
