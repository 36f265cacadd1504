/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bench_media_client.c - the timed device of bench-media.sh: a compiled
 * media sync client doing what the official (Rust) client does per
 * request, so the bench measures the server and the file system rather
 * than the Python interpreter (whose per-file overhead alone was larger
 * than the libzip baseline it is compared with).
 *
 *   bench_media_client upload URL HKEY BODYDIR
 *       every BODYDIR/NNNNN.zst in name order as one uploadChanges request
 *       (the body is already the zstd frame of the batch's zip, built
 *       untimed by media_bench.py); checks that each reply's usn rose by
 *       exactly the files processed.
 *   bench_media_client download URL HKEY FOLDER
 *       begin, then mediaChanges from 0 and downloadFiles in requests of
 *       up to 25 names, dropping as many names as files came back
 *       (syncer.rs fetch_changes); each member is read with libzip (CRC
 *       checked), its SHA-1 compared with the one mediaChanges gave, and
 *       written to FOLDER with open/write/close (files.rs
 *       add_file_from_ankiweb); finally mediaSanity with the count.
 *   bench_media_client transport URL BADKEY BODYDIR
 *       the upload's HTTP share alone: the same requests with a host key
 *       that names nobody, each answered 403 by the server only after it
 *       received and decoded the whole body (sync-protocol.md §1), so
 *       nothing is unzipped, hashed or written.
 *   bench_media_client serve URL HKEY
 *       the download's requests and replies without the client's work on
 *       them: each reply is received and decoded and its _meta read, its
 *       files are neither unzipped nor hashed nor written (how fast the
 *       server serves, with a client that costs nothing).
 *   bench_media_client floor BODYDIR OUTDIR
 *       the download's client work alone, no server and no network: each
 *       upload body of BODYDIR (the zstd frame of a zip, as a reply is)
 *       read, decoded, unzipped (CRC), hashed (SHA-1) and written.
 *
 * One kept-alive HTTP/1.1 connection (libcurl), bodies and replies as one
 * zstd frame each with the anki-sync header (sync-protocol.md §1).  The
 * hkey comes from the caller, which logged in.  Prints one line
 * "seconds=S files=F bytes=B requests=R usn=U" (bytes: of the upload
 * bodies sent, or of the files written; requests: uploadChanges or
 * downloadFiles calls); any protocol surprise exits 1 with a message.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>
#include <zstd.h>

#define FILES_PER_REQUEST 25
#define COPY_BUF (256u * 1024)
#define CLIENT_VERSION "anki,26.08.1 (ankihost-bench),lin:debian:12"

struct mem {
	unsigned char *p;
	size_t len, cap;
};

struct client {
	CURL *curl;
	struct curl_slist *headers;
	char base[512];
	struct mem reply, plain;
	ZSTD_DCtx *dctx;
	ZSTD_CCtx *cctx;
	struct mem frame;
	uint64_t bulk; /* uploadChanges or downloadFiles requests */
	int refused;   /* transport mode: each request must be answered 403 */
};

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench_media_client: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void mem_reserve(struct mem *m, size_t need)
{
	if (need <= m->cap)
		return;
	size_t cap = m->cap ? m->cap : 65536;
	while (cap < need)
		cap *= 2;
	unsigned char *p = realloc(m->p, cap);
	if (!p)
		die("out of memory (%zu bytes)", cap);
	m->p = p;
	m->cap = cap;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct mem *m = ud;
	size_t n = size * nmemb;
	mem_reserve(m, m->len + n);
	memcpy(m->p + m->len, ptr, n);
	m->len += n;
	return n;
}

static void client_init(struct client *c, const char *url, const char *hkey)
{
	memset(c, 0, sizeof *c);
	snprintf(c->base, sizeof c->base, "%s%smsync/", url,
	         url[0] && url[strlen(url) - 1] == '/' ? "" : "/");
	if (!(c->curl = curl_easy_init()) || !(c->dctx = ZSTD_createDCtx()) ||
	    !(c->cctx = ZSTD_createCCtx()))
		die("cannot initialise libcurl or zstd");
	char hdr[512];
	snprintf(hdr, sizeof hdr,
	         "anki-sync: {\"v\":11,\"k\":\"%s\",\"c\":\"%s\",\"s\":\"bench1\"}", hkey,
	         CLIENT_VERSION);
	c->headers = curl_slist_append(NULL, hdr);
	c->headers = curl_slist_append(c->headers, "Content-Type: application/octet-stream");
	c->headers = curl_slist_append(c->headers, "Expect:");
	if (!c->headers)
		die("out of memory");
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->reply);
	curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
}

static void client_free(struct client *c)
{
	curl_slist_free_all(c->headers);
	curl_easy_cleanup(c->curl);
	ZSTD_freeDCtx(c->dctx);
	ZSTD_freeCCtx(c->cctx);
	free(c->reply.p);
	free(c->plain.p);
	free(c->frame.p);
}

/* POST body (already a zstd frame) to msync/METHOD; c->plain holds the
 * decoded reply, whose size the anki-original-size header must give.
 * With c->refused set, every answer must be 403 instead (and is not
 * decoded). */
static void call_raw(struct client *c, const char *method, const void *body, size_t len)
{
	char url[600];
	snprintf(url, sizeof url, "%s%s", c->base, method);
	c->reply.len = 0;
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	CURLcode rc = curl_easy_perform(c->curl);
	if (rc != CURLE_OK)
		die("%s: %s", method, curl_easy_strerror(rc));
	long status = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (c->refused && status == 403)
		return;
	if (status != 200 || c->refused)
		die("%s: HTTP %ld %.*s", method, status,
		    (int)(c->reply.len < 200 ? c->reply.len : 200), (const char *)c->reply.p);
	struct curl_header *h = NULL;
	if (curl_easy_header(c->curl, "anki-original-size", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		die("%s: reply without anki-original-size", method);
	char *end = NULL;
	unsigned long long want = strtoull(h->value, &end, 10);
	if (!end || *end || want > (1ull << 31))
		die("%s: bad anki-original-size %s", method, h->value);
	mem_reserve(&c->plain, (size_t)want + 1);
	size_t got =
	    ZSTD_decompressDCtx(c->dctx, c->plain.p, c->plain.cap, c->reply.p, c->reply.len);
	if (ZSTD_isError(got) || got != want)
		die("%s: reply is not one zstd frame of %llu bytes", method, want);
	c->plain.len = got;
}

/* A JSON request; returns the reply's "data" (caller decrefs the root
 * through *root). */
static json_t *call_json(struct client *c, const char *method, json_t *req, json_t **root)
{
	char *text = json_dumps(req, JSON_COMPACT);
	if (!text)
		die("%s: cannot encode the request", method);
	size_t tl = strlen(text);
	mem_reserve(&c->frame, ZSTD_compressBound(tl));
	size_t fl = ZSTD_compressCCtx(c->cctx, c->frame.p, c->frame.cap, text, tl, 3);
	free(text);
	if (ZSTD_isError(fl))
		die("%s: zstd: %s", method, ZSTD_getErrorName(fl));
	call_raw(c, method, c->frame.p, fl);
	json_error_t je;
	*root = json_loadb((const char *)c->plain.p, c->plain.len, 0, &je);
	json_t *err = *root ? json_object_get(*root, "err") : NULL;
	if (!*root || !json_is_string(err) || json_string_length(err) != 0)
		die("%s: reply %.*s", method, (int)(c->plain.len < 200 ? c->plain.len : 200),
		    (const char *)c->plain.p);
	return json_object_get(*root, "data");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void do_upload(struct client *c, const char *dir, uint64_t *files, uint64_t *bytes,
                      int64_t *usn)
{
	DIR *d = opendir(dir);
	if (!d)
		die("%s: %s", dir, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".zst") != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			if (!(names = realloc(names, cap * sizeof *names)))
				die("out of memory");
		}
		if (!(names[n++] = strdup(de->d_name)))
			die("out of memory");
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	struct mem body = {0};
	json_int_t cur = 0;
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
		if (size < 0)
			die("%s: %s", path, strerror(errno));
		mem_reserve(&body, (size_t)size);
		if (pread(fd, body.p, (size_t)size, 0) != size)
			die("%s: short read", path);
		close(fd);
		call_raw(c, "uploadChanges", body.p, (size_t)size);
		c->bulk++;
		*bytes += (uint64_t)size;
		free(names[i]);
		if (c->refused)
			continue;
		json_error_t je;
		json_t *root = json_loadb((const char *)c->plain.p, c->plain.len, 0, &je);
		json_int_t processed = -1, after = -1;
		if (!root || json_unpack(root, "{s:[II]}", "data", &processed, &after) != 0 ||
		    processed <= 0 || after != cur + processed)
			die("uploadChanges %s: reply %.*s after usn %lld", names[i],
			    (int)(c->plain.len < 200 ? c->plain.len : 200),
			    (const char *)c->plain.p, (long long)cur);
		json_decref(root);
		cur = after;
		*files += (uint64_t)processed;
	}
	free(names);
	free(body.p);
	*usn = (int64_t)cur;
}

static void write_file(int dfd, const char *name, const unsigned char *p, size_t n)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("%s: %s", name, strerror(errno));
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("%s: %s", name, strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	if (close(fd) != 0)
		die("%s: %s", name, strerror(errno));
}

/* _meta of an upload zip ([[name, member or null], ...]) as the
 * member -> name object a download zip carries. */
static json_t *upload_meta_map(json_t *list)
{
	json_t *map = json_object(), *pair;
	size_t i;
	if (!map || !json_is_array(list))
		die("upload _meta is not a list");
	json_array_foreach(list, i, pair)
	{
		const char *name = json_string_value(json_array_get(pair, 0));
		const char *member = json_string_value(json_array_get(pair, 1));
		if (name && member)
			json_object_set_new(map, member, json_string(name));
	}
	json_decref(list);
	return map;
}

/* Extract the zip zip[0..len) into dfd: each member read with libzip (CRC
 * checked), hashed (SHA-1) and written.  _meta is a download reply's
 * member -> name object, or with upload_meta an upload's pair list.  With
 * want (name -> hex), every hash must equal its entry.  With dfd < 0 only
 * _meta is read (serve mode).  Returns the file count. */
static size_t extract(const unsigned char *zip, size_t len, int upload_meta, int dfd, json_t *want,
                      uint64_t *bytes, struct mem *file)
{
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(zip, len, 0, &ze);
	zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
	if (!za)
		die("downloadFiles: not a zip: %s", zip_error_strerror(&ze));
	json_t *fmap = NULL;
	zip_int64_t n = zip_get_num_entries(za, 0);
	for (int pass = 0; pass < 2; pass++) {
		for (zip_int64_t i = 0; i < n; i++) {
			const char *member = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
			zip_stat_t st;
			if (!member || zip_stat_index(za, (zip_uint64_t)i, 0, &st) != 0 ||
			    !(st.valid & ZIP_STAT_SIZE) || st.size > (1u << 30))
				die("downloadFiles: bad member %lld", (long long)i);
			int is_meta = strcmp(member, "_meta") == 0;
			if (is_meta != (pass == 0))
				continue;
			if (!is_meta && dfd < 0) { /* serve mode: the bytes are not used */
				*bytes += st.size;
				continue;
			}
			mem_reserve(file, (size_t)st.size + 1);
			zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)i, 0);
			if (!zf || zip_fread(zf, file->p, st.size) != (zip_int64_t)st.size ||
			    zip_fread(zf, file->p, 1) != 0)
				die("downloadFiles: cannot read %s", member);
			zip_fclose(zf);
			if (is_meta) {
				json_error_t je;
				if (!(fmap = json_loadb((const char *)file->p, st.size, 0, &je)))
					die("_meta is not JSON");
				if (upload_meta)
					fmap = upload_meta_map(fmap);
				if (!json_is_object(fmap))
					die("downloadFiles: _meta is not a JSON object");
				continue;
			}
			json_t *fname = json_object_get(fmap, member);
			const char *name = json_string_value(fname);
			if (!name)
				die("downloadFiles: member %s not in _meta", member);
			unsigned char md[EVP_MAX_MD_SIZE];
			unsigned mdlen = 0;
			if (!EVP_Digest(file->p, st.size, md, &mdlen, EVP_sha1(), NULL))
				die("SHA-1 failed");
			char hex[41];
			for (unsigned k = 0; k < mdlen && k < 20; k++)
				snprintf(hex + 2 * k, 3, "%02x", md[k]);
			const char *expect = json_string_value(json_object_get(want, name));
			if (want && (!expect || strcmp(expect, hex) != 0))
				die("%s: SHA-1 %s differs from mediaChanges' %s", name, hex,
				    expect ? expect : "(none)");
			write_file(dfd, name, file->p, st.size);
			*bytes += st.size;
		}
		if (pass == 0 && !fmap)
			die("downloadFiles: no _meta member");
	}
	size_t got = json_object_size(fmap);
	json_decref(fmap);
	zip_close(za);
	return got;
}

/* A media sync's download half into folder (NULL: serve mode). */
static void do_download(struct client *c, const char *folder, uint64_t *files, uint64_t *bytes,
                        int64_t *usn)
{
	int dfd = folder ? open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (folder && dfd < 0)
		die("%s: %s", folder, strerror(errno));
	json_t *root;
	json_t *req = json_pack("{s:s}", "v", CLIENT_VERSION);
	json_t *data = call_json(c, "begin", req, &root);
	json_decref(req);
	*usn = json_integer_value(json_object_get(data, "usn"));
	json_decref(root);
	struct mem file = {0};
	json_int_t last = 0;
	for (;;) {
		req = json_pack("{s:I}", "lastUsn", last);
		json_t *rows = call_json(c, "mediaChanges", req, &root);
		json_decref(req);
		if (!json_is_array(rows))
			die("mediaChanges: data is not a list");
		if (json_array_size(rows) == 0) {
			json_decref(root);
			break;
		}
		json_t *want = json_object(), *names = json_array();
		size_t i;
		json_t *row;
		json_array_foreach(rows, i, row)
		{
			const char *fname = NULL, *sha1 = NULL;
			json_int_t rusn = 0;
			if (json_unpack(row, "[sIs]", &fname, &rusn, &sha1) != 0)
				die("mediaChanges: bad row");
			last = rusn;
			if (sha1[0]) {
				json_object_set_new(want, fname, json_string(sha1));
				json_array_append_new(names, json_string(fname));
			}
		}
		size_t at = 0, total = json_array_size(names);
		while (at < total) {
			json_t *batch = json_array();
			for (size_t k = at; k < total && k < at + FILES_PER_REQUEST; k++)
				json_array_append(batch, json_array_get(names, k));
			json_t *dreq = json_pack("{s:o}", "files", batch);
			char *text = json_dumps(dreq, JSON_COMPACT);
			json_decref(dreq);
			size_t tl = strlen(text);
			mem_reserve(&c->frame, ZSTD_compressBound(tl));
			size_t fl =
			    ZSTD_compressCCtx(c->cctx, c->frame.p, c->frame.cap, text, tl, 3);
			free(text);
			if (ZSTD_isError(fl))
				die("zstd failed");
			call_raw(c, "downloadFiles", c->frame.p, fl);
			c->bulk++;
			size_t got = extract(c->plain.p, c->plain.len, 0, dfd, want, bytes, &file);
			if (got == 0)
				die("downloadFiles returned no file");
			at += got;
			*files += got;
		}
		json_decref(want);
		json_decref(names);
		json_decref(root);
	}
	req = json_pack("{s:I}", "local", (json_int_t)*files);
	json_t *ok = call_json(c, "mediaSanity", req, &root);
	json_decref(req);
	if (!json_is_string(ok) || strcmp(json_string_value(ok), "OK") != 0)
		die("mediaSanity did not answer OK");
	json_decref(root);
	free(file.p);
	if (dfd >= 0)
		close(dfd);
	if (last != *usn)
		die("mediaChanges ended at usn %lld, begin said %lld", (long long)last,
		    (long long)*usn);
}

/* The client's own work without server or network: every upload body of
 * dir (a zstd frame of a zip, as a download reply is) read, decoded,
 * unzipped, hashed and written to folder. */
static void do_floor(const char *dir, const char *folder, uint64_t *files, uint64_t *bytes,
                     uint64_t *zips)
{
	int dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = opendir(dir);
	if (dfd < 0 || !d)
		die("%s or %s: %s", dir, folder, strerror(errno));
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	struct mem body = {0}, plain = {0}, file = {0};
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".zst") != 0)
			continue;
		int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
		if (size < 0)
			die("%s: %s", de->d_name, strerror(errno));
		mem_reserve(&body, (size_t)size);
		if (pread(fd, body.p, (size_t)size, 0) != size)
			die("%s: short read", de->d_name);
		close(fd);
		/* streamed: the bench's frames do not all carry their size */
		ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
		ZSTD_inBuffer in = {body.p, (size_t)size, 0};
		plain.len = 0;
		for (;;) {
			mem_reserve(&plain, plain.len + ZSTD_DStreamOutSize());
			ZSTD_outBuffer out = {plain.p + plain.len, plain.cap - plain.len, 0};
			size_t r = ZSTD_decompressStream(dctx, &out, &in);
			if (ZSTD_isError(r))
				die("%s: %s", de->d_name, ZSTD_getErrorName(r));
			plain.len += out.pos;
			if (r == 0)
				break;
			if (in.pos == in.size && out.pos == 0)
				die("%s: truncated zstd frame", de->d_name);
		}
		*files += extract(plain.p, plain.len, 1, dfd, NULL, bytes, &file);
		(*zips)++;
	}
	closedir(d);
	close(dfd);
	ZSTD_freeDCtx(dctx);
	free(body.p);
	free(plain.p);
	free(file.p);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "floor") == 0) {
		uint64_t files = 0, bytes = 0, zips = 0;
		if (mkdir(argv[3], 0700) != 0 && errno != EEXIST)
			die("%s: %s", argv[3], strerror(errno));
		double t0 = now();
		do_floor(argv[2], argv[3], &files, &bytes, &zips);
		printf("seconds=%.6f files=%llu bytes=%llu requests=%llu usn=0\n", now() - t0,
		       (unsigned long long)files, (unsigned long long)bytes,
		       (unsigned long long)zips);
		return 0;
	}
	int serve = argc == 4 && strcmp(argv[1], "serve") == 0;
	if (!serve &&
	    (argc != 5 || (strcmp(argv[1], "upload") != 0 && strcmp(argv[1], "download") != 0 &&
	                   strcmp(argv[1], "transport") != 0))) {
		fprintf(stderr, "usage: bench_media_client upload|download|transport URL HKEY DIR\n"
		                "       bench_media_client serve URL HKEY\n"
		                "       bench_media_client floor BODYDIR OUTDIR\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		die("curl_global_init failed");
	struct client c;
	client_init(&c, argv[2], argv[3]);
	uint64_t files = 0, bytes = 0;
	int64_t usn = 0;
	double t0 = now();
	c.refused = strcmp(argv[1], "transport") == 0;
	if (serve)
		do_download(&c, NULL, &files, &bytes, &usn);
	else if (strcmp(argv[1], "download") != 0)
		do_upload(&c, argv[4], &files, &bytes, &usn);
	else
		do_download(&c, argv[4], &files, &bytes, &usn);
	double secs = now() - t0;
	printf("seconds=%.6f files=%llu bytes=%llu requests=%llu usn=%lld\n", secs,
	       (unsigned long long)files, (unsigned long long)bytes, (unsigned long long)c.bulk,
	       (long long)usn);
	client_free(&c);
	curl_global_cleanup();
	return 0;
}
