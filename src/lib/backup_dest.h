/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_dest.h - the backup destination directory: which entries are
 * snapshots, naming new ones, leftovers of interrupted runs, removal.
 *
 * Layout (docs/backup.md "Layout"):
 *   DEST/.anki-backup.lock        flock: one writer at a time
 *   DEST/<YYYYMMDDTHHMMSSZ>[-N]/  complete snapshots (renamed into place)
 *   DEST/.tmp-<name>/             a snapshot being written (or abandoned)
 *   DEST/.del-<name>/             a snapshot being removed
 * Only names of the first form count as snapshots; the dot-names are
 * invisible to `list` and removed by the next `create`.
 */
#ifndef ANKIHOST_BACKUP_DEST_H
#define ANKIHOST_BACKUP_DEST_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define BACKUP_TMP_PREFIX ".tmp-"
#define BACKUP_DEL_PREFIX ".del-"
#define BACKUP_SNAPNAME_MAX 32

struct backup_snapref {
	char name[BACKUP_SNAPNAME_MAX];
	int64_t created; /* from the manifest header; 0 when unreadable */
	int readable;    /* the manifest header could be read */
	int encrypted;
	char problem[256]; /* why it is unreadable */
};

/* Is name a snapshot directory name (YYYYMMDDTHHMMSSZ with optional -N)? */
int backup_dest_name_ok(const char *name);

/* Every snapshot directory of dest, oldest first (by created time, then
 * name; unreadable ones by name time).  Caller frees *out. */
enum status backup_dest_scan(const char *dest, struct backup_snapref **out, size_t *n,
                             struct errinfo *e);

/* Remove leftovers (.tmp-*, .del-*) of earlier runs; *removed counts them.
 * Call only with the exclusive lock held. */
enum status backup_dest_cleanup(const char *dest, int *removed, struct errinfo *e);

/* Remove snapshot name: rename to .del-name (so it vanishes at once and a
 * crash leaves only a leftover), fsync dest, then delete the tree. */
enum status backup_dest_remove(const char *dest, const char *name, struct errinfo *e);

/* A fresh snapshot name for time t (UTC) that does not exist in dest yet
 * (neither as a snapshot nor as a leftover). */
enum status backup_dest_new_name(const char *dest, int64_t t, char *out, size_t cap,
                                 struct errinfo *e);

/* Resolve a user's argument ("latest" or a snapshot name) to a readable
 * snapshot of refs; returns its index or -1 with e set. */
long backup_dest_resolve(const struct backup_snapref *refs, size_t n, const char *arg,
                         struct errinfo *e);

#endif
