/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_db.h - the server media database <SYNC_BASE>/<user>/media.db,
 * byte-compatible with the official server (sync-protocol.md §5.7).
 *
 * Schema 4 (PRAGMA user_version = 4):
 *   media(fname text NOT NULL PRIMARY KEY, csum blob NOT NULL,
 *         size int NOT NULL, usn int NOT NULL, mtime int NOT NULL)
 *   index ix_usn ON media (usn)
 *   meta(last_usn int NOT NULL, total_bytes int NOT NULL,
 *        total_nonempty_files int NOT NULL)      -- exactly one row
 * A row with size 0 is a deletion (csum kept); size > 0 a live file whose
 * raw 20-byte SHA-1 is csum.  meta.last_usn is the media USN: it starts at
 * 0, grows by one per real change, and never decreases (here not even on
 * the v3 upgrade, see media_db.c).  The totals count live rows only.
 *
 * Pragmas: journal_mode=wal (persistent, as the official server leaves
 * it); locking_mode=normal unless MEDIA_DB_EXCLUSIVE (the official server
 * keeps one connection per user open for the life of the process with
 * exclusive locking; anki-sync-server keeps one per active user, closes it
 * when the user is idle, and serialises writers with its per-user lock and
 * the admin flock, so that `meta`, backups and anki-sync-admin can read
 * and write in between).
 * The on-disk format does not depend on the locking mode.
 *
 * Every function takes an open handle; none is thread-safe on one handle.
 */
#ifndef ANKIHOST_MEDIA_DB_H
#define ANKIHOST_MEDIA_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "media_name.h"
#include "status.h"

#define MEDIA_DB_FILE "media.db"
#define MEDIA_DB_SCHEMA 4
#define MEDIA_SHA1_LEN 20
/* Rows per mediaChanges reply (changes.sql LIMIT). */
#define MEDIA_CHANGES_MAX 1000
/* Truncate the WAL once a commit leaves this many frames (4 KiB pages) in
 * it; see media_db.c. */
#define MEDIA_WAL_CKPT_FRAMES 256
/* How long a writer waits for another process (anki-sync-admin). */
#define MEDIA_DB_BUSY_MS 5000

enum media_db_flag {
	MEDIA_DB_CREATE = 1u << 0,      /* create a missing file (schema 4) */
	MEDIA_DB_READONLY = 1u << 1,    /* no upgrade, no writes */
	MEDIA_DB_EXCLUSIVE = 1u << 2,   /* locking_mode=exclusive, as the official server */
	MEDIA_DB_SYNC_NORMAL = 1u << 3, /* synchronous=NORMAL (commit not fsynced) */
};

struct media_meta {
	int32_t last_usn;
	int64_t total_bytes;
	int64_t total_nonempty_files;
};

struct media_row {
	char fname[MEDIA_NAME_MAX + 1]; /* NUL-terminated */
	size_t fname_len;
	unsigned char csum[MEDIA_SHA1_LEN];
	size_t csum_len; /* 20 unless the stored blob is damaged */
	int64_t size;    /* 0 = deleted */
	int32_t usn;
	int64_t mtime; /* seconds */
};

struct media_db;

/* Open (and with MEDIA_DB_CREATE create) the media DB at path; schema 3
 * is upgraded to 4 unless READONLY.  ST_NOTFOUND: missing without CREATE;
 * ST_VERSION: user_version > 4 or an unknown layout; ST_CORRUPT: not a
 * database or no meta row; ST_BUSY: locked by another process beyond
 * MEDIA_DB_BUSY_MS.  *out is freed with media_db_close. */
enum status media_db_open(const char *path, unsigned flags, struct media_db **out,
                          struct errinfo *e);
/* Close (rolling back an open transaction).  A writable handle that
 * committed nothing first folds a leftover WAL into the database
 * (truncating checkpoint), so the next opens need not read it again. */
void media_db_close(struct media_db *db);
sqlite3 *media_db_sqlite(struct media_db *db);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Rollback is safe without a
 * transaction. */
enum status media_db_begin(struct media_db *db, struct errinfo *e);
/* A read transaction (BEGIN DEFERRED): consecutive reads see one state and
 * take the WAL read lock once, not once per statement.  End it with
 * media_db_commit. */
enum status media_db_begin_read(struct media_db *db, struct errinfo *e);
enum status media_db_commit(struct media_db *db, struct errinfo *e);
void media_db_rollback(struct media_db *db);

enum status media_db_get_meta(struct media_db *db, struct media_meta *out, struct errinfo *e);
enum status media_db_set_meta(struct media_db *db, const struct media_meta *in, struct errinfo *e);

/* PRAGMA data_version: changes when another connection (any process)
 * commits to the DB, never for this handle's own commits.  Outside a
 * transaction. */
enum status media_db_data_version(struct media_db *db, int64_t *out, struct errinfo *e);

/* The row for fname, deleted or not; ST_NOTFOUND when there is none. */
enum status media_db_get(struct media_db *db, const char *fname, size_t len, struct media_row *r,
                         struct errinfo *e);
/* Insert or replace r (fname, csum, size, usn, mtime). */
enum status media_db_put(struct media_db *db, const struct media_row *r, struct errinfo *e);
/* Delete the row of fname (no USN change: "forget"). */
enum status media_db_delete(struct media_db *db, const char *fname, size_t len, struct errinfo *e);
/* Delete every row. */
enum status media_db_clear(struct media_db *db, struct errinfo *e);

/* Callback for row walks: return non-zero to stop (the walk then returns
 * ST_OK with *stopped set where the function has one). */
typedef int (*media_db_row_fn)(void *arg, const struct media_row *r);

/* Up to limit live rows (size > 0) with usn > after, ascending usn, into
 * rows[0..*n). */
enum status media_db_live_after(struct media_db *db, int32_t after, struct media_row *rows,
                                size_t limit, size_t *n, struct errinfo *e);
/* *n = the number of live rows with lo <= usn <= hi. */
enum status media_db_live_count(struct media_db *db, int32_t lo, int32_t hi, int64_t *n,
                                struct errinfo *e);

/* mediaChanges rows: usn > after, ascending usn, at most limit (<= 1000)
 * rows.  If the row after the limit shares the last row's usn, the
 * trailing group of equal usns is left for the next call (the client
 * resumes strictly after the last usn it saw), unless that would leave
 * nothing. */
enum status media_db_changes(struct media_db *db, int32_t after, size_t limit, media_db_row_fn fn,
                             void *arg, struct errinfo *e);
/* Every row (live and deleted), in fname order. */
enum status media_db_each(struct media_db *db, media_db_row_fn fn, void *arg, struct errinfo *e);
/* Number of rows, and the real totals of the live ones (for checks). */
enum status media_db_count(struct media_db *db, int64_t *rows, struct media_meta *actual,
                           struct errinfo *e);

/* Read-only: the media USN of a user directory (meta.last_usn; 0 when
 * there is no media.db; schema 3's meta.usn).  For `meta` (§3.1): it must
 * equal what begin reports. */
enum status media_db_read_usn(const char *userdir, int32_t *usn, struct errinfo *e);

#endif
