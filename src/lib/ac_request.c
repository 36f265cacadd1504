/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ac_request.c - AnkiConnect request envelope: UTF-8 check, JSON parse,
 * schema check, Python-worded errors, Python reprs, CORS decision
 * (ankiconnect.md §1.3, §1.5, §1.7).
 *
 * The parse itself is jansson's.  Only when jansson refuses a body does
 * the scanner below walk it the way CPython's json C scanner does, to
 * report the first error at the same position with the same words; it
 * keeps no state beyond a recursion depth bounded by AC_MAX_JSON_DEPTH.
 */
#include "ac_request.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* ---- UTF-8 errors as CPython's decoder words them ---- */

static size_t utf8_need(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		return 1;
	if (c >= 0xe0 && c <= 0xef) {
		if (c == 0xe0)
			*lo = 0xa0;
		if (c == 0xed)
			*hi = 0x9f;
		return 2;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (c == 0xf0)
			*lo = 0x90;
		if (c == 0xf4)
			*hi = 0x8f;
		return 3;
	}
	return 0; /* invalid start byte */
}

static void utf8_msg(struct buf *msg, const unsigned char *s, size_t start, size_t end,
                     const char *why)
{
	buf_reset(msg);
	if (end - start == 1)
		buf_printf(msg, NULL, "'utf-8' codec can't decode byte 0x%02x in position %zu: %s",
		           s[start], start, why);
	else
		buf_printf(msg, NULL, "'utf-8' codec can't decode bytes in position %zu-%zu: %s",
		           start, end - 1, why);
}

bool ac_py_utf8_error(const char *str, size_t len, struct buf *msg)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		unsigned char lo, hi;
		size_t need = utf8_need(c, &lo, &hi);
		if (!need) {
			utf8_msg(msg, s, i, i + 1, "invalid start byte");
			return true;
		}
		size_t j = 1;
		for (; j <= need; j++) {
			if (i + j >= len) {
				utf8_msg(msg, s, i, len, "unexpected end of data");
				return true;
			}
			unsigned char d = s[i + j];
			unsigned char l = j == 1 ? lo : 0x80, h = j == 1 ? hi : 0xbf;
			if (d < l || d > h) {
				utf8_msg(msg, s, i, i + j, "invalid continuation byte");
				return true;
			}
		}
		i += need + 1;
	}
	return false;
}

/* ---- JSON errors as CPython's json module words them ---- */

struct pyscan {
	const unsigned char *s;
	size_t len;
	size_t err_at;   /* byte offset of the error */
	const char *err; /* its message */
	int depth;
	const char *depth_kind; /* "object" / "array" when the recursion limit hit */
};

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const struct pyscan *p, size_t i)
{
	while (i < p->len && is_ws(p->s[i]))
		i++;
	return i;
}

static int fail(struct pyscan *p, const char *why, size_t at)
{
	p->err = why;
	p->err_at = at;
	return -1;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A string whose opening quote is at i - 1; *end gets the index after the
 * closing quote.  Mirrors scanstring_unicode (strict mode). */
static int scan_string(struct pyscan *p, size_t i, size_t *end)
{
	size_t begin = i - 1;
	for (;;) {
		size_t next = i;
		unsigned char c = 0;
		for (; next < p->len; next++) {
			c = p->s[next];
			if (c == '"' || c == '\\')
				break;
			if (c <= 0x1f)
				return fail(p, "Invalid control character at", next);
		}
		if (next >= p->len)
			return fail(p, "Unterminated string starting at", begin);
		next++;
		if (c == '"') {
			*end = next;
			return 0;
		}
		if (next == p->len)
			return fail(p, "Unterminated string starting at", begin);
		c = p->s[next];
		if (c != 'u') {
			i = next + 1;
			if (!strchr("\"\\/bfnrt", c) || c == 0)
				return fail(p, "Invalid \\escape", i - 2);
			continue;
		}
		next++;
		size_t hend = next + 4;
		if (hend >= p->len)
			return fail(p, "Invalid \\uXXXX escape", next - 1);
		unsigned cp = 0;
		for (; next < hend; next++) {
			int h = hexval(p->s[next]);
			if (h < 0)
				return fail(p, "Invalid \\uXXXX escape", hend - 5);
			cp = cp * 16 + (unsigned)h;
		}
		i = hend;
		if (cp >= 0xd800 && cp <= 0xdbff && hend + 6 < p->len && p->s[hend] == '\\' &&
		    p->s[hend + 1] == 'u') {
			size_t n2 = hend + 2, e2 = hend + 6;
			unsigned c2 = 0;
			for (; n2 < e2; n2++) {
				int h = hexval(p->s[n2]);
				if (h < 0)
					return fail(p, "Invalid \\uXXXX escape", e2 - 5);
				c2 = c2 * 16 + (unsigned)h;
			}
			if (c2 >= 0xdc00 && c2 <= 0xdfff)
				i = e2;
		}
	}
}

static int match_word(const struct pyscan *p, size_t i, const char *w)
{
	size_t n = strlen(w);
	return i + n <= p->len && memcmp(p->s + i, w, n) == 0;
}

static int scan_value(struct pyscan *p, size_t i, size_t *end);

static int scan_container(struct pyscan *p, size_t i, size_t *end, int object)
{
	if (++p->depth > AC_MAX_JSON_DEPTH) {
		p->depth_kind = object ? "object" : "array";
		return fail(p, NULL, i);
	}
	char close = object ? '}' : ']';
	i = skip_ws(p, i);
	if (i >= p->len || p->s[i] != (unsigned char)close) {
		for (;;) {
			size_t next;
			if (object) {
				if (i >= p->len || p->s[i] != '"')
					return fail(
					    p, "Expecting property name enclosed in double quotes",
					    i);
				if (scan_string(p, i + 1, &next))
					return -1;
				i = skip_ws(p, next);
				if (i >= p->len || p->s[i] != ':')
					return fail(p, "Expecting ':' delimiter", i);
				i = skip_ws(p, i + 1);
			}
			if (scan_value(p, i, &next))
				return -1;
			i = skip_ws(p, next);
			if (i < p->len && p->s[i] == (unsigned char)close)
				break;
			if (i >= p->len || p->s[i] != ',')
				return fail(p, "Expecting ',' delimiter", i);
			i = skip_ws(p, i + 1);
		}
	}
	p->depth--;
	*end = i + 1;
	return 0;
}

static int scan_number(struct pyscan *p, size_t start, size_t *end)
{
	size_t i = start;
	if (i < p->len && p->s[i] == '-')
		i++;
	if (i < p->len && p->s[i] >= '1' && p->s[i] <= '9') {
		while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	} else if (i < p->len && p->s[i] == '0') {
		i++;
	} else {
		return fail(p, "Expecting value", start);
	}
	if (i + 1 < p->len && p->s[i] == '.' && p->s[i + 1] >= '0' && p->s[i + 1] <= '9') {
		i += 2;
		while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	}
	if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
		size_t e_start = i++;
		if (i < p->len && (p->s[i] == '-' || p->s[i] == '+'))
			i++;
		size_t d = i;
		while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
		if (i == d)
			i = e_start;
	}
	*end = i;
	return 0;
}

static int scan_value(struct pyscan *p, size_t i, size_t *end)
{
	if (i >= p->len)
		return fail(p, "Expecting value", i);
	switch (p->s[i]) {
	case '"':
		return scan_string(p, i + 1, end);
	case '{':
		return scan_container(p, i + 1, end, 1);
	case '[':
		return scan_container(p, i + 1, end, 0);
	case 'n':
		if (match_word(p, i, "null"))
			return *end = i + 4, 0;
		break;
	case 't':
		if (match_word(p, i, "true"))
			return *end = i + 4, 0;
		break;
	case 'f':
		if (match_word(p, i, "false"))
			return *end = i + 5, 0;
		break;
	case 'N':
		if (match_word(p, i, "NaN"))
			return *end = i + 3, 0;
		break;
	case 'I':
		if (match_word(p, i, "Infinity"))
			return *end = i + 8, 0;
		break;
	case '-':
		if (match_word(p, i, "-Infinity"))
			return *end = i + 9, 0;
		break;
	default:
		break;
	}
	return scan_number(p, i, end);
}

/* Code points before byte offset off (the "char" Python reports). */
static size_t char_index(const unsigned char *s, size_t off)
{
	size_t n = 0;
	for (size_t i = 0; i < off; i++)
		if ((s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

bool ac_py_json_error(const char *str, size_t len, struct buf *msg)
{
	struct pyscan p = {(const unsigned char *)str, len, 0, NULL, 0, NULL};
	buf_reset(msg);
	if (len >= 3 && memcmp(str, "\xef\xbb\xbf", 3) == 0) {
		p.err = "Unexpected UTF-8 BOM (decode using utf-8-sig)";
		p.err_at = 0;
	} else {
		size_t end;
		size_t i = skip_ws(&p, 0);
		if (scan_value(&p, i, &end) == 0) {
			end = skip_ws(&p, end);
			if (end == len)
				return false;
			p.err = "Extra data";
			p.err_at = end;
		}
	}
	if (p.depth_kind) {
		buf_printf(
		    msg, NULL,
		    "maximum recursion depth exceeded while decoding a JSON %s from a unicode "
		    "string",
		    p.depth_kind);
		return true;
	}
	size_t line = 1, last_nl = 0;
	int have_nl = 0;
	for (size_t i = 0; i < p.err_at && i < len; i++)
		if (p.s[i] == '\n') {
			line++;
			last_nl = i;
			have_nl = 1;
		}
	size_t pos = char_index(p.s, p.err_at);
	size_t col = have_nl ? pos - char_index(p.s, last_nl) : pos + 1;
	buf_printf(msg, NULL, "%s: line %zu column %zu (char %zu)", p.err, line, col, pos);
	return true;
}

/* ---- Python reprs ---- */

enum status ac_py_repr_str(const char *s, size_t len, struct buf *out, struct errinfo *e)
{
	int has_sq = memchr(s, '\'', len) != NULL, has_dq = memchr(s, '"', len) != NULL;
	char q = has_sq && !has_dq ? '"' : '\'';
	enum status st = buf_append(out, &q, 1, e);
	size_t i = 0;
	while (!st && i < len) {
		size_t adv;
		int32_t cp = text_utf8_decode((const unsigned char *)s + i, len - i, &adv);
		char tmp[16];
		if (cp == q || cp == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)cp;
			st = buf_append(out, tmp, 2, e);
		} else if (cp == '\n') {
			st = buf_append_str(out, "\\n", e);
		} else if (cp == '\r') {
			st = buf_append_str(out, "\\r", e);
		} else if (cp == '\t') {
			st = buf_append_str(out, "\\t", e);
		} else if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad) {
			snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned)cp);
			st = buf_append_str(out, tmp, e);
		} else if ((cp >= 0x2028 && cp <= 0x2029) || (cp >= 0xd800 && cp <= 0xdfff)) {
			snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)cp);
			st = buf_append_str(out, tmp, e);
		} else {
			st = buf_append(out, s + i, adv, e);
		}
		i += adv;
	}
	if (!st)
		st = buf_append(out, &q, 1, e);
	return st;
}

enum status ac_py_repr_float(double v, struct buf *out, struct errinfo *e)
{
	if (isnan(v))
		return buf_append_str(out, "nan", e);
	if (isinf(v))
		return buf_append_str(out, v < 0 ? "-inf" : "inf", e);
	char tmp[64];
	int prec = 1;
	for (; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	/* tmp = [-]d[.ddd]e[+-]xx */
	char digits[32];
	size_t nd = 0;
	const char *p = tmp;
	int neg = 0;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && nd < sizeof digits - 1)
			digits[nd++] = *p;
	digits[nd] = '\0';
	int x = *p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = '\0';
	struct buf r;
	buf_init(&r, 0);
	enum status st = neg ? buf_append_str(&r, "-", e) : ST_OK;
	if (!st && (x < -4 || x >= 16)) {
		st = buf_append(&r, digits, 1, e);
		if (!st && nd > 1)
			st = buf_printf(&r, e, ".%s", digits + 1);
		if (!st)
			st = buf_printf(&r, e, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
	} else if (!st && x >= 0) {
		for (int k = 0; k <= x && !st; k++)
			st = buf_append(&r, (size_t)k < nd ? &digits[k] : "0", 1, e);
		if (!st)
			st = buf_printf(&r, e, ".%s", (size_t)x + 1 < nd ? digits + x + 1 : "0");
	} else if (!st) {
		st = buf_append_str(&r, "0.", e);
		for (int k = 0; k < -x - 1 && !st; k++)
			st = buf_append_str(&r, "0", e);
		if (!st)
			st = buf_append_str(&r, digits, e);
	}
	if (!st)
		st = buf_append(out, r.data, r.len, e);
	buf_free(&r);
	return st;
}

static enum status repr_depth(const json_t *v, struct buf *out, int depth, struct errinfo *e)
{
	enum status st = ST_OK;
	switch (json_typeof(v)) {
	case JSON_NULL:
		return buf_append_str(out, "None", e);
	case JSON_TRUE:
		return buf_append_str(out, "True", e);
	case JSON_FALSE:
		return buf_append_str(out, "False", e);
	case JSON_INTEGER:
		return buf_printf(out, e, "%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		return ac_py_repr_float(json_real_value(v), out, e);
	case JSON_STRING:
		return ac_py_repr_str(json_string_value(v), json_string_length(v), out, e);
	case JSON_ARRAY:
		if (depth > 64)
			return buf_append_str(out, "[...]", e);
		st = buf_append_str(out, "[", e);
		for (size_t i = 0; i < json_array_size(v) && !st; i++) {
			if (i)
				st = buf_append_str(out, ", ", e);
			if (!st)
				st = repr_depth(json_array_get(v, i), out, depth + 1, e);
		}
		return st ? st : buf_append_str(out, "]", e);
	case JSON_OBJECT: {
		if (depth > 64)
			return buf_append_str(out, "{...}", e);
		st = buf_append_str(out, "{", e);
		const char *k;
		size_t klen;
		json_t *val;
		int first = 1;
		void *tmp;
		json_object_keylen_foreach_safe((json_t *)v, tmp, k, klen, val)
		{
			if (st)
				break;
			if (!first)
				st = buf_append_str(out, ", ", e);
			first = 0;
			if (!st)
				st = ac_py_repr_str(k, klen, out, e);
			if (!st)
				st = buf_append_str(out, ": ", e);
			if (!st)
				st = repr_depth(val, out, depth + 1, e);
		}
		return st ? st : buf_append_str(out, "}", e);
	}
	}
	return ST_OK;
}

enum status ac_py_repr(const json_t *v, struct buf *out, struct errinfo *e)
{
	return repr_depth(v, out, 0, e);
}

/* ---- envelope ---- */

void ac_request_free(struct ac_request *r)
{
	if (!r)
		return;
	if (r->own_params)
		json_decref(r->params);
	json_decref(r->root);
	memset(r, 0, sizeof *r);
}

/* "<repr> is not of type '<type>'" */
static enum status type_error(struct buf *msg, const json_t *v, const char *type)
{
	buf_reset(msg);
	ac_py_repr(v, msg, NULL);
	buf_printf(msg, NULL, " is not of type '%s'", type);
	return ST_INVALID;
}

enum status ac_request_parse(const char *body, size_t len, struct ac_request *out, struct buf *msg)
{
	memset(out, 0, sizeof *out);
	buf_reset(msg);
	if (ac_py_utf8_error(body, len, msg))
		return ST_INVALID;
	json_error_t jerr;
	memset(&jerr, 0, sizeof jerr);
	/* A raw NUL is never valid JSON, but jansson stops reading at one
	 * and may accept what came before it. */
	json_t *root = memchr(body, '\0', len)
	                   ? NULL
	                   : json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!root) {
		if (memchr(body, '\0', len))
			snprintf(jerr.text, sizeof jerr.text, "invalid NUL byte");
		if (!ac_py_json_error(body, len, msg)) {
			buf_reset(msg);
			buf_printf(msg, NULL, "%s: line %d column %d (char %d)", jerr.text,
			           jerr.line, jerr.column, jerr.position);
		}
		return ST_INVALID;
	}
	enum status st = ST_OK;
	if (!json_is_object(root)) {
		st = type_error(msg, root, "object");
		goto bad;
	}
	json_t *action = json_object_get(root, "action");
	if (!action) {
		buf_append_str(msg, "'action' is a required property", NULL);
		st = ST_INVALID;
		goto bad;
	}
	if (!json_is_string(action)) {
		st = type_error(msg, action, "string");
		goto bad;
	}
	if (json_string_length(action) == 0) {
		buf_append_str(msg, "'' is too short", NULL);
		st = ST_INVALID;
		goto bad;
	}
	json_t *version = json_object_get(root, "version");
	if (version && !json_is_integer(version)) {
		/* draft 4+ jsonschema counts integral floats as integers */
		if (json_is_real(version) && isfinite(json_real_value(version)) &&
		    floor(json_real_value(version)) == json_real_value(version) &&
		    fabs(json_real_value(version)) < 9e18) {
			out->version = (json_int_t)json_real_value(version);
		} else {
			st = type_error(msg, version, "integer");
			goto bad;
		}
	} else {
		out->version = version ? json_integer_value(version) : AC_DEFAULT_VERSION;
	}
	json_t *params = json_object_get(root, "params");
	if (params && !json_is_object(params)) {
		st = type_error(msg, params, "object");
		goto bad;
	}
	out->root = root;
	out->action = json_string_value(action);
	out->key = json_object_get(root, "key");
	if (params) {
		out->params = params;
	} else {
		out->params = json_object();
		out->own_params = true;
		if (!out->params) {
			ac_request_free(out);
			buf_append_str(msg, "out of memory", NULL);
			return ST_NOMEM;
		}
	}
	return ST_OK;
bad:
	json_decref(root);
	return st;
}

/* ---- CORS ---- */

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

bool ac_cors_allowed(const char *const *list, size_t n, const char *origin, const char **cors)
{
	int localhost = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i], "*") == 0) {
			*cors = "*";
			return true;
		}
		if (strcmp(list[i], "http://localhost") == 0)
			localhost = 1;
	}
	*cors = "http://localhost";
	if (!origin)
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], origin) == 0) {
			*cors = origin;
			return true;
		}
	if (localhost &&
	    (strcmp(origin, "http://127.0.0.1") == 0 || strcmp(origin, "https://127.0.0.1") == 0 ||
	     has_prefix(origin, "http://127.0.0.1:") || has_prefix(origin, "chrome-extension://") ||
	     has_prefix(origin, "moz-extension://") ||
	     has_prefix(origin, "safari-web-extension://"))) {
		*cors = origin;
		return true;
	}
	return false;
}
