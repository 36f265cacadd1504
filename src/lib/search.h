/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search.h - Anki's search language (search-syntax.md, all of it) run on
 * a collection: a query is parsed into a tree (search_parse.h), compiled
 * to one SQLite SELECT whose every value taken from the query is a bound
 * parameter (never spliced into the SQL text), and executed.
 *
 * What the SQL looks like (search-syntax.md §1 step 4):
 *   select c.id from cards c where (...)                    cards only
 *   select n.id from notes n where (...)                    notes only
 *   select c.id from cards c, notes n where c.nid=n.id and (...)
 *   select distinct n.id from cards c, notes n where c.nid=n.id and (...)
 * It relies on the SQL functions and the unicase collation of sqlfn.h,
 * which every collection connection has, plus the FSRS retrievability
 * function registered on demand for prop:r.
 *
 * Errors are Anki's: ST_INVALID with "Invalid search: <reason>" in
 * e->msg (search-syntax.md §9), also for regexes Anki's engine would
 * refuse and for regexes that exceed the PCRE2 match limit while running.
 */
#ifndef ANKIHOST_SEARCH_H
#define ANKIHOST_SEARCH_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col.h"
#include "search_parse.h"
#include "status.h"

enum search_target { SEARCH_NOTES, SEARCH_CARDS };

enum search_param_type { SEARCH_PARAM_INT, SEARCH_PARAM_REAL, SEARCH_PARAM_TEXT };

struct search_param {
	enum search_param_type type;
	int64_t i;
	double r;
	char *text; /* malloc'd, NUL-terminated; len bytes */
	size_t len;
};

/* A compiled search: sql uses ?1..?nparams (params[k] is ?k+1). */
struct search_sql {
	char *sql;
	struct search_param *params;
	size_t nparams;
};

/* Wall-clock budget of search_run; a search still running then is
 * interrupted (ST_INVALID, "Invalid search: the search took too long"). */
#define SEARCH_TIME_LIMIT_MS 30000

/* Compile query for target.  Reads the collection (config, notetypes,
 * decks, presets; dupe: runs its checksum lookup now) but never writes.
 * On success *out owns the SQL and parameters (search_sql_free).
 * Statuses: those of search_parse, ST_INVALID for a bad regex, ST_DB. */
enum status search_compile(struct col *c, const char *query, enum search_target target,
                           struct search_sql *out, struct errinfo *e);

/* The same for an already parsed tree (a GROUP node from search_parse).
 * order_sql (may be NULL) is the ORDER BY the caller will append: when it
 * names "n." or "c." columns those tables are joined too (the rule of
 * Anki's SortMode::Custom). */
enum status search_compile_tree(struct col *c, const struct search_node *tree,
                                enum search_target target, const char *order_sql,
                                struct search_sql *out, struct errinfo *e);

/* search_compile_tree, and when keep is set the statements that read the
 * collection's facts (notetypes, settings, dupe:'s lookup) stay on c's
 * connection for the next search (search_stmt.h: the caller must call
 * search_stmt_release(col_db(c)) before closing c). */
enum status search_compile_tree_kept(struct col *c, const struct search_node *tree,
                                     enum search_target target, const char *order_sql, bool keep,
                                     struct search_sql *out, struct errinfo *e);

void search_sql_free(struct search_sql *s);

/* Bind s's parameters to st (prepared from s->sql, possibly with text
 * appended).  ST_DB on failure. */
enum status search_sql_bind(const struct search_sql *s, sqlite3_stmt *st, struct errinfo *e);

/* Compile and run.  order_sql (trusted SQL from the caller, e.g.
 * "n.sfld collate nocase asc") is appended as "order by <order_sql>";
 * NULL gives ascending ids.  On success *ids (caller frees) holds *n ids.
 * Errors: as search_compile; a regex failing at run time (match limit)
 * or the time budget -> ST_INVALID "Invalid search: ..."; other SQLite
 * errors map through col_sqlite_err. */
enum status search_run(struct col *c, const char *query, enum search_target target,
                       const char *order_sql, int64_t **ids, size_t *n, struct errinfo *e);

/* search_run for a caller that searches often on long-lived connections
 * (anki-connectd): every statement it prepares, the search's own
 * included, stays on c's connection (search_stmt.h), so the next search
 * with the same SQL skips SQLite's parser and planner.  Results are the
 * same as search_run's: only compiled SQL is reused, the collection is
 * read afresh each time.  The caller must call
 * search_stmt_release(col_db(c)) before col_close(c). */
enum status search_run_kept(struct col *c, const char *query, enum search_target target,
                            const char *order_sql, int64_t **ids, size_t *n, struct errinfo *e);

#endif
