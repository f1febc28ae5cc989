/* test_dkim.c - RFC 8463's published example as a known-answer test; sign/verify round trips. */
#include "testutil.h"
#include "../../mlistd/mail/author.h"
#include "../../mlistd/mail/dkim.h"

/* RFC 8463 appendix A: the signed example message, its key seed and public key */
static const char rfc8463[] =
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	" d=football.example.com; i=@football.example.com;\r\n"
	" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
	" subject : date : message-id : from : subject : date;\r\n"
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
	" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
	"From: Joe SixPack <joe@football.example.com>\r\n"
	"To: Suzie Q <suzie@shopping.example.net>\r\n"
	"Subject: Is dinner ready?\r\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
	"\r\n"
	"Hi.\r\n"
	"\r\n"
	"We lost the game.  Are you hungry yet?\r\n"
	"\r\n"
	"Joe.\r\n";
static const char seed_b64[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
static const char pk_b64[] = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

static void
unb64(const char *s, unsigned char *out, size_t n)
{
	size_t got = 0;

	ck_assert_int_eq(sodium_base642bin(out, n, s, strlen(s), NULL, &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL), 0);
	ck_assert_uint_eq(got, n);
}

START_TEST(rfc8463_known_answer)
{
	unsigned char seed[32], pk[32], derived[32], sk[64], bh[32], want[32];
	char why[128];
	const char *body = strstr(rfc8463, "\r\n\r\n") + 4;

	unb64(seed_b64, seed, 32);
	unb64(pk_b64, pk, 32);
	crypto_sign_seed_keypair(derived, sk, seed);
	ck_assert_int_eq(memcmp(derived, pk, 32), 0);		/* p= follows from the seed */
	dkim_body_hash(body, strlen(body), bh);
	unb64("2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=", want, 32);
	ck_assert_int_eq(memcmp(bh, want, 32), 0);		/* bh= */
	ck_assert_msg(dkim_verify(rfc8463, sizeof(rfc8463) - 1, pk, why, sizeof(why)) == 0, "%s", why);	/* b= */
}
END_TEST

START_TEST(rfc8463_tampering_detected)
{
	unsigned char pk[32], other[32], sk[64];
	char why[128], *m = strdup(rfc8463);

	unb64(pk_b64, pk, 32);
	strstr(m, "hungry")[0] = 'H';
	ck_assert_int_ne(dkim_verify(m, strlen(m), pk, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "body changed (body hash does not match)");
	free(m);
	m = strdup(rfc8463);
	strstr(m, "dinner")[0] = 'D';
	ck_assert_int_ne(dkim_verify(m, strlen(m), pk, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "signature does not verify"));
	free(m);
	crypto_sign_keypair(other, sk);
	ck_assert_int_ne(dkim_verify(rfc8463, sizeof(rfc8463) - 1, other, why, sizeof(why)), 0);
}
END_TEST

START_TEST(sign_then_verify)
{
	static const char msg[] =
	    "From: Alice <alice@example.org>\r\nTo: demo@lists.example\r\nSubject:  [demo]   hello\r\n"
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <x@lists.example>\r\n"
	    "List-Id: <demo.lists.example>\r\nX-Unsigned: 1\r\n\r\nbody  with   spaces \r\n\r\n\r\n";
	unsigned char seed[32], pk[32], sk[64];
	struct buf h, m;
	char why[128];

	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	buf_init(&h, 0);
	ck_assert_int_eq(dkim_sign(seed, "lists.example", "demo-k1", 1700000000, msg, sizeof(msg) - 1, &h), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&h), "a=ed25519-sha256; c=relaxed/relaxed; d=lists.example; s=demo-k1;"));
	/* an added Mlist-Author-Signature breaks it too (attack10c F1) */
	ck_assert_ptr_nonnull(strstr(buf_cstr(&h), "h=from:to:subject:date:"
	    "message-id:list-id:from:subject:list-id:mlist-author-signature;"));
	buf_init(&m, 0);
	buf_append(&m, h.data, h.len);
	buf_puts(&m, msg);
	ck_assert_msg(dkim_verify((char *)m.data, m.len, pk, why, sizeof(why)) == 0, "%s", why);
	/* unsigned headers may change; relaxed canonicalisation forgives white space */
	strstr((char *)m.data, "X-Unsigned: 1")[12] = '2';
	strstr((char *)m.data, "body  with")[4] = '\t';
	ck_assert_msg(dkim_verify((char *)m.data, m.len, pk, why, sizeof(why)) == 0, "%s", why);
	/* an added From is caught by the oversigned from */
	buf_reset(&h);
	buf_append(&h, m.data, m.len);
	buf_reset(&m);
	buf_puts(&m, "From: Mallory <m@evil.example>\r\n");
	buf_append(&m, h.data, h.len);
	ck_assert_int_ne(dkim_verify((char *)m.data, m.len, pk, why, sizeof(why)), 0);
	/* and an added author signature by the oversigned one */
	buf_reset(&m);
	buf_puts(&m, "Mlist-Author-Signature: v=1; a=ed25519; l=x;\r\n");
	buf_append(&m, h.data, h.len);
	ck_assert_int_ne(dkim_verify((char *)m.data, m.len, pk, why,
	    sizeof(why)), 0);
	buf_free(&h);
	buf_free(&m);
}
END_TEST

START_TEST(dns_record)
{
	unsigned char pk[32];
	struct buf b;

	unb64(pk_b64, pk, 32);
	buf_init(&b, 0);
	dkim_dns_record(pk, &b);
	ck_assert_str_eq(buf_cstr(&b), "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	buf_free(&b);
}
END_TEST

/*
 * the list's statement of the author (w=, n=): read back as written, the
 * signature still holds for a reader that ignores them, and a member's
 * own signature carrying them is malformed
 */
START_TEST(author_claim_round_trip)
{
	static const char msg[] =
	    "From: x <demo+p-abc@lists.example>\r\nSubject: s\r\n"
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <m@l>\r\n"
	    "List-Id: <demo.lists.example>\r\n\r\nbody\r\n";
	static const char name[] = "Genossin \xc3\x86r\xc3\xb8 mit einem "
	    "langen Namen, der gefaltet wird";
	unsigned char seed[32], got[32];
	char why[160], lid[128], kind[32], back[200];
	struct buf h, m;

	randombytes_buf(seed, sizeof(seed));
	buf_init(&h, 0);
	ck_assert_int_eq(author_sign_as(seed, NULL, 1700000000, msg,
	    sizeof(msg) - 1, NULL, AUTHOR_KIND_PSEUDONYM, name, &h), 0);
	buf_init(&m, 0);
	buf_append(&m, h.data, h.len);
	buf_puts(&m, msg);
	ck_assert_int_eq(author_claim((char *)m.data, m.len, kind,
	    sizeof(kind), back, sizeof(back)), 0);
	ck_assert_str_eq(kind, "pseudonym");
	ck_assert_str_eq(back, name);
	ck_assert_msg(author_verify((char *)m.data, m.len, NULL, got, lid,
	    sizeof(lid), why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(author_verify((char *)m.data, m.len,
	    "demo.lists.example", got, lid, sizeof(lid), why, sizeof(why)),
	    -AUTHOR_MALFORMED);
	buf_free(&m);
	buf_free(&h);
	/* none stated: -1, and a member's plain signature counts */
	buf_init(&h, 0);
	ck_assert_int_eq(author_sign(seed, NULL, 1700000000, msg,
	    sizeof(msg) - 1, &h), 0);
	buf_init(&m, 0);
	buf_append(&m, h.data, h.len);
	buf_puts(&m, msg);
	ck_assert_int_eq(author_claim((char *)m.data, m.len, kind,
	    sizeof(kind), back, sizeof(back)), -1);
	ck_assert_msg(author_verify((char *)m.data, m.len,
	    "demo.lists.example", got, lid, sizeof(lid), why, sizeof(why)) ==
	    0, "%s", why);
	buf_free(&m);
	buf_free(&h);
}
END_TEST

START_TEST(author_signature)
{
	static const char msg[] =
	    "From: \"Alice via demo\" <demo@lists.example>\r\nSubject: [demo] thesis\r\n"
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <m1@lists.example>\r\n"
	    "List-Id: \"Demo\" <demo.lists.example>\r\n\r\nOn the question of organisation.\r\n";
	unsigned char seed[32], pk[32], sk[64], got[32];
	char why[160], lid[128], fp1[64], fp2[64];
	struct buf h, m;

	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	buf_init(&h, 0);
	ck_assert_int_eq(author_sign(seed, NULL, 1700000000, msg, sizeof(msg) - 1, &h), 0);
	buf_init(&m, 0);
	buf_append(&m, h.data, h.len);
	buf_puts(&m, msg);
	ck_assert_msg(author_verify((char *)m.data, m.len, NULL, got, lid, sizeof(lid), why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(memcmp(got, pk, 32), 0);
	ck_assert_str_eq(lid, "demo.lists.example");
	author_fingerprint(pk, fp1, sizeof(fp1));
	ck_assert_uint_eq(strlen(fp1), 39);
	/* tampering: body, subject, another list */
	{
		static const struct { const char *from, *to, *why; } t[] = {
			{ "organisation.", "organisatien.", "body changed" },
			{ "[demo] thesis", "[demo] thesiz", "does not verify" },
			{ "<m1@lists", "<m2@lists", "does not verify" },
			{ "<demo.lists.example>\r\n\r\n", "<other.lists.example>\r\n\r\n", "signed for another list" },
		};

		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			char *c = strndup((char *)m.data, m.len), *at = strstr(c, t[i].from);
			struct buf x;

			ck_assert_ptr_nonnull(at);
			buf_init(&x, 0);
			buf_append(&x, c, (size_t)(at - c));
			buf_puts(&x, t[i].to);
			buf_puts(&x, at + strlen(t[i].from));
			ck_assert_int_ne(author_verify((char *)x.data, x.len, NULL, got, lid, sizeof(lid), why, sizeof(why)), 0);
			ck_assert_msg(strstr(why, t[i].why) != NULL, "%zu: %s", i, why);
			buf_free(&x);
			free(c);
		}
	}
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	author_fingerprint(pk, fp2, sizeof(fp2));
	ck_assert_str_ne(fp1, fp2);
	buf_free(&h);
	buf_free(&m);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dkim");
	TCase *tc = tcase_create("core");

	if (sodium_init() < 0)
		return 1;
	tcase_add_test(tc, rfc8463_known_answer);
	tcase_add_test(tc, author_claim_round_trip);
	tcase_add_test(tc, rfc8463_tampering_detected);
	tcase_add_test(tc, sign_then_verify);
	tcase_add_test(tc, dns_record);
	tcase_add_test(tc, author_signature);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
