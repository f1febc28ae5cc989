/*
 * msgid.c - the Message-ID of a header block: what binds a DSN to the copy
 * of ours it returns (delivery/bounce.c reads it, delivery/distribute.c
 * records it). One function, so that both sides agree on its form.
 * And a References chain as every stage handles one (transform, identity,
 * pgpin_thread): its ids one by one, which of a long chain a copy keeps,
 * the field folded.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/header.h"
#include "mail/msgid.h"
#include "util/buf.h"

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

/*
 * msgid_chain_kept - is the i-th of a References chain's n ids kept: the
 * first (the thread's root) and the last MSGID_CHAIN - 1, as RFC 5322
 * 3.6.4 suggests when a chain grows long. The most recent ids (the
 * parent's last) are the ones clients thread by: a cap that kept the
 * first ones lost them
 */
int
msgid_chain_kept(int i, int n)
{
	return i == 0 || i >= n - (MSGID_CHAIN - 1);
}

/*
 * msgid_next - the next <id> of *at..end: its start and length (the
 * brackets included), *at past it; 0 when none is left
 */
int
msgid_next(const char **at, const char *end, const char **id, size_t *n)
{
	const char *a, *b;

	/* an empty buffer's data may be NULL: memchr must not see it */
	if (*at == NULL || *at >= end ||
	    (a = memchr(*at, '<', (size_t)(end - *at))) == NULL ||
	    (b = memchr(a, '>', (size_t)(end - a))) == NULL)
		return 0;
	*id = a;
	*n = (size_t)(b + 1 - a);
	*at = b + 1;
	return 1;
}

/*
 * msgid_fold - a References field of the ids in v (n bytes) appended to
 * out, folded before 78 columns (a chain of 40 list ids is some 2,000
 * bytes: on one line, past RFC 5322's 998, relays refuse it); -1 no memory
 */
int
msgid_fold(const void *v, size_t n, struct buf *out)
{
	const char *at = v, *end = at + n, *id;
	size_t len, col = 11;	/* "References:" */
	int rc = buf_puts(out, "References:");

	while (rc == 0 && msgid_next(&at, end, &id, &len)) {
		rc = buf_puts(out, col + 1 + len > 77 && col > 11 ?
		    "\r\n " : " ");
		col = col + 1 + len > 77 && col > 11 ? 1 + len : col + 1 + len;
		if (rc == 0)
			rc = buf_append(out, id, len);
	}
	return rc < 0 || buf_puts(out, "\r\n") < 0 ? -1 : 0;
}
