/*
 * msgid.c - the Message-ID of a header block: what binds a DSN to the copy
 * of ours it returns (delivery/bounce.c reads it, delivery/distribute.c
 * records it). One function, so that both sides agree on its form.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/header.h"
#include "mail/msgid.h"

/*
 * msgid_of - the Message-ID of header block m (its <...>, at most n - 1
 * bytes) into out: 0, or -1 when it has none. Linear in len.
 */
int
msgid_of(const char *m, size_t len, char *out, size_t n)
{
	struct hdr h;
	char *v, *a, *b;
	int rc = -1;

	if (hdr_parse(m, len, &h) < 0)
		return -1;
	v = hdr_get_value(&h, "Message-ID");
	hdr_free(&h);
	if (v && (a = strchr(v, '<')) != NULL && (b = strchr(a, '>')) != NULL &&
	    b - a > 2 && (size_t)(b - a + 1) < n) {
		memcpy(out, a, (size_t)(b - a + 1));
		out[b - a + 1] = 0;
		rc = 0;
	}
	free(v);
	return rc;
}
