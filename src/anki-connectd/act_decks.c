/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * act_decks.c - deck and deck-options actions (ankiconnect.md §3.2), on
 * col_decks.h (tree) and col_store.h/col_json.h (presets in Anki's legacy
 * JSON).  The exact-versus-case-insensitive split of §2.2 is kept:
 * getDeckConfig, setDeckConfigId and deleteDecks test membership in
 * deckNames with exact comparison; the rest look names up like Anki.
 */
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "col_decks.h"
#include "col_json.h"
#include "col_store.h"
#include "search_day.h"

enum status act_deck_names(struct ac_call *k)
{
	struct col_deck_list l;
	struct errinfo e;
	if (col_decks_list(k->c, &l, &e))
		return ac_fail_err(k, &e);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < l.n; i++)
		json_array_append_new(arr, ac_jstr(l.v[i].name));
	col_deck_list_free(&l);
	return ac_ok(k, arr);
}

enum status act_deck_names_and_ids(struct ac_call *k)
{
	struct col_deck_list l;
	struct errinfo e;
	if (col_decks_list(k->c, &l, &e))
		return ac_fail_err(k, &e);
	json_t *o = json_object();
	for (size_t i = 0; o && i < l.n; i++)
		json_object_set_new(o, l.v[i].name, json_integer(l.v[i].id));
	col_deck_list_free(&l);
	return ac_ok(k, o);
}

/* Is name exactly one of the deck names?  *id gets its id. */
static enum status exact_deck(struct ac_call *k, const char *name, bool *found, int64_t *id,
                              bool *filtered)
{
	struct col_deck_list l;
	struct errinfo e;
	*found = false;
	if (col_decks_list(k->c, &l, &e))
		return ac_fail_err(k, &e);
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i].name, name) == 0) {
			*found = true;
			*id = l.v[i].id;
			if (filtered)
				*filtered = l.v[i].filtered;
			break;
		}
	col_deck_list_free(&l);
	return ST_OK;
}

/* A deck name parameter: Python would str() anything; we need text. */
static const char *deck_param(struct ac_call *k, const char *key)
{
	json_t *d = json_object_get(k->params, key);
	if (!json_is_string(d)) {
		ac_fail(k, "deck name must be a string, not %s", ac_pytype(d));
		return NULL;
	}
	return json_string_value(d);
}

enum status act_get_decks(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (ac_id_list(k, json_object_get(k->params, "cards"), &ids, &n))
		return ST_INVALID;
	json_t *o = json_object();
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(col_db(k->c), "select did from cards where id = ?1", -1, &st,
	                       NULL)) {
		free(ids);
		json_decref(o);
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	}
	for (size_t i = 0; o && i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, ids[i]);
		int64_t did = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 1;
		/* Anki maps an unknown deck (and a missing card) to Default */
		char *name = ac_deck_name(k->c, did);
		if (!name)
			name = ac_deck_name(k->c, 1);
		const char *key = name ? name : "Default";
		json_t *arr = json_object_get(o, key);
		if (!arr) {
			arr = json_array();
			json_object_set_new(o, key, arr);
		}
		json_array_append_new(arr, json_integer(ids[i]));
		free(name);
	}
	sqlite3_finalize(st);
	free(ids);
	return ac_ok(k, o);
}

enum status act_create_deck(struct ac_call *k)
{
	const char *name = deck_param(k, "deck");
	if (!name)
		return ST_INVALID;
	int64_t id;
	struct errinfo e;
	if (col_decks_get_or_create(k->c, name, &id, NULL, &e))
		return ac_fail_err(k, &e);
	return ac_ok(k, json_integer(id));
}

enum status act_change_deck(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (ac_id_list(k, json_object_get(k->params, "cards"), &ids, &n))
		return ST_INVALID;
	const char *name = deck_param(k, "deck");
	if (!name) {
		free(ids);
		return ST_INVALID;
	}
	int64_t did;
	struct errinfo e;
	enum status st = col_decks_get_or_create(k->c, name, &did, NULL, &e);
	sqlite3_stmt *home = NULL, *move = NULL;
	if (!st && (sqlite3_prepare_v2(
	                col_db(k->c),
	                "update cards set did = odid, due = (case when odue != 0 then odue "
	                "else due end), queue = (case when queue < 0 then queue when type = 0 "
	                "then 0 when type = 2 then 2 when (case when odue != 0 then odue else "
	                "due end) > 1000000000 then 1 else 3 end), odid = 0, odue = 0 where id "
	                "= ?1 and odid != 0",
	                -1, &home, NULL) ||
	            sqlite3_prepare_v2(
	                col_db(k->c), "update cards set usn = ?2, mod = ?3, did = ?4 where id = ?1",
	                -1, &move, NULL)))
		st = col_sqlite_err(col_db(k->c), sqlite3_errcode(col_db(k->c)), &e, "changeDeck");
	for (size_t i = 0; !st && i < n; i++) {
		sqlite3_reset(home);
		sqlite3_bind_int64(home, 1, ids[i]);
		sqlite3_reset(move);
		sqlite3_bind_int64(move, 1, ids[i]);
		sqlite3_bind_int(move, 2, col_usn(k->c));
		sqlite3_bind_int64(move, 3, col_now_secs());
		sqlite3_bind_int64(move, 4, did);
		if (sqlite3_step(home) != SQLITE_DONE || sqlite3_step(move) != SQLITE_DONE)
			st = col_sqlite_err(col_db(k->c), sqlite3_errcode(col_db(k->c)), &e,
			                    "changeDeck");
	}
	sqlite3_finalize(home);
	sqlite3_finalize(move);
	free(ids);
	if (st)
		return ac_fail_err(k, &e);
	return ac_ok(k, json_null());
}

enum status act_delete_decks(struct ac_call *k)
{
	if (!ac_truthy(json_object_get(k->params, "cardsToo")))
		return ac_fail(
		    k, "Since Anki 2.1.28 it's not possible to delete decks without deleting "
		       "cards as well");
	json_t *decks = json_object_get(k->params, "decks");
	if (!json_is_array(decks))
		return ac_fail(k, "'%s' object is not iterable", ac_pytype(decks));
	int64_t *ids = malloc((json_array_size(decks) + 1) * sizeof *ids);
	size_t n = 0;
	if (!ids)
		return ac_fail(k, "out of memory");
	for (size_t i = 0; i < json_array_size(decks); i++) {
		const json_t *d = json_array_get(decks, i);
		bool found = false;
		int64_t id;
		if (!json_is_string(d))
			continue;
		if (exact_deck(k, json_string_value(d), &found, &id, NULL)) {
			free(ids);
			return ST_INVALID;
		}
		if (found)
			ids[n++] = id;
	}
	struct errinfo e;
	enum status st = col_decks_remove(k->c, ids, n, NULL, &e);
	free(ids);
	if (st)
		return ac_fail_err(k, &e);
	return ac_ok(k, json_null());
}

enum status act_get_deck_config(struct ac_call *k)
{
	json_t *d = json_object_get(k->params, "deck");
	if (!json_is_string(d))
		return ac_ok(k, json_false());
	bool found, filtered = false;
	int64_t id;
	if (exact_deck(k, json_string_value(d), &found, &id, &filtered))
		return ST_INVALID;
	if (!found)
		return ac_ok(k, json_false());
	struct deck dk;
	struct errinfo e;
	if (col_load_deck(k->c, id, &dk, &e))
		return ac_fail_err(k, &e);
	json_t *out;
	if (dk.kind.type == DECK_KIND_FILTERED) {
		out = deck_to_json(&dk);
	} else {
		struct deckconf dc;
		enum status st = col_load_deckconf(k->c, dk.kind.normal.config_id, &dc, &e);
		if (st == ST_NOTFOUND)
			st = col_load_deckconf(k->c, 1, &dc, &e);
		if (st) {
			deck_free(&dk);
			return ac_fail_err(k, &e);
		}
		out = deckconf_to_json(&dc);
		if (out)
			json_object_set_new(out, "dyn", json_false());
		deckconf_free(&dc);
	}
	deck_free(&dk);
	return ac_ok(k, out);
}

/* Python's int(x) for an int or a numeric string. */
static bool py_int(const json_t *v, int64_t *out, struct ac_call *k)
{
	if (ac_int(v, out))
		return true;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		long long x = strtoll(s, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\n')
			end++;
		if (end != s && *end == '\0' &&
		    strlen(json_string_value(v)) == json_string_length(v)) {
			*out = x;
			return true;
		}
		struct buf r;
		buf_init(&r, 0);
		ac_py_repr_str_json(v, &r);
		ac_fail(k, "invalid literal for int() with base 10: %s",
		        r.data ? (char *)r.data : "''");
		buf_free(&r);
		return false;
	}
	ac_fail(k,
	        "int() argument must be a string, a bytes-like object or a real number, not '%s'",
	        ac_pytype(v));
	return false;
}

static bool preset_exists(struct col *c, int64_t id)
{
	struct deckconf dc;
	if (col_load_deckconf(c, id, &dc, NULL))
		return false;
	deckconf_free(&dc);
	return true;
}

enum status act_save_deck_config(struct ac_call *k)
{
	json_t *cfg = json_object_get(k->params, "config");
	if (!json_is_object(cfg))
		return ac_fail(k, "'%s' object does not support item assignment", ac_pytype(cfg));
	json_t *idv = json_object_get(cfg, "id");
	if (!idv)
		return ac_fail_key(k, "id");
	int64_t id;
	if (!py_int(idv, &id, k))
		return ST_INVALID;
	if (!preset_exists(k->c, id))
		return ac_ok(k, json_false());
	json_t *copy = json_deep_copy(cfg);
	if (!copy)
		return ac_fail(k, "out of memory");
	json_object_set_new(copy, "id", json_integer(id));
	struct deckconf dc;
	enum status st = deckconf_from_json(copy, &dc, NULL);
	json_decref(copy);
	if (st)
		return ac_ok(k, json_false());
	dc.id = id;
	dc.mtime = col_now_secs();
	dc.usn = col_usn(k->c);
	struct errinfo e;
	st = col_store_deckconf(k->c, &dc, &e);
	deckconf_free(&dc);
	return ac_ok(k, json_boolean(st == ST_OK));
}

enum status act_set_deck_config_id(struct ac_call *k)
{
	json_t *decks = json_object_get(k->params, "decks");
	int64_t conf;
	if (!py_int(json_object_get(k->params, "configId"), &conf, k))
		return ST_INVALID;
	if (!json_is_array(decks))
		return ac_fail(k, "'%s' object is not iterable", ac_pytype(decks));
	size_t n = json_array_size(decks);
	int64_t *ids = malloc((n + 1) * sizeof *ids);
	if (!ids)
		return ac_fail(k, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *d = json_array_get(decks, i);
		bool found = false, filtered = false;
		if (json_is_string(d) &&
		    exact_deck(k, json_string_value(d), &found, &ids[i], &filtered)) {
			free(ids);
			return ST_INVALID;
		}
		if (!found || filtered) {
			free(ids);
			return ac_ok(k, json_false());
		}
	}
	if (!preset_exists(k->c, conf)) { /* AnkiConnect does not check; we refuse */
		free(ids);
		return ac_ok(k, json_false());
	}
	struct errinfo e;
	enum status st = ST_OK;
	for (size_t i = 0; i < n && !st; i++) {
		struct deck d;
		st = col_load_deck(k->c, ids[i], &d, &e);
		if (st)
			break;
		d.kind.normal.config_id = conf;
		d.mtime = col_now_secs();
		d.usn = col_usn(k->c);
		st = col_store_deck(k->c, &d, COL_STORE_NORMAL, &e);
		deck_free(&d);
	}
	free(ids);
	if (st)
		return ac_fail_err(k, &e);
	return ac_ok(k, json_true());
}

enum status act_clone_deck_config_id(struct ac_call *k)
{
	json_t *name = json_object_get(k->params, "name");
	json_t *from = json_object_get(k->params, "cloneFrom");
	int64_t src = 1;
	if (from && !py_int(from, &src, k))
		return ST_INVALID;
	if (!json_is_string(name))
		return ac_fail(k, "name must be a string, not %s", ac_pytype(name));
	struct deckconf dc;
	struct errinfo e;
	if (col_load_deckconf(k->c, src, &dc, NULL))
		return ac_ok(k, json_false());
	free(dc.name);
	dc.name = strdup(json_string_value(name));
	enum status st = dc.name ? col_alloc_id(k->c, "deck_config", col_now_ms(), &dc.id, &e)
	                         : errinfo_set(&e, ST_NOMEM, "out of memory");
	dc.mtime = col_now_secs();
	dc.usn = col_usn(k->c);
	if (!st)
		st = col_store_deckconf(k->c, &dc, &e);
	int64_t id = dc.id;
	deckconf_free(&dc);
	if (st)
		return ac_fail_err(k, &e);
	return ac_ok(k, json_integer(id));
}

enum status act_remove_deck_config_id(struct ac_call *k)
{
	int64_t id;
	if (!py_int(json_object_get(k->params, "configId"), &id, k))
		return ST_INVALID;
	if (id == 1 || !preset_exists(k->c, id))
		return ac_ok(k, json_false());
	struct errinfo e;
	if (col_delete_deckconf(k->c, id, &e))
		return ac_fail_err(k, &e);
	return ac_ok(k, json_true());
}

enum status act_deck_name_from_id(struct ac_call *k)
{
	json_t *v = json_object_get(k->params, "deckId");
	int64_t id;
	char *name = ac_int(v, &id) ? ac_deck_name(k->c, id) : NULL;
	if (!name) {
		struct buf r;
		buf_init(&r, 0);
		if (json_is_string(v))
			buf_append(&r, json_string_value(v), json_string_length(v), NULL);
		else
			ac_py_repr_json(v, &r);
		ac_fail(k, "deck was not found: %s", r.data ? (char *)r.data : "");
		buf_free(&r);
		return ST_INVALID;
	}
	json_t *j = ac_jstr(name);
	free(name);
	return ac_ok(k, j);
}

/* ---- getDeckStats ---- */

static int64_t count_q(struct col *c, const char *sql, const int64_t *ids, size_t n, int64_t a,
                       int64_t b)
{
	struct buf q;
	buf_init(&q, 0);
	buf_append_str(&q, sql, NULL);
	buf_append_str(&q, " and did in (", NULL);
	for (size_t i = 0; i < n; i++)
		buf_printf(&q, NULL, "%s%lld", i ? "," : "", (long long)ids[i]);
	buf_append_str(&q, ")", NULL);
	sqlite3_stmt *st;
	int64_t r = 0;
	if (q.data &&
	    sqlite3_prepare_v2(col_db(c), (const char *)q.data, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, a);
		sqlite3_bind_int64(st, 2, b);
		if (sqlite3_step(st) == SQLITE_ROW)
			r = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	buf_free(&q);
	return r;
}

/* Today's study counts of one deck and its children: due cards of each
 * kind, new and review capped by the deck's remaining daily limits (the
 * v3 scheduler's numbers for a deck without limited subdecks). */
static json_t *deck_stats(struct col *c, int64_t did, const struct sched_timing *t)
{
	int64_t *ids = NULL;
	size_t n = 0;
	if (col_decks_with_children(c, did, &ids, &n, NULL))
		return NULL;
	struct deck d;
	if (col_load_deck(c, did, &d, NULL)) {
		free(ids);
		return NULL;
	}
	int64_t newc = count_q(c, "select count() from cards where queue = 0", ids, n, 0, 0);
	int64_t rev = count_q(c, "select count() from cards where queue = 2 and due <= ?1", ids, n,
	                      t->days_elapsed, 0);
	int64_t lrn =
	    count_q(c,
	            "select count() from cards where ((queue = 1 and due < ?2) or (queue = 3 "
	            "and due <= ?1))",
	            ids, n, t->days_elapsed, t->next_day_at);
	int64_t total = count_q(c, "select count() from cards where 1", &did, 1, 0, 0);
	if (d.kind.type == DECK_KIND_NORMAL) {
		struct deckconf dc;
		if (col_load_deckconf(c, d.kind.normal.config_id, &dc, NULL) == ST_OK ||
		    col_load_deckconf(c, 1, &dc, NULL) == ST_OK) {
			bool today = d.common.last_day_studied == (uint32_t)t->days_elapsed;
			int64_t nl = d.kind.normal.has_new_limit ? d.kind.normal.new_limit
			                                         : dc.cfg.new_per_day;
			int64_t rl = d.kind.normal.has_review_limit ? d.kind.normal.review_limit
			                                            : dc.cfg.reviews_per_day;
			if (today) {
				nl -= d.common.new_studied;
				rl -= d.common.review_studied;
			}
			if (nl < 0)
				nl = 0;
			if (rl < 0)
				rl = 0;
			if (newc > nl)
				newc = nl;
			if (rev > rl)
				rev = rl;
			deckconf_free(&dc);
		}
	}
	char *human = deck_name_human_from_native(d.name);
	const char *leaf = human ? human : "";
	const char *p;
	while ((p = strstr(leaf, "::")) != NULL)
		leaf = p + 2;
	json_t *o = json_object();
	if (o) {
		json_object_set_new(o, "deck_id", json_integer(did));
		json_object_set_new(o, "name", ac_jstr(leaf));
		json_object_set_new(o, "new_count", json_integer(newc));
		json_object_set_new(o, "learn_count", json_integer(lrn));
		json_object_set_new(o, "review_count", json_integer(rev));
		json_object_set_new(o, "total_in_deck", json_integer(total));
	}
	free(human);
	deck_free(&d);
	free(ids);
	return o;
}

enum status act_get_deck_stats(struct ac_call *k)
{
	json_t *decks = json_object_get(k->params, "decks");
	if (!json_is_array(decks))
		return ac_fail(k, "'%s' object is not iterable", ac_pytype(decks));
	struct errinfo e;
	struct sched_timing t;
	if (col_sched_today(k->c, &t, &e))
		return ac_fail_err(k, &e);
	json_t *out = json_object();
	for (size_t i = 0; out && i < json_array_size(decks); i++) {
		const json_t *d = json_array_get(decks, i);
		if (!json_is_string(d))
			continue;
		int64_t id;
		/* Anki's create-if-missing lookup: unknown names become decks */
		if (col_decks_get_or_create(k->c, json_string_value(d), &id, NULL, &e)) {
			json_decref(out);
			return ac_fail_err(k, &e);
		}
		char key[24];
		snprintf(key, sizeof key, "%lld", (long long)id);
		json_t *s = deck_stats(k->c, id, &t);
		if (s)
			json_object_set_new(out, key, s);
	}
	return ac_ok(k, out);
}
