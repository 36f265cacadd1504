/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * anki-backup - consistent, verified, restorable backups of an Anki sync
 * server's data directory (sync-protocol.md §6.2).  This file only parses
 * arguments and maps results to exit codes; the work is in src/lib/backup*.
 * Format and hand-restore instructions: docs/backup.md.
 *
 * Exit codes (stable, for systemd and scripts):
 *   0 success
 *   1 failure (I/O error, full disk, a snapshot that does not verify, ...)
 *   2 usage error
 *   3 refused: source missing or without user data, or restore target not empty
 *   4 busy: another anki-backup holds the destination's lock
 *   5 snapshot written, but a source database failed its check (nothing pruned)
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup.h"
#include "log.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_REFUSED 3
#define EXIT_BUSY 4
#define EXIT_DAMAGED 5

#define VERSION "0.1"

/* Set by SIGINT/SIGTERM; the library checks it between files. */
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	stop_flag = 1;
	/* A second signal ends the process at once (the next run cleans up). */
	signal(sig, SIG_DFL);
}

static const char usage_text[] =
    "usage: anki-backup COMMAND [OPTIONS]\n"
    "\n"
    "  create  --source SYNC_BASE --dest DIR [options]\n"
    "      Snapshot every user of SYNC_BASE (collection.anki2, media.db, media/) into DIR.\n"
    "      --encrypt-to RECIPIENT     encrypt with age to this recipient (repeatable)\n"
    "      --encrypt-to-file FILE     encrypt to the recipients listed in FILE (age -R)\n"
    "      --keep-daily N             after success, keep the newest snapshot of N days,\n"
    "      --keep-weekly N            of N ISO weeks and of N months; prune the others\n"
    "      --keep-monthly N           (no --keep-* option: never prune)\n"
    "      --full                     store everything again (no reuse of the last snapshot)\n"
    "      --zstd-level N             compression level 1..19 (default 3)\n"
    "      --threads N                zstd worker threads for large files (default 1, 0 = none)\n"
    "      --busy-timeout SECONDS     wait this long for a locked database (default 60)\n"
    "      --age PROGRAM              the age program (default: age from PATH)\n"
    "  list    --dest DIR\n"
    "      One line per snapshot.\n"
    "  verify  --dest DIR [SNAPSHOT|latest] [--identity FILE] [--stored-only] [--tmpdir DIR]\n"
    "      Check hashes, decryption, decompression and PRAGMA integrity_check of every\n"
    "      database; all snapshots when none is named.  Encrypted snapshots need\n"
    "      --identity (or --stored-only to check just the stored bytes).\n"
    "  restore --dest DIR SNAPSHOT|latest --target NEW_SYNC_BASE [--user NAME]\n"
    "          [--identity FILE] [--force]\n"
    "      Unpack into NEW_SYNC_BASE (must be empty unless --force; with --force an\n"
    "      existing user directory is moved aside to .<user>.replaced-<time>).\n"
    "\n"
    "Exit status: 0 ok, 1 failed, 2 usage, 3 refused (source missing/empty, target not\n"
    "empty), 4 another run holds the lock, 5 snapshot written but a source database is\n"
    "damaged.  Logs go to stderr, one line per user and per snapshot.\n"
    "LOG_LEVEL=debug|info|warn|error.  ANKI_BACKUP_NOW (tests only) fakes the clock.\n";

static int usage(FILE *f, int code)
{
	fputs(usage_text, f);
	return code;
}

static int parse_count(const char *opt, const char *s, int min, int max, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "anki-backup: %s needs a number from %d to %d, not '%s'\n", opt, min, max,
		        s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* ANKI_BACKUP_NOW: seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ.  For
 * tests of retention only; documented as such. */
static int fake_now(int64_t *out)
{
	const char *s = getenv("ANKI_BACKUP_NOW");
	*out = 0;
	if (!s || !*s)
		return 0;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!errno && *end == '\0' && v > 0) {
		*out = v;
		return 0;
	}
	struct tm tm = {0};
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end) {
		fprintf(stderr, "anki-backup: ANKI_BACKUP_NOW must be seconds or YYYY-MM-DDTHH:MM:SSZ\n");
		return -1;
	}
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int status_exit(enum status st)
{
	if (st == ST_OK)
		return 0;
	if (st == ST_BUSY)
		return EXIT_BUSY;
	return EXIT_FAIL;
}

enum {
	OPT_SOURCE = 256,
	OPT_DEST,
	OPT_ENC,
	OPT_ENCFILE,
	OPT_DAILY,
	OPT_WEEKLY,
	OPT_MONTHLY,
	OPT_FULL,
	OPT_LEVEL,
	OPT_THREADS,
	OPT_BUSY,
	OPT_AGE,
	OPT_IDENTITY,
	OPT_STORED,
	OPT_TMPDIR,
	OPT_TARGET,
	OPT_USER,
	OPT_FORCE,
	OPT_HELP,
};

static const struct option long_opts[] = {
    {"source", required_argument, NULL, OPT_SOURCE},
    {"dest", required_argument, NULL, OPT_DEST},
    {"encrypt-to", required_argument, NULL, OPT_ENC},
    {"encrypt-to-file", required_argument, NULL, OPT_ENCFILE},
    {"keep-daily", required_argument, NULL, OPT_DAILY},
    {"keep-weekly", required_argument, NULL, OPT_WEEKLY},
    {"keep-monthly", required_argument, NULL, OPT_MONTHLY},
    {"full", no_argument, NULL, OPT_FULL},
    {"zstd-level", required_argument, NULL, OPT_LEVEL},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"busy-timeout", required_argument, NULL, OPT_BUSY},
    {"age", required_argument, NULL, OPT_AGE},
    {"identity", required_argument, NULL, OPT_IDENTITY},
    {"stored-only", no_argument, NULL, OPT_STORED},
    {"tmpdir", required_argument, NULL, OPT_TMPDIR},
    {"target", required_argument, NULL, OPT_TARGET},
    {"user", required_argument, NULL, OPT_USER},
    {"force", no_argument, NULL, OPT_FORCE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Every option a command accepts, by command; others are usage errors. */
static int allowed(const char *cmd, int opt)
{
	static const int create[] = {OPT_SOURCE, OPT_DEST,  OPT_ENC,     OPT_ENCFILE, OPT_DAILY,
	                             OPT_WEEKLY, OPT_MONTHLY, OPT_FULL,  OPT_LEVEL,   OPT_THREADS,
	                             OPT_BUSY,   OPT_AGE,   0};
	static const int list[] = {OPT_DEST, 0};
	static const int verify[] = {OPT_DEST, OPT_IDENTITY, OPT_STORED, OPT_TMPDIR, OPT_AGE, 0};
	static const int restore[] = {OPT_DEST, OPT_TARGET, OPT_USER, OPT_IDENTITY,
	                              OPT_FORCE, OPT_AGE, 0};
	const int *set = strcmp(cmd, "create") == 0   ? create
	                 : strcmp(cmd, "list") == 0   ? list
	                 : strcmp(cmd, "verify") == 0 ? verify
	                                              : restore;
	for (; *set; set++)
		if (*set == opt)
			return 1;
	return 0;
}

static const char *opt_name(int c)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

/* Recipients given with --encrypt-to; bounded like the library's list. */
#define MAX_CLI_RECIPIENTS 64

/* realpath() of p, or of its parent when p does not exist yet (a restore
 * target); p itself when neither resolves (the library reports why). */
static const char *resolve_path(const char *p, char out[PATH_MAX])
{
	if (realpath(p, out))
		return out;
	char parent[PATH_MAX];
	const char *slash = strrchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) : 0;
	if (!slash || n == 0 || n >= sizeof parent || !slash[1])
		return p;
	memcpy(parent, p, n);
	parent[n] = '\0';
	char rp[PATH_MAX];
	if (!realpath(parent, rp))
		return p;
	size_t a = strlen(rp), b = strlen(slash);
	if (a + b >= PATH_MAX)
		return p;
	memcpy(out, rp, a);
	memcpy(out + a, slash, b + 1);
	return out;
}

int main(int argc, char **argv)
{
	if (log_init(argv[0]) != 0) {
		fprintf(stderr, "anki-backup: LOG_LEVEL must be error, warn, info or debug\n");
		return EXIT_USAGE;
	}
	if (argc < 2)
		return usage(stderr, EXIT_USAGE);
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
		return usage(stdout, 0);
	if (strcmp(cmd, "--version") == 0) {
		printf("anki-backup %s\n", VERSION);
		return 0;
	}
	if (strcmp(cmd, "create") != 0 && strcmp(cmd, "list") != 0 && strcmp(cmd, "verify") != 0 &&
	    strcmp(cmd, "restore") != 0) {
		fprintf(stderr, "anki-backup: unknown command '%s'\n", cmd);
		return usage(stderr, EXIT_USAGE);
	}

	const char *recipients[MAX_CLI_RECIPIENTS];
	struct backup_create_opts co = {.zstd_level = 3, .zstd_workers = 1, .busy_ms = 60000,
	                                .recipients = recipients, .stop = &stop_flag};
	struct backup_verify_opts vo = {.stop = &stop_flag};
	struct backup_restore_opts ro = {.stop = &stop_flag};
	const char *dest = NULL, *age = NULL, *identity = NULL;
	int busy_s = 60;

	optind = 2;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == OPT_HELP)
			return usage(stdout, 0);
		if (c == '?' || c == ':') {
			fprintf(stderr, "anki-backup %s: bad option '%s'\n", cmd, argv[optind - 1]);
			return usage(stderr, EXIT_USAGE);
		}
		if (!allowed(cmd, c)) {
			fprintf(stderr, "anki-backup %s: option --%s does not apply here\n", cmd,
			        opt_name(c));
			return EXIT_USAGE;
		}
		switch (c) {
		case OPT_SOURCE: co.source = optarg; break;
		case OPT_DEST: dest = optarg; break;
		case OPT_ENC:
			if (co.nrecipients >= MAX_CLI_RECIPIENTS) {
				fprintf(stderr, "anki-backup: too many --encrypt-to\n");
				return EXIT_USAGE;
			}
			recipients[co.nrecipients++] = optarg;
			break;
		case OPT_ENCFILE: co.recipients_file = optarg; break;
		case OPT_DAILY:
			if (parse_count("--keep-daily", optarg, 0, 100000, &co.keep.daily))
				return EXIT_USAGE;
			break;
		case OPT_WEEKLY:
			if (parse_count("--keep-weekly", optarg, 0, 100000, &co.keep.weekly))
				return EXIT_USAGE;
			break;
		case OPT_MONTHLY:
			if (parse_count("--keep-monthly", optarg, 0, 100000, &co.keep.monthly))
				return EXIT_USAGE;
			break;
		case OPT_FULL: co.full = 1; break;
		case OPT_LEVEL:
			if (parse_count("--zstd-level", optarg, 1, 19, &co.zstd_level))
				return EXIT_USAGE;
			break;
		case OPT_THREADS:
			if (parse_count("--threads", optarg, 0, 64, &co.zstd_workers))
				return EXIT_USAGE;
			break;
		case OPT_BUSY:
			if (parse_count("--busy-timeout", optarg, 0, 86400, &busy_s))
				return EXIT_USAGE;
			break;
		case OPT_AGE: age = optarg; break;
		case OPT_IDENTITY: identity = optarg; break;
		case OPT_STORED: vo.stored_only = 1; break;
		case OPT_TMPDIR: vo.tmpdir = optarg; break;
		case OPT_TARGET: ro.target = optarg; break;
		case OPT_USER: ro.user = optarg; break;
		case OPT_FORCE: ro.force = 1; break;
		default: return usage(stderr, EXIT_USAGE);
		}
	}
	const char *snapshot = optind < argc ? argv[optind++] : NULL;
	if (optind < argc) {
		fprintf(stderr, "anki-backup %s: unexpected argument '%s'\n", cmd, argv[optind]);
		return EXIT_USAGE;
	}
	if (!dest) {
		fprintf(stderr, "anki-backup %s: --dest DIR is required\n", cmd);
		return EXIT_USAGE;
	}

	/* The operator's own paths are trusted: symlinks among them (a systemd
	 * DynamicUser state directory is /var/lib/<name> -> private/<name>) are
	 * resolved once here; below them the library never follows links. */
	static char dest_r[PATH_MAX], source_r[PATH_MAX], target_r[PATH_MAX];
	dest = resolve_path(dest, dest_r);
	if (co.source)
		co.source = resolve_path(co.source, source_r);
	if (ro.target)
		ro.target = resolve_path(ro.target, target_r);

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct errinfo e = {0};
	enum status st;
	if (strcmp(cmd, "create") == 0) {
		if (snapshot) {
			fprintf(stderr, "anki-backup create: unexpected argument '%s'\n", snapshot);
			return EXIT_USAGE;
		}
		if (!co.source) {
			fprintf(stderr, "anki-backup create: --source SYNC_BASE is required\n");
			return EXIT_USAGE;
		}
		if (fake_now(&co.now))
			return EXIT_USAGE;
		co.dest = dest;
		co.age = age;
		co.busy_ms = busy_s * 1000;
		struct backup_create_result r;
		st = backup_create(&co, &r, &e);
		if (st) {
			log_error("create failed: %s", e.msg);
			return r.refused ? EXIT_REFUSED : status_exit(st);
		}
		return r.damaged ? EXIT_DAMAGED : 0;
	}
	if (strcmp(cmd, "list") == 0) {
		if (snapshot) {
			fprintf(stderr, "anki-backup list: unexpected argument '%s'\n", snapshot);
			return EXIT_USAGE;
		}
		st = backup_list(dest, stdout, &e);
		if (st)
			log_error("list failed: %s", e.msg);
		return status_exit(st);
	}
	if (strcmp(cmd, "verify") == 0) {
		vo.dest = dest;
		vo.snapshot = snapshot;
		vo.identity = identity;
		vo.age = age;
		struct backup_verify_result r;
		st = backup_verify(&vo, &r, &e);
		if (st) {
			log_error("verify: %s", e.msg);
			return st == ST_INVALID ? EXIT_USAGE : status_exit(st);
		}
		return 0;
	}
	/* restore */
	if (!snapshot || !ro.target) {
		fprintf(stderr, "anki-backup restore: needs SNAPSHOT (or latest) and --target DIR\n");
		return EXIT_USAGE;
	}
	ro.dest = dest;
	ro.snapshot = snapshot;
	ro.identity = identity;
	ro.age = age;
	struct backup_restore_result r;
	st = backup_restore(&ro, &r, &e);
	if (st) {
		log_error("restore failed: %s", e.msg);
		if (st == ST_EXISTS)
			return EXIT_REFUSED;
		return st == ST_INVALID ? EXIT_USAGE : status_exit(st);
	}
	return 0;
}
