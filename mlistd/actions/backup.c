/*
 * backup.c - `mlistctl backup FILE`: one encrypted file holding the
 * instance (mail/backup.c's format), written without stalling the queue
 * manager.
 *
 * In the loop, in one go, the state is frozen: the database's image
 * (SQLite's serialize, in memory), every spool file hard-linked into
 * STATE/backup.snap (a spool file is never changed in place, only renamed
 * or removed, so a link keeps it as it was), and the small files read:
 * the delivery journal (after the image: a result in both is replayed
 * harmlessly), the audit heads, the public key, the list files, the
 * templates (an operator's translated notices belong to the instance) and
 * the instance file. Mail the SMTP server takes meanwhile is either in
 * that state, not yet processed, or not in it at all.
 *
 * A child then encrypts and writes it while the loop goes on delivering.
 * Before the end it asks the loop for the delivery results recorded since
 * the image, and adds them to the journal it writes: a restore replays
 * them and does not send those copies again. The answer to mlistctl waits
 * for the child (control/server.c's later answer). The master key never
 * goes in - a passphrase instance's backup carries the wrapped key, which
 * opens only with the passphrase.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "actions/actions.h"
#include "mail/backup.h"
#include "util/fsutil.h"
#include "util/log.h"

#define SNAP_DIR	"backup.snap"	/* in state_dir, while one is written */
#define LATE_FILE	"late.journal"	/* in SNAP_DIR: results since the image */
#define TREE_DEPTH	4		/* templates/notices/LIST/pieces */

/* one file of the backup: its bytes, or a link the child reads */
struct item {
	char		 name[BACKUP_NAME_MAX];
	struct buf	 data;
	char		*link;
};

/* the one backup being written */
static struct job {
	pid_t		 pid;		/* the writer; 0 none */
	int		 fd;		/* our end of its socket */
	int		 asked;		/* it asked for the late results */
	int		 json;
	long long	 at;		/* the image's time */
	struct store	*st;
	char		 snap[4200], tmp[4300], path[4200];
	unsigned char	*db;		/* the image */
	size_t		 dblen;
	struct buf	 journal, wrapped, answer;
	int		 way;
	struct item	*items;
	int		 n, cap;
} job;

static volatile sig_atomic_t child_stop;

/* rm_one - nftw's callback: remove what it is given */
static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

/* rm_tree - a snapshot directory, gone */
static void
rm_tree(const char *dir)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* item_new - a new, empty item named name; NULL out of memory */
static struct item *
item_new(const char *name)
{
	struct item *it;

	if (job.n == job.cap) {
		int cap = job.cap ? job.cap * 2 : 256;

		if ((it = realloc(job.items, (size_t)cap * sizeof(*it))) == NULL)
			return NULL;
		job.items = it;
		job.cap = cap;
	}
	it = &job.items[job.n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->name, sizeof(it->name), "%s", name);
	buf_init(&it->data, 0);
	return it;
}

/* items_free - every item, in whichever process */
static void
items_free(void)
{
	for (int i = 0; i < job.n; i++) {
		buf_free(&job.items[i].data);
		free(job.items[i].link);
	}
	free(job.items);
	job.items = NULL;
	job.n = job.cap = 0;
}

/* read_item - path's bytes as name; a missing file is skipped */
static int
read_item(const char *path, const char *name)
{
	struct item *it;

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if ((it = item_new(name)) == NULL)
		return -1;
	return fs_read_file(path, &it->data, NULL);
}

/*
 * link_item - path hard-linked into the snapshot as name (read by the
 * child); where no link can be made, read now
 */
static int
link_item(const char *path, const char *name)
{
	char dst[4800], parent[4800], *slash;
	struct item *it;

	snprintf(dst, sizeof(dst), "%s/%s", job.snap, name);
	snprintf(parent, sizeof(parent), "%s", dst);
	if ((slash = strrchr(parent, '/')) != NULL)
		*slash = '\0';
	if (fs_mkdir_p(parent, 0700) < 0)
		return -1;
	if (link(path, dst) < 0)
		return errno == ENOENT ? 0 : read_item(path, name);
	if ((it = item_new(name)) == NULL || (it->link = strdup(dst)) == NULL)
		return -1;
	return 0;
}

/*
 * add_tree - the regular files under dir as PREFIX/..., depth levels
 * down; linked (spool files) or read (small ones)
 */
static int
add_tree(const char *dir, const char *prefix, int depth, int linked)
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
		    (int)sizeof(name) || !backup_name_ok(name) ||
		    lstat(path, &sb) < 0)
			continue;	/* not a file of ours */
		if (S_ISDIR(sb.st_mode) && depth > 1)
			rc = add_tree(path, name, depth - 1, linked);
		else if (S_ISREG(sb.st_mode))
			rc = linked ? link_item(path, name) :
			    read_item(path, name);
	}
	closedir(d);
	return rc;
}

/* add_spool - the spool's files, linked */
static int
add_spool(const struct config *cfg)
{
	static const char *const dirs[] = { "queue/incoming", "queue/out",
	    "queue/corrupt" };
	char path[4200];
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, dirs[i]);
		rc = add_tree(path, dirs[i], 1, 1);
	}
	return rc;
}

/* add_small - the files read now: journal, heads, key, lists, templates */
static int
add_small(const struct config *cfg)
{
	char path[4200];
	int rc;

	snprintf(path, sizeof(path), "%s/queue/deliver.journal",
	    cfg->state_dir);
	if (fs_read_file(path, &job.journal, NULL) < 0 && errno != ENOENT)
		return -1;
	snprintf(path, sizeof(path), "%s/audit-heads", cfg->state_dir);
	rc = add_tree(path, "audit-heads", 1, 0);
	snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, KEYS_PUBLIC);
	if (rc == 0)
		rc = read_item(path, KEYS_PUBLIC);
	if (rc == 0)
		rc = add_tree(cfg->lists_dir, "lists", 1, 0);
	if (rc == 0 && cfg->templates_dir)
		rc = add_tree(cfg->templates_dir, "templates", TREE_DEPTH, 0);
	if (rc == 0 && cfg->file)
		rc = read_item(cfg->file, "conf/mlistd.conf");
	return rc;
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

/* job_reset - nothing being written; what the loop held, given back */
static void
job_reset(void)
{
	items_free();
	store_backup_image_free(job.db);
	buf_free(&job.journal);
	buf_free(&job.wrapped);
	buf_free(&job.answer);
	memset(&job, 0, sizeof(job));
}

/*
 * freeze - the instance as it is now, in the loop: the image, the spool
 * linked, the small files read. 0, or -1 with why in c.
 */
static int
freeze(struct act_ctx *c)
{
	const struct config *cfg = c->p->cfg;

	buf_init(&job.journal, 0);
	buf_init(&job.wrapped, 0);
	buf_init(&job.answer, 0);
	snprintf(job.snap, sizeof(job.snap), "%s/%s", cfg->state_dir, SNAP_DIR);
	rm_tree(job.snap);	/* a writer that died: its links are stale */
	if (mkdir(job.snap, 0700) < 0)
		return act_fail(c, ACT_FAILED, "cannot create %s: %s",
		    job.snap, strerror(errno));
	if (wrapped_key(cfg, &job.wrapped) < 0)
		return act_fail(c, ACT_FAILED, "cannot read %s/%s: %s",
		    cfg->state_dir, KEYS_WRAPPED, strerror(errno));
	job.way = job.wrapped.len ? KEYS_PASSPHRASE :
	    (int)keys_way(cfg->master_key);
	if (job.way == KEYS_PASSPHRASE && job.wrapped.len == 0)
		job.way = KEYS_INSECURE_FILE;
	if (store_backup_image(c->p->st, &job.db, &job.dblen, &job.at) !=
	    STORE_OK)
		return act_dberr(c);
	if (add_spool(cfg) < 0 || add_small(cfg) < 0)
		return act_fail(c, ACT_FAILED, "cannot read the instance's "
		    "files: %s", strerror(errno));
	return ACT_DONE;
}

/* child_signal - SIGTERM: stop between files, leaving no part file */
static void
child_signal(int sig)
{
	(void)sig;
	child_stop = 1;
}

/* child_item - one item into the backup: its bytes, or its link's */
static int
child_item(struct backup_w *w, struct item *it)
{
	if (it->link && fs_read_file(it->link, &it->data, NULL) < 0)
		return -1;
	if (backup_file(w, it->name, it->data.data ? it->data.data :
	    (unsigned char *)"", it->data.len) < 0)
		return -1;
	buf_free(&it->data);
	return 0;
}

/*
 * test_hold - tests only: while the file MLISTD_TEST_BACKUP_HOLD names
 * exists (at most a minute), the writer waits before its end, so a test
 * can show the loop delivering meanwhile
 */
static void
test_hold(void)
{
	const char *f = getenv("MLISTD_TEST_BACKUP_HOLD");

	for (int i = 0; f && i < 1200 && !child_stop &&
	    access(f, F_OK) == 0; i++)
		(void)usleep(50 * 1000);
}

/* child_late - ask the loop for the results since the image; append them */
static int
child_late(int sock)
{
	char path[4300];
	char c = 'L';
	struct buf late;
	int rc;

	if (write(sock, &c, 1) != 1 || read(sock, &c, 1) != 1 || c != 'G')
		return -1;	/* the queue manager is gone */
	snprintf(path, sizeof(path), "%s/%s", job.snap, LATE_FILE);
	buf_init(&late, 0);
	rc = fs_read_file(path, &late, NULL) < 0 ? -1 :
	    buf_append(&job.journal, late.data ? late.data :
	    (unsigned char *)"", late.len);
	buf_free(&late);
	return rc;
}

/* child_write - the whole backup into fp; 0, or -1 with why */
static int
child_write(FILE *fp, int sock, const struct keys *k, long long *files,
    long long *bytes, char *why, size_t n)
{
	struct backup_w w;

	if (backup_begin(&w, fp, k, job.way, job.wrapped.data,
	    job.wrapped.len, why, n) < 0)
		return -1;
	if (backup_file(&w, "mlistd.db", job.db, job.dblen) < 0)
		return backup_say(why, n, "cannot write the backup: %s",
		    strerror(errno));
	for (int i = 0; i < job.n; i++)
		if (child_stop || child_item(&w, &job.items[i]) < 0)
			return backup_say(why, n, child_stop ? "stopped: the "
			    "daemon is stopping" : "%s: %s", job.items[i].name,
			    strerror(errno));
	test_hold();
	if (child_late(sock) < 0)
		return backup_say(why, n, "the queue manager is gone");
	if (backup_file(&w, "queue/deliver.journal", job.journal.data ?
	    job.journal.data : (unsigned char *)"", job.journal.len) < 0 ||
	    backup_finish(&w, why, n) < 0 || fsync(fileno(fp)) < 0)
		return backup_say(why, n, "cannot write the backup: %s",
		    strerror(errno));
	*files = w.files;
	*bytes = w.bytes;
	return 0;
}

/* child_answer - what mlistctl prints, after the status byte */
static void
child_answer(struct buf *a, long long files, long long bytes)
{
	buf_putc(a, '0');
	if (!job.json) {
		buf_printf(a, "backup written to %s: %lld files, %lld bytes\n",
		    job.path, files, bytes);
		return;
	}
	buf_puts(a, "{\"backup\":");
	act_json_str(a, job.path);
	buf_printf(a, ",\"files\":%lld,\"bytes\":%lld}\n", files, bytes);
}

/* child_main - the writer: the backup, renamed into place, and the answer */
static void __attribute__((noreturn))
child_main(FILE *fp, int sock, const struct keys *k)
{
	struct sigaction sa;
	long long files = 0, bytes = 0;
	char why[600] = "";
	struct buf a, e;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_signal;
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	rc = child_write(fp, sock, k, &files, &bytes, why, sizeof(why));
	if (fclose(fp) != 0 && rc == 0)
		rc = backup_say(why, sizeof(why), "cannot write %s: %s",
		    job.tmp, strerror(errno));
	buf_init(&e, 0);
	if (rc == 0 && fs_sync_rename_new(job.tmp, job.path, &e) < 0)
		rc = backup_say(why, sizeof(why), "%s", buf_cstr(&e));
	buf_init(&a, 0);
	if (rc < 0) {
		(void)unlink(job.tmp);
		log_warn("NOQUEUE control: backup: %s result=permfail", why);
		buf_printf(&a, "1%s\n", why);
	} else {
		log_info("NOQUEUE control: backup files=%lld bytes=%lld "
		    "result=ok", files, bytes);
		child_answer(&a, files, bytes);
	}
	(void)fs_write_all(sock, a.data, a.len);
	_exit(rc < 0 ? 1 : 0);
}

/* late_line - one result since the image, as the delivery journal has it */
static void
late_line(void *arg, const char *qid, const unsigned char *hash, int state,
    int attempts, long long next_try, const char *err)
{
	char hex[2 * KEYS_HASH_LEN + 1];
	struct buf *b = arg;

	sodium_bin2hex(hex, sizeof(hex), hash, KEYS_HASH_LEN);
	buf_printf(b, "%s %s %d %d %lld ", qid, hex, state, attempts,
	    next_try);
	for (const char *c = err; *c; c++)	/* one line, whatever it says */
		buf_putc(b, *c == '\n' || *c == '\r' ? ' ' : *c);
	buf_putc(b, '\n');
}

/*
 * give_late - the child asked: the results recorded since the image, in
 * a file it reads; then go. Without them it still writes a whole backup.
 */
static void
give_late(void)
{
	char path[4300];
	struct buf b, e;

	buf_init(&b, 0);
	buf_init(&e, 0);
	snprintf(path, sizeof(path), "%s/%s", job.snap, LATE_FILE);
	if (store_backup_late(job.st, job.at, late_line, &b) != STORE_OK) {
		log_warn("NOQUEUE control: backup: the results since the "
		    "image: %s", store_errmsg(job.st));
		buf_reset(&b);
	}
	if (fs_write_atomic(path, b.data ? b.data : (unsigned char *)"",
	    b.len, 1, &e) < 0)
		log_warn("NOQUEUE control: backup: %s", buf_cstr(&e));
	if (write(job.fd, "G", 1) != 1)
		log_warn("NOQUEUE control: backup: the writer is gone: %s",
		    strerror(errno));
	buf_free(&b);
	buf_free(&e);
}

/* backup_done - the writer ended: its answer, and everything cleared */
static int
backup_done(struct buf *out, struct buf *err)
{
	const char *a = buf_cstr(&job.answer);
	int status = 0, rc;

	while (waitpid(job.pid, &status, 0) < 0 && errno == EINTR)
		;
	(void)close(job.fd);
	rm_tree(job.snap);
	if (a[0] == '0') {
		buf_puts(out, a + 1);
		rc = ACT_DONE;
	} else if (a[0] == '1') {
		buf_puts(err, a + 1);
		rc = ACT_FAILED;
	} else {
		(void)unlink(job.tmp);
		buf_printf(err, "the backup's writer died (status %d); no "
		    "backup written\n", status);
		log_warn("NOQUEUE control: backup: the writer died (status %d) "
		    "result=permfail", status);
		rc = ACT_FAILED;
	}
	job_reset();
	return rc;
}

/* backup_wait - the control socket's later answer: ACT_LATER until done */
static int
backup_wait(void *arg, struct buf *out, struct buf *err)
{
	unsigned char b[4096];
	ssize_t n;

	(void)arg;
	while ((n = read(job.fd, b, sizeof(b))) > 0 || (n < 0 &&
	    errno == EINTR)) {
		if (n < 0)
			continue;
		if (!job.asked && b[0] == 'L') {
			job.asked = 1;
			give_late();
			(void)buf_append(&job.answer, b + 1, (size_t)n - 1);
		} else
			(void)buf_append(&job.answer, b, (size_t)n);
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return ACT_LATER;
	return backup_done(out, err);
}

/* start - the writer forked with the frozen state; the loop goes on */
static int
start(struct act_ctx *c, FILE *fp)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return act_fail(c, ACT_FAILED, "socketpair: %s",
		    strerror(errno));
	if ((job.pid = fork()) < 0) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		return act_fail(c, ACT_FAILED, "fork: %s", strerror(errno));
	}
	if (job.pid == 0) {
		(void)close(sv[0]);
		child_main(fp, sv[1], c->p->keys);
	}
	(void)close(sv[1]);
	(void)fclose(fp);	/* the child's now; nothing written here */
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
		log_warn("NOQUEUE control: backup: %s", strerror(errno));
	job.fd = sv[0];
	job.st = c->p->st;
	/* the child holds its own copy: the loop's memory is given back */
	items_free();
	store_backup_image_free(job.db);
	job.db = NULL;
	buf_free(&job.journal);
	c->wait_fd = job.fd;
	c->wait_fn = backup_wait;
	c->wait_arg = NULL;
	return ACT_DONE;
}

/* open_part - path.part, made here so that a refusal is immediate */
static FILE *
open_part(struct act_ctx *c)
{
	FILE *fp;
	int fd;

	fd = open(job.tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			(void)close(fd);
		act_fail(c, ACT_FAILED, "cannot create %s: %s", job.tmp,
		    strerror(errno));
		return NULL;
	}
	return fp;
}

/* act_backup - write the instance into path (absolute, not there yet) */
int
act_backup(struct act_ctx *c, const char *path)
{
	struct timespec t0, t1;
	FILE *fp;
	int rc;

	if (path[0] != '/')
		return act_fail(c, ACT_USAGE, "backup: give an absolute path");
	if (job.pid > 0)
		return act_fail(c, ACT_FAILED, "a backup is being written to "
		    "%s: one at a time", job.path);
	if (access(path, F_OK) == 0)
		return act_fail(c, ACT_FAILED, "%s exists: a backup never "
		    "replaces a file", path);
	job_reset();
	if (snprintf(job.path, sizeof(job.path), "%s", path) >=
	    (int)sizeof(job.path) ||
	    snprintf(job.tmp, sizeof(job.tmp), "%s.part", path) >=
	    (int)sizeof(job.tmp))
		return act_fail(c, ACT_FAILED, "backup: the path is too long");
	job.json = c->json;
	if ((fp = open_part(c)) == NULL)
		return ACT_FAILED;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = freeze(c)) == ACT_DONE && (rc = start(c, fp)) == ACT_DONE) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_info("NOQUEUE control: backup: frozen in %ld ms (image %zu "
		    "bytes); writer pid %ld", (long)((t1.tv_sec - t0.tv_sec) *
		    1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000), job.dblen,
		    (long)job.pid);
		return ACT_DONE;
	}
	if (job.pid <= 0) {
		(void)fclose(fp);
		(void)unlink(job.tmp);
		rm_tree(job.snap);
		job_reset();
	}
	return rc;
}
