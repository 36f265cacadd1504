/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_latex.h - the LaTeX step of card rendering: desktop Anki's
 * card_did_render hook replaces every [latex]...[/latex], [$]...[/$]
 * and [$$]...[/$$] (tags case-insensitive) in the rendered question and
 * answer with an image link (rslib/src/latex.rs extract_latex).  This
 * produces the same link; making the image (latex, dvipng) is not done.
 */
#ifndef ANKIHOST_RENDER_LATEX_H
#define ANKIHOST_RENDER_LATEX_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "status.h"

/* Append in to out with each LaTeX span replaced by
 *   <img class=latex alt="ALT" src="latex-SHA1.png">   (".svg" when svg)
 * where the LaTeX text is the span's content ("$...$" for [$], and
 * "\begin{displaymath}...\end{displaymath}" for [$$]) with <br>, <br/>
 * and <div> turned into newlines and then HTML stripped; SHA1 is the hex
 * SHA-1 of that text and ALT its attribute-escaped form.  *count (may be
 * NULL) gets the number of spans.  ST_TOOBIG, ST_NOMEM, ST_INTERNAL
 * (digest failure). */
enum status render_latex_extract(const char *in, size_t len, bool svg, struct buf *out,
                                 size_t *count, struct errinfo *e);

#endif
