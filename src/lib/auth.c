/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * auth.c - PBKDF2 PHC strings, host keys and constant-time comparison
 * (sync-protocol.md §2.2), on OpenSSL.
 *
 * Invariant: nothing here keeps a secret longer than a call; derived keys on
 * the stack are wiped with OPENSSL_cleanse before returning.
 */
#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t auth_b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

int auth_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long auth_b64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	if (n % 4 == 1)
		return -1; /* one leftover character cannot carry a byte */
	size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	if (need > cap)
		return -1;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = auth_b64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* Non-zero leftover bits mean a non-canonical encoding. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

int auth_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void auth_hkey(const void *data, size_t len, char out[AUTH_HKEY_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20) {
		/* Only on a broken OpenSSL; an all-zero key never matches a real one
		 * because lookups compare against keys made by this same function. */
		memset(out, '0', AUTH_HKEY_LEN);
		out[AUTH_HKEY_LEN] = '\0';
		return;
	}
	for (unsigned i = 0; i < 20; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[AUTH_HKEY_LEN] = '\0';
}

void auth_hkey_user(const char *name, const char *secret, char out[AUTH_HKEY_LEN + 1])
{
	size_t nl = strlen(name), sl = strlen(secret);
	char *tmp = malloc(nl + 1 + sl + 1);
	if (!tmp) {
		memset(out, '0', AUTH_HKEY_LEN);
		out[AUTH_HKEY_LEN] = '\0';
		return;
	}
	memcpy(tmp, name, nl);
	tmp[nl] = ':';
	memcpy(tmp + nl + 1, secret, sl);
	auth_hkey(tmp, nl + 1 + sl, out);
	OPENSSL_cleanse(tmp, nl + 1 + sl);
	free(tmp);
}

static const char *alg_name(enum auth_alg alg)
{
	return alg == AUTH_PBKDF2_SHA512 ? "pbkdf2-sha512" : "pbkdf2-sha256";
}

static const EVP_MD *alg_md(enum auth_alg alg)
{
	return alg == AUTH_PBKDF2_SHA512 ? EVP_sha512() : EVP_sha256();
}

/* Parse a decimal u32 from s[0..n) without sign, spaces or leading '+'. */
static int parse_u32(const char *s, size_t n, uint32_t *out)
{
	if (n == 0 || n > 10)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

enum status auth_phc_parse(const char *phc, struct auth_phc *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	if (!phc || phc[0] != '$')
		return errinfo_set(e, ST_INVALID, "password hash does not start with '$'");
	if (strlen(phc) > AUTH_PHC_MAX)
		return errinfo_set(e, ST_INVALID, "password hash is longer than %d bytes",
		                   AUTH_PHC_MAX);
	/* Fields: $alg$params$salt$hash */
	const char *f[4];
	size_t fl[4];
	const char *p = phc + 1;
	for (int i = 0; i < 4; i++) {
		const char *d = strchr(p, '$');
		if (i < 3 && !d)
			return errinfo_set(
			    e, ST_INVALID,
			    "password hash needs the form $pbkdf2-sha256$i=N,l=N$salt$hash");
		if (i == 3 && d)
			return errinfo_set(e, ST_INVALID, "password hash has too many '$' fields");
		f[i] = p;
		fl[i] = d ? (size_t)(d - p) : strlen(p);
		p = d ? d + 1 : p + fl[i];
	}
	if (fl[0] == 13 && memcmp(f[0], "pbkdf2-sha256", 13) == 0)
		out->alg = AUTH_PBKDF2_SHA256;
	else if (fl[0] == 13 && memcmp(f[0], "pbkdf2-sha512", 13) == 0)
		out->alg = AUTH_PBKDF2_SHA512;
	else
		return errinfo_set(
		    e, ST_INVALID,
		    "password hash algorithm \"%.*s\" is not pbkdf2-sha256 or pbkdf2-sha512",
		    (int)(fl[0] > 32 ? 32 : fl[0]), f[0]);
	/* Parameters: comma-separated k=v, "i" required, "l" optional. */
	int have_i = 0, have_l = 0;
	uint32_t l = 0;
	const char *q = f[1], *end = f[1] + fl[1];
	while (q < end) {
		const char *comma = memchr(q, ',', (size_t)(end - q));
		const char *pe = comma ? comma : end;
		const char *eq = memchr(q, '=', (size_t)(pe - q));
		if (!eq)
			return errinfo_set(e, ST_INVALID, "password hash parameter without '='");
		uint32_t v;
		if (parse_u32(eq + 1, (size_t)(pe - eq - 1), &v))
			return errinfo_set(e, ST_INVALID,
			                   "password hash parameter is not a number");
		if (eq - q == 1 && q[0] == 'i' && !have_i) {
			out->rounds = v;
			have_i = 1;
		} else if (eq - q == 1 && q[0] == 'l' && !have_l) {
			l = v;
			have_l = 1;
		} else {
			return errinfo_set(e, ST_INVALID,
			                   "password hash has an unknown or repeated parameter");
		}
		q = comma ? comma + 1 : end;
	}
	if (!have_i)
		return errinfo_set(e, ST_INVALID, "password hash lacks the i= (rounds) parameter");
	if (out->rounds < 1 || out->rounds > AUTH_MAX_ROUNDS)
		return errinfo_set(e, ST_INVALID, "password hash rounds %u outside 1..%u",
		                   out->rounds, AUTH_MAX_ROUNDS);
	long n = auth_b64_decode(f[2], fl[2], out->salt, sizeof out->salt);
	if (n < 4)
		return errinfo_set(e, ST_INVALID,
		                   "password hash salt is not 4..64 bytes of base64");
	out->salt_len = (size_t)n;
	n = auth_b64_decode(f[3], fl[3], out->hash, sizeof out->hash);
	if (n < 10)
		return errinfo_set(e, ST_INVALID,
		                   "password hash output is not 10..64 bytes of base64");
	out->hash_len = (size_t)n;
	if (have_l && l != out->hash_len)
		return errinfo_set(e, ST_INVALID,
		                   "password hash l=%u does not match its %zu-byte output", l,
		                   out->hash_len);
	return ST_OK;
}

static enum status derive(const char *password, size_t pwlen, enum auth_alg alg, uint32_t rounds,
                          const unsigned char *salt, size_t salt_len, unsigned char *out,
                          size_t out_len, struct errinfo *e)
{
	if (pwlen > INT32_MAX || rounds > INT32_MAX || rounds == 0)
		return errinfo_set(e, ST_INVALID, "password or rounds out of range");
	if (!PKCS5_PBKDF2_HMAC(password, (int)pwlen, salt, (int)salt_len, (int)rounds, alg_md(alg),
	                       (int)out_len, out))
		return errinfo_set(e, ST_INTERNAL, "PBKDF2 failed in OpenSSL");
	return ST_OK;
}

enum status auth_phc_verify(const char *phc, const char *password, size_t pwlen, int *ok,
                            struct errinfo *e)
{
	*ok = 0;
	struct auth_phc h;
	enum status st = auth_phc_parse(phc, &h, e);
	if (st)
		return st;
	unsigned char got[AUTH_HASH_MAX];
	st = derive(password, pwlen, h.alg, h.rounds, h.salt, h.salt_len, got, h.hash_len, e);
	if (st == ST_OK)
		*ok = auth_equal(got, h.hash, h.hash_len);
	OPENSSL_cleanse(got, sizeof got);
	return st;
}

enum status auth_phc_hash_salt(const char *password, size_t pwlen, enum auth_alg alg,
                               uint32_t rounds, size_t hash_len, const unsigned char *salt,
                               size_t salt_len, char *out, size_t cap, struct errinfo *e)
{
	if (hash_len < 10 || hash_len > AUTH_HASH_MAX || salt_len < 4 || salt_len > AUTH_SALT_MAX)
		return errinfo_set(e, ST_INVALID, "bad hash or salt length");
	unsigned char dk[AUTH_HASH_MAX];
	enum status st = derive(password, pwlen, alg, rounds, salt, salt_len, dk, hash_len, e);
	if (st)
		return st;
	char salt64[AUTH_SALT_MAX * 2], hash64[AUTH_HASH_MAX * 2];
	auth_b64_encode(salt, salt_len, salt64);
	auth_b64_encode(dk, hash_len, hash64);
	OPENSSL_cleanse(dk, sizeof dk);
	int n = snprintf(out, cap, "$%s$i=%u,l=%zu$%s$%s", alg_name(alg), rounds, hash_len, salt64,
	                 hash64);
	if (n < 0 || (size_t)n >= cap)
		return errinfo_set(e, ST_TOOBIG, "PHC string does not fit");
	return ST_OK;
}

enum status auth_phc_hash(const char *password, size_t pwlen, char *out, size_t cap,
                          struct errinfo *e)
{
	unsigned char salt[16];
	if (RAND_bytes(salt, sizeof salt) != 1)
		return errinfo_set(e, ST_INTERNAL, "no random bytes from OpenSSL");
	return auth_phc_hash_salt(password, pwlen, AUTH_PBKDF2_SHA256, AUTH_DEFAULT_ROUNDS,
	                          AUTH_DEFAULT_LEN, salt, sizeof salt, out, cap, e);
}
