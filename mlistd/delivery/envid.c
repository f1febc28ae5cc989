/*
 * envid.c - the envelope id (RFC 3461 ENVID) of a relay transaction.
 *
 * A DSN may count against a member only if it carries something that a
 * member cannot read in her own copy: without VERP every copy of a post
 * is the same, Message-ID included. The envelope id is in no copy; the
 * relay (and a next hop that speaks DSN) has it, and a DSN returns it as
 * Original-Envelope-Id. It names the transaction - the post's queue id
 * and the lowest and highest delivery row id among its recipients (a
 * batch is a run of rows in id order, deliver.c's cut) - under a MAC with
 * a key of the daemon's, so a DSN is tied to the members of that one
 * transaction and nothing more is stored. Form "M1.QID.LO.HI.MAC", the
 * MAC 24 hex digits: xtext needs no encoding, and it fits in 100.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/envid.h"

#define MAC_LEN		12	/* bytes of the keyed hash kept */
/* the hash's own name space: never a list's */
#define ENVID_NS	"~envid"

/* mac_hex - the MAC of "M1.QID.LO.HI" as hex (2 * MAC_LEN + 1) */
static void
mac_hex(const struct keys *k, const char *what, char *out)
{
	static const char x[] = "0123456789abcdef";
	unsigned char h[KEYS_HASH_LEN];

	keys_addr_hash(k, ENVID_NS, what, h);
	for (int i = 0; i < MAC_LEN; i++) {
		out[2 * i] = x[h[i] >> 4];
		out[2 * i + 1] = x[h[i] & 15];
	}
	out[2 * MAC_LEN] = 0;
}

/* envid_make - the envelope id of qid's transaction to rows [lo, hi] */
int
envid_make(const struct keys *k, const char *qid, long long lo, long long hi,
    char *out, size_t n)
{
	char what[ENVID_MAX], mac[2 * MAC_LEN + 1];
	int len;

	len = snprintf(what, sizeof(what), "M1.%s.%lld.%lld", qid, lo, hi);
	if (len < 0 || (size_t)len >= sizeof(what))
		return -1;
	mac_hex(k, what, mac);
	len = snprintf(out, n, "%s.%s", what, mac);
	return len < 0 || (size_t)len >= n || len >= ENVID_MAX ? -1 : 0;
}

/* qid_ok - upper-case hex, as the spool makes them */
static int
qid_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789ABCDEF", s[i]) || s[i] == 0)
			return 0;
	return 1;
}

/*
 * envid_check - the transaction an envelope id names, if it is one of
 * ours (its MAC holds): 0, or -1 for anything else
 */
int
envid_check(const struct keys *k, const char *envid, char *qid, size_t qn,
    long long *lo, long long *hi)
{
	char what[ENVID_MAX], mac[2 * MAC_LEN + 1], *end;
	const char *q, *dot;
	size_t len = strlen(envid), wl;

	if (len >= ENVID_MAX || len < 2 * MAC_LEN + 1 ||
	    strncmp(envid, "M1.", 3) != 0)
		return -1;
	wl = len - 2 * MAC_LEN - 1;
	if (envid[wl] != '.')
		return -1;
	memcpy(what, envid, wl);
	what[wl] = 0;
	mac_hex(k, what, mac);
	if (sodium_memcmp(mac, envid + wl + 1, 2 * MAC_LEN) != 0)
		return -1;
	/* ours: the fields are as envid_make wrote them */
	q = what + 3;
	if ((dot = strchr(q, '.')) == NULL || !qid_ok(q, (size_t)(dot - q)) ||
	    (size_t)(dot - q) >= qn)
		return -1;
	memcpy(qid, q, (size_t)(dot - q));
	qid[dot - q] = 0;
	*lo = strtoll(dot + 1, &end, 10);
	if (*end != '.')
		return -1;
	*hi = strtoll(end + 1, &end, 10);
	return *end == 0 && *lo <= *hi ? 0 : -1;
}
