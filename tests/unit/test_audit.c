/*
 * test_audit.c - mail/audit with keys per purpose (#19): entries are
 * signed by the list's audit key over a context string and the hash,
 * never over the bare hash, and never by the DKIM key - so rotating or
 * losing the DKIM key leaves the log verifiable; entries signed the old
 * way (the DKIM key, the bare hash) still verify; a signature from
 * another list's audit key does not.
 */
#include "testutil.h"
#include <sqlite3.h>

#include "mail/audit.h"
#include "mail/listkey.h"

/* dir, keys, st (its database at dbpath); setup and teardown */
TU_STORE_FIXTURE

static void
last_entry(const struct audit_entry *e, void *arg)
{
	memcpy(arg, e, sizeof(*e));
}

static void
raw_exec(const char *sql)
{
	tu_sql(dbpath, sql);
}

START_TEST(signed_by_the_audit_key_over_a_context)
{
	unsigned char seed[32], pk[32], sk[64], m[200];
	struct audit_entry e;
	struct audit_check c;
	const char *ctx = "mlistd audit entry v2";

	ck_assert_int_eq(audit_append(st, "demo", 100, "operator", "admit", "member 0123456789"), 0);
	ck_assert_int_eq(store_audit_each(st, "demo", last_entry, &e), 1);
	ck_assert_str_eq(e.selector, "audit-v2");
	keys_audit_seed(keys, "demo", seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	/* not over the bare hash, which another protocol could be made to sign */
	ck_assert_int_ne(crypto_sign_verify_detached(e.sig, e.hash, 32, pk), 0);
	memcpy(m, ctx, strlen(ctx) + 1);
	memcpy(m + strlen(ctx) + 1, e.hash, 32);
	ck_assert_int_eq(crypto_sign_verify_detached(e.sig, m, strlen(ctx) + 33, pk), 0);
	/* another list's audit key is another key; the role key another again */
	keys_audit_seed(keys, "other", seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	ck_assert_int_ne(crypto_sign_verify_detached(e.sig, m, strlen(ctx) + 33, pk), 0);
	{
		unsigned char role[32], audit[32];

		keys_role_seed(keys, "demo", role);
		keys_audit_seed(keys, "demo", audit);
		ck_assert_int_ne(memcmp(role, audit, 32), 0);
	}
	ck_assert_int_eq(audit_verify(st, NULL, "demo", &c), 0);
}
END_TEST

START_TEST(dkim_rotation_or_loss_leaves_the_log_verifiable)
{
	unsigned char seed[DKIM_SEED_LEN], pk[32], sk[64];
	char sel[SELECTOR_MAX];
	struct audit_entry e;
	struct audit_check c;

	/* an entry written before the audit key: the DKIM key, over the bare hash */
	ck_assert_int_eq(listkey_get(st, "demo", sel, sizeof(sel), seed), 0);
	crypto_sign_seed_keypair(pk, sk, seed);
	memset(&e, 0, sizeof(e));
	e.seq = 1;
	e.at = 50;
	snprintf(e.actor, sizeof(e.actor), "operator");
	snprintf(e.action, sizeof(e.action), "policy");
	snprintf(e.detail, sizeof(e.detail), "posting = open");
	snprintf(e.selector, sizeof(e.selector), "%s", sel);
	audit_entry_hash("demo", &e, e.hash);
	crypto_sign_detached(e.sig, NULL, e.hash, 32, sk);
	ck_assert_int_eq(store_audit_add(st, "demo", &e), STORE_OK);
	ck_assert_int_eq(audit_append(st, "demo", 100, "operator", "admit", "member 0123456789"), 0);
	ck_assert_int_eq(listkey_create(st, "demo", sel, sizeof(sel)), 0);	/* keys rotate */
	ck_assert_int_eq(audit_append(st, "demo", 200, "operator", "ban", "member 9876543210"), 0);
	ck_assert_int_eq(audit_verify(st, NULL, "demo", &c), 0);
	ck_assert_int_eq(c.entries, 3);
	/* every DKIM key gone: a log the audit key signed still verifies */
	ck_assert_int_eq(audit_append(st, "news", 100, "operator", "admit", "member 0123456789"), 0);
	ck_assert_int_eq(audit_append(st, "news", 200, "operator", "ban", "member 9876543210"), 0);
	store_close(st);
	raw_exec("DELETE FROM list_keys");
	{
		struct buf err;

		buf_init(&err, 0);
		st = store_open(dbpath, keys, &err);
		buf_free(&err);
	}
	ck_assert_int_eq(audit_verify(st, NULL, "news", &c), 0);
	ck_assert_int_eq(c.entries, 2);
}
END_TEST

/*
 * a new entry holds a code and arguments, no words: the piece words it when
 * read, a list's own piece first; an entry written as a sentence before
 * the codes reads as it was, and a code with no piece shows itself
 */
START_TEST(coded_details_are_worded_when_read)
{
	struct notices *n, *mine;
	struct notice_ctx ctx = { "demo", "lists.example" };
	const char *vars[] = { "id", "A1B2", "why", "moderated", "reason",
	    "off\ttopic\r\nBcc: x", "note", " (3 moderators agreed)", NULL };
	char d[512], out[512], *dir = tu_tmpdir(), path[4200];
	struct buf err;
	FILE *f;

	buf_init(&err, 0);
	ck_assert_int_eq(notices_load("conf/templates/notices", 1, &n, &err),
	    0);
	ck_assert_int_eq(audit_code(d, sizeof(d), "reject", vars), 0);
	ck_assert_str_eq(d, "@reject\tid=A1B2\twhy=moderated\treason=off topic  "
	    "Bcc: x\tnote= (3 moderators agreed)");
	audit_render(NULL, n, &ctx, d, out, sizeof(out));
	ck_assert_str_eq(out, "held post A1B2 (moderated): off topic  Bcc: x "
	    "(3 moderators agreed)");
	snprintf(path, sizeof(path), "%s/pieces", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("[audit-reject]\nBeitrag {id} abgelehnt: {reason}\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(notices_load(dir, 0, &mine, &err), 0);
	audit_render(mine, n, &ctx, d, out, sizeof(out));
	ck_assert_str_eq(out, "Beitrag A1B2 abgelehnt: off topic  Bcc: x "
	    "(3 moderators agreed)");
	audit_render(mine, n, &ctx, "held post X (moderated)", out,
	    sizeof(out));
	ck_assert_str_eq(out, "held post X (moderated)");
	audit_render(mine, n, &ctx, "@no-such-code\tn=1", out, sizeof(out));
	ck_assert_str_eq(out, "no-such-code n=1");
	/* a value too long is cut, the entry still written */
	memset(out, 'x', sizeof(out) - 1);
	out[sizeof(out) - 1] = 0;
	vars[5] = out;
	ck_assert_int_eq(audit_code(d, sizeof(d), "reject", vars), 0);
	ck_assert_uint_eq(strlen(d), sizeof(d) - 1);
	notices_free(n);
	notices_free(mine);
	buf_free(&err);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

int
main(void)
{
Suite *s = suite_create("audit");
	TCase *tc = tcase_create("audit");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, signed_by_the_audit_key_over_a_context);
	tcase_add_test(tc, dkim_rotation_or_loss_leaves_the_log_verifiable);
	tcase_add_test(tc, coded_details_are_worded_when_read);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
