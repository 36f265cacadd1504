/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * unicase.h - the "unicase" SQLite collation Anki declares on deck, notetype,
 * field, template, deck-config and tag names (collection-format.md §1.2).
 *
 * Order (Rust crate unicase 2.6.0, Ord for UniCase):
 *   - both strings pure ASCII: bytes compared after ASCII-lowercasing A-Z;
 *   - otherwise: every code point mapped through Unicode full case folding
 *     (CaseFolding.txt statuses C and F: "ß" -> "ss"), sequences of folded
 *     code points compared lexicographically; a proper prefix sorts first.
 * Invalid UTF-8 is read the way Rust's String::from_utf8_lossy reads it
 * (each maximal ill-formed subpart becomes U+FFFD), so the order is total
 * and deterministic for any bytes.  Neither path allocates.
 */
#ifndef ANKIHOST_UNICASE_H
#define ANKIHOST_UNICASE_H

#include <sqlite3.h>

/* Compare a[0..alen) with b[0..blen) (not NUL-terminated; a negative length
 * means "up to the NUL").  Returns <0, 0 or >0.  Never fails. */
int unicase_compare(const char *a, int alen, const char *b, int blen);

/* Register the collation "unicase" (SQLITE_UTF8) on db.  Returns the SQLite
 * result code of sqlite3_create_collation_v2 (SQLITE_OK on success). */
int unicase_register(sqlite3 *db);

#endif
