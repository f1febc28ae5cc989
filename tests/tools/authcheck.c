/*
 * authcheck.c - the verdict of auth_from_domain on one message, for the
 * end-to-end tests: reads the message on stdin, resolves through a real
 * resolver (dns.c) and prints one line of key=value. Exit 0 ok, 1 tempfail,
 * 2 permfail, 3 bad usage or set-up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mail/auth.h"
#include "mail/result.h"
#include "util/buf.h"

/* read_all - stdin into b */
static int
read_all(struct buf *b)
{
	char chunk[8192];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_append(b, chunk, n) < 0)
			return -1;
	return ferror(stdin) ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct dns_cfg dc = { "", 5000, "" };
	struct auth_cfg ac = { "", 0, dns_txt, NULL, 0 };
	struct auth_result r;
	struct dns_ctx *d;
	struct buf msg;
	char why[256];
	int c, rc;

	while ((c = getopt(argc, argv, "a:h:r:t:T:")) != -1) {
		switch (c) {
		case 'a': ac.authserv_id = optarg; break;
		case 'h': ac.trusted_received = atoi(optarg); break;
		case 'r': dc.resolver = optarg; break;
		case 't': dc.timeout_ms = atoi(optarg); break;
		case 'T': dc.trust_anchor = optarg; break;
		default:
			fprintf(stderr, "usage: authcheck [-a authserv_id] [-h hops] [-r resolver]"
			    " [-t timeout_ms] [-T trust_anchor] < message\n");
			return 3;
		}
	}
	if ((d = dns_open(&dc, why, sizeof(why))) == NULL) {
		fprintf(stderr, "authcheck: %s\n", why);
		return 3;
	}
	ac.txt_arg = d;
	buf_init(&msg, 0);
	if (read_all(&msg) < 0) {
		fprintf(stderr, "authcheck: cannot read the message\n");
		return 3;
	}
	rc = auth_from_domain(&ac, (const char *)msg.data, msg.len, &r);
	printf("result=%s level=%s source=%s policy=%s partial=%d signer=%s from_domain=%s"
	    " ignored=%d reason=\"%s\"\n", result_name(rc), auth_level_name(r.level),
	    auth_source_name(r.source), dmarc_policy_name(r.policy), r.partial,
	    r.signer[0] ? r.signer : "-", r.from_domain[0] ? r.from_domain : "-",
	    r.authres_ignored, r.reason);
	buf_free(&msg);
	dns_close(d);
	return rc == OK ? 0 : rc == TEMPFAIL ? 1 : 2;
}
