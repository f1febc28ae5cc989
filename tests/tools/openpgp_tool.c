/*
 * openpgp_tool.c - drive mail/openpgp from the command line, for the
 * end-to-end tests (tests/e2e/test_openpgp.py) and bench/openpgp.
 *
 *   genkey LIST HOST CREATED		secret blob to stdout
 *   public SECRET armor|binary		the list's public key to stdout
 *   fpr SECRET				its fingerprint
 *   rotate SECRET NOW			the rotated secret blob to stdout
 *   import FILE any|armor|binary|autocrypt   "FPR EXPIRES ALG BITS" on
 *					stderr, minimal key on stdout; 2: refused
 *   encrypt SECRET CREATED ENTITY OUTDIR THREADS KEYFILE...
 *					OUTDIR/N.eml per key (PGP/MIME)
 *   bench SECRET ENTITY N THREADS KEYFILE...   N copies, keys in turn
 *   decrypt SECRET MSG [MEMBERKEY]	plaintext to stdout, verdict on stderr
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdatomic.h>

#include <sodium.h>

#include "mail/openpgp.h"

static char	 why[OPENPGP_WHY_SIZE];

/* slurp - a whole file into b, or exit */
static void
slurp(const char *path, struct buf *b)
{
	FILE	*f = fopen(path, "rb");
	char	 tmp[65536];
	size_t	 n;

	buf_init(b, 0);
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_append(b, tmp, n) != 0)
			exit(1);
	if (ferror(f) || fclose(f) != 0)
		exit(1);
}

/*
 * Under ASan: this driver lives for one command and exits; the buffers it
 * still holds then are its own, not leaks of the library, whose functions
 * tests/unit/test_openpgp.c checks with leak detection on.
 */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}

/* put - bytes to stdout, or exit */
static int
put(const void *p, size_t n)
{
	if (fwrite(p, 1, n, stdout) != n || fflush(stdout) != 0)
		return 1;
	return 0;
}

/* secret - the blob at path */
static struct openpgp_secret *
secret(const char *path)
{
	struct openpgp_secret *s;
	struct buf	 b;

	slurp(path, &b);
	if (openpgp_secret_load(b.data, b.len, &s) != OK)
		exit(1);
	buf_free(&b);
	return s;
}

/* key - a member key file, imported as any format */
static void
key(const char *path, struct openpgp_key *k)
{
	struct buf	 b;

	slurp(path, &b);
	if (openpgp_key_import(b.data, b.len, OPENPGP_ANY, k, why,
	    sizeof(why)) != OK) {
		fprintf(stderr, "%s: refused: %s\n", path, why);
		exit(2);
	}
	buf_free(&b);
}

struct out {
	const char	*dir;
	atomic_size_t	 bytes;
};

/* emit_file - write copy i as OUTDIR/i.eml */
static enum result
emit_file(void *arg, size_t i, const struct buf *arm)
{
	struct out	*o = arg;
	struct buf	 ct, body;
	char		 path[4096];
	FILE		*f;
	int		 bad;

	if (arm == NULL)
		return OK;
	buf_init(&ct, 0);
	buf_init(&body, 0);
	if (openpgp_mime_wrap(arm, &ct, &body) != OK)
		return TEMPFAIL;
	(void)snprintf(path, sizeof(path), "%s/%zu.eml", o->dir, i);
	if ((f = fopen(path, "wb")) == NULL)
		return TEMPFAIL;
	bad = fprintf(f, "MIME-Version: 1.0\r\nSubject: ...\r\n"
	    "Content-Type: %s\r\n\r\n", buf_cstr(&ct)) < 0;
	bad |= fwrite(body.data, 1, body.len, f) != body.len;
	bad |= fclose(f) != 0;
	atomic_fetch_add(&o->bytes, body.len);
	buf_free(&ct);
	buf_free(&body);
	return bad ? TEMPFAIL : OK;
}

/* emit_count - the bench's sink: wrap, count, drop */
static enum result
emit_count(void *arg, size_t i, const struct buf *arm)
{
	struct out	*o = arg;
	struct buf	 ct, body;

	(void)i;
	if (arm == NULL)
		return OK;
	buf_init(&ct, 0);
	buf_init(&body, 0);
	if (openpgp_mime_wrap(arm, &ct, &body) != OK)
		return TEMPFAIL;
	atomic_fetch_add(&o->bytes, body.len);
	buf_free(&ct);
	buf_free(&body);
	return OK;
}

/* do_encrypt - sign ENTITY once, one copy per key file */
static int
do_encrypt(int argc, char **argv, int bench)
{
	struct openpgp_secret *s = secret(argv[2]);
	struct openpgp_post p;
	struct openpgp_key *keys, *uniq;
	struct buf	 ent;
	struct out	 o = { bench ? NULL : argv[5], 0 };
	int		 k0 = bench ? 6 : 7, threads = atoi(argv[k0 - 1]);
	size_t		 n, i, nk = (size_t)(argc - k0), failed = 0;
	struct timespec	 t0, t1;
	uint32_t	 created = bench ? (uint32_t)time(NULL) :
			    (uint32_t)strtoul(argv[3], NULL, 10);

	slurp(argv[bench ? 3 : 4], &ent);
	n = bench ? strtoul(argv[4], NULL, 10) : nk;
	uniq = calloc(nk, sizeof(*uniq));
	keys = calloc(n, sizeof(*keys));
	for (i = 0; i < nk; i++)
		key(argv[k0 + i], &uniq[i]);
	for (i = 0; i < n; i++)
		keys[i] = uniq[i % nk];		/* shallow: read only */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (openpgp_post_sign(s, ent.data, ent.len, created, 0, &p, why,
	    sizeof(why)) != OK) {
		fprintf(stderr, "sign: %s\n", why);
		return 1;
	}
	if (openpgp_fanout(&p, keys, n, threads, bench ? emit_count :
	    emit_file, &o, &failed) != OK || failed) {
		fprintf(stderr, "fanout: %zu failed\n", failed);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "copies=%zu bucket=%zu bytes=%zu seconds=%.3f\n", n,
	    p.bucket, (size_t)o.bytes, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

/* do_import - judge a key file */
static int
do_import(const char *path, const char *fmt)
{
	struct openpgp_key k;
	struct buf	 b;
	enum openpgp_format f = strcmp(fmt, "armor") == 0 ? OPENPGP_ARMOR :
	    strcmp(fmt, "binary") == 0 ? OPENPGP_BINARY :
	    strcmp(fmt, "autocrypt") == 0 ? OPENPGP_AUTOCRYPT : OPENPGP_ANY;

	slurp(path, &b);
	if (openpgp_key_import(b.data, b.len, f, &k, why, sizeof(why))
	    != OK) {
		fprintf(stderr, "refused: %s\n", why);
		return 2;
	}
	fprintf(stderr, "%s %lld %s %u\n", k.fpr, (long long)k.expires,
	    k.alg, k.bits);
	return put(k.bin.data, k.bin.len);
}

/* do_decrypt - open a mail encrypted to the list */
static int
do_decrypt(int argc, char **argv)
{
	struct openpgp_secret *s = secret(argv[2]);
	struct openpgp_key k, *kp = NULL;
	struct openpgp_plain p;
	struct buf	 m, pay;
	const char	*shape;
	char		 hex[2 * OPENPGP_REPLAY_SIZE + 1];

	slurp(argv[3], &m);
	if (argc > 4) {
		key(argv[4], &k);
		kp = &k;
	}
	buf_init(&pay, 0);
	if (openpgp_payload_find(m.data, m.len, &pay, &shape) != OK) {
		fprintf(stderr, "no OpenPGP message\n");
		return 2;
	}
	if (openpgp_decrypt(s, kp, pay.data, pay.len, &p, why, sizeof(why))
	    != OK) {
		fprintf(stderr, "refused: %s\n", why);
		return 2;
	}
	sodium_bin2hex(hex, sizeof(hex), p.replay, sizeof(p.replay));
	fprintf(stderr, "shape=%s sigs=%d verified=%d created=%u replay=%s\n",
	    shape, p.sigs, p.verified, p.sig_created, p.verified ? hex : "-");
	return put(p.data.data, p.data.len);
}

/* do_key - the commands about the list's key */
static int
do_key(int argc, char **argv)
{
	struct openpgp_secret *s;
	struct buf	 b;
	char		 fpr[OPENPGP_FPR_SIZE];

	buf_init(&b, 0);
	if (strcmp(argv[1], "genkey") == 0 && argc == 5) {
		if (openpgp_list_generate(argv[2], argv[3], (uint32_t)strtoul(
		    argv[4], NULL, 10), &s, why, sizeof(why)) != OK)
			return fprintf(stderr, "%s\n", why) > 0;
		return put(s->data, s->len);
	}
	s = secret(argv[2]);
	if (strcmp(argv[1], "fpr") == 0) {
		if (openpgp_list_fingerprint(s, fpr) != OK)
			return 1;
		return printf("%s\n", fpr) < 0;
	}
	if (strcmp(argv[1], "public") == 0 && argc == 4) {
		if (openpgp_list_public(s, strcmp(argv[3], "armor") == 0, &b,
		    why, sizeof(why)) != OK)
			return fprintf(stderr, "%s\n", why) > 0;
		return put(b.data, b.len);
	}
	if (strcmp(argv[1], "rotate") == 0 && argc == 4) {
		struct openpgp_secret *n;

		if (openpgp_list_rotate(s, (uint32_t)strtoul(argv[3], NULL,
		    10), &n, why, sizeof(why)) != OK)
			return fprintf(stderr, "%s\n", why) > 0;
		return put(n->data, n->len);
	}
	return 64;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0 || argc < 3)
		return 64;
	if (strcmp(argv[1], "import") == 0 && argc == 4)
		return do_import(argv[2], argv[3]);
	if (strcmp(argv[1], "encrypt") == 0 && argc >= 8)
		return do_encrypt(argc, argv, 0);
	if (strcmp(argv[1], "bench") == 0 && argc >= 7)
		return do_encrypt(argc, argv, 1);
	if (strcmp(argv[1], "decrypt") == 0 && argc >= 4)
		return do_decrypt(argc, argv);
	return do_key(argc, argv);
}
