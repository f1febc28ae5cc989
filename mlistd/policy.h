/* policy.h - may this post be distributed? */
#ifndef MLIST_POLICY_H
#define MLIST_POLICY_H

#include "mail/spool.h"
#include "pipeline.h"
#include "transform.h"

enum verdict { V_DISTRIBUTE, V_HOLD, V_REFUSE, V_DROP };

struct decision {
	enum verdict	 verdict;
	const char	*reason;	/* for the log: loop, non-member, ... */
	const char	*poster;	/* the address the policy judged */
	int		 member;	/* poster is a member of the list */
	char		 notice[600];	/* what the sender is told ("" = nothing) */
};

void	policy_check_post(struct pipeline *, const struct list_cfg *, const struct envelope *,
	    const struct transform_out *, size_t size, struct decision *);
void	policy_count_post(struct pipeline *, const struct list_cfg *, const char *poster);

#endif
