/*
 * authn.c - who sent this message, and how sure the list is of it.
 *
 * Levels, lowest first: the From: claim alone; confirmed from the member's
 * mailbox (a token round trip, leadership/confirm.c); DKIM-verified and
 * aligned with the From domain (mail/auth.c: a trusted Authentication-
 * Results, or our own verification with keys from DNS); signed with the
 * member's own key (policy_author). Every path that acts on a sender's
 * identity asks here: posts, private replies, the moderators' addresses,
 * discipline and -request commands.
 *
 * Authentication-Results are believed only for auth.authserv_id and only
 * on a listener marked behind_mta (ingest notes it in the envelope): a
 * client talking SMTP straight to mlistd writes any header it likes.
 * DNS runs here, in the queue manager, never in the SMTP server; a look-up
 * that cannot be answered now is TEMPFAIL (the message waits and is tried
 * again), never a pass.
 *
 * And the queue manager never waits for DNS: a name a message's check asks
 * for is started (dns_ask) and the check answers TEMPFAIL with
 * authn_busy() set, like a parse not ready (workpool.c): the pass is
 * rolled back, the loop polls the resolver (authn_pollfds, authn_service)
 * with everything else, and handles the message again once the answer is
 * in or dns.timeout has passed. The next pass finds the answers under the
 * message's queue id and name (struct lookup), so a sender whose DNS
 * answers late holds up their own message, not the lists. Each name is
 * asked once per message; the answers are dropped when a check ends (or,
 * for a message gone meanwhile, AUTHN_FORGET_MS after their deadline).
 *
 * The slots are shared out (lookshare.c): a look-up counts against the
 * message's first list and against the registrable domain of the name
 * asked (the d= or From domain it is about, which the sender chooses),
 * and one past either share does not start: it waits, queued (struct
 * lookup without a query), and its message waits with it as for an
 * answer, until one of its share's look-ups ends, or dns.timeout has
 * passed (then DNS_TEMP: the message is retried). So one list's or one
 * domain's look-ups that never answer cannot take the slots another list
 * needs, nor those of its own list's other senders.
 *
 * Within a list's share, a look-up about the domain of a From that names
 * a member of the list draws from the members' part (lookshare.c), the
 * rest from the strangers' part, which strangers naming a domain each
 * cannot overdraw (round 9b, finding 2). Only names under the claimed
 * address's registrable domain count as the member's: a name the sender
 * chose (a non-aligned d=) goes to the strangers' part, so that one who
 * fills it and watches her own name server learns nothing of who is a
 * member from when her names are asked. The member test is one store
 * read per pass; its result is used for the shares and nowhere else.
 *
 * A held post tells the moderators how sure the list is of its sender
 * (authn_held_note): a forged From must not reach them looking like the
 * member's own post.
 *
 * Answers to senders who are not authenticated are bounded: per address
 * (the store's notice clock), per instance (an hourly budget in the store,
 * so a restart does not renew it), and none at all to a domain that
 * publishes p=reject when this mail failed it.
 *
 * And they leave at a time fixed by the arrival alone (answer_time): a
 * claim that names a member takes another path than one naming nobody
 * (pending rows, tokens, a parse), and an answer sent when that path ends
 * would time it for whoever sent the claim.
 *
 * The resolver is opened on first use and closed by authn_reload (SIGHUP):
 * the next look-up opens it with the new dns.* settings and trust anchor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "mail/addr.h"
#include "mail/auth.h"
#include "mail/header.h"
#include "mail/notices.h"
#include "pipeline/authn.h"
#include "pipeline/lookshare.h"
#include "pipeline/workpool.h"
#include "util/log.h"
#include "util/mono.h"

/* look-ups kept, out, queued or answered: more is tempfail, retried */
#define AUTHN_KEPT_MAX		(16 * LOOKSHARE_MAX)
/* a message gone meanwhile: its answers dropped so long after they came */
#define AUTHN_FORGET_MS		60000

/* a name one message's check asked for: queued, in flight, or answered */
struct lookup {
	struct lookup	*next;
	char		 qid[QID_LEN + 1];
	char		*name;
	char		 list[LIST_NAME_MAX + 1];	/* its share: "" none */
	char		 dom[256];			/* and this one */
	char		 claim[ADDR_MAX];	/* its member: "" strangers' */
	struct dns_query *q;	/* NULL: queued, its shares were full */
	int		 seen;		/* its end was reported */
	long long	 born;		/* mono_ms(): queued, then started */
};

struct authn_state {
	struct dns_ctx	*dns;
	struct lookup	*lk;
	int		 nlk;
	long long	 timeout_ms;	/* dns.timeout: a queued one waits so long */
};

/* what a check's look-ups find: the state, and whether one is still out */
struct ask {
	struct authn_state *s;
	const char	*qid;
	const char	*list;		/* the message's first list */
	char		 claim[ADDR_MAX];	/* a member of it, From: "" */
	char		 claim_dom[256];	/* its registrable domain */
	int		 waiting;
	int		 queued;	/* of them, waiting for a slot */
};

/* authn_level_name - for the log */
const char *
authn_level_name(enum authn_level l)
{
	switch (l) {
	case AUTHN_MAILBOX:
		return "mailbox";
	case AUTHN_DKIM:
		return "dkim-aligned";
	case AUTHN_OWN_KEY:
		return "own-key";
	default:
		return "claim";
	}
}

/* lookup_free - one look-up, cancelled if it is still out */
static void
lookup_free(struct authn_state *s, struct lookup *l)
{
	dns_query_free(l->q);
	free(l->name);
	free(l);
	s->nlk--;
}

/* lookups_drop - qid's look-ups (NULL: all), before the resolver goes */
static void
lookups_drop(struct authn_state *s, const char *qid)
{
	struct lookup **pp = &s->lk, *l;

	while ((l = *pp) != NULL) {
		if (!qid || strcmp(l->qid, qid) == 0) {
			*pp = l->next;
			lookup_free(s, l);
		} else
			pp = &l->next;
	}
}

/* authn_state_free - the resolver and the budget */
void
authn_state_free(struct authn_state *s)
{
	if (!s)
		return;
	lookups_drop(s, NULL);
	dns_close(s->dns);
	free(s);
}

/*
 * authn_reload - the configuration was read again: drop the resolver, so
 * that the next look-up opens one with the new settings and trust anchor
 */
void
authn_reload(struct pipeline *p)
{
	if (!p->authn || !p->authn->dns)
		return;
	/* the messages waiting ask again, through the new resolver */
	lookups_drop(p->authn, NULL);
	dns_close(p->authn->dns);
	p->authn->dns = NULL;
	log_info("NOQUEUE qmgr: authn resolver closed; reopened with the new "
	    "settings on the next look-up");
}

/* state - the queue manager's state, the resolver opened on first use; NULL (why) if not */
static struct authn_state *
state(struct pipeline *p, char *why, size_t wl)
{
	const struct config *c = p->cfg;
	struct dns_cfg dc = { c->dns_resolver ? c->dns_resolver : "", c->dns_timeout * 1000,
	    c->dns_trust_anchor ? c->dns_trust_anchor : "" };

	if (!p->authn && (p->authn = calloc(1, sizeof(*p->authn))) == NULL) {
		snprintf(why, wl, "out of memory");
		return NULL;
	}
	if (!p->authn->dns && (p->authn->dns = dns_open(&dc, why, wl)) == NULL)
		return NULL;
	/* dns.c's default when unset */
	p->authn->timeout_ms = dc.timeout_ms > 0 ? dc.timeout_ms : 5000;
	return p->authn;
}

/* precedence_list - Precedence: list (bulk and junk are hdr_automatic's) */
static int
precedence_list(const struct hdr *h)
{
	char *v = hdr_get_value(h, "Precedence");
	int a = v && strcasecmp(v, "list") == 0;

	free(v);
	return a;
}

/*
 * authn_automatic - mail no person wrote just now: <>, Auto-Submitted
 * other than "no", Precedence bulk/junk/list, the vacation programs'
 * markers. It never confirms, votes, approves or spends a token, and is
 * never answered (RFC 3834).
 */
int
authn_automatic(const struct envelope *e, const struct buf *msg)
{
	struct hdr h;
	int a;

	if (!e->sender || !*e->sender)
		return 1;
	if (hdr_parse((const char *)msg->data, msg->len, &h) < 0)
		return 1;	/* what cannot be read is not acted on */
	a = hdr_automatic(&h) || precedence_list(&h) || hdr_get(&h, "X-Autogenerated") ||
	    hdr_get(&h, "X-Auto-Response-Suppress-Reply") || hdr_get(&h, "X-Vacation") ||
	    hdr_get(&h, "X-Mail-Autoreply");
	hdr_free(&h);
	return a;
}

/* front - the message came in on a listener behind the MTA of auth.authserv_id */
static int
front(const struct envelope *e)
{
	return e->note && strcmp(e->note, "front") == 0;
}

/* what a pass keeps for the next one: the answer, and the bytes it was about */
struct authn_kept {
	struct authn	 a;
	unsigned char	 h[crypto_generichash_BYTES];
};

/* kept_put - keep a for the next pass (out of memory: verified again) */
static void
kept_put(const char *qid, const struct buf *msg, const struct authn *a)
{
	struct authn_kept k;

	k.a = *a;
	crypto_generichash(k.h, sizeof(k.h), msg->data, msg->len, NULL, 0);
	(void)workpool_keep(qid, "authn", &k, sizeof(k));
}

/* kept_get - what an earlier pass found about these same bytes; 0, or -1 */
static int
kept_get(const char *qid, const struct buf *msg, struct authn *a)
{
	struct authn_kept k;
	unsigned char h[crypto_generichash_BYTES];

	if (workpool_kept(qid, "authn", &k, sizeof(k)) < 0)
		return -1;
	crypto_generichash(h, sizeof(h), msg->data, msg->len, NULL, 0);
	if (sodium_memcmp(h, k.h, sizeof(h)) != 0)
		return -1;
	*a = k.a;
	return 0;
}

/*
 * answer_time - when answers about a message from a sender we could not
 * authenticate go out: arrival + auth.answer_delay + 0..answer_jitter s,
 * drawn once per message. Late already (a queue that fell behind): now,
 * and said unless the operator set no delay, since then the time is the
 * path's again.
 */
static long long
answer_time(struct pipeline *p, const struct envelope *e)
{
	const struct config *c = p->cfg;
	long long at = (e->received > 0 ? e->received : p->now) +
	    c->answer_delay;

	/* received is in whole seconds: + 1, so that none leaves sooner */
	if (c->answer_delay > 0)
		at++;
	if (c->answer_jitter > 0)
		at += (long long)randombytes_uniform(
		    (uint32_t)c->answer_jitter + 1);
	if (at >= p->now)
		return at;
	if (c->answer_delay > 0)
		log_warn("%s qmgr: handled %llds after arrival, over "
		    "auth.answer_delay: its answers go now", p->qid,
		    p->now - (long long)e->received);
	return p->now;
}

/* lookup_find - qid's look-up of name, or NULL */
static struct lookup *
lookup_find(struct authn_state *s, const char *qid, const char *name)
{
	for (struct lookup *l = s->lk; l; l = l->next)
		if (strcmp(l->qid, qid) == 0 && strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

/* out - is l's query in flight (started, not answered, not timed out)? */
static int
out(const struct lookup *l)
{
	return l->q && !dns_query_done(l->q);
}

/*
 * usage - the look-ups out, as l's shares count them: started and their
 * end not yet seen by authn_service (one past its deadline counts until
 * the loop's next call: no clock read per look-up, and never too few)
 */
static void
usage(const struct authn_state *s, const struct lookup *l,
    struct lookshare_use *u)
{
	int same_list, same_dom, stranger;

	*u = (struct lookshare_use){ 0, 0, 0, 0, *l->claim != 0, 0, 0 };
	for (const struct lookup *o = s->lk; o; o = o->next) {
		if (!o->q || o->seen)
			continue;
		same_list = strcmp(o->list, l->list) == 0;
		same_dom = strcmp(o->dom, l->dom) == 0;
		stranger = same_list && !*o->claim;
		u->used++;
		u->list += same_list;
		u->domain += same_dom;
		u->strangers += stranger;
		u->both += stranger && same_dom;
		u->claim += same_list && *o->claim &&
		    strcasecmp(o->claim, l->claim) == 0;
	}
}

/* room - may queued l start now, within its list's and domain's shares? */
static int
room(const struct authn_state *s, const struct lookup *l)
{
	struct lookshare_use u;

	usage(s, l, &u);
	return lookshare_room(&u, LOOKSHARE_MAX);
}

/* expired - has queued l waited dns.timeout for a slot? */
static int
expired(const struct authn_state *s, const struct lookup *l)
{
	return mono_ms() - l->born >= s->timeout_ms;
}

/* share_domain - the registrable domain name is under: its share's */
static void
share_domain(const char *name, char *out, size_t ol)
{
	/* _domainkey and _dmarc labels are below it: they do not count */
	if (dmarc_org_domain(name, out, ol) == 0)
		return;
	/* a public suffix itself (or too long): its own share */
	snprintf(out, ol, "%s", name);
}

/* lookup_add - name for a's message, queued; NULL (why) if it cannot be */
static struct lookup *
lookup_add(struct ask *a, const char *name, char *why, size_t wl)
{
	struct authn_state *s = a->s;
	struct lookup *l;

	if (s->nlk >= AUTHN_KEPT_MAX) {
		snprintf(why, wl, "%d DNS look-ups kept already", s->nlk);
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->name = strdup(name)) == NULL) {
		free(l);
		snprintf(why, wl, "out of memory");
		return NULL;
	}
	snprintf(l->qid, sizeof(l->qid), "%s", a->qid);
	snprintf(l->list, sizeof(l->list), "%s", a->list);
	share_domain(name, l->dom, sizeof(l->dom));
	/* the member's part: only names under her own address's domain */
	if (*a->claim && strcmp(l->dom, a->claim_dom) == 0)
		snprintf(l->claim, sizeof(l->claim), "%s", a->claim);
	l->born = mono_ms();
	l->next = s->lk;
	s->lk = l;
	s->nlk++;
	return l;
}

/*
 * lookup_start - queued l asked now if its shares have room: 0 asked,
 * 1 no room (it stays queued), -1 (why) it cannot be asked
 */
static int
lookup_start(struct authn_state *s, struct lookup *l, char *why, size_t wl)
{
	if (!room(s, l))
		return 1;
	if ((l->q = dns_ask(s->dns, l->name, why, wl)) == NULL)
		return -1;
	l->born = mono_ms();
	l->seen = 0;	/* its answer is reported, even after a wait's end */
	return 0;
}

/*
 * kept_txt - the verifiers' look-up: the answer this message's earlier
 * pass asked for, or the look-up started (or queued for a slot) now and
 * DNS_TEMP with the ask marked waiting (the pass is rolled back;
 * authn_busy says when to come back)
 */
static enum dns_status
kept_txt(void *arg, const char *name, struct dns_txt *out, char *why,
    size_t wl)
{
	struct ask *a = arg;
	struct lookup *l = lookup_find(a->s, a->qid, name);
	int rc;

	out->n = 0;
	if (!l && (l = lookup_add(a, name, why, wl)) == NULL)
		return DNS_TEMP;
	if (!l->q) {
		if ((rc = lookup_start(a->s, l, why, wl)) < 0)
			return DNS_TEMP;
		if (rc > 0 && expired(a->s, l)) {
			snprintf(why, wl, "no DNS look-up slot within "
			    "dns.timeout");
			return DNS_TEMP;
		}
		a->waiting = 1;
		a->queued += rc > 0;
		snprintf(why, wl, rc > 0 ? "waiting for a look-up slot" :
		    "asked; waiting for the answer");
		return DNS_TEMP;
	}
	if (!dns_query_done(l->q)) {
		a->waiting = 1;
		snprintf(why, wl, "waiting for the answer");
		return DNS_TEMP;
	}
	return dns_query_result(l->q, out, why, wl);
}

/*
 * authn_busy - does qid still wait: a look-up out (not answered, not timed
 * out), or one queued whose shares have no room yet, for dns.timeout?
 */
int
authn_busy(struct pipeline *p, const char *qid)
{
	struct authn_state *s = p->authn;

	if (!s)
		return 0;
	for (struct lookup *l = s->lk; l; l = l->next) {
		if (strcmp(l->qid, qid) != 0)
			continue;
		if (out(l))
			return 1;
		if (!l->q && !expired(s, l) && !room(s, l))
			return 1;
	}
	return 0;
}

/* wake_left - ms until l's end: its query's deadline, or a slot's wait */
static long long
wake_left(const struct authn_state *s, const struct lookup *l)
{
	long long left;

	if (l->q)
		return out(l) ? dns_query_left(l->q) : -1;
	if (l->seen)
		return -1;
	left = l->born + s->timeout_ms - mono_ms();
	return left > 0 ? left : 0;
}

/*
 * authn_pollfds - the resolver's descriptor while look-ups are out or
 * queued (at most max: 0 or 1), and in *ms the nearest deadline
 */
int
authn_pollfds(struct pipeline *p, struct pollfd *pfd, int max, int *ms)
{
	long long left, near = -1;

	if (!p->authn || !p->authn->dns || max < 1)
		return 0;
	for (struct lookup *l = p->authn->lk; l; l = l->next) {
		if ((left = wake_left(p->authn, l)) < 0)
			continue;
		near = near < 0 || left < near ? left : near;
	}
	if (near < 0)
		return 0;
	/* + 1: woken after the deadline, not just before it */
	if (*ms < 0 || near + 1 < *ms)
		*ms = (int)near + 1;
	pfd[0] = (struct pollfd){ .fd = dns_fd(p->authn->dns),
	    .events = POLLIN };
	return 1;
}

/* ended - has l's wait ended since it was last looked at (reported once)? */
static int
ended(const struct authn_state *s, struct lookup *l)
{
	if (l->seen)
		return 0;
	if (l->q && dns_query_done(l->q))
		dns_query_expire(l->q);	/* unbound keeps nothing of it */
	else if (l->q || !expired(s, l))
		return 0;
	l->seen = 1;
	return 1;
}

/*
 * authn_service - the answers that came in; 1 if a look-up ended
 * (answered or timed out, or a queued one's wait) since the last call:
 * its message can go on, and a slot may be free for a queued one.
 * Look-ups of messages gone meanwhile are dropped.
 */
int
authn_service(struct pipeline *p)
{
	struct authn_state *s = p->authn;
	struct lookup **pp, *l;
	long long now = mono_ms();
	long long forget = s ? s->timeout_ms + AUTHN_FORGET_MS : 0;
	int any = 0;

	if (!s || !s->dns || !s->lk)
		return 0;
	if (dns_process(s->dns) < 0)
		log_warn("NOQUEUE qmgr: authn resolver: cannot read answers");
	for (pp = &s->lk; (l = *pp) != NULL;) {
		any |= ended(s, l);
		if (l->seen && now - l->born > forget) {
			*pp = l->next;
			lookup_free(s, l);
		} else
			pp = &l->next;
	}
	return any;
}

/* first_list - the message's first list (its look-ups' share), or "" */
static const char *
first_list(const struct pipeline *p, const struct envelope *e)
{
	struct listaddr la;

	for (int i = 0; i < e->nrcpts; i++)
		if (listaddr_parse(p->cfg, e->rcpts[i], &la) == 0)
			return la.list->name;
	return "";
}

/*
 * claim_member - into a, the From mailbox if it names a member of a's
 * list (its look-ups' part of the list's share), else "". A store error
 * is a stranger: this decides only which look-up slots it may use.
 */
static void
claim_member(struct pipeline *p, const struct buf *msg, struct ask *a)
{
	struct member m;
	const char *at;

	*a->claim = *a->claim_dom = 0;
	if (!*a->list || auth_from_mailbox((const char *)msg->data,
	    msg->len, a->claim, sizeof(a->claim)) < 0)
		return;
	if (store_member_find(p->st, a->list, a->claim, &m) != STORE_OK ||
	    (at = strrchr(a->claim, '@')) == NULL) {
		*a->claim = 0;
	} else
		share_domain(at + 1, a->claim_dom, sizeof(a->claim_dom));
	member_free(&m);
}

/*
 * authn_check - how sure we are of the From domain. OK (the level in a),
 * TEMPFAIL when DNS cannot answer now (cause in why): the message waits.
 */
enum result
authn_check(struct pipeline *p, const struct envelope *e, const struct buf *msg, struct authn *a,
    struct why *why)
{
	struct auth_cfg ac;
	struct auth_result r;
	struct authn_state *s;
	struct ask ask;
	char err[160];
	enum result rc;

	/* a second pass, after a parse it waited for: as the first found */
	if (kept_get(p->qid, msg, a) == 0) {
		log_info("%s qmgr: authn level=%s kept from the pass before "
		    "the parse", p->qid, authn_level_name(a->level));
		return OK;
	}
	memset(a, 0, sizeof(*a));
	a->automatic = authn_automatic(e, msg);
	if ((s = state(p, err, sizeof(err))) == NULL) {
		why_cause(why, "the resolver", err);
		return TEMPFAIL;
	}
	memset(&ac, 0, sizeof(ac));
	ac.authserv_id = front(e) && p->cfg->authserv_id ? p->cfg->authserv_id : "";
	ac.trusted_received = p->cfg->trusted_received;
	ac.txt = kept_txt;
	ac.txt_arg = &ask;
	ac.now = p->now;
	ask = (struct ask){ s, p->qid, first_list(p, e), "", "", 0, 0 };
	claim_member(p, msg, &ask);
	rc = auth_from_domain(&ac, (const char *)msg->data, msg->len, &r);
	if (ask.waiting) {
		/* a name not answered yet: the loop goes on, this one waits */
		why_set(why, "sender authentication: waiting for DNS");
		log_info("%s qmgr: authn waits for DNS answers (rolled back%s)",
		    p->qid, ask.queued ? "; its share of the look-up slots "
		    "is full, some wait for a slot" : "");
		return TEMPFAIL;
	}
	/* every answer it needed was in: the next check asks again */
	lookups_drop(s, p->qid);
	snprintf(a->reason, sizeof(a->reason), "%s", r.reason);
	if (rc == TEMPFAIL) {
		/* the cause names domains: the log keeps only that DNS could not answer */
		why_set(why, "sender authentication: a DNS look-up failed for now (retried)");
		return TEMPFAIL;
	}
	if (rc == OK && r.level == AUTH_DKIM_ALIGNED) {
		a->level = AUTHN_DKIM;
		snprintf(a->domain, sizeof(a->domain), "%s", r.from_domain);
		snprintf(a->from, sizeof(a->from), "%s", r.from_addr);
	} else if (rc == OK && r.policy == DMARC_P_REJECT) {
		a->reject_failed = 1;
	}
	p->answer_at = a->level >= AUTHN_DKIM ? 0 : answer_time(p, e);
	/* no domain in the log: on a pseudonymous list it is half of an address */
	log_info("%s qmgr: authn level=%s source=%s%s%s", p->qid, authn_level_name(a->level),
	    auth_source_name(r.source), *ac.authserv_id ? " listener=behind-mta" : "",
	    r.authres_ignored ? " authres-ignored" : "");
	kept_put(p->qid, msg, a);
	return OK;
}

/* authn_own_key - the member's own key signed it: the highest level, about that member */
void
authn_own_key(struct authn *a, const char *member)
{
	a->level = AUTHN_OWN_KEY;
	snprintf(a->member, sizeof(a->member), "%s", member);
}

/*
 * authn_vouches - is addr authenticated: the From mailbox of mail
 * DKIM-aligned for its domain, or the member whose own key signed? A
 * domain's signature vouches for the From it covers, never for another
 * mailbox of that domain: the envelope sender, written by the client,
 * may name a neighbour at the same provider (round 8, finding 2).
 */
int
authn_vouches(const struct authn *a, const char *addr)
{
	if (!addr || !*addr)
		return 0;
	if (a->level == AUTHN_OWN_KEY)
		return strcasecmp(a->member, addr) == 0;
	if (a->level != AUTHN_DKIM)
		return 0;
	return strcasecmp(a->from, addr) == 0;
}

/* authn_notice_to - a notice about this message goes to addr only if addr is who sent it */
const char *
authn_notice_to(const struct authn *a, const char *addr)
{
	return authn_vouches(a, addr) && !a->automatic ? addr : NULL;
}

/*
 * may - may an answer go to `to` about a message whose sender is not
 * authenticated? Never to automatic mail or to a p=reject domain it
 * failed; then (per_address) one per address per hour/N, and an hourly
 * budget for the whole instance. 1 yes, 0 no (logged).
 */
static int
may(struct pipeline *p, const struct authn *a, const char *to, int per_address)
{
	const struct config *c = p->cfg;
	int every, rc;

	if (a->automatic || a->reject_failed || !to || !*to) {
		log_info("%s qmgr: answer withheld (%s)", p->qid, a->automatic ? "automatic mail" :
		    a->reject_failed ? "DMARC p=reject failed" : "no address");
		return 0;
	}
	if (authn_vouches(a, to))
		return 1;
	if (c->answers_per_address == 0)
		return 0;
	every = 3600 / c->answers_per_address;
	if (per_address &&
	    store_notice_allowed(p->st, to, p->now, every) != 1) {
		log_info("%s qmgr: answer withheld (auth.answers_per_address reached)", p->qid);
		return 0;
	}
	/* last: an address over its limit spends nothing of the instance's */
	rc = store_answer_budget(p->st, p->now / 3600, c->answers_per_instance);
	if (rc != 1) {
		log_info("%s qmgr: answer withheld (%s)", p->qid, rc == 0 ?
		    "auth.answers_per_instance reached" :
		    "the budget cannot be read");
		return 0;
	}
	return 1;
}

/* authn_may_answer - may a token or a notice go to `to` (see may)? */
int
authn_may_answer(struct pipeline *p, const struct authn *a, const char *to)
{
	return may(p, a, to, 1);
}

/*
 * authn_may_reply - the same, for an answer its caller already bounds per
 * address (LIST-request's hourly count): the instance's budget only, so
 * that a member's -request answers do not use up the notices of their
 * posts
 */
int
authn_may_reply(struct pipeline *p, const struct authn *a, const char *to)
{
	return may(p, a, to, 0);
}

/*
 * authn_may_confirm - may a confirmation request go to member, the
 * member's own registered address? Not to automatic mail or a p=reject
 * failure; then the member's hourly count and the instance's count of
 * confirmations, apart from the answers to strangers: the list knows the
 * address, so it is no backscatter, and strangers cannot spend it. 1 yes,
 * 0 no (logged).
 */
int
authn_may_confirm(struct pipeline *p, const struct authn *a,
    const char *member)
{
	const struct config *c = p->cfg;
	int rc;

	if (a->automatic || a->reject_failed || !member || !*member)
		return may(p, a, member, 1);	/* the refusal and its log */
	if (authn_vouches(a, member))
		return 1;
	rc = store_confirm_budget(p->st, "", member, p->now / 3600,
	    c->confirms_per_member, c->confirms_per_instance);
	if (rc == 1)
		return 1;
	log_info("%s qmgr: confirmation withheld (%s)", p->qid, rc == 0 ?
	    "auth.confirms_per_member reached" : rc == 2 ?
	    "auth.confirms_per_instance reached" : "the budget cannot be read");
	return 0;
}

/*
 * authn_held_note - for the moderators of a held post: how sure the list
 * is that poster sent it (the pieces sender-claim, -dkim, -own-key),
 * appended to out. -1 no text for it.
 */
int
authn_held_note(struct pipeline *p, const struct list_cfg *l,
    const struct authn *a, const char *poster, struct buf *out)
{
	struct notice_ctx ctx = { l->name, p->cfg->hostname };
	enum piece_id id = PIECE_SENDER_CLAIM;

	if (authn_vouches(a, poster))
		id = a->level == AUTHN_OWN_KEY ? PIECE_SENDER_OWN_KEY :
		    PIECE_SENDER_DKIM;
	return notice_piece(l->notices, p->cfg->notices, id, &ctx, NULL, out);
}
