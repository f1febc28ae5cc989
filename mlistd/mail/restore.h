/* restore.h - a backup brought back into a fresh state directory. */
#ifndef MLIST_RESTORE_H
#define MLIST_RESTORE_H

#include "backup.h"
#include "config.h"

#define RESTORE_TEMPLATES_BESIDE	1	/* restore_run: see restore.c */

/* what a restored instance will deliver at its first start */
struct restore_counts {
	long long	pending;	/* copies waiting in the database */
	long long	results;	/* in its journal, recorded first */
};

int	restore_fresh(const struct config *, char *err, size_t errlen);
int	restore_run(const struct config *, struct backup_r *,
	    const struct keys *, struct restore_counts *, char *err,
	    size_t errlen);

#endif
