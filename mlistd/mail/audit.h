/* audit.h - the leadership's record: hash-chained, signed by the list, naming roles, never people. */
#ifndef MLIST_AUDIT_H
#define MLIST_AUDIT_H

#include "store.h"

int	audit_append(struct store *, const char *list, long long now, const char *actor, const char *action,
	    const char *detail);
int	audit_entry_hash(const char *list, const struct audit_entry *, unsigned char out[32]);

struct audit_check {
	long long	 entries;
	long long	 bad_seq;	/* first entry that fails (0: none) */
	char		 why[200];
};
int	audit_verify(struct store *, const char *state_dir, const char *list, struct audit_check *);
void	audit_resolve(struct store *, const char *list, const char *detail,
	    char *out, size_t n);
int	audit_head_sync(struct store *, const char *state_dir, const char *list, char *why, size_t);

#endif
