/*
 * server.c - the control socket: STATE_DIR/control, a UNIX stream socket
 * made by the queue manager (which owns the store), mode 0600. Each
 * connection's peer is checked with SO_PEERCRED - root or the daemon's
 * own uid, anything else is refused and logged - then one request is read
 * (bounded in size and time), run as one action in one transaction
 * (actions.c) and answered.
 *
 * In the queue manager's loop (control_work) every connection is
 * non-blocking with its own buffer and deadline: its request is read as
 * its bytes come, the action runs once the whole frame is in, and the
 * answer is written as the peer takes it. A slow or silent peer, or one
 * that never reads its answer, holds up nobody and is dropped after
 * CONTROL_TIMEOUT_MS for its request, as many again for its answer. An
 * action that answers later (a backup, written by a child) leaves its
 * connection waiting on the action's descriptor, for as long as it takes. At
 * most CONTROL_MAX_CONNS are open; more wait in the listen queue. The
 * locked daemon (actions/unlock.c) serves one connection at a time
 * (control_serve_fn): it has nothing else to do.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "actions/actions.h"
#include "control/proto.h"
#include "control/server.h"
#include "util/log.h"
#include "util/mono.h"

/*
 * control_sockaddr - the socket's address; a state_dir too long for
 * sun_path is reached through /proc/self/fd (its fd into *dirfd, else -1).
 * 0, or -1.
 */
int
control_sockaddr(const char *state_dir, void *sunp, int *dirfd)
{
	struct sockaddr_un *sun = sunp;
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	*dirfd = -1;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s", state_dir, CONTROL_SOCKET);
	if (n > 0 && (size_t)n < sizeof(sun->sun_path))
		return 0;
	if ((*dirfd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "/proc/self/fd/%d/%s", *dirfd,
	    CONTROL_SOCKET);
	return n > 0 && (size_t)n < sizeof(sun->sun_path) ? 0 : -1;
}

/* control_listen - make the socket; 0, or -1 with why in err */
int
control_listen(struct control *c, const char *state_dir, struct buf *err)
{
	struct sockaddr_un sun;
	mode_t old;
	int r;

	c->fd = -1;
	c->nconn = 0;
	snprintf(c->path, sizeof(c->path), "%s/%s", state_dir, CONTROL_SOCKET);
	if (control_sockaddr(state_dir, &sun, &c->dirfd) < 0) {
		buf_printf(err, "%s: %s", c->path, strerror(errno));
		return -1;
	}
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		buf_printf(err, "socket: %s", strerror(errno));
		return -1;
	}
	/* a socket left by a daemon that died: only one queue manager runs (qmgr.lock) */
	if (unlink(c->path) < 0 && errno != ENOENT) {
		buf_printf(err, "cannot remove the old %s: %s", c->path, strerror(errno));
		control_close(c);
		return -1;
	}
	old = umask(0177);
	r = bind(c->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || chmod(c->path, 0600) < 0 || listen(c->fd, 8) < 0) {
		buf_printf(err, "%s: %s", c->path, strerror(errno));
		control_close(c);
		return -1;
	}
	return 0;
}

static void conn_close(struct control *, int);

/* control_close - stop listening; mlistctl then finds no socket: "not running" */
void
control_close(struct control *c)
{
	while (c->nconn > 0)
		conn_close(c, 0);
	if (c->fd >= 0 && unlink(c->path) < 0)
		log_warn("NOQUEUE control: cannot remove %s: %s", c->path, strerror(errno));
	if (c->fd >= 0 && close(c->fd) < 0)
		log_warn("NOQUEUE control: close: %s", strerror(errno));
	if (c->dirfd >= 0)
		(void)close(c->dirfd);
	c->fd = c->dirfd = -1;
}

/* peer_ok - root or the daemon's own uid */
static int
peer_ok(int fd, long *uid)
{
	struct ucred cr;
	socklen_t n = sizeof(cr);

	*uid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &n) < 0)
		return 0;
	*uid = (long)cr.uid;
	return cr.uid == 0 || cr.uid == geteuid();
}

/* answer - the answer frame; a peer that does not read it is dropped */
static void
answer(int fd, int status, struct buf *out, struct buf *err)
{
	struct buf frame;

	buf_init(&frame, 0);
	if (control_ans_build(&frame, status, out, err) < 0 ||
	    control_write_all(fd, frame.data, frame.len, CONTROL_TIMEOUT_MS) < 0)
		log_warn("NOQUEUE control: the answer could not be sent: %s", strerror(errno));
	buf_free(&frame);
}

/* refuse - answer a peer that may not ask, then let its request drain away */
static void
refuse(int fd, long uid)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct buf out, err;
	char sink[4096];
	int chunks = 16;

	log_warn("NOQUEUE control: refused a connection from uid %ld (only root and the "
	    "daemon's user may) result=permfail", uid);
	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_puts(&err, "the control socket refuses this user: run mlistctl as root or as "
	    "the daemon's user\n");
	answer(fd, CONTROL_FAILED, &out, &err);
	/* closing with its bytes unread would reset the connection before it reads the answer */
	if (shutdown(fd, SHUT_WR) == 0)
		while (chunks-- > 0 && poll(&pfd, 1, 100) > 0 && read(fd, sink, sizeof(sink)) > 0)
			;
	buf_free(&out);
	buf_free(&err);
}

/* the action that answers later, from run to conn_run */
struct later {
	int	  fd;
	int	(*fn)(void *, struct buf *, struct buf *);
	void	 *arg;
};
static struct later later;

/* run - one parsed request: its action, its log line */
static int
run(struct pipeline *p, struct config **cfgp, const char *config_path,
    struct control_req *r, struct buf *out, struct buf *err)
{
	struct act_ctx a = { .p = p, .actor = "operator", .out = out, .err = err };
	const char *list = actions_list_arg(r->argc, r->argv);
	int rc;

	a.json = (r->flags & CONTROL_F_JSON) != 0;
	a.emergency = (r->flags & CONTROL_F_EMERGENCY) != 0;
	/* a list made by 'mlistctl list create' a moment ago: its SIGHUP may not be here yet */
	if (list && !config_list_find(p->cfg, list))
		pipeline_reload(p, cfgp, config_path, "control");
	p->now = (long long)time(NULL);
	rc = actions_run(&a, r->argc, r->argv);
	if (a.reload)
		pipeline_reload(p, cfgp, config_path, "control");
	if (a.wait_fn && rc == ACT_DONE) {
		later = (struct later){ a.wait_fd, a.wait_fn, a.wait_arg };
		rc = ACT_LATER;
	}
	/* the verb and the list, never an address or a pseudonym */
	log_info("NOQUEUE control: %s list=%s status=%d result=%s", r->argv[0],
	    list ? list : "-", rc, rc == ACT_DONE || rc == ACT_REQUESTED ||
	    rc == ACT_LATER ? "ok" : "permfail");
	return rc;
}

struct serve_arg {
	struct pipeline	*p;
	struct config	**cfgp;
	const char	*config_path;
};

/* serve_action - an unlocked daemon's request: an action */
static int
serve_action(struct control_req *r, struct buf *out, struct buf *err, void *arg)
{
	struct serve_arg *a = arg;

	return run(a->p, a->cfgp, a->config_path, r, out, err);
}

/* control_serve_fn - one connection: peer check, one request, fn's answer */
void
control_serve_fn(struct control *c, control_fn fn, void *arg)
{
	struct control_req r;
	struct buf in, out, err;
	const char *why;
	long uid;
	int fd, rc;

	if ((fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("NOQUEUE control: accept: %s", strerror(errno));
		return;
	}
	buf_init(&in, 0);
	buf_init(&out, 0);
	buf_init(&err, 0);
	if (!peer_ok(fd, &uid))
		refuse(fd, uid);
	else if (control_read_frame(fd, &in, CONTROL_TIMEOUT_MS, &why) < 0 ||
	    control_req_parse(in.data, in.len, &r, &why) < 0) {
		log_warn("NOQUEUE control: bad request: %s result=permfail", why);
		buf_printf(&err, "bad request: %s\n", why);
		answer(fd, CONTROL_USAGE, &out, &err);
	} else {
		rc = fn(&r, &out, &err, arg);
		answer(fd, rc < 0 ? CONTROL_FAILED : rc, &out, &err);
	}
	if (close(fd) < 0)
		log_warn("NOQUEUE control: close: %s", strerror(errno));
	buf_free(&in);
	buf_free(&out);
	buf_free(&err);
}

/* one connection of the queue manager's, between accept and close */
struct control_conn {
	int		 fd;
	enum { CONN_READ, CONN_WAIT, CONN_WRITE, CONN_DRAIN } state;
	struct later	 wait;		/* CONN_WAIT: whose answer, from where */
	unsigned char	 head[4];
	size_t		 got;		/* bytes of head, then of the frame */
	long		 want;		/* the frame's length; -1 not known */
	struct buf	 in, out;	/* the request; the answer frame */
	size_t		 sent;
	struct timespec	 deadline;
};

/* left_ms - ms until t, 0 if past */
static int
left_ms(struct timespec t)
{
	long long ms = mono_ms_until(t);

	if (ms < 0)
		return 0;
	return ms > CONTROL_TIMEOUT_MS ? CONTROL_TIMEOUT_MS : (int)ms;
}

/* conn_close - the i-th connection, closed and forgotten */
static void
conn_close(struct control *c, int i)
{
	struct control_conn *k = c->conn[i];

	if (close(k->fd) < 0)
		log_warn("NOQUEUE control: close: %s", strerror(errno));
	buf_free(&k->in);
	buf_free(&k->out);
	free(k);
	c->conn[i] = c->conn[--c->nconn];
}

/* conn_answer - the answer to write from now on, within its own deadline */
static void
conn_answer(
    struct control_conn *k, int status, struct buf *out, struct buf *err)
{
	buf_reset(&k->out);
	if (control_ans_build(&k->out, status, out, err) < 0)
		log_warn("NOQUEUE control: the answer could not be built");
	k->sent = 0;
	k->state = CONN_WRITE;
	k->deadline = mono_in_ms(CONTROL_TIMEOUT_MS);
}

/* conn_accept - waiting connections, as there is room; refused ones answered */
static void
conn_accept(struct control *c)
{
	struct control_conn *k;
	struct buf out, err;
	long uid;
	int fd;

	while (c->nconn < CONTROL_MAX_CONNS && (fd = accept4(c->fd, NULL,
	    NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if ((k = calloc(1, sizeof(*k))) == NULL) {
			log_warn("NOQUEUE control: out of memory; "
			    "connection dropped");
			(void)close(fd);
			continue;
		}
		k->fd = fd;
		k->want = -1;
		buf_init(&k->in, 0);
		buf_init(&k->out, 0);
		k->deadline = mono_in_ms(CONTROL_TIMEOUT_MS);
		c->conn[c->nconn++] = k;
		if (peer_ok(fd, &uid))
			continue;
		log_warn("NOQUEUE control: refused a connection from uid %ld "
		    "(only root and the daemon's user may) result=permfail",
		    uid);
		buf_init(&out, 0);
		buf_init(&err, 0);
		buf_puts(&err, "the control socket refuses this user: run "
		    "mlistctl as root or as the daemon's user\n");
		conn_answer(k, CONTROL_FAILED, &out, &err);
		/* after the answer: drain its request, never run it */
		k->want = -2;
		buf_free(&out);
		buf_free(&err);
	}
}

/* conn_run - the whole request is in: parsed, run, its answer queued */
static void
conn_run(struct control_conn *k, control_fn fn, void *arg)
{
	struct control_req r;
	struct buf out, err;
	const char *why;
	int rc;

	buf_init(&out, 0);
	buf_init(&err, 0);
	if (control_req_parse(k->in.data, k->in.len, &r, &why) < 0) {
		log_warn(
		    "NOQUEUE control: bad request: %s result=permfail", why);
		buf_printf(&err, "bad request: %s\n", why);
		conn_answer(k, CONTROL_USAGE, &out, &err);
	} else if ((rc = fn(&r, &out, &err, arg)) == ACT_LATER) {
		k->wait = later;
		k->state = CONN_WAIT;
	} else
		conn_answer(k, rc < 0 ? CONTROL_FAILED : rc, &out, &err);
	buf_free(&out);
	buf_free(&err);
}

/* conn_wait - a later answer, if it is there now */
static void
conn_wait(struct control_conn *k)
{
	struct buf out, err;
	int rc;

	buf_init(&out, 0);
	buf_init(&err, 0);
	if ((rc = k->wait.fn(k->wait.arg, &out, &err)) != ACT_LATER)
		conn_answer(k, rc < 0 ? CONTROL_FAILED : rc, &out, &err);
	buf_free(&out);
	buf_free(&err);
}

/* conn_read - what the peer has sent; 0 go on, -1 drop it (with why) */
static int
conn_read(struct control_conn *k, const char **why)
{
	unsigned char *to;
	size_t room;
	ssize_t n;

	for (;;) {
		if (k->want < 0) {
			to = k->head + k->got;
			room = 4 - k->got;
		} else {
			to = k->in.data + k->got;
			room = (size_t)k->want - k->got;
		}
		if (room == 0)
			return 0;
		if ((n = read(k->fd, to, room)) < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			*why = n == 0 ? "the peer closed before its request "
			    "was whole" : strerror(errno);
			return -1;
		}
		k->got += (size_t)n;
		if (k->want >= 0 || k->got < 4)
			continue;
		if ((k->want = control_frame_len(k->head)) < 0) {
			*why = "frame too large";
			return -1;
		}
		if (buf_reserve(&k->in, (size_t)k->want + 1) < 0) {
			*why = "out of memory";
			return -1;
		}
		k->got = 0;
	}
}

/* conn_write - what the peer takes of the answer; 1 all sent, 0 not yet, -1 */
static int
conn_write(struct control_conn *k)
{
	ssize_t n;

	while (k->sent < k->out.len) {
		if ((n = send(k->fd, k->out.data + k->sent,
			 k->out.len - k->sent, MSG_NOSIGNAL)) < 0 &&
		    errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		k->sent += (size_t)n;
	}
	return 1;
}

/*
 * conn_drain - a refused peer's request read away (closing with bytes
 * unread would reset the connection before the answer is read)
 */
static int
conn_drain(struct control_conn *k)
{
	char sink[4096];
	ssize_t n;

	while ((n = read(k->fd, sink, sizeof(sink))) > 0)
		;
	return n == 0 ||
	    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		errno != EINTR);
}

/* conn_step - a connection as far as it goes now; 1 finished (close), 0 not */
static int
conn_step(struct control_conn *k, control_fn fn, void *arg)
{
	const char *why = NULL;
	int w;

	if (k->state == CONN_READ) {
		if (conn_read(k, &why) < 0) {
			log_warn(
			    "NOQUEUE control: bad request: %s result=permfail",
			    why);
			return 1;
		}
		if (k->want >= 0 && k->got == (size_t)k->want) {
			k->in.len = (size_t)k->want;
			conn_run(k, fn, arg);
		}
	}
	if (k->state == CONN_WAIT)
		conn_wait(k);
	if (k->state == CONN_WRITE) {
		if ((w = conn_write(k)) < 0) {
			log_warn(
			    "NOQUEUE control: the answer could not be sent: %s",
			    strerror(errno));
			return 1;
		}
		if (w == 0)
			return 0;
		if (k->want != -2 || shutdown(k->fd, SHUT_WR) < 0)
			return 1;
		k->state = CONN_DRAIN;
		k->deadline = mono_in_ms(100 * 16);
	}
	return k->state == CONN_DRAIN ? conn_drain(k) : 0;
}

/* control_work - new connections, then each as far as it goes; never blocks */
void
control_work(struct control *c, control_fn fn, void *arg)
{
	struct control_conn *k;

	if (c->fd < 0)
		return;
	conn_accept(c);
	for (int i = 0; i < c->nconn; i++) {
		k = c->conn[i];
		if (conn_step(k, fn, arg)) {
			conn_close(c, i--);
			continue;
		}
		if (k->state == CONN_WAIT || left_ms(k->deadline) > 0)
			continue;
		if (k->state != CONN_DRAIN)
			log_warn("NOQUEUE control: a peer took more than %d "
			    "ms %s; dropped result=permfail",
			    CONTROL_TIMEOUT_MS, k->state == CONN_READ ?
			    "to send its request" : "to read its answer");
		conn_close(c, i--);
	}
}

/*
 * control_pollfds - the listening socket and every connection's, at most
 * max; their number, and in *ms the next deadline
 */
int
control_pollfds(struct control *c, struct pollfd *pfd, int max, int *ms)
{
	int n = 0, left;

	if (c->fd < 0 || max < 1)
		return 0;
	/* a full table leaves new peers in the listen queue until one frees */
	pfd[n++] = (struct pollfd){ .events = POLLIN,
	    .fd = c->nconn < CONTROL_MAX_CONNS ? c->fd : -1 };
	for (int i = 0; i < c->nconn && n < max; i++) {
		if (c->conn[i]->state == CONN_WAIT) {
			pfd[n++] = (struct pollfd){ .fd = c->conn[i]->wait.fd,
			    .events = POLLIN };
			continue;	/* no deadline: as long as it takes */
		}
		pfd[n++] = (struct pollfd){ .fd = c->conn[i]->fd, .events =
		    c->conn[i]->state == CONN_WRITE ? POLLOUT : POLLIN };
		left = left_ms(c->conn[i]->deadline);
		*ms = *ms < 0 || left < *ms ? left : *ms;
	}
	return n;
}

/* control_work_actions - control_work with a running queue manager's actions */
void
control_work_actions(struct control *c, struct pipeline *p,
    struct config **cfgp, const char *config_path)
{
	struct serve_arg a = { p, cfgp, config_path };

	control_work(c, serve_action, &a);
}
