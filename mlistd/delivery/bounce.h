/* bounce.h - bounces and DSNs: raise members' bounce scores, probe, disable. */
#ifndef MLIST_BOUNCE_H
#define MLIST_BOUNCE_H

#include "delivery/envid.h"
#include "mail/addr.h"
#include "pipeline/pipeline.h"

int	bounce_handle(struct pipeline *, const struct listaddr *, const char *sender,
	    const struct buf *msg);
void	bounce_member(struct pipeline *, const struct list_cfg *, const char *addr);
const char *bounce_dsn_status(const char *sender, const char *msg, size_t len, size_t *slen);
int	bounce_returned_msgid(const char *msg, size_t len, char *out,
	    size_t n);
int	bounce_dsn_envid(const char *status, size_t len, char *out,
	    size_t n);
int	bounce_dsn_recipients(const char *status, size_t len, char rcpts[][ADDR_MAX + 1], int max);
int	bounce_dsn_failed(const char *status, size_t len,
	    char rcpts[][ADDR_MAX + 1], char (*orig)[ENVID_ORCPT_MAX], int max);

#endif
