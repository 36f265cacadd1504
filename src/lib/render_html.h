/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_html.h - the HTML escaping and stripping steps card rendering
 * shares: the two escapers of the htmlescape crate Anki uses (minimal,
 * for error messages; attribute, for data-cloze and LaTeX alt text) and
 * Anki's strip_html (tags removed, then entities decoded).
 *
 * All functions APPEND to out (they do not reset it) and honour its cap
 * (ST_TOOBIG).  Input may be any bytes; non-ASCII bytes pass through.
 */
#ifndef ANKIHOST_RENDER_HTML_H
#define ANKIHOST_RENDER_HTML_H

#include <stddef.h>

#include "buf.h"
#include "status.h"

/* & < > " ' become &amp; &lt; &gt; &quot; &#x27;; all else is copied. */
enum status render_html_encode_minimal(const char *in, size_t len, struct buf *out,
                                       struct errinfo *e);

/* As minimal, and every other character below U+0100 that is not an ASCII
 * letter or digit becomes &#xHH; (two upper-case hex digits) - so U+00E9
 * is written &#xE9; while U+4E00 is copied as UTF-8 (htmlescape's
 * encode_attribute).  Invalid UTF-8 bytes are copied unchanged. */
enum status render_html_encode_attribute(const char *in, size_t len, struct buf *out,
                                         struct errinfo *e);

/* Anki's strip_html: comments, <style>/<script> blocks and tags removed
 * (text_strip_html_tags), then entities decoded all-or-nothing with
 * U+00A0 as a space (text_decode_entities).  Appends. */
enum status render_html_strip(const char *in, size_t len, struct buf *out, struct errinfo *e);

/* Only the tag removal (strip_html_preserving_entities).  Appends. */
enum status render_html_strip_tags(const char *in, size_t len, struct buf *out, struct errinfo *e);

/* The first occurrence of lit[0..llen) (llen >= 1) in s[0..n), or NULL.
 * Steps with memchr, so it reads only up to the match: the sanitizers'
 * memmem interceptor checks the whole haystack on every call, which
 * turns a loop of searches into quadratic time in the test build. */
const char *render_html_find(const char *s, size_t n, const char *lit, size_t llen);

#endif
