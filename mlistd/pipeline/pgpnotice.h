/* pgpnotice.h - a notice encrypted to one given OpenPGP key. */
#ifndef MLIST_PGPNOTICE_H
#define MLIST_PGPNOTICE_H

#include "mail/notices.h"
#include "mail/openpgp.h"
#include "pipeline/pipeline.h"

/* pgpnotice_send - notice id to `to`, encrypted to key; reply inside. 0, -1 */
int	pgpnotice_send(struct pipeline *, const struct list_cfg *,
	    const char *to, enum notice_id, const char *const *vars,
	    const char *reply, const struct openpgp_key *key);

#endif
