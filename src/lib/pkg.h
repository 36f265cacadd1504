/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pkg.h - Anki deck packages (.apkg): export a deck (and its children) or
 * the whole collection into a package, and import a package into a
 * collection with Anki's merge rules.  collection-format.md §9 (versions,
 * members, media maps, dummy collection, what an export holds, import), §8
 * (media folder and file names), §5 (the new collection of an export), §7
 * (ids).  Behaviour follows Anki's rslib/src/import_export/package/ and
 * gather.rs (docs/packages.md lists the differences).
 *
 * Formats written: "latest" (version 3: meta 08 03, collection.anki21b =
 * zstd of a schema 18 file, zstd protobuf media map, zstd media members)
 * and "legacy" (version 2: meta 08 02, collection.anki21 = deflated schema
 * 11 file, JSON media map, raw media members).  Both carry the dummy
 * collection.anki2 that tells old clients to upgrade.  Read: versions 1, 2
 * and 3.
 *
 * Packages are hostile input: member names must be plain single names,
 * member counts and every decompressed size are bounded (struct
 * pkg_limits) before anything is allocated or written, media names are
 * checked like Anki does and media are streamed (never held in memory).
 * An import runs in one transaction; media files are staged in the media
 * folder under temporary names and only renamed into place after the
 * commit, so a failure leaves the collection and the folder as they were.
 */
#ifndef ANKIHOST_PKG_H
#define ANKIHOST_PKG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col.h"
#include "status.h"

/* Defaults of struct pkg_limits (a zero field means its default). */
/* Anki's own packages hold one member per media file plus four; a million
 * keeps libzip's central directory (about 100 bytes per entry) small. */
#define PKG_MAX_MEMBERS 1000000u
/* The decompressed collection member.  Real collections are far smaller;
 * this only stops a bomb from filling the disk. */
#define PKG_MAX_COLLECTION_BYTES (4ull << 30)
/* One media file: Anki's media scan skips files over 100 MiB. */
#define PKG_MAX_MEDIA_FILE_BYTES (100ull << 20)
/* Everything decompressed from one package (collection, map, media). */
#define PKG_MAX_TOTAL_BYTES (32ull << 30)
/* The media map member (JSON or protobuf), read into memory. */
#define PKG_MAX_MAP_BYTES (64u << 20)

struct pkg_limits {
	uint64_t max_members;
	uint64_t max_collection_bytes;
	uint64_t max_media_file_bytes;
	uint64_t max_total_bytes;
	uint64_t max_map_bytes;
};

enum pkg_version {
	PKG_VERSION_UNKNOWN = 0,
	PKG_VERSION_LEGACY1 = 1, /* collection.anki2, Anki 2.0 style */
	PKG_VERSION_LEGACY2 = 2, /* collection.anki21 */
	PKG_VERSION_LATEST = 3,  /* collection.anki21b, zstd */
};

/* ImportAnkiPackageUpdateCondition (same numbering). */
enum pkg_update {
	PKG_UPDATE_IF_NEWER = 0, /* only when the incoming mtime is later */
	PKG_UPDATE_ALWAYS = 1,   /* whenever the mtimes differ */
	PKG_UPDATE_NEVER = 2,
};

struct pkg_export_opts {
	const char *out_path;   /* the .apkg to write (replaced atomically) */
	int64_t deck_id;        /* 0 = every note of the collection */
	bool with_children;     /* also the decks below deck_id (Anki always does) */
	bool with_scheduling;   /* else cards are reset to new, as Anki's option */
	bool with_deck_configs; /* include the presets of the exported decks */
	bool with_media;        /* include the media files the notes reference */
	bool legacy;            /* version 2 (schema 11) instead of the latest format */
	const char *media_dir;  /* NULL = the folder beside the collection (§8.1) */
};

struct pkg_export_result {
	size_t notes, cards, revlog, decks, notetypes, deck_configs;
	size_t media;         /* files written */
	uint64_t media_bytes; /* their uncompressed size */
};

/* Export per o into o->out_path.  The collection is only read (its
 * transaction state must be idle).  Statuses: ST_NOTFOUND (no such deck),
 * ST_INVALID (ids in the future, as Anki refuses them; a referenced media
 * file with a name Anki would not write), ST_IO, ST_DB, ST_NOMEM.  On
 * failure o->out_path is untouched. */
enum status pkg_export(struct col *c, const struct pkg_export_opts *o, struct pkg_export_result *r,
                       struct errinfo *e);

struct pkg_import_opts {
	bool with_scheduling;   /* keep review state and review log (else reset to new) */
	bool with_deck_configs; /* import presets (else imported decks use preset 1) */
	bool merge_notetypes;   /* Anki's "merge notetypes": not implemented (ST_UNSUPPORTED) */
	enum pkg_update update_notes;
	enum pkg_update update_notetypes;
	struct pkg_limits limits; /* zero fields = defaults */
};

struct pkg_import_result {
	enum pkg_version version;
	size_t notes_found; /* notes in the package */
	size_t notes_added;
	size_t notes_updated;
	size_t notes_duplicate;   /* same guid, not newer: left alone */
	size_t notes_conflicting; /* same guid, other notetype: skipped */
	size_t cards_added, revlog_added;
	size_t notetypes_added, notetypes_updated;
	size_t decks_added, decks_updated, deck_configs_added;
	size_t media_added;   /* files written to the media folder */
	size_t media_renamed; /* of those, stored as stem-<sha1>.ext (name clash) */
	size_t media_skipped; /* in the package but already present or unused */
};

/* Import pkg_path into c.  media_dir NULL = the folder beside the
 * collection.  o NULL = Anki's defaults (no scheduling, no presets, update
 * if newer).  The caller must not hold a transaction.  Statuses:
 * ST_CORRUPT (not a zip, hostile or damaged members, bad media map,
 * collection member not a collection, truncated zstd), ST_TOOBIG (a limit
 * of o->limits), ST_VERSION (package or collection too new/old),
 * ST_UNSUPPORTED (merge_notetypes; a v1-scheduler target collection),
 * ST_IO, ST_DB, ST_NOMEM.  On failure nothing is changed. */
enum status pkg_import(struct col *c, const char *pkg_path, const char *media_dir,
                       const struct pkg_import_opts *o, struct pkg_import_result *r,
                       struct errinfo *e);

/* What a package holds, without importing it. */
struct pkg_info {
	enum pkg_version version;
	char collection_member[24]; /* "collection.anki21b", ... */
	size_t members;
	size_t media;             /* entries of the media map */
	uint64_t collection_size; /* decompressed bytes of the collection member */
};

/* Inspect pkg_path (zip, meta, media map; the collection member is
 * decompressed only to measure it).  limits NULL = defaults.  Statuses as
 * pkg_import. */
enum status pkg_inspect(const char *pkg_path, const struct pkg_limits *limits, struct pkg_info *out,
                        struct errinfo *e);

/* Open the package's collection as a private, upgraded copy (deleted by
 * col_close), for reading it.  limits NULL = defaults. */
enum status pkg_open_collection(const char *pkg_path, const struct pkg_limits *limits,
                                struct col **out, struct errinfo *e);

#endif
