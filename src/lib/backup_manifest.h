/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_manifest.h - the manifest of an anki-backup snapshot
 * (manifest.jsonl) and its sha256sum-compatible companion (SHA256SUMS).
 *
 * manifest.jsonl holds one JSON object per line: a "header" first, then
 * "db", "media" and "user" lines, and an "end" line last that repeats the
 * entry count, so a truncated manifest is detected.  Every stored file is
 * named by its entry alone (backup_object_path); the "object" field written
 * for humans must agree with it.  The format is documented field by field
 * in docs/backup.md; this module is its only writer and reader.
 *
 * Everything read back is treated as hostile: names must be single path
 * components, hashes exact hex, sizes in range, lines at most
 * BACKUP_MANIFEST_LINE_MAX bytes.
 */
#ifndef ANKIHOST_BACKUP_MANIFEST_H
#define ANKIHOST_BACKUP_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "backup_fs.h"
#include "status.h"

#define BACKUP_FORMAT_VERSION 1
#define BACKUP_MANIFEST_NAME "manifest.jsonl"
#define BACKUP_SUMS_NAME "SHA256SUMS"

/* A name is at most 255 bytes, hex-escaped 510, plus hashes and numbers:
 * 64 KiB leaves room for future fields and refuses a runaway line. */
#define BACKUP_MANIFEST_LINE_MAX 65536
/* Far above any real collection's media count; bounds a hostile file. */
#define BACKUP_MANIFEST_MAX_ENTRIES 20000000u
/* Recipients given to age; a household has a handful. */
#define BACKUP_MAX_RECIPIENTS 64

enum backup_kind { BACKUP_KIND_DB = 1, BACKUP_KIND_MEDIA = 2 };

struct backup_entry {
	enum backup_kind kind;
	char *user; /* owned */
	size_t user_len;
	char *name; /* owned: "collection.anki2", "media.db" or a media file name */
	size_t name_len;
	uint64_t size;                   /* content bytes */
	unsigned char sha256[32];        /* content */
	unsigned char sha1[20];          /* content; the media address */
	uint64_t stored_size;            /* the stored (compressed[, encrypted]) file */
	unsigned char stored_sha256[32];
	int64_t stored_mtime_ns;         /* to notice a stored file changed behind us */
	int listed;                      /* media: present in the snapshot's media.db */
	struct backup_stat src;          /* the source file as last copied */
	struct backup_stat src_wal;      /* db: its -wal file */
	int64_t src_stat_ns;             /* db: when src and src_wal were taken */
	char *check;                     /* db: "ok" or what quick_check found; owned */
};

struct backup_user_summary {
	char *user; /* owned */
	size_t user_len;
	int collection, media_db;
	uint64_t media_files, media_bytes, unlisted, missing;
};

struct backup_header {
	int version;
	char snapshot[64];
	int64_t created; /* seconds since the epoch */
	int encrypted;
	char **recipients; /* owned; public age recipients, for humans and reuse */
	size_t nrecipients;
	int zstd_level;
};

struct backup_manifest {
	struct backup_header h;
	struct backup_entry *entries;
	size_t n;
	struct backup_user_summary *users;
	size_t nusers;
	int damaged;  /* the end line says a source database failed its check */
	unsigned char sha256[32]; /* of the manifest file as read */
};

/* Path of the stored file relative to the snapshot directory. */
enum status backup_object_path(const struct backup_entry *en, int encrypted, char *out,
                               size_t cap, struct errinfo *e);

/* Deep copy of an entry (strings duplicated). */
enum status backup_entry_copy(struct backup_entry *dst, const struct backup_entry *src,
                              struct errinfo *e);
void backup_entry_free(struct backup_entry *en);

void backup_header_free(struct backup_header *h);
void backup_manifest_free(struct backup_manifest *m);

/* Load a manifest.  header_only stops after the header line (for listing;
 * then n = 0 and the end line is not checked).  ST_CORRUPT for a malformed
 * or truncated file, ST_VERSION for a newer format. */
enum status backup_manifest_load(const char *path, int header_only, struct backup_manifest *m,
                                 struct errinfo *e);

/* Streaming writer: header, then entries and user lines, then finish. */
struct backup_mwriter {
	FILE *f;
	void *hash; /* EVP_MD_CTX */
	size_t entries;
	int encrypted;
	char *linebuf; /* media lines are built here (BACKUP_MANIFEST_LINE_MAX) */
	char path[4096];
};
enum status backup_mwriter_open(struct backup_mwriter *w, const char *path,
                                const struct backup_header *h, struct errinfo *e);
enum status backup_mwriter_entry(struct backup_mwriter *w, const struct backup_entry *en,
                                 struct errinfo *e);
enum status backup_mwriter_user(struct backup_mwriter *w, const struct backup_user_summary *u,
                                struct errinfo *e);
/* Write the end line, flush and close; sha256 receives the file's hash. */
enum status backup_mwriter_finish(struct backup_mwriter *w, int damaged,
                                  unsigned char sha256[32], struct errinfo *e);
void backup_mwriter_abort(struct backup_mwriter *w);

/* One line of SHA256SUMS. */
struct backup_sum {
	char *path; /* owned, relative to the snapshot */
	unsigned char sha256[32];
};

/* Write dir/SHA256SUMS: one line per distinct stored file of m's entries,
 * sorted by path, plus manifest.jsonl with manifest_sha256.  Names holding
 * '\\', '\n' or '\r' use GNU sha256sum's escaped form, so
 * `sha256sum -c SHA256SUMS` works in the snapshot directory. */
enum status backup_sums_write(const char *path, const struct backup_entry *entries, size_t n,
                              int encrypted, const unsigned char manifest_sha256[32],
                              struct errinfo *e);
/* Read a SHA256SUMS file (bounded like the manifest), sorted by path. */
enum status backup_sums_load(const char *path, struct backup_sum **out, size_t *n,
                             struct errinfo *e);
void backup_sums_free(struct backup_sum *s, size_t n);
const struct backup_sum *backup_sums_find(const struct backup_sum *s, size_t n,
                                          const char *path);

#endif
