/*
 * client.c - mlistctl's side of the control socket: connect, send one
 * request, wait for its answer. A daemon that is not running (no socket,
 * or nobody listening on it) is told apart from every other failure, so
 * that mlistctl can say so in one line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/client.h"
#include "control/server.h"

/* the daemon may hold a request while it imports thousands of members */
#define CONTROL_ANSWER_MS	(10 * 60 * 1000)

/* connect_to - a connected socket, or -1 (errno set) */
static int
connect_to(const char *state_dir)
{
	struct sockaddr_un sun;
	int fd, dirfd, saved;

	if (control_sockaddr(state_dir, &sun, &dirfd) < 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		saved = errno;
		(void)close(fd);
		fd = -1;
		errno = saved;
	}
	saved = errno;
	if (dirfd >= 0)
		(void)close(dirfd);
	errno = saved;
	return fd;
}

/*
 * control_call - send argv (argv[0] the verb) and parse the answer into a
 * (its strings point into frame). CONTROL_CALL_OK, _NODAEMON, or _ERR
 * with why.
 */
int
control_call(const char *state_dir, unsigned flags, int argc, char *const argv[],
    struct buf *frame, struct control_ans *a, char *why, size_t n)
{
	const char *w;
	struct buf req;
	int fd, rc = CONTROL_CALL_ERR;

	if ((fd = connect_to(state_dir)) < 0) {
		snprintf(why, n, "%s", strerror(errno));
		return errno == ENOENT || errno == ECONNREFUSED ? CONTROL_CALL_NODAEMON :
		    CONTROL_CALL_ERR;
	}
	buf_init(&req, 0);
	if (control_req_build(&req, flags, argc, argv) < 0)
		snprintf(why, n, "the request is too large (at most %u bytes)", CONTROL_MAX_FRAME);
	/* a refused peer is answered before its request is read: read the answer anyway */
	else if (control_write_all(fd, req.data, req.len, CONTROL_ANSWER_MS) < 0 &&
	    errno != EPIPE)
		snprintf(why, n, "cannot send the request: %s", strerror(errno));
	else if (control_read_frame(fd, frame, CONTROL_ANSWER_MS, &w) < 0 ||
	    control_ans_parse(frame->data, frame->len, a, &w) < 0)
		snprintf(why, n, "no answer from the daemon: %s", w);
	else
		rc = CONTROL_CALL_OK;
	buf_free(&req);
	(void)close(fd);
	return rc;
}
