/*
 * pgpin_thread.c - a reply written to an encrypted copy names its parent
 * as the copy's outer header does: by the keyed hash of the real id
 * (delivery/pgpcopy.c; clients thread by the outer header alone). Members
 * who read in clear never saw that hash, so the reply would reach them
 * without its parent link. Here the list maps the hashes it made back:
 *
 *   remember - each judged post's copy: its Message-ID's outer id -> the
 *              real id (store_outerid.c: keyed hash -> sealed id)
 *   parents  - each incoming post: an In-Reply-To or References id of the
 *              outer form that the list knows becomes the real id, in the
 *              real-name copy's header and in the parts a pseudonymous or
 *              anonymous copy is composed from (identity.c maps those on)
 *
 * The encrypted copies of the reply then show the parent's hash again
 * (pgpcopy hashes the real id), the clear ones the real parent. An id the
 * list did not make stays as it is. Nothing is learnt that a member could
 * not see: the real id is in every clear copy and inside every encrypted
 * one, and the hashes are per list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/pgpcopy.h"
#include "mail/header.h"
#include "pipeline/pgpin_thread.h"
#include "util/log.h"

#define ID_MAX		260	/* as identity.c's ids */

/* seed - the instance secret the outer ids are keyed by (NULL: none) */
static const unsigned char *
seed(const struct pipeline *p)
{
	return p->keys ? p->keys->lookup : NULL;
}

/*
 * real_of - the real id behind the outer id tok (n bytes) into out: 1
 * mapped, 0 not an outer id the list knows, -1 store error
 */
static int
real_of(struct pipeline *p, const struct list_cfg *l, const char *tok,
    size_t n, char *out, size_t outlen)
{
	char id[ID_MAX];
	int rc;

	if (n >= sizeof(id))
		return 0;
	memcpy(id, tok, n);
	id[n] = 0;
	if (!pgpcopy_is_outer_id(id, p->cfg->hostname))
		return 0;
	rc = store_outer_map(p->st, l->name, id, out, outlen);
	if (rc == STORE_ERR)
		return -1;
	return rc == STORE_OK;
}

/*
 * map_ids - v (n bytes) with each <id> the list knows as an outer id
 * replaced by the real one, into out; 1 if any was, 0 none, -1 error
 */
static int
map_ids(struct pipeline *p, const struct list_cfg *l, const char *v,
    size_t n, struct buf *out)
{
	const char *a, *b, *end = v + n, *at = v;
	char real[ID_MAX];
	int rc, any = 0;

	for (a = v; (a = memchr(a, '<', (size_t)(end - a))) != NULL; a = b) {
		if ((b = memchr(a, '>', (size_t)(end - a))) == NULL)
			break;
		b++;
		if ((rc = real_of(p, l, a, (size_t)(b - a), real,
		    sizeof(real))) < 0)
			return -1;
		if (rc == 0)
			continue;
		if (buf_append(out, at, (size_t)(a - at)) < 0 ||
		    buf_puts(out, real) < 0)
			return -1;
		at = b;
		any = 1;
	}
	if (buf_append(out, at, (size_t)(end - at)) < 0)
		return -1;
	return any;
}

/* refs_field - a field that names a parent */
static int
refs_field(const struct hdr_field *f)
{
	return hdr_is(f, "In-Reply-To") || hdr_is(f, "References");
}

/*
 * map_field - field f as it is, or with its ids mapped, appended to out;
 * 1 if mapped, 0 not, -1 error
 */
static int
map_field(struct pipeline *p, const struct list_cfg *l,
    const struct hdr_field *f, struct buf *out)
{
	size_t mark = out->len;
	int rc;

	if (buf_append(out, f->start, f->nlen + 1) < 0)
		return -1;
	rc = map_ids(p, l, f->value, f->vlen, out);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		out->len = mark;	/* untouched: the bytes as they were */
		return buf_append(out, f->start, f->len) < 0 ? -1 : 0;
	}
	return buf_puts(out, "\r\n") < 0 ? -1 : 1;
}

/* map_header - the copy's In-Reply-To and References mapped; -1 error */
static int
map_header(struct pipeline *p, const struct list_cfg *l, struct buf *copy)
{
	struct hdr h;
	struct buf out;
	size_t at = 0;
	int rc = 0, any = 0;

	if (hdr_parse((const char *)copy->data, copy->len, &h) < 0)
		return -1;
	buf_init(&out, 0);
	for (int i = 0; i < h.n && rc >= 0; i++) {
		const struct hdr_field *f = &h.f[i];
		size_t off = (size_t)((const unsigned char *)f->start -
		    copy->data);

		if (!refs_field(f))
			continue;
		if ((rc = buf_append(&out, copy->data + at, off - at)) < 0 ||
		    (rc = map_field(p, l, f, &out)) < 0)
			break;
		any |= rc;
		at = off + f->len;
	}
	hdr_free(&h);
	if (rc >= 0 && any && buf_append(&out, copy->data + at,
	    copy->len - at) == 0) {
		buf_free(copy);
		*copy = out;
		return 0;
	}
	buf_free(&out);
	return rc < 0 ? -1 : 0;
}

/*
 * map_parts - the ids the identity stage maps on (TP_REFS: the
 * In-Reply-To ids, a line end, the References ids); -1 error
 */
static int
map_parts(struct pipeline *p, const struct list_cfg *l, struct buf *refs)
{
	struct buf out;
	int rc;

	if (refs->len == 0)
		return 0;
	buf_init(&out, 0);
	rc = map_ids(p, l, (const char *)refs->data, refs->len, &out);
	if (rc == 1) {
		buf_free(refs);
		*refs = out;
		return 0;
	}
	buf_free(&out);
	return rc;
}

/*
 * pgpin_thread_parents - an incoming post's parent ids that are the
 * list's outer ids, the real ones in their place; 0, -1 store error
 */
int
pgpin_thread_parents(struct pipeline *p, const struct list_cfg *l,
    struct transform_out *t)
{
	if (seed(p) == NULL || l->encryption == ENC_OFF)
		return 0;
	if (map_parts(p, l, &t->part[TP_REFS]) < 0)
		return -1;
	return t->rendered.len ? map_header(p, l, &t->rendered) : 0;
}

/*
 * pgpin_thread_remember - the copy's Message-ID as its encrypted copies
 * will show it, recorded with the real one; 0, -1 store error
 */
int
pgpin_thread_remember(struct pipeline *p, const struct list_cfg *l,
    struct buf *copy)
{
	struct hdr h;
	char *v, *a, *b, id[ID_MAX], outer[ID_MAX];
	long long before = 0;
	int rc = 0;

	if (seed(p) == NULL || l->encryption == ENC_OFF ||
	    hdr_parse((const char *)copy->data, copy->len, &h) < 0)
		return 0;
	v = hdr_get_value(&h, "Message-ID");
	hdr_free(&h);
	if (v != NULL && (a = strchr(v, '<')) != NULL &&
	    (b = strchr(a, '>')) != NULL && b - a + 1 < (long)sizeof(id)) {
		snprintf(id, sizeof(id), "%.*s", (int)(b - a + 1), a);
		if (l->archive_days > 0)
			before = p->now - l->archive_days * 86400LL;
		/* an id already of the outer form has nothing to map */
		if (!pgpcopy_is_outer_id(id, p->cfg->hostname) &&
		    pgpcopy_outer_id(seed(p), l->name, p->cfg->hostname, id,
		    outer, sizeof(outer)) == 0 &&
		    store_outer_put(p->st, l->name, outer, id, p->now,
		    before) != STORE_OK)
			rc = -1;
	}
	free(v);
	return rc;
}
