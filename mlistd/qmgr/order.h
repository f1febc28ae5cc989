/* order.h - a list's mail in arrival order; other lists pass a waiting one. */
#ifndef MLIST_ORDER_H
#define MLIST_ORDER_H

#include "mail/config.h"
#include "mail/spool.h"
#include "util/buf.h"

struct order;

struct order *order_new(void);
void	order_free(struct order *);
void	order_turn_begin(struct order *);
void	order_turn_end(struct order *);
int	order_lists(const struct config *, const struct envelope *,
	    struct buf *);
int	order_has(const struct buf *set, const char *list);
int	order_blocked(const struct order *, const struct buf *lists);
int	order_meet(const struct buf *set, const struct buf *lists);
const struct buf *order_known(struct order *, const char *qid);
int	order_wait(struct order *, const char *qid, const struct buf *lists);
int	order_wait_dns(struct order *, const char *qid,
	    const struct buf *lists, long long max_ms);
void	order_done(struct order *, const char *qid);

#endif
