/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * httpd.c - libmicrohttpd behind the route/body/reply interface of
 * httpd.h.
 *
 * MHD calls the access handler once when the headers are complete, once
 * per body chunk, and once more with no data at the end; a response may
 * only be queued in a call, so a reply made earlier is kept in the request
 * and queued at the end.  Every body byte is consumed ("*upload_data_size
 * = 0") even after a reply was decided: the client then reads a proper
 * answer instead of a reset.
 *
 * A streamed response may be released by MHD before or after the request's
 * completion callback; the byte counter therefore lives in the stream
 * wrapper and is copied into the request by whichever of the two ends
 * first (both run in the connection's own thread).
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct httpd {
	struct MHD_Daemon *d;
	struct httpd_config cfg;
	struct httpd_route *routes;
	atomic_uint inflight;
	unsigned port;
};

struct stream;

struct httpd_req {
	struct httpd *h;
	struct MHD_Connection *conn;
	const struct httpd_route *route;
	char *method;
	char *path;
	void *ctx;
	uint64_t cap;
	uint64_t bytes_in;
	uint64_t delivered;
	int overflow;
	int discard;
	int started; /* first handler call seen */
	struct MHD_Response *resp;
	int status;
	int queued;
	uint64_t bytes_out;
	struct stream *stream;
	struct timespec t0;
};

struct stream {
	httpd_read_fn read;
	void (*free_fn)(void *);
	void *ctx;
	uint64_t bytes;
	struct httpd_req *req; /* NULL once the request is gone */
};

static uint64_t elapsed_usec(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int64_t us =
	    (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000 + (t1.tv_nsec - t0->tv_nsec) / 1000;
	return us < 0 ? 0 : (uint64_t)us;
}

static int path_matches(const char *pattern, const char *path)
{
	size_t n = strlen(pattern);
	if (n > 0 && pattern[n - 1] == '/')
		return strncmp(pattern, path, n) == 0;
	return strcmp(pattern, path) == 0;
}

/* The route for method+path; *path_only set when only the path matched. */
static const struct httpd_route *find_route(const struct httpd *h, const char *method,
                                            const char *path, int *path_only)
{
	*path_only = 0;
	for (size_t i = 0; i < h->cfg.nroutes; i++) {
		const struct httpd_route *rt = &h->routes[i];
		if (!path_matches(rt->path, path))
			continue;
		if (strcmp(rt->method, method) == 0)
			return rt;
		*path_only = 1;
	}
	return NULL;
}

static enum status add_headers(struct MHD_Response *resp, const char *const *headers,
                               struct errinfo *e)
{
	for (const char *const *p = headers; p && p[0]; p += 2) {
		if (!p[1] || MHD_add_response_header(resp, p[0], p[1]) != MHD_YES)
			return errinfo_set(e, ST_INVALID, "bad response header %s", p[0]);
	}
	return ST_OK;
}

/* Make resp (with its headers) r's reply; on failure resp is destroyed
 * (which runs its free callback). */
static enum status set_reply(struct httpd_req *r, struct MHD_Response *resp, int status,
                             const char *content_type, const char *const *headers)
{
	if ((content_type && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                                             content_type) != MHD_YES) ||
	    add_headers(resp, headers, NULL)) {
		MHD_destroy_response(resp);
		return ST_INVALID;
	}
	r->resp = resp;
	r->status = status;
	r->discard = 1;
	return ST_OK;
}

enum status httpd_reply(struct httpd_req *r, int status, const char *content_type, const void *data,
                        size_t len, const char *const *headers)
{
	if (r->resp)
		return ST_EXISTS;
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, (void *)(len ? data : ""), MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return ST_NOMEM;
	r->bytes_out = len;
	return set_reply(r, resp, status, content_type, headers);
}

enum status httpd_reply_owned(struct httpd_req *r, int status, const char *content_type,
                              const void *data, size_t len, void (*free_fn)(void *ctx), void *ctx,
                              const char *const *headers)
{
	if (r->resp) {
		free_fn(ctx);
		return ST_EXISTS;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(
	    len, (void *)(len ? data : ""), free_fn, ctx);
	if (!resp) {
		free_fn(ctx);
		return ST_NOMEM;
	}
	r->bytes_out = len;
	return set_reply(r, resp, status, content_type, headers); /* runs free_fn on failure */
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct stream *s = cls;
	ssize_t n = s->read(s->ctx, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	s->bytes += (uint64_t)n;
	return n;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;
	if (s->req) {
		s->req->bytes_out = s->bytes;
		s->req->stream = NULL;
	}
	if (s->free_fn)
		s->free_fn(s->ctx);
	free(s);
}

enum status httpd_reply_stream(struct httpd_req *r, int status, const char *content_type,
                               uint64_t size, httpd_read_fn read, void *ctx,
                               void (*free_fn)(void *ctx), const char *const *headers)
{
	if (r->resp) {
		if (free_fn)
			free_fn(ctx);
		return ST_EXISTS;
	}
	struct stream *s = calloc(1, sizeof *s);
	if (!s) {
		if (free_fn)
			free_fn(ctx);
		return ST_NOMEM;
	}
	s->read = read;
	s->free_fn = free_fn;
	s->ctx = ctx;
	s->req = r;
	struct MHD_Response *resp = MHD_create_response_from_callback(
	    size == UINT64_MAX ? MHD_SIZE_UNKNOWN : size, 64 * 1024, stream_read, s, stream_free);
	if (!resp) {
		s->req = NULL;
		stream_free(s);
		return ST_NOMEM;
	}
	r->stream = s;
	return set_reply(r, resp, status, content_type, headers); /* runs stream_free on failure */
}

int httpd_req_replied(const struct httpd_req *r)
{
	return r->resp != NULL;
}
const char *httpd_req_method(const struct httpd_req *r)
{
	return r->method;
}
const char *httpd_req_path(const struct httpd_req *r)
{
	return r->path;
}
void httpd_req_set_ctx(struct httpd_req *r, void *ctx)
{
	r->ctx = ctx;
}
void *httpd_req_ctx(const struct httpd_req *r)
{
	return r->ctx;
}
void httpd_req_set_body_cap(struct httpd_req *r, uint64_t cap)
{
	r->cap = cap;
}
int httpd_req_body_overflow(const struct httpd_req *r)
{
	return r->overflow;
}
uint64_t httpd_req_body_bytes(const struct httpd_req *r)
{
	return r->bytes_in;
}
void httpd_req_discard_body(struct httpd_req *r)
{
	r->discard = 1;
}

struct header_find {
	const char *name;
	const char *value;
	int last;
};

static enum MHD_Result header_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	(void)kind;
	struct header_find *f = cls;
	if (key && strcasecmp(key, f->name) == 0) {
		f->value = value ? value : "";
		if (!f->last)
			return MHD_NO;
	}
	return MHD_YES;
}

const char *httpd_req_header(struct httpd_req *r, const char *name, int last)
{
	struct header_find f = {name, NULL, last};
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, header_iter, &f);
	return f.value;
}

struct query_find {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	unsigned count;
};

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	struct query_find *f = cls;
	/* Sizes, not strlen: a decoded "%00" must not shorten a name or value. */
	if (key && key_size == f->name_len && memcmp(key, f->name, key_size) == 0 &&
	    f->count++ == 0) {
		f->value = value ? value : "";
		f->value_len = value ? value_size : 0;
	}
	return MHD_YES;
}

const char *httpd_req_query(struct httpd_req *r, const char *name, unsigned *count, size_t *len)
{
	struct query_find f = {name, strlen(name), NULL, 0, 0};
	MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, query_iter, &f);
	if (count)
		*count = f.count;
	if (len)
		*len = f.value_len;
	return f.value;
}

void httpd_req_peer(struct httpd_req *r, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (cap)
		out[0] = '\0';
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		          (socklen_t)cap);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)cap);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)cap);
	}
}

struct httpd_form {
	struct MHD_PostProcessor *pp;
	httpd_form_fn fn;
	void *ctx;
	int failed;
};

static enum MHD_Result form_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *content_type,
                                 const char *transfer_encoding, const char *data, uint64_t off,
                                 size_t size)
{
	(void)kind;
	(void)filename;
	(void)content_type;
	(void)transfer_encoding;
	struct httpd_form *f = cls;
	if (f->fn(f->ctx, key ? key : "", data, size, off) != ST_OK) {
		f->failed = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

struct httpd_form *httpd_form_new(struct httpd_req *r, httpd_form_fn fn, void *ctx)
{
	const char *ct = httpd_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, 0);
	static const char mp[] = "multipart/form-data";
	if (!ct || strncasecmp(ct, mp, sizeof mp - 1) != 0 || !strstr(ct, "boundary="))
		return NULL;
	struct httpd_form *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->fn = fn;
	f->ctx = ctx;
	f->pp = MHD_create_post_processor(r->conn, 64 * 1024, form_iter, f);
	if (!f->pp) {
		free(f);
		return NULL;
	}
	return f;
}

enum status httpd_form_feed(struct httpd_form *f, const void *data, size_t len)
{
	if (f->failed)
		return ST_INVALID;
	if (MHD_post_process(f->pp, data, len) != MHD_YES || f->failed) {
		f->failed = 1;
		return ST_INVALID;
	}
	return ST_OK;
}

enum status httpd_form_finish(struct httpd_form *f)
{
	if (!f)
		return ST_OK;
	enum MHD_Result rc = MHD_destroy_post_processor(f->pp);
	int failed = f->failed;
	free(f);
	return rc == MHD_YES && !failed ? ST_OK : ST_INVALID;
}

static enum MHD_Result queue_reply(struct httpd_req *r)
{
	if (!r->resp)
		httpd_reply(r, 500, "text/plain; charset=utf-8", "500", 3, NULL);
	if (!r->resp)
		return MHD_NO;
	enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)r->status, r->resp);
	MHD_destroy_response(r->resp); /* MHD holds its own reference now */
	r->resp = NULL;
	r->queued = 1;
	return rc;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct httpd *h = cls;
	struct httpd_req *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &r->t0);
		r->h = h;
		r->conn = conn;
		r->method = strdup(method ? method : "");
		r->path = strdup(url ? url : "");
		*con_cls = r;
		atomic_fetch_add(&h->inflight, 1);
		if (!r->method || !r->path)
			return MHD_NO;
		int path_only = 0;
		r->route = find_route(h, r->method, r->path, &path_only);
		if (!r->route)
			httpd_reply(r, path_only ? 405 : 404, NULL, "", 0, NULL);
		else
			r->route->begin(r, r->route->arg);
		return MHD_YES;
	}
	if (r->queued) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		r->bytes_in += n;
		if (!r->discard && r->route && r->route->body) {
			size_t give = n;
			if (r->cap && r->delivered + give > r->cap) {
				give = (size_t)(r->cap - r->delivered);
				r->overflow = 1;
			}
			if (give > 0) {
				r->delivered += give;
				r->route->body(r, upload_data, give, r->route->arg);
			}
			if (r->overflow)
				r->discard = 1;
		} else if (r->cap && r->bytes_in > r->cap) {
			r->overflow = 1;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* End of the request body. */
	if (!r->resp && r->route && r->route->end)
		r->route->end(r, r->route->arg);
	return queue_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	struct httpd *h = cls;
	struct httpd_req *r = *con_cls;
	if (!r)
		return;
	*con_cls = NULL;
	if (r->stream) {
		r->bytes_out = r->stream->bytes;
		r->stream->req = NULL;
		r->stream = NULL;
	}
	if (r->resp) { /* a reply that was never queued */
		MHD_destroy_response(r->resp);
		r->resp = NULL;
	}
	struct httpd_done_info info = {
	    .status = r->queued ? r->status : 0,
	    .bytes_in = r->bytes_in,
	    .bytes_out = r->queued ? r->bytes_out : 0,
	    .usec = elapsed_usec(&r->t0),
	    .completed = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK,
	};
	if (h->cfg.done)
		h->cfg.done(r, r->ctx, &info, h->cfg.done_arg);
	free(r->method);
	free(r->path);
	free(r);
	atomic_fetch_sub(&h->inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_debug("http: %s", msg);
}

int httpd_addr(const char *host, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof *a4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof *a6;
		return 0;
	}
	return -1;
}

enum status httpd_start(const struct httpd_config *cfg, struct httpd **out, struct errinfo *e)
{
	*out = NULL;
	struct httpd *h = calloc(1, sizeof *h);
	if (!h)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	h->cfg = *cfg;
	h->routes = calloc(cfg->nroutes ? cfg->nroutes : 1, sizeof *h->routes);
	if (!h->routes) {
		free(h);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	memcpy(h->routes, cfg->routes, cfg->nroutes * sizeof *h->routes);
	atomic_init(&h->inflight, 0);
	/* poll(), not select(): select() cannot watch a descriptor past
	 * FD_SETSIZE (1024), and a server holding a few files per active user
	 * gets there; MHD would then refuse every new connection. */
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	                 MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	uint16_t port = 0;
	if (cfg->addr->sa_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((const struct sockaddr_in6 *)(const void *)cfg->addr)->sin6_port);
	} else {
		port = ntohs(((const struct sockaddr_in *)(const void *)cfg->addr)->sin_port);
	}
	h->d = MHD_start_daemon(
	    flags, port, NULL, NULL, on_access, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, cfg->addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)(cfg->conn_limit ? cfg->conn_limit : 256),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->conn_timeout ? cfg->conn_timeout : 300),
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)128, MHD_OPTION_END);
	if (!h->d) {
		free(h->routes);
		free(h);
		return errinfo_set(e, ST_IO,
		                   "cannot listen on port %u (address in use or not available)",
		                   (unsigned)port);
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : port;
	*out = h;
	return ST_OK;
}

unsigned httpd_port(const struct httpd *h)
{
	return h->port;
}

void httpd_quiesce(struct httpd *h)
{
	MHD_socket s = MHD_quiesce_daemon(h->d);
	if (s != MHD_INVALID_SOCKET)
		close(s);
}

unsigned httpd_inflight(struct httpd *h)
{
	return atomic_load(&h->inflight);
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h->routes);
	free(h);
}
