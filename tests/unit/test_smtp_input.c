/* test_smtp_input.c - the SMTP framing parser, table-driven and byte by byte. */
#include "testutil.h"
#include "../../mlistd/ingest/smtp_input.h"

/* run - feed input in pieces of `step` bytes; record events and data as text */
static void
run(const char *input, size_t len, size_t step, int data, struct buf *trace, struct buf *out,
    size_t max)
{
	struct smtp_in in;
	enum smtp_in_ev ev;
	size_t off = 0, n, used;

	smtp_in_init(&in);
	if (data)
		smtp_in_start_data(&in, out, max);
	while (off < len) {
		n = len - off < step ? len - off : step;
		while (n > 0) {
			used = smtp_in_feed(&in, (const unsigned char *)input + off, n, &ev);
			off += used;
			n -= used;
			switch (ev) {
			case IN_MORE: break;
			case IN_LINE: buf_printf(trace, "L[%s]", buf_cstr(&in.line)); buf_reset(&in.line); break;
			case IN_LINE_TOO_LONG: buf_puts(trace, "TOOLONG"); break;
			case IN_DATA_END: buf_printf(trace, "END%s%s%s", in.too_big ? "+BIG" : "",
			    in.long_line ? "+LONG" : "", in.too_many_fields ? "+FIELDS" : ""); break;
			case IN_BARE_LF: buf_puts(trace, "BARELF"); smtp_in_free(&in); return;
			case IN_BARE_CR: buf_puts(trace, "BARECR"); smtp_in_free(&in); return;
			}
		}
	}
	smtp_in_free(&in);
}

static const struct {
	const char	*input;
	int		 data;
	const char	*trace;
	const char	*out;
} cases[] = {
	{ "EHLO x\r\n", 0, "L[EHLO x]", "" },
	{ "NOOP\r\nQUIT\r\n", 0, "L[NOOP]L[QUIT]", "" },
	{ "\r\n", 0, "L[]", "" },
	{ "EHLO x\n", 0, "BARELF", "" },
	{ "EHLO\rx\r\n", 0, "BARECR", "" },
	{ "a\r\n.\r\n", 1, "END", "a\r\n" },
	{ ".\r\n", 1, "END", "" },
	{ "..dot\r\n.\r\n", 1, "END", ".dot\r\n" },
	{ "a\r\n..\r\n.\r\n", 1, "END", "a\r\n.\r\n" },
	{ "x.\r\n.\r\n", 1, "END", "x.\r\n" },
	/* smuggling: every variant is a bare LF or a bare CR */
	{ "a\r\n\n.\n", 1, "BARELF", NULL },
	{ "a\r\n.\n", 1, "BARELF", NULL },
	{ "a\n.\r\n", 1, "BARELF", NULL },
	{ "a\r\r.\r\r", 1, "BARECR", NULL },
	{ "a\r\n.\r", 1, "", NULL },			/* incomplete: no event yet */
	{ "a\r\n.\rX", 1, "BARECR", NULL },
	{ "a\r\n\r.\r\n", 1, "BARECR", NULL },
	{ "a\nb\r\n.\r\n", 1, "BARELF", NULL },
};

START_TEST(table)
{
	struct buf trace, out;
	size_t steps[] = { 1, 2, 3, 7, 4096 };

	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		buf_init(&trace, 0);
		buf_init(&out, 0);
		run(cases[_i].input, strlen(cases[_i].input), steps[s], cases[_i].data, &trace, &out, 1 << 20);
		ck_assert_msg(strcmp(buf_cstr(&trace), cases[_i].trace) == 0,
		    "case %d step %zu: trace %s, want %s", _i, steps[s], buf_cstr(&trace), cases[_i].trace);
		if (cases[_i].out)
			ck_assert_str_eq(buf_cstr(&out), cases[_i].out);
		buf_free(&trace);
		buf_free(&out);
	}
}
END_TEST

START_TEST(long_command_line)
{
	struct buf trace, out, in;

	buf_init(&in, 0);
	for (int i = 0; i < 1200; i++)
		buf_putc(&in, 'a');
	buf_puts(&in, "\r\nNOOP\r\n");
	buf_init(&trace, 0);
	buf_init(&out, 0);
	run((char *)in.data, in.len, 1, 0, &trace, &out, 0);
	ck_assert_str_eq(buf_cstr(&trace), "TOOLONGL[NOOP]");
	buf_free(&in);
	buf_free(&trace);
	buf_free(&out);
}
END_TEST

START_TEST(exact_limit_line)
{
	struct buf trace, out, in;

	/* 998 octets + CRLF = 1000: allowed; 999 + CRLF: too long */
	for (int len = 998; len <= 999; len++) {
		buf_init(&in, 0);
		buf_init(&trace, 0);
		buf_init(&out, 0);
		for (int i = 0; i < len; i++)
			buf_putc(&in, 'b');
		buf_puts(&in, "\r\n.\r\n");
		run((char *)in.data, in.len, 1, 1, &trace, &out, 1 << 20);
		ck_assert_str_eq(buf_cstr(&trace), len == 998 ? "END" : "END+LONG");
		run((char *)in.data, in.len - 3, 1, 0, &trace, &out, 0);
		buf_free(&in);
		buf_free(&trace);
		buf_free(&out);
	}
}
END_TEST

START_TEST(size_cap_bounds_memory)
{
	struct buf trace, out, in;

	buf_init(&in, 0);
	for (int i = 0; i < 2000; i++)
		buf_puts(&in, "0123456789012345678901234567890123456789\r\n");
	buf_puts(&in, ".\r\n");
	buf_init(&trace, 0);
	buf_init(&out, 0);
	run((char *)in.data, in.len, 4096, 1, &trace, &out, 1000);
	ck_assert_str_eq(buf_cstr(&trace), "END+BIG+FIELDS");
	ck_assert_uint_le(out.len, 1000);
	buf_free(&in);
	buf_free(&trace);
	buf_free(&out);
}
END_TEST

/* header fields are counted while DATA streams: 1,000 pass (continuations free), 1,001 do not */
START_TEST(header_field_limit)
{
	static const struct { int fields, continuations, after_body; const char *want; } c[] = {
		{ 1000, 0, 0, "END" }, { 1001, 0, 0, "END+FIELDS" }, { 1000, 500, 0, "END" },
		{ 10, 0, 2000, "END" },	/* lines in the body are not fields */
	};

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		for (size_t step = 1; step <= 4096; step *= 4096) {
			struct buf trace, out, in;

			buf_init(&in, 0);
			for (int i = 0; i < c[k].fields; i++) {
				buf_printf(&in, "%sX-F%d: v\r\n", i == 0 ? "" : "", i);
				if (i < c[k].continuations)
					buf_puts(&in, "\tcontinued\r\n");
			}
			buf_puts(&in, "\r\n");
			for (int i = 0; i < c[k].after_body; i++)
				buf_puts(&in, "Looks: like a field\r\n");
			buf_puts(&in, ".\r\n");
			buf_init(&trace, 0);
			buf_init(&out, 0);
			run((char *)in.data, in.len, step, 1, &trace, &out, 1 << 24);
			ck_assert_msg(strcmp(buf_cstr(&trace), c[k].want) == 0, "case %zu step %zu: %s", k, step,
			    buf_cstr(&trace));
			buf_free(&in);
			buf_free(&trace);
			buf_free(&out);
		}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smtp_input");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, long_command_line);
	tcase_add_test(tc, exact_limit_line);
	tcase_add_test(tc, size_cap_bounds_memory);
	tcase_add_test(tc, header_field_limit);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
