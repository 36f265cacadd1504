/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_model.h - the in-memory objects of an Anki collection (schema 18):
 * notetypes with fields and templates, decks, deck option presets, and the
 * typed protobuf config messages stored in their blob columns
 * (collection-format.md sections 2.6-2.10).
 *
 * Conventions for every struct here:
 *   - Member names follow the .proto field names.
 *   - char * members are NULL or a malloc'd NUL-terminated UTF-8 string;
 *     NULL means "" everywhere (use col_str() to read them).
 *   - Arrays are (pointer, count) pairs, malloc'd, NULL when empty.
 *   - Proto3 `optional` scalars and embedded messages have a has_* flag.
 *   - `unknown` holds records the decoder did not know, verbatim, so that
 *     re-encoding loses nothing; `other` is field 255 (legacy JSON bytes).
 *   - A zeroed struct is a valid empty value; *_free() frees the members
 *     and leaves the struct zeroed (it does not free the struct itself).
 * Ownership: whoever fills a struct owns its members until *_free().
 */
#ifndef ANKIHOST_COL_MODEL_H
#define ANKIHOST_COL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb.h"
#include "status.h"

static inline const char *col_str(const char *s)
{
	return s ? s : "";
}

/* ---- Notetype.Config (2.6) ---- */

enum notetype_kind { NOTETYPE_KIND_NORMAL = 0, NOTETYPE_KIND_CLOZE = 1 };

enum card_req_kind { CARD_REQ_NONE = 0, CARD_REQ_ANY = 1, CARD_REQ_ALL = 2 };

enum original_stock_kind {
	STOCK_KIND_UNKNOWN = 0,
	STOCK_KIND_BASIC = 1,
	STOCK_KIND_BASIC_AND_REVERSED = 2,
	STOCK_KIND_BASIC_OPTIONAL_REVERSED = 3,
	STOCK_KIND_BASIC_TYPING = 4,
	STOCK_KIND_CLOZE = 5,
	STOCK_KIND_IMAGE_OCCLUSION = 6,
};

struct card_requirement {
	uint32_t card_ord;  /* 1 */
	int32_t kind;       /* 2, enum card_req_kind */
	size_t nfield_ords; /* 3, packed, ascending */
	uint32_t *field_ords;
	struct pb_bytes unknown;
};

struct notetype_config {
	int32_t kind;                  /* 1, enum notetype_kind */
	uint32_t sort_field_idx;       /* 2 */
	char *css;                     /* 3 */
	int64_t target_deck_id_unused; /* 4 */
	char *latex_pre;               /* 5 */
	char *latex_post;              /* 6 */
	bool latex_svg;                /* 7 */
	size_t nreqs;                  /* 8 */
	struct card_requirement *reqs;
	int32_t original_stock_kind; /* 9, enum original_stock_kind */
	bool has_original_id;        /* 10, optional */
	int64_t original_id;
	struct pb_bytes other; /* 255 */
	struct pb_bytes unknown;
};

/* ---- Notetype.Field.Config (2.7) ---- */

struct field_config {
	bool sticky;              /* 1 */
	bool rtl;                 /* 2 */
	char *font_name;          /* 3 */
	uint32_t font_size;       /* 4 */
	char *description;        /* 5 */
	bool plain_text;          /* 6 */
	bool collapsed;           /* 7 */
	bool exclude_from_search; /* 8 */
	bool has_id;              /* 9, optional */
	int64_t id;
	bool has_tag; /* 10, optional */
	uint32_t tag;
	bool prevent_deletion; /* 11 */
	struct pb_bytes other; /* 255 */
	struct pb_bytes unknown;
};

/* ---- Notetype.Template.Config (2.8) ---- */

struct template_config {
	char *q_format;             /* 1 */
	char *a_format;             /* 2 */
	char *q_format_browser;     /* 3 */
	char *a_format_browser;     /* 4 */
	int64_t target_deck_id;     /* 5 */
	char *browser_font_name;    /* 6 */
	uint32_t browser_font_size; /* 7 */
	bool has_id;                /* 8, optional */
	int64_t id;
	struct pb_bytes other; /* 255 */
	struct pb_bytes unknown;
};

/* ---- Deck.Common and Deck.KindContainer (2.9) ---- */

struct deck_common {
	bool study_collapsed;         /* 1 */
	bool browser_collapsed;       /* 2 */
	uint32_t last_day_studied;    /* 3 */
	int32_t new_studied;          /* 4 */
	int32_t review_studied;       /* 5 */
	int32_t learning_studied;     /* 6 */
	int32_t milliseconds_studied; /* 7 */
	struct pb_bytes other;        /* 255 */
	struct pb_bytes unknown;
};

struct deck_day_limit {
	uint32_t limit; /* 1 */
	uint32_t today; /* 2 */
	struct pb_bytes unknown;
};

struct deck_normal {
	int64_t config_id;         /* 1 */
	uint32_t extend_new;       /* 2 */
	uint32_t extend_review;    /* 3 */
	char *description;         /* 4 */
	bool markdown_description; /* 5 */
	bool has_review_limit;     /* 6, optional */
	uint32_t review_limit;
	bool has_new_limit; /* 7, optional */
	uint32_t new_limit;
	bool has_review_limit_today; /* 8, message */
	struct deck_day_limit review_limit_today;
	bool has_new_limit_today; /* 9, message */
	struct deck_day_limit new_limit_today;
	bool has_desired_retention; /* 10, optional */
	float desired_retention;
	struct pb_bytes unknown;
};

enum search_term_order {
	SEARCH_ORDER_OLDEST_REVIEWED_FIRST = 0,
	SEARCH_ORDER_RANDOM = 1,
	SEARCH_ORDER_INTERVALS_ASCENDING = 2,
	SEARCH_ORDER_INTERVALS_DESCENDING = 3,
	SEARCH_ORDER_LAPSES = 4,
	SEARCH_ORDER_ADDED = 5,
	SEARCH_ORDER_DUE = 6,
	SEARCH_ORDER_REVERSE_ADDED = 7,
	SEARCH_ORDER_RETRIEVABILITY_ASCENDING = 8,
	SEARCH_ORDER_RETRIEVABILITY_DESCENDING = 9,
	SEARCH_ORDER_RELATIVE_OVERDUENESS = 10,
};

struct deck_search_term {
	char *search;   /* 1 */
	uint32_t limit; /* 2 */
	int32_t order;  /* 3, enum search_term_order */
	struct pb_bytes unknown;
};

struct deck_filtered {
	bool reschedule;      /* 1 */
	size_t nsearch_terms; /* 2 */
	struct deck_search_term *search_terms;
	size_t ndelays; /* 3, packed floats */
	float *delays;
	uint32_t preview_delay;      /* 4 */
	uint32_t preview_hard_secs;  /* 5 */
	uint32_t preview_good_secs;  /* 6 */
	uint32_t preview_again_secs; /* 7 */
	struct pb_bytes unknown;
};

enum deck_kind_type { DECK_KIND_UNSET = 0, DECK_KIND_NORMAL = 1, DECK_KIND_FILTERED = 2 };

/* KindContainer: exactly one of normal/filtered is meaningful, per type;
 * the other member stays zeroed. */
struct deck_kind {
	enum deck_kind_type type;
	struct deck_normal normal;     /* 1 */
	struct deck_filtered filtered; /* 2 */
	struct pb_bytes unknown;
};

/* ---- DeckConfig.Config (2.10) ---- */

struct f32_list {
	size_t n;
	float *v;
};

struct deckconf_config {
	struct f32_list learn_steps;              /* 1 */
	struct f32_list relearn_steps;            /* 2 */
	struct f32_list fsrs_params_4;            /* 3 */
	struct f32_list easy_days_percentages;    /* 4 */
	struct f32_list fsrs_params_5;            /* 5 */
	struct f32_list fsrs_params_6;            /* 6 */
	uint32_t new_per_day;                     /* 9 */
	uint32_t reviews_per_day;                 /* 10 */
	float initial_ease;                       /* 11 (multiplier, 2.5) */
	float easy_multiplier;                    /* 12 */
	float hard_multiplier;                    /* 13 */
	float lapse_multiplier;                   /* 14 */
	float interval_multiplier;                /* 15 */
	uint32_t maximum_review_interval;         /* 16 */
	uint32_t minimum_lapse_interval;          /* 17 */
	uint32_t graduating_interval_good;        /* 18 */
	uint32_t graduating_interval_easy;        /* 19 */
	int32_t new_card_insert_order;            /* 20: 0 due, 1 random */
	int32_t leech_action;                     /* 21: 0 suspend, 1 tag only */
	uint32_t leech_threshold;                 /* 22 */
	bool disable_autoplay;                    /* 23 */
	uint32_t cap_answer_time_to_secs;         /* 24 */
	bool show_timer;                          /* 25 */
	bool skip_question_when_replaying_answer; /* 26 */
	bool bury_new;                            /* 27 */
	bool bury_reviews;                        /* 28 */
	bool bury_interday_learning;              /* 29 */
	int32_t new_mix;                          /* 30 */
	int32_t interday_learning_mix;            /* 31 */
	int32_t new_card_sort_order;              /* 32 */
	int32_t review_order;                     /* 33 */
	int32_t new_card_gather_priority;         /* 34 */
	uint32_t new_per_day_minimum;             /* 35 */
	int32_t question_action;                  /* 36 */
	float desired_retention;                  /* 37 */
	bool stop_timer_on_answer;                /* 38 */
	float historical_retention;               /* 40 */
	float seconds_to_show_question;           /* 41 */
	float seconds_to_show_answer;             /* 42 */
	int32_t answer_action;                    /* 43 */
	bool wait_for_audio;                      /* 44 */
	char *param_search;                       /* 45 */
	char *ignore_revlogs_before_date;         /* 46 */
	struct pb_bytes other;                    /* 255 */
	struct pb_bytes unknown;
};

/* ---- objects (one row of notetypes/decks/deck_config plus children) ---- */

struct nt_field {
	char *name;
	struct field_config cfg;
};

struct nt_template {
	char *name;
	int64_t mtime; /* templates.mtime_secs */
	int32_t usn;
	struct template_config cfg;
};

/* ord of a field/template = its index in the array. */
struct notetype {
	int64_t id;
	char *name;
	int64_t mtime; /* secs */
	int32_t usn;
	struct notetype_config cfg;
	size_t nfields;
	struct nt_field *fields;
	size_t ntemplates;
	struct nt_template *templates;
};

struct deck {
	int64_t id;
	char *name;    /* native form: components joined by \x1f */
	int64_t mtime; /* secs */
	int32_t usn;
	struct deck_common common;
	struct deck_kind kind;
};

struct deckconf {
	int64_t id;
	char *name;
	int64_t mtime; /* secs */
	int32_t usn;
	struct deckconf_config cfg;
};

/* ---- freeing (NULL-safe; members only; struct left zeroed) ---- */

void f32_list_free(struct f32_list *l);
void card_requirement_free(struct card_requirement *r);
void notetype_config_free(struct notetype_config *c);
void field_config_free(struct field_config *c);
void template_config_free(struct template_config *c);
void deck_common_free(struct deck_common *c);
void deck_day_limit_free(struct deck_day_limit *d);
void deck_normal_free(struct deck_normal *n);
void deck_search_term_free(struct deck_search_term *t);
void deck_filtered_free(struct deck_filtered *f);
void deck_kind_free(struct deck_kind *k);
void deckconf_config_free(struct deckconf_config *c);
void nt_field_free(struct nt_field *f);
void nt_template_free(struct nt_template *t);
void notetype_free(struct notetype *nt);
void deck_free(struct deck *d);
void deckconf_free(struct deckconf *dc);

/* ---- defaults (section 2.9, 2.10, 5.2) ---- */

/* The settings of a new preset (Anki's DeckConfig::default()): steps [1,10]
 * and [10], 20/200 per day, ease 2.5, easy 1.3, hard 1.2, lapse 0, interval
 * 1, max 36500, min lapse 1, graduating 1/4, leech tag-only at 8, cap 60 s,
 * desired and historical retention 0.9, wait_for_audio, easy days 1.0 x 7.
 * Encodes byte-identically to preset 1 of a new collection.  *out is
 * overwritten (not freed first).  ST_NOMEM. */
enum status deckconf_config_default(struct deckconf_config *out, struct errinfo *e);

/* Common of a new deck (normal or filtered): both collapsed flags true. */
void deck_common_default_normal(struct deck_common *out);

/* Kind of a new normal deck: Normal{config_id: 1}.  *out is overwritten. */
void deck_kind_new_normal(struct deck_kind *out);

/* Kind of a new filtered deck: reschedule, terms ("", 100, random) and
 * ("", 20, due), preview_again_secs 60, preview_hard_secs 600.  ST_NOMEM. */
enum status deck_kind_new_filtered(struct deck_kind *out, struct errinfo *e);

/* Config of a new field: font "Arial", size 20, a random i64 id (OpenSSL
 * RAND_bytes).  *out is overwritten.  ST_NOMEM, ST_INTERNAL (RNG failed). */
enum status field_config_new(struct field_config *out, struct errinfo *e);

/* Config of a new template with the given front/back formats (NULL = "")
 * and a random i64 id.  ST_NOMEM, ST_INTERNAL. */
enum status template_config_new(struct template_config *out, const char *q_format,
                                const char *a_format, struct errinfo *e);

/* Anki's read-time validity fixes (rslib ensure_deck_config_values_valid):
 * a NaN or out-of-range value is replaced by the built-in default:
 * new/reviews per day and new_per_day_minimum 0-9999 (20/200/0),
 * initial_ease 1.31-5.0 (2.5), easy 1.0-5.0 (1.3), hard 0.5-1.3 (1.2),
 * lapse 0.0-1.0 (0.0), interval 0.5-2.0 (1.0), max interval, min lapse
 * interval and graduating intervals 1-36500 (36500/1/1/4), leech threshold
 * and answer-time cap 1-9999 (8/60), desired retention 0.7-0.99 (0.9),
 * historical retention 0.7-0.97 (0.9).  Touches scalars only. */
void deckconf_config_fix_ranges(struct deckconf_config *c);

/* ---- deck names (section 3.3, rslib/src/decks/name.rs) ---- */

/* Human name ("A::B") to native name ("A\x1fB"): split on "::"; each
 * component is NFC-normalised, ASCII control characters (incl. \x1f) are
 * removed, then leading/trailing Unicode whitespace and ':' trimmed; an
 * empty component becomes "blank".  *out is malloc'd (caller frees).
 * ST_INVALID when human is not valid UTF-8, ST_NOMEM. */
enum status deck_name_native_from_human(const char *human, char **out, struct errinfo *e);

/* Native name to human name (\x1f -> "::").  malloc'd; NULL on OOM.  NULL
 * input is treated as "". */
char *deck_name_human_from_native(const char *native);

#endif
