/*
 * smtp_server.c - accept connections and run every session from one poll loop.
 *
 * Non-blocking sockets; a session never waits on one client, so a slow or
 * stalled peer costs a file descriptor and a small buffer, nothing more.
 * Reading stops while a session has too many replies unsent (a pipelining
 * flood cannot grow memory). Idle clients are cut off after
 * command_timeout (data_timeout inside DATA). Connections beyond
 * max_connections get 421 at once.
 *
 * On reload the new configuration serves new sessions; old sessions keep
 * the one they started with (refcounted) until they end. On stop the
 * listeners close, sessions in DATA may finish, the rest get 421.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ingest/http.h"
#include "ingest/peeruid.h"
#include "ingest/tls.h"
#include "ingest/smtp_server.h"
#include "ingest/smtp_session.h"
#include "util/log.h"

#define OUT_HIGH_WATER	65536
#define READ_CHUNK	65536

struct cfgref {
	struct config	*cfg;
	int		 refs;
};

struct conn {
	int		 fd;
	time_t		 last;
	struct cfgref	*ref;
	struct smtp_session s;
	gnutls_session_t tls;		/* NULL: clear text */
	int		 handshaking;
	int		 listener;
	time_t		 record_start;	/* when the line now arriving began (0: none pending) */
	time_t		 born;		/* accepted at (the session deadline) */
	int		 dead;		/* found finished in this loop's read pass */
};

struct smtp_server {
	struct cfgref	*cur;
	struct spool	*spool;
	int		*lfd;
	int		*llmtp;
	struct tls_server **ltls;	/* per listener: NULL, or its certificate */
	int		 ntls;
	int		*lreq;		/* per listener: require_tls */
	int		*lfront;	/* per listener: behind_mta */
	long		*lmta;		/* per listener: mta_user's uid; -1 */
	int		 nl;
	struct conn	**conns;
	int		 nconns;
	int		 cap;
	int		 wake_fd;
	int		 stopping;
};

volatile sig_atomic_t smtp_server_stop_flag;
volatile sig_atomic_t smtp_server_reload_flag;
volatile sig_atomic_t smtp_server_child_flag;

/* ref_put - drop a reference to a configuration */
static void
ref_put(struct smtp_server *srv, struct cfgref *r)
{
	if (--r->refs == 0 && r != srv->cur) {
		config_free(r->cfg);
		free(r);
	}
}

/* listen_on - one non-blocking listening socket */
static int
listen_on(const char *addr, int port, struct buf *err)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	int fd, on = 1, v6 = strchr(addr, ':') != NULL;

	if ((fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return buf_printf(err, "socket: %s", strerror(errno)), -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	s4.sin_family = AF_INET;
	s4.sin_port = htons((uint16_t)port);
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons((uint16_t)port);
	if ((v6 ? inet_pton(AF_INET6, addr, &s6.sin6_addr) : inet_pton(AF_INET, addr, &s4.sin_addr)) != 1) {
		close(fd);
		return buf_printf(err, "listen address %s is not an IP address", addr), -1;
	}
	if ((v6 ? bind(fd, (struct sockaddr *)&s6, sizeof(s6)) : bind(fd, (struct sockaddr *)&s4, sizeof(s4))) < 0 ||
	    listen(fd, 1024) < 0) {
		buf_printf(err, "cannot listen on %s port %d: %s", addr, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* mta_uid - listen[].mta_user's uid; -1 unset (config.c checked it) */
static long
mta_uid(const char *user)
{
	struct passwd *pw;

	if (user == NULL || *user == 0)
		return -1;
	if ((pw = getpwnam(user)) == NULL) {
		/* config.c found it: gone since, so nobody is the MTA */
		log_warn("NOQUEUE smtpd: mta_user %s: no such user", user);
		return -2;
	}
	return (long)pw->pw_uid;
}

/*
 * mta_peer - may listener l's client on fd be the MTA in front? Yes
 * unless mta_user names it and the client's uid on this host is
 * another's: any user reaches a loopback port, and the MTA's
 * Authentication-Results would make them any member.
 */
static int
mta_peer(const struct smtp_server *srv, int l, int fd, const char *peer)
{
	long uid;

	if (srv->lmta[l] == -1)
		return 1;
	if (peeruid_of(fd, &uid) == 0 && uid == srv->lmta[l])
		return 1;
	log_warn("NOQUEUE smtpd: client=%s uid=%ld on the listener behind the "
	    "MTA is not mta_user: its Authentication-Results are not "
	    "believed", peer, uid);
	return 0;
}

/* smtp_server_new - bind every listener of the configuration */
struct smtp_server *
smtp_server_new(struct config *cfg, struct spool *sp, int wake_fd, struct buf *err)
{
	struct smtp_server *srv = calloc(1, sizeof(*srv));
	int i;

	if (!srv || (srv->cur = calloc(1, sizeof(*srv->cur))) == NULL ||
	    (srv->lfd = calloc((size_t)cfg->nlisten, sizeof(int))) == NULL ||
	    (srv->llmtp = calloc((size_t)cfg->nlisten, sizeof(int))) == NULL ||
	    (srv->ltls = calloc((size_t)cfg->nlisten, sizeof(*srv->ltls))) == NULL ||
	    (srv->lreq = calloc((size_t)cfg->nlisten, sizeof(int))) == NULL ||
	    (srv->lfront = calloc((size_t)cfg->nlisten, sizeof(int))) == NULL ||
	    (srv->lmta = calloc((size_t)cfg->nlisten, sizeof(long))) == NULL)
		abort();
	srv->ntls = cfg->nlisten;
	srv->cur->cfg = cfg;
	srv->cur->refs = 1;
	srv->spool = sp;
	srv->wake_fd = wake_fd;
	for (i = 0; i < cfg->nlisten; i++) {
		if ((srv->lfd[i] = listen_on(cfg->listen[i].address, cfg->listen[i].port, err)) < 0) {
			srv->nl = i;
			smtp_server_free(srv);
			return NULL;
		}
		srv->llmtp[i] = cfg->listen[i].lmtp;
		srv->lreq[i] = cfg->listen[i].require_tls;
		srv->lfront[i] = cfg->listen[i].behind_mta;
		srv->lmta[i] = mta_uid(cfg->listen[i].mta_user);
		if (srv->lfront[i] && srv->lmta[i] == -1)
			log_warn("NOQUEUE smtpd: %s port %d is behind_mta "
			    "without mta_user: any user of a host that "
			    "reaches it can write the MTA's "
			    "Authentication-Results", cfg->listen[i].address,
			    cfg->listen[i].port);
		if (*cfg->listen[i].tls_cert &&
		    (srv->ltls[i] = tls_server_new(cfg->listen[i].tls_cert, cfg->listen[i].tls_key, err)) == NULL) {
			srv->nl = i + 1;
			smtp_server_free(srv);
			return NULL;
		}
		log_info("NOQUEUE smtpd: listening on %s port %d protocol=%s%s", cfg->listen[i].address,
		    cfg->listen[i].port, cfg->listen[i].lmtp == PROTO_HTTP ? "http" : cfg->listen[i].lmtp ? "lmtp" : "smtp",
		    srv->ltls[i] ? srv->lreq[i] ? " starttls=required" : " starttls=offered" : "");
	}
	srv->nl = cfg->nlisten;
	return srv;
}

/* smtp_server_reload - new sessions use cfg from now on (listeners stay) */
void
smtp_server_reload(struct smtp_server *srv, struct config *cfg)
{
	struct cfgref *old = srv->cur, *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		log_err("NOQUEUE smtpd: reload: out of memory");
		config_free(cfg);
		return;
	}
	n->cfg = cfg;
	n->refs = 1;
	srv->cur = n;
	ref_put(srv, old);
}

/* conn_close - end a connection */
static void
conn_close(struct smtp_server *srv, int i)
{
	struct conn *c = srv->conns[i];

	smtp_session_free(&c->s);
	if (c->tls)
		tls_close(c->tls);
	close(c->fd);
	ref_put(srv, c->ref);
	free(c);
	srv->conns[i] = srv->conns[--srv->nconns];
}

/* client_connections - sessions open now from this peer address (linear: max_connections bounds it) */
static int
client_connections(const struct smtp_server *srv, const char *peer)
{
	int n = 0;

	for (int i = 0; i < srv->nconns; i++)
		n += strcmp(srv->conns[i]->s.peer, peer) == 0;
	return n;
}

/* accept_one - a new client on listener l */
static void
accept_one(struct smtp_server *srv, int l)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char peer[64] = "unknown";
	struct conn *c;
	int fd, on = 1, front;
	static const char busy[] = "421 4.7.0 Too many connections; try again later\r\n";
	static const char busy_client[] = "421 4.7.0 Too many connections from your address; try again later\r\n";

	if ((fd = accept4(srv->lfd[l], (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("NOQUEUE smtpd: accept: %s", strerror(errno));
		return;
	}
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, peer, sizeof(peer));
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, peer, sizeof(peer));
	if (srv->nconns >= srv->cur->cfg->max_connections) {
		log_info("NOQUEUE smtpd: client=%s reason=too-many-connections result=tempfail", peer);
		(void)!write(fd, busy, sizeof(busy) - 1);
		close(fd);
		return;
	}
	front = srv->lfront[l] && mta_peer(srv, l, fd, peer);
	/*
	 * One client cannot take every slot (Postfix's smtpd_client_connection_count_limit).
	 * LMTP listeners are exempt: there the only client is the MTA in
	 * front, on loopback (with mta_user, only that user's connections:
	 * another user of the host is held to the limit).
	 */
	if ((srv->llmtp[l] != PROTO_LMTP || (srv->lmta[l] != -1 && !front)) &&
	    client_connections(srv, peer) >=
	    srv->cur->cfg->max_client_connections) {
		log_info("NOQUEUE smtpd: client=%s reason=too-many-connections-from-client result=tempfail", peer);
		(void)!write(fd, busy_client, sizeof(busy_client) - 1);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (srv->nconns == srv->cap) {
		int ncap = srv->cap ? srv->cap * 2 : 64;
		struct conn **n = realloc(srv->conns, sizeof(*n) * (size_t)ncap);

		if (n == NULL) {
			close(fd);
			return;
		}
		srv->conns = n;
		srv->cap = ncap;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->last = c->born = time(NULL);
	c->ref = srv->cur;
	c->ref->refs++;
	smtp_session_init(&c->s, c->ref->cfg, srv->spool, srv->llmtp[l], peer);
	c->s.tls_offer = srv->ltls[l] != NULL;
	c->s.group_commit = 1;
	c->s.require_tls = srv->lreq[l];
	c->s.behind_mta = front;
	c->listener = l;
	srv->conns[srv->nconns++] = c;
}

/* conn_write - send pending replies; -1 if the connection is dead */
static int
conn_write(struct conn *c)
{
	ssize_t n;

	if (c->handshaking)
		return 0;
	while (c->s.out.len > 0) {
		if (c->tls) {
			if ((n = tls_send(c->tls, c->s.out.data, c->s.out.len)) == TLS_AGAIN)
				return 0;
		} else if ((n = send(c->fd, c->s.out.data, c->s.out.len, MSG_NOSIGNAL)) < 0 &&
		    (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n < 0)
			return -1;
		buf_consume(&c->s.out, (size_t)n);
	}
	return 0;
}

/* conn_read - read and process; -1 when the connection is finished */
static int
conn_read(struct smtp_server *srv, struct conn *c)
{
	unsigned char chunk[READ_CHUNK];
	ssize_t n;
	int before = c->s.committed;

	if (c->handshaking)
		return 0;
	if (c->tls) {
		if ((n = tls_recv(c->tls, chunk, sizeof(chunk))) == TLS_AGAIN)
			return 0;
		if (n < 0) {
			log_info("NOQUEUE smtpd: client=%s reason=tls-error result=tempfail", c->s.peer);
			return -1;
		}
	} else if ((n = recv(c->fd, chunk, sizeof(chunk), 0)) < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0) {
		if (c->s.state == SS_DATA)
			log_info("NOQUEUE smtpd: client=%s reason=disconnect-in-data result=tempfail",
			    c->s.peer);
		return -1;
	}
	c->last = time(NULL);
	if (c->s.lmtp == PROTO_HTTP)
		http_input(&c->s, chunk, (size_t)n);
	else
		smtp_session_input(&c->s, chunk, (size_t)n);
	/* the record deadline: a line (or HTTP request) begun must end within the timeout */
	if (c->s.lmtp == PROTO_HTTP ? c->s.data.len == 0 : c->s.in.linelen == 0)
		c->record_start = 0;
	else if (c->record_start == 0)
		c->record_start = c->last;
	if (c->s.committed != before && srv->wake_fd >= 0)
		(void)!write(srv->wake_fd, "w", 1);	/* nudge the queue manager; non-blocking */
	return 0;
}

/* check_timeouts - cut off idle clients */
static void
check_timeouts(struct conn *c, time_t now)
{
	const struct config *cfg = c->ref->cfg;
	int limit = c->s.state == SS_DATA ? cfg->data_timeout : cfg->command_timeout;

	/*
	 * idle too long, or one line taking too long to arrive (slowloris: a
	 * byte now and then keeps a connection from being idle, not a line
	 * from being late; Postfix's smtpd_per_record_deadline)
	 */
	if (!c->s.close_after && (now - c->last > limit || (c->record_start && now - c->record_start > limit)))
		(c->s.lmtp == PROTO_HTTP ? http_timeout : smtp_session_timeout)(&c->s);
	/* and deadlines no trickle can stretch: the whole DATA, the whole session */
	else if (!c->s.close_after && c->s.lmtp != PROTO_HTTP && ((c->s.state == SS_DATA &&
	    now - c->s.data_start > cfg->data_deadline) || now - c->born > cfg->session_timeout))
		smtp_session_deadline(&c->s, c->s.state == SS_DATA ? "data" : "session");
}

/*
 * tls_step - STARTTLS: once the 220 is out, the handshake begins, and runs
 * as the socket allows; -1 ends the connection.
 */
static int
tls_step(struct smtp_server *srv, struct conn *c)
{
	char why[200], desc[100];
	int r;

	if (c->s.tls_start && !c->tls && c->s.out.len == 0) {
		if ((c->tls = tls_accept(srv->ltls[c->listener], c->fd)) == NULL)
			return -1;
		c->handshaking = 1;
	}
	if (!c->handshaking)
		return 0;
	if ((r = tls_handshake(c->tls, why, sizeof(why))) < 0) {
		log_info("NOQUEUE smtpd: client=%s reason=tls-handshake (%s) result=tempfail", c->s.peer, why);
		return -1;
	}
	if (r == 1) {
		c->handshaking = 0;
		smtp_session_tls_started(&c->s);
		tls_describe(c->tls, desc, sizeof(desc));
		log_info("NOQUEUE smtpd: client=%s starttls=%s", c->s.peer, desc);
	}
	return 0;
}

/* smtp_server_run - the loop; returns to reload, or when stopped and all sessions are done */
int
smtp_server_run(struct smtp_server *srv)
{
	struct pollfd *pfd = NULL;
	struct smtp_session **commit = NULL;
	int i, n, np, cap = 0, ncommit, commitcap = 0, busy = 0;
	time_t now;

	for (;;) {
		if ((smtp_server_reload_flag || smtp_server_child_flag) && !srv->stopping) {
			free(pfd);
			free(commit);
			return smtp_server_child_flag ? SERVER_CHILD : SERVER_RELOAD;
		}
		if (smtp_server_stop_flag && !srv->stopping) {
			srv->stopping = 1;
			for (i = 0; i < srv->nl; i++)
				close(srv->lfd[i]);
			srv->nl = 0;
			log_info("NOQUEUE smtpd: stopping; %d session(s) open", srv->nconns);
		}
		if (srv->stopping) {
			for (i = 0; i < srv->nconns; i++)
				if (srv->conns[i]->s.lmtp == PROTO_HTTP && !srv->conns[i]->s.close_after)
					srv->conns[i]->s.close_after = 1;
				else if (srv->conns[i]->s.state != SS_DATA && !srv->conns[i]->s.close_after)
					smtp_session_shutdown(&srv->conns[i]->s);
			if (srv->nconns == 0)
				break;
		}
		if (cap < srv->nl + srv->nconns) {
			cap = (srv->nl + srv->nconns) * 2 + 16;
			if ((pfd = realloc(pfd, sizeof(*pfd) * (size_t)cap)) == NULL)
				abort();
		}
		np = 0;
		for (i = 0; i < srv->nl; i++) {
			pfd[np].fd = srv->lfd[i];
			pfd[np++].events = POLLIN;
		}
		for (i = 0; i < srv->nconns; i++) {
			struct conn *c = srv->conns[i];

			pfd[np].fd = c->fd;
			pfd[np].events = 0;
			if (c->handshaking)
				pfd[np].events = tls_wants_write(c->tls) ? POLLOUT : POLLIN;
			else {
				/*
				 * A session waiting for its commit is not read (as Postfix and
				 * OpenSMTPD do): a client pipelining behind DATA waits in its
				 * socket buffer, not in our memory. It is committed in the next
				 * turn, so that turn must not sleep.
				 */
				if (!c->s.close_after && c->s.out.len < OUT_HIGH_WATER && c->s.state != SS_COMMIT)
					pfd[np].events |= POLLIN;
				if (c->s.out.len)
					pfd[np].events |= POLLOUT;
				if (c->s.state == SS_COMMIT)
					busy = 1;
			}
			np++;
		}
		n = poll(pfd, (nfds_t)np, busy ? 0 : 1000);
		busy = 0;
		if (n < 0 && errno != EINTR) {
			log_err("NOQUEUE smtpd: poll: %s", strerror(errno));
			break;
		}
		now = time(NULL);
		/* connections first: read everything that came */
		ncommit = 0;
		for (i = 0; i < srv->nconns; i++) {
			struct conn *c = srv->conns[i];
			short re = n > 0 ? pfd[srv->nl + i].revents : 0;

			c->dead = 0;
			if (c->handshaking && (srv->stopping || now - c->last > c->ref->cfg->command_timeout))
				c->dead = 1;	/* a handshake that stalls, or the daemon stopping: no reply is possible */
			else if (c->handshaking && (re & (POLLIN | POLLOUT | POLLHUP | POLLERR))) {
				c->last = now;
				c->dead = tls_step(srv, c) < 0;
			} else if (re & (POLLIN | POLLHUP | POLLERR)) {
				c->dead = conn_read(srv, c) < 0;
				/* GnuTLS may hold whole records poll() cannot see */
				while (!c->dead && c->tls && !c->handshaking && tls_pending(c->tls) && !c->s.close_after &&
				    c->s.state != SS_COMMIT)
					c->dead = conn_read(srv, c) < 0;
			}
			if (!c->dead)
				check_timeouts(c, now);
			if (!c->dead && c->s.state == SS_COMMIT) {
				if (ncommit == commitcap) {
					commitcap = commitcap ? commitcap * 2 : 64;
					if ((commit = realloc(commit, sizeof(*commit) * (size_t)commitcap)) == NULL)
						abort();
				}
				commit[ncommit++] = &c->s;
			}
		}
		/* then every message whose DATA ended, made durable together: one flush, then the 250s */
		if (ncommit > 0) {
			int before = 0, after = 0;

			for (i = 0; i < ncommit; i++)
				before += commit[i]->committed;
			smtp_session_commit_group(commit, ncommit);
			for (i = 0; i < ncommit; i++)
				after += commit[i]->committed;
			if (after != before && srv->wake_fd >= 0)
				(void)!write(srv->wake_fd, "w", 1);	/* nudge the queue manager; non-blocking */
		}
		/* then the replies (indices shift when one closes: walk backwards) */
		for (i = srv->nconns - 1; i >= 0; i--) {
			struct conn *c = srv->conns[i];
			int dead = c->dead;

			if (!dead && conn_write(c) < 0)
				dead = 1;
			if (!dead && c->s.tls_start && !c->tls)
				dead = tls_step(srv, c) < 0;	/* the 220 is out: begin */
			if (dead || (c->s.close_after && c->s.out.len == 0))
				conn_close(srv, i);
		}
		for (i = 0; n > 0 && i < srv->nl; i++)
			if (pfd[i].revents & POLLIN)
				for (int k = 0; k < 64; k++) {
					int before = srv->nconns;

					accept_one(srv, i);
					if (srv->nconns == before)
						break;
				}
	}
	free(pfd);
	free(commit);
	return SERVER_STOPPED;
}

/* smtp_server_close_listeners - for a forked child: hold neither the ports nor the clients */
void
smtp_server_close_listeners(struct smtp_server *srv)
{
	for (int i = 0; i < srv->nl; i++)
		close(srv->lfd[i]);
	srv->nl = 0;
	for (int i = 0; i < srv->nconns; i++)
		close(srv->conns[i]->fd);
}

/* smtp_server_free - close everything */
void
smtp_server_free(struct smtp_server *srv)
{
	int i;

	while (srv->nconns > 0)
		conn_close(srv, srv->nconns - 1);
	for (i = 0; i < srv->nl; i++)
		close(srv->lfd[i]);
	free(srv->conns);
	free(srv->lfd);
	free(srv->llmtp);
	for (i = 0; i < srv->ntls; i++)
		tls_server_free(srv->ltls[i]);
	free(srv->ltls);
	free(srv->lreq);
	free(srv->lfront);
	free(srv->lmta);
	if (srv->cur && --srv->cur->refs == 0) {
		config_free(srv->cur->cfg);
		free(srv->cur);
	}
	free(srv);
}
