/* test_config.c - every bad setting is reported as file:line: setting: problem; examples load. */
#include "testutil.h"

static const char *const good_head =
	"hostname = \"lists.example\";\n"			/* 1 */
	"listen = ( { address = \"127.0.0.1\"; port = 2525; } );\n"	/* 2 */
	"state_dir = \"state\";\n"				/* 3 */
	"relay = { host = \"127.0.0.1\"; };\n";			/* 4 */

static const struct {
	const char	*extra;		/* appended at line 5 */
	const char	*want;		/* substring of the errors ("" = must load) */
} cases[] = {
	{ "", "" },
	{ "limits = { max_message_size = 5000L; };\n", "" },
	{ "limits = { max_message_size = 10; };\n", "mlistd.conf:5: limits.max_message_size: out of range" },
	{ "limits = { max_message_size = 4294968320; };\n", "mlistd.conf:5: limits.max_message_size: number too large for a plain integer" },
	{ "limits = { max_recipients = \"many\"; };\n", "mlistd.conf:5: limits.max_recipients: must be an integer" },
	/* no more than one spool envelope holds (3,000 addresses of 254 octets) */
	{ "limits = { max_recipients = 3000; };\n", "" },
	{ "limits = { max_recipients = 3001; };\n",
	    "limits.max_recipients: out of range: must be between 1 and 3000" },
	{ "limits = { max_recipents = 5; };\n", "mlistd.conf:5: limits.max_recipents: unknown setting" },
	{ "hostnme = \"x\";\n", "mlistd.conf:5: hostnme: unknown setting" },
	{ "relay2 = 1;\nfoo = 2;\n", "mlistd.conf:6: foo: unknown setting" },
	{ "limits = { command_timeout = 0; };\n", "limits.command_timeout: out of range: must be between 1 and 3600" },
	{ "limits = 5;\n", "mlistd.conf:5: limits: must be a group" },
	{ "this is not libconfig\n", "mlistd.conf:5: syntax error" },
	/* each type's words, whole (config.c's cfg_kinds) */
	{ "limits = { worker_memory = \"big\"; };\n",
	    "mlistd.conf:5: limits.worker_memory: must be an integer\n" },
	{ "dns = { resolver = 5; };\n",
	    "mlistd.conf:5: dns.resolver: must be a string (in double quotes)\n" },
	{ "dns = 5;\n", "mlistd.conf:5: dns: must be a group { ... }\n" },
};

static void
write_lists(const char *dir)
{
	char sub[4200];

	snprintf(sub, sizeof(sub), "%s/lists", dir);
	mkdir(sub, 0755);
	tu_templates(dir);
}

START_TEST(instance_table)
{
	char *dir = tu_tmpdir(), text[4096], path[4200];
	struct buf err;
	struct config *c;

	write_lists(dir);
	snprintf(text, sizeof(text), "%s%s", good_head, cases[_i].extra);
	tu_write(dir, "mlistd.conf", text);
	snprintf(path, sizeof(path), "%s/mlistd.conf", dir);
	buf_init(&err, 0);
	c = config_load(path, &err);
	if (*cases[_i].want == 0)
		ck_assert_msg(c != NULL, "case %d: %s", _i, buf_cstr(&err));
	else {
		ck_assert_ptr_null(c);
		ck_assert_msg(strstr(buf_cstr(&err), cases[_i].want) != NULL, "case %d: want '%s' in:\n%s",
		    _i, cases[_i].want, buf_cstr(&err));
	}
	config_free(c);
	buf_free(&err);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(every_error_reported_at_once)
{
	char *dir = tu_tmpdir(), path[4200];
	struct buf err;

	write_lists(dir);
	tu_write(dir, "mlistd.conf",
	    "listen = ( { port = 99999; protocl = \"smtp\"; } );\n"
	    "state_dir = 5;\n"
	    "relay = { host = \"a\"; maildir = \"b\"; };\n");
	snprintf(path, sizeof(path), "%s/mlistd.conf", dir);
	buf_init(&err, 0);
	ck_assert_ptr_null(config_load(path, &err));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "mlistd.conf: hostname: required setting is missing"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "mlistd.conf:2: state_dir: must be a string"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "mlistd.conf:1: listen.[0].port: out of range"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "mlistd.conf:1: listen.[0].protocl: unknown setting"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "mlistd.conf:3: relay: set exactly one of host"));
	buf_free(&err);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(list_files)
{
	char *dir = tu_tmpdir(), path[4200];
	struct buf err;
	struct config *c;

	write_lists(dir);
	tu_write(dir, "mlistd.conf", good_head);
	tu_write(dir, "lists/demo.conf", "posting = \"sometimes\";\nmax_posts_per_day = -1;\ncolour = \"red\";\n");
	tu_write(dir, "lists/demo-request.conf", "");
	tu_write(dir, "lists/Bad.conf", "");
	snprintf(path, sizeof(path), "%s/mlistd.conf", dir);
	buf_init(&err, 0);
	ck_assert_ptr_null(config_load(path, &err));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "lists/demo.conf:1: posting: \"sometimes\" is not one of \"members\""));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "lists/demo.conf:2: max_posts_per_day: out of range"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "lists/demo.conf:3: colour: unknown setting"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "list address clashes with list in"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "\"Bad\" is not a valid list name"));
	/* a list that fails to parse, sorted before a good one: reported, no crash */
	buf_reset(&err);
	tu_write(dir, "lists/demo.conf", "");
	tu_write(dir, "lists/Bad.conf", "posting = \"members\";\nposting = \"open\";\n");
	ck_assert_ptr_null(config_load(path, &err));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "lists/Bad.conf"));
	buf_reset(&err);
	unlink(strcat(strcpy(path, dir), "/lists/demo-request.conf"));
	unlink(strcat(strcpy(path, dir), "/lists/Bad.conf"));
	snprintf(path, sizeof(path), "%s/mlistd.conf", dir);
	ck_assert_ptr_nonnull(c = config_load(path, &err));
	ck_assert_int_eq(c->nlists, 1);
	ck_assert_str_eq(c->lists[0].subject_prefix, "[demo]");
	ck_assert_int_eq(c->lists[0].posting, POSTING_MEMBERS);
	/* relative paths resolve against the config file's directory */
	ck_assert_int_eq(strncmp(c->state_dir, "/tmp/", 5), 0);
	ck_assert_ptr_nonnull(strstr(c->state_dir, "/state"));
	config_free(c);
	buf_free(&err);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(list_set_validates_and_keeps_file)
{
	char *dir = tu_tmpdir(), path[4200];
	struct buf err, val;

	write_lists(dir);
	tu_write(dir, "lists/demo.conf", "posting = \"members\";\n");
	snprintf(path, sizeof(path), "%s/lists/demo.conf", dir);
	buf_init(&err, 0);
	buf_init(&val, 0);
	ck_assert_int_eq(config_list_set(path, "posting", "sometimes", &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "demo.conf:1: posting:"));
	ck_assert_int_eq(config_list_get(path, "posting", &val, &err), 0);
	ck_assert_str_eq(buf_cstr(&val), "members");
	ck_assert_int_eq(config_list_set(path, "delivery.verp", "always", &err), 0);
	ck_assert_int_eq(config_list_set(path, "max_posts_per_day", "5", &err), 0);
	ck_assert_int_eq(config_list_set(path, "max_posts_per_day", "five", &err), -1);
	ck_assert_int_eq(config_list_set(path, "nonsense", "5", &err), -1);
	buf_reset(&val);
	ck_assert_int_eq(config_list_get(path, "delivery.verp", &val, &err), 0);
	ck_assert_str_eq(buf_cstr(&val), "always");
	buf_reset(&val);
	ck_assert_int_eq(config_list_get(path, "max_posts_per_day", &val, &err), 0);
	ck_assert_str_eq(buf_cstr(&val), "5");
	ck_assert_int_eq(tu_count(strcat(strcpy(path, dir), "/lists")), 1);	/* no temp files left */
	buf_free(&err);
	buf_free(&val);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

/* the shipped examples must load: conf/mlistd.conf with conf/lists, and each template */
START_TEST(shipped_examples)
{
	struct buf err;
	struct config *c;
	struct list_cfg l;
	const struct list_cfg *demo;
	const char *tmpl[] = { "conf/templates/default.conf", "conf/templates/announce.conf",
	    "conf/templates/pseudonymous.conf", "conf/templates/anonymous.conf" };

	buf_init(&err, 0);
	c = config_load("conf/mlistd.conf", &err);
	ck_assert_msg(c != NULL, "%s", buf_cstr(&err));
	/* make run's lists: a pseudonymous one with hidden leadership, a real-name one */
	ck_assert_ptr_nonnull(demo = config_list_find(c, "demo"));
	ck_assert_int_eq(demo->identity, ID_PSEUDONYM);
	ck_assert_int_eq(demo->visibility, VIS_HIDDEN);
	ck_assert_ptr_nonnull(demo = config_list_find(c, "classic"));
	ck_assert_int_eq(demo->identity, ID_REAL);
	config_free(c);
	for (int i = 0; i < 4; i++) {
		/* templates hold @LIST@ in strings only: the file loads as list "default", ... */
		ck_assert_msg(config_list_load(tmpl[i], &l, &err) == 0, "%s: %s", tmpl[i], buf_cstr(&err));
		config_list_free(&l);
	}
	buf_free(&err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, instance_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, every_error_reported_at_once);
	tcase_add_test(tc, list_files);
	tcase_add_test(tc, list_set_validates_and_keeps_file);
	tcase_add_test(tc, shipped_examples);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
