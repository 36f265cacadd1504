/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * routes.c - from HTTP request to sync method: the route table, the
 * anki-sync header or legacy multipart form, client IP, authentication,
 * body decoding into memory or a temporary file, reply framing, metrics
 * and the access log (sync-protocol.md §1, §2.1, §5.2, §6.1).
 *
 * Order of checks, as the official server makes them (so each bad request
 * gets the same status): unknown method name (400), client IP (500),
 * anki-sync header or multipart (400), body decoding (400), host key
 * (403), then the method.  Every error is answered only after the whole
 * body was read, so the client always gets to read it.
 *
 * The legacy media begin comes in two more forms (§1.6, §5.2): a multipart
 * POST whose field "v" carries the client version, and GET /msync/begin
 * ?k=<hkey>&v=<version>.  Both become the payload {"v": <version>}, as the
 * official router injects it, so the begin handler sees one form.  The GET
 * form is checked in the official order: the query string (each of k and
 * v exactly once, else 400 with axum's text), then the host key (403),
 * then the version (400 "missing client version"); it needs no client IP
 * (the official GET handler never extracts one), and its reply is plain
 * (version 10).  The host key in the query never reaches a log: the access
 * line and error lines carry the path only.
 *
 * Adding a method: give its row in smethods[] a handler.  Rows without one
 * answer 400, which the official client shows as "please check the
 * database, then force a one-way sync" (a full sync then works).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afile.h"
#include "log.h"
#include "server.h"
#include "syncproto_col.h"
#include "syncproto_gzip.h"
#include "text.h"
#include "zstdio.h"

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define OCTETS "application/octet-stream"
/* Multipart field "v" (a client version, tens of bytes): more is refused. */
#define FORM_V_MAX (64u * 1024)

const struct smethod_def smethods[] = {
    {"hostKey", SM_HOSTKEY, PAYLOAD_JSON, 0, SMALL_JSON_MAX, handle_host_key},
    {"meta", SM_META, PAYLOAD_JSON, 1, SMALL_JSON_MAX, handle_meta},
    {"start", SM_START, PAYLOAD_JSON, 1, 0, handle_start},
    {"applyGraves", SM_APPLY_GRAVES, PAYLOAD_JSON, 1, 0, handle_apply_graves},
    {"applyChanges", SM_APPLY_CHANGES, PAYLOAD_JSON, 1, 0, handle_apply_changes},
    {"chunk", SM_CHUNK, PAYLOAD_JSON, 1, SMALL_JSON_MAX, handle_chunk},
    {"applyChunk", SM_APPLY_CHUNK, PAYLOAD_JSON, 1, 0, handle_apply_chunk},
    {"sanityCheck2", SM_SANITY_CHECK, PAYLOAD_JSON, 1, 0, handle_sanity_check},
    {"finish", SM_FINISH, PAYLOAD_JSON, 1, SMALL_JSON_MAX, handle_finish},
    {"abort", SM_ABORT, PAYLOAD_JSON, 1, SMALL_JSON_MAX, handle_abort},
    {"upload", SM_UPLOAD, PAYLOAD_FILE, 1, 0, handle_upload},
    {"download", SM_DOWNLOAD, PAYLOAD_JSON, 1, SMALL_JSON_MAX, handle_download},
};
const size_t smethods_count = sizeof smethods / sizeof smethods[0];

static const struct smethod_def mmethods[] = {
    {"begin", SM_MEDIA_BEGIN, PAYLOAD_JSON, 1, SMALL_JSON_MAX, handle_media_begin},
    {"mediaChanges", SM_MEDIA_CHANGES, PAYLOAD_JSON, 1, SMALL_JSON_MAX, handle_media_changes},
    {"uploadChanges", SM_MEDIA_UPLOAD, PAYLOAD_FILE, 1, 0, handle_media_upload},
    {"downloadFiles", SM_MEDIA_DOWNLOAD, PAYLOAD_JSON, 1, SMALL_JSON_MAX, handle_media_download},
    {"mediaSanity", SM_MEDIA_SANITY, PAYLOAD_JSON, 1, SMALL_JSON_MAX, handle_media_sanity},
};

enum rkind { RK_SYNC, RK_HEALTH, RK_METRICS };

struct sreq {
	struct server *srv;
	struct httpd_req *r;
	enum rkind kind;
	const struct smethod_def *m;
	int legacy;
	int version;
	struct sync_header hdr;
	char ip[64];
	char login[USERS_NAME_MAX + 1];
	struct ustate *user;
	int auth_failed;
	int err;         /* an error status decided before the end */
	const char *why; /* its reason, for the log */
	/* modern body */
	struct zstdio_dec *zd;
	/* legacy body */
	struct httpd_form *form;
	char f_c[16], f_k[SYNC_HKEY_MAX + 1], f_s[SYNC_SKEY_MAX + 1];
	int have_c;
	struct buf f_v; /* multipart "v" (legacy media begin) */
	int have_v;
	int spool_fd;
	uint64_t spool_len;
	/* decoded payload */
	struct buf json;
	/* uploadChanges body held in memory (mem_spool) until it would pass
	 * MEDIA_SPOOL_MEM_MAX or the server's MEDIA_SPOOL_MEM_TOTAL; then it
	 * moves to the file q->up.  mem_counted: bytes charged to
	 * srv->spool_mem. */
	int mem_spool;
	struct buf mbody;
	size_t mem_counted;
	struct afile up;
	int up_open;
	int up_taken;
	int null_sink;
	uint64_t decoded;
	int truncated;
	/* downloadFiles: build the next reply once this one is out */
	int pf_armed;
	int32_t pf_after;
};

struct server *sreq_server(struct sreq *q)
{
	return q->srv;
}
struct ustate *sreq_user(struct sreq *q)
{
	return q->user;
}
int sreq_version(struct sreq *q)
{
	return q->version;
}
const char *sreq_hkey(struct sreq *q)
{
	return q->legacy ? q->f_k : q->hdr.hkey;
}
const char *sreq_skey(struct sreq *q)
{
	return q->legacy ? q->f_s : q->hdr.skey;
}
const struct buf *sreq_json(struct sreq *q)
{
	return &q->json;
}

const struct buf *sreq_mem_body(struct sreq *q)
{
	return q->mem_spool ? &q->mbody : NULL;
}

const char *sreq_file(struct sreq *q, uint64_t *size, int *truncated)
{
	*size = q->decoded;
	*truncated = q->truncated;
	return q->up_open ? q->up.tmp : NULL;
}

void sreq_take_file(struct sreq *q)
{
	q->up_taken = 1;
}

void sreq_set_login(struct sreq *q, const char *name)
{
	snprintf(q->login, sizeof q->login, "%s", name);
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- replies ---- */

void sreq_reply_error(struct sreq *q, int status, const char *why)
{
	if (httpd_req_replied(q->r))
		return;
	char body[8];
	int n = snprintf(body, sizeof body, "%d", status);
	q->why = why;
	if (status >= 500 && status != 501)
		log_warnx("%s %s: %d %s", q->ip, httpd_req_path(q->r), status, why ? why : "");
	else if (why)
		log_debug("%s %s: %d %s", q->ip, httpd_req_path(q->r), status, why);
	httpd_reply(q->r, status, TEXT_PLAIN, body, (size_t)n, NULL);
}

void sreq_reply_ok(struct sreq *q, const void *data, size_t len)
{
	if (q->version < SYNC_VERSION_MAX) {
		httpd_reply(q->r, 200, OCTETS, data, len, NULL);
		return;
	}
	struct buf z;
	buf_init(&z, 0);
	struct errinfo e;
	if (zstdio_compress(data, len, ZSTDIO_LEVEL, &z, &e)) {
		buf_free(&z);
		sreq_reply_error(q, 500, e.msg);
		return;
	}
	char size[24];
	snprintf(size, sizeof size, "%zu", len);
	const char *hdrs[] = {"anki-original-size", size, NULL};
	httpd_reply(q->r, 200, OCTETS, z.data, z.len, hdrs);
	buf_free(&z);
}

void sreq_reply_json(struct sreq *q, const char *json)
{
	sreq_reply_ok(q, json, strlen(json));
}

struct fd_stream {
	int fd;
	struct server *srv;
	uint64_t dl_mem;         /* released from srv->dl_mem at the end */
	struct zstdio_reader *z; /* NULL: raw */
	char path[96];           /* for messages */
};

static ssize_t fd_stream_read(void *ctx, void *buf, size_t cap)
{
	struct fd_stream *s = ctx;
	if (s->z) {
		struct errinfo e;
		ssize_t n = zstdio_reader_read(s->z, buf, cap, &e);
		if (n < 0)
			log_warnx("sending %s: %s", s->path, e.msg);
		return n;
	}
	for (;;) {
		ssize_t n = read(s->fd, buf, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			log_warn("sending %s", s->path);
		return n;
	}
}

static void fd_stream_free(void *ctx)
{
	struct fd_stream *s = ctx;
	zstdio_reader_free(s->z);
	close(s->fd);
	if (s->dl_mem)
		atomic_fetch_sub(&s->srv->dl_mem, s->dl_mem);
	free(s);
}

void sreq_reply_fd(struct sreq *q, int fd, uint64_t size)
{
	sreq_reply_fd_level(q, fd, size, ZSTDIO_LEVEL, 0);
}

void sreq_reply_fd_level(struct sreq *q, int fd, uint64_t size, int level, uint64_t dl_mem)
{
	struct fd_stream *s = calloc(1, sizeof *s);
	if (!s) {
		if (dl_mem)
			atomic_fetch_sub(&q->srv->dl_mem, dl_mem);
		close(fd);
		sreq_reply_error(q, 500, "out of memory");
		return;
	}
	s->fd = fd;
	s->srv = q->srv;
	s->dl_mem = dl_mem;
	snprintf(s->path, sizeof s->path, "%s", httpd_req_path(q->r));
	if (q->version < SYNC_VERSION_MAX) {
		httpd_reply_stream(q->r, 200, OCTETS, size, fd_stream_read, s, fd_stream_free,
		                   NULL);
		return;
	}
	s->z = zstdio_reader_fd(fd, size, level);
	if (!s->z) {
		fd_stream_free(s);
		sreq_reply_error(q, 500, "cannot start zstd");
		return;
	}
	char osize[24];
	snprintf(osize, sizeof osize, "%llu", (unsigned long long)size);
	const char *hdrs[] = {"anki-original-size", osize, NULL};
	httpd_reply_stream(q->r, 200, OCTETS, UINT64_MAX, fd_stream_read, s, fd_stream_free, hdrs);
}

void sreq_arm_prefetch(struct sreq *q, int32_t after)
{
	q->pf_armed = 1;
	q->pf_after = after;
}

void sreq_reply_body(struct sreq *q, const void *body, size_t len, size_t orig_len,
                     void (*free_fn)(void *ctx), void *ctx)
{
	char osize[24];
	snprintf(osize, sizeof osize, "%zu", orig_len);
	const char *hdrs[] = {"anki-original-size", osize, NULL};
	httpd_reply_owned(q->r, 200, OCTETS, body, len, free_fn, ctx,
	                  q->version >= SYNC_VERSION_MAX ? hdrs : NULL);
}

struct mem_reply {
	unsigned char *data;
	struct server *srv;
	uint64_t dl_mem; /* released from srv->dl_mem at the end */
};

static void mem_reply_free(void *ctx)
{
	struct mem_reply *m = ctx;
	free(m->data);
	if (m->dl_mem)
		atomic_fetch_sub(&m->srv->dl_mem, m->dl_mem);
	free(m);
}

void sreq_reply_mem_level(struct sreq *q, unsigned char *data, size_t size, int level,
                          uint64_t dl_mem)
{
	struct mem_reply *m = calloc(1, sizeof *m);
	if (!m) {
		free(data);
		if (dl_mem)
			atomic_fetch_sub(&q->srv->dl_mem, dl_mem);
		sreq_reply_error(q, 500, "out of memory");
		return;
	}
	m->srv = q->srv;
	m->dl_mem = dl_mem;
	m->data = data;
	size_t len = size;
	if (q->version >= SYNC_VERSION_MAX) {
		struct buf z;
		buf_init(&z, 0);
		struct errinfo e;
		if (zstdio_compress(data, size, level, &z, &e)) {
			buf_free(&z);
			mem_reply_free(m);
			sreq_reply_error(q, 500, e.msg);
			return;
		}
		free(data);
		m->data = buf_steal(&z, &len);
	}
	sreq_reply_body(q, m->data, len, size, mem_reply_free, m);
}

/* ---- payload sinks ---- */

static enum status sink_json(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	struct sreq *q = ctx;
	enum status st = buf_append(&q->json, data, len, e);
	/* Past the cap the official server truncates; JSON parsing then fails
	 * (400).  Keep what fits and let the parse fail the same way. */
	if (st == ST_TOOBIG) {
		q->truncated = 1;
		return ST_OK;
	}
	return st;
}

/* Give back what the memory spool charged to the server's total. */
static void mem_spool_release(struct sreq *q)
{
	if (q->mem_counted) {
		atomic_fetch_sub(&q->srv->spool_mem, q->mem_counted);
		q->mem_counted = 0;
	}
}

/* A body buffer for q: a pooled one (already charged) or an empty one. */
static void mem_spool_take(struct sreq *q)
{
	struct server *srv = q->srv;
	buf_init(&q->mbody, MEDIA_SPOOL_MEM_MAX);
	pthread_mutex_lock(&srv->spool_lock);
	if (srv->spool_pooled > 0) {
		q->mbody = srv->spool_pool[--srv->spool_pooled];
		q->mem_counted = q->mbody.alloc;
	}
	pthread_mutex_unlock(&srv->spool_lock);
	buf_reset(&q->mbody);
}

/* At the end of the request: back to the pool, or freed. */
static void mem_spool_put(struct sreq *q)
{
	struct server *srv = q->srv;
	if (q->mbody.data && q->mem_counted == q->mbody.alloc) {
		pthread_mutex_lock(&srv->spool_lock);
		if (srv->spool_pooled < MEDIA_SPOOL_POOL) {
			srv->spool_pool[srv->spool_pooled++] = q->mbody;
			buf_init(&q->mbody, 1);
			q->mem_counted = 0; /* the pool holds the charge now */
		}
		pthread_mutex_unlock(&srv->spool_lock);
	}
	buf_free(&q->mbody);
	mem_spool_release(q);
}

void routes_spool_trim(struct server *srv)
{
	pthread_mutex_lock(&srv->spool_lock);
	while (srv->spool_pooled > 0) {
		struct buf *b = &srv->spool_pool[--srv->spool_pooled];
		atomic_fetch_sub(&srv->spool_mem, b->alloc);
		buf_free(b);
	}
	pthread_mutex_unlock(&srv->spool_lock);
}

/* The memory spool is full (this body, or all of them together): move
 * what it holds to a file beside the collection and go on there. */
static enum status mem_spool_spill(struct sreq *q, struct errinfo *e)
{
	enum status st = afile_open(&q->up, q->user->colpath, 0600, e);
	if (st)
		return st;
	q->up_open = 1;
	q->mem_spool = 0;
	if (q->mbody.len)
		st = afile_write(&q->up, q->mbody.data, q->mbody.len, e);
	buf_free(&q->mbody);
	mem_spool_release(q);
	return st;
}

static enum status sink_file(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	struct sreq *q = ctx;
	if (q->null_sink)
		return ST_OK;
	if (q->mem_spool) {
		if (len > q->mbody.cap - q->mbody.len) {
			enum status st = mem_spool_spill(q, e);
			return st ? st : afile_write(&q->up, data, len, e);
		}
		size_t before = q->mbody.alloc;
		enum status st = buf_append(&q->mbody, data, len, e);
		if (st)
			return st;
		size_t grew = q->mbody.alloc - before;
		if (grew) {
			uint64_t now = atomic_fetch_add(&q->srv->spool_mem, grew) + grew;
			q->mem_counted += grew;
			if (now > MEDIA_SPOOL_MEM_TOTAL)
				return mem_spool_spill(q, e);
		}
		return ST_OK;
	}
	return afile_write(&q->up, data, len, e);
}

/* Prepare the destination of the decoded body (user known, or not). */
static enum status payload_open(struct sreq *q, struct errinfo *e)
{
	if (q->m->payload == PAYLOAD_JSON) {
		buf_init(&q->json,
		         q->m->json_max ? q->m->json_max : q->srv->cfg.uncompressed_limit);
		return ST_OK;
	}
	if (!q->user) {
		q->null_sink = 1;
		return ST_OK;
	}
	/* Make sure the user's directory exists before writing into it. */
	enum status st = ustate_lock(q->srv, q->user, e);
	if (st)
		return st;
	ustate_unlock(q->user);
	if (q->m->id == SM_MEDIA_UPLOAD) {
		/* A media batch is ~2.5 MiB: kept in memory, no file created and
		 * deleted per request (see server.h, MEDIA_SPOOL_MEM_MAX). */
		q->mem_spool = 1;
		mem_spool_take(q);
		return ST_OK;
	}
	st = afile_open(&q->up, q->user->colpath, 0600, e);
	if (st == ST_OK)
		q->up_open = 1;
	return st;
}

static void *payload_sink_ctx(struct sreq *q)
{
	return q;
}

static zstdio_sink_fn payload_sink(struct sreq *q)
{
	return q->m->payload == PAYLOAD_JSON ? sink_json : sink_file;
}

static uint64_t payload_cap(struct sreq *q)
{
	if (q->m->payload == PAYLOAD_JSON)
		return 0; /* the buffer's own cap applies */
	return q->srv->cfg.uncompressed_limit;
}

/* ---- authentication ---- */

static void authenticate(struct sreq *q, const char *hkey)
{
	if (!q->m->auth)
		return;
	char name[USERS_NAME_MAX + 1] = "";
	pthread_rwlock_rdlock(&q->srv->users_lock);
	const struct user_entry *ent = users_find_hkey(&q->srv->users, hkey);
	if (ent)
		snprintf(name, sizeof name, "%s", ent->name);
	pthread_rwlock_unlock(&q->srv->users_lock);
	if (!ent) {
		q->auth_failed = 1;
		return;
	}
	q->user = ustate_get(q->srv, name);
	if (!q->user)
		q->err = 500, q->why = "out of memory";
	else
		sreq_set_login(q, name);
}

/* Answer a request already refused (q->err) or whose host key named
 * nobody (403, checked after everything else, as the official server
 * does); 1 when answered. */
static int reply_refusal(struct sreq *q)
{
	if (q->err)
		sreq_reply_error(q, q->err, q->why);
	else if (q->auth_failed)
		sreq_reply_error(q, 403, "invalid hkey");
	else
		return 0;
	return 1;
}

/* ---- legacy multipart ---- */

static enum status form_field(void *ctx, const char *field, const void *data, size_t len,
                              uint64_t off)
{
	struct sreq *q = ctx;
	char *dst = NULL;
	size_t cap = 0;
	if (!q)
		return ST_INTERNAL;
	if (strcmp(field, "c") == 0)
		dst = q->f_c, cap = sizeof q->f_c, q->have_c = 1;
	else if (strcmp(field, "k") == 0 || strcmp(field, "sk") == 0)
		dst = q->f_k, cap = sizeof q->f_k;
	else if (strcmp(field, "s") == 0)
		dst = q->f_s, cap = sizeof q->f_s;
	if (dst) {
		/* Short text fields; a later "k" replaces an earlier "sk" as in
		 * the official parser. */
		if (off == 0)
			dst[0] = '\0';
		size_t have = strlen(dst);
		if (off != have || have + len >= cap || (len && memchr(data, '\0', len)))
			return ST_INVALID;
		if (len)
			memcpy(dst + have, data, len);
		dst[have + len] = '\0';
		return ST_OK;
	}
	if (strcmp(field, "v") == 0) {
		/* A later "v" replaces an earlier one, as in the official parser. */
		if (off == 0)
			buf_reset(&q->f_v);
		q->have_v = 1;
		if (off != q->f_v.len || buf_append(&q->f_v, data, len, NULL))
			return ST_INVALID;
		return ST_OK;
	}
	if (strcmp(field, "data") != 0 || len == 0)
		return ST_OK;
	if (off == 0 && q->spool_len > 0) {
		/* A second "data" field replaces the first, as in the official
		 * parser. */
		if (ftruncate(q->spool_fd, 0) != 0 || lseek(q->spool_fd, 0, SEEK_SET) != 0)
			return ST_IO;
		q->spool_len = 0;
	}
	int fd = q->spool_fd;
	if (zstdio_sink_fd(&fd, data, len, NULL))
		return ST_IO;
	q->spool_len += len;
	return ST_OK;
}

static enum status spool_open(struct sreq *q, struct errinfo *e)
{
	q->spool_fd = open(q->srv->cfg.base, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (q->spool_fd < 0) {
		char tmp[MAX_PATH_BYTES];
		if (snprintf(tmp, sizeof tmp, "%s/.spool.XXXXXX", q->srv->cfg.base) >=
		    (int)sizeof tmp)
			return errinfo_set(e, ST_TOOBIG, "path too long");
		q->spool_fd = mkostemp(tmp, O_CLOEXEC);
		if (q->spool_fd < 0)
			return errinfo_errno(e, ST_IO, "cannot create a spool file in %s",
			                     q->srv->cfg.base);
		unlink(tmp);
	}
	return ST_OK;
}

/* Decode the spooled "data" field into the payload sink. */
static enum status legacy_decode(struct sreq *q, struct errinfo *e)
{
	zstdio_sink_fn sink = payload_sink(q);
	if (q->spool_len == 0) {
		/* "AnkiDroid omits 'data' when downloading": the payload is {}. */
		q->decoded = 2;
		return sink(payload_sink_ctx(q), "{}", 2, e);
	}
	if (lseek(q->spool_fd, 0, SEEK_SET) != 0)
		return errinfo_errno(e, ST_IO, "seek in spool");
	int gz = q->have_c && strcmp(q->f_c, "0") != 0;
	struct syncproto_gunzip *g = NULL;
	if (gz) {
		g = syncproto_gunzip_new(q->srv->cfg.uncompressed_limit, sink, payload_sink_ctx(q),
		                         e);
		if (!g)
			return e->code;
	}
	enum status st = ST_OK;
	unsigned char chunk[65536];
	for (;;) {
		ssize_t n = read(q->spool_fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = errinfo_errno(e, ST_IO, "reading spool");
			break;
		}
		if (n == 0)
			break;
		if (g) {
			st = syncproto_gunzip_feed(g, chunk, (size_t)n, e);
		} else {
			size_t take = (size_t)n;
			uint64_t cap = payload_cap(q);
			if (cap && q->decoded + take >= cap) {
				take = (size_t)(cap - q->decoded);
				q->truncated = 1;
			}
			st = sink(payload_sink_ctx(q), chunk, take, e);
			q->decoded += take;
			if (q->truncated)
				break;
		}
		if (st)
			break;
	}
	if (g) {
		if (st == ST_OK)
			st = syncproto_gunzip_finish(g, e);
		q->decoded = syncproto_gunzip_total(g);
		q->truncated |= syncproto_gunzip_truncated(g);
		syncproto_gunzip_free(g);
	}
	return st;
}

/* The payload {"v": <version>} of a legacy media begin that named its
 * version outside the JSON (multipart field, GET query), as the official
 * router injects it.  Only the emptiness of the version matters to begin:
 * bad UTF-8 is read lossily (as the official query decoder does) and NUL
 * bytes become '?', so the JSON stays parseable and as empty as the
 * original. */
static enum status begin_payload(struct sreq *q, const char *v, size_t len, struct errinfo *e)
{
	struct buf txt;
	buf_init(&txt, 4 * (size_t)FORM_V_MAX);
	enum status st = text_utf8_lossy(v, len, &txt, e);
	for (size_t i = 0; st == ST_OK && i < txt.len; i++)
		if (txt.data[i] == '\0')
			txt.data[i] = '?';
	json_t *o = NULL;
	char *dump = NULL;
	if (st == ST_OK) {
		const char *text = txt.data ? (const char *)txt.data : "";
		o = json_object();
		if (!o || json_object_set_new(o, "v", json_stringn(text, txt.len)) ||
		    !(dump = json_dumps(o, JSON_COMPACT)))
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	json_decref(o);
	buf_free(&txt);
	if (st == ST_OK) {
		buf_free(&q->json);
		buf_init(&q->json, SMALL_JSON_MAX);
		st = buf_append_str(&q->json, dump, e);
	}
	free(dump);
	return st;
}

/* ---- the sync route ---- */

static const struct smethod_def *find_method(const struct smethod_def *tab, size_t n,
                                             const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(tab[i].name, name) == 0)
			return &tab[i];
	return NULL;
}

/* Methods whose work is proportional to a collection or to media: their
 * connection yields to the others (prio.c). */
static int bulk_method(enum smethod id)
{
	return id == SM_UPLOAD || id == SM_DOWNLOAD || id == SM_MEDIA_UPLOAD ||
	       id == SM_MEDIA_DOWNLOAD;
}

static struct sreq *sreq_new(struct httpd_req *r, struct server *srv, enum rkind kind)
{
	struct sreq *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	q->srv = srv;
	q->r = r;
	q->kind = kind;
	q->spool_fd = -1;
	q->version = SYNC_VERSION_MAX;
	buf_init(&q->json, 1);
	buf_init(&q->f_v, FORM_V_MAX);
	httpd_req_set_ctx(r, q);
	return q;
}

/* q->ip per SYNC_IP_HEADER; 0 (and "-") when the configured header is
 * missing or unusable. */
static int client_ip(struct sreq *q)
{
	struct server *srv = q->srv;
	if (srv->cfg.ip_source == SYNC_IP_CONNECT_INFO) {
		httpd_req_peer(q->r, q->ip, sizeof q->ip);
		return 1;
	}
	int last = 0;
	const char *hn = syncproto_ip_header_name(srv->cfg.ip_source, &last);
	if (syncproto_ip_from_header(srv->cfg.ip_source, httpd_req_header(q->r, hn, last), q->ip,
	                             sizeof q->ip, NULL)) {
		snprintf(q->ip, sizeof q->ip, "-");
		return 0;
	}
	return 1;
}

static void fail_early(struct sreq *q, int status, const char *why)
{
	q->err = status;
	q->why = why;
	httpd_req_discard_body(q->r);
}

static void begin_common(struct httpd_req *r, struct server *srv, const char *prefix,
                         const struct smethod_def *tab, size_t ntab)
{
	struct sreq *q = sreq_new(r, srv, RK_SYNC);
	if (!q) {
		httpd_reply(r, 500, TEXT_PLAIN, "500", 3, NULL);
		return;
	}
	const char *name = httpd_req_path(r) + strlen(prefix);
	if (!*name || strchr(name, '/')) {
		httpd_reply(r, 404, NULL, "", 0, NULL);
		return;
	}
	q->m = find_method(tab, ntab, name);
	if (!q->m) {
		static const char msg[] = "Invalid URL: unknown sync method";
		httpd_reply(r, 400, TEXT_PLAIN, msg, sizeof msg - 1, NULL);
		return;
	}
	if (bulk_method(q->m->id))
		prio_background();
	/* Client address per SYNC_IP_HEADER (only for the log, but a missing
	 * header fails the request as in the official server). */
	if (!client_ip(q)) {
		fail_early(q, 500, "missing ip");
		return;
	}
	struct errinfo e;
	const char *sh = httpd_req_header(r, "anki-sync", 0);
	if (sh) {
		if (syncproto_parse_header(sh, &q->hdr, &e)) {
			fail_early(q, 400, "bad sync header");
			return;
		}
		q->version = q->hdr.version;
		authenticate(q, q->hdr.hkey);
		if (q->err) {
			fail_early(q, q->err, q->why);
			return;
		}
		if (payload_open(q, &e)) {
			fail_early(q, e.code == ST_BUSY ? 409 : 500, "cannot prepare the body");
			log_warnx("%s: %s", httpd_req_path(r), e.msg);
			return;
		}
		/* The decoder's cap is the upload limit; JSON buffers cap
		 * themselves (sink_json). */
		q->zd = zstdio_dec_new(payload_cap(q), payload_sink(q), payload_sink_ctx(q));
		if (!q->zd)
			fail_early(q, 500, "out of memory");
		return;
	}
	/* No header: a legacy multipart request (sync version < 11). */
	q->legacy = 1;
	q->version = SYNC_VERSION_V2TZ;
	q->form = httpd_form_new(r, form_field, q);
	if (!q->form) {
		fail_early(q, 400, "multipart");
		return;
	}
	if (spool_open(q, &e)) {
		fail_early(q, 500, "spool");
		log_warnx("%s", e.msg);
		return;
	}
	/* The official router limits legacy bodies to MAX_SYNC_PAYLOAD_MEGS;
	 * past it the multipart read fails (400). */
	httpd_req_set_body_cap(r, srv->cfg.payload_limit);
}

static void begin_sync(struct httpd_req *r, void *arg)
{
	begin_common(r, arg, "/sync/", smethods, smethods_count);
}

static void begin_msync(struct httpd_req *r, void *arg)
{
	begin_common(r, arg, "/msync/", mmethods, sizeof mmethods / sizeof mmethods[0]);
}

static void body_sync(struct httpd_req *r, const void *data, size_t len, void *arg)
{
	(void)arg;
	struct sreq *q = httpd_req_ctx(r);
	if (!q || q->err)
		return;
	struct errinfo e;
	if (q->zd) {
		enum status st = zstdio_dec_feed(q->zd, data, len, &e);
		if (st == ST_CORRUPT)
			fail_early(q, 400, "decoding zstd body");
		else if (st)
			fail_early(q, 500, "storing the body"), log_warnx("%s", e.msg);
	} else if (q->form) {
		if (httpd_form_feed(q->form, data, len))
			fail_early(q, 400, "invalid multipart");
	}
}

static void end_sync(struct httpd_req *r, void *arg)
{
	(void)arg;
	struct sreq *q = httpd_req_ctx(r);
	if (!q)
		return;
	struct errinfo e;
	if (!q->err && q->zd) {
		/* the decoder hands libzstd the body's tail only now, so the
		 * sink (memory or spool) can fail here too */
		enum status st = zstdio_dec_finish(q->zd, &e);
		if (st == ST_CORRUPT)
			q->err = 400, q->why = "decoding zstd body";
		else if (st)
			q->err = 500, q->why = "storing the body", log_warnx("%s", e.msg);
		q->decoded = zstdio_dec_total(q->zd);
		q->truncated |= zstdio_dec_truncated(q->zd);
	}
	if (!q->err && q->legacy) {
		enum status fst = httpd_form_finish(q->form);
		q->form = NULL;
		if (fst || httpd_req_body_overflow(r)) {
			q->err = 400, q->why = "invalid multipart";
		} else if (q->have_v &&
		           !text_utf8_valid(q->f_v.data ? (const char *)q->f_v.data : "",
		                            q->f_v.len)) {
			q->err = 400, q->why = "malformed v"; /* the official field.text() */
		} else {
			authenticate(q, q->f_k);
			if (!q->err && payload_open(q, &e) != ST_OK) {
				q->err = e.code == ST_BUSY ? 409 : 500;
				q->why = "cannot prepare the body";
			}
			if (!q->err) {
				enum status st = legacy_decode(q, &e);
				if (st == ST_CORRUPT)
					q->err = 400, q->why = "invalid gzip";
				else if (st)
					q->err = 500, q->why = "decoding legacy body",
					log_warnx("%s", e.msg);
			}
			if (!q->err && q->have_v && q->m->id == SM_MEDIA_BEGIN &&
			    begin_payload(q, q->f_v.data ? (const char *)q->f_v.data : "",
			                  q->f_v.len, &e))
				q->err = 500, q->why = "out of memory";
		}
	}
	if (reply_refusal(q))
		return;
	/* A full upload becomes the collection by rename, so its data must
	 * be on disk first.  A media upload's spool is only read and then
	 * dropped (the media files are written and made durable by the
	 * media library as its settings say): an fsync per batch would cost
	 * a disk flush per 25 files for nothing. */
	if (q->up_open && q->m->id != SM_MEDIA_UPLOAD && fsync(q->up.fd) != 0) {
		sreq_reply_error(q, 500, "fsync of the upload failed");
		return;
	}
	if (!q->m->handle) {
		static const char msg[] = "Invalid URL: sync method not implemented by this server";
		httpd_reply(r, 400, TEXT_PLAIN, msg, sizeof msg - 1, NULL);
		return;
	}
	q->m->handle(q);
	/* A spooled body the handler did not keep goes now, before the reply
	 * is sent: a client that looks at the folder once it has its answer
	 * must not find it (routes_done runs only after the reply is out). */
	if (q->up_open && !q->up_taken)
		afile_abort(&q->up);
	if (!httpd_req_replied(r))
		sreq_reply_error(q, 500, "handler made no reply");
}

/* ---- GET /msync/begin?k=<hkey>&v=<version> (legacy, §1.6, §5.2) ---- */

static void begin_msync_get(struct httpd_req *r, void *arg)
{
	struct sreq *q = sreq_new(r, arg, RK_SYNC);
	if (!q) {
		httpd_reply(r, 500, TEXT_PLAIN, "500", 3, NULL);
		return;
	}
	q->m = find_method(mmethods, sizeof mmethods / sizeof mmethods[0], "begin");
	q->legacy = 1;
	q->version = SYNC_VERSION_V2TZ; /* "SyncVersion::multipart()": a plain reply */
	/* For the log only: the official GET handler extracts no client IP,
	 * so a missing SYNC_IP_HEADER header is no error here. */
	client_ip(q);
	httpd_req_discard_body(r);
}

/* The official handler reads the query into a struct with two required
 * strings: each of k and v must occur exactly once (other names are
 * ignored); otherwise axum answers 400 with this text. */
static const char *query_problem(unsigned nk, unsigned nv)
{
	if (nk > 1)
		return "duplicate field `k`";
	if (nv > 1)
		return "duplicate field `v`";
	if (nk == 0)
		return "missing field `k`";
	if (nv == 0)
		return "missing field `v`";
	return NULL;
}

static void end_msync_get(struct httpd_req *r, void *arg)
{
	(void)arg;
	struct sreq *q = httpd_req_ctx(r);
	if (!q)
		return;
	unsigned nk = 0, nv = 0;
	size_t lk = 0, lv = 0;
	const char *k = httpd_req_query(r, "k", &nk, &lk);
	const char *v = httpd_req_query(r, "v", &nv, &lv);
	const char *bad = query_problem(nk, nv);
	if (bad) {
		char msg[96];
		int n = snprintf(msg, sizeof msg, "Failed to deserialize query string: %s", bad);
		q->why = bad;
		log_debug("%s %s: 400 %s", q->ip, httpd_req_path(r), bad);
		httpd_reply(r, 400, TEXT_PLAIN, msg, (size_t)n, NULL);
		return;
	}
	/* A key that cannot be a host key (too long, NUL inside) is left
	 * empty: it names nobody, so the answer is 403 as for any other. */
	if (k && lk <= SYNC_HKEY_MAX && !memchr(k, '\0', lk)) {
		memcpy(q->f_k, k, lk);
		q->f_k[lk] = '\0';
	}
	authenticate(q, q->f_k);
	if (reply_refusal(q))
		return;
	struct errinfo e;
	if (begin_payload(q, v ? v : "", lv, &e)) {
		sreq_reply_error(q, 500, e.msg);
		return;
	}
	q->m->handle(q);
	if (!httpd_req_replied(r))
		sreq_reply_error(q, 500, "handler made no reply");
}

/* ---- /health and /metrics ---- */

static void begin_plain(struct httpd_req *r, void *arg)
{
	struct server *srv = arg;
	const char *path = httpd_req_path(r);
	struct sreq *q = sreq_new(r, srv, strcmp(path, "/health") == 0 ? RK_HEALTH : RK_METRICS);
	if (!q) {
		httpd_reply(r, 500, TEXT_PLAIN, "500", 3, NULL);
		return;
	}
	httpd_req_peer(r, q->ip, sizeof q->ip);
	if (q->kind == RK_HEALTH) {
		httpd_reply(r, 200, NULL, "", 0, NULL);
		return;
	}
	if (!srv->cfg.metrics) {
		httpd_reply(r, 404, NULL, "", 0, NULL);
		return;
	}
	struct buf out;
	buf_init(&out, 64u << 20);
	struct errinfo e;
	if (metrics_render(srv, &out, &e) == ST_OK)
		httpd_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len,
		            NULL);
	else
		httpd_reply(r, 500, TEXT_PLAIN, "500", 3, NULL);
	buf_free(&out);
}

static void end_plain(struct httpd_req *r, void *arg)
{
	(void)r;
	(void)arg;
}

size_t routes_build(struct server *srv, struct httpd_route *out, size_t cap)
{
	const struct httpd_route routes[] = {
	    {"POST", "/sync/", begin_sync, body_sync, end_sync, srv},
	    {"POST", "/msync/", begin_msync, body_sync, end_sync, srv},
	    {"GET", "/msync/begin", begin_msync_get, NULL, end_msync_get, srv},
	    {"GET", "/health", begin_plain, NULL, end_plain, srv},
	    {"GET", "/metrics", begin_plain, NULL, end_plain, srv},
	};
	size_t n = sizeof routes / sizeof routes[0];
	if (n > cap)
		return 0;
	memcpy(out, routes, sizeof routes);
	return n;
}

/* ---- end of a request: metrics, access log, cleanup ---- */

void routes_done(struct httpd_req *r, void *ctx, const struct httpd_done_info *info, void *arg)
{
	struct server *srv = arg;
	struct sreq *q = ctx;
	double ms = (double)info->usec / 1000.0;
	if (!q) {
		log_info("access - - %s %s %d in=%llu out=%llu ms=%.1f", httpd_req_method(r),
		         httpd_req_path(r), info->status, (unsigned long long)info->bytes_in,
		         (unsigned long long)info->bytes_out, ms);
		return;
	}
	int status = info->completed ? info->status : (info->status ? info->status : 0);
	if (q->kind == RK_SYNC && q->m) {
		struct umetrics *m = q->user ? &q->user->m : &srv->anon;
		metrics_record(m, q->m->id, info->completed ? status : 599, info->bytes_in,
		               info->bytes_out, info->usec);
		if (q->m->id == SM_HOSTKEY && status == 403)
			atomic_fetch_add(&srv->login_failures, 1);
	}
	/* Health checks are polled every few seconds: no log line. */
	if (q->kind != RK_HEALTH) {
		char client[80] = "";
		if (q->kind == RK_SYNC && !q->legacy && q->hdr.client[0])
			snprintf(client, sizeof client, " c=%.64s", q->hdr.client);
		log_info("access %s %s %s %s %d in=%llu out=%llu ms=%.1f v=%d%s%s",
		         q->ip[0] ? q->ip : "-", q->login[0] ? q->login : "-", httpd_req_method(r),
		         httpd_req_path(r), status, (unsigned long long)info->bytes_in,
		         (unsigned long long)info->bytes_out, ms, q->version, client,
		         info->completed ? "" : " incomplete");
	}
	/* the connection's thread is free while the client reads the reply */
	if (q->pf_armed && info->completed && status == 200 && q->user)
		media_prefetch(srv, q->user, q->pf_after, q->version);
	zstdio_dec_free(q->zd);
	if (q->form)
		httpd_form_finish(q->form);
	if (q->spool_fd >= 0)
		close(q->spool_fd);
	if (q->up_open && !q->up_taken)
		afile_abort(&q->up);
	else if (q->up_open && q->up.fd >= 0)
		close(q->up.fd);
	buf_free(&q->json);
	buf_free(&q->f_v);
	mem_spool_put(q);
	free(q);
}
