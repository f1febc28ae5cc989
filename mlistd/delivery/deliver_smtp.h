/* deliver_smtp.h - SMTP client to the relay, with PIPELINING. */
#ifndef MLIST_DELIVER_SMTP_H
#define MLIST_DELIVER_SMTP_H

#include <gnutls/gnutls.h>
#include <stddef.h>

#include "util/buf.h"

/* how the client treats STARTTLS (relay.tls) */
struct smtp_tls {
	int		 mode;		/* RELAY_TLS_NONE, RELAY_TLS_MAY, RELAY_TLS_VERIFY */
	const char	*ca_file;	/* "" : the system's CA store */
	const char	*name;		/* the name the certificate must carry */
};

struct smtp_client {
	int		 fd;
	int		 timeout_ms;
	int		 pipelining;
	int		 starttls;	/* the relay offered STARTTLS */
	int		 dsn;		/* the relay offered DSN */
	int		 ahead;		/* the next transaction's envelope
					 * went out with the last body */
	gnutls_session_t tls;		/* NULL: clear text */
	struct buf	 in;
	char		 last[256];	/* last reply, for errors (addresses redacted) */
};

int	smtp_client_open(struct smtp_client *, const char *host, int port, int timeout_s,
	    const char *helo, const struct smtp_tls *, char *err, size_t errlen);
#define SMTP_TEXT_MAX	160

/* one transaction: its envelope, its dot-stuffed body, its verdicts */
struct smtp_txn {
	const char	*from;
	const char	*envid;		/* NULL: none */
	char *const	*rcpts;
	char *const	*orcpts;	/* NULL, or a NULL/"" entry: no ORCPT */
	int		 n;
	const unsigned char *stuffed;
	size_t		 len;
	int		*codes;		/* out: the relay's verdict per rcpt */
	char		(*texts)[SMTP_TEXT_MAX];
};

int	smtp_client_send(struct smtp_client *, const struct smtp_txn *,
	    const struct smtp_txn *next, char *err, size_t errlen);
void	smtp_client_close(struct smtp_client *);
void	smtp_client_abort(struct smtp_client *);
void	smtp_dot_stuff(const unsigned char *msg, size_t len, struct buf *out);
void	smtp_redact(const char *in, char *out, size_t n);

#endif
