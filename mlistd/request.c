/*
 * request.c - commands sent to LIST-request@.
 *
 * Commands are read from the Subject and the first lines of a plain-text
 * body (quoted lines and everything after a "-- " signature ignored), by our
 * own header parser - no MIME decoding here, so an encoded body yields no
 * commands and the mail goes to the list's owners as before. This release
 * knows "help" and "keys"; the rest (subscribe, set, ...) belongs to the
 * subscriber-commands work and reaches the owners meanwhile.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fanout.h"
#include "mail/header.h"
#include "mail/listkey.h"
#include "request.h"

#define BODY_LINES	10

/* word - the command on one line ("Re:" and punctuation ignored) */
static unsigned
word(const char *p, size_t n)
{
	static const struct { const char *w; unsigned cmd; } cmds[] = { { "help", CMD_HELP }, { "keys", CMD_KEYS } };
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
			while (i < n && isspace((unsigned char)p[i]))
				i++;
			return i == n ? cmds[k].cmd : CMD_NONE;	/* the whole line is the command */
		}
	return CMD_NONE;
}

/* request_parse - the commands a mail to -request carries (a bit set) */
unsigned
request_parse(const char *m, size_t len)
{
	struct hdr h;
	char *subj, *cte, *ct;
	unsigned cmds = 0;
	size_t off, end;
	int lines = 0;
	const char *nl;

	if (hdr_parse(m, len, &h) < 0)
		return 0;
	if ((subj = hdr_get_value(&h, "Subject")) != NULL)
		cmds |= word(subj, strlen(subj));
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
			cmds |= word(m + off, end - off);
		}
	}
	free(cte);
	free(ct);
	hdr_free(&h);
	return cmds;
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

/* request_answer - one reply for all the commands in a mail */
int
request_answer(struct pipeline *p, const struct list_cfg *l, const char *to, unsigned cmds)
{
	struct buf b;
	struct keytext k = { &b, p->cfg->hostname };
	char sel[SELECTOR_MAX];
	unsigned char seed[DKIM_SEED_LEN];
	int rc;

	buf_init(&b, 0);
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
		    "  help   this text\n  keys   the list's signing keys\n"
		    "Anything else you write to this address reaches the list's owners.\n",
		    l->name, p->cfg->hostname);
	rc = fanout_notice(p, l, to, "Your request to the list", buf_cstr(&b), ENV_NULL);
	buf_free(&b);
	return rc;
}
