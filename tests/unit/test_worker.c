/*
 * test_worker.c - the sandboxed parser: results cross the pipe intact; a
 * crash costs nothing; a hostile parser can neither write a descriptor
 * the daemon had open, nor connect, nor signal, nor outrun its budgets.
 *
 * Linked with -Wl,--wrap=transform_post: a message starting "PROBE " makes
 * the real worker child, fully confined, try one hostile act instead of
 * parsing, and say what happened in the refusal's reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "mail/notices.h"
#include "../../mlistd/pipeline/worker.h"
#include "../../mlistd/util/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN	1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN	0
#endif

enum result __real_transform_post(const struct transform_in *, struct transform_out *);

/* probe - one hostile act, inside the worker; its outcome in out->reason */
static enum result
probe(const char *what, struct transform_out *out)
{
	long arg = strtol(strchr(what, ' ') ? strchr(what, ' ') + 1 : "0", NULL, 10);
	struct sockaddr_in sin;
	const char *said = "nothing happened";
	void *p;
	int s;

	if (!strncmp(what, "fd ", 3)) {
		struct stat sb;

		/* the number may have been reused, for the worker's own socket: only the file counts */
		said = fstat((int)arg, &sb) < 0 || !S_ISREG(sb.st_mode) ? "closed" : "still open";
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, (int)arg, 0);
		if (p != MAP_FAILED && S_ISREG(sb.st_mode))
			said = "mapped it";
	} else if (!strncmp(what, "connect ", 8)) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)arg);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		said = (s = socket(AF_INET, SOCK_STREAM, 0)) < 0 ? "no socket" :
		    connect(s, (struct sockaddr *)&sin, sizeof(sin)) == 0 ? "connected" : "connect refused";
	} else if (!strncmp(what, "kill ", 5)) {
		said = kill((pid_t)arg, SIGUSR1) == 0 ? "signalled" : "kill refused";
	} else if (!strncmp(what, "spin", 4)) {
		for (volatile unsigned long n = 0;; n++)
			;
	} else if (!strncmp(what, "eat ", 4)) {
		if ((p = malloc((size_t)arg)) == NULL)
			abort();	/* as a parser that does not check would fault */
		memset(p, 1, (size_t)arg);
		said = "ate it all";
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->reason, sizeof(out->reason), "%s", said);
	return PERMFAIL;
}

/* __wrap_transform_post - the real transform, unless the message is a probe */
enum result
__wrap_transform_post(const struct transform_in *in, struct transform_out *out)
{
	char what[64];

	if (in->len > 6 && in->len < sizeof(what) + 6 && !memcmp(in->msg, "PROBE ", 6)) {
		memcpy(what, in->msg + 6, in->len - 6);
		what[in->len - 6] = 0;
		return probe(what, out);
	}
	return __real_transform_post(in, out);
}

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


/*
 * a post without a From gets the list's address under [unnamed-sender]:
 * the job brings the list's piece into the sandbox, and a translation
 * that is not ASCII goes out as encoded-words
 */
START_TEST(unnamed_sender_is_the_lists_piece)
{
	static const char m[] = "Subject: hi\r\n\r\nbody\r\n";
	struct transform_in in = { cfg, &list, "0123456789ABCDEF", m,
	    sizeof(m) - 1, 0, 0, 1, 0, 0 };
	struct transform_out o;
	struct notices *mine;
	struct buf err;
	char *d = tu_tmpdir();

	ck_assert_int_eq(worker_transform(&in, keys, &o), OK);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&o.rendered),
	    "From: \"Unnamed sender via demo\" <demo@"));
	transform_out_free(&o);
	tu_write(d, "pieces", "[unnamed-sender]\nAbsender unbekannt (\xc3\xbc"
	    "ber {list})\n");
	buf_init(&err, 0);
	ck_assert_int_eq(notices_load(d, 0, &mine, &err), 0);
	list.notices = mine;
	ck_assert_int_eq(worker_transform(&in, keys, &o), OK);
	list.notices = NULL;
	ck_assert_ptr_nonnull(strstr(buf_cstr(&o.rendered),
	    "From: =?utf-8?B?"));
	ck_assert_ptr_null(strstr(buf_cstr(&o.rendered), "Unnamed"));
	transform_out_free(&o);
	notices_free(mine);
	buf_free(&err);
	tu_rmrf(d);
	free(d);
}
END_TEST

START_TEST(same_result_as_in_process)
{
	static const char m[] = "From: Bob <bob@example.org>\r\nSubject: hi\r\nAuto-Submitted: auto-replied\r\n\r\nbody\r\n";
	struct transform_in in = { cfg, &list, "0123456789ABCDEF", m, sizeof(m) - 1, 0, 0, 1, 0, 0 };
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
	struct transform_in in = { cfg, &list, "0123456789ABCDEF", m, sizeof(m) - 1, 0, 0, 1, 0, 0 };
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
	struct transform_in in = { cfg, &list, "0123456789ABCDEF", m, sizeof(m) - 1, 0, 0, 1, 0, 0 };
	struct transform_out o;

	ck_assert_int_eq(worker_transform(&in, keys, &o), PERMFAIL);
	/* a code the queue manager words with [why-boundary-quote] */
	ck_assert_str_eq(o.reason, "@boundary-quote");
	transform_out_free(&o);
}
END_TEST

START_TEST(crash_in_parser_is_contained)
{
	static const char m[] = "Subject: x\r\n\r\nbody\r\n";
	/* a NULL configuration makes the child fault at once: a stand-in for a parser crash */
	struct transform_in in = { NULL, &list, "0123456789ABCDEF", m, sizeof(m) - 1, 0, 0, 1, 0, 0 };
	struct transform_out o;
	unsigned char copy[KEYS_LEN];

	memcpy(copy, keys->spool, KEYS_LEN);
	ck_assert_int_eq(worker_transform(&in, keys, &o), PERMFAIL);
	/* "crashed" (signal), or "failed" under ASan, whose handler exits instead */
	ck_assert_msg(!strcmp(o.reason, "@parser-crashed") ||
	    !strcmp(o.reason, "@parser-failed"), "reason: %s", o.reason);
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

static struct transform_out probed;

/* run_probe - send a probe through worker_transform; its result, the reason in probed */
static enum result
run_probe(const char *fmt, long arg)
{
	static char m[64];
	struct transform_in in = { cfg, &list, "0123456789ABCDEF", m, 0, 0, 0, 1, 0, 0 };

	in.len = (size_t)snprintf(m, sizeof(m), fmt, arg);
	return worker_transform(&in, keys, &probed);
}

/* a descriptor the daemon had open (the database, say) is not the worker's */
START_TEST(inherited_descriptor_closed)
{
	char path[4200];
	struct stat sb;
	int fd;

	snprintf(path, sizeof(path), "%s/mlistd.db", dir);
	ck_assert_int_ge(fd = open(path, O_CREAT | O_RDWR, 0600), 0);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	ck_assert_int_eq(run_probe("PROBE fd %ld", fd), PERMFAIL);
	ck_assert_str_eq(probed.reason, "closed");
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_int_eq(sb.st_size, 4096);
	close(fd);
	transform_out_free(&probed);
}
END_TEST

/* no TCP: the process dies at socket() (seccomp), or connect fails (Landlock) */
START_TEST(cannot_connect)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int ls, c;

	ck_assert_int_ge(ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(ls, 4), 0);
	ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sin, &sl), 0);
	ck_assert_int_eq(run_probe("PROBE connect %ld", ntohs(sin.sin_port)), PERMFAIL);
	if (!sandbox_seccomp_available() && sandbox_landlock_abi() < 4) {
		fprintf(stderr, "test_worker: skipped: neither seccomp nor Landlock ABI 4 here\n");
		return;
	}
	ck_assert_msg(!strcmp(probed.reason, "@parser-forbidden") || !strcmp(probed.reason, "connect refused"),
	    "reason: %s", probed.reason);
	ck_assert_int_lt(c = accept(ls, NULL, NULL), 0);	/* nothing came in */
	close(ls);
	transform_out_free(&probed);
}
END_TEST

static volatile sig_atomic_t usr1;

static void
on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

/* the worker cannot signal the process that asked for it (the queue manager) */
START_TEST(cannot_signal_the_daemon)
{
	signal(SIGUSR1, on_usr1);
	ck_assert_int_eq(run_probe("PROBE kill %ld", (long)getpid()), PERMFAIL);
	if (!sandbox_seccomp_available() && sandbox_landlock_abi() < 6) {
		fprintf(stderr, "test_worker: skipped: neither seccomp nor Landlock ABI 6 here\n");
		return;
	}
	ck_assert_msg(!strcmp(probed.reason, "@parser-forbidden") || !strcmp(probed.reason, "kill refused"),
	    "reason: %s", probed.reason);
	ck_assert_int_eq(usr1, 0);
	transform_out_free(&probed);
}
END_TEST

/* a parse past limits.worker_seconds is killed and said to have timed out */
START_TEST(cpu_budget)
{
	time_t t0 = time(NULL);

	cfg->worker_seconds = 1;
	ck_assert_int_eq(run_probe("PROBE spin", 0), PERMFAIL);
	ck_assert_msg(!strcmp(probed.reason, "@parser-timeout\tseconds=1"),
	    "reason: %s", probed.reason);
	ck_assert_int_le(time(NULL) - t0, 5);
	transform_out_free(&probed);
	/* and the next message is parsed as usual */
	ck_assert_int_eq(run_probe("Subject: x\r\n\r\nbody %ld\r\n", 1), OK);
	transform_out_free(&probed);
}
END_TEST

/* past limits.worker_memory an allocation fails inside the worker, not in the daemon */
START_TEST(memory_budget)
{
	if (UNDER_ASAN) {
		fprintf(stderr, "test_worker: skipped: RLIMIT_AS is off under AddressSanitizer\n");
		return;
	}
	cfg->worker_memory = 64LL << 20;
	ck_assert_int_eq(run_probe("PROBE eat %ld", 256L << 20), PERMFAIL);
	ck_assert_msg(!strcmp(probed.reason, "@parser-crashed"), "reason: %s",
	    probed.reason);
	transform_out_free(&probed);
	cfg->worker_memory = 512LL << 20;
	ck_assert_int_eq(run_probe("PROBE eat %ld", 128L << 20), PERMFAIL);
	ck_assert_str_eq(probed.reason, "ate it all");	/* within the budget it works */
	transform_out_free(&probed);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, same_result_as_in_process);
	tcase_add_test(tc, unnamed_sender_is_the_lists_piece);
	tcase_add_test(tc, footer_boundary_random_in_sandbox);
	tcase_add_test(tc, refusal_crosses_the_pipe);
	tcase_add_test(tc, crash_in_parser_is_contained);
	tcase_add_test(tc, confined_parser_cannot_touch_files);
	tcase_add_test(tc, inherited_descriptor_closed);
	tcase_add_test(tc, cannot_connect);
	tcase_add_test(tc, cannot_signal_the_daemon);
	tcase_add_test(tc, cpu_budget);
	tcase_add_test(tc, memory_budget);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
