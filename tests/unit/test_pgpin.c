/* test_pgpin.c - pipeline/pgpin_open: posts encrypted to the list, opened and put together. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pipeline/pgpin_open.h"

#define LISTADDR "test@example.org"
#define INNER "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\n" \
	"From: Rosa <rosa@example.org>\r\nTo: " LISTADDR "\r\nSubject: the real subject\r\n" \
	"Autocrypt-Gossip: addr=carol@example.org; keydata=QUJD\r\n\r\nsecret text\r\n"
#define OUTER "From: Rosa <rosa@example.org>\r\nTo: " LISTADDR "\r\nSubject: ...\r\n" \
	"Autocrypt: addr=rosa@example.org; keydata=QUJD\r\nMessage-ID: <1@example.org>\r\n" \
	"MIME-Version: 1.0\r\n"

static char why[OPENPGP_WHY_SIZE];
static struct openpgp_secret *list;	/* the list's key; posts are encrypted to it */
static struct openpgp_key listpub;

/* setup - a list key, and its public half as a recipient */
static void
setup(void)
{
	struct buf pub;

	ck_assert_int_eq(openpgp_list_generate("test", "example.org", 1700000000, &list, why,
	    sizeof(why)), OK);
	buf_init(&pub, 0);
	ck_assert_int_eq(openpgp_list_public(list, 0, &pub, why, sizeof(why)), OK);
	ck_assert_int_eq(openpgp_key_import(pub.data, pub.len, OPENPGP_BINARY, &listpub, why,
	    sizeof(why)), OK);
	buf_free(&pub);
}

static void
teardown(void)
{
	openpgp_key_free(&listpub);
	openpgp_secret_free(list);
}

/*
 * armored - entity signed (by the list key, standing in for a member) and
 * encrypted to the list; 0, -1 if the engine will not sign what it cannot pad
 */
static int
armored(const char *entity, struct buf *out)
{
	struct openpgp_post post;
	struct openpgp_enc *e;

	if (openpgp_post_sign(list, entity, strlen(entity), 1700000000, 0, &post, why,
	    sizeof(why)) != OK)
		return -1;
	ck_assert_int_eq(openpgp_enc_new(&e), OK);
	ck_assert_int_eq(openpgp_copy_encrypt(e, &post, &listpub, out, why, sizeof(why)), OK);
	openpgp_enc_free(e);
	openpgp_post_free(&post);
	return 0;
}

/* pgpmime - RFC 3156 around an armoured message; 0, -1 as armored */
static int
pgpmime(const char *entity, struct buf *m)
{
	struct buf a, ct, body;

	buf_init(&a, 0);
	buf_init(&ct, 0);
	buf_init(&body, 0);
	if (armored(entity, &a) < 0) {
		buf_free(&a);
		return -1;
	}
	ck_assert_int_eq(openpgp_mime_wrap(&a, &ct, &body), OK);
	buf_printf(m, OUTER "Content-Type: %s\r\n\r\n", buf_cstr(&ct));
	buf_append(m, body.data, body.len);
	buf_free(&a);
	buf_free(&ct);
	buf_free(&body);
	return 0;
}

/* open_ - pgpin_open with the list's key and the list key as "member" key */
static int
open_(const struct buf *m, struct buf *out, struct pgpin_opened *r)
{
	return pgpin_open((const char *)m->data, m->len, LISTADDR, list->data, list->len,
	    listpub.bin.data, listpub.bin.len, out, r);
}

START_TEST(opens_62_protected_subject)
{
	struct buf m, out;
	struct pgpin_opened r;

	buf_init(&m, 0);
	buf_init(&out, 0);
	ck_assert_int_eq(pgpmime(INNER, &m), 0);
	ck_assert_int_eq(open_(&m, &out, &r), 1);
	ck_assert_str_eq(r.shape, "pgpmime");
	ck_assert_int_eq(r.verified, 1);
	/* the real Subject, once; the wrapper and every key gone; the text there */
	ck_assert(strstr(buf_cstr(&out), "Subject: the real subject\r\n"));
	ck_assert(!strstr(buf_cstr(&out), "Subject: ..."));
	ck_assert(!strstr(buf_cstr(&out), "Autocrypt"));
	ck_assert(!strstr(buf_cstr(&out), "multipart/encrypted"));
	ck_assert(strstr(buf_cstr(&out), "Message-ID: <1@example.org>\r\n"));
	ck_assert(strstr(buf_cstr(&out), "\r\n\r\nsecret text\r\n"));
	buf_free(&m);
	buf_free(&out);
}
END_TEST

START_TEST(another_lists_post_does_not_count)
{
	struct buf m, out;
	struct pgpin_opened r;
	char inner[] = INNER;
	char *to = strstr(inner, "To: test@");

	memcpy(to + 4, "else", 4);	/* To: else@example.org */
	buf_init(&m, 0);
	buf_init(&out, 0);
	ck_assert_int_eq(pgpmime(inner, &m), 0);
	ck_assert_int_eq(open_(&m, &out, &r), 1);
	ck_assert_int_eq(r.verified, 0);
	buf_free(&m);
	buf_free(&out);
}
END_TEST

START_TEST(not_encrypted_and_undecryptable)
{
	static const char plain[] = "From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n";
	static const char junk[] = "From: a@example.org\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\n"
	    "hQEMA8PcoSnWkE3VAQf/ZZZZ\r\n-----END PGP MESSAGE-----\r\n";
	struct buf out;
	struct pgpin_opened r;

	buf_init(&out, 0);
	ck_assert_int_eq(pgpin_open(plain, strlen(plain), LISTADDR, list->data, list->len, NULL, 0,
	    &out, &r), 0);
	ck_assert_int_eq(pgpin_open(junk, strlen(junk), LISTADDR, list->data, list->len, NULL, 0,
	    &out, &r), -1);
	ck_assert(*r.why);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
}
END_TEST

/* every prefix of an encrypted post: opened, refused or left alone, never a crash */
START_TEST(prefixes)
{
	struct buf m, out;
	struct pgpin_opened r;

	buf_init(&m, 0);
	ck_assert_int_eq(pgpmime(INNER, &m), 0);
	for (size_t n = 0; n <= m.len; n += 7) {
		char *c = malloc(n ? n : 1);

		memcpy(c, m.data, n);
		buf_init(&out, 0);
		ck_assert_int_ge(pgpin_open(c, n, LISTADDR, list->data, list->len, NULL, 0, &out, &r),
		    -1);
		buf_free(&out);
		free(c);
	}
	buf_free(&m);
}
END_TEST

/* a hostile inner entity: multipart/signed without parts, a bad boundary, no header end */
START_TEST(hostile_inner)
{
	static const char *const inner[] = {
		"Content-Type: multipart/signed; boundary=\"\"\r\n\r\n--\r\n",
		"Content-Type: multipart/signed; boundary=b\r\n\r\n--b\r\n",
		"Content-Type: multipart/signed; boundary=b\r\n\r\n--b--\r\n",
		"Content-Type: multipart/signed; boundary=\"b\r\n\r\n--b\r\nx\r\n--b\r\n\r\n",
		"Content-Type: text/plain\r\nSubject: no body",
		"",
	};
	struct buf m, out;
	struct pgpin_opened r;
	int signed_ = 0;

	for (size_t i = 0; i < sizeof(inner) / sizeof(inner[0]); i++) {
		buf_init(&m, 0);
		buf_init(&out, 0);
		if (pgpmime(inner[i], &m) == 0) {
			signed_++;
			ck_assert_int_ge(open_(&m, &out, &r), -1);
		}
		buf_free(&m);
		buf_free(&out);
	}
	ck_assert_int_ge(signed_, 3);	/* the engine pads most of them: they were tried */
}
END_TEST

/* verified_with_to - is a signed post whose protected To is `to` counted? */
static int
verified_with_to(const char *to)
{
	struct buf m, out, inner;
	struct pgpin_opened r;
	int v;

	buf_init(&inner, 0);
	buf_printf(&inner, "Content-Type: text/plain; "
	    "protected-headers=\"v1\"\r\n"
	    "From: Rosa <rosa@example.org>\r\nTo: %s\r\nSubject: s\r\n\r\n"
	    "secret text\r\n", to);
	buf_init(&m, 0);
	buf_init(&out, 0);
	ck_assert_int_eq(pgpmime(buf_cstr(&inner), &m), 0);
	ck_assert_int_eq(open_(&m, &out, &r), 1);
	v = r.verified;
	buf_free(&m);
	buf_free(&out);
	buf_free(&inner);
	return v;
}

/*
 * the list's address must be one of the protected To/Cc addresses, parsed
 * and compared whole: not a substring of another address or of a name
 */
START_TEST(for_list_compares_parsed_addresses)
{
	static const struct { const char *to; int counts; } t[] = {
		{ LISTADDR, 1 },
		{ "Demo List <TEST@Example.ORG>", 1 },
		{ "a@example.net, \"x, y\" <test@example.org>", 1 },
		{ "Lists: a@example.net, test@example.org;", 1 },
		{ "contest@example.org", 0 },
		{ "test@example.org.evil.example", 0 },
		{ "\"test@example.org\" <other@example.net>", 0 },
		{ "other@example.net (test@example.org)", 0 },
		{ "test+x@example.org", 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(verified_with_to(t[i].to) == t[i].counts,
		    "To: %s", t[i].to);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pgpin");
	TCase *t = tcase_create("open");
	SRunner *r;
	int failed;

	if (sodium_init() < 0)
		return 1;
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, opens_62_protected_subject);
	tcase_add_test(t, another_lists_post_does_not_count);
	tcase_add_test(t, for_list_compares_parsed_addresses);
	tcase_add_test(t, not_encrypted_and_undecryptable);
	tcase_add_test(t, prefixes);
	tcase_add_test(t, hostile_inner);
	suite_add_tcase(s, t);
	r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
