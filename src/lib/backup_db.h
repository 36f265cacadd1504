/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_db.h - one SQLite database of a user (collection.anki2 or
 * media.db) into a snapshot: online copy to a raw temporary file, quick
 * check, compression (and encryption) into users/<user>/<name>.zst[.age].
 *
 * Fast path: when the database and its -wal have the same stat key as when
 * the previous snapshot copied them, and that key was recorded at least
 * BACKUP_MTIME_MARGIN_NS after their last modification, nothing can have
 * been written since, and the previous stored file is hard-linked instead.
 * Content-equal copies (same SHA-256 of the raw copy) are linked too.
 */
#ifndef ANKIHOST_BACKUP_DB_H
#define ANKIHOST_BACKUP_DB_H

#include "backup_manifest.h"
#include "backup_prev.h"
#include "status.h"

/* A raw copy of one database, taken at stat_ns with the source's stat keys
 * from just before the copy. */
struct backup_db_raw {
	char path[MAX_PATH_BYTES];
	struct backup_stat src, wal;
	int64_t stat_ns;
};

/* Copy srcdir/name into raw_path (online, consistent). */
enum status backup_db_copy(struct backup_run *run, const char *srcdir, const char *name,
                           const char *raw_path, struct backup_db_raw *raw, struct errinfo *e);

/* Check and store a raw copy as dstdir/<name>.zst[.age]; fill en.  The raw
 * file is removed afterwards.  *damaged is set when quick_check failed. */
enum status backup_db_store_raw(struct backup_run *run, const char *user, const char *dstdir,
                                const char *name, struct backup_db_raw *raw,
                                struct backup_entry *en, int *damaged, struct errinfo *e);

/* Both steps, with the fast path first: the usual way for collection.anki2. */
enum status backup_db_store(struct backup_run *run, const char *user, const char *srcdir,
                            const char *dstdir, const char *name, struct backup_entry *en,
                            int *damaged, struct errinfo *e);

#endif
