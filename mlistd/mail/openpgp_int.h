/* openpgp_int.h - what the openpgp_*.c files share over librnp; no caller's. */
#ifndef MLIST_OPENPGP_INT_H
#define MLIST_OPENPGP_INT_H

#include <rnp/rnp.h>
#include <rnp/rnp_err.h>

#include "mail/openpgp.h"

#define WHY(why, len, ...)	((void)snprintf((why), (len), __VA_ARGS__))

enum result openpgp_ffi(rnp_ffi_t *);
enum result openpgp_load(rnp_ffi_t, const void *, size_t, uint32_t,
	    char *, size_t);
int	openpgp_out_take(rnp_output_t, struct buf *);
int	openpgp_out_secret(rnp_output_t, struct openpgp_secret **);
enum result openpgp_locate(rnp_ffi_t, const char *, rnp_key_handle_t *);
int	openpgp_fpr(rnp_key_handle_t, char [OPENPGP_FPR_SIZE]);
enum result openpgp_generate(const char *, const char *const *, uint32_t,
	    struct openpgp_secret **, const char *, char *, size_t);
enum result openpgp_open(const struct openpgp_secret *, rnp_ffi_t *,
	    rnp_key_handle_t *, const char *, char *, size_t);
enum result openpgp_close(rnp_ffi_t, rnp_key_handle_t, enum result,
	    const char *, char *, size_t);
enum result openpgp_member_key(rnp_ffi_t, const struct openpgp_key *, char **,
	    char *, size_t);
enum result openpgp_pseud_open(const struct openpgp_secret *, rnp_ffi_t *,
	    rnp_key_handle_t *, char *, size_t);
enum result openpgp_subkey_add(rnp_ffi_t, rnp_key_handle_t,
	    rnp_key_handle_t *);
enum result openpgp_secret_export(rnp_key_handle_t,
	    struct openpgp_secret **);
enum result openpgp_uid_remove(rnp_key_handle_t, size_t);
/* writes key into an output with flags (rnp_key_export's shape) */
typedef rnp_result_t (*openpgp_writer)(rnp_key_handle_t, rnp_output_t,
	    uint32_t);
enum result openpgp_export_with(rnp_key_handle_t, openpgp_writer, uint32_t,
	    struct buf *);
enum result openpgp_export_public(rnp_key_handle_t, int, struct buf *);
/* opens a key from its sealed blob; writes a key, armoured or not */
typedef enum result (*openpgp_opener)(const struct openpgp_secret *,
	    rnp_ffi_t *, rnp_key_handle_t *, char *, size_t);
typedef enum result (*openpgp_exporter)(rnp_key_handle_t, int, struct buf *);
enum result openpgp_opened_export(const struct openpgp_secret *,
	    openpgp_opener, openpgp_exporter, int, struct buf *, const char *,
	    char *, size_t);
int	openpgp_uid_certified(rnp_key_handle_t, const char *, int);
enum result openpgp_encrypt_to(rnp_ffi_t, const struct openpgp_post *,
	    rnp_key_handle_t, struct buf *, char *, size_t);

/* the primary key's algorithm id as the bytes say, -1 (openpgp_key.c) */
int	openpgp_key_alg(const void *, size_t);

/* members' keys without user IDs, by the key cache's id (openpgp_slim.c) */
#define OPENPGP_SLIM_ID	16
int	openpgp_slim_get(const unsigned char *, struct buf *);
void	openpgp_slim_put(const unsigned char *, const struct buf *, uint64_t);
int	openpgp_slim_make(rnp_key_handle_t, struct buf *, uint64_t *);
void	openpgp_slim_flush(void);

#endif
