/*
 * test_faithful.c - real-world MIME read as mail clients read it (#16):
 * unterminated and repeated boundaries, text labelled multipart,
 * forwarded messages and digests rebuilt on pseudonymous lists, message
 * parts never base64, attachment names in RFC 2047 and 2231 forms, and
 * the metadata walkers (JPEG, PNG, WebP, documents). Each case is a
 * shape found in real mail; the assertions are on the bytes that go out.
 */
#include <sodium.h>
#include <zlib.h>

#include "testutil.h"
#include "doc_fixtures.h"
#include "../../mlistd/pipeline/meta.h"
#include "../../mlistd/pipeline/transform.h"

/* a 1x1 grey PNG, and the same with a tEXt chunk "Author: Quill Ardenwick" */
#define PNG_1X1	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
#define PNG_TEXT "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAAFnRFWHRBdXRob3IAUXVpbGwgQXJkZW53aWNr3TCTvgAA" \
	"AApJREFUeJxjYAAAAAIAAUivpHEAAAAASUVORK5CYII="
/* a zip made by Python's zipfile (stored), not a document */
#define ZIPPLAIN_LEN	109
#define ZIPPLAIN	"\x50\x4b\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x21\x50\x83\x16\xdc\x8c" \
	    "\x01\x00\x00\x00\x01\x00\x00\x00\x05\x00\x00\x00\x61\x2e\x74\x78\x74\x78" \
	    "\x50\x4b\x01\x02\x14\x03\x14\x00\x00\x00\x00\x00\x00\x00\x21\x50\x83\x16" \
	    "\xdc\x8c\x01\x00\x00\x00\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00" \
	    "\x00\x00\x00\x00\x80\x01\x00\x00\x00\x00\x61\x2e\x74\x78\x74\x50\x4b\x05" \
	    "\x06\x00\x00\x00\x00\x01\x00\x01\x00\x33\x00\x00\x00\x24\x00\x00\x00\x00" \
	    "\x00"

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
	list.html = HTML_STRIP_REMOTE;
}

static void
teardown(void)
{
	config_free(cfg);
	tu_rmrf(dir);
	free(dir);
}

/* anon - the pseudonymous body of text; OK expected */
static const char *
anon(const char *text, struct transform_out *o)
{
	char *m = tu_crlf(text);
	struct transform_in in = { cfg, &list, "0123456789ABCDEF", m, strlen(m), 1700000000, 0, 0, 1, 0 };

	ck_assert_msg(transform_post(&in, o) == OK, "refused: %s", o->reason);
	free(m);
	return buf_cstr(&o->part[TP_BODY]);
}

#define HEAD "From: Quill Ardenwick <quill@example.net>\nSubject: s\nMIME-Version: 1.0\n"

/* broken structures clients show, and the text that must come through each */
static const struct { const char *msg, *want[3]; } broken[] = {
	/* text + zip, the last part never closed */
	{ HEAD "Content-Type: multipart/mixed; boundary=\"A\"\n\n--A\nContent-Type: text/plain\n\n"
	    "the minutes\n--A\nContent-Type: application/zip\nContent-Transfer-Encoding: base64\n\n"
	    "UEsDBA==\n", { "the minutes", "UEsDBA==", "application/zip" } },
	/* text + HTML alternative, unterminated, nested in an unterminated mixed */
	{ HEAD "Content-Type: multipart/mixed; boundary=\"A\"\n\n--A\n"
	    "Content-Type: multipart/alternative; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\n"
	    "plain words\n--B\nContent-Type: text/html\n\n<p>html words</p>\n",
	    { "plain words", "html words", NULL } },
	/* a last delimiter with nothing after it: libetpan lost the text before it */
	{ HEAD "Content-Type: multipart/mixed; boundary=\"A\"\n\n--A\nContent-Type: text/plain\n\n"
	    "only text\n--A\n", { "only text", NULL, NULL } },
	/* text labelled multipart: no delimiter line at all */
	{ HEAD "Content-Type: multipart/mixed; boundary=\"A\"\n\njust text, labelled multipart\n",
	    { "just text, labelled multipart", NULL, NULL } },
	/* Outlook Express: the inner alternative reuses the outer boundary */
	{ HEAD "Content-Type: multipart/mixed; boundary=\"A\"\n\n--A\n"
	    "Content-Type: multipart/alternative; boundary=\"A\"\n\n--A\n"
	    "Content-Type: text/plain\n\nreused plain\n--A\nContent-Type: text/html\n\n"
	    "<p>reused html</p>\n--A--\n--A\nContent-Type: application/zip\n"
	    "Content-Transfer-Encoding: base64\n\nUEsDBA==\n--A--\n",
	    { "reused plain", "reused html", "UEsDBA==" } },
	/* no newline at the very end */
	{ HEAD "Content-Type: multipart/alternative; boundary=\"A\"\n\n--A\nContent-Type: text/plain\n\n"
	    "p1\n--A\nContent-Type: text/html\n\n<p>h1</p>", { "p1", "h1", NULL } },
};

START_TEST(broken_structure_read_as_clients_do)
{
	struct transform_out o;
	const char *b = anon(broken[_i].msg, &o);

	ck_assert_uint_eq(o.part[TP_EMPTY].len, 0);
	ck_assert_ptr_null(strstr(b, "Nothing in this post"));
	for (int k = 0; k < 3 && broken[_i].want[k]; k++)
		ck_assert_msg(strstr(b, broken[_i].want[k]) != NULL, "%s missing in\n%s",
		    broken[_i].want[k], b);
	transform_out_free(&o);
}
END_TEST

/* a repeated delimiter line is one delimiter: never shown as text */
START_TEST(repeated_boundary_not_text)
{
	struct transform_out o;
	const char *b = anon(HEAD "Content-Type: multipart/mixed; boundary=\"A\"\n\n--A\n"
	    "Content-Type: text/plain\n\nfirst\n--A\n--A\nContent-Type: text/plain\n\nsecond\n--A--\n", &o);

	ck_assert_ptr_nonnull(strstr(b, "first"));
	ck_assert_ptr_nonnull(strstr(b, "second"));
	ck_assert_ptr_null(strstr(b, "--A"));
	transform_out_free(&o);
}
END_TEST

/*
 * the boundary is the parameter named boundary, as clients read it: not
 * "x_boundary" (read as the boundary, no delimiter was found and the parts
 * went out as text: a structure the clients do not see); a "boundary="
 * inside another parameter's quoted value is refused by the screen
 */
START_TEST(boundary_decoys_not_read)
{
	static const struct { const char *ct; int ok; } c[] = {
	    { "multipart/mixed; x_boundary=\"Z\"; boundary=\"A\"", 1 },
	    { "multipart/mixed; .boundary=Z; boundary = A", 1 },
	    { "multipart/mixed;boundary=\"A\"", 1 },
	    { "multipart/mixed; name=\"a; boundary=Z\"; boundary=A", 0 },
	    { "multipart/mixed; name=\"a\\\"; boundary=Z\"; boundary=A", 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct transform_out o;
		struct transform_in in = { cfg, &list, "0123456789ABCDEF",
		    NULL, 0, 1700000000, 0, 0, 1, 0 };
		char msg[512], *m;
		const char *b;

		snprintf(msg, sizeof(msg), HEAD "Content-Type: %s\n\n--A\n"
		    "Content-Type: text/plain\n\nfirst\n--A\n--A\n"
		    "Content-Type: text/plain\n\nsecond\n--A--\n", c[i].ct);
		in.msg = m = tu_crlf(msg);
		in.len = strlen(m);
		if (!c[i].ok) {
			ck_assert_msg(transform_post(&in, &o) == PERMFAIL &&
			    strncmp(o.reason, "@boundary-", 10) == 0,
			    "%s: not refused", c[i].ct);
			transform_out_free(&o);
			free(m);
			continue;
		}
		ck_assert_int_eq(transform_post(&in, &o), OK);
		b = buf_cstr(&o.part[TP_BODY]);
		ck_assert_msg(strstr(b, "first") && strstr(b, "second"),
		    "%s: parts lost in\n%s", c[i].ct, b);
		ck_assert_msg(strstr(b, "--A") == NULL, "%s: read as text:\n%s",
		    c[i].ct, b);
		transform_out_free(&o);
		free(m);
	}
}
END_TEST

/* everything removed: the post says so (TP_EMPTY), so it is held, never sent as a shell */
START_TEST(nothing_left_is_flagged)
{
	struct transform_out o;

	anon(HEAD "Content-Type: multipart/mixed; boundary=\"A\"\n\n--A\n"
	    "Content-Type: text/vcard\n\nBEGIN:VCARD\nFN:Quill\nEND:VCARD\n--A--\n", &o);
	ck_assert_str_eq(buf_cstr(&o.part[TP_EMPTY]), "1");
	ck_assert_ptr_nonnull(strstr(buf_cstr(&o.part[TP_REMOVED]), "@vcard\n"));
	transform_out_free(&o);
}
END_TEST

static const char fwd[] = HEAD "Content-Type: multipart/mixed; boundary=\"outer\"\n\n--outer\n"
    "Content-Type: text/plain\n\nSee below.\n--outer\nContent-Type: message/rfc822\n\n"
    "Received: from [198.51.100.23] by mx.example.net with ESMTP id 1234\n"
    "From: Quill Ardenwick <quill@example.net>\nTo: someone@example.com\n"
    "Subject: =?UTF-8?Q?Pl=C3=A4ne?=\nDate: Sun, 31 Dec 2023 23:30:00 +0200\n"
    "Message-ID: <inner-secret-id@mail.example.net>\nX-Mailer: Microsoft Outlook 16.0\n"
    "X-Originating-IP: [198.51.100.23]\nMIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\n\n--inner\n"
    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
    "The pl=C3=A4ns, by Quill.\n--inner\nContent-Type: text/html; charset=utf-8\n\n"
    "<p>The plans</p><img src=\"https://tracker.example/pixel.gif?u=quill\">\n--inner--\n"
    "--outer\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
    "Final-Recipient: rfc822; x@example.com\nAction: failed\nStatus: 5.1.1\n--outer--\n";

/* a forwarded message is rebuilt: Subject and Date only, HTML sanitised, text decoded for the guard */
START_TEST(forwarded_message_rebuilt)
{
	static const char *const gone[] = { "Received", "X-Mailer", "inner-secret-id", "198.51.100.23",
	    "X-Originating-IP", "tracker.example", "quill@example.net", "someone@example.com", NULL };
	struct transform_out o;
	const char *b = anon(fwd, &o);

	ck_assert_ptr_nonnull(strstr(b, "Content-Type: message/rfc822\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\nSubject: =?UTF-8?Q?Pl=C3=A4ne?=\r\n"
	    "Date: Sun, 31 Dec 2023 21:30:00 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(b, "The pl=C3=A4ns"));
	ck_assert_ptr_nonnull(strstr(b, "<p>The plans</p>"));
	for (int k = 0; gone[k]; k++)
		ck_assert_msg(strstr(b, gone[k]) == NULL, "%s kept:\n%s", gone[k], b);
	/* the leak guard reads the forwarded text decoded */
	ck_assert_ptr_nonnull(strstr(buf_cstr(&o.part[TP_SCAN]), "The pl\xc3\xa4ns, by Quill."));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&o.part[TP_SCAN]), "Pl\xc3\xa4ne"));
	/* RFC 3464: a delivery report stays readable (7bit), never base64 */
	ck_assert_ptr_nonnull(strstr(b, "Content-Type: message/delivery-status\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\nReporting-MTA: dns; mx.example.net\r\n"));
	transform_out_free(&o);
}
END_TEST

/* a forwarded message sent base64 (clients read it) is decoded and rebuilt too */
START_TEST(encoded_forwarded_message_rebuilt)
{
	struct transform_out o;
	const char *b = anon(HEAD "Content-Type: multipart/mixed; boundary=\"o\"\n\n--o\n"
	    "Content-Type: text/plain\n\nsee\n--o\nContent-Type: message/rfc822\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    /* Received, From, Subject "encoded inner", X-Mailer, text "inner text" */
	    "UmVjZWl2ZWQ6IGZyb20gWzE5OC41MS4xMDAuMjNdDQpGcm9tOiBTIDxzQGV4YW1wbGUuY29tPg0K\n"
	    "U3ViamVjdDogZW5jb2RlZCBpbm5lcg0KWC1NYWlsZXI6IE91dGxvb2sNCg0KaW5uZXIgdGV4dA0K\n"
	    "--o--\n", &o);

	ck_assert_ptr_nonnull(strstr(b, "Content-Type: message/rfc822\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\nSubject: encoded inner\r\n"));
	ck_assert_ptr_nonnull(strstr(b, "inner text"));
	ck_assert_ptr_null(strstr(b, "198.51.100.23"));
	ck_assert_ptr_null(strstr(b, "Outlook"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&o.part[TP_SCAN]), "inner text"));
	transform_out_free(&o);
}
END_TEST

/* a real-identity copy keeps the forwarded message as it was */
START_TEST(forwarded_message_kept_on_real_lists)
{
	char *m = tu_crlf(fwd);
	struct transform_in in = { cfg, &list, "0123456789ABCDEF", m, strlen(m), 1700000000, 0, 1, 0, 0 };
	struct transform_out o;

	ck_assert_int_eq(transform_post(&in, &o), OK);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&o.rendered), "X-Mailer: Microsoft Outlook 16.0\r\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&o.rendered), "From: Quill Ardenwick <quill@example.net>\r\n"
	    "To: someone@example.com\r\n"));
	transform_out_free(&o);
	free(m);
}
END_TEST

/* a digest's entries (the first with an empty part header) keep Subject and Date */
START_TEST(digest_entries_keep_subject_and_date)
{
	struct transform_out o;
	const char *b = anon(HEAD "Content-Type: multipart/digest; boundary=\"dg\"\n\n--dg\n\n"
	    "From: Alder Brightwater <alder@example.org>\nSubject: first entry\n"
	    "Date: Sun, 31 Dec 2023 10:00:00 +0100\n\nEntry one.\n--dg\n"
	    "Content-Type: message/rfc822\n\nFrom: Birch <birch@example.org>\nSubject: second entry\n\n"
	    "Entry two.\n--dg--\n", &o);

	ck_assert_ptr_nonnull(strstr(b, "Subject: first entry\r\nDate: Sun, 31 Dec 2023 09:00:00 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(b, "Subject: second entry\r\n"));
	ck_assert_ptr_nonnull(strstr(b, "Entry one."));
	ck_assert_ptr_nonnull(strstr(b, "Entry two."));
	ck_assert_ptr_null(strstr(b, "alder@example.org"));
	transform_out_free(&o);
}
END_TEST

/* an entry with an empty part header and MIME fields of its own stays a message */
START_TEST(digest_entry_with_its_own_type)
{
	struct transform_out o;
	const char *b = anon(HEAD "Content-Type: multipart/digest; boundary=\"dg\"\n\n--dg\n\n"
	    "From: Alder <alder@example.org>\nSubject: html entry\nMIME-Version: 1.0\n"
	    "Content-Type: text/html; charset=utf-8\n\n<p>entry</p>\n--dg--\n", &o);

	ck_assert_ptr_nonnull(strstr(b, "Content-Type: message/rfc822\r\n"));
	ck_assert_ptr_nonnull(strstr(b, "Subject: html entry\r\n"));
	ck_assert_ptr_nonnull(strstr(b, "<p>entry</p>"));
	transform_out_free(&o);
}
END_TEST

/* attachment names in every form clients write, and what goes out */
static const struct { const char *params, *want, *not; } names[] = {
	/* Gmail/Outlook: RFC 2047 inside the quotes */
	{ "Content-Disposition: attachment; filename=\"=?UTF-8?B?w5xiZXJ3ZWlzdW5nIE3DpHJ6LnBkZg==?=\"",
	    "filename*=UTF-8''%C3%9Cberweisung%20M%C3%A4rz.pdf", "UTF-8_B" },
	/* RFC 2231 */
	{ "Content-Disposition: attachment; filename*=UTF-8''%E7%AE%A1%E7%90%86.doc",
	    "filename*=UTF-8''%E7%AE%A1%E7%90%86.doc", "filename=\".doc\"" },
	/* RFC 2231 continuations, with a right-to-left override that would show "evilexe.pdf" */
	{ "Content-Disposition: attachment;\n filename*0*=UTF-8''evil%E2%80%AEfdp;\n filename*1=\".exe\"",
	    "filename=\"evilfdp.exe\"", "%E2%80%AE" },
	/* a path (its last part kept) and a control character in name */
	{ "Content-Type: application/octet-stream; name=\"../../etc/pass\\\\wd\x01.txt\"",
	    "filename=\"wd.txt\"", "pass" },
	/* Latin-1 raw bytes */
	{ "Content-Disposition: attachment; filename=\"caf\xe9.txt\"",
	    "filename*=UTF-8''caf%C3%A9.txt", NULL },
};

START_TEST(attachment_names_decoded_and_cleaned)
{
	char msg[2048];
	struct transform_out o;
	const char *b;

	snprintf(msg, sizeof(msg), HEAD "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
	    "Content-Type: text/plain\n\nhi\n--b\n%s\n%sContent-Transfer-Encoding: base64\n\nAAAA\n--b--\n",
	    names[_i].params, strncmp(names[_i].params, "Content-Type", 12) ?
	    "Content-Type: application/octet-stream\n" : "");
	b = anon(msg, &o);
	ck_assert_msg(strstr(b, names[_i].want) != NULL, "%s not in\n%s", names[_i].want, b);
	if (names[_i].not)
		ck_assert_msg(strstr(b, names[_i].not) == NULL, "%s in\n%s", names[_i].not, b);
	transform_out_free(&o);
}
END_TEST

/* a long name is cut between characters and keeps its extension; sections end between characters */
START_TEST(long_name_keeps_extension)
{
	char msg[8192], name[1024] = "";
	struct transform_out o;
	const char *b;

	for (int k = 0; k < 100; k++)
		strcat(name, "%E7%AE%A1");		/* 300 octets of UTF-8 */
	snprintf(msg, sizeof(msg), HEAD "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
	    "Content-Type: text/plain\n\nhi\n--b\nContent-Type: application/msword\n"
	    "Content-Disposition: attachment; filename*=UTF-8''%s.doc\n"
	    "Content-Transfer-Encoding: base64\n\nAAAA\n--b--\n", name);
	b = anon(msg, &o);
	ck_assert_ptr_nonnull(strstr(b, "filename*0*=UTF-8''%E7%AE%A1"));
	ck_assert_ptr_nonnull(strstr(b, ".doc\r\n"));
	ck_assert_ptr_null(strstr(b, "%E7;"));
	ck_assert_ptr_null(strstr(b, "%E7%AE;"));
	transform_out_free(&o);
}
END_TEST

/* jpeg - SOI, JFIF, EXIF with a GPS tag, a comment, DQT, SOS + coded data, EOI, a trailer */
static const unsigned char jpeg[] = {
	0xff, 0xd8,
	0xff, 0xe0, 0x00, 0x07, 'J', 'F', 'I', 'F', 0,
	0xff, 0xe1, 0x00, 0x0c, 'E', 'x', 'i', 'f', 0, 0, 'G', 'P', 'S', '!',
	0xff, 0xfe, 0x00, 0x07, 'Q', 'u', 'i', 'l', 'l',
	0xff, 0xed, 0x00, 0x06, 'I', 'P', 'T', 'C',
	0xff, 0xdb, 0x00, 0x04, 0x01, 0x02,
	0xff, 0xda, 0x00, 0x04, 0x03, 0x04, 0x11, 0xff, 0x00, 0x22, 0xff, 0xd0, 0x33,
	0xff, 0xd9, 'M', 'P', 'F', 'x',
};
static const unsigned char jpeg_clean[] = {
	0xff, 0xd8,
	0xff, 0xe0, 0x00, 0x07, 'J', 'F', 'I', 'F', 0,
	0xff, 0xdb, 0x00, 0x04, 0x01, 0x02,
	0xff, 0xda, 0x00, 0x04, 0x03, 0x04, 0x11, 0xff, 0x00, 0x22, 0xff, 0xd0, 0x33,
	0xff, 0xd9,
};

START_TEST(jpeg_metadata_removed_pixels_kept)
{
	struct buf out;
	int removed;

	buf_init(&out, 0);
	ck_assert_int_eq(meta_jpeg_strip(jpeg, sizeof(jpeg), &out, &removed), 0);
	ck_assert_int_eq(removed, 4);
	ck_assert_uint_eq(out.len, sizeof(jpeg_clean));
	ck_assert_int_eq(memcmp(out.data, jpeg_clean, out.len), 0);
	/* every prefix cut before the end of image fails cleanly, never reading past it (ASan) */
	for (size_t n = 0; n < sizeof(jpeg) - 4; n++) {
		buf_reset(&out);
		ck_assert_int_eq(meta_jpeg_strip(jpeg, n, &out, &removed), -1);
	}
	buf_free(&out);
}
END_TEST

START_TEST(png_text_removed_pixels_kept)
{
	unsigned char a[256], b[256];
	size_t al, bl;
	struct buf out;
	int removed;

	ck_assert_int_eq(sodium_base642bin(a, sizeof(a), PNG_TEXT, strlen(PNG_TEXT), NULL, &al, NULL,
	    sodium_base64_VARIANT_ORIGINAL), 0);
	ck_assert_int_eq(sodium_base642bin(b, sizeof(b), PNG_1X1, strlen(PNG_1X1), NULL, &bl, NULL,
	    sodium_base64_VARIANT_ORIGINAL), 0);
	buf_init(&out, 0);
	ck_assert_int_eq(meta_png_strip(a, al, &out, &removed), 0);
	ck_assert_int_eq(removed, 1);
	ck_assert_uint_eq(out.len, bl);
	ck_assert_int_eq(memcmp(out.data, b, bl), 0);
	for (size_t n = 0; n < al; n++) {
		buf_reset(&out);
		ck_assert_int_eq(meta_png_strip(a, n, &out, &removed), -1);
	}
	buf_free(&out);
}
END_TEST

/* webp - VP8X with EXIF and XMP flags, an EXIF chunk, an XMP chunk (odd: padded), VP8L */
START_TEST(webp_exif_xmp_removed)
{
	static const unsigned char w[] = {
		'R', 'I', 'F', 'F', 52, 0, 0, 0, 'W', 'E', 'B', 'P',
		'V', 'P', '8', 'X', 10, 0, 0, 0, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		'E', 'X', 'I', 'F', 2, 0, 0, 0, 'G', 'P',
		'X', 'M', 'P', ' ', 1, 0, 0, 0, 'Q', 0,
		'V', 'P', '8', 'L', 2, 0, 0, 0, 0x2f, 0x00,
	};
	struct buf out;
	int removed;

	buf_init(&out, 0);
	ck_assert_int_eq(meta_webp_strip(w, sizeof(w), &out, &removed), 0);
	ck_assert_int_eq(removed, 2);
	ck_assert_uint_eq(out.len, 12 + 18 + 10);
	ck_assert_int_eq(out.data[4], 32);		/* the RIFF size, anew */
	ck_assert_int_eq(out.data[20], 0);		/* no EXIF/XMP flags */
	ck_assert_int_eq(memcmp(out.data + 30, "VP8L", 4), 0);
	for (size_t n = 0; n < sizeof(w); n++) {
		buf_reset(&out);
		(void)meta_webp_strip(w, n, &out, &removed);	/* only no over-read */
	}
	buf_free(&out);
}
END_TEST

/* an image in a post on a pseudonymous list goes out without its text chunk; a broken one not at all */
/*
 * an SVG drawing is not walked: it goes (Inkscape writes the file's path,
 * /home/LOGIN/..., into it), said as an image the list could not check;
 * an XML file that is not SVG stays
 */
START_TEST(svg_removed_xml_kept)
{
	struct transform_out o;
	const char *b = anon(HEAD "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
	    "--b\nContent-Type: text/plain\n\ndrawing\n--b\nContent-Type: "
	    "image/svg+xml; name=\"l.svg\"\nContent-Transfer-Encoding: base64\n\n"
	    "PD94bWwgdmVyc2lvbj0iMS4wIiBlbmNvZGluZz0iVVRGLTgiPz4KPHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHhtbG5zOmlua3NjYXBlPSJodHRwOi8vd3d3Lmlua3NjYXBlLm9yZy9uYW1lc3BhY2VzL2lua3NjYXBlIiBpbmtzY2FwZTpleHBvcnQtZmlsZW5hbWU9Ii9ob21lL3JsdXhlbWJ1cmcvUGljdHVyZXMvbGVhZmxldC5wbmciPjxyZWN0IHdpZHRoPSIxIiBoZWlnaHQ9IjEiLz48L3N2Zz4K\n--b\nContent-Type: application/xml; name=\"m.xml\"\n"
	    "Content-Transfer-Encoding: base64\n\nPD94bWwgdmVyc2lvbj0iMS4wIj8+CjxtaW51dGVzPjxpdGVtPmJ1ZGdldDwvaXRlbT48L21pbnV0ZXM+Cg==\n--b--\n", &o);

	ck_assert_ptr_nonnull(strstr(b, "drawing"));
	ck_assert_ptr_null(strstr(b, "PD94bWwgdmVyc2lvbj0iMS4wIiBlbmNvZGluZz0i"));
	ck_assert_ptr_nonnull(strstr(b, "PD94bWwgdmVyc2lvbj0iMS4wIj8+CjxtaW51dGVz"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&o.part[TP_REMOVED]),
	    "@image-unchecked\n"));
	transform_out_free(&o);
}
END_TEST

START_TEST(image_in_post_cleaned)
{
	struct transform_out o;
	const char *b = anon(HEAD "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
	    "Content-Type: text/plain\n\nphoto\n--b\nContent-Type: image/png; name=\"p.png\"\n"
	    "Content-Transfer-Encoding: base64\n\n" PNG_TEXT "\n--b\nContent-Type: image/jpeg\n"
	    "Content-Transfer-Encoding: base64\n\n/9j/4AAQ\n--b--\n", &o);

	/* the clean PNG's first base64 line (the text one differs from its 44th character) */
	ck_assert_ptr_nonnull(strstr(b, "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNg"));
	ck_assert_ptr_null(strstr(b, "/9j/4AAQ"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&o.part[TP_REMOVED]), "@image-details"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&o.part[TP_REMOVED]), "@image-unchecked\n"));
	transform_out_free(&o);
}
END_TEST


/* the documents of doc_fixtures.h, and whether each names someone */
static const struct {
	const char *name, *d;
	size_t n;
	int names;
	const char *what;
} docs[] = {
	{ "odt bomb", ODT_BOMB, ODT_BOMB_LEN, 1, "compressed beyond" },
	{ "docx author", DOCX_AUTHOR, DOCX_AUTHOR_LEN, 1, "core.xml" },
	{ "docx saved by", DOCX_SAVED_BY, DOCX_SAVED_BY_LEN, 1, "core.xml" },
	{ "docx cdata", DOCX_CDATA, DOCX_CDATA_LEN, 1, "core.xml" },
	{ "docx company", DOCX_COMPANY, DOCX_COMPANY_LEN, 1, "app.xml" },
	{ "docx clean", DOCX_CLEAN, DOCX_CLEAN_LEN, 0, NULL },
	{ "odt author", ODT_AUTHOR, ODT_AUTHOR_LEN, 1, "meta.xml" },
	{ "odt clean", ODT_CLEAN, ODT_CLEAN_LEN, 0, NULL },
	{ "plain zip", ZIPPLAIN, ZIPPLAIN_LEN, 0, NULL },
	/* comments: PowerPoint's, Excel's, a Word header's, Impress's */
	{ "pptx comment author", PPTX_CM_AUTHOR, PPTX_CM_AUTHOR_LEN, 1,
	    "commentAuthors.xml" },
	{ "pptx authors", PPTX_AUTHORS, PPTX_AUTHORS_LEN, 1,
	    "ppt/authors.xml" },
	{ "pptx clean", PPTX_CLEAN, PPTX_CLEAN_LEN, 0, NULL },
	{ "xlsx comments2", XLSX_COMMENTS2, XLSX_COMMENTS2_LEN, 1,
	    "commentsN.xml" },
	{ "xlsx person", XLSX_PERSON, XLSX_PERSON_LEN, 1, "person.xml" },
	{ "xlsx person id", XLSX_PERSON_ID, XLSX_PERSON_ID_LEN, 1,
	    "person.xml" },
	{ "xlsx clean", XLSX_CLEAN, XLSX_CLEAN_LEN, 0, NULL },
	{ "xlsx tc name", XLSX_TC_NAME, XLSX_TC_NAME_LEN, 1,
	    "commentsN.xml" },
	{ "docx header", DOCX_HEADER_TRACKED, DOCX_HEADER_TRACKED_LEN, 1,
	    "headerN.xml" },
	{ "odp annotation", ODP_ANNOTATION, ODP_ANNOTATION_LEN, 1,
	    "content.xml" },
	{ "odp initials", ODP_INITIALS, ODP_INITIALS_LEN, 1, "content.xml" },
	{ "odt styles", ODT_STYLES, ODT_STYLES_LEN, 1, "styles.xml" },
	{ "odp clean", ODP_CLEAN, ODP_CLEAN_LEN, 0, NULL },
};

/* judge - meta_document on the n bytes of d, from a private copy (ASan sees over-reads) */
static int
judge(const void *d, size_t n, char *what, size_t wl)
{
	unsigned char *c = malloc(n ? n : 1);
	int r;

	ck_assert_ptr_nonnull(c);
	memcpy(c, d, n);
	*what = '\0';
	r = meta_document(c, n, what, wl);
	free(c);
	return r;
}

/* deflated office documents: only the ones whose properties name someone; every prefix is walked */
START_TEST(office_documents_judged_inflated)
{
	char what[200];

	for (size_t k = 0; k < sizeof(docs) / sizeof(docs[0]); k++) {
		ck_assert_msg(judge(docs[k].d, docs[k].n, what, sizeof(what)) == docs[k].names,
		    "%s: %s", docs[k].name, what);
		if (docs[k].what)
			ck_assert_msg(strstr(what, docs[k].what) != NULL, "%s: %s", docs[k].name, what);
		for (size_t n = 0; n < docs[k].n && k > 0; n++)	/* not the bomb's: slow */
			(void)judge(docs[k].d, n, what, sizeof(what));
	}
}
END_TEST

/* le - n little-endian bytes of v at p */
static void
le(unsigned char *p, unsigned long v, int n)
{
	for (int k = 0; k < n; k++)
		p[k] = (unsigned char)(v >> 8 * k);
}

/*
 * A stored zip that lists one clean meta.xml count times (every central
 * record naming the same local entry): each is read, and past 256 entries
 * the document counts as unreadable, not as read in count times its size.
 */
static int
zip_many(int count, char *what, size_t wl)
{
	static const char body[] = "<office:meta><dc:creator></dc:creator></office:meta>";
	size_t bl = sizeof(body) - 1, n, cd;
	unsigned char *z = calloc(1, 30 + 8 + bl + (size_t)count * 54 + 22);
	int r;

	ck_assert_ptr_nonnull(z);
	memcpy(z, "PK\3\4", 4);
	le(z + 18, bl, 4);
	le(z + 22, bl, 4);
	le(z + 26, 8, 2);
	memcpy(z + 30, "meta.xml", 8);
	memcpy(z + 38, body, bl);
	cd = n = 38 + bl;
	for (int k = 0; k < count; k++, n += 54) {
		memcpy(z + n, "PK\1\2", 4);
		le(z + n + 20, bl, 4);
		le(z + n + 24, bl, 4);
		le(z + n + 28, 8, 2);
		memcpy(z + n + 46, "meta.xml", 8);
	}
	memcpy(z + n, "PK\5\6", 4);
	le(z + n + 8, (unsigned long)count, 2);
	le(z + n + 10, (unsigned long)count, 2);
	le(z + n + 12, n - cd, 4);
	le(z + n + 16, cd, 4);
	r = judge(z, n + 22, what, wl);
	free(z);
	return r;
}

START_TEST(zip_entry_listed_again_and_again)
{
	char what[200];

	ck_assert_msg(zip_many(1, what, sizeof(what)) == 0, "%s", what);
	ck_assert_msg(zip_many(256, what, sizeof(what)) == 0, "%s", what);
	ck_assert_int_eq(zip_many(257, what, sizeof(what)), 1);
	ck_assert_ptr_nonnull(strstr(what, "more than the list reads"));
}
END_TEST

/* pdf_with - a PDF whose info dictionary (info) sits plain, or deflated in an object stream */
static size_t
pdf_with(const char *info, int deflated, unsigned char *out, size_t ol)
{
	unsigned char z[1024];
	uLongf zl = sizeof(z);
	size_t n;

	if (!deflated)
		return (size_t)snprintf((char *)out, ol, "%%PDF-1.4\n1 0 obj\n%s\nendobj\n%%%%EOF\n", info);
	ck_assert_int_eq(compress(z, &zl, (const Bytef *)info, strlen(info)), Z_OK);
	n = (size_t)snprintf((char *)out, ol, "%%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /N 1 /First 4 "
	    "/Filter /FlateDecode /Length %lu >>\nstream\n", (unsigned long)zl);
	ck_assert_uint_lt(n + zl + 40, ol);
	memcpy(out + n, z, zl);
	n += zl;
	n += (size_t)snprintf((char *)out + n, ol - n, "\nendstream\nendobj\n%%%%EOF\n");
	return n;
}

/* PDFs, plain and with the properties deflated: a name is refused, an empty or generic author passes */
START_TEST(pdfs_judged_inflated)
{
	static const struct {
		const char *info;
		int names;
	} pdfs[] = {
		{ "<< /Author (Quill Ardenwick) /Producer (x) >>", 1 },
		{ "<< /Author <FEFF005100750069006C006C> >>", 1 },	/* "Quill", UTF-16 */
		{ "<< /Author (Quill \\(Q\\) Ardenwick) >>", 1 },
		{ "<< /Author 7 0 R >>", 1 },				/* elsewhere: not seen */
		{ "<< /Author () /Creator (Writer) /Producer (LibreOffice 7.4) >>", 0 },
		{ "<< /Author (  user ) >>", 0 },
		{ "<< /Author <FEFF0055006E006B006E006F0077006E> >>", 0 },	/* "Unknown" */
		{ "<< /Type /Catalog /AuthorStyle (x) >>", 0 },
		/* a comment's /T names its writer; a form field's, a title not */
		{ "<< /Type /Annot /Subtype /Text /T (Quill Ardenwick) >>", 1 },
		{ "<< /Subtype /Text /T <FEFF005100750069006C006C> >>", 1 },
		{ "<< /Type /Annot /Subtype /Widget /FT /Tx /T (Quill) >>", 0 },
		{ "<< /Type /Catalog /Title (Quill Ardenwick) >>", 0 },
		{ "<< /T (Quill Ardenwick) >>", 0 },
		{ "<< /Type /Annot /T 7 0 R >>", 0 },
		{ "<< /Type /Metadata >> <x:xmpmeta><rdf:RDF><dc:creator><rdf:Seq><rdf:li>Quill"
		    "</rdf:li></rdf:Seq></dc:creator></rdf:RDF></x:xmpmeta>", 1 },
		{ "<< /Type /Metadata >> <x:xmpmeta><rdf:RDF><rdf:Description pdf:Author=\"Quill\"/>"
		    "</rdf:RDF></x:xmpmeta>", 1 },
		{ "<< /Type /Metadata >> <x:xmpmeta><rdf:RDF><dc:creator><rdf:Seq><rdf:li></rdf:li>"
		    "</rdf:Seq></dc:creator></rdf:RDF></x:xmpmeta>", 0 },
	};
	unsigned char pdf[4096];
	char what[200];
	size_t n;

	for (size_t k = 0; k < sizeof(pdfs) / sizeof(pdfs[0]); k++)
		for (int deflated = 0; deflated < 2; deflated++) {
			n = pdf_with(pdfs[k].info, deflated, pdf, sizeof(pdf));
			ck_assert_msg(judge(pdf, n, what, sizeof(what)) == pdfs[k].names,
			    "%s (deflated %d): %s", pdfs[k].info, deflated, what);
			for (size_t m = 0; m < n; m++)
				(void)judge(pdf, m, what, sizeof(what));
		}
}
END_TEST

/* a deflated stream past the caps (a zip bomb) is not inflated to its end, and is refused */
START_TEST(inflate_bomb_refused)
{
	size_t big = 8u << 20, n;
	unsigned char *zeros = calloc(1, big), *pdf;
	uLongf zl = compressBound(big);
	unsigned char *z = malloc(zl);
	char what[200];

	ck_assert_ptr_nonnull(zeros);
	ck_assert_ptr_nonnull(z);
	ck_assert_int_eq(compress(z, &zl, zeros, big), Z_OK);
	pdf = malloc(zl + 200);
	ck_assert_ptr_nonnull(pdf);
	n = (size_t)snprintf((char *)pdf, 200, "%%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /Filter /FlateDecode >>"
	    "\nstream\n");
	memcpy(pdf + n, z, zl);
	n += zl;
	memcpy(pdf + n, "\nendstream\n", 11);
	ck_assert_int_eq(judge(pdf, n + 11, what, sizeof(what)), 1);
	ck_assert_ptr_nonnull(strstr(what, "compressed beyond"));
	free(pdf);
	free(z);
	free(zeros);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("faithful");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, broken_structure_read_as_clients_do, 0, sizeof(broken) / sizeof(broken[0]));
	tcase_add_test(tc, repeated_boundary_not_text);
	tcase_add_test(tc, boundary_decoys_not_read);
	tcase_add_test(tc, nothing_left_is_flagged);
	tcase_add_test(tc, forwarded_message_rebuilt);
	tcase_add_test(tc, encoded_forwarded_message_rebuilt);
	tcase_add_test(tc, forwarded_message_kept_on_real_lists);
	tcase_add_test(tc, digest_entries_keep_subject_and_date);
	tcase_add_test(tc, digest_entry_with_its_own_type);
	tcase_add_loop_test(tc, attachment_names_decoded_and_cleaned, 0, sizeof(names) / sizeof(names[0]));
	tcase_add_test(tc, long_name_keeps_extension);
	tcase_add_test(tc, jpeg_metadata_removed_pixels_kept);
	tcase_add_test(tc, png_text_removed_pixels_kept);
	tcase_add_test(tc, webp_exif_xmp_removed);
	tcase_add_test(tc, image_in_post_cleaned);
	tcase_add_test(tc, svg_removed_xml_kept);
	tcase_add_test(tc, office_documents_judged_inflated);
	tcase_add_test(tc, pdfs_judged_inflated);
	tcase_add_test(tc, inflate_bomb_refused);
	tcase_add_test(tc, zip_entry_listed_again_and_again);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
