/*
 * peeruid.c - which user of this host opened a loopback TCP connection:
 * the uid the kernel shows for the client's end in /proc/net/tcp (tcp6),
 * as identd reads it. TCP carries no credentials (SO_PEERCRED is for UNIX
 * sockets), and a listener on 127.0.0.1 is reached by every user of the
 * host: the listener behind the MTA (behind_mta) believes a client's
 * Authentication-Results only when it is the MTA's own user
 * (listen[].mta_user, checked in smtp_server.c).
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ingest/peeruid.h"

/* an end of a connection as /proc/net/tcp* prints it: words, port */
struct end {
	uint32_t	w[4];
	unsigned	port;
};

/* end_of - a socket address as the kernel prints it; 0, -1 not IP */
static int
end_of(const struct sockaddr_storage *ss, struct end *e, int *v6)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	memset(e, 0, sizeof(*e));
	if (ss->ss_family == AF_INET) {
		/* the kernel prints the address's raw word: compare raw */
		memcpy(&e->w[0], &s4->sin_addr, 4);
		e->port = ntohs(s4->sin_port);
		*v6 = 0;
		return 0;
	}
	if (ss->ss_family != AF_INET6)
		return -1;
	memcpy(e->w, &s6->sin6_addr, 16);
	e->port = ntohs(s6->sin6_port);
	*v6 = 1;
	return 0;
}

/* parse_end - "0100007F:1F90" (or 32 hex digits) into e; 0, -1 */
static int
parse_end(const char *s, int v6, struct end *e)
{
	unsigned x;
	int n, k = v6 ? 4 : 1;

	memset(e, 0, sizeof(*e));
	for (int i = 0; i < k; i++) {
		if (sscanf(s, "%8x%n", &x, &n) != 1 || n != 8)
			return -1;
		e->w[i] = x;
		s += 8;
	}
	return sscanf(s, ":%4x", &e->port) == 1 ? 0 : -1;
}

/* same - one end equal to another */
static int
same(const struct end *a, const struct end *b)
{
	return a->port == b->port && memcmp(a->w, b->w, sizeof(a->w)) == 0;
}

/*
 * scan - the uid of the socket whose local end is client and remote end
 * server (the client's side of our connection); 0, -1 not found
 */
static int
scan(FILE *f, int v6, const struct end *client, const struct end *server,
    long *uid)
{
	char line[512], l[64], r[64];
	struct end le, re;
	long u;

	if (fgets(line, sizeof(line), f) == NULL)	/* the column names */
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%*s %63s %63s %*s %*s %*s %*s %ld", l, r,
		    &u) != 3 || parse_end(l, v6, &le) < 0 ||
		    parse_end(r, v6, &re) < 0)
			continue;
		if (same(&le, client) && same(&re, server)) {
			*uid = u;
			return 0;
		}
	}
	return -1;
}

/*
 * peeruid_of - the uid of the process that opened the TCP connection fd
 * from this host; 0, or -1 (not found: another host, or gone)
 */
int
peeruid_of(int fd, long *uid)
{
	struct sockaddr_storage ps, ls;
	socklen_t pl = sizeof(ps), ll = sizeof(ls);
	struct end client, server;
	int v6, v6b, rc;
	FILE *f;

	*uid = -1;
	if (getpeername(fd, (struct sockaddr *)&ps, &pl) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ls, &ll) < 0 ||
	    end_of(&ps, &client, &v6) < 0 || end_of(&ls, &server, &v6b) < 0 ||
	    v6 != v6b)
		return -1;
	if ((f = fopen(v6 ? "/proc/net/tcp6" : "/proc/net/tcp", "re")) == NULL)
		return -1;
	rc = scan(f, v6, &client, &server, uid);
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}
