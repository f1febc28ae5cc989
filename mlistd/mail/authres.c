/*
 * authres.c - read the verdicts that the MTA in front of mlistd wrote.
 *
 * An Authentication-Results field is a claim like any other header: anyone
 * can write one with our authserv-id before sending. So a field is believed
 * only when (1) its authserv-id is the configured one and (2) it sits in the
 * block the front MTA added: above the first Received: field, counting from
 * the top, or above the (hops+1)-th when `hops` Received: fields of our own
 * relays lie between that MTA and mlistd. That is where OpenDKIM, OpenDMARC
 * and rspamd put their field (on top, after the MTA's own Received: line is
 * written below it); everything below was in the message when it arrived
 * and is ignored, whatever its authserv-id, as RFC 8601 section 5 asks.
 * The parser is a small tokenizer over CFWS, tokens and quoted strings;
 * what it cannot read is dropped, never guessed.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authres.h"

struct lex {
	const char	*p, *end;
};

/* skip_cfws - white space and (nested) comments */
static void
skip_cfws(struct lex *x)
{
	int depth = 0;

	while (x->p < x->end) {
		char c = *x->p;

		if (depth && c == '\\' && x->p + 1 < x->end)
			x->p++;
		else if (c == '(')
			depth++;
		else if (c == ')' && depth)
			depth--;
		else if (!depth && !isspace((unsigned char)c))
			return;
		x->p++;
	}
}

/* special - characters that end a token here */
static int
special(char c)
{
	return strchr(";=./()\"", c) != NULL || isspace((unsigned char)c) || c == 0;
}

/* word - a token or quoted string into out (lower-cased if low); -1 if none */
static int
word(struct lex *x, char *out, size_t ol, int low)
{
	size_t o = 0;

	skip_cfws(x);
	if (x->p < x->end && *x->p == '"') {
		for (x->p++; x->p < x->end && *x->p != '"'; x->p++) {
			if (*x->p == '\\' && x->p + 1 < x->end)
				x->p++;
			if (o + 1 < ol)
				out[o++] = *x->p;
		}
		if (x->p >= x->end)
			return -1;
		x->p++;
	} else {
		/* '.' and '/' belong to a value (a domain, an address), not to a keyword */
		while (x->p < x->end && (!special(*x->p) || (!low && (*x->p == '.' || *x->p == '/')))) {
			if (o + 1 < ol)
				out[o++] = low ? (char)tolower((unsigned char)*x->p) : *x->p;
			x->p++;
		}
		if (o == 0)
			return -1;
	}
	out[o] = 0;
	return 0;
}

/* expect - the next character after CFWS is c */
static int
expect(struct lex *x, char c)
{
	skip_cfws(x);
	if (x->p < x->end && *x->p == c) {
		x->p++;
		return 0;
	}
	return -1;
}

/* skip_resinfo - to the next ';' (what we do not understand is dropped) */
static void
skip_resinfo(struct lex *x)
{
	while (x->p < x->end && *x->p != ';') {
		if (*x->p == '"' || *x->p == '(') {
			char tmp[2];

			if (*x->p == '(')
				skip_cfws(x);
			else if (word(x, tmp, sizeof(tmp), 0) < 0)
				return;
			continue;
		}
		x->p++;
	}
}

/* property - "ptype.property=pvalue" into the item */
static int
property(struct lex *x, struct authres_item *it)
{
	char ptype[32], prop[32], val[256];

	if (word(x, ptype, sizeof(ptype), 1) < 0 || expect(x, '.') < 0 ||
	    word(x, prop, sizeof(prop), 1) < 0 || expect(x, '=') < 0 ||
	    word(x, val, sizeof(val), 0) < 0)
		return -1;
	if (strcmp(ptype, "header") == 0 && strcmp(prop, "d") == 0)
		snprintf(it->header_d, sizeof(it->header_d), "%s", val);
	else if (strcmp(ptype, "header") == 0 && strcmp(prop, "from") == 0)
		snprintf(it->header_from, sizeof(it->header_from), "%s", val);
	return 0;
}

/* resinfo - "method[/version] = result [reason=...] [props...]" */
static int
resinfo(struct lex *x, struct authres_item *it)
{
	char tmp[256];

	memset(it, 0, sizeof(*it));
	if (word(x, it->method, sizeof(it->method), 1) < 0)
		return -1;
	if (expect(x, '/') == 0 && word(x, tmp, sizeof(tmp), 1) < 0)
		return -1;
	if (expect(x, '=') < 0 || word(x, it->result, sizeof(it->result), 1) < 0)
		return -1;
	for (;;) {
		skip_cfws(x);
		if (x->p >= x->end || *x->p == ';')
			return 0;
		if (x->end - x->p > 6 && strncasecmp(x->p, "reason", 6) == 0 && special(x->p[6])) {
			x->p += 6;
			if (expect(x, '=') < 0 || word(x, tmp, sizeof(tmp), 0) < 0)
				return -1;
			continue;
		}
		if (property(x, it) < 0)
			return -1;
	}
}

/*
 * authres_parse - one field value; 0 and at least the authserv-id when it
 * reads, -1 otherwise. A result that does not parse ends the field: what
 * came before it is kept, nothing after it is trusted.
 */
int
authres_parse(const char *v, size_t n, struct authres *ar)
{
	struct lex x = { v, v + n };
	char tmp[64];

	memset(ar, 0, sizeof(*ar));
	if (word(&x, ar->authserv_id, sizeof(ar->authserv_id), 0) < 0)
		return -1;
	skip_cfws(&x);
	if (x.p < x.end && isdigit((unsigned char)*x.p) && word(&x, tmp, sizeof(tmp), 0) < 0)
		return -1;	/* authres-version */
	while (expect(&x, ';') == 0) {
		struct authres_item it;

		if (ar->n == AUTHRES_MAX)
			break;
		if (resinfo(&x, &it) < 0)
			break;
		if (strcmp(it.method, "none") != 0)
			ar->r[ar->n++] = it;
		skip_resinfo(&x);
	}
	return 0;
}

/*
 * authres_trusted - the fields our front MTA added with authserv_id, up to
 * max; how many. *ignored counts fields with that id found further down,
 * which arrived from outside (worth a log line: somebody tried).
 */
int
authres_trusted(const struct hdr *h, const char *id, int hops, struct authres *out, int max,
    int *ignored)
{
	int n = 0, received = 0;

	*ignored = 0;
	if (!id || !id[0])
		return 0;
	for (int i = 0; i < h->n; i++) {
		struct authres ar;

		if (hdr_is(&h->f[i], "Received")) {
			received++;
			continue;
		}
		if (!hdr_is(&h->f[i], "Authentication-Results") ||
		    authres_parse(h->f[i].value, h->f[i].vlen, &ar) < 0 ||
		    strcasecmp(ar.authserv_id, id) != 0)
			continue;
		if (received > hops)
			(*ignored)++;
		else if (n < max)
			out[n++] = ar;
	}
	return n;
}
