/* backup.h - the instance written into one encrypted file (mlistctl backup). */
#ifndef MLIST_ACTIONS_BACKUP_H
#define MLIST_ACTIONS_BACKUP_H

struct act_ctx;

int	act_backup(struct act_ctx *, const char *path);

#endif
