/*
 * digest.c - digests (RFC 2046 multipart/digest) for members with digest on.
 *
 * Every copy the list distributes is also queued, sealed, in the store
 * (archive_distributed). When a list's period has passed since its last
 * digest (or since the oldest waiting post), or the waiting posts reach
 * digest.max_size, the queue manager builds one message: a table of
 * contents, then every post exactly as it was distributed - with its DKIM
 * and author signatures, so 'mlist verify' still checks each one - and
 * the digest itself signed by the list. Members with a key get it sealed,
 * like any copy. Taking the posts and queueing the deliveries happen in
 * one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery/digest.h"
#include "delivery/fanout.h"
#include "mail/header.h"
#include "pipeline/sign.h"
#include "pipeline/transform.h"

struct parts {
	struct buf	 toc, body;
	const char	*boundary;
	int		 n;
};

/* one_post - a table-of-contents line and the post as a digest part */
static void
one_post(long long at, const struct buf *msg, void *arg)
{
	struct parts *x = arg;
	struct hdr h;
	char *subj = NULL, *from = NULL;

	(void)at;
	if (hdr_parse((const char *)msg->data, msg->len, &h) == 0) {
		subj = hdr_get_value(&h, "Subject");
		from = hdr_get_value(&h, "From");
		hdr_free(&h);
	}
	x->n++;
	buf_printf(&x->toc, "%3d. %.*s\r\n     %.*s\r\n", x->n, 200, subj ? subj : "(no subject)", 120,
	    from ? from : "");
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

/* digest_send - build, sign and queue the digest; *recipients how many got it (inside a transaction) */
int
digest_send(struct pipeline *p, const struct list_cfg *l, int *recipients)
{
	struct parts x;
	struct buf m;
	unsigned char r[12];
	char outer[40], inner[40], hex[25], date[64], id[QID_LEN + 1], from[320], prefix[160], suffix[160];
	time_t t = (time_t)p->now;
	struct tm tm;
	long long bytes, since;
	int n, issue = 0, rc = -1;

	*recipients = 0;
	if (store_digest_pending(p->st, l->name, &n, &bytes, &since, &issue) != STORE_OK)
		return -1;
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(outer, sizeof(outer), "=_digest_%s", hex);
	snprintf(inner, sizeof(inner), "=_posts_%s", hex);
	memset(&x, 0, sizeof(x));
	buf_init(&x.toc, 0);
	buf_init(&x.body, 0);
	x.boundary = inner;
	if ((n = store_digest_take(p->st, l->name, p->now, one_post, &x)) <= 0) {
		rc = n == 0 ? 0 : -1;
		goto done;
	}
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_init(&m, 0);
	buf_printf(&m, "From: \"%s digest\" <%s-request@%s>\r\nTo: <%s@%s>\r\nSubject: %s digest, issue %d (%d post%s)\r\n"
	    "Date: %s\r\nMessage-ID: <digest.%s@%s>\r\n", l->name, l->name, p->cfg->hostname, l->name,
	    p->cfg->hostname, l->name, issue + 1, n, n == 1 ? "" : "s", date, hex, p->cfg->hostname);
	transform_list_headers(p->cfg, l, &m);
	buf_printf(&m, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
	    "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
	    "Content-Description: contents\r\n\r\nIn this digest of %s@%s:\r\n\r\n", outer, outer, l->name,
	    p->cfg->hostname);
	buf_append(&m, x.toc.data, x.toc.len);
	buf_printf(&m, "\r\nEach post is attached as the list sent it; 'mlist verify' checks its signatures.\r\n"
	    "To get every post as it comes, send \"set digest off\" to %s-request@%s.\r\n"
	    "--%s\r\nContent-Type: multipart/digest; boundary=\"%s\"\r\n\r\n", l->name, p->cfg->hostname, outer,
	    inner);
	buf_append(&m, x.body.data, x.body.len);
	buf_printf(&m, "--%s--\r\n--%s--\r\n", inner, outer);
	addr_bounces(p->cfg, l, from, sizeof(from), prefix, sizeof(prefix), suffix, sizeof(suffix));
	if (sign_copy(p, l, &m) == 0 && fanout_write(p, m.data, m.len, l->name, id) == 0 &&
	    (*recipients = store_fanout(p->st, id, l->name, FAN_DIGEST, from, l->verp == VERP_ALWAYS ? prefix : NULL,
	    suffix, p->now, p->now + l->retry_max)) >= 0)
		rc = n;
	buf_free(&m);
done:
	buf_free(&x.toc);
	buf_free(&x.body);
	return rc;
}
