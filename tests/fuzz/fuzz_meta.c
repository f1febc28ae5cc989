/*
 * fuzz_meta.c - libFuzzer: the metadata walkers (JPEG, PNG, WebP, PDF and
 * zip documents) and the MIME structure repair, on a private copy of the
 * input so that ASan sees any read past its end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mlistd/pipeline/meta.h"
#include "../../mlistd/pipeline/mimefix.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy = malloc(size ? size : 1);
	struct buf out;
	char what[200];
	int removed;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	buf_init(&out, 0);
	(void)meta_jpeg_strip(copy, size, &out, &removed);
	buf_reset(&out);
	(void)meta_png_strip(copy, size, &out, &removed);
	buf_reset(&out);
	(void)meta_webp_strip(copy, size, &out, &removed);
	buf_reset(&out);
	(void)meta_document(copy, size, what, sizeof(what));
	/* the input as a message body under a multipart header */
	(void)mimefix((const char *)copy, size, 0, "multipart/mixed; boundary=\"A\"", &out);
	buf_free(&out);
	free(copy);
	return 0;
}
