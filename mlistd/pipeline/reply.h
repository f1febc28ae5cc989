/* reply.h - what a reply to a token says: one word, or nothing clear. */
#ifndef MLIST_REPLY_H
#define MLIST_REPLY_H

#include <stddef.h>

/* what may follow the word on its line */
enum reply_arg {
	REPLY_BARE,		/* nothing: the line is the word */
	REPLY_TOKEN,		/* nothing, or a token: "confirm TOKEN" */
	REPLY_TEXT		/* nothing, or any text: "reject REASON" */
};

struct reply_word {
	const char	*word;
	enum reply_arg	 arg;
};

/* the words each kind of token understands (a table each, n in *_N) */
extern const struct reply_word reply_confirm_words[];	/* confirm, yes */
#define REPLY_CONFIRM_N		2
extern const struct reply_word reply_vote_words[];	/* approve */
#define REPLY_VOTE_N		1
extern const struct reply_word reply_vouch_words[];	/* vouch */
#define REPLY_VOUCH_N		1

int	reply_says(const char *msg, size_t len, const struct reply_word *,
	    size_t nwords, char *arg, size_t argn);
int	reply_from(const char *msg, size_t len, char *out, size_t n);
struct hdr;
int	reply_from_hdr(const struct hdr *, char *out, size_t n);

#endif
