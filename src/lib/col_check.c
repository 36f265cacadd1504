/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_check.c - read-only consistency checks (issue: "a check that reports
 * what is wrong ... without changing anything").  Each check is one query
 * whose rows are the problems; the value ranges are those Anki enforces
 * when reading (collection-format.md §1.4).
 */
#include "col_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_model.h"
#include "col_proto.h"
#include "col_store.h"
#include "text.h"

static enum status add(struct col_check_report *r, struct errinfo *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum status add(struct col_check_report *r, struct errinfo *e, const char *fmt, ...)
{
	r->nproblems++;
	if (r->nlisted >= COL_CHECK_MAX_PROBLEMS)
		return ST_OK;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	char **p = realloc(r->problems, (r->nlisted + 1) * sizeof *p);
	if (!p)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	r->problems = p;
	if (!(p[r->nlisted] = strdup(line)))
		return errinfo_set(e, ST_NOMEM, "out of memory");
	r->nlisted++;
	return ST_OK;
}

void col_check_report_free(struct col_check_report *r)
{
	for (size_t i = 0; i < r->nlisted; i++)
		free(r->problems[i]);
	free(r->problems);
	memset(r, 0, sizeof *r);
}

/* Rows of sql are problems; column 0 is an id, column 1 (optional) detail. */
static enum status rows_are_problems(struct col *c, struct col_check_report *r, const char *sql,
                                     const char *what, struct errinfo *e)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(col_db(c), sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, what);
	enum status s = ST_OK;
	while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *detail =
		    sqlite3_column_count(st) > 1 ? sqlite3_column_text(st, 1) : NULL;
		s = add(r, e, "%s %lld%s%s", what, (long long)sqlite3_column_int64(st, 0),
		        detail ? ": " : "", detail ? (const char *)detail : "");
	}
	sqlite3_finalize(st);
	if (!s && rc != SQLITE_DONE)
		s = col_sqlite_err(col_db(c), rc, e, what);
	return s;
}

static enum status check_sqlite(struct col *c, struct col_check_report *r, struct errinfo *e)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(col_db(c), "pragma integrity_check(100)", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, "integrity check");
	enum status s = ST_OK;
	while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 0);
		if (msg && strcmp(msg, "ok") != 0)
			s = add(r, e, "sqlite: %s", msg);
	}
	sqlite3_finalize(st);
	if (!s && rc != SQLITE_DONE) /* a damaged file may fail the check itself */
		s = add(r, e, "sqlite: integrity check failed: %s", sqlite3_errmsg(col_db(c)));
	return s;
}

/* Every notetype/deck/preset row decodes; field counts match; stale
 * checksums and sort fields. */
static enum status check_objects(struct col *c, struct col_check_report *r, struct errinfo *e)
{
	static const struct {
		const char *table;
		const char *what;
	} tables[] = {{"notetypes", "notetype"}, {"decks", "deck"}, {"deck_config", "deck preset"}};
	enum status s = ST_OK;
	for (size_t t = 0; t < 3 && !s; t++) {
		int64_t *ids = NULL;
		size_t n = 0;
		s = col_list_ids(c, tables[t].table, &ids, &n, e);
		for (size_t i = 0; i < n && !s; i++) {
			struct errinfo why;
			enum status ls;
			if (t == 0) {
				struct notetype nt;
				ls = col_load_notetype(c, ids[i], &nt, &why);
				if (!ls) {
					if (nt.nfields == 0)
						s = add(r, e, "notetype %lld has no fields", (long long)ids[i]);
					if (!s && nt.ntemplates == 0)
						s = add(r, e, "notetype %lld has no templates", (long long)ids[i]);
					notetype_free(&nt);
				}
			} else if (t == 1) {
				struct deck d;
				ls = col_load_deck(c, ids[i], &d, &why);
				if (!ls) {
					if (d.kind.type == DECK_KIND_UNSET)
						s = add(r, e, "deck %lld has no kind", (long long)ids[i]);
					deck_free(&d);
				}
			} else {
				struct deckconf dc;
				ls = col_load_deckconf(c, ids[i], &dc, &why);
				if (!ls)
					deckconf_free(&dc);
			}
			if (ls && ls != ST_NOMEM)
				s = add(r, e, "%s %lld does not decode: %s", tables[t].what, (long long)ids[i],
				        why.msg);
			else if (ls)
				s = errinfo_set(e, ls, "%s", why.msg);
		}
		free(ids);
	}
	return s;
}

static enum status check_notes(struct col *c, struct col_check_report *r, struct errinfo *e)
{
	/* field count per notetype, sort index per notetype */
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
	    col_db(c),
	    "select n.id, n.flds, cast(n.sfld as text), n.csum, "
	    "(select count(*) from fields f where f.ntid = n.mid), n.mid from notes n "
	    "where exists(select 1 from notetypes t where t.id = n.mid)",
	    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, "checking notes");
	enum status s = ST_OK;
	int64_t cached_mid = 0;
	uint32_t sort_idx = 0;
	while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *flds = (const char *)sqlite3_column_text(st, 1);
		size_t flen = (size_t)sqlite3_column_bytes(st, 1);
		const char *sfld = (const char *)sqlite3_column_text(st, 2);
		uint32_t csum = (uint32_t)sqlite3_column_int64(st, 3);
		size_t want = (size_t)sqlite3_column_int64(st, 4);
		int64_t mid = sqlite3_column_int64(st, 5);
		if (mid != cached_mid) {
			struct notetype nt;
			struct errinfo why;
			if (col_load_notetype(c, mid, &nt, &why) == ST_OK) {
				sort_idx = nt.cfg.sort_field_idx;
				notetype_free(&nt);
			}
			cached_mid = mid;
		}
		struct text_slice *parts = NULL;
		size_t np = 0;
		if (text_fields_split(flds ? flds : "", flen, 0, &parts, &np, e) != ST_OK) {
			s = e ? e->code : ST_NOMEM;
			break;
		}
		if (np != want) {
			s = add(r, e, "note %lld has %zu fields; its notetype has %zu", (long long)id, np,
			        want);
		} else {
			uint32_t expect;
			struct buf sort;
			buf_init(&sort, 0);
			const char **ptrs = malloc(np * sizeof *ptrs);
			size_t *lens = malloc(np * sizeof *lens);
			if (!ptrs || !lens) {
				s = errinfo_set(e, ST_NOMEM, "out of memory");
			} else {
				for (size_t i = 0; i < np; i++) {
					ptrs[i] = parts[i].p;
					lens[i] = parts[i].len;
				}
				if (text_checksum(ptrs[0], lens[0], &expect, e) == ST_OK && expect != csum)
					s = add(r, e, "note %lld has a stale checksum (%u, expected %u)",
					        (long long)id, csum, expect);
				if (!s && text_sort_field(ptrs, lens, np, sort_idx, &sort, e) == ST_OK &&
				    strcmp(sfld ? sfld : "", sort.data ? (const char *)sort.data : "") != 0)
					s = add(r, e, "note %lld has a stale sort field", (long long)id);
			}
			free(ptrs);
			free(lens);
			buf_free(&sort);
		}
		free(parts);
	}
	sqlite3_finalize(st);
	if (!s && rc != SQLITE_DONE)
		s = col_sqlite_err(col_db(c), rc, e, "checking notes");
	return s;
}

enum status col_check_run(struct col *c, struct col_check_report *r, struct errinfo *e)
{
	memset(r, 0, sizeof *r);
	struct col_meta m;
	enum status s = check_sqlite(c, r, e);
	if (!s)
		s = col_meta_get(c, &m, e);
	if (s)
		return s;
	if (m.ver != COL_SCHEMA_CUR)
		return add(r, e, "schema %d: upgrade the collection (anki-col upgrade) to check it", m.ver);
	static const struct {
		const char *what, *sql;
	} queries[] = {
	    {"note", "select id, 'its notetype ' || mid || ' does not exist' from notes "
	             "where mid not in (select id from notetypes)"},
	    {"card", "select id, 'its note ' || nid || ' does not exist' from cards "
	             "where nid not in (select id from notes)"},
	    {"card", "select id, 'its deck ' || did || ' does not exist' from cards "
	             "where did not in (select id from decks)"},
	    {"card", "select c.id, 'its template ' || c.ord || ' does not exist' from cards c "
	             "join notes n on n.id = c.nid join notetypes t on t.id = n.mid "
	             "where not exists(select 1 from templates p where p.ntid = n.mid and "
	             /* cloze notetypes (config starts with kind = 1) use template 0 */
	             "p.ord = (case when substr(t.config, 1, 2) = x'0801' then 0 else c.ord end))"},
	    {"note", "select id, 'has no cards' from notes where id not in (select nid from cards)"},
	    {"card", "select id, 'has a value Anki cannot read (type ' || type || ', queue ' || queue "
	             "|| ', ord ' || ord || ', factor ' || factor || ', ivl ' || ivl || ')' from cards "
	             "where typeof(ord) != 'integer' or ord not between 0 and 65535 "
	             "or factor not between 0 and 65535 or ivl not between 0 and 4294967295 "
	             "or reps not between 0 and 4294967295 or lapses not between 0 and 4294967295 "
	             "or left not between 0 and 4294967295 or flags not between 0 and 255 "
	             "or type not between 0 and 3 or queue not between -3 and 4"},
	    {"review log entry", "select id, 'has a value Anki cannot read' from revlog "
	                         "where ease not between 0 and 255 or factor not between 0 and 4294967295"},
	    {"id", "select id, 'is in the future (note)' from notes where id > (strftime('%s','now') + "
	           "86400) * 1000 union all select id, 'is in the future (card)' from cards where id > "
	           "(strftime('%s','now') + 86400) * 1000"},
	};
	for (size_t i = 0; i < sizeof queries / sizeof queries[0] && !s; i++)
		s = rows_are_problems(c, r, queries[i].sql, queries[i].what, e);
	if (!s)
		s = check_objects(c, r, e);
	if (!s)
		s = check_notes(c, r, e);
	return s;
}
