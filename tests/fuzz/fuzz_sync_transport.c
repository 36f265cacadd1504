/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fuzz_sync_transport.c - libFuzzer target for how anki-sync-server reads
 * a request before any sync method sees it (sync-protocol.md §1): the
 * anki-sync header, the zstd body of version 11 and the gzip body of the
 * legacy multipart form, both decoded by streaming decoders fed as the
 * network delivers the bytes.
 *
 * An input is a mode byte, a shape byte, then the payload.  Mode 0 parses
 * the payload as a header value; 1 decodes it as zstd, 2 as gzip.  It
 * aborts (a finding) when:
 *   - an accepted header has a version outside 8..11 or holds a byte that
 *     is not visible ASCII, space or tab;
 *   - a body is refused, or decodes to other bytes or truncation, when fed
 *     in pieces of another size: TCP decides the pieces, not the client;
 *   - with a smaller output cap, an accepted body is not a prefix of the
 *     same body decoded with a larger cap, or the truncation flag lies.
 * ASan/UBSan catch the rest.
 *
 * Built and run by tests/check-fuzz.sh (briefly in make check; longer
 * with FUZZ_SECONDS=...).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "syncproto.h"
#include "syncproto_gzip.h"
#include "zstdio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BIG_CAP (1u << 22) /* bounds memory for bombs; the server's is larger */

struct outcome {
	enum status st;
	struct buf out;
	uint64_t total;
	int truncated;
};

static void finding(const char *what)
{
	fprintf(stderr, "fuzz_sync_transport: %s\n", what);
	abort();
}

static enum status collect(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	return buf_append(ctx, data, len, e);
}

/* Decode p[0..n) with the zstd (gzip = 0) or gzip decoder, capped at cap,
 * fed in pieces of piece bytes (0: all at once). */
static struct outcome decode(int gzip, const uint8_t *p, size_t n, uint64_t cap, size_t piece)
{
	struct outcome o = {ST_OK, {0}, 0, 0};
	buf_init(&o.out, 0);
	struct errinfo e;
	struct zstdio_dec *z = NULL;
	struct syncproto_gunzip *g = NULL;
	if (gzip)
		g = syncproto_gunzip_new(cap, collect, &o.out, &e);
	else
		z = zstdio_dec_new(cap, collect, &o.out);
	if (!z && !g)
		finding("decoder allocation failed");
	for (size_t at = 0; o.st == ST_OK && at < n;) {
		size_t k = piece && piece < n - at ? piece : n - at;
		o.st = gzip ? syncproto_gunzip_feed(g, p + at, k, &e)
		            : zstdio_dec_feed(z, p + at, k, &e);
		at += k;
	}
	if (o.st == ST_OK)
		o.st = gzip ? syncproto_gunzip_finish(g, &e) : zstdio_dec_finish(z, &e);
	o.total = gzip ? syncproto_gunzip_total(g) : zstdio_dec_total(z);
	o.truncated = gzip ? syncproto_gunzip_truncated(g) : zstdio_dec_truncated(z);
	syncproto_gunzip_free(g);
	zstdio_dec_free(z);
	if (o.total != o.out.len || (cap && o.total > cap))
		finding("total disagrees with the bytes delivered, or passes the cap");
	return o;
}

/* The same answer: a refused body is refused whatever was delivered
 * before the decoder found the damage (the server drops it all). */
static int same(const struct outcome *a, const struct outcome *b)
{
	if (a->st != b->st)
		return 0;
	return a->st != ST_OK ||
	       (a->truncated == b->truncated && a->out.len == b->out.len &&
	        (a->out.len == 0 || memcmp(a->out.data, b->out.data, a->out.len) == 0));
}

static void check_body(int gzip, uint8_t shape, const uint8_t *p, size_t n)
{
	static const uint64_t caps[] = {1, 7, 100, 4096};
	struct outcome whole = decode(gzip, p, n, BIG_CAP, 0);
	struct outcome split = decode(gzip, p, n, BIG_CAP, 1 + shape % 17);
	if (!same(&whole, &split))
		finding("the pieces the body came in changed the outcome");
	uint64_t cap = caps[(shape >> 5) % 4];
	struct outcome small = decode(gzip, p, n, cap, 1 + (shape >> 2) % 5);
	if (whole.st == ST_OK && small.st == ST_OK) {
		if (small.out.len > whole.out.len ||
		    (small.out.len && memcmp(small.out.data, whole.out.data, small.out.len) != 0))
			finding("a capped body is not a prefix of the uncapped one");
		/* truncated: the output reached the cap (so a body of exactly
		 * the limit counts as too big, as the official full upload's
		 * size check does) */
		if (!whole.truncated && small.truncated != (whole.total >= cap))
			finding("truncation flag disagrees with the uncapped size");
	}
	buf_free(&whole.out);
	buf_free(&split.out);
	buf_free(&small.out);
}

static void check_header(const uint8_t *p, size_t n)
{
	char *v = malloc(n + 1);
	if (!v)
		return;
	memcpy(v, p, n);
	v[n] = '\0';
	struct sync_header h;
	struct errinfo e;
	if (syncproto_parse_header(v, &h, &e) == ST_OK) {
		if (h.version < 8 || h.version > 11)
			finding("accepted a version outside 8..11");
		for (const unsigned char *c = (const unsigned char *)v; *c; c++)
			if ((*c < 0x20 && *c != '\t') || *c > 0x7e)
				finding("accepted a header that is not visible ASCII");
	}
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	switch (data[0] % 3) {
	case 0:
		check_header(data + 2, size - 2);
		break;
	default:
		check_body(data[0] % 3 == 2, data[1], data + 2, size - 2);
		break;
	}
	return 0;
}
