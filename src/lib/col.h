/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col.h - an Anki collection file: open (upgrading 11..17 to 18), create a
 * new empty one as Anki does, close (optionally downgrading to 11), and the
 * transaction and usn rules every writer follows.
 * Spec: collection-format.md §1.1 (pragmas, locking), §4 (versions,
 * upgrade, downgrade), §5 (creation), §7.3 (usn).
 *
 * Locking: like Anki, a collection is opened with locking_mode=exclusive and
 * busy_timeout 0, and the write lock is taken at open, so a collection that
 * another process holds (Anki desktop, another server) fails at once with
 * ST_BUSY instead of corrupting or hanging.
 *
 * Modes: a client writer stamps changed objects with usn -1 (pending sync);
 * a server stamps them with the current col.usn (COL_SERVER).
 */
#ifndef ANKIHOST_COL_H
#define ANKIHOST_COL_H

#include <sqlite3.h>
#include <stdint.h>

#include "status.h"

#define COL_SCHEMA_MIN 11
#define COL_SCHEMA_CUR 18

enum col_flags {
	COL_CREATE = 1 << 0,     /* create a new collection when the file is missing or empty */
	COL_SERVER = 1 << 1,     /* server mode: usn = col.usn, creationOffset null */
	COL_READONLY = 1 << 2,   /* inspect only: no upgrade, no writes, no lock */
	COL_NO_UPGRADE = 1 << 3, /* refuse (ST_VERSION) instead of upgrading an older schema */
	COL_SHARED = 1 << 4,     /* normal locking (several connections of ours) */
};

struct col;

/* Open path.  On success *out owns the connection; free with col_close.
 * Statuses: ST_NOTFOUND (missing and no COL_CREATE), ST_BUSY (held by
 * another process), ST_CORRUPT (not SQLite, or not a collection),
 * ST_VERSION (schema < 11, 12, 13 or > 18; the message names it), ST_DB. */
enum status col_open(const char *path, unsigned flags, struct col **out, struct errinfo *e);

/* Open a private, upgraded copy of path (SQLite backup API into a
 * temporary file), leaving path untouched; the copy is deleted by
 * col_close.  For read-only work on files of any supported schema. */
enum status col_open_copy(const char *path, struct col **out, struct errinfo *e);

/* Checkpoint and close.  NULL-safe. */
void col_close(struct col *c);

/* Downgrade to schema 11 (§4.3), set journal_mode=delete and close.  The
 * collection is closed in every case. */
enum status col_close_downgraded(struct col *c, struct errinfo *e);

/* Create a new empty collection at path (which must not exist), §5. */
enum status col_create(const char *path, unsigned flags, struct errinfo *e);

sqlite3 *col_db(const struct col *c);
const char *col_path(const struct col *c);
/* The schema version the file had when opened (before any upgrade). */
int col_opened_version(const struct col *c);
int col_is_server(const struct col *c);

/* usn for objects changed now: -1 for a client, col.usn for a server. */
int32_t col_usn(struct col *c);

/* Transactions (not nested; savepoint-free). col_rollback is safe to call
 * when no transaction is open. */
enum status col_begin(struct col *c, struct errinfo *e);
enum status col_commit(struct col *c, struct errinfo *e);
void col_rollback(struct col *c);

/* col row values. */
struct col_meta {
	int64_t crt, mod, scm, ls;
	int32_t ver, usn;
};
enum status col_meta_get(struct col *c, struct col_meta *m, struct errinfo *e);
/* Mark the collection modified (col.mod = now ms). */
enum status col_touch(struct col *c, struct errinfo *e);
/* Schema change: col.scm = now ms (forces a full sync), and mod. */
enum status col_touch_schema(struct col *c, struct errinfo *e);

/* Time sources, overridable for tests through ANKIHOST_FAKE_NOW_MS
 * (read once per call; the only test hook). */
int64_t col_now_ms(void);
int64_t col_now_secs(void);

/* Run a SQL statement without results; ST_DB with the SQLite message. */
enum status col_exec(struct col *c, const char *sql, struct errinfo *e);

/* Map a SQLite result to a status + message ("what: sqlite says"). */
enum status col_sqlite_err(sqlite3 *db, int rc, struct errinfo *e, const char *what);

/* Smallest free id >= want in table (id column): Anki's "max(id)+1 when
 * taken" rule (§7.1). */
enum status col_alloc_id(struct col *c, const char *table, int64_t want, int64_t *out,
                         struct errinfo *e);

#endif
