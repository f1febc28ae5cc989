/* testutil.h - helpers shared by the unit tests: temp instances, file checks. */
#ifndef MLIST_TESTUTIL_H
#define MLIST_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "../../mlistd/mail/config.h"
#include "../../mlistd/mail/keys.h"
#include "../../mlistd/mail/spool.h"
#include "../../mlistd/mail/store.h"
#include "../../mlistd/util/buf.h"
#include "../../mlistd/util/fsutil.h"

/* tu_sql - SQL straight on the database file db, behind the store's back */
static inline void
tu_sql(const char *db, const char *sql)
{
	sqlite3 *h;
	char *e = NULL;

	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(h, sql, NULL, NULL, &e) == SQLITE_OK,
	    "%s: %s", sql, e);
	sqlite3_close(h);
}

/* tu_tmpdir - a fresh directory under /tmp */
static inline char *
tu_tmpdir(void)
{
	char *d = strdup("/tmp/mlistd-unit.XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

/* tu_write - write a text file */
static inline void
tu_write(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

/* tu_templates - dir/templates: the templates mlistd ships (the tests run from the source tree) */
static inline void
tu_templates(const char *dir)
{
	char cwd[2048], src[2100], dst[4200];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(src, sizeof(src), "%s/conf/templates", cwd);
	snprintf(dst, sizeof(dst), "%s/templates", dir);
	ck_assert_int_eq(symlink(src, dst), 0);
}

/* tu_instance - a minimal instance in dir with list "demo"; returns the config */
static inline struct config *
tu_instance(const char *dir, const char *extra)
{
	char text[6200], sub[4096], cwd[4096];
	struct buf err;
	struct config *c;

	/* the notice texts mlistd ships (the tests run from the source tree) */
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(text, sizeof(text),
	    "hostname = \"lists.example\";\n"
	    "listen = ( { address = \"127.0.0.1\"; port = 2525; } );\n"
	    "state_dir = \"state\";\nlists_dir = \"lists\";\n"
	    "templates_dir = \"%s/conf/templates\";\n"
	    "relay = { host = \"127.0.0.1\"; port = 25; };\n%s", cwd, extra ? extra : "");
	tu_write(dir, "mlistd.conf", text);
	snprintf(sub, sizeof(sub), "%s/lists", dir);
	mkdir(sub, 0755);
	tu_write(dir, "lists/demo.conf", "posting = \"members\";\n");
	snprintf(sub, sizeof(sub), "%s/mlistd.conf", dir);
	buf_init(&err, 0);
	c = config_load(sub, &err);
	ck_assert_msg(c != NULL, "config: %s", buf_cstr(&err));
	buf_free(&err);
	return c;
}

/* tu_keys - deterministic test keys */
static inline struct keys *
tu_keys(void)
{
	unsigned char master[KEYS_LEN];

	memset(master, 7, sizeof(master));
	return keys_from_master(master);
}

/* tu_store - the database at path opened with keys, or the test fails */
static inline struct store *
tu_store(const char *path, const struct keys *k)
{
	struct store *st;
	struct buf err;

	buf_init(&err, 0);
	st = store_open(path, k, &err);
	ck_assert_msg(st != NULL, "%s", buf_cstr(&err));
	buf_free(&err);
	return st;
}

/*
 * TU_STORE_FIXTURE - the fixture of a suite about the store: a fresh
 * directory (dir), the keys, the database (st, at dbpath) opened in it by
 * setup and gone after teardown (tcase_add_checked_fixture)
 */
#define TU_STORE_FIXTURE \
static char *dir; \
static struct keys *keys; \
static struct store *st; \
static char dbpath[4200]; \
\
static void \
setup(void) \
{ \
	dir = tu_tmpdir(); \
	keys = tu_keys(); \
	snprintf(dbpath, sizeof(dbpath), "%s/mlistd.db", dir); \
	st = tu_store(dbpath, keys); \
} \
\
static void \
teardown(void) \
{ \
	store_close(st); \
	keys_free(keys); \
	tu_rmrf(dir); \
	free(dir); \
}

/*
 * tu_crlf - LF lines as CRLF, as messages arrive from SMTP (malloced;
 * NULL for "")
 */
static inline char *
tu_crlf(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	buf_put_crlf(&b, s, strlen(s));
	return (char *)b.data;
}

/* tu_count - regular files in a directory */
static inline int
tu_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* tu_rmrf - remove a test directory */
static inline void
tu_rmrf(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/*
 * tu_fuzz_inputs - every file in tests/data/fuzz-regressions whose name starts
 * with prefix ("" all), each in a buffer of exactly its size (ASan sees any
 * over-read); how many there were
 */
static inline int
tu_fuzz_inputs(const char *prefix, void (*fn)(const char *m, size_t n, void *), void *arg)
{
	DIR *d = opendir("tests/data/fuzz-regressions");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char path[512], *m;
		struct buf raw;

		if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "tests/data/fuzz-regressions/%s", de->d_name);
		buf_init(&raw, 0);
		ck_assert_int_eq(fs_read_file(path, &raw, NULL), 0);
		m = malloc(raw.len ? raw.len : 1);
		ck_assert_ptr_nonnull(m);
		memcpy(m, raw.data, raw.len);
		fn(m, raw.len, arg);
		free(m);
		buf_free(&raw);
		n++;
	}
	closedir(d);
	return n;
}

/* tu_run - run a suite, return the exit status */
static inline int
tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif
