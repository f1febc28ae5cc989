/* why.h - the cause of a failure, written where it happened, read at the log line. */
#ifndef MLIST_WHY_H
#define MLIST_WHY_H

struct why {
	char	 text[200];
};

void	why_set(struct why *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void	why_cause(struct why *, const char *step, const char *cause);
const char *why_text(const struct why *);

#endif
