/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_restore.c - `anki-backup restore`: a snapshot back into a sync
 * server data directory (sync-protocol.md §6.2 layout), and `list`.
 *
 * Each user is unpacked into TARGET/.restore-<user>.<pid>/, checked (every
 * file against the manifest's size and SHA-256/SHA-1, every database with
 * PRAGMA integrity_check), flushed, and only then renamed to TARGET/<user>:
 * a failed restore leaves no half user directory that a server would open.
 * A non-empty TARGET is refused unless forced; then an existing
 * TARGET/<user> is moved aside to TARGET/.<user>.replaced-<time>, never
 * deleted.  Names come from the manifest and pass path_name_ok before they
 * become paths.  Files are created 0600 and directories 0700, owned by
 * whoever runs the restore (chown them for the server's user).
 */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "afile.h"
#include "backup_dest.h"
#include "backup_fs.h"
#include "backup_manifest.h"
#include "backup_sqlite.h"
#include "backup_stream.h"
#include "bounds.h"
#include "log.h"
#include "path.h"

static enum status unpack(struct backup_codec *c, const char *snapdir,
                          const struct backup_manifest *m, const struct backup_entry *en,
                          char *const *age_argv, const char *to, struct errinfo *e)
{
	char rel[MAX_PATH_BYTES], from[MAX_PATH_BYTES];
	enum status st = backup_object_path(en, m->h.encrypted, rel, sizeof rel, e);
	if (st)
		return st;
	if ((st = backup_pathf(from, sizeof from, e, "%s/%s", snapdir, rel)))
		return st;
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errinfo_errno(e, ST_IO, "cannot create %s", to);
	struct backup_digest d;
	st = backup_load(c, from, m->h.encrypted ? age_argv : NULL, en->size, backup_sink_fd, &fd, &d,
	                 e);
	if (close(fd) != 0 && !st)
		st = errinfo_errno(e, ST_IO, "closing %s failed", to);
	if (st)
		return st;
	if (d.stored_size != en->stored_size || memcmp(d.stored_sha256, en->stored_sha256, 32) != 0)
		return errinfo_set(e, ST_CORRUPT, "%s is damaged (SHA-256 differs from the manifest)",
		                   rel);
	if (d.size != en->size || memcmp(d.sha256, en->sha256, 32) != 0 ||
	    memcmp(d.sha1, en->sha1, 20) != 0)
		return errinfo_set(e, ST_CORRUPT, "%s does not restore to the recorded content", rel);
	return ST_OK;
}

static enum status restore_user(struct backup_codec *c, const struct backup_restore_opts *o,
                                const char *snapdir, const struct backup_manifest *m,
                                const char *user, size_t user_len, char *const *age_argv,
                                struct backup_restore_result *r, struct errinfo *e)
{
	char stage[MAX_PATH_BYTES], final[MAX_PATH_BYTES], p[MAX_PATH_BYTES];
	enum status st = path_join(final, sizeof final, o->target, user, user_len, e);
	if (st)
		return st;
	st = backup_pathf(stage, sizeof stage, e, "%s/.restore-%s.%ld", o->target, user,
	                  (long)getpid());
	if (!st)
		st = backup_fs_mkdir(stage, e);
	if (st)
		return st;
	st = backup_pathf(p, sizeof p, e, "%s/media", stage);
	if (!st)
		st = backup_fs_mkdir(p, e);
	size_t files = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < m->n && !st; i++) {
		const struct backup_entry *en = &m->entries[i];
		if (en->user_len != user_len || memcmp(en->user, user, user_len) != 0)
			continue;
		if (o->stop && *o->stop) {
			st = errinfo_set(e, ST_IO, "interrupted");
			break;
		}
		char dir[MAX_PATH_BYTES];
		st = backup_pathf(dir, sizeof dir, e, "%s%s", stage,
		                  en->kind == BACKUP_KIND_MEDIA ? "/media" : "");
		if (!st)
			st = path_join(p, sizeof p, dir, en->name, en->name_len, e);
		if (!st)
			st = unpack(c, snapdir, m, en, age_argv, p, e);
		if (!st && en->kind == BACKUP_KIND_DB) {
			int ok = 0;
			char msg[400];
			st = backup_sqlite_check(p, 1, &ok, msg, sizeof msg, e);
			if (!st && !ok)
				st = errinfo_set(e, ST_CORRUPT, "restored %s fails integrity_check: %s",
				                 en->name, msg);
		}
		files++;
		bytes += en->size;
	}
	if (!st)
		st = backup_fs_sync(stage, e);
	if (!st && access(final, F_OK) == 0) {
		char aside[MAX_PATH_BYTES];
		st = backup_pathf(aside, sizeof aside, e, "%s/.%s.replaced-%lld", o->target, user,
		                  (long long)time(NULL));
		if (!st)
			st = afile_rename(final, aside, e);
		if (!st)
			log_warnx("user %s: the existing directory was moved to %s", user, aside);
	}
	if (!st)
		st = afile_rename(stage, final, e);
	if (st) {
		int dfd = open(o->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			backup_fs_rmtree(dfd, strrchr(stage, '/') + 1, NULL);
			close(dfd);
		}
		return errinfo_prefix(e, "user %s", user);
	}
	r->users++;
	r->files += files;
	r->bytes += bytes;
	log_info("user %s: restored files=%zu size=%.1fMiB into %s", user, files,
	         (double)bytes / 1048576.0, final);
	return ST_OK;
}

enum status backup_restore(const struct backup_restore_opts *o, struct backup_restore_result *r,
                           struct errinfo *e)
{
	memset(r, 0, sizeof *r);
	struct backup_snapref *refs = NULL;
	size_t n = 0;
	struct backup_manifest m = {0};
	struct backup_codec *c = NULL;
	struct backup_sum *sums = NULL;
	size_t nsums = 0;
	int lockfd = -1;
	enum status st = backup_fs_lock(o->dest, 0, &lockfd, e);
	if (st)
		return st;
	st = backup_dest_scan(o->dest, &refs, &n, e);
	if (st)
		goto out;
	long idx = backup_dest_resolve(refs, n, o->snapshot, e);
	if (idx < 0) {
		st = e ? e->code : ST_NOTFOUND;
		goto out;
	}
	char snapdir[MAX_PATH_BYTES], p[MAX_PATH_BYTES];
	st = backup_pathf(snapdir, sizeof snapdir, e, "%s/%s", o->dest, refs[idx].name);
	if (!st)
		st = backup_pathf(p, sizeof p, e, "%s/%s", snapdir, BACKUP_MANIFEST_NAME);
	if (!st)
		st = backup_manifest_load(p, 0, &m, e);
	if (st)
		goto out;
	st = backup_pathf(p, sizeof p, e, "%s/%s", snapdir, BACKUP_SUMS_NAME);
	if (!st)
		st = backup_sums_load(p, &sums, &nsums, e);
	if (st)
		goto out;
	const struct backup_sum *ms = backup_sums_find(sums, nsums, BACKUP_MANIFEST_NAME);
	if (!ms || memcmp(ms->sha256, m.sha256, 32) != 0) {
		st = errinfo_set(e, ST_CORRUPT, "snapshot %s: manifest.jsonl does not match SHA256SUMS",
		                 refs[idx].name);
		goto out;
	}
	if (m.h.encrypted && !o->identity) {
		st = errinfo_set(e, ST_INVALID, "snapshot %s is encrypted: pass --identity FILE",
		                 refs[idx].name);
		goto out;
	}
	/* Which users. */
	const char *only = o->user;
	int found = 0;
	for (size_t i = 0; i < m.n && !found; i++)
		found = !only || (m.entries[i].user_len == strlen(only) &&
		                  memcmp(m.entries[i].user, only, m.entries[i].user_len) == 0);
	if (!found) {
		st = only ? errinfo_set(e, ST_NOTFOUND, "snapshot %s has no user %s", refs[idx].name, only)
		          : errinfo_set(e, ST_NOTFOUND, "snapshot %s is empty", refs[idx].name);
		goto out;
	}
	/* The target. */
	int empty = backup_fs_dir_empty(o->target);
	if (empty < 0) {
		st = errinfo_errno(e, ST_IO, "cannot read target %s", o->target);
		goto out;
	}
	if (!empty && !o->force) {
		st = errinfo_set(e, ST_EXISTS,
		                 "target %s is not empty; restore into a new directory, or pass --force "
		                 "(existing user directories are then moved aside, not deleted)",
		                 o->target);
		goto out;
	}
	st = path_mkdirs(o->target, 0700, e);
	if (st)
		goto out;
	st = backup_codec_new(&c, 3, 0, e);
	if (st)
		goto out;
	char *age_argv[] = {(char *)(o->age ? o->age : "age"), (char *)"--decrypt", (char *)"-i",
	                    (char *)o->identity, NULL};
	/* Users in manifest order; each once. */
	for (size_t i = 0; i < m.n && !st; i++) {
		const struct backup_entry *en = &m.entries[i];
		if (only && (en->user_len != strlen(only) || memcmp(en->user, only, en->user_len) != 0))
			continue;
		int done = 0;
		for (size_t k = 0; k < i && !done; k++)
			done = m.entries[k].user_len == en->user_len &&
			       memcmp(m.entries[k].user, en->user, en->user_len) == 0;
		if (done)
			continue;
		st = restore_user(c, o, snapdir, &m, en->user, en->user_len, age_argv, r, e);
	}
	if (!st)
		st = afile_fsync_dir(o->target, e);
	if (!st)
		log_info("snapshot %s restored: users=%zu files=%zu size=%.1fMiB target=%s",
		         refs[idx].name, r->users, r->files, (double)r->bytes / 1048576.0, o->target);
out:
	backup_sums_free(sums, nsums);
	backup_codec_free(c);
	backup_manifest_free(&m);
	free(refs);
	if (lockfd >= 0)
		close(lockfd);
	return st;
}

enum status backup_list(const char *dest, FILE *out, struct errinfo *e)
{
	struct backup_snapref *refs = NULL;
	size_t n = 0;
	enum status st = backup_dest_scan(dest, &refs, &n, e);
	if (st)
		return st;
	fprintf(out, "%-20s %-20s %5s %8s %10s %9s %s\n", "SNAPSHOT", "CREATED", "USERS", "FILES",
	        "SIZE_MiB", "ENCRYPTED", "STATUS");
	for (size_t i = 0; i < n; i++) {
		char when[32] = "?";
		time_t t = (time_t)refs[i].created;
		struct tm tm;
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		struct backup_manifest m;
		struct errinfo me = {0};
		char mp[MAX_PATH_BYTES];
		snprintf(mp, sizeof mp, "%s/%s/%s", dest, refs[i].name, BACKUP_MANIFEST_NAME);
		if (!refs[i].readable || backup_manifest_load(mp, 0, &m, &me) != ST_OK) {
			fprintf(out, "%-20s %-20s %5s %8s %10s %9s unreadable: %s\n", refs[i].name, when, "-",
			        "-", "-", "-", refs[i].readable ? me.msg : refs[i].problem);
			continue;
		}
		uint64_t bytes = 0;
		for (size_t k = 0; k < m.n; k++)
			bytes += m.entries[k].size;
		fprintf(out, "%-20s %-20s %5zu %8zu %10.1f %9s %s\n", refs[i].name, when, m.nusers, m.n,
		        (double)bytes / 1048576.0, m.h.encrypted ? "age" : "no",
		        m.damaged ? "source-damaged" : "ok");
		backup_manifest_free(&m);
	}
	free(refs);
	if (fflush(out) != 0)
		return errinfo_errno(e, ST_IO, "writing the list failed");
	return ST_OK;
}
