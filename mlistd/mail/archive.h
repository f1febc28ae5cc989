/* archive.h - the list's archive: distributed copies, sealed, numbered. */
#ifndef MLIST_ARCHIVE_H
#define MLIST_ARCHIVE_H

#include "config.h"
#include "store.h"

/* who is asking, for the disclosure rules */
enum { READER_ANYONE = 1, READER_MEMBER = 2, READER_MODERATOR = 3 };

int	who_allows(int rule, int reader);
int	archive_distributed(struct store *, const struct list_cfg *, long long now, const void *copy, size_t len);
int	archive_add(struct store *, const struct list_cfg *, long long now, const void *copy, size_t len);
int	archive_allowed(const struct list_cfg *, int reader, long long member_since, long long *since);
const char *archive_refusal(const struct list_cfg *);

#endif
