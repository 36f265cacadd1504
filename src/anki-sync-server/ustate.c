/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ustate.c - per-user runtime state: the lock that serialises one user's
 * requests, the open collection with its admin flock, the normal-sync
 * session and its expiry (sync-protocol.md §1.9, §3.11, §8.2 item 16).
 *
 * Invariants:
 *   - u->col != NULL implies u->flocked;
 *   - u->session != NULL only while u->col is open (the session's
 *     transaction lives in that connection);
 *   - u->col, u->session, u->media and the flock are touched only with
 *     u->lock held (u->media is used only with the flock held too, but
 *     stays open without it between requests: see server.h);
 *   - states are created on first use and freed only at shutdown, so a
 *     request may keep its pointer without reference counting.
 */
#include "server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"
#include "log.h"
#include "media_srv.h"
#include "path.h"
#include "syncproto_col.h"

struct ustate *ustate_get(struct server *srv, const char *name)
{
	pthread_mutex_lock(&srv->ustates_lock);
	struct ustate *u = srv->ustates;
	while (u && strcmp(u->name, name) != 0)
		u = u->next;
	if (!u) {
		u = calloc(1, sizeof *u);
		if (u) {
			snprintf(u->name, sizeof u->name, "%s", name);
			int ok = path_join(u->dir, sizeof u->dir, srv->cfg.base, name, strlen(name),
			                   NULL) == ST_OK &&
			         snprintf(u->colpath, sizeof u->colpath, "%s/%s", u->dir,
			                  SYNCPROTO_COL_FILE) < (int)sizeof u->colpath;
			if (!ok || pthread_mutex_init(&u->lock, NULL) != 0) {
				free(u);
				u = NULL;
			} else {
				u->lockfd = -1;
				u->next = srv->ustates;
				srv->ustates = u;
			}
		}
	}
	pthread_mutex_unlock(&srv->ustates_lock);
	return u;
}

/* Remove what an interrupted upload or check left beside the collection:
 * "collection.anki2.tmp.XXXXXX" and its -wal/-shm/-journal files. */
static void clean_leftovers(struct ustate *u)
{
	DIR *d = opendir(u->dir);
	if (!d)
		return;
	static const char prefix[] = SYNCPROTO_COL_FILE ".tmp.";
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, sizeof prefix - 1) != 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_info("user %s: removed leftover %s", u->name, de->d_name);
	}
	closedir(d);
}

static enum status ensure_dir(struct ustate *u, struct errinfo *e)
{
	if (u->dir_ready)
		return ST_OK;
	enum status st = path_mkdirs(u->dir, 0700, e);
	if (st)
		return st;
	char media[MAX_PATH_BYTES];
	if (snprintf(media, sizeof media, "%s/media", u->dir) >= (int)sizeof media)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	if ((st = path_mkdirs(media, 0700, e)))
		return st;
	char lp[MAX_PATH_BYTES];
	if (snprintf(lp, sizeof lp, "%s/%s", u->dir, LOCK_FILE_NAME) >= (int)sizeof lp)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	u->lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (u->lockfd < 0)
		return errinfo_errno(e, ST_IO, "cannot open %s", lp);
	if (ustate_flock(u, e) == ST_OK) {
		clean_leftovers(u);
		ustate_funlock(u);
	}
	u->dir_ready = 1;
	return ST_OK;
}

enum status ustate_lock(struct server *srv, struct ustate *u, struct errinfo *e)
{
	(void)srv;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += USTATE_LOCK_WAIT_MS / 1000;
	until.tv_nsec += (long)(USTATE_LOCK_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	int rc = pthread_mutex_timedlock(&u->lock, &until);
	if (rc == ETIMEDOUT)
		return errinfo_set(e, ST_BUSY, "user %s is busy with another request", u->name);
	if (rc != 0)
		return errinfo_set(e, ST_INTERNAL, "locking user %s: %s", u->name, strerror(rc));
	enum status st = ensure_dir(u, e);
	if (st) {
		pthread_mutex_unlock(&u->lock);
		return st;
	}
	u->last_used_ms = ustate_mono_ms();
	return ST_OK;
}

void ustate_unlock(struct ustate *u)
{
	u->last_used_ms = ustate_mono_ms();
	/* A session is idle from the end of its last request, not its start:
	 * a step that ran longer than the timeout must not expire at once. */
	if (u->session)
		u->session->last_used_ms = u->last_used_ms;
	pthread_mutex_unlock(&u->lock);
}

enum status ustate_flock(struct ustate *u, struct errinfo *e)
{
	if (u->flocked)
		return ST_OK;
	if (u->lockfd < 0)
		return errinfo_set(e, ST_INTERNAL, "no lock file for %s", u->name);
	for (int waited = 0;; waited += 50) {
		if (flock(u->lockfd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return errinfo_errno(e, ST_IO, "flock for user %s", u->name);
		if (waited >= USTATE_FLOCK_WAIT_MS)
			return errinfo_set(e, ST_BUSY, "user %s is locked by anki-sync-admin",
			                   u->name);
		usleep(50000);
	}
	u->flocked = 1;
	return ST_OK;
}

void ustate_funlock(struct ustate *u)
{
	if (!u->flocked || u->col)
		return;
	flock(u->lockfd, LOCK_UN);
	u->flocked = 0;
}

enum status ustate_col_open(struct server *srv, struct ustate *u, int create, struct errinfo *e)
{
	(void)srv;
	if (u->col)
		return ST_OK;
	enum status st = ustate_flock(u, e);
	if (st)
		return st;
	if (access(u->colpath, F_OK) != 0) {
		if (errno != ENOENT) {
			st = errinfo_errno(e, ST_IO, "cannot access %s", u->colpath);
		} else if (!create) {
			st = errinfo_set(e, ST_NOTFOUND, "user %s has no collection", u->name);
		} else {
			st = sync_col_create(u->colpath, e);
			if (st == ST_OK)
				log_info("user %s: created a new empty collection", u->name);
		}
	}
	if (st == ST_OK)
		st = syncproto_col_open(u->colpath, &u->col, e);
	if (st)
		ustate_funlock(u);
	return st;
}

void ustate_col_close(struct ustate *u)
{
	if (u->col) {
		/* sqlite3_close_v2 rolls back an open transaction. */
		if (sqlite3_close(u->col) != SQLITE_OK) {
			log_warnx("user %s: closing the collection left statements open", u->name);
			sqlite3_close_v2(u->col);
		}
		u->col = NULL;
	}
	ustate_funlock(u);
}

void ustate_media_close(struct ustate *u)
{
	media_prefetch_free(u->prefetch);
	u->prefetch = NULL;
	if (u->media) {
		media_srv_close(u->media);
		u->media = NULL;
	}
}

/* Close the kept media handle under the admin flock, as every write to
 * the media is made (closing may fold the WAL into the DB), without
 * waiting for it: 1 if closed, 0 if anki-sync-admin holds the flock right
 * now (the next reaper tick tries again). */
static int media_close_nowait(struct ustate *u)
{
	int took = 0;
	if (!u->flocked) {
		if (u->lockfd < 0 || flock(u->lockfd, LOCK_EX | LOCK_NB) != 0)
			return 0;
		took = 1;
	}
	ustate_media_close(u);
	if (took)
		flock(u->lockfd, LOCK_UN);
	return 1;
}

void ustate_media_forget_absent(struct server *srv)
{
	pthread_mutex_lock(&srv->ustates_lock);
	struct ustate *list = srv->ustates;
	pthread_mutex_unlock(&srv->ustates_lock);
	for (struct ustate *u = list; u; u = u->next) {
		if (pthread_mutex_trylock(&u->lock) != 0)
			continue; /* busy: the reaper closes it once idle */
		if (u->media) {
			pthread_rwlock_rdlock(&srv->users_lock);
			int known = users_find_name(&srv->users, u->name) != NULL;
			pthread_rwlock_unlock(&srv->users_lock);
			if (!known)
				media_close_nowait(u);
		}
		pthread_mutex_unlock(&u->lock);
	}
}

void ustate_session_abort(struct server *srv, struct ustate *u, const char *why)
{
	struct sync_session *s = u->session;
	if (!s)
		return;
	log_info("user %s: aborting the open sync session (%s)", u->name, why);
	if (s->abort)
		s->abort(u, s);
	u->session = NULL;
	free(s);
	atomic_fetch_sub(&srv->active_sessions, 1);
	/* Closing rolls back whatever the session left uncommitted. */
	ustate_col_close(u);
}

int64_t ustate_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ustate_reap(struct server *srv)
{
	int64_t now = ustate_mono_ms();
	pthread_mutex_lock(&srv->ustates_lock);
	struct ustate *list = srv->ustates;
	pthread_mutex_unlock(&srv->ustates_lock);
	/* The list only grows at its head, so walking from a snapshot of the
	 * head is safe without holding ustates_lock. */
	int closed = 0;
	for (struct ustate *u = list; u; u = u->next) {
		if (pthread_mutex_trylock(&u->lock) != 0)
			continue; /* in use: not idle */
		if (u->session &&
		    now - u->session->last_used_ms >= (int64_t)srv->cfg.session_timeout * 1000) {
			ustate_session_abort(srv, u, "expired"); /* closes the collection */
			closed++;
		}
		if (!u->session && u->col && now - u->last_used_ms >= USTATE_COL_IDLE_MS) {
			ustate_col_close(u);
			closed++;
		}
		if (u->media && now - u->last_used_ms >= USTATE_COL_IDLE_MS &&
		    media_close_nowait(u))
			closed++;
		pthread_mutex_unlock(&u->lock);
	}
	/* What the closed connections used (page caches, schemas, statements)
	 * is free but scattered over the heaps; give the pages back so an idle
	 * server is small again. */
	if (closed) {
		routes_spool_trim(srv);
		malloc_trim(0);
	}
}

void ustate_free_all(struct server *srv)
{
	pthread_mutex_lock(&srv->ustates_lock);
	struct ustate *u = srv->ustates;
	srv->ustates = NULL;
	pthread_mutex_unlock(&srv->ustates_lock);
	while (u) {
		struct ustate *next = u->next;
		pthread_mutex_lock(&u->lock);
		ustate_session_abort(srv, u, "server stopping");
		ustate_col_close(u);
		ustate_media_close(u);
		if (u->lockfd >= 0)
			close(u->lockfd);
		pthread_mutex_unlock(&u->lock);
		pthread_mutex_destroy(&u->lock);
		free(u);
		u = next;
	}
}
