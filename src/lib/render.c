/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render.c - field maps and the template engine (render.h; Anki's
 * rslib/src/template.rs, tokens as collection-format.md §6.2).
 *
 * Tokenizer: at each position a handlebar is the open delimiter, the text
 * up to the first close delimiter and the close delimiter; failing that
 * a comment is "<!--" to the first "-->"; anything else is text.  The
 * delimiter searches are cached (their start positions never decrease),
 * so tokenizing is linear.  This is the tokenizer of cardgen.c; that one
 * drops text and filters because generation does not need them, so the
 * renderer keeps its own node array.
 *
 * Nodes form a flat pre-order array; a conditional records the index
 * just past its subtree.  Rendering is one left-to-right pass: a false
 * conditional mutes output up to its end but its children are still
 * checked for unknown names, as Anki does, so the first error in
 * document order is the one reported.  No recursion anywhere.
 *
 * Error sentences are Anki's English ones (ftl/core/card-template-
 * rendering.ftl, rendered without bidi isolation marks).
 */
#include "render.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "render_html.h"
#include "text.h"

#define NONE SIZE_MAX

/* ---- field maps ---- */

struct rf_entry {
	char *name, *val;
	size_t nlen, vlen;
};

struct render_fields {
	struct rf_entry *v; /* sorted by name (bytes, then length) */
	size_t n, cap;
};

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

enum status render_fields_new(struct render_fields **out, struct errinfo *e)
{
	*out = calloc(1, sizeof **out);
	return *out ? ST_OK : errinfo_set(e, ST_NOMEM, "out of memory");
}

void render_fields_free(struct render_fields *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].val);
	}
	free(f->v);
	free(f);
}

/* Index of name, or where it would go (*found false). */
static size_t rf_find(const struct render_fields *f, const char *name, size_t nlen, bool *found)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(f->v[mid].name, f->v[mid].nlen, name, nlen);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static char *dup_bytes(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		if (n)
			memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

enum status render_fields_put(struct render_fields *f, const char *name, size_t nlen,
                              const char *val, size_t vlen, bool replace, struct errinfo *e)
{
	bool found;
	size_t i = rf_find(f, name, nlen, &found);
	if (found && !replace)
		return ST_OK;
	char *v = dup_bytes(val ? val : "", val ? vlen : 0);
	if (!v)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	if (found) {
		free(f->v[i].val);
		f->v[i].val = v;
		f->v[i].vlen = val ? vlen : 0;
		return ST_OK;
	}
	char *nm = dup_bytes(name, nlen);
	if (!nm) {
		free(v);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 16;
		struct rf_entry *nv = realloc(f->v, nc * sizeof *nv);
		if (!nv) {
			free(v);
			free(nm);
			return errinfo_set(e, ST_NOMEM, "out of memory");
		}
		f->v = nv;
		f->cap = nc;
	}
	memmove(f->v + i + 1, f->v + i, (f->n - i) * sizeof *f->v);
	f->v[i] = (struct rf_entry){nm, v, nlen, val ? vlen : 0};
	f->n++;
	return ST_OK;
}

bool render_fields_get(const struct render_fields *f, const char *name, size_t nlen,
                       const char **val, size_t *vlen)
{
	bool found;
	size_t i = rf_find(f, name, nlen, &found);
	if (found) {
		*val = f->v[i].val;
		*vlen = f->v[i].vlen;
	}
	return found;
}

size_t render_fields_count(const struct render_fields *f)
{
	return f->n;
}

void render_fields_at(const struct render_fields *f, size_t i, const char **name, size_t *nlen,
                      const char **val, size_t *vlen)
{
	*name = f->v[i].name;
	*nlen = f->v[i].nlen;
	*val = f->v[i].val;
	*vlen = f->v[i].vlen;
}

/* ---- parsing ---- */

enum rn_kind { RN_TEXT, RN_REPL, RN_COND, RN_NEG };

struct rn {
	enum rn_kind kind;
	size_t a, b; /* text: the span; repl: trimmed handlebar; cond: the key */
	size_t k;    /* repl: start of the field name (after the last ':') */
	size_t end;  /* cond: index just past the subtree */
};

struct rtmpl {
	const char *s;
	size_t n;
	struct rn *v;
	size_t nn, cap;
};

struct finder {
	size_t from, res;
	bool valid;
};

static size_t find_lit(struct finder *f, const char *s, size_t n, size_t x, const char *lit,
                       size_t ll)
{
	if (f->valid && x >= f->from && (f->res == NONE || x <= f->res))
		return f->res;
	const char *p = x < n ? render_html_find(s + x, n - x, lit, ll) : NULL;
	f->from = x;
	f->res = p ? (size_t)(p - s) : NONE;
	f->valid = true;
	return f->res;
}

static bool at(const char *s, size_t n, size_t i, const char *lit, size_t ll)
{
	return i <= n && n - i >= ll && memcmp(s + i, lit, ll) == 0;
}

static enum status add(struct rtmpl *t, struct rn node, struct errinfo *e)
{
	if (t->nn == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 32;
		struct rn *nv = realloc(t->v, nc * sizeof *nv);
		if (!nv)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		t->v = nv;
		t->cap = nc;
	}
	t->v[t->nn++] = node;
	return ST_OK;
}

/* Text from a to b: extend the previous text node when adjacent. */
static enum status add_text(struct rtmpl *t, size_t a, size_t b, struct errinfo *e)
{
	if (a == b)
		return ST_OK;
	if (t->nn && t->v[t->nn - 1].kind == RN_TEXT && t->v[t->nn - 1].b == a) {
		t->v[t->nn - 1].b = b;
		return ST_OK;
	}
	return add(t, (struct rn){.kind = RN_TEXT, .a = a, .b = b, .end = NONE}, e);
}

/* One error sentence: each %s of fmt (at most three) takes the next
 * piece, as bytes. */
static enum status msg(struct buf *terr, struct errinfo *e, const char *fmt, const char *s1,
                       size_t l1, const char *s2, size_t l2, const char *s3, size_t l3)
{
	struct buf tmp;
	buf_init(&tmp, 0);
	enum status st = ST_OK;
	const char *pieces[3] = {s1, s2, s3};
	size_t lens[3] = {l1, l2, l3};
	int k = 0;
	for (const char *p = fmt; *p && st == ST_OK; p++) {
		if (p[0] == '%' && p[1] == 's' && k < 3) {
			st = buf_append(&tmp, pieces[k], lens[k], e);
			k++;
			p++;
		} else {
			st = buf_append(&tmp, p, 1, e);
		}
	}
	if (st == ST_OK && terr)
		st = buf_append(terr, tmp.data, tmp.len, e);
	if (st == ST_OK)
		st = errinfo_set(e, ST_INVALID, "%s", tmp.data ? (const char *)tmp.data : "");
	buf_free(&tmp);
	return st;
}

static enum status parse(const char *s, size_t n, struct rtmpl *t, struct buf *terr,
                         struct errinfo *e)
{
	static const char alt[] = "{{=<% %>=}}";
	const size_t altl = sizeof alt - 1;
	memset(t, 0, sizeof *t);
	t->s = s;
	t->n = n;
	size_t pos = text_trim_ws_start(s, 0, n);
	const char *open = "{{", *close = "}}";
	if (at(s, n, pos, alt, altl)) {
		while (at(s, n, pos, alt, altl))
			pos += altl;
		open = "<%";
		close = "%>";
	} else {
		pos = 0;
	}
	struct finder fclose = {0}, fcomment = {0};
	size_t *stack = NULL, depth = 0, scap = 0, text_from = pos;
	enum status st = ST_OK;
	while (pos < n && st == ST_OK) {
		size_t c;
		if (at(s, n, pos, open, 2) &&
		    (c = find_lit(&fclose, s, n, pos + 2, close, 2)) != NONE) {
			if ((st = add_text(t, text_from, pos, e)) != ST_OK)
				break;
			size_t a = pos + 2, b = c;
			pos = text_from = c + 2;
			while (a < b && s[a] == '{')
				a++;
			a = text_trim_ws_start(s, a, b);
			b = text_trim_ws_end(s, a, b);
			char lead = b - a >= 2 ? s[a] : 0;
			if (lead == '#' || lead == '^') {
				size_t k = text_trim_ws_start(s, a + 1, b);
				st = add(t,
				         (struct rn){lead == '#' ? RN_COND : RN_NEG, k, b, 0, NONE},
				         e);
				if (st != ST_OK)
					break;
				if (depth == scap) {
					size_t nc = scap ? scap * 2 : 16;
					size_t *ns = realloc(stack, nc * sizeof *ns);
					if (!ns) {
						st = errinfo_set(e, ST_NOMEM, "out of memory");
						break;
					}
					stack = ns;
					scap = nc;
				}
				stack[depth++] = t->nn - 1;
			} else if (lead == '/') {
				size_t k = text_trim_ws_start(s, a + 1, b);
				if (depth == 0) {
					st = msg(
					    terr, e,
					    "Found '{{/%s}}', but missing '{{#%s}}' or '{{^%s}}'",
					    s + k, b - k, s + k, b - k, s + k, b - k);
					break;
				}
				struct rn *o = &t->v[stack[depth - 1]];
				if (name_cmp(s + o->a, o->b - o->a, s + k, b - k) != 0) {
					st = msg(terr, e, "Found '{{/%s}}', but expected '{{/%s}}'",
					         s + k, b - k, s + o->a, o->b - o->a, NULL, 0);
					break;
				}
				o->end = t->nn;
				depth--;
			} else {
				size_t k = b;
				while (k > a && s[k - 1] != ':')
					k--;
				st = add(t, (struct rn){RN_REPL, a, b, k, NONE}, e);
			}
			continue;
		}
		if (at(s, n, pos, "<!--", 4) &&
		    (c = find_lit(&fcomment, s, n, pos + 4, "-->", 3)) != NONE) {
			pos = c + 3; /* comments render as themselves: part of the text */
			continue;
		}
		pos++;
	}
	if (st == ST_OK)
		st = add_text(t, text_from, n, e);
	if (st == ST_OK && depth > 0 && t->v) {
		struct rn *o = &t->v[stack[depth - 1]];
		st = msg(terr, e, "Missing '{{/%s}}'", s + o->a, o->b - o->a, NULL, 0, NULL, 0);
	}
	free(stack);
	if (st != ST_OK) {
		free(t->v);
		t->v = NULL;
	}
	return st;
}

/* ---- rendering ---- */

static bool cloze_conditional(const char *k, size_t n)
{
	/* "c" + what Rust's u32::from_str accepts: optional '+', digits */
	if (n < 2 || k[0] != 'c')
		return false;
	size_t i = 1;
	if (k[i] == '+')
		i++;
	if (i == n)
		return false;
	uint64_t v = 0;
	for (; i < n; i++) {
		if (k[i] < '0' || k[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(k[i] - '0');
		if (v > UINT32_MAX)
			return false;
	}
	return true;
}

enum status render_template(const char *tmpl, size_t len, const struct render_fields *fields,
                            const struct render_ctx *ctx, struct buf *out, struct buf *terr,
                            struct errinfo *e)
{
	struct rtmpl t;
	const char *s = tmpl ? tmpl : "";
	enum status st = parse(s, tmpl ? len : 0, &t, terr, e);
	if (st != ST_OK)
		return st;
	struct render_filters_ctx fctx = {
	    .cloze_num = ctx->card_ord + 1, .question = !ctx->answer, .mode = ctx->mode};
	size_t mute_end = NONE; /* output is off below this index */
	for (size_t i = 0; i < t.nn && st == ST_OK; i++) {
		if (mute_end != NONE && i >= mute_end)
			mute_end = NONE;
		bool live = mute_end == NONE;
		const struct rn *nd = &t.v[i];
		if (nd->kind == RN_TEXT) {
			if (live)
				st = buf_append(out, s + nd->a, nd->b - nd->a, e);
			continue;
		}
		const char *key = s + (nd->kind == RN_REPL ? nd->k : nd->a);
		size_t klen = nd->b - (size_t)(key - s);
		const char *val = NULL;
		size_t vlen = 0;
		bool exists = render_fields_get(fields, key, klen, &val, &vlen);
		if (nd->kind == RN_REPL) {
			if (klen == 9 && memcmp(key, "FrontSide", 9) == 0) {
				if (live && ctx->frontside)
					st = buf_append(out, ctx->frontside, ctx->frontside_len, e);
				continue;
			}
			if (klen == 0 && nd->k > nd->a)
				continue; /* {{filter:}}: the filter would add its own text */
			if (!exists) {
				const char *sp = s + nd->a;
				st = msg(terr, e,
				         "Found '{{%s}}', but there is no field called '%s'", sp,
				         nd->b - nd->a, key, klen, NULL, 0);
				break;
			}
			if (live)
				st = render_filters_apply(val, vlen, s + nd->a, nd->k - nd->a, key,
				                          klen, &fctx, out, e);
			continue;
		}
		bool neg = nd->kind == RN_NEG;
		bool truth;
		if (exists && !text_field_is_empty(val, vlen)) {
			truth = !neg;
		} else if (exists || cloze_conditional(key, klen)) {
			truth = neg;
		} else {
			const char *fmt =
			    neg ? "Found '{{^%s}}', but there is no field called '%s'"
			        : "Found '{{#%s}}', but there is no field called '%s'";
			st = msg(terr, e, fmt, key, klen, key, klen, NULL, 0);
			break;
		}
		if (!truth && live)
			mute_end = nd->end;
	}
	free(t.v);
	return st;
}
