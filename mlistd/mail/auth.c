/*
 * auth.c - decide how sure we are that a message comes from its From: domain.
 *
 * The From: header is only a claim. It is upgraded to DKIM_ALIGNED when a
 * DKIM signature that covers the whole body verifies for a d= aligned with
 * the From domain under that domain's DMARC adkim= (relaxed by default).
 * The verdict comes from a trusted Authentication-Results field of the MTA
 * in front (authres.c says which fields are trusted) or, without one, from
 * our own verification (dkimverify.c). A DNS failure that might change the
 * answer is TEMPFAIL: the caller retries, it never counts as a pass or a
 * refusal. A message whose From domain cannot be told is PERMFAIL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <libetpan/libetpan.h>

#include "auth.h"
#include "authres.h"
#include "dkimverify.h"
#include "header.h"
#include "result.h"

/* auth_level_name - for the log */
const char *
auth_level_name(enum auth_level l)
{
	return l == AUTH_DKIM_ALIGNED ? "dkim-aligned" : "none";
}

/* auth_source_name - for the log */
const char *
auth_source_name(enum auth_source s)
{
	return s == AUTH_SRC_OWN ? "own" : s == AUTH_SRC_AUTHRES ? "authres" : "none";
}

/*
 * from_domain - the domain of the one mailbox in the one From: field (the
 * mailbox itself into r->from_addr: a signature vouches for it alone)
 */
static int
from_domain(const struct hdr *h, struct auth_result *r, char *why, size_t wl)
{
	char *out = r->from_domain;
	size_t ol = sizeof(r->from_domain);
	struct mailimf_mailbox_list *ml = NULL;
	struct mailimf_mailbox *mb;
	const struct hdr_field *f = NULL;
	size_t idx = 0;
	const char *at;
	int rc = -1;

	for (int i = 0; i < h->n; i++)
		if (hdr_is(&h->f[i], "From")) {
			if (f) {
				snprintf(why, wl, "several From fields");
				return -1;
			}
			f = &h->f[i];
		}
	if (!f) {
		snprintf(why, wl, "no From field");
		return -1;
	}
	if (mailimf_mailbox_list_parse(f->value, f->vlen, &idx, &ml) != MAILIMF_NO_ERROR) {
		snprintf(why, wl, "From does not parse");
		return -1;
	}
	if (clist_count(ml->mb_list) != 1) {
		snprintf(why, wl, "From does not name exactly one mailbox");
	} else if ((mb = clist_content(clist_begin(ml->mb_list))) == NULL || !mb->mb_addr_spec ||
	    (at = strrchr(mb->mb_addr_spec, '@')) == NULL || !at[1] ||
	    snprintf(out, ol, "%s", at + 1) >= (int)ol ||
	    snprintf(r->from_addr, sizeof(r->from_addr), "%s",
	    mb->mb_addr_spec) >= (int)sizeof(r->from_addr)) {
		snprintf(why, wl, "From has no usable domain");
	} else {
		for (char *p = out; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		rc = 0;
	}
	mailimf_mailbox_list_free(ml);
	return rc;
}

/* authres_domain - the domain part of a header.from= / header.d= value */
static const char *
authres_domain(const char *v)
{
	const char *at = strrchr(v, '@');

	return at ? at + 1 : v;
}

/*
 * from_authres - a trusted field says dmarc=pass for our From domain, or
 * dkim=pass with an aligned header.d=; 1 if so
 */
static int
from_authres(const struct auth_cfg *cfg, const struct hdr *h, const struct dmarc_rec *dm,
    struct auth_result *r)
{
	struct authres ar[4];
	int n = authres_trusted(h, cfg->authserv_id, cfg->trusted_received, ar, 4,
	    &r->authres_ignored);

	for (int i = 0; i < n; i++)
		for (int k = 0; k < ar[i].n; k++) {
			const struct authres_item *it = &ar[i].r[k];

			if (strcmp(it->result, "pass") != 0)
				continue;
			if (strcmp(it->method, "dmarc") == 0 && it->header_from[0] &&
			    strcasecmp(authres_domain(it->header_from), r->from_domain) == 0) {
				snprintf(r->signer, sizeof(r->signer), "%s", r->from_domain);
				snprintf(r->reason, sizeof(r->reason), "dmarc=pass from %s", ar[i].authserv_id);
				return 1;
			}
			if (strcmp(it->method, "dkim") == 0 && it->header_d[0] &&
			    dmarc_aligned(it->header_d, r->from_domain, dm->adkim_strict)) {
				snprintf(r->signer, sizeof(r->signer), "%s", it->header_d);
				snprintf(r->reason, sizeof(r->reason), "dkim=pass header.d=%s from %s",
				    it->header_d, ar[i].authserv_id);
				return 1;
			}
		}
	return 0;
}

/*
 * from_own - our own verification; OK with the level set, or TEMPFAIL when
 * a key could not be fetched and no aligned signature passed
 */
static int
from_own(const struct auth_cfg *cfg, const char *msg, size_t len, const struct hdr *h,
    const struct dmarc_rec *dm, struct auth_result *r)
{
	struct dkimv_sig sig[DKIMV_MAX];
	struct dkimv_keys ks = { cfg->txt, cfg->txt_arg };
	long long now = cfg->now ? cfg->now : (long long)time(NULL);
	int n = dkimv_verify(msg, len, h, &ks, now, sig, DKIMV_MAX), temp = -1, first = -1;

	for (int i = 0; i < n; i++) {
		int aligned = sig[i].domain[0] &&
		    dmarc_aligned(sig[i].domain, r->from_domain, dm->adkim_strict);

		if (sig[i].status == DKIMV_PASS && aligned && !sig[i].partial) {
			r->level = AUTH_DKIM_ALIGNED;
			r->source = AUTH_SRC_OWN;
			snprintf(r->signer, sizeof(r->signer), "%s", sig[i].domain);
			snprintf(r->reason, sizeof(r->reason), "dkim=pass d=%s s=%s a=%s",
			    sig[i].domain, sig[i].selector, sig[i].alg);
			return OK;
		}
		if (sig[i].status == DKIMV_PASS && aligned)
			r->partial = 1;
		if (sig[i].status == DKIMV_TEMPERROR && temp < 0)
			temp = i;
		if (first < 0 || (aligned && sig[i].status == DKIMV_PASS))
			first = i;
	}
	if (temp >= 0) {
		snprintf(r->reason, sizeof(r->reason), "d=%s: %s", sig[temp].domain, sig[temp].why);
		return TEMPFAIL;
	}
	if (n == 0)
		snprintf(r->reason, sizeof(r->reason), "no DKIM signature");
	else if (r->partial)
		snprintf(r->reason, sizeof(r->reason), "d=%s signs only part of the body (l=)",
		    sig[first].domain);
	else if (sig[first].status == DKIMV_PASS)
		snprintf(r->reason, sizeof(r->reason), "d=%s passes but is not aligned with From",
		    sig[first].domain);
	else
		snprintf(r->reason, sizeof(r->reason), "dkim=%s d=%s: %s",
		    dkimv_status_name(sig[first].status), sig[first].domain[0] ? sig[first].domain :
		    "?", sig[first].why);
	return OK;
}

/*
 * auth_from_mailbox - the one From mailbox, as auth_from_domain reads it,
 * into out: 0, or -1 (none that it would accept; out "")
 */
int
auth_from_mailbox(const char *msg, size_t len, char *out, size_t ol)
{
	struct auth_result r;
	struct hdr h;
	int rc = -1;

	*out = 0;
	memset(&r, 0, sizeof(r));
	if (hdr_parse(msg, len, &h) < 0)
		return -1;
	if (!h.truncated &&
	    from_domain(&h, &r, r.reason, sizeof(r.reason)) == 0 &&
	    snprintf(out, ol, "%s", r.from_addr) < (int)ol)
		rc = 0;
	hdr_free(&h);
	if (rc < 0)
		*out = 0;
	return rc;
}

/* auth_from_domain - OK (level set), TEMPFAIL (DNS: retry) or PERMFAIL (no From domain) */
int
auth_from_domain(const struct auth_cfg *cfg, const char *msg, size_t len, struct auth_result *r)
{
	struct dmarc_rec dm;
	enum dns_status dst;
	char why[160];
	struct hdr h;
	int rc;

	memset(r, 0, sizeof(*r));
	r->policy = DMARC_UNKNOWN;
	if (hdr_parse(msg, len, &h) < 0) {
		snprintf(r->reason, sizeof(r->reason), "header does not parse");
		return TEMPFAIL;
	}
	/* fields past the parser's limit are unseen: a second From could hide there */
	if (h.truncated) {
		snprintf(r->reason, sizeof(r->reason), "more than %d header fields", HDR_MAX_FIELDS);
		hdr_free(&h);
		return PERMFAIL;
	}
	if (from_domain(&h, r, r->reason, sizeof(r->reason)) < 0) {
		hdr_free(&h);
		return PERMFAIL;
	}
	dst = dmarc_fetch(cfg->txt, cfg->txt_arg, r->from_domain, &dm, why, sizeof(why));
	r->policy = dm.p;
	if (from_authres(cfg, &h, &dm, r)) {
		r->level = AUTH_DKIM_ALIGNED;
		r->source = AUTH_SRC_AUTHRES;
		rc = OK;
	} else {
		rc = from_own(cfg, msg, len, &h, &dm, r);
	}
	/* the policy matters to the caller only when the mail was not aligned */
	if (rc == OK && r->level == AUTH_NONE && dst == DNS_TEMP) {
		snprintf(r->reason, sizeof(r->reason), "DMARC look-up: %s", why);
		rc = TEMPFAIL;
	}
	hdr_free(&h);
	return rc;
}
