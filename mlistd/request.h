/* request.h - commands by mail to LIST-request@ (so far: help, keys). */
#ifndef MLIST_REQUEST_H
#define MLIST_REQUEST_H

#include "mail/addr.h"
#include "pipeline.h"

enum request_cmd { CMD_NONE = 0, CMD_HELP = 1, CMD_KEYS = 2, CMD_KEY = 4 };

struct request {
	unsigned	 cmds;		/* bit set of enum request_cmd */
	char		 key[64];	/* the argument of "key PUBLICKEY" (base64) */
};

unsigned request_parse(const char *msg, size_t len, struct request *);
int	request_answer(struct pipeline *, const struct list_cfg *, const char *to, const struct request *);

#endif
