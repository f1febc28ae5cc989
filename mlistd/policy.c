/*
 * policy.c - the list's rules for a post, in a fixed order:
 * loops, bounces and automatic mail are dropped silently (answering them is
 * how mail loops and backscatter start); bans are dropped silently (telling
 * a banned address is telling it the ban works); then size, membership and
 * posting mode, and the Marxmail rule of max_posts_per_day.
 */
#include <stdio.h>
#include <string.h>

#include "policy.h"

/* drop - silent */
static void
drop(struct decision *d, const char *why)
{
	d->verdict = V_DROP;
	d->reason = why;
}

/* refuse - with a notice to the sender */
static void
refuse(struct decision *d, const char *why, const char *fmt, const char *a, const char *b)
{
	d->verdict = V_REFUSE;
	d->reason = why;
	snprintf(d->notice, sizeof(d->notice), fmt, a, b);
}

/* is_member - member record for addr (role copied out) */
static int
is_member(struct pipeline *p, const struct list_cfg *l, const char *addr, char *role, size_t rl)
{
	struct member m;

	if (!addr || !*addr || store_member_find(p->st, l->name, addr, &m) != STORE_OK)
		return 0;
	snprintf(role, rl, "%s", m.role);
	member_free(&m);
	return 1;
}

/* policy_check_post - decide; fills d */
void
policy_check_post(struct pipeline *p, const struct list_cfg *l, const struct envelope *e,
    const struct transform_out *t, size_t size, struct decision *d)
{
	char post[320], role[16] = "";
	long long limit = l->max_message_size;
	int member;

	memset(d, 0, sizeof(*d));
	snprintf(post, sizeof(post), "%s@%s", l->name, p->cfg->hostname);
	d->poster = *t->from ? t->from : e->sender;
	if (t->loop)
		return drop(d, "loop");
	if (*e->sender == 0 || t->bounce)
		return drop(d, "bounce");
	if (t->automatic)
		return drop(d, "auto-submitted");
	if (store_banned(p->st, l->name, d->poster) || store_banned(p->st, l->name, e->sender))
		return drop(d, "banned");
	if (limit > 0 && (long long)size > limit) {
		char n[32];

		snprintf(n, sizeof(n), "%lld", limit);
		return refuse(d, "too-big", "Your message to %s was not distributed: it is larger than "
		    "the list allows (%s bytes). Send a shorter message, or put large files "
		    "somewhere and send a link.", post, n);
	}
	member = is_member(p, l, d->poster, role, sizeof(role));
	if (!member && is_member(p, l, e->sender, role, sizeof(role))) {
		member = 1;
		d->poster = e->sender;
	}
	d->member = member;
	switch (l->posting) {
	case POSTING_OPEN:
		break;
	case POSTING_MEMBERS:
		if (!member)
			return refuse(d, "non-member", "Your message to %s was not distributed: only "
			    "members of the list may post, and %s is not subscribed. To join, write to "
			    "the -request address with \"subscribe\".", post, d->poster);
		break;
	case POSTING_ANNOUNCE:
		if (!member || strcmp(role, "member") == 0)
			return refuse(d, "announce-only", "Your message to %s was not distributed: "
			    "this is an announcement list and only its moderators post to it.%s", post, "");
		break;
	case POSTING_MODERATED:
		d->verdict = V_HOLD;
		d->reason = "moderated";
		snprintf(d->notice, sizeof(d->notice), "Your message to %s is held until a moderator "
		    "reviews it. You do not need to send it again.", post);
		return;
	}
	if (l->max_posts_per_day > 0 && member &&
	    store_post_count(p->st, l->name, d->poster, p->now / 86400, 0) >= l->max_posts_per_day) {
		char n[16];

		snprintf(n, sizeof(n), "%d", l->max_posts_per_day);
		return refuse(d, "posts-per-day", "Your message to %s was not distributed: the list "
		    "allows %s posts per member per day (UTC), and you have reached that. Please send it "
		    "again tomorrow.", post, n);
	}
	d->verdict = V_DISTRIBUTE;
	d->reason = "accepted";
}

/* policy_count_post - count a distributed post against max_posts_per_day */
void
policy_count_post(struct pipeline *p, const struct list_cfg *l, const char *poster)
{
	if (l->max_posts_per_day > 0)
		(void)store_post_count(p->st, l->name, poster, p->now / 86400, 1);
}
