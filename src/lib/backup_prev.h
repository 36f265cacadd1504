/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_prev.h - the previous snapshot as a lookup table, and the state of
 * one `create` run that the database and media steps share.
 *
 * Reuse rule: a stored file of the previous snapshot is hard-linked into
 * the new one only when (1) both snapshots use the same encryption
 * recipients, (2) the stored file still has the size and mtime the
 * manifest recorded (it was not replaced or truncated behind our back),
 * and (3) the content is known to be equal: same source stat key, or the
 * same SHA-1 (media), or the same SHA-256 (databases).
 */
#ifndef ANKIHOST_BACKUP_PREV_H
#define ANKIHOST_BACKUP_PREV_H

#include <stddef.h>
#include <stdint.h>

#include "backup.h"
#include "backup_manifest.h"
#include "backup_stream.h"
#include "bounds.h"
#include "status.h"

struct backup_prev {
	struct backup_manifest m;
	char dir[MAX_PATH_BYTES]; /* DEST/<name> */
	const struct backup_entry **by_name; /* kind, user, name */
	const struct backup_entry **by_sha1; /* media only: user, sha1 */
	size_t nmedia;
};

/* Load snapshot dir as the reuse base.  Caller frees with backup_prev_free. */
enum status backup_prev_load(struct backup_prev **out, const char *dir, struct errinfo *e);
void backup_prev_free(struct backup_prev *p);

const struct backup_entry *backup_prev_find_name(const struct backup_prev *p,
                                                 enum backup_kind kind, const char *user,
                                                 size_t user_len, const char *name,
                                                 size_t name_len);
const struct backup_entry *backup_prev_find_sha1(const struct backup_prev *p, const char *user,
                                                 size_t user_len, const unsigned char sha1[20]);

/* Is the stored file of en still what the manifest says (size, mtime)?
 * Fills path with its full name. */
int backup_prev_object_ok(const struct backup_prev *p, const struct backup_entry *en, char *path,
                          size_t cap);

/* Shared by the steps of one create run. */
struct backup_run {
	const struct backup_create_opts *o;
	struct backup_codec *codec;
	char *const *age_argv; /* encrypting argv, NULL = none */
	int encrypted;
	struct backup_prev *prev; /* NULL: store everything */
	char tmpdir[MAX_PATH_BYTES];
	uint64_t new_stored_bytes;
	size_t linked;
	int warned_copy; /* a link was refused and the file copied (said once) */
};

/* The run was asked to stop (signal). */
int backup_run_stopped(const struct backup_run *run);

/* Link (or, where links are refused, copy) the stored file from to dst and
 * count it.  from_mtime_ns is from's mtime (checked by the caller with
 * backup_prev_object_ok); *mtime_ns receives dst's: the same for a link, its
 * own for a copy. */
enum status backup_run_reuse(struct backup_run *run, const char *from, const char *dst,
                             int64_t from_mtime_ns, int64_t *mtime_ns, struct errinfo *e);

#endif
