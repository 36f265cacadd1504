/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_dest.c - snapshot directories of a backup destination (layout in
 * backup_dest.h and docs/backup.md).
 *
 * Invariant: a directory with a snapshot name exists only after it was
 * completely written and flushed (backup_create renames .tmp-<name> into
 * place), so everything here may trust that a readable manifest means a
 * finished snapshot.
 */
#include "backup_dest.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "afile.h"
#include "backup_fs.h"
#include "backup_manifest.h"
#include "bounds.h"

int backup_dest_name_ok(const char *name)
{
	/* YYYYMMDDTHHMMSSZ */
	size_t len = strlen(name);
	if (len < 16 || len >= BACKUP_SNAPNAME_MAX)
		return 0;
	for (int i = 0; i < 16; i++) {
		char c = name[i];
		if (i == 8 ? c != 'T' : i == 15 ? c != 'Z' : !isdigit((unsigned char)c))
			return 0;
	}
	if (len == 16)
		return 1;
	if (name[16] != '-' || len == 17 || len > 16 + 1 + 6)
		return 0;
	for (size_t i = 17; i < len; i++)
		if (!isdigit((unsigned char)name[i]))
			return 0;
	return name[17] != '0';
}

static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* Seconds of the name's timestamp (UTC), for unreadable snapshots; the
 * name passed backup_dest_name_ok, so the digits are digits. */
static int64_t name_time(const char *name)
{
	struct tm tm = {0};
	tm.tm_year = digits(name, 4) - 1900;
	tm.tm_mon = digits(name + 4, 2) - 1;
	tm.tm_mday = digits(name + 6, 2);
	tm.tm_hour = digits(name + 9, 2);
	tm.tm_min = digits(name + 11, 2);
	tm.tm_sec = digits(name + 13, 2);
	return (int64_t)timegm(&tm);
}

static int ref_cmp(const void *x, const void *y)
{
	const struct backup_snapref *a = x, *b = y;
	if (a->created != b->created)
		return a->created < b->created ? -1 : 1;
	/* Same second: "-2" sorts after the bare name, "-10" after "-9". */
	size_t la = strlen(a->name), lb = strlen(b->name);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a->name, b->name);
}

enum status backup_dest_scan(const char *dest, struct backup_snapref **out, size_t *n,
                             struct errinfo *e)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dest);
	if (!d)
		return errinfo_errno(e, errno == ENOENT ? ST_NOTFOUND : ST_IO, "cannot read %s", dest);
	struct backup_snapref *r = NULL;
	size_t cnt = 0, cap = 0;
	enum status st = ST_OK;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!backup_dest_name_ok(de->d_name))
			continue;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct backup_snapref *nr = realloc(r, nc * sizeof *nr);
			if (!nr) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			r = nr;
			cap = nc;
		}
		struct backup_snapref *s = &r[cnt++];
		memset(s, 0, sizeof *s);
		memcpy(s->name, de->d_name, strlen(de->d_name) + 1); /* name_ok bounded it */
		char mpath[MAX_PATH_BYTES];
		snprintf(mpath, sizeof mpath, "%s/%s/%s", dest, de->d_name, BACKUP_MANIFEST_NAME);
		struct backup_manifest m;
		struct errinfo me = {0};
		if (backup_manifest_load(mpath, 1, &m, &me) == ST_OK) {
			s->readable = 1;
			s->created = m.h.created;
			s->encrypted = m.h.encrypted;
			backup_manifest_free(&m);
		} else {
			s->created = name_time(s->name);
			size_t ml = strnlen(me.msg, sizeof s->problem - 1);
			memcpy(s->problem, me.msg, ml);
			s->problem[ml] = '\0';
		}
	}
	closedir(d);
	if (st) {
		free(r);
		return st;
	}
	if (cnt > 1)
		qsort(r, cnt, sizeof *r, ref_cmp);
	*out = r;
	*n = cnt;
	return ST_OK;
}

enum status backup_dest_cleanup(const char *dest, int *removed, struct errinfo *e)
{
	*removed = 0;
	int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errinfo_errno(e, ST_IO, "cannot open %s", dest);
	DIR *d = fdopendir(dup(dfd));
	if (!d) {
		close(dfd);
		return errinfo_errno(e, ST_IO, "cannot read %s", dest);
	}
	/* Collect first: removing while readdir runs may skip entries. */
	char **names = NULL;
	size_t cnt = 0, cap = 0;
	enum status st = ST_OK;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, BACKUP_TMP_PREFIX, strlen(BACKUP_TMP_PREFIX)) != 0 &&
		    strncmp(de->d_name, BACKUP_DEL_PREFIX, strlen(BACKUP_DEL_PREFIX)) != 0)
			continue;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 8;
			char **nn = realloc(names, nc * sizeof *nn);
			if (!nn) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			names = nn;
			cap = nc;
		}
		if (!(names[cnt] = strdup(de->d_name))) {
			st = errinfo_set(e, ST_NOMEM, "out of memory");
			break;
		}
		cnt++;
	}
	closedir(d);
	for (size_t i = 0; i < cnt; i++) {
		if (!st) {
			st = backup_fs_rmtree(dfd, names[i], e);
			if (!st)
				(*removed)++;
		}
		free(names[i]);
	}
	free(names);
	close(dfd);
	if (!st && *removed)
		st = afile_fsync_dir(dest, e);
	return st;
}

enum status backup_dest_remove(const char *dest, const char *name, struct errinfo *e)
{
	if (!backup_dest_name_ok(name))
		return errinfo_set(e, ST_INVALID, "not a snapshot name: %s", name);
	char from[MAX_PATH_BYTES], to[MAX_PATH_BYTES];
	snprintf(from, sizeof from, "%s/%s", dest, name);
	snprintf(to, sizeof to, "%s/%s%s", dest, BACKUP_DEL_PREFIX, name);
	enum status st = afile_rename(from, to, e);
	if (st)
		return st;
	int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errinfo_errno(e, ST_IO, "cannot open %s", dest);
	char del[BACKUP_SNAPNAME_MAX + 8];
	snprintf(del, sizeof del, "%s%s", BACKUP_DEL_PREFIX, name);
	st = backup_fs_rmtree(dfd, del, e);
	close(dfd);
	return st;
}

enum status backup_dest_new_name(const char *dest, int64_t t, char *out, size_t cap,
                                 struct errinfo *e)
{
	char base[BACKUP_SNAPNAME_MAX];
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(base, sizeof base, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return errinfo_set(e, ST_INVALID, "cannot name a snapshot for time %lld", (long long)t);
	for (int i = 1; i < 100000; i++) {
		char name[BACKUP_SNAPNAME_MAX];
		int nl = i == 1 ? snprintf(name, sizeof name, "%s", base)
		                : snprintf(name, sizeof name, "%s-%d", base, i);
		if (nl < 0 || (size_t)nl >= sizeof name)
			break;
		char p1[MAX_PATH_BYTES], p2[MAX_PATH_BYTES], p3[MAX_PATH_BYTES];
		snprintf(p1, sizeof p1, "%s/%s", dest, name);
		snprintf(p2, sizeof p2, "%s/%s%s", dest, BACKUP_TMP_PREFIX, name);
		snprintf(p3, sizeof p3, "%s/%s%s", dest, BACKUP_DEL_PREFIX, name);
		if (access(p1, F_OK) != 0 && access(p2, F_OK) != 0 && access(p3, F_OK) != 0) {
			if (strlen(name) >= cap)
				return errinfo_set(e, ST_TOOBIG, "name buffer too small");
			snprintf(out, cap, "%s", name);
			return ST_OK;
		}
	}
	return errinfo_set(e, ST_EXISTS, "too many snapshots named %s-*", base);
}

long backup_dest_resolve(const struct backup_snapref *refs, size_t n, const char *arg,
                         struct errinfo *e)
{
	if (strcmp(arg, "latest") == 0) {
		for (size_t i = n; i-- > 0;)
			if (refs[i].readable)
				return (long)i;
		errinfo_set(e, ST_NOTFOUND, "no readable snapshot");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(refs[i].name, arg) != 0)
			continue;
		if (!refs[i].readable) {
			errinfo_set(e, ST_CORRUPT, "snapshot %s is unreadable: %s", arg, refs[i].problem);
			return -1;
		}
		return (long)i;
	}
	errinfo_set(e, ST_NOTFOUND, "no snapshot named %s", arg);
	return -1;
}
