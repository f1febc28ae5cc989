/*
 * pgpcopy.h - a member's encrypted copy: the plain copy signed once per
 * post by the list's OpenPGP key, encrypted to the member, in PGP/MIME.
 */
#ifndef MLIST_PGPCOPY_H
#define MLIST_PGPCOPY_H

#include "mail/openpgp.h"
#include "mail/result.h"
#include "util/buf.h"

/* what every encrypted copy of one post shares */
struct pgpcopy_post {
	struct openpgp_post signed_;	/* the signed, padded packets */
	struct buf	 autocrypt;	/* "Autocrypt: ..." header, CRLF */
	struct buf	 head;		/* the outer header but Content-Type */
	char		 from[320];	/* outer From: the signer key's UID address */
	char		 host[256];	/* the list's host: the outer ids' */
	unsigned char	 idkey[32];	/* keys the outer ids' hash */
};

/* the instance secret the outer ids come from */
#define PGPCOPY_SEED_LEN	32

/*
 * the signer: the list's key, or a pseudonym's for its posts (from then is
 * the pseudonym's address, the outer From and the Autocrypt's addr; NULL:
 * the list's LIST@host); idseed (PGPCOPY_SEED_LEN bytes, an instance
 * secret; NULL: random) keys the outer thread ids
 */
enum result pgpcopy_prepare(const struct openpgp_secret *sign_key,
	    const char *from, const char *list, const char *host,
	    const unsigned char *idseed, const void *raw, size_t len,
	    size_t bucket_min, long long now, struct pgpcopy_post *,
	    char *why, size_t whylen);
/* the outer Message-ID of the copies of a copy with Message-ID id */
int	pgpcopy_outer_msgid(const char *list, const char *host,
	    const unsigned char *idseed, const char *id, char *out, size_t n);
void	pgpcopy_post_free(struct pgpcopy_post *);
long long pgpcopy_date(const void *raw, size_t len);

/*
 * one copy for the holder of key (binary, as the store keeps it): the
 * outer message without its DKIM signature (the caller signs it)
 */
enum result pgpcopy_make(const struct pgpcopy_post *, const struct buf *key,
	    struct buf *out, char *why, size_t whylen);

#endif
