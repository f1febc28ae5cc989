/*
 * test_policy.c - policy_plain_from, the From the screen reads before the
 * parse: a table of From lines, each with the address it must give ("" for
 * "not plain: the parse decides"); and whatever it gives must be what the
 * worker's parser (libetpan's mailbox list, as transform.c reads it) gives.
 */
#include <libetpan/libetpan.h>

#include "testutil.h"

#include "../../mlistd/mail/header.h"
#include "../../mlistd/pipeline/policy.h"

static const struct {
	const char	*header;	/* the header section, no body */
	const char	*want;
} cases[] = {
	{ "From: alice@example.org\r\n", "alice@example.org" },
	{ "From: <alice@example.org>\r\n", "alice@example.org" },
	{ "From: Alice Liddell <alice@example.org>\r\n", "alice@example.org" },
	{ "From: Alice\r\n Liddell <alice@example.org>\r\n",
	    "alice@example.org" },
	{ "From:   alice.l+list@mail.example.org  \r\n",
	    "alice.l+list@mail.example.org" },
	{ "From: =?utf-8?q?Al=C3=AFce?= <alice@example.org>\r\n",
	    "alice@example.org" },
	/* not plain: the parse decides */
	{ "From: \"Alice\" <alice@example.org>\r\n", "" },
	{ "From: alice@example.org (Alice)\r\n", "" },
	{ "From: Alice <alice@example.org>, bob@example.org\r\n", "" },
	{ "From: group: alice@example.org;\r\n", "" },
	{ "From: bob@example.org <alice@example.org>\r\n", "" },
	{ "From: <alice@example.org> bob@example.org\r\n", "" },
	{ "From: \"a@b\"@example.org\r\n", "" },
	{ "From: alice..l@example.org\r\n", "" },
	{ "From: .alice@example.org\r\n", "" },
	{ "From: alice@example..org\r\n", "" },
	{ "From: alice@[192.0.2.1]\r\n", "" },
	{ "From: alice@example.org\r\nFrom: bob@example.org\r\n", "" },
	{ "Subject: no from\r\n", "" },
	{ "From: \r\n", "" },
	{ "From: <>\r\n", "" },
	{ "From: Al\xc3\xaf" "ce <alice@example.org>\r\n", "" },
	{ "From: alice@\r\n", "" },
	{ "From: @example.org\r\n", "" },
	{ "From: Alice <alice@example.org\r\n", "" },
};

/* etpan_from - the first mailbox's address as the worker reads it */
static void
etpan_from(const char *value, char *out, size_t n)
{
	struct mailimf_mailbox_list *mb = NULL;
	struct mailimf_mailbox *box;
	size_t idx = 0;

	out[0] = 0;
	if (mailimf_mailbox_list_parse(value, strlen(value), &idx, &mb) !=
	    MAILIMF_NO_ERROR)
		return;
	if (clist_begin(mb->mb_list)) {
		box = clist_content(clist_begin(mb->mb_list));
		if (box->mb_addr_spec && strlen(box->mb_addr_spec) < n)
			snprintf(out, n, "%s", box->mb_addr_spec);
	}
	mailimf_mailbox_list_free(mb);
}

/* from_of - policy_plain_from of a message with this header section */
static void
from_of(const char *header, char *out, size_t n)
{
	struct buf msg;

	buf_init(&msg, 0);
	ck_assert_int_eq(buf_puts(&msg, header), 0);
	ck_assert_int_eq(buf_puts(&msg, "\r\nbody\r\n"), 0);
	policy_plain_from(&msg, out, n);
	buf_free(&msg);
}

START_TEST(plain_forms_only)
{
	char got[ADDR_MAX + 1];

	from_of(cases[_i].header, got, sizeof(got));
	ck_assert_msg(strcmp(got, cases[_i].want) == 0,
	    "%s: \"%s\", not \"%s\"", cases[_i].header, got, cases[_i].want);
}
END_TEST

/* every address it gives is the worker's for the same field */
START_TEST(same_as_the_parser)
{
	char got[ADDR_MAX + 1], etpan[ADDR_MAX + 1];
	const char *v;

	from_of(cases[_i].header, got, sizeof(got));
	if (!*got)
		return;
	v = strchr(cases[_i].header, ':') + 1;
	etpan_from(v, etpan, sizeof(etpan));
	ck_assert_msg(strcmp(got, etpan) == 0, "%s: ours \"%s\", libetpan's "
	    "\"%s\"", cases[_i].header, got, etpan);
}
END_TEST

/* a header past the field limit is never read */
START_TEST(past_the_field_limit)
{
	struct buf msg;
	char got[ADDR_MAX + 1];

	buf_init(&msg, 0);
	ck_assert_int_eq(buf_puts(&msg, "From: alice@example.org\r\n"), 0);
	for (int i = 0; i < HDR_MAX_FIELDS + 1; i++)
		ck_assert_int_eq(buf_puts(&msg, "X-Filler: x\r\n"), 0);
	ck_assert_int_eq(buf_puts(&msg, "\r\nbody\r\n"), 0);
	policy_plain_from(&msg, got, sizeof(got));
	ck_assert_str_eq(got, "");
	buf_free(&msg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("plain_from");
	int n = (int)(sizeof(cases) / sizeof(cases[0]));

	tcase_add_loop_test(tc, plain_forms_only, 0, n);
	tcase_add_loop_test(tc, same_as_the_parser, 0, n);
	tcase_add_test(tc, past_the_field_limit);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
