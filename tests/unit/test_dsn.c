/* test_dsn.c - bounce.c's DSN reader: known answers on real shapes, replays. */
#include <dirent.h>

#include "testutil.h"
#include "../../mlistd/delivery/bounce.h"
#include "../../mlistd/delivery/envid.h"
#include "../../mlistd/util/fsutil.h"

#define SEEDS	"tests/fuzz/seeds/dsn"

/* the seeds (tests/fuzz/seeds/dsn): what each must yield, from <> */
static const struct {
	const char	*file;
	const char	*failed[3];	/* NULL-terminated */
} seeds[] = {
	{ "postfix.eml", { "carol@example.org", NULL } },
	{ "exim-three.eml", { "bob@example.net", "erin@example.net", NULL } },
	{ "gmail-lf.eml", { "frank@example.com", NULL } },
	{ "minimal-unterminated.eml", { "a@example.org", NULL } },
	/* Postfix 3.7 bouncing a copy sent with RET=HDRS ENVID=... */
	{ "postfix-envid.eml", { "dave@gone.example", NULL } },
	/* Postfix 3.7 bouncing a copy sent with ENVID= and RCPT ORCPT= */
	{ "postfix-orcpt.eml", { "dave@gone.example", NULL } },
};

/* load - a file in a buffer of exactly its size (ASan sees over-reads) */
static char *
load(const char *path, size_t *n)
{
	struct buf raw;
	char *m;

	buf_init(&raw, 0);
	ck_assert_int_eq(fs_read_file(path, &raw, NULL), 0);
	ck_assert_ptr_nonnull(m = malloc(raw.len ? raw.len : 1));
	memcpy(m, raw.data, raw.len);
	*n = raw.len;
	buf_free(&raw);
	return m;
}

/* failed_of - the failed recipients read in m (from <>); -1 not a DSN */
static int
failed_of(const char *m, size_t n, char found[][ADDR_MAX + 1], int max)
{
	size_t slen = 0;
	const char *st = bounce_dsn_status("", m, n, &slen);

	if (!st)
		return -1;
	ck_assert(st >= m && st + slen <= m + n);
	return bounce_dsn_recipients(st, slen, found, max);
}

START_TEST(seeds_known_answers)
{
	char path[256], found[8][ADDR_MAX + 1];
	size_t n, slen;
	char *m;
	int k, want;

	snprintf(path, sizeof(path), SEEDS "/%s", seeds[_i].file);
	m = load(path, &n);
	for (want = 0; seeds[_i].failed[want]; want++)
		;
	k = failed_of(m, n, found, 8);
	ck_assert_msg(k == want, "%s: %d failed recipients, want %d",
	    seeds[_i].file, k, want);
	for (int i = 0; i < want; i++)
		ck_assert_str_eq(found[i], seeds[_i].failed[i]);
	/* a DSN comes from <>: the same text from anyone else is not one */
	ck_assert_ptr_null(
	    bounce_dsn_status("mailer-daemon@example.org", m, n, &slen));
	free(m);
}
END_TEST

/* every prefix of every seed, each in a buffer of its size: it returns */
START_TEST(seeds_truncated)
{
	char path[256], found[8][ADDR_MAX + 1];
	size_t n;
	char *m, *cut;

	snprintf(path, sizeof(path), SEEDS "/%s", seeds[_i].file);
	m = load(path, &n);
	for (size_t len = 0; len <= n; len++) {
		ck_assert_ptr_nonnull(cut = malloc(len ? len : 1));
		memcpy(cut, m, len);
		(void)failed_of(cut, len, found, 8);
		(void)bounce_dsn_recipients(cut, len, found, 8);
		free(cut);
	}
	free(m);
}
END_TEST

/* replay - one input through both readers, as fuzz_dsn does */
static void
replay(const char *m, size_t n, void *arg)
{
	char found[8][ADDR_MAX + 1];

	(void)arg;
	(void)failed_of(m, n, found, 8);
	(void)bounce_dsn_recipients(m, n, found, 8);
}

/* what fuzz_dsn found (fuzz-regressions/dsn-*) and every other input there */
START_TEST(fuzz_regressions)
{
	ck_assert_int_gt(tu_fuzz_inputs("", replay, NULL), 0);
}
END_TEST

/* groups in either field order, with or without the blank line between them */
START_TEST(group_shapes)
{
	static const char m[] =
	    "Reporting-MTA: dns; mx\r\n\r\n"
	    "Final-Recipient: rfc822; a@example.org\r\nAction: failed\r\n"
	    "Final-Recipient: rfc822; b@example.org\r\n"
	    "Action: delivered\r\n\r\n"
	    "Action: failed\r\nFinal-Recipient: rfc822; c@example.org\r\n\r\n"
	    "Final-Recipient: rfc822; d@example.org\r\nAction: failed";
	char found[4][ADDR_MAX + 1];

	ck_assert_int_eq(bounce_dsn_recipients(m, sizeof(m) - 1, found, 4), 3);
	ck_assert_str_eq(found[0], "a@example.org");
	ck_assert_str_eq(found[1], "c@example.org");
	ck_assert_str_eq(found[2], "d@example.org");
	ck_assert_int_eq(bounce_dsn_recipients(m, sizeof(m) - 1, found, 1), 1);
}
END_TEST

/*
 * each failed recipient's Original-Recipient, before its Final-Recipient
 * (RFC 3464) or after it (Postfix), only rfc822 and of our length
 */
START_TEST(original_recipients)
{
#define O74	"M3.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz" \
		"abcdefghijklmnopqrs"
#define O74B	"M3.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz" \
		"abcdefghijklmnopqrB"
	static const char m[] =
	    "Reporting-MTA: dns; mx\r\n\r\n"
	    "Original-Recipient: rfc822;" O74 "\r\n"
	    "Final-Recipient: rfc822; a@example.org\r\nAction: failed\r\n\r\n"
	    "Final-Recipient: rfc822; b@example.org\r\nAction: failed\r\n"
	    "Original-Recipient: RFC822; " O74 "x\r\n\r\n"
	    "Final-Recipient: rfc822; c@example.org\r\nAction: failed\r\n"
	    "Original-Recipient: rfc822;" O74 " \r\n\r\n"
	    "Original-Recipient: utf-8;" O74 "\r\n"
	    "Final-Recipient: rfc822; d@example.org\r\nAction: failed\r\n"
	    "\r\n"
	    /* RFC 3464's order without the blank line between groups */
	    "Original-Recipient: rfc822;" O74 "\r\n"
	    "Final-Recipient: rfc822; e@example.org\r\nAction: failed\r\n"
	    "Original-Recipient: rfc822;" O74B "\r\n"
	    "Final-Recipient: rfc822; f@example.org\r\nAction: failed\r\n";
	char found[8][ADDR_MAX + 1], orig[8][ENVID_ORCPT_MAX];

	ck_assert_uint_eq(strlen(O74), ENVID_ORCPT_LEN);
	ck_assert_int_eq(bounce_dsn_failed(m, sizeof(m) - 1, found, orig, 8),
	    6);
	ck_assert_str_eq(found[0], "a@example.org");
	ck_assert_str_eq(orig[0], O74);
	ck_assert_str_eq(found[1], "b@example.org");
	ck_assert_str_eq(orig[1], "");		/* too long: not ours */
	ck_assert_str_eq(found[2], "c@example.org");
	ck_assert_str_eq(orig[2], O74);		/* Postfix's order */
	ck_assert_str_eq(found[3], "d@example.org");
	ck_assert_str_eq(orig[3], "");		/* not rfc822 */
	ck_assert_str_eq(found[4], "e@example.org");
	ck_assert_str_eq(orig[4], O74);
	ck_assert_str_eq(found[5], "f@example.org");
	ck_assert_str_eq(orig[5], O74B);
	/* without the array: the same recipients */
	ck_assert_int_eq(bounce_dsn_recipients(m, sizeof(m) - 1, found, 8), 6);
	ck_assert_int_eq(bounce_dsn_failed(m, sizeof(m) - 1, found, orig, 2),
	    2);
	ck_assert_str_eq(orig[1], "");
#undef O74
#undef O74B
}
END_TEST

/* Postfix returns the original recipient after the Final-Recipient */
START_TEST(orcpt_from_postfix)
{
	char found[2][ADDR_MAX + 1], orig[2][ENVID_ORCPT_MAX];
	size_t n, slen = 0;
	const char *st;
	char *m = load(SEEDS "/postfix-orcpt.eml", &n);

	ck_assert_ptr_nonnull(st = bounce_dsn_status("", m, n, &slen));
	ck_assert_int_eq(bounce_dsn_failed(st, slen, found, orig, 2), 1);
	ck_assert_str_eq(found[0], "dave@gone.example");
	ck_assert_str_eq(orig[0], "M3.pUR_HlT85Gyx93uZnfbNQw_QnypJDHYrTsth8M"
	    "07dOI-MALDwPUSzHG7o1fgxM63ZTElksA");
	free(m);
}
END_TEST

/* Postfix returns the envelope id among the per-message fields */
START_TEST(envid_from_postfix)
{
	char envid[ENVID_MAX];
	size_t n, slen = 0;
	const char *st;
	char *m = load(SEEDS "/postfix-envid.eml", &n);

	ck_assert_ptr_nonnull(st = bounce_dsn_status("", m, n, &slen));
	ck_assert_int_eq(bounce_dsn_envid(st, slen, envid, sizeof(envid)), 0);
	ck_assert_str_eq(envid, "M1.6B101E12AEC9E86C4411CECC.17.19."
	    "0123456789abcdef01234567");
	free(m);
}
END_TEST

/* only the first group's, whole, and never cut to fit */
START_TEST(envid_shapes)
{
	static const char *const none[] = {
		"Reporting-MTA: dns; mx\r\n\r\n"
		"Original-Envelope-Id: late\r\nAction: failed\r\n",
		"Reporting-MTA: dns; mx\r\nOriginal-Envelope-Id:   \r\n",
		"Reporting-MTA: dns; mx\r\nOriginal-Envelope-Id:",
		"Original-Envelope-Id: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxx\r\n",
		"",
	};
	static const char lf[] = "original-envelope-id:  M1.A.1.2.ab \n\nx";
	char out[ENVID_MAX];

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		ck_assert_int_eq(bounce_dsn_envid(none[i], strlen(none[i]),
		    out, sizeof(out)), -1);
	ck_assert_int_eq(bounce_dsn_envid(lf, sizeof(lf) - 1, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "M1.A.1.2.ab");
	ck_assert_int_eq(bounce_dsn_envid(lf, sizeof(lf) - 1, out, 11), -1);
}
END_TEST

/* a boundary unclosed, or longer than RFC 2046 allows: not a DSN */
START_TEST(bad_boundaries)
{
	static const char *const bad[] = {
		"Content-Type: multipart/report; "
		"boundary=\"unclosed\r\n\r\n--unclosed\r\n",
		"Content-Type: multipart/report; boundary=\"\"\r\n\r\n--\r\n",
		"Content-Type: multipart/report; boundary="
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxx"
		"\r\n\r\n--x\r\n",
		"Content-Type: multipart/report\r\n\r\n--\r\n",
	};
	char found[2][ADDR_MAX + 1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(
		    failed_of(bad[i], strlen(bad[i]), found, 2), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dsn");
	TCase *tc = tcase_create("core");
	int n = (int)(sizeof(seeds) / sizeof(seeds[0]));

	tcase_add_loop_test(tc, seeds_known_answers, 0, n);
	tcase_add_loop_test(tc, seeds_truncated, 0, n);
	tcase_add_test(tc, fuzz_regressions);
	tcase_add_test(tc, bad_boundaries);
	tcase_add_test(tc, group_shapes);
	tcase_add_test(tc, envid_from_postfix);
	tcase_add_test(tc, original_recipients);
	tcase_add_test(tc, orcpt_from_postfix);
	tcase_add_test(tc, envid_shapes);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
