/*
 * pgpreplace.c - a new OpenPGP key replacing a member's registered one.
 *
 * Whoever reads a member's incoming mail (their provider, a forwarder) can
 * answer a token sent there, even one encrypted to a key of their own: the
 * mailbox alone does not prove that a new key is the member's. The old key
 * does. So a replacement takes effect at once only when the old key signed
 * for it - the request or the token's answer is multipart/signed by it,
 * over the new key or the token (a signature over anything else, such as
 * an old post of the member's, counts for nothing). Otherwise the new key
 * waits openpgp.replace_delay, and a notice ENCRYPTED TO THE OLD KEY tells
 * the member which key was asked for, when it takes effect and how to
 * cancel: answer the notice (its token is only inside the encryption), or
 * send "key cancel" as an authenticated sender. One key waits per member;
 * a later request replaces it and starts the delay again. The periodic job
 * here puts due keys in place, audited, and tells the old key once more.
 *
 * Signatures are checked with librnp in the sandboxed worker (pgpin_key.c,
 * pgpin_sig.c), and only against the member's registered key (never a key
 * the mail brings).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "delivery/distribute.h"
#include "mail/audit.h"
#include "pipeline/authn.h"
#include "pipeline/pgpnotice.h"
#include "pipeline/pgpreplace.h"
#include "util/log.h"
#include "util/utc.h"

#define CANCEL_KIND	"pgpcancel"
#define DUE_PER_RUN	16
#define HEX40		40

/* fpr_groups - a fingerprint as people compare it: ten groups of four */
static void
fpr_groups(const char *fpr, char *out, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; fpr[i] && o + 2 < n; i++) {
		if (i && i % 4 == 0)
			out[o++] = ' ';
		out[o++] = fpr[i];
	}
	out[o] = 0;
}

/* notify - the notice to the old key, with the token that cancels */
static int
notify(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const struct openpgp_key *key, const struct openpgp_key *old,
    long long due, const char *day)
{
	char token[HEX40 + 1], cancel[300], fp[64];
	const char *vars[] = { "fingerprint", fp, "when", day,
	    "cancel_addr", cancel, NULL };
	unsigned char r[20];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(token, sizeof(token), r, sizeof(r));
	snprintf(cancel, sizeof(cancel), "%s-confirm+%s@%s", l->name, token,
	    p->cfg->hostname);
	fpr_groups(key->fpr, fp, sizeof(fp));
	/* it cancels until a day after the key took effect: then nothing */
	if (store_confirm_add(p->st, CANCEL_KIND, token, l->name, "",
	    (const unsigned char *)"", 0, addr, due + 86400) != STORE_OK)
		return -1;
	return pgpnotice_send(p, l, addr, NOTICE_PGP_KEY_REPLACE, vars, cancel,
	    old);
}

/* within_budget - may the notice go out for an unauthenticated answer? */
static int
within_budget(struct pipeline *p, const char *addr, int sure)
{
	struct authn claim;

	if (sure)
		return 1;
	memset(&claim, 0, sizeof(claim));
	claim.level = AUTHN_CLAIM;
	return authn_may_answer(p, &claim, addr);
}

/* done_line - the answer's line: a piece, into line; -1 none */
static int
done_line(struct pipeline *p, const struct list_cfg *l, enum piece_id id,
    const char *const *vars, char *line, size_t n)
{
	struct notice_ctx ctx = { l->name, p->cfg->hostname };

	return notice_piece_line(l->notices, p->cfg->notices, id, &ctx, vars,
	    line, n);
}

/* pgpreplace_schedule - the new key waits; the old key's holder hears */
int
pgpreplace_schedule(struct pipeline *p, const struct list_cfg *l,
    const char *addr, const struct openpgp_key *key,
    const struct openpgp_key *old, int sure, char *line, size_t n)
{
	long long due = p->now + l->pgp_replace_delay;
	char day[40];
	int rc;

	/* without its notice a key would wait unseen: then nothing waits */
	if (!within_budget(p, addr, sure)) {
		if (done_line(p, l, PIECE_PGP_DONE_BUDGET, NULL, line, n) < 0)
			return -1;
		log_info("%s confirm: list=%s a member's new OpenPGP key not "
		    "scheduled (answer budget) result=tempfail", p->qid,
		    l->name);
		return 0;
	}
	(void)utc_format(due, "%Y-%m-%d %H:%M:%S UTC", "(unknown)", day,
	    sizeof(day));
	rc = store_member_pgp_next_put(p->st, l->name, addr, key->bin.data,
	    key->bin.len, due);
	if (rc == STORE_NOTFOUND) {
		return done_line(p, l, PIECE_PGP_DONE_NOT_MEMBER_NOW, NULL,
		    line, n) < 0 ? -1 : 0;
	}
	if (rc != STORE_OK || notify(p, l, addr, key, old, due, day) < 0)
		return -1;
	if (done_line(p, l, PIECE_PGP_DONE_WAITS,
	    (const char *[]){ "day", day, NULL }, line, n) < 0)
		return -1;
	log_info("%s confirm: list=%s a member's new OpenPGP key waits %ds; "
	    "the old key's holder told result=ok", p->qid, l->name,
	    l->pgp_replace_delay);
	return 0;
}

/* pgpreplace_cancel - the waiting key dropped */
int
pgpreplace_cancel(struct pipeline *p, const struct list_cfg *l,
    const char *addr, const char *how)
{
	int rc = store_member_pgp_next_clear(p->st, l->name, addr);

	if (rc < 0)
		return -1;
	log_info("%s request: list=%s %s: %s result=ok", p->qid, l->name, how,
	    rc ? "a member's waiting OpenPGP key cancelled" :
	    "no OpenPGP key waited");
	return rc;
}

/* pgpreplace_cancelled - the notice's token answered: the key never comes */
int
pgpreplace_cancelled(struct pipeline *p, const struct list_cfg *l,
    const struct store_token *tok, const struct buf *msg)
{
	const char *vars[] = { "done", NULL, NULL };
	int rc;

	(void)msg;
	if (tok->addr == NULL) {
		log_info("%s confirm: list=%s cancel token of an address "
		    "that is no longer a member; ignored result=permfail",
		    p->qid, l->name);
		return 1;
	}
	struct notice_ctx ctx = { l->name, p->cfg->hostname };
	char line[600];

	if ((rc = pgpreplace_cancel(p, l, tok->addr, "cancel token")) < 0)
		return -1;
	if (notice_piece_line(l->notices, p->cfg->notices, rc ?
	    PIECE_PGP_DONE_CANCELLED : PIECE_PGP_DONE_NONE_WAITED, &ctx, NULL,
	    line, sizeof(line)) < 0)
		return -1;
	vars[1] = line;
	/* a notice to a member with a key is encrypted to it */
	return distribute_notice_tmpl(p, l, tok->addr, NOTICE_REQUEST_DONE,
	    vars, ENV_NULL, "", NULL) < 0 ? -1 : 1;
}

/* pgpreplace_due - a waiting key due on list (asked before the transaction) */
int
pgpreplace_due(struct pipeline *p, const struct list_cfg *l)
{
	return store_member_pgp_next_any(p->st, l->name, p->now) == 1;
}

/*
 * told - the old key's holder hears that the new key took effect (their
 * last chance to see it, if they never asked: later mail goes to the new
 * key). An old key that no longer imports is not told. 0 or -1.
 */
static int
told(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const struct buf *oldbin, const char *newfpr)
{
	struct openpgp_key old;
	char why[OPENPGP_WHY_SIZE], fp[64], line[400], reply[300];
	const char *vars[] = { "done", line, NULL };
	int rc;

	if (oldbin->len == 0 || openpgp_key_import(oldbin->data, oldbin->len,
	    OPENPGP_BINARY, &old, why, sizeof(why)) != OK)
		return 0;
	struct notice_ctx ctx = { l->name, p->cfg->hostname };

	fpr_groups(newfpr, fp, sizeof(fp));
	if (notice_piece_line(l->notices, p->cfg->notices,
	    PIECE_PGP_DONE_REPLACED, &ctx, (const char *[]){ "fingerprint", fp,
	    NULL }, line, sizeof(line)) < 0) {
		openpgp_key_free(&old);
		return -1;
	}
	snprintf(reply, sizeof(reply), "%s-owner@%s", l->name,
	    p->cfg->hostname);
	rc = pgpnotice_send(p, l, addr, NOTICE_REQUEST_DONE, vars, reply, &old);
	openpgp_key_free(&old);
	return rc;
}

/* apply - one member's due key in place of the old, audited; 0 or -1 */
static int
apply(struct pipeline *p, const struct list_cfg *l, const char *addr)
{
	struct openpgp_key key;
	char why[OPENPGP_WHY_SIZE], fpr[OPENPGP_FPR_SIZE] = "";
	struct buf bin, oldbin;
	int rc, ok = 0;

	buf_init(&bin, 0);
	buf_init(&oldbin, 0);
	if ((rc = store_member_pgp_next_get(p->st, l->name, addr, &bin,
	    NULL)) <= 0 || (rc = store_member_pgp_get(p->st, l->name, addr,
	    &oldbin, NULL)) < 0) {
		buf_free(&bin);
		buf_free(&oldbin);
		return rc < 0 ? -1 : 0;
	}
	/* judged again: it may have expired or been revoked while it waited */
	if ((rc = openpgp_key_import(bin.data, bin.len, OPENPGP_BINARY, &key,
	    why, sizeof(why))) == TEMPFAIL) {
		buf_free(&bin);
		return -1;
	}
	if (rc == OK) {
		rc = store_member_pgp_put(p->st, l->name, addr, key.bin.data,
		    key.bin.len, key.fpr, (long long)key.expires);
		snprintf(fpr, sizeof(fpr), "%s", key.fpr);
		openpgp_key_free(&key);
		ok = rc == STORE_OK;
		if (rc != STORE_OK && rc != STORE_EXISTS &&
		    rc != STORE_NOTFOUND)
			rc = -1;
	}
	buf_free(&bin);
	if (rc == -1 || store_member_pgp_next_clear(p->st, l->name, addr) < 0 ||
	    (ok && told(p, l, addr, &oldbin, fpr) < 0)) {
		buf_free(&oldbin);
		return -1;
	}
	buf_free(&oldbin);
	/* the audit names no member: only that the list did it, and why */
	if (ok && audit_append_code(p->st, l->name, p->now, "list",
	    "openpgp-key-replaced", "openpgp-key-replaced", NULL) < 0)
		return -1;
	log_info("NOQUEUE qmgr: list=%s a member's waiting OpenPGP key %s",
	    l->name, ok ? "took effect result=ok" :
	    "could not be used; dropped result=permfail");
	return 0;
}

/* pgpreplace_job - the due keys of list take effect */
int
pgpreplace_job(struct pipeline *p, const struct list_cfg *l, struct why *why)
{
	char *addrs[DUE_PER_RUN];
	int n, rc = 0;

	if ((n = store_member_pgp_next_due(p->st, l->name, p->now, addrs,
	    DUE_PER_RUN)) < 0) {
		why_cause(why, "waiting OpenPGP keys", store_errmsg(p->st));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (rc == 0 && apply(p, l, addrs[i]) < 0) {
			why_cause(why, "a waiting OpenPGP key",
			    store_errmsg(p->st));
			rc = -1;
		}
		sodium_memzero(addrs[i], strlen(addrs[i]));
		free(addrs[i]);
	}
	return rc;
}
