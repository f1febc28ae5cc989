/*
 * openpgp_cache.c - members' keys kept loaded and checked across posts.
 *
 * Most of an encrypted copy's cost is librnp parsing the member's key and
 * checking its self-signatures, not encrypting.  Within one post each key
 * is used once, so only keeping keys between posts saves it: this cache
 * holds loaded keys in librnp contexts that live as long as the process
 * (until openpgp_cache_flush, on SIGHUP and at exit).
 *
 * librnp contexts are not thread-safe, so the cache is split in SHARDS
 * (few: every context costs memory), each one context behind its own
 * mutex; a key always goes to the same shard, so each key is held once
 * however many delivery threads there are.  An entry is named by a keyed
 * BLAKE2b of the key's bytes (the hash key is random per process): a
 * changed key is a miss, and the key with the same fingerprint and the old
 * bytes is unloaded before the new bytes load.  The keys are public, but
 * are still never logged; a flush wipes the table.
 *
 * Memory is bounded: a loaded key costs about 28 KiB of librnp memory, so
 * at most cache_max keys are kept (CACHE_MAX, ~7 MiB).  A full shard
 * takes no new key: the copy is made in a spare context that loads the
 * key, encrypts and unloads it - from the key's slim form (no user ID,
 * ~230 bytes, openpgp_slim.c) when one is kept, which loads in about half
 * the time, else from the whole key, whose slim form is then kept.  So on
 * a list larger than the cache the first post loads every key whole and
 * the next ones slim.  One exception: a key whose primary is RSA, DSA or
 * Elgamal (costly: an RSA-3072 key's one verification costs about 0.6 ms
 * of CPU, an Ed25519 one's about 0.1) takes the place of a cheap one in a
 * full shard, so on a list of mixed keys the slots hold the keys that save
 * most; a costly key never pushes out another, so nothing churns, and a
 * cheap key pushed out goes on through the spares.  Evicting instead (the
 * old round robin) made a list
 * larger than the cache miss on every copy, post after post - a fan-out
 * walks the members in the same order each time, so the oldest entry is
 * always the next one wanted - and paid an unload on top, with librnp's
 * heap growing from the churn (10,000 members: 80 MiB).  An entry older
 * than MAX_AGE is unloaded when next looked up (its copy is then a miss),
 * so an expiry is judged again and a slot held by a key no longer used
 * frees up.
 *
 * The process-wide state here is the one exception to "no shared mutable
 * globals": a cache that outlives each delivery run has to be.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "mail/openpgp_int.h"

#define SHARDS		4
#define CACHE_MAX	256	/* keys in all shards: ~28 KiB each in librnp */
#define ID_SIZE		OPENPGP_SLIM_ID
#define MAX_AGE		3600		/* seconds before a key is checked again */
#define SPARES		8	/* contexts for copies to keys not kept */

struct entry {
	unsigned char	 id[ID_SIZE];	/* keyed hash of the key's bytes */
	char		 fpr[OPENPGP_FPR_SIZE];
	rnp_key_handle_t key;		/* its primary key in the shard */
	time_t		 loaded;
	int		 costly;	/* its primary is not elliptic */
};

struct shard {
	pthread_mutex_t	 lock;
	rnp_ffi_t	 ffi;		/* the kept keys */
	struct entry	*e;		/* cap of them, made at first use */
	size_t		 n, cap;
};

/* a context for one copy to a key the cache does not keep */
struct spare {
	pthread_mutex_t	 lock;
	rnp_ffi_t	 ffi;		/* made at first use */
};

/* the locks made at compile time, as the statistics' one */
static struct shard shards[SHARDS] = {
	[0 ... SHARDS - 1] = { .lock = PTHREAD_MUTEX_INITIALIZER }
};
static struct spare spares[SPARES] = {
	[0 ... SPARES - 1] = { .lock = PTHREAD_MUTEX_INITIALIZER }
};
static size_t per_shard = CACHE_MAX / SHARDS;
static unsigned char hash_key[crypto_generichash_KEYBYTES];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct openpgp_cache_stats stats;
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;

/* init - the hash key, once */
static void
init(void)
{
	randombytes_buf(hash_key, sizeof(hash_key));
}

/* count - add to the statistics: a hit, a miss kept, a miss passed on */
static void
count(int hit, int kept)
{
	pthread_mutex_lock(&stats_lock);
	if (hit)
		stats.hits++;
	else
		stats.misses++;
	if (!hit && !kept)
		stats.passed++;
	pthread_mutex_unlock(&stats_lock);
}

/* count_slim - a copy made from a key's slim form */
static void
count_slim(void)
{
	pthread_mutex_lock(&stats_lock);
	stats.slim++;
	pthread_mutex_unlock(&stats_lock);
}

/* costly - 1 if k's primary key is RSA, DSA or Elgamal: slow to check */
static int
costly(const struct openpgp_key *k)
{
	int	 alg = openpgp_key_alg(k->bin.data, k->bin.len);

	return alg >= 1 && alg <= 3 ? 1 : alg == 16 || alg == 17;
}

/* cheap - the index of an entry of s that is not costly, -1 if none */
static long
cheap(const struct shard *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (!s->e[i].costly)
			return (long)i;
	return -1;
}

/* drop - unload entry i of s and close the gap */
static void
drop(struct shard *s, size_t i)
{
	(void)rnp_key_remove(s->e[i].key, RNP_KEY_REMOVE_PUBLIC |
	    RNP_KEY_REMOVE_SUBKEYS);
	(void)rnp_key_handle_destroy(s->e[i].key);
	s->e[i] = s->e[--s->n];
	sodium_memzero(&s->e[s->n], sizeof(s->e[s->n]));
}

/* ready - the shard's contexts and table, made at its first use */
static enum result
ready(struct shard *s)
{
	if (s->e == NULL) {
		pthread_mutex_lock(&stats_lock);
		s->cap = per_shard;
		pthread_mutex_unlock(&stats_lock);
		if ((s->e = calloc(s->cap, sizeof(*s->e))) == NULL)
			return TEMPFAIL;
	}
	if (s->ffi == NULL && openpgp_ffi(&s->ffi) != OK)
		return TEMPFAIL;
	return OK;
}

/*
 * primary - the primary key named in import's JSON (its first key: librnp
 * lists a primary before its subkeys); fresh is 0 if it merged into a key
 * already kept
 */
static enum result
primary(struct shard *s, const char *res, rnp_key_handle_t *key,
    char fpr[OPENPGP_FPR_SIZE], int *fresh)
{
	const char	*f = res ? strstr(res, "\"fingerprint\"") : NULL;
	const char	*q;
	bool		 is_primary = false;
	size_t		 n;

	if (f == NULL || (f = strchr(f + 13, '"')) == NULL ||
	    (q = strchr(++f, '"')) == NULL ||
	    (n = (size_t)(q - f)) != OPENPGP_FPR_SIZE - 1)
		return PERMFAIL;
	memcpy(fpr, f, n);
	fpr[n] = 0;
	*fresh = strstr(res, "\"public\":\"new\"") == strstr(res, "\"public\"");
	if (rnp_locate_key(s->ffi, "fingerprint", fpr, key) != RNP_SUCCESS ||
	    *key == NULL)
		return PERMFAIL;
	if (rnp_key_is_primary(*key, &is_primary) != RNP_SUCCESS ||
	    !is_primary) {
		(void)rnp_key_handle_destroy(*key);
		*key = NULL;
		return PERMFAIL;
	}
	return OK;
}

/* forget - unload the key fpr (key is a handle to it) and its entry */
static void
forget(struct shard *s, rnp_key_handle_t key, const char *fpr)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->e[i].fpr, fpr) == 0)
			break;
	if (i < s->n)
		drop(s, i);	/* unloads it through the entry's handle */
	else
		(void)rnp_key_remove(key, RNP_KEY_REMOVE_PUBLIC |
		    RNP_KEY_REMOVE_SUBKEYS);
	(void)rnp_key_handle_destroy(key);
}

/*
 * insert - load k into s (not full) as a new entry named id; its handle
 * in *key.  The same key with other bytes (a new expiry, a new subkey)
 * merges into the one kept: then both go and the new bytes load alone, so
 * a copy uses exactly the key the store holds now.
 */
static enum result
insert(struct shard *s, const struct openpgp_key *k, const unsigned char *id,
    rnp_key_handle_t *key, char *why, size_t whylen)
{
	char		 fpr[OPENPGP_FPR_SIZE];
	struct entry	*e;
	enum result	 r;
	char		*res;
	int		 fresh = 1;

	for (int tries = 0; tries < 2; tries++) {
		r = openpgp_member_key(s->ffi, k, &res, why, whylen);
		if (r != OK)
			return r;
		r = primary(s, res, key, fpr, &fresh);
		rnp_buffer_destroy(res);
		if (r != OK) {
			WHY(why, whylen, "member key holds no single primary "
			    "key");
			return PERMFAIL;
		}
		if (fresh)
			break;
		forget(s, *key, fpr);
		*key = NULL;
	}
	if (!fresh) {
		WHY(why, whylen, "member key did not load alone");
		return TEMPFAIL;
	}
	e = &s->e[s->n++];
	memcpy(e->id, id, ID_SIZE);
	memcpy(e->fpr, fpr, OPENPGP_FPR_SIZE);
	e->key = *key;
	e->loaded = time(NULL);
	e->costly = costly(k);
	return OK;
}

/* find - the kept handle for id in s, NULL if none or too old */
static rnp_key_handle_t
find(struct shard *s, const unsigned char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(s->e[i].id, id, ID_SIZE) == 0) {
			if (time(NULL) - s->e[i].loaded <= MAX_AGE)
				return s->e[i].key;
			drop(s, i);
			return NULL;
		}
	return NULL;
}

/*
 * spare_copy - one copy of p to the key in key's bytes, loaded in ffi for
 * it alone; with slim, also that key's slim form and its valid-till
 */
static enum result
spare_copy(rnp_ffi_t ffi, const struct openpgp_post *p, const struct buf *key,
    struct buf *slim, uint64_t *till, struct buf *out, char *why,
    size_t whylen)
{
	rnp_key_handle_t h = NULL;
	rnp_input_t	 in;
	rnp_result_t	 rc;
	enum result	 r;

	if (rnp_input_from_memory(&in, key->data, key->len, false)
	    != RNP_SUCCESS) {
		WHY(why, whylen, "no memory for the member key");
		return TEMPFAIL;
	}
	rc = rnp_load_keys(ffi, "GPG", in, RNP_LOAD_SAVE_PUBLIC_KEYS);
	(void)rnp_input_destroy(in);
	if (rc != RNP_SUCCESS) {
		WHY(why, whylen, "member key did not load (%s)",
		    rnp_result_to_string(rc));
		r = PERMFAIL;
	} else if (openpgp_locate(ffi, NULL, &h) != OK) {
		WHY(why, whylen, "member key holds no single primary key");
		r = PERMFAIL;
	} else
		r = openpgp_encrypt_to(ffi, p, h, out, why, whylen);
	/* best effort: without it, the next copy loads the whole key */
	if (r == OK && slim != NULL && openpgp_slim_make(h, slim, till) < 0)
		buf_reset(slim);
	(void)rnp_key_handle_destroy(h);
	/* one member's key in the context at a time: memory stays flat */
	(void)rnp_unload_keys(ffi, RNP_KEY_UNLOAD_PUBLIC);
	return r;
}

/*
 * spare_encrypt - one copy of p for the holder of k in a spare context:
 * from the key's slim form when one is kept (openpgp_slim.c), else from
 * the whole key, whose slim form is then kept.  Any free spare will do;
 * when all are busy, wait for the one id names.
 */
static enum result
spare_encrypt(const struct openpgp_post *p, const struct openpgp_key *k,
    const unsigned char *id, struct buf *out, char *why, size_t whylen)
{
	struct spare	*sp = NULL;
	struct buf	 slim;
	uint64_t	 till = 0;
	enum result	 r = TEMPFAIL;
	int		 have;

	buf_init(&slim, 0);
	have = openpgp_slim_get(id, &slim);
	for (int i = 0; i < SPARES && sp == NULL; i++)
		if (pthread_mutex_trylock(&spares[i].lock) == 0)
			sp = &spares[i];
	if (sp == NULL) {
		sp = &spares[id[1] % SPARES];
		pthread_mutex_lock(&sp->lock);
	}
	if (sp->ffi == NULL && openpgp_ffi(&sp->ffi) != OK)
		WHY(why, whylen, "librnp context failed");
	else if (have && (r = spare_copy(sp->ffi, p, &slim, NULL, NULL, out,
	    why, whylen)) == OK)
		count_slim();
	else {
		buf_reset(&slim);
		r = spare_copy(sp->ffi, p, &k->bin, &slim, &till, out, why,
		    whylen);
		have = 0;
	}
	pthread_mutex_unlock(&sp->lock);
	if (r == OK && !have)
		openpgp_slim_put(id, &slim, till);
	buf_free(&slim);
	return r;
}

/*
 * openpgp_cached_encrypt - one armoured copy of p for the holder of k, with
 * k's key kept loaded for the next post while the cache has room
 */
enum result
openpgp_cached_encrypt(const struct openpgp_post *p,
    const struct openpgp_key *k, struct buf *out, char *why, size_t whylen)
{
	unsigned char	 id[ID_SIZE];
	rnp_key_handle_t key;
	struct shard	*s;
	enum result	 r;
	long		 c = -1;	/* a cheap entry to make room */

	if (pthread_once(&once, init) != 0) {
		WHY(why, whylen, "key cache did not start");
		return TEMPFAIL;
	}
	if (k->bin.len == 0) {
		WHY(why, whylen, "no member key");
		return PERMFAIL;
	}
	(void)crypto_generichash(id, sizeof(id), k->bin.data, k->bin.len,
	    hash_key, sizeof(hash_key));
	s = &shards[id[0] % SHARDS];
	pthread_mutex_lock(&s->lock);
	if ((r = ready(s)) != OK)
		WHY(why, whylen, "no memory for the key cache");
	else if ((key = find(s, id)) != NULL)
		count(1, 1);
	else if (s->n < s->cap || (costly(k) && (c = cheap(s)) >= 0)) {
		if (c >= 0)
			drop(s, (size_t)c);
		count(0, 1);
		r = insert(s, k, id, &key, why, whylen);
	} else {
		/* full: this key is not kept, and nothing kept goes for it */
		pthread_mutex_unlock(&s->lock);
		count(0, 0);
		return spare_encrypt(p, k, id, out, why, whylen);
	}
	if (r == OK)
		r = openpgp_encrypt_to(s->ffi, p, key, out, why, whylen);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/*
 * openpgp_cache_max - keep at most max keys from now on (at least one a
 * shard; the default is CACHE_MAX); flushes the cache
 */
void
openpgp_cache_max(size_t max)
{
	openpgp_cache_flush();
	pthread_mutex_lock(&stats_lock);
	per_shard = max / SHARDS > 0 ? max / SHARDS : 1;
	pthread_mutex_unlock(&stats_lock);
}

/* openpgp_cache_flush - unload every kept key and free the contexts */
void
openpgp_cache_flush(void)
{
	if (pthread_once(&once, init) != 0)
		return;
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &shards[i];

		pthread_mutex_lock(&s->lock);
		while (s->n > 0)
			drop(s, s->n - 1);
		free(s->e);
		s->e = NULL;
		if (s->ffi != NULL)
			(void)rnp_ffi_destroy(s->ffi);
		s->ffi = NULL;
		pthread_mutex_unlock(&s->lock);
	}
	for (int i = 0; i < SPARES; i++) {
		pthread_mutex_lock(&spares[i].lock);
		if (spares[i].ffi != NULL)
			(void)rnp_ffi_destroy(spares[i].ffi);
		spares[i].ffi = NULL;
		pthread_mutex_unlock(&spares[i].lock);
	}
	openpgp_slim_flush();
	pthread_mutex_lock(&stats_lock);
	stats.flushes++;
	pthread_mutex_unlock(&stats_lock);
}

/* openpgp_cache_stats - hits, misses (passed: not kept) and flushes so far */
void
openpgp_cache_stats(struct openpgp_cache_stats *out)
{
	pthread_mutex_lock(&stats_lock);
	*out = stats;
	pthread_mutex_unlock(&stats_lock);
}
