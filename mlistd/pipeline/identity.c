/*
 * identity.c - the identity stage: who a post appears to come from on a
 * pseudonymous or anonymous list, and the copy that says nothing more.
 *
 * The parsing worker hands over the parts (body written anew, subject,
 * the ids the post refers to, decoded text); here, with the store, the
 * copy is put together from an allow-list - nothing the author's client
 * wrote reaches it except the subject and the rewritten body:
 *
 *   From: "PSEUDONYM via LIST" <LIST+p-HANDLE@hostname>, the pseudonym's
 *   own address (its OpenPGP key's UID), Reply-To: <LIST@hostname>; an
 *   anonymous post: "Anonymous 3F9A2C via LIST" <LIST@hostname> (the
 *   words are the pieces [from-author] and [anonymous-name])
 *   To, Subject, Date (the release time, UTC: render.c), Message-ID (random, at
 *   hostname), In-Reply-To and References mapped to the list's own ids
 *   (ids the list does not know are dropped: they would name the domains
 *   of private correspondence), Mlist-Private-Reply, List-* headers.
 *
 * Then the leak guard looks for the author's address, local part, domain
 * and real name - and for the address and name that From claims, in either
 * form ("Name <addr>", "addr (Name)", RFC 2047) - in the copy and in the
 * decoded text of every part.
 *
 * The rule for what counts as a name (README, "leak guard"): a needle is
 * matched as a whole word, case-insensitively (not inside a longer word);
 * a one-word needle (a local part, a one-word display name, a surname) is
 * used only if it has at least 5 characters and is not one of the common
 * words below, which people use every day and which mailbox names often
 * are ("hello from wolf" by wolf@... and "User <user@...>" were held).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pipeline/disclosure.h"
#include "pipeline/fromname.h"
#include "pipeline/identity.h"
#include "pipeline/render.h"
#include "pipeline/passrand.h"
#include "mail/msgid.h"
#include "mail/notices.h"
#include "mail/pseudonym.h"
#include "util/log.h"

/* identity_mode - the mode a post by poster goes out in */
int
identity_mode(struct pipeline *p, const struct list_cfg *l, const char *poster, int member)
{
	struct member m;
	int mode = l->identity;

	if (!member) {
		/* a non-member on an open list never gets a pseudonym of their own */
		return l->identity == ID_REAL ? ID_REAL : ID_ANONYMOUS;
	}
	if (store_member_find(p->st, l->name, poster, &m) == STORE_OK) {
		if (m.identity >= 0 && config_identity_allowed(l, m.identity))
			mode = m.identity;
		member_free(&m);
	}
	return mode;
}

/* identity_pseudonym - the member's pseudonym on l (made up the first time); -1 on store errors */
int
identity_pseudonym(struct store *st, const struct list_cfg *l, const char *addr, char *name, size_t n,
    char *handle, size_t hn)
{
	char sk[SKELETON_MAX], why[160], h[24];
	struct member m;
	int rc = -1;

	if (store_member_find(st, l->name, addr, &m) != STORE_OK)
		return -1;
	if (m.pseudonym && *m.handle) {
		snprintf(name, n, "%s", m.pseudonym);
		snprintf(handle, hn, "%s", m.handle);
		member_free(&m);
		return 0;
	}
	member_free(&m);
	for (int tries = 0; tries < 50 && rc < 0; tries++) {
		pseudonym_generate(name, n);
		handle_generate(h, sizeof(h));
		/* no cfg here: the list's own pieces, if it has any */
		if (pseudonym_check_on(name, NULL, l, sk, sizeof(sk), why,
		    sizeof(why)) < 0)
			continue;
		/* nor a name given up lately (act_set_pseudonym's rule) */
		switch (store_pseudonym_given_up(st, l->name, sk, (long long)
		    time(NULL) - (long long)l->name_reserve_days * 86400)) {
		case STORE_NOTFOUND:
			break;
		case STORE_EXISTS:
			if (l->name_reserve_days > 0)
				continue;
			break;
		default:
			return -1;
		}
		switch (store_member_set_pseudonym(st, l->name, addr, name, sk, h)) {
		case STORE_OK:
			rc = 0;
			break;
		case STORE_EXISTS:
			break;
		default:
			return -1;
		}
	}
	if (rc == 0 && store_member_find(st, l->name, addr, &m) == STORE_OK) {
		snprintf(handle, hn, "%s", m.handle);
		member_free(&m);
	}
	return rc;
}

/* display_from - From: with the display name quoted, or RFC 2047-encoded if not ASCII */
static void
display_from(struct buf *b, const char *display, const char *local, const char *host)
{
	char enc[600];
	int ascii = 1;

	for (const char *c = display; *c; c++)
		ascii &= (unsigned char)*c < 128 && *c != '"' && *c != '\\';
	if (ascii) {
		buf_printf(b, "From: \"%s\" <%s@%s>\r\n", display, local, host);
		return;
	}
	sodium_bin2base64(enc, sizeof(enc), (const unsigned char *)display, strlen(display) < 400 ?
	    strlen(display) : 400, sodium_base64_VARIANT_ORIGINAL);
	buf_printf(b, "From: =?utf-8?B?%s?= <%s@%s>\r\n", enc, local, host);
}

/*
 * role_display - the moderators' display name, [from-moderators] or, when
 * visibility names the moderator, [from-moderators-named]: the list's
 * words (display_from encodes them if they are not ASCII)
 */
static void
role_display(struct pipeline *p, const struct list_cfg *l, const char *label,
    char *out, size_t n)
{
	const char *vars[] = { "name", label, NULL };

	if (notice_piece_line(l->notices, p->cfg->notices, *label ?
	    PIECE_FROM_MODERATORS_NAMED : PIECE_FROM_MODERATORS,
	    &(struct notice_ctx){ l->name, p->cfg->hostname }, vars, out,
	    n) < 0 || !*out)
		snprintf(out, n, "%s moderators", l->name);
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
}

/* map_refs - the ids in `ids` (space-separated) that the list knows, as its own ids */
static void
map_refs(struct pipeline *p, const struct list_cfg *l, const char *ids, size_t n, struct buf *out, int max)
{
	char id[260], mapped[260];
	size_t i = 0, k;
	int count = 0;

	while (i < n && count < max) {
		while (i < n && ids[i] == ' ')
			i++;
		for (k = 0; i < n && ids[i] != ' ' && k + 1 < sizeof(id); i++)
			id[k++] = ids[i];
		id[k] = 0;
		if (k && store_msgid_map(p->st, l->name, id, mapped, sizeof(mapped)) == STORE_OK &&
		    !strstr(buf_cstr(out), mapped)) {
			buf_printf(out, "%s%s", out->len ? " " : "", mapped);
			count++;
		}
	}
}

/*
 * map_chain - map_refs of a References chain: of the ids the list knows,
 * the first and the most recent (msgid_chain_kept), as every stage keeps
 * a long chain; the parts hold at most MSGID_CHAIN ids to look up
 */
static void
map_chain(struct pipeline *p, const struct list_cfg *l, const char *ids,
    size_t n, struct buf *out)
{
	const char *c, *sp;
	struct buf all;
	size_t len;
	int k = 1;

	buf_init(&all, 0);
	map_refs(p, l, ids, n, &all, 2 * MSGID_CHAIN);
	for (c = buf_cstr(&all); (c = strchr(c, ' ')) != NULL; c++)
		k++;
	c = buf_cstr(&all);
	for (int i = 0; all.len && *c; i++) {
		sp = strchr(c, ' ');
		len = sp ? (size_t)(sp - c) : strlen(c);
		if (msgid_chain_kept(i, k))
			buf_printf(out, "%s%.*s", out->len ? " " : "",
			    (int)len, c);
		c += len + (sp != NULL);
	}
	buf_free(&all);
}

/* who_for - display name and handle for this post */
static int
who_for(struct pipeline *p, const struct list_cfg *l, const char *poster, int mode, int member, int private,
    struct ident *id)
{
	long long keep = private ? 30 * 86400LL : l->authorship_days * 86400LL;

	unsigned char r[3];
	char hex[7];

	memset(id, 0, sizeof(*id));
	id->mode = mode;
	if (mode == ID_PSEUDONYM && member)
		return identity_pseudonym(p->st, l, poster, id->display, sizeof(id->display), id->handle,
		    sizeof(id->handle));
	/* anonymous: a fresh handle, linked to the author only while the list keeps authorship */
	passrand_buf("anonymous", r, sizeof(r));	/* the same in each pass */
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	for (char *c = hex; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	fromname_anonymous(p->cfg, l, hex, id->display, sizeof(id->display));
	/* a private message's sender can be answered for 30 days, whatever the list keeps of posts */
	if (keep > 0 && (member || private) && l->private_replies != PRIV_OFF) {
		handle_generate(id->handle, sizeof(id->handle));
		if (store_anon_add(p->st, l->name, id->handle, poster, p->now + keep) != STORE_OK)
			return -1;
	}
	return 0;
}

/*
 * to_fields - To and Reply-To of a copy: a private message goes to the
 * handle it answers, the moderators' copy to LIST-owner@ with the way
 * back in Reply-To; "Reply" to a pseudonym's post goes to the list,
 * "reply to sender" reaches the pseudonym
 */
static void
to_fields(const struct pipeline *p, const struct list_cfg *l, int mode,
    const char *private_to, const struct ident *id, struct render_head *h,
    char *to, char *reply, size_t n)
{
	const char *host = p->cfg->hostname;

	h->to = to;
	if (private_to && *private_to == IDENTITY_TO_ROLES) {
		snprintf(to, n, "%s-owner@%s", l->name, host);
		snprintf(reply, n, "%s-owner+%s@%s", l->name, private_to + 1,
		    host);
		h->reply_to = reply;
	} else if (private_to && mode == ID_ROLE)
		snprintf(to, n, "%s-owner+%s@%s", l->name, private_to, host);
	else if (private_to)
		snprintf(to, n, "%s+p-%s@%s", l->name, private_to, host);
	else
		snprintf(to, n, "%s@%s", l->name, host);
	if (!private_to && mode == ID_PSEUDONYM && *id->handle) {
		snprintf(reply, n, "%s@%s", l->name, host);
		h->reply_to = reply;
	}
}

/*
 * own_fields - what differs on purpose after the ids: the private-reply
 * address of a handle, and the header block - a post's List-* set for a
 * post, only List-Id and X-Loop for a private message or the moderators'
 * copy (no List-Unsubscribe nor List-Post: it is not list traffic)
 */
static int
own_fields(const struct pipeline *p, const struct list_cfg *l,
    const char *private_to, const struct ident *id, struct render_head *h,
    struct buf *b)
{
	const char *host = p->cfg->hostname;
	int roles = private_to && *private_to == IDENTITY_TO_ROLES, rc = 0;

	if (*id->handle && l->private_replies != PRIV_OFF && !roles)
		rc |= buf_printf(b, "Mlist-Private-Reply: <mailto:%s+p-%s@%s>"
		    "\r\n", l->name, id->handle, host) < 0;
	if (private_to)
		rc |= buf_printf(b, "List-Id: <%s.%s>\r\nX-Loop: %s%s@%s\r\n",
		    l->name, host, l->name, roles ? "-owner" : "", host) < 0;
	else {
		h->cfg = p->cfg;
		h->list = l;
	}
	return rc ? -1 : 0;
}

/*
 * identity_compose - the copy of a post on a non-real list into out; the
 * Message-ID it got into msgid. Records the id mapping (threads).
 */
int
identity_compose(struct pipeline *p, const struct list_cfg *l, const char *poster, int mode, int member,
    long long received, const char *private_to, const struct transform_out *t, struct buf *out,
    struct ident *id)
{
	const char *refs = (const char *)t->part[TP_REFS].data, *nl;
	size_t rlen = t->part[TP_REFS].len;
	unsigned char r[16];
	char hex[33], to[400], reply[400];
	struct render_head h = { .field = t->part[TP_SUBJECT].data,
	    .field_len = t->part[TP_SUBJECT].len, .date = received };
	struct buf irt, all, between;
	int rc;

	if (mode == ID_ROLE) {
		/* the moderators answer as a role: no person, no handle, no author key (visibility may name one) */
		char label[100];

		memset(id, 0, sizeof(*id));
		id->mode = ID_ROLE;
		identity_leader(p, l, poster, label, sizeof(label));
		role_display(p, l, label, id->display, sizeof(id->display));
	} else if (who_for(p, l, poster, mode, member, private_to != NULL, id) < 0)
		return -1;
	passrand_buf("message-id", r, sizeof(r));	/* the same in each pass */
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(id->msgid, sizeof(id->msgid), "<%s@%s>", hex, p->cfg->hostname);
	id->date = received;
	h.msgid = id->msgid;
	{
		char disp[400];

		char local[120];

		if (mode == ID_ROLE)
			snprintf(disp, sizeof(disp), "%s", id->display);
		else
			fromname_author(p->cfg, l, id->display, disp,
			    sizeof(disp));
		/* a private message comes from the sender's own private address: answering it stays private */
		if (mode == ID_ROLE)
			snprintf(local, sizeof(local), "%s-owner", l->name);
		else if (private_to && *private_to == IDENTITY_TO_ROLES)
			snprintf(local, sizeof(local), "%s-owner+%s", l->name, private_to + 1);
		else if (*id->handle && (private_to || mode == ID_PSEUDONYM))
			/* the pseudonym's own address: its key's UID (#18) */
			snprintf(local, sizeof(local), "%s+p-%s", l->name, id->handle);
		else
			snprintf(local, sizeof(local), "%s", l->name);
		display_from(out, disp, local, p->cfg->hostname);
	}
	to_fields(p, l, mode, private_to, id, &h, to, reply, sizeof(reply));
	buf_init(&irt, 0);
	buf_init(&all, 0);
	buf_init(&between, 0);
	nl = rlen ? memchr(refs, '\n', rlen) : NULL;
	if (nl) {
		map_refs(p, l, refs, (size_t)(nl - refs), &irt, 1);
		map_chain(p, l, nl + 1, rlen - (size_t)(nl + 1 - refs), &all);
	}
	if (irt.len && !strstr(buf_cstr(&all), buf_cstr(&irt)))
		buf_printf(&all, "%s%s", all.len ? " " : "", buf_cstr(&irt));
	if (irt.len)
		buf_printf(&between, "In-Reply-To: %s\r\n", buf_cstr(&irt));
	/* folded: a long chain is longer than a line may be */
	rc = all.len ? msgid_fold(all.data, all.len, &between) : 0;
	if (rc == 0)
		rc = own_fields(p, l, private_to, id, &h, &between);
	h.between = buf_cstr(&between);
	if (rc == 0)
		rc = render_head(out, &h);
	buf_free(&irt);
	buf_free(&all);
	buf_free(&between);
	if (rc < 0)
		return -1;	/* out of memory */
	buf_append(out, t->part[TP_BODY].data, t->part[TP_BODY].len);
	/* the ids the author's client knows this post by, and the list's own, both lead here */
	if (t->part[TP_MSGID].len) {
		char orig[260];

		snprintf(orig, sizeof(orig), "%.*s", (int)t->part[TP_MSGID].len, (const char *)t->part[TP_MSGID].data);
		if (store_msgid_put(p->st, l->name, orig, id->msgid, p->now) != STORE_OK)
			return -1;
	}
	return store_msgid_put(p->st, l->name, id->msgid, id->msgid, p->now) == STORE_OK ? 0 : -1;
}

#define NEEDLE_MIN_WORD	5	/* one-word needles shorter than this are too common */

/* words never treated as a name, however they are used in an address */
static const char *const common_words[] = {
	"admin", "about", "account", "contact", "email", "example", "hello", "help", "info",
	"inbox", "list", "lists", "mail", "mailer", "member", "news", "newsletter", "noreply",
	"no-reply", "office", "people", "postmaster", "private", "public", "reply", "root",
	"sales", "search", "service", "staff", "support", "system", "team", "test", "there",
	"thanks", "today", "update", "user", "users", "webmaster", "welcome", "where", "world",
	NULL
};

/* word_byte - part of a word for whole-word matching (UTF-8 bytes count as letters) */
static int
word_byte(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || c == '_';
}

/* match_at - needle (k bytes) at hay[i], any case, not inside a word */
static int
match_at(const unsigned char *hay, size_t n, size_t i, const char *needle,
    size_t k)
{
	const unsigned char *nd = (const unsigned char *)needle;

	if (strncasecmp((const char *)hay + i, needle, k) != 0)
		return 0;
	if (i > 0 && word_byte(nd[0]) && word_byte(hay[i - 1]))
		return 0;
	if (i + k < n && word_byte(nd[k - 1]) && word_byte(hay[i + k]))
		return 0;
	return 1;
}

/* letters_in - contains for a needle without a caseless byte */
static int
letters_in(const unsigned char *hay, size_t n, const char *needle, size_t k)
{
	unsigned char lo = (unsigned char)tolower((unsigned char)needle[0]);
	unsigned char up = (unsigned char)toupper((unsigned char)needle[0]);

	for (size_t i = 0; i + k <= n; i++)
		if ((hay[i] == lo || hay[i] == up) &&
		    match_at(hay, n, i, needle, k))
			return 1;
	return 0;
}

/*
 * contains - case-insensitive whole-word search of needle in [hay, hay+n):
 * O(n * k) at worst. The leak guard scans a big copy for a dozen needles
 * in the queue manager's loop (#15): a needle's first byte without case
 * (an address's '@' or '.', a name's space) is looked for with memchr and
 * the rest compared only there; a needle of letters alone is compared
 * where its first letter is, in either case.
 */
static int
contains(const unsigned char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle), j, last;
	const unsigned char *q;

	if (k == 0 || k > n)
		return 0;
	for (j = 0; j < k && isalpha((unsigned char)needle[j]); j++)
		;
	if (j == k)
		return letters_in(hay, n, needle, k);
	last = n - k + j;	/* the caseless byte's last place */
	for (q = hay + j; q <= hay + last; q++) {
		q = memchr(q, (unsigned char)needle[j],
		    (size_t)(hay + last - q) + 1);
		if (q == NULL)
			return 0;
		if (match_at(hay, n, (size_t)(q - hay) - j, needle, k))
			return 1;
	}
	return 0;
}

/* too_common - a one-word needle that would hold ordinary posts */
static int
too_common(const char *s, size_t len)
{
	if (memchr(s, ' ', len) || memchr(s, '@', len) || memchr(s, '.', len))
		return 0;
	if (len < NEEDLE_MIN_WORD)
		return 1;
	for (int i = 0; common_words[i]; i++)
		if (strlen(common_words[i]) == len && strncasecmp(common_words[i], s, len) == 0)
			return 1;
	return 0;
}

#define NEEDLES_MAX	12

/* add_needle - one thing to look for, if it is specific enough to mean the author */
static void
add_needle(char needles[][200], const char **what, int *n, const char *s, size_t len, const char *kind)
{
	if (*n >= NEEDLES_MAX || len < 3 || len >= 200 || too_common(s, len))
		return;
	for (int i = 0; i < *n; i++)
		if (strlen(needles[i]) == len && strncasecmp(needles[i], s, len) == 0)
			return;
	memcpy(needles[*n], s, len);
	needles[*n][len] = 0;
	what[(*n)++] = kind;
}

/* the words for what gives an author away: pieces, as the list words them */
enum { LEAK_ADDRESS, LEAK_LOCAL, LEAK_DOMAIN, LEAK_NAME, LEAK_FROM_NAME,
    LEAK_N };

/* leak_words - each LEAK_* in the list's words ([leak-*] pieces) */
static void
leak_words(struct pipeline *p, const struct list_cfg *l, char w[][120])
{
	static const enum piece_id id[LEAK_N] = { PIECE_LEAK_ADDRESS,
	    PIECE_LEAK_LOCAL_PART, PIECE_LEAK_DOMAIN, PIECE_LEAK_NAME,
	    PIECE_LEAK_FROM_NAME };
	struct notice_ctx ctx = { l->name, p->cfg->hostname };

	for (int i = 0; i < LEAK_N; i++)
		if (notice_piece_line(l->notices, p->cfg->notices, id[i], &ctx,
		    NULL, w[i], sizeof(w[i])) < 0)
			snprintf(w[i], sizeof(w[i]), "%s", piece_name(id[i]));
}

/* addr_needles - address, local part and domain */
static void
addr_needles(char needles[][200], const char **what, int *n, const char *addr,
    const char *host, char w[][120])
{
	const char *at = strrchr(addr, '@');

	if (!addr || !*addr || !at)
		return;
	add_needle(needles, what, n, addr, strlen(addr), w[LEAK_ADDRESS]);
	add_needle(needles, what, n, addr, (size_t)(at - addr), w[LEAK_LOCAL]);
	if (strcasecmp(at + 1, host) != 0)
		add_needle(needles, what, n, at + 1, strlen(at + 1),
		    w[LEAK_DOMAIN]);
}

/*
 * identity_leaks - does the copy or any decoded part name its author? Fills
 * `found` with what, for the author's eyes only. Returns the count.
 */
int
identity_leaks(struct pipeline *p, const struct list_cfg *l, const char *poster, const char *env_sender,
    const struct transform_out *t, const struct buf *copy, const struct ident *id, char *found, size_t n)
{
	char needles[NEEDLES_MAX][200], w[LEAK_N][120];
	const char *what[NEEDLES_MAX];
	struct member m;
	int k = 0, hits = 0;
	size_t off = 0;

	found[0] = 0;
	leak_words(p, l, w);
	addr_needles(needles, what, &k, poster, p->cfg->hostname, w);
	addr_needles(needles, what, &k, env_sender, p->cfg->hostname, w);
	/* what From claims names someone too, member or not */
	addr_needles(needles, what, &k, t->from, p->cfg->hostname, w);
	if (store_member_find(p->st, l->name, poster, &m) == STORE_OK) {
		if (m.name && *m.name) {
			const char *last = strrchr(m.name, ' ');

			add_needle(needles, what, &k, m.name, strlen(m.name),
			    w[LEAK_NAME]);
			if (last && strlen(last + 1) >= 4)
				add_needle(needles, what, &k, last + 1,
				    strlen(last + 1), w[LEAK_NAME]);
		}
		member_free(&m);
	}
	if (t->part[TP_FROMNAME].len && (t->part[TP_FROMNAME].len != strlen(id->display) ||
	    strncasecmp((const char *)t->part[TP_FROMNAME].data, id->display, strlen(id->display))))
		add_needle(needles, what, &k,
		    (const char *)t->part[TP_FROMNAME].data,
		    t->part[TP_FROMNAME].len, w[LEAK_FROM_NAME]);
	for (int i = 0; i < k; i++) {
		/* a pseudonym that happens to contain the word is not a leak */
		if (contains((const unsigned char *)id->display, strlen(id->display), needles[i]))
			continue;
		if (contains(t->part[TP_SCAN].data, t->part[TP_SCAN].len, needles[i]) ||
		    contains(copy->data, copy->len, needles[i])) {
			off += (size_t)snprintf(found + off, off < n ? n - off : 0, "- %s: \"%s\"\n", what[i],
			    needles[i]);
			hits++;
		}
	}
	return hits;
}

/* leader_field - the one field of m that disclosure lets name a moderator */
static const char *
leader_field(const struct list_cfg *l, const struct member *m)
{
	switch (disclosure_leader_person(l, m)) {
	case PERSON_PSEUDONYM:
		return m->pseudonym;
	case PERSON_NAME:
		return m->name;
	case PERSON_ADDRESS:
		return m->addr;
	default:
		return "a moderator";
	}
}

/*
 * identity_leader - how a moderator appears, as leadership.visibility says:
 * "" (hidden: only "the moderators"), a role handle "mod-3f9a" (roles:
 * stable per list, unrelated to member numbers or addresses), or their
 * pseudonym / name / address (named).
 */
void
identity_leader(struct pipeline *p, const struct list_cfg *l, const char *addr, char *out, size_t n)
{
	unsigned char h[2];
	struct member m;
	crypto_generichash_state st;

	*out = 0;
	if (disclosure_leader(l) == LEADER_NOTHING || !addr || !*addr)
		return;
	if (disclosure_leader(l) == LEADER_HANDLE) {
		crypto_generichash_init(&st, p->keys->lookup, KEYS_LEN, sizeof(h));
		crypto_generichash_update(&st, (const unsigned char *)"leader\0", 7);
		crypto_generichash_update(&st, (const unsigned char *)l->name, strlen(l->name) + 1);
		for (const char *c = addr; *c; c++) {
			unsigned char lc = (unsigned char)tolower((unsigned char)*c);

			crypto_generichash_update(&st, &lc, 1);
		}
		crypto_generichash_final(&st, h, sizeof(h));
		snprintf(out, n, "mod-%02x%02x", h[0], h[1]);
		return;
	}
	if (store_member_find(p->st, l->name, addr, &m) == STORE_OK) {
		snprintf(out, n, "%s", leader_field(l, &m));
		member_free(&m);
	}
}

/* identity_leader_actor - the audit log's actor for a moderator: "moderator", or "moderator LABEL" */
void
identity_leader_actor(struct pipeline *p, const struct list_cfg *l, const char *addr, char *out, size_t n)
{
	char label[160];

	identity_leader(p, l, addr, label, sizeof(label));
	snprintf(out, n, "moderator%s%s", *label ? " " : "", label);
}

/*
 * invisible_at - the length of the bidi control or invisible format
 * character (U+061C, U+200B..U+200F, U+202A..U+202E, U+2060..U+2069,
 * U+FEFF, U+00AD) or C0/DEL byte at s, 0 if it is none of them
 */
static size_t
invisible_at(const unsigned char *s)
{
	if (s[0] < 32 || s[0] == 127)
		return 1;
	if (s[0] == 0xc2 && s[1] == 0xad)
		return 2;
	if (s[0] == 0xd8 && s[1] == 0x9c)
		return 2;
	if (s[0] == 0xe2 && s[1] == 0x80 && ((s[2] >= 0x8b && s[2] <= 0x8f) ||
	    (s[2] >= 0xaa && s[2] <= 0xae)))
		return 3;
	if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa0 && s[2] <= 0xa9)
		return 3;
	if (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
		return 3;
	return 0;
}

/* shown_name - name without its bidi controls and invisible characters */
static void
shown_name(const char *name, char *out, size_t n)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t k = 0, skip;

	while (*s && k + 1 < n) {
		if ((skip = invisible_at(s)) > 0) {
			while (skip-- > 0 && *s)
				s++;
			continue;
		}
		out[k++] = (char)*s++;
	}
	/* a multi-byte character cut at the end is not kept */
	while (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0x80)
		k--;
	if (k > 0 && (unsigned char)out[k - 1] >= 0xc0)
		k--;
	out[k] = 0;
}

/* field_end - the end of the header field starting at i (continuations) */
static size_t
field_end(const struct buf *b, size_t i, size_t head)
{
	while (i < head) {
		if (b->data[i] == '\n' && (i + 1 >= head ||
		    (b->data[i + 1] != ' ' && b->data[i + 1] != '\t')))
			return i + 1;
		i++;
	}
	return head;
}

/*
 * identity_munged_from - a real-identity copy's munged From names the
 * poster as the list knows them: their registered name (or their
 * address), never the display name the post claims, which any member
 * could set to another's name; -1 on store errors
 */
int
identity_munged_from(struct pipeline *p, const struct list_cfg *l,
    const char *poster, int member, struct buf *copy)
{
	struct member m;
	struct buf out;
	char name[300], disp[400];
	const char *head;
	size_t hlen, i, e;
	int rc = STORE_NOTFOUND;

	*name = 0;
	if (member && (rc = store_member_find(p->st, l->name, poster, &m)) ==
	    STORE_OK) {
		shown_name(m.name ? m.name : "", name, sizeof(name));
		member_free(&m);
	} else if (rc == STORE_ERR)
		return -1;
	if (!*name && poster && *poster)
		shown_name(poster, name, sizeof(name));
	else if (!*name) {
		/* nobody named: the list's words for a member ([member-name]) */
		(void)notice_piece_line(l->notices, p->cfg->notices,
		    PIECE_MEMBER_NAME, &(struct notice_ctx){ l->name,
		    p->cfg->hostname }, NULL, disp, sizeof(disp));
		shown_name(disp, name, sizeof(name));
	}
	fromname_author(p->cfg, l, name, disp, sizeof(disp));
	head = copy->data ? memmem(copy->data, copy->len, "\r\n\r\n", 4) :
	    NULL;
	hlen = head ? (size_t)(head - (const char *)copy->data) + 2 : 0;
	for (i = 0; i < hlen; i = field_end(copy, i, hlen))
		if (strncasecmp((const char *)copy->data + i, "From:", 5) == 0)
			break;
	if (i >= hlen)
		return 0;
	e = field_end(copy, i, hlen);
	buf_init(&out, 0);
	if (buf_append(&out, copy->data, i) < 0)
		rc = -1;
	else {
		display_from(&out, disp, l->name, p->cfg->hostname);
		rc = buf_append(&out, copy->data + e, copy->len - e);
	}
	if (rc < 0) {
		buf_free(&out);
		return -1;
	}
	buf_free(copy);
	*copy = out;
	return 0;
}
