/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bench_pkg.c - issue 11 benchmark: export and import of a deck of N notes
 * (default 20,000) with M media files (default 2,000, incompressible, 8-56
 * KiB each), in the latest and the legacy format, each compared with
 * zipping / unzipping the same bytes (the collection file and the media
 * files) with libzip alone in the same run; plus the peak RSS of every
 * step, and of an import of one 96 MiB media file, to show media are
 * streamed (the RSS does not follow the media size).
 *
 * Every step runs in its own child process so its peak RSS is its own
 * (wait4's ru_maxrss).  Output: one line per step with seconds, the ratio
 * to the libzip baseline and the peak RSS.
 *
 *   bench_pkg DIR [NOTES [MEDIA]]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "col.h"
#include "col_decks.h"
#include "col_notes.h"
#include "pkg.h"

static char dir[2048];
static long nnotes = 20000, nmedia = 2000;
static uint64_t media_bytes;

static void die(const char *what, const struct errinfo *e)
{
	fprintf(stderr, "bench_pkg: %s: %s\n", what, e ? e->msg : strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void write_random(const char *path, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		die(path, NULL);
	uint64_t buf[8192];
	while (n) {
		size_t k = n < sizeof buf ? n : sizeof buf;
		for (size_t i = 0; i < (k + 7) / 8; i++)
			buf[i] = next_rand();
		fwrite(buf, 1, k, f);
		n -= k;
	}
	fclose(f);
}

static void path(char *out, const char *name)
{
	snprintf(out, 4096, "%s/%s", dir, name);
}

/* The source collection: deck "Bench" with nnotes notes; the first nmedia
 * notes each show one image. */
static void build_source(void)
{
	char col[4096], md[4096], p[8192];
	path(col, "src.anki2");
	path(md, "src.media");
	struct errinfo e;
	if (col_create(col, 0, &e))
		die("create", &e);
	struct col *c;
	if (col_open(col, 0, &c, &e))
		die("open", &e);
	mkdir(md, 0755);
	for (long i = 0; i < nmedia; i++) {
		size_t n = 8192 + (size_t)(next_rand() % (48 * 1024));
		snprintf(p, sizeof p, "%s/img%05ld.jpg", md, i);
		write_random(p, n);
		media_bytes += n;
	}
	int64_t did, mid = 0;
	if (col_begin(c, &e) || col_decks_get_or_create(c, "Bench", &did, NULL, &e))
		die("deck", &e);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(col_db(c), "select id from notetypes where name = 'Basic'", -1, &st,
	                   NULL);
	if (sqlite3_step(st) == SQLITE_ROW)
		mid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	for (long i = 0; i < nnotes; i++) {
		char flds[512];
		if (i < nmedia)
			snprintf(
			    flds, sizeof flds,
			    "word %ld <img src=\"img%05ld.jpg\">\x1fmeaning %ld, some longer text"
			    " on the back of the card",
			    i, i, i);
		else
			snprintf(
			    flds, sizeof flds,
			    "word %ld\x1fmeaning %ld, some longer text on the back of the card", i,
			    i);
		struct note n = {.mid = mid, .flds = strdup(flds), .tags = strdup("bench")};
		if (col_note_add(c, &n, &e))
			die("note", &e);
		struct card cd;
		int64_t pos;
		col_next_position(c, &pos, &e);
		card_init_new(&cd, n.id, did, 0, pos);
		if (col_card_add(c, &cd, &e))
			die("card", &e);
		card_free(&cd);
		note_free(&n);
	}
	if (col_commit(c, &e))
		die("commit", &e);
	col_close(c);
}

typedef void (*step_fn)(void);

static double run_once(step_fn fn, long *rss_kib, double *cpu);

/* Best of REPEAT runs of fn (the machine may be shared: the minimum is
 * the least disturbed); outputs of earlier steps are kept, the step's
 * own are rebuilt by fn.  CPU time (user + system) is the steadier
 * measure, so the ratios use it. */
#define REPEAT 3
static double run(step_fn fn, long *rss_kib, double *cpu)
{
	double best = 1e9, best_cpu = 1e9;
	long rss = 0;
	for (int i = 0; i < REPEAT; i++) {
		long r;
		double c;
		double t = run_once(fn, &r, &c);
		best = t < best ? t : best;
		best_cpu = c < best_cpu ? c : best_cpu;
		rss = r > rss ? r : rss;
	}
	*rss_kib = rss;
	*cpu = best_cpu;
	return best;
}

/* Run fn in a child; returns wall seconds, and the child's CPU seconds
 * (user + system) and peak RSS (KiB). */
static double run_once(step_fn fn, long *rss_kib, double *cpu)
{
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0)
		die("fork", NULL);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		die("step failed", NULL);
	*rss_kib = ru.ru_maxrss;
	*cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return now() - t0;
}

static void export_to(const char *name, bool legacy)
{
	char col[4096], out[4096];
	path(col, "src.anki2");
	path(out, name);
	struct errinfo e;
	struct col *c;
	if (col_open(col, 0, &c, &e))
		die("open", &e);
	int64_t did;
	if (col_decks_find(c, "Bench", &did, &e))
		die("deck", &e);
	struct pkg_export_opts o = {.out_path = out,
	                            .deck_id = did,
	                            .with_children = true,
	                            .with_media = true,
	                            .legacy = legacy};
	struct pkg_export_result r;
	if (pkg_export(c, &o, &r, &e))
		die("export", &e);
	if (r.notes != (size_t)nnotes || r.media != (size_t)nmedia)
		die("export counts", NULL);
	col_close(c);
}

static void export_latest(void)
{
	export_to("latest.apkg", false);
}

static void export_legacy(void)
{
	export_to("legacy.apkg", true);
}

static void import_from(const char *pkg, const char *name, size_t want_media)
{
	char col[4096], in[4096], cmd[8400];
	path(col, name);
	path(in, pkg);
	/* an empty collection each time (and its media folder) */
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%.*s.media'", col, (int)(strlen(col) - 6), col);
	if (system(cmd) != 0)
		die("cleaning up", NULL);
	struct errinfo e;
	if (col_create(col, 0, &e))
		die("create", &e);
	struct col *c;
	if (col_open(col, 0, &c, &e))
		die("open", &e);
	struct pkg_import_result r;
	if (pkg_import(c, in, NULL, NULL, &r, &e))
		die("import", &e);
	if (r.media_added != want_media)
		die("import counts", NULL);
	col_close(c);
}

static void import_latest(void)
{
	import_from("latest.apkg", "dst-latest.anki2", (size_t)nmedia);
}

static void import_legacy(void)
{
	import_from("legacy.apkg", "dst-legacy.anki2", (size_t)nmedia);
}

/* The baseline: the same bytes (collection file, media files) into a zip
 * with libzip alone, the collection deflated, the media stored. */
static void zip_plain(void)
{
	char out[4096], p[4096];
	path(out, "plain.zip");
	int err;
	zip_t *z = zip_open(out, ZIP_CREATE | ZIP_TRUNCATE, &err);
	if (!z)
		die("zip_open", NULL);
	path(p, "src.anki2");
	zip_source_t *s = zip_source_file(z, p, 0, -1);
	zip_int64_t i = zip_file_add(z, "collection", s, 0);
	zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_DEFLATE, 6);
	for (long k = 0; k < nmedia; k++) {
		snprintf(p, sizeof p, "%s/src.media/img%05ld.jpg", dir, k);
		char name[24];
		snprintf(name, sizeof name, "%ld", k);
		s = zip_source_file(z, p, 0, -1);
		i = zip_file_add(z, name, s, 0);
		zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_STORE, 0);
	}
	if (zip_close(z))
		die("zip_close", NULL);
}

static void unzip_plain(void)
{
	char in[4096], outdir[4096], p[4200];
	path(in, "plain.zip");
	path(outdir, "unzipped");
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", outdir);
	if (system(cmd) != 0)
		die("cleaning up", NULL);
	mkdir(outdir, 0755);
	zip_t *z = zip_open(in, ZIP_RDONLY, NULL);
	if (!z)
		die("zip_open", NULL);
	zip_int64_t n = zip_get_num_entries(z, 0);
	char buf[65536];
	for (zip_int64_t i = 0; i < n; i++) {
		snprintf(p, sizeof p, "%s/%s", outdir, zip_get_name(z, (zip_uint64_t)i, 0));
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		zip_file_t *f = zip_fopen_index(z, (zip_uint64_t)i, 0);
		zip_int64_t r;
		while ((r = zip_fread(f, buf, sizeof buf)) > 0)
			if (write(fd, buf, (size_t)r) != r)
				die("write", NULL);
		zip_fclose(f);
		close(fd);
	}
	zip_discard(z);
}

/* One 96 MiB media file through export and import (latest). */
static void big_export(void)
{
	char col[4096], md[4096], p[8192], out[4096];
	path(col, "big.anki2");
	path(md, "big.media");
	path(out, "big.apkg");
	struct errinfo e;
	struct col *c;
	if (col_open(col, 0, &c, &e))
		die("open", &e);
	struct pkg_export_opts o = {.out_path = out, .with_media = true};
	struct pkg_export_result r;
	if (pkg_export(c, &o, &r, &e))
		die("export", &e);
	if (r.media != 1)
		die("big export", NULL);
	col_close(c);
	(void)md;
	(void)p;
}

static void big_import(void)
{
	import_from("big.apkg", "big-dst.anki2", 1);
}

static void build_big(void)
{
	char col[4096], md[4096], p[8192];
	path(col, "big.anki2");
	path(md, "big.media");
	struct errinfo e;
	if (col_create(col, 0, &e))
		die("create", &e);
	struct col *c;
	if (col_open(col, 0, &c, &e))
		die("open", &e);
	mkdir(md, 0755);
	snprintf(p, sizeof p, "%s/big.mp4", md);
	write_random(p, 96u << 20);
	int64_t mid = 0;
	sqlite3_stmt *st;
	sqlite3_prepare_v2(col_db(c), "select id from notetypes where name = 'Basic'", -1, &st,
	                   NULL);
	if (sqlite3_step(st) == SQLITE_ROW)
		mid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	struct note n = {.mid = mid, .flds = strdup("[sound:big.mp4]\x1f")};
	if (col_begin(c, &e) || col_note_add(c, &n, &e))
		die("note", &e);
	struct card cd;
	card_init_new(&cd, n.id, 1, 0, 1);
	if (col_card_add(c, &cd, &e) || col_commit(c, &e))
		die("card", &e);
	note_free(&n);
	col_close(c);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_pkg DIR [NOTES [MEDIA]]\n");
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);
	if (argc > 2)
		nnotes = strtol(argv[2], NULL, 10);
	if (argc > 3)
		nmedia = strtol(argv[3], NULL, 10);
	if (nnotes < 1 || nmedia < 1) {
		fprintf(stderr, "bench_pkg: NOTES and MEDIA must be positive\n");
		return 2;
	}
	if (nmedia > nnotes)
		nmedia = nnotes;
	double t0 = now();
	build_source();
	printf("setup: %ld notes, %ld media files, %.1f MiB of media (%.1f s)\n", nnotes, nmedia,
	       (double)media_bytes / 1048576.0, now() - t0);
	fflush(stdout);

	long rss;
	double zcpu, ucpu, cpu;
	double zip = run(zip_plain, &rss, &zcpu);
	printf(
	    "baseline libzip zip of the same bytes: %.2f s wall, %.2f s CPU, peak RSS %.1f MiB\n",
	    zip, zcpu, (double)rss / 1024.0);
	double unzip = run(unzip_plain, &rss, &ucpu);
	printf(
	    "baseline libzip unzip of the same bytes: %.2f s wall, %.2f s CPU, peak RSS %.1f MiB\n",
	    unzip, ucpu, (double)rss / 1024.0);
	struct {
		const char *name;
		step_fn fn;
		double base, base_cpu;
	} steps[] = {
	    {"export latest (zstd)", export_latest, zip, zcpu},
	    {"export legacy (deflate)", export_legacy, zip, zcpu},
	    {"import latest into an empty collection", import_latest, unzip, ucpu},
	    {"import legacy into an empty collection", import_legacy, unzip, ucpu},
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		double t = run(steps[i].fn, &rss, &cpu);
		printf("%s: %.2f s wall (%.2f x libzip), %.2f s CPU (%.2f x libzip), peak RSS %.1f "
		       "MiB\n",
		       steps[i].name, t, t / steps[i].base, cpu, cpu / steps[i].base_cpu,
		       (double)rss / 1024.0);
		fflush(stdout);
	}
	build_big();
	double t = run(big_export, &rss, &cpu);
	printf("one 96 MiB media file: export %.2f s, peak RSS %.1f MiB", t, (double)rss / 1024.0);
	t = run(big_import, &rss, &cpu);
	printf("; import %.2f s, peak RSS %.1f MiB\n", t, (double)rss / 1024.0);
	return 0;
}
