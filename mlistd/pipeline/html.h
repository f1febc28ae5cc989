/* html.h - HTML without remote content (gumbo-parsed, rewritten from the tree). */
#ifndef MLIST_HTML_H
#define MLIST_HTML_H

#include "mail/config.h"
#include "util/buf.h"

struct html_cid {
	char	old[256];	/* Content-ID in the post, without <> */
	char	new[128];	/* the id the list gave that part */
};

int	html_sanitize(const char *html, size_t len, const struct html_cid *, int ncids, struct buf *out,
	    struct buf *text);

#endif
