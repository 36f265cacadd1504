/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_stock.c - what a new collection contains besides its tables: the
 * default deck options preset (id 1), the default deck (id 1), the six stock
 * notetypes in Anki's order with consecutive ids, and curModel.
 * collection-format.md §5.2-5.4 (English names; Anki localises them).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "col_internal.h"
#include "col_model.h"
#include "col_store.h"

static const char css_normal[] = ".card {\n"
                                 "    font-family: arial;\n"
                                 "    font-size: 20px;\n"
                                 "    line-height: 1.5;\n"
                                 "    text-align: center;\n"
                                 "    color: black;\n"
                                 "    background-color: white;\n"
                                 "}\n";

static const char css_cloze_extra[] = ".cloze {\n"
                                      "    font-weight: bold;\n"
                                      "    color: blue;\n"
                                      "}\n"
                                      ".nightMode .cloze {\n"
                                      "    color: lightblue;\n"
                                      "}\n";

static const char css_io[] = "#image-occlusion-canvas {\n"
                             "    --inactive-shape-color: #ffeba2;\n"
                             "    --active-shape-color: #ff8e8e;\n"
                             "    --inactive-shape-border: 1px #212121;\n"
                             "    --active-shape-border: 1px #212121;\n"
                             "    --highlight-shape-color: #ff8e8e00;\n"
                             "    --highlight-shape-border: 1px #ff8e8e;\n"
                             "}\n"
                             "\n"
                             ".card {\n"
                             "    font-family: arial;\n"
                             "    font-size: 20px;\n"
                             "    text-align: center;\n"
                             "    color: black;\n"
                             "    background-color: white;\n"
                             "}\n";

static const char latex_pre[] = "\\documentclass[12pt]{article}\n"
                                "\\special{papersize=3in,5in}\n"
                                "\\usepackage[utf8]{inputenc}\n"
                                "\\usepackage{amssymb,amsmath}\n"
                                "\\pagestyle{empty}\n"
                                "\\setlength{\\parindent}{0in}\n"
                                "\\begin{document}\n";

static const char latex_post[] = "\\end{document}";

static const char io_front[] =
    "{{#Header}}<div>{{Header}}</div>{{/Header}}\n"
    "<div style=\"display: none\">{{cloze:Occlusion}}</div>\n"
    "<div id=\"err\"></div>\n"
    "<div id=\"image-occlusion-container\">\n"
    "    {{Image}}\n"
    "    <canvas id=\"image-occlusion-canvas\"></canvas>\n"
    "</div>\n"
    "<script>\n"
    "try {\n"
    "    anki.imageOcclusion.setup();\n"
    "} catch (exc) {\n"
    "    document.getElementById(\"err\").innerHTML = `Error loading image occlusion. Is your Anki "
    "version up to date?<br><br>${exc}`;\n"
    "}\n"
    "</script>\n";

static const char io_back_tail[] = "\n<div><button id=\"toggle\">Toggle Masks</button></div>\n"
                                   "{{#Back Extra}}<div>{{Back Extra}}</div>{{/Back Extra}}\n";

#define BACK_OF(side) "{{FrontSide}}\n\n<hr id=answer>\n\n" side

struct stock_field {
	const char *name;
	int tag;               /* -1 = none */
	int prevent_deletion;
};

struct stock_template {
	const char *name, *front, *back;
};

struct stock_req {
	uint32_t ord;
	int32_t kind;
	uint32_t fields[3];
	size_t nfields;
};

struct stock_notetype {
	const char *name;
	int cloze;
	int32_t stock_kind;
	struct stock_field fields[5];
	size_t nfields;
	struct stock_template templates[2];
	size_t ntemplates;
	struct stock_req reqs[2];
	size_t nreqs;
};

static const struct stock_notetype stock[] = {
    {"Basic", 0, STOCK_KIND_BASIC, {{"Front", -1, 0}, {"Back", -1, 0}}, 2,
     {{"Card 1", "{{Front}}", BACK_OF("{{Back}}")}}, 1,
     {{0, CARD_REQ_ANY, {0}, 1}}, 1},
    {"Basic (and reversed card)", 0, STOCK_KIND_BASIC_AND_REVERSED,
     {{"Front", -1, 0}, {"Back", -1, 0}}, 2,
     {{"Card 1", "{{Front}}", BACK_OF("{{Back}}")}, {"Card 2", "{{Back}}", BACK_OF("{{Front}}")}}, 2,
     {{0, CARD_REQ_ANY, {0}, 1}, {1, CARD_REQ_ANY, {1}, 1}}, 2},
    {"Basic (optional reversed card)", 0, STOCK_KIND_BASIC_OPTIONAL_REVERSED,
     {{"Front", -1, 0}, {"Back", -1, 0}, {"Add Reverse", -1, 0}}, 3,
     {{"Card 1", "{{Front}}", BACK_OF("{{Back}}")},
      {"Card 2", "{{#Add Reverse}}{{Back}}{{/Add Reverse}}", BACK_OF("{{Front}}")}},
     2,
     {{0, CARD_REQ_ANY, {0}, 1}, {1, CARD_REQ_ALL, {1, 2}, 2}}, 2},
    {"Basic (type in the answer)", 0, STOCK_KIND_BASIC_TYPING,
     {{"Front", -1, 0}, {"Back", -1, 0}}, 2,
     {{"Card 1", "{{Front}}\n\n{{type:Back}}", "{{Front}}\n\n<hr id=answer>\n\n{{type:Back}}"}}, 1,
     {{0, CARD_REQ_ANY, {0, 1}, 2}}, 1},
    {"Cloze", 1, STOCK_KIND_CLOZE, {{"Text", 0, 1}, {"Back Extra", 1, 0}}, 2,
     {{"Cloze", "{{cloze:Text}}", "{{cloze:Text}}<br>\n{{Back Extra}}"}}, 1,
     {{0, CARD_REQ_ANY, {0}, 1}}, 1},
    {"Image Occlusion", 1, STOCK_KIND_IMAGE_OCCLUSION,
     {{"Occlusion", 0, 1}, {"Image", 1, 1}, {"Header", 2, 1}, {"Back Extra", 3, 1},
      {"Comments", 4, 0}},
     5, {{"Image Occlusion", io_front, NULL}}, 1,
     {{0, CARD_REQ_ANY, {0, 1, 2}, 3}}, 1},
};

static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 1);
	if (p) {
		memcpy(p, a, la);
		memcpy(p + la, b, lb + 1);
	}
	return p;
}

static enum status build_stock(const struct stock_notetype *s, int64_t id, struct notetype *nt,
                               struct errinfo *e)
{
	memset(nt, 0, sizeof *nt);
	nt->id = id;
	nt->name = strdup(s->name);
	nt->cfg.kind = s->cloze ? NOTETYPE_KIND_CLOZE : NOTETYPE_KIND_NORMAL;
	if (s->stock_kind == STOCK_KIND_IMAGE_OCCLUSION)
		nt->cfg.css = strdup(css_io);
	else if (s->cloze)
		nt->cfg.css = concat(css_normal, css_cloze_extra);
	else
		nt->cfg.css = strdup(css_normal);
	nt->cfg.latex_pre = strdup(latex_pre);
	nt->cfg.latex_post = strdup(latex_post);
	nt->cfg.original_stock_kind = s->stock_kind;
	nt->fields = calloc(s->nfields, sizeof *nt->fields);
	nt->templates = calloc(s->ntemplates, sizeof *nt->templates);
	nt->cfg.reqs = calloc(s->nreqs, sizeof *nt->cfg.reqs);
	if (!nt->name || !nt->cfg.css || !nt->cfg.latex_pre || !nt->cfg.latex_post || !nt->fields ||
	    !nt->templates || !nt->cfg.reqs)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	enum status st = ST_OK;
	for (size_t i = 0; i < s->nfields && !st; i++) {
		nt->nfields++;
		nt->fields[i].name = strdup(s->fields[i].name);
		if (!nt->fields[i].name)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		st = field_config_new(&nt->fields[i].cfg, e);
		if (!st && s->fields[i].tag >= 0) {
			nt->fields[i].cfg.has_tag = true;
			nt->fields[i].cfg.tag = (uint32_t)s->fields[i].tag;
		}
		nt->fields[i].cfg.prevent_deletion = s->fields[i].prevent_deletion;
	}
	for (size_t i = 0; i < s->ntemplates && !st; i++) {
		nt->ntemplates++;
		nt->templates[i].name = strdup(s->templates[i].name);
		if (!nt->templates[i].name)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		char *back = s->templates[i].back ? strdup(s->templates[i].back)
		                                  : concat(s->templates[i].front, io_back_tail);
		if (!back)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		st = template_config_new(&nt->templates[i].cfg, s->templates[i].front, back, e);
		free(back);
	}
	for (size_t i = 0; i < s->nreqs && !st; i++) {
		struct card_requirement *r = &nt->cfg.reqs[i];
		nt->cfg.nreqs++;
		r->card_ord = s->reqs[i].ord;
		r->kind = s->reqs[i].kind;
		r->field_ords = calloc(s->reqs[i].nfields, sizeof *r->field_ords);
		if (!r->field_ords)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		memcpy(r->field_ords, s->reqs[i].fields, s->reqs[i].nfields * sizeof *r->field_ords);
		r->nfield_ords = s->reqs[i].nfields;
	}
	return st;
}

enum status col_stock_add_defaults(struct col *c, struct errinfo *e)
{
	struct deckconf dc;
	memset(&dc, 0, sizeof dc);
	dc.id = 1;
	dc.name = strdup("Default");
	enum status st = dc.name ? deckconf_config_default(&dc.cfg, e)
	                         : errinfo_set(e, ST_NOMEM, "out of memory");
	if (!st)
		st = col_store_deckconf(c, &dc, e);
	deckconf_free(&dc);
	if (st)
		return st;

	struct deck d;
	memset(&d, 0, sizeof d);
	d.id = 1;
	d.name = strdup("Default");
	deck_common_default_normal(&d.common);
	deck_kind_new_normal(&d.kind);
	st = d.name ? col_store_deck(c, &d, COL_STORE_NORMAL, e)
	            : errinfo_set(e, ST_NOMEM, "out of memory");
	deck_free(&d);
	if (st)
		return st;

	int64_t want = col_now_ms();
	for (size_t i = 0; i < sizeof stock / sizeof stock[0] && !st; i++) {
		int64_t id;
		st = col_alloc_id(c, "notetypes", want, &id, e);
		if (st)
			break;
		struct notetype nt;
		st = build_stock(&stock[i], id, &nt, e);
		if (!st)
			st = col_store_notetype(c, &nt, COL_STORE_NORMAL, e);
		notetype_free(&nt);
		if (!st && i == 0) {
			json_t *v = json_integer(id);
			st = col_config_set_raw(c, "curModel", v, col_usn(c), col_now_secs(), e);
			json_decref(v);
		}
		want = id + 1;
	}
	return st;
}
