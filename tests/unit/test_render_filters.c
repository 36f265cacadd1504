/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_render_filters.c - the pieces under card rendering, table-driven
 * from Anki's documented behaviour and its rslib test cases (cloze.rs,
 * template_filters.rs, card_rendering/{parser,writer}.rs, latex.rs, image_occlusion):
 * BLAKE3 (official test vectors), htmlescape's two encoders, cloze
 * reveal / cloze-only / MathJax, image occlusion attributes, ruby
 * filters, hint, type, tts, filter chains, sound/tts tag extraction and
 * LaTeX image links.
 */
#include "testutil.h"

#include "render_av.h"
#include "render_blake3.h"
#include "render_cloze.h"
#include "render_filters.h"
#include "render_html.h"
#include "render_latex.h"

static const char *cstr(const struct buf *b)
{
	return b->data ? (const char *)b->data : "";
}

/* ---- BLAKE3 ---- */

static void test_blake3(void **state)
{
	(void)state;
	/* input: bytes i % 251; digests: the first 32 bytes of the official
	 * test_vectors.json "hash" entries */
	static const struct {
		size_t len;
		const char *hex;
	} v[] = {
	    {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
	    {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
	    {1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
	    {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
	    {1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
	    {2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"},
	    {2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"},
	    {3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"},
	    {3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"},
	    {4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969"},
	    {4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995"},
	    {5120, "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833"},
	    {6145, "f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f"},
	    {7169, "a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817"},
	};
	unsigned char *in = malloc(8192);
	assert_non_null(in);
	for (int i = 0; i < 8192; i++)
		in[i] = (unsigned char)(i % 251);
	for (size_t k = 0; k < sizeof v / sizeof *v; k++) {
		uint8_t d[32];
		char hex[65];
		render_blake3(in, v[k].len, d);
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", d[i]);
		assert_string_equal(hex, v[k].hex);
		/* the same through uneven updates */
		struct render_blake3 h;
		render_blake3_init(&h);
		for (size_t off = 0; off < v[k].len;) {
			size_t step = 1 + (off * 7) % 97;
			if (step > v[k].len - off)
				step = v[k].len - off;
			render_blake3_update(&h, in + off, step);
			off += step;
		}
		uint8_t d2[32];
		render_blake3_final(&h, d2);
		assert_memory_equal(d, d2, 32);
	}
	free(in);
	uint8_t d[32];
	render_blake3("abc", 3, d);
	assert_int_equal(d[0], 0x64);
	assert_int_equal(d[31], 0x85);
}

/* ---- htmlescape ---- */

static void test_html_escape(void **state)
{
	(void)state;
	static const struct {
		const char *in, *attr, *minimal;
	} v[] = {
	    {"\"No\", he said.", "&quot;No&quot;&#x2C;&#x20;he&#x20;said&#x2E;",
	     "&quot;No&quot;, he said."},
	    {"<em>Hej!</em>", "&lt;em&gt;Hej&#x21;&lt;&#x2F;em&gt;", "&lt;em&gt;Hej!&lt;/em&gt;"},
	    {"it's", "it&#x27;s", "it&#x27;s"},
	    {"a\nb", "a&#x0A;b", "a\nb"},
	    {"caf\xc3\xa9 \xe4\xb8\xad", "caf&#xE9;&#x20;\xe4\xb8\xad", "caf\xc3\xa9 \xe4\xb8\xad"},
	    {"x\xffy", "x\xffy", "x\xffy"}, /* invalid UTF-8 copied */
	    {"", "", ""},
	};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		struct buf b;
		buf_init(&b, 0);
		assert_int_equal(render_html_encode_attribute(v[i].in, strlen(v[i].in), &b, NULL),
		                 ST_OK);
		assert_string_equal(cstr(&b), v[i].attr);
		buf_reset(&b);
		assert_int_equal(render_html_encode_minimal(v[i].in, strlen(v[i].in), &b, NULL),
		                 ST_OK);
		assert_string_equal(cstr(&b), v[i].minimal);
		buf_free(&b);
	}
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(render_html_strip("<b>a</b>&amp;<!-- x -->b&nbsp;c", 31, &b, NULL), ST_OK);
	assert_string_equal(cstr(&b), "a&b c");
	buf_free(&b);
}

/* ---- cloze ---- */

#define NESTED_ESC                                                                                 \
	"bar&#x20;&lt;span&#x20;class&#x3D;&quot;cloze&#x2D;inactive&quot;&#x20;data&#x2D;"        \
	"ordinal&#x3D;&quot;2&quot;&gt;baz&lt;&#x2F;span&gt;"

static void reveal_eq(const char *in, uint32_t num, bool q, const char *want, bool strip)
{
	struct buf b, s;
	buf_init(&b, 0);
	buf_init(&s, 0);
	assert_int_equal(render_cloze_reveal(in, strlen(in), num, q, &b, NULL), ST_OK);
	if (strip) {
		assert_int_equal(render_html_strip(cstr(&b), b.len, &s, NULL), ST_OK);
		if (strcmp(cstr(&s), want) != 0)
			fail_msg("reveal(%s, %u, %d) stripped: got '%s' want '%s'", in, num, q,
			         cstr(&s), want);
	} else if (strcmp(cstr(&b), want) != 0) {
		fail_msg("reveal(%s, %u, %d): got '%s' want '%s'", in, num, q, cstr(&b), want);
	}
	buf_free(&b);
	buf_free(&s);
}

static void test_cloze_reveal(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		uint32_t num;
		bool q, strip;
		const char *want;
	} v[] = {
	    /* template_filters.rs cloze() */
	    {"{{c1::one}} {{c2::two::hint}}", 1, true, false,
	     "<span class=\"cloze\" data-cloze=\"one\" data-ordinal=\"1\">[...]</span> "
	     "<span class=\"cloze-inactive\" data-ordinal=\"2\">two</span>"},
	    {"{{c1::one}} {{c2::two::hint}}", 1, true, true, "[...] two"},
	    {"{{c1::one}} {{c2::two::hint}}", 2, true, true, "one [hint]"},
	    {"{{c1::one}} {{c2::two::hint}}", 2, false, true, "one two"},
	    {"{{c1::one}} {{c2::two::hint}}", 3, true, false, ""},
	    /* cloze.rs nested_cloze_plain_text / nested_cloze_html */
	    {"foo {{c1::bar {{c2::baz}}}}", 1, true, true, "foo [...]"},
	    {"foo {{c1::bar {{c2::baz}}}}", 1, false, true, "foo bar baz"},
	    {"foo {{c1::bar {{c2::baz}}::qux}}", 2, true, true, "foo bar [...]"},
	    {"foo {{c1::bar {{c2::baz}}::qux}}", 2, false, true, "foo bar baz"},
	    {"foo {{c1::bar {{c2::baz}}::qux}}", 1, true, true, "foo [qux]"},
	    {"foo {{c1::bar {{c2::baz}}::qux}}", 1, false, true, "foo bar baz"},
	    {"foo {{c1::bar {{c2::baz}}}}", 1, true, false,
	     "foo <span class=\"cloze\" data-cloze=\"" NESTED_ESC
	     "\" data-ordinal=\"1\">[...]</span>"},
	    {"foo {{c1::bar {{c2::baz}}}}", 1, false, false,
	     "foo <span class=\"cloze\" data-ordinal=\"1\">bar <span class=\"cloze-inactive\" "
	     "data-ordinal=\"2\">baz</span></span>"},
	    {"foo {{c1::bar {{c2::baz}}::qux}}", 2, true, false,
	     "foo <span class=\"cloze-inactive\" data-ordinal=\"1\">bar <span class=\"cloze\" "
	     "data-cloze=\"baz\" data-ordinal=\"2\">[...]</span></span>"},
	    {"foo {{c1::bar {{c2::baz}}::qux}}", 2, false, false,
	     "foo <span class=\"cloze-inactive\" data-ordinal=\"1\">bar <span class=\"cloze\" "
	     "data-ordinal=\"2\">baz</span></span>"},
	    {"foo {{c1::bar {{c2::baz}}::qux}}", 1, true, false,
	     "foo <span class=\"cloze\" data-cloze=\"" NESTED_ESC
	     "\" data-ordinal=\"1\">[qux]</span>"},
	    {"foo {{c1::bar {{c2::baz}}::qux}}", 1, false, false,
	     "foo <span class=\"cloze\" data-ordinal=\"1\">bar <span class=\"cloze-inactive\" "
	     "data-ordinal=\"2\">baz</span></span>"},
	    /* multi-card clozes */
	    {"{{c1,2::shared}} word and {{c1::first}} vs {{c2::second}}", 1, true, true,
	     "[...] word and [...] vs second"},
	    {"{{c1,2::shared}} word and {{c1::first}} vs {{c2::second}}", 2, true, true,
	     "[...] word and first vs [...]"},
	    {"{{c1,2::shared}} word and {{c1::first}} vs {{c2::second}}", 1, false, true,
	     "shared word and first vs second"},
	    {"{{c1,2::shared}} word and {{c1::first}} vs {{c2::second}}", 2, false, true,
	     "shared word and first vs second"},
	    {"{{c1,2,3::multi}}", 2, true, false,
	     "<span class=\"cloze\" data-cloze=\"multi\" data-ordinal=\"1,2,3\">[...]</span>"},
	    {"{{c3,1,1,2::m}}", 3, false, false,
	     "<span class=\"cloze\" data-ordinal=\"1,2,3\">m</span>"},
	    {"{{c1,2::answer::hint}}", 1, true, true, "[hint]"},
	    {"{{c1,2::answer::hint}}", 2, true, true, "[hint]"},
	    {"{{c1,2::answer::hint}}", 2, false, true, "answer"},
	    {"{{c1,2::outer {{c3::inner}}}}", 1, true, true, "[...]"},
	    {"{{c1,2::outer {{c3::inner}}}}", 3, true, true, "outer [...]"},
	    {"{{c1::outer {{c1::inner}}}}", 1, true, true, "[...]"},
	    /* image occlusion */
	    {"{{c1::image-occlusion:rect:left=10.0:top=20:width=30:height=10}}", 1, true, false,
	     "<div class=\"cloze\" data-ordinal=\"1\" data-shape=\"rect\" data-left=\"10.0\" "
	     "data-top=\"20\" data-width=\"30\" data-height=\"10\" ></div>"},
	    {"{{c1::image-occlusion:rect:left=1}}{{c2::image-occlusion:ellipse:rx=2}}", 2, false,
	     false,
	     "<div class=\"cloze-inactive\" data-ordinal=\"1\" data-shape=\"rect\" data-left=\"1\" "
	     "></div><div class=\"cloze-highlight\" data-ordinal=\"2\" data-shape=\"ellipse\" "
	     "data-rx=\"2\" ></div>"},
	    {"{{c1,2::image-occlusion:rect:left=10:top=20:width=30:height=40}}", 2, true, false,
	     "<div class=\"cloze\" data-ordinal=\"1,2\" data-shape=\"rect\" data-left=\"10\" "
	     "data-top=\"20\" data-width=\"30\" data-height=\"40\" ></div>"},
	    /* no hint split in an image occlusion run */
	    {"{{c1::image-occlusion:text:text=a::b}}", 1, false, false,
	     "<div class=\"cloze-highlight\" data-ordinal=\"1\" data-shape=\"text\" "
	     "data-text=\"a\" ></div>"},
	    /* syntax edges */
	    {"foo {{c1::bar", 1, true, false, ""},
	    {"a {{c2::x}} b {{c1::y", 2, true, false,
	     "a <span class=\"cloze\" data-cloze=\"x\" data-ordinal=\"2\">[...]</span> b "},
	    {"a}} {{c1::b}}", 1, false, false,
	     "a}} <span class=\"cloze\" data-ordinal=\"1\">b</span>"},
	    {"{{c1::a}}}", 1, false, false, "<span class=\"cloze\" data-ordinal=\"1\">a</span>}"},
	    {"{{{c1::a}}", 1, false, false, "{<span class=\"cloze\" data-ordinal=\"1\">a</span>"},
	    {"{{c::a}} {{c1:b}} {{cx::c}}", 1, false, false, ""},
	    {"{{c1::a::b::c}}", 1, true, false,
	     "<span class=\"cloze\" data-cloze=\"a\" data-ordinal=\"1\">[b::c]</span>"},
	    {"{{c1::::h}}", 1, true, false,
	     "<span class=\"cloze\" data-cloze=\"\" data-ordinal=\"1\">[h]</span>"},
	    {"{{c0::zero}}", 0, false, false,
	     "<span class=\"cloze\" data-ordinal=\"0\">zero</span>"},
	    {"{{c65536,1::x}}", 1, false, false,
	     "<span class=\"cloze\" data-ordinal=\"1\">x</span>"},
	    {"{{c1::x \xc3\xa9\"}}", 1, true, false,
	     "<span class=\"cloze\" data-cloze=\"x&#x20;&#xE9;&quot;\" "
	     "data-ordinal=\"1\">[...]</span>"},
	    {"\xc3\xb6"
	     "a\xc3\xb6"
	     "a",
	     1, true, false, ""},
	};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++)
		reveal_eq(v[i].in, v[i].num, v[i].q, v[i].want, v[i].strip);

	/* eleven openers: the eleventh is dropped, its closer closes the tenth */
	char deep[512] = "";
	for (int i = 0; i < 11; i++)
		strcat(deep, "{{c1::");
	strcat(deep, "x");
	for (int i = 0; i < 11; i++)
		strcat(deep, "}}");
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(render_cloze_reveal(deep, strlen(deep), 1, false, &b, NULL), ST_OK);
	size_t spans = 0;
	for (const char *p = cstr(&b); (p = strstr(p, "<span")) != NULL; p++)
		spans++;
	assert_int_equal(spans, 10);
	assert_non_null(strstr(cstr(&b), "</span>}}")); /* the 11th closer is text */
	buf_free(&b);
}

static void test_cloze_only_mathjax(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		uint32_t num;
		bool q;
		const char *want;
	} v[] = {
	    {"foo", 1, true, ""},
	    {"foo {{c1::bar}}", 1, true, "..."},
	    {"foo {{c1::bar::baz}}", 1, true, "baz"},
	    {"foo {{c1::bar}}", 1, false, "bar"},
	    {"foo {{c1::bar}}", 2, false, ""},
	    {"{{c1::foo}} {{c1::bar}}", 1, false, "foo, bar"},
	    {"{{c1,2::shared}} and {{c1::first}} vs {{c2::second}}", 1, true, "..., ..."},
	    {"{{c1,2::shared}} and {{c1::first}} vs {{c2::second}}", 2, true, "..., ..."},
	    {"{{c1,2::shared}} and {{c1::first}} vs {{c2::second}}", 1, false, "shared, first"},
	    {"{{c1,2::shared}} and {{c1::first}} vs {{c2::second}}", 2, false, "shared, second"},
	    {"{{c1::a {{c1::b}} c}}", 1, false, "a b c, b"},
	};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		struct buf b;
		buf_init(&b, 0);
		assert_int_equal(
		    render_cloze_only(v[i].in, strlen(v[i].in), v[i].num, v[i].q, &b, NULL), ST_OK);
		if (strcmp(cstr(&b), v[i].want) != 0)
			fail_msg("cloze-only(%s): got '%s' want '%s'", v[i].in, cstr(&b),
			         v[i].want);
		buf_free(&b);
	}
	static const struct {
		const char *in, *want;
	} m[] = {
	    {"\\(<foo>&lt;&gt;</foo>\\)", "\\(&lt;&gt;\\)"},
	    {"<b>x</b> \\[<i>a</i>\\) <b>y</b>", "<b>x</b> \\[a\\) <b>y</b>"},
	    {"\\(<b>open", "\\(<b>open"},
	    {"\\(a\\) \\[<br>b\\]", "\\(a\\) \\[b\\]"},
	};
	for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
		struct buf b;
		buf_init(&b, 0);
		assert_int_equal(render_cloze_strip_mathjax(m[i].in, strlen(m[i].in), &b, NULL),
		                 ST_OK);
		assert_string_equal(cstr(&b), m[i].want);
		buf_free(&b);
	}
	/* the cloze filter strips HTML inside MathJax after revealing */
	struct buf b;
	buf_init(&b, 0);
	const char *f = "\\(x^{{c1::<b>2</b>}}\\)";
	assert_int_equal(render_cloze_filter(f, strlen(f), 1, false, &b, NULL), ST_OK);
	assert_string_equal(cstr(&b), "\\(x^2\\)");
	buf_free(&b);
}

static void test_io_attrs(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} v[] = {
	    {"rect:left=10:top=20:width=30:height=10",
	     "data-shape=\"rect\" data-left=\"10\" data-top=\"20\" data-width=\"30\" "
	     "data-height=\"10\" "},
	    {"ellipse:left=15:top=20:width=10:height=20:rx=10:ry=5",
	     "data-shape=\"ellipse\" data-left=\"15\" data-top=\"20\" data-width=\"10\" "
	     "data-height=\"20\" data-rx=\"10\" data-ry=\"5\" "},
	    {"polygon:points=0,0 10,10 20,0",
	     "data-shape=\"polygon\" data-points=\"0,0 10,10 20,0\" "},
	    {"text:text=\\\\foo\\:bar\\::left=10",
	     "data-shape=\"text\" data-text=\"&#x5C;foo&#x3A;bar&#x3A;\" data-left=\"10\" "},
	    {"text:text=\\:lol\\::left=10",
	     "data-shape=\"text\" data-text=\"&#x3A;lol&#x3A;\" data-left=\"10\" "},
	    {"rect:width=0:height=5:oi=1:angle=30:fill=#ff0000:scale=2:fs=12:unknown=9",
	     "data-shape=\"rect\" data-height=\"5\" data-occludeInactive=\"1\" data-angle=\"30\" "
	     "data-fill=\"#ff0000\" data-scale=\"2\" data-font-size=\"12\" "},
	    {"star:left=1", "data-left=\"1\" "},
	    {"rect", ""},
	    {"rect:left=:top=2", "data-shape=\"rect\" "},
	    {"rect:left=1:top=\\x", "data-shape=\"rect\" data-left=\"1\" "},
	    {"polygon:points=1 2,3", "data-shape=\"polygon\" data-points=\"2,3\" "},
	};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		struct buf b;
		buf_init(&b, 0);
		assert_int_equal(render_cloze_io_attrs(v[i].in, strlen(v[i].in), &b, NULL), ST_OK);
		if (strcmp(cstr(&b), v[i].want) != 0)
			fail_msg("io(%s): got '%s' want '%s'", v[i].in, cstr(&b), v[i].want);
		buf_free(&b);
	}
}

/* ---- filters ---- */

static void ruby_eq(const char *in, enum render_ruby k, const char *want)
{
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(render_filters_ruby(in, strlen(in), k, &b, NULL), ST_OK);
	if (strcmp(cstr(&b), want) != 0)
		fail_msg("ruby(%s, %d): got '%s' want '%s'", in, (int)k, cstr(&b), want);
	buf_free(&b);
}

static void test_ruby(void **state)
{
	(void)state;
	ruby_eq("test first[second] third[fourth]", RENDER_RUBY_KANA, "testsecondfourth");
	ruby_eq("test first[second] third[fourth]", RENDER_RUBY_KANJI, "testfirstthird");
	ruby_eq("first[second]", RENDER_RUBY_FURIGANA,
	        "<ruby><rb>first</rb><rt>second</rt></ruby>");
	ruby_eq(
	    "\xe6\x97\xa5\xe6\x9c\xac[\xe3\x81\xab\xe3\x81\xbb\xe3\x82\x93]\xe8\xaa\x9e",
	    RENDER_RUBY_FURIGANA,
	    "<ruby><rb>\xe6\x97\xa5\xe6\x9c\xac</rb><rt>\xe3\x81\xab\xe3\x81\xbb\xe3\x82\x93</rt>"
	    "</ruby>\xe8\xaa\x9e");
	ruby_eq("a&nbsp;b[c]", RENDER_RUBY_FURIGANA, "a<ruby><rb>b</rb><rt>c</rt></ruby>");
	ruby_eq("x [sound:a.mp3]", RENDER_RUBY_KANA, "x [sound:a.mp3]");
	ruby_eq("<b>a[b]</b>", RENDER_RUBY_KANA, "<b>b</b>");
	ruby_eq("a[[b]", RENDER_RUBY_KANA, "[b");
	ruby_eq("a[]]", RENDER_RUBY_KANA, "]");
	ruby_eq("a[b\nc]", RENDER_RUBY_KANA, "a[b\nc]");
	ruby_eq("a[b\nc] d[e]", RENDER_RUBY_KANJI, "a[b\nc]d");
	ruby_eq("no brackets", RENDER_RUBY_KANA, "no brackets");
	ruby_eq("a[b", RENDER_RUBY_KANA, "a[b");
	ruby_eq("x>a[b]", RENDER_RUBY_KANJI, "x>a");
}

static void apply_eq(const char *text, const char *spec, const char *field,
                     enum render_filters_mode mode, uint32_t num, bool q, const char *want)
{
	struct render_filters_ctx ctx = {.cloze_num = num, .question = q, .mode = mode};
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(render_filters_apply(text, strlen(text), spec, strlen(spec), field,
	                                      strlen(field), &ctx, &b, NULL),
	                 ST_OK);
	if (strcmp(cstr(&b), want) != 0)
		fail_msg("apply(%s, %s): got '%s' want '%s'", text, spec, cstr(&b), want);
	buf_free(&b);
}

static void test_filters(void **state)
{
	(void)state;
	const enum render_filters_mode D = RENDER_FILTERS_DESKTOP, F = RENDER_FILTERS_FULL;
	apply_eq("ignored", "type:cloze:", "Text", D, 1, true, "[[type:cloze:Text]]");
	apply_eq("ignored", "type:nc:", "Text", D, 1, true, "[[type:nc:Text]]");
	apply_eq("ignored", "type:unknown:some:", "Text", D, 1, true, "[[type:Text]]");
	apply_eq("ignored", "type:", "Back", D, 1, true, "[[type:Back]]");
	apply_eq("ignored", "type-cloze:", "Back", D, 1, true, "[[type:cloze:Back]]");
	apply_eq("foo", "tts en_US voices=Bob,Jane:", "F", D, 1, true,
	         "[anki:tts lang=en_US voices=Bob,Jane]foo[/anki:tts]");
	apply_eq("<b>x</b>", "text:", "F", D, 1, true, "x");
	apply_eq("<b>x</b>", "", "F", D, 1, true, "<b>x</b>");
	apply_eq("<b>x</b>", "unknown:text:", "F", D, 1, true, "x");
	apply_eq("<b>x</b>", "text:unknown:", "F", D, 1, true, "<b>x</b>");
	apply_eq("<b>x</b>", "text:unknown:", "F", F, 1, true, "x");
	apply_eq("b", "one::text:", "B", D, 1, true, "b");
	apply_eq("<i>{{c1::a}}</i>", "text:cloze:", "T", D, 1, true, "[...]");
	apply_eq("{{c1::a}} {{c2::b}}", "cloze-only:", "T", D, 2, false, "b");
	apply_eq("kan[ka]", "kana:", "F", D, 1, true, "ka");
	apply_eq("kan[ka]", "kanji:", "F", D, 1, true, "kan");
	apply_eq("kan[ka]", "furigana:", "F", D, 1, true, "<ruby><rb>kan</rb><rt>ka</rt></ruby>");
	apply_eq("  ", "hint:", "F", D, 1, true, "  ");
	/* template_filters.rs hint() */
	apply_eq("foo", "hint:", "field", D, 1, true,
	         "\n<a class=hint href=\"#\"\nonclick=\"this.style.display='none';\n"
	         "document.getElementById('hint83fe48607f0f3a66').style.display='block';\n"
	         "return false;\" draggable=false>\nfield</a>\n"
	         "<div id=\"hint83fe48607f0f3a66\" class=hint style=\"display: none\">foo</div>\n");
}

/* ---- sound and directives ---- */

static void av_eq(const char *in, int mode, const char *want, size_t want_tags)
{
	struct buf b;
	buf_init(&b, 0);
	size_t n = 99;
	if (mode == 2)
		assert_int_equal(render_av_strip(in, strlen(in), &b, NULL), ST_OK);
	else
		assert_int_equal(render_av_extract(in, strlen(in), mode == 0, &b, &n, NULL), ST_OK);
	if (strcmp(cstr(&b), want) != 0)
		fail_msg("av(%s, %d): got '%s' want '%s'", in, mode, cstr(&b), want);
	if (mode != 2)
		assert_int_equal(n, want_tags);
	buf_free(&b);
}

static void test_av(void **state)
{
	(void)state;
	av_eq("foo [sound:bar.mp3] baz [anki:tts lang=en_US][...][/anki:tts]", 0,
	      "foo [anki:play:q:0] baz [anki:play:q:1]", 2);
	av_eq("[sound:a][sound:b]", 1, "[anki:play:a:0][anki:play:a:1]", 2);
	av_eq("[anki:tts]foo[/anki:tts]", 0, "[Error in directive 'anki:tts': 'lang' not set]", 0);
	av_eq("[anki:tts lang=]x[/anki:tts][sound:s]", 0,
	      "[Error in directive 'anki:tts': 'lang' not set][anki:play:q:0]", 1);
	av_eq("plain text", 0, "plain text", 0);
	av_eq("[sound:]", 0, "[sound:]", 0);
	av_eq("[anki:][/anki:]", 0, "[anki:][/anki:]", 0);
	av_eq("[anki:foo][/anki:bar]", 0, "[anki:foo][/anki:bar]", 0);
	av_eq("abc[anki:foo]def[/anki:bar]ghi][[anki:bar][", 0,
	      "abc[anki:foo]def[/anki:bar]ghi][[anki:bar][", 0);
	av_eq("[anki:foo]]bar[[/anki:foo]", 0, "[anki:foo]]bar[[/anki:foo]", 0);
	av_eq("[anki:foo\nbar=baz ][/anki:foo]", 2, "[anki:foo bar=baz][/anki:foo]", 0);
	av_eq("[anki:foo\na=b\tc=d e=f][/anki:foo]", 0, "[anki:foo a=b c=d e=f][/anki:foo]", 0);
	av_eq("[anki:foo a=\"b \t\n c ]\"][/anki:foo]", 0, "[anki:foo a=\"b \t\n c ]\"][/anki:foo]",
	      0);
	av_eq("[anki:foo a=1 a=2 b=\"x\"]c[/anki:foo]", 0, "[anki:foo a=2 b=x]c[/anki:foo]", 0);
	av_eq("[anki:tts lang=jp_JP voices=Alice,Bob speed=0.5 cloze_blank= bar=baz][/anki:tts]", 1,
	      "[anki:play:a:0]", 1);
	/* a play marker carried in FrontSide is plain text to the answer pass */
	av_eq("[anki:play:q:0] x [sound:y]", 1, "[anki:play:q:0] x [anki:play:a:0]", 1);
	/* stripping (strip_av_tags) */
	av_eq("foo [sound:bar] baz", 2, "foo  baz", 0);
	av_eq("[anki:tts bar=baz]spam[/anki:tts]", 2, "", 0);
	av_eq("[anki:foo bar=baz]spam[/anki:foo]", 2, "[anki:foo bar=baz]spam[/anki:foo]", 0);
	/* first matching closer wins; nested other names are content */
	av_eq("[anki:tts lang=x][anki:tts lang=y]a[/anki:tts]b[/anki:tts]", 0,
	      "[anki:play:q:0]b[/anki:tts]", 1);
}

/* ---- LaTeX ---- */

static void test_latex(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	size_t n;
	const char *in = "a[latex]one<br>and<div>two[/latex]b";
	assert_int_equal(render_latex_extract(in, strlen(in), false, &b, &n, NULL), ST_OK);
	assert_string_equal(cstr(&b),
	                    "a<img class=latex alt=\"one&#x0A;and&#x0A;two\" "
	                    "src=\"latex-ef30b3f4141c33a5bf7044b0d1961d3399c05d50.png\">b");
	assert_int_equal(n, 1);
	buf_reset(&b);
	in = "[$]<b>hello</b>&nbsp; world[/$]";
	assert_int_equal(render_latex_extract(in, strlen(in), true, &b, &n, NULL), ST_OK);
	assert_string_equal(cstr(&b),
	                    "<img class=latex alt=\"&#x24;hello&#x20;&#x20;world&#x24;\" "
	                    "src=\"latex-060219fbf3ddb74306abddaf4504276ad793b029.svg\">");
	buf_reset(&b);
	/* case-insensitive tags, the display form, unclosed and empty spans */
	in = "[LaTeX]x[/LATEX] [$$]y[/$$] [latex][/latex] [$]z";
	assert_int_equal(render_latex_extract(in, strlen(in), false, &b, &n, NULL), ST_OK);
	assert_int_equal(n, 2);
	assert_non_null(strstr(cstr(&b), "alt=\"x\""));
	assert_non_null(strstr(cstr(&b), "alt=\"&#x5C;begin&#x7B;displaymath&#x7D;y&#x5C;end&#x7B;"
	                                 "displaymath&#x7D;\""));
	/* "[latex][/latex]": the content must be at least one byte and no
	 * later closer exists, so it stays text; "[$]z" has no closer */
	assert_non_null(strstr(cstr(&b), "\"> [latex][/latex] [$]z"));
	buf_reset(&b);
	/* "<br />" is stripped, not turned into a newline (verbose regex) */
	in = "[latex]a<br />b<BR/>c[/latex]";
	assert_int_equal(render_latex_extract(in, strlen(in), false, &b, &n, NULL), ST_OK);
	assert_non_null(strstr(cstr(&b), "alt=\"ab&#x0A;c\""));
	buf_reset(&b);
	assert_int_equal(render_latex_extract("none", 4, false, &b, &n, NULL), ST_OK);
	assert_string_equal(cstr(&b), "none");
	assert_int_equal(n, 0);
	buf_free(&b);
}

/* ---- hostile input to the passes ---- */

static void test_hostile_passes(void **state)
{
	(void)state;
	size_t n = 1u << 20;
	char *s = malloc(n + 1);
	assert_non_null(s);
	struct buf b;
	/* directive openers with long option lists and a closer at the end */
	for (size_t i = 0; i < n; i++)
		s[i] = "[anki:a k="[i % 10];
	memcpy(s + n - 9, "[/anki:a]", 9);
	s[n] = '\0';
	buf_init(&b, 0);
	assert_int_equal(render_av_extract(s, n, true, &b, NULL, NULL), ST_OK);
	assert_true(b.len > 0);
	buf_free(&b);
	/* ruby scan over a megabyte of brackets and no closer */
	memset(s, '[', n);
	buf_init(&b, 0);
	assert_int_equal(render_filters_ruby(s, n, RENDER_RUBY_FURIGANA, &b, NULL), ST_OK);
	assert_int_equal(b.len, n);
	buf_free(&b);
	/* LaTeX openers without closers */
	for (size_t i = 0; i < n; i++)
		s[i] = "[latex]"[i % 7];
	buf_init(&b, 0);
	assert_int_equal(render_latex_extract(s, n, false, &b, NULL, NULL), ST_OK);
	assert_int_equal(b.len, n);
	buf_free(&b);
	/* cloze openers without closers, and nested active clozes against a cap */
	for (size_t i = 0; i < n; i++)
		s[i] = "{{c1::"[i % 6];
	buf_init(&b, 0);
	assert_int_equal(render_cloze_reveal(s, n, 1, true, &b, NULL), ST_OK);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	char deep[256] = "";
	for (int i = 0; i < 10; i++)
		strcat(deep, "{{c1::<a href=\"&\">");
	for (int i = 0; i < 10; i++)
		strcat(deep, "}}");
	buf_init(&b, 1u << 16);
	enum status st = render_cloze_reveal(deep, strlen(deep), 1, true, &b, NULL);
	assert_true(st == ST_OK || st == ST_TOOBIG);
	buf_free(&b);
	/* invalid UTF-8 everywhere */
	const char *bad = "\xff{{c1::\xc3}}\xe2\x82[\xf0\x9f]\\(\xfe\\)";
	buf_init(&b, 0);
	assert_int_equal(render_cloze_filter(bad, strlen(bad), 1, true, &b, NULL), ST_OK);
	assert_int_equal(render_html_encode_attribute(bad, strlen(bad), &b, NULL), ST_OK);
	assert_int_equal(render_filters_ruby(bad, strlen(bad), RENDER_RUBY_KANA, &b, NULL), ST_OK);
	assert_int_equal(render_av_extract(bad, strlen(bad), false, &b, NULL, NULL), ST_OK);
	buf_free(&b);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blake3),       cmocka_unit_test(test_html_escape),
	    cmocka_unit_test(test_cloze_reveal), cmocka_unit_test(test_cloze_only_mathjax),
	    cmocka_unit_test(test_io_attrs),     cmocka_unit_test(test_ruby),
	    cmocka_unit_test(test_filters),      cmocka_unit_test(test_av),
	    cmocka_unit_test(test_latex),        cmocka_unit_test(test_hostile_passes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
