/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search_text.h - the text conversions of Anki's search language
 * (search-syntax.md §3.1 and §2.4; Anki's rslib/src/text.rs to_sql,
 * to_re, to_custom_re, to_text, is_glob, and regex::escape).
 *
 * Every function takes (pointer, length) UTF-8 text and appends to a
 * struct buf (its previous content is kept, so callers can build a
 * pattern piece by piece).  Statuses: ST_NOMEM / ST_TOOBIG from the buf.
 * The input is expected to be valid UTF-8 (the parser checks the whole
 * query once); invalid bytes are copied through, never read past len.
 */
#ifndef ANKIHOST_SEARCH_TEXT_H
#define ANKIHOST_SEARCH_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "status.h"

/* Anki wildcards to a LIKE pattern for `... like ? escape '\'`:
 * `*` -> `%`, `%` -> `\%`, `\*` -> `*`, `\\` stays, `_` and `\_` stay
 * (LIKE's own wildcard and its escaped form). */
enum status search_to_sql(const char *s, size_t n, struct buf *out, struct errinfo *e);

/* Anki wildcards to a regex: `*` -> wildcard + "*", `_` -> wildcard,
 * `\*` and `\\` stay, `\_` -> `_`, every other character regex-escaped.
 * A run of `*` gives one wildcard + "*" (the same matches, without the
 * backtracking cost).  search_to_re uses "." as the wildcard. */
enum status search_to_custom_re(const char *s, size_t n, const char *wildcard, struct buf *out,
                                struct errinfo *e);
enum status search_to_re(const char *s, size_t n, struct buf *out, struct errinfo *e);

/* Remove every backslash escape (`\x` -> `x`). */
enum status search_to_text(const char *s, size_t n, struct buf *out, struct errinfo *e);

/* True when s holds an unescaped `*` or `_` (one preceded by an even
 * number of backslashes). */
bool search_is_glob(const char *s, size_t n);

/* Rust regex::escape: a backslash before each of \.+*?()|[]{}^$#&-~ */
enum status search_regex_escape(const char *s, size_t n, struct buf *out, struct errinfo *e);

/* Check a user regex (as it will be compiled, flags prefix included)
 * the way Anki's regex engine would accept it: it must compile with the
 * PCRE2 options of sqlfn.c, and must not use what Rust's regex crate
 * lacks (look-around, backreferences, atomic groups, possessive
 * quantifiers, recursion, conditionals, verbs, unknown letter escapes).
 * ST_INVALID with a reason (no "Invalid search:" prefix). */
enum status search_regex_check(const char *re, size_t n, struct errinfo *e);

#endif
