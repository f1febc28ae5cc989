/* plain.h - a waiting message's plaintext, read once for all its passes. */
#ifndef MLIST_PLAIN_H
#define MLIST_PLAIN_H

#include "mail/spool.h"
#include "util/buf.h"

int	plain_take(const char *qid, struct envelope *, struct buf *msg);
int	plain_keep(const char *qid, struct envelope *, struct buf *msg);
void	plain_wipe(struct envelope *, struct buf *msg);
void	plain_drop(const char *qid);
void	plain_seen(const char *qid);
void	plain_turn_begin(void);
void	plain_turn_end(void);
void	plain_free_all(void);

#endif
