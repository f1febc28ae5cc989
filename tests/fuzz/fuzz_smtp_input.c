/* fuzz_smtp_input.c - libFuzzer: the SMTP session (framing + dialogue) on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mlistd/ingest/smtp_input.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_in in;
	struct buf out;
	enum smtp_in_ev ev;
	size_t off = 0, used;
	int data_mode = size > 0 && (data[0] & 1);

	smtp_in_init(&in);
	buf_init(&out, 1 << 16);
	if (data_mode)
		smtp_in_start_data(&in, &out, 4096);
	while (off < size) {
		used = smtp_in_feed(&in, data + off, size - off, &ev);
		if (used == 0 && ev == IN_MORE)
			abort();	/* no progress: a parser bug */
		off += used;
		if (ev == IN_BARE_LF || ev == IN_BARE_CR)
			break;
		if (ev == IN_LINE)
			buf_reset(&in.line);
		if (ev == IN_DATA_END)
			break;
		buf_reset(&out);
	}
	smtp_in_free(&in);
	buf_free(&out);
	return 0;
}
