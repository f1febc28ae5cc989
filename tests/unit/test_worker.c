/* test_worker.c - the sandboxed parser: results cross the pipe intact; a crash costs nothing. */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "../../mlistd/pipeline/worker.h"

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

/* the footer's MIME boundary is random inside the sandbox too (it used to be all zeros there) */
START_TEST(footer_boundary_random_in_sandbox)
{
	static const char m[] = "From: Bob <bob@example.org>\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n\r\n<p>body</p>\r\n";
	struct transform_in in = { cfg, &list, "0123456789ABCDEF", m, sizeof(m) - 1, 0, 0, 1, 0 };
	struct transform_out a, b;
	const char *pa, *pb;

	list.footer = "Leave: demo-request@lists.example";
	ck_assert_int_eq(worker_transform(&in, keys, &a), OK);
	ck_assert_int_eq(worker_transform(&in, keys, &b), OK);
	list.footer = "";
	ck_assert_ptr_nonnull(pa = strstr(buf_cstr(&a.rendered), "boundary=\"=_mlistd_"));
	ck_assert_ptr_nonnull(pb = strstr(buf_cstr(&b.rendered), "boundary=\"=_mlistd_"));
	ck_assert_msg(strncmp(pa, pb, 19 + 24) != 0, "the same boundary twice: %.45s", pa);
	ck_assert_ptr_null(strstr(pa, "=_mlistd_000000000000"));
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

	memcpy(copy, keys->spool, KEYS_LEN);
	ck_assert_int_eq(worker_transform(&in, keys, &o), PERMFAIL);
	/* "crashed" (signal), or "failed" under ASan, whose handler exits instead */
	ck_assert_ptr_nonnull(strstr(o.reason, "could not be parsed (parser "));
	transform_out_free(&o);
	/* the parent, and its keys, are untouched (the child wiped only its own copy) */
	ck_assert_int_eq(memcmp(copy, keys->spool, KEYS_LEN), 0);
	ck_assert(!sodium_is_zero(keys->spool, KEYS_LEN));
}
END_TEST

START_TEST(confined_parser_cannot_touch_files)
{
	char victim[4200], fresh[4200];
	int fd, status;
	pid_t pid;

	snprintf(victim, sizeof(victim), "%s/spool-file", dir);
	snprintf(fresh, sizeof(fresh), "%s/new-file", dir);
	fd = open(victim, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	if ((pid = fork()) == 0) {
		char b[16];
		int r = 0;

		if (worker_confine() != 1)
			_exit(10);		/* no Landlock here: reported below */
		if (unlink(victim) == 0)
			r |= 1;
		if (open(fresh, O_CREAT | O_WRONLY, 0600) >= 0)
			r |= 2;
		if (open(victim, O_WRONLY) >= 0)
			r |= 4;
		if (rename(victim, fresh) == 0)
			r |= 8;
		fd = open("/usr/share/misc/../../bin/sh", O_RDONLY);	/* reading under /usr still works */
		if (fd < 0 || read(fd, b, sizeof(b)) <= 0)
			r |= 16;
		_exit(r);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 10) {
		fprintf(stderr, "test_worker: this kernel has no Landlock; confinement not tested\n");
		return;
	}
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(access(victim, F_OK), 0);
	ck_assert_int_ne(access(fresh, F_OK), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, same_result_as_in_process);
	tcase_add_test(tc, footer_boundary_random_in_sandbox);
	tcase_add_test(tc, refusal_crosses_the_pipe);
	tcase_add_test(tc, crash_in_parser_is_contained);
	tcase_add_test(tc, confined_parser_cannot_touch_files);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
