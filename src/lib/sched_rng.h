/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_rng.h - the seeded random numbers of Anki's scheduler fuzz, bit for
 * bit (docs/scheduler.md "Fuzz").
 *
 * Anki seeds rand 0.9's StdRng with seed_from_u64(card id + reps) and draws
 * one value per use.  StdRng is ChaCha with 12 rounds (rand_chacha 0.9),
 * 64-bit block counter and zero nonce, read as little-endian 32-bit words;
 * seed_from_u64 expands the u64 into the 32-byte key with PCG32 (rand_core
 * 0.9).  An f32 in [0, 1) takes the top 23 bits of one word as a mantissa;
 * an integer range uses one widening multiply (a second word in the rare
 * biased case, rand's default non-"unbiased" sampler).
 */
#ifndef ANKIHOST_SCHED_RNG_H
#define ANKIHOST_SCHED_RNG_H

#include <stddef.h>
#include <stdint.h>

struct sched_rng {
	uint32_t key[8];
	uint64_t counter; /* next block */
	uint32_t rounds;  /* 12 for StdRng; 20 for ChaCha20 test vectors */
	uint32_t buf[16];
	size_t pos; /* next word in buf; 16 = empty */
};

/* The 32-byte key seed_from_u64 derives from state (PCG32 outputs, LE). */
void sched_rng_seed_bytes(uint64_t state, uint8_t out[32]);

/* A ChaCha generator over a raw 32-byte key with the given round count. */
void sched_rng_init_key(struct sched_rng *r, const uint8_t key[32], uint32_t rounds);

/* StdRng::seed_from_u64(seed). */
void sched_rng_init(struct sched_rng *r, uint64_t seed);

uint32_t sched_rng_u32(struct sched_rng *r);
uint64_t sched_rng_u64(struct sched_rng *r);

/* rng.random_range(0.0f32..1.0): ((u32 >> 9) as mantissa) - 1.0. */
float sched_rng_unit_f32(struct sched_rng *r);

/* rng.random_range(low..high) for u32, low < high (else returns low). */
uint32_t sched_rng_range_u32(struct sched_rng *r, uint32_t low, uint32_t high);

/* Anki's get_fuzz_factor(Some(seed)): seed_from_u64(seed), one unit f32. */
float sched_rng_fuzz_factor(uint64_t seed);

#endif
