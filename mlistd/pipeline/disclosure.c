/*
 * disclosure.c - the one place that decides what a reader may learn.
 *
 * Every answer that shows list state to somebody asks here first: the
 * "who", "archive" and "audit" answers at LIST-request@, digests (from when
 * a newcomer reads), the moderation notices (the author's address or not,
 * whether a refusal will be published), how a moderator is named, what a
 * member's mail to LIST-owner@ shows the moderators, who learns of a
 * reject or a discard, and mlistctl's read verbs. The functions are pure: the caller brings the
 * facts (the reader's role and join date, a request's state) and this file
 * holds the rules, so that one rule cannot drift between nine copies.
 *
 * The reader who matters is the hostile member: on a list whose leadership
 * is hidden, nothing they are shown may tell which members moderate, or how
 * many; a pseudonym under investigation is not named to them while the
 * moderators decide, nor afterwards unless the list tells the unmasked;
 * nor, by counting entries, how many role changes there were.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/audit.h"
#include "pipeline/disclosure.h"

#define LEADERSHIP_CHANGE	"leadership-change"	/* [audit-leadership-change] */
/* how entries written before the codes began an emergency */
#define EMERGENCY		"emergency, without the quorum: "

/*
 * a setting's row in a table of answers indexed by its enum, dflt for a
 * value past the table (config refuses those; a negative one casts past it)
 */
#define BY_SETTING(table, v, dflt) \
	((size_t)(v) < sizeof(table) / sizeof((table)[0]) ? (table)[v] : (dflt))

/*
 * disclosure_reader - the reader's level from the facts: their role on
 * the list (NULL: not a member) and since when they are a member. A member
 * on probation (leadership.probation_days) reads like a stranger.
 */
int
disclosure_reader(const struct list_cfg *l, const enum role *role, long long joined, long long now)
{
	if (role == NULL)
		return READER_ANYONE;
	if (role_leads(*role))
		return READER_MODERATOR;
	if (l->probation_days > 0 && now - joined < l->probation_days * 86400LL)
		return READER_ANYONE;
	return READER_MEMBER;
}

/* disclosure_allows - does a rule (enum who) let a reader of this level see? */
int
disclosure_allows(int rule, int reader)
{
	switch (rule) {
	case WHO_PUBLIC:
		return reader >= READER_ANYONE;
	case WHO_MEMBERS:
		return reader >= READER_MEMBER;
	case WHO_MODERATORS:
		return reader >= READER_MODERATOR;
	default:
		return 0;	/* "none": nobody, the operator included */
	}
}

/* disclosure_roster - may the reader see who the members are? */
int
disclosure_roster(const struct list_cfg *l, int reader)
{
	return disclosure_allows(l->roster, reader);
}

/* disclosure_member_count - may the reader learn how many members there are? */
int
disclosure_member_count(const struct list_cfg *l, int reader)
{
	return disclosure_allows(l->member_count, reader);
}

/*
 * disclosure_leaders - may the reader learn who moderates (and so how
 * many)? Hidden leadership is hidden from every reader by mail, moderators
 * included: a moderator's mailbox is not a safe either.
 */
int
disclosure_leaders(const struct list_cfg *l, int reader)
{
	return l->visibility != VIS_HIDDEN || reader >= READER_OPERATOR;
}

/*
 * disclosure_author_address - does a held-post notice (or an application)
 * show the moderators the author's address? On a real-name list the
 * address is the identity; elsewhere only with moderators_see = "address".
 * mode is the identity the author posts under (enum identity).
 */
int
disclosure_author_address(const struct list_cfg *l, int mode)
{
	return mode == ID_REAL || l->moderators_see;
}

/*
 * disclosure_leader - how a moderator appears in what the list writes by
 * mail (a post from the moderators as a role, the audit log's actor, the
 * "who" answer), as leadership.visibility says: not at all ("the
 * moderators" only), as a role handle stable per list, or as the person
 * (disclosure_leader_person says which of their fields). The label is
 * written into copies and entries any reader the list lets in may see, so
 * it depends on no reader: hidden is hidden from the moderators too.
 */
int
disclosure_leader(const struct list_cfg *l)
{
	static const int shown[] = {
		[VIS_HIDDEN] = LEADER_NOTHING,
		[VIS_ROLES] = LEADER_HANDLE,
		[VIS_NAMED] = LEADER_PERSON,
	};

	return BY_SETTING(shown, l->visibility, LEADER_NOTHING);
}

/*
 * disclosure_leader_person - which field names a moderator on a named
 * list: their pseudonym if they have one; on a real-name list their name,
 * else their address; else only the role, since a moderator without a
 * pseudonym on a masked list has no name the members may learn.
 */
int
disclosure_leader_person(const struct list_cfg *l, const struct member *m)
{
	if (m->pseudonym != NULL)
		return PERSON_PSEUDONYM;
	if (l->identity != ID_REAL)
		return PERSON_ROLE;
	return m->name != NULL && *m->name ? PERSON_NAME : PERSON_ADDRESS;
}

/*
 * disclosure_owner_masked - does a member's mail to LIST-owner@ reach the
 * moderators composed as the list composes posts (a pseudonym, an
 * anonymous handle), not with the writer's address? The rule of the
 * held-post notice, so that writing to the moderators shows them no more
 * than holding a post does. mode is the identity the member writes under;
 * DISCLOSURE_ANY_MODE before it is known: could any mail be masked?
 */
int
disclosure_owner_masked(const struct list_cfg *l, int mode)
{
	return !disclosure_author_address(l, mode);
}

/*
 * disclosure_refusal_published - do the members learn that the moderators
 * refused a post? With leadership.publish_rejections every way of refusing
 * is published: a discard is no quieter way round the rule than a reject.
 */
int
disclosure_refusal_published(const struct list_cfg *l, int refusal)
{
	switch (refusal) {
	case REFUSAL_REJECT:
	case REFUSAL_DISCARD:
		return l->publish_rejections;
	default:
		return 0;
	}
}

/*
 * disclosure_refusal_author - is the author told their post was refused?
 * A reject tells them (with the reason); a discard is the moderators'
 * answer to mail that should get none (spam, a flood).
 */
int
disclosure_refusal_author(const struct list_cfg *l, int refusal)
{
	(void)l;	/* no setting changes it today: the rule lives here */
	return refusal == REFUSAL_REJECT;
}

/*
 * disclosure_hold_warns - does a held-post notice tell the moderators
 * that whatever they refuse will be published? Only when both ways of
 * refusing are: the notice says "rejected or discarded".
 */
int
disclosure_hold_warns(const struct list_cfg *l)
{
	return disclosure_refusal_published(l, REFUSAL_REJECT) &&
	    disclosure_refusal_published(l, REFUSAL_DISCARD);
}

/*
 * disclosure_archive - may the reader read the archive? *since is where
 * their reading starts. With archive.since_join a member reads from the day
 * they joined; moderators read everything, and so does anyone when the
 * archive is public (a member could ask as a stranger anyway).
 */
int
disclosure_archive(const struct list_cfg *l, int reader, long long joined, long long *since)
{
	*since = 0;
	if (!disclosure_allows(l->archive_who, reader))
		return 0;
	if (l->since_join && reader == READER_MEMBER && l->archive_who != WHO_PUBLIC)
		*since = joined;
	return 1;
}

/*
 * disclosure_archive_since - the oldest post a member who joined at
 * member_joined may be sent (digests): with archive.since_join nothing from
 * before they joined, else 0 (everything).
 */
long long
disclosure_archive_since(const struct list_cfg *l, long long member_joined)
{
	return l->since_join ? member_joined : 0;
}

/*
 * disclosure_digest_by_join - must a digest be cut by its readers' join
 * times (archive.since_join: nobody's digest holds a post from before they
 * joined)? The digest is built per group of members who joined between the
 * same two posts; disclosure_archive_since says where each group starts.
 */
int
disclosure_digest_by_join(const struct list_cfg *l)
{
	return disclosure_archive_since(l, 1) != 0;
}

/* disclosure_archive_refusal - the piece a refused reader is told */
enum piece_id
disclosure_archive_refusal(const struct list_cfg *l)
{
	static const enum piece_id told[] = {
		[WHO_NONE] = PIECE_ARCHIVE_NO_ARCHIVE,
		[WHO_MODERATORS] = PIECE_ARCHIVE_MODERATORS,
		[WHO_MEMBERS] = PIECE_ARCHIVE_MEMBERS,
		[WHO_PUBLIC] = PIECE_ARCHIVE_MEMBERS,	/* never refused */
	};

	return BY_SETTING(told, l->archive_who, PIECE_ARCHIVE_MEMBERS);
}

/* disclosure_audit - may the reader read the audit log at all? */
int
disclosure_audit(const struct list_cfg *l, int reader)
{
	return reader >= READER_OPERATOR || disclosure_allows(l->audit_who, reader);
}

/*
 * disclosure_audit_request - the request an entry opened: "@request" with
 * its id, or "request N opened: ..." written before the codes; 0 none
 */
long long
disclosure_audit_request(const struct audit_entry *e)
{
	struct audit_detail d;
	const char *v;
	long long id = 0;
	int end = 0;

	if (strcmp(e->action, "request") != 0)
		return 0;
	if (audit_parse(e->detail, &d) == 0) {
		if (strcmp(d.code, "request") != 0 ||
		    (v = audit_get(&d, "id")) == NULL)
			return 0;
		id = atoll(v);
		return id > 0 ? id : 0;
	}
	if (sscanf(e->detail, "request %lld opened:%n", &id, &end) != 1 || end == 0)
		return 0;
	return id > 0 ? id : 0;
}

/* disclosure_request_state - a pending row's state as DREQ_*: expired is closed, undecided */
int
disclosure_request_state(const char *state, long long expires, long long now)
{
	if (!strcmp(state, "new") || !strcmp(state, "asked"))
		return expires > now ? DREQ_PENDING : DREQ_CLOSED;
	if (!strcmp(state, "done") || !strcmp(state, "used") || !strcmp(state, "announce"))
		return DREQ_DONE;
	return DREQ_CLOSED;
}

/*
 * count_at - where " (3 moderators agreed)" is in d, an entry written
 * before the codes: its " (" at *from, what follows it at *to; 0 none
 */
static int
count_at(char *d, char **from, char **to)
{
	static const char tail[] = " moderators agreed)";
	char *t = strstr(d, tail), *p;

	if (t == NULL || *d == '@')
		return 0;
	for (p = t; p > d && isdigit((unsigned char)p[-1]); p--)
		;
	if (p == t || p == d || p[-1] != '(')
		return 0;
	*from = p - 1;
	if (*from > d && (*from)[-1] == ' ')
		(*from)--;
	*to = t + sizeof(tail) - 1;
	return 1;
}

/*
 * strip_count - the count of an entry written before the codes must not
 * reach a member of a hidden leadership: how many agreed bounds how many
 * there are. The entry becomes a coded one, its own words around the
 * count kept as written ({text}, then the note), who agreed worded by
 * [audit-agreed-quorum], as a coded entry's is.
 */
static void
strip_count(char *d, size_t n)
{
	char *from, *to, before[512], rest[512];

	if (!count_at(d, &from, &to))
		return;
	snprintf(before, sizeof(before), "%.*s", (int)(from - d), d);
	snprintf(rest, sizeof(rest), "%s", to);
	if (audit_code(d, n, "text", (const char *[]){ "text", before,
	    "agreed", "quorum", AUDIT_NOTE, rest, NULL }) < 0)
		snprintf(d, n, "%s", before);	/* never the count */
}

/* cut_count - the same count taken out, for words quoted in another entry */
static void
cut_count(char *d)
{
	char *from, *to;

	if (count_at(d, &from, &to))
		memmove(from, to, strlen(to) + 1);
}

/* unmask_named - may members read which pseudonym an unmasking named? */
static int
unmask_named(const struct list_cfg *l, int state)
{
	/* decided, and the list tells the unmasked member anyway: no secret left to keep */
	return state == DREQ_DONE && l->notify_unmasked;
}

/*
 * request_shown - what a member may read of the request an entry opened:
 * the code of the words that replace its detail ([audit-CODE]), NULL as
 * written. Unknown state: the least; an unmasking: no pseudonym until
 * unmask_named; a role change on a hidden leadership: only that it is one.
 */
static const char *
request_shown(const struct list_cfg *l, const struct disclosure_request *rq)
{
	int state = rq ? rq->state : DREQ_NONE;

	if (state == DREQ_NONE)
		return "request-unknown";
	if (!strcmp(rq->action, "unmask") && !unmask_named(l, state))
		return state == DREQ_PENDING ? "unmask-hidden-pending" :
		    "unmask-hidden";
	if (!strcmp(rq->action, "roles") && l->visibility == VIS_HIDDEN)
		return LEADERSHIP_CHANGE;
	return NULL;
}

/* outcome_shown - the same for an action's own entry (done, or an emergency) */
static const char *
outcome_shown(const struct list_cfg *l, const struct audit_entry *e)
{
	if (!strcmp(e->action, "unmask") && !unmask_named(l, DREQ_DONE))
		return "unmask-hidden-member";
	if (!strcmp(e->action, "roles") && l->visibility == VIS_HIDDEN)
		return LEADERSHIP_CHANGE;
	return NULL;
}

/* drop - d without its pair called name */
static void
drop(struct audit_detail *d, const char *name)
{
	for (int i = 0; i < d->n; i++)
		if (strcmp(d->name[i], name) == 0) {
			memmove(d->name[i], d->name[i + 1],
			    (size_t)(d->n - i - 1) * sizeof(d->name[0]));
			memmove(d->value[i], d->value[i + 1],
			    (size_t)(d->n - i - 1) * sizeof(d->value[0]));
			d->n--;
			return;
		}
}

/*
 * shown_as - what an entry is about (the code it wraps as "of", or its
 * own code) replaced by what: whatever the old one's arguments said is
 * gone with them; the wrapper's own (request id, who agreed) stay
 */
static void
shown_as(struct audit_detail *d, const char *what)
{
	static const char *const own[] = { "id", "of", "agreed", "votes",
	    "result", NULL };

	int wraps = audit_get(d, "of") != NULL;

	audit_keep(d, own);
	if (wraps)
		audit_set(d, "of", what);
	else
		snprintf(d->code, sizeof(d->code), "%s", what);
}

/*
 * unpaired - a name or pseudonym changed, without whose member number: the
 * roster shows the new name from then on, so a member asking `who` before
 * and after would pair that number with it, and through it with every
 * entry that names the number (admission, discipline, a ban). A public
 * warning names the pseudonym to every member at the moment of the entry:
 * neither the number nor the step (step 2 points at the member whose
 * step 1 the log shows).
 */
static void
unpaired(struct audit_detail *d)
{
	const char *set = audit_get(d, "setting");

	if (strcmp(d->code, "warning-public") == 0) {
		snprintf(d->code, sizeof(d->code), "warning-public-unpaired");
		drop(d, "member");
		drop(d, "step");
		return;
	}
	if ((strcmp(d->code, "member-changed") == 0 ||
	    strcmp(d->code, "member-removed") == 0) && set &&
	    (strcmp(set, "pseudonym") == 0 || strcmp(set, "name") == 0) &&
	    audit_get(d, "member"))
		audit_set(d, "member", "a member");
}

/*
 * coded_view - a coded entry (audit.h) as a member reads it: the rules
 * change codes and drop arguments, the words come later from the pieces
 */
static void
coded_view(const struct list_cfg *l, int reader, const struct audit_entry *e,
    const struct disclosure_request *rq, struct audit_view *v)
{
	const char *agreed, *what;
	struct audit_detail d;

	if (audit_parse(v->detail, &d) < 0)
		return;
	/* how many agreed bounds how many moderate */
	agreed = audit_get(&d, "agreed");
	if (l->visibility == VIS_HIDDEN && agreed &&
	    !strcmp(agreed, "moderators")) {
		audit_set(&d, "agreed", "quorum");
		drop(&d, "votes");
	}
	what = disclosure_audit_request(e) > 0 ? request_shown(l, rq) :
	    outcome_shown(l, e);
	if (what)
		shown_as(&d, what);
	unpaired(&d);
	if (disclosure_audit_request(e) > 0 &&
	    disclosure_audit_renumbered(l, reader)) {
		snprintf(d.code, sizeof(d.code), "request-unnumbered");
		drop(&d, "id");
	}
	if (audit_format(&d, v->detail, sizeof(v->detail)) < 0)
		snprintf(v->detail, sizeof(v->detail), "@%s", what ? what :
		    "request-unknown");
}

/*
 * legacy_view - an entry written before the codes, as a member reads it:
 * where the rules replace its sentence, by a coded one that pieces word;
 * a request unnumbered keeps its own words as {text}
 */
static void
legacy_view(const struct list_cfg *l, int reader, const struct audit_entry *e,
    const struct disclosure_request *rq, struct audit_view *v)
{
	long long id = disclosure_audit_request(e);
	const char *what, *rest;
	char num[24], text[sizeof(v->detail)];

	snprintf(num, sizeof(num), "%lld", id);
	if (id <= 0) {
		if ((what = outcome_shown(l, e)) == NULL) {
			if (l->visibility == VIS_HIDDEN)
				strip_count(v->detail, sizeof(v->detail));
			return;
		}
		if (strncmp(e->detail, EMERGENCY, sizeof(EMERGENCY) - 1) != 0)
			(void)audit_code(v->detail, sizeof(v->detail), what, NULL);
		else
			(void)audit_code(v->detail, sizeof(v->detail),
			    "emergency", (const char *[]){ "of", what, NULL });
		return;
	}
	rest = strstr(v->detail, " opened: ");
	snprintf(text, sizeof(text), "%s", rest ? rest + 9 : "");
	if (l->visibility == VIS_HIDDEN)
		cut_count(text);
	if ((what = request_shown(l, rq)) == NULL)
		what = "text";
	if (disclosure_audit_renumbered(l, reader))
		(void)audit_code(v->detail, sizeof(v->detail),
		    "request-unnumbered", (const char *[]){ "of", what,
		    strcmp(what, "text") ? NULL : "text", text, NULL });
	else if (strcmp(what, "text") != 0)
		(void)audit_code(v->detail, sizeof(v->detail), "request",
		    (const char *[]){ "id", num, "of", what, NULL });
}

/*
 * disclosure_audit_renumbered - are the entries the reader is shown numbered
 * among themselves? Where some are not listed (disclosure_audit_listed),
 * the gaps in the log's own numbers would count them.
 */
int
disclosure_audit_renumbered(const struct list_cfg *l, int reader)
{
	return l->visibility == VIS_HIDDEN && reader < READER_MODERATOR;
}

/*
 * disclosure_audit_listed - is entry e listed to the reader? On a hidden
 * leadership a member's view has no role changes, done or asked for: even
 * without names, their number bounds how many moderate. rq: as below.
 */
int
disclosure_audit_listed(const struct list_cfg *l, int reader,
    const struct audit_entry *e, const struct disclosure_request *rq)
{
	if (!disclosure_audit_renumbered(l, reader))
		return 1;
	if (!strcmp(e->action, "roles"))
		return 0;
	return !(disclosure_audit_request(e) > 0 && rq &&
	    rq->state != DREQ_NONE && !strcmp(rq->action, "roles"));
}

/*
 * disclosure_audit_entry - entry e as the reader may read it, into v.
 * Moderators and the operator read the log as written. Other readers: on a
 * hidden leadership, roles without handles, role changes without member
 * numbers, and never how many moderators agreed; an unmasking without its
 * pseudonym (unmask_named). What they are shown is a coded detail (an
 * entry written before the codes: its sentence where nothing is hidden),
 * worded afterwards by audit_render. rq: the request the entry opened
 * (disclosure_audit_request), NULL if none.
 */
void
disclosure_audit_entry(const struct list_cfg *l, int reader, const struct audit_entry *e,
    const struct disclosure_request *rq, struct audit_view *v)
{
	snprintf(v->actor, sizeof(v->actor), "%s", e->actor);
	snprintf(v->action, sizeof(v->action), "%s", e->action);
	snprintf(v->detail, sizeof(v->detail), "%s", e->detail);
	if (reader >= READER_MODERATOR)
		return;
	if (l->visibility == VIS_HIDDEN && strncmp(v->actor, "moderator ", 10) == 0)
		v->actor[9] = 0;	/* a handle written before the list hid them */
	if (v->detail[0] == '@')
		coded_view(l, reader, e, rq, v);
	else
		legacy_view(l, reader, e, rq, v);
}
