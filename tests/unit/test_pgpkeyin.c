/* test_pgpkeyin.c - mail/pgpkeyin: a member's key in Thunderbird's, K-9's, mutt's mail. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mail/pgpkeyin.h"

#define KEY "-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\nmDMEZ=key\r\n" \
	"-----END PGP PUBLIC KEY BLOCK-----"
#define SENDER "rosa@example.org"

static char why[OPENPGP_WHY_SIZE];

/* find - pgpkeyin_find over a C string */
static int
find(const char *m, const char *sender, struct pgpkeyin *k)
{
	return pgpkeyin_find(m, strlen(m), sender, k);
}

/* is - the key found is exactly s */
static void
is(const struct pgpkeyin *k, const char *s)
{
	ck_assert_uint_eq(k->key.len, strlen(s));
	ck_assert(memcmp(k->key.data, s, k->key.len) == 0);
}

/* Thunderbird: multipart/mixed inside multipart/signed, the key quoted-printable */
static const char tbird[] =
	"From: Rosa <rosa@example.org>\r\nSubject: key\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/signed; micalg=pgp-sha256;\r\n"
	" protocol=\"application/pgp-signature\";\r\n boundary=\"------------sig0\"\r\n\r\n"
	"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n"
	"--------------sig0\r\n"
	"Content-Type: multipart/mixed; boundary=\"------------mix1\"\r\n\r\n"
	"--------------mix1\r\n"
	"Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
	"Content-Transfer-Encoding: 7bit\r\n\r\nkey\r\n\r\n"
	"--------------mix1\r\n"
	"Content-Type: application/pgp-keys; name=\"OpenPGP_0x1234ABCD5678EF90.asc\"\r\n"
	"Content-Disposition: attachment; filename=\"OpenPGP_0x1234ABCD5678EF90.asc\"\r\n"
	"Content-Description: OpenPGP public key\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	"-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\nmDMEZ=3Dkey\r\n"
	"-----END PGP PUBLIC KEY BLOCK-----\r\n\r\n"
	"--------------mix1--\r\n\r\n"
	"--------------sig0\r\n"
	"Content-Type: application/pgp-signature; name=\"OpenPGP_signature.asc\"\r\n\r\n"
	"-----BEGIN PGP SIGNATURE-----\r\n\r\nwnsEARYIACMWIQ\r\n-----END PGP SIGNATURE-----\r\n"
	"--------------sig0--\r\n";

START_TEST(thunderbird_attachment_qp)
{
	struct pgpkeyin k;

	ck_assert_int_eq(find(tbird, SENDER, &k), 1);
	ck_assert_int_eq(k.shape, PGPKEYIN_ATTACHED);
	ck_assert_int_eq(k.fmt, OPENPGP_ANY);
	/* soft line breaks gone, =3D decoded, the trailing CRLF kept */
	is(&k, KEY "\r\n");
	pgpkeyin_free(&k);
}
END_TEST

/* K-9 / FairEmail: the key in an Autocrypt header, folded */
static const char k9[] =
	"From: rosa@example.org\r\nTo: test-request@example.org\r\nSubject: key\r\n"
	"Autocrypt: addr=Rosa@Example.org; prefer-encrypt=mutual; keydata=\r\n"
	" mDMEZAAAABYJKwYBBAHaRw8BAQdA\r\n QUJD\r\n"
	"Content-Type: text/plain\r\n\r\nkey\r\n";

START_TEST(k9_autocrypt)
{
	struct pgpkeyin k;

	ck_assert_int_eq(find(k9, SENDER, &k), 1);
	ck_assert_int_eq(k.shape, PGPKEYIN_AUTOCRYPT);
	ck_assert_int_eq(k.fmt, OPENPGP_AUTOCRYPT);
	is(&k, "mDMEZAAAABYJKwYBBAHaRw8BAQdA QUJD");
	pgpkeyin_free(&k);
}
END_TEST

START_TEST(autocrypt_other_addr_ignored)
{
	struct pgpkeyin k;

	/* a header about someone else, a critical unknown attribute, two headers */
	ck_assert_int_eq(find(k9, "eve@example.org", &k), 0);
	pgpkeyin_free(&k);
	ck_assert_int_eq(find("Autocrypt: addr=rosa@example.org; type=2; keydata=QUJD\r\n"
	    "\r\nx\r\n", SENDER, &k), 0);
	pgpkeyin_free(&k);
	ck_assert_int_eq(find("Autocrypt: addr=rosa@example.org; _x=1; keydata=QUJD\r\n"
	    "\r\nx\r\n", SENDER, &k), 1);
	pgpkeyin_free(&k);
	ck_assert_int_eq(find("Autocrypt: addr=rosa@example.org; keydata=QUJD\r\n"
	    "Autocrypt: addr=rosa@example.org; keydata=REVG\r\n\r\nx\r\n", SENDER, &k), 0);
	pgpkeyin_free(&k);
	ck_assert_int_eq(find("Autocrypt: addr=rosa@example.org.evil; keydata=QUJD\r\n"
	    "\r\nx\r\n", SENDER, &k), 0);
	pgpkeyin_free(&k);
}
END_TEST

/* mutt: the key pasted in the text, with words around it */
START_TEST(mutt_inline)
{
	static const char m[] = "From: rosa@example.org\r\nSubject: key\r\n\r\n"
	    "key\r\n\r\nHere it is:\r\n\r\n" KEY "\r\n-- \r\nRosa\r\n";
	struct pgpkeyin k;

	ck_assert_int_eq(find(m, SENDER, &k), 1);
	ck_assert_int_eq(k.shape, PGPKEYIN_INLINE);
	ck_assert_int_eq(k.fmt, OPENPGP_ARMOR);
	is(&k, KEY);
	pgpkeyin_free(&k);
}
END_TEST

#define SECRET "-----BEGIN PGP PRIVATE KEY BLOCK-----\r\n\r\nlFgEZ=sec\r\n" \
	"-----END PGP PRIVATE KEY BLOCK-----"

/*
 * mutt, the secret key pasted by mistake: found, so that the engine says
 * "a SECRET key" (audit17); a public key beside it is taken instead
 */
START_TEST(mutt_secret_pasted)
{
	static const char m[] = "From: rosa@example.org\r\nSubject: key\r\n"
	    "\r\nkey\r\n\r\n" SECRET "\r\n";
	static const char both[] = "From: rosa@example.org\r\n\r\nkey\r\n"
	    SECRET "\r\n" KEY "\r\n";
	struct pgpkeyin k;

	ck_assert_int_eq(find(m, SENDER, &k), 1);
	ck_assert_int_eq(k.shape, PGPKEYIN_INLINE);
	is(&k, SECRET);
	pgpkeyin_free(&k);
	ck_assert_int_eq(find(both, SENDER, &k), 1);
	is(&k, KEY);
	pgpkeyin_free(&k);
}
END_TEST

START_TEST(order_autocrypt_first)
{
	static const char m[] = "From: rosa@example.org\r\n"
	    "Autocrypt: addr=rosa@example.org; keydata=QUJD\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\n" KEY "\r\n"
	    "--b\r\nContent-Type: application/pgp-keys\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nQUJD\r\nREVG\r\n--b--\r\n";
	struct pgpkeyin k;

	ck_assert_int_eq(find(m, SENDER, &k), 1);
	ck_assert_int_eq(k.shape, PGPKEYIN_AUTOCRYPT);
	ck_assert_int_eq(k.seen, 3);
	pgpkeyin_free(&k);
	/* without the header: the attachment before the text, base64 decoded */
	ck_assert_int_eq(find(strchr(m + 25, '\n') + 1, SENDER, &k), 1);
	ck_assert_int_eq(k.shape, PGPKEYIN_ATTACHED);
	is(&k, "ABCDEF");
	pgpkeyin_free(&k);
}
END_TEST

/* hostile input: garbage, no key, deep nesting, huge parts, bad boundaries */
START_TEST(hostile)
{
	static const char *none[] = {
		"", "\r\n", "Subject: x", "Content-Type: multipart/mixed\r\n\r\n--\r\n",
		"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--\r\n",
		"Content-Type: multipart/mixed; boundary=\"\\\"\"\r\n\r\n--\"\r\n\r\n",
		"Content-Type: application/pgp-keys\r\nContent-Transfer-Encoding: base64\r\n"
		    "\r\n!!!not base64!!!\r\n",
		"Content-Type: text/plain\r\n\r\n-----BEGIN PGP PUBLIC KEY BLOCK-----\r\nno end",
		"Content-Type: image/png\r\n\r\n" KEY "\r\n",
		"Content-Type: application/pgp-keys\r\n\r\n",
	};
	struct pgpkeyin k;
	struct buf m;
	int i;

	for (size_t n = 0; n < sizeof(none) / sizeof(none[0]); n++) {
		ck_assert_int_eq(find(none[n], SENDER, &k), 0);
		pgpkeyin_free(&k);
	}
	/* nested deeper than PGPKEYIN_DEPTH_MAX: not followed */
	buf_init(&m, 0);
	for (i = 0; i <= PGPKEYIN_DEPTH_MAX; i++)
		buf_printf(&m, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	buf_puts(&m, "Content-Type: application/pgp-keys\r\n\r\n" KEY "\r\n");
	ck_assert_int_eq(pgpkeyin_find(m.data, m.len, SENDER, &k), 0);
	pgpkeyin_free(&k);
	/* one level less: found (an unterminated last part is read) */
	buf_reset(&m);
	for (i = 0; i < PGPKEYIN_DEPTH_MAX; i++)
		buf_printf(&m, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	buf_puts(&m, "Content-Type: application/pgp-keys\r\n\r\n" KEY "\r\n");
	ck_assert_int_eq(pgpkeyin_find(m.data, m.len, SENDER, &k), 1);
	pgpkeyin_free(&k);
	/* a key bigger than PGPKEYIN_KEY_MAX is not taken */
	buf_reset(&m);
	buf_puts(&m, "Content-Type: application/pgp-keys\r\n\r\n");
	for (i = 0; i < PGPKEYIN_KEY_MAX / 8 + 1; i++)
		buf_puts(&m, "AAAAAAAA");
	ck_assert_int_eq(pgpkeyin_find(m.data, m.len, SENDER, &k), 0);
	pgpkeyin_free(&k);
	/* many parts: only the first PGPKEYIN_PARTS_MAX are looked at */
	buf_reset(&m);
	buf_puts(&m, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	for (i = 0; i < PGPKEYIN_PARTS_MAX + 5; i++)
		buf_puts(&m, "--b\r\n\r\nx\r\n");
	buf_puts(&m, "--b\r\nContent-Type: application/pgp-keys\r\n\r\n" KEY "\r\n--b--\r\n");
	ck_assert_int_eq(pgpkeyin_find(m.data, m.len, SENDER, &k), 0);
	pgpkeyin_free(&k);
	buf_free(&m);
}
END_TEST

/* byte_by_byte - every prefix of Thunderbird's mail parses without harm */
START_TEST(byte_by_byte)
{
	struct pgpkeyin k;

	for (size_t n = 0; n <= sizeof(tbird) - 1; n++) {
		char *c = malloc(n ? n : 1);

		memcpy(c, tbird, n);
		ck_assert_int_ge(pgpkeyin_find(c, n, SENDER, &k), 0);
		pgpkeyin_free(&k);
		free(c);
	}
}
END_TEST

/* a real key, attached as Thunderbird does: found and imported */
START_TEST(real_key_imports)
{
	struct openpgp_secret *s;
	struct openpgp_key key;
	struct pgpkeyin k;
	struct buf pub, m;
	char fpr[OPENPGP_FPR_SIZE];

	ck_assert_int_eq(openpgp_list_generate("rosa", "example.org", 1700000000, &s, why,
	    sizeof(why)), OK);
	ck_assert_int_eq(openpgp_list_fingerprint(s, fpr), OK);
	buf_init(&pub, 0);
	buf_init(&m, 0);
	ck_assert_int_eq(openpgp_list_public(s, 1, &pub, why, sizeof(why)), OK);
	buf_puts(&m, "From: rosa@example.org\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
	    "--x\r\n\r\nkey\r\n--x\r\nContent-Type: application/pgp-keys; name=OpenPGP_0x1.asc\r\n\r\n");
	buf_append(&m, pub.data, pub.len);
	buf_puts(&m, "\r\n--x--\r\n");
	ck_assert_int_eq(pgpkeyin_find(m.data, m.len, SENDER, &k), 1);
	ck_assert_int_eq(openpgp_key_import(k.key.data, k.key.len, k.fmt, &key, why, sizeof(why)),
	    OK);
	ck_assert_str_eq(key.fpr, fpr);
	openpgp_key_free(&key);
	pgpkeyin_free(&k);
	openpgp_secret_free(s);
	buf_free(&pub);
	buf_free(&m);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pgpkeyin");
	TCase *t = tcase_create("find");
	SRunner *r;
	int failed;

	if (sodium_init() < 0)
		return 1;
	tcase_set_timeout(t, 30);
	tcase_add_test(t, thunderbird_attachment_qp);
	tcase_add_test(t, k9_autocrypt);
	tcase_add_test(t, autocrypt_other_addr_ignored);
	tcase_add_test(t, mutt_inline);
	tcase_add_test(t, mutt_secret_pasted);
	tcase_add_test(t, order_autocrypt_first);
	tcase_add_test(t, hostile);
	tcase_add_test(t, byte_by_byte);
	tcase_add_test(t, real_key_imports);
	suite_add_tcase(s, t);
	r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
