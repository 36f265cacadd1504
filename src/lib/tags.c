/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * tags.c - canonical note tags (collection-format.md §6.1; the rules of
 * Anki's rslib/src/tags/register.rs and tags/mod.rs).
 *
 * Order of operations per "::" component, as Anki does it: NFC first,
 * then removal of ASCII control characters and separators, then trimming
 * of Unicode White_Space (Rust's str::trim), then "" -> "blank".
 * De-duplication keeps the first spelling of each unicase-equal tag; the
 * result is sorted with unicase_compare.  Both are done by one stable
 * sort, so hostile inputs with many tags stay O(n log n).
 */
#include "tags.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "unicase.h"

bool tags_is_separator(const char *s, size_t len, size_t *adv)
{
	const unsigned char *u = (const unsigned char *)s;
	if (len >= 1 && u[0] == ' ') {
		*adv = 1;
		return true;
	}
	if (len >= 3 && u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80) {
		*adv = 3;
		return true;
	}
	return false;
}

void tags_list_free(struct tags_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Append the normalised form of one component. */
static enum status normalize_component(const char *comp, size_t len, struct buf *out,
                                       struct errinfo *e)
{
	struct buf lossy, nfc;
	enum status st;
	buf_init(&lossy, 0);
	buf_init(&nfc, 0);
	if ((st = text_utf8_lossy(comp, len, &lossy, e)) != ST_OK ||
	    (st = text_nfc((const char *)lossy.data, lossy.len, &nfc, e)) != ST_OK)
		goto done;

	/* drop control characters and separators in place */
	const unsigned char *s = nfc.data;
	size_t n = nfc.len, w = 0;
	for (size_t i = 0; i < n;) {
		size_t adv;
		if (s[i] < 0x20 || s[i] == 0x7F) {
			i++;
		} else if (tags_is_separator((const char *)s + i, n - i, &adv)) {
			i += adv;
		} else {
			(void)text_utf8_decode(s + i, n - i, &adv);
			memmove(nfc.data + w, s + i, adv);
			w += adv;
			i += adv;
		}
	}
	n = w;

	/* trim White_Space at both ends */
	size_t a = 0, b = n;
	while (a < b) {
		size_t adv;
		if (!text_is_white_space(text_utf8_decode(s + a, b - a, &adv)))
			break;
		a += adv;
	}
	while (b > a) {
		size_t start = b - 1;
		while (start > a && (s[start] & 0xC0) == 0x80 && b - start < 4)
			start--;
		size_t adv;
		int32_t cp = text_utf8_decode(s + start, b - start, &adv);
		if (start + adv != b || !text_is_white_space(cp))
			break;
		b = start;
	}
	if (a == b)
		st = buf_append_str(out, "blank", e);
	else
		st = buf_append(out, s + a, b - a, e);
done:
	buf_free(&lossy);
	buf_free(&nfc);
	return st;
}

enum status tags_normalize_name(const char *tag, size_t len, struct buf *out, struct errinfo *e)
{
	enum status st;
	size_t start = 0;
	buf_reset(out);
	for (size_t i = 0; i <= len; i++) {
		if (i < len && !(i + 1 < len && tag[i] == ':' && tag[i + 1] == ':'))
			continue;
		if (start && (st = buf_append(out, "::", 2, e)) != ST_OK)
			return st;
		if ((st = normalize_component(tag + start, i - start, out, e)) != ST_OK)
			return st;
		start = i + 2;
		i++; /* skip the second ':' */
	}
	return ST_OK;
}

/* Number of non-overlapping "::" in s, counted left to right. */
static size_t count_seps(const char *s)
{
	size_t n = 0;
	for (const char *p = strstr(s, "::"); p; p = strstr(p + 2, "::"))
		n++;
	return n;
}

/* Anki's adjusted_case_for_parents: the closest registered parent's
 * spelling followed by the tag's own remaining components.  NULL result
 * (ST_OK) when no parent is registered. */
static enum status adopt_parent_case(const char *tag, const struct tags_registry *reg,
                                     char **result, struct errinfo *e)
{
	*result = NULL;
	size_t len = strlen(tag);
	char *parent = strdup(tag);
	if (!parent)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	const char *found = NULL;
	for (;;) {
		/* immediate parent: everything before the last "::" */
		char *cut = NULL;
		for (char *p = strstr(parent, "::"); p; p = strstr(p + 1, "::"))
			cut = p;
		if (!cut)
			break;
		*cut = '\0';
		if ((found = reg->lookup(reg->ctx, parent)) != NULL)
			break;
	}
	free(parent);
	if (!found)
		return ST_OK;

	/* the tag's components from index (separators in parent + 1) on */
	size_t skip = count_seps(found) + 1, idx = 0;
	const char *rest = tag + len;
	for (const char *p = tag; idx < skip;) {
		const char *sep = strstr(p, "::");
		if (!sep) {
			rest = tag + len;
			break;
		}
		p = sep + 2;
		rest = p;
		idx++;
	}
	size_t flen = strlen(found), rlen = strlen(rest);
	char *out = malloc(flen + 2 + rlen + 1);
	if (!out)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	memcpy(out, found, flen);
	memcpy(out + flen, "::", 2);
	memcpy(out + flen + 2, rest, rlen + 1);
	*result = out;
	return ST_OK;
}

struct ordered_tag {
	char *name;
	size_t seq; /* input order: the first spelling wins */
};

static int ordered_cmp(const void *a, const void *b)
{
	const struct ordered_tag *x = a, *y = b;
	int c = unicase_compare(x->name, -1, y->name, -1);
	if (c)
		return c;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Canonical spelling of one normalised tag; registers it when new. */
static enum status resolve(const char *norm, const struct tags_registry *reg, char **name,
                           bool *added, struct errinfo *e)
{
	enum status st;
	*name = NULL;
	if (reg && reg->lookup) {
		const char *existing = reg->lookup(reg->ctx, norm);
		if (existing) {
			*name = strdup(existing);
			return *name ? ST_OK : errinfo_set(e, ST_NOMEM, "out of memory");
		}
		if ((st = adopt_parent_case(norm, reg, name, e)) != ST_OK)
			return st;
	}
	if (!*name && !(*name = strdup(norm)))
		return errinfo_set(e, ST_NOMEM, "out of memory");
	if (reg && reg->add) {
		if ((st = reg->add(reg->ctx, *name, e)) != ST_OK) {
			free(*name);
			*name = NULL;
			return st;
		}
		if (added)
			*added = true;
	}
	return ST_OK;
}

enum status tags_canonify(const char *const *inputs, const size_t *lens, size_t ninputs,
                          const struct tags_registry *reg, size_t max_tags, struct tags_list *out,
                          bool *added, struct errinfo *e)
{
	struct ordered_tag *v = NULL;
	size_t n = 0, cap = 0;
	struct buf norm;
	enum status st = ST_OK;

	out->v = NULL;
	out->n = 0;
	if (added)
		*added = false;
	buf_init(&norm, 0);
	for (size_t k = 0; k < ninputs && st == ST_OK; k++) {
		const char *s = inputs[k];
		size_t len = lens[k], i = 0;
		while (i < len && st == ST_OK) {
			size_t adv, start = i;
			while (i < len && !tags_is_separator(s + i, len - i, &adv))
				i++;
			size_t end = i;
			if (i < len)
				i += adv;
			if (end == start)
				continue;
			if (max_tags && n >= max_tags) {
				st = errinfo_set(e, ST_TOOBIG, "more than %zu tags", max_tags);
				break;
			}
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				struct ordered_tag *nv = realloc(v, ncap * sizeof *nv);
				if (!nv) {
					st = errinfo_set(e, ST_NOMEM, "out of memory");
					break;
				}
				v = nv;
				cap = ncap;
			}
			if ((st = tags_normalize_name(s + start, end - start, &norm, e)) != ST_OK)
				break;
			/* a NUL inside a tag was removed as a control character, so
			 * norm is a proper C string */
			if ((st = resolve((const char *)norm.data, reg, &v[n].name, added, e)) !=
			    ST_OK)
				break;
			v[n].seq = n;
			n++;
		}
	}
	buf_free(&norm);
	if (st != ST_OK) {
		for (size_t i = 0; i < n; i++)
			free(v[i].name);
		free(v);
		return st;
	}

	if (n > 1)
		qsort(v, n, sizeof *v, ordered_cmp);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && unicase_compare(v[w - 1].name, -1, v[i].name, -1) == 0) {
			free(v[i].name); /* a later duplicate: the first spelling stays */
			continue;
		}
		v[w++] = v[i];
	}
	if (w) {
		out->v = malloc(w * sizeof *out->v);
		if (!out->v) {
			for (size_t i = 0; i < w; i++)
				free(v[i].name);
			free(v);
			return errinfo_set(e, ST_NOMEM, "out of memory");
		}
		for (size_t i = 0; i < w; i++)
			out->v[i] = v[i].name;
	}
	out->n = w;
	free(v);
	return ST_OK;
}

enum status tags_join(const struct tags_list *l, struct buf *out, struct errinfo *e)
{
	enum status st;
	buf_reset(out);
	if ((st = buf_append(out, "", 0, e)) != ST_OK)
		return st;
	if (l->n == 0)
		return ST_OK;
	for (size_t i = 0; i < l->n; i++) {
		if ((st = buf_append(out, " ", 1, e)) != ST_OK ||
		    (st = buf_append_str(out, l->v[i], e)) != ST_OK)
			return st;
	}
	return buf_append(out, " ", 1, e);
}

enum status tags_canonify_string(const char *tags, size_t len, const struct tags_registry *reg,
                                 size_t max_tags, struct buf *out, bool *added, struct errinfo *e)
{
	struct tags_list l;
	enum status st = tags_canonify(&tags, &len, 1, reg, max_tags, &l, added, e);
	if (st != ST_OK)
		return st;
	st = tags_join(&l, out, e);
	tags_list_free(&l);
	return st;
}
