/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pkg_import.c - importing an .apkg into a collection with Anki's merge
 * rules (collection-format.md §9.2 "Import"; rslib/src/import_export/
 * package/apkg/import/{mod,notes,decks,cards,media}.rs):
 *
 *   1. the package is opened with every bound checked (pkg_zip.c), its
 *      collection extracted to a private file, upgraded to schema 18, ids
 *      in the future renumbered, and gathered like an export (without
 *      scheduling: reset to new);
 *   2. media entries are matched against the media folder: a file with
 *      the same name and SHA-1 is reused, another file under the name
 *      makes the import use "stem-<sha1>.ext"; only files that imported
 *      notes reference (and "_"/"latex-" files) are copied;
 *   3. notetypes by id: added with their id when free; when the target has
 *      one with that id but another field/template structure, an earlier
 *      copy (same original id and structure) is reused or a copy is added
 *      under a new id; the same structure is updated when newer;
 *   4. notes by guid: added (id kept when free, else +999 steps), updated
 *      when newer (per update_notes) keeping the incoming mtime, left alone
 *      when not newer, skipped when the existing note has another notetype;
 *      media references are rewritten to the names used;
 *   5. presets by id (only new ones), decks by name (same kind: merged;
 *      else renamed "<name> <secs>"), new decks get new ids;
 *   6. cards of imported notes whose ordinal is new (ids kept when free),
 *      review dates shifted by the difference of the two collections'
 *      day numbers; review log entries of those cards.
 *
 * Steps 3-6 run in one transaction of the target.  Media files are
 * written to temporary names in the media folder before the commit and
 * renamed into place after it, so a failure leaves both untouched.
 */
#include "pkg_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"
#include "col_decks.h"
#include "col_proto.h"
#include "col_store.h"
#include "bounds.h"
#include "log.h"
#include "media_name.h"
#include "path.h"
#include "search_day.h"
#include "text.h"

struct guid_row {
	int64_t id, mod, mid;
};

struct staged {
	char tmp[MAX_PATH_BYTES];
	char final[MAX_PATH_BYTES];
	uint8_t sha1[20];
};

struct renamed_parent {
	char *old, *new_; /* "name\x1f" prefixes */
};

struct imp {
	struct col *c;
	struct pkg_import_opts o;
	struct pkg_import_result *r;
	struct pkg_zip *z;
	enum pkg_version ver;
	struct pkg_data d;
	int32_t usn;
	char mdir[MAX_PATH_BYTES];
	struct pkg_media_entry *media;
	size_t nmedia;
	struct pkg_smap checked; /* normalised package name -> media index */
	struct pkg_refs *refs;
	struct pkg_imap nt_remap;
	struct pkg_imap note_map;
	struct pkg_imap deck_map;
	struct pkg_imap card_map;
	struct pkg_imap note_ids; /* target note ids (set) */
	struct pkg_smap guids;    /* guid -> index into grows */
	struct guid_row *grows;
	size_t ngrows, gcap;
	struct notetype *tnts; /* target notetypes before the import */
	size_t ntnts;
	struct renamed_parent *ren;
	size_t nren;
	char suffix[24];
	struct staged *stg;
	size_t nstg;
	sqlite3_stmt *set_mod; /* update notes set mod (once per note) */
};

static bool should_update(enum pkg_update u, int64_t existing, int64_t incoming)
{
	switch (u) {
	case PKG_UPDATE_ALWAYS:
		return existing != incoming;
	case PKG_UPDATE_NEVER:
		return false;
	default:
		return existing < incoming;
	}
}

/* ---- media: matching ---------------------------------------------------- */

struct sha_ctx {
	EVP_MD_CTX *md;
};

static enum status sha_sink(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	(void)e;
	EVP_DigestUpdate(((struct sha_ctx *)ctx)->md, data, len);
	return ST_OK;
}

static enum status member_index(struct imp *im, const struct pkg_media_entry *en, int64_t *idx,
                                struct errinfo *e)
{
	char name[24];
	snprintf(name, sizeof name, "%llu", (unsigned long long)en->index);
	*idx = pkg_zip_find(im->z, name);
	if (*idx < 0)
		return errinfo_set(e, ST_CORRUPT,
		                   "media file %s (member %s) is missing from the package",
		                   en->name, name);
	return ST_OK;
}

/* Legacy entries carry no SHA-1: hash the member (streamed). */
static enum status entry_sha1(struct imp *im, struct pkg_media_entry *en, struct errinfo *e)
{
	if (en->has_sha1)
		return ST_OK;
	int64_t idx;
	enum status st = member_index(im, en, &idx, e);
	if (st)
		return st;
	struct sha_ctx sc = {EVP_MD_CTX_new()};
	if (!sc.md || !EVP_DigestInit_ex(sc.md, EVP_sha1(), NULL)) {
		EVP_MD_CTX_free(sc.md);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	st = pkg_zip_read(im->z, idx, false, pkg_zip_limits(im->z)->max_media_file_bytes, sha_sink,
	                  &sc, e);
	if (!st) {
		unsigned char d[EVP_MAX_MD_SIZE];
		unsigned int dl = 0;
		EVP_DigestFinal_ex(sc.md, d, &dl);
		memcpy(en->sha1, d, 20);
		en->has_sha1 = true;
	}
	EVP_MD_CTX_free(sc.md);
	return st;
}

/* What is in the media folder under name: 0 nothing, 1 a regular file
 * (sha1 filled), 2 something else (never overwritten). */
static enum status existing_file(struct imp *im, const char *name, int *kind, uint8_t sha1[20],
                                 struct errinfo *e)
{
	char path[MAX_PATH_BYTES];
	enum status st = path_join(path, sizeof path, im->mdir, name, strlen(name), e);
	if (st)
		return st;
	struct stat sb;
	if (lstat(path, &sb) != 0) {
		if (errno != ENOENT)
			return errinfo_errno(e, ST_IO, "cannot access %s", path);
		*kind = 0;
		return ST_OK;
	}
	if (!S_ISREG(sb.st_mode)) {
		*kind = 2;
		return ST_OK;
	}
	*kind = 1;
	st = pkg_file_sha1(path, sha1, e);
	if (st == ST_NOTFOUND) {
		*kind = 0;
		st = ST_OK;
	}
	return st;
}

static enum status prepare_media(struct imp *im, struct errinfo *e)
{
	int64_t mi = pkg_zip_find(im->z, "media");
	if (mi < 0)
		return ST_OK; /* older AnkiDroid: no map means no media */
	struct buf map;
	bool legacy = im->ver != PKG_VERSION_LATEST;
	enum status st =
	    pkg_zip_read_buf(im->z, mi, !legacy, pkg_zip_limits(im->z)->max_map_bytes, &map, e);
	if (st)
		return st;
	st = pkg_media_map_parse(map.data, map.len, legacy, pkg_zip_count(im->z), &im->media,
	                         &im->nmedia, e);
	buf_free(&map);
	for (size_t i = 0; i < im->nmedia && !st; i++) {
		struct pkg_media_entry *en = &im->media[i];
		int kind = 0;
		uint8_t have[20];
		st = existing_file(im, en->name, &kind, have, e);
		if (st)
			break;
		if (pkg_media_is_static(en->name)) {
			/* static files are kept as they are when the name exists */
			if (kind == 0) {
				en->use = true;
				en->target = strdup(en->name);
				if (!en->target)
					st = errinfo_set(e, ST_NOMEM, "out of memory");
			}
			continue;
		}
		if (kind != 0) {
			if ((st = entry_sha1(im, en, e)))
				break;
			if (kind == 1 && memcmp(have, en->sha1, 20) == 0)
				continue; /* the same file is already there */
			st = pkg_media_hashed_name(en->name, en->sha1, &en->target, e);
			en->renamed = true;
		} else {
			en->target = strdup(en->name);
			if (!en->target)
				st = errinfo_set(e, ST_NOMEM, "out of memory");
		}
		if (!st)
			st = pkg_smap_put(&im->checked, en->name, (int64_t)i, e);
	}
	return st;
}

/* replace_media_refs callback for imported notes (Anki's munge_media). */
static enum status munge_ref(void *ctx, const char *name, size_t len, char **repl,
                             struct errinfo *e)
{
	struct imp *im = ctx;
	*repl = NULL;
	char *norm = NULL;
	bool changed = false;
	if (pkg_media_normalize(name, len, &norm, &changed, NULL) != ST_OK)
		return ST_OK; /* not a plain name: left as it is */
	int64_t idx;
	if (pkg_smap_get(&im->checked, norm, &idx)) {
		struct pkg_media_entry *en = &im->media[idx];
		en->use = true;
		if (strlen(en->target) != len || memcmp(en->target, name, len) != 0) {
			*repl = strdup(en->target);
			free(norm);
			return *repl ? ST_OK : errinfo_set(e, ST_NOMEM, "out of memory");
		}
	} else if (changed) {
		*repl = norm; /* a reference to an existing file: normalise it */
		return ST_OK;
	}
	free(norm);
	return ST_OK;
}

static enum status munge_media(struct imp *im, struct note *n, struct errinfo *e)
{
	const char *f = n->flds ? n->flds : "";
	struct buf out;
	bool changed = false;
	enum status st = pkg_refs_replace(im->refs, f, strlen(f), munge_ref, im, &out, &changed, e);
	if (!st && changed) {
		free(n->flds);
		n->flds = (char *)buf_steal(&out, NULL);
		if (!n->flds)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	buf_free(&out);
	return st;
}

/* ---- notetypes ----------------------------------------------------------- */

static bool field_match(const struct nt_field *a, const struct nt_field *b)
{
	if (a->cfg.has_id && b->cfg.has_id)
		return a->cfg.id == b->cfg.id;
	return strcmp(col_str(a->name), col_str(b->name)) == 0;
}

static bool template_match(const struct nt_template *a, const struct nt_template *b)
{
	if (a->cfg.has_id && b->cfg.has_id)
		return a->cfg.id == b->cfg.id;
	return strcmp(col_str(a->name), col_str(b->name)) == 0;
}

static bool equal_schema(const struct notetype *a, const struct notetype *b)
{
	if (a->nfields != b->nfields || a->ntemplates != b->ntemplates)
		return false;
	for (size_t i = 0; i < a->nfields; i++)
		if (!field_match(&a->fields[i], &b->fields[i]))
			return false;
	for (size_t i = 0; i < a->ntemplates; i++)
		if (!template_match(&a->templates[i], &b->templates[i]))
			return false;
	return true;
}

static enum status load_target_notetypes(struct imp *im, struct errinfo *e)
{
	int64_t *ids = NULL;
	size_t n = 0;
	enum status st = col_list_ids(im->c, "notetypes", &ids, &n, e);
	if (!st && n) {
		im->tnts = calloc(n, sizeof *im->tnts);
		if (!im->tnts)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n && !st; i++) {
		st = col_load_notetype(im->c, ids[i], &im->tnts[i], e);
		if (!st)
			im->ntnts++;
	}
	free(ids);
	return st;
}

static const struct notetype *target_nt(const struct imp *im, int64_t id)
{
	for (size_t i = 0; i < im->ntnts; i++)
		if (im->tnts[i].id == id)
			return &im->tnts[i];
	return NULL;
}

/* The sort field of notetype mid moved: recompute notes.sfld. */
static enum status recompute_sfld(struct imp *im, int64_t mid, uint32_t idx, struct errinfo *e)
{
	sqlite3 *db = col_db(im->c);
	sqlite3_stmt *q = NULL, *u = NULL;
	int rc = sqlite3_prepare_v2(db, "select id, flds from notes where mid = ?1", -1, &q, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "update notes set sfld = ?2 where id = ?1", -1, &u,
		                        NULL);
	enum status st =
	    rc == SQLITE_OK ? ST_OK : col_sqlite_err(db, rc, e, "updating sort fields");
	if (!st)
		sqlite3_bind_int64(q, 1, mid);
	struct buf sort;
	buf_init(&sort, 0);
	while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *f = (const char *)sqlite3_column_text(q, 1);
		struct text_slice *parts = NULL;
		size_t np = 0;
		st = text_fields_split(f ? f : "", f ? strlen(f) : 0, 0, &parts, &np, e);
		const char **ptrs = malloc((np + 1) * sizeof *ptrs);
		size_t *lens = malloc((np + 1) * sizeof *lens);
		if (!st && (!ptrs || !lens))
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		for (size_t i = 0; !st && ptrs && lens && i < np; i++) {
			ptrs[i] = parts[i].p;
			lens[i] = parts[i].len;
		}
		if (!st)
			st = text_sort_field(ptrs, lens, np, idx, &sort, e);
		if (!st) {
			sqlite3_bind_int64(u, 1, sqlite3_column_int64(q, 0));
			sqlite3_bind_text(u, 2, sort.data ? (const char *)sort.data : "",
			                  (int)sort.len, SQLITE_STATIC);
			if ((rc = sqlite3_step(u)) != SQLITE_DONE)
				st = col_sqlite_err(db, rc, e, "updating a sort field");
			sqlite3_reset(u);
		}
		free(parts);
		free(ptrs);
		free(lens);
	}
	if (!st && rc != SQLITE_DONE)
		st = col_sqlite_err(db, rc, e, "reading notes");
	buf_free(&sort);
	sqlite3_finalize(q);
	sqlite3_finalize(u);
	return st;
}

static enum status import_notetypes(struct imp *im, struct errinfo *e)
{
	enum status st = load_target_notetypes(im, e);
	for (size_t i = 0; i < im->d.nnotetypes && !st; i++) {
		struct notetype *nt = &im->d.notetypes[i];
		/* Anki's import adds or updates through prepare_for_update,
		 * which refuses these (and with them the whole import) */
		if (!nt->nfields || !nt->ntemplates) {
			st = errinfo_set(e, ST_INVALID,
			                 "the package's notetype \"%.80s\" has no %s; "
			                 "Anki requires at least one",
			                 nt->name ? nt->name : "",
			                 nt->nfields ? "templates" : "fields");
			break;
		}
		nt->cfg.has_original_id = true;
		nt->cfg.original_id = nt->id;
		const struct notetype *ex = target_nt(im, nt->id);
		nt->usn = im->usn;
		if (!ex) {
			/* new: keep its id ("+" appended to a clashing name) */
			st = col_store_notetype(im->c, nt, COL_STORE_SYNC, e);
			if (!st)
				im->r->notetypes_added++;
			continue;
		}
		if (!equal_schema(ex, nt)) {
			const struct notetype *dup = NULL;
			for (size_t k = 0; k < im->ntnts && !dup; k++) {
				const struct notetype *t = &im->tnts[k];
				if (t->id != nt->id && t->cfg.has_original_id &&
				    t->cfg.original_id == nt->id && equal_schema(t, nt))
					dup = t;
			}
			if (!dup) {
				/* another structure under this id: add a copy with a new id */
				int64_t old = nt->id, nid;
				st = col_alloc_id(im->c, "notetypes", col_now_ms(), &nid, e);
				if (!st) {
					nt->id = nid;
					st = col_store_notetype(im->c, nt, COL_STORE_SYNC, e);
				}
				if (!st) {
					json_t *v = json_integer(nid);
					st = v ? col_config_set(im->c, "curModel", v, e)
					       : errinfo_set(e, ST_NOMEM, "out of memory");
					json_decref(v);
				}
				if (!st)
					st = pkg_imap_put(&im->nt_remap, old, 0, nid, e);
				if (!st)
					im->r->notetypes_added++;
				continue;
			}
			st = pkg_imap_put(&im->nt_remap, nt->id, 0, dup->id, e);
			nt->id = dup->id;
			ex = dup;
		}
		if (!st && should_update(im->o.update_notetypes, ex->mtime, nt->mtime)) {
			uint32_t old_sort = ex->cfg.sort_field_idx;
			st = col_store_notetype(im->c, nt, COL_STORE_SYNC, e);
			if (!st && nt->cfg.sort_field_idx != old_sort)
				st = recompute_sfld(im, nt->id, nt->cfg.sort_field_idx, e);
			if (!st)
				im->r->notetypes_updated++;
		}
	}
	return st;
}

/* ---- notes ------------------------------------------------------------- */

static enum status load_target_notes(struct imp *im, struct errinfo *e)
{
	sqlite3 *db = col_db(im->c);
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(db, "select id, guid, mod, mid from notes", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(db, rc, e, "reading notes");
	enum status st = ST_OK;
	while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		st = pkg_imap_put(&im->note_ids, id, 0, 1, e);
		if (im->ngrows == im->gcap && !st) {
			size_t nc = im->gcap ? im->gcap * 2 : 256;
			struct guid_row *p = realloc(im->grows, nc * sizeof *p);
			if (!p)
				st = errinfo_set(e, ST_NOMEM, "out of memory");
			else {
				im->grows = p;
				im->gcap = nc;
			}
		}
		if (st)
			break;
		const char *g = (const char *)sqlite3_column_text(q, 1);
		im->grows[im->ngrows] =
		    (struct guid_row){id, sqlite3_column_int64(q, 2), sqlite3_column_int64(q, 3)};
		st = pkg_smap_put(&im->guids, g ? g : "", (int64_t)im->ngrows, e);
		im->ngrows++;
	}
	if (!st && rc != SQLITE_DONE)
		st = col_sqlite_err(db, rc, e, "reading notes");
	sqlite3_finalize(q);
	return st;
}

/* The incoming mtime is kept (col_note_add/update stamp "now"), so that
 * later exports of the same deck compare right. */
static enum status set_note_mod(struct imp *im, int64_t id, int64_t mod, struct errinfo *e)
{
	sqlite3 *db = col_db(im->c);
	int rc = SQLITE_OK;
	if (!im->set_mod)
		rc = sqlite3_prepare_v2(db, "update notes set mod = ?2 where id = ?1", -1,
		                        &im->set_mod, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(im->set_mod, 1, id);
		sqlite3_bind_int64(im->set_mod, 2, mod);
		rc = sqlite3_step(im->set_mod);
		sqlite3_reset(im->set_mod);
	}
	return rc == SQLITE_DONE || rc == SQLITE_OK
	           ? ST_OK
	           : col_sqlite_err(db, rc, e, "keeping a note's mtime");
}

static enum status add_note(struct imp *im, struct note *n, struct errinfo *e)
{
	int64_t src = n->id, mod = n->mod;
	enum status st = munge_media(im, n, e);
	while (!st && pkg_imap_get(&im->note_ids, n->id, 0, NULL))
		n->id += 999;
	if (!st)
		st = col_note_add(im->c, n, e);
	if (!st)
		st = set_note_mod(im, n->id, mod, e);
	n->mod = mod;
	if (!st)
		st = pkg_imap_put(&im->note_ids, n->id, 0, 1, e);
	if (!st)
		st = pkg_imap_put(&im->note_map, src, 0, n->id, e);
	if (!st && im->ngrows == im->gcap) {
		size_t nc = im->gcap ? im->gcap * 2 : 256;
		struct guid_row *p = realloc(im->grows, nc * sizeof *p);
		if (!p)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		else {
			im->grows = p;
			im->gcap = nc;
		}
	}
	if (!st) {
		/* a second note with this guid in the package now finds this one */
		im->grows[im->ngrows] = (struct guid_row){n->id, mod, n->mid};
		st = pkg_smap_put(&im->guids, n->guid ? n->guid : "", (int64_t)im->ngrows, e);
		im->ngrows++;
	}
	if (!st)
		im->r->notes_added++;
	return st;
}

static enum status update_note(struct imp *im, struct note *n, struct guid_row *g,
                               struct errinfo *e)
{
	int64_t src = n->id, mod = n->mod;
	n->id = g->id;
	enum status st = munge_media(im, n, e);
	if (!st)
		st = col_note_update(im->c, n, e);
	if (!st)
		st = set_note_mod(im, n->id, mod, e);
	if (!st)
		st = pkg_imap_put(&im->note_map, src, 0, g->id, e);
	g->mod = mod;
	if (!st)
		im->r->notes_updated++;
	return st;
}

static enum status import_notes(struct imp *im, struct errinfo *e)
{
	enum status st = load_target_notes(im, e);
	im->r->notes_found = im->d.nnotes;
	for (size_t i = 0; i < im->d.nnotes && !st; i++) {
		struct note *n = &im->d.notes[i];
		int64_t mid;
		if (pkg_imap_get(&im->nt_remap, n->mid, 0, &mid))
			n->mid = mid;
		n->usn = im->usn;
		int64_t gi;
		if (!pkg_smap_get(&im->guids, n->guid ? n->guid : "", &gi)) {
			st = add_note(im, n, e);
		} else {
			struct guid_row *g = &im->grows[gi];
			if (n->mid != g->mid) {
				im->r->notes_conflicting++;
			} else if (should_update(im->o.update_notes, g->mod, n->mod)) {
				st = update_note(im, n, g, e);
			} else {
				st = pkg_imap_put(&im->note_map, n->id, 0, g->id, e);
				im->r->notes_duplicate++;
			}
		}
		if (st)
			errinfo_prefix(e, "importing note %lld", (long long)n->id);
	}
	return st;
}

/* ---- decks and presets ------------------------------------------------- */

static enum status import_deckconfs(struct imp *im, struct errinfo *e)
{
	enum status st = ST_OK;
	for (size_t i = 0; i < im->d.ndeckconfs && !st; i++) {
		struct deckconf dc;
		st = col_load_deckconf(im->c, im->d.deckconfs[i].id, &dc, e);
		deckconf_free(&dc);
		if (st != ST_NOTFOUND)
			continue; /* presets are only added, never replaced */
		errinfo_clear(e);
		im->d.deckconfs[i].usn = im->usn;
		st = col_store_deckconf(im->c, &im->d.deckconfs[i], e);
		if (!st)
			im->r->deck_configs_added++;
	}
	return st == ST_NOTFOUND ? ST_OK : st;
}

static size_t deck_level(const struct deck *d)
{
	size_t n = 1;
	for (const char *p = col_str(d->name); *p; p++)
		n += *p == '\x1f';
	return n;
}

static enum status maybe_reparent(struct imp *im, struct deck *d, struct errinfo *e)
{
	const char *name = col_str(d->name);
	for (size_t i = 0; i < im->nren; i++) {
		size_t ol = strlen(im->ren[i].old);
		if (strncmp(name, im->ren[i].old, ol) != 0)
			continue;
		char *nn = NULL;
		if (asprintf(&nn, "%s%s", im->ren[i].new_, name + ol) < 0)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		free(d->name);
		d->name = nn;
		return ST_OK;
	}
	return ST_OK;
}

static enum status uniquify_name(struct imp *im, char **name, struct errinfo *e)
{
	struct renamed_parent *p = realloc(im->ren, (im->nren + 1) * sizeof *p);
	if (!p)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	im->ren = p;
	char *nn = NULL, *o = NULL, *n = NULL;
	if (asprintf(&nn, "%s %s", col_str(*name), im->suffix) < 0)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	if (asprintf(&o, "%s\x1f", col_str(*name)) < 0 || asprintf(&n, "%s\x1f", nn) < 0) {
		free(nn);
		free(o);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	im->ren[im->nren++] = (struct renamed_parent){o, n};
	free(*name);
	*name = nn;
	return ST_OK;
}

static void correct_day_limit(bool *has, struct deck_day_limit *l, int64_t src_today,
                              int64_t dst_today)
{
	if (!*has)
		return;
	if ((int64_t)l->today == src_today)
		l->today = (uint32_t)dst_today; /* active today: today in the target */
	else if (dst_today > 0)
		l->today = l->today < dst_today - 1 ? l->today : (uint32_t)(dst_today - 1);
	else
		*has = false; /* a day-0 target: the saved limit is dropped */
}

/* The deck with this native name in the target, or id 0. */
static enum status target_deck(struct imp *im, const char *name, int64_t *id, struct errinfo *e)
{
	sqlite3_stmt *q;
	*id = 0;
	int rc =
	    sqlite3_prepare_v2(col_db(im->c), "select id from decks where name = ?1", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW)
			*id = sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
	           ? ST_OK
	           : col_sqlite_err(col_db(im->c), rc, e, "looking up a deck");
}

static enum status deck_bytes(const struct deck *d, struct buf *b, struct errinfo *e)
{
	buf_reset(b);
	enum status st = deck_common_encode(&d->common, b, e);
	if (!st)
		st = buf_append(b, "\0", 1, e);
	if (!st)
		st = deck_kind_encode(&d->kind, b, e);
	return st;
}

/* Same name and kind in the target: merge the incoming settings in. */
static enum status update_deck(struct imp *im, struct deck *in, int64_t tid, struct errinfo *e)
{
	struct deck cur;
	enum status st = col_load_deck(im->c, tid, &cur, e);
	if (st)
		return st;
	struct buf before, after;
	buf_init(&before, 0);
	buf_init(&after, 0);
	st = deck_bytes(&cur, &before, e);
	if (!st && cur.kind.type == DECK_KIND_NORMAL && in->kind.type == DECK_KIND_NORMAL) {
		struct deck_normal *n = &cur.kind.normal, *o = &in->kind.normal;
		if (o->description && *o->description) {
			n->markdown_description = o->markdown_description;
			free(n->description);
			n->description = o->description;
			o->description = NULL;
		}
		if (o->config_id != 1)
			n->config_id = o->config_id;
		if (o->has_review_limit) {
			n->has_review_limit = true;
			n->review_limit = o->review_limit;
		}
		if (o->has_new_limit) {
			n->has_new_limit = true;
			n->new_limit = o->new_limit;
		}
		if (o->has_review_limit_today) {
			deck_day_limit_free(&n->review_limit_today);
			n->has_review_limit_today = true;
			n->review_limit_today = o->review_limit_today;
			memset(&o->review_limit_today, 0, sizeof o->review_limit_today);
			o->has_review_limit_today = false;
		}
		if (o->has_new_limit_today) {
			deck_day_limit_free(&n->new_limit_today);
			n->has_new_limit_today = true;
			n->new_limit_today = o->new_limit_today;
			memset(&o->new_limit_today, 0, sizeof o->new_limit_today);
			o->has_new_limit_today = false;
		}
	} else if (!st && cur.kind.type == DECK_KIND_FILTERED) {
		deck_filtered_free(&cur.kind.filtered);
		cur.kind.filtered = in->kind.filtered;
		memset(&in->kind.filtered, 0, sizeof in->kind.filtered);
	}
	if (!st)
		st = deck_bytes(&cur, &after, e);
	if (!st)
		st = pkg_imap_put(&im->deck_map, in->id, 0, tid, e);
	if (!st && (before.len != after.len || memcmp(before.data, after.data, before.len) != 0)) {
		cur.mtime = col_now_secs();
		cur.usn = im->usn;
		st = col_store_deck(im->c, &cur, COL_STORE_NORMAL, e);
		if (!st)
			im->r->decks_updated++;
	}
	buf_free(&before);
	buf_free(&after);
	deck_free(&cur);
	return st;
}

/* A new deck: normalised name, parents matched or created, new id. */
static enum status add_deck(struct imp *im, struct deck *d, struct errinfo *e)
{
	int64_t old = d->id;
	char *human = deck_name_human_from_native(d->name);
	char *native = NULL;
	enum status st = human ? deck_name_native_from_human(human, &native, e)
	                       : errinfo_set(e, ST_NOMEM, "out of memory");
	free(human);
	if (st)
		return st;
	if (!native)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	free(d->name);
	d->name = native;
	char *sep = strrchr(native, '\x1f');
	if (sep) {
		*sep = '\0';
		char *ph = deck_name_human_from_native(native);
		*sep = '\x1f';
		int64_t pid = 0;
		char *pname = NULL;
		st = ph ? col_decks_get_or_create(im->c, ph, &pid, NULL, e)
		        : errinfo_set(e, ST_NOMEM, "out of memory");
		free(ph);
		if (!st)
			st = col_decks_name(im->c, pid, &pname, e);
		char *pn = NULL, *nn = NULL;
		if (!st)
			st = deck_name_native_from_human(pname, &pn, e);
		if (!st && asprintf(&nn, "%s\x1f%s", pn, sep + 1) < 0)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		if (!st) {
			free(d->name);
			d->name = nn;
		}
		free(pn);
		free(pname);
		if (st)
			return st;
	}
	int64_t id;
	st = col_alloc_id(im->c, "decks", col_now_ms(), &id, e);
	if (st)
		return st;
	d->id = id;
	d->mtime = col_now_secs();
	d->usn = im->usn;
	st = col_store_deck(im->c, d, COL_STORE_SYNC, e);
	if (!st)
		st = pkg_imap_put(&im->deck_map, old, 0, id, e);
	if (!st)
		im->r->decks_added++;
	return st;
}

/* The nearest existing ancestor must not be a filtered deck: if it is, a
 * normal deck named after it (with the suffix) takes its place. */
static enum status ensure_valid_parent(struct imp *im, struct deck *d, struct errinfo *e)
{
	char *name = strdup(col_str(d->name));
	if (!name)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	enum status st = ST_OK;
	for (char *sep; (sep = strrchr(name, '\x1f'));) {
		*sep = '\0';
		int64_t pid;
		if ((st = target_deck(im, name, &pid, e)) || !pid)
			continue;
		struct deck pd;
		if ((st = col_load_deck(im->c, pid, &pd, e)))
			break;
		bool filtered = pd.kind.type == DECK_KIND_FILTERED;
		deck_free(&pd);
		if (filtered) {
			struct deck nd = {0};
			deck_common_default_normal(&nd.common);
			deck_kind_new_normal(&nd.kind);
			nd.name = strdup(name);
			if (!nd.name)
				st = errinfo_set(e, ST_NOMEM, "out of memory");
			if (!st)
				st = uniquify_name(im, &nd.name, e);
			if (!st)
				st = add_deck(im, &nd, e);
			if (!st)
				im->r->decks_added--; /* not one of the package's decks */
			deck_free(&nd);
			if (!st)
				st = maybe_reparent(im, d, e);
		}
		break;
	}
	free(name);
	return st;
}

static int cmp_level(const void *a, const void *b)
{
	const struct deck *x = *(const struct deck *const *)a, *y = *(const struct deck *const *)b;
	size_t lx = deck_level(x), ly = deck_level(y);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x < y ? -1 : x > y; /* stable: keep the gathered order */
}

static enum status import_decks(struct imp *im, struct errinfo *e)
{
	enum status st = ST_OK;
	if (im->o.with_deck_configs)
		st = import_deckconfs(im, e);
	struct sched_timing tm;
	if (!st)
		st = col_sched_today(im->c, &tm, e);
	snprintf(im->suffix, sizeof im->suffix, "%lld", (long long)col_now_secs());
	struct deck **order = malloc((im->d.ndecks + 1) * sizeof *order);
	if (!st && !order)
		st = errinfo_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; !st && order && i < im->d.ndecks; i++)
		order[i] = &im->d.decks[i];
	if (!st && order && im->d.ndecks > 1)
		qsort(order, im->d.ndecks, sizeof *order, cmp_level);
	for (size_t i = 0; !st && order && i < im->d.ndecks; i++) {
		struct deck *d = order[i];
		st = maybe_reparent(im, d, e);
		if (!st && d->kind.type == DECK_KIND_NORMAL) {
			struct deck_normal *n = &d->kind.normal;
			correct_day_limit(&n->has_new_limit_today, &n->new_limit_today,
			                  im->d.days_elapsed, tm.days_elapsed);
			correct_day_limit(&n->has_review_limit_today, &n->review_limit_today,
			                  im->d.days_elapsed, tm.days_elapsed);
		}
		int64_t tid = 0;
		if (!st)
			st = target_deck(im, col_str(d->name), &tid, e);
		if (!st && tid) {
			struct deck cur;
			st = col_load_deck(im->c, tid, &cur, e);
			bool same = !st && (cur.kind.type == DECK_KIND_FILTERED) ==
			                       (d->kind.type == DECK_KIND_FILTERED);
			deck_free(&cur);
			if (!st && same) {
				st = update_deck(im, d, tid, e);
				continue;
			}
			if (!st)
				st = uniquify_name(im, &d->name, e);
		}
		if (!st)
			st = ensure_valid_parent(im, d, e);
		if (!st)
			st = add_deck(im, d, e);
		if (st)
			errinfo_prefix(e, "importing deck %lld", (long long)d->id);
	}
	free(order);
	return st;
}

/* ---- cards and review log ------------------------------------------------ */

static enum status load_target_cards(struct imp *im, struct pkg_imap *ords, struct pkg_imap *ids,
                                     struct errinfo *e)
{
	sqlite3 *db = col_db(im->c);
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(db, "select id, nid, ord from cards", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(db, rc, e, "reading cards");
	enum status st = ST_OK;
	while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		st = pkg_imap_put(ids, sqlite3_column_int64(q, 0), 0, 1, e);
		if (!st)
			st = pkg_imap_put(ords, sqlite3_column_int64(q, 1),
			                  sqlite3_column_int64(q, 2), 1, e);
	}
	if (!st && rc != SQLITE_DONE)
		st = col_sqlite_err(db, rc, e, "reading cards");
	sqlite3_finalize(q);
	return st;
}

static enum status deck_exists(struct imp *im, int64_t id, bool *yes, struct errinfo *e)
{
	sqlite3_stmt *q;
	int rc =
	    sqlite3_prepare_v2(col_db(im->c), "select 1 from decks where id = ?1", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, id);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	*yes = rc == SQLITE_ROW;
	return rc == SQLITE_ROW || rc == SQLITE_DONE
	           ? ST_OK
	           : col_sqlite_err(col_db(im->c), rc, e, "decks");
}

static enum status import_cards(struct imp *im, struct errinfo *e)
{
	json_t *sv = NULL;
	if (col_config_get(im->c, "schedVer", &sv, NULL) == ST_OK && json_is_integer(sv) &&
	    json_integer_value(sv) == 1) {
		json_decref(sv);
		return errinfo_set(
		    e, ST_UNSUPPORTED,
		    "the collection uses the v1 scheduler; upgrade it in Anki first");
	}
	json_decref(sv);
	struct sched_timing tm;
	enum status st = col_sched_today(im->c, &tm, e);
	if (st)
		return st;
	int64_t delta = im->d.days_elapsed - tm.days_elapsed;
	struct pkg_imap ords = {0}, ids = {0};
	st = load_target_cards(im, &ords, &ids, e);
	struct pkg_rw rw;
	pkg_rw_init(&rw, im->c);
	for (size_t i = 0; i < im->d.ncards && !st; i++) {
		struct card *cd = &im->d.cards[i];
		int64_t nid, did;
		if (!pkg_imap_get(&im->note_map, cd->nid, 0, &nid))
			continue; /* its note was skipped */
		cd->nid = nid;
		if (pkg_imap_get(&ords, nid, cd->ord, NULL))
			continue; /* the note already has this card */
		cd->usn = im->usn;
		if (pkg_imap_get(&im->deck_map, cd->did, 0, &did)) {
			cd->did = did;
		} else {
			/* deck 1 is not exported without scheduling: its cards land
			 * in the target's deck 1, as does a card whose deck is gone */
			bool ok;
			if ((st = deck_exists(im, cd->did, &ok, e)))
				break;
			if (!ok)
				cd->did = 1;
		}
		if (cd->odid && pkg_imap_get(&im->deck_map, cd->odid, 0, &did))
			cd->odid = did;
		if (cd->queue == 2 || cd->queue == 3 || cd->type == 2)
			cd->due -= delta;
		if (cd->type == 2 && cd->odue)
			cd->odue -= delta;
		int64_t old = cd->id;
		while (pkg_imap_get(&ids, cd->id, 0, NULL))
			cd->id += 999;
		bool added = false;
		st = pkg_write_card_raw(&rw, cd, true, &added, e);
		if (!st && added) {
			st = pkg_imap_put(&ids, cd->id, 0, 1, e);
			if (!st)
				st = pkg_imap_put(&ords, nid, cd->ord, 1, e);
			if (!st)
				st = pkg_imap_put(&im->card_map, old, 0, cd->id, e);
			im->r->cards_added++;
		}
	}
	for (size_t i = 0; i < im->d.nrevlog && !st; i++) {
		struct revlog_entry *r = &im->d.revlog[i];
		int64_t cid;
		if (!pkg_imap_get(&im->card_map, r->cid, 0, &cid))
			continue;
		r->cid = cid;
		r->usn = im->usn;
		bool added = false;
		st = pkg_write_revlog_raw(&rw, r, true, &added, e);
		if (!st && added)
			im->r->revlog_added++;
	}
	pkg_rw_free(&rw);
	pkg_imap_free(&ords);
	pkg_imap_free(&ids);
	return st;
}

/* ---- media: copying ------------------------------------------------------ */

struct stage_ctx {
	int fd;
	EVP_MD_CTX *md;
};

static enum status stage_sink(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	struct stage_ctx *s = ctx;
	EVP_DigestUpdate(s->md, data, len);
	return pkg_sink_fd(&s->fd, data, len, e);
}

static void unstage_all(struct imp *im)
{
	for (size_t i = 0; i < im->nstg; i++)
		unlink(im->stg[i].tmp);
	im->nstg = 0;
}

/* Write every used media file under a temporary name in the folder,
 * checking its size and SHA-1 against the map (latest format). */
static enum status stage_media(struct imp *im, struct errinfo *e)
{
	size_t need = 0;
	for (size_t i = 0; i < im->nmedia; i++)
		need += im->media[i].use;
	if (!need)
		return ST_OK;
	enum status st = path_mkdirs(im->mdir, 0755, e);
	if (st)
		return st;
	im->stg = calloc(need, sizeof *im->stg);
	if (!im->stg)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	bool zstd = im->ver == PKG_VERSION_LATEST;
	for (size_t i = 0; i < im->nmedia && !st; i++) {
		struct pkg_media_entry *en = &im->media[i];
		if (!en->use)
			continue;
		int64_t idx;
		if ((st = member_index(im, en, &idx, e)))
			break;
		struct staged *sg = &im->stg[im->nstg];
		/* the prefix is not NFC: Anki's folder scan never picks such a
		 * name up, should a crash leave one behind */
		if (snprintf(sg->tmp, sizeof sg->tmp, "%s/" MEDIA_TMP_PREFIX "pkg.XXXXXX",
		             im->mdir) >= (int)sizeof sg->tmp ||
		    (st = path_join(sg->final, sizeof sg->final, im->mdir, en->target,
		                    strlen(en->target), e))) {
			if (!st)
				st = errinfo_set(e, ST_TOOBIG, "media path too long");
			break;
		}
		struct stage_ctx sc = {mkstemp(sg->tmp), EVP_MD_CTX_new()};
		if (sc.fd < 0) {
			EVP_MD_CTX_free(sc.md);
			st = errinfo_errno(e, ST_IO, "cannot create a file in %s", im->mdir);
			break;
		}
		im->nstg++;
		if (!sc.md || !EVP_DigestInit_ex(sc.md, EVP_sha1(), NULL))
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		uint64_t before = 0;
		if (!st)
			st = pkg_zip_read(im->z, idx, zstd,
			                  pkg_zip_limits(im->z)->max_media_file_bytes, stage_sink,
			                  &sc, e);
		struct stat sb;
		if (!st && fstat(sc.fd, &sb) == 0)
			before = (uint64_t)sb.st_size;
		if (!st) {
			unsigned char d[EVP_MAX_MD_SIZE];
			unsigned int dl = 0;
			EVP_DigestFinal_ex(sc.md, d, &dl);
			memcpy(sg->sha1, d, 20);
			if (zstd && (memcmp(sg->sha1, en->sha1, 20) != 0 || before != en->size))
				st = errinfo_set(
				    e, ST_CORRUPT,
				    "media file %s does not match the size and checksum in the "
				    "package's media map",
				    en->name);
		}
		EVP_MD_CTX_free(sc.md);
		if (close(sc.fd) != 0 && !st)
			st = errinfo_errno(e, ST_IO, "writing %s", sg->tmp);
		if (st && st != ST_NOMEM && st != ST_IO)
			errinfo_prefix(e, "media file %s", en->name);
	}
	return st;
}

/* After the commit: move the staged files to their names.  A name taken
 * meanwhile by identical content is fine; by other content it is left
 * alone (and logged). */
static void publish_media(struct imp *im)
{
	for (size_t i = 0; im->stg && i < im->nstg; i++) {
		struct staged *sg = &im->stg[i];
		if (renameat2(AT_FDCWD, sg->tmp, AT_FDCWD, sg->final, RENAME_NOREPLACE) == 0) {
			im->r->media_added++;
			continue;
		}
		if (errno == EINVAL || errno == ENOSYS) { /* no RENAME_NOREPLACE here */
			if (link(sg->tmp, sg->final) == 0) {
				unlink(sg->tmp);
				im->r->media_added++;
				continue;
			}
		}
		uint8_t have[20];
		if (errno == EEXIST && pkg_file_sha1(sg->final, have, NULL) == ST_OK &&
		    memcmp(have, sg->sha1, 20) == 0) {
			unlink(sg->tmp);
			continue;
		}
		log_warn("importing media: could not store %s", sg->final);
		unlink(sg->tmp);
	}
	im->nstg = 0;
	if (im->nmedia)
		afile_fsync_dir(im->mdir, NULL);
}

/* ---- the whole import ---------------------------------------------------- */

/* A failure reading the package's collection, in the package's terms:
 * our statements are fixed, so anything SQLite refuses there (a missing
 * column, a constraint, a value of the wrong type) is the package's
 * fault; running out of memory or disk stays ours. */
static enum status package_collection_err(enum status st, struct errinfo *e)
{
	switch (st) {
	case ST_OK:
	case ST_NOMEM:
	case ST_IO:
	case ST_TOOBIG:
		return st;
	case ST_VERSION:
	case ST_INVALID:
		return errinfo_prefix(e, "the package's collection");
	default: {
		char why[ERRINFO_MSG_MAX];
		snprintf(why, sizeof why, "%s", e ? e->msg : "");
		return errinfo_set(e, ST_CORRUPT, "the package's collection is not usable: %s",
		                   why);
	}
	}
}

static enum status open_package_collection(struct pkg_zip *z, enum pkg_version ver, const char *tmp,
                                           struct col **out, uint64_t *size, struct errinfo *e)
{
	char path[MAX_PATH_BYTES];
	enum status st = pkg_zip_extract_collection(z, ver, tmp, path, sizeof path, size, e);
	if (st)
		return st;
	st = col_open(path, 0, out, e);
	if (!st) /* a private throwaway copy: no need to wait for the disk */
		st = col_exec(*out, "pragma synchronous = off", e);
	return package_collection_err(st, e);
}

static void imp_free(struct imp *im)
{
	sqlite3_finalize(im->set_mod);
	unstage_all(im);
	free(im->stg);
	pkg_zip_close(im->z);
	pkg_data_free(&im->d);
	pkg_media_entries_free(im->media, im->nmedia);
	pkg_smap_free(&im->checked);
	pkg_refs_free(im->refs);
	pkg_imap_free(&im->nt_remap);
	pkg_imap_free(&im->note_map);
	pkg_imap_free(&im->deck_map);
	pkg_imap_free(&im->card_map);
	pkg_imap_free(&im->note_ids);
	pkg_smap_free(&im->guids);
	free(im->grows);
	for (size_t i = 0; i < im->ntnts; i++)
		notetype_free(&im->tnts[i]);
	free(im->tnts);
	for (size_t i = 0; i < im->nren; i++) {
		free(im->ren[i].old);
		free(im->ren[i].new_);
	}
	free(im->ren);
}

enum status pkg_import(struct col *c, const char *pkg_path, const char *media_dir,
                       const struct pkg_import_opts *o, struct pkg_import_result *r,
                       struct errinfo *e)
{
	memset(r, 0, sizeof *r);
	struct imp im = {.c = c, .r = r};
	if (o)
		im.o = *o;
	if (im.o.merge_notetypes)
		return errinfo_set(e, ST_UNSUPPORTED,
		                   "merging notetypes on import is not supported");
	enum status st = pkg_zip_open(pkg_path, &im.o.limits, &im.z, e);
	if (!st)
		st = pkg_zip_version(im.z, &im.ver, e);
	r->version = im.ver;
	char *tmp = NULL;
	struct col *pc = NULL;
	if (!st)
		st = pkg_tmpdir(&tmp, e);
	if (!st)
		st = open_package_collection(im.z, im.ver, tmp, &pc, NULL, e);
	if (!st) {
		st = col_begin(pc, e);
		if (!st)
			st = pkg_fix_invalid_ids(pc, e);
		if (!st)
			st = col_commit(pc, e);
		if (!st)
			st = pkg_gather(pc, NULL, 0, im.o.with_scheduling, im.o.with_deck_configs,
			                &im.d, e);
		st = package_collection_err(st, e);
	}
	col_close(pc);
	pkg_rmtree(tmp);
	free(tmp);

	if (!st)
		st = pkg_media_dir(c, media_dir, im.mdir, sizeof im.mdir, e);
	if (!st)
		st = pkg_refs_new(&im.refs, e);
	if (!st)
		st = col_begin(c, e);
	if (st) {
		imp_free(&im);
		return st;
	}
	im.usn = col_usn(c);
	st = prepare_media(&im, e);
	if (!st)
		st = import_notetypes(&im, e);
	if (!st)
		st = import_notes(&im, e);
	if (!st)
		st = import_decks(&im, e);
	if (!st)
		st = import_cards(&im, e);
	if (!st)
		st = stage_media(&im, e);
	if (!st)
		st = col_touch(c, e);
	if (!st)
		st = col_commit(c, e);
	if (st) {
		col_rollback(c);
		unstage_all(&im);
		struct pkg_import_result zero = {.version = im.ver};
		*r = zero;
	} else {
		publish_media(&im);
		size_t renamed = 0;
		for (size_t i = 0; i < im.nmedia; i++)
			renamed += im.media[i].use && im.media[i].renamed;
		r->media_renamed = renamed;
		r->media_skipped = im.nmedia - r->media_added;
	}
	imp_free(&im);
	return st;
}

/* ---- inspection ------------------------------------------------------------ */

enum status pkg_inspect(const char *pkg_path, const struct pkg_limits *limits, struct pkg_info *out,
                        struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	struct pkg_zip *z = NULL;
	enum status st = pkg_zip_open(pkg_path, limits, &z, e);
	if (!st)
		st = pkg_zip_version(z, &out->version, e);
	if (!st) {
		out->members = pkg_zip_count(z);
		snprintf(out->collection_member, sizeof out->collection_member, "%s",
		         pkg_collection_member(out->version));
	}
	char *tmp = NULL;
	if (!st)
		st = pkg_tmpdir(&tmp, e);
	char path[MAX_PATH_BYTES];
	if (!st)
		st = pkg_zip_extract_collection(z, out->version, tmp, path, sizeof path,
		                                &out->collection_size, e);
	int64_t mi = st ? -1 : pkg_zip_find(z, "media");
	if (mi >= 0) {
		struct buf map;
		bool legacy = out->version != PKG_VERSION_LATEST;
		st = pkg_zip_read_buf(z, mi, !legacy, pkg_zip_limits(z)->max_map_bytes, &map, e);
		struct pkg_media_entry *v = NULL;
		if (!st) {
			st = pkg_media_map_parse(map.data, map.len, legacy, pkg_zip_count(z), &v,
			                         &out->media, e);
			buf_free(&map);
		}
		pkg_media_entries_free(v, out->media);
	}
	pkg_rmtree(tmp);
	free(tmp);
	pkg_zip_close(z);
	return st;
}

enum status pkg_open_collection(const char *pkg_path, const struct pkg_limits *limits,
                                struct col **out, struct errinfo *e)
{
	*out = NULL;
	struct pkg_zip *z = NULL;
	enum pkg_version ver;
	enum status st = pkg_zip_open(pkg_path, limits, &z, e);
	if (!st)
		st = pkg_zip_version(z, &ver, e);
	char *tmp = NULL;
	if (!st)
		st = pkg_tmpdir(&tmp, e);
	char path[MAX_PATH_BYTES];
	if (!st)
		st = pkg_zip_extract_collection(z, ver, tmp, path, sizeof path, NULL, e);
	if (!st)
		st = package_collection_err(col_open_copy(path, out, e), e);
	pkg_rmtree(tmp);
	free(tmp);
	pkg_zip_close(z);
	return st;
}
