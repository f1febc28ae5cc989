/*
 * dmarc.c - which DMARC policy a From domain publishes, and whether a DKIM
 * d= is aligned with it (RFC 7489 3.1.1, 6.6.3).
 *
 * The organizational domain is the public suffix plus one label, found with
 * libpsl in the Public Suffix List that Debian's publicsuffix package keeps
 * current (psl_latest reads it, libpsl's built-in copy is the fallback):
 * a hand-written list would be wrong within months. The record is looked up
 * at _dmarc.FROM, then at _dmarc.ORG with sp= taking the place of p=.
 */
#include <ctype.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"

static psl_ctx_t *psl;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

/* psl_load - the newest list on this host, once */
static void
psl_load(void)
{
	psl = psl_latest(NULL);
	if (!psl)
		psl = (psl_ctx_t *)psl_builtin();
}

/* dmarc_policy_name - for the log */
const char *
dmarc_policy_name(enum dmarc_policy p)
{
	static const char *const names[] = { "absent", "none", "quarantine", "reject", "unknown" };

	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

/* dmarc_org_domain - the organizational domain of domain; -1 if it has none */
int
dmarc_org_domain(const char *domain, char *out, size_t ol)
{
	char low[256];
	const char *reg;
	size_t n = strlen(domain);

	if (n == 0 || n >= sizeof(low))
		return -1;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)domain[i]);
	if (low[n - 1] == '.')
		low[n - 1] = 0;
	pthread_once(&psl_once, psl_load);
	if (!psl || (reg = psl_registrable_domain(psl, low)) == NULL)
		return -1;
	if (snprintf(out, ol, "%s", reg) >= (int)ol)
		return -1;
	return 0;
}

/* dmarc_aligned - is d= aligned with the From domain (strict: equal; relaxed: same org)? */
int
dmarc_aligned(const char *d, const char *from, int strict)
{
	char od[256], of[256];

	if (strcasecmp(d, from) == 0)
		return 1;
	if (strict)
		return 0;
	return dmarc_org_domain(d, od, sizeof(od)) == 0 &&
	    dmarc_org_domain(from, of, sizeof(of)) == 0 && strcmp(od, of) == 0;
}

/* policy_word - p= / sp= value */
static int
policy_word(const char *v, size_t n, enum dmarc_policy *p)
{
	if (n == 4 && strncasecmp(v, "none", 4) == 0)
		*p = DMARC_P_NONE;
	else if (n == 10 && strncasecmp(v, "quarantine", 10) == 0)
		*p = DMARC_P_QUARANTINE;
	else if (n == 6 && strncasecmp(v, "reject", 6) == 0)
		*p = DMARC_P_REJECT;
	else
		return -1;
	return 0;
}

/* trim - a tag name or value without surrounding white space */
static void
trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s))
		(*s)++, (*n)--;
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* parse_rec - a TXT record: p=, sp=, adkim=; -1 if not a DMARC record with a valid p= */
static int
parse_rec(const char *txt, struct dmarc_rec *r, enum dmarc_policy *sp)
{
	const char *p = txt;
	int first = 1, have_p = 0;

	*sp = DMARC_UNKNOWN;
	r->adkim_strict = 0;
	while (*p) {
		size_t l = strcspn(p, ";"), nl, vl;
		const char *eq = memchr(p, '=', l), *name = p, *val;

		if (eq) {
			nl = (size_t)(eq - p);
			val = eq + 1;
			vl = l - nl - 1;
			trim(&name, &nl);
			trim(&val, &vl);
			if (first && !(nl == 1 && *name == 'v' && vl == 6 && strncmp(val, "DMARC1", 6) == 0))
				return -1;
			if (nl == 1 && *name == 'p') {
				if (policy_word(val, vl, &r->p) < 0)
					return -1;
				have_p = 1;
			} else if (nl == 2 && strncmp(name, "sp", 2) == 0) {
				if (policy_word(val, vl, sp) < 0)
					*sp = DMARC_UNKNOWN;
			} else if (nl == 5 && strncmp(name, "adkim", 5) == 0) {
				r->adkim_strict = vl == 1 && (*val == 's' || *val == 'S');
			}
		} else if (first) {
			return -1;
		}
		first = 0;
		p += l;
		if (*p)
			p++;
	}
	return have_p ? 0 : -1;
}

/* dmarc_parse - a TXT record into rec; -1 if it is not a usable DMARC record */
int
dmarc_parse(const char *txt, struct dmarc_rec *r)
{
	enum dmarc_policy sp;

	return parse_rec(txt, r, &sp);
}

/* lookup - _dmarc.DOMAIN: exactly one DMARC record counts (RFC 7489 6.6.3) */
static enum dns_status
lookup(dns_txt_fn txt, void *arg, const char *domain, struct dmarc_rec *r,
    enum dmarc_policy *sp, char *why, size_t wl)
{
	static __thread struct dns_txt t;
	char name[300];
	enum dns_status st;
	int found = 0;

	if (snprintf(name, sizeof(name), "_dmarc.%s", domain) >= (int)sizeof(name)) {
		snprintf(why, wl, "domain name too long");
		return DNS_NONE;
	}
	if ((st = txt(arg, name, &t, why, wl)) != DNS_FOUND)
		return st;
	for (int i = 0; i < t.n; i++) {
		struct dmarc_rec one;
		enum dmarc_policy s1;

		if (parse_rec(t.rec[i], &one, &s1) == 0) {
			*r = one;
			*sp = s1;
			found++;
		}
	}
	if (found != 1) {
		snprintf(why, wl, found ? "several DMARC records" : "no DMARC record");
		return DNS_NONE;
	}
	snprintf(r->where, sizeof(r->where), "%s", domain);
	return DNS_FOUND;
}

/*
 * dmarc_fetch - the policy that applies to mail from from_domain: its own
 * record, else its organizational domain's (sp= if given). DNS_NONE leaves
 * rec->p = DMARC_NONE_PUBLISHED; DNS_TEMP and DNS_BOGUS DMARC_UNKNOWN.
 */
enum dns_status
dmarc_fetch(dns_txt_fn txt, void *arg, const char *from, struct dmarc_rec *r,
    char *why, size_t wl)
{
	enum dmarc_policy sp;
	enum dns_status st;
	char org[256];

	memset(r, 0, sizeof(*r));
	r->p = DMARC_UNKNOWN;
	st = lookup(txt, arg, from, r, &sp, why, wl);
	if (st == DNS_NONE && dmarc_org_domain(from, org, sizeof(org)) == 0 &&
	    strcasecmp(org, from) != 0) {
		st = lookup(txt, arg, org, r, &sp, why, wl);
		if (st == DNS_FOUND && sp != DMARC_UNKNOWN)
			r->p = sp;
	}
	if (st == DNS_NONE)
		r->p = DMARC_NONE_PUBLISHED;
	else if (st != DNS_FOUND)
		r->p = DMARC_UNKNOWN;
	return st;
}
