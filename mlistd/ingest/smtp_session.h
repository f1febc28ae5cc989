/* smtp_session.h - one ESMTP/LMTP dialogue, independent of sockets. */
#ifndef MLIST_SMTP_SESSION_H
#define MLIST_SMTP_SESSION_H

#include "mail/config.h"
#include "mail/spool.h"
#include "ingest/smtp_input.h"
#include "util/buf.h"

enum smtp_state { SS_CONNECTED, SS_HELO, SS_MAIL, SS_RCPT, SS_DATA, SS_COMMIT, SS_CLOSED };

struct smtp_session {
	const struct config *cfg;
	struct spool	*spool;
	int		 lmtp;
	int		 behind_mta;	/* the envelope says so: its A-R may be believed */
	enum smtp_state	 state;
	struct smtp_in	 in;
	struct buf	 out;		/* replies not yet sent */
	struct buf	 data;		/* DATA bytes not yet spooled */
	struct envelope	 env;
	struct spool_writer w;
	int		 writing;	/* w is open */
	int		 errors;	/* bad commands so far */
	int		 close_after;	/* close once out is flushed */
	int		 committed;	/* messages accepted (for the caller) */
	int		 accepted;	/* RCPTs answered 250 in this transaction (duplicates too) */
	int		 idle_cmds;	/* NOOP, RSET, VRFY, HELP so far */
	long long	 data_start;	/* when DATA began (the DATA deadline) */
	int		 tls_offer;	/* the listener can do STARTTLS (set by the caller) */
	int		 require_tls;	/* ... and insists on it before MAIL */
	int		 tls_active;	/* the dialogue now runs inside TLS */
	int		 tls_start;	/* STARTTLS accepted: the caller starts the handshake after the 220 */
	int		 group_commit;	/* end of DATA waits in SS_COMMIT for smtp_session_commit_group */
	struct buf	 stash;		/* input that came behind the DATA being committed */
	/* the group's answer to a commit that is no DATA (http.c); NULL none */
	void		(*on_commit)(struct smtp_session *, enum result);
	char		 helo[256];
	char		 peer[64];
};

void	smtp_session_init(struct smtp_session *, const struct config *, struct spool *,
	    int lmtp, const char *peer);
void	smtp_session_free(struct smtp_session *);
void	smtp_session_input(struct smtp_session *, const unsigned char *, size_t);
void	smtp_session_timeout(struct smtp_session *);
void	smtp_session_shutdown(struct smtp_session *);
void	smtp_session_deadline(struct smtp_session *, const char *what);
void	smtp_session_tls_started(struct smtp_session *);
void	smtp_session_commit_group(struct smtp_session **, int n);

#endif
