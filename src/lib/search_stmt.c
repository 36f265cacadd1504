/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search_stmt.c - prepared statements kept on a connection (see
 * search_stmt.h).  The marker at the start of a kept statement's SQL is
 * what finds it again and what search_stmt_release looks for; SQLite
 * keeps the text (sqlite3_sql) exactly as prepared, comment included.
 *
 * Invariants: only statements carrying one of the two markers are ever
 * reused or finalized here; a statement that is running (stepped and not
 * reset) is never handed out twice nor finalized, so nested use of the
 * same SQL gets a second statement.
 */
#include "search_stmt.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Same length, neither a prefix of the other. */
#define MARK_FIXED "/*ah:f*/"
#define MARK_QUERY "/*ah:q*/"
#define MARK_LEN 8

static enum search_stmt_kind kind_of(const char *sql)
{
	if (!sql || strncmp(sql, "/*ah:", 5) != 0)
		return SEARCH_STMT_ONCE;
	if (strncmp(sql, MARK_FIXED, MARK_LEN) == 0)
		return SEARCH_STMT_FIXED;
	if (strncmp(sql, MARK_QUERY, MARK_LEN) == 0)
		return SEARCH_STMT_QUERY;
	return SEARCH_STMT_ONCE;
}

static enum status prep_err(sqlite3 *db, int prc, int *rc, struct errinfo *e)
{
	if (rc)
		*rc = prc;
	if (prc == SQLITE_NOMEM)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	return errinfo_set(e, ST_DB, "preparing a statement: %s", sqlite3_errmsg(db));
}

enum status search_stmt_get(sqlite3 *db, enum search_stmt_kind kind, const char *sql,
                            sqlite3_stmt **out, int *rc, struct errinfo *e)
{
	*out = NULL;
	if (rc)
		*rc = SQLITE_OK;
	int prc;
	if (kind == SEARCH_STMT_ONCE) {
		prc = sqlite3_prepare_v2(db, sql, -1, out, NULL);
		return prc == SQLITE_OK ? ST_OK : prep_err(db, prc, rc, e);
	}
	const char *mark = kind == SEARCH_STMT_FIXED ? MARK_FIXED : MARK_QUERY;
	size_t nq = 0;
	sqlite3_stmt *oldest = NULL;
	for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p; p = sqlite3_next_stmt(db, p)) {
		const char *s = sqlite3_sql(p);
		if (kind_of(s) != kind)
			continue;
		bool busy = sqlite3_stmt_busy(p) != 0;
		if (!busy && strcmp(s + MARK_LEN, sql) == 0) {
			sqlite3_reset(p);
			sqlite3_clear_bindings(p);
			*out = p;
			return ST_OK;
		}
		if (kind == SEARCH_STMT_QUERY) {
			nq++;
			if (!busy)
				oldest = p; /* the list runs from the newest to the oldest */
		}
	}
	if (kind == SEARCH_STMT_QUERY && nq >= SEARCH_STMT_MAX_QUERIES && oldest)
		sqlite3_finalize(oldest);
	size_t n = strlen(sql);
	char *text = malloc(MARK_LEN + n + 1);
	if (!text)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	memcpy(text, mark, MARK_LEN);
	memcpy(text + MARK_LEN, sql, n + 1);
	prc = sqlite3_prepare_v3(db, text, (int)(MARK_LEN + n + 1), SQLITE_PREPARE_PERSISTENT, out,
	                         NULL);
	free(text);
	if (prc != SQLITE_OK) {
		sqlite3_finalize(*out);
		*out = NULL;
		return prep_err(db, prc, rc, e);
	}
	return ST_OK;
}

void search_stmt_done(sqlite3_stmt *st)
{
	if (!st)
		return;
	if (kind_of(sqlite3_sql(st)) == SEARCH_STMT_ONCE) {
		sqlite3_finalize(st);
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int search_stmt_release(sqlite3 *db)
{
	int left = 0;
	sqlite3_stmt *p = sqlite3_next_stmt(db, NULL);
	while (p) {
		sqlite3_stmt *next = sqlite3_next_stmt(db, p);
		if (kind_of(sqlite3_sql(p)) != SEARCH_STMT_ONCE) {
			if (sqlite3_stmt_busy(p))
				left++;
			else
				sqlite3_finalize(p);
		}
		p = next;
	}
	return left;
}

int search_stmt_count(sqlite3 *db)
{
	int n = 0;
	for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p; p = sqlite3_next_stmt(db, p))
		n += kind_of(sqlite3_sql(p)) != SEARCH_STMT_ONCE;
	return n;
}
