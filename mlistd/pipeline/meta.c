/*
 * meta.c - the hidden data in attachments that can name their author.
 *
 * Images lose it losslessly: the JPEG segments (APP1 EXIF/XMP, APP13
 * Photoshop/IPTC, comments, every other APPn but JFIF, ICC and Adobe's
 * colour marker, anything after the end of the image), the PNG chunks
 * (tEXt, iTXt, zTXt, eXIf, tIME, anything after IEND) and the WebP chunks
 * (EXIF, XMP) are left out; the pixel data is copied byte for byte.
 * Documents (PDF, ODF, OOXML) cannot be cleaned without rewriting them,
 * so meta_document only says what in them names a person; the caller
 * holds or refuses the post (list setting documents_with_author).
 *
 * Each walker is one bounded pass over its input, reads nothing past its
 * end, and fails closed: an image it cannot walk is not passed on. No
 * image library: these are segment and chunk lists, nothing is decoded.
 */
#include <stdio.h>
#include <string.h>

#include "pipeline/meta.h"

/* be16 - big-endian 16 bits at p */
static size_t
be16(const unsigned char *p)
{
	return (size_t)p[0] << 8 | p[1];
}

/* be32 - big-endian 32 bits at p */
static size_t
be32(const unsigned char *p)
{
	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    p[3];
}

/* le16 - little-endian 16 bits at p */
static size_t
le16(const unsigned char *p)
{
	return (size_t)p[1] << 8 | p[0];
}

/* le32 - little-endian 32 bits at p */
static size_t
le32(const unsigned char *p)
{
	return (size_t)p[3] << 24 | (size_t)p[2] << 16 | (size_t)p[1] << 8 |
	    p[0];
}

/* has_prefix - does [p, p+n) start with the n2 bytes of s? */
static int
has_prefix(const unsigned char *p, size_t n, const char *s, size_t n2)
{
	return n >= n2 && memcmp(p, s, n2) == 0;
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
		if (i + 2 > n || (len = be16(d + i)) < 2 || len > n - i)
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

/* png_drop - chunks that hold text, an EXIF block or a time stamp */
static int
png_drop(const unsigned char *type)
{
	static const char *const drop[] = {
		"tEXt", "iTXt", "zTXt", "eXIf", "tIME", NULL
	};

	for (int k = 0; drop[k]; k++)
		if (memcmp(type, drop[k], 4) == 0)
			return 1;
	return 0;
}

/* meta_png_strip - the PNG without text, EXIF and time (as meta_jpeg_strip) */
int
meta_png_strip(const unsigned char *d, size_t n, struct buf *out, int *removed)
{
	size_t i = 8, len;

	*removed = 0;
	if (meta_kind(d, n) != META_PNG)
		return -1;
	buf_append(out, d, 8);
	while (i + 12 <= n) {
		len = be32(d + i);
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
	if (meta_kind(d, n) != META_WEBP || (riff = le32(d + 4)) > n - 8 ||
	    riff < 4)
		return -1;
	n = riff + 8;		/* what the RIFF header claims, no trailer */
	buf_append(out, d, 12);
	while (i + 8 <= n) {
		len = le32(d + i + 4);
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
	default:
		return -1;
	}
}

/* find - is s in [d, d+n)? (memmem is linear: two-way) */
static int
find(const unsigned char *d, size_t n, const char *s)
{
	return n && memmem(d, n, s, strlen(s)) != NULL;
}

/* pdf_fields - the PDF's fields that name a person, in words; 1 if any */
static int
pdf_fields(const unsigned char *d, size_t n, char *what, size_t wl)
{
	if (find(d, n, "/Author"))
		snprintf(what, wl, "its Author field");
	else if (find(d, n, "dc:creator") || find(d, n, "pdf:Author"))
		snprintf(what, wl, "its XMP author (dc:creator)");
	else if (find(d, n, "/ObjStm") || find(d, n, "/Metadata"))
		snprintf(what, wl, "its document properties, which are "
		    "compressed: the list cannot see whether they name you");
	else
		return 0;
	return 1;
}

/*
 * zip_has - does the zip's central directory list name (its entries' names
 * compared whole)? Walks from the end-of-central-directory record, every
 * offset and length checked against n; at most 65535 entries.
 */
static int
zip_has(const unsigned char *d, size_t n, const char *name)
{
	size_t e, cd, cdn, count, nl = strlen(name), k, fl;

	if (n < 22)
		return 0;
	/* the record is in the last 22 + 65535 bytes (a comment may follow) */
	for (e = n - 22; memcmp(d + e, "PK\5\6", 4) != 0; e--)
		if (e == 0 || n - e >= 22 + 65535)
			return 0;
	count = le16(d + e + 10);
	cdn = le32(d + e + 12);
	cd = le32(d + e + 16);
	if (cd > e || cdn > e - cd)
		return 0;
	for (k = 0; k < count && cd + 46 <= e; k++) {
		if (memcmp(d + cd, "PK\1\2", 4) != 0)
			return 0;
		fl = le16(d + cd + 28);
		if (cd + 46 + fl > e)
			return 0;
		if (fl == nl && memcmp(d + cd + 46, name, nl) == 0)
			return 1;
		cd += 46 + fl + le16(d + cd + 30) + le16(d + cd + 32);
	}
	return 0;
}

/*
 * meta_document - does this attachment carry fields that name its author
 * (PDF Author/XMP, ODF meta.xml, OOXML docProps/core.xml)? 1 and what in
 * plain words, 0 if it is none of those. Linear in n.
 */
int
meta_document(const unsigned char *d, size_t n, char *what, size_t wl)
{
	size_t head = n < 1024 ? n : 1024;

	if (head >= 5 && memmem(d, head, "%PDF-", 5))
		return pdf_fields(d, n, what, wl);
	if (!has_prefix(d, n, "PK\3\4", 4))
		return 0;
	if (zip_has(d, n, "meta.xml")) {
		snprintf(what, wl, "its document properties (meta.xml: "
		    "the author, as LibreOffice records them)");
		return 1;
	}
	if (zip_has(d, n, "docProps/core.xml")) {
		snprintf(what, wl, "its document properties "
		    "(docProps/core.xml: the author and who last saved it, "
		    "as Word records them)");
		return 1;
	}
	return 0;
}
