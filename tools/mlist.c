/*
 * mlist.c - the subscriber's tool.
 *   keygen  make the member's own signing key (the secret stays in a 0600 file)
 *   sign    add the author signature to an outgoing post (stdin -> stdout)
 *   verify  check a delivered post: the list's DKIM signature, the author
 *           signature and a pseudonym's OpenPGP signature (RFC 3156); say
 *           who signed, and what is wrong if anything is
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libetpan/libetpan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../mlistd/mail/author.h"
#include "../mlistd/mail/header.h"
#include "../mlistd/mail/keys.h"
#include "../mlistd/mail/pgpsigned.h"
#include "../mlistd/mail/dkim.h"
#include "../mlistd/util/fsutil.h"
#include "../mlistd/util/rand.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2 };

#define KEY_MAGIC	"mlist-secret-key-v1 "

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: mlist keygen [--out FILE] [--expires DAYS]\n"
	    "       mlist sign --list LIST [--key FILE] < post.eml > signed.eml\n"
	    "       mlist verify FILE.eml|- [--list-key KEY | --dns-record FILE] [--pgp-key FILE]\n"
	    "\n"
	    "keygen makes your own key. The secret half goes to FILE (default\n"
	    "~/.config/mlist/key, mode 0600) and never leaves it. It prints two public keys:\n"
	    "the first (ed25519) is for signing - send \"key ed25519:...\" to LIST-request@ and\n"
	    "the list refuses posts in your name that are not signed with it; the second\n"
	    "(x25519) belonged to the retired sealed format and encrypts nothing. Copies\n"
	    "from the list, and posts to it, are OpenPGP: register your OpenPGP key\n"
	    "(Thunderbird, K-9, mutt...) and encrypt to the list's key in your mail program;\n"
	    "no mlist tool is needed for either.\n"
	    "\n"
	    "sign reads a post on standard input and writes it with an author signature for\n"
	    "LIST (the list's address, or its List-Id such as demo.lists.example). Use it as\n"
	    "a filter before sending; the post needs its Date and Message-ID already.\n"
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
	if ((size_t)snprintf(want, sizeof(want), "%s._domainkey.", selector) >= sizeof(want)) {
		buf_free(&f);
		buf_free(&err);
		return -1;	/* no selector of ours is that long */
	}
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

/* from_address - the address of the post's From into out: 0, or -1 none */
static int
from_address(const char *msg, size_t len, char *out, size_t n)
{
	struct mailimf_mailbox_list *mbl = NULL;
	struct mailimf_mailbox *mb;
	struct hdr h;
	char *from = NULL;
	size_t idx = 0;
	int rc = -1;

	if (hdr_parse(msg, len, &h) < 0)
		return -1;
	if ((from = hdr_get_value(&h, "From")) != NULL &&
	    mailimf_mailbox_list_parse(from, strlen(from), &idx, &mbl) ==
	    MAILIMF_NO_ERROR && clist_begin(mbl->mb_list) != NULL) {
		mb = clist_content(clist_begin(mbl->mb_list));
		if (mb->mb_addr_spec &&
		    (size_t)snprintf(out, n, "%s", mb->mb_addr_spec) < n)
			rc = 0;
	}
	if (mbl)
		mailimf_mailbox_list_free(mbl);
	free(from);
	hdr_free(&h);
	return rc;
}

/*
 * from_fits - whether From's address is the one the list sends kind from
 * (lid its List-Id, LIST.HOST): a pseudonym LIST+p-HANDLE@HOST, an
 * anonymous author LIST@HOST (or LIST+p-HANDLE@ privately), the
 * moderators LIST-owner@HOST. Addresses, not words: the words are the
 * list's to choose.
 */
static int
from_fits(const char *addr, const char *lid, const char *kind)
{
	const char *at = strrchr(addr, '@');
	size_t ll, dl;
	char list[256];

	if (at == NULL || (dl = strlen(at + 1)) + 2 > strlen(lid) ||
	    strcasecmp(lid + strlen(lid) - dl, at + 1) != 0 ||
	    lid[strlen(lid) - dl - 1] != '.')
		return 0;
	ll = strlen(lid) - dl - 1;
	if (ll >= sizeof(list) || (size_t)(at - addr) < ll ||
	    strncasecmp(addr, lid, ll) != 0)
		return 0;
	(void)snprintf(list, sizeof(list), "%.*s", (int)(at - addr - ll),
	    addr + ll);	/* what follows LIST in the local part */
	if (strcmp(kind, AUTHOR_KIND_PSEUDONYM) == 0)
		return strncmp(list, "+p-", 3) == 0 && list[3];
	if (strcmp(kind, AUTHOR_KIND_ANONYMOUS) == 0)
		return *list == 0 || (strncmp(list, "+p-", 3) == 0 && list[3]);
	if (strcmp(kind, AUTHOR_KIND_ROLE) == 0)
		return strcmp(list, "-owner") == 0 ||
		    strncmp(list, "-owner+", 7) == 0;
	return 0;
}

/*
 * print_poster - who the post says wrote it, as the list states it in the
 * author signature (w=, n=; covered by the list's DKIM signature), and
 * only if From is the list's address for that kind: with the author key's
 * fingerprint, the same name and key on two posts means the same
 * pseudonym. 1 nothing stated or it fits, 0 it does not.
 */
static int
print_poster(const char *msg, size_t len, const char *lid, const char *fp)
{
	char kind[32], name[AUTHOR_NAME_MAX + 1], addr[512];

	if (author_claim(msg, len, kind, sizeof(kind), name, sizeof(name)) < 0)
		return 1;	/* a member as herself: From says who */
	if (from_address(msg, len, addr, sizeof(addr)) < 0 ||
	    !from_fits(addr, lid, kind)) {
		printf("poster:  FAILED: the list says \"%s\", but From is not "
		    "its address for that\n", kind);
		return 0;
	}
	if (strcmp(kind, AUTHOR_KIND_ROLE) == 0)
		printf("poster:  the list's moderators, as a role (key %s)\n",
		    fp);
	else if (strcmp(kind, AUTHOR_KIND_PSEUDONYM) == 0)
		printf("poster:  pseudonym \"%s\" (key %s)\n", name, fp);
	else if (*name)
		printf("poster:  anonymous post \"%s\" (key %s)\n", name, fp);
	else
		printf("poster:  anonymous post (key %s)\n", fp);
	return 1;
}

/*
 * verify_openpgp - an RFC 3156 signature (a pseudonym's, #18): 1 ok or
 * none, 0 failed. The key is keyfile's, else the post's own Autocrypt key.
 */
static int
verify_openpgp(const struct buf *msg, const char *keyfile)
{
	struct pgpsigned ps;
	struct buf key, err;
	char why[300];
	int rc;

	buf_init(&key, 1 << 20);
	buf_init(&err, 0);
	if (keyfile && fs_read_file(keyfile, &key, &err) < 0) {
		printf("openpgp: FAILED: %s\n", buf_cstr(&err));
		buf_free(&key);
		buf_free(&err);
		return 0;
	}
	rc = pgpsigned_check(msg->data, msg->len, key.data, key.len, &ps, why,
	    sizeof(why));
	if (rc == 0)
		printf("openpgp: none (not multipart/signed)\n");
	else if (rc < 0)
		printf("openpgp: FAILED: %s\n", why);
	else
		printf("openpgp: ok, signed by \"%s\", key %s%s\n", ps.who.uid,
		    ps.who.fpr, ps.from_autocrypt ? " (the key of the post's own "
		    "Autocrypt header: compare its fingerprint with 'keys NAME' "
		    "at LIST-request, or give it with --pgp-key)" : "");
	buf_free(&key);
	buf_free(&err);
	return rc >= 0;
}

static int
verify(int argc, char **argv)
{
	const char *file = NULL, *listkey = NULL, *records = NULL, *pgpkey = NULL;
	unsigned char pk[DKIM_PK_LEN], apk[DKIM_PK_LEN];
	char domain[256] = "", selector[160] = "", why[200], lid[256] = "", fp[64];
	struct buf msg, err;
	int i, ok_dkim = 0, ok_author = 0, ok_pgp, ok_poster = 1, k;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--list-key") == 0 && i + 1 < argc)
			listkey = argv[++i];
		else if (strcmp(argv[i], "--dns-record") == 0 && i + 1 < argc)
			records = argv[++i];
		else if (strcmp(argv[i], "--pgp-key") == 0 && i + 1 < argc)
			pgpkey = argv[++i];
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
	if (author_verify((char *)msg.data, msg.len, NULL, apk, lid, sizeof(lid), why, sizeof(why)) < 0)
		printf("author:  FAILED: %s\n", why);
	else {
		author_fingerprint(apk, fp, sizeof(fp));
		printf("author:  ok, key %s on list %s\n", fp, lid);
		ok_author = 1;
	}
	if (ok_dkim && ok_author)
		ok_poster = print_poster((char *)msg.data, msg.len, lid, fp);
	ok_pgp = verify_openpgp(&msg, pgpkey);
	buf_free(&msg);
	buf_free(&err);
	return ok_dkim && ok_author && ok_pgp && ok_poster ? EX_OK : EX_FAIL;
}

/* default_key_path - ~/.config/mlist/key */
static const char *
default_key_path(void)
{
	static char path[4096];
	const char *home = getenv("HOME");

	snprintf(path, sizeof(path), "%s/.config/mlist/key", home && *home ? home : ".");
	return path;
}

static int
keygen(int argc, char **argv)
{
	const char *out = default_key_path();
	unsigned char seed[DKIM_SEED_LEN], pk[DKIM_PK_LEN], sk[crypto_sign_SECRETKEYBYTES];
	char b64[128], dir[4096], *slash, fp[64];
	struct buf text, err;
	int fd;

	long long days = 0;
	char expiry[32] = "";

	for (int i = 0; i < argc; i += 2) {
		char *end;

		if (i + 1 >= argc)
			return usage(stderr), EX_USAGE;
		if (strcmp(argv[i], "--out") == 0)
			out = argv[i + 1];
		else if (strcmp(argv[i], "--expires") == 0) {
			errno = 0;
			days = strtoll(argv[i + 1], &end, 10);
			if (errno || *end || end == argv[i + 1] || days < 2 || days > 7300) {
				fprintf(stderr, "mlist: --expires takes a number of days from 2 to 7300, not \"%s\"\n",
				    argv[i + 1]);
				return EX_USAGE;
			}
		} else
			return usage(stderr), EX_USAGE;
	}
	if (days) {
		time_t t = time(NULL) + (time_t)days * 86400;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(expiry, sizeof(expiry), " expires %Y-%m-%d", &tm);
	}
	snprintf(dir, sizeof(dir), "%s", out);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = 0;
		if (*dir && fs_mkdir_p(dir, 0700) < 0) {
			fprintf(stderr, "mlist: cannot create %s: %s\n", dir, strerror(errno));
			return EX_FAIL;
		}
	}
	if ((fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "mlist: cannot create %s: %s%s\n", out, strerror(errno),
		    errno == EEXIST ? " (a key is already there; remove it first, or use --out)" : "");
		return EX_FAIL;
	}
	crypto_sign_keypair(pk, sk);
	crypto_sign_ed25519_sk_to_seed(seed, sk);
	sodium_memzero(sk, sizeof(sk));
	buf_init(&text, 0);
	buf_init(&err, 0);
	sodium_bin2base64(b64, sizeof(b64), seed, sizeof(seed), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(seed, sizeof(seed));
	buf_printf(&text, KEY_MAGIC "%s\n", b64);
	sodium_memzero(b64, sizeof(b64));
	if (fs_write_all(fd, text.data, text.len) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		fprintf(stderr, "mlist: cannot write %s: %s\n", out, strerror(errno));
		sodium_memzero(text.data, text.len);
		unlink(out);
		return EX_FAIL;
	}
	sodium_memzero(text.data, text.len);
	buf_free(&text);
	sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
	author_fingerprint(pk, fp, sizeof(fp));
	printf("%s\n", b64);
	{
		unsigned char xpk[32];

		if (crypto_sign_ed25519_pk_to_curve25519(xpk, pk) == 0) {
			sodium_bin2base64(b64, sizeof(b64), xpk, sizeof(xpk), sodium_base64_VARIANT_ORIGINAL);
			printf("x25519:%s%s\n", b64, expiry);
		}
	}
	fprintf(stderr, "mlist: secret key written to %s (keep it; back it up privately)\n"
	    "mlist: fingerprint %s; register the public keys above with the list\n", out, fp);
	return EX_OK;
}

/* load_seed - read a key file made by keygen */
static int
load_seed(const char *path, unsigned char seed[DKIM_SEED_LEN])
{
	struct buf f, err;
	struct stat st;
	size_t got = 0;
	int rc = -1;

	buf_init(&f, 4096);
	buf_init(&err, 0);
	if (stat(path, &st) == 0 && (st.st_mode & 077))
		fprintf(stderr, "mlist: warning: %s is readable by others; chmod 600 %s\n", path, path);
	if (fs_read_file(path, &f, &err) < 0)
		fprintf(stderr, "mlist: %s (make one with 'mlist keygen')\n", buf_cstr(&err));
	else if (strncmp(buf_cstr(&f), KEY_MAGIC, strlen(KEY_MAGIC)) != 0 ||
	    sodium_base642bin(seed, DKIM_SEED_LEN, buf_cstr(&f) + strlen(KEY_MAGIC), f.len - strlen(KEY_MAGIC),
	    "\r\n", &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || got != DKIM_SEED_LEN)
		fprintf(stderr, "mlist: %s is not an mlist key file\n", path);
	else
		rc = 0;
	if (f.data)
		sodium_memzero(f.data, f.len);
	buf_free(&f);
	buf_free(&err);
	return rc;
}

static int
sign(int argc, char **argv)
{
	const char *list = NULL, *key = default_key_path();
	unsigned char seed[DKIM_SEED_LEN];
	char lid[300], *at;
	struct buf msg, err, head;
	int i, crlf;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--list") == 0 && i + 1 < argc)
			list = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key = argv[++i];
		else
			return usage(stderr), EX_USAGE;
	}
	if (!list)
		return fprintf(stderr, "mlist: sign needs --list LIST (e.g. demo@lists.example)\n"), EX_USAGE;
	snprintf(lid, sizeof(lid), "%s", list);
	if ((at = strchr(lid, '@')) != NULL)
		*at = '.';
	if (load_seed(key, seed) < 0)
		return EX_FAIL;
	buf_init(&msg, 64 << 20);
	buf_init(&err, 0);
	buf_init(&head, 0);
	if (fs_read_file("/dev/stdin", &msg, &err) < 0) {
		fprintf(stderr, "mlist: cannot read the post: %s\n", buf_cstr(&err));
		return EX_FAIL;
	}
	if (!strcasestr(buf_cstr(&msg), "\nMessage-ID:") || !strcasestr(buf_cstr(&msg), "\nDate:"))
		fprintf(stderr, "mlist: warning: the post has no Date or Message-ID yet; one added later "
		    "would break the signature\n");
	if (author_sign(seed, lid, (long long)time(NULL), (char *)msg.data, msg.len, &head) < 0) {
		sodium_memzero(seed, sizeof(seed));
		fprintf(stderr, "mlist: cannot sign this message\n");
		return EX_FAIL;
	}
	sodium_memzero(seed, sizeof(seed));
	crlf = memchr(msg.data, '\r', msg.len) != NULL;
	for (i = 0; i < (int)head.len; i++)
		if (head.data[i] != '\r' || crlf)
			putchar(head.data[i]);
	fwrite(msg.data, 1, msg.len, stdout);
	buf_free(&msg);
	buf_free(&err);
	buf_free(&head);
	return fflush(stdout) == 0 ? EX_OK : EX_FAIL;
}

int
main(int argc, char **argv)
{
	char why[200];

	/* no randomness, nothing done (#15) */
	if (rand_init("mlist", why, sizeof(why)) < 0) {
		fprintf(stderr, "mlist: %s\n", why);
		return EX_FAIL;
	}
	if (argc < 2)
		return usage(stderr), EX_USAGE;
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		return usage(stdout), EX_OK;
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout), EX_OK;
	if (strcmp(argv[1], "keygen") == 0)
		return keygen(argc - 2, argv + 2);
	if (strcmp(argv[1], "sign") == 0)
		return sign(argc - 2, argv + 2);
	if (strcmp(argv[1], "verify") == 0) {
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
				return usage(stdout), EX_OK;
		return verify(argc - 2, argv + 2);
	}
	if (strcmp(argv[1], "seal") == 0) {
		fprintf(stderr, "mlist: 'seal' is retired: encrypt the post to "
		    "the list's OpenPGP key (the answer to \"keys\" from\n"
		    "LIST-request@) in your mail program, which sends it as "
		    "PGP/MIME\n");
		return EX_USAGE;
	}
	fprintf(stderr, "mlist: unknown verb '%s' (this version has: keygen, "
	    "sign, verify)\n", argv[1]);
	return EX_USAGE;
}
