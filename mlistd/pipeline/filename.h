/* filename.h - attachment names: decoded, cleaned, written back. */
#ifndef MLIST_FILENAME_H
#define MLIST_FILENAME_H

#include "util/buf.h"

struct mailmime;

void	filename_of(const struct mailmime *, char *out, size_t n);
void	filename_param(struct buf *out, const char *param, const char *name);
void	filename_2047(struct buf *out, const char *param, const char *name);

#endif
