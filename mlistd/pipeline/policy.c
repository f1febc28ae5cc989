/*
 * policy.c - the list's rules for a post, in a fixed order:
 * loops, bounces and automatic mail are dropped silently (answering them is
 * how mail loops and backscatter start); bans are dropped silently (telling
 * a banned address is telling it the ban works); then size, membership and
 * posting mode, and the Marxmail rule of max_posts_per_day. The poster is
 * who From: claims; unless authn.c vouches for that (DKIM-aligned, or the
 * member's own key), post_auth = "auto" asks the member's own mailbox.
 */
#include <stdio.h>
#include <string.h>

#include "mail/author.h"
#include "pipeline/policy.h"

/* drop - silent */
static void
drop(struct decision *d, const char *why)
{
	d->verdict = V_DROP;
	d->reason = why;
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

/* is_member - member record for addr (role copied out) */
static int
is_member(struct pipeline *p, const struct list_cfg *l, const char *addr, enum role *role)
{
	struct member m;

	if (!addr || !*addr || store_member_find(p->st, l->name, addr, &m) != STORE_OK)
		return 0;
	*role = m.role;
	member_free(&m);
	return 1;
}

/*
 * policy_author - does a member's own key vouch for this post? Checked on
 * the message as it arrived, with our own header parser (not libetpan),
 * against the keys members registered. A signature seen before on this
 * list is a replay; one made for another list does not count here.
 */
void
policy_author(struct pipeline *p, const struct list_cfg *l, const struct buf *msg, struct authorship *a)
{
	unsigned char pk[DKIM_PK_LEN];
	char lid[300], got[300], sig[128];

	memset(a, 0, sizeof(*a));
	if (author_signature_id((const char *)msg->data, msg->len, sig, sizeof(sig)) < 0)
		return;
	a->present = 1;
	snprintf(lid, sizeof(lid), "%s.%s", l->name, p->cfg->hostname);
	if (author_verify((const char *)msg->data, msg->len, lid, pk, got, sizeof(got), a->why, sizeof(a->why)) < 0)
		return;
	if ((a->signed_by = store_member_by_key(p->st, l->name, pk, sizeof(pk))) == NULL) {
		snprintf(a->why, sizeof(a->why), "signed by a key no member of the list registered");
		return;
	}
	if (store_signature_seen(p->st, l->name, sig) != 0) {
		a->replay = 1;
		snprintf(a->why, sizeof(a->why), "this signed post was distributed before");
	}
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
		return refuse(d, a->present ? "bad-signature" : "unsigned", NOTICE_REFUSED_UNSIGNED,
		    "why", a->present ? a->why : "The message carries no author signature.");
	}
	member = is_member(p, l, d->poster, &role);
	/* the envelope is a claim too: only "sender" lists take it instead of From */
	if (!member && l->post_auth == AUTH_SENDER && is_member(p, l, e->sender, &role)) {
		member = 1;
		d->poster = e->sender;
	}
	if (member && !d->own_signed && store_member_own_key(p->st, l->name, d->poster, pk, sizeof(pk)) == 1)
		return refuse(d, "unsigned-own-key", NOTICE_REFUSED_OWN_KEY, "poster", d->poster);
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
