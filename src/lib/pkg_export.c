/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pkg_export.c - writing an .apkg (collection-format.md §9; Anki's
 * apkg/export.rs and colpkg/export.rs): gather the deck's notes, write them
 * into a new collection (§5) that keeps their ids, close it at schema 18
 * (latest) or 11 (legacy), and zip it with meta, the dummy collection for
 * old clients, the media files and the media map, in Anki's member order.
 *
 * Differences from Anki, all harmless to readers: the new collection's
 * stock notetypes go with their fields/templates rows (Anki leaves those
 * rows behind as orphans); media members are numbered in name order; the
 * zstd collection is compressed on one thread.
 */
#include "pkg_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac_media.h"
#include "col_decks.h"
#include "col_store.h"
#include "bounds.h"
#include "path.h"
#include "text.h"
#include "zstdio.h"

/* Anki's exporting-colpkg-too-new message (English). */
#define DUMMY_TEXT                                                                                 \
	"Please update to the latest Anki version, then import the .colpkg/.apkg file again."

/* ---- media names ---------------------------------------------------------- */

struct names {
	struct pkg_smap set;
	char **v;
	size_t n, cap;
};

static enum status name_add(void *ctx, const char *name, size_t len, struct errinfo *e)
{
	struct names *nm = ctx;
	if (!pkg_media_name_safe(name, len) || len > MAX_NAME_BYTES)
		return ST_OK; /* Anki skips names that are not one plain component */
	char *s = strndup(name, len);
	if (!s)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	if (strlen(s) != len || pkg_smap_get(&nm->set, s, NULL)) {
		free(s);
		return ST_OK;
	}
	enum status st = pkg_smap_put(&nm->set, s, 1, e);
	if (!st && nm->n == nm->cap) {
		size_t nc = nm->cap ? nm->cap * 2 : 64;
		char **p = realloc(nm->v, nc * sizeof *p);
		if (!p)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		else {
			nm->v = p;
			nm->cap = nc;
		}
	}
	if (st) {
		free(s);
		return st;
	}
	nm->v[nm->n++] = s;
	return ST_OK;
}

static void names_free(struct names *nm)
{
	for (size_t i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
	pkg_smap_free(&nm->set);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* gather_media_names: references in the fields (and LaTeX images), and
 * the underscored files of the notetypes. */
static enum status gather_media_names(const struct pkg_data *d, struct names *nm, struct errinfo *e)
{
	struct pkg_refs *refs;
	enum status st = pkg_refs_new(&refs, e);
	if (st)
		return st;
	for (size_t i = 0; i < d->nnotes && !st; i++) {
		const struct note *n = &d->notes[i];
		bool svg = false;
		for (size_t k = 0; k < d->nnotetypes; k++)
			if (d->notetypes[k].id == n->mid)
				svg = d->notetypes[k].cfg.latex_svg;
		struct text_slice *f = NULL;
		size_t nf = 0;
		const char *flds = n->flds ? n->flds : "";
		st = text_fields_split(flds, strlen(flds), 0, &f, &nf, e);
		for (size_t k = 0; k < nf && !st; k++) {
			st = pkg_refs_each(refs, f[k].p, f[k].len, name_add, nm, e);
			if (!st)
				st = pkg_refs_latex(f[k].p, f[k].len, svg, name_add, nm, e);
		}
		free(f);
	}
	for (size_t i = 0; i < d->nnotetypes && !st; i++)
		st = pkg_refs_notetype(refs, &d->notetypes[i], name_add, nm, e);
	pkg_refs_free(refs);
	if (!st && nm->n > 1)
		qsort(nm->v, nm->n, sizeof *nm->v, cmp_str);
	return st;
}

/* The referenced files that exist, as media entries (MediaIter's
 * from_file_list: missing files are left out; a present file whose name
 * Anki would not write needs Check Media). */
static enum status select_media(const char *dir, const struct names *nm,
                                struct pkg_media_entry **out, size_t *n, struct errinfo *e)
{
	*out = NULL;
	*n = 0;
	if (!nm->n)
		return ST_OK;
	struct pkg_media_entry *v = calloc(nm->n, sizeof *v);
	if (!v)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	enum status st = ST_OK;
	size_t k = 0;
	for (size_t i = 0; i < nm->n && !st; i++) {
		char path[MAX_PATH_BYTES];
		struct stat sb;
		/* regular files only: a symlink in the folder is not followed */
		if (path_join(path, sizeof path, dir, nm->v[i], strlen(nm->v[i]), NULL) != ST_OK ||
		    lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		char *norm = NULL;
		bool changed = true;
		if (pkg_media_normalize(nm->v[i], strlen(nm->v[i]), &norm, &changed, NULL) !=
		        ST_OK ||
		    changed) {
			free(norm);
			st = errinfo_set(
			    e, ST_INVALID,
			    "media file \"%.80s\" has a name Anki does not accept; run Check Media",
			    nm->v[i]);
			break;
		}
		v[k].name = norm;
		v[k].target = strdup(path);
		v[k].index = k;
		if (!v[k].target)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		k++;
	}
	if (st) {
		pkg_media_entries_free(v, nm->n);
		return st;
	}
	*out = v;
	*n = k;
	return ST_OK;
}

/* ---- the collection files ---------------------------------------------- */

static enum status write_collection(const struct pkg_data *d, const char *path, bool legacy,
                                    struct errinfo *e)
{
	enum status st = col_create(path, 0, e);
	struct col *c = NULL;
	if (!st)
		st = col_open(path, 0, &c, e);
	if (st)
		return st;
	/* a temporary file: durability comes from the archive's fsync */
	st = col_exec(c, "pragma synchronous = off", e);
	if (!st)
		st = col_begin(c, e);
	/* Anki empties the notetypes table of the new collection; the stock
	 * fields and templates go too here (no orphans) */
	if (!st)
		st = col_exec(c, "delete from notetypes; delete from fields; delete from templates",
		              e);
	for (size_t i = 0; i < d->ndecks && !st; i++) {
		struct deck dk = d->decks[i];
		/* a deck named like the new collection's "Default" replaces it */
		sqlite3_stmt *q;
		if (dk.id != 1 &&
		    sqlite3_prepare_v2(col_db(c), "delete from decks where id = 1 and name = ?1",
		                       -1, &q, NULL) == SQLITE_OK) {
			sqlite3_bind_text(q, 1, dk.name ? dk.name : "", -1, SQLITE_STATIC);
			sqlite3_step(q);
			sqlite3_finalize(q);
		}
		st = col_store_deck(c, &dk, COL_STORE_NORMAL, e);
	}
	struct pkg_rw rw;
	pkg_rw_init(&rw, c);
	for (size_t i = 0; i < d->nnotes && !st; i++)
		st = pkg_write_note_raw(&rw, &d->notes[i], e);
	for (size_t i = 0; i < d->ncards && !st; i++)
		st = pkg_write_card_raw(&rw, &d->cards[i], false, NULL, e);
	for (size_t i = 0; i < d->nrevlog && !st; i++)
		st = pkg_write_revlog_raw(&rw, &d->revlog[i], false, NULL, e);
	pkg_rw_free(&rw);
	for (size_t i = 0; i < d->nnotetypes && !st; i++) {
		struct notetype nt = d->notetypes[i];
		st = col_store_notetype(c, &nt, COL_STORE_NORMAL, e);
	}
	for (size_t i = 0; i < d->ndeckconfs && !st; i++)
		st = col_store_deckconf(c, &d->deckconfs[i], e);
	if (!st) {
		sqlite3_stmt *q;
		int rc = sqlite3_prepare_v2(col_db(c), "update col set crt = ?1", -1, &q, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(q, 1, d->crt);
			rc = sqlite3_step(q);
		}
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE)
			st = col_sqlite_err(col_db(c), rc, e, "setting crt");
	}
	if (!st) {
		if (d->has_creation_offset) {
			json_t *v = json_integer(d->creation_offset);
			st = v ? col_config_set(c, "creationOffset", v, e)
			       : errinfo_set(e, ST_NOMEM, "out of memory");
			json_decref(v);
		} else {
			st = col_exec(c, "delete from config where KEY = 'creationOffset'", e);
		}
	}
	if (!st)
		st = col_commit(c, e);
	if (st) {
		col_close(c);
		return st;
	}
	if (legacy)
		return col_close_downgraded(c, e);
	col_close(c);
	return ST_OK;
}

/* The tiny schema 11 collection whose one note asks the user to update
 * (page size 512, journal mode delete, as Anki writes it). */
static enum status write_dummy(const char *path, struct errinfo *e)
{
	enum status st = col_create(path, 0, e);
	struct col *c = NULL;
	if (!st)
		st = col_open(path, 0, &c, e);
	if (!st)
		st = col_exec(c, "pragma synchronous = off", e);
	if (st) {
		col_close(c);
		return st;
	}
	int64_t mid = 0;
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(col_db(c), "select id from notetypes where name = 'Basic'", -1, &q,
	                       NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			mid = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	if (!mid)
		st = errinfo_set(e, ST_INTERNAL, "a new collection has no Basic notetype");
	struct note n = {.mid = mid};
	n.flds = strdup(DUMMY_TEXT "\x1f");
	if (!st && !n.flds)
		st = errinfo_set(e, ST_NOMEM, "out of memory");
	if (!st)
		st = col_begin(c, e);
	if (!st)
		st = col_note_add(c, &n, e);
	int64_t pos = 0;
	if (!st)
		st = col_next_position(c, &pos, e);
	struct card cd;
	card_init_new(&cd, n.id, 1, 0, pos);
	if (!st)
		st = col_card_add(c, &cd, e);
	card_free(&cd);
	note_free(&n);
	if (!st)
		st = col_commit(c, e);
	if (st) {
		col_close(c);
		return st;
	}
	st = col_close_downgraded(c, e);
	if (st)
		return st;
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "pragma page_size = 512; vacuum;", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		st = col_sqlite_err(db, rc, e, "shrinking the dummy collection");
	sqlite3_close(db);
	return st;
}

/* ---- the archive ---------------------------------------------------------- */

struct map_ctx {
	struct pkg_media_entry *v;
	uint64_t *sizes;
	size_t n;
	bool legacy;
};

static enum status make_map(void *ctx, struct buf *out, struct errinfo *e)
{
	struct map_ctx *m = ctx;
	for (size_t i = 0; i < m->n; i++) {
		/* Anki stores sizes as u32 and writes 0 for larger files */
		m->v[i].size = m->sizes[i] <= UINT32_MAX ? (uint32_t)m->sizes[i] : 0;
		m->v[i].has_sha1 = true;
	}
	if (m->legacy)
		return pkg_media_map_encode(m->v, m->n, true, out, e);
	struct buf raw;
	buf_init(&raw, 0);
	enum status st = pkg_media_map_encode(m->v, m->n, false, &raw, e);
	if (!st)
		st = zstdio_compress(raw.data ? raw.data : (const unsigned char *)"", raw.len,
		                     ZSTDIO_LEVEL, out, e);
	buf_free(&raw);
	return st;
}

enum status pkg_export(struct col *c, const struct pkg_export_opts *o, struct pkg_export_result *r,
                       struct errinfo *e)
{
	memset(r, 0, sizeof *r);
	if (!o || !o->out_path || !*o->out_path)
		return errinfo_set(e, ST_INVALID, "no output path given");
	int64_t *dids = NULL;
	size_t nd = 0;
	enum status st = ST_OK;
	if (o->deck_id && o->with_children) {
		st = col_decks_with_children(c, o->deck_id, &dids, &nd, e);
	} else if (o->deck_id) {
		struct deck dk;
		st = col_load_deck(c, o->deck_id, &dk, e);
		deck_free(&dk);
		if (!st) {
			dids = malloc(sizeof *dids);
			if (!dids) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
			} else {
				dids[0] = o->deck_id;
				nd = 1;
			}
		}
	}
	if (st) {
		free(dids);
		return st == ST_NOTFOUND
		           ? errinfo_set(e, ST_NOTFOUND, "no deck %lld", (long long)o->deck_id)
		           : st;
	}
	struct pkg_data d;
	st = pkg_gather(c, o->deck_id ? dids : NULL, nd, o->with_scheduling, o->with_deck_configs,
	                &d, e);
	free(dids);
	if (st)
		return st;

	struct names nm = {0};
	struct pkg_media_entry *media = NULL;
	size_t nmedia = 0;
	uint64_t *sizes = NULL;
	char mdir[MAX_PATH_BYTES];
	char *tmp = NULL;
	if (o->with_media) {
		st = pkg_media_dir(c, o->media_dir, mdir, sizeof mdir, e);
		if (!st)
			st = gather_media_names(&d, &nm, e);
		if (!st)
			st = select_media(mdir, &nm, &media, &nmedia, e);
		if (!st && nmedia && !(sizes = calloc(nmedia, sizeof *sizes)))
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	char colpath[MAX_PATH_BYTES], dummy[MAX_PATH_BYTES];
	if (!st)
		st = pkg_tmpdir(&tmp, e);
	if (!st) {
		snprintf(colpath, sizeof colpath, "%s/collection.anki2", tmp);
		snprintf(dummy, sizeof dummy, "%s/dummy.anki2", tmp);
		st = write_collection(&d, colpath, o->legacy, e);
	}
	if (!st)
		st = write_dummy(dummy, e);

	struct pkg_zw *w = NULL;
	struct map_ctx mc = {media, sizes, nmedia, o->legacy};
	if (!st)
		st = pkg_zw_open(o->out_path, &w, e);
	if (!st) {
		const unsigned char meta[2] = {0x08, o->legacy ? PKG_VERSION_LEGACY2
		                                               : PKG_VERSION_LATEST};
		st = pkg_zw_add_buf(w, "meta", meta, sizeof meta, false, e);
	}
	if (!st)
		st = pkg_zw_add_file(w, o->legacy ? "collection.anki21" : "collection.anki21b",
		                     colpath, o->legacy, !o->legacy, NULL, NULL, e);
	if (!st)
		st = pkg_zw_add_file(w, "collection.anki2", dummy, false, false, NULL, NULL, e);
	for (size_t i = 0; i < nmedia && !st; i++) {
		char member[24];
		snprintf(member, sizeof member, "%zu", i);
		st = pkg_zw_add_file(w, member, media[i].target, false, !o->legacy,
		                     o->legacy ? NULL : media[i].sha1, &sizes[i], e);
	}
	if (!st)
		st = pkg_zw_add_late(w, "media", make_map, &mc, e);
	if (!st) {
		st = pkg_zw_close(w, e);
		w = NULL;
	}
	pkg_zw_abort(w);
	if (!st) {
		r->notes = d.nnotes;
		r->cards = d.ncards;
		r->revlog = d.nrevlog;
		r->decks = d.ndecks;
		r->notetypes = d.nnotetypes;
		r->deck_configs = d.ndeckconfs;
		r->media = nmedia;
		for (size_t i = 0; i < nmedia; i++)
			r->media_bytes += sizes[i];
	}
	pkg_rmtree(tmp);
	free(tmp);
	free(sizes);
	pkg_media_entries_free(media, nmedia);
	names_free(&nm);
	pkg_data_free(&d);
	return st;
}
