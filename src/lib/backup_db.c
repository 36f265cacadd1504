/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_db.c - SQLite databases into a snapshot (contract and fast-path
 * reasoning in backup_db.h; layout: sync-protocol.md §6.2).
 *
 * Invariants: the stat keys recorded in an entry were taken *before* the
 * copy, so a write racing with the copy can only make the next run copy
 * again, never skip a change; the raw copy lives inside the snapshot's
 * temporary directory and never outlives the call.
 */
#include "backup_db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup_fs.h"
#include "backup_sqlite.h"
#include "log.h"

static void unlink_raw(const char *raw)
{
	char side[MAX_PATH_BYTES + 16];
	unlink(raw);
	snprintf(side, sizeof side, "%s-wal", raw);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", raw);
	unlink(side);
	snprintf(side, sizeof side, "%s-journal", raw);
	unlink(side);
}

static enum status stat_pair(const char *srcdir, const char *name, struct backup_stat *db,
                             struct backup_stat *wal, struct errinfo *e)
{
	char p[MAX_PATH_BYTES];
	int n = snprintf(p, sizeof p, "%s/%s-wal", srcdir, name);
	if (n < 0 || (size_t)n >= sizeof p)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	enum status st = backup_stat_path(wal, p, e);
	if (st)
		return st;
	/* An empty -wal holds no frames: the same database as no -wal (our own
	 * read-only open may create one). */
	if (wal->present && wal->size == 0)
		memset(wal, 0, sizeof *wal);
	snprintf(p, sizeof p, "%s/%s", srcdir, name);
	return backup_stat_path(db, p, e);
}

enum status backup_db_copy(struct backup_run *run, const char *srcdir, const char *name,
                           const char *raw_path, struct backup_db_raw *raw, struct errinfo *e)
{
	memset(raw, 0, sizeof *raw);
	snprintf(raw->path, sizeof raw->path, "%s", raw_path);
	raw->stat_ns = backup_now_ns();
	enum status st = stat_pair(srcdir, name, &raw->src, &raw->wal, e);
	if (st)
		return st;
	if (!raw->src.present)
		return errinfo_set(e, ST_NOTFOUND, "%s/%s disappeared", srcdir, name);
	char src[MAX_PATH_BYTES];
	snprintf(src, sizeof src, "%s/%s", srcdir, name);
	unlink_raw(raw_path);
	return backup_sqlite_copy(src, raw_path, run->o->busy_ms, e);
}

static void fill_entry(struct backup_entry *en, const struct backup_db_raw *raw,
                       const struct backup_digest *d)
{
	en->size = d->size;
	memcpy(en->sha256, d->sha256, 32);
	memcpy(en->sha1, d->sha1, 20);
	en->stored_size = d->stored_size;
	memcpy(en->stored_sha256, d->stored_sha256, 32);
	en->stored_mtime_ns = d->stored_mtime_ns;
	en->src = raw->src;
	en->src_wal = raw->wal;
	en->src_stat_ns = raw->stat_ns;
}

enum status backup_db_store_raw(struct backup_run *run, const char *user, const char *dstdir,
                                const char *name, struct backup_db_raw *raw,
                                struct backup_entry *en, int *damaged, struct errinfo *e)
{
	memset(en, 0, sizeof *en);
	en->kind = BACKUP_KIND_DB;
	en->user = strdup(user);
	en->name = strdup(name);
	if (!en->user || !en->name) {
		backup_entry_free(en);
		unlink_raw(raw->path);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	en->user_len = strlen(user);
	en->name_len = strlen(name);

	int ok = 0;
	char msg[400];
	enum status st = backup_sqlite_check(raw->path, 0, &ok, msg, sizeof msg, e);
	if (!st && !ok) {
		log_error("user %s: %s fails quick_check: %s", user, name, msg);
		*damaged = 1;
	}
	if (!st && !(en->check = strdup(ok ? "ok" : msg)))
		st = errinfo_set(e, ST_NOMEM, "out of memory");

	char obj[MAX_PATH_BYTES];
	struct backup_digest d;
	if (!st) {
		int n = snprintf(obj, sizeof obj, "%s/%s%s", dstdir, name,
		                 run->encrypted ? ".zst.age" : ".zst");
		if (n < 0 || (size_t)n >= sizeof obj)
			st = errinfo_set(e, ST_TOOBIG, "path too long");
	}
	if (!st) {
		int fd = open(raw->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			st = errinfo_errno(e, ST_IO, "cannot open %s", raw->path);
		struct backup_out out;
		if (!st)
			st = backup_out_open(&out, run->codec, obj, run->age_argv, raw->src.size, e);
		if (!st) {
			posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
			st = backup_out_copy_fd(&out, fd, e);
			if (st)
				backup_out_abort(&out);
			else
				st = backup_out_finish(&out, &d, e);
		}
		if (fd >= 0)
			close(fd);
	}
	unlink_raw(raw->path);
	if (st) {
		backup_entry_free(en);
		return st;
	}
	fill_entry(en, raw, &d);
	run->new_stored_bytes += d.stored_size;

	/* Same bytes as last time (e.g. the server only opened it): share the
	 * old stored file rather than keep two copies. */
	const struct backup_entry *p =
	    backup_prev_find_name(run->prev, BACKUP_KIND_DB, en->user, en->user_len, name,
	                          en->name_len);
	char from[MAX_PATH_BYTES];
	if (p && memcmp(p->sha256, en->sha256, 32) == 0 && p->size == en->size &&
	    backup_prev_object_ok(run->prev, p, from, sizeof from)) {
		unlink(obj);
		int64_t mt;
		st = backup_run_reuse(run, from, obj, p->stored_mtime_ns, &mt, e);
		if (st) {
			backup_entry_free(en);
			return st;
		}
		run->new_stored_bytes -= d.stored_size;
		en->stored_size = p->stored_size;
		memcpy(en->stored_sha256, p->stored_sha256, 32);
		en->stored_mtime_ns = mt;
	}
	return ST_OK;
}

enum status backup_db_store(struct backup_run *run, const char *user, const char *srcdir,
                            const char *dstdir, const char *name, struct backup_entry *en,
                            int *damaged, struct errinfo *e)
{
	const struct backup_entry *p = backup_prev_find_name(run->prev, BACKUP_KIND_DB, user,
	                                                     strlen(user), name, strlen(name));
	if (p) {
		struct backup_stat db = {0}, wal = {0};
		enum status st = stat_pair(srcdir, name, &db, &wal, e);
		if (st)
			return st;
		int64_t newest = p->src.mtime_ns > p->src_wal.mtime_ns ? p->src.mtime_ns
		                                                        : p->src_wal.mtime_ns;
		char from[MAX_PATH_BYTES], obj[MAX_PATH_BYTES];
		if (db.present && backup_stat_equal(&db, &p->src) && backup_stat_equal(&wal, &p->src_wal) &&
		    p->src_stat_ns - newest >= BACKUP_MTIME_MARGIN_NS &&
		    backup_prev_object_ok(run->prev, p, from, sizeof from)) {
			int n = snprintf(obj, sizeof obj, "%s/%s%s", dstdir, name,
			                 run->encrypted ? ".zst.age" : ".zst");
			if (n < 0 || (size_t)n >= sizeof obj)
				return errinfo_set(e, ST_TOOBIG, "path too long");
			st = backup_entry_copy(en, p, e);
			if (st)
				return st;
			st = backup_run_reuse(run, from, obj, p->stored_mtime_ns, &en->stored_mtime_ns, e);
			if (st) {
				backup_entry_free(en);
				return st;
			}
			if (en->check && strcmp(en->check, "ok") != 0)
				*damaged = 1;
			return ST_OK;
		}
	}
	char raw_path[MAX_PATH_BYTES];
	int n = snprintf(raw_path, sizeof raw_path, "%s/.raw-%s", dstdir, name);
	if (n < 0 || (size_t)n >= sizeof raw_path)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	struct backup_db_raw raw;
	enum status st = backup_db_copy(run, srcdir, name, raw_path, &raw, e);
	if (st) {
		unlink_raw(raw_path);
		return st;
	}
	return backup_db_store_raw(run, user, dstdir, name, &raw, en, damaged, e);
}
