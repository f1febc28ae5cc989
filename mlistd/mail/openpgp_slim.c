/*
 * openpgp_slim.c - members' keys kept as their slim form: without user IDs.
 *
 * Loading a member's key into librnp checks every self-signature: the user
 * ID's certification and the subkey's binding, two Ed25519 verifications,
 * about half a copy's cost.  librnp takes a key without user ID as valid
 * when a subkey binding is, and such a key loads in about half the time:
 * one verification (a copy from it: 0.31-0.42 ms of CPU against 0.54-0.55
 * from the whole key and 0.19-0.21 from a key kept loaded, at load 17-21).
 * The slim form never leaves this process, so no other implementation has
 * to accept a key without user ID.
 * Encryption needs nothing of the user ID - the cipher, AEAD and
 * compression are set for every copy, not taken from its preferences.
 *
 * So after a key was loaded whole and checked, librnp removes its user IDs
 * (rnp_uid_remove) and exports the rest (primary, subkeys, their binding
 * and revocation signatures: ~230 bytes for Ed25519 + cv25519), kept here
 * by the keyed hash of the whole key's bytes.  A later copy to the same
 * bytes loads the slim form instead; librnp still checks its binding
 * signature and expiry.  What the user ID's certification alone carried
 * is kept beside it: the primary key's expiry (the valid-till librnp
 * computed from the whole key), after which the slim form is not used.  A
 * form older than SLIM_AGE is not used either, so the whole key is checked
 * again at least hourly, as the loaded-key cache does.
 *
 * Bounded: SLIM_MAX forms a shard and SLIM_BYTES of them (10,000 cv25519
 * keys take ~2.5 MiB, 10,000 RSA-3072 ~12 MiB: then only the first ~6,500
 * are kept), then no new ones; a flush forgets all.
 * Public key material only, never logged, in memory only.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "mail/openpgp_int.h"

#define SLIM_SHARDS	4
#define SLIM_SLOTS	8192	/* per shard, a power of two */
#define SLIM_MAX	(SLIM_SLOTS / 4 * 3)	/* forms a shard takes */
#define SLIM_AGE	3600	/* seconds before the whole key is checked */
#define SLIM_LEN	4096	/* a larger slim form is not kept */
#define SLIM_BYTES	(2u << 20)	/* a shard's forms, RSA-3072 ~1.2 KiB */

struct slim {
	unsigned char	 id[OPENPGP_SLIM_ID];
	unsigned char	*bytes;		/* NULL: a free slot */
	size_t		 len;
	time_t		 made;
	uint64_t	 till;		/* the primary key is valid until */
};

struct slim_shard {
	pthread_mutex_t	 lock;
	struct slim	*slot;		/* SLIM_SLOTS, made at first use */
	size_t		 n, bytes;
};

/* the locks made at compile time: no first use can race their making */
static struct slim_shard slims[SLIM_SHARDS] = {
	[0 ... SLIM_SHARDS - 1] = { .lock = PTHREAD_MUTEX_INITIALIZER }
};

/* shard_of - the shard an id goes to */
static struct slim_shard *
shard_of(const unsigned char *id)
{
	return &slims[id[2] % SLIM_SHARDS];
}

/* probe - the slot of id in s, or the free slot where it would go */
static struct slim *
probe(struct slim_shard *s, const unsigned char *id)
{
	size_t	 h;

	memcpy(&h, id + 4, sizeof(h));	/* a keyed hash: already uniform */
	for (size_t i = 0; i < SLIM_SLOTS; i++) {
		struct slim *e = &s->slot[(h + i) & (SLIM_SLOTS - 1)];

		if (e->bytes == NULL ||
		    memcmp(e->id, id, OPENPGP_SLIM_ID) == 0)
			return e;
	}
	return NULL;	/* not reached: a shard is never full */
}

/*
 * openpgp_slim_get - the slim form kept for the key named id into out: 1,
 * or 0 if there is none still usable (too old, past its primary's expiry)
 */
int
openpgp_slim_get(const unsigned char *id, struct buf *out)
{
	struct slim_shard *s;
	struct slim	*e;
	time_t		 now = time(NULL);
	int		 rc = 0;

	s = shard_of(id);
	pthread_mutex_lock(&s->lock);
	if (s->slot != NULL && (e = probe(s, id)) != NULL &&
	    e->bytes != NULL && now - e->made <= SLIM_AGE &&
	    (uint64_t)now < e->till)
		rc = buf_append(out, e->bytes, e->len) == 0;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* openpgp_slim_put - keep slim as the slim form of the key named id */
void
openpgp_slim_put(const unsigned char *id, const struct buf *slim,
    uint64_t till)
{
	struct slim_shard *s;
	struct slim	*e;
	unsigned char	*b;

	if (slim->len == 0 || slim->len > SLIM_LEN ||
	    (b = malloc(slim->len)) == NULL)
		return;
	memcpy(b, slim->data, slim->len);
	s = shard_of(id);
	pthread_mutex_lock(&s->lock);
	if (s->slot == NULL)
		s->slot = calloc(SLIM_SLOTS, sizeof(*s->slot));
	if (s->slot == NULL || (e = probe(s, id)) == NULL ||
	    (e->bytes == NULL && s->n >= SLIM_MAX) ||
	    s->bytes - e->len + slim->len > SLIM_BYTES) {
		pthread_mutex_unlock(&s->lock);
		free(b);
		return;
	}
	if (e->bytes == NULL)
		s->n++;
	s->bytes += slim->len - e->len;	/* e->len is 0 for a free slot */
	free(e->bytes);		/* a form too old to use: made again */
	memcpy(e->id, id, OPENPGP_SLIM_ID);
	e->bytes = b;
	e->len = slim->len;
	e->made = time(NULL);
	e->till = till;
	pthread_mutex_unlock(&s->lock);
}

/*
 * openpgp_slim_make - the slim form of key (a primary key, loaded whole
 * and checked in its context) into slim, and the time it is valid until;
 * removes key's user IDs from that context.  0, or -1 if the key is not
 * valid now or librnp refuses.
 */
int
openpgp_slim_make(rnp_key_handle_t key, struct buf *slim, uint64_t *till)
{
	rnp_uid_handle_t uid;
	rnp_output_t	 o;
	size_t		 n;
	int		 rc = -1;

	if (rnp_key_valid_till64(key, till) != RNP_SUCCESS ||
	    *till <= (uint64_t)time(NULL) ||
	    rnp_key_get_uid_count(key, &n) != RNP_SUCCESS)
		return -1;
	for (; n > 0; n--) {
		if (rnp_key_get_uid_handle_at(key, 0, &uid) != RNP_SUCCESS)
			return -1;
		rc = rnp_uid_remove(key, uid) == RNP_SUCCESS ? 0 : -1;
		(void)rnp_uid_handle_destroy(uid);
		if (rc < 0)
			return -1;
	}
	if (rnp_output_to_memory(&o, 0) != RNP_SUCCESS)
		return -1;
	rc = rnp_key_export(key, o, RNP_KEY_EXPORT_PUBLIC |
	    RNP_KEY_EXPORT_SUBKEYS) == RNP_SUCCESS &&
	    openpgp_out_take(o, slim) == 0 ? 0 : -1;
	(void)rnp_output_destroy(o);
	return rc;
}

/* openpgp_slim_flush - forget every slim form */
void
openpgp_slim_flush(void)
{
	for (int i = 0; i < SLIM_SHARDS; i++) {
		struct slim_shard *s = &slims[i];

		pthread_mutex_lock(&s->lock);
		for (size_t j = 0; s->slot != NULL && j < SLIM_SLOTS; j++)
			free(s->slot[j].bytes);
		free(s->slot);
		s->slot = NULL;
		s->n = 0;
		s->bytes = 0;
		pthread_mutex_unlock(&s->lock);
	}
}
