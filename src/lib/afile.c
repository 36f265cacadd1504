/*
 * afile.c - temp + fsync + rename + directory fsync.
 */
#include "afile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"

enum status afile_fsync_dir(const char *dir, struct errinfo *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errinfo_errno(e, ST_IO, "cannot open directory %s", dir);
	int r = fsync(fd);
	int saved = errno;
	close(fd);
	if (r != 0) {
		errno = saved;
		return errinfo_errno(e, ST_IO, "fsync of directory %s failed", dir);
	}
	return ST_OK;
}

enum status afile_open(struct afile *af, const char *path, mode_t mode, struct errinfo *e)
{
	af->fd = -1;
	size_t n = strlen(path);
	if (n == 0 || n + sizeof ".tmp.XXXXXX" > sizeof af->tmp)
		return errinfo_set(e, ST_INVALID, "bad path for atomic write");
	memcpy(af->path, path, n + 1);
	snprintf(af->tmp, sizeof af->tmp, "%s.tmp.XXXXXX", path);
	af->fd = mkostemp(af->tmp, O_CLOEXEC);
	if (af->fd < 0)
		return errinfo_errno(e, ST_IO, "cannot create temporary file for %s", path);
	if (fchmod(af->fd, mode) != 0) {
		errinfo_errno(e, ST_IO, "cannot set mode on %s", af->tmp);
		afile_abort(af);
		return ST_IO;
	}
	return ST_OK;
}

enum status afile_write(struct afile *af, const void *data, size_t len, struct errinfo *e)
{
	const unsigned char *p = data;
	while (len > 0) {
		ssize_t w = write(af->fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errinfo_errno(e, ST_IO, "write to %s failed", af->tmp);
		}
		p += w;
		len -= (size_t)w;
	}
	return ST_OK;
}

void afile_abort(struct afile *af)
{
	if (af->fd >= 0) {
		close(af->fd);
		af->fd = -1;
		unlink(af->tmp);
	}
}

enum status afile_rename(const char *from, const char *to, struct errinfo *e)
{
	if (rename(from, to) != 0)
		return errinfo_errno(e, ST_IO, "cannot rename %s to %s", from, to);
	char dir[MAX_PATH_BYTES];
	enum status st = path_dirname(dir, sizeof dir, to, e);
	if (st)
		return st;
	return afile_fsync_dir(dir, e);
}

enum status afile_commit(struct afile *af, struct errinfo *e)
{
	if (af->fd < 0)
		return errinfo_set(e, ST_INTERNAL, "afile_commit without an open file");
	if (fsync(af->fd) != 0) {
		errinfo_errno(e, ST_IO, "fsync of %s failed", af->tmp);
		afile_abort(af);
		return ST_IO;
	}
	if (close(af->fd) != 0) {
		af->fd = -1;
		unlink(af->tmp);
		return errinfo_errno(e, ST_IO, "close of %s failed", af->tmp);
	}
	af->fd = -1;
	if (rename(af->tmp, af->path) != 0) {
		errinfo_errno(e, ST_IO, "cannot rename %s to %s", af->tmp, af->path);
		unlink(af->tmp);
		return ST_IO;
	}
	char dir[MAX_PATH_BYTES];
	enum status st = path_dirname(dir, sizeof dir, af->path, e);
	if (st)
		return st;
	return afile_fsync_dir(dir, e);
}

enum status afile_write_all(const char *path, const void *data, size_t len, mode_t mode,
                            struct errinfo *e)
{
	struct afile af;
	enum status st = afile_open(&af, path, mode, e);
	if (st)
		return st;
	st = afile_write(&af, data, len, e);
	if (st) {
		afile_abort(&af);
		return st;
	}
	return afile_commit(&af, e);
}

int afile_cleanup(const char *path)
{
	char dir[MAX_PATH_BYTES];
	if (path_dirname(dir, sizeof dir, path, NULL))
		return -1;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char prefix[MAX_PATH_BYTES];
	int pl = snprintf(prefix, sizeof prefix, "%s.tmp.", base);
	if (pl < 0 || (size_t)pl >= sizeof prefix)
		return -1;
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int removed = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, (size_t)pl) != 0 || strlen(de->d_name) != (size_t)pl + 6)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
