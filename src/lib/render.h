/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render.h - Anki card template rendering (collection-format.md §6.2
 * template tokens; Anki's rslib/src/template.rs, notetype/render.rs and
 * pylib/anki/template.py), giving the question and answer HTML that
 * desktop Anki's card.question() / card.answer() return and AnkiConnect's
 * cardsInfo passes on (ankiconnect.md "cardsInfo").
 *
 * Three levels:
 *   render_template  one template against a field map (no collection);
 *   render_qa        both sides of a card the way Anki does it: blank
 *                    front and missing cloze messages, {{FrontSide}},
 *                    template errors as Anki's HTML, sound/tts tags to
 *                    [anki:play:...], LaTeX image links, <style> prefix;
 *   render_card      the same for a card id of an open collection.
 * Plus the card-generation helpers (which ords a note has) on top of
 * cardgen.h for the col_model.h notetype struct.
 *
 * Inputs are bytes: invalid UTF-8 never crashes anything; render_card's
 * strings are made valid UTF-8 (U+FFFD) so they can go into JSON.  Output
 * is capped (RENDER_MAX_OUTPUT or the caller's buf cap: ST_TOOBIG), since
 * nested clozes re-escape their content and can grow a small field a lot.
 */
#ifndef ANKIHOST_RENDER_H
#define ANKIHOST_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cardgen.h"
#include "col.h"
#include "col_model.h"
#include "col_notes.h"
#include "render_filters.h"
#include "status.h"

/* Largest question or answer render_qa / render_card produce. */
#define RENDER_MAX_OUTPUT (16u * 1024 * 1024)

/* ---- field maps ---- */

/* name -> value, as Anki's HashMap: at most one value per name.  Names
 * and values are copied.  Lookups are by exact bytes. */
struct render_fields;

enum status render_fields_new(struct render_fields **out, struct errinfo *e);
void render_fields_free(struct render_fields *f);

/* Set name to value.  replace false keeps an existing value (Anki's
 * entry().or_insert, used for the special fields).  ST_NOMEM. */
enum status render_fields_put(struct render_fields *f, const char *name, size_t nlen,
                              const char *val, size_t vlen, bool replace, struct errinfo *e);

/* The value of name, or false when absent. */
bool render_fields_get(const struct render_fields *f, const char *name, size_t nlen,
                       const char **val, size_t *vlen);

size_t render_fields_count(const struct render_fields *f);
/* Entry i (0 <= i < count), in name order. */
void render_fields_at(const struct render_fields *f, size_t i, const char **name, size_t *nlen,
                      const char **val, size_t *vlen);

/* ---- one template ---- */

struct render_ctx {
	uint32_t card_ord;     /* template ord; cloze notetypes: cloze number - 1 */
	bool answer;           /* answer side: clozes revealed, {{FrontSide}} given */
	const char *frontside; /* answer side: what {{FrontSide}} becomes (NULL = "") */
	size_t frontside_len;
	enum render_filters_mode mode; /* unknown filters: stop (desktop) or skip */
};

/* Render tmpl[0..len) into out (appended).  Syntax: {{Field}},
 * {{filter:...:Field}}, {{#F}}..{{/F}}, {{^F}}..{{/F}}, <!-- comments -->
 * (kept), {{=<% %>=}} alternative delimiters; {{FrontSide}} is
 * ctx->frontside (filters ignored); {{filter:}} with no field renders
 * nothing.  A conditional on an absent name is true/false only for
 * "c<number>" (false unless in the map), otherwise an error.
 * Returns ST_INVALID for a template problem - unbalanced conditionals, a
 * field or conditional name not in the map - with Anki's English
 * sentence (e.g. "Found '{{X}}', but there is no field called 'X'") in
 * terr (if not NULL, appended, unescaped) and in e; out then holds
 * partial output.  ST_TOOBIG (out's cap), ST_NOMEM.  Never recurses
 * over the template, so nesting depth is unlimited. */
enum status render_template(const char *tmpl, size_t len, const struct render_fields *fields,
                            const struct render_ctx *ctx, struct buf *out, struct buf *terr,
                            struct errinfo *e);

/* ---- both sides ---- */

struct render_qa_in {
	const char *qfmt, *afmt;            /* NUL-terminated (NULL = "") */
	const struct render_fields *fields; /* note fields + special fields (render_card_fields) */
	uint32_t card_ord;
	bool is_cloze;
	const char *css; /* NULL = "" */
	bool latex_svg;
	enum render_filters_mode mode;
};

struct render_out {
	/* render_qa: */
	char *question; /* "<style>CSS</style>" + question_html, as card.question() */
	char *answer;   /* "<style>CSS</style>" + answer_html */
	char *question_html;
	char *answer_html;
	char *css;                       /* the notetype CSS ("" when template_error) */
	bool is_empty;                   /* blank front / no such cloze: Anki's message shown */
	bool template_error;             /* a template problem: both sides are Anki's error HTML */
	size_t nav_question, nav_answer; /* sound/tts tags turned into play markers */
	/* render_card adds: */
	int64_t card_id, note_id, notetype_id;
	uint32_t ord;
	char *notetype_name;
	char *template_name;
	char *deck_name; /* human name of the card's current deck (did); NULL if missing */
	size_t nfields;  /* the notetype's fields, with the note's values ("" if absent) */
	char **field_names;
	char **field_values;
};

/* Free the members; the struct is left zeroed.  NULL-safe. */
void render_out_free(struct render_out *o);

/* Render both sides as desktop Anki would (see the file comment).  A
 * template problem or an empty front is not a failure: it is reported
 * in the HTML (and the flags) exactly as Anki shows it.  *out is
 * overwritten (zeroed first).  ST_TOOBIG, ST_NOMEM, ST_INTERNAL. */
enum status render_qa(const struct render_qa_in *in, struct render_out *out, struct errinfo *e);

/* ---- collection level ---- */

/* The field map Anki renders a card with: the note's fields by name
 * (fields beyond the notetype's count under the name "", the last one
 * winning; a missing field is absent, so a template using it fails as in
 * Anki), then, unless a field has the name: Tags (tags joined by one
 * space), Type (notetype name), Deck (deck_name, "(Deck)" when NULL),
 * Subdeck (its last "::" component), CardFlag ("flag" + flags), Card
 * (template_name), CardID; then "c<ord+1>" = "1".  *out is new. */
enum status render_card_fields(const struct notetype *nt, const struct note *n,
                               const struct card *cd, const char *template_name,
                               const char *deck_name, struct render_fields **out,
                               struct errinfo *e);

/* Render an existing card: loads card, note, notetype and deck (the
 * {{Deck}} field uses odid when the card is in a filtered deck), renders
 * with the notetype's templates (a cloze notetype always uses template
 * 0) and fills every member of *out.  ST_NOTFOUND (no such card, note or
 * notetype), ST_CORRUPT (the card's ord has no template), ST_DB,
 * ST_NOMEM, ST_TOOBIG. */
enum status render_card(struct col *c, int64_t card_id, struct render_out *out, struct errinfo *e);

/* Render a card of a note that may not be stored (adding, previews): the
 * caller supplies everything; cd->ord picks the template (template 0 for
 * cloze notetypes) and deck_name is the {{Deck}} value.  Fills *out like
 * render_card (deck_name copied).  ST_CORRUPT when nt has no template
 * for the ord. */
enum status render_note_card(const struct notetype *nt, const struct note *n, const struct card *cd,
                             const char *deck_name, struct render_out *out, struct errinfo *e);

/* ---- card generation (cardgen.h over struct notetype) ---- */

/* A cardgen notetype for nt (field names, front templates, kind). */
enum status render_card_gen_notetype(const struct notetype *nt, struct cardgen_notetype **out,
                                     struct errinfo *e);

/* The card ords a note with fields flds (joined by \x1f) and tags
 * (canonical " a b " or "") gets under nt: template ords whose front
 * renders, or one per cloze number (ord = number - 1, capped at 499);
 * out->fallback_ord0 says the set is empty and a new note still gets
 * ord 0 (§6.2). */
enum status render_card_gen_ords(const struct notetype *nt, const char *flds, size_t len,
                                 const char *tags, struct cardgen_ords *out, struct errinfo *e);

#endif
