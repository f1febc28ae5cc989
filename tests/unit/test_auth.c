/* test_auth.c - DKIM verification, DMARC alignment, Authentication-Results, the verdict. */
#include <string.h>

#include "testutil.h"
#include "../../mlistd/mail/auth.h"
#include "../../mlistd/mail/authres.h"
#include "../../mlistd/mail/dkimverify.h"
#include "../../mlistd/mail/dmarc.h"
#include "../../mlistd/mail/dns.h"
#include "../../mlistd/mail/header.h"
#include "../../mlistd/mail/result.h"

/* RFC 8463 appendix A.3, byte for byte (A.2's DNS records below) */
static const char rfc8463[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

/* the fake DNS: name -> record; "TEMP" answers DNS_TEMP, "BOGUS" DNS_BOGUS */
struct zone {
	const char	*name;
	const char	*rec;
};

static struct zone zone[16];
static char rsa2048_txt[1024], rsa512_txt[512];
static int asked;

/* fake_txt - answer from the zone table */
static enum dns_status
fake_txt(void *arg, const char *name, struct dns_txt *out, char *why, size_t wl)
{
	(void)arg;
	asked++;
	out->n = 0;
	for (int i = 0; zone[i].name; i++) {
		if (strcasecmp(zone[i].name, name) != 0)
			continue;
		if (strcmp(zone[i].rec, "TEMP") == 0) {
			snprintf(why, wl, "fake timeout");
			return DNS_TEMP;
		}
		if (strcmp(zone[i].rec, "BOGUS") == 0) {
			snprintf(why, wl, "fake bogus");
			return DNS_BOGUS;
		}
		snprintf(out->rec[out->n++], DNS_TXT_LEN, "%s", zone[i].rec);
	}
	snprintf(why, wl, "fake NXDOMAIN");
	return out->n ? DNS_FOUND : DNS_NONE;
}

/* read_txt - a committed fixture's record, newline dropped */
static void
read_txt(const char *path, char *out, size_t ol)
{
	struct buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(fs_read_file(path, &b, NULL), 0);
	snprintf(out, ol, "%s", buf_cstr(&b));
	out[strcspn(out, "\r\n")] = 0;
	buf_free(&b);
}

/* setup - the zones every test starts from */
static void
setup(void)
{
	static const struct zone base[] = {
		{ "brisbane._domainkey.football.example.com",
		  "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" },
		{ "test._domainkey.football.example.com",
		  "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
		  "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
		  "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
		  "Ip3G+2kryOTIKT+l/K4w3QIDAQAB" },
		{ "_dmarc.example.com", "v=DMARC1; p=reject; adkim=r" },
		{ NULL, NULL }
	};
	int n = 0;

	read_txt("tests/data/auth/rsa2048.txt", rsa2048_txt, sizeof(rsa2048_txt));
	read_txt("tests/data/auth/rsa512.txt", rsa512_txt, sizeof(rsa512_txt));
	memset(zone, 0, sizeof(zone));
	for (; base[n].name; n++)
		zone[n] = base[n];
	zone[n++] = (struct zone){ "rsa._domainkey.example.org", rsa2048_txt };
	zone[n++] = (struct zone){ "short._domainkey.example.org", rsa512_txt };
	zone[n++] = (struct zone){ "_dmarc.example.org", "v=DMARC1; p=quarantine" };
	asked = 0;
}

/* zone_set - add or replace one record */
static void
zone_set(const char *name, const char *rec)
{
	int i;

	for (i = 0; zone[i].name; i++)
		if (strcmp(zone[i].name, name) == 0)
			break;
	ck_assert_int_lt(i, 15);
	zone[i] = (struct zone){ name, rec };
}

/* cfg - our own verification, no trusted MTA */
static struct auth_cfg
cfg(const char *id)
{
	struct auth_cfg c = { id, 0, fake_txt, NULL, 1800000000LL };

	return c;
}

/* fixture - a committed message as a string (caller frees) */
static char *
fixture(const char *name, size_t *len)
{
	char path[256];
	struct buf b;
	char *m;

	snprintf(path, sizeof(path), "tests/data/auth/%s", name);
	buf_init(&b, 0);
	ck_assert_int_eq(fs_read_file(path, &b, NULL), 0);
	m = strdup(buf_cstr(&b));
	*len = b.len;
	buf_free(&b);
	return m;
}

/* replace - msg with the first `from` replaced by `to` (caller frees) */
static char *
replace(const char *msg, const char *from, const char *to)
{
	const char *p = strstr(msg, from);
	struct buf b;
	char *out;

	ck_assert_ptr_nonnull(p);
	buf_init(&b, 0);
	buf_append(&b, msg, (size_t)(p - msg));
	buf_puts(&b, to);
	buf_puts(&b, p + strlen(from));
	out = strdup(buf_cstr(&b));
	buf_free(&b);
	return out;
}

/* verify - dkimv_verify over a whole message */
static int
verify(const char *m, struct dkimv_sig *sig, long long now)
{
	struct dkimv_keys ks = { fake_txt, NULL };
	struct hdr h;
	int n;

	ck_assert_int_eq(hdr_parse(m, strlen(m), &h), 0);
	n = dkimv_verify(m, strlen(m), &h, &ks, now, sig, DKIMV_MAX);
	hdr_free(&h);
	return n;
}

/* RFC 8463's example: both its Ed25519 and its RSA signature verify */
START_TEST(rfc8463_known_answer)
{
	struct dkimv_sig sig[DKIMV_MAX];
	struct auth_cfg c = cfg(NULL);
	struct auth_result r;

	setup();
	ck_assert_int_eq(verify(rfc8463, sig, 1800000000LL), 2);
	ck_assert_msg(sig[0].status == DKIMV_PASS, "ed25519: %s", sig[0].why);
	ck_assert_str_eq(sig[0].alg, "ed25519-sha256");
	ck_assert_str_eq(sig[0].domain, "football.example.com");
	ck_assert_msg(sig[1].status == DKIMV_PASS, "rsa: %s", sig[1].why);
	ck_assert_int_eq(sig[0].partial, 0);
	ck_assert_int_eq(auth_from_domain(&c, rfc8463, strlen(rfc8463), &r), OK);
	ck_assert_int_eq(r.level, AUTH_DKIM_ALIGNED);
	ck_assert_int_eq(r.source, AUTH_SRC_OWN);
	ck_assert_str_eq(r.from_domain, "football.example.com");
	ck_assert_str_eq(r.signer, "football.example.com");
	/* no _dmarc.football.example.com, but example.com (its org domain) has one */
	ck_assert_int_eq(r.policy, DMARC_P_REJECT);
}
END_TEST

/* a one-byte change in the body, or in a signed header, and nothing passes */
START_TEST(tampered)
{
	struct dkimv_sig sig[DKIMV_MAX];
	struct auth_cfg c = cfg(NULL);
	struct auth_result r;
	char *body = replace(rfc8463, "lost the game", "won the game");
	char *subj = replace(rfc8463, "Is dinner ready?", "Is dinner ready!");

	setup();
	ck_assert_int_eq(verify(body, sig, 1800000000LL), 2);
	ck_assert_int_eq(sig[0].status, DKIMV_FAIL);
	ck_assert_ptr_nonnull(strstr(sig[0].why, "body hash"));
	ck_assert_int_eq(verify(subj, sig, 1800000000LL), 2);
	ck_assert_int_eq(sig[0].status, DKIMV_FAIL);
	ck_assert_int_eq(sig[1].status, DKIMV_FAIL);
	ck_assert_ptr_nonnull(strstr(sig[0].why, "does not verify"));
	ck_assert_int_eq(auth_from_domain(&c, subj, strlen(subj), &r), OK);
	ck_assert_int_eq(r.level, AUTH_NONE);
	/* white space changes are what relaxed canonicalisation forgives */
	free(subj);
	subj = replace(rfc8463, "Subject: Is dinner ready?", "Subject:   Is dinner \t ready?  ");
	ck_assert_int_eq(verify(subj, sig, 1800000000LL), 2);
	ck_assert_msg(sig[0].status == DKIMV_PASS, "%s", sig[0].why);
	free(body);
	free(subj);
}
END_TEST

/* dkimpy's RSA-2048 signature, relaxed/relaxed, verifies; a 512-bit key fails */
START_TEST(rsa2048_and_short_key)
{
	struct dkimv_sig sig[DKIMV_MAX];
	struct auth_cfg c = cfg(NULL);
	struct auth_result r;
	size_t n;
	char *m = fixture("rsa2048.eml", &n), *s = fixture("rsa512.eml", &n);

	setup();
	ck_assert_int_eq(verify(m, sig, 1800000000LL), 1);
	ck_assert_msg(sig[0].status == DKIMV_PASS, "%s", sig[0].why);
	ck_assert_int_eq(auth_from_domain(&c, m, strlen(m), &r), OK);
	ck_assert_int_eq(r.level, AUTH_DKIM_ALIGNED);
	ck_assert_int_eq(r.policy, DMARC_P_QUARANTINE);
	ck_assert_int_eq(verify(s, sig, 1800000000LL), 1);
	ck_assert_int_eq(sig[0].status, DKIMV_FAIL);
	ck_assert_ptr_nonnull(strstr(sig[0].why, "1024"));
	ck_assert_int_eq(auth_from_domain(&c, s, strlen(s), &r), OK);
	ck_assert_int_eq(r.level, AUTH_NONE);
	free(m);
	free(s);
}
END_TEST

/* simple/simple with l=: whole body aligned; text appended after l= is not */
START_TEST(length_tag)
{
	struct dkimv_sig sig[DKIMV_MAX];
	struct auth_cfg c = cfg(NULL);
	struct auth_result r;
	size_t n;
	char *m = fixture("rsa2048-simple-l.eml", &n), *ext;
	struct buf b;

	setup();
	ck_assert_int_eq(verify(m, sig, 1800000000LL), 1);
	ck_assert_msg(sig[0].status == DKIMV_PASS, "%s", sig[0].why);
	ck_assert_int_eq(sig[0].partial, 0);
	ck_assert_int_eq(auth_from_domain(&c, m, strlen(m), &r), OK);
	ck_assert_int_eq(r.level, AUTH_DKIM_ALIGNED);
	buf_init(&b, 0);
	buf_puts(&b, m);
	buf_puts(&b, "\r\nP.S. wire the money to the account below.\r\n");
	ext = strdup(buf_cstr(&b));
	buf_free(&b);
	ck_assert_int_eq(verify(ext, sig, 1800000000LL), 1);
	ck_assert_msg(sig[0].status == DKIMV_PASS, "%s", sig[0].why);
	ck_assert_int_eq(sig[0].partial, 1);
	ck_assert_int_eq(auth_from_domain(&c, ext, strlen(ext), &r), OK);
	ck_assert_int_eq(r.level, AUTH_NONE);
	ck_assert_int_eq(r.partial, 1);
	ck_assert_ptr_nonnull(strstr(r.reason, "l="));
	free(m);
	free(ext);
}
END_TEST

/* the refusals that come before any cryptography: each says why */
START_TEST(refused_signatures)
{
	static const struct {
		const char *from, *to, *why;
		enum dkimv_status st;
	} t[] = {
		{ "h=from : to :\r\n subject : date : message-id : from : subject : date;",
		  "h=to :\r\n subject : date : message-id : subject : date;", "From", DKIMV_PERMERROR },
		{ "t=1528637909;", "t=1528637909; x=1528640000;", "expired", DKIMV_FAIL },
		{ "a=ed25519-sha256", "a=rsa-sha1", "rsa-sha1", DKIMV_FAIL },
		{ "a=ed25519-sha256", "a=ed448-sha256", "algorithm", DKIMV_PERMERROR },
		{ "v=1; a=ed25519", "v=2; a=ed25519", "v=", DKIMV_PERMERROR },
		{ "i=@football.example.com", "i=@evil.example.net", "i=", DKIMV_PERMERROR },
		{ "s=brisbane;", "s=brisbane; s=again;", "tag list", DKIMV_PERMERROR },
		{ "s=brisbane;", "s=nokey;", "no key", DKIMV_PERMERROR },
		{ "t=1528637909;", "t=1528637909; l=99999;", "l=", DKIMV_PERMERROR },
		{ "bh=2jUSOH9", "bh=!!!!", "bh=", DKIMV_PERMERROR },
	};
	struct dkimv_sig sig[DKIMV_MAX];

	setup();
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *m = replace(rfc8463, t[i].from, t[i].to);

		ck_assert_int_eq(verify(m, sig, 1800000000LL), 2);
		ck_assert_msg(sig[0].status == t[i].st && strstr(sig[0].why, t[i].why),
		    "case %zu: %s %s", i, dkimv_status_name(sig[0].status), sig[0].why);
		free(m);
	}
}
END_TEST

/* keys: revoked, wrong type, bogus DNS; and a signature that is not yet expired */
START_TEST(key_records)
{
	struct dkimv_sig sig[DKIMV_MAX];

	setup();
	zone_set("brisbane._domainkey.football.example.com", "v=DKIM1; k=ed25519; p=");
	verify(rfc8463, sig, 1800000000LL);
	ck_assert_int_eq(sig[0].status, DKIMV_FAIL);
	ck_assert_ptr_nonnull(strstr(sig[0].why, "revoked"));
	zone_set("brisbane._domainkey.football.example.com",
	    "v=DKIM1; k=rsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	verify(rfc8463, sig, 1800000000LL);
	ck_assert_int_eq(sig[0].status, DKIMV_PERMERROR);
	zone_set("brisbane._domainkey.football.example.com", "BOGUS");
	verify(rfc8463, sig, 1800000000LL);
	ck_assert_int_eq(sig[0].status, DKIMV_FAIL);
	ck_assert_ptr_nonnull(strstr(sig[0].why, "bogus"));
	zone_set("brisbane._domainkey.football.example.com", "TEMP");
	verify(rfc8463, sig, 1800000000LL);
	ck_assert_int_eq(sig[0].status, DKIMV_TEMPERROR);
	ck_assert_int_eq(sig[1].status, DKIMV_PASS);
}
END_TEST

/* a DNS timeout is TEMPFAIL unless another aligned signature passes */
START_TEST(dns_timeout_is_temporary)
{
	struct auth_cfg c = cfg(NULL);
	struct auth_result r;

	setup();
	zone_set("brisbane._domainkey.football.example.com", "TEMP");
	ck_assert_int_eq(auth_from_domain(&c, rfc8463, strlen(rfc8463), &r), OK);
	ck_assert_int_eq(r.level, AUTH_DKIM_ALIGNED);	/* the RSA one */
	zone_set("test._domainkey.football.example.com", "TEMP");
	ck_assert_int_eq(auth_from_domain(&c, rfc8463, strlen(rfc8463), &r), TEMPFAIL);
	ck_assert_int_eq(r.level, AUTH_NONE);
	ck_assert_ptr_nonnull(strstr(r.reason, "timeout"));
	/* and a DMARC look-up that times out, for unsigned mail, too */
	setup();
	zone_set("_dmarc.example.org", "TEMP");
	{
		const char *m = "From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n";

		ck_assert_int_eq(auth_from_domain(&c, m, strlen(m), &r), TEMPFAIL);
	}
}
END_TEST

/* signed by another domain: the signature holds, the From domain is not its */
START_TEST(misaligned)
{
	struct dkimv_sig sig[DKIMV_MAX];
	struct auth_cfg c = cfg(NULL);
	struct auth_result r;
	size_t n;
	char *m = fixture("rsa2048-other.eml", &n);

	setup();
	zone_set("rsa._domainkey.other.example", rsa2048_txt);
	ck_assert_int_eq(verify(m, sig, 1800000000LL), 1);
	ck_assert_msg(sig[0].status == DKIMV_PASS, "%s", sig[0].why);
	ck_assert_int_eq(auth_from_domain(&c, m, strlen(m), &r), OK);
	ck_assert_int_eq(r.level, AUTH_NONE);
	ck_assert_ptr_nonnull(strstr(r.reason, "not aligned"));
	ck_assert_int_eq(dmarc_aligned("football.example.com", "example.com", 0), 1);
	ck_assert_int_eq(dmarc_aligned("football.example.com", "example.com", 1), 0);
	ck_assert_int_eq(dmarc_aligned("example.org", "example.com", 0), 0);
	ck_assert_int_eq(dmarc_aligned("a.example.co.uk", "b.example.co.uk", 0), 1);
	ck_assert_int_eq(dmarc_aligned("example.co.uk", "other.co.uk", 0), 0);
	free(m);
}
END_TEST

/* the organizational domain comes from the Public Suffix List */
START_TEST(org_domain)
{
	char o[256];

	ck_assert_int_eq(dmarc_org_domain("mail.example.co.uk", o, sizeof(o)), 0);
	ck_assert_str_eq(o, "example.co.uk");
	ck_assert_int_eq(dmarc_org_domain("A.B.Example.COM", o, sizeof(o)), 0);
	ck_assert_str_eq(o, "example.com");
	ck_assert_int_eq(dmarc_org_domain("foo.github.io", o, sizeof(o)), 0);
	ck_assert_str_eq(o, "foo.github.io");
	ck_assert_int_eq(dmarc_org_domain("co.uk", o, sizeof(o)), -1);
}
END_TEST

/* DMARC records: p=, sp= inherited from the org domain, adkim=s, junk */
START_TEST(dmarc_records)
{
	struct dmarc_rec d;
	char why[100];

	ck_assert_int_eq(dmarc_parse("v=DMARC1; p=reject; adkim=s", &d), 0);
	ck_assert_int_eq(d.p, DMARC_P_REJECT);
	ck_assert_int_eq(d.adkim_strict, 1);
	ck_assert_int_eq(dmarc_parse("v=DMARC1;p=none", &d), 0);
	ck_assert_int_eq(d.adkim_strict, 0);
	ck_assert_int_eq(dmarc_parse("p=reject; v=DMARC1", &d), -1);
	ck_assert_int_eq(dmarc_parse("v=DMARC1; p=maybe", &d), -1);
	ck_assert_int_eq(dmarc_parse("v=spf1 -all", &d), -1);
	setup();
	zone_set("_dmarc.example.net", "v=DMARC1; p=none; sp=reject");
	ck_assert_int_eq(dmarc_fetch(fake_txt, NULL, "sub.example.net", &d, why, sizeof(why)),
	    DNS_FOUND);
	ck_assert_int_eq(d.p, DMARC_P_REJECT);
	ck_assert_str_eq(d.where, "example.net");
	ck_assert_int_eq(dmarc_fetch(fake_txt, NULL, "nowhere.test", &d, why, sizeof(why)),
	    DNS_NONE);
	ck_assert_int_eq(d.p, DMARC_NONE_PUBLISHED);
}
END_TEST

/* RFC 8601 syntax: comments, quoted strings, versions, properties */
START_TEST(authres_syntax)
{
	struct authres ar;
	const char *v = " mx.lists.example 1 (our MTA);\r\n dkim=pass (good sig)"
	    " header.d=Example.ORG header.i=@example.org header.b=\"abc\";\r\n"
	    " spf=fail smtp.mailfrom=x@y; dmarc/1 = pass reason=\"aligned\" header.from=example.org";

	ck_assert_int_eq(authres_parse(v, strlen(v), &ar), 0);
	ck_assert_str_eq(ar.authserv_id, "mx.lists.example");
	ck_assert_int_eq(ar.n, 3);
	ck_assert_str_eq(ar.r[0].method, "dkim");
	ck_assert_str_eq(ar.r[0].result, "pass");
	ck_assert_str_eq(ar.r[0].header_d, "Example.ORG");
	ck_assert_str_eq(ar.r[1].result, "fail");
	ck_assert_str_eq(ar.r[2].method, "dmarc");
	ck_assert_str_eq(ar.r[2].header_from, "example.org");
	v = "mx.lists.example; none";
	ck_assert_int_eq(authres_parse(v, strlen(v), &ar), 0);
	ck_assert_int_eq(ar.n, 0);
	v = " ; dkim=pass";
	ck_assert_int_eq(authres_parse(v, strlen(v), &ar), -1);
	v = "mx; dkim=pass header.d=\"unterminated";
	ck_assert_int_eq(authres_parse(v, strlen(v), &ar), 0);
	ck_assert_int_eq(ar.n, 0);
}
END_TEST

/* only the field our MTA added on top counts; the same id from outside is ignored */
START_TEST(authres_inside_outside)
{
	struct auth_cfg c = cfg("mx.lists.example");
	struct auth_result r;
	const char *inside =
	    "Authentication-Results: mx.lists.example; dkim=pass header.d=example.org\r\n"
	    "Received: from outside.example by mx.lists.example; Tue, 1 Dec 2026\r\n"
	    "From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nbody\r\n";
	const char *outside =
	    "Received: from outside.example by mx.lists.example; Tue, 1 Dec 2026\r\n"
	    "Authentication-Results: mx.lists.example; dkim=pass header.d=example.org;\r\n"
	    " dmarc=pass header.from=example.org\r\n"
	    "From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nbody\r\n";
	const char *other_id =
	    "Authentication-Results: mx.elsewhere.example; dkim=pass header.d=example.org\r\n"
	    "From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nbody\r\n";
	const char *dmarc =
	    "Authentication-Results: mx.lists.example; dkim=pass header.d=other.example;\r\n"
	    "  dmarc=pass (p=quarantine) header.from=example.org\r\n"
	    "From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nbody\r\n";
	const char *misaligned =
	    "Authentication-Results: mx.lists.example; dkim=pass header.d=other.example;"
	    " dkim=fail header.d=example.org; dmarc=fail header.from=example.org\r\n"
	    "From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nbody\r\n";

	setup();
	ck_assert_int_eq(auth_from_domain(&c, inside, strlen(inside), &r), OK);
	ck_assert_int_eq(r.level, AUTH_DKIM_ALIGNED);
	ck_assert_int_eq(r.source, AUTH_SRC_AUTHRES);
	ck_assert_str_eq(r.signer, "example.org");
	ck_assert_int_eq(auth_from_domain(&c, outside, strlen(outside), &r), OK);
	ck_assert_int_eq(r.level, AUTH_NONE);
	ck_assert_int_eq(r.authres_ignored, 1);
	/* one relay of ours between the MTA and mlistd: the hop is configured */
	c.trusted_received = 1;
	ck_assert_int_eq(auth_from_domain(&c, outside, strlen(outside), &r), OK);
	ck_assert_int_eq(r.level, AUTH_DKIM_ALIGNED);
	c.trusted_received = 0;
	ck_assert_int_eq(auth_from_domain(&c, other_id, strlen(other_id), &r), OK);
	ck_assert_int_eq(r.level, AUTH_NONE);
	ck_assert_int_eq(auth_from_domain(&c, dmarc, strlen(dmarc), &r), OK);
	ck_assert_int_eq(r.level, AUTH_DKIM_ALIGNED);
	ck_assert_ptr_nonnull(strstr(r.reason, "dmarc=pass"));
	ck_assert_int_eq(auth_from_domain(&c, misaligned, strlen(misaligned), &r), OK);
	ck_assert_int_eq(r.level, AUTH_NONE);
	/* no authserv_id configured: no field is ever believed */
	c.authserv_id = "";
	ck_assert_int_eq(auth_from_domain(&c, inside, strlen(inside), &r), OK);
	ck_assert_int_eq(r.level, AUTH_NONE);
}
END_TEST

/* From: the one domain we judge, or PERMFAIL */
START_TEST(from_domain)
{
	static const char *const bad[] = {
		"Subject: no from\r\n\r\nx\r\n",
		"From: a@example.org\r\nFrom: b@example.com\r\n\r\nx\r\n",
		"From: a@example.org, b@example.com\r\n\r\nx\r\n",
		"From: nobody\r\n\r\nx\r\n",
	};
	struct auth_cfg c = cfg(NULL);
	struct auth_result r;
	const char *ok = "From: \"Alice, A.\" <Alice@Example.ORG>\r\n\r\nx\r\n";

	setup();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(auth_from_domain(&c, bad[i], strlen(bad[i]), &r), PERMFAIL);
	ck_assert_int_eq(auth_from_domain(&c, ok, strlen(ok), &r), OK);
	ck_assert_str_eq(r.from_domain, "example.org");
	{
		/* a second From past the header parser's limit must not go unseen */
		struct buf b;

		buf_init(&b, 0);
		buf_puts(&b, "From: a@example.org\r\n");
		for (int i = 0; i < HDR_MAX_FIELDS; i++)
			buf_puts(&b, "X-Pad: x\r\n");
		buf_puts(&b, "From: b@example.com\r\n\r\nbody\r\n");
		ck_assert_int_eq(auth_from_domain(&c, buf_cstr(&b), b.len, &r), PERMFAIL);
		buf_free(&b);
	}
	ck_assert_int_eq(auth_from_domain(&c, ok, strlen(ok), &r), OK);
	ck_assert_int_eq(r.level, AUTH_NONE);
	ck_assert_ptr_nonnull(strstr(r.reason, "no DKIM"));
	/* the reason never carries the local part of an address */
	ck_assert_ptr_null(strstr(r.reason, "Alice"));
}
END_TEST

/* TXT rdata: strings joined, lengths checked */
START_TEST(txt_rdata)
{
	static const unsigned char two[] = "\003abc\002de", over[] = "\005abc", nul[] = "\002a\0";
	char out[16];

	ck_assert_int_eq(dns_txt_rdata(two, 7, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "abcde");
	ck_assert_int_eq(dns_txt_rdata(over, 4, out, sizeof(out)), -1);
	ck_assert_int_eq(dns_txt_rdata(nul, 3, out, sizeof(out)), -1);
	ck_assert_int_eq(dns_txt_rdata(two, 7, out, 5), -1);
	ck_assert_int_eq(dns_txt_rdata(two, 0, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

/* fuzz_one - every parser over one input: it must return, whatever it is */
static void
fuzz_one(const char *m, size_t n, void *arg)
{
	struct auth_cfg c = cfg("mx.lists.example");
	struct auth_result r;
	struct authres ar;
	struct dmarc_rec d;
	char *s = malloc(n + 1);

	(void)arg;
	auth_from_domain(&c, m, n, &r);
	authres_parse(m, n, &ar);
	ck_assert_ptr_nonnull(s);
	memcpy(s, m, n);
	s[n] = 0;
	dmarc_parse(s, &d);
	free(s);
}

/* what the auth fuzzer found (tests/data/fuzz-regressions/auth-*), and the seeds */
START_TEST(fuzz_regressions)
{
	setup();
	tu_fuzz_inputs("auth-", fuzz_one, NULL);
	fuzz_one(rfc8463, strlen(rfc8463), NULL);
	/* a message cut at every byte of its signature parses and is refused, never crashes */
	for (size_t i = 0; i < 900; i += 7) {
		char *m = malloc(i ? i : 1);

		memcpy(m, rfc8463, i);
		fuzz_one(m, i, NULL);
		free(m);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	tcase_add_test(tc, rfc8463_known_answer);
	tcase_add_test(tc, tampered);
	tcase_add_test(tc, rsa2048_and_short_key);
	tcase_add_test(tc, length_tag);
	tcase_add_test(tc, refused_signatures);
	tcase_add_test(tc, key_records);
	tcase_add_test(tc, dns_timeout_is_temporary);
	tcase_add_test(tc, misaligned);
	tcase_add_test(tc, org_domain);
	tcase_add_test(tc, dmarc_records);
	tcase_add_test(tc, authres_syntax);
	tcase_add_test(tc, authres_inside_outside);
	tcase_add_test(tc, from_domain);
	tcase_add_test(tc, txt_rdata);
	tcase_add_test(tc, fuzz_regressions);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
