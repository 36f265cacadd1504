/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cardgen.h - which cards a note has (collection-format.md §6.2): the card
 * template tokenizer and parser, the "front renders non-empty" test,
 * cloze numbers, and the legacy requirement cache (reqs / req).
 *
 * Usage: build a struct cardgen_notetype once per notetype (it parses the
 * front templates and resolves field names), then ask it for each note.
 * Nothing here touches the database; deck choice and due positions are
 * the caller's.
 */
#ifndef ANKIHOST_CARDGEN_H
#define ANKIHOST_CARDGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "text.h"

/* Anki caps cloze card ordinals: cloze N gives ord min(N - 1, 499). */
#define CARDGEN_MAX_CLOZE_ORD 499
/* At most this many clozes are open at once; further openers are text. */
#define CARDGEN_MAX_CLOZE_NESTING 10

/* Values equal CardRequirement.Kind in the protobuf (§2.6). */
enum cardgen_req_kind { CARDGEN_REQ_NONE = 0, CARDGEN_REQ_ANY = 1, CARDGEN_REQ_ALL = 2 };

struct cardgen_req {
	enum cardgen_req_kind kind;
	uint32_t *field_ords; /* sorted ascending; malloc'd (NULL when n == 0) */
	size_t n;
};

void cardgen_req_free(struct cardgen_req *r);

/* The name written in schema 11 JSON "req": "any", "all" or "none". */
const char *cardgen_req_kind_name(enum cardgen_req_kind k);

/* A set of card ordinals, sorted ascending, plus the rule Anki applies
 * when it is empty. */
struct cardgen_ords {
	uint32_t *v; /* malloc'd (NULL when n == 0) */
	size_t n;
	/* The set is empty: if the note has no card at all, Anki still
	 * creates ord 0 (a note always has at least one card). */
	bool fallback_ord0;
};

void cardgen_ords_free(struct cardgen_ords *o);

/* ---- Templates ---- */

struct cardgen_template;

/* Parse a (front) template.  A syntax error - a {{/x}} that closes
 * nothing or the wrong conditional, or a conditional left open - gives
 * ST_INVALID with a message; Anki then generates no card for it.  Never
 * recurses, so any nesting depth is safe. */
enum status cardgen_template_parse(const char *text, size_t len, struct cardgen_template **out,
                                   struct errinfo *e);
void cardgen_template_free(struct cardgen_template *t);

/* Does the template render non-empty when exactly the named fields are
 * non-empty?  names: NUL-terminated strings; check_negated false treats
 * {{^x}} as always open (the requirement-cache variant). */
bool cardgen_template_renders(const struct cardgen_template *t, const char *const *nonempty,
                              size_t n, bool check_negated);

/* ---- Notetypes ---- */

struct cardgen_notetype;

/* field_names: the notetype's fields by ord; qfmts: front templates by
 * ord (a template that fails to parse is kept as "never generates").
 * is_cloze: notetype kind 1 (Cloze, Image Occlusion). */
enum status cardgen_notetype_new(const char *const *field_names, size_t nfields,
                                 const struct text_slice *qfmts, size_t ntemplates, bool is_cloze,
                                 struct cardgen_notetype **out, struct errinfo *e);
void cardgen_notetype_free(struct cardgen_notetype *nt);

/* Did template ord parse? */
bool cardgen_notetype_template_ok(const struct cardgen_notetype *nt, size_t ord);

/* Normal notetypes: the ords of the templates whose front renders for
 * this note.  fields: the note's fields (by ord; extra or missing ones
 * are ignored / empty); has_tags: the note has at least one tag (makes
 * {{Tags}} count).  The special names Card, CardFlag, Deck, Subdeck,
 * Type, CardID (and Tags) count as non-empty unless a real field has the
 * name; FrontSide never does. */
enum status cardgen_normal(const struct cardgen_notetype *nt, const struct text_slice *fields,
                           size_t nfields, bool has_tags, struct cardgen_ords *out,
                           struct errinfo *e);

/* Cloze notetypes: one ord per distinct cloze number (>= 1) found in any
 * field, ord = min(number - 1, 499). */
enum status cardgen_cloze(const struct text_slice *fields, size_t nfields, struct cardgen_ords *out,
                          struct errinfo *e);

/* cardgen_normal or cardgen_cloze according to the notetype's kind. */
enum status cardgen_cards(const struct cardgen_notetype *nt, const struct text_slice *fields,
                          size_t nfields, bool has_tags, struct cardgen_ords *out,
                          struct errinfo *e);

/* The distinct non-zero cloze numbers in the fields, ascending
 * (Anki's cloze_number_in_fields).  *nums is malloc'd. */
enum status cardgen_cloze_numbers(const struct text_slice *fields, size_t nfields, uint16_t **nums,
                                  size_t *n, struct errinfo *e);

/* The requirement cache entry of template ord (§6.2 "Requirement cache"),
 * computed from its front and the field names; a template that failed to
 * parse gets CARDGEN_REQ_NONE. */
enum status cardgen_requirements(const struct cardgen_notetype *nt, size_t ord,
                                 struct cardgen_req *out, struct errinfo *e);

#endif
