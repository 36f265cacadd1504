/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_ntedit.h - changing a notetype the way Anki's notetype update does
 * (rslib notetype/mod.rs prepare_for_update, schemachange.rs,
 * templates.rs; collection-format.md §6.1-6.2): edit fields and templates
 * in memory, then save, which
 *   - validates like Anki: at least one field and one template, names
 *     cleaned, made unique with "+", distinct template fronts, every front
 *     naming a field, every referenced name a field or special field,
 *     cloze notetypes with {{cloze:...}} on template 0's front and back;
 *     failures give Anki's card-type error text;
 *   - rewrites template references to renamed and removed fields;
 *   - recomputes the sort field index and the requirement cache;
 *   - moves note field contents with their fields, deletes the cards of
 *     removed templates (and notes left without cards), renumbers cards
 *     of moved templates, and generates the cards new or changed
 *     templates now produce;
 *   - marks the schema modified when the structure changed (a full sync
 *     follows, as in Anki).
 * The caller holds a write transaction.
 */
#ifndef ANKIHOST_COL_NTEDIT_H
#define ANKIHOST_COL_NTEDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "col.h"
#include "col_model.h"

struct col_ntedit {
	struct notetype nt;  /* the notetype being edited */
	int32_t *field_src;  /* per nt.fields: its index before the edit, -1 = new */
	int32_t *tmpl_src;   /* per nt.templates: likewise */
	struct notetype old; /* as loaded */
};

/* Load notetype mid for editing.  ST_NOTFOUND. */
enum status col_ntedit_load(struct col *c, int64_t mid, struct col_ntedit *ed, struct errinfo *e);
void col_ntedit_free(struct col_ntedit *ed);

/* In-memory edits (indexes are positions in ed->nt now).  A rename is
 * done by changing ed->nt.fields[i].name / templates[i].name directly. */
enum status col_ntedit_field_add(struct col_ntedit *ed, const char *name, struct errinfo *e);
enum status col_ntedit_field_remove(struct col_ntedit *ed, size_t idx, struct errinfo *e);
enum status col_ntedit_field_move(struct col_ntedit *ed, size_t from, size_t to, struct errinfo *e);
enum status col_ntedit_template_add(struct col_ntedit *ed, const char *name, const char *qfmt,
                                    const char *afmt, struct errinfo *e);
enum status col_ntedit_template_remove(struct col_ntedit *ed, size_t idx, struct errinfo *e);
enum status col_ntedit_template_move(struct col_ntedit *ed, size_t from, size_t to,
                                     struct errinfo *e);

/* Validate and write everything (see the file comment).  ST_INVALID with
 * Anki's message for a refused notetype; nothing is written then. */
enum status col_ntedit_save(struct col *c, struct col_ntedit *ed, struct errinfo *e);

/* Add a new notetype built by the caller (id 0: allocated).  Validated as
 * above; a name taken by another notetype (unicase) gets "-" and five hex
 * digits, as pylib does; sets curModel.  On success nt holds what was
 * stored (id, cleaned names, reqs). */
enum status col_ntedit_add_new(struct col *c, struct notetype *nt, struct errinfo *e);

/* An empty notetype named name as pylib's models.new() makes it (the stock
 * Basic configuration without fields and templates: default CSS and
 * LaTeX header/footer, sort field 0, original stock kind Basic), of kind
 * cloze when cloze is true.  *out is overwritten.  ST_NOMEM. */
enum status col_ntedit_new_notetype(struct notetype *out, const char *name, bool cloze,
                                    struct errinfo *e);

/* ---- template text helpers ---- */

/* Every field name a template references (replacements and conditionals,
 * not c<N> conditionals), or only those with a cloze filter.  Names are
 * appended to *names (malloc'd each; the caller frees them and the
 * array).  ST_INVALID when the template does not parse. */
enum status col_template_fields(const char *tmpl, bool cloze_only, char ***names, size_t *n,
                                struct errinfo *e);

/* Rename (new_name non-NULL) or remove (new_name NULL) every reference to
 * field old_name in tmpl, Anki's way: a removed replacement disappears,
 * a removed conditional keeps its content.  out is reset.  A template
 * that does not parse is copied unchanged. */
enum status col_template_rename_field(const char *tmpl, const char *old_name, const char *new_name,
                                      struct buf *out, struct errinfo *e);

#endif
