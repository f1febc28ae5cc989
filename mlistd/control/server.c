/*
 * server.c - the control socket: STATE_DIR/control, a UNIX stream socket
 * made by the queue manager (which owns the store), mode 0600. Each
 * connection's peer is checked with SO_PEERCRED - root or the daemon's
 * own uid, anything else is refused and logged - then one request is read
 * (bounded in size and time), run as one action in one transaction
 * (actions.c) and answered. Requests are served one at a time from the
 * queue manager's loop; a silent peer costs at most CONTROL_TIMEOUT_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
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

/* control_close - stop listening; mlistctl then finds no socket: "not running" */
void
control_close(struct control *c)
{
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
	/* the verb and the list, never an address or a pseudonym */
	log_info("NOQUEUE control: %s list=%s status=%d result=%s", r->argv[0],
	    list ? list : "-", rc, rc == ACT_DONE || rc == ACT_REQUESTED ? "ok" : "permfail");
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

/* control_serve - one connection: peer check, one request, its answer */
void
control_serve(struct control *c, struct pipeline *p, struct config **cfgp,
    const char *config_path)
{
	struct serve_arg a = { p, cfgp, config_path };

	control_serve_fn(c, serve_action, &a);
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
