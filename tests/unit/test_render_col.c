/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_render_col.c - rendering cards of real collections (render.h):
 * every stock notetype of a new collection (col_create) with sample notes
 * - Basic, reversed, optional reversed, type-in, Cloze with hints,
 * nesting and multi-number clozes, Image Occlusion - through card
 * generation (render_card_gen_ords), storage and render_card; the
 * special fields and the filtered-deck rule for {{Deck}}; blank cards
 * after edits; and every card of every fixture collection (copied or
 * extracted first) rendering without error.
 */
#include "fixcol.h"

#include "col.h"
#include "col_notes.h"
#include "col_store.h"
#include "render.h"
#include "text.h"

#define BLANK                                                                                      \
	"<div>The front of this card is blank.<br><a "                                             \
	"href='https://docs.ankiweb.net/templates/errors.html#front-of-card-is-blank'>More "       \
	"information</a></div>"

struct env {
	char *dir;
	struct col *c;
	struct notetype nts[8];
	size_t nnt;
};

static struct env *env_new(void)
{
	struct env *v = calloc(1, sizeof *v);
	assert_non_null(v);
	v->dir = tu_mkdtemp();
	char path[4200];
	snprintf(path, sizeof path, "%s/collection.anki2", v->dir);
	struct errinfo e = {0};
	if (col_create(path, 0, &e) != ST_OK)
		fail_msg("col_create: %s", e.msg);
	if (col_open(path, 0, &v->c, &e) != ST_OK)
		fail_msg("col_open: %s", e.msg);
	int64_t *ids;
	size_t n;
	assert_int_equal(col_list_ids(v->c, "notetypes", &ids, &n, &e), ST_OK);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(col_load_notetype(v->c, ids[i], &v->nts[v->nnt++], &e), ST_OK);
	free(ids);
	return v;
}

static void env_free(struct env *v)
{
	for (size_t i = 0; i < v->nnt; i++)
		notetype_free(&v->nts[i]);
	col_close(v->c);
	tu_rmtree(v->dir);
	free(v);
}

static const struct notetype *nt_named(struct env *v, const char *name)
{
	for (size_t i = 0; i < v->nnt; i++)
		if (strcmp(col_str(v->nts[i].name), name) == 0)
			return &v->nts[i];
	fail_msg("no notetype %s", name);
	return NULL;
}

/* Add a note and the cards card generation gives it; card ids by ord
 * into cids[] (0 where none).  Returns the note id. */
static int64_t add_note(struct env *v, const struct notetype *nt, const char *flds,
                        const char *tags, int64_t cids[8], size_t *ncards)
{
	struct errinfo e = {0};
	struct note n = {.mid = nt->id, .tags = strdup(tags), .flds = strdup(flds)};
	assert_int_equal(col_begin(v->c, &e), ST_OK);
	if (col_note_add(v->c, &n, &e) != ST_OK)
		fail_msg("note add: %s", e.msg);
	struct cardgen_ords ords;
	assert_int_equal(render_card_gen_ords(nt, n.flds, strlen(n.flds), n.tags, &ords, &e),
	                 ST_OK);
	int64_t pos;
	assert_int_equal(col_next_position(v->c, &pos, &e), ST_OK);
	memset(cids, 0, 8 * sizeof *cids);
	*ncards = 0;
	size_t count = ords.n ? ords.n : 1;
	for (size_t i = 0; i < count; i++) {
		uint32_t ord = ords.n ? ords.v[i] : 0;
		struct card cd;
		card_init_new(&cd, n.id, 1, (int32_t)ord, pos);
		assert_int_equal(col_card_add(v->c, &cd, &e), ST_OK);
		if (ord < 8)
			cids[ord] = cd.id;
		(*ncards)++;
		card_free(&cd);
	}
	cardgen_ords_free(&ords);
	assert_int_equal(col_commit(v->c, &e), ST_OK);
	int64_t id = n.id;
	note_free(&n);
	return id;
}

static void rc(struct env *v, int64_t cid, struct render_out *o)
{
	struct errinfo e = {0};
	if (render_card(v->c, cid, o, &e) != ST_OK)
		fail_msg("render_card %lld: %s", (long long)cid, e.msg);
	assert_false(o->template_error);
	char *pre = malloc(strlen(o->css) + 16);
	sprintf(pre, "<style>%s</style>", o->css);
	assert_true(strncmp(o->question, pre, strlen(pre)) == 0);
	assert_string_equal(o->question + strlen(pre), o->question_html);
	assert_string_equal(o->answer + strlen(pre), o->answer_html);
	free(pre);
}

static void eq(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fail_msg("%s: got\n'%s'\nwant\n'%s'", what, got, want);
}

static void test_stock_basic(void **state)
{
	(void)state;
	struct env *v = env_new();
	int64_t cids[8];
	size_t nc;
	struct render_out o;

	/* Basic */
	const struct notetype *nt = nt_named(v, "Basic");
	int64_t nid = add_note(v, nt,
	                       "What is <b>2+2</b>?\x1f"
	                       "4",
	                       " maths ", cids, &nc);
	assert_int_equal(nc, 1);
	rc(v, cids[0], &o);
	eq("basic q", o.question_html, "What is <b>2+2</b>?");
	eq("basic a", o.answer_html, "What is <b>2+2</b>?\n\n<hr id=answer>\n\n4");
	eq("css", o.css, col_str(nt->cfg.css));
	assert_int_equal(strlen(o.css), 148); /* collection-format.md §5.4 */
	eq("model", o.notetype_name, "Basic");
	eq("template", o.template_name, "Card 1");
	eq("deck", o.deck_name, "Default");
	assert_int_equal(o.card_id, cids[0]);
	assert_int_equal(o.note_id, nid);
	assert_int_equal(o.ord, 0);
	assert_int_equal(o.nfields, 2);
	eq("field 0", o.field_names[0], "Front");
	eq("field 1 value", o.field_values[1], "4");
	render_out_free(&o);

	/* Basic (and reversed card) */
	nt = nt_named(v, "Basic (and reversed card)");
	add_note(v, nt,
	         "F\x1f"
	         "B",
	         "", cids, &nc);
	assert_int_equal(nc, 2);
	rc(v, cids[0], &o);
	eq("rev q0", o.question_html, "F");
	eq("rev a0", o.answer_html, "F\n\n<hr id=answer>\n\nB");
	render_out_free(&o);
	rc(v, cids[1], &o);
	eq("rev q1", o.question_html, "B");
	eq("rev a1", o.answer_html, "B\n\n<hr id=answer>\n\nF");
	eq("rev t1", o.template_name, "Card 2");
	assert_int_equal(o.ord, 1);
	render_out_free(&o);

	/* Basic (optional reversed card): one card, or two with Add Reverse */
	nt = nt_named(v, "Basic (optional reversed card)");
	add_note(v, nt,
	         "F\x1f"
	         "B\x1f",
	         "", cids, &nc);
	assert_int_equal(nc, 1);
	nid = add_note(v, nt,
	               "F\x1f"
	               "B\x1fy",
	               "", cids, &nc);
	assert_int_equal(nc, 2);
	rc(v, cids[1], &o);
	eq("opt q1", o.question_html, "B");
	eq("opt a1", o.answer_html, "B\n\n<hr id=answer>\n\nF");
	render_out_free(&o);
	/* clearing Add Reverse leaves card 2 blank, as Anki shows it */
	struct note n;
	struct errinfo e = {0};
	assert_int_equal(col_note_get(v->c, nid, &n, &e), ST_OK);
	free(n.flds);
	n.flds = strdup("F\x1f"
	                "B\x1f");
	assert_int_equal(col_begin(v->c, &e), ST_OK);
	assert_int_equal(col_note_update(v->c, &n, &e), ST_OK);
	assert_int_equal(col_commit(v->c, &e), ST_OK);
	note_free(&n);
	rc(v, cids[1], &o);
	assert_true(o.is_empty);
	eq("opt blank q", o.question_html, BLANK);
	eq("opt blank a", o.answer_html, BLANK);
	render_out_free(&o);

	/* Basic (type in the answer) */
	nt = nt_named(v, "Basic (type in the answer)");
	add_note(v, nt,
	         "F\x1f"
	         "B",
	         "", cids, &nc);
	rc(v, cids[0], &o);
	eq("type q", o.question_html, "F\n\n[[type:Back]]");
	eq("type a", o.answer_html, "F\n\n<hr id=answer>\n\n[[type:Back]]");
	render_out_free(&o);
	env_free(v);
}

#define NESTED4_ESC                                                                                \
	"Nested&#x20;&lt;span&#x20;class&#x3D;&quot;cloze&#x2D;inactive&quot;&#x20;data&#x2D;"     \
	"ordinal&#x3D;&quot;4&quot;&gt;deep&lt;&#x2F;span&gt;"

static void test_stock_cloze(void **state)
{
	(void)state;
	struct env *v = env_new();
	int64_t cids[8];
	size_t nc;
	struct render_out o;
	const struct notetype *nt = nt_named(v, "Cloze");
	int64_t nid =
	    add_note(v, nt,
	             "{{c1::Canberra::city}} is the capital of {{c2::Australia}}. {{c1,3::Nested "
	             "{{c4::deep}}}}\x1f"
	             "extra <i>x</i>",
	             "", cids, &nc);
	assert_int_equal(nc, 4);
	for (int i = 0; i < 4; i++)
		assert_true(cids[i] != 0);
	rc(v, cids[0], &o);
	eq("c1 q", o.question_html,
	   "<span class=\"cloze\" data-cloze=\"Canberra\" data-ordinal=\"1\">[city]</span> is the "
	   "capital of <span class=\"cloze-inactive\" data-ordinal=\"2\">Australia</span>. <span "
	   "class=\"cloze\" data-cloze=\"" NESTED4_ESC "\" data-ordinal=\"1,3\">[...]</span>");
	eq("c1 a", o.answer_html,
	   "<span class=\"cloze\" data-ordinal=\"1\">Canberra</span> is the capital of <span "
	   "class=\"cloze-inactive\" data-ordinal=\"2\">Australia</span>. <span class=\"cloze\" "
	   "data-ordinal=\"1,3\">Nested <span class=\"cloze-inactive\" "
	   "data-ordinal=\"4\">deep</span></span><br>\nextra <i>x</i>");
	eq("template", o.template_name, "Cloze");
	assert_int_equal(strlen(o.css), 243); /* Cloze CSS, §5.4 */
	render_out_free(&o);
	rc(v, cids[2], &o);
	eq("c3 q", o.question_html,
	   "<span class=\"cloze-inactive\" data-ordinal=\"1\">Canberra</span> is the capital of "
	   "<span class=\"cloze-inactive\" data-ordinal=\"2\">Australia</span>. <span "
	   "class=\"cloze\" data-cloze=\"" NESTED4_ESC "\" data-ordinal=\"1,3\">[...]</span>");
	render_out_free(&o);
	rc(v, cids[3], &o);
	eq("c4 q", o.question_html,
	   "<span class=\"cloze-inactive\" data-ordinal=\"1\">Canberra</span> is the capital of "
	   "<span class=\"cloze-inactive\" data-ordinal=\"2\">Australia</span>. <span "
	   "class=\"cloze-inactive\" data-ordinal=\"1,3\">Nested <span class=\"cloze\" "
	   "data-cloze=\"deep\" data-ordinal=\"4\">[...]</span></span>");
	render_out_free(&o);

	/* the c2 deletion removed: card 2 says so */
	struct note n;
	struct errinfo e = {0};
	assert_int_equal(col_note_get(v->c, nid, &n, &e), ST_OK);
	free(n.flds);
	n.flds = strdup("{{c1::a}}\x1f");
	assert_int_equal(col_begin(v->c, &e), ST_OK);
	assert_int_equal(col_note_update(v->c, &n, &e), ST_OK);
	assert_int_equal(col_commit(v->c, &e), ST_OK);
	note_free(&n);
	rc(v, cids[1], &o);
	assert_true(o.is_empty);
	const char *msg = "<div>No cloze 2 found on card.\nPlease";
	assert_true(strncmp(o.question_html, msg, strlen(msg)) == 0);
	render_out_free(&o);

	/* a note without clozes still gets card 0, which is blank */
	add_note(v, nt, "plain\x1f", "", cids, &nc);
	assert_int_equal(nc, 1);
	rc(v, cids[0], &o);
	assert_true(o.is_empty);
	render_out_free(&o);
	env_free(v);
}

/* s with every occurrence of from replaced by to (malloc'd) */
static char *replace_all(const char *s, const char *from, const char *to)
{
	struct buf b;
	buf_init(&b, 0);
	const char *p;
	while ((p = strstr(s, from)) != NULL) {
		assert_int_equal(buf_append(&b, s, (size_t)(p - s), NULL), ST_OK);
		assert_int_equal(buf_append_str(&b, to, NULL), ST_OK);
		s = p + strlen(from);
	}
	assert_int_equal(buf_append_str(&b, s, NULL), ST_OK);
	size_t len;
	return (char *)buf_steal(&b, &len);
}

static void test_stock_image_occlusion(void **state)
{
	(void)state;
	struct env *v = env_new();
	int64_t cids[8];
	size_t nc;
	struct render_out o;
	const struct notetype *nt = nt_named(v, "Image Occlusion");
	add_note(v, nt,
	         "{{c1::image-occlusion:rect:left=.1:top=.2:width=.3:height=.4:oi=1}}"
	         "{{c2::image-occlusion:ellipse:left=.5:top=.5:width=.1:height=.1}}\x1f"
	         "<img src=\"io.png\">\x1fH\x1f\x1f",
	         "", cids, &nc);
	assert_int_equal(nc, 2);
	rc(v, cids[0], &o);
	/* expected: the stock template with its handlebars substituted */
	const char *rect = "data-shape=\"rect\" data-left=\".1\" data-top=\".2\" data-width=\".3\" "
	                   "data-height=\".4\" data-occludeInactive=\"1\" ";
	const char *ell = "data-shape=\"ellipse\" data-left=\".5\" data-top=\".5\" "
	                  "data-width=\".1\" data-height=\".1\" ";
	char q_occl[512], a_occl[512];
	snprintf(q_occl, sizeof q_occl,
	         "<div class=\"cloze\" data-ordinal=\"1\" %s></div>"
	         "<div class=\"cloze-inactive\" data-ordinal=\"2\" %s></div>",
	         rect, ell);
	snprintf(a_occl, sizeof a_occl,
	         "<div class=\"cloze-highlight\" data-ordinal=\"1\" %s></div>"
	         "<div class=\"cloze-inactive\" data-ordinal=\"2\" %s></div>",
	         rect, ell);
	char *t1 = replace_all(col_str(nt->templates[0].cfg.q_format),
	                       "{{#Header}}<div>{{Header}}</div>{{/Header}}", "<div>H</div>");
	char *t2 = replace_all(t1, "{{cloze:Occlusion}}", q_occl);
	char *wantq = replace_all(t2, "{{Image}}", "<img src=\"io.png\">");
	eq("io q", o.question_html, wantq);
	free(t1);
	free(t2);
	t1 = replace_all(col_str(nt->templates[0].cfg.a_format),
	                 "{{#Header}}<div>{{Header}}</div>{{/Header}}", "<div>H</div>");
	t2 = replace_all(t1, "{{cloze:Occlusion}}", a_occl);
	char *t3 = replace_all(t2, "{{Image}}", "<img src=\"io.png\">");
	char *wanta =
	    replace_all(t3, "{{#Back Extra}}<div>{{Back Extra}}</div>{{/Back Extra}}", "");
	eq("io a", o.answer_html, wanta);
	assert_non_null(strstr(o.answer_html, "Toggle Masks"));
	free(t1);
	free(t2);
	free(t3);
	free(wantq);
	free(wanta);
	assert_int_equal(strlen(o.css), 392);
	render_out_free(&o);
	env_free(v);
}

static void test_special_fields_and_decks(void **state)
{
	(void)state;
	struct env *v = env_new();
	struct errinfo e = {0};
	struct notetype *nt = NULL;
	for (size_t i = 0; i < v->nnt; i++)
		if (strcmp(v->nts[i].name, "Basic") == 0)
			nt = &v->nts[i];
	assert_non_null(nt);
	free(nt->templates[0].cfg.q_format);
	nt->templates[0].cfg.q_format =
	    strdup("{{Front}}|{{Tags}}|{{Type}}|{{Deck}}|{{Subdeck}}|{{Card}}|{{CardFlag}}|"
	           "{{#c1}}c1{{/c1}}{{^c2}}!c2{{/c2}}|{{text:Back}}");
	assert_int_equal(col_begin(v->c, &e), ST_OK);
	if (col_store_notetype(v->c, nt, COL_STORE_NORMAL, &e) != ST_OK)
		fail_msg("store notetype: %s", e.msg);
	assert_int_equal(col_commit(v->c, &e), ST_OK);
	int64_t cids[8];
	size_t nc;
	add_note(v, nt, "f\x1f<b>b</b>", " zeta alpha ", cids, &nc);
	struct card cd;
	assert_int_equal(col_card_get(v->c, cids[0], &cd, &e), ST_OK);
	cd.flags = 2;
	assert_int_equal(col_begin(v->c, &e), ST_OK);
	assert_int_equal(col_card_update(v->c, &cd, &e), ST_OK);
	assert_int_equal(col_commit(v->c, &e), ST_OK);
	struct render_out o;
	rc(v, cids[0], &o);
	eq("special", o.question_html, "f|alpha zeta|Basic|Default|Default|Card 1|flag2|c1!c2|b");
	render_out_free(&o);

	/* in a filtered deck (here: a deck id that does not exist), {{Deck}}
	 * is the home deck while deck_name is where the card is now */
	cd.did = 987654321;
	cd.odid = 1;
	assert_int_equal(col_begin(v->c, &e), ST_OK);
	assert_int_equal(col_card_update(v->c, &cd, &e), ST_OK);
	assert_int_equal(col_commit(v->c, &e), ST_OK);
	rc(v, cids[0], &o);
	assert_non_null(strstr(o.question_html, "|Default|Default|"));
	assert_null(o.deck_name);
	render_out_free(&o);
	cd.did = 987654321;
	cd.odid = 0;
	assert_int_equal(col_begin(v->c, &e), ST_OK);
	assert_int_equal(col_card_update(v->c, &cd, &e), ST_OK);
	assert_int_equal(col_commit(v->c, &e), ST_OK);
	rc(v, cids[0], &o);
	assert_non_null(strstr(o.question_html, "|(Deck)|(Deck)|"));
	render_out_free(&o);
	card_free(&cd);

	/* missing card */
	assert_int_equal(render_card(v->c, 42, &o, &e), ST_NOTFOUND);
	env_free(v);
}

static void test_card_gen_ords(void **state)
{
	(void)state;
	struct env *v = env_new();
	static const struct {
		const char *nt, *flds, *tags;
		size_t n;
		uint32_t ords[4];
		bool fallback;
	} c[] = {
	    {"Basic",
	     "a\x1f"
	     "b",
	     "",
	     1,
	     {0},
	     false},
	    {"Basic",
	     "\x1f"
	     "b",
	     "",
	     0,
	     {0},
	     true},
	    {"Basic",
	     "<br> \x1f"
	     "b",
	     "",
	     0,
	     {0},
	     true},
	    {"Basic (and reversed card)",
	     "a\x1f"
	     "b",
	     "",
	     2,
	     {0, 1},
	     false},
	    {"Basic (and reversed card)",
	     "\x1f"
	     "b",
	     "",
	     1,
	     {1},
	     false},
	    {"Basic (optional reversed card)",
	     "a\x1f"
	     "b\x1fx",
	     "",
	     2,
	     {0, 1},
	     false},
	    {"Basic (optional reversed card)", "a\x1f\x1fx", "", 1, {0}, false},
	    {"Basic (type in the answer)",
	     "\x1f"
	     "b",
	     "",
	     1,
	     {0},
	     false}, /* {{type:Back}} */
	    {"Basic (type in the answer)", "\x1f", "", 0, {0}, true},
	    {"Cloze", "{{c2::a}} {{c600::b}}\x1f{{c1::c}}", "", 3, {0, 1, 499}, false},
	    {"Cloze", "none\x1f", "", 0, {0}, true},
	    {"Image Occlusion",
	     "{{c3::image-occlusion:rect:left=1}}\x1f\x1f\x1f\x1f",
	     "",
	     1,
	     {2},
	     false},
	};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		struct cardgen_ords o;
		const char *f = c[i].flds;
		assert_int_equal(
		    render_card_gen_ords(nt_named(v, c[i].nt), f, strlen(f), c[i].tags, &o, NULL),
		    ST_OK);
		if (o.n != c[i].n)
			fail_msg("case %zu: %zu ords, want %zu", i, o.n, c[i].n);
		for (size_t k = 0; k < o.n; k++)
			assert_int_equal(o.v[k], c[i].ords[k]);
		assert_int_equal(o.fallback_ord0, c[i].fallback);
		cardgen_ords_free(&o);
	}
	env_free(v);
}

static void test_fixtures(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	struct fixcol *cols;
	int ncols = fixcol_all(dir, &cols);
	int opened = 0, cards = 0, blank = 0, sound = 0, cloze = 0, mismatched = 0;
	for (int i = 0; i < ncols; i++) {
		struct col *c = NULL;
		struct errinfo e = {0};
		enum status st = col_open_copy(cols[i].path, &c, &e);
		if (st == ST_VERSION)
			continue; /* schema1-alpha: Anki refuses it too */
		if (st != ST_OK)
			fail_msg("%s: %s", cols[i].label, e.msg);
		opened++;
		sqlite3_stmt *q;
		assert_int_equal(
		    sqlite3_prepare_v2(col_db(c), "select id from cards order by id", -1, &q, NULL),
		    SQLITE_OK);
		while (sqlite3_step(q) == SQLITE_ROW) {
			int64_t cid = sqlite3_column_int64(q, 0);
			struct render_out o;
			if (render_card(c, cid, &o, &e) != ST_OK)
				fail_msg("%s card %lld: %s", cols[i].label, (long long)cid, e.msg);
			if (o.template_error)
				fail_msg("%s card %lld: %s", cols[i].label, (long long)cid,
				         o.question_html);
			assert_true(strncmp(o.question, "<style>", 7) == 0);
			assert_true(text_utf8_valid(o.answer, strlen(o.answer)));
			cards++;
			blank += o.is_empty;
			sound += o.nav_question > 0;
			cloze += strstr(o.question_html, "class=\"cloze\"") != NULL;
			/* an existing card that generation would not make is blank */
			struct card cd;
			struct note n;
			struct notetype nt;
			assert_int_equal(col_card_get(c, cid, &cd, NULL), ST_OK);
			assert_int_equal(col_note_get(c, cd.nid, &n, NULL), ST_OK);
			assert_int_equal(col_load_notetype(c, n.mid, &nt, NULL), ST_OK);
			struct cardgen_ords ords;
			assert_int_equal(
			    render_card_gen_ords(&nt, n.flds, strlen(n.flds), n.tags, &ords, NULL),
			    ST_OK);
			bool gen = false;
			for (size_t k = 0; k < ords.n; k++)
				gen |= ords.v[k] == (uint32_t)cd.ord;
			if (gen == o.is_empty) {
				mismatched++;
				print_message("%s card %lld ord %d: generated %d, blank %d\n",
				              cols[i].label, (long long)cid, cd.ord, gen,
				              o.is_empty);
			}
			cardgen_ords_free(&ords);
			notetype_free(&nt);
			note_free(&n);
			card_free(&cd);
			render_out_free(&o);
		}
		sqlite3_finalize(q);
		col_close(c);
	}
	print_message("fixtures: %d collections, %d cards rendered, %d blank, %d with sound, "
	              "%d with an active cloze, %d generation/blank mismatches\n",
	              opened, cards, blank, sound, cloze, mismatched);
	assert_int_equal(mismatched, 0);
	/* every collection but schema1-alpha; 524 cards, none blank; the
	 * notes with sound tags (media.apkg, schema11-mediacheck) have a play
	 * marker; 7 cloze and image occlusion cards show an active cloze */
	assert_int_equal(opened, 21);
	assert_int_equal(cards, 524);
	assert_int_equal(blank, 0);
	assert_int_equal(sound, 2);
	assert_int_equal(cloze, 7);
	free(cols);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stock_basic),
	    cmocka_unit_test(test_stock_cloze),
	    cmocka_unit_test(test_stock_image_occlusion),
	    cmocka_unit_test(test_special_fields_and_decks),
	    cmocka_unit_test(test_card_gen_ords),
	    cmocka_unit_test(test_fixtures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
