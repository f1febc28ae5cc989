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
};

/*
 * SQL_LEADS - "this member leads the list" (a moderator or an owner), as
 * SQL over the role column col: role_leads() in C, the one place in SQL
 */
#define SQL_LEADS(col)	"(" col " <> 'member')"

/* the columns st_member_row reads, in its order */
#define MEMBER_COLS "id, addr, name, role, nomail, digest, bounce_score, " \
	"created, pseudonym, handle, identity"

int	st_exec(struct store *, const char *sql);
sqlite3_stmt *st_prep(struct store *, const char *sql);
int	st_step_done(struct store *, sqlite3_stmt *);
void	st_done(struct store *, sqlite3_stmt *);
long long st_scalar(struct store *, const char *sql, const char *a,
	    const char *b, long long dflt);
int	st_hashed(struct store *, const char *sql, const char *list,
	    const char *addr, long long n);
long long st_hashed_scalar(struct store *, const char *sql, const char *list,
	    const char *addr, long long n);
void	st_bind_hash(struct store *, sqlite3_stmt *, int col, const char *list,
	    const char *addr);
void	st_bind_tagged(struct store *, sqlite3_stmt *, int col,
	    const char *list, const char *tag, const char *text);
int	st_bind_sealed(struct store *, sqlite3_stmt *, int col,
	    const char *text);
int	st_opened(struct store *, sqlite3_stmt *, int col, char **out);
int	st_bind_sealed_blob(struct store *, sqlite3_stmt *, int col,
	    const void *, size_t);
int	st_opened_blob(struct store *, sqlite3_stmt *, int col, struct buf *);
void	st_fail(struct store *, const char *cause);
int	st_db_fail(struct store *);
char	*st_column_opened(struct store *, sqlite3_stmt *, int col);
char	*st_one_opened(struct store *, sqlite3_stmt *);
int	st_member_row(struct store *, sqlite3_stmt *, struct member *);

#endif
