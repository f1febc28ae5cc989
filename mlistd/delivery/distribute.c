/*
 * distribute.c - the one writer of delivery rows: who gets which bytes.
 *
 * Every path that sends a copy (posts, approvals, digests, notices,
 * archive answers, moderation copies) comes here. For each recipient the
 * class of copy is decided once, by distribute_class, from the list's
 * settings and the member's facts, and recorded on the delivery row;
 * deliver only executes the class it finds. Member rows are made in one
 * statement per copy: distribute_table turns the decision into one class
 * per combination of facts, which the store applies.
 *
 * The copy is written once, encrypted, to queue/out. The envelope sender
 * is LIST-bounces@hostname for grouped delivery, LIST-bounces+TOKEN@hostname
 * for per-recipient VERP (TOKEN is random: it names a delivery row, never
 * an address), and <> for notices (RFC 3834: nobody answers an
 * auto-reply). Everything here runs inside the caller's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery/distribute.h"
#include "delivery/pgpcopy.h"
#include "mail/addr.h"
#include "mail/msgid.h"
#include "pipeline/pgpsign.h"
#include "pipeline/sign.h"
#include "pipeline/render.h"
#include "pipeline/transform.h"
#include "util/log.h"

/*
 * distribute_class - the copy one recipient gets. A key is used wherever
 * the list allows encryption; on encryption = "required" a keyless member
 * gets a notice instead of a post, digest or private mail (never the text
 * in clear), but owners and moderators still get what they must decide
 * on, and a keyless leader's answers stay plain (they act on them by
 * replying); private mail to a leader is not theirs to act on.
 * An encrypted copy is ordinary PGP/MIME, so a leader with a key gets
 * theirs encrypted like anyone.
 */
enum dclass
distribute_class(const struct list_cfg *l, enum audience aud,
    const struct dfacts *f)
{
	switch (aud) {
	case AUD_ROLES:
		if (!f->leader)
			return DCLASS_NONE;
		break;
	case AUD_POST:
		if (f->nomail || f->disabled || f->digest)
			return DCLASS_NONE;
		break;
	case AUD_DIGEST:
		if (f->nomail || f->disabled || !f->digest)
			return DCLASS_NONE;
		break;
	case AUD_ANSWER:
		if (f->leader && !(f->keyed && l->encryption != ENC_OFF))
			return DCLASS_PLAIN;
		break;
	case AUD_PRIVATE:
		break;	/* nothing to act on: a leader's is as anyone's */
	default:
		abort();
	}
	if (f->keyed && l->encryption != ENC_OFF)
		return DCLASS_OPENPGP;
	if (aud != AUD_ROLES && l->encryption == ENC_REQUIRED)
		return DCLASS_NOTICE;
	if (aud == AUD_ANSWER || aud == AUD_PRIVATE)
		return DCLASS_PLAIN;	/* an answer, not list traffic */
	return *l->one_click_url ? DCLASS_ONECLICK : DCLASS_PLAIN;
}

/* distribute_table - distribute_class for each combination of DFACT_* bits, as digits */
void
distribute_table(const struct list_cfg *l, enum audience aud,
    char table[DFACT_COMBOS + 1])
{
	struct dfacts f;

	for (int i = 0; i < DFACT_COMBOS; i++) {
		f.keyed = (i & DFACT_KEYED) != 0;
		f.nomail = (i & DFACT_NOMAIL) != 0;
		f.digest = (i & DFACT_DIGEST) != 0;
		f.disabled = (i & DFACT_DISABLED) != 0;
		f.leader = (i & DFACT_LEADER) != 0;
		table[i] = (char)('0' + distribute_class(l, aud, &f));
	}
	table[DFACT_COMBOS] = 0;
}

/* only - keep the entries of class c (or every class but c when but) */
static void
only(char table[DFACT_COMBOS + 1], enum dclass c, int but)
{
	for (int i = 0; i < DFACT_COMBOS; i++)
		if ((table[i] == '0' + (int)c) == but)
			table[i] = '0';
}

/* distribute_class_name - for log lines */
const char *
distribute_class_name(enum dclass c)
{
	static const char *const names[] = {
		"none", "plain", "openpgp", "one-click", "notice"
	};

	if ((unsigned)c >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[c];
}

/*
 * distribute_release - when a post received at `now` goes out: timing must
 * not tie a post to the moment its author's server sent it, so jitter,
 * then rounded up to the next batch boundary
 */
long long
distribute_release(const struct list_cfg *l, long long now)
{
	long long at = now;

	if (l->jitter_max > 0)
		at += l->jitter_min + (long long)randombytes_uniform(
		    (uint32_t)(l->jitter_max - l->jitter_min + 1));
	if (l->batch > 0)
		at = (at / l->batch + 1) * l->batch;
	return at;
}

/*
 * note_copy - what binds a DSN to copy qid (delivery/bounce.c): its
 * Message-ID, and the outer one its encrypted copies carry (list's), kept
 * MSGID_KEEP, rolled back with the copy
 */
static int
note_copy(struct pipeline *p, const char *qid, const char *list,
    const void *msg, size_t len)
{
	char id[MSGID_MAX], outer[MSGID_MAX];

	if (msgid_of(msg, len, id, sizeof(id)) < 0)
		return 0;		/* nothing a DSN could name */
	if (store_copy_msgid(p->st, qid, id, p->now,
	    p->now - MSGID_KEEP) != STORE_OK)
		return -1;
	/* an encrypted copy shows the relay its outer id: that one too */
	if (list == NULL || pgpcopy_outer_id(p->keys ? p->keys->lookup : NULL,
	    list, p->cfg->hostname, id, outer, sizeof(outer)) < 0 ||
	    strcmp(outer, id) == 0)
		return 0;
	return store_copy_msgid(p->st, qid, outer, p->now,
	    p->now - MSGID_KEEP) == STORE_OK ? 0 : -1;
}

/* distribute_write - a rendered copy into queue/out, remembered for rollback */
int
distribute_write(struct pipeline *p, const void *msg, size_t len, const char *note,
    char id[QID_LEN + 1])
{
	struct envelope e = { 0 };
	struct spool_writer w;

	e.sender = (char *)"";
	e.client = (char *)"";
	e.note = (char *)note;
	e.received = p->now;
	if (spool_begin(p->sp, SPOOL_OUT, &e, &w) != OK)
		return -1;
	if (spool_write(&w, msg, len) != OK || spool_commit(&w) != OK)
		return -1;
	memcpy(id, w.id, QID_LEN + 1);
	if (pipeline_out_add(p, w.id) < 0) {
		spool_remove(p->sp, SPOOL_OUT, w.id);
		return -1;
	}
	return note_copy(p, w.id, note, msg, len);
}

/* distribute_unwrite - the copy last written went to nobody: remove it */
void
distribute_unwrite(struct pipeline *p, const char *id)
{
	if (p->nout == 0 || strcmp(p->out[p->nout - 1], id) != 0)
		return;		/* not the last: left to the rollback or the sweep */
	if (spool_remove(p->sp, SPOOL_OUT, id) == 0)
		p->nout--;
}

/*
 * answer_due - when a copy to one address caused by the message at hand
 * goes out: now, or the pipeline's answer_at (a sender authn could not
 * authenticate: the time must not depend on what the claim did)
 */
static long long
answer_due(const struct pipeline *p)
{
	return p->answer_at > p->now ? p->answer_at : p->now;
}

/* distribute_to - one plain delivery of copy `id` to an address */
int
distribute_to(struct pipeline *p, const struct list_cfg *l, const char *id,
    const char *rcpt, enum envfrom how)
{
	const char *host = p->cfg->hostname;
	char from[320] = "", token[33] = "";
	unsigned char r[16];

	if (how == ENV_VERP) {
		randombytes_buf(r, sizeof(r));
		sodium_bin2hex(token, sizeof(token), r, sizeof(r));
		snprintf(from, sizeof(from), "%s-bounces+%s@%s", l->name, token,
		    host);
	} else if (how == ENV_GROUPED)
		snprintf(from, sizeof(from), "%s-bounces@%s", l->name, host);
	if (store_delivery_add(p->st, id, l->name, rcpt, from,
	    *token ? token : NULL, DCLASS_PLAIN, answer_due(p),
	    p->now + l->retry_max) != STORE_OK)
		return -1;
	return 0;
}

/* the envelope sender of a fan-out's rows, and its VERP parts */
struct bounce_to {
	char	 from[320], prefix[160], suffix[160];
};

/*
 * fanout_init - f for rows of copy id in the classes of table, from the
 * list's bounce address (e holds it), VERP if verp or the list always uses
 * it; the caller sets when, and for whom
 */
static void
fanout_init(struct pipeline *p, const struct list_cfg *l, const char *id,
    const char *table, int verp, struct bounce_to *e, struct fanout_spec *f)
{
	addr_bounces(p->cfg, l, e->from, sizeof(e->from), e->prefix,
	    sizeof(e->prefix), e->suffix, sizeof(e->suffix));
	memset(f, 0, sizeof(*f));
	f->qid = id;
	f->list = l->name;
	f->classes = table;
	f->env_from = e->from;
	f->verp_prefix = verp || l->verp == VERP_ALWAYS ? e->prefix : NULL;
	f->verp_suffix = e->suffix;
}

/*
 * rows - member rows for copy id: the classes in table, due at `at`, for
 * the members who joined in (after, upto] (upto 0: whenever)
 */
static int
rows(struct pipeline *p, const struct list_cfg *l, const char *id,
    const char *table, long long at, long long after, long long upto,
    const char *addr)
{
	struct bounce_to e;
	struct fanout_spec f;

	fanout_init(p, l, id, table, 0, &e, &f);
	f.now = at;
	f.expires = at + l->retry_max;
	f.joined_after = after;
	f.joined_upto = upto;
	f.addr = addr;
	return store_fanout(p->st, &f);
}

static int notice_copy(struct pipeline *, const struct list_cfg *,
    const char *, const char *, const char *, const char *,
    const struct dfile *, long long, char id[QID_LEN + 1]);

/*
 * instead_rows - rows of notice `instead` (its own copy) for the members
 * whose class is "notice" in the table notices (the other classes '0');
 * *count how many; none: the notice is not kept
 */
static int
instead_rows(struct pipeline *p, const struct list_cfg *l,
    const char *notices, long long at, long long after, long long upto,
    const char *addr, enum notice_id instead, int *count)
{
	char nid[QID_LEN + 1];
	struct buf subject, text;
	int k, rc;

	*count = 0;
	if (strspn(notices, "0") == DFACT_COMBOS)
		return 0;
	if (instead == NOTICE_N)
		abort();	/* distribute_class gave a notice to leaders */
	buf_init(&subject, 0);
	buf_init(&text, 0);
	/* dated and signed when it goes out, like the copy it stands for */
	rc = distribute_render(p, l, instead, NULL, &subject, &text) < 0 ||
	    notice_copy(p, l, "", buf_cstr(&subject), buf_cstr(&text), "",
	    NULL, at, nid) < 0 ? -1 : 0;
	buf_free(&subject);
	buf_free(&text);
	if (rc < 0 || (k = rows(p, l, nid, notices, at, after, upto, addr)) < 0)
		return -1;
	if (k == 0)
		distribute_unwrite(p, nid);	/* every member has a key */
	*count = k;
	return 0;
}

/*
 * audience - rows of copy id for the members aud names; members whose
 * class is "notice" get one notice (template instead) in its place, its
 * own copy. NOTICE_N: an audience that never gets one.
 */
static int
audience(struct pipeline *p, const struct list_cfg *l, const char *id,
    enum audience aud, long long at, long long after, long long upto,
    const char *addr, enum notice_id instead, int *count)
{
	char table[DFACT_COMBOS + 1], notices[DFACT_COMBOS + 1];
	int n, k;

	distribute_table(l, aud, table);
	memcpy(notices, table, sizeof(table));
	only(table, DCLASS_NOTICE, 1);
	only(notices, DCLASS_NOTICE, 0);
	if ((n = rows(p, l, id, table, at, after, upto, addr)) < 0)
		return -1;
	if (instead_rows(p, l, notices, at, after, upto, addr, instead,
	    &k) < 0)
		return -1;
	*count = n + k;
	return 0;
}

/*
 * distribute_members - copy `id` to every member who takes posts, at the
 * post's release time (the pipeline's, or one drawn now)
 */
int
distribute_members(struct pipeline *p, const struct list_cfg *l,
    const char *id, int *count)
{
	long long at = p->release ? p->release : distribute_release(l, p->now);

	return audience(p, l, id, AUD_POST, at, 0, 0, NULL,
	    NOTICE_KEYLESS_POST, count);
}

/* distribute_roles - copy `id` to the owners and moderators (their addresses stay here) */
int
distribute_roles(struct pipeline *p, const struct list_cfg *l, const char *id,
    int *count)
{
	return audience(p, l, id, AUD_ROLES, p->now, 0, 0, NULL, NOTICE_N,
	    count);
}

/* distribute_roles_copy - write msg as a copy, then distribute_roles it */
int
distribute_roles_copy(struct pipeline *p, const struct list_cfg *l, const void *msg,
    size_t len, int *count)
{
	char id[QID_LEN + 1];

	if (distribute_write(p, msg, len, l->name, id) < 0)
		return -1;
	return distribute_roles(p, l, id, count);
}

/*
 * distribute_digest - digest `id` to the members who take digests and
 * joined in (after, upto] (upto 0: whenever); keyless members of an
 * encryption = "required" list get a notice instead
 */
int
distribute_digest(struct pipeline *p, const struct list_cfg *l, const char *id,
    long long after, long long upto, int *count)
{
	return audience(p, l, id, AUD_DIGEST, p->now, after, upto, NULL,
	    NOTICE_KEYLESS_DIGEST, count);
}

/*
 * answer - copy `id` (which carries a post) to the member `to`, if they
 * are one; *count 0: not a member
 */
static int
answer(struct pipeline *p, const struct list_cfg *l, const char *id,
    const char *to, int *count)
{
	return audience(p, l, id, AUD_ANSWER, answer_due(p), 0, 0, to,
	    NOTICE_KEYLESS_ANSWER, count);
}

/*
 * distribute_notice_head - a notice's header, from LIST<from>@ (no To:
 * when to is ""), rnd its random part, up to MIME-Version and extra: the
 * one head of every notice, sealed (pgpnotice.c) or not, so that none
 * stands out from the others, or outside its encryption from a post.
 * -1 when the buffer failed.
 */
int
distribute_notice_head(struct pipeline *p, const struct list_cfg *l,
    const char *from, const char *to, const char *subject,
    const char *extra, const char *rnd, struct buf *m)
{
	const char *host = p->cfg->hostname;
	struct notice_ctx ctx = { l->name, host };
	char msgid[100];
	struct buf subj;
	/* a post's List-* set: outside an encrypted copy both look the same */
	struct render_head h = { .to = *to ? to : NULL,
	    .date = p->release ? p->release : p->now, .msgid = msgid,
	    .between = "Auto-Submitted: auto-replied\r\n", .cfg = p->cfg,
	    .list = l };
	int rc = 0;

	snprintf(msgid, sizeof(msgid), "<notice.%s@%s>", rnd, host);
	buf_init(&subj, 0);
	/* a translation need not be ASCII */
	rc |= notice_subject(subject, &subj) < 0;
	h.subject = buf_cstr(&subj);
	/* [from-list]: the display name is the list's words too */
	rc |= notice_from(l->notices, p->cfg->notices, PIECE_FROM_LIST, &ctx,
	    NULL, from, m) < 0;
	rc |= render_head(m, &h) < 0;
	rc |= buf_printf(m, "MIME-Version: 1.0\r\n%s", extra) < 0;
	buf_free(&subj);
	return rc ? -1 : 0;
}

/* notice_bytes - a notice from the list, optionally with a file (a message) attached */
static void
notice_bytes(struct pipeline *p, const struct list_cfg *l, const char *to,
    const char *subject, const char *body, const char *extra,
    const struct dfile *f, struct buf *m)
{
	const struct buf *attach = f ? f->data : NULL;
	unsigned char r[8];
	char rnd[17], bnd[RENDER_BOUNDARY];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(rnd, sizeof(rnd), r, sizeof(r));
	/* as before: its buffer's failure shows where the notice is queued */
	(void)distribute_notice_head(p, l, "-owner", to, subject, extra, rnd,
	    m);
	if (!attach) {
		buf_puts(m, "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n\r\n");
		(void)render_text(m, body);
		return;
	}
	render_boundary("notice", bnd, sizeof(bnd));
	buf_printf(m, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n"
	    "\r\n", bnd);
	(void)render_text_part(m, bnd, NULL, body);
	buf_printf(m, "--%s\r\n%s\r\n", bnd, f->head ? f->head :
	    "Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n");
	buf_append(m, attach->data, attach->len);
	if (attach->len && attach->data[attach->len - 1] != '\n')
		buf_puts(m, "\r\n");
	buf_printf(m, "--%s--\r\n", bnd);
}

/*
 * notice_copy - render, sign and write a notice dated `when` (0: now, or
 * the answer time of an unauthenticated sender's message): a notice to
 * one address goes out then, even while a delayed post is being handled;
 * one that stands in for a post goes out with it
 */
static int
notice_copy(struct pipeline *p, const struct list_cfg *l, const char *to,
    const char *subject, const char *body, const char *extra,
    const struct dfile *attach, long long when, char id[QID_LEN + 1])
{
	long long release = p->release;
	struct buf m;
	int rc;

	buf_init(&m, 0);
	/* dated and signed when it leaves (answer_due), not when it was made */
	p->release = when ? when : answer_due(p) > p->now ? answer_due(p) : 0;
	notice_bytes(p, l, to, subject, body, extra, attach, &m);
	/* an answer that hands out keys: signed by the list's OpenPGP key */
	rc = attach && attach->pgp_sign ? pgpsign_list(p, l, &m) : 0;
	if (rc == 0)
		rc = sign_copy(p, l, &m);
	p->release = release;
	if (rc == 0)
		rc = distribute_write(p, m.data, m.len, l->name, id);
	buf_free(&m);
	return rc < 0 ? -1 : 0;
}

/*
 * keyed_notice - notice `id` to `to` if they are a member with a key the
 * list uses: one row of the OpenPGP class, with the envelope sender `how`
 * asks for; *n 0: not such a member (the caller sends it plain)
 */
static int
keyed_notice(struct pipeline *p, const struct list_cfg *l, const char *id,
    const char *to, enum envfrom how, int *n)
{
	char table[DFACT_COMBOS + 1];
	struct bounce_to e;
	struct fanout_spec f;

	distribute_table(l, AUD_ANSWER, table);
	only(table, DCLASS_OPENPGP, 0);
	/*
	 * the envelope of a post (rows()), never <>: the member's provider
	 * must not tell a notice from a post (a DSN of it binds by its id)
	 */
	fanout_init(p, l, id, table, how == ENV_VERP, &e, &f);
	f.now = answer_due(p);
	f.expires = p->now + l->retry_max;
	f.addr = to;
	return (*n = store_fanout(p->st, &f)) < 0 ? -1 : 0;
}

/*
 * distribute_private - copy `id`, mail relayed to one address (a private
 * reply to a pseudonym, a moderator's answer to -owner mail): to a member
 * with a key the list uses, encrypted to it as their posts are (before,
 * always plain: private words crossed their provider in clear); to a
 * keyless member of an encryption = "required" list, a notice instead,
 * and the copy goes when the transaction commits (the words are kept
 * nowhere in clear); else plain. The caller sees 0 either way: what the
 * sender is told must not say which it was.
 */
int
distribute_private(struct pipeline *p, const struct list_cfg *l,
    const char *id, const char *to, enum envfrom how)
{
	char notices[DFACT_COMBOS + 1];
	int n;

	if (keyed_notice(p, l, id, to, how, &n) < 0)
		return -1;
	if (n > 0)
		return 0;
	distribute_table(l, AUD_PRIVATE, notices);
	only(notices, DCLASS_NOTICE, 0);
	if (instead_rows(p, l, notices, answer_due(p), 0, 0, to,
	    NOTICE_KEYLESS_PRIVATE, &n) < 0)
		return -1;
	if (n == 0)
		return distribute_to(p, l, id, to, how);
	/* undone with the transaction, else removed when it commits */
	return pipeline_drop_later(p, id) < 0 ? -1 : 0;
}

/*
 * distribute_notice - a notice to one address; extra header lines each end
 * in CRLF; attach (a message, as message/rfc822) may be NULL. To a member
 * with a key, encrypted to it like their posts.
 */
int
distribute_notice(struct pipeline *p, const struct list_cfg *l, const char *to,
    const char *subject, const char *body, enum envfrom how, const char *extra,
    const struct buf *attach)
{
	struct dfile f = { attach, NULL, 0 };

	return distribute_notice_file(p, l, to, subject, body, how, extra,
	    attach ? &f : NULL);
}

/*
 * distribute_notice_file - distribute_notice with any file attached (f->head
 * its part's header lines; NULL: f->data is a message); only a message
 * makes it an answer that carries a post
 */
int
distribute_notice_file(struct pipeline *p, const struct list_cfg *l,
    const char *to, const char *subject, const char *body, enum envfrom how,
    const char *extra, const struct dfile *f)
{
	const struct buf *attach = f && !f->head ? f->data : NULL;
	char id[QID_LEN + 1];
	int n;

	if (notice_copy(p, l, to, subject, body, extra, f, 0, id) < 0)
		return -1;
	if (attach == NULL) {
		if (keyed_notice(p, l, id, to, how, &n) < 0)
			return -1;
		return n > 0 ? 0 : distribute_to(p, l, id, to, how);
	}
	/* it carries a post: to a member, the copy distribute_class says */
	if (answer(p, l, id, to, &n) < 0)
		return -1;
	return n > 0 ? 0 : distribute_to(p, l, id, to, how);
}

/* distribute_announce - a notice from the list to all its members (signed) */
int
distribute_announce(struct pipeline *p, const struct list_cfg *l,
    const char *subject, const char *body, int *count)
{
	char id[QID_LEN + 1], to[300];

	snprintf(to, sizeof(to), "%s@%s", l->name, p->cfg->hostname);
	if (notice_copy(p, l, to, subject, body, "", NULL, 0, id) < 0)
		return -1;
	return distribute_members(p, l, id, count);
}

/*
 * distribute_render - notice `id` in l's words (its own text, else the
 * instance's), the list's name and addresses and vars (name, value
 * pairs, NULL-terminated) filled in; the body without its last line end,
 * which the message adds
 */
int
distribute_render(struct pipeline *p, const struct list_cfg *l,
    enum notice_id id, const char *const *vars, struct buf *subject,
    struct buf *body)
{
	struct notice_ctx ctx = { l->name, p->cfg->hostname };

	if (notice_render(l->notices, p->cfg->notices, id, &ctx, vars,
	    subject, body) < 0) {
		log_err("%s distribute: list=%s notice %s: no text or no memory "
		    "result=tempfail", p->qid ? p->qid : "NOQUEUE", l->name,
		    notice_name(id));
		return -1;
	}
	while (body->len && body->data[body->len - 1] == '\n')
		body->data[--body->len] = 0;
	return 0;
}

/*
 * render_send - notice `id` rendered, then sent to `to`, or when `all`
 * announced to all l's members (their count in *count)
 */
static int
render_send(struct pipeline *p, const struct list_cfg *l, int all, const char *to,
    enum notice_id id, const char *const *vars, enum envfrom how,
    const char *extra, const struct dfile *attach, int *count)
{
	struct buf subject, body;
	int rc;

	buf_init(&subject, 0);
	buf_init(&body, 0);
	rc = distribute_render(p, l, id, vars, &subject, &body);
	if (rc == 0 && !all)
		rc = distribute_notice_file(p, l, to, buf_cstr(&subject),
		    buf_cstr(&body), how, extra, attach);
	else if (rc == 0)
		rc = distribute_announce(p, l, buf_cstr(&subject),
		    buf_cstr(&body), count);
	buf_free(&subject);
	buf_free(&body);
	return rc;
}

/* distribute_notice_tmpl - notice `id` to one address (see distribute_notice) */
int
distribute_notice_tmpl(struct pipeline *p, const struct list_cfg *l,
    const char *to, enum notice_id id, const char *const *vars,
    enum envfrom how, const char *extra, const struct buf *attach)
{
	struct dfile f = { attach, NULL, 0 };

	return render_send(p, l, 0, to, id, vars, how, extra, attach ? &f : NULL,
	    NULL);
}

/* distribute_notice_tmpl_file - notice `id` with a file attached (see distribute_notice_file) */
int
distribute_notice_tmpl_file(struct pipeline *p, const struct list_cfg *l,
    const char *to, enum notice_id id, const char *const *vars,
    enum envfrom how, const char *extra, const struct dfile *f)
{
	return render_send(p, l, 0, to, id, vars, how, extra, f, NULL);
}

/* distribute_announce_tmpl - notice `id` to all l's members (see distribute_announce) */
int
distribute_announce_tmpl(struct pipeline *p, const struct list_cfg *l,
    enum notice_id id, const char *const *vars, int *count)
{
	return render_send(p, l, 1, NULL, id, vars, ENV_GROUPED, NULL, NULL, count);
}

/*
 * distribute_announce_role_tmpl - notice `id` to all l's members, signed
 * by the moderators' role key as well as the list's (the notice that the
 * role key changed: leadership/rolekey.c)
 */
int
distribute_announce_role_tmpl(struct pipeline *p, const struct list_cfg *l,
    enum notice_id id, const char *const *vars, int *count)
{
	char qid[QID_LEN + 1];
	struct buf subject, body, m;
	int rc;

	buf_init(&subject, 0);
	buf_init(&body, 0);
	buf_init(&m, 0);
	rc = distribute_render(p, l, id, vars, &subject, &body);
	if (rc == 0) {
		notice_bytes(p, l, "", buf_cstr(&subject), buf_cstr(&body), "",
		    NULL, &m);
		rc = sign_author(p, l, SIGN_ROLE, &m) < 0 ||
		    sign_copy(p, l, &m) < 0 ||
		    distribute_write(p, m.data, m.len, l->name, qid) < 0 ?
		    -1 : 0;
	}
	if (rc == 0)
		rc = distribute_members(p, l, qid, count);
	buf_free(&subject);
	buf_free(&body);
	buf_free(&m);
	return rc;
}
