/*
 * test_lookshare.c - the DNS look-up slots' shares: a flood of one list
 * or one domain leaves room for another list, for its own list's other
 * domains, and for a claimant after several floods; nothing is refused
 * with the pool empty, and the pool is never overdrawn.
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
	struct lookshare_use u = { 0, 0, 0, 0 };

	for (int l = 0; l < CLAIMANTS; l++)
		for (int d = 0; d < CLAIMANTS; d++) {
			u.used += p->n[l][d];
			u.list += l == list ? p->n[l][d] : 0;
			u.domain += d == dom ? p->n[l][d] : 0;
		}
	u.both = p->n[list][dom];
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

START_TEST(a_flooded_list_leaves_room_for_another)
{
	struct pool p;

	memset(&p, 0, sizeof(p));
	/* alone: half of its list's half */
	ck_assert_int_eq(fill(&p, 0, 0), LOOKSHARE_MAX / 4);
	/* another list, another domain: as much of what is left */
	ck_assert_int_ge(fill(&p, 1, 1), LOOKSHARE_MAX / 8);
	/* and the flooded list's other senders still find slots */
	ck_assert_int_ge(fill(&p, 0, 2), LOOKSHARE_MAX / 16);
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
	ck_assert_int_ge(fill(&p, 1, 1), LOOKSHARE_MAX / 16);
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
	struct lookshare_use u = { 0, 0, 0, 0 };

	ck_assert_int_eq(lookshare_room(&u, LOOKSHARE_MAX), 1);
	ck_assert_int_eq(lookshare_room(&u, 1), 1);
	ck_assert_int_eq(lookshare_list_cap(&u, LOOKSHARE_MAX),
	    LOOKSHARE_MAX / 2);
	/* full: nobody, whatever their own count */
	u = (struct lookshare_use){ LOOKSHARE_MAX, 0, 0, 0 };
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
	suite_add_tcase(s, tc);
	return tu_run(s);
}
