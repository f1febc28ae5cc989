/*
 * plain.c - a waiting message's plaintext, read once for all its passes.
 *
 * A message that waits for its parse (or is left for the turn's second
 * sweep) is handled again from the start: without this, its spool file
 * was opened and decrypted on every pass (#15). Its envelope and
 * plaintext are kept here from the pass that read them to the next one,
 * which takes them (plain_take) and gives them back if it waits again
 * (plain_keep). Kept only while the message waits: dropped, zeroed, when
 * its pass ends otherwise, when a turn's listing no longer shows it, and
 * past PLAIN_MAX bytes in all (the next pass reads the file again).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "qmgr/plain.h"

/* at most so many bytes of plaintext kept at once */
#define PLAIN_MAX	(64 * 1024 * 1024)

struct plain {
	struct plain	*next;
	char		 qid[QID_LEN + 1];
	struct envelope	 e;
	struct buf	 msg;
	int		 seen;	/* listed in this turn */
};

static struct plain *kept;
static size_t kept_bytes;

/* plain_wipe - a message's plaintext zeroed and freed, its envelope too */
void
plain_wipe(struct envelope *e, struct buf *msg)
{
	if (msg->data)
		sodium_memzero(msg->data, msg->cap);
	buf_free(msg);
	envelope_free(e);
}

/* unlink_qid - the record of qid out of the list, or NULL */
static struct plain *
unlink_qid(const char *qid)
{
	for (struct plain **pp = &kept; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->qid, qid) == 0) {
			struct plain *k = *pp;

			*pp = k->next;
			kept_bytes -= k->msg.len;
			return k;
		}
	return NULL;
}

/* plain_take - the kept envelope and plaintext of qid moved out: 1, or 0 */
int
plain_take(const char *qid, struct envelope *e, struct buf *msg)
{
	struct plain *k = unlink_qid(qid);

	if (k == NULL)
		return 0;
	*e = k->e;
	*msg = k->msg;
	free(k);
	return 1;
}

/*
 * plain_keep - qid's envelope and plaintext moved here for its next pass:
 * 1 kept (the caller's copies are emptied), 0 not (past PLAIN_MAX, or out
 * of memory: the caller frees them, the next pass reads the file)
 */
int
plain_keep(const char *qid, struct envelope *e, struct buf *msg)
{
	struct plain *k;

	plain_drop(qid);
	if (kept_bytes + msg->len > PLAIN_MAX ||
	    (k = calloc(1, sizeof(*k))) == NULL)
		return 0;
	memcpy(k->qid, qid, strnlen(qid, QID_LEN));
	k->e = *e;
	k->msg = *msg;
	k->seen = 1;
	memset(e, 0, sizeof(*e));
	buf_init(msg, 0);
	kept_bytes += k->msg.len;
	k->next = kept;
	kept = k;
	return 1;
}

/* plain_drop - whatever is kept of qid goes, zeroed */
void
plain_drop(const char *qid)
{
	struct plain *k = unlink_qid(qid);

	if (k == NULL)
		return;
	plain_wipe(&k->e, &k->msg);
	free(k);
}

/* plain_seen - qid is in this turn's listing */
void
plain_seen(const char *qid)
{
	for (struct plain *k = kept; k; k = k->next)
		if (strcmp(k->qid, qid) == 0)
			k->seen = 1;
}

/* plain_turn_begin - a new listing: nothing seen yet */
void
plain_turn_begin(void)
{
	for (struct plain *k = kept; k; k = k->next)
		k->seen = 0;
}

/* plain_turn_end - what the listing did not show is gone: dropped */
void
plain_turn_end(void)
{
	struct plain **pp = &kept, *k;

	while ((k = *pp) != NULL) {
		if (k->seen) {
			pp = &k->next;
			continue;
		}
		*pp = k->next;
		kept_bytes -= k->msg.len;
		plain_wipe(&k->e, &k->msg);
		free(k);
	}
}

/* plain_free_all - at exit: everything, zeroed */
void
plain_free_all(void)
{
	plain_turn_begin();
	plain_turn_end();
}
