/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * transport.c - AnkiConnect's HTTP behaviour (ankiconnect.md §1.2, §1.3,
 * §1.7, §1.10) on top of httpd.h: every method but OPTIONS is a JSON
 * request whatever the path; OPTIONS is a CORS preflight; untrusted
 * origins get 403 with an empty body except for requestPermission; an
 * empty body is the banner; API errors are 200 with {"result": null,
 * "error": ...}.  Bodies are capped (maxRequestBytes): a larger one is
 * read and dropped, then answered with a clear error.
 *
 * One access-log line per request: peer, method, action, HTTP status,
 * outcome, milliseconds.  The API key never appears in it (nor in the
 * API log, where it is masked).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ac.h"
#include "ac_request.h"
#include "httpd.h"
#include "log.h"

#define JSON_TYPE "application/json"

struct treq {
	struct ac_server *srv;
	struct buf body;
	char origin[512];
	bool has_origin;
	bool allowed;
	const char *cors;
	char action[64];
	const char *outcome;
	char peer[64];
	char method[16];
};

static void reply_json(struct httpd_req *r, struct treq *t, const json_t *v, const char *cors)
{
	size_t len = 0;
	char *text = ac_dumps(v, &len);
	if (!text) {
		text = strdup("{\"result\": null, \"error\": \"out of memory\"}");
		len = text ? strlen(text) : 0;
	}
	const char *hdr[] = {"Access-Control-Allow-Origin", cors, "Access-Control-Allow-Headers",
	                     "*", NULL};
	httpd_reply(r, 200, JSON_TYPE, text ? text : "", len, hdr);
	free(text);
	(void)t;
}

static void reply_403(struct httpd_req *r, struct treq *t)
{
	const char *hdr[] = {"Access-Control-Allow-Origin", t->cors, "Access-Control-Allow-Headers",
	                     "*", NULL};
	t->outcome = "forbidden";
	httpd_reply(r, 403, NULL, "", 0, hdr);
}

static void reply_error(struct httpd_req *r, struct treq *t, const char *msg)
{
	json_t *v = ac_error_reply(msg);
	t->outcome = "error";
	reply_json(r, t, v, t->cors);
	json_decref(v);
}

static void on_begin(struct httpd_req *r, void *arg)
{
	struct ac_server *srv = arg;
	struct treq *t = calloc(1, sizeof *t);
	if (!t) {
		httpd_reply(r, 500, NULL, "", 0, NULL);
		return;
	}
	t->srv = srv;
	t->outcome = "ok";
	buf_init(&t->body, srv->set.max_body);
	httpd_req_set_ctx(r, t);
	httpd_req_peer(r, t->peer, sizeof t->peer);
	snprintf(t->method, sizeof t->method, "%s", httpd_req_method(r));
	const char *origin = httpd_req_header(r, "Origin", 0);
	if (origin) {
		t->has_origin = true;
		snprintf(t->origin, sizeof t->origin, "%s", origin);
	}
	t->allowed = ac_cors_allowed((const char *const *)srv->set.cors, srv->set.ncors,
	                             t->has_origin ? t->origin : NULL, &t->cors);
	httpd_req_set_body_cap(r, srv->set.max_body);
	if (strcmp(t->method, "OPTIONS") == 0) {
		snprintf(t->action, sizeof t->action, "(preflight)");
		const char *pn = httpd_req_header(r, "Access-Control-Request-Private-Network", 0);
		const char *hdr[] = {
		    "Access-Control-Allow-Origin",
		    t->cors,
		    "Access-Control-Allow-Headers",
		    "*",
		    pn && strcmp(pn, "true") == 0 ? "Access-Control-Allow-Private-Network" : NULL,
		    "true",
		    NULL};
		httpd_reply(r, 200, JSON_TYPE, "", 0, hdr);
		httpd_req_discard_body(r);
		return;
	}
	const char *cl = httpd_req_header(r, "Content-Length", 0);
	if (cl && strtoull(cl, NULL, 10) > srv->set.max_body) {
		httpd_req_discard_body(r);
		snprintf(t->action, sizeof t->action, "(too large)");
		if (!t->allowed) {
			reply_403(r, t);
			return;
		}
		char msg[160];
		snprintf(msg, sizeof msg,
		         "request body too large: the limit is %zu bytes (maxRequestBytes)",
		         srv->set.max_body);
		reply_error(r, t, msg);
	}
}

static void on_body(struct httpd_req *r, const void *data, size_t len, void *arg)
{
	(void)arg;
	struct treq *t = httpd_req_ctx(r);
	if (t && !httpd_req_replied(r))
		buf_append(&t->body, data, len, NULL);
}

static void on_end(struct httpd_req *r, void *arg)
{
	struct ac_server *srv = arg;
	struct treq *t = httpd_req_ctx(r);
	if (!t || httpd_req_replied(r))
		return;
	atomic_fetch_add(&srv->requests, 1);
	if (httpd_req_body_overflow(r) || t->body.len > srv->set.max_body) {
		snprintf(t->action, sizeof t->action, "(too large)");
		if (!t->allowed) {
			reply_403(r, t);
			return;
		}
		char msg[160];
		snprintf(msg, sizeof msg,
		         "request body too large: the limit is %zu bytes (maxRequestBytes)",
		         srv->set.max_body);
		reply_error(r, t, msg);
		return;
	}
	if (t->body.len == 0) {
		snprintf(t->action, sizeof t->action, "(banner)");
		if (!t->allowed) {
			reply_403(r, t);
			return;
		}
		json_t *b = json_pack("{s:s}", "apiVersion", "AnkiConnect v.6");
		reply_json(r, t, b, t->cors);
		json_decref(b);
		return;
	}
	struct ac_request req;
	struct buf msg;
	buf_init(&msg, 0);
	enum status st = ac_request_parse((const char *)t->body.data, t->body.len, &req, &msg);
	buf_free(&t->body);
	if (st) {
		snprintf(t->action, sizeof t->action, "(invalid)");
		if (!t->allowed)
			reply_403(r, t);
		else
			reply_error(r, t, msg.data ? (const char *)msg.data : "invalid request");
		buf_free(&msg);
		return;
	}
	buf_free(&msg);
	snprintf(t->action, sizeof t->action, "%s", req.action);
	bool perm = strcmp(req.action, "requestPermission") == 0;
	if (!t->allowed && !perm) {
		ac_request_free(&req);
		reply_403(r, t);
		return;
	}
	if (strcmp(req.action, "multi") == 0) {
		const json_t *acts = json_object_get(req.params, "actions");
		if (json_is_array(acts))
			snprintf(t->action, sizeof t->action, "multi(%zu)", json_array_size(acts));
	}
	json_t *reply =
	    ac_handle(srv, req.root, true, t->has_origin ? t->origin : "", t->allowed, 0);
	ac_request_free(&req);
	if (!reply) {
		reply_error(r, t, "out of memory");
		return;
	}
	if (json_is_object(reply) && json_object_size(reply) == 2 &&
	    json_is_null(json_object_get(reply, "result")) &&
	    json_is_string(json_object_get(reply, "error")))
		t->outcome = "error";
	reply_json(r, t, reply, perm && !t->allowed ? t->origin : t->cors);
	json_decref(reply);
}

size_t ac_transport_routes(struct ac_server *srv, struct httpd_route *routes, size_t cap)
{
	/* AnkiConnect treats every method alike and ignores the path. */
	static const char *const methods[] = {"POST", "GET",    "PUT",  "OPTIONS",
	                                      "HEAD", "DELETE", "PATCH"};
	size_t n = 0;
	for (size_t i = 0; i < sizeof methods / sizeof methods[0] && n < cap; i++)
		routes[n++] = (struct httpd_route){methods[i], "/", on_begin, on_body, on_end, srv};
	return n;
}

void ac_transport_done(struct httpd_req *r, void *ctx, const struct httpd_done_info *info,
                       void *arg)
{
	(void)r;
	(void)arg;
	struct treq *t = ctx;
	if (!t)
		return;
	log_info("%s %s %s %d %s %.1fms", t->peer, t->method, t->action[0] ? t->action : "-",
	         info->status, info->completed ? t->outcome : "aborted",
	         (double)info->usec / 1000.0);
	buf_free(&t->body);
	free(t);
}

void ac_apilog(struct ac_server *srv, const char *what, const json_t *v)
{
	if (!srv->apilog || !v)
		return;
	json_t *copy = NULL;
	if (json_is_object(v) && json_object_get(v, "key")) {
		copy = json_copy((json_t *)v);
		if (copy)
			json_object_set_new(copy, "key", json_string("***"));
	}
	char *text = json_dumps(copy ? copy : v, JSON_INDENT(4) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(copy);
	if (!text)
		return;
	pthread_mutex_lock(&srv->apilog_lock);
	fprintf(srv->apilog, "[%s]\n%s\n\n", what, text);
	fflush(srv->apilog);
	pthread_mutex_unlock(&srv->apilog_lock);
	free(text);
}
