/*
 * distribute.h - the one writer of delivery rows: who gets which bytes.
 *
 * distribute_class is the decision, a pure function of the list's
 * settings and a recipient's facts; everything else here applies it.
 */
#ifndef MLIST_DISTRIBUTE_H
#define MLIST_DISTRIBUTE_H

#include "mail/notices.h"
#include "pipeline/pipeline.h"

enum envfrom { ENV_GROUPED, ENV_VERP, ENV_NULL };

/* the class of copy a recipient gets, recorded on its delivery row */
enum dclass {
	DCLASS_NONE = 0,	/* no row */
	DCLASS_PLAIN = 1,	/* the copy as rendered */
	DCLASS_OPENPGP = 2,	/* PGP/MIME to the member's key, encrypted at send time */
	DCLASS_ONECLICK = 3,	/* with the member's own List-Unsubscribe, signed again */
	DCLASS_NOTICE = 4	/* a notice instead of the copy (keyless, encryption required) */
};

/* what a copy is */
enum audience {
	AUD_POST,		/* a post (or announcement) to the members who take posts */
	AUD_DIGEST,		/* a digest to the members who take digests */
	AUD_ROLES,		/* mail to the owners and moderators */
	AUD_ANSWER,		/* a post sent to one member who asked (archive get) */
	AUD_PRIVATE		/* private mail relayed to one member */
};

/* what distribute knows of a member (the DFACT_* bits of store.h) */
struct dfacts {
	int	keyed;		/* has registered an encryption key */
	int	nomail, digest;
	int	disabled;	/* delivery stopped by bounces */
	int	leader;		/* owner or moderator */
};

enum dclass distribute_class(const struct list_cfg *, enum audience, const struct dfacts *);
void	distribute_table(const struct list_cfg *, enum audience, char table[DFACT_COMBOS + 1]);
long long distribute_release(const struct list_cfg *, long long now);
const char *distribute_class_name(enum dclass);

int	distribute_write(struct pipeline *, const void *msg, size_t len, const char *note,
	    char id[QID_LEN + 1]);
void	distribute_unwrite(struct pipeline *, const char *id);
int	distribute_members(struct pipeline *, const struct list_cfg *, const char *id, int *count);
int	distribute_roles(struct pipeline *, const struct list_cfg *, const char *id, int *count);
int	distribute_roles_copy(struct pipeline *, const struct list_cfg *, const void *msg, size_t len,
	    int *count);
int	distribute_digest(struct pipeline *, const struct list_cfg *, const char *id,
	    long long joined_after, long long joined_upto, int *count);
int	distribute_to(struct pipeline *, const struct list_cfg *, const char *id, const char *rcpt,
	    enum envfrom);
int	distribute_private(struct pipeline *, const struct list_cfg *,
	    const char *id, const char *to, enum envfrom how);
/* a file attached to a notice: its bytes, its part's header lines (NULL: a message) */
struct dfile {
	const struct buf	*data;
	const char		*head;
	int			 pgp_sign;	/* signed by the list key */
};

int	distribute_notice_file(struct pipeline *, const struct list_cfg *, const char *to,
	    const char *subject, const char *body, enum envfrom, const char *extra,
	    const struct dfile *);
int	distribute_notice_tmpl_file(struct pipeline *, const struct list_cfg *, const char *to,
	    enum notice_id, const char *const *vars, enum envfrom, const char *extra,
	    const struct dfile *);
int	distribute_notice(struct pipeline *, const struct list_cfg *, const char *to,
	    const char *subject, const char *body, enum envfrom, const char *extra,
	    const struct buf *attach);
int	distribute_announce(struct pipeline *, const struct list_cfg *, const char *subject,
	    const char *body, int *count);

int	distribute_notice_head(struct pipeline *, const struct list_cfg *,
	    const char *from, const char *to, const char *subject,
	    const char *extra, const char *rnd, struct buf *);

/* the same from the templates (mail/notices.h): vars are name, value pairs, NULL-terminated */
int	distribute_render(struct pipeline *, const struct list_cfg *, enum notice_id,
	    const char *const *vars, struct buf *subject, struct buf *body);
int	distribute_notice_tmpl(struct pipeline *, const struct list_cfg *, const char *to,
	    enum notice_id, const char *const *vars, enum envfrom, const char *extra,
	    const struct buf *attach);
int	distribute_announce_tmpl(struct pipeline *, const struct list_cfg *, enum notice_id,
	    const char *const *vars, int *count);
int	distribute_announce_role_tmpl(struct pipeline *,
	    const struct list_cfg *, enum notice_id, const char *const *vars,
	    int *count);

#endif
