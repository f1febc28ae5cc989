/* identity.h - who a post appears to come from, and a copy that reveals nothing else. */
#ifndef MLIST_IDENTITY_H
#define MLIST_IDENTITY_H

#include "pipeline/pipeline.h"
#include "pipeline/transform.h"

#define ID_ROLE	(-1)	/* identity_compose: the list's moderators, as a role */

struct ident {
	int	 mode;		/* enum identity used for this post */
	char	 display[160];	/* the pseudonym, or [anonymous-name] */
	char	 handle[24];	/* LIST+p-HANDLE reaches the author ("" : no private replies) */
	char	 msgid[300];	/* the copy's Message-ID */
	long long date;		/* the copy's Date: (its signatures') */
};

int	identity_mode(struct pipeline *, const struct list_cfg *, const char *poster, int member);
int	identity_pseudonym(struct store *, const struct list_cfg *, const char *addr, char *name, size_t,
	    char *handle, size_t);
/* private_to "~HANDLE": a member's mail to the moderators, answered through LIST-owner+HANDLE@ */
#define IDENTITY_TO_ROLES	'~'

int	identity_compose(struct pipeline *, const struct list_cfg *, const char *poster, int mode, int member,
	    long long received, const char *private_to, const struct transform_out *, struct buf *out,
	    struct ident *);
int	identity_munged_from(struct pipeline *, const struct list_cfg *,
	    const char *poster, int member, struct buf *copy);
void	identity_leader(struct pipeline *, const struct list_cfg *, const char *addr, char *out, size_t n);
void	identity_leader_actor(struct pipeline *, const struct list_cfg *, const char *addr, char *out, size_t n);
int	identity_leaks(struct pipeline *, const struct list_cfg *, const char *poster, const char *env_sender,
	    const struct transform_out *, const struct buf *copy, const struct ident *, char *found, size_t);

#endif
