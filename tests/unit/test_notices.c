/* test_notices.c - notice templates: loading, checking (file:line), filling, per-list texts. */
#include "testutil.h"
#include "mail/notices.h"

/* write_pieces - every piece in dir's pieces file, then extra (a changed or bad piece) last */
static void
write_pieces(const char *dir, const char *extra, int skip)
{
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, "# pieces\n");
	for (int i = 0; i < PIECE_N; i++)
		if (i != skip)
			buf_printf(&b, "[%s]\nPiece of {list}.\n%s", piece_name(i), i % 2 ? "\n" : "");
	if (extra)
		buf_puts(&b, extra);
	tu_write(dir, "pieces", buf_cstr(&b));
	buf_free(&b);
}

/* write_all - every notice in dir with the same text, then one changed */
static void
write_all(const char *dir, const char *name, const char *text)
{
	char path[1000];

	mkdir(dir, 0755);
	write_pieces(dir, NULL, -1);
	for (int i = 0; i < NOTICE_N; i++) {
		snprintf(path, sizeof(path), "%s.txt", notice_name(i));
		tu_write(dir, path, "Subject: Hello\n\nPlain text for {list_addr}.\n");
	}
	if (name) {
		snprintf(path, sizeof(path), "%s.txt", name);
		tu_write(dir, path, text);
	}
}

static const struct {
	const char	*text;		/* the text of "not-distributed" */
	int		 ok;
	const char	*error;		/* what the error must say */
} load_cases[] = {
	{ "Subject: S\n\nBody {reason} {list} {host} {request_addr} {owner_addr}\n", 1, NULL },
	{ "Subject: S\n\nA {{literal}} brace\n", 1, NULL },
	{ "Subject: S\n\nline two\nline three {nosuch}\n", 0, "not-distributed.txt:4: unknown placeholder {nosuch}" },
	{ "Subject: S {bad\n\nbody\n", 0, "not-distributed.txt:1: a \"{\" that starts no placeholder" },
	{ "Body without a subject\n", 0, "not-distributed.txt:1: a notice starts with \"Subject: TEXT\"" },
	{ "Subject: S\nno empty line\n", 0, "not-distributed.txt:1: a notice starts with" },
	{ "Subject: S\n\n", 0, "not-distributed.txt:3: the notice has no body" },
	{ "Subject: \n\nbody\n", 0, "the subject must be 1 to" },
	{ "Subject: S\n\nbell \a here\n", 0, "control character 0x07" },
};

static const struct {
	const char	*extra;		/* appended to a complete pieces file */
	int		 skip;		/* a piece left out (-1 none) */
	const char	*error;		/* what the error says (NULL: loads) */
} piece_cases[] = {
	{ NULL, -1, NULL },
	{ "[no-such]\ntext\n", -1, "pieces:" },
	{ "[count]\nagain\n", -1, "[count] a second time" },
	{ NULL, PIECE_COUNT, "the piece [count] is missing" },
	{ "[leaders]\nno line end", PIECE_LEADERS, "[leaders] needs a text of whole lines" },
	{ "[count]\n{nosuch}\n", PIECE_COUNT, "unknown placeholder {nosuch}" },
};

START_TEST(test_pieces_load)
{
	char *d = tu_tmpdir(), dir[1000];
	struct notices *n;
	struct buf err;
	int nerr;

	snprintf(dir, sizeof(dir), "%s/notices", d);
	write_all(dir, NULL, NULL);
	write_pieces(dir, piece_cases[_i].extra, piece_cases[_i].skip);
	buf_init(&err, 0);
	nerr = notices_load(dir, 1, &n, &err);
	if (!piece_cases[_i].error) {
		ck_assert_msg(nerr == 0 && n, "case %d: %s", _i, buf_cstr(&err));
		notices_free(n);
	} else {
		ck_assert_int_gt(nerr, 0);
		ck_assert_msg(strstr(buf_cstr(&err), piece_cases[_i].error), "case %d: got %s", _i,
		    buf_cstr(&err));
	}
	buf_free(&err);
	tu_rmrf(d);
	free(d);
}
END_TEST

START_TEST(test_pieces_fill)
{
	char *d = tu_tmpdir(), dir[1000], ldir[1100];
	struct notice_ctx ctx = { "demo", "lists.example" };
	const char *vars[] = { "count", "7", NULL };
	struct notices *inst, *list;
	struct buf err, b;

	snprintf(dir, sizeof(dir), "%s/notices", d);
	write_all(dir, NULL, NULL);
	write_pieces(dir, NULL, PIECE_COUNT);
	{
		/* the count piece with a placeholder, a line number to report, and a blank line kept */
		char path[1100];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/pieces", dir);
		ck_assert_ptr_nonnull(fp = fopen(path, "a"));
		fputs("[count]\n{list_addr} has {count}.\n\n", fp);
		ck_assert_int_eq(fclose(fp), 0);
	}
	buf_init(&err, 0);
	buf_init(&b, 0);
	ck_assert_msg(notices_load(dir, 1, &inst, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(notice_piece(NULL, inst, PIECE_COUNT, &ctx, vars, &b), 0);
	ck_assert_str_eq(buf_cstr(&b), "demo@lists.example has 7.\n\n");
	/* a list's pieces file may hold one piece: the others stay the instance's */
	snprintf(ldir, sizeof(ldir), "%s/demo", dir);
	mkdir(ldir, 0755);
	tu_write(ldir, "pieces", "[count]\nWir sind {count}.\n");
	ck_assert_int_eq(notices_load(ldir, 0, &list, &err), 0);
	buf_reset(&b);
	ck_assert_int_eq(notice_piece(list, inst, PIECE_COUNT, &ctx, vars, &b), 0);
	ck_assert_int_eq(notice_piece(list, inst, PIECE_NO_LEADERS, &ctx, vars, &b), 0);
	ck_assert_str_eq(buf_cstr(&b), "Wir sind 7.\nPiece of demo.\n");
	notices_free(list);
	notices_free(inst);
	buf_free(&err);
	buf_free(&b);
	tu_rmrf(d);
	free(d);
}
END_TEST

START_TEST(test_load_checks)
{
	char *d = tu_tmpdir(), dir[1000];
	struct notices *n;
	struct buf err;
	int nerr;

	snprintf(dir, sizeof(dir), "%s/notices", d);
	write_all(dir, "not-distributed", load_cases[_i].text);
	buf_init(&err, 0);
	nerr = notices_load(dir, 1, &n, &err);
	if (load_cases[_i].ok) {
		ck_assert_msg(nerr == 0 && n, "case %d: %s", _i, buf_cstr(&err));
		notices_free(n);
	} else {
		ck_assert_int_gt(nerr, 0);
		ck_assert_ptr_null(n);
		ck_assert_msg(strstr(buf_cstr(&err), load_cases[_i].error), "case %d: got %s", _i, buf_cstr(&err));
	}
	buf_free(&err);
	tu_rmrf(d);
	free(d);
}
END_TEST

START_TEST(test_missing_file)
{
	char *d = tu_tmpdir(), dir[1000], path[1100];
	struct notices *n;
	struct buf err;

	snprintf(dir, sizeof(dir), "%s/notices", d);
	write_all(dir, NULL, NULL);
	snprintf(path, sizeof(path), "%s/%s.txt", dir, notice_name(NOTICE_NOT_DELIVERED));
	ck_assert_int_eq(unlink(path), 0);
	buf_init(&err, 0);
	ck_assert_int_eq(notices_load(dir, 1, &n, &err), 1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "not-delivered.txt: No such file"));
	/* a per-list set may leave texts out */
	buf_reset(&err);
	ck_assert_int_eq(notices_load(dir, 0, &n, &err), 0);
	ck_assert_ptr_null(n->t[NOTICE_NOT_DELIVERED].subject);
	ck_assert_ptr_nonnull(n->t[NOTICE_NOT_DISTRIBUTED].subject);
	notices_free(n);
	buf_free(&err);
	tu_rmrf(d);
	free(d);
}
END_TEST

START_TEST(test_render)
{
	char *d = tu_tmpdir(), dir[1000], ldir[1100];
	struct notices *inst, *list;
	struct notice_ctx ctx = { "demo", "lists.example" };
	const char *vars[] = { "reason", "it was\r\nBcc: x@evil", NULL };
	struct buf err, s, b;

	snprintf(dir, sizeof(dir), "%s/notices", d);
	write_all(dir, "not-distributed", "Subject: About {list}: {reason}\n\n"
	    "To {list_addr}, {request_addr}, {owner_addr} on {host}: {reason}; {{ok}}\n");
	buf_init(&err, 0);
	buf_init(&s, 0);
	buf_init(&b, 0);
	ck_assert_int_eq(notices_load(dir, 1, &inst, &err), 0);
	ck_assert_int_eq(notice_render(NULL, inst, NOTICE_NOT_DISTRIBUTED, &ctx, vars, &s, &b), 0);
	/* the subject is a header: the value's line break cannot add a field */
	ck_assert_str_eq(buf_cstr(&s), "About demo: it was  Bcc: x@evil");
	ck_assert_str_eq(buf_cstr(&b), "To demo@lists.example, demo-request@lists.example, "
	    "demo-owner@lists.example on lists.example: it was\r\nBcc: x@evil; {ok}}\n");
	/* a list's own text wins; where it has none, the instance's is used */
	snprintf(ldir, sizeof(ldir), "%s/demo", dir);
	mkdir(ldir, 0755);
	tu_write(ldir, "not-distributed.txt", "Subject: Nachricht nicht verteilt\n\nGrund: {reason}\n");
	ck_assert_int_eq(notices_load(ldir, 0, &list, &err), 0);
	buf_reset(&s);
	buf_reset(&b);
	ck_assert_int_eq(notice_render(list, inst, NOTICE_NOT_DISTRIBUTED, &ctx, NULL, &s, &b), 0);
	ck_assert_str_eq(buf_cstr(&s), "Nachricht nicht verteilt");
	ck_assert_str_eq(buf_cstr(&b), "Grund: \n");
	buf_reset(&s);
	buf_reset(&b);
	ck_assert_int_eq(notice_render(list, inst, NOTICE_NOT_DELIVERED, &ctx, NULL, &s, &b), 0);
	ck_assert_str_eq(buf_cstr(&s), "Hello");
	notices_free(inst);
	notices_free(list);
	buf_free(&err);
	buf_free(&s);
	buf_free(&b);
	tu_rmrf(d);
	free(d);
}
END_TEST

/* every text mlistd ships loads, and the instance configuration finds them */
START_TEST(test_shipped)
{
	struct notices *n;
	struct buf err;
	char *d = tu_tmpdir();
	struct config *c;

	buf_init(&err, 0);
	ck_assert_msg(notices_load("conf/templates/notices", 1, &n, &err) == 0, "%s", buf_cstr(&err));
	notices_free(n);
	buf_free(&err);
	c = tu_instance(d, NULL);
	ck_assert_ptr_nonnull(c->notices);
	ck_assert_ptr_nonnull(c->notices->t[NOTICE_NOT_DISTRIBUTED].body);
	config_free(c);
	tu_rmrf(d);
	free(d);
}
END_TEST

/* a shipped text keeps the English wording the list always sent (tests and members rely on it) */
START_TEST(test_shipped_wording)
{
	struct notices *n;
	struct notice_ctx ctx = { "demo", "lists.example" };
	const char *vars[] = { "day", "2031-01-02", NULL };
	struct buf err, s, b;

	buf_init(&err, 0);
	buf_init(&s, 0);
	buf_init(&b, 0);
	ck_assert_int_eq(notices_load("conf/templates/notices", 1, &n, &err), 0);
	ck_assert_int_eq(notice_render(NULL, n, NOTICE_KEY_EXPIRING_REQUIRED, &ctx, vars, &s, &b), 0);
	ck_assert_str_eq(buf_cstr(&s), "Your encryption key expires soon");
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "registered with demo@lists.example expires on 2031-01-02.\n"
	    "From that day on the list will not use it and you will get notices instead of posts.\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "OpenPGP public key: send it to demo-request@lists.example"));
	notices_free(n);
	buf_free(&err);
	buf_free(&s);
	buf_free(&b);
}
END_TEST

/*
 * every reason code has a piece, and the shipped templates word it: a code
 * added to REASON_TABLE without its text fails here, not in a member's
 * notice (which would then say nothing). Every why- piece is some code's.
 */
START_TEST(test_reasons_worded)
{
	struct notices *n;
	struct notice_ctx ctx = { "demo", "lists.example" };
	const char *vars[] = { "other", "x.lists.example", NULL };
	char out[1000], seen[PIECE_N] = { 0 };
	struct buf err;

	buf_init(&err, 0);
	ck_assert_int_eq(notices_load("conf/templates/notices", 1, &n, &err),
	    0);
	for (int r = 0; r < REASON_N; r++) {
		enum piece_id id = reason_piece(r);

		ck_assert_msg(id < PIECE_N, "reason %s has no piece",
		    reason_code(r));
		ck_assert_msg(strncmp(piece_name(id), "why-", 4) == 0 &&
		    strcmp(piece_name(id) + 4, reason_code(r)) == 0,
		    "reason %s is worded by [%s], not [why-%s]",
		    reason_code(r), piece_name(id), reason_code(r));
		ck_assert_int_eq(notice_piece_line(NULL, n, id, &ctx, vars,
		    out, sizeof(out)), 0);
		ck_assert_msg(*out && !strchr(out, '\n') && !strchr(out, '{'),
		    "[%s] words nothing: \"%s\"", piece_name(id), out);
		seen[id] = 1;
	}
	for (int i = 0; i < PIECE_N; i++)
		ck_assert_msg(seen[i] || strncmp(piece_name(i), "why-", 4) != 0,
		    "[%s] is no reason's piece", piece_name(i));
	ck_assert_int_eq(notice_piece_line(NULL, n,
	    PIECE_WHY_SIG_OTHER_LIST, &ctx, vars, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "It was signed for another list "
	    "(x.lists.example).");
	notices_free(n);
	buf_free(&err);
}
END_TEST

/* the texts moved out of the pipeline keep, byte for byte, what the code used to write */
static const struct {
	enum notice_id	 id;
	const char	*var, *val, *subject, *body;
} moved_cases[] = {
	{ NOTICE_REFUSED_NON_MEMBER, "poster", "eve@example.org", "Your message was not distributed",
	    "Your message to demo@lists.example was not distributed: only members of the list may post, "
	    "and eve@example.org is not subscribed. To join, write to the -request address with "
	    "\"subscribe\"." },
	{ NOTICE_UNPROCESSABLE, "reason", "no body", "Your message could not be processed",
	    "Your message to demo@lists.example could not be processed: no body.\n"
	    "It has been kept for the list administrators. If it was an ordinary message,\n"
	    "please send it again as plain text." },
	{ NOTICE_PRIVATE_REFUSED, "to", "demo+p-ab@lists.example", "Your message was not delivered",
	    "Your message to demo+p-ab@lists.example was not delivered: ." },
	{ NOTICE_REQUEST_DONE, "done", "- you are a member already\n", "Your request to the list: done",
	    "Done, for demo@lists.example:\n\n- you are a member already\n" },
};

START_TEST(test_moved_wording)
{
	struct notices *n;
	struct notice_ctx ctx = { "demo", "lists.example" };
	const char *vars[] = { moved_cases[_i].var, moved_cases[_i].val, NULL };
	struct buf err, s, b;

	buf_init(&err, 0);
	buf_init(&s, 0);
	buf_init(&b, 0);
	ck_assert_int_eq(notices_load("conf/templates/notices", 1, &n, &err), 0);
	ck_assert_int_eq(notice_render(NULL, n, moved_cases[_i].id, &ctx, vars[0] ? vars : NULL, &s, &b), 0);
	ck_assert_str_eq(buf_cstr(&s), moved_cases[_i].subject);
	/* the file ends its last line (distribute_render takes it off; the message adds one) */
	buf_printf(&err, "%s\n", moved_cases[_i].body);
	ck_assert_str_eq(buf_cstr(&b), buf_cstr(&err));
	notices_free(n);
	buf_free(&err);
	buf_free(&s);
	buf_free(&b);
}
END_TEST

static const struct {
	const char	*in, *out;
} subject_cases[] = {
	{ "Your post was rejected", "Your post was rejected" },
	{ "Nicht erledigt: Gr\xc3\xb6\xc3\x9f" "e", "=?utf-8?B?TmljaHQgZXJsZWRpZ3Q6IEdyw7bDn2U=?=" },
};

/* notice_subject - ASCII as it is; else encoded-words of whole characters, at most 75 columns */
START_TEST(test_subject)
{
	struct buf h;
	char in[400];

	buf_init(&h, 0);
	for (size_t i = 0; i < sizeof(subject_cases) / sizeof(subject_cases[0]); i++) {
		buf_reset(&h);
		ck_assert_int_eq(notice_subject(subject_cases[i].in, &h), 0);
		ck_assert_str_eq(buf_cstr(&h), subject_cases[i].out);
	}
	/* 1 + 2 x 99 bytes: a split at 45 would cut a two-byte character in half */
	in[0] = 'x';
	for (int i = 0; i < 99; i++)
		memcpy(in + 1 + 2 * i, "\xc3\xa4", 2);
	in[199] = 0;
	buf_reset(&h);
	ck_assert_int_eq(notice_subject(in, &h), 0);
	for (const char *w = buf_cstr(&h); *w; ) {
		size_t n = strcspn(w, "\r");
		unsigned char dec[80];
		size_t dlen;

		ck_assert_uint_le(n, 75);
		ck_assert_int_eq(strncmp(w, "=?utf-8?B?", 10), 0);
		ck_assert_int_eq(sodium_base642bin(dec, sizeof(dec), w + 10, n - 12, NULL, &dlen, NULL,
		    sodium_base64_VARIANT_ORIGINAL), 0);
		/* each word ends after a whole character: never on a lead byte, never mid-sequence */
		ck_assert((dec[dlen - 1] & 0xc0) != 0xc0);
		w += n;
		if (*w) {
			ck_assert_int_eq(strncmp(w, "\r\n ", 3), 0);
			w += 3;
		}
	}
	buf_free(&h);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("notices");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_load_checks, 0, sizeof(load_cases) / sizeof(load_cases[0]));
	tcase_add_test(tc, test_missing_file);
	tcase_add_loop_test(tc, test_pieces_load, 0, sizeof(piece_cases) / sizeof(piece_cases[0]));
	tcase_add_test(tc, test_pieces_fill);
	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_shipped);
	tcase_add_test(tc, test_shipped_wording);
	tcase_add_test(tc, test_reasons_worded);
	tcase_add_loop_test(tc, test_moved_wording, 0, sizeof(moved_cases) / sizeof(moved_cases[0]));
	tcase_add_test(tc, test_subject);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
