/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * colcreate.c - the two places where the sync server asks the collection
 * library for a whole collection, kept together:
 *   - a user's first collection (sync-protocol.md §6.3): what Anki's
 *     server mode creates (col_create with COL_SERVER: mod 0, usn 0, ls 0,
 *     scm now, creationOffset null, default deck/config, stock notetypes);
 *   - the schema-11 file a legacy client (sync version < 11) downloads
 *     (§4.2 step 3).  The official server downgrades its own file in
 *     place and upgrades it again on the next open; we downgrade a private
 *     copy instead, so the stored collection stays schema 18.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "col.h"
#include "server.h"

enum status sync_col_create(const char *path, struct errinfo *e)
{
	return col_create(path, COL_SERVER, e);
}

static enum status copy_fd(int in, int out, struct errinfo *e)
{
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errinfo_errno(e, ST_IO, "reading the collection");
		if (n == 0)
			return ST_OK;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return errinfo_errno(e, ST_IO, "writing the legacy copy");
			off += w;
		}
	}
}

enum status sync_col_legacy_copy(const char *path, int *fd, uint64_t *size, struct errinfo *e)
{
	*fd = -1;
	char tmp[MAX_PATH_BYTES];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	int out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0)
		return errinfo_errno(e, ST_IO, "cannot create a copy beside %s", path);
	int in = open(path, O_RDONLY | O_CLOEXEC);
	enum status st =
	    in < 0 ? errinfo_errno(e, ST_IO, "cannot open %s", path) : copy_fd(in, out, e);
	if (in >= 0)
		close(in);
	close(out);
	struct col *c = NULL;
	if (st == ST_OK)
		st = col_open(tmp, COL_SERVER, &c, e);
	if (st == ST_OK)
		st = col_close_downgraded(c, e);
	int rfd = -1;
	struct stat sb = {0};
	if (st == ST_OK) {
		rfd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (rfd < 0 || fstat(rfd, &sb) != 0)
			st = errinfo_errno(e, ST_IO, "cannot reopen the legacy copy");
	}
	/* The copy lives on as the open descriptor only. */
	unlink(tmp);
	char side[MAX_PATH_BYTES + 16];
	snprintf(side, sizeof side, "%s-journal", tmp);
	unlink(side);
	snprintf(side, sizeof side, "%s-wal", tmp);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", tmp);
	unlink(side);
	if (st) {
		if (rfd >= 0)
			close(rfd);
		return errinfo_prefix(e, "making a schema 11 copy");
	}
	*fd = rfd;
	*size = (uint64_t)sb.st_size;
	return ST_OK;
}
