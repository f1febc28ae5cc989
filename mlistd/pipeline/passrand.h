/* passrand.h - a message's randomness and clock, the same in every pass. */
#ifndef MLIST_PASSRAND_H
#define MLIST_PASSRAND_H

#include <stddef.h>

/* how many messages' seeds are kept at once (the oldest go first) */
#define PASSRAND_MAX	1024

void		passrand_begin(const char *qid);
void		passrand_end(void);
void		passrand_forget(const char *qid);
void		passrand_free_all(void);
void		passrand_buf(const char *label, void *out, size_t n);
long long	passrand_time(long long now);
int		passrand_same(const char *label, const void *copy, size_t n);

#endif
