/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * syncproto_col.c - whole-file operations on server collections
 * (sync-protocol.md §3.1, §4.1, §4.2, §6.2; collection-format.md §1, §4.1).
 *
 * The check is the gate in front of every stored collection: a file that
 * passes it has SQLite's own integrity verdict "ok", a schema version Anki
 * opens, and the tables a sync touches.  Everything else is refused.
 */
#include "syncproto_col.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "path.h"
#include "unicase.h"

static enum status db_error(sqlite3 *db, struct errinfo *e, const char *what)
{
	int rc = sqlite3_extended_errcode(db);
	enum status code = ST_DB;
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		code = ST_CORRUPT;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_INTERRUPT:
		code = ST_BUSY;
		break;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
		code = ST_IO;
		break;
	case SQLITE_NOMEM:
		code = ST_NOMEM;
		break;
	}
	return errinfo_set(e, code, "%s: %s", what, sqlite3_errmsg(db));
}

enum status syncproto_col_open(const char *path, sqlite3 **db, struct errinfo *e)
{
	*db = NULL;
	struct stat sb;
	if (stat(path, &sb) != 0)
		return errinfo_errno(e, errno == ENOENT ? ST_NOTFOUND : ST_IO, "cannot stat %s",
		                     path);
	if (!S_ISREG(sb.st_mode))
		return errinfo_set(e, ST_CORRUPT, "%s is not a regular file", path);
	sqlite3 *h = NULL;
	int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		enum status st = errinfo_set(e, ST_DB, "cannot open %s: %s", path,
		                             h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		sqlite3_close(h);
		return st;
	}
	sqlite3_extended_result_codes(h, 1);
	sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(h, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(h, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_busy_timeout(h, SYNCPROTO_BUSY_MS);
	if (unicase_register(h) != SQLITE_OK) {
		enum status st = db_error(h, e, "registering unicase");
		sqlite3_close(h);
		return st;
	}
	*db = h;
	return ST_OK;
}

/* First column of the first row of sql as int64; ST_NOTFOUND if no row. */
static enum status scalar_i64(sqlite3 *db, const char *sql, int64_t *out, struct errinfo *e)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_error(db, e, "query");
	int rc = sqlite3_step(s);
	enum status st = ST_OK;
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		st = errinfo_set(e, ST_NOTFOUND, "no row");
	else
		st = db_error(db, e, "query");
	sqlite3_finalize(s);
	return st;
}

static int table_exists(sqlite3 *db, const char *name)
{
	sqlite3_stmt *s = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", -1,
	                       &s, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) == SQLITE_OK)
		found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return found;
}

/* A JSON config value: number → *num, null → *is_null. */
static void config_json(const char *text, int len, int64_t *num, int *is_null)
{
	json_t *j = json_loadb(text, (size_t)len, JSON_DECODE_ANY, NULL);
	*is_null = !j || json_is_null(j);
	*num = j && json_is_integer(j) ? json_integer_value(j) : 0;
	json_decref(j);
}

static void read_config(sqlite3 *db, int ver, struct syncproto_col_info *info)
{
	int64_t sched = 0, off = 0;
	int sched_null = 1, off_null = 1;
	if (ver >= 14 && table_exists(db, "config")) {
		sqlite3_stmt *s = NULL;
		if (sqlite3_prepare_v2(
		        db,
		        "SELECT KEY, val FROM config WHERE KEY IN ('schedVer','creationOffset')",
		        -1, &s, NULL) == SQLITE_OK) {
			while (sqlite3_step(s) == SQLITE_ROW) {
				const char *k = (const char *)sqlite3_column_text(s, 0);
				const char *v = sqlite3_column_blob(s, 1);
				int vl = sqlite3_column_bytes(s, 1);
				if (!k || !v)
					continue;
				if (strcmp(k, "schedVer") == 0)
					config_json(v, vl, &sched, &sched_null);
				else
					config_json(v, vl, &off, &off_null);
			}
		}
		sqlite3_finalize(s);
	} else {
		sqlite3_stmt *s = NULL;
		if (sqlite3_prepare_v2(db, "SELECT conf FROM col", -1, &s, NULL) == SQLITE_OK &&
		    sqlite3_step(s) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(s, 0);
			json_t *j = t ? json_loads(t, 0, NULL) : NULL;
			json_t *sv = json_object_get(j, "schedVer");
			json_t *ov = json_object_get(j, "creationOffset");
			if (json_is_integer(sv)) {
				sched = json_integer_value(sv);
				sched_null = 0;
			}
			off_null = !ov || json_is_null(ov);
			json_decref(j);
		}
		sqlite3_finalize(s);
	}
	/* Anki treats a missing schedVer as the v1 scheduler. */
	info->sched_v2 = !sched_null && sched >= 2;
	info->new_tz = !off_null;
	(void)off;
}

enum status syncproto_col_info(sqlite3 *db, struct syncproto_col_info *info, struct errinfo *e)
{
	memset(info, 0, sizeof *info);
	if (!table_exists(db, "col") || !table_exists(db, "cards"))
		return errinfo_set(e, ST_CORRUPT, "not an Anki collection (no col/cards table)");
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, "SELECT crt, mod, scm, ver, usn, ls FROM col", -1, &s, NULL) !=
	    SQLITE_OK)
		return db_error(db, e, "reading col");
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		enum status st = rc == SQLITE_DONE
		                     ? errinfo_set(e, ST_CORRUPT, "the col table is empty")
		                     : db_error(db, e, "reading col");
		sqlite3_finalize(s);
		return st;
	}
	info->crt = sqlite3_column_int64(s, 0);
	info->mod = sqlite3_column_int64(s, 1);
	info->scm = sqlite3_column_int64(s, 2);
	info->ver = sqlite3_column_int(s, 3);
	info->usn = (int32_t)sqlite3_column_int64(s, 4);
	info->ls = sqlite3_column_int64(s, 5);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return errinfo_set(e, ST_CORRUPT, "the col table has more than one row");
	int64_t one = 0;
	enum status st = scalar_i64(db, "SELECT EXISTS(SELECT 1 FROM cards)", &one, e);
	if (st)
		return st;
	info->has_cards = one != 0;
	read_config(db, info->ver, info);
	return ST_OK;
}

static int progress_cancel(void *arg)
{
	const atomic_int *cancel = arg;
	return atomic_load(cancel) != 0;
}

/* The tables of a collection and the columns Anki and we read in them,
 * by the schema that brought them (rslib's schema11.sql and upgrades:
 * config, deck_config and tags at 14, the rest at 15, tags' collapsed and
 * config at 17).  SQLite's integrity check does not look at any of this:
 * a table without a column passes it and then fails every sync. */
struct table_spec {
	int since; /* schema version */
	const char *name;
	const char *const *cols;
};
#define COLS(...) ((const char *const[]){__VA_ARGS__, NULL})
static const struct table_spec tables[] = {
    {11, "col",
     COLS("id", "crt", "mod", "scm", "ver", "dty", "usn", "ls", "conf", "models", "decks", "dconf",
          "tags")},
    {11, "notes",
     COLS("id", "guid", "mid", "mod", "usn", "tags", "flds", "sfld", "csum", "flags", "data")},
    {11, "cards",
     COLS("id", "nid", "did", "ord", "mod", "usn", "type", "queue", "due", "ivl", "factor", "reps",
          "lapses", "left", "odue", "odid", "flags", "data")},
    {11, "revlog", COLS("id", "cid", "usn", "ease", "ivl", "lastIvl", "factor", "time", "type")},
    {11, "graves", COLS("usn", "oid", "type")},
    {14, "config", COLS("key", "usn", "mtime_secs", "val")},
    {14, "deck_config", COLS("id", "name", "mtime_secs", "usn", "config")},
    {14, "tags", COLS("tag", "usn")},
    {17, "tags", COLS("collapsed", "config")},
    {15, "fields", COLS("ntid", "ord", "name", "config")},
    {15, "templates", COLS("ntid", "ord", "name", "mtime_secs", "usn", "config")},
    {15, "notetypes", COLS("id", "name", "mtime_secs", "usn", "config")},
    {15, "decks", COLS("id", "name", "mtime_secs", "usn", "common", "kind")},
};
#undef COLS

/* ST_CORRUPT naming the first table or column of t that db lacks. */
static enum status check_table(sqlite3 *db, const struct table_spec *t, struct errinfo *e)
{
	if (!table_exists(db, t->name))
		return errinfo_set(e, ST_CORRUPT, "not an Anki collection (no %s table)", t->name);
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2 COLLATE NOCASE",
	                       -1, &s, NULL) != SQLITE_OK)
		return db_error(db, e, "reading table columns");
	enum status st = ST_OK;
	for (const char *const *c = t->cols; *c && !st; c++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, t->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, *c, -1, SQLITE_STATIC);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			st = errinfo_set(e, ST_CORRUPT,
			                 "not an Anki collection (%s has no %s column)", t->name,
			                 *c);
		else if (rc != SQLITE_ROW)
			st = db_error(db, e, "reading table columns");
	}
	sqlite3_finalize(s);
	return st;
}

enum status syncproto_col_check(const char *path, const atomic_int *cancel,
                                struct syncproto_col_info *info, struct errinfo *e)
{
	/* Reject non-SQLite bytes before SQLite touches them. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errinfo_errno(e, ST_IO, "cannot open %s", path);
	unsigned char hdr[20];
	ssize_t n = read(fd, hdr, sizeof hdr);
	close(fd);
	if (n != (ssize_t)sizeof hdr || memcmp(hdr, "SQLite format 3", 16) != 0)
		return errinfo_set(e, ST_CORRUPT, "not an SQLite database");
	/* A write version SQLite does not know (byte 18 above 2) opens
	 * read-only: it passes the integrity check, then every sync's write
	 * would fail.  Read from the header, not sqlite3_db_readonly(), which
	 * also says yes when only the file's permissions forbid writing
	 * (anki-sync-admin check run by another user). */
	if (hdr[18] > 2)
		return errinfo_set(
		    e, ST_CORRUPT,
		    "SQLite can only read this file, not write it (write version %u)", hdr[18]);

	sqlite3 *db = NULL;
	enum status st = syncproto_col_open(path, &db, e);
	/* Not the rule at "out" below: opening reads nothing of the file yet,
	 * so an out-of-memory here is ours, not the upload's damage. */
	if (st)
		return st == ST_DB ? ST_CORRUPT : st;
	if (cancel)
		sqlite3_progress_handler(db, 10000, progress_cancel, (void *)(uintptr_t)cancel);
	struct syncproto_col_info local;
	if (!info)
		info = &local;

	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(2)", -1, &s, NULL) != SQLITE_OK) {
		st = db_error(db, e, "integrity check");
		goto out;
	}
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(s, 0);
		if (!r || strcmp(r, "ok") != 0 || sqlite3_step(s) != SQLITE_DONE)
			st =
			    errinfo_set(e, ST_CORRUPT, "integrity check: %.200s", r ? r : "(null)");
	} else {
		st = db_error(db, e, "integrity check");
	}
	sqlite3_finalize(s);
	if (st)
		goto out;
	if (cancel && atomic_load(cancel)) {
		st = errinfo_set(e, ST_BUSY, "check cancelled");
		goto out;
	}
	/* The col table first: its ver says which tables must exist. */
	if ((st = check_table(db, &tables[0], e)))
		goto out;
	st = syncproto_col_info(db, info, e);
	if (st)
		goto out;
	if (info->ver < 11 || info->ver > 18 || info->ver == 12 || info->ver == 13) {
		st = errinfo_set(e, ST_CORRUPT, "collection schema version %d is not 11 or 14..18",
		                 info->ver);
		goto out;
	}
	for (size_t i = 1; i < sizeof tables / sizeof *tables; i++)
		if (info->ver >= tables[i].since && (st = check_table(db, &tables[i], e)))
			goto out;
	int64_t cnt = 0;
	if ((st = scalar_i64(db,
	                     "SELECT count(*) FROM sqlite_master WHERE type IN ('trigger','view')",
	                     &cnt, e)))
		goto out;
	if (cnt) {
		st = errinfo_set(e, ST_CORRUPT, "collection contains triggers or views");
		goto out;
	}
	if ((st = scalar_i64(db, "SELECT count(*) FROM notes", &info->notes, e)) ||
	    (st = scalar_i64(db, "SELECT count(*) FROM cards", &info->cards, e)) ||
	    (st = scalar_i64(db, "SELECT count(*) FROM revlog", &info->revlog, e)))
		goto out;
out:
	/* The file is the client's and our statements are fixed: whatever
	 * else SQLite refuses in it (a schema format it does not know, a
	 * table without the columns we read) is the upload's fault, not a
	 * server error.  So is SQLite's "out of memory" here: damage can size
	 * an allocation (the official server answers every failure to open
	 * an upload as corrupt).  The disk and cancelling stay ours. */
	if (st == ST_DB || st == ST_NOMEM)
		st = ST_CORRUPT;
	if (cancel && atomic_load(cancel) && st == ST_CORRUPT)
		st = errinfo_set(e, ST_BUSY, "check cancelled");
	sqlite3_close(db);
	return st;
}

static void unlink_if_empty(const char *path, const char *suffix)
{
	char p[MAX_PATH_BYTES];
	if (snprintf(p, sizeof p, "%s%s", path, suffix) >= (int)sizeof p)
		return;
	struct stat sb;
	if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0)
		unlink(p);
}

static int side_file_has_data(const char *path, const char *suffix)
{
	char p[MAX_PATH_BYTES];
	if (snprintf(p, sizeof p, "%s%s", path, suffix) >= (int)sizeof p)
		return 1;
	struct stat sb;
	return stat(p, &sb) == 0 && sb.st_size > 0;
}

enum status syncproto_col_quiesce(const char *path, struct errinfo *e)
{
	if (access(path, F_OK) != 0)
		return errno == ENOENT ? ST_OK : errinfo_errno(e, ST_IO, "cannot access %s", path);
	sqlite3 *db = NULL;
	enum status st = syncproto_col_open(path, &db, e);
	if (st)
		return st;
	int64_t dummy;
	/* Reading the schema recovers a hot journal or replays a WAL. */
	st = scalar_i64(db, "SELECT count(*) FROM sqlite_master", &dummy, e);
	if (st == ST_OK) {
		int log = 0, ckpt = 0;
		int rc =
		    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &ckpt);
		if (rc != SQLITE_OK && rc != SQLITE_MISUSE)
			st = db_error(db, e, "checkpoint");
	}
	if (sqlite3_close(db) != SQLITE_OK && st == ST_OK)
		st = errinfo_set(e, ST_DB, "closing %s failed", path);
	if (st)
		return st;
	unlink_if_empty(path, "-wal");
	unlink_if_empty(path, "-journal");
	if (side_file_has_data(path, "-wal") || side_file_has_data(path, "-journal"))
		return errinfo_set(e, ST_BUSY, "%s is still in use by another process", path);
	char shm[MAX_PATH_BYTES];
	if (snprintf(shm, sizeof shm, "%s-shm", path) < (int)sizeof shm)
		unlink(shm);
	return ST_OK;
}

enum status syncproto_col_bump_usn(sqlite3 *db, int64_t now_ms, struct errinfo *e)
{
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(db, e, "begin");
	sqlite3_stmt *s = NULL;
	enum status st = ST_OK;
	if (sqlite3_prepare_v2(db, "UPDATE col SET usn = usn + 1, mod = ?1", -1, &s, NULL) !=
	        SQLITE_OK ||
	    sqlite3_bind_int64(s, 1, now_ms) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
		st = db_error(db, e, "bumping usn");
	sqlite3_finalize(s);
	if (st == ST_OK && sqlite3_changes(db) != 1)
		st = errinfo_set(e, ST_CORRUPT, "the col table does not have exactly one row");
	if (st == ST_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		st = db_error(db, e, "commit");
	if (st)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return st;
}

enum status syncproto_col_snapshot(const char *path, int *fd, uint64_t *size, struct errinfo *e)
{
	*fd = -1;
	char dir[MAX_PATH_BYTES];
	enum status st = path_dirname(dir, sizeof dir, path, e);
	if (st)
		return st;
	int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errinfo_errno(e, ST_IO, "cannot open %s", path);
	struct stat sb;
	if (fstat(in, &sb) != 0) {
		close(in);
		return errinfo_errno(e, ST_IO, "cannot stat %s", path);
	}
	int out = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (out < 0) {
		/* No O_TMPFILE on this file system: a named file, unlinked at once. */
		char tmp[MAX_PATH_BYTES];
		if (snprintf(tmp, sizeof tmp, "%s.snap.XXXXXX", path) >= (int)sizeof tmp) {
			close(in);
			return errinfo_set(e, ST_TOOBIG, "path too long");
		}
		out = mkostemp(tmp, O_CLOEXEC);
		if (out < 0) {
			close(in);
			return errinfo_errno(e, ST_IO, "cannot create a snapshot beside %s", path);
		}
		unlink(tmp);
	}
	uint64_t left = (uint64_t)sb.st_size;
	while (left > 0) {
		ssize_t n =
		    copy_file_range(in, NULL, out, NULL, left > (1u << 30) ? (1u << 30) : left, 0);
		if (n < 0 &&
		    (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL) &&
		    left == (uint64_t)sb.st_size) {
			/* Fall back to plain read/write. */
			char buf[1 << 16];
			ssize_t r;
			while (left > 0 && (r = read(in, buf, sizeof buf)) > 0) {
				for (ssize_t off = 0; off < r;) {
					ssize_t w = write(out, buf + off, (size_t)(r - off));
					if (w < 0) {
						if (errno == EINTR)
							continue;
						st = errinfo_errno(e, ST_IO, "writing snapshot");
						goto fail;
					}
					off += w;
				}
				left -= (uint64_t)r;
			}
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			st = errinfo_errno(e, ST_IO, "copying %s", path);
			goto fail;
		}
		if (n == 0)
			break;
		left -= (uint64_t)n;
	}
	if (left != 0) {
		st = errinfo_set(e, ST_IO, "%s changed size while copying", path);
		goto fail;
	}
	close(in);
	if (lseek(out, 0, SEEK_SET) != 0) {
		close(out);
		return errinfo_errno(e, ST_IO, "seek");
	}
	*fd = out;
	*size = (uint64_t)sb.st_size;
	return ST_OK;
fail:
	close(in);
	close(out);
	return st;
}

enum status syncproto_col_media_usn(const char *userdir, int32_t *usn, struct errinfo *e)
{
	*usn = 0;
	char path[MAX_PATH_BYTES];
	if (snprintf(path, sizeof path, "%s/%s", userdir, SYNCPROTO_MEDIA_DB) >= (int)sizeof path)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	if (access(path, F_OK) != 0)
		return ST_OK;
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		enum status st = errinfo_set(e, ST_DB, "cannot open %s", path);
		sqlite3_close(db);
		return st;
	}
	sqlite3_busy_timeout(db, SYNCPROTO_BUSY_MS);
	int64_t v = 0;
	enum status st = scalar_i64(db, "SELECT last_usn FROM meta", &v, e);
	if (st == ST_DB)
		st = scalar_i64(db, "SELECT usn FROM meta", &v, e); /* schema v3 */
	if (st == ST_NOTFOUND)
		st = ST_OK, v = 0;
	sqlite3_close(db);
	if (st)
		return errinfo_prefix(e, "%s", path);
	*usn = (int32_t)v;
	return ST_OK;
}
