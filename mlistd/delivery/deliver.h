/* deliver.h - run due deliveries: batches, parallel relay connections, retries. */
#ifndef MLIST_DELIVER_H
#define MLIST_DELIVER_H

#include "mail/config.h"
#include "mail/spool.h"
#include "mail/store.h"

/* called for each recipient the relay refused for good (5xx) */
typedef void (*deliver_failed_fn)(const char *list, const char *rcpt, void *arg);

/* a run of what is due, sent by threads of its own; the caller goes on */
int	deliver_start(const struct config *, struct store *, struct spool *, long long now);
/* finished runs recorded (all, waiting for them, if wait) */
int	deliver_reap(struct spool *, int wait, deliver_failed_fn, void *arg);
int	deliver_pollfd(void);
int	deliver_out(void);
int	deliver_prune(const struct config *, struct store *);
int	deliver_journal_replay(const struct config *, struct store *);
int	deliver_settle(const struct config *, struct store *, int max_wait);
/* results the database refused: backing off */
int	deliver_backlog(void);
int	deliver_result_blocks(const char *qid, const unsigned char *hash, long long now);
int	deliver_maildir(const char *dir, const char *rcpt, const unsigned char *msg, size_t len,
	    char *err, size_t errlen);

#endif
