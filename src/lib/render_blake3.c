/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_blake3.c - BLAKE3 hash mode from the specification (1024-byte
 * chunks of 64-byte blocks, a binary tree of parent nodes, 7-round
 * compression).  Invariants: a block is compressed only once more input
 * follows it, and a chunk is pushed onto the chaining-value stack only
 * once more input follows it, so finalisation always sees the last block
 * of the last chunk and can mark it ROOT when it is the whole tree.
 * Used by the hint filter (render_filters.c).
 */
#include "render_blake3.h"

#include <string.h>

enum { CHUNK_START = 1, CHUNK_END = 2, PARENT = 4, ROOT = 8 };
#define CHUNK_LEN 1024

static const uint32_t iv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                               0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

static const uint8_t perm[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void g(uint32_t *s, int a, int b, int c, int d, uint32_t x, uint32_t y)
{
	s[a] = s[a] + s[b] + x;
	s[d] = rotr(s[d] ^ s[a], 16);
	s[c] = s[c] + s[d];
	s[b] = rotr(s[b] ^ s[c], 12);
	s[a] = s[a] + s[b] + y;
	s[d] = rotr(s[d] ^ s[a], 8);
	s[c] = s[c] + s[d];
	s[b] = rotr(s[b] ^ s[c], 7);
}

/* The first 8 words of the compression output (all a caller needs). */
static void compress(const uint32_t cv[8], const uint8_t block[64], uint64_t counter,
                     uint32_t block_len, uint32_t flags, uint32_t out[8])
{
	uint32_t m[16], t[16], s[16];
	for (int i = 0; i < 16; i++)
		m[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 |
		       (uint32_t)block[4 * i + 2] << 16 | (uint32_t)block[4 * i + 3] << 24;
	memcpy(s, cv, 8 * sizeof *s);
	memcpy(s + 8, iv, 4 * sizeof *s);
	s[12] = (uint32_t)counter;
	s[13] = (uint32_t)(counter >> 32);
	s[14] = block_len;
	s[15] = flags;
	for (int r = 0; r < 7; r++) {
		g(s, 0, 4, 8, 12, m[0], m[1]);
		g(s, 1, 5, 9, 13, m[2], m[3]);
		g(s, 2, 6, 10, 14, m[4], m[5]);
		g(s, 3, 7, 11, 15, m[6], m[7]);
		g(s, 0, 5, 10, 15, m[8], m[9]);
		g(s, 1, 6, 11, 12, m[10], m[11]);
		g(s, 2, 7, 8, 13, m[12], m[13]);
		g(s, 3, 4, 9, 14, m[14], m[15]);
		for (int i = 0; i < 16; i++)
			t[i] = m[perm[i]];
		memcpy(m, t, sizeof m);
	}
	for (int i = 0; i < 8; i++)
		out[i] = s[i] ^ s[i + 8];
}

static void words_to_block(const uint32_t l[8], const uint32_t r[8], uint8_t block[64])
{
	for (int i = 0; i < 16; i++) {
		uint32_t w = i < 8 ? l[i] : r[i - 8];
		block[4 * i] = (uint8_t)w;
		block[4 * i + 1] = (uint8_t)(w >> 8);
		block[4 * i + 2] = (uint8_t)(w >> 16);
		block[4 * i + 3] = (uint8_t)(w >> 24);
	}
}

void render_blake3_init(struct render_blake3 *h)
{
	memset(h, 0, sizeof *h);
	memcpy(h->chunk_cv, iv, sizeof iv);
}

static size_t chunk_len(const struct render_blake3 *h)
{
	return (size_t)h->blocks_done * 64 + h->block_len;
}

static uint32_t start_flag(const struct render_blake3 *h)
{
	return h->blocks_done == 0 ? CHUNK_START : 0;
}

/* Finish the current (full) chunk and merge completed subtrees: the
 * number of trailing zero bits of the chunk count says how many. */
static void push_chunk(struct render_blake3 *h)
{
	uint32_t cv[8];
	compress(h->chunk_cv, h->block, h->chunk_counter, h->block_len, start_flag(h) | CHUNK_END,
	         cv);
	uint64_t total = h->chunk_counter + 1;
	while ((total & 1) == 0) {
		uint8_t block[64];
		words_to_block(h->cv_stack[--h->ncv], cv, block);
		compress(iv, block, 0, 64, PARENT, cv);
		total >>= 1;
	}
	memcpy(h->cv_stack[h->ncv++], cv, sizeof cv);
	memcpy(h->chunk_cv, iv, sizeof iv);
	h->chunk_counter++;
	h->block_len = 0;
	h->blocks_done = 0;
}

void render_blake3_update(struct render_blake3 *h, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 0) {
		if (chunk_len(h) == CHUNK_LEN)
			push_chunk(h);
		if (h->block_len == 64) {
			uint32_t cv[8];
			compress(h->chunk_cv, h->block, h->chunk_counter, 64, start_flag(h), cv);
			memcpy(h->chunk_cv, cv, sizeof cv);
			h->blocks_done++;
			h->block_len = 0;
		}
		size_t take = 64 - h->block_len;
		if (take > len)
			take = len;
		memcpy(h->block + h->block_len, p, take);
		h->block_len = (uint8_t)(h->block_len + take);
		p += take;
		len -= take;
	}
}

void render_blake3_final(const struct render_blake3 *h, uint8_t out[RENDER_BLAKE3_OUT])
{
	/* The pending output: the last block of the last chunk, then the
	 * parents up the stack; whichever is last is the root. */
	uint32_t cv[8], in_cv[8];
	uint8_t block[64] = {0};
	memcpy(block, h->block, h->block_len);
	memcpy(in_cv, h->chunk_cv, sizeof in_cv);
	uint64_t counter = h->chunk_counter;
	uint32_t blen = h->block_len;
	uint32_t flags = start_flag(h) | CHUNK_END;
	for (int i = h->ncv; i > 0; i--) {
		compress(in_cv, block, counter, blen, flags, cv);
		words_to_block(h->cv_stack[i - 1], cv, block);
		memcpy(in_cv, iv, sizeof iv);
		counter = 0;
		blen = 64;
		flags = PARENT;
	}
	compress(in_cv, block, counter, blen, flags | ROOT, cv);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)cv[i];
		out[4 * i + 1] = (uint8_t)(cv[i] >> 8);
		out[4 * i + 2] = (uint8_t)(cv[i] >> 16);
		out[4 * i + 3] = (uint8_t)(cv[i] >> 24);
	}
}

void render_blake3(const void *data, size_t len, uint8_t out[RENDER_BLAKE3_OUT])
{
	struct render_blake3 h;
	render_blake3_init(&h);
	render_blake3_update(&h, data, len);
	render_blake3_final(&h, out);
}
