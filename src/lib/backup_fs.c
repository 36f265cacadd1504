/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_fs.c - file-system helpers for anki-backup (see backup_fs.h).
 *
 * Invariants: backup_fs_rmtree works with *at() calls relative to open
 * directory descriptors, so a rename or symlink swap elsewhere cannot make
 * it delete outside the tree it was given; it never crosses into another
 * file system (st_dev check).
 */
#include "backup_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "path.h"

void backup_stat_from(struct backup_stat *k, const struct stat *sb)
{
	k->present = 1;
	k->size = (uint64_t)sb->st_size;
	k->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
	k->ctime_ns = (int64_t)sb->st_ctim.tv_sec * 1000000000LL + sb->st_ctim.tv_nsec;
	k->ino = (uint64_t)sb->st_ino;
}

enum status backup_stat_path(struct backup_stat *k, const char *path, struct errinfo *e)
{
	struct stat sb;
	memset(k, 0, sizeof *k);
	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT)
			return ST_OK;
		return errinfo_errno(e, ST_IO, "cannot stat %s", path);
	}
	backup_stat_from(k, &sb);
	return ST_OK;
}

int backup_stat_equal(const struct backup_stat *a, const struct backup_stat *b)
{
	if (a->present != b->present)
		return 0;
	if (!a->present)
		return 1;
	return a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns &&
	       a->ino == b->ino;
}

int64_t backup_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Depth is bounded so a hostile or looping tree cannot exhaust the stack
 * or the descriptor table; snapshots are three levels deep. */
#define RMTREE_MAX_DEPTH 32

static enum status rmtree_at(int pfd, const char *name, dev_t dev, int depth, struct errinfo *e)
{
	struct stat sb;
	if (fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return ST_OK;
		return errinfo_errno(e, ST_IO, "cannot stat %s", name);
	}
	if (!S_ISDIR(sb.st_mode)) {
		if (unlinkat(pfd, name, 0) != 0 && errno != ENOENT)
			return errinfo_errno(e, ST_IO, "cannot remove %s", name);
		return ST_OK;
	}
	if (sb.st_dev != dev)
		return errinfo_set(e, ST_PERM, "refusing to remove %s: another file system", name);
	if (depth >= RMTREE_MAX_DEPTH)
		return errinfo_set(e, ST_TOOBIG, "directory tree under %s too deep to remove", name);
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errinfo_errno(e, ST_IO, "cannot open directory %s", name);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return errinfo_errno(e, ST_IO, "cannot read directory %s", name);
	}
	enum status st = ST_OK;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		st = rmtree_at(dirfd(d), de->d_name, dev, depth + 1, e);
		if (st)
			break;
	}
	closedir(d);
	if (st)
		return st;
	if (unlinkat(pfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		return errinfo_errno(e, ST_IO, "cannot remove directory %s", name);
	return ST_OK;
}

enum status backup_fs_rmtree(int dirfd, const char *name, struct errinfo *e)
{
	struct stat sb;
	if (fstat(dirfd, &sb) != 0)
		return errinfo_errno(e, ST_IO, "cannot stat parent of %s", name);
	return rmtree_at(dirfd, name, sb.st_dev, 0, e);
}

enum status backup_fs_lock(const char *dir, int exclusive, int *fd_out, struct errinfo *e)
{
	char path[MAX_PATH_BYTES];
	enum status st = path_join(path, sizeof path, dir, ".anki-backup.lock",
	                           strlen(".anki-backup.lock"), e);
	if (st)
		return st;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && exclusive == 0 && (errno == EROFS || errno == EACCES))
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		/* A read-only destination has no lock file and no writer. */
		if (exclusive == 0 && (errno == ENOENT || errno == EROFS || errno == EACCES)) {
			*fd_out = -1;
			return ST_OK;
		}
		return errinfo_errno(e, errno == EACCES || errno == EROFS || errno == EPERM ? ST_PERM
		                                                                           : ST_IO,
		                     "cannot create lock file %s", path);
	}
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		if (saved == EWOULDBLOCK)
			return errinfo_set(e, ST_BUSY,
			                   "another anki-backup process is using %s (lock %s is held)",
			                   dir, path);
		return errinfo_errno(e, ST_IO, "cannot lock %s", path);
	}
	*fd_out = fd;
	return ST_OK;
}

enum status backup_fs_sync(const char *path, struct errinfo *e)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errinfo_errno(e, ST_IO, "cannot open %s", path);
	if (syncfs(fd) != 0 || fsync(fd) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return errinfo_errno(e, ST_IO, "flushing %s to disk failed", path);
	}
	close(fd);
	return ST_OK;
}

enum status backup_fs_mkdir(const char *path, struct errinfo *e)
{
	if (mkdir(path, 0700) != 0) {
		if (errno == EEXIST)
			return errinfo_set(e, ST_EXISTS, "%s already exists", path);
		return errinfo_errno(e, errno == EACCES || errno == EROFS ? ST_PERM : ST_IO,
		                     "cannot create directory %s", path);
	}
	return ST_OK;
}

static enum status copy_file(const char *from, const char *to, struct errinfo *e)
{
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return errinfo_errno(e, ST_IO, "cannot open %s", from);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return errinfo_errno(e, ST_IO, "cannot create %s", to);
	}
	enum status st = ST_OK;
	static const size_t chunk = 1 << 20;
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, chunk, 0);
		if (n == 0)
			break;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		st = errinfo_errno(e, ST_IO, "copying %s to %s failed", from, to);
		break;
	}
	close(in);
	if (close(out) != 0 && !st)
		st = errinfo_errno(e, ST_IO, "closing %s failed", to);
	if (st)
		unlink(to);
	return st;
}

enum status backup_fs_link_or_copy(const char *from, const char *to, int *copied,
                                   struct errinfo *e)
{
	*copied = 0;
	if (link(from, to) == 0)
		return ST_OK;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != ENOTSUP &&
	    errno != ENOSYS)
		return errinfo_errno(e, ST_IO, "cannot link %s to %s", from, to);
	*copied = 1;
	return copy_file(from, to, e);
}

int backup_fs_dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 1 : -1;
	int empty = 1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

enum status backup_pathf(char *out, size_t cap, struct errinfo *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	return ST_OK;
}

void backup_hex(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int backup_unhex(unsigned char *out, size_t n, const char *hex)
{
	if (!hex || strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int backup_utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned c = p[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + n >= len)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}
