/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_model.c - freeing, defaults and validity fixes of the collection
 * objects (col_model.h), and deck name conversion between the human
 * ("A::B") and native ("A\x1fB") forms (collection-format.md 2.9, 2.10,
 * 3.3, 5.2).  Defaults are the values Anki's constructors use; the
 * defaults test checks the preset against the fixture blob byte for byte.
 */
#include "col_model.h"

#include <math.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- freeing ---- */

void f32_list_free(struct f32_list *l)
{
	if (!l)
		return;
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void card_requirement_free(struct card_requirement *r)
{
	if (!r)
		return;
	free(r->field_ords);
	pb_bytes_free(&r->unknown);
	memset(r, 0, sizeof *r);
}

void notetype_config_free(struct notetype_config *c)
{
	if (!c)
		return;
	free(c->css);
	free(c->latex_pre);
	free(c->latex_post);
	for (size_t i = 0; i < c->nreqs; i++)
		card_requirement_free(&c->reqs[i]);
	free(c->reqs);
	pb_bytes_free(&c->other);
	pb_bytes_free(&c->unknown);
	memset(c, 0, sizeof *c);
}

void field_config_free(struct field_config *c)
{
	if (!c)
		return;
	free(c->font_name);
	free(c->description);
	pb_bytes_free(&c->other);
	pb_bytes_free(&c->unknown);
	memset(c, 0, sizeof *c);
}

void template_config_free(struct template_config *c)
{
	if (!c)
		return;
	free(c->q_format);
	free(c->a_format);
	free(c->q_format_browser);
	free(c->a_format_browser);
	free(c->browser_font_name);
	pb_bytes_free(&c->other);
	pb_bytes_free(&c->unknown);
	memset(c, 0, sizeof *c);
}

void deck_common_free(struct deck_common *c)
{
	if (!c)
		return;
	pb_bytes_free(&c->other);
	pb_bytes_free(&c->unknown);
	memset(c, 0, sizeof *c);
}

void deck_day_limit_free(struct deck_day_limit *d)
{
	if (!d)
		return;
	pb_bytes_free(&d->unknown);
	memset(d, 0, sizeof *d);
}

void deck_normal_free(struct deck_normal *n)
{
	if (!n)
		return;
	free(n->description);
	deck_day_limit_free(&n->review_limit_today);
	deck_day_limit_free(&n->new_limit_today);
	pb_bytes_free(&n->unknown);
	memset(n, 0, sizeof *n);
}

void deck_search_term_free(struct deck_search_term *t)
{
	if (!t)
		return;
	free(t->search);
	pb_bytes_free(&t->unknown);
	memset(t, 0, sizeof *t);
}

void deck_filtered_free(struct deck_filtered *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nsearch_terms; i++)
		deck_search_term_free(&f->search_terms[i]);
	free(f->search_terms);
	free(f->delays);
	pb_bytes_free(&f->unknown);
	memset(f, 0, sizeof *f);
}

void deck_kind_free(struct deck_kind *k)
{
	if (!k)
		return;
	deck_normal_free(&k->normal);
	deck_filtered_free(&k->filtered);
	pb_bytes_free(&k->unknown);
	memset(k, 0, sizeof *k);
}

void deckconf_config_free(struct deckconf_config *c)
{
	if (!c)
		return;
	f32_list_free(&c->learn_steps);
	f32_list_free(&c->relearn_steps);
	f32_list_free(&c->fsrs_params_4);
	f32_list_free(&c->fsrs_params_5);
	f32_list_free(&c->fsrs_params_6);
	f32_list_free(&c->easy_days_percentages);
	free(c->param_search);
	free(c->ignore_revlogs_before_date);
	pb_bytes_free(&c->other);
	pb_bytes_free(&c->unknown);
	memset(c, 0, sizeof *c);
}

void nt_field_free(struct nt_field *f)
{
	if (!f)
		return;
	free(f->name);
	field_config_free(&f->cfg);
	memset(f, 0, sizeof *f);
}

void nt_template_free(struct nt_template *t)
{
	if (!t)
		return;
	free(t->name);
	template_config_free(&t->cfg);
	memset(t, 0, sizeof *t);
}

void notetype_free(struct notetype *nt)
{
	if (!nt)
		return;
	free(nt->name);
	notetype_config_free(&nt->cfg);
	for (size_t i = 0; i < nt->nfields; i++)
		nt_field_free(&nt->fields[i]);
	free(nt->fields);
	for (size_t i = 0; i < nt->ntemplates; i++)
		nt_template_free(&nt->templates[i]);
	free(nt->templates);
	memset(nt, 0, sizeof *nt);
}

void deck_free(struct deck *d)
{
	if (!d)
		return;
	free(d->name);
	deck_common_free(&d->common);
	deck_kind_free(&d->kind);
	memset(d, 0, sizeof *d);
}

void deckconf_free(struct deckconf *dc)
{
	if (!dc)
		return;
	free(dc->name);
	deckconf_config_free(&dc->cfg);
	memset(dc, 0, sizeof *dc);
}

/* ---- defaults ---- */

static enum status f32_list_set(struct f32_list *l, const float *v, size_t n, struct errinfo *e)
{
	l->v = malloc(n * sizeof *v);
	if (!l->v) {
		l->n = 0;
		return errinfo_set(e, ST_NOMEM, "cannot allocate %zu floats", n);
	}
	memcpy(l->v, v, n * sizeof *v);
	l->n = n;
	return ST_OK;
}

/* The scalar defaults shared by DeckConfig::default() and the validity
 * fixes (Anki's DEFAULT_DECK_CONFIG_INNER). */
static void deckconf_scalar_defaults(struct deckconf_config *c)
{
	c->new_per_day = 20;
	c->reviews_per_day = 200;
	c->new_per_day_minimum = 0;
	c->initial_ease = 2.5f;
	c->easy_multiplier = 1.3f;
	c->hard_multiplier = 1.2f;
	c->lapse_multiplier = 0.0f;
	c->interval_multiplier = 1.0f;
	c->maximum_review_interval = 36500;
	c->minimum_lapse_interval = 1;
	c->graduating_interval_good = 1;
	c->graduating_interval_easy = 4;
	c->new_card_insert_order = 0; /* due */
	c->new_card_gather_priority = 0;
	c->new_card_sort_order = 0;
	c->review_order = 0;
	c->new_mix = 0;
	c->interday_learning_mix = 0;
	c->leech_action = 1; /* tag only */
	c->leech_threshold = 8;
	c->disable_autoplay = false;
	c->cap_answer_time_to_secs = 60;
	c->show_timer = false;
	c->stop_timer_on_answer = false;
	c->seconds_to_show_question = 0.0f;
	c->seconds_to_show_answer = 0.0f;
	c->question_action = 0;
	c->answer_action = 0;
	c->wait_for_audio = true;
	c->skip_question_when_replaying_answer = false;
	c->bury_new = false;
	c->bury_reviews = false;
	c->bury_interday_learning = false;
	c->desired_retention = 0.9f;
	c->historical_retention = 0.9f;
}

enum status deckconf_config_default(struct deckconf_config *out, struct errinfo *e)
{
	static const float learn[] = {1.0f, 10.0f};
	static const float relearn[] = {10.0f};
	static const float easy_days[] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
	memset(out, 0, sizeof *out);
	deckconf_scalar_defaults(out);
	enum status st = f32_list_set(&out->learn_steps, learn, 2, e);
	if (!st)
		st = f32_list_set(&out->relearn_steps, relearn, 1, e);
	if (!st)
		st = f32_list_set(&out->easy_days_percentages, easy_days, 7, e);
	if (st)
		deckconf_config_free(out);
	return st;
}

void deck_common_default_normal(struct deck_common *out)
{
	memset(out, 0, sizeof *out);
	out->study_collapsed = true;
	out->browser_collapsed = true;
}

void deck_kind_new_normal(struct deck_kind *out)
{
	memset(out, 0, sizeof *out);
	out->type = DECK_KIND_NORMAL;
	out->normal.config_id = 1;
}

enum status deck_kind_new_filtered(struct deck_kind *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	struct deck_search_term *t = calloc(2, sizeof *t);
	if (!t)
		return errinfo_set(e, ST_NOMEM, "cannot allocate search terms");
	t[0].limit = 100;
	t[0].order = SEARCH_ORDER_RANDOM;
	t[1].limit = 20;
	t[1].order = SEARCH_ORDER_DUE;
	out->type = DECK_KIND_FILTERED;
	out->filtered.reschedule = true;
	out->filtered.search_terms = t;
	out->filtered.nsearch_terms = 2;
	out->filtered.preview_again_secs = 60;
	out->filtered.preview_hard_secs = 600;
	return ST_OK;
}

static enum status random_i64(int64_t *out, struct errinfo *e)
{
	unsigned char b[8];
	if (RAND_bytes(b, sizeof b) != 1)
		return errinfo_set(e, ST_INTERNAL, "RAND_bytes failed");
	uint64_t u;
	memcpy(&u, b, sizeof u);
	*out = (int64_t)u;
	return ST_OK;
}

static enum status dup_str(char **out, const char *s, struct errinfo *e)
{
	*out = strdup(s ? s : "");
	if (!*out)
		return errinfo_set(e, ST_NOMEM, "cannot copy a string");
	return ST_OK;
}

enum status field_config_new(struct field_config *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	out->font_size = 20;
	out->has_id = true;
	enum status st = random_i64(&out->id, e);
	if (!st)
		st = dup_str(&out->font_name, "Arial", e);
	if (st)
		field_config_free(out);
	return st;
}

enum status template_config_new(struct template_config *out, const char *q_format,
                                const char *a_format, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	out->has_id = true;
	enum status st = random_i64(&out->id, e);
	if (!st)
		st = dup_str(&out->q_format, q_format, e);
	if (!st)
		st = dup_str(&out->a_format, a_format, e);
	if (st)
		template_config_free(out);
	return st;
}

static void fix_u32(uint32_t *v, uint32_t def, uint32_t min, uint32_t max)
{
	if (*v < min || *v > max)
		*v = def;
}

static void fix_f32(float *v, float def, float min, float max)
{
	if (isnan(*v) || *v < min || *v > max)
		*v = def;
}

void deckconf_config_fix_ranges(struct deckconf_config *c)
{
	struct deckconf_config d;
	memset(&d, 0, sizeof d);
	deckconf_scalar_defaults(&d);
	fix_u32(&c->new_per_day, d.new_per_day, 0, 9999);
	fix_u32(&c->reviews_per_day, d.reviews_per_day, 0, 9999);
	fix_u32(&c->new_per_day_minimum, d.new_per_day_minimum, 0, 9999);
	fix_f32(&c->initial_ease, d.initial_ease, 1.31f, 5.0f);
	fix_f32(&c->easy_multiplier, d.easy_multiplier, 1.0f, 5.0f);
	fix_f32(&c->hard_multiplier, d.hard_multiplier, 0.5f, 1.3f);
	fix_f32(&c->lapse_multiplier, d.lapse_multiplier, 0.0f, 1.0f);
	fix_f32(&c->interval_multiplier, d.interval_multiplier, 0.5f, 2.0f);
	fix_u32(&c->maximum_review_interval, d.maximum_review_interval, 1, 36500);
	fix_u32(&c->minimum_lapse_interval, d.minimum_lapse_interval, 1, 36500);
	fix_u32(&c->graduating_interval_good, d.graduating_interval_good, 1, 36500);
	fix_u32(&c->graduating_interval_easy, d.graduating_interval_easy, 1, 36500);
	fix_u32(&c->leech_threshold, d.leech_threshold, 1, 9999);
	fix_u32(&c->cap_answer_time_to_secs, d.cap_answer_time_to_secs, 1, 9999);
	fix_f32(&c->desired_retention, d.desired_retention, 0.7f, 0.99f);
	fix_f32(&c->historical_retention, d.historical_retention, 0.7f, 0.97f);
}

/* ---- deck names ---- */

/* Decode one UTF-8 code point at s[*i] (input already validated). */
static uint32_t next_cp(const unsigned char *s, size_t *i)
{
	unsigned char c = s[*i];
	size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
	uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);
	for (size_t k = 1; k < n; k++)
		cp = cp << 6 | (s[*i + k] & 0x3fu);
	*i += n;
	return cp;
}

/* Rust's char::is_whitespace (the Unicode White_Space property). */
static bool is_unicode_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 ||
	       cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

static bool is_trimmed(uint32_t cp)
{
	return cp == ':' || is_unicode_space(cp);
}

/* Normalise one component [p, p+len) and append it to out. */
static enum status append_component(struct buf *out, const char *p, size_t len, struct errinfo *e)
{
	char *tmp = strndup(p, len);
	if (!tmp)
		return errinfo_set(e, ST_NOMEM, "cannot copy a deck name");
	unsigned char *nfc = utf8proc_NFC((const utf8proc_uint8_t *)tmp);
	free(tmp);
	if (!nfc)
		return errinfo_set(e, ST_NOMEM, "cannot normalise a deck name");
	/* Drop ASCII control characters (they include the \x1f separator). */
	size_t w = 0;
	for (size_t r = 0; nfc[r]; r++)
		if (!(nfc[r] < 0x20 || nfc[r] == 0x7f))
			nfc[w++] = nfc[r];
	nfc[w] = '\0';
	size_t start = 0, end = 0, i = 0;
	bool seen = false;
	while (i < w) {
		size_t at = i;
		uint32_t cp = next_cp(nfc, &i);
		if (is_trimmed(cp))
			continue;
		if (!seen)
			start = at;
		seen = true;
		end = i;
	}
	enum status st;
	if (!seen)
		st = buf_append_str(out, "blank", e);
	else
		st = buf_append(out, nfc + start, end - start, e);
	free(nfc);
	return st;
}

enum status deck_name_native_from_human(const char *human, char **out, struct errinfo *e)
{
	*out = NULL;
	if (!human)
		human = "";
	size_t n = strlen(human);
	if (!pb_utf8_valid((const uint8_t *)human, n))
		return errinfo_set(e, ST_INVALID, "deck name is not valid UTF-8");
	struct buf b;
	buf_init(&b, 0);
	const char *p = human;
	enum status st = ST_OK;
	for (;;) {
		const char *sep = strstr(p, "::");
		size_t len = sep ? (size_t)(sep - p) : strlen(p);
		st = append_component(&b, p, len, e);
		if (st || !sep)
			break;
		st = buf_append(&b, "\x1f", 1, e);
		if (st)
			break;
		p = sep + 2;
	}
	if (st) {
		buf_free(&b);
		return st;
	}
	size_t len;
	*out = (char *)buf_steal(&b, &len);
	return ST_OK;
}

char *deck_name_human_from_native(const char *native)
{
	if (!native)
		native = "";
	size_t extra = 0;
	for (const char *p = native; *p; p++)
		extra += *p == '\x1f';
	size_t n = strlen(native);
	char *out = malloc(n + extra + 1);
	if (!out)
		return NULL;
	char *w = out;
	for (const char *p = native; *p; p++) {
		if (*p == '\x1f') {
			*w++ = ':';
			*w++ = ':';
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return out;
}
