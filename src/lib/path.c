/*
 * path.c - safe joining of untrusted names under a root.
 */
#include "path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bounds.h"

int path_name_ok(const char *name, size_t len)
{
	if (!name || len == 0 || len > MAX_NAME_BYTES)
		return 0;
	if (memchr(name, '\0', len) || memchr(name, '/', len))
		return 0;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	return 1;
}

enum status path_join(char *out, size_t cap, const char *root, const char *name, size_t name_len,
                      struct errinfo *e)
{
	if (!path_name_ok(name, name_len))
		return errinfo_set(e, ST_INVALID, "refusing unsafe file name (%zu bytes)", name_len);
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (rl + 1 + name_len + 1 > cap)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	memcpy(out, root, rl);
	out[rl] = '/';
	memcpy(out + rl + 1, name, name_len);
	out[rl + 1 + name_len] = '\0';
	return ST_OK;
}

enum status path_join_rel(char *out, size_t cap, const char *root, const char *rel,
                          struct errinfo *e)
{
	if (!rel || !*rel || rel[0] == '/')
		return errinfo_set(e, ST_INVALID, "refusing empty or absolute path");
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	size_t total = strlen(rel);
	if (rl + 1 + total + 1 > cap)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	const char *p = rel;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (!path_name_ok(p, n))
			return errinfo_set(e, ST_INVALID, "refusing unsafe path component");
		if (!slash)
			break;
		p = slash + 1;
		if (!*p)
			return errinfo_set(e, ST_INVALID, "refusing path ending in '/'");
	}
	memcpy(out, root, rl);
	out[rl] = '/';
	memcpy(out + rl + 1, rel, total + 1);
	return ST_OK;
}

enum status path_dirname(char *out, size_t cap, const char *path, struct errinfo *e)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return snprintf(out, cap, ".") < (int)cap ? ST_OK
		                                           : errinfo_set(e, ST_TOOBIG, "path too long");
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n + 1 > cap)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	memcpy(out, path, n);
	out[n] = '\0';
	return ST_OK;
}

enum status path_mkdirs(const char *path, unsigned mode, struct errinfo *e)
{
	char tmp[MAX_PATH_BYTES];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof tmp)
		return errinfo_set(e, ST_INVALID, "bad directory path");
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return errinfo_errno(e, ST_IO, "cannot create directory %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return errinfo_errno(e, ST_IO, "cannot create directory %s", tmp);
	struct stat sb;
	if (stat(tmp, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return errinfo_set(e, ST_IO, "%s exists and is not a directory", tmp);
	return ST_OK;
}
