/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sqlfn.c - Anki's SQL functions (collection-format.md §1.3; semantics of
 * rslib/src/storage/sqlite.rs and storage/card/data.rs, re-implemented).
 *
 * Argument rules follow Anki's accessors: where Anki reads an argument
 * with as_str()/get::<int>() a value of another type is an SQL error;
 * where it uses `let Ok(..) else { return None }` the result is NULL.
 * One deliberate difference: Anki errors on text that is not valid UTF-8;
 * here regexps match it (PCRE2_MATCH_INVALID_UTF) and process_text reads
 * it as U+FFFD, so one damaged note cannot abort a whole search.
 *
 * cards.data is parsed the way serde derives CardData: a JSON object (or
 * an array in field order); a present "cd" that is not a string, or JSON
 * that does not parse, makes every field absent; other fields that have
 * the wrong type are absent on their own.
 */
#include "sqlfn.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "text.h"
#include "unicase.h"

#define NONE SIZE_MAX

/* ---- regular expressions ---- */

struct regex {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

static void regex_free(void *p)
{
	struct regex *r = p;
	if (!r)
		return;
	pcre2_match_data_free(r->md);
	pcre2_match_context_free(r->mc);
	pcre2_code_free(r->code);
	free(r);
}

/* The compiled pattern of argument 0, from the statement's cache or new
 * (*fresh = 1: hand it to regex_keep when done).  NULL after setting an
 * SQL error. */
static struct regex *regex_get(sqlite3_context *ctx, sqlite3_value *pat, int *fresh)
{
	*fresh = 0;
	struct regex *r = sqlite3_get_auxdata(ctx, 0);
	if (r)
		return r;
	if (sqlite3_value_type(pat) != SQLITE_TEXT) {
		sqlite3_result_error(ctx, "regexp: the pattern must be text", -1);
		return NULL;
	}
	const char *p = (const char *)sqlite3_value_text(pat);
	size_t n = (size_t)sqlite3_value_bytes(pat);
	if (!(r = calloc(1, sizeof *r))) {
		sqlite3_result_error_nomem(ctx);
		return NULL;
	}
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	if (!cc) {
		free(r);
		sqlite3_result_error_nomem(ctx);
		return NULL;
	}
	pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
	int err = 0;
	PCRE2_SIZE off = 0;
	r->code = pcre2_compile(
	    (PCRE2_SPTR)(p ? p : ""), n,
	    PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_MATCH_INVALID_UTF, &err, &off, cc);
	pcre2_compile_context_free(cc);
	if (!r->code) {
		PCRE2_UCHAR msg[160];
		char full[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		snprintf(full, sizeof full, "regexp: %s at offset %zu", (const char *)msg,
		         (size_t)off);
		sqlite3_result_error(ctx, full, -1);
		regex_free(r);
		return NULL;
	}
	r->md = pcre2_match_data_create_from_pattern(r->code, NULL);
	r->mc = pcre2_match_context_create(NULL);
	if (!r->md || !r->mc) {
		regex_free(r);
		sqlite3_result_error_nomem(ctx);
		return NULL;
	}
	pcre2_set_match_limit(r->mc, SQLFN_REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(r->mc, SQLFN_REGEX_DEPTH_LIMIT);
	*fresh = 1;
	return r;
}

/* Cache a fresh pattern for the rest of the statement (SQLite may free it
 * at once when the pattern is not constant, so this comes last). */
static void regex_keep(sqlite3_context *ctx, struct regex *r, int fresh)
{
	if (fresh)
		sqlite3_set_auxdata(ctx, 0, r, regex_free);
}

/* 1 match, 0 no match, -1 error (already reported). */
static int regex_match(sqlite3_context *ctx, struct regex *r, const char *s, size_t n)
{
	int rc = pcre2_match(r->code, (PCRE2_SPTR)(s ? s : ""), n, 0, 0, r->md, r->mc);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT) {
		sqlite3_result_error(ctx, "regexp: match limit exceeded (pattern too complex)", -1);
	} else {
		PCRE2_UCHAR msg[160];
		char full[200];
		pcre2_get_error_message(rc, msg, sizeof msg);
		snprintf(full, sizeof full, "regexp: %s", (const char *)msg);
		sqlite3_result_error(ctx, full, -1);
	}
	return -1;
}

static int need_text(sqlite3_context *ctx, sqlite3_value *v, const char *fn)
{
	if (sqlite3_value_type(v) == SQLITE_TEXT)
		return 1;
	char msg[96];
	snprintf(msg, sizeof msg, "%s: text expected", fn);
	sqlite3_result_error(ctx, msg, -1);
	return 0;
}

static void fn_regexp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	int fresh;
	struct regex *r = regex_get(ctx, argv[0], &fresh);
	if (!r)
		return;
	if (need_text(ctx, argv[1], "regexp")) {
		const char *s = (const char *)sqlite3_value_text(argv[1]);
		int m = regex_match(ctx, r, s, (size_t)sqlite3_value_bytes(argv[1]));
		if (m >= 0)
			sqlite3_result_int(ctx, m);
	}
	regex_keep(ctx, r, fresh);
}

static void fn_regexp_fields(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	if (argc < 2) {
		sqlite3_result_error(ctx, "regexp_fields: not enough arguments", -1);
		return;
	}
	int fresh;
	struct regex *r = regex_get(ctx, argv[0], &fresh);
	if (!r)
		return;
	int found = 0, failed = !need_text(ctx, argv[1], "regexp_fields");
	for (int i = 2; i < argc && !failed; i++) {
		if (sqlite3_value_type(argv[i]) != SQLITE_INTEGER ||
		    sqlite3_value_int64(argv[i]) < 0) {
			sqlite3_result_error(
			    ctx, "regexp_fields: field indexes must be integers >= 0", -1);
			failed = 1;
		}
	}
	if (!failed) {
		const char *s = (const char *)sqlite3_value_text(argv[1]);
		size_t n = (size_t)sqlite3_value_bytes(argv[1]), start = 0;
		sqlite3_int64 idx = 0;
		for (size_t i = 0; i <= n && !found && !failed; i++) {
			if (i < n && s[i] != TEXT_FIELD_SEP)
				continue;
			int wanted = argc == 2;
			for (int k = 2; k < argc && !wanted; k++)
				wanted = sqlite3_value_int64(argv[k]) == idx;
			if (wanted) {
				int m = regex_match(ctx, r, s + start, i - start);
				if (m < 0)
					failed = 1;
				found = m > 0;
			}
			start = i + 1;
			idx++;
		}
	}
	if (!failed)
		sqlite3_result_int(ctx, found);
	regex_keep(ctx, r, fresh);
}

static void fn_regexp_tags(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	int fresh;
	struct regex *r = regex_get(ctx, argv[0], &fresh);
	if (!r)
		return;
	if (need_text(ctx, argv[1], "regexp_tags")) {
		const char *s = (const char *)sqlite3_value_text(argv[1]);
		size_t n = (size_t)sqlite3_value_bytes(argv[1]), start = 0;
		int found = 0, m = 0;
		/* every piece between single spaces, empty ones included */
		for (size_t i = 0; i <= n && !found; i++) {
			if (i < n && s[i] != ' ')
				continue;
			if ((m = regex_match(ctx, r, s + start, i - start)) < 0)
				break;
			found = m;
			start = i + 1;
		}
		if (m >= 0)
			sqlite3_result_int(ctx, found);
	}
	regex_keep(ctx, r, fresh);
}

/* ---- fields, text ---- */

static void fn_field_at_index(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (!need_text(ctx, argv[0], "field_at_index"))
		return;
	sqlite3_int64 want = sqlite3_value_int64(argv[1]);
	if (sqlite3_value_type(argv[1]) != SQLITE_INTEGER || want < 0 || want > UINT16_MAX) {
		sqlite3_result_error(ctx, "field_at_index: index must be an integer 0..65535", -1);
		return;
	}
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	size_t n = (size_t)sqlite3_value_bytes(argv[0]), start = 0;
	sqlite3_int64 idx = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != TEXT_FIELD_SEP)
			continue;
		if (idx++ == want) {
			sqlite3_result_text(ctx, s + start, (int)(i - start), SQLITE_TRANSIENT);
			return;
		}
		start = i + 1;
	}
	sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
}

static bool is_cloze_digit(const unsigned char *s, size_t n, size_t i, size_t *adv)
{
	int32_t cp = text_utf8_decode(s + i, n - i, adv);
	return cp == ',' || (cp >= '0' && cp <= '9') ||
	       (cp >= 0x80 && utf8proc_category(cp) == UTF8PROC_CATEGORY_ND);
}

enum status sqlfn_strip_clozes(const char *in, size_t len, struct buf *out, int *changed,
                               struct errinfo *e)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t pos = 0, copied = 0, last_close = NONE;
	enum status st;
	buf_reset(out);
	if (changed)
		*changed = 0;
	for (size_t i = len; i >= 2; i--)
		if (s[i - 2] == '}' && s[i - 1] == '}') {
			last_close = i - 2;
			break;
		}
	while (last_close != NONE && pos < len) {
		const unsigned char *hit =
		    len - pos >= 3 ? memmem(s + pos, len - pos, "{{c", 3) : NULL;
		if (!hit)
			break;
		size_t i = (size_t)(hit - s), j = i + 3, adv;
		pos = i + 1;
		while (j < len && is_cloze_digit(s, len, j, &adv))
			j += adv;
		if (j == i + 3 || len - j < 2 || s[j] != ':' || s[j + 1] != ':')
			continue;
		size_t g1 = j + 2;
		if (g1 > last_close)
			break; /* no "}}" left: no later start can match either */
		/* group 1 ends at the first "::" or "}}"; with a "}}" somewhere
		 * after, one of the two alternatives then matches */
		size_t k = g1, end = NONE;
		while (k + 1 < len) {
			if (s[k] == ':' && s[k + 1] == ':' && last_close >= k + 2) {
				const unsigned char *c = memmem(s + k + 2, len - k - 2, "}}", 2);
				end = (size_t)(c - s) + 2;
				break;
			}
			if (s[k] == '}' && s[k + 1] == '}') {
				end = k + 2;
				break;
			}
			k++;
		}
		if (end == NONE)
			continue;
		if ((st = buf_append(out, s + copied, i - copied, e)) != ST_OK ||
		    (k > g1 && (st = buf_append(out, s + g1, k - g1, e)) != ST_OK))
			return st;
		copied = pos = end;
		if (changed)
			*changed = 1;
	}
	if ((st = buf_append(out, s + copied, len - copied, e)) != ST_OK)
		return st;
	return ST_OK;
}

/* Letters Anki maps by hand after stripping marks (text.rs
 * EXTRA_NO_COMBINING_REPLACEMENTS). */
static const struct {
	int32_t cp;
	const char *to;
} extra_replacements[] = {
    {0x00C6, "AE"}, {0x00D0, "D"},  {0x00D8, "O"},  {0x00DE, "TH"}, {0x00DF, "s"}, {0x00E6, "ae"},
    {0x00F0, "d"},  {0x00F8, "o"},  {0x00FE, "th"}, {0x0110, "D"},  {0x0111, "d"}, {0x0126, "H"},
    {0x0127, "h"},  {0x0131, "i"},  {0x0138, "k"},  {0x0141, "L"},  {0x0142, "l"}, {0x014A, "N"},
    {0x014B, "n"},  {0x0152, "OE"}, {0x0153, "oe"}, {0x0166, "T"},  {0x0167, "t"}, {0x018F, "E"},
    {0x01DD, "e"},  {0x0251, "a"},  {0x20AC, "E"},
};

enum status sqlfn_without_combining(const char *in, size_t len, struct buf *out, int *changed,
                                    struct errinfo *e)
{
	struct buf lossy;
	enum status st;
	buf_init(&lossy, 0);
	buf_reset(out);
	if (changed)
		*changed = 0;
	if ((st = text_utf8_lossy(in, len, &lossy, e)) != ST_OK)
		goto done;
	utf8proc_uint8_t *nfkd = NULL;
	utf8proc_ssize_t n = 0;
	if (lossy.len) {
		n = utf8proc_map(lossy.data, (utf8proc_ssize_t)lossy.len, &nfkd,
		                 UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |
		                     UTF8PROC_STRIPMARK);
		if (n < 0) {
			free(nfkd);
			st = errinfo_set(e, n == UTF8PROC_ERROR_NOMEM ? ST_NOMEM : ST_INVALID,
			                 "without_combining: %s", utf8proc_errmsg(n));
			goto done;
		}
	}
	for (utf8proc_ssize_t i = 0; i < n && st == ST_OK;) {
		size_t adv;
		int32_t cp = text_utf8_decode(nfkd + i, (size_t)(n - i), &adv);
		const char *rep = NULL;
		for (size_t k = 0; k < sizeof extra_replacements / sizeof *extra_replacements; k++)
			if (extra_replacements[k].cp == cp)
				rep = extra_replacements[k].to;
		st = rep ? buf_append_str(out, rep, e) : buf_append(out, nfkd + i, adv, e);
		i += (utf8proc_ssize_t)adv;
	}
	free(nfkd);
	if (st == ST_OK)
		st = buf_append(out, "", 0, e); /* storage even when empty */
	if (st == ST_OK && changed)
		*changed = out->len != len || (len && memcmp(out->data, in, len) != 0);
done:
	buf_free(&lossy);
	return st;
}

static void fn_process_text(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (!need_text(ctx, argv[0], "process_text"))
		return;
	if (sqlite3_value_type(argv[1]) != SQLITE_INTEGER) {
		sqlite3_result_error(ctx, "process_text: flags must be an integer", -1);
		return;
	}
	unsigned flags = (unsigned)(sqlite3_value_int64(argv[1]) & 0xFF);
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	size_t n = (size_t)sqlite3_value_bytes(argv[0]);
	struct buf a, b;
	buf_init(&a, 0);
	buf_init(&b, 0);
	int changed = 0, ch;
	enum status st = ST_OK;
	if (flags & 2) {
		if ((st = sqlfn_strip_clozes(s, n, &a, &ch, NULL)) == ST_OK && ch) {
			s = (const char *)a.data;
			n = a.len;
			changed = 1;
		}
	}
	if (st == ST_OK && (flags & 1)) {
		if ((st = sqlfn_without_combining(s, n, &b, &ch, NULL)) == ST_OK && ch) {
			s = (const char *)b.data;
			n = b.len;
			changed = 1;
		}
	}
	if (st == ST_NOMEM)
		sqlite3_result_error_nomem(ctx);
	else if (st != ST_OK)
		sqlite3_result_error(ctx, "process_text: cannot process text", -1);
	else if (!changed)
		sqlite3_result_null(ctx); /* Anki: unchanged text gives NULL */
	else
		sqlite3_result_text(ctx, s ? s : "", (int)n, SQLITE_TRANSIENT);
	buf_free(&a);
	buf_free(&b);
}

static void fn_fnvhash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (int i = 0; i < argc; i++) {
		if (sqlite3_value_type(argv[i]) != SQLITE_INTEGER) {
			sqlite3_result_error(ctx, "fnvhash: integers expected", -1);
			return;
		}
		uint64_t v = (uint64_t)sqlite3_value_int64(argv[i]);
		for (int b = 0; b < 8; b++) {
			h ^= (v >> (8 * b)) & 0xFF;
			h *= 0x100000001b3ull;
		}
	}
	sqlite3_result_int64(ctx, (sqlite3_int64)h);
}

/* ---- cards.data ---- */

struct card_data {
	json_t *root;
	bool has_pos, has_s, has_d, has_dr;
	uint32_t pos;
	float s, d, dr;
	const char *cd; /* "" when absent */
	size_t cdlen;
};

static bool as_f32(json_t *v, float *out)
{
	if (!json_is_number(v))
		return false;
	*out = json_is_integer(v) ? (float)json_integer_value(v) : (float)json_real_value(v);
	return true;
}

/* Field k of CardData (0 pos, 1 s, 2 d, 3 dr, 4 decay, 5 lrt, 6 cd);
 * false when the whole record must be rejected. */
static bool card_field(struct card_data *c, int k, json_t *v)
{
	switch (k) {
	case 0:
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= (json_int_t)UINT32_MAX) {
			c->pos = (uint32_t)json_integer_value(v);
			c->has_pos = true;
		}
		return true;
	case 1:
		c->has_s = as_f32(v, &c->s);
		return true;
	case 2:
		c->has_d = as_f32(v, &c->d);
		return true;
	case 3:
		c->has_dr = as_f32(v, &c->dr);
		return true;
	case 6:
		if (!json_is_string(v))
			return false; /* "cd" has no default_on_invalid */
		c->cd = json_string_value(v);
		c->cdlen = json_string_length(v);
		return true;
	default:
		return true;
	}
}

static void card_data_parse(const char *s, size_t n, struct card_data *c)
{
	static const char *const names[] = {"pos", "s", "d", "dr", "decay", "lrt", "cd"};
	memset(c, 0, sizeof *c);
	c->cd = "";
	json_error_t err;
	c->root = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	bool ok = c->root != NULL;
	if (ok && json_is_object(c->root)) {
		for (int k = 0; k < 7 && ok; k++) {
			json_t *v = json_object_get(c->root, names[k]);
			if (v)
				ok = card_field(c, k, v);
		}
	} else if (ok && json_is_array(c->root) && json_array_size(c->root) <= 7) {
		for (size_t k = 0; k < json_array_size(c->root) && ok; k++)
			ok = card_field(c, (int)k, json_array_get(c->root, k));
	} else {
		ok = false;
	}
	if (!ok) {
		json_t *root = c->root;
		memset(c, 0, sizeof *c);
		c->root = root;
		c->cd = "";
	}
}

static void card_data_free(struct card_data *c)
{
	json_decref(c->root);
	c->root = NULL;
}

/* data argument: NULL result (true) unless non-empty text */
static bool data_arg(sqlite3_value *v, const char **s, size_t *n, bool allow_empty)
{
	if (sqlite3_value_type(v) != SQLITE_TEXT)
		return false;
	*s = (const char *)sqlite3_value_text(v);
	*n = (size_t)sqlite3_value_bytes(v);
	return allow_empty || *n > 0;
}

static void fn_extract_original_position(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const char *s;
	size_t n;
	if (!data_arg(argv[0], &s, &n, true)) {
		sqlite3_result_null(ctx);
		return;
	}
	struct card_data c;
	card_data_parse(s, n, &c);
	if (c.has_pos)
		sqlite3_result_int64(ctx, c.pos);
	else
		sqlite3_result_null(ctx);
	card_data_free(&c);
}

static void fn_extract_fsrs_variable(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const char *s;
	size_t n;
	if (!data_arg(argv[0], &s, &n, false) || sqlite3_value_type(argv[1]) != SQLITE_TEXT) {
		sqlite3_result_null(ctx);
		return;
	}
	const char *key = (const char *)sqlite3_value_text(argv[1]);
	int which = !strcmp(key, "s") ? 1 : !strcmp(key, "d") ? 2 : !strcmp(key, "dr") ? 3 : 0;
	if (!which) {
		sqlite3_result_error(ctx, "extract_fsrs_variable: key must be 's', 'd' or 'dr'",
		                     -1);
		return;
	}
	struct card_data c;
	card_data_parse(s, n, &c);
	bool has = which == 1 ? c.has_s : which == 2 ? c.has_d : c.has_dr;
	float v = which == 1 ? c.s : which == 2 ? c.d : c.dr;
	if (has)
		sqlite3_result_double(ctx, (double)v); /* Anki's f32, widened */
	else
		sqlite3_result_null(ctx);
	card_data_free(&c);
}

/* serde_json's Display for f64 (ryu): shortest round-trip digits,
 * "1.0", "0.001", "1e-7", "1.5e20". */
static void format_f64(double v, char *out, size_t outsz)
{
	char tmp[40];
	int p;
	if (v == 0) {
		snprintf(out, outsz, "%s", signbit(v) ? "-0.0" : "0.0");
		return;
	}
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	/* tmp: [-]d[.ddd]e[+-]xx */
	const char *q = tmp;
	bool neg = *q == '-';
	if (neg)
		q++;
	char digits[24];
	size_t nd = 0;
	for (; *q && *q != 'e'; q++)
		if (*q != '.')
			digits[nd++] = *q;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	int exp10 = (int)strtol(q + 1, NULL, 10);
	int kk = exp10 + 1;   /* position of the decimal point */
	int k = kk - (int)nd; /* value = digits * 10^k */
	char *o = out;
	size_t left = outsz;
#define EMIT(...)                                                                                  \
	do {                                                                                       \
		int w_ = snprintf(o, left, __VA_ARGS__);                                           \
		if (w_ < 0 || (size_t)w_ >= left)                                                  \
			return;                                                                    \
		o += w_;                                                                           \
		left -= (size_t)w_;                                                                \
	} while (0)
	if (neg)
		EMIT("-");
	if (k >= 0 && kk <= 16) {
		EMIT("%s", digits);
		for (int i = 0; i < k; i++)
			EMIT("0");
		EMIT(".0");
	} else if (kk > 0 && kk <= 16) {
		EMIT("%.*s.%s", kk, digits, digits + kk);
	} else if (kk > -5 && kk <= 0) {
		EMIT("0.");
		for (int i = 0; i < -kk; i++)
			EMIT("0");
		EMIT("%s", digits);
	} else if (nd == 1) {
		EMIT("%se%d", digits, kk - 1);
	} else {
		EMIT("%c.%se%d", digits[0], digits + 1, kk - 1);
	}
#undef EMIT
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* serde_json's compact to_string of a Value (object keys sorted, as its
 * default BTreeMap keeps them).  Nesting is bounded by jansson's parser. */
static enum status put_json(struct buf *b, json_t *v)
{
	char num[64];
	enum status st = ST_OK;
	switch (json_typeof(v)) {
	case JSON_NULL:
		return buf_append_str(b, "null", NULL);
	case JSON_TRUE:
		return buf_append_str(b, "true", NULL);
	case JSON_FALSE:
		return buf_append_str(b, "false", NULL);
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf_append_str(b, num, NULL);
	case JSON_REAL:
		format_f64(json_real_value(v), num, sizeof num);
		return buf_append_str(b, num, NULL);
	case JSON_STRING:
		return text_json_string(b, json_string_value(v), json_string_length(v), NULL);
	case JSON_ARRAY:
		st = buf_append(b, "[", 1, NULL);
		for (size_t i = 0; i < json_array_size(v) && st == ST_OK; i++) {
			if (i)
				st = buf_append(b, ",", 1, NULL);
			if (st == ST_OK)
				st = put_json(b, json_array_get(v, i));
		}
		return st == ST_OK ? buf_append(b, "]", 1, NULL) : st;
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = malloc((n ? n : 1) * sizeof *keys);
		if (!keys)
			return ST_NOMEM;
		const char *key;
		json_t *val;
		json_object_foreach(v, key, val) keys[i++] = key;
		qsort(keys, n, sizeof *keys, str_cmp);
		st = buf_append(b, "{", 1, NULL);
		for (i = 0; i < n && st == ST_OK; i++) {
			if (i)
				st = buf_append(b, ",", 1, NULL);
			if (st == ST_OK)
				st = text_json_string(b, keys[i], strlen(keys[i]), NULL);
			if (st == ST_OK)
				st = buf_append(b, ":", 1, NULL);
			if (st == ST_OK)
				st = put_json(b, json_object_get(v, keys[i]));
		}
		free(keys);
		return st == ST_OK ? buf_append(b, "}", 1, NULL) : st;
	}
	}
	return ST_INTERNAL;
}

static void fn_extract_custom_data(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const char *s;
	size_t n;
	if (!data_arg(argv[0], &s, &n, false) || sqlite3_value_type(argv[1]) != SQLITE_TEXT) {
		sqlite3_result_null(ctx);
		return;
	}
	const char *key = (const char *)sqlite3_value_text(argv[1]);
	size_t klen = (size_t)sqlite3_value_bytes(argv[1]);
	struct card_data c;
	card_data_parse(s, n, &c);
	json_error_t err;
	json_t *custom = json_loadb(c.cd, c.cdlen, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	json_t *v = json_is_object(custom) ? json_object_getn(custom, key, klen) : NULL;
	if (!v) {
		sqlite3_result_null(ctx);
	} else if (json_is_string(v)) {
		sqlite3_result_text(ctx, json_string_value(v), (int)json_string_length(v),
		                    SQLITE_TRANSIENT);
	} else {
		struct buf b;
		buf_init(&b, 0);
		if (put_json(&b, v) == ST_OK)
			sqlite3_result_text(ctx, (const char *)b.data, (int)b.len,
			                    SQLITE_TRANSIENT);
		else
			sqlite3_result_error_nomem(ctx);
		buf_free(&b);
	}
	json_decref(custom);
	card_data_free(&c);
}

/* ---- registration ---- */

int sqlfn_register(sqlite3 *db)
{
	static const struct {
		const char *name;
		int nargs;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} fns[] = {
	    {"field_at_index", 2, fn_field_at_index},
	    {"regexp", 2, fn_regexp},
	    {"regexp_fields", -1, fn_regexp_fields},
	    {"regexp_tags", 2, fn_regexp_tags},
	    {"process_text", 2, fn_process_text},
	    {"fnvhash", -1, fn_fnvhash},
	    {"extract_original_position", 1, fn_extract_original_position},
	    {"extract_custom_data", 2, fn_extract_custom_data},
	    {"extract_fsrs_variable", 2, fn_extract_fsrs_variable},
	};
	int rc = unicase_register(db);
	for (size_t i = 0; i < sizeof fns / sizeof *fns && rc == SQLITE_OK; i++)
		rc = sqlite3_create_function_v2(db, fns[i].name, fns[i].nargs,
		                                SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, fns[i].fn,
		                                NULL, NULL, NULL);
	return rc;
}
