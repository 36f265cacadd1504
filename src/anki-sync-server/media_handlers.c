/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_handlers.c - the media sync methods under /msync/ (sync-protocol.md
 * §5): begin, mediaChanges, uploadChanges, downloadFiles, mediaSanity.
 * The protocol work is the library's (media_srv.h); each request opens the
 * user's media handle under the user's lock and the admin flock (so
 * anki-sync-admin never acts at the same time), runs one method, closes it.
 * Bodies are the official ones, result wrapper included; errors answer
 * status_http() of the library's status (400 bad input, 409 a file gone
 * from disk, 500 server trouble).
 */
#include <stdlib.h>

#include "log.h"
#include "media_srv.h"
#include "server.h"

/* Lock the user, take the flock, open the media handle.  On failure the
 * error is answered and NULL returned (the user is unlocked). */
static struct media_srv *media_open(struct sreq *q)
{
	struct ustate *u = sreq_user(q);
	if (!sreq_lock_user(q))
		return NULL;
	struct errinfo e;
	struct media_srv *m = NULL;
	enum status st = ustate_flock(u, &e);
	if (!st) {
		/* Not durable by default: the folder/DB agreement holds for any
		 * crash of the process; power-loss safety costs three flushes per
		 * batch (docs/media-sync.md). */
		struct media_opts o = {.durable = 0, .sweep = !u->media_swept};
		st = media_srv_open(u->dir, &o, &m, &e);
		if (!st)
			u->media_swept = 1;
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

void handle_media_changes(struct sreq *q)
{
	const struct buf *body = sreq_json(q);
	struct media_srv *m = media_open(q);
	if (!m)
		return;
	struct errinfo e;
	struct buf out;
	buf_init(&out, 0);
	enum status st = media_srv_changes_json(m, body->data ? (const char *)body->data : "",
	                                        body->len, &out, &e);
	media_done(q, m, st, &out, &e, "msync/mediaChanges");
}

void handle_media_sanity(struct sreq *q)
{
	const struct buf *body = sreq_json(q);
	struct media_srv *m = media_open(q);
	if (!m)
		return;
	struct errinfo e;
	struct buf out;
	buf_init(&out, 0);
	enum status st = media_srv_sanity_json(m, body->data ? (const char *)body->data : "",
	                                       body->len, &out, &e);
	media_done(q, m, st, &out, &e, "msync/mediaSanity");
}

void handle_media_upload(struct sreq *q)
{
	uint64_t size = 0;
	int truncated = 0;
	const char *path = sreq_file(q, &size, &truncated);
	if (!path || truncated) {
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
	enum status st = media_srv_upload(m, path, &res, &out, &e);
	media_done(q, m, st, &out, &e, "msync/uploadChanges");
}

void handle_media_download(struct sreq *q)
{
	const struct buf *body = sreq_json(q);
	struct media_srv *m = media_open(q);
	if (!m)
		return;
	struct errinfo e;
	struct media_download dl = {.fd = -1};
	enum status st = media_srv_download_json(m, body->data ? (const char *)body->data : "",
	                                         body->len, &dl, &e);
	media_done(q, m, st, NULL, &e, "msync/downloadFiles");
	if (!st)
		sreq_reply_fd(q, dl.fd, dl.size);
}
