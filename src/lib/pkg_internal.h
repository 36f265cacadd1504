/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pkg_internal.h - what the pkg_*.c files share: small hash maps, the zip
 * reader and writer with their bounds, the media map and media name rules,
 * media references in note text, and the gathered contents of a package
 * (collection-format.md §8.3, §9).  Nobody outside pkg_*.c uses this.
 */
#ifndef ANKIHOST_PKG_INTERNAL_H
#define ANKIHOST_PKG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "buf.h"
#include "col.h"
#include "col_model.h"
#include "col_notes.h"
#include "pkg.h"
#include "status.h"

/* ---- hash maps (pkg_map.c) ------------------------------------------ */

/* (k1, k2) -> val; k2 = 0 for single keys.  Zeroed = empty. */
struct pkg_imap {
	struct pkg_imap_slot *v;
	size_t cap, n;
};
enum status pkg_imap_put(struct pkg_imap *m, int64_t k1, int64_t k2, int64_t val,
                         struct errinfo *e);
bool pkg_imap_get(const struct pkg_imap *m, int64_t k1, int64_t k2, int64_t *val);
void pkg_imap_free(struct pkg_imap *m);

/* string -> val (keys copied).  Zeroed = empty. */
struct pkg_smap {
	struct pkg_smap_slot *v;
	size_t cap, n;
};
enum status pkg_smap_put(struct pkg_smap *m, const char *k, int64_t val, struct errinfo *e);
bool pkg_smap_get(const struct pkg_smap *m, const char *k, int64_t *val);
void pkg_smap_free(struct pkg_smap *m);

/* ---- limits ------------------------------------------------------------ */

/* Copy of l (NULL = none) with zero fields replaced by the defaults. */
void pkg_limits_resolve(const struct pkg_limits *l, struct pkg_limits *out);

/* ---- reading a package (pkg_zip.c) ------------------------------------ */

struct pkg_zip;

/* Open path, check every member name (a plain single name: no '/', '\\',
 * "..", ".", empty, NUL; no duplicates), the member count and that no
 * member is encrypted.  ST_CORRUPT (not a zip / hostile), ST_TOOBIG,
 * ST_NOTFOUND, ST_IO. */
enum status pkg_zip_open(const char *path, const struct pkg_limits *lim, struct pkg_zip **out,
                         struct errinfo *e);
void pkg_zip_close(struct pkg_zip *z);
size_t pkg_zip_count(const struct pkg_zip *z);
/* Index of the member called name, or -1. */
int64_t pkg_zip_find(struct pkg_zip *z, const char *name);

/* Receives member bytes; a non-OK status stops the read. */
typedef enum status (*pkg_sink_fn)(void *ctx, const void *data, size_t len, struct errinfo *e);

/* Stream member idx to sink, at most cap bytes (ST_TOOBIG past it, also
 * when the header already claims more); with zstd, the member is one zstd
 * frame and cap bounds its decompressed size (ST_CORRUPT when truncated
 * or damaged).  Every byte delivered counts against the package total. */
enum status pkg_zip_read(struct pkg_zip *z, int64_t idx, bool zstd, uint64_t cap, pkg_sink_fn sink,
                         void *ctx, struct errinfo *e);
/* A small member into out (initialised here). */
enum status pkg_zip_read_buf(struct pkg_zip *z, int64_t idx, bool zstd, uint64_t cap,
                             struct buf *out, struct errinfo *e);
const struct pkg_limits *pkg_zip_limits(const struct pkg_zip *z);

/* A sink writing to the file descriptor *(int *)ctx. */
enum status pkg_sink_fd(void *ctx, const void *data, size_t len, struct errinfo *e);

/* The package version from "meta" (absent: 2 if collection.anki21 exists,
 * else 1).  ST_VERSION for a meta of version 0 or one we do not know. */
enum status pkg_zip_version(struct pkg_zip *z, enum pkg_version *v, struct errinfo *e);
const char *pkg_collection_member(enum pkg_version v);

/* Extract the collection member into a new file tmp_dir/collection
 * (path returned in out, cap bytes) and check it is a SQLite database
 * without triggers.  ST_CORRUPT, ST_TOOBIG. */
enum status pkg_zip_extract_collection(struct pkg_zip *z, enum pkg_version v, const char *tmp_dir,
                                       char *out, size_t cap, uint64_t *size, struct errinfo *e);

/* ---- writing a package (pkg_zip.c) ------------------------------------ */

struct pkg_zw;

/* A new archive at path (written on pkg_zw_close, atomically). */
enum status pkg_zw_open(const char *path, struct pkg_zw **out, struct errinfo *e);
/* Members are written in the order added.  data is copied. */
enum status pkg_zw_add_buf(struct pkg_zw *w, const char *name, const void *data, size_t len,
                           bool deflate, struct errinfo *e);
/* A file read when the archive is written: raw (stored or deflated) or
 * as one zstd frame (stored).  When sha1 is non-NULL the file's SHA-1 and
 * size are written there as it is read. */
enum status pkg_zw_add_file(struct pkg_zw *w, const char *name, const char *path, bool deflate,
                            bool zstd, uint8_t *sha1, uint64_t *size, struct errinfo *e);
/* A member whose content is made by fn when the writer reaches it (after
 * every earlier member was read): fn fills out. */
typedef enum status (*pkg_zw_late_fn)(void *ctx, struct buf *out, struct errinfo *e);
enum status pkg_zw_add_late(struct pkg_zw *w, const char *name, pkg_zw_late_fn fn, void *ctx,
                            struct errinfo *e);
/* Write everything and close (the archive exists only if this succeeds). */
enum status pkg_zw_close(struct pkg_zw *w, struct errinfo *e);
void pkg_zw_abort(struct pkg_zw *w);

/* ---- media (pkg_media.c) ---------------------------------------------- */

struct pkg_media_entry {
	char *name;     /* safe, normalised */
	uint64_t index; /* zip member "<index>" */
	uint32_t size;  /* latest: uncompressed size */
	bool has_sha1;  /* latest: always; legacy: once hashed */
	uint8_t sha1[20];
	/* import bookkeeping */
	char *target; /* name used in the media folder (renamed on clash) */
	bool use;     /* to be copied */
	bool renamed;
};

void pkg_media_entries_free(struct pkg_media_entry *v, size_t n);

/* Anki's filename_is_safe: one plain component (not empty, no '/', not
 * "." or ".."). */
bool pkg_media_name_safe(const char *name, size_t len);
/* safe + normalised copy (§8.3), malloc'd into *out; *changed tells if it
 * differs.  ST_CORRUPT when unsafe or nothing usable remains. */
enum status pkg_media_normalize(const char *name, size_t len, char **out, bool *changed,
                                struct errinfo *e);
/* Anki's add_hash_suffix_to_file_stem: "stem-<40 hex>.ext" within 120
 * bytes (extension cut to 10 bytes).  malloc'd. */
enum status pkg_media_hashed_name(const char *name, const uint8_t sha1[20], char **out,
                                  struct errinfo *e);
/* Is the name one Anki's importer treats as static ("_..." or "latex-...")? */
bool pkg_media_is_static(const char *name);

/* Parse a media map: legacy JSON {"<index>": "<name>"} (names normalised)
 * or latest protobuf MediaEntries (names must already be normalised,
 * sha1 20 bytes).  ST_CORRUPT. */
enum status pkg_media_map_parse(const void *data, size_t len, bool legacy, size_t max_entries,
                                struct pkg_media_entry **out, size_t *n, struct errinfo *e);
/* Encode entries 0..n-1 (index i = member "i"). */
enum status pkg_media_map_encode(const struct pkg_media_entry *v, size_t n, bool legacy,
                                 struct buf *out, struct errinfo *e);

/* SHA-1 of a file (ST_NOTFOUND when missing). */
enum status pkg_file_sha1(const char *path, uint8_t out[20], struct errinfo *e);

/* Media references in note text (rslib/src/text.rs HTML_MEDIA_TAGS and
 * AV_TAGS, evaluated with PCRE2 under a match limit). */
struct pkg_refs;
enum status pkg_refs_new(struct pkg_refs **out, struct errinfo *e);
void pkg_refs_free(struct pkg_refs *r);
/* Calls fn for every referenced file name (entities decoded). */
typedef enum status (*pkg_ref_fn)(void *ctx, const char *name, size_t len, struct errinfo *e);
enum status pkg_refs_each(struct pkg_refs *r, const char *text, size_t len, pkg_ref_fn fn,
                          void *ctx, struct errinfo *e);
/* Anki's replace_media_refs: fn returns a new name (malloc'd) or NULL to
 * keep a reference; *out (initialised here) gets the new text and
 * *changed whether anything was replaced. */
typedef enum status (*pkg_rep_fn)(void *ctx, const char *name, size_t len, char **repl,
                                  struct errinfo *e);
enum status pkg_refs_replace(struct pkg_refs *r, const char *text, size_t len, pkg_rep_fn fn,
                             void *ctx, struct buf *out, bool *changed, struct errinfo *e);
/* Names a notetype refers to: underscored files in the CSS (@import,
 * url()) and in the templates (quoted, [sound:], src=/data=). */
enum status pkg_refs_notetype(struct pkg_refs *r, const struct notetype *nt, pkg_ref_fn fn,
                              void *ctx, struct errinfo *e);

/* The LaTeX image names of a field (Anki's extract_latex file names). */
enum status pkg_refs_latex(const char *text, size_t len, bool svg, pkg_ref_fn fn, void *ctx,
                           struct errinfo *e);

/* ---- gathered contents (pkg_gather.c) --------------------------------- */

struct pkg_data {
	struct note *notes;
	size_t nnotes;
	struct card *cards;
	size_t ncards;
	struct revlog_entry *revlog;
	size_t nrevlog;
	struct deck *decks;
	size_t ndecks;
	struct notetype *notetypes;
	size_t nnotetypes;
	struct deckconf *deckconfs;
	size_t ndeckconfs;
	int64_t days_elapsed;     /* the source's scheduler day */
	int64_t crt;              /* the source's col.crt */
	bool has_creation_offset; /* config creationOffset */
	int64_t creation_offset;
};

void pkg_data_free(struct pkg_data *d);

/* Anki's ExchangeData::gather_data: the notes with a card in one of the
 * decks dids[0..ndids) (card deck or original deck; dids NULL = the whole
 * collection), all their cards, notetypes, decks (and their parents; the
 * original decks too with scheduling), review log (with scheduling),
 * presets (with_deck_configs), with the resets Anki applies without
 * scheduling.  Card and review values Anki could not read are ST_CORRUPT;
 * ids later than now + 1 day are ST_INVALID. */
enum status pkg_gather(struct col *c, const int64_t *dids, size_t ndids, bool with_scheduling,
                       bool with_deck_configs, struct pkg_data *d, struct errinfo *e);

/* Renumber notes, cards and review log rows whose ids lie after now + 1
 * day (Anki's maybe_fix_invalid_ids), inside the caller's transaction. */
enum status pkg_fix_invalid_ids(struct col *c, struct errinfo *e);

/* Raw row writers keeping every value (ids, mod, usn): notes (sfld/csum
 * as given), cards, review log; with ignore, a row whose id exists is
 * left alone (*added false).  Statements are prepared once per writer. */
struct pkg_rw {
	sqlite3 *db;
	sqlite3_stmt *st[5];
};
void pkg_rw_init(struct pkg_rw *w, struct col *c);
void pkg_rw_free(struct pkg_rw *w);
enum status pkg_write_note_raw(struct pkg_rw *w, const struct note *n, struct errinfo *e);
enum status pkg_write_card_raw(struct pkg_rw *w, const struct card *cd, bool ignore, bool *added,
                               struct errinfo *e);
enum status pkg_write_revlog_raw(struct pkg_rw *w, const struct revlog_entry *r, bool ignore,
                                 bool *added, struct errinfo *e);

/* Temporary directory under $TMPDIR (malloc'd path) and its removal. */
enum status pkg_tmpdir(char **out, struct errinfo *e);
void pkg_rmtree(const char *dir);

/* The media folder for c (media_dir when given), into out. */
enum status pkg_media_dir(struct col *c, const char *media_dir, char *out, size_t cap,
                          struct errinfo *e);

#endif
