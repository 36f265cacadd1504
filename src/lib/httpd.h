/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * httpd.h - a small HTTP/1.1 server layer over libmicrohttpd (the only
 * file that includes microhttpd.h): a route table, request bodies streamed
 * to handlers with a byte cap, and replies from memory or from a reader.
 *
 * Threads: one thread per connection, so a slow handler (a password hash,
 * an integrity check) holds up only its own connection.
 *
 * Life of a request:
 *   1. headers complete → the matching route's begin() runs.  No route for
 *      the path → 404 with an empty body; the path matches but not the
 *      method → 405 with an empty body (what the official server's router
 *      answers).
 *   2. every body chunk → body(), up to the cap set with
 *      httpd_req_set_body_cap; bytes beyond it, and every byte after a
 *      reply was made or httpd_req_discard_body, are read and dropped, so
 *      a rejected client still reads its answer (no reset connection).
 *   3. end of body → end(), which must reply (else 500).
 *   4. the request is finished (sent, or the connection broke) → the
 *      server's done() callback with status, byte counts and duration;
 *      the handler's context is freed there.
 * A reply may be made at any step; it is sent once the body is consumed.
 */
#ifndef ANKIHOST_HTTPD_H
#define ANKIHOST_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "status.h"

struct httpd;
struct httpd_req;

typedef void (*httpd_begin_fn)(struct httpd_req *r, void *arg);
typedef void (*httpd_body_fn)(struct httpd_req *r, const void *data, size_t len, void *arg);
typedef void (*httpd_end_fn)(struct httpd_req *r, void *arg);

struct httpd_route {
	const char *method; /* "GET", "POST" */
	const char *path;   /* exact path, or a prefix when it ends in '/' */
	httpd_begin_fn begin;
	httpd_body_fn body; /* may be NULL: body dropped */
	httpd_end_fn end;
	void *arg;
};

struct httpd_done_info {
	int status;         /* the status sent (0 if none was) */
	uint64_t bytes_in;  /* request body bytes read */
	uint64_t bytes_out; /* response body bytes handed to the socket */
	uint64_t usec;      /* from headers complete to finished */
	int completed;      /* the whole response was sent */
};

/* Called once per request when it is finished; ctx is httpd_req_ctx(r). */
typedef void (*httpd_done_fn)(struct httpd_req *r, void *ctx, const struct httpd_done_info *info,
                              void *arg);

struct httpd_config {
	const struct sockaddr *addr; /* AF_INET or AF_INET6 */
	socklen_t addrlen;
	const struct httpd_route *routes;
	size_t nroutes;
	httpd_done_fn done;
	void *done_arg;
	unsigned conn_limit;   /* simultaneous connections */
	unsigned conn_timeout; /* seconds of silence before an idle connection closes */
};

/* host (a numeric IPv4 or IPv6 address) and port as a socket address for
 * httpd_config.addr (or for connecting to one); -1 when host is not one. */
int httpd_addr(const char *host, unsigned port, struct sockaddr_storage *ss, socklen_t *len);

/* Bind and start serving.  ST_IO with the reason when the address cannot
 * be bound. */
enum status httpd_start(const struct httpd_config *cfg, struct httpd **out, struct errinfo *e);

/* Stop accepting connections (the listening socket is closed); requests in
 * progress go on. */
void httpd_quiesce(struct httpd *h);

/* Requests whose headers arrived and that are not finished yet. */
unsigned httpd_inflight(struct httpd *h);

/* Close every connection and free h.  Blocks until handlers return. */
void httpd_stop(struct httpd *h);

/* The port actually bound (useful when the configured port was 0). */
unsigned httpd_port(const struct httpd *h);

/* ---- request ---- */
const char *httpd_req_method(const struct httpd_req *r);
const char *httpd_req_path(const struct httpd_req *r);
/* A request header (case-insensitive name), its first or last occurrence;
 * NULL when absent. */
const char *httpd_req_header(struct httpd_req *r, const char *name, int last);
/* A query-string argument (exact, case-sensitive name), decoded by
 * libmicrohttpd (%XX escapes, '+' as space): its first occurrence, NULL
 * when absent, "" for a bare "name" without '='.  *count (may be NULL)
 * receives how many times name occurs; *len (may be NULL) the decoded
 * length of the value returned, which may hold NUL bytes.  The value lives
 * as long as the request. */
const char *httpd_req_query(struct httpd_req *r, const char *name, unsigned *count, size_t *len);
/* The socket peer's address as text ("127.0.0.1", "::1"). */
void httpd_req_peer(struct httpd_req *r, char *out, size_t cap);

void httpd_req_set_ctx(struct httpd_req *r, void *ctx);
void *httpd_req_ctx(const struct httpd_req *r);

/* Deliver at most cap body bytes to body(); the rest is dropped and
 * httpd_req_body_overflow becomes true.  Default: no cap. */
void httpd_req_set_body_cap(struct httpd_req *r, uint64_t cap);
int httpd_req_body_overflow(const struct httpd_req *r);
uint64_t httpd_req_body_bytes(const struct httpd_req *r);
/* Drop the rest of the body (an error was decided). */
void httpd_req_discard_body(struct httpd_req *r);

/* ---- replies: the first one made for a request wins ---- */

/* headers: NULL or "name", "value", ..., NULL.  data is copied. */
enum status httpd_reply(struct httpd_req *r, int status, const char *content_type, const void *data,
                        size_t len, const char *const *headers);

/* data[0..len) sent as it is, without a copy; free_fn(ctx) runs once the
 * response is released, also when it is never sent or this call fails. */
enum status httpd_reply_owned(struct httpd_req *r, int status, const char *content_type,
                              const void *data, size_t len, void (*free_fn)(void *ctx), void *ctx,
                              const char *const *headers);

/* A streamed body: read(ctx, buf, cap) returns bytes (> 0), 0 at the end,
 * or -1 on failure (the connection is then closed, so the client sees a
 * truncated body rather than a wrong one).  size is the body length, or
 * UINT64_MAX when unknown (chunked encoding).  free_fn(ctx) runs when the
 * response is released, also when it is never sent. */
typedef ssize_t (*httpd_read_fn)(void *ctx, void *buf, size_t cap);
enum status httpd_reply_stream(struct httpd_req *r, int status, const char *content_type,
                               uint64_t size, httpd_read_fn read, void *ctx,
                               void (*free_fn)(void *ctx), const char *const *headers);

int httpd_req_replied(const struct httpd_req *r);

/* ---- multipart/form-data bodies (streamed) ---- */
struct httpd_form;

/* Receives consecutive pieces of each field's value; off is the piece's
 * offset within that field.  Non-OK stops the parser. */
typedef enum status (*httpd_form_fn)(void *ctx, const char *field, const void *data, size_t len,
                                     uint64_t off);

/* A parser for r's body, or NULL when the request's Content-Type is not
 * multipart/form-data with a boundary. */
struct httpd_form *httpd_form_new(struct httpd_req *r, httpd_form_fn fn, void *ctx);
/* ST_INVALID on malformed data or when fn failed. */
enum status httpd_form_feed(struct httpd_form *f, const void *data, size_t len);
/* Free the parser; ST_INVALID when the body ended inside the form. */
enum status httpd_form_finish(struct httpd_form *f);

#endif
