/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_ac_collection.c - the collection helpers anki-connectd added to the
 * library: the deck tree (col_decks.h), adding notes with their cards and
 * Anki's first-field check (col_notegen.h), and notetype changes with
 * their effect on notes and cards (col_ntedit.h).  On a new collection and
 * on a real one (v18-two-decks-revlog), each checked with col_check.
 */
#include "testutil.h"

#include "col.h"
#include "col_check.h"
#include "col_decks.h"
#include "col_notegen.h"
#include "col_notes.h"
#include "col_ntedit.h"
#include "col_store.h"

struct fx {
	char *dir;
	struct col *c;
};

static int setup_new(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->dir = tu_mkdtemp();
	char p[4200];
	snprintf(p, sizeof p, "%s/collection.anki2", f->dir);
	if (col_open(p, COL_CREATE | COL_SHARED, &f->c, NULL))
		return -1;
	*state = f;
	return 0;
}

static int setup_fixture(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->dir = tu_mkdtemp();
	char p[4200];
	snprintf(p, sizeof p, "%s/collection.anki2", f->dir);
	tu_copy(tu_fixture("v18-two-decks-revlog.anki2"), p);
	if (col_open(p, COL_SHARED, &f->c, NULL))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct col_check_report r;
	memset(&r, 0, sizeof r);
	int bad = col_check_run(f->c, &r, NULL) != ST_OK || r.nproblems != 0;
	for (size_t i = 0; i < r.nlisted; i++)
		fprintf(stderr, "problem: %s\n", r.problems[i]);
	col_check_report_free(&r);
	col_close(f->c);
	tu_rmtree(f->dir);
	free(f);
	return bad ? -1 : 0;
}

static int64_t scalar(struct col *c, const char *sql, int64_t arg)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(col_db(c), sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, arg);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return v;
}

static int64_t model_id(struct col *c, const char *name)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(col_db(c), "select id from notetypes where name = ?1",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

static int64_t add(struct col *c, const char *model, const char *flds, const char *tags,
                   int64_t did)
{
	struct col_ntinfo nt;
	assert_int_equal(col_ntinfo_load(c, model_id(c, model), &nt, NULL), ST_OK);
	struct note n;
	memset(&n, 0, sizeof n);
	n.flds = strdup(flds);
	n.tags = strdup(tags);
	struct errinfo e;
	assert_int_equal(col_begin(c, NULL), ST_OK);
	enum status st = col_notegen_add(c, &nt, &n, did, &e);
	if (st)
		fail_msg("add: %s", e.msg);
	assert_int_equal(col_commit(c, NULL), ST_OK);
	int64_t id = n.id;
	note_free(&n);
	col_ntinfo_free(&nt);
	return id;
}

static void test_deck_tree(void **state)
{
	struct fx *f = *state;
	struct col *c = f->c;
	int64_t ab, a, x;
	bool created;
	assert_int_equal(col_begin(c, NULL), ST_OK);
	assert_int_equal(col_decks_get_or_create(c, "A::B", &ab, &created, NULL), ST_OK);
	assert_true(created);
	assert_int_equal(col_decks_find(c, "a", &a, NULL), ST_OK);
	assert_int_equal(col_decks_get_or_create(c, " a :: b ", &x, &created, NULL), ST_OK);
	assert_false(created);
	assert_int_equal(x, ab);
	assert_int_equal(col_decks_get_or_create(c, "a::C", &x, NULL, NULL), ST_OK);
	char *name;
	assert_int_equal(col_decks_name(c, x, &name, NULL), ST_OK);
	assert_string_equal(name, "A::C"); /* the parent's spelling */
	free(name);
	assert_int_equal(col_decks_find(c, "Nope", &x, NULL), ST_NOTFOUND);
	int64_t *ids;
	size_t n;
	assert_int_equal(col_decks_with_children(c, a, &ids, &n, NULL), ST_OK);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], a);
	free(ids);
	struct col_deck_list l;
	assert_int_equal(col_decks_list(c, &l, NULL), ST_OK);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].name, "A");
	assert_string_equal(l.v[1].name, "A::B");
	assert_string_equal(l.v[3].name, "Default");
	col_deck_list_free(&l);
	assert_int_equal(col_commit(c, NULL), ST_OK);
	int64_t nid = add(c, "Basic",
	                  "front\x1f"
	                  "back",
	                  "", ab);
	assert_int_equal(col_begin(c, NULL), ST_OK);
	size_t ncards;
	int64_t del[2] = {a, 1};
	assert_int_equal(col_decks_remove(c, del, 2, &ncards, NULL), ST_OK);
	assert_int_equal(col_commit(c, NULL), ST_OK);
	assert_int_equal(ncards, 1);
	assert_int_equal(scalar(c, "select count() from notes where id = ?1", nid), 0);
	assert_int_equal(scalar(c, "select count() from decks where id > ?1", 0), 1);
	assert_int_equal(scalar(c, "select count() from graves where type = 2 and ?1", 1), 3);
	assert_int_equal(scalar(c, "select count() from decks where id = ?1", 1), 1);
}

static void test_add_and_check(void **state)
{
	struct fx *f = *state;
	struct col *c = f->c;
	int64_t nid = add(c, "Basic (and reversed card)",
	                  "dog\x1f"
	                  "Hund",
	                  " b a ", 1);
	assert_int_equal(scalar(c, "select count() from cards where nid = ?1", nid), 2);
	assert_int_equal(scalar(c, "select count(distinct due) from cards where nid = ?1", nid), 1);
	/* the same first field for the same notetype is a duplicate */
	struct col_ntinfo nt;
	assert_int_equal(col_ntinfo_load(c, model_id(c, "Basic (and reversed card)"), &nt, NULL),
	                 ST_OK);
	static const struct {
		const char *flds;
		enum col_fields_state want;
	} cases[] = {
	    {"<b>dog</b>\x1f", COL_FIELDS_DUPLICATE},
	    {"dogs\x1f", COL_FIELDS_NORMAL},
	    {" <br> \x1f"
	     "x",
	     COL_FIELDS_EMPTY},
	    {"{{c1::dog}}\x1f", COL_FIELDS_NOTETYPE_NOT_CLOZE},
	    {"&nbsp;\x1f", COL_FIELDS_EMPTY},
	    {"<img src=\"a.jpg\">\x1f", COL_FIELDS_NORMAL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct note n;
		memset(&n, 0, sizeof n);
		n.mid = nt.nt.id;
		n.flds = (char *)cases[i].flds;
		enum col_fields_state s;
		assert_int_equal(col_note_fields_check(c, &nt, &n, &s, NULL), ST_OK);
		assert_int_equal(s, cases[i].want);
	}
	col_ntinfo_free(&nt);
	assert_int_equal(col_ntinfo_load(c, model_id(c, "Cloze"), &nt, NULL), ST_OK);
	assert_int_equal(nt.ncloze_fields, 1);
	static const struct {
		const char *flds;
		enum col_fields_state want;
	} cz[] = {
	    {"{{c1::a}}\x1f", COL_FIELDS_NORMAL},
	    {"plain\x1f", COL_FIELDS_MISSING_CLOZE},
	    {"x\x1f{{c1::b}}", COL_FIELDS_FIELD_NOT_CLOZE},
	    {"\x1f{{c1::b}}", COL_FIELDS_FIELD_NOT_CLOZE}, /* wins over the empty field */
	};
	for (size_t i = 0; i < sizeof cz / sizeof cz[0]; i++) {
		struct note n;
		memset(&n, 0, sizeof n);
		n.mid = nt.nt.id;
		n.flds = (char *)cz[i].flds;
		enum col_fields_state s;
		assert_int_equal(col_note_fields_check(c, &nt, &n, &s, NULL), ST_OK);
		assert_int_equal(s, cz[i].want);
	}
	col_ntinfo_free(&nt);
	int64_t cl = add(c, "Cloze", "{{c2::a}} {{c5::b}}\x1f", "", 1);
	assert_int_equal(scalar(c, "select sum(ord) from cards where nid = ?1", cl), 1 + 4);
	/* a note whose fronts are all empty still gets card 0 */
	int64_t opt = add(c, "Basic (optional reversed card)", "f\x1f\x1f", "", 1);
	assert_int_equal(scalar(c, "select count() from cards where nid = ?1", opt), 1);
	/* editing the note so template 2 renders adds its card, same position */
	struct note n;
	assert_int_equal(col_note_get(c, opt, &n, NULL), ST_OK);
	free(n.flds);
	n.flds = strdup("f\x1f"
	                "b\x1fy");
	assert_int_equal(col_ntinfo_load(c, n.mid, &nt, NULL), ST_OK);
	assert_int_equal(col_begin(c, NULL), ST_OK);
	assert_int_equal(col_note_update(c, &n, NULL), ST_OK);
	size_t added;
	assert_int_equal(col_notegen_missing_cards(c, &nt, &n, 0, &added, NULL), ST_OK);
	assert_int_equal(col_commit(c, NULL), ST_OK);
	assert_int_equal(added, 1);
	assert_int_equal(scalar(c, "select count(distinct due) from cards where nid = ?1", opt), 1);
	col_ntinfo_free(&nt);
	note_free(&n);
	/* config the way Anki leaves it after adding */
	json_t *v;
	assert_int_equal(col_config_get(c, "curModel", &v, NULL), ST_OK);
	assert_int_equal(json_integer_value(v), model_id(c, "Basic (optional reversed card)"));
	json_decref(v);
}

static void test_template_text(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(col_template_rename_field("{{Front}} {{text:Front}} {{#Front}}x{{/Front}} "
	                                           "<!-- {{Front}} --> {{Frontier}}",
	                                           "Front", "Q", &b, NULL),
	                 ST_OK);
	assert_string_equal((const char *)b.data,
	                    "{{Q}} {{text:Q}} {{#Q}}x{{/Q}} <!-- {{Front}} --> {{Frontier}}");
	assert_int_equal(
	    col_template_rename_field("a{{Back}}b{{^Back}}c{{/Back}}d", "Back", NULL, &b, NULL),
	    ST_OK);
	assert_string_equal((const char *)b.data, "abcd");
	assert_int_equal(col_template_rename_field("{{#x}}", "x", "y", &b, NULL), ST_OK);
	assert_string_equal((const char *)b.data, "{{#x}}"); /* unparsable: unchanged */
	buf_free(&b);
	char **names = NULL;
	size_t n = 0;
	assert_int_equal(col_template_fields("{{a}}{{cloze:b}}{{#c}}{{/c}}{{#c1}}{{/c1}}{{a}}",
	                                     false, &names, &n, NULL),
	                 ST_OK);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");
	assert_string_equal(names[2], "c");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	names = NULL;
	n = 0;
	assert_int_equal(col_template_fields("{{a}}{{cloze:b}}", true, &names, &n, NULL), ST_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "b");
	free(names[0]);
	free(names);
	names = NULL;
	n = 0;
	assert_int_equal(col_template_fields("{{/x}}", false, &names, &n, NULL), ST_INVALID);
}

static void test_notetype_changes(void **state)
{
	struct fx *f = *state;
	struct col *c = f->c;
	int64_t mid = model_id(c, "Basic");
	int64_t nid = add(c, "Basic",
	                  "front\x1f"
	                  "back",
	                  "", 1);
	assert_int_equal(col_exec(c, "update col set scm = 0", NULL), ST_OK);
	struct col_ntedit ed;
	/* add a field at the front and a template using it */
	assert_int_equal(col_ntedit_load(c, mid, &ed, NULL), ST_OK);
	assert_int_equal(col_ntedit_field_add(&ed, "Hint", NULL), ST_OK);
	assert_int_equal(col_ntedit_field_move(&ed, 2, 0, NULL), ST_OK);
	assert_int_equal(col_ntedit_template_add(&ed, "Rev", "{{Back}}", "{{Front}}", NULL), ST_OK);
	assert_int_equal(col_begin(c, NULL), ST_OK);
	assert_int_equal(col_ntedit_save(c, &ed, NULL), ST_OK);
	assert_int_equal(col_commit(c, NULL), ST_OK);
	col_ntedit_free(&ed);
	struct note n;
	assert_int_equal(col_note_get(c, nid, &n, NULL), ST_OK);
	assert_string_equal(n.flds, "\x1f"
	                            "front\x1f"
	                            "back");
	assert_string_equal(n.sfld, "front"); /* the sort field followed Front */
	note_free(&n);
	assert_int_equal(scalar(c, "select count() from cards where nid = ?1", nid), 2);
	struct col_meta m1;
	assert_int_equal(col_meta_get(c, &m1, NULL), ST_OK);
	assert_true(m1.scm > 0); /* a structural change forces a full sync */
	/* swap the templates: cards follow */
	assert_int_equal(col_ntedit_load(c, mid, &ed, NULL), ST_OK);
	assert_int_equal(col_ntedit_template_move(&ed, 1, 0, NULL), ST_OK);
	assert_int_equal(col_begin(c, NULL), ST_OK);
	assert_int_equal(col_ntedit_save(c, &ed, NULL), ST_OK);
	assert_int_equal(col_commit(c, NULL), ST_OK);
	col_ntedit_free(&ed);
	/* the card made for "Rev" is now ord 0 */
	assert_int_equal(scalar(c,
	                        "select max(id) = (select id from cards where nid = ?1 and ord = 0)"
	                        " from cards where nid = ?1",
	                        nid),
	                 1);
	/* a refused change writes nothing */
	assert_int_equal(col_ntedit_load(c, mid, &ed, NULL), ST_OK);
	free(ed.nt.templates[0].cfg.q_format);
	ed.nt.templates[0].cfg.q_format = strdup("no fields here");
	struct errinfo e;
	assert_int_equal(col_begin(c, NULL), ST_OK);
	assert_int_equal(col_ntedit_save(c, &ed, &e), ST_INVALID);
	col_rollback(c);
	assert_string_equal(e.msg,
	                    "Card template 1 in note type 'Basic' has a problem.<br>Expected "
	                    "to find a field replacement on the front of the card template.");
	col_ntedit_free(&ed);
	/* rename and remove a field: templates rewritten, contents dropped */
	assert_int_equal(col_ntedit_load(c, mid, &ed, NULL), ST_OK);
	free(ed.nt.fields[2].name);
	ed.nt.fields[2].name = strdup("Answer");
	assert_int_equal(col_ntedit_field_remove(&ed, 0, NULL), ST_OK);
	assert_int_equal(col_begin(c, NULL), ST_OK);
	assert_int_equal(col_ntedit_save(c, &ed, &e), ST_OK);
	assert_int_equal(col_commit(c, NULL), ST_OK);
	assert_string_equal(ed.nt.templates[0].cfg.q_format, "{{Answer}}");
	col_ntedit_free(&ed);
	assert_int_equal(col_note_get(c, nid, &n, NULL), ST_OK);
	assert_string_equal(n.flds, "front\x1f"
	                            "back");
	note_free(&n);
	/* remove a template: its cards go */
	assert_int_equal(col_ntedit_load(c, mid, &ed, NULL), ST_OK);
	assert_int_equal(col_ntedit_template_remove(&ed, 0, NULL), ST_OK);
	assert_int_equal(col_begin(c, NULL), ST_OK);
	assert_int_equal(col_ntedit_save(c, &ed, NULL), ST_OK);
	assert_int_equal(col_commit(c, NULL), ST_OK);
	col_ntedit_free(&ed);
	assert_int_equal(scalar(c, "select count() from cards where nid = ?1", nid), 1);
	assert_int_equal(scalar(c, "select max(ord) from cards where nid = ?1", nid), 0);
	/* a new notetype: names cleaned and made unique, Anki's "-xxxxx" on a clash */
	struct notetype nt;
	assert_int_equal(col_ntedit_new_notetype(&nt, "basic", false, NULL), ST_OK);
	memset(&ed, 0, sizeof ed);
	ed.nt = nt;
	assert_int_equal(col_ntedit_field_add(&ed, "A", NULL), ST_OK);
	assert_int_equal(col_ntedit_field_add(&ed, "a", NULL), ST_OK);
	assert_int_equal(col_ntedit_template_add(&ed, "T", "{{A}}", "", NULL), ST_OK);
	assert_int_equal(col_begin(c, NULL), ST_OK);
	assert_int_equal(col_ntedit_add_new(c, &ed.nt, &e), ST_OK);
	assert_int_equal(col_commit(c, NULL), ST_OK);
	assert_int_equal(strncmp(ed.nt.name, "basic-", 6), 0);
	assert_string_equal(ed.nt.fields[1].name, "a+");
	assert_int_equal(ed.nt.cfg.nreqs, 1);
	col_ntedit_free(&ed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_deck_tree, setup_new, teardown),
	    cmocka_unit_test_setup_teardown(test_add_and_check, setup_new, teardown),
	    cmocka_unit_test_setup_teardown(test_add_and_check, setup_fixture, teardown),
	    cmocka_unit_test(test_template_text),
	    cmocka_unit_test_setup_teardown(test_notetype_changes, setup_new, teardown),
	    cmocka_unit_test_setup_teardown(test_notetype_changes, setup_fixture, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
