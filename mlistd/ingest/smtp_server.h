/* smtp_server.h - the listening sockets and the event loop for SMTP/LMTP sessions. */
#ifndef MLIST_SMTP_SERVER_H
#define MLIST_SMTP_SERVER_H

#include "mail/config.h"
#include "mail/spool.h"

#include <signal.h>

struct smtp_server;

enum { SERVER_STOPPED, SERVER_RELOAD, SERVER_CHILD };

/* set from signal handlers */
extern volatile sig_atomic_t smtp_server_stop_flag;
extern volatile sig_atomic_t smtp_server_reload_flag;
extern volatile sig_atomic_t smtp_server_child_flag;

/* The server owns the configurations it is given (it frees them). */
struct smtp_server *smtp_server_new(struct config *, struct spool *, int wake_fd, struct buf *err);
int	smtp_server_run(struct smtp_server *);
void	smtp_server_free(struct smtp_server *);
void	smtp_server_close_listeners(struct smtp_server *);
void	smtp_server_reload(struct smtp_server *, struct config *);

#endif
