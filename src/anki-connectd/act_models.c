/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * act_models.c - note type ("model") actions (ankiconnect.md §3.6).
 * Reads use the legacy JSON of col_json.h (what AnkiConnect returns);
 * every change goes through col_ntedit.h, which validates like Anki and
 * carries the change to notes and cards (field contents, card ordinals,
 * new cards, removed cards) and marks schema changes.
 */
#include <stdlib.h>
#include <string.h>

#include "ac_request.h"
#include "actions.h"
#include "col_json.h"
#include "col_ntedit.h"
#include "col_store.h"

/* Python str() of a value for messages. */
static void pystr(const json_t *v, struct buf *b)
{
	if (json_is_string(v))
		buf_append(b, json_string_value(v), json_string_length(v), NULL);
	else
		ac_py_repr_json(v, b);
}

static enum status model_not_found(struct ac_call *k, const json_t *name)
{
	struct buf b;
	buf_init(&b, 0);
	pystr(name, &b);
	ac_fail(k, "model was not found: %s", b.data ? (char *)b.data : "");
	buf_free(&b);
	return ST_INVALID;
}

/* The notetype id named by JSON value v (case-insensitive), or fail. */
static enum status model_id(struct ac_call *k, const json_t *v, int64_t *mid)
{
	if (!json_is_string(v) || ac_model_id(k->c, json_string_value(v), mid, NULL))
		return model_not_found(k, v);
	return ST_OK;
}

static enum status load_model(struct ac_call *k, const char *param, struct notetype *nt)
{
	int64_t mid;
	const json_t *v = json_object_get(k->params, param);
	if (model_id(k, v, &mid))
		return ST_INVALID;
	struct errinfo e;
	if (col_load_notetype(k->c, mid, nt, &e))
		return ac_fail_err(k, &e);
	return ST_OK;
}

static enum status edit_model(struct ac_call *k, const json_t *name, struct col_ntedit *ed)
{
	int64_t mid;
	if (model_id(k, name, &mid))
		return ST_INVALID;
	struct errinfo e;
	if (col_ntedit_load(k->c, mid, ed, &e))
		return ac_fail_err(k, &e);
	return ST_OK;
}

static enum status save_model(struct ac_call *k, struct col_ntedit *ed)
{
	struct errinfo e;
	enum status st = col_ntedit_save(k->c, ed, &e);
	col_ntedit_free(ed);
	if (st)
		return ac_fail_err(k, &e);
	return ac_ok(k, json_null());
}

static enum status field_not_found(struct ac_call *k, const struct notetype *nt, const json_t *f)
{
	struct buf b;
	buf_init(&b, 0);
	pystr(f, &b);
	ac_fail(k, "field was not found in %s: %s", col_str(nt->name),
	        b.data ? (char *)b.data : "");
	buf_free(&b);
	return ST_INVALID;
}

static enum status template_not_found(struct ac_call *k, const struct notetype *nt, const json_t *t)
{
	struct buf b;
	buf_init(&b, 0);
	pystr(t, &b);
	ac_fail(k, "template was not found in %s: %s", col_str(nt->name),
	        b.data ? (char *)b.data : "");
	buf_free(&b);
	return ST_INVALID;
}

static long field_index(const struct notetype *nt, const json_t *name)
{
	if (!json_is_string(name))
		return -1;
	for (size_t i = 0; i < nt->nfields; i++)
		if (strcmp(col_str(nt->fields[i].name), json_string_value(name)) == 0)
			return (long)i;
	return -1;
}

static long template_index(const struct notetype *nt, const json_t *name)
{
	if (!json_is_string(name))
		return -1;
	for (size_t i = 0; i < nt->ntemplates; i++)
		if (strcmp(col_str(nt->templates[i].name), json_string_value(name)) == 0)
			return (long)i;
	return -1;
}

/* ---- reading ---- */

enum status act_model_names(struct ac_call *k)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(col_db(k->c), "select name from notetypes order by name", -1, &q,
	                       NULL))
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	json_t *out = json_array();
	while (out && sqlite3_step(q) == SQLITE_ROW)
		json_array_append_new(out, ac_jstr((const char *)sqlite3_column_text(q, 0)));
	sqlite3_finalize(q);
	return ac_ok(k, out);
}

enum status act_model_names_and_ids(struct ac_call *k)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(col_db(k->c), "select name, id from notetypes order by name", -1, &q,
	                       NULL))
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	json_t *out = json_object();
	while (out && sqlite3_step(q) == SQLITE_ROW)
		json_object_set_new(out, (const char *)sqlite3_column_text(q, 0),
		                    json_integer(sqlite3_column_int64(q, 1)));
	sqlite3_finalize(q);
	return ac_ok(k, out);
}

enum status act_model_name_from_id(struct ac_call *k)
{
	const json_t *v = json_object_get(k->params, "modelId");
	int64_t id;
	struct notetype nt;
	if (!ac_int(v, &id) || col_load_notetype(k->c, id, &nt, NULL))
		return model_not_found(k, v);
	json_t *r = ac_jstr(nt.name);
	notetype_free(&nt);
	return ac_ok(k, r);
}

enum status act_find_models_by_id(struct ac_call *k)
{
	json_t *ids = json_object_get(k->params, "modelIds");
	if (!json_is_array(ids))
		return ac_fail(k, "'%s' object is not iterable", ac_pytype(ids));
	json_t *out = json_array();
	for (size_t i = 0; out && i < json_array_size(ids); i++) {
		const json_t *v = json_array_get(ids, i);
		int64_t id;
		struct notetype nt;
		if (!ac_int(v, &id) || col_load_notetype(k->c, id, &nt, NULL)) {
			json_decref(out);
			return model_not_found(k, v);
		}
		json_array_append_new(out, notetype_to_json(&nt));
		notetype_free(&nt);
	}
	return ac_ok(k, out);
}

enum status act_find_models_by_name(struct ac_call *k)
{
	json_t *names = json_object_get(k->params, "modelNames");
	if (!json_is_array(names))
		return ac_fail(k, "'%s' object is not iterable", ac_pytype(names));
	json_t *out = json_array();
	for (size_t i = 0; out && i < json_array_size(names); i++) {
		int64_t id;
		struct notetype nt;
		if (model_id(k, json_array_get(names, i), &id)) {
			json_decref(out);
			return ST_INVALID;
		}
		if (col_load_notetype(k->c, id, &nt, NULL)) {
			json_decref(out);
			return model_not_found(k, json_array_get(names, i));
		}
		json_array_append_new(out, notetype_to_json(&nt));
		notetype_free(&nt);
	}
	return ac_ok(k, out);
}

enum status act_model_field_names(struct ac_call *k)
{
	struct notetype nt;
	if (load_model(k, "modelName", &nt))
		return ST_INVALID;
	json_t *out = json_array();
	for (size_t i = 0; out && i < nt.nfields; i++)
		json_array_append_new(out, ac_jstr(nt.fields[i].name));
	notetype_free(&nt);
	return ac_ok(k, out);
}

enum status act_model_field_descriptions(struct ac_call *k)
{
	struct notetype nt;
	if (load_model(k, "modelName", &nt))
		return ST_INVALID;
	json_t *out = json_array();
	for (size_t i = 0; out && i < nt.nfields; i++)
		json_array_append_new(out, ac_jstr(nt.fields[i].cfg.description));
	notetype_free(&nt);
	return ac_ok(k, out);
}

enum status act_model_field_fonts(struct ac_call *k)
{
	struct notetype nt;
	if (load_model(k, "modelName", &nt))
		return ST_INVALID;
	json_t *out = json_object();
	for (size_t i = 0; out && i < nt.nfields; i++) {
		json_t *f = json_object();
		if (!f)
			break;
		json_object_set_new(f, "font", ac_jstr(nt.fields[i].cfg.font_name));
		json_object_set_new(f, "size", json_integer(nt.fields[i].cfg.font_size));
		json_object_set_new(out, col_str(nt.fields[i].name), f);
	}
	notetype_free(&nt);
	return ac_ok(k, out);
}

/* AnkiConnect's re.findall('{{[^#/}]+?}}', side), braces removed, the part
 * after the last ':' kept. */
static json_t *side_fields(const char *s, const json_t *exclude)
{
	json_t *out = json_array();
	size_t n = strlen(s);
	for (size_t i = 0; out && i + 4 <= n;) {
		if (s[i] != '{' || s[i + 1] != '{') {
			i++;
			continue;
		}
		size_t j = i + 2;
		while (j < n && s[j] != '#' && s[j] != '/' && s[j] != '}')
			j++;
		if (j == i + 2 || j + 1 >= n || s[j] != '}' || s[j + 1] != '}') {
			i++;
			continue;
		}
		/* match s[i .. j+2) */
		struct buf b;
		buf_init(&b, 0);
		for (size_t x = i; x < j + 2; x++)
			if (s[x] != '{' && s[x] != '}')
				buf_append(&b, &s[x], 1, NULL);
		const char *txt = b.data ? (const char *)b.data : "";
		const char *last = strrchr(txt, ':');
		const char *name = last ? last + 1 : txt;
		bool skip = strcmp(name, "FrontSide") == 0;
		for (size_t q = 0; !skip && exclude && q < json_array_size(exclude); q++)
			if (strcmp(json_string_value(json_array_get(exclude, q)), name) == 0)
				skip = true;
		if (!skip)
			json_array_append_new(out, ac_jstr(name));
		buf_free(&b);
		i = j + 2;
	}
	return out;
}

enum status act_model_fields_on_templates(struct ac_call *k)
{
	struct notetype nt;
	if (load_model(k, "modelName", &nt))
		return ST_INVALID;
	json_t *out = json_object();
	for (size_t i = 0; out && i < nt.ntemplates; i++) {
		json_t *q = side_fields(col_str(nt.templates[i].cfg.q_format), NULL);
		json_t *a = side_fields(col_str(nt.templates[i].cfg.a_format), q);
		json_t *pair = json_array();
		if (pair && q && a) {
			json_array_append_new(pair, q);
			json_array_append_new(pair, a);
			json_object_set_new(out, col_str(nt.templates[i].name), pair);
		} else {
			json_decref(q);
			json_decref(a);
			json_decref(pair);
		}
	}
	notetype_free(&nt);
	return ac_ok(k, out);
}

enum status act_model_templates(struct ac_call *k)
{
	struct notetype nt;
	if (load_model(k, "modelName", &nt))
		return ST_INVALID;
	json_t *out = json_object();
	for (size_t i = 0; out && i < nt.ntemplates; i++) {
		json_t *t = json_object();
		if (!t)
			break;
		json_object_set_new(t, "Front", ac_jstr(nt.templates[i].cfg.q_format));
		json_object_set_new(t, "Back", ac_jstr(nt.templates[i].cfg.a_format));
		json_object_set_new(out, col_str(nt.templates[i].name), t);
	}
	notetype_free(&nt);
	return ac_ok(k, out);
}

enum status act_model_styling(struct ac_call *k)
{
	struct notetype nt;
	if (load_model(k, "modelName", &nt))
		return ST_INVALID;
	json_t *out = json_pack("{s:o}", "css", ac_jstr(nt.cfg.css));
	notetype_free(&nt);
	return ac_ok(k, out);
}

/* ---- creating and changing ---- */

static enum status py_len(struct ac_call *k, const json_t *v, size_t *n)
{
	if (json_is_array(v))
		*n = json_array_size(v);
	else if (json_is_string(v))
		*n = json_string_length(v);
	else if (json_is_object(v))
		*n = json_object_size(v);
	else
		return ac_fail(k, "object of type '%s' has no len()", ac_pytype(v));
	return ST_OK;
}

enum status act_create_model(struct ac_call *k)
{
	json_t *name = json_object_get(k->params, "modelName");
	json_t *fields = json_object_get(k->params, "inOrderFields");
	json_t *tmpls = json_object_get(k->params, "cardTemplates");
	json_t *css = ac_param(k, "css");
	bool cloze = ac_truthy(json_object_get(k->params, "isCloze"));
	size_t nf = 0, nt_ = 0;
	if (py_len(k, fields, &nf))
		return ST_INVALID;
	if (nf == 0)
		return ac_fail(k, "Must provide at least one field for inOrderFields");
	if (py_len(k, tmpls, &nt_))
		return ST_INVALID;
	if (nt_ == 0)
		return ac_fail(k, "Must provide at least one card for cardTemplates");
	if (!json_is_string(name))
		return ac_fail(k, "modelName must be a string, not %s", ac_pytype(name));
	if (!json_is_array(fields) || !json_is_array(tmpls))
		return ac_fail(k, "inOrderFields and cardTemplates must be lists");
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(col_db(k->c), "select name from notetypes", -1, &q, NULL))
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	bool exists = false;
	while (!exists && sqlite3_step(q) == SQLITE_ROW)
		exists =
		    strcmp((const char *)sqlite3_column_text(q, 0), json_string_value(name)) == 0;
	sqlite3_finalize(q);
	if (exists)
		return ac_fail(k, "Model name already exists");
	struct col_ntedit ed;
	memset(&ed, 0, sizeof ed);
	struct errinfo e;
	enum status st = col_ntedit_new_notetype(&ed.nt, json_string_value(name), cloze, &e);
	if (st)
		return ac_fail_err(k, &e);
	if (css && json_is_string(css)) {
		free(ed.nt.cfg.css);
		ed.nt.cfg.css = strdup(json_string_value(css));
	}
	for (size_t i = 0; !st && i < nf; i++) {
		const json_t *f = json_array_get(fields, i);
		if (!json_is_string(f))
			st = ac_fail(k, "field names must be strings, not %s", ac_pytype(f));
		else if (col_ntedit_field_add(&ed, json_string_value(f), &e))
			st = ac_fail_err(k, &e);
	}
	for (size_t i = 0; !st && i < nt_; i++) {
		const json_t *t = json_array_get(tmpls, i);
		if (!json_is_object(t)) {
			st = ac_fail(k, "'%s' object is not subscriptable", ac_pytype(t));
			break;
		}
		char defname[32];
		snprintf(defname, sizeof defname, "Card %zu", i + 1);
		const json_t *tn = json_object_get(t, "Name");
		const json_t *front = json_object_get(t, "Front");
		const json_t *back = json_object_get(t, "Back");
		if (!front) {
			st = ac_fail_key(k, "Front");
			break;
		}
		if (!back) {
			st = ac_fail_key(k, "Back");
			break;
		}
		if (!json_is_string(front) || !json_is_string(back) ||
		    (tn && !json_is_string(tn))) {
			st = ac_fail(k, "template Name, Front and Back must be strings");
			break;
		}
		if (col_ntedit_template_add(&ed, tn ? json_string_value(tn) : defname,
		                            json_string_value(front), json_string_value(back), &e))
			st = ac_fail_err(k, &e);
	}
	if (!st && col_ntedit_add_new(k->c, &ed.nt, &e))
		st = ac_fail_err(k, &e);
	json_t *out = st ? NULL : notetype_to_json(&ed.nt);
	col_ntedit_free(&ed);
	return st ? st : ac_ok(k, out);
}

/* The "model" object parameter and its name. */
static const json_t *model_obj(struct ac_call *k, const json_t **name)
{
	const json_t *m = json_object_get(k->params, "model");
	if (!json_is_object(m)) {
		ac_fail(k, "'%s' object is not subscriptable", ac_pytype(m));
		return NULL;
	}
	*name = json_object_get(m, "name");
	if (!*name) {
		ac_fail_key(k, "name");
		return NULL;
	}
	return m;
}

static char *dup_json_str(const json_t *v)
{
	return strdup(json_string_value(v));
}

enum status act_update_model_templates(struct ac_call *k)
{
	const json_t *name;
	const json_t *m = model_obj(k, &name);
	if (!m)
		return ST_INVALID;
	struct col_ntedit ed;
	if (edit_model(k, name, &ed))
		return ST_INVALID;
	const json_t *tm = json_object_get(m, "templates");
	if (!tm) {
		col_ntedit_free(&ed);
		return ac_fail_key(k, "templates");
	}
	for (size_t i = 0; json_is_object(tm) && i < ed.nt.ntemplates; i++) {
		const json_t *t = json_object_get(tm, col_str(ed.nt.templates[i].name));
		if (!ac_truthy(t) || !json_is_object(t))
			continue;
		const json_t *f = json_object_get(t, "Front"), *b = json_object_get(t, "Back");
		if (ac_truthy(f) && json_is_string(f)) {
			free(ed.nt.templates[i].cfg.q_format);
			ed.nt.templates[i].cfg.q_format = dup_json_str(f);
		}
		if (ac_truthy(b) && json_is_string(b)) {
			free(ed.nt.templates[i].cfg.a_format);
			ed.nt.templates[i].cfg.a_format = dup_json_str(b);
		}
	}
	return save_model(k, &ed);
}

enum status act_update_model_styling(struct ac_call *k)
{
	const json_t *name;
	const json_t *m = model_obj(k, &name);
	if (!m)
		return ST_INVALID;
	struct col_ntedit ed;
	if (edit_model(k, name, &ed))
		return ST_INVALID;
	const json_t *css = json_object_get(m, "css");
	if (!css) {
		col_ntedit_free(&ed);
		return ac_fail_key(k, "css");
	}
	if (!json_is_string(css)) {
		col_ntedit_free(&ed);
		return ac_fail(k, "css must be a string");
	}
	free(ed.nt.cfg.css);
	ed.nt.cfg.css = dup_json_str(css);
	return save_model(k, &ed);
}

/* Python's str.replace(find, repl) (all occurrences; an empty find
 * inserts repl around every character).  *changed: find occurred. */
static char *py_replace(const char *s, const char *find, const char *repl, bool *changed)
{
	struct buf b;
	buf_init(&b, 0);
	size_t fl = strlen(find);
	*changed = fl == 0 || strstr(s, find) != NULL;
	if (fl == 0) {
		size_t n = strlen(s);
		buf_append_str(&b, repl, NULL);
		for (size_t i = 0; i < n;) {
			size_t adv = 1;
			while (i + adv < n && ((unsigned char)s[i + adv] & 0xc0) == 0x80)
				adv++;
			buf_append(&b, s + i, adv, NULL);
			buf_append_str(&b, repl, NULL);
			i += adv;
		}
	} else {
		const char *p = s, *q;
		while ((q = strstr(p, find)) != NULL) {
			buf_append(&b, p, (size_t)(q - p), NULL);
			buf_append_str(&b, repl, NULL);
			p = q + fl;
		}
		buf_append_str(&b, p, NULL);
	}
	if (!b.data)
		buf_append(&b, "", 0, NULL);
	return (char *)buf_steal(&b, NULL);
}

enum status act_find_and_replace_in_models(struct ac_call *k)
{
	const json_t *src = k->params;
	const json_t *wrapped = ac_param(k, "model");
	if (json_is_object(wrapped)) /* the README/yanki-connect shape */
		src = wrapped;
	const json_t *mname = json_object_get(src, "modelName");
	const json_t *find = json_object_get(src, "findText");
	if (!find)
		find = json_object_get(src, "fieldText");
	const json_t *repl = json_object_get(src, "replaceText");
	if (!wrapped) {
		const char *miss[3];
		size_t nm = 0;
		if (!json_object_get(k->params, "modelName"))
			miss[nm++] = "'modelName'";
		if (!find)
			miss[nm++] = "'findText'";
		if (!repl)
			miss[nm++] = "'replaceText'";
		if (nm == 1)
			return ac_fail(
			    k,
			    "AnkiConnect.findAndReplaceInModels() missing 1 required positional "
			    "argument: %s",
			    miss[0]);
		if (nm == 2)
			return ac_fail(
			    k,
			    "AnkiConnect.findAndReplaceInModels() missing 2 required positional "
			    "arguments: %s and %s",
			    miss[0], miss[1]);
		if (nm == 3)
			return ac_fail(
			    k,
			    "AnkiConnect.findAndReplaceInModels() missing 3 required positional "
			    "arguments: %s, %s, and %s",
			    miss[0], miss[1], miss[2]);
	}
	if (!json_is_string(find) || !json_is_string(repl))
		return ac_fail(k, "findText and replaceText must be strings");
	const json_t *fv = json_object_get(src, "front"), *bv = json_object_get(src, "back"),
	             *cv = json_object_get(src, "css");
	bool front = fv ? ac_truthy(fv) : true, back = bv ? ac_truthy(bv) : true,
	     css = cv ? ac_truthy(cv) : true;
	int64_t *ids = NULL;
	size_t n = 0;
	struct errinfo e;
	if (ac_truthy(mname)) {
		ids = malloc(sizeof *ids);
		if (!ids)
			return ac_fail(k, "out of memory");
		if (model_id(k, mname, &ids[0])) {
			free(ids);
			return ST_INVALID;
		}
		n = 1;
	} else if (col_query_ids(k->c, "select id from notetypes order by name", NULL, 0, &ids, &n,
	                         &e)) {
		return ac_fail_err(k, &e);
	}
	int updated = 0;
	enum status st = ST_OK;
	for (size_t i = 0; !st && i < n; i++) {
		struct col_ntedit ed;
		if (col_ntedit_load(k->c, ids[i], &ed, &e)) {
			st = ac_fail_err(k, &e);
			break;
		}
		bool any = false, ch;
		char *x;
		const char *f = json_string_value(find), *r = json_string_value(repl);
		if (css) {
			x = py_replace(col_str(ed.nt.cfg.css), f, r, &ch);
			any |= ch;
			free(ed.nt.cfg.css);
			ed.nt.cfg.css = x;
		}
		for (size_t t = 0; t < ed.nt.ntemplates; t++) {
			if (front) {
				x = py_replace(col_str(ed.nt.templates[t].cfg.q_format), f, r, &ch);
				any |= ch;
				free(ed.nt.templates[t].cfg.q_format);
				ed.nt.templates[t].cfg.q_format = x;
			}
			if (back) {
				x = py_replace(col_str(ed.nt.templates[t].cfg.a_format), f, r, &ch);
				any |= ch;
				free(ed.nt.templates[t].cfg.a_format);
				ed.nt.templates[t].cfg.a_format = x;
			}
		}
		if (any) {
			if (col_ntedit_save(k->c, &ed, &e))
				st = ac_fail_err(k, &e);
			updated++;
		}
		col_ntedit_free(&ed);
	}
	free(ids);
	return st ? st : ac_ok(k, json_integer(updated));
}

/* Python list.insert(idx) position after a removal from a list of n. */
static size_t py_insert_pos(int64_t idx, size_t n)
{
	if (idx < 0)
		idx += (int64_t)n;
	if (idx < 0)
		idx = 0;
	if (idx > (int64_t)n)
		idx = (int64_t)n;
	return (size_t)idx;
}

enum status act_model_template_rename(struct ac_call *k)
{
	struct col_ntedit ed;
	if (edit_model(k, json_object_get(k->params, "modelName"), &ed))
		return ST_INVALID;
	const json_t *old = json_object_get(k->params, "oldTemplateName");
	const json_t *nw = json_object_get(k->params, "newTemplateName");
	long i = template_index(&ed.nt, old);
	if (i < 0) {
		template_not_found(k, &ed.nt, old);
		col_ntedit_free(&ed);
		return ST_INVALID;
	}
	if (!json_is_string(nw)) {
		col_ntedit_free(&ed);
		return ac_fail(k, "newTemplateName must be a string");
	}
	free(ed.nt.templates[i].name);
	ed.nt.templates[i].name = dup_json_str(nw);
	return save_model(k, &ed);
}

enum status act_model_template_reposition(struct ac_call *k)
{
	struct col_ntedit ed;
	if (edit_model(k, json_object_get(k->params, "modelName"), &ed))
		return ST_INVALID;
	const json_t *tn = json_object_get(k->params, "templateName");
	long i = template_index(&ed.nt, tn);
	int64_t idx;
	struct errinfo e;
	if (i < 0) {
		template_not_found(k, &ed.nt, tn);
		col_ntedit_free(&ed);
		return ST_INVALID;
	}
	if (!ac_int(json_object_get(k->params, "index"), &idx)) {
		col_ntedit_free(&ed);
		return ac_fail(k, "index must be an integer");
	}
	if (col_ntedit_template_move(&ed, (size_t)i, py_insert_pos(idx, ed.nt.ntemplates - 1),
	                             &e)) {
		col_ntedit_free(&ed);
		return ac_fail_err(k, &e);
	}
	return save_model(k, &ed);
}

enum status act_model_template_add(struct ac_call *k)
{
	struct col_ntedit ed;
	if (edit_model(k, json_object_get(k->params, "modelName"), &ed))
		return ST_INVALID;
	const json_t *t = json_object_get(k->params, "template");
	const char *keys[] = {"Name", "Front", "Back"};
	for (int i = 0; i < 3; i++)
		if (!json_is_object(t) || !json_object_get(t, keys[i])) {
			col_ntedit_free(&ed);
			return json_is_object(t)
			           ? ac_fail_key(k, keys[i])
			           : ac_fail(k, "'%s' object is not subscriptable", ac_pytype(t));
		}
	const json_t *nm = json_object_get(t, "Name"), *f = json_object_get(t, "Front"),
	             *b = json_object_get(t, "Back");
	if (!json_is_string(nm) || !json_is_string(f) || !json_is_string(b)) {
		col_ntedit_free(&ed);
		return ac_fail(k, "template Name, Front and Back must be strings");
	}
	if (template_index(&ed.nt, nm) >= 0) {
		/* AnkiConnect changes the existing template in memory only */
		col_ntedit_free(&ed);
		return ac_ok(k, json_null());
	}
	struct errinfo e;
	if (col_ntedit_template_add(&ed, json_string_value(nm), json_string_value(f),
	                            json_string_value(b), &e)) {
		col_ntedit_free(&ed);
		return ac_fail_err(k, &e);
	}
	return save_model(k, &ed);
}

enum status act_model_template_remove(struct ac_call *k)
{
	struct col_ntedit ed;
	if (edit_model(k, json_object_get(k->params, "modelName"), &ed))
		return ST_INVALID;
	const json_t *tn = json_object_get(k->params, "templateName");
	long i = template_index(&ed.nt, tn);
	struct errinfo e;
	if (i < 0) {
		template_not_found(k, &ed.nt, tn);
		col_ntedit_free(&ed);
		return ST_INVALID;
	}
	if (ed.nt.ntemplates <= 1) {
		col_ntedit_free(&ed);
		return ac_fail(k, "must have 1 template");
	}
	if (col_ntedit_template_remove(&ed, (size_t)i, &e)) {
		col_ntedit_free(&ed);
		return ac_fail_err(k, &e);
	}
	return save_model(k, &ed);
}

/* Load the model and find the named field; fails the call otherwise. */
static enum status model_field(struct ac_call *k, const char *param, struct col_ntedit *ed,
                               long *idx)
{
	if (edit_model(k, json_object_get(k->params, "modelName"), ed))
		return ST_INVALID;
	const json_t *fn = json_object_get(k->params, param);
	*idx = field_index(&ed->nt, fn);
	if (*idx < 0) {
		field_not_found(k, &ed->nt, fn);
		col_ntedit_free(ed);
		return ST_INVALID;
	}
	return ST_OK;
}

enum status act_model_field_rename(struct ac_call *k)
{
	struct col_ntedit ed;
	long i;
	if (model_field(k, "oldFieldName", &ed, &i))
		return ST_INVALID;
	const json_t *nw = json_object_get(k->params, "newFieldName");
	if (!json_is_string(nw)) {
		col_ntedit_free(&ed);
		return ac_fail(k, "newFieldName must be a string");
	}
	free(ed.nt.fields[i].name);
	ed.nt.fields[i].name = dup_json_str(nw);
	return save_model(k, &ed);
}

enum status act_model_field_reposition(struct ac_call *k)
{
	struct col_ntedit ed;
	long i;
	if (model_field(k, "fieldName", &ed, &i))
		return ST_INVALID;
	int64_t idx;
	struct errinfo e;
	if (!ac_int(json_object_get(k->params, "index"), &idx)) {
		col_ntedit_free(&ed);
		return ac_fail(k, "index must be an integer");
	}
	if (col_ntedit_field_move(&ed, (size_t)i, py_insert_pos(idx, ed.nt.nfields - 1), &e)) {
		col_ntedit_free(&ed);
		return ac_fail_err(k, &e);
	}
	return save_model(k, &ed);
}

enum status act_model_field_add(struct ac_call *k)
{
	struct col_ntedit ed;
	if (edit_model(k, json_object_get(k->params, "modelName"), &ed))
		return ST_INVALID;
	const json_t *fn = json_object_get(k->params, "fieldName");
	struct errinfo e;
	if (!json_is_string(fn)) {
		col_ntedit_free(&ed);
		return ac_fail(k, "fieldName must be a string");
	}
	long i = field_index(&ed.nt, fn);
	if (i < 0) {
		if (col_ntedit_field_add(&ed, json_string_value(fn), &e)) {
			col_ntedit_free(&ed);
			return ac_fail_err(k, &e);
		}
		i = (long)ed.nt.nfields - 1;
	}
	const json_t *idxv = ac_param(k, "index");
	if (idxv) {
		int64_t idx;
		if (!ac_int(idxv, &idx)) {
			col_ntedit_free(&ed);
			return ac_fail(k, "index must be an integer");
		}
		col_ntedit_field_move(&ed, (size_t)i, py_insert_pos(idx, ed.nt.nfields - 1), &e);
	}
	return save_model(k, &ed);
}

enum status act_model_field_remove(struct ac_call *k)
{
	struct col_ntedit ed;
	long i;
	if (model_field(k, "fieldName", &ed, &i))
		return ST_INVALID;
	struct errinfo e;
	if (col_ntedit_field_remove(&ed, (size_t)i, &e)) {
		col_ntedit_free(&ed);
		return ac_fail_err(k, &e);
	}
	return save_model(k, &ed);
}

static enum status bad_value(struct ac_call *k, struct col_ntedit *ed, const char *what,
                             const json_t *v)
{
	struct buf b;
	buf_init(&b, 0);
	pystr(v, &b);
	ac_fail(k, "%s: %s", what, b.data ? (char *)b.data : "");
	buf_free(&b);
	col_ntedit_free(ed);
	return ST_INVALID;
}

enum status act_model_field_set_font(struct ac_call *k)
{
	struct col_ntedit ed;
	long i;
	if (model_field(k, "fieldName", &ed, &i))
		return ST_INVALID;
	const json_t *font = json_object_get(k->params, "font");
	if (!json_is_string(font))
		return bad_value(k, &ed, "font should be a string", font);
	free(ed.nt.fields[i].cfg.font_name);
	ed.nt.fields[i].cfg.font_name = dup_json_str(font);
	return save_model(k, &ed);
}

enum status act_model_field_set_font_size(struct ac_call *k)
{
	struct col_ntedit ed;
	long i;
	if (model_field(k, "fieldName", &ed, &i))
		return ST_INVALID;
	const json_t *size = json_object_get(k->params, "fontSize");
	if (!json_is_integer(size) && !json_is_boolean(size))
		return bad_value(k, &ed, "fontSize should be an integer", size);
	int64_t v = json_is_integer(size) ? json_integer_value(size) : json_is_true(size);
	if (v < 0 || v > 100000) {
		col_ntedit_free(&ed);
		return ac_fail(k, "fontSize out of range: %lld", (long long)v);
	}
	ed.nt.fields[i].cfg.font_size = (uint32_t)v;
	return save_model(k, &ed);
}

enum status act_model_field_set_description(struct ac_call *k)
{
	struct col_ntedit ed;
	long i;
	if (model_field(k, "fieldName", &ed, &i))
		return ST_INVALID;
	const json_t *d = json_object_get(k->params, "description");
	if (!json_is_string(d))
		return bad_value(k, &ed, "description should be a string", d);
	free(ed.nt.fields[i].cfg.description);
	ed.nt.fields[i].cfg.description = dup_json_str(d);
	if (save_model(k, &ed))
		return ST_INVALID;
	return ac_ok(k, json_true());
}
