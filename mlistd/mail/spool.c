/*
 * spool.c - one encrypted file per message, made durable before `250`.
 *
 * A file is written under tmp/ (opened O_EXCL), sealed chunk by chunk with
 * libsodium's secretstream under a fresh key of its own, that key sealed to
 * the instance's spool public key (crypto_box_seal), fsynced, renamed into its
 * queue directory, and the directory fsynced: only then does spool_commit
 * return OK and may the SMTP server say 250. The queue id is bound into
 * every chunk as associated data, and the last chunk carries the FINAL tag,
 * so a truncated, swapped or altered file fails to open and is moved to
 * corrupt/ (quarantined, never deleted).
 *
 * So the writer needs no secret at all: the SMTP server holds the public
 * key only, takes mail while the instance is locked, and could not read
 * back what it wrote. The queue manager opens files with the secret half.
 *
 * File: "MLSPOOL2" | sealed file key | secretstream header | { u32 length | chunk }...
 * The first chunk is the envelope (text lines), the rest the message.
 * "MLSPOOL1" files (before the key pair) have no sealed key and were made
 * under the symmetric spool key: still read, never made.
 */
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/fsutil.h"
#include "../util/log.h"
#include "spool.h"

#define MAGIC		"MLSPOOL2"
#define MAGIC_V1	"MLSPOOL1"
#define MAGIC_LEN	8
#define SEALED_LEN	(crypto_box_SEALBYTES + crypto_secretstream_xchacha20poly1305_KEYBYTES)
#define ABYTES		crypto_secretstream_xchacha20poly1305_ABYTES
#define ENV_MAX		(1 << 20)	/* envelope chunk, bounded by max_recipients */

static const char *const dir_names[SPOOL_NDIRS] = { "tmp", "incoming", "out", "corrupt" };

/* spool_open - make the queue directories under state_dir; k reads and writes */
int
spool_open(struct spool *sp, const char *state_dir, const struct keys *k, struct buf *err)
{
	return spool_open_sealer(sp, state_dir, k->spool_pk, err) < 0 ? -1 : (sp->keys = k, 0);
}

/* spool_open_sealer - a spool that writes to pk and cannot read (the SMTP server's) */
int
spool_open_sealer(struct spool *sp, const char *state_dir, const unsigned char pk[KEYS_LEN],
    struct buf *err)
{
	int i;

	sp->keys = NULL;
	memcpy(sp->pk, pk, KEYS_LEN);
	for (i = 0; i < SPOOL_NDIRS; i++) {
		if (snprintf(sp->dir[i], sizeof(sp->dir[i]), "%s/queue/%s", state_dir,
		    dir_names[i]) >= (int)sizeof(sp->dir[i]))
			return buf_printf(err, "%s: path too long", state_dir), -1;
		if (fs_mkdir_p(sp->dir[i], 0700) < 0)
			return buf_printf(err, "cannot create %s: %s", sp->dir[i], strerror(errno)), -1;
	}
	return 0;
}

/*
 * spool_open_fds - a sealer that reaches queue/tmp and queue/incoming
 * only through the descriptors tmpfd and infd (from the daemon): the SMTP
 * server under smtp_user, which may not enter state_dir by its path
 */
void
spool_open_fds(struct spool *sp, int tmpfd, int infd,
    const unsigned char pk[KEYS_LEN])
{
	memset(sp, 0, sizeof(*sp));
	memcpy(sp->pk, pk, KEYS_LEN);
	for (int i = 0; i < SPOOL_NDIRS; i++)	/* no way into out/, corrupt/ */
		snprintf(sp->dir[i], sizeof(sp->dir[i]), "/dev/null/none");
	snprintf(sp->dir[SPOOL_TMP], PATH_MAX, "/proc/self/fd/%d", tmpfd);
	snprintf(sp->dir[SPOOL_INCOMING], PATH_MAX, "/proc/self/fd/%d", infd);
}

/*
 * spool_clean_tmp - remove uncommitted files (none of them was ever answered
 * 250). Through a descriptor of the directory opened without following a
 * symlink: whoever can replace queue/tmp must not choose what is deleted.
 */
int
spool_clean_tmp(struct spool *sp)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	if ((fd = open(sp->dir[SPOOL_TMP], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		log_err("NOQUEUE spool: cannot open %s: %s%s", sp->dir[SPOOL_TMP], strerror(errno),
		    errno == ELOOP ? " (a symlink: it must be a directory)" : "");
		return -1;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (spool_id_valid(de->d_name) && unlinkat(fd, de->d_name, 0) == 0)
			n++;
	closedir(d);
	return n;
}

/*
 * spool_new_id - time-ordered, unguessable queue id: 8 hex of time, 16 of
 * randomness. A collision cannot replace a file (the commit's rename refuses
 * an existing name) but would cost a 451; at 64 bits it does not happen.
 */
void
spool_new_id(char out[QID_LEN + 1])
{
	unsigned char r[8];
	char hex[17];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	for (char *c = hex; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	snprintf(out, QID_LEN + 1, "%08llX%s", (unsigned long long)time(NULL) & 0xffffffffULL, hex);
}

/* spool_id_valid - a queue id this spool makes, or made before (QID_LEN_V1): upper-case hex */
int
spool_id_valid(const char *id)
{
	size_t n = strspn(id, "0123456789ABCDEF");

	return id[n] == 0 && (n == QID_LEN || n == QID_LEN_V1);
}

/* put_chunk - seal one chunk and write it */
static int
put_chunk(struct spool_writer *w, const unsigned char *p, size_t n, unsigned char tag)
{
	unsigned char *ct;
	unsigned long long clen;
	uint32_t be;
	int rc;

	if ((ct = malloc(n + ABYTES + 4)) == NULL)
		return -1;
	crypto_secretstream_xchacha20poly1305_push(&w->st, ct + 4, &clen, p, n,
	    (const unsigned char *)w->id, strlen(w->id), tag);
	be = htobe32((uint32_t)clen);
	memcpy(ct, &be, 4);
	rc = fs_write_all(w->fd, ct, (size_t)clen + 4);
	free(ct);
	return rc;
}

/* envelope_text - serialise an envelope */
static int
envelope_text(const struct envelope *e, struct buf *b)
{
	int i, rc = 0;

	rc |= buf_printf(b, "T %lld\nF %s\nC %s\nN %s\n", e->received, e->sender ? e->sender : "",
	    e->client ? e->client : "", e->note ? e->note : "");
	for (i = 0; i < e->nrcpts; i++)
		rc |= buf_printf(b, "R %s\n", e->rcpts[i]);
	return rc ? -1 : 0;
}

/* spool_begin - open a new file in tmp/ and write the envelope */
enum result
spool_begin(struct spool *sp, enum spool_dir where, const struct envelope *e,
    struct spool_writer *w)
{
	unsigned char hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	unsigned char fk[crypto_secretstream_xchacha20poly1305_KEYBYTES], sealed[SEALED_LEN];
	struct buf env;
	int tries;

	memset(w, 0, sizeof(*w));
	w->sp = sp;
	w->where = where;
	w->fd = -1;
	buf_init(&w->pending, SPOOL_CHUNK * 2);
	for (tries = 0; tries < 10 && w->fd < 0; tries++) {
		spool_new_id(w->id);
		snprintf(w->tmp, sizeof(w->tmp), "%s/%s", sp->dir[SPOOL_TMP], w->id);
		/* 0640: the queue manager reads by the group what smtp_user wrote */
		w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0640);
		if (w->fd < 0 && errno != EEXIST)
			break;
	}
	if (w->fd < 0) {
		log_err("NOQUEUE spool: cannot create %s: %s", w->tmp, strerror(errno));
		w->failed = 1;
		return TEMPFAIL;
	}
	/* a key for this file alone, readable only by the holder of the secret half */
	crypto_secretstream_xchacha20poly1305_keygen(fk);
	if (crypto_box_seal(sealed, fk, sizeof(fk), sp->pk) != 0) {
		sodium_memzero(fk, sizeof(fk));
		log_err("%s spool: cannot seal the file key", w->id);
		spool_abort(w);
		return TEMPFAIL;
	}
	crypto_secretstream_xchacha20poly1305_init_push(&w->st, hdr, fk);
	sodium_memzero(fk, sizeof(fk));
	buf_init(&env, ENV_MAX);
	if (fs_write_all(w->fd, MAGIC, MAGIC_LEN) < 0 || fs_write_all(w->fd, sealed, sizeof(sealed)) < 0 ||
	    fs_write_all(w->fd, hdr, sizeof(hdr)) < 0 ||
	    envelope_text(e, &env) < 0 ||
	    put_chunk(w, env.data, env.len, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) < 0) {
		log_err("%s spool: cannot write %s: %s", w->id, w->tmp, strerror(errno));
		buf_free(&env);
		spool_abort(w);
		return TEMPFAIL;
	}
	buf_free(&env);
	return OK;
}

/* spool_write - add message bytes; sealed in SPOOL_CHUNK pieces */
enum result
spool_write(struct spool_writer *w, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t take;

	if (w->failed)
		return TEMPFAIL;
	while (n > 0) {
		take = SPOOL_CHUNK - w->pending.len;
		if (take > n)
			take = n;
		if (buf_append(&w->pending, c, take) < 0)
			return w->failed = 1, TEMPFAIL;
		c += take;
		n -= take;
		w->total += take;
		if (w->pending.len == SPOOL_CHUNK) {
			if (put_chunk(w, w->pending.data, w->pending.len,
			    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) < 0) {
				log_err("%s spool: write failed: %s", w->id, strerror(errno));
				return w->failed = 1, TEMPFAIL;
			}
			buf_reset(&w->pending);
		}
	}
	return OK;
}

/* spool_commit - final chunk, fsync, rename into the queue, fsync the directory */
enum result
spool_commit(struct spool_writer *w)
{
	char dst[PATH_MAX + 32];
	struct buf err;

	if (w->failed || w->fd < 0)
		goto fail;
	if (put_chunk(w, w->pending.data, w->pending.len,
	    crypto_secretstream_xchacha20poly1305_TAG_FINAL) < 0) {
		log_err("%s spool: write failed: %s", w->id, strerror(errno));
		goto fail;
	}
	if (fsync(w->fd) < 0) {
		log_err("%s spool: fsync failed: %s", w->id, strerror(errno));
		goto fail;
	}
	if (close(w->fd) < 0) {
		w->fd = -1;
		log_err("%s spool: close failed: %s", w->id, strerror(errno));
		goto fail;
	}
	w->fd = -1;
	snprintf(dst, sizeof(dst), "%s/%s", w->sp->dir[w->where], w->id);
	buf_init(&err, 1024);
	if (fs_sync_rename_new(w->tmp, dst, &err) < 0) {
		log_err("%s spool: %s", w->id, buf_cstr(&err));
		buf_free(&err);
		/* the rename may have happened before the dir fsync failed: undo it */
		(void)unlink(dst);
		goto fail;
	}
	buf_free(&err);
	buf_free(&w->pending);
	sodium_memzero(&w->st, sizeof(w->st));
	return OK;
fail:
	spool_abort(w);
	return TEMPFAIL;
}

/*
 * spool_commit_many - group commit: the files of n writers reach the disk
 * with one flush of the file system (syncfs: every dirty page and inode on
 * it, so each file's data and metadata; with one file, fsync as in
 * spool_commit), then each is renamed into place and each directory is
 * fsynced once. results[i] says OK or TEMPFAIL; a failed file is removed.
 * The SMTP server calls this once a loop for every message whose DATA
 * ended, so fifty clients cost one flush instead of fifty.
 */
void
spool_commit_many(struct spool_writer **w, int n, enum result *results)
{
	char dst[PATH_MAX + 32];
	int i, fd = -1, dirs_done[SPOOL_NDIRS] = { 0 };

	for (i = 0; i < n; i++) {
		results[i] = TEMPFAIL;
		if (w[i]->failed || w[i]->fd < 0)
			continue;
		if (put_chunk(w[i], w[i]->pending.data, w[i]->pending.len,
		    crypto_secretstream_xchacha20poly1305_TAG_FINAL) < 0) {
			log_err("%s spool: write failed: %s", w[i]->id, strerror(errno));
			continue;
		}
		results[i] = OK;
		fd = w[i]->fd;
	}
	if (fd >= 0 && (n == 1 ? fsync(fd) : syncfs(fd)) < 0) {
		log_err("%s spool: %s failed: %s", w[0]->id, n == 1 ? "fsync" : "syncfs", strerror(errno));
		for (i = 0; i < n; i++)
			results[i] = TEMPFAIL;
	}
	for (i = 0; i < n; i++) {
		if (results[i] != OK)
			continue;
		if (close(w[i]->fd) < 0) {
			log_err("%s spool: close failed: %s", w[i]->id, strerror(errno));
			results[i] = TEMPFAIL;
		}
		w[i]->fd = -1;
		snprintf(dst, sizeof(dst), "%s/%s", w[i]->sp->dir[w[i]->where], w[i]->id);
		if (results[i] == OK && fs_rename_new(w[i]->tmp, dst) < 0) {
			log_err("%s spool: cannot rename %s to %s: %s", w[i]->id, w[i]->tmp, dst, strerror(errno));
			results[i] = TEMPFAIL;
		}
	}
	/* each directory once: the renames of the whole group become durable together */
	for (i = 0; i < n; i++) {
		if (results[i] != OK || dirs_done[w[i]->where])
			continue;
		snprintf(dst, sizeof(dst), "%s/%s", w[i]->sp->dir[w[i]->where], w[i]->id);
		dirs_done[w[i]->where] = fs_fsync_dir(dst) < 0 ? -1 : 1;
		if (dirs_done[w[i]->where] < 0)
			log_err("%s spool: cannot fsync directory of %s: %s", w[i]->id, dst, strerror(errno));
	}
	for (i = 0; i < n; i++) {
		if (results[i] == OK && dirs_done[w[i]->where] < 0) {
			snprintf(dst, sizeof(dst), "%s/%s", w[i]->sp->dir[w[i]->where], w[i]->id);
			(void)unlink(dst);	/* not known durable: the client hears 451 and sends it again */
			results[i] = TEMPFAIL;
		}
		if (results[i] == OK) {
			buf_free(&w[i]->pending);
			sodium_memzero(&w[i]->st, sizeof(w[i]->st));
		} else
			spool_abort(w[i]);
	}
}

/* spool_abort - throw away an uncommitted file */
void
spool_abort(struct spool_writer *w)
{
	if (w->fd >= 0)
		(void)close(w->fd);
	w->fd = -1;
	if (w->tmp[0])
		(void)unlink(w->tmp);
	w->failed = 1;
	buf_free(&w->pending);
	sodium_memzero(&w->st, sizeof(w->st));
}

/* envelope_add_rcpt - append a recipient */
int
envelope_add_rcpt(struct envelope *e, const char *r)
{
	char **n = realloc(e->rcpts, sizeof(*n) * (size_t)(e->nrcpts + 1));

	if (n == NULL)
		return -1;
	e->rcpts = n;
	if ((e->rcpts[e->nrcpts] = strdup(r)) == NULL)
		return -1;
	e->nrcpts++;
	return 0;
}

/* envelope_free - release */
void
envelope_free(struct envelope *e)
{
	for (int i = 0; i < e->nrcpts; i++)
		free(e->rcpts[i]);
	free(e->rcpts);
	free(e->sender);
	free(e->client);
	free(e->note);
	memset(e, 0, sizeof(*e));
}

/* envelope_parse - read the envelope chunk back */
static int
envelope_parse(struct envelope *e, char *text)
{
	char *line, *save = NULL;

	memset(e, 0, sizeof(*e));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == 0 || line[1] != ' ')
			return -1;
		switch (line[0]) {
		case 'T': e->received = strtoll(line + 2, NULL, 10); break;
		case 'F': free(e->sender); e->sender = strdup(line + 2); break;
		case 'C': free(e->client); e->client = strdup(line + 2); break;
		case 'N': free(e->note); e->note = strdup(line + 2); break;
		case 'R': if (envelope_add_rcpt(e, line + 2) < 0) return -1; break;
		default: return -1;
		}
	}
	if (!e->sender)
		e->sender = strdup("");
	if (!e->note)
		e->note = strdup("");
	return e->sender && e->note ? 0 : -1;
}

/* read_exact - read n bytes or fail */
static int
read_exact(int fd, void *p, size_t n)
{
	ssize_t r;
	char *c = p;

	while (n > 0) {
		if ((r = read(fd, c, n)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * open_header - after the magic: the secretstream state of a file, from its
 * sealed key (MLSPOOL2) or the legacy spool key (MLSPOOL1); 0 or -1 with why
 */
static int
open_header(struct spool *sp, int fd, int v1, crypto_secretstream_xchacha20poly1305_state *st,
    struct buf *why)
{
	unsigned char hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES], sealed[SEALED_LEN];
	unsigned char fk[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	int rc;

	if (sp->keys == NULL)
		return buf_puts(why, "this process holds no secret key (it only writes the spool)"), -1;
	if (!v1 && read_exact(fd, sealed, sizeof(sealed)) < 0)
		return buf_puts(why, "not a spool file"), -1;
	if (read_exact(fd, hdr, sizeof(hdr)) < 0)
		return buf_puts(why, "not a spool file"), -1;
	if (v1)
		memcpy(fk, sp->keys->spool, sizeof(fk));
	else if (crypto_box_seal_open(fk, sealed, sizeof(sealed), sp->keys->spool_pk,
	    sp->keys->spool_sk) != 0)
		return buf_puts(why, "the file key does not open (another instance's key, or altered)"), -1;
	rc = crypto_secretstream_xchacha20poly1305_init_pull(st, hdr, fk);
	sodium_memzero(fk, sizeof(fk));
	return rc == 0 ? 0 : (buf_puts(why, "not a spool file"), -1);
}

/* spool_read - open, authenticate and decrypt a whole file */
int
spool_read(struct spool *sp, enum spool_dir where, const char *id, struct envelope *e,
    struct buf *msg, struct buf *why)
{
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char magic[MAGIC_LEN];
	unsigned char *ct = NULL, *pt = NULL, tag = 0;
	unsigned long long plen;
	char path[PATH_MAX + 32];
	uint32_t be, clen;
	int fd, first = 1, rc = -1;

	memset(e, 0, sizeof(*e));
	snprintf(path, sizeof(path), "%s/%s", sp->dir[where], id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return buf_printf(why, "cannot open: %s", strerror(errno)), -2;
	memset(&st, 0, sizeof(st));
	if (!spool_id_valid(id) || read_exact(fd, magic, MAGIC_LEN) < 0 ||
	    (memcmp(magic, MAGIC, MAGIC_LEN) && memcmp(magic, MAGIC_V1, MAGIC_LEN))) {
		buf_puts(why, "not a spool file");
		goto out;
	}
	if (open_header(sp, fd, memcmp(magic, MAGIC_V1, MAGIC_LEN) == 0, &st, why) < 0)
		goto out;
	/* the envelope chunk may be up to ENV_MAX; message chunks SPOOL_CHUNK */
	if ((ct = malloc(ENV_MAX + ABYTES)) == NULL || (pt = malloc(ENV_MAX + 1)) == NULL)
		goto out;
	while (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
		if (read_exact(fd, &be, 4) < 0) {
			buf_puts(why, "truncated");
			goto out;
		}
		clen = be32toh(be);
		if (clen < ABYTES || clen > (first ? ENV_MAX : SPOOL_CHUNK) + ABYTES) {
			buf_puts(why, "bad chunk length");
			goto out;
		}
		if (read_exact(fd, ct, clen) < 0) {
			buf_puts(why, "truncated");
			goto out;
		}
		if (crypto_secretstream_xchacha20poly1305_pull(&st, pt, &plen, &tag, ct, clen,
		    (const unsigned char *)id, strlen(id)) != 0) {
			buf_puts(why, "authentication failed (altered, truncated or wrong key)");
			goto out;
		}
		if (first) {
			pt[plen] = 0;
			if (envelope_parse(e, (char *)pt) < 0) {
				buf_puts(why, "bad envelope");
				goto out;
			}
			first = 0;
		} else if (buf_append(msg, pt, (size_t)plen) < 0) {
			buf_puts(why, "message too large to load");
			goto out;
		}
	}
	if (first) {
		buf_puts(why, "no envelope");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		envelope_free(e);
	sodium_memzero(&st, sizeof(st));
	free(ct);
	if (pt) {
		sodium_memzero(pt, ENV_MAX + 1);
		free(pt);
	}
	close(fd);
	return rc;
}

/* how many names spool_quarantine tries before it gives up */
#define QUARANTINE_TRIES	1000

/*
 * spool_quarantine - move a file that cannot be read to corrupt/, durably.
 * corrupt/ keeps every file: one already there under the same id (the
 * same file quarantined from incoming/ and again from out/, or an id
 * used twice) is never replaced; this one gets the first free "ID.N".
 */
int
spool_quarantine(struct spool *sp, enum spool_dir where, const char *id)
{
	char src[PATH_MAX + 32], dst[PATH_MAX + 48];
	int i, rc;

	snprintf(src, sizeof(src), "%s/%s", sp->dir[where], id);
	for (i = 0; i < QUARANTINE_TRIES; i++) {
		rc = i == 0 ? snprintf(dst, sizeof(dst), "%s/%s",
		    sp->dir[SPOOL_CORRUPT], id) : snprintf(dst, sizeof(dst),
		    "%s/%s.%d", sp->dir[SPOOL_CORRUPT], id, i);
		if (rc < 0 || (size_t)rc >= sizeof(dst))
			return -1;
		if (fs_rename_new(src, dst) == 0)
			return fs_fsync_dir(dst);
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* spool_remove - delete a file that is done with, durably */
int
spool_remove(struct spool *sp, enum spool_dir where, const char *id)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", sp->dir[where], id);
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return fs_fsync_dir(path);
}

/* spool_exists - is the file there? */
int
spool_exists(struct spool *sp, enum spool_dir where, const char *id)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", sp->dir[where], id);
	return access(path, F_OK) == 0;
}

/* a listed file: its id and when it was written (its arrival) */
struct listed {
	char		*id;
	struct timespec	 at;
};

/* listed_cmp - oldest written first; the same instant: by id */
static int
listed_cmp(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;

	if (x->at.tv_sec != y->at.tv_sec)
		return x->at.tv_sec < y->at.tv_sec ? -1 : 1;
	if (x->at.tv_nsec != y->at.tv_nsec)
		return x->at.tv_nsec < y->at.tv_nsec ? -1 : 1;
	return strcmp(x->id, y->id);
}

/*
 * listable - a name spool_list returns: a queue id, or in corrupt/ a
 * queue id with the ".N" spool_quarantine gives a second file of that id
 */
static int
listable(enum spool_dir where, const char *name)
{
	char id[QID_LEN + 1];
	const char *dot = strchr(name, '.');
	size_t n;

	if (dot == NULL || where != SPOOL_CORRUPT)
		return spool_id_valid(name);
	n = (size_t)(dot - name);
	if (n >= sizeof(id) || dot[1] == 0 ||
	    dot[1 + strspn(dot + 1, "0123456789")] != 0)
		return 0;
	memcpy(id, name, n);
	id[n] = 0;
	return spool_id_valid(id);
}

/*
 * spool_list - queue ids in a directory, oldest first: in the order the
 * files were written (a file here is written once, then renamed in), the
 * id breaking ties. A queue id orders only by the second it was made
 * (then 64 random bits), so two posts to one list in the same second were
 * handled in either order. O(n log n), one fstatat a file; a file gone
 * between readdir and its stat is not listed.
 */
int
spool_list(struct spool *sp, enum spool_dir where, char ***out)
{
	DIR *d;
	struct dirent *de;
	struct listed *l = NULL, *n;
	struct stat st;
	char **ids;
	int cnt = 0;

	*out = NULL;
	if ((d = opendir(sp->dir[where])) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!listable(where, de->d_name) || fstatat(dirfd(d), de->d_name,
		    &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if ((n = realloc(l, sizeof(*l) * (size_t)(cnt + 1))) == NULL)
			break;
		l = n;
		if ((l[cnt].id = strdup(de->d_name)) == NULL)
			break;
		l[cnt++].at = st.st_mtim;
	}
	closedir(d);
	if (cnt)
		qsort(l, (size_t)cnt, sizeof(*l), listed_cmp);
	if ((ids = malloc(sizeof(*ids) * (size_t)(cnt + 1))) == NULL) {
		for (int i = 0; i < cnt; i++)
			free(l[i].id);
		free(l);
		return -1;
	}
	for (int i = 0; i < cnt; i++)
		ids[i] = l[i].id;
	free(l);
	*out = ids;
	return cnt;
}

/* spool_list_free - release a spool_list result */
void
spool_list_free(char **ids, int n)
{
	for (int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* spool_count - number of files in a directory */
int
spool_count(struct spool *sp, enum spool_dir where)
{
	char **ids;
	int n = spool_list(sp, where, &ids);

	spool_list_free(ids, n > 0 ? n : 0);
	return n;
}
