/* restore.h - a backup brought back into a fresh state directory. */
#ifndef MLIST_RESTORE_H
#define MLIST_RESTORE_H

#include "backup.h"
#include "config.h"

int	restore_fresh(const struct config *, char *err, size_t errlen);
int	restore_run(const struct config *, struct backup_r *,
	    const struct keys *, char *err, size_t errlen);

#endif
