/*
 * disclosure.h - what a reader may learn: the roster, the member count, the
 * archive and digests, who moderates and how they are named, the audit log,
 * a held post's author, a mail to the moderators, a refused post.
 * Pure decisions over (list settings, reader, facts); callers gather facts.
 */
#ifndef MLIST_DISCLOSURE_H
#define MLIST_DISCLOSURE_H

#include "mail/config.h"
#include "mail/notices.h"
#include "mail/store.h"

/* who is asking: ordered, a higher reader may learn what a lower one may */
enum reader {
	READER_ANYONE = 1,	/* not a member, or a member on probation */
	READER_MEMBER = 2,
	READER_MODERATOR = 3,	/* a moderator or an owner of the list */
	READER_OPERATOR = 4	/* mlistctl, on the server itself */
};

int	disclosure_reader(const struct list_cfg *, const enum role *, long long joined, long long now);
int	disclosure_allows(int rule, int reader);
int	disclosure_roster(const struct list_cfg *, int reader);
int	disclosure_member_count(const struct list_cfg *, int reader);
int	disclosure_leaders(const struct list_cfg *, int reader);
int	disclosure_author_address(const struct list_cfg *, int mode);

/* how a moderator is shown (disclosure_leader), and which of their fields */
enum { LEADER_NOTHING, LEADER_HANDLE, LEADER_PERSON };
enum { PERSON_PSEUDONYM, PERSON_NAME, PERSON_ADDRESS, PERSON_ROLE };
int	disclosure_leader(const struct list_cfg *);
int	disclosure_leader_person(const struct list_cfg *,
	    const struct member *);

/* a mode not known yet (enum identity, and identity.h's ID_ROLE is -1) */
#define DISCLOSURE_ANY_MODE	(-2)
int	disclosure_owner_masked(const struct list_cfg *, int mode);

/* how the moderators refused a post */
enum { REFUSAL_REJECT, REFUSAL_DISCARD };
int	disclosure_refusal_published(const struct list_cfg *, int refusal);
int	disclosure_refusal_author(const struct list_cfg *, int refusal);
int	disclosure_hold_warns(const struct list_cfg *);

int	disclosure_archive(const struct list_cfg *, int reader, long long joined, long long *since);
long long disclosure_archive_since(const struct list_cfg *, long long member_joined);
int	disclosure_digest_by_join(const struct list_cfg *);
enum piece_id disclosure_archive_refusal(const struct list_cfg *);

/* the request an audit entry names, as the store knows it now */
enum { DREQ_NONE, DREQ_PENDING, DREQ_DONE, DREQ_CLOSED };
struct disclosure_request {
	int		 state;		/* DREQ_*: NONE when unknown */
	char		 action[32];	/* "unmask", "roles", ... */
};

/* one audit entry as a reader is shown it */
struct audit_view {
	char		 actor[64], action[64], detail[512];
};

int	disclosure_audit(const struct list_cfg *, int reader);
long long disclosure_audit_request(const struct audit_entry *);
int	disclosure_request_state(const char *state, long long expires, long long now);
int	disclosure_audit_renumbered(const struct list_cfg *, int reader);
int	disclosure_audit_listed(const struct list_cfg *, int reader,
	    const struct audit_entry *, const struct disclosure_request *);
void	disclosure_audit_entry(const struct list_cfg *, int reader, const struct audit_entry *,
	    const struct disclosure_request *, struct audit_view *);

#endif
