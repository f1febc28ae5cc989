/* fuzz_headers.c - libFuzzer: our own parsers of untrusted mail outside the worker. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mlistd/delivery/bounce.h"
#include "../../mlistd/mail/author.h"
#include "../../mlistd/mail/dkim.h"
#include "../../mlistd/mail/header.h"
#include "../../mlistd/mail/openpgp.h"
#include "../../mlistd/mail/sealed.h"
#include "../../mlistd/pipeline/request.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char pk[32] = { 1 };
	unsigned char got[32];
	char *m = malloc(size ? size : 1), why[200], lid[256], d[256], s[256], sig[128], found[4][ADDR_MAX + 1];
	struct hdr h;

	if (!m)
		return 0;
	memcpy(m, data, size);
	if (hdr_parse(m, size, &h) == 0) {
		hdr_automatic(&h);
		hdr_free(&h);
	}
	{
		struct request rq;

		request_parse(m, size, &rq);
	}
	bounce_dsn_recipients(m, size, found, 4);
	author_verify(m, size, NULL, got, lid, sizeof(lid), why, sizeof(why));
	author_signature_id(m, size, sig, sizeof(sig));
	dkim_verify(m, size, pk, why, sizeof(why));
	dkim_info(m, size, d, sizeof(d), s, sizeof(s));
	/* a post in the retired sealed format is recognised, never opened */
	(void)sealed_is(m, size);
	{
		/* where a post's OpenPGP message is: armour, or a base64 part */
		struct buf pay;
		const char *shape;

		buf_init(&pay, 0);
		(void)openpgp_payload_find(m, size, &pay, &shape);
		buf_free(&pay);
	}
	free(m);
	return 0;
}
