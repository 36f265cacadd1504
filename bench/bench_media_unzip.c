/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bench_media_unzip.c - the baselines of bench-media.sh: the bytes of a
 * media sync moved with plain libzip and write(2), nothing else (no HTTP,
 * no zstd, no SHA-1, no database, no fsync - the server's media writes are
 * not durable by default either).
 *
 *   bench_media_unzip unzip ZIPDIR OUTDIR
 *       every member but _meta of every *.zip in ZIPDIR into its own new
 *       file in OUTDIR (open, write, close): what the server does with an
 *       upload, and what a client does with a download;
 *   bench_media_unzip unzip-sha1 ZIPDIR OUTDIR
 *       the same, hashing each file (SHA-1) in the pass that writes it:
 *       the upload's own work, since the server must store every file's
 *       SHA-1 (sync-protocol.md §5.4, the csum column);
 *   bench_media_unzip zip SRCDIR OUTDIR
 *       every regular file of SRCDIR into Stored zips of at most 25 files
 *       that stop after the file passing 2.5 MiB (sync-protocol.md §5.5),
 *       written to OUTDIR: what the server does for a download.
 *
 * Prints one line "seconds=S bytes=B files=F zips=Z" (wall clock of the
 * work, directory listing included).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <zip.h>

#define COPY_BUF (256u * 1024)
#define ZIP_FILES_MAX 25
#define ZIP_TARGET_BYTES 2621440u

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "bench_media_unzip: %s: %s\n", what, detail ? detail : strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_all(int fd, const unsigned char *p, size_t n, const char *path)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die(path, NULL);
		p += w;
		n -= (size_t)w;
	}
}

static uint64_t nbytes, nfiles, nzips;

/* md: NULL, or a context that hashes each file (the digest is computed
 * and dropped: the work is what is measured). */
static void unzip_one(const char *zpath, const char *outdir, unsigned char *buf, EVP_MD_CTX *md)
{
	int zerr = 0;
	zip_t *za = zip_open(zpath, ZIP_RDONLY, &zerr);
	if (!za)
		die(zpath, "cannot open the zip");
	zip_int64_t n = zip_get_num_entries(za, 0);
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
		if (!name || strcmp(name, "_meta") == 0)
			continue;
		char out[4096];
		snprintf(out, sizeof out, "%s/%llu-%s", outdir, (unsigned long long)nzips, name);
		zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)i, 0);
		if (!zf)
			die(zpath, zip_strerror(za));
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			die(out, NULL);
		if (md && EVP_DigestInit_ex(md, EVP_sha1(), NULL) != 1)
			die("SHA-1", "init failed");
		for (;;) {
			zip_int64_t r = zip_fread(zf, buf, COPY_BUF);
			if (r < 0)
				die(zpath, zip_file_strerror(zf));
			if (r == 0)
				break;
			if (md && EVP_DigestUpdate(md, buf, (size_t)r) != 1)
				die("SHA-1", "update failed");
			write_all(fd, buf, (size_t)r, out);
			nbytes += (uint64_t)r;
		}
		unsigned char dig[EVP_MAX_MD_SIZE];
		if (md && EVP_DigestFinal_ex(md, dig, NULL) != 1)
			die("SHA-1", "final failed");
		zip_fclose(zf);
		if (close(fd) != 0)
			die(out, NULL);
		nfiles++;
	}
	zip_discard(za);
	nzips++;
}

static void do_unzip(const char *zipdir, const char *outdir, int hash)
{
	unsigned char *buf = malloc(COPY_BUF);
	EVP_MD_CTX *md = hash ? EVP_MD_CTX_new() : NULL;
	if (!buf || (hash && !md))
		die("malloc", NULL);
	DIR *d = opendir(zipdir);
	if (!d)
		die(zipdir, NULL);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".zip") != 0)
			continue;
		char zpath[4096];
		snprintf(zpath, sizeof zpath, "%s/%s", zipdir, de->d_name);
		unzip_one(zpath, outdir, buf, md);
	}
	closedir(d);
	EVP_MD_CTX_free(md);
	free(buf);
}

struct batch {
	char names[ZIP_FILES_MAX][512];
	size_t n;
	uint64_t acc;
};

static void flush_batch(struct batch *b, const char *srcdir, const char *outdir)
{
	if (b->n == 0)
		return;
	char zpath[4096];
	snprintf(zpath, sizeof zpath, "%s/%llu.zip", outdir, (unsigned long long)nzips);
	int zerr = 0;
	zip_t *za = zip_open(zpath, ZIP_CREATE | ZIP_EXCL, &zerr);
	if (!za)
		die(zpath, "cannot create the zip");
	char meta[ZIP_FILES_MAX * 600] = "{";
	size_t ml = 1;
	for (size_t i = 0; i < b->n; i++) {
		char src[4096], member[24];
		snprintf(src, sizeof src, "%s/%s", srcdir, b->names[i]);
		snprintf(member, sizeof member, "%zu", i);
		zip_source_t *s = zip_source_file(za, src, 0, -1);
		zip_int64_t idx = s ? zip_file_add(za, member, s, ZIP_FL_ENC_UTF_8) : -1;
		if (idx < 0 || zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0))
			die(src, zip_strerror(za));
		/* names are the bench's own ASCII names: no JSON escaping needed */
		ml += (size_t)snprintf(meta + ml, sizeof meta - ml, "%s\"%zu\":\"%s\"",
		                       i ? "," : "", i, b->names[i]);
	}
	snprintf(meta + ml, sizeof meta - ml, "}");
	zip_source_t *s = zip_source_buffer(za, meta, strlen(meta), 0);
	zip_int64_t idx = s ? zip_file_add(za, "_meta", s, ZIP_FL_ENC_UTF_8) : -1;
	if (idx < 0 || zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0))
		die(zpath, zip_strerror(za));
	if (zip_close(za) != 0)
		die(zpath, zip_strerror(za));
	nfiles += b->n;
	nbytes += b->acc;
	nzips++;
	b->n = 0;
	b->acc = 0;
}

static void do_zip(const char *srcdir, const char *outdir)
{
	static struct batch b;
	int dfd = open(srcdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d)
		die(srcdir, NULL);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof b.names[0] ||
		    fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
			continue;
		snprintf(b.names[b.n], sizeof b.names[0], "%s", de->d_name);
		b.n++;
		b.acc += (uint64_t)sb.st_size;
		if (b.n == ZIP_FILES_MAX || b.acc > ZIP_TARGET_BYTES)
			flush_batch(&b, srcdir, outdir);
	}
	flush_batch(&b, srcdir, outdir);
	closedir(d);
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[1], "unzip") != 0 && strcmp(argv[1], "unzip-sha1") != 0 &&
	                  strcmp(argv[1], "zip") != 0)) {
		fprintf(stderr, "usage: bench_media_unzip unzip|unzip-sha1 ZIPDIR OUTDIR | "
		                "zip SRCDIR OUTDIR\n");
		return 2;
	}
	if (mkdir(argv[3], 0700) != 0 && errno != EEXIST)
		die(argv[3], NULL);
	double t0 = now();
	if (strcmp(argv[1], "zip") != 0)
		do_unzip(argv[2], argv[3], strcmp(argv[1], "unzip-sha1") == 0);
	else
		do_zip(argv[2], argv[3]);
	double t1 = now();
	printf("seconds=%.3f bytes=%llu files=%llu zips=%llu\n", t1 - t0,
	       (unsigned long long)nbytes, (unsigned long long)nfiles, (unsigned long long)nzips);
	return 0;
}
