/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * tags.h - canonical note tags (collection-format.md §6.1 "tags"; Anki's
 * rslib/src/tags/register.rs): splitting, per-component normalisation,
 * case adoption from registered tags and parents, case-insensitive
 * de-duplication, unicase order, and the " a b " column form.
 *
 * The tags table lives in the database; this module reaches it only
 * through struct tags_registry, so the caller decides where tags are
 * looked up and registered (and tests can use an in-memory table).
 */
#ifndef ANKIHOST_TAGS_H
#define ANKIHOST_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "status.h"

/* Separators between tags in notes.tags: U+0020 and U+3000. */
bool tags_is_separator(const char *s, size_t len, size_t *adv);

struct tags_registry {
	/* The registered spelling of a tag equal to `tag` under the unicase
	 * collation (SQL: SELECT tag FROM tags WHERE tag = ?), or NULL.  The
	 * string only needs to stay valid until the next call. */
	const char *(*lookup)(void *ctx, const char *tag);
	/* Register a new tag (already canonical).  May be NULL: then nothing
	 * is registered, like Anki's canonify_tags_without_registering.
	 * Later lookups in the same call must see the tag. */
	enum status (*add)(void *ctx, const char *tag, struct errinfo *e);
	void *ctx;
};

/* A list of tags (each a NUL-terminated malloc'd string). */
struct tags_list {
	char **v;
	size_t n;
};

void tags_list_free(struct tags_list *l);

/* Normalise one tag (no separators inside): per "::" component NFC,
 * remove ASCII control characters, U+0020 and U+3000, trim Unicode
 * whitespace, an empty component becomes "blank".  Invalid UTF-8 is
 * first read lossily (U+FFFD).  out's content is replaced. */
enum status tags_normalize_name(const char *tag, size_t len, struct buf *out, struct errinfo *e);

/* Canonify tags: every input string is split on separators (empty pieces
 * dropped), each piece normalised, then given the registered spelling if
 * one exists (reg->lookup), else the registered spelling of its closest
 * existing parent ("A::b" with "a" registered as "A"), and registered
 * (reg->add) if new; duplicates (case-insensitive, unicase) keep their
 * first spelling; the result is sorted in unicase order.  reg may be NULL
 * (no registered tags).  *added (may be NULL) tells whether any tag was
 * new.  At most max_tags tags (0 = no limit) or ST_TOOBIG. */
enum status tags_canonify(const char *const *inputs, const size_t *lens, size_t ninputs,
                          const struct tags_registry *reg, size_t max_tags, struct tags_list *out,
                          bool *added, struct errinfo *e);

/* The notes.tags column form: " a b " or "" for no tags. */
enum status tags_join(const struct tags_list *l, struct buf *out, struct errinfo *e);

/* Split + canonify + join a notes.tags string. */
enum status tags_canonify_string(const char *tags, size_t len, const struct tags_registry *reg,
                                 size_t max_tags, struct buf *out, bool *added, struct errinfo *e);

#endif
