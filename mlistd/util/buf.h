/* buf.h - length-tracked byte buffer with capped growth. */
#ifndef MLIST_BUF_H
#define MLIST_BUF_H

#include <stddef.h>

struct buf {
	unsigned char	*data;
	size_t		 len;
	size_t		 cap;
	size_t		 max;	/* growth past this fails; 0 = no cap */
};

void	buf_init(struct buf *, size_t max);
int	buf_reserve(struct buf *, size_t);
int	buf_append(struct buf *, const void *, size_t);
int	buf_puts(struct buf *, const char *);
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	buf_putc(struct buf *, int);
int	buf_put_crlf(struct buf *, const void *, size_t);
void	buf_consume(struct buf *, size_t);
void	buf_reset(struct buf *);
void	buf_free(struct buf *);
const char *buf_cstr(struct buf *);
int	buf_base64(struct buf *, const void *, size_t);

#endif
