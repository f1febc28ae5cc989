/* transform.h - turn an accepted post into the copy the list distributes (plain lists). */
#ifndef MLIST_TRANSFORM_H
#define MLIST_TRANSFORM_H

#include "mail/addr.h"
#include "mail/config.h"
#include "mail/result.h"
#include "util/buf.h"

struct transform_in {
	const struct config	*cfg;
	const struct list_cfg	*list;
	const char		*qid;
	const char		*msg;
	size_t			 len;
	long long		 received;
	int			 intact;	/* signed by the member's own key: no prefix, no footer */
	int			 want_real;	/* render the copy of a real-identity post (rendered) */
	int			 want_anon;	/* ... and/or the parts of a pseudonymous one (part[]) */
	/* its From authenticated: Mail-Followup-To stays */
	int			 authored;
};

/* what a pseudonymous or anonymous copy is made of (the identity stage puts it together) */
enum { TP_BODY, TP_SUBJECT, TP_REFS, TP_MSGID, TP_SCAN, TP_REMOVED,
    TP_FROMNAME, TP_DOCUMENT, TP_EMPTY, TP_N };

/* What the policy stage needs to know, and the rendered copy. */
struct transform_out {
	char		 from[ADDR_MAX + 1];	/* first From: mailbox, "" if none */
	int		 automatic;		/* Auto-Submitted, Precedence: bulk/junk/list, ... */
	int		 bounce;		/* a delivery status report */
	int		 loop;			/* already carries this list's List-Id or X-Loop */
	int		 footer;		/* a footer was added */
	char		 reason[160];		/* why not (PERMFAIL) */
	int		 remote;		/* remote HTML content removed */
	/* a post to the list's OpenPGP key (worker_transform_pgp) */
	int		 pgp;		/* 1 opened, 2 signed, -1 not */
	int		 pgp_verified;	/* signed by the From's key */
	unsigned char	 pgp_replay[32];	/* the signature's replay id */
	unsigned char	 pgp_sealed[32];	/* opened: the ciphertext's */
	struct buf	 rendered;
	struct buf	 part[TP_N];		/* TP_BODY: MIME entity; TP_SUBJECT: "Subject: ...\r\n";
						 * TP_REFS: in-reply-to ids "\n" references ids;
						 * TP_MSGID: the post's own id; TP_SCAN: decoded text;
						 * TP_REMOVED: what was removed;
						 * TP_FROMNAME: display name;
						 * TP_DOCUMENT: which attachment
						 * names the author ("" none);
						 * TP_EMPTY: "1": nothing in the
						 * post could be passed on */
};

int	transform_screen(const char *msg, size_t len, char *why, size_t whylen);
enum result transform_post(const struct transform_in *, struct transform_out *);
void	transform_out_free(struct transform_out *);

#endif
