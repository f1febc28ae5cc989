/* fuzz_auth.c - libFuzzer: DKIM-Signature, key and DMARC records, Authentication-Results, TXT rdata. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../mlistd/mail/auth.h"
#include "../../mlistd/mail/authres.h"
#include "../../mlistd/mail/dmarc.h"
#include "../../mlistd/mail/dns.h"

static const char *answer;	/* the record every look-up returns: part of the input */

/* fake_txt - DNS answers taken from the input, so key and policy parsers are fuzzed too */
static enum dns_status
fake_txt(void *arg, const char *name, struct dns_txt *out, char *why, size_t wl)
{
	(void)arg;
	(void)name;
	out->n = 0;
	if (!answer) {
		snprintf(why, wl, "none");
		return DNS_NONE;
	}
	snprintf(out->rec[0], DNS_TXT_LEN, "%s", answer);
	out->n = 1;
	return DNS_FOUND;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_cfg c = { "mx.lists.example", 0, fake_txt, NULL, 1800000000LL };
	struct auth_result r;
	struct authres ar;
	struct dmarc_rec d;
	char *m = malloc(size ? size : 1), *s = malloc(size + 1), txt[DNS_TXT_LEN];
	const char *sep;

	if (!m || !s)
		goto out;
	memcpy(m, data, size);
	memcpy(s, data, size);
	s[size] = 0;
	/* "record\n\x00message": the part before the first NUL answers every TXT look-up */
	sep = memchr(s, 0, size);
	answer = sep ? s : NULL;
	auth_from_domain(&c, m, size, &r);
	answer = NULL;
	auth_from_domain(&c, m, size, &r);
	authres_parse(m, size, &ar);
	dmarc_parse(s, &d);
	dns_txt_rdata(data, size, txt, sizeof(txt));
out:
	free(m);
	free(s);
	return 0;
}
