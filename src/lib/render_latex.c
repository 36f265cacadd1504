/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_latex.c - LaTeX image links (render_latex.h; rslib/src/latex.rs).
 *
 * The pattern is three alternatives tried in order at each '[', each a
 * lazy match up to the first closing tag at least one byte later, so a
 * match is "opening tag here, and a closer somewhere after".  Closers are
 * looked up with one cached search per kind; the query positions only
 * grow, which keeps the pass linear.
 *
 * Anki's newline pattern is written in verbose mode, where the space in
 * "<br( /)?>" is ignored: "<br>" and "<br/>" become newlines but
 * "<br />" is simply stripped as a tag.  We do the same.
 */
#include "render_latex.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#include "render_html.h"

#define NONE SIZE_MAX

static bool ci_at(const char *s, size_t n, size_t i, const char *lit)
{
	size_t l = strlen(lit);
	if (n - i < l)
		return false;
	for (size_t k = 0; k < l; k++)
		if (tolower((unsigned char)s[i + k]) != lit[k])
			return false;
	return true;
}

struct finder {
	const char *lit;
	size_t from, res;
	bool valid;
};

static size_t find(struct finder *f, const char *s, size_t n, size_t x)
{
	if (f->valid && x >= f->from && (f->res == NONE || x <= f->res))
		return f->res;
	size_t r = NONE;
	for (size_t i = x; i < n; i++) {
		const char *p = memchr(s + i, '[', n - i);
		if (!p)
			break;
		i = (size_t)(p - s);
		if (ci_at(s, n, i, f->lit)) {
			r = i;
			break;
		}
	}
	f->from = x;
	f->res = r;
	f->valid = true;
	return r;
}

/* <br>, <br/> and <div> (any case) to newlines. */
static enum status newlines(const char *s, size_t n, struct buf *out, struct errinfo *e)
{
	size_t run = 0;
	enum status st = ST_OK;
	for (size_t i = 0; i < n && st == ST_OK; i++) {
		if (s[i] != '<')
			continue;
		size_t l = ci_at(s, n, i, "<br>")    ? 4
		           : ci_at(s, n, i, "<br/>") ? 5
		           : ci_at(s, n, i, "<div>") ? 5
		                                     : 0;
		if (!l)
			continue;
		if ((st = buf_append(out, s + run, i - run, e)) == ST_OK)
			st = buf_append_str(out, "\n", e);
		i += l - 1;
		run = i + 1;
	}
	return st == ST_OK ? buf_append(out, s + run, n - run, e) : st;
}

static enum status img_link(const char *pre, const char *body, size_t blen, const char *post,
                            bool svg, struct buf *out, struct errinfo *e)
{
	struct buf raw, nl, txt;
	buf_init(&raw, out->cap);
	buf_init(&nl, out->cap);
	buf_init(&txt, out->cap);
	enum status st = buf_append_str(&raw, pre, e);
	if (st == ST_OK)
		st = buf_append(&raw, body, blen, e);
	if (st == ST_OK)
		st = buf_append_str(&raw, post, e);
	if (st == ST_OK)
		st = newlines((const char *)raw.data, raw.len, &nl, e);
	if (st == ST_OK)
		st = render_html_strip((const char *)nl.data, nl.len, &txt, e);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (st == ST_OK && !EVP_Digest(txt.data, txt.len, md, &mdlen, EVP_sha1(), NULL))
		st = errinfo_set(e, ST_INTERNAL, "SHA-1 failed");
	if (st == ST_OK)
		st = buf_append_str(out, "<img class=latex alt=\"", e);
	if (st == ST_OK)
		st = render_html_encode_attribute((const char *)txt.data, txt.len, out, e);
	if (st == ST_OK)
		st = buf_append_str(out, "\" src=\"latex-", e);
	for (unsigned i = 0; i < mdlen && st == ST_OK; i++)
		st = buf_printf(out, e, "%02x", md[i]);
	if (st == ST_OK)
		st = buf_append_str(out, svg ? ".svg\">" : ".png\">", e);
	buf_free(&raw);
	buf_free(&nl);
	buf_free(&txt);
	return st;
}

enum status render_latex_extract(const char *in, size_t len, bool svg, struct buf *out,
                                 size_t *count, struct errinfo *e)
{
	static const struct {
		const char *open, *close, *pre, *post;
	} kinds[] = {
	    {"[latex]", "[/latex]", "", ""},
	    {"[$]", "[/$]", "$", "$"},
	    {"[$$]", "[/$$]", "\\begin{displaymath}", "\\end{displaymath}"},
	};
	struct finder f[3] = {{.lit = "[/latex]"}, {.lit = "[/$]"}, {.lit = "[/$$]"}};
	size_t pos = 0, run = 0, nfound = 0;
	enum status st = ST_OK;
	while (pos < len && st == ST_OK) {
		const char *p = memchr(in + pos, '[', len - pos);
		if (!p)
			break;
		size_t i = (size_t)(p - in), end = NONE;
		for (int k = 0; k < 3 && end == NONE; k++) {
			size_t ol = strlen(kinds[k].open);
			if (!ci_at(in, len, i, kinds[k].open))
				continue;
			size_t c = find(&f[k], in, len, i + ol + 1);
			if (c == NONE)
				continue;
			if ((st = buf_append(out, in + run, i - run, e)) == ST_OK)
				st = img_link(kinds[k].pre, in + i + ol, c - i - ol, kinds[k].post,
				              svg, out, e);
			end = c + strlen(kinds[k].close);
			nfound++;
		}
		pos = end == NONE ? i + 1 : end;
		if (end != NONE)
			run = end;
	}
	if (st == ST_OK)
		st = buf_append(out, in + run, len - run, e);
	if (count)
		*count = nfound;
	return st;
}
