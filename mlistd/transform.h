/* transform.h - turn an accepted post into the copy the list distributes (plain lists). */
#ifndef MLIST_TRANSFORM_H
#define MLIST_TRANSFORM_H

#include "mail/addr.h"
#include "mail/config.h"
#include "mail/result.h"
#include "util/buf.h"

struct transform_in {
	const struct config	*cfg;
	const struct list_cfg	*list;
	const char		*qid;
	const char		*msg;
	size_t			 len;
	long long		 received;
	int			 intact;	/* signed by the member's own key: no prefix, no footer */
};

/* What the policy stage needs to know, and the rendered copy. */
struct transform_out {
	char		 from[ADDR_MAX + 1];	/* first From: mailbox, "" if none */
	int		 automatic;		/* Auto-Submitted, Precedence: bulk/junk/list, ... */
	int		 bounce;		/* a delivery status report */
	int		 loop;			/* already carries this list's List-Id or X-Loop */
	int		 footer;		/* a footer was added */
	char		 reason[160];		/* why it was refused (PERMFAIL) */
	struct buf	 rendered;
};

int	transform_screen(const char *msg, size_t len, char *why, size_t whylen);
enum result transform_post(const struct transform_in *, struct transform_out *);
void	transform_out_free(struct transform_out *);

#endif
