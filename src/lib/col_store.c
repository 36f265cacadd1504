/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_store.c - schema 18 object tables <-> col_model objects.
 * collection-format.md §2 (tables, blob encodings), §3 (the JSON forms used
 * while upgrading and downgrading), §4.2 steps 14-16.
 */
#include "col_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "col_internal.h"
#include "col_json.h"
#include "col_proto.h"
#include "unicase.h"

#define DB(c) col_db(c)

static enum status prep(struct col *c, const char *sql, sqlite3_stmt **st, struct errinfo *e)
{
	int rc = sqlite3_prepare_v2(DB(c), sql, -1, st, NULL);
	return rc == SQLITE_OK ? ST_OK : col_sqlite_err(DB(c), rc, e, "preparing a statement");
}

/* Step a write statement to completion, then finalize it. */
static enum status run(struct col *c, sqlite3_stmt *st, struct errinfo *e, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ST_OK : col_sqlite_err(DB(c), rc, e, what);
}

/* Bind a blob that may be empty: a zero-length BLOB, never NULL (§1.4). */
static void bind_blob(sqlite3_stmt *st, int i, const struct buf *b)
{
	static const unsigned char empty[1];
	sqlite3_bind_blob(st, i, b->len ? (const void *)b->data : (const void *)empty, (int)b->len,
	                  SQLITE_TRANSIENT);
}

enum status col_query_ids(struct col *c, const char *sql, const int64_t *args, size_t nargs,
                          int64_t **ids, size_t *n, struct errinfo *e)
{
	*ids = NULL;
	*n = 0;
	sqlite3_stmt *st;
	enum status s = prep(c, sql, &st, e);
	if (s)
		return s;
	for (size_t i = 0; i < nargs; i++)
		sqlite3_bind_int64(st, (int)i + 1, args[i]);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			int64_t *v = realloc(*ids, cap * sizeof *v);
			if (!v) {
				s = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			*ids = v;
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	if (!s && rc != SQLITE_DONE)
		s = col_sqlite_err(DB(c), rc, e, "reading ids");
	sqlite3_finalize(st);
	if (s) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return s;
}

enum status col_list_ids(struct col *c, const char *table, int64_t **ids, size_t *n,
                         struct errinfo *e)
{
	char sql[96];
	snprintf(sql, sizeof sql, "select id from %s order by id", table);
	return col_query_ids(c, sql, NULL, 0, ids, n, e);
}

/* ---- notetypes ---------------------------------------------------------- */

/* Make names[i] unique among names[0..i) (unicase) by appending suffix. */
static enum status uniquify(char **names, size_t i, const char *suffix, struct errinfo *e)
{
	for (;;) {
		size_t j;
		for (j = 0; j < i; j++)
			if (unicase_compare(names[i], -1, names[j], -1) == 0)
				break;
		if (j == i)
			return ST_OK;
		size_t n = strlen(names[i]);
		char *p = realloc(names[i], n + strlen(suffix) + 1);
		if (!p)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		strcpy(p + n, suffix);
		names[i] = p;
	}
}

static enum status name_taken(struct col *c, const char *table, const char *name, int64_t id,
                              int *taken, struct errinfo *e)
{
	char sql[128];
	snprintf(sql, sizeof sql, "select 1 from %s where name = ?1 and id != ?2", table);
	sqlite3_stmt *st;
	enum status s = prep(c, sql, &st, e);
	if (s)
		return s;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return col_sqlite_err(DB(c), rc, e, "checking a name");
	*taken = rc == SQLITE_ROW;
	return ST_OK;
}

/* Unique object name: ST_EXISTS normally, "_" appended on upgrade, "+"
 * on sync; *renamed tells whether the name changed. */
static enum status unique_object_name(struct col *c, const char *table, char **name, int64_t id,
                                      enum col_store_mode mode, int *renamed, struct errinfo *e)
{
	*renamed = 0;
	for (;;) {
		int taken = 0;
		enum status s = name_taken(c, table, *name, id, &taken, e);
		if (s || !taken)
			return s;
		if (mode == COL_STORE_NORMAL)
			return errinfo_set(e, ST_EXISTS, "a %s named \"%s\" already exists",
			                   strcmp(table, "decks") == 0 ? "deck" : "notetype",
			                   *name);
		size_t n = strlen(*name);
		char *p = realloc(*name, n + 2);
		if (!p)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		p[n] = mode == COL_STORE_SYNC ? '+' : '_';
		p[n + 1] = '\0';
		*name = p;
		*renamed = 1;
	}
}

enum status col_store_notetype(struct col *c, struct notetype *nt, enum col_store_mode mode,
                               struct errinfo *e)
{
	enum status s = ST_OK;
	if (mode == COL_STORE_UPGRADE) {
		char **names = malloc((nt->nfields + nt->ntemplates + 1) * sizeof *names);
		if (!names)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		for (size_t i = 0; i < nt->nfields && !s; i++) {
			names[i] = nt->fields[i].name;
			s = uniquify(names, i, "+", e);
			nt->fields[i].name = names[i];
		}
		for (size_t i = 0; i < nt->ntemplates && !s; i++) {
			names[i] = nt->templates[i].name;
			s = uniquify(names, i, "+", e);
			nt->templates[i].name = names[i];
		}
		free(names);
	}
	int renamed = 0;
	if (!s)
		s = unique_object_name(c, "notetypes", &nt->name, nt->id, mode, &renamed, e);
	if (s)
		return s;
	if (renamed && mode == COL_STORE_SYNC) {
		nt->mtime = col_now_secs();
		nt->usn = col_usn(c);
	}
	c->nt_mid = 0; /* forget cached notetype facts */

	struct buf b;
	buf_init(&b, 0);
	sqlite3_stmt *st = NULL;
	s = notetype_config_encode(&nt->cfg, &b, e);
	if (!s)
		s = prep(c,
		         "insert or replace into notetypes (id, name, mtime_secs, usn, config) "
		         "values (?1, ?2, ?3, ?4, ?5)",
		         &st, e);
	if (!s) {
		sqlite3_bind_int64(st, 1, nt->id);
		sqlite3_bind_text(st, 2, nt->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, nt->mtime);
		sqlite3_bind_int(st, 4, nt->usn);
		bind_blob(st, 5, &b);
		s = run(c, st, e, "writing a notetype");
	}
	if (!s) {
		s = prep(c, "delete from fields where ntid = ?1", &st, e);
		if (!s) {
			sqlite3_bind_int64(st, 1, nt->id);
			s = run(c, st, e, "replacing fields");
		}
	}
	if (!s) {
		s = prep(c, "delete from templates where ntid = ?1", &st, e);
		if (!s) {
			sqlite3_bind_int64(st, 1, nt->id);
			s = run(c, st, e, "replacing templates");
		}
	}
	for (size_t i = 0; i < nt->nfields && !s; i++) {
		buf_reset(&b);
		s = field_config_encode(&nt->fields[i].cfg, &b, e);
		if (!s)
			s = prep(
			    c,
			    "insert into fields (ntid, ord, name, config) values (?1, ?2, ?3, ?4)",
			    &st, e);
		if (!s) {
			sqlite3_bind_int64(st, 1, nt->id);
			sqlite3_bind_int64(st, 2, (int64_t)i);
			sqlite3_bind_text(st, 3, nt->fields[i].name, -1, SQLITE_STATIC);
			bind_blob(st, 4, &b);
			s = run(c, st, e, "writing a field");
		}
	}
	for (size_t i = 0; i < nt->ntemplates && !s; i++) {
		buf_reset(&b);
		s = template_config_encode(&nt->templates[i].cfg, &b, e);
		if (!s)
			s = prep(c,
			         "insert into templates (ntid, ord, name, mtime_secs, usn, config) "
			         "values (?1, ?2, ?3, ?4, ?5, ?6)",
			         &st, e);
		if (!s) {
			sqlite3_bind_int64(st, 1, nt->id);
			sqlite3_bind_int64(st, 2, (int64_t)i);
			sqlite3_bind_text(st, 3, nt->templates[i].name, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, nt->templates[i].mtime);
			sqlite3_bind_int(st, 5, nt->templates[i].usn);
			bind_blob(st, 6, &b);
			s = run(c, st, e, "writing a template");
		}
	}
	buf_free(&b);
	return s;
}

/* The row of a by-id read (sql binds ?1 = id) from a cached statement
 * (col_stmt), stepped to that row: the caller reads it, then resets the
 * statement (never finalizes it).  ST_NOTFOUND "no WHAT ID" without one. */
static enum status row_by_id(struct col *c, const char *sql, int64_t id, const char *what,
                             sqlite3_stmt **st, struct errinfo *e)
{
	enum status s = col_stmt(c, sql, st, e);
	if (s)
		return s;
	sqlite3_bind_int64(*st, 1, id);
	int rc = sqlite3_step(*st);
	if (rc == SQLITE_ROW)
		return ST_OK;
	sqlite3_reset(*st);
	if (rc == SQLITE_DONE)
		return errinfo_set(e, ST_NOTFOUND, "no %s %lld", what, (long long)id);
	s = col_sqlite_err(DB(c), rc, e, "reading");
	errinfo_prefix(e, "%s %lld", what, (long long)id);
	return s;
}

static char *col_strdup_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return strdup(t ? (const char *)t : "");
}

enum status col_load_notetype(struct col *c, int64_t id, struct notetype *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st;
	enum status s =
	    row_by_id(c, "select name, mtime_secs, usn, config from notetypes where id = ?1", id,
	              "notetype", &st, e);
	if (s)
		return s;
	int rc;
	out->id = id;
	out->name = col_strdup_col(st, 0);
	out->mtime = sqlite3_column_int64(st, 1);
	out->usn = sqlite3_column_int(st, 2);
	s = notetype_config_decode(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3),
	                           &out->cfg, e);
	sqlite3_reset(st);
	if (!s && !out->name)
		s = errinfo_set(e, ST_NOMEM, "out of memory");

	if (!s)
		s = col_stmt(c, "select name, config from fields where ntid = ?1 order by ord", &st,
		             e);
	if (!s) {
		sqlite3_bind_int64(st, 1, id);
		while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct nt_field *nf = realloc(out->fields, (out->nfields + 1) * sizeof *nf);
			if (!nf) {
				s = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			out->fields = nf;
			struct nt_field *f = &out->fields[out->nfields];
			memset(f, 0, sizeof *f);
			out->nfields++;
			f->name = col_strdup_col(st, 0);
			s = field_config_decode(sqlite3_column_blob(st, 1),
			                        (size_t)sqlite3_column_bytes(st, 1), &f->cfg, e);
		}
		if (!s && rc != SQLITE_DONE)
			s = col_sqlite_err(DB(c), rc, e, "reading fields");
		sqlite3_reset(st);
	}
	if (!s)
		s = col_stmt(c,
		             "select name, mtime_secs, usn, config from templates where ntid = ?1 "
		             "order by ord",
		             &st, e);
	if (!s) {
		sqlite3_bind_int64(st, 1, id);
		while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct nt_template *nt =
			    realloc(out->templates, (out->ntemplates + 1) * sizeof *nt);
			if (!nt) {
				s = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			out->templates = nt;
			struct nt_template *t = &out->templates[out->ntemplates];
			memset(t, 0, sizeof *t);
			out->ntemplates++;
			t->name = col_strdup_col(st, 0);
			t->mtime = sqlite3_column_int64(st, 1);
			t->usn = sqlite3_column_int(st, 2);
			s = template_config_decode(sqlite3_column_blob(st, 3),
			                           (size_t)sqlite3_column_bytes(st, 3), &t->cfg, e);
		}
		if (!s && rc != SQLITE_DONE)
			s = col_sqlite_err(DB(c), rc, e, "reading templates");
		sqlite3_reset(st);
	}
	if (s) {
		notetype_free(out);
		errinfo_prefix(e, "notetype %lld", (long long)id);
	}
	return s;
}

enum status col_delete_notetype(struct col *c, int64_t id, struct errinfo *e)
{
	static const char *sql[] = {"delete from notetypes where id = ?1",
	                            "delete from fields where ntid = ?1",
	                            "delete from templates where ntid = ?1"};
	for (size_t i = 0; i < 3; i++) {
		sqlite3_stmt *st;
		enum status s = prep(c, sql[i], &st, e);
		if (s)
			return s;
		sqlite3_bind_int64(st, 1, id);
		if ((s = run(c, st, e, "deleting a notetype")))
			return s;
	}
	return ST_OK;
}

/* ---- decks and presets -------------------------------------------------- */

enum status col_store_deck(struct col *c, struct deck *d, enum col_store_mode mode,
                           struct errinfo *e)
{
	int renamed = 0;
	enum status s = unique_object_name(c, "decks", &d->name, d->id, mode, &renamed, e);
	if (s)
		return s;
	if (renamed && mode == COL_STORE_SYNC) {
		d->mtime = col_now_secs();
		d->usn = col_usn(c);
	}
	struct buf common, kind;
	buf_init(&common, 0);
	buf_init(&kind, 0);
	sqlite3_stmt *st = NULL;
	s = deck_common_encode(&d->common, &common, e);
	if (!s)
		s = deck_kind_encode(&d->kind, &kind, e);
	if (!s)
		s = prep(c,
		         "insert or replace into decks (id, name, mtime_secs, usn, common, kind) "
		         "values (?1, ?2, ?3, ?4, ?5, ?6)",
		         &st, e);
	if (!s) {
		sqlite3_bind_int64(st, 1, d->id);
		sqlite3_bind_text(st, 2, d->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, d->mtime);
		sqlite3_bind_int(st, 4, d->usn);
		bind_blob(st, 5, &common);
		bind_blob(st, 6, &kind);
		s = run(c, st, e, "writing a deck");
	}
	buf_free(&common);
	buf_free(&kind);
	return s;
}

enum status col_load_deck(struct col *c, int64_t id, struct deck *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st;
	enum status s =
	    row_by_id(c, "select name, mtime_secs, usn, common, kind from decks where id = ?1", id,
	              "deck", &st, e);
	if (s)
		return s;
	out->id = id;
	out->name = col_strdup_col(st, 0);
	out->mtime = sqlite3_column_int64(st, 1);
	out->usn = sqlite3_column_int(st, 2);
	s = deck_common_decode(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3),
	                       &out->common, e);
	if (!s)
		s = deck_kind_decode(sqlite3_column_blob(st, 4),
		                     (size_t)sqlite3_column_bytes(st, 4), &out->kind, e);
	sqlite3_reset(st);
	if (!s && !out->name)
		s = errinfo_set(e, ST_NOMEM, "out of memory");
	if (s) {
		deck_free(out);
		errinfo_prefix(e, "deck %lld", (long long)id);
	}
	return s;
}

enum status col_delete_deck(struct col *c, int64_t id, struct errinfo *e)
{
	if (id == 1)
		return errinfo_set(e, ST_INVALID, "the default deck cannot be deleted");
	sqlite3_stmt *st;
	enum status s = prep(c, "delete from decks where id = ?1", &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, id);
	if ((s = run(c, st, e, "deleting a deck")))
		return s;
	if (sqlite3_changes(DB(c)) == 0)
		return errinfo_set(e, ST_NOTFOUND, "no deck %lld", (long long)id);
	s = prep(c, "insert or replace into graves (oid, type, usn) values (?1, 2, ?2)", &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, col_usn(c));
	return run(c, st, e, "writing a grave");
}

enum status col_delete_deckconf(struct col *c, int64_t id, struct errinfo *e)
{
	if (id == 1)
		return errinfo_set(e, ST_INVALID, "the default preset cannot be deleted");
	sqlite3_stmt *st;
	enum status s = prep(c, "delete from deck_config where id = ?1", &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, id);
	if ((s = run(c, st, e, "deleting a deck preset")))
		return s;
	if (sqlite3_changes(DB(c)) == 0)
		return errinfo_set(e, ST_NOTFOUND, "no deck preset %lld", (long long)id);
	int64_t *ids = NULL;
	size_t n = 0;
	s = col_list_ids(c, "decks", &ids, &n, e);
	for (size_t i = 0; i < n && !s; i++) {
		struct deck d;
		s = col_load_deck(c, ids[i], &d, e);
		if (s)
			break;
		if (d.kind.type == DECK_KIND_NORMAL && d.kind.normal.config_id == id) {
			d.kind.normal.config_id = 1;
			d.mtime = col_now_secs();
			d.usn = col_usn(c);
			s = col_store_deck(c, &d, COL_STORE_NORMAL, e);
		}
		deck_free(&d);
	}
	free(ids);
	return s ? s : col_touch_schema(c, e);
}

enum status col_store_deckconf(struct col *c, const struct deckconf *dc, struct errinfo *e)
{
	struct buf b;
	buf_init(&b, 0);
	sqlite3_stmt *st = NULL;
	enum status s = deckconf_config_encode(&dc->cfg, &b, e);
	if (!s)
		s = prep(c,
		         "insert or replace into deck_config (id, name, mtime_secs, usn, config) "
		         "values (?1, ?2, ?3, ?4, ?5)",
		         &st, e);
	if (!s) {
		sqlite3_bind_int64(st, 1, dc->id);
		sqlite3_bind_text(st, 2, dc->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, dc->mtime);
		sqlite3_bind_int(st, 4, dc->usn);
		bind_blob(st, 5, &b);
		s = run(c, st, e, "writing a deck preset");
	}
	buf_free(&b);
	return s;
}

enum status col_load_deckconf(struct col *c, int64_t id, struct deckconf *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st;
	enum status s =
	    row_by_id(c, "select name, mtime_secs, usn, config from deck_config where id = ?1", id,
	              "deck preset", &st, e);
	if (s)
		return s;
	out->id = id;
	out->name = col_strdup_col(st, 0);
	out->mtime = sqlite3_column_int64(st, 1);
	out->usn = sqlite3_column_int(st, 2);
	s = deckconf_config_decode(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3),
	                           &out->cfg, e);
	sqlite3_reset(st);
	if (!s && !out->name)
		s = errinfo_set(e, ST_NOMEM, "out of memory");
	if (s) {
		deckconf_free(out);
		errinfo_prefix(e, "deck preset %lld", (long long)id);
	}
	return s;
}

/* ---- config ------------------------------------------------------------- */

enum status col_config_get(struct col *c, const char *key, json_t **out, struct errinfo *e)
{
	static const char sql[] = "select val from config where KEY = ?1";
	sqlite3_stmt *st;
	enum status s = col_stmt(c, sql, &st, e);
	if (s)
		return s;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? errinfo_set(e, ST_NOTFOUND, "no config key %s", key)
		                         : col_sqlite_err(DB(c), rc, e, "reading config");
	}
	json_error_t jerr;
	json_t *j = json_loadb(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
	                       JSON_DECODE_ANY, &jerr);
	sqlite3_reset(st);
	if (!j)
		return errinfo_set(e, ST_CORRUPT, "config key %s is not JSON: %s", key, jerr.text);
	*out = j;
	return ST_OK;
}

enum status col_config_set_raw(struct col *c, const char *key, const json_t *val, int32_t usn,
                               int64_t mtime, struct errinfo *e)
{
	char *text = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	static const char sql[] = "insert or replace into config (KEY, usn, mtime_secs, val) "
	                          "values (?1, ?2, ?3, ?4)";
	sqlite3_stmt *st;
	enum status s = col_stmt(c, sql, &st, e);
	if (!s) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, usn);
		sqlite3_bind_int64(st, 3, mtime);
		sqlite3_bind_blob(st, 4, text, (int)strlen(text), SQLITE_TRANSIENT);
		s = col_stmt_run(c, st, e, "writing config");
	}
	free(text);
	return s;
}

enum status col_config_set(struct col *c, const char *key, const json_t *val, struct errinfo *e)
{
	json_t *old = NULL;
	enum status s = col_config_get(c, key, &old, e);
	if (s && s != ST_NOTFOUND)
		return s;
	int same = old && json_equal(old, val);
	json_decref(old);
	if (same) /* Anki only rewrites (and bumps usn/mtime) on change */
		return ST_OK;
	return col_config_set_raw(c, key, val, col_usn(c), col_now_secs(), e);
}

enum status col_config_all(struct col *c, json_t **out, struct errinfo *e)
{
	sqlite3_stmt *st;
	enum status s = prep(c, "select KEY, val from config", &st, e);
	if (s)
		return s;
	json_t *obj = json_object();
	while (obj && sqlite3_step(st) == SQLITE_ROW) {
		json_error_t jerr;
		json_t *j = json_loadb(sqlite3_column_blob(st, 1),
		                       (size_t)sqlite3_column_bytes(st, 1), JSON_DECODE_ANY, &jerr);
		if (j) /* Anki treats unparsable values as missing */
			json_object_set_new(obj, (const char *)sqlite3_column_text(st, 0), j);
	}
	sqlite3_finalize(st);
	if (!obj)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	*out = obj;
	return ST_OK;
}

/* ---- tags --------------------------------------------------------------- */

enum status col_tag_register(struct col *c, const char *tag, int32_t usn, struct errinfo *e)
{
	sqlite3_stmt *st;
	enum status s = prep(c,
	                     "insert or ignore into tags (tag, usn, collapsed, config) "
	                     "values (?1, ?2, 1, null)",
	                     &st, e);
	if (s)
		return s;
	sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, usn);
	return run(c, st, e, "registering a tag");
}

enum status col_store_tag_raw(struct col *c, const char *tag, int32_t usn, struct errinfo *e)
{
	sqlite3_stmt *st;
	enum status s = prep(c, "insert or ignore into tags (tag, usn) values (?1, ?2)", &st, e);
	if (s)
		return s;
	sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, usn);
	return run(c, st, e, "writing a tag");
}

enum status col_store_tags_to_json(struct col *c, json_t **out, struct errinfo *e)
{
	sqlite3_stmt *st;
	enum status s = prep(c, "select tag, usn from tags", &st, e);
	if (s)
		return s;
	json_t *obj = json_object();
	while (obj && sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(obj, (const char *)sqlite3_column_text(st, 0),
		                    json_integer(sqlite3_column_int(st, 1)));
	sqlite3_finalize(st);
	if (!obj)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	*out = obj;
	return ST_OK;
}

/* ---- schema 11 maps ----------------------------------------------------- */

static enum status add_keyed(json_t *map, int64_t id, json_t *obj, struct errinfo *e)
{
	char key[24];
	snprintf(key, sizeof key, "%lld", (long long)id);
	if (!obj || json_object_set_new(map, key, obj) != 0)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	return ST_OK;
}

enum status col_store_object_json(struct col *c, const char *table, int64_t id, json_t **out,
                                  struct errinfo *e)
{
	*out = NULL;
	enum status s;
	if (strcmp(table, "notetypes") == 0) {
		struct notetype nt;
		s = col_load_notetype(c, id, &nt, e);
		if (!s) {
			*out = notetype_to_json(&nt);
			notetype_free(&nt);
		}
	} else if (strcmp(table, "decks") == 0) {
		struct deck d;
		s = col_load_deck(c, id, &d, e);
		if (!s) {
			*out = deck_to_json(&d);
			deck_free(&d);
		}
	} else if (strcmp(table, "deck_config") == 0) {
		struct deckconf dc;
		s = col_load_deckconf(c, id, &dc, e);
		if (!s) {
			*out = deckconf_to_json(&dc);
			deckconf_free(&dc);
		}
	} else {
		return errinfo_set(e, ST_INTERNAL, "no JSON form for table %s", table);
	}
	if (!s && !*out)
		s = errinfo_set(e, ST_NOMEM, "out of memory");
	return s;
}

/* Every object of table as a map keyed by id string. */
static enum status objects_to_json(struct col *c, const char *table, json_t **out,
                                   struct errinfo *e)
{
	int64_t *ids = NULL;
	size_t n = 0;
	enum status s = col_list_ids(c, table, &ids, &n, e);
	if (s)
		return s;
	json_t *map = json_object();
	for (size_t i = 0; i < n && !s; i++) {
		json_t *j;
		s = col_store_object_json(c, table, ids[i], &j, e);
		if (!s)
			s = add_keyed(map, ids[i], j, e);
	}
	free(ids);
	if (s) {
		json_decref(map);
		return s;
	}
	*out = map;
	return ST_OK;
}

enum status col_store_notetypes_to_json(struct col *c, json_t **out, struct errinfo *e)
{
	return objects_to_json(c, "notetypes", out, e);
}

enum status col_store_decks_to_json(struct col *c, json_t **out, struct errinfo *e)
{
	return objects_to_json(c, "decks", out, e);
}

enum status col_store_deckconfs_to_json(struct col *c, json_t **out, struct errinfo *e)
{
	return objects_to_json(c, "deck_config", out, e);
}

/* ---- upgrade steps for presets ------------------------------------------ */

enum status col_store_deckconf_json_raw(struct col *c, int64_t id, const json_t *obj,
                                        struct errinfo *e)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	if (!text)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	const json_t *name = json_object_get(obj, "name");
	const json_t *mod = json_object_get(obj, "mod");
	const json_t *usn = json_object_get(obj, "usn");
	sqlite3_stmt *st;
	enum status s =
	    prep(c,
	         "insert or replace into deck_config (id, name, mtime_secs, usn, config) "
	         "values (?1, ?2, ?3, ?4, ?5)",
	         &st, e);
	if (!s) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, json_is_string(name) ? json_string_value(name) : "", -1,
		                  SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, json_is_integer(mod) ? json_integer_value(mod) : 0);
		sqlite3_bind_int64(st, 4, json_is_integer(usn) ? json_integer_value(usn) : 0);
		sqlite3_bind_blob(st, 5, text, (int)strlen(text), SQLITE_TRANSIENT);
		s = run(c, st, e, "writing a deck preset");
	}
	free(text);
	return s;
}

/* Step 15: each preset's schema 11 JSON -> protobuf; initial_ease is stored
 * x100 until step 16, as Anki does. */
enum status col_store_deckconfs_json_to_proto(struct col *c, struct errinfo *e)
{
	int64_t *ids = NULL;
	size_t n = 0;
	enum status s = col_list_ids(c, "deck_config", &ids, &n, e);
	for (size_t i = 0; i < n && !s; i++) {
		sqlite3_stmt *st;
		s = prep(c, "select config from deck_config where id = ?1", &st, e);
		if (s)
			break;
		sqlite3_bind_int64(st, 1, ids[i]);
		json_t *j = NULL;
		if (sqlite3_step(st) == SQLITE_ROW) {
			json_error_t jerr;
			j = json_loadb(sqlite3_column_blob(st, 0),
			               (size_t)sqlite3_column_bytes(st, 0), 0, &jerr);
		}
		sqlite3_finalize(st);
		if (!j) {
			s = errinfo_set(e, ST_CORRUPT, "deck preset %lld is not JSON",
			                (long long)ids[i]);
			break;
		}
		struct deckconf dc;
		memset(&dc, 0, sizeof dc);
		s = deckconf_from_json(j, &dc, e);
		json_decref(j);
		if (!s) {
			dc.id = ids[i];
			dc.cfg.initial_ease *= 100.0f;
			s = col_store_deckconf(c, &dc, e);
		}
		deckconf_free(&dc);
		if (s)
			errinfo_prefix(e, "deck preset %lld", (long long)ids[i]);
	}
	free(ids);
	return s;
}

/* Step 16: undo the x100; an ease <= 1.3 is reset to 2.5 and the low card
 * eases of decks using that preset are fixed (§4.2 step 3). */
enum status col_store_deckconfs_fix_ease(struct col *c, struct errinfo *e)
{
	int64_t *ids = NULL;
	size_t n = 0;
	enum status s = col_list_ids(c, "deck_config", &ids, &n, e);
	if (s)
		return s;
	int32_t usn = col_usn(c);
	for (size_t i = 0; i < n && !s; i++) {
		struct deckconf dc;
		s = col_load_deckconf(c, ids[i], &dc, e);
		if (s)
			break;
		dc.cfg.initial_ease /= 100.0f;
		int reset = !(dc.cfg.initial_ease > 1.3f);
		if (reset)
			dc.cfg.initial_ease = 2.5f;
		s = col_store_deckconf(c, &dc, e);
		deckconf_free(&dc);
		if (s || !reset)
			continue;
		/* cards (by did or odid) in normal decks whose preset is this one */
		int64_t *dids = NULL;
		size_t nd = 0;
		s = col_list_ids(c, "decks", &dids, &nd, e);
		for (size_t k = 0; k < nd && !s; k++) {
			struct deck d;
			s = col_load_deck(c, dids[k], &d, e);
			if (s)
				break;
			int match =
			    d.kind.type == DECK_KIND_NORMAL && d.kind.normal.config_id == ids[i];
			deck_free(&d);
			if (!match)
				continue;
			sqlite3_stmt *st;
			s = prep(c,
			         "update cards set factor = 2500, usn = ?2 "
			         "where (did = ?1 or odid = ?1) and factor != 0 and factor <= 2000",
			         &st, e);
			if (!s) {
				sqlite3_bind_int64(st, 1, dids[k]);
				sqlite3_bind_int(st, 2, usn);
				s = run(c, st, e, "fixing low card eases");
			}
		}
		free(dids);
	}
	free(ids);
	return s;
}
