/*
 * test_lookshare.c - the DNS look-up slots' shares: a flood of one list
 * or one domain leaves room for another list, for its own list's other
 * domains, and for a claimant after several floods; nothing is refused
 * with the pool empty, and the pool is never overdrawn. And within a
 * list, strangers naming a domain per look-up leave its members room,
 * and a claimed member holds LOOKSHARE_PER_MEMBER at most.
 */
#include <string.h>

#include "testutil.h"

#include "../../mlistd/pipeline/lookshare.h"

#define CLAIMANTS	32

/* the slots held, by (list, domain): a pool the way authn.c counts it */
struct pool {
	int		 n[CLAIMANTS][CLAIMANTS];
};

/* use - what one more look-up for (list, dom) sees */
static struct lookshare_use
use(const struct pool *p, int list, int dom)
{
	struct lookshare_use u = { 0, 0, 0, 0, 0, 0, 0 };

	for (int l = 0; l < CLAIMANTS; l++)
		for (int d = 0; d < CLAIMANTS; d++) {
			u.used += p->n[l][d];
			u.list += l == list ? p->n[l][d] : 0;
			u.domain += d == dom ? p->n[l][d] : 0;
		}
	u.both = p->n[list][dom];
	for (int d = 0; d < CLAIMANTS; d++)
		u.strangers += p->n[list][d];
	return u;
}

/* fill - (list, dom) takes every slot its shares allow; how many it took */
static int
fill(struct pool *p, int list, int dom)
{
	struct lookshare_use u;
	int took = 0;

	for (;;) {
		u = use(p, list, dom);
		ck_assert_int_le(u.used, LOOKSHARE_MAX);
		if (!lookshare_room(&u, LOOKSHARE_MAX))
			return took;
		p->n[list][dom]++;
		took++;
	}
}

/*
 * A list's strangers on CLAIMANTS domains and its members (claimed
 * addresses) beside them: the look-ups out, and what one more sees.
 */
struct roster {
	int		 other;		/* other lists' look-ups */
	int		 dom[LOOKSHARE_MAX];	/* strangers', by domain */
	int		 mem[CLAIMANTS];	/* members', by claimed address */
};

/* roster_use - what one more look-up sees: a member's (who >= 0) or dom's */
static struct lookshare_use
roster_use(const struct roster *r, int who, int dom)
{
	struct lookshare_use u = { r->other, 0, 0, 0, who >= 0, 0, 0 };

	for (int i = 0; i < LOOKSHARE_MAX; i++) {
		u.strangers += r->dom[i];
		u.list += r->dom[i];
	}
	for (int i = 0; i < CLAIMANTS; i++)
		u.list += r->mem[i];
	u.used += u.list;
	/* the members' domains are none of the strangers' */
	u.domain = who >= 0 ? r->mem[who] : r->dom[dom];
	u.both = who >= 0 ? 0 : r->dom[dom];
	u.claim = who >= 0 ? r->mem[who] : 0;
	return u;
}

/* roster_fill - the claimant takes what it may; how many */
static int
roster_fill(struct roster *r, int who, int dom)
{
	struct lookshare_use u;
	int took = 0;

	for (;; took++) {
		u = roster_use(r, who, dom);
		ck_assert_int_le(u.used, LOOKSHARE_MAX);
		if (!lookshare_room(&u, LOOKSHARE_MAX))
			return took;
		if (who >= 0)
			r->mem[who]++;
		else
			r->dom[dom]++;
	}
}

/* flood - strangers on n domains each take what they may; the total */
static int
flood(struct roster *r, int n)
{
	int total = 0;

	/* one look-up each in turn, as 120 messages come: no domain first */
	for (int more = 1; more;) {
		more = 0;
		for (int d = 0; d < n; d++) {
			struct lookshare_use u = roster_use(r, -1, d);

			if (!lookshare_room(&u, LOOKSHARE_MAX))
				continue;
			r->dom[d]++;
			total++;
			more = 1;
		}
	}
	return total;
}

/*
 * Rows: a flood (strangers naming a domain per look-up, 10, 1, none), then
 * a member posts: her look-ups start, as many as her cap. The flood's
 * domains never take more than the strangers' half.
 */
START_TEST(strangers_on_many_domains_leave_the_members_room)
{
	static const int floods[] = { LOOKSHARE_MAX, 10, 1, 0 };

	for (size_t i = 0; i < sizeof(floods) / sizeof(*floods); i++) {
		struct lookshare_use u;
		struct roster r;
		int held;

		memset(&r, 0, sizeof(r));
		held = flood(&r, floods[i]);
		ck_assert_int_le(held, LOOKSHARE_MAX / 4);
		if (floods[i] == LOOKSHARE_MAX)
			ck_assert_int_eq(held, LOOKSHARE_MAX / 4);
		/* she finds room at all, then no more than her cap */
		u = roster_use(&r, 0, 0);
		ck_assert_int_eq(lookshare_room(&u, LOOKSHARE_MAX), 1);
		ck_assert_int_eq(roster_fill(&r, 0, 0), LOOKSHARE_PER_MEMBER);
		/* and another member after her */
		ck_assert_int_eq(roster_fill(&r, 1, 0), LOOKSHARE_PER_MEMBER);
	}
}
END_TEST

/* forged members' addresses: 8 each; the list's share bounds them all */
START_TEST(forged_members_hold_eight_each)
{
	struct roster r;
	int total = 0;

	memset(&r, 0, sizeof(r));
	for (int m = 0; m < 4; m++)
		total += roster_fill(&r, m, 0);
	ck_assert_int_eq(total, 4 * LOOKSHARE_PER_MEMBER);
	/* the strangers' part is still theirs */
	ck_assert_int_eq(flood(&r, LOOKSHARE_MAX), LOOKSHARE_MAX / 4);
	/* another member still finds room */
	ck_assert_int_eq(roster_fill(&r, 5, 0), LOOKSHARE_PER_MEMBER);
	/* with other lists holding all but a few: the list's share rules */
	memset(&r, 0, sizeof(r));
	r.other = LOOKSHARE_MAX - 6;
	total = 0;
	for (int m = 0; m < CLAIMANTS; m++)
		total += roster_fill(&r, m, 0);
	ck_assert_int_eq(total, 3);
}
END_TEST

START_TEST(a_flooded_list_leaves_room_for_another)
{
	struct pool p;

	memset(&p, 0, sizeof(p));
	/* alone: half of its list's strangers' half */
	ck_assert_int_eq(fill(&p, 0, 0), LOOKSHARE_MAX / 8);
	/* another list, another domain: as much of what is left */
	ck_assert_int_ge(fill(&p, 1, 1), LOOKSHARE_MAX / 16);
	/* and the flooded list's other senders still find slots */
	ck_assert_int_ge(fill(&p, 0, 2), LOOKSHARE_MAX / 32);
}
END_TEST

START_TEST(one_domain_on_every_list_takes_half_at_most)
{
	struct pool p;
	int total = 0;

	memset(&p, 0, sizeof(p));
	for (int l = 0; l < CLAIMANTS; l++)
		total += fill(&p, l, 0);
	ck_assert_int_le(total, LOOKSHARE_MAX / 2);
	/* the domain's flood leaves a fresh list and domain its room */
	ck_assert_int_ge(fill(&p, 1, 1), LOOKSHARE_MAX / 64);
}
END_TEST

START_TEST(room_after_eight_floods)
{
	struct pool p;

	memset(&p, 0, sizeof(p));
	for (int k = 0; k < 8; k++)
		ck_assert_int_gt(fill(&p, k, k), 0);
	/* a post asks two or three names: room for several */
	ck_assert_int_ge(fill(&p, 9, 9), 16);
}
END_TEST

START_TEST(an_empty_pool_refuses_nobody)
{
	struct lookshare_use u = { 0, 0, 0, 0, 0, 0, 0 };

	ck_assert_int_eq(lookshare_room(&u, LOOKSHARE_MAX), 1);
	ck_assert_int_eq(lookshare_room(&u, 1), 1);
	ck_assert_int_eq(lookshare_list_cap(&u, LOOKSHARE_MAX),
	    LOOKSHARE_MAX / 2);
	/* full: nobody, whatever their own count */
	u = (struct lookshare_use){ LOOKSHARE_MAX, 0, 0, 0, 0, 0, 0 };
	ck_assert_int_eq(lookshare_room(&u, LOOKSHARE_MAX), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lookshare");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, a_flooded_list_leaves_room_for_another);
	tcase_add_test(tc, one_domain_on_every_list_takes_half_at_most);
	tcase_add_test(tc, room_after_eight_floods);
	tcase_add_test(tc, an_empty_pool_refuses_nobody);
	tcase_add_test(tc, strangers_on_many_domains_leave_the_members_room);
	tcase_add_test(tc, forged_members_hold_eight_each);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
