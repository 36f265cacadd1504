/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_db.c - the server media database (sync-protocol.md §5.7): open,
 * create, upgrade from schema 3, rows, meta, change lists.
 *
 * Invariants kept here: exactly one meta row; last_usn never decreases;
 * rows come out of media_db_changes in ascending usn order (the reference
 * SQL has no ORDER BY and relies on the index, §5.3 AMBIGUITY).
 *
 * The schema 3 -> 4 upgrade follows the official one (rows whose csum is
 * NULL were old deletions and are dropped; sz -> size, deleted -> mtime;
 * totals recomputed) with one difference: the official upgrade sets
 * last_usn to max(usn) of the remaining rows, which is lower than the v3
 * meta.usn when the newest changes were deletions; a client that already
 * saw those usns would then skip every later change.  We keep the larger
 * of the two, so the USN never goes backwards (§5.7 RECOMMENDATION, §8.5
 * item 43).
 */
#include "media_db.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "log.h"

enum stmt_id {
	S_GET_META,
	S_SET_META,
	S_GET,
	S_PUT,
	S_DELETE,
	S_CHANGES,
	S_DATA_VERSION,
	S_LIVE_AFTER,
	S_LIVE_COUNT,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_GET_META] = "SELECT last_usn, total_bytes, total_nonempty_files FROM meta",
    [S_SET_META] = "UPDATE meta SET last_usn = ?1, total_bytes = ?2, total_nonempty_files = ?3",
    [S_GET] = "SELECT fname, csum, size, usn, mtime FROM media WHERE fname = ?1",
    [S_PUT] = "INSERT OR REPLACE INTO media (fname, csum, size, usn, mtime) "
              "VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_DELETE] = "DELETE FROM media WHERE fname = ?1",
    [S_CHANGES] = "SELECT fname, csum, size, usn, mtime FROM media WHERE usn > ?1 "
                  "ORDER BY usn LIMIT ?2",
    [S_DATA_VERSION] = "PRAGMA data_version",
    [S_LIVE_AFTER] = "SELECT fname, csum, size, usn, mtime FROM media WHERE usn > ?1 "
                     "AND size > 0 ORDER BY usn LIMIT ?2",
    [S_LIVE_COUNT] = "SELECT count(*) FROM media WHERE usn BETWEEN ?1 AND ?2 AND size > 0",
};

struct media_db {
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	int readonly;
	int wrote; /* a commit of this handle added frames to the WAL */
};

/* The schema 4 tables, as the official server has them (the stored SQL
 * text differs in layout only, which nothing reads). */
static const char schema_v4_media[] = "CREATE TABLE media (\n"
                                      "  fname text NOT NULL PRIMARY KEY,\n"
                                      "  csum blob NOT NULL,\n"
                                      "  size int NOT NULL,\n"
                                      "  usn int NOT NULL,\n"
                                      "  mtime int NOT NULL\n"
                                      ");\n";
static const char schema_v4_index[] = "CREATE INDEX ix_usn ON media (usn);\n";
static const char schema_v4_meta[] = "CREATE TABLE meta (\n"
                                     "  last_usn int NOT NULL,\n"
                                     "  total_bytes int NOT NULL,\n"
                                     "  total_nonempty_files int NOT NULL\n"
                                     ");\n";

static enum status db_error(sqlite3 *db, int rc, struct errinfo *e, const char *what)
{
	int prim = rc & 0xff;
	enum status st = ST_DB;
	if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
		st = ST_BUSY;
	else if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT)
		st = ST_CORRUPT;
	else if (prim == SQLITE_FULL || prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN)
		st = ST_IO;
	else if (prim == SQLITE_READONLY)
		st = ST_PERM;
	return errinfo_set(e, st, "media db: %s: %s", what,
	                   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static enum status exec(sqlite3 *db, const char *sql, struct errinfo *e)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? ST_OK : db_error(db, rc, e, "exec");
}

static enum status scalar_int(sqlite3 *db, const char *sql, int64_t *out, struct errinfo *e)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_error(db, rc, e, sql);
	rc = sqlite3_step(s);
	enum status st = ST_OK;
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		st = errinfo_set(e, ST_NOTFOUND, "media db: no row for %s", sql);
	else
		st = db_error(db, rc, e, sql);
	sqlite3_finalize(s);
	return st;
}

static int has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
	                       -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static enum status finish_tx(sqlite3 *db, enum status st, struct errinfo *e)
{
	if (st == ST_OK)
		st = exec(db, "COMMIT", e);
	if (st)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return st;
}

/* Fresh file: schema 4 with the one meta row, in one transaction.  Two
 * processes may race here; the loser sees user_version 4 inside its
 * exclusive transaction and does nothing. */
static enum status create_schema(sqlite3 *db, struct errinfo *e)
{
	enum status st = exec(db, "BEGIN EXCLUSIVE", e);
	if (st)
		return st;
	int64_t ver = 0;
	st = scalar_int(db, "PRAGMA user_version", &ver, e);
	if (st == ST_OK && ver == 0) {
		if (has_table(db, "media") != 0 || has_table(db, "meta") != 0)
			st = errinfo_set(
			    e, ST_VERSION,
			    "media db has tables but no schema version; refusing to guess");
		if (st == ST_OK)
			st = exec(db, schema_v4_media, e);
		if (st == ST_OK)
			st = exec(db, schema_v4_index, e);
		if (st == ST_OK)
			st = exec(db, schema_v4_meta, e);
		if (st == ST_OK)
			st = exec(db,
			          "INSERT INTO meta (last_usn, total_bytes, total_nonempty_files) "
			          "VALUES (0, 0, 0)",
			          e);
		if (st == ST_OK)
			st = exec(db, "PRAGMA user_version = 4", e);
	}
	return finish_tx(db, st, e);
}

/* Schema 3 (media(fname, csum nullable, sz, usn, deleted), meta(usn, sz))
 * to 4, in one exclusive transaction; see the file comment for last_usn. */
static enum status upgrade_v3(sqlite3 *db, struct errinfo *e)
{
	enum status st = exec(db, "BEGIN EXCLUSIVE", e);
	if (st)
		return st;
	int64_t ver = 0, old_usn = 0, max_usn = 0;
	st = scalar_int(db, "PRAGMA user_version", &ver, e);
	if (st || ver != 3)
		return finish_tx(db, st, e); /* upgraded meanwhile by another process */
	st = scalar_int(db, "SELECT coalesce(max(usn), 0) FROM meta", &old_usn, e);
	if (st == ST_OK)
		st = exec(db,
		          "ALTER TABLE media RENAME TO media_v3;\n"
		          "DROP INDEX IF EXISTS ix_usn;\n"
		          "DROP TABLE meta;\n",
		          e);
	if (st == ST_OK)
		st = exec(db, schema_v4_media, e);
	if (st == ST_OK)
		st = exec(
		    db,
		    "INSERT INTO media (fname, csum, size, usn, mtime)\n"
		    "  SELECT fname, csum, sz, usn, deleted FROM media_v3 WHERE csum IS NOT NULL;\n"
		    "DROP TABLE media_v3;\n",
		    e);
	if (st == ST_OK)
		st = exec(db, schema_v4_index, e);
	if (st == ST_OK)
		st = exec(db, schema_v4_meta, e);
	if (st == ST_OK)
		st = scalar_int(db, "SELECT coalesce(max(usn), 0) FROM media", &max_usn, e);
	if (st == ST_OK) {
		int64_t usn = old_usn > max_usn ? old_usn : max_usn;
		if (usn < 0 || usn > INT32_MAX)
			st = errinfo_set(e, ST_CORRUPT, "media db v3: usn %lld out of range",
			                 (long long)usn);
		char sql[256];
		snprintf(
		    sql, sizeof sql,
		    "INSERT INTO meta (last_usn, total_bytes, total_nonempty_files)\n"
		    "  SELECT %lld, coalesce(sum(size), 0), count(*) FROM media WHERE size > 0",
		    (long long)usn);
		if (st == ST_OK)
			st = exec(db, sql, e);
	}
	if (st == ST_OK)
		st = exec(db, "PRAGMA user_version = 4", e);
	st = finish_tx(db, st, e);
	if (st == ST_OK) {
		log_info("media db upgraded from schema 3 to 4");
		sqlite3_exec(db, "VACUUM", NULL, NULL,
		             NULL); /* as the official upgrade; optional */
	}
	return st;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct media_db *m = arg;
	m->wrote = 1;
	if (frames >= MEDIA_WAL_CKPT_FRAMES)
		/* Fails harmlessly (SQLITE_BUSY) while another connection reads. */
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	return SQLITE_OK;
}

static enum status prepare_all(struct media_db *m, struct errinfo *e)
{
	for (int i = 0; i < S_COUNT; i++) {
		int rc = sqlite3_prepare_v3(m->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                            &m->st[i], NULL);
		if (rc != SQLITE_OK) {
			enum status st = db_error(m->db, rc, e, "preparing statements");
			return st == ST_DB ? errinfo_set(e, ST_CORRUPT, "%s", e ? e->msg : "") : st;
		}
	}
	return ST_OK;
}

enum status media_db_open(const char *path, unsigned flags, struct media_db **out,
                          struct errinfo *e)
{
	*out = NULL;
	int readonly = (flags & MEDIA_DB_READONLY) != 0;
	struct stat sb;
	if (stat(path, &sb) != 0) {
		if (errno != ENOENT)
			return errinfo_errno(e, ST_IO, "cannot stat %s", path);
		if (!(flags & MEDIA_DB_CREATE) || readonly)
			return errinfo_set(e, ST_NOTFOUND, "no media db at %s", path);
	}
	struct media_db *m = calloc(1, sizeof *m);
	if (!m)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	m->readonly = readonly;
	int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
	             (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	int rc = sqlite3_open_v2(path, &m->db, oflags, NULL);
	enum status st = ST_OK;
	if (rc != SQLITE_OK) {
		st = db_error(m->db, rc, e, "open");
		goto fail;
	}
	sqlite3_extended_result_codes(m->db, 1);
	sqlite3_busy_timeout(m->db, MEDIA_DB_BUSY_MS);
	sqlite3_db_config(m->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(m->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	/* Handles live for one request.  A checkpoint at every close would
	 * cost two fsyncs per request; leaving the WAL to SQLite's automatic
	 * checkpoint lets it grow, and every first opener rebuilds its index
	 * by reading all of it.  So: no checkpoint on close, and a truncating
	 * checkpoint after a commit that left MEDIA_WAL_CKPT_FRAMES or more in
	 * the WAL (wal_hook below), and one at the close of a handle that
	 * wrote nothing while a WAL is left (media_db_close): opens stay
	 * cheap, fsyncs stay rare. */
	sqlite3_db_config(m->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (!readonly)
		sqlite3_wal_hook(m->db, wal_hook, m);
	if ((flags & MEDIA_DB_EXCLUSIVE) &&
	    (st = exec(m->db, "PRAGMA locking_mode = exclusive", e)))
		goto fail;
	int64_t ver = 0;
	/* The first read: a file that is not SQLite fails here. */
	if ((st = scalar_int(m->db, "PRAGMA user_version", &ver, e)))
		goto fail;
	if (!readonly) {
		if ((st = exec(m->db, "PRAGMA journal_mode = wal", e)))
			goto fail;
		if ((st = exec(m->db,
		               (flags & MEDIA_DB_SYNC_NORMAL) ? "PRAGMA synchronous = NORMAL"
		                                              : "PRAGMA synchronous = FULL",
		               e)))
			goto fail;
	}
	if (ver == 0 && !readonly)
		st = create_schema(m->db, e);
	else if (ver == 3 && !readonly)
		st = upgrade_v3(m->db, e);
	else if (ver != 4)
		st = errinfo_set(e, ST_VERSION, "media db schema %lld is not supported here",
		                 (long long)ver);
	if (st)
		goto fail;
	if ((st = scalar_int(m->db, "PRAGMA user_version", &ver, e)))
		goto fail;
	if (ver != MEDIA_DB_SCHEMA) {
		st = errinfo_set(e, ST_VERSION, "media db schema %lld after upgrade",
		                 (long long)ver);
		goto fail;
	}
	if ((st = prepare_all(m, e)))
		goto fail;
	struct media_meta meta;
	if ((st = media_db_get_meta(m, &meta, e)))
		goto fail;
	*out = m;
	return ST_OK;
fail:
	errinfo_prefix(e, "%s", path);
	media_db_close(m);
	return st;
}

void media_db_close(struct media_db *m)
{
	if (!m)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(m->st[i]);
	if (m->db && !sqlite3_get_autocommit(m->db))
		sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
	/* Every open of the DB with no other connection rebuilds the WAL
	 * index by reading the whole WAL, one pread per frame.  After a run
	 * of uploads up to MEDIA_WAL_CKPT_FRAMES are left there, and every
	 * later request that only reads (the downloads, mediaChanges,
	 * mediaSanity, begin, meta's USN probe) paid for them again: a fifth
	 * of the server's CPU in a first download of 50,000 files.
	 * So the first handle that writes nothing folds what is left into
	 * the database (two fsyncs, once per switch from writing to reading;
	 * a checkpoint that meets a reader fails harmlessly). */
	if (m->db && !m->readonly && !m->wrote) {
		const char *wal = sqlite3_filename_wal(sqlite3_db_filename(m->db, "main"));
		struct stat ws;
		if (wal && stat(wal, &ws) == 0 && ws.st_size > 0)
			sqlite3_wal_checkpoint_v2(m->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
			                          NULL);
	}
	sqlite3_close(m->db);
	free(m);
}

sqlite3 *media_db_sqlite(struct media_db *m)
{
	return m->db;
}

enum status media_db_begin(struct media_db *m, struct errinfo *e)
{
	return exec(m->db, "BEGIN IMMEDIATE", e);
}

enum status media_db_begin_read(struct media_db *m, struct errinfo *e)
{
	return exec(m->db, "BEGIN", e);
}

enum status media_db_commit(struct media_db *m, struct errinfo *e)
{
	return exec(m->db, "COMMIT", e);
}

void media_db_rollback(struct media_db *m)
{
	if (!sqlite3_get_autocommit(m->db))
		sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Step a one-shot statement to completion and reset it. */
static enum status step_done(struct media_db *m, sqlite3_stmt *s, struct errinfo *e,
                             const char *what)
{
	int rc = sqlite3_step(s);
	enum status st = rc == SQLITE_DONE ? ST_OK : db_error(m->db, rc, e, what);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return st;
}

enum status media_db_get_meta(struct media_db *m, struct media_meta *out, struct errinfo *e)
{
	sqlite3_stmt *s = m->st[S_GET_META];
	int rc = sqlite3_step(s);
	enum status st = ST_OK;
	if (rc == SQLITE_ROW) {
		int64_t usn = sqlite3_column_int64(s, 0);
		out->total_bytes = sqlite3_column_int64(s, 1);
		out->total_nonempty_files = sqlite3_column_int64(s, 2);
		if (usn < INT32_MIN || usn > INT32_MAX)
			st = errinfo_set(e, ST_CORRUPT, "media db: last_usn %lld out of range",
			                 (long long)usn);
		out->last_usn = (int32_t)usn;
		if (st == ST_OK && sqlite3_step(s) != SQLITE_DONE)
			st = errinfo_set(e, ST_CORRUPT, "media db: more than one meta row");
	} else if (rc == SQLITE_DONE) {
		st = errinfo_set(e, ST_CORRUPT, "media db: no meta row");
	} else {
		st = db_error(m->db, rc, e, "reading meta");
	}
	sqlite3_reset(s);
	return st;
}

/* Step a prepared one-number query (parameters bound) and reset it. */
static enum status step_int64(struct media_db *m, sqlite3_stmt *s, int64_t *out, const char *what,
                              struct errinfo *e)
{
	int rc = sqlite3_step(s);
	enum status st = ST_OK;
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else
		st = db_error(m->db, rc, e, what);
	sqlite3_reset(s);
	return st;
}

enum status media_db_data_version(struct media_db *m, int64_t *out, struct errinfo *e)
{
	return step_int64(m, m->st[S_DATA_VERSION], out, "data_version", e);
}

enum status media_db_set_meta(struct media_db *m, const struct media_meta *in, struct errinfo *e)
{
	sqlite3_stmt *s = m->st[S_SET_META];
	sqlite3_bind_int64(s, 1, in->last_usn);
	sqlite3_bind_int64(s, 2, in->total_bytes);
	sqlite3_bind_int64(s, 3, in->total_nonempty_files);
	return step_done(m, s, e, "writing meta");
}

static void read_row(sqlite3_stmt *s, struct media_row *r)
{
	const unsigned char *name = sqlite3_column_text(s, 0);
	size_t n = (size_t)sqlite3_column_bytes(s, 0);
	r->fname_len = n;
	if (n > MEDIA_NAME_MAX)
		n = MEDIA_NAME_MAX;
	if (name)
		memcpy(r->fname, name, n);
	r->fname[n] = '\0';
	const void *cs = sqlite3_column_blob(s, 1);
	size_t cn = (size_t)sqlite3_column_bytes(s, 1);
	if (cn > MEDIA_SHA1_LEN)
		cn = MEDIA_SHA1_LEN;
	memset(r->csum, 0, sizeof r->csum);
	if (cs)
		memcpy(r->csum, cs, cn);
	r->csum_len = cn;
	r->size = sqlite3_column_int64(s, 2);
	r->usn = (int32_t)sqlite3_column_int64(s, 3);
	r->mtime = sqlite3_column_int64(s, 4);
}

enum status media_db_get(struct media_db *m, const char *fname, size_t len, struct media_row *r,
                         struct errinfo *e)
{
	sqlite3_stmt *s = m->st[S_GET];
	sqlite3_bind_text(s, 1, fname, (int)len, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	enum status st = ST_OK;
	if (rc == SQLITE_ROW)
		read_row(s, r);
	else if (rc == SQLITE_DONE)
		st = ST_NOTFOUND;
	else
		st = db_error(m->db, rc, e, "reading entry");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return st;
}

enum status media_db_put(struct media_db *m, const struct media_row *r, struct errinfo *e)
{
	sqlite3_stmt *s = m->st[S_PUT];
	sqlite3_bind_text(s, 1, r->fname, (int)r->fname_len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, r->csum, (int)r->csum_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, r->size);
	sqlite3_bind_int64(s, 4, r->usn);
	sqlite3_bind_int64(s, 5, r->mtime);
	return step_done(m, s, e, "writing entry");
}

enum status media_db_delete(struct media_db *m, const char *fname, size_t len, struct errinfo *e)
{
	sqlite3_stmt *s = m->st[S_DELETE];
	sqlite3_bind_text(s, 1, fname, (int)len, SQLITE_STATIC);
	return step_done(m, s, e, "deleting entry");
}

enum status media_db_clear(struct media_db *m, struct errinfo *e)
{
	return exec(m->db, "DELETE FROM media", e);
}

enum status media_db_changes(struct media_db *m, int32_t after, size_t limit, media_db_row_fn fn,
                             void *arg, struct errinfo *e)
{
	if (limit == 0 || limit > MEDIA_CHANGES_MAX)
		limit = MEDIA_CHANGES_MAX;
	/* One row more than asked, to see whether the last usn continues. */
	struct media_row *rows = malloc((limit + 1) * sizeof *rows);
	if (!rows)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	sqlite3_stmt *s = m->st[S_CHANGES];
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)limit + 1);
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < limit + 1)
		read_row(s, &rows[n++]);
	enum status st =
	    (rc == SQLITE_ROW || rc == SQLITE_DONE) ? ST_OK : db_error(m->db, rc, e, "changes");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (st == ST_OK && n > limit) {
		n = limit;
		/* rows[limit] exists: do not split a group of equal usns. */
		size_t keep = n;
		while (keep > 0 && rows[keep - 1].usn == rows[limit].usn)
			keep--;
		if (keep > 0)
			n = keep;
	}
	for (size_t i = 0; st == ST_OK && i < n; i++)
		if (fn(arg, &rows[i]))
			break;
	free(rows);
	return st;
}

enum status media_db_live_after(struct media_db *m, int32_t after, struct media_row *rows,
                                size_t limit, size_t *n, struct errinfo *e)
{
	sqlite3_stmt *s = m->st[S_LIVE_AFTER];
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
	*n = 0;
	int rc = SQLITE_DONE;
	while (*n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
		read_row(s, &rows[(*n)++]);
	enum status st =
	    (*n == limit || rc == SQLITE_DONE) ? ST_OK : db_error(m->db, rc, e, "live rows");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return st;
}

enum status media_db_live_count(struct media_db *m, int32_t lo, int32_t hi, int64_t *n,
                                struct errinfo *e)
{
	sqlite3_stmt *s = m->st[S_LIVE_COUNT];
	sqlite3_bind_int64(s, 1, lo);
	sqlite3_bind_int64(s, 2, hi);
	return step_int64(m, s, n, "counting live rows", e);
}

enum status media_db_each(struct media_db *m, media_db_row_fn fn, void *arg, struct errinfo *e)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(
	    m->db, "SELECT fname, csum, size, usn, mtime FROM media ORDER BY fname", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_error(m->db, rc, e, "listing entries");
	struct media_row r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_row(s, &r);
		if (fn(arg, &r)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	enum status st = rc == SQLITE_DONE ? ST_OK : db_error(m->db, rc, e, "listing entries");
	sqlite3_finalize(s);
	return st;
}

enum status media_db_count(struct media_db *m, int64_t *rows, struct media_meta *actual,
                           struct errinfo *e)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(
	    m->db,
	    "SELECT count(*), coalesce(sum(CASE WHEN size > 0 THEN size END), 0),"
	    " count(CASE WHEN size > 0 THEN 1 END), coalesce(max(usn), 0)"
	    " FROM media",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_error(m->db, rc, e, "counting entries");
	rc = sqlite3_step(s);
	enum status st = ST_OK;
	if (rc == SQLITE_ROW) {
		*rows = sqlite3_column_int64(s, 0);
		actual->total_bytes = sqlite3_column_int64(s, 1);
		actual->total_nonempty_files = sqlite3_column_int64(s, 2);
		actual->last_usn = (int32_t)sqlite3_column_int64(s, 3);
	} else {
		st = db_error(m->db, rc, e, "counting entries");
	}
	sqlite3_finalize(s);
	return st;
}

enum status media_db_read_usn(const char *userdir, int32_t *usn, struct errinfo *e)
{
	*usn = 0;
	char path[MAX_PATH_BYTES];
	if (snprintf(path, sizeof path, "%s/%s", userdir, MEDIA_DB_FILE) >= (int)sizeof path)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	if (access(path, F_OK) != 0)
		return ST_OK;
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		enum status st = db_error(db, rc, e, "open");
		sqlite3_close(db);
		errinfo_prefix(e, "%s", path);
		return st;
	}
	sqlite3_busy_timeout(db, MEDIA_DB_BUSY_MS);
	int64_t ver = 0, v = 0;
	enum status st = scalar_int(db, "PRAGMA user_version", &ver, e);
	if (st == ST_OK && ver == 4)
		st = scalar_int(db, "SELECT last_usn FROM meta", &v, e);
	else if (st == ST_OK && ver == 3)
		st = scalar_int(db, "SELECT usn FROM meta", &v, e);
	else if (st == ST_OK && ver != 0)
		st = errinfo_set(e, ST_VERSION, "media db schema %lld", (long long)ver);
	if (st == ST_NOTFOUND)
		st = ST_OK, v = 0;
	sqlite3_close(db);
	if (st) {
		errinfo_prefix(e, "%s", path);
		return st;
	}
	*usn = (int32_t)v;
	return ST_OK;
}
