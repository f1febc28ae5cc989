/* pipeline.h - what every stage after the spool works with, handed on explicitly. */
#ifndef MLIST_PIPELINE_H
#define MLIST_PIPELINE_H

#include "mail/config.h"
#include "mail/keys.h"
#include "mail/spool.h"
#include "mail/store.h"

struct authn_state;

struct pipeline {
	const struct config *cfg;
	const struct keys *keys;
	struct store	*st;
	struct spool	*sp;
	long long	 now;
	/*
	 * when the copy being built goes out (its Date:, DKIM t=, archive
	 * time and the rows' first try); 0: now. Set by the post path on a
	 * list with jitter or batching, before the copy is rendered.
	 */
	long long	 release;
	const char	*qid;		/* the incoming message being handled */
	/*
	 * when answers caused by the current message go out (their Date:,
	 * DKIM t= and first try); 0: now. Set by authn_check for a sender it
	 * could not authenticate, from the arrival time alone, so that the
	 * answer's time does not tell which path the claim took (authn.c).
	 */
	long long	 answer_at;
	/*
	 * rendered copies written during the current transaction (removed on
	 * rollback): as many as one message causes, grown as needed
	 */
	char		(*out)[QID_LEN + 1];
	int		 nout, outcap;
	/*
	 * held copies the transaction let go (approved, rejected, discarded,
	 * expired): removed from the spool only once it has committed, so a
	 * rollback finds them still there
	 */
	char		(*drop)[QID_LEN + 1];
	int		 ndrop, dropcap;
	struct authn_state *authn;	/* the resolver, opened at the first look-up (authn.c) */
};

int	pipeline_out_add(struct pipeline *, const char id[QID_LEN + 1]);
int	pipeline_drop_later(struct pipeline *, const char *id);
void	pipeline_begin(struct pipeline *);
void	pipeline_committed(struct pipeline *);
void	pipeline_rolled_back(struct pipeline *);
void	pipeline_undo_since(struct pipeline *, int nout, int ndrop);
void	pipeline_reload(struct pipeline *, struct config **, const char *path,
	    const char *who);
/* authn.c's, declared here so that this header needs no other */
void	authn_state_free(struct authn_state *);
void	authn_reload(struct pipeline *);	/* the resolver, on reload */
void	pipeline_free(struct pipeline *);

#endif
