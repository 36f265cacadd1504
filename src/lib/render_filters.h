/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_filters.h - Anki's built-in field filters (rslib/src/
 * template_filters.rs): text, hint, type (and type:cloze / type:nc),
 * furigana, kana, kanji, cloze, cloze-only and "tts <options>".
 *
 * In {{a:b:Field}} the filters run right to left (b, then a).  A filter
 * name Anki does not know is where desktop Anki hands the rest of the
 * chain to add-on hooks; with none installed (AnkiConnect's case) the
 * text is left as it was at that point and the remaining filters -
 * known or not - are not applied.  RENDER_FILTERS_FULL selects rslib's
 * other mode instead, which skips unknown names and goes on.
 *
 * All functions APPEND to out and honour its cap (ST_TOOBIG).
 */
#ifndef ANKIHOST_RENDER_FILTERS_H
#define ANKIHOST_RENDER_FILTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

enum render_filters_mode { RENDER_FILTERS_DESKTOP = 0, RENDER_FILTERS_FULL = 1 };

struct render_filters_ctx {
	uint32_t cloze_num; /* card ord + 1 */
	bool question;      /* question side (clozes hidden) */
	enum render_filters_mode mode;
};

/* Apply the filter chain spec (the handlebar text before the field name,
 * with its trailing ':', e.g. "hint:text:"; "" for none) to text, whose
 * field is named field.  Special cases as Anki: a chain whose leftmost
 * filter is "type" is only that type filter - "type:cloze:" and
 * "type:nc:" give [[type:cloze:F]] and [[type:nc:F]] - and an empty name
 * (from "::") does nothing. */
enum status render_filters_apply(const char *text, size_t len, const char *spec, size_t slen,
                                 const char *field, size_t flen,
                                 const struct render_filters_ctx *ctx, struct buf *out,
                                 struct errinfo *e);

enum render_ruby { RENDER_RUBY_FURIGANA, RENDER_RUBY_KANA, RENDER_RUBY_KANJI };

/* "&nbsp;" becomes a space, then every " ?BASE[READING]" (BASE without
 * spaces or '>', READING without newlines, both non-empty and shortest)
 * becomes <ruby><rb>BASE</rb><rt>READING</rt></ruby>, READING or BASE; a
 * READING starting "sound:" is left alone.  The optional leading space
 * is dropped with the match. */
enum status render_filters_ruby(const char *in, size_t len, enum render_ruby kind, struct buf *out,
                                struct errinfo *e);

/* The hint link and hidden <div>, whose id is "hint" + the hex of the
 * first 8 bytes of BLAKE3(text || field); text that is empty after
 * trimming Unicode white space is returned as it is. */
enum status render_filters_hint(const char *text, size_t len, const char *field, size_t flen,
                                struct buf *out, struct errinfo *e);

#endif
