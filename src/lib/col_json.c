/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_json.c - schema 11 JSON <-> col_model objects (collection-format.md
 * 3.2-3.4), reproducing the reading leniencies and the emission order of
 * Anki's serde structs, plus a serde_json-style compact dumper.
 *
 * Reading vocabulary used below (names from the spec):
 *   strict      wrong type/range -> ST_INVALID
 *   d_o_i       "default_on_invalid": wrong type/range -> the type's default
 *   required    the key must be present (even for d_o_i keys)
 * Integers must be JSON integers (a real such as 20.0 is a wrong type),
 * floats accept integers and reals.
 *
 * Invariant: every json_t built here is owned by exactly one parent; on an
 * allocation failure the partial tree is released and NULL returned.
 */
#include "col_json.h"

#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * Dumping (serde_json style)
 * ====================================================================== */

#define DUMP_MAX_DEPTH 2048

static enum status dump_string(struct buf *b, const char *s, size_t n, struct errinfo *e)
{
	enum status st = buf_append(b, "\"", 1, e);
	size_t run = 0; /* start of the pending unescaped run */
	for (size_t i = 0; !st && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char tmp[8];
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			if (c < 0x20) {
				snprintf(tmp, sizeof tmp, "\\u%04x", c);
				esc = tmp;
			}
		}
		if (!esc)
			continue;
		st = buf_append(b, s + run, i - run, e);
		if (!st)
			st = buf_append_str(b, esc, e);
		run = i + 1;
	}
	if (!st)
		st = buf_append(b, s + run, n - run, e);
	if (!st)
		st = buf_append(b, "\"", 1, e);
	return st;
}

/* Shortest round-trip decimal of a finite non-zero double, laid out like
 * ryu 1.0.20's f64 "pretty" format (what serde_json uses). */
static void format_real(double v, char *out, size_t cap)
{
	if (!isfinite(v)) {
		snprintf(out, cap, "null");
		return;
	}
	if (v == 0) {
		snprintf(out, cap, "%s", signbit(v) ? "-0.0" : "0.0");
		return;
	}
	char tmp[48];
	for (int p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	const char *s = tmp;
	bool neg = *s == '-';
	if (neg)
		s++;
	char d[24] = "0";
	int nd = 0;
	for (; *s && *s != 'e' && nd < 20; s++)
		if (isdigit((unsigned char)*s))
			d[nd++] = *s;
	if (nd == 0)
		nd = 1;
	int exp10 = *s == 'e' ? (int)strtol(s + 1, NULL, 10) : 0;
	while (nd > 1 && d[nd - 1] == '0')
		nd--;
	int kk = exp10 + 1; /* 10^(kk-1) <= |v| < 10^kk */
	int k = kk - nd;    /* |v| = digits * 10^k */
	char *w = out, *end = out + cap - 1;
#define PUT(ch)                                                                                    \
	do {                                                                                       \
		if (w < end)                                                                       \
			*w++ = (ch);                                                               \
	} while (0)
	if (neg)
		PUT('-');
	if (k >= 0 && kk <= 16) {
		for (int i = 0; i < nd; i++)
			PUT(d[i]);
		for (int i = 0; i < k; i++)
			PUT('0');
		PUT('.');
		PUT('0');
	} else if (kk > 0 && kk <= 16) {
		for (int i = 0; i < nd; i++) {
			if (i == kk)
				PUT('.');
			PUT(d[i]);
		}
	} else if (kk > -5 && kk <= 0) {
		PUT('0');
		PUT('.');
		for (int i = 0; i < -kk; i++)
			PUT('0');
		for (int i = 0; i < nd; i++)
			PUT(d[i]);
	} else {
		PUT(d[0]);
		if (nd > 1) {
			PUT('.');
			for (int i = 1; i < nd; i++)
				PUT(d[i]);
		}
		*w = '\0';
		snprintf(w, (size_t)(end - w) + 1, "e%d", kk - 1);
		return;
	}
#undef PUT
	*w = '\0';
}

static enum status dump_value(struct buf *b, const json_t *j, int depth, struct errinfo *e)
{
	if (depth > DUMP_MAX_DEPTH)
		return errinfo_set(e, ST_INVALID, "JSON nested deeper than %d", DUMP_MAX_DEPTH);
	char tmp[64];
	enum status st = ST_OK;
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		st = buf_append(b, "{", 1, e);
		bool first = true;
		for (void *it = json_object_iter((json_t *)j); !st && it;
		     it = json_object_iter_next((json_t *)j, it)) {
			if (!first)
				st = buf_append(b, ",", 1, e);
			first = false;
			if (!st)
				st = dump_string(b, json_object_iter_key(it),
				                 json_object_iter_key_len(it), e);
			if (!st)
				st = buf_append(b, ":", 1, e);
			if (!st)
				st = dump_value(b, json_object_iter_value(it), depth + 1, e);
		}
		return st ? st : buf_append(b, "}", 1, e);
	}
	case JSON_ARRAY:
		st = buf_append(b, "[", 1, e);
		for (size_t i = 0; !st && i < json_array_size(j); i++) {
			if (i)
				st = buf_append(b, ",", 1, e);
			if (!st)
				st = dump_value(b, json_array_get(j, i), depth + 1, e);
		}
		return st ? st : buf_append(b, "]", 1, e);
	case JSON_STRING:
		return dump_string(b, json_string_value(j), json_string_length(j), e);
	case JSON_INTEGER:
		snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return buf_append_str(b, tmp, e);
	case JSON_REAL:
		format_real(json_real_value(j), tmp, sizeof tmp);
		return buf_append_str(b, tmp, e);
	case JSON_TRUE:
		return buf_append_str(b, "true", e);
	case JSON_FALSE:
		return buf_append_str(b, "false", e);
	case JSON_NULL:
		return buf_append_str(b, "null", e);
	}
	return errinfo_set(e, ST_INTERNAL, "unknown JSON type");
}

enum status col_json_dumpb(const json_t *j, struct buf *out, struct errinfo *e)
{
	size_t start = out->len;
	enum status st = j ? dump_value(out, j, 0, e) : errinfo_set(e, ST_INVALID, "no JSON value");
	if (st) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return st;
}

char *col_json_dumps(const json_t *j)
{
	struct buf b;
	buf_init(&b, 0);
	if (col_json_dumpb(j, &b, NULL) || !b.data) {
		buf_free(&b);
		return NULL;
	}
	return (char *)buf_steal(&b, NULL);
}

json_t *col_json_f32(float v)
{
	if (!isfinite(v))
		return json_null();
	char tmp[48];
	for (int p = 1; p <= 9; p++) {
		snprintf(tmp, sizeof tmp, "%.*e", p - 1, (double)v);
		if (strtof(tmp, NULL) == v)
			break;
	}
	return json_real(strtod(tmp, NULL));
}

/* ======================================================================
 * Building JSON (emission)
 * ====================================================================== */

/* Set key on obj, taking ownership of v; a NULL v (failed constructor) or
 * a failed set marks the build as failed. */
static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
	if (!v || json_object_set_new(obj, key, v) != 0)
		*ok = false;
}

static void push(json_t *arr, json_t *v, bool *ok)
{
	if (!v || json_array_append_new(arr, v) != 0)
		*ok = false;
}

static json_t *jstr(const char *s)
{
	return json_string(col_str(s));
}

static json_t *jf32_array(const float *v, size_t n)
{
	json_t *a = json_array();
	bool ok = a != NULL;
	for (size_t i = 0; ok && i < n; i++)
		push(a, col_json_f32(v[i]), &ok);
	if (!ok) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* Compare object keys the way Rust orders String (bytewise). */
static int key_cmp(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;
	return strcmp(*x, *y);
}

/* A deep copy with object keys sorted: serde_json::Value keeps objects in a
 * BTreeMap (Anki builds it without "preserve_order"), so nested objects of
 * `other` are always written in key order. */
static json_t *sorted_copy(const json_t *v, int depth)
{
	if (depth > DUMP_MAX_DEPTH)
		return NULL;
	if (json_is_array(v)) {
		json_t *a = json_array();
		bool ok = a != NULL;
		for (size_t i = 0; ok && i < json_array_size(v); i++)
			push(a, sorted_copy(json_array_get(v, i), depth + 1), &ok);
		if (!ok) {
			json_decref(a);
			return NULL;
		}
		return a;
	}
	if (!json_is_object(v))
		return json_deep_copy(v);
	size_t n = json_object_size(v), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof *keys);
	json_t *o = json_object();
	bool ok = keys && o;
	const char *k;
	json_t *val;
	if (ok) {
		json_object_foreach((json_t *)v, k, val) keys[i++] = k;
		qsort(keys, n, sizeof *keys, key_cmp);
	}
	for (i = 0; ok && i < n; i++)
		put(o, keys[i], sorted_copy(json_object_get(v, keys[i]), depth + 1), &ok);
	free(keys);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static bool in_list(const char *key, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(key, *list) == 0)
			return true;
	return false;
}

/* Parse `other` bytes as a JSON object; anything else reads as empty (Anki
 * logs and uses an empty map).  Returns a new object or NULL on OOM. */
static json_t *parse_other(const struct pb_bytes *other)
{
	if (other->len) {
		json_t *o = json_loadb((const char *)other->data, other->len, JSON_ALLOW_NUL, NULL);
		if (json_is_object(o))
			return o;
		json_decref(o);
	}
	return json_object();
}

/* Append the keys of `other` (sorted copies of their values) to obj,
 * skipping reserved names and keys obj already has or will get (skip2). */
static void put_other(json_t *obj, const json_t *other, const char *const *reserved,
                      const char *const *skip2, bool *ok)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)other, k, v)
	{
		if (!*ok)
			return;
		if (in_list(k, reserved) || (skip2 && in_list(k, skip2)) || json_object_get(obj, k))
			continue;
		put(obj, k, sorted_copy(v, 0), ok);
	}
}

/* ======================================================================
 * Reading helpers
 * ====================================================================== */

static enum status bad_key(struct errinfo *e, const char *what, const char *key,
                           const char *expected)
{
	return errinfo_set(e, ST_INVALID, "%s: key \"%s\": expected %s", what, key, expected);
}

static enum status missing_key(struct errinfo *e, const char *what, const char *key)
{
	return errinfo_set(e, ST_INVALID, "%s: missing key \"%s\"", what, key);
}

static bool int_in(const json_t *v, int64_t min, int64_t max, int64_t *out)
{
	if (!json_is_integer(v))
		return false;
	json_int_t x = json_integer_value(v);
	if (x < min || x > max)
		return false;
	*out = x;
	return true;
}

/* Rust's i64::from_str: optional sign, one or more ASCII digits, nothing
 * else, no overflow. */
static bool parse_i64_text(const char *s, int64_t *out)
{
	bool neg = false;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!*s)
		return false;
	uint64_t acc = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned dgt = (unsigned)(*s - '0');
		if (acc > (UINT64_MAX - dgt) / 10)
			return false;
		acc = acc * 10 + dgt;
	}
	if (neg ? acc > (uint64_t)INT64_MAX + 1 : acc > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return true;
}

/* serde_aux deserialize_number_from_string for i64: an integer, or a string
 * holding one. */
static bool i64_or_string(const json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
		return parse_i64_text(json_string_value(v), out);
	return false;
}

/* Rust's f64::from_str, close enough: strtod must consume everything and
 * there is no leading space or hex prefix. */
static bool parse_f64_text(const char *s, double *out)
{
	if (!*s || isspace((unsigned char)*s))
		return false;
	const char *p = s + (*s == '+' || *s == '-');
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		return false;
	char *end;
	*out = strtod(s, &end);
	return *end == '\0';
}

/* serde_aux deserialize_bool_from_anything. */
static bool bool_anything(const json_t *v, bool *out)
{
	double f;
	int64_t i;
	switch (json_typeof(v)) {
	case JSON_TRUE:
		*out = true;
		return true;
	case JSON_FALSE:
		*out = false;
		return true;
	case JSON_INTEGER:
		i = json_integer_value(v);
		if (i != 0 && i != 1)
			return false;
		*out = i == 1;
		return true;
	case JSON_REAL:
		f = json_real_value(v);
		break;
	case JSON_STRING: {
		const char *s = json_string_value(v);
		if (strlen(s) != json_string_length(v))
			return false;
		if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0) {
			*out = strcasecmp(s, "true") == 0;
			return true;
		}
		if (parse_i64_text(s, &i)) {
			if (i != 0 && i != 1)
				return false;
			*out = i == 1;
			return true;
		}
		if (!parse_f64_text(s, &f))
			return false;
		break;
	}
	default:
		return false;
	}
	if (fabs(f - 1.0) < DBL_EPSILON) {
		*out = true;
		return true;
	}
	if (f == 0.0) {
		*out = false;
		return true;
	}
	return false;
}

/* A JSON number as f32, like Rust's `as f32`: out-of-range magnitudes
 * become infinities (a plain C cast would be undefined there). */
static bool as_f32(const json_t *v, float *out)
{
	if (!json_is_number(v))
		return false;
	double d = json_number_value(v);
	if (d > FLT_MAX || d < -FLT_MAX)
		*out = d > 0 ? INFINITY : -INFINITY;
	else
		*out = (float)d;
	return true;
}

/* A JSON string without NUL bytes (C strings cannot carry them). */
static bool as_cstr(const json_t *v, const char **out)
{
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return false;
	*out = json_string_value(v);
	return true;
}

static enum status set_str(char **dst, const char *s, struct errinfo *e)
{
	char *n = strdup(s ? s : "");
	if (!n)
		return errinfo_set(e, ST_NOMEM, "cannot copy a string");
	free(*dst);
	*dst = n;
	return ST_OK;
}

/* A strict Vec<f32>: an array whose every element is a number. */
static bool f32_array(const json_t *v, struct f32_list *out)
{
	if (!json_is_array(v))
		return false;
	size_t n = json_array_size(v);
	float *arr = n ? malloc(n * sizeof *arr) : NULL;
	if (n && !arr)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!as_f32(json_array_get(v, i), &arr[i])) {
			free(arr);
			return false;
		}
	}
	f32_list_free(out);
	out->v = arr;
	out->n = n;
	return true;
}

/* Field accessors for one object being read.  Each returns ST_OK and sets
 * *present when the key exists. */
struct reader {
	const json_t *obj;
	const char *what;
	struct errinfo *e;
};

static const json_t *get(const struct reader *r, const char *key)
{
	return json_object_get(r->obj, key);
}

static enum status req_str(const struct reader *r, const char *key, char **dst)
{
	const json_t *v = get(r, key);
	const char *s;
	if (!v)
		return missing_key(r->e, r->what, key);
	if (!as_cstr(v, &s))
		return bad_key(r->e, r->what, key, "a string");
	return set_str(dst, s, r->e);
}

/* Optional strict string (absent -> ""). */
static enum status opt_str(const struct reader *r, const char *key, char **dst)
{
	return get(r, key) ? req_str(r, key, dst) : ST_OK;
}

/* d_o_i string: wrong type -> "". */
static enum status doi_str(const struct reader *r, const char *key, bool required, char **dst)
{
	const json_t *v = get(r, key);
	const char *s;
	if (!v)
		return required ? missing_key(r->e, r->what, key) : ST_OK;
	return set_str(dst, as_cstr(v, &s) ? s : "", r->e);
}

static enum status req_int(const struct reader *r, const char *key, int64_t min, int64_t max,
                           int64_t *out)
{
	const json_t *v = get(r, key);
	if (!v)
		return missing_key(r->e, r->what, key);
	if (!int_in(v, min, max, out)) {
		char exp[96];
		snprintf(exp, sizeof exp, "an integer in %" PRId64 "..%" PRId64, min, max);
		return bad_key(r->e, r->what, key, exp);
	}
	return ST_OK;
}

static enum status opt_int(const struct reader *r, const char *key, int64_t min, int64_t max,
                           int64_t *out)
{
	return get(r, key) ? req_int(r, key, min, max, out) : ST_OK;
}

static enum status req_id(const struct reader *r, const char *key, int64_t *out)
{
	const json_t *v = get(r, key);
	if (!v)
		return missing_key(r->e, r->what, key);
	if (!i64_or_string(v, out))
		return bad_key(r->e, r->what, key, "an integer or a numeric string");
	return ST_OK;
}

static enum status req_bool(const struct reader *r, const char *key, bool *out)
{
	const json_t *v = get(r, key);
	if (!v)
		return missing_key(r->e, r->what, key);
	if (!json_is_boolean(v))
		return bad_key(r->e, r->what, key, "true or false");
	*out = json_is_true(v);
	return ST_OK;
}

static enum status opt_bool(const struct reader *r, const char *key, bool *out)
{
	return get(r, key) ? req_bool(r, key, out) : ST_OK;
}

static void doi_bool(const struct reader *r, const char *key, bool *out)
{
	const json_t *v = get(r, key);
	*out = json_is_true(v);
}

static enum status req_bool_any(const struct reader *r, const char *key, bool *out)
{
	const json_t *v = get(r, key);
	if (!v)
		return missing_key(r->e, r->what, key);
	if (!bool_anything(v, out))
		return bad_key(r->e, r->what, key, "a boolean, 0/1 or \"true\"/\"false\"");
	return ST_OK;
}

static enum status req_f32(const struct reader *r, const char *key, float *out)
{
	const json_t *v = get(r, key);
	if (!v)
		return missing_key(r->e, r->what, key);
	if (!as_f32(v, out))
		return bad_key(r->e, r->what, key, "a number");
	return ST_OK;
}

static enum status opt_f32(const struct reader *r, const char *key, float *out)
{
	return get(r, key) ? req_f32(r, key, out) : ST_OK;
}

static enum status opt_f32_array(const struct reader *r, const char *key, struct f32_list *out)
{
	const json_t *v = get(r, key);
	if (v && !f32_array(v, out))
		return bad_key(r->e, r->what, key, "an array of numbers");
	return ST_OK;
}

/* Serialise the keys of obj that are not in `known` (plus extra members
 * given by the caller) into out, compact, nested objects sorted.  Empty
 * map -> empty bytes. */
static enum status collect_other(const json_t *obj, const char *const *known, json_t *extra,
                                 struct pb_bytes *out, struct errinfo *e)
{
	json_t *o = json_object();
	bool ok = o != NULL;
	const char *k;
	json_t *v;
	if (ok) {
		json_object_foreach((json_t *)obj, k, v)
		{
			if (ok && !in_list(k, known))
				put(o, k, sorted_copy(v, 0), &ok);
		}
	}
	for (void *it = extra ? json_object_iter(extra) : NULL; ok && it;
	     it = json_object_iter_next(extra, it))
		ok = json_object_set(o, json_object_iter_key(it), json_object_iter_value(it)) == 0;
	enum status st = ok ? ST_OK : errinfo_set(e, ST_NOMEM, "cannot build JSON");
	if (!st && json_object_size(o) > 0) {
		struct buf b;
		buf_init(&b, 0);
		st = col_json_dumpb(o, &b, e);
		if (!st)
			st = pb_bytes_set(out, b.data, b.len, e);
		buf_free(&b);
	}
	json_decref(o);
	return st;
}

/* Saturating f32 -> unsigned integer conversion, like Rust's `as`. */
static uint64_t f32_to_uint_sat(float v, uint64_t max)
{
	if (isnan(v) || v <= 0.0f)
		return 0;
	if ((double)v >= (double)max)
		return max;
	return (uint64_t)v;
}

/* ======================================================================
 * Notetypes (3.2)
 * ====================================================================== */

static const char *const NT_KEYS[] = {
    "latexPost", "flds", "css",   "originalStockKind", "originalId", "id",
    "usn",       "mod",  "req",   "latexPre",          "name",       "did",
    "tmpls",     "type", "sortf", "latexsvg",          NULL,
};

static const char *const FIELD_KEYS[] = {
    "name", "ord",  "sticky",          "rtl",         "plainText",
    "font", "size", "collapsed",       "description", "excludeFromSearch",
    "id",   "tag",  "preventDeletion", NULL,
};

static const char *const TMPL_KEYS[] = {
    "name", "ord", "did", "afmt", "bafmt", "qfmt", "bqfmt", "bfont", "bsize", "id", NULL,
};

/* `ord` of a field/template: Option<u16>, strict, value unused. */
static enum status check_ord(const struct reader *r)
{
	const json_t *v = get(r, "ord");
	int64_t x;
	if (v && !json_is_null(v) && !int_in(v, 0, UINT16_MAX, &x))
		return bad_key(r->e, r->what, "ord", "null or an integer in 0..65535");
	return ST_OK;
}

/* Option<i64>/Option<u32> with default_on_invalid. */
static void doi_opt_int(const struct reader *r, const char *key, int64_t min, int64_t max,
                        bool *has, int64_t *out)
{
	int64_t x;
	*has = false;
	if (int_in(get(r, key), min, max, &x)) {
		*has = true;
		*out = x;
	}
}

static enum status field_from_json(const json_t *j, size_t idx, struct nt_field *f,
                                   struct errinfo *e)
{
	char what[64];
	snprintf(what, sizeof what, "notetype field %zu", idx);
	if (!json_is_object(j))
		return errinfo_set(e, ST_INVALID, "%s: not a JSON object", what);
	struct reader r = {j, what, e};
	struct field_config *c = &f->cfg;
	int64_t x = 0;
	enum status st = req_str(&r, "name", &f->name);
	if (!st)
		st = check_ord(&r);
	if (!st)
		st = req_bool_any(&r, "sticky", &c->sticky);
	if (!st)
		st = req_bool_any(&r, "rtl", &c->rtl);
	if (!st)
		st = req_str(&r, "font", &c->font_name);
	if (!st)
		st = req_int(&r, "size", 0, UINT16_MAX, &x);
	if (st)
		return st;
	c->font_size = (uint32_t)x;
	st = doi_str(&r, "description", false, &c->description);
	if (st)
		return st;
	doi_bool(&r, "plainText", &c->plain_text);
	doi_bool(&r, "collapsed", &c->collapsed);
	doi_bool(&r, "excludeFromSearch", &c->exclude_from_search);
	doi_opt_int(&r, "id", INT64_MIN, INT64_MAX, &c->has_id, &c->id);
	doi_opt_int(&r, "tag", 0, UINT32_MAX, &c->has_tag, &x);
	c->tag = c->has_tag ? (uint32_t)x : 0;
	doi_bool(&r, "preventDeletion", &c->prevent_deletion);
	return collect_other(j, FIELD_KEYS, NULL, &c->other, e);
}

static enum status template_from_json(const json_t *j, size_t idx, struct nt_template *t,
                                      struct errinfo *e)
{
	char what[64];
	snprintf(what, sizeof what, "notetype template %zu", idx);
	if (!json_is_object(j))
		return errinfo_set(e, ST_INVALID, "%s: not a JSON object", what);
	struct reader r = {j, what, e};
	struct template_config *c = &t->cfg;
	enum status st = req_str(&r, "name", &t->name);
	if (!st)
		st = check_ord(&r);
	if (!st)
		st = req_str(&r, "qfmt", &c->q_format);
	if (!st)
		st = opt_str(&r, "afmt", &c->a_format);
	if (!st)
		st = opt_str(&r, "bqfmt", &c->q_format_browser);
	if (!st)
		st = opt_str(&r, "bafmt", &c->a_format_browser);
	if (!st)
		st = doi_str(&r, "bfont", false, &c->browser_font_name);
	if (st)
		return st;
	bool has;
	int64_t x = 0;
	doi_opt_int(&r, "did", INT64_MIN, INT64_MAX, &has, &x);
	c->target_deck_id = has ? x : 0;
	doi_opt_int(&r, "bsize", 0, UINT8_MAX, &has, &x);
	c->browser_font_size = has ? (uint32_t)x : 0;
	doi_opt_int(&r, "id", INT64_MIN, INT64_MAX, &c->has_id, &c->id);
	t->mtime = 0;
	t->usn = 0;
	return collect_other(j, TMPL_KEYS, NULL, &c->other, e);
}

/* One `req` entry: [card_ord, "any"|"all"|"none", [field_ords]] or the
 * equivalent object; false when invalid. */
static bool req_from_json(const json_t *v, struct card_requirement *out)
{
	const json_t *ord, *kind, *fords;
	if (json_is_array(v) && json_array_size(v) == 3) {
		ord = json_array_get(v, 0);
		kind = json_array_get(v, 1);
		fords = json_array_get(v, 2);
	} else if (json_is_object(v)) {
		ord = json_object_get(v, "card_ord");
		kind = json_object_get(v, "kind");
		fords = json_object_get(v, "field_ords");
	} else {
		return false;
	}
	int64_t x;
	const char *k;
	if (!int_in(ord, 0, UINT16_MAX, &x) || !as_cstr(kind, &k) || !json_is_array(fords))
		return false;
	out->card_ord = (uint32_t)x;
	if (strcmp(k, "any") == 0)
		out->kind = CARD_REQ_ANY;
	else if (strcmp(k, "all") == 0)
		out->kind = CARD_REQ_ALL;
	else if (strcmp(k, "none") == 0)
		out->kind = CARD_REQ_NONE;
	else
		return false;
	size_t n = json_array_size(fords);
	out->field_ords = n ? calloc(n, sizeof *out->field_ords) : NULL;
	if (n && !out->field_ords)
		return false;
	out->nfield_ords = n;
	for (size_t i = 0; i < n; i++) {
		if (!int_in(json_array_get(fords, i), 0, UINT16_MAX, &x))
			return false;
		out->field_ords[i] = (uint32_t)x;
	}
	return true;
}

/* `req` is default_on_invalid as a whole: one bad entry empties it. */
static enum status reqs_from_json(const json_t *v, struct notetype_config *c, struct errinfo *e)
{
	if (!json_is_array(v))
		return ST_OK;
	size_t n = json_array_size(v);
	if (n == 0)
		return ST_OK;
	c->reqs = calloc(n, sizeof *c->reqs);
	if (!c->reqs)
		return errinfo_set(e, ST_NOMEM, "cannot allocate card requirements");
	c->nreqs = n;
	for (size_t i = 0; i < n; i++) {
		if (!req_from_json(json_array_get(v, i), &c->reqs[i])) {
			for (size_t k = 0; k < n; k++)
				card_requirement_free(&c->reqs[k]);
			free(c->reqs);
			c->reqs = NULL;
			c->nreqs = 0;
			return ST_OK;
		}
	}
	return ST_OK;
}

static enum status notetype_parse(const json_t *j, struct notetype *nt, struct errinfo *e)
{
	if (!json_is_object(j))
		return errinfo_set(e, ST_INVALID, "notetype: not a JSON object");
	struct reader r = {j, "notetype", e};
	struct notetype_config *c = &nt->cfg;
	int64_t x = 0;
	enum status st = req_id(&r, "id", &nt->id);
	if (!st)
		st = req_str(&r, "name", &nt->name);
	if (st)
		return st;
	if ((st = req_int(&r, "type", 0, 1, &x)))
		return st;
	c->kind = (int32_t)x;
	if ((st = req_int(&r, "mod", INT64_MIN, INT64_MAX, &nt->mtime)))
		return st;
	if ((st = req_int(&r, "usn", INT32_MIN, INT32_MAX, &x)))
		return st;
	nt->usn = (int32_t)x;
	if ((st = req_int(&r, "sortf", 0, UINT16_MAX, &x)))
		return st;
	c->sort_field_idx = (uint32_t)x;
	if (!get(&r, "did"))
		return missing_key(e, r.what, "did");
	bool has;
	doi_opt_int(&r, "did", INT64_MIN, INT64_MAX, &has, &x);
	c->target_deck_id_unused = has ? x : 0;

	const json_t *tmpls = get(&r, "tmpls"), *flds = get(&r, "flds");
	if (!tmpls)
		return missing_key(e, r.what, "tmpls");
	if (!json_is_array(tmpls))
		return bad_key(e, r.what, "tmpls", "an array");
	if (!flds)
		return missing_key(e, r.what, "flds");
	if (!json_is_array(flds))
		return bad_key(e, r.what, "flds", "an array");
	size_t nt_n = json_array_size(tmpls), nf = json_array_size(flds);
	if (nt_n) {
		nt->templates = calloc(nt_n, sizeof *nt->templates);
		if (!nt->templates)
			return errinfo_set(e, ST_NOMEM, "cannot allocate templates");
		nt->ntemplates = nt_n;
	}
	for (size_t i = 0; i < nt_n; i++)
		if ((st = template_from_json(json_array_get(tmpls, i), i, &nt->templates[i], e)))
			return st;
	if (nf) {
		nt->fields = calloc(nf, sizeof *nt->fields);
		if (!nt->fields)
			return errinfo_set(e, ST_NOMEM, "cannot allocate fields");
		nt->nfields = nf;
	}
	for (size_t i = 0; i < nf; i++)
		if ((st = field_from_json(json_array_get(flds, i), i, &nt->fields[i], e)))
			return st;

	if ((st = doi_str(&r, "css", true, &c->css)))
		return st;
	if ((st = opt_str(&r, "latexPre", &c->latex_pre)))
		return st;
	if ((st = opt_str(&r, "latexPost", &c->latex_post)))
		return st;
	doi_bool(&r, "latexsvg", &c->latex_svg);
	if ((st = reqs_from_json(get(&r, "req"), c, e)))
		return st;
	if ((st = opt_int(&r, "originalStockKind", INT32_MIN, INT32_MAX, &x)))
		return st;
	c->original_stock_kind = get(&r, "originalStockKind") ? (int32_t)x : 0;
	const json_t *oid = get(&r, "originalId");
	if (oid && !json_is_null(oid)) {
		if (!int_in(oid, INT64_MIN, INT64_MAX, &c->original_id))
			return bad_key(e, r.what, "originalId", "null or an integer");
		c->has_original_id = true;
	}
	return collect_other(j, NT_KEYS, NULL, &c->other, e);
}

enum status notetype_from_json(const json_t *j, struct notetype *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	enum status st = notetype_parse(j, out, e);
	if (st)
		notetype_free(out);
	return st;
}

static const char *req_kind_name(int32_t kind)
{
	/* prost's enum accessor maps unknown values to the default (none) */
	return kind == CARD_REQ_ANY ? "any" : kind == CARD_REQ_ALL ? "all" : "none";
}

static json_t *field_to_json(const struct nt_field *f, size_t ord)
{
	const struct field_config *c = &f->cfg;
	json_t *o = json_object(), *other = parse_other(&c->other);
	bool ok = o && other;
	if (ok) {
		put(o, "name", jstr(f->name), &ok);
		put(o, "ord", json_integer((uint16_t)ord), &ok);
		put(o, "sticky", json_boolean(c->sticky), &ok);
		put(o, "rtl", json_boolean(c->rtl), &ok);
		put(o, "font", jstr(c->font_name), &ok);
		put(o, "size", json_integer((uint16_t)c->font_size), &ok);
		put(o, "description", jstr(c->description), &ok);
		put(o, "plainText", json_boolean(c->plain_text), &ok);
		put(o, "collapsed", json_boolean(c->collapsed), &ok);
		put(o, "excludeFromSearch", json_boolean(c->exclude_from_search), &ok);
		put(o, "id", c->has_id ? json_integer(c->id) : json_null(), &ok);
		put(o, "tag", c->has_tag ? json_integer(c->tag) : json_null(), &ok);
		put(o, "preventDeletion", json_boolean(c->prevent_deletion), &ok);
		put_other(o, other, FIELD_KEYS, NULL, &ok);
	}
	json_decref(other);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *template_to_json(const struct nt_template *t, size_t ord)
{
	const struct template_config *c = &t->cfg;
	json_t *o = json_object(), *other = parse_other(&c->other);
	bool ok = o && other;
	if (ok) {
		put(o, "name", jstr(t->name), &ok);
		put(o, "ord", json_integer((uint16_t)ord), &ok);
		put(o, "qfmt", jstr(c->q_format), &ok);
		put(o, "afmt", jstr(c->a_format), &ok);
		put(o, "bqfmt", jstr(c->q_format_browser), &ok);
		put(o, "bafmt", jstr(c->a_format_browser), &ok);
		put(o, "did", c->target_deck_id > 0 ? json_integer(c->target_deck_id) : json_null(),
		    &ok);
		put(o, "bfont", jstr(c->browser_font_name), &ok);
		put(o, "bsize", json_integer((uint8_t)c->browser_font_size), &ok);
		put(o, "id", c->has_id ? json_integer(c->id) : json_null(), &ok);
		put_other(o, other, TMPL_KEYS, NULL, &ok);
	}
	json_decref(other);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *notetype_to_json(const struct notetype *nt)
{
	const struct notetype_config *c = &nt->cfg;
	json_t *o = json_object(), *other = parse_other(&c->other);
	json_t *tmpls = json_array(), *flds = json_array(), *req = json_array();
	bool ok = o && other && tmpls && flds && req;
	for (size_t i = 0; ok && i < nt->ntemplates; i++)
		push(tmpls, template_to_json(&nt->templates[i], i), &ok);
	for (size_t i = 0; ok && i < nt->nfields; i++)
		push(flds, field_to_json(&nt->fields[i], i), &ok);
	for (size_t i = 0; ok && i < c->nreqs; i++) {
		const struct card_requirement *q = &c->reqs[i];
		json_t *entry = json_array(), *ords = json_array();
		bool eok = entry && ords;
		for (size_t k = 0; eok && k < q->nfield_ords; k++)
			push(ords, json_integer((uint16_t)q->field_ords[k]), &eok);
		if (eok) {
			push(entry, json_integer((uint16_t)q->card_ord), &eok);
			push(entry, json_string(req_kind_name(q->kind)), &eok);
			push(entry, ords, &eok);
			ords = NULL;
		}
		json_decref(ords);
		if (!eok) {
			json_decref(entry);
			entry = NULL;
		}
		push(req, entry, &ok);
	}
	if (ok) {
		put(o, "id", json_integer(nt->id), &ok);
		put(o, "name", jstr(nt->name), &ok);
		put(o, "type", json_integer(c->kind == NOTETYPE_KIND_CLOZE ? 1 : 0), &ok);
		put(o, "mod", json_integer(nt->mtime), &ok);
		put(o, "usn", json_integer(nt->usn), &ok);
		put(o, "sortf", json_integer((uint16_t)c->sort_field_idx), &ok);
		put(o, "did",
		    c->target_deck_id_unused ? json_integer(c->target_deck_id_unused) : json_null(),
		    &ok);
		put(o, "tmpls", tmpls, &ok);
		put(o, "flds", flds, &ok);
		tmpls = flds = NULL;
		put(o, "css", jstr(c->css), &ok);
		put(o, "latexPre", jstr(c->latex_pre), &ok);
		put(o, "latexPost", jstr(c->latex_post), &ok);
		put(o, "latexsvg", json_boolean(c->latex_svg), &ok);
		put(o, "req", req, &ok);
		req = NULL;
		if (c->original_stock_kind != 0)
			put(o, "originalStockKind", json_integer(c->original_stock_kind), &ok);
		if (c->has_original_id)
			put(o, "originalId", json_integer(c->original_id), &ok);
		put_other(o, other, NT_KEYS, NULL, &ok);
	}
	json_decref(tmpls);
	json_decref(flds);
	json_decref(req);
	json_decref(other);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ======================================================================
 * Decks (3.3)
 * ====================================================================== */

static const char *const DECK_COMMON_KEYS[] = {
    "id",       "mod",      "name",      "usn",       "lrnToday",
    "revToday", "newToday", "timeToday", "collapsed", "browserCollapsed",
    "desc",     "md",       "dyn",       NULL,
};
static const char *const DECK_NORMAL_KEYS[] = {
    "conf",          "extendNew",        "extendRev", "reviewLimit", "newLimit", "reviewLimitToday",
    "newLimitToday", "desiredRetention", NULL,
};
static const char *const DECK_FILTERED_KEYS[] = {
    "resched",          "terms",           "separate",        "delays", "previewDelay",
    "previewAgainSecs", "previewHardSecs", "previewGoodSecs", NULL,
};
/* Names dropped from Common.other on output (rslib RESERVED_DECK_KEYS). */
static const char *const DECK_RESERVED[] = {
    "usn",         "revToday", "newLimit",      "dyn",
    "reviewLimit", "newToday", "timeToday",     "reviewLimitToday",
    "extendNew",   "mod",      "newLimitToday", "desc",
    "name",        "lrnToday", "conf",          "browserCollapsed",
    "extendRev",   "id",       "collapsed",     "desiredRetention",
    NULL,
};

struct today {
	int32_t day, amount;
};

/* [.., day, amount]: the last element is the amount, the one before the
 * day; non-integers read as 0; values wrap to i32 like Rust's `as`. */
static enum status today_from_json(const struct reader *r, const char *key, struct today *t)
{
	const json_t *v = get(r, key);
	if (!v)
		return missing_key(r->e, r->what, key);
	if (!json_is_array(v))
		return bad_key(r->e, r->what, key, "an array [day, count]");
	size_t n = json_array_size(v);
	const json_t *amt = n >= 1 ? json_array_get(v, n - 1) : NULL;
	const json_t *day = n >= 2 ? json_array_get(v, n - 2) : NULL;
	t->amount = json_is_integer(amt) ? (int32_t)(uint32_t)(uint64_t)json_integer_value(amt) : 0;
	t->day = json_is_integer(day) ? (int32_t)(uint32_t)(uint64_t)json_integer_value(day) : 0;
	return ST_OK;
}

/* Option<DayLimit> with default_on_invalid: {"limit":u32,"today":u32} or
 * [limit, today]. */
static void day_limit_from_json(const json_t *v, bool *has, struct deck_day_limit *out)
{
	const json_t *l, *t;
	int64_t a, b;
	*has = false;
	if (json_is_object(v)) {
		l = json_object_get(v, "limit");
		t = json_object_get(v, "today");
	} else if (json_is_array(v) && json_array_size(v) == 2) {
		l = json_array_get(v, 0);
		t = json_array_get(v, 1);
	} else {
		return;
	}
	if (int_in(l, 0, UINT32_MAX, &a) && int_in(t, 0, UINT32_MAX, &b)) {
		*has = true;
		out->limit = (uint32_t)a;
		out->today = (uint32_t)b;
	}
}

/* One filtered search term: [search, limit, order] or the object form;
 * limit may be a numeric string; negative limits become 0. */
static enum status term_from_json(const json_t *v, size_t idx, struct deck_search_term *t,
                                  struct errinfo *e)
{
	const json_t *s, *l, *o;
	if (json_is_array(v) && json_array_size(v) == 3) {
		s = json_array_get(v, 0);
		l = json_array_get(v, 1);
		o = json_array_get(v, 2);
	} else if (json_is_object(v)) {
		s = json_object_get(v, "search");
		l = json_object_get(v, "limit");
		o = json_object_get(v, "order");
	} else {
		return errinfo_set(e, ST_INVALID,
		                   "filtered deck: terms[%zu]: expected [search, limit, order]",
		                   idx);
	}
	const char *str;
	int64_t lim, ord;
	if (!as_cstr(s, &str) || !i64_or_string(l, &lim) || lim < INT32_MIN || lim > INT32_MAX ||
	    !int_in(o, INT32_MIN, INT32_MAX, &ord))
		return errinfo_set(e, ST_INVALID,
		                   "filtered deck: terms[%zu]: expected [string, integer, integer]",
		                   idx);
	t->limit = lim < 0 ? 0 : (uint32_t)lim;
	t->order = (int32_t)ord;
	return set_str(&t->search, str, e);
}

static enum status deck_parse(const json_t *j, struct deck *d, struct errinfo *e)
{
	if (!json_is_object(j))
		return errinfo_set(e, ST_INVALID, "deck: not a JSON object");
	struct reader r = {j, "deck", e};
	/* dyn decides the kind: a bool is normalised to 0/1; a number means
	 * filtered only when it is exactly the integer 1 */
	const json_t *dyn = get(&r, "dyn");
	bool filtered;
	int64_t x = 0;
	if (!dyn)
		return missing_key(e, "deck", "dyn");
	if (json_is_boolean(dyn)) {
		filtered = json_is_true(dyn);
	} else if (json_is_integer(dyn)) {
		filtered = json_integer_value(dyn) == 1;
		if (!int_in(dyn, 0, UINT8_MAX, &x))
			return bad_key(e, "deck", "dyn", "0, 1, true or false");
	} else {
		return bad_key(e, "deck", "dyn", "0, 1, true or false");
	}
	r.what = filtered ? "filtered deck" : "deck";

	struct deck_common *c = &d->common;
	struct today lrn = {0}, rev = {0}, nw = {0}, tim = {0};
	const char *name;
	enum status st = req_id(&r, "id", &d->id);
	if (!st && get(&r, "mod"))
		st = req_id(&r, "mod", &d->mtime);
	if (st)
		return st;
	const json_t *nv = get(&r, "name");
	if (!nv)
		return missing_key(e, r.what, "name");
	if (!as_cstr(nv, &name))
		return bad_key(e, r.what, "name", "a string");
	if ((st = req_int(&r, "usn", INT32_MIN, INT32_MAX, &x)))
		return st;
	d->usn = (int32_t)x;
	if ((st = today_from_json(&r, "lrnToday", &lrn)) ||
	    (st = today_from_json(&r, "revToday", &rev)) ||
	    (st = today_from_json(&r, "newToday", &nw)) ||
	    (st = today_from_json(&r, "timeToday", &tim)))
		return st;
	if ((st = req_bool(&r, "collapsed", &c->study_collapsed)) ||
	    (st = opt_bool(&r, "browserCollapsed", &c->browser_collapsed)))
		return st;
	char *desc = NULL;
	bool md = false;
	if ((st = opt_str(&r, "desc", &desc)) || (st = opt_bool(&r, "md", &md))) {
		free(desc);
		return st;
	}
	/* the four day counters collapse into one day; lrnToday's own day
	 * does not count towards it */
	int32_t max_day = tim.day;
	if (nw.day > max_day)
		max_day = nw.day;
	if (rev.day > max_day)
		max_day = rev.day;
	c->last_day_studied = (uint32_t)max_day;
	c->learning_studied = lrn.day == max_day ? lrn.amount : 0;
	c->review_studied = rev.day == max_day ? rev.amount : 0;
	c->new_studied = nw.day == max_day ? nw.amount : 0;
	c->milliseconds_studied = tim.amount;

	if (!filtered) {
		struct deck_normal *n = &d->kind.normal;
		d->kind.type = DECK_KIND_NORMAL;
		n->description = desc;
		n->markdown_description = md;
		desc = NULL;
		if ((st = req_id(&r, "conf", &n->config_id)))
			return st;
		if (int_in(get(&r, "extendNew"), INT32_MIN, INT32_MAX, &x))
			n->extend_new = x < 0 ? 0 : (uint32_t)x;
		if (int_in(get(&r, "extendRev"), INT32_MIN, INT32_MAX, &x))
			n->extend_review = x < 0 ? 0 : (uint32_t)x;
		doi_opt_int(&r, "reviewLimit", 0, UINT32_MAX, &n->has_review_limit, &x);
		n->review_limit = n->has_review_limit ? (uint32_t)x : 0;
		doi_opt_int(&r, "newLimit", 0, UINT32_MAX, &n->has_new_limit, &x);
		n->new_limit = n->has_new_limit ? (uint32_t)x : 0;
		day_limit_from_json(get(&r, "reviewLimitToday"), &n->has_review_limit_today,
		                    &n->review_limit_today);
		day_limit_from_json(get(&r, "newLimitToday"), &n->has_new_limit_today,
		                    &n->new_limit_today);
		doi_opt_int(&r, "desiredRetention", 0, UINT32_MAX, &n->has_desired_retention, &x);
		if (n->has_desired_retention) {
			float pct = (float)x;
			volatile float q = pct / 100.0f; /* f32 division, as Anki */
			n->desired_retention = q;
		}
	} else {
		free(desc); /* filtered decks have no description */
		struct deck_filtered *f = &d->kind.filtered;
		d->kind.type = DECK_KIND_FILTERED;
		bool sep;
		if ((st = req_bool_any(&r, "resched", &f->reschedule)))
			return st;
		const json_t *terms = get(&r, "terms");
		if (!terms)
			return missing_key(e, r.what, "terms");
		if (!json_is_array(terms))
			return bad_key(e, r.what, "terms", "an array");
		size_t nt = json_array_size(terms);
		if (nt) {
			f->search_terms = calloc(nt, sizeof *f->search_terms);
			if (!f->search_terms)
				return errinfo_set(e, ST_NOMEM, "cannot allocate search terms");
			f->nsearch_terms = nt;
		}
		for (size_t i = 0; i < nt; i++)
			if ((st = term_from_json(json_array_get(terms, i), i, &f->search_terms[i],
			                         e)))
				return st;
		if ((st = opt_bool(&r, "separate", &sep)))
			return st;
		struct f32_list dl = {0};
		if (f32_array(get(&r, "delays"), &dl)) {
			f->delays = dl.v;
			f->ndelays = dl.n;
		}
		static const char *const previews[] = {"previewDelay", "previewAgainSecs",
		                                       "previewHardSecs", "previewGoodSecs"};
		uint32_t *dst[] = {&f->preview_delay, &f->preview_again_secs, &f->preview_hard_secs,
		                   &f->preview_good_secs};
		for (size_t i = 0; i < 4; i++) {
			x = 0;
			if ((st = opt_int(&r, previews[i], 0, UINT32_MAX, &x)))
				return st;
			*dst[i] = (uint32_t)x;
		}
	}
	if ((st = deck_name_native_from_human(name, &d->name, e))) {
		errinfo_prefix(e, "%s", r.what);
		return st;
	}

	/* Common.other: every key no struct member consumed ("return" is
	 * obsolete and dropped) */
	const char *const *kind_keys = filtered ? DECK_FILTERED_KEYS : DECK_NORMAL_KEYS;
	json_t *tmp = json_deep_copy(j);
	if (!tmp)
		return errinfo_set(e, ST_NOMEM, "cannot copy JSON");
	json_object_del(tmp, "return");
	for (const char *const *k = kind_keys; *k; k++)
		json_object_del(tmp, *k);
	st = collect_other(tmp, DECK_COMMON_KEYS, NULL, &c->other, e);
	json_decref(tmp);
	return st;
}

enum status deck_from_json(const json_t *j, struct deck *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	enum status st = deck_parse(j, out, e);
	if (st)
		deck_free(out);
	return st;
}

static json_t *today_pair(int32_t day, int32_t amount)
{
	json_t *a = json_array();
	bool ok = a != NULL;
	if (ok) {
		push(a, json_integer(day), &ok);
		push(a, json_integer(amount), &ok);
	}
	if (!ok) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *day_limit_json(bool has, const struct deck_day_limit *l)
{
	if (!has)
		return json_null();
	json_t *o = json_object();
	bool ok = o != NULL;
	if (ok) {
		put(o, "limit", json_integer(l->limit), &ok);
		put(o, "today", json_integer(l->today), &ok);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *deck_to_json(const struct deck *d)
{
	const struct deck_common *c = &d->common;
	bool filtered = d->kind.type == DECK_KIND_FILTERED;
	if (!filtered && d->kind.type != DECK_KIND_NORMAL)
		return NULL;
	const struct deck_normal *n = &d->kind.normal;
	const struct deck_filtered *f = &d->kind.filtered;
	char *human = deck_name_human_from_native(d->name);
	json_t *o = json_object(), *other = parse_other(&c->other);
	bool ok = human && o && other;
	int32_t day = (int32_t)c->last_day_studied;
	if (ok) {
		put(o, "id", json_integer(d->id), &ok);
		put(o, "mod", json_integer(d->mtime), &ok);
		put(o, "name", json_string(human), &ok);
		put(o, "usn", json_integer(d->usn), &ok);
		put(o, "lrnToday", today_pair(day, c->learning_studied), &ok);
		put(o, "revToday", today_pair(day, c->review_studied), &ok);
		put(o, "newToday", today_pair(day, c->new_studied), &ok);
		put(o, "timeToday", today_pair(day, c->milliseconds_studied), &ok);
		put(o, "collapsed", json_boolean(c->study_collapsed), &ok);
		put(o, "browserCollapsed", json_boolean(c->browser_collapsed), &ok);
		put(o, "desc", jstr(filtered ? "" : n->description), &ok);
		if (!filtered && n->markdown_description)
			put(o, "md", json_true(), &ok);
		put(o, "dyn", json_integer(filtered ? 1 : 0), &ok);
		put_other(o, other, DECK_RESERVED, filtered ? DECK_FILTERED_KEYS : DECK_NORMAL_KEYS,
		          &ok);
	}
	if (ok && !filtered) {
		put(o, "conf", json_integer(n->config_id), &ok);
		put(o, "extendNew", json_integer((int32_t)n->extend_new), &ok);
		put(o, "extendRev", json_integer((int32_t)n->extend_review), &ok);
		put(o, "reviewLimit",
		    n->has_review_limit ? json_integer(n->review_limit) : json_null(), &ok);
		put(o, "newLimit", n->has_new_limit ? json_integer(n->new_limit) : json_null(),
		    &ok);
		put(o, "reviewLimitToday",
		    day_limit_json(n->has_review_limit_today, &n->review_limit_today), &ok);
		put(o, "newLimitToday", day_limit_json(n->has_new_limit_today, &n->new_limit_today),
		    &ok);
		if (n->has_desired_retention) {
			volatile float pct = n->desired_retention * 100.0f; /* f32, as Anki */
			put(o, "desiredRetention",
			    json_integer((json_int_t)f32_to_uint_sat(pct, UINT32_MAX)), &ok);
		} else {
			put(o, "desiredRetention", json_null(), &ok);
		}
	} else if (ok) {
		json_t *terms = json_array();
		ok = terms != NULL;
		for (size_t i = 0; ok && i < f->nsearch_terms; i++) {
			const struct deck_search_term *t = &f->search_terms[i];
			json_t *a = json_array();
			bool tok = a != NULL;
			if (tok) {
				push(a, jstr(t->search), &tok);
				push(a, json_integer((int32_t)t->limit), &tok);
				push(a, json_integer(t->order), &tok);
			}
			if (!tok) {
				json_decref(a);
				a = NULL;
			}
			push(terms, a, &ok);
		}
		put(o, "resched", json_boolean(f->reschedule), &ok);
		put(o, "terms", terms, &ok);
		put(o, "separate", json_true(), &ok);
		put(o, "delays", f->ndelays ? jf32_array(f->delays, f->ndelays) : json_null(), &ok);
		put(o, "previewDelay", json_integer(f->preview_delay), &ok);
		put(o, "previewAgainSecs", json_integer(f->preview_again_secs), &ok);
		put(o, "previewHardSecs", json_integer(f->preview_hard_secs), &ok);
		put(o, "previewGoodSecs", json_integer(f->preview_good_secs), &ok);
	}
	free(human);
	json_decref(other);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ======================================================================
 * Deck option presets (3.4)
 * ====================================================================== */

static const char *const DCONF_KEYS[] = {
    "id",
    "mod",
    "name",
    "usn",
    "maxTaken",
    "autoplay",
    "timer",
    "replayq",
    "new",
    "rev",
    "lapse",
    "dyn",
    "newMix",
    "newPerDayMinimum",
    "interdayLearningMix",
    "reviewOrder",
    "newSortOrder",
    "newGatherPriority",
    "buryInterdayLearning",
    "fsrsWeights",
    "fsrsParams5",
    "fsrsParams6",
    "desiredRetention",
    "ignoreRevlogsBeforeDate",
    "easyDaysPercentages",
    "stopTimerOnAnswer",
    "secondsToShowQuestion",
    "secondsToShowAnswer",
    "questionAction",
    "answerAction",
    "waitForAudio",
    "sm2Retention",
    "weightSearch",
    NULL,
};
/* rslib RESERVED_DECKCONF_KEYS: the list above minus new/rev/lapse. */
static const char *const DCONF_RESERVED[] = {
    "id",
    "newSortOrder",
    "replayq",
    "newPerDayMinimum",
    "usn",
    "autoplay",
    "dyn",
    "maxTaken",
    "reviewOrder",
    "buryInterdayLearning",
    "newMix",
    "mod",
    "timer",
    "name",
    "interdayLearningMix",
    "newGatherPriority",
    "fsrsWeights",
    "fsrsParams5",
    "fsrsParams6",
    "desiredRetention",
    "stopTimerOnAnswer",
    "secondsToShowQuestion",
    "secondsToShowAnswer",
    "questionAction",
    "answerAction",
    "waitForAudio",
    "sm2Retention",
    "weightSearch",
    "ignoreRevlogsBeforeDate",
    "easyDaysPercentages",
    NULL,
};
static const char *const DCONF_NEW_KEYS[] = {
    "order", "delays", "bury", "perDay", "initialFactor", "ints", NULL,
};
static const char *const DCONF_REV_KEYS[] = {
    "maxIvl", "hardFactor", "ease4", "ivlFct", "perDay", "bury", NULL,
};
static const char *const DCONF_LAPSE_KEYS[] = {
    "leechFails", "mult", "leechAction", "delays", "minInt", NULL,
};

/* Result of reading one of the new/rev/lapse objects: SUB_INVALID makes
 * the caller use the defaults for the whole object (default_on_invalid). */
enum sub_result { SUB_OK, SUB_INVALID, SUB_NOMEM };

/* The members of v not in `known`, as a new object of sorted copies. */
static enum sub_result copy_unknown(const json_t *v, const char *const *known, json_t **other)
{
	*other = json_object();
	if (!*other)
		return SUB_NOMEM;
	const char *k;
	json_t *val;
	json_object_foreach((json_t *)v, k, val)
	{
		if (in_list(k, known))
			continue;
		json_t *copy = sorted_copy(val, 0);
		if (!copy || json_object_set_new(*other, k, copy) != 0)
			return SUB_NOMEM;
	}
	return SUB_OK;
}

/* The "new" object read into c; *other receives its unknown keys. */
static enum sub_result dconf_new(const json_t *v, struct deckconf_config *c, json_t **other)
{
	if (!json_is_object(v))
		return SUB_INVALID;
	const json_t *x;
	int64_t i;
	x = json_object_get(v, "bury");
	if (x && !json_is_boolean(x))
		return SUB_INVALID;
	c->bury_new = json_is_true(x);
	/* delays: d_o_i, default = empty list (not [1, 10]) */
	if (!json_object_get(v, "delays"))
		return SUB_INVALID;
	f32_list_free(&c->learn_steps);
	f32_array(json_object_get(v, "delays"), &c->learn_steps);
	if (!int_in(json_object_get(v, "initialFactor"), 0, UINT16_MAX, &i))
		return SUB_INVALID;
	volatile float ease = (float)i / 1000.0f;
	c->initial_ease = ease;
	/* ints: AnkiDroid wrote [good, easy]; fewer than 2 valid u16 -> 1/4 */
	x = json_object_get(v, "ints");
	if (!x)
		return SUB_INVALID;
	c->graduating_interval_good = 1;
	c->graduating_interval_easy = 4;
	bool ints_ok = json_is_array(x) && json_array_size(x) >= 2;
	for (size_t k = 0; ints_ok && k < json_array_size(x); k++)
		ints_ok = int_in(json_array_get(x, k), 0, UINT16_MAX, &i);
	if (ints_ok) {
		int_in(json_array_get(x, 0), 0, UINT16_MAX, &i);
		c->graduating_interval_good = (uint32_t)i;
		int_in(json_array_get(x, 1), 0, UINT16_MAX, &i);
		c->graduating_interval_easy = (uint32_t)i;
	}
	/* order: schema 11 1 = due (proto 0), 0 = random (proto 1); d_o_i due */
	x = json_object_get(v, "order");
	if (!x)
		return SUB_INVALID;
	c->new_card_insert_order = int_in(x, 0, 1, &i) && i == 0 ? 1 : 0;
	x = json_object_get(v, "perDay");
	if (!x)
		return SUB_INVALID;
	c->new_per_day = int_in(x, 0, UINT32_MAX, &i) ? (uint32_t)i : 0;
	return copy_unknown(v, DCONF_NEW_KEYS, other);
}

static enum sub_result dconf_rev(const json_t *v, struct deckconf_config *c, json_t **other)
{
	if (!json_is_object(v))
		return SUB_INVALID;
	const json_t *x = json_object_get(v, "bury");
	int64_t i;
	if (x && !json_is_boolean(x))
		return SUB_INVALID;
	c->bury_reviews = json_is_true(x);
	if (!as_f32(json_object_get(v, "ease4"), &c->easy_multiplier) ||
	    !as_f32(json_object_get(v, "ivlFct"), &c->interval_multiplier) ||
	    !int_in(json_object_get(v, "maxIvl"), 0, UINT32_MAX, &i))
		return SUB_INVALID;
	c->maximum_review_interval = (uint32_t)i;
	x = json_object_get(v, "perDay");
	if (!x)
		return SUB_INVALID;
	c->reviews_per_day = int_in(x, 0, UINT32_MAX, &i) ? (uint32_t)i : 0;
	x = json_object_get(v, "hardFactor");
	c->hard_multiplier = 1.2f;
	if (x && !as_f32(x, &c->hard_multiplier))
		return SUB_INVALID;
	return copy_unknown(v, DCONF_REV_KEYS, other);
}

static enum sub_result dconf_lapse(const json_t *v, struct deckconf_config *c, json_t **other)
{
	if (!json_is_object(v))
		return SUB_INVALID;
	int64_t i;
	if (!json_object_get(v, "delays"))
		return SUB_INVALID;
	f32_list_free(&c->relearn_steps);
	f32_array(json_object_get(v, "delays"), &c->relearn_steps);
	const json_t *x = json_object_get(v, "leechAction");
	if (!x)
		return SUB_INVALID;
	c->leech_action = int_in(x, 0, 1, &i) ? (int32_t)i : 1; /* d_o_i: tag only */
	if (!int_in(json_object_get(v, "leechFails"), 0, UINT32_MAX, &i))
		return SUB_INVALID;
	c->leech_threshold = (uint32_t)i;
	if (!int_in(json_object_get(v, "minInt"), 0, UINT32_MAX, &i))
		return SUB_INVALID;
	c->minimum_lapse_interval = (uint32_t)i;
	if (!as_f32(json_object_get(v, "mult"), &c->lapse_multiplier))
		return SUB_INVALID;
	return copy_unknown(v, DCONF_LAPSE_KEYS, other);
}

/* Defaults of NewConfSchema11/RevConfSchema11/LapseConfSchema11. */
static enum status dconf_new_default(struct deckconf_config *c, struct errinfo *e)
{
	static const float steps[] = {1.0f, 10.0f};
	c->bury_new = false;
	c->initial_ease = 2.5f;
	c->graduating_interval_good = 1;
	c->graduating_interval_easy = 4;
	c->new_card_insert_order = 0;
	c->new_per_day = 20;
	f32_list_free(&c->learn_steps);
	c->learn_steps.v = malloc(sizeof steps);
	if (!c->learn_steps.v)
		return errinfo_set(e, ST_NOMEM, "cannot allocate steps");
	memcpy(c->learn_steps.v, steps, sizeof steps);
	c->learn_steps.n = 2;
	return ST_OK;
}

static void dconf_rev_default(struct deckconf_config *c)
{
	c->bury_reviews = false;
	c->easy_multiplier = 1.3f;
	c->interval_multiplier = 1.0f;
	c->maximum_review_interval = 36500;
	c->reviews_per_day = 200;
	c->hard_multiplier = 1.2f;
}

static enum status dconf_lapse_default(struct deckconf_config *c, struct errinfo *e)
{
	c->leech_action = 1;
	c->leech_threshold = 8;
	c->minimum_lapse_interval = 1;
	c->lapse_multiplier = 0.0f;
	f32_list_free(&c->relearn_steps);
	c->relearn_steps.v = malloc(sizeof(float));
	if (!c->relearn_steps.v)
		return errinfo_set(e, ST_NOMEM, "cannot allocate steps");
	c->relearn_steps.v[0] = 10.0f;
	c->relearn_steps.n = 1;
	return ST_OK;
}

static enum status deckconf_parse(const json_t *j, struct deckconf *dc, struct errinfo *e)
{
	if (!json_is_object(j))
		return errinfo_set(e, ST_INVALID, "deck config: not a JSON object");
	struct reader r = {j, "deck config", e};
	struct deckconf_config *c = &dc->cfg;
	int64_t x = 0;
	const json_t *v;
	enum status st = req_id(&r, "id", &dc->id);
	if (!st)
		st = req_id(&r, "mod", &dc->mtime);
	if (!st)
		st = req_str(&r, "name", &dc->name);
	if (!st)
		st = req_int(&r, "usn", INT32_MIN, INT32_MAX, &x);
	if (st)
		return st;
	dc->usn = (int32_t)x;
	if ((st = req_int(&r, "maxTaken", INT32_MIN, INT32_MAX, &x)))
		return st;
	c->cap_answer_time_to_secs = x < 0 ? 0 : (uint32_t)x;
	bool autoplay = true, replayq = false;
	if ((st = req_bool(&r, "autoplay", &autoplay)))
		return st;
	c->disable_autoplay = !autoplay;
	if (!(v = get(&r, "timer")))
		return missing_key(e, r.what, "timer");
	c->show_timer = int_in(v, 0, UINT8_MAX, &x) && x != 0;
	if ((st = opt_bool(&r, "replayq", &replayq)))
		return st;
	c->skip_question_when_replaying_answer = !replayq;

	json_t *extra = json_object();
	if (!extra)
		return errinfo_set(e, ST_NOMEM, "cannot build JSON");
	static const char *const subs[] = {"new", "rev", "lapse"};
	for (size_t i = 0; !st && i < 3; i++) {
		json_t *sub_other = NULL;
		v = get(&r, subs[i]);
		if (!v) {
			st = missing_key(e, r.what, subs[i]);
			break;
		}
		enum sub_result res = i == 0   ? dconf_new(v, c, &sub_other)
		                      : i == 1 ? dconf_rev(v, c, &sub_other)
		                               : dconf_lapse(v, c, &sub_other);
		if (res == SUB_NOMEM) {
			st = errinfo_set(e, ST_NOMEM, "cannot build JSON");
		} else if (res == SUB_INVALID) {
			if (i == 0)
				st = dconf_new_default(c, e);
			else if (i == 1)
				dconf_rev_default(c);
			else
				st = dconf_lapse_default(c, e);
		} else if (json_object_size(sub_other) > 0 &&
		           json_object_set(extra, subs[i], sub_other) != 0) {
			st = errinfo_set(e, ST_NOMEM, "cannot build JSON");
		}
		json_decref(sub_other);
	}
	if (st) {
		json_decref(extra);
		return st;
	}

	/* 2021 scheduler and later keys: optional, strict */
	const struct {
		const char *key;
		int64_t min, max;
		int32_t *dst;
	} ints[] = {
	    {"newMix", INT32_MIN, INT32_MAX, &c->new_mix},
	    {"interdayLearningMix", INT32_MIN, INT32_MAX, &c->interday_learning_mix},
	    {"reviewOrder", INT32_MIN, INT32_MAX, &c->review_order},
	    {"newSortOrder", INT32_MIN, INT32_MAX, &c->new_card_sort_order},
	    {"newGatherPriority", INT32_MIN, INT32_MAX, &c->new_card_gather_priority},
	    {"questionAction", 0, 1, &c->question_action}, /* u8 enum 0..1 */
	    {"answerAction", 0, 4, &c->answer_action},     /* u8 enum 0..4 */
	};
	for (size_t i = 0; !st && i < sizeof ints / sizeof ints[0]; i++) {
		x = 0;
		st = opt_int(&r, ints[i].key, ints[i].min, ints[i].max, &x);
		*ints[i].dst = (int32_t)x;
	}
	x = 0;
	if (!st)
		st = opt_int(&r, "newPerDayMinimum", 0, UINT32_MAX, &x);
	c->new_per_day_minimum = (uint32_t)x;
	if (!st)
		st = opt_bool(&r, "buryInterdayLearning", &c->bury_interday_learning);
	if (!st)
		st = opt_f32_array(&r, "fsrsWeights", &c->fsrs_params_4);
	if (!st)
		st = opt_f32_array(&r, "fsrsParams5", &c->fsrs_params_5);
	if (!st)
		st = opt_f32_array(&r, "fsrsParams6", &c->fsrs_params_6);
	c->desired_retention = 0.0f;
	if (!st)
		st = opt_f32(&r, "desiredRetention", &c->desired_retention);
	if (!st)
		st = opt_str(&r, "ignoreRevlogsBeforeDate", &c->ignore_revlogs_before_date);
	if (!st)
		st = opt_f32_array(&r, "easyDaysPercentages", &c->easy_days_percentages);
	if (!st)
		st = opt_bool(&r, "stopTimerOnAnswer", &c->stop_timer_on_answer);
	if (!st)
		st = opt_f32(&r, "secondsToShowQuestion", &c->seconds_to_show_question);
	if (!st)
		st = opt_f32(&r, "secondsToShowAnswer", &c->seconds_to_show_answer);
	c->wait_for_audio = true;
	if (!st)
		st = opt_bool(&r, "waitForAudio", &c->wait_for_audio);
	c->historical_retention = 0.0f;
	if (!st)
		st = opt_f32(&r, "sm2Retention", &c->historical_retention);
	if (!st)
		st = opt_str(&r, "weightSearch", &c->param_search);
	if (!st)
		st = collect_other(j, DCONF_KEYS, extra, &c->other, e);
	json_decref(extra);
	return st;
}

enum status deckconf_from_json(const json_t *j, struct deckconf *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	enum status st = deckconf_parse(j, out, e);
	if (st)
		deckconf_free(out);
	return st;
}

/* Take `key` out of top (when present): an object becomes the returned
 * sub-other minus reserved names; anything else reads as empty. */
static json_t *take_sub_other(json_t *top, const char *key, const char *const *reserved)
{
	json_t *sub = json_object_get(top, key);
	json_t *out = json_object();
	if (!out)
		return NULL;
	if (json_is_object(sub)) {
		const char *k;
		json_t *v;
		json_object_foreach(sub, k,
		                    v) if (!in_list(k, reserved) && json_object_set(out, k, v) != 0)
		{
			json_decref(out);
			return NULL;
		}
	}
	json_object_del(top, key);
	return out;
}

json_t *deckconf_to_json(const struct deckconf *dc)
{
	/* a shallow copy is enough: the fixes only touch scalars */
	struct deckconf_config c = dc->cfg;
	deckconf_config_fix_ranges(&c);
	json_t *top = parse_other(&c.other);
	json_t *new_o = top ? take_sub_other(top, "new", DCONF_NEW_KEYS) : NULL;
	json_t *rev_o = top ? take_sub_other(top, "rev", DCONF_REV_KEYS) : NULL;
	json_t *lapse_o = top ? take_sub_other(top, "lapse", DCONF_LAPSE_KEYS) : NULL;
	json_t *o = json_object(), *nw = json_object(), *rv = json_object(), *lp = json_object();
	json_t *ints = json_array();
	bool ok = top && new_o && rev_o && lapse_o && o && nw && rv && lp && ints;
	if (ok) {
		volatile float f1000 = c.initial_ease * 1000.0f; /* f32, as Anki */
		push(ints, json_integer((uint16_t)c.graduating_interval_good), &ok);
		push(ints, json_integer((uint16_t)c.graduating_interval_easy), &ok);
		push(ints, json_integer(0), &ok);
		put(nw, "bury", json_boolean(c.bury_new), &ok);
		put(nw, "delays", jf32_array(c.learn_steps.v, c.learn_steps.n), &ok);
		put(nw, "initialFactor",
		    json_integer((json_int_t)f32_to_uint_sat(f1000, UINT16_MAX)), &ok);
		put(nw, "ints", ints, &ok);
		ints = NULL;
		put(nw, "order", json_integer(c.new_card_insert_order == 1 ? 0 : 1), &ok);
		put(nw, "perDay", json_integer(c.new_per_day), &ok);
		put_other(nw, new_o, DCONF_NEW_KEYS, NULL, &ok);

		put(rv, "bury", json_boolean(c.bury_reviews), &ok);
		put(rv, "ease4", col_json_f32(c.easy_multiplier), &ok);
		put(rv, "ivlFct", col_json_f32(c.interval_multiplier), &ok);
		put(rv, "maxIvl", json_integer(c.maximum_review_interval), &ok);
		put(rv, "perDay", json_integer(c.reviews_per_day), &ok);
		put(rv, "hardFactor", col_json_f32(c.hard_multiplier), &ok);
		put_other(rv, rev_o, DCONF_REV_KEYS, NULL, &ok);

		put(lp, "delays", jf32_array(c.relearn_steps.v, c.relearn_steps.n), &ok);
		put(lp, "leechAction", json_integer(c.leech_action == 1 ? 1 : 0), &ok);
		put(lp, "leechFails", json_integer(c.leech_threshold), &ok);
		put(lp, "minInt", json_integer(c.minimum_lapse_interval), &ok);
		put(lp, "mult", col_json_f32(c.lapse_multiplier), &ok);
		put_other(lp, lapse_o, DCONF_LAPSE_KEYS, NULL, &ok);

		put(o, "id", json_integer(dc->id), &ok);
		put(o, "mod", json_integer(dc->mtime), &ok);
		put(o, "name", jstr(dc->name), &ok);
		put(o, "usn", json_integer(dc->usn), &ok);
		put(o, "maxTaken", json_integer((int32_t)c.cap_answer_time_to_secs), &ok);
		put(o, "autoplay", json_boolean(!c.disable_autoplay), &ok);
		put(o, "timer", json_integer(c.show_timer ? 1 : 0), &ok);
		put(o, "replayq", json_boolean(!c.skip_question_when_replaying_answer), &ok);
		put(o, "new", nw, &ok);
		put(o, "rev", rv, &ok);
		put(o, "lapse", lp, &ok);
		nw = rv = lp = NULL;
		put(o, "dyn", json_false(), &ok);
		put(o, "newMix", json_integer(c.new_mix), &ok);
		put(o, "newPerDayMinimum", json_integer(c.new_per_day_minimum), &ok);
		put(o, "interdayLearningMix", json_integer(c.interday_learning_mix), &ok);
		put(o, "reviewOrder", json_integer(c.review_order), &ok);
		put(o, "newSortOrder", json_integer(c.new_card_sort_order), &ok);
		put(o, "newGatherPriority", json_integer(c.new_card_gather_priority), &ok);
		put(o, "buryInterdayLearning", json_boolean(c.bury_interday_learning), &ok);
		put(o, "fsrsWeights", jf32_array(c.fsrs_params_4.v, c.fsrs_params_4.n), &ok);
		put(o, "fsrsParams5", jf32_array(c.fsrs_params_5.v, c.fsrs_params_5.n), &ok);
		put(o, "fsrsParams6", jf32_array(c.fsrs_params_6.v, c.fsrs_params_6.n), &ok);
		put(o, "desiredRetention", col_json_f32(c.desired_retention), &ok);
		put(o, "ignoreRevlogsBeforeDate", jstr(c.ignore_revlogs_before_date), &ok);
		put(o, "easyDaysPercentages",
		    jf32_array(c.easy_days_percentages.v, c.easy_days_percentages.n), &ok);
		put(o, "stopTimerOnAnswer", json_boolean(c.stop_timer_on_answer), &ok);
		put(o, "secondsToShowQuestion", col_json_f32(c.seconds_to_show_question), &ok);
		put(o, "secondsToShowAnswer", col_json_f32(c.seconds_to_show_answer), &ok);
		put(o, "questionAction", json_integer(c.question_action == 1 ? 1 : 0), &ok);
		put(o, "answerAction",
		    json_integer(c.answer_action >= 1 && c.answer_action <= 4 ? c.answer_action
		                                                              : 0),
		    &ok);
		put(o, "waitForAudio", json_boolean(c.wait_for_audio), &ok);
		put(o, "sm2Retention", col_json_f32(c.historical_retention), &ok);
		put(o, "weightSearch", jstr(c.param_search), &ok);
		put_other(o, top, DCONF_RESERVED, DCONF_KEYS, &ok);
	}
	json_decref(ints);
	json_decref(nw);
	json_decref(rv);
	json_decref(lp);
	json_decref(new_o);
	json_decref(rev_o);
	json_decref(lapse_o);
	json_decref(top);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
