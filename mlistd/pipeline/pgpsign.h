/* pgpsign.h - RFC 3156 multipart/signed: pseudonymous copies, key answers. */
#ifndef MLIST_PGPSIGN_H
#define MLIST_PGPSIGN_H

#include "mail/openpgp.h"
#include "pipeline/pipeline.h"
#include "util/buf.h"

/* who signs a copy, and whose key its Autocrypt header carries */
struct pgpsign_keys {
	const struct openpgp_secret *signer;
	const struct openpgp_secret *also;	/* a second signer, or NULL */
	const struct openpgp_secret *autocrypt;	/* NULL: the signer's */
};

enum result pgpsign_wrap_keys(const struct pgpsign_keys *, const char *addr,
	    long long date, struct buf *msg, char *why, size_t whylen);
enum result pgpsign_wrap(const struct openpgp_secret *, const char *addr,
	    long long date, struct buf *msg, char *why, size_t whylen);
int	pgpsign_list(struct pipeline *, const struct list_cfg *, struct buf *);
int	pgpsign_unwrap(const void *, size_t, long long date, struct buf *);

#endif
