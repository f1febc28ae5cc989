/*
 * role.h - a member's role on a list: member, moderator or owner. The
 * store keeps it as TEXT (with a CHECK constraint) and converts at its
 * boundary; the code above compares the enum, never the string.
 */
#ifndef MLIST_ROLE_H
#define MLIST_ROLE_H

enum role {
	ROLE_MEMBER,
	ROLE_MODERATOR,
	ROLE_OWNER
};

/* the valid roles, for a message that refuses another */
#define ROLE_CHOICES	"member|moderator|owner"

const char *role_name(enum role);
int	role_parse(const char *, enum role *);
int	role_leads(enum role);

#endif
