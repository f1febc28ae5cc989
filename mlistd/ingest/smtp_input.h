/* smtp_input.h - SMTP byte framing: command lines and DATA, CRLF only. */
#ifndef MLIST_SMTP_INPUT_H
#define MLIST_SMTP_INPUT_H

#include <stddef.h>

#include "util/buf.h"

#define SMTP_LINE_MAX	1000	/* octets, CRLF included (RFC 5321 4.5.3.1.6) */

enum smtp_in_ev {
	IN_MORE,		/* consumed everything, need more input */
	IN_LINE,		/* a command line is in ->line (no CRLF) */
	IN_LINE_TOO_LONG,	/* a command line was over SMTP_LINE_MAX; discarded */
	IN_DATA_END,		/* CRLF.CRLF seen; message bytes went to ->data */
	IN_BARE_LF,		/* LF not preceded by CR: smuggling or a broken client */
	IN_BARE_CR		/* CR not followed by LF */
};

struct smtp_in {
	int		 data_mode;
	int		 state;		/* internal */
	size_t		 linelen;	/* octets of the current line so far */
	int		 overflow;	/* current command line too long */
	struct buf	 line;		/* command line */
	struct buf	*data;		/* DATA output (unstuffed, CRLF kept); caller drains */
	size_t		 max_size;	/* DATA bytes beyond this are counted, not kept */
	size_t		 size;		/* DATA bytes seen */
	int		 too_big;
	int		 long_line;	/* a DATA line was over SMTP_LINE_MAX */
	int		 in_header;	/* DATA: still in the header section */
	int		 fields;	/* header fields so far */
	int		 too_many_fields;	/* more than HDR_MAX_FIELDS */
};

void	smtp_in_init(struct smtp_in *);
void	smtp_in_free(struct smtp_in *);
void	smtp_in_start_data(struct smtp_in *, struct buf *out, size_t max_size);
size_t	smtp_in_feed(struct smtp_in *, const unsigned char *, size_t, enum smtp_in_ev *);

#endif
