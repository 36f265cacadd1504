/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * act_notes.c - note actions (ankiconnect.md §3.7): building a note from
 * AnkiConnect's note object with its validation order and texts
 * (createNote), note media, both duplicate checks (Anki's first-field
 * check through col_notegen.h, and AnkiConnect's own scoped check on the
 * checksum index), adding, checking, updating, finding, describing and
 * deleting notes.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "ac_request.h"
#include "actions.h"
#include "col_decks.h"
#include "col_json.h"
#include "col_notegen.h"
#include "col_store.h"
#include "text.h"

bool ac_lower_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i = 0, j = 0;
	while (i < la && j < lb) {
		size_t x, y;
		int32_t ca = text_utf8_decode((const unsigned char *)a + i, la - i, &x);
		int32_t cb = text_utf8_decode((const unsigned char *)b + j, lb - j, &y);
		if (utf8proc_tolower(ca) != utf8proc_tolower(cb))
			return false;
		i += x;
		j += y;
	}
	return i == la && j == lb;
}

/* ---- notetypes used by one request ---- */

/* Also the last model and deck names looked up and their ids: the
 * notes of one request (Yomitan's canAddNotes, addNotes) almost always
 * share them, and one request sees one collection. */
struct ntcache {
	struct {
		int64_t mid;
		struct col_ntinfo info;
	} v[16];
	size_t n;
	char *model_name, *deck_name;
	int64_t model_id, deck_id;
};

static void ntcache_free(struct ntcache *nc)
{
	for (size_t i = 0; i < nc->n; i++)
		col_ntinfo_free(&nc->v[i].info);
	nc->n = 0;
	free(nc->model_name);
	free(nc->deck_name);
	nc->model_name = nc->deck_name = NULL;
}

/* ac_model_id / col_decks_find through the request's memo. */
static enum status memo_model(struct ntcache *nc, struct col *c, const char *name, int64_t *mid,
                              struct errinfo *e)
{
	if (nc->model_name && strcmp(nc->model_name, name) == 0) {
		*mid = nc->model_id;
		return ST_OK;
	}
	enum status st = ac_model_id(c, name, mid, e);
	if (!st) {
		free(nc->model_name);
		nc->model_name = strdup(name);
		nc->model_id = *mid;
	}
	return st;
}

static enum status memo_deck(struct ntcache *nc, struct col *c, const char *name, int64_t *did,
                             struct errinfo *e)
{
	if (nc->deck_name && strcmp(nc->deck_name, name) == 0) {
		*did = nc->deck_id;
		return ST_OK;
	}
	enum status st = col_decks_find(c, name, did, e);
	if (!st) {
		free(nc->deck_name);
		nc->deck_name = strdup(name);
		nc->deck_id = *did;
	}
	return st;
}

static const struct col_ntinfo *ntcache_get(struct ntcache *nc, struct col *c, int64_t mid,
                                            struct errinfo *e)
{
	for (size_t i = 0; i < nc->n; i++)
		if (nc->v[i].mid == mid)
			return &nc->v[i].info;
	if (nc->n == sizeof nc->v / sizeof nc->v[0]) { /* full: start over */
		ntcache_free(nc);
	}
	if (col_ntinfo_load(c, mid, &nc->v[nc->n].info, e))
		return NULL;
	nc->v[nc->n].mid = mid;
	return &nc->v[nc->n++].info;
}

/* ---- building a note (AnkiConnect's createNote) ---- */

struct newnote {
	const struct col_ntinfo *nt;
	int64_t did;
	char **fields; /* nt->nt.nfields values */
	struct buf tags;
};

static void newnote_free(struct newnote *nn)
{
	if (nn->fields && nn->nt)
		for (size_t i = 0; i < nn->nt->nt.nfields; i++)
			free(nn->fields[i]);
	free(nn->fields);
	buf_free(&nn->tags);
	memset(nn, 0, sizeof *nn);
}

/* Field text from JSON: NUL and \x1f dropped (Anki removes control
 * characters anyway; \x1f would split the field). */
static char *field_text(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\0' && s[i] != '\x1f')
			out[k++] = s[i];
	out[k] = '\0';
	return out;
}

static enum status append_to_field(char **f, const char *add)
{
	if (!f || !*f)
		return ST_NOMEM;
	size_t a = strlen(*f), b = strlen(add);
	char *p = realloc(*f, a + b + 1);
	if (!p)
		return ST_NOMEM;
	memcpy(p + a, add, b + 1);
	*f = p;
	return ST_OK;
}

/* Python's str() of a JSON value, for error texts. */
static void py_str(const json_t *v, struct buf *out)
{
	if (json_is_string(v))
		buf_append(out, json_string_value(v), json_string_length(v), NULL);
	else
		ac_py_repr_json(v, out);
}

enum media_kind { MEDIA_AUDIO, MEDIA_VIDEO, MEDIA_PICTURE };

/* AnkiConnect's addMedia for one kind: store each entry (deleteExisting
 * defaults to false here), then append the tag - or the HTML-escaped
 * error text - to the listed fields (exact names). */
static enum status add_media(struct ac_call *k, const json_t *list, enum media_kind kind,
                             char **fields, const struct notetype *nt)
{
	if (!list || json_is_null(list))
		return ST_OK;
	size_t n = json_is_array(list) ? json_array_size(list) : 1;
	for (size_t i = 0; i < n; i++) {
		const json_t *m = json_is_array(list) ? json_array_get(list, i) : list;
		if (!m || json_is_null(m))
			continue;
		if (!json_is_object(m))
			return ac_fail(k, "'%s' object has no attribute 'get'", ac_pytype(m));
		const json_t *fl = json_object_get(m, "fields");
		const json_t *fname = json_object_get(m, "filename");
		char *stored = NULL;
		struct buf msg;
		buf_init(&msg, 0);
		enum status st;
		if (!fname) {
			buf_append_str(&msg, "'filename'", NULL);
			st = ST_INVALID;
		} else if (!json_is_string(fname)) {
			buf_printf(&msg, NULL, "filename must be a string, not %s",
			           ac_pytype(fname));
			st = ST_INVALID;
		} else {
			const json_t *del = json_object_get(m, "deleteExisting");
			st = ac_media_store(k->srv, json_string_value(fname),
			                    json_string_length(fname), json_object_get(m, "data"),
			                    json_object_get(m, "path"), json_object_get(m, "url"),
			                    json_object_get(m, "skipHash"),
			                    del ? ac_truthy(del) : false, &stored, &msg);
		}
		struct buf add;
		buf_init(&add, 0);
		if (st) {
			if (!fl) { /* AnkiConnect's error handler reads media['fields'] */
				buf_free(&msg);
				return ac_fail_key(k, "fields");
			}
			const char *p = msg.data ? (const char *)msg.data : "";
			for (; *p; p++) {
				if (*p == '&')
					buf_append_str(&add, "&amp;", NULL);
				else if (*p == '<')
					buf_append_str(&add, "&lt;", NULL);
				else if (*p == '>')
					buf_append_str(&add, "&gt;", NULL);
				else
					buf_append(&add, p, 1, NULL);
			}
		} else if (stored) {
			if (kind == MEDIA_PICTURE)
				buf_printf(&add, NULL, "<img src=\"%s\">", stored);
			else
				buf_printf(&add, NULL, "[sound:%s]", stored);
		}
		free(stored);
		buf_free(&msg);
		if (add.len && json_is_array(fl)) {
			for (size_t j = 0; j < json_array_size(fl); j++) {
				const json_t *f = json_array_get(fl, j);
				if (!json_is_string(f))
					continue;
				for (size_t x = 0; x < nt->nfields; x++)
					if (strcmp(col_str(nt->fields[x].name),
					           json_string_value(f)) == 0 &&
					    append_to_field(&fields[x], (const char *)add.data)) {
						buf_free(&add);
						return ac_fail(k, "out of memory");
					}
			}
		}
		buf_free(&add);
	}
	return ST_OK;
}

static enum status note_media(struct ac_call *k, const json_t *note, char **fields,
                              const struct notetype *nt)
{
	if (add_media(k, json_object_get(note, "audio"), MEDIA_AUDIO, fields, nt) ||
	    add_media(k, json_object_get(note, "video"), MEDIA_VIDEO, fields, nt) ||
	    add_media(k, json_object_get(note, "picture"), MEDIA_PICTURE, fields, nt))
		return ST_INVALID;
	return ST_OK;
}

static char *join_fields(char **fields, size_t n)
{
	size_t total = 1;
	for (size_t i = 0; i < n; i++)
		total += strlen(col_str(fields[i])) + 1;
	char *out = malloc(total);
	if (!out)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			out[k++] = '\x1f';
		size_t l = strlen(col_str(fields[i]));
		memcpy(out + k, col_str(fields[i]), l);
		k += l;
	}
	out[k] = '\0';
	return out;
}

static bool py_isspace_only(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t adv;
		int32_t cp = text_utf8_decode((const unsigned char *)s + i, n - i, &adv);
		bool sp = text_is_white_space(cp) || (cp >= 0x1c && cp <= 0x1f);
		if (!sp)
			return false;
		i += adv;
	}
	return true;
}

/* AnkiConnect's isNoteDuplicateOrEmptyInScope path: 0 ok, 1 empty, 2 dup. */
static enum status scoped_check(struct ac_call *k, const struct newnote *nn, const char *scope,
                                const json_t *scope_deck, bool children, bool all_models,
                                int *state)
{
	*state = 0;
	const char *first = nn->nt->nt.nfields ? nn->fields[0] : "";
	if (py_isspace_only(first)) {
		*state = 1;
		return ST_OK;
	}
	uint32_t csum;
	struct errinfo e;
	if (text_checksum(first, strlen(first), &csum, &e))
		return ac_fail_err(k, &e);
	int64_t *dids = NULL;
	size_t ndids = 0;
	bool use_decks = scope && strcmp(scope, "deck") == 0;
	if (use_decks) {
		int64_t did = nn->did;
		if (scope_deck && !json_is_null(scope_deck)) {
			if (!json_is_string(scope_deck) ||
			    col_decks_find(k->c, json_string_value(scope_deck), &did, NULL))
				return ST_OK; /* unknown deck: cannot be a duplicate */
		}
		if (children) {
			if (col_decks_with_children(k->c, did, &dids, &ndids, &e))
				return ac_fail_err(k, &e);
		} else {
			dids = malloc(sizeof *dids);
			if (!dids)
				return ac_fail(k, "out of memory");
			dids[0] = did;
			ndids = 1;
		}
	}
	sqlite3_stmt *q = NULL, *cd = NULL;
	const char *sql = all_models ? "select id from notes where csum = ?1"
	                             : "select id from notes where csum = ?1 and +mid = ?2";
	int rc = sqlite3_prepare_v2(col_db(k->c), sql, -1, &q, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(col_db(k->c), "select did from cards where nid = ?1", -1,
		                        &cd, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(q);
		free(dids);
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	}
	sqlite3_bind_int64(q, 1, (int64_t)csum);
	if (!all_models)
		sqlite3_bind_int64(q, 2, nn->nt->nt.id);
	while (*state == 0 && sqlite3_step(q) == SQLITE_ROW) {
		if (!use_decks) {
			*state = 2;
			break;
		}
		sqlite3_reset(cd);
		sqlite3_bind_int64(cd, 1, sqlite3_column_int64(q, 0));
		while (*state == 0 && sqlite3_step(cd) == SQLITE_ROW) {
			int64_t d = sqlite3_column_int64(cd, 0);
			for (size_t i = 0; i < ndids; i++)
				if (dids[i] == d)
					*state = 2;
		}
	}
	sqlite3_finalize(q);
	sqlite3_finalize(cd);
	free(dids);
	return ST_OK;
}

/* createNote: everything addNote checks, in AnkiConnect's order. */
static enum status create_note(struct ac_call *k, const json_t *note, struct ntcache *nc,
                               struct newnote *nn)
{
	memset(nn, 0, sizeof *nn);
	buf_init(&nn->tags, 0);
	if (!json_is_object(note))
		return ac_fail(k, "'%s' object is not subscriptable", ac_pytype(note));
	const json_t *model = json_object_get(note, "modelName");
	if (!model)
		return ac_fail_key(k, "modelName");
	struct errinfo e;
	int64_t mid;
	struct buf s;
	buf_init(&s, 0);
	if (!json_is_string(model) || memo_model(nc, k->c, json_string_value(model), &mid, &e)) {
		py_str(model, &s);
		ac_fail(k, "model was not found: %s", s.data ? (char *)s.data : "");
		buf_free(&s);
		return ST_INVALID;
	}
	const json_t *deck = json_object_get(note, "deckName");
	if (!deck)
		return ac_fail_key(k, "deckName");
	if (!json_is_string(deck) || memo_deck(nc, k->c, json_string_value(deck), &nn->did, &e)) {
		py_str(deck, &s);
		ac_fail(k, "deck was not found: %s", s.data ? (char *)s.data : "");
		buf_free(&s);
		return ST_INVALID;
	}
	nn->nt = ntcache_get(nc, k->c, mid, &e);
	if (!nn->nt)
		return ac_fail_err(k, &e);
	size_t nf = nn->nt->nt.nfields;
	nn->fields = calloc(nf + 1, sizeof *nn->fields);
	if (!nn->fields)
		return ac_fail(k, "out of memory");
	for (size_t i = 0; i < nf; i++)
		if (!(nn->fields[i] = strdup("")))
			return ac_fail(k, "out of memory");
	const json_t *tags = json_object_get(note, "tags");
	if (json_is_string(tags)) {
		buf_append(&nn->tags, json_string_value(tags), strlen(json_string_value(tags)),
		           NULL);
	} else if (json_is_array(tags)) {
		for (size_t i = 0; i < json_array_size(tags); i++) {
			const json_t *t = json_array_get(tags, i);
			if (!json_is_string(t))
				return ac_fail(k, "bad argument type for built-in operation");
			buf_printf(&nn->tags, NULL, " %s", json_string_value(t));
		}
	}
	const json_t *fields = json_object_get(note, "fields");
	if (!fields)
		return ac_fail_key(k, "fields");
	if (!json_is_object(fields))
		return ac_fail(k, "'%s' object has no attribute 'items'", ac_pytype(fields));
	const char *fname;
	json_t *fval;
	json_object_foreach((json_t *)fields, fname, fval)
	{
		for (size_t i = 0; i < nf; i++) {
			if (!ac_lower_eq(fname, col_str(nn->nt->nt.fields[i].name)))
				continue;
			if (!json_is_string(fval))
				return ac_fail(k, "bad argument type for built-in operation");
			char *v = field_text(fval);
			if (!v)
				return ac_fail(k, "out of memory");
			free(nn->fields[i]);
			nn->fields[i] = v;
			break;
		}
	}
	if (note_media(k, note, nn->fields, &nn->nt->nt))
		return ST_INVALID;
	bool allow_dup = false, children = false, all_models = false;
	const char *scope = NULL;
	const json_t *scope_deck = NULL;
	const json_t *opts = json_object_get(note, "options");
	if (json_is_object(opts)) {
		const json_t *v = json_object_get(opts, "allowDuplicate");
		if (v) {
			if (!json_is_boolean(v))
				return ac_fail(
				    k, "option parameter \"allowDuplicate\" must be boolean");
			allow_dup = json_is_true(v);
		}
		v = json_object_get(opts, "duplicateScope");
		if (json_is_string(v))
			scope = json_string_value(v);
		const json_t *so = json_object_get(opts, "duplicateScopeOptions");
		if (json_is_object(so)) {
			scope_deck = json_object_get(so, "deckName");
			v = json_object_get(so, "checkChildren");
			if (v) {
				if (!json_is_boolean(v))
					return ac_fail(k, "option parameter "
					                  "\"duplicateScopeOptions.checkChildren\" "
					                  "must be boolean");
				children = json_is_true(v);
			}
			v = json_object_get(so, "checkAllModels");
			if (v) {
				if (!json_is_boolean(v))
					return ac_fail(k,
					               "option parameter "
					               "\"duplicateScopeOptions.checkAllModels\" "
					               "must be boolean");
				all_models = json_is_true(v);
			}
		}
	}
	int state = 0;
	if ((scope && strcmp(scope, "deck") == 0) || all_models) {
		if (scoped_check(k, nn, scope, scope_deck, children, all_models, &state))
			return ST_INVALID;
	} else {
		struct note n;
		memset(&n, 0, sizeof n);
		n.mid = mid;
		n.flds = join_fields(nn->fields, nf);
		if (!n.flds)
			return ac_fail(k, "out of memory");
		enum col_fields_state fs;
		enum status st = col_note_fields_check(k->c, nn->nt, &n, &fs, &e);
		free(n.flds);
		if (st)
			return ac_fail_err(k, &e);
		state = (int)fs;
	}
	if (state == 1)
		return ac_fail(k, "cannot create note because it is empty");
	if (state == 2 && !allow_dup)
		return ac_fail(k, "cannot create note because it is a duplicate");
	if (state > 2)
		return ac_fail(k, "cannot create note for unknown reason");
	return ST_OK;
}

/* createNote + add; *nid gets the new note's id. */
static enum status add_one(struct ac_call *k, const json_t *note, struct ntcache *nc, int64_t *nid)
{
	struct newnote nn;
	enum status st = create_note(k, note, nc, &nn);
	if (!st) {
		struct note n;
		memset(&n, 0, sizeof n);
		n.flds = join_fields(nn.fields, nn.nt->nt.nfields);
		n.tags = strdup(nn.tags.data ? (const char *)nn.tags.data : "");
		struct errinfo e;
		if (!n.flds || !n.tags)
			st = ac_fail(k, "out of memory");
		else if ((st = col_notegen_add(k->c, nn.nt, &n, nn.did, &e)))
			ac_fail_err(k, &e);
		*nid = n.id;
		note_free(&n);
	}
	newnote_free(&nn);
	return st;
}

enum status act_add_note(struct ac_call *k)
{
	struct ntcache nc = {0};
	int64_t nid = 0;
	enum status st = add_one(k, json_object_get(k->params, "note"), &nc, &nid);
	ntcache_free(&nc);
	return st ? st : ac_ok(k, json_integer(nid));
}

enum status act_add_notes(struct ac_call *k)
{
	json_t *notes = json_object_get(k->params, "notes");
	if (!json_is_array(notes))
		return ac_fail(k, "'%s' object is not iterable", ac_pytype(notes));
	struct ntcache nc = {0};
	json_t *ids = json_array();
	struct buf errs;
	buf_init(&errs, 0);
	size_t nerr = 0;
	for (size_t i = 0; ids && i < json_array_size(notes); i++) {
		int64_t nid = 0;
		k->failed = false;
		if (add_one(k, json_array_get(notes, i), &nc, &nid)) {
			buf_append_str(&errs, nerr++ ? ", " : "[", NULL);
			ac_py_repr_str(k->err.data ? (const char *)k->err.data : "", k->err.len,
			               &errs, NULL);
		} else {
			json_array_append_new(ids, json_integer(nid));
		}
	}
	ntcache_free(&nc);
	k->failed = false;
	if (nerr) {
		/* AnkiConnect removes what it added, then fails with the list of
		 * errors; the rolled-back transaction removes them here */
		buf_append_str(&errs, "]", NULL);
		json_decref(ids);
		ac_fail(k, "%s", (const char *)errs.data);
		buf_free(&errs);
		return ST_INVALID;
	}
	buf_free(&errs);
	return ac_ok(k, ids);
}

static json_t *can_add(struct ac_call *k, const json_t *note, struct ntcache *nc, bool detail)
{
	struct newnote nn;
	k->failed = false;
	enum status st = create_note(k, note, nc, &nn);
	newnote_free(&nn);
	json_t *r;
	if (!detail) {
		r = json_boolean(st == ST_OK);
	} else if (!st) {
		r = json_pack("{s:b}", "canAdd", 1);
	} else {
		r = json_pack("{s:b}", "canAdd", 0);
		if (r)
			json_object_set_new(r, "error",
			                    ac_jstr(k->err.data ? (char *)k->err.data : ""));
	}
	k->failed = false;
	return r;
}

static enum status can_add_list(struct ac_call *k, bool detail)
{
	json_t *notes = json_object_get(k->params, "notes");
	if (!json_is_array(notes))
		return ac_fail(k, "'%s' object is not iterable", ac_pytype(notes));
	struct ntcache nc = {0};
	json_t *out = json_array();
	for (size_t i = 0; out && i < json_array_size(notes); i++)
		json_array_append_new(out, can_add(k, json_array_get(notes, i), &nc, detail));
	ntcache_free(&nc);
	return ac_ok(k, out);
}

enum status act_can_add_notes(struct ac_call *k)
{
	return can_add_list(k, false);
}

enum status act_can_add_notes_detail(struct ac_call *k)
{
	return can_add_list(k, true);
}

enum status act_can_add_note(struct ac_call *k)
{
	struct ntcache nc = {0};
	json_t *r = can_add(k, json_object_get(k->params, "note"), &nc, false);
	ntcache_free(&nc);
	return ac_ok(k, r);
}

enum status act_can_add_note_detail(struct ac_call *k)
{
	struct ntcache nc = {0};
	json_t *r = can_add(k, json_object_get(k->params, "note"), &nc, true);
	ntcache_free(&nc);
	return ac_ok(k, r);
}

/* ---- updating ---- */

static enum status note_not_found(struct ac_call *k, const json_t *id)
{
	struct buf s;
	buf_init(&s, 0);
	py_str(id, &s);
	ac_fail(k, "Note was not found: %s", s.data ? (char *)s.data : "");
	buf_free(&s);
	return ST_INVALID;
}

/* Load a note by its JSON id, failing the call with AnkiConnect's text. */
static enum status load_note(struct ac_call *k, const json_t *idv, struct note *n)
{
	int64_t id;
	struct errinfo e;
	if (!ac_int(idv, &id))
		return note_not_found(k, idv);
	enum status st = col_note_get(k->c, id, n, &e);
	if (st == ST_NOTFOUND)
		return note_not_found(k, idv);
	if (st)
		return ac_fail_err(k, &e);
	return ST_OK;
}

/* Save n (fields/tags changed in memory): Anki writes nothing when the
 * note equals the stored one; new cards are generated when templates now
 * render. */
static enum status save_note(struct ac_call *k, struct note *n, const struct col_ntinfo *nt)
{
	struct note old;
	struct errinfo e;
	if (col_note_get(k->c, n->id, &old, &e))
		return ac_fail_err(k, &e);
	enum status st = col_note_update(k->c, n, &e);
	if (!st && strcmp(old.flds, n->flds) == 0 && strcmp(old.tags, n->tags) == 0 &&
	    old.mid == n->mid) {
		sqlite3_stmt *q;
		if (sqlite3_prepare_v2(col_db(k->c),
		                       "update notes set mod = ?2, usn = ?3 where id = ?1", -1, &q,
		                       NULL) == SQLITE_OK) {
			sqlite3_bind_int64(q, 1, n->id);
			sqlite3_bind_int64(q, 2, old.mod);
			sqlite3_bind_int(q, 3, old.usn);
			sqlite3_step(q);
			sqlite3_finalize(q);
		}
		n->mod = old.mod;
		n->usn = old.usn;
	}
	note_free(&old);
	if (!st)
		st = col_notegen_missing_cards(k->c, nt, n, 0, NULL, &e);
	if (st)
		return ac_fail_err(k, &e);
	return ST_OK;
}

static enum status split_note(struct ac_call *k, const struct note *n, size_t nf, char ***out)
{
	struct text_slice *f = NULL;
	size_t cnt = 0;
	struct errinfo e;
	if (text_fields_split(n->flds, strlen(n->flds), 0, &f, &cnt, &e))
		return ac_fail_err(k, &e);
	char **v = calloc(nf + 1, sizeof *v);
	for (size_t i = 0; v && i < nf; i++)
		v[i] = i < cnt ? strndup(f[i].p, f[i].len) : strdup("");
	free(f);
	for (size_t i = 0; v && i < nf; i++)
		if (!v[i]) {
			for (size_t j = 0; j < nf; j++)
				free(v[j]);
			free(v);
			v = NULL;
		}
	if (!v)
		return ac_fail(k, "out of memory");
	*out = v;
	return ST_OK;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static enum status update_fields(struct ac_call *k, const json_t *note)
{
	if (!json_is_object(note))
		return ac_fail(k, "'%s' object is not subscriptable", ac_pytype(note));
	const json_t *idv = json_object_get(note, "id");
	if (!idv)
		return ac_fail_key(k, "id");
	struct note n;
	if (load_note(k, idv, &n))
		return ST_INVALID;
	struct ntcache nc = {0};
	struct errinfo e;
	char **fields = NULL;
	enum status st = ST_OK;
	const struct col_ntinfo *nt = ntcache_get(&nc, k->c, n.mid, &e);
	if (!nt)
		st = ac_fail_err(k, &e);
	size_t nf = nt ? nt->nt.nfields : 0;
	if (!st)
		st = split_note(k, &n, nf, &fields);
	const json_t *fl = st ? NULL : json_object_get(note, "fields");
	if (!st && !fl)
		st = ac_fail_key(k, "fields");
	if (!st && !json_is_object(fl))
		st = ac_fail(k, "'%s' object has no attribute 'items'", ac_pytype(fl));
	if (!st) {
		const char *name;
		json_t *val;
		json_object_foreach((json_t *)fl, name, val)
		{
			for (size_t i = 0; i < nf; i++)
				if (strcmp(name, col_str(nt->nt.fields[i].name)) == 0) {
					if (!json_is_string(val)) {
						st = ac_fail(
						    k, "bad argument type for built-in operation");
						break;
					}
					char *v = field_text(val);
					if (!v) {
						st = ac_fail(k, "out of memory");
						break;
					}
					if (fields) {
						free(fields[i]);
						fields[i] = v;
					} else {
						free(v);
					}
				}
			if (st)
				break;
		}
	}
	if (!st)
		st = note_media(k, note, fields, &nt->nt);
	if (!st) {
		free(n.flds);
		n.flds = join_fields(fields, nf);
		st = n.flds ? save_note(k, &n, nt) : ac_fail(k, "out of memory");
	}
	free_strs(fields, nf);
	note_free(&n);
	ntcache_free(&nc);
	return st;
}

enum status act_update_note_fields(struct ac_call *k)
{
	if (update_fields(k, json_object_get(k->params, "note")))
		return ST_INVALID;
	return ac_ok(k, json_null());
}

enum status act_update_note(struct ac_call *k)
{
	const json_t *note = json_object_get(k->params, "note");
	if (!json_is_object(note))
		return ac_fail(k, "'%s' object has no attribute 'keys'", ac_pytype(note));
	bool done = false;
	if (json_object_get(note, "fields")) {
		if (update_fields(k, note))
			return ST_INVALID;
		done = true;
	}
	const json_t *tags = json_object_get(note, "tags");
	if (tags) {
		const json_t *idv = json_object_get(note, "id");
		if (!idv)
			return ac_fail_key(k, "id");
		int64_t id;
		if (!ac_int(idv, &id))
			return note_not_found(k, idv);
		if (ac_note_set_tags(k, id, tags))
			return ST_INVALID;
		done = true;
	}
	if (!done)
		return ac_fail(k, "Must provide a \"fields\" or \"tags\" property.");
	return ac_ok(k, json_null());
}

enum status act_update_note_model(struct ac_call *k)
{
	const json_t *note = json_object_get(k->params, "note");
	if (!json_is_object(note))
		return ac_fail(k, "'%s' object has no attribute 'get'", ac_pytype(note));
	const json_t *idv = json_object_get(note, "id");
	const json_t *model = json_object_get(note, "modelName");
	const json_t *fields = json_object_get(note, "fields");
	const json_t *tags = json_object_get(note, "tags");
	if (!ac_truthy(idv))
		return ac_fail(k, "Note ID is required");
	if (!ac_truthy(model))
		return ac_fail(k, "Model name is required");
	if (!json_is_object(fields) || json_object_size(fields) == 0)
		return ac_fail(k, "Fields must be provided as a dictionary");
	struct note n;
	if (load_note(k, idv, &n))
		return ST_INVALID;
	int64_t mid;
	struct errinfo e;
	if (!json_is_string(model) || ac_model_id(k->c, json_string_value(model), &mid, &e)) {
		struct buf s;
		buf_init(&s, 0);
		py_str(model, &s);
		ac_fail(k, "Model '%s' not found", s.data ? (char *)s.data : "");
		buf_free(&s);
		note_free(&n);
		return ST_INVALID;
	}
	struct ntcache nc = {0};
	const struct col_ntinfo *nt = ntcache_get(&nc, k->c, mid, &e);
	enum status st = nt ? ST_OK : ac_fail_err(k, &e);
	size_t nf = nt ? nt->nt.nfields : 0;
	char **vals = st ? NULL : calloc(nf + 1, sizeof *vals);
	if (!vals) {
		if (!st)
			ac_fail(k, "out of memory");
		note_free(&n);
		ntcache_free(&nc);
		return ST_INVALID;
	}
	for (size_t i = 0; !st && i < nf; i++)
		if (!(vals[i] = strdup("")))
			st = ac_fail(k, "out of memory");
	const char *fname;
	json_t *fval;
	if (!st)
		json_object_foreach((json_t *)fields, fname, fval)
		{
			for (size_t i = 0; i < nf; i++)
				if (ac_lower_eq(fname, col_str(nt->nt.fields[i].name))) {
					if (!json_is_string(fval)) {
						st = ac_fail(
						    k, "bad argument type for built-in operation");
						break;
					}
					char *v = field_text(fval);
					if (!v) {
						st = ac_fail(k, "out of memory");
						break;
					}
					free(vals[i]);
					vals[i] = v;
					break;
				}
			if (st)
				break;
		}
	struct buf tb;
	buf_init(&tb, 0);
	if (!st && json_is_array(tags))
		for (size_t i = 0; i < json_array_size(tags); i++)
			if (json_is_string(json_array_get(tags, i)))
				buf_printf(&tb, NULL, " %s",
				           json_string_value(json_array_get(tags, i)));
	if (!st && json_is_string(tags))
		buf_append_str(&tb, json_string_value(tags), NULL);
	if (!st) {
		free(n.flds);
		free(n.tags);
		n.flds = join_fields(vals, nf);
		n.tags = strdup(tb.data ? (const char *)tb.data : "");
		n.mid = mid;
		if (!n.flds || !n.tags)
			st = ac_fail(k, "out of memory");
	}
	if (!st && nt && !nt->is_cloze) {
		/* cards whose template the new notetype lacks cannot stay */
		int64_t args[2] = {n.id, (int64_t)nt->nt.ntemplates};
		int64_t *cids = NULL;
		size_t ncids = 0;
		st = col_query_ids(k->c, "select id from cards where nid = ?1 and ord >= ?2", args,
		                   2, &cids, &ncids, &e);
		for (size_t i = 0; !st && i < ncids; i++)
			st = col_card_delete(k->c, cids[i], &e);
		free(cids);
		if (st)
			ac_fail_err(k, &e);
	}
	if (!st)
		st = save_note(k, &n, nt);
	buf_free(&tb);
	free_strs(vals, nf);
	note_free(&n);
	ntcache_free(&nc);
	return st ? st : ac_ok(k, json_null());
}

/* ---- finding and describing ---- */

enum status act_find_notes(struct ac_call *k)
{
	json_t *q = json_object_get(k->params, "query");
	if (!q || json_is_null(q))
		return ac_ok(k, json_array());
	if (!json_is_string(q) || strlen(json_string_value(q)) != json_string_length(q))
		return ac_fail(k, "Invalid search: the query must be text");
	int64_t *ids = NULL;
	size_t n = 0;
	struct errinfo e;
	if (ac_find(k->c, json_string_value(q), false, &ids, &n, &e))
		return ac_fail_err(k, &e);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_integer(ids[i]));
	free(ids);
	return ac_ok(k, arr);
}

/* Tags column " a b " as a JSON list. */
static json_t *tags_json(const char *tags)
{
	json_t *arr = json_array();
	const char *p = tags;
	while (arr && *p) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n)
			json_array_append_new(arr, ac_jstrn(p, n));
		p += n;
	}
	return arr;
}

json_t *ac_note_fields_object(const struct notetype *nt, const char *flds)
{
	json_t *o = json_object();
	struct text_slice *f = NULL;
	size_t cnt = 0;
	if (!o || text_fields_split(flds, strlen(flds), 0, &f, &cnt, NULL)) {
		json_decref(o);
		return NULL;
	}
	for (size_t i = 0; i < nt->nfields; i++) {
		json_t *fo = json_object();
		if (!fo)
			break;
		json_object_set_new(fo, "value",
		                    i < cnt ? ac_jstrn(f[i].p, f[i].len) : json_string(""));
		json_object_set_new(fo, "order", json_integer((json_int_t)i));
		json_object_set_new(o, col_str(nt->fields[i].name), fo);
	}
	free(f);
	return o;
}

enum status act_notes_info(struct ac_call *k)
{
	json_t *notes = ac_param(k, "notes");
	json_t *query = ac_param(k, "query");
	if (!notes && !query)
		return ac_fail(k, "Must provide either \"notes\" or a \"query\"");
	int64_t *ids = NULL;
	size_t n = 0;
	struct errinfo e;
	if (query) {
		if (!json_is_string(query) ||
		    strlen(json_string_value(query)) != json_string_length(query))
			return ac_fail(k, "Invalid search: the query must be text");
		if (ac_find(k->c, json_string_value(query), false, &ids, &n, &e))
			return ac_fail_err(k, &e);
	} else if (ac_id_list(k, notes, &ids, &n)) {
		return ST_INVALID;
	}
	struct ntcache nc = {0};
	json_t *out = json_array();
	sqlite3_stmt *cq = NULL;
	if (sqlite3_prepare_v2(col_db(k->c), "select id from cards where nid = ?1 order by ord", -1,
	                       &cq, NULL) != SQLITE_OK) {
		free(ids);
		json_decref(out);
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	}
	for (size_t i = 0; out && i < n; i++) {
		struct note note;
		enum status st = col_note_get(k->c, ids[i], &note, &e);
		if (st == ST_NOTFOUND) {
			json_array_append_new(out, json_object());
			continue;
		}
		if (st) {
			json_decref(out);
			out = NULL;
			break;
		}
		const struct col_ntinfo *nt = ntcache_get(&nc, k->c, note.mid, &e);
		json_t *o = json_object();
		if (o && nt) {
			json_object_set_new(o, "noteId", json_integer(note.id));
			json_object_set_new(o, "profile", ac_jstr(k->srv->set.profile));
			json_object_set_new(o, "tags", tags_json(note.tags));
			json_object_set_new(o, "fields", ac_note_fields_object(&nt->nt, note.flds));
			json_object_set_new(o, "modelName", ac_jstr(nt->nt.name));
			json_object_set_new(o, "mod", json_integer(note.mod));
			json_t *cards = json_array();
			sqlite3_reset(cq);
			sqlite3_bind_int64(cq, 1, note.id);
			while (cards && sqlite3_step(cq) == SQLITE_ROW)
				json_array_append_new(cards,
				                      json_integer(sqlite3_column_int64(cq, 0)));
			json_object_set_new(o, "cards", cards);
		}
		note_free(&note);
		json_array_append_new(out, o ? o : json_object());
	}
	sqlite3_finalize(cq);
	ntcache_free(&nc);
	free(ids);
	if (!out)
		return ac_fail_err(k, &e);
	return ac_ok(k, out);
}

enum status act_notes_mod_time(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (ac_id_list(k, json_object_get(k->params, "notes"), &ids, &n))
		return ST_INVALID;
	return ac_mod_times(k, "select mod from notes where id = ?1", "noteId", ids, n);
}

enum status act_delete_notes(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (ac_id_list(k, json_object_get(k->params, "notes"), &ids, &n))
		return ST_INVALID;
	struct errinfo e;
	enum status st = ST_OK;
	for (size_t i = 0; i < n && !st; i++) {
		st = col_note_delete(k->c, ids[i], &e);
		if (st == ST_NOTFOUND)
			st = ST_OK;
	}
	free(ids);
	if (st)
		return ac_fail_err(k, &e);
	return ac_ok(k, json_null());
}

enum status act_remove_empty_notes(struct ac_call *k)
{
	/* AnkiConnect's actual behaviour: remove every notetype without notes
	 * (but never the last notetype) */
	struct errinfo e;
	int64_t *ids = NULL;
	size_t n = 0;
	enum status st =
	    col_query_ids(k->c,
	                  "select id from notetypes where not exists (select 1 from notes "
	                  "where notes.mid = notetypes.id) order by id",
	                  NULL, 0, &ids, &n, &e);
	int64_t *all = NULL;
	size_t nall = 0;
	if (!st)
		st = col_query_ids(k->c, "select id from notetypes", NULL, 0, &all, &nall, &e);
	size_t removed = 0;
	for (size_t i = 0; !st && i < n; i++) {
		if (nall - removed <= 1)
			break;
		st = col_delete_notetype(k->c, ids[i], &e);
		removed++;
	}
	free(all);
	free(ids);
	if (!st && removed) {
		st = col_touch_schema(k->c, &e);
		json_t *cur = NULL;
		int64_t curid = 0;
		if (!st && col_config_get(k->c, "curModel", &cur, NULL) == ST_OK) {
			curid = json_is_integer(cur) ? json_integer_value(cur) : 0;
			json_decref(cur);
		}
		int64_t first = 0;
		int64_t *left = NULL;
		size_t nl = 0;
		if (!st &&
		    col_query_ids(k->c, "select id from notetypes order by name", NULL, 0, &left,
		                  &nl, &e) == ST_OK &&
		    nl) {
			first = left[0];
			bool ok = false;
			for (size_t i = 0; i < nl; i++)
				ok = ok || left[i] == curid;
			if (!ok) {
				json_t *v = json_integer(first);
				st = col_config_set(k->c, "curModel", v, &e);
				json_decref(v);
			}
		}
		free(left);
	}
	if (st)
		return ac_fail_err(k, &e);
	return ac_ok(k, json_null());
}
