/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_proto.c - the protobuf messages of Anki's blob columns
 * (collection-format.md 2.5-2.10) as field tables for pb_desc.c, which
 * decodes (protobuf merge semantics), encodes (ascending numbers, as prost
 * writes them and the fixtures show) and frees them.  Only the decoder of
 * the Deck.KindContainer oneof is hand-written.  Invariant: every member
 * of a col_model.h struct that the codec fills or owns has a row here, in
 * ascending field-number order; on any decode error the target struct is
 * freed and zeroed, so partial allocations never leak.
 */
#include "col_proto.h"

#include <string.h>

#include "pb.h"
#include "pb_desc.h"

/* One table row per field; clang-format would pack short tables. */
/* clang-format off */

/* ---- Notetype.Config ---- */

#define T struct card_requirement
static const struct pb_fdesc card_requirement_fields[] = {
    PB_SCALAR(T, 1, UINT32, card_ord),
    PB_SCALAR(T, 2, INT32, kind),
    PB_REPEATED(T, 3, UINT32, field_ords, nfield_ords),
};
static const struct pb_msgdesc card_requirement_desc =
    PB_MSGDESC(T, "Notetype.Config.CardRequirement", card_requirement_fields);
#undef T

#define T struct notetype_config
static const struct pb_fdesc notetype_config_fields[] = {
    PB_SCALAR(T, 1, INT32, kind),
    PB_SCALAR(T, 2, UINT32, sort_field_idx),
    PB_SCALAR(T, 3, STRING, css),
    PB_SCALAR(T, 4, INT64, target_deck_id_unused),
    PB_SCALAR(T, 5, STRING, latex_pre),
    PB_SCALAR(T, 6, STRING, latex_post),
    PB_SCALAR(T, 7, BOOL, latex_svg),
    PB_MESSAGES(T, 8, reqs, nreqs, &card_requirement_desc, "reqs"),
    PB_SCALAR(T, 9, INT32, original_stock_kind),
    PB_OPTIONAL(T, 10, INT64, original_id, has_original_id),
    PB_SCALAR(T, 255, BYTES, other),
};
static const struct pb_msgdesc notetype_config_desc =
    PB_MSGDESC(T, "Notetype.Config", notetype_config_fields);
#undef T

/* ---- Notetype.Field.Config ---- */

#define T struct field_config
static const struct pb_fdesc field_config_fields[] = {
    PB_SCALAR(T, 1, BOOL, sticky),
    PB_SCALAR(T, 2, BOOL, rtl),
    PB_SCALAR(T, 3, STRING, font_name),
    PB_SCALAR(T, 4, UINT32, font_size),
    PB_SCALAR(T, 5, STRING, description),
    PB_SCALAR(T, 6, BOOL, plain_text),
    PB_SCALAR(T, 7, BOOL, collapsed),
    PB_SCALAR(T, 8, BOOL, exclude_from_search),
    PB_OPTIONAL(T, 9, INT64, id, has_id),
    PB_OPTIONAL(T, 10, UINT32, tag, has_tag),
    PB_SCALAR(T, 11, BOOL, prevent_deletion),
    PB_SCALAR(T, 255, BYTES, other),
};
static const struct pb_msgdesc field_config_desc =
    PB_MSGDESC(T, "Field.Config", field_config_fields);
#undef T

/* ---- Notetype.Template.Config ---- */

#define T struct template_config
static const struct pb_fdesc template_config_fields[] = {
    PB_SCALAR(T, 1, STRING, q_format),
    PB_SCALAR(T, 2, STRING, a_format),
    PB_SCALAR(T, 3, STRING, q_format_browser),
    PB_SCALAR(T, 4, STRING, a_format_browser),
    PB_SCALAR(T, 5, INT64, target_deck_id),
    PB_SCALAR(T, 6, STRING, browser_font_name),
    PB_SCALAR(T, 7, UINT32, browser_font_size),
    PB_OPTIONAL(T, 8, INT64, id, has_id),
    PB_SCALAR(T, 255, BYTES, other),
};
static const struct pb_msgdesc template_config_desc =
    PB_MSGDESC(T, "Template.Config", template_config_fields);
#undef T

/* ---- Deck.Common ---- */

#define T struct deck_common
static const struct pb_fdesc deck_common_fields[] = {
    PB_SCALAR(T, 1, BOOL, study_collapsed),
    PB_SCALAR(T, 2, BOOL, browser_collapsed),
    PB_SCALAR(T, 3, UINT32, last_day_studied),
    PB_SCALAR(T, 4, INT32, new_studied),
    PB_SCALAR(T, 5, INT32, review_studied),
    PB_SCALAR(T, 6, INT32, learning_studied),
    PB_SCALAR(T, 7, INT32, milliseconds_studied),
    PB_SCALAR(T, 255, BYTES, other),
};
static const struct pb_msgdesc deck_common_desc = PB_MSGDESC(T, "Deck.Common", deck_common_fields);
#undef T

/* ---- Deck.KindContainer: Normal (with DayLimit), Filtered (with SearchTerm) ---- */

#define T struct deck_day_limit
static const struct pb_fdesc day_limit_fields[] = {
    PB_SCALAR(T, 1, UINT32, limit),
    PB_SCALAR(T, 2, UINT32, today),
};
static const struct pb_msgdesc day_limit_desc =
    PB_MSGDESC(T, "Deck.Normal.DayLimit", day_limit_fields);
#undef T

#define T struct deck_normal
static const struct pb_fdesc deck_normal_fields[] = {
    PB_SCALAR(T, 1, INT64, config_id),
    PB_SCALAR(T, 2, UINT32, extend_new),
    PB_SCALAR(T, 3, UINT32, extend_review),
    PB_SCALAR(T, 4, STRING, description),
    PB_SCALAR(T, 5, BOOL, markdown_description),
    PB_OPTIONAL(T, 6, UINT32, review_limit, has_review_limit),
    PB_OPTIONAL(T, 7, UINT32, new_limit, has_new_limit),
    PB_MESSAGE(T, 8, review_limit_today, has_review_limit_today, &day_limit_desc),
    PB_MESSAGE(T, 9, new_limit_today, has_new_limit_today, &day_limit_desc),
    PB_OPTIONAL(T, 10, FLOAT, desired_retention, has_desired_retention),
};
static const struct pb_msgdesc deck_normal_desc = PB_MSGDESC(T, "Deck.Normal", deck_normal_fields);
#undef T

#define T struct deck_search_term
static const struct pb_fdesc search_term_fields[] = {
    PB_SCALAR(T, 1, STRING, search),
    PB_SCALAR(T, 2, UINT32, limit),
    PB_SCALAR(T, 3, INT32, order),
};
static const struct pb_msgdesc search_term_desc =
    PB_MSGDESC(T, "Deck.Filtered.SearchTerm", search_term_fields);
#undef T

#define T struct deck_filtered
static const struct pb_fdesc deck_filtered_fields[] = {
    PB_SCALAR(T, 1, BOOL, reschedule),
    PB_MESSAGES(T, 2, search_terms, nsearch_terms, &search_term_desc, NULL),
    PB_REPEATED(T, 3, FLOAT, delays, ndelays),
    PB_SCALAR(T, 4, UINT32, preview_delay),
    PB_SCALAR(T, 5, UINT32, preview_hard_secs),
    PB_SCALAR(T, 6, UINT32, preview_good_secs),
    PB_SCALAR(T, 7, UINT32, preview_again_secs),
};
static const struct pb_msgdesc deck_filtered_desc =
    PB_MSGDESC(T, "Deck.Filtered", deck_filtered_fields);
#undef T

/* The oneof of KindContainer as one table per member: the encoder picks
 * the one `type` names (deck_kind_decode below does the reading). */
#define T struct deck_kind
static const struct pb_fdesc kind_normal_fields[] = {
    PB_MESSAGE_PRESENT(T, 1, normal, &deck_normal_desc),
};
static const struct pb_msgdesc kind_normal_desc =
    PB_MSGDESC(T, "Deck.KindContainer", kind_normal_fields);
static const struct pb_fdesc kind_filtered_fields[] = {
    PB_MESSAGE_PRESENT(T, 2, filtered, &deck_filtered_desc),
};
static const struct pb_msgdesc kind_filtered_desc =
    PB_MSGDESC(T, "Deck.KindContainer", kind_filtered_fields);
#undef T

/* ---- DeckConfig.Config ---- */

#define T struct deckconf_config
static const struct pb_fdesc deckconf_config_fields[] = {
    PB_REPEATED(T, 1, FLOAT, learn_steps.v, learn_steps.n),
    PB_REPEATED(T, 2, FLOAT, relearn_steps.v, relearn_steps.n),
    PB_REPEATED(T, 3, FLOAT, fsrs_params_4.v, fsrs_params_4.n),
    PB_REPEATED(T, 4, FLOAT, easy_days_percentages.v, easy_days_percentages.n),
    PB_REPEATED(T, 5, FLOAT, fsrs_params_5.v, fsrs_params_5.n),
    PB_REPEATED(T, 6, FLOAT, fsrs_params_6.v, fsrs_params_6.n),
    PB_SCALAR(T, 9, UINT32, new_per_day),
    PB_SCALAR(T, 10, UINT32, reviews_per_day),
    PB_SCALAR(T, 11, FLOAT, initial_ease),
    PB_SCALAR(T, 12, FLOAT, easy_multiplier),
    PB_SCALAR(T, 13, FLOAT, hard_multiplier),
    PB_SCALAR(T, 14, FLOAT, lapse_multiplier),
    PB_SCALAR(T, 15, FLOAT, interval_multiplier),
    PB_SCALAR(T, 16, UINT32, maximum_review_interval),
    PB_SCALAR(T, 17, UINT32, minimum_lapse_interval),
    PB_SCALAR(T, 18, UINT32, graduating_interval_good),
    PB_SCALAR(T, 19, UINT32, graduating_interval_easy),
    PB_SCALAR(T, 20, INT32, new_card_insert_order),
    PB_SCALAR(T, 21, INT32, leech_action),
    PB_SCALAR(T, 22, UINT32, leech_threshold),
    PB_SCALAR(T, 23, BOOL, disable_autoplay),
    PB_SCALAR(T, 24, UINT32, cap_answer_time_to_secs),
    PB_SCALAR(T, 25, BOOL, show_timer),
    PB_SCALAR(T, 26, BOOL, skip_question_when_replaying_answer),
    PB_SCALAR(T, 27, BOOL, bury_new),
    PB_SCALAR(T, 28, BOOL, bury_reviews),
    PB_SCALAR(T, 29, BOOL, bury_interday_learning),
    PB_SCALAR(T, 30, INT32, new_mix),
    PB_SCALAR(T, 31, INT32, interday_learning_mix),
    PB_SCALAR(T, 32, INT32, new_card_sort_order),
    PB_SCALAR(T, 33, INT32, review_order),
    PB_SCALAR(T, 34, INT32, new_card_gather_priority),
    PB_SCALAR(T, 35, UINT32, new_per_day_minimum),
    PB_SCALAR(T, 36, INT32, question_action),
    PB_SCALAR(T, 37, FLOAT, desired_retention),
    PB_SCALAR(T, 38, BOOL, stop_timer_on_answer),
    PB_SCALAR(T, 40, FLOAT, historical_retention),
    PB_SCALAR(T, 41, FLOAT, seconds_to_show_question),
    PB_SCALAR(T, 42, FLOAT, seconds_to_show_answer),
    PB_SCALAR(T, 43, INT32, answer_action),
    PB_SCALAR(T, 44, BOOL, wait_for_audio),
    PB_SCALAR(T, 45, STRING, param_search),
    PB_SCALAR(T, 46, STRING, ignore_revlogs_before_date),
    PB_SCALAR(T, 255, BYTES, other),
};
static const struct pb_msgdesc deckconf_config_desc =
    PB_MSGDESC(T, "DeckConfig.Config", deckconf_config_fields);
#undef T

/* clang-format on */

/* ---- the table-driven entry points ---- */

/* The public decode/encode pair (col_proto.h) of message `prefix`, whose
 * table is prefix##_desc; the header's prototypes check the signatures. */
#define DEFINE_CODEC(prefix, type)                                                                 \
	enum status prefix##_decode(const uint8_t *p, size_t n, type *out, struct errinfo *e)      \
	{                                                                                          \
		return pb_desc_decode(&prefix##_desc, p, n, out, e);                               \
	}                                                                                          \
	enum status prefix##_encode(const type *c, struct buf *out, struct errinfo *e)             \
	{                                                                                          \
		return pb_desc_encode(&prefix##_desc, c, out, e);                                  \
	}

DEFINE_CODEC(notetype_config, struct notetype_config)
DEFINE_CODEC(field_config, struct field_config)
DEFINE_CODEC(template_config, struct template_config)
DEFINE_CODEC(deck_common, struct deck_common)
DEFINE_CODEC(deckconf_config, struct deckconf_config)

/* ---- Deck.KindContainer: oneof kind { Normal normal = 1; Filtered filtered = 2; } ---- */

/* One member record: switching members discards the other one (oneof),
 * the same member seen again is merged. */
static enum status kind_member_merge(struct deck_kind *k, const struct pb_field *f,
                                     struct errinfo *e)
{
	const uint8_t *d;
	size_t l;
	enum status st = pb_get_len(f, &d, &l, e);
	if (st)
		return st;
	if (f->num == 1) {
		if (k->type != DECK_KIND_NORMAL)
			deck_filtered_free(&k->filtered);
		k->type = DECK_KIND_NORMAL;
		st = pb_desc_merge(&deck_normal_desc, d, l, &k->normal, e);
		if (st)
			errinfo_prefix(e, "normal");
		return st;
	}
	if (k->type != DECK_KIND_FILTERED)
		deck_normal_free(&k->normal);
	k->type = DECK_KIND_FILTERED;
	st = pb_desc_merge(&deck_filtered_desc, d, l, &k->filtered, e);
	if (st)
		errinfo_prefix(e, "filtered");
	return st;
}

enum status deck_kind_decode(const uint8_t *p, size_t n, struct deck_kind *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	struct pb_reader r;
	pb_reader_init(&r, p, n);
	enum status st;
	for (;;) {
		struct pb_field f;
		bool more;
		st = pb_reader_next(&r, &f, &more, e);
		if (st || !more)
			break;
		if (f.num == 1 || f.num == 2)
			st = kind_member_merge(out, &f, e);
		else
			st = pb_bytes_append(&out->unknown, f.raw, f.raw_len, e);
		if (st)
			break;
	}
	if (!st && out->type == DECK_KIND_UNSET)
		st = errinfo_set(e, ST_CORRUPT, "invalid deck kind: neither normal nor filtered");
	if (st) {
		deck_kind_free(out);
		errinfo_prefix(e, "Deck.KindContainer");
	}
	return st;
}

enum status deck_kind_encode(const struct deck_kind *k, struct buf *out, struct errinfo *e)
{
	switch (k->type) {
	case DECK_KIND_NORMAL:
		return pb_desc_encode(&kind_normal_desc, k, out, e);
	case DECK_KIND_FILTERED:
		return pb_desc_encode(&kind_filtered_desc, k, out, e);
	default:
		return errinfo_set(e, ST_INVALID, "deck kind is neither normal nor filtered");
	}
}
