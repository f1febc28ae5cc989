/*
 * test_pgpreplace.c - what an answered "pgpkey" token does (pipeline/pgpin:
 * pgpin_decide, the token's bound bytes) and what counts as the old key
 * signing for a new one (pipeline/pgpreplace).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mail/openpgp_pseud.h"
#include "pipeline/pgpin.h"
#include "pipeline/pgpreplace.h"

#define UID	"Rosa <rosa@example.org>"
#define WHEN	1700000000u
#define TOKEN	"0123456789abcdef0123456789abcdef01234567"
#define PLAIN	"From: x\r\n\r\n" TOKEN "\r\n"

static char why[OPENPGP_WHY_SIZE];

/* the decision, row by row: who signed, who was authenticated */
static const struct {
	int		 has_old, same;
	unsigned	 flags;
	int		 answer_sure, answer_oldsig;
	enum pgpin_action want;
} rows[] = {
	/* a first key: the mailbox alone is not enough */
	{ 0, 0, 0, 0, 0, PGPIN_UNVERIFIED },
	{ 0, 0, PGPKEY_SURE, 0, 0, PGPIN_REGISTER },
	{ 0, 0, 0, 1, 0, PGPIN_REGISTER },
	/* a replacing key: authentication is not the old key's word */
	{ 1, 0, 0, 0, 0, PGPIN_REPLACE_LATER },
	{ 1, 0, PGPKEY_SURE, 1, 0, PGPIN_REPLACE_LATER },
	{ 1, 0, PGPKEY_OLDSIG, 0, 0, PGPIN_REPLACE_NOW },
	{ 1, 0, 0, 0, 1, PGPIN_REPLACE_NOW },
	/* the same key again changes nothing worth guarding */
	{ 1, 1, 0, 0, 0, PGPIN_REGISTER },
};

START_TEST(decide_table)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ck_assert_msg(pgpin_decide(rows[i].has_old, rows[i].same,
		    rows[i].flags, rows[i].answer_sure,
		    rows[i].answer_oldsig) == rows[i].want, "row %zu", i);
}
END_TEST

START_TEST(bound_round_trip_and_malformed)
{
	char th[PGPREPLACE_TOKEN_HASH_HEX], b[400];
	struct pgpin_bound t;
	int n;

	pgpreplace_token_hash(TOKEN, th);
	ck_assert_int_eq(strlen(th), 64);
	n = snprintf(b, sizeof(b), "rosa@example.org\n3%s\nKEY\nBYTES", th);
	ck_assert_int_eq(pgpin_bound_parse(b, (size_t)n, &t), 0);
	ck_assert_str_eq(t.addr, "rosa@example.org");
	ck_assert_uint_eq(t.flags, PGPKEY_SURE | PGPKEY_OLDSIG);
	ck_assert_str_eq(t.token_hash, th);
	ck_assert_uint_eq(t.keylen, 9);
	ck_assert(memcmp(t.key, "KEY\nBYTES", 9) == 0);
	/* no flags line (the format before), a short hash, no key: refused */
	n = snprintf(b, sizeof(b), "rosa@example.org\n\x99\x01\x02");
	ck_assert_int_eq(pgpin_bound_parse(b, (size_t)n, &t), -1);
	n = snprintf(b, sizeof(b), "rosa@example.org\n1abc\nKEY");
	ck_assert_int_eq(pgpin_bound_parse(b, (size_t)n, &t), -1);
	n = snprintf(b, sizeof(b), "rosa@example.org\n1%s\n", th);
	ck_assert_int_eq(pgpin_bound_parse(b, (size_t)n, &t), -1);
	n = snprintf(b, sizeof(b), "no newline at all");
	ck_assert_int_eq(pgpin_bound_parse(b, (size_t)n, &t), -1);
}
END_TEST

/* pkey - a key with UID and its public half as the store keeps it */
static struct openpgp_secret *
pkey(struct openpgp_key *pub)
{
	struct openpgp_secret *s;

	ck_assert_int_eq(openpgp_pseud_generate(UID, WHEN, &s, why,
	    sizeof(why)), OK);
	memset(pub, 0, sizeof(*pub));
	buf_init(&pub->bin, 0);
	ck_assert_int_eq(openpgp_pseud_minimal(s, 1, &pub->bin, why,
	    sizeof(why)), OK);
	return s;
}

/* signed_mail - RFC 3156 multipart/signed by s over a text part saying text */
static void
signed_mail(const struct openpgp_secret *s, const char *text,
    const char *outside, struct buf *m)
{
	struct buf part, sig;

	buf_init(&part, 0);
	buf_init(&sig, 0);
	ck_assert_int_ge(buf_printf(&part, "Content-Type: text/plain\r\n\r\n"
	    "%s\r\n", text), 0);
	/* the CRLF before the delimiter is the delimiter's: not signed */
	ck_assert_int_eq(openpgp_pseud_sign(s, part.data, part.len - 2,
	    WHEN + 5, &sig, why, sizeof(why)), OK);
	ck_assert_int_ge(buf_printf(m, "From: " UID "\r\nSubject: Re: %s\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/signed; "
	    "micalg=pgp-sha256; protocol=\"application/pgp-signature\"; "
	    "boundary=\"b1\"\r\n\r\n--b1\r\n", outside), 0);
	ck_assert_int_eq(buf_append(m, part.data, part.len - 2), 0);
	ck_assert_int_ge(buf_printf(m, "\r\n--b1\r\nContent-Type: "
	    "application/pgp-signature\r\n\r\n"), 0);
	ck_assert_int_eq(buf_append(m, sig.data, sig.len), 0);
	ck_assert_int_ge(buf_printf(m, "\r\n--b1--\r\n"), 0);
	buf_free(&part);
	buf_free(&sig);
}

START_TEST(answer_signed_by_old_key_over_the_token)
{
	struct openpgp_key old, other;
	struct openpgp_secret *s = pkey(&old), *t = pkey(&other);
	char th[PGPREPLACE_TOKEN_HASH_HEX];
	struct buf yes, elsewhere, forged, longer;

	pgpreplace_token_hash(TOKEN, th);
	buf_init(&yes, 0);
	buf_init(&elsewhere, 0);
	buf_init(&forged, 0);
	buf_init(&longer, 0);
	signed_mail(s, "> reply to demo-confirm+" TOKEN "@lists.example\r\nyes",
	    "...", &yes);
	/* the token only in the unsigned Subject: a signed old post reused */
	signed_mail(s, "an old signed post", TOKEN, &elsewhere);
	signed_mail(t, "demo-confirm+" TOKEN "@lists.example", "...", &forged);
	signed_mail(s, "demo-confirm+" TOKEN "0@lists.example", "...", &longer);
	ck_assert_int_eq(pgpreplace_signed_answer(yes.data, yes.len,
	    "rosa@example.org", &old, th), 1);
	ck_assert_int_eq(pgpreplace_signed_answer(elsewhere.data, elsewhere.len,
	    "rosa@example.org", &old, th), 0);
	ck_assert_int_eq(pgpreplace_signed_answer(forged.data, forged.len,
	    "rosa@example.org", &old, th), 0);
	ck_assert_int_eq(pgpreplace_signed_answer(longer.data, longer.len,
	    "rosa@example.org", &old, th), 0);
	/* not signed at all */
	ck_assert_int_eq(pgpreplace_signed_answer(PLAIN, strlen(PLAIN),
	    "rosa@example.org", &old, th), 0);
	buf_free(&yes);
	buf_free(&elsewhere);
	buf_free(&forged);
	buf_free(&longer);
	buf_free(&old.bin);
	buf_free(&other.bin);
	openpgp_secret_free(s);
	openpgp_secret_free(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pgpreplace");
	TCase *t = tcase_create("decide");
	SRunner *r;
	int failed;

	if (sodium_init() < 0)
		return 1;
	tcase_set_timeout(t, 60);
	tcase_add_test(t, decide_table);
	tcase_add_test(t, bound_round_trip_and_malformed);
	tcase_add_test(t, answer_signed_by_old_key_over_the_token);
	suite_add_tcase(s, t);
	r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
