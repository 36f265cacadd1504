/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sqlfn.h - the SQL functions Anki registers on its collection connection
 * (collection-format.md §1.3, Anki's rslib/src/storage/sqlite.rs), needed
 * to run Anki-style searches over a collection.
 *
 *   field_at_index(flds, idx)           field idx (0-based) of flds, "" if none
 *   regexp(re, text)                    also `text REGEXP re`; 1/0
 *   regexp_fields(re, flds, idx...)     any (listed) field matches
 *   regexp_tags(re, tags)               any space-separated piece matches
 *   process_text(text, flags)           1 strip combining marks (NFKD),
 *                                       2 strip cloze markup (done first);
 *                                       NULL when nothing changed, so Anki
 *                                       writes coalesce(process_text(x,f), x)
 *   fnvhash(int...)                     64-bit FNV-1a over the values' LE bytes
 *   extract_original_position(data)     cards.data "pos", or NULL
 *   extract_custom_data(data, key)      cards.data "cd" JSON's key, or NULL
 *   extract_fsrs_variable(data, 's'|'d'|'dr')  REAL (float precision), or NULL
 *
 * Patterns use PCRE2 (UTF, Unicode properties, `$` only at the very end,
 * LF newlines) as the closest match to Rust's `regex` crate; a match limit
 * turns a catastrophic pattern into an SQL error instead of a hang.  The
 * compiled pattern is cached per statement with sqlite3_set_auxdata.
 * Not registered: extract_fsrs_retrievability and
 * extract_fsrs_relative_retrievability (need the FSRS model).
 */
#ifndef ANKIHOST_SQLFN_H
#define ANKIHOST_SQLFN_H

#include <sqlite3.h>

#include "buf.h"
#include "status.h"

/* PCRE2 match limit per call (backtracking steps) and depth limit. */
#define SQLFN_REGEX_MATCH_LIMIT 10000000u
#define SQLFN_REGEX_DEPTH_LIMIT 10000u

/* Register the unicase collation and every function above on db.
 * Returns an SQLite result code (SQLITE_OK on success). */
int sqlfn_register(sqlite3 *db);

/* Anki's strip_clozes: replace every match of
 * (?s)\{\{c[\d,]+::(.*?)(::.*?)?\}\} by its first group (\d: Unicode
 * decimal digits).  Linear time.  out's content is replaced; *changed
 * (may be NULL) says whether anything matched. */
enum status sqlfn_strip_clozes(const char *in, size_t len, struct buf *out, int *changed,
                               struct errinfo *e);

/* Anki's without_combining: NFKD, drop combining marks (Mn, Mc, Me), then
 * map a few letters without decompositions (Æ->AE, ß->s, ı->i, ...).
 * Invalid UTF-8 is read as U+FFFD.  *changed as above. */
enum status sqlfn_without_combining(const char *in, size_t len, struct buf *out, int *changed,
                                    struct errinfo *e);

#endif
