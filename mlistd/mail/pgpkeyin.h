/* pgpkeyin.h - a member's OpenPGP key, found in the mail their client sent. */
#ifndef MLIST_PGPKEYIN_H
#define MLIST_PGPKEYIN_H

#include <stddef.h>

#include "mail/openpgp.h"
#include "util/buf.h"

#define PGPKEYIN_KEY_MAX	(64 * 1024)	/* a bigger key is not looked at */
#define PGPKEYIN_DEPTH_MAX	4		/* multipart nesting followed */
#define PGPKEYIN_PARTS_MAX	64		/* parts looked at in all */

/* where the key was, best first: the order in which they are taken */
enum pgpkeyin_shape {
	PGPKEYIN_NONE,
	PGPKEYIN_AUTOCRYPT,	/* Autocrypt: addr=SENDER; keydata=... */
	PGPKEYIN_ATTACHED,	/* an application/pgp-keys part */
	PGPKEYIN_INLINE		/* an armoured block in a text/plain part */
};

struct pgpkeyin {
	struct buf		 key;	/* as openpgp_key_import takes it */
	enum openpgp_format	 fmt;
	enum pgpkeyin_shape	 shape;
	int			 seen;	/* candidates seen (the first is taken) */
	int			 toobig; /* a candidate over PGPKEYIN_KEY_MAX */
};

int	pgpkeyin_find(const void *, size_t, const char *, struct pgpkeyin *);
void	pgpkeyin_free(struct pgpkeyin *);
const char *pgpkeyin_shape_name(enum pgpkeyin_shape);

#endif
