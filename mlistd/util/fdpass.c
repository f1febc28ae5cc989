/*
 * fdpass.c - bytes and open descriptors over a Unix socket, in one
 * message (SCM_RIGHTS). The daemon hands smtpd its spool directories this
 * way, and the parser's zygote gets each message's descriptor with its
 * job: one sendmsg/recvmsg pair, so the two cannot part.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "util/fdpass.h"

/*
 * fd_send - the n bytes at p and nfd descriptors (0 to FDPASS_MAX) as one
 * message: 0 when all n bytes went, else -1
 */
int
fd_send(int sock, const void *p, size_t n, const int *fds, int nfd)
{
	char ctl[CMSG_SPACE(FDPASS_MAX * sizeof(int))];
	struct iovec iov = { (void *)p, n };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (nfd < 0 || nfd > FDPASS_MAX)
		return -1;
	if (nfd > 0) {
		memset(ctl, 0, sizeof(ctl));
		h.msg_control = ctl;
		h.msg_controllen = CMSG_SPACE((size_t)nfd * sizeof(int));
		c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfd * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfd * sizeof(int));
	}
	return sendmsg(sock, &h, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/*
 * fd_recv - n bytes into p and the descriptors that came with them, up
 * to nfd (close-on-exec; the others of fds -1): how many came, or -1
 * when the message was not n bytes (EOF, an error)
 */
int
fd_recv(int sock, void *p, size_t n, int *fds, int nfd, int flags)
{
	char ctl[CMSG_SPACE(FDPASS_MAX * sizeof(int))];
	struct iovec iov = { p, n };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t got;
	int k = 0;

	if (nfd < 0 || nfd > FDPASS_MAX)
		return -1;
	for (int i = 0; i < nfd; i++)
		fds[i] = -1;
	h.msg_control = ctl;
	h.msg_controllen = CMSG_SPACE((size_t)nfd * sizeof(int));
	while ((got = recvmsg(sock, &h, MSG_CMSG_CLOEXEC | flags)) < 0 &&
	    errno == EINTR)
		;
	if (got != (ssize_t)n)
		return -1;
	for (c = CMSG_FIRSTHDR(&h); c && k == 0; c = CMSG_NXTHDR(&h, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (k > nfd)
				k = nfd;
			memcpy(fds, CMSG_DATA(c), (size_t)k * sizeof(int));
		}
	return k;
}
