/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ac_media.h - a collection's media folder as AnkiConnect's media actions
 * see it (ankiconnect.md §3.4; collection-format.md §8): Anki's filename
 * normalisation, its unique-add rule (same bytes reuse the name, other
 * bytes get "-<sha1>"), the media trash, and glob listing.
 *
 * Names come from clients and are hostile: every name is normalised or
 * reduced to one safe path component (path.h) before it touches the file
 * system, so "../x", "/etc/passwd", NUL bytes and separators can never
 * reach outside the folder.  Writes are atomic (afile.h).
 */
#ifndef ANKIHOST_AC_MEDIA_H
#define ANKIHOST_AC_MEDIA_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "status.h"

/* Anki's longest normalised media name (bytes). */
#define AC_MEDIA_NAME_MAX 120
/* Largest media file we store or read (Anki's media scan skips files over
 * 100 MiB, so larger ones would never sync). */
#define AC_MEDIA_FILE_MAX (100u * 1024 * 1024)

/* The media folder of a collection path: a trailing ".anki2" (any case)
 * replaced by ".media", else ".media" appended.  ST_TOOBIG. */
enum status ac_media_dir_for(const char *col_path, char *out, size_t cap, struct errinfo *e);

/* Anki's normalize_filename (§8.3 rules 1-6): NFC; remove [ ] < > : " / ?
 * * ^ \ | , control characters and unassigned code points; U+00A0 ->
 * space; "_" after a Windows device name and after a trailing space or
 * dot; at most 120 bytes keeping the extension.  out is reset.  Invalid
 * UTF-8 is read as U+FFFD.  ST_INVALID when nothing usable remains
 * (e.g. "", "..", "///"). */
enum status ac_media_normalize(const char *name, size_t len, struct buf *out, struct errinfo *e);

/* The lookup rule of retrieveMediaFile / deleteMediaFile: the part after
 * the last '/', NFC, without [ ] < > : " / ? * ^ \ | NUL CR LF.  out is
 * reset.  ST_INVALID when the result is not a safe single component
 * (empty, ".", ".."). */
enum status ac_media_lookup_name(const char *name, size_t len, struct buf *out, struct errinfo *e);

/* Store data under (a normalised form of) name with Anki's unique-add
 * rule; lower_case applies the Anki 26.05 step that retries a name with
 * upper-case letters in lower case.  *stored (caller frees) is the name
 * used.  ST_INVALID (bad name), ST_IO. */
enum status ac_media_add(const char *dir, const char *name, size_t nlen, const void *data,
                         size_t len, bool lower_case, char **stored, struct errinfo *e);

/* Move dir/<lookup name> to the media trash (a "media.trash" folder
 * beside dir).  A missing file is not an error.  ST_INVALID, ST_IO. */
enum status ac_media_trash(const char *dir, const char *name, size_t len, struct errinfo *e);

/* Read dir/<lookup name> (at most AC_MEDIA_FILE_MAX bytes) into out
 * (initialised here).  ST_NOTFOUND when absent, ST_TOOBIG, ST_INVALID. */
enum status ac_media_read(const char *dir, const char *name, size_t len, struct buf *out,
                          struct errinfo *e);

/* Names of the regular files in dir matching a shell glob (Python's
 * glob: *, ?, [...], [!...]; a leading '.' only matched explicitly).  A
 * pattern with '/' matches nothing.  *names (caller frees each and the
 * array).  A missing dir gives no names.  ST_IO, ST_NOMEM. */
enum status ac_media_list(const char *dir, const char *pattern, char ***names, size_t *n,
                          struct errinfo *e);

/* Lower-case hex digests. */
void ac_media_md5_hex(const void *data, size_t len, char out[33]);
void ac_media_sha1_hex(const void *data, size_t len, char out[41]);

#endif
