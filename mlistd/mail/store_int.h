/*
 * store_int.h - what the store_*.c files share and nobody else sees: the
 * store handle and the statement helpers. Callers outside mail/store*.c
 * include store.h only; no SQL leaves these files.
 */
#ifndef MLIST_STORE_INT_H
#define MLIST_STORE_INT_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

#define STORE_CACHE	256	/* more distinct statements than the store has */

struct store {
	sqlite3		*db;
	const struct keys *keys;
	/*
	 * prepared statements, kept for the next call with the same SQL text
	 * (st_prep / st_done): a fan-out or a delivery run runs the same few
	 * statements thousands of times
	 */
	struct st_cached {
		char		*sql;
		sqlite3_stmt	*s;
		int		 busy;
	}		 cache[STORE_CACHE];
	int		 failed;	/* the last call failed (store_failed) */
	char		 cause[160];	/* why, when SQLite does not know ("": ask SQLite) */
	unsigned	 removals;	/* members removed (store_removals) */
	int		 wal_frames;	/* in the log, not checkpointed */
	int		 wal_max;	/* a commit beyond it checkpoints */
	struct st_ckpt	*ckpt;		/* the checkpoint thread, or NULL */
};

/* the checkpoint thread (store_ckpt.c) */
struct st_ckpt;
void	st_ckpt_ask(struct st_ckpt *, int *copied, int *failed);
void	st_ckpt_free(struct st_ckpt *, int started);

/*
 * SQL_LEADS - "this member leads the list" (a moderator or an owner), as
 * SQL over the role column col: role_leads() in C, the one place in SQL
 */
#define SQL_LEADS(col)	"(" col " <> 'member')"

/* the columns st_member_row reads, in its order */
#define MEMBER_COLS "id, addr, name, role, nomail, digest, bounce_score, " \
	"created, pseudonym, handle_seal, identity, list, addr_hash"

int	st_exec(struct store *, const char *sql);
int	st_migration_index(const char *mark);
int	st_migration_with(const char *part);
int	st_pseudonym_give_up(struct store *, const char *list,
	    const char *addr);
sqlite3_stmt *st_prep(struct store *, const char *sql);
sqlite3_stmt *st_prep_bind(struct store *, const char *sql, const char *fmt,
    ...);
sqlite3_stmt *st_prep_member(struct store *, const char *sql, const char *list,
    const char *addr);
int	st_step_done(struct store *, sqlite3_stmt *);
int	st_step_if(struct store *, sqlite3_stmt *, int bound);
int	st_step_row(struct store *, sqlite3_stmt *);
long long st_step_id(struct store *, sqlite3_stmt *);
long long st_step_scalar(struct store *, sqlite3_stmt *, long long dflt);
int	st_hide_version(void);
void	st_done(struct store *, sqlite3_stmt *);
long long st_scalar(struct store *, const char *sql, const char *a,
	    const char *b, long long dflt);
int	st_hashed(struct store *, const char *sql, const char *list,
	    const char *addr, long long n);
long long st_hashed_scalar(struct store *, const char *sql, const char *list,
	    const char *addr, long long n);
int	st_bind_hash(struct store *, sqlite3_stmt *, int col, const char *list,
	    const char *addr);
int	st_bind_tagged(struct store *, sqlite3_stmt *, int col,
	    const char *list, const char *tag, const char *text);
sqlite3_stmt *st_prep_tagged(struct store *, const char *sql,
	    const char *list, const char *tag, const char *text);
int	st_hide_rows(struct store *, struct buf *err);
int	st_count_add(struct store *, const char *list, const char *addr,
	    long long day, long long n);
/*
 * Sealed fields: each is bound to its place (st_place: "table.column" and
 * the parts of the row's stable key) as AEAD associated data. To seal or
 * open one, build its place first - from the values (st_place and
 * st_place_text/_int/_hash) or from result columns (st_place_cols) - the
 * same parts in the same order on both sides.
 */
struct st_place {
	unsigned char	 ad[600];
	size_t		 len;
	int		 bad;		/* it did not fit: sealing and opening fail */
};

void	st_place(struct st_place *, const char *field);
int	st_step_sealed(struct store *, sqlite3_stmt *, int, const char *,
	    const struct st_place *);
void	st_place_tagged(struct store *, struct st_place *, const char *list,
	    const char *tag, const char *text);
int	st_bind_sealed_int(struct store *, sqlite3_stmt *, int col,
	    long long v, const struct st_place *);
void	st_place_add(struct st_place *, const void *, size_t);
void	st_place_text(struct st_place *, const char *);
void	st_place_int(struct st_place *, long long);
void	st_place_hash(struct store *, struct st_place *, const char *list,
	    const char *addr);
void	st_place_cols(struct st_place *, sqlite3_stmt *, const char *field,
	    int first, int n);
int	st_bind_sealed(struct store *, sqlite3_stmt *, int col,
	    const char *text, const struct st_place *);
int	st_bind_sealed_bytes(struct store *, sqlite3_stmt *, int col,
	    const void *, size_t, const struct st_place *);
int	st_opened(struct store *, sqlite3_stmt *, int col, char **out,
	    const struct st_place *);
int	st_opened_bytes(struct store *, sqlite3_stmt *, int col, struct buf *out,
	    const struct st_place *);
int	st_bind_sealed_blob(struct store *, sqlite3_stmt *, int col,
	    const void *, size_t, const struct st_place *);
int	st_opened_blob(struct store *, sqlite3_stmt *, int col, struct buf *,
	    const struct st_place *);
void	st_fail(struct store *, const char *cause);
int	st_db_fail(struct store *);
char	*st_column_opened(struct store *, sqlite3_stmt *, int col,
	    const struct st_place *);
char	*st_one_opened(struct store *, sqlite3_stmt *, const char *field,
	    int first, int n);
int	st_member_row(struct store *, sqlite3_stmt *, struct member *);
int	st_member_rows(struct store *, sqlite3_stmt *, store_member_fn, void *);

#endif
