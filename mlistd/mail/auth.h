/* auth.h - how sure mlistd is that a message comes from its From: domain. */
#ifndef MLIST_AUTH_H
#define MLIST_AUTH_H

#include <stddef.h>

#include "dmarc.h"
#include "dns.h"

/*
 * The settings this module reads; the lead wires them from mlistd.conf:
 *   auth.authserv_id       ""      trust A-R fields with this id ("" : none)
 *   auth.trusted_received  0       Received: fields our own relays add on top
 *   dns.resolver           ""      "" resolv.conf, or "127.0.0.1@5353" to forward
 *   dns.timeout            5       seconds for one look-up (1..60)
 *   dns.trust_anchor       "/usr/share/dns/root.key"   ("" : no DNSSEC)
 */
struct auth_cfg {
	const char	*authserv_id;
	int		 trusted_received;
	dns_txt_fn	 txt;		/* dns_txt with a dns_open()ed context, or a fake */
	void		*txt_arg;
	long long	 now;		/* time() for x=; 0 : the clock */
};

enum auth_level { AUTH_NONE, AUTH_DKIM_ALIGNED };
enum auth_source { AUTH_SRC_NONE, AUTH_SRC_OWN, AUTH_SRC_AUTHRES };

struct auth_result {
	char		 from_domain[256];
	char		 from_addr[320];	/* the one From mailbox */
	enum auth_level	 level;
	enum auth_source source;
	enum dmarc_policy policy;	/* of the From domain (DMARC_UNKNOWN if not fetched) */
	char		 signer[256];	/* the aligned d= ("" if none) */
	int		 partial;	/* an aligned signature covers only part of the body (l=) */
	int		 authres_ignored;	/* A-R fields with our id that came from outside */
	char		 reason[256];	/* for the log: domains and causes, never an address */
};

int	auth_from_domain(const struct auth_cfg *, const char *msg, size_t len, struct auth_result *);
int	auth_from_mailbox(const char *msg, size_t len, char *out,
	    size_t ol);
const char *auth_level_name(enum auth_level);
const char *auth_source_name(enum auth_source);

#endif
