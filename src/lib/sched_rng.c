/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_rng.c - ChaCha12 keyed by PCG32, as rand 0.9's
 * StdRng::seed_from_u64 (see sched_rng.h).  Written from the published
 * algorithms (ChaCha: D. J. Bernstein; PCG32 XSH-RR: M. O'Neill) and the
 * documented behaviour of rand_core 0.9 / rand_chacha 0.9; checked against
 * their test vectors in tests/unit/test_sched_rng.c.
 *
 * Invariant: words are produced block by block, block counter in state
 * words 12-13, nonce words 14-15 zero, exactly as the 4-block buffer of
 * rand_chacha yields them (the buffer size does not change the stream).
 */
#include "sched_rng.h"

#include <string.h>

#define PCG_MUL 6364136223846793005ULL
#define PCG_INC 11634580027462260723ULL

static uint32_t rotl32(uint32_t v, unsigned n)
{
	return (v << n) | (v >> (32 - n));
}

static uint32_t rotr32(uint32_t v, unsigned n)
{
	n &= 31;
	return n ? (v >> n) | (v << (32 - n)) : v;
}

static uint32_t pcg32_next(uint64_t *state)
{
	/* advance first, then the XSH-RR output of the new state */
	*state = *state * PCG_MUL + PCG_INC;
	uint64_t s = *state;
	uint32_t xorshifted = (uint32_t)(((s >> 18) ^ s) >> 27);
	return rotr32(xorshifted, (unsigned)(s >> 59));
}

void sched_rng_seed_bytes(uint64_t state, uint8_t out[32])
{
	for (int i = 0; i < 8; i++) {
		uint32_t x = pcg32_next(&state);
		for (int b = 0; b < 4; b++)
			out[i * 4 + b] = (uint8_t)(x >> (8 * b));
	}
}

void sched_rng_init_key(struct sched_rng *r, const uint8_t key[32], uint32_t rounds)
{
	memset(r, 0, sizeof *r);
	for (int i = 0; i < 8; i++)
		r->key[i] = (uint32_t)key[i * 4] | (uint32_t)key[i * 4 + 1] << 8 |
		            (uint32_t)key[i * 4 + 2] << 16 | (uint32_t)key[i * 4 + 3] << 24;
	r->rounds = rounds;
	r->pos = 16;
}

void sched_rng_init(struct sched_rng *r, uint64_t seed)
{
	uint8_t key[32];
	sched_rng_seed_bytes(seed, key);
	sched_rng_init_key(r, key, 12);
}

#define QR(a, b, c, d)                                                                             \
	do {                                                                                       \
		x[a] += x[b];                                                                      \
		x[d] = rotl32(x[d] ^ x[a], 16);                                                    \
		x[c] += x[d];                                                                      \
		x[b] = rotl32(x[b] ^ x[c], 12);                                                    \
		x[a] += x[b];                                                                      \
		x[d] = rotl32(x[d] ^ x[a], 8);                                                     \
		x[c] += x[d];                                                                      \
		x[b] = rotl32(x[b] ^ x[c], 7);                                                     \
	} while (0)

static void refill(struct sched_rng *r)
{
	uint32_t in[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
	memcpy(in + 4, r->key, sizeof r->key);
	in[12] = (uint32_t)r->counter;
	in[13] = (uint32_t)(r->counter >> 32);
	in[14] = 0;
	in[15] = 0;
	uint32_t x[16];
	memcpy(x, in, sizeof x);
	for (uint32_t i = 0; i < r->rounds / 2; i++) {
		QR(0, 4, 8, 12);
		QR(1, 5, 9, 13);
		QR(2, 6, 10, 14);
		QR(3, 7, 11, 15);
		QR(0, 5, 10, 15);
		QR(1, 6, 11, 12);
		QR(2, 7, 8, 13);
		QR(3, 4, 9, 14);
	}
	for (int i = 0; i < 16; i++)
		r->buf[i] = x[i] + in[i];
	r->counter++;
	r->pos = 0;
}

uint32_t sched_rng_u32(struct sched_rng *r)
{
	if (r->pos >= 16)
		refill(r);
	return r->buf[r->pos++];
}

uint64_t sched_rng_u64(struct sched_rng *r)
{
	/* low word first; a u64 may straddle two blocks, as in rand_core */
	uint64_t lo = sched_rng_u32(r);
	uint64_t hi = sched_rng_u32(r);
	return hi << 32 | lo;
}

float sched_rng_unit_f32(struct sched_rng *r)
{
	uint32_t bits = (sched_rng_u32(r) >> 9) | 0x3f800000u;
	float one_two;
	memcpy(&one_two, &bits, sizeof one_two);
	return one_two - 1.0f;
}

uint32_t sched_rng_range_u32(struct sched_rng *r, uint32_t low, uint32_t high)
{
	if (low >= high)
		return low;
	uint32_t range = high - low; /* inclusive range of high-1 - low + 1 */
	uint64_t m = (uint64_t)sched_rng_u32(r) * range;
	uint32_t result = (uint32_t)(m >> 32), lo = (uint32_t)m;
	if (lo > (uint32_t)(0u - range)) {
		/* rand 0.9's biased Canon step: one more word decides a carry */
		uint32_t hi2 = (uint32_t)(((uint64_t)sched_rng_u32(r) * range) >> 32);
		if ((uint64_t)lo + hi2 > UINT32_MAX)
			result++;
	}
	return low + result;
}

float sched_rng_fuzz_factor(uint64_t seed)
{
	struct sched_rng r;
	sched_rng_init(&r, seed);
	return sched_rng_unit_f32(&r);
}
