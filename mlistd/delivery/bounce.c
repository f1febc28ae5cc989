/*
 * bounce.c - what to do when a member's mail bounces.
 *
 * A bounce reaches LIST-bounces+TOKEN@ (VERP: the token names the delivery,
 * so the member is known without parsing anything) or LIST-bounces@ (then
 * the failed recipients are read from the DSN, RFC 3464: Final-Recipient
 * with Action: failed). Each bounce raises the member's score (at most
 * once a day; the score decays to zero after bounce.decay_days without
 * one). At bounce.score_limit a probe goes out by VERP, as Mailman does;
 * if the probe bounces too, delivery is disabled and the member told.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery/bounce.h"
#include "delivery/distribute.h"
#include "util/log.h"

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

/*
 * bounce_dsn_recipients - failed recipients of a DSN (RFC 3464). Reads the
 * per-recipient groups as plain lines; a group counts only with Action: failed.
 */
int
bounce_dsn_recipients(const char *m, size_t len, char rcpts[][ADDR_MAX + 1], int max)
{
	size_t off = 0, end;
	const char *nl;
	char cur[ADDR_MAX + 1] = "";
	int n = 0;

	while (off < len && n < max) {
		nl = memchr(m + off, '\n', len - off);
		end = nl ? (size_t)(nl - m) + 1 : len;
		if (end - off > 16 && strncasecmp(m + off, "Final-Recipient:", 16) == 0) {
			if (dsn_value(m + off + 16, end - off - 16, cur) < 0)
				cur[0] = 0;
		} else if (end - off > 7 && strncasecmp(m + off, "Action:", 7) == 0 && *cur) {
			const char *a = m + off + 7;

			while (a < m + end && isspace((unsigned char)*a))
				a++;
			if ((size_t)(m + end - a) >= 6 && strncasecmp(a, "failed", 6) == 0)
				snprintf(rcpts[n++], ADDR_MAX + 1, "%s", cur);
			cur[0] = 0;
		}
		off = end;
	}
	return n;
}

/* bounce_member - one bounce for a member of l */
void
bounce_member(struct pipeline *p, const struct list_cfg *l, const char *addr)
{
	struct member m;
	int probe_sent, score;

	if (store_member_find(p->st, l->name, addr, &m) != STORE_OK)
		return;
	member_free(&m);
	score = store_member_bounce(p->st, l->name, addr, p->now, l->bounce_decay_days, &probe_sent);
	log_info("%s bounce: list=%s member-score=%d limit=%d", p->qid, l->name, score, l->bounce_limit);
	if (score < l->bounce_limit)
		return;
	if (!probe_sent) {
		distribute_notice(p, l, addr, "Mail to you from the list is bouncing",
		    "Mail from the list to your address has been bouncing. This is a test: if you\n"
		    "read it, nothing needs to be done. If this message bounces too, the list will\n"
		    "stop sending you mail until you turn delivery back on.", ENV_VERP, "", NULL);
		store_member_probe(p->st, l->name, addr);
		log_info("%s bounce: list=%s probe sent", p->qid, l->name);
		return;
	}
	store_member_disable(p->st, l->name, addr);
	distribute_notice(p, l, addr, "Delivery from the list has been turned off",
	    "Mail from the list to your address kept bouncing, so the list has stopped sending\n"
	    "it. When your mailbox works again, write to the -request address with\n"
	    "\"set nomail off\" to receive mail again.", ENV_NULL, "", NULL);
	log_info("%s bounce: list=%s delivery disabled for a member after probe bounced", p->qid, l->name);
}

/* bounce_handle - mail to LIST-bounces[+TOKEN]@ */
int
bounce_handle(struct pipeline *p, const struct listaddr *la, const struct buf *msg)
{
	char list[72], *rcpt = NULL, found[16][ADDR_MAX + 1];
	int n, i;

	if (la->token[0]) {
		if (store_delivery_by_token(p->st, la->token, list, sizeof(list), &rcpt) != STORE_OK ||
		    strcmp(list, la->list->name) != 0) {
			log_info("%s bounce: list=%s token unknown; ignored", p->qid, la->list->name);
			free(rcpt);
			return 0;
		}
		bounce_member(p, la->list, rcpt);
		free(rcpt);
		return 1;
	}
	n = bounce_dsn_recipients((const char *)msg->data, msg->len, found, 16);
	for (i = 0; i < n; i++)
		bounce_member(p, la->list, found[i]);
	if (n == 0)
		log_info("%s bounce: list=%s no failed recipient found; ignored", p->qid, la->list->name);
	return n;
}
