/* audit.h - the leadership's record: hash-chained, signed by the list, naming roles, never people. */
#ifndef MLIST_AUDIT_H
#define MLIST_AUDIT_H

#include "notices.h"
#include "store.h"

/*
 * A detail is stored as a code and its arguments, "@CODE" then
 * "\tNAME=VALUE" for each (AUDIT_NOTE: how the quorum decided), and worded
 * only when read, by the piece [audit-CODE]: the log is chained and signed,
 * so the words must not be in it, or no list could read it in its language.
 * Entries written before the codes hold an English sentence and stay so.
 */
#define AUDIT_NOTE	"note"

int	audit_append(struct store *, const char *list, long long now, const char *actor, const char *action,
	    const char *detail);
int	audit_append_code(struct store *, const char *list, long long now,
	    const char *actor, const char *action, const char *code,
	    const char *const *vars);
int	audit_code(char *out, size_t n, const char *code,
	    const char *const *vars);
void	audit_render(const struct notices *list, const struct notices *inst,
	    const struct notice_ctx *, const char *detail, char *out, size_t n);
int	audit_entry_hash(const char *list, const struct audit_entry *, unsigned char out[32]);

struct audit_check {
	long long	 entries;
	long long	 bad_seq;	/* first entry that fails (0: none) */
	char		 why[200];
};
int	audit_verify(struct store *, const char *state_dir, const char *list, struct audit_check *);
void	audit_resolve(struct store *, const char *list, const char *detail,
	    char *out, size_t n);
int	audit_head_sync(struct store *, const char *state_dir, const char *list, char *why, size_t);

/*
 * A coded detail taken apart (audit_parse), to be changed and put
 * together again (audit_format): how disclosure.c builds a reader's view.
 */
#define AUDIT_VARS	12
struct audit_detail {
	char	 code[64];
	int	 n;
	char	 name[AUDIT_VARS][32];
	char	 value[AUDIT_VARS][512];
};
int	audit_parse(const char *detail, struct audit_detail *);
const char *audit_get(const struct audit_detail *, const char *name);
void	audit_set(struct audit_detail *, const char *name, const char *value);
void	audit_keep(struct audit_detail *, const char *const *keep);
int	audit_format(const struct audit_detail *, char *out, size_t n);
int	audit_words(const struct notices *list, const struct notices *inst,
	    const struct notice_ctx *, const char *prefix, const char *text,
	    char *out, size_t n);
void	audit_held_words(const struct notices *list,
	    const struct notices *inst, const struct notice_ctx *,
	    const char *reason, char *out, size_t n);
int	audit_wrap(char *out, size_t n, const char *code,
	    const char *const *vars, const char *inner);

#endif
