/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_sqlite.h - the SQLite side of anki-backup: online copies through
 * the backup API, integrity checks with the "unicase" collation, and the
 * list of media files a server media DB claims (sync-protocol.md §5.7).
 *
 * Source databases are opened read-only and never written: the server may
 * be running (WAL mode, normal locking).  A server that keeps its files in
 * locking_mode=exclusive (the official one does) cannot be read while it
 * runs; the copy then fails with ST_BUSY after busy_ms and says so.
 */
#ifndef ANKIHOST_BACKUP_SQLITE_H
#define ANKIHOST_BACKUP_SQLITE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Copy the database at src (with its -wal) into dst, which must not exist,
 * as one consistent snapshot: sqlite3_backup_step(-1) runs inside a single
 * read transaction, so concurrent writers neither block nor tear it. */
enum status backup_sqlite_copy(const char *src, const char *dst, int busy_ms, struct errinfo *e);

/* Run PRAGMA quick_check (full = 0) or integrity_check (full = 1) on path,
 * with unicase registered.  *ok = 1 when SQLite answers "ok"; otherwise
 * msg gets its first lines.  A file that is not a database gives *ok = 0
 * and ST_OK (it is a finding, not a failure of the check). */
enum status backup_sqlite_check(const char *path, int full, int *ok, char *msg, size_t msgcap,
                                struct errinfo *e);

/* One present file according to a media DB. */
struct backup_listed {
	char *name; /* owned, NUL-terminated; name_len counts every byte */
	size_t name_len;
	int csum_ok; /* csum was 20 bytes */
	unsigned char sha1[20];
};

/* The files media.db at path lists as present (size > 0), sorted by name
 * bytes.  Schema 4 (media.size) and schema 3 (media.sz, deleted) are read.
 * ST_NOTFOUND when the file holds no media table.  Caller frees with
 * backup_listed_free. */
enum status backup_sqlite_media_list(const char *path, struct backup_listed **out, size_t *n,
                                     struct errinfo *e);
void backup_listed_free(struct backup_listed *l, size_t n);

/* Find name[0..len) in a sorted list; NULL when absent. */
const struct backup_listed *backup_listed_find(const struct backup_listed *l, size_t n,
                                               const char *name, size_t len);

/* Compare two byte strings (memcmp, then length): the order of the lists. */
int backup_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
