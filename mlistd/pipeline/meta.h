/* meta.h - hidden data: stripped from images, found in documents. */
#ifndef MLIST_META_H
#define MLIST_META_H

#include "util/buf.h"

/* META_UNWALKED: a format that carries camera and place, not walked here */
enum meta_kind {
	META_OTHER, META_JPEG, META_PNG, META_WEBP, META_GIF, META_UNWALKED
};

enum meta_kind meta_kind(const unsigned char *, size_t);
int	meta_jpeg_strip(const unsigned char *, size_t, struct buf *, int *);
int	meta_png_strip(const unsigned char *, size_t, struct buf *, int *);
int	meta_webp_strip(const unsigned char *, size_t, struct buf *, int *);
int	meta_gif_strip(const unsigned char *, size_t, struct buf *, int *);
int	meta_image_strip(const unsigned char *, size_t, struct buf *, int *);
int	meta_document(const unsigned char *, size_t, char *what, size_t wl);

#endif
