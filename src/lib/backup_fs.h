/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_fs.h - file-system helpers for anki-backup: a stat key that says
 * "this file has not changed", recursive removal that never follows
 * symbolic links, the destination lock, durable flushing, and hex.
 *
 * Nothing here interprets snapshot contents; see docs/backup.md for the
 * layout these helpers serve.
 */
#ifndef ANKIHOST_BACKUP_FS_H
#define ANKIHOST_BACKUP_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "status.h"

/* What we remember of a source file to decide, on the next run, that it is
 * unchanged without reading it.  Equal keys mean "same file, same bytes"
 * as long as writers go through write(2) (mtime and ctime move) — the
 * SQLite fast path adds a time margin on top, see backup_create.c. */
struct backup_stat {
	int present;
	uint64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint64_t ino;
};

/* Fill k from sb (present = 1). */
void backup_stat_from(struct backup_stat *k, const struct stat *sb);
/* lstat path into k; a missing file gives present = 0 and ST_OK. */
enum status backup_stat_path(struct backup_stat *k, const char *path, struct errinfo *e);
int backup_stat_equal(const struct backup_stat *a, const struct backup_stat *b);

/* CLOCK_REALTIME in nanoseconds. */
int64_t backup_now_ns(void);

/* Remove dir/name and everything below it.  Symbolic links are removed, not
 * followed; other file systems below are not entered.  A missing name is
 * ST_OK. */
enum status backup_fs_rmtree(int dirfd, const char *name, struct errinfo *e);

/* Take an exclusive (or shared) flock on dir/.anki-backup.lock without
 * waiting.  On success *fd_out holds the lock until closed.  ST_BUSY when
 * another process holds it. */
enum status backup_fs_lock(const char *dir, int exclusive, int *fd_out, struct errinfo *e);

/* Flush the whole file system that holds path (syncfs), then fsync the
 * directory path itself.  One call replaces thousands of fsyncs; since
 * Linux 5.8 syncfs reports write-back errors. */
enum status backup_fs_sync(const char *path, struct errinfo *e);

/* Make a directory (mode 0700) that must not exist yet (ST_EXISTS). */
enum status backup_fs_mkdir(const char *path, struct errinfo *e);

/* Hard-link from -> to; when the file system refuses links (EXDEV, EPERM,
 * EMLINK, ENOTSUP, ENOSYS) copy the bytes instead and set *copied = 1. */
enum status backup_fs_link_or_copy(const char *from, const char *to, int *copied,
                                   struct errinfo *e);

/* Is dir empty (or missing)?  Returns 1 empty, 0 not empty, -1 error. */
int backup_fs_dir_empty(const char *dir);

/* snprintf into a path buffer; ST_TOOBIG instead of a silent truncation. */
enum status backup_pathf(char *out, size_t cap, struct errinfo *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Lower-case hex of in[0..n) into out (2n+1 bytes). */
void backup_hex(char *out, const unsigned char *in, size_t n);
/* Parse exactly 2n hex digits into out; 0 on success, -1 otherwise. */
int backup_unhex(unsigned char *out, size_t n, const char *hex);

/* Is s[0..len) valid UTF-8 (no overlongs, no surrogates)? */
int backup_utf8_ok(const char *s, size_t len);

#endif
