/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search_text.c - wildcard and escape conversions of the search language
 * (search-syntax.md §3.1, §2.4), and the check that a user regex is one
 * Anki's Rust regex engine would accept (§6, "reject patterns Rust would
 * reject").
 *
 * Invariant: the special characters handled here are all ASCII, so the
 * scans walk bytes and copy every other byte (UTF-8 continuation bytes
 * included) unchanged; whole characters are never split because a
 * multi-byte sequence contains no ASCII byte.
 */
#include "search_text.h"

#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* The longest user regex we hand to PCRE2 (bytes). */
#define SEARCH_REGEX_MAX 65536

static enum status put(struct buf *b, const char *s, size_t n, struct errinfo *e)
{
	return buf_append(b, s, n, e);
}

static bool is_regex_meta(unsigned char c)
{
	return c && strchr("\\.+*?()|[]{}^$#&-~", c) != NULL;
}

/* Length of the UTF-8 sequence starting at s[0] (1 for a stray byte),
 * never past n. */
static size_t char_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	size_t want = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
	if (want > n)
		want = n;
	for (size_t k = 1; k < want; k++)
		if (((unsigned char)s[k] & 0xC0) != 0x80)
			return k;
	return want;
}

enum status search_regex_escape(const char *s, size_t n, struct buf *out, struct errinfo *e)
{
	enum status st = ST_OK;
	size_t start = 0;
	for (size_t i = 0; i < n && !st; i++) {
		if (!is_regex_meta((unsigned char)s[i]))
			continue;
		if (!(st = put(out, s + start, i - start, e)))
			st = put(out, "\\", 1, e);
		start = i;
	}
	return st ? st : put(out, s + start, n - start, e);
}

enum status search_to_sql(const char *s, size_t n, struct buf *out, struct errinfo *e)
{
	enum status st = ST_OK;
	for (size_t i = 0; i < n && !st; i++) {
		char c = s[i];
		if (c == '\\' && i + 1 < n && (s[i + 1] == '\\' || s[i + 1] == '*')) {
			st = s[i + 1] == '\\' ? put(out, "\\\\", 2, e) : put(out, "*", 1, e);
			i++;
		} else if (c == '*') {
			st = put(out, "%", 1, e);
		} else if (c == '%') {
			st = put(out, "\\%", 2, e);
		} else {
			st = put(out, &s[i], 1, e);
		}
	}
	return st;
}

enum status search_to_custom_re(const char *s, size_t n, const char *wildcard, struct buf *out,
                                struct errinfo *e)
{
	enum status st = ST_OK;
	size_t wl = strlen(wildcard);
	size_t i = 0;
	bool star = false; /* the last thing written was a `*` wildcard */
	while (i < n && !st) {
		/* Anki's pattern \\?. : an optional backslash and one character;
		 * a lone trailing backslash is itself "one character". */
		if (s[i] != '*')
			star = false;
		if (s[i] == '\\' && i + 1 < n) {
			size_t cl = char_len(s + i + 1, n - i - 1);
			char d = s[i + 1];
			if (d == '\\' || d == '*')
				st = put(out, s + i, 2, e);
			else if (d == '_')
				st = put(out, "_", 1, e);
			else if (!(st = put(out, "\\\\", 2, e)))
				st = search_regex_escape(s + i + 1, cl, out, e);
			i += 1 + cl;
			continue;
		}
		size_t cl = char_len(s + i, n - i);
		if (s[i] == '*') {
			/* `**` matches what `*` matches; writing one keeps a
			 * backtracking engine from trying every split between
			 * them (Rust's engine, Anki's, has no such cost) */
			if (!star && !(st = put(out, wildcard, wl, e)))
				st = put(out, "*", 1, e);
			star = true;
		} else if (s[i] == '_') {
			st = put(out, wildcard, wl, e);
		} else {
			st = search_regex_escape(s + i, cl, out, e);
		}
		i += cl;
	}
	return st;
}

enum status search_to_re(const char *s, size_t n, struct buf *out, struct errinfo *e)
{
	return search_to_custom_re(s, n, ".", out, e);
}

enum status search_to_text(const char *s, size_t n, struct buf *out, struct errinfo *e)
{
	enum status st = ST_OK;
	size_t i = 0;
	while (i < n && !st) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] != '\n') {
			size_t cl = char_len(s + i + 1, n - i - 1);
			st = put(out, s + i + 1, cl, e);
			i += 1 + cl;
		} else {
			st = put(out, s + i, 1, e);
			i++;
		}
	}
	return st;
}

bool search_is_glob(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (s[i] == '\\') {
			size_t j = i;
			while (j < n && s[j] == '\\')
				j++;
			/* an odd run escapes the character after it */
			i = ((j - i) % 2) ? j + 1 : j;
			continue;
		}
		if (s[i] == '*' || s[i] == '_')
			return true;
		i++;
	}
	return false;
}

/* ---- regex acceptance ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static enum status unsupported(struct errinfo *e, const char *what)
{
	return errinfo_set(e, ST_INVALID, "regex parse error: %s", what);
}

/* After "{": the end of a counted repetition {n}, {n,}, {n,m} or 0. */
static size_t repetition_end(const char *s, size_t n, size_t i)
{
	size_t j = i + 1, d = 0;
	while (j < n && is_digit(s[j]))
		j++, d++;
	if (!d)
		return 0;
	if (j < n && s[j] == ',') {
		j++;
		while (j < n && is_digit(s[j]))
			j++;
	}
	return j < n && s[j] == '}' ? j + 1 : 0;
}

/* "(?" at s[i]: 0 if it opens a group the Rust crate knows:
 * (?:...), (?P<name>...), (?<name>...), (?flags) and (?flags:...). */
static bool group_ok(const char *s, size_t n, size_t i)
{
	size_t j = i + 2;
	if (j >= n)
		return false;
	if (s[j] == ':')
		return true;
	if (s[j] == 'P' && j + 1 < n && s[j + 1] == '<')
		return true;
	if (s[j] == '<')
		return j + 1 < n && (is_alpha(s[j + 1]) || s[j + 1] == '_');
	while (j < n && s[j] && strchr("imsUux-", s[j]))
		j++;
	return j < n && j > i + 2 && (s[j] == ')' || s[j] == ':');
}

static enum status scan_rust_features(const char *s, size_t n, struct errinfo *e)
{
	bool in_class = false;
	size_t i = 0;
	while (i < n) {
		char c = s[i];
		if (c == '\\') {
			if (i + 1 >= n)
				return ST_OK; /* PCRE2 reports the trailing backslash */
			char d = s[i + 1];
			if (is_digit(d))
				return unsupported(e, "backreferences are not supported");
			if (is_alpha(d) && !strchr("aftnrvAzbBdDsSwWpPxuU", d))
				return unsupported(e, "unrecognized escape sequence");
			i += 2;
			/* \p{...}, \x{...}: skip the braces so "}+" is not read as a
			 * possessive quantifier */
			if ((d == 'p' || d == 'P' || d == 'x' || d == 'u' || d == 'U') && i < n &&
			    s[i] == '{') {
				while (i < n && s[i] != '}')
					i++;
				if (i < n)
					i++;
			}
			continue;
		}
		if (in_class) {
			if (c == '[' && i + 1 < n && s[i + 1] == ':') {
				const char *end = memmem(s + i + 2, n - i - 2, ":]", 2);
				i = end ? (size_t)(end - s) + 2 : i + 1;
				continue;
			}
			if (c == ']')
				in_class = false;
			i++;
			continue;
		}
		switch (c) {
		case '[':
			in_class = true;
			i++;
			if (i < n && s[i] == '^')
				i++;
			if (i < n && s[i] == ']')
				i++; /* a leading ] is literal */
			continue;
		case '(':
			if (i + 1 < n && s[i + 1] == '*')
				return unsupported(e,
				                   "backtracking control verbs are not supported");
			if (i + 1 < n && s[i + 1] == '?') {
				if (!group_ok(s, n, i))
					return unsupported(e, "look-around, atomic groups, "
					                      "recursion, conditionals and "
					                      "comments are not supported");
				i += 2;
				continue;
			}
			i++;
			continue;
		case '*':
		case '+':
		case '?':
			if (i + 1 < n && s[i + 1] == '+')
				return unsupported(e, "possessive quantifiers are not supported");
			i++;
			continue;
		case '{': {
			size_t end = repetition_end(s, n, i);
			if (end && end < n && s[end] == '+')
				return unsupported(e, "possessive quantifiers are not supported");
			i = end ? end : i + 1;
			continue;
		}
		default:
			i++;
		}
	}
	return ST_OK;
}

enum status search_regex_check(const char *re, size_t n, struct errinfo *e)
{
	if (n > SEARCH_REGEX_MAX)
		return unsupported(e, "the regular expression is too long");
	enum status st = scan_rust_features(re, n, e);
	if (st)
		return st;
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	if (!cc)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
	int err = 0;
	PCRE2_SIZE off = 0;
	/* the options of sqlfn.c, so what passes here compiles there */
	pcre2_code *code = pcre2_compile(
	    (PCRE2_SPTR)re, n,
	    PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_MATCH_INVALID_UTF, &err, &off, cc);
	pcre2_compile_context_free(cc);
	if (!code) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(err, msg, sizeof msg);
		return errinfo_set(e, ST_INVALID, "regex parse error: %s", (const char *)msg);
	}
	uint32_t backref = 0;
	pcre2_pattern_info(code, PCRE2_INFO_BACKREFMAX, &backref);
	pcre2_code_free(code);
	if (backref)
		return unsupported(e, "backreferences are not supported");
	return ST_OK;
}
