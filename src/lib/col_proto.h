/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_proto.h - decode/encode the protobuf blobs of a schema 18 collection
 * (collection-format.md 2.5-2.10) to/from the typed structs of col_model.h:
 *
 *   notetypes.config    Notetype.Config          notetype_config_*
 *   fields.config       Notetype.Field.Config    field_config_*
 *   templates.config    Notetype.Template.Config template_config_*
 *   decks.common        Deck.Common              deck_common_*
 *   decks.kind          Deck.KindContainer       deck_kind_*
 *   deck_config.config  DeckConfig.Config        deckconf_config_*
 *
 * Decoding follows protobuf rules: fields in any order; a repeated scalar
 * packed or not; a scalar seen twice keeps the last value; an embedded
 * message seen twice is merged; unknown fields are kept verbatim in
 * `unknown`.  A known field with the wrong wire type, a malformed record or
 * a string that is not UTF-8 (or holds NUL) is ST_CORRUPT.
 *
 * Encoding follows what Anki (prost) writes: ascending field numbers,
 * proto3 defaults omitted except `optional` scalars (has_*), embedded
 * messages and the oneof member, which are written when present; repeated
 * scalars packed; negative int32/int64/enum as 10-byte varints; floats as
 * fixed32; field 255 (`other`) only when non-empty.  Kept unknown records
 * are merged in by field number.  Decoding an Anki-written blob and
 * encoding it again gives the same bytes.
 */
#ifndef ANKIHOST_COL_PROTO_H
#define ANKIHOST_COL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "col_model.h"
#include "status.h"

/* Decoders: *out is overwritten (not freed first); on success the caller
 * owns it (free with the matching *_free); on failure it is left zeroed
 * and nothing leaks.  p may be NULL when n is 0 (an empty blob decodes to
 * all defaults).  Statuses: ST_CORRUPT, ST_NOMEM.
 *
 * Encoders append to out (a buf_init'ed buffer); on failure out->len is
 * restored.  Statuses: ST_NOMEM, ST_TOOBIG (out's cap), ST_INVALID
 * (deck_kind with type DECK_KIND_UNSET), ST_CORRUPT (kept unknown bytes
 * that do not parse; only possible if the caller filled them). */

enum status notetype_config_decode(const uint8_t *p, size_t n, struct notetype_config *out,
                                   struct errinfo *e);
enum status notetype_config_encode(const struct notetype_config *c, struct buf *out,
                                   struct errinfo *e);

enum status field_config_decode(const uint8_t *p, size_t n, struct field_config *out,
                                struct errinfo *e);
enum status field_config_encode(const struct field_config *c, struct buf *out, struct errinfo *e);

enum status template_config_decode(const uint8_t *p, size_t n, struct template_config *out,
                                   struct errinfo *e);
enum status template_config_encode(const struct template_config *c, struct buf *out,
                                   struct errinfo *e);

enum status deck_common_decode(const uint8_t *p, size_t n, struct deck_common *out,
                               struct errinfo *e);
enum status deck_common_encode(const struct deck_common *c, struct buf *out, struct errinfo *e);

/* A KindContainer with neither member is ST_CORRUPT ("invalid deck kind"),
 * as Anki refuses such a row.  If both members appear, the last one wins
 * (oneof semantics). */
enum status deck_kind_decode(const uint8_t *p, size_t n, struct deck_kind *out, struct errinfo *e);
enum status deck_kind_encode(const struct deck_kind *k, struct buf *out, struct errinfo *e);

/* No range fixes are applied here; see deckconf_config_fix_ranges(). */
enum status deckconf_config_decode(const uint8_t *p, size_t n, struct deckconf_config *out,
                                   struct errinfo *e);
enum status deckconf_config_encode(const struct deckconf_config *c, struct buf *out,
                                   struct errinfo *e);

#endif
