/*
 * backup.c - `mlistctl backup FILE`: the queue manager writes one
 * encrypted file holding the instance (mail/backup.c's format). It runs in
 * the queue manager because that process holds the keys and the store, and
 * while it runs nothing else there moves: the database image, the spool's
 * incoming, rendered and held copies, the delivery journal and the audit
 * heads are one consistent state (mail the SMTP server takes meanwhile is
 * either in it, not yet processed, or not in it at all). The list files and
 * the instance file come along; the master key never does - a passphrase
 * instance's backup carries the wrapped key, which opens only with the
 * passphrase.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actions/actions.h"
#include "mail/backup.h"
#include "util/fsutil.h"
#include "util/log.h"

/* add_file - one file under its name in the backup; a missing one is skipped */
static int
add_file(struct backup_w *w, const char *path, const char *name)
{
	struct buf b;
	int rc;

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	buf_init(&b, 0);
	rc = fs_read_file(path, &b, NULL) < 0 ? -1 :
	    backup_file(w, name, b.data ? b.data : (unsigned char *)"", b.len);
	buf_free(&b);
	return rc;
}

/* add_dir - the regular files of dir (not below it) as PREFIX/NAME */
static int
add_dir(struct backup_w *w, const char *dir, const char *prefix)
{
	char path[4200], name[BACKUP_NAME_MAX];
	struct dirent *e;
	struct stat sb;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (snprintf(name, sizeof(name), "%s/%s", prefix, e->d_name) >=
		    (int)sizeof(name) || !backup_name_ok(name))
			continue;	/* not a file of ours */
		if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			rc = add_file(w, path, name);
	}
	closedir(d);
	return rc;
}

/* add_state - every file of the instance, the database image first */
static int
add_state(struct act_ctx *c, struct backup_w *w)
{
	static const char *const dirs[] = { "queue/incoming", "queue/out",
	    "queue/corrupt", "audit-heads" };
	const struct config *cfg = c->p->cfg;
	char path[4200];
	struct buf db;
	int rc;

	buf_init(&db, 0);
	if (store_snapshot(c->p->st, &db) != STORE_OK) {
		buf_free(&db);
		return act_dberr(c);
	}
	rc = backup_file(w, "mlistd.db", db.data, db.len);
	buf_free(&db);
	for (size_t i = 0; rc == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, dirs[i]);
		rc = add_dir(w, path, dirs[i]);
	}
	snprintf(path, sizeof(path), "%s/queue/deliver.journal",
	    cfg->state_dir);
	if (rc == 0)
		rc = add_file(w, path, "queue/deliver.journal");
	snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, KEYS_PUBLIC);
	if (rc == 0)
		rc = add_file(w, path, KEYS_PUBLIC);
	if (rc == 0)
		rc = add_dir(w, cfg->lists_dir, "lists");
	if (rc == 0 && cfg->file)
		rc = add_file(w, cfg->file, "conf/mlistd.conf");
	return rc < 0 ? act_fail(c, ACT_FAILED, "cannot read the instance's "
	    "files: %s", strerror(errno)) : ACT_DONE;
}

/* wrapped_key - a passphrase instance's wrapped key (len 0: another way) */
static int
wrapped_key(const struct config *cfg, struct buf *out)
{
	char path[4200];

	if (keys_way(cfg->master_key) != KEYS_PASSPHRASE)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, KEYS_WRAPPED);
	if (access(path, F_OK) < 0)
		return 0;	/* an old instance, still on master.key */
	return fs_read_file(path, out, NULL);
}

/* write_backup - the header, the files, the end, durably into fp */
static int
write_backup(struct act_ctx *c, FILE *fp, long long *files, long long *bytes)
{
	const struct config *cfg = c->p->cfg;
	struct backup_w w;
	struct buf wr;
	char err[300];
	int way, rc;

	buf_init(&wr, 0);
	if (wrapped_key(cfg, &wr) < 0) {
		buf_free(&wr);
		return act_fail(c, ACT_FAILED, "cannot read %s/%s: %s",
		    cfg->state_dir, KEYS_WRAPPED, strerror(errno));
	}
	way = wr.len ? KEYS_PASSPHRASE : (int)keys_way(cfg->master_key);
	if (way == KEYS_PASSPHRASE && wr.len == 0)
		way = KEYS_INSECURE_FILE;
	rc = backup_begin(&w, fp, c->p->keys, way, wr.data, wr.len, err,
	    sizeof(err));
	buf_free(&wr);
	if (rc < 0)
		return act_fail(c, ACT_FAILED, "%s", err);
	if ((rc = add_state(c, &w)) != ACT_DONE)
		return rc;
	if (backup_finish(&w, err, sizeof(err)) < 0 || fsync(fileno(fp)) < 0)
		return act_fail(c, ACT_FAILED, "cannot write the backup: %s",
		    strerror(errno));
	*files = w.files;
	*bytes = w.bytes;
	return ACT_DONE;
}

/* act_backup - write the instance into path (absolute, not there yet) */
int
act_backup(struct act_ctx *c, const char *path)
{
	char tmp[4200];
	long long files = 0, bytes = 0;
	struct buf e;
	FILE *fp;
	int fd, rc;

	if (path[0] != '/')
		return act_fail(c, ACT_USAGE, "backup: give an absolute path");
	if (access(path, F_OK) == 0)
		return act_fail(c, ACT_FAILED, "%s exists: a backup never "
		    "replaces a file", path);
	if (snprintf(tmp, sizeof(tmp), "%s.part", path) >= (int)sizeof(tmp))
		return act_fail(c, ACT_FAILED, "backup: the path is too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			(void)close(fd);
		return act_fail(c, ACT_FAILED, "cannot create %s: %s", tmp,
		    strerror(errno));
	}
	rc = write_backup(c, fp, &files, &bytes);
	if (fclose(fp) != 0 && rc == ACT_DONE)
		rc = act_fail(c, ACT_FAILED, "cannot write %s: %s", tmp,
		    strerror(errno));
	buf_init(&e, 0);
	if (rc == ACT_DONE && fs_sync_rename_new(tmp, path, &e) < 0)
		rc = act_fail(c, ACT_FAILED, "%s", buf_cstr(&e));
	buf_free(&e);
	if (rc != ACT_DONE) {
		(void)unlink(tmp);
		return rc;
	}
	log_info("NOQUEUE control: backup files=%lld bytes=%lld result=ok",
	    files, bytes);
	if (!c->json) {
		buf_printf(c->out, "backup written to %s: %lld files, %lld "
		    "bytes\n", path, files, bytes);
		return ACT_DONE;
	}
	buf_puts(c->out, "{\"backup\":");
	act_json_str(c->out, path);
	buf_printf(c->out, ",\"files\":%lld,\"bytes\":%lld}\n", files, bytes);
	return ACT_DONE;
}
