/*
 * fanout.c - turn one rendered copy into deliveries.
 *
 * The copy is written once, encrypted, to queue/out; each recipient gets a
 * delivery row (address sealed in the store). The envelope sender is
 * LIST-bounces@hostname for grouped delivery, LIST-bounces+TOKEN@hostname
 * for per-recipient VERP (TOKEN is random: it names a delivery row, never
 * an address), and <> for notices (RFC 3834: nobody answers an
 * auto-reply). Everything here runs inside the caller's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery/fanout.h"
#include "mail/addr.h"
#include "pipeline/sign.h"
#include "util/log.h"

static void notice_bytes(struct pipeline *, const struct list_cfg *, const char *, const char *, const char *,
    const char *, const struct buf *, struct buf *);

/* fanout_write - store a rendered copy in queue/out; remember it for rollback */
int
fanout_write(struct pipeline *p, const void *msg, size_t len, const char *note, char id[QID_LEN + 1])
{
	struct envelope e = { 0 };
	struct spool_writer w;

	if (p->nout >= PIPELINE_MAX_OUT)
		return -1;
	e.sender = (char *)"";
	e.client = (char *)"";
	e.note = (char *)note;
	e.received = p->now;
	if (spool_begin(p->sp, SPOOL_OUT, &e, &w) != OK || spool_write(&w, msg, len) != OK ||
	    spool_commit(&w) != OK)
		return -1;
	memcpy(id, w.id, QID_LEN + 1);
	memcpy(p->out[p->nout++], w.id, QID_LEN + 1);
	return 0;
}

/* fanout_to - one delivery of copy `id` to rcpt */
int
fanout_to(struct pipeline *p, const struct list_cfg *l, const char *id, const char *rcpt, enum envfrom how)
{
	char from[320] = "", token[33] = "";
	unsigned char r[16];

	if (how == ENV_VERP) {
		randombytes_buf(r, sizeof(r));
		sodium_bin2hex(token, sizeof(token), r, sizeof(r));
		snprintf(from, sizeof(from), "%s-bounces+%s@%s", l->name, token, p->cfg->hostname);
	} else if (how == ENV_GROUPED)
		snprintf(from, sizeof(from), "%s-bounces@%s", l->name, p->cfg->hostname);
	return store_delivery_add(p->st, id, l->name, rcpt, from, *token ? token : NULL, p->now,
	    p->now + l->retry_max) == STORE_OK ? 0 : -1;
}

/* fanout_list - deliveries to members (or only owners and moderators) of l */
static int
fanout_list(struct pipeline *p, const struct list_cfg *l, const char *id, int roles_only)
{
	char from[320], prefix[160], suffix[160];
	int verp = l->verp == VERP_ALWAYS;
	long long at = p->now;

	/* timing must not tie a post to the moment its author's server sent it */
	if (!roles_only && l->jitter_max > 0)
		at += l->jitter_min + (long long)randombytes_uniform((uint32_t)(l->jitter_max - l->jitter_min + 1));
	if (!roles_only && l->batch > 0)
		at = (at / l->batch + 1) * l->batch;
	addr_bounces(p->cfg, l, from, sizeof(from), prefix, sizeof(prefix), suffix, sizeof(suffix));
	return store_fanout(p->st, id, l->name, roles_only, from, verp ? prefix : NULL, suffix, at,
	    at + l->retry_max);
}

/*
 * fanout_members - a delivery for every member who gets mail (copies to
 * members with a key are sealed to it when they are sent). With
 * encryption = "required" members without a key get a notice instead.
 */
int
fanout_members(struct pipeline *p, const struct list_cfg *l, const char *id, int *count)
{
	char nid[QID_LEN + 1], text[600];
	struct buf m;
	int n;

	if (l->encryption != ENC_REQUIRED)
		return (*count = fanout_list(p, l, id, FAN_MEMBERS)) < 0 ? -1 : 0;
	if ((*count = fanout_list(p, l, id, FAN_KEYED)) < 0)
		return -1;
	snprintf(text, sizeof(text), "A post was sent to %s@%s. This list delivers posts only encrypted, and you\n"
	    "have not registered a key: make one with 'mlist keygen' and send \"key x25519:...\"\n"
	    "(the second line it prints) to %s-request@%s. The post itself stays in the archive.",
	    l->name, p->cfg->hostname, l->name, p->cfg->hostname);
	buf_init(&m, 0);
	notice_bytes(p, l, "", "A post you could not receive in clear", text, "", NULL, &m);
	n = sign_copy(p, l, &m) < 0 || fanout_write(p, m.data, m.len, l->name, nid) < 0 ? -1 :
	    fanout_list(p, l, nid, FAN_UNKEYED);
	buf_free(&m);
	return n < 0 ? -1 : 0;
}

/* fanout_roles - relay a message to the owners and moderators (their addresses stay here) */
int
fanout_roles(struct pipeline *p, const struct list_cfg *l, const void *msg, size_t len, int *count)
{
	char id[QID_LEN + 1];

	if (fanout_write(p, msg, len, l->name, id) < 0)
		return -1;
	return (*count = fanout_list(p, l, id, FAN_ROLES)) < 0 ? -1 : 0;
}

/* fanout_notice - a short message from the list to one address */
int
fanout_notice(struct pipeline *p, const struct list_cfg *l, const char *to, const char *subject,
    const char *body, enum envfrom how)
{
	return fanout_notice_ex(p, l, to, subject, body, how, "");
}

/* notice_bytes - a notice from the list (To: omitted when to is ""), optionally with a message attached */
static void
notice_bytes(struct pipeline *p, const struct list_cfg *l, const char *to, const char *subject, const char *body,
    const char *extra, const struct buf *attach, struct buf *out)
{
	char date[64], tohdr[400] = "";
	time_t t = (time_t)p->now;
	struct tm tm;
	unsigned char r[8];
	char rnd[17];
	struct buf m = *out;

	if (*to)
		snprintf(tohdr, sizeof(tohdr), "To: <%s>\r\n", to);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(rnd, sizeof(rnd), r, sizeof(r));
	buf_printf(&m, "From: \"%s list\" <%s-owner@%s>\r\n%sSubject: %s\r\nDate: %s\r\n"
	    "Message-ID: <notice.%s@%s>\r\nAuto-Submitted: auto-replied\r\nPrecedence: list\r\n"
	    "X-Loop: %s@%s\r\nList-Id: <%s.%s>\r\nMIME-Version: 1.0\r\n%s",
	    l->name, l->name, p->cfg->hostname, tohdr, subject, date, rnd, p->cfg->hostname,
	    l->name, p->cfg->hostname, l->name, p->cfg->hostname, extra);
	if (attach)
		buf_printf(&m, "Content-Type: multipart/mixed; boundary=\"=_notice_%s\"\r\n\r\n--=_notice_%s\r\n",
		    rnd, rnd);
	buf_puts(&m, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
	for (const char *c = body; *c; c++)
		*c == '\n' ? buf_puts(&m, "\r\n") : buf_putc(&m, *c);
	buf_puts(&m, "\r\n");
	if (attach) {
		buf_printf(&m, "--=_notice_%s\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n",
		    rnd);
		buf_append(&m, attach->data, attach->len);
		if (attach->len && attach->data[attach->len - 1] != '\n')
			buf_puts(&m, "\r\n");
		buf_printf(&m, "--=_notice_%s--\r\n", rnd);
	}
	*out = m;
}

/* notice - a notice from the list to one address, optionally with a message attached */
static int
notice(struct pipeline *p, const struct list_cfg *l, const char *to, const char *subject, const char *body,
    enum envfrom how, const char *extra, const struct buf *attach)
{
	char id[QID_LEN + 1];
	struct buf m;
	int rc;

	buf_init(&m, 0);
	notice_bytes(p, l, to, subject, body, extra, attach, &m);
	rc = sign_copy(p, l, &m) < 0 || fanout_write(p, m.data, m.len, l->name, id) < 0 ||
	    fanout_to(p, l, id, to, how) < 0 ? -1 : 0;
	buf_free(&m);
	return rc;
}

/* fanout_notice_ex - the same, with extra header lines (each ending in CRLF) */
int
fanout_notice_ex(struct pipeline *p, const struct list_cfg *l, const char *to, const char *subject,
    const char *body, enum envfrom how, const char *extra)
{
	return notice(p, l, to, subject, body, how, extra, NULL);
}

/* fanout_notice_attach - a notice (sender <>) with a message attached (message/rfc822) */
int
fanout_notice_attach(struct pipeline *p, const struct list_cfg *l, const char *to, const char *subject,
    const char *body, const char *extra, const struct buf *msg)
{
	return notice(p, l, to, subject, body, ENV_NULL, extra, msg);
}

/* fanout_announce - a notice from the list to all its members (signed) */
int
fanout_announce(struct pipeline *p, const struct list_cfg *l, const char *subject, const char *body, int *count)
{
	char id[QID_LEN + 1], to[300];
	struct buf m;
	int rc;

	snprintf(to, sizeof(to), "%s@%s", l->name, p->cfg->hostname);
	buf_init(&m, 0);
	notice_bytes(p, l, to, subject, body, "", NULL, &m);
	rc = sign_copy(p, l, &m) < 0 || fanout_write(p, m.data, m.len, l->name, id) < 0 ||
	    fanout_members(p, l, id, count) < 0 ? -1 : 0;
	buf_free(&m);
	return rc;
}
