/*
 * path.h - joining names that come from outside (clients, users, archives)
 * under a trusted root directory.
 *
 * A name is one path component: non-empty, at most MAX_NAME_BYTES, no '/',
 * no NUL, not "." or "..".  Anything else is refused, never "cleaned": a
 * hostile name gets an error, not a rewritten path somewhere else.
 */
#ifndef ANKIHOST_PATH_H
#define ANKIHOST_PATH_H

#include <stddef.h>

#include "status.h"

/* Is name[0..len) a safe single component?  len counts every byte, so an
 * embedded NUL (from a length-prefixed protocol field) is caught. */
int path_name_ok(const char *name, size_t len);

/* out = root "/" name, after path_name_ok.  ST_INVALID for a hostile name,
 * ST_TOOBIG when it does not fit in cap bytes. */
enum status path_join(char *out, size_t cap, const char *root, const char *name, size_t name_len,
                      struct errinfo *e);

/* out = root "/" rel where rel is several components separated by single
 * '/'; each must pass path_name_ok.  Absolute paths, "//", "." and ".." are
 * refused. */
enum status path_join_rel(char *out, size_t cap, const char *root, const char *rel,
                          struct errinfo *e);

/* Directory part of path into out ("." when there is none). */
enum status path_dirname(char *out, size_t cap, const char *path, struct errinfo *e);

/* mkdir -p with mode for the missing parts. */
enum status path_mkdirs(const char *path, unsigned mode, struct errinfo *e);

#endif
