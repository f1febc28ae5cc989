/* policy.h - may this post be distributed? */
#ifndef MLIST_POLICY_H
#define MLIST_POLICY_H

#include "mail/notices.h"
#include "mail/spool.h"
#include "pipeline/authn.h"
#include "pipeline/pipeline.h"
#include "pipeline/transform.h"

enum verdict { V_DISTRIBUTE, V_HOLD, V_CONFIRM, V_REFUSE, V_DROP, V_TEMPFAIL };

struct decision {
	enum verdict	 verdict;
	const char	*reason;	/* for the log: loop, non-member, ... */
	const char	*poster;	/* the address the policy judged */
	int		 member;	/* poster is a member of the list */
	int		 own_signed;	/* the member's own key signed it: distribute it intact */
	/* what the sender is told: a notice (NOTICE_N = nothing) and its placeholder */
	enum notice_id	 notice;
	const char	*var;		/* the placeholder's name, or NULL */
	char		 arg[1000];	/* ... and its value */
};

/* what the author signature on an incoming post says */
struct authorship {
	char		*signed_by;	/* the member whose own key signed it, or NULL */
	int		 present;	/* the post carries an author signature */
	int		 replay;	/* ... one this list has seen before */
	char		 why[160];	/* why a signature present did not count */
	enum reason_id	 reason;	/* ... as the code a member is told */
	char		 other[256];	/* list id of REASON_SIG_OTHER_LIST */
};

int	policy_author(struct pipeline *, const struct list_cfg *,
	    const struct buf *msg, struct authorship *);
void	policy_plain_from(const struct buf *msg, char *out, size_t n);
int	policy_screen_post(struct pipeline *, const struct list_cfg *,
	    const struct envelope *, const struct buf *msg,
	    const struct authorship *, const struct authn *, char *from,
	    size_t fromlen, struct decision *);
void	policy_check_post(struct pipeline *, const struct list_cfg *, const struct envelope *,
	    const struct transform_out *, const struct authorship *, const struct authn *,
	    size_t size, struct decision *);
void	policy_count_post(struct pipeline *, const struct list_cfg *, const char *poster);

#endif
