/* worker.h - run the transform of untrusted mail in a throw-away, keyless, confined child process. */
#ifndef MLIST_WORKER_H
#define MLIST_WORKER_H

#include "mail/keys.h"
#include "pipeline/transform.h"

int	worker_start(const struct config *, const struct keys *, struct buf *err);
void	worker_stop(void);
int	worker_confine(void);
enum result worker_transform(const struct transform_in *, const struct keys *, struct transform_out *);

/* what opens a post encrypted to the list (pgpin_open.c), sent with the job */
struct worker_pgp {
	const void	*secret;	/* the list's OpenPGP secret key */
	size_t		 secret_len;
	const void	*key;		/* the outer From's key, or NULL */
	size_t		 key_len;
};

enum result worker_transform_pgp(const struct transform_in *,
	    const struct worker_pgp *, const struct keys *,
	    struct transform_out *);

#endif
