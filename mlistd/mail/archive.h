/* archive.h - the list's archive: distributed copies, sealed, numbered. */
#ifndef MLIST_ARCHIVE_H
#define MLIST_ARCHIVE_H

#include "config.h"
#include "store.h"

int	archive_distributed(struct store *, const struct list_cfg *, long long now, const void *copy, size_t len);
int	archive_add(struct store *, const struct list_cfg *, long long now, const void *copy, size_t len);

#endif
