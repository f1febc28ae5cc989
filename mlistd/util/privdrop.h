/* privdrop.h - start as root, run as an unprivileged user. */
#ifndef MLIST_PRIVDROP_H
#define MLIST_PRIVDROP_H

#include <sys/types.h>

#include "buf.h"

int	priv_user(const char *user, uid_t *, gid_t *, struct buf *err);
int	priv_drop(const char *user, struct buf *err);
int	priv_become(uid_t, gid_t, const char *name, struct buf *err);
int	priv_chown(const char *path, const char *user, struct buf *err);
int	priv_owner_ok(const char *path, const char *user, struct buf *err);

#endif
