/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_col_proto.c - the protobuf blobs of schema 18 collections
 * (src/lib/col_proto.c, col_model.c): every blob of every schema >= 15
 * fixture collection (bare files and the collections inside the .apkg /
 * .colpkg packages) decodes and re-encodes to the same bytes; defaults
 * match the fixture; malformed blobs are refused without crash or leak;
 * unknown fields, unpacked repeats, negative ids and empty blobs behave as
 * protobuf and Anki do.
 */
#include "testutil.h"

#include <math.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include <zip.h>
#include <zstd.h>

#include "col_model.h"
#include "col_proto.h"

/* ---- fixture collections ---- */

/* Read-only queries on fields/templates need the collation to exist; its
 * order is irrelevant for full scans. */
static int stub_unicase(void *arg, int n1, const void *a, int n2, const void *b)
{
	(void)arg;
	int r = memcmp(a, b, (size_t)(n1 < n2 ? n1 : n2));
	return r ? r : n1 - n2;
}

/* Copy a fixture collection into dir as a plain SQLite file: the file
 * itself, or `member` of a zip package (zstd-decompressed when the member
 * name ends in "21b").  Returns a malloc'd path. */
static char *fixture_db(const char *dir, const char *name, const char *member)
{
	char *out = malloc(4096);
	snprintf(out, 4096, "%s/%s%s%s.db", dir, name, member ? "-" : "", member ? member : "");
	if (!member) {
		tu_copy(tu_fixture(name), out);
		return out;
	}
	int err = 0;
	zip_t *za = zip_open(tu_fixture(name), ZIP_RDONLY, &err);
	assert_non_null(za);
	zip_stat_t sb;
	assert_int_equal(zip_stat(za, member, 0, &sb), 0);
	zip_file_t *zf = zip_fopen(za, member, 0);
	assert_non_null(zf);
	uint8_t *raw = malloc(sb.size + 1);
	assert_true(zip_fread(zf, raw, sb.size) == (zip_int64_t)sb.size);
	zip_fclose(zf);
	zip_close(za);
	FILE *f = fopen(out, "wb");
	assert_non_null(f);
	size_t mlen = strlen(member);
	if (mlen > 3 && strcmp(member + mlen - 3, "21b") == 0) {
		ZSTD_DStream *ds = ZSTD_createDStream();
		ZSTD_inBuffer in = {raw, sb.size, 0};
		uint8_t chunk[65536];
		size_t r = 1;
		while (in.pos < in.size || r != 0) {
			ZSTD_outBuffer o = {chunk, sizeof chunk, 0};
			r = ZSTD_decompressStream(ds, &o, &in);
			assert_false(ZSTD_isError(r));
			assert_int_equal(fwrite(chunk, 1, o.pos, f), o.pos);
			if (in.pos >= in.size && o.pos == 0)
				break;
		}
		ZSTD_freeDStream(ds);
	} else {
		assert_int_equal(fwrite(raw, 1, sb.size, f), sb.size);
	}
	assert_int_equal(fclose(f), 0);
	free(raw);
	return out;
}

static sqlite3 *open_db(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_create_collation(db, "unicase", SQLITE_UTF8, NULL, stub_unicase),
	                 SQLITE_OK);
	return db;
}

static const struct {
	const char *name, *member;
} V18[] = {
    {"new-empty-v18.anki2", NULL},
    {"schema16-empty.anki2", NULL},
    {"v18-two-decks-revlog.anki2", NULL},
    {"latest-empty-backup.colpkg", "collection.anki21b"},
    {"latest-20notes.apkg", "collection.anki21b"},
    {"latest-459notes-revlog.apkg", "collection.anki21b"},
};
#define NV18 (sizeof V18 / sizeof V18[0])

enum blob_kind { B_NOTETYPE, B_FIELD, B_TEMPLATE, B_COMMON, B_KIND, B_DECKCONF, B_NKINDS };

static const char *const BLOB_SQL[B_NKINDS] = {
    "select config from notetypes", "select config from fields", "select config from templates",
    "select common from decks",     "select kind from decks",    "select config from deck_config",
};

/* Decode and re-encode one blob; returns the status of the decode. */
static enum status roundtrip(enum blob_kind k, const uint8_t *p, size_t n, struct buf *out,
                             struct errinfo *e)
{
	enum status st;
	switch (k) {
	case B_NOTETYPE: {
		struct notetype_config c;
		st = notetype_config_decode(p, n, &c, e);
		if (!st)
			st = notetype_config_encode(&c, out, e);
		notetype_config_free(&c);
		return st;
	}
	case B_FIELD: {
		struct field_config c;
		st = field_config_decode(p, n, &c, e);
		if (!st)
			st = field_config_encode(&c, out, e);
		field_config_free(&c);
		return st;
	}
	case B_TEMPLATE: {
		struct template_config c;
		st = template_config_decode(p, n, &c, e);
		if (!st)
			st = template_config_encode(&c, out, e);
		template_config_free(&c);
		return st;
	}
	case B_COMMON: {
		struct deck_common c;
		st = deck_common_decode(p, n, &c, e);
		if (!st)
			st = deck_common_encode(&c, out, e);
		deck_common_free(&c);
		return st;
	}
	case B_KIND: {
		struct deck_kind c;
		st = deck_kind_decode(p, n, &c, e);
		if (!st)
			st = deck_kind_encode(&c, out, e);
		deck_kind_free(&c);
		return st;
	}
	case B_DECKCONF: {
		struct deckconf_config c;
		st = deckconf_config_decode(p, n, &c, e);
		if (!st)
			st = deckconf_config_encode(&c, out, e);
		deckconf_config_free(&c);
		return st;
	}
	default:
		fail();
	}
	return ST_INTERNAL;
}

/* All blobs of all schema >= 15 fixtures, as (kind, bytes). */
struct blob {
	enum blob_kind kind;
	uint8_t *p;
	size_t n;
};
static struct blob *g_blobs;
static size_t g_nblobs;

static int load_blobs(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	for (size_t i = 0; i < NV18; i++) {
		char *path = fixture_db(dir, V18[i].name, V18[i].member);
		sqlite3 *db = open_db(path);
		for (int k = 0; k < B_NKINDS; k++) {
			sqlite3_stmt *st;
			assert_int_equal(sqlite3_prepare_v2(db, BLOB_SQL[k], -1, &st, NULL),
			                 SQLITE_OK);
			while (sqlite3_step(st) == SQLITE_ROW) {
				assert_int_equal(sqlite3_column_type(st, 0), SQLITE_BLOB);
				size_t n = (size_t)sqlite3_column_bytes(st, 0);
				g_blobs = realloc(g_blobs, (g_nblobs + 1) * sizeof *g_blobs);
				g_blobs[g_nblobs].kind = (enum blob_kind)k;
				g_blobs[g_nblobs].n = n;
				g_blobs[g_nblobs].p = malloc(n ? n : 1);
				if (n)
					memcpy(g_blobs[g_nblobs].p, sqlite3_column_blob(st, 0), n);
				g_nblobs++;
			}
			sqlite3_finalize(st);
		}
		sqlite3_close(db);
		free(path);
	}
	tu_rmtree(dir);
	return 0;
}

static int free_blobs(void **state)
{
	(void)state;
	for (size_t i = 0; i < g_nblobs; i++)
		free(g_blobs[i].p);
	free(g_blobs);
	return 0;
}

/* The required test: decode + encode gives the same bytes for all 201
 * blobs (24 notetypes, 101 fields, 48 templates, 11 commons, 11 kinds, 6
 * presets) of the six schema >= 15 collections. */
static void test_fixture_roundtrip(void **state)
{
	(void)state;
	size_t per[B_NKINDS] = {0}, empty = 0;
	for (size_t i = 0; i < g_nblobs; i++) {
		struct buf out;
		buf_init(&out, 0);
		struct errinfo e = {0};
		enum status st = roundtrip(g_blobs[i].kind, g_blobs[i].p, g_blobs[i].n, &out, &e);
		if (st)
			fail_msg("blob %zu (kind %d): %s", i, g_blobs[i].kind, e.msg);
		if (out.len != g_blobs[i].n || (out.len && memcmp(out.data, g_blobs[i].p, out.len)))
			fail_msg("blob %zu (kind %d): re-encoding differs (%zu vs %zu bytes)", i,
			         g_blobs[i].kind, out.len, g_blobs[i].n);
		per[g_blobs[i].kind]++;
		empty += g_blobs[i].n == 0;
		buf_free(&out);
	}
	assert_int_equal(per[B_NOTETYPE], 24);
	assert_int_equal(per[B_FIELD], 101);
	assert_int_equal(per[B_TEMPLATE], 48);
	assert_int_equal(per[B_COMMON], 11);
	assert_int_equal(per[B_KIND], 11);
	assert_int_equal(per[B_DECKCONF], 6);
	assert_int_equal(empty, 3); /* decks.common of non-default decks in 3 files */
}

/* Every prefix and many single-byte corruptions of every fixture blob
 * either decode or fail with ST_CORRUPT; never a crash, never a leak
 * (ASan checks both). */
static void test_fixture_mutations(void **state)
{
	(void)state;
	uint32_t rng = 12345;
	size_t corrupt = 0, ok = 0;
	for (size_t i = 0; i < g_nblobs; i++) {
		const struct blob *b = &g_blobs[i];
		uint8_t *m = malloc(b->n ? b->n : 1);
		for (size_t cut = 0; cut < b->n; cut++) {
			struct buf out;
			buf_init(&out, 0);
			enum status st = roundtrip(b->kind, b->p, cut, &out, NULL);
			assert_true(st == ST_OK || st == ST_CORRUPT);
			st == ST_OK ? ok++ : corrupt++;
			buf_free(&out);
		}
		for (int k = 0; k < 64 && b->n; k++) {
			memcpy(m, b->p, b->n);
			rng = rng * 1103515245u + 12345u;
			size_t pos = (rng >> 8) % b->n;
			rng = rng * 1103515245u + 12345u;
			m[pos] ^= (uint8_t)(1u << ((rng >> 16) % 8));
			struct buf out;
			buf_init(&out, 0);
			enum status st = roundtrip(b->kind, m, b->n, &out, NULL);
			assert_true(st == ST_OK || st == ST_CORRUPT);
			st == ST_OK ? ok++ : corrupt++;
			buf_free(&out);
		}
		free(m);
	}
	/* both outcomes must actually occur */
	assert_true(corrupt > 1000);
	assert_true(ok > 1000);
}

static void hex_to_bytes(const char *hex, uint8_t *out, size_t *n)
{
	size_t k = 0;
	for (const char *p = hex; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		unsigned v;
		assert_int_equal(sscanf(p, "%2x", &v), 1);
		out[k++] = (uint8_t)v;
		p += 2;
	}
	*n = k;
}

static void assert_buf_hex(const struct buf *b, const char *hex)
{
	uint8_t want[512];
	size_t n;
	hex_to_bytes(hex, want, &n);
	if (b->len != n || memcmp(b->data, want, n)) {
		char got[1100] = "";
		for (size_t i = 0; i < b->len && i < 500; i++)
			sprintf(got + 2 * i, "%02x", b->data[i]);
		fail_msg("got %s, want %s", got, hex);
	}
}

#define PRESET1_HEX                                                                                \
	"0a080000803f00002041 120400002041 221c0000803f0000803f0000803f0000803f0000803f"           \
	"0000803f0000803f 4814 50c801 5d00002040 656666a63f 6d9a99993f 7d0000803f"                 \
	"8001949d02 880101 900101 980104 a80101 b00108 c0013c ad026666663f"                        \
	"c5026666663f e00201"

static void test_defaults(void **state)
{
	(void)state;
	/* the preset of a new collection, byte for byte (section 2.10) */
	struct deckconf_config dc;
	assert_int_equal(deckconf_config_default(&dc, NULL), ST_OK);
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(deckconf_config_encode(&dc, &b, NULL), ST_OK);
	assert_buf_hex(&b, PRESET1_HEX);
	/* and equal to the fixture's row */
	bool found = false;
	for (size_t i = 0; i < g_nblobs; i++)
		if (g_blobs[i].kind == B_DECKCONF && g_blobs[i].n == b.len &&
		    memcmp(g_blobs[i].p, b.data, b.len) == 0)
			found = true;
	assert_true(found);
	/* defaults are within the valid ranges: the fixes change nothing */
	struct deckconf_config copy = dc;
	deckconf_config_fix_ranges(&copy);
	assert_memory_equal(&copy, &dc, sizeof dc);
	deckconf_config_free(&dc);
	buf_reset(&b);

	/* default deck: common 08 01 10 01, kind 0A 02 08 01 (section 5.3) */
	struct deck_common c;
	struct deck_kind k;
	deck_common_default_normal(&c);
	deck_kind_new_normal(&k);
	assert_int_equal(deck_common_encode(&c, &b, NULL), ST_OK);
	assert_buf_hex(&b, "08011001");
	buf_reset(&b);
	assert_int_equal(deck_kind_encode(&k, &b, NULL), ST_OK);
	assert_buf_hex(&b, "0a020801");
	buf_reset(&b);

	/* a new filtered deck: reschedule, ("",100,random), ("",20,due),
	 * preview_hard 600 (field 5), preview_again 60 (field 7) */
	assert_int_equal(deck_kind_new_filtered(&k, NULL), ST_OK);
	assert_int_equal(deck_kind_encode(&k, &b, NULL), ST_OK);
	assert_buf_hex(&b, "1213 0801 120410641801 120410141806 28d804 383c");
	struct deck_kind k2;
	assert_int_equal(deck_kind_decode(b.data, b.len, &k2, NULL), ST_OK);
	assert_int_equal(k2.type, DECK_KIND_FILTERED);
	assert_int_equal(k2.filtered.nsearch_terms, 2);
	assert_int_equal(k2.filtered.search_terms[1].order, SEARCH_ORDER_DUE);
	assert_null(k2.filtered.search_terms[1].search); /* "" is NULL */
	deck_kind_free(&k2);
	deck_kind_free(&k);
	buf_reset(&b);

	/* new field / template configs: Arial 20 and random ids */
	struct field_config f1, f2;
	assert_int_equal(field_config_new(&f1, NULL), ST_OK);
	assert_int_equal(field_config_new(&f2, NULL), ST_OK);
	assert_string_equal(f1.font_name, "Arial");
	assert_int_equal(f1.font_size, 20);
	assert_true(f1.has_id && f2.has_id && f1.id != f2.id);
	assert_false(f1.has_tag);
	assert_int_equal(field_config_encode(&f1, &b, NULL), ST_OK);
	assert_memory_equal(b.data,
	                    "\x1a\x05"
	                    "Arial\x20\x14\x48",
	                    10);
	field_config_free(&f1);
	field_config_free(&f2);
	buf_reset(&b);
	struct template_config t;
	assert_int_equal(template_config_new(&t, "{{Front}}", NULL, NULL), ST_OK);
	assert_string_equal(t.q_format, "{{Front}}");
	assert_string_equal(t.a_format, "");
	assert_true(t.has_id);
	assert_int_equal(template_config_encode(&t, &b, NULL), ST_OK);
	assert_memory_equal(b.data, "\x0a\x09{{Front}}\x40", 12);
	template_config_free(&t);
	buf_free(&b);
}

static void test_fix_ranges(void **state)
{
	(void)state;
	struct deckconf_config c;
	memset(&c, 0, sizeof c); /* an all-absent blob: many zeros are invalid */
	deckconf_config_fix_ranges(&c);
	assert_int_equal(c.new_per_day, 0); /* 0 is valid */
	assert_int_equal(c.reviews_per_day, 0);
	assert_true(c.initial_ease == 2.5f);
	assert_true(c.easy_multiplier == 1.3f);
	assert_true(c.hard_multiplier == 1.2f);
	assert_true(c.lapse_multiplier == 0.0f); /* 0 is valid */
	assert_true(c.interval_multiplier == 1.0f);
	assert_int_equal(c.maximum_review_interval, 36500);
	assert_int_equal(c.minimum_lapse_interval, 1);
	assert_int_equal(c.graduating_interval_good, 1);
	assert_int_equal(c.graduating_interval_easy, 4);
	assert_int_equal(c.leech_threshold, 8);
	assert_int_equal(c.cap_answer_time_to_secs, 60);
	assert_true(c.desired_retention == 0.9f);
	assert_true(c.historical_retention == 0.9f);

	c.new_per_day = 10000;
	c.initial_ease = NAN;
	c.hard_multiplier = 1.31f;
	c.interval_multiplier = 2.0f; /* bounds are inclusive */
	c.desired_retention = 0.99f;
	c.historical_retention = 0.98f;
	c.lapse_multiplier = -0.1f;
	c.graduating_interval_easy = 36501;
	deckconf_config_fix_ranges(&c);
	assert_int_equal(c.new_per_day, 20);
	assert_true(c.initial_ease == 2.5f);
	assert_true(c.hard_multiplier == 1.2f);
	assert_true(c.interval_multiplier == 2.0f);
	assert_true(c.desired_retention == 0.99f);
	assert_true(c.historical_retention == 0.9f);
	assert_true(c.lapse_multiplier == 0.0f);
	assert_int_equal(c.graduating_interval_easy, 4);
}

/* Values of the stock notetypes as stored by Anki (sections 5.4, A). */
static void test_fixture_values(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char *path = fixture_db(dir, "new-empty-v18.anki2", NULL);
	sqlite3 *db = open_db(path);
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "select name, config from notetypes order by id", -1, &st, NULL),
	    SQLITE_OK);
	static const int stock[] = {1, 1, 2, 3, 5, 6}; /* pre-26.05 values, see 5.4 */
	static const size_t len[] = {357, 366, 367, 358, 454, 605};
	int i = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *p = sqlite3_column_blob(st, 1);
		size_t n = (size_t)sqlite3_column_bytes(st, 1);
		assert_int_equal(n, len[i]);
		struct notetype_config c;
		assert_int_equal(notetype_config_decode(p, n, &c, NULL), ST_OK);
		assert_int_equal(c.original_stock_kind, stock[i]);
		assert_int_equal(c.kind, i >= 4 ? NOTETYPE_KIND_CLOZE : NOTETYPE_KIND_NORMAL);
		assert_int_equal(strlen(c.latex_pre), 178);
		assert_string_equal(c.latex_post, "\\end{document}");
		assert_int_equal(c.sort_field_idx, 0);
		assert_false(c.has_original_id);
		assert_int_equal(c.other.len, 0);
		assert_int_equal(c.unknown.len, 0);
		if (i == 0) {
			unsigned char sha[SHA_DIGEST_LENGTH];
			SHA1(p, n, sha);
			char hex[41];
			for (int k = 0; k < 20; k++)
				sprintf(hex + 2 * k, "%02x", sha[k]);
			assert_string_equal(hex, "2aeb1b14f29cf64000989f3ae5ff541b5ca0c774");
			assert_int_equal(strlen(c.css), 148);
			assert_int_equal(c.nreqs, 1);
			assert_int_equal(c.reqs[0].kind, CARD_REQ_ANY);
			assert_int_equal(c.reqs[0].nfield_ords, 1);
		}
		if (i == 5) { /* Image Occlusion: [0 any [0,1,2]] */
			assert_int_equal(c.reqs[0].nfield_ords, 3);
			assert_int_equal(c.reqs[0].field_ords[2], 2);
		}
		notetype_config_free(&c);
		i++;
	}
	assert_int_equal(i, 6);
	sqlite3_finalize(st);
	/* Cloze "Text" field: tag 0 is present (optional), prevent_deletion */
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "select f.config from fields f join notetypes n on "
	                                    "n.id = f.ntid where n.name = 'Cloze' and f.ord = 0",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	struct field_config fc;
	assert_int_equal(field_config_decode(sqlite3_column_blob(st, 0),
	                                     (size_t)sqlite3_column_bytes(st, 0), &fc, NULL),
	                 ST_OK);
	assert_true(fc.has_tag);
	assert_int_equal(fc.tag, 0);
	assert_true(fc.prevent_deletion);
	assert_true(fc.has_id);
	field_config_free(&fc);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	tu_rmtree(dir);
}

/* Malformed blobs: ST_CORRUPT, output zeroed, nothing leaked. */
static void test_malformed(void **state)
{
	(void)state;
	static const struct {
		enum blob_kind kind;
		const char *hex;
		const char *msg;
	} bad[] = {
	    {B_NOTETYPE, "1a05616263", "exceeds"},                        /* truncated css */
	    {B_NOTETYPE, "1801", "field 3 has wire type 0"},              /* css as varint */
	    {B_NOTETYPE, "0a00", "field 1 has wire type 2"},              /* kind as LEN */
	    {B_NOTETYPE, "1a0141 42020801 4201ff", "reqs[1]"},            /* bad 2nd req */
	    {B_NOTETYPE, "4205 1d00000000", "field 3 (repeated varint)"}, /* wt5 */
	    {B_NOTETYPE, "1a02c328", "UTF-8"},
	    {B_NOTETYPE, "088080808080808080808001", "varint"}, /* 11-byte varint */
	    {B_FIELD, "4d00000000", "field 9 has wire type 5"}, /* id as fixed32 */
	    {B_FIELD, "1b", "wire type 3"},
	    {B_TEMPLATE, "0a0361", "exceeds"},
	    {B_TEMPLATE, "2f", "wire type 7"},
	    {B_COMMON, "fa0f05616263", "exceeds"},
	    {B_COMMON, "0c", "wire type 4"},
	    {B_KIND, "", "invalid deck kind"},
	    {B_KIND, "1801", "invalid deck kind"}, /* only an unknown */
	    {B_KIND, "0a03 0801 42", "truncated varint"},
	    {B_KIND, "0a02 2001", "field 4 has wire type 0"}, /* desc as varint */
	    {B_KIND, "1203 1a0100", "multiple of 4"},         /* delays len 1 */
	    {B_KIND, "1204 1202 0a01", "exceeds"},            /* truncated term */
	    {B_DECKCONF, "0a03000080", "multiple of 4"},
	    {B_DECKCONF, "5d0000", "truncated 4-byte"},
	    {B_DECKCONF, "5801", "field 11 has wire type 0"}, /* ease as varint */
	    {B_DECKCONF, "0e", "wire type 6"},
	    {B_DECKCONF, "ea0201ff", "UTF-8"}, /* param_search */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t b[64];
		size_t n;
		hex_to_bytes(bad[i].hex, b, &n);
		struct buf out;
		buf_init(&out, 0);
		struct errinfo e = {0};
		enum status st = roundtrip(bad[i].kind, b, n, &out, &e);
		if (st != ST_CORRUPT || !strstr(e.msg, bad[i].msg))
			fail_msg("case %zu (%s): status %d, message \"%s\", want \"%s\"", i,
			         bad[i].hex, st, e.msg, bad[i].msg);
		assert_int_equal(out.len, 0);
		buf_free(&out);
	}
	/* the output struct is zeroed after a failure */
	struct notetype_config c;
	memset(&c, 0xab, sizeof c);
	uint8_t b[] = {0x1a, 0x01, 0x41, 0x1a, 0x05};
	assert_int_equal(notetype_config_decode(b, sizeof b, &c, NULL), ST_CORRUPT);
	assert_null(c.css);
	assert_int_equal(c.nreqs, 0);
}

/* Unknown fields are kept and written back in field-number order. */
static void test_unknown_fields(void **state)
{
	(void)state;
	/* Field.Config: font "Arial", id -1 (10 bytes), unknown 12 (varint 7),
	 * unknown 20 (LEN "zz"), other {"media":[]}, unknown 300 (varint 1) */
	uint8_t b[128];
	size_t n;
	hex_to_bytes("1a05417269616c 48ffffffffffffffffff01 6007 a201027a7a"
	             "fa0f0c7b226d65646961223a5b5d7d e01201",
	             b, &n);
	struct field_config c;
	assert_int_equal(field_config_decode(b, n, &c, NULL), ST_OK);
	assert_true(c.has_id);
	assert_true(c.id == -1);
	assert_int_equal(c.other.len, 12);
	assert_memory_equal(c.other.data, "{\"media\":[]}", 12);
	assert_int_equal(c.unknown.len, 2 + 5 + 3);
	struct buf out;
	buf_init(&out, 0);
	assert_int_equal(field_config_encode(&c, &out, NULL), ST_OK);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, b, n);
	field_config_free(&c);

	/* out of order input is accepted; output is in ascending order with the
	 * unknown record slotted between its neighbours */
	buf_reset(&out);
	hex_to_bytes("6007 2014 1a05417269616c 0801", b, &n);
	assert_int_equal(field_config_decode(b, n, &c, NULL), ST_OK);
	assert_int_equal(field_config_encode(&c, &out, NULL), ST_OK);
	assert_buf_hex(&out, "0801 1a05417269616c 2014 6007");
	field_config_free(&c);

	/* unknown fields inside nested messages (DayLimit, SearchTerm) */
	buf_reset(&out);
	hex_to_bytes("0a0c 0801 4206 080a 1003 1801 580a", b, &n);
	struct deck_kind k;
	assert_int_equal(deck_kind_decode(b, n, &k, NULL), ST_OK);
	assert_true(k.normal.has_review_limit_today);
	assert_int_equal(k.normal.review_limit_today.limit, 10);
	assert_int_equal(k.normal.review_limit_today.today, 3);
	assert_int_equal(k.normal.review_limit_today.unknown.len, 2);
	assert_int_equal(k.normal.unknown.len, 2);
	assert_int_equal(deck_kind_encode(&k, &out, NULL), ST_OK);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, b, n);
	deck_kind_free(&k);
	buf_free(&out);
}

static void test_protobuf_semantics(void **state)
{
	(void)state;
	uint8_t b[128];
	size_t n;
	struct buf out;
	buf_init(&out, 0);

	/* unpacked repeated floats (two wt5 records) read like the packed form;
	 * written back packed */
	hex_to_bytes("0d0000803f 0d00002041 120400002041", b, &n);
	struct deckconf_config dc;
	assert_int_equal(deckconf_config_decode(b, n, &dc, NULL), ST_OK);
	assert_int_equal(dc.learn_steps.n, 2);
	assert_true(dc.learn_steps.v[1] == 10.0f);
	assert_int_equal(deckconf_config_encode(&dc, &out, NULL), ST_OK);
	assert_buf_hex(&out, "0a080000803f00002041 120400002041");
	deckconf_config_free(&dc);

	/* unpacked field_ords; a scalar seen twice keeps the last value */
	buf_reset(&out);
	hex_to_bytes("420a 0801 1800 1802 1001 1002", b, &n);
	struct notetype_config nc;
	assert_int_equal(notetype_config_decode(b, n, &nc, NULL), ST_OK);
	assert_int_equal(nc.nreqs, 1);
	assert_int_equal(nc.reqs[0].nfield_ords, 2);
	assert_int_equal(nc.reqs[0].field_ords[1], 2);
	assert_int_equal(nc.reqs[0].kind, CARD_REQ_ALL);
	assert_int_equal(notetype_config_encode(&nc, &out, NULL), ST_OK);
	assert_buf_hex(&out, "4208 0801 1002 1a020002");
	notetype_config_free(&nc);

	/* oneof: a filtered member after a normal one wins */
	hex_to_bytes("0a020805 12020801", b, &n);
	struct deck_kind k;
	assert_int_equal(deck_kind_decode(b, n, &k, NULL), ST_OK);
	assert_int_equal(k.type, DECK_KIND_FILTERED);
	assert_true(k.filtered.reschedule);
	assert_true(k.normal.config_id == 0);
	deck_kind_free(&k);
	/* an embedded message seen twice is merged */
	hex_to_bytes("0a04 4202080a 0a04 42021003", b, &n);
	assert_int_equal(deck_kind_decode(b, n, &k, NULL), ST_OK);
	assert_int_equal(k.normal.review_limit_today.limit, 10);
	assert_int_equal(k.normal.review_limit_today.today, 3);
	deck_kind_free(&k);
	/* unset kind cannot be encoded */
	memset(&k, 0, sizeof k);
	assert_int_equal(deck_kind_encode(&k, &out, NULL), ST_INVALID);

	/* optional fields are written when set, even as 0; messages when
	 * present even if empty */
	buf_reset(&out);
	struct deck_kind nk;
	deck_kind_new_normal(&nk);
	nk.normal.has_new_limit = true;
	nk.normal.has_review_limit_today = true;
	nk.normal.has_desired_retention = true;
	nk.normal.desired_retention = 0.9f;
	assert_int_equal(deck_kind_encode(&nk, &out, NULL), ST_OK);
	assert_buf_hex(&out, "0a0b 0801 3800 4200 556666663f");
	deck_kind_free(&nk);

	/* negative ids are 10-byte varints: template target deck and id */
	buf_reset(&out);
	struct template_config tc = {0};
	tc.target_deck_id = -5;
	tc.has_id = true;
	tc.id = INT64_MIN;
	assert_int_equal(template_config_encode(&tc, &out, NULL), ST_OK);
	assert_buf_hex(&out, "28fbffffffffffffffff01 4080808080808080808001");
	struct template_config tc2;
	assert_int_equal(template_config_decode(out.data, out.len, &tc2, NULL), ST_OK);
	assert_true(tc2.target_deck_id == -5 && tc2.id == INT64_MIN);
	template_config_free(&tc2);

	/* NaN floats are written (they differ from 0); -0.0 is omitted like 0 */
	buf_reset(&out);
	memset(&dc, 0, sizeof dc);
	dc.initial_ease = NAN;
	dc.easy_multiplier = -0.0f;
	assert_int_equal(deckconf_config_encode(&dc, &out, NULL), ST_OK);
	assert_int_equal(out.len, 5);
	assert_int_equal(out.data[0], 0x5d);
	buf_free(&out);
}

static void test_empty_blobs(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 0);
	for (int k = 0; k < B_NKINDS; k++) {
		struct errinfo e = {0};
		enum status st = roundtrip((enum blob_kind)k, NULL, 0, &out, &e);
		if (k == B_KIND) {
			assert_int_equal(st, ST_CORRUPT);
			continue;
		}
		assert_int_equal(st, ST_OK);
		assert_int_equal(out.len, 0);
	}
	struct deckconf_config dc;
	assert_int_equal(deckconf_config_decode(NULL, 0, &dc, NULL), ST_OK);
	assert_true(dc.desired_retention == 0.0f);
	assert_false(dc.wait_for_audio);
	deckconf_config_free(&dc);
	/* encoders append and restore the length on failure (cap reached) */
	struct buf small;
	buf_init(&small, 8);
	assert_int_equal(buf_append(&small, "xy", 2, NULL), ST_OK);
	assert_int_equal(deckconf_config_default(&dc, NULL), ST_OK);
	assert_int_equal(deckconf_config_encode(&dc, &small, NULL), ST_TOOBIG);
	assert_int_equal(small.len, 2);
	deckconf_config_free(&dc);
	buf_free(&small);
	buf_free(&out);
}

static void test_deck_names(void **state)
{
	(void)state;
	static const struct {
		const char *human, *native;
	} cases[] = {
	    {"foo", "foo"},
	    {"foo::bar", "foo\x1f"
	                 "bar"},
	    {"foo::::baz", "foo\x1f"
	                   "blank\x1f"
	                   "baz"},
	    {"fo\x1fo::ba\nr", "foo\x1f"
	                       "bar"},
	    {"foo:::bar", "foo\x1f"
	                  "bar"},
	    {"foo:::bar:baz: ", "foo\x1f"
	                        "bar:baz"},
	    {"", "blank"},
	    {"::", "blank\x1f"
	           "blank"},
	    {"  A  :: B\t", "A\x1f"
	                    "B"},
	    {"Cafe\xcc\x81", "Caf\xc3\xa9"}, /* NFC: e + U+0301 -> é */
	    {"\xe3\x80\x80x\xc2\xa0", "x"},  /* U+3000, U+00A0 trimmed */
	    {"\xe8\x8b\xb1\xe8\xaf\xad::\xe5\xad\xa6", "\xe8\x8b\xb1\xe8\xaf\xad\x1f\xe5\xad\xa6"},
	    {"a\x7f"
	     "b",
	     "ab"}, /* DEL is ASCII control */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out = NULL;
		assert_int_equal(deck_name_native_from_human(cases[i].human, &out, NULL), ST_OK);
		if (strcmp(out, cases[i].native) != 0)
			fail_msg("case %zu: got \"%s\"", i, out);
		free(out);
	}
	char *out = (char *)"x";
	struct errinfo e = {0};
	assert_int_equal(deck_name_native_from_human("bad\xff", &out, &e), ST_INVALID);
	assert_null(out);
	char *h = deck_name_human_from_native("a\x1f"
	                                      "b\x1f"
	                                      "c");
	assert_string_equal(h, "a::b::c");
	free(h);
	h = deck_name_human_from_native(NULL);
	assert_string_equal(h, "");
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_roundtrip), cmocka_unit_test(test_fixture_mutations),
	    cmocka_unit_test(test_defaults),          cmocka_unit_test(test_fix_ranges),
	    cmocka_unit_test(test_fixture_values),    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_unknown_fields),    cmocka_unit_test(test_protobuf_semantics),
	    cmocka_unit_test(test_empty_blobs),       cmocka_unit_test(test_deck_names),
	};
	return cmocka_run_group_tests(tests, load_blobs, free_blobs);
}
