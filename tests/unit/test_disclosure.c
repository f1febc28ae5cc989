/* test_disclosure.c - what each reader may learn: tables over the list's rules and the reader. */
#include "testutil.h"
#include "../../mlistd/mail/audit.h"
#include "../../mlistd/pipeline/disclosure.h"

#define DAY	86400LL
#define NOW	(1000 * DAY)

static struct list_cfg list;

static void
setup(void)
{
	memset(&list, 0, sizeof(list));
	list.name = "demo";
	list.identity = ID_PSEUDONYM;
	list.visibility = VIS_HIDDEN;
	list.roster = WHO_MODERATORS;
	list.member_count = WHO_MEMBERS;
	list.archive_who = WHO_MEMBERS;
	list.audit_who = WHO_MEMBERS;
	list.since_join = 1;
	list.notify_unmasked = 1;
}

/* rule x reader: every cell of enum who against every reader */
static const struct { int rule, reader, allowed; } allows[] = {
	{ WHO_NONE, READER_ANYONE, 0 }, { WHO_NONE, READER_MEMBER, 0 }, { WHO_NONE, READER_MODERATOR, 0 },
	{ WHO_NONE, READER_OPERATOR, 0 },
	{ WHO_MODERATORS, READER_ANYONE, 0 }, { WHO_MODERATORS, READER_MEMBER, 0 },
	{ WHO_MODERATORS, READER_MODERATOR, 1 }, { WHO_MODERATORS, READER_OPERATOR, 1 },
	{ WHO_MEMBERS, READER_ANYONE, 0 }, { WHO_MEMBERS, READER_MEMBER, 1 }, { WHO_MEMBERS, READER_MODERATOR, 1 },
	{ WHO_PUBLIC, READER_ANYONE, 1 }, { WHO_PUBLIC, READER_MEMBER, 1 },
};

START_TEST(rule_against_reader)
{
	ck_assert_int_eq(disclosure_allows(allows[_i].rule, allows[_i].reader), allows[_i].allowed);
	list.roster = allows[_i].rule;
	list.member_count = allows[_i].rule;
	ck_assert_int_eq(disclosure_roster(&list, allows[_i].reader), allows[_i].allowed);
	ck_assert_int_eq(disclosure_member_count(&list, allows[_i].reader), allows[_i].allowed);
}
END_TEST

/* the reader's level from their role, join date and the list's probation */
static const struct { int member; enum role role; long long joined; int probation_days, level; } readers[] = {
	{ 0, ROLE_MEMBER, 0, 0, READER_ANYONE },
	{ 1, ROLE_MEMBER, NOW - 5 * DAY, 0, READER_MEMBER },
	{ 1, ROLE_MEMBER, NOW - 5 * DAY, 30, READER_ANYONE },		/* on probation: a stranger */
	{ 1, ROLE_MEMBER, NOW - 40 * DAY, 30, READER_MEMBER },
	{ 1, ROLE_MODERATOR, NOW, 30, READER_MODERATOR },		/* moderators are never on probation */
	{ 1, ROLE_OWNER, NOW, 0, READER_MODERATOR },
};

START_TEST(reader_levels)
{
	list.probation_days = readers[_i].probation_days;
	ck_assert_int_eq(disclosure_reader(&list, readers[_i].member ? &readers[_i].role : NULL,
	    readers[_i].joined, NOW), readers[_i].level);
}
END_TEST

/* the archive: who reads, and from when */
static const struct { int who, since_join, reader, allowed; long long since; } archive[] = {
	{ WHO_MEMBERS, 1, READER_ANYONE, 0, 0 },
	{ WHO_MEMBERS, 1, READER_MEMBER, 1, NOW - 3 * DAY },	/* a newcomer reads from the day they joined */
	{ WHO_MEMBERS, 0, READER_MEMBER, 1, 0 },
	{ WHO_MEMBERS, 1, READER_MODERATOR, 1, 0 },
	{ WHO_MEMBERS, 1, READER_OPERATOR, 1, 0 },
	{ WHO_PUBLIC, 1, READER_ANYONE, 1, 0 },
	{ WHO_PUBLIC, 1, READER_MEMBER, 1, 0 },			/* not less than a stranger reads */
	{ WHO_NONE, 0, READER_OPERATOR, 0, 0 },
};

START_TEST(archive_reading)
{
	long long since = -1;

	list.archive_who = archive[_i].who;
	list.since_join = archive[_i].since_join;
	ck_assert_int_eq(disclosure_archive(&list, archive[_i].reader, NOW - 3 * DAY, &since), archive[_i].allowed);
	ck_assert_int_eq(since, archive[_i].since);
	if (!archive[_i].allowed)	/* a refused reader is told why: by the rule */
		ck_assert_int_eq(disclosure_archive_refusal(&list),
		    list.archive_who == WHO_NONE ? PIECE_ARCHIVE_NO_ARCHIVE :
		    list.archive_who == WHO_MODERATORS ?
		    PIECE_ARCHIVE_MODERATORS : PIECE_ARCHIVE_MEMBERS);
}
END_TEST

START_TEST(digest_since_join)
{
	ck_assert_int_eq(disclosure_archive_since(&list, NOW - DAY), NOW - DAY);
	list.since_join = 0;
	ck_assert_int_eq(disclosure_archive_since(&list, NOW - DAY), 0);
}
END_TEST

START_TEST(leaders_and_authors)
{
	ck_assert_int_eq(disclosure_leaders(&list, READER_MEMBER), 0);
	ck_assert_int_eq(disclosure_leaders(&list, READER_MODERATOR), 0);
	ck_assert_int_eq(disclosure_leaders(&list, READER_OPERATOR), 1);
	list.visibility = VIS_ROLES;
	ck_assert_int_eq(disclosure_leaders(&list, READER_ANYONE), 1);
	ck_assert_int_eq(disclosure_author_address(&list, ID_PSEUDONYM), 0);
	ck_assert_int_eq(disclosure_author_address(&list, ID_ANONYMOUS), 0);
	ck_assert_int_eq(disclosure_author_address(&list, ID_REAL), 1);
	list.moderators_see = 1;
	ck_assert_int_eq(disclosure_author_address(&list, ID_PSEUDONYM), 1);
}
END_TEST

/* visibility -> how a moderator is shown, to every reader alike */
static const struct { int visibility, shown; } leaders[] = {
	{ VIS_HIDDEN, LEADER_NOTHING },
	{ VIS_ROLES, LEADER_HANDLE },
	{ VIS_NAMED, LEADER_PERSON },
};

START_TEST(leader_shown)
{
	list.visibility = leaders[_i].visibility;
	ck_assert_int_eq(disclosure_leader(&list), leaders[_i].shown);
}
END_TEST

/* a named list's identity x what the moderator has -> the field shown */
static const struct { int identity; const char *pseudonym, *name; int field; } people[] = {
	{ ID_PSEUDONYM, "Red Fly", NULL, PERSON_PSEUDONYM },
	{ ID_PSEUDONYM, NULL, "Ann Smith", PERSON_ROLE },	/* no name leaks */
	{ ID_ANONYMOUS, NULL, "Ann Smith", PERSON_ROLE },
	{ ID_ANONYMOUS, "Red Fly", NULL, PERSON_PSEUDONYM },
	{ ID_REAL, NULL, "Ann Smith", PERSON_NAME },
	{ ID_REAL, NULL, "", PERSON_ADDRESS },
	{ ID_REAL, NULL, NULL, PERSON_ADDRESS },
	{ ID_REAL, "Red Fly", "Ann Smith", PERSON_PSEUDONYM },
};

START_TEST(leader_person)
{
	struct member m;

	memset(&m, 0, sizeof(m));
	m.addr = "ann@example.org";
	m.role = ROLE_MODERATOR;
	m.pseudonym = (char *)people[_i].pseudonym;
	m.name = (char *)people[_i].name;
	list.visibility = VIS_NAMED;
	list.identity = people[_i].identity;
	ck_assert_int_eq(disclosure_leader_person(&list, &m),
	    people[_i].field);
}
END_TEST

/* moderators_see x the writer's mode -> LIST-owner@ mail masked */
static const struct { int see, mode, masked; } owner[] = {
	{ 0, ID_PSEUDONYM, 1 }, { 0, ID_ANONYMOUS, 1 }, { 0, ID_REAL, 0 },
	{ 0, DISCLOSURE_ANY_MODE, 1 },
	{ 1, ID_PSEUDONYM, 0 }, { 1, ID_ANONYMOUS, 0 }, { 1, ID_REAL, 0 },
	{ 1, DISCLOSURE_ANY_MODE, 0 },	/* nothing to compose: as it came */
};

START_TEST(owner_copy)
{
	list.moderators_see = owner[_i].see;
	ck_assert_int_eq(disclosure_owner_masked(&list, owner[_i].mode),
	    owner[_i].masked);
	/* never more than a held-post notice shows the same moderators */
	if (owner[_i].mode != DISCLOSURE_ANY_MODE)
		ck_assert_int_eq(!disclosure_owner_masked(&list,
		    owner[_i].mode), disclosure_author_address(&list,
		    owner[_i].mode));
}
END_TEST

/* publish_rejections x refusal -> members told, author told, notice warns */
static const struct { int publish, refusal, members, author, warns; }
    refusals[] = {
	{ 0, REFUSAL_REJECT, 0, 1, 0 },
	{ 0, REFUSAL_DISCARD, 0, 0, 0 },
	{ 1, REFUSAL_REJECT, 1, 1, 1 },
	{ 1, REFUSAL_DISCARD, 1, 0, 1 },	/* a discard is published too */
};

START_TEST(refusal_readers)
{
	list.publish_rejections = refusals[_i].publish;
	ck_assert_int_eq(disclosure_refusal_published(&list,
	    refusals[_i].refusal), refusals[_i].members);
	ck_assert_int_eq(disclosure_refusal_author(&list,
	    refusals[_i].refusal), refusals[_i].author);
	ck_assert_int_eq(disclosure_hold_warns(&list), refusals[_i].warns);
}
END_TEST

START_TEST(request_states)
{
	ck_assert_int_eq(disclosure_request_state("new", NOW + 1, NOW), DREQ_PENDING);
	ck_assert_int_eq(disclosure_request_state("asked", NOW + 1, NOW), DREQ_PENDING);
	ck_assert_int_eq(disclosure_request_state("asked", NOW, NOW), DREQ_CLOSED);	/* expired, undecided */
	ck_assert_int_eq(disclosure_request_state("done", 0, NOW), DREQ_DONE);
	ck_assert_int_eq(disclosure_request_state("used", 0, NOW), DREQ_DONE);
	ck_assert_int_eq(disclosure_request_state("announce", 0, NOW), DREQ_DONE);
	ck_assert_int_eq(disclosure_request_state("bogus", NOW + 1, NOW), DREQ_CLOSED);
}
END_TEST

/*
 * The audit log: entry as written, the request's facts, the list, the
 * reader; what must and must not appear in what they are shown.
 */
static const struct {
	const char	*actor, *action, *detail;
	int		 rq_state;
	const char	*rq_action;
	int		 visibility, notify_unmasked, reader;
	const char	*shown_actor, *must, *must_not;
} audit[] = {
	/* hidden leadership: a member learns that the leadership changed, never whose number */
	{ "operator", "roles", "member #5 is now moderator", DREQ_NONE, "", VIS_HIDDEN, 1, READER_MEMBER,
	  "operator", "a change in the list's leadership", "#5" },
	{ "moderators", "roles", "member #5 to become moderator (2 moderators agreed): done", DREQ_NONE, "",
	  VIS_HIDDEN, 1, READER_MEMBER, "moderators", "leadership", "#5" },
	{ "operator", "request", "request 4 opened: member #5 to become moderator", DREQ_PENDING, "roles",
	  VIS_HIDDEN, 1, READER_MEMBER, "operator", "a request opened: a change", "#5" },
	/* hidden: a request keeps no number (the gaps would count those not listed) */
	{ "operator", "request", "request 4 opened: member #7 to be banned", DREQ_PENDING, "ban",
	  VIS_HIDDEN, 1, READER_MEMBER, "operator", "a request opened: member #7", "request 4" },
	{ "operator", "request", "request 4 opened: member #7 to be banned", DREQ_PENDING, "ban",
	  VIS_ROLES, 1, READER_MEMBER, "operator", "request 4 opened: member #7", NULL },
	{ "operator", "roles", "emergency, without the quorum: member #5 to become owner", DREQ_NONE, "",
	  VIS_HIDDEN, 1, READER_ANYONE, "operator", "emergency", "#5" },
	/* ... a moderator reads it as written; a list with visible roles shows it to members */
	{ "operator", "roles", "member #5 is now moderator", DREQ_NONE, "", VIS_HIDDEN, 1, READER_MODERATOR,
	  "operator", "member #5 is now moderator", NULL },
	{ "operator", "roles", "member #5 is now moderator", DREQ_NONE, "", VIS_ROLES, 1, READER_MEMBER,
	  "operator", "member #5 is now moderator", NULL },
	/* hidden: no handle, no count of those who agreed */
	{ "moderator mod-3f9a", "approve", "held post X (moderated)", DREQ_NONE, "", VIS_HIDDEN, 1, READER_MEMBER,
	  "moderator", "held post X", "mod-3f9a" },
	{ "moderators", "ban", "member #7 (3 moderators agreed): done", DREQ_NONE, "", VIS_HIDDEN, 1,
	  READER_MEMBER, "moderators", "member #7 (a quorum of moderators agreed): done", "3 moderators" },
	{ "moderator mod-3f9a", "approve", "held post X (moderated)", DREQ_NONE, "", VIS_ROLES, 1, READER_MEMBER,
	  "moderator mod-3f9a", "held post X", NULL },
	/* an unmasking names no pseudonym to members while it is pending, nor if it lapsed */
	{ "operator", "request", "request 3 opened: the pseudonym \"Red Fly\"", DREQ_PENDING, "unmask",
	  VIS_ROLES, 1, READER_MEMBER, "operator", "request 3 opened: an unmasking", "Red Fly" },
	{ "operator", "request", "request 3 opened: the pseudonym \"Red Fly\"", DREQ_CLOSED, "unmask",
	  VIS_HIDDEN, 1, READER_ANYONE, "operator", "an unmasking", "Red Fly" },
	{ "operator", "request", "request 3 opened: the pseudonym \"Red Fly\"", DREQ_PENDING, "unmask",
	  VIS_HIDDEN, 1, READER_MODERATOR, "operator", "Red Fly", NULL },
	/* decided: named when the list tells the unmasked member anyway, otherwise not */
	{ "operator", "request", "request 3 opened: the pseudonym \"Red Fly\"", DREQ_DONE, "unmask",
	  VIS_HIDDEN, 1, READER_MEMBER, "operator", "Red Fly", NULL },
	{ "operator", "request", "request 3 opened: the pseudonym \"Red Fly\"", DREQ_DONE, "unmask",
	  VIS_HIDDEN, 0, READER_MEMBER, "operator", "an unmasking", "Red Fly" },
	{ "moderators", "unmask", "the pseudonym \"Red Fly\" (3 moderators agreed): done", DREQ_NONE, "",
	  VIS_HIDDEN, 1, READER_MEMBER, "moderators", "Red Fly", "3 moderators" },
	{ "moderators", "unmask", "the pseudonym \"Red Fly\" (3 moderators agreed): done", DREQ_NONE, "",
	  VIS_HIDDEN, 0, READER_MEMBER, "moderators", "not disclosed", "Red Fly" },
	/* a request whose state is unknown shows the least */
	{ "operator", "request", "request 9 opened: the pseudonym \"Red Fly\"", DREQ_NONE, "", VIS_NAMED, 1,
	  READER_MEMBER, "operator", "request 9 opened", "Red Fly" },
	/* the operator reads everything as written */
	{ "operator", "request", "request 3 opened: the pseudonym \"Red Fly\"", DREQ_NONE, "", VIS_HIDDEN, 0,
	  READER_OPERATOR, "operator", "Red Fly", NULL },
	/* what the rules do not touch passes as written */
	{ "moderator", "discipline", "member #8: step 1, a private warning", DREQ_NONE, "", VIS_HIDDEN, 0,
	  READER_MEMBER, "moderator", "member #8: step 1", NULL },
	/* coded entries (audit.h): the same rules, over codes and arguments */
	{ "operator", "request", "@request\tid=4\tof=roles-asked\tmember=member #5"
	  "\trole=moderator", DREQ_PENDING, "roles", VIS_HIDDEN, 1,
	  READER_MEMBER, "operator", "a request opened: a change in the list's "
	  "leadership", "#5" },
	{ "operator", "request", "@request\tid=4\tof=roles-asked\tmember=member #5"
	  "\trole=moderator", DREQ_PENDING, "roles", VIS_ROLES, 1,
	  READER_MEMBER, "operator", "request 4 opened: member #5 to become "
	  "moderator", NULL },
	{ "operator", "request", "@request\tid=4\tof=ban\tmember=member #7",
	  DREQ_PENDING, "ban", VIS_HIDDEN, 1, READER_MEMBER, "operator",
	  "a request opened: member #7", "4" },
	{ "operator", "request", "@request\tid=3\tof=unmask-named"
	  "\tpseudonym=Red Fly", DREQ_PENDING, "unmask", VIS_ROLES, 1,
	  READER_MEMBER, "operator", "request 3 opened: an unmasking (the "
	  "pseudonym is not disclosed while", "Red Fly" },
	{ "operator", "request", "@request\tid=3\tof=unmask\tref=pseudonym "
	  "0123456789", DREQ_CLOSED, "unmask", VIS_ROLES, 1, READER_MEMBER,
	  "operator", "request 3 opened: an unmasking (the pseudonym is not "
	  "disclosed)", "0123456789" },
	{ "operator", "request", "@request\tid=3\tof=unmask-named"
	  "\tpseudonym=Red Fly", DREQ_DONE, "unmask", VIS_ROLES, 1,
	  READER_MEMBER, "operator", "request 3 opened: the pseudonym \"Red "
	  "Fly\"", NULL },
	{ "operator", "request", "@request\tid=9\tof=unmask-named"
	  "\tpseudonym=Red Fly", DREQ_NONE, "", VIS_NAMED, 1, READER_MEMBER,
	  "operator", "request 9 opened: a request of the leadership", "Red" },
	{ "moderators", "ban", "@quorum\tof=ban\tmember=member #7"
	  "\tagreed=moderators\tvotes=3\tresult=done", DREQ_NONE, "",
	  VIS_HIDDEN, 1, READER_MEMBER, "moderators", "member #7 (a quorum of "
	  "moderators agreed): done", "3" },
	{ "moderators", "ban", "@quorum\tof=ban\tmember=member #7"
	  "\tagreed=moderators\tvotes=3\tresult=not-applied", DREQ_NONE, "",
	  VIS_ROLES, 1, READER_MEMBER, "moderators", "member #7 (3 moderators "
	  "agreed): not applied: no longer possible", NULL },
	{ "moderators", "unmask", "@quorum\tof=unmask-named\tpseudonym=Red Fly"
	  "\tagreed=moderators\tvotes=2\tresult=done", DREQ_NONE, "",
	  VIS_HIDDEN, 0, READER_MEMBER, "moderators", "a member's pseudonym "
	  "(not disclosed: the list does not tell the member unmasked) (a "
	  "quorum of moderators agreed): done", "Red" },
	{ "operator", "roles", "@emergency\tof=roles\tmember=member #5"
	  "\trole=owner", DREQ_NONE, "", VIS_HIDDEN, 1, READER_ANYONE,
	  "operator", "emergency, without the quorum: a change in the list's "
	  "leadership", "#5" },
	{ "operator", "roles", "@emergency\tof=roles\tmember=member #5"
	  "\trole=owner", DREQ_NONE, "", VIS_HIDDEN, 1, READER_MODERATOR,
	  "operator", "emergency, without the quorum: member #5 is now owner",
	  NULL },
	{ "moderators", "admit", "@admit\tmember=member #9\tagreed=moderators"
	  "\tvotes=2", DREQ_NONE, "", VIS_HIDDEN, 1, READER_MEMBER,
	  "moderators", "member #9 (a quorum of moderators agreed)", "2" },
	{ "members", "admit", "@admit\tmember=member #9\tagreed=members"
	  "\tvotes=2", DREQ_NONE, "", VIS_HIDDEN, 1, READER_MEMBER,
	  "members", "member #9 (2 members vouched)", NULL },
};

static struct notices *shipped;

/* words - what a reader is shown of v: its detail in the shipped words */
static void
words(const struct audit_view *v, char *out, size_t n)
{
	struct notice_ctx ctx = { "demo", "lists.example" };
	struct buf err;

	buf_init(&err, 0);
	if (shipped == NULL)
		ck_assert_int_eq(notices_load("conf/templates/notices", 1,
		    &shipped, &err), 0);
	buf_free(&err);
	audit_render(NULL, shipped, &ctx, v->detail, out, n);
}

START_TEST(audit_entries)
{
	struct disclosure_request rq;
	struct audit_entry e;
	struct audit_view v;
	char shown[600];

	memset(&e, 0, sizeof(e));
	snprintf(e.actor, sizeof(e.actor), "%s", audit[_i].actor);
	snprintf(e.action, sizeof(e.action), "%s", audit[_i].action);
	snprintf(e.detail, sizeof(e.detail), "%s", audit[_i].detail);
	memset(&rq, 0, sizeof(rq));
	rq.state = audit[_i].rq_state;
	snprintf(rq.action, sizeof(rq.action), "%s", audit[_i].rq_action);
	list.visibility = audit[_i].visibility;
	list.notify_unmasked = audit[_i].notify_unmasked;
	disclosure_audit_entry(&list, audit[_i].reader, &e, &rq, &v);
	ck_assert_str_eq(v.actor, audit[_i].shown_actor);
	ck_assert_str_eq(v.action, audit[_i].action);
	words(&v, shown, sizeof(shown));
	ck_assert_msg(strstr(shown, audit[_i].must) != NULL,
	    "\"%s\" lacks \"%s\"", shown, audit[_i].must);
	/* what is hidden is not in the view either, nor in its words */
	if (audit[_i].must_not)
		ck_assert_msg(strstr(shown, audit[_i].must_not) == NULL &&
		    strstr(v.detail, audit[_i].must_not) == NULL,
		    "\"%s\" (%s) shows \"%s\"", shown, v.detail,
		    audit[_i].must_not);
}
END_TEST

/*
 * an entry written before the codes: on a hidden leadership the count of
 * who agreed is worded by [audit-agreed-quorum], the list's own words if
 * it rewords them, the shipped English byte for byte otherwise
 */
START_TEST(legacy_count_worded_by_the_piece)
{
	struct notice_ctx ctx = { "demo", "lists.example" };
	struct disclosure_request rq;
	struct audit_entry e;
	struct audit_view v;
	struct notices *mine;
	char shown[600], *dir = tu_tmpdir(), path[4200];
	struct buf err;
	FILE *f;

	memset(&e, 0, sizeof(e));
	memset(&rq, 0, sizeof(rq));
	snprintf(e.actor, sizeof(e.actor), "moderators");
	snprintf(e.action, sizeof(e.action), "ban");
	snprintf(e.detail, sizeof(e.detail),
	    "member #7 (3 moderators agreed): done");
	list.visibility = VIS_HIDDEN;
	disclosure_audit_entry(&list, READER_MEMBER, &e, &rq, &v);
	ck_assert_ptr_null(strstr(v.detail, "3"));
	words(&v, shown, sizeof(shown));
	ck_assert_str_eq(shown,
	    "member #7 (a quorum of moderators agreed): done");
	snprintf(path, sizeof(path), "%s/pieces", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("[audit-agreed-quorum]\n (ein Quorum stimmte zu)\n", f);
	ck_assert_int_eq(fclose(f), 0);
	buf_init(&err, 0);
	ck_assert_int_eq(notices_load(dir, 0, &mine, &err), 0);
	buf_free(&err);
	audit_render(mine, shipped, &ctx, v.detail, shown, sizeof(shown));
	ck_assert_str_eq(shown, "member #7 (ein Quorum stimmte zu): done");
	notices_free(mine);
	free(dir);
}
END_TEST

/*
 * Which entries are listed at all: on a hidden leadership a member's view
 * has no role change, done or asked for (their count bounds the moderators)
 */
static const struct {
	const char	*action;
	int		 rq_state;
	const char	*rq_action;
	int		 visibility, reader, listed, renumbered;
} listing[] = {
	{ "roles", DREQ_NONE, "", VIS_HIDDEN, READER_MEMBER, 0, 1 },
	{ "roles", DREQ_NONE, "", VIS_HIDDEN, READER_ANYONE, 0, 1 },
	{ "request", DREQ_PENDING, "roles", VIS_HIDDEN, READER_MEMBER, 0, 1 },
	{ "request", DREQ_DONE, "roles", VIS_HIDDEN, READER_MEMBER, 0, 1 },
	{ "request", DREQ_PENDING, "unmask", VIS_HIDDEN, READER_MEMBER, 1, 1 },
	{ "admit", DREQ_NONE, "", VIS_HIDDEN, READER_MEMBER, 1, 1 },
	/* the moderators and the operator read every entry, by its own number */
	{ "roles", DREQ_NONE, "", VIS_HIDDEN, READER_MODERATOR, 1, 0 },
	{ "request", DREQ_PENDING, "roles", VIS_HIDDEN, READER_OPERATOR, 1, 0 },
	/* visible roles: members read them */
	{ "roles", DREQ_NONE, "", VIS_ROLES, READER_MEMBER, 1, 0 },
	{ "request", DREQ_PENDING, "roles", VIS_NAMED, READER_MEMBER, 1, 0 },
};

START_TEST(audit_listing)
{
	struct disclosure_request rq;
	struct audit_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.action, sizeof(e.action), "%s", listing[_i].action);
	snprintf(e.detail, sizeof(e.detail), "%s", strcmp(listing[_i].action,
	    "request") ? "member #5 is now moderator" : "request 4 opened: x");
	memset(&rq, 0, sizeof(rq));
	rq.state = listing[_i].rq_state;
	snprintf(rq.action, sizeof(rq.action), "%s", listing[_i].rq_action);
	list.visibility = listing[_i].visibility;
	ck_assert_int_eq(disclosure_audit_listed(&list, listing[_i].reader, &e,
	    &rq), listing[_i].listed);
	ck_assert_int_eq(disclosure_audit_renumbered(&list, listing[_i].reader),
	    listing[_i].renumbered);
}
END_TEST

START_TEST(audit_request_ids)
{
	struct audit_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.action, sizeof(e.action), "request");
	snprintf(e.detail, sizeof(e.detail), "request 12 opened: the pseudonym \"X\"");
	ck_assert_int_eq(disclosure_audit_request(&e), 12);
	snprintf(e.detail, sizeof(e.detail), "request twelve opened");
	ck_assert_int_eq(disclosure_audit_request(&e), 0);
	snprintf(e.detail, sizeof(e.detail), "request 12");
	ck_assert_int_eq(disclosure_audit_request(&e), 0);
	snprintf(e.action, sizeof(e.action), "ban");
	snprintf(e.detail, sizeof(e.detail), "request 12 opened: x");
	ck_assert_int_eq(disclosure_audit_request(&e), 0);
	ck_assert_int_eq(disclosure_audit(&list, READER_ANYONE), 0);
	ck_assert_int_eq(disclosure_audit(&list, READER_MEMBER), 1);
	list.audit_who = WHO_NONE;
	ck_assert_int_eq(disclosure_audit(&list, READER_MODERATOR), 0);
	ck_assert_int_eq(disclosure_audit(&list, READER_OPERATOR), 1);
}
END_TEST

#define N(a)	((int)(sizeof(a) / sizeof((a)[0])))

int
main(void)
{
	Suite *s = suite_create("disclosure");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_loop_test(tc, rule_against_reader, 0, N(allows));
	tcase_add_loop_test(tc, reader_levels, 0, N(readers));
	tcase_add_loop_test(tc, archive_reading, 0, N(archive));
	tcase_add_test(tc, digest_since_join);
	tcase_add_test(tc, leaders_and_authors);
	tcase_add_loop_test(tc, leader_shown, 0, N(leaders));
	tcase_add_loop_test(tc, leader_person, 0, N(people));
	tcase_add_loop_test(tc, owner_copy, 0, N(owner));
	tcase_add_loop_test(tc, refusal_readers, 0, N(refusals));
	tcase_add_test(tc, request_states);
	tcase_add_loop_test(tc, audit_entries, 0, N(audit));
	tcase_add_test(tc, legacy_count_worded_by_the_piece);
	tcase_add_loop_test(tc, audit_listing, 0, N(listing));
	tcase_add_test(tc, audit_request_ids);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
