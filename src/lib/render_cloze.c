/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_cloze.c - cloze deletion rendering (render_cloze.h; Anki's
 * rslib/src/cloze.rs and image_occlusion/imageocclusion.rs).
 *
 * A field is parsed once into a flat pre-order array: text runs and
 * clozes, each cloze recording the index just past its subtree, its
 * sorted distinct numbers and its hint.  Clozes that are still open at
 * the end are removed by truncating the array at the outermost one.
 * Rendering recurses over clozes only, at most CLOZE_MAX_OPEN deep.
 */
#include "render_cloze.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "render_html.h"

#define NONE SIZE_MAX
#define CLOZE_MAX_OPEN 10
#define IO_PREFIX "image-occlusion:"

struct cz {
	bool cloze;
	size_t a, b;        /* text: the run; cloze: unused */
	size_t ords, nords; /* cloze: its numbers in the shared array */
	bool has_hint;      /* cloze: a "::" was seen */
	size_t ha, hb;      /* cloze: the hint */
	size_t end;         /* cloze: index just past its subtree */
};

struct czdoc {
	const char *s;
	struct cz *v;
	size_t n, cap;
	uint16_t *ords;
	size_t nords, ocap;
};

static void doc_free(struct czdoc *d)
{
	free(d->v);
	free(d->ords);
}

static enum status push(struct czdoc *d, struct cz node, struct errinfo *e)
{
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 16;
		struct cz *nv = realloc(d->v, nc * sizeof *nv);
		if (!nv)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		d->v = nv;
		d->cap = nc;
	}
	d->v[d->n++] = node;
	return ST_OK;
}

static int u16_cmp(const void *x, const void *y)
{
	return (int)*(const uint16_t *)x - (int)*(const uint16_t *)y;
}

/* An opener at s[i..n): appends its numbers (sorted, distinct) to d->ords
 * and returns the end, or NONE. */
static size_t opener(struct czdoc *d, size_t n, size_t i, enum status *st, struct errinfo *e)
{
	const char *s = d->s;
	if (n - i < 3 || memcmp(s + i, "{{c", 3) != 0)
		return NONE;
	size_t j = i + 3;
	while (j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == ','))
		j++;
	if (n - j < 2 || s[j] != ':' || s[j + 1] != ':')
		return NONE;
	size_t need = d->nords + (j - i) / 2 + 1;
	if (need > d->ocap) {
		size_t nc = d->ocap ? d->ocap : 32;
		while (nc < need)
			nc *= 2;
		uint16_t *no = realloc(d->ords, nc * sizeof *no);
		if (!no) {
			*st = errinfo_set(e, ST_NOMEM, "out of memory");
			return NONE;
		}
		d->ords = no;
		d->ocap = nc;
	}
	size_t first = d->nords;
	for (size_t a = i + 3; a <= j;) {
		size_t b = a;
		while (b < j && s[b] != ',')
			b++;
		uint32_t v = 0;
		bool ok = b > a;
		for (size_t k = a; k < b && ok; k++) {
			v = v * 10 + (uint32_t)(s[k] - '0');
			ok = v <= UINT16_MAX;
		}
		if (ok)
			d->ords[d->nords++] = (uint16_t)v;
		a = b + 1;
	}
	size_t cnt = d->nords - first;
	if (cnt == 0)
		return NONE;
	qsort(d->ords + first, cnt, sizeof *d->ords, u16_cmp);
	size_t w = first + 1;
	for (size_t k = first + 1; k < d->nords; k++)
		if (d->ords[k] != d->ords[w - 1])
			d->ords[w++] = d->ords[k];
	d->nords = w;
	return j + 2;
}

static bool starts(const char *s, size_t a, size_t b, const char *lit)
{
	size_t l = strlen(lit);
	return b - a >= l && memcmp(s + a, lit, l) == 0;
}

static enum status parse(const char *s, size_t n, struct czdoc *d, struct errinfo *e)
{
	memset(d, 0, sizeof *d);
	d->s = s;
	size_t open[CLOZE_MAX_OPEN], depth = 0, i = 0;
	enum status st = ST_OK;
	while (i < n && st == ST_OK) {
		size_t before = d->nords;
		size_t end = opener(d, n, i, &st, e);
		if (st != ST_OK)
			break;
		if (end != NONE) {
			if (depth < CLOZE_MAX_OPEN) {
				open[depth++] = d->n;
				st = push(d,
				          (struct cz){.cloze = true,
				                      .ords = before,
				                      .nords = d->nords - before,
				                      .end = NONE},
				          e);
			} else {
				d->nords = before;
			}
			i = end;
			continue;
		}
		if (n - i >= 2 && s[i] == '}' && s[i + 1] == '}') {
			if (depth > 0)
				d->v[open[--depth]].end = d->n;
			else
				st = push(d, (struct cz){.a = i, .b = i + 2}, e);
			i += 2;
			continue;
		}
		/* a text run: up to the next opener or closer */
		size_t j = i + 1;
		for (; j < n; j++) {
			if (s[j] == '}' && j + 1 < n && s[j + 1] == '}')
				break;
			if (s[j] == '{' && n - j >= 3 && s[j + 1] == '{' && s[j + 2] == 'c') {
				size_t save = d->nords;
				size_t oe = opener(d, n, j, &st, e);
				d->nords = save;
				if (st != ST_OK || oe != NONE)
					break;
			}
		}
		if (st != ST_OK)
			break;
		struct cz t = {.a = i, .b = j};
		if (depth > 0 && !starts(s, i, j, IO_PREFIX)) {
			const char *sep = j - i >= 2 ? memmem(s + i, j - i, "::", 2) : NULL;
			if (sep) {
				struct cz *c = &d->v[open[depth - 1]];
				t.b = (size_t)(sep - s);
				c->has_hint = true;
				c->ha = t.b + 2;
				c->hb = j;
			}
		}
		st = push(d, t, e);
		i = j;
	}
	if (st == ST_OK && depth > 0)
		d->n = open[0]; /* unclosed clozes vanish with their content */
	if (st != ST_OK) {
		doc_free(d);
		memset(d, 0, sizeof *d);
	}
	return st;
}

/* ---- helpers over the parsed array ---- */

static size_t next_sibling(const struct czdoc *d, size_t i)
{
	return d->v[i].cloze ? d->v[i].end : i + 1;
}

static bool has_num(const struct czdoc *d, const struct cz *c, uint32_t num)
{
	for (size_t k = 0; k < c->nords; k++)
		if (d->ords[c->ords + k] == num)
			return true;
	return false;
}

static enum status put(struct buf *out, const char *s, size_t n, struct errinfo *e)
{
	return buf_append(out, s, n, e);
}

static enum status put_s(struct buf *out, const char *s, struct errinfo *e)
{
	return buf_append_str(out, s, e);
}

static enum status put_ords(const struct czdoc *d, const struct cz *c, struct buf *out,
                            struct errinfo *e)
{
	enum status st = ST_OK;
	for (size_t k = 0; k < c->nords && st == ST_OK; k++)
		st = buf_printf(out, e, k ? ",%u" : "%u", (unsigned)d->ords[c->ords + k]);
	return st;
}

static enum status put_hint(const struct czdoc *d, const struct cz *c, struct buf *out,
                            struct errinfo *e)
{
	return c->has_hint ? put(out, d->s + c->ha, c->hb - c->ha, e) : put_s(out, "...", e);
}

/* The plain text of a cloze: its runs and its nested clozes' text. */
static enum status clozed_text(const struct czdoc *d, size_t i, struct buf *out, struct errinfo *e)
{
	enum status st = ST_OK;
	for (size_t j = i + 1; j < d->v[i].end && st == ST_OK; j++)
		if (!d->v[j].cloze)
			st = put(out, d->s + d->v[j].a, d->v[j].b - d->v[j].a, e);
	return st;
}

/* "image-occlusion:" as the first child run: the shape text, or NULL. */
static bool io_text(const struct czdoc *d, size_t i, size_t *a, size_t *b)
{
	size_t j = i + 1;
	if (j >= d->v[i].end || d->v[j].cloze || !starts(d->s, d->v[j].a, d->v[j].b, IO_PREFIX))
		return false;
	*a = d->v[j].a + strlen(IO_PREFIX);
	*b = d->v[j].b;
	return true;
}

/* ---- image occlusion ---- */

/* One ":name=value" property at s[i..n) (value escapes: \\ and \:).
 * On success the unescaped value is in val and *next is past it. */
static bool io_prop(const char *s, size_t n, size_t i, size_t *na, size_t *nb, struct buf *val,
                    size_t *next, enum status *st, struct errinfo *e)
{
	if (i >= n || s[i] != ':')
		return false;
	size_t a = i + 1, b = a;
	while (b < n && s[b] != '=')
		b++;
	if (b == a || b >= n)
		return false;
	buf_reset(val);
	size_t k = b + 1, start = k;
	while (k < n) {
		if (s[k] == '\\') {
			if (k + 1 >= n || (s[k + 1] != '\\' && s[k + 1] != ':'))
				return false;
			if ((*st = put(val, s + k + 1, 1, e)) != ST_OK)
				return false;
			k += 2;
		} else if (s[k] == ':') {
			if (k == start)
				return false; /* an empty value only at the very end */
			break;
		} else {
			size_t r = k;
			while (r < n && s[r] != '\\' && s[r] != ':')
				r++;
			if ((*st = put(val, s + k, r - k, e)) != ST_OK)
				return false;
			k = r;
		}
	}
	*na = a;
	*nb = b;
	*next = k;
	return true;
}

static bool eq(const char *s, size_t a, size_t b, const char *lit)
{
	return b - a == strlen(lit) && memcmp(s + a, lit, b - a) == 0;
}

static bool empty_or_zero(const struct buf *v)
{
	return v->len == 0 || (v->len == 1 && v->data && v->data[0] == '0');
}

/* Append `data-NAME="VALUE" ` (bytes copied as they are). */
static enum status attr(struct buf *out, const char *name, size_t nl, const char *v, size_t vl,
                        struct errinfo *e)
{
	enum status st;
	if ((st = put_s(out, "data-", e)) != ST_OK || (st = put(out, name, nl, e)) != ST_OK ||
	    (st = put_s(out, "=\"", e)) != ST_OK || (st = put(out, v, vl, e)) != ST_OK)
		return st;
	return put_s(out, "\" ", e);
}

static enum status attr_points(struct buf *out, const char *v, size_t vl, struct errinfo *e)
{
	/* "x,y" pairs separated by spaces; pieces without a comma are dropped */
	struct buf pts;
	buf_init(&pts, out->cap);
	enum status st = ST_OK;
	for (size_t a = 0; a <= vl && st == ST_OK;) {
		size_t b = a;
		while (b < vl && v[b] != ' ')
			b++;
		if (memchr(v + a, ',', b - a)) {
			if (pts.len)
				st = put_s(&pts, " ", e);
			if (st == ST_OK)
				st = put(&pts, v + a, b - a, e);
		}
		a = b + 1;
	}
	if (st == ST_OK && pts.len)
		st = attr(out, "points", 6, (const char *)pts.data, pts.len, e);
	buf_free(&pts);
	return st;
}

enum status render_cloze_io_attrs(const char *s, size_t n, struct buf *out, struct errinfo *e)
{
	const char *colon = memchr(s, ':', n);
	if (!colon)
		return ST_OK;
	size_t shape = (size_t)(colon - s);
	enum status st = ST_OK;
	if (eq(s, 0, shape, "rect") || eq(s, 0, shape, "ellipse") || eq(s, 0, shape, "polygon") ||
	    eq(s, 0, shape, "text"))
		st = attr(out, "shape", 5, s, shape, e);
	struct buf val;
	buf_init(&val, out->cap);
	size_t i = shape, na, nb, next;
	while (st == ST_OK && io_prop(s, n, i, &na, &nb, &val, &next, &st, e)) {
		i = next;
		const char *v = val.data ? (const char *)val.data : "";
		size_t vl = val.len;
		const char *name = s + na;
		size_t nl = nb - na;
		if (eq(s, na, nb, "left") || eq(s, na, nb, "top") || eq(s, na, nb, "angle") ||
		    eq(s, na, nb, "fill")) {
			if (vl)
				st = attr(out, name, nl, v, vl, e);
		} else if (eq(s, na, nb, "width") || eq(s, na, nb, "height") ||
		           eq(s, na, nb, "rx") || eq(s, na, nb, "ry") || eq(s, na, nb, "scale")) {
			if (!empty_or_zero(&val))
				st = attr(out, name, nl, v, vl, e);
		} else if (eq(s, na, nb, "points")) {
			if (vl)
				st = attr_points(out, v, vl, e);
		} else if (eq(s, na, nb, "oi")) {
			if (vl)
				st = attr(out, "occludeInactive", 15, v, vl, e);
		} else if (eq(s, na, nb, "text")) {
			if (vl && (st = put_s(out, "data-text=\"", e)) == ST_OK &&
			    (st = render_html_encode_attribute(v, vl, out, e)) == ST_OK)
				st = put_s(out, "\" ", e);
		} else if (eq(s, na, nb, "fs")) {
			if (vl)
				st = attr(out, "font-size", 9, v, vl, e);
		}
	}
	buf_free(&val);
	return st;
}

static enum status render_io(const struct czdoc *d, const struct cz *c, size_t a, size_t b,
                             bool question, bool active, struct buf *out, struct errinfo *e)
{
	const char *cls;
	if ((question && active) || has_num(d, c, 0))
		cls = "cloze";
	else if (!active)
		cls = "cloze-inactive";
	else
		cls = "cloze-highlight";
	enum status st;
	if ((st = buf_printf(out, e, "<div class=\"%s\" data-ordinal=\"", cls)) != ST_OK ||
	    (st = put_ords(d, c, out, e)) != ST_OK || (st = put_s(out, "\" ", e)) != ST_OK ||
	    (st = render_cloze_io_attrs(d->s + a, b - a, out, e)) != ST_OK)
		return st;
	return put_s(out, "></div>", e);
}

/* ---- reveal ---- */

static enum status reveal(const struct czdoc *d, size_t i, uint32_t num, bool question, bool *found,
                          struct buf *out, struct errinfo *e);

static enum status children(const struct czdoc *d, size_t i, uint32_t num, bool question,
                            bool *found, struct buf *out, struct errinfo *e)
{
	enum status st = ST_OK;
	for (size_t j = i + 1; j < d->v[i].end && st == ST_OK; j = next_sibling(d, j))
		st = d->v[j].cloze ? reveal(d, j, num, question, found, out, e)
		                   : put(out, d->s + d->v[j].a, d->v[j].b - d->v[j].a, e);
	return st;
}

static enum status reveal(const struct czdoc *d, size_t i, uint32_t num, bool question, bool *found,
                          struct buf *out, struct errinfo *e)
{
	const struct cz *c = &d->v[i];
	bool active = has_num(d, c, num);
	*found |= active;
	size_t ia, ib;
	if (io_text(d, i, &ia, &ib))
		return render_io(d, c, ia, ib, question, active, out, e);
	enum status st;
	if (question && active) {
		struct buf content;
		buf_init(&content, out->cap);
		st = children(d, i, num, question, found, &content, e);
		if (st == ST_OK)
			st = put_s(out, "<span class=\"cloze\" data-cloze=\"", e);
		if (st == ST_OK && content.len)
			st = render_html_encode_attribute((const char *)content.data, content.len,
			                                  out, e);
		buf_free(&content);
		if (st == ST_OK)
			st = put_s(out, "\" data-ordinal=\"", e);
		if (st == ST_OK)
			st = put_ords(d, c, out, e);
		if (st == ST_OK)
			st = put_s(out, "\">[", e);
		if (st == ST_OK)
			st = put_hint(d, c, out, e);
		return st == ST_OK ? put_s(out, "]</span>", e) : st;
	}
	st = put_s(out,
	           active ? "<span class=\"cloze\" data-ordinal=\""
	                  : "<span class=\"cloze-inactive\" data-ordinal=\"",
	           e);
	if (st == ST_OK)
		st = put_ords(d, c, out, e);
	if (st == ST_OK)
		st = put_s(out, "\">", e);
	if (st == ST_OK)
		st = children(d, i, num, question, found, out, e);
	return st == ST_OK ? put_s(out, "</span>", e) : st;
}

enum status render_cloze_reveal(const char *in, size_t len, uint32_t cloze_num, bool question,
                                struct buf *out, struct errinfo *e)
{
	struct czdoc d;
	enum status st = parse(in, len, &d, e);
	if (st != ST_OK)
		return st;
	size_t mark = out->len;
	bool found = false;
	for (size_t i = 0; i < d.n && st == ST_OK; i = next_sibling(&d, i))
		st = d.v[i].cloze ? reveal(&d, i, cloze_num, question, &found, out, e)
		                  : put(out, in + d.v[i].a, d.v[i].b - d.v[i].a, e);
	if (st == ST_OK && !found) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
	}
	doc_free(&d);
	return st;
}

/* ---- cloze-only ---- */

static enum status only_in(const struct czdoc *d, size_t i, uint32_t num, bool question,
                           size_t *count, struct buf *out, struct errinfo *e)
{
	const struct cz *c = &d->v[i];
	enum status st = ST_OK;
	if (has_num(d, c, num)) {
		if ((*count)++)
			st = put_s(out, ", ", e);
		if (st == ST_OK)
			st = question ? put_hint(d, c, out, e) : clozed_text(d, i, out, e);
	}
	for (size_t j = i + 1; j < c->end && st == ST_OK; j = next_sibling(d, j))
		if (d->v[j].cloze)
			st = only_in(d, j, num, question, count, out, e);
	return st;
}

enum status render_cloze_only(const char *in, size_t len, uint32_t cloze_num, bool question,
                              struct buf *out, struct errinfo *e)
{
	struct czdoc d;
	enum status st = parse(in, len, &d, e);
	if (st != ST_OK)
		return st;
	size_t count = 0;
	for (size_t i = 0; st == ST_OK && i < d.n; i = next_sibling(&d, i))
		if (d.v[i].cloze)
			st = only_in(&d, i, cloze_num, question, &count, out, e);
	doc_free(&d);
	return st;
}

/* ---- MathJax ---- */

static size_t find_mj(const char *s, size_t n, size_t from, bool open)
{
	for (size_t i = from; i + 1 < n; i++) {
		if (s[i] != '\\')
			continue;
		char c = s[i + 1];
		if (open ? (c == '(' || c == '[') : (c == ')' || c == ']'))
			return i;
	}
	return NONE;
}

enum status render_cloze_strip_mathjax(const char *in, size_t len, struct buf *out,
                                       struct errinfo *e)
{
	size_t pos = 0;
	enum status st = ST_OK;
	while (st == ST_OK) {
		size_t o = find_mj(in, len, pos, true);
		size_t c = o == NONE ? NONE : find_mj(in, len, o + 2, false);
		if (c == NONE)
			break; /* no later opener can have a closer either */
		if ((st = put(out, in + pos, o + 2 - pos, e)) == ST_OK &&
		    (st = render_html_strip_tags(in + o + 2, c - o - 2, out, e)) == ST_OK)
			st = put(out, in + c, 2, e);
		pos = c + 2;
	}
	return st == ST_OK ? put(out, in + pos, len - pos, e) : st;
}

enum status render_cloze_filter(const char *in, size_t len, uint32_t cloze_num, bool question,
                                struct buf *out, struct errinfo *e)
{
	struct buf tmp;
	buf_init(&tmp, out->cap);
	enum status st = render_cloze_reveal(in, len, cloze_num, question, &tmp, e);
	if (st == ST_OK)
		st = render_cloze_strip_mathjax(tmp.data ? (const char *)tmp.data : "", tmp.len,
		                                out, e);
	buf_free(&tmp);
	return st;
}
