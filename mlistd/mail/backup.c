/*
 * backup.c - the file `mlistctl backup` writes and `mlistctl restore`
 * reads: every file of an instance, one after another, in one
 * XChaCha20-Poly1305 secretstream under the instance's backup key (derived
 * from the master key under its own context: keys.c). The clear header
 * holds only what a restore needs before it has a key: how the master key
 * is kept and, for a passphrase instance, the wrapped master key (the same
 * bytes as STATE/master.wrapped, under Argon2id). The whole header is the
 * associated data of the first message, and the last message is the
 * stream's FINAL one naming how many files and bytes came before, so a
 * backup cut short, reordered or edited does not read.
 *
 * Whoever holds the backup store sees no more than the way and the wrapped
 * key: the time is inside the first message, and padding messages fill
 * the file up to a size bucket (backup_padded_size), so its length does
 * not tell the roster's size from night to night.
 *
 *	header:  MAGIC | way (1) | wrapped length (2) | wrapped |
 *		 secretstream header
 *	then:	 length (4) | message, where a message is
 *		 'H' time (8)		the first (the header its AD)
 *		 'F' name NUL size (8)	a file begins
 *		 'D' bytes		its bytes, at most BACKUP_CHUNK each
 *		 'P' zeros		padding, before the end
 *		 'E' files (8) bytes (8)	the end (TAG_FINAL)
 *
 * MLBACK1 (read only) had the time (8) in clear after the wrapped key and
 * an 'H' of one byte, and no padding.
 */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "backup.h"

#define SS_A		crypto_secretstream_xchacha20poly1305_ABYTES
#define SS_HDR		crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define MSG_MAX		(BACKUP_CHUNK + BACKUP_NAME_MAX + 64)

/* backup_say - why into err; -1 */
int
backup_say(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* bad - why into err; BACKUP_BAD */
static enum backup_item
bad(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return BACKUP_BAD;
}

/* put - little-endian n-byte number */
static void
put(unsigned char *p, unsigned long long v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* get - little-endian n-byte number */
static unsigned long long
get(const unsigned char *p, int n)
{
	unsigned long long v = 0;

	for (int i = 0; i < n; i++)
		v |= (unsigned long long)p[i] << (8 * i);
	return v;
}

/* emit - encrypt one message and write it with its length */
static int
emit(struct backup_w *w, const unsigned char *m, size_t len, const void *ad,
    size_t adlen, unsigned char tag)
{
	static unsigned char c[MSG_MAX + SS_A];
	unsigned char lenb[4];

	if (w->failed || len > MSG_MAX)
		return -1;
	crypto_secretstream_xchacha20poly1305_push(&w->st, c, NULL, m, len,
	    ad, adlen, tag);
	put(lenb, len + SS_A, 4);
	if (fwrite(lenb, 1, 4, w->fp) != 4 ||
	    fwrite(c, 1, len + SS_A, w->fp) != len + SS_A)
		w->failed = 1;
	w->written += (long long)(4 + len + SS_A);
	return w->failed ? -1 : 0;
}

/*
 * backup_begin - write the clear header to fp and start the stream; the
 * header is the first message's associated data
 */
int
backup_begin(struct backup_w *w, FILE *fp, const struct keys *k, int way,
    const void *wrapped, size_t wrappedlen, char *err, size_t errlen)
{
	unsigned char h[512], first[9];
	size_t n = 0;

	memset(w, 0, sizeof(*w));
	w->fp = fp;
	if (wrappedlen > 256)
		return backup_say(err, errlen, "the wrapped key is too long");
	memcpy(h, BACKUP_MAGIC, 8);
	h[8] = (unsigned char)way;
	put(h + 9, wrappedlen, 2);
	n = 11;
	if (wrappedlen)
		memcpy(h + n, wrapped, wrappedlen);
	n += wrappedlen;
	crypto_secretstream_xchacha20poly1305_init_push(&w->st, h + n,
	    k->backup);
	n += SS_HDR;
	if (fwrite(h, 1, n, fp) != n)
		return backup_say(err, errlen, "cannot write the backup");
	w->written = (long long)n;
	/* the first message authenticates the header and carries the time */
	first[0] = 'H';
	put(first + 1, (unsigned long long)time(NULL), 8);
	if (emit(w, first, sizeof(first), h, n, 0) < 0)
		return backup_say(err, errlen, "cannot write the backup");
	return 0;
}

/* backup_file - one file of the instance under its name in the state dir */
int
backup_file(struct backup_w *w, const char *name, const void *p, size_t len)
{
	static unsigned char m[MSG_MAX];
	size_t nl = strlen(name), off;

	if (!backup_name_ok(name)) {
		w->failed = 1;
		return -1;
	}
	m[0] = 'F';
	memcpy(m + 1, name, nl + 1);
	put(m + 2 + nl, len, 8);
	if (emit(w, m, 10 + nl, NULL, 0, 0) < 0)
		return -1;
	for (off = 0; off < len; off += BACKUP_CHUNK) {
		size_t n = len - off < BACKUP_CHUNK ? len - off : BACKUP_CHUNK;

		m[0] = 'D';
		memcpy(m + 1, (const unsigned char *)p + off, n);
		if (emit(w, m, n + 1, NULL, 0, 0) < 0)
			return -1;
	}
	w->files++;
	w->bytes += (long long)len;
	return 0;
}

/*
 * backup_padded_size - the length a backup of len bytes is padded to: the
 * next power of two from BACKUP_PAD_MIN, then multiples of BACKUP_PAD_STEP
 */
long long
backup_padded_size(long long len)
{
	long long t = BACKUP_PAD_MIN;

	while (t < len && t < BACKUP_PAD_STEP)
		t *= 2;
	if (t < len)
		t = (len + BACKUP_PAD_STEP - 1) / BACKUP_PAD_STEP *
		    BACKUP_PAD_STEP;
	return t;
}

/* pad - 'P' messages so that the end message finishes at a bucket */
static int
pad(struct backup_w *w)
{
	static unsigned char m[BACKUP_CHUNK + 1];
	const long long one = 4 + 1 + SS_A, end = 4 + 17 + SS_A;
	long long need, n;

	/* at least one padding message: its bytes are part of the sum */
	need = backup_padded_size(w->written + one + end) - w->written - end;
	m[0] = 'P';
	while (need > 0) {
		n = need - one < BACKUP_CHUNK ? need - one : BACKUP_CHUNK;
		/* never leave less than one empty message can fill */
		if (need - one - n > 0 && need - one - n < one)
			n -= one - (need - one - n);
		if (emit(w, m, (size_t)n + 1, NULL, 0, 0) < 0)
			return -1;
		need -= one + n;
	}
	return 0;
}

/* backup_finish - the final message; flush and fsync are the caller's */
int
backup_finish(struct backup_w *w, char *err, size_t errlen)
{
	unsigned char m[17];

	if (pad(w) < 0)
		return backup_say(err, errlen, "cannot write the backup");

	m[0] = 'E';
	put(m + 1, (unsigned long long)w->files, 8);
	put(m + 9, (unsigned long long)w->bytes, 8);
	if (emit(w, m, sizeof(m), NULL, 0,
	    crypto_secretstream_xchacha20poly1305_TAG_FINAL) < 0 ||
	    fflush(w->fp) != 0)
		return backup_say(err, errlen, "cannot write the backup");
	return 0;
}

/* backup_open - read the clear header: the way and the wrapped key */
int
backup_open(struct backup_r *r, FILE *fp, char *err, size_t errlen)
{
	unsigned char *h;
	size_t clock;

	memset(r, 0, sizeof(*r));
	r->fp = fp;
	h = r->hdr;
	if (fread(h, 1, 11, fp) != 11)
		return backup_say(err, errlen, "not an mlistd backup");
	if (memcmp(h, BACKUP_MAGIC, 8) == 0)
		r->version = 2;
	else if (memcmp(h, BACKUP_MAGIC1, 8) == 0)
		r->version = 1;
	else
		return backup_say(err, errlen, "not an mlistd backup");
	clock = r->version == 1 ? 8 : 0;	/* MLBACK1: the time in clear */
	r->way = h[8];
	r->wrappedlen = get(h + 9, 2);
	if (r->way > KEYS_INSECURE_FILE || r->wrappedlen > sizeof(r->wrapped))
		return backup_say(err, errlen, "not an mlistd backup");
	if (fread(h + 11, 1, r->wrappedlen + clock + SS_HDR, fp) !=
	    r->wrappedlen + clock + SS_HDR)
		return backup_say(err, errlen, "the backup is cut short");
	memcpy(r->wrapped, h + 11, r->wrappedlen);
	r->hdrlen = 11 + r->wrappedlen + clock + SS_HDR;
	if (clock)
		r->at = (long long)get(h + 11 + r->wrappedlen, 8);
	return 0;
}

/* take - read and decrypt one message; its length, or -1 */
static long
take(struct backup_r *r, unsigned char *m, unsigned char *tag)
{
	static unsigned char c[MSG_MAX + SS_A];
	unsigned char lenb[4];
	unsigned long long mlen;
	size_t len;

	if (fread(lenb, 1, 4, r->fp) != 4)
		return -1;
	len = get(lenb, 4);
	if (len < SS_A || len > sizeof(c) || fread(c, 1, len, r->fp) != len)
		return -1;
	if (crypto_secretstream_xchacha20poly1305_pull(&r->st, m, &mlen, tag,
	    c, len, r->first ? r->hdr : NULL, r->first ? r->hdrlen : 0) != 0)
		return -1;
	r->first = 0;
	return (long)mlen;
}

/* backup_keys - start reading the stream with the instance's keys */
int
backup_keys(struct backup_r *r, const struct keys *k, char *err, size_t errlen)
{
	unsigned char m[MSG_MAX], tag;
	long n;

	if (crypto_secretstream_xchacha20poly1305_init_pull(&r->st,
	    r->hdr + r->hdrlen - SS_HDR, k->backup) != 0)
		return backup_say(err, errlen, "not an mlistd backup");
	r->first = 1;
	n = take(r, m, &tag);
	if (n != (r->version == 1 ? 1 : 9) || m[0] != 'H')
		return backup_say(err, errlen, "the backup does not open with "
		    "this instance's key (another instance's backup, or "
		    "altered)");
	if (r->version == 2)
		r->at = (long long)get(m + 1, 8);
	return 0;
}

/* data - the 'D' messages of a file of size bytes into out */
static int
data(struct backup_r *r, unsigned long long size, struct buf *out)
{
	static unsigned char m[MSG_MAX];
	unsigned char tag;
	long n;

	buf_reset(out);
	while (out->len < size) {
		if ((n = take(r, m, &tag)) < 1 || m[0] != 'D' || tag != 0 ||
		    out->len + (size_t)n - 1 > size ||
		    buf_append(out, m + 1, (size_t)n - 1) < 0)
			return -1;
	}
	return 0;
}

/*
 * backup_next - the next file (its name and bytes), or the end, checked
 * against the counts the final message carries
 */
enum backup_item
backup_next(struct backup_r *r, char name[BACKUP_NAME_MAX], struct buf *out,
    char *err, size_t errlen)
{
	static unsigned char m[MSG_MAX];
	unsigned char tag;
	size_t nl;
	long n;

	/* padding (MLBACK2): authenticated like the rest, then skipped */
	while ((n = take(r, m, &tag)) >= 1 && m[0] == 'P' && tag == 0 &&
	    r->version == 2)
		;
	if (n < 1)
		return bad(err, errlen, "the backup is damaged or cut short "
		    "after %lld files", r->files);
	if (m[0] == 'E' && n == 17 &&
	    tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
		if ((long long)get(m + 1, 8) != r->files ||
		    (long long)get(m + 9, 8) != r->bytes)
			return bad(err, errlen, "the backup's end does not "
			    "match its files");
		return BACKUP_END;
	}
	nl = strnlen((const char *)m + 1, (size_t)n - 1);
	if (m[0] != 'F' || tag != 0 || nl >= BACKUP_NAME_MAX ||
	    (size_t)n != nl + 10 || !backup_name_ok((const char *)m + 1))
		return bad(err, errlen, "the backup is damaged");
	memcpy(name, m + 1, nl + 1);
	if (data(r, get(m + 2 + nl, 8), out) < 0)
		return bad(err, errlen, "the backup is damaged in %s",
		    name);
	r->files++;
	r->bytes += (long long)out->len;
	return BACKUP_FILE;
}

/*
 * backup_name_ok - a relative path of letters, digits, '.', '-', '_', '+'
 * and '/', with no empty, "." or ".." component: a hostile backup must
 * not write outside the directory it is restored into
 */
int
backup_name_ok(const char *name)
{
	const char *p = name, *c;

	if (*name == 0 || strlen(name) >= BACKUP_NAME_MAX)
		return 0;
	for (c = name; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_+/", *c))
			return 0;
	while (*p) {
		size_t l = strcspn(p, "/");

		if (l == 0 || (l == 1 && p[0] == '.') ||
		    (l == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += l;
		if (*p == '/' && *++p == 0)
			return 0;
	}
	return 1;
}
