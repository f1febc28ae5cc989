/*
 * restore.c - `mlistctl restore FILE`: a backup (backup.c) brought back
 * into a fresh state directory. Nothing is written where the instance
 * will live until every file has been read, the stream's end checked and
 * the database has passed SQLite's integrity check: the files go first into
 * STATE.restoring beside it, which is then renamed into place. A state
 * directory that holds anything (an instance, live or not) is refused, and
 * so is a list file that exists with other contents.
 *
 * The backup's templates (an operator's translated notices) go back into
 * templates_dir when nothing there differs from them: missing files are
 * written, identical ones left. If any file there differs (the stock
 * texts of a fresh installation, say), none is overwritten: the backup's
 * set goes beside the instance, into STATE/templates.backup, and the
 * caller says so - the operator decides which texts the instance speaks.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/fsutil.h"
#include "restore.h"
#include "store.h"

/* restore_fresh - may a restore write STATE? 0, or -1 with why */
int
restore_fresh(const struct config *cfg, char *err, size_t errlen)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	if ((d = opendir(cfg->state_dir)) == NULL && errno == ENOENT)
		return 0;
	if (d == NULL)
		return backup_say(err, errlen, "cannot read %s: %s",
		    cfg->state_dir, strerror(errno));
	while ((e = readdir(d)) != NULL)
		/* a clear key file the operator put back is not an instance */
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, KEYS_CLEAR))
			n++;
	closedir(d);
	if (n)
		return backup_say(err, errlen, "%s is not empty: restore only "
		    "into a fresh state directory (this one holds an instance; "
		    "never restore over a live one)", cfg->state_dir);
	return 0;
}

/* put_file - one restored file under dir; its parents made 0700 */
static int
put_file(const char *dir, const char *name, const struct buf *b, char *err,
    size_t errlen)
{
	char path[4200], parent[4200], *slash;
	struct buf e;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return backup_say(err, errlen, "%s: path too long", name);
	snprintf(parent, sizeof(parent), "%s", path);
	if ((slash = strrchr(parent, '/')) != NULL)
		*slash = 0;
	if (fs_mkdir_p(parent, 0700) < 0)
		return backup_say(err, errlen, "cannot create %s: %s", parent,
		    strerror(errno));
	buf_init(&e, 0);
	rc = fs_write_atomic(path, b->data ? b->data : (unsigned char *)"",
	    b->len, 1, &e);
	if (rc == 0 && chmod(path, 0600) < 0)
		rc = -1;
	if (rc < 0)
		snprintf(err, errlen, "%s", e.len ? buf_cstr(&e) :
		    strerror(errno));
	buf_free(&e);
	return rc;
}

/* unpack - every file of the backup into tmp; 0, or -1 with why */
static int
unpack(struct backup_r *r, const char *tmp, char *err, size_t errlen)
{
	char name[BACKUP_NAME_MAX];
	enum backup_item it;
	struct buf b;
	int rc = 0;

	buf_init(&b, 0);
	while (rc == 0 &&
	    (it = backup_next(r, name, &b, err, errlen)) == BACKUP_FILE)
		rc = put_file(tmp, strcmp(name, "conf/mlistd.conf") ?
		    name : "mlistd.conf.backup", &b, err, errlen);
	buf_free(&b);
	return rc < 0 || it != BACKUP_END ? -1 : 0;
}

/*
 * check_db - the restored database opens with the keys and is whole;
 * the copies that wait in it counted
 */
static int
check_db(const char *tmp, const struct keys *k, struct restore_counts *n,
    char *err, size_t errlen)
{
	char path[4200];
	struct store *st;
	struct buf e;
	int rc;

	snprintf(path, sizeof(path), "%s/mlistd.db", tmp);
	buf_init(&e, 0);
	if ((st = store_open(path, k, &e)) == NULL) {
		snprintf(err, errlen, "the restored database: %s",
		    buf_cstr(&e));
		buf_free(&e);
		return -1;
	}
	buf_free(&e);
	if ((rc = store_integrity(st)) != STORE_OK)
		snprintf(err, errlen, "the restored database: %s",
		    store_errmsg(st));
	else if ((n->pending = store_pending_count(st)) < 0) {
		snprintf(err, errlen, "the restored database: %s",
		    store_errmsg(st));
		rc = STORE_ERR;
	}
	store_close(st);
	return rc == STORE_OK ? 0 : -1;
}

/* journal_lines - the delivery results the restored journal holds */
static long long
journal_lines(const char *tmp)
{
	char path[4200];
	struct buf j;
	long long n = 0;

	snprintf(path, sizeof(path), "%s/queue/deliver.journal", tmp);
	buf_init(&j, 0);
	if (fs_read_file(path, &j, NULL) == 0)
		for (size_t i = 0; i < j.len; i++)
			n += j.data[i] == '\n';
	buf_free(&j);
	return n;
}

/* same_file - does path hold exactly b? 1 yes, 0 no or absent */
static int
same_file(const char *path, const struct buf *b)
{
	struct buf have;
	int same;

	buf_init(&have, 0);
	same = fs_read_file(path, &have, NULL) == 0 && have.len == b->len &&
	    (b->len == 0 || memcmp(have.data, b->data, b->len) == 0);
	buf_free(&have);
	return same;
}

/*
 * lists - the restored list files of dir/lists into lists_dir; check
 * only (doit 0): refuse one that exists there with other contents
 */
static int
lists(const char *dir, const char *lists_dir, int doit, char *err,
    size_t errlen)
{
	char src[4200], dst[4200];
	struct dirent *e;
	struct buf b, ebuf;
	DIR *d;
	int rc = 0;

	snprintf(src, sizeof(src), "%s/lists", dir);
	if ((d = opendir(src)) == NULL)
		return 0;
	buf_init(&b, 0);
	buf_init(&ebuf, 0);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(src, sizeof(src), "%s/lists/%s", dir, e->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", lists_dir, e->d_name);
		buf_reset(&b);
		if (fs_read_file(src, &b, &ebuf) < 0)
			rc = -1;
		else if (access(dst, F_OK) == 0 && !same_file(dst, &b))
			rc = backup_say(err, errlen, "%s exists with other "
			    "contents than the backup's: move it away first",
			    dst);
		else if (doit && access(dst, F_OK) < 0 &&
		    (fs_mkdir_p(lists_dir, 0755) < 0 ||
		    fs_write_atomic(dst, b.data, b.len, 1, &ebuf) < 0))
			rc = -1;
		if (doit && rc == 0)
			(void)unlink(src);
	}
	closedir(d);
	if (rc < 0 && ebuf.len)
		snprintf(err, errlen, "%s", buf_cstr(&ebuf));
	buf_free(&b);
	buf_free(&ebuf);
	snprintf(src, sizeof(src), "%s/lists", dir);
	if (doit && rc == 0)
		(void)rmdir(src);
	return rc;
}

/* the tree walk's state: nftw takes no argument */
static struct {
	const char	*from, *to;	/* the backup's templates; ours */
	int		 differ, doit, failed;
} tw;

/* tw_one - one backup template against templates_dir's (doit: copy it) */
static int
tw_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	char dst[4200], parent[4200], *slash;
	struct buf b, e;

	(void)sb;
	(void)f;
	if (flag != FTW_F)
		return 0;
	snprintf(dst, sizeof(dst), "%s%s", tw.to, path + strlen(tw.from));
	buf_init(&b, 0);
	buf_init(&e, 0);
	if (fs_read_file(path, &b, &e) < 0)
		tw.failed = 1;
	else if (access(dst, F_OK) == 0)
		tw.differ |= !same_file(dst, &b);
	else if (tw.doit) {
		snprintf(parent, sizeof(parent), "%s", dst);
		if ((slash = strrchr(parent, '/')) != NULL)
			*slash = 0;
		if (fs_mkdir_p(parent, 0755) < 0 ||
		    fs_write_atomic(dst, b.data ? b.data : (unsigned char *)"",
		    b.len, 1, &e) < 0)
			tw.failed = 1;
	}
	buf_free(&b);
	buf_free(&e);
	return tw.failed;
}

/*
 * templates - the backup's templates under dir against templates_dir:
 * 1 some file there differs, 0 none (doit: the missing ones written), -1
 */
static int
templates(const char *dir, const char *templates_dir, int doit)
{
	char src[4200];

	snprintf(src, sizeof(src), "%s/templates", dir);
	if (access(src, F_OK) < 0 || !templates_dir)
		return 0;
	tw.from = src;
	tw.to = templates_dir;
	tw.differ = tw.failed = 0;
	tw.doit = doit;
	if (nftw(src, tw_one, 16, FTW_PHYS) < 0 || tw.failed)
		return -1;
	return tw.differ;
}

/*
 * templates_place - after the install: into templates_dir, or beside as
 * STATE/templates.backup when they differ (1)
 */
static int
templates_place(const struct config *cfg, int differ, char *err,
    size_t errlen)
{
	char src[4200], dst[4200];

	snprintf(src, sizeof(src), "%s/templates", cfg->state_dir);
	if (access(src, F_OK) < 0)
		return 0;
	if (differ) {
		snprintf(dst, sizeof(dst), "%s/templates.backup",
		    cfg->state_dir);
		if (rename(src, dst) < 0)
			return backup_say(err, errlen, "cannot rename %s: %s",
			    src, strerror(errno));
		return 1;
	}
	if (templates(cfg->state_dir, cfg->templates_dir, 1) < 0)
		return backup_say(err, errlen, "cannot write the templates "
		    "into %s: %s", cfg->templates_dir, strerror(errno));
	fs_rm_tree(src);
	return 0;
}

/* keep_wrapped - a passphrase instance's wrapped key, as it came */
static int
keep_wrapped(const struct backup_r *r, const char *tmp, char *err,
    size_t errlen)
{
	struct buf b;
	int rc;

	if (r->wrappedlen == 0)
		return 0;
	buf_init(&b, 0);
	rc = buf_append(&b, r->wrapped, r->wrappedlen) < 0 ? -1 :
	    put_file(tmp, KEYS_WRAPPED, &b, err, errlen);
	buf_free(&b);
	return rc;
}

/* install - STATE.restoring becomes STATE; then the list files, templates */
static int
install(const struct config *cfg, const char *tmp, int differ, char *err,
    size_t errlen)
{
	char key[4200], moved[4200];

	/* an operator's clear key file (insecure-file) moves along */
	snprintf(key, sizeof(key), "%s/%s", cfg->state_dir, KEYS_CLEAR);
	snprintf(moved, sizeof(moved), "%s/%s", tmp, KEYS_CLEAR);
	if (access(key, F_OK) == 0 && rename(key, moved) < 0)
		return backup_say(err, errlen, "cannot move %s: %s", key,
		    strerror(errno));
	if ((rmdir(cfg->state_dir) < 0 && errno != ENOENT) ||
	    rename(tmp, cfg->state_dir) < 0 || fs_fsync_dir(cfg->state_dir) < 0)
		return backup_say(err, errlen, "cannot put %s in place: %s",
		    cfg->state_dir, strerror(errno));
	if (lists(cfg->state_dir, cfg->lists_dir, 1, err, errlen) < 0)
		return -1;
	return templates_place(cfg, differ, err, errlen);
}

/*
 * restore_run - unpack r (opened with k) into cfg's state directory,
 * which restore_fresh accepted, counting into n the copies that wait and
 * the results its journal holds; 0, RESTORE_TEMPLATES_BESIDE (templates_dir
 * differs: the backup's are in STATE/templates.backup), or -1 with why
 * (nothing left behind)
 */
int
restore_run(const struct config *cfg, struct backup_r *r, const struct keys *k,
    struct restore_counts *n, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int differ = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.restoring", cfg->state_dir) >=
	    (int)sizeof(tmp))
		return backup_say(err, errlen, "the state directory's path is "
		    "too long");
	if (mkdir(tmp, 0700) < 0)
		return backup_say(err, errlen, "cannot create %s: %s%s", tmp,
		    strerror(errno), errno == EEXIST ? " (an earlier restore "
		    "stopped half-way: remove it)" : "");
	if (backup_keys(r, k, err, errlen) < 0 ||
	    unpack(r, tmp, err, errlen) < 0 ||
	    keep_wrapped(r, tmp, err, errlen) < 0 ||
	    check_db(tmp, k, n, err, errlen) < 0 ||
	    lists(tmp, cfg->lists_dir, 0, err, errlen) < 0 ||
	    (differ = templates(tmp, cfg->templates_dir, 0)) < 0) {
		if (differ < 0)
			backup_say(err, errlen, "cannot compare the templates "
			    "with %s: %s", cfg->templates_dir, strerror(errno));
		fs_rm_tree(tmp);
		return -1;
	}
	n->results = journal_lines(tmp);
	return install(cfg, tmp, differ, err, errlen);
}
