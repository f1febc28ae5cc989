/*
 * digest.c - digests (RFC 2046 multipart/digest) for members with digest on.
 *
 * Every copy the list distributes is also queued, sealed, in the store
 * (archive_distributed). When a list's period has passed since its last
 * digest (or since the oldest waiting post), or the waiting posts reach
 * digest.max_size, the queue manager builds the digest: a table of
 * contents, then every post exactly as it was distributed - with its DKIM
 * and author signatures, so 'mlist verify' still checks each one - and
 * the digest itself signed by the list. Who gets it, and how (sealed, a
 * notice instead), is distribute's decision. With archive.since_join a
 * member's digest holds nothing from before they joined: one variant per
 * group of members with the same first visible post. Taking the posts and
 * queueing the deliveries happen in one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery/digest.h"
#include "pipeline/disclosure.h"
#include "delivery/distribute.h"
#include "mail/header.h"
#include "pipeline/render.h"
#include "pipeline/sign.h"

struct parts {
	struct buf	 toc, body;
	const char	*boundary;
	int		 n;
	char		 no_subject[200];	/* [no-subject]'s words */
};

struct post {
	long long	 at;
	struct buf	 msg;
};

struct posts {
	struct post	*v;
	int		 n, cap;
};

/* keep - store callback: one waiting post, kept for every variant */
static void
keep(long long at, const struct buf *msg, void *arg)
{
	struct posts *x = arg;

	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 16;
		if ((x->v = realloc(x->v, sizeof(*x->v) * (size_t)x->cap)) == NULL)
			abort();
	}
	x->v[x->n].at = at;
	buf_init(&x->v[x->n].msg, msg->len);
	buf_append(&x->v[x->n].msg, msg->data, msg->len);
	x->n++;
}

/* one_post - a table-of-contents line and the post as a digest part */
static void
one_post(const struct buf *msg, struct parts *x)
{
	struct hdr h;
	char *subj = NULL, *from = NULL;

	if (hdr_parse((const char *)msg->data, msg->len, &h) == 0) {
		subj = hdr_get_value(&h, "Subject");
		from = hdr_get_value(&h, "From");
		hdr_free(&h);
	}
	x->n++;
	buf_printf(&x->toc, "%3d. %.*s\n     %.*s\n", x->n, 200,
	    subj ? subj : x->no_subject, 120, from ? from : "");
	buf_printf(&x->body, "--%s\r\n\r\n", x->boundary);	/* default type in a digest: message/rfc822 */
	buf_append(&x->body, msg->data, msg->len);
	if (msg->len && msg->data[msg->len - 1] != '\n')
		buf_puts(&x->body, "\r\n");
	buf_puts(&x->body, "\r\n");	/* the delimiter's own CRLF: the post keeps its last line end */
	free(subj);
	free(from);
}

/* digest_due - is a digest due for l now? */
int
digest_due(struct pipeline *p, const struct list_cfg *l)
{
	long long bytes = 0, since = 0, period = l->digest_period ? 7 * 86400LL : 86400LL;
	int n = 0, issue = 0;

	if (store_digest_pending(p->st, l->name, &n, &bytes, &since, &issue) != STORE_OK || n == 0)
		return 0;
	return bytes >= l->digest_max || p->now - since >= period;
}

/*
 * head - the digest's header through its MIME fields. Reply-To: a
 * member's Reply to the digest is meant for the list; to LIST-request@
 * (its From) it found no command and went to the moderators instead
 * (round 9, finding 4)
 */
static int
head(struct pipeline *p, const struct list_cfg *l, const char *subject,
    const char *outer, struct buf *m)
{
	struct notice_ctx ctx = { l->name, p->cfg->hostname };
	char addr[400], msgid[100], hex[25];
	unsigned char r[12];
	struct render_head h = { .to = addr, .reply_to = addr,
	    .subject = subject, .date = p->now, .msgid = msgid,
	    .cfg = p->cfg, .list = l };

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(addr, sizeof(addr), "%s@%s", l->name, p->cfg->hostname);
	snprintf(msgid, sizeof(msgid), "<digest.%s@%s>", hex,
	    p->cfg->hostname);
	if (notice_from(l->notices, p->cfg->notices, PIECE_FROM_DIGEST, &ctx,
	    NULL, "-request", m) < 0 || render_head(m, &h) < 0 ||
	    render_mixed(m, outer) < 0)
		return -1;
	return 0;
}

/*
 * render - the digest of the posts at or after `from` (time) into m; how
 * many it holds, -1 no text
 */
static int
render(struct pipeline *p, const struct list_cfg *l, const struct posts *all,
    long long from, int issue, struct buf *m)
{
	struct parts x;
	char outer[RENDER_BOUNDARY], inner[RENDER_BOUNDARY], num[16], count[16];
	const char *vars[] = { "issue", num, "count", count, "contents", NULL,
	    NULL };
	struct notice_ctx ctx = { l->name, p->cfg->hostname };
	struct buf subj, subject, text;
	int n;

	render_boundary("digest", outer, sizeof(outer));
	render_boundary("posts", inner, sizeof(inner));
	memset(&x, 0, sizeof(x));
	buf_init(&x.toc, 0);
	buf_init(&x.body, 0);
	x.boundary = inner;
	if (notice_piece_line(l->notices, p->cfg->notices, PIECE_NO_SUBJECT,
	    &ctx, NULL, x.no_subject, sizeof(x.no_subject)) < 0)
		return -1;
	for (int i = 0; i < all->n; i++)
		if (all->v[i].at >= from)
			one_post(&all->v[i].msg, &x);
	n = x.n;
	vars[5] = buf_cstr(&x.toc);
	snprintf(num, sizeof(num), "%d", issue + 1);
	snprintf(count, sizeof(count), "%d", n);
	buf_init(&subj, 0);
	buf_init(&subject, 0);
	buf_init(&text, 0);
	if (distribute_render(p, l, n == 1 ? NOTICE_DIGEST_ONE : NOTICE_DIGEST,
	    vars, &subj, &text) < 0 ||
	    notice_subject(buf_cstr(&subj), &subject) < 0 ||
	    head(p, l, buf_cstr(&subject), outer, m) < 0 ||
	    render_text_part(m, outer, "contents", buf_cstr(&text)) < 0 ||
	    buf_printf(m, "--%s\r\nContent-Type: multipart/digest; "
	    "boundary=\"%s\"\r\n\r\n", outer, inner) < 0 ||
	    buf_append(m, x.body.data, x.body.len) < 0 ||
	    buf_printf(m, "--%s--\r\n--%s--\r\n", inner, outer) < 0)
		n = -1;
	buf_free(&subj);
	buf_free(&subject);
	buf_free(&text);
	buf_free(&x.toc);
	buf_free(&x.body);
	return n;
}

/* variant - the digest from time `from` on, to the members who joined in (after, upto] */
static int
variant(struct pipeline *p, const struct list_cfg *l, const struct posts *all, long long from,
    long long after, long long upto, int issue, int *recipients)
{
	char id[QID_LEN + 1];
	struct buf m;
	int n = 0, rc = -1;

	buf_init(&m, 0);
	if (render(p, l, all, from, issue, &m) >= 0 && sign_copy(p, l, &m) == 0 && distribute_write(p, m.data, m.len, l->name, id) == 0 &&
	    distribute_digest(p, l, id, after, upto, &n) == 0)
		rc = 0;
	if (rc == 0 && n == 0)
		distribute_unwrite(p, id);	/* nobody joined in that span */
	buf_free(&m);
	*recipients += n;
	return rc;
}

/* by_time - qsort: post times, ascending */
static int
by_time(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * variants - with since_join, members who joined in (t[k-1], t[k]] see
 * the posts made at or after t[k] (t: the distinct post times, sorted):
 * one digest for each such group. Members who joined after the last post
 * get none.
 */
static int
variants(struct pipeline *p, const struct list_cfg *l, const struct posts *all, int issue,
    int *recipients)
{
	long long *t, prev = -1;
	int rc = 0;

	if ((t = calloc((size_t)all->n, sizeof(*t))) == NULL)
		return -1;
	for (int i = 0; i < all->n; i++)
		t[i] = all->v[i].at;
	qsort(t, (size_t)all->n, sizeof(*t), by_time);
	for (int i = 0; i < all->n && rc == 0; i++) {
		if (i > 0 && t[i] == t[i - 1])
			continue;
		rc = variant(p, l, all, t[i], prev, t[i], issue, recipients);
		prev = t[i];
	}
	free(t);
	return rc;
}

/* digest_send - build, sign and queue the digest; *recipients how many got it (inside a transaction) */
int
digest_send(struct pipeline *p, const struct list_cfg *l, int *recipients)
{
	struct posts all = { 0 };
	long long bytes, since;
	int n, issue = 0, rc;

	*recipients = 0;
	if (store_digest_pending(p->st, l->name, &n, &bytes, &since, &issue) != STORE_OK)
		return -1;
	/* nobody would get it: not opened, rendered nor signed (#15) */
	if ((n = store_member_digests(p->st, l->name)) <= 0)
		return n < 0 ? -1 : store_digest_skip(p->st, l->name, p->now);
	if ((n = store_digest_take(p->st, l->name, p->now, keep, &all)) <= 0)
		rc = n == 0 ? 0 : -1;
	else if (disclosure_digest_by_join(l))
		rc = variants(p, l, &all, issue, recipients);
	else
		rc = variant(p, l, &all, 0, 0, 0, issue, recipients);
	for (int i = 0; i < all.n; i++)
		buf_free(&all.v[i].msg);
	free(all.v);
	return rc < 0 ? -1 : n;
}
