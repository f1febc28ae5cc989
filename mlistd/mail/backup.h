/* backup.h - the encrypted file one instance is backed up into. */
#ifndef MLIST_BACKUP_H
#define MLIST_BACKUP_H

#include <stdio.h>
#include <sodium.h>

#include "../util/buf.h"
#include "keys.h"

#define BACKUP_MAGIC	"MLBACK2\n"	/* no clear time; padded */
#define BACKUP_MAGIC1	"MLBACK1\n"	/* read still: time in clear */
/* a backup's length is padded up to a bucket: this, then powers of two */
#define BACKUP_PAD_MIN	(64LL * 1024)
/* and beyond this, multiples of it (a size of 2x would cost too much) */
#define BACKUP_PAD_STEP	(64LL * 1024 * 1024)
#define BACKUP_CHUNK	65536
#define BACKUP_NAME_MAX	512

/* a backup being written: every file of the instance, one after another */
struct backup_w {
	FILE		*fp;
	int		 failed;
	long long	 files, bytes;
	long long	 written;	/* bytes of the file so far */
	crypto_secretstream_xchacha20poly1305_state st;
};

/* a backup being read */
struct backup_r {
	FILE		*fp;
	int		 way;		/* enum keys_way of the instance */
	int		 version;	/* 1: MLBACK1, 2: MLBACK2 */
	long long	 at;		/* when it was taken (backup_keys) */
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
long long backup_padded_size(long long len);
int	backup_say(char *err, size_t n, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
