/*
 * role.c - a member's role: its name in the store and on the wire, its
 * parse, and whether it leads the list (moderates and votes).
 */
#include <string.h>

#include "role.h"

static const char *const role_names[] = {
	[ROLE_MEMBER] = "member",
	[ROLE_MODERATOR] = "moderator",
	[ROLE_OWNER] = "owner",
};

/* role_name - "member", "moderator" or "owner" ("member" for a bad value) */
const char *
role_name(enum role r)
{
	/* a value out of range would index past the table: read as the least */
	if ((unsigned)r >= sizeof(role_names) / sizeof(role_names[0]))
		return role_names[ROLE_MEMBER];
	return role_names[r];
}

/* role_parse - one of ROLE_CHOICES, exactly; -1 (out untouched) for anything else */
int
role_parse(const char *s, enum role *out)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcmp(s, role_names[i]) == 0) {
			*out = (enum role)i;
			return 0;
		}
	return -1;
}

/* role_leads - a moderator or an owner: moderates, votes, reads as a moderator */
int
role_leads(enum role r)
{
	return r == ROLE_MODERATOR || r == ROLE_OWNER;
}
