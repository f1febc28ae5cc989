/*
 * openpgp_pseud.h - a pseudonym's own OpenPGP key: make it, sign with it;
 * certify, rotate and revoke it (openpgp_pcert.c).
 */
#ifndef MLIST_OPENPGP_PSEUD_H
#define MLIST_OPENPGP_PSEUD_H

#include "mail/openpgp.h"

/* who made a signature that verified (openpgp_pseud_verify) */
struct openpgp_signer {
	char		 fpr[OPENPGP_FPR_SIZE];
	char		 uid[400];	/* the key's primary UID */
	char		 hash[16];	/* "SHA256" */
	uint32_t	 created;
};

enum result openpgp_pseud_generate(const char *, uint32_t,
	    struct openpgp_secret **, char *, size_t);
enum result openpgp_pseud_sign(const struct openpgp_secret *, const void *,
	    size_t, uint32_t, struct buf *, char *, size_t);
enum result openpgp_pseud_minimal(const struct openpgp_secret *, int,
	    struct buf *, char *, size_t);
enum result openpgp_pseud_rename(const struct openpgp_secret *, const char *,
	    uint32_t, struct openpgp_secret **, char *, size_t);
enum result openpgp_pseud_verify(const void *, size_t, const void *, size_t,
	    const void *, size_t, struct openpgp_signer *, char *, size_t);
enum result openpgp_pseud_certify(const struct openpgp_secret *list,
	    const struct openpgp_secret *, uint32_t,
	    struct openpgp_secret **, char *, size_t);
int	openpgp_pseud_certified(const struct openpgp_secret *);
enum result openpgp_pseud_rotate(const struct openpgp_secret *old,
	    const struct openpgp_secret *list, const char *uid, uint32_t,
	    struct openpgp_secret **, char *, size_t);
enum result openpgp_pseud_sign_also(const struct openpgp_secret *,
	    const struct openpgp_secret *also, const void *, size_t, uint32_t,
	    struct buf *, char *, size_t);
enum result openpgp_pseud_revoked(const struct openpgp_secret *,
	    const char *, uint32_t, int, struct buf *, char *, size_t);
int	openpgp_pseud_uid(const struct openpgp_secret *, char *, size_t);

#endif
