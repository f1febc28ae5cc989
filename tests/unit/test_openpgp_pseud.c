/*
 * test_openpgp_pseud.c - a pseudonym's OpenPGP key (mail/openpgp_pseud),
 * the multipart/signed copy (pipeline/pgpsign) and its check
 * (mail/pgpsigned), including every truncation of a signed copy.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <rnp/rnp.h>
#include <rnp/rnp_err.h>
#include <sodium.h>

#include "mail/openpgp_pseud.h"
#include "mail/openpgp_sq.h"
#include "mail/pgpsigned.h"
#include "pipeline/pgpsign.h"
#include "pipeline/request.h"
#include "pipeline/sign.h"
#include "testutil.h"

#define UID	"Red Fly 12 via demo <demo+p-abcdefghjk@lists.example>"
#define ADDR	"demo+p-abcdefghjk@lists.example"
#define WHEN	1796000000u

#define COPY "From: \"Red Fly 12 via demo\" <" ADDR ">\r\n" \
	"To: <demo@lists.example>\r\nSubject: [demo] hello\r\n" \
	"Date: Mon, 30 Nov 2026 10:13:20 +0000\r\n" \
	"List-Unsubscribe: <mailto:demo-request@lists.example>\r\n" \
	"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n" \
	"Content-Transfer-Encoding: 7bit\r\n\r\nThe words.\r\n-- \r\nfooter\r\n"

static char why[OPENPGP_WHY_SIZE];

/* pkey - a fresh pseudonym key */
static struct openpgp_secret *
pkey(void)
{
	struct openpgp_secret *s;

	ck_assert_int_eq(openpgp_pseud_generate(UID, WHEN, &s, why,
	    sizeof(why)), OK);
	return s;
}

/* minimal - the key as Autocrypt's keydata, decoded */
static void
minimal(const struct openpgp_secret *s, struct buf *bin)
{
	struct buf b64;
	size_t n;

	buf_init(&b64, 0);
	ck_assert_int_eq(openpgp_pseud_minimal(s, 0, &b64, why, sizeof(why)),
	    OK);
	ck_assert(b64.len > 100 && !memchr(b64.data, '\n', b64.len));
	ck_assert_int_eq(buf_append(bin, b64.data, b64.len), 0);
	ck_assert_int_eq(sodium_base642bin(bin->data, bin->cap, (const char *)b64.data,
	    b64.len, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	bin->len = n;
	buf_free(&b64);
}

START_TEST(sign_and_verify)
{
	struct openpgp_secret *s = pkey(), *t = pkey();
	struct openpgp_signer who;
	struct buf sig, key, other, arm;
	const char data[] = "Content-Type: text/plain\r\n\r\nsigned\r\n";

	buf_init(&sig, 0);
	buf_init(&key, 0);
	buf_init(&other, 0);
	buf_init(&arm, 0);
	minimal(s, &key);
	minimal(t, &other);
	ck_assert_int_eq(openpgp_pseud_sign(s, data, strlen(data), WHEN + 5,
	    &sig, why, sizeof(why)), OK);
	ck_assert(memmem(sig.data, sig.len, "BEGIN PGP SIGNATURE", 19));
	ck_assert_int_eq(openpgp_pseud_verify(key.data, key.len, data,
	    strlen(data), sig.data, sig.len, &who, why, sizeof(why)), OK);
	ck_assert_str_eq(who.uid, UID);
	ck_assert_str_eq(who.hash, "SHA256");
	ck_assert_uint_eq(who.created, WHEN + 5);
	ck_assert_int_eq(strlen(who.fpr), 40);
	/* another pseudonym's key, or one changed byte: no */
	ck_assert_int_eq(openpgp_pseud_verify(other.data, other.len, data,
	    strlen(data), sig.data, sig.len, &who, why, sizeof(why)), PERMFAIL);
	ck_assert_int_eq(openpgp_pseud_verify(key.data, key.len, "X", 1,
	    sig.data, sig.len, &who, why, sizeof(why)), PERMFAIL);
	/* the armoured form is the same key */
	ck_assert_int_eq(openpgp_pseud_minimal(s, 1, &arm, why, sizeof(why)),
	    OK);
	ck_assert(memmem(arm.data, arm.len, "BEGIN PGP PUBLIC KEY BLOCK", 26));
	ck_assert_int_eq(openpgp_pseud_verify(arm.data, arm.len, data,
	    strlen(data), sig.data, sig.len, &who, why, sizeof(why)), OK);
	buf_free(&sig);
	buf_free(&key);
	buf_free(&other);
	buf_free(&arm);
	openpgp_secret_free(s);
	openpgp_secret_free(t);
}
END_TEST

START_TEST(uid_refused)
{
	struct openpgp_secret *s = NULL;

	ck_assert_int_eq(openpgp_pseud_generate("a\r\nb <x@y>", WHEN, &s, why,
	    sizeof(why)), PERMFAIL);
	ck_assert_int_eq(openpgp_pseud_generate("", WHEN, &s, why,
	    sizeof(why)), PERMFAIL);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(rename_keeps_the_key)
{
	struct openpgp_secret *s = pkey(), *r = NULL, *same = NULL;
	struct openpgp_signer who;
	struct buf key, sig;
	char a[OPENPGP_FPR_SIZE], b[OPENPGP_FPR_SIZE];
	const char *nuid = "Blue Fly 3 via demo <" ADDR ">";

	buf_init(&key, 0);
	buf_init(&sig, 0);
	ck_assert_int_eq(openpgp_pseud_rename(s, UID, WHEN, &same, why,
	    sizeof(why)), OK);
	ck_assert_ptr_null(same);
	ck_assert_int_eq(openpgp_pseud_rename(s, nuid, WHEN + 60, &r, why,
	    sizeof(why)), OK);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(openpgp_list_fingerprint(s, a), OK);
	ck_assert_int_eq(openpgp_list_fingerprint(r, b), OK);
	ck_assert_str_eq(a, b);
	minimal(r, &key);
	ck_assert_int_eq(openpgp_pseud_sign(r, "x", 1, WHEN + 61, &sig, why,
	    sizeof(why)), OK);
	ck_assert_int_eq(openpgp_pseud_verify(key.data, key.len, "x", 1,
	    sig.data, sig.len, &who, why, sizeof(why)), OK);
	ck_assert_str_eq(who.uid, nuid);
	buf_free(&key);
	buf_free(&sig);
	openpgp_secret_free(r);
	openpgp_secret_free(s);
}
END_TEST

/*
 * renamed_again - librnp refuses a second explicitly primary UID, so each
 * rename after the first once failed: three in a row, the last one signs
 */
START_TEST(renamed_again)
{
	static const char *const names[] = {
		"One via demo <" ADDR ">", "Two via demo <" ADDR ">",
		"Three via demo <" ADDR ">", "Four via demo <" ADDR ">",
	};
	struct openpgp_secret *s = pkey(), *r;
	struct openpgp_signer who;
	struct buf key, sig;
	char uid[600];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		r = NULL;
		ck_assert_msg(openpgp_pseud_rename(s, names[i],
		    WHEN + 60 * (uint32_t)(i + 1), &r, why, sizeof(why)) == OK,
		    "rename %zu: %s", i, why);
		ck_assert_ptr_nonnull(r);
		openpgp_secret_free(s);
		s = r;
		ck_assert_int_eq(openpgp_pseud_uid(s, uid, sizeof(uid)), 0);
		ck_assert_str_eq(uid, names[i]);
	}
	buf_init(&key, 0);
	buf_init(&sig, 0);
	minimal(s, &key);
	ck_assert_int_eq(openpgp_pseud_sign(s, "x", 1, WHEN + 600, &sig, why,
	    sizeof(why)), OK);
	ck_assert_int_eq(openpgp_pseud_verify(key.data, key.len, "x", 1,
	    sig.data, sig.len, &who, why, sizeof(why)), OK);
	ck_assert_str_eq(who.uid, names[3]);
	buf_free(&key);
	buf_free(&sig);
	openpgp_secret_free(s);
}
END_TEST

/* wrapped - COPY made multipart/signed by s */
static void
wrapped(const struct openpgp_secret *s, struct buf *m)
{
	ck_assert_int_eq(buf_puts(m, COPY), 0);
	ck_assert_int_eq(pgpsign_wrap(s, ADDR, WHEN, m, why, sizeof(why)), OK);
}

START_TEST(wrap_and_check)
{
	struct openpgp_secret *s = pkey();
	struct pgpsigned ps;
	struct buf m, bad;
	const char *signed_part;
	char *p;

	buf_init(&m, 0);
	buf_init(&bad, 0);
	wrapped(s, &m);
	ck_assert_int_eq(pgpsigned_check(m.data, m.len, NULL, 0, &ps, why,
	    sizeof(why)), 1);
	ck_assert_str_eq(ps.micalg, "pgp-sha256");
	ck_assert_int_eq(ps.from_autocrypt, 1);
	ck_assert_str_eq(ps.from, ADDR);
	ck_assert_uint_eq(ps.who.created, WHEN);
	/* the footer and Subject are inside; the per-member field is not */
	signed_part = (const char *)m.data + ps.signed_off;
	ck_assert(memmem(signed_part, ps.signed_len, "footer", 6));
	ck_assert(memmem(signed_part, ps.signed_len, "Subject: [demo] hello", 21));
	ck_assert(memmem(signed_part, ps.signed_len, "protected-headers=\"v1\"", 22));
	ck_assert(!memmem(signed_part, ps.signed_len, "List-Unsubscribe", 16));
	ck_assert(!memmem(signed_part, ps.signed_len, "MIME-Version", 12));
	/* one-click copies rewrite List-Unsubscribe outside: still good */
	buf_append(&bad, m.data, m.len);
	p = memmem(bad.data, bad.len, "demo-request@", 13);
	ck_assert_ptr_nonnull(p);
	memcpy(p, "demo-unsubsc@", 13);
	ck_assert_int_eq(pgpsigned_check(bad.data, bad.len, NULL, 0, &ps, why,
	    sizeof(why)), 1);
	/* a changed word inside: FAILED */
	p = memmem(bad.data, bad.len, "The words.", 10);
	ck_assert_ptr_nonnull(p);
	*p = 'A';
	ck_assert_int_eq(pgpsigned_check(bad.data, bad.len, NULL, 0, &ps, why,
	    sizeof(why)), -1);
	/* not signed at all */
	ck_assert_int_eq(pgpsigned_check(COPY, strlen(COPY), NULL, 0, &ps, why,
	    sizeof(why)), 0);
	buf_free(&m);
	buf_free(&bad);
	openpgp_secret_free(s);
}
END_TEST

START_TEST(no_8bit_no_trailing_space)
{
	struct openpgp_secret *s = pkey();
	struct buf m;

	buf_init(&m, 0);
	wrapped(s, &m);
	for (size_t i = 0; i < m.len; i++) {
		ck_assert_uint_lt(m.data[i], 128);
		if (m.data[i] == '\n')
			ck_assert(i >= 2 && m.data[i - 1] == '\r' &&
			    (m.data[i - 2] != ' ' || (i >= 5 &&
			    !memcmp(m.data + i - 5, "\n-- \r", 5))));
	}
	buf_free(&m);
	openpgp_secret_free(s);
}
END_TEST

/* every prefix of a signed copy: checked without a crash, never "good" */
START_TEST(truncations)
{
	struct openpgp_secret *s = pkey();
	struct pgpsigned ps;
	struct buf m;
	int good = 0;

	buf_init(&m, 0);
	wrapped(s, &m);
	for (size_t n = 0; n + 40 < m.len; n += 7)
		good += pgpsigned_check(m.data, n, NULL, 0, &ps, why,
		    sizeof(why)) == 1;
	ck_assert_int_eq(good, 0);
	buf_free(&m);
	openpgp_secret_free(s);
}
END_TEST

/* the key of a finished copy, by its From (encrypted copies' inner signature) */
START_TEST(key_of_a_copy)
{
	struct openpgp_secret *s = pkey(), *k;
	struct list_cfg l = { .name = "demo" };
	struct keys *keys = tu_keys();
	struct store *st;
	struct buf err;
	char *dir = tu_tmpdir(), db[4200], a[OPENPGP_FPR_SIZE], b[OPENPGP_FPR_SIZE];
	const char *other = "From: \"x via demo\" <demo+p-zzzzzzzzzz@lists.example>\r\n\r\nx\r\n";
	const char *list = "From: \"Anonymous 3F9A2C via demo\" <demo@lists.example>\r\n\r\nx\r\n";
	const char *host = "From: \"y via demo\" <demo+p-abcdefghjk@elsewhere.example>\r\n\r\ny\r\n";

	snprintf(db, sizeof(db), "%s/mlistd.db", dir);
	buf_init(&err, 0);
	ck_assert_ptr_nonnull(st = store_open(db, keys, &err));
	ck_assert_int_eq(openpgp_list_fingerprint(s, a), OK);
	ck_assert_int_eq(store_pseudonym_key_put(st, "demo", "abcdefghjk", a,
	    s->data, s->len, WHEN), STORE_OK);
	/* a key is for life: never replaced */
	ck_assert_int_eq(store_pseudonym_key_put(st, "demo", "abcdefghjk", a,
	    s->data, s->len, WHEN), STORE_EXISTS);
	ck_assert_int_eq(sign_pseudonym_key_of(st, &l, "lists.example", COPY,
	    strlen(COPY), &k, NULL, 0), 1);
	ck_assert_int_eq(openpgp_list_fingerprint(k, b), OK);
	ck_assert_str_eq(a, b);
	openpgp_secret_free(k);
	ck_assert_int_eq(sign_pseudonym_key_of(st, &l, "lists.example", other,
	    strlen(other), &k, NULL, 0), 0);
	ck_assert_int_eq(sign_pseudonym_key_of(st, &l, "lists.example", list,
	    strlen(list), &k, NULL, 0), 0);
	ck_assert_int_eq(sign_pseudonym_key_of(st, &l, "lists.example", host,
	    strlen(host), &k, NULL, 0), 0);
	ck_assert_ptr_null(k);
	store_close(st);
	keys_free(keys);
	buf_free(&err);
	tu_rmrf(dir);
	free(dir);
	openpgp_secret_free(s);
}
END_TEST

/* "keys NAME" on a line of the body; a Subject "keys please" is no command */
START_TEST(keys_name_parsed)
{
	static const char body[] = "Subject: x\r\n\r\nkeys Red Fly 12\r\n";
	static const char subj[] = "Subject: keys please\r\n\r\nhello\r\n";
	static const char bare[] = "Subject: keys\r\n\r\n";
	struct request r;

	ck_assert_uint_eq(request_parse(body, strlen(body), &r), CMD_KEYS);
	ck_assert_str_eq(r.keyname, "Red Fly 12");
	ck_assert_uint_eq(request_parse(subj, strlen(subj), &r), CMD_NONE);
	ck_assert_uint_eq(request_parse(bare, strlen(bare), &r), CMD_KEYS);
	ck_assert_str_eq(r.keyname, "");
}
END_TEST

/* uid_sigs - how many signatures the one UID of a public key carries */
static size_t
uid_sigs(const struct buf *bin)
{
	rnp_ffi_t ffi;
	rnp_input_t in;
	rnp_key_handle_t k;
	rnp_uid_handle_t u;
	size_t n = 0;
	char *fpr;

	ck_assert_int_eq(rnp_ffi_create(&ffi, "GPG", "GPG"), RNP_SUCCESS);
	ck_assert_int_eq(rnp_input_from_memory(&in, bin->data, bin->len,
	    false), RNP_SUCCESS);
	ck_assert_int_eq(rnp_import_keys(ffi, in, RNP_LOAD_SAVE_PUBLIC_KEYS,
	    &fpr), RNP_SUCCESS);
	rnp_buffer_destroy(fpr);
	(void)rnp_input_destroy(in);
	ck_assert_int_eq(rnp_locate_key(ffi, "userid", UID, &k), RNP_SUCCESS);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(rnp_key_get_uid_handle_at(k, 0, &u), RNP_SUCCESS);
	ck_assert_int_eq(rnp_uid_get_signature_count(u, &n), RNP_SUCCESS);
	(void)rnp_uid_handle_destroy(u);
	(void)rnp_key_handle_destroy(k);
	(void)rnp_ffi_destroy(ffi);
	return n;
}

/* certify_by_the_list - the UID carries a valid certification by the list */
START_TEST(certify_by_the_list)
{
	struct openpgp_secret *s = pkey(), *list, *c = NULL, *r = NULL;
	struct buf key, sig;
	struct openpgp_signer who;

	if (!openpgp_sq_available())
		return;		/* tools/install-deps installs sq */
	ck_assert_int_eq(openpgp_list_generate("demo", "lists.example", WHEN,
	    &list, why, sizeof(why)), OK);
	ck_assert_int_eq(openpgp_pseud_certified(s), 0);
	ck_assert_int_eq(openpgp_pseud_certify(list, s, WHEN + 5, &c, why,
	    sizeof(why)), OK);
	ck_assert_int_eq(openpgp_pseud_certified(c), 1);
	/* the minimal key (Autocrypt's keydata) keeps it */
	buf_init(&key, 0);
	minimal(c, &key);
	buf_init(&sig, 0);
	ck_assert_int_eq(openpgp_pseud_sign(c, "x", 1, WHEN + 6, &sig, why,
	    sizeof(why)), OK);
	ck_assert_int_eq(openpgp_pseud_verify(key.data, key.len, "x", 1,
	    sig.data, sig.len, &who, why, sizeof(why)), OK);
	ck_assert_uint_eq(uid_sigs(&key), 2);	/* its own and the list's */
	/* a renamed key's new UID has none until certified again */
	ck_assert_int_eq(openpgp_pseud_rename(c, "Other via demo <" ADDR ">",
	    WHEN + 60, &r, why, sizeof(why)), OK);
	ck_assert_int_eq(openpgp_pseud_certified(r), 0);
	/* a certification before the key existed is refused, s unchanged */
	openpgp_secret_free(c);
	ck_assert_int_ne(openpgp_pseud_certify(list, s, WHEN - 3600, &c, why,
	    sizeof(why)), OK);
	ck_assert_ptr_null(c);
	buf_free(&key);
	buf_free(&sig);
	openpgp_secret_free(r);
	openpgp_secret_free(list);
	openpgp_secret_free(s);
}
END_TEST

/* rotate_vouched_by_old_and_list - a new key, same UID, two certifications */
START_TEST(rotate_vouched_by_old_and_list)
{
	struct openpgp_secret *s = pkey(), *list, *n = NULL;
	char a[OPENPGP_FPR_SIZE], b[OPENPGP_FPR_SIZE], uid[400];
	struct buf key, sig;

	if (!openpgp_sq_available())
		return;		/* tools/install-deps installs sq */
	ck_assert_int_eq(openpgp_list_generate("demo", "lists.example", WHEN,
	    &list, why, sizeof(why)), OK);
	ck_assert_int_eq(openpgp_pseud_rotate(s, list, NULL, WHEN + 100, &n, why,
	    sizeof(why)), OK);
	ck_assert_int_eq(openpgp_list_fingerprint(s, a), OK);
	ck_assert_int_eq(openpgp_list_fingerprint(n, b), OK);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(openpgp_pseud_uid(n, uid, sizeof(uid)), 0);
	ck_assert_str_eq(uid, UID);
	buf_init(&key, 0);
	minimal(n, &key);
	ck_assert_uint_eq(uid_sigs(&key), 3);	/* its own, the old key's, the list's */
	/* the announcement's signature: old key and list key in one block */
	buf_init(&sig, 0);
	ck_assert_int_eq(openpgp_pseud_sign_also(s, list, "x", 1, WHEN + 101,
	    &sig, why, sizeof(why)), OK);
	ck_assert_ptr_nonnull(strstr((const char *)sig.data, "BEGIN PGP SIGNATURE"));
	buf_free(&key);
	buf_free(&sig);
	openpgp_secret_free(n);
	openpgp_secret_free(list);
	openpgp_secret_free(s);
}
END_TEST

/* the composed copy back from a held one (pgprelease.c), signed again */
START_TEST(unwrap_and_sign_again)
{
	struct openpgp_secret *s = pkey();
	struct pgpsigned ps;
	struct buf m, held, out;
	const char *later = "Date: Mon, 30 Nov 2026 11:13:20 +0000\r\n";

	buf_init(&m, 0);
	buf_init(&held, 0);
	buf_init(&out, 0);
	wrapped(s, &m);
	/* as the spool holds it: the author's and the list's signatures on */
	buf_puts(&held, "DKIM-Signature: v=1; a=ed25519-sha256; b=x\r\n"
	    "Mlist-Author-Signature: v=1; b=y\r\n");
	buf_append(&held, m.data, m.len);
	/* the same date: exactly the copy that was signed */
	ck_assert_int_eq(pgpsign_unwrap(held.data, held.len, 1796033600LL,
	    &out), 0);
	ck_assert_msg(out.len == strlen(COPY) &&
	    memcmp(out.data, COPY, out.len) == 0, "%.*s", (int)out.len,
	    (const char *)out.data);
	/* an hour later: only the Date differs; signed again, it checks */
	buf_free(&out);
	ck_assert_int_eq(pgpsign_unwrap(held.data, held.len, 1796037200LL,
	    &out), 0);
	ck_assert_ptr_nonnull(memmem(out.data, out.len, later, strlen(later)));
	ck_assert_ptr_null(memmem(out.data, out.len, "Autocrypt", 9));
	ck_assert_ptr_null(memmem(out.data, out.len, "Signature", 9));
	ck_assert_int_eq(pgpsign_wrap(s, ADDR, 1796037200LL, &out, why,
	    sizeof(why)), OK);
	ck_assert_int_eq(pgpsigned_check(out.data, out.len, NULL, 0, &ps, why,
	    sizeof(why)), 1);
	ck_assert_uint_eq(ps.who.created, 1796037200u);
	/* not such a copy: refused, never a guess */
	buf_free(&out);
	ck_assert_int_eq(pgpsign_unwrap(COPY, strlen(COPY), WHEN, &out), -1);
	for (size_t n = 0; n < held.len; n += 5) {
		struct buf t;

		buf_init(&t, 0);
		(void)pgpsign_unwrap(held.data, n, WHEN, &t);	/* no crash */
		buf_free(&t);
	}
	buf_free(&m);
	buf_free(&held);
	buf_free(&out);
	openpgp_secret_free(s);
}
END_TEST

/* revoked_superseded - a rotation's old key: revoked, old signatures hold */
START_TEST(revoked_superseded)
{
	struct openpgp_secret *s = pkey();
	struct openpgp_signer who;
	struct buf pub, sig;
	rnp_ffi_t ffi;
	rnp_input_t in;
	rnp_key_handle_t k;
	bool rev = false, sup = false;
	char *reason = NULL, *fpr;
	const char *nfpr = "DE40E5C7544C1CF1CD04A8C89DF26AC579CD5CD9";

	buf_init(&pub, 0);
	buf_init(&sig, 0);
	ck_assert_int_eq(openpgp_pseud_sign(s, "x", 1, WHEN + 50, &sig, why,
	    sizeof(why)), OK);
	ck_assert_int_eq(openpgp_pseud_revoked(s, nfpr, WHEN + 100, 0, &pub,
	    why, sizeof(why)), OK);
	ck_assert_int_eq(rnp_ffi_create(&ffi, "GPG", "GPG"), RNP_SUCCESS);
	ck_assert_int_eq(rnp_input_from_memory(&in, pub.data, pub.len,
	    false), RNP_SUCCESS);
	ck_assert_int_eq(rnp_import_keys(ffi, in, RNP_LOAD_SAVE_PUBLIC_KEYS,
	    &fpr), RNP_SUCCESS);
	rnp_buffer_destroy(fpr);
	(void)rnp_input_destroy(in);
	ck_assert_int_eq(rnp_locate_key(ffi, "userid", UID, &k), RNP_SUCCESS);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(rnp_key_is_revoked(k, &rev), RNP_SUCCESS);
	ck_assert_int_eq(rnp_key_is_superseded(k, &sup), RNP_SUCCESS);
	ck_assert(rev && sup);
	ck_assert_int_eq(rnp_key_get_revocation_reason(k, &reason),
	    RNP_SUCCESS);
	ck_assert_ptr_nonnull(strstr(reason, nfpr));
	rnp_buffer_destroy(reason);
	(void)rnp_key_handle_destroy(k);
	(void)rnp_ffi_destroy(ffi);
	/* a signature made before the revocation still verifies (librnp) */
	ck_assert_int_eq(openpgp_pseud_verify(pub.data, pub.len, "x", 1,
	    sig.data, sig.len, &who, why, sizeof(why)), OK);
	buf_free(&pub);
	buf_free(&sig);
	openpgp_secret_free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("openpgp_pseud");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, sign_and_verify);
	tcase_add_test(tc, uid_refused);
	tcase_add_test(tc, rename_keeps_the_key);
	tcase_add_test(tc, renamed_again);
	tcase_add_test(tc, wrap_and_check);
	tcase_add_test(tc, no_8bit_no_trailing_space);
	tcase_add_test(tc, truncations);
	tcase_add_test(tc, key_of_a_copy);
	tcase_add_test(tc, keys_name_parsed);
	tcase_add_test(tc, certify_by_the_list);
	tcase_add_test(tc, rotate_vouched_by_old_and_list);
	tcase_add_test(tc, unwrap_and_sign_again);
	tcase_add_test(tc, revoked_superseded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
