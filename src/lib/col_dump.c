/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_dump.c - JSON dump of a collection.  Object tables go through the
 * same legacy JSON converters the sync protocol uses; row tables are
 * streamed so memory stays flat on large collections.
 */
#include "col_dump.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "col_json.h"
#include "col_store.h"

static int put_json(FILE *out, const char *key, json_t *j, int first)
{
	char *text = col_json_dumps(j);
	if (!text)
		return -1;
	fprintf(out, "%s\n\"%s\":%s", first ? "" : ",", key, text);
	free(text);
	return 0;
}

/* One JSON array of rows; each row an array of its columns. */
static enum status put_rows(struct col *c, FILE *out, const char *key, const char *sql,
                            struct errinfo *e)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(col_db(c), sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, key);
	fprintf(out, ",\n\"%s\":[", key);
	int first = 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = json_array();
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
				json_array_append_new(row, json_integer(sqlite3_column_int64(st, i)));
			else
				json_array_append_new(
				    row, json_string(sqlite3_column_text(st, i)
				                         ? (const char *)sqlite3_column_text(st, i)
				                         : ""));
		}
		char *text = json_dumps(row, JSON_COMPACT);
		json_decref(row);
		if (!text) {
			sqlite3_finalize(st);
			return errinfo_set(e, ST_INVALID, "%s: a row is not valid UTF-8", key);
		}
		fprintf(out, "%s\n%s", first ? "" : ",", text);
		free(text);
		first = 0;
	}
	sqlite3_finalize(st);
	fprintf(out, "]");
	return rc == SQLITE_DONE ? ST_OK : col_sqlite_err(col_db(c), rc, e, key);
}

enum status col_dump(struct col *c, FILE *out, struct errinfo *e)
{
	struct col_meta m;
	enum status s = col_meta_get(c, &m, e);
	if (s)
		return s;
	json_t *meta = json_pack("{s:I,s:I,s:I,s:I,s:i,s:i}", "crt", (json_int_t)m.crt, "mod",
	                         (json_int_t)m.mod, "scm", (json_int_t)m.scm, "ls", (json_int_t)m.ls,
	                         "ver", m.ver, "usn", m.usn);
	fputs("{", out);
	put_json(out, "col", meta, 1);
	json_decref(meta);
	static const struct {
		const char *key;
		enum status (*get)(struct col *, json_t **, struct errinfo *);
	} maps[] = {
	    {"config", col_config_all},
	    {"notetypes", col_store_notetypes_to_json},
	    {"decks", col_store_decks_to_json},
	    {"deckConfigs", col_store_deckconfs_to_json},
	    {"tags", col_store_tags_to_json},
	};
	for (size_t i = 0; i < sizeof maps / sizeof maps[0] && !s; i++) {
		json_t *j = NULL;
		s = maps[i].get(c, &j, e);
		if (!s && put_json(out, maps[i].key, j, 0) != 0)
			s = errinfo_set(e, ST_NOMEM, "out of memory");
		json_decref(j);
	}
	if (!s)
		s = put_rows(c, out, "notes",
		             "select id, guid, mid, mod, usn, tags, flds, cast(sfld as text), csum, flags, "
		             "data from notes order by id",
		             e);
	if (!s)
		s = put_rows(c, out, "cards",
		             "select id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, reps, "
		             "lapses, left, odue, odid, flags, data from cards order by id",
		             e);
	if (!s)
		s = put_rows(c, out, "revlog",
		             "select id, cid, usn, ease, ivl, lastIvl, factor, time, type from revlog "
		             "order by id",
		             e);
	if (!s)
		s = put_rows(c, out, "graves", "select oid, type, usn from graves order by type, oid", e);
	fputs("\n}\n", out);
	if (!s && ferror(out))
		s = errinfo_set(e, ST_IO, "writing the dump failed");
	return s;
}

enum status col_dump_file(const char *path, FILE *out, struct errinfo *e)
{
	struct col *c;
	enum status s = col_open_copy(path, &c, e);
	if (s)
		return s;
	s = col_dump(c, out, e);
	col_close(c);
	return s;
}
