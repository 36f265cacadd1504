/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * act_misc.c - miscellaneous, profile and graphical actions
 * (ankiconnect.md §1.8, §1.9, §3.3, §3.5): version, requestPermission,
 * apiReflect, the single configured profile, and the headless
 * answers to the GUI actions (§3.3's "Headless daemon" column), plus the
 * actions whose library support comes in a later release (a clear error
 * naming what is missing).  multi is in dispatch.c (its read actions
 * share one snapshot).
 */
#include <stdlib.h>
#include <string.h>

#include "ac.h"
#include "ac_request.h"
#include "actions.h"
#include "col_decks.h"
#include "col_store.h"

enum status act_version(struct ac_call *k)
{
	return ac_ok(k, json_integer(AC_API_VERSION));
}

enum status act_request_permission(struct ac_call *k)
{
	json_t *allowed = json_object_get(k->params, "allowed");
	if (ac_truthy(allowed)) {
		bool key = k->srv->set.api_key != NULL;
		return ac_ok(k, json_pack("{s:s,s:b,s:b,s:i}", "permission", "granted",
		                          "requireApikey", key, "requireApiKey", key, "version",
		                          AC_API_VERSION));
	}
	/* headless: nobody to ask, so untrusted origins are denied (§1.8) */
	return ac_ok(k, json_pack("{s:s}", "permission", "denied"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

enum status act_api_reflect(struct ac_call *k)
{
	json_t *scopes = json_object_get(k->params, "scopes");
	json_t *actions = json_object_get(k->params, "actions");
	if (!json_is_array(scopes))
		return ac_fail(k, "scopes has invalid value");
	if (actions && !json_is_null(actions) && !json_is_array(actions))
		return ac_fail(k, "actions has invalid value");
	json_t *res = json_object();
	json_t *s2 = json_array();
	if (!res || !s2) {
		json_decref(res);
		json_decref(s2);
		return ac_fail(k, "out of memory");
	}
	json_object_set_new(res, "scopes", s2);
	bool want = false;
	for (size_t i = 0; i < json_array_size(scopes); i++) {
		const json_t *x = json_array_get(scopes, i);
		if (json_is_string(x) && strcmp(json_string_value(x), "actions") == 0)
			want = true;
	}
	if (want) {
		json_t *names = json_array();
		if (!actions || json_is_null(actions)) {
			const char **v = malloc(ac_nactions * sizeof *v);
			if (v) {
				for (size_t i = 0; i < ac_nactions; i++)
					v[i] = ac_actions[i].name;
				qsort(v, ac_nactions, sizeof *v, cmp_str);
				for (size_t i = 0; i < ac_nactions; i++)
					json_array_append_new(names, json_string(v[i]));
				free(v);
			}
		} else {
			for (size_t i = 0; i < json_array_size(actions); i++) {
				const json_t *x = json_array_get(actions, i);
				if (json_is_string(x) &&
				    strlen(json_string_value(x)) == json_string_length(x) &&
				    ac_action_find(json_string_value(x)))
					json_array_append_new(names,
					                      json_string(json_string_value(x)));
			}
		}
		json_array_append_new(s2, json_string("actions"));
		json_object_set_new(res, "actions", names);
	}
	return ac_ok(k, res);
}

/* ---- profile, sync, collection ---- */

enum status act_get_profiles(struct ac_call *k)
{
	return ac_ok(k, json_pack("[s]", k->srv->set.profile));
}

enum status act_get_active_profile(struct ac_call *k)
{
	return ac_ok(k, json_string(k->srv->set.profile));
}

enum status act_load_profile(struct ac_call *k)
{
	json_t *n = json_object_get(k->params, "name");
	return ac_ok(k, json_boolean(json_is_string(n) &&
	                             strcmp(json_string_value(n), k->srv->set.profile) == 0));
}

enum status act_sync(struct ac_call *k)
{
	/* §3.5 headless recommendation until a sync client exists */
	return ac_fail(k, "sync: auth not configured");
}

enum status act_reload_collection(struct ac_call *k)
{
	return ac_ok(k, json_null());
}

/* ---- GUI actions, headless (§3.3) ---- */

enum status act_gui_false(struct ac_call *k)
{
	return ac_ok(k, json_false());
}

enum status act_gui_true(struct ac_call *k)
{
	return ac_ok(k, json_true());
}

enum status act_gui_null(struct ac_call *k)
{
	return ac_ok(k, json_null());
}

enum status act_gui_empty_list(struct ac_call *k)
{
	return ac_ok(k, json_array());
}

enum status act_gui_unavailable(struct ac_call *k)
{
	return ac_fail(k, "gui is not available");
}

enum status act_gui_current_card(struct ac_call *k)
{
	return ac_fail(k, "Gui review is not currently active.");
}

enum status act_gui_browse(struct ac_call *k)
{
	json_t *ro = ac_param(k, "reorderCards");
	if (ro) {
		if (!json_is_object(ro)) {
			struct buf r;
			buf_init(&r, 0);
			ac_py_repr(ro, &r, NULL);
			ac_fail(k, "reorderCards should be a dict: %s",
			        r.data ? (const char *)r.data : "");
			buf_free(&r);
			return ST_INVALID;
		}
		json_t *order = json_object_get(ro, "order");
		if (!json_object_get(ro, "columnId") || !order)
			return ac_fail(k, "Must provide a \"columnId\" and a \"order\" property");
		if (!json_is_string(order) ||
		    (strcmp(json_string_value(order), "ascending") != 0 &&
		     strcmp(json_string_value(order), "descending") != 0)) {
			struct buf r;
			buf_init(&r, 0);
			if (json_is_string(order))
				buf_append(&r, json_string_value(order), json_string_length(order),
				           NULL);
			else
				ac_py_repr(order, &r, NULL);
			ac_fail(k, "invalid card order: %s", r.data ? (const char *)r.data : "");
			buf_free(&r);
			return ST_INVALID;
		}
	}
	return act_find_cards(k);
}

enum status act_gui_add_cards(struct ac_call *k)
{
	json_t *note = ac_param(k, "note");
	if (json_is_object(note)) {
		json_t *m = json_object_get(note, "modelName"),
		       *d = json_object_get(note, "deckName");
		int64_t id;
		if (json_is_string(m) && ac_model_id(k->c, json_string_value(m), &id, NULL))
			return ac_fail(k, "model was not found: %s", json_string_value(m));
		if (json_is_string(d) && col_decks_find(k->c, json_string_value(d), &id, NULL))
			return ac_fail(k, "deck was not found: %s", json_string_value(d));
	}
	return ac_fail(k, "gui is not available");
}

enum status act_gui_deck_overview(struct ac_call *k)
{
	json_t *n = json_object_get(k->params, "name");
	int64_t id;
	if (!json_is_string(n) || col_decks_find(k->c, json_string_value(n), &id, NULL))
		return ac_ok(k, json_false());
	json_t *v = json_integer(id);
	struct errinfo e;
	enum status st = col_config_set(k->c, "curDeck", v, &e);
	json_decref(v);
	if (st)
		return ac_fail_err(k, &e);
	return ac_ok(k, json_true());
}
