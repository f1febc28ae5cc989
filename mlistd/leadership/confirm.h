/* confirm.h - post_auth = "confirm": a held post goes out when its author's mailbox says so. */
#ifndef MLIST_CONFIRM_H
#define MLIST_CONFIRM_H

#include "mail/addr.h"
#include "pipeline/pipeline.h"

#define CONFIRM_DAYS	7

int	confirm_request(struct pipeline *, const struct list_cfg *, const char *poster, const struct buf *copy,
	    const char *why,
	    char id[QID_LEN + 1]);
int	confirm_token(struct pipeline *, const struct list_cfg *, const char *kind, const char *out_id,
	    const void *bound, size_t blen, const char *addr, long long expires, char token[41], char *replyto,
	    size_t rlen);
int	confirm_post(struct pipeline *, const struct list_cfg *, const struct store_token *,
	    const struct buf *msg);

#endif
