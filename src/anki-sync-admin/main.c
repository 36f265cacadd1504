/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * main.c - anki-sync-admin: manage the sync server's users file and look
 * after stored collections, while the server runs (sync-protocol.md §6.2).
 *
 *   anki-sync-admin user add|passwd NAME   password from stdin (asked
 *                                          twice on a terminal)
 *   anki-sync-admin user del NAME
 *   anki-sync-admin user list
 *   anki-sync-admin list                   users, sizes, last change
 *   anki-sync-admin reset-collection NAME  set the collection aside; the
 *                                          next sync becomes a full upload
 *   anki-sync-admin check NAME             integrity and schema check
 *
 * Settings: SYNC_BASE (default $HOME/.syncserver) and SYNC_USERS_FILE, the
 * same variables as the server's.  The server reloads the users file by
 * itself.  Collections are touched only under the flock the server holds
 * while it uses one (<user>/.ankihost.lock), so a reset never races a sync.
 */
#include <dirent.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "afile.h"
#include "auth.h"
#include "config.h"
#include "bounds.h"
#include "log.h"
#include "media_srv.h"
#include "path.h"
#include "prompt.h"
#include "syncproto_col.h"
#include "users.h"

extern char **environ;

#define ADMIN_LOCK_WAIT_MS 10000

static const struct config_def defs[] = {
    {"SYNC_BASE", CONFIG_STRING, NULL, 0, 0, "data root"},
    {"SYNC_USERS_FILE", CONFIG_STRING, NULL, 0, 0, "users file"},
};

struct admin {
	char base[MAX_PATH_BYTES];
	char users_file[MAX_PATH_BYTES];
};

/* out = dir "/" name; -1 when it does not fit. */
static int join(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: anki-sync-admin user add|passwd|del NAME\n"
	           "       anki-sync-admin user list\n"
	           "       anki-sync-admin list\n"
	           "       anki-sync-admin reset-collection NAME\n"
	           "       anki-sync-admin reset-media NAME\n"
	           "       anki-sync-admin check NAME\n"
	           "Environment: SYNC_BASE (default $HOME/.syncserver), SYNC_USERS_FILE.\n"
	           "Passwords are read from standard input (asked twice on a terminal).\n");
}

static int load(struct admin *a)
{
	struct config cfg;
	struct errinfo e;
	if (config_init(&cfg, defs, sizeof defs / sizeof defs[0], &e) ||
	    config_load_env(&cfg, environ, NULL, NULL, &e)) {
		fprintf(stderr, "anki-sync-admin: %s\n", e.msg);
		return -1;
	}
	const char *base = config_str(&cfg, "SYNC_BASE");
	const char *home = getenv("HOME");
	int n;
	if (base && *base)
		n = snprintf(a->base, sizeof a->base, "%s", base);
	else if (home && *home)
		n = snprintf(a->base, sizeof a->base, "%s/.syncserver", home);
	else
		n = -1;
	const char *uf = config_str(&cfg, "SYNC_USERS_FILE");
	snprintf(a->users_file, sizeof a->users_file, "%s", uf ? uf : "");
	config_free(&cfg);
	if (n < 0 || n >= (int)sizeof a->base) {
		fprintf(stderr, "anki-sync-admin: set SYNC_BASE\n");
		return -1;
	}
	return 0;
}

static int need_users_file(const struct admin *a)
{
	if (a->users_file[0])
		return 0;
	fprintf(stderr, "anki-sync-admin: SYNC_USERS_FILE is not set (the server reads users from "
	                "that file besides SYNC_USER1..N)\n");
	return -1;
}

static int cmd_user_set(const struct admin *a, const char *name, enum users_set_mode mode)
{
	if (need_users_file(a))
		return 1;
	if (!users_name_ok(name, strlen(name))) {
		fprintf(stderr,
		        "anki-sync-admin: \"%s\" is not an acceptable user name (1..%d bytes of "
		        "UTF-8, no control characters, '/', '\\', ':', no leading '.')\n",
		        name, USERS_NAME_MAX);
		return 1;
	}
	char pw[1024];
	enum prompt_result pr = prompt_new_password(pw, sizeof pw);
	if (pr != PROMPT_OK) {
		fprintf(stderr, "anki-sync-admin: %s\n",
		        pr == PROMPT_NONE ? "no password given" : "the passwords differ");
		return 1;
	}
	char phc[AUTH_PHC_MAX];
	struct errinfo e;
	enum status st = auth_phc_hash(pw, strlen(pw), phc, sizeof phc, &e);
	OPENSSL_cleanse(pw, sizeof pw);
	if (st == ST_OK)
		st = users_file_set(a->users_file, name, phc, mode, &e);
	if (st) {
		fprintf(stderr, "anki-sync-admin: %s\n", e.msg);
		return 1;
	}
	printf("%s %s\n", mode == USERS_ADD ? "added" : "changed password of", name);
	return 0;
}

static int cmd_user_del(const struct admin *a, const char *name)
{
	if (need_users_file(a))
		return 1;
	struct errinfo e;
	if (users_file_del(a->users_file, name, &e)) {
		fprintf(stderr, "anki-sync-admin: %s\n", e.msg);
		return 1;
	}
	printf("removed %s (data under %s/%s kept)\n", name, a->base, name);
	return 0;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

static int cmd_user_list(const struct admin *a)
{
	struct users u;
	users_init(&u);
	struct errinfo e;
	/* Environment users only when their secrets are readable here. */
	const char *cd = getenv("CREDENTIALS_DIRECTORY");
	if (users_load_env(&u, env_get, getenv("PASSWORDS_HASHED") != NULL, cd && *cd ? cd : NULL,
	                   &e)) {
		users_free(&u);
		users_init(&u);
	}
	if (a->users_file[0]) {
		enum status st = users_load_file(&u, a->users_file, &e);
		if (st && st != ST_NOTFOUND) {
			fprintf(stderr, "anki-sync-admin: %s\n", e.msg);
			users_free(&u);
			return 1;
		}
	}
	for (size_t i = 0; i < u.n; i++)
		printf("%s\t%s\n", u.v[i].name,
		       u.v[i].origin == USERS_FROM_ENV ? "environment" : "users-file");
	users_free(&u);
	return 0;
}

/* Bytes of the regular files directly in dir (media folders are flat). */
static unsigned long long dir_bytes(const char *dir)
{
	unsigned long long total = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	struct stat sb;
	while ((de = readdir(d)) != NULL)
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(sb.st_mode))
			total += (unsigned long long)sb.st_size;
	closedir(d);
	return total;
}

static unsigned long long file_bytes(const char *dir, const char *name, time_t *mtime)
{
	char p[MAX_PATH_BYTES];
	struct stat sb;
	if (join(p, sizeof p, dir, name) || stat(p, &sb) != 0)
		return 0;
	if (mtime && sb.st_mtime > *mtime)
		*mtime = sb.st_mtime;
	return (unsigned long long)sb.st_size;
}

static int cmd_list(const struct admin *a)
{
	DIR *d = opendir(a->base);
	if (!d) {
		fprintf(stderr, "anki-sync-admin: cannot read %s: %s\n", a->base, strerror(errno));
		return 1;
	}
	struct users u;
	users_init(&u);
	struct errinfo e;
	if (a->users_file[0])
		users_load_file(&u, a->users_file, &e);
	printf("%-24s %-10s %14s %14s  %s\n", "USER", "CONFIGURED", "COLLECTION", "MEDIA",
	       "LAST CHANGE (UTC)");
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char ud[MAX_PATH_BYTES];
		struct stat sb;
		if (path_join(ud, sizeof ud, a->base, de->d_name, strlen(de->d_name), NULL) ||
		    stat(ud, &sb) != 0 || !S_ISDIR(sb.st_mode))
			continue;
		time_t last = 0;
		unsigned long long col = file_bytes(ud, SYNCPROTO_COL_FILE, &last) +
		                         file_bytes(ud, SYNCPROTO_COL_FILE "-wal", &last);
		char md[MAX_PATH_BYTES];
		if (join(md, sizeof md, ud, "media"))
			continue;
		unsigned long long media = dir_bytes(md) +
		                           file_bytes(ud, SYNCPROTO_MEDIA_DB, &last) +
		                           file_bytes(ud, SYNCPROTO_MEDIA_DB "-wal", &last);
		const char *configured = users_find_name(&u, de->d_name) ? "file" : "-";
		char env_hint[64];
		for (int i = 1; i < 1000; i++) {
			snprintf(env_hint, sizeof env_hint, "SYNC_USER%d", i);
			const char *v = getenv(env_hint);
			if (!v)
				break;
			size_t nl = strcspn(v, ":");
			if (strlen(de->d_name) == nl && strncmp(v, de->d_name, nl) == 0)
				configured = "env";
		}
		char when[32] = "never";
		if (last) {
			struct tm tm;
			gmtime_r(&last, &tm);
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
		}
		printf("%-24s %-10s %14llu %14llu  %s\n", de->d_name, configured, col, media, when);
	}
	closedir(d);
	users_free(&u);
	return 0;
}

/* The user's directory and its admin lock (held on return, fd >= 0). */
static int lock_user(const struct admin *a, const char *name, char *dir, size_t cap)
{
	struct errinfo e;
	if (!users_name_ok(name, strlen(name)) ||
	    path_join(dir, cap, a->base, name, strlen(name), &e)) {
		fprintf(stderr, "anki-sync-admin: \"%s\" is not an acceptable user name\n", name);
		return -1;
	}
	struct stat sb;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "anki-sync-admin: no data for user %s in %s\n", name, a->base);
		return -1;
	}
	char lp[MAX_PATH_BYTES];
	if (join(lp, sizeof lp, dir, ".ankihost.lock")) {
		fprintf(stderr, "anki-sync-admin: path too long\n");
		return -1;
	}
	int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "anki-sync-admin: cannot open %s: %s\n", lp, strerror(errno));
		return -1;
	}
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited += 100) {
		if (waited >= ADMIN_LOCK_WAIT_MS) {
			fprintf(stderr,
			        "anki-sync-admin: user %s is syncing right now; try again later\n",
			        name);
			close(fd);
			return -1;
		}
		usleep(100000);
	}
	return fd;
}

static int cmd_reset(const struct admin *a, const char *name)
{
	char dir[MAX_PATH_BYTES];
	int fd = lock_user(a, name, dir, sizeof dir);
	if (fd < 0)
		return 1;
	char col[MAX_PATH_BYTES], kept[MAX_PATH_BYTES + 64];
	if (join(col, sizeof col, dir, SYNCPROTO_COL_FILE)) {
		close(fd);
		return 1;
	}
	int rc = 0;
	struct errinfo e;
	if (access(col, F_OK) != 0) {
		printf("user %s has no collection; nothing to reset\n", name);
	} else if (syncproto_col_quiesce(col, &e)) {
		fprintf(stderr, "anki-sync-admin: %s\n", e.msg);
		rc = 1;
	} else {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
		snprintf(kept, sizeof kept, "%s.reset-%s", col, stamp);
		if (afile_rename(col, kept, &e)) {
			fprintf(stderr, "anki-sync-admin: %s\n", e.msg);
			rc = 1;
		} else {
			printf("user %s: collection moved to %s; the next sync will ask for a full "
			       "upload\n",
			       name, kept);
		}
	}
	close(fd);
	return rc;
}

static void print_media_issue(void *arg, enum media_issue kind, const char *fname)
{
	printf("user %s: media: %s%s%s\n", (const char *)arg, media_srv_issue_name(kind),
	       fname && *fname ? ": " : "", fname ? fname : "");
}

/* The media half of check: rows without files, files without rows. */
static int check_media(const char *dir, const char *name)
{
	struct errinfo e;
	struct media_srv *m;
	if (media_srv_open(dir, NULL, &m, &e)) {
		printf("user %s: media: BAD: %s\n", name, e.msg);
		return 1;
	}
	struct media_check mc;
	enum status st = media_srv_check(m, 0, &mc, print_media_issue, (void *)name, &e);
	media_srv_close(m);
	if (st) {
		printf("user %s: media: BAD: %s\n", name, e.msg);
		return 1;
	}
	printf("user %s: media: %s: %lld live files, %llu issues\n", name,
	       mc.total_issues ? "BAD" : "ok", (long long)mc.live_rows,
	       (unsigned long long)mc.total_issues);
	return mc.total_issues ? 1 : 0;
}

static int cmd_reset_media(const struct admin *a, const char *name)
{
	char dir[MAX_PATH_BYTES];
	int fd = lock_user(a, name, dir, sizeof dir);
	if (fd < 0)
		return 1;
	struct errinfo e;
	struct media_srv *m;
	struct media_reset_result res;
	int rc = 0;
	if (media_srv_open(dir, NULL, &m, &e)) {
		fprintf(stderr, "anki-sync-admin: %s\n", e.msg);
		rc = 1;
	} else {
		if (media_srv_reset(m, &res, &e)) {
			fprintf(stderr, "anki-sync-admin: %s\n", e.msg);
			rc = 1;
		} else {
			printf("user %s: media state cleared (%lld rows, usn %d -> %d)%s%s; the next "
			       "media sync uploads every file again\n",
			       name, (long long)res.rows_cleared, res.old_usn, res.new_usn,
			       res.moved_to[0] ? "; files kept in " : "", res.moved_to);
		}
		media_srv_close(m);
	}
	close(fd);
	return rc;
}

static int cmd_check(const struct admin *a, const char *name)
{
	char dir[MAX_PATH_BYTES];
	int fd = lock_user(a, name, dir, sizeof dir);
	if (fd < 0)
		return 1;
	char col[MAX_PATH_BYTES];
	if (join(col, sizeof col, dir, SYNCPROTO_COL_FILE)) {
		close(fd);
		return 1;
	}
	struct errinfo e;
	struct syncproto_col_info info;
	int rc = 0;
	if (access(col, F_OK) != 0) {
		printf("user %s: no collection yet\n", name);
	} else if (syncproto_col_check(col, NULL, &info, &e)) {
		printf("user %s: BAD: %s\n", name, e.msg);
		rc = 1;
	} else {
		printf(
		    "user %s: ok: schema %d, %lld notes, %lld cards, %lld revlog entries, usn %d, "
		    "mod %lld, scm %lld\n",
		    name, info.ver, (long long)info.notes, (long long)info.cards,
		    (long long)info.revlog, (int)info.usn, (long long)info.mod,
		    (long long)info.scm);
	}
	if (check_media(dir, name))
		rc = 1;
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	log_init(argv[0]);
	struct admin a;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (load(&a))
		return 1;
	const char *cmd = argv[1];
	if (strcmp(cmd, "user") == 0 && argc == 4 && strcmp(argv[2], "add") == 0)
		return cmd_user_set(&a, argv[3], USERS_ADD);
	if (strcmp(cmd, "user") == 0 && argc == 4 && strcmp(argv[2], "passwd") == 0)
		return cmd_user_set(&a, argv[3], USERS_REPLACE);
	if (strcmp(cmd, "user") == 0 && argc == 4 && strcmp(argv[2], "del") == 0)
		return cmd_user_del(&a, argv[3]);
	if (strcmp(cmd, "user") == 0 && argc == 3 && strcmp(argv[2], "list") == 0)
		return cmd_user_list(&a);
	if (strcmp(cmd, "list") == 0 && argc == 2)
		return cmd_list(&a);
	if (strcmp(cmd, "reset-collection") == 0 && argc == 3)
		return cmd_reset(&a, argv[2]);
	if (strcmp(cmd, "check") == 0 && argc == 3)
		return cmd_check(&a, argv[2]);
	if (strcmp(cmd, "reset-media") == 0 && argc == 3)
		return cmd_reset_media(&a, argv[2]);
	usage(stderr);
	return 2;
}
