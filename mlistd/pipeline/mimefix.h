/* mimefix.h - broken MIME structure repaired as mail clients read it. */
#ifndef MLIST_MIMEFIX_H
#define MLIST_MIMEFIX_H

#include "util/buf.h"

int	mimefix(const char *msg, size_t len, size_t body_off, const char *top_ct, struct buf *out);

#endif
