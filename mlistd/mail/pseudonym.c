/*
 * pseudonym.c - the names members post under on pseudonymous lists.
 *
 * A pseudonym is shown in every copy's From display name, so it must be
 * harmless there and must not be mistaken for anyone else's:
 *  - valid UTF-8, 2 to 40 characters, no control or format characters
 *    (zero-width joiners, bidi overrides), nothing a header parser would
 *    read as structure ("<>@\,;:[]" and quotes), nothing that looks like an
 *    address or a web address;
 *  - none of the list's own words for another author: the words a piece
 *    puts around a name, a code or the list's name ([from-author]'s "via",
 *    [anonymous-name]'s "Anonymous", the moderators' names), as the list
 *    has them configured, so that a pseudonym cannot be read as the list
 *    speaking of someone else however the list words it ("via" in English
 *    where no list is known);
 *  - no letter that renders blank (HANGUL FILLER U+3164 and its halfwidth
 *    U+FFA0, the choseong/jungseong fillers U+115F/U+1160, BRAILLE
 *    PATTERN BLANK U+2800): each is a space no rule would see;
 *  - every kind of space (Zs: NO-BREAK, EN, IDEOGRAPHIC, ...) counts as a
 *    space: none at either end, never two in a row;
 *  - not a role ("moderator", "owner", "postmaster", ...), nor a name with
 *    a role word in it ("demo moderators", "mod-3f9a", "Anonymous 3F9A2C":
 *    the forms the list's own roles and anonymous posts take);
 *  - unique per list ignoring case and look-alikes: the comparison key is
 *    ICU's confusable skeleton (UTS #39) of the name as written, case
 *    folded, then skeleton and fold again. The skeleton comes first: a
 *    capital I is drawn as l (and UTS #39 maps it to l), but folding first
 *    would make it i, so "Red FIy" passed beside "Red Fly". Spaces are one
 *    space in the key; the small palochka U+04CF (a vertical stroke, which
 *    UTS #39 maps to i) is taken as its capital (mapped to l). So "Rosa",
 *    "ROSA", "Rоsa" (Cyrillic o) and "WiIIow"/"Willow" are one name. Only
 *    a keyed hash of the key is stored.
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

#include "config.h"
#include "notices.h"
#include "pseudonym.h"

#define PSEUDONYM_CHARS_MAX	40

/* role words: not in any pseudonym (the list's name is one too) */
static const char *const role_words[] = {
	"moderator", "moderators", "mod", "mods", "owner", "owners", "admin",
	"admins", "administrator", "administrators", "postmaster",
	"listmaster", "anonymous", "mailer-daemon", NULL
};

static const char *const reserved[] = {
	"moderator", "moderators", "owner", "owners", "admin", "administrator", "postmaster",
	"abuse", "root", "list", "listmaster", "mlistd", "anonymous", "nobody", "mailer-daemon",
	"system", "staff", "leadership", "mod", NULL
};

/* is_space - any space character, for the space rules and the key */
static int
is_space(UChar32 c)
{
	return c == ' ' || u_charType(c) == U_SPACE_SEPARATOR;
}

/* blank_letter - a letter or symbol that renders as blank space */
static int
blank_letter(UChar32 c)
{
	return c == 0x3164 || c == 0xffa0 || c == 0x2800 || c == 0x115f ||
	    c == 0x1160;
}

/* key_prepare - s in UTF-16 with every space one ' ' and U+04CF as U+04C0 */
static int32_t
key_prepare(const char *s, UChar *u, int32_t n)
{
	int32_t i = 0, len = (int32_t)strlen(s), k = 0;
	UChar32 c;
	UBool bad = 0;

	while (i < len) {
		U8_NEXT(s, i, len, c);
		if (c < 0)
			return -1;
		if (is_space(c))
			c = ' ';
		else if (c == 0x04cf)
			c = 0x04c0;
		U16_APPEND(u, k, n, c, bad);
		if (bad)
			return -1;
	}
	return k;
}

/* skel_fold - fold(skeleton(in)) into out; its length or -1 */
static int32_t
skel_fold(USpoofChecker *sc, const UChar *in, int32_t len, UChar *out,
    int32_t n)
{
	UErrorCode err = U_ZERO_ERROR;
	UChar sk[512];
	int32_t kl;

	kl = uspoof_getSkeleton(sc, 0, in, len, sk, 512, &err);
	if (U_FAILURE(err))
		return -1;
	kl = u_strFoldCase(out, n, sk, kl, U_FOLD_CASE_DEFAULT, &err);
	return U_FAILURE(err) || kl >= n ? -1 : kl;
}

/*
 * fold_skeleton - the comparison key of s (UTF-8): skeleton, fold, and
 * again (a folded capital may have a skeleton of its own: "MARY" folds
 * to "mary", whose skeleton is "rnary"), or -1
 */
static int
fold_skeleton(const char *s, char *out, size_t n)
{
	UErrorCode err = U_ZERO_ERROR;
	UChar u[256], a[512], b[512];
	int32_t ul, al, bl;
	USpoofChecker *sc;

	if ((ul = key_prepare(s, u, 256)) < 0)
		return -1;
	if ((sc = uspoof_open(&err)) == NULL || U_FAILURE(err))
		return -1;
	al = skel_fold(sc, u, ul, a, 512);
	bl = al < 0 ? -1 : skel_fold(sc, a, al, b, 512);
	uspoof_close(sc);
	if (bl < 0)
		return -1;
	u_strToUTF8(out, (int32_t)n, NULL, b, bl, &err);
	return U_FAILURE(err) || err == U_STRING_NOT_TERMINATED_WARNING ? -1 : 0;
}

/*
 * has_word - does key (a comparison key) hold the word w (its key) whole,
 * between the start, the end, a space, '-', '_', '.' or a digit?
 */
static int
has_word(const char *key, const char *w)
{
	size_t wl = strlen(w);
	const char *p;

	for (p = key; wl && (p = strstr(p, w)) != NULL; p++) {
		int before = p == key || strchr(" -_.", p[-1]) ||
		    isdigit((unsigned char)p[-1]);
		int after = !p[wl] || strchr(" -_.", p[wl]) ||
		    isdigit((unsigned char)p[wl]);

		if (before && after)
			return 1;
	}
	return 0;
}

/* role_word - the role word (or "") key holds, NULL if none */
static const char *
role_word(const char *key, const char *list)
{
	char w[256];

	for (int r = 0; role_words[r]; r++)
		if (fold_skeleton(role_words[r], w, sizeof(w)) == 0 &&
		    has_word(key, w))
			return role_words[r];
	if (list && *list && fold_skeleton(list, w, sizeof(w)) == 0 &&
	    has_word(key, w))
		return list;
	return NULL;
}

/* the pieces whose words around a name, code or list are the list's */
static const enum piece_id worded[] = {
	PIECE_FROM_AUTHOR, PIECE_ANONYMOUS_NAME, PIECE_FROM_MODERATORS,
	PIECE_FROM_MODERATORS_NAMED
};

/*
 * phrase_in - the phrase (a run between marks, its spaces trimmed) if key
 * holds it whole, else NULL
 */
static const char *
phrase_in(const char *key, char *phrase)
{
	char w[256];
	size_t n;

	while (*phrase == ' ')
		phrase++;
	n = strlen(phrase);
	while (n > 0 && phrase[n - 1] == ' ')
		phrase[--n] = 0;
	return n > 0 && fold_skeleton(phrase, w, sizeof(w)) == 0 && *w &&
	    has_word(key, w) ? phrase : NULL;
}

/*
 * list_words - the first of the list's own phrases key holds, into out:
 * each piece rendered with a mark for every name, code and list name (all
 * the pieces can say), the runs between marks its words; 0 none, 1 found
 */
static int
list_words(const char *key, const struct config *cfg,
    const struct list_cfg *l, char *out, size_t n)
{
	static const char *const vars[] = { "name", "\001", "code", "\001",
	    NULL };
	const struct notices *inst = cfg ? cfg->notices : NULL;
	char text[400], *seg, *save;
	const char *found;

	for (size_t i = 0; i < sizeof(worded) / sizeof(worded[0]); i++) {
		if (notice_piece_line(l->notices, inst, worded[i],
		    &(struct notice_ctx){ "\001", "\001" }, vars, text,
		    sizeof(text)) < 0)
			continue;
		for (seg = strtok_r(text, "\001", &save); seg != NULL;
		    seg = strtok_r(NULL, "\001", &save))
			if ((found = phrase_in(key, seg)) != NULL) {
				(void)snprintf(out, n, "%s", found);
				return 1;
			}
	}
	return 0;
}

/*
 * imitates - why sk (a pseudonym's key) reads as the words of list l
 * (cfg NULL: its own pieces only) for another author, into why: 0 it
 * does not, -1 it does
 */
static int
imitates(const char *sk, const struct config *cfg, const struct list_cfg *l,
    char *why, size_t whylen)
{
	char words[400];

	if (l == NULL) {
		/* no list known: the shipped English */
		if (!strstr(sk, " via ") && strncmp(sk, "via ", 4) != 0)
			return 0;
		(void)snprintf(words, sizeof(words), "via");
	} else if (!list_words(sk, cfg, l, words, sizeof(words)))
		return 0;
	(void)snprintf(why, whylen, "the pseudonym may not contain \"%s\": "
	    "the list's words for another author", words);
	return -1;
}

/* space_rules - 0 if no space of any kind starts, ends or doubles name */
static int
space_rules(const char *name)
{
	int32_t i = 0, len = (int32_t)strlen(name);
	int prev = 1, sp = 0;
	UChar32 c;

	while (i < len) {
		U8_NEXT(name, i, len, c);
		sp = c >= 0 && is_space(c);
		if (sp && prev)
			return -1;
		prev = sp;
	}
	return sp ? -1 : 0;
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
	return pseudonym_check_on(name, NULL, NULL, skeleton, sklen, why,
	    whylen);
}

static int check(const char *, const struct config *,
    const struct list_cfg *, int, char *, size_t, char *, size_t);

/*
 * pseudonym_check_on - pseudonym_check, and on list l of cfg (NULL: any)
 * the list's name is a role word too ("demo moderators"), and its pieces'
 * words are the ones a pseudonym may not imitate
 */
int
pseudonym_check_on(const char *name, const struct config *cfg,
    const struct list_cfg *l, char *skeleton, size_t sklen, char *why,
    size_t whylen)
{
	return check(name, cfg, l, 1, skeleton, sklen, why, whylen);
}

/*
 * pseudonym_key - the comparison key a look-up by name uses: its form is
 * checked, not the words of any list. Those were checked when the name
 * was taken, as the list words them, and may have been reworded since:
 * the shipped English rule here found no "Pat via Rome" on a list that
 * says "über", which could so be neither unmasked nor disciplined
 * (attack10c F2). 0, or -1 no name can be this.
 */
int
pseudonym_key(const char *name, char *skeleton, size_t sklen)
{
	char why[160];

	return check(name, NULL, NULL, 0, skeleton, sklen, why, sizeof(why));
}

/*
 * check - pseudonym_check_on's rules; words: the list's words (or the
 * shipped English) too
 */
static int
check(const char *name, const struct config *cfg, const struct list_cfg *l,
    int words, char *skeleton, size_t sklen, char *why, size_t whylen)
{
	const char *list = l ? l->name : NULL;
	const char *role;
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
		if (blank_letter(c))
			return snprintf(why, whylen, "the pseudonym contains "
			    "a character that shows as blank space"), -1;
		if (c < 128 && strchr("<>@\\\",;:[]()=", (int)c))
			return snprintf(why, whylen, "the pseudonym may not contain any of < > @ \\ \" , ; : [ ] ( ) ="), -1;
		chars++;
	}
	if (chars < 2 || chars > PSEUDONYM_CHARS_MAX)
		return snprintf(why, whylen, "a pseudonym has 2 to %d characters", PSEUDONYM_CHARS_MAX), -1;
	if (space_rules(name) < 0)
		return snprintf(why, whylen, "the pseudonym starts or ends with a space, or has two in a row"), -1;
	if (looks_like_address(name))
		return snprintf(why, whylen, "the pseudonym looks like an e-mail or web address"), -1;
	if (fold_skeleton(name, sk, sizeof(sk)) < 0)
		return snprintf(why, whylen, "the pseudonym cannot be checked for look-alikes"), -1;
	if (words && imitates(sk, cfg, l, why, whylen) < 0)
		return -1;
	for (int r = 0; reserved[r]; r++) {
		if (fold_skeleton(reserved[r], word, sizeof(word)) == 0 && strcmp(sk, word) == 0)
			return snprintf(why, whylen, "\"%s\" is reserved for the list's roles", reserved[r]), -1;
	}
	if ((role = role_word(sk, list)) != NULL)
		return snprintf(why, whylen, "\"%s\" is reserved for the "
		    "list's roles, in any name", role), -1;
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
