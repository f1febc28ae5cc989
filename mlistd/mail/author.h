/* author.h - the author signature: which key wrote this post, for this list, unaltered. */
#ifndef MLIST_AUTHOR_H
#define MLIST_AUTHOR_H

#include <stddef.h>

#include "dkim.h"

#define AUTHOR_FIELD	"Mlist-Author-Signature"

/* what the list states an author is (w=), beside the name shown (n=) */
#define AUTHOR_KIND_PSEUDONYM	"pseudonym"
#define AUTHOR_KIND_ANONYMOUS	"anonymous"
#define AUTHOR_KIND_ROLE	"role"
#define AUTHOR_NAME_MAX		400	/* bytes of n= kept */

/* why a signature does not count: author_verify returns minus one of these */
enum author_fail {
	AUTHOR_ERROR = 1,	/* out of memory: nothing was checked */
	AUTHOR_NONE,		/* no author signature */
	AUTHOR_MALFORMED,	/* its tags do not parse */
	AUTHOR_ENCODING,	/* its key or signature: bad base64 */
	AUTHOR_OTHER_LIST,	/* made for another list (listid) */
	AUTHOR_BODY_CHANGED,	/* the body hash differs */
	AUTHOR_HEADERS_CHANGED	/* Subject, Date or Message-ID changed */
};

int	author_sign(const unsigned char seed[DKIM_SEED_LEN], const char *lid, long long t, const char *msg,
	    size_t len, struct buf *header);
int	author_sign_bh(const unsigned char seed[DKIM_SEED_LEN], const char *lid,
	    long long t, const char *msg, size_t len,
	    const unsigned char *body_hash, struct buf *header);
int	author_sign_as(const unsigned char seed[DKIM_SEED_LEN],
	    const char *lid, long long t, const char *msg, size_t len,
	    const unsigned char *body_hash, const char *kind, const char *name,
	    struct buf *header);
int	author_claim(const char *msg, size_t len, char *kind, size_t,
	    char *name, size_t);
int	author_verify(const char *msg, size_t len, const char *expect, unsigned char pk[DKIM_PK_LEN],
	    char *listid, size_t, char *why, size_t);
int	author_signature_id(const char *msg, size_t len, char *out, size_t n);
void	author_fingerprint(const unsigned char pk[DKIM_PK_LEN], char *out, size_t);

#endif
