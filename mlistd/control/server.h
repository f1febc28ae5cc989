/* server.h - the control socket in the queue manager: mlistctl's changing verbs. */
#ifndef MLIST_CONTROL_SERVER_H
#define MLIST_CONTROL_SERVER_H

#include "control/proto.h"
#include "pipeline/pipeline.h"

#include <poll.h>

#define CONTROL_SOCKET	"control"	/* in state_dir */
#define CONTROL_MAX_CONNS	16	/* at once; more wait to be accepted */

struct control_conn;

struct control {
	int		 fd;		/* listening, non-blocking; -1 none */
	int		 dirfd;		/* state_dir, when its path is too long for sun_path */
	char		 path[4200];
	/* open, non-blocking (control_work) */
	struct control_conn *conn[CONTROL_MAX_CONNS];
	int		 nconn;
};

int	control_listen(struct control *, const char *state_dir, struct buf *err);
void	control_close(struct control *);
/* the locked daemon's requests (actions/unlock.c): fn answers one request, returns its status */
typedef int (*control_fn)(struct control_req *, struct buf *out, struct buf *err, void *arg);
void	control_serve_fn(struct control *, control_fn, void *arg);
int	control_sockaddr(const char *state_dir, void *sun, int *dirfd);
/* the queue manager's: every connection non-blocking, with its own deadline */
void	control_work(struct control *, control_fn, void *arg);
void control_work_actions(struct control *, struct pipeline *, struct config **,
    const char *config_path);
int	control_pollfds(struct control *, struct pollfd *, int max, int *ms);

#endif
