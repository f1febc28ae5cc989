/*
 * store_ckpt.c - the write-ahead log copied into the database by a thread
 * of the queue manager with a connection of its own. Checkpointed in the
 * loop when it was idle, a big post's frames were copied and the database
 * fsync'ed there (up to 290 ms at load 13-15): a message that arrived
 * meanwhile waited for it (#15). PASSIVE, as in the loop: no writer and no
 * reader (a backup's snapshot) waits for it; what it cannot copy yet is
 * copied when it is asked again. Nothing it does is a commit: a checkpoint
 * that fails loses nothing, the log keeps the frames.
 */
#include <pthread.h>

#include "store_int.h"

struct st_ckpt {
	sqlite3		*db;		/* this thread's own */
	pthread_t	 th;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 asked;		/* the loop asked for a checkpoint */
	int		 stop;
	int		 copied;	/* frames copied since last asked */
	int		 failed;	/* checkpoints that failed, likewise */
};

/* ckpt_main - wait to be asked, then checkpoint, until stopped */
static void *
ckpt_main(void *arg)
{
	struct st_ckpt *c = arg;
	int logged, copied, rc;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->asked && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		c->asked = 0;
		pthread_mutex_unlock(&c->mu);
		logged = copied = 0;
		rc = sqlite3_wal_checkpoint_v2(c->db, "main",
		    SQLITE_CHECKPOINT_PASSIVE, &logged, &copied);
		pthread_mutex_lock(&c->mu);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			c->failed++;
		else if (copied > 0)
			c->copied += copied;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/*
 * store_checkpoint_beside - from now on store_checkpoint_idle hands the
 * copy to a thread of its own; 0, or -1 with the cause in st's error
 * (the loop then checkpoints as before)
 */
int
store_checkpoint_beside(struct store *st)
{
	const char *path = sqlite3_db_filename(st->db, "main");
	struct st_ckpt *c;

	if (st->ckpt)
		return 0;
	if (path == NULL || *path == '\0' ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		st_fail(st, path && *path ? "out of memory" :
		    "the database has no file");
		return -1;
	}
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA synchronous=FULL", NULL, NULL,
	    NULL) != SQLITE_OK) {
		st_fail(st, c->db ? sqlite3_errmsg(c->db) : "out of memory");
		sqlite3_close(c->db);
		free(c);
		return -1;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->th, NULL, ckpt_main, c) != 0) {
		st_fail(st, "cannot start the checkpoint thread");
		st_ckpt_free(c, 0);
		return -1;
	}
	st->ckpt = c;
	return 0;
}

/*
 * st_ckpt_ask - the thread asked to checkpoint; what it copied and how
 * many of its checkpoints failed since the last ask
 */
void
st_ckpt_ask(struct st_ckpt *c, int *copied, int *failed)
{
	pthread_mutex_lock(&c->mu);
	*copied = c->copied;
	*failed = c->failed;
	c->copied = c->failed = 0;
	c->asked = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* st_ckpt_free - the thread stopped (when started) and its connection closed */
void
st_ckpt_free(struct st_ckpt *c, int started)
{
	if (c == NULL)
		return;
	if (started) {
		pthread_mutex_lock(&c->mu);
		c->stop = 1;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->th, NULL);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	sqlite3_close(c->db);
	free(c);
}
