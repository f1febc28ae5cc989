/* addr.h - mailbox syntax and the addresses an instance serves. */
#ifndef MLIST_ADDR_H
#define MLIST_ADDR_H

#include "config.h"

#define ADDR_MAX	254
#define TOKEN_MAX	64

enum addr_kind { ADDR_NONE, ADDR_POST, ADDR_REQUEST, ADDR_OWNER, ADDR_BOUNCES, ADDR_CONFIRM, ADDR_PRIVATE,
	ADDR_UNSUBSCRIBE };

struct listaddr {
	enum addr_kind	 kind;
	const struct list_cfg *list;
	char		 token[TOKEN_MAX + 1];	/* after '+': bounces and confirm */
};

int	addr_valid(const char *);
int	listaddr_parse(const struct config *, const char *addr, struct listaddr *);
const char *addr_kind_name(enum addr_kind);
void	addr_bounces(const struct config *, const struct list_cfg *, char *from, size_t, char *prefix,
	    size_t, char *suffix, size_t);

#endif
