/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pkg_cmd.c - anki-col's package subcommands over src/lib/pkg.h:
 *   export-apkg COLLECTION OUT.apkg [options]
 *   import-apkg COLLECTION IN.apkg [options]
 *   inspect-apkg IN.apkg
 * Results are printed as "key: value" lines (stable, for scripts/tests).
 */
#include "pkg_cmd.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "col.h"
#include "col_decks.h"
#include "pkg.h"

void pkg_cmd_usage(FILE *f)
{
	fputs("       anki-col export-apkg FILE OUT.apkg [--deck NAME] [--no-children] "
	      "[--scheduling]\n"
	      "                [--deck-configs] [--no-media] [--legacy] [--media-dir DIR]\n"
	      "       anki-col import-apkg FILE IN.apkg [--scheduling] [--deck-configs]\n"
	      "                [--update-notes if-newer|always|never]\n"
	      "                [--update-notetypes if-newer|always|never] [--media-dir DIR]\n"
	      "       anki-col inspect-apkg IN.apkg\n"
	      "  export-apkg   write a deck (with its children) or the whole collection as .apkg\n"
	      "  import-apkg   import a .apkg with Anki's merge rules\n"
	      "  inspect-apkg  package version, members, media count (nothing is imported)\n",
	      f);
}

static int fail(const struct errinfo *e)
{
	fprintf(stderr, "anki-col: %s\n", e->msg);
	return 2;
}

static int bad_args(const char *what)
{
	fprintf(stderr, "anki-col: %s\n", what);
	return 2;
}

static int parse_update(const char *s, enum pkg_update *out)
{
	if (!strcmp(s, "if-newer"))
		*out = PKG_UPDATE_IF_NEWER;
	else if (!strcmp(s, "always"))
		*out = PKG_UPDATE_ALWAYS;
	else if (!strcmp(s, "never"))
		*out = PKG_UPDATE_NEVER;
	else
		return -1;
	return 0;
}

static int cmd_export(int argc, char **argv)
{
	if (argc < 3)
		return bad_args("export-apkg needs FILE and OUT.apkg");
	struct pkg_export_opts o = {.out_path = argv[2], .with_children = true, .with_media = true};
	const char *deck = NULL;
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--deck") && i + 1 < argc)
			deck = argv[++i];
		else if (!strcmp(a, "--no-children"))
			o.with_children = false;
		else if (!strcmp(a, "--scheduling"))
			o.with_scheduling = true;
		else if (!strcmp(a, "--deck-configs"))
			o.with_deck_configs = true;
		else if (!strcmp(a, "--no-media"))
			o.with_media = false;
		else if (!strcmp(a, "--legacy"))
			o.legacy = true;
		else if (!strcmp(a, "--media-dir") && i + 1 < argc)
			o.media_dir = argv[++i];
		else
			return bad_args("unknown export-apkg option");
	}
	struct errinfo e;
	struct col *c;
	if (col_open(argv[1], 0, &c, &e))
		return fail(&e);
	if (deck && col_decks_find(c, deck, &o.deck_id, &e)) {
		col_close(c);
		return fail(&e);
	}
	struct pkg_export_result r;
	enum status st = pkg_export(c, &o, &r, &e);
	col_close(c);
	if (st)
		return fail(&e);
	printf(
	    "notes: %zu\ncards: %zu\nrevlog: %zu\ndecks: %zu\nnotetypes: %zu\ndeck_configs: %zu\n"
	    "media: %zu\nmedia_bytes: %" PRIu64 "\n",
	    r.notes, r.cards, r.revlog, r.decks, r.notetypes, r.deck_configs, r.media,
	    r.media_bytes);
	return 0;
}

static int cmd_import(int argc, char **argv)
{
	if (argc < 3)
		return bad_args("import-apkg needs FILE and IN.apkg");
	struct pkg_import_opts o = {0};
	const char *mdir = NULL;
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--scheduling"))
			o.with_scheduling = true;
		else if (!strcmp(a, "--deck-configs"))
			o.with_deck_configs = true;
		else if (!strcmp(a, "--update-notes") && i + 1 < argc) {
			if (parse_update(argv[++i], &o.update_notes))
				return bad_args("--update-notes takes if-newer, always or never");
		} else if (!strcmp(a, "--update-notetypes") && i + 1 < argc) {
			if (parse_update(argv[++i], &o.update_notetypes))
				return bad_args(
				    "--update-notetypes takes if-newer, always or never");
		} else if (!strcmp(a, "--media-dir") && i + 1 < argc)
			mdir = argv[++i];
		else
			return bad_args("unknown import-apkg option");
	}
	struct errinfo e;
	struct col *c;
	if (col_open(argv[1], 0, &c, &e))
		return fail(&e);
	struct pkg_import_result r;
	enum status st = pkg_import(c, argv[2], mdir, &o, &r, &e);
	col_close(c);
	if (st)
		return fail(&e);
	printf(
	    "version: %d\nnotes_found: %zu\nnotes_added: %zu\nnotes_updated: %zu\n"
	    "notes_duplicate: %zu\nnotes_conflicting: %zu\ncards_added: %zu\nrevlog_added: %zu\n"
	    "notetypes_added: %zu\nnotetypes_updated: %zu\ndecks_added: %zu\ndecks_updated: %zu\n"
	    "deck_configs_added: %zu\nmedia_added: %zu\nmedia_renamed: %zu\nmedia_skipped: %zu\n",
	    (int)r.version, r.notes_found, r.notes_added, r.notes_updated, r.notes_duplicate,
	    r.notes_conflicting, r.cards_added, r.revlog_added, r.notetypes_added,
	    r.notetypes_updated, r.decks_added, r.decks_updated, r.deck_configs_added,
	    r.media_added, r.media_renamed, r.media_skipped);
	return 0;
}

static int cmd_inspect(int argc, char **argv)
{
	if (argc != 2)
		return bad_args("inspect-apkg needs IN.apkg");
	struct errinfo e;
	struct pkg_info in;
	if (pkg_inspect(argv[1], NULL, &in, &e))
		return fail(&e);
	printf("version: %d\ncollection: %s\ncollection_bytes: %" PRIu64
	       "\nmembers: %zu\nmedia: %zu\n",
	       (int)in.version, in.collection_member, in.collection_size, in.members, in.media);
	return 0;
}

int pkg_cmd_run(int argc, char **argv)
{
	if (!strcmp(argv[0], "export-apkg"))
		return cmd_export(argc, argv);
	if (!strcmp(argv[0], "import-apkg"))
		return cmd_import(argc, argv);
	return cmd_inspect(argc, argv);
}
