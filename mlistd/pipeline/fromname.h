/* fromname.h - the words of a post's From in its author's name. */
#ifndef MLIST_FROMNAME_H
#define MLIST_FROMNAME_H

#include <stddef.h>

struct config;
struct list_cfg;

void	fromname_author(const struct config *, const struct list_cfg *,
	    const char *name, char *out, size_t n);
void	fromname_anonymous(const struct config *, const struct list_cfg *,
	    const char *code, char *out, size_t n);

#endif
