/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * zstdio.h - zstd framing of sync bodies (sync-protocol.md §1.4), for
 * buffers and streams, with bounded memory.
 *
 * The official peers read exactly one zstd frame per body and ignore what
 * follows it, so:
 *   - the decoder delivers the first frame only; bytes after its end are
 *     counted (zstdio_dec_trailing) and dropped;
 *   - every encoder here produces exactly one frame, also when streaming a
 *     file of any size.
 * The decoder has an output cap: like the official server it delivers at
 * most cap bytes and then reports "truncated" instead of failing, so the
 * caller decides (an upload answers with the size-limit text).
 */
#ifndef ANKIHOST_ZSTDIO_H
#define ANKIHOST_ZSTDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "status.h"

#define ZSTDIO_LEVEL 3 /* zstd's default; what the official server's encoder uses */

/* One frame holding src[0..len) with its content size in the header. */
enum status zstdio_compress(const void *src, size_t len, int level, struct buf *out,
                            struct errinfo *e);

/* The first frame of src[0..len), at most out->cap bytes (ST_TOOBIG past
 * it).  ST_CORRUPT for bad or incomplete data.  Empty input gives empty
 * output. */
enum status zstdio_decompress(const void *src, size_t len, struct buf *out, struct errinfo *e);

/* Receives decompressed bytes; a non-OK return stops the decoder. */
typedef enum status (*zstdio_sink_fn)(void *ctx, const void *data, size_t len, struct errinfo *e);

/* A sink that writes to the file descriptor *(int *)ctx. */
enum status zstdio_sink_fd(void *ctx, const void *data, size_t len, struct errinfo *e);

struct zstdio_dec;

/* A streaming decoder delivering at most cap bytes (0 = no cap) to sink.
 * NULL when out of memory. */
struct zstdio_dec *zstdio_dec_new(uint64_t cap, zstdio_sink_fn sink, void *ctx);
void zstdio_dec_free(struct zstdio_dec *d);

/* Feed compressed bytes.  ST_CORRUPT on bad data (then every later call
 * fails too), or the sink's status.  Bytes after the end of the first frame
 * and bytes beyond the cap are consumed and ignored. */
enum status zstdio_dec_feed(struct zstdio_dec *d, const void *data, size_t len, struct errinfo *e);

/* End of input: ST_CORRUPT when a frame was begun but not finished. */
enum status zstdio_dec_finish(struct zstdio_dec *d, struct errinfo *e);

uint64_t zstdio_dec_total(const struct zstdio_dec *d);    /* bytes delivered */
int zstdio_dec_truncated(const struct zstdio_dec *d);     /* output reached the cap */
uint64_t zstdio_dec_trailing(const struct zstdio_dec *d); /* input bytes after the frame */

struct zstdio_reader;

/* Compress size bytes read from fd (from its current offset) as one frame
 * whose header carries size.  The reader does not own fd. */
struct zstdio_reader *zstdio_reader_fd(int fd, uint64_t size, int level);
void zstdio_reader_free(struct zstdio_reader *r);

/* Next compressed bytes into out[0..cap); returns the count, 0 once the
 * frame is complete, -1 on error (read failure, file shorter or longer
 * than size) with e filled. */
ssize_t zstdio_reader_read(struct zstdio_reader *r, void *out, size_t cap, struct errinfo *e);

#endif
