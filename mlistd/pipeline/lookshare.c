/*
 * lookshare.c - may one more DNS look-up start, for this list and this
 * sending domain, without taking the slots others need?
 *
 * The slots (LOOKSHARE_MAX, authn.c's) were one pool: a flood of mail
 * from a domain whose DNS never answers, to one list, held them all
 * until dns.timeout, and a post to another list got none (round 8b,
 * finding 2). Now each claimant may hold at most half of what the
 * others leave it, rounded up:
 *
 *   a list      half of the slots other lists do not hold;
 *   a domain    the same over every list (a registrable domain: its
 *               subdomains are free to make, its registrations are not);
 *   a domain    on its list: half of what its list may hold now, less
 *               what other domains hold there.
 *
 * So a list or a domain alone gets half the pool, the next one half of
 * the rest, and one that asks for nothing yet always finds a slot while
 * fewer than ten lists or domains are flooded at once. Past its share a
 * look-up waits for one of its own to end (authn.c), holding back only
 * its own list's later mail. No claimant is ever refused for good: with
 * nothing else out, a list gets half the pool.
 *
 * But both the list and the domain are the sender's choice: a flood
 * naming a registrable domain per look-up is held by its list's share
 * alone, and took all of it from the list's members (round 9b, finding
 * 2). So a list's share is split by what the From claims (authn.c):
 *
 *   members     a look-up about the domain of a From that names one of
 *               the list's members: up to the whole list share, at most
 *               LOOKSHARE_PER_MEMBER for one claimed address, no domain
 *               share (the cap per address bounds it);
 *   strangers   every other look-up of the list: at most half of the
 *               list share, and within it the domains' shares as above.
 *
 * So strangers, however many domains they name, leave the members at
 * least half of their list's share, and a flood forging N members'
 * addresses holds at most 8N slots.
 *
 * Pure arithmetic on counts, so that the unit test can try every case.
 */
#include "pipeline/lookshare.h"

/* half_of_rest - does mine stay under half of what others leave of cap? */
static int
half_of_rest(int mine, int all, int cap)
{
	int rest = cap - (all - mine);

	return rest > 0 && mine < (rest + 1) / 2;
}

/* lookshare_list_cap - how many its list may hold now */
int
lookshare_list_cap(const struct lookshare_use *u, int max)
{
	int rest = max - (u->used - u->list);

	return rest > 0 ? (rest + 1) / 2 : 0;
}

/* strangers_cap - how many its list's strangers may hold now */
static int
strangers_cap(const struct lookshare_use *u, int max)
{
	return (lookshare_list_cap(u, max) + 1) / 2;
}

/* lookshare_room - 1 if one more look-up for u's list and domain may start */
int
lookshare_room(const struct lookshare_use *u, int max)
{
	int cap = lookshare_list_cap(u, max);

	if (u->used >= max || u->list >= cap)
		return 0;
	if (u->member)
		return u->claim < LOOKSHARE_PER_MEMBER;
	if (u->strangers >= strangers_cap(u, max) ||
	    !half_of_rest(u->domain, u->used, max))
		return 0;
	return half_of_rest(u->both, u->strangers, strangers_cap(u, max));
}
