/* worker.h - run the transform of untrusted mail in a throw-away, keyless, confined child process. */
#ifndef MLIST_WORKER_H
#define MLIST_WORKER_H

#include <time.h>

#include "mail/keys.h"
#include "mail/spool.h"
#include "pipeline/transform.h"

/* one parse in flight (worker.c's; workpool.c keeps several) */
struct worker_job {
	int		 fd;		/* the child's socket; -1 once read */
	unsigned	 seq;		/* the zygote's name for the child */
	struct buf	 raw;		/* its answer so far */
	int		 rd;		/* 1 reading, 0 read, -1 bad, -2 late */
	int		 ended;		/* the zygote said how it ended: */
	int		 status;	/* ... waitpid's status */
	int		 timed_out;	/* ... killed at its deadline */
	int		 crashed;	/* ended badly, not out of time */
	int		 seconds;	/* its budget */
	struct timespec	 deadline;	/* ours, past the zygote's */
	char		 qid[QID_LEN + 1];
	struct buf	 out;		/* the job, until the child took it */
	size_t		 out_off;	/* ... so much of it sent */
	int		 sending;
};

int	worker_start(const struct config *, const struct keys *, struct buf *err);
void	worker_stop(void);
int	worker_confine(void);
enum result worker_transform(const struct transform_in *, const struct keys *, struct transform_out *);

/*
 * what opens a post encrypted to the list (pgpin_open.c), sent with the
 * job; with key_of set, the job is not a parse but the key that address
 * sent, found and reduced (pgpin_key.c), key then its registered key;
 * with token_hash set, whether key signed an answer holding that token;
 * with private_open set, the mail opened with secret, a pseudonym's key
 * (pgpopen.c)
 */
struct worker_pgp {
	const void	*secret;	/* the list's OpenPGP secret key */
	size_t		 secret_len;
	const void	*key;		/* the outer From's key, or NULL */
	size_t		 key_len;
	const char	*key_of;	/* a key job: whose (NULL: a parse) */
	const char	*token_hash;	/* an answer job: the token's hash */
	int		 private_open;	/* an open job: secret a pseudonym's */
};

enum result worker_transform_pgp(const struct transform_in *,
	    const struct worker_pgp *, const struct keys *,
	    struct transform_out *);

int	worker_job_start(struct worker_job *, const struct transform_in *,
	    const struct worker_pgp *, const struct keys *, char *reason,
	    size_t len);
void	worker_job_read(struct worker_job *);
int	worker_job_done(const struct worker_job *);
int	worker_job_sending(const struct worker_job *);
int	worker_job_ms(const struct worker_job *);
/* in the child, defined by its module: a key job (pgpin_key.c) */
enum result pgpin_key_child(struct transform_in *, struct worker_pgp *,
	    struct transform_out *);
/* ... and private mail to a pseudonym opened (pgpopen.c) */
enum result pgpopen_child(struct transform_in *, struct worker_pgp *,
	    struct transform_out *);
enum result worker_job_finish(struct worker_job *, struct transform_out *);
void	worker_job_abandon(struct worker_job *);
int	worker_zygote_fd(void);
void	worker_zygote_events(void);

#endif
