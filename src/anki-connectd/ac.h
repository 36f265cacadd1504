/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ac.h - what the parts of anki-connectd share: settings, the collection
 * connection pool, the action table and the per-call context actions
 * work through (ankiconnect.md §1, §3).
 *
 * Threads: libmicrohttpd runs each connection in its own thread.  A call
 * runs on the thread of its request:
 *   - AC_READ actions borrow a reader connection from the pool (each in a
 *     read transaction, so every read sees one snapshot; readers never
 *     wait for each other or for the writer, thanks to WAL);
 *   - AC_WRITE actions take the single writer connection under a mutex
 *     and run in one transaction, committed when the action succeeds
 *     (or when it says its partial changes stay, as AnkiConnect's do);
 *   - AC_NOCOL actions (media, version, multi, ...) use no connection.
 * No global mutable state: everything hangs off struct ac_server.
 */
#ifndef ANKICONNECTD_AC_H
#define ANKICONNECTD_AC_H

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "col.h"
#include "bounds.h"
#include "status.h"

struct httpd;

/* ---- settings (settings.c) ---- */

struct ac_settings {
	char bind_addr[64];
	unsigned port;
	char **cors; /* webCorsOriginList (+ webCorsOrigin) */
	size_t ncors;
	char **ignore; /* ignoreOriginList */
	size_t nignore;
	char *api_key;      /* NULL: no key required */
	char *api_log_path; /* NULL: no API log */
	long long timeout_ms;
	char *profile;
	size_t max_body;      /* request bodies larger than this are refused */
	unsigned max_readers; /* reader connections */
	unsigned max_conns;   /* simultaneous HTTP connections */
};

/* Defaults, then the JSON file (may be NULL), then the environment.
 * ST_INVALID with a message naming the setting. */
enum status ac_settings_load(struct ac_settings *s, const char *file, char *const *envp,
                             struct errinfo *e);
void ac_settings_free(struct ac_settings *s);
/* One line per setting for --help. */
void ac_settings_usage(FILE *f);

/* ---- the collection and its connections (pool.c) ---- */

#define AC_MAX_READERS 16

struct ac_pool {
	pthread_mutex_t wlock; /* the writer, and opening connections */
	struct col *writer;
	pthread_mutex_t rlock;
	pthread_cond_t rcond;
	struct col *idle[AC_MAX_READERS];
	size_t nidle, nopen, max;
};

struct ac_server {
	struct ac_settings set;
	char col_path[MAX_PATH_BYTES];
	char media_dir[MAX_PATH_BYTES];
	int lock_fd;
	struct ac_pool pool;
	struct httpd *httpd;
	FILE *apilog;
	pthread_mutex_t apilog_lock;
	atomic_uint_fast64_t requests;
};

/* Lock file, open (creating a missing collection as Anki does), the
 * writer connection, the media folder.  ST_BUSY when another process
 * holds the collection (our lock file or SQLite's lock). */
enum status ac_server_open(struct ac_server *srv, const char *col_path, struct errinfo *e);
/* Close every connection (checkpointing the WAL) and release the lock. */
void ac_server_close(struct ac_server *srv);

/* Borrow / return connections.  ac_pool_reader may open a new one. */
enum status ac_pool_reader(struct ac_server *srv, struct col **c, struct errinfo *e);
void ac_pool_reader_put(struct ac_server *srv, struct col *c);
struct col *ac_pool_writer(struct ac_server *srv); /* locks */
void ac_pool_writer_put(struct ac_server *srv);    /* unlocks */

/* ---- actions ---- */

struct ac_call;
typedef enum status (*ac_fn)(struct ac_call *k);

enum ac_kind { AC_NOCOL, AC_READ, AC_WRITE };

struct ac_action {
	const char *name;
	ac_fn fn;
	enum ac_kind kind;
	/* Python signature: names separated by spaces, "=" marks a parameter
	 * with a default (optional), e.g. "cards suspend=". */
	const char *params;
};

extern const struct ac_action ac_actions[];
extern const size_t ac_nactions;
/* Exact, case-sensitive lookup. */
const struct ac_action *ac_action_find(const char *name);

struct ac_call {
	struct ac_server *srv;
	const struct ac_action *act;
	json_t *params; /* borrowed: the request's params object */
	struct col *c;  /* the connection (AC_READ / AC_WRITE) */
	json_t *result; /* owned; NULL means JSON null */
	struct buf err; /* error text when failed */
	bool failed;
	bool keep_partial; /* AC_WRITE: commit what was done even on failure */
	/* requestPermission at the top level (transport injects these) */
	const char *origin;
	bool allowed;
	int depth; /* multi nesting */
};

/* The AnkiConnect handler (§1.5): key check, lookup, parameter check,
 * run, format by version.  Returns the reply value (owned).  origin /
 * allowed are set for the top-level request only (inject = true). */
json_t *ac_handle(struct ac_server *srv, const json_t *request, bool inject, const char *origin,
                  bool allowed, int depth);

/* Error reply object {"result": null, "error": msg}. */
json_t *ac_error_reply(const char *msg);

/* ---- helpers for actions (util.c) ---- */

/* Fail the call with a message; returns ST_INVALID. */
enum status ac_fail(struct ac_call *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Python's KeyError text: the quoted key, e.g. 'deckName'. */
enum status ac_fail_key(struct ac_call *k, const char *key);
/* Fail with e->msg for an internal failure (database, memory). */
enum status ac_fail_err(struct ac_call *k, const struct errinfo *e);
/* Set the result (steals v; NULL v is OOM -> failure). */
enum status ac_ok(struct ac_call *k, json_t *v);

/* A parameter (NULL when absent or JSON null). */
json_t *ac_param(struct ac_call *k, const char *name);

/* Python-ish type name of a JSON value: 'int', 'str', 'list', ... */
const char *ac_pytype(const json_t *v);

/* A JSON string from bytes that may not be valid UTF-8 (U+FFFD). */
json_t *ac_jstr(const char *s);
json_t *ac_jstrn(const char *s, size_t n);

/* Integer value of v (JSON integer, or an integral real).  false else. */
bool ac_int(const json_t *v, int64_t *out);
/* Python truthiness. */
bool ac_truthy(const json_t *v);

/* An integer list parameter: ST_INVALID with Python's words when it is
 * not a list ("'int' object is not iterable").  Non-integer elements are
 * kept as *bad[i] = true when bad is given, else they fail the call. */
enum status ac_id_list(struct ac_call *k, const json_t *v, int64_t **ids, size_t *n);

/* cardsModTime / notesModTime: [{key: id, "mod": m}] for the ids (frees
 * them), {} where sql (mod of ?1) finds no row. */
enum status ac_mod_times(struct ac_call *k, const char *sql, const char *key, int64_t *ids,
                         size_t n);

/* ---- cross-file helpers shared by actions ---- */

/* The human name of the deck with this id (malloc'd) or NULL. */
char *ac_deck_name(struct col *c, int64_t did);
/* notetype id by name (unicase), ST_NOTFOUND. */
enum status ac_model_id(struct col *c, const char *name, int64_t *id, struct errinfo *e);
/* Python repr() of a JSON value appended to out (errors ignored). */
void ac_py_repr_json(const json_t *v, struct buf *out);
void ac_py_repr_str_json(const json_t *s, struct buf *out);

/* Transport (transport.c): route table for httpd; the access log. */
struct httpd_route;
size_t ac_transport_routes(struct ac_server *srv, struct httpd_route *routes, size_t cap);
struct httpd_req;
struct httpd_done_info;
void ac_transport_done(struct httpd_req *r, void *ctx, const struct httpd_done_info *info,
                       void *arg);

/* API log (apiLogPath): "[request]" / "[reply]" entries. */
void ac_apilog(struct ac_server *srv, const char *what, const json_t *v);

/* JSON text of a reply (compact; reals as the shortest round trip). */
char *ac_dumps(const json_t *v, size_t *len);

#endif
