/*
 * backup.c - `mlistctl backup FILE`: one encrypted file holding the
 * instance (mail/backup.c's format), written without stalling the queue
 * manager.
 *
 * In the loop, in one go, the moment is pinned: a read transaction on a
 * connection of its own holds the database as it is (store_backup.c),
 * every spool file is hard-linked into STATE/backup.snap (a spool file is
 * never changed in place, only renamed or removed, so a link keeps it as
 * it was), and the small files are read: the delivery journal (after the
 * database: a result in both is replayed harmlessly), the audit heads,
 * the public key, the list files, the templates (an operator's translated
 * notices belong to the instance) and the instance file. Mail the SMTP
 * server takes meanwhile is either in that state, not yet processed, or
 * not in it at all.
 *
 * A writer thread (nice, idle I/O class) then makes the database's image,
 * ends the read transaction, and encrypts and writes it all while the
 * loop goes on delivering. Before the end it asks the loop for the
 * delivery results recorded since the moment, and adds them to the
 * journal it writes: a restore replays them and does not send those
 * copies again. The answer to mlistctl waits for the writer
 * (control/server.c's later answer). The master key never goes in - a
 * passphrase instance's backup carries the wrapped key, which opens only
 * with the passphrase.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "actions/actions.h"
#include "mail/backup.h"
#include "util/fsutil.h"
#include "util/log.h"

#define SNAP_DIR	"backup.snap"	/* in state_dir, while one is written */
/* in SNAP_DIR: the delivery results since the image */
#define LATE_FILE	"late.journal"
#define TREE_DEPTH	4		/* templates/notices/LIST/pieces */

/* one file of the backup: its bytes, or a link the writer reads */
struct item {
	char		 name[BACKUP_NAME_MAX];
	struct buf	 data;
	char		*link;
};

/*
 * the one backup being written. The loop uses fd, asked, answer; the
 * writer the rest, until the loop joins it (backup_done)
 */
static struct job {
	int		 running;	/* a writer thread to join */
	pthread_t	 th;
	int		 fd, wfd;	/* the loop's end, the writer's */
	int		 asked;		/* it asked for the late results */
	int		 json;
	long long	 at;		/* the moment's time */
	struct store	*st;
	struct store_reader *reader;	/* the moment, until its image */
	FILE		*fp;		/* FILE.part */
	char		 snap[4200], tmp[4300], path[4200];
	unsigned char	*db;		/* the image */
	size_t		 dblen;
	struct buf	 journal, wrapped, answer;
	int		 way;
	struct item	*items;
	int		 n, cap;
} job;

/* item_new - a new, empty item named name; NULL out of memory */
static struct item *
item_new(const char *name)
{
	struct item *it;

	if (job.n == job.cap) {
		int cap = job.cap ? job.cap * 2 : 256;

		it = realloc(job.items, (size_t)cap * sizeof(*it));
		if (it == NULL)
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
 * writer); where no link can be made, read now
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
	store_backup_reader_close(job.reader);
	store_backup_image_free(job.db);
	buf_free(&job.journal);
	buf_free(&job.wrapped);
	buf_free(&job.answer);
	memset(&job, 0, sizeof(job));
}

/*
 * freeze - the instance as it is now, in the loop: the database pinned,
 * the spool linked, the small files read. 0, or -1 with why in c.
 */
static int
freeze(struct act_ctx *c)
{
	const struct config *cfg = c->p->cfg;

	buf_init(&job.journal, 0);
	buf_init(&job.wrapped, 0);
	buf_init(&job.answer, 0);
	snprintf(job.snap, sizeof(job.snap), "%s/%s", cfg->state_dir, SNAP_DIR);
	fs_rm_tree(job.snap);	/* a writer that died: its links are stale */
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
	if ((job.reader = store_backup_reader(c->p->st, &job.at)) == NULL)
		return act_dberr(c);
	if (add_spool(cfg) < 0 || add_small(cfg) < 0)
		return act_fail(c, ACT_FAILED, "cannot read the instance's "
		    "files: %s", strerror(errno));
	return ACT_DONE;
}

/* writer_item - one item into the backup: its bytes, or its link's */
static int
writer_item(struct backup_w *w, struct item *it)
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

	for (int i = 0; f && i < 1200 && access(f, F_OK) == 0; i++)
		(void)usleep(50 * 1000);
}

/* writer_late - ask the loop for the results since the image; append them */
static int
writer_late(int sock)
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

/* writer_write - the whole backup into fp; 0, or -1 with why */
static int
writer_write(FILE *fp, int sock, const struct keys *k, long long *files,
    long long *bytes, char *why, size_t n)
{
	struct backup_w w;

	if (store_backup_image(job.reader, &job.db, &job.dblen, why, n) < 0)
		return -1;
	/* the image is made: the reader need not hold the WAL back longer */
	store_backup_reader_close(job.reader);
	job.reader = NULL;
	if (backup_begin(&w, fp, k, job.way, job.wrapped.data,
	    job.wrapped.len, why, n) < 0)
		return -1;
	if (backup_file(&w, "mlistd.db", job.db, job.dblen) < 0)
		return backup_say(why, n, "cannot write the backup: %s",
		    strerror(errno));
	store_backup_image_free(job.db);
	job.db = NULL;
	for (int i = 0; i < job.n; i++)
		if (writer_item(&w, &job.items[i]) < 0)
			return backup_say(why, n, "%s: %s", job.items[i].name,
			    strerror(errno));
	test_hold();
	if (writer_late(sock) < 0)
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

/* writer_answer - what mlistctl prints, after the status byte */
static void
writer_answer(struct buf *a, long long files, long long bytes)
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

/* humble - the writer yields to the loop: CPU nice, idle I/O class */
static void
humble(void)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);

	/* on Linux both are per thread; failing them only costs speed */
	(void)setpriority(PRIO_PROCESS, (id_t)tid, 10);
	(void)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, (int)tid,
	    3 << 13 /* IOPRIO_CLASS_IDLE */);
}

/* writer - the thread: the backup, renamed into place, and the answer */
static void *
writer(void *arg)
{
	const struct keys *k = arg;
	long long files = 0, bytes = 0;
	char why[600] = "";
	struct buf a, e;
	int rc;

	humble();
	rc = writer_write(job.fp, job.wfd, k, &files, &bytes, why, sizeof(why));
	if (fclose(job.fp) != 0 && rc == 0)
		rc = backup_say(why, sizeof(why), "cannot write %s: %s",
		    job.tmp, strerror(errno));
	job.fp = NULL;
	buf_init(&e, 0);
	if (rc == 0 && fs_sync_rename_new(job.tmp, job.path, &e) < 0)
		rc = backup_say(why, sizeof(why), "%s", buf_cstr(&e));
	buf_free(&e);
	buf_init(&a, 0);
	if (rc < 0) {
		(void)unlink(job.tmp);
		log_warn("NOQUEUE control: backup: %s result=permfail", why);
		buf_printf(&a, "1%s\n", why);
	} else {
		log_info("NOQUEUE control: backup files=%lld bytes=%lld "
		    "result=ok", files, bytes);
		writer_answer(&a, files, bytes);
	}
	(void)fs_write_all(job.wfd, a.data, a.len);
	buf_free(&a);
	(void)close(job.wfd);	/* the loop reads its end to EOF */
	return NULL;
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
 * give_late - the writer asked: the results recorded since the image, in
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
	int rc;

	(void)pthread_join(job.th, NULL);
	(void)close(job.fd);
	fs_rm_tree(job.snap);
	if (a[0] == '0') {
		buf_puts(out, a + 1);
		rc = ACT_DONE;
	} else if (a[0] == '1') {
		buf_puts(err, a + 1);
		rc = ACT_FAILED;
	} else {
		buf_puts(err, "the backup's writer gave no answer\n");
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

/* start - the writer thread on the pinned moment; the loop goes on */
static int
start(struct act_ctx *c)
{
	sigset_t all, old;
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return act_fail(c, ACT_FAILED, "socketpair: %s",
		    strerror(errno));
	job.fd = sv[0];
	job.wfd = sv[1];
	job.st = c->p->st;
	/* signals are the loop's: the writer is made with them blocked */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&job.th, NULL, writer, (void *)c->p->keys);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		return act_fail(c, ACT_FAILED, "cannot start the writer: %s",
		    strerror(rc));
	}
	job.running = 1;
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
		log_warn("NOQUEUE control: backup: %s", strerror(errno));
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
		act_fail(c, ACT_FAILED, "cannot create %s: %s%s", job.tmp,
		    strerror(errno), errno == EEXIST ? " (left by a backup "
		    "the daemon's stop cut short? remove it)" : "");
		return NULL;
	}
	return fp;
}

/* act_backup - write the instance into path (absolute, not there yet) */
int
act_backup(struct act_ctx *c, const char *path)
{
	struct timespec t0, t1;
	int rc;

	if (path[0] != '/')
		return act_fail(c, ACT_USAGE, "backup: give an absolute path");
	if (job.running)
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
	if ((job.fp = open_part(c)) == NULL)
		return ACT_FAILED;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = freeze(c)) == ACT_DONE && (rc = start(c)) == ACT_DONE) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_info("NOQUEUE control: backup: frozen in %ld ms (%d files "
		    "besides the database); a writer thread goes on",
		    (long)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000), job.n);
		return ACT_DONE;
	}
	(void)fclose(job.fp);
	(void)unlink(job.tmp);
	fs_rm_tree(job.snap);
	job_reset();
	return rc;
}
