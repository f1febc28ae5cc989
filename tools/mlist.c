/*
 * mlist.c - the subscriber's tool. For now one verb: verify, which checks a
 * post delivered by an mlistd list - the list's DKIM signature and the
 * author signature - and says who signed and what is wrong if anything is.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mlistd/mail/author.h"
#include "../mlistd/mail/dkim.h"
#include "../mlistd/util/fsutil.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2 };

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: mlist verify FILE.eml|- [--list-key KEY | --dns-record FILE]\n"
	    "\n"
	    "Check a post delivered by an mlistd list: the list's DKIM signature (Ed25519) and\n"
	    "the author signature (Mlist-Author-Signature). Prints the list, the selector and\n"
	    "the author's key fingerprint - two posts with the same fingerprint come from the\n"
	    "same author - and exits 0 only when both signatures hold.\n"
	    "\n"
	    "  --list-key KEY     the list's public key: base64, or a whole DKIM TXT record\n"
	    "                     (\"v=DKIM1; k=ed25519; p=...\")\n"
	    "  --dns-record FILE  the records the list publishes, as 'mlistctl keys LIST' prints\n"
	    "                     them (the one matching the post's selector is used)\n"
	    "\n"
	    "exit status: 0 both signatures hold, 1 a check failed, 2 usage error.\n");
}

/* key_from_text - the p= of a record, or a bare base64 key */
static int
key_from_text(const char *text, unsigned char pk[DKIM_PK_LEN])
{
	const char *p = strstr(text, "p=");
	char b64[128];
	size_t n = 0, got;

	p = p ? p + 2 : text;
	while (*p && *p != ';' && *p != '"' && n + 1 < sizeof(b64)) {
		if (!isspace((unsigned char)*p))
			b64[n++] = *p;
		p++;
	}
	b64[n] = 0;
	return sodium_base642bin(pk, DKIM_PK_LEN, b64, n, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    got == DKIM_PK_LEN ? 0 : -1;
}

/* key_from_records - the record for selector in a file of records */
static int
key_from_records(const char *path, const char *selector, unsigned char pk[DKIM_PK_LEN])
{
	struct buf f, err;
	char want[160], *line, *save = NULL;
	int rc = -1;

	buf_init(&f, 1 << 20);
	buf_init(&err, 0);
	if (fs_read_file(path, &f, &err) < 0) {
		fprintf(stderr, "mlist: %s\n", buf_cstr(&err));
		buf_free(&f);
		buf_free(&err);
		return -2;
	}
	snprintf(want, sizeof(want), "%s._domainkey.", selector);
	for (line = strtok_r((char *)f.data, "\n", &save); line && rc < 0; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == ';' || !strstr(line, "p="))
			continue;
		if (strstr(line, "._domainkey.") && strncmp(line, want, strlen(want)) != 0)
			continue;	/* another selector's record */
		rc = key_from_text(line, pk);
	}
	buf_free(&f);
	buf_free(&err);
	return rc;
}

static int
verify(int argc, char **argv)
{
	const char *file = NULL, *listkey = NULL, *records = NULL;
	unsigned char pk[DKIM_PK_LEN], apk[DKIM_PK_LEN];
	char domain[256] = "", selector[160] = "", why[200], lid[256] = "", fp[64];
	struct buf msg, err;
	int i, ok_dkim = 0, ok_author = 0, k;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--list-key") == 0 && i + 1 < argc)
			listkey = argv[++i];
		else if (strcmp(argv[i], "--dns-record") == 0 && i + 1 < argc)
			records = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1])
			return usage(stderr), EX_USAGE;
		else if (!file)
			file = argv[i];
		else
			return usage(stderr), EX_USAGE;
	}
	if (!file)
		return usage(stderr), EX_USAGE;
	buf_init(&msg, 64 << 20);
	buf_init(&err, 0);
	if (fs_read_file(strcmp(file, "-") ? file : "/dev/stdin", &msg, &err) < 0) {
		fprintf(stderr, "mlist: %s\n", buf_cstr(&err));
		return EX_FAIL;
	}
	if (dkim_info((char *)msg.data, msg.len, domain, sizeof(domain), selector, sizeof(selector)) < 0)
		printf("dkim:    FAILED: the message has no DKIM-Signature\n");
	else if (!listkey && !records)
		printf("dkim:    NOT CHECKED: give the list's key (--list-key or --dns-record) to check d=%s s=%s\n",
		    domain, selector);
	else if ((k = listkey ? key_from_text(listkey, pk) : key_from_records(records, selector, pk)) < 0)
		printf("dkim:    FAILED: %s\n", k == -2 ? "cannot read the records" :
		    listkey ? "the key given is not an Ed25519 public key" : "no record for this selector");
	else if (dkim_verify((char *)msg.data, msg.len, pk, why, sizeof(why)) < 0)
		printf("dkim:    FAILED: %s (d=%s s=%s)\n", why, domain, selector);
	else {
		printf("dkim:    ok, signed by the list (d=%s s=%s)\n", domain, selector);
		ok_dkim = 1;
	}
	if (author_verify((char *)msg.data, msg.len, apk, lid, sizeof(lid), why, sizeof(why)) < 0)
		printf("author:  FAILED: %s\n", why);
	else {
		author_fingerprint(apk, fp, sizeof(fp));
		printf("author:  ok, key %s on list %s\n", fp, lid);
		ok_author = 1;
	}
	buf_free(&msg);
	buf_free(&err);
	return ok_dkim && ok_author ? EX_OK : EX_FAIL;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return EX_FAIL;
	if (argc < 2)
		return usage(stderr), EX_USAGE;
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		return usage(stdout), EX_OK;
	if (strcmp(argv[1], "verify") == 0) {
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
				return usage(stdout), EX_OK;
		return verify(argc - 2, argv + 2);
	}
	fprintf(stderr, "mlist: unknown verb '%s' (this version has: verify)\n", argv[1]);
	return EX_USAGE;
}
