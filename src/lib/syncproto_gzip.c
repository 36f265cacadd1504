/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * syncproto_gzip.c - first-member gunzip with an output cap (zlib).
 */
#include "syncproto_gzip.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct syncproto_gunzip {
	z_stream zs;
	uint64_t cap, total;
	zstdio_sink_fn sink;
	void *ctx;
	int started, ended, truncated, failed;
	unsigned char out[65536];
};

struct syncproto_gunzip *syncproto_gunzip_new(uint64_t cap, zstdio_sink_fn sink, void *ctx,
                                              struct errinfo *e)
{
	struct syncproto_gunzip *g = calloc(1, sizeof *g);
	if (!g) {
		errinfo_set(e, ST_NOMEM, "out of memory");
		return NULL;
	}
	/* 16 + 15: gzip wrapper only, the largest window. */
	if (inflateInit2(&g->zs, 16 + 15) != Z_OK) {
		free(g);
		errinfo_set(e, ST_NOMEM, "cannot start zlib");
		return NULL;
	}
	g->cap = cap;
	g->sink = sink;
	g->ctx = ctx;
	return g;
}

void syncproto_gunzip_free(struct syncproto_gunzip *g)
{
	if (!g)
		return;
	inflateEnd(&g->zs);
	free(g);
}

enum status syncproto_gunzip_feed(struct syncproto_gunzip *g, const void *data, size_t len,
                                  struct errinfo *e)
{
	if (g->failed)
		return errinfo_set(e, ST_CORRUPT, "invalid gzip");
	if (g->ended || g->truncated || len == 0)
		return ST_OK;
	g->started = 1;
	const unsigned char *p = data;
	while (len > 0 && !g->ended && !g->truncated) {
		unsigned chunk = len > (1u << 30) ? (1u << 30) : (unsigned)len;
		g->zs.next_in = (Bytef *)p;
		g->zs.avail_in = chunk;
		do {
			g->zs.next_out = g->out;
			g->zs.avail_out = sizeof g->out;
			int rc = inflate(&g->zs, Z_NO_FLUSH);
			if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
				g->failed = 1;
				return errinfo_set(e, ST_CORRUPT, "invalid gzip");
			}
			size_t n = sizeof g->out - g->zs.avail_out;
			if (g->cap && g->total + n >= g->cap) {
				n = (size_t)(g->cap - g->total);
				g->truncated = 1;
			}
			g->total += n;
			if (n && g->sink) {
				enum status st = g->sink(g->ctx, g->out, n, e);
				if (st) {
					g->failed = 1;
					return st;
				}
			}
			if (rc == Z_STREAM_END)
				g->ended = 1;
			if (rc == Z_BUF_ERROR && g->zs.avail_in == 0)
				break;
		} while (!g->ended && !g->truncated &&
		         (g->zs.avail_in > 0 || g->zs.avail_out == 0));
		size_t used = chunk - g->zs.avail_in;
		p += used;
		len -= used;
		if (used == 0 && !g->ended && !g->truncated) {
			g->failed = 1;
			return errinfo_set(e, ST_CORRUPT, "invalid gzip");
		}
	}
	return ST_OK;
}

enum status syncproto_gunzip_finish(struct syncproto_gunzip *g, struct errinfo *e)
{
	if (g->failed || (!g->ended && !g->truncated))
		return errinfo_set(e, ST_CORRUPT, "invalid gzip");
	return ST_OK;
}

uint64_t syncproto_gunzip_total(const struct syncproto_gunzip *g)
{
	return g->total;
}
int syncproto_gunzip_truncated(const struct syncproto_gunzip *g)
{
	return g->truncated;
}
