/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * zstdio.c - one-frame zstd encoding and capped first-frame decoding, in
 * one piece or streamed (sync-protocol.md §1.4, Appendix C items 3-4).
 *
 * Memory: a decoder holds zstd's stream state (bounded by the window of
 * the frame, at most 2^27 bytes by libzstd's default limit) plus one output
 * block; a reader holds one input block.  Neither ever holds a whole body.
 */
#include "zstdio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

enum status zstdio_compress(const void *src, size_t len, int level, struct buf *out,
                            struct errinfo *e)
{
	size_t bound = ZSTD_compressBound(len);
	if (ZSTD_isError(bound))
		return errinfo_set(e, ST_TOOBIG, "body too large to compress");
	size_t old = out->len;
	/* Reserve by appending zeroes, then shrink to the real size. */
	unsigned char *tmp = malloc(bound ? bound : 1);
	if (!tmp)
		return errinfo_set(e, ST_NOMEM, "out of memory compressing %zu bytes", len);
	size_t n = ZSTD_compress(tmp, bound, src, len, level);
	if (ZSTD_isError(n)) {
		free(tmp);
		return errinfo_set(e, ST_INTERNAL, "zstd: %s", ZSTD_getErrorName(n));
	}
	enum status st = buf_append(out, tmp, n, e);
	free(tmp);
	if (st)
		out->len = old;
	return st;
}

#define DEC_CHUNK (64u * 1024)

struct zstdio_dec {
	ZSTD_DStream *ds;
	uint64_t cap;
	uint64_t total;
	uint64_t trailing;
	zstdio_sink_fn sink;
	void *ctx;
	/* The first frame's header, kept to check its declared content size
	 * at the frame's end (see frame_done). */
	unsigned char hdr[18]; /* ZSTD_FRAMEHEADERSIZE_MAX (not in the stable API) */
	size_t hdr_len;
	/* Input is handed to libzstd in DEC_CHUNK pieces at fixed offsets (the
	 * last one at finish), whatever pieces the network delivered: libzstd
	 * answers some damaged frames differently by how much of the frame one
	 * call sees (found by fuzz_sync_transport), so the same body must always
	 * reach it the same way. */
	unsigned char *stage;
	size_t stage_len;
	int started;   /* some input arrived */
	int frame_end; /* the first frame is complete */
	int truncated; /* output reached cap */
	int failed;
	unsigned char *out;
	size_t out_size;
};

struct zstdio_dec *zstdio_dec_new(uint64_t cap, zstdio_sink_fn sink, void *ctx)
{
	struct zstdio_dec *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->ds = ZSTD_createDStream();
	d->out_size = ZSTD_DStreamOutSize();
	d->out = malloc(d->out_size);
	d->stage = malloc(DEC_CHUNK);
	if (!d->ds || !d->out || !d->stage) {
		zstdio_dec_free(d);
		return NULL;
	}
	ZSTD_initDStream(d->ds);
	d->cap = cap;
	d->sink = sink;
	d->ctx = ctx;
	return d;
}

void zstdio_dec_free(struct zstdio_dec *d)
{
	if (!d)
		return;
	ZSTD_freeDStream(d->ds);
	free(d->out);
	free(d->stage);
	free(d);
}

/* Hand n decoded bytes to the sink, honouring the cap. */
static enum status dec_deliver(struct zstdio_dec *d, size_t n, struct errinfo *e)
{
	if (d->truncated || n == 0)
		return ST_OK;
	if (d->cap && d->total + n >= d->cap) {
		n = (size_t)(d->cap - d->total);
		d->truncated = 1;
	}
	d->total += n;
	if (n == 0)
		return ST_OK;
	return d->sink ? d->sink(d->ctx, d->out, n, e) : ST_OK;
}

/* The first frame ended: its size must be the one its header declares.
 * libzstd checks that when it gets the whole frame in one call, but not
 * always when the frame arrives in pieces (1.5.4: a frame declaring 65,248
 * bytes that ends after none was refused whole and accepted in 11-byte
 * pieces; found by tests/fuzz/fuzz_sync_transport.c).  TCP decides the
 * pieces, so the check is made here, whatever they were. */
static enum status frame_done(struct zstdio_dec *d, struct errinfo *e)
{
	if (d->truncated)
		return ST_OK; /* not all of it was counted */
	unsigned long long want = ZSTD_getFrameContentSize(d->hdr, d->hdr_len);
	if (want == ZSTD_CONTENTSIZE_UNKNOWN || want == ZSTD_CONTENTSIZE_ERROR || want == d->total)
		return ST_OK;
	return errinfo_set(e, ST_CORRUPT,
	                   "decoding zstd body: the frame holds %llu bytes, its header says %llu",
	                   (unsigned long long)d->total, want);
}

/* Run libzstd over p[0..n): deliver output, note the first frame's end
 * (and count what follows it in p as trailing). */
static enum status dec_run(struct zstdio_dec *d, const unsigned char *p, size_t n,
                           struct errinfo *e)
{
	ZSTD_inBuffer in = {p, n, 0};
	/* Call again while input remains or the last call filled the output
	 * block (zstd may hold more output for input already consumed). */
	for (;;) {
		ZSTD_outBuffer out = {d->out, d->out_size, 0};
		size_t r = ZSTD_decompressStream(d->ds, &out, &in);
		if (ZSTD_isError(r)) {
			d->failed = 1;
			return errinfo_set(e, ST_CORRUPT, "decoding zstd body: %s",
			                   ZSTD_getErrorName(r));
		}
		enum status st = dec_deliver(d, out.pos, e);
		if (st) {
			d->failed = 1;
			return st;
		}
		if (r == 0) {
			d->frame_end = 1;
			if ((st = frame_done(d, e))) {
				d->failed = 1;
				return st;
			}
		}
		if (d->frame_end || d->truncated)
			break;
		if (in.pos == in.size && out.pos < out.size)
			break;
	}
	if (d->frame_end)
		d->trailing += in.size - in.pos;
	return ST_OK;
}

enum status zstdio_dec_feed(struct zstdio_dec *d, const void *data, size_t len, struct errinfo *e)
{
	if (d->failed)
		return errinfo_set(e, ST_CORRUPT, "decoding zstd body failed earlier");
	if (len == 0)
		return ST_OK;
	if (d->frame_end || d->truncated) {
		/* Past the first frame (or the cap): consumed and ignored, the way
		 * the official decoder stops reading. */
		if (d->frame_end)
			d->trailing += len;
		return ST_OK;
	}
	d->started = 1;
	if (d->hdr_len < sizeof d->hdr) {
		size_t k = sizeof d->hdr - d->hdr_len < len ? sizeof d->hdr - d->hdr_len : len;
		memcpy(d->hdr + d->hdr_len, data, k);
		d->hdr_len += k;
		/* Only a zstd frame, judged on its first bytes before libzstd
		 * sees them: libzstd also takes the formats of zstd 0.4-0.7 and
		 * skippable frames, but tells them apart only from 5 bytes on,
		 * so a body arriving a byte at a time was refused where the same
		 * body in one piece was not (found by fuzz_sync_transport).  No
		 * Anki client sends either. */
		static const unsigned char magic[4] = {
		    ZSTD_MAGICNUMBER & 0xff, ZSTD_MAGICNUMBER >> 8 & 0xff,
		    ZSTD_MAGICNUMBER >> 16 & 0xff, ZSTD_MAGICNUMBER >> 24}; /* little-endian */
		size_t m = d->hdr_len < sizeof magic ? d->hdr_len : sizeof magic;
		if (memcmp(d->hdr, magic, m) != 0) {
			d->failed = 1;
			return errinfo_set(e, ST_CORRUPT, "decoding zstd body: not a zstd frame");
		}
	}
	const unsigned char *p = data;
	while (len > 0 && !d->frame_end && !d->truncated) {
		enum status st;
		if (d->stage_len == 0 && len >= DEC_CHUNK) {
			st = dec_run(d, p, DEC_CHUNK, e);
			p += DEC_CHUNK;
			len -= DEC_CHUNK;
		} else {
			size_t k = DEC_CHUNK - d->stage_len < len ? DEC_CHUNK - d->stage_len : len;
			memcpy(d->stage + d->stage_len, p, k);
			d->stage_len += k;
			p += k;
			len -= k;
			if (d->stage_len < DEC_CHUNK)
				continue;
			d->stage_len = 0;
			st = dec_run(d, d->stage, DEC_CHUNK, e);
		}
		if (st)
			return st;
	}
	if (d->frame_end)
		d->trailing += len;
	return ST_OK;
}

enum status zstdio_dec_finish(struct zstdio_dec *d, struct errinfo *e)
{
	if (d->failed)
		return errinfo_set(e, ST_CORRUPT, "decoding zstd body failed");
	if (d->stage_len > 0 && !d->frame_end && !d->truncated) {
		size_t n = d->stage_len;
		d->stage_len = 0;
		enum status st = dec_run(d, d->stage, n, e);
		if (st)
			return st;
	}
	if (d->started && !d->frame_end && !d->truncated)
		return errinfo_set(e, ST_CORRUPT,
		                   "decoding zstd body: input ends inside the frame");
	return ST_OK;
}

uint64_t zstdio_dec_total(const struct zstdio_dec *d)
{
	return d->total;
}
int zstdio_dec_truncated(const struct zstdio_dec *d)
{
	return d->truncated;
}
uint64_t zstdio_dec_trailing(const struct zstdio_dec *d)
{
	return d->trailing;
}

static enum status sink_buf(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	return buf_append(ctx, data, len, e);
}

enum status zstdio_decompress(const void *src, size_t len, struct buf *out, struct errinfo *e)
{
	/* One byte more than the room left, so that "exactly full" and "more"
	 * differ; buf_append refuses the extra byte with ST_TOOBIG. */
	uint64_t cap = out->cap ? (uint64_t)(out->cap - out->len) + 1 : 0;
	struct zstdio_dec *d = zstdio_dec_new(cap, sink_buf, out);
	if (!d)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	enum status st = zstdio_dec_feed(d, src, len, e);
	if (st == ST_OK)
		st = zstdio_dec_finish(d, e);
	int truncated = zstdio_dec_truncated(d);
	zstdio_dec_free(d);
	if (st == ST_TOOBIG || (st == ST_OK && truncated))
		return errinfo_set(e, ST_TOOBIG, "decompressed body exceeds %zu bytes", out->cap);
	if (st == ST_OK && !out->data)
		st = buf_append(out, "", 0, e);
	return st;
}

enum status zstdio_sink_fd(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	int fd = *(int *)ctx;
	const unsigned char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errinfo_errno(e, ST_IO, "writing decoded body");
		}
		p += w;
		len -= (size_t)w;
	}
	return ST_OK;
}

struct zstdio_reader {
	ZSTD_CCtx *cc;
	int fd;
	uint64_t size;
	uint64_t read;
	unsigned char *in;
	size_t in_size;
	ZSTD_inBuffer inb;
	int ending;
	int done;
};

struct zstdio_reader *zstdio_reader_fd(int fd, uint64_t size, int level)
{
	struct zstdio_reader *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->cc = ZSTD_createCCtx();
	r->in_size = ZSTD_CStreamInSize();
	r->in = malloc(r->in_size);
	if (!r->cc || !r->in ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(r->cc, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(r->cc, ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(r->cc, size))) {
		zstdio_reader_free(r);
		return NULL;
	}
	r->fd = fd;
	r->size = size;
	r->inb.src = r->in;
	return r;
}

void zstdio_reader_free(struct zstdio_reader *r)
{
	if (!r)
		return;
	ZSTD_freeCCtx(r->cc);
	free(r->in);
	free(r);
}

/* Refill the input block from the file when it is used up. */
static int reader_fill(struct zstdio_reader *r, struct errinfo *e)
{
	if (r->inb.pos < r->inb.size || r->ending)
		return 0;
	if (r->read == r->size) {
		r->ending = 1;
		return 0;
	}
	size_t want = r->in_size;
	if (r->size - r->read < want)
		want = (size_t)(r->size - r->read);
	ssize_t n;
	do
		n = read(r->fd, r->in, want);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		errinfo_errno(e, ST_IO, "reading the file to send");
		return -1;
	}
	if (n == 0) {
		errinfo_set(e, ST_IO, "file shrank while being sent (%llu of %llu bytes)",
		            (unsigned long long)r->read, (unsigned long long)r->size);
		return -1;
	}
	r->read += (uint64_t)n;
	r->inb.size = (size_t)n;
	r->inb.pos = 0;
	return 0;
}

ssize_t zstdio_reader_read(struct zstdio_reader *r, void *out, size_t cap, struct errinfo *e)
{
	if (r->done || cap == 0)
		return 0;
	ZSTD_outBuffer ob = {out, cap, 0};
	while (ob.pos == 0) {
		if (reader_fill(r, e))
			return -1;
		size_t rem = ZSTD_compressStream2(r->cc, &ob, &r->inb,
		                                  r->ending ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(rem)) {
			errinfo_set(e, ST_INTERNAL, "zstd: %s", ZSTD_getErrorName(rem));
			return -1;
		}
		if (r->ending && rem == 0) {
			r->done = 1;
			break;
		}
	}
	return (ssize_t)ob.pos;
}
