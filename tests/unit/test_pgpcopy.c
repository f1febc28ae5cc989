/*
 * test_pgpcopy.c - a member's PGP/MIME copy: dated by the copy's Date:,
 * outer headers from the allow-list only, the inside the plain copy.
 */
#include "testutil.h"
#include <sodium.h>

#include "../../mlistd/delivery/pgpcopy.h"

static char why[OPENPGP_WHY_SIZE];

#define COPY "From: Carol <carol@example.com>\r\nTo: demo@lists.example\r\n" \
	"Cc: dave@example.net\r\nSubject: [demo] the secret plan\r\n" \
	"Date: Tue, 14 Nov 2023 22:15:00 +0000\r\nMessage-ID: <1@lists.example>\r\n" \
	"X-Mailer: Leaky 1.0\r\nList-Id: <demo.lists.example>\r\n" \
	"Content-Type: text/plain; charset=utf-8\r\n\r\nMeet at six.\r\n"

START_TEST(date_is_the_copy_s)
{
	ck_assert_int_eq(pgpcopy_date(COPY, strlen(COPY)), 1700000100LL);
	ck_assert_int_eq(pgpcopy_date("Date: yesterday\r\n\r\nx", 21), 0);
	ck_assert_int_eq(pgpcopy_date("Subject: s\r\n\r\nx", 16), 0);
}
END_TEST

/* outer - the header block of m */
static char *
outer(const struct buf *m)
{
	const char *e = memmem(m->data, m->len, "\r\n\r\n", 4);

	ck_assert_ptr_nonnull(e);
	return strndup((const char *)m->data, (size_t)(e - (const char *)m->data) + 2);
}

#define REPLY(id, irt, refs) "From: a@example.com\r\n" \
	"To: demo@lists.example\r\n" \
	"Date: Tue, 14 Nov 2023 22:15:00 +0000\r\nMessage-ID: " id "\r\n" \
	irt refs "Content-Type: text/plain\r\n\r\nx\r\n"

/* ids - the outer Message-ID, In-Reply-To and References of raw's copy */
static void
ids(const struct openpgp_secret *s, const unsigned char *seed,
    const char *raw, char *mid, char *irt, char *refs)
{
	struct pgpcopy_post p;
	const char *f[] = { "\r\nMessage-ID: ", "\r\nIn-Reply-To: ",
	    "\r\nReferences: " };
	char *out[] = { mid, irt, refs }, *v, *e;
	char *h;

	ck_assert_int_eq(pgpcopy_prepare(s, NULL, "demo", "lists.example", seed,
	    raw, strlen(raw), OPENPGP_BUCKET_MIN, 1, &p, why, sizeof(why)), OK);
	h = strndup((const char *)p.head.data, p.head.len);
	for (int i = 0; i < 3; i++) {
		*out[i] = 0;
		if ((v = strstr(h, f[i])) == NULL)
			continue;
		v += strlen(f[i]);
		e = strstr(v, "\r\n");
		snprintf(out[i], 200, "%.*s", (int)(e - v), v);
	}
	free(h);
	pgpcopy_post_free(&p);
}

/*
 * the thread outside: fixed-length ids, the same for every copy under one
 * seed, the parent alone in In-Reply-To and References, a hashed id kept
 */
START_TEST(outer_thread_ids_are_fixed_length_hashes)
{
	struct openpgp_secret *s;
	unsigned char seed[PGPCOPY_SEED_LEN];
	char m1[200], i1[200], r1[200], m2[200], i2[200], r2[200];
	char m3[200], i3[200], r3[200], raw[600];

	memset(seed, 7, sizeof(seed));
	ck_assert_int_eq(openpgp_list_generate("demo", "lists.example",
	    1700000000, &s, why, sizeof(why)), OK);
	ids(s, seed, REPLY("<short@a.example>", "", ""), m1, i1, r1);
	ck_assert_uint_eq(strlen(m1), 32 + strlen("<@lists.example>"));
	ck_assert(*i1 == 0 && *r1 == 0);
	ids(s, seed, REPLY("<a-much-longer-message-id.12345@mail.b.example>",
	    "In-Reply-To: <short@a.example>\r\n",
	    "References: <root.with.a.long.id@c.example>\r\n"
	    " <short@a.example>\r\n"), m2, i2, r2);
	ck_assert_uint_eq(strlen(m2), strlen(m1));
	ck_assert_str_eq(i2, m1);	/* the parent's outer id: threads */
	ck_assert_str_eq(r2, m1);	/* the parent only, not the chain */
	ck_assert_str_ne(m2, m1);
	/* a reply to an encrypted copy names its outer id: kept */
	snprintf(raw, sizeof(raw), REPLY("<x@d.example>", "In-Reply-To: %s\r\n",
	    ""), m2);
	ids(s, seed, raw, m3, i3, r3);
	ck_assert_str_eq(i3, m2);
	ck_assert_str_eq(r3, m2);
	/* References alone: its last id is the parent */
	ids(s, seed, REPLY("<y@d.example>", "", "References: <r@e> <q@f>\r\n"),
	    m3, i3, r3);
	ids(s, seed, REPLY("<q@f>", "", ""), m1, i1, r1);
	ck_assert_str_eq(i3, m1);
	openpgp_secret_free(s);
}
END_TEST

START_TEST(outer_headers_are_the_allow_list)
{
	struct openpgp_secret *s;
	struct openpgp_key k;
	struct pgpcopy_post p;
	struct openpgp_plain pl;
	struct buf pub, out, pay;
	const char *kind = NULL;
	char *h;

	ck_assert_int_eq(openpgp_list_generate("demo", "lists.example",
	    1700000000, &s, why, sizeof(why)), OK);
	buf_init(&pub, 0);
	ck_assert_int_eq(openpgp_list_public(s, 0, &pub, why, sizeof(why)), OK);
	/* the list's own key stands in for a member's: it has a cv25519 subkey */
	ck_assert_int_eq(openpgp_key_import(pub.data, pub.len, OPENPGP_BINARY, &k,
	    why, sizeof(why)), OK);
	ck_assert_int_eq(pgpcopy_prepare(s, NULL, "demo", "lists.example", NULL,
	    COPY, strlen(COPY), OPENPGP_BUCKET_MIN, 1, &p, why, sizeof(why)),
	    OK);
	ck_assert_uint_eq(p.signed_.created, 1700000100);
	buf_init(&out, 0);
	ck_assert_int_eq(pgpcopy_make(&p, &k.bin, &out, why, sizeof(why)), OK);
	h = outer(&out);
	ck_assert_ptr_nonnull(strstr(h, "From: <demo@lists.example>\r\n"));
	ck_assert_ptr_nonnull(strstr(h, "Subject: ...\r\n"));
	ck_assert_ptr_nonnull(strstr(h, "Date: Tue, 14 Nov 2023 22:15:00 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(h, "\r\nMessage-ID: <"));
	/* the real id inside only */
	ck_assert_ptr_null(strstr(h, "<1@lists.example>"));
	ck_assert_ptr_nonnull(strstr(h, "To: <demo@lists.example>\r\n"));
	ck_assert_ptr_nonnull(strstr(h, "List-Id: <demo.lists.example>\r\n"));
	ck_assert_ptr_nonnull(strstr(h, "Autocrypt: addr=demo@lists.example;"));
	ck_assert_ptr_nonnull(strstr(h, "multipart/encrypted"));
	ck_assert_ptr_null(strstr(h, "secret plan"));
	ck_assert_ptr_null(strstr(h, "carol"));
	ck_assert_ptr_null(strstr(h, "Cc:"));
	ck_assert_ptr_null(strstr(h, "X-Mailer"));
	ck_assert_ptr_null(memmem(out.data, out.len, "Meet at six", 11));
	/* inside: the copy, signed by the list */
	memset(&pl, 0, sizeof(pl));
	buf_init(&pay, 0);
	ck_assert_int_eq(openpgp_payload_find(out.data, out.len, &pay, &kind), OK);
	ck_assert_int_eq(openpgp_decrypt(s, &k, pay.data, pay.len, &pl, why,
	    sizeof(why)), OK);
	buf_free(&pay);
	ck_assert(pl.encrypted && pl.verified);
	ck_assert_uint_eq(pl.sig_created, 1700000100);
	ck_assert_ptr_nonnull(memmem(pl.data.data, pl.data.len,
	    "Subject: [demo] the secret plan\r\n", 33));
	ck_assert_ptr_nonnull(memmem(pl.data.data, pl.data.len, "Meet at six.", 12));
	openpgp_plain_free(&pl);
	free(h);
	buf_free(&out);
	buf_free(&pub);
	pgpcopy_post_free(&p);
	openpgp_key_free(&k);
	openpgp_secret_free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pgpcopy");
	TCase *tc = tcase_create("core");

	if (sodium_init() < 0)	/* the list's secret key lives in sodium memory */
		return 1;
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, date_is_the_copy_s);
	tcase_add_test(tc, outer_headers_are_the_allow_list);
	tcase_add_test(tc, outer_thread_ids_are_fixed_length_hashes);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
