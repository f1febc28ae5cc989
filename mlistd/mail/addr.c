/*
 * addr.c - what a mailbox looks like, and which ones are ours.
 *
 * The instance serves, for every list NAME at `hostname`: NAME (posts),
 * NAME-request (commands), NAME-owner (the moderators), NAME-bounces and
 * NAME-bounces+TOKEN (VERP; TOKEN is opaque and never encodes an
 * address), NAME-confirm+TOKEN (confirming a held post). Anything else is
 * not ours: no open relay.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

/* addr_valid - a plain local@domain, printable ASCII, no quoting games */
int
addr_valid(const char *a)
{
	const char *at = strrchr(a, '@'), *p;
	size_t n = strlen(a);

	if (n == 0 || n > ADDR_MAX || at == NULL || at == a || at[1] == 0 || at - a > 64)
		return 0;
	for (p = a; *p; p++)
		if (*p <= ' ' || *p >= 127 || strchr("<>()[]\\,;:\"", *p))
			return 0;
	if (strchr(a, '@') != at || at[1] == '.' || a[n - 1] == '.' || strstr(at, ".."))
		return 0;
	return 1;
}

/* addr_kind_name - for logs */
const char *
addr_kind_name(enum addr_kind k)
{
	static const char *const names[] = { "none", "post", "request", "owner", "bounces", "confirm", "private",
	    "unsubscribe" };

	return names[k];
}

/* listaddr_parse - classify a recipient; 0 if we serve it */
int
listaddr_parse(const struct config *c, const char *addr, struct listaddr *la)
{
	static const struct { const char *sfx; enum addr_kind kind; } roles[] = {
		{ "-request", ADDR_REQUEST }, { "-owner", ADDR_OWNER }, { "-bounces", ADDR_BOUNCES },
		{ "-confirm", ADDR_CONFIRM }, { "-unsubscribe", ADDR_UNSUBSCRIBE },
	};
	const char *at = strrchr(addr, '@'), *plus;
	char local[128];
	size_t llen, n;
	int i, r, private = 0;

	memset(la, 0, sizeof(*la));
	if (!addr_valid(addr) || strcasecmp(at + 1, c->hostname) != 0)
		return -1;
	llen = (size_t)(at - addr);
	if (llen >= sizeof(local))
		return -1;
	memcpy(local, addr, llen);
	local[llen] = 0;
	if ((plus = strchr(local, '+')) != NULL) {
		if (strncasecmp(plus + 1, "p-", 2) == 0) {	/* LIST+p-HANDLE: a private reply */
			private = 1;
			memmove(local + (plus - local) + 1, plus + 3, strlen(plus + 3) + 1);
		}
		n = strlen(plus + 1);
		if (n == 0 || n > TOKEN_MAX)
			return -1;
		for (const char *p = plus + 1; *p; p++)
			if (!isalnum((unsigned char)*p))
				return -1;
		memcpy(la->token, plus + 1, n + 1);
		local[plus - local] = 0;
	}
	for (i = 0; i < c->nlists; i++) {
		const struct list_cfg *l = &c->lists[i];

		n = strlen(l->name);
		if (strncasecmp(local, l->name, n) != 0)
			continue;
		if (local[n] == 0 && (!la->token[0] || private)) {
			la->kind = private ? ADDR_PRIVATE : ADDR_POST;
			la->list = l;
			return 0;
		}
		if (private)
			continue;
		for (r = 0; r < (int)(sizeof(roles) / sizeof(roles[0])); r++)
			if (strcasecmp(local + n, roles[r].sfx) == 0 &&
			    (roles[r].kind == ADDR_CONFIRM || roles[r].kind == ADDR_UNSUBSCRIBE ? la->token[0] != 0 :
			    !la->token[0] || roles[r].kind == ADDR_BOUNCES || roles[r].kind == ADDR_OWNER)) {
				la->kind = roles[r].kind;
				la->list = l;
				return 0;
			}
	}
	memset(la, 0, sizeof(*la));
	return -1;
}

/* addr_bounces - a list's envelope sender, and the parts of its VERP form (prefix TOKEN suffix) */
void
addr_bounces(const struct config *c, const struct list_cfg *l, char *from, size_t fl, char *prefix, size_t pl,
    char *suffix, size_t sl)
{
	snprintf(from, fl, "%s-bounces@%s", l->name, c->hostname);
	snprintf(prefix, pl, "%s-bounces+", l->name);
	snprintf(suffix, sl, "@%s", c->hostname);
}
