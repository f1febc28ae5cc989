/* backup.h - the encrypted file one instance is backed up into. */
#ifndef MLIST_BACKUP_H
#define MLIST_BACKUP_H

#include <stdio.h>
#include <sodium.h>

#include "../util/buf.h"
#include "keys.h"

#define BACKUP_MAGIC	"MLBACK1\n"
#define BACKUP_CHUNK	65536
#define BACKUP_NAME_MAX	512

/* a backup being written: every file of the instance, one after another */
struct backup_w {
	FILE		*fp;
	int		 failed;
	long long	 files, bytes;
	crypto_secretstream_xchacha20poly1305_state st;
};

/* a backup being read */
struct backup_r {
	FILE		*fp;
	int		 way;		/* enum keys_way of the instance */
	unsigned char	 wrapped[256];	/* master.wrapped (a passphrase) */
	size_t		 wrappedlen;
	unsigned char	 hdr[512];	/* the clear header: the first AD */
	size_t		 hdrlen;
	int		 first;
	long long	 files, bytes;
	crypto_secretstream_xchacha20poly1305_state st;
};

/* what backup_next found */
enum backup_item { BACKUP_FILE, BACKUP_END, BACKUP_BAD };

int	backup_begin(struct backup_w *, FILE *, const struct keys *, int way,
	    const void *wrapped, size_t wrappedlen, char *err, size_t errlen);
int	backup_file(struct backup_w *, const char *name, const void *, size_t);
int	backup_finish(struct backup_w *, char *err, size_t errlen);

int	backup_open(struct backup_r *, FILE *, char *err, size_t errlen);
int	backup_keys(struct backup_r *, const struct keys *, char *err,
	    size_t errlen);
enum backup_item backup_next(struct backup_r *, char name[BACKUP_NAME_MAX],
	    struct buf *data, char *err, size_t errlen);
int	backup_name_ok(const char *name);
int	backup_say(char *err, size_t n, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
