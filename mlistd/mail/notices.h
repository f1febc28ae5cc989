/*
 * notices.h - the texts the list sends to members and moderators.
 *
 * Every notice lives in a file, templates_dir/notices/NAME.txt (a list may
 * override one in templates_dir/notices/LIST/NAME.txt), so an admin can
 * translate or reword them without a rebuild. The table in notices.c names
 * every notice and the placeholders it may use; config_load reads and checks
 * all of them, so a missing file or an unknown placeholder is a
 * configuration error with file:line, never a surprise at send time.
 *
 * Pieces are the sentences inside an answer that C assembles (the keys,
 * who, archive and audit answers of LIST-request, the lines of what a
 * confirmed request did): one file, templates_dir/notices/pieces, a
 * "[name]" line before each piece's text, checked the same way; a list's
 * pieces may override any of them.
 */
#ifndef MLIST_NOTICES_H
#define MLIST_NOTICES_H

#include "../util/buf.h"

/*
 * one row per text an admin can reword, notices and pieces alike: the enum,
 * its file or piece name, its own placeholders, and when it is sent or used
 * (README's two tables are made from these rows by tools/notices-doc).
 * A NOTICE row is a file; where its wording depends on a list setting,
 * there are two notices, so a translation never has to assemble a sentence.
 * A PIECE row is a piece of pieces: a whole line or more, ending in a line
 * end; the C around it only strings pieces and data together.
 */
#define TEXT_TABLE(NOTICE, PIECE) \
	NOTICE(NOTICE_NOT_DISTRIBUTED, "not-distributed", "reason", \
	    "a post was refused; reason says why") \
	NOTICE(NOTICE_NOT_DELIVERED, "not-delivered", "reason", \
	    "a message through the list could not be delivered") \
	NOTICE(NOTICE_KEYLESS_POST, "keyless-post", "", \
	    "instead of a post, to a keyless member of an encryption = \"required\" list") \
	NOTICE(NOTICE_KEYLESS_DIGEST, "keyless-digest", "", \
	    "instead of a digest, to a keyless member of an encryption = \"required\" list") \
	NOTICE(NOTICE_KEYLESS_ANSWER, "keyless-answer", "", \
	    "instead of an answer holding a post (archive get), to a keyless member") \
	NOTICE(NOTICE_KEYLESS_PRIVATE, "keyless-private", "", \
	    "instead of private mail relayed to a keyless member of an encryption = \"required\" list (the mail is not kept)") \
	NOTICE(NOTICE_DIGEST, "digest", "issue count contents", \
	    "the digest's subject and its first part (contents: the table of contents)") \
	NOTICE(NOTICE_DIGEST_ONE, "digest-one", "issue count contents", \
	    "the same, for a digest of one post") \
	NOTICE(NOTICE_HELP, "help", "", \
	    "the answer to \"help\" at LIST-request (the subject is used when help is all it says)") \
	NOTICE(NOTICE_REJECTED, "rejected", "reason", \
	    "to the author, when the moderators reject their post") \
	NOTICE(NOTICE_REJECTION_PUBLISHED, "rejection-published", "subject reason", \
	    "to the members, of a rejected post (leadership.publish_rejections)") \
	NOTICE(NOTICE_DISCARD_PUBLISHED, "discard-published", "subject", \
	    "to the members, of a discarded post (leadership.publish_rejections)") \
	NOTICE(NOTICE_HELD, "held", "reason sender", \
	    "to each moderator, with the held post attached and its reply token") \
	NOTICE(NOTICE_HELD_PUBLISHED, "held-published", "reason sender", \
	    "the same, on a list with leadership.publish_rejections") \
	NOTICE(NOTICE_KEY_EXPIRING, "key-expiring", "day", \
	    "a member's stated key expiry is near (posts would then go in clear)") \
	NOTICE(NOTICE_KEY_EXPIRING_REQUIRED, "key-expiring-required", "day", \
	    "the same, on an encryption = \"required\" list") \
	NOTICE(NOTICE_KEY_EXPIRED, "key-expired", "day", \
	    "a member's key expired and was dropped (posts now go in clear)") \
	NOTICE(NOTICE_KEY_EXPIRED_REQUIRED, "key-expired-required", "day", \
	    "the same, on an encryption = \"required\" list") \
	NOTICE(NOTICE_EMERGENCY, "emergency", "action detail", \
	    "to each moderator, when the operator acted alone in an emergency") \
	NOTICE(NOTICE_GRAVE_ACTION, "grave-action", "action detail needed days", \
	    "to each moderator, when a grave action waits for the quorum") \
	NOTICE(NOTICE_APPLICATION, "application", "address introduction needed days", \
	    "to each moderator, of an application to join (the address shown to moderators)") \
	NOTICE(NOTICE_APPLICATION_HIDDEN, "application-hidden", "introduction needed days", \
	    "the same, where the list does not show moderators the applicant's address") \
	NOTICE(NOTICE_APPLICATION_OWNERS, "application-owners", "address introduction", \
	    "to the owners, of an application where no moderator can admit yet (the address shown)") \
	NOTICE(NOTICE_APPLICATION_OWNERS_HIDDEN, "application-owners-hidden", "introduction", \
	    "the same, where the list does not show moderators the applicant's address") \
	NOTICE(NOTICE_VOUCH_REQUEST, "vouch-request", "introduction", \
	    "to a member an applicant named as able to vouch for them") \
	NOTICE(NOTICE_WELCOME_ADMITTED, "welcome-admitted", "", \
	    "to an applicant the moderators admitted") \
	NOTICE(NOTICE_WELCOME_VOUCHED, "welcome-vouched", "", \
	    "to an applicant enough members vouched for") \
	NOTICE(NOTICE_UNMASKED_VOTERS, "unmasked-voters", "needed pseudonym address", \
	    "to each moderator who approved an unmasking: the address behind the pseudonym") \
	NOTICE(NOTICE_UNMASKED_MEMBER, "unmasked-member", "pseudonym", \
	    "to the unmasked member (leadership.notify_unmasked)") \
	NOTICE(NOTICE_DISCIPLINE_NOT_MODERATOR, "discipline-not-moderator", "", \
	    "to someone not a moderator who wrote to LIST-discipline") \
	NOTICE(NOTICE_DISCIPLINE_USAGE, "discipline-usage", "", \
	    "to a moderator whose discipline request names nobody") \
	NOTICE(NOTICE_DISCIPLINE_NOBODY, "discipline-nobody", "name", \
	    "to a moderator whose discipline request names no member") \
	NOTICE(NOTICE_DISCIPLINE_MODERATOR, "discipline-moderator", "name", \
	    "to a moderator whose discipline request names a moderator") \
	NOTICE(NOTICE_DISCIPLINE_CONFIRM, "discipline-confirm", "name number steps step reason days", \
	    "to the moderator, to confirm the next discipline step") \
	NOTICE(NOTICE_WARNING_PRIVATE, "warning-private", "reason step", \
	    "to a member, a private warning (a discipline step)") \
	NOTICE(NOTICE_WARNING_PUBLIC, "warning-public", "member reason", \
	    "to the members, a public warning naming the member's pseudonym (a discipline step)") \
	NOTICE(NOTICE_SUSPENDED, "suspended", "days reason day", \
	    "to a member suspended from the list (a discipline step)") \
	NOTICE(NOTICE_SEALED_UNOPENABLE, "sealed-unopenable", "", \
	    "a post in the retired \"mlist seal\" format, no longer opened") \
	NOTICE(NOTICE_PGP_UNOPENABLE, "pgp-unopenable", "reason", \
	    "an OpenPGP post the list's key cannot open (reason: why)") \
	NOTICE(NOTICE_NOT_SEALED, "not-sealed", "", \
	    "a post in clear to an encryption = \"required\" list") \
	NOTICE(NOTICE_UNPROCESSABLE, "unprocessable", "reason", \
	    "a post the parser could not read (kept for the administrators)") \
	NOTICE(NOTICE_ROLES_UNREADABLE, "roles-unreadable", "reason", \
	    "a member's verified mail to LIST-owner@ the parser could not read: the moderators did not get it") \
	NOTICE(NOTICE_PARTS_REMOVED, "parts-removed", "parts", \
	    "to the author, of the parts taken out of a post because they would identify them") \
	NOTICE(NOTICE_SIGNATURE_REPLACED, "signature-replaced", "pseudonym", \
	    "to the author, once, when the list replaced their own OpenPGP signature by their pseudonym's") \
	NOTICE(NOTICE_PSEUDONYM_KEY_ROTATED, "pseudonym-key-rotated", "pseudonym old_fpr new_fpr", \
	    "to the members, from the pseudonym, signed by its old key and the list's: its new OpenPGP key") \
	NOTICE(NOTICE_NOTHING_LEFT, "nothing-left", "parts", \
	    "to the author, of a post kept aside: every part of it would have been taken out") \
	NOTICE(NOTICE_REFUSED_DOCUMENT, "refused-document", "found", \
	    "a post whose attached document names its author (documents_with_author = refuse)") \
	NOTICE(NOTICE_HELD_DOCUMENT, "held-document", "found", \
	    "the same, held for the moderators (documents_with_author = hold)") \
	NOTICE(NOTICE_PRIVATE_REFUSED, "private-refused", "to reason", \
	    "an authenticated private reply (to: the handle's address) was refused") \
	NOTICE(NOTICE_PRIVATE_LEAK, "private-leak", "found", \
	    "a private reply that would tell its reader who wrote it (found: what gives it away)") \
	NOTICE(NOTICE_LEFT_ONE_CLICK, "left-one-click", "", \
	    "to a member who left with a post's one-click unsubscribe link") \
	NOTICE(NOTICE_CONFIRM_POST, "confirm-post", "confirm_addr days", \
	    "to a member, to confirm a post sent in their name") \
	NOTICE(NOTICE_CONFIRM_POST_LEAK, "confirm-post-leak", "found confirm_addr days", \
	    "to the author, to confirm a post that would identify them (found: what gives it away)") \
	NOTICE(NOTICE_REFUSED_TOO_BIG, "refused-too-big", "bytes", \
	    "a post larger than max_message_size (bytes: the limit)") \
	NOTICE(NOTICE_REFUSED_UNSIGNED, "refused-unsigned", "why", \
	    "a post without a member's own signature, on a post_auth = \"signature\" list") \
	NOTICE(NOTICE_REFUSED_OWN_KEY, "refused-own-key", "poster", \
	    "a post in the name of a member with an own key, not signed with it") \
	NOTICE(NOTICE_REFUSED_NON_MEMBER, "refused-non-member", "poster", \
	    "a post from someone not subscribed, on a members-only list") \
	NOTICE(NOTICE_REFUSED_ANNOUNCE, "refused-announce", "", \
	    "a post from someone not a moderator, on an announcement list") \
	NOTICE(NOTICE_REFUSED_POSTS_PER_DAY, "refused-posts-per-day", "posts", \
	    "a post beyond max_posts_per_day (posts: the limit)") \
	NOTICE(NOTICE_REFUSED_LEAK, "refused-leak", "found", \
	    "a held post that would identify its author to the list (found: what gives it away)") \
	NOTICE(NOTICE_HELD_MODERATED, "held-moderated", "", \
	    "to the author, of a post held on a moderated list") \
	NOTICE(NOTICE_HELD_PROBATION, "held-probation", "", \
	    "to the author, of a new member's post held for review (probation_posts)") \
	NOTICE(NOTICE_REQUEST_DONE, "request-done", "done", \
	    "to a member who confirmed a request (done: a line per change, each starting \"- \")") \
	NOTICE(NOTICE_REQUEST_ANSWER, "request-answer", "answers", \
	    "the answer to LIST-request (answers: the answer to each command, e.g. keys, who, archive, audit, help)") \
	NOTICE(NOTICE_PGP_KEY_CONFIRM, "pgp-key-confirm", "confirm_addr days", \
	    "encrypted to a key sent with \"key\": answering it registers it") \
	NOTICE(NOTICE_PGP_KEY_REPLACE, "pgp-key-replace", "fingerprint when cancel_addr", \
	    "encrypted to a member's registered key: a new key not signed by it waits; answering cancels") \
	NOTICE(NOTICE_BOUNCE_PROBE, "bounce-probe", "", \
	    "to a member whose mail bounces, by VERP, to test the mailbox") \
	NOTICE(NOTICE_BOUNCE_DISABLED, "bounce-disabled", "", \
	    "to a member whose probe bounced too: delivery turned off") \
	NOTICE(NOTICE_DISCIPLINE_UNVERIFIED, "discipline-unverified", "confirm_addr days", \
	    "to an unverified sender to LIST-owner+discipline: confirm from the mailbox (one text for all)") \
	NOTICE(NOTICE_POST_NOT_CONFIRMED, "post-not-confirmed", "poster", \
	    "to each moderator: a post in a member's name not confirmed") \
	NOTICE(NOTICE_POST_NOT_CONFIRMED_HIDDEN, "post-not-confirmed-hidden", "", \
	    "the same, where moderators do not see the author's address") \
	NOTICE(NOTICE_ROLE_KEY_CHANGED, "role-key-changed", "fingerprint", \
	    "to the members, once, signed by the new key: the moderators' role key is not the one last announced") \
	PIECE(PIECE_UNVERIFIED, "unverified", "", \
	    "-request: first in an answer to a sender the list could not verify") \
	PIECE(PIECE_LEADERS, "leaders", "names", \
	    "who: the moderators as leadership.visibility shows them (names: comma-separated)") \
	PIECE(PIECE_NO_LEADERS, "no-leaders", "", \
	    "who: the list has no moderators yet") \
	PIECE(PIECE_COUNT, "count", "count", \
	    "who: the member count, where disclosure.member_count allows it") \
	PIECE(PIECE_COUNT_ONE, "count-one", "", \
	    "who: the same, for a list of one member") \
	PIECE(PIECE_ROSTER_HIDDEN, "roster-hidden", "", \
	    "who: the roster is not disclosed to this reader") \
	PIECE(PIECE_ROSTER_ANONYMOUS, "roster-anonymous", "", \
	    "who: on an anonymous list, instead of the roster") \
	PIECE(PIECE_ROSTER, "roster", "", \
	    "who: before the roster's lines (real-name list)") \
	PIECE(PIECE_ROSTER_PSEUDONYMS, "roster-pseudonyms", "", \
	    "who: before the roster's lines (pseudonymous list)") \
	PIECE(PIECE_ARCHIVE_INDEX, "archive-index", "", \
	    "archive index: before the index's lines") \
	PIECE(PIECE_ARCHIVE_EMPTY, "archive-empty", "", \
	    "archive index: no post this reader may read") \
	PIECE(PIECE_ARCHIVE_NONE, "archive-none", "n", \
	    "archive get N: no such post this reader may read") \
	PIECE(PIECE_ARCHIVE_ATTACHED, "archive-attached", "n", \
	    "archive get N: the post is attached") \
	PIECE(PIECE_AUDIT_HIDDEN, "audit-hidden", "", \
	    "audit: the log is not disclosed to this reader") \
	PIECE(PIECE_AUDIT, "audit", "", \
	    "audit: before the log's lines") \
	PIECE(PIECE_AUDIT_VERIFIES, "audit-verifies", "", \
	    "audit: the chain and the list's signatures verify") \
	PIECE(PIECE_AUDIT_LAST, "audit-last", "seq fingerprint", \
	    "audit: the last entry, to compare with a later answer") \
	PIECE(PIECE_AUDIT_BROKEN, "audit-broken", "why", \
	    "audit: the log does not verify") \
	PIECE(PIECE_KEYS, "keys", "", \
	    "keys: before the list's DKIM keys") \
	PIECE(PIECE_KEYS_CHECK, "keys-check", "", \
	    "keys: after them, how to check a post") \
	PIECE(PIECE_KEYS_ROLE, "keys-role", "fingerprint", \
	    "keys: the moderators' role key") \
	PIECE(PIECE_CLOSED, "closed", "", \
	    "subscribe on a list that takes no members by mail") \
	PIECE(PIECE_BAD_PSEUDONYM_JOIN, "bad-pseudonym-join", "why", \
	    "subscribe PSEUDONYM: the pseudonym cannot be used") \
	PIECE(PIECE_BAD_PSEUDONYM, "bad-pseudonym", "why", \
	    "set pseudonym: the pseudonym cannot be used") \
	PIECE(PIECE_BAD_IDENTITY, "bad-identity", "mode offers", \
	    "set identity: a mode the list does not offer") \
	PIECE(PIECE_BAD_ENCKEY, "bad-enckey", "", \
	    "key x25519:KEY: not a key") \
	PIECE(PIECE_BAD_EXPIRES, "bad-expires", "date", \
	    "key x25519:KEY expires DATE: not a date the list can use") \
	PIECE(PIECE_CONFIRM_JOIN, "confirm-join", "confirm_addr days", \
	    "subscribe: how to confirm from the mailbox") \
	PIECE(PIECE_CONFIRM_LEAVE, "confirm-leave", "confirm_addr days", \
	    "unsubscribe: how to confirm from the mailbox") \
	PIECE(PIECE_CONFIRM_CHANGES, "confirm-changes", "confirm_addr days", \
	    "set ...: how to confirm the changes from the mailbox") \
	PIECE(PIECE_CONFIRM_ANSWER, "confirm-answer", "confirm_addr days", \
	    "who/audit/archive from an unverified sender: how to be answered as who they are") \
	PIECE(PIECE_DONE_LEFT, "done-left", "", \
	    "done: the member left") \
	PIECE(PIECE_DONE_REFUSED, "done-refused", "why", \
	    "done: a change was not made (why: the list's reason)") \
	PIECE(PIECE_DONE_PSEUDONYM, "done-pseudonym", "pseudonym", \
	    "done: the new pseudonym") \
	PIECE(PIECE_DONE_IDENTITY, "done-identity", "mode", \
	    "done: the new way of posting") \
	PIECE(PIECE_DONE_ENCKEY, "done-enckey", "", \
	    "done: the encryption key registered") \
	PIECE(PIECE_DONE_ENCKEY_EXPIRES, "done-enckey-expires", "day days", \
	    "done: the same key's expiry, and when the list reminds") \
	PIECE(PIECE_DONE_SETTING, "done-setting", "setting value", \
	    "done: digest or nomail is now on or off") \
	PIECE(PIECE_DONE_MEMBER, "done-member", "", \
	    "done: subscribe from a member") \
	PIECE(PIECE_DONE_NOT_MEMBER, "done-not-member", "", \
	    "done: settings or leaving from an address that is not subscribed") \
	PIECE(PIECE_DONE_SUSPENDED, "done-suspended", "day", \
	    "done: a suspended address applied") \
	PIECE(PIECE_DONE_BANNED, "done-banned", "", \
	    "done: a banned address applied") \
	PIECE(PIECE_DONE_APPLIED, "done-applied", "", \
	    "done: the application went to the moderators") \
	PIECE(PIECE_DONE_WELCOME, "done-welcome", "", \
	    "done: admitted to an open list") \
	PIECE(PIECE_DONE_DISCIPLINE, "done-discipline", "member step", \
	    "done: a moderator's confirmed discipline step") \
	PIECE(PIECE_DONE_DISCIPLINE_GONE, "done-discipline-gone", "number", \
	    "done: the member to discipline has left") \
	PIECE(PIECE_DONE_DISCIPLINE_WAIT, "done-discipline-wait", "member days day", \
	    "done: the member's last discipline step is too recent") \
	PIECE(PIECE_DONE_DISCIPLINE_MODERATOR, "done-discipline-moderator", "member", \
	    "done: the member to discipline moderates the list") \
	PIECE(PIECE_SENDER_CLAIM, "sender-claim", "", \
	    "held: {sender} of a post whose sender the list could not verify") \
	PIECE(PIECE_SENDER_DKIM, "sender-dkim", "", \
	    "held: {sender} of a post DKIM-signed by its From: domain") \
	PIECE(PIECE_SENDER_OWN_KEY, "sender-own-key", "", \
	    "held: {sender} of a post signed with the member's own key") \
	PIECE(PIECE_UNCONFIRMED_COUNT, "unconfirmed-count", "count name", \
	    "held: after {sender}, once a day per member, unconfirmed posts") \
	PIECE(PIECE_DONE_VOUCH, "done-vouch", "needed days", \
	    "done: the members an applicant named were asked to vouch (never how many are members)") \
	PIECE(PIECE_KEY_CONFIRM, "key-confirm", "confirm_addr days", \
	    "key ed25519:KEY: how to make the key one's own (one text, member or not)") \
	PIECE(PIECE_BAD_KEY, "bad-key", "", \
	    "key ed25519:KEY: not an Ed25519 public key") \
	PIECE(PIECE_ARCHIVE_NO_ARCHIVE, "archive-no-archive", "", \
	    "archive: the list keeps no archive") \
	PIECE(PIECE_ARCHIVE_MODERATORS, "archive-moderators", "", \
	    "archive: only the moderators may read it") \
	PIECE(PIECE_ARCHIVE_MEMBERS, "archive-members", "", \
	    "archive: only members may read it (a member on probation reads as anyone)") \
	PIECE(PIECE_HELP_NO_COMMAND, "help-no-command", "", \
	    "help: first, when a mail to LIST-request held no command (it went to the owners)") \
	PIECE(PIECE_AUDIT_ROLES_HIDDEN, "audit-roles-hidden", "", \
	    "audit: members of a hidden-leadership list, after the log (role changes are not listed)") \
	PIECE(PIECE_PRIVATE_OFF, "private-off", "", \
	    "private-refused's {reason}: the list has no private replies (its last line end dropped)") \
	PIECE(PIECE_PRIVATE_MEMBERS, "private-members", "", \
	    "private-refused's {reason}: only members may send private replies") \
	PIECE(PIECE_PRIVATE_NOBODY, "private-nobody", "", \
	    "not sent: a reply to a handle no one answers to goes unanswered") \
	PIECE(PIECE_UNANSWERABLE, "unanswerable", "", \
	    "private-refused's {reason}: LIST-owner+HANDLE from someone not a moderator, or gone") \
	PIECE(PIECE_ANNOUNCE_MODERATORS, "announce-moderators", "", \
	    "private-refused's {reason}: LIST-owner+announce from someone not a moderator") \
	PIECE(PIECE_ANNOUNCE_HELD, "announce-held", "", \
	    "confirm-post-leak's {found}: a moderator's announcement waits for their mailbox") \
	PIECE(PIECE_PSEUDONYM_KEY_MEMBERS, "pseudonym-key-members", "", \
	    "keys NAME: to anyone not a member, whatever NAME is") \
	PIECE(PIECE_PSEUDONYM_KEY_NONE, "pseudonym-key-none", "name", \
	    "keys NAME: no pseudonym NAME has posted (its key is made at its first post)") \
	PIECE(PIECE_PSEUDONYM_KEY, "pseudonym-key", "name fingerprint", \
	    "keys NAME: before the pseudonym's armored OpenPGP key") \
	PIECE(PIECE_PSEUDONYM_KEY_RETIRED, "pseudonym-key-retired", "fingerprint date", \
	    "keys NAME: before each earlier key of the pseudonym, revoked as superseded") \
	PIECE(PIECE_KEYS_OPENPGP, "keys-openpgp", "file fingerprint", \
	    "keys: the list's OpenPGP key, attached as file") \
	PIECE(PIECE_ONE_CLICK_PAGE, "one-click-page", "", \
	    "one-click link opened (GET): the HTML page; its form must POST List-Unsubscribe=One-Click") \
	PIECE(PIECE_ONE_CLICK_DONE, "one-click-done", "", \
	    "one-click POST queued: the answer (the same whether or not the link was a member's)") \
	PIECE(PIECE_ONE_CLICK_UNKNOWN, "one-click-unknown", "", \
	    "one-click: no such link (no list, or one without one_click_url); the instance's text") \
	PIECE(PIECE_ONE_CLICK_LATER, "one-click-later", "", \
	    "one-click POST not queued (the spool failed): try later; the instance's text") \
	PIECE(PIECE_NO_INTRODUCTION, "no-introduction", "", \
	    "{introduction} of an application whose applicant wrote none") \
	PIECE(PIECE_NO_SUBJECT, "no-subject", "", \
	    "digest: a post's line in the contents when it has no Subject") \
	PIECE(PIECE_NO_SUBJECT_PUBLISHED, "no-subject-published", "", \
	    "{subject} of rejection-/discard-published for a post without one") \
	PIECE(PIECE_NO_REASON, "no-reason", "", \
	    "{reason} of rejected/rejection-published when the moderator gave none") \
	PIECE(PIECE_NO_REASON_DISCIPLINE, "no-reason-discipline", "", \
	    "{reason} of discipline-confirm when the moderator gave none") \
	PIECE(PIECE_AUDIT_APPROVE, "audit-approve", "id why", \
	    "audit entry approve: a held post (why: the hold's code) approved") \
	PIECE(PIECE_AUDIT_REJECT, "audit-reject", "id why reason", \
	    "audit entry reject: the same, rejected (reason: the moderator's)") \
	PIECE(PIECE_AUDIT_DISCARD, "audit-discard", "id why", \
	    "audit entry discard: the same, discarded") \
	PIECE(PIECE_AUDIT_ADMIT, "audit-admit", "member", \
	    "audit entry admit (member: the keyed short id, \"member 1a2b...\")") \
	PIECE(PIECE_AUDIT_IMPORT, "audit-import", "count", \
	    "audit entry admit: addresses imported at once") \
	PIECE(PIECE_AUDIT_LEAVE, "audit-leave", "member", \
	    "audit entry leave: a member left") \
	PIECE(PIECE_AUDIT_UNBAN, "audit-unban", "member", \
	    "audit entry unban (member: whom, as admit names them)") \
	PIECE(PIECE_AUDIT_ANNOUNCE, "audit-announce", "", \
	    "audit entry announce: the moderators posted through LIST-owner+announce") \
	PIECE(PIECE_AUDIT_OPENPGP_KEY_REPLACED, "audit-openpgp-key-replaced", "", \
	    "audit entry: a new OpenPGP key took effect after openpgp.replace_delay") \
	PIECE(PIECE_AUDIT_MEMBER_SET, "audit-member-set", "member setting value", \
	    "audit entry member set: a switch (digest, nomail) set to value") \
	PIECE(PIECE_AUDIT_MEMBER_CHANGED, "audit-member-changed", "member setting", \
	    "audit entry member set: a setting whose value is not logged") \
	PIECE(PIECE_AUDIT_MEMBER_REMOVED, "audit-member-removed", "member setting", \
	    "audit entry member set: a setting removed (openpgp none)") \
	PIECE(PIECE_AUDIT_OPENPGP_KEY_MADE, "audit-openpgp-key-made", "", \
	    "audit entry keys openpgp: the list's OpenPGP key was made") \
	PIECE(PIECE_AUDIT_OPENPGP_SUBKEY_ROTATED, "audit-openpgp-subkey-rotated", "", \
	    "audit entry keys rotate-subkey: a new encryption subkey") \
	PIECE(PIECE_AUDIT_WARNING_PRIVATE, "audit-warning-private", "member step", \
	    "audit entry discipline: a private warning (step: its number)") \
	PIECE(PIECE_AUDIT_WARNING_PUBLIC, "audit-warning-public", "member step", \
	    "audit entry discipline: a public warning") \
	PIECE(PIECE_AUDIT_WARNING_PUBLIC_UNPAIRED, \
	    "audit-warning-public-unpaired", "", \
	    "a public warning, to members: no number, no step") \
	PIECE(PIECE_AUDIT_SUSPENDED, "audit-suspended", "member step", \
	    "audit entry discipline: the member suspended") \
	PIECE(PIECE_AUDIT_PSEUDONYM_KEY_ROTATED, "audit-pseudonym-key-rotated", "old new", \
	    "audit entry keys rotate-pseudonym (old, new: the fingerprints)") \
	PIECE(PIECE_PGP_NO_KEY, "pgp-no-key", "", \
	    "key (OpenPGP): the mail carries no OpenPGP public key") \
	PIECE(PIECE_PGP_KEY_UNUSABLE, "pgp-key-unusable", "why", \
	    "key (OpenPGP): the key cannot be used (why: a [why-pgp-*] piece)") \
	PIECE(PIECE_PGP_KEY_SENT, "pgp-key-sent", "days", \
	    "key (OpenPGP): a confirmation encrypted to the key is on its way") \
	PIECE(PIECE_PGP_CANCELLED, "pgp-cancelled", "", \
	    "key cancel, from a verified sender: no new key waits any more") \
	PIECE(PIECE_PGP_CANCEL_UNVERIFIED, "pgp-cancel-unverified", "", \
	    "key cancel, from a sender the list could not verify: how to cancel") \
	PIECE(PIECE_PGP_DONE_REGISTERED, "pgp-done-registered", "", \
	    "done: the confirmed OpenPGP key is registered") \
	PIECE(PIECE_PGP_DONE_TAKEN, "pgp-done-taken", "", \
	    "done: the key is another member's on this list: not registered") \
	PIECE(PIECE_PGP_DONE_NOT_MEMBER, "pgp-done-not-member", "", \
	    "done: the key's address is not a member (yet)") \
	PIECE(PIECE_PGP_DONE_UNVERIFIED, "pgp-done-unverified", "", \
	    "done: neither request nor answer came from a verified sender") \
	PIECE(PIECE_PGP_DONE_UNUSABLE, "pgp-done-unusable", "", \
	    "done: the key expired or was revoked since it was sent") \
	PIECE(PIECE_PGP_DONE_BUDGET, "pgp-done-budget", "", \
	    "done: a replacing key not taken (answer budget): try later") \
	PIECE(PIECE_PGP_DONE_NOT_MEMBER_NOW, "pgp-done-not-member-now", "", \
	    "done: a replacing key for an address no longer a member") \
	PIECE(PIECE_PGP_DONE_WAITS, "pgp-done-waits", "day", \
	    "done: a key not signed by the registered one waits until day") \
	PIECE(PIECE_LEAK_ADDRESS, "leak-address", "", \
	    "{found} of the leak guard's notices: the author's address") \
	PIECE(PIECE_LEAK_LOCAL_PART, "leak-local-part", "", \
	    "{found}: the part of the address before the @") \
	PIECE(PIECE_LEAK_DOMAIN, "leak-domain", "", \
	    "{found}: the address's domain") \
	PIECE(PIECE_LEAK_NAME, "leak-name", "", \
	    "{found}: the member's name (or its last word)") \
	PIECE(PIECE_LEAK_FROM_NAME, "leak-from-name", "", \
	    "{found}: the display name the author's mail program puts in From") \
	PIECE(PIECE_HTTP_BAD_REQUEST, "http-bad-request", "", \
	    "one-click endpoint, 400: the request line does not parse") \
	PIECE(PIECE_HTTP_NOT_POST, "http-not-post", "", \
	    "one-click endpoint, 405: a method other than GET, HEAD or POST") \
	PIECE(PIECE_HTTP_BAD_BODY, "http-bad-body", "", \
	    "one-click endpoint, 400: a POST without List-Unsubscribe=One-Click") \
	PIECE(PIECE_HTTP_TOO_LARGE, "http-too-large", "", \
	    "one-click endpoint, 413: the request is over 9 KB") \
	PIECE(PIECE_HTTP_HEAD_TOO_LARGE, "http-head-too-large", "", \
	    "one-click endpoint, 431: the request head is over 8 KB") \
	PIECE(PIECE_HTTP_TIMEOUT, "http-timeout", "", \
	    "one-click endpoint, 408: the client went quiet mid-request") \
	PIECE(PIECE_WHY_SIG_UNSIGNED, "why-sig-unsigned", "", \
	    "reason sig-unsigned ({why} of refused-unsigned): no author signature") \
	PIECE(PIECE_WHY_SIG_NONE, "why-sig-none", "", \
	    "reason sig-none: the author signature header cannot be found") \
	PIECE(PIECE_WHY_SIG_MALFORMED, "why-sig-malformed", "", \
	    "reason sig-malformed: the author signature's tags do not parse") \
	PIECE(PIECE_WHY_SIG_ENCODING, "why-sig-encoding", "", \
	    "reason sig-encoding: its key or signature is badly encoded") \
	PIECE(PIECE_WHY_SIG_OTHER_LIST, "why-sig-other-list", "other", \
	    "reason sig-other-list: signed for another list (other: its list id)") \
	PIECE(PIECE_WHY_SIG_BODY_CHANGED, "why-sig-body-changed", "", \
	    "reason sig-body-changed: the body changed since it was signed") \
	PIECE(PIECE_WHY_SIG_HEADERS_CHANGED, "why-sig-headers-changed", "", \
	    "reason sig-headers-changed: Subject, Date or Message-ID changed") \
	PIECE(PIECE_WHY_SIG_UNKNOWN_KEY, "why-sig-unknown-key", "", \
	    "reason sig-unknown-key: signed by a key no member registered") \
	PIECE(PIECE_WHY_SIG_ERROR, "why-sig-error", "", \
	    "reason sig-error: the list could not check the signature") \
	PIECE(PIECE_WHY_PSEUDONYM_KEY, "why-pseudonym-key", "", \
	    "reason pseudonym-key ({reason} of not-distributed): no key to sign") \
	PIECE(PIECE_AUDIT_REQUEST, "audit-request", "id detail", \
	    "audit entry request: a grave action waits for the quorum (detail: what, worded by its own piece)") \
	PIECE(PIECE_AUDIT_REQUEST_UNNUMBERED, "audit-request-unnumbered", "detail", \
	    "the same, to a member of a hidden-leadership list (requests' numbers would count those not listed)") \
	PIECE(PIECE_AUDIT_EMERGENCY, "audit-emergency", "detail", \
	    "audit entry of an action the operator took alone (mlistctl --emergency)") \
	PIECE(PIECE_AUDIT_QUORUM, "audit-quorum", "detail agreed result", \
	    "audit entry of a request that reached its quorum (agreed: [audit-agreed-*], result: [audit-result-*])") \
	PIECE(PIECE_AUDIT_AGREED_MODERATORS, "audit-agreed-moderators", "votes", \
	    "{agreed}: how many moderators agreed (after an entry whose piece has no {agreed})") \
	PIECE(PIECE_AUDIT_AGREED_MEMBERS, "audit-agreed-members", "votes", \
	    "{agreed}: how many members vouched for an applicant") \
	PIECE(PIECE_AUDIT_AGREED_QUORUM, "audit-agreed-quorum", "", \
	    "{agreed} to members of a hidden-leadership list: how many agreed would bound how many moderate") \
	PIECE(PIECE_AUDIT_RESULT_DONE, "audit-result-done", "", \
	    "{result}: the decided action was done") \
	PIECE(PIECE_AUDIT_RESULT_NOT_APPLIED, "audit-result-not-applied", "", \
	    "{result}: it could no longer be done (the member had left, ...)") \
	PIECE(PIECE_AUDIT_RESULT_EXPORT_APPROVED, "audit-result-export-approved", "", \
	    "{result}: a roster export approved") \
	PIECE(PIECE_AUDIT_RESULT_UNMASK_GONE, "audit-result-unmask-gone", "", \
	    "{result}: nobody has the pseudonym to unmask any more") \
	PIECE(PIECE_AUDIT_BAN, "audit-ban", "member", \
	    "audit entry ban, and {detail} of a ban asked for") \
	PIECE(PIECE_AUDIT_EXPEL, "audit-expel", "member", \
	    "audit entry expel, and {detail} of an expulsion asked for") \
	PIECE(PIECE_AUDIT_ROLES_ASKED, "audit-roles-asked", "member role", \
	    "{detail} of a role change asked for (and of grave-action's {detail})") \
	PIECE(PIECE_AUDIT_ROLES, "audit-roles", "member role", \
	    "audit entry roles: a role changed below the quorum") \
	PIECE(PIECE_AUDIT_POLICY, "audit-policy", "setting value", \
	    "audit entry policy, and {detail} of a policy change asked for") \
	PIECE(PIECE_AUDIT_UNMASK, "audit-unmask", "ref", \
	    "{detail} of an unmasking, its pseudonym by reference (ref: \"pseudonym\" and 10 hex digits)") \
	PIECE(PIECE_AUDIT_UNMASK_NAMED, "audit-unmask-named", "pseudonym", \
	    "the same, to a reader who may learn the pseudonym") \
	PIECE(PIECE_AUDIT_UNMASK_HIDDEN_PENDING, "audit-unmask-hidden-pending", "", \
	    "the same, to a member while the moderators decide") \
	PIECE(PIECE_AUDIT_UNMASK_HIDDEN, "audit-unmask-hidden", "", \
	    "the same, to a member once the request is closed") \
	PIECE(PIECE_AUDIT_UNMASK_HIDDEN_MEMBER, "audit-unmask-hidden-member", "", \
	    "an unmasking done, to a member of a list that does not tell the unmasked") \
	PIECE(PIECE_AUDIT_LEADERSHIP_CHANGE, "audit-leadership-change", "", \
	    "a role change, to a member of a hidden-leadership list") \
	PIECE(PIECE_AUDIT_REQUEST_UNKNOWN, "audit-request-unknown", "", \
	    "a request whose state the list no longer knows, to a member") \
	PIECE(PIECE_AUDIT_ROSTER_EXPORT, "audit-roster-export", "", \
	    "{detail} of a roster export asked for") \
	PIECE(PIECE_AUDIT_ROSTER_EXPORT_APPROVED, "audit-roster-export-approved", "id", \
	    "audit entry roster_export: printed, as request id approved") \
	PIECE(PIECE_AUDIT_ROSTER_EXPORT_SETUP, "audit-roster-export-setup", "", \
	    "the same, below the quorum (setting a list up)") \
	PIECE(PIECE_AUDIT_APPLICANT, "audit-applicant", "", \
	    "{detail} of an application waiting for the moderators or vouches") \
	PIECE(PIECE_AUDIT_TEXT, "audit-text", "text", \
	    "an entry written before the codes, renumbered for a member: its own words") \
	PIECE(PIECE_WHY_PGP_UNREADABLE, "why-pgp-unreadable", "", \
	    "reason pgp-unreadable ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_PGP_SECRET, "why-pgp-secret", "", \
	    "reason pgp-secret ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_PGP_VERSION, "why-pgp-version", "", \
	    "reason pgp-version ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_PGP_WEAK, "why-pgp-weak", "", \
	    "reason pgp-weak ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_PGP_NO_SUBKEY, "why-pgp-no-subkey", "", \
	    "reason pgp-no-subkey ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_PGP_REVOKED, "why-pgp-revoked", "", \
	    "reason pgp-revoked ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_PGP_EXPIRED, "why-pgp-expired", "", \
	    "reason pgp-expired ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_PGP_NO_SELF_SIG, "why-pgp-no-self-sig", "", \
	    "reason pgp-no-self-sig ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_PGP_NO_UID, "why-pgp-no-uid", "", \
	    "reason pgp-no-uid ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_PGP_NOT_ONE, "why-pgp-not-one", "", \
	    "reason pgp-not-one ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_PGP_TOO_BIG, "why-pgp-too-big", "", \
	    "reason pgp-too-big ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_PGP_UNOPENED, "why-pgp-unopened", "", \
	    "reason pgp-unopened ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_PGP_ERROR, "why-pgp-error", "", \
	    "reason pgp-error ({why} of pgp-key-unusable)") \
	PIECE(PIECE_WHY_MIME_BROKEN, "why-mime-broken", "", \
	    "reason mime-broken: the worker: the MIME structure points outside the message") \
	PIECE(PIECE_WHY_BOUNDARY_QUOTE, "why-boundary-quote", "", \
	    "reason boundary-quote: the worker: a boundary= opens a quote") \
	PIECE(PIECE_WHY_BOUNDARY_LENGTH, "why-boundary-length", "max", \
	    "reason boundary-length: the worker: a boundary empty or too long (max: 70)") \
	PIECE(PIECE_WHY_BOUNDARY_CHAR, "why-boundary-char", "", \
	    "reason boundary-char: the worker: a boundary with a character not allowed") \
	PIECE(PIECE_WHY_BOUNDARY_SPACE, "why-boundary-space", "", \
	    "reason boundary-space: the worker: a boundary ending in a space") \
	PIECE(PIECE_WHY_TOO_MANY_PARTS, "why-too-many-parts", "parts depth", \
	    "reason too-many-parts: the worker: too many MIME parts, or nested too deep") \
	PIECE(PIECE_WHY_MIME_SEPARATORS, "why-mime-separators", "", \
	    "reason mime-separators: the worker: a multipart whose boundary is not found in it") \
	PIECE(PIECE_WHY_TOO_MANY_FIELDS, "why-too-many-fields", "max", \
	    "reason too-many-fields: the worker: too many header fields") \
	PIECE(PIECE_WHY_NO_FROM, "why-no-from", "", \
	    "reason no-from: the worker: no From address") \
	PIECE(PIECE_WHY_PARSER_TIMEOUT, "why-parser-timeout", "seconds", \
	    "reason parser-timeout: the worker's parse ran out of time (seconds: limits.worker_seconds)") \
	PIECE(PIECE_WHY_PARSER_CRASHED, "why-parser-crashed", "", \
	    "reason parser-crashed: the worker's parse crashed") \
	PIECE(PIECE_WHY_PARSER_FORBIDDEN, "why-parser-forbidden", "", \
	    "reason parser-forbidden: the worker's parse was killed by the sandbox") \
	PIECE(PIECE_WHY_PARSER_FAILED, "why-parser-failed", "", \
	    "reason parser-failed: the worker's parse failed otherwise") \
	PIECE(PIECE_WHY_PARSER_BAD_REPLY, "why-parser-bad-reply", "", \
	    "reason parser-bad-reply: the worker answered in a shape the queue manager refused") \
	PIECE(PIECE_WHY_UNREADABLE, "why-unreadable", "", \
	    "reason unreadable: a worker's reason without a code (the log has its text)") \
	PIECE(PIECE_WHY_PGP_FOREIGN_FROM, "why-pgp-foreign-from", "", \
	    "reason pgp-foreign-from: an encrypted post whose inner From is not the sender") \
	PIECE(PIECE_WHY_PGP_NO_MESSAGE, "why-pgp-no-message", "", \
	    "reason pgp-no-message: multipart/encrypted holding no OpenPGP message") \
	PIECE(PIECE_WHY_PGP_REPLAYED, "why-pgp-replayed", "", \
	    "reason pgp-replayed: a ciphertext the list opened before, sent again") \
	PIECE(PIECE_WHY_PGP_NO_INTEGRITY, "why-pgp-no-integrity", "", \
	    "reason pgp-no-integrity: encrypted without integrity protection (an old mode)") \
	PIECE(PIECE_PART_PGP_KEY, "part-pgp-key", "", \
	    "{parts} of parts-removed/nothing-left: a line for pgp-key") \
	PIECE(PIECE_PART_PGP_SIGNATURE, "part-pgp-signature", "", \
	    "{parts} of parts-removed/nothing-left: a line for pgp-signature") \
	PIECE(PIECE_PART_SMIME_SIGNATURE, "part-smime-signature", "", \
	    "{parts} of parts-removed/nothing-left: a line for smime-signature") \
	PIECE(PIECE_PART_SMIME, "part-smime", "", \
	    "{parts} of parts-removed/nothing-left: a line for smime") \
	PIECE(PIECE_PART_PGP_ENCRYPTED, "part-pgp-encrypted", "", \
	    "{parts} of parts-removed/nothing-left: a line for pgp-encrypted") \
	PIECE(PIECE_PART_VCARD, "part-vcard", "", \
	    "{parts} of parts-removed/nothing-left: a line for vcard") \
	PIECE(PIECE_PART_TNEF, "part-tnef", "", \
	    "{parts} of parts-removed/nothing-left: a line for tnef") \
	PIECE(PIECE_PART_PGP_FILE_ASC, "part-pgp-file-asc", "", \
	    "{parts} of parts-removed/nothing-left: a line for pgp-file-asc") \
	PIECE(PIECE_PART_PGP_FILE, "part-pgp-file", "", \
	    "{parts} of parts-removed/nothing-left: a line for pgp-file") \
	PIECE(PIECE_PART_SIGNATURE_FILE, "part-signature-file", "", \
	    "{parts} of parts-removed/nothing-left: a line for signature-file") \
	PIECE(PIECE_PART_SMIME_PART, "part-smime-part", "", \
	    "{parts} of parts-removed/nothing-left: a line for smime-part") \
	PIECE(PIECE_PART_SMIME_CERTIFICATE, "part-smime-certificate", "", \
	    "{parts} of parts-removed/nothing-left: a line for smime-certificate") \
	PIECE(PIECE_PART_KEY_FILE, "part-key-file", "", \
	    "{parts} of parts-removed/nothing-left: a line for key-file") \
	PIECE(PIECE_PART_INLINE_SIGNATURE, "part-inline-signature", "", \
	    "{parts} of parts-removed/nothing-left: a line for inline-signature") \
	PIECE(PIECE_PART_PASTED_KEY, "part-pasted-key", "", \
	    "{parts} of parts-removed/nothing-left: a line for pasted-key") \
	PIECE(PIECE_PART_OWN_SIGNATURE, "part-own-signature", "", \
	    "{parts} of parts-removed/nothing-left: a line for own-signature") \
	PIECE(PIECE_PART_ENCRYPTED, "part-encrypted", "", \
	    "{parts} of parts-removed/nothing-left: a line for encrypted") \
	PIECE(PIECE_PART_FORWARDED_UNREADABLE, "part-forwarded-unreadable", "", \
	    "{parts} of parts-removed/nothing-left: a line for forwarded-unreadable") \
	PIECE(PIECE_PART_FRAGMENT, "part-fragment", "", \
	    "{parts} of parts-removed/nothing-left: a line for fragment") \
	PIECE(PIECE_PART_IMAGE_UNCHECKED, "part-image-unchecked", "", \
	    "{parts} of parts-removed/nothing-left: a line for image-unchecked") \
	PIECE(PIECE_PART_IMAGE_DETAILS, "part-image-details", "name", \
	    "{parts} of parts-removed/nothing-left: a line for image-details") \
	PIECE(PIECE_PART_IMAGE_DETAILS_UNNAMED, "part-image-details-unnamed", "", \
	    "{parts} of parts-removed/nothing-left: a line for image-details-unnamed") \
	PIECE(PIECE_PART_EVERY_PART, "part-every-part", "", \
	    "{parts} of parts-removed/nothing-left: a line for every-part") \
	PIECE(PIECE_KEYS_ACTIVE, "keys-active", "", \
	    "keys: after the DKIM key that signs new posts") \
	PIECE(PIECE_KEYS_OLDER, "keys-older", "", \
	    "keys: after a DKIM key of older posts") \
	PIECE(PIECE_X25519_RETIRED, "sealed-key-retired", "", \
	    "key x25519:KEY: the sealed format is retired, OpenPGP instead") \
	PIECE(PIECE_PGP_DONE_CANCELLED, "pgp-done-cancelled", "", \
	    "done: a waiting replacing OpenPGP key cancelled") \
	PIECE(PIECE_PGP_DONE_NONE_WAITED, "pgp-done-none-waited", "", \
	    "done: a cancel, when no replacing key waited") \
	PIECE(PIECE_PGP_DONE_REPLACED, "pgp-done-replaced", "fingerprint", \
	    "done, to the old key: the new key took effect") \
	PIECE(PIECE_STEP_WARNING, "step-warning", "", \
	    "{step} of discipline-confirm: a private warning") \
	PIECE(PIECE_STEP_PUBLIC, "step-public", "", \
	    "{step}: a public warning") \
	PIECE(PIECE_STEP_SUSPEND, "step-suspend", "days", \
	    "{step}: a suspension (days: leadership.discipline_steps)") \
	PIECE(PIECE_NO_REASON_STEP, "no-reason-step", "", \
	    "{reason} of a discipline step's notices when the moderator gave none") \
	PIECE(PIECE_UNNAMED_SENDER, "unnamed-sender", "", \
	    "the display name of a post without a From, which the list gives its own address") \
	PIECE(PIECE_FROM_LIST, "from-list", "", \
	    "the display name of the list's own mail: notices, answers, the keys answer") \
	PIECE(PIECE_FROM_DIGEST, "from-digest", "", \
	    "the display name of a digest") \
	PIECE(PIECE_FROM_MODERATORS, "from-moderators", "", \
	    "the display name of the moderators' answers and announcements") \
	PIECE(PIECE_FROM_MODERATORS_NAMED, "from-moderators-named", "name", \
	    "the same, where leadership.visibility names the moderator") \
	PIECE(PIECE_FROM_AUTHOR, "from-author", "name", \
	    "the display name of a post in its author's name: a pseudonym's (also its OpenPGP key's UID), an anonymous author's, a member's on a real-identity list whose From the list rewrites") \
	PIECE(PIECE_ANONYMOUS_NAME, "anonymous-name", "code", \
	    "{name} of from-author for an anonymous post (code: six hex digits, new each post)") \
	PIECE(PIECE_MEMBER_NAME, "member-name", "", \
	    "{name} of from-author on a real-identity list whose From the list rewrites, when the post gives neither a name nor an address") \
	PIECE(PIECE_SENDER_UNVERIFIED, "sender-unverified", "", \
	    "X-Mlist-Sender of mail to LIST-owner@ whose From the list could not verify") \
	PIECE(PIECE_MIME_PREAMBLE, "mime-preamble", "", \
	    "the line before the first part of a post the list wraps with its footer") \
	PIECE(PIECE_FOOTER_DESCRIPTION, "footer-description", "", \
	    "Content-Description of the part the list adds for its footer") \
	PIECE(PIECE_FORWARD_EMPTIED, "forward-emptied", "", \
	    "the text left of a forwarded message every part of which the list took out") \
	PIECE(PIECE_HELD_MODERATED, "held-moderated", "", \
	    "{reason} of held: the list is moderated") \
	PIECE(PIECE_HELD_PROBATION, "held-probation", "", \
	    "{reason} of held: a new member's post (probation_posts)") \
	PIECE(PIECE_HELD_LEAK, "held-leak", "", \
	    "{reason} of held: it would identify its author") \
	PIECE(PIECE_HELD_DOCUMENT, "held-document", "", \
	    "{reason} of held: an attached document names its author") \
	PIECE(PIECE_HELD_UNCONFIRMED, "held-unconfirmed", "", \
	    "{reason} of held: a post in a member's name, not confirmed") \
	PIECE(PIECE_HELD_UNCONFIRMED_QUIET, "held-unconfirmed-quiet", "", \
	    "{reason} of held: the same, after the day's notice to the moderators")

/* TEXT_NONE - a row of the other kind, left out */
#define TEXT_NONE(...)
/* NOTICE_TABLE, PIECE_TABLE - the rows of one kind, each to X */
#define NOTICE_TABLE(X) TEXT_TABLE(X, TEXT_NONE)
#define PIECE_TABLE(X) TEXT_TABLE(TEXT_NONE, X)

/* TABLE_ENUM - a table row's enum, for the three tables here */
#define TABLE_ENUM(e, ...) e,
enum notice_id { NOTICE_TABLE(TABLE_ENUM) NOTICE_N };
enum piece_id { PIECE_TABLE(TABLE_ENUM) PIECE_N };

/*
 * one row per reason the list gives a member inside a notice ({why}): the
 * code C passes (stable: the log's reason= and the audit log keep it) and
 * the piece that gives the words. tests/unit/test_notices.c fails when a
 * code has no piece in the shipped templates.
 */
#define REASON_TABLE(X) \
	X(REASON_SIG_UNSIGNED, "sig-unsigned", PIECE_WHY_SIG_UNSIGNED) \
	X(REASON_SIG_NONE, "sig-none", PIECE_WHY_SIG_NONE) \
	X(REASON_SIG_MALFORMED, "sig-malformed", PIECE_WHY_SIG_MALFORMED) \
	X(REASON_SIG_ENCODING, "sig-encoding", PIECE_WHY_SIG_ENCODING) \
	X(REASON_SIG_OTHER_LIST, "sig-other-list", PIECE_WHY_SIG_OTHER_LIST) \
	X(REASON_SIG_BODY_CHANGED, "sig-body-changed", PIECE_WHY_SIG_BODY_CHANGED) \
	X(REASON_SIG_HEADERS_CHANGED, "sig-headers-changed", PIECE_WHY_SIG_HEADERS_CHANGED) \
	X(REASON_SIG_UNKNOWN_KEY, "sig-unknown-key", PIECE_WHY_SIG_UNKNOWN_KEY) \
	X(REASON_SIG_ERROR, "sig-error", PIECE_WHY_SIG_ERROR) \
	X(REASON_PSEUDONYM_KEY, "pseudonym-key", PIECE_WHY_PSEUDONYM_KEY) \
	X(REASON_PGP_UNREADABLE, "pgp-unreadable", PIECE_WHY_PGP_UNREADABLE) \
	X(REASON_PGP_SECRET, "pgp-secret", PIECE_WHY_PGP_SECRET) \
	X(REASON_PGP_VERSION, "pgp-version", PIECE_WHY_PGP_VERSION) \
	X(REASON_PGP_WEAK, "pgp-weak", PIECE_WHY_PGP_WEAK) \
	X(REASON_PGP_NO_SUBKEY, "pgp-no-subkey", PIECE_WHY_PGP_NO_SUBKEY) \
	X(REASON_PGP_REVOKED, "pgp-revoked", PIECE_WHY_PGP_REVOKED) \
	X(REASON_PGP_EXPIRED, "pgp-expired", PIECE_WHY_PGP_EXPIRED) \
	X(REASON_PGP_NO_SELF_SIG, "pgp-no-self-sig", PIECE_WHY_PGP_NO_SELF_SIG) \
	X(REASON_PGP_NO_UID, "pgp-no-uid", PIECE_WHY_PGP_NO_UID) \
	X(REASON_PGP_NOT_ONE, "pgp-not-one", PIECE_WHY_PGP_NOT_ONE) \
	X(REASON_PGP_TOO_BIG, "pgp-too-big", PIECE_WHY_PGP_TOO_BIG) \
	X(REASON_PGP_UNOPENED, "pgp-unopened", PIECE_WHY_PGP_UNOPENED) \
	X(REASON_PGP_ERROR, "pgp-error", PIECE_WHY_PGP_ERROR) \
	X(REASON_MIME_BROKEN, "mime-broken", PIECE_WHY_MIME_BROKEN) \
	X(REASON_BOUNDARY_QUOTE, "boundary-quote", PIECE_WHY_BOUNDARY_QUOTE) \
	X(REASON_BOUNDARY_LENGTH, "boundary-length", PIECE_WHY_BOUNDARY_LENGTH) \
	X(REASON_BOUNDARY_CHAR, "boundary-char", PIECE_WHY_BOUNDARY_CHAR) \
	X(REASON_BOUNDARY_SPACE, "boundary-space", PIECE_WHY_BOUNDARY_SPACE) \
	X(REASON_TOO_MANY_PARTS, "too-many-parts", PIECE_WHY_TOO_MANY_PARTS) \
	X(REASON_MIME_SEPARATORS, "mime-separators", PIECE_WHY_MIME_SEPARATORS) \
	X(REASON_TOO_MANY_FIELDS, "too-many-fields", PIECE_WHY_TOO_MANY_FIELDS) \
	X(REASON_NO_FROM, "no-from", PIECE_WHY_NO_FROM) \
	X(REASON_PARSER_TIMEOUT, "parser-timeout", PIECE_WHY_PARSER_TIMEOUT) \
	X(REASON_PARSER_CRASHED, "parser-crashed", PIECE_WHY_PARSER_CRASHED) \
	X(REASON_PARSER_FORBIDDEN, "parser-forbidden", PIECE_WHY_PARSER_FORBIDDEN) \
	X(REASON_PARSER_FAILED, "parser-failed", PIECE_WHY_PARSER_FAILED) \
	X(REASON_PARSER_BAD_REPLY, "parser-bad-reply", PIECE_WHY_PARSER_BAD_REPLY) \
	X(REASON_UNREADABLE, "unreadable", PIECE_WHY_UNREADABLE) \
	X(REASON_PGP_FOREIGN_FROM, "pgp-foreign-from", PIECE_WHY_PGP_FOREIGN_FROM) \
	X(REASON_PGP_NO_MESSAGE, "pgp-no-message", PIECE_WHY_PGP_NO_MESSAGE) \
	X(REASON_PGP_REPLAYED, "pgp-replayed", PIECE_WHY_PGP_REPLAYED) \
	X(REASON_PGP_NO_INTEGRITY, "pgp-no-integrity", PIECE_WHY_PGP_NO_INTEGRITY)

enum reason_id { REASON_TABLE(TABLE_ENUM) REASON_N };
#undef TABLE_ENUM

struct notice_text {
	char	*subject;
	char	*body;		/* in subject's block, freed with it */
};

/* the texts of one directory; an absent text (per-list sets) falls back to the instance's */
struct notices {
	struct notice_text	 t[NOTICE_N];
	char			*piece[PIECE_N];
};

/* the placeholders every notice may use, filled by the caller */
struct notice_ctx {
	const char	*list;		/* LIST */
	const char	*host;		/* hostname */
};

int	notices_load(const char *dir, int required, struct notices **, struct buf *errors);
void	notices_free(struct notices *);
const char *notice_name(enum notice_id);
const char *piece_name(enum piece_id);
int	notice_render(const struct notices *list, const struct notices *inst, enum notice_id,
	    const struct notice_ctx *, const char *const *vars, struct buf *subject, struct buf *body);
int	notice_subject(const char *subject, struct buf *header_value);
int	notice_piece(const struct notices *list, const struct notices *inst, enum piece_id,
	    const struct notice_ctx *, const char *const *vars, struct buf *out);
int	notice_piece_id(const char *name);
const char *notice_piece_text(const struct notices *list,
	    const struct notices *inst, enum piece_id);
int	notice_piece_line(const struct notices *list,
	    const struct notices *inst, enum piece_id, const struct notice_ctx *,
	    const char *const *vars, char *out, size_t n);
int	notice_display(const struct notices *list,
	    const struct notices *inst, enum piece_id,
	    const struct notice_ctx *, const char *const *vars,
	    const char *fallback, int quote, struct buf *out);
int	notice_from(const struct notices *list, const struct notices *inst,
	    enum piece_id, const struct notice_ctx *, const char *const *vars,
	    const char *local, struct buf *out);
const char *reason_code(enum reason_id);
void	notice_reason(const struct notices *list, const struct notices *inst,
	    const struct notice_ctx *, enum reason_id, const char *const *vars,
	    char *out, size_t n);
enum piece_id reason_piece(enum reason_id);

#endif
