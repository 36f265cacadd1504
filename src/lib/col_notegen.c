/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_notegen.c - notes with their cards: Anki's add_note, the cards an
 * edited note gains, and the first-field check (see col_notegen.h;
 * collection-format.md §6.1-6.2).
 *
 * Invariant: a note written here always has at least one card, and every
 * card of one note added in one call shares one new-queue position.
 */
#include "col_notegen.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_internal.h"
#include "col_proto.h"
#include "col_store.h"
#include "text.h"

void col_ntinfo_free(struct col_ntinfo *i)
{
	if (!i)
		return;
	notetype_free(&i->nt);
	cardgen_notetype_free(i->cg);
	free(i->cloze_fields);
	memset(i, 0, sizeof *i);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Field ords named by {{...cloze:X}} in tmpl. */
static enum status cloze_field_ords(const struct notetype *nt, const char *tmpl, uint32_t **out,
                                    size_t *n, struct errinfo *e)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0;
	const char *p = tmpl;
	while ((p = strstr(p, "{{")) != NULL) {
		const char *end = strstr(p + 2, "}}");
		if (!end)
			break;
		const char *a = p + 2;
		while (a < end && *a == '{')
			a++;
		const char *last = NULL;
		int has_cloze = 0;
		const char *seg = a;
		for (const char *q = a; q <= end; q++) {
			if (q == end || *q == ':') {
				if (q < end) {
					/* a filter name: trim and compare */
					const char *s0 = seg, *s1 = q;
					while (s0 < s1 && (*s0 == ' ' || *s0 == '\t'))
						s0++;
					while (s1 > s0 && (s1[-1] == ' ' || s1[-1] == '\t'))
						s1--;
					if (s1 - s0 == 5 && memcmp(s0, "cloze", 5) == 0)
						has_cloze = 1;
					seg = q + 1;
				} else {
					last = seg;
				}
			}
		}
		if (has_cloze && last) {
			const char *s0 = last, *s1 = end;
			while (s0 < s1 && (*s0 == ' ' || *s0 == '\t' || *s0 == '\n'))
				s0++;
			while (s1 > s0 && (s1[-1] == ' ' || s1[-1] == '\t' || s1[-1] == '\n'))
				s1--;
			for (size_t f = 0; f < nt->nfields; f++) {
				const char *fn = col_str(nt->fields[f].name);
				if (strlen(fn) == (size_t)(s1 - s0) &&
				    memcmp(fn, s0, (size_t)(s1 - s0)) == 0) {
					if (*n == cap) {
						cap = cap ? 2 * cap : 4;
						uint32_t *v = realloc(*out, cap * sizeof *v);
						if (!v)
							return errinfo_set(e, ST_NOMEM,
							                   "out of memory");
						*out = v;
					}
					(*out)[(*n)++] = (uint32_t)f;
				}
			}
		}
		p = end + 2;
	}
	if (*n > 1) {
		qsort(*out, *n, sizeof **out, cmp_u32);
		size_t k = 1;
		for (size_t i = 1; i < *n; i++)
			if ((*out)[i] != (*out)[k - 1])
				(*out)[k++] = (*out)[i];
		*n = k;
	}
	return ST_OK;
}

enum status col_ntinfo_from(struct notetype *nt, struct col_ntinfo *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	out->nt = *nt;
	memset(nt, 0, sizeof *nt);
	out->is_cloze = out->nt.cfg.kind == NOTETYPE_KIND_CLOZE;
	const char **names = calloc(out->nt.nfields + 1, sizeof *names);
	struct text_slice *q = calloc(out->nt.ntemplates + 1, sizeof *q);
	if (!names || !q) {
		free(names);
		free(q);
		col_ntinfo_free(out);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	enum status s = ST_OK;
	for (size_t i = 0; i < out->nt.nfields; i++)
		names[i] = col_str(out->nt.fields[i].name);
	for (size_t i = 0; i < out->nt.ntemplates; i++) {
		q[i].p = col_str(out->nt.templates[i].cfg.q_format);
		q[i].len = strlen(q[i].p);
	}
	if (!s)
		s = cardgen_notetype_new(names, out->nt.nfields, q, out->nt.ntemplates,
		                         out->is_cloze, &out->cg, e);
	if (!s && out->is_cloze && out->nt.ntemplates > 0)
		s = cloze_field_ords(&out->nt, col_str(out->nt.templates[0].cfg.q_format),
		                     &out->cloze_fields, &out->ncloze_fields, e);
	free(names);
	free(q);
	if (s)
		col_ntinfo_free(out);
	return s;
}

enum status col_ntinfo_load(struct col *c, int64_t mid, struct col_ntinfo *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	struct notetype nt;
	enum status s = col_load_notetype(c, mid, &nt, e);
	if (s)
		return s;
	return col_ntinfo_from(&nt, out, e);
}

/* ---- the first-field check ---- */

static bool has_cloze(const char *p, size_t len)
{
	/* every cloze opens with "{{c"; most fields have none, and the full
	 * scan below is not cheap (it tracks all 65,536 numbers) */
	if (!memmem(p, len, "{{c", 3))
		return false;
	struct text_slice f = {p, len};
	uint16_t *nums = NULL;
	size_t n = 0;
	if (cardgen_cloze_numbers(&f, 1, &nums, &n, NULL))
		return false;
	free(nums);
	return n > 0;
}

static bool trimmed_empty(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t adv;
		int32_t cp = text_utf8_decode((const unsigned char *)s + i, len - i, &adv);
		if (!text_is_white_space(cp))
			return false;
		i += adv;
	}
	return true;
}

static bool in_u32(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static enum status is_duplicate(struct col *c, const struct note *n, const char *stripped,
                                size_t slen, bool *dup, struct errinfo *e)
{
	/* "+mid": without ANALYZE statistics SQLite may otherwise pick the mid
	 * index and scan every note of the notetype instead of the checksum
	 * index */
	static const char sql[] =
	    "select id, field_at_index(flds, 0) from notes where csum = ?1 and +mid = ?2";
	*dup = false;
	uint32_t csum = text_checksum_stripped(stripped, slen);
	sqlite3_stmt *st;
	enum status s0 = col_stmt(c, sql, &st, e); /* cached: Yomitan asks this a lot */
	if (s0)
		return s0;
	sqlite3_bind_int64(st, 1, (int64_t)csum);
	sqlite3_bind_int64(st, 2, n->mid);
	struct buf other;
	buf_init(&other, 0);
	enum status s = ST_OK;
	int rc = SQLITE_DONE;
	while (!s && !*dup && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) == n->id)
			continue;
		const char *f = (const char *)sqlite3_column_text(st, 1);
		size_t fl = (size_t)sqlite3_column_bytes(st, 1);
		s = text_strip_html_preserving_media(f ? f : "", fl, &other, e);
		if (!s && other.len == slen && memcmp(other.data, stripped, slen) == 0)
			*dup = true;
	}
	if (!s && !*dup && rc != SQLITE_DONE)
		s = col_sqlite_err(col_db(c), rc, e, "checking duplicates");
	sqlite3_reset(st);
	buf_free(&other);
	return s;
}

enum status col_note_fields_check(struct col *c, const struct col_ntinfo *nt, const struct note *n,
                                  enum col_fields_state *out, struct errinfo *e)
{
	*out = COL_FIELDS_NORMAL;
	const char *flds = col_str(n->flds);
	struct text_slice *f = NULL;
	size_t nf = 0;
	enum status s = text_fields_split(flds, strlen(flds), 0, &f, &nf, e);
	if (s)
		return s;
	enum col_fields_state cloze = COL_FIELDS_NORMAL;
	if (nt->is_cloze) {
		bool any = false;
		for (size_t i = 0; i < nf; i++) {
			bool hc = has_cloze(f[i].p, f[i].len);
			if (hc && !in_u32(nt->cloze_fields, nt->ncloze_fields, (uint32_t)i)) {
				cloze = COL_FIELDS_FIELD_NOT_CLOZE;
				break;
			}
			if (hc)
				any = true;
		}
		if (cloze == COL_FIELDS_NORMAL && !any)
			cloze = COL_FIELDS_MISSING_CLOZE;
	} else {
		for (size_t i = 0; i < nf; i++)
			if (has_cloze(f[i].p, f[i].len)) {
				cloze = COL_FIELDS_NOTETYPE_NOT_CLOZE;
				break;
			}
	}
	if (cloze == COL_FIELDS_FIELD_NOT_CLOZE) {
		free(f);
		*out = cloze;
		return ST_OK;
	}
	struct buf clean, stripped;
	buf_init(&clean, 0);
	buf_init(&stripped, 0);
	s = text_field_clean(f[0].p, f[0].len, true, &clean, e);
	if (!s)
		s = text_strip_html_preserving_media((const char *)clean.data, clean.len, &stripped,
		                                     e);
	free(f);
	if (!s) {
		if (trimmed_empty((const char *)stripped.data, stripped.len)) {
			*out = COL_FIELDS_EMPTY;
		} else if (cloze != COL_FIELDS_NORMAL) {
			*out = cloze;
		} else {
			bool dup = false;
			s = is_duplicate(c, n, (const char *)stripped.data, stripped.len, &dup, e);
			if (!s && dup)
				*out = COL_FIELDS_DUPLICATE;
		}
	}
	buf_free(&clean);
	buf_free(&stripped);
	return s;
}

/* ---- cards ---- */

/* Is did a normal deck?  *conf gets its preset. */
static enum status deck_normal(struct col *c, int64_t did, bool *ok, int64_t *conf,
                               struct errinfo *e)
{
	*ok = false;
	*conf = 1;
	static const char sql[] = "select kind from decks where id = ?1";
	sqlite3_stmt *st;
	enum status s0 = col_stmt(c, sql, &st, e);
	if (s0)
		return s0;
	sqlite3_bind_int64(st, 1, did);
	int rc = sqlite3_step(st);
	enum status s = ST_OK;
	if (rc == SQLITE_ROW) {
		struct deck_kind k;
		if (deck_kind_decode(sqlite3_column_blob(st, 0),
		                     (size_t)sqlite3_column_bytes(st, 0), &k, NULL) == ST_OK) {
			*ok = k.type == DECK_KIND_NORMAL;
			*conf = k.normal.config_id;
			deck_kind_free(&k);
		}
	} else if (rc != SQLITE_DONE) {
		s = col_sqlite_err(col_db(c), rc, e, "reading a deck");
	}
	sqlite3_reset(st);
	return s;
}

/* The deck a new card of template ord goes to. */
static enum status card_deck(struct col *c, const struct col_ntinfo *nt, uint32_t ord,
                             int64_t fallback, int64_t *did, struct errinfo *e)
{
	*did = fallback;
	if (!nt->is_cloze && ord < nt->nt.ntemplates &&
	    nt->nt.templates[ord].cfg.target_deck_id > 0) {
		bool ok;
		int64_t conf;
		enum status s =
		    deck_normal(c, nt->nt.templates[ord].cfg.target_deck_id, &ok, &conf, e);
		if (s)
			return s;
		if (ok)
			*did = nt->nt.templates[ord].cfg.target_deck_id;
	}
	return ST_OK;
}

static enum status new_position(struct col *c, int64_t conf, int64_t *pos, struct errinfo *e)
{
	enum status s = col_next_position(c, pos, e);
	if (s)
		return s;
	struct deckconf dc;
	if (col_load_deckconf(c, conf, &dc, NULL) == ST_OK) {
		if (dc.cfg.new_card_insert_order == 1) {
			uint32_t r = 0;
			int64_t top = *pos > 1000 ? *pos : 1000;
			if (RAND_bytes((unsigned char *)&r, sizeof r) == 1)
				*pos = 1 + (int64_t)(r % (uint32_t)(top - 1));
		}
		deckconf_free(&dc);
	}
	return ST_OK;
}

static enum status set_config_id(struct col *c, const char *key, int64_t v, struct errinfo *e)
{
	json_t *j = json_integer(v);
	if (!j)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	enum status s = col_config_set(c, key, j, e);
	json_decref(j);
	return s;
}

static enum status gen_ords(const struct col_ntinfo *nt, const struct note *n,
                            struct cardgen_ords *ords, struct errinfo *e)
{
	const char *flds = col_str(n->flds);
	struct text_slice *f = NULL;
	size_t nf = 0;
	enum status s = text_fields_split(flds, strlen(flds), 0, &f, &nf, e);
	if (s)
		return s;
	const char *tags = col_str(n->tags);
	bool has_tags = false;
	for (const char *p = tags; *p; p++)
		if (*p != ' ')
			has_tags = true;
	s = cardgen_cards(nt->cg, f, nf, has_tags, ords, e);
	free(f);
	return s;
}

enum status col_notegen_add(struct col *c, const struct col_ntinfo *nt, struct note *n, int64_t did,
                            struct errinfo *e)
{
	n->mid = nt->nt.id;
	enum status s = col_note_add(c, n, e);
	if (s)
		return s;
	struct cardgen_ords ords;
	memset(&ords, 0, sizeof ords);
	s = gen_ords(nt, n, &ords, e);
	if (s)
		return s;
	bool ok;
	int64_t conf;
	s = deck_normal(c, did, &ok, &conf, e);
	if (!s && !ok) {
		did = 1;
		s = deck_normal(c, did, &ok, &conf, e);
	}
	int64_t pos = 0;
	if (!s)
		s = new_position(c, conf, &pos, e);
	uint32_t zero = 0;
	const uint32_t *v = ords.n ? ords.v : &zero;
	size_t nv = ords.n ? ords.n : 1;
	for (size_t i = 0; i < nv && !s; i++) {
		int64_t cdid;
		s = card_deck(c, nt, v[i], did, &cdid, e);
		if (s)
			break;
		struct card cd;
		card_init_new(&cd, n->id, cdid, (int32_t)v[i], pos);
		s = col_card_add(c, &cd, e);
		card_free(&cd);
	}
	cardgen_ords_free(&ords);
	char key[64];
	if (!s) {
		snprintf(key, sizeof key, "_nt_%lld_lastDeck", (long long)nt->nt.id);
		s = set_config_id(c, key, did, e);
	}
	if (!s) {
		snprintf(key, sizeof key, "_deck_%lld_lastNotetype", (long long)did);
		s = set_config_id(c, key, nt->nt.id, e);
	}
	if (!s)
		s = set_config_id(c, "curModel", nt->nt.id, e);
	return s;
}

enum status col_notegen_missing_cards(struct col *c, const struct col_ntinfo *nt,
                                      const struct note *n, int64_t did_hint, size_t *added,
                                      struct errinfo *e)
{
	if (added)
		*added = 0;
	struct cardgen_ords ords;
	memset(&ords, 0, sizeof ords);
	enum status s = gen_ords(nt, n, &ords, e);
	if (s)
		return s;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
	    col_db(c), "select ord, did, odid, type, due, odue from cards where nid = ?1", -1, &st,
	    NULL);
	if (rc != SQLITE_OK) {
		cardgen_ords_free(&ords);
		return col_sqlite_err(col_db(c), rc, e, "reading cards");
	}
	sqlite3_bind_int64(st, 1, n->id);
	bool *have = calloc(ords.n + 1, sizeof *have);
	int64_t home = 0;
	bool one_home = true, any = false, have_pos = false;
	int64_t pos = 0;
	if (!have) {
		sqlite3_finalize(st);
		cardgen_ords_free(&ords);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t ord = sqlite3_column_int64(st, 0);
		int64_t d = sqlite3_column_int64(st, 1), od = sqlite3_column_int64(st, 2);
		int64_t h = od ? od : d;
		if (!any)
			home = h;
		else if (h != home)
			one_home = false;
		any = true;
		if (sqlite3_column_int(st, 3) == 0 && !have_pos) {
			have_pos = true;
			pos = od ? sqlite3_column_int64(st, 5) : sqlite3_column_int64(st, 4);
		}
		for (size_t i = 0; i < ords.n; i++)
			if ((int64_t)ords.v[i] == ord)
				have[i] = true;
	}
	if (!s && rc != SQLITE_DONE)
		s = col_sqlite_err(col_db(c), rc, e, "reading cards");
	sqlite3_finalize(st);
	int64_t did = any && one_home ? home : (did_hint ? did_hint : 1);
	bool ok = false;
	int64_t conf = 1;
	size_t missing = 0;
	for (size_t i = 0; i < ords.n; i++)
		if (!have[i])
			missing++;
	if (!s && missing) {
		s = deck_normal(c, did, &ok, &conf, e);
		if (!s && !ok) {
			did = 1;
			s = deck_normal(c, did, &ok, &conf, e);
		}
		if (!s && !have_pos)
			s = new_position(c, conf, &pos, e);
	}
	for (size_t i = 0; i < ords.n && !s; i++) {
		if (have[i])
			continue;
		int64_t cdid;
		s = card_deck(c, nt, ords.v[i], did, &cdid, e);
		if (s)
			break;
		struct card cd;
		card_init_new(&cd, n->id, cdid, (int32_t)ords.v[i], pos);
		s = col_card_add(c, &cd, e);
		card_free(&cd);
		if (!s && added)
			(*added)++;
	}
	free(have);
	cardgen_ords_free(&ords);
	return s;
}
