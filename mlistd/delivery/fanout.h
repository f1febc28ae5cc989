/*
 * fanout.h - the old names of distribute.h, kept as thin wrappers while
 * the branches that call them merge (the lead removes this file).
 */
#ifndef MLIST_FANOUT_H
#define MLIST_FANOUT_H

#include "delivery/distribute.h"

/* fanout_write - see distribute_write */
static inline int
fanout_write(struct pipeline *p, const void *msg, size_t len, const char *note, char id[QID_LEN + 1])
{
	return distribute_write(p, msg, len, note, id);
}

/* fanout_members - see distribute_members */
static inline int
fanout_members(struct pipeline *p, const struct list_cfg *l, const char *id, int *count)
{
	return distribute_members(p, l, id, count);
}

/* fanout_to - see distribute_to */
static inline int
fanout_to(struct pipeline *p, const struct list_cfg *l, const char *id, const char *rcpt, enum envfrom how)
{
	return distribute_to(p, l, id, rcpt, how);
}

/* fanout_notice - see distribute_notice */
static inline int
fanout_notice(struct pipeline *p, const struct list_cfg *l, const char *to, const char *subject,
    const char *body, enum envfrom how)
{
	return distribute_notice(p, l, to, subject, body, how, "", NULL);
}

/* fanout_notice_ex - see distribute_notice */
static inline int
fanout_notice_ex(struct pipeline *p, const struct list_cfg *l, const char *to, const char *subject,
    const char *body, enum envfrom how, const char *extra)
{
	return distribute_notice(p, l, to, subject, body, how, extra, NULL);
}

/* fanout_notice_attach - see distribute_notice */
static inline int
fanout_notice_attach(struct pipeline *p, const struct list_cfg *l, const char *to, const char *subject,
    const char *body, const char *extra, const struct buf *msg)
{
	return distribute_notice(p, l, to, subject, body, ENV_NULL, extra, msg);
}

/* fanout_roles - write msg, then distribute_roles */
static inline int
fanout_roles(struct pipeline *p, const struct list_cfg *l, const void *msg, size_t len, int *count)
{
	char id[QID_LEN + 1];

	if (distribute_write(p, msg, len, l->name, id) < 0)
		return -1;
	return distribute_roles(p, l, id, count);
}

/* fanout_announce - see distribute_announce */
static inline int
fanout_announce(struct pipeline *p, const struct list_cfg *l, const char *subject, const char *body,
    int *count)
{
	return distribute_announce(p, l, subject, body, count);
}

#endif
