/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * actions.h - every action function of anki-connectd (one per AnkiConnect
 * action, ankiconnect.md §3) and the helpers the act_*.c files share.
 * The table binding names to these is in actions.c.
 */
#ifndef ANKICONNECTD_ACTIONS_H
#define ANKICONNECTD_ACTIONS_H

#include "ac.h"
#include "col_notegen.h"

/* glue.c: search (search.h) and rendering (render.h) */
enum status ac_find(struct col *c, const char *query, bool cards, int64_t **ids, size_t *n,
                    struct errinfo *e);
/* question/answer HTML with the <style> prefix, as card.question(), of a
 * card whose note and note type the caller has loaded; deck_name is the
 * {{Deck}} value (the home deck of a card in a filtered deck). */
enum status ac_render(const struct notetype *nt, const struct note *n, const struct card *cd,
                      const char *deck_name, char **question, char **answer, struct errinfo *e);

/* act_notes.c: the note object of addNote & co (ankiconnect.md §3.7),
 * shared with guiAddCards. */
bool ac_lower_eq(const char *a, const char *b);
/* The "fields" object of notesInfo/cardsInfo: {"name": {"value", "order"}}. */
json_t *ac_note_fields_object(const struct notetype *nt, const char *flds);

/* act_misc.c */
enum status act_version(struct ac_call *k);
enum status act_request_permission(struct ac_call *k);
enum status act_api_reflect(struct ac_call *k);
enum status act_multi(struct ac_call *k);
enum status act_get_profiles(struct ac_call *k);
enum status act_get_active_profile(struct ac_call *k);
enum status act_load_profile(struct ac_call *k);
enum status act_sync(struct ac_call *k);
enum status act_reload_collection(struct ac_call *k);
/* act_sched.c, act_packages.c, act_collstats.c */
enum status act_answer_cards(struct ac_call *k);
enum status act_set_due_date(struct ac_call *k);
enum status act_export_package(struct ac_call *k);
enum status act_import_package(struct ac_call *k);
enum status act_collection_stats_html(struct ac_call *k);
enum status act_gui_false(struct ac_call *k);
enum status act_gui_true(struct ac_call *k);
enum status act_gui_null(struct ac_call *k);
enum status act_gui_empty_list(struct ac_call *k);
enum status act_gui_unavailable(struct ac_call *k);
enum status act_gui_current_card(struct ac_call *k);
enum status act_gui_browse(struct ac_call *k);
enum status act_gui_add_cards(struct ac_call *k);
enum status act_gui_deck_overview(struct ac_call *k);

/* act_media.c */
enum status act_store_media_file(struct ac_call *k);
enum status act_retrieve_media_file(struct ac_call *k);
enum status act_get_media_files_names(struct ac_call *k);
enum status act_get_media_dir_path(struct ac_call *k);
enum status act_delete_media_file(struct ac_call *k);
/* Store one media item the way storeMediaFile does; *stored NULL when
 * skipped by skipHash.  ST_INVALID with the error text in msg. */
enum status ac_media_store(struct ac_server *srv, const char *filename, size_t flen,
                           const json_t *data, const json_t *path, const json_t *url,
                           const json_t *skip_hash, bool delete_existing, char **stored,
                           struct buf *msg);

/* act_decks.c */
enum status act_deck_names(struct ac_call *k);
enum status act_deck_names_and_ids(struct ac_call *k);
enum status act_get_decks(struct ac_call *k);
enum status act_create_deck(struct ac_call *k);
enum status act_change_deck(struct ac_call *k);
enum status act_delete_decks(struct ac_call *k);
enum status act_get_deck_config(struct ac_call *k);
enum status act_save_deck_config(struct ac_call *k);
enum status act_set_deck_config_id(struct ac_call *k);
enum status act_clone_deck_config_id(struct ac_call *k);
enum status act_remove_deck_config_id(struct ac_call *k);
enum status act_get_deck_stats(struct ac_call *k);
enum status act_deck_name_from_id(struct ac_call *k);

/* act_notes.c */
enum status act_add_note(struct ac_call *k);
enum status act_add_notes(struct ac_call *k);
enum status act_can_add_notes(struct ac_call *k);
enum status act_can_add_notes_detail(struct ac_call *k);
enum status act_can_add_note(struct ac_call *k);
enum status act_can_add_note_detail(struct ac_call *k);
enum status act_update_note_fields(struct ac_call *k);
enum status act_update_note(struct ac_call *k);
enum status act_update_note_model(struct ac_call *k);
enum status act_find_notes(struct ac_call *k);
enum status act_notes_info(struct ac_call *k);
enum status act_notes_mod_time(struct ac_call *k);
enum status act_delete_notes(struct ac_call *k);
enum status act_remove_empty_notes(struct ac_call *k);

/* act_tags.c */
enum status act_update_note_tags(struct ac_call *k);
enum status act_get_note_tags(struct ac_call *k);
enum status act_add_tags(struct ac_call *k);
enum status act_remove_tags(struct ac_call *k);
enum status act_get_tags(struct ac_call *k);
enum status act_clear_unused_tags(struct ac_call *k);
enum status act_replace_tags(struct ac_call *k);
enum status act_replace_tags_in_all_notes(struct ac_call *k);
/* Replace a note's tags with the given list (canonicalised on save). */
enum status ac_note_set_tags(struct ac_call *k, int64_t nid, const json_t *tags);

/* act_cards.c */
enum status act_get_ease_factors(struct ac_call *k);
enum status act_set_ease_factors(struct ac_call *k);
enum status act_set_specific_value_of_card(struct ac_call *k);
enum status act_suspend(struct ac_call *k);
enum status act_unsuspend(struct ac_call *k);
enum status act_suspended(struct ac_call *k);
enum status act_are_suspended(struct ac_call *k);
enum status act_are_due(struct ac_call *k);
enum status act_get_intervals(struct ac_call *k);
enum status act_find_cards(struct ac_call *k);
enum status act_cards_to_notes(struct ac_call *k);
enum status act_cards_mod_time(struct ac_call *k);
enum status act_cards_info(struct ac_call *k);
enum status act_forget_cards(struct ac_call *k);
enum status act_relearn_cards(struct ac_call *k);

/* act_models.c */
enum status act_model_names(struct ac_call *k);
enum status act_model_names_and_ids(struct ac_call *k);
enum status act_model_name_from_id(struct ac_call *k);
enum status act_find_models_by_id(struct ac_call *k);
enum status act_find_models_by_name(struct ac_call *k);
enum status act_model_field_names(struct ac_call *k);
enum status act_model_field_descriptions(struct ac_call *k);
enum status act_model_field_fonts(struct ac_call *k);
enum status act_model_fields_on_templates(struct ac_call *k);
enum status act_model_templates(struct ac_call *k);
enum status act_model_styling(struct ac_call *k);
enum status act_create_model(struct ac_call *k);
enum status act_update_model_templates(struct ac_call *k);
enum status act_update_model_styling(struct ac_call *k);
enum status act_find_and_replace_in_models(struct ac_call *k);
enum status act_model_template_rename(struct ac_call *k);
enum status act_model_template_reposition(struct ac_call *k);
enum status act_model_template_add(struct ac_call *k);
enum status act_model_template_remove(struct ac_call *k);
enum status act_model_field_rename(struct ac_call *k);
enum status act_model_field_reposition(struct ac_call *k);
enum status act_model_field_add(struct ac_call *k);
enum status act_model_field_remove(struct ac_call *k);
enum status act_model_field_set_font(struct ac_call *k);
enum status act_model_field_set_font_size(struct ac_call *k);
enum status act_model_field_set_description(struct ac_call *k);

/* act_stats.c */
enum status act_num_reviewed_today(struct ac_call *k);
enum status act_num_reviewed_by_day(struct ac_call *k);
enum status act_card_reviews(struct ac_call *k);
enum status act_get_reviews_of_cards(struct ac_call *k);
enum status act_get_latest_review_id(struct ac_call *k);
enum status act_insert_reviews(struct ac_call *k);

#endif
