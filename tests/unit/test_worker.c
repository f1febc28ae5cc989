/* test_worker.c - the sandboxed parser: results cross the pipe intact; a crash costs nothing. */
#include <signal.h>

#include "testutil.h"
#include "../../mlistd/worker.h"

static char *dir;
static struct config *cfg;
static struct keys *keys;
static struct list_cfg list;

static void
setup(void)
{
	dir = tu_tmpdir();
	cfg = tu_instance(dir, NULL);
	keys = tu_keys();
	memset(&list, 0, sizeof(list));
	list.name = "demo";
	list.description = "";
	list.subject_prefix = "[demo]";
	list.footer = "";
	list.archive_url = "";
}

static void
teardown(void)
{
	config_free(cfg);
	keys_free(keys);
	tu_rmrf(dir);
	free(dir);
}

START_TEST(same_result_as_in_process)
{
	static const char m[] = "From: Bob <bob@example.org>\r\nSubject: hi\r\nAuto-Submitted: auto-replied\r\n\r\nbody\r\n";
	struct transform_in in = { cfg, &list, "0123456789ABCDEF", m, sizeof(m) - 1, 0, 0, 1, 0 };
	struct transform_out a, b;

	ck_assert_int_eq(transform_post(&in, &a), OK);
	ck_assert_int_eq(worker_transform(&in, keys, &b), OK);
	ck_assert_str_eq(b.from, "bob@example.org");
	ck_assert_int_eq(b.automatic, 1);
	ck_assert_uint_eq(a.rendered.len, b.rendered.len);
	ck_assert_int_eq(memcmp(a.rendered.data, b.rendered.data, a.rendered.len), 0);
	transform_out_free(&a);
	transform_out_free(&b);
}
END_TEST

START_TEST(refusal_crosses_the_pipe)
{
	static const char m[] = "Content-Type: multipart/mixed; boundary=\"\\\"\"\r\n\r\n--\"\r\n";
	struct transform_in in = { cfg, &list, "0123456789ABCDEF", m, sizeof(m) - 1, 0, 0, 1, 0 };
	struct transform_out o;

	ck_assert_int_eq(worker_transform(&in, keys, &o), PERMFAIL);
	ck_assert_str_eq(o.reason, "malformed quoted MIME boundary");
	transform_out_free(&o);
}
END_TEST

START_TEST(crash_in_parser_is_contained)
{
	static const char m[] = "Subject: x\r\n\r\nbody\r\n";
	/* a NULL configuration makes the child fault at once: a stand-in for a parser crash */
	struct transform_in in = { NULL, &list, "0123456789ABCDEF", m, sizeof(m) - 1, 0, 0, 1, 0 };
	struct transform_out o;
	unsigned char copy[KEYS_LEN];

	ck_assert_int_eq(worker_transform(&in, keys, &o), PERMFAIL);
	/* "crashed" (signal), or "failed" under ASan, whose handler exits instead */
	ck_assert_ptr_nonnull(strstr(o.reason, "could not be parsed (parser "));
	transform_out_free(&o);
	/* the parent, and its keys, are untouched */
	memcpy(copy, keys->spool, KEYS_LEN);
	ck_assert_int_eq(memcmp(copy, keys->spool, KEYS_LEN), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, same_result_as_in_process);
	tcase_add_test(tc, refusal_crosses_the_pipe);
	tcase_add_test(tc, crash_in_parser_is_contained);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
