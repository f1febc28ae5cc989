/*
 * test_pgpwhy.c - the engine's reasons for refusing a key become our
 * codes: every text mail/openpgp*.c can write for a refused key maps to
 * a code of its own (or, for a failure of the engine itself, pgp-error),
 * and what the engine says of real bad keys too, so that a text reworded
 * there is caught here before a member reads the catch-all.
 */
#include "testutil.h"
#include "mail/audit.h"
#include "mail/openpgp.h"
#include "pipeline/pgpwhy.h"

/* the engine's own failures: no fault of the key, told as pgp-error */
static const char *const engine_fault[] = {
	"librnp failed on the key", "out of memory reading the key",
	"librnp context failed", NULL
};

/* known - a text the table must know (not a fault of the engine) */
static int
known(const char *text)
{
	for (int i = 0; engine_fault[i]; i++)
		if (strcmp(text, engine_fault[i]) == 0)
			return 0;
	return 1;
}

/*
 * every WHY(why, whylen, "...") of the key checks: its text up to the
 * first format directive maps to a code, not the catch-all
 */
START_TEST(every_refusal_text_has_a_code)
{
	static const char *const files[] = { "mlistd/mail/openpgp_key.c",
	    NULL };
	int seen = 0;

	for (int f = 0; files[f]; f++) {
		FILE *fp = fopen(files[f], "r");
		char line[400];

		ck_assert_ptr_nonnull(fp);
		while (fgets(line, sizeof(line), fp)) {
			char *s = strstr(line, "WHY(why, whylen, "), text[300];
			size_t n;

			if (s == NULL || (s = strchr(s, '"')) == NULL)
				continue;
			s++;
			if (strncmp(s, "%s", 2) == 0)
				continue;	/* another's words, passed on */
			/* the literal up to its end or a directive, unescaped */
			for (n = 0; *s && *s != '"' && *s != '%' &&
			    n + 1 < sizeof(text); s++)
				if (*s != '\\')
					text[n++] = *s;
				else if (s[1])
					text[n++] = *++s;
			text[n] = 0;
			seen++;
			if (!known(text))
				continue;
			ck_assert_msg(pgpwhy_reason(text) != REASON_PGP_ERROR,
			    "%s: \"%s\" has no code (pipeline/pgpwhy.c)",
			    files[f], text);
		}
		ck_assert_int_eq(fclose(fp), 0);
	}
	ck_assert_int_gt(seen, 10);
}
END_TEST

/* real bad keys, through the engine, and the code a member is told */
static const struct {
	const char	*data;
	enum openpgp_format fmt;
	enum reason_id	 code;
} bad[] = {
	{ "hello", OPENPGP_ARMOR, REASON_PGP_UNREADABLE },
	{ "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n"
	  "-----END PGP PUBLIC KEY BLOCK-----\n", OPENPGP_ARMOR,
	  REASON_PGP_UNREADABLE },
	{ "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxcA=\n"
	  "-----END PGP PRIVATE KEY BLOCK-----\n", OPENPGP_ARMOR,
	  REASON_PGP_SECRET },		/* said as what it claims to be */
	{ "*not base64*", OPENPGP_AUTOCRYPT, REASON_PGP_UNREADABLE },
	{ "\x99\x00\x03\x03\x00\x00", OPENPGP_BINARY, REASON_PGP_UNREADABLE },
};

START_TEST(bad_keys_get_their_code)
{
	struct openpgp_key k;
	char why[OPENPGP_WHY_SIZE];
	size_t len = strlen(bad[_i].data);

	memset(&k, 0, sizeof(k));
	ck_assert_int_ne(openpgp_key_import(bad[_i].data, len, bad[_i].fmt,
	    &k, why, sizeof(why)), OK);
	ck_assert_msg(pgpwhy_reason(why) == bad[_i].code,
	    "\"%s\" is %s", why, reason_code(pgpwhy_reason(why)));
}
END_TEST

START_TEST(other_texts_are_the_catch_all)
{
	ck_assert_int_eq(pgpwhy_reason(""), REASON_PGP_ERROR);
	ck_assert_int_eq(pgpwhy_reason("librnp failed on the key"),
	    REASON_PGP_ERROR);
	ck_assert_int_eq(pgpwhy_reason("RSA key of 1024 bits: at least 2048 "
	    "needed"), REASON_PGP_WEAK);
	ck_assert_str_eq(reason_code(REASON_PGP_EXPIRED), "pgp-expired");
}
END_TEST


/*
 * every code the worker writes ("@CODE" in its sources) has its piece
 * [why-CODE] in the shipped templates, and is worded with its arguments
 */
START_TEST(every_worker_code_has_its_piece)
{
	/* each file's codes and the pieces that word them (NULL: either) */
	static const char *const files[][2] = {
	    { "mlistd/pipeline/transform.c", "why-" },
	    { "mlistd/pipeline/worker.c", "why-" },
	    { "mlistd/pipeline/rewrite.c", "part-" },
	    { "mlistd/pipeline/post.c", NULL }, { NULL, NULL } };
	struct notice_ctx ctx = { "demo", "lists.example" };
	struct notices *n;
	struct buf err;
	char out[400];
	int seen = 0;

	buf_init(&err, 0);
	ck_assert_int_eq(notices_load("conf/templates/notices", 1, &n, &err),
	    0);
	for (int f = 0; files[f][0]; f++) {
		FILE *fp = fopen(files[f][0], "r");
		char line[400], name[100], other[100];

		ck_assert_ptr_nonnull(fp);
		while (fgets(line, sizeof(line), fp)) {
			const char *s = strstr(line, "\"@");
			size_t k;

			if (s == NULL)
				continue;
			k = strspn(s + 2, "abcdefghijklmnopqrstuvwxyz-");
			if (k == 0 || s[1 + k] == '-')
				continue;	/* "@parser-%s": a family, below */
			snprintf(name, sizeof(name), "%s%.*s", files[f][1] ?
			    files[f][1] : "why-", (int)k, s + 2);
			snprintf(other, sizeof(other), "part-%.*s", (int)k,
			    s + 2);
			ck_assert_msg(notice_piece_id(name) >= 0 ||
			    (!files[f][1] && notice_piece_id(other) >= 0),
			    "%s: [%s] is not a piece", files[f][0], name);
			seen++;
		}
		ck_assert_int_eq(fclose(fp), 0);
	}
	ck_assert_int_gt(seen, 10);
	for (int i = 0; i < 3; i++) {
		static const char *const fam[] = { "why-parser-crashed",
		    "why-parser-forbidden", "why-parser-failed" };

		ck_assert_int_ge(notice_piece_id(fam[i]), 0);
	}
	pgpwhy_words(NULL, n, &ctx, "@parser-timeout\tseconds=3",
	    REASON_UNREADABLE, out,
	    sizeof(out));
	ck_assert_str_eq(out, "the message could not be parsed (parser timed "
	    "out: it took more than 3 s)");
	/* a text without a code is never what the member reads */
	pgpwhy_words(NULL, n, &ctx, "librnp: Bad state", REASON_UNREADABLE,
	    out, sizeof(out));
	ck_assert_str_eq(out, "the list could not read it");
	pgpwhy_words(NULL, n, &ctx, "the key is revoked", REASON_PGP_ERROR,
	    out, sizeof(out));
	ck_assert_str_eq(out, "the key is revoked");
	notices_free(n);
	buf_free(&err);
}
END_TEST

#define N(a)	((int)(sizeof(a) / sizeof((a)[0])))

int
main(void)
{
	Suite *s = suite_create("pgpwhy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, every_refusal_text_has_a_code);
	tcase_add_loop_test(tc, bad_keys_get_their_code, 0, N(bad));
	tcase_add_test(tc, other_texts_are_the_catch_all);
	tcase_add_test(tc, every_worker_code_has_its_piece);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
