/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_handlers.c - the media sync methods under /msync/ (sync-protocol.md
 * §5): begin, mediaChanges, uploadChanges, downloadFiles, mediaSanity.
 * The protocol work is the library's (media_srv.h); each request runs
 * under the user's lock and the admin flock (so anki-sync-admin never acts
 * at the same time) on the user's media handle.  The handle is kept in
 * the user's state between requests (opening media.db - schema, WAL
 * index, statements - cost more than most methods' work); the flock is
 * not, so the next request first asks media_srv_current whether another
 * process touched the media meanwhile and reopens if so.  A request that
 * fails with a 500-class status closes the handle, so the next one
 * reopens and replays whatever the failure left in the journal.
 * Bodies are the official ones, result wrapper included; errors answer
 * status_http() of the library's status (400 bad input, 409 a file gone
 * from disk, 500 server trouble).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "log.h"
#include "media_srv.h"
#include "server.h"

/* downloadFiles replies are zips of Stored media files, mostly formats
 * that are compressed already (JPEG, MP3, Ogg, WebP): zstd level 1 still
 * shrinks what does compress (text, SVG) and runs about three times as
 * fast as level 3 on what does not.  The client decodes any level. */
#define MEDIA_DL_ZSTD_LEVEL 1

/* Lock the user, take the flock, get the media handle (the kept one when
 * it is still current, else a new one).  On failure the error is answered
 * and NULL returned (the user is unlocked). */
static struct media_srv *media_open(struct sreq *q)
{
	struct ustate *u = sreq_user(q);
	if (!sreq_lock_user(q))
		return NULL;
	struct errinfo e;
	struct media_srv *m = NULL;
	enum status st = ustate_flock(u, &e);
	if (!st && u->media) {
		if (media_srv_current(u->media))
			return u->media;
		log_debug("user %s: media changed by another process; reopening", u->name);
		ustate_media_close(u);
	}
	if (!st) {
		/* Not durable by default: the folder/DB agreement holds for any
		 * crash of the process; power-loss safety costs three flushes per
		 * batch (docs/media-sync.md). */
		struct media_opts o = {.durable = 0, .sweep = !u->media_swept};
		st = media_srv_open(u->dir, &o, &m, &e);
		if (!st) {
			u->media_swept = 1;
			u->media = m;
		}
	}
	if (st) {
		ustate_funlock(u);
		ustate_unlock(u);
		log_warnx("user %s: media: %s", u->name, e.msg);
		sreq_reply_error(q, status_http(st), e.msg);
		return NULL;
	}
	return m;
}

static void media_done(struct sreq *q, struct media_srv *m, enum status st, struct buf *out,
                       const struct errinfo *e, const char *method)
{
	struct ustate *u = sreq_user(q);
	/* Keep the handle unless the request failed on the server's side
	 * (400/409 leave nothing behind). */
	if (st != ST_OK && st != ST_INVALID && st != ST_CONFLICT && st != ST_BUSY)
		ustate_media_close(u);
	else if (m != u->media)
		media_srv_close(m);
	ustate_funlock(u);
	ustate_unlock(u);
	if (st) {
		log_warnx("user %s: %s: %s", u->name, method, e->msg);
		sreq_reply_error(q, status_http(st), e->msg);
	} else if (out) {
		sreq_reply_ok(q, out->data ? out->data : (const unsigned char *)"", out->len);
	}
	if (out)
		buf_free(out);
}

void handle_media_begin(struct sreq *q)
{
	const struct buf *body = sreq_json(q);
	struct media_srv *m = media_open(q);
	if (!m)
		return;
	struct errinfo e;
	struct buf out;
	buf_init(&out, 0);
	enum status st = media_srv_begin_json(m, body->data ? (const char *)body->data : "",
	                                      body->len, sreq_hkey(q), &out, &e);
	media_done(q, m, st, &out, &e, "msync/begin");
}

/* A method whose JSON request gets a JSON reply from the media handle. */
typedef enum status (*media_json_fn)(struct media_srv *m, const char *json, size_t len,
                                     struct buf *out, struct errinfo *e);

static void media_json_method(struct sreq *q, media_json_fn fn, const char *method)
{
	const struct buf *body = sreq_json(q);
	struct media_srv *m = media_open(q);
	if (!m)
		return;
	struct errinfo e;
	struct buf out;
	buf_init(&out, 0);
	enum status st = fn(m, body->data ? (const char *)body->data : "", body->len, &out, &e);
	media_done(q, m, st, &out, &e, method);
}

void handle_media_changes(struct sreq *q)
{
	media_json_method(q, media_srv_changes_json, "msync/mediaChanges");
}

void handle_media_sanity(struct sreq *q)
{
	media_json_method(q, media_srv_sanity_json, "msync/mediaSanity");
}

void handle_media_upload(struct sreq *q)
{
	uint64_t size = 0;
	int truncated = 0;
	const char *path = sreq_file(q, &size, &truncated);
	const struct buf *mem = sreq_mem_body(q);
	if ((!path && !mem) || truncated) {
		sreq_reply_error(q, 400, truncated ? "zip too large" : "missing zip");
		return;
	}
	struct media_srv *m = media_open(q);
	if (!m)
		return;
	struct errinfo e;
	struct buf out;
	buf_init(&out, 0);
	struct media_upload_result res;
	enum status st = mem ? media_srv_upload_mem(m, mem->data, mem->len, &res, &out, &e)
	                     : media_srv_upload(m, path, &res, &out, &e);
	media_done(q, m, st, &out, &e, "msync/uploadChanges");
}

void handle_media_download(struct sreq *q)
{
	const struct buf *body = sreq_json(q);
	struct media_srv *m = media_open(q);
	if (!m)
		return;
	/* Reserve room for a zip built in memory; when the server's budget
	 * is spent, this reply is built in a file instead. */
	struct server *srv = sreq_server(q);
	uint64_t want = MEDIA_DL_MEM_MAX + MEDIA_DL_MEM_SLACK;
	int reserved = atomic_fetch_add(&srv->dl_mem, want) + want <= MEDIA_DL_MEM_TOTAL;
	if (!reserved)
		atomic_fetch_sub(&srv->dl_mem, want);
	media_srv_set_dl_mem_max(m, reserved ? MEDIA_DL_MEM_MAX : 0);
	struct errinfo e;
	struct media_download dl = {.fd = -1};
	enum status st = media_srv_download_json(m, body->data ? (const char *)body->data : "",
	                                         body->len, &dl, &e);
	/* keep what the memfd really holds until the reply is sent */
	uint64_t keep = st == ST_OK && dl.in_memory ? dl.size : 0;
	if (keep)
		atomic_fetch_add(&srv->dl_mem, keep);
	if (reserved)
		atomic_fetch_sub(&srv->dl_mem, want);
	media_done(q, m, st, NULL, &e, "msync/downloadFiles");
	if (!st)
		sreq_reply_fd_level(q, dl.fd, dl.size, MEDIA_DL_ZSTD_LEVEL, keep);
}
