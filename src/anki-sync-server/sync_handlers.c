/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sync_handlers.c - the stateful normal sync: start, applyGraves,
 * applyChanges, chunk, applyChunk, sanityCheck2, finish (sync-protocol.md
 * §3.3-3.11).  The protocol work is the library's (col_sync.h); this file
 * keeps the session: one per user, bound to the skey given at start,
 * holding its own collection connection whose transaction spans requests.
 *
 * Rules from §3.11, applied in this order for every stateful method:
 *   1. an unparsable body is 400 and changes nothing;
 *   2. an empty skey is 400, no session or another skey is 409;
 *   3. a step that fails is 400 and the session is rolled back and dropped;
 *   4. sanityCheck2 "bad" keeps the session (rolled back) until abort;
 *   5. finish commits and drops the session.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col.h"
#include "col_json.h"
#include "col_sync.h"
#include "log.h"
#include "server.h"

struct nsync {
	struct col *col;
	struct col_sync *sync; /* NULL once finished or failed */
};

static void nsync_abort(struct ustate *u, struct sync_session *s)
{
	(void)u;
	struct nsync *n = s->state;
	if (!n)
		return;
	col_sync_abort(n->sync);
	col_close(n->col);
	free(n);
	s->state = NULL;
}

/* Drop the session after a failed step (rolls back). */
static void session_fail(struct sreq *q, const struct errinfo *e, const char *method)
{
	struct ustate *u = sreq_user(q);
	log_warnx("user %s: %s failed: %s", u->name, method, e->msg);
	ustate_session_abort(sreq_server(q), u, "failed step");
	sreq_reply_error(q, e->code == ST_NOMEM || e->code == ST_IO || e->code == ST_DB ? 500 : 400,
	                 e->msg);
}

static void reply_json_value(struct sreq *q, json_t *j)
{
	char *text = col_json_dumps(j);
	json_decref(j);
	if (!text) {
		sreq_reply_error(q, 500, "out of memory");
		return;
	}
	sreq_reply_json(q, text);
	free(text);
}

void handle_start(struct sreq *q)
{
	struct server *srv = sreq_server(q);
	struct ustate *u = sreq_user(q);
	const char *skey = sreq_skey(q);
	if (!skey || !*skey) {
		sreq_reply_error(q, 400, "missing skey");
		return;
	}
	json_t *req = sreq_body_object(q);
	if (!req)
		return;
	if (!sreq_lock_user(q)) {
		json_decref(req);
		return;
	}
	ustate_session_abort(srv, u, "new start");
	struct errinfo e;
	struct sync_session *s = calloc(1, sizeof *s);
	struct nsync *n = calloc(1, sizeof *n);
	if (!s || !n) {
		free(s);
		free(n);
		json_decref(req);
		ustate_unlock(u);
		sreq_reply_error(q, 500, "out of memory");
		return;
	}
	/* the raw connection holds the admin flock for the session's lifetime */
	enum status st = ustate_col_open(srv, u, 1, &e);
	if (!st)
		st = col_open(u->colpath, COL_SERVER | COL_SHARED, &n->col, &e);
	if (st) {
		free(s);
		free(n);
		json_decref(req);
		ustate_unlock(u);
		sreq_reply_error(q, 500, e.msg);
		return;
	}
	snprintf(s->skey, sizeof s->skey, "%s", skey);
	s->started = time(NULL);
	s->last_used_ms = ustate_mono_ms();
	s->state = n;
	s->abort = nsync_abort;
	u->session = s;
	atomic_fetch_add(&srv->active_sessions, 1);
	json_t *resp = NULL;
	st = col_sync_start(n->col, req, &n->sync, &resp, &e);
	json_decref(req);
	if (st) {
		session_fail(q, &e, "start");
	} else {
		log_info("user %s: normal sync started", u->name);
		reply_json_value(q, resp);
	}
	ustate_unlock(u);
}

/* Steps 1-2 of the rules above; on success the user is locked and the
 * session returned (with *req parsed when want_body). */
static struct nsync *session_for(struct sreq *q, json_t **req)
{
	struct ustate *u = sreq_user(q);
	if (req) {
		*req = sreq_body_object(q);
		if (!*req)
			return NULL;
	} else if (!sreq_empty_input_ok(q)) {
		return NULL;
	}
	const char *skey = sreq_skey(q);
	if (!skey || !*skey) {
		if (req)
			json_decref(*req);
		sreq_reply_error(q, 400, "missing skey");
		return NULL;
	}
	if (!sreq_lock_user(q)) {
		if (req)
			json_decref(*req);
		return NULL;
	}
	struct sync_session *s = u->session;
	struct nsync *n = s ? s->state : NULL;
	if (!s || !n || s->abort != nsync_abort || strcmp(s->skey, skey) != 0) {
		ustate_unlock(u);
		if (req)
			json_decref(*req);
		sreq_reply_error(q, 409, "sync session not found or in use by another device");
		return NULL;
	}
	s->last_used_ms = ustate_mono_ms();
	return n;
}

void handle_apply_graves(struct sreq *q)
{
	json_t *req;
	struct nsync *n = session_for(q, &req);
	if (!n)
		return;
	struct errinfo e;
	enum status st = col_sync_apply_graves(n->sync, req, &e);
	json_decref(req);
	if (st)
		session_fail(q, &e, "applyGraves");
	else
		sreq_reply_json(q, "null");
	ustate_unlock(sreq_user(q));
}

void handle_apply_changes(struct sreq *q)
{
	json_t *req;
	struct nsync *n = session_for(q, &req);
	if (!n)
		return;
	struct errinfo e;
	json_t *resp = NULL;
	enum status st = col_sync_apply_changes(n->sync, req, &resp, &e);
	json_decref(req);
	if (st)
		session_fail(q, &e, "applyChanges");
	else
		reply_json_value(q, resp);
	ustate_unlock(sreq_user(q));
}

void handle_chunk(struct sreq *q)
{
	struct nsync *n = session_for(q, NULL);
	if (!n)
		return;
	struct errinfo e;
	json_t *resp = NULL;
	enum status st = col_sync_chunk(n->sync, &resp, &e);
	if (st)
		session_fail(q, &e, "chunk");
	else
		reply_json_value(q, resp);
	ustate_unlock(sreq_user(q));
}

void handle_apply_chunk(struct sreq *q)
{
	json_t *req;
	struct nsync *n = session_for(q, &req);
	if (!n)
		return;
	struct errinfo e;
	enum status st = col_sync_apply_chunk(n->sync, req, &e);
	json_decref(req);
	if (st)
		session_fail(q, &e, "applyChunk");
	else
		sreq_reply_json(q, "null");
	ustate_unlock(sreq_user(q));
}

void handle_sanity_check(struct sreq *q)
{
	json_t *req;
	struct nsync *n = session_for(q, &req);
	if (!n)
		return;
	struct errinfo e;
	json_t *resp = NULL;
	int ok = 0;
	enum status st = col_sync_sanity(n->sync, req, &resp, &ok, &e);
	json_decref(req);
	if (st) {
		session_fail(q, &e, "sanityCheck2");
	} else {
		if (!ok)
			log_warnx("user %s: sanity check failed; rolled back, the client will do a full sync",
			          sreq_user(q)->name);
		reply_json_value(q, resp);
	}
	ustate_unlock(sreq_user(q));
}

void handle_finish(struct sreq *q)
{
	struct server *srv = sreq_server(q);
	struct nsync *n = session_for(q, NULL);
	if (!n)
		return;
	struct ustate *u = sreq_user(q);
	struct errinfo e;
	int64_t mod = 0;
	enum status st = col_sync_finish(n->sync, &mod, &e);
	n->sync = NULL; /* freed by finish in every case */
	if (st) {
		session_fail(q, &e, "finish");
	} else {
		/* end the session: its connection closes, nothing is left to roll back */
		struct sync_session *s = u->session;
		nsync_abort(u, s);
		u->session = NULL;
		free(s);
		atomic_fetch_sub(&srv->active_sessions, 1);
		atomic_fetch_add(&u->m.normal_syncs, 1);
		log_info("user %s: normal sync finished", u->name);
		char out[32];
		snprintf(out, sizeof out, "%lld", (long long)mod);
		sreq_reply_json(q, out);
	}
	ustate_unlock(u);
}
