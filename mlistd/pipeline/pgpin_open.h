/* pgpin_open.h - a post encrypted to the list, opened in the worker's child. */
#ifndef MLIST_PGPIN_OPEN_H
#define MLIST_PGPIN_OPEN_H

#include "mail/openpgp.h"
#include "util/buf.h"

/* what opening a post encrypted to the list found (pgpin_open.c) */
struct pgpin_opened {
	int		 verified;	/* signed by the member key given */
	unsigned char	 replay[OPENPGP_REPLAY_SIZE];
	/* opened: the ciphertext's replay id (its packets, armour undone) */
	unsigned char	 sealed_id[OPENPGP_REPLAY_SIZE];
	char		 shape[16];	/* pgpmime, exchange, inline */
	char		 why[OPENPGP_WHY_SIZE];	/* why it could not be opened */
};

int	pgpin_warm(void);
/* an OpenPGP message, armoured or as a PGP/MIME part, seems to be in it */
int	pgpin_looks_encrypted(const void *, size_t);
int	pgpin_open(const char *, size_t, const char *, const void *, size_t,
	    const void *, size_t, struct buf *, struct pgpin_opened *);

#endif
