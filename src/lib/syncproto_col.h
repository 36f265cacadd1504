/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * syncproto_col.h - what the sync server (and anki-sync-admin) do to a
 * collection file as a whole: open it with the right settings, check that
 * an uploaded file really is a sound Anki collection, read the numbers
 * `meta` reports, bump the usn before a full download, make the file
 * self-contained before it is replaced or copied, and snapshot it for
 * streaming (sync-protocol.md §3.1, §4, §6.2, §8.6; collection-format.md
 * §1.1, §4.1).
 *
 * Files may be in WAL or rollback-journal mode; SQLite connections opened
 * here register the unicase collation (schema 18 needs it for
 * integrity_check) and run with defensive settings, because uploaded files
 * come from clients.
 */
#ifndef ANKIHOST_SYNCPROTO_COL_H
#define ANKIHOST_SYNCPROTO_COL_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>

#include "status.h"

#define SYNCPROTO_COL_FILE "collection.anki2"
#define SYNCPROTO_MEDIA_DB "media.db"
#define SYNCPROTO_BUSY_MS 5000 /* wait this long for another process (admin) */

struct syncproto_col_info {
	int ver;     /* col.ver */
	int64_t crt; /* seconds */
	int64_t mod; /* ms */
	int64_t scm; /* ms */
	int64_t ls;  /* ms */
	int32_t usn;
	int has_cards;                /* at least one card */
	int sched_v2;                 /* config schedVer >= 2 */
	int new_tz;                   /* config creationOffset is set (not null) */
	int64_t notes, cards, revlog; /* counts (filled by syncproto_col_check) */
};

/* Open an existing collection read-write with unicase, defensive mode,
 * untrusted schema and a busy timeout.  ST_NOTFOUND when path is missing,
 * ST_CORRUPT when it is not a database. */
enum status syncproto_col_open(const char *path, sqlite3 **db, struct errinfo *e);

/* Read the col row and the scheduler/timezone config (§3.1).  ST_CORRUPT
 * when the file is not a collection. */
enum status syncproto_col_info(sqlite3 *db, struct syncproto_col_info *info, struct errinfo *e);

/* Is path a sound Anki collection?  Checks, in order: SQLite header,
 * PRAGMA integrity_check == "ok", one col row with ver in 11, 14..18, the
 * tables of that schema version with the columns Anki reads, no triggers
 * or views.  ST_CORRUPT with the reason otherwise (also for anything else
 * SQLite refuses in the file).  When cancel
 * is non-NULL and becomes non-zero the check stops with ST_BUSY.  info (may
 * be NULL) receives the numbers and counts. */
enum status syncproto_col_check(const char *path, const atomic_int *cancel,
                                struct syncproto_col_info *info, struct errinfo *e);

/* Make path self-contained: if it exists, open it (recovering a hot
 * journal or WAL), checkpoint, close, and remove empty -wal/-shm/-journal
 * side files.  Afterwards the main file alone holds the whole database, so
 * it may be renamed over or copied.  A missing file is ST_OK. */
enum status syncproto_col_quiesce(const char *path, struct errinfo *e);

/* In one transaction: col.usn += 1 and col.mod = now_ms (the official
 * full download does both, §4.2). */
enum status syncproto_col_bump_usn(sqlite3 *db, int64_t now_ms, struct errinfo *e);

/* Copy the (quiesced) file at path into an unnamed temporary file in the
 * same directory; *fd is positioned at 0, *size its length.  The copy
 * vanishes when fd is closed. */
enum status syncproto_col_snapshot(const char *path, int *fd, uint64_t *size, struct errinfo *e);

/* The media USN of a user directory: meta.last_usn of media.db (schema v4;
 * v3's meta.usn), 0 when there is no media.db. */
enum status syncproto_col_media_usn(const char *userdir, int32_t *usn, struct errinfo *e);

#endif
