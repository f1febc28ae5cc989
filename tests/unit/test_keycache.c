/*
 * test_keycache.c - members' keys kept loaded across posts: the second
 * copy to a key is a hit, a changed key (same fingerprint, other bytes) is a
 * miss and its copy goes to the new subkey, a flush forgets, threads share
 * the cache, and a full cache keeps what it has: further keys' copies are
 * made (and open) without evicting a kept key, from the second post on from
 * the key's slim form - except that an RSA key takes a cheap key's place.
 */
#include "testutil.h"
#include <pthread.h>
#include <rnp/rnp.h>
#include <rnp/rnp_err.h>
#include <sodium.h>

#include "../../mlistd/mail/openpgp.h"

static char why[OPENPGP_WHY_SIZE];

#define ENTITY "Content-Type: text/plain\r\n\r\nMeet at six.\r\n"

/* member - a key pair standing in for a member's: the list's own kind */
static void
member(struct openpgp_secret **s, struct openpgp_key *k)
{
	struct buf pub;

	ck_assert_int_eq(openpgp_list_generate("m", "example.net", 1700000000,
	    s, why, sizeof(why)), OK);
	buf_init(&pub, 0);
	ck_assert_int_eq(openpgp_list_public(*s, 0, &pub, why, sizeof(why)),
	    OK);
	ck_assert_int_eq(openpgp_key_import(pub.data, pub.len, OPENPGP_BINARY,
	    k, why, sizeof(why)), OK);
	buf_free(&pub);
	k->fpr[0] = 0;	/* as the store hands it: bytes only */
}

/* opens - does copy c open with secret s? */
static int
opens(const struct openpgp_secret *s, const struct buf *c)
{
	struct openpgp_plain pl;
	char w[OPENPGP_WHY_SIZE];
	enum result r;

	memset(&pl, 0, sizeof(pl));
	r = openpgp_decrypt(s, NULL, c->data, c->len, &pl, w, sizeof(w));
	if (r == OK && memmem(pl.data.data, pl.data.len, "Meet at six.", 12)
	    == NULL)
		r = PERMFAIL;
	openpgp_plain_free(&pl);
	return r == OK;
}

/* copy - one copy of p to k through the cache, checked to open with s */
static void
copy(const struct openpgp_post *p, const struct openpgp_key *k,
    const struct openpgp_secret *s)
{
	struct buf out;

	buf_init(&out, 0);
	ck_assert_int_eq(openpgp_cached_encrypt(p, k, &out, why, sizeof(why)),
	    OK);
	ck_assert(opens(s, &out));
	buf_free(&out);
}

START_TEST(second_copy_hits_changed_key_misses)
{
	struct openpgp_secret *list, *s, *s2;
	struct openpgp_key k, k2;
	struct openpgp_post p;
	struct openpgp_cache_stats a, b;
	struct buf pub, out;

	ck_assert_int_eq(openpgp_list_generate("l", "example.org", 1700000000,
	    &list, why, sizeof(why)), OK);
	ck_assert_int_eq(openpgp_post_sign(list, ENTITY, strlen(ENTITY),
	    1700000100, OPENPGP_BUCKET_MIN, &p, why, sizeof(why)), OK);
	member(&s, &k);
	openpgp_cache_stats(&a);
	copy(&p, &k, s);
	copy(&p, &k, s);
	openpgp_cache_stats(&b);
	ck_assert_uint_eq(b.misses - a.misses, 1);
	ck_assert_uint_eq(b.hits - a.hits, 1);
	/* the member rotates: same primary key, new encryption subkey */
	ck_assert_int_eq(openpgp_list_rotate(s, 1700001000, &s2, why,
	    sizeof(why)), OK);
	buf_init(&pub, 0);
	ck_assert_int_eq(openpgp_list_public(s2, 0, &pub, why, sizeof(why)),
	    OK);
	ck_assert_int_eq(openpgp_key_import(pub.data, pub.len, OPENPGP_BINARY,
	    &k2, why, sizeof(why)), OK);
	k2.fpr[0] = 0;
	buf_init(&out, 0);
	ck_assert_int_eq(openpgp_cached_encrypt(&p, &k2, &out, why,
	    sizeof(why)), OK);
	openpgp_cache_stats(&a);
	ck_assert_uint_eq(a.misses - b.misses, 1);
	/* the old secret, which lacks the new subkey, cannot open it */
	ck_assert(!opens(s, &out));
	ck_assert(opens(s2, &out));
	buf_free(&out);
	/* a flush forgets every key */
	openpgp_cache_flush();
	copy(&p, &k2, s2);
	openpgp_cache_stats(&b);
	ck_assert_uint_eq(b.misses - a.misses, 1);
	ck_assert_uint_eq(b.flushes - a.flushes, 1);
	openpgp_cache_flush();
	buf_free(&pub);
	openpgp_post_free(&p);
	openpgp_key_free(&k);
	openpgp_key_free(&k2);
	openpgp_secret_free(s);
	openpgp_secret_free(s2);
	openpgp_secret_free(list);
}
END_TEST

START_TEST(bad_key_fails_its_copy_only)
{
	struct openpgp_secret *list;
	struct openpgp_post p;
	struct openpgp_key bad;
	struct buf out;

	ck_assert_int_eq(openpgp_list_generate("l", "example.org", 1700000000,
	    &list, why, sizeof(why)), OK);
	ck_assert_int_eq(openpgp_post_sign(list, ENTITY, strlen(ENTITY),
	    1700000100, OPENPGP_BUCKET_MIN, &p, why, sizeof(why)), OK);
	memset(&bad, 0, sizeof(bad));
	buf_init(&bad.bin, 0);
	ck_assert_int_eq(buf_puts(&bad.bin, "not a key at all"), 0);
	buf_init(&out, 0);
	ck_assert_int_eq(openpgp_cached_encrypt(&p, &bad, &out, why,
	    sizeof(why)), PERMFAIL);
	ck_assert_int_eq(openpgp_cached_encrypt(&p, &bad, &out, why,
	    sizeof(why)), PERMFAIL);
	buf_free(&out);
	buf_free(&bad.bin);
	openpgp_post_free(&p);
	openpgp_secret_free(list);
	openpgp_cache_flush();
}
END_TEST

#define NKEYS	3
#define NTHR	4
#define ROUNDS	12

struct shared {
	struct openpgp_post p;
	struct openpgp_key k[NKEYS];
	struct openpgp_secret *s[NKEYS];
	int ok;
	pthread_mutex_t lock;
};

/* hammer - thread: copies to every key, each opened */
static void *
hammer(void *v)
{
	struct shared *sh = v;
	char w[OPENPGP_WHY_SIZE];
	struct buf out;
	int good = 0;

	buf_init(&out, 0);
	for (int i = 0; i < ROUNDS * NKEYS; i++) {
		buf_reset(&out);
		if (openpgp_cached_encrypt(&sh->p, &sh->k[i % NKEYS], &out, w,
		    sizeof(w)) == OK && opens(sh->s[i % NKEYS], &out))
			good++;
	}
	buf_free(&out);
	pthread_mutex_lock(&sh->lock);
	sh->ok += good;
	pthread_mutex_unlock(&sh->lock);
	return NULL;
}

START_TEST(threads_share_the_cache)
{
	static struct shared sh;
	struct openpgp_secret *list;
	struct openpgp_cache_stats a, b;
	pthread_t t[NTHR];

	pthread_mutex_init(&sh.lock, NULL);
	ck_assert_int_eq(openpgp_list_generate("l", "example.org", 1700000000,
	    &list, why, sizeof(why)), OK);
	ck_assert_int_eq(openpgp_post_sign(list, ENTITY, strlen(ENTITY),
	    1700000100, OPENPGP_BUCKET_MIN, &sh.p, why, sizeof(why)), OK);
	for (int i = 0; i < NKEYS; i++)
		member(&sh.s[i], &sh.k[i]);
	openpgp_cache_stats(&a);
	for (int i = 0; i < NTHR; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &sh), 0);
	for (int i = 0; i < NTHR; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	openpgp_cache_stats(&b);
	ck_assert_int_eq(sh.ok, NTHR * ROUNDS * NKEYS);
	/* each key loaded once, however many threads used it */
	ck_assert_uint_eq(b.misses - a.misses, NKEYS);
	openpgp_cache_flush();
	for (int i = 0; i < NKEYS; i++) {
		openpgp_key_free(&sh.k[i]);
		openpgp_secret_free(sh.s[i]);
	}
	openpgp_post_free(&sh.p);
	openpgp_secret_free(list);
}
END_TEST

#define NFULL	6

START_TEST(full_cache_keeps_its_keys)
{
	struct openpgp_secret *list, *s[NFULL];
	struct openpgp_key k[NFULL];
	struct openpgp_post p;
	struct openpgp_cache_stats a, b, c;
	unsigned long long kept;

	ck_assert_int_eq(openpgp_list_generate("l", "example.org", 1700000000,
	    &list, why, sizeof(why)), OK);
	ck_assert_int_eq(openpgp_post_sign(list, ENTITY, strlen(ENTITY),
	    1700000100, OPENPGP_BUCKET_MIN, &p, why, sizeof(why)), OK);
	for (int i = 0; i < NFULL; i++)
		member(&s[i], &k[i]);
	openpgp_cache_max(4);	/* one key a shard */
	openpgp_cache_stats(&a);
	for (int i = 0; i < NFULL; i++)
		copy(&p, &k[i], s[i]);
	openpgp_cache_stats(&b);
	ck_assert_uint_eq(b.misses - a.misses, NFULL);
	kept = NFULL - (b.passed - a.passed);
	/* six keys, four shards of one: at least two were not kept */
	ck_assert_uint_le(kept, 4);
	ck_assert_uint_ge(kept, 1);
	ck_assert_uint_eq(b.slim - a.slim, 0);
	/*
	 * the next post: the kept keys hit, the others pass again, now from
	 * their slim form (no user ID), and each copy still opens
	 */
	for (int i = 0; i < NFULL; i++)
		copy(&p, &k[i], s[i]);
	openpgp_cache_stats(&c);
	ck_assert_uint_eq(c.hits - b.hits, kept);
	ck_assert_uint_eq(c.passed - b.passed, NFULL - kept);
	ck_assert_uint_eq(c.slim - b.slim, NFULL - kept);
	/* a flush forgets the slim forms too */
	openpgp_cache_max(4);
	openpgp_cache_stats(&a);
	for (int i = 0; i < NFULL; i++)
		copy(&p, &k[i], s[i]);
	openpgp_cache_stats(&b);
	ck_assert_uint_eq(b.slim - a.slim, 0);
	openpgp_cache_max(1024);
	for (int i = 0; i < NFULL; i++) {
		openpgp_key_free(&k[i]);
		openpgp_secret_free(s[i]);
	}
	openpgp_post_free(&p);
	openpgp_secret_free(list);
}
END_TEST

/* rsa_member - an RSA-2048 member key (primary and subkey), as stored */
static void
rsa_member(struct openpgp_key *k)
{
	rnp_ffi_t ffi;
	rnp_key_handle_t h = NULL;
	rnp_output_t o = NULL;
	uint8_t *b;
	size_t len;

	ck_assert_int_eq(rnp_ffi_create(&ffi, "GPG", "GPG"), RNP_SUCCESS);
	ck_assert_int_eq(rnp_generate_key_rsa(ffi, 2048, 2048, "r <r@e.net>",
	    NULL, &h), RNP_SUCCESS);
	ck_assert_int_eq(rnp_output_to_memory(&o, 0), RNP_SUCCESS);
	ck_assert_int_eq(rnp_key_export(h, o, RNP_KEY_EXPORT_PUBLIC |
	    RNP_KEY_EXPORT_SUBKEYS), RNP_SUCCESS);
	ck_assert_int_eq(rnp_output_memory_get_buf(o, &b, &len, false),
	    RNP_SUCCESS);
	ck_assert_int_eq(openpgp_key_import(b, len, OPENPGP_BINARY, k, why,
	    sizeof(why)), OK);
	k->fpr[0] = 0;
	(void)rnp_output_destroy(o);
	(void)rnp_key_handle_destroy(h);
	(void)rnp_ffi_destroy(ffi);
}

#define NCHEAP	160

/*
 * An RSA key (a verification ~6x an Ed25519 one) takes a cheap key's place
 * in a full cache: the next post's copies to the RSA keys are hits. 160
 * cheap keys first fill all four shards of 16 (each gets ~40).
 */
START_TEST(costly_keys_take_cheap_ones_place)
{
	struct openpgp_secret *list, *s;
	struct openpgp_key *k = calloc(NCHEAP + 2, sizeof(*k));
	struct openpgp_post p;
	struct openpgp_cache_stats a, b;
	struct buf out;

	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(openpgp_list_generate("l", "example.org", 1700000000,
	    &list, why, sizeof(why)), OK);
	ck_assert_int_eq(openpgp_post_sign(list, ENTITY, strlen(ENTITY),
	    1700000100, OPENPGP_BUCKET_MIN, &p, why, sizeof(why)), OK);
	for (int i = 0; i < NCHEAP; i++) {
		member(&s, &k[i]);
		openpgp_secret_free(s);
	}
	rsa_member(&k[NCHEAP]);
	rsa_member(&k[NCHEAP + 1]);
	openpgp_cache_max(64);
	buf_init(&out, 0);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < NCHEAP + 2; i++) {
			if (i == NCHEAP)
				openpgp_cache_stats(&a);
			buf_reset(&out);
			ck_assert_int_eq(openpgp_cached_encrypt(&p, &k[i], &out,
			    why, sizeof(why)), OK);
		}
		openpgp_cache_stats(&b);
	}
	/* the second pass: both RSA keys were kept */
	ck_assert_uint_eq(b.hits - a.hits, 2);
	openpgp_cache_max(1024);
	for (int i = 0; i < NCHEAP + 2; i++)
		openpgp_key_free(&k[i]);
	free(k);
	buf_free(&out);
	openpgp_post_free(&p);
	openpgp_secret_free(list);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("keycache");
	TCase *tc = tcase_create("core");

	if (sodium_init() < 0)
		return 1;
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, second_copy_hits_changed_key_misses);
	tcase_add_test(tc, bad_key_fails_its_copy_only);
	tcase_add_test(tc, threads_share_the_cache);
	tcase_add_test(tc, full_cache_keeps_its_keys);
	tcase_add_test(tc, costly_keys_take_cheap_ones_place);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
