/* mimefix.h - broken MIME structure repaired as mail clients read it. */
#ifndef MLIST_MIMEFIX_H
#define MLIST_MIMEFIX_H

#include "util/buf.h"

int	mimefix(const char *, size_t, size_t body_off, const char *top_ct,
	    struct buf *);

#endif
