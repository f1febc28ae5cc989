#include <sodium.h>
/* test_parsers.c - the small parsers: headers, addresses, DSNs, dot-stuffing, reply redaction. */
#include "testutil.h"
#include "../../mlistd/delivery/bounce.h"
#include "../../mlistd/delivery/deliver_smtp.h"
#include "../../mlistd/mail/addr.h"
#include "../../mlistd/mail/header.h"
#include "../../mlistd/mail/author.h"
#include "../../mlistd/mail/dkim.h"
#include "../../mlistd/pipeline/request.h"
#include "../../mlistd/mail/keys.h"

START_TEST(headers_split)
{
	static const char m[] = "From: a@b\r\nSubject: one\r\n two\r\nX-Empty:\r\n\r\nbody: not a header\r\n";
	struct hdr h;
	char *v;

	ck_assert_int_eq(hdr_parse(m, sizeof(m) - 1, &h), 0);
	ck_assert_int_eq(h.n, 3);
	ck_assert_str_eq(m + h.body_off, "body: not a header\r\n");
	ck_assert_ptr_nonnull(v = hdr_get_value(&h, "subject"));
	ck_assert_str_eq(v, "one two");
	free(v);
	ck_assert_ptr_nonnull(v = hdr_get_value(&h, "X-Empty"));
	ck_assert_str_eq(v, "");
	free(v);
	ck_assert_ptr_null(hdr_get(&h, "To"));
	hdr_free(&h);
}
END_TEST

START_TEST(headers_edge_cases)
{
	static const char *const inputs[] = {
		"", "\r\n", "no colon line\r\n\r\nx", "A: b", " continuation first\r\nA: b\r\n",
		"A: b\r\n\tfold\r\n\tfold2", "Bad Name: x\r\n", "A:\r\n\r\n",
	};
	static const int fields[] = { 0, 0, 0, 1, 1, 1, 0, 1 };
	struct hdr h;

	ck_assert_int_eq(hdr_parse(inputs[_i], strlen(inputs[_i]), &h), 0);
	ck_assert_int_eq(h.n, fields[_i]);
	ck_assert_uint_le(h.body_off, strlen(inputs[_i]));
	hdr_free(&h);
}
END_TEST

/* a header whose first line starts with white space is still a header, never body (#16) */
START_TEST(headers_leading_whitespace)
{
	static const char m[] = " Received: from x\r\nFrom: Quill <q@example.org>\r\n"
	    "Precedence: list\r\n\r\nbody\r\n";
	struct hdr h;

	ck_assert_int_eq(hdr_parse(m, sizeof(m) - 1, &h), 0);
	ck_assert_ptr_nonnull(hdr_get(&h, "From"));
	ck_assert_str_eq(m + h.body_off, "body\r\n");
	/* Precedence: list alone is no mark of automatic mail (#16) */
	ck_assert_int_eq(hdr_automatic(&h), 0);
	ck_assert_int_eq(hdr_count(&h, "from"), 1);
	hdr_free(&h);
}
END_TEST

START_TEST(headers_bounded)
{
	struct buf b;
	struct hdr h;

	buf_init(&b, 0);
	for (int i = 0; i < HDR_MAX_FIELDS + 50; i++)
		buf_printf(&b, "X-%d: v\r\n", i);
	buf_puts(&b, "\r\nbody");
	ck_assert_int_eq(hdr_parse((char *)b.data, b.len, &h), 0);
	ck_assert_int_eq(h.n, HDR_MAX_FIELDS);
	ck_assert_int_eq(h.truncated, 1);
	ck_assert_str_eq((char *)b.data + h.body_off, "body");
	hdr_free(&h);
	buf_free(&b);
}
END_TEST

static const struct { const char *addr; int ok; } addrs[] = {
	{ "a@b.example", 1 }, { "first.last+tag@sub.example.org", 1 }, { "", 0 }, { "@b", 0 },
	{ "a@", 0 }, { "a@@b", 0 }, { "a b@c", 0 }, { "<a@b>", 0 }, { "a@b..c", 0 }, { "a@b.", 0 },
	{ "a\"b@c", 0 }, { "a@b\r\nRCPT", 0 }, { "a@.b", 0 },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.c", 0 },
};

START_TEST(address_syntax)
{
	ck_assert_msg(addr_valid(addrs[_i].addr) == addrs[_i].ok, "%s", addrs[_i].addr);
}
END_TEST

START_TEST(list_addresses)
{
	char *dir = tu_tmpdir();
	struct config *c = tu_instance(dir, NULL);
	struct listaddr la;

	ck_assert_int_eq(listaddr_parse(c, "demo@lists.example", &la), 0);
	ck_assert_int_eq(la.kind, ADDR_POST);
	ck_assert_int_eq(listaddr_parse(c, "DEMO-Request@LISTS.example", &la), 0);
	ck_assert_int_eq(la.kind, ADDR_REQUEST);
	ck_assert_int_eq(listaddr_parse(c, "demo-owner@lists.example", &la), 0);
	ck_assert_int_eq(la.kind, ADDR_OWNER);
	ck_assert_int_eq(listaddr_parse(c, "demo-bounces+ab12@lists.example", &la), 0);
	ck_assert_int_eq(la.kind, ADDR_BOUNCES);
	ck_assert_str_eq(la.token, "ab12");
	ck_assert_int_eq(listaddr_parse(c, "demo-bounces+a-b@lists.example", &la), -1);
	ck_assert_int_eq(listaddr_parse(c, "demo-request+x@lists.example", &la), -1);
	ck_assert_int_eq(listaddr_parse(c, "demox@lists.example", &la), -1);
	ck_assert_int_eq(listaddr_parse(c, "demo@lists.example.evil", &la), -1);
	ck_assert_int_eq(listaddr_parse(c, "demo-bounces+@lists.example", &la), -1);
	ck_assert_int_eq(listaddr_parse(c, "demo-confirm+00ff@lists.example", &la), 0);
	ck_assert_int_eq(la.kind, ADDR_CONFIRM);
	ck_assert_str_eq(la.token, "00ff");
	ck_assert_int_eq(listaddr_parse(c, "demo-confirm@lists.example", &la), -1);	/* needs a token */
	config_free(c);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(dsn_recipients)
{
	static const char dsn[] =
	    "Reporting-MTA: dns; mx\r\n\r\n"
	    "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
	    "Final-Recipient: rfc822;<slow@example.org>\r\nAction: delayed\r\n\r\n"
	    "Final-Recipient: RFC822; also@example.org\r\nACTION: Failed\r\n\r\n"
	    "Final-Recipient: rfc822; not an address\r\nAction: failed\r\n";
	char found[8][ADDR_MAX + 1];
	int n = bounce_dsn_recipients(dsn, sizeof(dsn) - 1, found, 8);

	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(found[0], "gone@example.org");
	ck_assert_str_eq(found[1], "also@example.org");
	ck_assert_int_eq(bounce_dsn_recipients(dsn, sizeof(dsn) - 1, found, 1), 1);
}
END_TEST

START_TEST(base64_lines)
{
	/* the table encoder gives what libsodium's gives, cut into 76-column CRLF lines */
	unsigned char in[400];
	char ref[600];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		struct buf got, want;

		buf_init(&got, 0);
		buf_init(&want, 0);
		ck_assert_int_eq(buf_base64(&got, in, n), 0);
		sodium_bin2base64(ref, sizeof(ref), in, n, sodium_base64_VARIANT_ORIGINAL);
		for (size_t i = 0, l = strlen(ref); i < l; i += 76) {
			buf_append(&want, ref + i, l - i < 76 ? l - i : 76);
			buf_puts(&want, "\r\n");
		}
		ck_assert_uint_eq(got.len, want.len);
		if (n > 0)
			ck_assert_mem_eq(got.data, want.data, got.len);
		buf_free(&got);
		buf_free(&want);
	}
}
END_TEST

START_TEST(oneclick_tokens)
{
	unsigned char master[KEYS_LEN];
	struct keys *k, *other;
	char t[KEYS_ONECLICK_LEN + 1], t2[KEYS_ONECLICK_LEN + 1];

	memset(master, 7, sizeof(master));
	k = keys_from_master(master);
	master[0] = 8;
	other = keys_from_master(master);
	keys_oneclick_token(k, "demo", 12345, t);
	ck_assert_uint_eq(strlen(t), KEYS_ONECLICK_LEN);
	ck_assert_int_eq(keys_oneclick_member(k, "demo", t), 12345);
	keys_oneclick_token(k, "demo", 12345, t2);
	ck_assert_str_eq(t, t2);				/* deterministic: nothing stored */
	keys_oneclick_token(k, "demo", 12346, t2);
	ck_assert_str_ne(t, t2);
	ck_assert_int_eq(keys_oneclick_member(k, "other", t), -1);	/* bound to its list */
	ck_assert_int_eq(keys_oneclick_member(other, "demo", t), -1);	/* and to this instance's key */
	for (int i = 0; i < KEYS_ONECLICK_LEN; i++) {		/* any altered digit is refused */
		strcpy(t2, t);
		t2[i] = t2[i] == '0' ? '1' : '0';
		ck_assert_int_eq(keys_oneclick_member(k, "demo", t2), -1);
	}
	ck_assert_int_eq(keys_oneclick_member(k, "demo", "zz"), -1);
	keys_free(k);
	keys_free(other);
}
END_TEST

START_TEST(dot_stuffing)
{
	static const struct { const char *in, *out; } t[] = {
		{ "a\r\n", "a\r\n.\r\n" },
		{ ".a\r\n", "..a\r\n.\r\n" },
		{ "x\r\n.\r\n", "x\r\n..\r\n.\r\n" },
		{ "no newline", "no newline\r\n.\r\n" },
		{ "", "\r\n.\r\n" },
		{ "a.b\r\n..c\r\n", "a.b\r\n...c\r\n.\r\n" },
		{ "a\r\n.", "a\r\n..\r\n.\r\n" },
		{ "\n\n.\n", "\n\n..\n.\r\n" },
	};
	struct buf b;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_init(&b, 0);
		smtp_dot_stuff((const unsigned char *)t[i].in, strlen(t[i].in), &b);
		ck_assert_str_eq(buf_cstr(&b), t[i].out);
		buf_free(&b);
	}
}
END_TEST

START_TEST(reply_redaction)
{
	char out[160];

	smtp_redact("550 5.1.1 <bob@example.org>: Recipient address rejected", out, sizeof(out));
	ck_assert_str_eq(out, "550 5.1.1 <redacted> Recipient address rejected");
	smtp_redact("451 4.3.0 try later", out, sizeof(out));
	ck_assert_str_eq(out, "451 4.3.0 try later");
	smtp_redact("550 a@b", out, 8);
	ck_assert_ptr_null(strchr(out, '@'));
}
END_TEST

START_TEST(request_commands)
{
	static const struct { const char *m; unsigned cmds; } t[] = {
		{ "Subject: keys\r\n\r\n", CMD_KEYS },
		{ "Subject: Re: HELP\r\n\r\n", CMD_HELP },
		{ "Subject: hello\r\n\r\nkeys\r\nhelp\r\n", CMD_KEYS | CMD_HELP },
		{ "Subject: x\r\n\r\n> keys\r\n-- \r\nhelp\r\n", CMD_NONE },
		{ "Subject: keys please\r\n\r\nI would like the keys\r\n", CMD_NONE },
		{ "Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\nkeys\r\n", CMD_NONE },
		{ "Subject: x\r\nContent-Type: text/html\r\n\r\nkeys\r\n", CMD_NONE },
		{ "Subject: x\r\n\r\n1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n7\r\n8\r\n9\r\n10\r\nkeys\r\n", CMD_NONE },
		{ "", CMD_NONE },
		/* an argument too long for the parser's buffer: nothing left over from the line before */
		{ "Subject: archive index\r\n\r\n", CMD_ARCHIVE_INDEX },
		{ "Subject: archive xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n\r\n", CMD_NONE },
	};

	struct request r;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(request_parse(t[i].m, strlen(t[i].m), &r) == t[i].cmds, "case %zu", i);
	static const char k1[] = "Subject: key 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\r\n\r\n";
	static const char k2[] = "Subject: x\r\n\r\nkey ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\r\n";
	static const char k3[] = "Subject: key tooshort\r\n\r\n";
	static const char k4[] = "Subject: key ed25519:\r\n\r\n";

	ck_assert_uint_eq(request_parse(k1, sizeof(k1) - 1, &r), CMD_KEY);
	ck_assert_str_eq(r.key, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	ck_assert_uint_eq(request_parse(k2, sizeof(k2) - 1, &r), CMD_KEY);
	ck_assert_uint_eq(request_parse(k3, sizeof(k3) - 1, &r), CMD_NONE);
	ck_assert_uint_eq(request_parse(k4, sizeof(k4) - 1, &r), CMD_NONE);
}
END_TEST

/* every input the fuzzers ever broke, through each of our parsers of untrusted mail */
static void
parse_all(const char *m, size_t n, void *arg)
{
	char why[200], lid[256], sig[128], dom[256], sel[256], found[4][ADDR_MAX + 1];
	unsigned char pk[32] = { 1 }, got[32];
	struct request rq;
	struct hdr h;

	(void)arg;
	if (hdr_parse(m, n, &h) == 0)
		hdr_free(&h);
	request_parse(m, n, &rq);
	bounce_dsn_recipients(m, n, found, 4);
	author_verify(m, n, NULL, got, lid, sizeof(lid), why, sizeof(why));
	author_signature_id(m, n, sig, sizeof(sig));
	dkim_verify(m, n, pk, why, sizeof(why));
	dkim_info(m, n, dom, sizeof(dom), sel, sizeof(sel));
}

START_TEST(fuzz_regressions)
{
	ck_assert_int_gt(tu_fuzz_inputs("", parse_all, NULL), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("parsers");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, headers_split);
	tcase_add_loop_test(tc, headers_edge_cases, 0, 8);
	tcase_add_test(tc, headers_leading_whitespace);
	tcase_add_test(tc, headers_bounded);
	tcase_add_loop_test(tc, address_syntax, 0, sizeof(addrs) / sizeof(addrs[0]));
	tcase_add_test(tc, list_addresses);
	tcase_add_test(tc, dsn_recipients);
	tcase_add_test(tc, dot_stuffing);
	tcase_add_test(tc, base64_lines);
	tcase_add_test(tc, oneclick_tokens);
	tcase_add_test(tc, reply_redaction);
	tcase_add_test(tc, request_commands);
	tcase_add_test(tc, fuzz_regressions);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
