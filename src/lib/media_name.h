/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_name.h - which media file names the sync server accepts, and the
 * names of its own temporary files in a user's media folder
 * (sync-protocol.md §5.4, §5.9; collection-format.md §8.3).
 *
 * A client name is stored as one file in the flat media folder, so it must
 * be a single safe path component.  The official server checks only: at
 * most 255 bytes, Unicode NFC, no '/'.  We add what its own RECOMMENDATION
 * asks of a C server: not empty, not "." or "..", no '\\', no NUL, valid
 * UTF-8.  No client that normalises names (§5.9) ever produces a name we
 * refuse.
 *
 * Temporary files live in the media folder (so rename() is atomic) under
 * names that begin with MEDIA_TMP_PREFIX.  The prefix holds "e" followed by
 * U+0301 (combining acute), which NFC composes to U+00E9: a name containing
 * it is not NFC, so media_name_check refuses it and no client upload can
 * ever create, replace or collide with a temporary file.  That is what lets
 * recovery delete every file with the prefix without a second look.
 */
#ifndef ANKIHOST_MEDIA_NAME_H
#define ANKIHOST_MEDIA_NAME_H

#include <stddef.h>

#include "status.h"

/* Longest name the server accepts (MAX_MEDIA_FILENAME_LENGTH_SERVER). */
#define MEDIA_NAME_MAX 255

/* ".ankihost-tmp-" "e" U+0301 "." - never NFC, see above. */
#define MEDIA_TMP_PREFIX ".ankihost-tmp-e\xcc\x81."

/* Is name one of our temporary files (prefix match)? */
int media_name_is_tmp(const char *name);

/* The upload rule: name[0..len) is 1..255 bytes of valid UTF-8 in NFC,
 * contains no '/', '\\' or NUL and is not "." or "..".  ST_INVALID with
 * the reason otherwise (the official server answers 400 for these). */
enum status media_name_check(const char *name, size_t len, struct errinfo *e);

/* Is s (NUL-terminated, valid UTF-8) in NFC?  -1 when it is not UTF-8 or
 * memory ran out, 0 no, 1 yes. */
int media_name_is_nfc(const char *s, size_t len);

#endif
