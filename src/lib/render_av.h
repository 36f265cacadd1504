/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_av.h - Anki's audio/video tag pass over rendered card text
 * (rslib/src/card_rendering: extract_av_tags, strip_av_tags), which is
 * what turns "[sound:x.mp3]" and the tts filter's "[anki:tts ...]...
 * [/anki:tts]" into the "[anki:play:q:0]" markers that card.question()
 * and card.answer() - and so AnkiConnect - return.  No audio is made.
 *
 * Syntax: "[sound:NAME]" (NAME at least one character, no ']');
 * "[anki:NAME OPTS]CONTENT[/anki:NAME]" where NAME has no ']' or white
 * space, OPTS are white-space separated key=value pairs (value quoted
 * with '"' or bare) and CONTENT runs to the first matching closer.
 * Anything else is text and is copied unchanged.
 */
#ifndef ANKIHOST_RENDER_AV_H
#define ANKIHOST_RENDER_AV_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "status.h"

/* Append in to out with every sound tag and every tts directive replaced
 * by "[anki:play:q:N]" (question) or "[anki:play:a:N]", N counting from
 * 0 in order; a tts directive without a lang option becomes
 * "[Error in directive 'anki:tts': 'lang' not set]" and gets no number;
 * other directives are written back normalised (options separated by one
 * space, quoted when the value holds ']' or white space, a repeated key
 * keeping its last value).  *ntags (may be NULL) gets the count.
 * ST_TOOBIG when out's cap is reached, ST_NOMEM. */
enum status render_av_extract(const char *in, size_t len, bool question, struct buf *out,
                              size_t *ntags, struct errinfo *e);

/* strip_av_tags: as above but sound tags and tts directives are removed. */
enum status render_av_strip(const char *in, size_t len, struct buf *out, struct errinfo *e);

#endif
