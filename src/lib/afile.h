/*
 * afile.h - atomic file replacement: write to a temporary file in the same
 * directory, fsync it, rename it over the target, fsync the directory.
 *
 * A reader (or a crash at any point) sees either the complete old file or the
 * complete new one.  Until afile_commit the target is untouched; afile_abort
 * (or a crash) leaves only a stray "<name>.tmp.XXXXXX" that afile_cleanup
 * removes.
 *
 *   struct afile af;
 *   if (afile_open(&af, path, 0600, e)) return ...;
 *   if (afile_write(&af, data, len, e)) { afile_abort(&af); return ...; }
 *   return afile_commit(&af, e);   // frees af in every case
 */
#ifndef ANKIHOST_AFILE_H
#define ANKIHOST_AFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "bounds.h"
#include "status.h"

struct afile {
	int fd;
	char path[MAX_PATH_BYTES];
	char tmp[MAX_PATH_BYTES];
};

enum status afile_open(struct afile *af, const char *path, mode_t mode, struct errinfo *e);
enum status afile_write(struct afile *af, const void *data, size_t len, struct errinfo *e);
/* fsync + close + rename + fsync(dir).  On failure the temp file is removed
 * and the target is unchanged. */
enum status afile_commit(struct afile *af, struct errinfo *e);
void afile_abort(struct afile *af);

/* One call for a whole buffer. */
enum status afile_write_all(const char *path, const void *data, size_t len, mode_t mode,
                            struct errinfo *e);

/* fsync a directory so a rename or create in it is durable. */
enum status afile_fsync_dir(const char *dir, struct errinfo *e);

/* Remove temporaries left by a crash next to path ("<base>.tmp.*").
 * Returns the number removed, or -1 on error. */
int afile_cleanup(const char *path);

/* Rename with the durability of afile_commit (fsync of the target's dir). */
enum status afile_rename(const char *from, const char *to, struct errinfo *e);

#endif
