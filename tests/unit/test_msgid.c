/*
 * test_msgid.c - the Message-ID that binds a DSN to a copy of ours:
 * msgid_of on header blocks, bounce_returned_msgid on DSN shapes, every
 * truncation of them (ASan sees over-reads).
 */
#include "testutil.h"
#include "../../mlistd/delivery/bounce.h"
#include "../../mlistd/mail/msgid.h"

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

int
main(void)
{
	Suite *s = suite_create("msgid");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, returned, 0,
	    (int)(sizeof(dsns) / sizeof(dsns[0])));
	tcase_add_test(tc, too_long);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
