/*
 * render.c - the one writer of what the copies the list composes share:
 * the fields after the From in one fixed order (To, Reply-To, Subject,
 * Date, Message-ID, then the list's header block), folded to the house
 * line length; the Date of utc_date; boundaries from libsodium; text as
 * CRLF lines. The post's compose, the relays, the notices (plain or
 * sealed to a key), the digest and the key announcement all write
 * through it, so that no copy stands out from the others by its form.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "pipeline/render.h"
#include "mail/config.h"
#include "util/utc.h"

/*
 * fold_at - where line l (n bytes, no line end) is best broken to be at
 * most RENDER_LINE long: at a space or tab that follows a visible byte,
 * never before min (the field's name and the blank after it) nor among
 * the line's trailing blanks; the last such place within the limit, else
 * the first beyond it, 0 if none
 */
static size_t
fold_at(const char *l, size_t n, size_t min)
{
	size_t best = 0, last = n;

	/* a continuation line must hold more than blanks */
	while (last > 0 && (l[last - 1] == ' ' || l[last - 1] == '\t'))
		last--;
	for (size_t i = min + 1; i < last; i++) {
		if ((l[i] != ' ' && l[i] != '\t') || l[i - 1] == ' ' ||
		    l[i - 1] == '\t')
			continue;
		if (i > RENDER_LINE && best)
			break;
		best = i;
		if (i > RENDER_LINE)
			break;
	}
	return best;
}

/* value_start - where a field's value begins: past "Name:" and its blanks */
static size_t
value_start(const char *f, size_t n)
{
	const char *c = memchr(f, ':', n);
	size_t i = c ? (size_t)(c - f) + 1 : 0;

	while (i < n && (f[i] == ' ' || f[i] == '\t'))
		i++;
	return i;
}

/*
 * put_line - one physical line of a field (no line end), broken where it
 * is longer than RENDER_LINE; each piece ends CRLF, each break goes
 * before a blank, so that unfolding (RFC 5322 2.2.3) gives it back
 */
static int
put_line(struct buf *out, const char *l, size_t n, size_t min)
{
	size_t at;

	while (n > RENDER_LINE && (at = fold_at(l, n, min)) != 0) {
		if (buf_append(out, l, at) < 0 || buf_puts(out, "\r\n") < 0)
			return -1;
		l += at;
		n -= at;
		min = 0;
	}
	if (buf_append(out, l, n) < 0 || buf_puts(out, "\r\n") < 0)
		return -1;
	return 0;
}

/*
 * render_fold - a whole field (its line ends CRLF or LF, folded or not,
 * the last one optional) with every line longer than RENDER_LINE broken
 * at a blank; a line with no blank to break at (one encoded word) stays
 */
int
render_fold(struct buf *out, const void *field, size_t len)
{
	const char *f = field, *end = f + len, *nl;
	size_t min = value_start(f, len);

	while (f < end) {
		size_t n;

		nl = memchr(f, '\n', (size_t)(end - f));
		n = (size_t)((nl ? nl : end) - f);
		if (n && f[n - 1] == '\r')
			n--;
		if (put_line(out, f, n, min) < 0)
			return -1;
		min = 0;
		f = nl ? nl + 1 : end;
	}
	return 0;
}

/* render_field - "name: value" CRLF, folded; value may hold folds */
int
render_field(struct buf *out, const char *name, const char *value)
{
	struct buf f;
	int rc;

	buf_init(&f, 0);
	rc = buf_printf(&f, "%s: %s", name, value) < 0 ? -1 :
	    render_fold(out, f.data, f.len);
	buf_free(&f);
	return rc;
}

/* render_date - the Date: field of a copy made at t (its release time) */
int
render_date(struct buf *out, long long t)
{
	char d[UTC_DATE_MAX];

	(void)utc_date(t, d, sizeof(d));
	return buf_printf(out, "Date: %s\r\n", d) < 0 ? -1 : 0;
}

/* address - "name: <addr>" CRLF, when addr is set */
static int
address(struct buf *out, const char *name, const char *addr)
{
	if (addr == NULL)
		return 0;
	return buf_printf(out, "%s: <%s>\r\n", name, addr) < 0 ? -1 : 0;
}

/* render_clean - a header value from configuration: no CR/LF, no quotes */
void
render_clean(struct buf *b, const char *s)
{
	for (; *s; s++)
		if (*s != '\r' && *s != '\n' && *s != '"')
			buf_putc(b, *s);
}

/*
 * render_list_headers - the list's header block: RFC 2369 / 2919 fields,
 * Precedence and X-Loop (a private message and the moderators' copy write
 * their own, smaller one: identity.c)
 */
void
render_list_headers(const struct config *cfg, const struct list_cfg *list,
    struct buf *b)
{
	const char *l = list->name, *h = cfg->hostname;

	buf_puts(b, "List-Id: ");
	if (*list->description) {
		buf_putc(b, '"');
		render_clean(b, list->description);
		buf_puts(b, "\" ");
	}
	buf_printf(b, "<%s.%s>\r\n", l, h);
	buf_printf(b, "List-Post: <mailto:%s@%s>\r\n", l, h);
	buf_printf(b, "List-Help: <mailto:%s-request@%s?subject=help>\r\n", l,
	    h);
	buf_printf(b, "List-Unsubscribe: <mailto:%s-request@%s"
	    "?subject=unsubscribe>\r\n", l, h);
	buf_printf(b, "List-Owner: <mailto:%s-owner@%s>\r\n", l, h);
	if (*list->archive_url) {
		buf_puts(b, "List-Archive: <");
		render_clean(b, list->archive_url);
		buf_puts(b, ">\r\n");
	}
	buf_puts(b, "Precedence: list\r\n");
	buf_printf(b, "X-Loop: %s@%s\r\n", l, h);
}

/*
 * render_head - what follows the From in every composed copy, in the one
 * order of struct render_head; -1 when the buffer failed
 */
int
render_head(struct buf *out, const struct render_head *h)
{
	int rc = 0;

	rc |= address(out, "To", h->to);
	rc |= address(out, "Reply-To", h->reply_to);
	if (h->subject)
		rc |= render_field(out, "Subject", h->subject);
	else if (h->field_len)
		rc |= render_fold(out, h->field, h->field_len);
	rc |= render_date(out, h->date);
	if (h->msgid)
		rc |= buf_printf(out, "Message-ID: %s\r\n", h->msgid) < 0;
	if (h->between)
		rc |= buf_puts(out, h->between) < 0;
	if (h->list)
		render_list_headers(h->cfg, h->list, out);
	return rc ? -1 : 0;
}

/*
 * render_boundary - "=_KIND_" and 24 hex digits from libsodium (getrandom:
 * no file to open in the sandbox); a guessable boundary would let a post
 * or a quoted text close the list's own part
 */
void
render_boundary(const char *kind, char *out, size_t n)
{
	unsigned char r[12];
	char hex[25];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(out, n, "=_%s_%s", kind, hex);
}

/* render_mixed - a multipart/mixed copy's MIME fields and the blank line */
int
render_mixed(struct buf *out, const char *boundary)
{
	return buf_printf(out, "MIME-Version: 1.0\r\nContent-Type: "
	    "multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary) < 0 ? -1 : 0;
}

/*
 * render_text - text (LF lines, as templates and the config hold it) as
 * CRLF lines, the last one ended too; a CR of the text's own is dropped,
 * so that a template saved with CRLF does not give CR CR LF
 */
int
render_text(struct buf *out, const char *text)
{
	for (const char *c = text; *c; c++)
		if (*c == '\n') {
			if (buf_puts(out, "\r\n") < 0)
				return -1;
		} else if (*c != '\r' && buf_putc(out, *c) < 0)
			return -1;
	return buf_puts(out, "\r\n") < 0 ? -1 : 0;
}

/*
 * render_text_part - a UTF-8 text part of a multipart copy (its delimiter,
 * fields, a Content-Description when desc is set, the text)
 */
int
render_text_part(struct buf *out, const char *boundary, const char *desc,
    const char *text)
{
	if (buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=utf-8"
	    "\r\nContent-Transfer-Encoding: 8bit\r\n", boundary) < 0 ||
	    (desc && buf_printf(out, "Content-Description: %s\r\n",
	    desc) < 0) || buf_puts(out, "\r\n") < 0)
		return -1;
	return render_text(out, text);
}
