/*
 * fsutil.c - the durable-write primitives everything else uses.
 *
 * The order is the one Postfix's mail_stream uses: write, fsync the file,
 * rename into place, fsync the directory. Only after the directory fsync
 * is a new name guaranteed to survive a crash. Every return value is
 * checked, close() included.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

/* fs_write_all - write everything or fail */
int
fs_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0)
			return errno = EIO, -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * fs_write_new - a new file at path (never an old one: O_EXCL) holding the
 * n bytes at p, fsynced and closed; on failure none is left, the cause is
 * in err and errno is what the failing call set (EEXIST: it was there)
 */
int
fs_write_new(const char *path, const void *p, size_t n, int mode,
    struct buf *err)
{
	const char *what = "write";
	int fd, e;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) < 0)
		what = "create";
	else if (fs_write_all(fd, p, n) == 0 && fsync(fd) == 0) {
		if (close(fd) == 0)
			return 0;
		fd = -1;
	}
	e = errno;
	if (fd >= 0)
		(void)close(fd);
	if (strcmp(what, "write") == 0)
		(void)unlink(path);
	buf_printf(err, "cannot %s %s: %s", what, path, strerror(e));
	errno = e;
	return -1;
}

/* fs_fsync_dir - fsync the directory that holds path */
int
fs_fsync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc, saved;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return errno = ENAMETOOLONG, -1;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	if (close(fd) < 0 && rc == 0)
		return -1;
	errno = saved;
	return rc;
}

/* sync_dir_after - the rename's result; on success the directory fsynced */
static int
sync_dir_after(int renamed, const char *tmp, const char *dst, struct buf *err)
{
	if (renamed < 0) {
		if (err)
			buf_printf(err, "cannot rename %s to %s: %s", tmp, dst, strerror(errno));
		return -1;
	}
	if (fs_fsync_dir(dst) < 0) {
		if (err)
			buf_printf(err, "cannot fsync directory of %s: %s", dst, strerror(errno));
		return -1;
	}
	return 0;
}

/* fs_sync_rename - rename a written, fsynced file into place, then fsync the directory */
int
fs_sync_rename(const char *tmp, const char *dst, struct buf *err)
{
	return sync_dir_after(rename(tmp, dst), tmp, dst, err);
}

/*
 * fs_rename_new - rename, but never over an existing file (EEXIST): a queue
 * file or a delivered copy must not silently replace another one. Where the
 * file system lacks RENAME_NOREPLACE, link + unlink gives the same promise.
 */
int
fs_rename_new(const char *tmp, const char *dst)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(tmp, dst) < 0)
		return -1;
	return unlink(tmp);
}

/* fs_sync_rename_new - fs_rename_new, then fsync the directory */
int
fs_sync_rename_new(const char *tmp, const char *dst, struct buf *err)
{
	return sync_dir_after(fs_rename_new(tmp, dst), tmp, dst, err);
}

/* fs_write_atomic - write a whole file under a temp name, fsync, rename */
int
fs_write_atomic(const char *path, const void *p, size_t n, int excl, struct buf *err)
{
	char tmp[PATH_MAX];

	if (excl && access(path, F_OK) == 0) {
		buf_printf(err, "%s already exists", path);
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return buf_printf(err, "%s: path too long", path), -1;
	if (fs_write_new(tmp, p, n, 0640, err) < 0)
		return -1;
	if (fs_sync_rename(tmp, path, err) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* fs_read_file - whole file into a buffer (bounded by the buffer's cap) */
int
fs_read_file(const char *path, struct buf *out, struct buf *err)
{
	char chunk[8192];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (err)
			buf_printf(err, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_append(out, chunk, (size_t)n) < 0) {
			if (err)
				buf_printf(err, "cannot read %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/* fs_mkdir_p - make a directory and its parents */
int
fs_mkdir_p(const char *path, int mode)
{
	char copy[PATH_MAX], *p;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return errno = ENAMETOOLONG, -1;
	for (p = copy + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(copy, (mode_t)mode) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	if (mkdir(copy, (mode_t)mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* rm_one - nftw's callback: remove what it is given */
static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

/* fs_rm_tree - a directory and all below it, gone (symlinks not followed) */
void
fs_rm_tree(const char *dir)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
