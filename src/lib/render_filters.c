/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_filters.c - built-in field filters (render_filters.h; Anki's
 * rslib/src/template_filters.rs).
 *
 * A filter chain is applied with two buffers used in turn; the chain is
 * split once into slices (application order = right to left in the
 * template).  The ruby filters implement Anki's regex
 *   " ?([^ >]+?)\[(.+?)\]"
 * as a left-to-right scan with cached "next" searches whose query
 * positions never decrease, so the pass is linear in the text where a
 * backtracking engine could be quadratic on hostile input.
 */
#include "render_filters.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "render_blake3.h"
#include "render_cloze.h"
#include "render_html.h"
#include "text.h"

#define NONE SIZE_MAX

struct slice {
	const char *p;
	size_t n;
};

static bool is(struct slice s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* ---- ruby (furigana, kana, kanji) ---- */

struct next {
	size_t from, res;
	bool valid;
};

/* Next position >= x holding one of the bytes in set. */
static size_t next_of(struct next *c, const char *s, size_t n, size_t x, const char *set)
{
	if (c->valid && x >= c->from && (c->res == NONE || x <= c->res))
		return c->res;
	size_t r = NONE;
	for (size_t i = x; i < n; i++)
		if (strchr(set, s[i]) && s[i]) {
			r = i;
			break;
		}
	c->from = x;
	c->res = r;
	c->valid = true;
	return r;
}

struct ruby_scan {
	const char *s;
	size_t n;
	struct next stop, rb, nl, okb;
};

/* The ']' ending a reading that starts after '[' at q, or NONE. */
static size_t reading_end(struct ruby_scan *r, size_t q)
{
	size_t e = next_of(&r->rb, r->s, r->n, q + 2, "]");
	if (e == NONE)
		return NONE;
	size_t nl = next_of(&r->nl, r->s, r->n, q + 1, "\n");
	return nl != NONE && nl < e ? NONE : e;
}

/* First '[' at or after x that opens a valid reading. */
static size_t next_ok_bracket(struct ruby_scan *r, size_t x)
{
	struct next *c = &r->okb;
	if (c->valid && x >= c->from && (c->res == NONE || x <= c->res))
		return c->res;
	size_t res = NONE;
	for (size_t i = x; i < r->n; i++) {
		const char *p = memchr(r->s + i, '[', r->n - i);
		if (!p)
			break;
		i = (size_t)(p - r->s);
		if (reading_end(r, i) != NONE) {
			res = i;
			break;
		}
	}
	c->from = x;
	c->res = res;
	c->valid = true;
	return res;
}

static enum status ruby_pass(const char *s, size_t n, enum render_ruby kind, struct buf *out,
                             struct errinfo *e)
{
	struct ruby_scan r = {.s = s, .n = n};
	size_t p = 0, run = 0;
	enum status st = ST_OK;
	while (p < n && st == ST_OK) {
		size_t p1 = s[p] == ' ' ? p + 1 : p;
		size_t lim = p1 < n ? next_of(&r.stop, s, n, p1, " >") : NONE;
		if (lim == NONE)
			lim = n;
		size_t q = p1 < n ? next_ok_bracket(&r, p1 + 1) : NONE;
		if (q == NONE || q >= lim) {
			p++;
			continue;
		}
		size_t end = reading_end(&r, q);
		const char *base = s + p1, *reading = s + q + 1;
		size_t bl = q - p1, rl = end - q - 1;
		if ((st = buf_append(out, s + run, p - run, e)) != ST_OK)
			break;
		if (rl >= 6 && memcmp(reading, "sound:", 6) == 0)
			st = buf_append(out, s + p, end + 1 - p, e);
		else if (kind == RENDER_RUBY_KANA)
			st = buf_append(out, reading, rl, e);
		else if (kind == RENDER_RUBY_KANJI)
			st = buf_append(out, base, bl, e);
		else if ((st = buf_append_str(out, "<ruby><rb>", e)) == ST_OK &&
		         (st = buf_append(out, base, bl, e)) == ST_OK &&
		         (st = buf_append_str(out, "</rb><rt>", e)) == ST_OK &&
		         (st = buf_append(out, reading, rl, e)) == ST_OK)
			st = buf_append_str(out, "</rt></ruby>", e);
		p = run = end + 1;
	}
	return st == ST_OK ? buf_append(out, s + run, n - run, e) : st;
}

enum status render_filters_ruby(const char *in, size_t len, enum render_ruby kind, struct buf *out,
                                struct errinfo *e)
{
	/* "&nbsp;" -> " " first */
	struct buf t;
	buf_init(&t, out->cap);
	size_t run = 0;
	enum status st = ST_OK;
	const char *p;
	while (st == ST_OK && (p = render_html_find(in + run, len - run, "&nbsp;", 6)) != NULL) {
		size_t i = (size_t)(p - in);
		if ((st = buf_append(&t, in + run, i - run, e)) == ST_OK)
			st = buf_append_str(&t, " ", e);
		run = i + 6;
	}
	if (st == ST_OK)
		st = buf_append(&t, in + run, len - run, e);
	if (st == ST_OK)
		st = ruby_pass(t.data ? (const char *)t.data : "", t.len, kind, out, e);
	buf_free(&t);
	return st;
}

/* ---- hint ---- */

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t adv;
		if (!text_is_white_space(
		        text_utf8_decode((const unsigned char *)s + i, n - i, &adv)))
			return false;
		i += adv;
	}
	return true;
}

enum status render_filters_hint(const char *text, size_t len, const char *field, size_t flen,
                                struct buf *out, struct errinfo *e)
{
	if (blank(text, len))
		return buf_append(out, text, len, e);
	struct render_blake3 h;
	uint8_t d[RENDER_BLAKE3_OUT];
	render_blake3_init(&h);
	render_blake3_update(&h, text, len);
	render_blake3_update(&h, field, flen);
	render_blake3_final(&h, d);
	char id[17];
	for (int i = 0; i < 8; i++)
		snprintf(id + 2 * i, 3, "%02x", d[i]);
	enum status st = buf_printf(out, e,
	                            "\n<a class=hint href=\"#\"\n"
	                            "onclick=\"this.style.display='none';\n"
	                            "document.getElementById('hint%s').style.display='block';\n"
	                            "return false;\" draggable=false>\n",
	                            id);
	if (st == ST_OK)
		st = buf_append(out, field, flen, e);
	if (st == ST_OK)
		st = buf_printf(out, e,
		                "</a>\n<div id=\"hint%s\" class=hint style=\"display: none\">", id);
	if (st == ST_OK)
		st = buf_append(out, text, len, e);
	return st == ST_OK ? buf_append_str(out, "</div>\n", e) : st;
}

/* ---- one filter ---- */

/* Returns ST_OK and sets *known; output goes to out (which is empty). */
static enum status one(struct slice f, const char *text, size_t len, struct slice field,
                       const struct render_filters_ctx *ctx, struct buf *out, bool *known,
                       struct errinfo *e)
{
	*known = true;
	if (is(f, "text"))
		return render_html_strip(text, len, out, e);
	if (is(f, "furigana"))
		return render_filters_ruby(text, len, RENDER_RUBY_FURIGANA, out, e);
	if (is(f, "kana"))
		return render_filters_ruby(text, len, RENDER_RUBY_KANA, out, e);
	if (is(f, "kanji"))
		return render_filters_ruby(text, len, RENDER_RUBY_KANJI, out, e);
	const char *type = is(f, "type")         ? "[[type:"
	                   : is(f, "type-cloze") ? "[[type:cloze:"
	                   : is(f, "type-nc")    ? "[[type:nc:"
	                                         : NULL;
	if (type) {
		enum status st = buf_append_str(out, type, e);
		if (st == ST_OK)
			st = buf_append(out, field.p, field.n, e);
		return st == ST_OK ? buf_append_str(out, "]]", e) : st;
	}
	if (is(f, "hint"))
		return render_filters_hint(text, len, field.p, field.n, out, e);
	if (is(f, "cloze"))
		return render_cloze_filter(text, len, ctx->cloze_num, ctx->question, out, e);
	if (is(f, "cloze-only"))
		return render_cloze_only(text, len, ctx->cloze_num, ctx->question, out, e);
	if (f.n == 0)
		return buf_append(out, text, len, e);
	if (f.n >= 4 && memcmp(f.p, "tts ", 4) == 0) {
		enum status st = buf_append_str(out, "[anki:tts lang=", e);
		if (st == ST_OK)
			st = buf_append(out, f.p + 4, f.n - 4, e);
		if (st == ST_OK)
			st = buf_append_str(out, "]", e);
		if (st == ST_OK)
			st = buf_append(out, text, len, e);
		return st == ST_OK ? buf_append_str(out, "[/anki:tts]", e) : st;
	}
	*known = false;
	return ST_OK;
}

enum status render_filters_apply(const char *text, size_t len, const char *spec, size_t slen,
                                 const char *field, size_t flen,
                                 const struct render_filters_ctx *ctx, struct buf *out,
                                 struct errinfo *e)
{
	if (slen == 0)
		return buf_append(out, text, len, e);
	/* spec ends with ':'; split the rest on ':' and reverse */
	size_t nf = 1;
	for (size_t i = 0; i + 1 < slen; i++)
		nf += spec[i] == ':';
	struct slice *fl = malloc(nf * sizeof *fl);
	if (!fl)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	size_t k = nf, a = 0;
	for (size_t i = 0; i < slen; i++)
		if (spec[i] == ':' || i + 1 == slen) {
			size_t b = spec[i] == ':' ? i : i + 1;
			fl[--k] = (struct slice){spec + a, b - a};
			a = i + 1;
		}
	struct slice special = {0};
	if (nf == 2 && is(fl[0], "cloze") && is(fl[1], "type"))
		special = (struct slice){"type-cloze", 10};
	else if (nf == 2 && is(fl[0], "nc") && is(fl[1], "type"))
		special = (struct slice){"type-nc", 7};
	else if (is(fl[nf - 1], "type"))
		special = (struct slice){"type", 4};
	if (special.p) {
		fl[0] = special;
		nf = 1;
	}

	struct buf b[2];
	buf_init(&b[0], out->cap);
	buf_init(&b[1], out->cap);
	const char *cur = text;
	size_t curlen = len;
	int w = 0;
	enum status st = ST_OK;
	struct slice fs = {field, flen};
	for (size_t i = 0; i < nf && st == ST_OK; i++) {
		bool known;
		buf_reset(&b[w]);
		st = one(fl[i], cur, curlen, fs, ctx, &b[w], &known, e);
		if (st != ST_OK)
			break;
		if (!known) {
			if (ctx->mode == RENDER_FILTERS_FULL)
				continue;
			break; /* the rest belongs to add-on hooks: none here */
		}
		cur = b[w].data ? (const char *)b[w].data : "";
		curlen = b[w].len;
		w ^= 1;
	}
	if (st == ST_OK)
		st = buf_append(out, cur, curlen, e);
	buf_free(&b[0]);
	buf_free(&b[1]);
	free(fl);
	return st;
}
