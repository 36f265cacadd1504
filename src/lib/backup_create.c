/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_create.c - `anki-backup create`: one snapshot of every user of a
 * sync server's data directory (sync-protocol.md §6.2), then retention.
 *
 * Order of a run, and why:
 *   1. check the source (before touching the destination: an empty source
 *      is usually a failed mount, and must not cost a good backup);
 *   2. lock the destination, remove leftovers of interrupted runs;
 *   3. write everything under DEST/.tmp-<name>/, flush the file system,
 *      rename to DEST/<name> (the snapshot now exists, complete);
 *   4. only then prune, and never the snapshot just written or the newest;
 *      not at all when a source database failed its check (the older
 *      snapshots may be the last good copies).
 * Any failure before the rename removes the temporary directory.
 */
#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "afile.h"
#include "backup_db.h"
#include "backup_dest.h"
#include "backup_fs.h"
#include "backup_manifest.h"
#include "backup_media.h"
#include "backup_prev.h"
#include "backup_stream.h"
#include "buf.h"
#include "bounds.h"
#include "log.h"
#include "path.h"

/* A recipients file lists a few public keys; anything larger is a mistake
 * (an identity file with private keys would be small too, but see below). */
#define MAX_RECIPIENTS_FILE 65536

static const char how_to_restore[] =
    "This directory is one anki-backup snapshot of an Anki sync server's data.\n"
    "Full description: docs/backup.md in the ankihost sources.\n"
    "\n"
    "Check it:    sha256sum -c SHA256SUMS        (run inside this directory)\n"
    "With the tool: anki-backup restore --dest <backup dir> <this name> --target <new dir>\n"
    "\n"
    "By hand (zstd and sqlite3; add `age -d -i KEY |` in front of zstd when files end in .age):\n"
    "  mkdir -p NEW/alice/media\n"
    "  zstd -d -o NEW/alice/collection.anki2 users/alice/collection.anki2.zst\n"
    "  zstd -d -o NEW/alice/media.db users/alice/media.db.zst\n"
    "  media files are stored under their SHA-1 in users/alice/media/; their names are in\n"
    "  manifest.jsonl (one JSON object per line, type \"media\": name -> object), e.g.:\n"
    "    jq -r 'select(.type==\"media\" and .user==\"alice\") | [.object, .name] | @tsv' \\\n"
    "      manifest.jsonl | while IFS=$'\\t' read -r obj name; do\n"
    "        zstd -q -d -o \"NEW/alice/media/$name\" \"$obj\"; done\n"
    "  sqlite3 NEW/alice/media.db 'PRAGMA integrity_check'\n"
    "  sqlite3 NEW/alice/collection.anki2 'SELECT count(*) FROM notes'\n"
    "  (integrity_check of a collection needs Anki's unicase collation: anki-backup\n"
    "  verify has it, or load ankihost's build/unicase.so into the sqlite3 shell)\n";

struct user_dir {
	char *name;
	int collection, media_db, media_dir;
};

static int user_cmp(const void *x, const void *y)
{
	return strcmp(((const struct user_dir *)x)->name, ((const struct user_dir *)y)->name);
}

static int is_regular(const char *dir, const char *name)
{
	char p[MAX_PATH_BYTES];
	struct stat sb;
	return backup_pathf(p, sizeof p, NULL, "%s/%s", dir, name) == ST_OK && stat(p, &sb) == 0 &&
	       S_ISREG(sb.st_mode);
}

static int is_dir(const char *dir, const char *name)
{
	char p[MAX_PATH_BYTES];
	struct stat sb;
	return backup_pathf(p, sizeof p, NULL, "%s/%s", dir, name) == ST_OK && stat(p, &sb) == 0 &&
	       S_ISDIR(sb.st_mode);
}

/* Users = subdirectories (not starting with '.') holding a collection or a
 * media DB: exactly what a sync server creates (sync-protocol.md §6.2). */
static enum status find_users(const char *source, struct user_dir **out, size_t *n,
                              struct errinfo *e)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(source);
	if (!d)
		return errinfo_errno(e, errno == ENOENT ? ST_NOTFOUND : ST_IO,
		                     "cannot read source %s", source);
	struct user_dir *v = NULL;
	size_t cnt = 0, cap = 0;
	enum status st = ST_OK;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !is_dir(source, de->d_name))
			continue;
		char udir[MAX_PATH_BYTES];
		if (backup_pathf(udir, sizeof udir, NULL, "%s/%s", source, de->d_name))
			continue;
		struct user_dir u = {
		    .collection = is_regular(udir, "collection.anki2"),
		    .media_db = is_regular(udir, "media.db"),
		    .media_dir = is_dir(udir, "media"),
		};
		if (!u.collection && !u.media_db)
			continue;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct user_dir *nv = realloc(v, nc * sizeof *nv);
			if (!nv) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			v = nv;
			cap = nc;
		}
		if (!(u.name = strdup(de->d_name))) {
			st = errinfo_set(e, ST_NOMEM, "out of memory");
			break;
		}
		v[cnt++] = u;
	}
	closedir(d);
	if (st) {
		for (size_t i = 0; i < cnt; i++)
			free(v[i].name);
		free(v);
		return st;
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof *v, user_cmp);
	*out = v;
	*n = cnt;
	return ST_OK;
}

static void users_free(struct user_dir *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Recipients as recorded in the manifest: the -r values, then the lines of
 * the -R file that are neither empty nor comments (age's own syntax). */
static enum status collect_recipients(const struct backup_create_opts *o, struct backup_header *h,
                                      struct errinfo *e)
{
	size_t cap = o->nrecipients + 1;
	struct buf b;
	buf_init(&b, 0);
	if (o->recipients_file) {
		enum status st = buf_read_file(&b, o->recipients_file, MAX_RECIPIENTS_FILE, e);
		if (st)
			return errinfo_prefix(e, "recipients file %s", o->recipients_file);
		for (size_t i = 0; i < b.len; i++)
			if (b.data[i] == '\n')
				cap++;
	}
	h->recipients = calloc(cap, sizeof *h->recipients);
	if (!h->recipients) {
		buf_free(&b);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < o->nrecipients; i++)
		if (!(h->recipients[h->nrecipients++] = strdup(o->recipients[i])))
			goto nomem;
	if (o->recipients_file && b.data) {
		char *save = NULL;
		for (char *line = strtok_r((char *)b.data, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			while (*line == ' ' || *line == '\t')
				line++;
			size_t l = strlen(line);
			while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r'))
				line[--l] = '\0';
			if (l == 0 || line[0] == '#')
				continue;
			if (strncmp(line, "AGE-SECRET-KEY-", 15) == 0) {
				buf_wipe_free(&b);
				return errinfo_set(e, ST_INVALID,
				                   "%s holds a private key; give the public recipients "
				                   "(age-keygen -y) — a backup job never needs the private key",
				                   o->recipients_file);
			}
			if (h->nrecipients >= BACKUP_MAX_RECIPIENTS) {
				buf_free(&b);
				return errinfo_set(e, ST_TOOBIG, "more than %d recipients",
				                   BACKUP_MAX_RECIPIENTS);
			}
			if (!(h->recipients[h->nrecipients++] = strdup(line)))
				goto nomem;
		}
		if (h->nrecipients == o->nrecipients) {
			buf_free(&b);
			return errinfo_set(e, ST_INVALID, "recipients file %s lists no recipient",
			                   o->recipients_file);
		}
	}
	buf_free(&b);
	return ST_OK;
nomem:
	buf_free(&b);
	return errinfo_set(e, ST_NOMEM, "out of memory");
}

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Same set of recipients (order does not matter)? */
static int same_recipients(const struct backup_header *a, const struct backup_header *b)
{
	if (a->encrypted != b->encrypted || a->nrecipients != b->nrecipients)
		return 0;
	if (a->nrecipients == 0)
		return 1;
	char **x = malloc(a->nrecipients * sizeof *x), **y = malloc(b->nrecipients * sizeof *y);
	int same = x && y;
	if (same) {
		memcpy(x, a->recipients, a->nrecipients * sizeof *x);
		memcpy(y, b->recipients, b->nrecipients * sizeof *y);
		qsort(x, a->nrecipients, sizeof *x, str_cmp);
		qsort(y, b->nrecipients, sizeof *y, str_cmp);
		for (size_t i = 0; i < a->nrecipients && same; i++)
			same = strcmp(x[i], y[i]) == 0;
	}
	free(x);
	free(y);
	return same;
}

/* argv for `age --encrypt -r R... [-R FILE]`; NULL when not encrypting. */
static char **age_encrypt_argv(const struct backup_create_opts *o)
{
	if (o->nrecipients == 0 && !o->recipients_file)
		return NULL;
	size_t n = 2 + 2 * o->nrecipients + (o->recipients_file ? 2 : 0) + 1;
	char **argv = calloc(n, sizeof *argv);
	if (!argv)
		return NULL;
	size_t k = 0;
	argv[k++] = (char *)(o->age ? o->age : "age");
	argv[k++] = (char *)"--encrypt";
	for (size_t i = 0; i < o->nrecipients; i++) {
		argv[k++] = (char *)"-r";
		argv[k++] = (char *)o->recipients[i];
	}
	if (o->recipients_file) {
		argv[k++] = (char *)"-R";
		argv[k++] = (char *)o->recipients_file;
	}
	return argv;
}

struct all_entries {
	struct backup_entry *v;
	size_t n, cap;
};

/* Keep a shallow copy for SHA256SUMS (strings owned by all_entries). */
static enum status keep_entry(struct all_entries *a, struct backup_entry *en, struct errinfo *e)
{
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 256;
		struct backup_entry *nv = realloc(a->v, nc * sizeof *nv);
		if (!nv)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->n++] = *en;
	memset(en, 0, sizeof *en);
	return ST_OK;
}

static void all_free(struct all_entries *a)
{
	for (size_t i = 0; i < a->n; i++)
		backup_entry_free(&a->v[i]);
	free(a->v);
}

static double mib(uint64_t b)
{
	return (double)b / (1024.0 * 1024.0);
}

/* One user: collection, then media + media.db.  Entries go to the manifest
 * and to all. */
static enum status backup_one_user(struct backup_run *run, const struct user_dir *u,
                                   struct backup_mwriter *w, struct all_entries *all,
                                   struct backup_create_result *r, int *damaged,
                                   struct errinfo *e)
{
	const struct backup_create_opts *o = run->o;
	int64_t t0 = backup_now_ns();
	uint64_t new0 = run->new_stored_bytes;
	size_t linked0 = run->linked;
	char srcdir[MAX_PATH_BYTES], dstdir[MAX_PATH_BYTES];
	enum status st = path_join(srcdir, sizeof srcdir, o->source, u->name, strlen(u->name), e);
	if (!st)
		st = path_join(dstdir, sizeof dstdir, run->tmpdir, "users", 5, e);
	if (!st) {
		char tmp[MAX_PATH_BYTES];
		snprintf(tmp, sizeof tmp, "%s", dstdir);
		st = path_join(dstdir, sizeof dstdir, tmp, u->name, strlen(u->name), e);
	}
	if (!st)
		st = backup_fs_mkdir(dstdir, e);
	if (st)
		return st;
	struct backup_user_summary sum = {.user = u->name, .user_len = strlen(u->name)};
	uint64_t col_bytes = 0;
	if (u->collection) {
		struct backup_entry en;
		st = backup_db_store(run, u->name, srcdir, dstdir, "collection.anki2", &en, damaged, e);
		if (st)
			return errinfo_prefix(e, "user %s", u->name);
		col_bytes = en.size;
		sum.collection = 1;
		st = backup_mwriter_entry(w, &en, e);
		r->files++;
		r->bytes += en.size;
		if (!st)
			st = keep_entry(all, &en, e);
		backup_entry_free(&en);
		if (st)
			return st;
	}
	if (backup_run_stopped(run))
		return errinfo_set(e, ST_IO, "interrupted");
	struct backup_media_out mo;
	st = backup_media_user(run, u->name, srcdir, dstdir, &mo, e);
	if (st)
		return errinfo_prefix(e, "user %s", u->name);
	if (mo.damaged)
		*damaged = 1;
	if (mo.have_mediadb) {
		sum.media_db = 1;
		st = backup_mwriter_entry(w, &mo.mediadb, e);
		r->files++;
		r->bytes += mo.mediadb.size;
		if (!st)
			st = keep_entry(all, &mo.mediadb, e);
	}
	for (size_t i = 0; i < mo.nfiles && !st; i++) {
		sum.media_files++;
		sum.media_bytes += mo.files[i].size;
		st = backup_mwriter_entry(w, &mo.files[i], e);
		if (!st)
			st = keep_entry(all, &mo.files[i], e);
	}
	sum.unlisted = mo.unlisted;
	sum.missing = mo.missing;
	r->files += sum.media_files;
	r->bytes += sum.media_bytes;
	backup_media_out_free(&mo);
	if (!st)
		st = backup_mwriter_user(w, &sum, e);
	if (st)
		return st;
	log_info("user %s: ok collection=%.1fMiB media_files=%llu media=%.1fMiB unlisted=%llu "
	         "missing=%llu new=%.1fMiB reused=%zu seconds=%.2f",
	         u->name, mib(col_bytes), (unsigned long long)sum.media_files, mib(sum.media_bytes),
	         (unsigned long long)sum.unlisted, (unsigned long long)sum.missing,
	         mib(run->new_stored_bytes - new0), run->linked - linked0,
	         (double)(backup_now_ns() - t0) / 1e9);
	return ST_OK;
}

static enum status prune(const struct backup_create_opts *o, const char *keep_name,
                         struct backup_create_result *r, struct errinfo *e)
{
	struct backup_snapref *refs = NULL;
	size_t n = 0;
	enum status st = backup_dest_scan(o->dest, &refs, &n, e);
	if (st)
		return st;
	/* Unreadable snapshots are never pruned (we cannot date them safely);
	 * they stay until a human looks. */
	struct backup_snapinfo *si = calloc(n ? n : 1, sizeof *si);
	size_t *map = calloc(n ? n : 1, sizeof *map);
	unsigned *keep = calloc(n ? n : 1, sizeof *keep);
	size_t m = 0;
	if (!si || !map || !keep) {
		st = errinfo_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!refs[i].readable)
			continue;
		si[m].time = refs[i].created;
		si[m].pinned = strcmp(refs[i].name, keep_name) == 0;
		map[m++] = i;
	}
	st = backup_retention_select(si, m, &o->keep, keep, e);
	if (st)
		goto out;
	for (size_t k = 0; k < m; k++) {
		if (keep[k]) {
			r->kept++;
			continue;
		}
		const char *name = refs[map[k]].name;
		st = backup_dest_remove(o->dest, name, e);
		if (st)
			goto out;
		log_info("pruned snapshot %s", name);
		r->pruned++;
	}
out:
	free(si);
	free(map);
	free(keep);
	free(refs);
	return st;
}

static enum status write_text(const char *dir, const char *name, const char *text,
                              struct errinfo *e)
{
	char p[MAX_PATH_BYTES];
	enum status st = backup_pathf(p, sizeof p, e, "%s/%s", dir, name);
	if (st)
		return st;
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errinfo_errno(e, ST_IO, "cannot create %s", p);
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	int saved = errno;
	close(fd);
	errno = saved;
	if (w < 0 || (size_t)w != len)
		return errinfo_errno(e, ST_IO, "writing %s failed", p);
	return ST_OK;
}

enum status backup_create(const struct backup_create_opts *o, struct backup_create_result *r,
                          struct errinfo *e)
{
	memset(r, 0, sizeof *r);
	int64_t t_start = backup_now_ns();
	struct stat sb;

	/* 1. The source, before anything is touched. */
	if (stat(o->source, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		r->refused = 1;
		return errinfo_set(e, ST_NOTFOUND,
		                   "source %s does not exist or is not a directory; nothing written, "
		                   "nothing pruned",
		                   o->source);
	}
	struct user_dir *users = NULL;
	size_t nusers = 0;
	enum status st = find_users(o->source, &users, &nusers, e);
	if (st) {
		r->refused = 1;
		return st;
	}
	if (nusers == 0) {
		r->refused = 1;
		users_free(users, nusers);
		return errinfo_set(e, ST_NOTFOUND,
		                   "source %s holds no user data (no <user>/collection.anki2 or "
		                   "<user>/media.db) - is its disk mounted? Nothing written, nothing "
		                   "pruned",
		                   o->source);
	}

	/* 2. The destination. */
	if (stat(o->dest, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		users_free(users, nusers);
		return errinfo_errno(e, ST_NOTFOUND,
		                     "destination %s is not a directory (anki-backup does not create "
		                     "it, so that an unmounted backup disk is noticed)",
		                     o->dest);
	}
	int lockfd = -1;
	st = backup_fs_lock(o->dest, 1, &lockfd, e);
	if (st) {
		users_free(users, nusers);
		return st;
	}
	struct backup_run run = {.o = o};
	struct backup_header h = {.version = BACKUP_FORMAT_VERSION,
	                          .zstd_level = o->zstd_level > 0 ? o->zstd_level : 3};
	struct backup_mwriter w = {0};
	struct all_entries all = {0};
	char **age_argv = NULL;
	int tmp_made = 0, damaged = 0;
	char final[MAX_PATH_BYTES];

	int removed = 0;
	st = backup_dest_cleanup(o->dest, &removed, e);
	if (st)
		goto fail;
	if (removed)
		log_info("removed %d leftover(s) of interrupted runs in %s", removed, o->dest);

	age_argv = age_encrypt_argv(o);
	h.encrypted = age_argv != NULL;
	if ((o->nrecipients || o->recipients_file) && !age_argv) {
		st = errinfo_set(e, ST_NOMEM, "out of memory");
		goto fail;
	}
	if (h.encrypted && (st = collect_recipients(o, &h, e)))
		goto fail;
	run.age_argv = age_argv;
	run.encrypted = h.encrypted;

	/* 3. The previous snapshot, for reuse. */
	if (!o->full) {
		struct backup_snapref *refs = NULL;
		size_t n = 0;
		st = backup_dest_scan(o->dest, &refs, &n, e);
		if (st)
			goto fail;
		for (size_t i = n; i-- > 0;) {
			if (!refs[i].readable)
				continue;
			char pdir[MAX_PATH_BYTES];
			snprintf(pdir, sizeof pdir, "%s/%s", o->dest, refs[i].name);
			struct errinfo pe = {0};
			if (backup_prev_load(&run.prev, pdir, &pe) != ST_OK) {
				log_warnx("previous snapshot %s cannot be read (%s); storing everything anew",
				          refs[i].name, pe.msg);
			} else if (!same_recipients(&run.prev->m.h, &h)) {
				log_info("encryption settings differ from snapshot %s; storing everything anew",
				         refs[i].name);
				backup_prev_free(run.prev);
				run.prev = NULL;
			}
			break;
		}
		free(refs);
	}

	/* 4. Write the snapshot under a temporary name. */
	int64_t now = o->now ? o->now : (int64_t)time(NULL);
	h.created = now;
	st = backup_dest_new_name(o->dest, now, h.snapshot, sizeof h.snapshot, e);
	if (st)
		goto fail;
	memcpy(r->snapshot, h.snapshot, sizeof r->snapshot);
	r->snapshot[sizeof r->snapshot - 1] = '\0';
	st = backup_pathf(run.tmpdir, sizeof run.tmpdir, e, "%s/%s%s", o->dest, BACKUP_TMP_PREFIX,
	                  h.snapshot);
	if (!st)
		st = backup_pathf(final, sizeof final, e, "%s/%s", o->dest, h.snapshot);
	if (!st)
		st = backup_fs_mkdir(run.tmpdir, e);
	if (st)
		goto fail;
	tmp_made = 1;
	char p[MAX_PATH_BYTES];
	if ((st = backup_pathf(p, sizeof p, e, "%s/users", run.tmpdir)) ||
	    (st = backup_fs_mkdir(p, e)))
		goto fail;
	st = backup_codec_new(&run.codec, h.zstd_level, o->zstd_workers, e);
	if (st)
		goto fail;
	st = backup_pathf(p, sizeof p, e, "%s/%s", run.tmpdir, BACKUP_MANIFEST_NAME);
	if (!st)
		st = backup_mwriter_open(&w, p, &h, e);
	if (st)
		goto fail;
	for (size_t i = 0; i < nusers; i++) {
		if (backup_run_stopped(&run)) {
			st = errinfo_set(e, ST_IO, "interrupted");
			goto fail;
		}
		st = backup_one_user(&run, &users[i], &w, &all, r, &damaged, e);
		if (st)
			goto fail;
		r->users++;
	}
	unsigned char msha[32];
	st = backup_mwriter_finish(&w, damaged, msha, e);
	if (st)
		goto fail;
	st = backup_pathf(p, sizeof p, e, "%s/%s", run.tmpdir, BACKUP_SUMS_NAME);
	if (!st)
		st = backup_sums_write(p, all.v, all.n, h.encrypted, msha, e);
	if (!st)
		st = write_text(run.tmpdir, "HOW-TO-RESTORE.txt", how_to_restore, e);
	if (!st)
		st = backup_fs_sync(run.tmpdir, e);
	if (!st && backup_run_stopped(&run))
		st = errinfo_set(e, ST_IO, "interrupted");
	if (!st)
		st = afile_rename(run.tmpdir, final, e);
	if (st)
		goto fail;
	r->damaged = damaged;
	r->new_stored_bytes = run.new_stored_bytes;
	r->linked = run.linked;

	/* 5. Retention, only now. */
	if (damaged)
		log_warnx("a source database failed its check: keeping every snapshot (no pruning)");
	else if (backup_policy_active(&o->keep)) {
		st = prune(o, h.snapshot, r, e);
		if (st)
			errinfo_prefix(e, "snapshot %s was written, but pruning failed", h.snapshot);
	}
	r->seconds = (double)(backup_now_ns() - t_start) / 1e9;
	if (!st)
		log_info("snapshot %s: %s users=%zu files=%zu size=%.1fMiB new=%.1fMiB reused=%zu "
		         "pruned=%zu kept=%zu seconds=%.2f",
		         h.snapshot, damaged ? "written, SOURCE DAMAGED" : "ok", r->users, r->files,
		         mib(r->bytes), mib(r->new_stored_bytes), r->linked, r->pruned, r->kept,
		         r->seconds);
	goto out;
fail:
	if (w.f)
		backup_mwriter_abort(&w);
	if (tmp_made) {
		int dfd = open(o->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			const char *name = strrchr(run.tmpdir, '/') + 1;
			struct errinfo re = {0};
			if (backup_fs_rmtree(dfd, name, &re) != ST_OK)
				log_warnx("could not remove %s: %s (the next run will)", run.tmpdir, re.msg);
			close(dfd);
		}
	}
out:
	all_free(&all);
	backup_codec_free(run.codec);
	backup_prev_free(run.prev);
	backup_header_free(&h);
	free(age_argv);
	users_free(users, nusers);
	if (lockfd >= 0)
		close(lockfd);
	return st;
}
