/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * act_cards.c - card actions (ankiconnect.md §3.1): reading card columns,
 * ease factors, flags and other values, suspension, the due/interval
 * questions answered from the review log, searching, cardsInfo with
 * rendered question and answer, forgetting (Anki's reset to new with a
 * manual review-log entry) and the raw relearn update.  cardsInfo's
 * nextReviews come from the scheduler (sched_answer.h); answering and due
 * dates are in act_sched.c.
 */
#include <stdlib.h>
#include <string.h>

#include "ac_request.h"
#include "actions.h"
#include "col_notes.h"
#include "col_store.h"
#include "sched_answer.h"

/* The cards parameter as ids. */
static enum status cards_param(struct ac_call *k, int64_t **ids, size_t *n)
{
	return ac_id_list(k, json_object_get(k->params, "cards"), ids, n);
}

enum status act_get_ease_factors(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (cards_param(k, &ids, &n))
		return ST_INVALID;
	json_t *out = json_array();
	for (size_t i = 0; out && i < n; i++) {
		struct card cd;
		if (col_card_get(k->c, ids[i], &cd, NULL) == ST_OK) {
			json_array_append_new(out, json_integer(cd.factor));
			card_free(&cd);
		} else {
			json_array_append_new(out, json_null());
		}
	}
	free(ids);
	return ac_ok(k, out);
}

enum status act_set_ease_factors(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (cards_param(k, &ids, &n))
		return ST_INVALID;
	json_t *eases = json_object_get(k->params, "easeFactors");
	json_t *out = json_array();
	k->keep_partial = true; /* earlier cards stay changed, as in AnkiConnect */
	enum status st = ST_OK;
	for (size_t i = 0; !st && out && i < n; i++) {
		struct card cd;
		if (col_card_get(k->c, ids[i], &cd, NULL) != ST_OK) {
			json_array_append_new(out, json_false());
			continue;
		}
		json_array_append_new(out, json_true());
		if (!json_is_array(eases) || i >= json_array_size(eases)) {
			st = ac_fail(k,
			             json_is_array(eases) ? "list index out of range"
			                                  : "'%s' object is not subscriptable",
			             ac_pytype(eases));
		} else {
			int64_t f;
			struct errinfo e;
			if (!ac_int(json_array_get(eases, i), &f))
				st = ac_fail(k, "'%s' object cannot be interpreted as an integer",
				             ac_pytype(json_array_get(eases, i)));
			else {
				cd.factor = f;
				if (col_card_update(k->c, &cd, &e))
					st = ac_fail_err(k, &e);
			}
		}
		card_free(&cd);
	}
	free(ids);
	if (st) {
		json_decref(out);
		return st;
	}
	return ac_ok(k, out);
}

/* ---- setSpecificValueOfCard ---- */

static const char *const warning_keys[] = {"did",  "id",   "ivl", "lapses", "left", "mod",  "nid",
                                           "odid", "odue", "ord", "queue",  "reps", "type", "usn"};

static int64_t *card_int_field(struct card *cd, const char *key)
{
	struct {
		const char *name;
		int64_t *p;
	} f[] = {{"did", &cd->did},       {"nid", &cd->nid},       {"due", &cd->due},
	         {"ivl", &cd->ivl},       {"factor", &cd->factor}, {"reps", &cd->reps},
	         {"lapses", &cd->lapses}, {"left", &cd->left},     {"odue", &cd->odue},
	         {"odid", &cd->odid},     {"flags", &cd->flags},   {"mod", &cd->mod}};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (strcmp(f[i].name, key) == 0)
			return f[i].p;
	return NULL;
}

static int32_t *card_int32_field(struct card *cd, const char *key)
{
	if (strcmp(key, "ord") == 0)
		return &cd->ord;
	if (strcmp(key, "type") == 0)
		return &cd->type;
	if (strcmp(key, "queue") == 0)
		return &cd->queue;
	if (strcmp(key, "usn") == 0)
		return &cd->usn;
	return NULL;
}

enum status act_set_specific_value_of_card(struct ac_call *k)
{
	json_t *card = json_object_get(k->params, "card");
	json_t *keys = json_object_get(k->params, "keys");
	json_t *vals = json_object_get(k->params, "newValues");
	bool warn = json_is_true(json_object_get(k->params, "warning_check"));
	if (json_is_array(card) || !json_is_array(keys) || !json_is_array(vals) ||
	    json_array_size(keys) != json_array_size(vals))
		return ac_ok(k, json_false());
	for (size_t i = 0; i < json_array_size(keys); i++) {
		const json_t *key = json_array_get(keys, i);
		for (size_t w = 0;
		     json_is_string(key) && w < sizeof warning_keys / sizeof warning_keys[0]; w++)
			if (strcmp(json_string_value(key), warning_keys[w]) == 0 && !warn)
				return ac_ok(k, json_false());
	}
	int64_t cid;
	struct card cd;
	struct errinfo e;
	struct buf msg;
	buf_init(&msg, 0);
	if (!ac_int(card, &cid) || col_card_get(k->c, cid, &cd, &e) != ST_OK) {
		buf_append_str(&msg, "Card was not found: ", NULL);
		if (json_is_string(card))
			buf_append_str(&msg, json_string_value(card), NULL);
		else
			ac_py_repr_json(card, &msg);
	} else {
		for (size_t i = 0; i < json_array_size(keys) && !msg.len; i++) {
			const json_t *key = json_array_get(keys, i);
			const json_t *v = json_array_get(vals, i);
			if (!json_is_string(key))
				continue;
			const char *kn = json_string_value(key);
			int64_t *p64 = card_int_field(&cd, kn);
			int32_t *p32 = card_int32_field(&cd, kn);
			int64_t x;
			if (strcmp(kn, "id") == 0) {
				buf_append_str(&msg, "the id of a card cannot be changed", NULL);
			} else if (strcmp(kn, "data") == 0) {
				if (!json_is_string(v)) {
					buf_printf(&msg, NULL, "expected str for data, got %s",
					           ac_pytype(v));
				} else {
					free(cd.data);
					cd.data = strdup(json_string_value(v));
				}
			} else if (p64 || p32) {
				if (!json_is_integer(v) && !(json_is_real(v) && ac_int(v, &x)))
					buf_printf(
					    &msg, NULL,
					    "'%s' object cannot be interpreted as an integer",
					    ac_pytype(v));
				else if (ac_int(v, &x)) {
					if (p64)
						*p64 = x;
					else
						*p32 = (int32_t)x;
				}
			}
			/* unknown attribute names are ignored, as AnkiConnect does */
		}
		if (!msg.len && col_card_update(k->c, &cd, &e))
			buf_append_str(&msg, e.msg, NULL);
		card_free(&cd);
	}
	json_t *out;
	if (msg.len)
		out = json_pack("[[b,s]]", 0, (const char *)msg.data);
	else
		out = json_pack("[b]", 1);
	buf_free(&msg);
	return ac_ok(k, out);
}

/* ---- suspension ---- */

static enum status card_not_found(struct ac_call *k, int64_t id)
{
	return ac_fail(k, "Card was not found: %lld", (long long)id);
}

/* The queue a card returns to when unsuspended (Anki's restore rule). */
static int restored_queue(const struct card *cd)
{
	switch (cd->type) {
	case 0:
		return 0;
	case 2:
		return 2;
	default:
		return cd->due > 1000000000 ? 1 : 3;
	}
}

static enum status do_suspend(struct ac_call *k, bool suspend, bool *changed)
{
	int64_t *ids;
	size_t n;
	*changed = false;
	if (cards_param(k, &ids, &n))
		return ST_INVALID;
	struct card *cards = calloc(n + 1, sizeof *cards);
	size_t ncards = 0;
	if (!cards) {
		free(ids);
		return ac_fail(k, "out of memory");
	}
	enum status st = ST_OK;
	for (size_t i = 0; !st && i < n; i++) {
		if (col_card_get(k->c, ids[i], &cards[ncards], NULL) != ST_OK)
			st = card_not_found(k, ids[i]);
		else
			ncards++;
	}
	struct errinfo e;
	for (size_t i = 0; !st && i < ncards; i++) {
		struct card *cd = &cards[i];
		bool is = cd->queue == -1;
		if (is == suspend)
			continue;
		cd->queue = suspend ? -1 : restored_queue(cd);
		if (col_card_update(k->c, cd, &e))
			st = ac_fail_err(k, &e);
		*changed = true;
	}
	for (size_t i = 0; i < ncards; i++)
		card_free(&cards[i]);
	free(cards);
	free(ids);
	return st;
}

enum status act_suspend(struct ac_call *k)
{
	json_t *s = json_object_get(k->params, "suspend");
	bool changed;
	if (do_suspend(k, s ? ac_truthy(s) : true, &changed))
		return ST_INVALID;
	return ac_ok(k, json_boolean(changed));
}

enum status act_unsuspend(struct ac_call *k)
{
	bool changed;
	if (do_suspend(k, false, &changed))
		return ST_INVALID;
	return ac_ok(k, json_null());
}

enum status act_suspended(struct ac_call *k)
{
	json_t *v = json_object_get(k->params, "card");
	int64_t id;
	struct card cd;
	if (!ac_int(v, &id) || col_card_get(k->c, id, &cd, NULL) != ST_OK) {
		struct buf s;
		buf_init(&s, 0);
		if (json_is_string(v))
			buf_append_str(&s, json_string_value(v), NULL);
		else
			ac_py_repr_json(v, &s);
		ac_fail(k, "Card was not found: %s", s.data ? (char *)s.data : "");
		buf_free(&s);
		return ST_INVALID;
	}
	bool sus = cd.queue == -1;
	card_free(&cd);
	return ac_ok(k, json_boolean(sus));
}

enum status act_are_suspended(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (cards_param(k, &ids, &n))
		return ST_INVALID;
	json_t *out = json_array();
	for (size_t i = 0; out && i < n; i++) {
		struct card cd;
		if (col_card_get(k->c, ids[i], &cd, NULL) == ST_OK) {
			json_array_append_new(out, json_boolean(cd.queue == -1));
			card_free(&cd);
		} else {
			json_array_append_new(out, json_null());
		}
	}
	free(ids);
	return ac_ok(k, out);
}

/* ---- questions answered from searches and the review log ---- */

static bool matches(struct ac_call *k, int64_t cid, const char *what, enum status *st)
{
	char q[96];
	snprintf(q, sizeof q, "cid:%lld %s", (long long)cid, what);
	int64_t *ids = NULL;
	size_t n = 0;
	struct errinfo e;
	*st = ac_find(k->c, q, true, &ids, &n, &e);
	if (*st)
		ac_fail_err(k, &e);
	free(ids);
	return n > 0;
}

enum status act_are_due(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (cards_param(k, &ids, &n))
		return ST_INVALID;
	json_t *out = json_array();
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(
	        col_db(k->c),
	        "select id / 1000.0, ivl from revlog where cid = ?1 order by id desc "
	        "limit 1",
	        -1, &q, NULL)) {
		free(ids);
		json_decref(out);
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	}
	enum status st = ST_OK;
	for (size_t i = 0; !st && out && i < n; i++) {
		if (matches(k, ids[i], "is:new", &st)) {
			json_array_append_new(out, json_true());
			continue;
		}
		if (st)
			break;
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, ids[i]);
		if (sqlite3_step(q) != SQLITE_ROW) {
			st = ac_fail(k, "list index out of range");
			break;
		}
		double date = sqlite3_column_double(q, 0);
		int64_t ivl = sqlite3_column_int64(q, 1);
		if (ivl >= -1200) {
			bool due = matches(k, ids[i], "is:due", &st);
			json_array_append_new(out, json_boolean(due));
		} else {
			json_array_append_new(
			    out, json_boolean(date - (double)ivl <= (double)col_now_ms() / 1000.0));
		}
	}
	sqlite3_finalize(q);
	free(ids);
	if (st) {
		json_decref(out);
		return st;
	}
	return ac_ok(k, out);
}

enum status act_get_intervals(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (cards_param(k, &ids, &n))
		return ST_INVALID;
	bool complete = ac_truthy(json_object_get(k->params, "complete"));
	json_t *out = json_array();
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(col_db(k->c), "select ivl from revlog where cid = ?1 order by id",
	                       -1, &q, NULL)) {
		free(ids);
		json_decref(out);
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	}
	enum status st = ST_OK;
	for (size_t i = 0; !st && out && i < n; i++) {
		if (matches(k, ids[i], "is:new", &st)) {
			json_array_append_new(out, json_integer(0));
			continue;
		}
		if (st)
			break;
		json_t *all = json_array();
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, ids[i]);
		while (all && sqlite3_step(q) == SQLITE_ROW)
			json_array_append_new(all, json_integer(sqlite3_column_int64(q, 0)));
		if (complete) {
			json_array_append_new(out, all);
		} else if (json_array_size(all) == 0) {
			json_decref(all);
			st = ac_fail(k, "list index out of range");
		} else {
			json_array_append(out, json_array_get(all, json_array_size(all) - 1));
			json_decref(all);
		}
	}
	sqlite3_finalize(q);
	free(ids);
	if (st) {
		json_decref(out);
		return st;
	}
	return ac_ok(k, out);
}

enum status act_find_cards(struct ac_call *k)
{
	json_t *q = json_object_get(k->params, "query");
	if (!q || json_is_null(q))
		return ac_ok(k, json_array());
	if (!json_is_string(q) || strlen(json_string_value(q)) != json_string_length(q))
		return ac_fail(k, "Invalid search: the query must be text");
	int64_t *ids = NULL;
	size_t n = 0;
	struct errinfo e;
	if (ac_find(k->c, json_string_value(q), true, &ids, &n, &e))
		return ac_fail_err(k, &e);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_integer(ids[i]));
	free(ids);
	return ac_ok(k, arr);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The note ids of the cards, each once, in the order of their first card
 * (a sorted, deduplicated copy and a flag per note id: large requests stay
 * O(n log n)). */
enum status act_cards_to_notes(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (cards_param(k, &ids, &n))
		return ST_INVALID;
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(col_db(k->c), "select nid from cards where id = ?1", -1, &q, NULL)) {
		free(ids);
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	}
	size_t nn = 0; /* ids[0..nn) becomes the cards' note ids, in card order */
	int rc = SQLITE_DONE;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, ids[i]);
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW)
			ids[nn++] = sqlite3_column_int64(q, 0);
		else if (rc != SQLITE_DONE)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		enum status st = ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
		sqlite3_finalize(q);
		free(ids);
		return st;
	}
	sqlite3_finalize(q);
	int64_t *sorted = malloc((nn + 1) * sizeof *sorted);
	unsigned char *sent = calloc(nn + 1, 1);
	json_t *out = json_array();
	if (!sorted || !sent || !out) {
		free(sorted);
		free(sent);
		free(ids);
		json_decref(out);
		return ac_fail(k, "out of memory");
	}
	memcpy(sorted, ids, nn * sizeof *sorted);
	qsort(sorted, nn, sizeof *sorted, cmp_i64);
	size_t nu = 0; /* sorted[0..nu): each note id once */
	for (size_t i = 0; i < nn; i++)
		if (nu == 0 || sorted[nu - 1] != sorted[i])
			sorted[nu++] = sorted[i];
	for (size_t i = 0; i < nn; i++) {
		const int64_t *at = bsearch(&ids[i], sorted, nu, sizeof *sorted, cmp_i64);
		if (!sent[at - sorted]) {
			sent[at - sorted] = 1;
			json_array_append_new(out, json_integer(ids[i]));
		}
	}
	free(sorted);
	free(sent);
	free(ids);
	return ac_ok(k, out);
}

enum status act_cards_mod_time(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (cards_param(k, &ids, &n))
		return ST_INVALID;
	return ac_mod_times(k, "select mod from cards where id = ?1", "cardId", ids, n);
}

enum status act_cards_info(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (cards_param(k, &ids, &n))
		return ST_INVALID;
	struct sched_labeler *lab = NULL; /* made for the first card that needs it */
	json_t *out = json_array();
	int64_t cached_mid = 0;
	struct notetype nt;
	memset(&nt, 0, sizeof nt);
	for (size_t i = 0; out && i < n; i++) {
		struct card cd;
		struct note note;
		struct errinfo e;
		if (col_card_get(k->c, ids[i], &cd, NULL) != ST_OK) {
			json_array_append_new(out, json_object());
			continue;
		}
		if (col_note_get(k->c, cd.nid, &note, NULL) != ST_OK) {
			card_free(&cd);
			json_array_append_new(out, json_object());
			continue;
		}
		if (note.mid != cached_mid) {
			notetype_free(&nt);
			cached_mid = 0;
			if (col_load_notetype(k->c, note.mid, &nt, NULL) == ST_OK)
				cached_mid = note.mid;
		}
		if (!cached_mid) {
			note_free(&note);
			card_free(&cd);
			json_array_append_new(out, json_object());
			continue;
		}
		char *q = NULL, *a = NULL;
		enum status nst = ST_OK;
		char *deck = ac_deck_name(k->c, cd.did);
		/* {{Deck}} is the home deck of a card in a filtered deck */
		char *home = cd.odid ? ac_deck_name(k->c, cd.odid) : NULL;
		if (ac_render(&nt, &note, &cd, cd.odid ? home : deck, &q, &a, &e) != ST_OK) {
			free(q);
			free(a);
			q = a = NULL;
		}
		free(home);
		json_t *o = json_object();
		if (o) {
			json_object_set_new(o, "cardId", json_integer(cd.id));
			json_object_set_new(o, "fields", ac_note_fields_object(&nt, note.flds));
			json_object_set_new(o, "fieldOrder", json_integer(cd.ord));
			json_object_set_new(o, "question", ac_jstr(q ? q : ""));
			json_object_set_new(o, "answer", ac_jstr(a ? a : ""));
			json_object_set_new(o, "modelName", ac_jstr(nt.name));
			json_object_set_new(o, "ord", json_integer(cd.ord));
			json_object_set_new(o, "deckName", ac_jstr(deck ? deck : ""));
			json_object_set_new(o, "css", ac_jstr(nt.cfg.css));
			json_object_set_new(o, "factor", json_integer(cd.factor));
			json_object_set_new(o, "interval", json_integer(cd.ivl));
			json_object_set_new(o, "note", json_integer(cd.nid));
			json_object_set_new(o, "type", json_integer(cd.type));
			json_object_set_new(o, "queue", json_integer(cd.queue));
			json_object_set_new(o, "due", json_integer(cd.due));
			json_object_set_new(o, "reps", json_integer(cd.reps));
			json_object_set_new(o, "lapses", json_integer(cd.lapses));
			json_object_set_new(o, "left", json_integer(cd.left));
			json_object_set_new(o, "mod", json_integer(cd.mod));
			/* Anki's describe_next_states: the desktop's strings, with
			 * the Unicode isolation marks around the number */
			char labels[4][SCHED_LABEL_MAX];
			if (!lab)
				nst = sched_labeler_new(k->c, &lab, &e);
			if (!nst)
				nst = sched_labeler_labels(lab, cd.id, SCHED_LABEL_ISOLATE, labels,
				                           &e);
			if (!nst)
				json_object_set_new(o, "nextReviews",
				                    json_pack("[ssss]", labels[0], labels[1],
				                              labels[2], labels[3]));
			json_object_set_new(o, "flags", json_integer(cd.flags));
		}
		free(q);
		free(a);
		free(deck);
		note_free(&note);
		card_free(&cd);
		/* Anki cannot schedule a card whose deck is gone (NotFoundError,
		 * as for a missing card: {}); other failures fail the call */
		if (o && (nst == ST_NOTFOUND || nst == ST_CORRUPT))
			json_object_clear(o);
		json_array_append_new(out, o ? o : json_object());
		if (nst && nst != ST_NOTFOUND && nst != ST_CORRUPT) {
			json_decref(out);
			notetype_free(&nt);
			sched_labeler_free(lab);
			free(ids);
			return ac_fail_err(k, &e);
		}
	}
	notetype_free(&nt);
	sched_labeler_free(lab);
	free(ids);
	return ac_ok(k, out);
}

/* ---- forgetting, relearning ---- */

/* cards.data without the original position and the FSRS memory state. */
static char *forget_data(const char *data)
{
	json_t *j = json_loads(data ? data : "", 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return strdup("{}");
	}
	json_object_del(j, "pos");
	json_object_del(j, "s");
	json_object_del(j, "d");
	char *out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return out ? out : strdup("{}");
}

enum status act_forget_cards(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (cards_param(k, &ids, &n))
		return ST_INVALID;
	struct errinfo e;
	enum status st = ST_OK;
	for (size_t i = 0; !st && i < n; i++) {
		struct card cd;
		if (col_card_get(k->c, ids[i], &cd, NULL) != ST_OK)
			continue;
		int64_t old_ivl = cd.ivl;
		int64_t pos = -1;
		json_t *dj = json_loads(cd.data ? cd.data : "", 0, NULL);
		json_t *pj = json_is_object(dj) ? json_object_get(dj, "pos") : NULL;
		if (json_is_integer(pj))
			pos = json_integer_value(pj);
		json_decref(dj);
		if (pos < 0)
			st = col_next_position(k->c, &pos, &e);
		if (!st) {
			if (cd.odid) { /* out of a filtered deck first */
				cd.did = cd.odid;
				cd.odid = 0;
				cd.odue = 0;
			}
			cd.due = pos;
			cd.type = 0;
			cd.queue = 0;
			cd.ivl = 0;
			cd.factor = 0;
			cd.left = 0;
			char *nd = forget_data(cd.data);
			free(cd.data);
			cd.data = nd;
			st = col_card_update(k->c, &cd, &e);
		}
		if (!st) {
			struct revlog_entry r = {0, cd.id, 0, 0, 0, old_ivl, 0, 0, 4};
			st = col_revlog_add(k->c, &r, &e);
		}
		card_free(&cd);
	}
	free(ids);
	if (st)
		return ac_fail_err(k, &e);
	return ac_ok(k, json_null());
}

enum status act_relearn_cards(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (cards_param(k, &ids, &n))
		return ST_INVALID;
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(col_db(k->c), "update cards set type = 3, queue = 1 where id = ?1",
	                       -1, &q, NULL)) {
		free(ids);
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, ids[i]);
		sqlite3_step(q);
	}
	sqlite3_finalize(q);
	free(ids);
	return ac_ok(k, json_null());
}
