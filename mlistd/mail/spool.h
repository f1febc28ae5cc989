/* spool.h - durable, encrypted message files (one per message). */
#ifndef MLIST_SPOOL_H
#define MLIST_SPOOL_H

#include <limits.h>
#include <sodium.h>

#include "../util/buf.h"
#include "keys.h"
#include "result.h"

/* a queue id: 8 hex digits of time (so ids sort by age), 16 of randomness (64 bits) */
#define QID_LEN		24
#define QID_LEN_V1	16	/* ids before 64 random bits: still read, never made */
#define SPOOL_CHUNK	65536

enum spool_dir { SPOOL_TMP, SPOOL_INCOMING, SPOOL_OUT, SPOOL_CORRUPT, SPOOL_NDIRS };

struct envelope {
	char		*sender;	/* reverse-path, "" for <> */
	char		**rcpts;
	int		 nrcpts;
	long long	 received;	/* unix time */
	char		*client;	/* peer address */
	char		*note;		/* free text for the next stage (list, source id) */
};

/*
 * A spool seals to pk; only one opened with the instance's keys can read
 * back (the queue manager). The SMTP server's spool has keys == NULL: it
 * can write and never read (spool_open_sealer).
 */
struct spool {
	char		 dir[SPOOL_NDIRS][PATH_MAX];
	unsigned char	 pk[KEYS_LEN];
	const struct keys *keys;
};

struct spool_writer {
	struct spool	*sp;
	enum spool_dir	 where;
	int		 fd;
	int		 failed;
	char		 id[QID_LEN + 1];
	char		 tmp[PATH_MAX + 32];
	crypto_secretstream_xchacha20poly1305_state st;
	struct buf	 pending;
	size_t		 total;
};

int	spool_open(struct spool *, const char *state_dir, const struct keys *, struct buf *err);
int	spool_open_sealer(struct spool *, const char *state_dir, const unsigned char pk[KEYS_LEN],
	    struct buf *err);
void	spool_open_fds(struct spool *, int tmpfd, int infd,
	    const unsigned char pk[KEYS_LEN]);
int	spool_clean_tmp(struct spool *);
enum result spool_begin(struct spool *, enum spool_dir, const struct envelope *,
	    struct spool_writer *);
enum result spool_write(struct spool_writer *, const void *, size_t);
enum result spool_commit(struct spool_writer *);
void	spool_commit_many(struct spool_writer **, int n, enum result *results);
void	spool_abort(struct spool_writer *);
int	spool_read(struct spool *, enum spool_dir, const char *id, struct envelope *,
	    struct buf *msg, struct buf *why);
int	spool_quarantine(struct spool *, enum spool_dir, const char *id);
int	spool_remove(struct spool *, enum spool_dir, const char *id);
int	spool_exists(struct spool *, enum spool_dir, const char *id);
int	spool_list(struct spool *, enum spool_dir, char ***ids);
void	spool_list_free(char **, int);
int	spool_count(struct spool *, enum spool_dir);
void	spool_new_id(char out[QID_LEN + 1]);
void	envelope_free(struct envelope *);
int	envelope_add_rcpt(struct envelope *, const char *);

int	spool_id_valid(const char *);

#endif
