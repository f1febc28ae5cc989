/*
 * policy.c - the list's rules for a post, in a fixed order:
 * loops, bounces and automatic mail are dropped silently (answering them is
 * how mail loops and backscatter start); bans are dropped silently (telling
 * a banned address is telling it the ban works); then size, membership and
 * posting mode, and the Marxmail rule of max_posts_per_day. The poster is
 * who From: claims; unless authn.c vouches for that (DKIM-aligned, or the
 * member's own key), post_auth = "auto" asks the member's own mailbox.
 * policy_screen_post gives, before the parse, the verdicts that need
 * nothing from it and that nobody hears of.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/addr.h"
#include "mail/author.h"
#include "mail/header.h"
#include "pipeline/policy.h"

/* drop - silent */
static void
drop(struct decision *d, const char *why)
{
	d->verdict = V_DROP;
	d->reason = why;
}

/*
 * own_host - an address at the list's own host (the list, its moderators,
 * a pseudonym) or below it, which the list's DKIM signature aligns with
 * as well: the list's own mail, never a writer's (round 10, finding 2)
 */
static int
own_host(const struct pipeline *p, const char *addr)
{
	const char *at = strrchr(addr, '@'), *host = p->cfg->hostname;
	size_t n, hl = strlen(host);

	if (!at || !*host)
		return 0;
	n = strlen(++at);
	return strcasecmp(at, host) == 0 || (n > hl && at[n - hl - 1] == '.' &&
	    strcasecmp(at + n - hl, host) == 0);
}

/* tempfail - the store could not answer: decide later, never let it through */
static void
tempfail(struct decision *d, const char *why)
{
	d->verdict = V_TEMPFAIL;
	d->reason = why;
}

/* tell - the sender is to get notice id, with placeholder var (NULL: none) set to arg */
static void
tell(struct decision *d, enum notice_id id, const char *var, const char *arg)
{
	d->notice = id;
	d->var = var;
	snprintf(d->arg, sizeof(d->arg), "%s", arg ? arg : "");
}

/* refuse - with a notice to the sender */
static void
refuse(struct decision *d, const char *why, enum notice_id id, const char *var, const char *arg)
{
	d->verdict = V_REFUSE;
	d->reason = why;
	tell(d, id, var, arg);
}

/* is_member - 1 addr is a member (role copied out), 0 not, -1 no answer */
static int
is_member(struct pipeline *p, const struct list_cfg *l, const char *addr, enum role *role)
{
	struct member m;
	int rc;

	if (!addr || !*addr)
		return 0;
	if ((rc = store_member_find(p->st, l->name, addr, &m)) != STORE_OK)
		return rc == STORE_NOTFOUND ? 0 : -1;
	*role = m.role;
	member_free(&m);
	return 1;
}

/* author_reason - the code a member is told for an author_verify failure */
static enum reason_id
author_reason(int fail)
{
	switch (fail) {
	case AUTHOR_NONE:
		return REASON_SIG_NONE;
	case AUTHOR_MALFORMED:
		return REASON_SIG_MALFORMED;
	case AUTHOR_ENCODING:
		return REASON_SIG_ENCODING;
	case AUTHOR_OTHER_LIST:
		return REASON_SIG_OTHER_LIST;
	case AUTHOR_BODY_CHANGED:
		return REASON_SIG_BODY_CHANGED;
	case AUTHOR_HEADERS_CHANGED:
		return REASON_SIG_HEADERS_CHANGED;
	default:
		return REASON_SIG_ERROR;
	}
}

/*
 * refuse_unsigned - refused-unsigned, its {why} the words of the reason's
 * piece (the list's, else the instance's), so a translation reaches it
 */
static void
refuse_unsigned(struct pipeline *p, const struct list_cfg *l,
    const struct authorship *a, struct decision *d)
{
	struct notice_ctx ctx = { l->name, p->cfg->hostname };
	enum reason_id r = a->present ? a->reason : REASON_SIG_UNSIGNED;
	const char *vars[] = { "other", a->other, NULL };

	refuse(d, a->present ? "bad-signature" : "unsigned",
	    NOTICE_REFUSED_UNSIGNED, "why", NULL);
	notice_reason(l->notices, p->cfg->notices, &ctx, r, vars, d->arg,
	    sizeof(d->arg));
}

/*
 * policy_author - does a member's own key vouch for this post? Checked on
 * the message as it arrived, with our own header parser (not libetpan),
 * against the keys members registered. A signature seen before on this
 * list is a replay; one made for another list does not count here.
 * 0, or -1 when the store failed (store_errmsg): never read as "no
 * member's key" (a signature-only list would refuse her post for good)
 * nor as a replay (her signed post would be dropped unseen).
 */
int
policy_author(struct pipeline *p, const struct list_cfg *l,
    const struct buf *msg, struct authorship *a)
{
	unsigned char pk[DKIM_PK_LEN];
	char lid[300], sig[128];
	int rc;

	memset(a, 0, sizeof(*a));
	a->reason = REASON_SIG_UNSIGNED;
	if (author_signature_id((const char *)msg->data, msg->len, sig,
	    sizeof(sig)) < 0)
		return 0;
	a->present = 1;
	snprintf(lid, sizeof(lid), "%s.%s", l->name, p->cfg->hostname);
	rc = author_verify((const char *)msg->data, msg->len, lid, pk,
	    a->other, sizeof(a->other), a->why, sizeof(a->why));
	if (rc < 0) {
		a->reason = author_reason(-rc);
		return 0;
	}
	if ((a->signed_by = store_member_by_key(p->st, l->name, pk,
	    sizeof(pk))) == NULL) {
		if (store_failed(p->st))
			return -1;
		snprintf(a->why, sizeof(a->why), "signed by a key no member of "
		    "the list registered");
		a->reason = REASON_SIG_UNKNOWN_KEY;
		return 0;
	}
	if ((rc = store_signature_seen(p->st, l->name, sig)) < 0) {
		free(a->signed_by);
		a->signed_by = NULL;
		return -1;
	}
	if (rc != 0) {
		a->replay = 1;
		snprintf(a->why, sizeof(a->why), "this signed post was "
		    "distributed before");
	}
	return 0;
}

/* policy_check_post - decide; fills d */
void
policy_check_post(struct pipeline *p, const struct list_cfg *l, const struct envelope *e,
    const struct transform_out *t, const struct authorship *a, const struct authn *au,
    size_t size, struct decision *d)
{
	unsigned char pk[DKIM_PK_LEN];
	enum role role = ROLE_MEMBER;
	long long limit = l->max_message_size;
	int member, banned, n, sure;

	memset(d, 0, sizeof(*d));
	d->notice = NOTICE_N;
	d->poster = *t->from ? t->from : e->sender;
	if (t->loop)
		return drop(d, "loop");
	if (*e->sender == 0 || t->bounce)
		return drop(d, "bounce");
	if (t->automatic)
		return drop(d, "auto-submitted");
	/*
	 * a From of the list's own (its moderators', its own) would go out
	 * under the list's DKIM signature, aligned: a stranger's post on an
	 * open list, or a member's signed with her key, spoke for them
	 */
	if (own_host(p, t->from))
		return drop(d, "own-address");
	if ((banned = store_banned(p->st, l->name, d->poster)) == 0)
		banned = store_banned(p->st, l->name, e->sender);
	if (banned < 0)
		return tempfail(d, "ban check failed");
	if (banned)
		return drop(d, "banned");
	if (limit > 0 && (long long)size > limit) {
		char n[32];

		snprintf(n, sizeof(n), "%lld", limit);
		return refuse(d, "too-big", NOTICE_REFUSED_TOO_BIG, "bytes", n);
	}
	if (a->replay)
		return drop(d, "replay");
	if (a->signed_by) {
		/* the member's own key vouches: they are the poster, whatever From says */
		d->poster = a->signed_by;
		d->own_signed = 1;
	} else if (l->post_auth == AUTH_SIGNATURE) {
		return refuse_unsigned(p, l, a, d);
	}
	member = is_member(p, l, d->poster, &role);
	/* the envelope is a claim too: only "sender" lists take it instead of From */
	if (member == 0 && l->post_auth == AUTH_SENDER &&
	    (member = is_member(p, l, e->sender, &role)) == 1)
		d->poster = e->sender;
	/* no answer is not "not a member": that would refuse her post */
	if (member < 0)
		return tempfail(d, "member check failed");
	if (member && !d->own_signed &&
	    (n = store_member_own_key(p->st, l->name, d->poster, pk,
	    sizeof(pk))) != 0)
		return n < 0 ? tempfail(d, "own key check failed") :
		    refuse(d, "unsigned-own-key", NOTICE_REFUSED_OWN_KEY,
		    "poster", d->poster);
	d->member = member;
	switch (l->posting) {
	case POSTING_OPEN:
		break;
	case POSTING_MEMBERS:
		if (!member)
			return refuse(d, "non-member", NOTICE_REFUSED_NON_MEMBER, "poster", d->poster);
		break;
	case POSTING_ANNOUNCE:
		if (!member || !role_leads(role))
			return refuse(d, "announce-only", NOTICE_REFUSED_ANNOUNCE, NULL, NULL);
		break;
	case POSTING_MODERATED:
		d->verdict = V_HOLD;
		d->reason = "moderated";
		tell(d, NOTICE_HELD_MODERATED, NULL, NULL);
		return;
	}
	n = l->max_posts_per_day > 0 && member ?
	    store_post_count(p->st, l->name, d->poster, p->now / 86400, 0) : 0;
	if (n < 0)
		return tempfail(d, "post count failed");
	if (l->max_posts_per_day > 0 && member && n >= l->max_posts_per_day) {
		char n[16];

		snprintf(n, sizeof(n), "%d", l->max_posts_per_day);
		return refuse(d, "posts-per-day", NOTICE_REFUSED_POSTS_PER_DAY, "posts", n);
	}
	n = member && l->probation_posts > 0 && !role_leads(role) ?
	    store_post_total(p->st, l->name, d->poster) : l->probation_posts;
	if (n < 0)
		return tempfail(d, "post count failed");
	if (n < l->probation_posts) {
		/* a new member's first posts wait for a moderator (counted as they arrive) */
		d->verdict = V_HOLD;
		d->reason = "probation";
		tell(d, NOTICE_HELD_PROBATION, NULL, NULL);
		return;
	}
	sure = d->own_signed || authn_vouches(au, d->poster);
	if (member && !d->own_signed && (l->post_auth == AUTH_CONFIRM ||
	    (l->post_auth == AUTH_AUTO && !sure))) {
		/* the member's mailbox, not the envelope, must say yes: a forged From never does */
		d->verdict = V_CONFIRM;
		d->reason = "confirm";
		return;
	}
	d->verdict = V_DISTRIBUTE;
	d->reason = "accepted";
}

/* policy_count_post - count a distributed post against max_posts_per_day */
void
policy_count_post(struct pipeline *p, const struct list_cfg *l, const char *poster)
{
	if (l->max_posts_per_day > 0 || l->probation_posts > 0)
		(void)store_post_count(p->st, l->name, poster, p->now / 86400, 1);
}

/* atext - RFC 5322 atext, the characters of an atom */
static int
atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/*
 * plain_addr - s[0..n) is local@domain, a dot-atom at a domain of plain
 * labels: the form every parser reads alike
 */
static int
plain_addr(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	size_t i;

	if (!at || at == s || at == s + n - 1 || memchr(at + 1, '@',
	    n - (size_t)(at + 1 - s)))
		return 0;
	for (i = 0; s + i < at; i++)
		if (!(atext((unsigned char)s[i]) || (s[i] == '.' && i > 0 &&
		    s[i - 1] != '.' && s + i + 1 != at)))
			return 0;
	for (i = (size_t)(at + 1 - s); i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' ||
		    (s[i] == '.' && s[i - 1] != '.' && s[i - 1] != '@' &&
		    i + 1 < n)))
			return 0;
	return 1;
}

/*
 * policy_plain_from - the From address, if its one From field has one of the
 * plain forms "addr", "<addr>" or "Words <addr>" (atoms and spaces before
 * the angle): then the worker's parser reads the same address from it.
 * Anything else - comments, quotes, groups, several mailboxes, a second
 * From field, a header past the field limit - is "": the parse decides.
 * Linear in the header section.
 */
void
policy_plain_from(const struct buf *msg, char *out, size_t n)
{
	struct hdr h;
	char *v = NULL, *lt, *a;
	size_t len;

	out[0] = 0;
	if (hdr_parse((const char *)msg->data, msg->len, &h) < 0)
		return;
	if (!h.truncated && hdr_count(&h, "From") == 1)
		v = hdr_get_value(&h, "From");
	hdr_free(&h);
	if (v == NULL)
		return;
	a = v;
	len = strlen(v);
	if ((lt = strchr(v, '<')) != NULL) {
		for (char *c = v; c < lt; c++)
			if (!atext((unsigned char)*c) && *c != ' ')
				goto out;
		a = lt + 1;
		if (len < 2 || v[len - 1] != '>')
			goto out;
		len = (size_t)(v + len - 1 - a);
	}
	if (len < n && plain_addr(a, len)) {
		memcpy(out, a, len);
		out[len] = 0;
		if (!addr_valid(out))
			out[0] = 0;
	}
out:
	free(v);
}

/* member_role - 1 addr is a member (role set), 0 not, -1 no answer */
static int
member_role(struct pipeline *p, const struct list_cfg *l, const char *addr,
    enum role *role)
{
	struct member m;
	int rc;

	if ((rc = store_member_find(p->st, l->name, addr, &m)) == STORE_OK) {
		*role = m.role;
		member_free(&m);
		return 1;
	}
	return rc == STORE_NOTFOUND ? 0 : -1;
}

/* screened - a verdict given before the parse: 1 */
static int
screened(struct decision *d, enum verdict v, const char *why)
{
	d->verdict = v;
	d->reason = why;
	return 1;
}

/*
 * policy_screen_post - before the parse, the verdicts that need nothing
 * from it: a post without a sender or from a banned address is dropped; a
 * post from a sender nobody vouches for (authn: a claim) that is too big,
 * unsigned on a list of signatures, or not a member's on a list for
 * members, is refused. Each is what policy_check_post would say (or a
 * drop: its earlier checks - loops, bounces, automatic mail - drop, and
 * drops are silent), and no one hears of any of them (a refusal is told
 * only to an authenticated sender), so nobody can tell that the parse was
 * skipped. A member's own signature, a sender who may be told, or a From
 * that is not plain (policy_plain_from) go on to the parse. 1 decided (d), 0
 * not, -1 the store cannot answer (d->reason says which check).
 */
int
policy_screen_post(struct pipeline *p, const struct list_cfg *l,
    const struct envelope *e, const struct buf *msg,
    const struct authorship *a, const struct authn *au, char *from,
    size_t fromlen, struct decision *d)
{
	enum role role = ROLE_MEMBER;
	int banned, member;

	memset(d, 0, sizeof(*d));
	d->notice = NOTICE_N;
	d->poster = e->sender;
	if (*e->sender == 0)
		return screened(d, V_DROP, "bounce");
	if ((banned = store_banned(p->st, l->name, e->sender)) != 0)
		return banned < 0 ?
		    -screened(d, V_TEMPFAIL, "ban check failed") :
		    screened(d, V_DROP, "banned");
	if (a->signed_by || (au->level != AUTHN_CLAIM && !au->automatic))
		return 0;	/* a member's key, or one who may be told */
	policy_plain_from(msg, from, fromlen);
	if (!*from)
		return 0;
	d->poster = from;
	if ((banned = store_banned(p->st, l->name, from)) != 0)
		return banned < 0 ?
		    -screened(d, V_TEMPFAIL, "ban check failed") :
		    screened(d, V_DROP, "banned");
	if (l->max_message_size > 0 &&
	    (long long)msg->len > l->max_message_size)
		return screened(d, V_REFUSE, "too-big");
	if (l->post_auth == AUTH_SIGNATURE)
		return screened(d, V_REFUSE, a->present ? "bad-signature" :
		    "unsigned");
	if (l->posting != POSTING_MEMBERS && l->posting != POSTING_ANNOUNCE)
		return 0;	/* open or moderated: the parse first */
	member = member_role(p, l, from, &role);
	if (member == 0 && l->post_auth == AUTH_SENDER)
		member = member_role(p, l, e->sender, &role);
	if (member < 0)
		return -screened(d, V_TEMPFAIL, "member check failed");
	if (member && (l->posting == POSTING_MEMBERS || role_leads(role)))
		return 0;
	return screened(d, V_REFUSE, member ? "announce-only" : "non-member");
}
