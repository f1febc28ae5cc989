/*
 * pseudonym.c - the names members post under on pseudonymous lists.
 *
 * A pseudonym is shown in every copy's From display name, so it must be
 * harmless there and must not be mistaken for anyone else's:
 *  - valid UTF-8, 2 to 40 characters, no control or format characters
 *    (zero-width joiners, bidi overrides), nothing a header parser would
 *    read as structure ("<>@\,;:[]" and quotes), nothing that looks like an
 *    address or a web address, no "via" (the list adds that);
 *  - not a role ("moderator", "owner", "postmaster", ...);
 *  - unique per list ignoring case and look-alikes: the comparison key is
 *    ICU's confusable skeleton (UTS #39) of the case-folded name, so
 *    "Rosa", "ROSA" and "Rоsa" (Cyrillic o) are one name. Only a keyed hash
 *    of the skeleton is stored.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unicode/uchar.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "pseudonym.h"

#define PSEUDONYM_CHARS_MAX	40

static const char *const reserved[] = {
	"moderator", "moderators", "owner", "owners", "admin", "administrator", "postmaster",
	"abuse", "root", "list", "listmaster", "mlistd", "anonymous", "nobody", "mailer-daemon",
	"system", "staff", "leadership", "mod", NULL
};

/* fold_skeleton - case-folded confusable skeleton of s (UTF-8), or -1 */
static int
fold_skeleton(const char *s, char *out, size_t n)
{
	UErrorCode err = U_ZERO_ERROR;
	UChar u[128], f[256], sk[512];
	int32_t ul = 0, fl, kl;
	USpoofChecker *sc;

	u_strFromUTF8(u, 128, &ul, s, -1, &err);
	if (U_FAILURE(err))
		return -1;
	fl = u_strFoldCase(f, 256, u, ul, U_FOLD_CASE_DEFAULT, &err);
	if (U_FAILURE(err) || (sc = uspoof_open(&err)) == NULL || U_FAILURE(err))
		return -1;
	kl = uspoof_getSkeleton(sc, 0, f, fl, sk, 512, &err);
	uspoof_close(sc);
	if (U_FAILURE(err))
		return -1;
	/* the skeleton of a folded string may hold capitals again ("rn" -> "m" etc. are lower) */
	fl = u_strFoldCase(f, 256, sk, kl, U_FOLD_CASE_DEFAULT, &err);
	if (U_FAILURE(err))
		return -1;
	u_strToUTF8(out, (int32_t)n, NULL, f, fl, &err);
	return U_FAILURE(err) || err == U_STRING_NOT_TERMINATED_WARNING ? -1 : 0;
}

/* looks_like_address - "a@b", "x.org", "http://", "www." */
static int
looks_like_address(const char *s)
{
	if (strchr(s, '@') || strstr(s, "://") || strcasestr(s, "www."))
		return 1;
	for (const char *p = s; *p; p++)
		if (*p == '.' && p > s && isalnum((unsigned char)p[-1]) && isalpha((unsigned char)p[1]))
			return 1;
	return 0;
}

/* pseudonym_check - 0 if name may be a pseudonym; fills its comparison key */
int
pseudonym_check(const char *name, char *skeleton, size_t sklen, char *why, size_t whylen)
{
	int32_t i = 0, len = (int32_t)strlen(name), chars = 0;
	char sk[512], word[64];
	UChar32 c;

	if (len == 0 || len > 200)
		return snprintf(why, whylen, "a pseudonym has 2 to %d characters", PSEUDONYM_CHARS_MAX), -1;
	while (i < len) {
		U8_NEXT(name, i, len, c);
		if (c < 0)
			return snprintf(why, whylen, "the pseudonym is not valid UTF-8"), -1;
		if (u_iscntrl(c) || u_charType(c) == U_FORMAT_CHAR || u_charType(c) == U_LINE_SEPARATOR ||
		    u_charType(c) == U_PARAGRAPH_SEPARATOR || u_charType(c) == U_UNASSIGNED ||
		    u_charType(c) == U_PRIVATE_USE_CHAR)
			return snprintf(why, whylen, "the pseudonym contains an invisible or control character"), -1;
		if (c < 128 && strchr("<>@\\\",;:[]()=", (int)c))
			return snprintf(why, whylen, "the pseudonym may not contain any of < > @ \\ \" , ; : [ ] ( ) ="), -1;
		chars++;
	}
	if (chars < 2 || chars > PSEUDONYM_CHARS_MAX)
		return snprintf(why, whylen, "a pseudonym has 2 to %d characters", PSEUDONYM_CHARS_MAX), -1;
	if (name[0] == ' ' || name[len - 1] == ' ' || strstr(name, "  "))
		return snprintf(why, whylen, "the pseudonym starts or ends with a space, or has two in a row"), -1;
	if (looks_like_address(name))
		return snprintf(why, whylen, "the pseudonym looks like an e-mail or web address"), -1;
	if (fold_skeleton(name, sk, sizeof(sk)) < 0)
		return snprintf(why, whylen, "the pseudonym cannot be checked for look-alikes"), -1;
	if (strstr(sk, " via ") || strncmp(sk, "via ", 4) == 0)
		return snprintf(why, whylen, "the pseudonym may not contain the word \"via\""), -1;
	for (int r = 0; reserved[r]; r++) {
		if (fold_skeleton(reserved[r], word, sizeof(word)) == 0 && strcmp(sk, word) == 0)
			return snprintf(why, whylen, "\"%s\" is reserved for the list's roles", reserved[r]), -1;
	}
	if (strlen(sk) >= sklen)
		return snprintf(why, whylen, "the pseudonym is too long"), -1;
	memcpy(skeleton, sk, strlen(sk) + 1);
	return 0;
}

/* pseudonym_generate - "Adjective Noun NN": readable, random, never derived from the member */
void
pseudonym_generate(char *out, size_t n)
{
	static const char *const adj[] = {
		"Red", "Quiet", "Swift", "Green", "Bold", "Patient", "Steady", "Bright", "Grey", "Early",
		"Northern", "Southern", "Silver", "Iron", "Amber", "Hidden", "Plain", "Distant", "Calm", "Open"
	};
	static const char *const noun[] = {
		"Heron", "Willow", "Lantern", "River", "Sparrow", "Harbour", "Thistle", "Anvil", "Meadow", "Beacon",
		"Falcon", "Quarry", "Juniper", "Cedar", "Compass", "Badger", "Kestrel", "Orchard", "Pebble", "Bramble"
	};

	snprintf(out, n, "%s %s %u", adj[randombytes_uniform(20)], noun[randombytes_uniform(20)],
	    10 + randombytes_uniform(90));
}

/* handle_generate - 10 random base32 characters: the public name of a private-reply address */
void
handle_generate(char *out, size_t n)
{
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
	size_t i;

	for (i = 0; i + 1 < n && i < 10; i++)
		out[i] = alphabet[randombytes_uniform(32)];
	out[i] = 0;
}
