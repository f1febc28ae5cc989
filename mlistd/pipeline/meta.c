/*
 * meta.c - the hidden data in attachments that can name their author.
 *
 * Photos and videos in formats no walker here reads (HEIC/AVIF, MP4/MOV,
 * TIFF: they carry EXIF and where they were taken) are not passed on.
 * Images lose it losslessly: the JPEG segments (APP1 EXIF/XMP, APP13
 * Photoshop/IPTC, comments, every other APPn but JFIF, ICC and Adobe's
 * colour marker, anything after the end of the image), the PNG chunks
 * that do not draw it (tEXt, iTXt, zTXt, eXIf, tIME, C2PA, any private
 * one, anything after IEND), the WebP chunks (EXIF, XMP) and the GIF
 * blocks (comments, application blocks but an animation's loop count,
 * anything after the trailer) are left out; the pixel data is copied
 * byte for byte.
 * Documents (PDF, ODF, OOXML) cannot be cleaned without rewriting them,
 * so meta_document only says what in them names a person; the caller
 * holds or refuses the post (list setting documents_with_author). Their
 * properties are read after inflating them (zlib): the zip entries
 * meta.xml, docProps/core.xml and docProps/app.xml, the names Word,
 * Excel, PowerPoint and LibreOffice write on comments and tracked changes
 * (word/comments.xml, document.xml, headerN/footerN.xml, footnotes.xml,
 * endnotes.xml, people.xml; xl/commentsN.xml, xl/persons/person.xml;
 * ppt/commentAuthors.xml, ppt/authors.xml; content.xml, styles.xml),
 * and a PDF's object and metadata streams (/Author, XMP, and the /T of
 * each comment); an empty or generic author
 * ("user") passes.
 * Inflating is bounded against zip bombs (INFLATE_MAX out per stream, at
 * most INFLATE_RATIO times its input, INFLATE_TOTAL and INFLATE_STREAMS
 * per document, stored entries counted too); a property the list cannot
 * read counts as naming someone.
 *
 * Each walker is one bounded pass over its input, reads nothing past its
 * end, and fails closed: an image it cannot walk is not passed on. No
 * image library: these are segment and chunk lists, nothing is decoded.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "pipeline/meta.h"
#include "util/mem.h"

/* uint_at - the unsigned integer of n bytes at p, big- or little-endian */
static size_t
uint_at(const unsigned char *p, int n, int big)
{
	size_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[big ? i : n - 1 - i];
	return v;
}

#define BE(p, n)	uint_at(p, n, 1)
#define LE(p, n)	uint_at(p, n, 0)

/* has_prefix - does [p, p+n) start with the n2 bytes of s? */
static int
has_prefix(const unsigned char *p, size_t n, const char *s, size_t n2)
{
	return n >= n2 && memcmp(p, s, n2) == 0;
}

/*
 * is_svg - an SVG drawing (by its first KiB: an XML prolog, comment or
 * doctype, then the <svg element): Inkscape writes the file's own path
 * (inkscape:export-filename, sodipodi:docname: /home/LOGIN/...) and its
 * <metadata> the author; not walked here, so it does not go
 */
static int
is_svg(const unsigned char *d, size_t n)
{
	size_t i = 0, k = n < 1024 ? n : 1024;

	if (has_prefix(d, n, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < k && strchr(" \t\r\n", d[i]))
		i++;
	if (i >= k || d[i] != '<')
		return 0;
	return mem_has_ci((const char *)d + i, k - i, "<svg");
}

/*
 * unwalked - a format whose files carry EXIF or a place that no walker
 * here strips: ISO base media (a phone's HEIC/AVIF photos and MP4/MOV
 * videos: moov's (c)xyz is where it was taken) and TIFF (cameras,
 * scanners). They fail closed, as an image that cannot be walked does.
 */
static int
unwalked(const unsigned char *d, size_t n)
{
	static const char *const boxes[] = {
		"ftyp", "moov", "mdat", "wide", "pnot", NULL
	};

	if (has_prefix(d, n, "II*\0", 4) || has_prefix(d, n, "MM\0*", 4))
		return 1;
	if (is_svg(d, n))
		return 1;
	for (int i = 0; n >= 8 && boxes[i]; i++)
		if (memcmp(d + 4, boxes[i], 4) == 0)
			return 1;
	return 0;
}

/* meta_kind - what the bytes are (by content, never by the name claimed) */
enum meta_kind
meta_kind(const unsigned char *d, size_t n)
{
	if (has_prefix(d, n, "\xff\xd8\xff", 3))
		return META_JPEG;
	if (has_prefix(d, n, "\x89PNG\r\n\x1a\n", 8))
		return META_PNG;
	if (n >= 12 && has_prefix(d, n, "RIFF", 4) &&
	    memcmp(d + 8, "WEBP", 4) == 0)
		return META_WEBP;
	if (n >= 13 && (has_prefix(d, n, "GIF87a", 6) ||
	    has_prefix(d, n, "GIF89a", 6)))
		return META_GIF;
	if (unwalked(d, n))
		return META_UNWALKED;
	return META_OTHER;
}

/*
 * jpeg_keep - is the segment of marker m (its data at p, n bytes) needed
 * to show the picture? JFIF (APP0), the ICC colour profile (APP2
 * "ICC_PROFILE") and Adobe's colour transform (APP14) are; EXIF and XMP
 * (APP1), IPTC (APP13), comments and the rest (MPF's second images, maker
 * notes) are not.
 */
static int
jpeg_keep(int m, const unsigned char *p, size_t n)
{
	if (m == 0xfe)
		return 0;
	if (m < 0xe0 || m > 0xef)
		return 1;		/* tables, frame and scan headers */
	if (m == 0xe0)
		return has_prefix(p, n, "JFIF", 4);
	if (m == 0xe2)
		return has_prefix(p, n, "ICC_PROFILE", 12);
	return m == 0xee && has_prefix(p, n, "Adobe", 5);
}

/*
 * jpeg_scan_end - where the entropy-coded data after a scan header ends:
 * at the first marker that is not a stuffed 0xFF00, a restart marker or
 * fill. O(n) over the scan.
 */
static size_t
jpeg_scan_end(const unsigned char *d, size_t n, size_t i)
{
	while (i + 1 < n) {
		if (d[i] != 0xff) {
			i++;
			continue;
		}
		if (d[i + 1] == 0x00 ||
		    (d[i + 1] >= 0xd0 && d[i + 1] <= 0xd7)) {
			i += 2;
			continue;
		}
		if (d[i + 1] == 0xff) {
			i++;
			continue;
		}
		return i;
	}
	return n;
}

/*
 * meta_jpeg_strip - the JPEG without its metadata segments; out gets the
 * copy, *removed how many segments were left out. -1 if it is not a JPEG
 * that can be walked to its end (the caller then does not pass it on).
 */
int
meta_jpeg_strip(const unsigned char *d, size_t n, struct buf *out, int *removed)
{
	size_t i = 2, len, e;
	int m;

	*removed = 0;
	if (meta_kind(d, n) != META_JPEG)
		return -1;
	buf_append(out, d, 2);
	while (i < n) {
		if (d[i] != 0xff)
			return -1;
		while (i < n && d[i] == 0xff)
			i++;		/* fill bytes before a marker */
		if (i >= n)
			return -1;
		m = d[i++];
		/* end of image: what follows is not the picture */
		if (m == 0xd9) {
			buf_puts(out, "\xff\xd9");
			*removed += i < n;
			return 0;
		}
		if ((m >= 0xd0 && m <= 0xd7) || m == 0x01) {
			buf_putc(out, 0xff);
			buf_putc(out, m);
			continue;
		}
		if (i + 2 > n || (len = BE(d + i, 2)) < 2 || len > n - i)
			return -1;
		if (jpeg_keep(m, d + i + 2, len - 2)) {
			buf_putc(out, 0xff);
			buf_putc(out, m);
			buf_append(out, d + i, len);
		} else
			(*removed)++;
		i += len;
		/* start of scan: the coded data, copied as it is */
		if (m == 0xda) {
			e = jpeg_scan_end(d, n, i);
			buf_append(out, d + i, e - i);
			i = e;
		}
	}
	return -1;			/* no end of image */
}

/*
 * png_drop - every chunk but those that draw the picture (PNG 3rd ed.
 * and APNG): text, EXIF (eXIf, and exIf/zxIf as ImageMagick wrote it
 * before), time, C2PA's caBX (device, signer) and any private chunk go
 */
static int
png_drop(const unsigned char *type)
{
	static const char *const keep[] = {
		"IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA", "cHRM",
		"sRGB", "iCCP", "sBIT", "bKGD", "pHYs", "hIST", "cICP",
		"mDCV", "cLLI", "acTL", "fcTL", "fdAT", NULL
	};

	for (int k = 0; keep[k]; k++)
		if (memcmp(type, keep[k], 4) == 0)
			return 0;
	return 1;
}

/* meta_png_strip - the PNG with only what draws it (as meta_jpeg_strip) */
int
meta_png_strip(const unsigned char *d, size_t n, struct buf *out, int *removed)
{
	size_t i = 8, len;

	*removed = 0;
	if (meta_kind(d, n) != META_PNG)
		return -1;
	buf_append(out, d, 8);
	while (i + 12 <= n) {
		len = BE(d + i, 4);
		if (len > n - i - 12)
			return -1;
		if (png_drop(d + i + 4))
			(*removed)++;
		else
			buf_append(out, d + i, len + 12);
		if (memcmp(d + i + 4, "IEND", 4) == 0) {
			*removed += i + len + 12 < n;
			return 0;
		}
		i += len + 12;
	}
	return -1;
}

/*
 * meta_webp_strip - the WebP without its EXIF and XMP chunks; the VP8X
 * header's flags for them are cleared and the RIFF size set anew.
 */
int
meta_webp_strip(const unsigned char *d, size_t n, struct buf *out, int *removed)
{
	size_t i = 12, len, pad, start = out->len, riff;

	*removed = 0;
	if (meta_kind(d, n) != META_WEBP || (riff = LE(d + 4, 4)) > n - 8 ||
	    riff < 4)
		return -1;
	n = riff + 8;		/* what the RIFF header claims, no trailer */
	buf_append(out, d, 12);
	while (i + 8 <= n) {
		len = LE(d + i + 4, 4);
		pad = len & 1;
		if (len > n - i - 8 || pad > n - i - 8 - len)
			return -1;
		if (!memcmp(d + i, "EXIF", 4) || !memcmp(d + i, "XMP ", 4))
			(*removed)++;
		else {
			size_t at = out->len;

			buf_append(out, d + i, len + 8 + pad);
			if (!memcmp(d + i, "VP8X", 4) && len >= 1 && out->data)
				out->data[at + 8] &= (unsigned char)~0x0c;
		}
		i += len + 8 + pad;
	}
	if (i != n || out->data == NULL)
		return -1;
	riff = out->len - start - 8;
	out->data[start + 4] = (unsigned char)(riff & 0xff);
	out->data[start + 5] = (unsigned char)(riff >> 8 & 0xff);
	out->data[start + 6] = (unsigned char)(riff >> 16 & 0xff);
	out->data[start + 7] = (unsigned char)(riff >> 24 & 0xff);
	return 0;
}

/* gif_blocks - the index past the data sub-blocks from i, 0 if cut off */
static size_t
gif_blocks(const unsigned char *d, size_t n, size_t i)
{
	while (i < n) {
		if (d[i] == 0)
			return i + 1;
		i += 1 + (size_t)d[i];
	}
	return 0;
}

/*
 * gif_drop - an extension block ([p, p+len), from its 0x21) that only
 * describes: a comment, or an application's (XMP, ICC) but the loop count
 * of an animation (NETSCAPE2.0, ANIMEXTS1.0)
 */
static int
gif_drop(const unsigned char *p, size_t len)
{
	if (p[1] == 0xfe)
		return 1;
	if (p[1] != 0xff)
		return 0;	/* graphic control, plain text: they draw */
	return len < 14 || p[2] != 11 ||
	    (memcmp(p + 3, "NETSCAPE2.0", 11) != 0 &&
	    memcmp(p + 3, "ANIMEXTS1.0", 11) != 0);
}

/*
 * meta_gif_strip - the GIF without its comments and application blocks
 * (as meta_jpeg_strip; images and their tables copied byte for byte)
 */
int
meta_gif_strip(const unsigned char *d, size_t n, struct buf *out, int *removed)
{
	size_t i = 13, k;

	*removed = 0;
	if (meta_kind(d, n) != META_GIF)
		return -1;
	if (d[10] & 0x80)
		i += (size_t)3 << ((d[10] & 7) + 1);
	if (i > n)
		return -1;
	buf_append(out, d, i);
	while (i < n) {
		if (d[i] == 0x3b) {
			buf_append(out, d + i, 1);
			*removed += i + 1 < n;
			return 0;
		}
		if (d[i] == 0x2c && n - i >= 11) {
			k = i + 10;
			if (d[i + 9] & 0x80)
				k += (size_t)3 << ((d[i + 9] & 7) + 1);
			if (k + 1 > n || (k = gif_blocks(d, n, k + 1)) == 0)
				return -1;
			buf_append(out, d + i, k - i);
		} else if (d[i] == 0x21 && n - i >= 2) {
			if ((k = gif_blocks(d, n, i + 2)) == 0)
				return -1;
			if (gif_drop(d + i, k - i))
				(*removed)++;
			else
				buf_append(out, d + i, k - i);
		} else
			return -1;
		i = k;
	}
	return -1;			/* no trailer */
}

/* meta_image_strip - whichever walker fits; -1 if none does or it fails */
int
meta_image_strip(const unsigned char *d, size_t n, struct buf *out,
    int *removed)
{
	switch (meta_kind(d, n)) {
	case META_JPEG:
		return meta_jpeg_strip(d, n, out, removed);
	case META_PNG:
		return meta_png_strip(d, n, out, removed);
	case META_WEBP:
		return meta_webp_strip(d, n, out, removed);
	case META_GIF:
		return meta_gif_strip(d, n, out, removed);
	default:
		return -1;
	}
}

/* the bounds on inflating: a property file is a few KiB */
#define INFLATE_MAX	(4u << 20)	/* out of one stream */
#define INFLATE_RATIO	100u		/* out per byte in, + INFLATE_SLACK */
#define INFLATE_SLACK	(64u << 10)
#define INFLATE_TOTAL	(16u << 20)	/* out of one document */
#define INFLATE_STREAMS	256		/* streams read in one document */

/* the reading of one document: what names someone, and the budget */
struct doc {
	char	*what;
	size_t	 wl;
	size_t	 total;			/* bytes inflated so far */
	int	 streams;
	int	 found;			/* 1 names someone, -1 unreadable */
	const char *const *extra;	/* more names that name, this entry */
};

/* doc_say - record the first finding (a name beats "unreadable") */
static void
doc_say(struct doc *doc, int found, const char *what)
{
	if (doc->found == 1 || (doc->found == -1 && found == -1))
		return;
	doc->found = found;
	snprintf(doc->what, doc->wl, "%s", what);
}

/*
 * spend - count one more stream of n bytes against the document's budget:
 * a zip may list the same stored entry 65535 times. 0, or -1 past it.
 */
static int
spend(struct doc *doc, size_t n)
{
	if (doc->streams >= INFLATE_STREAMS || n > INFLATE_TOTAL - doc->total)
		return -1;
	doc->streams++;
	doc->total += n;
	return 0;
}

/*
 * inflate_bounded - inflate [d, d+n) into out (raw deflate if raw, else
 * zlib); 0, or -1 if it is broken or breaks a cap (a bomb reads as
 * broken: the caller fails closed).
 */
static int
inflate_bounded(struct doc *doc, const unsigned char *d, size_t n, int raw,
    struct buf *out)
{
	unsigned char chunk[16384];
	size_t cap = INFLATE_MAX, have;
	z_stream z;
	int rc;

	if (n / INFLATE_RATIO < cap)
		cap = n * INFLATE_RATIO + INFLATE_SLACK;
	if (cap > INFLATE_MAX)
		cap = INFLATE_MAX;
	if (spend(doc, 0) != 0 || n > UINT_MAX)
		return -1;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, raw ? -MAX_WBITS : MAX_WBITS) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)(uintptr_t)d;
	z.avail_in = (unsigned)n;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = inflate(&z, Z_NO_FLUSH);
		have = sizeof(chunk) - z.avail_out;
		if ((rc != Z_OK && rc != Z_STREAM_END) ||
		    (rc == Z_OK && have == 0) || out->len + have > cap ||
		    doc->total + have > INFLATE_TOTAL ||
		    buf_append(out, chunk, have) != 0) {
			inflateEnd(&z);
			return -1;
		}
		doc->total += have;
	} while (rc != Z_STREAM_END);
	inflateEnd(&z);
	return 0;
}

/*
 * generic - is the value no one's name (empty, or what a program puts)?
 * Excel's author of a threaded comment is "tc={ID}": the person is in
 * xl/persons/person.xml, which is judged on its own.
 */
static int
generic(const char *v)
{
	static const char *const anyone[] = {
		"", "unknown", "user", "author", "anonymous", "admin",
		"administrator", "owner", "windows user", "python-docx",
		"microsoft office user", "microsoft", "openpyxl", NULL
	};

	size_t n = strlen(v);

	if (n > 5 && strncmp(v, "tc={", 4) == 0 && v[n - 1] == '}' &&
	    strspn(v + 4, "0123456789abcdefABCDEF-") == n - 5)
		return 1;
	for (int k = 0; anyone[k]; k++)
		if (strcasecmp(v, anyone[k]) == 0)
			return 1;
	return 0;
}

/* judge_value - add the n bytes of a value to the finding if they name */
static void
judge_value(struct doc *doc, const unsigned char *v, size_t n,
    const char *what)
{
	char s[64];

	while (n && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' ||
	    v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	/* a long value is no program's placeholder */
	if (n >= sizeof(s) || memchr(v, '\0', n) != NULL) {
		doc_say(doc, 1, what);
		return;
	}
	memcpy(s, v, n);
	s[n] = '\0';
	if (!generic(s))
		doc_say(doc, 1, what);
}

/* listed - is the n-byte q one of the names of the NULL-ended list? */
static int
listed(const char *const *names, const unsigned char *q, size_t n)
{
	for (int k = 0; names && names[k]; k++)
		if (strlen(names[k]) == n && memcmp(q, names[k], n) == 0)
			return 1;
	return 0;
}

/*
 * naming - is the element or attribute (local name) one that names, in
 * every entry or in this one (a PowerPoint author's "name": the same word
 * names a style or a bookmark elsewhere)?
 */
static int
naming(const struct doc *doc, const unsigned char *q, size_t n)
{
	static const char *const names[] = {
		"creator", "initial-creator", "printed-by", "lastModifiedBy",
		"Author", "Company", "Manager", "author", "userId",
		"creator-initials", NULL
	};
	const unsigned char *c;

	while ((c = memchr(q, ':', n)) != NULL) {
		n -= (size_t)(c + 1 - q);
		q = c + 1;
	}
	return listed(names, q, n) || listed(doc->extra, q, n);
}

/* find_at - the index of the first s at or after i, or n */
static size_t
find_at(const unsigned char *d, size_t n, size_t i, const char *s)
{
	const unsigned char *p = i < n ?
	    memmem(d + i, n - i, s, strlen(s)) : NULL;

	return p ? (size_t)(p - d) : n;
}

/* skip_to - the index just past the first s at or after i, or n */
static size_t
skip_to(const unsigned char *d, size_t n, size_t i, const char *s)
{
	size_t e = find_at(d, n, i, s);

	return e < n ? e + strlen(s) : n;
}

/*
 * keep - add up to the first VALUE_MAX bytes of a value to v; cannot
 * fail: v was given its room first (value_buf), so that a failed
 * allocation never makes a name look empty
 */
#define VALUE_MAX	256
static void
keep(struct buf *v, const unsigned char *p, size_t n)
{
	if (v->len < VALUE_MAX)
		(void)buf_append(v, p, n < VALUE_MAX - v->len ? n :
		    VALUE_MAX - v->len);
}

/* value_buf - v with room for VALUE_MAX bytes; 0, or -1 (then unreadable) */
static int
value_buf(struct doc *doc, struct buf *v)
{
	buf_init(v, 0);
	if (buf_reserve(v, VALUE_MAX) == 0)
		return 0;
	doc_say(doc, -1, "its document properties, which the list has no "
	    "memory to read: it cannot see whether they name you");
	buf_free(v);
	return -1;
}

/* isname - a byte of an XML name (ASCII is enough to find the end) */
static int
isname(unsigned char c)
{
	return c > ' ' && c != '>' && c != '/' && c != '=' && c != '<' &&
	    c != '"' && c != '\'';
}

/*
 * xml_text - the text of the element qname whose content starts at i: the
 * character data and CDATA, without markup, up to its end tag, into v
 * (its first VALUE_MAX bytes are enough to judge). Returns the index past
 * the end tag; *closed 0 if there was none.
 */
static size_t
xml_text(const unsigned char *d, size_t n, size_t i, const unsigned char *q,
    size_t ql, struct buf *v, int *closed)
{
	*closed = 0;
	while (i < n) {
		if (d[i] != '<') {
			keep(v, d + i, 1);
			i++;
		} else if (has_prefix(d + i, n - i, "<![CDATA[", 9)) {
			size_t e = find_at(d, n, i + 9, "]]>");

			keep(v, d + i + 9, e - (i + 9));
			i = e < n ? e + 3 : n;
		} else if (has_prefix(d + i, n - i, "<!--", 4)) {
			i = skip_to(d, n, i + 4, "-->");
		} else if (i + 2 + ql < n && d[i + 1] == '/' &&
		    memcmp(d + i + 2, q, ql) == 0 && !isname(d[i + 2 + ql])) {
			*closed = 1;
			return skip_to(d, n, i, ">");
		} else
			i = skip_to(d, n, i, ">");
	}
	return n;
}

/*
 * xml_attrs - judge the naming attributes of the start tag from i (XMP
 * writes pdf:Author="..." that way); the index of its '>' or n.
 */
static size_t
xml_attrs(struct doc *doc, const unsigned char *d, size_t n, size_t i,
    const char *what)
{
	size_t a, al, e;

	while (i < n && d[i] != '>') {
		if (!isname(d[i])) {
			i++;
			continue;
		}
		for (a = i; i < n && isname(d[i]); i++)
			;
		al = i - a;
		while (i < n && (d[i] == ' ' || d[i] == '\t' ||
		    d[i] == '\r' || d[i] == '\n'))
			i++;
		if (i >= n || d[i] != '=')
			continue;
		while (++i < n && d[i] != '"' && d[i] != '\'')
			if (d[i] == '>')
				return i;
		if (i >= n)
			return n;
		e = find_at(d, n, i + 1, d[i] == '"' ? "\"" : "'");
		if (naming(doc, d + a, al))
			judge_value(doc, d + i + 1, e - (i + 1), what);
		i = e < n ? e + 1 : n;
	}
	return i;
}

/*
 * xml_judge - judge every naming element and attribute of an XML text
 * (ODF meta.xml, OOXML core.xml/app.xml, XMP); one pass.
 */
static void
xml_judge(struct doc *doc, const unsigned char *d, size_t n, const char *what)
{
	size_t i = 0, q, ql;
	struct buf v;
	int closed;

	if (value_buf(doc, &v) != 0)
		return;
	while (doc->found != 1 && (i = find_at(d, n, i, "<")) < n) {
		if (++i < n && (d[i] == '/' || d[i] == '!' || d[i] == '?'))
			continue;
		for (q = i; i < n && isname(d[i]); i++)
			;
		ql = i - q;
		i = xml_attrs(doc, d, n, i, what);
		if (i >= n || !naming(doc, d + q, ql) || d[i - 1] == '/')
			continue;
		buf_reset(&v);
		i = xml_text(d, n, i + 1, d + q, ql, &v, &closed);
		if (!closed)
			doc_say(doc, -1, "its document properties, which are "
			    "cut short: the list cannot see whether they name "
			    "you");
		else
			judge_value(doc, v.data ? v.data : (const unsigned
			    char *)"", v.len, what);
	}
	buf_free(&v);
}

/* pdf_delim - does the byte end a PDF name or keyword? */
static int
pdf_delim(unsigned char c)
{
	return c <= ' ' || strchr("()<>[]{}/%", c) != NULL;
}

/* hexval - the value of a hex digit, -1 if it is none */
static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * pdf_string - the PDF string (literal or hex) at i into v, decoded
 * enough to judge it (escapes, hex, UTF-16BE reduced to its ASCII);
 * the index past it.
 */
static size_t
pdf_string(const unsigned char *d, size_t n, size_t i, struct buf *v)
{
	int depth = 1, h, hi = -1;
	unsigned char c;

	if (d[i] == '<') {
		for (i++; i < n && d[i] != '>'; i++)
			if ((h = hexval(d[i])) < 0)
				continue;
			else if (hi < 0)
				hi = h;
			else {
				c = (unsigned char)(hi << 4 | h);
				keep(v, &c, 1);
				hi = -1;
			}
		return i < n ? i + 1 : n;
	}
	for (i++; i < n && depth > 0; i++) {
		c = d[i];
		if (c == '\\' && i + 1 < n)
			c = d[++i];	/* the escaped byte stands */
		else if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			break;
		keep(v, &c, 1);
	}
	return i < n ? i + 1 : n;
}

/* utf16_ascii - a UTF-16BE value with its BOM as one byte per character */
static void
utf16_ascii(struct buf *v)
{
	size_t k, o = 0;

	if (v->len < 2 || v->data[0] != 0xfe || v->data[1] != 0xff)
		return;
	for (k = 2; k + 1 < v->len; k += 2)
		/* not ASCII: kept as a byte that no placeholder has */
		v->data[o++] = v->data[k] ? 0x80 : v->data[k + 1];
	v->len = o;
}

/* a PDF key whose string value may name the writer */
struct pdf_key {
	const char	*key;		/* "/Author" */
	const char	*what;		/* what the notice calls it */
	const char	*elsewhere;	/* of a reference; NULL: not said */
	int		 annot;		/* only in an annotation */
};

static const struct pdf_key pdf_keys[] = {
	{ "/Author", "its Author field", "its Author field, which is stored "
	    "elsewhere in it: the list cannot see whether it names you", 0 },
	/* the commenter: a login or the name the reader was given */
	{ "/T", "the name on its comments (/T)", NULL, 1 },
};

/*
 * pdf_annotation - is the key at [k, i) in an annotation? Its dictionary,
 * as far back as its "<<" (at most 2 KiB), says /Annot or /Subtype and
 * no /FT (a form field's /T is its field's name)
 */
static int
pdf_annotation(const unsigned char *d, size_t k, size_t i)
{
	size_t b, w;

	for (b = k; b > 0 && i - b < 2048 &&
	    memcmp(d + b, "<<", 2) != 0; b--)
		;
	w = i - b;
	return !((find_at(d + b, w, 0, "/Annot") == w &&
	    find_at(d + b, w, 0, "/Subtype") == w) ||
	    find_at(d + b, w, 0, "/FT") < w);
}

/*
 * pdf_values - judge every value of key k in [d, d+n): a string names
 * unless it is generic; a reference to another object cannot be seen,
 * and k says whether that and any other value are told.
 */
static void
pdf_values(struct doc *doc, const unsigned char *d, size_t n,
    const struct pdf_key *k)
{
	size_t i = 0, at, kl = strlen(k->key);
	struct buf v;

	if (value_buf(doc, &v) != 0)
		return;
	while (doc->found != 1 && (i = find_at(d, n, i, k->key)) < n) {
		at = i;
		i += kl;
		if (i < n && !pdf_delim(d[i]))
			continue;	/* /AuthorX, /Type, /TU: other keys */
		if (k->annot && !pdf_annotation(d, at, i))
			continue;
		while (i < n && d[i] <= ' ')
			i++;
		if (i >= n)
			break;
		if (d[i] == '(' || (d[i] == '<' && (i + 1 >= n ||
		    d[i + 1] != '<'))) {
			buf_reset(&v);
			i = pdf_string(d, n, i, &v);
			utf16_ascii(&v);
			judge_value(doc, v.data ? v.data :
			    (const unsigned char *)"", v.len, k->what);
		} else if (k->elsewhere == NULL)
			continue;
		else if (d[i] >= '0' && d[i] <= '9')
			doc_say(doc, -1, k->elsewhere);
		else
			doc_say(doc, 1, k->what);
	}
	buf_free(&v);
}

/* pdf_text - judge the names in PDF bytes: /Author, comments, XMP */
static void
pdf_text(struct doc *doc, const unsigned char *d, size_t n)
{
	for (size_t k = 0; k < sizeof(pdf_keys) / sizeof(pdf_keys[0]); k++)
		pdf_values(doc, d, n, &pdf_keys[k]);
	if (find_at(d, n, 0, "<x:xmpmeta") < n ||
	    find_at(d, n, 0, "<rdf:RDF") < n)
		xml_judge(doc, d, n, "its XMP author (dc:creator)");
}

/*
 * pdf_stream - the stream whose dictionary is [dict, dend) and data from
 * s to the "endstream" at e: an object or metadata stream is inflated and
 * read; a filter other than FlateDecode hides it.
 */
static void
pdf_stream(struct doc *doc, const unsigned char *d, size_t dict, size_t dend,
    size_t s, size_t e)
{
	const unsigned char *dd = d + dict;
	size_t dl = dend - dict;
	struct buf out;

	if (find_at(dd, dl, 0, "/ObjStm") == dl &&
	    find_at(dd, dl, 0, "/Metadata") == dl)
		return;			/* pages, fonts, images */
	if (find_at(dd, dl, 0, "/Filter") == dl)
		return;			/* plain: read with the whole file */
	if (find_at(dd, dl, 0, "/FlateDecode") == dl ||
	    find_at(dd, dl, 0, "Decode") != find_at(dd, dl, 0, "FlateDecode") +
	    5 || find_at(dd, dl, 0, "/DecodeParms") < dl) {
		doc_say(doc, -1, "its document properties, which are "
		    "encoded in a way the list cannot read: it cannot see "
		    "whether they name you");
		return;
	}
	buf_init(&out, 0);
	if (inflate_bounded(doc, d + s, e - s, 0, &out) != 0)
		doc_say(doc, -1, "its document properties, which are "
		    "compressed beyond what the list reads: it cannot see "
		    "whether they name you");
	else if (out.data)
		pdf_text(doc, out.data, out.len);
	buf_free(&out);
}

/*
 * pdf_judge - the PDF's own bytes, then each stream's: the keyword
 * "stream" after a dictionary's ">>", its data up to "endstream"; the
 * dictionary is what lies after the last "obj" before it (at most 4 KiB
 * back, never into the last stream). Linear: each search starts where
 * the last one ended.
 */
static void
pdf_judge(struct doc *doc, const unsigned char *d, size_t n)
{
	size_t i = 0, j, s, e, dict, back, prev = 0;

	pdf_text(doc, d, n);
	while (doc->found != 1 && (i = find_at(d, n, i, "stream")) < n) {
		for (j = i; j > 0 && d[j - 1] <= ' '; j--)
			;
		s = i + 6;
		if (j < 2 || memcmp(d + j - 2, ">>", 2) != 0) {
			i = s;		/* "endstream", or the word in text */
			continue;
		}
		if (s < n && d[s] == '\r')
			s++;
		if (s < n && d[s] == '\n')
			s++;
		e = find_at(d, n, s, "endstream");
		back = j > prev + 4096 ? j - 4096 : prev;
		for (dict = j; dict > back && memcmp(d + dict, "obj", 3) != 0;
		    dict--)
			;
		pdf_stream(doc, d, dict, j, s, e);
		i = prev = e;
	}
}

/* the names that name in PowerPoint's and Excel's author lists only */
static const char *const ppt_authors[] = { "name", "initials", NULL };
static const char *const xl_persons[] = { "displayName", NULL };

/*
 * the zip entries that hold a document's properties, what they say, and
 * the names that name there besides naming()'s; a '#' in a name stands
 * for any digits (xl/comments1.xml, comments2.xml, ...; none too)
 */
static const struct {
	const char *name, *what;
	const char *const *extra;
} props[] = {
	{ "meta.xml", "its document properties (meta.xml: the author, as "
	    "LibreOffice records them)", NULL },
	{ "docProps/core.xml", "its document properties (docProps/core.xml: "
	    "the author and who last saved it, as Word records them)", NULL },
	{ "docProps/app.xml", "its document properties (docProps/app.xml: "
	    "the company or manager)", NULL },
	/* a name on each comment and tracked change, an account per author */
	{ "word/comments.xml", "the names on its comments "
	    "(word/comments.xml)", NULL },
	{ "word/document.xml", "the names on its tracked changes "
	    "(word/document.xml)", NULL },
	{ "word/header#.xml", "the names on the tracked changes in its "
	    "headers (word/headerN.xml)", NULL },
	{ "word/footer#.xml", "the names on the tracked changes in its "
	    "footers (word/footerN.xml)", NULL },
	{ "word/footnotes.xml", "the names on the tracked changes in its "
	    "footnotes (word/footnotes.xml)", NULL },
	{ "word/endnotes.xml", "the names on the tracked changes in its "
	    "endnotes (word/endnotes.xml)", NULL },
	{ "word/people.xml", "the accounts of its authors "
	    "(word/people.xml)", NULL },
	{ "xl/comments#.xml", "the names on its comments "
	    "(xl/commentsN.xml)", NULL },
	{ "xl/persons/person#.xml", "the names and accounts of the people in "
	    "its threaded comments (xl/persons/person.xml)", xl_persons },
	{ "ppt/commentAuthors.xml", "the names of its commenters "
	    "(ppt/commentAuthors.xml)", ppt_authors },
	{ "ppt/authors.xml", "the names and accounts of its commenters "
	    "(ppt/authors.xml)", ppt_authors },
	{ "content.xml", "the names on its comments or tracked changes "
	    "(content.xml, as LibreOffice records them)", NULL },
	{ "styles.xml", "the names on the comments in its headers or master "
	    "pages (styles.xml, as LibreOffice records them)", NULL },
	{ NULL, NULL, NULL }
};

/* entry_is - is the n-byte zip entry name p the name pattern pat? */
static int
entry_is(const unsigned char *p, size_t n, const char *pat)
{
	size_t i = 0;

	for (; *pat; pat++) {
		if (*pat == '#') {
			while (i < n && p[i] >= '0' && p[i] <= '9')
				i++;
		} else if (i >= n || p[i++] != (unsigned char)*pat)
			return 0;
	}
	return i == n;
}

/*
 * zip_entry - read the entry whose central record is at c: stored or
 * deflated, its local header and data within n, then judged as XML.
 */
static void
zip_entry(struct doc *doc, const unsigned char *d, size_t n, size_t c,
    const char *what)
{
	size_t method = LE(d + c + 10, 2), csize = LE(d + c + 20, 4);
	size_t off = LE(d + c + 42, 4), at;
	struct buf out;

	if ((LE(d + c + 8, 2) & 1) || (method != 0 && method != 8) ||
	    off > n || n - off < 30 || memcmp(d + off, "PK\3\4", 4) != 0 ||
	    (at = off + 30 + LE(d + off + 26, 2) + LE(d + off + 28, 2)) > n ||
	    csize > n - at) {
		doc_say(doc, -1, "its document properties, which the list "
		    "cannot read: it cannot see whether they name you");
		return;
	}
	if (method == 0) {
		if (spend(doc, csize) != 0)
			doc_say(doc, -1, "its document properties, which are "
			    "more than the list reads: it cannot see whether "
			    "they name you");
		else
			xml_judge(doc, d + at, csize, what);
		return;
	}
	buf_init(&out, 0);
	if (inflate_bounded(doc, d + at, csize, 1, &out) != 0)
		doc_say(doc, -1, "its document properties, which are "
		    "compressed beyond what the list reads: it cannot see "
		    "whether they name you");
	else if (out.data)
		xml_judge(doc, out.data, out.len, what);
	buf_free(&out);
}

/*
 * zip_judge - every entry of the zip's central directory that holds
 * properties (names compared whole; a name twice is read twice). Walks
 * from the end-of-central-directory record, every offset and length
 * checked against n; at most 65535 entries.
 */
static void
zip_judge(struct doc *doc, const unsigned char *d, size_t n)
{
	size_t e, cd, cdn, count, k, fl;

	if (n < 22)
		return;
	/* the record is in the last 22 + 65535 bytes (a comment may follow) */
	for (e = n - 22; memcmp(d + e, "PK\5\6", 4) != 0; e--)
		if (e == 0 || n - e >= 22 + 65535)
			return;
	count = LE(d + e + 10, 2);
	cdn = LE(d + e + 12, 4);
	cd = LE(d + e + 16, 4);
	if (cd > e || cdn > e - cd)
		return;
	for (k = 0; k < count && cd + 46 <= e && doc->found != 1; k++) {
		if (memcmp(d + cd, "PK\1\2", 4) != 0)
			return;
		fl = LE(d + cd + 28, 2);
		if (cd + 46 + fl > e)
			return;
		for (int p = 0; props[p].name; p++) {
			if (!entry_is(d + cd + 46, fl, props[p].name))
				continue;
			doc->extra = props[p].extra;
			zip_entry(doc, d, n, cd, props[p].what);
			doc->extra = NULL;
		}
		cd += 46 + fl + LE(d + cd + 30, 2) + LE(d + cd + 32, 2);
	}
}

/*
 * meta_document - does this attachment carry properties that name its
 * author (PDF Author/XMP, ODF meta.xml, OOXML docProps)? 1 and what in
 * plain words (also when they cannot be read), 0 if it is none of those
 * or they name no one. Linear in n; inflating bounded (INFLATE_*).
 */
int
meta_document(const unsigned char *d, size_t n, char *what, size_t wl)
{
	size_t head = n < 1024 ? n : 1024;
	struct doc doc = { what, wl, 0, 0, 0, NULL };

	if (head >= 5 && memmem(d, head, "%PDF-", 5))
		pdf_judge(&doc, d, n);
	else if (has_prefix(d, n, "PK\3\4", 4))
		zip_judge(&doc, d, n);
	return doc.found != 0;
}
