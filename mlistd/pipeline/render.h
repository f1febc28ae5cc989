/* render.h - the one writer of what every copy the list composes shares */
#ifndef MLIST_RENDER_H
#define MLIST_RENDER_H

#include <stddef.h>

#include "util/buf.h"

struct config;
struct list_cfg;

#define RENDER_LINE	78	/* RFC 5322 2.1.1: a line SHOULD be no longer */
#define RENDER_BOUNDARY	48	/* render_boundary's out, NUL included */

/*
 * The fields after the From, always in this order: To, Reply-To, Subject,
 * Date, Message-ID, then `between` (fields of this copy's own), then the
 * list's header block when list is set.
 */
struct render_head {
	const char *to;		/* an address, NULL: no To: */
	const char *reply_to;	/* an address, NULL: no Reply-To: */
	const char *subject;	/* the value, already encoded; NULL: field */
	const void *field;	/* or a whole Subject: field (transform) */
	size_t field_len;
	long long date;		/* the copy's time: its release time */
	const char *msgid;	/* with its <>; NULL: none (a sealed part) */
	const char *between;	/* CRLF-ended fields, NULL none */
	const struct config *cfg;
	const struct list_cfg *list;	/* NULL: the caller writes its own */
};

int	render_head(struct buf *, const struct render_head *);
void	render_list_headers(const struct config *, const struct list_cfg *,
	    struct buf *);
void	render_clean(struct buf *, const char *);
int	render_field(struct buf *, const char *name, const char *value);
int	render_fold(struct buf *, const void *field, size_t len);
int	render_date(struct buf *, long long t);
void	render_boundary(const char *kind, char *out, size_t n);
int	render_mixed(struct buf *, const char *boundary);
int	render_text(struct buf *, const char *text);
int	render_text_part(struct buf *, const char *boundary, const char *desc,
	    const char *text);

#endif
