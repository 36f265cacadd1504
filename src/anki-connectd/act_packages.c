/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * act_packages.c - exportPackage and importPackage (ankiconnect.md §3.5,
 * §7 "importPackage path base") over the package library (pkg.h,
 * collection-format.md §9).
 *
 * AnkiConnect runs Anki's legacy Python exporter and importer
 * (anki.exporting.AnkiPackageExporter, anki.importing.AnkiPackageImporter);
 * these actions keep their observable rules:
 *   - exportPackage(deck, path, includeSched=False): false when no deck
 *     has that name; else the deck and its children are written to path
 *     and the result is true.  Scheduling, review log and the presets of
 *     the exported decks only with includeSched (without it cards are
 *     reset, "marked"/"leech" tags dropped, decks use preset 1); media the
 *     notes reference always.  The package is the legacy layout every Anki
 *     since 2.1 and AnkiConnect's own importPackage read
 *     (collection.anki21 at schema 11 beside the dummy collection.anki2,
 *     JSON media map); the library adds the "meta" member modern Anki
 *     writes into legacy packages.
 *   - importPackage(path): true after the import.  The legacy importer
 *     keeps whatever scheduling the package holds (with review log),
 *     imports the presets the package's decks use, updates a note only
 *     when the package's copy is newer and has the same notetype, and a
 *     notetype only when its structure matches and it is newer: the
 *     options below.  Unlike that importer, the latest format
 *     (collection.anki21b) is read instead of its dummy collection.
 * Relative paths are taken from the media folder, as AnkiConnect's
 * README says (Anki 2.1 ran with the media folder as its working
 * directory).  Failures are errors with the library's message; a file
 * that cannot be opened gets Python's OSError text, as AnkiConnect shows.
 *
 * exportPackage runs on a reader connection (the library only reads the
 * collection).  importPackage is an AC_WRITE action, but the library
 * runs its own transaction and moves media into place only after its
 * commit, so the dispatcher's (still empty) transaction is closed first
 * and reopened afterwards for the dispatcher to finish.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac_request.h"
#include "actions.h"
#include "col_decks.h"
#include "log.h"
#include "path.h"
#include "pkg.h"

/* path as a NUL-free string resolved against the media folder when
 * relative, or fail the call with Python's words for a non-string
 * (attr: the str method the Python code calls first). */
static bool path_param(struct ac_call *k, const char *attr, char *out, size_t cap,
                       const char **given)
{
	json_t *p = json_object_get(k->params, "path");
	if (!json_is_string(p)) {
		ac_fail(k, "'%s' object has no attribute '%s'", ac_pytype(p ? p : json_null()),
		        attr);
		return false;
	}
	const char *s = json_string_value(p);
	*given = s;
	if (strlen(s) != json_string_length(p)) {
		ac_fail(k, "embedded null byte");
		return false;
	}
	if (!*s) {
		ac_fail(k, "[Errno %d] %s: ''", ENOENT, strerror(ENOENT));
		return false;
	}
	int n = s[0] == '/' ? snprintf(out, cap, "%s", s)
	                    : snprintf(out, cap, "%s/%s", k->srv->media_dir, s);
	if (n < 0 || (size_t)n >= cap) {
		ac_fail(k, "[Errno %d] %s", ENAMETOOLONG, strerror(ENAMETOOLONG));
		return false;
	}
	return true;
}

/* Fail with "[Errno N] text: 'path'" (Python's OSError). */
static enum status fail_errno(struct ac_call *k, int err, const char *given)
{
	struct buf rep;
	buf_init(&rep, 0);
	ac_py_repr_str(given, strlen(given), &rep, NULL);
	ac_fail(k, "[Errno %d] %s: %s", err, strerror(err),
	        rep.data ? (const char *)rep.data : "''");
	buf_free(&rep);
	return ST_INVALID;
}

enum status act_export_package(struct ac_call *k)
{
	json_t *deck = json_object_get(k->params, "deck");
	if (!json_is_string(deck))
		return ac_fail(k, "deck must be a deck name (str), not %s",
		               ac_pytype(deck ? deck : json_null()));
	char path[MAX_PATH_BYTES];
	const char *given;
	if (!path_param(k, "replace", path, sizeof path, &given))
		return ST_INVALID;
	int64_t did;
	struct errinfo e;
	errinfo_clear(&e);
	enum status st = col_decks_find(k->c, json_string_value(deck), &did, &e);
	if (st == ST_NOTFOUND)
		return ac_ok(k, json_false());
	if (st)
		return ac_fail_err(k, &e);
	/* The writer needs the folder to exist; say so as Python would. */
	struct stat sb;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return fail_errno(k, EISDIR, given);
	char dir[MAX_PATH_BYTES];
	if (path_dirname(dir, sizeof dir, path, &e))
		return ac_fail_err(k, &e);
	if (stat(dir, &sb) != 0)
		return fail_errno(k, errno, given);
	if (!S_ISDIR(sb.st_mode))
		return fail_errno(k, ENOTDIR, given);
	if (access(dir, W_OK | X_OK) != 0)
		return fail_errno(k, errno, given);

	bool sched = ac_truthy(json_object_get(k->params, "includeSched"));
	struct pkg_export_opts o = {
	    .out_path = path,
	    .deck_id = did,
	    .with_children = true,
	    .with_scheduling = sched,
	    .with_deck_configs = sched,
	    .with_media = true,
	    .legacy = true,
	    .media_dir = k->srv->media_dir,
	};
	struct pkg_export_result r;
	st = pkg_export(k->c, &o, &r, &e);
	if (st == ST_NOTFOUND) /* removed since the lookup: no such deck */
		return ac_ok(k, json_false());
	if (st)
		return ac_fail_err(k, &e);
	log_info("exportPackage: %s: %zu notes, %zu cards, %zu media", path, r.notes, r.cards,
	         r.media);
	return ac_ok(k, json_true());
}

enum status act_import_package(struct ac_call *k)
{
	char path[MAX_PATH_BYTES];
	const char *given;
	if (!path_param(k, "seek", path, sizeof path, &given))
		return ST_INVALID;
	struct stat sb;
	if (stat(path, &sb) != 0)
		return fail_errno(k, errno, given);
	if (S_ISDIR(sb.st_mode))
		return fail_errno(k, EISDIR, given);
	if (access(path, R_OK) != 0)
		return fail_errno(k, errno, given);

	struct pkg_import_opts o = {
	    .with_scheduling = true,
	    .with_deck_configs = true,
	    .update_notes = PKG_UPDATE_IF_NEWER,
	    .update_notetypes = PKG_UPDATE_IF_NEWER,
	};
	struct pkg_import_result r;
	struct errinfo e;
	errinfo_clear(&e);
	/* Nothing was written in the dispatcher's transaction yet. */
	col_rollback(k->c);
	enum status st = pkg_import(k->c, path, k->srv->media_dir, &o, &r, &e);
	struct errinfo e2;
	errinfo_clear(&e2);
	enum status bst = col_begin(k->c, &e2);
	if (st)
		return ac_fail_err(k, &e);
	if (bst) /* the import is committed; the dispatcher's commit will say so */
		log_warnx("importPackage: reopening a transaction: %s", e2.msg);
	log_info("importPackage: %s: %zu notes found, %zu added, %zu updated, %zu cards, "
	         "%zu media",
	         path, r.notes_found, r.notes_added, r.notes_updated, r.cards_added, r.media_added);
	return ac_ok(k, json_true());
}
