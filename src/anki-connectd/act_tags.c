/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * act_tags.c - tag actions (ankiconnect.md §3.7 tags): every note write
 * goes through col_note_update, which puts tags in Anki's canonical form
 * and registers new ones; a note whose tags do not actually change keeps
 * its mod and usn (Anki writes nothing then).  removeTags matches like
 * Anki's tag matcher: case-insensitive, '*' wildcards, children included.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "actions.h"
#include "col_notegen.h"
#include "col_store.h"
#include "text.h"

struct taglist {
	char **v;
	size_t n;
};

static void taglist_free(struct taglist *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* Split on spaces (and U+3000, which canonical tags never contain). */
static int taglist_split(const char *s, struct taglist *t)
{
	memset(t, 0, sizeof *t);
	while (*s) {
		while (*s == ' ')
			s++;
		size_t n = strcspn(s, " ");
		if (n) {
			char **v = realloc(t->v, (t->n + 1) * sizeof *v);
			if (!v) {
				taglist_free(t);
				return -1;
			}
			t->v = v;
			if (!(v[t->n] = strndup(s, n))) {
				taglist_free(t);
				return -1;
			}
			t->n++;
		}
		s += n;
	}
	return 0;
}

/* Write a note's new tags; unchanged canonical tags keep mod/usn. */
static enum status write_tags(struct ac_call *k, struct note *n, const char *tags, bool gen_cards)
{
	struct errinfo e;
	char *old = strdup(n->tags);
	int64_t mod = n->mod;
	int32_t usn = n->usn;
	free(n->tags);
	n->tags = strdup(tags);
	if (!old || !n->tags) {
		free(old);
		return ac_fail(k, "out of memory");
	}
	enum status st = col_note_update(k->c, n, &e);
	if (!st && strcmp(old, n->tags) == 0) {
		int64_t args[3] = {n->id, mod, usn};
		int64_t *none = NULL;
		size_t nn = 0;
		st = col_query_ids(k->c, "update notes set mod = ?2, usn = ?3 where id = ?1", args,
		                   3, &none, &nn, &e);
		free(none);
	}
	free(old);
	if (!st && gen_cards) {
		struct col_ntinfo nt;
		st = col_ntinfo_load(k->c, n->mid, &nt, &e);
		if (!st)
			st = col_notegen_missing_cards(k->c, &nt, n, 0, NULL, &e);
		col_ntinfo_free(&nt);
	}
	if (st)
		return ac_fail_err(k, &e);
	return ST_OK;
}

enum status ac_note_set_tags(struct ac_call *k, int64_t nid, const json_t *tags)
{
	struct buf tb;
	buf_init(&tb, 0);
	if (json_is_string(tags)) {
		buf_append_str(&tb, json_string_value(tags), NULL);
	} else if (json_is_array(tags)) {
		for (size_t i = 0; i < json_array_size(tags); i++) {
			const json_t *t = json_array_get(tags, i);
			if (!json_is_string(t)) {
				buf_free(&tb);
				return ac_fail(k, "Must provide tags as a list of strings");
			}
			buf_printf(&tb, NULL, " %s", json_string_value(t));
		}
	} else {
		return ac_fail(k, "Must provide tags as a list of strings");
	}
	struct note n;
	struct errinfo e;
	enum status st = col_note_get(k->c, nid, &n, &e);
	if (st == ST_NOTFOUND) {
		buf_free(&tb);
		return ac_fail(k, "Note was not found: %lld", (long long)nid);
	}
	if (st) {
		buf_free(&tb);
		return ac_fail_err(k, &e);
	}
	st = write_tags(k, &n, tb.data ? (const char *)tb.data : "", true);
	note_free(&n);
	buf_free(&tb);
	return st;
}

enum status act_update_note_tags(struct ac_call *k)
{
	json_t *note = json_object_get(k->params, "note");
	json_t *tags = json_object_get(k->params, "tags");
	if (!json_is_string(tags) && !json_is_array(tags))
		return ac_fail(k, "Must provide tags as a list of strings");
	int64_t id;
	if (!ac_int(note, &id))
		return ac_fail(k, "Note was not found: %s",
		               json_is_string(note) ? json_string_value(note) : ac_pytype(note));
	if (ac_note_set_tags(k, id, tags))
		return ST_INVALID;
	return ac_ok(k, json_null());
}

static json_t *tags_array(const char *tags)
{
	struct taglist t;
	json_t *arr = json_array();
	if (taglist_split(tags, &t) == 0)
		for (size_t i = 0; arr && i < t.n; i++)
			json_array_append_new(arr, ac_jstr(t.v[i]));
	taglist_free(&t);
	return arr;
}

enum status act_get_note_tags(struct ac_call *k)
{
	json_t *v = json_object_get(k->params, "note");
	int64_t id;
	struct note n;
	struct errinfo e;
	if (!ac_int(v, &id) || col_note_get(k->c, id, &n, &e)) {
		struct buf s;
		buf_init(&s, 0);
		if (json_is_string(v))
			buf_append_str(&s, json_string_value(v), NULL);
		else
			ac_py_repr_json(v, &s);
		ac_fail(k, "Note was not found: %s", s.data ? (char *)s.data : "");
		buf_free(&s);
		return ST_INVALID;
	}
	json_t *arr = tags_array(n.tags);
	note_free(&n);
	return ac_ok(k, arr);
}

/* Unicode case folding of s (NFC kept), malloc'd. */
static char *fold(const char *s)
{
	utf8proc_uint8_t *out = NULL;
	if (utf8proc_map((const utf8proc_uint8_t *)s, 0, &out,
	                 UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
	                     UTF8PROC_CASEFOLD) < 0)
		return strdup(s);
	return (char *)out;
}

/* '*' matches any run of characters. */
static bool glob(const char *p, const char *s)
{
	const char *star = NULL, *ss = NULL;
	while (*s) {
		if (*p == '*') {
			star = p++;
			ss = s;
		} else if (*p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++ss;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* Anki's tag matcher: the tag itself or any of its children. */
static bool tag_matches(const char *pattern_folded, const char *tag)
{
	char *t = fold(tag);
	if (!t)
		return false;
	bool m = glob(pattern_folded, t);
	if (!m) {
		size_t n = strlen(pattern_folded);
		char *child = malloc(n + 4);
		if (child) {
			memcpy(child, pattern_folded, n);
			memcpy(child + n, "::*", 4);
			m = glob(child, t);
			free(child);
		}
	}
	free(t);
	return m;
}

static enum status edit_notes(struct ac_call *k, const int64_t *ids, size_t n, bool add,
                              const struct taglist *pats)
{
	struct errinfo e;
	char **folded = calloc(pats->n + 1, sizeof *folded);
	if (!folded)
		return ac_fail(k, "out of memory");
	for (size_t i = 0; i < pats->n; i++)
		folded[i] = fold(pats->v[i]);
	enum status st = ST_OK;
	for (size_t i = 0; !st && i < n; i++) {
		struct note note;
		enum status gs = col_note_get(k->c, ids[i], &note, &e);
		if (gs == ST_NOTFOUND)
			continue;
		if (gs) {
			st = ac_fail_err(k, &e);
			break;
		}
		struct taglist cur;
		if (taglist_split(note.tags, &cur)) {
			note_free(&note);
			st = ac_fail(k, "out of memory");
			break;
		}
		struct buf nt;
		buf_init(&nt, 0);
		for (size_t j = 0; j < cur.n; j++) {
			bool drop = false;
			for (size_t p = 0; !add && p < pats->n; p++)
				if (folded[p] && tag_matches(folded[p], cur.v[j]))
					drop = true;
			if (!drop)
				buf_printf(&nt, NULL, " %s", cur.v[j]);
		}
		for (size_t p = 0; add && p < pats->n; p++)
			buf_printf(&nt, NULL, " %s", pats->v[p]);
		st = write_tags(k, &note, nt.data ? (const char *)nt.data : "", false);
		buf_free(&nt);
		taglist_free(&cur);
		note_free(&note);
	}
	for (size_t i = 0; i < pats->n; i++)
		free(folded[i]);
	free(folded);
	return st;
}

static enum status add_or_remove(struct ac_call *k, bool add)
{
	int64_t *ids;
	size_t n;
	if (ac_id_list(k, json_object_get(k->params, "notes"), &ids, &n))
		return ST_INVALID;
	json_t *tags = json_object_get(k->params, "tags");
	if (!json_is_string(tags)) {
		free(ids);
		return ac_fail(k, "tags must be a string of space-separated tags, not %s",
		               ac_pytype(tags));
	}
	struct taglist pats;
	if (taglist_split(json_string_value(tags), &pats)) {
		free(ids);
		return ac_fail(k, "out of memory");
	}
	enum status st = pats.n ? edit_notes(k, ids, n, add, &pats) : ST_OK;
	taglist_free(&pats);
	free(ids);
	return st ? st : ac_ok(k, json_null());
}

enum status act_add_tags(struct ac_call *k)
{
	json_t *add = json_object_get(k->params, "add");
	return add_or_remove(k, add ? ac_truthy(add) : true);
}

enum status act_remove_tags(struct ac_call *k)
{
	return add_or_remove(k, false);
}

enum status act_get_tags(struct ac_call *k)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(col_db(k->c), "select tag from tags order by tag", -1, &q, NULL))
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	json_t *arr = json_array();
	while (arr && sqlite3_step(q) == SQLITE_ROW)
		json_array_append_new(arr, ac_jstr((const char *)sqlite3_column_text(q, 0)));
	sqlite3_finalize(q);
	return ac_ok(k, arr);
}

enum status act_clear_unused_tags(struct ac_call *k)
{
	/* A registered tag stays when a note uses it or one of its children. */
	sqlite3_stmt *q;
	struct errinfo e;
	if (sqlite3_prepare_v2(col_db(k->c),
	                       "create temp table if not exists ac_used (t text primary key)", -1,
	                       &q, NULL) ||
	    sqlite3_step(q) != SQLITE_DONE) {
		sqlite3_finalize(q);
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	}
	sqlite3_finalize(q);
	sqlite3_exec(col_db(k->c), "delete from temp.ac_used", NULL, NULL, NULL);
	sqlite3_stmt *ins = NULL;
	enum status st = ST_OK;
	if (sqlite3_prepare_v2(col_db(k->c), "select tags from notes where tags != ''", -1, &q,
	                       NULL) ||
	    sqlite3_prepare_v2(col_db(k->c), "insert or ignore into temp.ac_used values (?1)", -1,
	                       &ins, NULL))
		st = ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	while (!st && sqlite3_step(q) == SQLITE_ROW) {
		struct taglist t;
		if (taglist_split((const char *)sqlite3_column_text(q, 0), &t)) {
			st = ac_fail(k, "out of memory");
			break;
		}
		for (size_t i = 0; i < t.n; i++) {
			/* the tag and each of its parents count as used */
			char *f = fold(t.v[i]);
			size_t fl = f ? strlen(f) : 0;
			for (size_t end = 0; f && end <= fl; end++) {
				if (end != fl && strncmp(f + end, "::", 2) != 0)
					continue;
				sqlite3_reset(ins);
				sqlite3_bind_text(ins, 1, f, (int)end, SQLITE_TRANSIENT);
				sqlite3_step(ins);
			}
			free(f);
		}
		taglist_free(&t);
	}
	sqlite3_finalize(q);
	sqlite3_finalize(ins);
	/* delete registered tags whose folded form is unused */
	int64_t *none = NULL;
	size_t nn = 0;
	sqlite3_stmt *all = NULL, *del = NULL;
	if (!st &&
	    (sqlite3_prepare_v2(col_db(k->c), "select tag from tags", -1, &all, NULL) ||
	     sqlite3_prepare_v2(col_db(k->c), "delete from tags where tag = ?1", -1, &del, NULL)))
		st = ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	struct taglist gone = {0};
	while (!st && sqlite3_step(all) == SQLITE_ROW) {
		char *f = fold((const char *)sqlite3_column_text(all, 0));
		sqlite3_stmt *chk;
		bool used = false;
		if (f && sqlite3_prepare_v2(col_db(k->c), "select 1 from temp.ac_used where t = ?1",
		                            -1, &chk, NULL) == SQLITE_OK) {
			sqlite3_bind_text(chk, 1, f, -1, SQLITE_STATIC);
			used = sqlite3_step(chk) == SQLITE_ROW;
			sqlite3_finalize(chk);
		}
		free(f);
		if (!used) {
			char **v = realloc(gone.v, (gone.n + 1) * sizeof *v);
			if (v) {
				gone.v = v;
				v[gone.n] = strdup((const char *)sqlite3_column_text(all, 0));
				if (v[gone.n])
					gone.n++;
			}
		}
	}
	sqlite3_finalize(all);
	for (size_t i = 0; !st && i < gone.n; i++) {
		sqlite3_reset(del);
		sqlite3_bind_text(del, 1, gone.v[i], -1, SQLITE_STATIC);
		if (sqlite3_step(del) != SQLITE_DONE)
			st = ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	}
	sqlite3_finalize(del);
	taglist_free(&gone);
	sqlite3_exec(col_db(k->c), "delete from temp.ac_used", NULL, NULL, NULL);
	free(none);
	(void)nn;
	(void)e;
	return st ? st : ac_ok(k, json_null());
}

/* pylib's has_tag / remove_tag / add_tag on one note. */
static enum status replace_in_note(struct ac_call *k, int64_t nid, const char *from, const char *to)
{
	struct note n;
	struct errinfo e;
	enum status st = col_note_get(k->c, nid, &n, &e);
	if (st == ST_NOTFOUND)
		return ST_OK;
	if (st)
		return ac_fail_err(k, &e);
	struct taglist t;
	if (taglist_split(n.tags, &t)) {
		note_free(&n);
		return ac_fail(k, "out of memory");
	}
	bool has = false;
	for (size_t i = 0; i < t.n; i++)
		if (ac_lower_eq(t.v[i], from))
			has = true;
	if (has) {
		struct buf b;
		buf_init(&b, 0);
		for (size_t i = 0; i < t.n; i++)
			if (!ac_lower_eq(t.v[i], from))
				buf_printf(&b, NULL, " %s", t.v[i]);
		buf_printf(&b, NULL, " %s", to);
		st = write_tags(k, &n, (const char *)b.data, false);
		buf_free(&b);
	}
	taglist_free(&t);
	note_free(&n);
	return st;
}

static bool tag_params(struct ac_call *k, const char **from, const char **to)
{
	json_t *a = json_object_get(k->params, "tag_to_replace");
	json_t *b = json_object_get(k->params, "replace_with_tag");
	if (!json_is_string(a) || !json_is_string(b)) {
		ac_fail(k, "tag_to_replace and replace_with_tag must be strings");
		return false;
	}
	*from = json_string_value(a);
	*to = json_string_value(b);
	return true;
}

enum status act_replace_tags(struct ac_call *k)
{
	const char *from, *to;
	int64_t *ids;
	size_t n;
	if (ac_id_list(k, json_object_get(k->params, "notes"), &ids, &n))
		return ST_INVALID;
	if (!tag_params(k, &from, &to)) {
		free(ids);
		return ST_INVALID;
	}
	enum status st = ST_OK;
	for (size_t i = 0; !st && i < n; i++)
		st = replace_in_note(k, ids[i], from, to);
	free(ids);
	return st ? st : ac_ok(k, json_null());
}

enum status act_replace_tags_in_all_notes(struct ac_call *k)
{
	const char *from, *to;
	if (!tag_params(k, &from, &to))
		return ST_INVALID;
	int64_t *ids;
	size_t n;
	struct errinfo e;
	if (col_query_ids(k->c, "select id from notes where tags != ''", NULL, 0, &ids, &n, &e))
		return ac_fail_err(k, &e);
	enum status st = ST_OK;
	for (size_t i = 0; !st && i < n; i++)
		st = replace_in_note(k, ids[i], from, to);
	free(ids);
	return st ? st : ac_ok(k, json_null());
}
