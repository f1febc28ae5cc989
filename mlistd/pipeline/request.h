/* request.h - commands by mail to LIST-request@ (so far: help, keys). */
#ifndef MLIST_REQUEST_H
#define MLIST_REQUEST_H

#include "mail/addr.h"
#include "mail/notices.h"
#include "pipeline/pipeline.h"
#include "util/why.h"

enum request_cmd {
	CMD_NONE = 0, CMD_HELP = 1, CMD_KEYS = 2, CMD_KEY = 4, CMD_WHO = 8, CMD_ARCHIVE_INDEX = 16,
	CMD_ARCHIVE_GET = 32, CMD_SET_PSEUDONYM = 64, CMD_SET_IDENTITY = 128, CMD_SUBSCRIBE = 256,
	CMD_UNSUBSCRIBE = 512, CMD_SET_DIGEST = 1024, CMD_SET_NOMAIL = 2048, CMD_CONFIRM = 4096,
	CMD_ENCKEY = 8192, CMD_AUDIT = 16384, CMD_PGPKEY = 32768
};

/* the commands that read what disclosure allows (unverified: anyone) */
#define CMD_READS	(CMD_WHO | CMD_AUDIT | CMD_ARCHIVE_INDEX | \
			 CMD_ARCHIVE_GET)

/* the commands that change a membership: they wait for the mailbox's own yes */
#define CMD_CONFIRMED	(CMD_SET_PSEUDONYM | CMD_SET_IDENTITY | CMD_SUBSCRIBE | CMD_UNSUBSCRIBE | \
			 CMD_SET_DIGEST | CMD_SET_NOMAIL | CMD_ENCKEY)

struct request {
	unsigned	 cmds;		/* bit set of enum request_cmd */
	char		 key[64];	/* the argument of "key PUBLICKEY" (base64) */
	char		 enckey[64];	/* the argument of "key x25519:PUBLICKEY" (base64) */
	char		 expires[16];	/* "key x25519:PUBLICKEY expires YYYY-MM-DD" (unchecked) */
	int		 archive_n;	/* "archive get N" */
	char		 pseudonym[256];/* "set pseudonym NAME" */
	char		 identity[16];	/* "set identity MODE" */
	int		 digest, nomail;/* "set digest on|off", "set nomail on|off" */
	char		 token[48];	/* "confirm TOKEN" */
	char		 keyname[256];	/* "keys NAME": a pseudonym's OpenPGP key */
	int		 pgpcancel;	/* "key cancel": drop a waiting key */
	const char	*intro;		/* the body after a "subscribe" line: the introduction */
	size_t		 introlen;
	const char	*msg;		/* the mail: a key may ride on it */
	size_t		 msglen;
};

unsigned request_parse(const char *msg, size_t len, struct request *);
int	request_answer(struct pipeline *, const struct list_cfg *,
	    const struct envelope *, const struct buf *msg,
	    const struct request *, struct why *);
int	request_answer_confirmed(struct pipeline *, const struct list_cfg *,
	    const char *addr, const char *arg);
int	request_piece(struct pipeline *, const struct list_cfg *, enum piece_id,
	    const char *const *vars, struct buf *);
int	request_piece_line(struct pipeline *, const struct list_cfg *,
	    enum piece_id, char *out, size_t);
int	request_help(struct pipeline *, const struct list_cfg *,
	    const struct envelope *, const struct buf *msg,
	    enum piece_id why_sent, struct why *);

#endif
