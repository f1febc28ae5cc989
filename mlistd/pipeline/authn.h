/* authn.h - who sent this message, and how sure the list is of it. */
#ifndef MLIST_AUTHN_H
#define MLIST_AUTHN_H

#include <poll.h>

#include "mail/dmarc.h"
#include "mail/result.h"
#include "pipeline/pipeline.h"
#include "util/why.h"

/* lowest first: each level includes those below it */
enum authn_level {
	AUTHN_CLAIM,		/* the From: header says so, nothing more */
	AUTHN_MAILBOX,		/* the member's mailbox answered a token */
	AUTHN_DKIM,		/* DKIM-verified and aligned with the From domain */
	AUTHN_OWN_KEY		/* signed with the member's own key */
};

struct authn {
	enum authn_level level;
	char		 domain[256];	/* the From domain the level is about ("" none) */
	char		 from[320];	/* AUTHN_DKIM: the From mailbox */
	char		 member[320];	/* AUTHN_OWN_KEY: the member whose key signed */
	int		 automatic;	/* an auto-reply, <>, bulk: it never acts */
	int		 reject_failed;	/* p=reject domain, and this mail failed DMARC */
	char		 reason[256];	/* the cause, with domains: never logged */
};

/* the queue manager's own: the resolver and the instance-wide answer budget */
struct authn_state;

enum result authn_check(struct pipeline *, const struct envelope *, const struct buf *msg,
	    struct authn *, struct why *);
/* look-ups out while the loop goes on (authn.c): the queue manager's */
int	authn_busy(struct pipeline *, const char *qid);
int	authn_pollfds(struct pipeline *, struct pollfd *, int max, int *ms);
int	authn_service(struct pipeline *);
int	authn_automatic(const struct envelope *, const struct buf *msg);
void	authn_own_key(struct authn *, const char *member);
int	authn_vouches(const struct authn *, const char *addr);
const char *authn_notice_to(const struct authn *, const char *addr);
int	authn_may_answer(struct pipeline *, const struct authn *, const char *to);
int	authn_may_confirm(struct pipeline *, const struct authn *,
	    const char *member);
int	authn_may_reply(struct pipeline *, const struct authn *,
	    const char *to);
const char *authn_level_name(enum authn_level);
int	authn_held_note(struct pipeline *, const struct list_cfg *,
	    const struct authn *, const char *poster, struct buf *);

#endif
