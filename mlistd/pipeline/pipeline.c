/*
 * pipeline.c - the pipeline's own bookkeeping around one transaction: the
 * rendered copies it has written, as many as it takes (a held post on a
 * list with a hundred moderators writes a hundred and one), removed if it
 * rolls back; and the held copies it let go, removed only once it commits.
 * Every transaction that can write or drop copies runs between
 * pipeline_begin and pipeline_committed or pipeline_rolled_back. And the
 * one way a running process takes a new configuration, pipeline_reload;
 * and the sender authentication's resolver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"
#include "util/log.h"

/* id_add - append a queue id to a growing array; -1: out of memory */
static int
id_add(char (**ids)[QID_LEN + 1], int *n, int *cap, const char *id)
{
	char (*grown)[QID_LEN + 1];
	int ncap;

	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 16;
		if ((grown = realloc(*ids, sizeof(**ids) * (size_t)ncap)) == NULL)
			return -1;
		*ids = grown;
		*cap = ncap;
	}
	snprintf((*ids)[(*n)++], QID_LEN + 1, "%s", id);
	return 0;
}

/* pipeline_out_add - remember a rendered copy (for rollback); -1: out of memory */
int
pipeline_out_add(struct pipeline *p, const char id[QID_LEN + 1])
{
	return id_add(&p->out, &p->nout, &p->outcap, id);
}

/* pipeline_drop_later - held copy id is done with: remove it when the transaction commits */
int
pipeline_drop_later(struct pipeline *p, const char *id)
{
	return id_add(&p->drop, &p->ndrop, &p->dropcap, id);
}

/* pipeline_begin - a transaction begins: nothing written, nothing let go yet */
void
pipeline_begin(struct pipeline *p)
{
	p->nout = 0;
	p->ndrop = 0;
	p->answer_at = 0;
}

/* pipeline_committed - the transaction is durable: the copies it let go are removed now */
void
pipeline_committed(struct pipeline *p)
{
	for (int i = 0; i < p->ndrop; i++)
		(void)spool_remove(p->sp, SPOOL_OUT, p->drop[i]);	/* a leftover is swept at start */
	p->ndrop = 0;
	p->nout = 0;
	p->answer_at = 0;	/* the next message draws its own */
}

/* pipeline_rolled_back - nothing happened: the copies it wrote go, the ones it let go stay */
void
pipeline_rolled_back(struct pipeline *p)
{
	pipeline_undo_since(p, 0, 0);
	p->answer_at = 0;
}

/* pipeline_undo_since - a step undone (store_savepoint_end back): its copies go, its drops are kept */
void
pipeline_undo_since(struct pipeline *p, int nout, int ndrop)
{
	for (int i = nout; i < p->nout; i++)
		(void)spool_remove(p->sp, SPOOL_OUT, p->out[i]);
	p->nout = nout;
	p->ndrop = ndrop;
}

/*
 * pipeline_reload - read the configuration again for `who` (the queue
 * manager on SIGHUP, the control socket after a list changed); if it does
 * not load, the old one stays in force and the log says why.
 */
void
pipeline_reload(struct pipeline *p, struct config **cfgp, const char *path,
    const char *who)
{
	struct config *ncfg;
	struct buf err;

	buf_init(&err, 0);
	if ((ncfg = config_load(path, &err)) == NULL)
		log_err("NOQUEUE %s: reload failed, keeping the old configuration: %s",
		    who, buf_cstr(&err));
	else {
		config_free(*cfgp);
		p->cfg = *cfgp = ncfg;
		/* dns.* and the trust anchor may have changed */
		authn_reload(p);
	}
	buf_free(&err);
}

/* pipeline_free - what the pipeline holds (the copies themselves stay in the spool) */
void
pipeline_free(struct pipeline *p)
{
	free(p->out);
	free(p->drop);
	p->out = NULL;
	p->drop = NULL;
	authn_state_free(p->authn);
	p->authn = NULL;
	p->nout = p->outcap = 0;
	p->ndrop = p->dropcap = 0;
}
