/* fuzz_dsn.c - libFuzzer: delivery/bounce.c's DSN reader (anyone may send). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mlistd/delivery/bounce.h"

/*
 * The input as the whole bounce (from <>, then from someone else), and the
 * delivery-status part it yields through the recipients' reader; each in
 * a buffer of its exact size, so that ASan sees any read past it.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *m = malloc(size ? size : 1), found[8][ADDR_MAX + 1], *part;
	char orig[8][ENVID_ORCPT_MAX];
	const char *st;
	size_t slen = 0;

	if (!m)
		return 0;
	memcpy(m, data, size);
	(void)bounce_dsn_status("someone@example.org", m, size, &slen);
	if ((st = bounce_dsn_status("", m, size, &slen)) != NULL) {
		if (st < m || st + slen > m + size)
			abort();	/* the part must lie inside it */
		if ((part = malloc(slen ? slen : 1)) != NULL) {
			memcpy(part, st, slen);
			(void)bounce_dsn_failed(part, slen, found, orig, 8);
			free(part);
		}
	}
	(void)bounce_dsn_recipients(m, size, found, 8);
	free(m);
	return 0;
}
