/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_notegen.h - adding notes with their cards and keeping an edited
 * note's cards complete, the way Anki's add_note / update_note do it
 * (collection-format.md §6.1, §6.2 "Deck of a new card", "Position"),
 * plus Anki's first-field check (note_fields_check: empty, duplicate,
 * cloze problems; ankiconnect.md §3.7 "Default path").
 *
 * A struct col_ntinfo holds one notetype with its parsed front templates;
 * load it once and use it for every note of that type in a request.
 */
#ifndef ANKIHOST_COL_NOTEGEN_H
#define ANKIHOST_COL_NOTEGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cardgen.h"
#include "col.h"
#include "col_model.h"
#include "col_notes.h"

struct col_ntinfo {
	struct notetype nt;
	struct cardgen_notetype *cg;
	bool is_cloze;
	/* cloze notetypes: the field ords {{cloze:X}} names on template 0's
	 * front (sorted, unique) */
	uint32_t *cloze_fields;
	size_t ncloze_fields;
};

/* Load notetype mid.  ST_NOTFOUND, ST_DB, ST_NOMEM. */
enum status col_ntinfo_load(struct col *c, int64_t mid, struct col_ntinfo *out, struct errinfo *e);
/* Build from a notetype the caller gives up (nt is moved into out and
 * zeroed, also on failure). */
enum status col_ntinfo_from(struct notetype *nt, struct col_ntinfo *out, struct errinfo *e);
void col_ntinfo_free(struct col_ntinfo *i);

/* Anki's NoteFieldsCheckResponse states. */
enum col_fields_state {
	COL_FIELDS_NORMAL = 0,
	COL_FIELDS_EMPTY = 1,
	COL_FIELDS_DUPLICATE = 2,
	COL_FIELDS_MISSING_CLOZE = 3,
	COL_FIELDS_NOTETYPE_NOT_CLOZE = 4,
	COL_FIELDS_FIELD_NOT_CLOZE = 5,
};

/* Check note n (fields in n->flds, not yet cleaned is fine; n->id 0 for a
 * new note) as Anki does before adding: cloze placement, empty first
 * field (NFC, HTML stripped keeping media names, trimmed), cloze
 * presence, then a duplicate first field among notes of the same
 * notetype (checksum index, then exact stripped comparison). */
enum status col_note_fields_check(struct col *c, const struct col_ntinfo *nt, const struct note *n,
                                  enum col_fields_state *out, struct errinfo *e);

/* Add note n (n->mid = nt's id) with the cards its fields generate, in
 * deck did (a template's deck override wins; a missing or filtered deck
 * means deck 1), all sharing one new position (config nextPos, or a
 * random one when the deck's preset inserts randomly).  Then sets config
 * _nt_<mid>_lastDeck, _deck_<did>_lastNotetype and curModel.  On success
 * n holds the stored note.  The caller holds a transaction. */
enum status col_notegen_add(struct col *c, const struct col_ntinfo *nt, struct note *n, int64_t did,
                            struct errinfo *e);

/* Add the cards an existing (already stored) note now generates but does
 * not have yet (Anki's generate_cards_for_existing_note).  Deck: the
 * template's override, else the home deck shared by the note's cards,
 * else did_hint (0 = deck 1).  *added (may be NULL) counts them. */
enum status col_notegen_missing_cards(struct col *c, const struct col_ntinfo *nt,
                                      const struct note *n, int64_t did_hint, size_t *added,
                                      struct errinfo *e);

#endif
