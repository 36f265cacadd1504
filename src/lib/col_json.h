/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_json.h - legacy schema 11 JSON (the `col.models/decks/dconf` columns
 * of old collections and the notetype/deck/preset objects of the sync
 * protocol) to and from the objects of col_model.h, with the exact reading
 * rules and emission order of Anki (collection-format.md 3.2-3.4, traps in
 * 10; rslib/src/{notetype,decks,deckconfig}/schema11.rs).
 *
 * Reading (x_from_json): the argument is ONE object (a value of the
 * models/decks/dconf map), never the map.  Ids are taken from the object's
 * own "id" key (an integer, or for notetype/deck/preset a numeric string);
 * the map key is not looked at, so callers that read a whole map should
 * check that each key equals the object's id (Anki writes notetypes under
 * the inner id, their fields/templates under the key, and presets under the
 * key - see 3.2-3.4).  Rules:
 *   - required keys missing or of the wrong type -> ST_INVALID with a
 *     message naming the key; "default_on_invalid" keys fall back to their
 *     default instead; optional keys absent -> default;
 *   - keys Anki does not know are kept: serialised (compact, nested object
 *     keys sorted as serde_json does) into the `other` bytes of the
 *     notetype/field/template config, Deck.Common, or DeckConfig.Config
 *     (unknown keys of the preset's new/rev/lapse objects go under "new",
 *     "rev", "lapse" there);
 *   - deck names are converted to native form (deck_name_native_from_human);
 *   - templates get mtime 0 and usn 0 (schema 11 has none);
 *   - field/template "ord" values are type-checked but the array position
 *     is used.
 * *out is overwritten; on failure it is left zeroed (nothing leaks).
 * Statuses: ST_INVALID, ST_NOMEM.
 *
 * Writing (x_to_json): a new object (caller json_decref's it) with Anki's
 * keys in Anki's order, followed by the `other` keys minus Anki's reserved
 * names.  f32 values are stored as the double nearest to their shortest
 * f32 decimal, so col_json_dumps() prints them as Anki does ("0.9", not
 * "0.8999999761581421").  Returns NULL only when memory runs out (and for
 * a deck whose kind is DECK_KIND_UNSET, which no valid deck has).
 */
#ifndef ANKIHOST_COL_JSON_H
#define ANKIHOST_COL_JSON_H

#include <jansson.h>

#include "buf.h"
#include "col_model.h"
#include "status.h"

enum status notetype_from_json(const json_t *j, struct notetype *out, struct errinfo *e);
json_t *notetype_to_json(const struct notetype *nt);

enum status deck_from_json(const json_t *j, struct deck *out, struct errinfo *e);
json_t *deck_to_json(const struct deck *d);

/* No range fixes on reading (Anki applies them when it reads the row).
 * deckconf_to_json() emits the values after deckconf_config_fix_ranges(),
 * as Anki's downgrade does (section 4.3 step 2); dc itself is not
 * modified. */
enum status deckconf_from_json(const json_t *j, struct deckconf *out, struct errinfo *e);
json_t *deckconf_to_json(const struct deckconf *dc);

/* A JSON number for an f32 the way serde_json writes it: the shortest
 * decimal that reads back as the same f32 (stored as the double nearest to
 * that decimal); null for NaN/infinity.  NULL on OOM. */
json_t *col_json_f32(float v);

/* Compact JSON text in serde_json's style: no spaces; object keys in
 * insertion order; strings escape only '"', '\\' and control characters
 * (\b \f \n \r \t, else \u00xx lowercase), everything else raw UTF-8;
 * integers in decimal; reals as the shortest decimal that reads back as
 * the same double, always with a '.' or an exponent, laid out like Rust's
 * ryu ("1.0", "0.05", "1e-7", "1.5e22").  jansson's own json_dumps prints
 * reals with %.17g ("0.90000000000000002"), hence this function.
 * malloc'd; NULL on OOM or for nesting deeper than 2048. */
char *col_json_dumps(const json_t *j);
/* The same, appended to out.  ST_NOMEM, ST_TOOBIG, ST_INVALID (depth). */
enum status col_json_dumpb(const json_t *j, struct buf *out, struct errinfo *e);

#endif
