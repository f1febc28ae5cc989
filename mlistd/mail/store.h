/* store.h - SQLite state: members, deliveries, counters. All SQL lives in store.c. */
#ifndef MLIST_STORE_H
#define MLIST_STORE_H

#include "../util/buf.h"
#include "keys.h"

struct store;

struct member {
	long long	 id;
	char		*addr;
	char		*name;
	char		 role[16];
	int		 nomail;
	int		 digest;
	int		 bounce_score;
	long long	 created;
};

enum { STORE_OK = 0, STORE_ERR = -1, STORE_EXISTS = -2, STORE_NOTFOUND = -3, STORE_BADVALUE = -4 };

typedef int (*store_member_fn)(const struct member *, void *);

struct store *store_open(const char *path, const struct keys *, struct buf *err);
void	store_close(struct store *);
int	store_schema_version(struct store *);
const char *store_errmsg(struct store *);
int	store_member_add(struct store *, const char *list, const char *addr, const char *name);
int	store_member_rm(struct store *, const char *list, const char *addr);
int	store_member_set(struct store *, const char *list, const char *addr,
	    const char *key, const char *value);
int	store_member_find(struct store *, const char *list, const char *addr, struct member *);
int	store_member_each(struct store *, const char *list, store_member_fn, void *);
int	store_member_count(struct store *, const char *list);
int	store_list_purge(struct store *, const char *list);
void	member_free(struct member *);

#endif
