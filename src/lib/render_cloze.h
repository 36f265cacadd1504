/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_cloze.h - rendering cloze deletions (Anki's rslib/src/cloze.rs):
 * the {{cloze:...}} and {{cloze-only:...}} filters, the MathJax clean-up
 * that follows the cloze filter, and image occlusion shapes.
 *
 * Syntax (same tokenizer as cardgen_cloze_numbers): an opener is "{{c",
 * digits and commas, "::" with at least one comma-separated u16; a
 * closer is "}}".  Openers nest up to 10 deep (an 11th is dropped, text
 * and all); a "}}" outside any cloze is text; clozes still open at the
 * end of the text vanish together with their content.  Inside a cloze,
 * each text run is cut at its first "::" and the rest becomes the hint
 * (the last such run wins), unless the run starts "image-occlusion:".
 *
 * cloze_num is the card's cloze number (card ord + 1).  All functions
 * APPEND to out and honour its cap (ST_TOOBIG); nested active clozes
 * re-escape their content at every level, so the cap is what bounds a
 * hostile field.  Recursion depth is at most the nesting limit.
 */
#ifndef ANKIHOST_RENDER_CLOZE_H
#define ANKIHOST_RENDER_CLOZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

/* reveal_cloze_text: the question side shows an active cloze as
 *   <span class="cloze" data-cloze="ESCAPED CONTENT" data-ordinal="N">[HINT or ...]</span>
 * the answer side as <span class="cloze" data-ordinal="N">content</span>,
 * inactive ones as <span class="cloze-inactive" data-ordinal="N">content</span>
 * (N = the cloze's sorted numbers joined by ","), image occlusions as
 * <div class="cloze|cloze-inactive|cloze-highlight" data-ordinal="N" ATTRS></div>.
 * When no cloze of cloze_num occurs, nothing at all is appended. */
enum status render_cloze_reveal(const char *in, size_t len, uint32_t cloze_num, bool question,
                                struct buf *out, struct errinfo *e);

/* The cloze filter: render_cloze_reveal, then HTML tags removed inside
 * \( \) and \[ \] (render_cloze_strip_mathjax). */
enum status render_cloze_filter(const char *in, size_t len, uint32_t cloze_num, bool question,
                                struct buf *out, struct errinfo *e);

/* The cloze-only filter: the active clozes (nested ones too), each as its
 * hint or "..." (question) or its plain text (answer), joined by ", ". */
enum status render_cloze_only(const char *in, size_t len, uint32_t cloze_num, bool question,
                              struct buf *out, struct errinfo *e);

/* Tags removed (entities kept) between an opening \( or \[ and the next
 * closing \) or \]. */
enum status render_cloze_strip_mathjax(const char *in, size_t len, struct buf *out,
                                       struct errinfo *e);

/* The data-* attributes of one image occlusion shape text such as
 * "rect:left=.2:top=.3:width=.1:height=.1", each followed by a space
 * (get_image_cloze_data); "" when the text has no ':'. */
enum status render_cloze_io_attrs(const char *in, size_t len, struct buf *out, struct errinfo *e);

#endif
