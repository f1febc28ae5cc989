/*
 * passrand.c - the randomness of one message's passes, drawn once.
 *
 * A message is handled in one transaction; a pass that stops (a parse not
 * ready, a list's later parse, a failure) is rolled back and the message
 * handled again from the start. Its copy was composed anew each time with
 * a fresh Message-ID, MIME boundaries and (anonymous) one-time key, and
 * signed at that pass's second: no two passes made the same bytes, so
 * nothing made for one pass (a signature beside the loop, say) fitted the
 * next (#15). Now a message gets a random seed at its first pass, kept in
 * memory while it is handled; what its passes draw through passrand_buf
 * is derived from it (keyed BLAKE2b of a label and how many of that label
 * the pass drew before), and its signatures carry its first pass's time.
 * The same inputs then make the same copy, byte for byte.
 *
 * Nothing of it is stored: after a restart a message gets a new seed (its
 * earlier passes left nothing). Outside a message's pass (jobs, control
 * actions) passrand_buf is libsodium's randombytes_buf. Randomness that
 * must differ whenever what it protects differs (nonces of encryption)
 * never comes from here. Not derived: what mail/ draws (a new pseudonym's
 * name) and librnp (a new pseudonym's key), so a member's first post on a
 * pseudonymous list may differ between passes.
 */
#include <string.h>

#include <sodium.h>

#include "pipeline/passrand.h"
#include "util/log.h"

#define SEED_LEN	crypto_generichash_KEYBYTES
#define LABELS		8	/* labels one pass draws from */
#define QID_MAX		64
#define SUMS		4	/* copies (lists) one message makes */
#define SAMPLE		(16 * 1024)	/* of a copy, at each end */
#define TIME_MAX	300	/* seconds a pass's time is kept */

/* one message's kept randomness */
struct seed {
	char		 qid[QID_MAX];
	unsigned char	 key[SEED_LEN];
	long long	 time;		/* its signatures' time (0: not yet) */
	struct {
		char		 label[QID_MAX];
		unsigned char	 sum[16];
	}		 sums[SUMS];	/* its passes' copies (passrand_same) */
	unsigned long	 age;		/* when it was last used */
};

static struct seed *seeds;		/* PASSRAND_MAX, sodium_malloc'ed */
static struct seed *cur;		/* the message of the pass under way */
static unsigned long clock_now;
static struct {
	const char	*label;
	unsigned	 n;
} drawn[LABELS];

/* seed_find - qid's kept seed, or a new one in the oldest slot */
static struct seed *
seed_find(const char *qid)
{
	struct seed *old = NULL;

	if (seeds == NULL) {
		if ((seeds = sodium_allocarray(PASSRAND_MAX,
		    sizeof(*seeds))) == NULL)
			return NULL;
		memset(seeds, 0, PASSRAND_MAX * sizeof(*seeds));
	}
	for (int i = 0; i < PASSRAND_MAX; i++) {
		if (seeds[i].qid[0] && strcmp(seeds[i].qid, qid) == 0)
			return &seeds[i];
		if (old == NULL || seeds[i].age < old->age)
			old = &seeds[i];
	}
	sodium_memzero(old, sizeof(*old));
	(void)snprintf(old->qid, sizeof(old->qid), "%s", qid);
	randombytes_buf(old->key, sizeof(old->key));
	return old;
}

/* passrand_begin - a pass over message qid starts: its seed, kept */
void
passrand_begin(const char *qid)
{
	memset(drawn, 0, sizeof(drawn));
	cur = strlen(qid) < QID_MAX ? seed_find(qid) : NULL;
	if (cur)
		cur->age = ++clock_now;
}

/* passrand_end - the pass is over: fresh randomness again */
void
passrand_end(void)
{
	cur = NULL;
	memset(drawn, 0, sizeof(drawn));
}

/* passrand_forget - message qid is finished: its seed is wiped */
void
passrand_forget(const char *qid)
{
	for (int i = 0; seeds && i < PASSRAND_MAX; i++)
		if (seeds[i].qid[0] && strcmp(seeds[i].qid, qid) == 0) {
			if (cur == &seeds[i])
				cur = NULL;
			sodium_memzero(&seeds[i], sizeof(seeds[i]));
		}
}

/* passrand_free_all - every seed wiped (at exit) */
void
passrand_free_all(void)
{
	cur = NULL;
	sodium_free(seeds);	/* sodium_free wipes */
	seeds = NULL;
	clock_now = 0;
}

/* label_count - how many draws of label this pass made before */
static unsigned
label_count(const char *label)
{
	int i;

	for (i = 0; i < LABELS && drawn[i].label; i++)
		if (strcmp(drawn[i].label, label) == 0)
			return drawn[i].n++;
	if (i == LABELS)
		return ~0u;	/* more labels than foreseen: fresh */
	drawn[i].label = label;
	return drawn[i].n++;
}

/*
 * passrand_buf - n random bytes for label (a string naming the use): the
 * same in every pass of the message under way, fresh outside one
 */
void
passrand_buf(const char *label, void *out, size_t n)
{
	crypto_generichash_state st;
	unsigned char ctr[4], blk[64];
	unsigned k = cur ? label_count(label) : ~0u;
	size_t off = 0, m;

	if (k == ~0u) {
		randombytes_buf(out, n);
		return;
	}
	/* blocks of 64 bytes: H(key; label, 0, draw, block) */
	for (unsigned b = 0; off < n; b++, off += m) {
		m = n - off < sizeof(blk) ? n - off : sizeof(blk);
		(void)crypto_generichash_init(&st, cur->key, sizeof(cur->key),
		    sizeof(blk));
		(void)crypto_generichash_update(&st,
		    (const unsigned char *)label, strlen(label) + 1);
		ctr[0] = (unsigned char)(k >> 24);
		ctr[1] = (unsigned char)(k >> 16);
		ctr[2] = (unsigned char)(k >> 8);
		ctr[3] = (unsigned char)k;
		(void)crypto_generichash_update(&st, ctr, sizeof(ctr));
		ctr[0] = (unsigned char)(b >> 24);
		ctr[1] = (unsigned char)(b >> 16);
		ctr[2] = (unsigned char)(b >> 8);
		ctr[3] = (unsigned char)b;
		(void)crypto_generichash_update(&st, ctr, sizeof(ctr));
		(void)crypto_generichash_final(&st, blk, sizeof(blk));
		memcpy((unsigned char *)out + off, blk, m);
	}
	sodium_memzero(blk, sizeof(blk));
	sodium_memzero(&st, sizeof(st));
}

/*
 * passrand_time - the time a copy of the message under way is signed
 * at: now at its first pass that asks, the same in later passes up to
 * TIME_MAX seconds on (a retry much later, after a failure, is signed
 * anew rather than as of long ago)
 */
long long
passrand_time(long long now)
{
	if (cur == NULL)
		return now;
	if (cur->time == 0 || now - cur->time > TIME_MAX || now < cur->time)
		cur->time = now;
	return cur->time;
}

/* copy_sum - a keyed hash of the copy's ends and length into sum */
static void
copy_sum(const char *label, const unsigned char *copy, size_t n,
    unsigned char sum[16])
{
	crypto_generichash_state st;
	unsigned char len[8];
	size_t head = n < SAMPLE ? n : SAMPLE, tail = n - head;

	tail = tail < SAMPLE ? tail : SAMPLE;
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)((unsigned long long)n >> (8 * i));
	/* keyed by the seed: a sum in memory confirms no guess of a copy */
	(void)crypto_generichash_init(&st, cur->key, sizeof(cur->key), 16);
	(void)crypto_generichash_update(&st, (const unsigned char *)label,
	    strlen(label) + 1);
	(void)crypto_generichash_update(&st, len, sizeof(len));
	(void)crypto_generichash_update(&st, copy, head);
	(void)crypto_generichash_update(&st, copy + n - tail, tail);
	(void)crypto_generichash_final(&st, sum, 16);
	sodium_memzero(&st, sizeof(st));
}

/*
 * passrand_same - did the message's pass before make this copy (label's:
 * a list's)? 1 yes, 0 it was different, -1 no pass before made one. What
 * is compared is the copy's length and its first and last 16 KB, where
 * its random parts are (Message-ID, signatures, the boundaries around
 * its parts, a multipart/signed copy's signature): O(1) in its size.
 */
int
passrand_same(const char *label, const void *copy, size_t n)
{
	unsigned char sum[16];
	int i, rc = -1;

	if (cur == NULL || strlen(label) >= QID_MAX)
		return -1;
	copy_sum(label, copy, n, sum);
	for (i = 0; i < SUMS && cur->sums[i].label[0]; i++)
		if (strcmp(cur->sums[i].label, label) == 0)
			break;
	if (i == SUMS)
		return -1;	/* more copies than kept: not compared */
	if (cur->sums[i].label[0])
		rc = sodium_memcmp(sum, cur->sums[i].sum, sizeof(sum)) == 0;
	(void)snprintf(cur->sums[i].label, QID_MAX, "%s", label);
	memcpy(cur->sums[i].sum, sum, sizeof(sum));
	return rc;
}
