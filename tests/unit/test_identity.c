/* test_identity.c - pseudonym rules, the HTML sanitiser, and the body written anew for non-real lists. */
#include "testutil.h"
#include "../../mlistd/pipeline/html.h"
#include "../../mlistd/mail/pseudonym.h"
#include "../../mlistd/pipeline/transform.h"
#include "../../mlistd/pipeline/identity.h"
#include "../../mlistd/mail/notices.h"

static struct config *cfg;
static char *dir;
static struct list_cfg list;

static void
setup(void)
{
	dir = tu_tmpdir();
	cfg = tu_instance(dir, NULL);
	memset(&list, 0, sizeof(list));
	list.name = "demo";
	list.description = "Demo";
	list.subject_prefix = "[demo]";
	list.footer = "";
	list.archive_url = "";
	list.identity = ID_PSEUDONYM;
	list.html = HTML_STRIP_REMOTE;
}

static void
teardown(void)
{
	config_free(cfg);
	tu_rmrf(dir);
	free(dir);
}

/* run - transform text (LF lines become CRLF) for a pseudonymous list */
static enum result
run(const char *text, struct transform_out *out)
{
	struct buf b;
	enum result r;

	buf_init(&b, 0);
	for (const char *s = text; *s; s++) {
		if (*s == '\n')
			buf_putc(&b, '\r');
		buf_putc(&b, *s);
	}
	struct transform_in in = { cfg, &list, "0123456789ABCDEF", (char *)b.data, b.len, 1700000000, 0, 0, 1, 0 };
	r = transform_post(&in, out);
	buf_free(&b);
	return r;
}

static const char *
part(struct transform_out *o, int i)
{
	return buf_cstr(&o->part[i]);
}

static const char *const good[] = { "Rosa", "Red Heron 42", "Genossin Ærø", "J. Smith", "ローザ" };
static const struct { const char *name, *why; } bad[] = {
	{ "", "2 to 40" }, { "R", "2 to 40" }, { "a@b", "may not contain" }, { "x <y>", "may not contain" },
	{ "press.example", "address" }, { "see www.Riseup", "address" }, { "http://x", "may not contain" },
	{ "Moderator", "reserved" }, { "OWNER", "reserved" }, { "m\u043ederator", "reserved" },
	{ "a\u200bb", "invisible" }, { "a\u202eb", "invisible" }, { "a\tb", "invisible" },
	{ "Bob via demo", "via" }, { " Rosa", "space" }, { "Ro  sa", "space" }, { "\xff\xfe", "UTF-8" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "2 to 40" },
};

/*
 * a real-identity copy's rewritten From, when nobody is named, is in the
 * list's words ([member-name]), not English in C
 */
START_TEST(munged_from_nobody_named)
{
	struct notices words = { 0 };
	struct pipeline p = { .cfg = cfg };
	struct buf copy;

	words.piece[PIECE_MEMBER_NAME] = "Ein Mitglied\n";
	words.piece[PIECE_FROM_AUTHOR] = "{name} bei {list}\n";
	list.notices = &words;
	buf_init(&copy, 0);
	buf_puts(&copy, "Subject: s\r\nFrom: x\r\nTo: y\r\n\r\nhi\r\n");
	ck_assert_int_eq(identity_munged_from(&p, &list, NULL, 0, &copy), 0);
	list.notices = NULL;
	ck_assert_str_eq(buf_cstr(&copy), "Subject: s\r\nFrom: \"Ein Mitglied "
	    "bei demo\" <demo@lists.example>\r\nTo: y\r\n\r\nhi\r\n");
	buf_free(&copy);
}
END_TEST

START_TEST(pseudonyms_good)
{
	char sk[SKELETON_MAX], why[160];

	ck_assert_msg(pseudonym_check(good[_i], sk, sizeof(sk), why, sizeof(why)) == 0, "%s: %s", good[_i], why);
}
END_TEST

START_TEST(pseudonyms_bad)
{
	char sk[SKELETON_MAX], why[160] = "";

	ck_assert_int_eq(pseudonym_check(bad[_i].name, sk, sizeof(sk), why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, bad[_i].why) != NULL, "%s: %s", bad[_i].name, why);
}
END_TEST

START_TEST(lookalikes_share_a_skeleton)
{
	char a[SKELETON_MAX], b[SKELETON_MAX], c[SKELETON_MAX], d[SKELETON_MAX], why[160];

	ck_assert_int_eq(pseudonym_check("Rosa", a, sizeof(a), why, sizeof(why)), 0);
	ck_assert_int_eq(pseudonym_check("ROSA", b, sizeof(b), why, sizeof(why)), 0);
	ck_assert_int_eq(pseudonym_check("R\u043esa", c, sizeof(c), why, sizeof(why)), 0);	/* Cyrillic o */
	ck_assert_int_eq(pseudonym_check("Rosie", d, sizeof(d), why, sizeof(why)), 0);
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(a, c);
	ck_assert_str_ne(a, d);
}
END_TEST

START_TEST(generated_names_pass_the_rules)
{
	char name[64], sk[SKELETON_MAX], why[160], h[24];

	for (int i = 0; i < 200; i++) {
		pseudonym_generate(name, sizeof(name));
		ck_assert_msg(pseudonym_check(name, sk, sizeof(sk), why, sizeof(why)) == 0, "%s: %s", name, why);
	}
	handle_generate(h, sizeof(h));
	ck_assert_int_eq(strlen(h), 10);
}
END_TEST

START_TEST(html_loses_remote_content)
{
	static const char html[] =
	    "<html><head><link rel=stylesheet href='http://t.example/s.css'><meta http-equiv=refresh content='0;u=http://t.example'>"
	    "<style>p{background:url(http://t.example/b)}</style><base href='http://t.example/'></head>"
	    "<body onload='x()'><p style='color:red'>keep <b>this</b></p><img src='http://t.example/p.gif' alt='px'>"
	    "<img src='cid:old@sender.example'><img src='data:image/png;base64,AAAA'><IMG SRC=\"HTTP://t.example/u\">"
	    "<p style='background:u\\72l(http://t.example/e)'>escaped</p><svg><image href='http://t.example/s'/></svg>"
	    "<video poster='http://t.example/v'></video><iframe src='http://t.example/f'></iframe>"
	    "<table background='http://t.example/bg'><tr><td>cell</td></tr></table>"
	    "<a href='https://example.org/x' onclick='y()'>link</a><!-- generator: Outlook --><script>z()</script></body></html>";
	struct html_cid cid = { "old@sender.example", "new@lists.example" };
	struct buf out, text;
	int n;

	buf_init(&out, 0);
	buf_init(&text, 0);
	n = html_sanitize(html, strlen(html), &cid, 1, &out, &text);
	ck_assert_int_gt(n, 8);
	ck_assert_ptr_null(strcasestr(buf_cstr(&out), "t.example"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "sender.example"));
	ck_assert_ptr_null(strcasestr(buf_cstr(&out), "onload"));
	ck_assert_ptr_null(strcasestr(buf_cstr(&out), "onclick"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "Outlook"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "<script"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "src=\"cid:new@lists.example\""));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "src=\"data:image/png;base64,AAAA\""));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "<a href=\"https://example.org/x\">link</a>"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "style=\"color:red\""));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&text), "keep this"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&text), "cell"));
	buf_free(&out);
	buf_free(&text);
}
END_TEST

/* invalid quoted-printable is read as clients read it: a lone "=" kept, never a NUL (#16) */
START_TEST(lenient_quoted_printable)
{
	struct transform_out o;
	const char *sc;

	ck_assert_int_eq(run("From: a@sender.example\nSubject: qp\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
	    "See https://x.example/?a=3D1&b=\n0&c=zz end=\nnext line K=C3=B6ln =\n", &o), OK);
	sc = part(&o, TP_SCAN);
	ck_assert_ptr_nonnull(strstr(sc, "?a=1&b0&c=zz endnext line K\xc3\xb6ln"));
	ck_assert_ptr_nonnull(strstr(part(&o, TP_BODY), "c=3Dzz"));
	transform_out_free(&o);
	ck_assert_int_eq(run("From: a@sender.example\nSubject: qp\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
	    "a=00b =3D =ZZ =\n", &o), OK);
	ck_assert_ptr_nonnull(strstr(part(&o, TP_SCAN), "ab = =ZZ"));
	transform_out_free(&o);
}
END_TEST

START_TEST(body_written_anew)
{
	struct transform_out o;
	const char *b;

	ck_assert_int_eq(run("From: =?utf-8?q?Ros=C3=A1_L?= <rosa@sender.example>\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n"
	    "Message-ID: <m1@sender.example>\nIn-Reply-To: <p1@lists.example>\n"
	    "References: <r0@x.example> bad <p1@lists.example>\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"Apple-Mail=_ORIGINAL\"\n\nPREAMBLE by MailClient 1.0\n"
	    "--Apple-Mail=_ORIGINAL\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n"
	    "Content-Description: written on my laptop\n\nGr=FC=DFe aus K=F6ln\n"
	    "--Apple-Mail=_ORIGINAL\nContent-Type: image/png; name=a.png\nContent-ID: <img1@sender.example>\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    /* a whole 1x1 PNG: an image the list cannot walk is not passed on (#16) */
	    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==\n"
	    "--Apple-Mail=_ORIGINAL\nContent-Type: application/pgp-keys; name=key.asc\n\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nxx\n"
	    "--Apple-Mail=_ORIGINAL\nContent-Type: text/x-vcard; name=me.vcf\n\nBEGIN:VCARD\nFN:Rosa\nEND:VCARD\n"
	    "--Apple-Mail=_ORIGINAL--\nEPILOGUE\n", &o), OK);
	b = part(&o, TP_BODY);
	ck_assert_ptr_null(strstr(b, "Apple-Mail"));
	ck_assert_ptr_null(strstr(b, "PREAMBLE"));
	ck_assert_ptr_null(strstr(b, "EPILOGUE"));
	ck_assert_ptr_null(strstr(b, "sender.example"));
	ck_assert_ptr_null(strstr(b, "laptop"));
	ck_assert_ptr_null(strstr(b, "VCARD"));
	ck_assert_ptr_null(strstr(b, "PGP"));
	ck_assert_ptr_nonnull(strstr(b, "Content-ID: <"));
	ck_assert_ptr_nonnull(strstr(b, "@lists.example>"));
	ck_assert_ptr_nonnull(strstr(b, "charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable"));
	ck_assert_ptr_nonnull(strstr(b, "Gr=C3=BC=C3=9Fe aus K=C3=B6ln"));
	ck_assert_ptr_nonnull(strstr(b, "iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"));
	ck_assert_ptr_nonnull(strstr(part(&o, TP_REMOVED), "@pgp-key\n"));
	ck_assert_ptr_nonnull(strstr(part(&o, TP_REMOVED), "@vcard\n"));
	ck_assert_ptr_nonnull(strstr(part(&o, TP_SUBJECT), "Subject: [demo] =?utf-8?q?Gr=C3=BC=C3=9Fe?="));
	ck_assert_str_eq(part(&o, TP_REFS), "<p1@lists.example>\n<r0@x.example> <p1@lists.example>");
	ck_assert_str_eq(part(&o, TP_MSGID), "<m1@sender.example>");
	ck_assert_str_eq(part(&o, TP_FROMNAME), "Rosá L");
	ck_assert_ptr_nonnull(strstr(part(&o, TP_SCAN), "Grüße aus Köln"));
	ck_assert_int_eq(o.rendered.len, 0);	/* no real-identity copy was asked for */
	transform_out_free(&o);
}
END_TEST

START_TEST(signed_mail_unwrapped)
{
	struct transform_out o;
	const char *b;

	ck_assert_int_eq(run("From: a@b.example\nSubject: s\nMIME-Version: 1.0\nContent-Type: multipart/signed; "
	    "micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=S\n\n--S\nContent-Type: text/plain\n\n"
	    "signed text\n--S\nContent-Type: application/pgp-signature\n\n-----BEGIN PGP SIGNATURE-----\nxx\n"
	    "-----END PGP SIGNATURE-----\n--S--\n", &o), OK);
	b = part(&o, TP_BODY);
	ck_assert_ptr_null(strstr(b, "multipart/signed"));
	ck_assert_ptr_null(strstr(b, "SIGNATURE"));
	ck_assert_ptr_nonnull(strstr(b, "Content-Type: text/plain"));
	ck_assert_ptr_nonnull(strstr(b, "signed text"));
	transform_out_free(&o);
	/* inline clear-signed text: the words stay, the armour and signature go, dash-escaping undone */
	ck_assert_int_eq(run("From: a@b.example\nSubject: s\n\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
	    "clear text\n- -- dashed\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n", &o), OK);
	b = part(&o, TP_BODY);
	ck_assert_ptr_null(strstr(b, "PGP"));
	ck_assert_ptr_nonnull(strstr(b, "clear text\r\n-- dashed"));
	transform_out_free(&o);
}
END_TEST

START_TEST(footer_and_signature)
{
	struct transform_out o;
	const char *b;

	list.footer = "Leave: demo-request@lists.example";
	list.strip_signature = 1;
	ck_assert_int_eq(run("From: a@b.example\nSubject: s\n\nText.\n-- \nMy Name\nMy Org\n", &o), OK);
	b = part(&o, TP_BODY);
	ck_assert_ptr_null(strstr(b, "My Name"));
	/* "-- " ends in white space: quoted-printable, as RFC 3156 wants of signed parts (#18) */
	ck_assert_ptr_nonnull(strstr(b, "Content-Transfer-Encoding: quoted-printable"));
	ck_assert_ptr_nonnull(strstr(b, "Text.\r\n--=20\r\nLeave: demo-request@lists.example\r\n"));
	transform_out_free(&o);
	/* not text/plain at the top: the footer becomes a part of its own */
	ck_assert_int_eq(run("From: a@b.example\nSubject: s\nMIME-Version: 1.0\nContent-Type: text/html\n\n<p>hi</p>\n",
	    &o), OK);
	b = part(&o, TP_BODY);
	ck_assert_ptr_nonnull(strstr(b, "multipart/mixed"));
	ck_assert_ptr_nonnull(strstr(b, "Leave: demo-request"));
	transform_out_free(&o);
}
END_TEST

START_TEST(long_and_binary_lines_are_encoded)
{
	struct transform_out o;
	char msg[4000];
	const char *b;
	size_t line = 0;

	memset(msg, 0, sizeof(msg));
	strcpy(msg, "From: a@b.example\nSubject: s\n\n");
	memset(msg + strlen(msg), 'x', 2000);
	strcat(msg, " \n");
	ck_assert_int_eq(run(msg, &o), OK);
	b = part(&o, TP_BODY);
	ck_assert_ptr_nonnull(strstr(b, "quoted-printable"));
	for (; *b; b++) {
		line = *b == '\n' ? 0 : line + 1;
		ck_assert_uint_le(line, 78);
	}
	ck_assert_ptr_nonnull(strstr(part(&o, TP_BODY), "x=\r\n"));	/* soft line breaks */
	ck_assert_ptr_nonnull(strstr(part(&o, TP_BODY), "=20"));	/* trailing space encoded */
	transform_out_free(&o);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, pseudonyms_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, pseudonyms_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, munged_from_nobody_named);
	tcase_add_test(tc, lookalikes_share_a_skeleton);
	tcase_add_test(tc, generated_names_pass_the_rules);
	tcase_add_test(tc, html_loses_remote_content);
	tcase_add_test(tc, body_written_anew);
	tcase_add_test(tc, lenient_quoted_printable);
	tcase_add_test(tc, signed_mail_unwrapped);
	tcase_add_test(tc, footer_and_signature);
	tcase_add_test(tc, long_and_binary_lines_are_encoded);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
