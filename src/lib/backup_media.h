/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_media.h - a user's media folder and media DB into a snapshot,
 * consistent with each other although the server may be changing both.
 *
 * Consistency rule (sync-protocol.md §5.7, §8.5 item 45): a restored server
 * must never have a media DB that claims a file which is not on disk with
 * the recorded SHA-1.  The server writes a file before recording it, so
 * this step copies media.db first, then reads the folder, then checks every
 * file the copy lists as present; when one is missing or differs (changed
 * after the copy) it copies media.db again and re-reads what changed, up to
 * BACKUP_MEDIA_ATTEMPTS times.  Files present but not (yet) listed are kept
 * too (flagged "listed": false) so that nothing on disk is lost.
 *
 * Storage: content addressed per user, users/<user>/media/<sha1>.zst[.age];
 * one stored file per distinct content, shared by hard link with the
 * previous snapshot when the content is the same.
 */
#ifndef ANKIHOST_BACKUP_MEDIA_H
#define ANKIHOST_BACKUP_MEDIA_H

#include <stddef.h>

#include "backup_manifest.h"
#include "backup_prev.h"
#include "status.h"

struct backup_media_out {
	struct backup_entry *files; /* owned, sorted by name */
	size_t nfiles;
	struct backup_entry mediadb; /* valid when have_mediadb */
	int have_mediadb;
	size_t unlisted, missing;
	int damaged; /* media.db failed quick_check */
};

/* srcdir = SYNC_BASE/<user>, dstdir = <snapshot tmp>/users/<user> (exists).
 * The media folder (srcdir/media) and media.db may each be absent. */
enum status backup_media_user(struct backup_run *run, const char *user, const char *srcdir,
                              const char *dstdir, struct backup_media_out *out,
                              struct errinfo *e);
void backup_media_out_free(struct backup_media_out *out);

#endif
