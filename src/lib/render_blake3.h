/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_blake3.h - the BLAKE3 hash (default hash mode, 32-byte output).
 *
 * Anki's {{hint:...}} filter names its hidden <div> after the first 8
 * bytes of BLAKE3(field text || field name), so the id must be computed
 * exactly; none of the linked libraries (OpenSSL 3 has BLAKE2 only)
 * offers BLAKE3, hence this small portable implementation of the
 * published specification (no SIMD, no keyed or derive-key modes).
 */
#ifndef ANKIHOST_RENDER_BLAKE3_H
#define ANKIHOST_RENDER_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#define RENDER_BLAKE3_OUT 32

/* Incremental hasher; zero-initialise with render_blake3_init.  At most
 * 2^54 chunks, far beyond anything we hash. */
struct render_blake3 {
	uint32_t cv_stack[54][8];
	uint8_t ncv;
	uint32_t chunk_cv[8];
	uint64_t chunk_counter;
	uint8_t block[64];
	uint8_t block_len;
	uint8_t blocks_done;
};

void render_blake3_init(struct render_blake3 *h);
void render_blake3_update(struct render_blake3 *h, const void *data, size_t len);
/* Write the 32-byte digest; h may be updated further afterwards. */
void render_blake3_final(const struct render_blake3 *h, uint8_t out[RENDER_BLAKE3_OUT]);

/* One-shot digest of data. */
void render_blake3(const void *data, size_t len, uint8_t out[RENDER_BLAKE3_OUT]);

#endif
