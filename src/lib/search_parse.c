/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search_parse.c - the search language parser (search-syntax.md §1 step
 * 1-2, §2, §4 term syntax, §9 errors).  Written from the behaviour of
 * Anki's rslib/src/search/parser.rs (a nom parser): the same
 * alternatives are tried in the same order, the same inputs are
 * "soft" failures (another alternative may match; P_NO here) or hard
 * failures that end the search with Anki's message (P_FAIL), and numbers
 * follow Rust's str::parse rules.
 *
 * Invariants: the query is whitespace-normalised and checked to be UTF-8
 * before parsing, so every scan may step over whole characters; slices
 * are (pointer, length) views into that one buffer; nesting is bounded
 * by SEARCH_MAX_DEPTH so recursion is bounded; every error message is
 * cut at a character boundary so it stays valid UTF-8.
 */
#include "search_parse.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

enum { P_OK = 0, P_NO = 1, P_FAIL = -1 };

struct parser {
	struct errinfo *e;
	enum status st; /* why the parse failed (e may be NULL) */
	unsigned depth;
	unsigned terms;
};

/* ---- messages (ftl/core/search.ftl, English) ---- */

#define MSG_MISPLACED(op)                                                                          \
	"an `" op "` was found but it is not connecting two search terms. If you want to search "  \
	"for the word itself, wrap it in double quotes: `\"" op "\"`."
#define MSG_EMPTY_GROUP                                                                            \
	"a group `(...)` was found, but there was nothing between the brackets to search for. If " \
	"you want to search for literal brackets, wrap them in double quotes: `\"( )\"`."
#define MSG_UNOPENED_GROUP                                                                         \
	"a closing bracket `)` was found, but there was no opening bracket `(` preceding it. If "  \
	"you want to search for a literal `)`, wrap it in double quotes or prepend a backslash: "  \
	"`\")\"` or `\\)`."
#define MSG_UNCLOSED_GROUP                                                                         \
	"an opening bracket `(` was found, but there was no closing bracket `)` following it. If " \
	"you want to search for a literal `(`, wrap it in double quotes or prepend a backslash: "  \
	"`\"(\"` or `\\(` ."
#define MSG_EMPTY_QUOTE                                                                            \
	"a pair of double quotes `\"\"` was found, but there was nothing between them to search "  \
	"for. If you want to search for literal double quotes, prepend backslashes: `\\\"\\\"`."
#define MSG_UNCLOSED_QUOTE                                                                         \
	"an opening double quote `\"` was found, but there was no second one to close it. If you " \
	"want to search for a literal `\"`, prepend a backslash: `\\\"`."
#define MSG_MISSING_KEY                                                                            \
	"a colon `:` was found, but there was no keyword preceding it. If you want to search for " \
	"a literal `:`, prepend a backslash: `\\:`."
#define MSG_INVALID_FLAG                                                                           \
	"`flag:` must be followed by a valid flag number: `1` (red), `2` (orange), `3` (green), "  \
	"`4` (blue), `5` (pink), `6` (turquoise), `7` (purple) or `0` (no flag)."
#define MSG_OTHER "please check for typing mistakes."

/* Longest piece of user text quoted in a message (bytes), so the whole
 * message fits struct errinfo. */
#define MSG_ARG_MAX 180

static int fail_reason(struct parser *p, const char *reason)
{
	p->st = errinfo_set(p->e, ST_INVALID, "Invalid search: %s", reason);
	return P_FAIL;
}

__attribute__((format(printf, 2, 3))) static int fail_fmt(struct parser *p, const char *fmt, ...)
{
	char reason[ERRINFO_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	return fail_reason(p, reason);
}

static int fail_nomem(struct parser *p)
{
	p->st = errinfo_set(p->e, ST_NOMEM, "out of memory");
	return P_FAIL;
}

/* Length of the (valid) UTF-8 character at s, at most n. */
static size_t clen(const char *s, size_t n)
{
	size_t adv = 1;
	if (n)
		text_utf8_decode((const unsigned char *)s, n, &adv);
	return adv;
}

/* User text for a message: backticks become ' (as Anki does, so they do
 * not break the formatting) and long text is cut at a character
 * boundary. */
static void msg_arg(const char *s, size_t n, char out[MSG_ARG_MAX + 8])
{
	size_t o = 0, i = 0;
	while (i < n) {
		size_t cl = clen(s + i, n - i);
		if (o + cl > MSG_ARG_MAX) {
			memcpy(out + o, "\xE2\x80\xA6", 3); /* … */
			o += 3;
			break;
		}
		if (s[i] == '`')
			out[o] = '\'';
		else
			memcpy(out + o, s + i, cl);
		o += s[i] == '`' ? 1 : cl;
		i += cl;
	}
	out[o] = 0;
}

static int fail_escape(struct parser *p, const char *seq, size_t n)
{
	char a[MSG_ARG_MAX + 8];
	msg_arg(seq, n, a);
	return fail_fmt(p,
	                "the escape sequence `%s` is not defined. If you want to search for a "
	                "literal backslash `\\`, prepend another one: `\\\\`.",
	                a);
}

static int fail_argument(struct parser *p, const char *term, const char *s, size_t n)
{
	char a[MSG_ARG_MAX + 8];
	msg_arg(s, n, a);
	return fail_fmt(p, "`%s` was given an invalid argument '`%s`'.", term, a);
}

/* "expected <what> in "`context`", but found "`provided`"." */
static int fail_number(struct parser *p, const char *what, const char *ctx, size_t ctxn,
                       const char *prov, size_t provn)
{
	char a[MSG_ARG_MAX + 8], b[MSG_ARG_MAX + 8];
	msg_arg(ctx, ctxn, a);
	msg_arg(prov, provn, b);
	return fail_fmt(p, "expected %s in \"`%s`\", but found \"`%s`\".", what, a, b);
}

#define WHAT_NUMBER "a number"
#define WHAT_WHOLE "a whole number"
#define WHAT_POSITIVE "a positive whole number"
#define WHAT_NEGATIVE "a whole number less than or equal to 0"
#define WHAT_BUTTON "an answer button between 1-4"

/* ---- small string helpers ---- */

static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

static bool eq_ci(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static bool has_prefix(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);
	return n >= k && memcmp(s, pre, k) == 0;
}

static bool is_ideo_space(const char *s, size_t n)
{
	return n >= 3 && memcmp(s, "\xE3\x80\x80", 3) == 0;
}

/* Length of the run of separators (space, U+3000) at s. */
static size_t whitespace0(const char *s, size_t n)
{
	size_t i = 0;
	for (;;) {
		if (i < n && s[i] == ' ')
			i++;
		else if (is_ideo_space(s + i, n - i))
			i += 3;
		else
			return i;
	}
}

/* ---- escapes (§2.4) ---- */

/* The first undefined escape: an odd run of backslashes followed by the
 * end or by a character other than \ " : * _ ( ) -.  seq and seqn get
 * the backslash and that character; false when there is none. */
static bool invalid_escape(const char *s, size_t n, const char **seq, size_t *seqn)
{
	size_t i = 0;
	while (i < n) {
		if (s[i] != '\\') {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && s[j] == '\\')
			j++;
		if ((j - i) % 2 == 0) {
			i = j;
			continue;
		}
		if (j == n) {
			*seq = s + j - 1;
			*seqn = 1;
			return true;
		}
		if (!strchr("\":*_()-", s[j])) {
			*seq = s + j - 1;
			*seqn = 1 + clen(s + j, n - j);
			return true;
		}
		i = j + 1;
	}
	return false;
}

/* Anki's unescape: fail on an undefined escape, else turn \" \: \( \) \-
 * into the character (\\ \* \_ stay for the wildcard stage). */
static int unescape(struct parser *p, const char *s, size_t n, char **out)
{
	const char *seq;
	size_t seqn;
	if (invalid_escape(s, n, &seq, &seqn))
		return fail_escape(p, seq, seqn);
	char *d = malloc(n + 1);
	if (!d)
		return fail_nomem(p);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && strchr("\\\":()-", s[i + 1])) {
			if (s[i + 1] == '\\')
				d[o++] = '\\';
			d[o++] = s[i + 1];
			i++;
		} else {
			d[o++] = s[i];
		}
	}
	d[o] = 0;
	*out = d;
	return P_OK;
}

/* Replace every occurrence of the two bytes a,b by c (left to right, not
 * overlapping), as Rust's str::replace does. */
static char *replace_pair(const char *s, size_t n, char a, char b, char c, size_t *outn)
{
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == a && i + 1 < n && s[i + 1] == b) {
			d[o++] = c;
			i++;
		} else {
			d[o++] = s[i];
		}
	}
	d[o] = 0;
	*outn = o;
	return d;
}

/* Raw values (re:, field:re:, field:nc:, tag:re:): only \" -> ". */
static int unescape_quotes(struct parser *p, const char *s, size_t n, char **out)
{
	size_t on;
	return (*out = replace_pair(s, n, '\\', '"', '"', &on)) ? P_OK : fail_nomem(p);
}

/* dupe: text: \" -> " then \\ -> \. */
static int unescape_quotes_and_backslashes(struct parser *p, const char *s, size_t n, char **out)
{
	size_t an, on;
	char *a = replace_pair(s, n, '\\', '"', '"', &an);
	if (!a)
		return fail_nomem(p);
	*out = replace_pair(a, an, '\\', '\\', '\\', &on);
	free(a);
	return *out ? P_OK : fail_nomem(p);
}

/* nom's escaped(is_not(stop), '\\', escapable) over s[0..n).
 * stop holds ASCII bytes (always including the backslash); ideo adds
 * U+3000.  esc_any: any character may follow a backslash; otherwise
 * anything but a separator (space, U+3000).
 * P_OK with *end = length consumed (0 only for empty input); P_NO when
 * nothing was consumed or a backslash ends the input (*noneof false),
 * or when a separator follows a backslash (*noneof true, *errpos at the
 * separator). */
static int esc_scan(const char *s, size_t n, const char *stop, bool ideo, bool esc_any, size_t *end,
                    bool *noneof, size_t *errpos)
{
	*noneof = false;
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && !strchr(stop, s[j]) && !(ideo && is_ideo_space(s + j, n - j)))
			j += clen(s + j, n - j);
		if (j > i) {
			i = j;
			continue;
		}
		if (s[i] == '\\') {
			if (i + 1 >= n)
				return P_NO;
			if (!esc_any && (s[i + 1] == ' ' || is_ideo_space(s + i + 1, n - i - 1))) {
				*noneof = true;
				*errpos = i + 1;
				return P_NO;
			}
			i += 1 + clen(s + i + 1, n - i - 1);
			continue;
		}
		if (i == 0)
			return P_NO;
		*end = i;
		return P_OK;
	}
	*end = n;
	return P_OK;
}

/* ---- numbers with Rust's str::parse rules ---- */

/* Unsigned: optional '+', ASCII digits, value <= max. */
static bool parse_unsigned(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	size_t i = 0;
	if (i < n && s[i] == '+')
		i++;
	if (i == n)
		return false;
	uint64_t v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Signed: optional '+' or '-', ASCII digits, min <= value <= max
 * (min = -max - 1 for the two's complement types used here). */
static bool parse_signed(const char *s, size_t n, int64_t max, int64_t *out)
{
	bool neg = n > 0 && s[0] == '-';
	uint64_t mag;
	if (!parse_unsigned(s + neg, n - neg, (uint64_t)max + neg, &mag))
		return false;
	if (neg && n > 1 && s[1] == '+')
		return false; /* "-+1" */
	*out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return true;
}

static bool parse_u32(const char *s, size_t n, uint32_t *out)
{
	uint64_t v;
	if (!parse_unsigned(s, n, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Rust f32: [+-] then inf | infinity | nan (any case), or digits with an
 * optional fraction (at least one digit in all) and exponent. */
static bool parse_f32(const char *s, size_t n, float *out)
{
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	const char *r = s + i;
	size_t m = n - i;
	bool ok = (m == 3 && !strncasecmp(r, "inf", 3)) ||
	          (m == 8 && !strncasecmp(r, "infinity", 8)) ||
	          (m == 3 && !strncasecmp(r, "nan", 3));
	if (!ok) {
		size_t digits = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, digits++;
		if (i < n && s[i] == '.') {
			i++;
			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++, digits++;
		}
		if (!digits)
			return false;
		if (i < n && (s[i] == 'e' || s[i] == 'E')) {
			i++;
			if (i < n && (s[i] == '+' || s[i] == '-'))
				i++;
			size_t ed = 0;
			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++, ed++;
			if (!ed)
				return false;
		}
		if (i != n)
			return false;
	}
	char *z = dupn(s, n);
	if (!z)
		return false;
	*out = strtof(z, NULL);
	free(z);
	return true;
}

/* ---- terms (§4) ---- */

static int parse_tag(struct parser *p, const char *v, size_t n, struct search_term *t)
{
	t->kind = SEARCH_T_TAG;
	if (has_prefix(v, n, "re:")) {
		t->mode = SEARCH_MODE_REGEX;
		return unescape_quotes(p, v + 3, n - 3, &t->text);
	}
	if (has_prefix(v, n, "nc:")) {
		t->mode = SEARCH_MODE_NC;
		return unescape(p, v + 3, n - 3, &t->text);
	}
	t->mode = SEARCH_MODE_NORMAL;
	return unescape(p, v, n, &t->text);
}

static int parse_template(struct parser *p, const char *v, size_t n, struct search_term *t)
{
	uint64_t ord;
	if (parse_unsigned(v, n, UINT16_MAX, &ord)) {
		t->kind = SEARCH_T_TEMPLATE_ORD;
		t->num = ord ? (int64_t)ord - 1 : 0;
		return P_OK;
	}
	t->kind = SEARCH_T_TEMPLATE_NAME;
	return unescape(p, v, n, &t->text);
}

static int parse_flag(struct parser *p, const char *v, size_t n, struct search_term *t)
{
	uint64_t f;
	if (!parse_unsigned(v, n, UINT8_MAX, &f) || f > 7)
		return fail_reason(p, MSG_INVALID_FLAG);
	t->kind = SEARCH_T_FLAG;
	t->num = (int64_t)f;
	return P_OK;
}

/* "keyword:" context, days >= 0; n==0 becomes 1 when at_least_one. */
static int parse_days(struct parser *p, const char *ctx, const char *v, size_t n, bool at_least_one,
                      int64_t *out)
{
	uint32_t d;
	if (!parse_u32(v, n, &d))
		return fail_number(p, WHAT_POSITIVE, ctx, strlen(ctx), v, n);
	*out = (at_least_one && d == 0) ? 1 : d;
	return P_OK;
}

/* An optional ":button" part: absent -> any; else 1..4. */
static int parse_answer_button(struct parser *p, const char *b, size_t bn, bool present,
                               const char *ctx, size_t ctxn, int *rating)
{
	if (!present) {
		*rating = SEARCH_RATING_ANY;
		return P_OK;
	}
	uint64_t v;
	if (!parse_unsigned(b, bn, UINT8_MAX, &v) || v < 1 || v > 4)
		return fail_number(p, WHAT_BUTTON, ctx, ctxn, b, bn);
	*rating = (int)v;
	return P_OK;
}

static int parse_rated(struct parser *p, const char *v, size_t n, struct search_term *t)
{
	const char *colon = memchr(v, ':', n);
	size_t dn = colon ? (size_t)(colon - v) : n;
	t->kind = SEARCH_T_RATED;
	int r = parse_days(p, "rated:", v, dn, true, &t->num);
	if (r)
		return r;
	return parse_answer_button(p, colon ? colon + 1 : "", colon ? n - dn - 1 : 0, colon != NULL,
	                           v, n, &t->rating);
}

static int parse_state(struct parser *p, const char *v, size_t n, struct search_term *t)
{
	static const struct {
		const char *name;
		enum search_state st;
	} states[] = {
	    {"new", SEARCH_STATE_NEW},
	    {"review", SEARCH_STATE_REVIEW},
	    {"learn", SEARCH_STATE_LEARN},
	    {"due", SEARCH_STATE_DUE},
	    {"buried", SEARCH_STATE_BURIED},
	    {"buried-manually", SEARCH_STATE_BURIED_MANUALLY},
	    {"buried-sibling", SEARCH_STATE_BURIED_SIBLING},
	    {"suspended", SEARCH_STATE_SUSPENDED},
	};
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		if (strlen(states[i].name) == n && memcmp(states[i].name, v, n) == 0) {
			t->kind = SEARCH_T_STATE;
			t->state = states[i].st;
			return P_OK;
		}
	}
	return fail_argument(p, "is:", v, n);
}

/* ^(\d+,)*\d+$ (ASCII digits). */
static bool is_id_list(const char *s, size_t n)
{
	bool digit = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			digit = true;
		} else if (s[i] == ',' && digit) {
			digit = false;
		} else {
			return false;
		}
	}
	return digit;
}

static int parse_id_list(struct parser *p, enum search_term_kind kind, const char *key, size_t keyn,
                         const char *v, size_t n, struct search_term *t)
{
	if (!is_id_list(v, n)) {
		char k[MSG_ARG_MAX + 8];
		msg_arg(key, keyn, k);
		return fail_fmt(p, "expected only digits and commas in %s:", k);
	}
	t->kind = kind;
	return (t->text = dupn(v, n)) ? P_OK : fail_nomem(p);
}

static int parse_dupe(struct parser *p, const char *v, size_t n, struct search_term *t)
{
	const char *comma = memchr(v, ',', n);
	size_t in = comma ? (size_t)(comma - v) : n;
	if (!parse_signed(v, in, INT64_MAX, &t->num))
		return fail_number(p, WHAT_WHOLE, v, n, v, in);
	if (!comma)
		return fail_reason(p, "invalid 'dupe:' search");
	t->kind = SEARCH_T_DUPE;
	return unescape_quotes_and_backslashes(p, comma + 1, n - in - 1, &t->text);
}

/* prop: property names in Anki's order (longer names first where one is
 * a prefix of another: "rated" before "r"). */
static const struct {
	const char *name;
	enum search_prop prop;
} prop_names[] = {
    {"ivl", SEARCH_PROP_IVL},     {"due", SEARCH_PROP_DUE},
    {"reps", SEARCH_PROP_REPS},   {"lapses", SEARCH_PROP_LAPSES},
    {"ease", SEARCH_PROP_EASE},   {"pos", SEARCH_PROP_POS},
    {"rated", SEARCH_PROP_RATED}, {"resched", SEARCH_PROP_RESCHED},
    {"s", SEARCH_PROP_S},         {"d", SEARCH_PROP_D},
    {"r", SEARCH_PROP_R},
};

static bool is_ascii_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int parse_prop(struct parser *p, const char *v, size_t n, struct search_term *t)
{
	size_t plen = 0;
	bool found = false;
	for (size_t i = 0; i < sizeof prop_names / sizeof prop_names[0] && !found; i++) {
		if (has_prefix(v, n, prop_names[i].name)) {
			t->prop = prop_names[i].prop;
			plen = strlen(prop_names[i].name);
			found = true;
		}
	}
	if (!found && (has_prefix(v, n, "cdn:") || has_prefix(v, n, "cds:"))) {
		size_t k = 4;
		while (k < n && is_ascii_alnum(v[k]))
			k++;
		if (k > 4) {
			t->prop = v[2] == 'n' ? SEARCH_PROP_CDN : SEARCH_PROP_CDS;
			if (!(t->field = dupn(v + 4, k - 4)))
				return fail_nomem(p);
			plen = k;
			found = true;
		}
	}
	if (!found)
		return fail_argument(p, "prop:", v, n);

	static const struct {
		const char *s;
		enum search_op op;
	} ops[] = {{"<=", SEARCH_OP_LE}, {">=", SEARCH_OP_GE}, {"!=", SEARCH_OP_NE},
	           {"=", SEARCH_OP_EQ},  {"<", SEARCH_OP_LT},  {">", SEARCH_OP_GT}};
	const char *tail = v + plen;
	size_t tn = n - plen, olen = 0;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0] && !olen; i++) {
		if (has_prefix(tail, tn, ops[i].s)) {
			t->op = ops[i].op;
			olen = strlen(ops[i].s);
		}
	}
	if (!olen) {
		char a[MSG_ARG_MAX + 8];
		msg_arg(v, plen, a);
		return fail_fmt(p,
		                "`prop:%s` must be followed by one of the following comparison "
		                "operators: `=`, `!=`, `<`, `>`, `<=` or `>=`.",
		                a);
	}
	const char *num = tail + olen;
	size_t nn = tn - olen;
	t->kind = SEARCH_T_PROP;
	switch (t->prop) {
	case SEARCH_PROP_EASE:
	case SEARCH_PROP_S:
	case SEARCH_PROP_D:
	case SEARCH_PROP_R:
	case SEARCH_PROP_CDN:
		if (!parse_f32(num, nn, &t->fnum))
			return fail_number(p, WHAT_NUMBER, v, n, num, nn);
		return P_OK;
	case SEARCH_PROP_DUE:
		if (!parse_signed(num, nn, INT32_MAX, &t->num))
			return fail_number(p, WHAT_WHOLE, v, n, num, nn);
		return P_OK;
	case SEARCH_PROP_RATED:
	case SEARCH_PROP_RESCHED: {
		const char *colon = t->prop == SEARCH_PROP_RATED ? memchr(num, ':', nn) : NULL;
		size_t dn = colon ? (size_t)(colon - num) : nn;
		if (!parse_signed(num, dn, INT32_MAX, &t->num) || t->num > 0)
			return fail_number(p, WHAT_NEGATIVE, v, n, num, dn);
		if (t->prop == SEARCH_PROP_RESCHED) {
			t->rating = SEARCH_RATING_MANUAL;
			return P_OK;
		}
		return parse_answer_button(p, colon ? colon + 1 : "", colon ? nn - dn - 1 : 0,
		                           colon != NULL, v, n, &t->rating);
	}
	case SEARCH_PROP_CDS:
		return (t->text = dupn(num, nn)) ? P_OK : fail_nomem(p);
	case SEARCH_PROP_IVL:
	case SEARCH_PROP_REPS:
	case SEARCH_PROP_LAPSES:
	case SEARCH_PROP_POS: {
		uint32_t u;
		if (!parse_u32(num, nn, &u))
			return fail_number(p, WHAT_POSITIVE, v, n, num, nn);
		t->num = u;
		return P_OK;
	}
	}
	return fail_reason(p, MSG_OTHER);
}

static int parse_single_field(struct parser *p, const char *k, size_t kn, const char *v, size_t n,
                              struct search_term *t)
{
	t->kind = SEARCH_T_FIELD;
	int r = unescape(p, k, kn, &t->field);
	if (r)
		return r;
	if (has_prefix(v, n, "re:")) {
		t->mode = SEARCH_MODE_REGEX;
		return unescape_quotes(p, v + 3, n - 3, &t->text);
	}
	if (has_prefix(v, n, "nc:")) {
		t->mode = SEARCH_MODE_NC;
		return unescape_quotes(p, v + 3, n - 3, &t->text);
	}
	t->mode = SEARCH_MODE_NORMAL;
	return unescape(p, v, n, &t->text);
}

/* key:value (key as typed, escapes kept; value raw). */
static int term_with_argument(struct parser *p, const char *k, size_t kn, const char *v, size_t n,
                              struct search_term *t)
{
	if (eq_ci(k, kn, "deck")) {
		t->kind = SEARCH_T_DECK;
		return unescape(p, v, n, &t->text);
	}
	if (eq_ci(k, kn, "note")) {
		t->kind = SEARCH_T_NOTETYPE;
		return unescape(p, v, n, &t->text);
	}
	if (eq_ci(k, kn, "tag"))
		return parse_tag(p, v, n, t);
	if (eq_ci(k, kn, "card"))
		return parse_template(p, v, n, t);
	if (eq_ci(k, kn, "flag"))
		return parse_flag(p, v, n, t);
	if (eq_ci(k, kn, "resched")) {
		t->kind = SEARCH_T_RATED;
		t->rating = SEARCH_RATING_MANUAL;
		return parse_days(p, "resched:", v, n, false, &t->num);
	}
	if (eq_ci(k, kn, "prop"))
		return parse_prop(p, v, n, t);
	if (eq_ci(k, kn, "added")) {
		t->kind = SEARCH_T_ADDED;
		return parse_days(p, "added:", v, n, true, &t->num);
	}
	if (eq_ci(k, kn, "edited")) {
		t->kind = SEARCH_T_EDITED;
		return parse_days(p, "edited:", v, n, true, &t->num);
	}
	if (eq_ci(k, kn, "introduced")) {
		t->kind = SEARCH_T_INTRODUCED;
		return parse_days(p, "introduced:", v, n, true, &t->num);
	}
	if (eq_ci(k, kn, "rated"))
		return parse_rated(p, v, n, t);
	if (eq_ci(k, kn, "is"))
		return parse_state(p, v, n, t);
	if (eq_ci(k, kn, "did"))
		return parse_id_list(p, SEARCH_T_DECK_IDS, k, kn, v, n, t);
	if (eq_ci(k, kn, "mid")) {
		t->kind = SEARCH_T_NOTETYPE_ID;
		if (!parse_signed(v, n, INT64_MAX, &t->num))
			return fail_number(p, WHAT_WHOLE, "mid:", 4, v, n);
		return P_OK;
	}
	if (eq_ci(k, kn, "nid"))
		return parse_id_list(p, SEARCH_T_NOTE_IDS, k, kn, v, n, t);
	if (eq_ci(k, kn, "cid"))
		return parse_id_list(p, SEARCH_T_CARD_IDS, k, kn, v, n, t);
	if (eq_ci(k, kn, "re")) {
		t->kind = SEARCH_T_REGEX;
		return unescape_quotes(p, v, n, &t->text);
	}
	if (eq_ci(k, kn, "nc")) {
		t->kind = SEARCH_T_NC;
		return unescape(p, v, n, &t->text);
	}
	if (eq_ci(k, kn, "sc")) {
		t->kind = SEARCH_T_SC;
		return unescape(p, v, n, &t->text);
	}
	if (eq_ci(k, kn, "w")) {
		t->kind = SEARCH_T_WORD;
		return unescape(p, v, n, &t->text);
	}
	if (eq_ci(k, kn, "dupe"))
		return parse_dupe(p, v, n, t);
	if (eq_ci(k, kn, "has-cd")) {
		t->kind = SEARCH_T_CUSTOM_DATA;
		return unescape(p, v, n, &t->text);
	}
	if (eq_ci(k, kn, "preset")) {
		t->kind = SEARCH_T_PRESET;
		return (t->text = dupn(v, n)) ? P_OK : fail_nomem(p);
	}
	return parse_single_field(p, k, kn, v, n, t);
}

/* A term's text (quoted: between the quotes), split at the first
 * unescaped colon. */
static int term_for_text(struct parser *p, const char *s, size_t n, struct search_term *t)
{
	size_t end, errpos;
	bool noneof;
	if (esc_scan(s, n, ":\\", false, true, &end, &noneof, &errpos) != P_OK || end == 0)
		return fail_reason(p, MSG_MISSING_KEY);
	if (end == n) {
		t->kind = SEARCH_T_TEXT;
		return unescape(p, s, n, &t->text);
	}
	return term_with_argument(p, s, end, s + end + 1, n - end - 1, t);
}

/* ---- nodes ---- */

static struct search_node *node_new(enum search_node_type type)
{
	struct search_node *nd = calloc(1, sizeof *nd);
	if (nd)
		nd->type = type;
	return nd;
}

static void term_free(struct search_term *t)
{
	free(t->text);
	free(t->field);
	t->text = t->field = NULL;
}

void search_node_free(struct search_node *n)
{
	if (!n)
		return;
	search_node_free(n->child);
	for (size_t i = 0; i < n->nitems; i++)
		search_node_free(n->items[i]);
	free(n->items);
	term_free(&n->term);
	free(n);
}

/* Wrap a parsed term in a TERM node (freeing the term on failure). */
static int term_node(struct parser *p, int r, struct search_term *t, struct search_node **out)
{
	if (r == P_OK && ++p->terms > SEARCH_MAX_TERMS)
		r = fail_reason(p, "the search has too many terms.");
	if (r != P_OK) {
		term_free(t);
		return r;
	}
	struct search_node *nd = node_new(SEARCH_N_TERM);
	if (!nd) {
		term_free(t);
		return fail_nomem(p);
	}
	nd->term = *t;
	*out = nd;
	return P_OK;
}

/* Non-empty text between unescaped double quotes; s[0] must be '"'. */
static int quoted_str(struct parser *p, const char *s, size_t n, size_t *used, const char **in,
                      size_t *inn)
{
	if (!n || s[0] != '"')
		return P_NO;
	size_t end, errpos;
	bool noneof;
	if (esc_scan(s + 1, n - 1, "\"\\", false, true, &end, &noneof, &errpos) == P_OK) {
		if (1 + end < n && s[1 + end] == '"') {
			*in = s + 1;
			*inn = end;
			*used = end + 2;
			return P_OK;
		}
		return fail_reason(p, MSG_UNCLOSED_QUOTE);
	}
	return fail_reason(p, n > 1 && s[1] == '"' ? MSG_EMPTY_QUOTE : MSG_UNCLOSED_QUOTE);
}

static int quoted_term(struct parser *p, const char *s, size_t n, size_t *used,
                       struct search_node **out)
{
	const char *in;
	size_t inn;
	int r = quoted_str(p, s, n, used, &in, &inn);
	if (r)
		return r;
	struct search_term t = {0};
	return term_node(p, term_for_text(p, in, inn, &t), &t, out);
}

/* key:"value" */
static int partially_quoted_term(struct parser *p, const char *s, size_t n, size_t *used,
                                 struct search_node **out)
{
	size_t kend, errpos;
	bool noneof;
	if (esc_scan(s, n, "\"(): \\", true, false, &kend, &noneof, &errpos) != P_OK)
		return P_NO;
	if (kend >= n || s[kend] != ':')
		return P_NO;
	const char *in;
	size_t inn, qused;
	int r = quoted_str(p, s + kend + 1, n - kend - 1, &qused, &in, &inn);
	if (r)
		return r;
	*used = kend + 1 + qused;
	struct search_term t = {0};
	return term_node(p, term_with_argument(p, s, kend, in, inn, &t), &t, out);
}

static int unquoted_term(struct parser *p, const char *s, size_t n, size_t *used,
                         struct search_node **out)
{
	size_t end = 0, errpos = 0;
	bool noneof;
	if (esc_scan(s, n, "\"() \\", true, false, &end, &noneof, &errpos) != P_OK) {
		if (noneof) {
			/* nom reports the rest of the input after the backslash */
			char *seq = malloc(n - errpos + 2);
			if (!seq)
				return fail_nomem(p);
			seq[0] = '\\';
			memcpy(seq + 1, s + errpos, n - errpos);
			int r = fail_escape(p, seq, n - errpos + 1);
			free(seq);
			return r;
		}
		if (n && (strchr("\"() ", s[0]) || is_ideo_space(s, n)))
			return P_NO;
		return fail_escape(p, "\\", 1);
	}
	if (end == 0)
		return P_NO;
	*used = end;
	if (eq_ci(s, end, "and") || eq_ci(s, end, "or")) {
		struct search_node *nd =
		    node_new(eq_ci(s, end, "and") ? SEARCH_N_AND : SEARCH_N_OR);
		if (!nd)
			return fail_nomem(p);
		*out = nd;
		return P_OK;
	}
	struct search_term t = {0};
	return term_node(p, term_for_text(p, s, end, &t), &t, out);
}

static int text(struct parser *p, const char *s, size_t n, size_t *used, struct search_node **out)
{
	int r = quoted_term(p, s, n, used, out);
	if (r == P_NO)
		r = partially_quoted_term(p, s, n, used, out);
	if (r == P_NO)
		r = unquoted_term(p, s, n, used, out);
	return r;
}

static int group_inner(struct parser *p, const char *s, size_t n, size_t *used,
                       struct search_node ***items, size_t *nitems);

static int group(struct parser *p, const char *s, size_t n, size_t *used, struct search_node **out)
{
	if (!n || s[0] != '(')
		return P_NO;
	if (p->depth >= SEARCH_MAX_DEPTH)
		return fail_reason(p, "brackets are nested too deeply.");
	p->depth++;
	struct search_node **items = NULL;
	size_t nitems = 0, u = 0;
	int r = group_inner(p, s + 1, n - 1, &u, &items, &nitems);
	p->depth--;
	if (r)
		return r;
	if (1 + u < n && s[1 + u] == ')' && nitems) {
		struct search_node *g = node_new(SEARCH_N_GROUP);
		if (g) {
			g->items = items;
			g->nitems = nitems;
			*out = g;
			*used = u + 2;
			return P_OK;
		}
		r = fail_nomem(p);
	} else {
		r = fail_reason(p, 1 + u < n && s[1 + u] == ')' ? MSG_EMPTY_GROUP
		                                                : MSG_UNCLOSED_GROUP);
	}
	for (size_t i = 0; i < nitems; i++)
		search_node_free(items[i]);
	free(items);
	return r;
}

static int negated_node(struct parser *p, const char *s, size_t n, size_t *used,
                        struct search_node **out)
{
	if (!n || s[0] != '-')
		return P_NO;
	struct search_node *child = NULL;
	size_t u = 0;
	int r = group(p, s + 1, n - 1, &u, &child);
	if (r == P_NO)
		r = text(p, s + 1, n - 1, &u, &child);
	if (r)
		return r;
	if (child->type == SEARCH_N_AND || child->type == SEARCH_N_OR) {
		/* Anki builds NOT(AND), which its SQL writer turns into a syntax
		 * error; report it as the misplaced operator it is. */
		bool is_and = child->type == SEARCH_N_AND;
		search_node_free(child);
		return fail_reason(p, is_and ? MSG_MISPLACED("and") : MSG_MISPLACED("or"));
	}
	struct search_node *nd = node_new(SEARCH_N_NOT);
	if (!nd) {
		search_node_free(child);
		return fail_nomem(p);
	}
	nd->child = child;
	*out = nd;
	*used = u + 1;
	return P_OK;
}

static int node(struct parser *p, const char *s, size_t n, size_t *used, struct search_node **out)
{
	size_t ws = whitespace0(s, n), u = 0;
	int r = negated_node(p, s + ws, n - ws, &u, out);
	if (r == P_NO)
		r = group(p, s + ws, n - ws, &u, out);
	if (r == P_NO)
		r = text(p, s + ws, n - ws, &u, out);
	if (r == P_OK)
		*used = ws + u;
	return r;
}

static bool push(struct search_node ***items, size_t *n, size_t *cap, struct search_node *nd)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct search_node **v = realloc(*items, nc * sizeof *v);
		if (!v)
			return false;
		*items = v;
		*cap = nc;
	}
	(*items)[(*n)++] = nd;
	return true;
}

/* Zero or more nodes with AND/OR between them (implicit ANDs added). */
static int group_inner(struct parser *p, const char *s, size_t n, size_t *used,
                       struct search_node ***items, size_t *nitems)
{
	struct search_node **v = NULL;
	size_t k = 0, cap = 0, pos = 0;
	int r;
	for (;;) {
		struct search_node *nd = NULL;
		size_t u = 0;
		r = node(p, s + pos, n - pos, &u, &nd);
		if (r == P_NO)
			break;
		if (r)
			goto out;
		pos += u;
		bool is_op = nd->type == SEARCH_N_AND || nd->type == SEARCH_N_OR;
		if (k % 2 == 0 && is_op) {
			bool is_and = nd->type == SEARCH_N_AND;
			search_node_free(nd);
			r = fail_reason(p, is_and ? MSG_MISPLACED("and") : MSG_MISPLACED("or"));
			goto out;
		}
		if (k % 2 == 1 && !is_op) {
			struct search_node *a = node_new(SEARCH_N_AND);
			if (!a || !push(&v, &k, &cap, a)) {
				free(a);
				search_node_free(nd);
				r = fail_nomem(p);
				goto out;
			}
		}
		if (!push(&v, &k, &cap, nd)) {
			search_node_free(nd);
			r = fail_nomem(p);
			goto out;
		}
	}
	if (k && (v[k - 1]->type == SEARCH_N_AND || v[k - 1]->type == SEARCH_N_OR)) {
		r = fail_reason(p, v[k - 1]->type == SEARCH_N_AND ? MSG_MISPLACED("and")
		                                                  : MSG_MISPLACED("or"));
		goto out;
	}
	pos += whitespace0(s + pos, n - pos);
	*used = pos;
	*items = v;
	*nitems = k;
	return P_OK;
out:
	for (size_t i = 0; i < k; i++)
		search_node_free(v[i]);
	free(v);
	return r;
}

/* Step 1 of §1: every Unicode whitespace character becomes a space, then
 * the result is trimmed.  ST_INVALID for invalid UTF-8. */
static enum status normalize_whitespace(const char *q, size_t n, struct buf *out, struct errinfo *e)
{
	if (!text_utf8_valid(q, n))
		return errinfo_set(e, ST_INVALID, "Invalid search: the search is not valid UTF-8.");
	enum status st = ST_OK;
	size_t i = 0, start = 0;
	while (i < n && !st) {
		size_t adv;
		int32_t cp = text_utf8_decode((const unsigned char *)q + i, n - i, &adv);
		if (text_is_white_space(cp) && !(cp == ' ')) {
			if (!(st = buf_append(out, q + start, i - start, e)))
				st = buf_append(out, " ", 1, e);
			start = i + adv;
		}
		i += adv;
	}
	if (!st)
		st = buf_append(out, q + start, n - start, e);
	return st;
}

enum status search_parse(const char *query, struct search_node **out, struct errinfo *e)
{
	*out = NULL;
	size_t qn = strlen(query);
	if (qn > SEARCH_MAX_QUERY)
		return errinfo_set(e, ST_TOOBIG,
		                   "Invalid search: the search is longer than %u bytes.",
		                   SEARCH_MAX_QUERY);
	struct buf b;
	buf_init(&b, 0);
	enum status st = normalize_whitespace(query, qn, &b, e);
	if (st) {
		buf_free(&b);
		return st;
	}
	const char *s = b.data ? (const char *)b.data : "";
	size_t n = b.len;
	while (n && s[0] == ' ')
		s++, n--;
	while (n && s[n - 1] == ' ')
		n--;

	struct search_node *top = node_new(SEARCH_N_GROUP);
	if (!top) {
		buf_free(&b);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	struct parser p = {.e = e, .st = ST_OK, .depth = 0};
	int r = P_OK;
	if (!n) {
		struct search_node *all = node_new(SEARCH_N_TERM);
		if (!all || !(top->items = malloc(sizeof *top->items))) {
			free(all);
			r = fail_nomem(&p);
		} else {
			all->term.kind = SEARCH_T_ALL;
			top->items[0] = all;
			top->nitems = 1;
		}
	} else {
		size_t used = 0;
		r = group_inner(&p, s, n, &used, &top->items, &top->nitems);
		if (r == P_OK && used != n)
			r = fail_reason(&p, MSG_UNOPENED_GROUP);
	}
	buf_free(&b);
	if (r != P_OK) {
		search_node_free(top);
		return p.st ? p.st : ST_INTERNAL;
	}
	*out = top;
	return ST_OK;
}

/* ---- text form ---- */

static const char *const kind_names[] = {
    [SEARCH_T_ALL] = "all",
    [SEARCH_T_TEXT] = "text",
    [SEARCH_T_FIELD] = "field",
    [SEARCH_T_ADDED] = "added",
    [SEARCH_T_EDITED] = "edited",
    [SEARCH_T_INTRODUCED] = "introduced",
    [SEARCH_T_TEMPLATE_ORD] = "card-ord",
    [SEARCH_T_TEMPLATE_NAME] = "card",
    [SEARCH_T_DECK] = "deck",
    [SEARCH_T_DECK_IDS] = "did",
    [SEARCH_T_NOTETYPE_ID] = "mid",
    [SEARCH_T_NOTETYPE] = "note",
    [SEARCH_T_RATED] = "rated",
    [SEARCH_T_TAG] = "tag",
    [SEARCH_T_DUPE] = "dupe",
    [SEARCH_T_STATE] = "is",
    [SEARCH_T_FLAG] = "flag",
    [SEARCH_T_NOTE_IDS] = "nid",
    [SEARCH_T_CARD_IDS] = "cid",
    [SEARCH_T_PROP] = "prop",
    [SEARCH_T_REGEX] = "re",
    [SEARCH_T_NC] = "nc",
    [SEARCH_T_SC] = "sc",
    [SEARCH_T_WORD] = "w",
    [SEARCH_T_CUSTOM_DATA] = "has-cd",
    [SEARCH_T_PRESET] = "preset",
};

static const char *const state_names[] = {
    "new", "review", "learn", "due", "buried", "buried-manually", "buried-sibling", "suspended"};
static const char *const prop_fmt_names[] = {
    "ivl", "due", "reps", "lapses", "ease", "pos", "rated", "resched", "s", "d", "r", "cdn", "cds"};
static const char *const op_names[] = {"=", "!=", "<", ">", "<=", ">="};
static const char *const mode_names[] = {"", "re:", "nc:"};

static enum status format_term(const struct search_term *t, struct buf *out, struct errinfo *e)
{
	const char *k = kind_names[t->kind];
	const char *txt = t->text ? t->text : "";
	switch (t->kind) {
	case SEARCH_T_ALL:
		return buf_append_str(out, "all", e);
	case SEARCH_T_FIELD:
		return buf_printf(out, e, "field:\"%s\":%s\"%s\"", t->field ? t->field : "",
		                  mode_names[t->mode], txt);
	case SEARCH_T_TAG:
		return buf_printf(out, e, "tag:%s\"%s\"", mode_names[t->mode], txt);
	case SEARCH_T_ADDED:
	case SEARCH_T_EDITED:
	case SEARCH_T_INTRODUCED:
	case SEARCH_T_TEMPLATE_ORD:
	case SEARCH_T_NOTETYPE_ID:
	case SEARCH_T_FLAG:
		return buf_printf(out, e, "%s:%lld", k, (long long)t->num);
	case SEARCH_T_RATED:
		return buf_printf(out, e, "rated:%lld:%d", (long long)t->num, t->rating);
	case SEARCH_T_DUPE:
		return buf_printf(out, e, "dupe:%lld,\"%s\"", (long long)t->num, txt);
	case SEARCH_T_STATE:
		return buf_printf(out, e, "is:%s", state_names[t->state]);
	case SEARCH_T_PROP:
		switch (t->prop) {
		case SEARCH_PROP_EASE:
		case SEARCH_PROP_S:
		case SEARCH_PROP_D:
		case SEARCH_PROP_R:
			return buf_printf(out, e, "prop:%s%s%g", prop_fmt_names[t->prop],
			                  op_names[t->op], (double)t->fnum);
		case SEARCH_PROP_CDN:
			return buf_printf(out, e, "prop:cdn:%s%s%g", t->field ? t->field : "",
			                  op_names[t->op], (double)t->fnum);
		case SEARCH_PROP_CDS:
			return buf_printf(out, e, "prop:cds:%s%s\"%s\"", t->field ? t->field : "",
			                  op_names[t->op], txt);
		case SEARCH_PROP_RATED:
			return buf_printf(out, e, "prop:rated%s%lld:%d", op_names[t->op],
			                  (long long)t->num, t->rating);
		default:
			return buf_printf(out, e, "prop:%s%s%lld", prop_fmt_names[t->prop],
			                  op_names[t->op], (long long)t->num);
		}
	default:
		return buf_printf(out, e, "%s:\"%s\"", k, txt);
	}
}

enum status search_node_format(const struct search_node *n, struct buf *out, struct errinfo *e)
{
	enum status st = ST_OK;
	switch (n->type) {
	case SEARCH_N_AND:
		return buf_append_str(out, " AND ", e);
	case SEARCH_N_OR:
		return buf_append_str(out, " OR ", e);
	case SEARCH_N_NOT:
		if (!(st = buf_append_str(out, "NOT ", e)))
			st = search_node_format(n->child, out, e);
		return st;
	case SEARCH_N_GROUP:
		st = buf_append_str(out, "(", e);
		for (size_t i = 0; i < n->nitems && !st; i++)
			st = search_node_format(n->items[i], out, e);
		return st ? st : buf_append_str(out, ")", e);
	case SEARCH_N_TERM:
		return format_term(&n->term, out, e);
	}
	return ST_OK;
}
