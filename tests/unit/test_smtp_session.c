/* test_smtp_session.c - the ESMTP/LMTP dialogue against a real spool in a temp dir. */
#include "testutil.h"
#include "../../mlistd/ingest/smtp_session.h"

static char *dir;
static struct config *cfg;
static struct keys *keys;
static struct spool sp;

static void
setup(void)
{
	struct buf err;
	char state[4200];

	dir = tu_tmpdir();
	cfg = tu_instance(dir, "limits = { max_message_size = 2048; max_recipients = 3; };\n");
	keys = tu_keys();
	buf_init(&err, 0);
	snprintf(state, sizeof(state), "%s", cfg->state_dir);
	ck_assert_int_eq(spool_open(&sp, state, keys, &err), 0);
	buf_free(&err);
}

static void
teardown(void)
{
	config_free(cfg);
	keys_free(keys);
	tu_rmrf(dir);
	free(dir);
}

/* dialogue - run input through a session in `step`-byte pieces; return all replies */
static char *
dialogue(const char *input, size_t step, int lmtp)
{
	struct smtp_session s;
	size_t len = strlen(input), off, n;
	char *r;

	smtp_session_init(&s, cfg, &sp, lmtp, "192.0.2.1");
	for (off = 0; off < len && s.state != SS_CLOSED; off += n) {
		n = len - off < step ? len - off : step;
		smtp_session_input(&s, (const unsigned char *)input + off, n);
	}
	r = strdup(buf_cstr(&s.out));
	smtp_session_free(&s);
	return r;
}

static const char *const ok_post =
	"EHLO client.example\r\n"
	"MAIL FROM:<alice@example.org> SIZE=100 BODY=8BITMIME\r\n"
	"RCPT TO:<demo@lists.example>\r\n"
	"DATA\r\n"
	"Subject: hello\r\n\r\nbody\r\n..leading dot\r\n.\r\n"
	"QUIT\r\n";

START_TEST(post_accepted_and_spooled)
{
	char *r = dialogue(ok_post, 4096, 0), id[QID_LEN + 1], **ids;
	struct envelope e;
	struct buf msg, why;
	const char *q;
	int n;

	ck_assert_ptr_nonnull(strstr(r, "220 lists.example ESMTP"));
	ck_assert_ptr_nonnull(strstr(r, "250-PIPELINING\r\n250-SIZE 2048\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "354 "));
	ck_assert_ptr_nonnull(q = strstr(r, "250 2.0.0 Ok: queued as "));
	snprintf(id, sizeof(id), "%.*s", QID_LEN, q + 24);
	ck_assert_ptr_nonnull(strstr(r, "221 2.0.0 Bye"));
	n = spool_list(&sp, SPOOL_INCOMING, &ids);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(ids[0], id);
	spool_list_free(ids, n);
	buf_init(&msg, 0);
	buf_init(&why, 0);
	ck_assert_int_eq(spool_read(&sp, SPOOL_INCOMING, id, &e, &msg, &why), 0);
	ck_assert_str_eq(e.sender, "alice@example.org");
	ck_assert_int_eq(e.nrcpts, 1);
	ck_assert_str_eq(e.rcpts[0], "demo@lists.example");
	ck_assert_str_eq(buf_cstr(&msg), "Subject: hello\r\n\r\nbody\r\n.leading dot\r\n");
	envelope_free(&e);
	buf_free(&msg);
	buf_free(&why);
	free(r);
}
END_TEST

START_TEST(byte_by_byte_same_as_whole)
{
	char *a = dialogue(ok_post, 4096, 0), *b = dialogue(ok_post, 1, 0);

	/* the queue ids differ; everything before them must be identical */
	ck_assert_int_eq(strstr(a, "queued as") - a, strstr(b, "queued as") - b);
	ck_assert_int_eq(strncmp(a, b, (size_t)(strstr(a, "queued as") - a)), 0);
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_INCOMING]), 2);
	free(a);
	free(b);
}
END_TEST

static const struct {
	const char	*input;
	const char	*want;
} refusals[] = {
	{ "MAIL FROM:<a@b.c>\r\n", "503 5.5.1 Bad sequence of commands: send EHLO or HELO first" },
	{ "EHLO x\r\nRCPT TO:<demo@lists.example>\r\n", "503 5.5.1" },
	{ "EHLO x\r\nMAIL FROM:<a@b.c>\r\nDATA\r\n", "503 5.5.1" },
	{ "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<nobody@lists.example>\r\n", "550 5.1.1 <nobody@lists.example>" },
	{ "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo@elsewhere.example>\r\n", "550 5.1.1" },
	{ "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo-request@lists.example>\r\n", "250 2.1.5" },
	{ "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo-owner@lists.example>\r\n", "250 2.1.5" },
	{ "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo-bounces+abc123@lists.example>\r\n", "250 2.1.5" },
	{ "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo+abc@lists.example>\r\n", "550 5.1.1" },
	{ "EHLO x\r\nMAIL FROM:<a@b.c> SIZE=999999\r\n", "552 5.3.4" },
	{ "EHLO x\r\nMAIL FROM:<a@b.c> FOO=1\r\n", "555 5.5.4" },
	{ "EHLO x\r\nMAIL FROM:<not an address>\r\n", "553 5.1.7" },
	{ "EHLO x\r\nMAIL FROM:<>\r\n", "250 2.1.0" },
	{ "EHLO x\r\nMAIL FROM:a@b.c\r\n", "501 5.5.4" },
	{ "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo@lists.example>\r\nRCPT TO:<demo-request@lists.example>\r\n"
	  "RCPT TO:<demo-owner@lists.example>\r\nRCPT TO:<demo-bounces@lists.example>\r\n", "452 4.5.3" },
	{ "EHLO x\r\nVRFY demo@lists.example\r\n", "252 2.5.2" },
	{ "EHLO x\r\nEXPN demo\r\n", "500 5.5.2" },
	{ "FOO\r\n", "500 5.5.2 Command not recognized" },
	{ "EHLO\r\n", "501 5.5.4" },
	{ "EHLO x\r\nNOOP\r\nRSET\r\nHELP\r\n", "214 2.0.0" },
	{ "EHLO x\nMAIL", "554 5.5.2 Bare <LF>" },
	{ "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo@lists.example>\r\nDATA\r\nhi\r\n\n.\n", "554 5.5.2 Bare <LF>" },
	{ "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo@lists.example>\r\nDATA\r\nhi\r\r.\r\r", "554 5.5.2 Bare <CR>" },
	{ "LHLO x\r\n", "500 5.5.2" },
};

START_TEST(refusal_table)
{
	char *r = dialogue(refusals[_i].input, 4096, 0);

	ck_assert_msg(strstr(r, refusals[_i].want) != NULL, "case %d: want %s in:\n%s", _i, refusals[_i].want, r);
	free(r);
	r = dialogue(refusals[_i].input, 1, 0);
	ck_assert_msg(strstr(r, refusals[_i].want) != NULL, "case %d byte-wise: want %s in:\n%s", _i,
	    refusals[_i].want, r);
	free(r);
	/* smuggled or refused data never reaches the queue */
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_INCOMING]), 0);
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_TMP]), 0);
}
END_TEST

START_TEST(oversize_refused_after_data)
{
	struct buf in;
	char *r;

	buf_init(&in, 0);
	buf_puts(&in, "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo@lists.example>\r\nDATA\r\n");
	for (int i = 0; i < 100; i++)
		buf_puts(&in, "0123456789012345678901234567890123456789\r\n");
	buf_puts(&in, ".\r\nNOOP\r\n");
	r = dialogue(buf_cstr(&in), 4096, 0);
	ck_assert_ptr_nonnull(strstr(r, "552 5.3.4 Message size exceeds fixed limit of 2048 bytes\r\n250 2.0.0 Ok\r\n"));
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_INCOMING]), 0);
	ck_assert_int_eq(tu_count(sp.dir[SPOOL_TMP]), 0);
	buf_free(&in);
	free(r);
}
END_TEST

START_TEST(lmtp_one_reply_per_recipient)
{
	char *r = dialogue("LHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo@lists.example>\r\n"
	    "RCPT TO:<demo-request@lists.example>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n", 4096, 1);
	const char *first = strstr(r, "250 2.0.0 Ok: queued as ");

	ck_assert_ptr_nonnull(strstr(r, "220 lists.example LMTP"));
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_nonnull(strstr(first + 1, "250 2.0.0 Ok: queued as "));
	free(r);
	r = dialogue("EHLO x\r\n", 4096, 1);
	ck_assert_ptr_nonnull(strstr(r, "500 5.5.2"));
	free(r);
}
END_TEST

START_TEST(too_many_errors_disconnects)
{
	struct buf in;
	char *r;

	buf_init(&in, 0);
	for (int i = 0; i < 25; i++)
		buf_puts(&in, "BOGUS\r\n");
	r = dialogue(buf_cstr(&in), 4096, 0);
	ck_assert_ptr_nonnull(strstr(r, "421 4.7.0 Too many errors"));
	buf_free(&in);
	free(r);
}
END_TEST

/* count - occurrences of needle in hay */
static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* the same list address three times, in any case: one recipient in the spool, every RCPT answered */
START_TEST(duplicate_recipients_one_copy)
{
	static const char *const in =
	    "LHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<demo@lists.example>\r\n"
	    "RCPT TO:<demo@lists.example>\r\nRCPT TO:<DEMO@Lists.Example>\r\n"
	    "RCPT TO:<demo-request@lists.example>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n";
	char *r = dialogue(in, 4096, 1), **ids;
	struct envelope e;
	struct buf msg, why;
	int n;

	/* four RCPTs accepted (max_recipients is 3: duplicates do not count), four LMTP replies */
	ck_assert_int_eq(count(r, "250 2.1.5 Ok"), 4);
	ck_assert_int_eq(count(r, "250 2.0.0 Ok: queued as "), 4);
	n = spool_list(&sp, SPOOL_INCOMING, &ids);
	ck_assert_int_eq(n, 1);
	buf_init(&msg, 0);
	buf_init(&why, 0);
	ck_assert_int_eq(spool_read(&sp, SPOOL_INCOMING, ids[0], &e, &msg, &why), 0);
	ck_assert_int_eq(e.nrcpts, 2);
	ck_assert_str_eq(e.rcpts[0], "demo@lists.example");
	ck_assert_str_eq(e.rcpts[1], "demo-request@lists.example");
	envelope_free(&e);
	buf_free(&msg);
	buf_free(&why);
	spool_list_free(ids, n);
	free(r);
}
END_TEST

/* NOOP, RSET, VRFY, HELP keep a session alive without moving mail: capped */
START_TEST(idle_commands_capped)
{
	static const char *const verbs[] = { "NOOP", "RSET", "VRFY x", "HELP", "EHLO x", "HELO x" };
	struct buf in;
	char *r;

	for (int v = 0; v < 6; v++) {
		buf_init(&in, 0);
		buf_puts(&in, "EHLO x\r\n");
		for (int i = 0; i < 150; i++)
			buf_printf(&in, "%s\r\n", verbs[v]);
		r = dialogue(buf_cstr(&in), 4096, 0);
		ck_assert_msg(strstr(r, "421 4.7.0 Too many commands that move no mail"), "%s", verbs[v]);
		buf_free(&in);
		free(r);
	}
	/* 100 are fine (the EHLO is one of them) */
	buf_init(&in, 0);
	buf_puts(&in, "EHLO x\r\n");
	for (int i = 0; i < 99; i++)
		buf_puts(&in, "NOOP\r\n");
	buf_puts(&in, "QUIT\r\n");
	r = dialogue(buf_cstr(&in), 4096, 0);
	ck_assert_ptr_null(strstr(r, "421"));
	ck_assert_ptr_nonnull(strstr(r, "221 2.0.0 Bye"));
	buf_free(&in);
	free(r);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smtp_session");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, post_accepted_and_spooled);
	tcase_add_test(tc, byte_by_byte_same_as_whole);
	tcase_add_loop_test(tc, refusal_table, 0, sizeof(refusals) / sizeof(refusals[0]));
	tcase_add_test(tc, oversize_refused_after_data);
	tcase_add_test(tc, lmtp_one_reply_per_recipient);
	tcase_add_test(tc, too_many_errors_disconnects);
	tcase_add_test(tc, duplicate_recipients_one_copy);
	tcase_add_test(tc, idle_commands_capped);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
