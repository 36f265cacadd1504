/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_av.c - the sound/directive pass (render_av.h; Anki's
 * rslib/src/card_rendering/{parser,writer}.rs).
 *
 * The scan is left to right: at a '[' try a sound tag, then a directive,
 * else a text run of one byte plus everything up to the next '['.
 * Closers "[/anki:NAME]" are indexed once (sorted by name, then
 * position) so finding the closer of an opener is a binary search rather
 * than a rescan.  Option lists are the one part that can be re-read from
 * many openers; a work budget proportional to the input bounds that, and
 * once it is spent the remaining openers are read as text (only
 * adversarial input gets there).
 */
#include "render_av.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "render_html.h"

#define NONE SIZE_MAX

struct closer {
	size_t pos;    /* of "[/anki:" */
	size_t na, nb; /* the name */
};

struct opt {
	size_t ka, kb, va, vb;
};

struct scan {
	const char *s;
	size_t n;
	struct closer *cl;
	size_t ncl;
	size_t next_rb_from, next_rb; /* cached "next ']'" */
	size_t budget;
};

static int closer_cmp_ctx(const struct closer *a, const struct closer *b, const char *s)
{
	size_t al = a->nb - a->na, bl = b->nb - b->na;
	int c = memcmp(s + a->na, s + b->na, al < bl ? al : bl);
	if (c)
		return c;
	if (al != bl)
		return al < bl ? -1 : 1;
	return (a->pos > b->pos) - (a->pos < b->pos);
}

static int closer_cmp(const void *x, const void *y, void *ctx)
{
	return closer_cmp_ctx(x, y, ctx);
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t next_rb(struct scan *sc, size_t from)
{
	if (from >= sc->next_rb_from && (sc->next_rb == NONE || from <= sc->next_rb) &&
	    sc->next_rb_from != NONE)
		return sc->next_rb;
	const char *p = from < sc->n ? memchr(sc->s + from, ']', sc->n - from) : NULL;
	sc->next_rb_from = from;
	sc->next_rb = p ? (size_t)(p - sc->s) : NONE;
	return sc->next_rb;
}

static enum status index_closers(struct scan *sc, struct errinfo *e)
{
	size_t cap = 0;
	const char *s = sc->s;
	for (const char *p = s;
	     (p = render_html_find(p, sc->n - (size_t)(p - s), "[/anki:", 7)) != NULL; p += 7) {
		size_t na = (size_t)(p - s) + 7;
		size_t rb = next_rb(sc, na);
		if (rb == NONE)
			break;
		if (sc->ncl == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct closer *v = realloc(sc->cl, nc * sizeof *v);
			if (!v)
				return errinfo_set(e, ST_NOMEM, "out of memory");
			sc->cl = v;
			cap = nc;
		}
		sc->cl[sc->ncl++] = (struct closer){(size_t)(p - s), na, rb};
	}
	if (sc->ncl > 1)
		qsort_r(sc->cl, sc->ncl, sizeof *sc->cl, closer_cmp, (void *)s);
	return ST_OK;
}

/* The first closer named s[na..nb) at or after from, or NONE. */
static size_t find_closer(const struct scan *sc, size_t na, size_t nb, size_t from)
{
	struct closer key = {from, na, nb};
	size_t lo = 0, hi = sc->ncl;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (closer_cmp_ctx(&sc->cl[mid], &key, sc->s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == sc->ncl)
		return NONE;
	const struct closer *c = &sc->cl[lo];
	if (c->nb - c->na != nb - na || memcmp(sc->s + c->na, sc->s + na, nb - na) != 0)
		return NONE;
	return c->pos;
}

/* Options from i up to the ']' that ends the opener; *end is past ']'.
 * opts (may be NULL) receives at most cap of them. */
static bool options(struct scan *sc, size_t i, struct opt *opts, size_t cap, size_t *nopt,
                    size_t *end)
{
	const char *s = sc->s;
	size_t n = sc->n, count = 0, start = i;
	for (;;) {
		size_t k = i;
		while (k < n && !is_ws(s[k]) && s[k] != ']' && s[k] != '=')
			k++;
		if (k == i || k >= n || s[k] != '=')
			break;
		struct opt o = {.ka = i, .kb = k};
		size_t v = k + 1;
		const char *q = v < n && s[v] == '"' ? memchr(s + v + 1, '"', n - v - 1) : NULL;
		if (q) {
			o.va = v + 1;
			o.vb = (size_t)(q - s);
			v = o.vb + 1;
		} else {
			o.va = v;
			while (v < n && !is_ws(s[v]) && s[v] != ']' && s[v] != '"')
				v++;
			o.vb = v;
		}
		while (v < n && is_ws(s[v]))
			v++;
		if (opts && count < cap)
			opts[count] = o;
		count++;
		i = v;
	}
	size_t used = i - start + 1;
	sc->budget = used > sc->budget ? 0 : sc->budget - used;
	if (i >= n || s[i] != ']')
		return false;
	*nopt = count;
	*end = i + 1;
	return true;
}

static bool eqlit(const char *s, size_t a, size_t b, const char *lit)
{
	return b - a == strlen(lit) && memcmp(s + a, lit, b - a) == 0;
}

static bool needs_quotes(const char *s, size_t a, size_t b)
{
	for (size_t i = a; i < b; i++)
		if (s[i] == ']' || is_ws(s[i]))
			return true;
	return false;
}

/* Write a directive other than tts back: options deduplicated (the last
 * value of a key wins, at the key's first place). */
static enum status write_other(const struct scan *sc, size_t na, size_t nb, const struct opt *o,
                               size_t no, size_t ca, size_t cb, struct buf *out, struct errinfo *e)
{
	const char *s = sc->s;
	if (!o)
		no = 0;
	enum status st = buf_append_str(out, "[anki:", e);
	if (st == ST_OK)
		st = buf_append(out, s + na, nb - na, e);
	for (size_t i = 0; i < no && st == ST_OK; i++) {
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = o[j].kb - o[j].ka == o[i].kb - o[i].ka &&
			      memcmp(s + o[j].ka, s + o[i].ka, o[i].kb - o[i].ka) == 0;
		if (dup)
			continue;
		size_t last = i;
		for (size_t j = i + 1; j < no; j++)
			if (o[j].kb - o[j].ka == o[i].kb - o[i].ka &&
			    memcmp(s + o[j].ka, s + o[i].ka, o[i].kb - o[i].ka) == 0)
				last = j;
		bool q = needs_quotes(s, o[last].va, o[last].vb);
		if ((st = buf_append_str(out, " ", e)) == ST_OK &&
		    (st = buf_append(out, s + o[i].ka, o[i].kb - o[i].ka, e)) == ST_OK &&
		    (st = buf_append_str(out, q ? "=\"" : "=", e)) == ST_OK &&
		    (st = buf_append(out, s + o[last].va, o[last].vb - o[last].va, e)) == ST_OK &&
		    q)
			st = buf_append_str(out, "\"", e);
	}
	if (st == ST_OK)
		st = buf_append_str(out, "]", e);
	if (st == ST_OK)
		st = buf_append(out, s + ca, cb - ca, e);
	if (st == ST_OK)
		st = buf_append_str(out, "[/anki:", e);
	if (st == ST_OK)
		st = buf_append(out, s + na, nb - na, e);
	return st == ST_OK ? buf_append_str(out, "]", e) : st;
}

/* mode: 0 extract question, 1 extract answer, 2 strip */
static enum status av_pass(const char *in, size_t len, int mode, struct buf *out, size_t *ntags,
                           struct errinfo *e)
{
	struct scan sc = {
	    .s = in, .n = len, .next_rb_from = NONE, .next_rb = NONE, .budget = 16 * len + 65536};
	size_t count = 0, pos = 0, run = 0;
	struct opt *opts = NULL;
	size_t ocap = 0;
	enum status st = ST_OK;
	if (ntags)
		*ntags = 0;
	if (!memchr(in, '[', len))
		return buf_append(out, in, len, e);
	if ((st = index_closers(&sc, e)) != ST_OK)
		goto done;
	while (pos < len && st == ST_OK) {
		if (in[pos] != '[') {
			const char *p = memchr(in + pos, '[', len - pos);
			pos = p ? (size_t)(p - in) : len;
			continue;
		}
		size_t node_end = NONE;
		if (len - pos > 7 && memcmp(in + pos, "[sound:", 7) == 0) {
			size_t rb = next_rb(&sc, pos + 7);
			if (rb != NONE && rb > pos + 7) {
				node_end = rb + 1;
				if ((st = buf_append(out, in + run, pos - run, e)) != ST_OK)
					break;
				if (mode != 2)
					st = buf_printf(out, e, "[anki:play:%c:%zu]",
					                mode ? 'a' : 'q', count++);
			}
		} else if (len - pos > 6 && memcmp(in + pos, "[anki:", 6) == 0 && sc.budget > 0) {
			size_t na = pos + 6, nb = na;
			while (nb < len && in[nb] != ']' && !is_ws(in[nb]))
				nb++;
			size_t i = nb, ca, no = 0, cpos;
			while (i < len && is_ws(in[i]))
				i++;
			if (nb > na && find_closer(&sc, na, nb, nb) != NONE &&
			    options(&sc, i, NULL, 0, &no, &ca) &&
			    (cpos = find_closer(&sc, na, nb, ca)) != NONE) {
				if (no > ocap) {
					struct opt *v = realloc(opts, no * sizeof *v);
					if (!v) {
						st = errinfo_set(e, ST_NOMEM, "out of memory");
						break;
					}
					opts = v;
					ocap = no;
				}
				options(&sc, i, opts, ocap, &no, &ca);
				node_end = cpos + 7 + (nb - na) + 1;
				if ((st = buf_append(out, in + run, pos - run, e)) != ST_OK)
					break;
				if (!eqlit(in, na, nb, "tts")) {
					st = write_other(&sc, na, nb, opts, no, ca, cpos, out, e);
				} else if (mode != 2) {
					bool lang = false;
					for (size_t k = 0; k < no; k++)
						if (eqlit(in, opts[k].ka, opts[k].kb, "lang"))
							lang = opts[k].vb > opts[k].va;
					if (!lang)
						st = buf_append_str(out,
						                    "[Error in directive "
						                    "'anki:tts': 'lang' not set]",
						                    e);
					else
						st = buf_printf(out, e, "[anki:play:%c:%zu]",
						                mode ? 'a' : 'q', count++);
				}
			}
		}
		if (node_end == NONE) {
			const char *p =
			    pos + 1 < len ? memchr(in + pos + 1, '[', len - pos - 1) : NULL;
			pos = p ? (size_t)(p - in) : len;
			continue;
		}
		pos = run = node_end;
	}
	if (st == ST_OK)
		st = buf_append(out, in + run, len - run, e);
done:
	free(sc.cl);
	free(opts);
	if (ntags)
		*ntags = count;
	return st;
}

enum status render_av_extract(const char *in, size_t len, bool question, struct buf *out,
                              size_t *ntags, struct errinfo *e)
{
	return av_pass(in, len, question ? 0 : 1, out, ntags, e);
}

enum status render_av_strip(const char *in, size_t len, struct buf *out, struct errinfo *e)
{
	return av_pass(in, len, 2, out, NULL, e);
}
