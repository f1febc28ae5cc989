/* fanout.h - a rendered copy and one delivery per recipient. */
#ifndef MLIST_FANOUT_H
#define MLIST_FANOUT_H

#include "pipeline/pipeline.h"

enum envfrom { ENV_GROUPED, ENV_VERP, ENV_NULL };

int	fanout_write(struct pipeline *, const void *msg, size_t len, const char *note, char id[QID_LEN + 1]);
int	fanout_members(struct pipeline *, const struct list_cfg *, const char *id, int *count);
int	fanout_to(struct pipeline *, const struct list_cfg *, const char *id, const char *rcpt,
	    enum envfrom);
int	fanout_notice(struct pipeline *, const struct list_cfg *, const char *to, const char *subject,
	    const char *body, enum envfrom);
int	fanout_notice_ex(struct pipeline *, const struct list_cfg *, const char *to, const char *subject,
	    const char *body, enum envfrom, const char *extra_headers);
int	fanout_roles(struct pipeline *, const struct list_cfg *, const void *msg, size_t len, int *count);

int	fanout_notice_attach(struct pipeline *, const struct list_cfg *, const char *to, const char *subject,
	    const char *body, const char *extra, const struct buf *msg);

int	fanout_announce(struct pipeline *, const struct list_cfg *, const char *subject, const char *body, int *count);

#endif
