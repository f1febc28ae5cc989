/* log.h - one line per event, to stderr (foreground) or syslog. */
#ifndef MLIST_LOG_H
#define MLIST_LOG_H

#include <stdarg.h>

void	log_init(const char *ident, int to_stderr);
/* an ordinary event; something went wrong, carry on; an operation failed */
enum log_level { LOG_L_INFO, LOG_L_WARN, LOG_L_ERR };

void	log_at(enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
#define log_info(...)	log_at(LOG_L_INFO, __VA_ARGS__)
#define log_warn(...)	log_at(LOG_L_WARN, __VA_ARGS__)
#define log_err(...)	log_at(LOG_L_ERR, __VA_ARGS__)
void	fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
