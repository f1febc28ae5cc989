/*
 * test_render.c - the one renderer of composed copies: the RFC 5322 Date
 * (fixed length, UTC, the epoch where a time cannot be written), folding
 * to 78 columns at blanks only (unfolding gives the field back), the
 * fixed order of the fields after the From, CRLF text and boundaries.
 */
#include <limits.h>

#include "testutil.h"
#include "../../mlistd/mail/config.h"
#include "../../mlistd/pipeline/render.h"
#include "../../mlistd/util/utc.h"

/* times and their Date, the day always two digits */
static const struct {
	long long	 t;
	const char	*date;
	int		 rc;
} dates[] = {
	{ 0, "Thu, 01 Jan 1970 00:00:00 +0000", 0 },
	{ 1700000000, "Tue, 14 Nov 2023 22:13:20 +0000", 0 },
	{ 1709251199, "Thu, 29 Feb 2024 23:59:59 +0000", 0 },
	{ 1704153600, "Tue, 02 Jan 2024 00:00:00 +0000", 0 },
	{ LLONG_MAX, "Thu, 01 Jan 1970 00:00:00 +0000", -1 },
};

START_TEST(date_form)
{
	char d[UTC_DATE_MAX];
	struct buf b;
	char want[64];

	ck_assert_int_eq(utc_date(dates[_i].t, d, sizeof(d)), dates[_i].rc);
	ck_assert_str_eq(d, dates[_i].date);
	ck_assert_uint_eq(strlen(d), UTC_DATE_MAX - 1);
	buf_init(&b, 0);
	ck_assert_int_eq(render_date(&b, dates[_i].t), 0);
	snprintf(want, sizeof(want), "Date: %s\r\n", dates[_i].date);
	ck_assert_str_eq(buf_cstr(&b), want);
	buf_free(&b);
}
END_TEST

#define W10	"abcdefghi "
#define LONG	W10 W10 W10 W10 W10 W10 W10 W10 W10 W10 "end"
#define WORD8	"abcdefgh"
#define WORD80	WORD8 WORD8 WORD8 WORD8 WORD8 WORD8 WORD8 WORD8 WORD8 WORD8

/* fields and how they are written; NULL: as they came, with CRLF */
static const struct {
	const char	*in;
	const char	*out;
} folds[] = {
	{ "Subject: short\r\n", NULL },
	{ "Subject: short", "Subject: short\r\n" },
	{ "Subject: a\nSubject-ish: b\n", "Subject: a\r\nSubject-ish: b\r\n" },
	/* broken at the last blank within 78, the blank starting the next */
	{ "Subject: " LONG "\r\n",
	    "Subject: " W10 W10 W10 W10 W10 W10 "abcdefghi\r\n"
	    " " W10 W10 W10 "end\r\n" },
	/* one word: nothing to break at, never right after the name */
	{ "Subject: =?utf-8?B?" "YWJjZGVmZ2hpYWJjZGVmZ2hpYWJjZGVmZ2hpYWJjZGVm"
	    "Z2hpYWJjZGVmZ2hpYWJjZA==?=\r\n", NULL },
	/* already folded lines stay; trailing blanks never make a line */
	{ "Subject: x\r\n y\r\n", NULL },
	{ "Subject: " WORD80 "      \r\n", NULL },
};

START_TEST(fold)
{
	struct buf b;
	const char *want = folds[_i].out ? folds[_i].out : folds[_i].in;

	buf_init(&b, 0);
	ck_assert_int_eq(render_fold(&b, folds[_i].in, strlen(folds[_i].in)),
	    0);
	ck_assert_str_eq(buf_cstr(&b), want);
	buf_free(&b);
}
END_TEST

/* unfold - RFC 5322 2.2.3: CRLF before a blank taken out */
static void
unfold(const char *in, struct buf *out)
{
	for (; *in; in++)
		if (!(in[0] == '\r' && in[1] == '\n' && (in[2] == ' ' ||
		    in[2] == '\t')))
			buf_putc(out, *in);
		else
			in++;
}

START_TEST(fold_unfolds)
{
	struct buf b, u;
	const char *l, *nl;
	char v[600], want[700];
	int n = 0;

	/* words of every length up to 12: every place a break may fall */
	for (int i = 0; n < 500; i = (i + 1) % 12) {
		for (int k = 0; k <= i && n < 500; k++)
			v[n++] = 'a' + (char)k;
		v[n++] = ' ';
	}
	v[n - 1] = 0;
	buf_init(&b, 0);
	buf_init(&u, 0);
	ck_assert_int_eq(render_field(&b, "Subject", v), 0);
	for (l = buf_cstr(&b); (nl = strstr(l, "\r\n")) != NULL; l = nl + 2) {
		ck_assert_int_le(nl - l, RENDER_LINE);
		ck_assert(l == buf_cstr(&b) || *l == ' ');
	}
	ck_assert_int_gt(b.len, strlen(v) + 2 * 6);	/* it was folded */
	unfold(buf_cstr(&b), &u);
	snprintf(want, sizeof(want), "Subject: %s\r\n", v);
	ck_assert_str_eq(buf_cstr(&u), want);
	buf_free(&b);
	buf_free(&u);
}
END_TEST

START_TEST(head_order)
{
	struct config cfg;
	struct list_cfg l;
	struct render_head h = { .to = "bob@example.org",
	    .reply_to = "demo@lists.example", .subject = "Hello",
	    .date = 1700000000, .msgid = "<n.1@lists.example>",
	    .between = "Auto-Submitted: auto-replied\r\n", .cfg = &cfg,
	    .list = &l };
	struct buf b;

	memset(&cfg, 0, sizeof(cfg));
	memset(&l, 0, sizeof(l));
	cfg.hostname = "lists.example";
	l.name = "demo";
	l.description = "";
	l.archive_url = "";
	buf_init(&b, 0);
	ck_assert_int_eq(render_head(&b, &h), 0);
	ck_assert_str_eq(buf_cstr(&b), "To: <bob@example.org>\r\n"
	    "Reply-To: <demo@lists.example>\r\nSubject: Hello\r\n"
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "Message-ID: <n.1@lists.example>\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "List-Id: <demo.lists.example>\r\n"
	    "List-Post: <mailto:demo@lists.example>\r\n"
	    "List-Help: <mailto:demo-request@lists.example?subject=help>\r\n"
	    "List-Unsubscribe: <mailto:demo-request@lists.example"
	    "?subject=unsubscribe>\r\n"
	    "List-Owner: <mailto:demo-owner@lists.example>\r\n"
	    "Precedence: list\r\nX-Loop: demo@lists.example\r\n");
	/* what is not set is not written; a whole Subject field is folded */
	buf_reset(&b);
	h.to = h.reply_to = h.subject = h.msgid = h.between = NULL;
	h.list = NULL;
	h.field = "Subject: " LONG "\n";
	h.field_len = strlen(h.field);
	ck_assert_int_eq(render_head(&b, &h), 0);
	ck_assert_str_eq(buf_cstr(&b),
	    "Subject: " W10 W10 W10 W10 W10 W10 "abcdefghi\r\n"
	    " " W10 W10 W10 "end\r\n"
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n");
	buf_free(&b);
}
END_TEST

START_TEST(text_and_parts)
{
	char b1[RENDER_BOUNDARY], b2[RENDER_BOUNDARY];
	struct buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(render_text(&b, "a\nb\r\n\nc"), 0);
	ck_assert_str_eq(buf_cstr(&b), "a\r\nb\r\n\r\nc\r\n");
	buf_reset(&b);
	ck_assert_int_eq(render_text_part(&b, "B", "contents", "x\n"), 0);
	ck_assert_str_eq(buf_cstr(&b), "--B\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
	    "Content-Description: contents\r\n\r\nx\r\n\r\n");
	buf_reset(&b);
	ck_assert_int_eq(render_mixed(&b, "B"), 0);
	ck_assert_str_eq(buf_cstr(&b), "MIME-Version: 1.0\r\nContent-Type: "
	    "multipart/mixed; boundary=\"B\"\r\n\r\n");
	buf_free(&b);
	render_boundary("digest", b1, sizeof(b1));
	render_boundary("digest", b2, sizeof(b2));
	ck_assert_uint_eq(strlen(b1), strlen("=_digest_") + 24);
	ck_assert(strncmp(b1, "=_digest_", 9) == 0);
	ck_assert(strspn(b1 + 9, "0123456789abcdef") == 24);
	ck_assert_str_ne(b1, b2);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, date_form, 0,
	    (int)(sizeof(dates) / sizeof(dates[0])));
	tcase_add_loop_test(tc, fold, 0,
	    (int)(sizeof(folds) / sizeof(folds[0])));
	tcase_add_test(tc, fold_unfolds);
	tcase_add_test(tc, head_order);
	tcase_add_test(tc, text_and_parts);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
