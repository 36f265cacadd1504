/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * util.c - small helpers every action uses: failing a call with
 * AnkiConnect's (Python's) words, reading parameters, JSON strings from
 * bytes that may not be UTF-8, integer lists, id queries.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ac.h"
#include "ac_request.h"
#include "col_decks.h"
#include "col_json.h"
#include "search_stmt.h"
#include "text.h"

enum status ac_fail(struct ac_call *k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[1024];
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	buf_reset(&k->err);
	if (n >= (int)sizeof tmp) {
		char *big = malloc((size_t)n + 1);
		if (big) {
			va_start(ap, fmt);
			vsnprintf(big, (size_t)n + 1, fmt, ap);
			va_end(ap);
			buf_append(&k->err, big, (size_t)n, NULL);
			free(big);
		} else {
			buf_append_str(&k->err, tmp, NULL);
		}
	} else if (n > 0) {
		buf_append(&k->err, tmp, (size_t)n, NULL);
	}
	k->failed = true;
	return ST_INVALID;
}

enum status ac_fail_key(struct ac_call *k, const char *key)
{
	return ac_fail(k, "'%s'", key);
}

enum status ac_fail_err(struct ac_call *k, const struct errinfo *e)
{
	return ac_fail(k, "%s", e->msg[0] ? e->msg : status_name(e->code));
}

enum status ac_ok(struct ac_call *k, json_t *v)
{
	if (!v)
		return ac_fail(k, "out of memory");
	json_decref(k->result);
	k->result = v;
	return ST_OK;
}

json_t *ac_param(struct ac_call *k, const char *name)
{
	json_t *v = json_object_get(k->params, name);
	return v && !json_is_null(v) ? v : NULL;
}

const char *ac_pytype(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "dict";
	case JSON_ARRAY:
		return "list";
	case JSON_STRING:
		return "str";
	case JSON_INTEGER:
		return "int";
	case JSON_REAL:
		return "float";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_NULL:
		return "NoneType";
	}
	return "object";
}

json_t *ac_jstrn(const char *s, size_t n)
{
	if (!s)
		return json_string("");
	if (text_utf8_valid(s, n))
		return json_stringn_nocheck(s, n);
	struct buf b;
	buf_init(&b, 0);
	json_t *j = NULL;
	if (text_utf8_lossy(s, n, &b, NULL) == ST_OK)
		j = json_stringn_nocheck(b.data ? (const char *)b.data : "", b.len);
	buf_free(&b);
	return j;
}

json_t *ac_jstr(const char *s)
{
	return ac_jstrn(s, s ? strlen(s) : 0);
}

bool ac_int(const json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (isfinite(d) && floor(d) == d && fabs(d) < 9.2e18) {
			*out = (int64_t)d;
			return true;
		}
	}
	if (json_is_boolean(v)) { /* Python: bool is an int */
		*out = json_is_true(v);
		return true;
	}
	return false;
}

bool ac_truthy(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return false;
	case JSON_TRUE:
		return true;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	}
	return false;
}

enum status ac_id_list(struct ac_call *k, const json_t *v, int64_t **ids, size_t *n)
{
	*ids = NULL;
	*n = 0;
	if (!v)
		return ac_fail(k, "'NoneType' object is not iterable");
	if (!json_is_array(v))
		return ac_fail(k, "'%s' object is not iterable", ac_pytype(v));
	size_t len = json_array_size(v);
	int64_t *out = malloc((len ? len : 1) * sizeof *out);
	if (!out)
		return ac_fail(k, "out of memory");
	for (size_t i = 0; i < len; i++) {
		const json_t *x = json_array_get(v, i);
		if (!ac_int(x, &out[i])) {
			free(out);
			return ac_fail(k, "invalid id %s: an integer is required",
			               json_is_string(x) ? json_string_value(x) : ac_pytype(x));
		}
	}
	*ids = out;
	*n = len;
	return ST_OK;
}

json_t *ac_error_reply(const char *msg)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "result", json_null());
	json_object_set_new(o, "error", ac_jstr(msg));
	return o;
}

char *ac_dumps(const json_t *v, size_t *len)
{
	char *s = col_json_dumps(v);
	if (s && len)
		*len = strlen(s);
	return s;
}

void ac_py_repr_json(const json_t *v, struct buf *out)
{
	if (!v)
		buf_append_str(out, "None", NULL);
	else
		ac_py_repr(v, out, NULL);
}

void ac_py_repr_str_json(const json_t *s, struct buf *out)
{
	ac_py_repr_str(json_string_value(s), json_string_length(s), out, NULL);
}

char *ac_deck_name(struct col *c, int64_t did)
{
	char *name = NULL;
	if (col_decks_name(c, did, &name, NULL))
		return NULL;
	return name;
}

enum status ac_model_id(struct col *c, const char *name, int64_t *id, struct errinfo *e)
{
	/* kept on the connection (search_stmt.h): addNote & co look the
	 * notetype up once per note */
	sqlite3_stmt *st;
	enum status s = search_stmt_get(col_db(c), SEARCH_STMT_FIXED,
	                                "select id from notetypes where name = ?1", &st, NULL, e);
	if (s)
		return s;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		s = errinfo_set(e, ST_NOTFOUND, "model was not found: %s", name);
	else
		s = col_sqlite_err(col_db(c), rc, e, "finding a notetype");
	search_stmt_done(st);
	return s;
}

enum status ac_mod_times(struct ac_call *k, const char *sql, const char *key, int64_t *ids,
                         size_t n)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(col_db(k->c), sql, -1, &q, NULL)) {
		free(ids);
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	}
	json_t *out = json_array();
	for (size_t i = 0; out && i < n; i++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, ids[i]);
		if (sqlite3_step(q) == SQLITE_ROW)
			json_array_append_new(out,
			                      json_pack("{s:I,s:I}", key, (json_int_t)ids[i], "mod",
			                                (json_int_t)sqlite3_column_int64(q, 0)));
		else
			json_array_append_new(out, json_object());
	}
	sqlite3_finalize(q);
	free(ids);
	return ac_ok(k, out);
}
