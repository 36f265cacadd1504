/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_ac_request.c - the AnkiConnect envelope (ankiconnect.md §1.3, §1.7):
 * the error texts of Python's json module and UTF-8 decoder (the expected
 * strings below were produced by CPython 3.11 on the same inputs), Python
 * reprs, schema checks and the CORS decision.
 */
#include "testutil.h"

#include "ac_request.h"

struct jcase {
	const char *in;
	size_t len;
	const char *msg; /* NULL: Python accepts it */
};

static const struct jcase json_cases[] = {
    {"{1: 2}", 6, "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"},
    {"{\"action\": \"version\",}", 22,
     "Expecting property name enclosed in double quotes: line 1 column 22 (char 21)"},
    {"{\"action\": \"version\"", 20, "Expecting ',' delimiter: line 1 column 21 (char 20)"},
    {"{\"action\"\x0a"
     " \"version\"}",
     21, "Expecting ':' delimiter: line 2 column 2 (char 11)"},
    {"nul", 3, "Expecting value: line 1 column 1 (char 0)"},
    {"{\"action\": \"version\"} x", 23, "Extra data: line 1 column 23 (char 22)"},
    {"{\"action\": \"v\x01"
     "\"}",
     16, "Invalid control character at: line 1 column 14 (char 13)"},
    {"{\"action\": \"\\q\"}", 16, "Invalid \\escape: line 1 column 13 (char 12)"},
    {"{\"a\": \"\xc3"
     "\xa9"
     "\xc3"
     "\xa9"
     "",
     11, "Unterminated string starting at: line 1 column 7 (char 6)"},
    {"[1,]", 4, "Expecting value: line 1 column 4 (char 3)"},
    {"{\"a\":1,}", 8,
     "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)"},
    {"\"\\u12", 5, "Invalid \\uXXXX escape: line 1 column 3 (char 2)"},
    {"\"\\uzzzz\"", 8, "Invalid \\uXXXX escape: line 1 column 3 (char 2)"},
    {"01", 2, "Extra data: line 1 column 2 (char 1)"},
    {"-", 1, "Expecting value: line 1 column 1 (char 0)"},
    {"[", 1, "Expecting value: line 1 column 2 (char 1)"},
    {"{", 1, "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"},
    {"{\"a\"", 4, "Expecting ':' delimiter: line 1 column 5 (char 4)"},
    {"{\"a\":", 5, "Expecting value: line 1 column 6 (char 5)"},
    {"[1 2]", 5, "Expecting ',' delimiter: line 1 column 4 (char 3)"},
    {"\"abc", 4, "Unterminated string starting at: line 1 column 1 (char 0)"},
    {"\"abc\\", 5, "Unterminated string starting at: line 1 column 1 (char 0)"},
    {"1.", 2, "Extra data: line 1 column 2 (char 1)"},
    {"1e", 2, "Extra data: line 1 column 2 (char 1)"},
    {"tru", 3, "Expecting value: line 1 column 1 (char 0)"},
    {"\xef"
     "\xbb"
     "\xbf"
     "{}",
     5, "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"},
    {"", 0, "Expecting value: line 1 column 1 (char 0)"},
    {"   ", 3, "Expecting value: line 1 column 4 (char 3)"},
    {"{\"\xe6"
     "\x97"
     "\xa5"
     "\":\x0a"
     "\x0a"
     " [1, 2,, 3]}",
     21, "Expecting value: line 3 column 8 (char 14)"},
    {"[true, false, null, NaN, Infinity, -Infinity, 1e5, -0.5]", 56, NULL},
    {"{\"a\": [1, {\"b\": \"c\\n\"}]}", 24, NULL},
    {"\"\\ud800\\udc00\"", 14, NULL},
    {"\"\\ud800\"", 8, NULL},
    {"[-Inf]", 6, "Expecting value: line 1 column 2 (char 1)"},
    {"{\"a\" 1}", 7, "Expecting ':' delimiter: line 1 column 6 (char 5)"},
    {"\x0a"
     "\x0a"
     "  x",
     5, "Expecting value: line 3 column 3 (char 4)"},
};

static void test_python_json_errors(void **state)
{
	(void)state;
	struct buf msg;
	buf_init(&msg, 0);
	for (size_t i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++) {
		const struct jcase *c = &json_cases[i];
		bool err = ac_py_json_error(c->in, c->len, &msg);
		if (!c->msg) {
			assert_false(err);
			continue;
		}
		assert_true(err);
		assert_string_equal((const char *)msg.data, c->msg);
	}
	/* deeper than the limit: Python's RecursionError wording */
	size_t n = 5000;
	char *deep = malloc(2 * n);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	assert_true(ac_py_json_error(deep, 2 * n, &msg));
	assert_string_equal((const char *)msg.data,
	                    "maximum recursion depth exceeded while decoding a JSON array from a "
	                    "unicode string");
	free(deep);
	buf_free(&msg);
}

static void test_python_utf8_errors(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t len;
		const char *msg;
	} cases[] = {
	    {"\xe7\x8c", 2,
	     "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data"},
	    {"\xff", 1, "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"},
	    {"ab\xe7", 3,
	     "'utf-8' codec can't decode byte 0xe7 in position 2: unexpected end of data"},
	    {"\xe0\x80", 2,
	     "'utf-8' codec can't decode byte 0xe0 in position 0: invalid continuation byte"},
	    {"a\xc3(", 3,
	     "'utf-8' codec can't decode byte 0xc3 in position 1: invalid continuation byte"},
	    {"\xf0\x9f\x98", 3,
	     "'utf-8' codec can't decode bytes in position 0-2: unexpected end of data"},
	    {"\xf0\x9f\x98\x80\xed\xa0\x80", 7,
	     "'utf-8' codec can't decode byte 0xed in position 4: invalid continuation byte"},
	    {"\xf4\x90\x80\x80", 4,
	     "'utf-8' codec can't decode byte 0xf4 in position 0: invalid continuation byte"},
	};
	struct buf msg;
	buf_init(&msg, 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_true(ac_py_utf8_error(cases[i].in, cases[i].len, &msg));
		assert_string_equal((const char *)msg.data, cases[i].msg);
	}
	assert_false(ac_py_utf8_error("caf\xc3\xa9 \xf0\x9f\x98\x80", 10, &msg));
	buf_free(&msg);
}

static void repr_is(const char *json, const char *want)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	assert_non_null(v);
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(ac_py_repr(v, &b, NULL), ST_OK);
	assert_string_equal((const char *)b.data, want);
	buf_free(&b);
	json_decref(v);
}

static void test_repr(void **state)
{
	(void)state;
	static const struct {
		double v;
		const char *want;
	} floats[] = {{1.2, "1.2"},
	              {1e16, "1e+16"},
	              {1e15, "1000000000000000.0"},
	              {0.0001, "0.0001"},
	              {0.00001, "1e-05"},
	              {1.0, "1.0"},
	              {-2.5, "-2.5"},
	              {123456789.123, "123456789.123"},
	              {1e100, "1e+100"},
	              {5e-324, "5e-324"},
	              {0.1 + 0.2, "0.30000000000000004"},
	              {100.0, "100.0"},
	              {1e22, "1e+22"}};
	for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
		struct buf b;
		buf_init(&b, 0);
		assert_int_equal(ac_py_repr_float(floats[i].v, &b, NULL), ST_OK);
		assert_string_equal((const char *)b.data, floats[i].want);
		buf_free(&b);
	}
	repr_is("\"it's\"", "\"it's\"");
	repr_is("\"a\\\"b\"", "'a\"b'");
	repr_is("\"both'\\\"\"", "'both\\'\"'");
	repr_is("\"tab\\t\\u0001\\u007f\\u00e9\\u2028\"", "'tab\\t\\x01\\x7f\xc3\xa9\\u2028'");
	repr_is("{\"a\": [1, null, true]}", "{'a': [1, None, True]}");
	repr_is("[]", "[]");
	repr_is("false", "False");
}

static void test_envelope(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *msg;
	} bad[] = {
	    {"1.2", "1.2 is not of type 'object'"},
	    {"{}", "'action' is a required property"},
	    {"{\"action\": 1}", "1 is not of type 'string'"},
	    {"{\"action\": \"\"}", "'' is too short"},
	    {"{\"action\": \"version\", \"version\": \"6\"}", "'6' is not of type 'integer'"},
	    {"{\"action\": \"version\", \"version\": true}", "True is not of type 'integer'"},
	    {"{\"action\": \"deckNames\", \"params\": []}", "[] is not of type 'object'"},
	    {"{\"action\": \"deckNames\", \"params\": null}", "None is not of type 'object'"},
	    {"{1: 2}",
	     "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"},
	};
	struct buf msg;
	buf_init(&msg, 0);
	struct ac_request r;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(ac_request_parse(bad[i].in, strlen(bad[i].in), &r, &msg),
		                 ST_INVALID);
		assert_string_equal((const char *)msg.data, bad[i].msg);
	}
	const char *ok = "{\"action\": \"deckNames\", \"key\": null, \"extra\": [1]}";
	assert_int_equal(ac_request_parse(ok, strlen(ok), &r, &msg), ST_OK);
	assert_string_equal(r.action, "deckNames");
	assert_int_equal(r.version, 4);
	assert_true(json_is_object(r.params) && json_object_size(r.params) == 0);
	assert_true(json_is_null(r.key));
	ac_request_free(&r);
	ok = "{\"action\": \"x\", \"version\": 6.0, \"params\": {\"a\": 1}}";
	assert_int_equal(ac_request_parse(ok, strlen(ok), &r, &msg), ST_OK);
	assert_int_equal(r.version, 6);
	assert_null(r.key);
	assert_int_equal(json_integer_value(json_object_get(r.params, "a")), 1);
	ac_request_free(&r);
	buf_free(&msg);
}

static void test_cors(void **state)
{
	(void)state;
	const char *deflt[] = {"http://localhost"};
	const char *star[] = {"https://a.example", "*"};
	const char *custom[] = {"https://a.example"};
	const char *cors;
	assert_true(ac_cors_allowed(deflt, 1, NULL, &cors));
	assert_string_equal(cors, "http://localhost");
	assert_true(ac_cors_allowed(deflt, 1, "http://localhost", &cors));
	assert_string_equal(cors, "http://localhost");
	assert_false(ac_cors_allowed(deflt, 1, "http://localhost:3000", &cors));
	assert_string_equal(cors, "http://localhost");
	assert_true(ac_cors_allowed(deflt, 1, "http://127.0.0.1:8080", &cors));
	assert_string_equal(cors, "http://127.0.0.1:8080");
	assert_true(ac_cors_allowed(deflt, 1, "moz-extension://abc", &cors));
	assert_false(ac_cors_allowed(deflt, 1, "http://127.0.0.10", &cors));
	assert_true(ac_cors_allowed(star, 2, "https://b.example", &cors));
	assert_string_equal(cors, "*");
	assert_true(ac_cors_allowed(custom, 1, "https://a.example", &cors));
	/* the extension rule only applies when http://localhost is trusted */
	assert_false(ac_cors_allowed(custom, 1, "chrome-extension://x", &cors));
	assert_true(ac_cors_allowed(custom, 1, NULL, &cors));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_python_json_errors),
	    cmocka_unit_test(test_python_utf8_errors),
	    cmocka_unit_test(test_repr),
	    cmocka_unit_test(test_envelope),
	    cmocka_unit_test(test_cors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
