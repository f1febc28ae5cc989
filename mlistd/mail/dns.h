/* dns.h - TXT look-ups through libunbound, DNSSEC-validating, with a deadline. */
#ifndef MLIST_DNS_H
#define MLIST_DNS_H

#include <stddef.h>

#define DNS_TXT_MAX	8	/* records kept per answer; more is an abuse */
#define DNS_TXT_LEN	4096	/* bytes per record after joining its strings */
/* look-ups one context has out at once (the queue manager's slots) */
#define DNS_QUERIES_MAX	1024

/* what a look-up found: the caller maps TEMP to TEMPFAIL, never to a pass */
enum dns_status {
	DNS_FOUND,		/* records in the answer */
	DNS_NONE,		/* NXDOMAIN or no TXT: a definite "nothing" */
	DNS_TEMP,		/* timeout, SERVFAIL, resolver trouble: retry later */
	DNS_BOGUS		/* DNSSEC says the answer was forged: a failure */
};

struct dns_txt {
	int		 n;
	char		 rec[DNS_TXT_MAX][DNS_TXT_LEN];	/* NUL-terminated */
};

struct dns_cfg {
	const char	*resolver;	/* "" system resolv.conf, or "ADDR[@PORT]" to forward to */
	int		 timeout_ms;	/* whole look-up, retries included */
	const char	*trust_anchor;	/* DNSSEC anchor file ("" : no validation) */
};

/* the look-up the verifiers use: dns_txt, or a fake one in the unit tests */
typedef enum dns_status (*dns_txt_fn)(void *arg, const char *name, struct dns_txt *,
    char *why, size_t wl);

struct dns_ctx;
struct dns_query;

struct dns_ctx *dns_open(const struct dns_cfg *, char *why, size_t wl);
void	dns_close(struct dns_ctx *);
enum dns_status dns_txt(void *ctx, const char *name, struct dns_txt *, char *why, size_t wl);
/* the same look-up without waiting: the queue manager's (dns.c) */
struct dns_query *dns_ask(struct dns_ctx *, const char *name, char *why,
    size_t wl);
int	dns_query_done(const struct dns_query *);
long long dns_query_left(const struct dns_query *);
enum dns_status dns_query_result(struct dns_query *, struct dns_txt *,
    char *why, size_t wl);
void	dns_query_expire(struct dns_query *);
void	dns_query_free(struct dns_query *);
int	dns_fd(struct dns_ctx *);
int	dns_process(struct dns_ctx *);
int	dns_txt_rdata(const unsigned char *rd, size_t n, char *out, size_t outl);
const char *dns_status_name(enum dns_status);

#endif
