/* tokens.h - mail to LIST-confirm+TOKEN@: one take, then the handler of the token's kind. */
#ifndef MLIST_TOKENS_H
#define MLIST_TOKENS_H

#include "mail/addr.h"
#include "pipeline/pipeline.h"
#include "util/why.h"

int	tokens_handle(struct pipeline *, const struct listaddr *, const struct envelope *,
	    const struct buf *msg, struct why *);

#endif
