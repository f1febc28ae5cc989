/*
 * test_reply.c - reply_says: what a reply to a token says, in the shapes
 * Thunderbird, Outlook, Gmail and mutt write (top-posted, bottom-posted
 * under a quote, HTML-only, multipart/alternative, QP and base64), and
 * every protest, question or sentence that merely starts with a word
 * says nothing; fed byte by byte (every prefix) and with bytes flipped,
 * without a crash.
 */
#include "testutil.h"

#include "../../mlistd/pipeline/reply.h"

#define TOK	"0123456789abcdef0123456789abcdef01234567"

static const struct reply_word mod_words[] = {
	{ "approve", REPLY_BARE }, { "reject", REPLY_TEXT },
	{ "discard", REPLY_BARE },
};

enum table { CONFIRM, VOTE, VOUCH, MOD };

static const struct {
	const char	*name;
	enum table	 t;
	const char	*msg;
	int		 want;		/* the word's index, -1 none */
	const char	*arg;
} cases[] = {
	{ "bare confirm", CONFIRM, "Subject: Re: x\r\n\r\nconfirm\r\n", 0, "" },
	{ "Yes!", CONFIRM, "Subject: Re\r\n\r\nYes!\r\n", 1, "" },
	{ "CONFIRM.", CONFIRM, "Subject: Re\r\n\r\n  CONFIRM.  \r\n", 0, "" },
	{ "bold", CONFIRM, "Subject: Re\r\n\r\n*confirm*\r\n", 0, "" },
	{ "protest", CONFIRM, "Subject: Re: Confirm your post\r\n\r\n"
	    "I did NOT send this. Do not post it!\r\n\r\n"
	    "> The list received a post in your name.\r\n", -1, "" },
	{ "yes please", CONFIRM, "Subject: Re\r\n\r\nyes please\r\n", -1, "" },
	{ "confirm?", CONFIRM, "Subject: Re\r\n\r\nConfirm? No!\r\n", -1, "" },
	{ "no", CONFIRM, "Subject: Re\r\n\r\nno\r\n", -1, "" },
	{ "confirmed", CONFIRM, "Subject: Re\r\n\r\nconfirmed\r\n", -1, "" },
	{ "empty", CONFIRM, "Subject: Re: Confirm your post to the list\r\n"
	    "\r\n\r\n", -1, "" },
	{ "quote only", CONFIRM, "Subject: Re: x\r\n\r\n> confirm\r\n", -1,
	    "" },
	{ "subject Re: confirm, empty body", CONFIRM,
	    "Subject: Re: confirm\r\n\r\n", -1, "" },
	{ "new mail, subject yes", CONFIRM, "Subject: yes\r\n\r\n", 1, "" },
	{ "subject Re: confirm TOKEN", CONFIRM,
	    "Subject: Re: confirm " TOK "\r\n\r\nthanks\r\n", 0, TOK },
	{ "subject confirm, body protest", CONFIRM,
	    "Subject: confirm\r\n\r\nI never asked.\r\n", -1, "" },
	{ "-request body confirm TOKEN", CONFIRM,
	    "Subject: commands\r\n\r\nconfirm " TOK "\r\n", 0, TOK },
	{ "-request subject confirm TOKEN", CONFIRM,
	    "Subject: confirm " TOK "\r\n\r\nSent from my phone\r\n", 0, TOK },
	{ "confirm not a token", CONFIRM,
	    "Subject: x\r\n\r\nconfirm nothing of it\r\n", -1, "" },
	{ "mutt bottom-posted", CONFIRM, "Subject: Re: Confirm\r\n\r\n"
	    "On Mon, Jan 01, 2024 at 10:00:00AM +0000, demo wrote:\r\n"
	    "> The list demo@lists.example received a post in your name.\r\n"
	    "> It goes out only when you confirm.\r\n\r\nconfirm\r\n\r\n"
	    "-- \r\nBob\r\n", 0, "" },
	{ "thunderbird top-posted", CONFIRM, "Subject: Re: Confirm\r\n"
	    "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n\r\n"
	    "Yes\r\n\r\nOn 1/1/24 10:00, demo-request@lists.example wrote:\r\n"
	    "> received a post in your name\r\n", 1, "" },
	{ "thunderbird protest over quote", CONFIRM,
	    "Subject: Re: Confirm\r\n\r\n"
	    "This was not me!\r\n\r\nOn 1/1/24 10:00, demo wrote:\r\n"
	    "> reply \"confirm\"\r\n", -1, "" },
	{ "gmail folded attribution", CONFIRM, "Subject: Re: Confirm\r\n\r\n"
	    "On Mon, Jan 1, 2024 at 10:00 AM demo <\r\n"
	    "demo-confirm@lists.example> wrote:\r\n\r\n> confirm it\r\n\r\n"
	    "confirm\r\n", 0, "" },
	{ "signature first", CONFIRM, "Subject: Re\r\n\r\n-- \r\nconfirm\r\n",
	    -1, "" },
	{ "outlook original message", CONFIRM, "Subject: RE: Confirm\r\n\r\n"
	    "\r\n-----Original Message-----\r\nFrom: demo\r\n\r\nconfirm\r\n",
	    -1, "" },
	{ "outlook underscores", CONFIRM, "Subject: RE: Confirm\r\n\r\n"
	    "confirm\r\n\r\n________________________________\r\nFrom: demo\r\n",
	    0, "" },
	{ "outlook QP alternative", CONFIRM, "Subject: RE: Confirm\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative; boundary=\"_000_\"\r\n\r\n"
	    "--_000_\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "Confir=\r\nm\r\n\r\n________________________________\r\n"
	    "--_000_\r\nContent-Type: text/html\r\n\r\n<p>no</p>\r\n"
	    "--_000_--\r\n", 0, "" },
	{ "gmail base64 alternative", CONFIRM, "Subject: Re: Confirm\r\n"
	    "Content-Type: multipart/alternative; boundary=000b\r\n\r\n"
	    "--000b\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "eWVzDQoNCk9uIE1vbiwgZGVtbyB3cm90ZToNCj4gcXVvdGUNCg==\r\n"
	    "--000b\r\nContent-Type: text/html\r\n\r\n<div>no</div>\r\n"
	    "--000b--\r\n", 1, "" },
	{ "html only", CONFIRM, "Subject: Re: Confirm\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n\r\n"
	    "<html><head><style>p{}</style></head><body><div>Confirm</div>"
	    "<div class=\"gmail_quote\"><blockquote>I did not</blockquote>"
	    "</div></body></html>\r\n", 0, "" },
	{ "html only protest", CONFIRM, "Subject: Re: Confirm\r\n"
	    "Content-Type: text/html\r\n\r\n<p>Not me.</p><blockquote>"
	    "<p>confirm</p></blockquote>\r\n", -1, "" },
	{ "text attachment is not the answer", CONFIRM, "Subject: Re\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: text/plain\r\nContent-Disposition: attachment\r\n"
	    "\r\nconfirm\r\n--b--\r\n", -1, "" },
	{ "vote approve", VOTE, "Subject: Re\r\n\r\napprove\r\n", 0, "" },
	{ "vote question", VOTE, "Subject: Re: ban\r\n\r\n"
	    "Approve? No. I will not agree to this ban.\r\n", -1, "" },
	{ "vote approvers", VOTE, "Subject: Re\r\n\r\napprovers should "
	    "think\r\n", -1, "" },
	{ "vote vouch is no vote", VOTE, "Subject: Re\r\n\r\nvouch\r\n", -1,
	    "" },
	{ "vote subject approve", VOTE, "Subject: approve\r\n\r\napprove\r\n",
	    0, "" },
	{ "vouch", VOUCH, "Subject: Re\r\n\r\nvouch\r\n", 0, "" },
	{ "vouch TOKEN subject", VOUCH, "Subject: vouch " TOK "\r\n\r\n", 0,
	    TOK },
	{ "vouch for her?", VOUCH, "Subject: Re\r\n\r\nvouch for her? never"
	    "\r\n", -1, "" },
	{ "mod approve", MOD, "Subject: Re\r\n\r\nApprove\r\n", 0, "" },
	{ "mod question", MOD, "Subject: Re\r\n\r\nApprove? No - discard it."
	    "\r\n", -1, "" },
	{ "mod reject reason", MOD, "Subject: Re\r\n\r\nreject off topic, "
	    "sorry\r\n", 1, "off topic, sorry" },
	{ "mod discard.", MOD, "Subject: Re\r\n\r\n> held\r\ndiscard.\r\n", 2,
	    "" },
	{ "mod approved? no", MOD, "Subject: Re\r\n\r\napproved? no, reject "
	    "it\r\n", -1, "" },
};

/* words - the table of a case */
static const struct reply_word *
words(enum table t, size_t *n)
{
	switch (t) {
	case CONFIRM:
		*n = REPLY_CONFIRM_N;
		return reply_confirm_words;
	case VOTE:
		*n = REPLY_VOTE_N;
		return reply_vote_words;
	case VOUCH:
		*n = REPLY_VOUCH_N;
		return reply_vouch_words;
	case MOD:
		break;
	}
	*n = sizeof(mod_words) / sizeof(mod_words[0]);
	return mod_words;
}

START_TEST(shapes)
{
	const char *m = cases[_i].msg;
	char arg[300];
	size_t n;
	const struct reply_word *w = words(cases[_i].t, &n);
	int got = reply_says(m, strlen(m), w, n, arg, sizeof(arg));

	ck_assert_msg(got == cases[_i].want, "%s: %d, not %d", cases[_i].name,
	    got, cases[_i].want);
	ck_assert_msg(strcmp(arg, cases[_i].arg) == 0, "%s: arg \"%s\"",
	    cases[_i].name, arg);
}
END_TEST

/* every prefix of every case, in a buffer of exactly that size: no crash */
START_TEST(byte_by_byte)
{
	const char *m = cases[_i].msg;
	size_t len = strlen(m), n;
	const struct reply_word *w = words(cases[_i].t, &n);
	char arg[300];

	for (size_t k = 0; k <= len; k++) {
		char *b = malloc(k ? k : 1);

		ck_assert_ptr_nonnull(b);
		memcpy(b, m, k);
		(void)reply_says(b, k, w, n, arg, sizeof(arg));
		free(b);
	}
}
END_TEST

/* each case with bytes flipped (a fixed sequence): no crash, no overread */
START_TEST(mutated)
{
	const char *m = cases[_i].msg;
	size_t len = strlen(m), n;
	const struct reply_word *w = words(cases[_i].t, &n);
	unsigned x = 2463534242u + (unsigned)_i;
	char arg[300];

	for (int round = 0; round < 300; round++) {
		char *b = malloc(len);

		ck_assert_ptr_nonnull(b);
		memcpy(b, m, len);
		for (int k = 0; k < 4; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			b[x % len] = "<>\r\n-=\"/:; \0"[(x >> 8) % 12];
		}
		(void)reply_says(b, len, w, n, arg, sizeof(arg));
		free(b);
	}
}
END_TEST

START_TEST(from)
{
	static const char m[] = "From: \"Bob B\" <Bob@Example.org>\r\n"
	    "Subject: x\r\n\r\nconfirm\r\n";
	static const char two[] = "From: a@x.example, b@x.example\r\n\r\nx\r\n";
	char out[320];

	ck_assert_int_eq(reply_from(m, strlen(m), out, sizeof(out)), 0);
	ck_assert_str_eq(out, "Bob@Example.org");
	ck_assert_int_eq(reply_from(two, strlen(two), out, sizeof(out)), -1);
	ck_assert_int_eq(reply_from("Subject: x\r\n\r\n", 14, out,
	    sizeof(out)), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("reply");
	TCase *tc = tcase_create("core");
	int n = (int)(sizeof(cases) / sizeof(cases[0]));

	tcase_add_loop_test(tc, shapes, 0, n);
	tcase_add_loop_test(tc, byte_by_byte, 0, n);
	tcase_add_loop_test(tc, mutated, 0, n);
	tcase_add_test(tc, from);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
