/*
 * msgid.h - the Message-ID of a header block, as the list records it for
 * each copy it writes and reads it back from the copy a DSN returns; the
 * ids of a long References chain that a copy keeps.
 */
#ifndef MLIST_MSGID_H
#define MLIST_MSGID_H

#include <stddef.h>

#define MSGID_MAX	256		/* a longer one is no copy of ours */
#define MSGID_KEEP	(7 * 86400)	/* how long a copy's id is kept */
#define MSGID_CHAIN	40		/* ids of a References chain kept */

int	msgid_of(const char *hdr, size_t len, char *out, size_t n);
int	msgid_chain_kept(int i, int n);
int	msgid_next(const char **at, const char *end, const char **id,
	    size_t *n);

struct buf;
int	msgid_fold(const void *ids, size_t n, struct buf *out);

#endif
