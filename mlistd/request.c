/*
 * request.c - commands sent to LIST-request@.
 *
 * Commands are read from the Subject and the first lines of a plain-text
 * body (quoted lines and everything after a "-- " signature ignored), by our
 * own header parser - no MIME decoding here, so an encoded body yields no
 * commands and the mail goes to the list's owners as before. This release
 * knows "help", "keys" and "key PUBLICKEY" (register the member's own
 * signing key, confirmed from their mailbox); the rest (subscribe, set, ...)
 * belongs to the subscriber-commands work and reaches the owners meanwhile.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "confirm.h"
#include "fanout.h"
#include "mail/header.h"
#include "mail/listkey.h"
#include "request.h"

#define BODY_LINES	10

/* key_arg - "key BASE64": the argument, if it looks like a public key */
static unsigned
key_arg(const char *p, size_t n, struct request *r)
{
	size_t i = 0, s, k = 0;

	while (i < n && isspace((unsigned char)p[i]))
		i++;
	if (n - i > 8 && strncmp(p + i, "ed25519:", 8) == 0)
		i += 8;
	s = i;
	while (i < n && (isalnum((unsigned char)p[i]) || p[i] == '+' || p[i] == '/' || p[i] == '='))
		i++;
	k = i - s;
	while (i < n && isspace((unsigned char)p[i]))
		i++;
	if (i != n || k != 44)
		return CMD_NONE;
	memcpy(r->key, p + s, k);
	r->key[k] = 0;
	return CMD_KEY;
}

/* word - the command on one line ("Re:" and punctuation ignored) */
static unsigned
word(const char *p, size_t n, struct request *r)
{
	static const struct { const char *w; unsigned cmd; } cmds[] = {
		{ "help", CMD_HELP }, { "keys", CMD_KEYS }, { "key", CMD_KEY },
	};
	size_t i = 0, s;

	while (i < n && (isspace((unsigned char)p[i]) || p[i] == '*'))
		i++;
	if (n - i >= 3 && strncasecmp(p + i, "re:", 3) == 0)
		for (i += 3; i < n && isspace((unsigned char)p[i]); i++)
			;
	s = i;
	while (i < n && isalpha((unsigned char)p[i]))
		i++;
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (i - s == strlen(cmds[k].w) && strncasecmp(p + s, cmds[k].w, i - s) == 0) {
			if (cmds[k].cmd == CMD_KEY)
				return key_arg(p + i, n - i, r);
			while (i < n && isspace((unsigned char)p[i]))
				i++;
			return i == n ? cmds[k].cmd : CMD_NONE;	/* the whole line is the command */
		}
	return CMD_NONE;
}

/* request_parse - the commands a mail to -request carries (a bit set, also in r) */
unsigned
request_parse(const char *m, size_t len, struct request *r)
{
	struct hdr h;
	char *subj, *cte, *ct;
	unsigned cmds = 0;
	size_t off, end;
	int lines = 0;
	const char *nl;

	memset(r, 0, sizeof(*r));
	if (hdr_parse(m, len, &h) < 0)
		return 0;
	if ((subj = hdr_get_value(&h, "Subject")) != NULL)
		cmds |= word(subj, strlen(subj), r);
	free(subj);
	cte = hdr_get_value(&h, "Content-Transfer-Encoding");
	ct = hdr_get_value(&h, "Content-Type");
	if ((!cte || !strcasecmp(cte, "7bit") || !strcasecmp(cte, "8bit")) &&
	    (!ct || strncasecmp(ct, "text/plain", 10) == 0)) {
		for (off = h.body_off; off < len && lines < BODY_LINES; off = end) {
			nl = memchr(m + off, '\n', len - off);
			end = nl ? (size_t)(nl - m) + 1 : len;
			/* the buffer need not end in a NUL: compare lengths first */
			if ((end - off >= 5 && memcmp(m + off, "-- \r\n", 5) == 0) ||
			    (end - off >= 4 && memcmp(m + off, "-- \n", 4) == 0))
				break;
			if (m[off] == '>' || m[off] == '\r' || m[off] == '\n')
				continue;
			lines++;
			cmds |= word(m + off, end - off, r);
		}
	}
	free(cte);
	free(ct);
	hdr_free(&h);
	return r->cmds = cmds;
}

struct keytext {
	struct buf	*b;
	const char	*host;
};

static void
key_line(const char *selector, const unsigned char *pk, int active, long long created, void *arg)
{
	struct keytext *k = arg;

	(void)created;
	buf_printf(k->b, "  %s._domainkey.%s TXT \"", selector, k->host);
	dkim_dns_record(pk, k->b);
	buf_printf(k->b, "\"%s\n", active ? "  (signs new posts)" : "  (older posts)");
}

/*
 * key_request - "key PUBLICKEY": registering needs the mailbox's own yes. The
 * answer looks the same whether or not the address is a member (no roster
 * oracle); only a member's token does anything when used.
 */
static int
key_request(struct pipeline *p, const struct list_cfg *l, const char *to, const char *key, struct buf *b)
{
	unsigned char pk[DKIM_PK_LEN], r[20];
	char token[41];
	struct member m;
	size_t got = 0;

	if (sodium_base642bin(pk, sizeof(pk), key, strlen(key), NULL, &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || got != sizeof(pk)) {
		buf_puts(b, "The key you sent is not an Ed25519 public key as 'mlist keygen' prints it.\n\n");
		return 0;
	}
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(token, sizeof(token), r, sizeof(r));
	if (store_member_find(p->st, l->name, to, &m) == STORE_OK) {
		member_free(&m);
		if (store_confirm_add(p->st, "key", token, l->name, "", pk, sizeof(pk), to,
		    p->now + CONFIRM_DAYS * 86400LL) !=
		    STORE_OK)
			return -1;
	}
	buf_printf(b, "To make this key yours on %s@%s (from then on the list distributes posts in\n"
	    "your name only when they are signed with it), send any message to\n"
	    "  %s-confirm+%s@%s\nwithin %d days, or reply to this one. If you did not ask for this, do nothing.\n\n",
	    l->name, p->cfg->hostname, l->name, token, p->cfg->hostname, CONFIRM_DAYS);
	return 1;
}

/* request_answer - one reply for all the commands in a mail */
int
request_answer(struct pipeline *p, const struct list_cfg *l, const char *to, const struct request *req)
{
	unsigned cmds = req->cmds;
	char replyto[300] = "";
	struct buf b;
	struct keytext k = { &b, p->cfg->hostname };
	char sel[SELECTOR_MAX];
	unsigned char seed[DKIM_SEED_LEN];
	int rc;

	buf_init(&b, 0);
	if (cmds & CMD_KEY) {
		int k = key_request(p, l, to, req->key, &b);
		const char *t;

		if (k < 0)
			return buf_free(&b), -1;
		if (k > 0 && (t = strstr(buf_cstr(&b), "-confirm+")) != NULL)
			snprintf(replyto, sizeof(replyto), "Reply-To: <%s-confirm+%.40s@%s>\r\n", l->name, t + 9,
			    p->cfg->hostname);
	}
	if (cmds & CMD_KEYS) {
		if (listkey_get(p->st, l->name, sel, sizeof(sel), seed) < 0)
			return buf_free(&b), -1;
		sodium_memzero(seed, sizeof(seed));
		buf_printf(&b, "The list %s@%s signs every copy it sends with DKIM (Ed25519). Its keys,\n"
		    "as published in DNS:\n\n", l->name, p->cfg->hostname);
		store_keys_each(p->st, l->name, key_line, &k);
		buf_puts(&b, "\nCheck a post with: mlist verify POST.eml --list-key KEY\n\n");
	}
	if (cmds & CMD_HELP)
		buf_printf(&b, "Commands for %s@%s (in the Subject or alone on a line of the body):\n"
		    "  help            this text\n  keys            the list's signing keys\n"
		    "  key PUBLICKEY   sign your posts with your own key (from 'mlist keygen')\n"
		    "Anything else you write to this address reaches the list's owners.\n",
		    l->name, p->cfg->hostname);
	rc = fanout_notice_ex(p, l, to, "Your request to the list", buf_cstr(&b), ENV_NULL, replyto);
	buf_free(&b);
	return rc;
}
