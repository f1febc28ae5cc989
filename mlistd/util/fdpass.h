/* fdpass.h - bytes and open descriptors over a Unix socket, in one message. */
#ifndef MLIST_FDPASS_H
#define MLIST_FDPASS_H

#include <stddef.h>

#define FDPASS_MAX	2	/* descriptors in one message, at the most */

int	fd_send(int sock, const void *p, size_t n, const int *fds, int nfd);
int	fd_recv(int sock, void *p, size_t n, int *fds, int nfd, int flags);

#endif
