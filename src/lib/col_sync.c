/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_sync.c - server side of the normal collection sync (sync-protocol.md
 * §3).  State diagram, one function per transition:
 *
 *   (none) --col_sync_start--> STARTED (transaction open, server_usn fixed)
 *   STARTED --apply_graves/apply_changes/apply_chunk--> STARTED
 *   STARTED --chunk (first call computes the id lists)--> STARTED
 *   STARTED --sanity bad--> ROLLED_BACK (only abort is meaningful)
 *   STARTED --finish--> committed, freed      any --abort--> rolled back, freed
 *
 * Invariants: everything applied is stamped with server_usn (the col.usn
 * captured at start; the client already rewrote the usn inside incoming
 * rows/objects to it); the server's outgoing rows and objects are chosen
 * with usn >= client_usn and computed before the client's are applied.
 */
#include "col_sync.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "col_internal.h"
#include "col_json.h"
#include "col_model.h"
#include "col_notes.h"
#include "col_store.h"
#include "tags.h"

struct id_list {
	int64_t *v;
	size_t n;
};

struct col_sync {
	struct col *c;
	int32_t server_usn;
	int32_t client_usn;
	int client_is_newer;
	int rolled_back;
	int chunks_computed;
	struct id_list revlog, cards, notes; /* server rows still to send */
};

struct col *col_sync_col(const struct col_sync *s)
{
	return s->c;
}

static void id_list_free(struct id_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void sync_free(struct col_sync *s)
{
	id_list_free(&s->revlog);
	id_list_free(&s->cards);
	id_list_free(&s->notes);
	free(s);
}

void col_sync_abort(struct col_sync *s)
{
	if (!s)
		return;
	col_rollback(s->c);
	sync_free(s);
}

/* ---- JSON helpers: ids and numbers as Anki's serde accepts them ---------- */

/* Integer (or, where Anki accepts floats, a real truncated toward zero). */
static int json_i64(const json_t *j, int allow_real, int64_t *out)
{
	if (json_is_integer(j)) {
		*out = json_integer_value(j);
		return 1;
	}
	if (allow_real && json_is_real(j) && isfinite(json_real_value(j)) &&
	    fabs(json_real_value(j)) < 9.2e18) {
		*out = (int64_t)json_real_value(j);
		return 1;
	}
	return 0;
}

/* Ids in legacy start graves may be decimal strings (old AnkiMobile). */
static int json_id(const json_t *j, int allow_string, int64_t *out)
{
	if (json_i64(j, 0, out))
		return 1;
	if (allow_string && json_is_string(j)) {
		char *end;
		const char *t = json_string_value(j);
		long long v = strtoll(t, &end, 10);
		if (*t && !*end) {
			*out = v;
			return 1;
		}
	}
	return 0;
}

/* ---- graves ------------------------------------------------------------- */

static enum status exec_id(struct col *c, const char *sql, int64_t id, int32_t usn,
                           struct errinfo *e)
{
	sqlite3_stmt *st;
	enum status s = col_stmt(c, sql, &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, usn);
	return col_stmt_run(c, st, e, "applying a deletion");
}

/* Apply {"cards":[...],"decks":[...],"notes":[...]} (all keys required):
 * delete the rows, record graves with insert-or-ignore (§3.4). */
static enum status apply_graves(struct col_sync *s, const json_t *g, int allow_strings,
                                struct errinfo *e)
{
	static const char del_note[] = "delete from notes where id = ?1";
	static const char del_card[] = "delete from cards where id = ?1";
	static const char del_deck[] = "delete from decks where id = ?1";
	static const char grave_note[] =
	    "insert or ignore into graves (oid, type, usn) values (?1, 1, ?2)";
	static const char grave_card[] =
	    "insert or ignore into graves (oid, type, usn) values (?1, 0, ?2)";
	static const char grave_deck[] =
	    "insert or ignore into graves (oid, type, usn) values (?1, 2, ?2)";
	static const struct {
		const char *key, *del, *grave;
	} kinds[] = {{"notes", del_note, grave_note},
	             {"cards", del_card, grave_card},
	             {"decks", del_deck, grave_deck}};
	if (!json_is_object(g))
		return errinfo_set(e, ST_INVALID, "graves must be an object");
	for (size_t k = 0; k < 3; k++)
		if (!json_is_array(json_object_get(g, kinds[k].key)))
			return errinfo_set(e, ST_INVALID, "graves: missing field `%s`",
			                   kinds[k].key);
	for (size_t k = 0; k < 3; k++) {
		const json_t *arr = json_object_get(g, kinds[k].key);
		size_t i;
		const json_t *v;
		json_array_foreach(arr, i, v)
		{
			int64_t id;
			if (!json_id(v, allow_strings, &id))
				return errinfo_set(e, ST_INVALID, "graves.%s[%zu] is not an id",
				                   kinds[k].key, i);
			enum status st = exec_id(s->c, kinds[k].del, id, s->server_usn, e);
			if (!st)
				st = exec_id(s->c, kinds[k].grave, id, s->server_usn, e);
			if (st)
				return st;
		}
	}
	return ST_OK;
}

/* The ids sql selects for usn >= ?1 (out is empty before). */
static enum status select_ids(struct col *c, const char *sql, int32_t usn, struct id_list *out,
                              struct errinfo *e)
{
	int64_t arg = usn;
	return col_query_ids(c, sql, &arg, 1, &out->v, &out->n, e);
}

static json_t *id_array(const struct id_list *l)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < l->n; i++)
		json_array_append_new(a, json_integer(l->v[i]));
	return a;
}

enum status col_sync_start(struct col *c, const json_t *req, struct col_sync **out, json_t **resp,
                           struct errinfo *e)
{
	*out = NULL;
	*resp = NULL;
	const json_t *jmin = json_object_get(req, "minUsn");
	const json_t *jnewer = json_object_get(req, "lnewer");
	int64_t min_usn;
	if (!json_is_object(req) || !json_i64(jmin, 0, &min_usn) || min_usn < INT32_MIN ||
	    min_usn > INT32_MAX)
		return errinfo_set(e, ST_INVALID, "start: missing or invalid field `minUsn`");
	if (!json_is_boolean(jnewer))
		return errinfo_set(e, ST_INVALID, "start: missing or invalid field `lnewer`");
	const json_t *graves = json_object_get(req, "graves");
	json_t *parsed_graves = NULL;
	if (json_is_string(graves)) { /* legacy: graves as a JSON string */
		json_error_t jerr;
		parsed_graves = json_loads(json_string_value(graves), 0, &jerr);
		if (!parsed_graves)
			return errinfo_set(e, ST_INVALID, "start: graves: %s", jerr.text);
		graves = parsed_graves;
	}
	struct col_sync *s = calloc(1, sizeof *s);
	if (!s) {
		json_decref(parsed_graves);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	s->c = c;
	s->client_usn = (int32_t)min_usn;
	s->client_is_newer = json_is_true(jnewer);
	struct col_meta m = {0};
	/* Every "insert or replace" of a chunk row needs a statement journal;
	 * in a transaction this long SQLite would spill it to a temporary file
	 * once past 64 KiB and then write each row's pages there (a pwrite per
	 * page, most of applyChunk's time).  A statement journal holds only the
	 * pages one statement touches, so memory is the right place. */
	enum status st = col_exec(c, "pragma temp_store = memory", e);
	if (!st)
		st = col_begin(c, e);
	if (!st)
		st = col_meta_get(c, &m, e);
	if (!st)
		s->server_usn = m.usn;
	struct id_list gc = {0}, gn = {0}, gd = {0};
	if (!st)
		st = select_ids(c, "select oid from graves where type = 0 and usn >= ?1",
		                s->client_usn, &gc, e);
	if (!st)
		st = select_ids(c, "select oid from graves where type = 1 and usn >= ?1",
		                s->client_usn, &gn, e);
	if (!st)
		st = select_ids(c, "select oid from graves where type = 2 and usn >= ?1",
		                s->client_usn, &gd, e);
	if (!st && graves && !json_is_null(graves))
		st = apply_graves(s, graves, 1, e);
	json_decref(parsed_graves);
	if (!st) {
		*resp = json_pack("{s:o,s:o,s:o}", "cards", id_array(&gc), "decks", id_array(&gd),
		                  "notes", id_array(&gn));
		if (!*resp)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	id_list_free(&gc);
	id_list_free(&gn);
	id_list_free(&gd);
	if (st) {
		col_sync_abort(s);
		return st;
	}
	*out = s;
	return ST_OK;
}

static enum status check_live(struct col_sync *s, struct errinfo *e)
{
	if (s->rolled_back)
		return errinfo_set(e, ST_CONFLICT,
		                   "the sync was rolled back after a failed sanity check");
	return ST_OK;
}

enum status col_sync_apply_graves(struct col_sync *s, const json_t *req, struct errinfo *e)
{
	enum status st = check_live(s, e);
	if (st)
		return st;
	const json_t *chunk = json_object_get(req, "chunk");
	if (!chunk)
		return errinfo_set(e, ST_INVALID, "applyGraves: missing field `chunk`");
	return apply_graves(s, chunk, 0, e);
}

/* ---- applyChanges ------------------------------------------------------- */

static enum status changed_objects(struct col_sync *s, const char *table, json_t **out,
                                   struct errinfo *e)
{
	char sql[96];
	snprintf(sql, sizeof sql, "select id from %s where usn >= ?1 order by id", table);
	struct id_list ids = {0};
	enum status st = select_ids(s->c, sql, s->client_usn, &ids, e);
	json_t *arr = json_array();
	for (size_t i = 0; i < ids.n && !st; i++) {
		json_t *j = NULL;
		st = col_store_object_json(s->c, table, ids.v[i], &j, e);
		if (!st && (!j || json_array_append_new(arr, j) != 0))
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	id_list_free(&ids);
	if (st || !arr) {
		json_decref(arr);
		return st ? st : errinfo_set(e, ST_NOMEM, "out of memory");
	}
	*out = arr;
	return ST_OK;
}

static enum status changed_tags(struct col_sync *s, json_t **out, struct errinfo *e)
{
	sqlite3_stmt *st;
	int rc =
	    sqlite3_prepare_v2(col_db(s->c), "select tag from tags where usn >= ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(s->c), rc, e, "listing tags");
	sqlite3_bind_int(st, 1, s->client_usn);
	json_t *arr = json_array();
	while (arr && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(arr, json_string((const char *)sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	if (!arr)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	*out = arr;
	return ST_OK;
}

/* Object mtime of an existing row, or -1 when absent. */
static enum status existing_mtime(struct col *c, const char *table, int64_t id, int64_t *mtime,
                                  struct errinfo *e)
{
	char sql[96];
	snprintf(sql, sizeof sql, "select mtime_secs from %s where id = ?1", table);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(col_db(c), sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, table);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	*mtime = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK
	                                             : col_sqlite_err(col_db(c), rc, e, table);
}

static enum status apply_notetypes(struct col_sync *s, const json_t *arr, struct errinfo *e)
{
	if (!json_is_array(arr))
		return errinfo_set(e, ST_INVALID, "applyChanges: `models` must be an array");
	size_t i;
	const json_t *v;
	json_array_foreach(arr, i, v)
	{
		struct notetype nt;
		memset(&nt, 0, sizeof nt);
		enum status st = notetype_from_json(v, &nt, e);
		int64_t mt = -1;
		if (!st)
			st = existing_mtime(s->c, "notetypes", nt.id, &mt, e);
		if (!st && mt >= 0 && mt <= nt.mtime) {
			struct notetype old;
			st = col_load_notetype(s->c, nt.id, &old, e);
			if (!st) {
				if (old.nfields != nt.nfields || old.ntemplates != nt.ntemplates)
					st = errinfo_set(
					    e, ST_CONFLICT,
					    "notetype schema changed: %s (a full sync is required)",
					    nt.name);
				notetype_free(&old);
			}
		}
		if (!st && (mt < 0 || mt <= nt.mtime))
			st = col_store_notetype(s->c, &nt, COL_STORE_SYNC, e);
		notetype_free(&nt);
		if (st)
			return errinfo_prefix(e, "models[%zu]", i);
	}
	return ST_OK;
}

static enum status apply_decks(struct col_sync *s, const json_t *decks, const json_t *confs,
                               struct errinfo *e)
{
	size_t i;
	const json_t *v;
	json_array_foreach(decks, i, v)
	{
		struct deck d;
		memset(&d, 0, sizeof d);
		enum status st = deck_from_json(v, &d, e);
		int64_t mt = -1;
		if (!st)
			st = existing_mtime(s->c, "decks", d.id, &mt, e);
		if (!st && (mt < 0 || mt <= d.mtime))
			st = col_store_deck(s->c, &d, COL_STORE_SYNC, e);
		deck_free(&d);
		if (st)
			return errinfo_prefix(e, "decks[%zu]", i);
	}
	json_array_foreach(confs, i, v)
	{
		struct deckconf dc;
		memset(&dc, 0, sizeof dc);
		enum status st = deckconf_from_json(v, &dc, e);
		int64_t mt = -1;
		if (!st)
			st = existing_mtime(s->c, "deck_config", dc.id, &mt, e);
		if (!st && (mt < 0 || mt <= dc.mtime))
			st = col_store_deckconf(s->c, &dc, e);
		deckconf_free(&dc);
		if (st)
			return errinfo_prefix(e, "deck config[%zu]", i);
	}
	return ST_OK;
}

static enum status apply_tags(struct col_sync *s, const json_t *arr, struct errinfo *e)
{
	if (!json_is_array(arr))
		return errinfo_set(e, ST_INVALID, "applyChanges: `tags` must be an array");
	size_t i;
	const json_t *v;
	struct buf name;
	buf_init(&name, 0);
	enum status st = ST_OK;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v)) {
			st = errinfo_set(e, ST_INVALID, "tags[%zu] is not a string", i);
			break;
		}
		st = tags_normalize_name(json_string_value(v), json_string_length(v), &name, e);
		/* an existing tag (unicase primary key) keeps its usn */
		if (!st && name.len)
			st = col_tag_register(s->c, (const char *)name.data, s->server_usn, e);
		if (st)
			break;
	}
	buf_free(&name);
	return st;
}

static enum status apply_conf(struct col_sync *s, const json_t *conf, struct errinfo *e)
{
	if (!json_is_object(conf))
		return errinfo_set(e, ST_INVALID, "applyChanges: `conf` must be an object");
	enum status st = col_exec(s->c, "delete from config", e);
	const char *key;
	const json_t *val;
	int64_t now = col_now_secs();
	json_object_foreach((json_t *)conf, key, val)
	{
		if (st)
			break;
		st = col_config_set_raw(s->c, key, val, s->server_usn, now, e);
	}
	return st;
}

enum status col_sync_apply_changes(struct col_sync *s, const json_t *req, json_t **resp,
                                   struct errinfo *e)
{
	*resp = NULL;
	enum status st = check_live(s, e);
	if (st)
		return st;
	const json_t *ch = json_object_get(req, "changes");
	if (!json_is_object(ch))
		return errinfo_set(e, ST_INVALID, "applyChanges: missing field `changes`");
	const json_t *models = json_object_get(ch, "models");
	const json_t *decks = json_object_get(ch, "decks");
	const json_t *tags = json_object_get(ch, "tags");
	const json_t *deck_list = NULL, *conf_list = NULL;
	if (json_is_array(decks) && json_array_size(decks) == 2) {
		deck_list = json_array_get(decks, 0);
		conf_list = json_array_get(decks, 1);
	} else if (json_is_object(decks)) { /* also accepted: {"decks":[...],"config":[...]} */
		deck_list = json_object_get(decks, "decks");
		conf_list = json_object_get(decks, "config");
	}
	if (!models || !tags || !json_is_array(deck_list) || !json_is_array(conf_list))
		return errinfo_set(e, ST_INVALID,
		                   "applyChanges: `models`, `decks` and `tags` are required");
	const json_t *jcrt = json_object_get(ch, "crt");
	int64_t crt = 0;
	if (jcrt && !json_is_null(jcrt) && !json_i64(jcrt, 0, &crt))
		return errinfo_set(e, ST_INVALID, "applyChanges: `crt` is not an integer");

	/* 1. the server's changes, before anything of the client's is applied */
	json_t *out_models = NULL, *out_decks = NULL, *out_confs = NULL, *out_tags = NULL,
	       *out_conf = NULL;
	st = changed_objects(s, "notetypes", &out_models, e);
	if (!st)
		st = changed_objects(s, "decks", &out_decks, e);
	if (!st)
		st = changed_objects(s, "deck_config", &out_confs, e);
	if (!st)
		st = changed_tags(s, &out_tags, e);
	struct col_meta m = {0};
	if (!st && !s->client_is_newer) {
		st = col_config_all(s->c, &out_conf, e);
		if (!st)
			st = col_exec(s->c, "update config set usn = 0", e);
		if (!st)
			st = col_meta_get(s->c, &m, e);
	}
	/* 2. the client's, stamped with the server usn */
	if (!st)
		st = apply_notetypes(s, models, e);
	if (!st)
		st = apply_decks(s, deck_list, conf_list, e);
	if (!st)
		st = apply_tags(s, tags, e);
	if (!st && jcrt && !json_is_null(jcrt)) {
		sqlite3_stmt *u;
		st = col_stmt(s->c, "update col set crt = ?1", &u, e);
		if (!st) {
			sqlite3_bind_int64(u, 1, crt);
			st = col_stmt_run(s->c, u, e, "setting crt");
		}
	}
	const json_t *conf = json_object_get(ch, "conf");
	if (!st && conf && !json_is_null(conf))
		st = apply_conf(s, conf, e);
	if (!st) {
		json_t *r = json_object();
		json_object_set_new(r, "models", out_models);
		json_object_set_new(r, "decks", json_pack("[oo]", out_decks, out_confs));
		json_object_set_new(r, "tags", out_tags);
		out_models = out_decks = out_confs = out_tags = NULL;
		if (out_conf) {
			json_object_set_new(r, "conf", out_conf);
			json_object_set_new(r, "crt", json_integer(m.crt));
			out_conf = NULL;
		}
		*resp = r;
	}
	json_decref(out_models);
	json_decref(out_decks);
	json_decref(out_confs);
	json_decref(out_tags);
	json_decref(out_conf);
	return st;
}

/* ---- chunks --------------------------------------------------------------- */

static json_t *row_json(sqlite3_stmt *st, const int *text_cols)
{
	json_t *a = json_array();
	int n = sqlite3_column_count(st);
	for (int i = 0; a && i < n; i++) {
		int is_text = 0;
		for (const int *t = text_cols; *t >= 0; t++)
			is_text |= *t == i;
		if (is_text) {
			const unsigned char *v = sqlite3_column_text(st, i);
			json_array_append_new(a, json_string(v ? (const char *)v : ""));
		} else {
			json_array_append_new(a, json_integer(sqlite3_column_int64(st, i)));
		}
	}
	return a;
}

static enum status append_row(struct col_sync *s, json_t *arr, const char *sql, int64_t id,
                              const int *text_cols, struct errinfo *e)
{
	sqlite3_stmt *st;
	enum status rs = col_stmt(s->c, sql, &st, e);
	if (rs)
		return rs;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	json_t *row = rc == SQLITE_ROW ? row_json(st, text_cols) : NULL;
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) /* deleted meanwhile by an applied grave: nothing to send */
		return ST_OK;
	if (rc != SQLITE_ROW)
		return col_sqlite_err(col_db(s->c), rc, e, "reading a row to send");
	if (!row || json_array_append_new(arr, row) != 0)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	return ST_OK;
}

enum status col_sync_chunk(struct col_sync *s, json_t **resp, struct errinfo *e)
{
	static const char rev_sql[] = "select id, cid, usn, ease, ivl, lastIvl, factor, time, type "
	                              "from revlog where id = ?1";
	static const char card_sql[] = "select id, nid, did, ord, mod, usn, type, queue, due, ivl, "
	                               "factor, reps, lapses, left, odue, odid, flags, data "
	                               "from cards where id = ?1";
	/* sfld and csum go out as "" (the receiver recomputes), flags 0, data "" */
	static const char note_sql[] = "select id, guid, mid, mod, usn, tags, flds, '', '', 0, '' "
	                               "from notes where id = ?1";
	static const int rev_text[] = {-1}, card_text[] = {17, -1},
	                 note_text[] = {1, 5, 6, 7, 8, 10, -1};
	*resp = NULL;
	enum status st = check_live(s, e);
	if (st)
		return st;
	if (!s->chunks_computed) {
		st = select_ids(s->c, "select id from revlog where usn >= ?1", s->client_usn,
		                &s->revlog, e);
		if (!st)
			st = select_ids(s->c, "select id from cards where usn >= ?1", s->client_usn,
			                &s->cards, e);
		if (!st)
			st = select_ids(s->c, "select id from notes where usn >= ?1", s->client_usn,
			                &s->notes, e);
		if (st)
			return st;
		s->chunks_computed = 1;
	}
	json_t *rev = json_array(), *cards = json_array(), *notes = json_array();
	int limit = COL_SYNC_CHUNK_SIZE;
	while (!st && limit > 0) {
		int before = limit;
		if (s->revlog.n) {
			st = append_row(s, rev, rev_sql, s->revlog.v[--s->revlog.n], rev_text, e);
			limit--;
		}
		if (!st && s->notes.n) {
			st = append_row(s, notes, note_sql, s->notes.v[--s->notes.n], note_text, e);
			limit--;
		}
		if (!st && s->cards.n) {
			st = append_row(s, cards, card_sql, s->cards.v[--s->cards.n], card_text, e);
			limit--;
		}
		if (limit == before)
			break;
	}
	if (st) {
		json_decref(rev);
		json_decref(cards);
		json_decref(notes);
		return st;
	}
	json_t *r = json_object();
	json_object_set_new(r, "done", json_boolean(limit > 0));
	/* empty lists are omitted, as Anki does */
	if (json_array_size(rev))
		json_object_set(r, "revlog", rev);
	if (json_array_size(cards))
		json_object_set(r, "cards", cards);
	if (json_array_size(notes))
		json_object_set(r, "notes", notes);
	json_decref(rev);
	json_decref(cards);
	json_decref(notes);
	*resp = r;
	return ST_OK;
}

/* A row tuple of exactly n elements. */
static enum status tuple(const json_t *row, size_t n, const char *what, size_t i, struct errinfo *e)
{
	if (!json_is_array(row) || json_array_size(row) != n)
		return errinfo_set(e, ST_INVALID, "%s[%zu] must be an array of %zu values", what, i,
		                   n);
	return ST_OK;
}

static enum status tuple_int(const json_t *row, size_t k, int allow_real, int64_t lo, int64_t hi,
                             int64_t *out, const char *what, size_t i, struct errinfo *e)
{
	if (!json_i64(json_array_get(row, k), allow_real, out) || *out < lo || *out > hi)
		return errinfo_set(e, ST_INVALID, "%s[%zu][%zu] is out of range", what, i, k);
	return ST_OK;
}

/* Is the existing row (usn, mod) changed here since the client's last sync
 * and at least as new as the incoming one? Then it wins (§3.12). */
static enum status local_wins(struct col_sync *s, const char *sql, int64_t id, int64_t mod,
                              int *wins, struct errinfo *e)
{
	sqlite3_stmt *st;
	enum status rs = col_stmt(s->c, sql, &st, e);
	if (rs)
		return rs;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	*wins = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) >= s->client_usn &&
	        sqlite3_column_int64(st, 1) >= mod;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
	           ? ST_OK
	           : col_sqlite_err(col_db(s->c), rc, e, "reading a row");
}

static enum status apply_revlog(struct col_sync *s, const json_t *arr, struct errinfo *e)
{
	static const char sql[] = "insert or ignore into revlog (id, cid, usn, ease, ivl, lastIvl, "
	                          "factor, time, type) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
	size_t i;
	const json_t *row;
	json_array_foreach(arr, i, row)
	{
		int64_t v[9] = {0};
		enum status st = tuple(row, 9, "revlog", i, e);
		static const struct {
			int real;
			int64_t lo, hi;
		} r[9] = {{0, INT64_MIN, INT64_MAX}, {0, INT64_MIN, INT64_MAX},
		          {0, INT32_MIN, INT32_MAX}, {0, 0, 255},
		          {1, INT32_MIN, INT32_MAX}, {1, INT32_MIN, INT32_MAX},
		          {1, 0, UINT32_MAX},        {1, 0, UINT32_MAX},
		          {1, INT64_MIN, INT64_MAX}};
		for (size_t k = 0; k < 9 && !st; k++)
			st = tuple_int(row, k, r[k].real, r[k].lo, r[k].hi, &v[k], "revlog", i, e);
		if (!st && (v[8] < 0 || v[8] > 5)) /* invalid kind reads as 0 */
			v[8] = 0;
		sqlite3_stmt *stmt;
		if (!st)
			st = col_stmt(s->c, sql, &stmt, e);
		if (!st) {
			for (int k = 0; k < 9; k++)
				sqlite3_bind_int64(stmt, k + 1, v[k]);
			st = col_stmt_run(s->c, stmt, e, "writing a review");
		}
		if (st)
			return st;
	}
	return ST_OK;
}

static enum status apply_cards(struct col_sync *s, const json_t *arr, struct errinfo *e)
{
	static const char cmp_sql[] = "select usn, mod from cards where id = ?1";
	static const char sql[] = "insert or replace into cards (id, nid, did, ord, mod, usn, "
	                          "type, queue, due, ivl, factor,"
	                          " reps, lapses, left, odue, odid, flags, data) values (?1, ?2, "
	                          "?3, ?4, ?5, ?6, ?7, ?8, ?9,"
	                          " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";
	static const struct {
		int real;
		int64_t lo, hi;
	} r[17] = {{0, INT64_MIN, INT64_MAX},
	           {0, INT64_MIN, INT64_MAX},
	           {0, INT64_MIN, INT64_MAX},
	           {0, 0, 65535},
	           {1, INT64_MIN, INT64_MAX},
	           {0, INT32_MIN, INT32_MAX},
	           {0, 0, 3},
	           {0, -3, 4},
	           {1, INT32_MIN, INT32_MAX},
	           {1, INT64_MIN, UINT32_MAX},
	           {0, 0, 65535},
	           {0, 0, UINT32_MAX},
	           {0, 0, UINT32_MAX},
	           {0, 0, UINT32_MAX},
	           {1, INT32_MIN, INT32_MAX},
	           {0, INT64_MIN, INT64_MAX},
	           {0, 0, 255}};
	size_t i;
	const json_t *row;
	json_array_foreach(arr, i, row)
	{
		int64_t v[17] = {0};
		enum status st = tuple(row, 18, "cards", i, e);
		for (size_t k = 0; k < 17 && !st; k++)
			st = tuple_int(row, k, r[k].real, r[k].lo, r[k].hi, &v[k], "cards", i, e);
		const json_t *data = json_array_get(row, 17);
		if (!st && !json_is_string(data))
			st = errinfo_set(e, ST_INVALID, "cards[%zu][17] must be a string", i);
		if (!st && v[9] < 0) /* negative interval reads as 0 */
			v[9] = 0;
		int wins = 0;
		if (!st)
			st = local_wins(s, cmp_sql, v[0], v[4], &wins, e);
		if (st)
			return st;
		if (wins)
			continue;
		const char *d = json_string_value(data);
		json_error_t jerr;
		json_t *parsed = *d ? json_loads(d, 0, &jerr) : NULL;
		int valid = json_is_object(parsed); /* anything else is treated as empty */
		json_decref(parsed);
		sqlite3_stmt *stmt;
		st = col_stmt(s->c, sql, &stmt, e);
		if (st)
			return st;
		for (int k = 0; k < 17; k++)
			sqlite3_bind_int64(stmt, k + 1, v[k]);
		sqlite3_bind_text(stmt, 18, valid ? d : "{}", -1, SQLITE_TRANSIENT);
		if ((st = col_stmt_run(s->c, stmt, e, "writing a card")))
			return st;
	}
	return ST_OK;
}

static enum status apply_notes(struct col_sync *s, const json_t *arr, struct errinfo *e)
{
	static const char cmp_sql[] = "select usn, mod from notes where id = ?1";
	static const char sql[] = "insert or replace into notes (id, guid, mid, mod, usn, tags, "
	                          "flds, sfld, csum, flags, data)"
	                          " values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, '')";
	size_t i;
	const json_t *row;
	json_array_foreach(arr, i, row)
	{
		int64_t id = 0, mid = 0, mod = 0, usn = 0;
		enum status st = tuple(row, 11, "notes", i, e);
		if (!st)
			st = tuple_int(row, 0, 0, INT64_MIN, INT64_MAX, &id, "notes", i, e);
		if (!st)
			st = tuple_int(row, 2, 0, INT64_MIN, INT64_MAX, &mid, "notes", i, e);
		if (!st)
			st = tuple_int(row, 3, 0, INT64_MIN, INT64_MAX, &mod, "notes", i, e);
		if (!st)
			st = tuple_int(row, 4, 0, INT32_MIN, INT32_MAX, &usn, "notes", i, e);
		const json_t *guid = json_array_get(row, 1), *tags = json_array_get(row, 5),
		             *flds = json_array_get(row, 6);
		if (!st &&
		    (!json_is_string(guid) || !json_is_string(tags) || !json_is_string(flds)))
			st = errinfo_set(e, ST_INVALID,
			                 "notes[%zu]: guid, tags and fields must be strings", i);
		int wins = 0;
		if (!st)
			st = local_wins(s, cmp_sql, id, mod, &wins, e);
		if (st)
			return st;
		if (wins)
			continue;
		struct note n = {.id = id, .mid = mid, .mod = mod, .usn = (int32_t)usn};
		n.flds = strdup(json_string_value(flds));
		if (!n.flds)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		/* the notetype must exist and the field count match (§3.7) */
		st = col_note_prepare(s->c, &n, e);
		sqlite3_stmt *stmt;
		if (!st)
			st = col_stmt(s->c, sql, &stmt, e);
		if (!st) {
			sqlite3_bind_int64(stmt, 1, id);
			sqlite3_bind_text(stmt, 2, json_string_value(guid), -1, SQLITE_STATIC);
			sqlite3_bind_int64(stmt, 3, mid);
			sqlite3_bind_int64(stmt, 4, mod);
			sqlite3_bind_int64(stmt, 5, usn);
			sqlite3_bind_text(stmt, 6, json_string_value(tags), -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 7, n.flds, -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 8, n.sfld, -1, SQLITE_STATIC);
			sqlite3_bind_int64(stmt, 9, (int64_t)n.csum);
			st = col_stmt_run(s->c, stmt, e, "writing a note");
		}
		note_free(&n);
		if (st)
			return errinfo_prefix(e, "notes[%zu] (note %lld)", i, (long long)id);
	}
	return ST_OK;
}

enum status col_sync_apply_chunk(struct col_sync *s, const json_t *req, struct errinfo *e)
{
	enum status st = check_live(s, e);
	if (st)
		return st;
	const json_t *ch = json_object_get(req, "chunk");
	if (!json_is_object(ch))
		return errinfo_set(e, ST_INVALID, "applyChunk: missing field `chunk`");
	static const char *keys[] = {"revlog", "cards", "notes"};
	for (size_t k = 0; k < 3; k++) {
		const json_t *a = json_object_get(ch, keys[k]);
		if (a && !json_is_array(a) && !json_is_null(a))
			return errinfo_set(e, ST_INVALID, "applyChunk: `%s` must be an array",
			                   keys[k]);
	}
	const json_t *done = json_object_get(ch, "done");
	if (done && !json_is_boolean(done))
		return errinfo_set(e, ST_INVALID, "applyChunk: `done` must be a boolean");
	/* revlog, then cards, then notes, as the client applies them */
	st = apply_revlog(s, json_object_get(ch, "revlog"), e);
	if (!st)
		st = apply_cards(s, json_object_get(ch, "cards"), e);
	if (!st)
		st = apply_notes(s, json_object_get(ch, "notes"), e);
	return st;
}

/* ---- sanity check and finish ------------------------------------------- */

static enum status count_rows(struct col *c, const char *sql, int64_t *out, struct errinfo *e)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(col_db(c), sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, "counting");
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? ST_OK : col_sqlite_err(col_db(c), rc, e, "counting");
}

enum status col_sync_counts(struct col *c, json_t **out, struct errinfo *e)
{
	*out = NULL;
	int64_t pending = 0;
	enum status st = count_rows(
	    c,
	    "select (select count(*) from cards where usn = -1) + (select count(*) from notes "
	    "where "
	    "usn = -1) + (select count(*) from revlog where usn = -1) + (select count(*) from "
	    "graves "
	    "where usn = -1) + (select count(*) from decks where usn = -1) + (select count(*) from "
	    "deck_config where usn = -1) + (select count(*) from tags where usn = -1) + (select "
	    "count(*) from notetypes where usn = -1)",
	    &pending, e);
	if (st || pending)
		return st;
	static const char *tables[] = {"cards",     "notes", "revlog",     "graves",
	                               "notetypes", "decks", "deck_config"};
	json_t *a = json_pack("[[iii]]", 0, 0, 0);
	for (size_t i = 0; a && i < 7 && !st; i++) {
		char sql[64];
		int64_t n = 0;
		snprintf(sql, sizeof sql, "select count(*) from %s", tables[i]);
		st = count_rows(c, sql, &n, e);
		if (!st)
			json_array_append_new(a, json_integer(n));
	}
	if (!a)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	if (st) {
		json_decref(a);
		return st;
	}
	*out = a;
	return ST_OK;
}

/* Client counts as an 8-element array, or the object form (§3.8). */
static json_t *client_counts(const json_t *j)
{
	if (json_is_array(j) && json_array_size(j) == 8)
		return json_deep_copy(j);
	if (!json_is_object(j))
		return NULL;
	static const char *keys[] = {"counts", "cards",  "notes", "revlog",
	                             "graves", "models", "decks", "deck_config"};
	json_t *a = json_array();
	for (size_t i = 0; a && i < 8; i++) {
		const json_t *v = json_object_get(j, keys[i]);
		if (!v) {
			json_decref(a);
			return NULL;
		}
		json_array_append(a, (json_t *)v);
	}
	return a;
}

static int counts_valid(const json_t *a)
{
	if (!json_is_array(a) || json_array_size(a) != 8 || !json_is_array(json_array_get(a, 0)) ||
	    json_array_size(json_array_get(a, 0)) != 3)
		return 0;
	for (size_t i = 1; i < 8; i++)
		if (!json_is_integer(json_array_get(a, i)) ||
		    json_integer_value(json_array_get(a, i)) < 0)
			return 0;
	return 1;
}

enum status col_sync_sanity(struct col_sync *s, const json_t *req, json_t **resp, int *ok,
                            struct errinfo *e)
{
	*resp = NULL;
	*ok = 0;
	enum status st = check_live(s, e);
	if (st)
		return st;
	json_t *client = client_counts(json_object_get(req, "client"));
	if (!counts_valid(client)) {
		json_decref(client);
		return errinfo_set(e, ST_INVALID,
		                   "sanityCheck2: missing or invalid field `client`");
	}
	json_t *server = NULL;
	st = col_sync_counts(s->c, &server, e);
	if (st) {
		json_decref(client);
		return st;
	}
	if (server) {
		/* due counts are not compared; graves neither (older clients may
		 * hold duplicate deletion markers) */
		json_array_set_new(client, 0, json_pack("[iii]", 0, 0, 0));
		json_array_set_new(client, 4, json_integer(0));
		json_array_set_new(server, 4, json_integer(0));
		*ok = json_equal(client, server);
	}
	*resp = json_pack("{s:s,s:o,s:o}", "status", *ok ? "ok" : "bad", "c", client, "s",
	                  server ? server : json_null());
	if (!*ok) { /* roll back now rather than waiting for abort */
		col_rollback(s->c);
		s->rolled_back = 1;
	}
	return *resp ? ST_OK : errinfo_set(e, ST_NOMEM, "out of memory");
}

enum status col_sync_finish(struct col_sync *s, int64_t *mod_ms, struct errinfo *e)
{
	enum status st = check_live(s, e);
	int64_t now = col_now_ms();
	sqlite3_stmt *u;
	if (!st)
		st = col_stmt(s->c, "update col set ls = ?1, usn = usn + 1", &u, e);
	if (!st) {
		sqlite3_bind_int64(u, 1, now);
		st = col_stmt_run(s->c, u, e, "finishing the sync");
	}
	if (!st)
		st = col_commit(s->c, e);
	if (!st)
		st = col_stmt(s->c, "update col set mod = ?1", &u, e);
	if (!st) { /* autocommit, after the commit, as Anki does */
		sqlite3_bind_int64(u, 1, now);
		st = col_stmt_run(s->c, u, e, "finishing the sync");
	}
	if (st)
		col_rollback(s->c);
	else
		*mod_ms = now;
	sync_free(s);
	return st;
}
