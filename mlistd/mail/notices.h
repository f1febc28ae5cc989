/*
 * notices.h - the texts the list sends to members and moderators.
 *
 * Every notice lives in a file, templates_dir/notices/NAME.txt (a list may
 * override one in templates_dir/notices/LIST/NAME.txt), so an admin can
 * translate or reword them without a rebuild. The table in notices.c names
 * every notice and the placeholders it may use; config_load reads and checks
 * all of them, so a missing file or an unknown placeholder is a
 * configuration error with file:line, never a surprise at send time.
 */
#ifndef MLIST_NOTICES_H
#define MLIST_NOTICES_H

#include "../util/buf.h"

/* one row per notice: the enum, its file name, its own placeholders (see notices.c) */
#define NOTICE_TABLE(X) \
	X(NOTICE_NOT_DISTRIBUTED, "not-distributed", "reason") \
	X(NOTICE_NOT_DELIVERED, "not-delivered", "reason")

#define NOTICE_ENUM(e, name, vars) e,
enum notice_id { NOTICE_TABLE(NOTICE_ENUM) NOTICE_N };
#undef NOTICE_ENUM

struct notice_text {
	char	*subject;
	char	*body;
};

/* the texts of one directory; an absent text (per-list sets) falls back to the instance's */
struct notices {
	struct notice_text	 t[NOTICE_N];
};

/* the placeholders every notice may use, filled by the caller */
struct notice_ctx {
	const char	*list;		/* LIST */
	const char	*host;		/* hostname */
};

int	notices_load(const char *dir, int required, struct notices **, struct buf *errors);
void	notices_free(struct notices *);
const char *notice_name(enum notice_id);
int	notice_render(const struct notices *list, const struct notices *inst, enum notice_id,
	    const struct notice_ctx *, const char *const *vars, struct buf *subject, struct buf *body);

#endif
