/* test_control.c - the control socket's frames: built, parsed, refused when malformed or too large. */
#include <sys/socket.h>

#include "testutil.h"
#include "../../mlistd/control/proto.h"

/* frame - a request's bytes (without the header) from a literal */
static size_t
frame(unsigned char *out, const char *lit, size_t n)
{
	memcpy(out, lit, n);
	return n;
}

START_TEST(request_round_trip)
{
	char *argv[] = { "member add", "demo", "a@b.example", "--name", "" };
	struct control_req r;
	struct buf b;
	const char *why;

	buf_init(&b, 0);
	ck_assert_int_eq(control_req_build(&b, CONTROL_F_JSON, 5, argv), 0);
	ck_assert_int_eq(control_frame_len(b.data), (long)b.len - 4);
	ck_assert_int_eq(control_req_parse(b.data + 4, b.len - 4, &r, &why), 0);
	ck_assert_int_eq(r.flags, CONTROL_F_JSON);
	ck_assert_int_eq(r.argc, 5);
	ck_assert_str_eq(r.argv[0], "member add");
	ck_assert_str_eq(r.argv[2], "a@b.example");
	ck_assert_str_eq(r.argv[4], "");	/* an empty argument survives */
	ck_assert_ptr_null(r.argv[5]);
	buf_free(&b);
}
END_TEST

static const struct {
	const char	*bytes;
	size_t		 len;
	const char	*why;
} bad[] = {
	{ "", 0, "empty" },
	{ "\0", 1, "empty" },
	{ "\x80" "mod ls\0", 8, "flags" },
	{ "\0mod approve", 12, "NUL" },
	{ "\0mod\0demo", 9, "NUL" },
	{ "\0\0demo\0", 7, "no verb" },
};

START_TEST(request_malformed)
{
	unsigned char in[64];
	struct control_req r;
	const char *why = NULL;
	size_t n = frame(in, bad[_i].bytes, bad[_i].len);

	ck_assert_int_eq(control_req_parse(in, n, &r, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, bad[_i].why));
}
END_TEST

START_TEST(request_too_many_arguments)
{
	unsigned char in[4 + 2 * (CONTROL_MAX_ARGS + 2)];
	struct control_req r;
	const char *why;
	size_t n = 0;

	in[n++] = 0;
	for (int i = 0; i <= CONTROL_MAX_ARGS; i++) {
		in[n++] = 'x';
		in[n++] = 0;
	}
	ck_assert_int_eq(control_req_parse(in, n, &r, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "too many"));
	ck_assert_int_eq(control_req_parse(in, n - 2, &r, &why), 0);
	ck_assert_int_eq(r.argc, CONTROL_MAX_ARGS);
}
END_TEST

START_TEST(frame_length_bounded)
{
	unsigned char big[4] = { 0xff, 0xff, 0xff, 0xff }, max[4], over[4];
	unsigned long m = CONTROL_MAX_FRAME, o = CONTROL_MAX_FRAME + 1;

	max[0] = (unsigned char)(m >> 24), max[1] = (unsigned char)(m >> 16);
	max[2] = (unsigned char)(m >> 8), max[3] = (unsigned char)m;
	over[0] = (unsigned char)(o >> 24), over[1] = (unsigned char)(o >> 16);
	over[2] = (unsigned char)(o >> 8), over[3] = (unsigned char)o;
	ck_assert_int_eq(control_frame_len(big), -1);
	ck_assert_int_eq(control_frame_len(over), -1);
	ck_assert_int_eq(control_frame_len(max), (long)CONTROL_MAX_FRAME);
}
END_TEST

START_TEST(answer_round_trip)
{
	struct buf b, out, err;
	struct control_ans a;
	const char *why;

	buf_init(&b, 0);
	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_puts(&out, "request 1 opened\n");
	ck_assert_int_eq(control_ans_build(&b, CONTROL_REQUESTED, &out, &err), 0);
	ck_assert_int_eq(control_ans_parse(b.data + 4, b.len - 4, &a, &why), 0);
	ck_assert_int_eq(a.status, 3);
	ck_assert_str_eq(a.out, "request 1 opened\n");
	ck_assert_str_eq(a.err, "");
	/* truncated, a missing field, an extra field */
	ck_assert_int_eq(control_ans_parse(b.data + 4, b.len - 5, &a, &why), -1);
	ck_assert_int_eq(control_ans_parse((unsigned char *)"\0x\0", 3, &a, &why), -1);
	ck_assert_int_eq(control_ans_parse((unsigned char *)"\0a\0b\0c\0", 7, &a, &why), -1);
	ck_assert_int_eq(control_ans_parse((unsigned char *)"\1\0\0", 3, &a, &why), 0);
	buf_free(&b);
	buf_free(&out);
	buf_free(&err);
}
END_TEST

/* over a socket pair: byte by byte, then a peer that goes quiet, then one that lies about its size */
START_TEST(read_frame_bounded_in_time_and_size)
{
	char *argv[] = { "digest send", "demo" };
	struct control_req r;
	struct buf b, in;
	const char *why;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	buf_init(&b, 0);
	buf_init(&in, 0);
	ck_assert_int_eq(control_req_build(&b, 0, 2, argv), 0);
	for (size_t i = 0; i < b.len; i++)
		ck_assert_int_eq(write(sv[1], b.data + i, 1), 1);
	ck_assert_int_eq(control_read_frame(sv[0], &in, 1000, &why), 0);
	ck_assert_int_eq(control_req_parse(in.data, in.len, &r, &why), 0);
	ck_assert_str_eq(r.argv[1], "demo");
	ck_assert_int_eq(write(sv[1], b.data, 6), 6);		/* half a request, then silence */
	ck_assert_int_eq(control_read_frame(sv[0], &in, 200, &why), -1);
	ck_assert_str_eq(why, "timed out");
	ck_assert_int_eq(write(sv[1], "\xff\xff\xff\xff", 4), 4);
	ck_assert_int_eq(control_read_frame(sv[0], &in, 200, &why), -1);
	ck_assert_str_eq(why, "frame too large");
	close(sv[1]);
	ck_assert_int_eq(control_read_frame(sv[0], &in, 200, &why), -1);
	close(sv[0]);
	buf_free(&b);
	buf_free(&in);
}
END_TEST

START_TEST(fuzz_regressions)
{
	/* the seeds and any crash turned regression parse without a fault */
	const char *seed = "\0member add\0demo\0a@b.example\0";
	unsigned char in[64];
	struct control_req r;
	const char *why;
	size_t n = frame(in, seed, 29);

	ck_assert_int_eq(control_req_parse(in, n, &r, &why), 0);
	ck_assert_int_eq(r.argc, 3);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, request_round_trip);
	tcase_add_loop_test(tc, request_malformed, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, request_too_many_arguments);
	tcase_add_test(tc, frame_length_bounded);
	tcase_add_test(tc, answer_round_trip);
	tcase_add_test(tc, read_frame_bounded_in_time_and_size);
	tcase_add_test(tc, fuzz_regressions);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
