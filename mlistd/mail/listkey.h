/* listkey.h - a list's DKIM key: made on demand, rotated by the admin. */
#ifndef MLIST_LISTKEY_H
#define MLIST_LISTKEY_H

#include "dkim.h"
#include "store.h"

#define SELECTOR_MAX	96

int	listkey_create(struct store *, const char *list, char *selector, size_t);
int	listkey_get(struct store *, const char *list, char *selector, size_t, unsigned char seed[DKIM_SEED_LEN]);

#endif
