/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * dispatch.c - AnkiConnect's handler (ankiconnect.md §1.4-1.6, §1.9):
 * API key check, action lookup, Python-style parameter binding errors,
 * running the action on the right connection, and the version-dependent
 * reply shape.  Every request object - top level or inside multi - goes
 * through ac_handle.
 *
 * multi lives here too, because its actions share a read snapshot:
 * consecutive read actions of one multi (Yomitan sends canAddNotes and a
 * findNotes per word in one multi, several times a second) run on one
 * reader connection in one read transaction instead of one each.  That
 * is AnkiConnect's own view - it runs a multi on Anki's main thread,
 * where nothing else changes the collection meanwhile - and it saves the
 * locking system calls of a transaction per action.  Any other action
 * ends the shared snapshot first: a write's effect is seen by the reads
 * after it, and a slow media download does not pin an old snapshot.
 */
#include <stdlib.h>
#include <string.h>

#include "ac.h"
#include "actions.h"
#include "log.h"

/* Nested multi deeper than this is refused (each level is a C frame). */
#define AC_MAX_MULTI_DEPTH 32

/* A reader connection and its read transaction, lent to the consecutive
 * read actions of a multi (c NULL: none borrowed yet). */
struct snap {
	struct col *c;
	bool in_tx;
};

static json_t *handle(struct ac_server *srv, const json_t *request, bool inject, const char *origin,
                      bool allowed, int depth, struct snap *snap);

const struct ac_action *ac_action_find(const char *name)
{
	size_t lo = 0, hi = ac_nactions;
	while (lo < hi) { /* the table is sorted by name (checked at start) */
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, ac_actions[mid].name);
		if (c == 0)
			return &ac_actions[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Python equality of the request's key with the configured one. */
static bool key_ok(const struct ac_server *srv, const json_t *key)
{
	if (!srv->set.api_key)
		return !key || json_is_null(key);
	return key && json_is_string(key) &&
	       strlen(json_string_value(key)) == json_string_length(key) &&
	       strcmp(json_string_value(key), srv->set.api_key) == 0;
}

/* Is name one of the action's parameters?  *required gets its kind. */
static bool sig_has(const char *sig, const char *name, size_t nlen)
{
	const char *p = sig;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " =");
		if (n == nlen && n > 0 && memcmp(p, name, n) == 0)
			return true;
		p += n;
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

/* The binding errors Python raises for **params (3.10+ wording). */
static bool check_params(struct ac_call *k, const char *action, const char *sig,
                         const json_t *params)
{
	const char *key;
	size_t klen;
	json_t *v;
	json_object_keylen_foreach((json_t *)params, key, klen, v)
	{
		if (!sig_has(sig, key, klen)) {
			ac_fail(k, "AnkiConnect.%s() got an unexpected keyword argument '%.*s'",
			        action, (int)klen, key);
			return false;
		}
	}
	const char *missing[16];
	size_t nmiss = 0, lens[16];
	const char *p = sig;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " =");
		if (n == 0)
			break;
		bool optional = p[n] == '=';
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)n, p);
		if (!optional && !json_object_get(params, name) && nmiss < 16) {
			missing[nmiss] = p;
			lens[nmiss++] = n;
		}
		p += n;
		while (*p && *p != ' ')
			p++;
	}
	if (nmiss == 0)
		return true;
	struct buf m;
	buf_init(&m, 0);
	buf_printf(&m, NULL,
	           "AnkiConnect.%s() missing %zu required positional argument%s: ", action, nmiss,
	           nmiss > 1 ? "s" : "");
	for (size_t i = 0; i < nmiss; i++) {
		if (i > 0)
			buf_append_str(
			    &m, nmiss == 2 ? " and " : (i == nmiss - 1 ? ", and " : ", "), NULL);
		buf_printf(&m, NULL, "'%.*s'", (int)lens[i], missing[i]);
	}
	ac_fail(k, "%s", m.data ? (const char *)m.data : "missing arguments");
	buf_free(&m);
	return false;
}

/* Give the snapshot's reader back (ending its transaction). */
static void snap_end(struct ac_server *srv, struct snap *s)
{
	if (!s || !s->c)
		return;
	if (s->in_tx)
		sqlite3_exec(col_db(s->c), "commit", NULL, NULL, NULL);
	ac_pool_reader_put(srv, s->c);
	s->c = NULL;
	s->in_tx = false;
}

static enum status run_multi(struct ac_call *k, struct snap *snap)
{
	json_t *acts = json_object_get(k->params, "actions");
	if (!json_is_array(acts))
		return ac_fail(k, "'%s' object is not iterable", ac_pytype(acts));
	if (k->depth >= AC_MAX_MULTI_DEPTH)
		return ac_fail(k,
		               "maximum recursion depth exceeded (multi nested more than %d deep)",
		               AC_MAX_MULTI_DEPTH);
	json_t *out = json_array();
	if (!out)
		return ac_fail(k, "out of memory");
	struct snap own = {0};
	struct snap *s = snap ? snap : &own;
	enum status st = ST_OK;
	for (size_t i = 0; i < json_array_size(acts); i++) {
		json_t *req = json_array_get(acts, i);
		if (!json_is_object(req)) {
			st = ac_fail(k, "'%s' object has no attribute 'get'", ac_pytype(req));
			break;
		}
		json_t *reply = handle(k->srv, req, false, NULL, false, k->depth + 1, s);
		if (!reply) {
			st = ac_fail(k, "out of memory");
			break;
		}
		json_array_append_new(out, reply);
	}
	snap_end(k->srv, &own);
	if (st) {
		json_decref(out);
		return st;
	}
	return ac_ok(k, out);
}

enum status act_multi(struct ac_call *k)
{
	return run_multi(k, NULL);
}

static void run_action(struct ac_server *srv, struct ac_call *k, struct snap *snap)
{
	const struct ac_action *a = k->act;
	struct errinfo e;
	errinfo_clear(&e);
	if (a->fn == act_multi) {
		run_multi(k, snap);
		return;
	}
	if (a->kind == AC_READ && snap) {
		if (!snap->c) {
			if (ac_pool_reader(srv, &snap->c, &e)) {
				snap->c = NULL;
				ac_fail_err(k, &e);
				return;
			}
			snap->in_tx =
			    sqlite3_exec(col_db(snap->c), "begin", NULL, NULL, NULL) == SQLITE_OK;
		}
		k->c = snap->c;
		a->fn(k);
		k->c = NULL;
		return;
	}
	snap_end(srv, snap);
	if (a->kind == AC_NOCOL) {
		a->fn(k);
		return;
	}
	if (a->kind == AC_READ) {
		struct col *c;
		if (ac_pool_reader(srv, &c, &e)) {
			ac_fail_err(k, &e);
			return;
		}
		k->c = c;
		int in_tx = sqlite3_exec(col_db(c), "begin", NULL, NULL, NULL) == SQLITE_OK;
		a->fn(k);
		if (in_tx)
			sqlite3_exec(col_db(c), k->failed ? "rollback" : "commit", NULL, NULL,
			             NULL);
		k->c = NULL;
		ac_pool_reader_put(srv, c);
		return;
	}
	struct col *c = ac_pool_writer(srv);
	k->c = c;
	if (col_begin(c, &e)) {
		ac_fail_err(k, &e);
	} else {
		a->fn(k);
		if (!k->failed || k->keep_partial) {
			if (col_commit(c, &e)) {
				col_rollback(c);
				log_warnx("%s: commit failed: %s", a->name, e.msg);
				ac_fail_err(k, &e);
			}
		} else {
			col_rollback(c);
		}
	}
	k->c = NULL;
	ac_pool_writer_put(srv);
}

json_t *ac_handle(struct ac_server *srv, const json_t *request, bool inject, const char *origin,
                  bool allowed, int depth)
{
	return handle(srv, request, inject, origin, allowed, depth, NULL);
}

static json_t *handle(struct ac_server *srv, const json_t *request, bool inject, const char *origin,
                      bool allowed, int depth, struct snap *snap)
{
	ac_apilog(srv, "request", request);
	struct ac_call k;
	memset(&k, 0, sizeof k);
	buf_init(&k.err, 0);
	k.srv = srv;
	k.depth = depth;
	const json_t *name = json_object_get(request, "action");
	const json_t *version = json_object_get(request, "version");
	json_t *params = json_object_get(request, "params");
	const json_t *key = json_object_get(request, "key");
	json_t *owned_params = NULL;
	const char *aname = json_is_string(name) ? json_string_value(name) : "";
	json_t *reply = NULL;

	if (!key_ok(srv, key) && strcmp(aname, "requestPermission") != 0) {
		ac_fail(&k, "valid api key must be provided");
		goto out;
	}
	k.act = json_is_string(name) && strlen(aname) == json_string_length(name)
	            ? ac_action_find(aname)
	            : NULL;
	if (!k.act) {
		ac_fail(&k, "unsupported action");
		goto out;
	}
	if (!params) {
		params = owned_params = json_object();
	} else if (!json_is_object(params)) {
		ac_fail(&k, "AnkiConnect.%s() argument after ** must be a mapping, not %s", aname,
		        ac_pytype(params));
		goto out;
	}
	if (inject && strcmp(aname, "requestPermission") == 0) {
		json_t *copy = json_deep_copy(params);
		json_decref(owned_params);
		params = owned_params = copy;
		if (params) {
			json_object_set_new(params, "origin", json_string(origin ? origin : ""));
			json_object_set_new(params, "allowed", json_boolean(allowed));
		}
	}
	if (!params) {
		ac_fail(&k, "out of memory");
		goto out;
	}
	k.params = params;
	if (!check_params(&k, aname, k.act->params, params))
		goto out;
	run_action(srv, &k, snap);
out:
	if (k.failed) {
		reply = ac_error_reply(k.err.data ? (const char *)k.err.data : "");
	} else {
		json_t *result = k.result ? k.result : json_null();
		k.result = NULL;
		/* format_success_reply: version <= 4 gives the bare result */
		int bare = 0;
		const char *bad = NULL;
		if (!version || json_is_integer(version))
			bare = !version || json_integer_value(version) <= 4;
		else if (json_is_real(version))
			bare = json_real_value(version) <= 4.0;
		else if (json_is_boolean(version))
			bare = 1;
		else
			bad = ac_pytype(version);
		if (bad) {
			char msg[128];
			snprintf(msg, sizeof msg,
			         "'<=' not supported between instances of '%s' and 'int'", bad);
			json_decref(result);
			reply = ac_error_reply(msg);
		} else if (bare) {
			reply = result;
		} else {
			reply = json_object();
			if (reply) {
				json_object_set_new(reply, "result", result);
				json_object_set_new(reply, "error", json_null());
			} else {
				json_decref(result);
			}
		}
	}
	json_decref(k.result);
	json_decref(owned_params);
	buf_free(&k.err);
	if (reply)
		ac_apilog(srv, "reply", reply);
	return reply;
}
