/* pseudonym.h - validate and generate the names members post under. */
#ifndef MLIST_PSEUDONYM_H
#define MLIST_PSEUDONYM_H

#include <stddef.h>

#define SKELETON_MAX	512

int	pseudonym_check(const char *name, char *skeleton, size_t, char *why, size_t);
struct config;
struct list_cfg;

int	pseudonym_check_on(const char *name, const struct config *,
	    const struct list_cfg *, char *skeleton, size_t, char *why,
	    size_t);
int	pseudonym_key(const char *name, char *skeleton, size_t);
void	pseudonym_generate(char *out, size_t n);
void	handle_generate(char *out, size_t n);

#endif
