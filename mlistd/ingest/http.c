/*
 * http.c - the one-click unsubscription endpoint (RFC 8058), on a listener
 * with protocol = "http".
 *
 * It answers one request per connection and knows one resource:
 * .../LIST/TOKEN, the link a member's copy carries in List-Unsubscribe.
 * POST (with the body List-Unsubscribe=One-Click) spools a request to
 * LIST-unsubscribe+TOKEN@ - durably, like any accepted message - and the
 * queue manager checks the token and removes the member. The request is
 * written at once but made durable with the loop's group commit (one
 * flush for every message and POST that ended in the same turn,
 * smtp_session_commit_group), and the 200 goes out only after it
 * (http_committed): a flood of POSTs costs the loop one flush per turn,
 * not one per request. GET only shows a
 * page with a button: link scanners and prefetchers GET what they find, and
 * must not unsubscribe anyone. Nothing here says whether a token is valid.
 * Every page's words are pieces ([one-click-*], [http-*]); the status
 * lines are the protocol's and stay as RFC 9110 names them.
 *
 * Plain HTTP: put it behind the web server that holds the site's
 * certificate (RFC 8058 wants https), e.g. nginx "location /unsubscribe/ {
 * proxy_pass http://127.0.0.1:8025; }". Requests are small and bounded:
 * 8 KB of head, 1 KB of body, and the usual idle timeout.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest/http.h"
#include "mail/addr.h"
#include "mail/keys.h"
#include "mail/notices.h"
#include "util/log.h"

#define HEAD_MAX	8192
#define BODY_MAX	1024

/* respond - the whole answer, then close */
static void
respond(struct smtp_session *s, int code, const char *reason, const char *type, const char *body)
{
	buf_printf(&s->out, "HTTP/1.1 %d %s\r\nContent-Type: %s; charset=utf-8\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nX-Content-Type-Options: nosniff\r\n"
	    "Connection: close\r\n\r\n%s", code, reason, type, strlen(body), body);
	s->close_after = 1;
	s->state = SS_CLOSED;
}

/* target - LIST and TOKEN from the last two segments of the request path */
static int
target(const char *path, char *list, size_t ll, char *token, size_t tl)
{
	const char *end = path + strcspn(path, "?# "), *t, *l;

	while (end > path && end[-1] == '/')
		end--;
	for (t = end; t > path && t[-1] != '/'; t--)
		;
	if (t == path || t - 1 <= path)
		return -1;
	for (l = t - 1; l > path && l[-1] != '/'; l--)
		;
	if ((size_t)(end - t) >= tl || (size_t)(t - 1 - l) >= ll || end == t || t - 1 == l)
		return -1;
	memcpy(token, t, (size_t)(end - t));
	token[end - t] = 0;
	memcpy(list, l, (size_t)(t - 1 - l));
	list[t - 1 - l] = 0;
	for (const char *p = token; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return -1;
	return strlen(token) == KEYS_ONECLICK_LEN ? 0 : -1;
}

/*
 * spool_request - the request, as a message to LIST-unsubscribe+TOKEN@;
 * 0 written (not yet durable: the loop's group commit makes it so)
 */
static int
spool_request(struct smtp_session *s, const char *rcpt)
{
	static const char msg[] = "From: one-click unsubscribe <>\r\nSubject: one-click unsubscribe\r\n"
	    "Auto-Submitted: auto-generated\r\n\r\nList-Unsubscribe=One-Click\r\n";
	struct envelope e;
	int rc = -1;

	memset(&e, 0, sizeof(e));
	if ((e.sender = strdup("")) == NULL || (e.client = strdup(s->peer)) == NULL ||
	    (e.note = strdup("http one-click")) == NULL || envelope_add_rcpt(&e, rcpt) < 0)
		goto out;
	if (spool_begin(s->spool, SPOOL_INCOMING, &e, &s->w) != OK)
		goto out;
	if (spool_write(&s->w, msg, sizeof(msg) - 1) != OK) {
		spool_abort(&s->w);
		goto out;
	}
	s->writing = 1;
	rc = 0;
out:
	envelope_free(&e);
	return rc;
}

/*
 * respond_piece - an answer whose body is a piece (pieces file): the list's
 * own (l NULL: the instance's), {list} filled with list
 */
static void
respond_piece(struct smtp_session *s, int code, const char *reason,
    const char *type, const struct list_cfg *l, const char *list,
    enum piece_id id)
{
	struct notice_ctx ctx = { list, s->cfg->hostname };
	struct buf b;

	buf_init(&b, 0);
	if (notice_piece(l ? l->notices : NULL, s->cfg->notices, id, &ctx, NULL,
	    &b) < 0 || buf_putc(&b, 0) < 0)
		log_warn("NOQUEUE httpd: no text for the piece [%s]",
		    piece_name(id));
	respond(s, code, reason, type, b.len ? (const char *)b.data : "\n");
	buf_free(&b);
}

/* handle - one complete request: head (NUL-terminated) and body */
static void
handle(struct smtp_session *s, char *head, const char *body, size_t blen)
{
	char method[8], path[512], list[72], token[KEYS_ONECLICK_LEN + 8];
	char rcpt[ADDR_MAX + 1];
	struct listaddr la;

	if (sscanf(head, "%7s %511s HTTP/1.%*c", method, path) != 2) {
		respond_piece(s, 400, "Bad Request", "text/plain", NULL, "",
		    PIECE_HTTP_BAD_REQUEST);
		return;
	}
	if (target(path, list, sizeof(list), token, sizeof(token)) < 0 ||
	    (size_t)snprintf(rcpt, sizeof(rcpt), "%s-unsubscribe+%s@%s", list, token, s->cfg->hostname) >= sizeof(rcpt) ||
	    listaddr_parse(s->cfg, rcpt, &la) < 0 || la.kind != ADDR_UNSUBSCRIBE || !*la.list->one_click_url) {
		log_info("NOQUEUE httpd: client=%s %s of an unknown link result=permfail", s->peer, method);
		respond_piece(s, 404, "Not Found", "text/plain", NULL, "",
		    PIECE_ONE_CLICK_UNKNOWN);
		return;
	}
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		/* list names and hostnames hold nothing HTML reads as markup */
		respond_piece(s, 200, "OK", "text/html", la.list, list,
		    PIECE_ONE_CLICK_PAGE);
		if (strcmp(method, "HEAD") == 0) {
			/* the same head, no body */
			char *sep = strstr((char *)s->out.data, "\r\n\r\n");

			if (sep)
				s->out.len = (size_t)(sep + 4 - (char *)s->out.data);
		}
		return;
	}
	if (strcmp(method, "POST") != 0) {
		respond_piece(s, 405, "Method Not Allowed", "text/plain",
		    la.list, list, PIECE_HTTP_NOT_POST);
		return;
	}
	if (blen < 26 || memmem(body, blen, "List-Unsubscribe=One-Click", 26) == NULL) {
		respond_piece(s, 400, "Bad Request", "text/plain", la.list,
		    list, PIECE_HTTP_BAD_BODY);
		return;
	}
	if (spool_request(s, rcpt) < 0) {
		http_committed(s, TEMPFAIL);
		return;
	}
	if (s->group_commit) {
		s->on_commit = http_committed;
		s->state = SS_COMMIT;	/* the answer waits for the flush */
	}
	else
		http_committed(s, spool_commit(&s->w));
}

/* http_committed - the POST's request is durable (OK) or not: the answer */
void
http_committed(struct smtp_session *s, enum result r)
{
	char method[8], path[512], list[72], token[KEYS_ONECLICK_LEN + 8];

	if (s->writing && r != OK)
		spool_abort(&s->w);
	s->writing = 0;
	if (r != OK) {
		log_err("NOQUEUE httpd: client=%s one-click unsubscription "
		    "not queued (spool) result=tempfail", s->peer);
		respond_piece(s, 503, "Service Unavailable", "text/plain", NULL,
		    "", PIECE_ONE_CLICK_LATER);
		return;
	}
	log_info(
	    "%s httpd: client=%s one-click unsubscription queued result=ok",
	    s->w.id, s->peer);
	s->committed++;
	/* the head is still there (NUL-terminated by http_input): the list */
	if (sscanf((char *)s->data.data, "%7s %511s", method, path) != 2 ||
	    target(path, list, sizeof(list), token, sizeof(token)) < 0)
		snprintf(list, sizeof(list), "the list");	/* as before */
	respond_piece(s, 200, "OK", "text/plain",
	    config_list_find(s->cfg, list), list, PIECE_ONE_CLICK_DONE);
}

/* http_input - bytes from the client: wait for the whole request, then answer it */
void
http_input(struct smtp_session *s, const unsigned char *p, size_t n)
{
	char *end, *cl;
	size_t hlen, blen = 0;

	if (s->state == SS_CLOSED)
		return;
	if (buf_append(&s->data, p, n) < 0 || s->data.len > HEAD_MAX + BODY_MAX) {
		respond_piece(s, 413, "Content Too Large", "text/plain", NULL,
		    "", PIECE_HTTP_TOO_LARGE);
		return;
	}
	if ((end = memmem(s->data.data, s->data.len, "\r\n\r\n", 4)) == NULL) {
		if (s->data.len > HEAD_MAX)
			respond_piece(s, 431, "Request Header Fields Too Large",
			    "text/plain", NULL, "", PIECE_HTTP_HEAD_TOO_LARGE);
		return;
	}
	*end = 0;
	hlen = (size_t)(end - (char *)s->data.data) + 4;
	if ((cl = strcasestr((char *)s->data.data, "\r\nContent-Length:")) != NULL)
		blen = strtoul(cl + 17, NULL, 10);
	if (blen > BODY_MAX) {
		respond_piece(s, 413, "Content Too Large", "text/plain", NULL,
		    "", PIECE_HTTP_TOO_LARGE);
		return;
	}
	if (s->data.len - hlen < blen) {
		*end = '\r';	/* not all there yet: the head stays as it came */
		return;
	}
	handle(s, (char *)s->data.data, (const char *)s->data.data + hlen, blen);
}

/* http_timeout - the client went quiet before its request was whole */
void
http_timeout(struct smtp_session *s)
{
	if (s->state == SS_COMMIT)
		return;	/* whole: the answer follows this turn's flush */
	log_info("NOQUEUE httpd: client=%s reason=timeout result=tempfail", s->peer);
	respond_piece(s, 408, "Request Timeout", "text/plain", NULL, "",
	    PIECE_HTTP_TIMEOUT);
}
