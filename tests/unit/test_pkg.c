/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_pkg.c - Anki packages on real files: every fixture .apkg imports
 * with the notes, cards, decks and media it holds; importing twice adds
 * nothing; Anki's update rules (newer notes win, older never overwrite,
 * notetype copies on structure changes, media renamed on clashes); export
 * -> import round trips into an empty collection keep notes, cards,
 * decks, notetypes, review log and media, in the latest and the legacy
 * format; and our packages have the members, encodings and collections
 * of the packages Anki writes (the fixtures).
 */
#include "testutil.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <zip.h>
#include <zstd.h>

#include "col.h"
#include "col_check.h"
#include "col_decks.h"
#include "col_model.h"
#include "col_notes.h"
#include "col_store.h"
#include "pkg.h"
#include "unicase.h"

static char *tmpdir;

static int setup(void **state)
{
	(void)state;
	tmpdir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(tmpdir);
	tmpdir = NULL;
	return 0;
}

static const char *tpath(const char *name)
{
	static char p[8][4096];
	static int k;
	k = (k + 1) % 8;
	snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
	return p[k];
}

/* A new collection tmpdir/<name>.anki2 (media folder <name>.media). */
static struct col *new_col(const char *name)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s.anki2", tmpdir, name);
	struct errinfo e;
	assert_int_equal(col_create(p, 0, &e), ST_OK);
	struct col *c;
	assert_int_equal(col_open(p, 0, &c, &e), ST_OK);
	return c;
}

static const char *media_dir(const char *name)
{
	return tpath(name); /* caller passes "<name>.media" */
}

static long long q1(struct col *c, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(col_db(c), sql, -1, &st, NULL), SQLITE_OK);
	long long v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* First column of the first row as a malloc'd string (NULL if none). */
static char *qs(struct col *c, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(col_db(c), sql, -1, &st, NULL), SQLITE_OK);
	char *v = NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void check_clean(struct col *c)
{
	struct col_check_report r;
	struct errinfo e;
	assert_int_equal(col_check_run(c, &r, &e), ST_OK);
	for (size_t i = 0; i < r.nlisted; i++)
		print_message("problem: %s\n", r.problems[i]);
	assert_int_equal(r.nproblems, 0);
	col_check_report_free(&r);
}

static enum status import(struct col *c, const char *pkg, const char *mdir, bool sched,
                          struct pkg_import_result *r)
{
	struct pkg_import_opts o = {.with_scheduling = sched};
	struct errinfo e = {0};
	enum status st = pkg_import(c, pkg, mdir, &o, r, &e);
	if (st)
		print_message("import %s: %s\n", pkg, e.msg);
	return st;
}

static void sha1_file(const char *path, unsigned char out[20])
{
	size_t n = 0;
	char *d = tu_read_file(path, &n);
	assert_non_null(d);
	unsigned int l;
	EVP_Digest(d, n, out, &l, EVP_sha1(), NULL);
	free(d);
}

/* ---- fixtures ----------------------------------------------------------- */

struct fx {
	const char *file;
	int version;
	long long notes, cards, revlog_sched;
	const char *deck; /* a deck the cards land in (human name) or NULL = Default */
	const char *media[3];
	size_t media_bytes[3];
};

static const struct fx fixtures[] = {
    {"media.apkg", 1, 1, 1, 0, NULL, {"foo.wav"}, {0}},
    {"update1.apkg", 1, 1, 1, 0, NULL, {NULL}, {0}},
    {"update2.apkg", 1, 1, 1, 0, NULL, {NULL}, {0}},
    {"diffmodels2-1.apkg", 1, 1, 1, 0, NULL, {NULL}, {0}},
    {"diffmodels2-2.apkg", 1, 1, 2, 0, NULL, {NULL}, {0}},
    {"diffmodeltemplates-1.apkg",
     1,
     1,
     1,
     0,
     "testdeck",
     {"_IncrementalReadingExtension.dat", "_ViewSizeAdjustAddon.dat"},
     {0}},
    {"diffmodeltemplates-2.apkg",
     1,
     1,
     1,
     0,
     "testdeck",
     {"_IncrementalReadingExtension.dat", "_ViewSizeAdjustAddon.dat"},
     {0}},
    {"latest-20notes.apkg", 3, 20, 20, 0, "MCP Reviewer Demo", {NULL}, {0}},
    {"latest-459notes-revlog.apkg", 3, 459, 459, 3, "英语词汇学习", {NULL}, {0}},
    {"legacy2-fsrs-revlog-media.apkg",
     2,
     8,
     13,
     26,
     "Test - Mixed Types",
     {"paste-ab21b25dd3e4ba4af2a1d8bdfa4c47455e53abac.jpg"},
     {10701}},
};

static long long cards_in_deck(struct col *c, const char *human)
{
	int64_t did = 1;
	struct errinfo e;
	if (human)
		assert_int_equal(col_decks_find(c, human, &did, &e), ST_OK);
	char sql[128];
	snprintf(sql, sizeof sql, "select count(*) from cards where did = %lld", (long long)did);
	return q1(c, sql);
}

static void test_fixtures_import(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
		const struct fx *f = &fixtures[i];
		if (!tu_have_fixture(f->file))
			skip();
		char name[64], md[80];
		snprintf(name, sizeof name, "fx%zu", i);
		snprintf(md, sizeof md, "fx%zu.media", i);
		struct col *c = new_col(name);
		long long nt0 = q1(c, "select count(*) from notetypes");
		struct pkg_import_result r;
		assert_int_equal(import(c, tu_fixture(f->file), NULL, false, &r), ST_OK);
		assert_int_equal(r.version, f->version);
		assert_int_equal(r.notes_found, f->notes);
		assert_int_equal(r.notes_added, f->notes);
		assert_int_equal(r.cards_added, f->cards);
		assert_int_equal(q1(c, "select count(*) from notes"), f->notes);
		assert_int_equal(q1(c, "select count(*) from cards"), f->cards);
		assert_int_equal(q1(c, "select count(*) from revlog"), 0);
		assert_true(q1(c, "select count(*) from notetypes") > nt0);
		assert_int_equal(cards_in_deck(c, f->deck), f->cards);
		/* without scheduling every card is new */
		assert_int_equal(q1(c, "select count(*) from cards where type != 0 or queue != 0"),
		                 0);
		size_t nmedia = 0;
		for (int k = 0; k < 3 && f->media[k]; k++, nmedia++) {
			char p[4200];
			snprintf(p, sizeof p, "%s/%s", media_dir(md), f->media[k]);
			struct stat sb;
			assert_int_equal(stat(p, &sb), 0);
			if (f->media_bytes[k])
				assert_int_equal(sb.st_size, f->media_bytes[k]);
		}
		assert_int_equal(r.media_added, nmedia);
		assert_int_equal(count_files(media_dir(md)), nmedia);
		check_clean(c);

		/* the same package again duplicates nothing */
		assert_int_equal(import(c, tu_fixture(f->file), NULL, false, &r), ST_OK);
		assert_int_equal(r.notes_added, 0);
		assert_int_equal(r.notes_updated, 0);
		assert_int_equal(r.notes_duplicate, f->notes);
		assert_int_equal(r.cards_added, 0);
		assert_int_equal(r.notetypes_added, 0);
		assert_int_equal(r.decks_added, 0);
		assert_int_equal(r.media_added, 0);
		assert_int_equal(q1(c, "select count(*) from notes"), f->notes);
		assert_int_equal(q1(c, "select count(*) from cards"), f->cards);
		assert_int_equal(count_files(media_dir(md)), nmedia);
		col_close(c);

		/* with scheduling: review state and review log come along */
		snprintf(name, sizeof name, "fxs%zu", i);
		c = new_col(name);
		assert_int_equal(import(c, tu_fixture(f->file), NULL, true, &r), ST_OK);
		assert_int_equal(r.revlog_added, f->revlog_sched);
		assert_int_equal(q1(c, "select count(*) from revlog"), f->revlog_sched);
		assert_int_equal(q1(c, "select count(*) from cards"), f->cards);
		check_clean(c);
		col_close(c);
	}
}

static void test_legacy2_scheduling_kept(void **state)
{
	(void)state;
	if (!tu_have_fixture("legacy2-fsrs-revlog-media.apkg"))
		skip();
	struct col *c = new_col("l2");
	struct pkg_import_result r;
	assert_int_equal(import(c, tu_fixture("legacy2-fsrs-revlog-media.apkg"), NULL, true, &r),
	                 ST_OK);
	/* all 13 cards were in review with FSRS memory state */
	assert_int_equal(q1(c, "select count(*) from cards where type = 2 and queue = 2"), 13);
	assert_int_equal(q1(c, "select count(*) from cards where data like '%\"s\":%'"), 13);
	/* the image occlusion note refers to the imported image */
	assert_int_equal(q1(c,
	                    "select count(*) from notes where flds like "
	                    "'%<img src=\"paste-ab21b25dd3e4ba4af2a1d8bdfa4c47455e53abac.jpg\">%'"),
	                 1);
	/* the review log entries point at imported cards */
	assert_int_equal(
	    q1(c, "select count(*) from revlog where cid not in (select id from cards)"), 0);
	col_close(c);
}

/* ---- Anki's update rules ---------------------------------------------- */

static void test_update_rules(void **state)
{
	(void)state;
	if (!tu_have_fixture("update1.apkg") || !tu_have_fixture("update2.apkg"))
		skip();
	struct pkg_import_result r;
	struct col *c = new_col("u");
	assert_int_equal(import(c, tu_fixture("update1.apkg"), NULL, false, &r), ST_OK);
	char *f = qs(c, "select flds from notes");
	assert_string_equal(f, "hello\x1fworld");
	free(f);
	/* the newer note replaces it, keeping its mtime */
	assert_int_equal(import(c, tu_fixture("update2.apkg"), NULL, false, &r), ST_OK);
	assert_int_equal(r.notes_updated, 1);
	assert_int_equal(r.notes_added, 0);
	f = qs(c, "select flds from notes");
	assert_string_equal(f, "goodbye\x1fworld");
	free(f);
	assert_int_equal(q1(c, "select mod from notes"), 1375933856);
	assert_int_equal(q1(c, "select usn from notes"), -1);
	/* the older one does not overwrite the newer */
	assert_int_equal(import(c, tu_fixture("update1.apkg"), NULL, false, &r), ST_OK);
	assert_int_equal(r.notes_updated, 0);
	assert_int_equal(r.notes_duplicate, 1);
	f = qs(c, "select flds from notes");
	assert_string_equal(f, "goodbye\x1fworld");
	free(f);
	/* "always" takes any other mtime, "never" none */
	struct pkg_import_opts o = {.update_notes = PKG_UPDATE_ALWAYS};
	struct errinfo e;
	assert_int_equal(pkg_import(c, tu_fixture("update1.apkg"), NULL, &o, &r, &e), ST_OK);
	assert_int_equal(r.notes_updated, 1);
	f = qs(c, "select flds from notes");
	assert_string_equal(f, "hello\x1fworld");
	free(f);
	o.update_notes = PKG_UPDATE_NEVER;
	assert_int_equal(pkg_import(c, tu_fixture("update2.apkg"), NULL, &o, &r, &e), ST_OK);
	assert_int_equal(r.notes_updated, 0);
	f = qs(c, "select flds from notes");
	assert_string_equal(f, "hello\x1fworld");
	free(f);
	assert_int_equal(q1(c, "select count(*) from notes"), 1);
	assert_int_equal(q1(c, "select count(*) from cards"), 1);
	check_clean(c);
	col_close(c);

	/* newer first: the older package changes nothing */
	c = new_col("u2");
	assert_int_equal(import(c, tu_fixture("update2.apkg"), NULL, false, &r), ST_OK);
	assert_int_equal(import(c, tu_fixture("update1.apkg"), NULL, false, &r), ST_OK);
	assert_int_equal(r.notes_duplicate, 1);
	f = qs(c, "select flds from notes");
	assert_string_equal(f, "goodbye\x1fworld");
	free(f);
	col_close(c);
}

static void test_notetype_rules(void **state)
{
	(void)state;
	if (!tu_have_fixture("diffmodels2-1.apkg") || !tu_have_fixture("diffmodeltemplates-2.apkg"))
		skip();
	struct pkg_import_result r;
	struct col *c = new_col("nt");
	long long nt0 = q1(c, "select count(*) from notetypes");
	assert_int_equal(import(c, tu_fixture("diffmodels2-1.apkg"), NULL, false, &r), ST_OK);
	assert_int_equal(r.notetypes_added, 1);
	/* same notetype id, one more template: a copy under a new id; the
	 * note (same guid, now another notetype) is skipped */
	assert_int_equal(import(c, tu_fixture("diffmodels2-2.apkg"), NULL, false, &r), ST_OK);
	assert_int_equal(r.notetypes_added, 1);
	assert_int_equal(r.notes_conflicting, 1);
	assert_int_equal(r.notes_added, 0);
	assert_int_equal(q1(c, "select count(*) from notetypes"), nt0 + 2);
	assert_int_equal(q1(c, "select count(*) from notes"), 1);
	assert_int_equal(q1(c, "select count(*) from cards"), 1);
	long long copy =
	    q1(c, "select id from notetypes where id != 1351338947208 order by id desc");
	assert_int_equal(q1(c, "select count(*) from templates where ntid = 1351338947208"), 1);
	char sql[160];
	snprintf(sql, sizeof sql, "select count(*) from templates where ntid = %lld", copy);
	assert_int_equal(q1(c, sql), 2);
	/* again: the earlier copy (same original id and structure) is reused */
	assert_int_equal(import(c, tu_fixture("diffmodels2-2.apkg"), NULL, false, &r), ST_OK);
	assert_int_equal(r.notetypes_added, 0);
	assert_int_equal(q1(c, "select count(*) from notetypes"), nt0 + 2);
	check_clean(c);
	col_close(c);

	/* same structure, newer templates: updated in place */
	c = new_col("nt2");
	assert_int_equal(import(c, tu_fixture("diffmodeltemplates-1.apkg"), NULL, false, &r),
	                 ST_OK);
	assert_int_equal(q1(c, "select mtime_secs from notetypes where id = 1403973847422"),
	                 1403978820);
	assert_int_equal(import(c, tu_fixture("diffmodeltemplates-2.apkg"), NULL, false, &r),
	                 ST_OK);
	assert_int_equal(r.notetypes_updated, 1);
	assert_int_equal(r.notetypes_added, 0);
	assert_int_equal(q1(c, "select mtime_secs from notetypes where id = 1403973847422"),
	                 1403979335);
	/* and an older one is not applied over it */
	assert_int_equal(import(c, tu_fixture("diffmodeltemplates-1.apkg"), NULL, false, &r),
	                 ST_OK);
	assert_int_equal(r.notetypes_updated, 0);
	assert_int_equal(q1(c, "select mtime_secs from notetypes where id = 1403973847422"),
	                 1403979335);
	col_close(c);
}

static void test_media_clash_renamed(void **state)
{
	(void)state;
	if (!tu_have_fixture("media.apkg"))
		skip();
	struct pkg_import_result r;
	struct col *c = new_col("mc");
	const char *md = media_dir("mc.media");
	mkdir(md, 0755);
	char p[4200];
	snprintf(p, sizeof p, "%s/foo.wav", md);
	tu_write_file(p, "another file with the same name");
	assert_int_equal(import(c, tu_fixture("media.apkg"), NULL, false, &r), ST_OK);
	assert_int_equal(r.media_added, 1);
	assert_int_equal(r.media_renamed, 1);
	/* the existing file is untouched; the package's goes to foo-<sha1>.wav */
	char *old = tu_read_file(p, NULL);
	assert_string_equal(old, "another file with the same name");
	free(old);
	char *flds = qs(c, "select flds from notes");
	assert_non_null(flds);
	assert_true(strncmp(flds, "[sound:foo-", 11) == 0);
	const char *nm = flds + 7;
	size_t nl = strcspn(nm, "]");
	assert_int_equal(nl, strlen("foo-") + 40 + strlen(".wav"));
	char np[4200];
	snprintf(np, sizeof np, "%s/%.*s", md, (int)nl, nm);
	unsigned char h[20];
	sha1_file(np, h);
	char hex[41];
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	assert_memory_equal(nm + 4, hex, 40); /* the name carries the content's SHA-1 */
	free(flds);
	assert_int_equal(count_files(md), 2);
	/* importing again copies nothing (the note is a duplicate) */
	assert_int_equal(import(c, tu_fixture("media.apkg"), NULL, false, &r), ST_OK);
	assert_int_equal(r.media_added, 0);
	assert_int_equal(count_files(md), 2);
	col_close(c);

	/* an identical file already present is reused under its name */
	c = new_col("ms");
	md = media_dir("ms.media");
	mkdir(md, 0755);
	zip_t *z = zip_open(tu_fixture("media.apkg"), ZIP_RDONLY, NULL);
	assert_non_null(z);
	zip_stat_t zs;
	assert_int_equal(zip_stat(z, "0", 0, &zs), 0);
	char *data = malloc(zs.size);
	zip_file_t *zf = zip_fopen(z, "0", 0);
	assert_int_equal(zip_fread(zf, data, zs.size), (zip_int64_t)zs.size);
	zip_fclose(zf);
	zip_discard(z);
	snprintf(p, sizeof p, "%s/foo.wav", md);
	FILE *fp = fopen(p, "wb");
	fwrite(data, 1, zs.size, fp);
	fclose(fp);
	free(data);
	assert_int_equal(import(c, tu_fixture("media.apkg"), NULL, false, &r), ST_OK);
	assert_int_equal(r.media_added, 0);
	assert_int_equal(r.media_renamed, 0);
	flds = qs(c, "select flds from notes");
	assert_string_equal(flds, "[sound:foo.wav]\x1f");
	free(flds);
	assert_int_equal(count_files(md), 1);
	col_close(c);
}

/* ---- round trips ---------------------------------------------------------- */

/* A source collection: decks Lang, Lang::French and Other; 30 notes (10
 * per deck) referencing media; some cards in review with review log;
 * tags incl. "marked"; Basic's CSS imports "_style.css". */
static struct col *make_source(const char *name, int64_t *lang)
{
	struct col *c = new_col(name);
	struct errinfo e;
	char md[4200];
	snprintf(md, sizeof md, "%s/%s.media", tmpdir, name);
	mkdir(md, 0755);
	assert_int_equal(col_begin(c, &e), ST_OK);
	int64_t did[3];
	const char *decks[3] = {"Lang", "Lang::French", "Other"};
	for (int i = 0; i < 3; i++)
		assert_int_equal(col_decks_get_or_create(c, decks[i], &did[i], NULL, &e), ST_OK);
	*lang = did[0];
	int64_t basic = q1(c, "select id from notetypes where name = 'Basic'");
	struct notetype nt;
	assert_int_equal(col_load_notetype(c, basic, &nt, &e), ST_OK);
	free(nt.cfg.css);
	nt.cfg.css = strdup("@import \"_style.css\";\n.card { color: black; }");
	assert_int_equal(col_store_notetype(c, &nt, COL_STORE_NORMAL, &e), ST_OK);
	notetype_free(&nt);
	char p[4300];
	snprintf(p, sizeof p, "%s/_style.css", md);
	tu_write_file(p, ".x { color: red }");
	for (int i = 0; i < 30; i++) {
		char flds[256];
		snprintf(flds, sizeof flds,
		         "front %d <img src=\"img %d.png\">\x1f"
		         "back %d [sound:snd%d.mp3] &amp; <b>bold</b>",
		         i, i, i, i);
		struct note n = {.mid = basic, .flds = strdup(flds)};
		n.tags = strdup(i % 3 == 0 ? "tag1 marked" : "tag2");
		assert_int_equal(col_note_add(c, &n, &e), ST_OK);
		struct card cd;
		int64_t pos;
		assert_int_equal(col_next_position(c, &pos, &e), ST_OK);
		card_init_new(&cd, n.id, did[i / 10], 0, pos);
		if (i % 2 == 0) { /* reviewed */
			cd.type = 2;
			cd.queue = 2;
			cd.due = 3 + i;
			cd.ivl = 7;
			cd.factor = 2500;
			cd.reps = 4;
			cd.lapses = 1;
		}
		assert_int_equal(col_card_add(c, &cd, &e), ST_OK);
		if (i % 2 == 0) {
			for (int k = 0; k < 2; k++) {
				struct revlog_entry rv = {.cid = cd.id,
				                          .ease = 3,
				                          .ivl = 7,
				                          .last_ivl = 3,
				                          .factor = 2500,
				                          .time = 1500,
				                          .type = 1};
				assert_int_equal(col_revlog_add(c, &rv, &e), ST_OK);
			}
		}
		card_free(&cd);
		note_free(&n);
		snprintf(p, sizeof p, "%s/img %d.png", md, i);
		char content[64];
		snprintf(content, sizeof content, "image bytes %d", i);
		tu_write_file(p, content);
		if (i % 4 != 3) { /* some sounds are missing: left out of the package */
			snprintf(p, sizeof p, "%s/snd%d.mp3", md, i);
			snprintf(content, sizeof content, "sound bytes %d", i);
			tu_write_file(p, content);
		}
	}
	assert_int_equal(col_commit(c, &e), ST_OK);
	return c;
}

/* Does table `t` of db a hold the same rows (for the given columns and
 * condition) as the attached "src"? */
static void same_rows(sqlite3 *db, const char *cols, const char *from_where_dst,
                      const char *from_where_src)
{
	char sql[1024];
	snprintf(sql, sizeof sql,
	         "select count(*) from (select %s from %s except select %s from %s)"
	         " union all select count(*) from (select %s from %s except select %s from %s)",
	         cols, from_where_dst, cols, from_where_src, cols, from_where_src, cols,
	         from_where_dst);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	for (int k = 0; k < 2; k++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		if (sqlite3_column_int64(st, 0) != 0)
			fail_msg("rows differ (%d): %s", k, sql);
	}
	sqlite3_finalize(st);
}

static void roundtrip(bool legacy)
{
	int64_t lang;
	struct col *src = make_source("src", &lang);
	struct errinfo e;
	char out[4096];
	snprintf(out, sizeof out, "%s", tpath("lang.apkg"));
	struct pkg_export_opts o = {.out_path = out,
	                            .deck_id = lang,
	                            .with_children = true,
	                            .with_scheduling = true,
	                            .with_media = true,
	                            .legacy = legacy};
	struct pkg_export_result xr;
	assert_int_equal(pkg_export(src, &o, &xr, &e), ST_OK);
	assert_int_equal(xr.notes, 20);
	assert_int_equal(xr.cards, 20);
	assert_int_equal(xr.revlog, 20);
	assert_int_equal(xr.decks, 2);
	assert_int_equal(xr.notetypes, 1);
	/* 20 images, 15 of the 20 sounds, the notetype's _style.css */
	assert_int_equal(xr.media, 20 + 15 + 1);
	col_close(src);

	struct col *dst = new_col("dst");
	struct pkg_import_result r;
	assert_int_equal(import(dst, o.out_path, NULL, true, &r), ST_OK);
	assert_int_equal(r.version, legacy ? 2 : 3);
	assert_int_equal(r.notes_added, 20);
	assert_int_equal(r.cards_added, 20);
	assert_int_equal(r.revlog_added, 20);
	assert_int_equal(r.notetypes_added, 1);
	assert_int_equal(r.decks_added, 2);
	assert_int_equal(r.media_added, 36);
	check_clean(dst);
	col_close(dst);

	/* compare with plain SQL, the source attached */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(tpath("dst.anki2"), &db), SQLITE_OK);
	assert_int_equal(unicase_register(db), SQLITE_OK);
	char sql[4400];
	snprintf(sql, sizeof sql, "attach '%s' as src", tpath("src.anki2"));
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	const char *src_notes =
	    "src.notes where id in (select nid from src.cards c join src.decks d on c.did = d.id"
	    " where d.name like 'Lang%')";
	same_rows(db, "id, guid, mod, tags, flds, sfld, csum", "main.notes", src_notes);
	char src_cards[512];
	snprintf(src_cards, sizeof src_cards,
	         "src.cards c join src.decks d on c.did = d.id where d.name like 'Lang%%'");
	same_rows(db,
	          "c.id, c.nid, c.ord, c.mod, c.type, c.queue, c.due, c.ivl, c.factor, c.reps,"
	          " c.lapses, c.left, c.odue, c.flags, c.data, d.name",
	          "main.cards c join main.decks d on c.did = d.id", src_cards);
	same_rows(db, "id, cid, ease, ivl, lastIvl, factor, time, type", "main.revlog",
	          "src.revlog where cid in (select c.id from src.cards c join src.decks d"
	          " on c.did = d.id where d.name like 'Lang%')");
	/* decks by name (ids are new), notetype structure by content */
	same_rows(db, "name", "main.decks where name like 'Lang%'",
	          "src.decks where name like 'Lang%'");
	same_rows(db, "f.ord, f.name",
	          "main.fields f join main.notetypes n on f.ntid = n.id"
	          " where n.name = 'Basic+'",
	          "src.fields f join src.notetypes n on f.ntid = n.id where n.name = 'Basic'");
	same_rows(db, "t.ord, t.name",
	          "main.templates t join main.notetypes n on t.ntid = n.id"
	          " where n.name = 'Basic+'",
	          "src.templates t join src.notetypes n on t.ntid = n.id where n.name = 'Basic'");
	sqlite3_close(db);

	/* every media file arrived with the same bytes */
	DIR *d = opendir(tpath("src.media"));
	struct dirent *de;
	size_t compared = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int num = -1;
		if (sscanf(de->d_name, "img %d", &num) == 1 ||
		    sscanf(de->d_name, "snd%d", &num) == 1)
			if (num >= 20)
				continue; /* deck Other is not exported */
		char a[4400], b[4400];
		snprintf(a, sizeof a, "%s/src.media/%s", tmpdir, de->d_name);
		snprintf(b, sizeof b, "%s/dst.media/%s", tmpdir, de->d_name);
		size_t la, lb;
		char *da = tu_read_file(a, &la), *dbb = tu_read_file(b, &lb);
		assert_non_null(dbb);
		assert_int_equal(la, lb);
		assert_memory_equal(da, dbb, la);
		free(da);
		free(dbb);
		compared++;
	}
	closedir(d);
	assert_int_equal(compared, 36);
	assert_int_equal(count_files(tpath("dst.media")), 36);
}

static void test_roundtrip_latest(void **state)
{
	(void)state;
	roundtrip(false);
}

static void test_roundtrip_legacy(void **state)
{
	(void)state;
	roundtrip(true);
}

/* Every row of the tables an import writes, as text (blobs as hex). */
static char *dump(struct col *c)
{
	static const char *tables[] = {"notes",     "cards",  "revlog",    "decks", "deck_config",
	                               "notetypes", "fields", "templates", "tags",  "graves"};
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	out[0] = '\0';
	for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
		char sql[128];
		snprintf(sql, sizeof sql, "select * from %s order by 1, 2", tables[t]);
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(col_db(c), sql, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (int k = 0; k < sqlite3_column_count(st); k++) {
				int n = sqlite3_column_bytes(st, k);
				const unsigned char *v = sqlite3_column_blob(st, k);
				while (len + 2 * (size_t)n + 64 > cap)
					out = realloc(out, cap *= 2);
				len += (size_t)sprintf(out + len, "%s:", tables[t]);
				for (int i = 0; i < n; i++)
					len += (size_t)sprintf(out + len, "%02x", v[i]);
				out[len++] = k + 1 < sqlite3_column_count(st) ? '|' : '\n';
				out[len] = '\0';
			}
		}
		sqlite3_finalize(st);
	}
	return out;
}

/* Replace a note's fields and move its mtime by delta seconds from now. */
static void edit_note(struct col *c, int64_t nid, const char *flds, int delta)
{
	struct errinfo e;
	struct note n;
	assert_int_equal(col_begin(c, &e), ST_OK);
	assert_int_equal(col_note_get(c, nid, &n, &e), ST_OK);
	free(n.flds);
	n.flds = strdup(flds);
	assert_int_equal(col_note_update(c, &n, &e), ST_OK);
	note_free(&n);
	char sql[128];
	snprintf(sql, sizeof sql, "update notes set mod = mod + %d where id = %lld", delta,
	         (long long)nid);
	assert_int_equal(col_exec(c, sql, &e), ST_OK);
	assert_int_equal(col_commit(c, &e), ST_OK);
}

/* Our own package imported a second time adds and changes nothing (rows
 * byte for byte, media folder); a note edited in the target after the
 * import is newer than the package's copy and survives re-imports, while
 * a note edited later in the source comes over with the next export. */
static void test_reimport_and_newer_wins(void **state)
{
	(void)state;
	int64_t lang;
	struct col *src = make_source("src", &lang);
	struct errinfo e;
	char p1[4096], p2[4096];
	snprintf(p1, sizeof p1, "%s", tpath("one.apkg"));
	snprintf(p2, sizeof p2, "%s", tpath("two.apkg"));
	struct pkg_export_opts o = {.out_path = p1,
	                            .deck_id = lang,
	                            .with_children = true,
	                            .with_scheduling = true,
	                            .with_deck_configs = true,
	                            .with_media = true};
	struct pkg_export_result xr;
	assert_int_equal(pkg_export(src, &o, &xr, &e), ST_OK);

	struct col *dst = new_col("dst");
	struct pkg_import_result r;
	struct pkg_import_opts io = {.with_scheduling = true, .with_deck_configs = true};
	assert_int_equal(pkg_import(dst, p1, NULL, &io, &r, &e), ST_OK);
	assert_int_equal(r.notes_added, 20);
	char *d0 = dump(dst);
	size_t f0 = count_files(tpath("dst.media"));
	assert_int_equal(f0, 36);
	assert_int_equal(pkg_import(dst, p1, NULL, &io, &r, &e), ST_OK);
	assert_int_equal(r.notes_found, 20);
	assert_int_equal(r.notes_duplicate, 20);
	assert_int_equal(r.notes_added + r.notes_updated + r.notes_conflicting, 0);
	assert_int_equal(r.cards_added + r.revlog_added + r.media_added, 0);
	assert_int_equal(r.decks_added + r.notetypes_added + r.notetypes_updated, 0);
	assert_int_equal(r.deck_configs_added, 0);
	char *d1 = dump(dst);
	assert_string_equal(d0, d1);
	free(d1);
	assert_int_equal(count_files(tpath("dst.media")), f0);

	/* x edited in the target (newer), y edited later in the source */
	int64_t x = q1(dst, "select min(id) from notes"), y = q1(dst, "select max(id) from notes");
	assert_true(x != y);
	edit_note(dst, x,
	          "edited in dst\x1f"
	          "back",
	          100);
	edit_note(src, y,
	          "edited in src\x1f"
	          "back",
	          200);
	o.out_path = p2;
	assert_int_equal(pkg_export(src, &o, &xr, &e), ST_OK);
	char sql[128];
	snprintf(sql, sizeof sql, "select mod from notes where id = %lld", (long long)y);
	long long ymod = q1(src, sql);
	col_close(src);
	/* the first package: every note in it is older now or the same */
	assert_int_equal(pkg_import(dst, p1, NULL, &io, &r, &e), ST_OK);
	assert_int_equal(r.notes_updated, 0);
	assert_int_equal(r.notes_duplicate, 20);
	/* the second: y is newer there, x is older there */
	assert_int_equal(pkg_import(dst, p2, NULL, &io, &r, &e), ST_OK);
	assert_int_equal(r.notes_updated, 1);
	assert_int_equal(r.notes_duplicate, 19);
	assert_int_equal(r.notes_added, 0);
	snprintf(sql, sizeof sql, "select flds from notes where id = %lld", (long long)x);
	char *f = qs(dst, sql);
	assert_string_equal(f, "edited in dst\x1f"
	                       "back");
	free(f);
	snprintf(sql, sizeof sql, "select flds from notes where id = %lld", (long long)y);
	f = qs(dst, sql);
	assert_string_equal(f, "edited in src\x1f"
	                       "back");
	free(f);
	snprintf(sql, sizeof sql, "select mod from notes where id = %lld", (long long)y);
	assert_int_equal(q1(dst, sql), ymod);
	/* and once more the first package: y stays the newer copy */
	assert_int_equal(pkg_import(dst, p1, NULL, &io, &r, &e), ST_OK);
	assert_int_equal(r.notes_updated, 0);
	snprintf(sql, sizeof sql, "select flds from notes where id = %lld", (long long)y);
	f = qs(dst, sql);
	assert_string_equal(f, "edited in src\x1f"
	                       "back");
	free(f);
	assert_int_equal(q1(dst, "select count(*) from notes"), 20);
	assert_int_equal(q1(dst, "select count(*) from cards"), 20);
	assert_int_equal(q1(dst, "select count(*) from revlog"), 20);
	assert_int_equal(count_files(tpath("dst.media")), f0);
	check_clean(dst);
	col_close(dst);
	free(d0);
}

static void test_export_without_scheduling(void **state)
{
	(void)state;
	int64_t lang;
	struct col *src = make_source("src", &lang);
	struct errinfo e;
	char out[4096];
	snprintf(out, sizeof out, "%s", tpath("plain.apkg"));
	struct pkg_export_opts o = {
	    .out_path = out, .deck_id = lang, .with_children = false, .with_media = false};
	struct pkg_export_result xr;
	assert_int_equal(pkg_export(src, &o, &xr, &e), ST_OK);
	assert_int_equal(xr.notes, 10); /* Lang only */
	assert_int_equal(xr.revlog, 0);
	assert_int_equal(xr.media, 0);
	col_close(src);

	/* the package itself holds reset cards and no "marked" tags */
	struct col *pc;
	assert_int_equal(pkg_open_collection(o.out_path, NULL, &pc, &e), ST_OK);
	assert_int_equal(q1(pc,
	                    "select count(*) from cards where type != 0 or queue != 0 or ivl != 0"
	                    " or factor != 0 or reps != 0 or lapses != 0 or flags != 0"),
	                 0);
	assert_int_equal(q1(pc, "select count(*) from notes where tags like '%marked%'"), 0);
	assert_int_equal(q1(pc, "select count(*) from notes where tags = ' tag1 '"), 4);
	assert_int_equal(q1(pc, "select count(*) from revlog"), 0);
	/* positions: new cards keep theirs; reviewed ones get fresh ones */
	assert_int_equal(q1(pc, "select count(distinct due) from cards"), 10);
	assert_int_equal(q1(pc, "select count(*) from decks where id = 1"), 1);
	col_close(pc);

	struct col *dst = new_col("dst");
	struct pkg_import_result r;
	assert_int_equal(import(dst, o.out_path, NULL, false, &r), ST_OK);
	assert_int_equal(r.notes_added, 10);
	assert_int_equal(r.cards_added, 10);
	assert_int_equal(q1(dst, "select count(*) from cards where type = 0 and queue = 0"), 10);
	assert_int_equal(cards_in_deck(dst, "Lang"), 10);
	assert_int_equal(count_files(tpath("dst.media")), 0);
	col_close(dst);
}

static void test_export_whole_and_errors(void **state)
{
	(void)state;
	int64_t lang;
	struct col *src = make_source("src", &lang);
	struct errinfo e;
	struct pkg_export_opts o = {.out_path = tpath("all.apkg"),
	                            .with_scheduling = true,
	                            .with_media = true,
	                            .with_deck_configs = true};
	struct pkg_export_result xr;
	assert_int_equal(pkg_export(src, &o, &xr, &e), ST_OK);
	assert_int_equal(xr.notes, 30);
	assert_int_equal(xr.decks, 3); /* Default holds no card: not exported */
	assert_int_equal(xr.deck_configs, 1);
	/* an unknown deck */
	o.deck_id = 424242;
	o.out_path = tpath("none.apkg");
	assert_int_equal(pkg_export(src, &o, &xr, &e), ST_NOTFOUND);
	assert_int_equal(access(tpath("none.apkg"), F_OK), -1);
	/* ids in the future are refused, as Anki does */
	assert_int_equal(col_exec(src,
	                          "update notes set id = 99999999999999 where id = (select min(id)"
	                          " from notes)",
	                          &e),
	                 ST_OK);
	assert_int_equal(col_exec(src,
	                          "update cards set nid = 99999999999999 where nid not in"
	                          " (select id from notes)",
	                          &e),
	                 ST_OK);
	o.deck_id = 0;
	assert_int_equal(pkg_export(src, &o, &xr, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "future"));
	col_close(src);
}

/* ---- structure compared with Anki's packages ------------------------------ */

struct member {
	char name[64];
	int method;
	zip_uint64_t size;
};

static size_t members(const char *path, struct member *m, size_t cap)
{
	zip_t *z = zip_open(path, ZIP_RDONLY, NULL);
	assert_non_null(z);
	size_t n = (size_t)zip_get_num_entries(z, 0);
	for (size_t i = 0; i < n && i < cap; i++) {
		zip_stat_t zs;
		assert_int_equal(zip_stat_index(z, i, 0, &zs), 0);
		snprintf(m[i].name, sizeof m[i].name, "%s", zs.name);
		m[i].method = zs.comp_method;
		m[i].size = zs.size;
	}
	zip_discard(z);
	return n;
}

static char *member_data(const char *path, const char *name, size_t *len)
{
	zip_t *z = zip_open(path, ZIP_RDONLY, NULL);
	assert_non_null(z);
	zip_stat_t zs;
	assert_int_equal(zip_stat(z, name, 0, &zs), 0);
	char *d = malloc(zs.size + 1);
	zip_file_t *f = zip_fopen(z, name, 0);
	assert_int_equal(zip_fread(f, d, zs.size), (zip_int64_t)zs.size);
	zip_fclose(f);
	zip_discard(z);
	*len = zs.size;
	return d;
}

/* Extract a member to a file, zstd-decoding it when asked. */
static void member_to_file(const char *pkg, const char *name, bool zstd, const char *dest)
{
	size_t n;
	char *d = member_data(pkg, name, &n);
	FILE *f = fopen(dest, "wb");
	if (zstd) {
		/* Anki's streaming encoder leaves the content size out: stream */
		ZSTD_DCtx *dc = ZSTD_createDCtx();
		ZSTD_inBuffer in = {d, n, 0};
		char ob[65536];
		size_t r = 1;
		while (in.pos < in.size && r != 0) {
			ZSTD_outBuffer out = {ob, sizeof ob, 0};
			r = ZSTD_decompressStream(dc, &out, &in);
			assert_false(ZSTD_isError(r));
			fwrite(ob, 1, out.pos, f);
		}
		assert_int_equal(r, 0);
		ZSTD_freeDCtx(dc);
	} else {
		fwrite(d, 1, n, f);
	}
	fclose(f);
	free(d);
}

/* "type name" of every schema object except SQLite's own, sorted. */
static char *schema_of(const char *db_path)
{
	sqlite3 *db;
	char *uri = sqlite3_mprintf("file:%s?immutable=1", db_path);
	assert_int_equal(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
	                 SQLITE_OK);
	sqlite3_free(uri);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "select group_concat(type || ' ' || name, ',') from"
	                                    " (select type, name from sqlite_master where name not"
	                                    " like 'sqlite_%' order by type, name)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	char *s = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return s;
}

static long long db_q1(const char *path, const char *sql)
{
	sqlite3 *db;
	char *uri = sqlite3_mprintf("file:%s?immutable=1", path);
	assert_int_equal(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
	                 SQLITE_OK);
	sqlite3_free(uri);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void test_structure_like_anki(void **state)
{
	(void)state;
	if (!tu_have_fixture("latest-20notes.apkg") ||
	    !tu_have_fixture("legacy2-fsrs-revlog-media.apkg"))
		skip();
	int64_t lang;
	struct col *src = make_source("src", &lang);
	struct errinfo e;
	struct pkg_export_result xr;
	/* latest, no media: exactly the fixture's members */
	char out1[4096], out2[4096];
	snprintf(out1, sizeof out1, "%s", tpath("l.apkg"));
	snprintf(out2, sizeof out2, "%s", tpath("g.apkg"));
	struct pkg_export_opts o = {.out_path = out1, .deck_id = lang, .with_children = true};
	assert_int_equal(pkg_export(src, &o, &xr, &e), ST_OK);
	struct pkg_export_opts lo = {.out_path = out2,
	                             .deck_id = lang,
	                             .with_children = true,
	                             .with_media = true,
	                             .legacy = true};
	assert_int_equal(pkg_export(src, &lo, &xr, &e), ST_OK);
	col_close(src);

	struct member a[64], b[64];
	size_t na = members(o.out_path, a, 64),
	       nb = members(tu_fixture("latest-20notes.apkg"), b, 64);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_string_equal(a[i].name, b[i].name);
		assert_int_equal(a[i].method, b[i].method);
	}
	size_t l1, l2;
	char *m1 = member_data(o.out_path, "meta", &l1);
	char *m2 = member_data(tu_fixture("latest-20notes.apkg"), "meta", &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(m1, m2, l1);
	free(m1);
	free(m2);
	m1 = member_data(o.out_path, "media", &l1); /* the empty zstd media list */
	m2 = member_data(tu_fixture("latest-20notes.apkg"), "media", &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(m1, m2, l1);
	free(m1);
	free(m2);
	/* the collection: a zstd frame of a schema 18 file with Anki's tables */
	member_to_file(o.out_path, "collection.anki21b", true, tpath("ours.db"));
	member_to_file(tu_fixture("latest-20notes.apkg"), "collection.anki21b", true,
	               tpath("anki.db"));
	char *s1 = schema_of(tpath("ours.db")), *s2 = schema_of(tpath("anki.db"));
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	assert_int_equal(db_q1(tpath("ours.db"), "select ver from col"), 18);
	assert_int_equal(db_q1(tpath("ours.db"), "pragma page_size"), 4096);
	/* the dummy: schema 11, page size 512, journal delete, Anki's note */
	member_to_file(o.out_path, "collection.anki2", false, tpath("dummy.db"));
	member_to_file(tu_fixture("latest-20notes.apkg"), "collection.anki2", false,
	               tpath("adummy.db"));
	s1 = schema_of(tpath("dummy.db"));
	s2 = schema_of(tpath("adummy.db"));
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	assert_int_equal(db_q1(tpath("dummy.db"), "select ver from col"), 11);
	assert_int_equal(db_q1(tpath("dummy.db"), "pragma page_size"), 512);
	size_t dl;
	char *dd = tu_read_file(tpath("dummy.db"), &dl);
	assert_int_equal(dd[18], 1); /* rollback journal, not WAL */
	free(dd);
	assert_int_equal(db_q1(tpath("dummy.db"),
	                       "select count(*) from notes where flds = "
	                       "'Please update to the latest Anki version, then "
	                       "import the .colpkg/.apkg file again.' || char(31)"),
	                 1);
	assert_int_equal(db_q1(tpath("adummy.db"),
	                       "select count(*) from notes where flds = "
	                       "'Please update to the latest Anki version, then "
	                       "import the .colpkg/.apkg file again.' || char(31)"),
	                 1);

	/* legacy: meta 08 02, deflated schema 11 collection, stored media,
	 * JSON map - as the legacy2 fixture */
	na = members(lo.out_path, a, 64);
	nb = members(tu_fixture("legacy2-fsrs-revlog-media.apkg"), b, 64);
	assert_true(na > 4);
	const char *want[] = {"meta", "collection.anki21", "collection.anki2", "0"};
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(a[i].name, want[i]);
		assert_string_equal(b[i].name, want[i]);
		assert_int_equal(a[i].method, b[i].method);
	}
	assert_string_equal(a[na - 1].name, "media");
	assert_int_equal(a[na - 1].method, b[nb - 1].method);
	m1 = member_data(lo.out_path, "meta", &l1);
	assert_int_equal(l1, 2);
	assert_int_equal(m1[1], 2);
	free(m1);
	m1 = member_data(lo.out_path, "media", &l1);
	assert_true(l1 > 2 && m1[0] == '{' && strstr(m1, "\"0\":\""));
	free(m1);
	member_to_file(lo.out_path, "collection.anki21", false, tpath("leg.db"));
	member_to_file(tu_fixture("legacy2-fsrs-revlog-media.apkg"), "collection.anki21", false,
	               tpath("aleg.db"));
	s1 = schema_of(tpath("leg.db"));
	s2 = schema_of(tpath("aleg.db"));
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	assert_int_equal(db_q1(tpath("leg.db"), "select ver from col"), 11);

	/* and our reader finds in them what was written */
	struct pkg_info in;
	assert_int_equal(pkg_inspect(lo.out_path, NULL, &in, &e), ST_OK);
	assert_int_equal(in.version, PKG_VERSION_LEGACY2);
	assert_int_equal(in.media, na - 4);
	assert_int_equal(pkg_inspect(o.out_path, NULL, &in, &e), ST_OK);
	assert_int_equal(in.version, PKG_VERSION_LATEST);
	assert_string_equal(in.collection_member, "collection.anki21b");
	assert_int_equal(in.media, 0);
}

/* The latest media map carries each file's size and SHA-1 (checked here
 * by decoding the protobuf by hand). */
static void test_latest_media_map(void **state)
{
	(void)state;
	int64_t lang;
	struct col *src = make_source("src", &lang);
	struct errinfo e;
	struct pkg_export_result xr;
	char out[4096];
	snprintf(out, sizeof out, "%s", tpath("m.apkg"));
	struct pkg_export_opts o = {
	    .out_path = out, .deck_id = lang, .with_children = true, .with_media = true};
	assert_int_equal(pkg_export(src, &o, &xr, &e), ST_OK);
	col_close(src);
	size_t n;
	char *z = member_data(o.out_path, "media", &n);
	unsigned long long sz = ZSTD_getFrameContentSize(z, n);
	assert_true(sz < 1u << 20);
	unsigned char *pb = malloc(sz + 1);
	assert_int_equal(ZSTD_decompress(pb, sz, z, n), sz);
	free(z);
	/* walk: 0a len { 0a namelen name 10 size 1a 14 sha1 } */
	size_t i = 0, entries = 0;
	while (i < sz) {
		assert_int_equal(pb[i], 0x0a);
		size_t len = pb[i + 1]; /* entries are short: one-byte lengths */
		size_t j = i + 2, end = j + len;
		assert_int_equal(pb[j], 0x0a);
		size_t nl = pb[j + 1];
		char name[256];
		memcpy(name, pb + j + 2, nl);
		name[nl] = '\0';
		j += 2 + nl;
		assert_int_equal(pb[j], 0x10);
		unsigned size = pb[j + 1];
		j += 2;
		assert_int_equal(pb[j], 0x1a);
		assert_int_equal(pb[j + 1], 20);
		char p[4300];
		snprintf(p, sizeof p, "%s/src.media/%s", tmpdir, name);
		struct stat sb;
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(sb.st_size, size);
		unsigned char h[20];
		sha1_file(p, h);
		assert_memory_equal(h, pb + j + 2, 20);
		assert_int_equal(j + 22, end);
		/* the member holds the file as one zstd frame */
		char mem[24];
		snprintf(mem, sizeof mem, "%zu", entries);
		size_t ml;
		char *md = member_data(o.out_path, mem, &ml);
		assert_int_equal(ZSTD_getFrameContentSize(md, ml), size);
		free(md);
		entries++;
		i = end;
	}
	assert_int_equal(entries, xr.media);
	free(pb);
}

/* The reader handles collection packages too (same layout, §9.1). */
static void test_colpkg_readable(void **state)
{
	(void)state;
	const struct {
		const char *file;
		enum pkg_version v;
		const char *member;
	} f[] = {{"latest-empty-backup.colpkg", PKG_VERSION_LATEST, "collection.anki21b"},
	         {"legacy2-empty.colpkg", PKG_VERSION_LEGACY2, "collection.anki21"}};
	for (size_t i = 0; i < 2; i++) {
		if (!tu_have_fixture(f[i].file))
			skip();
		struct pkg_info in;
		struct errinfo e;
		assert_int_equal(pkg_inspect(tu_fixture(f[i].file), NULL, &in, &e), ST_OK);
		assert_int_equal(in.version, f[i].v);
		assert_string_equal(in.collection_member, f[i].member);
		assert_int_equal(in.members, 4);
		assert_int_equal(in.media, 0);
		struct col *c;
		assert_int_equal(pkg_open_collection(tu_fixture(f[i].file), NULL, &c, &e), ST_OK);
		assert_int_equal(q1(c, "select count(*) from notetypes"), 6);
		assert_int_equal(q1(c, "select count(*) from notes"), 0);
		check_clean(c);
		col_close(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fixtures_import, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_legacy2_scheduling_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notetype_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_media_clash_renamed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_roundtrip_latest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_roundtrip_legacy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reimport_and_newer_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_without_scheduling, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_whole_and_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_structure_like_anki, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_latest_media_map, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_colpkg_readable, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
