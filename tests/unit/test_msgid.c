/*
 * test_msgid.c - the Message-ID that binds a DSN to a copy of ours:
 * msgid_of on header blocks, bounce_returned_msgid on DSN shapes, every
 * truncation of them (ASan sees over-reads); which ids of a long
 * References chain are kept, and the chain folded.
 */
#include "testutil.h"
#include "../../mlistd/delivery/bounce.h"
#include "../../mlistd/mail/msgid.h"
#include "../../mlistd/util/buf.h"

#define DSN_HEAD \
	"From: MAILER-DAEMON@example.org\r\n" \
	"Content-Type: multipart/report; report-type=delivery-status; " \
	"boundary=R\r\n\r\n--R\r\nContent-Type: text/plain\r\n\r\nfailed\r\n" \
	"--R\r\nContent-Type: message/delivery-status\r\n\r\n" \
	"Final-Recipient: rfc822; bob@example.org\r\nAction: failed\r\n\r\n"

/* the returned part in its two usual forms, and none */
static const struct {
	const char	*msg;
	const char	*id;	/* NULL: none found */
} dsns[] = {
	{ DSN_HEAD "--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
	    "From: a@example.org\r\nMessage-ID:  <x.1@lists.example> \r\n"
	    "--R--\r\n", "<x.1@lists.example>" },
	{ DSN_HEAD "--R\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Message-Id:\r\n <y.2@example.org>\r\nSubject: s\r\n\r\nbody\r\n"
	    "--R--\r\n", "<y.2@example.org>" },
	{ DSN_HEAD "--R--\r\n", NULL },
	{ DSN_HEAD "--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
	    "Message-ID: no brackets\r\n--R--\r\n", NULL },
	{ DSN_HEAD "--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
	    "Message-ID: <>\r\n--R--\r\n", NULL },
};

/* returned - the id each shape yields, in a buffer of exactly its size */
START_TEST(returned)
{
	size_t n = strlen(dsns[_i].msg);
	char *m = malloc(n), out[MSGID_MAX];
	int rc;

	ck_assert_ptr_nonnull(m);
	memcpy(m, dsns[_i].msg, n);
	rc = bounce_returned_msgid(m, n, out, sizeof(out));
	if (dsns[_i].id == NULL)
		ck_assert_int_eq(rc, -1);
	else {
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(out, dsns[_i].id);
	}
	/* every prefix: an answer or none, never a read past it */
	for (size_t k = 0; k < n; k++)
		(void)bounce_returned_msgid(m, k, out, sizeof(out));
	free(m);
}
END_TEST

/* too_long - an id longer than the buffer is none, not a cut one */
START_TEST(too_long)
{
	char hdr[400], out[16];

	snprintf(hdr, sizeof(hdr), "Message-ID: <%0200d@x>\r\n\r\n", 0);
	ck_assert_int_eq(msgid_of(hdr, strlen(hdr), out, sizeof(out)), -1);
	ck_assert_int_eq(msgid_of("Subject: x\r\n\r\n", 14, out, sizeof(out)),
	    -1);
}
END_TEST

/* chain_kept - a long chain keeps its root and its most recent ids */
START_TEST(chain_kept)
{
	for (int i = 0; i < MSGID_CHAIN; i++)
		ck_assert(msgid_chain_kept(i, MSGID_CHAIN));
	ck_assert(msgid_chain_kept(0, 60));
	ck_assert(!msgid_chain_kept(1, 60));
	ck_assert(!msgid_chain_kept(20, 60));
	ck_assert(msgid_chain_kept(21, 60));
	ck_assert(msgid_chain_kept(59, 60));
	ck_assert(!msgid_chain_kept(1, MSGID_CHAIN + 1));
	ck_assert(msgid_chain_kept(2, MSGID_CHAIN + 1));
}
END_TEST

/* fold - 60 ids of 48 bytes: every id once, in order, no line over 78 */
START_TEST(fold)
{
	struct buf ids, out;
	const char *at, *end, *id, *line, *nl;
	char want[64];
	size_t n;
	int i = 0;

	buf_init(&ids, 0);
	buf_init(&out, 0);
	for (int k = 0; k < 60; k++)
		ck_assert_int_eq(buf_printf(&ids, "%s<%032d@lists.example>",
		    k ? " " : "", k), 0);
	ck_assert_int_eq(msgid_fold(ids.data, ids.len, &out), 0);
	ck_assert(strncmp(buf_cstr(&out), "References: <", 13) == 0);
	ck_assert(out.len > 2 && memcmp(out.data + out.len - 2, "\r\n", 2) == 0);
	for (line = buf_cstr(&out); (nl = strstr(line, "\r\n")) != NULL;
	    line = nl + 2)
		ck_assert_int_le(nl - line, 78);
	at = buf_cstr(&out);
	end = at + out.len;
	while (msgid_next(&at, end, &id, &n)) {
		snprintf(want, sizeof(want), "<%032d@lists.example>", i++);
		ck_assert_uint_eq(n, strlen(want));
		ck_assert(memcmp(id, want, n) == 0);
	}
	ck_assert_int_eq(i, 60);
	buf_free(&ids);
	buf_free(&out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("msgid");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, returned, 0,
	    (int)(sizeof(dsns) / sizeof(dsns[0])));
	tcase_add_test(tc, too_long);
	tcase_add_test(tc, chain_kept);
	tcase_add_test(tc, fold);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
