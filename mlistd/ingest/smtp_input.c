/*
 * smtp_input.c - turn the bytes a client sends into command lines and
 * message data, and nothing else.
 *
 * Lines end in CRLF, full stop. A bare LF or a bare CR anywhere - in a
 * command or in DATA - is an error the caller answers with a 5xx and a
 * disconnect: that closes every SMTP smuggling variant (\n.\n, \r.\r,
 * \n.\r\n, ...), because the only end of data we know is CRLF.CRLF.
 *
 * The parser is a byte-at-a-time state machine with no I/O, so a test can
 * feed it one byte per call and must get the same result as in one call.
 * Memory is bounded: a command line is capped, and DATA is handed to the
 * caller's buffer, which the caller drains after every call.
 */
#include <string.h>

#include "ingest/smtp_input.h"
#include "mail/header.h"

enum {
	ST_TEXT,	/* inside a line */
	ST_CR,		/* saw CR, need LF */
	ST_BOL,		/* DATA: at the beginning of a line */
	ST_DOT,		/* DATA: "." at the beginning of a line */
	ST_DOT_CR	/* DATA: ".\r" at the beginning of a line */
};

/* smtp_in_init - start in command mode */
void
smtp_in_init(struct smtp_in *in)
{
	memset(in, 0, sizeof(*in));
	buf_init(&in->line, SMTP_LINE_MAX);
	in->state = ST_TEXT;
}

/* smtp_in_free - release */
void
smtp_in_free(struct smtp_in *in)
{
	buf_free(&in->line);
}

/* smtp_in_start_data - after 354: bytes now go to out until CRLF.CRLF */
void
smtp_in_start_data(struct smtp_in *in, struct buf *out, size_t max_size)
{
	in->data_mode = 1;
	in->state = ST_BOL;
	in->data = out;
	in->max_size = max_size;
	in->size = 0;
	in->too_big = in->long_line = in->too_many_fields = 0;
	in->linelen = 0;
	in->in_header = 1;
	in->fields = 0;
}

/*
 * header_line - the first byte of a DATA line: while in the header section,
 * count the fields (a line that does not continue the one before starts
 * one); the empty line ends the section. Past HDR_MAX_FIELDS the message is
 * refused whole: a parser that keeps the first 1,000 fields would let the
 * rest ride through unfiltered and unsigned.
 */
static void
header_line(struct smtp_in *in, unsigned char c)
{
	if (!in->in_header)
		return;
	if (c == '\r')
		in->in_header = 0;
	else if (c != ' ' && c != '\t' && ++in->fields > HDR_MAX_FIELDS)
		in->too_many_fields = 1;
}

/* data_put - keep a DATA byte unless the message is already too big */
static void
data_put(struct smtp_in *in, unsigned char c)
{
	if (++in->linelen > SMTP_LINE_MAX)
		in->long_line = 1;
	if (in->too_big)
		return;
	if (++in->size > in->max_size || buf_putc(in->data, c) < 0)
		in->too_big = 1;
}

/* text_byte - a DATA byte inside a line: CR may end it, a bare LF may not */
static enum smtp_in_ev
text_byte(struct smtp_in *in, unsigned char c)
{
	if (c == '\n')
		return IN_BARE_LF;
	if (c == '\r') {
		in->state = ST_CR;
		return IN_MORE;
	}
	data_put(in, c);
	in->state = ST_TEXT;
	return IN_MORE;
}

/* feed_data - one DATA byte; returns an event or IN_MORE */
static enum smtp_in_ev
feed_data(struct smtp_in *in, unsigned char c)
{
	switch (in->state) {
	case ST_BOL:
		header_line(in, c);
		if (c == '.') {
			in->state = ST_DOT;
			return IN_MORE;
		}
		/* FALLTHROUGH */
	case ST_TEXT:
		return text_byte(in, c);
	case ST_CR:
		if (c != '\n')
			return IN_BARE_CR;
		data_put(in, '\r');
		data_put(in, '\n');
		in->linelen = 0;
		in->state = ST_BOL;
		return IN_MORE;
	case ST_DOT:
		if (c == '\r') {
			in->state = ST_DOT_CR;
			return IN_MORE;
		}
		/*
		 * dot-stuffed line: drop the leading dot (RFC 5321 4.5.2); it
		 * still counts toward the line's length
		 */
		if (c != '\n')
			in->linelen++;
		return text_byte(in, c);
	case ST_DOT_CR:
		if (c != '\n')
			return IN_BARE_CR;
		in->data_mode = 0;
		in->state = ST_TEXT;
		in->linelen = 0;
		in->data = NULL;
		return IN_DATA_END;
	}
	return IN_MORE;
}

/* feed_command - one command byte; returns an event or IN_MORE */
static enum smtp_in_ev
feed_command(struct smtp_in *in, unsigned char c)
{
	enum smtp_in_ev ev;

	if (in->state == ST_CR) {
		if (c != '\n')
			return IN_BARE_CR;
		in->state = ST_TEXT;
		ev = in->overflow ? IN_LINE_TOO_LONG : IN_LINE;
		in->overflow = 0;
		in->linelen = 0;
		return ev;
	}
	if (c == '\n')
		return IN_BARE_LF;
	if (c == '\r') {
		in->state = ST_CR;
		return IN_MORE;
	}
	if (++in->linelen > SMTP_LINE_MAX - 2 || buf_putc(&in->line, c) < 0) {
		in->overflow = 1;
		buf_reset(&in->line);
	}
	return IN_MORE;
}

/*
 * smtp_in_feed - consume bytes until an event; returns how many were used.
 * For IN_LINE the caller reads and then resets in->line.
 */
size_t
smtp_in_feed(struct smtp_in *in, const unsigned char *p, size_t n, enum smtp_in_ev *ev)
{
	size_t i;

	*ev = IN_MORE;
	for (i = 0; i < n; i++) {
		*ev = in->data_mode ? feed_data(in, p[i]) : feed_command(in, p[i]);
		if (*ev != IN_MORE)
			return i + 1;
	}
	return n;
}
