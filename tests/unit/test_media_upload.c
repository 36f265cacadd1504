/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_media_upload.c - uploadChanges at the library level
 * (sync-protocol.md §5.4, §5.10, §9.8): the change table and its USN
 * rules, the client's batching, and every hostile or malformed upload,
 * each of which must be refused with 400 (ST_INVALID), change nothing in
 * the DB, the USN or the folder, and write nothing outside the folder.
 */
#include "media_testutil.h"

#include "media_name.h"

static const char HELLO_SHA1[] = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d";

/* Every batch of two or more added files extracted on two threads. */
static int setup_parallel(void **state)
{
	mt_setup(state);
	struct mt_env *t = *state;
	t->o.parallel_min = 1;
	mt_env_reopen(t);
	return 0;
}

static char *changes(struct mt_env *t, int32_t after)
{
	struct buf b;
	buf_init(&b, 0);
	struct errinfo e;
	if (media_srv_changes(t->m, after, &b, &e))
		fail_msg("changes: %s", e.msg);
	return (char *)buf_steal(&b, NULL);
}

/* §9.8 vectors, byte for byte. */
static void test_vectors(void **state)
{
	struct mt_env *t = *state;
	struct mt_change c = {"hello.txt", "hello", 5};
	struct media_upload_result r;
	struct buf out;
	buf_init(&out, 0);
	mt_upload_zip(t->zip, &c, 1);
	assert_int_equal(media_srv_upload(t->m, t->zip, &r, &out, NULL), ST_OK);
	assert_string_equal((char *)out.data, "{\"data\":[1,1],\"err\":\"\"}");
	assert_int_equal(out.len, 23);
	char *ch = changes(t, 0);
	assert_string_equal(
	    ch, "{\"data\":[[\"hello.txt\",1,\"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\"]],"
	        "\"err\":\"\"}");
	free(ch);
	/* same upload again: identical content, no USN change */
	buf_reset(&out);
	assert_int_equal(media_srv_upload(t->m, t->zip, &r, &out, NULL), ST_OK);
	assert_string_equal((char *)out.data, "{\"data\":[1,1],\"err\":\"\"}");
	assert_int_equal(r.unchanged, 1);
	/* deletion */
	struct mt_change d = {"hello.txt", NULL, 0};
	mt_upload_zip(t->zip, &d, 1);
	buf_reset(&out);
	assert_int_equal(media_srv_upload(t->m, t->zip, &r, &out, NULL), ST_OK);
	assert_string_equal((char *)out.data, "{\"data\":[1,2],\"err\":\"\"}");
	ch = changes(t, 1);
	assert_string_equal(ch, "{\"data\":[[\"hello.txt\",2,\"\"]],\"err\":\"\"}");
	free(ch);
	/* the same deletion again */
	buf_reset(&out);
	assert_int_equal(media_srv_upload(t->m, t->zip, &r, &out, NULL), ST_OK);
	assert_string_equal((char *)out.data, "{\"data\":[1,2],\"err\":\"\"}");
	assert_null(mt_file(t, "hello.txt", NULL));
	/* the deleted row keeps its checksum (§5.7) */
	struct media_row row;
	assert_int_equal(media_db_get(media_srv_db(t->m), "hello.txt", 9, &row, NULL), ST_OK);
	assert_int_equal(row.size, 0);
	char hex[41];
	for (int i = 0; i < 20; i++)
		sprintf(hex + 2 * i, "%02x", row.csum[i]);
	assert_string_equal(hex, HELLO_SHA1);
	buf_free(&out);
	mt_assert_consistent(t);
}

/* The client's batching: 60 files, 25 per zip, a deletion in the last;
 * USN +1 per real change, changes from 0 and from a later usn. */
static void test_sixty_files(void **state)
{
	struct mt_env *t = *state;
	char names[60][32], datas[60][64];
	struct mt_change c[60];
	for (int i = 0; i < 60; i++) {
		snprintf(names[i], sizeof names[i], "file%02d.jpg", i);
		snprintf(datas[i], sizeof datas[i], "content of file %d", i);
		c[i] = (struct mt_change){names[i], datas[i], strlen(datas[i])};
	}
	struct media_upload_result r;
	assert_int_equal(mt_upload(t, c, 25, &r, NULL), ST_OK);
	assert_int_equal(r.processed, 25);
	assert_int_equal(r.current_usn, 25);
	assert_int_equal(mt_upload(t, c + 25, 25, &r, NULL), ST_OK);
	assert_int_equal(r.current_usn, 50);
	struct mt_change last[11];
	memcpy(last, c + 50, 10 * sizeof *c);
	last[10] = (struct mt_change){names[3], NULL, 0};
	assert_int_equal(mt_upload(t, last, 11, &r, NULL), ST_OK);
	assert_int_equal(r.processed, 11);
	assert_int_equal(r.current_usn, 61);
	assert_int_equal(r.added, 10);
	assert_int_equal(r.removed, 1);
	struct media_meta meta;
	assert_int_equal(media_srv_meta(t->m, &meta, NULL), ST_OK);
	assert_int_equal(meta.total_nonempty_files, 59);
	int64_t bytes = 0;
	for (int i = 0; i < 60; i++)
		if (i != 3)
			bytes += (int64_t)strlen(datas[i]);
	assert_int_equal(meta.total_bytes, bytes);

	/* from 0: 60 rows, ascending usn, file03 last with "" */
	char *ch = changes(t, 0);
	json_t *j = json_loads(ch, 0, NULL);
	json_t *data = json_object_get(j, "data");
	assert_int_equal(json_array_size(data), 60);
	int32_t prev = 0;
	for (size_t i = 0; i < 60; i++) {
		json_t *row = json_array_get(data, i);
		int32_t usn = (int32_t)json_integer_value(json_array_get(row, 1));
		assert_true(usn > prev);
		prev = usn;
		const char *sha = json_string_value(json_array_get(row, 2));
		const char *name = json_string_value(json_array_get(row, 0));
		if (!strcmp(name, "file03.jpg")) {
			assert_string_equal(sha, "");
			assert_int_equal(usn, 61);
		} else {
			int k = atoi(name + 4);
			char want[41];
			mt_sha1_hex(datas[k], strlen(datas[k]), want);
			assert_string_equal(sha, want);
		}
	}
	json_decref(j);
	free(ch);
	/* from a later usn: strictly after */
	ch = changes(t, 55);
	j = json_loads(ch, 0, NULL);
	data = json_object_get(j, "data");
	assert_int_equal(json_array_size(data), 6);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(data, 0), 1)), 56);
	json_decref(j);
	free(ch);
	ch = changes(t, 61);
	assert_string_equal(ch, "{\"data\":[],\"err\":\"\"}");
	free(ch);
	mt_assert_consistent(t);
}

/* First upload of a name wins; a different content from another device
 * replaces it only when that device really uploads it (the client would
 * download instead, see mediaclient.py); identical re-upload and repeated
 * deletion never move the USN (§5.4 parallel devices). */
static void test_parallel_devices(void **state)
{
	struct mt_env *t = *state;
	struct media_upload_result r;
	struct mt_change a = {"auto", "auto", 4};
	assert_int_equal(mt_upload(t, &a, 1, &r, NULL), ST_OK);
	int32_t usn = mt_usn(t);
	assert_int_equal(mt_upload(t, &a, 1, &r, NULL), ST_OK); /* second device, same bytes */
	assert_int_equal(mt_usn(t), usn);
	struct mt_change del = {"auto", NULL, 0};
	assert_int_equal(mt_upload(t, &del, 1, &r, NULL), ST_OK);
	assert_int_equal(mt_usn(t), usn + 1);
	assert_int_equal(mt_upload(t, &del, 1, &r, NULL), ST_OK); /* second device's deletion */
	assert_int_equal(mt_usn(t), usn + 1);
	assert_int_equal(r.processed, 1);
	assert_int_equal(r.current_usn, usn + 1);
	struct mt_change d1 = {"diff", "1", 1}, d2 = {"diff", "2", 1};
	assert_int_equal(mt_upload(t, &d1, 1, &r, NULL), ST_OK);
	assert_int_equal(r.added, 1);
	assert_int_equal(mt_upload(t, &d2, 1, &r, NULL), ST_OK);
	assert_int_equal(r.replaced, 1);
	assert_int_equal(r.current_usn, usn + 3);
	size_t len;
	char *f = mt_file(t, "diff", &len);
	assert_string_equal(f, "2");
	free(f);
	mt_assert_consistent(t);
}

/* Several changes to one name in one zip apply in order. */
static void test_same_name_twice(void **state)
{
	struct mt_env *t = *state;
	struct media_upload_result r;
	struct mt_change c[3] = {{"x.png", "one", 3}, {"x.png", NULL, 0}, {"y.png", "y", 1}};
	assert_int_equal(mt_upload(t, c, 3, &r, NULL), ST_OK);
	assert_int_equal(r.current_usn, 3);
	assert_null(mt_file(t, "x.png", NULL));
	struct mt_change c2[2] = {{"y.png", NULL, 0}, {"y.png", "again", 5}};
	assert_int_equal(mt_upload(t, c2, 2, &r, NULL), ST_OK);
	assert_int_equal(r.current_usn, 5);
	char *f = mt_file(t, "y.png", NULL);
	assert_string_equal(f, "again");
	free(f);
	mt_assert_consistent(t);
}

/* Refused uploads: status 400, nothing changed anywhere. */
static void expect_refused(struct mt_env *t, const char *what)
{
	char *before_root = mt_list(t->root);
	int32_t usn = mt_usn(t);
	struct media_meta m0, m1;
	assert_int_equal(media_srv_meta(t->m, &m0, NULL), ST_OK);
	struct media_upload_result r;
	struct buf out;
	buf_init(&out, 0);
	struct errinfo e;
	errinfo_clear(&e);
	enum status st = media_srv_upload(t->m, t->zip, &r, &out, &e);
	if (st != ST_INVALID)
		fail_msg("%s: status %s (%s), expected invalid", what, status_name(st), e.msg);
	assert_int_equal(status_http(st), 400);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	assert_int_equal(mt_usn(t), usn);
	assert_int_equal(media_srv_meta(t->m, &m1, NULL), ST_OK);
	assert_int_equal(m0.last_usn, m1.last_usn);
	assert_int_equal(m0.total_bytes, m1.total_bytes);
	assert_int_equal(m0.total_nonempty_files, m1.total_nonempty_files);
	char *after_root = mt_list(t->root);
	if (strcmp(before_root, after_root) != 0)
		fail_msg("%s: files changed:\nbefore:\n%s\nafter:\n%s", what, before_root,
		         after_root);
	free(before_root);
	free(after_root);
	/* the journal is empty again: nothing is left for recovery */
	char jp[4200];
	snprintf(jp, sizeof jp, "%s/%s", t->user, MEDIA_JOURNAL_FILE);
	struct stat sb;
	assert_int_equal(stat(jp, &sb), 0);
	assert_int_equal(sb.st_size, 0);
}

static void seed(struct mt_env *t)
{
	struct mt_change c[2] = {{"keep.jpg", "keep", 4}, {"other.mp3", "other", 5}};
	assert_int_equal(mt_upload(t, c, 2, NULL, NULL), ST_OK);
}

static void test_hostile_names(void **state)
{
	struct mt_env *t = *state;
	seed(t);
	char long256[257], long255[256];
	memset(long256, 'a', 256);
	long256[256] = '\0';
	memset(long255, 'b', 255);
	long255[255] = '\0';
	/* a JSON _meta written by hand so any byte can be in a name */
	const char *metas[] = {
	    "[[\"../x\",\"0\"]]", "[[\"/abs\",\"0\"]]", "[[\"a/b\",\"0\"]]", "[[\"a\\\\b\",\"0\"]]",
	    "[[\"a\\u0000b\",\"0\"]]", "[[\"\",\"0\"]]", "[[\".\",\"0\"]]", "[[\"..\",\"0\"]]",
	    "[[\"e\\u0301.jpg\",\"0\"]]", "[[\"../x\",null]]", "[[\"../../sentinel\",\"\"]]",
	    /* a name that equals our temporary prefix is not NFC */
	    "[[\".ankihost-tmp-e\\u0301.0123456789abcdef\",\"0\"]]",
	    "[[\"ok.jpg\",\"0\"],[\"a/b\",null]]", /* one bad entry spoils the batch */
	};
	const char *members[] = {"0"};
	const char *datas[] = {"payload"};
	for (size_t i = 0; i < sizeof metas / sizeof *metas; i++) {
		mt_raw_zip(t->zip, metas[i], strlen(metas[i]), members, datas, 1);
		expect_refused(t, metas[i]);
	}
	char meta[600];
	snprintf(meta, sizeof meta, "[[\"%s\",\"0\"]]", long256);
	mt_raw_zip(t->zip, meta, strlen(meta), members, datas, 1);
	expect_refused(t, "256-byte name");
	/* 255 bytes is the limit, and fine */
	snprintf(meta, sizeof meta, "[[\"%s\",\"0\"]]", long255);
	mt_raw_zip(t->zip, meta, strlen(meta), members, datas, 1);
	assert_int_equal(media_srv_upload(t->m, t->zip, NULL, NULL, NULL), ST_OK);
	/* non-ASCII NFC is fine: "é" precomposed */
	const char *nfc = "[[\"caf\xc3\xa9.jpg\",\"0\"]]";
	mt_raw_zip(t->zip, nfc, strlen(nfc), members, datas, 1);
	assert_int_equal(media_srv_upload(t->m, t->zip, NULL, NULL, NULL), ST_OK);
	char *f = mt_file(t, "caf\xc3\xa9.jpg", NULL);
	assert_string_equal(f, "payload");
	free(f);
	/* invalid UTF-8 cannot even be JSON */
	const char *bad = "[[\"\xff\xfe\",\"0\"]]";
	mt_raw_zip(t->zip, bad, strlen(bad), members, datas, 1);
	expect_refused(t, "invalid UTF-8");
	mt_assert_consistent(t);
}

static void test_bad_meta(void **state)
{
	struct mt_env *t = *state;
	seed(t);
	const char *members[] = {"0"};
	const char *datas[] = {"payload"};
	const char *metas[] = {
	    "{\"0\":\"x.jpg\"}",             /* the download form, not an array */
	    "[\"x.jpg\",\"0\"]",             /* not pairs */
	    "[[\"x.jpg\"]]",                 /* one element */
	    "[[\"x.jpg\",\"0\",\"extra\"]]", /* three */
	    "[[1,\"0\"]]",                   /* name not a string */
	    "[[\"x.jpg\",0]]",               /* member not a string */
	    "[[\"x.jpg\",\"0\"]",            /* truncated JSON */
	    "",                              /* empty */
	    "[[\"x.jpg\",\"1\"]]",           /* member missing */
	    "[[\"x.jpg\",\"0\\u0000\"]]",    /* member name with NUL */
	};
	for (size_t i = 0; i < sizeof metas / sizeof *metas; i++) {
		mt_raw_zip(t->zip, metas[i], strlen(metas[i]), members, datas, 1);
		expect_refused(t, metas[i]);
	}
	/* no _meta member */
	mt_raw_zip(t->zip, NULL, 0, members, datas, 1);
	expect_refused(t, "no _meta");
	/* _meta over 50 KiB (valid JSON, padded with spaces) */
	size_t big = MEDIA_META_MAX + 10;
	char *meta = malloc(big + 1);
	memset(meta, ' ', big);
	memcpy(meta, "[[\"x.jpg\",\"0\"]]", 15);
	meta[big] = '\0';
	mt_raw_zip(t->zip, meta, big, members, datas, 1);
	expect_refused(t, "_meta over 50 KiB");
	/* ... and exactly 50 KiB is accepted */
	mt_raw_zip(t->zip, meta, MEDIA_META_MAX, members, datas, 1);
	assert_int_equal(media_srv_upload(t->m, t->zip, NULL, NULL, NULL), ST_OK);
	/* a _meta whose header claims less than it holds */
	mt_raw_zip(t->zip, meta, big, members, datas, 1);
	mt_patch_size(t->zip, "_meta", 100);
	expect_refused(t, "_meta longer than declared");
	free(meta);
	/* zero entries: fine, nothing happens */
	const char *empty = "[]";
	mt_raw_zip(t->zip, empty, 2, NULL, NULL, 0);
	struct media_upload_result r;
	int32_t usn = mt_usn(t);
	assert_int_equal(media_srv_upload(t->m, t->zip, &r, NULL, NULL), ST_OK);
	assert_int_equal(r.processed, 0);
	assert_int_equal(r.current_usn, usn);
	/* "" as member is a deletion (older clients, AnkiDroid) */
	const char *ddel = "[[\"keep.jpg\",\"\"]]";
	mt_raw_zip(t->zip, ddel, strlen(ddel), NULL, NULL, 0);
	assert_int_equal(media_srv_upload(t->m, t->zip, &r, NULL, NULL), ST_OK);
	assert_int_equal(r.removed, 1);
	assert_int_equal(mt_usn(t), usn + 1);
	mt_assert_consistent(t);
}

static void test_counts_and_sizes(void **state)
{
	struct mt_env *t = *state;
	seed(t);
	/* 26 entries */
	struct mt_change c[26];
	char names[26][16];
	for (int i = 0; i < 26; i++) {
		snprintf(names[i], sizeof names[i], "n%d", i);
		c[i] = (struct mt_change){names[i], "x", 1};
	}
	mt_upload_zip(t->zip, c, 26);
	expect_refused(t, "26 entries");
	/* 25 of them deletions only: still too many? no - 25 is the limit */
	for (int i = 0; i < 26; i++)
		c[i].data = NULL;
	mt_upload_zip(t->zip, c, 26);
	expect_refused(t, "26 deletions");
	mt_upload_zip(t->zip, c, 25);
	assert_int_equal(media_srv_upload(t->m, t->zip, NULL, NULL, NULL), ST_OK);
	/* a zero-byte file */
	struct mt_change z[2] = {{"fine.txt", "fine", 4}, {"empty.txt", "", 0}};
	mt_upload_zip(t->zip, z, 2);
	expect_refused(t, "zero-byte file");
	/* zip bomb: a small zip declaring a huge member */
	struct mt_change b = {"bomb.bin", "tiny", 4};
	mt_upload_zip(t->zip, &b, 1);
	mt_patch_size(t->zip, "0", 0xF0000000u);
	expect_refused(t, "declared 3.75 GiB");
	mt_upload_zip(t->zip, &b, 1);
	mt_patch_size(t->zip, "0", MEDIA_FILE_MAX + 1);
	expect_refused(t, "declared 100 MiB + 1");
	/* declared size smaller than the real one (Stored) */
	struct mt_change l = {"liar.bin", "0123456789", 10};
	mt_upload_zip(t->zip, &l, 1);
	mt_patch_size(t->zip, "0", 5);
	expect_refused(t, "declared < real");
	mt_upload_zip(t->zip, &l, 1);
	mt_patch_size(t->zip, "0", 20);
	expect_refused(t, "declared > real");
	/* a deflate bomb: 8 MiB of zeros that declares 1000 bytes */
	size_t big = 8u << 20;
	char *zeros = calloc(1, big);
	zip_t *za = mt_zip_create(t->zip);
	mt_zip_add(za, "0", zeros, big, 1);
	const char *meta = "[[\"bomb.bin\",\"0\"]]";
	mt_zip_add(za, "_meta", meta, strlen(meta), 0);
	mt_zip_close(za);
	free(zeros);
	struct stat sb;
	assert_int_equal(stat(t->zip, &sb), 0);
	assert_true(sb.st_size < 64 * 1024); /* small on the wire */
	mt_patch_size(t->zip, "0", 1000);
	expect_refused(t, "deflate bomb");
	/* the same, declaring 100 MiB but holding more: refused once past it */
	/* a CRC mismatch */
	struct mt_change k = {"crc.bin", "checksummed data", 16};
	mt_upload_zip(t->zip, &k, 1);
	mt_corrupt_data(t->zip, "0");
	expect_refused(t, "CRC mismatch");
	mt_assert_consistent(t);
}

static void test_total_cap(void **state)
{
	struct mt_env *t = *state;
	media_srv_close(t->m);
	t->o.max_upload_bytes = 1000;
	mt_env_open(t);
	char a[600], b[600];
	memset(a, 'a', sizeof a);
	memset(b, 'b', sizeof b);
	struct mt_change c[2] = {{"a", a, sizeof a}, {"b", b, sizeof b}};
	mt_upload_zip(t->zip, c, 2);
	expect_refused(t, "sum of members over the cap");
	mt_upload_zip(t->zip, c, 1);
	assert_int_equal(media_srv_upload(t->m, t->zip, NULL, NULL, NULL), ST_OK);
}

static void test_bad_zips(void **state)
{
	struct mt_env *t = *state;
	seed(t);
	struct mt_change c[2] = {{"a.jpg", "aaaaaaaaaaaaaaaaaaaaaaaa", 24}, {"b.jpg", "bbbb", 4}};
	double keeps[] = {0.9, 0.5, 0.1, 0.0};
	for (size_t i = 0; i < sizeof keeps / sizeof *keeps; i++) {
		mt_upload_zip(t->zip, c, 2);
		mt_truncate(t->zip, keeps[i]);
		expect_refused(t, "truncated zip");
	}
	tu_write_file(t->zip, "this is not a zip file at all, just text");
	expect_refused(t, "not a zip");
	/* a zip whose local and central headers disagree, where libzip says
	 * "no such file" (found by fuzz_media_upload; answered 500 before),
	 * from a file and in memory */
	size_t len = 0;
	char *z = tu_read_file("../fuzz/corpus_media_upload/damaged_member", &len);
	assert_non_null(z);
	FILE *f = fopen(t->zip, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(z, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	expect_refused(t, "damaged headers");
	int32_t usn = mt_usn(t);
	struct errinfo e;
	assert_int_equal(media_srv_upload_mem(t->m, z, len, NULL, NULL, &e), ST_INVALID);
	assert_int_equal(mt_usn(t), usn);
	free(z);
	/* a missing request file is the server's problem: 500 */
	unlink(t->zip);
	assert_int_equal(status_http(media_srv_upload(t->m, t->zip, NULL, NULL, &e)), 500);
	mt_assert_consistent(t);
}

/* Deflated members are accepted (any method libzip decodes). */
static void test_deflate_ok(void **state)
{
	struct mt_env *t = *state;
	zip_t *za = mt_zip_create(t->zip);
	char text[5000];
	memset(text, 'q', sizeof text);
	mt_zip_add(za, "7", text, sizeof text, 1);
	const char *meta = "[[\"gone.jpg\",null],[\"q.txt\",\"7\"]]";
	mt_zip_add(za, "_meta", meta, strlen(meta), 1);
	mt_zip_close(za);
	struct media_upload_result r;
	assert_int_equal(media_srv_upload(t->m, t->zip, &r, NULL, NULL), ST_OK);
	assert_int_equal(r.processed, 2);
	assert_int_equal(r.current_usn, 1);
	size_t len = 0;
	char *f = mt_file(t, "q.txt", &len);
	assert_int_equal(len, sizeof text);
	free(f);
}

/* Repairs the official server does not make, without USN changes. */
static void test_repairs(void **state)
{
	struct mt_env *t = *state;
	struct mt_change c = {"pic.png", "picture", 7};
	assert_int_equal(mt_upload(t, &c, 1, NULL, NULL), ST_OK);
	int32_t usn = mt_usn(t);
	char p[4200];
	snprintf(p, sizeof p, "%s/pic.png", t->media);
	unlink(p); /* lost on disk */
	assert_int_equal(mt_upload(t, &c, 1, NULL, NULL), ST_OK);
	assert_int_equal(mt_usn(t), usn);
	char *f = mt_file(t, "pic.png", NULL);
	assert_string_equal(f, "picture");
	free(f);
	/* a stray file under a deleted name goes with the next deletion */
	struct mt_change d = {"pic.png", NULL, 0};
	assert_int_equal(mt_upload(t, &d, 1, NULL, NULL), ST_OK);
	tu_write_file(p, "stray");
	assert_int_equal(mt_upload(t, &d, 1, NULL, NULL), ST_OK);
	assert_int_equal(mt_usn(t), usn + 1);
	assert_null(mt_file(t, "pic.png", NULL));
	mt_assert_consistent(t);
	/* a directory in the way: 500, nothing committed */
	snprintf(p, sizeof p, "%s/dir.png", t->media);
	assert_int_equal(mkdir(p, 0700), 0);
	struct mt_change x = {"dir.png", "data", 4};
	struct errinfo e;
	assert_int_equal(status_http(mt_upload(t, &x, 1, NULL, &e)), 500);
	assert_int_equal(mt_usn(t), usn + 1);
	rmdir(p);
}

/* One handle per request must not let the WAL grow without bound (every
 * first opener reads all of it). */
static void test_wal_bounded(void **state)
{
	struct mt_env *t = *state;
	char name[32], data[32];
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof name, "w%04d.bin", i);
		snprintf(data, sizeof data, "data %d", i);
		struct mt_change c = {name, data, strlen(data)};
		assert_int_equal(mt_upload(t, &c, 1, NULL, NULL), ST_OK);
		mt_env_reopen(t);
	}
	assert_int_equal(mt_usn(t), 300);
	char wal[4300];
	snprintf(wal, sizeof wal, "%s/%s-wal", t->user, MEDIA_DB_FILE);
	struct stat sb;
	if (stat(wal, &sb) == 0)
		assert_true(sb.st_size <= 2 * 1024 * 1024); /* 300 batches unchecked: ~5 MB */
}

/* Two threads extract a batch (setup_parallel): a bad member on either
 * thread's share refuses the whole batch and leaves no temporary; a good
 * batch gives every file its content and hash, from a zip file and from a
 * zip in memory. */
static void test_parallel_extract(void **state)
{
	struct mt_env *t = *state;
	seed(t);
	/* with two entries the first goes to this thread, the second to the
	 * other one (each entry to the lighter share) */
	struct mt_change c[2] = {{"good.bin", "0123456789abcdef", 16},
	                         {"liar.bin", "0123456789", 10}};
	for (int bad = 0; bad < 2; bad++) {
		char member[2] = {(char)('0' + bad), 0};
		mt_upload_zip(t->zip, c, 2);
		mt_patch_size(t->zip, member, 5);
		expect_refused(t, "declared < real, one thread");
		mt_upload_zip(t->zip, c, 2);
		mt_corrupt_data(t->zip, member);
		expect_refused(t, "CRC mismatch, one thread");
	}
	/* 25 files of different sizes, from memory */
	struct mt_change many[25];
	char names[25][24], *datas[25];
	for (int i = 0; i < 25; i++) {
		size_t len = 1000u + 7919u * (size_t)i;
		datas[i] = malloc(len);
		for (size_t k = 0; k < len; k++)
			datas[i][k] = (char)('a' + (k * 31 + (size_t)i) % 26);
		snprintf(names[i], sizeof names[i], "p%02d.bin", i);
		many[i] = (struct mt_change){names[i], datas[i], len};
	}
	mt_upload_zip(t->zip, many, 25);
	size_t zlen = 0;
	char *zip = tu_read_file(t->zip, &zlen);
	struct media_upload_result r;
	struct errinfo e;
	int32_t usn = mt_usn(t);
	if (media_srv_upload_mem(t->m, zip, zlen, &r, NULL, &e))
		fail_msg("upload_mem: %s", e.msg);
	free(zip);
	assert_int_equal(r.processed, 25);
	assert_int_equal(mt_usn(t), usn + 25);
	char *rows = changes(t, usn);
	for (int i = 0; i < 25; i++) {
		char path[4400], hex[41];
		snprintf(path, sizeof path, "%s/%s", t->media, names[i]);
		size_t flen = 0;
		char *got = tu_read_file(path, &flen);
		assert_int_equal(flen, many[i].len);
		assert_memory_equal(got, datas[i], flen);
		free(got);
		unsigned char md[EVP_MAX_MD_SIZE];
		assert_int_equal(EVP_Digest(datas[i], many[i].len, md, NULL, EVP_sha1(), NULL), 1);
		for (int k = 0; k < 20; k++)
			snprintf(hex + 2 * k, 3, "%02x", md[k]);
		assert_non_null(strstr(rows, hex));
		free(datas[i]);
	}
	free(rows);
	mt_assert_consistent(t);
}

/* What the folder holds once the files are extracted, before anything
 * is committed (MH_UP_TEMPS), and the media USN that another connection
 * reads then, without waiting (busy timeout 0): the upload's transaction
 * must not keep readers out. */
struct peek {
	struct mt_env *t;
	char *listing;
	long long usn;
};

static void peek_temps(void *arg, enum media_hook p)
{
	struct peek *k = arg;
	if (p != MH_UP_TEMPS || k->listing)
		return;
	k->listing = mt_list(k->t->media);
	char path[4200];
	snprintf(path, sizeof path, "%s/" MEDIA_DB_FILE, k->t->user);
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT last_usn FROM meta", -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	k->usn = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* A name without a live row (new, or deleted before) is written under its
 * own name before the commit; a replacement, and a name taken by a stray
 * file, go through a temporary.  A refused batch removes what it wrote in
 * place (expect_refused compares the whole tree). */
static void test_in_place(void **state)
{
	struct mt_env *t = *state;
	seed(t);
	struct mt_change d = {"other.mp3", NULL, 0};
	assert_int_equal(mt_upload(t, &d, 1, NULL, NULL), ST_OK);
	char p[4300];
	snprintf(p, sizeof p, "%s/stray.png", t->media);
	tu_write_file(p, "stray");
	media_srv_close(t->m);
	struct peek k = {t, NULL, -1};
	t->o.hook = peek_temps;
	t->o.hook_arg = &k;
	mt_env_open(t);
	struct mt_change c[4] = {{"new.jpg", "new", 3},
	                         {"keep.jpg", "replaced", 8},
	                         {"other.mp3", "back", 4},
	                         {"stray.png", "mine", 4}};
	struct media_upload_result r;
	assert_int_equal(mt_upload(t, c, 4, &r, NULL), ST_OK);
	assert_int_equal(r.current_usn, 7);
	assert_non_null(k.listing);
	assert_int_equal(k.usn, 3); /* the four changes not visible yet */
	const char *want[] = {"keep.jpg:4\n", "new.jpg:3\n", "other.mp3:4\n", "stray.png:5\n"};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		if (!strstr(k.listing, want[i]))
			fail_msg("before the commit, %s missing in:\n%s", want[i], k.listing);
	int temps = 0;
	for (const char *q = k.listing; (q = strstr(q, MEDIA_TMP_PREFIX)) != NULL; q++)
		temps++;
	assert_int_equal(temps, 2); /* keep.jpg's and stray.png's */
	free(k.listing);
	const char *names[4] = {"new.jpg", "keep.jpg", "other.mp3", "stray.png"};
	for (int i = 0; i < 4; i++) {
		char *f = mt_file(t, names[i], NULL);
		assert_non_null(f);
		assert_string_equal(f, c[i].data);
		free(f);
	}
	mt_assert_consistent(t);
	/* refused batches leave no file written in place */
	struct mt_change bad[2] = {{"fresh.jpg", "fresh data", 10}, {"liar.bin", "0123456789", 10}};
	mt_upload_zip(t->zip, bad, 2);
	mt_patch_size(t->zip, "1", 5);
	expect_refused(t, "a new name, then a lying member");
	mt_upload_zip(t->zip, bad, 2);
	mt_corrupt_data(t->zip, "0");
	expect_refused(t, "a new name with a bad CRC");
	mt_assert_consistent(t);
}

static void test_name_rules(void **state)
{
	(void)state;
	assert_int_equal(media_name_check("a.jpg", 5, NULL), ST_OK);
	assert_int_equal(media_name_check("\xe6\x97\xa5\xe6\x9c\xac.png", 9, NULL), ST_OK);
	assert_int_equal(media_name_check("x\0y", 3, NULL), ST_INVALID);
	assert_int_equal(media_name_check("e\xcc\x81", 3, NULL), ST_INVALID);
	assert_int_equal(media_name_check("\xc3\xa9", 2, NULL), ST_OK);
	assert_int_equal(media_name_check("\xc3", 1, NULL), ST_INVALID);
	assert_true(media_name_is_tmp(MEDIA_TMP_PREFIX "abc"));
	assert_int_equal(
	    media_name_check(MEDIA_TMP_PREFIX "abc", strlen(MEDIA_TMP_PREFIX "abc"), NULL),
	    ST_INVALID);
	/* Hangul syllables compose algorithmically */
	assert_int_equal(media_name_check("\xe1\x84\x80\xe1\x85\xa1", 6, NULL), ST_INVALID);
	assert_int_equal(media_name_check("\xea\xb0\x80", 3, NULL), ST_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_vectors, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_vectors, mt_setup_durable, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_sixty_files, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_sixty_files, mt_setup_durable, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_parallel_devices, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_same_name_twice, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_names, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_meta, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_counts_and_sizes, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_total_cap, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_zips, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_deflate_ok, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_repairs, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_wal_bounded, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_in_place, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_in_place, mt_setup_durable, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_in_place, setup_parallel, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_parallel_extract, setup_parallel, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_sixty_files, setup_parallel, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_counts_and_sizes, setup_parallel, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_zips, setup_parallel, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_repairs, setup_parallel, mt_teardown),
	    cmocka_unit_test(test_name_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
