/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup.h - anki-backup's commands as library calls: create a snapshot of
 * a sync server's data (sync-protocol.md §6.2 layout, §5.7 media DB), list,
 * verify and restore snapshots.  The program src/anki-backup/ only parses
 * arguments and maps results to exit codes; the format is docs/backup.md.
 *
 * Guarantees of backup_create:
 *   - databases are copied online (SQLite backup API, one read
 *     transaction each) while the server keeps running;
 *   - the media folder is captured consistently with the copied media.db:
 *     every file it lists as present is in the snapshot with the SHA-1 it
 *     records (re-checked up to BACKUP_MEDIA_ATTEMPTS times), except where
 *     the source itself lacks a listed file (counted as "missing");
 *   - a snapshot appears under its final name only once complete and
 *     flushed; an interrupted run leaves a .tmp- directory that the next
 *     run removes;
 *   - nothing is written or pruned when the source is missing or holds no
 *     user data; pruning happens only after a successful snapshot and
 *     never removes the newest one.
 */
#ifndef ANKIHOST_BACKUP_H
#define ANKIHOST_BACKUP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "backup_retention.h"
#include "status.h"

/* How often media.db is copied again (and the files whose rows changed
 * re-read) while a writer races with us.  Each attempt after the first
 * costs a few milliseconds; under a steady upload stream 40 attempts find
 * a quiet moment; failing that the run fails (ST_CONFLICT) rather than
 * store a media.db that claims files it does not hold. */
#define BACKUP_MEDIA_ATTEMPTS 40
/* The SQLite fast path ("database unchanged since the last snapshot") only
 * trusts a modification time at least this old when it was recorded, so a
 * write within the file system's timestamp granularity cannot hide. */
#define BACKUP_MTIME_MARGIN_NS (2LL * 1000000000LL)

struct backup_create_opts {
	const char *source; /* SYNC_BASE */
	const char *dest;   /* must exist */
	const char *const *recipients; /* age recipients (-r), may be NULL */
	size_t nrecipients;
	const char *recipients_file; /* age -R file, may be NULL */
	const char *age;             /* program name or path; NULL = "age" */
	struct backup_policy keep;
	int full;         /* store everything anew (no reuse of the last snapshot) */
	int zstd_level;   /* 0 = 3 */
	int zstd_workers; /* threads for large files; 0 = none */
	int busy_ms;      /* how long a locked database may delay us */
	int64_t now;      /* snapshot time in seconds; 0 = the clock (tests fake it) */
	volatile sig_atomic_t *stop; /* non-zero: abandon the run (signal) */
};

struct backup_create_result {
	char snapshot[32];
	int refused;   /* source missing or empty: nothing was touched */
	int damaged;   /* a source database failed quick_check: snapshot kept, no pruning */
	size_t users, files;
	uint64_t bytes;            /* content bytes in the snapshot */
	uint64_t new_stored_bytes; /* bytes written (not linked from the last snapshot) */
	size_t linked;             /* stored files reused from the last snapshot */
	size_t pruned, kept;
	double seconds;
};

/* Statuses: ST_OK (also when damaged; check r->damaged), ST_NOTFOUND with
 * r->refused for a missing/empty source, ST_BUSY when another run holds
 * the lock, ST_IO/ST_PERM for destination trouble (full disk included),
 * ST_CORRUPT/ST_BUSY/ST_DB for a source database that cannot be copied. */
enum status backup_create(const struct backup_create_opts *o, struct backup_create_result *r,
                          struct errinfo *e);

struct backup_verify_opts {
	const char *dest;
	const char *snapshot; /* NULL = all snapshots, "latest", or a name */
	const char *identity; /* age identity file for encrypted snapshots */
	const char *age;
	int stored_only;      /* encrypted without identity: check stored bytes only */
	const char *tmpdir;   /* where databases are unpacked for integrity_check */
	volatile sig_atomic_t *stop;
};

struct backup_verify_result {
	size_t snapshots, good, bad;
	size_t problems;
};

/* ST_OK when every chosen snapshot verified; ST_CORRUPT when problems were
 * found (each logged, one line per problem, one line per snapshot);
 * ST_INVALID for an encrypted snapshot without identity or stored_only. */
enum status backup_verify(const struct backup_verify_opts *o, struct backup_verify_result *r,
                          struct errinfo *e);

struct backup_restore_opts {
	const char *dest;
	const char *snapshot; /* "latest" or a name */
	const char *target;   /* new SYNC_BASE */
	const char *user;     /* NULL = every user */
	const char *identity;
	const char *age;
	int force;            /* target not empty: move clashing user dirs aside */
	volatile sig_atomic_t *stop;
};

struct backup_restore_result {
	size_t users, files;
	uint64_t bytes;
};

/* ST_EXISTS when target is not empty and !force; ST_CORRUPT when a stored
 * file does not match the manifest (nothing of that user is put in place). */
enum status backup_restore(const struct backup_restore_opts *o, struct backup_restore_result *r,
                           struct errinfo *e);

/* Print one line per snapshot to out. */
enum status backup_list(const char *dest, FILE *out, struct errinfo *e);

#endif
