/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * anki-col - look at and maintain one Anki collection file.
 *   anki-col info FILE        schema, times, counts (never changes the file)
 *   anki-col check FILE       consistency report (never changes the file)
 *   anki-col upgrade FILE     to schema 18, as Anki does on open
 *   anki-col downgrade FILE   to schema 11, for old clients and legacy tools
 *   anki-col dump FILE        everything as JSON (legacy object forms)
 *   anki-col create FILE      a new empty collection, as Anki creates it
 *   anki-col export-apkg|import-apkg|inspect-apkg ...  packages (pkg_cmd.c)
 * Exit: 0 ok, 1 problems found (check), 2 error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col.h"
#include "col_check.h"
#include "col_dump.h"
#include "log.h"
#include "pkg_cmd.h"

static void usage(FILE *f)
{
	fputs("usage: anki-col info|check|upgrade|downgrade|dump|create FILE\n"
	      "  info       schema version, times and counts (read-only)\n"
	      "  check      report inconsistencies without changing anything (exit 1 if any)\n"
	      "  upgrade    upgrade to schema 18 as Anki does when opening\n"
	      "  downgrade  convert to schema 11 (legacy clients, legacy exports)\n"
	      "  dump       print the whole collection as JSON\n"
	      "  create     create a new, empty collection like Anki's\n"
	      "The collection must not be open in Anki or a server while changing it.\n",
	      f);
	pkg_cmd_usage(f);
}

static int fail(const struct errinfo *e)
{
	fprintf(stderr, "anki-col: %s\n", e->msg);
	return 2;
}

static long long count(struct col *c, const char *table)
{
	char sql[64];
	snprintf(sql, sizeof sql, "select count(*) from %s", table);
	sqlite3_stmt *st;
	long long n = -1;
	if (sqlite3_prepare_v2(col_db(c), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int cmd_info(const char *path)
{
	struct errinfo e;
	struct col *c;
	if (col_open(path, COL_READONLY, &c, &e))
		return fail(&e);
	struct col_meta m;
	if (col_meta_get(c, &m, &e)) {
		col_close(c);
		return fail(&e);
	}
	printf("file: %s\nschema: %d\ncreated: %lld\nmodified_ms: %lld\nschema_modified_ms: %lld\n"
	       "usn: %d\nlast_sync_ms: %lld\n",
	       path, m.ver, (long long)m.crt, (long long)m.mod, (long long)m.scm, m.usn,
	       (long long)m.ls);
	static const char *tables[] = {"notes", "cards", "revlog", "graves"};
	for (size_t i = 0; i < 4; i++)
		printf("%s: %lld\n", tables[i], count(c, tables[i]));
	if (m.ver >= 15) {
		printf("notetypes: %lld\ndecks: %lld\ndeck_presets: %lld\n", count(c, "notetypes"),
		       count(c, "decks"), count(c, "deck_config"));
	}
	col_close(c);
	return 0;
}

static int cmd_check(const char *path)
{
	struct errinfo e;
	struct col *c;
	/* Checking never changes the file: work on an upgraded private copy. */
	if (col_open_copy(path, &c, &e))
		return fail(&e);
	struct col_check_report r;
	enum status st = col_check_run(c, &r, &e);
	col_close(c);
	if (st) {
		col_check_report_free(&r);
		return fail(&e);
	}
	for (size_t i = 0; i < r.nlisted; i++)
		printf("%s\n", r.problems[i]);
	if (r.nproblems > r.nlisted)
		printf("... and %zu more\n", r.nproblems - r.nlisted);
	printf("%s: %zu problem%s\n", path, r.nproblems, r.nproblems == 1 ? "" : "s");
	size_t n = r.nproblems;
	col_check_report_free(&r);
	return n ? 1 : 0;
}

int main(int argc, char **argv)
{
	log_init(argv[0]);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && (!strcmp(argv[1], "export-apkg") || !strcmp(argv[1], "import-apkg") ||
	                  !strcmp(argv[1], "inspect-apkg")))
		return pkg_cmd_run(argc - 1, argv + 1);
	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1], *path = argv[2];
	struct errinfo e;
	struct col *c;
	if (!strcmp(cmd, "info"))
		return cmd_info(path);
	if (!strcmp(cmd, "check"))
		return cmd_check(path);
	if (!strcmp(cmd, "create"))
		return col_create(path, 0, &e) ? fail(&e) : 0;
	if (!strcmp(cmd, "upgrade")) {
		if (col_open(path, 0, &c, &e))
			return fail(&e);
		printf("%s: schema %d -> 18\n", path, col_opened_version(c));
		col_close(c);
		return 0;
	}
	if (!strcmp(cmd, "downgrade")) {
		if (col_open(path, 0, &c, &e))
			return fail(&e);
		if (col_close_downgraded(c, &e))
			return fail(&e);
		printf("%s: schema 18 -> 11\n", path);
		return 0;
	}
	if (!strcmp(cmd, "dump")) {
		if (col_dump_file(path, stdout, &e))
			return fail(&e);
		return 0;
	}
	fprintf(stderr, "anki-col: unknown command %s\n", cmd);
	usage(stderr);
	return 2;
}
