/*
 * test_pseudonym.c - the pseudonym name rules: look-alikes share one key
 * (the skeleton taken before case folding), every kind of space is a
 * space, blank-rendering letters and role words are refused.
 */
#include "testutil.h"
#include "../../mlistd/mail/config.h"
#include "../../mlistd/mail/notices.h"
#include "../../mlistd/mail/pseudonym.h"

/* pairs that read the same: one comparison key */
static const char *const same[][2] = {
	{ "Red Fly", "Red FIy" },		/* capital I for l */
	{ "Willow", "WiIIow" },
	{ "Red Fly", "Red F\u04cfy" },		/* small palochka */
	{ "Red Fly", "Red F\u04c0y" },		/* capital palochka */
	{ "Red Fly", "Red F1y" },		/* digit one */
	{ "Mary Lane", "rnary Lane" },		/* rn for m */
	{ "Mary Lane", "MARY LANE" },
	{ "Red Fly", "Red\u00a0Fly" },		/* NO-BREAK SPACE */
	{ "Red Fly", "Red\u2002Fly" },		/* EN SPACE */
	{ "Red Fly", "Red\u3000Fly" },		/* IDEOGRAPHIC SPACE */
	{ "Rosa", "R\u043esa" },		/* Cyrillic o */
	{ "Paul", "PAUL" },
};

/* names that must not be taken, and what the refusal says */
static const struct { const char *name, *why; } refused[] = {
	{ "Red Fly\u00a0", "space" }, { "\u2002Red Fly", "space" },
	{ "Red\u2002\u2002Fly", "space" }, { "Red \u00a0Fly", "space" },
	{ "Red\u3164Fly", "blank" }, { "Red\uffa0Fly", "blank" },
	{ "Red\u2800Fly", "blank" }, { "Red\u115fFly", "blank" },
	{ "Red\u1160Fly", "blank" },
	{ "mod-3f9a", "roles" }, { "The Moderators", "roles" },
	{ "Anonymous 3F9A2C", "roles" }, { "Site Admin", "roles" },
	{ "List 0wner", "roles" }, { "postmaster team", "roles" },
	{ "M0DERATOR", "reserved" },
};

START_TEST(look_alikes_share_a_key)
{
	char a[SKELETON_MAX], b[SKELETON_MAX], why[160];

	ck_assert_msg(pseudonym_check(same[_i][0], a, sizeof(a), why,
	    sizeof(why)) == 0, "%s: %s", same[_i][0], why);
	ck_assert_msg(pseudonym_check(same[_i][1], b, sizeof(b), why,
	    sizeof(why)) == 0, "%s: %s", same[_i][1], why);
	ck_assert_msg(strcmp(a, b) == 0, "%s [%s] / %s [%s]", same[_i][0], a,
	    same[_i][1], b);
}
END_TEST

START_TEST(different_names_differ)
{
	char a[SKELETON_MAX], b[SKELETON_MAX], why[160];

	ck_assert_int_eq(pseudonym_check("Red Fly", a, sizeof(a), why,
	    sizeof(why)), 0);
	ck_assert_int_eq(pseudonym_check("Red Fry", b, sizeof(b), why,
	    sizeof(why)), 0);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(refused_names)
{
	char sk[SKELETON_MAX], why[160] = "";

	ck_assert_int_eq(pseudonym_check(refused[_i].name, sk, sizeof(sk), why,
	    sizeof(why)), -1);
	ck_assert_msg(strstr(why, refused[_i].why) != NULL, "%s: %s",
	    refused[_i].name, why);
}
END_TEST

/* check_on - pseudonym_check_on on a list called name with pieces words */
static int
check_on(const char *pseud, const char *name, struct notices *words)
{
	char sk[SKELETON_MAX], why[160], nm[64];
	struct list_cfg l = { 0 };

	(void)snprintf(nm, sizeof(nm), "%s", name);
	l.name = nm;
	l.notices = words;
	return pseudonym_check_on(pseud, NULL, &l, sk, sizeof(sk), why,
	    sizeof(why));
}

START_TEST(the_list_name_is_a_role_word)
{
	ck_assert_int_eq(check_on("demo moderators", "demo", NULL), -1);
	ck_assert_int_eq(check_on("Demo Crew", "demo", NULL), -1);
	ck_assert_int_eq(check_on("Demo Crew", "other", NULL), 0);
	/* a word that only contains a role word is no role */
	ck_assert_int_eq(check_on("Modesty Blaise", "demo", NULL), 0);
}
END_TEST

/*
 * a pseudonym may not hold the list's own words for another author, as
 * the list words them: the shipped English, or a translation's
 */
START_TEST(the_lists_words_as_configured)
{
	char *dir = tu_tmpdir(), sk[SKELETON_MAX], why[160] = "";
	struct config *cfg = tu_instance(dir, NULL);
	struct notices de = { 0 };
	struct list_cfg l = { 0 };
	char demo[] = "demo";

	l.name = demo;
	ck_assert_int_eq(pseudonym_check_on("Bob via Berlin", cfg, &l, sk,
	    sizeof(sk), why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "\"via\"") != NULL, "%s", why);
	de.piece[PIECE_FROM_AUTHOR] = "{name} \xc3\xbc" "ber {list}\n";
	de.piece[PIECE_ANONYMOUS_NAME] = "Anonym {code}\n";
	de.piece[PIECE_FROM_MODERATORS] = "Moderation von {list}\n";
	l.notices = &de;
	ck_assert_int_eq(pseudonym_check_on("Rosa \xc3\xbc" "ber Berlin", cfg,
	    &l, sk, sizeof(sk), why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "\xc3\xbc" "ber"));
	ck_assert_int_eq(pseudonym_check_on("Anonym 3F9A2C", cfg, &l, sk,
	    sizeof(sk), why, sizeof(why)), -1);
	ck_assert_int_eq(pseudonym_check_on("Die Moderation von Heute", cfg,
	    &l, sk, sizeof(sk), why, sizeof(why)), -1);
	/* look-alikes of the words too: a Cyrillic capital A */
	ck_assert_int_eq(pseudonym_check_on("\xd0\x90nonym Fox", cfg, &l, sk,
	    sizeof(sk), why, sizeof(why)), -1);
	/* "via" is not this list's word for anything; inside a word, no word */
	ck_assert_int_eq(pseudonym_check_on("Bob via Berlin", cfg, &l, sk,
	    sizeof(sk), why, sizeof(why)), 0);
	ck_assert_int_eq(pseudonym_check_on("Anonymity Fox", cfg, &l, sk,
	    sizeof(sk), why, sizeof(why)), 0);
	config_free(cfg);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

/*
 * a look-up finds a name the list's words allowed, whatever the shipped
 * English says (attack10c F2), and refuses what no name can be
 */
START_TEST(a_lookup_checks_the_form_not_the_words)
{
	char a[SKELETON_MAX], b[SKELETON_MAX], why[160];

	ck_assert_int_eq(pseudonym_key("Bob via Berlin", a, sizeof(a)), 0);
	ck_assert_int_eq(pseudonym_check("Bob Berlin", b, sizeof(b), why,
	    sizeof(why)), 0);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(pseudonym_key("B\xd0\xbe" "b via Berlin", b,
	    sizeof(b)), 0);
	ck_assert_str_eq(a, b);
	ck_assert_int_eq(pseudonym_key("a@b.example", a, sizeof(a)), -1);
	ck_assert_int_eq(pseudonym_key("", a, sizeof(a)), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pseudonym");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, look_alikes_share_a_key, 0,
	    sizeof(same) / sizeof(same[0]));
	tcase_add_test(tc, different_names_differ);
	tcase_add_loop_test(tc, refused_names, 0,
	    sizeof(refused) / sizeof(refused[0]));
	tcase_add_test(tc, the_list_name_is_a_role_word);
	tcase_add_test(tc, the_lists_words_as_configured);
	tcase_add_test(tc, a_lookup_checks_the_form_not_the_words);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
