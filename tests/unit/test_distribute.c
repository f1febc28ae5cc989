/*
 * test_distribute.c - distribute's decisions as tables: the class of copy
 * each recipient gets, the class table the store applies, release times,
 * and the pipeline's growable list of rendered copies.
 */
#include "testutil.h"
#include "../../mlistd/delivery/distribute.h"

enum { K = 1, NM = 2, DG = 4, DIS = 8, LD = 16 };	/* the facts, as in DFACT_* */

static const struct {
	int		 encryption;
	int		 one_click;
	enum audience	 aud;
	int		 facts;
	enum dclass	 want;
	const char	*why;
} cases[] = {
	{ ENC_OFF, 0, AUD_POST, 0, DCLASS_PLAIN, "an ordinary member" },
	{ ENC_OFF, 0, AUD_POST, K, DCLASS_PLAIN, "encryption off: a key is not used" },
	{ ENC_OFF, 1, AUD_POST, 0, DCLASS_ONECLICK, "one-click URL: the member's own link" },
	{ ENC_OFF, 1, AUD_POST, K, DCLASS_ONECLICK, "encryption off, one-click" },
	{ ENC_OPTIONAL, 0, AUD_POST, 0, DCLASS_PLAIN, "optional, no key: clear" },
	{ ENC_OPTIONAL, 0, AUD_POST, K, DCLASS_OPENPGP, "optional, key: OpenPGP" },
	{ ENC_OPTIONAL, 1, AUD_POST, K, DCLASS_OPENPGP, "OpenPGP wins over one-click" },
	{ ENC_REQUIRED, 0, AUD_POST, 0, DCLASS_NOTICE, "required, no key: a notice, never the post" },
	{ ENC_REQUIRED, 1, AUD_POST, 0, DCLASS_NOTICE, "required, no key, one-click: still a notice" },
	{ ENC_REQUIRED, 0, AUD_POST, K, DCLASS_OPENPGP, "required, key: OpenPGP" },
	{ ENC_OFF, 0, AUD_POST, NM, DCLASS_NONE, "nomail: nothing" },
	{ ENC_OFF, 0, AUD_POST, DG, DCLASS_NONE, "digest member: no single posts" },
	{ ENC_OFF, 0, AUD_POST, NM | DIS, DCLASS_NONE, "disabled by bounces" },
	{ ENC_OFF, 0, AUD_POST, DIS, DCLASS_NONE, "disabled, even without nomail" },
	{ ENC_REQUIRED, 0, AUD_POST, NM, DCLASS_NONE, "nomail on a required list: not even a notice" },
	{ ENC_OFF, 0, AUD_POST, LD, DCLASS_PLAIN, "a moderator takes posts like anyone" },
	{ ENC_OFF, 0, AUD_DIGEST, DG, DCLASS_PLAIN, "digest to a digest member" },
	{ ENC_OFF, 0, AUD_DIGEST, 0, DCLASS_NONE, "no digest to a member who takes posts" },
	{ ENC_OFF, 0, AUD_DIGEST, DG | NM, DCLASS_NONE, "nomail digest member" },
	{ ENC_REQUIRED, 0, AUD_DIGEST, DG, DCLASS_NOTICE, "required, no key: no digest in clear" },
	{ ENC_REQUIRED, 0, AUD_DIGEST, DG | K, DCLASS_OPENPGP, "required, key: the digest encrypted" },
	{ ENC_OPTIONAL, 0, AUD_DIGEST, DG | K, DCLASS_OPENPGP, "optional, key: OpenPGP" },
	{ ENC_OPTIONAL, 1, AUD_DIGEST, DG, DCLASS_ONECLICK, "digest with the member's link" },
	{ ENC_OFF, 0, AUD_ROLES, 0, DCLASS_NONE, "roles copy: not to members" },
	{ ENC_OFF, 0, AUD_ROLES, LD, DCLASS_PLAIN, "roles copy to a moderator" },
	{ ENC_OFF, 0, AUD_ROLES, LD | NM, DCLASS_PLAIN, "a moderator on nomail still moderates" },
	{ ENC_REQUIRED, 0, AUD_ROLES, LD, DCLASS_PLAIN, "a keyless moderator must still see it" },
	{ ENC_REQUIRED, 0, AUD_ROLES, LD | K, DCLASS_OPENPGP, "a moderator with a key: OpenPGP" },
	{ ENC_OFF, 1, AUD_ROLES, LD, DCLASS_ONECLICK, "a moderator's clear copy has their link" },
	{ ENC_OFF, 1, AUD_ANSWER, 0, DCLASS_PLAIN, "an archive answer: plain, no one-click" },
	{ ENC_OFF, 0, AUD_ANSWER, NM | DG, DCLASS_PLAIN, "they asked: nomail does not matter" },
	{ ENC_OPTIONAL, 0, AUD_ANSWER, K, DCLASS_OPENPGP, "an answer encrypted to the member's key" },
	{ ENC_REQUIRED, 0, AUD_ANSWER, 0, DCLASS_NOTICE, "required, no key: no archived post in clear" },
	{ ENC_REQUIRED, 0, AUD_ANSWER, K, DCLASS_OPENPGP, "required, key: OpenPGP" },
	{ ENC_REQUIRED, 0, AUD_ANSWER, LD, DCLASS_PLAIN, "a moderator answers by reply: plain" },
	{ ENC_REQUIRED, 0, AUD_ANSWER, LD | K, DCLASS_OPENPGP, "a keyed moderator: PGP/MIME replies fine" },
	{ ENC_REQUIRED, 0, AUD_PRIVATE, 0, DCLASS_NOTICE,
	    "required, no key: private mail is a notice" },
	{ ENC_REQUIRED, 0, AUD_PRIVATE, LD, DCLASS_NOTICE,
	    "a keyless moderator: nothing to act on, a notice" },
	{ ENC_REQUIRED, 0, AUD_PRIVATE, NM | DIS, DCLASS_NOTICE,
	    "nomail or disabled: private mail still told" },
	{ ENC_REQUIRED, 0, AUD_PRIVATE, K | LD, DCLASS_OPENPGP,
	    "required, key: OpenPGP" },
	{ ENC_OPTIONAL, 0, AUD_PRIVATE, LD, DCLASS_PLAIN,
	    "optional, no key: plain, as before" },
	{ ENC_OFF, 1, AUD_PRIVATE, K, DCLASS_PLAIN,
	    "off: plain, no one-click" },
};

/* facts - the struct for a bit set */
static struct dfacts
facts(int bits)
{
	struct dfacts f = { (bits & K) != 0, (bits & NM) != 0, (bits & DG) != 0, (bits & DIS) != 0,
	    (bits & LD) != 0 };

	return f;
}

/* list - a list with these settings */
static struct list_cfg
list(int encryption, int one_click)
{
	struct list_cfg l;

	memset(&l, 0, sizeof(l));
	l.name = "demo";
	l.encryption = encryption;
	l.one_click_url = one_click ? "https://lists.example/u/" : "";
	return l;
}

START_TEST(class_table)
{
	struct list_cfg l = list(cases[_i].encryption, cases[_i].one_click);
	struct dfacts f = facts(cases[_i].facts);
	enum dclass got = distribute_class(&l, cases[_i].aud, &f);

	ck_assert_msg(got == cases[_i].want, "%s: got %s, want %s", cases[_i].why,
	    distribute_class_name(got), distribute_class_name(cases[_i].want));
}
END_TEST

/* the table the store applies says, for every combination, what distribute_class says */
START_TEST(store_table_matches_the_decision)
{
	int encs[] = { ENC_OFF, ENC_OPTIONAL, ENC_REQUIRED };
	enum audience auds[] = { AUD_POST, AUD_DIGEST, AUD_ROLES, AUD_ANSWER,
	    AUD_PRIVATE };
	char t[DFACT_COMBOS + 1];

	ck_assert_int_eq(K, DFACT_KEYED);
	ck_assert_int_eq(NM, DFACT_NOMAIL);
	ck_assert_int_eq(DG, DFACT_DIGEST);
	ck_assert_int_eq(DIS, DFACT_DISABLED);
	ck_assert_int_eq(LD, DFACT_LEADER);
	for (int e = 0; e < 3; e++)
		for (int o = 0; o < 2; o++)
			for (int a = 0; a < 5; a++) {
				struct list_cfg l = list(encs[e], o);

				distribute_table(&l, auds[a], t);
				ck_assert_int_eq(strlen(t), DFACT_COMBOS);
				for (int i = 0; i < DFACT_COMBOS; i++) {
					struct dfacts f = facts(i);

					ck_assert_int_eq(t[i] - '0', distribute_class(&l, auds[a], &f));
				}
			}
}
END_TEST

/* release times: jitter within its bounds, batching on a boundary strictly later */
START_TEST(release_time)
{
	struct list_cfg l = list(ENC_OFF, 0);
	long long now = 1700000003, at;

	ck_assert_int_eq(distribute_release(&l, now), now);
	l.jitter_min = 5;
	l.jitter_max = 9;
	for (int i = 0; i < 200; i++) {
		at = distribute_release(&l, now);
		ck_assert(at >= now + 5 && at <= now + 9);
	}
	l.jitter_min = l.jitter_max = 0;
	l.batch = 10;
	ck_assert_int_eq(distribute_release(&l, now), 1700000010);
	ck_assert_int_eq(distribute_release(&l, 1700000010), 1700000020);
	l.jitter_min = l.jitter_max = 8;
	ck_assert_int_eq(distribute_release(&l, now), 1700000020);
}
END_TEST

/* no fixed cap: a thousand copies in one transaction are all remembered */
START_TEST(outputs_grow)
{
	struct pipeline p;
	char id[QID_LEN + 1];

	memset(&p, 0, sizeof(p));
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "%016d", i);
		ck_assert_int_eq(pipeline_out_add(&p, id), 0);
	}
	ck_assert_int_eq(p.nout, 1000);
	ck_assert_str_eq(p.out[0], "0000000000000000");
	ck_assert_str_eq(p.out[999], "0000000000000999");
	pipeline_free(&p);
	ck_assert_ptr_null(p.out);
	ck_assert_int_eq(p.nout, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("distribute");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, class_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, store_table_matches_the_decision);
	tcase_add_test(tc, release_time);
	tcase_add_test(tc, outputs_grow);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
