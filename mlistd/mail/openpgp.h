/* openpgp.h - OpenPGP over librnp: the list's key, members' keys, copies. */
#ifndef MLIST_OPENPGP_H
#define MLIST_OPENPGP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mail/result.h"
#include "util/buf.h"

#define OPENPGP_FPR_SIZE	41	/* v4 fingerprint, 40 hex digits + NUL */
#define OPENPGP_WHY_SIZE	160	/* room for a refusal's reason */
#define OPENPGP_BUCKET_MIN	4096	/* smallest padded size (bytes) */
#define OPENPGP_REPLAY_SIZE	32	/* replay id: BLAKE2b-256 */
/* the most a decrypted message may be (a compression bomb stops there) */
#define OPENPGP_PLAIN_MAX	(32u * 1024 * 1024)

/*
 * The list's transferable secret key (binary, unprotected) in sodium_malloc'ed
 * memory.  Opaque to callers: they seal it under the master key and hand it back.
 */
struct openpgp_secret {
	unsigned char	*data;
	size_t		 len;
};

/* A public key reduced to what the list keeps (one UID, self-signatures). */
struct openpgp_key {
	struct buf	 bin;		/* binary transferable public key */
	char		 fpr[OPENPGP_FPR_SIZE];
	time_t		 expires;	/* 0: never */
	char		 alg[16];	/* encryption key's algorithm, e.g. ECDH */
	uint32_t	 bits;
};

enum openpgp_format {
	OPENPGP_ANY,		/* armoured or binary, whichever it is */
	OPENPGP_ARMOR,
	OPENPGP_BINARY,
	OPENPGP_AUTOCRYPT	/* the base64 of an Autocrypt keydata= */
};

/* One post signed by the list: the packets every copy encrypts. */
struct openpgp_post {
	struct buf	 packets;	/* one-pass sig, literal, signature */
	uint32_t	 created;	/* the signature's creation time */
	size_t		 bucket;	/* packets.len: the padded size */
};

/* What a decryption or verification found. */
struct openpgp_plain {
	struct buf	 data;		/* the decrypted (or verified) content */
	int		 encrypted;	/* 1: had an encryption layer */
	int		 sigs;		/* signatures seen */
	int		 verified;	/* 1: a valid signature by the given key */
	int		 not_ours;	/* undecrypted: no PKESK to us */
	uint32_t	 sig_created;
	unsigned char	 replay[OPENPGP_REPLAY_SIZE];	/* set when verified */
};

struct openpgp_enc;

/* list key (openpgp.c) */
enum result openpgp_list_generate(const char *, const char *, uint32_t,
	    struct openpgp_secret **, char *, size_t);
enum result openpgp_list_rotate(const struct openpgp_secret *, uint32_t,
	    struct openpgp_secret **, char *, size_t);
enum result openpgp_list_public(const struct openpgp_secret *, int,
	    struct buf *, char *, size_t);
enum result openpgp_list_fingerprint(const struct openpgp_secret *,
	    char [OPENPGP_FPR_SIZE]);
enum result openpgp_secret_load(const void *, size_t,
	    struct openpgp_secret **);
void	openpgp_secret_free(struct openpgp_secret *);

/* member keys (openpgp_key.c) */
enum result openpgp_key_import(const void *, size_t, enum openpgp_format,
	    struct openpgp_key *, char *, size_t);
enum result openpgp_key_export(const struct openpgp_key *, int, struct buf *);
void	openpgp_key_free(struct openpgp_key *);

/* copies out (openpgp_out.c) */
enum result openpgp_pad_entity(const void *, size_t, size_t, struct buf *,
	    char *, size_t);
enum result openpgp_post_sign(const struct openpgp_secret *, const void *,
	    size_t, uint32_t, size_t, struct openpgp_post *, char *, size_t);
void	openpgp_post_free(struct openpgp_post *);
enum result openpgp_enc_new(struct openpgp_enc **);
void	openpgp_enc_free(struct openpgp_enc *);
enum result openpgp_copy_encrypt(struct openpgp_enc *,
	    const struct openpgp_post *, const struct openpgp_key *,
	    struct buf *, char *, size_t);
enum result openpgp_mime_wrap(const struct buf *, struct buf *, struct buf *);

/*
 * Fan-out: encrypt one post to n keys with nthreads threads; emit is called
 * from the worker threads (never twice at once for the same i, possibly at
 * once for different i) with the armoured copy, which it must copy to keep.
 */
typedef enum result (*openpgp_emit_fn)(void *, size_t, const struct buf *);
enum result openpgp_fanout(const struct openpgp_post *,
	    const struct openpgp_key *, size_t, int, openpgp_emit_fn, void *,
	    size_t *);

/* members' keys kept loaded across posts (openpgp_cache.c) */
struct openpgp_cache_stats {
	unsigned long long hits, misses, flushes;
	unsigned long long passed;	/* misses not kept (cache full) */
	unsigned long long slim;	/* of those, made from a slim form */
};
enum result openpgp_cached_encrypt(const struct openpgp_post *,
	    const struct openpgp_key *, struct buf *, char *, size_t);
void	openpgp_cache_flush(void);
void	openpgp_cache_max(size_t);
void	openpgp_cache_stats(struct openpgp_cache_stats *);

/* posts in (openpgp_in.c) */
enum result openpgp_payload_find(const void *, size_t, struct buf *,
	    const char **);
enum result openpgp_decrypt(const struct openpgp_secret *,
	    const struct openpgp_key *, const void *, size_t,
	    struct openpgp_plain *, char *, size_t);
enum result openpgp_verify_detached(const struct openpgp_key *, const void *,
	    size_t, const void *, size_t, struct openpgp_plain *, char *,
	    size_t);
enum result openpgp_verify_cleartext(const struct openpgp_key *, const void *,
	    size_t, struct openpgp_plain *, char *, size_t);
void	openpgp_plain_free(struct openpgp_plain *);

#endif
