/*
 * audit.c - every leadership action is appended to a per-list log. Each
 * entry's hash covers the list, its number, time, actor (a role, never a
 * person), action, detail and the previous entry's hash; the hash, behind
 * a context string, is signed with the list's audit key (Ed25519, derived
 * from the master key for this purpose alone: rotating DKIM leaves the log
 * alone). Entries written before that were signed over the bare hash with
 * the DKIM key of their selector, which is kept, and still verify. Editing, removing or reordering
 * an entry breaks the chain or a signature, and 'mlistctl audit LIST
 * --verify' says where. The log lives in the same database as the state
 * it describes; its value is that nobody without the master key can alter
 * it unseen, and that members can be shown it.
 *
 * A new entry's detail is stored as a code and its values (audit_code)
 * and worded only when it is read (audit_words, audit_render: the pieces
 * of README's "The audit log's words"), since signed words could never be
 * translated; who may read a detail is disclosure.c's decision.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "listkey.h"
#include "pseudonym.h"
#include "../util/fsutil.h"

#define AUDIT_SELECTOR	"audit-v2"		/* signed by the list's audit key */
#define AUDIT_SIG_CTX	"mlistd audit entry v2"	/* what the signature is over, before the hash */
#define SIG_MSG_LEN	(sizeof(AUDIT_SIG_CTX) + 32)

/* sig_msg - what an entry's signature covers: the context string, NUL, the hash */
static void
sig_msg(const unsigned char hash[32], unsigned char m[SIG_MSG_LEN])
{
	memcpy(m, AUDIT_SIG_CTX, sizeof(AUDIT_SIG_CTX));
	memcpy(m + sizeof(AUDIT_SIG_CTX), hash, 32);
}

/* audit_pk - the public half of list's audit key; -1 without keys */
static int
audit_pk(struct store *st, const char *list, unsigned char pk[32])
{
	const struct keys *k = store_keys(st);
	unsigned char seed[32], sk[64];

	if (k == NULL)
		return -1;
	keys_audit_seed(k, list, seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

/* audit_entry_hash - SHA-256 over the entry's fields, each length-prefixed */
int
audit_entry_hash(const char *list, const struct audit_entry *e, unsigned char out[32])
{
	crypto_hash_sha256_state st;
	char num[64];
	const char *f[5];
	int n;

	n = snprintf(num, sizeof(num), "%lld %lld", e->seq, e->at);
	f[0] = list;
	f[1] = num;
	f[2] = e->actor;
	f[3] = e->action;
	f[4] = e->detail;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)"mlistd-audit-v1", 15);
	for (int i = 0; i < 5; i++) {
		unsigned char len[4];
		size_t l = strlen(f[i]);

		len[0] = (unsigned char)(l >> 24);
		len[1] = (unsigned char)(l >> 16);
		len[2] = (unsigned char)(l >> 8);
		len[3] = (unsigned char)l;
		crypto_hash_sha256_update(&st, len, 4);
		crypto_hash_sha256_update(&st, (const unsigned char *)f[i], l);
	}
	crypto_hash_sha256_update(&st, e->prev, 32);
	(void)n;
	return crypto_hash_sha256_final(&st, out);
}

/* audit_append - one entry at the end of the list's log (inside the caller's transaction, if any) */
int
audit_append(struct store *st, const char *list, long long now, const char *actor, const char *action,
    const char *detail)
{
	unsigned char seed[32], pk[32], sk[64], m[SIG_MSG_LEN];
	const struct keys *k = store_keys(st);
	struct audit_entry e;

	memset(&e, 0, sizeof(e));
	if (k == NULL || store_audit_last(st, list, &e.seq, e.prev) != STORE_OK)
		return -1;
	e.seq++;
	e.at = now;
	snprintf(e.actor, sizeof(e.actor), "%s", actor);
	snprintf(e.action, sizeof(e.action), "%s", action);
	snprintf(e.detail, sizeof(e.detail), "%s", detail);
	snprintf(e.selector, sizeof(e.selector), "%s", AUDIT_SELECTOR);
	keys_audit_seed(k, list, seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	audit_entry_hash(list, &e, e.hash);
	sig_msg(e.hash, m);
	crypto_sign_detached(e.sig, NULL, m, sizeof(m), sk);
	sodium_memzero(sk, sizeof(sk));
	return store_audit_add(st, list, &e) == STORE_OK ? 0 : -1;
}

struct keyset {
	char		 sel[16][96];
	unsigned char	 pk[16][32];
	int		 n;
};

static void
collect_key(const char *selector, const unsigned char *pk, int active, long long created, void *arg)
{
	struct keyset *k = arg;

	(void)active;
	(void)created;
	if (k->n < 16) {
		snprintf(k->sel[k->n], sizeof(k->sel[0]), "%s", selector);
		memcpy(k->pk[k->n++], pk, 32);
	}
}

struct walk {
	const char	*list;
	struct keyset	*keys;
	unsigned char	 audit_pk[32];
	int		 have_audit_pk;
	struct audit_check *c;
	unsigned char	 prev[32];
	long long	 expect;
};

/* check_sig - an entry signed by the list's audit key, over the context and the hash */
static void
check_sig(struct walk *w, const struct audit_entry *e)
{
	unsigned char m[SIG_MSG_LEN];

	sig_msg(e->hash, m);
	if (!w->have_audit_pk)
		snprintf(w->c->why, sizeof(w->c->why), "entry %lld is signed by the audit key, which "
		    "needs the instance's keys to check", e->seq);
	else if (crypto_sign_verify_detached(e->sig, m, sizeof(m), w->audit_pk) != 0)
		snprintf(w->c->why, sizeof(w->c->why), "entry %lld has a bad signature", e->seq);
}

/* check_one - the chain, the numbering, the hash and the signature of one entry */
static void
check_one(const struct audit_entry *e, void *arg)
{
	struct walk *w = arg;
	unsigned char h[32];
	int k;

	w->c->entries++;
	if (w->c->bad_seq)
		return;
	if (e->seq != w->expect)
		snprintf(w->c->why, sizeof(w->c->why), "entry %lld is missing (the log jumps to %lld)", w->expect, e->seq);
	else if (memcmp(e->prev, w->prev, 32) != 0)
		snprintf(w->c->why, sizeof(w->c->why), "entry %lld does not follow the one before it", e->seq);
	else if (audit_entry_hash(w->list, e, h), memcmp(h, e->hash, 32) != 0)
		snprintf(w->c->why, sizeof(w->c->why), "entry %lld was changed after it was written", e->seq);
	else if (strcmp(e->selector, AUDIT_SELECTOR) == 0)
		check_sig(w, e);
	else {
		/* written before the audit key: the DKIM key of its selector, over the bare hash */
		for (k = 0; k < w->keys->n && strcmp(w->keys->sel[k], e->selector); k++)
			;
		if (k == w->keys->n)
			snprintf(w->c->why, sizeof(w->c->why), "entry %lld is signed by an unknown key", e->seq);
		else if (crypto_sign_verify_detached(e->sig, e->hash, 32, w->keys->pk[k]) != 0)
			snprintf(w->c->why, sizeof(w->c->why), "entry %lld has a bad signature", e->seq);
	}
	if (w->c->why[0]) {
		w->c->bad_seq = e->seq;
		return;
	}
	memcpy(w->prev, e->hash, 32);
	w->expect++;
}

/*
 * The head anchor. The chain shows an entry edited or taken out of the
 * middle, but not the last ones cut off: the log would still hold together.
 * So the highest entry ever written (its number and hash) is also kept
 * outside the database, in STATE/audit-heads/LIST, only ever moved forward
 * (after the commit that wrote the entry, by the queue manager and by
 * mlistctl). A log that ends before the anchor, or whose entry at the
 * anchor has another hash, was cut. Members keep their own anchor: the
 * audit answer by mail ends with the last entry's number and fingerprint.
 */
static void
head_path(const char *state_dir, const char *list, char *out, size_t n)
{
	snprintf(out, n, "%s/audit-heads/%s", state_dir, list);
}

/* head_read - the anchor: 1 found, 0 none yet, -1 unreadable */
static int
head_read(const char *state_dir, const char *list, long long *seq, unsigned char hash[32])
{
	char path[4200], hex[65];
	struct buf f, err;
	size_t got = 0;
	int rc = -1;

	head_path(state_dir, list, path, sizeof(path));
	buf_init(&f, 4096);
	buf_init(&err, 0);
	if (fs_read_file(path, &f, &err) < 0)
		rc = errno == ENOENT ? 0 : -1;
	else if (sscanf(buf_cstr(&f), "%lld %64s", seq, hex) == 2 &&
	    sodium_hex2bin(hash, 32, hex, strlen(hex), NULL, &got, NULL) == 0 && got == 32)
		rc = 1;
	buf_free(&f);
	buf_free(&err);
	return rc;
}

/* find_seq - the hash of entry `want` */
struct find {
	long long	 want;
	int		 found;
	unsigned char	 hash[32];
};

static void
find_one(const struct audit_entry *e, void *arg)
{
	struct find *f = arg;

	if (e->seq == f->want) {
		memcpy(f->hash, e->hash, 32);
		f->found = 1;
	}
}

/* check_head - does the log still reach the anchor, with the same entry there? */
static int
check_head(struct store *st, const char *state_dir, const char *list, struct audit_check *c)
{
	unsigned char hash[32];
	long long seq = 0;
	struct find f;
	int r = head_read(state_dir, list, &seq, hash);

	if (r < 0) {
		snprintf(c->why, sizeof(c->why), "its anchor (audit-heads/%s) cannot be read", list);
		return -1;
	}
	if (r == 0 || seq == 0)
		return 0;
	memset(&f, 0, sizeof(f));
	f.want = seq;
	if (store_audit_each(st, list, find_one, &f) < 0) {
		snprintf(c->why, sizeof(c->why), "the log cannot be read");
		return -1;
	}
	if (!f.found) {
		snprintf(c->why, sizeof(c->why), "entries after %lld up to %lld were removed (the log ends early)",
		    c->entries, seq);
		c->bad_seq = c->entries + 1;
		return -1;
	}
	if (memcmp(f.hash, hash, 32) != 0) {
		snprintf(c->why, sizeof(c->why), "entry %lld is not the one first written (the log was cut and "
		    "written again)", seq);
		c->bad_seq = seq;
		return -1;
	}
	return 0;
}

/* audit_head_sync - move the anchor up to the log's last entry; 0, or -1 with why (a cut log is not hidden) */
int
audit_head_sync(struct store *st, const char *state_dir, const char *list, char *why, size_t n)
{
	unsigned char hash[32], ahash[32];
	long long seq, aseq = 0;
	char path[4200], dir[4200], hex[65], line[100];
	struct buf err;
	int r;

	if (store_audit_last(st, list, &seq, hash) != STORE_OK) {
		snprintf(why, n, "the log cannot be read");
		return -1;
	}
	if ((r = head_read(state_dir, list, &aseq, ahash)) < 0) {
		snprintf(why, n, "its anchor cannot be read");
		return -1;
	}
	if (r == 1 && aseq > seq) {
		snprintf(why, n, "the log ends at entry %lld but entry %lld was written: entries were removed", seq, aseq);
		return -1;
	}
	if (seq == 0 || (r == 1 && aseq == seq))
		return 0;
	snprintf(dir, sizeof(dir), "%s/audit-heads", state_dir);
	if (fs_mkdir_p(dir, 0700) < 0) {
		snprintf(why, n, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	sodium_bin2hex(hex, sizeof(hex), hash, 32);
	snprintf(line, sizeof(line), "%lld %s\n", seq, hex);
	head_path(state_dir, list, path, sizeof(path));
	buf_init(&err, 0);
	r = fs_write_atomic(path, line, strlen(line), 0, &err);
	if (r < 0)
		snprintf(why, n, "%s", buf_cstr(&err));
	buf_free(&err);
	return r < 0 ? -1 : 0;
}

/*
 * audit_verify - 0 if the whole log holds together (and, with state_dir,
 * still reaches its anchor); else -1 with the first broken entry in c
 */
int
audit_verify(struct store *st, const char *state_dir, const char *list, struct audit_check *c)
{
	struct keyset keys;
	struct walk w;

	memset(c, 0, sizeof(*c));
	memset(&keys, 0, sizeof(keys));
	memset(&w, 0, sizeof(w));
	store_keys_each(st, list, collect_key, &keys);
	w.list = list;
	w.keys = &keys;
	w.have_audit_pk = audit_pk(st, list, w.audit_pk) == 0;
	w.c = c;
	w.expect = 1;
	if (store_audit_each(st, list, check_one, &w) < 0) {
		snprintf(c->why, sizeof(c->why), "the log cannot be read");
		return -1;
	}
	if (c->bad_seq)
		return -1;
	return state_dir ? check_head(st, state_dir, list, c) : 0;
}

struct resolve {
	const struct keys *k;
	const char	*list, *ref;	/* "pseudonym" and 10 hex digits */
	char		 name[200];
};

/* resolve_one - is this request's pseudonym the one ref names? 1: stop */
static int
resolve_one(const char *arg, void *p)
{
	struct resolve *r = p;
	char sk[SKELETON_MAX], ref[32];

	if (pseudonym_key(arg, sk, sizeof(sk)) < 0)
		return 0;
	keys_pseudonym_ref(r->k, r->list, sk, ref, sizeof(ref));
	if (strncmp(ref, r->ref, strlen(ref)) != 0)
		return 0;
	snprintf(r->name, sizeof(r->name), "%s", arg);
	return 1;
}

/* resolve_ref - ref ("pseudonym" and 10 hex digits) named; "" not found */
static void
resolve_ref(struct store *st, const char *list, const char *ref,
    char *name, size_t n)
{
	struct resolve r = { store_keys(st), list, ref, "" };

	*name = 0;
	if (r.k == NULL || strncmp(ref, "pseudonym ", 10) != 0 ||
	    strspn(ref + 10, "0123456789abcdef") != 10)
		return;
	if (store_pending_args(st, list, "unmask", resolve_one, &r) ==
	    STORE_OK)
		snprintf(name, n, "%s", r.name);
}

/*
 * resolve_coded - a coded unmasking's "ref" becomes its name: the code
 * (or the "of" it wraps) unmask-named with {pseudonym}
 */
static void
resolve_coded(struct store *st, const char *list, struct audit_detail *d,
    char *out, size_t n)
{
	const char *ref = audit_get(d, "ref"), *of = audit_get(d, "of");
	static const char *const drop_ref[] = { "id", "of", "votes", "agreed",
	    "result", "pseudonym", NULL };
	char name[200];

	if (ref == NULL)
		return;
	resolve_ref(st, list, ref, name, sizeof(name));
	if (!*name)
		return;
	if (of && strcmp(of, "unmask") == 0)
		audit_set(d, "of", "unmask-named");
	else if (strcmp(d->code, "unmask") == 0)
		snprintf(d->code, sizeof(d->code), "unmask-named");
	else
		return;
	audit_set(d, "pseudonym", name);
	audit_keep(d, drop_ref);
	(void)audit_format(d, out, n);
}

/*
 * audit_resolve - detail as a reader who may learn it reads it: the
 * "pseudonym REF" an unmasking is stored under becomes the name, taken
 * from the request's sealed argument (none found: left as it is). The
 * caller decides who may read the result (disclosure.c).
 */
void
audit_resolve(struct store *st, const char *list, const char *detail, char *out,
    size_t n)
{
	const char *at = strstr(detail, "pseudonym ");
	struct audit_detail d;
	char name[200];

	snprintf(out, n, "%s", detail);
	if (audit_parse(detail, &d) == 0) {
		resolve_coded(st, list, &d, out, n);
		return;
	}
	if (at == NULL)
		return;
	resolve_ref(st, list, at, name, sizeof(name));
	if (*name)
		snprintf(out, n, "%.*sthe pseudonym \"%s\"%s",
		    (int)(at - detail), detail, name, at + 20);
}

/*
 * put_value - v into out at *o, cut where out ends (as details always
 * were): tabs and line ends, which frame it, as spaces
 */
static void
put_value(char *out, size_t n, size_t *o, const char *v)
{
	for (; v && *v && *o + 1 < n; v++) {
		char ch = *v;

		out[(*o)++] = ch == '\t' || ch == '\r' || ch == '\n' ? ' ' : ch;
	}
	out[*o] = 0;
}

/*
 * audit_code - a detail as a code and arguments: "@CODE" then "\tNAME=VALUE"
 * per pair of vars (NULL-terminated), a long value cut at the detail's
 * size. -1 when not even the code fits.
 */
int
audit_code(char *out, size_t n, const char *code, const char *const *vars)
{
	size_t o;
	int w = snprintf(out, n, "@%s", code);

	if (w < 0 || (size_t)w >= n)
		return -1;
	o = (size_t)w;
	for (; vars && vars[0]; vars += 2) {
		w = snprintf(out + o, n - o, "\t%s=", vars[0]);
		if (w < 0 || (size_t)w >= n - o) {
			out[o] = 0;	/* no room for the name: left out */
			break;
		}
		o += (size_t)w;
		put_value(out, n, &o, vars[1]);
	}
	return 0;
}

/* audit_append_code - audit_append of a coded detail (audit_code) */
int
audit_append_code(struct store *st, const char *list, long long now,
    const char *actor, const char *action, const char *code,
    const char *const *vars)
{
	char d[sizeof(((struct audit_entry *)0)->detail)];

	if (audit_code(d, sizeof(d), code, vars) < 0)
		return -1;
	return audit_append(st, list, now, actor, action, d);
}

/*
 * audit_parse - a coded detail ("@CODE\tNAME=VALUE...") into d: 0, or -1
 * when detail is a sentence written before the codes (d left empty).
 * Pairs beyond AUDIT_VARS, or without "=", are left out.
 */
int
audit_parse(const char *detail, struct audit_detail *d)
{
	const char *s;
	size_t len;

	memset(d, 0, sizeof(*d));
	if (detail[0] != '@')
		return -1;
	len = strcspn(detail + 1, "\t");
	snprintf(d->code, sizeof(d->code), "%.*s", (int)len, detail + 1);
	for (s = detail + 1 + len; *s == '\t' && d->n < AUDIT_VARS; ) {
		const char *eq, *end;

		s++;
		end = s + strcspn(s, "\t");
		eq = memchr(s, '=', (size_t)(end - s));
		if (eq != NULL) {
			snprintf(d->name[d->n], sizeof(d->name[0]), "%.*s",
			    (int)(eq - s), s);
			snprintf(d->value[d->n], sizeof(d->value[0]), "%.*s",
			    (int)(end - eq - 1), eq + 1);
			d->n++;
		}
		s = end;
	}
	return 0;
}

/* audit_get - the value of name in d; NULL when it has none */
const char *
audit_get(const struct audit_detail *d, const char *name)
{
	for (int i = 0; i < d->n; i++)
		if (strcmp(d->name[i], name) == 0)
			return d->value[i];
	return NULL;
}

/* audit_set - name's value in d, replaced or added (dropped when full) */
void
audit_set(struct audit_detail *d, const char *name, const char *value)
{
	int i;

	for (i = 0; i < d->n && strcmp(d->name[i], name) != 0; i++)
		;
	if (i == AUDIT_VARS)
		return;
	if (i == d->n)
		d->n++;
	snprintf(d->name[i], sizeof(d->name[0]), "%s", name);
	snprintf(d->value[i], sizeof(d->value[0]), "%s", value);
}

/* audit_keep - d with only the pairs whose names are in keep (NULL-ended) */
void
audit_keep(struct audit_detail *d, const char *const *keep)
{
	int o = 0;

	for (int i = 0; i < d->n; i++) {
		int k;

		for (k = 0; keep[k] && strcmp(keep[k], d->name[i]); k++)
			;
		if (keep[k] == NULL)
			continue;
		if (o != i) {
			memcpy(d->name[o], d->name[i], sizeof(d->name[0]));
			memcpy(d->value[o], d->value[i], sizeof(d->value[0]));
		}
		o++;
	}
	d->n = o;
}

/* audit_format - d as a coded detail again (audit_code); -1 it cannot be */
int
audit_format(const struct audit_detail *d, char *out, size_t n)
{
	const char *vars[2 * AUDIT_VARS + 1];
	int k = 0;

	for (int i = 0; i < d->n; i++) {
		vars[k++] = d->name[i];
		vars[k++] = d->value[i];
	}
	vars[k] = NULL;
	return audit_code(out, n, d->code, vars);
}

/*
 * audit_wrap - a coded detail about another (inner, coded): "@CODE", the
 * pairs of vars, "of" the inner code, then the inner pairs. -1 when inner
 * is not coded or nothing fits.
 */
int
audit_wrap(char *out, size_t n, const char *code, const char *const *vars,
    const char *inner)
{
	struct audit_detail in, d;

	if (audit_parse(inner, &in) < 0)
		return -1;
	memset(&d, 0, sizeof(d));
	snprintf(d.code, sizeof(d.code), "%s", code);
	for (; vars && vars[0]; vars += 2)
		audit_set(&d, vars[0], vars[1]);
	audit_set(&d, "of", in.code);
	for (int i = 0; i < in.n; i++)
		audit_set(&d, in.name[i], in.value[i]);
	return audit_format(&d, out, n);
}

/* word - the piece [PREFIXCODE] with vars into out; -1 none is */
static int
word(const struct notices *list, const struct notices *inst,
    const struct notice_ctx *ctx, const char *prefix, const char *code,
    const char *const *vars, char *out, size_t n)
{
	char name[100];
	int id;

	snprintf(name, sizeof(name), "%s%.64s", prefix, code);
	if ((id = notice_piece_id(name)) < 0)
		return -1;
	return notice_piece_line(list, inst, (enum piece_id)id, ctx, vars,
	    out, n);
}

/* plain - a coded detail with no piece: the code and its arguments */
static void
plain(const char *detail, char *out, size_t n)
{
	snprintf(out, n, "%s", detail + 1);
	for (char *c = out; *c; c++)
		if (*c == '\t')
			*c = ' ';
}

/*
 * audit_words - a coded text ("@CODE" and its pairs) worded by the piece
 * named prefix and CODE, its pairs the piece's placeholders: 0, or -1
 * when text is not coded or no piece has that name (out then "")
 */
int
audit_words(const struct notices *list, const struct notices *inst,
    const struct notice_ctx *ctx, const char *prefix, const char *text,
    char *out, size_t n)
{
	const char *vars[2 * AUDIT_VARS + 1];
	struct audit_detail d;
	int k = 0;

	if (n > 0)
		*out = 0;
	if (audit_parse(text, &d) < 0)
		return -1;
	for (int i = 0; i < d.n; i++) {
		vars[k++] = d.name[i];
		vars[k++] = d.value[i];
	}
	vars[k] = NULL;
	return word(list, inst, ctx, prefix, d.code, vars, out, n);
}

/*
 * audit_held_words - why a post is held (its codes, comma-separated:
 * "leak,document") in the list's words, the piece [held-CODE] for each;
 * a code with no piece as it is. For the held notice and the audit log.
 */
void
audit_held_words(const struct notices *list, const struct notices *inst,
    const struct notice_ctx *ctx, const char *reason, char *out, size_t n)
{
	char code[80], w[300];
	size_t k, len;

	*out = 0;
	for (; *reason; reason += k + (reason[k] == ',')) {
		k = strcspn(reason, ",");
		snprintf(code, sizeof(code), "@%.*s", (int)k, reason);
		if (audit_words(list, inst, ctx, "held-", code, w,
		    sizeof(w)) < 0)
			snprintf(w, sizeof(w), "%s", code + 1);
		len = strlen(out);
		snprintf(out + len, n - len, "%s%s", len ? ", " : "", w);
	}
}

struct worded {
	const char	*vars[2 * AUDIT_VARS + 9];
	char		 of[512], result[200], agreed[200], why[300];
};

/*
 * inner - the parts of a detail worded by pieces of their own, as its
 * placeholders: {detail} (the code "of" names: what a request or a
 * quorum's decision was about), {result} (its code "result") and
 * {agreed} (who agreed and, where shown, how many: "agreed", "votes").
 * They come first in vars: a placeholder takes the first of its name.
 */
static int
inner(const struct notices *list, const struct notices *inst,
    const struct notice_ctx *ctx, const struct audit_detail *d,
    struct worded *w)
{
	const char *of = audit_get(d, "of"), *res = audit_get(d, "result");
	const char *agr = audit_get(d, "agreed"), **own = w->vars + 8;
	const char *why = audit_get(d, "why");
	int k = 0;

	w->vars[0] = "detail";
	w->vars[1] = w->of;
	w->vars[2] = "result";
	w->vars[3] = w->result;
	w->vars[4] = "agreed";
	w->vars[5] = w->agreed;
	w->vars[6] = "why";	/* a held post's: [held-CODE] */
	w->vars[7] = w->why;
	if (why)
		audit_held_words(list, inst, ctx, why, w->why, sizeof(w->why));
	for (int i = 0; i < d->n; i++) {
		own[k++] = d->name[i];
		own[k++] = d->value[i];
	}
	own[k] = NULL;
	if (of && word(list, inst, ctx, "audit-", of, own, w->of,
	    sizeof(w->of)) < 0)
		return -1;
	if (res && word(list, inst, ctx, "audit-result-", res, own,
	    w->result, sizeof(w->result)) < 0)
		return -1;
	if (agr && word(list, inst, ctx, "audit-agreed-", agr, own,
	    w->agreed, sizeof(w->agreed)) < 0)
		return -1;
	return 0;
}

/*
 * audit_render - a detail in the reader's words. A coded one ("@CODE...")
 * through the piece [audit-CODE], its parts through theirs (inner); who
 * agreed after it, where its piece does not place {agreed}, and a note
 * of the first coded entries (how the quorum decided, in words). One
 * written before the codes, or a code this build has no piece for, as it
 * is (a code shown with its arguments: nothing is hidden that the log
 * holds, since disclosure already decided what the reader sees).
 */
void
audit_render(const struct notices *list, const struct notices *inst,
    const struct notice_ctx *ctx, const char *detail, char *out, size_t n)
{
	struct audit_detail d;
	struct worded w;
	const char *note;
	char name[100];
	size_t len;
	int id;

	if (audit_parse(detail, &d) < 0) {
		snprintf(out, n, "%s", detail);
		return;
	}
	memset(&w, 0, sizeof(w));
	if (inner(list, inst, ctx, &d, &w) < 0 || word(list, inst, ctx,
	    "audit-", d.code, w.vars, out, n) < 0) {
		plain(detail, out, n);
		return;
	}
	snprintf(name, sizeof(name), "audit-%.64s", d.code);
	id = notice_piece_id(name);
	len = strlen(out);
	if (!strstr(notice_piece_text(list, inst, (enum piece_id)id),
	    "{agreed}"))
		snprintf(out + len, n - len, "%s", w.agreed);
	len = strlen(out);
	if ((note = audit_get(&d, AUDIT_NOTE)) != NULL)
		snprintf(out + len, n - len, "%s", note);
}
