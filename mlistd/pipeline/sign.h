/* sign.h - the list signs every copy it sends (DKIM, Ed25519). */
#ifndef MLIST_SIGN_H
#define MLIST_SIGN_H

#include "pipeline/pipeline.h"

int	sign_author(struct pipeline *, const struct list_cfg *, const char *author, struct buf *msg);
int	sign_copy(struct pipeline *, const struct list_cfg *, struct buf *msg);

struct ident;

int	sign_author_as(struct pipeline *, const struct list_cfg *,
	    const char *author, const struct ident *, struct buf *msg);
int	sign_both(struct pipeline *, const struct list_cfg *,
	    const char *author, const struct ident *, struct buf *msg);
struct openpgp_secret;

/* a pseudonym's key librnp cannot make, rename or sign with: no retry */
#define SIGN_KEY_BROKEN	(-2)

int	sign_pseudonym(struct pipeline *, const struct list_cfg *,
	    const struct ident *, struct buf *msg);
int	sign_pseudonym_key(struct pipeline *, const struct list_cfg *,
	    const struct ident *, struct openpgp_secret **);

int	sign_pseudonym_key_of(struct store *, const struct list_cfg *,
	    const char *host, const void *copy, size_t len,
	    struct openpgp_secret **, char *addr, size_t);
int	sign_pseudonym_key_by_handle(struct store *, const struct list_cfg *,
	    const char *handle, struct openpgp_secret **);
int	sign_pseudonym_key_by_name(struct store *, const struct list_cfg *,
	    const char *name, struct openpgp_secret **);
int	sign_pseudonym_uid(const struct config *, const struct list_cfg *,
	    const char *name, const char *handle, char *uid, size_t);
int	sign_pseudonym_public(struct store *, const struct list_cfg *,
	    const char *name, struct buf *armored, char fpr[41]);

#define SIGN_ROLE	"\001role"	/* sign_author's author: the list's moderators */

void	sign_role_seed(struct pipeline *, const struct list_cfg *, unsigned char seed[32]);

#endif
