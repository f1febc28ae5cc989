/* notify.h - a rate-limited notice to the sender of a message. */
#ifndef MLIST_NOTIFY_H
#define MLIST_NOTIFY_H

#include "mail/notices.h"
#include "pipeline/pipeline.h"

int	notify_sender(struct pipeline *, const struct list_cfg *, const char *to, const char *subject,
	    const char *text);
int	notify_sender_tmpl(struct pipeline *, const struct list_cfg *, const char *to,
	    enum notice_id, const char *const *vars);
int	notify_post_tmpl(struct pipeline *, const struct list_cfg *,
	    const char *to, enum notice_id, const char *const *vars);

#endif
