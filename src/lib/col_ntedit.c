/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_ntedit.c - notetype edits with Anki's validation and their effect
 * on notes and cards (see col_ntedit.h).
 *
 * Invariants after a successful save: every note of the notetype has
 * exactly nt.nfields fields (contents moved with their fields), no card
 * refers to a template that no longer exists, card ords follow moved
 * templates, and notes.sfld/csum match the (possibly moved) sort field.
 */
#include "col_ntedit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardgen.h"
#include "col_decks.h"
#include "col_notegen.h"
#include "col_notes.h"
#include "col_store.h"
#include "text.h"
#include "unicase.h"

/* ---- template tokens (collection-format.md §6.2 "Template tokens") ---- */

enum tok_kind { TK_TEXT, TK_COMMENT, TK_BAR };
enum bar_kind { BAR_REPL, BAR_OPEN, BAR_NEG, BAR_CLOSE };

struct tok {
	enum tok_kind kind;
	size_t start, end; /* the token in the template */
	/* bars: */
	enum bar_kind bar;
	size_t name_off, name_len;   /* key / conditional name */
	size_t inner_off, inner_len; /* content after '{' stripping and trimming */
};

struct toks {
	struct tok *v;
	size_t n, cap;
	const char *open, *close; /* "{{" "}}" or the alternative delimiters */
	size_t skip;              /* bytes of the "{{=<% %>=}}" prefix, if any */
};

static void toks_free(struct toks *t)
{
	free(t->v);
	memset(t, 0, sizeof *t);
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static enum status push(struct toks *t, struct tok k, struct errinfo *e)
{
	if (t->n == t->cap) {
		size_t nc = t->cap ? 2 * t->cap : 16;
		struct tok *v = realloc(t->v, nc * sizeof *v);
		if (!v)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		t->v = v;
		t->cap = nc;
	}
	t->v[t->n++] = k;
	return ST_OK;
}

static void classify(const char *s, struct tok *k)
{
	size_t a = k->start + strlen("{{"), b = k->end - 2; /* both delimiters are 2 bytes */
	while (a < b && s[a] == '{')
		a++;
	while (a < b && is_ws(s[a]))
		a++;
	while (b > a && is_ws(s[b - 1]))
		b--;
	k->inner_off = a;
	k->inner_len = b - a;
	if (b - a >= 2 && (s[a] == '#' || s[a] == '^' || s[a] == '/')) {
		k->bar = s[a] == '#' ? BAR_OPEN : s[a] == '^' ? BAR_NEG : BAR_CLOSE;
		size_t n = a + 1;
		while (n < b && is_ws(s[n]))
			n++;
		k->name_off = n;
		k->name_len = b - n;
		return;
	}
	k->bar = BAR_REPL;
	size_t n = b;
	while (n > a && s[n - 1] != ':')
		n--;
	k->name_off = n;
	k->name_len = b - n;
}

/* Tokenize and check that conditionals balance (Anki refuses otherwise). */
static enum status tokenize(const char *s, struct toks *t, struct errinfo *e)
{
	memset(t, 0, sizeof *t);
	t->open = "{{";
	t->close = "}}";
	size_t len = strlen(s), i = 0;
	size_t w = 0;
	while (w < len && is_ws(s[w]))
		w++;
	if (strncmp(s + w, "{{=<% %>=}}", 11) == 0) {
		t->open = "<%";
		t->close = "%>";
		t->skip = w + 11;
	}
	enum status st = ST_OK;
	size_t text_start = 0;
	while (!st && i < len) {
		if (t->skip && i < t->skip) {
			i = t->skip;
			text_start = i;
			continue;
		}
		const char *bar = strstr(s + i, t->open);
		const char *com = strstr(s + i, "<!--");
		if (!bar && !com)
			break;
		if (com && (!bar || com < bar)) {
			const char *end = strstr(com + 4, "-->");
			if (!end) { /* not a comment: plain text */
				i = (size_t)(com - s) + 4;
				continue;
			}
			size_t cs = (size_t)(com - s);
			if (cs > text_start)
				st = push(t, (struct tok){TK_TEXT, text_start, cs, 0, 0, 0, 0, 0},
				          e);
			if (!st)
				st = push(t,
				          (struct tok){TK_COMMENT, cs, (size_t)(end - s) + 3, 0, 0,
				                       0, 0, 0},
				          e);
			i = text_start = (size_t)(end - s) + 3;
			continue;
		}
		const char *end = strstr(bar + 2, t->close);
		if (!end)
			break;
		size_t bs = (size_t)(bar - s);
		if (bs > text_start)
			st = push(t, (struct tok){TK_TEXT, text_start, bs, 0, 0, 0, 0, 0}, e);
		struct tok k = {TK_BAR, bs, (size_t)(end - s) + 2, 0, 0, 0, 0, 0};
		classify(s, &k);
		if (!st)
			st = push(t, k, e);
		i = text_start = k.end;
	}
	if (!st && text_start < len)
		st = push(t, (struct tok){TK_TEXT, text_start, len, 0, 0, 0, 0, 0}, e);
	/* balance */
	size_t *stack = st ? NULL : malloc((t->n + 1) * sizeof *stack);
	size_t depth = 0;
	if (!stack) {
		if (!st)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		toks_free(t);
		return st;
	}
	for (size_t k = 0; !st && k < t->n; k++) {
		struct tok *x = &t->v[k];
		if (x->kind != TK_BAR)
			continue;
		if (x->bar == BAR_OPEN || x->bar == BAR_NEG) {
			stack[depth++] = k;
		} else if (x->bar == BAR_CLOSE) {
			if (depth == 0)
				st = errinfo_set(e, ST_INVALID,
				                 "Found '{{/%.*s}}', but it doesn't close anything",
				                 (int)x->name_len, s + x->name_off);
			else {
				struct tok *o = &t->v[stack[--depth]];
				if (o->name_len != x->name_len ||
				    memcmp(s + o->name_off, s + x->name_off, x->name_len) != 0)
					st = errinfo_set(e, ST_INVALID, "conditional mismatch");
			}
		}
	}
	if (!st && depth)
		st = errinfo_set(e, ST_INVALID, "conditional left open");
	free(stack);
	if (st)
		toks_free(t);
	return st;
}

static int is_cloze_conditional(const char *s, size_t n)
{
	if (n < 2 || s[0] != 'c')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n < 12;
}

/* Does a replacement token have the "cloze" filter? */
static int has_cloze_filter(const char *s, const struct tok *k)
{
	const char *p = s + k->inner_off, *end = s + k->name_off;
	while (p < end) {
		const char *q = memchr(p, ':', (size_t)(end - p));
		if (!q)
			break;
		if (q - p == 5 && memcmp(p, "cloze", 5) == 0)
			return 1;
		p = q + 1;
	}
	return 0;
}

static enum status add_name(char ***names, size_t *n, const char *s, size_t len, struct errinfo *e)
{
	for (size_t i = 0; i < *n; i++)
		if (strlen((*names)[i]) == len && memcmp((*names)[i], s, len) == 0)
			return ST_OK;
	char **v = realloc(*names, (*n + 1) * sizeof *v);
	if (!v)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	*names = v;
	v[*n] = strndup(s, len);
	if (!v[*n])
		return errinfo_set(e, ST_NOMEM, "out of memory");
	(*n)++;
	return ST_OK;
}

enum status col_template_fields(const char *tmpl, bool cloze_only, char ***names, size_t *n,
                                struct errinfo *e)
{
	struct toks t;
	const char *s = tmpl ? tmpl : "";
	enum status st = tokenize(s, &t, e);
	for (size_t i = 0; !st && i < t.n; i++) {
		struct tok *k = &t.v[i];
		if (k->kind != TK_BAR || k->bar == BAR_CLOSE)
			continue;
		if (k->bar == BAR_REPL) {
			if (!cloze_only || has_cloze_filter(s, k))
				st = add_name(names, n, s + k->name_off, k->name_len, e);
		} else if (!cloze_only && !is_cloze_conditional(s + k->name_off, k->name_len)) {
			st = add_name(names, n, s + k->name_off, k->name_len, e);
		}
	}
	toks_free(&t);
	return st;
}

enum status col_template_rename_field(const char *tmpl, const char *old_name, const char *new_name,
                                      struct buf *out, struct errinfo *e)
{
	const char *s = tmpl ? tmpl : "";
	buf_reset(out);
	struct toks t;
	if (tokenize(s, &t, NULL) != ST_OK || t.skip) /* unparsable or alt syntax: unchanged */
		return buf_append(out, s, strlen(s), e);
	size_t ol = strlen(old_name);
	enum status st = ST_OK;
	for (size_t i = 0; !st && i < t.n; i++) {
		struct tok *k = &t.v[i];
		bool match = k->kind == TK_BAR && k->name_len == ol &&
		             memcmp(s + k->name_off, old_name, ol) == 0;
		if (!match || (k->bar != BAR_REPL && is_cloze_conditional(old_name, ol))) {
			st = buf_append(out, s + k->start, k->end - k->start, e);
			continue;
		}
		if (!new_name) /* removed: a replacement vanishes, a conditional keeps its body */
			continue;
		if (k->bar == BAR_REPL) {
			st = buf_append_str(out, "{{", e);
			if (!st)
				st = buf_append(out, s + k->inner_off, k->name_off - k->inner_off,
				                e);
			if (!st)
				st = buf_printf(out, e, "%s}}", new_name);
		} else {
			char c = k->bar == BAR_OPEN ? '#' : k->bar == BAR_NEG ? '^' : '/';
			st = buf_printf(out, e, "{{%c%s}}", c, new_name);
		}
	}
	if (!st && !out->data)
		st = buf_append(out, "", 0, e);
	toks_free(&t);
	return st;
}

/* ---- editing ---- */

void col_ntedit_free(struct col_ntedit *ed)
{
	if (!ed)
		return;
	notetype_free(&ed->nt);
	notetype_free(&ed->old);
	free(ed->field_src);
	free(ed->tmpl_src);
	memset(ed, 0, sizeof *ed);
}

enum status col_ntedit_load(struct col *c, int64_t mid, struct col_ntedit *ed, struct errinfo *e)
{
	memset(ed, 0, sizeof *ed);
	enum status st = col_load_notetype(c, mid, &ed->nt, e);
	if (!st)
		st = col_load_notetype(c, mid, &ed->old, e);
	if (!st) {
		ed->field_src = malloc((ed->nt.nfields + 1) * sizeof *ed->field_src);
		ed->tmpl_src = malloc((ed->nt.ntemplates + 1) * sizeof *ed->tmpl_src);
		if (!ed->field_src || !ed->tmpl_src)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	if (!st && ed->field_src && ed->tmpl_src) {
		for (size_t i = 0; i < ed->nt.nfields; i++)
			ed->field_src[i] = (int32_t)i;
		for (size_t i = 0; i < ed->nt.ntemplates; i++)
			ed->tmpl_src[i] = (int32_t)i;
	}
	if (st)
		col_ntedit_free(ed);
	return st;
}

enum status col_ntedit_field_add(struct col_ntedit *ed, const char *name, struct errinfo *e)
{
	size_t n = ed->nt.nfields;
	struct nt_field *f = realloc(ed->nt.fields, (n + 1) * sizeof *f);
	if (!f)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	ed->nt.fields = f;
	int32_t *src = realloc(ed->field_src, (n + 2) * sizeof *src);
	if (!src)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	ed->field_src = src;
	memset(&f[n], 0, sizeof f[n]);
	enum status st = field_config_new(&f[n].cfg, e);
	if (st)
		return st;
	f[n].name = strdup(name);
	if (!f[n].name) {
		field_config_free(&f[n].cfg);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	src[n] = -1;
	ed->nt.nfields++;
	return ST_OK;
}

enum status col_ntedit_field_remove(struct col_ntedit *ed, size_t idx, struct errinfo *e)
{
	if (idx >= ed->nt.nfields)
		return errinfo_set(e, ST_INVALID, "no field %zu", idx);
	nt_field_free(&ed->nt.fields[idx]);
	memmove(&ed->nt.fields[idx], &ed->nt.fields[idx + 1],
	        (ed->nt.nfields - idx - 1) * sizeof ed->nt.fields[0]);
	memmove(&ed->field_src[idx], &ed->field_src[idx + 1],
	        (ed->nt.nfields - idx - 1) * sizeof ed->field_src[0]);
	ed->nt.nfields--;
	return ST_OK;
}

/* Move element from -> to within an array of n elements of size sz. */
static void move_elem(void *base, size_t sz, size_t n, size_t from, size_t to)
{
	if (from == to || from >= n || to >= n)
		return;
	char tmp[512];
	char *b = base;
	if (sz > sizeof tmp)
		return;
	memcpy(tmp, b + from * sz, sz);
	if (from < to)
		memmove(b + from * sz, b + (from + 1) * sz, (to - from) * sz);
	else
		memmove(b + (to + 1) * sz, b + to * sz, (from - to) * sz);
	memcpy(b + to * sz, tmp, sz);
}

enum status col_ntedit_field_move(struct col_ntedit *ed, size_t from, size_t to, struct errinfo *e)
{
	if (from >= ed->nt.nfields)
		return errinfo_set(e, ST_INVALID, "no field %zu", from);
	if (to >= ed->nt.nfields)
		to = ed->nt.nfields - 1;
	move_elem(ed->nt.fields, sizeof ed->nt.fields[0], ed->nt.nfields, from, to);
	move_elem(ed->field_src, sizeof ed->field_src[0], ed->nt.nfields, from, to);
	return ST_OK;
}

enum status col_ntedit_template_add(struct col_ntedit *ed, const char *name, const char *qfmt,
                                    const char *afmt, struct errinfo *e)
{
	size_t n = ed->nt.ntemplates;
	struct nt_template *t = realloc(ed->nt.templates, (n + 1) * sizeof *t);
	if (!t)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	ed->nt.templates = t;
	int32_t *src = realloc(ed->tmpl_src, (n + 2) * sizeof *src);
	if (!src)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	ed->tmpl_src = src;
	memset(&t[n], 0, sizeof t[n]);
	enum status st = template_config_new(&t[n].cfg, qfmt, afmt, e);
	if (st)
		return st;
	t[n].name = strdup(name);
	if (!t[n].name) {
		template_config_free(&t[n].cfg);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	src[n] = -1;
	ed->nt.ntemplates++;
	return ST_OK;
}

enum status col_ntedit_template_remove(struct col_ntedit *ed, size_t idx, struct errinfo *e)
{
	if (idx >= ed->nt.ntemplates)
		return errinfo_set(e, ST_INVALID, "no template %zu", idx);
	nt_template_free(&ed->nt.templates[idx]);
	memmove(&ed->nt.templates[idx], &ed->nt.templates[idx + 1],
	        (ed->nt.ntemplates - idx - 1) * sizeof ed->nt.templates[0]);
	memmove(&ed->tmpl_src[idx], &ed->tmpl_src[idx + 1],
	        (ed->nt.ntemplates - idx - 1) * sizeof ed->tmpl_src[0]);
	ed->nt.ntemplates--;
	return ST_OK;
}

enum status col_ntedit_template_move(struct col_ntedit *ed, size_t from, size_t to,
                                     struct errinfo *e)
{
	if (from >= ed->nt.ntemplates)
		return errinfo_set(e, ST_INVALID, "no template %zu", from);
	if (to >= ed->nt.ntemplates)
		to = ed->nt.ntemplates - 1;
	move_elem(ed->nt.templates, sizeof ed->nt.templates[0], ed->nt.ntemplates, from, to);
	move_elem(ed->tmpl_src, sizeof ed->tmpl_src[0], ed->nt.ntemplates, from, to);
	return ST_OK;
}

/* ---- validation (Anki's prepare_for_update) ---- */

static const char *const special_fields[] = {"FrontSide", "Card", "CardFlag", "Deck",
                                             "Subdeck",   "Tags", "Type",     "CardID"};

/* Remove the characters in bad from *s, trim ASCII/Unicode space, and
 * drop leading chars in lead.  NFC. */
static enum status clean_name(char **s, const char *bad, const char *lead, struct errinfo *e)
{
	const char *in = col_str(*s);
	struct buf b, n;
	buf_init(&b, 0);
	buf_init(&n, 0);
	enum status st = text_nfc(in, strlen(in), &n, e);
	if (st == ST_INVALID) /* not UTF-8: lossy first */
		st = text_utf8_lossy(in, strlen(in), &n, e);
	const char *p = n.data ? (const char *)n.data : "";
	for (size_t i = 0; !st && i < n.len; i++)
		if (!strchr(bad, p[i]) || p[i] == '\0')
			st = buf_append(&b, &p[i], 1, e);
	if (!st && !b.data)
		st = buf_append(&b, "", 0, e);
	buf_free(&n);
	if (st) {
		buf_free(&b);
		return st;
	}
	char *x = (char *)b.data;
	size_t len = b.len;
	size_t a = 0;
	for (;;) {
		while (a < len && is_ws(x[a]))
			a++;
		if (a < len && lead && strchr(lead, x[a]) && x[a] != '\0') {
			a++;
			continue;
		}
		break;
	}
	while (len > a && is_ws(x[len - 1]))
		len--;
	char *out = strndup(x + a, len - a);
	buf_free(&b);
	if (!out)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	free(*s);
	*s = out;
	return ST_OK;
}

static enum status card_type_error(struct errinfo *e, const struct notetype *nt, size_t ord,
                                   const char *details)
{
	return errinfo_set(e, ST_INVALID,
	                   "Card template %zu in note type '%s' has a problem.<br>%s", ord + 1,
	                   col_str(nt->name), details);
}

static bool name_known(const struct notetype *nt, const char *name)
{
	if (!*name)
		return true;
	for (size_t i = 0; i < sizeof special_fields / sizeof special_fields[0]; i++)
		if (strcmp(special_fields[i], name) == 0)
			return true;
	for (size_t i = 0; i < nt->nfields; i++)
		if (strcmp(col_str(nt->fields[i].name), name) == 0)
			return true;
	return false;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool has_card_tag(const char *q)
{
	for (const char *p = strstr(q, "{{"); p; p = strstr(p + 2, "{{")) {
		const char *a = p + 2;
		while (is_ws(*a))
			a++;
		if (strncmp(a, "Card", 4) == 0) {
			a += 4;
			while (is_ws(*a))
				a++;
			if (strncmp(a, "}}", 2) == 0)
				return true;
		}
	}
	return false;
}

static enum status check_templates(const struct notetype *nt, struct errinfo *e)
{
	for (size_t i = 0; i < nt->ntemplates; i++) {
		const char *q = col_str(nt->templates[i].cfg.q_format);
		for (size_t j = 0; j < i; j++)
			if (strcmp(q, col_str(nt->templates[j].cfg.q_format)) == 0 &&
			    !has_card_tag(q)) {
				char d[128];
				snprintf(d, sizeof d,
				         "The front side is identical to card template %zu.",
				         j + 1);
				return card_type_error(e, nt, i, d);
			}
	}
	for (size_t i = 0; i < nt->ntemplates; i++) {
		char **qn = NULL, **an = NULL;
		size_t nq = 0, na = 0;
		enum status st =
		    col_template_fields(nt->templates[i].cfg.q_format, false, &qn, &nq, NULL);
		enum status st2 =
		    col_template_fields(nt->templates[i].cfg.a_format, false, &an, &na, NULL);
		enum status r = ST_OK;
		if (st == ST_NOMEM || st2 == ST_NOMEM)
			r = errinfo_set(e, ST_NOMEM, "out of memory");
		else if (st || st2)
			r = card_type_error(e, nt, i, "See the preview for more information.");
		else if (nq == 0)
			r = card_type_error(
			    e, nt, i,
			    "Expected to find a field replacement on the front of the card "
			    "template.");
		else {
			for (size_t k = 0; k < nq && !r; k++)
				if (!name_known(nt, qn[k]))
					r = card_type_error(
					    e, nt, i, "See the preview for more information.");
			for (size_t k = 0; k < na && !r; k++)
				if (!name_known(nt, an[k]))
					r = card_type_error(
					    e, nt, i, "See the preview for more information.");
		}
		free_names(qn, nq);
		free_names(an, na);
		if (r)
			return r;
	}
	if (nt->cfg.kind == NOTETYPE_KIND_CLOZE) {
		char **qn = NULL, **an = NULL;
		size_t nq = 0, na = 0;
		col_template_fields(nt->templates[0].cfg.q_format, true, &qn, &nq, NULL);
		col_template_fields(nt->templates[0].cfg.a_format, true, &an, &na, NULL);
		free_names(qn, nq);
		free_names(an, na);
		if (nq == 0 || na == 0)
			return card_type_error(
			    e, nt, 0,
			    "Expected to find '{{cloze:Text}}' or similar on the front and "
			    "back of the card template.");
	}
	return ST_OK;
}

/* Make names unique (unicase) by appending '+'. */
static enum status uniquify(char **names, size_t n, struct errinfo *e)
{
	for (size_t i = 0; i < n; i++) {
		for (;;) {
			size_t j;
			for (j = 0; j < i; j++)
				if (unicase_compare(names[i], -1, names[j], -1) == 0)
					break;
			if (j == i)
				break;
			size_t l = strlen(names[i]);
			char *p = realloc(names[i], l + 2);
			if (!p)
				return errinfo_set(e, ST_NOMEM, "out of memory");
			p[l] = '+';
			p[l + 1] = '\0';
			names[i] = p;
		}
	}
	return ST_OK;
}

static enum status update_reqs(struct notetype *nt, struct errinfo *e)
{
	const char **names = calloc(nt->nfields + 1, sizeof *names);
	struct text_slice *q = calloc(nt->ntemplates + 1, sizeof *q);
	struct card_requirement *reqs = calloc(nt->ntemplates + 1, sizeof *reqs);
	struct cardgen_notetype *cg = NULL;
	if (!names || !q || !reqs) {
		free(names);
		free(q);
		free(reqs);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	enum status st = ST_OK;
	for (size_t i = 0; i < nt->nfields; i++)
		names[i] = col_str(nt->fields[i].name);
	for (size_t i = 0; i < nt->ntemplates; i++) {
		q[i].p = col_str(nt->templates[i].cfg.q_format);
		q[i].len = strlen(q[i].p);
	}
	if (!st)
		st = cardgen_notetype_new(names, nt->nfields, q, nt->ntemplates, false, &cg, e);
	size_t nreq = 0;
	for (size_t i = 0; !st && i < nt->ntemplates; i++) {
		struct cardgen_req r;
		st = cardgen_requirements(cg, i, &r, e);
		if (st)
			break;
		reqs[i].card_ord = (uint32_t)i;
		reqs[i].kind = (int32_t)r.kind;
		reqs[i].field_ords = r.field_ords;
		reqs[i].nfield_ords = r.n;
		nreq++;
	}
	cardgen_notetype_free(cg);
	free(names);
	free(q);
	if (st) {
		for (size_t i = 0; i < nreq; i++)
			free(reqs[i].field_ords);
		free(reqs);
		return st;
	}
	for (size_t i = 0; i < nt->cfg.nreqs; i++)
		card_requirement_free(&nt->cfg.reqs[i]);
	free(nt->cfg.reqs);
	nt->cfg.reqs = reqs;
	nt->cfg.nreqs = nreq;
	return ST_OK;
}

/* Names, uniqueness, sort index, field references, reqs, checks.
 * old may be NULL (a new notetype). */
static enum status prepare(struct notetype *nt, const struct notetype *old,
                           const int32_t *field_src, struct errinfo *e)
{
	if (nt->nfields == 0)
		return errinfo_set(e, ST_INVALID, "1 field required");
	if (nt->ntemplates == 0)
		return errinfo_set(e, ST_INVALID, "1 template required");
	enum status st = clean_name(&nt->name, "\"", NULL, e);
	if (!st && !*col_str(nt->name))
		return errinfo_set(e, ST_INVALID, "Empty notetype name");
	for (size_t i = 0; !st && i < nt->nfields; i++) {
		st = clean_name(&nt->fields[i].name, ":{}\"", "#/^", e);
		if (!st && !*nt->fields[i].name)
			st = errinfo_set(e, ST_INVALID, "Empty field name");
	}
	for (size_t i = 0; !st && i < nt->ntemplates; i++) {
		st = clean_name(&nt->templates[i].name, "\"", NULL, e);
		if (!st && !*nt->templates[i].name)
			st = errinfo_set(e, ST_INVALID, "Empty template name");
	}
	if (st)
		return st;
	char **names = malloc((nt->nfields + nt->ntemplates + 1) * sizeof *names);
	if (!names)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < nt->ntemplates; i++)
		names[i] = nt->templates[i].name;
	st = uniquify(names, nt->ntemplates, e);
	for (size_t i = 0; i < nt->ntemplates; i++)
		nt->templates[i].name = names[i];
	for (size_t i = 0; !st && i < nt->nfields; i++)
		names[i] = nt->fields[i].name;
	if (!st) {
		st = uniquify(names, nt->nfields, e);
		for (size_t i = 0; i < nt->nfields; i++)
			nt->fields[i].name = names[i];
	}
	free(names);
	if (st)
		return st;
	/* sort field follows its field */
	if (old && field_src) {
		uint32_t sidx = nt->cfg.sort_field_idx;
		bool found = false;
		for (size_t i = 0; i < nt->nfields; i++)
			if (field_src[i] >= 0 &&
			    (uint32_t)field_src[i] == old->cfg.sort_field_idx) {
				sidx = (uint32_t)i;
				found = true;
			}
		if (!found && sidx >= nt->nfields)
			sidx = (uint32_t)nt->nfields - 1;
		nt->cfg.sort_field_idx = sidx;
	} else if (nt->cfg.sort_field_idx >= nt->nfields) {
		nt->cfg.sort_field_idx = (uint32_t)nt->nfields - 1;
	}
	st = update_reqs(nt, e);
	/* renamed and removed fields in the templates */
	if (!st && old && field_src) {
		struct buf b;
		buf_init(&b, 0);
		for (size_t of = 0; !st && of < old->nfields; of++) {
			const char *oname = col_str(old->fields[of].name);
			const char *nname = NULL;
			for (size_t i = 0; i < nt->nfields; i++)
				if (field_src[i] == (int32_t)of)
					nname = col_str(nt->fields[i].name);
			if (nname && strcmp(nname, oname) == 0)
				continue;
			for (size_t t = 0; !st && t < nt->ntemplates; t++) {
				char **sides[2] = {&nt->templates[t].cfg.q_format,
				                   &nt->templates[t].cfg.a_format};
				for (int s = 0; s < 2 && !st; s++) {
					st = col_template_rename_field(*sides[s], oname, nname, &b,
					                               e);
					if (!st) {
						char *x = strdup((const char *)b.data);
						if (!x) {
							st = errinfo_set(e, ST_NOMEM,
							                 "out of memory");
						} else {
							free(*sides[s]);
							*sides[s] = x;
						}
					}
				}
			}
		}
		buf_free(&b);
	}
	if (!st)
		st = check_templates(nt, e);
	return st;
}

/* ---- saving ---- */

static bool fields_moved(const struct col_ntedit *ed)
{
	if (ed->nt.nfields != ed->old.nfields)
		return true;
	for (size_t i = 0; i < ed->nt.nfields; i++)
		if (ed->field_src[i] != (int32_t)i)
			return true;
	return false;
}

static bool templates_moved(const struct col_ntedit *ed)
{
	if (ed->nt.ntemplates != ed->old.ntemplates)
		return true;
	for (size_t i = 0; i < ed->nt.ntemplates; i++)
		if (ed->tmpl_src[i] != (int32_t)i)
			return true;
	return false;
}

static bool schema_changed(const struct col_ntedit *ed)
{
	if (fields_moved(ed) || templates_moved(ed))
		return true;
	for (size_t i = 0; i < ed->nt.nfields; i++)
		if (strcmp(col_str(ed->nt.fields[i].name), col_str(ed->old.fields[i].name)) != 0)
			return true;
	for (size_t i = 0; i < ed->nt.ntemplates; i++)
		if (strcmp(col_str(ed->nt.templates[i].name), col_str(ed->old.templates[i].name)) !=
		    0)
			return true;
	return false;
}

/* Rewrite every note of the notetype: fields moved to their new places
 * (new fields empty), sort field and checksum recomputed. */
static enum status update_notes(struct col *c, const struct col_ntedit *ed, bool reorder,
                                struct errinfo *e)
{
	int64_t *nids = NULL;
	size_t nn = 0;
	int64_t *cap = NULL;
	enum status st = ST_OK;
	{
		sqlite3_stmt *q;
		int rc = sqlite3_prepare_v2(col_db(c), "select id from notes where mid = ?1", -1,
		                            &q, NULL);
		if (rc != SQLITE_OK)
			return col_sqlite_err(col_db(c), rc, e, "listing notes");
		sqlite3_bind_int64(q, 1, ed->nt.id);
		size_t capn = 0;
		while (sqlite3_step(q) == SQLITE_ROW) {
			if (nn == capn) {
				capn = capn ? 2 * capn : 256;
				cap = realloc(nids, capn * sizeof *cap);
				if (!cap) {
					st = errinfo_set(e, ST_NOMEM, "out of memory");
					break;
				}
				nids = cap;
			}
			nids[nn++] = sqlite3_column_int64(q, 0);
		}
		sqlite3_finalize(q);
	}
	struct buf joined;
	buf_init(&joined, 0);
	for (size_t i = 0; !st && i < nn; i++) {
		struct note n;
		st = col_note_get(c, nids[i], &n, e);
		if (st)
			break;
		if (reorder) {
			struct text_slice *f = NULL;
			size_t nf = 0;
			st = text_fields_split(n.flds, strlen(n.flds), 0, &f, &nf, e);
			buf_reset(&joined);
			for (size_t k = 0; !st && k < ed->nt.nfields; k++) {
				if (k > 0)
					st = buf_append(&joined, "\x1f", 1, e);
				int32_t src = ed->field_src[k];
				if (!st && src >= 0 && (size_t)src < nf)
					st = buf_append(&joined, f[src].p, f[src].len, e);
			}
			if (!st && !joined.data)
				st = buf_append(&joined, "", 0, e);
			free(f);
			if (!st) {
				free(n.flds);
				n.flds = strdup((const char *)joined.data);
				if (!n.flds)
					st = errinfo_set(e, ST_NOMEM, "out of memory");
			}
		}
		if (!st)
			st = col_note_update(c, &n, e);
		note_free(&n);
	}
	buf_free(&joined);
	free(nids);
	return st;
}

static enum status update_cards(struct col *c, const struct col_ntedit *ed, struct errinfo *e)
{
	/* cards of removed templates */
	enum status st = ST_OK;
	for (size_t o = 0; !st && o < ed->old.ntemplates; o++) {
		bool kept = false;
		for (size_t i = 0; i < ed->nt.ntemplates; i++)
			if (ed->tmpl_src[i] == (int32_t)o)
				kept = true;
		if (kept)
			continue;
		sqlite3_stmt *q;
		int rc = sqlite3_prepare_v2(col_db(c),
		                            "select c.id from cards c join notes n on c.nid = n.id "
		                            "where n.mid = ?1 and c.ord = ?2",
		                            -1, &q, NULL);
		if (rc != SQLITE_OK)
			return col_sqlite_err(col_db(c), rc, e, "listing cards");
		sqlite3_bind_int64(q, 1, ed->nt.id);
		sqlite3_bind_int64(q, 2, (int64_t)o);
		int64_t *ids = NULL;
		size_t n = 0, cap = 0;
		while (sqlite3_step(q) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				int64_t *v = realloc(ids, cap * sizeof *v);
				if (!v) {
					st = errinfo_set(e, ST_NOMEM, "out of memory");
					break;
				}
				ids = v;
			}
			ids[n++] = sqlite3_column_int64(q, 0);
		}
		sqlite3_finalize(q);
		if (!st)
			st = col_cards_remove(c, ids, n, e);
		free(ids);
	}
	/* renumber moved templates in one statement (a CASE over old ords) */
	bool moved = false;
	for (size_t i = 0; i < ed->nt.ntemplates; i++)
		if (ed->tmpl_src[i] >= 0 && ed->tmpl_src[i] != (int32_t)i)
			moved = true;
	if (!st && moved && ed->nt.cfg.kind != NOTETYPE_KIND_CLOZE) {
		struct buf sql;
		buf_init(&sql, 0);
		st = buf_append_str(&sql, "update cards set ord = case ord", e);
		for (size_t i = 0; !st && i < ed->nt.ntemplates; i++)
			if (ed->tmpl_src[i] >= 0)
				st = buf_printf(&sql, e, " when %d then %zu", ed->tmpl_src[i], i);
		if (!st)
			st = buf_append_str(&sql,
			                    " else ord end, mod = ?2, usn = ?3 where nid in "
			                    "(select id from notes where mid = ?1)",
			                    e);
		if (!st) {
			sqlite3_stmt *u;
			int rc =
			    sqlite3_prepare_v2(col_db(c), (const char *)sql.data, -1, &u, NULL);
			if (rc != SQLITE_OK) {
				st = col_sqlite_err(col_db(c), rc, e, "renumbering cards");
			} else {
				sqlite3_bind_int64(u, 1, ed->nt.id);
				sqlite3_bind_int64(u, 2, col_now_secs());
				sqlite3_bind_int(u, 3, col_usn(c));
				rc = sqlite3_step(u);
				sqlite3_finalize(u);
				if (rc != SQLITE_DONE)
					st = col_sqlite_err(col_db(c), rc, e, "renumbering cards");
			}
		}
		buf_free(&sql);
	}
	return st;
}

/* Do new or changed fronts give notes new cards? */
static bool fronts_changed(const struct col_ntedit *ed)
{
	for (size_t i = 0; i < ed->nt.ntemplates; i++) {
		int32_t s = ed->tmpl_src[i];
		if (s < 0)
			return true;
		if (strcmp(col_str(ed->nt.templates[i].cfg.q_format),
		           col_str(ed->old.templates[s].cfg.q_format)) != 0)
			return true;
	}
	return false;
}

static enum status generate_all(struct col *c, int64_t mid, struct errinfo *e)
{
	struct col_ntinfo info;
	enum status st = col_ntinfo_load(c, mid, &info, e);
	if (st)
		return st;
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(col_db(c), "select id from notes where mid = ?1", -1, &q, NULL);
	if (rc != SQLITE_OK) {
		col_ntinfo_free(&info);
		return col_sqlite_err(col_db(c), rc, e, "listing notes");
	}
	sqlite3_bind_int64(q, 1, mid);
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			int64_t *v = realloc(ids, cap * sizeof *v);
			if (!v) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			ids = v;
		}
		ids[n++] = sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	for (size_t i = 0; !st && i < n; i++) {
		struct note note;
		st = col_note_get(c, ids[i], &note, e);
		if (!st)
			st = col_notegen_missing_cards(c, &info, &note, 0, NULL, e);
		note_free(&note);
	}
	free(ids);
	col_ntinfo_free(&info);
	return st;
}

enum status col_ntedit_save(struct col *c, struct col_ntedit *ed, struct errinfo *e)
{
	enum status st = prepare(&ed->nt, &ed->old, ed->field_src, e);
	if (st)
		return st;
	int64_t now = col_now_secs();
	int32_t usn = col_usn(c);
	for (size_t i = 0; i < ed->nt.ntemplates; i++) {
		int32_t s = ed->tmpl_src[i];
		struct nt_template *t = &ed->nt.templates[i];
		if (s < 0 || strcmp(col_str(t->name), col_str(ed->old.templates[s].name)) != 0 ||
		    strcmp(col_str(t->cfg.q_format), col_str(ed->old.templates[s].cfg.q_format)) !=
		        0 ||
		    strcmp(col_str(t->cfg.a_format), col_str(ed->old.templates[s].cfg.a_format)) !=
		        0) {
			t->mtime = now;
			t->usn = usn;
		}
	}
	ed->nt.mtime = now;
	ed->nt.usn = usn;
	bool schema = schema_changed(ed);
	bool reorder = fields_moved(ed);
	bool sort_moved = ed->nt.cfg.sort_field_idx != ed->old.cfg.sort_field_idx;
	st = col_store_notetype(c, &ed->nt, COL_STORE_NORMAL, e);
	if (!st && (reorder || sort_moved))
		st = update_notes(c, ed, reorder, e);
	if (!st && templates_moved(ed))
		st = update_cards(c, ed, e);
	if (!st && fronts_changed(ed) && ed->nt.cfg.kind != NOTETYPE_KIND_CLOZE)
		st = generate_all(c, ed->nt.id, e);
	if (!st)
		st = schema ? col_touch_schema(c, e) : col_touch(c, e);
	return st;
}

enum status col_ntedit_add_new(struct col *c, struct notetype *nt, struct errinfo *e)
{
	enum status st = prepare(nt, NULL, NULL, e);
	if (st)
		return st;
	if (!nt->id) {
		st = col_alloc_id(c, "notetypes", col_now_ms(), &nt->id, e);
		if (st)
			return st;
	}
	/* pylib's ensure_name_unique: "-" and five hex digits of a checksum */
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(
	    col_db(c), "select 1 from notetypes where name = ?1 and id != ?2", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, "checking a notetype name");
	sqlite3_bind_text(q, 1, nt->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, nt->id);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc == SQLITE_ROW) {
		char t[64], hex[41];
		snprintf(t, sizeof t, "%lld.%lld", (long long)col_now_secs(),
		         (long long)col_now_ms());
		uint32_t h = text_checksum_stripped(t, strlen(t));
		snprintf(hex, sizeof hex, "%08x", h);
		size_t l = strlen(nt->name);
		char *p = realloc(nt->name, l + 7);
		if (!p)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		snprintf(p + l, 7, "-%.5s", hex);
		nt->name = p;
	}
	int64_t now = col_now_secs();
	nt->mtime = now;
	nt->usn = col_usn(c);
	for (size_t i = 0; i < nt->ntemplates; i++) {
		nt->templates[i].mtime = now;
		nt->templates[i].usn = nt->usn;
	}
	st = col_store_notetype(c, nt, COL_STORE_NORMAL, e);
	if (!st) {
		json_t *v = json_integer(nt->id);
		st = v ? col_config_set(c, "curModel", v, e)
		       : errinfo_set(e, ST_NOMEM, "out of memory");
		json_decref(v);
	}
	if (!st)
		st = col_touch(c, e);
	return st;
}

/* The stock CSS and LaTeX (collection-format.md §5.4). */
static const char stock_css[] = ".card {\n"
                                "    font-family: arial;\n"
                                "    font-size: 20px;\n"
                                "    line-height: 1.5;\n"
                                "    text-align: center;\n"
                                "    color: black;\n"
                                "    background-color: white;\n"
                                "}\n";
static const char stock_latex_pre[] = "\\documentclass[12pt]{article}\n"
                                      "\\special{papersize=3in,5in}\n"
                                      "\\usepackage[utf8]{inputenc}\n"
                                      "\\usepackage{amssymb,amsmath}\n"
                                      "\\pagestyle{empty}\n"
                                      "\\setlength{\\parindent}{0in}\n"
                                      "\\begin{document}\n";
static const char stock_latex_post[] = "\\end{document}";

enum status col_ntedit_new_notetype(struct notetype *out, const char *name, bool cloze,
                                    struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	out->name = strdup(name);
	out->cfg.css = strdup(stock_css);
	out->cfg.latex_pre = strdup(stock_latex_pre);
	out->cfg.latex_post = strdup(stock_latex_post);
	out->cfg.kind = cloze ? NOTETYPE_KIND_CLOZE : NOTETYPE_KIND_NORMAL;
	out->cfg.original_stock_kind = STOCK_KIND_BASIC;
	if (!out->name || !out->cfg.css || !out->cfg.latex_pre || !out->cfg.latex_post) {
		notetype_free(out);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	return ST_OK;
}
