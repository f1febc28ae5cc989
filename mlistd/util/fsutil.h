/* fsutil.h - durable file operations (fsync, atomic rename). */
#ifndef MLIST_FSUTIL_H
#define MLIST_FSUTIL_H

#include <stddef.h>

#include "buf.h"

int	fs_fsync_dir(const char *path_in_dir);
int	fs_sync_rename(const char *tmp, const char *dst, struct buf *err);
int	fs_rename_new(const char *tmp, const char *dst);
int	fs_sync_rename_new(const char *tmp, const char *dst, struct buf *err);
int	fs_write_atomic(const char *path, const void *, size_t, int excl, struct buf *err);
int	fs_read_file(const char *path, struct buf *out, struct buf *err);
int	fs_mkdir_p(const char *path, int mode);
int	fs_write_all(int fd, const void *, size_t);
int	fs_write_new(const char *path, const void *, size_t, int mode,
	    struct buf *err);
void	fs_rm_tree(const char *dir);

#endif
