/* unlock.h - the locked daemon: getting the master key, waiting for it. */
#ifndef MLIST_UNLOCK_H
#define MLIST_UNLOCK_H

#include "mail/config.h"
#include "mail/keys.h"
#include "mail/spool.h"

/* the queue manager's exit status when there is no key to be had: do not restart, stop */
#define UNLOCK_EXIT_NOKEY	78

struct keys *unlock_wait(const struct config *, struct spool *sealer, int wake_fd, int ask_fd);

#endif
