/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search.c - running a compiled search (search-syntax.md §1 steps 4-6):
 * binding the parameters, ordering (ascending ids unless the caller asks
 * otherwise, §1 step 5), a wall-clock budget, and turning SQLite's
 * complaints about the query (a regex over its PCRE2 match limit, an
 * expression tree too deep) into search errors.
 *
 * The progress handler set here is the connection's only one while the
 * search runs and is removed afterwards; nothing else in the daemon uses
 * one on a collection connection.
 *
 * search_run_kept differs from search_run only in where its statements
 * come from: kept ones (search_stmt.h), found again by their SQL text,
 * so a repeated query shape costs no parsing or planning by SQLite.
 */
#include "search.h"
#include "search_stmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum status search_sql_bind(const struct search_sql *s, sqlite3_stmt *st, struct errinfo *e)
{
	for (size_t i = 0; i < s->nparams; i++) {
		const struct search_param *p = &s->params[i];
		int idx = (int)(i + 1), rc;
		switch (p->type) {
		case SEARCH_PARAM_INT:
			rc = sqlite3_bind_int64(st, idx, p->i);
			break;
		case SEARCH_PARAM_REAL:
			rc = sqlite3_bind_double(st, idx, p->r);
			break;
		default:
			rc = sqlite3_bind_text(st, idx, p->text, (int)p->len, SQLITE_STATIC);
		}
		if (rc != SQLITE_OK)
			return errinfo_set(e, rc == SQLITE_RANGE ? ST_INVALID : ST_DB,
			                   "Invalid search: binding parameter %d: %s", idx,
			                   sqlite3_errstr(rc));
	}
	return ST_OK;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int past_deadline(void *arg)
{
	return mono_ms() > *(const int64_t *)arg;
}

/* SQLITE_ERROR comes from the query itself (a function's error, a too
 * deep expression): the search is at fault, not the database. */
static enum status query_err(sqlite3 *db, int rc, struct errinfo *e)
{
	if (rc == SQLITE_INTERRUPT)
		return errinfo_set(e, ST_INVALID, "Invalid search: the search took too long.");
	if (rc == SQLITE_ERROR || rc == SQLITE_TOOBIG || rc == SQLITE_RANGE)
		return errinfo_set(e, ST_INVALID, "Invalid search: %s", sqlite3_errmsg(db));
	return col_sqlite_err(db, rc, e, "running a search");
}

static enum status run(struct col *c, const char *query, enum search_target target,
                       const char *order_sql, bool keep, int64_t **ids, size_t *n,
                       struct errinfo *e)
{
	*ids = NULL;
	*n = 0;
	struct search_node *tree;
	enum status st = search_parse(query, &tree, e);
	if (st)
		return st;
	struct search_sql q;
	st = search_compile_tree_kept(c, tree, target, order_sql, keep, &q, e);
	search_node_free(tree);
	if (st)
		return st;
	const char *order = order_sql ? order_sql : target == SEARCH_CARDS ? "c.id" : "n.id";
	size_t len = strlen(q.sql) + strlen(order) + 16;
	char *sql = malloc(len);
	if (!sql) {
		search_sql_free(&q);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	snprintf(sql, len, "%s order by %s", q.sql, order);

	sqlite3 *db = col_db(c);
	sqlite3_stmt *stmt = NULL;
	int rc = SQLITE_OK;
	st = search_stmt_get(db, keep ? SEARCH_STMT_QUERY : SEARCH_STMT_ONCE, sql, &stmt, &rc, e);
	free(sql);
	if (st) {
		if (rc != SQLITE_OK && rc != SQLITE_NOMEM)
			st = query_err(db, rc, e);
		search_sql_free(&q);
		return st;
	}
	st = search_sql_bind(&q, stmt, e);

	int64_t deadline = mono_ms() + SEARCH_TIME_LIMIT_MS;
	sqlite3_progress_handler(db, 10000, past_deadline, &deadline);
	size_t cap = 0, cnt = 0;
	int64_t *v = NULL;
	while (!st && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 64;
			int64_t *nv = realloc(v, nc * sizeof *nv);
			if (!nv) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			v = nv;
			cap = nc;
		}
		v[cnt++] = sqlite3_column_int64(stmt, 0);
	}
	if (!st && rc != SQLITE_DONE)
		st = query_err(db, rc, e);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	search_stmt_done(stmt);
	search_sql_free(&q);
	if (st) {
		free(v);
		return st;
	}
	*ids = v;
	*n = cnt;
	return ST_OK;
}

enum status search_run(struct col *c, const char *query, enum search_target target,
                       const char *order_sql, int64_t **ids, size_t *n, struct errinfo *e)
{
	return run(c, query, target, order_sql, false, ids, n, e);
}

enum status search_run_kept(struct col *c, const char *query, enum search_target target,
                            const char *order_sql, int64_t **ids, size_t *n, struct errinfo *e)
{
	return run(c, query, target, order_sql, true, ids, n, e);
}
