/*
 * pgpwhy.h - why the sandboxed worker or the OpenPGP engine refused a
 * mail or a key, in the member's words: the worker's reasons are codes,
 * the engine's words (ours in mail/openpgp*.c, librnp's inside them) are
 * mapped to codes; the text goes to the log, the member reads a piece.
 */
#ifndef MLIST_PGPWHY_H
#define MLIST_PGPWHY_H

#include "mail/notices.h"

enum reason_id	pgpwhy_reason(const char *why);
void	pgpwhy_code(const char *why, enum reason_id fallback, char *out,
	    size_t n);
void	pgpwhy_words(const struct notices *list, const struct notices *inst,
	    const struct notice_ctx *, const char *why, enum reason_id fallback,
	    char *out, size_t n);

#endif
