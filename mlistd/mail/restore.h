/* restore.h - a backup brought back into a fresh state directory. */
#ifndef MLIST_RESTORE_H
#define MLIST_RESTORE_H

#include "backup.h"
#include "config.h"

#define RESTORE_TEMPLATES_BESIDE	1	/* restore_run: see restore.c */

int	restore_fresh(const struct config *, char *err, size_t errlen);
int	restore_run(const struct config *, struct backup_r *,
	    const struct keys *, char *err, size_t errlen);

#endif
