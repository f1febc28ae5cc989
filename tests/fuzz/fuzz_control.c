/* fuzz_control.c - libFuzzer: the control socket's request and answer parsers on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mlistd/control/proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *m = malloc(size ? size : 1);
	struct control_req r;
	struct control_ans a;
	const char *why;
	struct buf b;

	if (!m)
		return 0;
	memcpy(m, data, size);
	if (size >= 4)
		(void)control_frame_len(m);
	if (control_req_parse(m, size, &r, &why) == 0) {
		/* what parsed builds again into the same bytes */
		buf_init(&b, 0);
		if (control_req_build(&b, r.flags, r.argc, r.argv) != 0 || b.len != size + 4 ||
		    memcmp(b.data + 4, data, size) != 0)
			abort();
		buf_free(&b);
	}
	memcpy(m, data, size);
	if (control_ans_parse(m, size, &a, &why) == 0 && (strlen(a.out) >= size ||
	    (size_t)(a.err - (const char *)m) + strlen(a.err) + 1 != size))
		abort();
	free(m);
	return 0;
}
