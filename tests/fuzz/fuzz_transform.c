/* fuzz_transform.c - libFuzzer: screen, libetpan parse, range checks, render and rewrite (in process). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mlistd/delivery/bounce.h"
#include "../../mlistd/pipeline/transform.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static struct list_cfg list;
	struct transform_in in;
	struct transform_out out;
	char found[4][ADDR_MAX + 1], *copy;

	cfg.hostname = "lists.example";
	list.name = "demo";
	list.description = "Demo";
	list.subject_prefix = "[demo]";
	list.footer = (size & 1) ? "footer line" : "";
	list.archive_url = "";
	list.html = (int)(size % 3);		/* keep, strip-remote, text */
	list.strip_signature = (size >> 1) & 1;
	/* a private copy, so an over-read past the end is caught by ASan */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	in.cfg = &cfg;
	in.list = &list;
	in.qid = "0123456789ABCDEF";
	in.msg = copy;
	in.len = size;
	in.received = 0;
	in.intact = 0;
	in.want_real = 1;
	in.want_anon = 1;	/* the identity rewrite too: MIME re-serialisation and the HTML sanitiser */
	transform_post(&in, &out);
	transform_out_free(&out);
	bounce_dsn_recipients(copy, size, found, 4);
	free(copy);
	return 0;
}
