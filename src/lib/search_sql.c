/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search_sql.c - a parsed search tree to one SQLite SELECT with bound
 * parameters (search-syntax.md §1 steps 3-4, §3, §4, §5; the behaviour
 * of Anki's rslib/src/search/sqlwriter.rs).
 *
 * Invariants:
 *   - Every value that comes from the query (text, patterns, numbers and
 *     the day cut-offs derived from them) is a bound parameter ?N; the
 *     SQL text holds only fixed fragments and integers read from the
 *     collection itself (notetype and deck ids, field counts, ordinals).
 *   - Every term's SQL is one SQL primary (parenthesised when it has
 *     and/or inside), so `not`, `and`, `or` between terms keep the
 *     query's meaning.  Anki leaves `did:` and `sc:` unparenthesised;
 *     here they are parenthesised (search-syntax.md §4.16 advises it).
 *   - Regexes are checked (search_regex_check) before the SQL is built,
 *     so a bad regex is a search error, not a failure halfway through.
 *   - Collection facts (config, notetypes, timing) are read at most once
 *     per compilation, only when a term needs them, and only the parts a
 *     search uses (field names and flags, not templates or CSS).  When
 *     the caller keeps statements (search_compile_tree_kept), the ones
 *     that read them stay on the connection (search_stmt.h); what they
 *     read is always read afresh.
 *
 * One addition to Anki: an exact search on a notetype's first field
 * ("Front:word", no wildcards) also tests notes.csum against the
 * checksums of every ASCII-case variant of the word, so SQLite answers
 * it from ix_notes_csum instead of scanning every note (AnkiConnect
 * clients such as Yomitan run this search for every word they show).
 * It is exact: the LIKE comparison still decides, the checksum only
 * narrows the candidates, and it is skipped when the word has more than
 * SEARCH_CSUM_MAX_LETTERS ASCII letters.  Its notetype test, like
 * dupe:'s lookup, is written "+n.mid" so that no statistics can make
 * SQLite prefer idx_notes_mid (every note of the notetype) to the
 * checksum index.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "col_model.h"
#include "col_store.h"
#include "pb.h"
#include "search.h"
#include "search_day.h"
#include "search_fsrs.h"
#include "search_stmt.h"
#include "search_text.h"
#include "sqlfn.h"
#include "text.h"
#include "unicase.h"

/* At most 2^10 checksum candidates for the first-field shortcut, and
 * only for words up to 1 KiB (bounds the stripping work to 1 MiB). */
#define SEARCH_CSUM_MAX_LETTERS 10
#define SEARCH_CSUM_MAX_BYTES 1024
/* Checksum parameters one query may use in all (SQLite allows 32766
 * parameters per statement). */
#define SEARCH_CSUM_BUDGET 4096

/* Which tables a query needs: bit 0 notes, bit 1 cards; 0 = either. */
enum table { T_EITHER = 0, T_NOTES = 1, T_CARDS = 2, T_BOTH = 3 };

struct nt_info {
	int64_t id;
	bool cloze;
	uint32_t sort_idx;
	size_t nfields;
	char **names;
	bool *excluded;
};

struct writer {
	struct col *c;
	struct errinfo *e;
	struct buf sql;
	struct search_param *params;
	size_t np, pcap;
	enum search_target target;
	enum table table;
	/* statements for collection facts stay on the connection
	 * (search_stmt.h) instead of being prepared for every search */
	enum search_stmt_kind stmt_kind;

	bool cfg_loaded;
	bool normalize;      /* normalize_note_text */
	bool ignore_accents; /* ignoreAccentsInSearch */
	int64_t learn_ahead; /* collapseTime */
	int64_t cur_deck;    /* curDeck */

	bool timing_loaded;
	struct sched_timing timing;

	bool nts_loaded;   /* ids and fields */
	bool ntcfg_loaded; /* and kind, sort field */
	struct nt_info *nts;
	size_t nnts;

	size_t csum_used; /* checksum parameters so far */
};

/* ---- output helpers ---- */

static enum status nomem(struct writer *w)
{
	errinfo_set(w->e, ST_NOMEM, "out of memory");
	return ST_NOMEM;
}

static enum status emit(struct writer *w, const char *s)
{
	return buf_append_str(&w->sql, s, w->e);
}

/* printf-style output straight into the SQL buffer */
#define emitf(w, ...) buf_printf(&(w)->sql, (w)->e, __VA_ARGS__)

static enum status param_new(struct writer *w, struct search_param **p, size_t *idx)
{
	if (w->np == w->pcap) {
		size_t nc = w->pcap ? w->pcap * 2 : 16;
		struct search_param *v = realloc(w->params, nc * sizeof *v);
		if (!v)
			return nomem(w);
		w->params = v;
		w->pcap = nc;
	}
	*p = &w->params[w->np++];
	memset(*p, 0, sizeof **p);
	*idx = w->np;
	return ST_OK;
}

static enum status param_text(struct writer *w, const char *s, size_t n, size_t *idx)
{
	struct search_param *p;
	enum status st = param_new(w, &p, idx);
	if (st)
		return st;
	p->type = SEARCH_PARAM_TEXT;
	if (!(p->text = malloc(n + 1))) {
		w->np--;
		return nomem(w);
	}
	memcpy(p->text, s, n);
	p->text[n] = 0;
	p->len = n;
	return ST_OK;
}

static enum status param_buf(struct writer *w, const struct buf *b, size_t *idx)
{
	return param_text(w, b->data ? (const char *)b->data : "", b->len, idx);
}

static enum status param_int(struct writer *w, int64_t v, size_t *idx)
{
	struct search_param *p;
	enum status st = param_new(w, &p, idx);
	if (!st) {
		p->type = SEARCH_PARAM_INT;
		p->i = v;
	}
	return st;
}

static enum status param_real(struct writer *w, double v, size_t *idx)
{
	struct search_param *p;
	enum status st = param_new(w, &p, idx);
	if (!st) {
		p->type = SEARCH_PARAM_REAL;
		p->r = v;
	}
	return st;
}

/* Emit "?N" for a new integer parameter. */
static enum status emit_int(struct writer *w, int64_t v)
{
	size_t i;
	enum status st = param_int(w, v, &i);
	return st ? st : emitf(w, "?%zu", i);
}

/* A regex parameter, checked first (the error is a search error). */
static enum status param_regex(struct writer *w, const struct buf *re, size_t *idx)
{
	const char *s = re->data ? (const char *)re->data : "";
	enum status st = search_regex_check(s, re->len, w->e);
	if (st) {
		if (st == ST_INVALID)
			errinfo_prefix(w->e, "Invalid search");
		return st;
	}
	return param_buf(w, re, idx);
}

static const char *bs(const struct buf *b)
{
	return b->data ? (const char *)b->data : "";
}

/* ---- collection facts ---- */

static bool json_bool_or(json_t *j, bool dflt)
{
	return json_is_boolean(j) ? json_is_true(j) : dflt;
}

/* A config value as JSON, or NULL when it is not JSON (Anki's default
 * then applies, as for a missing key). */
static json_t *cfg_json(sqlite3_stmt *q, int col)
{
	const void *p = sqlite3_column_blob(q, col);
	size_t n = (size_t)sqlite3_column_bytes(q, col);
	return p ? json_loadb(p, n, JSON_DECODE_ANY, NULL) : NULL;
}

/* The four config keys searches use, in one statement (one row of
 * primary-key lookups; an IN list would build a temporary index). */
static enum status load_config(struct writer *w)
{
	if (w->cfg_loaded)
		return ST_OK;
	static const char sql[] =
	    "select (select val from config where KEY = 'normalize_note_text'), "
	    "(select val from config where KEY = 'ignoreAccentsInSearch'), "
	    "(select val from config where KEY = 'collapseTime'), "
	    "(select val from config where KEY = 'curDeck')";
	sqlite3 *db = col_db(w->c);
	sqlite3_stmt *q;
	enum status st = search_stmt_get(db, w->stmt_kind, sql, &q, NULL, w->e);
	if (st)
		return st;
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		json_t *j = cfg_json(q, 0);
		w->normalize = json_bool_or(j, true);
		json_decref(j);
		j = cfg_json(q, 1);
		w->ignore_accents = json_bool_or(j, false);
		json_decref(j);
		j = cfg_json(q, 2);
		w->learn_ahead = json_is_integer(j) && json_integer_value(j) >= 0 &&
		                         json_integer_value(j) <= UINT32_MAX
		                     ? json_integer_value(j)
		                     : 1200;
		json_decref(j);
		j = cfg_json(q, 3);
		w->cur_deck = json_is_integer(j) ? json_integer_value(j) : 1;
		json_decref(j);
		w->cfg_loaded = true;
	} else {
		st = col_sqlite_err(db, rc, w->e, "reading the search settings");
	}
	search_stmt_done(q);
	return st;
}

static enum status load_timing(struct writer *w)
{
	if (w->timing_loaded)
		return ST_OK;
	enum status st = col_sched_today(w->c, &w->timing, w->e);
	if (!st)
		w->timing_loaded = true;
	return st;
}

static void nts_free(struct writer *w)
{
	for (size_t i = 0; i < w->nnts; i++) {
		for (size_t k = 0; k < w->nts[i].nfields; k++)
			free(w->nts[i].names[k]);
		free(w->nts[i].names);
		free(w->nts[i].excluded);
	}
	free(w->nts);
	w->nts = NULL;
	w->nnts = 0;
}

/* The varint fields a search needs from a notetype's or a field's
 * config (Notetype.Config 1 kind, 2 sort_field_idx; Notetype.Field.Config
 * 8 exclude_from_search), the last occurrence winning as in protobuf.
 * The rest (CSS, LaTeX, descriptions) is skipped unread: decoding it
 * cost more than the search itself. */
static enum status pb_varints(struct writer *w, const void *p, size_t n, const uint32_t *nums,
                              uint64_t *vals, size_t count)
{
	struct pb_reader r;
	pb_reader_init(&r, p, p ? n : 0);
	for (;;) {
		struct pb_field f;
		bool more;
		enum status st = pb_reader_next(&r, &f, &more, w->e);
		if (st || !more)
			return st;
		for (size_t i = 0; i < count; i++)
			if (f.num == nums[i] && f.wt == PB_WT_VARINT)
				vals[i] = f.u;
	}
}

/* What searches need of every notetype (field names, excluded fields),
 * in id order, from one statement: reading whole notetypes (templates,
 * CSS) for every search cost more than the search itself. */
static enum status load_notetypes(struct writer *w)
{
	if (w->nts_loaded)
		return ST_OK;
	static const char sql[] = "select nt.id, f.name, f.config from notetypes nt "
	                          "left join fields f on f.ntid = nt.id order by nt.id, f.ord";
	sqlite3 *db = col_db(w->c);
	sqlite3_stmt *q;
	enum status st = search_stmt_get(db, w->stmt_kind, sql, &q, NULL, w->e);
	if (st)
		return st;
	size_t cap = 0, fcap = 0;
	struct nt_info *ni = NULL;
	int rc = SQLITE_DONE;
	while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		if (!ni || ni->id != id) {
			if (w->nnts == cap) {
				size_t nc = cap ? cap * 2 : 8;
				struct nt_info *v = realloc(w->nts, nc * sizeof *v);
				if (!v) {
					st = nomem(w);
					break;
				}
				w->nts = v;
				cap = nc;
			}
			ni = &w->nts[w->nnts++];
			memset(ni, 0, sizeof *ni);
			fcap = 0;
			ni->id = id;
		}
		if (sqlite3_column_type(q, 1) == SQLITE_NULL)
			continue; /* a notetype without fields */
		if (ni->nfields == fcap) {
			size_t nc = fcap ? fcap * 2 : 8;
			char **names = realloc(ni->names, nc * sizeof *names);
			if (names)
				ni->names = names;
			bool *ex = names ? realloc(ni->excluded, nc * sizeof *ex) : NULL;
			if (ex)
				ni->excluded = ex;
			if (!names || !ex) {
				st = nomem(w);
				break;
			}
			fcap = nc;
		}
		const char *name = (const char *)sqlite3_column_text(q, 1);
		static const uint32_t num_excl = 8;
		uint64_t excl = 0;
		st = pb_varints(w, sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2),
		                &num_excl, &excl, 1);
		if (st)
			break;
		if (!(ni->names[ni->nfields] = strdup(name ? name : "")))
			st = nomem(w);
		else
			ni->excluded[ni->nfields++] = excl != 0;
	}
	if (!st && rc != SQLITE_DONE)
		st = col_sqlite_err(db, rc, w->e, "reading notetypes");
	search_stmt_done(q);
	if (!st)
		w->nts_loaded = true;
	return st;
}

/* The notetypes' kind and sort field, for the terms that need them (sc:,
 * and unqualified text when a field is excluded).  Matched by id: outside
 * a transaction this statement may see a newer collection than
 * load_notetypes did, and a notetype it does not know keeps the
 * defaults (normal, sort field 0). */
static enum status load_nt_configs(struct writer *w)
{
	enum status st = load_notetypes(w);
	if (st || w->ntcfg_loaded)
		return st;
	static const char sql[] = "select id, config from notetypes order by id";
	sqlite3 *db = col_db(w->c);
	sqlite3_stmt *q;
	if ((st = search_stmt_get(db, w->stmt_kind, sql, &q, NULL, w->e)))
		return st;
	int rc = SQLITE_DONE;
	size_t i = 0;
	while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		while (i < w->nnts && w->nts[i].id < id)
			i++;
		if (i == w->nnts || w->nts[i].id != id)
			continue;
		static const uint32_t nums[] = {1, 2};
		uint64_t v[2] = {0, 0};
		st = pb_varints(w, sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1),
		                nums, v, 2);
		w->nts[i].cloze = (int32_t)v[0] == NOTETYPE_KIND_CLOZE;
		w->nts[i].sort_idx = (uint32_t)v[1];
	}
	if (!st && rc != SQLITE_DONE)
		st = col_sqlite_err(db, rc, w->e, "reading notetypes");
	search_stmt_done(q);
	if (!st)
		w->ntcfg_loaded = true;
	return st;
}

/* ---- text preparation ---- */

/* NFC when the collection normalises note text (§3.3), else a copy. */
static enum status norm_note(struct writer *w, const char *s, struct buf *out)
{
	enum status st = load_config(w);
	if (st)
		return st;
	if (w->normalize)
		return text_nfc(s, strlen(s), out, w->e);
	return buf_append_str(out, s, w->e);
}

static enum status nfc(struct writer *w, const char *s, struct buf *out)
{
	return text_nfc(s, strlen(s), out, w->e);
}

static enum status no_combining(struct writer *w, const struct buf *in, struct buf *out)
{
	return sqlfn_without_combining(bs(in), in->len, out, NULL, w->e);
}

/* ---- field name matching (glob_matcher) ---- */

/* PCRE2 steps allowed for one field name: a glob that needs more on a
 * name is pathological (Rust's linear-time engine would not notice). */
#define FIELD_NAME_MATCH_LIMIT 100000u

struct field_matcher {
	pcre2_code *re;
	pcre2_match_data *md;
	pcre2_match_context *mc;
	struct buf plain;
};

static void matcher_free(struct field_matcher *m)
{
	pcre2_match_context_free(m->mc);
	pcre2_match_data_free(m->md);
	pcre2_code_free(m->re);
	buf_free(&m->plain);
}

static enum status matcher_init(struct writer *w, const char *name, struct field_matcher *m)
{
	memset(m, 0, sizeof *m);
	buf_init(&m->plain, 0);
	size_t n = strlen(name);
	if (!search_is_glob(name, n))
		return search_to_text(name, n, &m->plain, w->e);
	struct buf re;
	buf_init(&re, 0);
	enum status st = buf_append_str(&re, "(?i)^", w->e);
	if (!st)
		st = search_to_re(name, n, &re, w->e);
	if (!st)
		st = buf_append_str(&re, "$", w->e);
	if (!st) {
		int err;
		PCRE2_SIZE off;
		m->re = pcre2_compile((PCRE2_SPTR)bs(&re), re.len,
		                      PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY |
		                          PCRE2_MATCH_INVALID_UTF,
		                      &err, &off, NULL);
		if (m->re)
			m->md = pcre2_match_data_create_from_pattern(m->re, NULL);
		if (m->md)
			m->mc = pcre2_match_context_create(NULL);
		if (m->mc)
			pcre2_set_match_limit(m->mc, FIELD_NAME_MATCH_LIMIT);
		if (!m->re || !m->md || !m->mc)
			st = errinfo_set(w->e, ST_INTERNAL, "search: field name pattern failed");
	}
	buf_free(&re);
	return st;
}

/* 1 match, 0 no match, -1 the pattern is too costly (error set). */
static int matcher_match(struct writer *w, const struct field_matcher *m, const char *name)
{
	if (!m->re)
		return unicase_compare(name, -1, bs(&m->plain), (int)m->plain.len) == 0;
	int rc = pcre2_match(m->re, (PCRE2_SPTR)name, strlen(name), 0, 0, m->md, m->mc);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	errinfo_set(w->e, ST_INVALID, "Invalid search: the field name pattern is too complex.");
	return -1;
}

/* Ranges [start, end) of matching field ordinals of one notetype;
 * adjacent ordinals are merged when join is set (Anki's collect_ranges). */
struct range {
	uint32_t start, end;
};

static enum status field_ranges(struct writer *w, const struct nt_info *nt,
                                const struct field_matcher *m, bool join, struct range **out,
                                size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!nt->nfields)
		return ST_OK;
	struct range *r = malloc(nt->nfields * sizeof *r);
	if (!r)
		return nomem(w);
	size_t k = 0;
	for (uint32_t i = 0; i < nt->nfields; i++) {
		int hit = matcher_match(w, m, nt->names[i]);
		if (hit < 0) {
			free(r);
			return ST_INVALID;
		}
		if (!hit)
			continue;
		if (join && k && r[k - 1].end == i)
			r[k - 1].end = i + 1;
		else
			r[k++] = (struct range){i, i + 1};
	}
	*out = r;
	*n = k;
	return ST_OK;
}

/* `<expr> like '<%␟…>' || ?P || '<…␟%>' escape '\'`: the value at the
 * range's first field, `%` for each field outside the range. */
static enum status emit_field_like(struct writer *w, const char *expr, size_t nfields,
                                   struct range r, size_t pidx)
{
	enum status st = emitf(w, "%s like '", expr);
	bool first = true;
	for (uint32_t i = 0; i < nfields && !st; i++) {
		if (i > r.start && i < r.end)
			continue;
		if (!first)
			st = emit(w, "\x1f");
		first = false;
		if (st)
			break;
		st = i == r.start ? emitf(w, "' || ?%zu || '", pidx) : emit(w, "%");
	}
	return st ? st : emit(w, "' escape '\\'");
}

/* ---- terms ---- */

static enum status write_unqualified(struct writer *w, const char *text, bool nc, bool sc)
{
	struct buf t, pat, tmp;
	buf_init(&t, 0);
	buf_init(&pat, 0);
	buf_init(&tmp, 0);
	enum status st = load_nt_configs(w);
	if (!st)
		st = search_to_sql(text, strlen(text), &tmp, w->e);
	if (!st && nc)
		st = no_combining(w, &tmp, &t);
	else if (!st)
		st = buf_append(&t, bs(&tmp), tmp.len, w->e);
	if (!st)
		st = buf_printf(&pat, w->e, "%%%s%%", bs(&t));
	size_t p = 0;
	if (!st)
		st = param_buf(w, &pat, &p);
	buf_free(&t);
	buf_free(&pat);
	buf_free(&tmp);
	if (st)
		return st;

	int flags = (nc ? 1 : 0) | (sc ? 2 : 0);
	char sfld[96], flds[96];
	if (flags) {
		snprintf(sfld, sizeof sfld,
		         "coalesce(process_text(cast(n.sfld as text), %d), n.sfld)", flags);
		snprintf(flds, sizeof flds, "coalesce(process_text(n.flds, %d), n.flds)", flags);
	} else {
		snprintf(sfld, sizeof sfld, "n.sfld");
		snprintf(flds, sizeof flds, "n.flds");
	}
	if ((st = emit(w, "(")))
		return st;
	if (sc) {
		bool any = false;
		st = emit(w, "(");
		for (size_t i = 0; i < w->nnts && !st; i++) {
			if (!w->nts[i].cloze)
				continue;
			st = emitf(w, "%sn.mid = %lld", any ? " or " : "", (long long)w->nts[i].id);
			any = true;
		}
		if (!st)
			st = emit(w, any ? ") and " : "false) and ");
	}
	bool any_excluded = false;
	for (size_t i = 0; i < w->nnts; i++)
		for (size_t k = 0; k < w->nts[i].nfields; k++)
			any_excluded |= w->nts[i].excluded[k];
	if (!st && !any_excluded) {
		st = emitf(w, "(%s like ?%zu escape '\\' or %s like ?%zu escape '\\')", sfld, p,
		           flds, p);
	} else if (!st) {
		/* per notetype: the included fields (adjacent ones merged), and
		 * the sort field unless it is excluded; notetypes without an
		 * included field drop out.  "+n.mid": every note is read anyway,
		 * and without it SQLite's planner weighs an index OR-plan per
		 * term, which makes preparing a long query slow */
		bool any = false;
		st = emit(w, "(");
		for (size_t i = 0; i < w->nnts && !st; i++) {
			const struct nt_info *nt = &w->nts[i];
			bool sort_excluded = false, started = false;
			for (uint32_t k = 0; k < nt->nfields; k++)
				sort_excluded |= nt->excluded[k] && k == nt->sort_idx;
			for (uint32_t k = 0; k < nt->nfields && !st; k++) {
				if (nt->excluded[k])
					continue;
				uint32_t end = k + 1;
				while (end < nt->nfields && !nt->excluded[end])
					end++;
				if (started)
					st = emit(w, " or ");
				else
					st = emitf(w, "%s(+n.mid = %lld and (", any ? " or " : "",
					           (long long)nt->id);
				if (!st)
					st = emit_field_like(w, flds, nt->nfields,
					                     (struct range){k, end}, p);
				started = true;
				k = end - 1;
			}
			if (!started || st)
				continue;
			if (!sort_excluded)
				st = emitf(w, " or %s like ?%zu escape '\\'", sfld, p);
			if (!st)
				st = emit(w, "))");
			any = true;
		}
		if (!st)
			st = emit(w, any ? ")" : "false)");
	}
	return st ? st : emit(w, ")");
}

/* The regexp test of re: and w: over the note's (included) fields. */
static enum status write_regex(struct writer *w, const char *word, bool nc)
{
	enum status st = load_notetypes(w);
	if (st)
		return st;
	const char *flds = nc ? "coalesce(process_text(n.flds, 1), n.flds)" : "n.flds";
	struct buf re, w2, in;
	buf_init(&re, 0);
	buf_init(&w2, 0);
	buf_init(&in, 0);
	st = buf_append_str(&in, word, w->e);
	if (!st && nc)
		st = no_combining(w, &in, &w2);
	else if (!st)
		st = buf_append(&w2, bs(&in), in.len, w->e);
	if (!st)
		st = buf_printf(&re, w->e, "(?i)%s", bs(&w2));
	size_t p = 0;
	if (!st)
		st = param_regex(w, &re, &p);
	buf_free(&re);
	buf_free(&w2);
	buf_free(&in);
	if (st)
		return st;
	bool any_excluded = false;
	for (size_t i = 0; i < w->nnts; i++)
		for (size_t k = 0; k < w->nts[i].nfields; k++)
			any_excluded |= w->nts[i].excluded[k];
	if (!any_excluded)
		return emitf(w, "(%s regexp ?%zu)", flds, p);
	st = emit(w, "(");
	for (size_t i = 0; i < w->nnts && !st; i++) {
		const struct nt_info *nt = &w->nts[i];
		size_t inc = 0;
		for (size_t k = 0; k < nt->nfields; k++)
			inc += !nt->excluded[k];
		st = emitf(w, "%s(+n.mid = %lld and ", i ? " or " : "", (long long)nt->id);
		if (st)
			break;
		if (inc == nt->nfields) {
			st = emitf(w, "%s regexp ?%zu)", flds, p);
		} else if (!inc) {
			st = emit(w, "false)");
		} else {
			st = emitf(w, "regexp_fields(?%zu, %s", p, flds);
			for (size_t k = 0; k < nt->nfields && !st; k++)
				if (!nt->excluded[k])
					st = emitf(w, ", %zu", k);
			if (!st)
				st = emit(w, "))");
		}
	}
	return st ? st : emit(w, w->nnts ? ")" : "false)");
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Checksums of every ASCII-case variant of literal (§6.1 csum of the
 * stripped text), sorted, unique.  false when there would be too many. */
static enum status csum_variants(struct writer *w, const char *lit, size_t n, uint32_t **out,
                                 size_t *count, bool *ok)
{
	*ok = false;
	*out = NULL;
	*count = 0;
	if (n > SEARCH_CSUM_MAX_BYTES)
		return ST_OK;
	size_t pos[SEARCH_CSUM_MAX_LETTERS], k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = lit[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			if (k == SEARCH_CSUM_MAX_LETTERS)
				return ST_OK;
			pos[k++] = i;
		}
	}
	size_t nv = (size_t)1 << k;
	uint32_t *v = malloc(nv * sizeof *v);
	char *var = malloc(n + 1);
	struct buf stripped;
	buf_init(&stripped, 0);
	if (!v || !var) {
		free(v);
		free(var);
		return nomem(w);
	}
	enum status st = ST_OK;
	for (size_t mask = 0; mask < nv && !st; mask++) {
		memcpy(var, lit, n);
		for (size_t j = 0; j < k; j++) {
			char c = lit[pos[j]] | 0x20; /* lower */
			var[pos[j]] = (mask >> j) & 1 ? (char)(c - 32) : c;
		}
		buf_reset(&stripped);
		st = text_strip_html_preserving_media(var, n, &stripped, w->e);
		if (!st)
			v[mask] = text_checksum_stripped(bs(&stripped), stripped.len);
	}
	buf_free(&stripped);
	free(var);
	if (st) {
		free(v);
		return st;
	}
	qsort(v, nv, sizeof *v, cmp_u32);
	size_t u = 0;
	for (size_t i = 0; i < nv; i++)
		if (!u || v[u - 1] != v[i])
			v[u++] = v[i];
	*out = v;
	*count = u;
	*ok = true;
	return ST_OK;
}

/* field:value (normal or nc:) per notetype; csum narrowing for exact
 * first-field values in normal mode. */
static enum status write_single_field(struct writer *w, const struct field_matcher *m,
                                      const char *val, enum search_mode mode)
{
	size_t vn = strlen(val);
	bool special = !strcmp(val, "*") || !strcmp(val, "_*") || !strcmp(val, "*_");
	struct buf sqlv, tmp, lit;
	buf_init(&sqlv, 0);
	buf_init(&tmp, 0);
	buf_init(&lit, 0);
	enum status st = search_to_sql(val, vn, &tmp, w->e);
	if (!st && mode == SEARCH_MODE_NC)
		st = no_combining(w, &tmp, &sqlv);
	else if (!st)
		st = buf_append(&sqlv, bs(&tmp), tmp.len, w->e);

	/* gather notetypes and ranges first: nothing matched -> false */
	struct nt_ranges {
		const struct nt_info *nt;
		struct range *r;
		size_t n;
		bool csum;
	} *v = NULL;
	size_t nv = 0;
	if (!st && w->nnts && !(v = calloc(w->nnts, sizeof *v)))
		st = nomem(w);
	for (size_t i = 0; i < w->nnts && !st; i++) {
		struct range *r;
		size_t rn;
		st = field_ranges(w, &w->nts[i], m, !special, &r, &rn);
		if (!st && rn) {
			v[nv].nt = &w->nts[i];
			v[nv].r = r;
			v[nv].n = rn;
			v[nv].csum = rn == 1 && r[0].start == 0 && r[0].end == 1;
			nv++;
		} else {
			free(r);
		}
	}

	uint32_t *csums = NULL;
	size_t ncsums = 0;
	bool use_csum = false;
	if (!st && nv && mode == SEARCH_MODE_NORMAL && !search_is_glob(val, vn)) {
		st = search_to_text(val, vn, &lit, w->e);
		if (!st && !memchr(bs(&lit), '\x1f', lit.len))
			st = csum_variants(w, bs(&lit), lit.len, &csums, &ncsums, &use_csum);
		if (use_csum && w->csum_used + ncsums > SEARCH_CSUM_BUDGET)
			use_csum = false;
		if (use_csum)
			w->csum_used += ncsums;
	}
	bool any_csum = false, any_plain = false;
	for (size_t i = 0; i < nv; i++) {
		if (!use_csum)
			v[i].csum = false;
		any_csum |= v[i].csum;
		any_plain |= !v[i].csum;
	}

	size_t p = 0;
	if (!st && nv)
		st = param_buf(w, &sqlv, &p);
	const char *flds =
	    mode == SEARCH_MODE_NC ? "coalesce(process_text(n.flds, 1), n.flds)" : "n.flds";
	if (!st && !nv)
		st = emit(w, "false");
	else if (!st)
		st = emit(w, "(");
	/* the first-field notetypes behind one checksum test, then the rest */
	for (int pass = 0; pass < 2 && nv && !st; pass++) {
		bool want_csum = pass == 0;
		if (want_csum ? !any_csum : !any_plain)
			continue;
		if (!want_csum && any_csum)
			st = emit(w, " or ");
		if (!st && want_csum) {
			st = emit(w, "(n.csum in (");
			for (size_t i = 0; i < ncsums && !st; i++) {
				if (i)
					st = emit(w, ", ");
				if (!st)
					st = emit_int(w, csums[i]);
			}
			if (!st)
				st = emit(w, ") and (");
		}
		bool first = true;
		for (size_t i = 0; i < nv && !st; i++) {
			if (v[i].csum != want_csum)
				continue;
			/* "+n.mid": keep SQLite from choosing idx_notes_mid over
			 * the checksum index */
			st = emitf(w, "%s(%sn.mid = %lld and (", first ? "" : " or ",
			           want_csum ? "+" : "", (long long)v[i].nt->id);
			first = false;
			for (size_t k = 0; k < v[i].n && !st; k++) {
				if (k)
					st = emit(w, " or ");
				if (!st)
					st = emit_field_like(w, flds, v[i].nt->nfields, v[i].r[k],
					                     p);
			}
			if (!st)
				st = emit(w, "))");
		}
		if (!st && want_csum)
			st = emit(w, "))");
	}
	if (!st && nv)
		st = emit(w, ")");

	for (size_t i = 0; i < nv; i++)
		free(v[i].r);
	free(v);
	free(csums);
	buf_free(&sqlv);
	buf_free(&tmp);
	buf_free(&lit);
	return st;
}

static enum status write_field(struct writer *w, const struct search_term *t)
{
	struct buf field, val, re;
	buf_init(&field, 0);
	buf_init(&val, 0);
	buf_init(&re, 0);
	enum status st = nfc(w, t->field, &field);
	if (!st)
		st = norm_note(w, t->text, &val);
	if (!st)
		st = load_notetypes(w);
	if (st)
		goto out;
	const char *f = bs(&field);
	size_t p;
	if (!strcmp(f, "*") || !strcmp(f, "_*") || !strcmp(f, "*_")) {
		if (t->mode == SEARCH_MODE_REGEX) {
			st = buf_printf(&re, w->e, "(?i)%s", bs(&val));
		} else {
			st = buf_append_str(&re, "(?is)^", w->e);
			if (!st)
				st = search_to_re(bs(&val), val.len, &re, w->e);
			if (!st)
				st = buf_append_str(&re, "$", w->e);
		}
		if (!st)
			st = param_regex(w, &re, &p);
		if (!st)
			st = emitf(w, "regexp_fields(?%zu, n.flds)", p);
		goto out;
	}
	struct field_matcher m;
	if ((st = matcher_init(w, f, &m))) {
		matcher_free(&m);
		goto out;
	}
	if (t->mode == SEARCH_MODE_REGEX) {
		bool any = false;
		st = buf_printf(&re, w->e, "(?i)%s", bs(&val));
		p = 0;
		for (size_t i = 0; i < w->nnts && !st; i++) {
			struct range *r;
			size_t rn;
			if ((st = field_ranges(w, &w->nts[i], &m, false, &r, &rn)))
				break;
			if (rn && !any) {
				any = true;
				if (!(st = param_regex(w, &re, &p)))
					st = emit(w, "(");
			} else if (rn) {
				st = emit(w, " or ");
			}
			if (rn && !st)
				st = emitf(w, "(n.mid = %lld and regexp_fields(?%zu, n.flds",
				           (long long)w->nts[i].id, p);
			for (size_t k = 0; k < rn && !st; k++)
				st = emitf(w, ", %u", r[k].start);
			if (rn && !st)
				st = emit(w, "))");
			free(r);
		}
		if (!st)
			st = emit(w, any ? ")" : "false");
	} else {
		st = write_single_field(w, &m, bs(&val), t->mode);
	}
	matcher_free(&m);
out:
	buf_free(&field);
	buf_free(&val);
	buf_free(&re);
	return st;
}

/* dupe:ntid,text - notes of the notetype whose stripped first field
 * equals the stripped text, found through notes.csum (§4.16) now, at
 * compile time, as Anki does; the SQL gets their ids.  "+mid" keeps
 * SQLite from preferring idx_notes_mid (every note of the notetype) to
 * the checksum index when its statistics make the notetype look rare. */
static enum status write_dupe(struct writer *w, const struct search_term *t)
{
	static const char sql[] = "select id, field_at_index(flds, 0) from notes "
	                          "where csum = ?1 and +mid = ?2 order by id";
	struct buf text, want, have;
	buf_init(&text, 0);
	buf_init(&want, 0);
	buf_init(&have, 0);
	sqlite3_stmt *q = NULL;
	enum status st = norm_note(w, t->text, &text);
	if (!st)
		st = text_strip_html_preserving_media(bs(&text), text.len, &want, w->e);
	sqlite3 *db = col_db(w->c);
	int rc = SQLITE_OK;
	if (!st)
		st = search_stmt_get(db, w->stmt_kind, sql, &q, NULL, w->e);
	if (!st) {
		sqlite3_bind_int64(q, 1, text_checksum_stripped(bs(&want), want.len));
		sqlite3_bind_int64(q, 2, t->num);
		st = emit(w, "n.id in (");
	}
	bool first = true;
	while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *f = (const char *)sqlite3_column_text(q, 1);
		size_t fn = (size_t)sqlite3_column_bytes(q, 1);
		buf_reset(&have);
		st = text_strip_html_preserving_media(f ? f : "", f ? fn : 0, &have, w->e);
		if (!st && have.len == want.len && !memcmp(bs(&have), bs(&want), want.len)) {
			st = emitf(w, "%s%lld", first ? "" : ",",
			           (long long)sqlite3_column_int64(q, 0));
			first = false;
		}
	}
	if (!st && rc != SQLITE_DONE)
		st = col_sqlite_err(db, rc, w->e, "dupe: search");
	if (!st)
		st = emit(w, ")");
	search_stmt_done(q);
	buf_free(&text);
	buf_free(&want);
	buf_free(&have);
	return st;
}

/* A validated "1,2,3" as `(select value from json_each(?N))`. */
static enum status emit_id_list(struct writer *w, const char *ids, size_t *pidx)
{
	struct buf j;
	buf_init(&j, 0);
	enum status st = buf_append_str(&j, "[", w->e);
	const char *s = ids;
	while (!st && *s) {
		const char *end = s;
		while (*end >= '0' && *end <= '9')
			end++;
		/* canonical JSON numbers: no leading zeros; beyond i64 a real
		 * (which, as in Anki's SQL literal, matches no id) */
		unsigned long long v = 0;
		bool over = false;
		for (const char *d = s; d < end; d++) {
			unsigned dv = (unsigned)(*d - '0');
			if (v > (9223372036854775807ULL - dv) / 10)
				over = true;
			else if (!over)
				v = v * 10 + dv;
		}
		st = over ? buf_printf(&j, w->e, "%s9.3e18", s == ids ? "" : ",")
		          : buf_printf(&j, w->e, "%s%llu", s == ids ? "" : ",", v);
		s = *end == ',' ? end + 1 : end;
	}
	if (!st)
		st = buf_append_str(&j, "]", w->e);
	if (!st)
		st = param_buf(w, &j, pidx);
	buf_free(&j);
	return st;
}

static const char *op_sql(enum search_op op)
{
	static const char *const ops[] = {"=", "!=", "<", ">", "<=", ">="};
	return ops[op];
}

/* revlog entries in a day window (rated:, resched:, prop:rated). */
static enum status write_rated(struct writer *w, enum search_op op, int64_t days, int rating)
{
	enum status st = load_timing(w);
	if (st)
		return st;
	int64_t next = w->timing.next_day_at;
	int64_t target = (next + 86400 * days) * 1000;
	int64_t before = (next + 86400 * (days - 1)) * 1000;
	if ((st = emit(w, "c.id in (select cid from revlog where id")))
		return st;
	switch (op) {
	case SEARCH_OP_GT:
		if (!(st = emit(w, " >= ")))
			st = emit_int(w, target);
		break;
	case SEARCH_OP_GE:
		if (!(st = emit(w, " >= ")))
			st = emit_int(w, before);
		break;
	case SEARCH_OP_LT:
		if (!(st = emit(w, " < ")))
			st = emit_int(w, before);
		break;
	case SEARCH_OP_LE:
		if (!(st = emit(w, " < ")))
			st = emit_int(w, target);
		break;
	case SEARCH_OP_EQ:
	case SEARCH_OP_NE:
		st = emit(w, op == SEARCH_OP_EQ ? " between " : " not between ");
		if (!st)
			st = emit_int(w, before);
		if (!st)
			st = emit(w, " and ");
		if (!st)
			st = emit_int(w, target - 1);
		break;
	}
	if (st)
		return st;
	if (rating == SEARCH_RATING_ANY)
		return emit(w, " and ease > 0)");
	if (rating == SEARCH_RATING_MANUAL)
		return emit(w, " and ease = 0)");
	if ((st = emit(w, " and ease = ")))
		return st;
	return (st = emit_int(w, rating)) ? st : emit(w, ")");
}

/* Rust's f32 Display prints the shortest decimal that reads back as the
 * same f32, and SQLite reads that decimal as a double: do the same. */
static double f32_as_sql(float f)
{
	if (!isfinite(f))
		return (double)f;
	char tmp[64];
	for (int prec = 1; prec <= 9; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, (double)f);
		if (strtof(tmp, NULL) == f)
			return strtod(tmp, NULL);
	}
	return (double)f;
}

/* (u32)(f * 1000) with Rust's saturating float-to-int cast, in f32. */
static int64_t ease_permille(float f)
{
	float x = f * 1000.0f;
	if (!(x > 0.0f))
		return 0; /* negative, zero, NaN */
	if (x >= 4294967295.0f)
		return UINT32_MAX;
	return (int64_t)(uint32_t)x;
}

#define DUE_EXPR "(case when c.odue != 0 then c.odue else c.due end)"

static enum status write_prop(struct writer *w, const struct search_term *t)
{
	const char *op = op_sql(t->op);
	enum status st = ST_OK;
	size_t a, b;
	switch (t->prop) {
	case SEARCH_PROP_DUE:
		if ((st = load_timing(w)))
			return st;
		if ((st = emitf(w, "((c.queue in (2,3) and " DUE_EXPR " %s ", op)))
			return st;
		if ((st = emit_int(w, t->num + w->timing.days_elapsed)))
			return st;
		if ((st = emit(w, ") or (c.queue in (1,4) and ((" DUE_EXPR " - ")))
			return st;
		if ((st = emit_int(w, w->timing.next_day_at)))
			return st;
		if ((st = emitf(w, ") / 86400) %s ", op)))
			return st;
		return (st = emit_int(w, t->num)) ? st : emit(w, "))");
	case SEARCH_PROP_POS:
		if ((st = emitf(w, "(c.type = 0 and " DUE_EXPR " %s ", op)))
			return st;
		return (st = emit_int(w, t->num)) ? st : emit(w, ")");
	case SEARCH_PROP_IVL:
	case SEARCH_PROP_REPS:
	case SEARCH_PROP_LAPSES: {
		const char *col = t->prop == SEARCH_PROP_IVL    ? "c.ivl"
		                  : t->prop == SEARCH_PROP_REPS ? "c.reps"
		                                                : "c.lapses";
		if ((st = emitf(w, "(%s %s ", col, op)))
			return st;
		return (st = emit_int(w, t->num)) ? st : emit(w, ")");
	}
	case SEARCH_PROP_EASE:
		if ((st = emitf(w, "(c.factor %s ", op)))
			return st;
		return (st = emit_int(w, ease_permille(t->fnum))) ? st : emit(w, ")");
	case SEARCH_PROP_RATED:
	case SEARCH_PROP_RESCHED:
		return write_rated(w, t->op, t->num, t->rating);
	case SEARCH_PROP_CDN:
		if ((st = param_text(w, t->field, strlen(t->field), &a)) ||
		    (st = param_real(w, f32_as_sql(t->fnum), &b)))
			return st;
		return emitf(w, "(cast(extract_custom_data(c.data, ?%zu) as float) %s ?%zu)", a, op,
		             b);
	case SEARCH_PROP_CDS:
		if ((st = param_text(w, t->field, strlen(t->field), &a)) ||
		    (st = param_text(w, t->text, strlen(t->text), &b)))
			return st;
		return emitf(w, "(extract_custom_data(c.data, ?%zu) %s ?%zu)", a, op, b);
	case SEARCH_PROP_S:
	case SEARCH_PROP_D: {
		float v = t->prop == SEARCH_PROP_D ? t->fnum * 9.0f + 1.0f : t->fnum;
		if ((st = param_real(w, f32_as_sql(v), &a)))
			return st;
		return emitf(w, "(extract_fsrs_variable(c.data, '%s') %s ?%zu)",
		             t->prop == SEARCH_PROP_D ? "d" : "s", op, a);
	}
	case SEARCH_PROP_R: {
		if ((st = load_timing(w)) || (st = search_fsrs_ensure(col_db(w->c), w->e)))
			return st;
		size_t d, nd, now, v;
		if ((st = param_int(w, w->timing.days_elapsed, &d)) ||
		    (st = param_int(w, w->timing.next_day_at, &nd)) ||
		    (st = param_int(w, w->timing.now, &now)) ||
		    (st = param_real(w, f32_as_sql(t->fnum), &v)))
			return st;
		return emitf(w,
		             "(case when c.type = 0 then false else "
		             "(extract_fsrs_retrievability(c.data, " DUE_EXPR
		             ", c.ivl, ?%zu, ?%zu, ?%zu) %s ?%zu) end)",
		             d, nd, now, op, v);
	}
	}
	return errinfo_set(w->e, ST_INTERNAL, "search: unknown property");
}

static enum status write_state(struct writer *w, enum search_state s)
{
	enum status st;
	switch (s) {
	case SEARCH_STATE_NEW:
		return emit(w, "c.type = 0");
	case SEARCH_STATE_REVIEW:
		return emit(w, "c.type in (2, 3)");
	case SEARCH_STATE_LEARN:
		return emit(w, "c.type in (1, 3)");
	case SEARCH_STATE_BURIED:
		return emit(w, "c.queue in (-2, -3)");
	case SEARCH_STATE_BURIED_MANUALLY:
		return emit(w, "c.queue = -3");
	case SEARCH_STATE_BURIED_SIBLING:
		return emit(w, "c.queue = -2");
	case SEARCH_STATE_SUSPENDED:
		return emit(w, "c.queue = -1");
	case SEARCH_STATE_DUE:
		if ((st = load_timing(w)) || (st = load_config(w)))
			return st;
		if ((st = emit(w, "((c.queue in (2,3) and c.due <= ")) ||
		    (st = emit_int(w, w->timing.days_elapsed)) ||
		    (st = emit(w, ") or (c.queue in (1,4) and c.due <= ")) ||
		    (st = emit_int(w, w->timing.now + w->learn_ahead)))
			return st;
		return emit(w, "))");
	}
	return errinfo_set(w->e, ST_INTERNAL, "search: unknown state");
}

static enum status write_deck(struct writer *w, const char *deck_raw)
{
	struct buf deck, re, native_re;
	buf_init(&deck, 0);
	buf_init(&re, 0);
	buf_init(&native_re, 0);
	char *native = NULL;
	enum status st = nfc(w, deck_raw, &deck);
	if (st)
		goto out;
	const char *d = bs(&deck);
	if (!strcmp(d, "*")) {
		st = emit(w, "true");
		goto out;
	}
	if (!strcmp(d, "filtered")) {
		st = emit(w, "c.odid != 0");
		goto out;
	}
	if (!strcmp(d, "current")) {
		if ((st = load_config(w)))
			goto out;
		sqlite3_stmt *q;
		sqlite3 *db = col_db(w->c);
		if ((st = search_stmt_get(db, w->stmt_kind, "select name from decks where id = ?1",
		                          &q, NULL, w->e)))
			goto out;
		sqlite3_bind_int64(q, 1, w->cur_deck);
		int rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(q, 0);
			st = search_regex_escape(
			    name ? name : "", (size_t)sqlite3_column_bytes(q, 0), &native_re, w->e);
		} else if (rc == SQLITE_DONE) {
			st = buf_append_str(&native_re, "Default", w->e);
		} else {
			st = col_sqlite_err(db, rc, w->e, "deck:current");
		}
		search_stmt_done(q);
	} else {
		if (!(st = search_to_re(d, deck.len, &re, w->e)) &&
		    !(st = deck_name_native_from_human(bs(&re), &native, w->e)))
			st = buf_append_str(&native_re, native, w->e);
	}
	if (st)
		goto out;
	buf_reset(&re);
	size_t p;
	if (!(st = buf_printf(&re, w->e, "(?i)^%s($|\x1f)", bs(&native_re))) &&
	    !(st = param_regex(w, &re, &p)))
		st =
		    emitf(w,
		          "(c.did in (select id from decks where name regexp ?%zu) or (c.odid != 0 "
		          "and c.odid in (select id from decks where name regexp ?%zu)))",
		          p, p);
out:
	free(native);
	buf_free(&deck);
	buf_free(&re);
	buf_free(&native_re);
	return st;
}

/* note: and card: names: glob -> regexp, else unicase equality.
 * sql_head is completed with "= ?N)" or "regexp ?N)". */
static enum status write_name(struct writer *w, const char *name_raw, const char *sql_head)
{
	struct buf name, v;
	buf_init(&name, 0);
	buf_init(&v, 0);
	enum status st = nfc(w, name_raw, &name);
	size_t p;
	if (!st && search_is_glob(bs(&name), name.len)) {
		if (!(st = buf_append_str(&v, "(?i)^", w->e)) &&
		    !(st = search_to_re(bs(&name), name.len, &v, w->e)) &&
		    !(st = buf_append_str(&v, "$", w->e)) && !(st = param_regex(w, &v, &p)))
			st = emitf(w, "%sregexp ?%zu)", sql_head, p);
	} else if (!st) {
		if (!(st = search_to_text(bs(&name), name.len, &v, w->e)) &&
		    !(st = param_buf(w, &v, &p)))
			st = emitf(w, "%s= ?%zu)", sql_head, p);
	}
	buf_free(&name);
	buf_free(&v);
	return st;
}

static enum status write_tag(struct writer *w, const struct search_term *t)
{
	struct buf tag, re, nc;
	buf_init(&tag, 0);
	buf_init(&re, 0);
	buf_init(&nc, 0);
	enum status st = nfc(w, t->text, &tag);
	const char *s = bs(&tag);
	size_t p;
	if (st)
		goto out;
	if (t->mode == SEARCH_MODE_REGEX) {
		if (!(st = buf_printf(&re, w->e, "(?i)%s", s)) && !(st = param_regex(w, &re, &p)))
			st = emitf(w, "regexp_tags(?%zu, n.tags)", p);
	} else if (!strcmp(s, "none")) {
		st = emit(w, "n.tags = ''");
	} else if (!strcmp(s, "*")) {
		st = emit(w, "true");
	} else if (strchr(s, ' ')) {
		st = emit(w, "false");
	} else {
		const struct buf *src = &tag;
		if (t->mode == SEARCH_MODE_NC) {
			if ((st = no_combining(w, &tag, &nc)))
				goto out;
			src = &nc;
		}
		if (!(st = buf_append_str(&re, "(?i).* ", w->e)) &&
		    !(st = search_to_custom_re(bs(src), src->len, "\\S", &re, w->e)) &&
		    !(st = buf_append_str(&re, "(::| ).*", w->e)) &&
		    !(st = param_regex(w, &re, &p)))
			st = t->mode == SEARCH_MODE_NC
			         ? emitf(w,
			                 "(coalesce(process_text(n.tags, 1), n.tags) regexp ?%zu)",
			                 p)
			         : emitf(w, "(n.tags regexp ?%zu)", p);
	}
out:
	buf_free(&tag);
	buf_free(&re);
	buf_free(&nc);
	return st;
}

static enum status write_preset(struct writer *w, const char *name)
{
	sqlite3 *db = col_db(w->c);
	sqlite3_stmt *q;
	enum status st0 = search_stmt_get(
	    db, w->stmt_kind, "select id from deck_config where name = ?1", &q, NULL, w->e);
	if (st0)
		return st0;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	int64_t dcid = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	search_stmt_done(q);
	if (rc == SQLITE_DONE)
		return emit(w, "false");
	if (rc != SQLITE_ROW)
		return col_sqlite_err(db, rc, w->e, "preset: search");

	int64_t *ids = NULL;
	size_t n = 0;
	enum status st = col_list_ids(w->c, "decks", &ids, &n, w->e);
	struct buf list;
	buf_init(&list, 0);
	bool first = true;
	for (size_t i = 0; i < n && !st; i++) {
		struct deck d;
		if ((st = col_load_deck(w->c, ids[i], &d, w->e)))
			break;
		if (d.kind.type == DECK_KIND_NORMAL && d.kind.normal.config_id == dcid) {
			st = buf_printf(&list, w->e, "%s%lld", first ? "" : ",", (long long)d.id);
			first = false;
		}
		deck_free(&d);
	}
	free(ids);
	if (!st)
		st = emit(w, "(c.did in (");
	if (!st)
		st = buf_append(&w->sql, bs(&list), list.len, w->e);
	if (!st)
		st = emit(w, ") or c.odid in (");
	if (!st)
		st = buf_append(&w->sql, bs(&list), list.len, w->e);
	if (!st)
		st = emit(w, "))");
	buf_free(&list);
	return st;
}

static enum status write_term(struct writer *w, const struct search_term *t)
{
	enum status st = ST_OK;
	size_t p;
	struct buf b, re;
	switch (t->kind) {
	case SEARCH_T_ALL:
		return emit(w, "true");
	case SEARCH_T_TEXT:
	case SEARCH_T_NC:
	case SEARCH_T_SC:
		buf_init(&b, 0);
		if (!(st = load_config(w)) && !(st = norm_note(w, t->text, &b)))
			st = write_unqualified(w, bs(&b),
			                       t->kind == SEARCH_T_NC ? true : w->ignore_accents,
			                       t->kind == SEARCH_T_SC);
		buf_free(&b);
		return st;
	case SEARCH_T_FIELD:
		return write_field(w, t);
	case SEARCH_T_DUPE:
		return write_dupe(w, t);
	case SEARCH_T_REGEX:
		buf_init(&b, 0);
		if (!(st = norm_note(w, t->text, &b)))
			st = write_regex(w, bs(&b), false);
		buf_free(&b);
		return st;
	case SEARCH_T_WORD:
		buf_init(&b, 0);
		buf_init(&re, 0);
		if (!(st = load_config(w)) && !(st = norm_note(w, t->text, &b)) &&
		    !(st = buf_append_str(&re, "\\b", w->e)) &&
		    !(st = search_to_re(bs(&b), b.len, &re, w->e)) &&
		    !(st = buf_append_str(&re, "\\b", w->e)))
			st = write_regex(w, bs(&re), w->ignore_accents);
		buf_free(&b);
		buf_free(&re);
		return st;
	case SEARCH_T_ADDED:
		if ((st = load_timing(w)) || (st = emit(w, "c.id > ")))
			return st;
		return emit_int(w, (w->timing.next_day_at - 86400 * t->num) * 1000);
	case SEARCH_T_EDITED:
		if ((st = load_timing(w)) || (st = emit(w, "n.mod > ")))
			return st;
		return emit_int(w, w->timing.next_day_at - 86400 * t->num);
	case SEARCH_T_INTRODUCED:
		if ((st = load_timing(w)) ||
		    (st = param_int(w, (w->timing.next_day_at - 86400 * t->num) * 1000, &p)))
			return st;
		return emitf(
		    w,
		    "((select coalesce(min(id) > ?%zu, false) from revlog where cid = c.id "
		    "and ease != 0) and c.id in (select cid from revlog where id > ?%zu))",
		    p, p);
	case SEARCH_T_TEMPLATE_ORD:
		return (st = emit(w, "c.ord = ")) ? st : emit_int(w, t->num);
	case SEARCH_T_TEMPLATE_NAME:
		return write_name(w, t->text,
		                  "(n.mid, c.ord) in (select ntid, ord from templates where name ");
	case SEARCH_T_DECK:
		return write_deck(w, t->text);
	case SEARCH_T_DECK_IDS:
		if ((st = emit_id_list(w, t->text, &p)))
			return st;
		return emitf(w,
		             "(c.did in (select value from json_each(?%zu)) or (c.odid != 0 and "
		             "c.odid in (select value from json_each(?%zu))))",
		             p, p);
	case SEARCH_T_NOTETYPE_ID:
		return (st = emit(w, "n.mid = ")) ? st : emit_int(w, t->num);
	case SEARCH_T_NOTETYPE:
		return write_name(w, t->text, "n.mid in (select id from notetypes where name ");
	case SEARCH_T_RATED:
		return write_rated(w, SEARCH_OP_GT, -t->num, t->rating);
	case SEARCH_T_TAG:
		return write_tag(w, t);
	case SEARCH_T_STATE:
		return write_state(w, t->state);
	case SEARCH_T_FLAG:
		return (st = emit(w, "(c.flags & 7) = ")) ? st : emit_int(w, t->num);
	case SEARCH_T_NOTE_IDS:
		if ((st = emit_id_list(w, t->text, &p)))
			return st;
		return emitf(w, "%s in (select value from json_each(?%zu))",
		             w->table == T_CARDS ? "c.nid" : "n.id", p);
	case SEARCH_T_CARD_IDS:
		if ((st = emit_id_list(w, t->text, &p)))
			return st;
		return emitf(w, "c.id in (select value from json_each(?%zu))", p);
	case SEARCH_T_PROP:
		return write_prop(w, t);
	case SEARCH_T_CUSTOM_DATA:
		if ((st = param_text(w, t->text, strlen(t->text), &p)))
			return st;
		return emitf(w, "extract_custom_data(c.data, ?%zu) is not null", p);
	case SEARCH_T_PRESET:
		return write_preset(w, t->text);
	}
	return errinfo_set(w->e, ST_INTERNAL, "search: unknown term");
}

static enum status write_node(struct writer *w, const struct search_node *n)
{
	enum status st = ST_OK;
	switch (n->type) {
	case SEARCH_N_AND:
		return emit(w, " and ");
	case SEARCH_N_OR:
		return emit(w, " or ");
	case SEARCH_N_NOT:
		return (st = emit(w, "not ")) ? st : write_node(w, n->child);
	case SEARCH_N_GROUP:
		st = emit(w, "(");
		for (size_t i = 0; i < n->nitems && !st; i++)
			st = write_node(w, n->items[i]);
		return st ? st : emit(w, ")");
	case SEARCH_N_TERM:
		return write_term(w, &n->term);
	}
	return ST_OK;
}

static enum table term_table(enum search_term_kind k)
{
	switch (k) {
	case SEARCH_T_ADDED:
	case SEARCH_T_INTRODUCED:
	case SEARCH_T_DECK:
	case SEARCH_T_DECK_IDS:
	case SEARCH_T_RATED:
	case SEARCH_T_STATE:
	case SEARCH_T_FLAG:
	case SEARCH_T_CARD_IDS:
	case SEARCH_T_PROP:
	case SEARCH_T_CUSTOM_DATA:
	case SEARCH_T_PRESET:
		return T_CARDS;
	case SEARCH_T_NOTE_IDS:
	case SEARCH_T_ALL:
		return T_EITHER;
	case SEARCH_T_TEMPLATE_ORD:
	case SEARCH_T_TEMPLATE_NAME:
		return T_BOTH;
	default:
		return T_NOTES;
	}
}

static enum table node_table(const struct search_node *n)
{
	switch (n->type) {
	case SEARCH_N_NOT:
		return node_table(n->child);
	case SEARCH_N_GROUP: {
		enum table t = T_EITHER;
		for (size_t i = 0; i < n->nitems; i++)
			t |= node_table(n->items[i]);
		return t;
	}
	case SEARCH_N_TERM:
		return term_table(n->term.kind);
	default:
		return T_EITHER;
	}
}

void search_sql_free(struct search_sql *s)
{
	if (!s)
		return;
	free(s->sql);
	for (size_t i = 0; i < s->nparams; i++)
		free(s->params[i].text);
	free(s->params);
	memset(s, 0, sizeof *s);
}

enum status search_compile_tree_kept(struct col *c, const struct search_node *tree,
                                     enum search_target target, const char *order_sql, bool keep,
                                     struct search_sql *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	struct writer w = {.c = c,
	                   .e = e,
	                   .target = target,
	                   .stmt_kind = keep ? SEARCH_STMT_FIXED : SEARCH_STMT_ONCE};
	buf_init(&w.sql, 0);
	w.table = (target == SEARCH_CARDS ? T_CARDS : T_NOTES) | node_table(tree);
	if (order_sql && strstr(order_sql, "n."))
		w.table |= T_NOTES;
	if (order_sql && strstr(order_sql, "c."))
		w.table |= T_CARDS;
	const char *head;
	switch (w.table) {
	case T_CARDS:
		head = "select c.id from cards c where ";
		break;
	case T_NOTES:
		head = "select n.id from notes n where ";
		break;
	default:
		head = target == SEARCH_CARDS
		           ? "select c.id from cards c, notes n where c.nid=n.id and "
		           : "select distinct n.id from cards c, notes n where c.nid=n.id and ";
	}
	enum status st = emit(&w, head);
	if (!st)
		st = write_node(&w, tree);
	nts_free(&w);
	if (st) {
		buf_free(&w.sql);
		struct search_sql tmp = {.params = w.params, .nparams = w.np};
		search_sql_free(&tmp);
		return st;
	}
	size_t len;
	out->sql = (char *)buf_steal(&w.sql, &len);
	out->params = w.params;
	out->nparams = w.np;
	return ST_OK;
}

enum status search_compile_tree(struct col *c, const struct search_node *tree,
                                enum search_target target, const char *order_sql,
                                struct search_sql *out, struct errinfo *e)
{
	return search_compile_tree_kept(c, tree, target, order_sql, false, out, e);
}

enum status search_compile(struct col *c, const char *query, enum search_target target,
                           struct search_sql *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	struct search_node *tree;
	enum status st = search_parse(query, &tree, e);
	if (st)
		return st;
	st = search_compile_tree(c, tree, target, NULL, out, e);
	search_node_free(tree);
	return st;
}
