/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * text.c - note text rules (collection-format.md §6.1 and the empty-field
 * rule of §6.2): strip_html_preserving_media_filenames, csum, sfld, guid,
 * field split/join/cleaning.
 *
 * Anki implements the stripping with three Rust `regex` patterns
 * (rslib/src/text.rs: HTML_MEDIA_TAGS, HTML) and the htmlescape 0.3.1
 * decoder.  Rust's regex engine runs in linear time; a backtracking engine
 * (PCRE2) needs exponential time on HTML_MEDIA_TAGS for inputs such as
 * `<img "a"a"a"a...` because its `(?:[^>]|"[^"]+?"|'[^']+?')+?` group can
 * split quotes in many ways.  So the three patterns are matched here by
 * hand, reproducing leftmost-first (backtracking-priority) semantics
 * exactly but in linear time; tests/unit/test_text.c checks the result
 * against PCRE2 running the original patterns on thousands of inputs.
 *
 * Invariants: every position handed between helpers is a character
 * boundary under lossy UTF-8 decoding (ASCII bytes always are), so the
 * byte-level scans for ASCII delimiters are exact; output never grows
 * beyond the input (a media tag is longer than " name ").
 */
#include "text.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define NONE SIZE_MAX

/* ---- UTF-8 ---------------------------------------------------------- */

int32_t text_utf8_decode(const unsigned char *s, size_t n, size_t *adv)
{
	unsigned char c = s[0];
	size_t need;
	int32_t cp;
	unsigned char lo = 0x80, hi = 0xBF;

	*adv = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		cp = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		cp = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0xFFFD;
	}
	for (size_t i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*adv = i; /* the well-formed prefix becomes one U+FFFD */
			return 0xFFFD;
		}
		cp = (cp << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*adv = need + 1;
	return cp;
}

bool text_utf8_valid(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;
	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t adv;
		int32_t cp = text_utf8_decode(s + i, len - i, &adv);
		/* U+FFFD decoded from its own 3 bytes is fine; anything else
		 * that yields U+FFFD was ill-formed */
		if (cp == 0xFFFD &&
		    !(adv == 3 && s[i] == 0xEF && s[i + 1] == 0xBF && s[i + 2] == 0xBD))
			return false;
		i += adv;
	}
	return true;
}

/* Always appends, even 0 bytes, so that a successful result has storage
 * (data non-NULL, NUL-terminated) even when it is empty. */
static enum status put(struct buf *out, const void *p, size_t n, struct errinfo *e)
{
	return buf_append(out, p, n, e);
}

static enum status put_cp(struct buf *out, int32_t cp, struct errinfo *e)
{
	utf8proc_uint8_t tmp[4];
	utf8proc_ssize_t n = utf8proc_encode_char(cp, tmp);
	return put(out, tmp, (size_t)n, e);
}

enum status text_utf8_lossy(const char *in, size_t len, struct buf *out, struct errinfo *e)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, run = 0;
	enum status st;
	while (i < len) {
		size_t adv = 1;
		if (s[i] >= 0x80) {
			int32_t cp = text_utf8_decode(s + i, len - i, &adv);
			bool genuine =
			    adv == 3 && s[i] == 0xEF && s[i + 1] == 0xBF && s[i + 2] == 0xBD;
			if (cp == 0xFFFD && !genuine) {
				if ((st = put(out, s + run, i - run, e)) != ST_OK ||
				    (st = put_cp(out, 0xFFFD, e)) != ST_OK)
					return st;
				run = i + adv;
			}
		}
		i += adv;
	}
	return put(out, s + run, len - run, e);
}

enum status text_nfc(const char *in, size_t len, struct buf *out, struct errinfo *e)
{
	if (len == 0)
		return put(out, "", 0, e);
	if ((utf8proc_ssize_t)len < 0)
		return errinfo_set(e, ST_TOOBIG, "text too long to normalise");
	utf8proc_uint8_t *dst = NULL;
	utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)len, &dst,
	                                  UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (n < 0) {
		free(dst);
		if (n == UTF8PROC_ERROR_NOMEM)
			return errinfo_set(e, ST_NOMEM, "NFC: out of memory");
		return errinfo_set(e, ST_INVALID, "NFC: %s", utf8proc_errmsg(n));
	}
	enum status st = put(out, dst, (size_t)n, e);
	free(dst);
	return st;
}

bool text_is_word_char(int32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		       (cp >= '0' && cp <= '9') || cp == '_';
	if (cp == 0x200C || cp == 0x200D) /* Join_Control */
		return true;
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_PC:
		return true;
	default:
		break;
	}
	/* Other_Alphabetic symbols (circled and squared Latin letters) */
	return (cp >= 0x24B6 && cp <= 0x24E9) || (cp >= 0x1F130 && cp <= 0x1F149) ||
	       (cp >= 0x1F150 && cp <= 0x1F169) || (cp >= 0x1F170 && cp <= 0x1F189);
}

bool text_is_white_space(int32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
	       cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static bool word_at(const unsigned char *s, size_t n, size_t pos)
{
	size_t adv;
	return pos < n && text_is_word_char(text_utf8_decode(s + pos, n - pos, &adv));
}

/*
 * Match the lower-case ASCII literal lit at s[pos..) the way a Unicode
 * case-insensitive regex does: letters in either case, and the two
 * non-ASCII characters whose simple case folding is ASCII, U+017F LONG S
 * (for 's') and U+212A KELVIN SIGN (for 'k').  Returns the end or NONE.
 */
static size_t ci_lit(const unsigned char *s, size_t n, size_t pos, const char *lit)
{
	for (; *lit; lit++) {
		unsigned char want = (unsigned char)*lit;
		if (pos >= n)
			return NONE;
		unsigned char c = s[pos];
		if (c == want || (want >= 'a' && want <= 'z' && c == want - 32)) {
			pos++;
		} else if (want == 's' && c == 0xC5 && pos + 1 < n && s[pos + 1] == 0xBF) {
			pos += 2;
		} else if (want == 'k' && c == 0xE2 && pos + 2 < n && s[pos + 1] == 0x84 &&
		           s[pos + 2] == 0xAA) {
			pos += 3;
		} else {
			return NONE;
		}
	}
	return pos;
}

static size_t find_byte(const unsigned char *s, size_t n, size_t from, unsigned char c)
{
	if (from >= n)
		return NONE;
	const unsigned char *p = memchr(s + from, c, n - from);
	return p ? (size_t)(p - s) : NONE;
}

static size_t last_byte(const unsigned char *s, size_t n, unsigned char c)
{
	const unsigned char *p = memrchr(s, c, n);
	return p ? (size_t)(p - s) : NONE;
}

/* ---- Step 1: media tags ----------------------------------------------
 *
 * HTML_MEDIA_TAGS, flags s, i, x (so the class written [^ >] is [^>]):
 *   <\b(?:img|audio|video|object|source)\b
 *   (?:[^>]|"[^"]+?"|'[^']+?')+?            -- the "gap"
 *   \b(?:src|data)\b=
 *   (?:"([^"]+?)"[^>]*> | '([^']+?)'[^>]*> | ([^>]+?)(?:\x20[^>]*>|>))
 *
 * A backtracking engine explores the gap depth-first: from a position it
 * first tries one [^>] character, then a "..." string, then a '...'
 * string, and after every step (at least one) it tries the rest of the
 * pattern.  Whether the rest matches, and which positions a step leads
 * to, depend only on the position, so a position that once failed fails
 * again: marking visited positions makes the search linear while keeping
 * the order, hence the match, of the backtracking engine.  The marks are
 * valid across start positions for the same reason.
 */

struct media_scan {
	const unsigned char *s;
	size_t n;
	size_t last_gt;         /* last '>' or NONE: nothing can match past it */
	unsigned char *visited; /* bitmap over positions 0..n */
	size_t *stack;
	size_t depth, cap;
};

static bool visited_test_set(struct media_scan *m, size_t pos)
{
	unsigned char bit = (unsigned char)(1u << (pos & 7));
	if (m->visited[pos >> 3] & bit)
		return true;
	m->visited[pos >> 3] |= bit;
	return false;
}

/* The value after `=`: q is the first byte of the value.  On success sets
 * the match end and the filename span. */
static bool media_value(const struct media_scan *m, size_t q, size_t *end, size_t *fs, size_t *fe)
{
	const unsigned char *s = m->s;
	size_t n = m->n;
	if (q >= n || m->last_gt == NONE || m->last_gt < q)
		return false; /* every alternative needs a later '>' */
	if (s[q] == '"' || s[q] == '\'') {
		size_t r = find_byte(s, n, q + 1, s[q]);
		if (r != NONE && r >= q + 2 && m->last_gt > r) {
			*fs = q + 1;
			*fe = r;
			*end = find_byte(s, n, r + 1, '>') + 1;
			return true;
		}
		/* falls through to the unquoted form, which accepts the quote */
	}
	if (s[q] == '>')
		return false;
	size_t adv;
	size_t e = q;
	(void)text_utf8_decode(s + e, n - e, &adv);
	e += adv;
	while (e < n) {
		if (s[e] == '>') {
			*fs = q;
			*fe = e;
			*end = e + 1;
			return true;
		}
		if (s[e] == ' ') {
			if (m->last_gt <= e)
				return false; /* no '>' after: the rest can only fail */
			*fs = q;
			*fe = e;
			*end = find_byte(s, n, e + 1, '>') + 1;
			return true;
		}
		(void)text_utf8_decode(s + e, n - e, &adv);
		e += adv;
	}
	return false;
}

/* `\b(?:src|data)\b=` then the value, at pos whose previous character is
 * a word character iff prev_word. */
static bool media_attr(const struct media_scan *m, size_t pos, bool prev_word, size_t *end,
                       size_t *fs, size_t *fe)
{
	if (prev_word)
		return false; /* 's'/'d' are word characters: no boundary */
	size_t q = ci_lit(m->s, m->n, pos, "src");
	if (q == NONE)
		q = ci_lit(m->s, m->n, pos, "data");
	/* the boundary after the name holds exactly when '=' follows */
	if (q == NONE || q >= m->n || m->s[q] != '=')
		return false;
	return media_value(m, q + 1, end, fs, fe);
}

static enum status media_push(struct media_scan *m, size_t pos, struct errinfo *e)
{
	if (m->depth == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		size_t *ns = realloc(m->stack, ncap * 2 * sizeof *ns);
		if (!ns)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		m->stack = ns;
		m->cap = ncap;
	}
	m->stack[m->depth * 2] = pos;
	m->stack[m->depth * 2 + 1] = 0; /* next alternative to try */
	m->depth++;
	return ST_OK;
}

/* Is there a match starting at the '<' at i? */
static enum status media_at(struct media_scan *m, size_t i, bool *found, size_t *end, size_t *fs,
                            size_t *fe, struct errinfo *e)
{
	static const char *const names[] = {"img", "audio", "video", "object", "source"};
	const unsigned char *s = m->s;
	size_t n = m->n, p0 = NONE;
	enum status st;

	*found = false;
	/* names start with distinct letters: at most one can match */
	for (size_t k = 0; k < sizeof names / sizeof names[0] && p0 == NONE; k++)
		p0 = ci_lit(s, n, i + 1, names[k]);
	if (p0 == NONE || p0 >= n || word_at(s, n, p0))
		return ST_OK; /* no name, or no boundary after it, or no gap */
	/* The start's own position is not marked: it is not tested against
	 * the rest of the pattern.  If an earlier start already reached it,
	 * everything reachable from it has failed. */
	if (m->visited[p0 >> 3] & (1u << (p0 & 7)))
		return ST_OK;
	m->depth = 0;
	if ((st = media_push(m, p0, e)) != ST_OK)
		return st;
	while (m->depth > 0) {
		size_t *f = &m->stack[(m->depth - 1) * 2];
		size_t p = f[0], alt = f[1]++, next = NONE;
		bool prev_word = false;
		if (alt == 0) {
			if (p < n && s[p] != '>') {
				size_t adv;
				prev_word = text_is_word_char(text_utf8_decode(s + p, n - p, &adv));
				next = p + adv;
			}
		} else if (alt == 1 || alt == 2) {
			unsigned char quote = alt == 1 ? '"' : '\'';
			if (p < n && s[p] == quote) {
				size_t r = find_byte(s, n, p + 1, quote);
				if (r != NONE && r >= p + 2)
					next = r + 1;
			}
		} else {
			m->depth--;
			continue;
		}
		if (next == NONE || visited_test_set(m, next))
			continue;
		if (media_attr(m, next, prev_word, end, fs, fe)) {
			*found = true;
			return ST_OK;
		}
		if ((st = media_push(m, next, e)) != ST_OK)
			return st;
	}
	return ST_OK;
}

enum status text_replace_media_tags(const char *in, size_t len, struct buf *out, struct errinfo *e)
{
	const unsigned char *s = (const unsigned char *)in;
	struct media_scan m = {.s = s, .n = len, .last_gt = last_byte(s, len, '>')};
	size_t pos = 0, copied = 0;
	enum status st = ST_OK;

	buf_reset(out);
	while (m.last_gt != NONE && pos < m.last_gt) {
		size_t i = find_byte(s, len, pos, '<');
		if (i == NONE || i > m.last_gt)
			break;
		if (!m.visited) {
			m.visited = calloc(len / 8 + 1, 1);
			if (!m.visited) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
		}
		bool found;
		size_t end = 0, fs = 0, fe = 0;
		if ((st = media_at(&m, i, &found, &end, &fs, &fe, e)) != ST_OK)
			break;
		if (!found) {
			pos = i + 1;
			continue;
		}
		if ((st = put(out, s + copied, i - copied, e)) != ST_OK ||
		    (st = put(out, " ", 1, e)) != ST_OK ||
		    (st = put(out, s + fs, fe - fs, e)) != ST_OK ||
		    (st = put(out, " ", 1, e)) != ST_OK)
			break;
		copied = pos = end;
	}
	if (st == ST_OK)
		st = put(out, s + copied, len - copied, e);
	free(m.visited);
	free(m.stack);
	return st;
}

/* ---- Step 2: other HTML ----------------------------------------------
 *
 * HTML, flags s, i:  <!--.*?--> | <style.*?>.*?</style> |
 *                    <script.*?>.*?</script> | <.*?>
 * Every alternative starts with '<' and needs a later '>', so the
 * leftmost match starts at the first '<' that has a '>' after it, and once
 * a '<' has none, nothing further can match.  At such a '<' the
 * alternatives are tried in order; for the block forms the first '>'
 * after the opening name is the only candidate worth trying (a later '>'
 * could only find the same or no closing tag).  Searches start at
 * non-decreasing positions, so each finder caches its last answer and the
 * whole pass is linear.
 */

struct finder {
	size_t from, res;
	bool valid;
};

/* Next '<' at or after x that starts the case-insensitive literal lit. */
static size_t find_ci(const unsigned char *s, size_t n, size_t x, const char *lit, size_t *mend)
{
	for (size_t i = find_byte(s, n, x, '<'); i != NONE; i = find_byte(s, n, i + 1, '<')) {
		size_t end = ci_lit(s, n, i, lit);
		if (end != NONE) {
			*mend = end;
			return i;
		}
	}
	return NONE;
}

/* Cached search; kind: 0 = '>', 1 = "-->", 2 = "</style>", 3 = "</script>". */
static size_t find_cached(struct finder *f, const unsigned char *s, size_t n, size_t x, int kind,
                          size_t *mend)
{
	static const char *const lits[] = {">", "-->", "</style>", "</script>"};
	if (f->valid && x >= f->from && (f->res == NONE || x <= f->res)) {
		if (f->res != NONE)
			*mend = kind == 0 ? f->res + 1 : ci_lit(s, n, f->res, lits[kind]);
		return f->res;
	}
	size_t r = NONE;
	if (kind == 0) {
		r = find_byte(s, n, x, '>');
		if (r != NONE)
			*mend = r + 1;
	} else if (kind == 1) {
		const unsigned char *p = x < n ? memmem(s + x, n - x, "-->", 3) : NULL;
		if (p) {
			r = (size_t)(p - s);
			*mend = r + 3;
		}
	} else {
		r = find_ci(s, n, x, lits[kind], mend);
	}
	f->from = x;
	f->res = r;
	f->valid = true;
	return r;
}

enum status text_strip_html_tags(const char *in, size_t len, struct buf *out, struct errinfo *e)
{
	const unsigned char *s = (const unsigned char *)in;
	struct finder fgt = {0}, fcom = {0}, fclose[2] = {{0}, {0}};
	static const char *const blocks[] = {"<style", "<script"};
	size_t pos = 0, copied = 0, mend = 0;
	enum status st;

	buf_reset(out);
	for (;;) {
		size_t i = find_byte(s, len, pos, '<');
		if (i == NONE || find_cached(&fgt, s, len, i + 1, 0, &mend) == NONE)
			break;
		size_t end = mend; /* <.*?> unless an earlier alternative matches */
		if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0 &&
		    find_cached(&fcom, s, len, i + 4, 1, &mend) != NONE) {
			end = mend;
		} else {
			for (int k = 0; k < 2; k++) {
				size_t j = ci_lit(s, len, i, blocks[k]);
				if (j == NONE)
					continue;
				size_t g = find_cached(&fgt, s, len, j, 0, &mend);
				if (g != NONE &&
				    find_cached(&fclose[k], s, len, g + 1, k + 2, &mend) != NONE) {
					end = mend;
					break;
				}
			}
		}
		if ((st = put(out, s + copied, i - copied, e)) != ST_OK)
			return st;
		copied = pos = end;
	}
	return put(out, s + copied, len - copied, e);
}

/* ---- Step 3: entities (htmlescape 0.3.1 decode_html) ---------------- */

/* The 252 named entities of HTML 4.01 (Latin-1, symbols, special), sorted
 * by byte order for bsearch.  htmlescape has no &apos;. */
struct entity {
	const char *name;
	int32_t cp;
};

static const struct entity entities[] = {
    {"AElig", 0x00C6},   {"Aacute", 0x00C1},   {"Acirc", 0x00C2},   {"Agrave", 0x00C0},
    {"Alpha", 0x0391},   {"Aring", 0x00C5},    {"Atilde", 0x00C3},  {"Auml", 0x00C4},
    {"Beta", 0x0392},    {"Ccedil", 0x00C7},   {"Chi", 0x03A7},     {"Dagger", 0x2021},
    {"Delta", 0x0394},   {"ETH", 0x00D0},      {"Eacute", 0x00C9},  {"Ecirc", 0x00CA},
    {"Egrave", 0x00C8},  {"Epsilon", 0x0395},  {"Eta", 0x0397},     {"Euml", 0x00CB},
    {"Gamma", 0x0393},   {"Iacute", 0x00CD},   {"Icirc", 0x00CE},   {"Igrave", 0x00CC},
    {"Iota", 0x0399},    {"Iuml", 0x00CF},     {"Kappa", 0x039A},   {"Lambda", 0x039B},
    {"Mu", 0x039C},      {"Ntilde", 0x00D1},   {"Nu", 0x039D},      {"OElig", 0x0152},
    {"Oacute", 0x00D3},  {"Ocirc", 0x00D4},    {"Ograve", 0x00D2},  {"Omega", 0x03A9},
    {"Omicron", 0x039F}, {"Oslash", 0x00D8},   {"Otilde", 0x00D5},  {"Ouml", 0x00D6},
    {"Phi", 0x03A6},     {"Pi", 0x03A0},       {"Prime", 0x2033},   {"Psi", 0x03A8},
    {"Rho", 0x03A1},     {"Scaron", 0x0160},   {"Sigma", 0x03A3},   {"THORN", 0x00DE},
    {"Tau", 0x03A4},     {"Theta", 0x0398},    {"Uacute", 0x00DA},  {"Ucirc", 0x00DB},
    {"Ugrave", 0x00D9},  {"Upsilon", 0x03A5},  {"Uuml", 0x00DC},    {"Xi", 0x039E},
    {"Yacute", 0x00DD},  {"Yuml", 0x0178},     {"Zeta", 0x0396},    {"aacute", 0x00E1},
    {"acirc", 0x00E2},   {"acute", 0x00B4},    {"aelig", 0x00E6},   {"agrave", 0x00E0},
    {"alefsym", 0x2135}, {"alpha", 0x03B1},    {"amp", 0x0026},     {"and", 0x2227},
    {"ang", 0x2220},     {"aring", 0x00E5},    {"asymp", 0x2248},   {"atilde", 0x00E3},
    {"auml", 0x00E4},    {"bdquo", 0x201E},    {"beta", 0x03B2},    {"brvbar", 0x00A6},
    {"bull", 0x2022},    {"cap", 0x2229},      {"ccedil", 0x00E7},  {"cedil", 0x00B8},
    {"cent", 0x00A2},    {"chi", 0x03C7},      {"circ", 0x02C6},    {"clubs", 0x2663},
    {"cong", 0x2245},    {"copy", 0x00A9},     {"crarr", 0x21B5},   {"cup", 0x222A},
    {"curren", 0x00A4},  {"dArr", 0x21D3},     {"dagger", 0x2020},  {"darr", 0x2193},
    {"deg", 0x00B0},     {"delta", 0x03B4},    {"diams", 0x2666},   {"divide", 0x00F7},
    {"eacute", 0x00E9},  {"ecirc", 0x00EA},    {"egrave", 0x00E8},  {"empty", 0x2205},
    {"emsp", 0x2003},    {"ensp", 0x2002},     {"epsilon", 0x03B5}, {"equiv", 0x2261},
    {"eta", 0x03B7},     {"eth", 0x00F0},      {"euml", 0x00EB},    {"euro", 0x20AC},
    {"exist", 0x2203},   {"fnof", 0x0192},     {"forall", 0x2200},  {"frac12", 0x00BD},
    {"frac14", 0x00BC},  {"frac34", 0x00BE},   {"frasl", 0x2044},   {"gamma", 0x03B3},
    {"ge", 0x2265},      {"gt", 0x003E},       {"hArr", 0x21D4},    {"harr", 0x2194},
    {"hearts", 0x2665},  {"hellip", 0x2026},   {"iacute", 0x00ED},  {"icirc", 0x00EE},
    {"iexcl", 0x00A1},   {"igrave", 0x00EC},   {"image", 0x2111},   {"infin", 0x221E},
    {"int", 0x222B},     {"iota", 0x03B9},     {"iquest", 0x00BF},  {"isin", 0x2208},
    {"iuml", 0x00EF},    {"kappa", 0x03BA},    {"lArr", 0x21D0},    {"lambda", 0x03BB},
    {"lang", 0x2329},    {"laquo", 0x00AB},    {"larr", 0x2190},    {"lceil", 0x2308},
    {"ldquo", 0x201C},   {"le", 0x2264},       {"lfloor", 0x230A},  {"lowast", 0x2217},
    {"loz", 0x25CA},     {"lrm", 0x200E},      {"lsaquo", 0x2039},  {"lsquo", 0x2018},
    {"lt", 0x003C},      {"macr", 0x00AF},     {"mdash", 0x2014},   {"micro", 0x00B5},
    {"middot", 0x00B7},  {"minus", 0x2212},    {"mu", 0x03BC},      {"nabla", 0x2207},
    {"nbsp", 0x00A0},    {"ndash", 0x2013},    {"ne", 0x2260},      {"ni", 0x220B},
    {"not", 0x00AC},     {"notin", 0x2209},    {"nsub", 0x2284},    {"ntilde", 0x00F1},
    {"nu", 0x03BD},      {"oacute", 0x00F3},   {"ocirc", 0x00F4},   {"oelig", 0x0153},
    {"ograve", 0x00F2},  {"oline", 0x203E},    {"omega", 0x03C9},   {"omicron", 0x03BF},
    {"oplus", 0x2295},   {"or", 0x2228},       {"ordf", 0x00AA},    {"ordm", 0x00BA},
    {"oslash", 0x00F8},  {"otilde", 0x00F5},   {"otimes", 0x2297},  {"ouml", 0x00F6},
    {"para", 0x00B6},    {"part", 0x2202},     {"permil", 0x2030},  {"perp", 0x22A5},
    {"phi", 0x03C6},     {"pi", 0x03C0},       {"piv", 0x03D6},     {"plusmn", 0x00B1},
    {"pound", 0x00A3},   {"prime", 0x2032},    {"prod", 0x220F},    {"prop", 0x221D},
    {"psi", 0x03C8},     {"quot", 0x0022},     {"rArr", 0x21D2},    {"radic", 0x221A},
    {"rang", 0x232A},    {"raquo", 0x00BB},    {"rarr", 0x2192},    {"rceil", 0x2309},
    {"rdquo", 0x201D},   {"real", 0x211C},     {"reg", 0x00AE},     {"rfloor", 0x230B},
    {"rho", 0x03C1},     {"rlm", 0x200F},      {"rsaquo", 0x203A},  {"rsquo", 0x2019},
    {"sbquo", 0x201A},   {"scaron", 0x0161},   {"sdot", 0x22C5},    {"sect", 0x00A7},
    {"shy", 0x00AD},     {"sigma", 0x03C3},    {"sigmaf", 0x03C2},  {"sim", 0x223C},
    {"spades", 0x2660},  {"sub", 0x2282},      {"sube", 0x2286},    {"sum", 0x2211},
    {"sup", 0x2283},     {"sup1", 0x00B9},     {"sup2", 0x00B2},    {"sup3", 0x00B3},
    {"supe", 0x2287},    {"szlig", 0x00DF},    {"tau", 0x03C4},     {"there4", 0x2234},
    {"theta", 0x03B8},   {"thetasym", 0x03D1}, {"thinsp", 0x2009},  {"thorn", 0x00FE},
    {"tilde", 0x02DC},   {"times", 0x00D7},    {"trade", 0x2122},   {"uArr", 0x21D1},
    {"uacute", 0x00FA},  {"uarr", 0x2191},     {"ucirc", 0x00FB},   {"ugrave", 0x00F9},
    {"uml", 0x00A8},     {"upsih", 0x03D2},    {"upsilon", 0x03C5}, {"uuml", 0x00FC},
    {"weierp", 0x2118},  {"xi", 0x03BE},       {"yacute", 0x00FD},  {"yen", 0x00A5},
    {"yuml", 0x00FF},    {"zeta", 0x03B6},     {"zwj", 0x200D},     {"zwnj", 0x200C},
};

static int entity_cmp(const void *key, const void *elem)
{
	const struct text_slice *k = key;
	const struct entity *en = elem;
	size_t elen = strlen(en->name);
	int c = memcmp(k->p, en->name, k->len < elen ? k->len : elen);
	if (c)
		return c;
	return (k->len > elen) - (k->len < elen);
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* u32::from_str_radix then char::from_u32: -1 when either fails. */
static int32_t numeric_entity(const unsigned char *p, size_t n, unsigned radix)
{
	uint64_t v = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d =
		    is_digit(p[i]) ? (unsigned)(p[i] - '0') : (unsigned)((p[i] | 0x20) - 'a' + 10);
		v = v * radix + d;
		if (v > UINT32_MAX)
			return -1;
	}
	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return -1;
	return (int32_t)v;
}

enum decode_state { DS_NORMAL, DS_ENTITY, DS_NAMED, DS_NUMERIC, DS_DEC, DS_HEX };

/* Decode into out; false on the first malformed entity (out is then junk). */
static bool decode_all(const unsigned char *s, size_t n, struct buf *out, enum status *st,
                       struct errinfo *e)
{
	enum decode_state state = DS_NORMAL;
	size_t start = 0, run = 0; /* entity body start; start of plain run */
	*st = ST_OK;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		int32_t cp = -1;
		switch (state) {
		case DS_NORMAL:
			if (c == '&') {
				if ((*st = put(out, s + run, i - run, e)) != ST_OK)
					return false;
				state = DS_ENTITY;
			}
			continue;
		case DS_ENTITY:
			if (c == '#') {
				state = DS_NUMERIC;
			} else {
				state = DS_NAMED; /* anything, even ';', starts a name */
				start = i;
			}
			continue;
		case DS_NAMED:
			if (c != ';')
				continue;
			{
				struct text_slice key = {(const char *)s + start, i - start};
				const struct entity *en =
				    bsearch(&key, entities, sizeof entities / sizeof entities[0],
				            sizeof entities[0], entity_cmp);
				if (!en)
					return false;
				cp = en->cp;
			}
			break;
		case DS_NUMERIC:
			if (is_digit(c)) {
				state = DS_DEC;
				start = i;
			} else if (c == 'x') {
				state = DS_HEX;
				start = i + 1;
			} else {
				return false;
			}
			continue;
		case DS_DEC:
		case DS_HEX:
			if (c == ';') {
				cp =
				    numeric_entity(s + start, i - start, state == DS_DEC ? 10 : 16);
				if (cp < 0)
					return false;
				break;
			}
			if (state == DS_DEC ? is_digit(c) : is_hex(c))
				continue;
			return false;
		}
		if ((*st = put_cp(out, cp, e)) != ST_OK)
			return false;
		state = DS_NORMAL;
		run = i + 1;
	}
	if (state != DS_NORMAL)
		return false; /* unterminated entity */
	*st = put(out, s + run, n - run, e);
	return *st == ST_OK;
}

enum status text_decode_entities(const char *in, size_t len, struct buf *out, bool *decoded,
                                 struct errinfo *e)
{
	const unsigned char *s = (const unsigned char *)in;
	enum status st;
	if (decoded)
		*decoded = false;
	buf_reset(out);
	if (len == 0 || !memchr(s, '&', len))
		return put(out, s, len, e);
	if (!decode_all(s, len, out, &st, e)) {
		if (st != ST_OK)
			return st;
		buf_reset(out); /* all or nothing */
		return put(out, s, len, e);
	}
	/* U+00A0 -> space, in place (C2 A0 is always a whole character) */
	size_t w = 0;
	for (size_t r = 0; r < out->len; r++) {
		if (out->data[r] == 0xC2 && r + 1 < out->len && out->data[r + 1] == 0xA0) {
			out->data[w++] = ' ';
			r++;
		} else {
			out->data[w++] = out->data[r];
		}
	}
	out->len = w;
	if (out->data)
		out->data[w] = '\0';
	if (decoded)
		*decoded = true;
	return ST_OK;
}

/* ---- The whole strip, csum, sfld ------------------------------------ */

enum status text_strip_html_preserving_media(const char *in, size_t len, struct buf *out,
                                             struct errinfo *e)
{
	struct buf a, b;
	enum status st;
	buf_init(&a, out->cap);
	buf_init(&b, out->cap);
	if ((st = text_replace_media_tags(in, len, &a, e)) == ST_OK &&
	    (st = text_strip_html_tags((const char *)a.data, a.len, &b, e)) == ST_OK)
		st = text_decode_entities((const char *)b.data, b.len, out, NULL, e);
	buf_free(&a);
	buf_free(&b);
	return st;
}

uint32_t text_checksum_stripped(const char *stripped, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_Digest(stripped ? stripped : "", len, md, &mdlen, EVP_sha1(), NULL) || mdlen < 4)
		return 0; /* only on a broken libcrypto; Anki reads a bad csum as 0 too */
	return (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
}

enum status text_checksum(const char *first_field, size_t len, uint32_t *out, struct errinfo *e)
{
	struct buf b;
	buf_init(&b, 0);
	enum status st = text_strip_html_preserving_media(first_field, len, &b, e);
	if (st == ST_OK)
		*out = text_checksum_stripped((const char *)b.data, b.len);
	buf_free(&b);
	return st;
}

enum status text_sort_field(const char *const *fields, const size_t *lens, size_t nfields,
                            size_t sort_idx, struct buf *out, struct errinfo *e)
{
	if (sort_idx >= nfields)
		return text_strip_html_preserving_media("", 0, out, e);
	return text_strip_html_preserving_media(fields[sort_idx], lens[sort_idx], out, e);
}

/* ---- Empty fields (§6.2) ---------------------------------------------
 * Anki: ^(?:[[:space:]]|</?(?:br|div)\ ?/?>)*$ case-insensitively.  The
 * tokens cannot overlap, so a left-to-right scan decides it. */

bool text_field_is_empty(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c == ' ' || (c >= '\t' && c <= '\r')) {
			i++;
			continue;
		}
		if (c != '<')
			return false;
		size_t j = i + 1;
		if (j < len && s[j] == '/')
			j++;
		size_t k = ci_lit(s, len, j, "br");
		if (k == NONE)
			k = ci_lit(s, len, j, "div");
		if (k == NONE)
			return false;
		if (k < len && s[k] == ' ')
			k++;
		if (k < len && s[k] == '/')
			k++;
		if (k >= len || s[k] != '>')
			return false;
		i = k + 1;
	}
	return true;
}

/* ---- Guid ------------------------------------------------------------ */

static const char guid_alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~";

void text_guid_from_u64(uint64_t v, char out[TEXT_GUID_MAX + 1])
{
	char rev[TEXT_GUID_MAX];
	size_t n = 0;
	_Static_assert(sizeof guid_alphabet - 1 == 91, "base 91");
	while (v > 0 && n < sizeof rev) {
		rev[n++] = guid_alphabet[v % 91];
		v /= 91;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	out[n] = '\0';
}

enum status text_guid_new(char out[TEXT_GUID_MAX + 1], struct errinfo *e)
{
	uint64_t v = 0;
	if (RAND_bytes((unsigned char *)&v, sizeof v) != 1) {
		out[0] = '\0';
		return errinfo_set(e, ST_INTERNAL, "RAND_bytes failed");
	}
	text_guid_from_u64(v, out);
	return ST_OK;
}

/* ---- Fields ---------------------------------------------------------- */

enum status text_fields_split(const char *flds, size_t len, size_t max_fields,
                              struct text_slice **out, size_t *n, struct errinfo *e)
{
	size_t count = 1;
	for (size_t i = 0; i < len; i++)
		count += flds[i] == TEXT_FIELD_SEP;
	*out = NULL;
	*n = 0;
	if (max_fields && count > max_fields)
		return errinfo_set(e, ST_TOOBIG, "%zu fields, at most %zu allowed", count,
		                   max_fields);
	struct text_slice *v = calloc(count, sizeof *v);
	if (!v)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || flds[i] == TEXT_FIELD_SEP) {
			v[k].p = flds ? flds + start : "";
			v[k].len = i - start;
			k++;
			start = i + 1;
		}
	}
	*out = v;
	*n = count;
	return ST_OK;
}

enum status text_fields_join(const struct text_slice *fields, size_t n, struct buf *out,
                             struct errinfo *e)
{
	enum status st;
	buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		if (fields[i].len && memchr(fields[i].p, TEXT_FIELD_SEP, fields[i].len))
			return errinfo_set(e, ST_INVALID, "field %zu contains the separator 0x1f",
			                   i);
		if (i && (st = put(out, "\x1f", 1, e)) != ST_OK)
			return st;
		if ((st = put(out, fields[i].p, fields[i].len, e)) != ST_OK)
			return st;
	}
	if (!out->data)
		return buf_append(out, "", 0, e); /* "" for no fields: data non-NULL */
	return ST_OK;
}

enum status text_field_clean(const char *in, size_t len, bool nfc, struct buf *out,
                             struct errinfo *e)
{
	struct buf tmp;
	enum status st = ST_OK;
	buf_init(&tmp, out->cap);
	buf_reset(out);
	struct buf *dst = nfc ? &tmp : out;
	const unsigned char *s = (const unsigned char *)in;
	size_t run = 0;
	for (size_t i = 0; i < len && st == ST_OK; i++) {
		unsigned char c = s[i];
		if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
			if ((st = text_utf8_lossy((const char *)s + run, i - run, dst, e)) != ST_OK)
				break;
			run = i + 1;
		}
	}
	if (st == ST_OK)
		st = text_utf8_lossy((const char *)s + run, len - run, dst, e);
	if (st == ST_OK && nfc)
		st = text_nfc((const char *)tmp.data, tmp.len, out, e);
	if (st == ST_OK && !out->data)
		st = buf_append(out, "", 0, e);
	buf_free(&tmp);
	return st;
}

enum status text_json_string(struct buf *b, const char *s, size_t n, struct errinfo *e)
{
	static const char hex[] = "0123456789abcdef";
	enum status st = buf_append(b, "\"", 1, e);
	for (size_t i = 0; i < n && st == ST_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		const char *rep = NULL;
		switch (c) {
		case '"':
			rep = "\\\"";
			break;
		case '\\':
			rep = "\\\\";
			break;
		case '\b':
			rep = "\\b";
			break;
		case '\f':
			rep = "\\f";
			break;
		case '\n':
			rep = "\\n";
			break;
		case '\r':
			rep = "\\r";
			break;
		case '\t':
			rep = "\\t";
			break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof esc, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
				rep = esc;
			}
		}
		st = rep ? buf_append_str(b, rep, e) : buf_append(b, &c, 1, e);
	}
	return st == ST_OK ? buf_append(b, "\"", 1, e) : st;
}
