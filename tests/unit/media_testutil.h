/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_testutil.h - helpers shared by the media sync unit tests
 * (test_media_*.c): building upload zips the way the official client does
 * (Stored members "0", "1", ... and a _meta array), patching zip headers
 * by hand to make hostile archives, reading download zips back, and
 * listing directories to prove nothing changed.
 */
#ifndef ANKIHOST_MEDIA_TESTUTIL_H
#define ANKIHOST_MEDIA_TESTUTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <zip.h>

#include "testutil.h"

#include "media_db.h"
#include "media_srv.h"

/* One change for mt_upload_zip: data == NULL is a deletion. */
struct mt_change {
	const char *name;
	const void *data;
	size_t len;
};

static inline void mt_sha1_hex(const void *data, size_t len, char out[41])
{
	unsigned char d[20];
	unsigned int dl = 0;
	assert_int_equal(EVP_Digest(data, len, d, &dl, EVP_sha1(), NULL), 1);
	for (int i = 0; i < 20; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* Add a member from memory (copied), Stored unless deflate. */
static inline void mt_zip_add(zip_t *za, const char *member, const void *data, size_t len,
                              int deflate)
{
	void *copy = NULL;
	if (len) {
		copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, data, len);
	}
	zip_source_t *src = zip_source_buffer(za, copy, len, 1);
	assert_non_null(src);
	zip_int64_t idx = zip_file_add(za, member, src, ZIP_FL_ENC_UTF_8);
	assert_true(idx >= 0);
	assert_int_equal(zip_set_file_compression(za, (zip_uint64_t)idx,
	                                          deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0),
	                 0);
}

static inline zip_t *mt_zip_create(const char *path)
{
	int err = 0;
	unlink(path);
	zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
	assert_non_null(za);
	return za;
}

static inline void mt_zip_close(zip_t *za)
{
	assert_int_equal(zip_close(za), 0);
}

/* The zip the official client uploads for changes[0..n) (§5.4): member
 * "<i>" per addition, then _meta [[name, "<i>"|null], ...]. */
static inline void mt_upload_zip(const char *path, const struct mt_change *c, size_t n)
{
	zip_t *za = mt_zip_create(path);
	json_t *meta = json_array();
	for (size_t i = 0; i < n; i++) {
		char member[24];
		snprintf(member, sizeof member, "%zu", i);
		json_t *pair = json_array();
		json_array_append_new(pair, json_string(c[i].name));
		if (c[i].data) {
			mt_zip_add(za, member, c[i].data, c[i].len, 0);
			json_array_append_new(pair, json_string(member));
		} else {
			json_array_append_new(pair, json_null());
		}
		json_array_append_new(meta, pair);
	}
	char *mj = json_dumps(meta, JSON_COMPACT);
	json_decref(meta);
	mt_zip_add(za, "_meta", mj, strlen(mj), 0);
	free(mj);
	mt_zip_close(za);
}

/* A zip with members given as (name, data) and a raw _meta text (NULL:
 * no _meta member). */
static inline void mt_raw_zip(const char *path, const char *meta, size_t meta_len,
                              const char *const *members, const char *const *datas, size_t n)
{
	zip_t *za = mt_zip_create(path);
	for (size_t i = 0; i < n; i++)
		mt_zip_add(za, members[i], datas[i], strlen(datas[i]), 0);
	if (meta)
		mt_zip_add(za, "_meta", meta, meta_len, 0);
	mt_zip_close(za);
}

static inline unsigned mt_le16(const unsigned char *p)
{
	return p[0] | (unsigned)p[1] << 8;
}
static inline uint32_t mt_le32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void mt_put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff, p[1] = (v >> 8) & 0xff, p[2] = (v >> 16) & 0xff, p[3] = v >> 24;
}

/* By hand: set the uncompressed size recorded for member (in its local
 * header and its central directory entry) to size. */
static inline void mt_patch_size(const char *path, const char *member, uint32_t size)
{
	size_t len = 0;
	unsigned char *z = (unsigned char *)tu_read_file(path, &len);
	assert_non_null(z);
	assert_true(len >= 22);
	size_t eocd = len - 22;
	while (eocd > 0 && mt_le32(z + eocd) != 0x06054b50)
		eocd--;
	assert_int_equal(mt_le32(z + eocd), 0x06054b50);
	unsigned entries = mt_le16(z + eocd + 10);
	size_t cd = mt_le32(z + eocd + 16);
	int found = 0;
	for (unsigned i = 0; i < entries; i++) {
		assert_int_equal(mt_le32(z + cd), 0x02014b50);
		unsigned nlen = mt_le16(z + cd + 28), xlen = mt_le16(z + cd + 30),
		         clen = mt_le16(z + cd + 32);
		size_t loc = mt_le32(z + cd + 42);
		if (nlen == strlen(member) && memcmp(z + cd + 46, member, nlen) == 0) {
			mt_put32(z + cd + 24, size);
			assert_int_equal(mt_le32(z + loc), 0x04034b50);
			mt_put32(z + loc + 22, size);
			found = 1;
		}
		cd += 46 + nlen + xlen + clen;
	}
	assert_true(found);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(z, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(z);
}

/* By hand: flip one byte of member's data (its CRC no longer matches). */
static inline void mt_corrupt_data(const char *path, const char *member)
{
	size_t len = 0;
	unsigned char *z = (unsigned char *)tu_read_file(path, &len);
	assert_non_null(z);
	for (size_t p = 0; p + 30 < len; p++) {
		if (mt_le32(z + p) != 0x04034b50)
			continue;
		unsigned nlen = mt_le16(z + p + 26), xlen = mt_le16(z + p + 28);
		if (nlen == strlen(member) && memcmp(z + p + 30, member, nlen) == 0) {
			z[p + 30 + nlen + xlen] ^= 0x55;
			break;
		}
	}
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(z, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(z);
}

static inline void mt_truncate(const char *path, double keep)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(truncate(path, (off_t)((double)sb.st_size * keep)), 0);
}

static int mt_cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted "name:size\n" lines of dir, recursively (directories as "d/").
 * Caller frees. */
static inline void mt_list_into(const char *dir, const char *rel, char ***v, size_t *n, size_t *cap)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char p[4096], r[4096];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		snprintf(r, sizeof r, "%s%s", rel, de->d_name);
		struct stat sb;
		if (lstat(p, &sb) != 0)
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*v = realloc(*v, *cap * sizeof **v);
		}
		char line[4200];
		if (S_ISDIR(sb.st_mode)) {
			snprintf(line, sizeof line, "%s/", r);
			(*v)[(*n)++] = strdup(line);
			char r2[4200];
			snprintf(r2, sizeof r2, "%s/", r);
			mt_list_into(p, r2, v, n, cap);
		} else {
			snprintf(line, sizeof line, "%s:%lld", r, (long long)sb.st_size);
			(*v)[(*n)++] = strdup(line);
		}
	}
	closedir(d);
}

/* Listing of dir, skipping names that start with skip (may be NULL). */
static inline char *mt_list(const char *dir)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	mt_list_into(dir, "", &v, &n, &cap);
	qsort(v, n, sizeof *v, mt_cmpstr);
	size_t total = 1;
	for (size_t i = 0; i < n; i++)
		total += strlen(v[i]) + 1;
	char *out = malloc(total);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(out, v[i]);
		strcat(out, "\n");
		free(v[i]);
	}
	free(v);
	return out;
}

/* Read a download zip back: *n members besides _meta; names[i] / datas[i]
 * are the real file name and data of member "i" (caller frees). */
struct mt_dl {
	size_t n;
	char *names[32];
	char *datas[32];
	size_t lens[32];
	int meta_is_object;
	int has_meta;
};

static inline void mt_dl_free(struct mt_dl *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->names[i]);
		free(d->datas[i]);
	}
}

static inline char *mt_zip_read(zip_t *za, const char *member, size_t *len)
{
	zip_stat_t zs;
	assert_int_equal(zip_stat(za, member, 0, &zs), 0);
	char *data = malloc(zs.size + 1);
	zip_file_t *zf = zip_fopen(za, member, 0);
	assert_non_null(zf);
	assert_int_equal(zip_fread(zf, data, zs.size), (zip_int64_t)zs.size);
	zip_fclose(zf);
	data[zs.size] = '\0';
	*len = zs.size;
	return data;
}

/* A download's zip as a descriptor at offset 0: the unlinked file, or for
 * a zip built in memory a memfd holding it (dl->data is freed). */
static inline int mt_dl_fd(struct media_download *dl)
{
	if (!dl->in_memory) {
		assert_null(dl->data);
		return dl->fd;
	}
	assert_int_equal(dl->fd, -1);
	assert_non_null(dl->data);
	int fd = memfd_create("mt-dl", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, dl->data, dl->size), (ssize_t)dl->size);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	free(dl->data);
	dl->data = NULL;
	return fd;
}

static inline void mt_read_download(int fd, struct mt_dl *d)
{
	memset(d, 0, sizeof *d);
	int dfd = dup(fd);
	assert_true(dfd >= 0);
	int err = 0;
	zip_t *za = zip_fdopen(dfd, ZIP_RDONLY | ZIP_CHECKCONS, &err);
	assert_non_null(za);
	zip_int64_t count = zip_get_num_entries(za, 0);
	size_t mlen;
	char *meta = mt_zip_read(za, "_meta", &mlen);
	d->has_meta = 1;
	json_t *m = json_loads(meta, 0, NULL);
	assert_non_null(m);
	d->meta_is_object = json_is_object(m);
	for (zip_int64_t i = 0; i < count; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
		if (!strcmp(name, "_meta"))
			continue;
		/* members are "0".."n-1" in request order */
		char expect[16];
		snprintf(expect, sizeof expect, "%zu", d->n);
		assert_string_equal(name, expect);
		zip_stat_t zs;
		assert_int_equal(zip_stat_index(za, (zip_uint64_t)i, 0, &zs), 0);
		assert_int_equal(zs.comp_method, ZIP_CM_STORE);
		json_t *real = json_object_get(m, name);
		assert_non_null(real);
		d->names[d->n] = strdup(json_string_value(real));
		d->datas[d->n] = mt_zip_read(za, name, &d->lens[d->n]);
		d->n++;
	}
	assert_int_equal(json_object_size(m), d->n);
	json_decref(m);
	free(meta);
	zip_discard(za);
}

/* A user directory with a sentinel file beside it, to prove that nothing
 * is written outside the user's media folder. */
struct mt_env {
	char *root;       /* tu_mkdtemp */
	char user[4096];  /* root/user */
	char media[4096]; /* root/user/media */
	char zip[4096];   /* root/req.zip (the spooled request) */
	struct media_srv *m;
	struct media_opts o;
};

static inline void mt_env_open(struct mt_env *t)
{
	struct errinfo e;
	if (media_srv_open(t->user, &t->o, &t->m, &e) != ST_OK)
		fail_msg("media_srv_open: %s", e.msg);
}

static inline void mt_env_init(struct mt_env *t, int durable)
{
	memset(t, 0, sizeof *t);
	t->root = tu_mkdtemp();
	snprintf(t->user, sizeof t->user, "%s/user", t->root);
	snprintf(t->media, sizeof t->media, "%s/user/media", t->root);
	snprintf(t->zip, sizeof t->zip, "%s/req.zip", t->root);
	assert_int_equal(mkdir(t->user, 0700), 0);
	char p[4200];
	snprintf(p, sizeof p, "%s/sentinel", t->root);
	tu_write_file(p, "outside");
	t->o.durable = durable;
	mt_env_open(t);
}

static inline void mt_env_reopen(struct mt_env *t)
{
	media_srv_close(t->m);
	t->m = NULL;
	mt_env_open(t);
}

static inline void mt_env_free(struct mt_env *t)
{
	media_srv_close(t->m);
	tu_rmtree(t->root);
}

/* cmocka fixtures: a fresh mt_env as *state (durable or not), freed by
 * mt_teardown. */
static inline int mt_setup_opts(void **state, int durable)
{
	struct mt_env *t = calloc(1, sizeof *t);
	mt_env_init(t, durable);
	*state = t;
	return 0;
}

static inline int mt_setup(void **state)
{
	return mt_setup_opts(state, 0);
}

static inline int mt_setup_durable(void **state)
{
	return mt_setup_opts(state, 1);
}

static inline int mt_teardown(void **state)
{
	struct mt_env *t = *state;
	mt_env_free(t);
	free(t);
	return 0;
}

/* Upload changes; returns the status, fills res. */
static inline enum status mt_upload(struct mt_env *t, const struct mt_change *c, size_t n,
                                    struct media_upload_result *res, struct errinfo *e)
{
	mt_upload_zip(t->zip, c, n);
	return media_srv_upload(t->m, t->zip, res, NULL, e);
}

static inline int32_t mt_usn(struct mt_env *t)
{
	int32_t usn = -1;
	assert_int_equal(media_srv_usn(t->m, &usn, NULL), ST_OK);
	return usn;
}

/* Check finds nothing wrong. */
static inline void mt_assert_consistent(struct mt_env *t)
{
	struct media_check c;
	struct errinfo e;
	if (media_srv_check(t->m, MEDIA_CHECK_HASH, &c, NULL, NULL, &e) != ST_OK)
		fail_msg("check: %s", e.msg);
	if (c.total_issues) {
		for (int k = 0; k < MI_COUNT; k++)
			if (c.issues[k])
				print_error("issue %s: %llu\n", media_srv_issue_name(k),
				            (unsigned long long)c.issues[k]);
		fail_msg("%llu consistency issue(s)", (unsigned long long)c.total_issues);
	}
}

static inline char *mt_file(struct mt_env *t, const char *name, size_t *len)
{
	char p[4500];
	snprintf(p, sizeof p, "%s/%s", t->media, name);
	return tu_read_file(p, len);
}

#endif
