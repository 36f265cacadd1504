/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_search_parse.c - the search parser (search-syntax.md §1-2, §4
 * syntax, §9 errors) checked through its tree, the wildcard conversions
 * of §3.1, and the Rust-regex acceptance check.  Cases follow Anki's own
 * parser tests (rslib/src/search/parser.rs) and text tests (text.rs).
 */
#include "testutil.h"

#include <math.h>

#include "search_parse.h"
#include "search_text.h"

/* The text form of a query's tree, or "ERR <message>". */
static char *tree(const char *q)
{
	static char out[8192];
	struct search_node *n;
	struct errinfo e;
	errinfo_clear(&e);
	enum status st = search_parse(q, &n, &e);
	if (st) {
		snprintf(out, sizeof out, "ERR %s", e.msg);
		return out;
	}
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(search_node_format(n, &b, NULL), ST_OK);
	snprintf(out, sizeof out, "%s", b.data ? (const char *)b.data : "");
	buf_free(&b);
	search_node_free(n);
	return out;
}

#define TREE(q, want) assert_string_equal(tree(q), want)

static void test_structure(void **state)
{
	(void)state;
	TREE("", "(all)");
	TREE("   ", "(all)");
	TREE("foo\xC2\xA0"
	     "bar",
	     "(text:\"foo\" AND text:\"bar\")");
	TREE("foo\tbar", "(text:\"foo\" AND text:\"bar\")");
	TREE("foo\nbar", "(text:\"foo\" AND text:\"bar\")");
	TREE("foo\xE3\x80\x80"
	     "bar",
	     "(text:\"foo\" AND text:\"bar\")");
	TREE("  t   t2  ", "(text:\"t\" AND text:\"t2\")");
	TREE("(  t   t2  )", "((text:\"t\" AND text:\"t2\"))");
	TREE("hello  -(world and \"foo:bar baz\") OR test",
	     "(text:\"hello\" AND NOT (text:\"world\" AND field:\"foo\":\"bar baz\") OR "
	     "text:\"test\")");
	/* precedence is left to SQL: the tree stays flat */
	TREE("a b or c", "(text:\"a\" AND text:\"b\" OR text:\"c\")");
	TREE("a or b c", "(text:\"a\" OR text:\"b\" AND text:\"c\")");
	TREE("-a b", "(NOT text:\"a\" AND text:\"b\")");
	TREE("a (b or c)", "(text:\"a\" AND (text:\"b\" OR text:\"c\"))");
	/* terms end at quotes and brackets */
	TREE("a\"b\"(c)", "(text:\"a\" AND text:\"b\" AND (text:\"c\"))");
	/* operators: ASCII case-insensitive, quote them to search */
	TREE("a AND b Or c", "(text:\"a\" AND text:\"b\" OR text:\"c\")");
	TREE("\"and\"", "(text:\"and\")");
	TREE("andx", "(text:\"andx\")");
	/* the minus */
	TREE("-", "(text:\"-\")");
	TREE("- dog", "(text:\"-\" AND text:\"dog\")");
	TREE("--x", "(NOT text:\"-x\")");
	TREE("-\"a dog\"", "(NOT text:\"a dog\")");
	TREE("-deck:x", "(NOT deck:\"x\")");
	TREE("-(a)", "(NOT (text:\"a\"))");
	TREE("a-b", "(text:\"a-b\")");
}

static void test_escapes(void **state)
{
	(void)state;
	TREE("\"field:va\\\"lue\"", "(field:\"field\":\"va\"lue\")");
	TREE("\"field:va\\\"lue\"", tree("field:\"va\\\"lue\""));
	TREE("\"field:va\\\"lue\"", tree("field:va\\\"lue"));
	TREE("3\\:30", "(text:\"3:30\")");
	TREE("\\(text\\)", "(text:\"(text)\")");
	TREE("\\-x", "(text:\"-x\")");
	/* wildcard escapes stay for the next stage */
	TREE("d\\_g \\*x\\* a\\\\b", "(text:\"d\\_g\" AND text:\"\\*x\\*\" AND text:\"a\\\\b\")");
	/* raw values: only \" is unescaped */
	TREE("re:\\d{3}", "(re:\"\\d{3}\")");
	TREE("re:\\btest", "(re:\"\\btest\")");
	TREE("\"re:a\\\"b\\(\"", "(re:\"a\"b\\(\")");
	TREE("tag:re:\\bx", "(tag:re:\"\\bx\")");
	TREE("front:re:\\d", "(field:\"front\":re:\"\\d\")");
	TREE("front:nc:\\x", "(field:\"front\":nc:\"\\x\")");
	TREE("tag:nc:\\*x", "(tag:nc:\"\\*x\")");
	TREE("dupe:12,a\\\\b\\\"c", "(dupe:12,\"a\\b\"c\")");
	TREE("preset:a\\b", "(preset:\"a\\b\")");
	/* keys: first unescaped colon; further colons need no escape */
	TREE("w:3:30", "(w:\"3:30\")");
	TREE("front:a:b", "(field:\"front\":\"a:b\")");
	TREE("a\\:b:c", "(field:\"a:b\":\"c\")");
	TREE("DECK:x Tag:y NOTE:z", "(deck:\"x\" AND tag:\"y\" AND note:\"z\")");
	TREE("deck:\"a b\"", "(deck:\"a b\")");
	TREE("\"deck:a b\"", "(deck:\"a b\")");
	TREE("front:", "(field:\"front\":\"\")");
	TREE("*:dog", "(field:\"*\":\"dog\")");
}

static void test_terms(void **state)
{
	(void)state;
	TREE("card:0 card:1 card:2 card:+3 card:65535 card:65536 card:x",
	     "(card-ord:0 AND card-ord:0 AND card-ord:1 AND card-ord:2 AND card-ord:65534 AND "
	     "card:\"65536\" AND card:\"x\")");
	TREE("flag:0 flag:+7", "(flag:0 AND flag:7)");
	TREE("added:0 added:+3 edited:1 introduced:5",
	     "(added:1 AND added:3 AND edited:1 AND introduced:5)");
	TREE("rated:0 rated:2:3 resched:0", "(rated:1:-1 AND rated:2:3 AND rated:0:0)");
	TREE("is:new is:review is:learn is:due is:buried is:buried-manually is:buried-sibling "
	     "is:suspended",
	     "(is:new AND is:review AND is:learn AND is:due AND is:buried AND is:buried-manually "
	     "AND is:buried-sibling AND is:suspended)");
	TREE("prop:ivl>=10 prop:ivl>+5 prop:due=-1 prop:reps!=0 prop:lapses<3 prop:pos<=5",
	     "(prop:ivl>=10 AND prop:ivl>5 AND prop:due=-1 AND prop:reps!=0 AND prop:lapses<3 AND "
	     "prop:pos<=5)");
	TREE("prop:ease>.5 prop:ease<5. prop:ease=1e2 prop:s>inf prop:d<-INFINITY",
	     "(prop:ease>0.5 AND prop:ease<5 AND prop:ease=100 AND prop:s>inf AND prop:d<-inf)");
	TREE("prop:rated=0 prop:rated>-3:2 prop:resched=-1",
	     "(prop:rated=0:-1 AND prop:rated>-3:2 AND prop:resched=-1)");
	TREE("prop:cdn:abc>1.5 prop:cds:k9=v:w", "(prop:cdn:abc>1.5 AND prop:cds:k9=\"v:w\")");
	TREE("did:1,2 nid:3 cid:4,5,6 mid:-7",
	     "(did:\"1,2\" AND nid:\"3\" AND cid:\"4,5,6\" AND mid:-7)");
	TREE("has-cd:k sc:x nc:y w:z", "(has-cd:\"k\" AND sc:\"x\" AND nc:\"y\" AND w:\"z\")");
	TREE("tag:none tag:a::b", "(tag:\"none\" AND tag:\"a::b\")");
	/* prop:rated takes the answer button */
	assert_string_equal(tree("prop:rated=0:5"),
	                    "ERR Invalid search: expected an answer button between 1-4 in "
	                    "\"`rated=0:5`\", but found \"`5`\".");
	/* NaN is a number for Rust */
	struct search_node *n;
	assert_int_equal(search_parse("prop:ease>nan", &n, NULL), ST_OK);
	assert_true(isnan(n->items[0]->term.fnum));
	search_node_free(n);
}

#define ERR(q, msg) assert_string_equal(tree(q), "ERR Invalid search: " msg)
#define MISPLACED(op)                                                                              \
	"an `" op "` was found but it is not connecting two search terms. If you want to search "  \
	"for the word itself, wrap it in double quotes: `\"" op "\"`."
#define EMPTY_GROUP                                                                                \
	"a group `(...)` was found, but there was nothing between the brackets to search for. If " \
	"you want to search for literal brackets, wrap them in double quotes: `\"( )\"`."
#define UNOPENED                                                                                   \
	"a closing bracket `)` was found, but there was no opening bracket `(` preceding it. If "  \
	"you want to search for a literal `)`, wrap it in double quotes or prepend a backslash: "  \
	"`\")\"` or `\\)`."
#define UNCLOSED                                                                                   \
	"an opening bracket `(` was found, but there was no closing bracket `)` following it. If " \
	"you want to search for a literal `(`, wrap it in double quotes or prepend a backslash: "  \
	"`\"(\"` or `\\(` ."
#define EMPTY_QUOTE                                                                                \
	"a pair of double quotes `\"\"` was found, but there was nothing between them to search "  \
	"for. If you want to search for literal double quotes, prepend backslashes: `\\\"\\\"`."
#define UNCLOSED_QUOTE                                                                             \
	"an opening double quote `\"` was found, but there was no second one to close it. If you " \
	"want to search for a literal `\"`, prepend a backslash: `\\\"`."
#define MISSING_KEY                                                                                \
	"a colon `:` was found, but there was no keyword preceding it. If you want to search for " \
	"a literal `:`, prepend a backslash: `\\:`."
#define ESCAPE(seq)                                                                                \
	"the escape sequence `" seq "` is not defined. If you want to search for a literal "       \
	"backslash `\\`, prepend another one: `\\\\`."
#define FLAG                                                                                       \
	"`flag:` must be followed by a valid flag number: `1` (red), `2` (orange), `3` (green), "  \
	"`4` (blue), `5` (pink), `6` (turquoise), `7` (purple) or `0` (no flag)."
#define PROP_OP(p)                                                                                 \
	"`prop:" p "` must be followed by one of the following comparison operators: `=`, `!=`, "  \
	"`<`, `>`, `<=` or `>=`."

static void test_errors(void **state)
{
	(void)state;
	ERR("foo and", MISPLACED("and"));
	ERR("and foo", MISPLACED("and"));
	ERR("and", MISPLACED("and"));
	ERR("foo or", MISPLACED("or"));
	ERR("or foo", MISPLACED("or"));
	ERR("or", MISPLACED("or"));
	ERR("a and or b", MISPLACED("or"));
	ERR("-and", MISPLACED("and"));
	ERR("()", EMPTY_GROUP);
	ERR("( )", EMPTY_GROUP);
	ERR("(foo () bar)", EMPTY_GROUP);
	ERR(")", UNOPENED);
	ERR("foo ) bar", UNOPENED);
	ERR("(foo) bar)", UNOPENED);
	ERR("(", UNCLOSED);
	ERR("foo ( bar", UNCLOSED);
	ERR("(foo (bar)", UNCLOSED);
	ERR("\"\"", EMPTY_QUOTE);
	ERR("foo:\"\"", EMPTY_QUOTE);
	ERR(" \" ", UNCLOSED_QUOTE);
	ERR("\" foo", UNCLOSED_QUOTE);
	ERR("\"\\", UNCLOSED_QUOTE);
	ERR("foo:\"bar", UNCLOSED_QUOTE);
	ERR("foo:\"bar\\", UNCLOSED_QUOTE);
	ERR(":", MISSING_KEY);
	ERR(":foo", MISSING_KEY);
	ERR(":\"foo\"", MISSING_KEY);
	ERR("\\", ESCAPE("\\"));
	ERR("\\%", ESCAPE("\\%"));
	ERR("foo\\", ESCAPE("\\"));
	ERR("\\foo", ESCAPE("\\f"));
	ERR("\\ ", ESCAPE("\\"));
	ERR("\"\\ \"", ESCAPE("\\ "));
	ERR("foo\\ bar", ESCAPE("\\ bar")); /* nom reports the rest of the input */
	ERR("deck:a\\b", ESCAPE("\\b"));
	ERR("fo\\o:bar", ESCAPE("\\o"));
	ERR("\"\\`x\"", ESCAPE("\\'")); /* backticks in user text become ' */
	ERR("\"\\\xC3\xA9\"", ESCAPE("\\\xC3\xA9"));
	static const char *const idlists[] = {"nid:1_2,3", "nid:1,2,x", "nid:,2,3", "nid:1,2,",
	                                      "cid:1_2,3", "cid:1,2,x", "cid:,2,3", "cid:1,2,"};
	for (size_t i = 0; i < sizeof idlists / sizeof idlists[0]; i++) {
		char want[128];
		snprintf(
		    want, sizeof want,
		    "ERR Invalid search: expected only digits and commas in %.3s:", idlists[i]);
		assert_string_equal(tree(idlists[i]), want);
	}
	ERR("DID:x", "expected only digits and commas in DID:");
	ERR("is:foo", "`is:` was given an invalid argument '`foo`'.");
	ERR("is:DUE", "`is:` was given an invalid argument '`DUE`'.");
	ERR("is:New", "`is:` was given an invalid argument '`New`'.");
	ERR("is:", "`is:` was given an invalid argument '``'.");
	ERR("\"is:learn \"", "`is:` was given an invalid argument '`learn `'.");
	ERR("\"flag: \"", FLAG);
	ERR("flag:-0", FLAG);
	ERR("flag:", FLAG);
	ERR("flag:8", FLAG);
	ERR("flag:1.1", FLAG);
	ERR("flag:256", FLAG);
	static const char *const days[] = {"added", "edited", "rated", "resched", "introduced"};
	static const char *const bad[] = {"1.1", "-1", "", "foo", "4294967296"};
	for (size_t i = 0; i < 5; i++) {
		for (size_t k = 0; k < 5; k++) {
			char q[64], want[256];
			snprintf(q, sizeof q, "%s:%s", days[i], bad[k]);
			snprintf(want, sizeof want,
			         "ERR Invalid search: expected a positive whole number in "
			         "\"`%s:`\", but "
			         "found \"`%s`\".",
			         days[i], bad[k]);
			assert_string_equal(tree(q), want);
		}
	}
	ERR("rated:1:", "expected an answer button between 1-4 in \"`1:`\", but found \"``\".");
	ERR("rated:2:-1",
	    "expected an answer button between 1-4 in \"`2:-1`\", but found \"`-1`\".");
	ERR("rated:3:1.1",
	    "expected an answer button between 1-4 in \"`3:1.1`\", but found \"`1.1`\".");
	ERR("rated:0:foo",
	    "expected an answer button between 1-4 in \"`0:foo`\", but found \"`foo`\".");
	ERR("dupe:", "expected a whole number in \"``\", but found \"``\".");
	ERR("dupe:1.1", "expected a whole number in \"`1.1`\", but found \"`1.1`\".");
	ERR("dupe:foo", "expected a whole number in \"`foo`\", but found \"`foo`\".");
	ERR("dupe:123", "invalid 'dupe:' search");
	ERR("mid:x", "expected a whole number in \"`mid:`\", but found \"`x`\".");
	ERR("prop:", "`prop:` was given an invalid argument '``'.");
	ERR("prop:=1", "`prop:` was given an invalid argument '`=1`'.");
	ERR("prop:DUE<5", "`prop:` was given an invalid argument '`DUE<5`'.");
	ERR("prop:cdn=5", "`prop:` was given an invalid argument '`cdn=5`'.");
	ERR("prop:cdn:=5", "`prop:` was given an invalid argument '`cdn:=5`'.");
	ERR("prop:cds=s", "`prop:` was given an invalid argument '`cds=s`'.");
	ERR("prop:cds:=s", "`prop:` was given an invalid argument '`cds:=s`'.");
	ERR("prop:lapses", PROP_OP("lapses"));
	ERR("prop:pos~1", PROP_OP("pos"));
	ERR("prop:reps10", PROP_OP("reps"));
	ERR("prop:decay>1", PROP_OP("d"));
	ERR("prop:cdn:x~1", PROP_OP("cdn:x"));
	static const char *const uprops[] = {"ivl", "reps", "lapses", "pos"};
	static const char *const ubad[] = {">", "=0.5", "!=-1", "<foo"};
	for (size_t i = 0; i < 4; i++) {
		for (size_t k = 0; k < 4; k++) {
			char q[64], want[256];
			snprintf(q, sizeof q, "prop:%s%s", uprops[i], ubad[k]);
			const char *num = ubad[k] + (ubad[k][1] == '=' ? 2 : 1);
			snprintf(want, sizeof want,
			         "ERR Invalid search: expected a positive whole number in "
			         "\"`%s%s`\", but "
			         "found \"`%s`\".",
			         uprops[i], ubad[k], num);
			assert_string_equal(tree(q), want);
		}
	}
	ERR("prop:due>", "expected a whole number in \"`due>`\", but found \"``\".");
	ERR("prop:due=0.5", "expected a whole number in \"`due=0.5`\", but found \"`0.5`\".");
	ERR("prop:due>2147483648",
	    "expected a whole number in \"`due>2147483648`\", but found \"`2147483648`\".");
	ERR("prop:ease>", "expected a number in \"`ease>`\", but found \"``\".");
	ERR("prop:ease!=one", "expected a number in \"`ease!=one`\", but found \"`one`\".");
	ERR("prop:ease<1,1", "expected a number in \"`ease<1,1`\", but found \"`1,1`\".");
	ERR("prop:ease>.", "expected a number in \"`ease>.`\", but found \"`.`\".");
	ERR("prop:ease>1e", "expected a number in \"`ease>1e`\", but found \"`1e`\".");
	ERR("prop:ease>0x10", "expected a number in \"`ease>0x10`\", but found \"`0x10`\".");
	ERR("prop:rated=1",
	    "expected a whole number less than or equal to 0 in \"`rated=1`\", but found \"`1`\".");
	ERR("prop:resched>2", "expected a whole number less than or equal to 0 in \"`resched>2`\", "
	                      "but found \"`2`\".");
	ERR("\xff", "the search is not valid UTF-8.");
	/* long user text in a message is cut, still UTF-8 */
	char longq[600] = "is:";
	for (int i = 0; i < 250; i++)
		strcat(longq, "\xC3\xA9");
	const char *t = tree(longq);
	assert_true(strlen(t) < ERRINFO_MSG_MAX + 4);
	assert_non_null(strstr(t, "\xE2\x80\xA6`'."));
}

static void test_depth(void **state)
{
	(void)state;
	char q[2 * SEARCH_MAX_DEPTH + 8];
	size_t n = 0;
	for (unsigned i = 0; i < SEARCH_MAX_DEPTH; i++)
		q[n++] = '(';
	q[n++] = 'a';
	for (unsigned i = 0; i < SEARCH_MAX_DEPTH; i++)
		q[n++] = ')';
	q[n] = 0;
	assert_memory_equal(tree(q), "((((", 4);
	memmove(q + 1, q, n + 1);
	q[0] = '(';
	q[n + 1] = ')';
	q[n + 2] = 0;
	assert_string_equal(tree(q), "ERR Invalid search: brackets are nested too deeply.");
	/* terms */
	static char many[4 * SEARCH_MAX_TERMS + 8];
	many[0] = 0;
	for (unsigned i = 0; i < SEARCH_MAX_TERMS; i++)
		strcat(many, "a b ");
	assert_string_equal(tree(many), "ERR Invalid search: the search has too many terms.");
	many[2 * SEARCH_MAX_TERMS] = 0;
	assert_memory_equal(tree(many), "(text:", 6);
}

/* ---- §3.1 conversions ---- */

static char *conv(enum status (*f)(const char *, size_t, struct buf *, struct errinfo *),
                  const char *in)
{
	static char out[512];
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(f(in, strlen(in), &b, NULL), ST_OK);
	snprintf(out, sizeof out, "%s", b.data ? (const char *)b.data : "");
	buf_free(&b);
	return out;
}

static void test_conversions(void **state)
{
	(void)state;
	/* Anki's text.rs conversion test */
	assert_string_equal(conv(search_to_re, "[te\\*st]"), "\\[te\\*st\\]");
	assert_string_equal(conv(search_to_sql, "%f_o*"), "\\%f_o%");
	assert_string_equal(conv(search_to_text, "\\*\\_*_"), "*_*_");
	assert_true(search_is_glob("\\\\\\\\_", 5));
	assert_false(search_is_glob("\\\\\\_", 4));
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(search_to_custom_re("f_o*", 4, "\\d", &b, NULL), ST_OK);
	assert_string_equal((char *)b.data, "f\\do\\d*");
	buf_free(&b);
	/* the table of §3.1 */
	assert_string_equal(conv(search_to_sql, "a*b_c\\*d\\_e\\\\f%g"), "a%b_c*d\\_e\\\\f\\%g");
	assert_string_equal(conv(search_to_re, "a*b_c\\*d\\_e\\\\f%g.h"),
	                    "a.*b.c\\*d_e\\\\f%g\\.h");
	assert_string_equal(conv(search_to_re, "x\\"), "x\\\\");
	assert_string_equal(conv(search_to_re, "\xD0\x9C-~#&"), "\xD0\x9C\\-\\~\\#\\&");
	assert_string_equal(conv(search_regex_escape, "a.b(c)|d"), "a\\.b\\(c\\)\\|d");
	/* runs of * give one wildcard (same matches, no backtracking blow-up) */
	assert_string_equal(conv(search_to_re, "a***b*\\**c"), "a.*b.*\\*.*c");
	assert_true(search_is_glob("a*", 2));
	assert_true(search_is_glob("_", 1));
	assert_false(search_is_glob("a\\*", 3));
	assert_false(search_is_glob("abc", 3));
	assert_true(search_is_glob("a\\\\*", 4));
}

static enum status check_re(const char *re)
{
	struct errinfo e;
	return search_regex_check(re, strlen(re), &e);
}

static void test_regex_check(void **state)
{
	(void)state;
	static const char *const ok[] = {
	    "(?i)abc",
	    "(?i)^a.*b$",
	    "(?is)x",
	    "\\d{3}",
	    "(?:a|b)+?",
	    "(?P<n>x)",
	    "(?<n>x)",
	    "[a-z\\]]",
	    "[]a]",
	    "[[:alpha:]]+",
	    "\\p{L}+",
	    "\\p{Greek}{2}",
	    "\\x{41}",
	    "\\bword\\b",
	    "(?-i:x)",
	    "a{2,3}?",
	    "(?i).* a(::| ).*",
	    "(?i)^French($|\x1f)",
	    "\\\\d",
	    "[(?=]",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (check_re(ok[i]))
			fail_msg("rejected: %s", ok[i]);
	static const char *const bad[] = {
	    "(",   "a{2,1}", "(?=x)",  "(?!x)", "(?<=x)", "(?<!x)",  "(a)\\1",  "(?>a)",   "a*+",
	    "a++", "a?+",    "a{2}+",  "(?R)",  "(?1)",   "(?(1)a)", "(*FAIL)", "\\Qa\\E", "\\K",
	    "\\G", "\\g1",   "\\k<n>", "(?#c)", "(?|a)",  "\\C",     "(?P=n)",  "[a",      "\\",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (check_re(bad[i]) != ST_INVALID)
			fail_msg("accepted: %s", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_structure),   cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_terms),       cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_depth),       cmocka_unit_test(test_conversions),
	    cmocka_unit_test(test_regex_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
