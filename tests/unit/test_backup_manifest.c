/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_backup_manifest.c - manifest.jsonl and SHA256SUMS: round trips,
 * names that are not UTF-8, and the hostile inputs the reader must refuse
 * (truncation, unsafe names, forged object paths, newer versions, long
 * lines).  Also the snapshot-name rules of backup_dest.
 */
#include "testutil.h"

#include <fcntl.h>
#include <jansson.h>

#include "backup_dest.h"
#include "backup_manifest.h"

struct fx {
	char *dir;
	char path[4096];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->dir = tu_mkdtemp();
	snprintf(f->path, sizeof f->path, "%s/manifest.jsonl", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static void fill(struct backup_entry *en, enum backup_kind kind, const char *user,
                 const char *name, size_t name_len, unsigned char seed)
{
	memset(en, 0, sizeof *en);
	en->kind = kind;
	en->user = (char *)user;
	en->user_len = strlen(user);
	en->name = (char *)name;
	en->name_len = name_len;
	en->size = 1000u + seed;
	memset(en->sha256, seed, 32);
	memset(en->sha1, seed + 1, 20);
	en->stored_size = 500u + seed;
	memset(en->stored_sha256, seed + 2, 32);
	en->stored_mtime_ns = 1700000000123456789LL + seed;
	en->src = (struct backup_stat){1, 1000u + seed, 1690000000000000000LL, 1690000000000000001LL,
	                               4242u + seed};
	if (kind == BACKUP_KIND_DB) {
		en->check = (char *)"ok";
		en->src_stat_ns = 1700000000000000000LL;
	} else {
		en->listed = seed & 1;
	}
}

static void write_sample(const char *path, int encrypted, struct backup_entry *v, size_t *n)
{
	char *rec[] = {(char *)"age1examplerecipient"};
	struct backup_header h = {.version = 1, .created = 1714532400, .encrypted = encrypted,
	                          .zstd_level = 3, .recipients = encrypted ? rec : NULL,
	                          .nrecipients = encrypted ? 1 : 0};
	snprintf(h.snapshot, sizeof h.snapshot, "20240501T030000Z");
	struct backup_mwriter w;
	assert_int_equal(backup_mwriter_open(&w, path, &h, NULL), ST_OK);
	static const char bad_utf8[] = "caf\xe9.jpg"; /* Latin-1, not UTF-8 */
	fill(&v[0], BACKUP_KIND_DB, "alice", "collection.anki2", 16, 1);
	fill(&v[1], BACKUP_KIND_MEDIA, "alice", "ünïcode pic.jpg", strlen("ünïcode pic.jpg"), 2);
	fill(&v[2], BACKUP_KIND_MEDIA, "alice", bad_utf8, strlen(bad_utf8), 3);
	fill(&v[3], BACKUP_KIND_MEDIA, "alice", "tab\tand\\back", strlen("tab\tand\\back"), 4);
	fill(&v[4], BACKUP_KIND_DB, "bob", "media.db", 8, 5);
	*n = 5;
	for (size_t i = 0; i < *n; i++)
		assert_int_equal(backup_mwriter_entry(&w, &v[i], NULL), ST_OK);
	struct backup_user_summary u = {.user = (char *)"alice", .user_len = 5, .collection = 1,
	                                .media_files = 3, .media_bytes = 3009, .unlisted = 1};
	assert_int_equal(backup_mwriter_user(&w, &u, NULL), ST_OK);
	unsigned char sha[32];
	assert_int_equal(backup_mwriter_finish(&w, 0, sha, NULL), ST_OK);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct backup_entry v[8];
	size_t n;
	write_sample(f->path, 1, v, &n);
	struct backup_manifest m;
	struct errinfo e = {0};
	assert_int_equal(backup_manifest_load(f->path, 0, &m, &e), ST_OK);
	assert_int_equal(m.n, n);
	assert_int_equal(m.h.encrypted, 1);
	assert_int_equal(m.h.created, 1714532400);
	assert_string_equal(m.h.snapshot, "20240501T030000Z");
	assert_int_equal(m.h.nrecipients, 1);
	assert_string_equal(m.h.recipients[0], "age1examplerecipient");
	assert_int_equal(m.nusers, 1);
	assert_int_equal(m.users[0].media_files, 3);
	for (size_t i = 0; i < n; i++) {
		const struct backup_entry *a = &v[i], *b = &m.entries[i];
		assert_int_equal(a->kind, b->kind);
		assert_int_equal(a->name_len, b->name_len);
		assert_memory_equal(a->name, b->name, a->name_len);
		assert_int_equal(a->size, b->size);
		assert_memory_equal(a->sha256, b->sha256, 32);
		assert_memory_equal(a->sha1, b->sha1, 20);
		assert_int_equal(a->stored_size, b->stored_size);
		assert_memory_equal(a->stored_sha256, b->stored_sha256, 32);
		assert_int_equal(a->stored_mtime_ns, b->stored_mtime_ns);
		assert_true(backup_stat_equal(&a->src, &b->src));
		if (a->kind == BACKUP_KIND_DB) {
			assert_string_equal(b->check, "ok");
			assert_int_equal(a->src_stat_ns, b->src_stat_ns);
		} else {
			assert_int_equal(a->listed, b->listed);
		}
	}
	/* The non-UTF-8 name travelled as hex. */
	size_t len;
	char *text = tu_read_file(f->path, &len);
	assert_non_null(strstr(text, "\"name_hex\":\"636166e92e6a7067\""));
	assert_non_null(strstr(text, "\"object\":\"users/alice/collection.anki2.zst.age\""));
	free(text);
	/* Object paths derive from the entry alone. */
	char p[256];
	assert_int_equal(backup_object_path(&m.entries[1], 1, p, sizeof p, NULL), ST_OK);
	assert_string_equal(p, "users/alice/media/0303030303030303030303030303030303030303.zst.age");
	assert_int_equal(backup_object_path(&m.entries[4], 0, p, sizeof p, NULL), ST_OK);
	assert_string_equal(p, "users/bob/media.db.zst");
	/* Header only. */
	struct backup_manifest h;
	assert_int_equal(backup_manifest_load(f->path, 1, &h, NULL), ST_OK);
	assert_int_equal(h.n, 0);
	assert_int_equal(h.h.encrypted, 1);
	backup_manifest_free(&h);
	backup_manifest_free(&m);
}

/* Replace the first occurrence of from by to in the file. */
static void edit(const char *path, const char *from, const char *to)
{
	size_t len;
	char *t = tu_read_file(path, &len);
	char *at = strstr(t, from);
	assert_non_null(at);
	FILE *f = fopen(path, "wb");
	fwrite(t, 1, (size_t)(at - t), f);
	fputs(to, f);
	fputs(at + strlen(from), f);
	fclose(f);
	free(t);
}

static enum status load_status(const char *path)
{
	struct backup_manifest m;
	struct errinfo e = {0};
	enum status st = backup_manifest_load(path, 0, &m, &e);
	if (st == ST_OK)
		backup_manifest_free(&m);
	return st;
}

static void test_truncated_and_trailing(void **state)
{
	struct fx *f = *state;
	struct backup_entry v[8];
	size_t n;
	write_sample(f->path, 0, v, &n);
	size_t len = 0;
	char *t = tu_read_file(f->path, &len);
	/* Cut off the end line. */
	char *last = t + len - 2;
	while (*last != '\n')
		last--;
	FILE *o = fopen(f->path, "wb");
	fwrite(t, 1, (size_t)(last - t) + 1, o);
	fclose(o);
	assert_int_equal(load_status(f->path), ST_CORRUPT);
	/* Cut in the middle of a line. */
	o = fopen(f->path, "wb");
	fwrite(t, 1, len / 2, o);
	fclose(o);
	assert_int_equal(load_status(f->path), ST_CORRUPT);
	/* Something after the end line. */
	o = fopen(f->path, "wb");
	fwrite(t, 1, len, o);
	fputs("{\"type\":\"user\"}\n", o);
	fclose(o);
	assert_int_equal(load_status(f->path), ST_CORRUPT);
	/* Wrong count in the end line. */
	o = fopen(f->path, "wb");
	fwrite(t, 1, len, o);
	fclose(o);
	edit(f->path, "\"entries\":5", "\"entries\":4");
	assert_int_equal(load_status(f->path), ST_CORRUPT);
	free(t);
	/* Empty file. */
	tu_write_file(f->path, "");
	assert_int_equal(load_status(f->path), ST_CORRUPT);
}

static void test_hostile_fields(void **state)
{
	struct fx *f = *state;
	struct backup_entry v[8];
	size_t n;
	static const struct {
		const char *from, *to;
		enum status want;
	} cases[] = {
	    /* path traversal through the user name */
	    {"\"user\":\"bob\"", "\"user\":\"..\"", ST_CORRUPT},
	    {"\"user\":\"bob\"", "\"user\":\"a/b\"", ST_CORRUPT},
	    /* a media name that is not one path component */
	    {"\"name\":\"ünïcode pic.jpg\"", "\"name\":\"../../etc/passwd\"", ST_CORRUPT},
	    /* a database we do not know */
	    {"\"name\":\"media.db\"", "\"name\":\"other.db\"", ST_CORRUPT},
	    /* an object path pointing elsewhere */
	    {"\"object\":\"users/bob/media.db.zst\"", "\"object\":\"users/alice/media.db.zst\"",
	     ST_CORRUPT},
	    /* hashes of the wrong length / not hex */
	    {"\"sha1\":\"0202", "\"sha1\":\"zz02", ST_CORRUPT},
	    {"\"stored_sha256\":\"0303", "\"stored_sha256\":\"03", ST_CORRUPT},
	    /* negative size */
	    {"\"size\":1001", "\"size\":-1", ST_CORRUPT},
	    /* not JSON */
	    {"{\"type\":\"db\"", "{\"type\":db", ST_CORRUPT},
	    /* unknown line type */
	    {"\"type\":\"user\"", "\"type\":\"surprise\"", ST_CORRUPT},
	    /* a newer format */
	    {"\"version\":1", "\"version\":2", ST_VERSION},
	    /* another compressor */
	    {"\"compression\":\"zstd\"", "\"compression\":\"xz\"", ST_UNSUPPORTED},
	    /* duplicate keys are refused, not "last one wins" */
	    {"\"size\":1001,", "\"size\":1001,\"size\":7,", ST_CORRUPT},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unlink(f->path);
		write_sample(f->path, 0, v, &n);
		edit(f->path, cases[i].from, cases[i].to);
		enum status st = load_status(f->path);
		if (st != cases[i].want)
			fail_msg("case %zu (%s): got %d want %d", i, cases[i].to, st, cases[i].want);
	}
}

static void test_long_line_refused(void **state)
{
	struct fx *f = *state;
	FILE *o = fopen(f->path, "wb");
	fputs("{\"type\":\"header\",\"format\":\"anki-backup\",\"x\":\"", o);
	for (int i = 0; i < BACKUP_MANIFEST_LINE_MAX; i++)
		fputc('a', o);
	fputs("\"}\n", o);
	fclose(o);
	assert_int_equal(load_status(f->path), ST_CORRUPT);
}

static void test_sums_round_trip_and_escapes(void **state)
{
	struct fx *f = *state;
	struct backup_entry v[3];
	fill(&v[0], BACKUP_KIND_DB, "alice", "collection.anki2", 16, 1);
	fill(&v[1], BACKUP_KIND_DB, "we\\ird\nuser", "media.db", 8, 2);
	fill(&v[2], BACKUP_KIND_MEDIA, "alice", "x.jpg", 5, 3);
	char p[4200];
	snprintf(p, sizeof p, "%s/SHA256SUMS", f->dir);
	unsigned char msha[32];
	memset(msha, 0xab, 32);
	assert_int_equal(backup_sums_write(p, v, 3, 0, msha, NULL), ST_OK);
	size_t len;
	char *t = tu_read_file(p, &len);
	/* GNU sha256sum's escaped form: leading backslash, \\ and \n. */
	assert_non_null(strstr(t, "\\0404040404"));
	assert_non_null(strstr(t, "  users/we\\\\ird\\nuser/media.db.zst\n"));
	assert_non_null(strstr(t, "abababab"));
	free(t);
	struct backup_sum *s;
	size_t n;
	assert_int_equal(backup_sums_load(p, &s, &n, NULL), ST_OK);
	assert_int_equal(n, 4);
	const struct backup_sum *hit = backup_sums_find(s, n, "users/we\\ird\nuser/media.db.zst");
	assert_non_null(hit);
	assert_memory_equal(hit->sha256, v[1].stored_sha256, 32);
	assert_non_null(backup_sums_find(s, n, "manifest.jsonl"));
	assert_null(backup_sums_find(s, n, "users/nobody"));
	backup_sums_free(s, n);
	/* Malformed lines. */
	tu_write_file(p, "nothex  file\n");
	assert_int_equal(backup_sums_load(p, &s, &n, NULL), ST_CORRUPT);
	tu_write_file(p, "0000000000000000000000000000000000000000000000000000000000000000 one-space\n");
	assert_int_equal(backup_sums_load(p, &s, &n, NULL), ST_CORRUPT);
}

/* Media lines are encoded by hand: they must be exactly what jansson's
 * compact encoder writes for the same object. */
static void test_hand_encoded_lines_equal_jansson(void **state)
{
	struct fx *f = *state;
	static const char *names[] = {"q\"uote.jpg", "ctl\x01\x1f.png", "back\\slash", "ünï €.mp3",
	                              "tab\tnl\ncr\r.bin", "\x7f"};
	struct backup_header h = {.version = 1, .created = 1, .zstd_level = 3};
	snprintf(h.snapshot, sizeof h.snapshot, "20240501T030000Z");
	struct backup_mwriter w;
	assert_int_equal(backup_mwriter_open(&w, f->path, &h, NULL), ST_OK);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct backup_entry en;
		fill(&en, BACKUP_KIND_MEDIA, "alice", names[i], strlen(names[i]), (unsigned char)i);
		if (i == 2)
			en.src.present = 0;
		assert_int_equal(backup_mwriter_entry(&w, &en, NULL), ST_OK);
	}
	unsigned char sha[32];
	assert_int_equal(backup_mwriter_finish(&w, 0, sha, NULL), ST_OK);
	FILE *in = fopen(f->path, "r");
	char line[8192];
	int media = 0;
	while (fgets(line, sizeof line, in)) {
		line[strcspn(line, "\n")] = '\0';
		json_t *o = json_loads(line, 0, NULL);
		assert_non_null(o);
		if (strcmp(json_string_value(json_object_get(o, "type")), "media") == 0) {
			char *again = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
			assert_string_equal(again, line);
			free(again);
			media++;
		}
		json_decref(o);
	}
	fclose(in);
	assert_int_equal(media, 6);
	struct backup_manifest m;
	assert_int_equal(backup_manifest_load(f->path, 0, &m, NULL), ST_OK);
	assert_int_equal(m.n, 6);
	for (size_t i = 0; i < m.n; i++)
		assert_string_equal(m.entries[i].name, names[i]);
	backup_manifest_free(&m);
}

static void test_snapshot_names(void **state)
{
	(void)state;
	assert_true(backup_dest_name_ok("20240501T030000Z"));
	assert_true(backup_dest_name_ok("20240501T030000Z-2"));
	assert_true(backup_dest_name_ok("20240501T030000Z-123456"));
	assert_false(backup_dest_name_ok("20240501T030000Z-0"));
	assert_false(backup_dest_name_ok("20240501T030000Z-"));
	assert_false(backup_dest_name_ok("20240501T030000Z-1234567"));
	assert_false(backup_dest_name_ok("20240501T030000"));
	assert_false(backup_dest_name_ok("2024050xT030000Z"));
	assert_false(backup_dest_name_ok(".tmp-20240501T030000Z"));
	assert_false(backup_dest_name_ok("../20240501T030000Z"));
	assert_false(backup_dest_name_ok(""));
	struct backup_snapref refs[2] = {{.name = "20240501T030000Z", .readable = 1},
	                                 {.name = "20240502T030000Z", .readable = 0}};
	struct errinfo e = {0};
	assert_int_equal(backup_dest_resolve(refs, 2, "latest", &e), 0);
	assert_int_equal(backup_dest_resolve(refs, 2, "20240502T030000Z", &e), -1);
	assert_int_equal(e.code, ST_CORRUPT);
	assert_int_equal(backup_dest_resolve(refs, 2, "nope", &e), -1);
	assert_int_equal(e.code, ST_NOTFOUND);
}

static void test_utf8_and_hex_helpers(void **state)
{
	(void)state;
	assert_true(backup_utf8_ok("plain", 5));
	assert_true(backup_utf8_ok("\xc3\xa9", 2));
	assert_true(backup_utf8_ok("\xf0\x9f\x98\x80", 4));
	assert_false(backup_utf8_ok("\xe9", 1));              /* Latin-1 */
	assert_false(backup_utf8_ok("\xc0\xaf", 2));          /* overlong */
	assert_false(backup_utf8_ok("\xed\xa0\x80", 3));      /* surrogate */
	assert_false(backup_utf8_ok("\xf4\x90\x80\x80", 4));  /* > U+10FFFF */
	assert_false(backup_utf8_ok("\xe2\x82", 2));          /* truncated */
	unsigned char b[3];
	assert_int_equal(backup_unhex(b, 3, "00ff7A"), 0);
	assert_int_equal(b[1], 0xff);
	assert_int_equal(b[2], 0x7a);
	assert_int_equal(backup_unhex(b, 3, "00ff7"), -1);
	assert_int_equal(backup_unhex(b, 3, "00ff7g"), -1);
	char hex[7];
	backup_hex(hex, b, 3);
	assert_string_equal(hex, "00ff7a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_and_trailing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_line_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sums_round_trip_and_escapes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hand_encoded_lines_equal_jansson, setup, teardown),
	    cmocka_unit_test(test_snapshot_names),
	    cmocka_unit_test(test_utf8_and_hex_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
