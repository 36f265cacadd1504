/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_text.c - note text rules (collection-format.md §6.1, §6.2 empty
 * fields): the spec's examples, a differential test of the hand-written
 * matchers against PCRE2 running Anki's original patterns, csum and sfld
 * recomputed for every note of every fixture collection, and hostile
 * inputs (invalid UTF-8, huge and pathological markup).
 */
#include "testutil.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <time.h>

#include "text.h"

#include "fixcol.h"

static char *strip(const char *in)
{
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(text_strip_html_preserving_media(in, strlen(in), &b, NULL), ST_OK);
	char *r = strndup(b.data ? (char *)b.data : "", b.len);
	buf_free(&b);
	return r;
}

#define assert_strip(in, want)                                                                     \
	do {                                                                                       \
		char *got_ = strip(in);                                                            \
		if (strcmp(got_, want) != 0)                                                       \
			fail_msg("strip(\"%s\") = \"%s\", want \"%s\"", in, got_, want);           \
		free(got_);                                                                        \
	} while (0)

static uint32_t csum(const char *field)
{
	uint32_t v = 0;
	assert_int_equal(text_checksum(field, strlen(field), &v, NULL), ST_OK);
	return v;
}

static void test_checksum_examples(void **state)
{
	(void)state;
	assert_int_equal(csum("[sound:foo[.jpg]"), 408627286u);
	assert_int_equal(csum("another note"), 872198286u);
	assert_int_equal(csum("hello"), 2868168221u);
	assert_int_equal(csum("front"), 460909371u);
	/* HTML is stripped before hashing */
	assert_int_equal(csum("<b>hello</b>"), 2868168221u);
	assert_int_equal(csum("hel<!-- x -->lo"), 2868168221u);
	assert_int_equal(text_checksum_stripped("hello", 5), 2868168221u);
	/* sha1("") = da39a3ee... */
	assert_int_equal(text_checksum_stripped("", 0), 0xda39a3eeu);
}

static void test_strip_media(void **state)
{
	(void)state;
	assert_strip("<img src=foo.jpg>", " foo.jpg ");
	assert_strip("<img src='foo.jpg'><html>", " foo.jpg ");
	assert_strip("<img src=\"normal.jpg\">", " normal.jpg ");
	assert_strip("<img src='ぱぱ.jpg'>", " ぱぱ.jpg ");
	assert_strip("a<IMG class=x SRC=\"b.png\" alt=y>c", "a b.png c");
	assert_strip("<audio src=\"x.mp3\"></audio>", " x.mp3 ");
	assert_strip("<video controls data='v.mp4'>", " v.mp4 ");
	assert_strip("<object data=o.swf width=1>", " o.swf ");
	assert_strip("<source src=s.ogg>", " s.ogg ");
	/* verbose-mode quirk: the unquoted value may begin with spaces */
	assert_strip("<img src= a.jpg>", "  a.jpg ");
	/* unquoted value ends at the first space followed by a later '>' */
	assert_strip("<img src=a b.jpg>", " a ");
	/* '>' inside a quoted attribute before src does not end the tag */
	assert_strip("<img alt=\"1>0\" src=\"x.jpg\">", " x.jpg ");
	/* word boundaries: no match inside longer names */
	assert_strip("<imgx src=a.jpg>", "");
	assert_strip("<img xsrc=a.jpg>", "");
	/* '-' is not a word character, so src= inside data-src= counts */
	assert_strip("<img data-src=a.jpg>", " a.jpg ");
	/* empty quoted value: the unquoted form takes the quotes */
	assert_strip("<img src=\"\">", " \"\" ");
	/* Unicode case folding: U+017F LONG S is an 's' */
	assert_strip("<ſource ſrc=x.ogg>", " x.ogg ");
	/* no '>' at all: nothing is a tag */
	assert_strip("<img src=a.jpg", "<img src=a.jpg");
	/* sound tags and cloze markup stay */
	assert_strip("[sound:foo.wav]", "[sound:foo.wav]");
	assert_strip("{{c1::a::hint}}", "{{c1::a::hint}}");
}

static void test_strip_html(void **state)
{
	(void)state;
	assert_strip("test", "test");
	assert_strip("t<b>e</b>st", "test");
	assert_strip("so<SCRIPT>t<b>e</b>st</script>me", "some");
	assert_strip("a<style type=x>p{}</STYLE>b", "ab");
	assert_strip("a<!-- <b>x</b> -->b", "ab");
	assert_strip("a<!-->b", "ab");     /* <!--> is a plain tag */
	assert_strip("a<style>b", "ab");   /* no </style>: <style> is a plain tag */
	assert_strip("a < b", "a < b");    /* lone '<' without a later '>' */
	assert_strip("a < b > c", "a  c"); /* ...with one: removed across */
	assert_strip("x<br\n/>y", "xy");   /* dot matches newline */
	assert_strip("a>b", "a>b");
	assert_strip("<", "<");
	assert_strip("", "");
}

static const char all_entity_names[] =
    "AElig Aacute Acirc Agrave Alpha Aring Atilde Auml Beta Ccedil Chi Dagger Delta ETH "
    "Eacute Ecirc Egrave Epsilon Eta Euml Gamma Iacute Icirc Igrave Iota Iuml Kappa Lambda Mu "
    "Ntilde Nu OElig Oacute Ocirc Ograve Omega Omicron Oslash Otilde Ouml Phi Pi Prime Psi "
    "Rho Scaron Sigma THORN Tau Theta Uacute Ucirc Ugrave Upsilon Uuml Xi Yacute Yuml Zeta "
    "aacute acirc acute aelig agrave alefsym alpha amp and ang aring asymp atilde auml bdquo "
    "beta brvbar bull cap ccedil cedil cent chi circ clubs cong copy crarr cup curren dArr "
    "dagger darr deg delta diams divide eacute ecirc egrave empty emsp ensp epsilon equiv eta "
    "eth euml euro exist fnof forall frac12 frac14 frac34 frasl gamma ge gt hArr harr hearts "
    "hellip iacute icirc iexcl igrave image infin int iota iquest isin iuml kappa lArr lambda "
    "lang laquo larr lceil ldquo le lfloor lowast loz lrm lsaquo lsquo lt macr mdash micro "
    "middot minus mu nabla nbsp ndash ne ni not notin nsub ntilde nu oacute ocirc oelig "
    "ograve oline omega omicron oplus or ordf ordm oslash otilde otimes ouml para part permil "
    "perp phi pi piv plusmn pound prime prod prop psi quot rArr radic rang raquo rarr rceil "
    "rdquo real reg rfloor rho rlm rsaquo rsquo sbquo scaron sdot sect shy sigma sigmaf sim "
    "spades sub sube sum sup sup1 sup2 sup3 supe szlig tau there4 theta thetasym thinsp thorn "
    "tilde times trade uArr uacute uarr ucirc ugrave uml upsih upsilon uuml weierp xi yacute "
    "yen yuml zeta zwj zwnj ";

/* Every one of the 252 HTML 4 names decodes on its own (the table is
 * binary-searched, so this also proves it is sorted), and nothing else. */
static void test_entity_table(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	int count = 0;
	for (const char *p = all_entity_names; *p;) {
		const char *sp = strchr(p, ' ');
		char ent[32];
		snprintf(ent, sizeof ent, "&%.*s;", (int)(sp - p), p);
		bool decoded = false;
		assert_int_equal(text_decode_entities(ent, strlen(ent), &b, &decoded, NULL), ST_OK);
		if (!decoded || b.len == 0 || b.len > 3)
			fail_msg("%s did not decode", ent);
		count++;
		p = sp + 1;
	}
	assert_int_equal(count, 252);
	static const char *const not_entities[] = {"&apos;",  "&AMP;",    "&nbs;", "&nbspx;",
	                                           "&zwnj ;", "&Aelig;",  "&;",    "&a;",
	                                           "&zzzz;",  "&hellip2;"};
	for (size_t i = 0; i < sizeof not_entities / sizeof *not_entities; i++) {
		bool decoded = true;
		const char *s = not_entities[i];
		assert_int_equal(text_decode_entities(s, strlen(s), &b, &decoded, NULL), ST_OK);
		assert_false(decoded);
	}
	buf_free(&b);
	/* sample code points across the three HTML 4 sets */
	assert_strip("&AElig;&zwnj;&Yuml;&OElig;&circ;&tilde;&lang;&rang;&loz;",
	             "Æ\xe2\x80\x8cŸŒˆ˜\xe2\x8c\xa9\xe2\x8c\xaa◊");
	assert_strip("&weierp;&image;&real;&alefsym;&piv;&upsih;&sigmaf;&thetasym;", "℘ℑℜℵϖϒςϑ");
	assert_strip("&lArr;&crarr;&there4;&sdot;&lowast;&frasl;&oline;&permil;&bdquo;",
	             "⇐↵∴⋅∗⁄‾‰„");
	assert_strip("&yuml;&divide;&times;&iquest;&shy;&nbsp;", "ÿ÷×¿\xc2\xad ");
}

static void test_entities(void **state)
{
	(void)state;
	assert_strip("a&amp;b", "a&b");
	assert_strip("&lt;b&gt;", "<b>");
	assert_strip("AT&T", "AT&T");                   /* not an entity: nothing decoded */
	assert_strip("AT&T &amp; co", "AT&T &amp; co"); /* all or nothing */
	assert_strip("a & b", "a & b");
	assert_strip("&apos;", "&apos;"); /* not in HTML 4 */
	assert_strip("&apos; &amp;", "&apos; &amp;");
	assert_strip("&#X41;", "&#X41;"); /* capital X invalid */
	assert_strip("&#x41;&#65;&#x4a;", "AAJ");
	assert_strip("&#x;", "&#x;");
	assert_strip("&#;", "&#;");
	assert_strip("&;", "&;");
	assert_strip("&amp", "&amp");         /* unterminated */
	assert_strip("&#xD800;", "&#xD800;"); /* surrogate */
	assert_strip("&#x110000;", "&#x110000;");
	assert_strip("&#99999999999;", "&#99999999999;");
	assert_strip("&Amp;", "&Amp;"); /* case-sensitive */
	assert_strip("&eacute;&Eacute;&euro;&hearts;", "éÉ€♥");
	assert_strip("&szlig;&thetasym;&zwnj;", "ß\xcf\x91\xe2\x80\x8c");
	/* &nbsp; and U+00A0 become spaces only when decoding happened */
	assert_strip("a&nbsp;b", "a b");
	assert_strip("a\xc2\xa0"
	             "b&amp;",
	             "a b&");
	assert_strip("a\xc2\xa0"
	             "b",
	             "a\xc2\xa0"
	             "b");
	assert_strip("a\xc2\xa0"
	             "b&x",
	             "a\xc2\xa0"
	             "b&x");
	/* entity decoding happens after tag removal */
	assert_strip("&lt;b&gt;x", "<b>x");
	assert_strip("<b>&lt;</b>", "<");
	/* NUL from &#0; is kept (length-counted) */
	struct buf b;
	buf_init(&b, 0);
	bool decoded = false;
	assert_int_equal(text_decode_entities("a&#0;b", 6, &b, &decoded, NULL), ST_OK);
	assert_true(decoded);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 3);
	assert_int_equal(text_decode_entities("plain", 5, &b, &decoded, NULL), ST_OK);
	assert_false(decoded);
	assert_int_equal(b.len, 5);
	buf_free(&b);
}

static void test_sort_field(void **state)
{
	(void)state;
	const char *f[] = {"<b>first</b>", "second&amp;", ""};
	size_t l[] = {12, 11, 0};
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(text_sort_field(f, l, 3, 1, &b, NULL), ST_OK);
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "second&", 7);
	assert_int_equal(text_sort_field(f, l, 3, 0, &b, NULL), ST_OK);
	assert_memory_equal(b.data, "first", 5);
	assert_int_equal(text_sort_field(f, l, 3, 7, &b, NULL), ST_OK); /* out of range: "" */
	assert_int_equal(b.len, 0);
	buf_free(&b);
	/* empty results still have storage, so they bind as '' and not NULL */
	static const char *const empties[] = {"", "<b></b>", "<img>"};
	for (size_t i = 0; i < 3; i++) {
		buf_init(&b, 0);
		assert_int_equal(
		    text_strip_html_preserving_media(empties[i], strlen(empties[i]), &b, NULL),
		    ST_OK);
		assert_non_null(b.data);
		assert_int_equal(b.len, 0);
		buf_free(&b);
		buf_init(&b, 0);
		assert_int_equal(text_field_clean(empties[0], 0, true, &b, NULL), ST_OK);
		assert_non_null(b.data);
		buf_free(&b);
	}
}

static void test_field_is_empty(void **state)
{
	(void)state;
	static const char *const empty[] = {"",
	                                    " ",
	                                    "\t\n\r\v\f",
	                                    "<br>",
	                                    "<BR>",
	                                    "</br>",
	                                    "<br/>",
	                                    "<br />",
	                                    "<div></div>",
	                                    "<DIV> <br> </Div>",
	                                    " <div>\n<br /></div> "};
	static const char *const nonempty[] = {
	    "a",      "&nbsp;", "\xc2\xa0", "<br  />",       "<p></p>", "<br",    "<br>x",
	    "<divx>", "< br>",  "<br//>",   "<span></span>", "\x1f",    "<br / >"};
	for (size_t i = 0; i < sizeof empty / sizeof *empty; i++)
		if (!text_field_is_empty(empty[i], strlen(empty[i])))
			fail_msg("'%s' should be empty", empty[i]);
	for (size_t i = 0; i < sizeof nonempty / sizeof *nonempty; i++)
		if (text_field_is_empty(nonempty[i], strlen(nonempty[i])))
			fail_msg("'%s' should not be empty", nonempty[i]);
}

static void test_guid(void **state)
{
	(void)state;
	char g[TEXT_GUID_MAX + 1];
	text_guid_from_u64(0, g);
	assert_string_equal(g, "");
	text_guid_from_u64(1, g);
	assert_string_equal(g, "b");
	text_guid_from_u64(90, g);
	assert_string_equal(g, "~");
	text_guid_from_u64(91, g);
	assert_string_equal(g, "ba");
	text_guid_from_u64(91 * 91 + 26, g);
	assert_string_equal(g, "baA");
	text_guid_from_u64(UINT64_MAX, g);
	assert_int_equal(strlen(g), 10);
	/* decode it back: base 91, most significant digit first */
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~";
	unsigned __int128 v = 0;
	for (const char *p = g; *p; p++)
		v = v * 91 + (unsigned)(strchr(alpha, *p) - alpha);
	assert_true(v == UINT64_MAX);
	char h[TEXT_GUID_MAX + 1];
	assert_int_equal(text_guid_new(g, NULL), ST_OK);
	assert_int_equal(text_guid_new(h, NULL), ST_OK);
	assert_true(strlen(g) >= 1 && strlen(g) <= 10);
	assert_string_not_equal(g, h);
	for (const char *p = g; *p; p++)
		assert_non_null(strchr(alpha, *p));
	assert_null(strpbrk(g, "\"'\\"));
}

static void test_fields(void **state)
{
	(void)state;
	struct text_slice *f;
	size_t n;
	const char flds[] = "a\x1f\x1f"
	                    "ccc\x1f";
	assert_int_equal(text_fields_split(flds, sizeof flds - 1, 0, &f, &n, NULL), ST_OK);
	assert_int_equal(n, 4);
	assert_int_equal(f[0].len, 1);
	assert_int_equal(f[1].len, 0);
	assert_int_equal(f[2].len, 3);
	assert_memory_equal(f[2].p, "ccc", 3);
	assert_int_equal(f[3].len, 0);
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(text_fields_join(f, n, &b, NULL), ST_OK);
	assert_int_equal(b.len, sizeof flds - 1);
	assert_memory_equal(b.data, flds, b.len);
	free(f);
	assert_int_equal(text_fields_split("", 0, 0, &f, &n, NULL), ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(f[0].len, 0);
	free(f);
	assert_int_equal(text_fields_split(flds, sizeof flds - 1, 3, &f, &n, NULL), ST_TOOBIG);
	struct text_slice bad[2] = {{"x\x1fy", 3}, {"z", 1}};
	assert_int_equal(text_fields_join(bad, 2, &b, NULL), ST_INVALID);
	assert_int_equal(text_fields_join(bad + 1, 0, &b, NULL), ST_OK);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	buf_free(&b);
}

static void assert_clean(const char *in, size_t len, bool nfc, const char *want)
{
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(text_field_clean(in, len, nfc, &b, NULL), ST_OK);
	assert_non_null(b.data);
	if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0)
		fail_msg("clean gave '%.*s', want '%s'", (int)b.len, b.data, want);
	buf_free(&b);
}

static void test_clean(void **state)
{
	(void)state;
	assert_clean("a\tb\nc", 5, true, "a\tb\nc");
	assert_clean("a\x1f"
	             "b\x7f"
	             "c\r\x01",
	             7, true, "abc");
	assert_clean("a\0b", 3, true, "ab");
	assert_clean("e\xcc\x81", 3, true, "é");               /* NFC composes */
	assert_clean("e\xcc\x81", 3, false, "e\xcc\x81");      /* unless disabled */
	assert_clean("\xef\xa9\x87", 3, true, "\xe6\xbc\xa2"); /* U+FA47 -> U+6F22 */
	assert_clean("a\xff"
	             "b",
	             3, true,
	             "a\xef\xbf\xbd"
	             "b");
	assert_clean("\xe2\x82", 2, false, "\xef\xbf\xbd");
	assert_clean("", 0, true, "");
	assert_true(text_utf8_valid("é\xef\xbf\xbd", 5));
	assert_false(text_utf8_valid("\xc0\xaf", 2));
	assert_false(text_utf8_valid("\xed\xa0\x80", 3));
}

/* ---- differential test against PCRE2 running Anki's patterns ---- */

static const char media_pattern[] =
    "<\\b(?:img|audio|video|object|source)\\b(?:[^>]|\"[^\"]+?\"|'[^']+?')+?"
    "\\b(?:src|data)\\b=(?:\"([^\"]+?)\"[^>]*>|'([^']+?)'[^>]*>|([^>]+?)(?:\\x20[^>]*>|>))";
static const char html_pattern[] = "<!--.*?-->|<style.*?>.*?</style>|<script.*?>.*?</script>|<.*?>";

/* replace_all with " $1$2$3 " (media) or "" (html); -1 on match limit */
static int pcre_replace(pcre2_code *re, pcre2_match_context *mc, const char *in, size_t len,
                        int media, struct buf *out)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	size_t pos = 0, copied = 0;
	buf_reset(out);
	for (;;) {
		int rc = pcre2_match(re, (PCRE2_SPTR)in, len, pos, 0, md, mc);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			pcre2_match_data_free(md);
			return -1;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		buf_append(out, in + copied, ov[0] - copied, NULL);
		if (media) {
			buf_append(out, " ", 1, NULL);
			for (int g = 1; g <= 3 && g < rc; g++)
				if (ov[2 * g] != PCRE2_UNSET)
					buf_append(out, in + ov[2 * g], ov[2 * g + 1] - ov[2 * g],
					           NULL);
			buf_append(out, " ", 1, NULL);
		}
		copied = pos = ov[1];
		assert_true(ov[1] > ov[0]); /* neither pattern matches empty */
	}
	buf_append(out, in + copied, len - copied, NULL);
	pcre2_match_data_free(md);
	return 0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_differential(void **state)
{
	(void)state;
	static const char *const tokens[] = {
	    "<img", "<IMG", "<audio", "<ſource", "<video", "<object",  "<source",  "<Source",
	    "<",    ">",    ">",      " ",       " ",      "src=",     "SRC=",     "data=",
	    "ſrc=", "\"",   "\"",     "'",       "'",      "a",        "é",        "x.jpg",
	    "-",    "=",    "<!--",   "-->",     "<style", "</style>", "<script>", "</SCRIPT>",
	    "<br>", "\n",   "_",      "imgx",    "srcx",   "9",        "ж"};
	int errc;
	PCRE2_SIZE erroff;
	uint32_t flags = PCRE2_CASELESS | PCRE2_DOTALL | PCRE2_UTF | PCRE2_UCP;
	pcre2_code *media = pcre2_compile((PCRE2_SPTR)media_pattern, PCRE2_ZERO_TERMINATED, flags,
	                                  &errc, &erroff, NULL);
	pcre2_code *html = pcre2_compile((PCRE2_SPTR)html_pattern, PCRE2_ZERO_TERMINATED, flags,
	                                 &errc, &erroff, NULL);
	assert_non_null(media);
	assert_non_null(html);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(mc, 20000000);
	struct buf in, want, got;
	buf_init(&in, 0);
	buf_init(&want, 0);
	buf_init(&got, 0);
	int compared = 0, limited = 0, media_hits = 0;
	for (int iter = 0; iter < 6000; iter++) {
		buf_reset(&in);
		int ntok = 1 + (int)(rng() % 24);
		for (int t = 0; t < ntok; t++)
			buf_append_str(&in, tokens[rng() % (sizeof tokens / sizeof *tokens)], NULL);
		const char *s = in.data ? (char *)in.data : "";
		for (int which = 0; which < 2; which++) {
			if (pcre_replace(which ? html : media, mc, s, in.len, !which, &want) < 0) {
				limited++;
				continue;
			}
			if (which)
				assert_int_equal(text_strip_html_tags(s, in.len, &got, NULL),
				                 ST_OK);
			else
				assert_int_equal(text_replace_media_tags(s, in.len, &got, NULL),
				                 ST_OK);
			if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0)
				fail_msg("%s differs on [%s]:\n pcre2 [%.*s]\n ours  [%.*s]",
				         which ? "html" : "media", s, (int)want.len, want.data,
				         (int)got.len, got.data);
			if (!which && (want.len != in.len || memcmp(want.data, s, in.len)))
				media_hits++;
			compared++;
		}
	}
	/* the corpus must exercise the matches, not only the misses */
	assert_true(media_hits > 300);
	assert_true(compared > 11000);
	print_message(
	    "differential: %d comparisons, %d media rewrites, %d skipped at PCRE2's limit\n",
	    compared, media_hits, limited);
	buf_free(&in);
	buf_free(&want);
	buf_free(&got);
	pcre2_match_context_free(mc);
	pcre2_code_free(media);
	pcre2_code_free(html);
}

/* ---- hostile inputs ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void repeat_into(struct buf *b, const char *unit, size_t total)
{
	buf_reset(b);
	size_t u = strlen(unit);
	while (b->len + u <= total)
		buf_append(b, unit, u, NULL);
}

static void test_pathological(void **state)
{
	(void)state;
	static const char *const units[] = {"<img \"a\"a", "<img ",     "<",        "<style>",
	                                    "<!--",        "&",         "&amp",     "<img src=\"",
	                                    "<img src=",   "'\"",       "<script<", "<img data='x",
	                                    "\xff\xfe",    "<img \xc3", "{{c1::",   "<br>"};
	struct buf in, out;
	buf_init(&in, 0);
	buf_init(&out, 0);
	for (size_t k = 0; k < sizeof units / sizeof *units; k++) {
		repeat_into(&in, units[k], 2u << 20);
		double t0 = now_s();
		assert_int_equal(
		    text_strip_html_preserving_media((char *)in.data, in.len, &out, NULL), ST_OK);
		(void)text_field_is_empty((char *)in.data, in.len);
		double dt = now_s() - t0;
		if (dt > 5.0)
			fail_msg("unit '%s' x 2 MiB took %.1f s", units[k], dt);
		assert_true(out.len <= in.len);
	}
	/* a closing '>' at the very end after 2 MiB of opens */
	repeat_into(&in, "<img \"a\"a", 2u << 20);
	buf_append_str(&in, " src=x>", NULL);
	double t0 = now_s();
	assert_int_equal(text_replace_media_tags((char *)in.data, in.len, &out, NULL), ST_OK);
	assert_true(now_s() - t0 < 5.0);
	assert_int_equal(out.len, 3); /* the first <img reaches src=x: " x " */
	/* a capped output buffer refuses instead of growing */
	struct buf small;
	buf_init(&small, 16);
	repeat_into(&in, "abcdefgh", 64);
	assert_int_equal(text_strip_html_preserving_media((char *)in.data, in.len, &small, NULL),
	                 ST_TOOBIG);
	buf_free(&small);
	buf_free(&in);
	buf_free(&out);
}

static void test_random_bytes(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 0);
	unsigned char in[512];
	static const unsigned char interesting[] = {'<', '>',  '&',  ';',  '#',  'x',  '"',  '\'',
	                                            ' ', '=',  0xC3, 0xA9, 0xFF, 0x80, 0xE2, 0x1F,
	                                            0,   '\n', 's',  'r',  'c',  'i',  'm',  'g'};
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = rng() % sizeof in;
		for (size_t i = 0; i < n; i++)
			in[i] = (rng() & 1) ? (unsigned char)rng()
			                    : interesting[rng() % sizeof interesting];
		assert_int_equal(text_strip_html_preserving_media((char *)in, n, &out, NULL),
		                 ST_OK);
		assert_true(out.len <= n + 2);
		(void)text_field_is_empty((char *)in, n);
		assert_int_equal(text_field_clean((char *)in, n, true, &out, NULL), ST_OK);
		assert_true(text_utf8_valid((char *)out.data, out.len));
		struct text_slice *f;
		size_t nf;
		assert_int_equal(text_fields_split((char *)in, n, 0, &f, &nf, NULL), ST_OK);
		free(f);
	}
	buf_free(&out);
}

/* ---- every note of every fixture ---- */

/* Read a protobuf varint; 0 on malformed input. */
static int pb_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		unsigned char c = *(*p)++;
		*v |= (uint64_t)(c & 0x7F) << shift;
		if (!(c & 0x80))
			return 1;
	}
	return 0;
}

/* Field 2 (sort_field_idx, varint) of a Notetype.Config blob; 0 when absent. */
static uint64_t sortf_from_config(const unsigned char *p, size_t n)
{
	const unsigned char *end = p + n;
	uint64_t key, v, sortf = 0;
	while (p < end && pb_varint(&p, end, &key)) {
		unsigned wt = key & 7;
		if (wt == 0) {
			assert_true(pb_varint(&p, end, &v));
			if (key >> 3 == 2)
				sortf = v;
		} else if (wt == 2) {
			assert_true(pb_varint(&p, end, &v) && v <= (uint64_t)(end - p));
			p += v;
		} else if (wt == 1) {
			p += 8;
		} else if (wt == 5) {
			p += 4;
		} else {
			fail_msg("bad wire type %u", wt);
		}
	}
	return sortf;
}

struct ntsort {
	long long id;
	unsigned sortf;
};

static size_t load_sortf(sqlite3 *db, int ver, struct ntsort *v, size_t max)
{
	size_t n = 0;
	sqlite3_stmt *st;
	if (ver >= 15) {
		assert_int_equal(
		    sqlite3_prepare_v2(db, "SELECT id, config FROM notetypes", -1, &st, NULL),
		    SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW && n < max) {
			v[n].id = sqlite3_column_int64(st, 0);
			v[n].sortf = (unsigned)sortf_from_config(
			    sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
			n++;
		}
	} else {
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT models FROM col", -1, &st, NULL),
		                 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		json_error_t jerr;
		json_t *models = json_loads((const char *)sqlite3_column_text(st, 0), 0, &jerr);
		assert_non_null(models);
		const char *key;
		json_t *m;
		json_object_foreach(models, key, m)
		{
			assert_true(n < max);
			v[n].id = strtoll(key, NULL, 10);
			v[n].sortf = (unsigned)json_integer_value(json_object_get(m, "sortf"));
			n++;
		}
		json_decref(models);
	}
	sqlite3_finalize(st);
	return n;
}

/* serde_json's string form (card data, the SQL JSON functions): short
 * escapes, other controls as \u00xx lower-case, UTF-8 and DEL as is; the
 * length is explicit, so an embedded NUL is escaped, not an end. */
static void test_json_string(void **state)
{
	(void)state;
	static const char in[] = "a\"b\\c\b\f\n\r\t\x01\x1f\x7f\xc3\xa9/\0z";
	static const char want[] =
	    "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9/\\u0000z\"";
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(text_json_string(&b, in, sizeof in - 1, NULL), ST_OK);
	assert_int_equal(b.len, sizeof want - 1);
	assert_memory_equal(b.data, want, b.len);
	buf_free(&b);
	/* a capped buffer reports the overflow instead of writing half */
	buf_init(&b, 4);
	struct errinfo e;
	assert_int_not_equal(text_json_string(&b, "abcdef", 6, &e), ST_OK);
	buf_free(&b);
}

static void test_fixture_notes(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	struct fixcol *cols;
	int ncols = fixcol_all(dir, &cols);
	int notes = 0, nonzero_sortf = 0, with_html = 0;
	struct buf sfld;
	buf_init(&sfld, 0);
	for (int c = 0; c < ncols; c++) {
		sqlite3 *db = fixcol_open(cols[c].path);
		int ver = fixcol_schema(db);
		struct ntsort nts[64];
		size_t nnt = load_sortf(db, ver, nts, 64);
		sqlite3_stmt *st, *cmp;
		assert_int_equal(
		    sqlite3_prepare_v2(db, "SELECT id, mid, flds, csum FROM notes", -1, &st, NULL),
		    SQLITE_OK);
		assert_int_equal(
		    sqlite3_prepare_v2(db,
		                       "SELECT sfld = ?1, CAST(sfld AS TEXT) FROM notes "
		                       "WHERE id = ?2",
		                       -1, &cmp, NULL),
		    SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			long long id = sqlite3_column_int64(st, 0),
			          mid = sqlite3_column_int64(st, 1);
			const char *flds = (const char *)sqlite3_column_text(st, 2);
			size_t len = (size_t)sqlite3_column_bytes(st, 2);
			unsigned sortf = 0;
			int found = 0;
			for (size_t k = 0; k < nnt; k++)
				if (nts[k].id == mid) {
					sortf = nts[k].sortf;
					found = 1;
				}
			if (!found)
				fail_msg("%s: note %lld has unknown notetype %lld", cols[c].label,
				         id, mid);
			nonzero_sortf += sortf != 0;
			with_html += strchr(flds, '<') != NULL || strchr(flds, '&') != NULL;

			struct text_slice *f;
			size_t nf;
			assert_int_equal(text_fields_split(flds, len, 0, &f, &nf, NULL), ST_OK);
			uint32_t sum;
			assert_int_equal(text_checksum(f[0].p, f[0].len, &sum, NULL), ST_OK);
			if ((long long)sum != sqlite3_column_int64(st, 3))
				fail_msg("%s: note %lld csum %u, stored %lld", cols[c].label, id,
				         sum, sqlite3_column_int64(st, 3));
			const char *fp[64];
			size_t fl[64];
			assert_true(nf <= 64);
			for (size_t k = 0; k < nf; k++) {
				fp[k] = f[k].p;
				fl[k] = f[k].len;
			}
			assert_int_equal(text_sort_field(fp, fl, nf, sortf, &sfld, NULL), ST_OK);
			sqlite3_reset(cmp);
			sqlite3_bind_text(cmp, 1, sfld.data ? (char *)sfld.data : "", (int)sfld.len,
			                  SQLITE_TRANSIENT);
			sqlite3_bind_int64(cmp, 2, id);
			assert_int_equal(sqlite3_step(cmp), SQLITE_ROW);
			if (sqlite3_column_int(cmp, 0) != 1)
				fail_msg("%s: note %lld sfld [%.*s], stored [%s]", cols[c].label,
				         id, (int)sfld.len, sfld.data, sqlite3_column_text(cmp, 1));
			free(f);
			notes++;
		}
		sqlite3_finalize(st);
		sqlite3_finalize(cmp);
		sqlite3_close(db);
	}
	print_message("fixture notes: %d checked (%d with markup, %d with sort field > 0)\n", notes,
	              with_html, nonzero_sortf);
	/* 7 notes in the Anki 2.0-era packages, 3 + 1 + 16 in the bare files,
	 * 20 + 459 + 8 in the modern packages and 4 "please update" stubs */
	assert_int_equal(notes, 519);
	assert_true(with_html >= 5);
	buf_free(&sfld);
	free(cols);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_checksum_examples),
	    cmocka_unit_test(test_strip_media),
	    cmocka_unit_test(test_strip_html),
	    cmocka_unit_test(test_entities),
	    cmocka_unit_test(test_entity_table),
	    cmocka_unit_test(test_sort_field),
	    cmocka_unit_test(test_field_is_empty),
	    cmocka_unit_test(test_guid),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_clean),
	    cmocka_unit_test(test_differential),
	    cmocka_unit_test(test_pathological),
	    cmocka_unit_test(test_random_bytes),
	    cmocka_unit_test(test_fixture_notes),
	    cmocka_unit_test(test_json_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
