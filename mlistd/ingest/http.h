/* http.h - the one-click unsubscription endpoint (RFC 8058) on an "http" listener. */
#ifndef MLIST_HTTP_H
#define MLIST_HTTP_H

#include "ingest/smtp_session.h"

void	http_input(struct smtp_session *, const unsigned char *, size_t);
void	http_timeout(struct smtp_session *);
void	http_committed(struct smtp_session *, enum result);

#endif
