/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_render.c - the template engine and two-sided rendering without a
 * collection (render.h): tokens and syntax errors (collection-format.md
 * §6.2), replacements, conditionals, comments, alternative delimiters,
 * FrontSide, filters in templates, Anki's error sentences, and render_qa
 * (blank front, missing cloze, template errors as Anki's HTML, sound and
 * tts markers, LaTeX, the <style> prefix), with the cases of Anki's
 * rslib template.rs / notetype/render.rs tests written out as tables.
 * Also hostile templates: deep nesting, huge input, invalid UTF-8.
 */
#include "testutil.h"

#include "render.h"
#include "text.h"

static const char *cstr(const struct buf *b)
{
	return b->data ? (const char *)b->data : "";
}

/* fields from "name=value" strings, NULL-terminated */
static struct render_fields *fmap(const char *const *kv)
{
	struct render_fields *f;
	assert_int_equal(render_fields_new(&f, NULL), ST_OK);
	for (size_t i = 0; kv[i]; i++) {
		const char *eq = strchr(kv[i], '=');
		assert_non_null(eq);
		assert_int_equal(render_fields_put(f, kv[i], (size_t)(eq - kv[i]), eq + 1,
		                                   strlen(eq + 1), true, NULL),
		                 ST_OK);
	}
	return f;
}

/* want NULL: expect a template error whose sentence is err */
static void tmpl_case(const struct render_fields *f, uint32_t ord, bool answer, const char *fs,
                      const char *tmpl, const char *want, const char *err)
{
	struct render_ctx ctx = {.card_ord = ord,
	                         .answer = answer,
	                         .frontside = fs,
	                         .frontside_len = fs ? strlen(fs) : 0};
	struct buf out, terr;
	struct errinfo e = {0};
	buf_init(&out, 0);
	buf_init(&terr, 0);
	enum status st = render_template(tmpl, strlen(tmpl), f, &ctx, &out, &terr, &e);
	if (want) {
		if (st != ST_OK)
			fail_msg("template '%s': %s", tmpl, e.msg);
		if (strcmp(cstr(&out), want) != 0)
			fail_msg("template '%s': got '%s' want '%s'", tmpl, cstr(&out), want);
	} else {
		if (st != ST_INVALID)
			fail_msg("template '%s' should fail, got '%s'", tmpl, cstr(&out));
		if (strcmp(cstr(&terr), err) != 0)
			fail_msg("template '%s': error '%s' want '%s'", tmpl, cstr(&terr), err);
		assert_string_equal(e.msg, err);
	}
	buf_free(&out);
	buf_free(&terr);
}

static void test_fields_map(void **state)
{
	(void)state;
	struct render_fields *f;
	assert_int_equal(render_fields_new(&f, NULL), ST_OK);
	assert_int_equal(render_fields_put(f, "b", 1, "1", 1, true, NULL), ST_OK);
	assert_int_equal(render_fields_put(f, "a", 1, "2", 1, true, NULL), ST_OK);
	assert_int_equal(render_fields_put(f, "b", 1, "3", 1, false, NULL), ST_OK); /* kept */
	assert_int_equal(render_fields_put(f, "a", 1, "4", 1, true, NULL), ST_OK);  /* replaced */
	assert_int_equal(render_fields_put(f, "", 0, "x", 1, true, NULL), ST_OK);
	assert_int_equal(render_fields_count(f), 3);
	const char *v;
	size_t vl;
	assert_true(render_fields_get(f, "b", 1, &v, &vl));
	assert_string_equal(v, "1");
	assert_true(render_fields_get(f, "a", 1, &v, &vl));
	assert_string_equal(v, "4");
	assert_true(render_fields_get(f, "", 0, &v, &vl));
	assert_false(render_fields_get(f, "c", 1, &v, &vl));
	const char *n;
	size_t nl;
	render_fields_at(f, 0, &n, &nl, &v, &vl);
	assert_int_equal(nl, 0); /* name order */
	render_fields_free(f);
}

static void test_template_anki_cases(void **state)
{
	(void)state;
	/* rslib template.rs render_single: F=f, B=b, E=" ", c1="1"; card ord 1 */
	static const char *const kv[] = {"F=f", "B=b", "E= ", "c1=1", NULL};
	struct render_fields *f = fmap(kv);
	static const struct {
		const char *tmpl, *want, *err;
	} v[] = {
	    {"{{B}}A{{F}}", "bAf", NULL},
	    {"{{#E}}A{{/E}}", "", NULL},
	    {"{{#E}}}{{^M}}A{{/M}}{{/E}}}", NULL,
	     "Found '{{^M}}', but there is no field called 'M'"},
	    {"{{^E}}1{{#F}}2{{#B}}{{F}}{{/B}}{{/F}}{{/E}}", "12f", NULL},
	    {"{{^E}}1<!--{{#F}}2{{#B}}{{F}}{{/B}}{{/F}}-->\xc4\xa3<!-- this is a comment -->{{/E}}"
	     "\xd1\x96",
	     "1<!--{{#F}}2{{#B}}{{F}}{{/B}}{{/F}}-->\xc4\xa3<!-- this is a comment -->\xd1\x96",
	     NULL},
	    {"{{^c2}}1{{#c1}}2{{/c1}}{{/c2}}", "12", NULL},
	    {"{{one:two:B}}", "b", NULL},
	    {"{{one::text:B}}", "b", NULL},
	    {"{{text:B}}", "b", NULL},
	    {"{{X}}", NULL, "Found '{{X}}', but there is no field called 'X'"},
	    {"{{foo:text:X}}", NULL, "Found '{{foo:text:X}}', but there is no field called 'X'"},
	    {"{{filter:}}", "", NULL},
	    {"{{}}", NULL, "Found '{{}}', but there is no field called ''"},
	    /* parsing */
	    {"", "", NULL},
	    {"foo {{B}} {{#F}} quux {{/F}}", "foo b  quux ", NULL},
	    {"{{#mis}}{{/matched}}", NULL, "Found '{{/matched}}', but expected '{{/mis}}'"},
	    {"{{/matched}}", NULL,
	     "Found '{{/matched}}', but missing '{{#matched}}' or '{{^matched}}'"},
	    {"{{#mis}}", NULL, "Missing '{{/mis}}'"},
	    {"{{#mis}}<!--{{/matched}}-->", NULL, "Missing '{{/mis}}'"},
	    {"<!--{{#mis}}{{/matched}}-->", "<!--{{#mis}}{{/matched}}-->", NULL},
	    {"<!--{{F}}", "<!--f", NULL},
	    {"{{F}}-->", "f-->", NULL},
	    {"{{#F}}{{#B}}{{/F}}{{/B}}", NULL, "Found '{{/F}}', but expected '{{/B}}'"},
	    {"{{ F }}", "f", NULL},
	    {"{{{F}}}", "f}", NULL},
	    {"{{  #  F  }}x{{/F}}", "x", NULL},
	    {"{{# F}}x{{/ F}}", "x", NULL},
	    {"text }} more", "text }} more", NULL},
	    {"{{F", "{{F", NULL},
	    {"{{#}}", NULL, "Found '{{#}}', but there is no field called '#'"},
	    {"{{ text : F }}", NULL, "Found '{{text : F}}', but there is no field called ' F'"},
	    {"foo {{F}} <!--<!--abc {{^F}}-->--> {{B}}", "foo f <!--<!--abc {{^F}}-->--> b", NULL},
	    /* unknown names in a false branch are still errors */
	    {"{{#E}}{{Nope}}{{/E}}", NULL, "Found '{{Nope}}', but there is no field called 'Nope'"},
	    {"{{^F}}{{#Nope}}{{/Nope}}{{/F}}", NULL,
	     "Found '{{#Nope}}', but there is no field called 'Nope'"},
	    /* cloze conditionals need no field */
	    {"{{#c7}}x{{/c7}}{{^c7}}y{{/c7}}{{#c+3}}z{{/c+3}}", "y", NULL},
	    {"{{#c}}x{{/c}}", NULL, "Found '{{#c}}', but there is no field called 'c'"},
	    {"{{#c99999999999}}x{{/c99999999999}}", NULL,
	     "Found '{{#c99999999999}}', but there is no field called 'c99999999999'"},
	    /* FrontSide on the question side is empty, filters ignored */
	    {"{{FrontSide}}{{text:FrontSide}}{{F}}", "f", NULL},
	    /* alternative delimiters (template.rs alt_syntax) */
	    {"\n{{=<% %>=}}\n<%F%>\n<% #B %>\n<%/B%>", "\nf\n\n", NULL},
	    {"\n{{=<% %>=}}\n{{#foo}}\n<%F%>\n{{/foo}}\n", "\n{{#foo}}\nf\n{{/foo}}\n", NULL},
	    {"{{=<% %>=}}{{=<% %>=}}<%B%>", "b", NULL},
	    {" x{{=<% %>=}}<%B%>", NULL,
	     "Found '{{=<% %>=}}', but there is no field called '=<% %>='"},
	    /* filters */
	    {"{{type:F}}", "[[type:F]]", NULL},
	    {"{{tts en_US:F}}", "[anki:tts lang=en_US]f[/anki:tts]", NULL},
	};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++)
		tmpl_case(f, 1, false, NULL, v[i].tmpl, v[i].want, v[i].err);
	/* answer side: FrontSide is given */
	tmpl_case(f, 1, true, "QQ", "{{FrontSide}}<hr id=answer>{{B}}", "QQ<hr id=answer>b", NULL);
	tmpl_case(f, 1, true, "QQ", "{{hint:FrontSide}}", "QQ", NULL);
	render_fields_free(f);
}

static void test_template_cloze_and_filters(void **state)
{
	(void)state;
	static const char *const kv[] = {"Text={{c1::one}} {{c2::two::hint}}", "Back=<b>b</b>",
	                                 "Kanji=\xe6\x97\xa5[\xe3\x81\xb2]", NULL};
	struct render_fields *f = fmap(kv);
	tmpl_case(f, 0, false, NULL, "{{cloze:Text}}",
	          "<span class=\"cloze\" data-cloze=\"one\" data-ordinal=\"1\">[...]</span> "
	          "<span class=\"cloze-inactive\" data-ordinal=\"2\">two</span>",
	          NULL);
	tmpl_case(f, 1, true, "", "{{cloze:Text}}",
	          "<span class=\"cloze-inactive\" data-ordinal=\"1\">one</span> "
	          "<span class=\"cloze\" data-ordinal=\"2\">two</span>",
	          NULL);
	tmpl_case(f, 1, false, NULL, "{{cloze-only:Text}}|{{text:cloze:Text}}", "hint|one [hint]",
	          NULL);
	tmpl_case(f, 2, false, NULL, "[{{cloze:Text}}]", "[]", NULL);
	tmpl_case(f, 0, false, NULL, "{{type:cloze:Text}} {{type:nc:Text}}",
	          "[[type:cloze:Text]] [[type:nc:Text]]", NULL);
	tmpl_case(f, 0, false, NULL, "{{text:Back}} {{kana:Kanji}} {{kanji:Kanji}}",
	          "b \xe3\x81\xb2 \xe6\x97\xa5", NULL);
	tmpl_case(f, 0, false, NULL, "{{furigana:Kanji}}",
	          "<ruby><rb>\xe6\x97\xa5</rb><rt>\xe3\x81\xb2</rt></ruby>", NULL);
	/* unknown filters: the rest of the chain is left to (absent) add-ons */
	tmpl_case(f, 0, false, NULL, "{{text:mine:Back}}", "<b>b</b>", NULL);
	render_fields_free(f);
}

/* ---- render_qa ---- */

#define CSS ".card { color: black; }\n"
#define BLANK                                                                                      \
	"<div>The front of this card is blank.<br><a "                                             \
	"href='https://docs.ankiweb.net/templates/errors.html#front-of-card-is-blank'>More "       \
	"information</a></div>"
#define MORE                                                                                       \
	"<br><a href='https://docs.ankiweb.net/templates/errors.html#template-syntax-error'>More " \
	"information</a>"

static void qa(const char *const *kv, const char *qfmt, const char *afmt, uint32_t ord, bool cloze,
               struct render_out *o)
{
	struct render_fields *f = fmap(kv);
	struct render_qa_in in = {.qfmt = qfmt,
	                          .afmt = afmt,
	                          .fields = f,
	                          .card_ord = ord,
	                          .is_cloze = cloze,
	                          .css = CSS};
	struct errinfo e = {0};
	if (render_qa(&in, o, &e) != ST_OK)
		fail_msg("render_qa: %s", e.msg);
	render_fields_free(f);
	/* invariants: the style element in front; valid UTF-8 */
	assert_true(strncmp(o->question, "<style>", 7) == 0);
	assert_true(text_utf8_valid(o->question, strlen(o->question)));
	assert_true(text_utf8_valid(o->answer, strlen(o->answer)));
}

static void qa_eq(const struct render_out *o, const char *q, const char *a)
{
	if (strcmp(o->question_html, q) != 0)
		fail_msg("question: got '%s' want '%s'", o->question_html, q);
	if (strcmp(o->answer_html, a) != 0)
		fail_msg("answer: got '%s' want '%s'", o->answer_html, a);
}

static void test_qa(void **state)
{
	(void)state;
	struct render_out o;
	static const char *const basic[] = {"Front=front", "Back=back", NULL};
	const char *back = "{{FrontSide}}\n\n<hr id=answer>\n\n{{Back}}";
	/* notetype/render.rs can_render_fully */
	qa(basic, "{{Front}}", back, 0, false, &o);
	qa_eq(&o, "front", "front\n\n<hr id=answer>\n\nback");
	assert_string_equal(o.question, "<style>" CSS "</style>front");
	assert_string_equal(o.answer, "<style>" CSS "</style>front\n\n<hr id=answer>\n\nback");
	assert_string_equal(o.css, CSS);
	assert_false(o.is_empty);
	assert_false(o.template_error);
	render_out_free(&o);
	qa(basic, "{{some_filter:Front}}{{another_filter:}}", back, 0, false, &o);
	qa_eq(&o, "front", "front\n\n<hr id=answer>\n\nback");
	render_out_free(&o);

	/* template.rs render_card: blank front */
	static const char *const en[] = {"E=", "N=N", NULL};
	qa(en, "test{{E}}", "", 1, false, &o);
	qa_eq(&o, "test" BLANK, BLANK);
	assert_true(o.is_empty);
	render_out_free(&o);
	qa(en, "{{FrontSide}}{{N}}", "", 1, false, &o);
	qa_eq(&o, "N", "");
	assert_false(o.is_empty);
	render_out_free(&o);
	/* a broken back template does not matter when the front is blank */
	qa(en, "{{E}}", "{{#x}}", 0, false, &o);
	assert_true(o.is_empty);
	assert_false(o.template_error);
	render_out_free(&o);

	/* template errors: Anki's HTML on both sides, no CSS in the style */
	qa(basic, "{{Nope}}", back, 0, false, &o);
	const char *qerr = "Front template has a problem:<br>Found &#x27;{{Nope}}&#x27;, but there "
	                   "is no field called &#x27;Nope&#x27;" MORE;
	qa_eq(&o, qerr, qerr);
	assert_true(o.template_error);
	assert_true(strncmp(o.question, "<style></style>Front template", 29) == 0);
	assert_string_equal(o.css, CSS);
	render_out_free(&o);
	qa(basic, "{{Front}}", "{{#Back}}", 0, false, &o);
	const char *aerr = "Back template has a problem:<br>Missing &#x27;{{/Back}}&#x27;" MORE;
	qa_eq(&o, aerr, aerr);
	render_out_free(&o);
	qa(basic, "{{#Front}}<b>&{{/Back}}", back, 0, false, &o);
	qa_eq(&o,
	      "Front template has a problem:<br>Found &#x27;{{/Back}}&#x27;, but expected "
	      "&#x27;{{/Front}}&#x27;" MORE,
	      "Front template has a problem:<br>Found &#x27;{{/Back}}&#x27;, but expected "
	      "&#x27;{{/Front}}&#x27;" MORE);
	render_out_free(&o);

	/* type in the answer */
	qa(basic, "{{Front}}\n\n{{type:Back}}", "{{Front}}\n\n<hr id=answer>\n\n{{type:Back}}", 0,
	   false, &o);
	qa_eq(&o, "front\n\n[[type:Back]]", "front\n\n<hr id=answer>\n\n[[type:Back]]");
	render_out_free(&o);

	/* sound and tts: play markers, the question's inside FrontSide */
	static const char *const snd[] = {"Front=[sound:a.mp3] hi", "Back=[sound:b.mp3]", NULL};
	qa(snd, "{{Front}}{{tts en_US:Front}}", back, 0, false, &o);
	qa_eq(&o, "[anki:play:q:0] hi[anki:play:q:1]",
	      "[anki:play:q:0] hi[anki:play:q:1]\n\n<hr id=answer>\n\n[anki:play:a:0]");
	assert_int_equal(o.nav_question, 2);
	assert_int_equal(o.nav_answer, 1);
	render_out_free(&o);

	/* LaTeX becomes an image link on both sides */
	static const char *const ltx[] = {"Front=[$]x[/$]", "Back=y", NULL};
	qa(ltx, "{{Front}}", back, 0, false, &o);
	const char *img = "<img class=latex alt=\"&#x24;x&#x24;\" src=\"latex-";
	assert_true(strncmp(o.question_html, img, strlen(img)) == 0);
	assert_non_null(strstr(o.answer_html, ".png\">\n\n<hr id=answer>\n\ny"));
	render_out_free(&o);

	/* hint */
	static const char *const h[] = {"Front=q", "Back=foo", NULL};
	qa(h, "{{Front}}", "{{hint:Back}}", 0, false, &o);
	assert_non_null(strstr(o.answer_html, "hint"));
	assert_non_null(strstr(o.answer_html, ">\nBack</a>"));
	render_out_free(&o);
}

#define NOCLOZE(n)                                                                                 \
	"<div>No cloze " n                                                                         \
	" found on card.\nPlease either add a cloze deletion, or use the Empty "                   \
	"Cards tool.<br><a "                                                                       \
	"href='https://docs.ankiweb.net/templates/"                                                \
	"errors.html#no-cloze-filter-on-cloze-note-type'>"                                         \
	"More information</a></div>"

static void test_qa_cloze(void **state)
{
	(void)state;
	struct render_out o;
	static const char *const kv[] = {"Text={{c1::Canberra::city}} is in {{c2::Australia}}",
	                                 "Back Extra=extra", "c1=1", NULL};
	const char *qf = "{{cloze:Text}}", *af = "{{cloze:Text}}<br>\n{{Back Extra}}";
	qa(kv, qf, af, 0, true, &o);
	qa_eq(
	    &o,
	    "<span class=\"cloze\" data-cloze=\"Canberra\" data-ordinal=\"1\">[city]</span> is in "
	    "<span class=\"cloze-inactive\" data-ordinal=\"2\">Australia</span>",
	    "<span class=\"cloze\" data-ordinal=\"1\">Canberra</span> is in "
	    "<span class=\"cloze-inactive\" data-ordinal=\"2\">Australia</span><br>\nextra");
	render_out_free(&o);
	/* a card whose cloze is gone */
	static const char *const kv3[] = {"Text={{c1::a}}", "Back Extra=", "c4=1", NULL};
	qa(kv3, qf, af, 3, true, &o);
	qa_eq(&o, NOCLOZE("4"), NOCLOZE("4"));
	assert_true(o.is_empty);
	render_out_free(&o);
	/* a cloze number in another field counts (cloze_number_in_fields) */
	static const char *const kv2[] = {"Text=x", "Back Extra={{c2::y}}", "c2=1", NULL};
	qa(kv2, qf, af, 1, true, &o);
	assert_false(o.is_empty);
	qa_eq(&o, "", "<br>\n{{c2::y}}"); /* Back Extra is not cloze-filtered */
	render_out_free(&o);
}

static void test_card_fields(void **state)
{
	(void)state;
	struct nt_field flds[2] = {{.name = "Front"}, {.name = "Tags"}};
	struct notetype nt = {.name = "My Type", .nfields = 2, .fields = flds};
	struct note n = {.flds = "f\x1ftags-field\x1f"
	                         "extra1\x1f"
	                         "extra2",
	                 .tags = " a  b\xe3\x80\x80"
	                         "c "};
	struct card cd = {.id = 1234, .ord = 2, .flags = 3};
	struct render_fields *f;
	assert_int_equal(render_card_fields(&nt, &n, &cd, "Card 3", "Top::Mid::Leaf", &f, NULL),
	                 ST_OK);
	static const struct {
		const char *name, *val;
	} want[] = {
	    {"Front", "f"},        {"Tags", "tags-field"},     {"", "extra2"},
	    {"Type", "My Type"},   {"Deck", "Top::Mid::Leaf"}, {"Subdeck", "Leaf"},
	    {"CardFlag", "flag3"}, {"Card", "Card 3"},         {"CardID", "1234"},
	    {"c3", "1"},
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		const char *v;
		size_t vl;
		if (!render_fields_get(f, want[i].name, strlen(want[i].name), &v, &vl))
			fail_msg("no field '%s'", want[i].name);
		assert_string_equal(v, want[i].val);
	}
	assert_int_equal(render_fields_count(f), sizeof want / sizeof *want);
	render_fields_free(f);
	/* Tags from the note when no field has the name; no deck */
	flds[1].name = "Back";
	assert_int_equal(render_card_fields(&nt, &n, &cd, NULL, NULL, &f, NULL), ST_OK);
	const char *v;
	size_t vl;
	assert_true(render_fields_get(f, "Tags", 4, &v, &vl));
	assert_string_equal(v, "a b c");
	assert_true(render_fields_get(f, "Deck", 4, &v, &vl));
	assert_string_equal(v, "(Deck)");
	assert_true(render_fields_get(f, "Subdeck", 7, &v, &vl));
	assert_string_equal(v, "(Deck)");
	assert_true(render_fields_get(f, "Card", 4, &v, &vl));
	assert_string_equal(v, "");
	render_fields_free(f);
	/* fewer note fields than the notetype: the missing one is absent */
	struct note shortn = {.flds = "only", .tags = ""};
	assert_int_equal(render_card_fields(&nt, &shortn, &cd, "t", "d", &f, NULL), ST_OK);
	assert_false(render_fields_get(f, "Back", 4, &v, &vl));
	assert_true(render_fields_get(f, "Tags", 4, &v, &vl));
	assert_string_equal(v, "");
	render_fields_free(f);
}

/* ---- hostile templates ---- */

static void test_hostile(void **state)
{
	(void)state;
	static const char *const kv[] = {"F=f", "c1=1", NULL};
	struct render_fields *f = fmap(kv);
	struct render_ctx ctx = {0};
	struct buf out;
	/* 200k nested conditionals, balanced: no recursion */
	size_t depth = 200000;
	size_t len = depth * 6 + 5 + depth * 6;
	char *t = malloc(len + 1);
	assert_non_null(t);
	char *p = t;
	for (size_t i = 0; i < depth; i++, p += 6)
		memcpy(p, "{{#F}}", 6);
	memcpy(p, "{{F}}", 5);
	p += 5;
	for (size_t i = 0; i < depth; i++, p += 6)
		memcpy(p, "{{/F}}", 6);
	*p = '\0';
	buf_init(&out, 0);
	assert_int_equal(render_template(t, len, f, &ctx, &out, NULL, NULL), ST_OK);
	assert_string_equal(cstr(&out), "f");
	buf_free(&out);
	/* unbalanced: drop the last closer */
	buf_init(&out, 0);
	assert_int_equal(render_template(t, len - 6, f, &ctx, &out, NULL, NULL), ST_INVALID);
	buf_free(&out);
	free(t);

	/* 4 MiB of openers without closers, and of closers alone */
	len = 4u << 20;
	t = malloc(len + 1);
	assert_non_null(t);
	memset(t, '{', len);
	t[len] = '\0';
	buf_init(&out, 0);
	assert_int_equal(render_template(t, len, f, &ctx, &out, NULL, NULL), ST_OK);
	assert_int_equal(out.len, len);
	buf_free(&out);
	memset(t, '}', len);
	buf_init(&out, 0);
	assert_int_equal(render_template(t, len, f, &ctx, &out, NULL, NULL), ST_OK);
	buf_free(&out);
	for (size_t i = 0; i < len; i++)
		t[i] = "<!--{{"[i % 6];
	buf_init(&out, 0);
	assert_int_equal(render_template(t, len, f, &ctx, &out, NULL, NULL), ST_OK);
	buf_free(&out);
	/* many replacements against an output cap */
	for (size_t i = 0; i < len; i++)
		t[i] = "{{F}}"[i % 5];
	buf_init(&out, 1000);
	assert_int_equal(render_template(t, len - len % 5, f, &ctx, &out, NULL, NULL), ST_TOOBIG);
	buf_free(&out);
	free(t);

	/* invalid UTF-8 in templates, names and values */
	static const char *const bad[] = {"\xff",
	                                  "{{\xff}}",
	                                  "{{#\xc3}}x{{/\xc3}}",
	                                  "{{F\xe2\x82}}",
	                                  "\xe2\x80{{F}}\xa0",
	                                  "{{=<% %>=}}\xf0<%F%>",
	                                  NULL};
	for (size_t i = 0; bad[i]; i++) {
		buf_init(&out, 0);
		enum status st = render_template(bad[i], strlen(bad[i]), f, &ctx, &out, NULL, NULL);
		assert_true(st == ST_OK || st == ST_INVALID);
		buf_free(&out);
	}
	render_fields_free(f);

	/* render_qa turns invalid UTF-8 into U+FFFD */
	static const char *const kvb[] = {"F=\xff\xfe{{c1::\xc3}}", NULL};
	struct render_out o;
	qa(kvb, "{{F}}\xff", "{{FrontSide}}{{cloze:F}}", 0, false, &o);
	assert_non_null(strstr(o.question_html, "\xef\xbf\xbd"));
	render_out_free(&o);

	/* random token soup: never crashes, always valid UTF-8 out */
	static const char *const tok[] = {
	    "{{",          "}}",      "#",          "^",
	    "/",           "F",       "G",          ":",
	    "c1",          "<!--",    "-->",        "{{c1::",
	    "::",          "[sound:", "]",          "[anki:tts lang=x]",
	    "[/anki:tts]", "\xff",    " ",          "text:",
	    "cloze:",      "hint:",   "FrontSide",  "[$]",
	    "[/$]",        "<% %>",   "{{=<% %>=}}"};
	static const char *const kvr[] = {"F={{c1::a::b}} x[y]", "G=[sound:s] {{c2::z}}", NULL};
	unsigned seed = 12345;
	for (int it = 0; it < 1500; it++) {
		char q[512] = "", a[512] = "";
		for (char *s = q; s; s = s == q ? a : NULL) {
			int n = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 24;
			for (int k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				strcat(s, tok[(seed >> 16) % (sizeof tok / sizeof *tok)]);
			}
		}
		qa(kvr, q, a, (seed >> 8) % 3, (seed >> 4) & 1, &o);
		render_out_free(&o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields_map),
	    cmocka_unit_test(test_template_anki_cases),
	    cmocka_unit_test(test_template_cloze_and_filters),
	    cmocka_unit_test(test_qa),
	    cmocka_unit_test(test_qa_cloze),
	    cmocka_unit_test(test_card_fields),
	    cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
