/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * users.h - the sync server's user table (sync-protocol.md §2.2, §6.1):
 * SYNC_USER1..N from the environment (read up to the first missing index,
 * like the official server), and a users file of "name:PHC-hash" lines
 * that anki-sync-admin edits and the server reloads while running.
 *
 * A user name becomes a directory under SYNC_BASE, so it is checked
 * (users_name_ok) wherever it enters: environment, file, admin command.
 *
 * Host keys follow the official derivation: SHA-1 hex of the whole
 * "name:secret" text, secret being the plain password or the PHC string.
 * For users-file users the secret is always the PHC string.
 */
#ifndef ANKIHOST_USERS_H
#define ANKIHOST_USERS_H

#include <stddef.h>

#include "auth.h"
#include "status.h"

#define USERS_NAME_MAX 128        /* bytes; a directory name with room to spare */
#define USERS_FILE_MAX (4u << 20) /* a users file of 4 MiB holds ~20000 users */
#define USERS_ENV_MAX 100000      /* SYNC_USER index bound (loop guard) */

enum users_origin { USERS_FROM_ENV, USERS_FROM_FILE };

struct user_entry {
	char *name;   /* owned */
	char *secret; /* owned; plain password or PHC string; wiped on free */
	int hashed;   /* secret is a PHC string */
	enum users_origin origin;
	char hkey[AUTH_HKEY_LEN + 1];
};

struct users {
	struct user_entry *v;
	size_t n, alloc;
};

/* Is name[0..len) acceptable as a user name?  1..USERS_NAME_MAX bytes of
 * valid UTF-8, no control characters, no '/', '\\' or ':', and not
 * starting with '.' (dot names are ours: ".users", temporaries). */
int users_name_ok(const char *name, size_t len);

void users_init(struct users *u);
void users_free(struct users *u);

/* Append the users of SYNC_USER1..N.  getenv_fn(name) returns a variable or
 * NULL (getenv in the program, a table in tests).  Each value is
 * "name:secret"; a value without ':' takes the secret from the file
 * cred_dir/name when cred_dir is non-NULL (systemd credentials; one
 * trailing newline is dropped).  With hashed != 0 secrets must be PHC
 * strings and are checked now.  Errors name the variable. */
enum status users_load_env(struct users *u, const char *(*getenv_fn)(const char *name), int hashed,
                           const char *cred_dir, struct errinfo *e);

/* Append the users of a users file (lines "name:PHC", '#' comments and
 * blank lines allowed).  A name already present is an error naming
 * path:line.  A missing file is ST_NOTFOUND. */
enum status users_load_file(struct users *u, const char *path, struct errinfo *e);

const struct user_entry *users_find_name(const struct users *u, const char *name);

/* The user whose host key is hkey, comparing every entry in constant time
 * so the answer's timing does not depend on which (if any) matched. */
const struct user_entry *users_find_hkey(const struct users *u, const char *hkey);

/* *ok = 1 when password is right for ent.  Hashed entries cost the PBKDF2
 * rounds; plain entries are compared in constant time (SHA-256 of both).
 * ST_INVALID when a stored hash is malformed. */
enum status users_verify(const struct user_entry *ent, const char *password, size_t pwlen, int *ok,
                         struct errinfo *e);

/* Editing the users file atomically (rewrite + rename), serialised between
 * processes by an flock on "<path>.lock".  users_file_set adds (mode
 * USERS_ADD: ST_EXISTS if present), replaces (USERS_REPLACE: ST_NOTFOUND if
 * absent) a user's PHC hash.  users_file_del removes one (ST_NOTFOUND if
 * absent).  Comments and other lines are kept.  The file is created with
 * mode 0600 when missing (for USERS_ADD). */
enum users_set_mode { USERS_ADD, USERS_REPLACE };
enum status users_file_set(const char *path, const char *name, const char *phc,
                           enum users_set_mode mode, struct errinfo *e);
enum status users_file_del(const char *path, const char *name, struct errinfo *e);

#endif
