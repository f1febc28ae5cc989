/* tls.h - STARTTLS with GnuTLS: the listeners' server side, the relay client's verified side. */
#ifndef MLIST_TLS_H
#define MLIST_TLS_H

#include <gnutls/gnutls.h>
#include <sys/types.h>

#include "util/buf.h"

#define TLS_AGAIN	(-2)

struct tls_server;

struct tls_server *tls_server_new(const char *cert, const char *key, struct buf *err);
void	tls_server_free(struct tls_server *);
gnutls_session_t tls_accept(struct tls_server *, int fd);
int	tls_handshake(gnutls_session_t, char *err, size_t n);
int	tls_wants_write(gnutls_session_t);
ssize_t	tls_recv(gnutls_session_t, void *, size_t);
ssize_t	tls_send(gnutls_session_t, const void *, size_t);
size_t	tls_pending(gnutls_session_t);
void	tls_describe(gnutls_session_t, char *out, size_t n);
void	tls_close(gnutls_session_t);

gnutls_session_t tls_connect(int fd, const char *name, const char *cafile, int verify, int timeout_ms, char *err,
	    size_t n);
void	tls_connect_free(gnutls_session_t);
int	tls_io_wait(gnutls_session_t, int fd, int want_write, int timeout_ms);

#endif
