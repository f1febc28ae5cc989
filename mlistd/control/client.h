/* client.h - one request to the daemon's control socket and its answer (for mlistctl). */
#ifndef MLIST_CONTROL_CLIENT_H
#define MLIST_CONTROL_CLIENT_H

#include "control/proto.h"

/* control_call results */
enum { CONTROL_CALL_OK = 0, CONTROL_CALL_NODAEMON = -1, CONTROL_CALL_ERR = -2 };

int	control_call(const char *state_dir, unsigned flags, int argc, char *const argv[],
	    struct buf *frame, struct control_ans *, char *why, size_t);

#endif
