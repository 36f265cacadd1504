/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_prev.c - lookups into the previous snapshot for incremental
 * `create` runs (reuse rule in backup_prev.h).
 *
 * Invariant: the index arrays point into p->m.entries, which is not
 * modified after loading.
 */
#include "backup_prev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup_fs.h"
#include "backup_sqlite.h"
#include "log.h"

static int by_name_cmp(const void *x, const void *y)
{
	const struct backup_entry *a = *(const struct backup_entry *const *)x;
	const struct backup_entry *b = *(const struct backup_entry *const *)y;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	int c = backup_name_cmp(a->user, a->user_len, b->user, b->user_len);
	if (c)
		return c;
	return backup_name_cmp(a->name, a->name_len, b->name, b->name_len);
}

static int by_sha1_cmp(const void *x, const void *y)
{
	const struct backup_entry *a = *(const struct backup_entry *const *)x;
	const struct backup_entry *b = *(const struct backup_entry *const *)y;
	int c = backup_name_cmp(a->user, a->user_len, b->user, b->user_len);
	if (c)
		return c;
	return memcmp(a->sha1, b->sha1, 20);
}

enum status backup_prev_load(struct backup_prev **out, const char *dir, struct errinfo *e)
{
	*out = NULL;
	struct backup_prev *p = calloc(1, sizeof *p);
	if (!p)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	snprintf(p->dir, sizeof p->dir, "%s", dir);
	char mpath[MAX_PATH_BYTES];
	snprintf(mpath, sizeof mpath, "%s/%s", dir, BACKUP_MANIFEST_NAME);
	enum status st = backup_manifest_load(mpath, 0, &p->m, e);
	if (st) {
		free(p);
		return st;
	}
	size_t n = p->m.n;
	p->by_name = malloc((n ? n : 1) * sizeof *p->by_name);
	p->by_sha1 = malloc((n ? n : 1) * sizeof *p->by_sha1);
	if (!p->by_name || !p->by_sha1) {
		backup_prev_free(p);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		p->by_name[i] = &p->m.entries[i];
		if (p->m.entries[i].kind == BACKUP_KIND_MEDIA)
			p->by_sha1[p->nmedia++] = &p->m.entries[i];
	}
	qsort(p->by_name, n, sizeof *p->by_name, by_name_cmp);
	qsort(p->by_sha1, p->nmedia, sizeof *p->by_sha1, by_sha1_cmp);
	*out = p;
	return ST_OK;
}

void backup_prev_free(struct backup_prev *p)
{
	if (!p)
		return;
	free(p->by_name);
	free(p->by_sha1);
	backup_manifest_free(&p->m);
	free(p);
}

const struct backup_entry *backup_prev_find_name(const struct backup_prev *p,
                                                 enum backup_kind kind, const char *user,
                                                 size_t user_len, const char *name,
                                                 size_t name_len)
{
	if (!p)
		return NULL;
	struct backup_entry key = {.kind = kind, .user = (char *)user, .user_len = user_len,
	                           .name = (char *)name, .name_len = name_len};
	const struct backup_entry *kp = &key;
	const struct backup_entry **r = bsearch(&kp, p->by_name, p->m.n, sizeof *p->by_name,
	                                        by_name_cmp);
	return r ? *r : NULL;
}

const struct backup_entry *backup_prev_find_sha1(const struct backup_prev *p, const char *user,
                                                 size_t user_len, const unsigned char sha1[20])
{
	if (!p)
		return NULL;
	struct backup_entry key = {.user = (char *)user, .user_len = user_len};
	memcpy(key.sha1, sha1, 20);
	const struct backup_entry *kp = &key;
	const struct backup_entry **r = bsearch(&kp, p->by_sha1, p->nmedia, sizeof *p->by_sha1,
	                                        by_sha1_cmp);
	return r ? *r : NULL;
}

int backup_prev_object_ok(const struct backup_prev *p, const struct backup_entry *en, char *path,
                          size_t cap)
{
	char rel[MAX_PATH_BYTES];
	if (backup_object_path(en, p->m.h.encrypted, rel, sizeof rel, NULL))
		return 0;
	int n = snprintf(path, cap, "%s/%s", p->dir, rel);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	struct stat sb;
	if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	int64_t mt = (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
	return (uint64_t)sb.st_size == en->stored_size && mt == en->stored_mtime_ns;
}

int backup_run_stopped(const struct backup_run *run)
{
	return run->o->stop && *run->o->stop;
}

enum status backup_run_reuse(struct backup_run *run, const char *from, const char *dst,
                             int64_t from_mtime_ns, int64_t *mtime_ns, struct errinfo *e)
{
	int copied = 0;
	enum status st = backup_fs_link_or_copy(from, dst, &copied, e);
	if (st)
		return st;
	*mtime_ns = from_mtime_ns; /* a hard link is the same inode */
	if (copied) {
		struct stat sb;
		if (lstat(dst, &sb) != 0)
			return errinfo_errno(e, ST_IO, "cannot stat %s", dst);
		*mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
	}
	if (copied && !run->warned_copy) {
		log_warnx("destination refuses hard links; unchanged files are copied, "
		          "not shared (uses more space)");
		run->warned_copy = 1;
	}
	run->linked++;
	return ST_OK;
}
