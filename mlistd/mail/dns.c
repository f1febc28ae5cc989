/*
 * dns.c - TXT records for the DKIM and DMARC verifiers, through libunbound.
 *
 * libunbound is a full validating resolver in a library: where a zone is
 * signed the answer is checked up to the trust anchor, and a "bogus" answer
 * (signatures that do not hold) is reported as such instead of being used.
 * A zone proven insecure is accepted as it is. Every look-up has a deadline:
 * the query runs asynchronously and is cancelled when the time is up, so a
 * dead resolver turns into DNS_TEMP (the post waits) and never into a pass
 * or a permanent failure. The TXT rdata parser checks every length byte.
 *
 * Two ways to ask: dns_txt waits for its answer (the tools, the tests);
 * dns_ask only starts a look-up (struct dns_query) and returns at once,
 * for the queue manager, which polls dns_fd with its other descriptors,
 * calls dns_process when it is readable and takes the answer with
 * dns_query_result once dns_query_done says it is in or its deadline
 * passed. Both give the same answers: the same deadline, the same
 * classification, the same DNSSEC validation.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unbound.h>

#include "dns.h"
#include "util/mono.h"

#define RR_TXT		16
#define CLASS_IN	1
#define RCODE_SERVFAIL	2
#define RCODE_NXDOMAIN	3

/* ports given to unbound: the slots, and those still out after cancel */
#define DNS_PORTS	(2 * DNS_QUERIES_MAX)
/* descriptors left to the rest of the process (connections, pipes) */
#define DNS_FDS_OWN	256

struct dns_ctx {
	struct ub_ctx	*ub;
	int		 timeout_ms;
};

/* one look-up in flight or answered (dns_ask), or cancelled at its deadline */
struct dns_query {
	struct dns_ctx	*d;
	int		 id;
	int		 done;		/* unbound called back */
	int		 cancelled;	/* the deadline passed first */
	int		 err;
	struct ub_result *res;
	long long	 deadline;	/* mono_ms() */
};

/* dns_status_name - for the log */
const char *
dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_FOUND:
		return "found";
	case DNS_NONE:
		return "none";
	case DNS_TEMP:
		return "temporary";
	case DNS_BOGUS:
		return "bogus";
	}
	return "?";
}

/* setopt - one unbound option, its error in why */
static int
setopt(struct ub_ctx *ub, const char *opt, const char *val, char *why, size_t wl)
{
	int rc = ub_ctx_set_option(ub, opt, val);

	if (rc != 0) {
		snprintf(why, wl, "unbound option %s%s: %s", opt, val, ub_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * fd_room - descriptors for n ports beside the process's own: the soft
 * limit raised towards the hard one if need be; the ports that fit
 */
static int
fd_room(int n)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)n + DNS_FDS_OWN;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return n;	/* unknown: a socket that fails is DNS_TEMP */
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max > want ? want : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		return rl.rlim_cur > 2 * DNS_FDS_OWN ?
		    (int)(rl.rlim_cur - DNS_FDS_OWN) : DNS_FDS_OWN;
	return n;
}

/*
 * ports - a UDP port for every query out. libunbound's default is 16,
 * one FIFO for all: 16 queries to a server that never answers (and their
 * retries) kept every other list's look-up waiting in line for seconds,
 * whatever share of the slots it had (round 8b, finding 2). Twice the
 * slots: a query cancelled at its deadline is only marked so, unbound
 * works on it until it gives up, holding its port meanwhile.
 */
static int
ports(struct ub_ctx *ub, char *why, size_t wl)
{
	char n[16];

	snprintf(n, sizeof(n), "%d", fd_room(DNS_PORTS));
	if (setopt(ub, "outgoing-range:", n, why, wl) < 0)
		return -1;
	/* and as many queries in its books: none pushed out for lack of room */
	return setopt(ub, "num-queries-per-thread:", n, why, wl);
}

/* configure - forwarder or resolv.conf, trust anchor, threads */
static int
configure(struct ub_ctx *ub, const struct dns_cfg *cfg, char *why, size_t wl)
{
	int rc;

	/* a thread, not a forked helper: the daemon's processes stay as they are */
	if ((rc = ub_ctx_async(ub, 1)) != 0) {
		snprintf(why, wl, "unbound threads: %s", ub_strerror(rc));
		return -1;
	}
	if (ports(ub, why, wl) < 0)
		return -1;
	if (cfg->resolver && cfg->resolver[0]) {
		/* a forwarder on this host (the tests, a local cache) must be askable */
		if (setopt(ub, "do-not-query-localhost:", "no", why, wl) < 0)
			return -1;
		if ((rc = ub_ctx_set_fwd(ub, cfg->resolver)) != 0) {
			snprintf(why, wl, "dns.resolver %s: %s", cfg->resolver, ub_strerror(rc));
			return -1;
		}
	} else if ((rc = ub_ctx_resolvconf(ub, NULL)) != 0) {
		snprintf(why, wl, "resolv.conf: %s", ub_strerror(rc));
		return -1;
	}
	if (cfg->trust_anchor && cfg->trust_anchor[0] &&
	    (rc = ub_ctx_add_ta_file(ub, cfg->trust_anchor)) != 0) {
		snprintf(why, wl, "dns.trust_anchor %s: %s", cfg->trust_anchor, ub_strerror(rc));
		return -1;
	}
	return 0;
}

/* dns_open - a resolver context; NULL with the cause in why */
struct dns_ctx *
dns_open(const struct dns_cfg *cfg, char *why, size_t wl)
{
	struct dns_ctx *d = calloc(1, sizeof(*d));

	if (!d) {
		snprintf(why, wl, "out of memory");
		return NULL;
	}
	d->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
	if ((d->ub = ub_ctx_create()) == NULL)
		snprintf(why, wl, "cannot create an unbound context");
	else if (configure(d->ub, cfg, why, wl) == 0)
		return d;
	dns_close(d);
	return NULL;
}

/* dns_close - free the context, or what dns_open made of it */
void
dns_close(struct dns_ctx *d)
{
	if (!d)
		return;
	if (d->ub)
		ub_ctx_delete(d->ub);
	free(d);
}

/*
 * dns_txt_rdata - one TXT rdata (length-prefixed strings) joined into out;
 * -1 if a length runs past the data, the result has a NUL or does not fit
 */
int
dns_txt_rdata(const unsigned char *rd, size_t n, char *out, size_t outl)
{
	size_t i = 0, o = 0;

	if (outl == 0)
		return -1;
	while (i < n) {
		size_t l = rd[i++];

		if (l > n - i || l >= outl - o)
			return -1;
		if (memchr(rd + i, 0, l) != NULL)
			return -1;
		memcpy(out + o, rd + i, l);
		o += l;
		i += l;
	}
	out[o] = 0;
	return 0;
}

/* answered - unbound's callback: keep the result for whoever asked */
static void
answered(void *arg, int err, struct ub_result *res)
{
	struct dns_query *q = arg;

	q->done = 1;
	q->err = err;
	q->res = res;
}

/*
 * dns_ask - start the look-up of name's TXT records and return at once;
 * NULL (why) if it cannot be asked. Its deadline is the context's timeout
 * from now.
 */
struct dns_query *
dns_ask(struct dns_ctx *d, const char *name, char *why, size_t wl)
{
	struct dns_query *q = calloc(1, sizeof(*q));
	int rc;

	if (!q) {
		snprintf(why, wl, "out of memory");
		return NULL;
	}
	q->d = d;
	q->deadline = mono_ms() + d->timeout_ms;
	rc = ub_resolve_async(d->ub, name, RR_TXT, CLASS_IN, q, answered,
	    &q->id);
	if (rc != 0) {
		snprintf(why, wl, "cannot ask: %s", ub_strerror(rc));
		free(q);
		return NULL;
	}
	return q;
}

/* dns_query_left - ms to q's deadline (0: past, or answered already) */
long long
dns_query_left(const struct dns_query *q)
{
	long long left = q->deadline - mono_ms();

	return q->done || q->cancelled || left < 0 ? 0 : left;
}

/* dns_query_done - is q answered, or its deadline past (then a timeout)? */
int
dns_query_done(const struct dns_query *q)
{
	return dns_query_left(q) == 0;
}

/* cancel - past the deadline: unbound will not call back for q again */
static void
cancel(struct dns_query *q)
{
	if (q->done || q->cancelled)
		return;
	(void)ub_cancel(q->d->ub, q->id);
	q->cancelled = 1;
}

/*
 * dns_query_expire - past its deadline, q is cancelled now, not when its
 * answer is asked for: unbound holds no more for it, and its slot is free
 */
void
dns_query_expire(struct dns_query *q)
{
	if (!q->done && dns_query_left(q) == 0)
		cancel(q);
}

/* dns_query_free - q cancelled if it is still out, and freed */
void
dns_query_free(struct dns_query *q)
{
	if (!q)
		return;
	cancel(q);
	if (q->res)
		ub_resolve_free(q->res);
	free(q);
}

/* dns_fd - what to poll for answers (readable: call dns_process) */
int
dns_fd(struct dns_ctx *d)
{
	return ub_fd(d->ub);
}

/* dns_process - the answers that came in, their queries done; -1 error */
int
dns_process(struct dns_ctx *d)
{
	/* ub_poll first: ub_process would wait when nothing is there */
	if (!ub_poll(d->ub))
		return 0;
	return ub_process(d->ub) == 0 ? 0 : -1;
}

/* classify - map unbound's result to a status, records into out */
static enum dns_status
classify(const struct ub_result *r, struct dns_txt *out, char *why, size_t wl)
{
	if (r->bogus) {
		snprintf(why, wl, "DNSSEC bogus (%s)", r->why_bogus ? r->why_bogus : "no reason");
		return DNS_BOGUS;
	}
	if (r->rcode == RCODE_SERVFAIL) {
		snprintf(why, wl, "SERVFAIL");
		return DNS_TEMP;
	}
	if (r->rcode == RCODE_NXDOMAIN || !r->havedata) {
		snprintf(why, wl, r->rcode == RCODE_NXDOMAIN ? "NXDOMAIN" : "no TXT record");
		return DNS_NONE;
	}
	if (r->rcode != 0) {
		snprintf(why, wl, "DNS rcode %d", r->rcode);
		return DNS_TEMP;
	}
	for (int i = 0; r->data[i] && out->n < DNS_TXT_MAX; i++) {
		/* a malformed record is skipped: it cannot be a key or a policy */
		if (dns_txt_rdata((const unsigned char *)r->data[i], (size_t)r->len[i],
		    out->rec[out->n], DNS_TXT_LEN) == 0)
			out->n++;
	}
	if (out->n == 0) {
		snprintf(why, wl, "no usable TXT record");
		return DNS_NONE;
	}
	return DNS_FOUND;
}

/*
 * dns_query_result - q's answer into out; a query not answered by its
 * deadline is cancelled, a timeout. Asked again, the same answer.
 */
enum dns_status
dns_query_result(struct dns_query *q, struct dns_txt *out, char *why,
    size_t wl)
{
	out->n = 0;
	if (!q->done && dns_query_left(q) == 0)
		cancel(q);
	if (!q->done) {
		snprintf(why, wl, "DNS timeout after %d ms", q->d->timeout_ms);
		return DNS_TEMP;
	}
	if (q->err != 0 || !q->res) {
		snprintf(why, wl, "resolver: %s", ub_strerror(q->err));
		return DNS_TEMP;
	}
	return classify(q->res, out, why, wl);
}

/* wait_answer - process unbound's replies until q is done or its deadline */
static void
wait_answer(struct dns_query *q)
{
	struct pollfd pfd = { .fd = ub_fd(q->d->ub), .events = POLLIN };
	long long left;
	int rc;

	while ((left = dns_query_left(q)) > 0) {
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno != EINTR)
			return;
		if (rc > 0 && ub_process(q->d->ub) != 0)
			return;
	}
}

/* dns_txt - the TXT records of name, waited for up to the deadline */
enum dns_status
dns_txt(void *ctx, const char *name, struct dns_txt *out, char *why, size_t wl)
{
	struct dns_query *q;
	enum dns_status st;

	out->n = 0;
	if ((q = dns_ask(ctx, name, why, wl)) == NULL)
		return DNS_TEMP;
	wait_answer(q);
	st = dns_query_result(q, out, why, wl);
	dns_query_free(q);
	return st;
}
