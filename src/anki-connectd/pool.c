/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pool.c - the collection file and its connections: one writer, up to
 * max_readers readers (all COL_SHARED: normal SQLite locking in WAL mode,
 * so our readers run beside our writer), and the guards that keep every
 * OTHER process out while we run:
 *   - an exclusive flock on "<collection>.lock" (a second anki-connectd,
 *     an ankihost tool that honours it);
 *   - opening checks SQLite's lock: Anki desktop holds its collection
 *     with locking_mode=exclusive, so the open fails at once (ST_BUSY)
 *     instead of waiting.
 * New reader connections are opened under the writer mutex: opening runs
 * a short write transaction, which must not meet our own writer's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "ac.h"
#include "ac_media.h"
#include "log.h"
#include "path.h"
#include "search_stmt.h"

/* How long our own connections wait for each other's locks: WAL makes
 * this rare (checkpoints, the first read after a restart). */
#define AC_BUSY_MS 5000

/* Readers read the collection file through a memory map of up to this
 * size (SQLite's mmap_size): a page is then a pointer into the kernel's
 * page cache, shared by all readers, instead of a pread() copied into
 * each connection's own cache.  Measured on the issue-10 benchmark, this
 * cut the daemon's CPU for Yomitan's hot path by about a fifth.  SQLite
 * remaps when the file grows or shrinks; other processes are kept off
 * the file (the lock below), so it is never truncated under a reader. */
#define AC_READER_MMAP "pragma mmap_size = 268435456"

static enum status open_conn(struct ac_server *srv, int reader, struct col **out, struct errinfo *e)
{
	enum status st = col_open(srv->col_path, COL_SHARED | (reader ? 0 : COL_CREATE), out, e);
	if (st == ST_BUSY)
		return errinfo_set(e, ST_BUSY,
		                   "%s is in use by another program (is Anki desktop or another "
		                   "anki-connectd running on it?)",
		                   srv->col_path);
	if (st)
		return st;
	sqlite3_busy_timeout(col_db(*out), AC_BUSY_MS);
	if (reader) {
		sqlite3_exec(col_db(*out), "pragma query_only = 1", NULL, NULL, NULL);
		sqlite3_exec(col_db(*out), AC_READER_MMAP, NULL, NULL, NULL);
	}
	return ST_OK;
}

/* Searches leave their prepared statements on the connection (glue.c);
 * SQLite refuses to close a connection that still has statements. */
static void close_conn(struct col *c)
{
	if (search_stmt_release(col_db(c)))
		log_warnx("a search statement was still running at close");
	col_close(c);
}

enum status ac_server_open(struct ac_server *srv, const char *col_path, struct errinfo *e)
{
	srv->lock_fd = -1;
	if (snprintf(srv->col_path, sizeof srv->col_path, "%s", col_path) >=
	    (int)sizeof srv->col_path)
		return errinfo_set(e, ST_TOOBIG, "collection path too long");
	char dir[MAX_PATH_BYTES];
	enum status st = path_dirname(dir, sizeof dir, col_path, e);
	if (!st)
		st = path_mkdirs(dir, 0700, e);
	if (st)
		return st;
	char lock[MAX_PATH_BYTES + 8];
	snprintf(lock, sizeof lock, "%s.lock", col_path);
	srv->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (srv->lock_fd < 0)
		return errinfo_errno(e, ST_IO, "cannot create the lock file %s", lock);
	if (flock(srv->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		st =
		    errno == EWOULDBLOCK
		        ? errinfo_set(e, ST_BUSY, "%s is in use by another anki-connectd (lock %s)",
		                      col_path, lock)
		        : errinfo_errno(e, ST_IO, "cannot lock %s", lock);
		close(srv->lock_fd);
		srv->lock_fd = -1;
		return st;
	}
	st = ac_media_dir_for(col_path, srv->media_dir, sizeof srv->media_dir, e);
	if (!st)
		st = path_mkdirs(srv->media_dir, 0755, e);
	pthread_mutex_init(&srv->pool.wlock, NULL);
	pthread_mutex_init(&srv->pool.rlock, NULL);
	pthread_cond_init(&srv->pool.rcond, NULL);
	srv->pool.max = srv->set.max_readers ? srv->set.max_readers : 4;
	if (srv->pool.max > AC_MAX_READERS)
		srv->pool.max = AC_MAX_READERS;
	if (!st)
		st = open_conn(srv, 0, &srv->pool.writer, e);
	if (!st) {
		/* one reader up front: a broken file shows at start, not later */
		struct col *r;
		st = open_conn(srv, 1, &r, e);
		if (!st) {
			srv->pool.idle[srv->pool.nidle++] = r;
			srv->pool.nopen = 1;
		}
	}
	if (st)
		ac_server_close(srv);
	return st;
}

void ac_server_close(struct ac_server *srv)
{
	pthread_mutex_lock(&srv->pool.rlock);
	for (size_t i = 0; i < srv->pool.nidle; i++)
		close_conn(srv->pool.idle[i]);
	if (srv->pool.nidle != srv->pool.nopen)
		log_warnx("%zu reader connections still in use at close",
		          srv->pool.nopen - srv->pool.nidle);
	srv->pool.nidle = srv->pool.nopen = 0;
	pthread_mutex_unlock(&srv->pool.rlock);
	pthread_mutex_lock(&srv->pool.wlock);
	if (srv->pool.writer) {
		/* fold the WAL back so the file alone is the whole collection */
		sqlite3_wal_checkpoint_v2(col_db(srv->pool.writer), NULL,
		                          SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		close_conn(srv->pool.writer);
		srv->pool.writer = NULL;
	}
	pthread_mutex_unlock(&srv->pool.wlock);
	if (srv->lock_fd >= 0) {
		close(srv->lock_fd);
		srv->lock_fd = -1;
	}
}

enum status ac_pool_reader(struct ac_server *srv, struct col **c, struct errinfo *e)
{
	struct ac_pool *p = &srv->pool;
	pthread_mutex_lock(&p->rlock);
	for (;;) {
		if (p->nidle > 0) {
			*c = p->idle[--p->nidle];
			pthread_mutex_unlock(&p->rlock);
			return ST_OK;
		}
		if (p->nopen < p->max) {
			p->nopen++;
			pthread_mutex_unlock(&p->rlock);
			pthread_mutex_lock(&p->wlock);
			enum status st = open_conn(srv, 1, c, e);
			pthread_mutex_unlock(&p->wlock);
			if (st) {
				pthread_mutex_lock(&p->rlock);
				p->nopen--;
				pthread_cond_signal(&p->rcond);
				pthread_mutex_unlock(&p->rlock);
			}
			return st;
		}
		pthread_cond_wait(&p->rcond, &p->rlock);
	}
}

void ac_pool_reader_put(struct ac_server *srv, struct col *c)
{
	struct ac_pool *p = &srv->pool;
	pthread_mutex_lock(&p->rlock);
	p->idle[p->nidle++] = c;
	pthread_cond_signal(&p->rcond);
	pthread_mutex_unlock(&p->rlock);
}

struct col *ac_pool_writer(struct ac_server *srv)
{
	pthread_mutex_lock(&srv->pool.wlock);
	return srv->pool.writer;
}

void ac_pool_writer_put(struct ac_server *srv)
{
	pthread_mutex_unlock(&srv->pool.wlock);
}
