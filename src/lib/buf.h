/*
 * buf.h - a growable byte buffer with a hard cap, and bounded reads.
 *
 * Every read of untrusted size goes through a cap: buf_append refuses to grow
 * past buf.cap with ST_TOOBIG rather than allocating what a peer asked for.
 * The data is always NUL-terminated (not counted in len) so text can be used
 * directly.
 */
#ifndef ANKIHOST_BUF_H
#define ANKIHOST_BUF_H

#include <stddef.h>

#include "status.h"

struct buf {
	unsigned char *data; /* owned; NULL until the first append */
	size_t len;          /* bytes used */
	size_t alloc;        /* bytes allocated (excluding the NUL) */
	size_t cap;          /* hard limit for len; 0 = SIZE_MAX */
};

/* An empty buffer that may hold at most cap bytes (0 = unlimited). */
void buf_init(struct buf *b, size_t cap);
/* Free the data; buf_wipe_free wipes it first (secrets). */
void buf_free(struct buf *b);
void buf_wipe_free(struct buf *b);
void buf_reset(struct buf *b);

enum status buf_append(struct buf *b, const void *data, size_t len, struct errinfo *e);
enum status buf_append_str(struct buf *b, const char *s, struct errinfo *e);
enum status buf_printf(struct buf *b, struct errinfo *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Read fd to EOF into b.  Refuses (ST_TOOBIG) as soon as more than b->cap
 * bytes arrive; never reads more than cap + 1 bytes. */
enum status buf_read_fd(struct buf *b, int fd, struct errinfo *e);

/* Read a whole file of at most max bytes into b (initialised here). */
enum status buf_read_file(struct buf *b, const char *path, size_t max, struct errinfo *e);

/* Take ownership of the data (caller frees); b becomes empty. */
unsigned char *buf_steal(struct buf *b, size_t *len);

#endif
