/*
 * bounce.c - what to do when a member's mail bounces.
 *
 * Anyone can write to LIST-bounces@, with any envelope sender and any text:
 * a bounce is a claim. It counts only when it carries something that only
 * the mail system of the member's copy had:
 *   - a DSN (RFC 3464: from <>, multipart/report with a message/delivery-
 *     status part, Action: failed) whose Original-Envelope-Id is the
 *     envelope id of one of our relay transactions (envid.c, sent where
 *     the relay offers DSN) and whose failed recipient's Original-
 *     Recipient is the one we gave her own delivery row in that very
 *     transaction (RCPT ORCPT=, which only her mail system saw);
 *   - a DSN reporting a failure sent to the VERP token of a delivery to
 *     the member (LIST-bounces+TOKEN@: only her own mail system saw it;
 *     a delay warning is no bounce);
 *   - the VERP token of the member's probe, in whatever form it comes back
 *     but a DSN that reports no failure;
 *   - the relay refusing the member's address for good (qmgr's on_failed).
 * A DSN with nothing but a copy's Message-ID proves nothing: without VERP
 * every member's copy carries the same one, so any member could name
 * another; nor does the envelope id alone, which a member who runs her
 * own mail system has for everyone in her transaction. For a member who
 * had that copy (in that transaction) it asks her mailbox instead, by
 * a VERP probe (at most one a day), whose own bounce is what counts: a
 * mail system that drops ENVID or ORCPT still gets a dead mailbox
 * disabled, a forger gets her victim one probe. Anything else - plain
 * mail naming the member, a DSN for a delivery never made, an unknown
 * token - is logged and does nothing. Each bounce raises the member's
 * score (at most once a day; the score decays to zero after
 * bounce.decay_days without one). At bounce.score_limit a probe goes out by
 * VERP, as Mailman does; only a bounce of the probe itself (its token, or
 * the relay's 5xx for it) disables delivery, and the member is told.
 * Turning delivery back on resets the score (store_member_set).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery/bounce.h"
#include "delivery/distribute.h"
#include "delivery/envid.h"
#include "mail/header.h"
#include "mail/msgid.h"
#include "util/log.h"

/* a DSN later than this names no delivery of ours */
#define BOUNCE_RECENT	MSGID_KEEP
#define BOUNDARY_MAX	70		/* RFC 2046 */
/* a DSN without our envelope id asks a mailbox at most this often */
#define ASK_INTERVAL	86400

/* what mail to a VERP token is: no DSN, a DSN without a failure, one with */
enum { DSN_NONE, DSN_NO_FAILURE, DSN_FAILED };

/* dsn_value - the address in "Final-Recipient: rfc822; addr" */
static int
dsn_value(const char *v, size_t n, char *out)
{
	const char *semi = memchr(v, ';', n), *end = v + n, *s;
	size_t len;

	if (!semi)
		return -1;
	for (s = semi + 1; s < end && isspace((unsigned char)*s); s++)
		;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (s < end && *s == '<' && end[-1] == '>')
		s++, end--;
	len = (size_t)(end - s);
	if (len == 0 || len > ADDR_MAX)
		return -1;
	memcpy(out, s, len);
	out[len] = 0;
	return addr_valid(out) ? 0 : -1;
}

/* ct_is - does a Content-Type value name this type (parameters may follow)? */
static int
ct_is(const char *v, const char *type)
{
	size_t n = strlen(type);

	while (isspace((unsigned char)*v))
		v++;
	return strncasecmp(v, type, n) == 0 && (v[n] == 0 || v[n] == ';' || isspace((unsigned char)v[n]));
}

/* ct_boundary - the boundary parameter of a Content-Type value; -1 if none */
static int
ct_boundary(const char *v, char *out)
{
	const char *p = v, *e;
	size_t n;

	while ((p = strchr(p, ';')) != NULL) {
		for (p++; isspace((unsigned char)*p); p++)
			;
		if (strncasecmp(p, "boundary=", 9) != 0)
			continue;
		p += 9;
		if (*p == '"')
			e = strchr(++p, '"');
		else
			for (e = p; *e && *e != ';' && !isspace((unsigned char)*e); e++)
				;
		if (!e || (n = (size_t)(e - p)) == 0 || n > BOUNDARY_MAX)
			return -1;
		memcpy(out, p, n);
		out[n] = 0;
		return 0;
	}
	return -1;
}

static const char *const status_types[] = {
	"message/delivery-status", "message/global-delivery-status", NULL
};
/* what a DSN returns of the message: all of it, or its header */
static const char *const returned_types[] = {
	"message/rfc822", "text/rfc822-headers", "message/global",
	"message/global-headers", NULL
};

/* part_of - the body of part [p, end) if its type is one of types, or NULL */
static const char *
part_of(const char *p, const char *end, const char *const *types,
    size_t *len)
{
	struct hdr h;
	char *ct;
	const char *body = NULL;
	int i;

	if (hdr_parse(p, (size_t)(end - p), &h) < 0)
		return NULL;
	if ((ct = hdr_get_value(&h, "Content-Type")) != NULL)
		for (i = 0; types[i] && body == NULL; i++)
			if (ct_is(ct, types[i])) {
				body = p + h.body_off;
				*len = (size_t)(end - body);
			}
	free(ct);
	hdr_free(&h);
	return body;
}

/*
 * report_part - the first part of multipart/report m whose type is one of
 * types, or NULL. One pass over the body for the boundary lines: linear
 * in its size.
 */
static const char *
report_part(const char *m, size_t len, const char *const *types,
    size_t *slen)
{
	char bnd[BOUNDARY_MAX + 5], *ct;
	const char *p, *end = m + len, *part = NULL, *found = NULL, *nl;
	struct hdr h;
	size_t blen;

	if (hdr_parse(m, len, &h) < 0)
		return NULL;
	ct = hdr_get_value(&h, "Content-Type");
	p = m + h.body_off;
	hdr_free(&h);
	if (!ct || !ct_is(ct, "multipart/report") ||
	    ct_boundary(ct, bnd + 2) < 0) {
		free(ct);
		return NULL;
	}
	free(ct);
	bnd[0] = bnd[1] = '-';
	blen = strlen(bnd);
	/* each line that starts with --boundary ends the part before it */
	for (; p < end && !found; p = nl ? nl + 1 : end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((size_t)(end - p) < blen || memcmp(p, bnd, blen) != 0)
			continue;
		if (part)
			found = part_of(part, p, types, slen);
		part = nl ? nl + 1 : end;
		if ((size_t)(end - p) >= blen + 2 && p[blen] == '-' &&
		    p[blen + 1] == '-')
			break;		/* the close delimiter */
	}
	return found;
}

/*
 * bounce_dsn_status - the message/delivery-status part of a DSN: from <>,
 * multipart/report; NULL if msg is not a DSN. Linear in len.
 */
const char *
bounce_dsn_status(const char *sender, const char *m, size_t len,
    size_t *slen)
{
	if (sender == NULL || *sender)
		return NULL;	/* a DSN comes from <> (RFC 3464 section 2) */
	return report_part(m, len, status_types, slen);
}

/*
 * bounce_returned_msgid - the Message-ID of the message a DSN returns (its
 * message/rfc822 or text/rfc822-headers part): 0, -1 none
 */
int
bounce_returned_msgid(const char *m, size_t len, char *out, size_t n)
{
	const char *part;
	size_t plen = 0;

	if ((part = report_part(m, len, returned_types, &plen)) == NULL)
		return -1;
	return msgid_of(part, plen, out, n);
}

/* blank - a line of nothing but white space: the end of a DSN field group */
static int
blank(const char *p, size_t n)
{
	while (n > 0 && isspace((unsigned char)*p))
		p++, n--;
	return n == 0;
}

/* failed_action - an "Action:" value that says failed */
static int
failed_action(const char *a, const char *end)
{
	while (a < end && isspace((unsigned char)*a))
		a++;
	return (size_t)(end - a) >= 6 && strncasecmp(a, "failed", 6) == 0;
}

/*
 * orig_value - the value of "Original-Recipient: rfc822;VALUE" if it has
 * the length of one of ours (envid.c), else ""; xtext decoding changes
 * nothing in ours
 */
static void
orig_value(const char *v, size_t n, char out[ENVID_ORCPT_MAX])
{
	const char *semi = memchr(v, ';', n), *end = v + n, *s;

	out[0] = 0;
	if (semi == NULL)
		return;
	for (s = v; s < semi && isspace((unsigned char)*s); s++)
		;
	if ((size_t)(semi - s) != 6 || strncasecmp(s, "rfc822", 6) != 0)
		return;
	for (s = semi + 1; s < end && isspace((unsigned char)*s); s++)
		;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if ((size_t)(end - s) != ENVID_ORCPT_LEN)
		return;
	memcpy(out, s, ENVID_ORCPT_LEN);
	out[ENVID_ORCPT_LEN] = 0;
}

/* one recipient group being read */
struct group {
	char		 rcpt[ADDR_MAX + 1];
	char		 orig[ENVID_ORCPT_MAX];
	int		 failed;
};

/* group_end - a group ends: a failed one is kept (at n); the next one */
static int
group_end(struct group *g, char rcpts[][ADDR_MAX + 1],
    char (*orig)[ENVID_ORCPT_MAX], int n)
{
	int kept = *g->rcpt && g->failed;

	if (kept) {
		snprintf(rcpts[n], ADDR_MAX + 1, "%s", g->rcpt);
		if (orig)
			snprintf(orig[n], ENVID_ORCPT_MAX, "%s", g->orig);
	}
	g->rcpt[0] = g->orig[0] = 0;
	g->failed = 0;
	return n + kept;
}

/*
 * bounce_dsn_failed - failed recipients in a delivery-status part (RFC
 * 3464), and (orig not NULL) each one's Original-Recipient if it may be
 * one of ours ("" if not): the per-recipient groups (separated by blank
 * lines) read as lines; a group counts when it has a Final-Recipient and
 * Action: failed, in any order (Exim writes Action first); a second
 * Final-Recipient also ends a group. An Original-Recipient goes with the
 * Final-Recipient after it (RFC 3464 2.3 puts it first), or with the one
 * before it (Postfix writes it second) if that one has none yet. Linear
 * in len.
 */
int
bounce_dsn_failed(const char *m, size_t len, char rcpts[][ADDR_MAX + 1],
    char (*orig)[ENVID_ORCPT_MAX], int max)
{
	size_t off = 0, end;
	const char *nl, *l;
	char pending[ENVID_ORCPT_MAX] = "";
	struct group g = { "", "", 0 };
	int n = 0, last;

	while (n < max) {
		last = off >= len;
		nl = last ? NULL : memchr(m + off, '\n', len - off);
		end = last ? len : nl ? (size_t)(nl - m) + 1 : len;
		l = m + off;
		if (last || blank(l, end - off)) {
			n = group_end(&g, rcpts, orig, n);
			pending[0] = 0;
			if (last)
				break;
		} else if (end - off > 16 &&
		    strncasecmp(l, "Final-Recipient:", 16) == 0) {
			/* groups without the blank line between them */
			if (*g.rcpt && (n = group_end(&g, rcpts, orig, n)) == max)
				break;
			if (dsn_value(l + 16, end - off - 16, g.rcpt) < 0)
				g.rcpt[0] = 0;
			memcpy(g.orig, pending, sizeof(pending));
			pending[0] = 0;
		} else if (end - off > 19 &&
		    strncasecmp(l, "Original-Recipient:", 19) == 0)
			orig_value(l + 19, end - off - 19,
			    *g.rcpt && !*g.orig ? g.orig : pending);
		else if (end - off > 7 && strncasecmp(l, "Action:", 7) == 0)
			g.failed = failed_action(l + 7, m + end);
		off = end;
	}
	return n;
}

/* bounce_dsn_recipients - bounce_dsn_failed without the originals */
int
bounce_dsn_recipients(const char *m, size_t len, char rcpts[][ADDR_MAX + 1],
    int max)
{
	return bounce_dsn_failed(m, len, rcpts, NULL, max);
}

/*
 * bounce_dsn_envid - the Original-Envelope-Id of a delivery-status part
 * (RFC 3464 2.2.1: a per-message field, so in the first group) into out
 * (size n): 0, or -1 if it has none. Linear in len.
 */
int
bounce_dsn_envid(const char *m, size_t len, char *out, size_t n)
{
	static const char f[] = "Original-Envelope-Id:";
	const size_t fl = sizeof(f) - 1;
	const char *l = m, *end = m + len, *nl, *v, *e;

	for (; l < end; l = nl < end ? nl + 1 : end) {
		if ((nl = memchr(l, '\n', (size_t)(end - l))) == NULL)
			nl = end;
		if (blank(l, (size_t)(nl - l)))
			break;	/* the per-recipient groups begin */
		if ((size_t)(nl - l) <= fl || strncasecmp(l, f, fl) != 0)
			continue;
		for (v = l + fl; v < nl && isspace((unsigned char)*v); v++)
			;
		for (e = nl; e > v && isspace((unsigned char)e[-1]); e--)
			;
		if (e == v || (size_t)(e - v) >= n)
			return -1;
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = 0;
		return 0;
	}
	return -1;
}

/* probe - the score reached the limit: ask the member's mailbox by VERP */
static void
probe(struct pipeline *p, const struct list_cfg *l, const char *addr)
{
	if (distribute_notice_tmpl(p, l, addr, NOTICE_BOUNCE_PROBE, NULL, ENV_VERP,
	    "", NULL) < 0 ||
	    store_member_probe(p->st, l->name, addr) != STORE_OK) {
		log_err("%s bounce: list=%s cannot send the probe: %s", p->qid, l->name,
		    store_errmsg(p->st));
		return;
	}
	log_info("%s bounce: list=%s probe sent", p->qid, l->name);
}

/* disable - the probe bounced: no more mail to the member, and they are told */
static void
disable(struct pipeline *p, const struct list_cfg *l, const char *addr)
{
	if (store_member_disable(p->st, l->name, addr) != STORE_OK) {
		log_err("%s bounce: list=%s cannot disable delivery: %s", p->qid, l->name,
		    store_errmsg(p->st));
		return;
	}
	(void)distribute_notice_tmpl(p, l, addr, NOTICE_BOUNCE_DISABLED, NULL,
	    ENV_NULL, "", NULL);
	log_info("%s bounce: list=%s delivery disabled for a member after probe bounced", p->qid, l->name);
}

/* count - one bounce that is evidence; the probe's own bounce (is_probe) may disable */
static void
count(struct pipeline *p, const struct list_cfg *l, const char *addr, int is_probe)
{
	struct member m;
	int probe_sent, score, rc;

	if ((rc = store_member_find(p->st, l->name, addr, &m)) != STORE_OK) {
		if (rc != STORE_NOTFOUND)
			log_err("%s bounce: list=%s database: %s", p->qid, l->name, store_errmsg(p->st));
		return;
	}
	member_free(&m);
	score = store_member_bounce(p->st, l->name, addr, p->now, l->bounce_decay_days, &probe_sent);
	if (score < 0) {
		log_err("%s bounce: list=%s database: %s", p->qid, l->name, store_errmsg(p->st));
		return;
	}
	log_info("%s bounce: list=%s member-score=%d limit=%d", p->qid, l->name, score, l->bounce_limit);
	if (is_probe && probe_sent)
		disable(p, l, addr);
	else if (score >= l->bounce_limit && !probe_sent)
		probe(p, l, addr);
}

/* bounce_member - the relay refused a member's address for good: always evidence */
void
bounce_member(struct pipeline *p, const struct list_cfg *l, const char *addr)
{
	count(p, l, addr, 1);
}

/*
 * bounce_token - mail to LIST-bounces+TOKEN@: the probe's token (in any
 * form but a DSN that reports no failure), or a DSN for that delivery
 * reporting one. dsn: DSN_NONE, DSN_NO_FAILURE or DSN_FAILED. A delay
 * warning (Action: delayed; Exim sends one after a day) is no bounce:
 * counted, a member whose server was down a while had her score raised
 * by each, and the probe's own warning then turned her delivery off.
 */
static int
bounce_token(struct pipeline *p, const struct listaddr *la, int dsn)
{
	char list[72], *rcpt = NULL;
	int is_probe = 0, rc;

	rc = store_bounce_token(p->st, la->token, list, sizeof(list), &rcpt, &is_probe);
	if (rc == STORE_OK && strcmp(list, la->list->name) == 0 &&
	    (dsn == DSN_FAILED || (is_probe && dsn == DSN_NONE))) {
		count(p, la->list, rcpt, is_probe);
		free(rcpt);
		return 1;
	}
	if (rc == STORE_ERR)
		log_err("%s bounce: list=%s database: %s; ignored", p->qid, la->list->name,
		    store_errmsg(p->st));
	else
		log_info("%s bounce: list=%s %s; ignored", p->qid, la->list->name,
		    rc != STORE_OK || strcmp(list, la->list->name) ? "token unknown" :
		    dsn == DSN_NO_FAILURE ? "a delivery status notification "
		    "that reports no failure (delayed, delivered)" :
		    "not a delivery status notification");
	free(rcpt);
	return 0;
}

/* yes - a store call's answer: 1 yes, 0 no or an error (logged) */
static int
yes(struct pipeline *p, const struct list_cfg *l, int rc)
{
	if (rc < 0)
		log_err("%s bounce: list=%s database: %s", p->qid, l->name,
		    store_errmsg(p->st));
	return rc == 1;
}

/*
 * sent_copy - was the copy the DSN returns (by its Message-ID, msgid)
 * really delivered to addr recently? 1 yes, 0 no (or an error, logged)
 */
static int
sent_copy(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const char *msgid)
{
	return *msgid != 0 && yes(p, l, store_delivered_msgid(p->st, l->name,
	    addr, msgid, p->now - BOUNCE_RECENT));
}

/*
 * ask - a DSN names a member who had the copy it returns, but holds
 * nothing she could not read in a copy of her own: her mailbox is asked
 * by a VERP probe, at most one a day, and only the probe's bounce counts
 */
static void
ask(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const char *why)
{
	char key[ADDR_MAX + 100];
	struct member m;
	int rc, nomail;

	if ((rc = store_member_find(p->st, l->name, addr, &m)) != STORE_OK) {
		if (rc != STORE_NOTFOUND)
			log_err("%s bounce: list=%s database: %s", p->qid,
			    l->name, store_errmsg(p->st));
		return;
	}
	nomail = m.nomail;
	member_free(&m);
	if (nomail) {
		/* no mail goes to her now: nothing to ask, nothing to count */
		log_info("%s bounce: list=%s %s; delivery is off; ignored",
		    p->qid, l->name, why);
		return;
	}
	/* its own name space in the notices' table: never an address */
	rc = snprintf(key, sizeof(key), "~bounce-ask:%s:%s", l->name, addr);
	if (rc < 0 || (size_t)rc >= sizeof(key))
		return;	/* no member has so long an address */
	if ((rc = store_notice_allowed(p->st, key, p->now,
	    ASK_INTERVAL)) != 1) {
		if (rc < 0)
			log_err("%s bounce: list=%s database: %s", p->qid,
			    l->name, store_errmsg(p->st));
		else
			log_info("%s bounce: list=%s %s; the mailbox was "
			    "asked in the last day; ignored", p->qid, l->name,
			    why);
		return;
	}
	if (distribute_notice_tmpl(p, l, addr, NOTICE_BOUNCE_PROBE, NULL,
	    ENV_VERP, "", NULL) < 0) {
		log_err("%s bounce: list=%s cannot send the probe: %s",
		    p->qid, l->name, store_errmsg(p->st));
		return;
	}
	log_info("%s bounce: list=%s %s; the mailbox is asked by a probe "
	    "(its bounce counts, this one not)", p->qid, l->name, why);
}

/* one DSN's envelope id, if it is one of ours: the transaction it names */
struct dsn_txn {
	int		 ok;
	char		 qid[32];
	long long	 lo, hi;
};

/* dsn_txn - the transaction of our envelope id in status, if any */
static void
dsn_txn(struct pipeline *p, const char *status, size_t slen,
    struct dsn_txn *t)
{
	char envid[ENVID_MAX];

	t->ok = p->keys != NULL &&
	    bounce_dsn_envid(status, slen, envid, sizeof(envid)) == 0 &&
	    envid_check(p->keys, envid, t->qid, sizeof(t->qid), &t->lo,
	    &t->hi) == 0;
}

/*
 * delivered_in - was addr a recipient (recently) of qid's delivery rows
 * [lo, hi]? 1 yes, 0 no (or an error, logged)
 */
static int
delivered_in(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const char *qid, long long lo, long long hi)
{
	return yes(p, l, store_delivered_in(p->st, l->name, addr, qid, lo, hi,
	    p->now - BOUNCE_RECENT));
}

/* in_txn - was addr a recipient in transaction t (recently)? */
static int
in_txn(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const struct dsn_txn *t)
{
	return delivered_in(p, l, addr, t->qid, t->lo, t->hi);
}

/*
 * orig_names - does the original recipient orig (envid.c) name addr's
 * own delivery row in transaction t? 1 yes, 0 no (or an error, logged)
 */
static int
orig_names(struct pipeline *p, const struct list_cfg *l, const char *addr,
    const char *orig, const struct dsn_txn *t)
{
	char qid[32];
	long long row;

	if (*orig == 0 || envid_orcpt_check(p->keys, orig, qid, sizeof(qid),
	    &row) < 0 || strcmp(qid, t->qid) != 0 || row < t->lo ||
	    row > t->hi)
		return 0;
	return delivered_in(p, l, addr, qid, row, row);
}

/*
 * bounce_handle - mail to LIST-bounces[+TOKEN]@ from envelope sender
 * `sender`. Without a token a DSN counts for a member only when its
 * envelope id names a transaction of ours and its Original-Recipient
 * names her own row in it. Anyone can name a member and the list, and
 * any member has the Message-ID; every mail system of the transaction
 * (a member's own among them) had its envelope id, but only hers had her
 * original recipient. A DSN naming her with the envelope id alone (a
 * relay that drops ORCPT, or a forger of her transaction), or only a
 * copy she had (its Message-ID), gets her mailbox asked (ask).
 */
int
bounce_handle(struct pipeline *p, const struct listaddr *la,
    const char *sender, const struct buf *msg)
{
	char found[16][ADDR_MAX + 1], orig[16][ENVID_ORCPT_MAX];
	char msgid[MSGID_MAX] = "";
	const char *status, *m = (const char *)msg->data;
	struct dsn_txn t;
	size_t slen = 0;
	int n, i, k = 0, other = 0;

	status = bounce_dsn_status(sender, m, msg->len, &slen);
	if (la->token[0])
		return bounce_token(p, la, status == NULL ? DSN_NONE :
		    bounce_dsn_failed(status, slen, found, NULL, 16) > 0 ?
		    DSN_FAILED : DSN_NO_FAILURE);
	if (status == NULL) {
		log_info("%s bounce: list=%s not a delivery status "
		    "notification; ignored", p->qid, la->list->name);
		return 0;
	}
	if (bounce_returned_msgid(m, msg->len, msgid, sizeof(msgid)) < 0)
		msgid[0] = 0;
	dsn_txn(p, status, slen, &t);
	n = bounce_dsn_failed(status, slen, found, orig, 16);
	for (i = 0; i < n; i++)
		if (t.ok && orig_names(p, la->list, found[i], orig[i], &t)) {
			count(p, la->list, found[i], 0);
			k++;
		} else if (t.ok && in_txn(p, la->list, found[i], &t))
			ask(p, la->list, found[i],
			    "no original recipient of ours naming her");
		else if (t.ok)
			other++;
		else if (sent_copy(p, la->list, found[i], msgid))
			ask(p, la->list, found[i], "no envelope id of ours");
		else
			other++;
	if (k == 0 && (other || n == 0))
		log_info("%s bounce: list=%s no failed recipient %s; "
		    "ignored%s", p->qid, la->list->name, t.ok ?
		    "in the transaction its envelope id names" :
		    "with a recent delivery", t.ok || *msgid ? "" :
		    " (it returns no copy of ours)");
	return k;
}
