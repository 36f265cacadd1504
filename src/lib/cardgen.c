/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cardgen.c - card generation rules (collection-format.md §6.2; Anki's
 * rslib/src/template.rs, cloze.rs, notetype/cardgen.rs).
 *
 * A parsed template is a flat pre-order array of nodes: replacements,
 * conditionals and negated conditionals (text and comments carry no
 * weight for generation and are dropped).  Each conditional records the
 * index just past its subtree, so "does it render" is one left-to-right
 * scan that skips closed subtrees: no recursion, whatever the nesting.
 *
 * Keys are interned per template; a notetype maps every key to the field
 * ords of that name and to the special names Anki adds, so evaluating a
 * note costs one pass over its fields plus one over the nodes.
 *
 * Tokenizer (template.rs): at each position, a handlebar is the open
 * delimiter, everything up to the first close delimiter, and the close
 * delimiter; failing that, a comment is "<!--" ... first "-->".  Anything
 * else is text.  Searches for the next delimiter start at non-decreasing
 * positions and are cached, so tokenizing is linear.
 */
#include "cardgen.h"

#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX

static const char alt_directive[] = "{{=<% %>=}}";

/* Special names counted as non-empty fields (notetype/mod.rs); FrontSide
 * is listed by Anki but never counted. */
static const char *const special_names[] = {"Card", "CardFlag", "Deck", "Subdeck",
                                            "Type", "CardID",   "Tags"};
#define SPECIAL_TAGS 6

enum node_kind { N_REPL, N_COND, N_NEG };

struct node {
	enum node_kind kind;
	size_t key;        /* index into keys */
	size_t end;        /* conditionals: index just past the subtree */
	size_t kpos, klen; /* key text in the template copy, during parsing */
};

struct cardgen_template {
	char *text; /* copy of the template; keys point into it */
	struct node *nodes;
	size_t nnodes;
	struct text_slice *keys; /* distinct keys */
	size_t nkeys;
};

void cardgen_req_free(struct cardgen_req *r)
{
	free(r->field_ords);
	r->field_ords = NULL;
	r->n = 0;
}

const char *cardgen_req_kind_name(enum cardgen_req_kind k)
{
	return k == CARDGEN_REQ_ANY ? "any" : k == CARDGEN_REQ_ALL ? "all" : "none";
}

void cardgen_ords_free(struct cardgen_ords *o)
{
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

/* ---- tokenizer and parser ---- */

struct finder {
	size_t from, res;
	bool valid;
};

static size_t find_lit(struct finder *f, const char *s, size_t n, size_t x, const char *lit)
{
	if (f->valid && x >= f->from && (f->res == NONE || x <= f->res))
		return f->res;
	size_t ll = strlen(lit);
	const char *p = x < n ? memmem(s + x, n - x, lit, ll) : NULL;
	f->from = x;
	f->res = p ? (size_t)(p - s) : NONE;
	f->valid = true;
	return f->res;
}

static bool starts_with(const char *s, size_t n, size_t i, const char *lit)
{
	size_t ll = strlen(lit);
	return n - i >= ll && memcmp(s + i, lit, ll) == 0;
}

static enum status add_node(struct cardgen_template *t, size_t *cap, enum node_kind kind,
                            size_t kpos, size_t klen, struct errinfo *e)
{
	if (t->nnodes == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct node *nn = realloc(t->nodes, ncap * sizeof *nn);
		if (!nn)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		t->nodes = nn;
		*cap = ncap;
	}
	t->nodes[t->nnodes++] =
	    (struct node){.kind = kind, .kpos = kpos, .klen = klen, .end = NONE};
	return ST_OK;
}

static int key_cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

static int node_key_cmp(const void *x, const void *y, void *ctx)
{
	const struct cardgen_template *t = ctx;
	const struct node *a = &t->nodes[*(const size_t *)x];
	const struct node *b = &t->nodes[*(const size_t *)y];
	return key_cmp_bytes(t->text + a->kpos, a->klen, t->text + b->kpos, b->klen);
}

/* Give every node a key id; equal key texts share one id. */
static enum status intern_keys(struct cardgen_template *t, struct errinfo *e)
{
	if (t->nnodes == 0)
		return ST_OK;
	size_t *idx = malloc(t->nnodes * sizeof *idx);
	t->keys = malloc(t->nnodes * sizeof *t->keys);
	if (!idx || !t->keys) {
		free(idx);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < t->nnodes; i++)
		idx[i] = i;
	qsort_r(idx, t->nnodes, sizeof *idx, node_key_cmp, t);
	for (size_t i = 0; i < t->nnodes; i++) {
		struct node *nd = &t->nodes[idx[i]];
		const char *kp = t->text + nd->kpos;
		if (t->nkeys == 0 || key_cmp_bytes(t->keys[t->nkeys - 1].p,
		                                   t->keys[t->nkeys - 1].len, kp, nd->klen) != 0)
			t->keys[t->nkeys++] = (struct text_slice){kp, nd->klen};
		nd->key = t->nkeys - 1;
	}
	free(idx);
	return ST_OK;
}

void cardgen_template_free(struct cardgen_template *t)
{
	if (!t)
		return;
	free(t->text);
	free(t->nodes);
	free(t->keys);
	free(t);
}

static enum status parse_into(struct cardgen_template *t, size_t n, struct errinfo *e)
{
	const char *s = t->text;
	size_t pos = text_trim_ws_start(s, 0, n), cap = 0;
	const char *open = "{{", *close = "}}";
	struct finder fclose = {0}, fcomment = {0};
	size_t *stack = NULL, depth = 0, scap = 0;
	enum status st = ST_OK;

	if (starts_with(s, n, pos, alt_directive)) {
		while (starts_with(s, n, pos, alt_directive))
			pos += sizeof alt_directive - 1;
		open = "<%";
		close = "%>";
	} else {
		pos = 0;
	}
	while (pos < n && st == ST_OK) {
		size_t c;
		if (starts_with(s, n, pos, open) &&
		    (c = find_lit(&fclose, s, n, pos + 2, close)) != NONE) {
			size_t a = pos + 2, b = c;
			pos = c + 2;
			while (a < b && s[a] == '{')
				a++;
			a = text_trim_ws_start(s, a, b);
			b = text_trim_ws_end(s, a, b);
			char lead = b - a >= 2 ? s[a] : 0;
			if (lead == '#' || lead == '^') {
				size_t k = text_trim_ws_start(s, a + 1, b);
				if ((st = add_node(t, &cap, lead == '#' ? N_COND : N_NEG, k, b - k,
				                   e)) != ST_OK)
					break;
				if (depth == scap) {
					size_t ncap = scap ? scap * 2 : 8;
					size_t *ns = realloc(stack, ncap * sizeof *ns);
					if (!ns) {
						st = errinfo_set(e, ST_NOMEM, "out of memory");
						break;
					}
					stack = ns;
					scap = ncap;
				}
				stack[depth++] = t->nnodes - 1;
			} else if (lead == '/') {
				size_t k = text_trim_ws_start(s, a + 1, b);
				if (depth == 0) {
					st = errinfo_set(e, ST_INVALID,
					                 "{{/%.*s}} closes no open conditional",
					                 (int)(b - k > 64 ? 64 : b - k), s + k);
					break;
				}
				struct node *o = &t->nodes[stack[depth - 1]];
				if (key_cmp_bytes(s + o->kpos, o->klen, s + k, b - k) != 0) {
					st = errinfo_set(e, ST_INVALID,
					                 "{{/%.*s}} found where {{/%.*s}} expected",
					                 (int)(b - k > 64 ? 64 : b - k), s + k,
					                 (int)(o->klen > 64 ? 64 : o->klen),
					                 s + o->kpos);
					break;
				}
				o->end = t->nnodes;
				depth--;
			} else {
				/* the field name is what follows the last ':' */
				size_t k = b;
				while (k > a && s[k - 1] != ':')
					k--;
				st = add_node(t, &cap, N_REPL, k, b - k, e);
			}
			continue;
		}
		if (starts_with(s, n, pos, "<!--") &&
		    (c = find_lit(&fcomment, s, n, pos + 4, "-->")) != NONE) {
			pos = c + 3;
			continue;
		}
		pos++; /* delimiters are ASCII: byte steps never split a match */
	}
	if (st == ST_OK && depth > 0 && t->nodes) {
		struct node *o = &t->nodes[stack[depth - 1]];
		st = errinfo_set(e, ST_INVALID, "{{#%.*s}} is not closed",
		                 (int)(o->klen > 64 ? 64 : o->klen), s + o->kpos);
	}
	free(stack);
	if (st == ST_OK)
		st = intern_keys(t, e);
	return st;
}

enum status cardgen_template_parse(const char *text, size_t len, struct cardgen_template **out,
                                   struct errinfo *e)
{
	*out = NULL;
	struct cardgen_template *t = calloc(1, sizeof *t);
	if (!t || !(t->text = malloc(len + 1))) {
		free(t);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	if (len)
		memcpy(t->text, text, len);
	t->text[len] = '\0';
	enum status st = parse_into(t, len, e);
	if (st != ST_OK) {
		cardgen_template_free(t);
		return st;
	}
	*out = t;
	return ST_OK;
}

/* The template renders iff some replacement of a non-empty key lies on
 * a path of open conditionals. */
static bool renders(const struct cardgen_template *t, const bool *key_nonempty, bool check_negated)
{
	size_t i = 0;
	while (i < t->nnodes) {
		const struct node *nd = &t->nodes[i];
		bool ne = key_nonempty[nd->key];
		switch (nd->kind) {
		case N_REPL:
			if (ne)
				return true;
			i++;
			break;
		case N_COND:
			i = ne ? i + 1 : nd->end;
			break;
		case N_NEG:
			i = (check_negated && ne) ? nd->end : i + 1;
			break;
		}
	}
	return false;
}

bool cardgen_template_renders(const struct cardgen_template *t, const char *const *nonempty,
                              size_t n, bool check_negated)
{
	if (t->nkeys == 0)
		return false;
	bool *ne = calloc(t->nkeys, sizeof *ne);
	if (!ne)
		return false;
	for (size_t k = 0; k < t->nkeys; k++)
		for (size_t i = 0; i < n && !ne[k]; i++)
			ne[k] = key_cmp_bytes(t->keys[k].p, t->keys[k].len, nonempty[i],
			                      strlen(nonempty[i])) == 0;
	bool r = renders(t, ne, check_negated);
	free(ne);
	return r;
}

/* ---- notetypes ---- */

/* How one template key relates to the notetype. */
struct keyinfo {
	size_t name; /* index into distinct names, or NONE */
	int special; /* 0 no, 1 always non-empty, 2 non-empty when the note has tags */
};

struct cardgen_notetype {
	bool is_cloze;
	size_t nfields;
	size_t *field_name; /* per field ord: its distinct-name index */
	size_t nnames;
	size_t *name_last_ord; /* per distinct name: the last ord with it (Anki's HashMap) */
	size_t ntemplates;
	struct cardgen_template **tmpl; /* NULL where parsing failed */
	struct keyinfo **keys;          /* per template, per key */
};

struct name_ref {
	const char *name;
	size_t ord;
};

static int name_ref_cmp(const void *x, const void *y)
{
	const struct name_ref *a = x, *b = y;
	int c = strcmp(a->name, b->name);
	return c ? c : (a->ord > b->ord) - (a->ord < b->ord);
}

void cardgen_notetype_free(struct cardgen_notetype *nt)
{
	if (!nt)
		return;
	for (size_t i = 0; i < nt->ntemplates; i++) {
		cardgen_template_free(nt->tmpl ? nt->tmpl[i] : NULL);
		if (nt->keys)
			free(nt->keys[i]);
	}
	free(nt->tmpl);
	free(nt->keys);
	free(nt->field_name);
	free(nt->name_last_ord);
	free(nt);
}

enum status cardgen_notetype_new(const char *const *field_names, size_t nfields,
                                 const struct text_slice *qfmts, size_t ntemplates, bool is_cloze,
                                 struct cardgen_notetype **out, struct errinfo *e)
{
	*out = NULL;
	struct cardgen_notetype *nt = calloc(1, sizeof *nt);
	struct name_ref *refs = calloc(nfields ? nfields : 1, sizeof *refs);
	if (!nt || !refs)
		goto nomem;
	nt->is_cloze = is_cloze;
	nt->nfields = nfields;
	nt->ntemplates = ntemplates;
	nt->field_name = calloc(nfields ? nfields : 1, sizeof *nt->field_name);
	nt->name_last_ord = calloc(nfields ? nfields : 1, sizeof *nt->name_last_ord);
	nt->tmpl = calloc(ntemplates ? ntemplates : 1, sizeof *nt->tmpl);
	nt->keys = calloc(ntemplates ? ntemplates : 1, sizeof *nt->keys);
	if (!nt->field_name || !nt->name_last_ord || !nt->tmpl || !nt->keys)
		goto nomem;

	/* distinct field names, sorted, for lookups */
	for (size_t i = 0; i < nfields; i++)
		refs[i] = (struct name_ref){field_names[i], i};
	if (nfields > 1)
		qsort(refs, nfields, sizeof *refs, name_ref_cmp);
	for (size_t i = 0; i < nfields; i++) {
		if (i == 0 || strcmp(refs[i - 1].name, refs[i].name) != 0)
			nt->nnames++;
		nt->field_name[refs[i].ord] = nt->nnames - 1;
		nt->name_last_ord[nt->nnames - 1] = refs[i].ord; /* ascending: last wins */
	}

	for (size_t t = 0; t < ntemplates; t++) {
		struct cardgen_template *tp = NULL;
		enum status st = cardgen_template_parse(qfmts[t].p, qfmts[t].len, &tp, NULL);
		if (st == ST_NOMEM)
			goto nomem;
		if (st != ST_OK || !tp)
			continue; /* never generates; reqs "none" */
		nt->tmpl[t] = tp;
		nt->keys[t] = calloc(tp->nkeys ? tp->nkeys : 1, sizeof *nt->keys[t]);
		if (!nt->keys[t])
			goto nomem;
		for (size_t k = 0; k < tp->nkeys; k++) {
			struct keyinfo *ki = &nt->keys[t][k];
			ki->name = NONE;
			/* binary search the key among the field names */
			size_t lo = 0, hi = nfields;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				int c = key_cmp_bytes(tp->keys[k].p, tp->keys[k].len,
				                      refs[mid].name, strlen(refs[mid].name));
				if (c == 0) {
					ki->name = nt->field_name[refs[mid].ord];
					break;
				}
				if (c < 0)
					hi = mid;
				else
					lo = mid + 1;
			}
			if (ki->name != NONE)
				continue; /* a real field shadows a special name */
			for (size_t sname = 0; sname < sizeof special_names / sizeof *special_names;
			     sname++)
				if (key_cmp_bytes(tp->keys[k].p, tp->keys[k].len,
				                  special_names[sname],
				                  strlen(special_names[sname])) == 0)
					ki->special = sname == SPECIAL_TAGS ? 2 : 1;
		}
	}
	free(refs);
	*out = nt;
	return ST_OK;
nomem:
	free(refs);
	cardgen_notetype_free(nt);
	return errinfo_set(e, ST_NOMEM, "out of memory");
}

bool cardgen_notetype_template_ok(const struct cardgen_notetype *nt, size_t ord)
{
	return ord < nt->ntemplates && nt->tmpl[ord] != NULL;
}

static enum status ords_from_bits(const unsigned char *bits, size_t nbits, struct cardgen_ords *out,
                                  struct errinfo *e)
{
	size_t count = 0;
	for (size_t i = 0; i < nbits; i++)
		count += (bits[i >> 3] >> (i & 7)) & 1;
	out->v = NULL;
	out->n = 0;
	out->fallback_ord0 = count == 0;
	if (count == 0)
		return ST_OK;
	if (!(out->v = malloc(count * sizeof *out->v)))
		return errinfo_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < nbits; i++)
		if ((bits[i >> 3] >> (i & 7)) & 1)
			out->v[out->n++] = (uint32_t)i;
	return ST_OK;
}

enum status cardgen_normal(const struct cardgen_notetype *nt, const struct text_slice *fields,
                           size_t nfields, bool has_tags, struct cardgen_ords *out,
                           struct errinfo *e)
{
	size_t maxkeys = 1;
	for (size_t t = 0; t < nt->ntemplates; t++)
		if (nt->tmpl[t] && nt->tmpl[t]->nkeys > maxkeys)
			maxkeys = nt->tmpl[t]->nkeys;
	bool *name_ne = calloc(nt->nnames ? nt->nnames : 1, sizeof *name_ne);
	bool *key_ne = calloc(maxkeys, sizeof *key_ne);
	unsigned char *bits = calloc(nt->ntemplates / 8 + 1, 1);
	enum status st;
	out->v = NULL;
	out->n = 0;
	if (!name_ne || !key_ne || !bits) {
		st = errinfo_set(e, ST_NOMEM, "out of memory");
		goto done;
	}
	for (size_t f = 0; f < nfields && f < nt->nfields; f++)
		if (!text_field_is_empty(fields[f].p, fields[f].len))
			name_ne[nt->field_name[f]] = true;
	for (size_t t = 0; t < nt->ntemplates; t++) {
		const struct cardgen_template *tp = nt->tmpl[t];
		if (!tp)
			continue; /* failed to parse: never generates */
		for (size_t k = 0; k < tp->nkeys; k++) {
			const struct keyinfo *ki = &nt->keys[t][k];
			key_ne[k] = ki->name != NONE
			                ? name_ne[ki->name]
			                : ki->special == 1 || (ki->special == 2 && has_tags);
		}
		if (renders(tp, key_ne, true))
			bits[t >> 3] |= (unsigned char)(1u << (t & 7));
	}
	st = ords_from_bits(bits, nt->ntemplates, out, e);
done:
	free(name_ne);
	free(key_ne);
	free(bits);
	return st;
}

/* ---- clozes ---- */

/* An opener at s[i..): "{{c", ASCII digits and commas, "::", with at
 * least one comma-separated piece that parses as u16.  Appends the
 * distinct numbers to nums and returns the end, or NONE.  seen is a
 * zeroed 65536-bit scratch set, zeroed again on return. */
static size_t cloze_opener(const char *s, size_t n, size_t i, uint16_t *nums, size_t *nnums,
                           unsigned char *seen)
{
	if (n - i < 3 || memcmp(s + i, "{{c", 3) != 0)
		return NONE;
	size_t j = i + 3;
	while (j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == ','))
		j++;
	if (n - j < 2 || s[j] != ':' || s[j + 1] != ':')
		return NONE;
	size_t count = 0;
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
		if (ok && !((seen[v >> 3] >> (v & 7)) & 1)) {
			seen[v >> 3] |= (unsigned char)(1u << (v & 7));
			nums[*nnums + count++] = (uint16_t)v;
		}
		a = b + 1;
	}
	for (size_t k = 0; k < count; k++)
		seen[nums[*nnums + k] >> 3] = 0;
	if (count == 0)
		return NONE;
	*nnums += count;
	return j + 2;
}

/* Add the numbers of the clozes of one field to bits (65536 bits). */
static enum status cloze_field(const char *s, size_t n, unsigned char *bits, unsigned char *seen,
                               struct errinfo *e)
{
	/* Numbers of the open clozes and of the closed clozes nested in them,
	 * one region per open cloze: a closed cloze's numbers join its parent
	 * (or the result at top level); clozes open at the end are dropped. */
	uint16_t *pending = NULL;
	size_t npending = 0, cap = 0;
	size_t frames[CARDGEN_MAX_CLOZE_NESTING];
	size_t depth = 0;
	enum status st = ST_OK;

	for (size_t i = 0; i < n;) {
		if (n - i >= 3 && memcmp(s + i, "{{c", 3) == 0) {
			/* room for the opener's numbers: at most one per two bytes */
			size_t j = i + 3;
			while (j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == ','))
				j++;
			size_t need = npending + (j - i) / 2 + 1;
			if (need > cap) {
				size_t ncap = cap ? cap : 64;
				while (ncap < need)
					ncap *= 2;
				uint16_t *np = realloc(pending, ncap * sizeof *np);
				if (!np) {
					st = errinfo_set(e, ST_NOMEM, "out of memory");
					break;
				}
				pending = np;
				cap = ncap;
			}
			size_t before = npending;
			size_t end = cloze_opener(s, n, i, pending, &npending, seen);
			if (end != NONE) {
				if (depth < CARDGEN_MAX_CLOZE_NESTING)
					frames[depth++] = before;
				else
					npending = before; /* an eleventh open cloze is ignored */
				i = end;
				continue;
			}
		}
		if (s[i] == '}' && i + 1 < n && s[i + 1] == '}') {
			if (depth > 0) {
				depth--;
				if (depth == 0) {
					for (size_t k = frames[0]; k < npending; k++)
						bits[pending[k] >> 3] |=
						    (unsigned char)(1u << (pending[k] & 7));
					npending = frames[0];
				}
			}
			i += 2;
			continue;
		}
		i++;
	}
	free(pending);
	return st;
}

enum status cardgen_cloze_numbers(const struct text_slice *fields, size_t nfields, uint16_t **nums,
                                  size_t *n, struct errinfo *e)
{
	*nums = NULL;
	*n = 0;
	unsigned char *bits = calloc(2 * 65536 / 8, 1);
	if (!bits)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	unsigned char *seen = bits + 65536 / 8;
	enum status st = ST_OK;
	for (size_t f = 0; f < nfields && st == ST_OK; f++)
		st = cloze_field(fields[f].p, fields[f].len, bits, seen, e);
	bits[0] &= (unsigned char)~1u; /* cloze 0 does not count */
	size_t count = 0;
	for (size_t v = 0; v < 65536 && st == ST_OK; v++)
		count += (bits[v >> 3] >> (v & 7)) & 1;
	if (st == ST_OK && count) {
		if (!(*nums = malloc(count * sizeof **nums))) {
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		} else {
			for (size_t v = 0; v < 65536; v++)
				if ((bits[v >> 3] >> (v & 7)) & 1)
					(*nums)[(*n)++] = (uint16_t)v;
		}
	}
	free(bits);
	return st;
}

enum status cardgen_cloze(const struct text_slice *fields, size_t nfields, struct cardgen_ords *out,
                          struct errinfo *e)
{
	uint16_t *nums;
	size_t n;
	out->v = NULL;
	out->n = 0;
	enum status st = cardgen_cloze_numbers(fields, nfields, &nums, &n, e);
	if (st != ST_OK)
		return st;
	unsigned char bits[CARDGEN_MAX_CLOZE_ORD / 8 + 1] = {0};
	for (size_t i = 0; i < n; i++) {
		size_t ord = nums[i] - 1u;
		if (ord > CARDGEN_MAX_CLOZE_ORD)
			ord = CARDGEN_MAX_CLOZE_ORD;
		bits[ord >> 3] |= (unsigned char)(1u << (ord & 7));
	}
	free(nums);
	return ords_from_bits(bits, CARDGEN_MAX_CLOZE_ORD + 1, out, e);
}

enum status cardgen_cards(const struct cardgen_notetype *nt, const struct text_slice *fields,
                          size_t nfields, bool has_tags, struct cardgen_ords *out,
                          struct errinfo *e)
{
	if (nt->is_cloze)
		return cardgen_cloze(fields, nfields, out, e);
	return cardgen_normal(nt, fields, nfields, has_tags, out, e);
}

/* ---- requirement cache ---- */

static int u32_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return (a > b) - (a < b);
}

enum status cardgen_requirements(const struct cardgen_notetype *nt, size_t ord,
                                 struct cardgen_req *out, struct errinfo *e)
{
	out->kind = CARDGEN_REQ_NONE;
	out->field_ords = NULL;
	out->n = 0;
	if (ord >= nt->ntemplates || !nt->tmpl[ord])
		return ST_OK;
	const struct cardgen_template *tp = nt->tmpl[ord];
	const struct keyinfo *ki = nt->keys[ord];
	bool *key_ne = calloc(tp->nkeys ? tp->nkeys : 1, sizeof *key_ne);
	uint32_t *ords = malloc((nt->nnames ? nt->nnames : 1) * sizeof *ords);
	if (!key_ne || !ords) {
		free(key_ne);
		free(ords);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	size_t n = 0;

	/* any: fields that render the template on their own */
	for (size_t d = 0; d < nt->nnames; d++) {
		for (size_t k = 0; k < tp->nkeys; k++)
			key_ne[k] = ki[k].name == d;
		if (renders(tp, key_ne, false))
			ords[n++] = (uint32_t)nt->name_last_ord[d];
	}
	if (n) {
		out->kind = CARDGEN_REQ_ANY;
	} else {
		/* all: fields whose removal (with all others present) breaks it */
		for (size_t d = 0; d < nt->nnames; d++) {
			for (size_t k = 0; k < tp->nkeys; k++)
				key_ne[k] = ki[k].name != NONE && ki[k].name != d;
			if (!renders(tp, key_ne, false))
				ords[n++] = (uint32_t)nt->name_last_ord[d];
		}
		for (size_t k = 0; k < tp->nkeys; k++)
			key_ne[k] = ki[k].name != NONE;
		if (n && renders(tp, key_ne, false))
			out->kind = CARDGEN_REQ_ALL;
		else
			n = 0;
	}
	free(key_ne);
	if (n == 0) {
		free(ords);
		return ST_OK;
	}
	qsort(ords, n, sizeof *ords, u32_cmp);
	out->field_ords = ords;
	out->n = n;
	return ST_OK;
}
