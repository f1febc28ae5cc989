/*
 * confirm.c - confirmation of posts by the author's own mailbox.
 *
 * The finished, signed copy is held and a one-time token goes to the
 * member's address (never to the envelope sender, which anyone can forge).
 * Replying to the notice, or mailing LIST-confirm+TOKEN@, releases it. A
 * token is random, stored only hashed, single use, expires after
 * CONFIRM_DAYS, belongs to one list, and is bound to the SHA-256 of the
 * held copy: what goes out is exactly what was confirmed, once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pipeline/disclosure.h"
#include "leadership/confirm.h"
#include "leadership/discipline.h"
#include "leadership/moderate.h"
#include "leadership/quorum.h"
#include "mail/archive.h"
#include "mail/header.h"
#include "mail/pseudonym.h"
#include "delivery/fanout.h"
#include "pipeline/policy.h"
#include "util/log.h"

/*
 * confirm_token - a fresh single-use token of `kind` for addr, bound to out_id
 * and `bound`, stored hashed; its reply address goes into replyto as a
 * Reply-To header line. The token text comes back in token.
 */
int
confirm_token(struct pipeline *p, const struct list_cfg *l, const char *kind, const char *out_id,
    const void *bound, size_t blen, const char *addr, long long expires, char token[41], char *replyto, size_t rlen)
{
	unsigned char r[20];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(token, 41, r, sizeof(r));
	if (store_confirm_add(p->st, kind, token, l->name, out_id, bound, blen, addr, expires) != STORE_OK)
		return -1;
	snprintf(replyto, rlen, "Reply-To: <%s-confirm+%s@%s>\r\n", l->name, token, p->cfg->hostname);
	return 0;
}

/* confirm_request - hold the copy, send the token to the member */
int
confirm_request(struct pipeline *p, const struct list_cfg *l, const char *poster, const struct buf *copy,
    const char *why, char id[QID_LEN + 1])
{
	unsigned char r[20], hash[crypto_hash_sha256_BYTES];
	char token[41], addr[200], extra[300], text[2000];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(token, sizeof(token), r, sizeof(r));
	crypto_hash_sha256(hash, copy->data, copy->len);
	if (fanout_write(p, copy->data, copy->len, l->name, id) < 0 ||
	    store_hold(p->st, id, l->name, "confirm", NULL) != STORE_OK ||
	    store_confirm_add(p->st, "post", token, l->name, id, hash, sizeof(hash), poster,
	    p->now + CONFIRM_DAYS * 86400LL) != STORE_OK)
		return -1;
	snprintf(addr, sizeof(addr), "%s-confirm+%s@%s", l->name, token, p->cfg->hostname);
	snprintf(extra, sizeof(extra), "Reply-To: <%s>\r\n", addr);
	if (why && *why)
		snprintf(text, sizeof(text), "%s\n"
		    "If you want it to go out as it is, reply to this message (the reply goes to\n%s),\n"
		    "or send any message to that address, within %d days.\n\n"
		    "To withdraw it, reply with the word \"withdraw\" (or do nothing: after %d days it\n"
		    "is gone). Then send a corrected post.", why, addr, CONFIRM_DAYS, CONFIRM_DAYS);
	else
		snprintf(text, sizeof(text),
		    "The list %s@%s received a post in your name. It goes out only when you confirm\n"
		    "that you sent it: reply to this message (the reply goes to %s),\n"
		    "or send any message to that address, within %d days.\n\n"
		    "If you did not send it, do nothing (or answer \"withdraw\"): it will not be distributed.",
		    l->name,
		    p->cfg->hostname, addr, CONFIRM_DAYS);
	return fanout_notice_ex(p, l, poster, "Confirm your post to the list", text, ENV_NULL, extra);
}

/* confirm_pseudonym - a confirmed "pseudonym NAME" for a member; what happened into res */
int
confirm_pseudonym(struct pipeline *p, const struct list_cfg *l, const char *addr, const char *name, struct buf *res)
{
	char sk[SKELETON_MAX], why[160], h[24];
	int rc;

	if (pseudonym_check(name, sk, sizeof(sk), why, sizeof(why)) < 0) {
		buf_printf(res, "- the pseudonym \"%s\" cannot be used: %s\n", name, why);
		return 0;
	}
	handle_generate(h, sizeof(h));
	rc = store_member_set_pseudonym(p->st, l->name, addr, name, sk, h);
	if (rc == STORE_EXISTS) {
		log_info("%s confirm: list=%s pseudonym taken by another member meanwhile result=permfail", p->qid,
		    l->name);
		buf_printf(res, "- \"%s\" is taken (another member's pseudonym is the same or looks the same); "
		    "choose another with \"set pseudonym NAME\"\n", name);
		return 0;
	}
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return -1;
	if (rc == STORE_OK) {
		log_info("%s confirm: list=%s a member's pseudonym set result=ok", p->qid, l->name);
		buf_printf(res, "- you post as \"%s\"\n", name);
	}
	return 0;
}

/* apply_line - one confirmed command for addr */
static int
apply_line(struct pipeline *p, const struct list_cfg *l, const char *addr, const char *line, int member,
    struct buf *res)
{
	int rc;

	if (!strcmp(line, "unsubscribe")) {
		if (member && (rc = store_member_rm(p->st, l->name, addr)) != STORE_OK && rc != STORE_NOTFOUND)
			return -1;
		buf_printf(res, "- you have left %s@%s; write \"subscribe\" to come back\n", l->name, p->cfg->hostname);
		log_info("%s confirm: list=%s a member left result=ok", p->qid, l->name);
		return 0;
	}
	if (!member)
		return 0;	/* settings of a non-member: nothing to change, nothing to say */
	if (!strncmp(line, "pseudonym ", 10))
		return confirm_pseudonym(p, l, addr, line + 10, res);
	if (!strncmp(line, "identity ", 9)) {
		int mode = config_identity_parse(line + 9);

		if (mode < 0 || store_member_set_identity(p->st, l->name, addr, mode == l->identity ? NULL :
		    line + 9) != STORE_OK)
			return mode < 0 ? 0 : -1;
		buf_printf(res, "- your posts will now go out as: %s\n", line + 9);
		return 0;
	}
	if (!strncmp(line, "enckey ", 7)) {
		unsigned char pk[32];
		char key[64], *sp;
		long long expires = 0;

		/* "enckey KEY" or "enckey KEY expires YYYY-MM-DD" (checked when the command came) */
		snprintf(key, sizeof(key), "%s", line + 7);
		if ((sp = strchr(key, ' ')) != NULL) {
			*sp = 0;
			if (strncmp(line + 7 + (sp - key), " expires ", 9) != 0 ||
			    (expires = keys_expiry_parse(line + 7 + (sp - key) + 9)) < 0)
				return 0;
		}
		if (keys_public_from_text(key, "x25519", pk) != 1)
			return 0;
		if (store_member_set_enc_key(p->st, l->name, addr, pk, sizeof(pk), expires) != STORE_OK)
			return -1;
		buf_puts(res, "- from now on every post reaches you encrypted to your key (open it with 'mlist open')\n");
		if (expires) {
			char day[11];

			keys_expiry_format(expires, day);
			buf_printf(res, "- your key expires on %s; the list will remind you %d days before, and from that "
			    "day on it will not use the key\n", day, l->key_warn_days);
		}
		log_info("%s confirm: list=%s a member's encryption key registered result=ok", p->qid, l->name);
		return 0;
	}
	if (!strncmp(line, "digest ", 7) || !strncmp(line, "nomail ", 7)) {
		char key[8];

		snprintf(key, sizeof(key), "%.6s", line);
		if (store_member_set(p->st, l->name, addr, key, line + 7) != STORE_OK)
			return -1;
		buf_printf(res, "- %s is now %s\n", key, line + 7);
		return 0;
	}
	return 0;
}

/* subscribe - a confirmed subscription: admitted, or passed to the owners (subscription = "approve") */
static int
subscribe(struct pipeline *p, const struct list_cfg *l, const char *addr, const char *intro, const char *ps,
    struct buf *res)
{
	struct buf app;
	char text[300];
	int n = 0, rc;

	if ((rc = discipline_suspended(p, l, addr, text, sizeof(text))) < 0)
		return -1;
	if (rc) {
		buf_printf(res, "- you are suspended from %s@%s; from %s on you may apply again\n", l->name,
		    p->cfg->hostname, text);
		log_info("%s confirm: list=%s a suspended address applied; refused result=permfail", p->qid, l->name);
		return 0;
	}
	if ((rc = store_banned(p->st, l->name, addr)) < 0)
		return -1;
	if (rc) {
		buf_printf(res, "- %s@%s does not accept a subscription from your address\n", l->name, p->cfg->hostname);
		log_info("%s confirm: list=%s a banned address applied; refused result=permfail", p->qid, l->name);
		return 0;
	}
	if (l->subscription == SUB_VOUCH)
		return quorum_vouch(p, l, addr, ps, intro ? intro : "", res) < 0 ? -1 : 0;
	if (l->subscription == SUB_APPROVE && (n = store_moderator_count(p->st, l->name)) < 0)
		return -1;
	if (l->subscription == SUB_APPROVE && n > 0) {
		/*
		 * the moderators admit, by a quorum (leadership.quorum_admit, or all of them if fewer): each
		 * gets the introduction and a token of their own (quorum.c); the application is sealed
		 */
		int need = l->quorum[Q_ADMIT] < n ? l->quorum[Q_ADMIT] : n;

		buf_init(&app, 0);
		/* sealed with the request: the address, the pseudonym asked for ("" none), the introduction */
		buf_printf(&app, "%s\n%s\n%.4000s", addr, ps, intro && *intro ? intro : "(none)\n");
		rc = store_pending_add(p->st, l->name, "admit", buf_cstr(&app), "an applicant", need, "new", p->now,
		    p->now + QUORUM_DAYS * 86400LL) < 0 ? -1 : 0;
		buf_free(&app);
		if (rc < 0)
			return -1;
		buf_printf(res, "- your application and introduction have gone to the list's moderators; you will\n"
		    "  hear from the list when they have decided\n");
		log_info("%s confirm: list=%s application passed to the moderators' quorum (%d) result=ok", p->qid,
		    l->name, need);
		return 0;
	}
	n = 0;
	if (l->subscription == SUB_APPROVE) {
		/* nobody to decide yet: the owners' mailbox holds it; the operator admits */
		buf_init(&app, 0);
		buf_printf(&app, "Subject: Application to join %s\r\nFrom: <%s-request@%s>\r\n\r\n"
		    "Someone has applied to join %s@%s and confirmed their address.\r\n", l->name, l->name,
		    p->cfg->hostname, l->name, p->cfg->hostname);
		if (disclosure_author_address(l, l->identity))
			buf_printf(&app, "Address: %s\r\nAdmit with: mlistctl member add %s %s\r\n", addr, l->name, addr);
		else
			buf_puts(&app, "(The list does not show moderators the address; the operator admits them.)\r\n");
		buf_puts(&app, "\r\nTheir introduction:\r\n\r\n");
		buf_puts(&app, intro && *intro ? intro : "(none)\r\n");
		rc = fanout_roles(p, l, app.data, app.len, &n);
		if (rc == 0 && n == 0)
			rc = store_hold(p->st, p->out[p->nout - 1], l->name, "application", NULL) == STORE_OK ? 0 : -1;
		buf_free(&app);
		if (rc < 0)
			return -1;
		buf_printf(res, "- your application and introduction have gone to the list's moderators; you will\n"
		    "  hear from the list when they have decided\n");
		log_info("%s confirm: list=%s application passed to the moderators result=ok", p->qid, l->name);
		return 0;
	}
	rc = store_member_add(p->st, l->name, addr, NULL);
	if (rc != STORE_OK && rc != STORE_EXISTS)
		return -1;
	snprintf(text, sizeof(text), "- welcome to %s@%s: write to the list at that address; \"help\" to\n"
	    "  %s-request@%s lists what you can do\n", l->name, p->cfg->hostname, l->name, p->cfg->hostname);
	buf_puts(res, text);
	log_info("%s confirm: list=%s a member joined result=ok", p->qid, l->name);
	return 1;
}

/*
 * confirm_command - a "command" token: the commands sealed with it are
 * done now, for the address that asked. 1 done, 0 not such a token, -1 error.
 */
static int
confirm_command(struct pipeline *p, const struct listaddr *la)
{
	const struct list_cfg *l = la->list;
	struct buf sealed, plain, res;
	struct member m;
	char *addr, *line, *next, *intro = NULL, *ps, asked[256] = "";
	int rc, member, quiet = 0;

	buf_init(&sealed, 0);
	if ((rc = store_confirm_bound(p->st, la->token, l->name, "command", p->now, &sealed)) != STORE_OK) {
		buf_free(&sealed);
		return rc == STORE_NOTFOUND ? 0 : -1;
	}
	buf_init(&plain, 0);
	rc = keys_open(p->keys, sealed.data, sealed.len, &plain);
	buf_free(&sealed);
	if (rc < 0 || store_confirm_spend(p->st, la->token) != STORE_OK) {
		buf_free(&plain);
		return -1;
	}
	buf_init(&res, 0);
	addr = (char *)buf_cstr(&plain);
	if ((line = strchr(addr, '\n')) != NULL)
		*line++ = 0;
	member = store_member_find(p->st, l->name, addr, &m) == STORE_OK;
	if (member)
		member_free(&m);
	/* the introduction, if any, is last: "intro" on a line of its own, then the text */
	if (line && (intro = strncmp(line, "intro\n", 6) == 0 ? line : strstr(line, "\nintro\n")) != NULL) {
		if (intro == line)
			line = NULL;
		else
			*intro++ = 0;
		intro += 6;
	}
	/* the pseudonym a subscriber asked for goes with an application (approve, vouch) */
	if (line && ((ps = strncmp(line, "pseudonym ", 10) == 0 ? line : strstr(line, "\npseudonym ")) != NULL))
		snprintf(asked, sizeof(asked), "%.*s", (int)strcspn(ps + (*ps == '\n' ? 11 : 10), "\n"),
		    ps + (*ps == '\n' ? 11 : 10));
	for (; line && *line && rc >= 0; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = 0;
		if (!strncmp(line, "discipline ", 11)) {
			/* a moderator's confirmed discipline step; the reason is the "intro" */
			if ((rc = discipline_apply(p, l, addr, atoll(line + 11), intro, &res)) == 1) {
				quiet = 1;	/* no longer a moderator: no answer at all */
				rc = 0;
				break;
			}
			continue;
		}
		if (!strcmp(line, "subscribe")) {
			if (!member && (rc = subscribe(p, l, addr, intro, asked, &res)) > 0)
				member = 1;
			else if (member)
				buf_puts(&res, "- you are a member already\n");
			continue;
		}
		rc = apply_line(p, l, addr, line, member, &res);
	}
	if (rc >= 0 && res.len == 0 && !member && !quiet)
		buf_puts(&res, "- nothing to change: the address is not subscribed\n");
	if (rc >= 0 && !quiet) {
		struct buf text;

		buf_init(&text, 0);
		buf_printf(&text, "Done, for %s@%s:\n\n%s", l->name, p->cfg->hostname, buf_cstr(&res));
		rc = fanout_notice(p, l, addr, "Your request to the list: done", buf_cstr(&text), ENV_NULL);
		buf_free(&text);
	}
	buf_free(&res);
	buf_free(&plain);
	return rc < 0 ? -1 : 1;
}

/* says_withdraw - does the answer's Subject or first body line say "withdraw"? (our own header parser) */
static int
says_withdraw(const struct buf *msg)
{
	const char *m = (const char *)msg->data, *nl;
	struct hdr h;
	char *subj;
	size_t off;
	int yes = 0;

	if (hdr_parse(m, msg->len, &h) < 0)
		return 0;
	if ((subj = hdr_get_value(&h, "Subject")) != NULL)
		yes = strcasestr(subj, "withdraw") != NULL;
	free(subj);
	for (off = h.body_off; !yes && off < msg->len; off = (size_t)(nl - m) + 1) {
		while (off < msg->len && (m[off] == ' ' || m[off] == '\t'))
			off++;
		if ((nl = memchr(m + off, '\n', msg->len - off)) == NULL)
			nl = m + msg->len;
		if (nl - (m + off) <= 1)
			continue;	/* blank line */
		yes = (size_t)(nl - (m + off)) >= 8 && strncasecmp(m + off, "withdraw", 8) == 0;
		break;
	}
	hdr_free(&h);
	return yes;
}

/* confirm_handle - mail to LIST-confirm+TOKEN@: release the held copy once (or withdraw it) */
int
confirm_handle(struct pipeline *p, const struct listaddr *la, const struct buf *msg)
{
	unsigned char want[crypto_hash_sha256_BYTES], got[crypto_hash_sha256_BYTES];
	char id[QID_LEN + 8];
	struct envelope e;
	struct buf copy, why;
	int n = 0, rc;

	if ((rc = store_confirm_use_key(p->st, la->token, la->list->name, p->now)) == STORE_OK) {
		log_info("%s confirm: list=%s a member's own key registered result=ok", p->qid, la->list->name);
		return 1;
	}
	if (rc != STORE_NOTFOUND)
		return -1;
	if ((rc = confirm_command(p, la)) != 0)
		return rc;
	if ((rc = moderate_handle(p, la, msg)) != 0)
		return rc;
	if ((rc = quorum_handle(p, la, msg)) != 0)
		return rc;
	if ((rc = store_confirm_use(p->st, la->token, la->list->name, p->now, id, sizeof(id), want,
	    sizeof(want))) == STORE_NOTFOUND) {
		log_info("%s confirm: list=%s token unknown, used or expired; ignored result=permfail", p->qid,
		    la->list->name);
		return 0;
	}
	if (rc != STORE_OK)
		return -1;
	if (says_withdraw(msg)) {
		spool_remove(p->sp, SPOOL_OUT, id);
		log_info("%s confirm: list=%s withdrawn by its author out=%s result=ok", p->qid, la->list->name, id);
		return 1;
	}
	buf_init(&copy, 0);
	buf_init(&why, 0);
	if (spool_read(p->sp, SPOOL_OUT, id, &e, &copy, &why) != 0) {
		log_err("%s confirm: list=%s held copy %s unreadable: %s", p->qid, la->list->name, id, buf_cstr(&why));
		buf_free(&copy);
		buf_free(&why);
		return 0;
	}
	envelope_free(&e);
	crypto_hash_sha256(got, copy.data, copy.len);
	buf_free(&why);
	if (memcmp(got, want, sizeof(got)) != 0) {
		buf_free(&copy);
		log_err("%s confirm: list=%s held copy %s changed since the token was sent; not distributed",
		    p->qid, la->list->name, id);
		return 0;
	}
	if (fanout_members(p, la->list, id, &n) < 0 ||
	    archive_distributed(p->st, la->list, p->now, copy.data, copy.len) < 0) {
		buf_free(&copy);
		return -1;
	}
	buf_free(&copy);
	log_info("%s confirm: list=%s confirmed out=%s rcpts=%d result=ok", p->qid, la->list->name, id, n);
	return 1;
}
