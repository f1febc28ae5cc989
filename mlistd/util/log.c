/*
 * log.c - logging for the daemon and the tools.
 *
 * Every event is one line. In the foreground lines go to stderr with the
 * program name; otherwise to syslog (facility mail). Callers put the queue
 * id (or NOQUEUE) first; this module knows nothing of mail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "mlistd";
static int log_stderr = 1;

/* log_init - choose where lines go */
void
log_init(const char *ident, int to_stderr)
{
	log_ident = ident;
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* log_vline - write one line at a syslog priority */
static void
log_vline(int prio, const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);	/* truncation is fine for a log line */
	if (log_stderr) {
		fprintf(stderr, "%s[%ld]: %s%s\n", log_ident, (long)getpid(),
		    prio == LOG_WARNING ? "warning: " :
		    prio <= LOG_ERR ? "error: " : "", line);
		fflush(stderr);
	} else
		syslog(prio, "%s", line);
}

/* log_at - one line at a level (log_info, log_warn, log_err in log.h) */
void
log_at(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = {
		[LOG_L_INFO] = LOG_INFO,
		[LOG_L_WARN] = LOG_WARNING,
		[LOG_L_ERR] = LOG_ERR,
	};
	va_list ap;

	va_start(ap, fmt);
	log_vline(prio[level], fmt, ap);
	va_end(ap);
}

/* fatal - the environment is broken (start-up only); exit */
void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
