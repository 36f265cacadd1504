/*
 * buf.c - capped growable buffer and bounded file-descriptor reads.
 */
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap ? cap : SIZE_MAX - 1;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void buf_wipe_free(struct buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->alloc);
	buf_free(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static enum status buf_reserve(struct buf *b, size_t extra, struct errinfo *e)
{
	if (extra > b->cap || b->len > b->cap - extra)
		return errinfo_set(e, ST_TOOBIG, "data exceeds the limit of %zu bytes", b->cap);
	size_t need = b->len + extra;
	if (need <= b->alloc && b->data)
		return ST_OK;
	size_t n = b->alloc ? b->alloc : 64;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	if (n > b->cap)
		n = b->cap;
	unsigned char *p = realloc(b->data, n + 1);
	if (!p)
		return errinfo_set(e, ST_NOMEM, "cannot allocate %zu bytes", n + 1);
	b->data = p;
	b->alloc = n;
	return ST_OK;
}

enum status buf_append(struct buf *b, const void *data, size_t len, struct errinfo *e)
{
	enum status st = buf_reserve(b, len, e);
	if (st)
		return st;
	if (!b->data)
		return errinfo_set(e, ST_INTERNAL, "buffer without storage");
	if (len && data)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return ST_OK;
}

enum status buf_append_str(struct buf *b, const char *s, struct errinfo *e)
{
	return buf_append(b, s, strlen(s), e);
}

enum status buf_printf(struct buf *b, struct errinfo *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return errinfo_set(e, ST_INTERNAL, "bad format");
	enum status st = buf_reserve(b, (size_t)n, e);
	if (st)
		return st;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return ST_OK;
}

enum status buf_read_fd(struct buf *b, int fd, struct errinfo *e)
{
	unsigned char chunk[16384];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errinfo_errno(e, ST_IO, "read failed after %zu bytes", b->len);
		}
		if (r == 0)
			break;
		enum status st = buf_append(b, chunk, (size_t)r, e);
		if (st)
			return st;
	}
	if (!b->data) /* empty input still yields a valid empty string */
		return buf_append(b, "", 0, e);
	return ST_OK;
}

enum status buf_read_file(struct buf *b, const char *path, size_t max, struct errinfo *e)
{
	buf_init(b, max);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errinfo_errno(e, errno == ENOENT ? ST_NOTFOUND : ST_IO, "cannot open %s", path);
	enum status st = buf_read_fd(b, fd, e);
	close(fd);
	if (st) {
		errinfo_prefix(e, "reading %s", path);
		buf_free(b);
	}
	return st;
}

unsigned char *buf_steal(struct buf *b, size_t *len)
{
	unsigned char *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->alloc = 0;
	return p;
}
