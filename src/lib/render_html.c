/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_html.c - HTML escaping (the two htmlescape 0.3 encoders Anki
 * uses in rslib: encode_minimal for template error details,
 * encode_attribute for data-cloze, LaTeX alt text and image occlusion
 * text) and strip_html built from the text.c steps.
 *
 * Escaping walks characters as UTF-8; a character of U+0080..U+00FF is
 * written as &#xHH; of its code point by encode_attribute, which is why
 * decoding is needed at all.  Runs of bytes that need no escaping are
 * copied in one append.
 */
#include "render_html.h"

#include <string.h>

#include "text.h"

static const char *minimal_entity(unsigned char c)
{
	switch (c) {
	case '"':
		return "&quot;";
	case '&':
		return "&amp;";
	case '\'':
		return "&#x27;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	default:
		return NULL;
	}
}

enum status render_html_encode_minimal(const char *in, size_t len, struct buf *out,
                                       struct errinfo *e)
{
	size_t run = 0;
	enum status st;
	for (size_t i = 0; i < len; i++) {
		const char *ent = minimal_entity((unsigned char)in[i]);
		if (!ent)
			continue;
		if ((st = buf_append(out, in + run, i - run, e)) != ST_OK ||
		    (st = buf_append_str(out, ent, e)) != ST_OK)
			return st;
		run = i + 1;
	}
	return buf_append(out, in + run, len - run, e);
}

static bool ascii_alnum(int32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

enum status render_html_encode_attribute(const char *in, size_t len, struct buf *out,
                                         struct errinfo *e)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)in;
	size_t run = 0, i = 0;
	enum status st;
	while (i < len) {
		size_t adv = 1;
		int32_t cp = s[i];
		bool valid = true;
		if (cp >= 0x80) {
			cp = text_utf8_decode(s + i, len - i, &adv);
			/* an ill-formed byte decodes as U+FFFD: copy it as it is */
			valid = !(cp == 0xFFFD && !(adv == 3 && s[i] == 0xEF && s[i + 1] == 0xBF &&
			                            s[i + 2] == 0xBD));
		}
		const char *ent = cp < 0x80 ? minimal_entity((unsigned char)cp) : NULL;
		if (!valid || (!ent && (cp >= 0x100 || ascii_alnum(cp)))) {
			i += adv;
			continue;
		}
		if ((st = buf_append(out, s + run, i - run, e)) != ST_OK)
			return st;
		if (ent) {
			st = buf_append_str(out, ent, e);
		} else {
			char h[6] = {'&', '#', 'x', hex[(cp >> 4) & 15], hex[cp & 15], ';'};
			st = buf_append(out, h, sizeof h, e);
		}
		if (st != ST_OK)
			return st;
		i += adv;
		run = i;
	}
	return buf_append(out, s + run, len - run, e);
}

const char *render_html_find(const char *s, size_t n, const char *lit, size_t llen)
{
	const char *end = s + n;
	while (s && (size_t)(end - s) >= llen) {
		s = memchr(s, lit[0], (size_t)(end - s) - llen + 1);
		if (!s)
			return NULL;
		if (memcmp(s, lit, llen) == 0)
			return s;
		s++;
	}
	return NULL;
}

/* text.c's steps replace their output; ours append. */
static enum status append_via(enum status (*fn)(const char *, size_t, struct buf *,
                                                struct errinfo *),
                              const char *in, size_t len, struct buf *out, struct errinfo *e)
{
	struct buf tmp;
	buf_init(&tmp, out->cap);
	enum status st = fn(in, len, &tmp, e);
	if (st == ST_OK)
		st = buf_append(out, tmp.data, tmp.len, e);
	buf_free(&tmp);
	return st;
}

enum status render_html_strip_tags(const char *in, size_t len, struct buf *out, struct errinfo *e)
{
	return append_via(text_strip_html_tags, in, len, out, e);
}

enum status render_html_strip(const char *in, size_t len, struct buf *out, struct errinfo *e)
{
	struct buf a, b;
	buf_init(&a, out->cap);
	buf_init(&b, out->cap);
	enum status st = text_strip_html_tags(in, len, &a, e);
	if (st == ST_OK)
		st = text_decode_entities((const char *)a.data, a.len, &b, NULL, e);
	if (st == ST_OK)
		st = buf_append(out, b.data, b.len, e);
	buf_free(&a);
	buf_free(&b);
	return st;
}
