/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_proto.c - the protobuf messages of Anki's blob columns
 * (collection-format.md 2.5-2.10) on top of pb.c.  Each message has a
 * *_merge() decoder (protobuf merge semantics, so embedded messages seen
 * twice combine) and an encoder writing fields in ascending number order,
 * which is the order prost uses and the fixtures show.  Invariant: on any
 * error the target struct is freed by the public wrapper, so partial
 * allocations never leak.
 */
#include "col_proto.h"

#include <stdlib.h>
#include <string.h>

#include "pb.h"

/* ---- decoding helpers ---- */

/* Grow an array of elem-sized structs by one zeroed slot at index *n. */
static enum status push_slot(void **arr, size_t *n, size_t elem, struct errinfo *e)
{
	if (*n >= SIZE_MAX / elem - 1)
		return errinfo_set(e, ST_NOMEM, "too many elements");
	void *p = realloc(*arr, (*n + 1) * elem);
	if (!p)
		return errinfo_set(e, ST_NOMEM, "cannot allocate %zu bytes", (*n + 1) * elem);
	memset((char *)p + *n * elem, 0, elem);
	*arr = p;
	(*n)++;
	return ST_OK;
}

static enum status keep_unknown(struct pb_bytes *unknown, const struct pb_field *f,
                                struct errinfo *e)
{
	return pb_bytes_append(unknown, f->raw, f->raw_len, e);
}

/* Iterate over the records of p[0..n) into f; the body (a switch setting
 * st) runs once per record; the loop ends at the end of input or when st
 * is set by the reader or the body. */
#define FOR_EACH_FIELD(p, n, f, st, e)                                                             \
	struct pb_reader r_;                                                                       \
	pb_reader_init(&r_, (p), (n));                                                             \
	for (bool more_ = true;;)                                                                  \
		if (((st) = pb_reader_next(&r_, &(f), &more_, (e))) != ST_OK || !more_)            \
			break;                                                                     \
		else

/* ---- Notetype.Config ---- */

static enum status card_requirement_merge(const uint8_t *p, size_t n, struct card_requirement *c,
                                          struct errinfo *e)
{
	struct pb_field f;
	enum status st = ST_OK;
	FOR_EACH_FIELD(p, n, f, st, e)
	{
		switch (f.num) {
		case 1:
			st = pb_get_uint32(&f, &c->card_ord, e);
			break;
		case 2:
			st = pb_get_int32(&f, &c->kind, e);
			break;
		case 3:
			st = pb_get_repeated_uint32(&f, &c->field_ords, &c->nfield_ords, e);
			break;
		default:
			st = keep_unknown(&c->unknown, &f, e);
			break;
		}
		if (st)
			break;
	}
	return st;
}

static enum status notetype_config_merge(const uint8_t *p, size_t n, struct notetype_config *c,
                                         struct errinfo *e)
{
	struct pb_field f;
	enum status st = ST_OK;
	FOR_EACH_FIELD(p, n, f, st, e)
	{
		const uint8_t *d;
		size_t l;
		switch (f.num) {
		case 1:
			st = pb_get_int32(&f, &c->kind, e);
			break;
		case 2:
			st = pb_get_uint32(&f, &c->sort_field_idx, e);
			break;
		case 3:
			st = pb_get_string(&f, &c->css, e);
			break;
		case 4:
			st = pb_get_int64(&f, &c->target_deck_id_unused, e);
			break;
		case 5:
			st = pb_get_string(&f, &c->latex_pre, e);
			break;
		case 6:
			st = pb_get_string(&f, &c->latex_post, e);
			break;
		case 7:
			st = pb_get_bool(&f, &c->latex_svg, e);
			break;
		case 8:
			st = pb_get_len(&f, &d, &l, e);
			if (!st)
				st = push_slot((void **)&c->reqs, &c->nreqs, sizeof *c->reqs, e);
			if (!st)
				st = card_requirement_merge(d, l, &c->reqs[c->nreqs - 1], e);
			if (st)
				errinfo_prefix(e, "reqs[%zu]", c->nreqs ? c->nreqs - 1 : 0);
			break;
		case 9:
			st = pb_get_int32(&f, &c->original_stock_kind, e);
			break;
		case 10:
			st = pb_get_int64(&f, &c->original_id, e);
			c->has_original_id = !st;
			break;
		case 255:
			st = pb_get_bytes(&f, &c->other, e);
			break;
		default:
			st = keep_unknown(&c->unknown, &f, e);
			break;
		}
		if (st)
			break;
	}
	return st;
}

enum status notetype_config_decode(const uint8_t *p, size_t n, struct notetype_config *out,
                                   struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	enum status st = notetype_config_merge(p, n, out, e);
	if (st) {
		notetype_config_free(out);
		errinfo_prefix(e, "Notetype.Config");
	}
	return st;
}

/* ---- Field.Config ---- */

static enum status field_config_merge(const uint8_t *p, size_t n, struct field_config *c,
                                      struct errinfo *e)
{
	struct pb_field f;
	enum status st = ST_OK;
	FOR_EACH_FIELD(p, n, f, st, e)
	{
		switch (f.num) {
		case 1:
			st = pb_get_bool(&f, &c->sticky, e);
			break;
		case 2:
			st = pb_get_bool(&f, &c->rtl, e);
			break;
		case 3:
			st = pb_get_string(&f, &c->font_name, e);
			break;
		case 4:
			st = pb_get_uint32(&f, &c->font_size, e);
			break;
		case 5:
			st = pb_get_string(&f, &c->description, e);
			break;
		case 6:
			st = pb_get_bool(&f, &c->plain_text, e);
			break;
		case 7:
			st = pb_get_bool(&f, &c->collapsed, e);
			break;
		case 8:
			st = pb_get_bool(&f, &c->exclude_from_search, e);
			break;
		case 9:
			st = pb_get_int64(&f, &c->id, e);
			c->has_id = c->has_id || !st;
			break;
		case 10:
			st = pb_get_uint32(&f, &c->tag, e);
			c->has_tag = c->has_tag || !st;
			break;
		case 11:
			st = pb_get_bool(&f, &c->prevent_deletion, e);
			break;
		case 255:
			st = pb_get_bytes(&f, &c->other, e);
			break;
		default:
			st = keep_unknown(&c->unknown, &f, e);
			break;
		}
		if (st)
			break;
	}
	return st;
}

enum status field_config_decode(const uint8_t *p, size_t n, struct field_config *out,
                                struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	enum status st = field_config_merge(p, n, out, e);
	if (st) {
		field_config_free(out);
		errinfo_prefix(e, "Field.Config");
	}
	return st;
}

/* ---- Template.Config ---- */

static enum status template_config_merge(const uint8_t *p, size_t n, struct template_config *c,
                                         struct errinfo *e)
{
	struct pb_field f;
	enum status st = ST_OK;
	FOR_EACH_FIELD(p, n, f, st, e)
	{
		switch (f.num) {
		case 1:
			st = pb_get_string(&f, &c->q_format, e);
			break;
		case 2:
			st = pb_get_string(&f, &c->a_format, e);
			break;
		case 3:
			st = pb_get_string(&f, &c->q_format_browser, e);
			break;
		case 4:
			st = pb_get_string(&f, &c->a_format_browser, e);
			break;
		case 5:
			st = pb_get_int64(&f, &c->target_deck_id, e);
			break;
		case 6:
			st = pb_get_string(&f, &c->browser_font_name, e);
			break;
		case 7:
			st = pb_get_uint32(&f, &c->browser_font_size, e);
			break;
		case 8:
			st = pb_get_int64(&f, &c->id, e);
			c->has_id = c->has_id || !st;
			break;
		case 255:
			st = pb_get_bytes(&f, &c->other, e);
			break;
		default:
			st = keep_unknown(&c->unknown, &f, e);
			break;
		}
		if (st)
			break;
	}
	return st;
}

enum status template_config_decode(const uint8_t *p, size_t n, struct template_config *out,
                                   struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	enum status st = template_config_merge(p, n, out, e);
	if (st) {
		template_config_free(out);
		errinfo_prefix(e, "Template.Config");
	}
	return st;
}

/* ---- Deck.Common ---- */

static enum status deck_common_merge(const uint8_t *p, size_t n, struct deck_common *c,
                                     struct errinfo *e)
{
	struct pb_field f;
	enum status st = ST_OK;
	FOR_EACH_FIELD(p, n, f, st, e)
	{
		switch (f.num) {
		case 1:
			st = pb_get_bool(&f, &c->study_collapsed, e);
			break;
		case 2:
			st = pb_get_bool(&f, &c->browser_collapsed, e);
			break;
		case 3:
			st = pb_get_uint32(&f, &c->last_day_studied, e);
			break;
		case 4:
			st = pb_get_int32(&f, &c->new_studied, e);
			break;
		case 5:
			st = pb_get_int32(&f, &c->review_studied, e);
			break;
		case 6:
			st = pb_get_int32(&f, &c->learning_studied, e);
			break;
		case 7:
			st = pb_get_int32(&f, &c->milliseconds_studied, e);
			break;
		case 255:
			st = pb_get_bytes(&f, &c->other, e);
			break;
		default:
			st = keep_unknown(&c->unknown, &f, e);
			break;
		}
		if (st)
			break;
	}
	return st;
}

enum status deck_common_decode(const uint8_t *p, size_t n, struct deck_common *out,
                               struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	enum status st = deck_common_merge(p, n, out, e);
	if (st) {
		deck_common_free(out);
		errinfo_prefix(e, "Deck.Common");
	}
	return st;
}

/* ---- Deck.KindContainer ---- */

static enum status day_limit_merge(const uint8_t *p, size_t n, struct deck_day_limit *d,
                                   struct errinfo *e)
{
	struct pb_field f;
	enum status st = ST_OK;
	FOR_EACH_FIELD(p, n, f, st, e)
	{
		switch (f.num) {
		case 1:
			st = pb_get_uint32(&f, &d->limit, e);
			break;
		case 2:
			st = pb_get_uint32(&f, &d->today, e);
			break;
		default:
			st = keep_unknown(&d->unknown, &f, e);
			break;
		}
		if (st)
			break;
	}
	return st;
}

static enum status deck_normal_merge(const uint8_t *p, size_t n, struct deck_normal *c,
                                     struct errinfo *e)
{
	struct pb_field f;
	enum status st = ST_OK;
	FOR_EACH_FIELD(p, n, f, st, e)
	{
		const uint8_t *d;
		size_t l;
		switch (f.num) {
		case 1:
			st = pb_get_int64(&f, &c->config_id, e);
			break;
		case 2:
			st = pb_get_uint32(&f, &c->extend_new, e);
			break;
		case 3:
			st = pb_get_uint32(&f, &c->extend_review, e);
			break;
		case 4:
			st = pb_get_string(&f, &c->description, e);
			break;
		case 5:
			st = pb_get_bool(&f, &c->markdown_description, e);
			break;
		case 6:
			st = pb_get_uint32(&f, &c->review_limit, e);
			c->has_review_limit = c->has_review_limit || !st;
			break;
		case 7:
			st = pb_get_uint32(&f, &c->new_limit, e);
			c->has_new_limit = c->has_new_limit || !st;
			break;
		case 8:
			st = pb_get_len(&f, &d, &l, e);
			if (!st) {
				c->has_review_limit_today = true;
				st = day_limit_merge(d, l, &c->review_limit_today, e);
			}
			break;
		case 9:
			st = pb_get_len(&f, &d, &l, e);
			if (!st) {
				c->has_new_limit_today = true;
				st = day_limit_merge(d, l, &c->new_limit_today, e);
			}
			break;
		case 10:
			st = pb_get_float(&f, &c->desired_retention, e);
			c->has_desired_retention = c->has_desired_retention || !st;
			break;
		default:
			st = keep_unknown(&c->unknown, &f, e);
			break;
		}
		if (st)
			break;
	}
	return st;
}

static enum status search_term_merge(const uint8_t *p, size_t n, struct deck_search_term *t,
                                     struct errinfo *e)
{
	struct pb_field f;
	enum status st = ST_OK;
	FOR_EACH_FIELD(p, n, f, st, e)
	{
		switch (f.num) {
		case 1:
			st = pb_get_string(&f, &t->search, e);
			break;
		case 2:
			st = pb_get_uint32(&f, &t->limit, e);
			break;
		case 3:
			st = pb_get_int32(&f, &t->order, e);
			break;
		default:
			st = keep_unknown(&t->unknown, &f, e);
			break;
		}
		if (st)
			break;
	}
	return st;
}

static enum status deck_filtered_merge(const uint8_t *p, size_t n, struct deck_filtered *c,
                                       struct errinfo *e)
{
	struct pb_field f;
	enum status st = ST_OK;
	FOR_EACH_FIELD(p, n, f, st, e)
	{
		const uint8_t *d;
		size_t l;
		switch (f.num) {
		case 1:
			st = pb_get_bool(&f, &c->reschedule, e);
			break;
		case 2:
			st = pb_get_len(&f, &d, &l, e);
			if (!st)
				st = push_slot((void **)&c->search_terms, &c->nsearch_terms,
				               sizeof *c->search_terms, e);
			if (!st)
				st = search_term_merge(d, l, &c->search_terms[c->nsearch_terms - 1],
				                       e);
			break;
		case 3:
			st = pb_get_repeated_float(&f, &c->delays, &c->ndelays, e);
			break;
		case 4:
			st = pb_get_uint32(&f, &c->preview_delay, e);
			break;
		case 5:
			st = pb_get_uint32(&f, &c->preview_hard_secs, e);
			break;
		case 6:
			st = pb_get_uint32(&f, &c->preview_good_secs, e);
			break;
		case 7:
			st = pb_get_uint32(&f, &c->preview_again_secs, e);
			break;
		default:
			st = keep_unknown(&c->unknown, &f, e);
			break;
		}
		if (st)
			break;
	}
	return st;
}

static enum status deck_kind_merge(const uint8_t *p, size_t n, struct deck_kind *k,
                                   struct errinfo *e)
{
	struct pb_field f;
	enum status st = ST_OK;
	FOR_EACH_FIELD(p, n, f, st, e)
	{
		const uint8_t *d;
		size_t l;
		switch (f.num) {
		case 1:
			st = pb_get_len(&f, &d, &l, e);
			if (st)
				break;
			/* oneof: switching members discards the other one */
			if (k->type != DECK_KIND_NORMAL)
				deck_filtered_free(&k->filtered);
			k->type = DECK_KIND_NORMAL;
			st = deck_normal_merge(d, l, &k->normal, e);
			if (st)
				errinfo_prefix(e, "normal");
			break;
		case 2:
			st = pb_get_len(&f, &d, &l, e);
			if (st)
				break;
			if (k->type != DECK_KIND_FILTERED)
				deck_normal_free(&k->normal);
			k->type = DECK_KIND_FILTERED;
			st = deck_filtered_merge(d, l, &k->filtered, e);
			if (st)
				errinfo_prefix(e, "filtered");
			break;
		default:
			st = keep_unknown(&k->unknown, &f, e);
			break;
		}
		if (st)
			break;
	}
	return st;
}

enum status deck_kind_decode(const uint8_t *p, size_t n, struct deck_kind *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	enum status st = deck_kind_merge(p, n, out, e);
	if (!st && out->type == DECK_KIND_UNSET)
		st = errinfo_set(e, ST_CORRUPT, "invalid deck kind: neither normal nor filtered");
	if (st) {
		deck_kind_free(out);
		errinfo_prefix(e, "Deck.KindContainer");
	}
	return st;
}

/* ---- DeckConfig.Config ---- */

static enum status deckconf_config_merge(const uint8_t *p, size_t n, struct deckconf_config *c,
                                         struct errinfo *e)
{
	struct pb_field f;
	enum status st = ST_OK;
	FOR_EACH_FIELD(p, n, f, st, e)
	{
		struct f32_list *fl = NULL;
		switch (f.num) {
		case 1:
			fl = &c->learn_steps;
			break;
		case 2:
			fl = &c->relearn_steps;
			break;
		case 3:
			fl = &c->fsrs_params_4;
			break;
		case 4:
			fl = &c->easy_days_percentages;
			break;
		case 5:
			fl = &c->fsrs_params_5;
			break;
		case 6:
			fl = &c->fsrs_params_6;
			break;
		case 9:
			st = pb_get_uint32(&f, &c->new_per_day, e);
			break;
		case 10:
			st = pb_get_uint32(&f, &c->reviews_per_day, e);
			break;
		case 11:
			st = pb_get_float(&f, &c->initial_ease, e);
			break;
		case 12:
			st = pb_get_float(&f, &c->easy_multiplier, e);
			break;
		case 13:
			st = pb_get_float(&f, &c->hard_multiplier, e);
			break;
		case 14:
			st = pb_get_float(&f, &c->lapse_multiplier, e);
			break;
		case 15:
			st = pb_get_float(&f, &c->interval_multiplier, e);
			break;
		case 16:
			st = pb_get_uint32(&f, &c->maximum_review_interval, e);
			break;
		case 17:
			st = pb_get_uint32(&f, &c->minimum_lapse_interval, e);
			break;
		case 18:
			st = pb_get_uint32(&f, &c->graduating_interval_good, e);
			break;
		case 19:
			st = pb_get_uint32(&f, &c->graduating_interval_easy, e);
			break;
		case 20:
			st = pb_get_int32(&f, &c->new_card_insert_order, e);
			break;
		case 21:
			st = pb_get_int32(&f, &c->leech_action, e);
			break;
		case 22:
			st = pb_get_uint32(&f, &c->leech_threshold, e);
			break;
		case 23:
			st = pb_get_bool(&f, &c->disable_autoplay, e);
			break;
		case 24:
			st = pb_get_uint32(&f, &c->cap_answer_time_to_secs, e);
			break;
		case 25:
			st = pb_get_bool(&f, &c->show_timer, e);
			break;
		case 26:
			st = pb_get_bool(&f, &c->skip_question_when_replaying_answer, e);
			break;
		case 27:
			st = pb_get_bool(&f, &c->bury_new, e);
			break;
		case 28:
			st = pb_get_bool(&f, &c->bury_reviews, e);
			break;
		case 29:
			st = pb_get_bool(&f, &c->bury_interday_learning, e);
			break;
		case 30:
			st = pb_get_int32(&f, &c->new_mix, e);
			break;
		case 31:
			st = pb_get_int32(&f, &c->interday_learning_mix, e);
			break;
		case 32:
			st = pb_get_int32(&f, &c->new_card_sort_order, e);
			break;
		case 33:
			st = pb_get_int32(&f, &c->review_order, e);
			break;
		case 34:
			st = pb_get_int32(&f, &c->new_card_gather_priority, e);
			break;
		case 35:
			st = pb_get_uint32(&f, &c->new_per_day_minimum, e);
			break;
		case 36:
			st = pb_get_int32(&f, &c->question_action, e);
			break;
		case 37:
			st = pb_get_float(&f, &c->desired_retention, e);
			break;
		case 38:
			st = pb_get_bool(&f, &c->stop_timer_on_answer, e);
			break;
		case 40:
			st = pb_get_float(&f, &c->historical_retention, e);
			break;
		case 41:
			st = pb_get_float(&f, &c->seconds_to_show_question, e);
			break;
		case 42:
			st = pb_get_float(&f, &c->seconds_to_show_answer, e);
			break;
		case 43:
			st = pb_get_int32(&f, &c->answer_action, e);
			break;
		case 44:
			st = pb_get_bool(&f, &c->wait_for_audio, e);
			break;
		case 45:
			st = pb_get_string(&f, &c->param_search, e);
			break;
		case 46:
			st = pb_get_string(&f, &c->ignore_revlogs_before_date, e);
			break;
		case 255:
			st = pb_get_bytes(&f, &c->other, e);
			break;
		default:
			st = keep_unknown(&c->unknown, &f, e);
			break;
		}
		if (!st && fl)
			st = pb_get_repeated_float(&f, &fl->v, &fl->n, e);
		if (st)
			break;
	}
	return st;
}

enum status deckconf_config_decode(const uint8_t *p, size_t n, struct deckconf_config *out,
                                   struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	enum status st = deckconf_config_merge(p, n, out, e);
	if (st) {
		deckconf_config_free(out);
		errinfo_prefix(e, "DeckConfig.Config");
	}
	return st;
}

/* ---- encoding helpers ---- */

/* Emit field `num` when `cond` holds, after the kept unknown records that
 * sort before it.  Uses the locals em, st, e of the encoder. */
#define EMIT(num, cond, call)                                                                      \
	do {                                                                                       \
		if (!st)                                                                           \
			st = pb_unknown_before(&em, (num), e);                                     \
		if (!st && (cond))                                                                 \
			st = (call);                                                               \
	} while (0)

static bool str_set(const char *s)
{
	return s && *s;
}

typedef enum status (*encode_fn)(const void *msg, struct buf *out, struct errinfo *e);

/* An embedded message: encode into a scratch buffer, then write it as a
 * length-delimited record (empty messages become `tag 00`). */
static enum status put_message(struct buf *b, uint32_t num, encode_fn fn, const void *msg,
                               struct errinfo *e)
{
	struct buf tmp;
	buf_init(&tmp, b->cap);
	enum status st = fn(msg, &tmp, e);
	if (!st)
		st =
		    pb_put_len(b, num, tmp.data ? tmp.data : (const unsigned char *)"", tmp.len, e);
	buf_free(&tmp);
	return st;
}

static enum status finish(struct pb_emitter *em, struct buf *out, size_t start, enum status st,
                          struct errinfo *e)
{
	if (!st)
		st = pb_unknown_rest(em, e);
	if (st) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return st;
}

/* ---- encoders ---- */

static enum status card_requirement_encode(const void *msg, struct buf *out, struct errinfo *e)
{
	const struct card_requirement *c = msg;
	struct pb_emitter em;
	pb_emitter_init(&em, out, &c->unknown);
	size_t start = out->len;
	enum status st = ST_OK;
	EMIT(1, c->card_ord != 0, pb_put_uint32(out, 1, c->card_ord, e));
	EMIT(2, c->kind != 0, pb_put_int32(out, 2, c->kind, e));
	EMIT(3, c->nfield_ords > 0, pb_put_packed_uint32(out, 3, c->field_ords, c->nfield_ords, e));
	return finish(&em, out, start, st, e);
}

enum status notetype_config_encode(const struct notetype_config *c, struct buf *out,
                                   struct errinfo *e)
{
	struct pb_emitter em;
	pb_emitter_init(&em, out, &c->unknown);
	size_t start = out->len;
	enum status st = ST_OK;
	EMIT(1, c->kind != 0, pb_put_int32(out, 1, c->kind, e));
	EMIT(2, c->sort_field_idx != 0, pb_put_uint32(out, 2, c->sort_field_idx, e));
	EMIT(3, str_set(c->css), pb_put_string(out, 3, c->css, e));
	EMIT(4, c->target_deck_id_unused != 0, pb_put_int64(out, 4, c->target_deck_id_unused, e));
	EMIT(5, str_set(c->latex_pre), pb_put_string(out, 5, c->latex_pre, e));
	EMIT(6, str_set(c->latex_post), pb_put_string(out, 6, c->latex_post, e));
	EMIT(7, c->latex_svg, pb_put_bool(out, 7, c->latex_svg, e));
	for (size_t i = 0; !st && i < c->nreqs; i++)
		EMIT(8, true, put_message(out, 8, card_requirement_encode, &c->reqs[i], e));
	EMIT(9, c->original_stock_kind != 0, pb_put_int32(out, 9, c->original_stock_kind, e));
	EMIT(10, c->has_original_id, pb_put_int64(out, 10, c->original_id, e));
	EMIT(255, c->other.len > 0, pb_put_len(out, 255, c->other.data, c->other.len, e));
	return finish(&em, out, start, st, e);
}

enum status field_config_encode(const struct field_config *c, struct buf *out, struct errinfo *e)
{
	struct pb_emitter em;
	pb_emitter_init(&em, out, &c->unknown);
	size_t start = out->len;
	enum status st = ST_OK;
	EMIT(1, c->sticky, pb_put_bool(out, 1, true, e));
	EMIT(2, c->rtl, pb_put_bool(out, 2, true, e));
	EMIT(3, str_set(c->font_name), pb_put_string(out, 3, c->font_name, e));
	EMIT(4, c->font_size != 0, pb_put_uint32(out, 4, c->font_size, e));
	EMIT(5, str_set(c->description), pb_put_string(out, 5, c->description, e));
	EMIT(6, c->plain_text, pb_put_bool(out, 6, true, e));
	EMIT(7, c->collapsed, pb_put_bool(out, 7, true, e));
	EMIT(8, c->exclude_from_search, pb_put_bool(out, 8, true, e));
	EMIT(9, c->has_id, pb_put_int64(out, 9, c->id, e));
	EMIT(10, c->has_tag, pb_put_uint32(out, 10, c->tag, e));
	EMIT(11, c->prevent_deletion, pb_put_bool(out, 11, true, e));
	EMIT(255, c->other.len > 0, pb_put_len(out, 255, c->other.data, c->other.len, e));
	return finish(&em, out, start, st, e);
}

enum status template_config_encode(const struct template_config *c, struct buf *out,
                                   struct errinfo *e)
{
	struct pb_emitter em;
	pb_emitter_init(&em, out, &c->unknown);
	size_t start = out->len;
	enum status st = ST_OK;
	EMIT(1, str_set(c->q_format), pb_put_string(out, 1, c->q_format, e));
	EMIT(2, str_set(c->a_format), pb_put_string(out, 2, c->a_format, e));
	EMIT(3, str_set(c->q_format_browser), pb_put_string(out, 3, c->q_format_browser, e));
	EMIT(4, str_set(c->a_format_browser), pb_put_string(out, 4, c->a_format_browser, e));
	EMIT(5, c->target_deck_id != 0, pb_put_int64(out, 5, c->target_deck_id, e));
	EMIT(6, str_set(c->browser_font_name), pb_put_string(out, 6, c->browser_font_name, e));
	EMIT(7, c->browser_font_size != 0, pb_put_uint32(out, 7, c->browser_font_size, e));
	EMIT(8, c->has_id, pb_put_int64(out, 8, c->id, e));
	EMIT(255, c->other.len > 0, pb_put_len(out, 255, c->other.data, c->other.len, e));
	return finish(&em, out, start, st, e);
}

enum status deck_common_encode(const struct deck_common *c, struct buf *out, struct errinfo *e)
{
	struct pb_emitter em;
	pb_emitter_init(&em, out, &c->unknown);
	size_t start = out->len;
	enum status st = ST_OK;
	EMIT(1, c->study_collapsed, pb_put_bool(out, 1, true, e));
	EMIT(2, c->browser_collapsed, pb_put_bool(out, 2, true, e));
	EMIT(3, c->last_day_studied != 0, pb_put_uint32(out, 3, c->last_day_studied, e));
	EMIT(4, c->new_studied != 0, pb_put_int32(out, 4, c->new_studied, e));
	EMIT(5, c->review_studied != 0, pb_put_int32(out, 5, c->review_studied, e));
	EMIT(6, c->learning_studied != 0, pb_put_int32(out, 6, c->learning_studied, e));
	EMIT(7, c->milliseconds_studied != 0, pb_put_int32(out, 7, c->milliseconds_studied, e));
	EMIT(255, c->other.len > 0, pb_put_len(out, 255, c->other.data, c->other.len, e));
	return finish(&em, out, start, st, e);
}

static enum status day_limit_encode(const void *msg, struct buf *out, struct errinfo *e)
{
	const struct deck_day_limit *d = msg;
	struct pb_emitter em;
	pb_emitter_init(&em, out, &d->unknown);
	size_t start = out->len;
	enum status st = ST_OK;
	EMIT(1, d->limit != 0, pb_put_uint32(out, 1, d->limit, e));
	EMIT(2, d->today != 0, pb_put_uint32(out, 2, d->today, e));
	return finish(&em, out, start, st, e);
}

static enum status deck_normal_encode(const void *msg, struct buf *out, struct errinfo *e)
{
	const struct deck_normal *c = msg;
	struct pb_emitter em;
	pb_emitter_init(&em, out, &c->unknown);
	size_t start = out->len;
	enum status st = ST_OK;
	EMIT(1, c->config_id != 0, pb_put_int64(out, 1, c->config_id, e));
	EMIT(2, c->extend_new != 0, pb_put_uint32(out, 2, c->extend_new, e));
	EMIT(3, c->extend_review != 0, pb_put_uint32(out, 3, c->extend_review, e));
	EMIT(4, str_set(c->description), pb_put_string(out, 4, c->description, e));
	EMIT(5, c->markdown_description, pb_put_bool(out, 5, true, e));
	EMIT(6, c->has_review_limit, pb_put_uint32(out, 6, c->review_limit, e));
	EMIT(7, c->has_new_limit, pb_put_uint32(out, 7, c->new_limit, e));
	EMIT(8, c->has_review_limit_today,
	     put_message(out, 8, day_limit_encode, &c->review_limit_today, e));
	EMIT(9, c->has_new_limit_today,
	     put_message(out, 9, day_limit_encode, &c->new_limit_today, e));
	EMIT(10, c->has_desired_retention, pb_put_float(out, 10, c->desired_retention, e));
	return finish(&em, out, start, st, e);
}

static enum status search_term_encode(const void *msg, struct buf *out, struct errinfo *e)
{
	const struct deck_search_term *t = msg;
	struct pb_emitter em;
	pb_emitter_init(&em, out, &t->unknown);
	size_t start = out->len;
	enum status st = ST_OK;
	EMIT(1, str_set(t->search), pb_put_string(out, 1, t->search, e));
	EMIT(2, t->limit != 0, pb_put_uint32(out, 2, t->limit, e));
	EMIT(3, t->order != 0, pb_put_int32(out, 3, t->order, e));
	return finish(&em, out, start, st, e);
}

static enum status deck_filtered_encode(const void *msg, struct buf *out, struct errinfo *e)
{
	const struct deck_filtered *c = msg;
	struct pb_emitter em;
	pb_emitter_init(&em, out, &c->unknown);
	size_t start = out->len;
	enum status st = ST_OK;
	EMIT(1, c->reschedule, pb_put_bool(out, 1, true, e));
	for (size_t i = 0; !st && i < c->nsearch_terms; i++)
		EMIT(2, true, put_message(out, 2, search_term_encode, &c->search_terms[i], e));
	EMIT(3, c->ndelays > 0, pb_put_packed_float(out, 3, c->delays, c->ndelays, e));
	EMIT(4, c->preview_delay != 0, pb_put_uint32(out, 4, c->preview_delay, e));
	EMIT(5, c->preview_hard_secs != 0, pb_put_uint32(out, 5, c->preview_hard_secs, e));
	EMIT(6, c->preview_good_secs != 0, pb_put_uint32(out, 6, c->preview_good_secs, e));
	EMIT(7, c->preview_again_secs != 0, pb_put_uint32(out, 7, c->preview_again_secs, e));
	return finish(&em, out, start, st, e);
}

enum status deck_kind_encode(const struct deck_kind *k, struct buf *out, struct errinfo *e)
{
	if (k->type != DECK_KIND_NORMAL && k->type != DECK_KIND_FILTERED)
		return errinfo_set(e, ST_INVALID, "deck kind is neither normal nor filtered");
	struct pb_emitter em;
	pb_emitter_init(&em, out, &k->unknown);
	size_t start = out->len;
	enum status st = ST_OK;
	EMIT(1, k->type == DECK_KIND_NORMAL,
	     put_message(out, 1, deck_normal_encode, &k->normal, e));
	EMIT(2, k->type == DECK_KIND_FILTERED,
	     put_message(out, 2, deck_filtered_encode, &k->filtered, e));
	return finish(&em, out, start, st, e);
}

enum status deckconf_config_encode(const struct deckconf_config *c, struct buf *out,
                                   struct errinfo *e)
{
	struct pb_emitter em;
	pb_emitter_init(&em, out, &c->unknown);
	size_t start = out->len;
	enum status st = ST_OK;
#define FLOATS(num, l) EMIT(num, (l).n > 0, pb_put_packed_float(out, num, (l).v, (l).n, e))
#define U32(num, v) EMIT(num, (v) != 0, pb_put_uint32(out, num, (v), e))
#define I32(num, v) EMIT(num, (v) != 0, pb_put_int32(out, num, (v), e))
#define F32(num, v) EMIT(num, (v) != 0.0f, pb_put_float(out, num, (v), e))
#define BOOL(num, v) EMIT(num, (v), pb_put_bool(out, num, true, e))
	FLOATS(1, c->learn_steps);
	FLOATS(2, c->relearn_steps);
	FLOATS(3, c->fsrs_params_4);
	FLOATS(4, c->easy_days_percentages);
	FLOATS(5, c->fsrs_params_5);
	FLOATS(6, c->fsrs_params_6);
	U32(9, c->new_per_day);
	U32(10, c->reviews_per_day);
	F32(11, c->initial_ease);
	F32(12, c->easy_multiplier);
	F32(13, c->hard_multiplier);
	F32(14, c->lapse_multiplier);
	F32(15, c->interval_multiplier);
	U32(16, c->maximum_review_interval);
	U32(17, c->minimum_lapse_interval);
	U32(18, c->graduating_interval_good);
	U32(19, c->graduating_interval_easy);
	I32(20, c->new_card_insert_order);
	I32(21, c->leech_action);
	U32(22, c->leech_threshold);
	BOOL(23, c->disable_autoplay);
	U32(24, c->cap_answer_time_to_secs);
	BOOL(25, c->show_timer);
	BOOL(26, c->skip_question_when_replaying_answer);
	BOOL(27, c->bury_new);
	BOOL(28, c->bury_reviews);
	BOOL(29, c->bury_interday_learning);
	I32(30, c->new_mix);
	I32(31, c->interday_learning_mix);
	I32(32, c->new_card_sort_order);
	I32(33, c->review_order);
	I32(34, c->new_card_gather_priority);
	U32(35, c->new_per_day_minimum);
	I32(36, c->question_action);
	F32(37, c->desired_retention);
	BOOL(38, c->stop_timer_on_answer);
	F32(40, c->historical_retention);
	F32(41, c->seconds_to_show_question);
	F32(42, c->seconds_to_show_answer);
	I32(43, c->answer_action);
	BOOL(44, c->wait_for_audio);
	EMIT(45, str_set(c->param_search), pb_put_string(out, 45, c->param_search, e));
	EMIT(46, str_set(c->ignore_revlogs_before_date),
	     pb_put_string(out, 46, c->ignore_revlogs_before_date, e));
	EMIT(255, c->other.len > 0, pb_put_len(out, 255, c->other.data, c->other.len, e));
#undef FLOATS
#undef U32
#undef I32
#undef F32
#undef BOOL
	return finish(&em, out, start, st, e);
}
