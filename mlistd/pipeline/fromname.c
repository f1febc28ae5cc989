/*
 * fromname.c - the words of a post's From in its author's name: "NAME via
 * LIST" is the piece [from-author] ({name}), an anonymous author's name
 * "Anonymous 3F9A2C" the piece [anonymous-name] ({code}), so that a list
 * speaks its own language there too. The same words are the pseudonym
 * key's UID (sign.c) and a rotation's From (pgprotate.c). They are built,
 * never read back: a pseudonym's name and handle are data in the store.
 */
#include <stdio.h>

#include "mail/config.h"
#include "mail/notices.h"
#include "pipeline/fromname.h"

/* one_line - a piece's words on one line: a translation adds no header */
static void
one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* line - piece with vars, one line, into out; fallback if it is missing */
static void
line(const struct config *cfg, const struct list_cfg *l, enum piece_id id,
    const char *const *vars, const char *fallback, char *out, size_t n)
{
	if (notice_piece_line(l->notices, cfg->notices, id,
	    &(struct notice_ctx){ l->name, cfg->hostname }, vars, out,
	    n) < 0 || !*out)
		(void)snprintf(out, n, "%s", fallback);
	one_line(out);
}

/*
 * fromname_author - the display name of a post in its author's name
 * (name: a pseudonym, an anonymous author's name, a member's name), in
 * UTF-8; the name alone if the piece is missing, which a loaded set never
 * is
 */
void
fromname_author(const struct config *cfg, const struct list_cfg *l,
    const char *name, char *out, size_t n)
{
	const char *vars[] = { "name", name, NULL };

	line(cfg, l, PIECE_FROM_AUTHOR, vars, name, out, n);
}

/* fromname_anonymous - an anonymous author's name, code its six digits */
void
fromname_anonymous(const struct config *cfg, const struct list_cfg *l,
    const char *code, char *out, size_t n)
{
	const char *vars[] = { "code", code, NULL };

	line(cfg, l, PIECE_ANONYMOUS_NAME, vars, code, out, n);
}
