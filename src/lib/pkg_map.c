/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pkg_map.c - open-addressing hash maps for the package code: id pairs
 * and strings to 64-bit values (note id maps, guid lookup, existing card
 * ordinals, media names).  Linear probing; the table is kept at most half
 * full and doubles when it fills, so lookups stay short.  Keys of incoming
 * packages are hostile, but a package's keys are bounded by its row count,
 * and splitmix/FNV mixing keeps crafted ids from clustering badly.
 */
#include "pkg_internal.h"

#include <stdlib.h>
#include <string.h>

struct pkg_imap_slot {
	int64_t k1, k2, val;
	bool used;
};

struct pkg_smap_slot {
	char *k;
	int64_t val;
};

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static size_t ihash(int64_t k1, int64_t k2)
{
	return (size_t)mix64((uint64_t)k1 ^ mix64((uint64_t)k2));
}

static size_t shash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (size_t)mix64(h);
}

static enum status imap_grow(struct pkg_imap *m, struct errinfo *e)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct pkg_imap_slot *nv = calloc(ncap, sizeof *nv);
	if (!nv)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->v[i].used)
			continue;
		size_t j = ihash(m->v[i].k1, m->v[i].k2) & (ncap - 1);
		while (nv[j].used)
			j = (j + 1) & (ncap - 1);
		nv[j] = m->v[i];
	}
	free(m->v);
	m->v = nv;
	m->cap = ncap;
	return ST_OK;
}

enum status pkg_imap_put(struct pkg_imap *m, int64_t k1, int64_t k2, int64_t val, struct errinfo *e)
{
	if ((m->n + 1) * 2 > m->cap) {
		enum status st = imap_grow(m, e);
		if (st)
			return st;
	}
	size_t j = ihash(k1, k2) & (m->cap - 1);
	while (m->v[j].used) {
		if (m->v[j].k1 == k1 && m->v[j].k2 == k2) {
			m->v[j].val = val;
			return ST_OK;
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->v[j] = (struct pkg_imap_slot){k1, k2, val, true};
	m->n++;
	return ST_OK;
}

bool pkg_imap_get(const struct pkg_imap *m, int64_t k1, int64_t k2, int64_t *val)
{
	if (!m->cap)
		return false;
	size_t j = ihash(k1, k2) & (m->cap - 1);
	while (m->v[j].used) {
		if (m->v[j].k1 == k1 && m->v[j].k2 == k2) {
			if (val)
				*val = m->v[j].val;
			return true;
		}
		j = (j + 1) & (m->cap - 1);
	}
	return false;
}

void pkg_imap_free(struct pkg_imap *m)
{
	free(m->v);
	memset(m, 0, sizeof *m);
}

static enum status smap_grow(struct pkg_smap *m, struct errinfo *e)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct pkg_smap_slot *nv = calloc(ncap, sizeof *nv);
	if (!nv)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->v[i].k)
			continue;
		size_t j = shash(m->v[i].k) & (ncap - 1);
		while (nv[j].k)
			j = (j + 1) & (ncap - 1);
		nv[j] = m->v[i];
	}
	free(m->v);
	m->v = nv;
	m->cap = ncap;
	return ST_OK;
}

enum status pkg_smap_put(struct pkg_smap *m, const char *k, int64_t val, struct errinfo *e)
{
	if ((m->n + 1) * 2 > m->cap) {
		enum status st = smap_grow(m, e);
		if (st)
			return st;
	}
	size_t j = shash(k) & (m->cap - 1);
	while (m->v[j].k) {
		if (strcmp(m->v[j].k, k) == 0) {
			m->v[j].val = val;
			return ST_OK;
		}
		j = (j + 1) & (m->cap - 1);
	}
	char *copy = strdup(k);
	if (!copy)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	m->v[j] = (struct pkg_smap_slot){copy, val};
	m->n++;
	return ST_OK;
}

bool pkg_smap_get(const struct pkg_smap *m, const char *k, int64_t *val)
{
	if (!m->cap)
		return false;
	size_t j = shash(k) & (m->cap - 1);
	while (m->v[j].k) {
		if (strcmp(m->v[j].k, k) == 0) {
			if (val)
				*val = m->v[j].val;
			return true;
		}
		j = (j + 1) & (m->cap - 1);
	}
	return false;
}

void pkg_smap_free(struct pkg_smap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].k);
	free(m->v);
	memset(m, 0, sizeof *m);
}
