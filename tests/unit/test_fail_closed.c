/*
 * test_fail_closed.c - the callers of the store on a database that fails
 * (#15): an error is never read as "none". A rendered or held copy is not
 * swept, a message not removed nor handled again, a suspension, a
 * moderator's step or a confirm token not passed; and the delivery journal
 * is read before due deliveries are chosen. The database is made to fail
 * behind the store's back (tables dropped, or a trigger that aborts a
 * write), as test_store.c does; each test first shows the same call doing
 * its work on a good database. The delivery state is per process: the
 * tests rely on Check's fork mode (the default).
 */
#include "testutil.h"
#include <sqlite3.h>

#include "../../mlistd/mail/config.h"
#include "../../mlistd/mail/spool.h"
#include "../../mlistd/mail/store.h"
#include "../../mlistd/delivery/deliver.h"
#include "../../mlistd/leadership/confirm.h"
#include "../../mlistd/leadership/discipline.h"
#include "../../mlistd/pipeline/pipeline.h"
#include "../../mlistd/pipeline/tokens.h"
#include "../../mlistd/qmgr/incoming.h"
#include "../../mlistd/qmgr/order.h"
#include "../../mlistd/qmgr/qmgr.h"

/* dir, keys, st (its database at dbpath); setup and teardown */
TU_STORE_FIXTURE

static struct spool sp;
static struct config *cfg;
static struct list_cfg demo;
static struct pipeline p;

/* fixture - the store's, a spool and an instance beside it, a pipeline */
static void
fixture(void)
{
	struct buf err;

	setup();
	cfg = tu_instance(dir, NULL);
	buf_init(&err, 0);
	ck_assert_int_eq(spool_open(&sp, cfg->state_dir, keys, &err), 0);
	buf_free(&err);
	/* a copy: each test sets the list as it needs */
	demo = *config_list_find(cfg, "demo");
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.st = st;
	p.sp = &sp;
	p.keys = keys;
	p.qid = "NOQUEUE";
	p.now = (long long)time(NULL);
}

/* unfixture - the pipeline and the instance freed, then the store's */
static void
unfixture(void)
{
	pipeline_free(&p);
	config_free(cfg);
	teardown();
}

/* raw_exec - SQL straight on the database file, behind the store's back */
static void
raw_exec(const char *sql)
{
	tu_sql(dbpath, sql);
}

/* put - a file spooled in d (a rendered copy, or mail to rcpt); its id */
static void
put(enum spool_dir d, const char *rcpt, char id[QID_LEN + 1])
{
	static const char msg[] = "From: <alice@example.org>\r\n"
	    "Subject: hi\r\n\r\nhi\r\n";
	struct envelope e = { 0 };
	struct spool_writer w;

	e.sender = (char *)"alice@example.org";
	e.client = (char *)"";
	e.received = p.now;
	if (rcpt)
		ck_assert_int_eq(envelope_add_rcpt(&e, rcpt), 0);
	ck_assert_int_eq(spool_begin(&sp, d, &e, &w), OK);
	ck_assert_int_eq(spool_write(&w, msg, sizeof(msg) - 1), OK);
	ck_assert_int_eq(spool_commit(&w), OK);
	memcpy(id, w.id, QID_LEN + 1);
	for (int i = 0; i < e.nrcpts; i++)
		free(e.rcpts[i]);
	free(e.rcpts);
}

/* sweep_keeps - a copy nothing is known to refer to, swept after sql */
static void
sweep_keeps(const char *sql)
{
	char gone[QID_LEN + 1], kept[QID_LEN + 1];

	/* a good database: a copy without deliveries is an orphan */
	put(SPOOL_OUT, NULL, gone);
	qmgr_recover(&p);
	ck_assert_int_eq(spool_exists(&sp, SPOOL_OUT, gone), 0);
	put(SPOOL_OUT, NULL, kept);
	raw_exec(sql);
	qmgr_recover(&p);
	ck_assert_msg(spool_exists(&sp, SPOOL_OUT, kept) == 1,
	    "swept although the look-up failed (%s)", sql);
}

/* 1: the pending deliveries cannot be read: the out/ copy stays */
START_TEST(orphan_sweep_keeps_copy_when_deliveries_fail)
{
	sweep_keeps("PRAGMA foreign_keys=OFF; DROP TABLE deliveries;");
}
END_TEST

/* 2: "is it held" cannot be answered: the held copy stays */
START_TEST(orphan_sweep_keeps_copy_when_held_fails)
{
	sweep_keeps("PRAGMA foreign_keys=OFF; DROP TABLE held;");
}
END_TEST

/*
 * 3: "was it processed" fails: the incoming file is neither removed as
 * processed nor handled again (read, routed, quarantined); it waits
 */
START_TEST(processed_error_leaves_the_message)
{
	struct order *o = order_new();
	char done[QID_LEN + 1], id[QID_LEN + 1];
	size_t len;

	ck_assert_ptr_nonnull(o);
	/* a good database: a message processed before a restart is removed */
	put(SPOOL_INCOMING, "demo@lists.example", done);
	ck_assert_int_eq(store_mark_processed(st, done, "demo", "posted"), 0);
	ck_assert_int_eq(incoming_process(&p, o, done, NULL, &len), PASS_NONE);
	ck_assert_int_eq(spool_exists(&sp, SPOOL_INCOMING, done), 0);
	put(SPOOL_INCOMING, "demo@lists.example", id);
	raw_exec("PRAGMA foreign_keys=OFF; DROP TABLE processed;");
	ck_assert_int_eq(incoming_process(&p, o, id, NULL, &len), PASS_NONE);
	ck_assert_msg(spool_exists(&sp, SPOOL_INCOMING, id) == 1,
	    "the message left incoming/ although \"processed?\" failed");
	ck_assert_int_eq(len, 0);	/* not even read */
	order_free(o);
}
END_TEST

/* 4a: a suspension that cannot be read is an error, never "not suspended" */
START_TEST(suspension_error_is_not_allowed)
{
	char day[32];

	ck_assert_int_eq(discipline_suspended(&p, &demo, "bob@example.org",
	    day, sizeof(day)), 0);
	ck_assert_int_eq(store_discipline_step(st, "demo", "bob@example.org",
	    p.now + 86400), STORE_OK);
	ck_assert_int_eq(discipline_suspended(&p, &demo, "bob@example.org",
	    day, sizeof(day)), 1);
	raw_exec("PRAGMA foreign_keys=OFF; DROP TABLE discipline;");
	ck_assert_int_lt(discipline_suspended(&p, &demo, "carol@example.org",
	    day, sizeof(day)), 0);
	ck_assert_int_lt(discipline_suspended(&p, &demo, "bob@example.org",
	    day, sizeof(day)), 0);
	/* and a ban that cannot be read is no "not banned" */
	raw_exec("PRAGMA foreign_keys=OFF; DROP TABLE bans;");
	ck_assert_int_eq(store_banned(st, "demo", "bob@example.org"),
	    STORE_ERR);
}
END_TEST

/*
 * 4b: a moderator's confirmed step whose member's record cannot be read:
 * an error, and the member is neither suspended nor removed
 */
static void
step_fails(const char *sql)
{
	struct member m;
	struct buf res;
	long long bob;

	demo.discipline = (char *)"suspend:30";
	demo.discipline_days = 7;
	ck_assert_int_eq(store_member_add(st, "demo", "mod@example.org",
	    NULL), STORE_OK);
	ck_assert_int_eq(store_member_set(st, "demo", "mod@example.org",
	    "role", "moderator"), STORE_OK);
	ck_assert_int_eq(store_member_add(st, "demo", "bob@example.org",
	    NULL), STORE_OK);
	ck_assert_int_eq(store_member_find(st, "demo", "bob@example.org", &m),
	    STORE_OK);
	bob = m.id;
	member_free(&m);
	buf_init(&res, 0);
	if (sql == NULL) {	/* a good database: bob is suspended */
		ck_assert_int_eq(discipline_apply(&p, &demo, "mod@example.org",
		    bob, "spam", &res), 0);
		ck_assert_int_eq(store_member_find(st, "demo",
		    "bob@example.org", &m), STORE_NOTFOUND);
		buf_free(&res);
		return;
	}
	raw_exec(sql);
	ck_assert_int_lt(discipline_apply(&p, &demo, "mod@example.org", bob,
	    "spam", &res), 0);
	ck_assert_int_eq(store_member_find(st, "demo", "bob@example.org", &m),
	    STORE_OK);
	member_free(&m);
	buf_free(&res);
}

START_TEST(step_taken_on_a_good_database)
{
	step_fails(NULL);
}
END_TEST

START_TEST(step_error_when_steps_fail)
{
	step_fails("PRAGMA foreign_keys=OFF; DROP TABLE discipline;");
}
END_TEST

START_TEST(step_error_when_last_step_fails)
{
	step_fails("PRAGMA foreign_keys=OFF; DROP TABLE discipline_last;");
}
END_TEST

/* 4c: a confirm token that cannot be looked up: an error, retried */
START_TEST(token_error_is_not_ignored_nor_ok)
{
	static const char text[] = "From: <alice@example.org>\r\n"
	    "Subject: Re: confirm\r\n\r\nyes\r\n";
	struct envelope e = { 0 };
	struct listaddr la;
	struct why why = { "" };
	struct store_token tok;
	struct buf msg;
	char reply[200];

	e.sender = (char *)"alice@example.org";
	memset(&la, 0, sizeof(la));
	la.kind = ADDR_CONFIRM;
	la.list = &demo;
	snprintf(la.token, sizeof(la.token), "%040d", 7);
	buf_init(&msg, 0);
	buf_puts(&msg, text);
	/* a good database: an unknown token changes nothing, answers nobody */
	ck_assert_int_eq(tokens_handle(&p, &la, &e, &msg, &why), 0);
	/* a real token that cannot be spent: not ignored, its post not out */
	ck_assert_int_eq(confirm_token(&p, &demo, "post", "NOSUCHCOPY", "h", 1,
	    "alice@example.org", p.now + 3600, la.token, reply,
	    sizeof(reply)), 0);
	raw_exec("CREATE TRIGGER nospend BEFORE UPDATE ON confirmations "
	    "BEGIN SELECT RAISE(ABORT, 'disk I/O'); END;");
	ck_assert_int_lt(tokens_handle(&p, &la, &e, &msg, &why), 0);
	raw_exec("DROP TRIGGER nospend;");
	ck_assert_int_eq(store_confirm_peek(st, la.token, "demo", p.now, &tok),
	    STORE_OK);	/* still there to be answered when it works */
	buf_free(&tok.bound);
	free(tok.addr);
	/* the look-up itself fails */
	raw_exec("PRAGMA foreign_keys=OFF; DROP TABLE confirmations;");
	ck_assert_int_lt(tokens_handle(&p, &la, &e, &msg, &why), 0);
	ck_assert_ptr_nonnull(strstr(why.text, "confirm"));
	buf_free(&msg);
}
END_TEST

/*
 * journal_fixture - alice and bob each a pending delivery of a copy (id
 * into q); the journal a daemon before left says alice's was delivered;
 * the database cannot take a result
 */
static void
journal_fixture(char q[QID_LEN + 1])
{
	char jpath[4200], text[512], plain[DFACT_COMBOS + 1];
	unsigned char h[KEYS_HASH_LEN];
	char alice[2 * KEYS_HASH_LEN + 1];
	struct fanout_spec f = { .list = "demo", .classes = plain,
	    .env_from = "demo-bounces@lists.example", .expires = 1LL << 40 };
	FILE *fp;

	ck_assert_int_eq(store_member_add(st, "demo", "alice@example.org",
	    NULL), STORE_OK);
	ck_assert_int_eq(store_member_add(st, "demo", "bob@example.org",
	    NULL), STORE_OK);
	put(SPOOL_OUT, NULL, q);
	memset(plain, '1', DFACT_COMBOS);
	plain[DFACT_COMBOS] = 0;
	f.qid = q;
	f.now = p.now - 10;
	ck_assert_int_eq(store_fanout(st, &f), 2);
	keys_addr_hash(keys, "demo", "alice@example.org", h);
	for (int i = 0; i < KEYS_HASH_LEN; i++)
		snprintf(alice + 2 * i, 3, "%02x", h[i]);
	snprintf(text, sizeof(text), "%s %s 1 1 0 -\n", q, alice);
	snprintf(jpath, sizeof(jpath), "%s/queue/deliver.journal",
	    cfg->state_dir);
	ck_assert_ptr_nonnull(fp = fopen(jpath, "w"));
	ck_assert_int_ge(fputs(text, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	raw_exec("CREATE TRIGGER norecord BEFORE UPDATE ON deliveries "
	    "BEGIN SELECT RAISE(ABORT, 'disk I/O'); END;");
}

/*
 * 5a: the journal is read before due deliveries are chosen: alice's copy,
 * delivered by the daemon before, is not chosen again even while the
 * database cannot record her result; bob's, with no result, is
 */
START_TEST(journal_read_before_due)
{
	char q[QID_LEN + 1];

	journal_fixture(q);
	ck_assert_int_eq(deliver_start(cfg, st, &sp, p.now), 1);
	ck_assert_int_eq(store_pending_for(st, q), 2);	/* not recorded */
	(void)deliver_reap(&sp, 1, NULL, NULL);
}
END_TEST

/*
 * 5b: and the start reads it first of all (qmgr_open): its results are
 * held, waiting for the database, and the copy bob still needs stays
 */
START_TEST(journal_read_at_start)
{
	char q[QID_LEN + 1];

	journal_fixture(q);
	ck_assert_int_eq(deliver_backlog(), 0);
	qmgr_recover(&p);
	ck_assert_int_eq(deliver_backlog(), 1);
	ck_assert_int_eq(store_pending_for(st, q), 2);
	ck_assert_int_eq(spool_exists(&sp, SPOOL_OUT, q), 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("fail_closed");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, fixture, unfixture);
	tcase_add_test(tc, orphan_sweep_keeps_copy_when_deliveries_fail);
	tcase_add_test(tc, orphan_sweep_keeps_copy_when_held_fails);
	tcase_add_test(tc, processed_error_leaves_the_message);
	tcase_add_test(tc, suspension_error_is_not_allowed);
	tcase_add_test(tc, step_taken_on_a_good_database);
	tcase_add_test(tc, step_error_when_steps_fail);
	tcase_add_test(tc, step_error_when_last_step_fails);
	tcase_add_test(tc, token_error_is_not_ignored_nor_ok);
	tcase_add_test(tc, journal_read_before_due);
	tcase_add_test(tc, journal_read_at_start);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
