/* pgprotate.h - a pseudonym's OpenPGP key replaced, and the members told. */
#ifndef MLIST_PGPROTATE_H
#define MLIST_PGPROTATE_H

#include "mail/openpgp.h"
#include "pipeline/pipeline.h"

int	pgprotate_pseudonym(struct pipeline *, const struct list_cfg *,
	    const char *name, char oldfpr[OPENPGP_FPR_SIZE],
	    char fpr[OPENPGP_FPR_SIZE]);
int	pgprotate_retired_each(struct store *, const struct list_cfg *,
	    const char *name, void (*)(const char *fpr, long long retired,
	    const struct buf *armored, void *), void *);

#endif
