/*
 * pipeline.c - the pipeline's own bookkeeping: the rendered copies one
 * transaction has written, as many as it takes (a held post on a list with
 * a hundred moderators writes a hundred and one), and the sender
 * authentication's resolver.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"

/* pipeline_out_add - remember a rendered copy (for rollback); -1: out of memory */
int
pipeline_out_add(struct pipeline *p, const char id[QID_LEN + 1])
{
	char (*grown)[QID_LEN + 1];
	int cap;

	if (p->nout == p->outcap) {
		cap = p->outcap ? p->outcap * 2 : 16;
		if ((grown = realloc(p->out, sizeof(*p->out) * (size_t)cap)) == NULL)
			return -1;
		p->out = grown;
		p->outcap = cap;
	}
	memcpy(p->out[p->nout++], id, QID_LEN + 1);
	return 0;
}

/* pipeline_free - what the pipeline holds (the copies themselves stay in the spool) */
void
pipeline_free(struct pipeline *p)
{
	free(p->out);
	p->out = NULL;
	authn_state_free(p->authn);
	p->authn = NULL;
	p->nout = p->outcap = 0;
}
