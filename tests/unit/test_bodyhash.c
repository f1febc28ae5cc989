/*
 * test_bodyhash.c - the relaxed body hash, hashed line by line (#15),
 * against SHA-256 of dkim_canon_body's bytes, on shapes that reach every
 * branch (WSP runs, trailing WSP, CR without LF, blank lines at the end,
 * no final line break) and on random bodies; and the signatures made over
 * one shared body hash against the ones made each on its own.
 */
#include "testutil.h"
#include "../../mlistd/mail/author.h"
#include "../../mlistd/mail/dkim.h"

/* same - the streamed hash of b equals the hash of its canonical copy */
static void
same(const char *b, size_t n)
{
	unsigned char a[32], c[32];
	struct buf canon;

	buf_init(&canon, 0);
	dkim_canon_body(b, n, &canon);
	crypto_hash_sha256(c, canon.data ? canon.data :
	    (const unsigned char *)"", canon.len);
	buf_free(&canon);
	dkim_body_hash(b, n, a);
	ck_assert_msg(memcmp(a, c, 32) == 0, "body hash differs for %zu bytes",
	    n);
}

START_TEST(shapes)
{
	static const char *const t[] = {
		"", "\r\n", "\r\n\r\n", "a", "a\r\n", "a \r\n", " a\r\n",
		"a  \t b\r\n", "a\t\r\n\r\n \r\n", "\r\n\r\na\r\n", "a\rb\r\n",
		"a\n b\n\n", "a\r", "  \t  ", "x\r\n \r\n\t\r\ny", "a \r \r\n",
		"line one\r\n\r\nline  three \t\r\n\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		same(t[i], strlen(t[i]));
}
END_TEST

START_TEST(random_bodies)
{
	static const char alpha[] = " \t\r\nab";
	char b[300];

	for (int k = 0; k < 5000; k++) {
		size_t n = randombytes_uniform(sizeof(b));

		for (size_t i = 0; i < n; i++)
			b[i] = alpha[randombytes_uniform(sizeof(alpha) - 1)];
		same(b, n);
	}
}
END_TEST

START_TEST(shared_hash_signs_alike)
{
	static const char msg[] =
	    "From: a@example.org\r\nList-Id: <demo.lists.example>\r\n"
	    "Subject: s\r\n\r\nbody  \t line\r\n\r\n";
	unsigned char seed[DKIM_SEED_LEN], bh[32];
	struct buf h1, h2;
	const char *body = strstr(msg, "\r\n\r\n") + 4;

	randombytes_buf(seed, sizeof(seed));
	dkim_body_hash(body, strlen(body), bh);
	buf_init(&h1, 0);
	buf_init(&h2, 0);
	ck_assert_int_eq(dkim_sign(seed, "lists.example", "s1", 1700000000,
	    msg, sizeof(msg) - 1, &h1), 0);
	ck_assert_int_eq(dkim_sign_bh(seed, "lists.example", "s1", 1700000000,
	    msg, sizeof(msg) - 1, bh, &h2), 0);
	ck_assert_str_eq(buf_cstr(&h1), buf_cstr(&h2));
	h1.len = h2.len = 0;
	ck_assert_int_eq(author_sign(seed, NULL, 1700000000, msg,
	    sizeof(msg) - 1, &h1), 0);
	ck_assert_int_eq(author_sign_bh(seed, NULL, 1700000000, msg,
	    sizeof(msg) - 1, bh, &h2), 0);
	ck_assert_str_eq(buf_cstr(&h1), buf_cstr(&h2));
	buf_free(&h1);
	buf_free(&h2);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("bodyhash");
	TCase *tc = tcase_create("core");

	if (sodium_init() < 0)
		return 1;
	tcase_add_test(tc, shapes);
	tcase_add_test(tc, random_bodies);
	tcase_add_test(tc, shared_hash_signs_alike);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
