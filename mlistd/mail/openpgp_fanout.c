/*
 * openpgp_fanout.c - encrypt one signed post to many members in parallel.
 *
 * librnp contexts are not thread-safe, so each thread has its own
 * (openpgp_enc) and takes the next member from a shared atomic counter;
 * the signed post and the keys are only read.  A copy goes to emit as soon
 * as it is made and is then dropped, so memory does not grow with the
 * number of members.  One member's bad key fails that copy, not the rest:
 * the count of failures comes back, and each failure reaches emit as NULL
 * so the caller can record it against its recipient.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "mail/openpgp_int.h"

#define MAX_THREADS	64

struct job {
	const struct openpgp_post *post;
	const struct openpgp_key *keys;
	size_t		 n;
	openpgp_emit_fn	 emit;
	void		*arg;
	atomic_size_t	 next;
	atomic_size_t	 failed;
	atomic_int	 tempfail;	/* an emit or context said try later */
};

/* worker - encrypt copies until the counter passes n */
static void *
worker(void *v)
{
	struct job	*j = v;
	struct openpgp_enc *e;
	struct buf	 out;
	char		 why[OPENPGP_WHY_SIZE];
	size_t		 i;

	if (openpgp_enc_new(&e) != OK)
		return NULL;	/* the other threads take its share */
	buf_init(&out, 0);
	while ((i = atomic_fetch_add(&j->next, 1)) < j->n) {
		buf_reset(&out);
		if (openpgp_copy_encrypt(e, j->post, &j->keys[i], &out, why,
		    sizeof(why)) != OK) {
			atomic_fetch_add(&j->failed, 1);
			if (j->emit(j->arg, i, NULL) != OK)
				atomic_store(&j->tempfail, 1);
		} else if (j->emit(j->arg, i, &out) != OK)
			atomic_store(&j->tempfail, 1);
	}
	buf_free(&out);
	openpgp_enc_free(e);
	return NULL;
}

/*
 * openpgp_fanout - every copy of post for keys[0..n) with nthreads threads;
 * TEMPFAIL if a thread could not start its context or emit said so.
 */
enum result
openpgp_fanout(const struct openpgp_post *post, const struct openpgp_key *keys,
    size_t n, int nthreads, openpgp_emit_fn emit, void *arg, size_t *failed)
{
	pthread_t	 t[MAX_THREADS];
	struct job	 j = { post, keys, n, emit, arg, 0, 0, 0 };
	int		 i, started = 0;

	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	for (i = 1; i < nthreads; i++)
		if (pthread_create(&t[started], NULL, worker, &j) == 0)
			started++;
	(void)worker(&j);	/* this thread works too */
	for (i = 0; i < started; i++)
		(void)pthread_join(t[i], NULL);
	if (failed != NULL)
		*failed = atomic_load(&j.failed);
	/* no context at all started: nothing was done */
	if (atomic_load(&j.next) < n)
		return TEMPFAIL;
	return atomic_load(&j.tempfail) ? TEMPFAIL : OK;
}
