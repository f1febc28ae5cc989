/* log.h - one line per event, to stderr (foreground) or syslog. */
#ifndef MLIST_LOG_H
#define MLIST_LOG_H

#include <stdarg.h>

void	log_init(const char *ident, int to_stderr);
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
