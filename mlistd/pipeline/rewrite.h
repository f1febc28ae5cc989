/* rewrite.h - a post's body written anew for pseudonymous and anonymous lists. */
#ifndef MLIST_REWRITE_H
#define MLIST_REWRITE_H

#include "mail/config.h"
#include "util/buf.h"

struct mailmime;

struct rewrite_opts {
	const char	*hostname;	/* new Content-IDs end in it */
	int		 html;		/* enum html_policy */
	int		 strip_signature;
	const char	*footer;	/* "" : none */
	/* an encoded forwarded message, screened, parsed and range-checked
	 * (0, *tree to mailmime_free) or not (-1); NULL: such parts go */
	int		(*parse)(const char *, size_t, struct mailmime **tree);
	/* [forward-emptied] filled: what is left of an emptied forward */
	const char	*emptied;
};

struct rewrite_result {
	struct buf	 entity;	/* MIME-Version, Content-*, blank line, body */
	struct buf	 scan;		/* decoded text of every part, for the leak guard */
	struct buf	 removed;	/* "- what\n" for each kind of part taken out */
	int		 remote;	/* remote HTML items removed */
	char		 document[512];	/* "" or the attachment naming them */
};

struct mailmime_content;

void	rewrite_type_name(const struct mailmime_content *, char *out, size_t n);
int	rewrite_body(const struct mailmime *body, const struct rewrite_opts *, struct rewrite_result *);

#endif
