/* mem.h - searches in bytes that are not strings (a message, a line). */
#ifndef MLIST_MEM_H
#define MLIST_MEM_H

#include <stddef.h>

long	mem_find(const char *, size_t, size_t, const char *);
int	mem_has_ci(const char *, size_t, const char *);

#endif
