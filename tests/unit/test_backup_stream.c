/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_backup_stream.c - the store/load pipelines (zstd, hashes, age) and
 * the filter-process helper: round trips at chunk boundaries, damaged and
 * truncated stored files, the size bound, children that die early, and a
 * real age key pair made with age-keygen.
 */
#include "testutil.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>

#include "backup_proc.h"
#include "backup_stream.h"

struct fx {
	char *dir;
	struct backup_codec *c;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->dir = tu_mkdtemp();
	assert_int_equal(backup_codec_new(&f->c, 3, 1, NULL), ST_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	backup_codec_free(f->c);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

/* Deterministic bytes, half compressible. */
static unsigned char *make_data(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (i / 4096) % 2 ? (unsigned char)x : (unsigned char)('a' + i % 7);
	}
	return p;
}

static void sha256_of(const void *p, size_t n, unsigned char out[32])
{
	EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL);
}

static void sha1_of(const void *p, size_t n, unsigned char out[20])
{
	EVP_Digest(p, n, out, NULL, EVP_sha1(), NULL);
}

struct collect {
	unsigned char *p;
	size_t n, cap;
};

static enum status collect_sink(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	(void)e;
	struct collect *c = ctx;
	if (c->n + len > c->cap) {
		c->cap = (c->n + len) * 2;
		c->p = realloc(c->p, c->cap);
	}
	memcpy(c->p + c->n, data, len);
	c->n += len;
	return ST_OK;
}

static void store(struct fx *f, const char *name, const unsigned char *data, size_t n,
                  char *const *age, struct backup_digest *d)
{
	char p[4200];
	snprintf(p, sizeof p, "%s/%s", f->dir, name);
	struct backup_out o;
	assert_int_equal(backup_out_open(&o, f->c, p, age, n, NULL), ST_OK);
	/* Uneven writes cross the internal buffers at odd places. */
	size_t off = 0, step = 1;
	while (off < n) {
		size_t k = n - off < step ? n - off : step;
		assert_int_equal(backup_out_write(&o, data + off, k, NULL), ST_OK);
		off += k;
		step = step * 3 + 7;
	}
	struct errinfo e = {0};
	if (backup_out_finish(&o, d, &e) != ST_OK)
		fail_msg("finish: %s", e.msg);
}

static void test_round_trip_sizes(void **state)
{
	struct fx *f = *state;
	const size_t sizes[] = {0, 1, BACKUP_CHUNK - 1, BACKUP_CHUNK + 1, BACKUP_MT_MIN + 12345};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i];
		unsigned char *data = make_data(n);
		struct backup_digest d, l;
		store(f, "obj.zst", data, n, NULL, &d);
		unsigned char want256[32], want1[20];
		sha256_of(data, n, want256);
		sha1_of(data, n, want1);
		assert_int_equal(d.size, n);
		assert_memory_equal(d.sha256, want256, 32);
		assert_memory_equal(d.sha1, want1, 20);
		char p[4200];
		snprintf(p, sizeof p, "%s/obj.zst", f->dir);
		struct stat sb;
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal((uint64_t)sb.st_size, d.stored_size);
		assert_true((sb.st_mode & 0777) == 0600);
		struct collect c = {0};
		struct errinfo e = {0};
		assert_int_equal(backup_load(f->c, p, NULL, n, collect_sink, &c, &l, &e), ST_OK);
		assert_int_equal(c.n, n);
		if (n)
			assert_memory_equal(c.p, data, n);
		assert_memory_equal(l.sha256, want256, 32);
		assert_memory_equal(l.stored_sha256, d.stored_sha256, 32);
		assert_int_equal(l.stored_size, d.stored_size);
		/* The stored file is a plain zstd frame: the zstd tool reads it. */
		char cmd[9000];
		snprintf(cmd, sizeof cmd, "zstd -q -t '%s'", p);
		assert_int_equal(system(cmd), 0);
		free(c.p);
		free(data);
		unlink(p);
	}
}

static void test_hash_fd_matches(void **state)
{
	struct fx *f = *state;
	size_t n = 3 * BACKUP_CHUNK + 5;
	unsigned char *data = make_data(n);
	char p[4200];
	snprintf(p, sizeof p, "%s/raw", f->dir);
	FILE *o = fopen(p, "wb");
	fwrite(data, 1, n, o);
	fclose(o);
	int fd = open(p, O_RDONLY);
	struct backup_digest d;
	assert_int_equal(backup_hash_fd(f->c, fd, &d, NULL), ST_OK);
	close(fd);
	unsigned char want[20];
	sha1_of(data, n, want);
	assert_memory_equal(d.sha1, want, 20);
	assert_int_equal(d.size, n);
	free(data);
}

static void test_damage_detected(void **state)
{
	struct fx *f = *state;
	size_t n = 200000;
	unsigned char *data = make_data(n);
	struct backup_digest d, l;
	store(f, "obj.zst", data, n, NULL, &d);
	char p[4200];
	snprintf(p, sizeof p, "%s/obj.zst", f->dir);
	struct errinfo e = {0};
	/* One flipped byte in the middle: zstd's checksum or the decoder. */
	int fd = open(p, O_RDWR);
	unsigned char b;
	off_t mid = (off_t)d.stored_size / 2;
	assert_int_equal(pread(fd, &b, 1, mid), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, mid), 1);
	assert_int_equal(backup_load(f->c, p, NULL, n, NULL, NULL, &l, &e), ST_CORRUPT);
	assert_memory_not_equal(l.stored_sha256, d.stored_sha256, 32);
	/* Truncated: the frame never ends. */
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, mid), 1);
	assert_int_equal(ftruncate(fd, (off_t)d.stored_size - 10), 0);
	close(fd);
	assert_int_equal(backup_load(f->c, p, NULL, n, NULL, NULL, &l, &e), ST_CORRUPT);
	assert_non_null(strstr(e.msg, "truncated"));
	/* Empty file. */
	assert_int_equal(truncate(p, 0), 0);
	assert_int_equal(backup_load(f->c, p, NULL, n, NULL, NULL, &l, &e), ST_CORRUPT);
	/* A decompression bomb stops at the bound. */
	unlink(p);
	store(f, "obj.zst", data, n, NULL, &d);
	assert_int_equal(backup_load(f->c, p, NULL, n - 1, NULL, NULL, &l, &e), ST_CORRUPT);
	/* Missing. */
	unlink(p);
	assert_int_equal(backup_load(f->c, p, NULL, n, NULL, NULL, &l, &e), ST_NOTFOUND);
	free(data);
}

static void test_out_refuses_existing_and_abort_removes(void **state)
{
	struct fx *f = *state;
	char p[4200];
	snprintf(p, sizeof p, "%s/x", f->dir);
	tu_write_file(p, "keep me");
	struct backup_out o;
	struct errinfo e = {0};
	assert_int_equal(backup_out_open(&o, f->c, p, NULL, 0, &e), ST_IO);
	size_t len;
	char *t = tu_read_file(p, &len);
	assert_string_equal(t, "keep me");
	free(t);
	snprintf(p, sizeof p, "%s/y", f->dir);
	assert_int_equal(backup_out_open(&o, f->c, p, NULL, 0, NULL), ST_OK);
	assert_int_equal(backup_out_write(&o, "abc", 3, NULL), ST_OK);
	backup_out_abort(&o);
	assert_int_not_equal(access(p, F_OK), 0);
	/* The codec is usable after an abort. */
	struct backup_digest d;
	store(f, "z", (const unsigned char *)"hello", 5, NULL, &d);
	assert_int_equal(d.size, 5);
}

static void test_proc_large_through_cat(void **state)
{
	(void)state;
	/* 8 MiB through cat: writing without reading would deadlock at 64 KiB. */
	size_t n = 8u << 20;
	unsigned char *data = make_data(n);
	char *argv[] = {(char *)"cat", NULL};
	struct backup_proc p;
	assert_int_equal(backup_proc_start(&p, argv, NULL), ST_OK);
	struct collect c = {0};
	assert_int_equal(backup_proc_feed(&p, data, n, collect_sink, &c, NULL), ST_OK);
	assert_int_equal(backup_proc_finish(&p, collect_sink, &c, NULL), ST_OK);
	backup_proc_kill(&p);
	assert_int_equal(c.n, n);
	assert_memory_equal(c.p, data, n);
	free(c.p);
	free(data);
}

static void test_proc_failures(void **state)
{
	(void)state;
	struct errinfo e = {0};
	struct backup_proc p;
	/* Not installed: glibc's posix_spawnp says so at once; where the exec
	 * failure shows only as exit 127 (valgrind), finish says it. */
	char *none[] = {(char *)"anki-backup-no-such-program", NULL};
	enum status st = backup_proc_start(&p, none, &e);
	struct collect none_out = {0};
	if (st == ST_OK)
		st = backup_proc_finish(&p, collect_sink, &none_out, &e);
	free(none_out.p);
	assert_int_equal(st, ST_NOTFOUND);
	assert_non_null(strstr(e.msg, "anki-backup-no-such-program"));
	/* Exits 1 with a message: the message is in the error. */
	char *sh[] = {(char *)"sh", (char *)"-c", (char *)"echo 'bad key' >&2; exit 3", NULL};
	assert_int_equal(backup_proc_start(&p, sh, NULL), ST_OK);
	struct collect c = {0};
	assert_int_equal(backup_proc_finish(&p, collect_sink, &c, &e), ST_IO);
	assert_non_null(strstr(e.msg, "exit 3"));
	assert_non_null(strstr(e.msg, "bad key"));
	backup_proc_kill(&p);
	/* Stops reading early: an error value, not SIGPIPE killing us. */
	size_t n = 4u << 20;
	unsigned char *data = make_data(n);
	char *head[] = {(char *)"head", (char *)"-c", (char *)"10", NULL};
	assert_int_equal(backup_proc_start(&p, head, NULL), ST_OK);
	st = backup_proc_feed(&p, data, n, collect_sink, &c, &e);
	if (st == ST_OK)
		st = backup_proc_finish(&p, collect_sink, &c, &e);
	backup_proc_kill(&p);
	assert_int_equal(st, ST_IO);
	free(c.p);
	free(data);
}

static int have_age(void)
{
	return system("command -v age >/dev/null 2>&1 && command -v age-keygen >/dev/null 2>&1") == 0;
}

static void test_age_round_trip_and_wrong_key(void **state)
{
	struct fx *f = *state;
	if (!have_age())
		skip();
	char cmd[9000], key[4200], key2[4200], pub[200];
	snprintf(key, sizeof key, "%s/key.txt", f->dir);
	snprintf(key2, sizeof key2, "%s/other.txt", f->dir);
	snprintf(cmd, sizeof cmd, "age-keygen -o '%s' 2>/dev/null && age-keygen -o '%s' 2>/dev/null",
	         key, key2);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "age-keygen -y '%s'", key);
	FILE *pp = popen(cmd, "r");
	assert_non_null(fgets(pub, sizeof pub, pp));
	pclose(pp);
	pub[strcspn(pub, "\n")] = '\0';
	char *enc[] = {(char *)"age", (char *)"--encrypt", (char *)"-r", pub, NULL};
	size_t n = BACKUP_CHUNK * 2 + 3;
	unsigned char *data = make_data(n);
	struct backup_digest d, l;
	store(f, "obj.zst.age", data, n, enc, &d);
	char p[4200];
	snprintf(p, sizeof p, "%s/obj.zst.age", f->dir);
	/* age's own format, readable by the age tool. */
	size_t len;
	char *t = tu_read_file(p, &len);
	assert_int_equal(memcmp(t, "age-encryption.org/v1", 21), 0);
	free(t);
	char *dec[] = {(char *)"age", (char *)"--decrypt", (char *)"-i", key, NULL};
	struct collect c = {0};
	struct errinfo e = {0};
	if (backup_load(f->c, p, dec, n, collect_sink, &c, &l, &e) != ST_OK)
		fail_msg("load: %s", e.msg);
	assert_int_equal(c.n, n);
	assert_memory_equal(c.p, data, n);
	assert_memory_equal(l.stored_sha256, d.stored_sha256, 32);
	free(c.p);
	char *wrong[] = {(char *)"age", (char *)"--decrypt", (char *)"-i", key2, NULL};
	assert_int_equal(backup_load(f->c, p, wrong, n, NULL, NULL, &l, &e), ST_IO);
	assert_non_null(strstr(e.msg, "no identity matched"));
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip_sizes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hash_fd_matches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damage_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_refuses_existing_and_abort_removes, setup,
	                                    teardown),
	    cmocka_unit_test(test_proc_large_through_cat),
	    cmocka_unit_test(test_proc_failures),
	    cmocka_unit_test_setup_teardown(test_age_round_trip_and_wrong_key, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
