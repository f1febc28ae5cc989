/*
 * msgid.h - the Message-ID of a header block, as the list records it for
 * each copy it writes and reads it back from the copy a DSN returns.
 */
#ifndef MLIST_MSGID_H
#define MLIST_MSGID_H

#include <stddef.h>

#define MSGID_MAX	256		/* a longer one is no copy of ours */
#define MSGID_KEEP	(7 * 86400)	/* how long a copy's id is kept */

int	msgid_of(const char *hdr, size_t len, char *out, size_t n);

#endif
