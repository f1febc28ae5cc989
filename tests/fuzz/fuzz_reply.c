/* fuzz_reply.c - libFuzzer: pipeline/reply.c, what a reply to a token says (anyone may send one). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mlistd/pipeline/reply.h"

/* a moderation answer's words, as moderate.c reads them */
static const struct reply_word moderation[] = {
	{ "approve", REPLY_BARE }, { "reject", REPLY_TEXT }, { "discard", REPLY_BARE },
};

/* check - the answer is a word of the table, and its argument a string inside its buffer */
static void
check(const char *m, size_t size, const struct reply_word *w, size_t n)
{
	char arg[256];
	int i;

	memset(arg, 'x', sizeof(arg));
	i = reply_says(m, size, w, n, arg, sizeof(arg));
	if (i < -1 || i >= (int)n || memchr(arg, 0, sizeof(arg)) == NULL)
		abort();
	i = reply_says(m, size, w, n, NULL, 0);
	if (i < -1 || i >= (int)n)
		abort();
}

/*
 * The input as a whole reply (headers and body), in a buffer of its exact
 * size so that ASan sees any read past it, through every table and the
 * From reader.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *m = malloc(size ? size : 1), from[320];

	if (!m)
		return 0;
	memcpy(m, data, size);
	check(m, size, reply_confirm_words, REPLY_CONFIRM_N);
	check(m, size, reply_vote_words, REPLY_VOTE_N);
	check(m, size, reply_vouch_words, REPLY_VOUCH_N);
	check(m, size, moderation, 3);
	memset(from, 'x', sizeof(from));
	if (reply_from(m, size, from, sizeof(from)) >= 0 && memchr(from, 0, sizeof(from)) == NULL)
		abort();
	free(m);
	return 0;
}
