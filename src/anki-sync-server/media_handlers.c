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
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "media_srv.h"
#include "server.h"
#include "zstdio.h"

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

/* ---- downloadFiles, and the next reply built ahead ----
 *
 * A client fetching all media (a new device) asks for the live rows in
 * usn order, 25 names at a time, and spends as long unpacking, hashing
 * and writing each reply as the server spends building it.  When a reply
 * held "every live row from usn a to b" (media_download.consecutive), the
 * connection's thread builds, right after sending it, the reply for the
 * live rows after b (media_srv_download_after), framed for the same
 * version, and keeps it in the user's state.  The next downloadFiles uses
 * it when it asks for exactly those files and nothing changed meanwhile
 * (same handle, same media usn); any other download drops it.  At most
 * one per user, charged to the server's download memory like a reply. */

void media_prefetch_free(struct dl_prefetch *pf)
{
	if (!pf)
		return;
	free(pf->body);
	free(pf->dl.data);
	if (pf->dl.fd >= 0)
		close(pf->dl.fd);
	if (pf->charged)
		atomic_fetch_sub(&pf->srv->dl_mem, pf->charged);
	free(pf);
}

static void prefetch_reply_free(void *ctx)
{
	media_prefetch_free(ctx);
}

/* Whether pf answers this request (under the user's lock, with m current). */
static int prefetch_fits(const struct dl_prefetch *pf, struct media_srv *m, int version,
                         const char *const *names, size_t n)
{
	int32_t usn = -1;
	return pf->m == m && pf->version == version &&
	       media_dl_sel_matches(&pf->sel, &pf->dl, names, n) &&
	       media_srv_usn(m, &usn, NULL) == ST_OK && usn == pf->media_usn;
}

void media_prefetch(struct server *srv, struct ustate *u, int32_t after, int version)
{
	/* never delay a request already waiting for the user */
	if (pthread_mutex_trylock(&u->lock) != 0)
		return;
	struct errinfo e;
	struct dl_prefetch *pf = NULL;
	uint64_t want = 2 * (MEDIA_DL_MEM_MAX + MEDIA_DL_MEM_SLACK);
	int reserved = 0;
	if (u->prefetch || !u->media || ustate_flock(u, &e) != ST_OK)
		goto unlock;
	if (!media_srv_current(u->media))
		goto funlock;
	reserved = atomic_fetch_add(&srv->dl_mem, want) + want <= MEDIA_DL_MEM_TOTAL;
	if (!reserved) {
		atomic_fetch_sub(&srv->dl_mem, want);
		goto funlock;
	}
	if (!(pf = calloc(1, sizeof *pf)))
		goto funlock;
	pf->srv = srv;
	pf->m = u->media;
	pf->version = version;
	pf->dl.fd = -1;
	media_srv_set_dl_mem_max(u->media, MEDIA_DL_MEM_MAX);
	enum status st = media_srv_download_after(u->media, after, &pf->dl, &pf->sel, &e);
	if (st == ST_OK)
		st = media_srv_usn(u->media, &pf->media_usn, &e);
	if (st == ST_OK && version >= SYNC_VERSION_MAX) {
		struct buf z;
		buf_init(&z, 0);
		if ((st = zstdio_compress(pf->dl.data, pf->dl.size, MEDIA_DL_ZSTD_LEVEL, &z, &e)))
			buf_free(&z);
		else
			pf->body = buf_steal(&z, &pf->body_len);
	} else if (st == ST_OK) {
		pf->body = pf->dl.data;
		pf->body_len = pf->dl.size;
		pf->dl.data = NULL;
	}
	free(pf->dl.data);
	pf->dl.data = NULL;
	if (st == ST_OK) {
		pf->charged = pf->body_len;
		atomic_fetch_add(&srv->dl_mem, pf->charged);
		atomic_fetch_add(&srv->prefetch_built, 1);
		u->prefetch = pf;
		pf = NULL;
	} else if (st != ST_NOTFOUND && st != ST_TOOBIG && st != ST_CONFLICT) {
		/* as media_done: a server-side failure closes the handle */
		log_warnx("user %s: building the next media reply: %s", u->name, e.msg);
		ustate_media_close(u);
	}
	media_prefetch_free(pf);
funlock:
	if (reserved)
		atomic_fetch_sub(&srv->dl_mem, want);
	ustate_funlock(u);
unlock:
	ustate_unlock(u);
}

void handle_media_download(struct sreq *q)
{
	const struct buf *body = sreq_json(q);
	struct media_srv *m = media_open(q);
	if (!m)
		return;
	struct ustate *u = sreq_user(q);
	struct errinfo e;
	const char *names[MEDIA_ZIP_FILES_MAX] = {0};
	size_t n = 0;
	void *hold = NULL;
	enum status st = media_dl_names_json(body->data ? (const char *)body->data : "", body->len,
	                                     names, &n, &hold, &e);
	struct dl_prefetch *pf = u->prefetch;
	u->prefetch = NULL;
	if (st == ST_OK && pf && prefetch_fits(pf, m, sreq_version(q), names, n)) {
		media_dl_names_free(hold);
		atomic_fetch_add(&sreq_server(q)->prefetch_used, 1);
		media_done(q, m, ST_OK, NULL, &e, "msync/downloadFiles");
		sreq_arm_prefetch(q, pf->dl.last_usn);
		sreq_reply_body(q, pf->body, pf->body_len, pf->dl.size, prefetch_reply_free, pf);
		return;
	}
	media_prefetch_free(pf);
	/* Reserve room for a zip built in memory (its files, then the
	 * archive: about twice the selection at the peak); when the server's
	 * budget is spent, this reply is built in a file instead. */
	struct server *srv = sreq_server(q);
	uint64_t want = 2 * (MEDIA_DL_MEM_MAX + MEDIA_DL_MEM_SLACK);
	int reserved = atomic_fetch_add(&srv->dl_mem, want) + want <= MEDIA_DL_MEM_TOTAL;
	if (!reserved)
		atomic_fetch_sub(&srv->dl_mem, want);
	media_srv_set_dl_mem_max(m, reserved ? MEDIA_DL_MEM_MAX : 0);
	struct media_download dl = {.fd = -1};
	if (st == ST_OK)
		st = media_srv_download(m, names, n, &dl, &e);
	media_dl_names_free(hold);
	/* keep what the reply holds (the zip, then its frame) until it is sent */
	uint64_t keep = st == ST_OK && dl.in_memory ? dl.size : 0;
	if (keep)
		atomic_fetch_add(&srv->dl_mem, keep);
	if (reserved)
		atomic_fetch_sub(&srv->dl_mem, want);
	media_done(q, m, st, NULL, &e, "msync/downloadFiles");
	if (st)
		return;
	if (dl.in_memory && dl.consecutive)
		sreq_arm_prefetch(q, dl.last_usn);
	if (dl.in_memory)
		sreq_reply_mem_level(q, dl.data, dl.size, MEDIA_DL_ZSTD_LEVEL, keep);
	else
		sreq_reply_fd_level(q, dl.fd, dl.size, MEDIA_DL_ZSTD_LEVEL, 0);
}
