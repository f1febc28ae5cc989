/*
 * listpgp.h - a list's OpenPGP key: made on demand, kept sealed in the
 * store, its encryption subkey rotated by the admin.
 */
#ifndef MLIST_LISTPGP_H
#define MLIST_LISTPGP_H

#include "openpgp.h"
#include "store.h"

/*
 * the key as a transferable secret key (Ed25519 + cv25519, UID
 * "LIST <LIST@hostname>"): 0, or -1 with the cause in store_errmsg
 */
int	listpgp_get(struct store *, const char *list, const char *hostname,
	    struct openpgp_secret **out);
/* the key if the list has one, never made here: 1, 0 none, -1 */
int	listpgp_find(struct store *, const char *list,
	    struct openpgp_secret **);
/* a new encryption subkey (the old ones kept, revoked): 0 or -1 likewise */
int	listpgp_rotate(struct store *, const char *list,
	    const char *hostname, char fpr[OPENPGP_FPR_SIZE]);

/* "Autocrypt: addr=ADDR; prefer-encrypt=mutual; keydata=..." (folded, CRLF) */
int	listpgp_autocrypt(const struct openpgp_secret *, const char *addr,
	    struct buf *out);
/*
 * what `keys` at LIST-request says of the OpenPGP key: its fingerprint
 * (the words around it are the piece keys-openpgp), the armoured key to
 * attach, its file name, the Autocrypt header line
 */
int	listpgp_answer(struct store *, const char *list,
	    const char *hostname, char fpr[OPENPGP_FPR_SIZE],
	    struct buf *armored, char *name, size_t namelen,
	    struct buf *autocrypt);

/*
 * the store's OpenPGP key functions, declared in store.h (where their
 * return contract is): store_list_pgp_put / _get, store_member_pgp_put /
 * _get / _clear, store_pgp_fpr_member
 */

#endif
