/*
 * pgpin_thread.c - a reply written to an encrypted copy names its parent
 * as the copy's outer header does: by the keyed hash of the real id
 * (delivery/pgpcopy.c; clients thread by the outer header alone). Members
 * who read in clear never saw that hash, so the reply would reach them
 * without its parent link. Here the list maps the hashes it made back:
 *
 *   remember - each judged post's copy (and each private reply's): its
 *              Message-ID's outer id -> the real id and the copy's
 *              References chain (store_outerid.c: keyed hash -> sealed)
 *   parents  - each incoming post and private reply: an In-Reply-To or
 *              References id of the outer form that the list knows
 *              becomes the real id, in the real-name copy's header and
 *              in the parts a pseudonymous or anonymous copy is composed
 *              from (identity.c maps those on); in References, the chain
 *              its post carried comes back before it (a reply with
 *              In-Reply-To alone gets a References field of it)
 *
 * The chain matters because an encrypted copy shows outside only the
 * parent (pgpcopy.c: fixed-length ids), so a client answering it writes
 * References: <hash of grandparent> <hash of parent> at most; the thread's
 * earlier posts come back from the parent's record. The encrypted copies
 * of the reply then show the parent's hash again (pgpcopy hashes the real
 * id), the clear ones - and the protected headers inside the encrypted
 * ones, which are the clear copy - the real ids, the whole chain. Digests
 * and notices quote the clear copy, so they carry it too. An id the list
 * did not make stays as it is. Nothing is learnt that a member could
 * not see: the real id is in every clear copy and inside every encrypted
 * one, and the hashes are per list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/pgpcopy.h"
#include "mail/header.h"
#include "mail/msgid.h"
#include "pipeline/pgpin_thread.h"
#include "util/log.h"

#define ID_MAX		260	/* as identity.c's ids */
#define CHAIN_MAX	MSGID_CHAIN	/* ids of a References chain */

/* seed - the instance secret the outer ids are keyed by (NULL: none) */
static const unsigned char *
seed(const struct pipeline *p)
{
	return p->keys ? p->keys->lookup : NULL;
}

/*
 * real_of - the real id behind the outer id tok (n bytes) into out, its
 * chain appended to chain (NULL: not wanted): 1 mapped, 0 not an outer id
 * the list knows, -1 store error
 */
static int
real_of(struct pipeline *p, const struct list_cfg *l, const char *tok,
    size_t n, char *out, size_t outlen, struct buf *chain)
{
	char id[ID_MAX];
	int rc;

	if (n >= sizeof(id))
		return 0;
	memcpy(id, tok, n);
	id[n] = 0;
	if (!pgpcopy_is_outer_id(id, p->cfg->hostname))
		return 0;
	rc = store_outer_map(p->st, l->name, id, out, outlen, chain);
	if (rc == STORE_ERR)
		return -1;
	return rc == STORE_OK;
}

/*
 * map_ids - v (n bytes) with each <id> the list knows as an outer id
 * replaced by the real one (the first CHAIN_MAX ids looked up, the rest
 * as they are), into out; 1 if any was, 0 none, -1 error
 */
static int
map_ids(struct pipeline *p, const struct list_cfg *l, const char *v,
    size_t n, struct buf *out)
{
	const char *id, *end = v + n, *at = v, *done = v;
	char real[ID_MAX];
	size_t len;
	int rc, any = 0;

	for (int i = 0; i < CHAIN_MAX && msgid_next(&at, end, &id, &len); i++) {
		if ((rc = real_of(p, l, id, len, real, sizeof(real),
		    NULL)) < 0)
			return -1;
		if (rc == 0)
			continue;
		if (buf_append(out, done, (size_t)(id - done)) < 0 ||
		    buf_puts(out, real) < 0)
			return -1;
		done = at;
		any = 1;
	}
	if (buf_append(out, done, (size_t)(end - done)) < 0)
		return -1;
	return any;
}

/*
 * chain_add - the id (n bytes) at the end of chain c, ids apart by
 * spaces, unless c holds it already (an id has no '<' or '>' inside, so
 * a match of the whole bracketed id is that id); -1 out of memory
 */
static int
chain_add(struct buf *c, const char *id, size_t n)
{
	if (n == 0 || (c->len && memmem(c->data, c->len, id, n) != NULL))
		return 0;
	if (c->len && buf_putc(c, ' ') < 0)
		return -1;
	return buf_append(c, id, n) < 0 ? -1 : 0;
}

/* count_ids - how many <id> v (n bytes) holds */
static int
count_ids(const char *v, size_t n)
{
	const char *id, *at = v;
	size_t len;
	int k = 0;

	if (n == 0)
		return 0;
	while (msgid_next(&at, v + n, &id, &len))
		k++;
	return k;
}

/* chain_add_all - the kept ids of v (n bytes) added to chain c */
static int
chain_add_all(struct buf *c, const char *v, size_t n)
{
	const char *id, *at = v;
	size_t len;
	int k = count_ids(v, n);

	if (n == 0)
		return 0;
	for (int i = 0; msgid_next(&at, v + n, &id, &len); i++)
		if (msgid_chain_kept(i, k) && chain_add(c, id, len) < 0)
			return -1;
	return 0;
}

/* chain_cap - chain c cut to its kept ids (the first and the last ones) */
static void
chain_cap(struct buf *c)
{
	const char *at = (const char *)c->data, *end, *id;
	const char *first_end = NULL, *cut = NULL;
	size_t len;
	int k = count_ids(at, c->len);

	if (k <= CHAIN_MAX)
		return;
	end = at + c->len;
	for (int i = 0; msgid_next(&at, end, &id, &len); i++) {
		if (i == 0)
			first_end = at;
		if (i > 0 && msgid_chain_kept(i, k)) {
			cut = id;
			break;
		}
	}
	/* "<first> " then the tail from cut */
	len = (size_t)(end - cut);
	memmove((char *)first_end + 1, cut, len);
	c->len = (size_t)(first_end + 1 - (const char *)c->data) + len;
}

/*
 * parent_chain - the chain the post of the last outer id in v that the
 * list knows carried, into chain (a client answering an encrypted copy
 * names that copy last, and saw nothing before its parent); 1 found, 0
 * none, -1 error
 */
static int
parent_chain(struct pipeline *p, const struct list_cfg *l, const char *v,
    size_t n, struct buf *chain)
{
	const char *id, *at = v, *last = NULL;
	char real[ID_MAX];
	size_t len, lastlen = 0;
	int k = count_ids(v, n), rc;
	struct buf up;

	for (int i = 0; msgid_next(&at, v + n, &id, &len); i++) {
		if (!msgid_chain_kept(i, k) || (rc = real_of(p, l, id, len,
		    real, sizeof(real), NULL)) == 0)
			continue;
		if (rc < 0)
			return -1;
		last = id;
		lastlen = len;
	}
	if (last == NULL)
		return 0;
	buf_init(&up, 0);
	rc = real_of(p, l, last, lastlen, real, sizeof(real), &up);
	if (rc == 1 && chain_add_all(chain, (const char *)up.data, up.len) < 0)
		rc = -1;
	buf_free(&up);
	return rc;
}

/*
 * expand - the References ids v (n bytes) as a clear copy shows them,
 * into chain: the chain the parent's post carried (parent_chain), then
 * v's ids, each outer id the list knows as its real id, any other as it
 * is. 1 if any was mapped, 0 none, -1 error
 */
static int
expand(struct pipeline *p, const struct list_cfg *l, const char *v,
    size_t n, struct buf *chain)
{
	const char *id, *at = v;
	char real[ID_MAX];
	size_t len;
	int k = count_ids(v, n), rc, any;

	if ((any = parent_chain(p, l, v, n, chain)) < 0)
		return -1;
	for (int i = 0; msgid_next(&at, v + n, &id, &len); i++) {
		if (!msgid_chain_kept(i, k))
			continue;
		rc = real_of(p, l, id, len, real, sizeof(real), NULL);
		if (rc < 0 || (rc == 1 ? chain_add(chain, real,
		    strlen(real)) : chain_add(chain, id, len)) < 0)
			return -1;
		any |= rc;
	}
	chain_cap(chain);
	return any;
}

/* refs_field - a field that names a parent */
static int
refs_field(const struct hdr_field *f)
{
	return hdr_is(f, "In-Reply-To") || hdr_is(f, "References");
}

/*
 * map_field - field f as it is, or with its ids mapped (References: the
 * chain restored, expand), appended to out; 1 if mapped, 0 not, -1 error
 */
static int
map_field(struct pipeline *p, const struct list_cfg *l,
    const struct hdr_field *f, struct buf *out)
{
	size_t mark = out->len;
	struct buf chain;
	int rc;

	if (hdr_is(f, "References")) {
		buf_init(&chain, 0);
		rc = expand(p, l, f->value, f->vlen, &chain);
		if (rc == 1 && msgid_fold(chain.data, chain.len, out) < 0)
			rc = -1;
		buf_free(&chain);
		if (rc != 0)
			return rc;
		return buf_append(out, f->start, f->len) < 0 ? -1 : 0;
	}
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

/*
 * chain_of_parent - for a reply without References whose In-Reply-To f
 * named an outer id: a References field of the parent's chain and the
 * parent, appended to out; -1 error
 */
static int
chain_of_parent(struct pipeline *p, const struct list_cfg *l,
    const struct hdr_field *f, struct buf *out)
{
	struct buf chain;
	int rc;

	buf_init(&chain, 0);
	rc = expand(p, l, f->value, f->vlen, &chain);
	if (rc == 1 && msgid_fold(chain.data, chain.len, out) < 0)
		rc = -1;
	buf_free(&chain);
	return rc < 0 ? -1 : 0;
}

/* map_header - the copy's In-Reply-To and References mapped; -1 error */
static int
map_header(struct pipeline *p, const struct list_cfg *l, struct buf *copy)
{
	struct hdr h;
	struct buf out;
	size_t at = 0;
	int rc = 0, any = 0, refs;

	if (hdr_parse((const char *)copy->data, copy->len, &h) < 0)
		return -1;
	refs = hdr_get(&h, "References") != NULL;
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
		/* only In-Reply-To: the chain a client did not write */
		if (rc == 1 && !refs && chain_of_parent(p, l, f, &out) < 0)
			rc = -1;
		refs = 1;
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
 * In-Reply-To ids, a line end, the References ids, with their chain
 * restored); -1 error
 */
static int
map_parts(struct pipeline *p, const struct list_cfg *l, struct buf *refs)
{
	const char *v = (const char *)refs->data, *nl;
	size_t irt, rest;
	struct buf out, chain;
	int a, b = 0;

	if (refs->len == 0)
		return 0;
	nl = memchr(v, '\n', refs->len);
	irt = nl ? (size_t)(nl - v) : refs->len;
	rest = nl ? refs->len - irt - 1 : 0;
	buf_init(&out, 0);
	buf_init(&chain, 0);
	a = map_ids(p, l, v, irt, &out);
	if (a >= 0 && nl) {
		/* no References: the chain of the In-Reply-To parent */
		b = rest || a != 1 ? expand(p, l, nl + 1, rest, &chain) :
		    expand(p, l, v, irt, &chain);
		if (b >= 0 && (buf_putc(&out, '\n') < 0 || (b ?
		    buf_append(&out, chain.data, chain.len) :
		    buf_append(&out, nl + 1, rest)) < 0))
			b = -1;
	}
	buf_free(&chain);
	if (a < 0 || b < 0 || (a == 0 && b == 0)) {
		buf_free(&out);
		return a < 0 || b < 0 ? -1 : 0;
	}
	buf_free(refs);
	*refs = out;
	return 0;
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
 * id_of - the first <id> of a Message-ID value into out; 0 if none fits
 */
static int
id_of(const char *v, char *out, size_t n)
{
	const char *id, *at = v;
	size_t len;

	if (v == NULL || !msgid_next(&at, v + strlen(v), &id, &len) || len >= n)
		return 0;
	memcpy(out, id, len);
	out[len] = 0;
	return 1;
}

/*
 * pgpin_thread_remember - the copy's Message-ID as its encrypted copies
 * will show it, recorded with the real one and the copy's References
 * chain (a reply to an encrypted copy gets the chain back from it). An id
 * already of the outer form (a pseudonymous list's own) is its own outer
 * id: recorded for its chain. 0, -1 store error
 */
int
pgpin_thread_remember(struct pipeline *p, const struct list_cfg *l,
    struct buf *copy)
{
	struct hdr h;
	struct buf chain;
	char *v, *refs, id[ID_MAX], outer[ID_MAX];
	long long before = 0;
	int rc = 0, ok;

	if (seed(p) == NULL || l->encryption == ENC_OFF ||
	    hdr_parse((const char *)copy->data, copy->len, &h) < 0)
		return 0;
	v = hdr_get_value(&h, "Message-ID");
	refs = hdr_get_value(&h, "References");
	hdr_free(&h);
	buf_init(&chain, 0);
	if (l->archive_days > 0)
		before = p->now - l->archive_days * 86400LL;
	ok = id_of(v, id, sizeof(id));
	if (ok && pgpcopy_is_outer_id(id, p->cfg->hostname))
		snprintf(outer, sizeof(outer), "%s", id);
	else if (ok && pgpcopy_outer_id(seed(p), l->name, p->cfg->hostname,
	    id, outer, sizeof(outer)) < 0)
		ok = 0;
	if (ok && refs && (chain_add_all(&chain, refs, strlen(refs)) < 0 ||
	    buf_putc(&chain, 0) < 0))
		rc = -1;
	if (ok && rc == 0 && store_outer_put(p->st, l->name, outer, id,
	    chain.len ? (const char *)chain.data : NULL, p->now, before) !=
	    STORE_OK)
		rc = -1;
	buf_free(&chain);
	free(v);
	free(refs);
	return rc;
}
