/* rand.h - randomness is there before anything is written, or we stop. */
#ifndef MLIST_RAND_H
#define MLIST_RAND_H

#include <stddef.h>

int	rand_init(const char *prog, char *err, size_t errlen);

#endif
