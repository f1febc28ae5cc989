/* header.h - split an RFC 5322 header section into fields, without interpreting them. */
#ifndef MLIST_HEADER_H
#define MLIST_HEADER_H

#include <stddef.h>

#include "util/buf.h"

#define HDR_MAX_FIELDS	1000

struct hdr_field {
	const char	*start;		/* field start (its name) */
	size_t		 len;		/* whole field, folding and final CRLF included */
	size_t		 nlen;		/* length of the name */
	const char	*value;		/* after the colon */
	size_t		 vlen;		/* raw value, folding included, final CRLF excluded */
};

struct hdr {
	struct hdr_field *f;
	int		 n;
	size_t		 body_off;	/* offset of the body (after the blank line) */
	int		 truncated;	/* more than HDR_MAX_FIELDS fields */
};

int	hdr_parse(const char *msg, size_t len, struct hdr *);
void	hdr_free(struct hdr *);
const struct hdr_field *hdr_get(const struct hdr *, const char *name);
int	hdr_count(const struct hdr *, const char *name);
int	hdr_is(const struct hdr_field *, const char *name);
void	hdr_put(struct buf *, const struct hdr_field *);
int	hdr_is_any(const struct hdr_field *, const char *const *names,
	    size_t n);
int	hdr_said_in(const struct hdr *, const struct hdr_field *,
	    const char *const *except, size_t);
char	*hdr_value(const struct hdr_field *);
int	hdr_hidden_subject(const struct hdr_field *);
char	*hdr_get_value(const struct hdr *, const char *name);
int	hdr_automatic(const struct hdr *);

#endif
