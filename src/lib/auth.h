/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * auth.h - password hashes and host keys of the sync server
 * (sync-protocol.md §2.2).
 *
 * Passwords are stored as PHC strings of PBKDF2, the format the official
 * server reads with PASSWORDS_HASHED:
 *     $pbkdf2-sha256$i=600000,l=32$<salt B64>$<hash B64>
 * B64 is the standard alphabet without padding; the salt is B64-decoded to
 * its raw bytes before use (that is what the official server's pbkdf2 crate
 * does).  A host key is the lowercase hex SHA-1 of the text "user:secret",
 * where secret is the plain password or, for hashed passwords, the PHC
 * string; a changed password therefore changes the host key.
 *
 * Comparisons of secrets are constant-time (OpenSSL CRYPTO_memcmp).
 */
#ifndef ANKIHOST_AUTH_H
#define ANKIHOST_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define AUTH_HKEY_LEN 40           /* hex SHA-1 */
#define AUTH_PHC_MAX 256           /* longest PHC string we read or write */
#define AUTH_SALT_MAX 64           /* raw salt bytes (B64 text up to 86 chars) */
#define AUTH_HASH_MAX 64           /* raw output bytes (SHA-512 digest size) */
#define AUTH_DEFAULT_ROUNDS 600000 /* the official server's default (pbkdf2 0.12) */
#define AUTH_DEFAULT_LEN 32
#define AUTH_MAX_ROUNDS 100000000u /* refuse absurd work factors in a hash string */

enum auth_alg { AUTH_PBKDF2_SHA256, AUTH_PBKDF2_SHA512 };

struct auth_phc {
	enum auth_alg alg;
	uint32_t rounds;
	unsigned char salt[AUTH_SALT_MAX];
	size_t salt_len;
	unsigned char hash[AUTH_HASH_MAX];
	size_t hash_len;
};

/* out = lowercase hex SHA-1 of data[0..len), NUL-terminated. */
void auth_hkey(const void *data, size_t len, char out[AUTH_HKEY_LEN + 1]);

/* out = hkey of "name:secret" (the official derivation). */
void auth_hkey_user(const char *name, const char *secret, char out[AUTH_HKEY_LEN + 1]);

/* Non-zero when a[0..len) equals b[0..len); time depends only on len. */
int auth_equal(const void *a, const void *b, size_t len);

/* Parse a PHC string.  ST_INVALID (naming the problem) for anything that is
 * not pbkdf2-sha256/sha512 with i= (and optional l=) parameters, a salt of
 * 4..64 raw bytes and a hash of 10..64 bytes matching l. */
enum status auth_phc_parse(const char *phc, struct auth_phc *out, struct errinfo *e);

/* *ok = 1 when password matches the PHC string, 0 otherwise.  ST_INVALID
 * when phc is malformed (then *ok = 0).  Costs the hash's rounds. */
enum status auth_phc_verify(const char *phc, const char *password, size_t pwlen, int *ok,
                            struct errinfo *e);

/* Hash password with the given salt into a PHC string out (cap bytes).
 * Deterministic; used by tests and for the official fixed-salt scheme. */
enum status auth_phc_hash_salt(const char *password, size_t pwlen, enum auth_alg alg,
                               uint32_t rounds, size_t hash_len, const unsigned char *salt,
                               size_t salt_len, char *out, size_t cap, struct errinfo *e);

/* Hash password with a fresh random 16-byte salt and the default parameters
 * (pbkdf2-sha256, 600000 rounds, 32 bytes). */
enum status auth_phc_hash(const char *password, size_t pwlen, char *out, size_t cap,
                          struct errinfo *e);

/* Unpadded standard base64.  encode: out needs 4*ceil(n/3)+1 bytes; returns
 * the text length.  decode: returns the byte count or -1 on a bad
 * character, padding, an impossible length or more than cap bytes. */
size_t auth_b64_encode(const unsigned char *in, size_t n, char *out);
long auth_b64_decode(const char *in, size_t n, unsigned char *out, size_t cap);
/* The 6-bit value of one character of that alphabet, or -1. */
int auth_b64_value(unsigned char c);

#endif
