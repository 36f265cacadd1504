/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_stream.h - the byte pipelines of anki-backup, in constant memory.
 *
 * Store:   content -> SHA-256 (+SHA-1) -> zstd -> [age -e] -> SHA-256 -> file
 * Load:    file -> SHA-256 -> [age -d] -> zstd -d -> SHA-256 (+SHA-1) -> sink
 *
 * A stored file is thus exactly what `zstd -d` (after `age -d` when
 * encrypted) turns back into the original bytes; frames carry zstd's own
 * checksum, so the command-line tools check integrity too (docs/backup.md).
 * One struct backup_codec holds the compressor, decompressor, hash contexts
 * and buffers and is reused for every file of a run: thousands of small
 * media files must not each pay for a fresh zstd context.
 */
#ifndef ANKIHOST_BACKUP_STREAM_H
#define ANKIHOST_BACKUP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "backup_proc.h"
#include "status.h"

/* Read/compress in 1 MiB steps: large enough for throughput, small enough
 * that memory stays flat whatever the file size. */
#define BACKUP_CHUNK (1u << 20)

struct backup_codec;

/* level: zstd level (1..19).  workers: zstd worker threads for files of at
 * least BACKUP_MT_MIN bytes (0 = compress in the calling thread). */
enum status backup_codec_new(struct backup_codec **out, int level, int workers,
                             struct errinfo *e);
void backup_codec_free(struct backup_codec *c);

/* Below this size a worker thread costs more than it saves. */
#define BACKUP_MT_MIN (4u << 20)

struct backup_digest {
	uint64_t size;                  /* content bytes */
	unsigned char sha256[32];       /* of the content */
	unsigned char sha1[20];         /* of the content (media address) */
	uint64_t stored_size;           /* bytes of the stored file */
	unsigned char stored_sha256[32]; /* of the stored file */
	int64_t stored_mtime_ns;        /* the stored file's mtime after writing */
};

/* A file being stored.  Not thread-safe; one at a time per codec. */
struct backup_out {
	struct backup_codec *c;
	int fd;
	char path[4096];
	struct backup_proc proc;
	int use_proc;
	uint64_t size, stored_size;
};

/* Create path (must not exist) and start a stream into it.  age_argv, when
 * non-NULL, is the full argv of the encrypting program ("age", "-e", ...).
 * size_hint (0 = unknown) picks single- or multi-threaded compression. */
enum status backup_out_open(struct backup_out *o, struct backup_codec *c, const char *path,
                            char *const *age_argv, uint64_t size_hint, struct errinfo *e);
enum status backup_out_write(struct backup_out *o, const void *data, size_t len,
                             struct errinfo *e);
/* Feed a whole descriptor (from its current offset to EOF). */
enum status backup_out_copy_fd(struct backup_out *o, int fd, struct errinfo *e);
/* End the stream, wait for age, close the file (not fsynced: the caller
 * flushes the whole snapshot at once) and report sizes and hashes.  On
 * failure the file is removed. */
enum status backup_out_finish(struct backup_out *o, struct backup_digest *d, struct errinfo *e);
/* Stop, kill age, remove the file. */
void backup_out_abort(struct backup_out *o);

/* Hash a descriptor to EOF without storing it (size, sha256, sha1 only). */
enum status backup_hash_fd(struct backup_codec *c, int fd, struct backup_digest *d,
                           struct errinfo *e);

/* Read a stored file: stored bytes are hashed, decrypted with age_argv when
 * non-NULL ("age", "-d", "-i", ...), decompressed, hashed and passed to
 * sink (may be NULL to only check).  More than max_size content bytes is
 * ST_CORRUPT (a hostile file cannot make us write without bound);
 * truncated or damaged zstd data is ST_CORRUPT; age failing is ST_IO with
 * age's message.  d receives what was actually seen. */
enum status backup_load(struct backup_codec *c, const char *path, char *const *age_argv,
                        uint64_t max_size, backup_sink_fn sink, void *ctx,
                        struct backup_digest *d, struct errinfo *e);

/* A backup_sink_fn writing to the descriptor *(int *)ctx. */
enum status backup_sink_fd(void *ctx, const void *data, size_t len, struct errinfo *e);

#endif
