/*
 * request.c - commands sent to LIST-request@.
 *
 * Commands are read from the Subject and the first lines of a plain-text
 * body (quoted lines and everything after a "-- " signature ignored), by our
 * own header parser - no MIME decoding here, so an encoded body yields no
 * commands and the mail goes to the list's owners as before. The commands
 * are the table in word(): "help", "keys [NAME]", "key PUBLICKEY" (the
 * member's own signing key), "who", "archive index", "archive get N",
 * "audit", "set pseudonym|identity|digest|nomail ...", "subscribe" (or
 * "join", with an introduction), "unsubscribe" (or "leave") and "confirm"
 * (or "vouch") TOKEN. What changes a member is confirmed from the mailbox
 * first and then done by leadership/command.c.
 *
 * Every answer obeys the list's disclosure rules (pipeline/disclosure.c
 * decides them), judged by the address the answer goes to: a forged sender
 * gets nothing, because the answer goes to the mailbox it forged.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <time.h>

#include "leadership/confirm.h"
#include "delivery/distribute.h"
#include "pipeline/disclosure.h"
#include "pipeline/identity.h"
#include "mail/archive.h"
#include "mail/audit.h"
#include "mail/header.h"
#include "mail/listkey.h"
#include "mail/openpgp.h"
#include "mail/pseudonym.h"
#include "mail/listpgp.h"
#include "pipeline/pgpin.h"
#include "pipeline/pgprotate.h"
#include "pipeline/authn.h"
#include "pipeline/request.h"
#include "pipeline/sign.h"
#include "mail/author.h"
#include "util/log.h"

#define BODY_LINES	10

/* request_piece - a piece of an answer (pieces.txt) appended to b; -1 none */
int
request_piece(struct pipeline *p, const struct list_cfg *l, enum piece_id id,
    const char *const *vars, struct buf *b)
{
	struct notice_ctx ctx = { l->name, p->cfg->hostname };

	if (notice_piece(l->notices, p->cfg->notices, id, &ctx, vars, b) < 0) {
		log_warn("%s request: list=%s no text for a piece of the "
		    "answer", p->qid, l->name);
		return -1;
	}
	return 0;
}

/*
 * request_piece_line - a piece as a value for a notice's placeholder: into
 * out without its last line end; -1 none
 */
int
request_piece_line(struct pipeline *p, const struct list_cfg *l,
    enum piece_id id, char *out, size_t n)
{
	struct buf b;
	int rc;

	buf_init(&b, 0);
	rc = request_piece(p, l, id, NULL, &b);
	while (rc == 0 && b.len && b.data[b.len - 1] == '\n')
		b.len--;
	if (rc == 0)
		snprintf(out, n, "%.*s", (int)b.len, (const char *)b.data);
	buf_free(&b);
	return rc;
}

/* refused - a command refused: the piece saying why; 0 (not done), -1 */
static int
refused(struct pipeline *p, const struct list_cfg *l, enum piece_id id,
    const char *const *vars, struct buf *b)
{
	return request_piece(p, l, id, vars, b) < 0 ? -1 : 0;
}

/* key_arg - "key BASE64": the argument, if it looks like a public key */
static unsigned
key_arg(const char *p, size_t n, struct request *r)
{
	size_t i = 0, s, k = 0;
	int enc = 0;

	while (i < n && isspace((unsigned char)p[i]))
		i++;
	if (n - i > 8 && strncmp(p + i, "ed25519:", 8) == 0)
		i += 8;
	else if (n - i > 7 && strncmp(p + i, "x25519:", 7) == 0) {
		i += 7;
		enc = 1;
	}
	if (i == n && !enc)
		return CMD_PGPKEY;	/* "key" alone: the key is attached */
	if (!enc && n - i >= 6 && strncasecmp(p + i, "cancel", 6) == 0 &&
	    strspn(p + i + 6, " \t\r\n") == n - i - 6) {
		/* "key cancel": a waiting OpenPGP key dropped */
		r->pgpcancel = 1;
		return CMD_PGPKEY;
	}
	s = i;
	while (i < n && (isalnum((unsigned char)p[i]) || p[i] == '+' || p[i] == '/' || p[i] == '='))
		i++;
	k = i - s;
	while (i < n && isspace((unsigned char)p[i]))
		i++;
	if (enc && n - i > 8 && strncasecmp(p + i, "expires", 7) == 0 && isspace((unsigned char)p[i + 7])) {
		/* the key's stated expiry: the date is checked when the command is answered */
		size_t d;

		for (i += 7; i < n && isspace((unsigned char)p[i]); i++)
			;
		for (d = i; i < n && !isspace((unsigned char)p[i]); i++)
			;
		snprintf(r->expires, sizeof(r->expires), "%.*s", (int)(i - d < sizeof(r->expires) - 1 ? i - d :
		    sizeof(r->expires) - 1), p + d);
		while (i < n && isspace((unsigned char)p[i]))
			i++;
	}
	if (i != n || k != 44)
		return CMD_NONE;
	memcpy(enc ? r->enckey : r->key, p + s, k);
	(enc ? r->enckey : r->key)[k] = 0;
	return enc ? CMD_ENCKEY : CMD_KEY;
}

/* rest - the rest of the line, trimmed, into out; its length (0 and "" when it does not fit) */
static size_t
rest(const char *p, size_t n, char *out, size_t outlen)
{
	size_t i = 0;

	out[0] = 0;

	while (i < n && isspace((unsigned char)p[i]))
		i++;
	while (n > i && isspace((unsigned char)p[n - 1]))
		n--;
	if (n - i >= outlen)
		return 0;
	memcpy(out, p + i, n - i);
	out[n - i] = 0;
	return n - i;
}

/* two_words - "archive index", "archive get N", "set pseudonym NAME", "set identity MODE" */
static unsigned
two_words(const char *w, const char *p, size_t n, struct request *r)
{
	char arg[256], *end;
	size_t len = rest(p, n, arg, sizeof(arg));

	if (!strcasecmp(w, "archive")) {
		if (!strcasecmp(arg, "index"))
			return CMD_ARCHIVE_INDEX;
		if (!strncasecmp(arg, "get ", 4)) {
			long v = strtol(arg + 4, &end, 10);

			if (v > 0 && v < 1000000000 && *end == 0) {
				r->archive_n = (int)v;
				return CMD_ARCHIVE_GET;
			}
		}
		return CMD_NONE;
	}
	if (len > 10 && !strncasecmp(arg, "pseudonym ", 10)) {
		snprintf(r->pseudonym, sizeof(r->pseudonym), "%s", arg + 10);
		return CMD_SET_PSEUDONYM;
	}
	if (len > 9 && !strncasecmp(arg, "identity ", 9) && len - 9 < sizeof(r->identity)) {
		memcpy(r->identity, arg + 9, len - 9 + 1);
		return CMD_SET_IDENTITY;
	}
	if (!strcasecmp(arg, "digest on") || !strcasecmp(arg, "digest off")) {
		r->digest = !strcasecmp(arg + 7, "on");
		return CMD_SET_DIGEST;
	}
	if (!strcasecmp(arg, "nomail on") || !strcasecmp(arg, "nomail off")) {
		r->nomail = !strcasecmp(arg + 7, "on");
		return CMD_SET_NOMAIL;
	}
	return CMD_NONE;
}

/* one_word - "subscribe [PSEUDONYM]", "unsubscribe", "confirm TOKEN" */
static unsigned
one_word(unsigned cmd, const char *p, size_t n, struct request *r)
{
	char arg[256];
	size_t len = rest(p, n, arg, sizeof(arg));

	switch (cmd) {
	case CMD_SUBSCRIBE:
		if (len)
			snprintf(r->pseudonym, sizeof(r->pseudonym), "%s", arg);
		return cmd;
	case CMD_KEYS:
		/* "keys NAME": that pseudonym's OpenPGP key too (#18) */
		if (len)
			snprintf(r->keyname, sizeof(r->keyname), "%s", arg);
		return cmd;
	case CMD_UNSUBSCRIBE:
		return len == 0 ? cmd : CMD_NONE;
	case CMD_CONFIRM:
		if (len != 40 || strspn(arg, "0123456789abcdef") != 40)
			return CMD_NONE;
		memcpy(r->token, arg, 41);
		return cmd;
	}
	return CMD_NONE;
}

/* word - the command on one line ("Re:" and punctuation ignored) */
static unsigned
word(const char *p, size_t n, struct request *r)
{
	static const struct { const char *w; unsigned cmd; } cmds[] = {
		{ "help", CMD_HELP }, { "keys", CMD_KEYS }, { "key", CMD_KEY }, { "who", CMD_WHO },
		{ "archive", CMD_ARCHIVE_INDEX }, { "set", CMD_SET_IDENTITY }, { "subscribe", CMD_SUBSCRIBE },
		{ "join", CMD_SUBSCRIBE }, { "unsubscribe", CMD_UNSUBSCRIBE }, { "leave", CMD_UNSUBSCRIBE },
		{ "confirm", CMD_CONFIRM }, { "vouch", CMD_CONFIRM }, { "audit", CMD_AUDIT },
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
			if (cmds[k].cmd == CMD_ARCHIVE_INDEX || cmds[k].cmd == CMD_SET_IDENTITY)
				return two_words(cmds[k].w, p + i, n - i, r);
			if (cmds[k].cmd & (CMD_SUBSCRIBE | CMD_UNSUBSCRIBE | CMD_CONFIRM | CMD_KEYS))
				return one_word(cmds[k].cmd, p + i, n - i, r);
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
	r->msg = m;
	r->msglen = len;
	if (hdr_parse(m, len, &h) < 0)
		return 0;
	if ((subj = hdr_get_value(&h, "Subject")) != NULL)
		cmds |= word(subj, strlen(subj), r);
	free(subj);
	if ((cmds & CMD_KEYS) && *r->keyname) {
		/* "keys please" is a Subject, not a command: "keys NAME" only in the body */
		cmds &= ~CMD_KEYS;
		r->keyname[0] = 0;
	}
	if (cmds & CMD_SUBSCRIBE) {
		r->intro = m + h.body_off;	/* "subscribe" in the Subject: the body introduces */
		r->introlen = len - h.body_off;
	}
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
			{
				unsigned c = word(m + off, end - off, r);

				cmds |= c;
				if (c & CMD_SUBSCRIBE) {
					/* what follows the subscribe line is the introduction, not commands */
					r->intro = m + end;
					r->introlen = len - end;
					break;
				}
			}
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
	char		 active[200], older[200];	/* [keys-active], -older */
};

static void
key_line(const char *selector, const unsigned char *pk, int active, long long created, void *arg)
{
	struct keytext *k = arg;

	(void)created;
	buf_printf(k->b, "  %s._domainkey.%s TXT \"", selector, k->host);
	dkim_dns_record(pk, k->b);
	buf_printf(k->b, "\"  %s\n", active ? k->active : k->older);
}

/*
 * key_request - "key PUBLICKEY": registering needs the mailbox's own yes. The
 * answer looks the same whether or not the address is a member (no roster
 * oracle); only a member's token does anything when used. The token's
 * address goes into confirm (the answer's Reply-To), "" for a bad key.
 */
static int
key_request(struct pipeline *p, const struct list_cfg *l, const char *to,
    const char *key, struct buf *b, char *confirm, size_t n)
{
	unsigned char pk[DKIM_PK_LEN], r[20];
	char token[41], days[16];
	const char *vars[] = { "confirm_addr", confirm, "days", days, NULL };
	struct member m;

	*confirm = 0;
	if (keys_public_from_text(key, "ed25519", pk) != 1)
		return refused(p, l, PIECE_BAD_KEY, NULL, b);
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(token, sizeof(token), r, sizeof(r));
	if (store_member_find(p->st, l->name, to, &m) == STORE_OK) {
		member_free(&m);
		if (store_confirm_add(p->st, "key", token, l->name, "", pk,
		    sizeof(pk), to, p->now + CONFIRM_DAYS * 86400LL) !=
		    STORE_OK)
			return -1;
	}
	snprintf(confirm, n, "%s-confirm+%s@%s", l->name, token,
	    p->cfg->hostname);
	snprintf(days, sizeof(days), "%d", CONFIRM_DAYS);
	return request_piece(p, l, PIECE_KEY_CONFIRM, vars, b) < 0 ? -1 : 1;
}

/* reader_level - who is asking (enum reader), from their membership; since when a member */
static int
reader_level(struct pipeline *p, const struct list_cfg *l, const char *addr, long long *since)
{
	struct member m;
	int level;

	*since = 0;
	if (store_member_find(p->st, l->name, addr, &m) != STORE_OK)
		return disclosure_reader(l, NULL, 0, p->now);
	level = disclosure_reader(l, &m.role, m.created, p->now);
	*since = m.created;
	member_free(&m);
	return level;
}

struct roster {
	struct buf	 lines;		/* one a member, in the store's order */
	const struct list_cfg *l;
	int		 n;
};

/* roster_line - one member as the rules let them be seen */
static int
roster_line(const struct member *m, void *arg)
{
	struct roster *r = arg;
	const char *name = m->name && *m->name ? m->name : NULL;

	if (r->l->identity == ID_REAL)
		buf_printf(&r->lines, "  %s%s%s%s\n", name ? name : "",
		    name ? " <" : "", m->addr, name ? ">" : "");
	else if (r->l->identity == ID_PSEUDONYM && m->pseudonym)
		buf_printf(&r->lines, "  %s\n", m->pseudonym);
	r->n++;
	return 0;
}

/* line_cmp - qsort: lines by their text, case aside first */
static int
line_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int c = strcasecmp(x, y);

	return c ? c : strcmp(x, y);
}

/*
 * sorted_lines - in's lines in alphabetical order, appended to out. The
 * store gives members in the order they joined, and the audit log records
 * each admission: in that order a member could pair each name with its
 * entries (and so with role changes).
 */
static int
sorted_lines(struct buf *in, struct buf *out)
{
	size_t n = 0, k = 0;
	char **v, *s, *save = NULL;
	int rc = 0;

	if (buf_putc(in, 0) < 0)
		return -1;
	for (size_t i = 0; i < in->len; i++)
		n += in->data[i] == '\n';
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return -1;
	for (s = strtok_r((char *)in->data, "\n", &save); s && k < n;
	    s = strtok_r(NULL, "\n", &save))
		v[k++] = s;
	qsort(v, k, sizeof(*v), line_cmp);
	for (size_t i = 0; i < k && rc == 0; i++)
		rc = buf_printf(out, "%s\n", v[i]) < 0 ? -1 : 0;
	free(v);
	return rc;
}

struct leaders {
	struct pipeline		*p;
	const struct list_cfg	*l;
	struct buf		 names;
	int			 n;
};

/* leader_line - one moderator, as leadership.visibility shows them */
static int
leader_line(const struct member *m, void *arg)
{
	struct leaders *x = arg;
	char label[160];

	if (!role_leads(m->role))
		return 0;
	identity_leader(x->p, x->l, m->addr, label, sizeof(label));
	label[strcspn(label, "\n")] = 0;
	buf_printf(&x->names, "%s\n", label);
	x->n++;
	return 0;
}

/*
 * leader_names - the moderators' labels, sorted (as the roster is, and for
 * its reason), into out as "A, B, C"
 */
static int
leader_names(struct buf *lines, struct buf *out)
{
	struct buf sorted;
	char *s, *save = NULL;
	int rc = 0;

	buf_init(&sorted, 0);
	if (sorted_lines(lines, &sorted) < 0 || buf_putc(&sorted, 0) < 0)
		rc = -1;
	for (s = rc ? NULL : strtok_r((char *)sorted.data, "\n", &save);
	    s && rc == 0; s = strtok_r(NULL, "\n", &save))
		rc = buf_printf(out, "%s%s", out->len ? ", " : "", s) < 0 ?
		    -1 : 0;
	buf_free(&sorted);
	return rc;
}

/* who_answer - "who": the roster and the member count, each only as far as its rule allows */
static int
who_answer(struct pipeline *p, const struct list_cfg *l, int level, struct buf *b)
{
	struct roster r = { { 0 }, l, 0 };
	struct leaders x = { p, l, { 0 }, 0 };
	char count[16];
	const char *vars[] = { "names", "", "count", count, NULL };
	int n, rc = 0;

	if (disclosure_leaders(l, level)) {
		/* leadership.visibility = roles or named: who leads is known (hidden: not even how many) */
		struct buf names;

		buf_init(&x.names, 0);
		buf_init(&names, 0);
		rc = store_member_each(p->st, l->name, leader_line, &x) < 0 ||
		    leader_names(&x.names, &names) < 0 ? -1 : 0;
		vars[1] = buf_cstr(&names);
		if (rc == 0)
			rc = request_piece(p, l, x.n ? PIECE_LEADERS :
			    PIECE_NO_LEADERS, vars, b);
		buf_free(&x.names);
		buf_free(&names);
		if (rc < 0)
			return -1;
	}
	if (disclosure_member_count(l, level)) {
		if ((n = store_member_count(p->st, l->name)) < 0)
			return -1;
		snprintf(count, sizeof(count), "%d", n);
		if (request_piece(p, l, n == 1 ? PIECE_COUNT_ONE : PIECE_COUNT,
		    vars, b) < 0)
			return -1;
	}
	if (!disclosure_roster(l, level))
		return request_piece(p, l, PIECE_ROSTER_HIDDEN, NULL, b);
	if (l->identity == ID_ANONYMOUS)
		return request_piece(p, l, PIECE_ROSTER_ANONYMOUS, NULL, b);
	if (request_piece(p, l, l->identity == ID_PSEUDONYM ?
	    PIECE_ROSTER_PSEUDONYMS : PIECE_ROSTER, NULL, b) < 0)
		return -1;
	buf_init(&r.lines, 0);
	rc = store_member_each(p->st, l->name, roster_line, &r) < 0 ||
	    sorted_lines(&r.lines, b) < 0 ? -1 : 0;
	buf_free(&r.lines);
	return rc < 0 || buf_putc(b, '\n') < 0 ? -1 : 0;
}

struct index {
	struct buf	*b;
	int		 n;
};

/* index_line - "N  date  From  Subject" */
static void
index_line(int n, long long at, const char *summary, void *arg)
{
	struct index *x = arg;
	time_t t = (time_t)at;
	struct tm tm;
	char date[32];
	const char *tab = strchr(summary, '\t');

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	buf_printf(x->b, "  %5d  %s  %.*s  %s\n", n, date, tab ? (int)(tab - summary) : (int)strlen(summary),
	    summary, tab ? tab + 1 : "");
	x->n++;
}

/* archive_answer - "archive index" / "archive get N"; the post itself goes in *post */
static int
archive_answer(struct pipeline *p, const struct list_cfg *l, const struct request *req, int level,
    long long member_since, struct buf *b, struct buf *post)
{
	struct index x = { b, 0 };
	long long since, at;
	char n[16];
	const char *vars[] = { "n", n, NULL };
	int rc;

	if (!disclosure_archive(l, level, member_since, &since))
		return refused(p, l, disclosure_archive_refusal(l), NULL, b);
	/*
	 * past the retention: a row the expiry keeps for the next digest
	 * (digest_archived) is the digest's, not its readers' (attack11 F4)
	 */
	if (l->archive_days > 0 && since < p->now - l->archive_days * 86400LL)
		since = p->now - l->archive_days * 86400LL;
	if (req->cmds & CMD_ARCHIVE_INDEX) {
		if (request_piece(p, l, PIECE_ARCHIVE_INDEX, NULL, b) < 0 ||
		    store_archive_each(p->st, l->name, since, index_line,
		    &x) < 0)
			return -1;
		if (x.n == 0 &&
		    request_piece(p, l, PIECE_ARCHIVE_EMPTY, NULL, b) < 0)
			return -1;
		buf_putc(b, '\n');
	}
	snprintf(n, sizeof(n), "%d", req->archive_n);
	if (req->cmds & CMD_ARCHIVE_GET) {
		rc = store_archive_get(p->st, l->name, req->archive_n, &at, post);
		if (rc == STORE_ERR)
			return -1;
		if (rc == STORE_NOTFOUND || at < since) {
			buf_reset(post);
			return request_piece(p, l, PIECE_ARCHIVE_NONE, vars, b);
		}
		return request_piece(p, l, PIECE_ARCHIVE_ATTACHED, vars, b);
	}
	return 0;
}

/* batch_line - one confirmable command, checked now (so a bad one is answered at once) */
static int
batch_line(struct pipeline *p, const struct list_cfg *l,
    const struct request *req, unsigned cmd, struct buf *payload,
    struct buf *b)
{
	char sk[SKELETON_MAX], why[160], offers[300];
	const char *vars[] = { "why", why, "mode", req->identity,
	    "offers", offers, "date", req->expires, NULL };
	int mode;

	switch (cmd) {
	case CMD_SUBSCRIBE:
		if (l->subscription == SUB_CLOSED)
			return refused(p, l, PIECE_CLOSED, NULL, b);
		buf_puts(payload, "subscribe\n");
		if (*req->pseudonym && l->identity == ID_PSEUDONYM) {
			if (pseudonym_check_on(req->pseudonym, p->cfg, l, sk,
			    sizeof(sk), why, sizeof(why)) < 0) {
				buf_reset(payload);
				return refused(p, l, PIECE_BAD_PSEUDONYM_JOIN, vars, b);
			}
			buf_printf(payload, "pseudonym %s\n", req->pseudonym);
		}
		return 1;
	case CMD_UNSUBSCRIBE:
		buf_puts(payload, "unsubscribe\n");
		return 1;
	case CMD_SET_DIGEST:
		buf_printf(payload, "digest %s\n", req->digest ? "on" : "off");
		return 1;
	case CMD_SET_NOMAIL:
		buf_printf(payload, "nomail %s\n", req->nomail ? "on" : "off");
		return 1;
	case CMD_SET_IDENTITY:
		if ((mode = config_identity_parse(req->identity)) < 0 || !config_identity_allowed(l, mode)) {
			snprintf(offers, sizeof(offers), "%s%s%s",
			    config_identity_name(l->identity),
			    *l->identity_choices ? ", " : "",
			    l->identity_choices);
			return refused(p, l, PIECE_BAD_IDENTITY, vars, b);
		}
		buf_printf(payload, "identity %s\n", config_identity_name(mode));
		return 1;
	case CMD_ENCKEY: {
		unsigned char pk[32];

		/*
		 * the sealed format is retired (#17): an X25519 key would
		 * encrypt nothing, so it is refused, never confirmed
		 */
		if (keys_public_from_text(req->enckey, "x25519", pk) != 1)
			return refused(p, l, PIECE_BAD_ENCKEY, NULL, b);
		return request_piece(p, l, PIECE_X25519_RETIRED, NULL, b);
	}
	case CMD_SET_PSEUDONYM:
		if (pseudonym_check_on(req->pseudonym, p->cfg, l, sk,
		    sizeof(sk), why, sizeof(why)) < 0)
			return refused(p, l, PIECE_BAD_PSEUDONYM, vars, b);
		buf_printf(payload, "pseudonym %s\n", req->pseudonym);
		return 1;
	}
	return 0;
}

/*
 * confirm_batch - every command that changes a membership waits for one
 * confirmation from the mailbox itself (a reply, or mail to
 * LIST-confirm+TOKEN@). The answer is the same whether or not the address
 * is subscribed; what applies is done at confirmation. The commands (and
 * a subscriber's introduction) are sealed into the token's record.
 */
static int
confirm_batch(struct pipeline *p, const struct list_cfg *l, const char *to, const struct request *req,
    unsigned reads, struct buf *b, char *replyto, size_t rlen)
{
	static const unsigned order[] = { CMD_SUBSCRIBE, CMD_SET_PSEUDONYM, CMD_SET_IDENTITY, CMD_SET_DIGEST,
	    CMD_SET_NOMAIL, CMD_ENCKEY, CMD_UNSUBSCRIBE };
	char token[41], addr[400], days[16];
	const char *vars[] = { "confirm_addr", addr, "days", days, NULL };
	struct buf payload, one, sealed;
	int n = 0, rc = 0, k;

	buf_init(&payload, 0);
	buf_init(&one, 0);
	buf_printf(&payload, "%s\n", to);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(req->cmds & order[i]))
			continue;
		buf_reset(&one);
		if ((k = batch_line(p, l, req, order[i], &one, b)) < 0) {
			rc = -1;
			goto done;
		}
		if (k) {
			buf_append(&payload, one.data, one.len);
			n++;
		}
	}
	if (reads) {
		/* unverified: answered again, as who they are, once confirmed */
		buf_printf(&payload, "answer %u %d\n", reads, req->archive_n);
		n++;
	}
	if (n && (req->cmds & CMD_SUBSCRIBE) && req->introlen) {
		buf_puts(&payload, "intro\n");
		buf_append(&payload, req->intro, req->introlen < 4000 ? req->introlen : 4000);
	}
	if (n == 0)
		goto done;
	buf_init(&sealed, 0);
	/* the store seals it, bound to the token's row (store_confirm_add) */
	if (buf_append(&sealed, payload.data, payload.len) < 0 ||
	    confirm_token(p, l, "command", "", sealed.data, sealed.len, to, p->now + CONFIRM_DAYS * 86400LL, token,
	    replyto, rlen) < 0)
		rc = -1;
	buf_free(&sealed);
	if (rc < 0)
		goto done;
	snprintf(addr, sizeof(addr), "%s-confirm+%s@%s", l->name, token,
	    p->cfg->hostname);
	snprintf(days, sizeof(days), "%d", CONFIRM_DAYS);
	if (req->cmds & CMD_CONFIRMED)
		rc = request_piece(p, l, (req->cmds & CMD_SUBSCRIBE) ?
		    PIECE_CONFIRM_JOIN : (req->cmds & CMD_UNSUBSCRIBE) ?
		    PIECE_CONFIRM_LEAVE : PIECE_CONFIRM_CHANGES, vars, b);
	if (rc == 0 && reads)
		rc = request_piece(p, l, PIECE_CONFIRM_ANSWER, vars, b);
done:
	buf_free(&payload);
	buf_free(&one);
	return rc;
}

struct auditlines {
	struct pipeline		*p;
	const struct list_cfg	*l;
	struct buf		*b;
	int			 level, renumbered;
	long long		 shown;		/* entries listed */
	long long		 last;		/* the last one, as numbered */
	unsigned char		 hash[32];	/* and its place in the chain */
};

/* request_facts - the state now of the request an entry opened, for disclosure */
static void
request_facts(struct pipeline *p, const struct audit_entry *e, struct disclosure_request *rq)
{
	long long id = disclosure_audit_request(e);
	struct pending pa;

	memset(rq, 0, sizeof(*rq));
	if (id <= 0 || store_pending_get(p->st, id, &pa) != STORE_OK)
		return;		/* unknown: disclosure shows the least */
	rq->state = disclosure_request_state(pa.state, pa.expires, p->now);
	snprintf(rq->action, sizeof(rq->action), "%s", pa.action);
	free(pa.arg);
}

/* audit_line - one entry, as this reader may read it */
static void
audit_line(const struct audit_entry *e, void *arg)
{
	struct auditlines *a = arg;
	struct audit_entry named = *e;
	struct disclosure_request rq;
	struct audit_view v;
	time_t t = (time_t)e->at;
	struct tm tm;
	char date[32], words[sizeof(v.detail)];
	struct notice_ctx ctx = { a->l->name, a->p->cfg->hostname };

	request_facts(a->p, e, &rq);
	if (!disclosure_audit_listed(a->l, a->level, e, &rq))
		return;
	a->shown++;
	a->last = a->renumbered ? a->shown : e->seq;
	memcpy(a->hash, e->hash, sizeof(a->hash));
	/* an unmasking's pseudonym is stored by reference: named here, hidden where disclosure says */
	audit_resolve(a->p->st, a->l->name, e->detail, named.detail, sizeof(named.detail));
	disclosure_audit_entry(a->l, a->level, &named, &rq, &v);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &tm);
	/* worded after disclosure decided what the reader sees (audit.h) */
	audit_render(a->l->notices, a->p->cfg->notices, &ctx, v.detail, words,
	    sizeof(words));
	buf_printf(a->b, "  %4lld  %s  %-10s %-8s %s\n", a->last, date, v.actor,
	    v.action, words);
}

/* audit_answer - "audit": the leadership's log, as far as disclosure allows this reader */
static int
audit_answer(struct pipeline *p, const struct list_cfg *l, int level, struct buf *b)
{
	struct auditlines a = { p, l, b, level,
	    disclosure_audit_renumbered(l, level), 0, 0, { 0 } };
	struct audit_check chk;
	char fp[20] = "", nseq[24];
	const char *vars[] = { "seq", nseq, "fingerprint", fp, "why", chk.why,
	    NULL };

	if (!disclosure_audit(l, level))
		return request_piece(p, l, PIECE_AUDIT_HIDDEN, NULL, b);
	if (request_piece(p, l, PIECE_AUDIT, NULL, b) < 0 ||
	    store_audit_each(p->st, l->name, audit_line, &a) < 0)
		return -1;
	/* said whether or not anything was left out: it tells nothing */
	if (a.renumbered &&
	    request_piece(p, l, PIECE_AUDIT_ROLES_HIDDEN, NULL, b) < 0)
		return -1;
	if (audit_verify(p->st, p->cfg->state_dir, l->name, &chk) != 0)
		return request_piece(p, l, PIECE_AUDIT_BROKEN, vars, b);
	if (request_piece(p, l, PIECE_AUDIT_VERIFIES, NULL, b) < 0)
		return -1;
	/* the last entry shown: its hash covers all before it, shown or not */
	if (a.shown > 0) {
		sodium_bin2hex(fp, sizeof(fp), a.hash, 8);
		snprintf(nseq, sizeof(nseq), "%lld", a.last);
		if (request_piece(p, l, PIECE_AUDIT_LAST, vars, b) < 0)
			return -1;
	}
	return buf_puts(b, "\n") < 0 ? -1 : 0;
}

/* help_text - what a member can do by mail: the help notice's text; -1 none */
static int
help_text(struct pipeline *p, const struct list_cfg *l, struct buf *b)
{
	struct buf subject, body;
	int rc;

	buf_init(&subject, 0);
	buf_init(&body, 0);
	rc = distribute_render(p, l, NOTICE_HELP, NULL, &subject, &body) < 0 ||
	    buf_printf(b, "%s\n", buf_cstr(&body)) < 0 ? -1 : 0;
	buf_free(&subject);
	buf_free(&body);
	return rc;
}

/* send_answer - the request-answer notice around the answers in b */
static int
send_answer(struct pipeline *p, const struct list_cfg *l, const char *to, struct buf *b,
    const char *replyto, const struct buf *attach)
{
	const char *vars[] = { "answers", buf_cstr(b), NULL };

	return distribute_notice_tmpl(p, l, to, NOTICE_REQUEST_ANSWER, vars, ENV_NULL, replyto,
	    attach);
}

/*
 * send_key_answer - the answer with the list's OpenPGP key attached
 * (application/pgp-keys, as clients attach keys) and in an Autocrypt
 * header, multipart/signed by that key (#18: a pseudonym's key in it is
 * seen to come from the list), to members and strangers alike
 */
static int
send_key_answer(struct pipeline *p, const struct list_cfg *l, const char *to,
    struct buf *b, const char *replyto, const struct buf *key,
    const char *name, const struct buf *autocrypt)
{
	const char *vars[] = { "answers", buf_cstr(b), NULL };
	char head[300];
	struct buf extra;
	struct dfile f = { key, head, 1 };
	int rc;

	snprintf(head, sizeof(head), "Content-Type: application/pgp-keys; "
	    "name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\n",
	    name, name);
	buf_init(&extra, 0);
	buf_puts(&extra, replyto);
	buf_append(&extra, autocrypt->data, autocrypt->len);
	rc = distribute_notice_tmpl_file(p, l, to, NOTICE_REQUEST_ANSWER, vars,
	    ENV_NULL, buf_cstr(&extra), &f);
	buf_free(&extra);
	return rc;
}

/*
 * key_text - an armoured key into the answer's text, its lines ending in
 * LF as the text's do (librnp's armour ends them in CRLF, which the
 * notice would make CR CR LF: a bare CR that breaks the answer's OpenPGP
 * signature in Thunderbird, which reads line ends as CRLF)
 */
static int
key_text(struct buf *b, const struct buf *key)
{
	for (size_t i = 0; i < key->len; i++)
		if (key->data[i] != '\r' && buf_putc(b, key->data[i]) < 0)
			return -1;
	return buf_puts(b, "\n");
}

/* what retired_key appends to */
struct retired {
	struct pipeline		*p;
	const struct list_cfg	*l;
	struct buf		*b;
	int			 rc;
};

/* retired_key - an earlier key of the pseudonym, revoked (pgprotate.c) */
static void
retired_key(const char *fpr, long long when, const struct buf *key,
    void *arg)
{
	struct retired *r = arg;
	char date[32];
	const char *vars[] = { "fingerprint", fpr, "date", date, NULL };
	time_t t = (time_t)when;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%d", &tm) == 0 ||
	    request_piece(r->p, r->l, PIECE_PSEUDONYM_KEY_RETIRED, vars,
	    r->b) < 0 || key_text(r->b, key) < 0)
		r->rc = -1;
}

/*
 * pseud_key_answer - "keys NAME": the pseudonym's OpenPGP key (and its
 * earlier keys, revoked as superseded), for members only; anyone else
 * gets one text whatever NAME is, so that the answer tells no outsider
 * which pseudonyms exist
 */
static int
pseud_key_answer(struct pipeline *p, const struct list_cfg *l, int level,
    const char *name, struct buf *b)
{
	char fpr[OPENPGP_FPR_SIZE] = "";
	const char *vars[] = { "name", name, "fingerprint", fpr, NULL };
	struct buf key;
	int rc;

	if (level < READER_MEMBER)
		return refused(p, l, PIECE_PSEUDONYM_KEY_MEMBERS, NULL, b);
	buf_init(&key, 0);
	if ((rc = sign_pseudonym_public(p->st, l, name, &key, fpr)) < 0) {
		buf_free(&key);
		return -1;
	}
	if (rc == 0)
		rc = request_piece(p, l, PIECE_PSEUDONYM_KEY_NONE, vars, b);
	else if ((rc = request_piece(p, l, PIECE_PSEUDONYM_KEY, vars,
	    b)) == 0) {
		struct retired r = { p, l, b, 0 };

		if (key_text(b, &key) < 0 ||
		    pgprotate_retired_each(p->st, l, name, retired_key, &r) < 0)
			rc = -1;
		else
			rc = r.rc;
	}
	buf_free(&key);
	return rc < 0 ? -1 : 0;
}

/*
 * an answer's parts: its text, an archived post asked for, and the list's
 * OpenPGP key with its Autocrypt form
 */
struct answer_parts {
	struct buf	 text;
	struct buf	 post;
	struct buf	 pgpkey;
	struct buf	 autocrypt;
};

/*
 * answer_send - the reply to the commands in req, at this reader's level,
 * built in a and sent; -1 on an error. The caller frees a.
 */
static int
answer_send(struct pipeline *p, const struct list_cfg *l, const char *to,
    const struct request *req, int sure, int level, long long since,
    struct answer_parts *a)
{
	unsigned cmds = req->cmds;
	char replyto[400] = "";	/* "Reply-To: <CONFIRM>": key_request's 300 */
	struct buf *b = &a->text;
	struct keytext k = { b, p->cfg->hostname, "", "" };
	char sel[SELECTOR_MAX];
	unsigned char seed[DKIM_SEED_LEN];
	char pgpname[64] = "", pgpfpr[OPENPGP_FPR_SIZE] = "";
	const char *pgpvars[] = { "file", pgpname, "fingerprint", pgpfpr,
	    NULL };
	unsigned reads;
	int rc;

	if (!sure && (cmds & ~CMD_HELP) &&
	    request_piece(p, l, PIECE_UNVERIFIED, NULL, b) < 0)
		return -1;
	if ((cmds & CMD_AUDIT) && audit_answer(p, l, level, b) < 0)
		return -1;
	if ((cmds & CMD_WHO) && who_answer(p, l, level, b) < 0)
		return -1;
	if ((cmds & (CMD_ARCHIVE_INDEX | CMD_ARCHIVE_GET)) &&
	    archive_answer(p, l, req, level, since, b, &a->post) < 0)
		return -1;
	reads = sure ? 0 : cmds & CMD_READS;
	if (((cmds & CMD_CONFIRMED) || reads) &&
	    confirm_batch(p, l, to, req, reads, b, replyto,
	    sizeof(replyto)) < 0)
		return -1;
	if (cmds & CMD_KEY) {
		char confirm[300];

		if (key_request(p, l, to, req->key, b, confirm,
		    sizeof(confirm)) < 0)
			return -1;
		if (*confirm)
			snprintf(replyto, sizeof(replyto), "Reply-To: <%s>\r\n",
			    confirm);
	}
	/* "key", or a key riding on "subscribe" where the list takes them */
	if ((cmds & CMD_PGPKEY) || ((cmds & CMD_SUBSCRIBE) &&
	    l->subscription != SUB_CLOSED)) {
		unsigned how = ((cmds & CMD_PGPKEY) ? PGPIN_ASKED : 0) |
		    ((cmds & CMD_SUBSCRIBE) ? PGPIN_SUBSCRIBING : 0) |
		    (sure ? PGPIN_SURE : 0);

		if ((req->pgpcancel ? pgpin_key_cancel(p, l, to, how, b) :
		    pgpin_key_request(p, l, to, req->msg, req->msglen, how,
		    b)) < 0)
			return -1;
	}
	if ((cmds & CMD_KEYS) && *req->keyname &&
	    pseud_key_answer(p, l, level, req->keyname, b) < 0)
		return -1;
	if (cmds & CMD_KEYS) {
		if (listkey_get(p->st, l->name, sel, sizeof(sel), seed) < 0)
			return -1;
		sodium_memzero(seed, sizeof(seed));
		if (request_piece(p, l, PIECE_KEYS, NULL, b) < 0 ||
		    request_piece_line(p, l, PIECE_KEYS_ACTIVE, k.active,
		    sizeof(k.active)) < 0 || request_piece_line(p, l,
		    PIECE_KEYS_OLDER, k.older, sizeof(k.older)) < 0)
			return -1;
		store_keys_each(p->st, l->name, key_line, &k);
		if (request_piece(p, l, PIECE_KEYS_CHECK, NULL, b) < 0 ||
		    listpgp_answer(p->st, l->name, p->cfg->hostname, pgpfpr,
		    &a->pgpkey, pgpname, sizeof(pgpname), &a->autocrypt) < 0 ||
		    request_piece(p, l, PIECE_KEYS_OPENPGP, pgpvars, b) < 0)
			return -1;
		{
			unsigned char rs[32], rpk[32], rsk[64];
			char fp[64];
			const char *rv[] = { "fingerprint", fp, NULL };

			sign_role_seed(p, l, rs);
			crypto_sign_seed_keypair(rpk, rsk, rs);
			sodium_memzero(rs, sizeof(rs));
			sodium_memzero(rsk, sizeof(rsk));
			author_fingerprint(rpk, fp, sizeof(fp));
			rc = request_piece(p, l, PIECE_KEYS_ROLE, rv, b);
		}
		if (rc < 0)
			return -1;
	}
	/* help alone: the help notice as it is */
	if (cmds == CMD_HELP && !*replyto && !a->post.len)
		rc = distribute_notice_tmpl(p, l, to, NOTICE_HELP, NULL, ENV_NULL, "", NULL);
	else if ((cmds & CMD_HELP) && help_text(p, l, b) < 0)
		rc = -1;
	else if (a->pgpkey.len && !a->post.len)	/* one attachment: a post wins */
		rc = send_key_answer(p, l, to, b, replyto, &a->pgpkey, pgpname,
		    &a->autocrypt);
	else
		rc = send_answer(p, l, to, b, replyto,
		    a->post.len ? &a->post : NULL);
	return rc;
}

/* answer - the reply to the commands in req, at this reader's level */
static int
answer(struct pipeline *p, const struct list_cfg *l, const char *to,
    const struct request *req, int sure, int level, long long since)
{
	struct answer_parts a;
	int rc;

	buf_init(&a.text, 0);
	buf_init(&a.post, 0);
	buf_init(&a.pgpkey, 0);
	buf_init(&a.autocrypt, 0);
	rc = answer_send(p, l, to, req, sure, level, since, &a);
	buf_free(&a.text);
	buf_free(&a.post);
	buf_free(&a.pgpkey);
	buf_free(&a.autocrypt);
	return rc;
}

/*
 * answer_budget - may the answer to a claim go out? A change the member
 * confirms from their own registered address (own) comes from the
 * members' confirmations, as a post's confirmation does: strangers
 * spending the instance's answers must not stop a member leaving.
 * 1 yes, 0 withheld, -1 store error.
 */
static int
answer_budget(struct pipeline *p, const struct list_cfg *l,
    const struct authn *au, const char *to, int own)
{
	struct member m;
	int rc, reply, confirm;

	if (authn_vouches(au, to) || !own)
		return authn_may_reply(p, au, to);
	if ((rc = store_member_find(p->st, l->name, to, &m)) == STORE_ERR)
		return -1;
	if (rc == STORE_OK)
		member_free(&m);
	/*
	 * both budgets are spent whoever `to` is: a stranger who used up
	 * one would otherwise learn, by whether her own next answer came,
	 * whether the claims she forged named a member
	 */
	reply = authn_may_reply(p, au, to);
	confirm = authn_may_confirm(p, au, to);
	return rc == STORE_OK ? confirm : reply;
}

/*
 * request_sender - may this -request mail be answered, and is its envelope
 * sender (where every answer goes) who the list believes sent it? An
 * unauthenticated claim is answered as anyone is answered (so the answer
 * cannot tell a member from a moderator or from nobody) and within the
 * backscatter budget (own: a change a member confirms, within the
 * members'). 1 answer (*sure
 * set), 0 withheld (logged), -1 DNS or the store cannot answer now (cause
 * in why: the mail waits).
 */
static int
request_sender(struct pipeline *p, const struct list_cfg *l,
    const struct envelope *e, const struct buf *msg, int own, int *sure,
    struct why *why)
{
	struct authn au;
	int rc;

	*sure = 0;
	if (authn_check(p, e, msg, &au, why) != OK)
		return -1;
	/* per address, relay.c counts -request answers (ten an hour) */
	if ((rc = answer_budget(p, l, &au, e->sender, own)) <= 0) {
		if (rc < 0)
			why_cause(why, "the answer budget",
			    store_errmsg(p->st));
		return rc;
	}
	*sure = authn_vouches(&au, e->sender);
	return 1;
}

/*
 * request_help - the help, after the piece saying why it was sent, to the
 * envelope sender within the backscatter budget (request_sender).
 * 0 sent or withheld, -1 error (cause in why).
 */
int
request_help(struct pipeline *p, const struct list_cfg *l,
    const struct envelope *e, const struct buf *msg, enum piece_id why_sent,
    struct why *why)
{
	struct buf b;
	int rc, sure;

	if ((rc = request_sender(p, l, e, msg, 0, &sure, why)) <= 0)
		return rc;
	buf_init(&b, 0);
	rc = request_piece(p, l, why_sent, NULL, &b) < 0 ||
	    buf_putc(&b, '\n') < 0 || help_text(p, l, &b) < 0 ? -1 :
	    send_answer(p, l, e->sender, &b, "", NULL);
	buf_free(&b);
	if (rc < 0)
		why_cause(why, "request: the help answer", store_errmsg(p->st));
	return rc;
}

/*
 * request_answer - one reply for all the commands in a mail, to its
 * envelope sender. 0 answered or withheld, -1 error (cause in why).
 */
int
request_answer(struct pipeline *p, const struct list_cfg *l,
    const struct envelope *e, const struct buf *msg,
    const struct request *req, struct why *why)
{
	long long since = 0;
	int rc, sure, level;

	if ((rc = request_sender(p, l, e, msg,
	    (req->cmds & CMD_CONFIRMED) != 0, &sure, why)) <= 0)
		return rc;
	/* a claim is not a membership: it is answered as anyone is */
	if (sure)
		level = reader_level(p, l, e->sender, &since);
	else
		level = disclosure_reader(l, NULL, 0, p->now);
	log_info("%s request: list=%s sender=%s", p->qid, l->name,
	    sure ? "authenticated" : "unauthenticated");
	if ((rc = answer(p, l, e->sender, req, sure, level, since)) < 0)
		why_cause(why, "the answer", store_errmsg(p->st));
	return rc;
}

/*
 * request_answer_confirmed - "answer BITS N" from a confirmed token: the
 * read commands of an unverified sender, answered now that their mailbox
 * confirmed, at the level of who they are. 0 sent, -1 error.
 */
int
request_answer_confirmed(struct pipeline *p, const struct list_cfg *l,
    const char *addr, const char *arg)
{
	struct request r;
	long long since;
	unsigned bits;
	int n, level;

	memset(&r, 0, sizeof(r));
	if (sscanf(arg, "%u %d", &bits, &n) != 2)
		return 0;	/* written by request.c: cannot happen */
	r.cmds = bits & CMD_READS;
	r.archive_n = n;
	level = reader_level(p, l, addr, &since);
	return answer(p, l, addr, &r, 1, level, since);
}
