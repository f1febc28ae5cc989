/*
 * archive.c - every distributed copy, exactly as members received it
 * (already rewritten for the list's identity mode, signed), sealed with the
 * instance key in the store and numbered per list. Its one-line summary
 * (date, From display, Subject) is sealed too. Who may read it, and from
 * when (disclosure.archive, archive.since_join), pipeline/disclosure.c
 * decides; archive.retention_days erases older posts (the queue manager
 * runs the expiry).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "header.h"

static int archive_keep(struct store *, const struct list_cfg *, long long,
    const void *, size_t, long long *);

/* one_line - a header value without folding or control characters */
static void
one_line(const char *v, struct buf *out, size_t max)
{
	size_t n = 0;

	for (; v && *v && n < max; v++, n++)
		buf_putc(out, (unsigned char)*v < 32 ? ' ' : *v);
}

/*
 * archive_distributed - a copy went out to the members: archive it, and
 * queue it for the digest; an archived copy waits for the digest as its
 * archive row (sealed and committed once: a big post's bytes are the
 * queue manager's loop's time, #15)
 */
int
archive_distributed(struct store *st, const struct list_cfg *l, long long now, const void *copy, size_t len)
{
	long long n = 0;

	if (archive_keep(st, l, now, copy, len, &n) < 0)
		return -1;
	if (n > 0)
		return store_digest_add_archived(st, l->name, now, n) ==
		    STORE_OK ? 0 : -1;
	return store_digest_add(st, l->name, now, copy, len) == STORE_OK ? 0 : -1;
}

/* archive_add - keep a distributed copy (if the list keeps an archive) */
int
archive_add(struct store *st, const struct list_cfg *l, long long now, const void *copy, size_t len)
{
	return archive_keep(st, l, now, copy, len, NULL);
}

/* archive_keep - archive_add; its number in *num (left alone if not kept) */
static int
archive_keep(struct store *st, const struct list_cfg *l, long long now,
    const void *copy, size_t len, long long *num)
{
	struct buf sum;
	struct hdr h;
	char *from, *subject;
	int rc;

	if (l->archive_who == WHO_NONE)
		return 0;
	if (hdr_parse(copy, len, &h) < 0)
		return -1;
	from = hdr_get_value(&h, "From");
	subject = hdr_get_value(&h, "Subject");
	buf_init(&sum, 0);
	one_line(from, &sum, 120);
	buf_puts(&sum, "\t");
	one_line(subject, &sum, 200);
	rc = store_archive_add(st, l->name, now, buf_cstr(&sum), copy, len,
	    num) == STORE_OK ? 0 : -1;
	buf_free(&sum);
	free(from);
	free(subject);
	hdr_free(&h);
	return rc;
}
